"""Which well-formed heartbeats and maintenance messages count
(bus.Admission, bus.parse_batch): signed by their host, fresh, and of a
type the source carries."""

import pytest

from freezer_dr import bus
from freezer_dr import events
from freezer_dr import signing

MASTER = bytes(range(32))
T = 1700000000.0


def _raw(event_type, payload, received_at=T):
    return bus.RawMessage(received_at, 'freezer-dr-agent:x', event_type,
                          'INFO', payload)


def _beat(host='compute-1', sequence=5, sent_at=T, key=None):
    payload = {'host': host, 'sequence': sequence, 'boot_id': 'b',
               'sent_at': sent_at}
    return signing.sign(payload, key) if key else payload


def _parse(*raws, admission=None, allowed=bus.HEARTBEAT_TYPES):
    counters = bus.Counters()
    admission = admission or bus.Admission(signing.Verifier(MASTER), 30.0)
    return bus.parse_batch(list(raws), counters, admission, allowed), \
        counters.refused


def test_a_heartbeat_signed_by_its_host_counts():
    key = signing.derive(MASTER, 'compute-1')
    parsed, refused = _parse(_raw(events.HEARTBEAT, _beat(key=key)))
    assert [e.host for e in parsed] == ['compute-1'] and refused == {}


def test_forged_replayed_and_misplaced_messages_are_dropped_and_counted():
    key = signing.derive(MASTER, 'compute-1')
    other = signing.derive(MASTER, 'compute-2')
    parsed, refused = _parse(
        _raw(events.HEARTBEAT, _beat(sequence=2 ** 62)),          # unsigned
        _raw(events.HEARTBEAT, _beat(key=other)),                 # other key
        _raw(events.HEARTBEAT, dict(_beat(key=key), sequence=9)),  # altered
        _raw(events.HEARTBEAT, _beat(key=key, sent_at=T - 600)),  # replayed
        _raw(events.HEARTBEAT, _beat(key=MASTER)),   # operator: not a beat
        _raw('service.delete', {'host': 'compute-1'}),            # misplaced
        _raw(events.BUS_STATUS, {'connected': False}))            # misplaced
    assert parsed == []
    assert refused == {bus.UNSIGNED: 1, bus.BAD_SIGNATURE: 3, bus.STALE: 1,
                       bus.WRONG_TOPIC: 2}


def test_maintenance_says_who_from_its_signature_not_its_text():
    key = signing.derive(MASTER, 'compute-1')
    payload = {'host': 'compute-1', 'enabled': True, 'reason': 'r',
               'sent_at': T}
    parsed, refused = _parse(
        _raw(events.MAINTENANCE, signing.sign(
            dict(payload, requested_by='freezer-dr-agent'), key)),
        _raw(events.MAINTENANCE, signing.sign(
            dict(payload, requested_by='root'), key)),
        _raw(events.MAINTENANCE, signing.sign(
            dict(payload, requested_by='freezer-dr-agent'), MASTER)),
        _raw(events.MAINTENANCE, dict(payload, requested_by='admin')))
    assert [e.requested_by for e in parsed] == [
        'freezer-dr-agent', 'operator@compute-1', 'operator']
    assert refused == {bus.UNSIGNED: 1}


def test_a_host_is_confirmed_dead_only_with_the_master_key():
    """freezer-dr-manage host recover leads to a fence: the host's own key
    (a compromised host), no signature, an old message, or no verifier at
    all (allow_unsigned_heartbeats) never count."""
    key = signing.derive(MASTER, 'compute-1')
    payload = {'host': 'compute-1', 'reason': 'rack B', 'sent_at': T,
               'requested_by': 'alice'}
    parsed, refused = _parse(
        _raw(events.CONFIRMED_DEAD, signing.sign(payload, MASTER)),
        _raw(events.CONFIRMED_DEAD, signing.sign(payload, key)),
        _raw(events.CONFIRMED_DEAD, dict(payload)),
        _raw(events.CONFIRMED_DEAD, signing.sign(
            dict(payload, sent_at=T - 3600), MASTER)))
    assert parsed == [events.ConfirmedDead(T, 'compute-1', 'rack B',
                                           'operator (alice)')]
    assert refused == {bus.BAD_SIGNATURE: 1, bus.UNSIGNED: 1, bus.STALE: 1}
    parsed, refused = _parse(
        _raw(events.CONFIRMED_DEAD, signing.sign(payload, MASTER)),
        admission=bus.Admission(None))
    assert parsed == [] and refused == {bus.UNSIGNED: 1}


def test_without_a_verifier_everything_well_formed_counts():
    parsed, refused = _parse(_raw(events.HEARTBEAT, _beat()),
                             admission=bus.Admission(None))
    assert len(parsed) == 1 and refused == {}


def test_nova_types_only_from_the_nova_listener():
    parsed, refused = _parse(_raw(events.HEARTBEAT, _beat()),
                             _raw(['a list'], {}),
                             allowed=bus.NOVA_TYPES)
    assert parsed == [] and refused == {bus.WRONG_TOPIC: 2}


def test_a_body_too_large_is_not_even_parsed():
    body = '{"oslo.version": "2.0", "oslo.message": "%s"}' % (
        'x' * bus.MAX_BODY_BYTES)
    with pytest.raises(bus.UndecodableMessage, match='more than'):
        bus.decode_notification(body, T)
    with pytest.raises(bus.UndecodableMessage, match='more than'):
        bus.decode_notification(body.encode(), T)
