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

"""Running recoveries for the engine: a bounded pool of worker threads,
progress reported back to the engine's thread, the journal polled for what
operators did.

Threads and what they may touch:

* the engine thread owns the liveness core. It calls :meth:`carry_out` for
  every decision and runs every callable posted to the engine's mailbox
  (the only way the other threads reach the core), handing it the engine:
  starting a recovery, reporting its progress to the core (which alone
  decides how the host's state moves), re-arming it.
* ``[recovery] max_parallel`` worker threads run ``Workflow.run`` (the
  drivers and the journal): never on the engine thread.
* one poller thread reads the journal every ``[recovery]
  journal_poll_interval``: recoveries running there but not here (left by a
  killed engine, or reopened by ``freezer-dr-manage recovery retry``) and
  hosts re-armed by ``freezer-dr-manage host rearm``.

One recovery per host at a time: a host is in ``_running`` from the moment
its recovery is handed to the pool until the engine thread hears how it
ended, and neither a new decision nor the poller starts another meanwhile.
"""

import concurrent.futures
import functools
import logging
import threading
import time

from freezer_dr.journal import api as journal_api
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import states as st
from freezer_dr.liveness import transitions
from freezer_dr.recovery import alerts as alerts_module
from freezer_dr.recovery import report as report_module

LOG = logging.getLogger(__name__)

AUTO_REARM = 'auto_rearm'
#: What moves on a host the storm guard holds.
STORM_NEXT = ('freezer-dr-manage host recover %s --reason "..." (once you '
              'have checked that it is dead; or wait: when the storm clears, '
              'the hosts still silent are declared dead and recovered)')
#: Seconds before trying again a recovery that could not go on (the
#: journal unreachable, a bug): the decision stays in memory meanwhile.
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


