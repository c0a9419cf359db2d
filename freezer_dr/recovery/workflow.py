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

"""The recovery workflow: a tuple of steps, journaled, resumable.

The steps (:mod:`freezer_dr.recovery.steps`) are fence, isolate, evacuate
and notify, in that order. The journal records every step before it starts
and after it ends, keyed by host and incarnation, so running the same
recovery again (after the engine was killed, or by a newly elected engine)
skips the steps that completed and resumes at the one that did not. A step
that fails (but notify) ends the recovery as failed, and every notifier is
told.

One incarnation is recovered once (safety rule 4): a recovery that failed
is run again only when an operator reopens it (``freezer-dr-manage recovery
retry``). When the host was re-armed after a recovery of that incarnation
and dies again without rebooting (same boot id), the new recovery is
journaled as ``<boot id>~2``, ``~3``, ...
"""

import logging
import threading
import time
import typing

from freezer_dr.drivers import base
from freezer_dr.drivers.isolators import noop as noop_isolator
from freezer_dr.journal import api as journal_api
from freezer_dr.recovery import steps as steps_module

LOG = logging.getLogger(__name__)

FENCE = steps_module.FENCE
ISOLATE = steps_module.ISOLATE
EVACUATE = steps_module.EVACUATE
NOTIFY = steps_module.NOTIFY
STEPS = (FENCE, ISOLATE, EVACUATE, NOTIFY)
#: What ``progress`` is told when a step starts.
STARTED = journal_api.STARTED
#: Seconds a recovery waits, before telling its end, for its start to
#: have been told (the bus notifier gives up on a broker sooner: its
#: ``retry``).
ANNOUNCE_WAIT = 30.0

StepResult = base.StepResult
#: Seconds the notifications of a failed or held recovery wait for the
#: host's instances to be listed.
AFFECTED_WAIT = 30.0
#: The commands that move a failed or a held recovery on.
RETRY = 'freezer-dr-manage recovery retry %s'
RELEASE = 'freezer-dr-manage host release %s'


class Outcome(typing.NamedTuple):
    host: str
    incarnation: str
    recovered: bool
    steps: tuple        # ((name, StepResult or 'already done'), ...)
    recovery_id: int = 0
    #: Why nothing ran ('' when the steps ran): e.g. a failed recovery that
    #: no operator reopened.
    refused: str = ''
    #: Held over the fence budget: nothing was fenced; an operator
    #: releases it (``freezer-dr-manage host release``).
    held: bool = False


