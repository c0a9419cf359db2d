"""What several unit tests share: a virtual clock and heartbeat events."""

from freezer_dr import events


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
