"""One abstract class per driver kind. Drivers know nothing of the engine;
the engine knows drivers only through these classes."""

import abc
import typing


class FenceResult(typing.NamedTuple):
    """What a fencer did: ``confirmed`` only when power-off was read back
    (safety rule 1: no evacuation otherwise)."""

    host: str
    confirmed: bool
    detail: str


class Fencer(abc.ABC):
    """Powers a host off so that it can never write again."""

    #: Whether this fencer can read the power state back (tooz-style
    #: characteristic: the engine refuses to evacuate after one that cannot).
    CAN_CONFIRM = False

    @abc.abstractmethod
    def fence(self, host):
        """Power ``host`` off; return a :class:`FenceResult`. Never raises
        for a failure of the BMC: the result says what happened."""


class Notifier(abc.ABC):
    """Tells people (or systems) what happened to a host."""

    @abc.abstractmethod
    def notify(self, subject, body, details):
        """Send one notification; return a short description of what was
        sent, or raise on failure."""


class Monitor(abc.ABC):
    """Reports the hosts that have failed (for the one-shot freezer-dr)."""

    @abc.abstractmethod
    def failed_hosts(self):
        """Names of the hosts that are down now."""


class Evacuator(abc.ABC):
    """Rebuilds a fenced host's instances elsewhere."""

    @abc.abstractmethod
    def evacuate(self, host):
        """Evacuate every instance of ``host``; return one dict per
        instance: ``{'id': ..., 'ok': bool, 'detail': str}``. Must be safe
        to call again for the same host (an instance already rebuilt
        elsewhere is reported ok, not evacuated twice)."""
