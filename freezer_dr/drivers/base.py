# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The whole contract between the recovery and its drivers: one abstract
class per driver kind, and the values they exchange.

Drivers know nothing of the engine; the engine and the workflow know
drivers only through these classes, and call no method that is not
declared here (no ``getattr`` for optional methods: a method with a
default here is one every driver has).

Every driver is built as ``Driver(conf=CONF)`` and reads its own option
group. At start, before it acts on any host, the engine calls
:meth:`Driver.validate` of each (and :meth:`Fencer.check_host` for every
host it knows): a configuration that cannot work raises
:class:`ConfigurationError`, which names the option to fix, and the
command stops with that one line.
"""

import abc
import typing

DONE = 'done'
FAILED = 'failed'
SKIPPED = 'skipped'


class StopActing(Exception):
    """Raised by the ``guard`` a driver is given (see
    :meth:`Evacuator.evacuate`): the engine may no longer act (another
    engine leads now). A driver lets it propagate, at once: nothing more
    may be done in this engine's name."""


class ConfigurationError(Exception):
    """The configuration cannot work: ``option`` (``[group] name``) must be
    fixed, because of ``why``."""

    def __init__(self, option, why):
        super().__init__(option, why)
        self.option = option
        self.why = why

    def __str__(self):
        return '%s: %s' % (self.option, self.why)


class StepResult(typing.NamedTuple):
    """How a step of a recovery (or a driver's part of it) ended: a value,
    never an exception used for control flow."""

    status: str         # DONE, FAILED or SKIPPED
    detail: str

    @property
    def ok(self):
        return self.status != FAILED


def done(detail):
    return StepResult(DONE, detail)


def failed(detail):
    return StepResult(FAILED, detail)


def skipped(detail):
    return StepResult(SKIPPED, detail)


class Driver(abc.ABC):  # noqa: B024 (its methods have defaults)
    """What every driver has."""

    def validate(self):
        """Check, once at start, that this driver's configuration can work
        (settings present and consistent, its peer reachable where that is
        cheap to ask); return a list of warnings to log (possibly empty).

        :raises ConfigurationError: naming the option to fix.
        """
        return []


class FenceResult(typing.NamedTuple):
    """What a fencer did: ``confirmed`` only when power-off was read back
    (safety rule 1: no evacuation otherwise)."""

    host: str
    confirmed: bool
    detail: str
    #: The power was off at the first read, before anything was sent: a
    #: lying BMC (or one mapped to the wrong host) says so too, so the
    #: recovery reads it again after a pause and checks that the host
    #: stayed silent.
    already_off: bool = False


class Fencer(Driver):
    """Powers a host off so that it can never write again."""

    #: Whether this fencer reads the power state back (tooz-style
    #: characteristic). One that cannot is refused at start unless every
    #: host it serves is in ``[recovery] unfenced_evacuation_hosts``.
    CAN_CONFIRM = False
    #: The option that says which hosts this fencer can fence (for the
    #: start-up error when it can fence none).
    HOSTS_OPTION = '[recovery] fencer'

    @abc.abstractmethod
    def fence(self, host):
        """Power ``host`` off; return a :class:`FenceResult`. Never raises
        for a failure of the BMC: the result says what happened."""

    def hosts(self):
        """The hosts this fencer has credentials for (sorted); empty when
        it needs none."""
        return []

    def check_host(self, host):
        """'' when this fencer can fence ``host``; otherwise why not (no
        credentials, incomplete ones), in one line without a secret."""
        return ''

    def power_state(self, host):
        """Read ``host``'s power state now: ``'on'``, ``'off'``, or None
        when this fencer cannot tell (or the read failed: never raises)."""
        return None


class Isolator(Driver):
    """Takes a dead host out of service in the cloud (nova: force-down and
    disable) before its instances are rebuilt elsewhere, and puts it back
    when an operator re-arms it."""

    @abc.abstractmethod
    def isolate(self, host):
        """Isolate ``host``; return a :class:`StepResult` (done, failed, or
        skipped by a driver that isolates nothing). Raises on errors worth
        retrying (the cloud's API unreachable)."""

    @abc.abstractmethod
    def rearm(self, host):
        """Undo :meth:`isolate` for a repaired host; return a
        :class:`StepResult`. Raises on errors worth retrying."""

    def hosts(self):
        """The compute hosts the cloud knows (sorted), for the start-up
        checks of the fencer; empty when this isolator cannot tell."""
        return []

    def services(self):
        """``{host: state}`` of every compute host the cloud knows, as
        the cloud's own API sees it now: ``up``, ``down``, or
        ``disabled`` (taken out of service by someone, whatever its
        state). Empty when this isolator cannot tell. Raises when the
        cloud cannot be asked (the engine tries again later)."""
        return {}


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


