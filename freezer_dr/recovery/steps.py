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

"""The steps of a recovery, one small class each: fence, isolate, evacuate,
notify.

A step is given the drivers it needs when it is built, and a
:class:`Context` (the host, the recovery's journal row, the retry policy)
when it runs. ``run(context)`` returns a
:class:`~freezer_dr.drivers.base.StepResult` (done, failed or skipped, with
the reason): a value, never an exception for control flow. The workflow
journals the step before and after it runs, so a step runs again only when
a previous run did not finish; each step is written so that running it
again is safe (the drivers' contracts say so too).

Retry policy: a driver reports a failure it understands as a result (a
FenceResult not confirmed, an InstanceResult not ok, a failed StepResult)
and that result is final. A driver that *raises* (nova or keystone
unreachable, a timeout) is called again, up to ``step_attempts`` times in
all, ``step_retry_delay`` seconds after the first failure, doubling each
time; then the step fails with the last error as its reason.
"""

import functools
import json
import logging
import threading
import time

from freezer_dr import clock
from freezer_dr.drivers import base
from freezer_dr.journal import api as journal_api
from freezer_dr.recovery import report as report_module

LOG = logging.getLogger(__name__)

FENCE = 'fence'
#: Seconds before reading again a power state that is not 'off' after a
#: confirmed fence.
POWER_REREAD_DELAY = 1.0
ISOLATE = 'isolate'
EVACUATE = 'evacuate'
NOTIFY = 'notify'
#: Journal steps named ``instance:<uuid>`` hold one instance's result.
INSTANCE_PREFIX = report_module.INSTANCE_PREFIX
#: Journal steps named ``notify:<notifier>`` hold one notifier's result.
NOTIFIER_PREFIX = report_module.NOTIFIER_PREFIX


class StepGaveUp(Exception):
    """A driver kept raising for ``step_attempts`` calls."""


class Retrier:
    """Calls a driver again while it raises: ``attempts`` calls in all,
    ``delay`` seconds before the second, doubled for each next one."""

    def __init__(self, attempts=1, delay=0.0, sleep=time.sleep):
        self.attempts = max(1, attempts)
        self.delay = delay
        self._sleep = sleep

    def call(self, host, what, function, *args):
        """``function(*args)``; the last error is raised (wrapped in
        :class:`StepGaveUp` after more than one attempt)."""
        delay = self.delay
        for attempt in range(1, self.attempts + 1):
            try:
                return function(*args)
            except base.StopActing:
                raise           # never retried: nothing more in our name
            except Exception as exc:
                if attempt >= self.attempts:
                    if self.attempts > 1:
                        raise StepGaveUp('after %d attempts: %s: %s' % (
                            attempt, type(exc).__name__, exc)) from exc
                    raise
                LOG.warning('Recovery of %s: %s, attempt %d of %d: %s: %s; '
                            'trying again in %.1f s', host, what, attempt,
                            self.attempts, type(exc).__name__, exc, delay)
                self._sleep(delay)
                delay *= 2


class Context:
    """One recovery, as its steps see it.

    :param epoch: the leadership epoch every journal write carries (None:
        unfenced, the one-shot command).
    :param guard: callable(epoch) raising ``journal_api.Deposed`` when this
        engine no longer leads with ``epoch``; called right before every
        driver call.
    """

    def __init__(self, journal, recovery_id, host, incarnation, reason,
                 retrier, epoch=None, guard=None, heard=None, alarm=None):
        self._heard = heard
        self._alarm = alarm
        self.journal = journal
        self.recovery_id = recovery_id
        self.host = host
        self.incarnation = incarnation
        self.reason = reason
        self.retrier = retrier
        self.epoch = epoch
        self._guard = guard

    def check(self):
        """Before an irreversible act: this engine still leads.

        :raises journal_api.Deposed: it does not.
        """
        if self._guard is not None:
            self._guard(self.epoch)

    def heard_since(self, since, same_boot=False):
        """``(boot_id, at)`` of this host's latest heartbeat received at
        or after ``since`` (epoch seconds; with ``same_boot``, only from
        the boot it was declared dead with), or None."""
        if self._heard is None:
            return None
        found = self._heard(self.host, since)
        if found is None:
            return None
        boot = str(self.incarnation).split('~')[0]
        if same_boot and boot != 'unknown' and found[0] != boot:
            return None         # it rebooted: not the same host running on
        return found

    def alarm(self, kind, subject, text):
        """Alert the administrators (and log at CRITICAL)."""
        LOG.critical('Recovery of %s: %s. %s', self.host, subject, text)
        if self._alarm is not None:
            try:
                self._alarm(kind, subject, text)
            except Exception:
                LOG.exception('Recovery of %s: the alarm %s could not be '
                              'raised', self.host, kind)

    def call(self, what, function, *args):
        """``function(*args)`` under the retry policy, each call after
        :meth:`check`."""
        def checked(*args):
            self.check()
            return function(*args)
        return self.retrier.call(self.host, what, checked, *args)

    def step_started(self, name, budget=None):
        return self.journal.step_started(self.recovery_id, name,
                                         epoch=self.epoch, budget=budget)

    def step_finished(self, name, status, detail=''):
        self.journal.step_finished(self.recovery_id, name, status, detail,
                                   epoch=self.epoch)

    def report(self, failed_step='', **extra):
        """The recovery's report, rebuilt from the journal (``extra``: see
        :func:`freezer_dr.recovery.report.build`)."""
        return report_module.build(self.journal, self.recovery_id,
                                   self.host, self.incarnation, self.reason,
                                   failed_step, **extra)


