"""Signatures of heartbeats and maintenance messages (freezer_dr.signing)."""

import pytest

from freezer_dr import signing

MASTER = bytes(range(32))
PREVIOUS = bytes(range(1, 33))
PAYLOAD = {'host': 'compute-1', 'sequence': 7, 'boot_id': 'b-1',
           'sent_at': 1700000000.25, 'checks': {'disk': {'ok': True}}}


def test_a_host_signs_for_itself_only():
    signed = signing.sign(PAYLOAD, signing.derive(MASTER, 'compute-1'))
    verifier = signing.Verifier(MASTER)
    assert verifier.who(signed, 'compute-1') == signing.BY_HOST
    # The same signature does not speak for another host...
    assert verifier.who(dict(signed, host='compute-2'), 'compute-2') is None
    # ...and a host's key cannot sign for another.
    other = signing.sign(dict(PAYLOAD, host='compute-2'),
                         signing.derive(MASTER, 'compute-1'))
    assert verifier.who(other, 'compute-2') is None


@pytest.mark.parametrize('change', [
    {'sequence': 2 ** 62}, {'boot_id': 'b-2'}, {'sent_at': 1700000099.0},
    {'checks': {'disk': {'ok': False}}}, {'extra': 1}])
def test_every_field_is_covered(change):
    signed = signing.sign(PAYLOAD, signing.derive(MASTER, 'compute-1'))
    assert signing.Verifier(MASTER).who(dict(signed, **change),
                                        'compute-1') is None


def test_unsigned_and_malformed_signatures_are_refused():
    verifier = signing.Verifier(MASTER)
    assert verifier.who(PAYLOAD, 'compute-1') is None
    for bad in ('', 'x' * 64, 42, None, 'ab' * 31):
        assert verifier.who(dict(PAYLOAD, signature=bad), 'compute-1') \
            is None


def test_the_operator_signs_with_the_master_key():
    signed = signing.sign(PAYLOAD, MASTER)
    assert signing.Verifier(MASTER).who(signed, 'compute-1') == \
        signing.BY_OPERATOR


def test_the_previous_master_key_is_accepted_during_a_rotation():
    old = signing.sign(PAYLOAD, signing.derive(PREVIOUS, 'compute-1'))
    assert signing.Verifier(MASTER, PREVIOUS).who(old, 'compute-1') == \
        signing.BY_HOST
    assert signing.Verifier(MASTER).who(old, 'compute-1') is None


def test_key_files():
    text = signing.new_master_key()
    assert len(signing.parse_key(text, 'f')) == signing.MASTER_KEY_BYTES
    with pytest.raises(signing.KeyError_, match='not a hex key'):
        signing.parse_key('zz', 'f')
    with pytest.raises(signing.KeyError_, match='too short'):
        signing.parse_key('abcd', 'f')


def test_made_up_names_are_kept_nowhere():
    """A flood of names with made-up signatures costs no memory: only the
    keys of hosts that signed right are kept, and never more than
    MAX_KEPT of them."""
    verifier = signing.Verifier(MASTER)
    for n in range(1000):
        forged = dict(PAYLOAD, host='ghost-%d' % n, signature='0' * 64)
        assert verifier.who(forged, 'ghost-%d' % n) is None
    assert verifier._keys == {}
    verifier.MAX_KEPT = 3
    for n in range(5):
        host = 'compute-%d' % n
        signed = signing.sign(dict(PAYLOAD, host=host),
                              signing.derive(MASTER, host))
        assert verifier.who(signed, host) == signing.BY_HOST
        assert host in verifier._keys and len(verifier._keys) <= 3