class RecoveryRunner:
    """Carries out the core's decisions: recovers the hosts declared
    dead."""

    def __init__(self, flow, journal, mailbox, max_parallel=4,
                 poll_interval=2.0, auto_rearm=False, leadership=None,
                 alerts=None):
        """
        :param mailbox: the engine's :class:`~freezer_dr.engine.Mailbox`:
            what is posted there runs on the engine thread, given the
            engine.
        :param leadership: a :class:`~freezer_dr.coordination.Leadership`:
            recoveries run only while it leads, every journal write fenced
            with its epoch. None: this engine always leads, unfenced.
        :param alerts: an :class:`~freezer_dr.recovery.alerts.Alerts`
            (default: through the workflow's notifiers).
        """
        self._flow = flow
        #: The workflow (its drivers tell the engine what hosts to expect).
        self.flow = flow
        self._journal = journal
        self._post = mailbox.post
        self._heard = getattr(getattr(mailbox, 'heard', None), 'since',
                              None)
        self._leadership = leadership
        self.alerts = alerts or alerts_module.Alerts(
            getattr(flow, 'notifiers', {}))
        if leadership is not None:
            leadership.on_lost = self._on_leadership_lost
        # Engine thread only: the storm under way (its reason), and
        # whether this engine alerted it.
        self._storm_reason = None
        # Worker threads of their own for the reports of hosts the storm
        # guard holds (a nova listing and mails each): recoveries never
        # wait behind them.
        self._tell_pool = concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix='held')
        self._storm_alerted = False
        # Worker threads: when the last fence-budget alert was raised
        # (monotonic), one per window.
        self._budget_alerted = None
        self._budget_lock = threading.Lock()
        # Poller thread only: the epoch this engine led with at the last
        # look (None: it did not lead).
        self._led = None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_parallel, thread_name_prefix='recovery')
        self._poll_interval = poll_interval
        self._auto_rearm = auto_rearm
        # Engine thread only: host -> incarnation of the recovery under way.
        self._running = {}
        # The recoveries handed to the pool and not ended (any thread).
        self._futures = set()
        # Engine thread only: journal ids already acted upon or reported.
        self._rearms_done = set()
        # Engine thread only: recovery id -> the host's state when the core
        # refused to resume it.
        self._noted = {}
        # Engine thread only: host -> failed attempts of a recovery that
        # could not go on, tried again after RETRY_DELAYS.
        self._retries = {}
        # Engine thread only: recovery id -> number of the last poll that
        # may have read it before it ended (a later one is not stale).
        self._ended = {}
        self._polls_lock = threading.Lock()
        self._polls = 0
        # Engine thread only: (id, status, time) of the finished recoveries
        # already followed; host -> the one to follow once the host is
        # declared dead here too.
        self._finished_seen = set()
        self._finished_pending = {}
        # Poller thread only.
        self._loaded = False
        #: Whether the last poll of the journal succeeded (None before the
        #: first): the engine's health.
        self.journal_ok = None
        #: A freezer_dr.metrics.Metrics, or None.
        self.metrics = None
        self._rearm_mark = None
        self._finished_mark = 0.0
        self._stop = threading.Event()
        self._poller = None

    # --- life (main thread) ---

    def start(self):
        """Take back what the journal holds, then poll. Call it before the
        engine runs: the work it posts then runs on the engine's first pass,
        before any event, so that a host under recovery is not first seen
        as up."""
        self._poll_once()
        self._poller = threading.Thread(target=self._poll, daemon=True,
                                        name='journal-poller')
        self._poller.start()

    def stop(self, wait=0.0):
        """Stop polling; queued recoveries are cancelled (the next leader
        resumes them); those under way finish their current run (the
        journal stays whole), and are waited for up to ``wait`` seconds
        (so that the leadership is handed over once they are done)."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if wait and self._futures:
            done, running = concurrent.futures.wait(self._futures, wait)
            if running:
                LOG.warning('%d recoveries still under way after %.0f s: '
                            'the next leader resumes them from the '
                            'journal', len(running), wait)
        self._tell_pool.shutdown(wait=False, cancel_futures=True)
        self.alerts.stop(wait=min(wait, 1.0))

    # --- decisions (engine thread) ---

    def carry_out(self, action):
        host = action.host or '-'
        if action.kind == act.DECLARE_DEAD:
            details = dict(action.details)
            self._start(action.host, str(details.get('boot_id') or
                                         'unknown'), action.reason)
        elif action.kind == act.ALERT_STORM:
            LOG.error('Storm guard: %s. Automatic recovery is stopped; the '
                      'administrators must act.', action.reason)
            self._storm_reason = action.reason
            self._storm_alerted = False
            self._alert_storm()
        elif action.kind == act.STORM_CLEARED:
            LOG.warning('%s: %s', action.kind, action.reason)
            self._storm_reason = None
        elif action.kind == act.STATE:
            LOG.warning('Host %s: %s', host, action.reason)
        elif action.kind == act.HELD:
            LOG.warning('%s %s: %s', action.kind, host, action.reason)
            # (Once per host and storm: the core holds each once. Held
            # while this engine may be the one cut off, the host is most
            # likely alive: its projects are not told otherwise, and the
            # storm's alert tells the administrators.)
            if self.owns(action.host) and not self._stop.is_set() and \
                    not dict(action.details).get('cut_off'):
                try:
                    self._tell_pool.submit(
                        self._tell_held, action.host, action.reason,
                        self._storm_reason or 'the storm guard holds it')
                except RuntimeError:    # (stopping)
                    pass
        elif action.kind in (act.SUSPECT, act.BUS_DOWN,
                             act.NOVA_DISAGREES, act.REFUSED,
                             act.IGNORED_PROGRESS, act.UNHEARD):
            LOG.warning('%s %s: %s', action.kind, host, action.reason)
        else:
            LOG.info('%s %s: %s', action.kind, host, action.reason)

    def _alert_storm(self):
        """Engine thread: alert the storm under way once, from the engine
        that speaks for all (a storm that began while this engine did not
        lead is alerted when it becomes the one)."""
        if self._storm_reason is None or self._storm_alerted or \
                not self.owns(None):
            return
        self._storm_alerted = True
        self.alerts.raise_alert(
            'storm', 'storm guard: automatic recovery stopped',
            self._storm_reason + '. Hosts that stay silent are not '
            'declared dead until the storm clears (the engine\'s log and '
            'decisions file name them).')

    def _tell_held(self, host, reason, why):
        """Worker thread: the administrators and the projects of a host
        the storm guard holds hear of it (its instances are down and not
        moved), with the command that recovers it on the operator's
        word."""
        try:
            flow = self._flow
            affected = getattr(flow, 'affected', lambda host: ())
            report = report_module.held(
                host, 'unknown', reason, why, affected(host),
                STORM_NEXT % host, time.time())
            for name, notifier in getattr(flow, 'notifiers', {}).items():
                try:
                    notifier.notify(report)
                except Exception as exc:
                    LOG.error('Host %s held by the storm guard: notifier %s '
                              'failed: %s: %s', host, name,
                              type(exc).__name__, exc)
        except Exception:
            LOG.exception('Host %s held by the storm guard: its report '
                          'could not be made', host)

    def leads(self):
        """Whether this engine may act (it leads, or runs alone)."""
        return self._leadership is None or self._leadership.leads()

    def owns(self, host):
        """Whether this engine may act on ``host`` (None: speak for the
        engines): it leads (or runs alone), or owns the host when engines
        share the hosts."""
        return self._leadership is None or self._leadership.owns(host)

    def _start(self, host, incarnation, reason):
        if not self.owns(host):
            LOG.info('Not leading for %s: its recovery is left to the '
                     'engine that does (this one, if it becomes it) (%s)',
                     host, reason)
            return
        if host in self._running:
            LOG.info('Recovery of %s: already under way (incarnation %s)',
                     host, self._running[host])
            return
        self._running[host] = incarnation
        LOG.warning('Recovery of %s (incarnation %s) starts: %s', host,
                    incarnation, reason)
        future = self._pool.submit(self._work, host, incarnation, reason,
                                   time.monotonic())
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    # --- workers ---

    def _work(self, host, incarnation, reason, decided_at=None):
        post = self._post
        began = time.monotonic()
        metrics = self.metrics
        if metrics is not None:
            timing = metrics.recovery_timing(decided_at or began)

            def progress(step, status):
                timing.progress(step, status)
                post(functools.partial(self._on_progress, host, step,
                                       status))
        else:
            def progress(step, status):
                post(functools.partial(self._on_progress, host, step,
                                       status))
        leadership = self._leadership
        try:
            epoch = None if leadership is None else leadership.token(host)
            if leadership is not None and epoch is None:
                raise journal_api.Deposed('this engine no longer leads for '
                                          '%s' % host)
            outcome = self._flow.run(
                host, incarnation, reason,
                progress=progress,
                epoch=epoch,
                guard=None if leadership is None else leadership.check,
                heard=self._heard,
                alarm=lambda kind, subject, text: self.alerts.raise_alert(
                    kind, subject, text, host=host))
            if metrics is not None:
                metrics.recovery_ended('held' if outcome.held else
                                       'recovered' if outcome.recovered
                                       else 'failed')
            if outcome.held:
                self._alert_held(host, outcome)
                post(functools.partial(self._on_held, outcome))
                return
            rearmed = False
            if outcome.recovered and self._auto_rearm:
                rearmed = self._journal.rearm(outcome.recovery_id,
                                              AUTO_REARM)
        except journal_api.Deposed as exc:
            if metrics is not None:
                metrics.recovery_ended('deposed')
            LOG.error('Recovery of %s (incarnation %s) stopped after %.1f s: '
                      '%s; the leader resumes it from the journal', host,
                      incarnation, time.monotonic() - began, exc)
            post(functools.partial(self._on_deposed, host))
            return
        except Exception as exc:
            if metrics is not None:
                metrics.recovery_ended('interrupted')
            LOG.error('Recovery of %s (incarnation %s) could not go on after '
                      '%.1f s: %s: %s', host, incarnation,
                      time.monotonic() - began, type(exc).__name__, exc,
                      exc_info=not _is_database_error(exc))
            post(functools.partial(self._on_interrupted, host, incarnation,
                                   reason))
            return
        LOG.warning('Recovery of %s (incarnation %s): %s in %.1f s', host,
                    outcome.incarnation, 'RECOVERED' if outcome.recovered
                    else 'FAILED, an operator must act',
                    time.monotonic() - began)
        post(functools.partial(self._on_finished, outcome, rearmed))

    # --- progress (engine thread, given the engine) ---

    def _on_progress(self, host, step, status, engine):
        engine.recovery_progress(host, step, status)

    def _on_finished(self, outcome, rearmed, engine):
        host = outcome.host
        self._running.pop(host, None)
        self._retries.pop(host, None)
        with self._polls_lock:
            self._ended[outcome.recovery_id] = self._polls
        engine.recovery_progress(host, transitions.RECOVERY,
                                 journal_api.DONE if outcome.recovered
                                 else journal_api.FAILED)
        if not outcome.recovered and \
                engine.core.state_of(host) in st.IN_RECOVERY:
            LOG.error('Recovery of %s failed in state %s: %s', host,
                      engine.core.state_of(host),
                      outcome.refused or outcome.steps)
        if rearmed:
            self._rearms_done.add(outcome.recovery_id)
            self._rearm(engine, host, AUTO_REARM)

    def _alert_held(self, host, outcome):
        """Worker thread: one alert per fence window, however many hosts
        are held in it."""
        budget = getattr(self._flow, 'fence_budget', None)
        window = budget[1] if budget else 0.0
        now = time.monotonic()
        with self._budget_lock:
            if self._budget_alerted is not None and \
                    now - self._budget_alerted < window:
                return
            self._budget_alerted = now
        self.alerts.raise_alert(
            'fence_budget', 'fence budget spent: %s held, not fenced' % host,
            'Recovery of %s (incarnation %s) %s. Later hosts over budget '
            'in this window are held without another alert: see '
            '"freezer-dr-manage host held".' % (
                host, outcome.incarnation, outcome.refused), host=host)

    def _on_held(self, outcome, engine):
        # (The host stays dead in the core: an operator's release reopens
        # its recovery, which the poller resumes.)
        self._running.pop(outcome.host, None)
        self._retries.pop(outcome.host, None)
        with self._polls_lock:
            self._ended[outcome.recovery_id] = self._polls

    def _on_leadership_lost(self, why):
        """Leadership thread: this engine stopped leading for a reason of
        its own (not a stop)."""
        if not self._stop.is_set():
            self.alerts.raise_alert(
                'leadership_lost', 'this engine stopped leading',
                '%s. It acts no more until it is elected again; a standby '
                'takes over if one can reach the coordination backend.'
                % why)

    def _on_deposed(self, host, engine):
        # (The host stays under recovery in the core: the leader, or this
        # engine in its next term, recovers it.)
        self._running.pop(host, None)
        self._retries.pop(host, None)

    def _on_interrupted(self, host, incarnation, reason, engine):
        """The recovery of ``host`` stopped on an error (the journal
        unreachable, most likely): the decision is kept here and the
        recovery tried again after a backoff, for as long as the host
        stays under recovery, so that a dead host is never forgotten."""
        self._running.pop(host, None)
        if engine.core.state_of(host) not in st.IN_RECOVERY:
            self._retries.pop(host, None)
            return
        attempt = self._retries.get(host, 0) + 1
        self._retries[host] = attempt
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
        LOG.error('Recovery of %s NOT done (attempt %d): the decision is kept '
                  'in memory and tried again in %.0f s', host, attempt, delay)
        if attempt == 1:
            self.alerts.raise_alert(
                'decision_kept', 'recovery of %s waits for the journal'
                % host, 'Host %s was declared dead (%s) but its recovery '
                'could not be written to the journal. The decision is kept '
                'in this engine\'s memory and tried again with backoff until '
                'the journal takes it; nothing is fenced meanwhile.'
                % (host, reason), host=host)
        timer = threading.Timer(delay, self._post, args=(functools.partial(
            self._retry, host, incarnation, reason),))
        timer.daemon = True
        timer.start()

    def _retry(self, host, incarnation, reason, engine):
        if host in self._running or \
                engine.core.state_of(host) not in st.IN_RECOVERY:
            return
        self._start(host, incarnation, reason)

    @property
    def waiting(self):
        """Hosts whose recovery could not go on and waits to be tried
        again (engine thread)."""
        return sorted(self._retries)

    def _rearm(self, engine, host, by):
        decided = engine.recovery_step(host, 'rearm')
        if any(a.kind == act.STATE for a in decided):
            LOG.warning('Host %s re-armed by %s: back in service from its '
                        'next heartbeat', host, by)

    # --- the journal (poller thread, then engine thread) --------------------

    def _poll(self):
        # A change of leadership wakes the poller at once: a new leader
        # takes the journal's unfinished recoveries, and the hosts its core
        # holds dead, without waiting for the next poll.
        wake = self._stop if self._leadership is None else \
            self._leadership.changed
        while not self._stop.is_set():
            wake.wait(self._poll_interval)
            if self._stop.is_set():
                return
            if self._leadership is not None:
                wake.clear()
                self._follow_leadership()
            self._poll_once()

    def _follow_leadership(self):
        # (Epochs, not a yes/no: a step down and a re-election between two
        # looks is a new term all the same.)
        epoch = self._leadership.generation
        if epoch == self._led:
            return
        self._led = epoch
        if epoch is not None:
            # The journal first (what ended, what was re-armed meanwhile),
            # then the hosts still under recovery, each checked against its
            # latest recovery in the journal.
            self._poll_once()
            try:
                latest = self._journal.latest()
            except Exception as exc:
                LOG.error('Cannot read the journal: %s: %s; the hosts held '
                          'dead are recovered at the next election',
                          type(exc).__name__, exc)
                self._led = None
                return
            self._post(functools.partial(self._on_elected, latest))

    def _on_elected(self, latest, engine):
        """Engine thread: this engine now leads. The hosts its core holds
        under recovery and no recovery runs for (declared dead while a
        standby, or left when it stopped leading) are recovered now, unless
        the journal (``latest``: host -> latest recovery) says the recovery
        of that incarnation ended: then the core catches up instead, and a
        re-armed host goes back to service."""
        self._alert_storm()
        for host, incarnation in engine.core.under_recovery():
            if host in self._running or not self.owns(host):
                continue
            record = latest.get(host)
            if record is not None and record.status == journal_api.HELD:
                continue        # an operator releases it (whatever the
                # host said since: a held host is fenced only then)
            same = record is not None and incarnation is not None and \
                _boot(record.incarnation) == _boot(incarnation)
            if same and record.status != journal_api.RUNNING:
                engine.recovery_progress(host, transitions.RECOVERY,
                                         record.status)
                if record.rearmed_at is not None:
                    self._rearm(engine, host, record.rearmed_by or
                                'an operator')
                continue
            self._start(host, str(incarnation or 'unknown'), 'declared '
                        'dead while this engine did not lead')

    def _poll_once(self):
        with self._polls_lock:
            self._polls += 1
            number = self._polls
        journal = self._journal
        try:
            if not self._loaded:
                outstanding = journal.outstanding()
                mark = journal.last_rearmed_at()
                # (Those re-armed at the mark, to be told apart from later
                # ones at the same time.)
                rearmed = [] if mark is None else journal.rearmed_since(mark)
                self._rearm_mark = 0.0 if mark is None else mark
                ended = journal.last_finished_at()
                self._finished_mark = 0.0 if ended is None else ended
                self._post(functools.partial(self._on_loaded, outstanding,
                                             rearmed))
                self._loaded = True
                return
            unfinished = journal.unfinished()
            finished = journal.finished_since(self._finished_mark)
            rearmed = journal.rearmed_since(self._rearm_mark)
        except Exception as exc:
            self.journal_ok = False
            LOG.error('Cannot read the journal: %s: %s (trying again in '
                      '%.1f s)', type(exc).__name__, exc,
                      self._poll_interval)
            return
        self.journal_ok = True
        if rearmed:
            self._rearm_mark = rearmed[-1].rearmed_at
        if finished:
            self._finished_mark = finished[-1].updated_at
        self._post(functools.partial(self._on_polled, number, unfinished,
                                     rearmed, finished))

    def _on_loaded(self, outstanding, rearmed, engine):
        self._rearms_done.update(r.id for r in rearmed)
        for record in outstanding:
            if record.status == journal_api.RUNNING:
                self._resume(engine, record)
                continue
            if record.status == journal_api.HELD:
                # Dead here too, and left to an operator's release.
                engine.restore(record.host, 'recovery_resumed',
                               record.incarnation)
                LOG.error('Recovery of %s held over the fence budget: '
                          'waiting for "freezer-dr-manage host release %s"',
                          record.host, record.host)
                continue
            trigger = 'journal_recovered' if \
                record.status == journal_api.DONE else 'journal_failed'
            engine.restore(record.host, trigger, record.incarnation)
        LOG.info('Journal: %d recoveries not re-armed taken back',
                 len(outstanding))

    def _resume(self, engine, record):
        """A recovery running in the journal (left by a killed engine, or
        reopened by an operator) and not here: the core moves the host to
        ``dead`` if its table allows (or says why not, once per record);
        the recovery runs if the host is then under recovery."""
        host = record.host
        state = engine.core.state_of(host)
        if host in self._running or (record.id in self._noted and
                                     self._noted[record.id] == state):
            return
        if state in (None, st.UNKNOWN):
            engine.restore(host, 'recovery_resumed', record.incarnation)
        elif state == st.RECOVERY_FAILED:
            LOG.warning('Recovery %d of %s reopened by an operator: '
                        'running it again', record.id, host)
            engine.recovery_step(host, 'retry')
        elif state not in st.IN_RECOVERY:
            # (The core says why it is not resumed: the host is up, or in
            # maintenance, here.)
            engine.restore(host, 'recovery_resumed', record.incarnation)
        if engine.core.state_of(host) not in st.IN_RECOVERY:
            # Not asked again while the host stays in this state.
            self._noted[record.id] = engine.core.state_of(host)
            return
        self._start(host, record.incarnation, record.reason)

    def _follow_finished(self, engine, record):
        """A recovery that ended in the journal, not run here (a standby
        follows the leader's, a new leader those of the engine before it):
        the core moves the host to ``recovered`` or ``recovery_failed``
        when it holds it under recovery for that incarnation, so that it
        is never recovered again, and an operator's re-arm applies here
        too."""
        key = (record.id, record.status, record.updated_at)
        if key in self._finished_seen or record.id in self._ended or \
                record.host in self._running:
            return
        host = record.host
        if engine.core.state_of(host) not in st.IN_RECOVERY:
            # Not declared dead here yet (the leader was faster): looked
            # at again at the next polls.
            self._finished_pending[host] = record
            return
        self._finished_seen.add(key)
        self._finished_pending.pop(host, None)
        declared = engine.core.declared(host)
        if declared is not None and _boot(declared) != _boot(
                record.incarnation):
            return      # an older death: this one is still to recover
        LOG.info('Recovery %d of %s %s in the journal (by the leader)',
                 record.id, host, record.status)
        engine.recovery_progress(host, transitions.RECOVERY, record.status)

    def _on_polled(self, number, unfinished, rearmed, finished, engine):
        for record in unfinished:
            if number > self._ended.get(record.id, 0):
                # (Otherwise read before it ended here: stale.)
                self._resume(engine, record)
        for record in list(self._finished_pending.values()) + finished:
            self._follow_finished(engine, record)
        for record in rearmed:
            if record.id in self._rearms_done:
                continue
            self._rearms_done.add(record.id)
            if record.host in self._running:
                LOG.warning('Host %s re-armed while a recovery of it is '
                            'under way: ignored', record.host)
                continue
            self._rearm(engine, record.host, record.rearmed_by or
                        'an operator')


def _is_database_error(exc):
    """A database error (its message says it all: no traceback)."""
    return type(exc).__module__.startswith(('sqlalchemy', 'psycopg',
                                            'pymysql', 'sqlite3'))


def _boot(incarnation):
    """The boot id of an incarnation (``<boot id>~2`` is its second
    recovery)."""
    return str(incarnation).split('~')[0]
