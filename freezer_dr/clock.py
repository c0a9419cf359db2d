"""The time freezer-dr stamps messages and decides with.

Seconds since the epoch, read once from the wall clock when the process
starts and then advanced by the monotonic clock: a step of the system clock
(NTP, an operator) neither stops the liveness core (a host dying meanwhile
would never be declared) nor rushes it (every host overdue at once). Worker
processes are handed their parent's offset, so one engine has one clock.
"""

import time

_offset = time.time() - time.monotonic()


def now():
    return _offset + time.monotonic()


def offset():
    return _offset


def set_offset(value):
    """Adopt another process's clock (a worker adopts its engine's)."""
    global _offset
    _offset = value
