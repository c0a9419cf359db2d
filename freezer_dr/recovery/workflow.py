"""The recovery workflow: small named steps, journaled, resumable.

Each step is a function of the host returning a :class:`StepResult`
(done, failed or skipped, with the reason): no exceptions for control
flow. The journal records every step before it starts and after it ends,
keyed by host and incarnation, so running the same recovery again (after
the engine was killed, or by a newly elected engine) skips the steps that
completed and resumes at the one that did not.

Safety rule 1: the evacuation step runs only after a fence step that
confirmed power-off, unless the operator set an explicit override for that
host, which is logged and journaled.

Retry policy: a driver reports a failure it understands as a result (a
FenceResult not confirmed, an InstanceResult not ok, a failed StepResult)
and that result is final. A driver that *raises* (nova or keystone
unreachable, a timeout) is called again, up to ``step_attempts`` times in
all, ``step_retry_delay`` seconds after the first failure, doubling each
time; then the step fails with the last error as its reason.

One incarnation is recovered once (safety rule 4): a recovery that failed
is run again only when an operator reopens it (``freezer-dr-manage recovery
retry``). When the host was re-armed after a recovery of that incarnation
and dies again without rebooting (same boot id), the new recovery is
journaled as ``<boot id>~2``, ``~3``, ...
"""

import json
import logging
import time
import typing

from freezer_dr.drivers import base
from freezer_dr.journal import api as journal_api

LOG = logging.getLogger(__name__)

FENCE = 'fence'
ISOLATE = 'isolate'
EVACUATE = 'evacuate'
NOTIFY = 'notify'
STEPS = (FENCE, ISOLATE, EVACUATE, NOTIFY)
#: Journal steps named ``instance:<uuid>`` hold one instance's result.
INSTANCE_PREFIX = 'instance:'
#: Journal steps named ``notify:<notifier>`` hold one notifier's result.
NOTIFIER_PREFIX = 'notify:'
#: What ``progress`` is told when a step starts.
STARTED = journal_api.STARTED


class StepResult(typing.NamedTuple):
    status: str         # done, failed or skipped
    detail: str


def done(detail):
    return StepResult(journal_api.DONE, detail)


def failed(detail):
    return StepResult(journal_api.FAILED, detail)


def skipped(detail):
    return StepResult(journal_api.SKIPPED, detail)


class StepGaveUp(Exception):
    """A driver kept raising for ``step_attempts`` calls."""


class Outcome(typing.NamedTuple):
    host: str
    incarnation: str
    recovered: bool
    steps: tuple        # ((name, StepResult or 'already done'), ...)
    recovery_id: int = 0
    #: Why nothing ran ('' when the steps ran): e.g. a failed recovery that
    #: no operator reopened.
    refused: str = ''