class Workflow:
    """Runs the steps of one host's recovery against the journal.

    :param fencer: a :class:`~freezer_dr.drivers.base.Fencer`.
    :param evacuator: a :class:`~freezer_dr.drivers.base.Evacuator`.
    :param notifiers: ``{name: Notifier}``: every one is told.
    :param isolator: a :class:`~freezer_dr.drivers.base.Isolator`; None
        isolates nothing (the step is journaled as skipped, saying so).
    :param unfenced_evacuation: hosts the operator allowed to be evacuated
        without a confirmed fence (safety rule 1's override).
    :param step_attempts: calls of a driver that raises, in all.
    :param step_retry_delay: seconds before the second call, doubled for
        each next one.
    :param fence_budget: ``(max_fences, fence_window)``: a recovery whose
        fence would exceed it is held (None, or a limit of 0: no budget).
    """

    def __init__(self, journal, fencer, evacuator, notifiers, isolator=None,
                 unfenced_evacuation=frozenset(), clock=time.monotonic,
                 step_attempts=1, step_retry_delay=0.0, sleep=time.sleep,
                 fence_budget=None, already_off_recheck=2.0):
        self._journal = journal
        self.fence_budget = fence_budget if fence_budget and \
            fence_budget[0] else None
        self.fencer = fencer
        self.isolator = isolator or noop_isolator.NoopIsolator()
        self.evacuator = evacuator
        self.notifiers = dict(notifiers)
        self.unfenced_evacuation = frozenset(unfenced_evacuation)
        self._notify = steps_module.Notify(self.notifiers)
        self.steps = (steps_module.Fence(fencer, unfenced_evacuation,
                                         already_off_recheck, sleep),
                      steps_module.Isolate(self.isolator),
                      steps_module.Evacuate(evacuator, fencer),
                      self._notify)
        self._clock = clock
        self._retrier = steps_module.Retrier(step_attempts,
                                             step_retry_delay, sleep)

    def drivers(self):
        """``{what: driver}`` of every driver of this workflow (for the
        start-up checks)."""
        found = {'[recovery] fencer': self.fencer,
                 '[recovery] isolator': self.isolator,
                 '[recovery] evacuator': self.evacuator}
        for name, notifier in self.notifiers.items():
            found['[recovery] notifiers (%s)' % name] = notifier
        return found

    def run(self, host, incarnation, reason, progress=None, epoch=None,
            guard=None, heard=None, alarm=None):
        """Recover this incarnation of ``host`` (or resume its recovery);
        return the :class:`Outcome`.

        :param progress: callable(step, status) told when each step starts
            (status ``started``) and how it ended (``done``, ``failed``,
            ``skipped``; a step done before a restart is told ``done``
            again), from this thread.
        :param epoch: the leader's epoch: every journal write is fenced
            with it (None: unfenced, the one-shot command).
        :param guard: callable(epoch) raising ``journal_api.Deposed`` when
            this engine no longer leads; called before every driver call,
            after the step's fenced journal write.
        :param heard: callable(host, since) returning ``(boot_id, at)``
            of the host's latest heartbeat received at or after ``since``
            (epoch seconds), or None: is a fenced host still speaking?
            (None: nobody can tell, the one-shot command.)
        :param alarm: callable(kind, subject, text) raising an alert to
            the administrators (a split brain).
        :raises journal_api.Deposed: this engine stopped leading; the
            recovery is left to the new leader, as the journal has it.
        """
        tell = progress or (lambda step, status: None)
        journal = self._journal
        # (The first step is started in the same transaction.)
        first = self.steps[0].name
        first_step = (first, self._budget(first))
        record = journal.begin(host, incarnation, reason, epoch=epoch,
                               first_step=first_step)
        generation = 1
        while record.rearmed_at is not None:
            # Re-armed, and dead again on the same boot: a new recovery.
            generation += 1
            record = journal.begin(
                host, '%s~%d' % (incarnation, generation), reason,
                epoch=epoch, first_step=first_step)
        incarnation = record.incarnation
        if record.status == journal_api.DONE:
            LOG.info('Recovery of %s (incarnation %s) already done',
                     host, incarnation)
            return Outcome(host, incarnation, True, (), record.id)
        if record.status == journal_api.HELD:
            LOG.warning('Recovery of %s (incarnation %s) held over the '
                        'fence budget: released only by an operator '
                        '(freezer-dr-manage host release %s)', host,
                        incarnation, host)
            return Outcome(host, incarnation, False, (), record.id,
                           'held over the fence budget', held=True)
        if record.status == journal_api.FAILED:
            why = ('recovery %d of this incarnation failed before; only an '
                   'operator runs it again (freezer-dr-manage recovery '
                   'retry %s)' % (record.id, host))
            LOG.warning('Recovery of %s (incarnation %s) not run: %s',
                        host, incarnation, why)
            return Outcome(host, incarnation, False, (), record.id, why)
        context = steps_module.Context(journal, record.id, host, incarnation,
                                       reason, self._retrier, epoch, guard,
                                       heard, alarm)
        announcing = None
        if record.created:
            announcing = self._notify.started(context, time.time())

        def announced():
            # The start is told before the end (success or failure).
            if announcing is not None:
                announcing.join(ANNOUNCE_WAIT)

        results = []
        recovered = True
        prepared = False
        started = record.started
        for step in self.steps:
            name = step.name
            if name == NOTIFY:
                announced()
            if started is not None and started[0] == name:
                previous, started = started[1], None
            else:
                previous = context.step_started(name, self._budget(name))
            if previous == journal_api.HELD:
                limit, window = self.fence_budget
                why = ('held over the fence budget: %d fences already '
                       'started within %.0f s ([recovery] max_fences); '
                       'nothing was fenced. Release it with '
                       '"freezer-dr-manage host release %s"'
                       % (limit, window, host))
                LOG.error('Recovery of %s (incarnation %s) %s', host,
                          incarnation, why)
                announced()
                self._notify.failure(
                    context, '', affected=self.affected(host),
                    held='over the fence budget: %d fences already started '
                    'within %.0f s ([recovery] max_fences)' % (limit,
                                                                 window),
                    next_step=RELEASE % host)
                return Outcome(host, incarnation, False, tuple(results),
                               record.id, why, held=True)
            if previous in journal_api.STEP_FINAL:
                results.append((name, 'already ' + previous))
                tell(name, previous)
                continue
            tell(name, STARTED)
            if name in (FENCE, ISOLATE) and not prepared:
                # The evacuation's reads (the host's instances, which to
                # evacuate) while the host is fenced and isolated: the
                # evacuate step then starts with its first request.
                self._prepare(host)
                prepared = True
            began = self._clock()
            result = self._run_step(step, context)
            context.step_finished(name, result.status, result.detail)
            LOG.info('Recovery of %s: %s %s in %.2f s: %s', host, name,
                     result.status, self._clock() - began, result.detail)
            results.append((name, result))
            tell(name, result.status)
            if result.status == journal_api.FAILED and name != NOTIFY:
                recovered = False
                announced()
                self._notify.failure(context, name,
                                     affected=self.affected(host),
                                     next_step=RETRY % host)
                break
        journal.finish(record.id, journal_api.DONE if recovered
                       else journal_api.FAILED, epoch=epoch)
        return Outcome(host, incarnation, recovered, tuple(results),
                       record.id)

    def _budget(self, step_name):
        """The fence budget a step is started under (the fence's only)."""
        return self.fence_budget if step_name == FENCE else None

    def affected(self, host):
        """The instances still on ``host`` (down, not moved), for the
        mails of a failed or held recovery; none when they cannot be
        listed within AFFECTED_WAIT seconds (said in the log)."""
        found = []

        def listing():
            try:
                found.append(tuple(self.evacuator.affected(host)))
            except Exception as exc:
                LOG.error('Recovery of %s: its instances could not be '
                          'listed for the notifications: %s: %s', host,
                          type(exc).__name__, exc)
        thread = threading.Thread(target=listing, daemon=True,
                                  name='affected-%s' % host[:40])
        thread.start()
        thread.join(AFFECTED_WAIT)
        if not found and thread.is_alive():
            LOG.error('Recovery of %s: its instances could not be listed '
                      'for the notifications within %.0f s', host,
                      AFFECTED_WAIT)
        return found[0] if found else ()

    def _prepare(self, host):
        try:
            self.evacuator.prepare(host)
        except Exception:   # it must not; a bug costs only the time
            LOG.exception('Preparing the evacuation of %s raised', host)

    def _run_step(self, step, context):
        try:
            return step.run(context)
        except journal_api.Deposed:
            raise
        except Exception as exc:    # a driver bug must not lose the journal
            LOG.exception('Recovery of %s: step %s raised', context.host,
                          step.name)
            return base.failed('%s raised %s: %s' % (
                step.name, type(exc).__name__, exc))