class Evacuator(Driver):
    """Rebuilds a fenced host's instances elsewhere."""

    @abc.abstractmethod
    def evacuate(self, host, guard=None):
        """Evacuate the instances of ``host`` (those its policy selects);
        return one :class:`InstanceResult` per instance. Must be safe to
        call again for the same host (an instance already rebuilt
        elsewhere, or whose evacuation nova already accepted, is reported,
        not evacuated twice).

        :param guard: None, or a callable to call right before each
            request that changes something in the cloud (an evacuation, a
            reset of an instance's state, enabling a host): it raises
            :class:`StopActing` when the engine may no longer act, and
            the driver lets that propagate (an evacuation of many
            instances is not carried on by an engine that was deposed
            meanwhile)."""

    def affected(self, host):
        """The instances on ``host`` now, as :class:`InstanceResult` values
        not evacuated (``ok`` False, ``detail`` ``still on HOST``: down and
        not moved): the administrators and every project are told of them
        when a recovery fails or is held before its evacuation. Changes
        nothing in the cloud; raises when they cannot be listed. The
        default lists none."""
        return []

    def prepare(self, host):
        """Read, without changing anything in the cloud, what
        :meth:`evacuate` will need for ``host`` (its instances, which of
        them to evacuate), so that the evacuation starts at once: called
        while ``host`` is fenced and isolated, before its evacuation; must
        return at once (reading in a thread of its own) and never raise.
        ``evacuate`` must still find an instance that came to the host
        after it. The default does nothing."""

    def observe(self, instance_id):
        """nova announced a change of the instance ``instance_id`` (a
        notification from the bus, so unproven: a reason to look at the
        instance in nova now, never a result). Called from a listener's
        thread; must return quickly. The default does nothing."""


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
    #: The step that failed ('' when recovered, or not finished yet).
    failed_step: str
    #: One line saying what happened.
    summary: str
    steps: tuple = ()       # of StepReport
    instances: tuple = ()   # of InstanceResult
    started_at: float = 0.0     # epoch seconds
    finished_at: float = 0.0
    #: Held, not failed: nothing was fenced (the fence budget, the storm
    #: guard); ``summary`` says why.
    held: bool = False
    #: The command an operator runs to move a failed or held recovery on
    #: ('' when nothing is to be done).
    next_step: str = ''

    @property
    def projects(self):
        """``{project_id: [InstanceResult, ...]}`` of the affected
        projects."""
        found = {}
        for instance in self.instances:
            found.setdefault(instance.project_id, []).append(instance)
        return found


class Alert(typing.NamedTuple):
    """Something the administrators must hear of at once, outside any one
    recovery: a storm, a fence budget spent, a decision the journal could
    not take, a leadership lost."""

    #: One word an operator can filter on: ``storm``, ``fence_budget``,
    #: ``decision_kept``, ``leadership_lost``, ...
    kind: str
    #: One line (a mail's subject).
    subject: str
    #: What happened and what the operator may do, a few lines.
    text: str
    #: The host concerned ('' when none).
    host: str = ''
    raised_at: float = 0.0      # epoch seconds


class Notifier(Driver):
    """Tells people (or systems) what happened to a host."""

    def alert(self, alert):
        """Tell the administrators of an :class:`Alert` (their channel
        only: projects are never told). Return a short description of what
        was sent ('' when this notifier has no admin channel), or raise on
        failure."""
        return ''

    def started(self, report):
        """A recovery begins (``report`` has no step yet; its
        ``started_at`` says when). Most notifiers say nothing then; the bus
        notifier publishes ``freezer_dr.recovery.start``. Return a short
        description of what was sent ('' for nothing), or raise on failure:
        a failure to announce is logged and stops nothing."""
        return ''

    @abc.abstractmethod
    def notify(self, report):
        """Send the notifications for one :class:`RecoveryReport` (success
        or failure); return a short description of what was sent, or raise
        on failure."""


class Monitor(Driver):
    """Reports the hosts that have failed (for the one-shot freezer-dr)."""

    @abc.abstractmethod
    def failed_hosts(self):
        """Names of the hosts that are down now."""

    def incarnation(self, host):
        """The incarnation (boot) of ``host`` that failed, as of the last
        :meth:`failed_hosts`; None when the monitor cannot tell (the
        journal then recovers the host once until it is re-armed)."""
        return None
