"""Running recoveries for the engine: a bounded pool of worker threads,
progress reported back to the engine's thread, the journal polled for what
operators did.

Threads and what they may touch:

* the engine thread owns the liveness core. It calls :meth:`carry_out` for
  every decision and runs every callable handed to ``engine.post`` (the
  only way the other threads reach the core): starting a recovery, moving
  the host along the transition table, re-arming it.
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
import importlib
import logging
import threading
import time

from freezer_dr import drivers
from freezer_dr.journal import api as journal_api
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import states as st
from freezer_dr.liveness import transitions
from freezer_dr.recovery import workflow

LOG = logging.getLogger(__name__)

# How each step's progress moves the host along the transition table. A
# trigger the host's state does not allow is passed over (a resumed recovery
# is told "done" of steps it finished before the restart, and catches up).
_TRIGGERS = {
    (workflow.FENCE, workflow.STARTED): ('fence_started',),
    (workflow.FENCE, journal_api.DONE): ('fence_started', 'fence_confirmed'),
    (workflow.FENCE, journal_api.FAILED): ('fence_started', 'fence_failed'),
    (workflow.ISOLATE, journal_api.FAILED): ('isolation_failed',),
    (workflow.EVACUATE, workflow.STARTED): ('evacuation_started',),
    (workflow.EVACUATE, journal_api.DONE): ('evacuation_started',
                                            'evacuation_done'),
    (workflow.EVACUATE, journal_api.FAILED): ('evacuation_started',
                                              'evacuation_failed'),
}
_RECOVERED = ('fence_started', 'fence_confirmed', 'evacuation_started',
              'evacuation_done')
AUTO_REARM = 'auto_rearm'


def load_driver(namespace, name, conf):
    """Driver ``name`` of ``namespace`` built with ``conf=conf``; a name
    ``package.module:Class`` is imported instead (plugins that are not
    installed, such as the test drivers under tests/).

    :raises drivers.DriverNotFound: saying why.
    """
    if ':' not in name:
        return drivers.load(namespace, name, conf=conf)
    module, _, attribute = name.partition(':')
    try:
        return getattr(importlib.import_module(module), attribute)(conf=conf)
    except Exception as exc:
        raise drivers.DriverNotFound('the %s driver %r cannot be loaded: '
                                     '%s: %s' % (namespace, name,
                                                 type(exc).__name__, exc)
                                     ) from exc


def build_workflow(conf, journal):
    """The Workflow that ``[recovery]`` describes.

    The isolate step (nova force-down and disable) comes from the
    evacuator: when ``[recovery] isolate`` is true and the evacuator has an
    ``isolate(host)`` method returning a StepResult, that method is the
    step; otherwise the step is skipped, and the journal says why.

    :raises drivers.DriverNotFound: for a driver that cannot be loaded.
    """
    rc = conf.recovery
    fencer = load_driver(drivers.FENCERS, rc.fencer, conf)
    evacuator = load_driver(drivers.EVACUATORS, rc.evacuator, conf)
    notifiers = {name: load_driver(drivers.NOTIFIERS, name, conf)
                 for name in rc.notifiers}
    isolate = getattr(evacuator, 'isolate', None) if rc.isolate else None
    if rc.isolate and not callable(isolate):
        LOG.warning('[recovery] isolate is set but the evacuator %s has no '
                    'isolate method: hosts are not forced down in nova',
                    rc.evacuator)
        isolate = None
    if rc.unfenced_evacuation_hosts:
        LOG.warning('[recovery] unfenced_evacuation_hosts overrides safety '
                    'rule 1 for: %s', ', '.join(rc.unfenced_evacuation_hosts))
    return workflow.Workflow(
        journal, fencer, evacuator, notifiers, isolate=isolate,
        unfenced_evacuation=rc.unfenced_evacuation_hosts,
        step_attempts=rc.step_attempts, step_retry_delay=rc.step_retry_delay)


class RecoveryRunner:
    """Carries out the core's decisions: recovers the hosts declared
    dead."""

    def __init__(self, flow, journal, max_parallel=4, poll_interval=2.0,
                 auto_rearm=False):
        self._flow = flow
        self._journal = journal
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_parallel, thread_name_prefix='recovery')
        self._poll_interval = poll_interval
        self._auto_rearm = auto_rearm
        self._engine = None
        # Engine thread only: host -> incarnation of the recovery under way.
        self._running = {}
        # Engine thread only: journal ids already acted upon or reported.
        self._rearms_done = set()
        self._noted = set()
        # Engine thread only: recovery id -> number of the last poll that
        # may have read it before it ended (a later one is not stale).
        self._ended = {}
        self._polls_lock = threading.Lock()
        self._polls = 0
        # Poller thread only.
        self._loaded = False
        self._rearm_mark = None
        self._stop = threading.Event()
        self._poller = None

    # --- wiring (main thread) ---

    def attach(self, engine):
        """``engine`` has ``post(callable)``, ``core`` and
        ``recovery_step(host, trigger)`` / ``restore(...)``."""
        self._engine = engine

    def start(self):
        """Take back what the journal holds (before the consumers start, so
        that a host under recovery is not first seen as up), then poll."""
        self._poll_once()
        self._poller = threading.Thread(target=self._poll, daemon=True,
                                        name='journal-poller')
        self._poller.start()

    def stop(self):
        """Stop polling; recoveries under way finish their current run
        (the journal stays whole), queued ones are cancelled and resumed by
        the next engine."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

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
        elif action.kind == act.STATE:
            LOG.warning('Host %s: %s', host, action.reason)
        elif action.kind in (act.SUSPECT, act.HELD, act.BUS_DOWN,
                             act.NOVA_DISAGREES, act.REFUSED):
            LOG.warning('%s %s: %s', action.kind, host, action.reason)
        else:
            LOG.info('%s %s: %s', action.kind, host, action.reason)

    def _start(self, host, incarnation, reason):
        if host in self._running:
            LOG.info('Recovery of %s: already under way (incarnation %s)',
                     host, self._running[host])
            return
        self._running[host] = incarnation
        LOG.warning('Recovery of %s (incarnation %s) starts: %s', host,
                    incarnation, reason)
        self._pool.submit(self._work, host, incarnation, reason)

    # --- workers ---

    def _work(self, host, incarnation, reason):
        post = self._engine.post
        began = time.monotonic()
        try:
            outcome = self._flow.run(
                host, incarnation, reason,
                progress=lambda step, status: post(functools.partial(
                    self._on_progress, host, step, status)))
            rearmed = False
            if outcome.recovered and self._auto_rearm:
                rearmed = self._journal.rearm(outcome.recovery_id,
                                              AUTO_REARM)
        except Exception as exc:
            LOG.exception('Recovery of %s (incarnation %s) interrupted after '
                          '%.1f s; it is resumed from the journal', host,
                          incarnation, time.monotonic() - began)
            post(functools.partial(self._on_interrupted, host, exc))
            return
        LOG.warning('Recovery of %s (incarnation %s): %s in %.1f s', host,
                    outcome.incarnation, 'RECOVERED' if outcome.recovered
                    else 'FAILED, an operator must act',
                    time.monotonic() - began)
        post(functools.partial(self._on_finished, outcome, rearmed))

    # --- progress (engine thread) ---

    def _on_progress(self, host, step, status):
        self._follow(host, _TRIGGERS.get((step, status), ()))

    def _follow(self, host, triggers):
        for trigger in triggers:
            state = self._engine.core.state_of(host)
            if state is not None and transitions.allowed(state, trigger):
                self._engine.recovery_step(host, trigger)

    def _on_finished(self, outcome, rearmed):
        host = outcome.host
        self._running.pop(host, None)
        with self._polls_lock:
            self._ended[outcome.recovery_id] = self._polls
        state = self._engine.core.state_of(host)
        if outcome.recovered and state != st.RECOVERED:
            self._follow(host, _RECOVERED)
        elif not outcome.recovered and state in st.IN_RECOVERY:
            self._follow(host, ('recovery_refused',))
            if self._engine.core.state_of(host) in st.IN_RECOVERY:
                LOG.error('Recovery of %s failed in state %s: %s', host,
                          state, outcome.refused or outcome.steps)
        if rearmed:
            self._rearms_done.add(outcome.recovery_id)
            self._rearm(host, AUTO_REARM)

    def _on_interrupted(self, host, exc):
        self._running.pop(host, None)

    def _rearm(self, host, by):
        state = self._engine.core.state_of(host)
        if state is None or not transitions.allowed(state, 'rearm'):
            LOG.warning('Host %s re-armed by %s in the journal; the engine '
                        'has it in state %s: nothing to do', host, by, state)
            return
        LOG.warning('Host %s re-armed by %s: back in service from its next '
                    'heartbeat', host, by)
        self._engine.recovery_step(host, 'rearm')

    # --- the journal (poller thread, then engine thread) --------------------

    def _poll(self):
        while not self._stop.wait(self._poll_interval):
            self._poll_once()

    def _poll_once(self):
        with self._polls_lock:
            self._polls += 1
            number = self._polls
        try:
            if not self._loaded:
                outstanding = self._journal.outstanding()
                mark = self._journal.last_rearmed_at()
                # (Those re-armed at the mark, to be told apart from later
                # ones at the same time.)
                rearmed = [] if mark is None else \
                    self._journal.rearmed_since(mark)
                self._rearm_mark = 0.0 if mark is None else mark
                self._engine.post(functools.partial(self._on_loaded,
                                                    outstanding, rearmed))
                self._loaded = True
                return
            unfinished = self._journal.unfinished()
            rearmed = self._journal.rearmed_since(self._rearm_mark)
        except Exception as exc:
            LOG.error('Cannot read the journal: %s: %s (trying again in '
                      '%.1f s)', type(exc).__name__, exc,
                      self._poll_interval)
            return
        if rearmed:
            self._rearm_mark = rearmed[-1].rearmed_at
        self._engine.post(functools.partial(self._on_polled, number,
                                            unfinished, rearmed))

    def _on_loaded(self, outstanding, rearmed):
        self._rearms_done.update(r.id for r in rearmed)
        for record in outstanding:
            if record.status == journal_api.RUNNING:
                self._resume(record)
                continue
            trigger = 'journal_recovered' if \
                record.status == journal_api.DONE else 'journal_failed'
            self._restore(record, trigger)
        LOG.info('Journal: %d recoveries not re-armed taken back',
                 len(outstanding))

    def _restore(self, record, trigger):
        try:
            self._engine.restore(record.host, trigger, record.incarnation)
            return True
        except transitions.InvalidTransition:
            if (record.id, trigger) not in self._noted:
                self._noted.add((record.id, trigger))
                LOG.error('Recovery %d of %s in the journal (%s) cannot be '
                          'taken back: the host is %s', record.id,
                          record.host, record.status,
                          self._engine.core.state_of(record.host))
            return False

    def _resume(self, record):
        host = record.host
        if host in self._running:
            return
        state = self._engine.core.state_of(host)
        if state in (None, st.UNKNOWN):
            if not self._restore(record, 'recovery_resumed'):
                return
        elif state == st.RECOVERY_FAILED:
            LOG.warning('Recovery %d of %s reopened by an operator: '
                        'running it again', record.id, host)
            self._engine.recovery_step(host, 'retry')
        elif state not in st.IN_RECOVERY:
            if record.id not in self._noted:
                self._noted.add(record.id)
                LOG.error('Recovery %d of %s is running in the journal but '
                          'the host is %s here: not resumed', record.id,
                          host, state)
            return
        self._start(host, record.incarnation, record.reason)

    def _on_polled(self, number, unfinished, rearmed):
        for record in unfinished:
            if number > self._ended.get(record.id, 0):
                # (Otherwise read before it ended here: stale.)
                self._resume(record)
        for record in rearmed:
            if record.id in self._rearms_done:
                continue
            self._rearms_done.add(record.id)
            if record.host in self._running:
                LOG.warning('Host %s re-armed while a recovery of it is '
                            'under way: ignored', record.host)
                continue
            self._rearm(record.host, record.rearmed_by or 'an operator')
