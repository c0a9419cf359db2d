"""What the fuzzers feed: one raw message body from the heartbeat topic,
through everything the engine does with it before the core (decode, parse,
admission with signatures) and then the core itself.

``Target.feed(body)`` never raises for any input: a rejection is counted
with its reason (undecodable, malformed, refused by reason); anything else
escaping is a bug the fuzzer reports. ``Target.still_detects()`` then
proves a real failure is still detected: a genuine, signed host heartbeats
and dies, and the core declares it dead within its window.
"""

import json

from freezer_dr import bus
from freezer_dr import events
from freezer_dr import signing
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import core
from freezer_dr.liveness import settings

MASTER = bytes(range(32))
T0 = 1_700_000_000.0


class Target:
    def __init__(self):
        self.counters = bus.Counters()
        self.admission = bus.Admission(signing.Verifier(MASTER), 30.0)
        self.core = core.LivenessCore(settings.LivenessSettings())
        self.now = T0
        self.fed = 0
        self.accepted = 0

    def feed(self, body, at=None):
        """One body as the heartbeat consumer receives it (at ``at``, or
        a millisecond after the last one)."""
        self.fed += 1
        self.now = at if at is not None else self.now + 0.001
        try:
            raw = bus.decode_notification(body, self.now)
        except bus.UndecodableMessage:
            self.counters.undecodable += 1
            return
        parsed = bus.parse_batch([raw], self.counters, self.admission,
                                 bus.HEARTBEAT_TYPES)
        for event in parsed:
            self.accepted += 1
            self.core.step(event, self.now)

    def rejected(self):
        """Every input not accepted, counted with its reason."""
        return self.counters.undecodable + self.counters.malformed + \
            sum(self.counters.refused.values())

    def still_detects(self, host='compute-fuzz'):
        """A signed host heartbeats for 20 s, then dies: declared dead
        within the detection window (+ 1 s)."""
        key = signing.derive(MASTER, host)
        start = self.now + 1.0
        for n in range(1, 21):
            self.feed(_body(host, n, start + n, key), at=start + n)
        window = self.core.settings.detection_window()
        decided = self.core.advance(self.now + window + 1.0)
        return any(a.kind == act.DECLARE_DEAD and a.host == host
                   for a in decided)


def _body(host, sequence, at, key):
    payload = signing.sign({'host': host, 'sequence': sequence,
                            'boot_id': 'b', 'sent_at': at}, key)
    return json.dumps({'oslo.version': '2.0', 'oslo.message': json.dumps({
        'publisher_id': 'freezer-dr-agent:' + host,
        'event_type': events.HEARTBEAT, 'priority': 'INFO',
        'payload': payload})}).encode()