class Workflow:
    """Runs the steps of one host's recovery against the journal.

    :param fencer: a freezer_dr.drivers.base.Fencer.
    :param isolate: callable(host) -> StepResult (nova force-down and
        disable), or None when not configured (the step is skipped, said so).
    :param evacuator: a freezer_dr.drivers.base.Evacuator.
    :param notifier: a freezer_dr.drivers.base.Notifier, or a dict
        ``{name: Notifier}``: every one is told, each journaled as its own
        ``notify:<name>`` step, and one that fails stops no other.
    :param unfenced_evacuation: hosts the operator allowed to be evacuated
        without a confirmed fence (safety rule 1's override).
    :param step_attempts: calls of a driver that raises, in all.
    :param step_retry_delay: seconds before the second call, doubled for
        each next one.
    """

    def __init__(self, journal, fencer, evacuator, notifier, isolate=None,
                 unfenced_evacuation=frozenset(), clock=time.monotonic,
                 step_attempts=1, step_retry_delay=0.0, sleep=time.sleep):
        self._journal = journal
        self._fencer = fencer
        self._evacuator = evacuator
        self._notifier = notifier
        self._isolate = isolate
        self._override = frozenset(unfenced_evacuation)
        self._clock = clock
        self._attempts = max(1, step_attempts)
        self._retry_delay = step_retry_delay
        self._sleep = sleep

    def run(self, host, incarnation, reason, progress=None):
        """Recover this incarnation of ``host`` (or resume its recovery);
        return the :class:`Outcome`.

        :param progress: callable(step, status) told when each step starts
            (status ``started``) and how it ended (``done``, ``failed``,
            ``skipped``; a step done before a restart is told ``done``
            again), from this thread.
        """
        tell = progress or (lambda step, status: None)
        record = self._journal.begin(host, incarnation, reason)
        generation = 1
        while record.rearmed_at is not None:
            # Re-armed, and dead again on the same boot: a new recovery.
            generation += 1
            record = self._journal.begin(
                host, '%s~%d' % (incarnation, generation), reason)
        incarnation = record.incarnation
        if record.status == journal_api.DONE:
            LOG.info('Recovery of %s (incarnation %s) already done',
                     host, incarnation)
            return Outcome(host, incarnation, True, (), record.id)
        if record.status == journal_api.FAILED:
            why = ('recovery %d of this incarnation failed before; only an '
                   'operator runs it again (freezer-dr-manage recovery '
                   'retry %s)' % (record.id, host))
            LOG.warning('Recovery of %s (incarnation %s) not run: %s',
                        host, incarnation, why)
            return Outcome(host, incarnation, False, (), record.id, why)
        if record.created:
            self._tell_started(host, incarnation, reason)
        results = []
        recovered = True
        for name in STEPS:
            previous = self._journal.step_started(record.id, name)
            if previous in journal_api.STEP_FINAL:
                results.append((name, 'already ' + previous))
                tell(name, previous)
                continue
            tell(name, STARTED)
            began = self._clock()
            result = self._run_step(name, host, incarnation, record.id,
                                    reason)
            self._journal.step_finished(record.id, name, result.status,
                                        result.detail)
            LOG.info('Recovery of %s: %s %s in %.2f s: %s', host, name,
                     result.status, self._clock() - began, result.detail)
            results.append((name, result))
            tell(name, result.status)
            if result.status == journal_api.FAILED and name != NOTIFY:
                recovered = False
                self._notify_failure(host, incarnation, record.id, reason,
                                     name)
                break
        self._journal.finish(record.id, journal_api.DONE if recovered
                             else journal_api.FAILED)
        return Outcome(host, incarnation, recovered, tuple(results),
                       record.id)

    def _named_notifiers(self):
        """``{name: notifier}``, also when built with a single one."""
        if isinstance(self._notifier, dict):
            return self._notifier
        return {'notifier': self._notifier}

    def _tell_started(self, host, incarnation, reason):
        """Notifiers that announce the start of a recovery (the bus
        notifier's ``freezer_dr.recovery.start``) are told now; a failure
        to tell is logged, never a reason not to recover."""
        for name, notifier in self._named_notifiers().items():
            started = getattr(notifier, 'started', None)
            if not callable(started):
                continue
            try:
                started(host, incarnation, reason)
            except Exception:
                LOG.exception('Recovery of %s: notifier %s could not '
                              'announce its start', host, name)

    def _run_step(self, name, host, incarnation, recovery_id, reason):
        try:
            if name == FENCE:
                return self._fence(host)
            if name == ISOLATE:
                if self._isolate is None:
                    return skipped('no nova isolation configured')
                return StepResult(*self._retried(host, name, self._isolate,
                                                 host))
            if name == EVACUATE:
                return self._evacuate(host, recovery_id)
            return self._notify(host, incarnation, recovery_id, reason)
        except Exception as exc:    # a driver bug must not lose the journal
            LOG.exception('Recovery of %s: step %s raised', host, name)
            return failed('%s raised %s: %s' % (name, type(exc).__name__,
                                                 exc))

    def _retried(self, host, name, call, *args):
        """``call(*args)``, called again while it raises, up to
        ``step_attempts`` calls in all; the last error is raised."""
        delay = self._retry_delay
        for attempt in range(1, self._attempts + 1):
            try:
                return call(*args)
            except Exception as exc:
                if attempt >= self._attempts:
                    if self._attempts > 1:
                        raise StepGaveUp('after %d attempts: %s: %s' % (
                            attempt, type(exc).__name__, exc)) from exc
                    raise
                LOG.warning('Recovery of %s: %s, attempt %d of %d: %s: %s; '
                            'trying again in %.1f s', host, name, attempt,
                            self._attempts, type(exc).__name__, exc, delay)
                self._sleep(delay)
                delay *= 2

    def _fence(self, host):
        result = self._retried(host, FENCE, self._fencer.fence, host)
        if result.confirmed:
            return done(result.detail)
        if host in self._override:
            LOG.warning('Recovery of %s: power-off NOT confirmed (%s); '
                        'evacuating anyway: the operator set the unfenced '
                        'evacuation override for this host', host,
                        result.detail)
            return done('NOT confirmed, operator override: %s'
                        % result.detail)
        return failed('power-off not confirmed (%s): no evacuation '
                      '(safety rule 1)' % result.detail)

    def _evacuate(self, host, recovery_id):
        fence = [s for s in self._journal.steps(recovery_id)
                 if s.name == FENCE]
        if not fence or fence[0].status != journal_api.DONE:
            return failed('the fence step has not completed: no evacuation')
        instances = self._retried(host, EVACUATE, self._evacuator.evacuate,
                                  host)
        for instance in instances:
            # One journal line per instance: the report (and an operator
            # reading the journal) sees each one, even after a restart.
            name = INSTANCE_PREFIX + instance.id
            self._journal.step_started(recovery_id, name)
            self._journal.step_finished(
                recovery_id, name,
                journal_api.DONE if instance.ok else journal_api.FAILED,
                json.dumps(instance._asdict(), sort_keys=True))
        bad = [i for i in instances if not i.ok]
        if bad:
            return failed('%d of %d instances not evacuated: %s' % (
                len(bad), len(instances),
                ', '.join('%s (%s)' % (i.id, i.detail) for i in bad)))
        return done('%d instances evacuated' % len(instances))

    def report(self, recovery_id, host, incarnation, reason,
               failed_step=''):
        """The :class:`~freezer_dr.drivers.base.RecoveryReport` of a
        recovery, rebuilt from the journal (so it is whole after a
        restart too)."""
        steps, instances = [], []
        first = last = 0.0
        for record in self._journal.steps(recovery_id):
            first = min(first or record.started_at, record.started_at)
            last = max(last, record.finished_at or record.started_at)
            if record.name.startswith(NOTIFIER_PREFIX):
                continue
            if record.name.startswith(INSTANCE_PREFIX):
                try:
                    instances.append(base.InstanceResult(
                        **json.loads(record.detail)))
                except (ValueError, TypeError):
                    instances.append(base.InstanceResult(
                        record.name[len(INSTANCE_PREFIX):],
                        record.status == journal_api.DONE, record.detail))
                continue
            if record.status == journal_api.STARTED:
                continue        # the notify step under way, at most
            seconds = ((record.finished_at or record.started_at)
                       - record.started_at)
            steps.append(base.StepReport(record.name, record.status,
                                         record.detail, seconds))
        moved = sum(1 for i in instances if i.ok)
        if failed_step:
            detail = next((s.detail for s in steps if s.name == failed_step),
                          '')
            summary = ('Host %s could NOT be recovered: step %s failed (%s).'
                       ' An operator must act.' % (host, failed_step,
                                                   detail))
        else:
            summary = ('Host %s was declared dead (%s), fenced, and %d of '
                       '%d instances were evacuated.'
                       % (host, reason, moved, len(instances)))
        return base.RecoveryReport(
            host=host, incarnation=incarnation, reason=reason,
            recovered=not failed_step, failed_step=failed_step,
            summary=summary, steps=tuple(steps), instances=tuple(instances),
            started_at=first, finished_at=last)

    def _notify(self, host, incarnation, recovery_id, reason):
        report = self.report(recovery_id, host, incarnation, reason)
        if not isinstance(self._notifier, dict):
            return done(self._retried(host, NOTIFY, self._notifier.notify,
                                      report))
        sent, bad = [], []
        for name, notifier in self._notifier.items():
            step = NOTIFIER_PREFIX + name
            if self._journal.step_started(recovery_id, step) is not None:
                sent.append('%s: already sent' % name)
                continue
            try:
                detail = str(self._retried(host, step, notifier.notify,
                                           report))
                status = journal_api.DONE
                sent.append('%s: %s' % (name, detail))
            except Exception as exc:
                LOG.exception('Recovery of %s: notifier %s failed', host,
                              name)
                detail = '%s: %s' % (type(exc).__name__, exc)
                status = journal_api.FAILED
                bad.append('%s: %s' % (name, detail))
            self._journal.step_finished(recovery_id, step, status, detail)
        if bad:
            return failed('%d of %d notifiers failed (%s); %s' % (
                len(bad), len(self._notifier), '; '.join(bad),
                '; '.join(sent) or 'none sent'))
        return done('; '.join(sent) or 'no notifier configured')

    def _notify_failure(self, host, incarnation, recovery_id, reason,
                        step):
        report = self.report(recovery_id, host, incarnation, reason,
                             failed_step=step)
        for name, notifier in self._named_notifiers().items():
            try:
                self._retried(host, NOTIFY, notifier.notify, report)
            except Exception:
                LOG.exception('Could not notify the failed recovery of %s '
                              'through %s', host, name)
