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


class InstanceResult(typing.NamedTuple):
    """What happened to one instance of a dead host."""

    id: str
    ok: bool
    detail: str
    name: str = ''
    project_id: str = ''
    #: The host the instance runs on now ('' when not known or not moved).
    target_host: str = ''
    #: Its status before the failure (ACTIVE, SHUTOFF, ...), when known.
    status: str = ''


class StepReport(typing.NamedTuple):
    """One step of a recovery as the journal recorded it."""

    name: str
    status: str         # done, failed, skipped
    detail: str
    seconds: float = 0.0


class RecoveryReport(typing.NamedTuple):
    """Everything a notifier may tell about one recovery of one host."""

    host: str
    incarnation: str
    #: Why the host was declared dead, in the core's words.
    reason: str
    #: True when every step up to evacuation succeeded.
    recovered: bool
    #: The step that failed ('' when recovered).
    failed_step: str
    #: One line saying what happened.
    summary: str
    steps: tuple = ()       # of StepReport
    instances: tuple = ()   # of InstanceResult
    started_at: float = 0.0     # epoch seconds
    finished_at: float = 0.0

    @property
    def projects(self):
        """``{project_id: [InstanceResult, ...]}`` of the affected
        projects."""
        found = {}
        for instance in self.instances:
            found.setdefault(instance.project_id, []).append(instance)
        return found


class Notifier(abc.ABC):
    """Tells people (or systems) what happened to a host."""

    @abc.abstractmethod
    def notify(self, report):
        """Send the notifications for one :class:`RecoveryReport` (success
        or failure); return a short description of what was sent, or raise
        on failure."""


class Monitor(abc.ABC):
    """Reports the hosts that have failed (for the one-shot freezer-dr)."""

    @abc.abstractmethod
    def failed_hosts(self):
        """Names of the hosts that are down now."""


class Evacuator(abc.ABC):
    """Rebuilds a fenced host's instances elsewhere."""

    @abc.abstractmethod
    def evacuate(self, host):
        """Evacuate the instances of ``host`` (those its policy selects);
        return one :class:`InstanceResult` per instance. Must be safe to
        call again for the same host (an instance already rebuilt
        elsewhere, or whose evacuation nova already accepted, is reported,
        not evacuated twice)."""
