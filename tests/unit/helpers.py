"""What several unit tests share: a virtual clock and heartbeat events."""

import threading

from freezer_dr import events
from freezer_dr.journal import api


class Clock:
    """A clock that says ``now`` (set it to move time)."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def beat(at, host, seq):
    """Heartbeat ``seq`` of ``host`` (boot ``boot-<host>``), sent and
    received ``at``."""
    return events.Heartbeat(at, host, seq, 'boot-' + host, at)


class Leadership:
    """Stands for coordination.Leadership: leads when told to (no lease,
    no backend)."""

    def __init__(self, leads=False):
        self.changed = threading.Event()
        self._epoch = 7 if leads else None

    def leads(self):
        return self._epoch is not None

    @property
    def epoch(self):
        return self._epoch

    def owns(self, host):
        return self.leads()

    def token(self, host):
        return self._epoch

    generation = epoch

    def check(self, epoch):
        if epoch != self._epoch:
            raise api.Deposed('not the leader')

    def elected(self, epoch):
        self._epoch = epoch
        self.changed.set()
