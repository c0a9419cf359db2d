#!/usr/bin/env python3
"""atheris (libFuzzer) over what the heartbeat topic can carry: decode,
parse, admission with signatures, then the liveness core (issue 12, point
7). Coverage-guided: it mutates raw bodies towards new paths. No exception
may escape (libFuzzer stops and saves the input if one does); every input
is accepted or counted with its reason; after the last run a genuine host
that dies must still be declared dead.

    python tools/fuzz.py -runs=100000      (tox -e fuzz)
"""

import os
import sys
import tempfile

import atheris

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

with atheris.instrument_imports():
    from freezer_dr import bus  # noqa: F401
    from freezer_dr import events  # noqa: F401
    from freezer_dr import signing  # noqa: F401
    from tests.fuzz import target as target_module

RUNS = 100000
_target = target_module.Target()


def one_input(data):
    _target.feed(data)
    if _target.fed == RUNS:
        _finish()


def _finish():
    target = _target
    assert target.accepted + target.rejected() == target.fed, (
        target.accepted, target.rejected(), target.fed)
    assert target.still_detects(), 'a real failure was not detected'
    print('fuzz: %d inputs, %d accepted, rejected: %d undecodable, %d '
          'malformed, refused %s; a real failure is still detected'
          % (target.fed, target.accepted, target.counters.undecodable,
             target.counters.malformed, target.counters.refused),
          flush=True)


def _seed_corpus():
    """A directory of genuine bodies to mutate from (a signed heartbeat,
    a maintenance message): libFuzzer starts there, not from nothing."""
    directory = tempfile.mkdtemp(prefix='freezer-dr-fuzz-')
    key = signing.derive(target_module.MASTER, 'compute-1')
    beat = target_module._body('compute-1', 1, target_module.T0, key)
    maintenance = bus.encode_notification(
        'freezer-dr-agent:compute-1', events.MAINTENANCE, signing.sign(
            {'host': 'compute-1', 'enabled': True, 'reason': 'r',
             'requested_by': 'freezer-dr-agent',
             'sent_at': target_module.T0}, key)).encode()
    for name, body in (('heartbeat', beat), ('maintenance', maintenance)):
        with open(os.path.join(directory, name), 'wb') as f:
            f.write(body)
    return directory


def main(argv):
    global RUNS
    args = list(argv[1:])
    for arg in args:
        if arg.startswith('-runs='):
            RUNS = int(arg.split('=', 1)[1])
    if not any(a.startswith('-runs=') for a in args):
        args.append('-runs=%d' % RUNS)
    atheris.Setup([argv[0]] + args + [_seed_corpus()], one_input)
    atheris.Fuzz()


if __name__ == '__main__':
    main(sys.argv)