class Step:
    """One step; ``name`` is its name in the journal."""

    name = ''

    def run(self, context):
        """Do the step for ``context.host``; return a StepResult."""
        raise NotImplementedError


class Fence(Step):
    """Power the host off through the fencer. Safety rule 1: done only when
    power-off was confirmed, or when the operator listed the host in the
    unfenced evacuation override (logged and journaled)."""

    name = FENCE

    def __init__(self, fencer, unfenced_evacuation=frozenset(),
                 already_off_recheck=2.0, sleep=time.sleep):
        self.fencer = fencer
        self.override = frozenset(unfenced_evacuation)
        self.recheck = already_off_recheck
        self._sleep = sleep

    def run(self, context):
        host = context.host
        began = clock.now()
        result = context.call(self.name, self.fencer.fence, host)
        if result.confirmed and result.already_off:
            return self._believe(context, result, began)
        if result.confirmed:
            return base.done(result.detail)
        if host in self.override:
            LOG.warning('Recovery of %s: power-off NOT confirmed (%s); '
                        'evacuating anyway: the operator set the unfenced '
                        'evacuation override for this host', host,
                        result.detail)
            return base.done('NOT confirmed, operator override: %s'
                             % result.detail)
        return base.failed('power-off not confirmed (%s): no evacuation '
                           '(safety rule 1)' % result.detail)

    def _believe(self, context, result, began):
        """The device said the power was off before anything was sent: a
        lying BMC, or one mapped to another host, says so too. Believed
        only if, read again after a pause, it still says off and the host
        was not heard since the fence began (safety rule 8)."""
        self._sleep(self.recheck)
        state = self.fencer.power_state(context.host)
        heard = context.heard_since(began)
        if state == 'off' and heard is None:
            return base.done('%s; read again after %.1f s: off, and no '
                             'heartbeat since' % (result.detail,
                                                  self.recheck))
        why = ('read again after %.1f s it says %s' % (self.recheck, state)
               if state != 'off' else 'the host was heard %.1f s after the '
               'fence began' % (heard[1] - began))
        context.alarm('fence_not_believed', 'the fence of %s is not believed'
                      % context.host, 'Its fence device said the power was '
                      'already off, but %s: a lying BMC, or one mapped to '
                      'another host. Nothing is evacuated.' % why)
        return base.failed('the fence device said the power was already '
                           'off, but %s: not believed; no evacuation '
                           '(safety rule 8)' % why)


class Isolate(Step):
    """Take the host out of service in nova (the isolator)."""

    name = ISOLATE

    def __init__(self, isolator):
        self.isolator = isolator

    def run(self, context):
        return base.StepResult(*context.call(
            self.name, self.isolator.isolate, context.host))


