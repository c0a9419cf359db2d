"""Hypothesis over what the heartbeat topic can carry (issue 12, point
7): arbitrary bytes, JSON of any shape, envelopes around it, heartbeats
and maintenance messages with forged or mangled fields and signatures.
No exception escapes; every input is accepted or counted with its reason;
afterwards a real failure is still detected. ``FREEZER_DR_FUZZ_EXAMPLES``
sets the count (a few thousand in .ci/run; ``tox -e fuzz`` runs 100,000,
and atheris too: tools/fuzz.py)."""

import json
import os

import hypothesis
from hypothesis import strategies

from freezer_dr import events
from freezer_dr import signing
from tests.fuzz import target as target_module

EXAMPLES = int(os.environ.get('FREEZER_DR_FUZZ_EXAMPLES', '1000'))

_json = strategies.recursive(
    strategies.none() | strategies.booleans() |
    strategies.integers(-2 ** 70, 2 ** 70) | strategies.floats() |
    strategies.text(max_size=40),
    lambda children: strategies.lists(children, max_size=5) |
    strategies.dictionaries(strategies.text(max_size=12), children,
                            max_size=5),
    max_leaves=20)

_fields = strategies.fixed_dictionaries({
    'host': strategies.sampled_from(['compute-1', 'compute-2', '', 'x' * 300,
                                     'a b', 'ghost\n']) | _json,
    'sequence': strategies.integers(-5, 2 ** 64) | _json,
    'boot_id': strategies.text(max_size=70) | _json,
    'sent_at': strategies.floats(allow_nan=True) | _json,
}, optional={
    'checks': _json,
    'enabled': _json,
    'reason': strategies.text(max_size=60) | _json,
    'requested_by': _json,
    'signature': strategies.text(max_size=70) | _json,
})


@strategies.composite
def bodies(draw):
    kind = draw(strategies.integers(0, 4))
    if kind == 0:
        return draw(strategies.binary(max_size=300))
    if kind == 1:
        return json.dumps(draw(_json)).encode()
    payload = draw(_fields)
    if kind == 2 and isinstance(payload['host'], str):
        # A genuine signature over some of it, then fields changed.
        key = signing.derive(target_module.MASTER, payload['host'])
        try:
            payload = signing.sign(payload, key)
        except (TypeError, ValueError):
            pass
        payload.update(draw(strategies.dictionaries(
            strategies.sampled_from(['sequence', 'sent_at', 'host']), _json,
            max_size=1)))
    message = {'publisher_id': draw(_json), 'event_type': draw(
        strategies.sampled_from([events.HEARTBEAT, events.MAINTENANCE,
                                 events.BUS_STATUS, events.INVENTORY,
                                 'service.delete']) | _json),
        'priority': draw(strategies.sampled_from(['INFO', 'info']) | _json),
        'payload': payload}
    if kind == 4:
        return json.dumps(message).encode()
    return json.dumps({'oslo.version': '2.0',
                       'oslo.message': json.dumps(message)}).encode()


def test_no_input_escapes_and_each_rejection_is_counted():
    target = target_module.Target()

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None,
                         database=None)
    @hypothesis.given(bodies())
    def feed(body):
        target.feed(body)
    feed()
    assert target.fed >= min(EXAMPLES, 100)
    assert target.accepted + target.rejected() == target.fed
    assert target.still_detects()