class Evacuate(Step):
    """Rebuild the host's instances elsewhere, only after a fence step that
    is done in the journal; one journal line per instance."""

    name = EVACUATE

    def __init__(self, evacuator, fencer=None):
        self.evacuator = evacuator
        self.fencer = fencer

    def run(self, context):
        fence = [s for s in context.journal.steps(context.recovery_id)
                 if s.name == FENCE]
        if not fence or fence[0].status != journal_api.DONE:
            return base.failed('the fence step has not completed: no '
                               'evacuation')
        fenced_at = fence[0].finished_at or fence[0].started_at
        # Just before the first evacuation: the power is still off, and
        # the host has not spoken since its fence (safety rule 8).
        state = self._power(context)
        if state not in (None, 'off'):
            context.alarm('power_back_on', 'the power of %s is %s after its '
                          'fence' % (context.host, state),
                          'Read just before its evacuation. Nothing is '
                          'evacuated.')
            return base.failed('the power reads %s again just before the '
                               'evacuation: no evacuation' % state)
        split = self._split_brain(context, fenced_at)
        if split:
            return base.failed(split)

        def guard():
            # (Each evacuation request is guarded: an engine deposed in the
            # middle of a host's evacuation, or a host that speaks again,
            # gets no more of them.)
            context.check()
            if context.heard_since(fenced_at, same_boot=True):
                raise SplitBrain()
        try:
            instances = context.call(self.name, functools.partial(
                self.evacuator.evacuate, guard=guard), context.host)
        except SplitBrain:
            return base.failed(self._split_brain(context, fenced_at) or
                               'split brain')
        for instance in instances:
            # One journal line per instance: the report (and an operator
            # reading the journal) sees each one, even after a restart.
            name = INSTANCE_PREFIX + instance.id
            context.step_started(name)
            context.step_finished(
                name, journal_api.DONE if instance.ok else journal_api.FAILED,
                json.dumps(instance._asdict(), sort_keys=True))
        split = self._split_brain(context, fenced_at)
        if split:
            return base.failed(split)
        bad = [i for i in instances if not i.ok]
        if bad:
            return base.failed('%d of %d instances not evacuated: %s' % (
                len(bad), len(instances),
                ', '.join('%s (%s)' % (i.id, i.detail) for i in bad)))
        return base.done('%d instances evacuated' % len(instances))


    def _power(self, context):
        """The host's power state now (None: the fencer cannot tell). One
        read that is not 'off' is read again a second later before it
        counts (a reply lost or garbled is not a host powered back on)."""
        if self.fencer is None:
            return None
        state = self.fencer.power_state(context.host)
        if state in (None, 'off'):
            return state
        LOG.warning('Recovery of %s: the power reads %s after the fence: '
                    'reading it again', context.host, state)
        time.sleep(POWER_REREAD_DELAY)
        return self.fencer.power_state(context.host)

    @staticmethod
    def _split_brain(context, fenced_at):
        """'' while the host stays silent since its fence; otherwise the
        reason to stop, after the split-brain alarm."""
        heard = context.heard_since(fenced_at, same_boot=True)
        if heard is None:
            return ''
        why = ('split brain: %s heartbeats again with boot %s, %.1f s after '
               'its fence was confirmed' % (context.host, heard[0],
                                            heard[1] - fenced_at))
        context.alarm('split_brain', 'SPLIT BRAIN: %s speaks after its '
                      'fence' % context.host, why + '. Its fence did not '
                      'hold (a lying BMC, or one mapped to another host): '
                      'no more of its instances are evacuated; those '
                      'already evacuated may run twice on shared storage. '
                      'An operator must act now.')
        return why + ': no more evacuation'


class SplitBrain(base.StopActing):
    """A fenced host speaks again: its evacuation stops."""


class Notify(Step):
    """Tell every notifier, each journaled as its own ``notify:<name>``
    step: one that fails stops no other, and one that was told before a
    restart is not told again."""

    name = NOTIFY

    def __init__(self, notifiers):
        self.notifiers = dict(notifiers)

    def run(self, context):
        report = context.report()
        sent, bad = [], []
        for name, notifier in self.notifiers.items():
            step = NOTIFIER_PREFIX + name
            if context.step_started(step) is not None:
                sent.append('%s: already sent' % name)
                continue
            try:
                detail = str(context.call(step, notifier.notify, report))
                status = journal_api.DONE
                sent.append('%s: %s' % (name, detail))
            except journal_api.Deposed:
                raise
            except Exception as exc:
                LOG.exception('Recovery of %s: notifier %s failed',
                              context.host, name)
                detail = '%s: %s' % (type(exc).__name__, exc)
                status = journal_api.FAILED
                bad.append('%s: %s' % (name, detail))
            context.step_finished(step, status, detail)
        if bad:
            return base.failed('%d of %d notifiers failed (%s); %s' % (
                len(bad), len(self.notifiers), '; '.join(bad),
                '; '.join(sent) or 'none sent'))
        return base.done('; '.join(sent) or 'no notifier configured')

    def started(self, context, started_at):
        """Tell the notifiers that announce a recovery's start (the bus
        notifier), from a thread of their own: the fence does not wait for
        a broker. A failure to tell is logged, never a reason not to
        recover. Return the thread (join it before the recovery's end is
        told), or None when no notifier announces starts."""
        announcers = [(name, notifier) for name, notifier
                      in self.notifiers.items()
                      if type(notifier).started is not base.Notifier.started]
        if not announcers:
            return None
        report = report_module.starting(context.host, context.incarnation,
                                        context.reason, started_at)

        def announce():
            # (No leadership check here: it is a journal write, and the
            # fence step's writes would wait for it. An announcement is
            # information, not an act; the journal write of the fence
            # step, just begun, was fenced by the epoch.)
            for name, notifier in announcers:
                try:
                    notifier.started(report)
                except Exception:
                    LOG.exception('Recovery of %s: notifier %s could not '
                                  'announce its start', context.host, name)

        thread = threading.Thread(target=announce, daemon=True,
                                  name='announce-' + context.host[:40])
        thread.start()
        return thread

    def failure(self, context, failed_step, **extra):
        """Tell every notifier that the recovery failed at
        ``failed_step``, or is held (``extra``: see
        :func:`freezer_dr.recovery.report.build`; not journaled: the
        failed step, or the hold, is)."""
        report = context.report(failed_step, **extra)
        for name, notifier in self.notifiers.items():
            try:
                context.call(NOTIFY, notifier.notify, report)
            except journal_api.Deposed:
                raise
            except Exception:
                LOG.exception('Could not notify the failed recovery of %s '
                              'through %s', context.host, name)
