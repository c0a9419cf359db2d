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

"""The engine: the imperative shell around the liveness core.

One thread (``Engine.run``) owns the core. Consumer threads hand it parsed
events through :meth:`Engine.deliver`; the engine thread applies them in
arrival order, advances the core's clock every ``tick_interval``, tells the
core when the engine goes deaf or hears again (from the canary of the
heartbeat consumer), and hands every decision to the runner:
freezer_dr.recovery.runner.RecoveryRunner recovers the hosts declared dead
(in worker threads of its own), :class:`DryRunRunner` (``[engine]
dry_run``) only logs what it would do, marked "DRY RUN".

Wiring, in this order, with nothing set after the fact: a :class:`Mailbox`
first (the consumers deliver into it, the runner posts into it), then the
consumers, the runner, and the engine given all of them. Other threads
reach the core only through :meth:`Mailbox.post`: the callables they post
run on the engine thread, given the engine, before the events of the same
pass.
"""

import collections
import concurrent.futures
import heapq
import itertools
import json
import logging
import queue
import threading
import time

from freezer_dr import bus
from freezer_dr import clock as clock_module
from freezer_dr import events
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import core as liveness_core

LOG = logging.getLogger(__name__)

# The core's time runs SETTLE seconds behind the engine's clock, and the
# events received up to then are applied in the order they were received
# (whichever worker or listener received them), then the timers: exactly
# what a replay of the recording does.
SETTLE = 0.1
# Batches taken from the inbox per pass, so that a flood of messages cannot
# keep the clock, the deafness check and the statistics from running.
MAX_BATCHES_PER_PASS = 200


class DryRunRunner:
    """Carries out nothing: logs every decision, clearly marked. Given a
    ``journal``, notes each host declared dead there (``declarations``),
    from a thread of its own: the one-shot command's ``heartbeat`` monitor
    recovers them (detection here, recovery by ``freezer-dr``)."""

    def __init__(self, journal=None, name='engine'):
        self._journal = journal
        self._name = name
        self._writer = None
        #: Whether the last declaration reached the journal (None: none
        #: written, or no journal).
        self.journal_ok = None
        if journal is not None:
            self._writer = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix='declarations')

    def start(self):
        LOG.warning('[engine] dry_run: nobody will be recovered%s',
                    ' (the hosts declared dead are written to the journal '
                    'for freezer-dr\'s heartbeat monitor)' if self._journal
                    else '')

    def stop(self, wait=0.0):
        if self._writer is not None:
            self._writer.shutdown(wait=False)

    def _declare(self, host, incarnation, reason):
        try:
            self._journal.declare(host, incarnation, reason, self._name)
        except Exception as exc:
            self.journal_ok = False
            LOG.error('Host %s declared dead was NOT written to the '
                      'journal: %s: %s', host, type(exc).__name__,
                      str(exc).splitlines()[0] if str(exc) else '')
            return
        self.journal_ok = True
        LOG.info('Host %s (incarnation %s) written to the journal\'s '
                 'declarations', host, incarnation)

    def carry_out(self, action):
        host = action.host or '-'
        if action.kind == act.DECLARE_DEAD:
            LOG.warning('DRY RUN: host %s declared dead (%s). [engine] '
                        'dry_run is set: it is not fenced, isolated, '
                        'evacuated nor notified.', host, action.reason)
            if self._writer is not None:
                details = dict(action.details)
                self._writer.submit(self._declare, action.host,
                                    details.get('boot_id') or 'unknown',
                                    action.reason)
        elif action.kind == act.ALERT_STORM:
            LOG.error('DRY RUN: storm guard: %s. Automatic recovery would '
                      'stop.', action.reason)
        elif action.kind in (act.SUSPECT, act.HELD, act.BUS_DOWN,
                             act.NOVA_DISAGREES, act.REFUSED):
            LOG.warning('%s %s: %s', action.kind, host, action.reason)
        else:
            LOG.info('%s %s: %s', action.kind, host, action.reason)


class EngineCounters:
    def __init__(self):
        self.events = 0
        self.malformed = 0
        self.actions = 0
        self.refused = {}
        # Events received before others already applied (a worker's batch
        # arriving more than SETTLE late): applied at the core's time.
        self.late = 0

    def refuse(self, reason):
        count = self.refused.get(reason, 0) + 1
        self.refused[reason] = count
        return count


#: Batches of events waiting for the engine thread, at most (a batch is
#: what one consumer took at once: up to a few hundred messages).
MAX_QUEUED_BATCHES = 2000


class HeardHosts:
    """When each host's latest admitted heartbeat was received (wall
    clock) and with which boot id: written by the engine thread, read by
    the recovery workers (is a host that was fenced still speaking?)."""

    def __init__(self):
        self._last = {}

    def record(self, host, boot_id, at):
        self._last[host] = (boot_id, at)

    def since(self, host, when):
        """``(boot_id, at)`` of ``host``'s latest heartbeat if it was
        received at or after ``when``; otherwise None."""
        entry = self._last.get(host)
        if entry is None or entry[1] < when:
            return None
        return entry


class Mailbox:
    """What other threads hand the engine thread: parsed events (from the
    consumers) and work (from the runner). Made before both, so that
    neither needs the engine to exist."""

    def __init__(self, admission=None, max_batches=MAX_QUEUED_BATCHES):
        """:param admission: a :class:`~freezer_dr.bus.Admission`: which
        heartbeats and maintenance messages count (None: all)."""
        self.counters = EngineCounters()
        self.admission = admission
        self.heard = HeardHosts()
        # Bounded: a consumer that hands over more than the engine thread
        # applies waits (back-pressure): its messages stay with the broker,
        # nothing grows without bound here.
        self.events = queue.Queue(maxsize=max_batches)
        self.work = queue.SimpleQueue()

    def deliver(self, batch):
        """Sink for the heartbeat consumer (any thread): parse, admit,
        then queue."""
        parsed = bus.parse_batch(batch, self.counters, self.admission,
                                 bus.HEARTBEAT_TYPES)
        if parsed:
            self.events.put(parsed)

    def deliver_nova(self, batch):
        """Sink for the nova listener (any thread): nova's service events
        only."""
        parsed = bus.parse_batch(batch, self.counters, None, bus.NOVA_TYPES)
        if parsed:
            self.events.put(parsed)

    def deliver_events(self, parsed):
        """Sink for events already parsed (by the heartbeat workers)."""
        self.events.put(parsed)

    def post(self, work):
        """Run ``work(engine)`` on the engine thread (from any thread)."""
        self.work.put(work)


#: Seconds between two snapshots published to the metrics.
SNAPSHOT_INTERVAL = 1.0
#: Seconds after start by which the first canary must have come back, or
#: the engine is deaf.
FIRST_CANARY_WITHIN = 10.0
#: Seconds between two wake-ups of the starvation probe.
PROBE_INTERVAL = 0.05
#: A wake-up of the probe this much later than it asked: the engine's
#: process could not run meanwhile (a stall).
STALL_AFTER = 0.25
#: Seconds between two log lines about late canaries the engine's own
#: starvation explained.
STARVED_REPORT_INTERVAL = 60.0


class StarvationProbe:
    """Whether the engine's own process can run: a thread asks to wake
    every ``interval`` seconds; a wake-up ``stall_after`` seconds late or
    more is a stall of the process (starved of CPU by a busy machine, or
    of the interpreter lock), ``(due, woke)`` on ``clock`` (monotonic).
    The engine thread takes them (:meth:`take`) with, while the probe is
    overdue, the stall under way so far: after a stall, the engine thread
    may run before the probe does."""

    def __init__(self, interval=PROBE_INTERVAL, stall_after=STALL_AFTER,
                 clock=time.monotonic):
        self.clock = clock
        self._interval = interval
        self._stall_after = stall_after
        self._stalls = collections.deque()
        self._due = None
        self._stop = threading.Event()
        #: Whether something wakes it (its thread, or a test).
        self.watching = False

    def start(self):
        self._due = self.clock() + self._interval
        self.watching = True
        threading.Thread(target=self._run, name='starvation-probe',
                         daemon=True).start()

    def stop(self):
        self._stop.set()

    def _run(self):
        while not self._stop.wait(max(self._due - self.clock(), 0.0)):
            self.woke(self.clock())

    def woke(self, now):
        """The probe woke at ``now`` (its thread, or a test)."""
        if self._due is not None and now - self._due >= self._stall_after:
            self._stalls.append((self._due, now))
        self._due = now + self._interval
        self.watching = True

    def take(self, now=None):
        """The stalls measured since the last call, oldest first; the
        one under way, so far, last."""
        found = []
        stalls = self._stalls
        while stalls:
            found.append(stalls.popleft())
        due = self._due
        if self.watching and due is not None:
            now = self.clock() if now is None else now
            if now - due >= self._stall_after:
                found.append((due, now))
        return found


class Engine:
    """Bus → liveness core → runner, on one thread."""

    def __init__(self, settings, runner, mailbox, deaf_after, hearing,
                 sources=(), decisions_file=None, tick_interval=0.1,
                 stats_interval=60.0, clock=clock_module.now,
                 leadership=None, metrics=None, name=None,
                 first_canary_within=None, probe=None):
        """
        :param mailbox: the :class:`Mailbox` the consumers and the runner
            were given.
        :param hearing: callable returning the seconds since the engine last
            heard its own canary (None until the first one): the engine is
            deaf when that is more than ``deaf_after``.
        :param sources: objects with a ``counters`` attribute
            (bus.Counters), whose counts the statistics line reports too.
        :param leadership: a :class:`~freezer_dr.coordination.Leadership`:
            the decisions a standby writes are marked ``"standby": true``.
        :param metrics: a :class:`~freezer_dr.metrics.Metrics` the engine
            publishes its :meth:`snapshot` to once a second.
        :param name: this engine's name in the snapshot (its pool or
            coordination member id).
        :param first_canary_within: seconds after this is made by which
            the first canary must have come back, or the engine is deaf (one
            that never reached its broker); until it comes back nobody is
            declared dead. None: no limit, and the bus taken as heard from
            the start.
        :param probe: the :class:`StarvationProbe` telling when the
            engine's own process could not run (None: one of its own,
            started by :meth:`run`). The canary's silence does not count
            that time, and neither does any host's (the core's
            ``starved``): a late canary the engine's own starvation
            explains is not a lost bus.
        """
        # (An engine that waits for its first canary declares nobody
        # before it comes back: a host heard from the queue's backlog just
        # before the broker went away would otherwise be declared dead
        # before the engine knew it was deaf.)
        self.core = liveness_core.LivenessCore(
            settings, bus_confirmed=first_canary_within is None)
        self._metrics = metrics
        self._name = name
        self.counters = mailbox.counters
        self._runner = runner
        self._leadership = leadership
        #: Called (engine thread) when the core asks nova's API to confirm
        #: what a nova event on the bus said (the inventory's poll_soon).
        self.ask_nova = None
        self._shares_hosts = hasattr(leadership, 'known')
        self._known_version = None
        self._probe = probe if probe is not None else StarvationProbe()
        self._hearing = bus.Hearing(hearing, deaf_after,
                                    first_within=first_canary_within,
                                    clock=self._probe.clock)
        self._excused_reported = 0
        self._next_starved_report = float('-inf')
        self._sources = tuple(sources)
        self._tick = tick_interval
        self._stats_interval = stats_interval
        self._clock = clock
        self._inbox = mailbox.events
        self._heard = mailbox.heard
        self._posted = mailbox.work
        # Events waiting for the horizon, as (received_at, order, event).
        self._pending = []
        self._order = itertools.count()
        self._applied = float('-inf')
        self._decisions = open(decisions_file, 'a', encoding='utf-8') \
            if decisions_file else None
        # The core's time as of the last pass (posted work is stamped so).
        self._horizon = clock() - SETTLE

    def recovery_progress(self, host, step, status):
        """Engine thread: a recovery's progress, for the core to move the
        host along its table (core.recovery_progress); return the decisions
        (each written and carried out)."""
        return self._carry_out(self.core.recovery_progress(
            host, step, status, self._horizon))

    def recovery_step(self, host, trigger):
        """Engine thread: an operator's (or the journal's) trigger for
        ``host`` (core.recovery_step); return the decisions."""
        return self._carry_out(self.core.recovery_step(host, trigger,
                                                       self._horizon))

    def restore(self, host, trigger, boot_id=None):
        """Engine thread: take back a host the journal holds
        (core.restore); return the decisions."""
        return self._carry_out(self.core.restore(host, trigger,
                                                 self._horizon, boot_id))

    def run(self, stop):
        """Run until the ``stop`` event is set."""
        next_stats = time.monotonic() + self._stats_interval
        next_snapshot = time.monotonic()
        if not self._probe.watching:
            self._probe.start()
        while not stop.is_set():
            self.run_once(self._tick)
            now = time.monotonic()
            if now >= next_stats:
                next_stats = now + self._stats_interval
                self.log_stats()
            if self._metrics is not None and now >= next_snapshot:
                next_snapshot = now + SNAPSHOT_INTERVAL
                self._metrics.publish(self.snapshot())
        self._probe.stop()
        self.close()

    def _counts(self):
        """Messages received, and dropped by reason (every source)."""
        counters = [s.counters for s in self._sources]
        dropped = {}
        for reason, count in self.counters.refused.items():
            dropped[reason] = dropped.get(reason, 0) + count
        if self.core.jumps_refused:
            dropped['sequence jump'] = self.core.jumps_refused
        if self.core.unknown_refused:
            dropped['unknown host'] = self.core.unknown_refused
        for c in counters:
            for reason, count in getattr(c, 'refused', {}).items():
                dropped[reason] = dropped.get(reason, 0) + count
        undecodable = sum(c.undecodable for c in counters)
        malformed = self.counters.malformed + sum(c.malformed
                                                  for c in counters)
        if undecodable:
            dropped['undecodable'] = undecodable
        if malformed:
            dropped['malformed'] = malformed
        return sum(c.received for c in counters), dropped

    def snapshot(self):
        """What the metrics, the health check and ``freezer-dr-manage host
        list`` show (engine thread): every host as the core reports it, with
        whether this engine leads for it, the messages received and
        dropped, hearing, journal and leadership."""
        leadership = self._leadership
        hosts = self.core.report(self._horizon)
        if leadership is None:
            role = 'leader'
            for host in hosts:
                host['leads'] = True
        else:
            owns = leadership.owns
            for host in hosts:
                host['leads'] = bool(owns(host['host']))
            if self._shares_hosts:
                role = 'leader' if any(h['leads'] for h in hosts) or \
                    leadership.leads() else 'standby'
            else:
                role = 'leader' if leadership.leads() else 'standby'
        received, dropped = self._counts()
        return {
            'engine': self._name,
            'role': role,
            'hosts': hosts,
            'received': received,
            'dropped': dropped,
            'bus_heard': self.core.bus_connected,
            'bus_confirmed': self.core.bus_confirmed,
            'journal_ok': getattr(self._runner, 'journal_ok', None),
            'waiting': list(getattr(self._runner, 'waiting', ())),
            'coordination_ok': getattr(leadership, 'backend_ok', None),
        }

    def run_once(self, timeout=0.0):
        """One pass: take what arrived (waiting up to ``timeout``), check
        hearing, apply the events up to the horizon in the order they were
        received, let the core's time reach the horizon."""
        inbox = self._inbox
        pending = self._pending
        order = self._order
        self._run_posted()
        try:
            batch = inbox.get(timeout=timeout) if timeout else \
                inbox.get_nowait()
        except queue.Empty:
            batch = None
        taken = 0
        while batch is not None:
            for event in batch:
                heapq.heappush(pending,
                               (event.received_at, next(order), event))
            taken += 1
            if taken >= MAX_BATCHES_PER_PASS:
                break
            try:
                batch = inbox.get_nowait()
            except queue.Empty:
                batch = None
        self._check_hearing()
        horizon = self._clock() - SETTLE
        self._apply_until(horizon)
        self._carry_out(self.core.advance(horizon))
        self._horizon = max(horizon, self._horizon)
        if self._shares_hosts and \
                self.core.hosts_version != self._known_version:
            # (Engines sharing the hosts: the hosts to share.)
            self._known_version = self.core.hosts_version
            self._leadership.known = frozenset(self.core.states())

    def _run_posted(self):
        posted = self._posted
        while True:
            try:
                work = posted.get_nowait()
            except queue.Empty:
                return
            try:
                work(self)
            except Exception:
                LOG.exception('Posted work %r failed', work)

    def _apply_until(self, horizon):
        pending = self._pending
        step = self.core.step
        heard = self._heard.record
        applied = self._applied
        while pending and pending[0][0] <= horizon:
            received_at, _, event = heapq.heappop(pending)
            if received_at < applied:
                self.counters.late += 1
            else:
                applied = received_at
            self.counters.events += 1
            if type(event) is events.Heartbeat:
                heard(event.host, event.boot_id, received_at)
            decided = step(event, received_at)
            if decided:
                self._carry_out(decided)
        self._applied = applied

    def close(self):
        if self._decisions is not None:
            self._decisions.close()
            self._decisions = None

    def log_stats(self):
        states = {}
        for state in self.core.states().values():
            states[state] = states.get(state, 0) + 1
        received, refused = self._counts()
        undecodable = refused.pop('undecodable', 0)
        malformed = refused.pop('malformed', 0)
        waiting = getattr(self._runner, 'waiting', ())
        LOG.info('Engine: %d messages received, %d undecodable and %d '
                 'malformed dropped, %d refused (%s), %d events (%d late), '
                 '%d decisions; hosts: %s; bus %s; %d recoveries waiting '
                 'for the journal%s', received, undecodable, malformed,
                 sum(refused.values()), ', '.join(
                     '%s %d' % item for item in sorted(refused.items()))
                 or 'none',
                 self.counters.events, self.counters.late,
                 self.counters.actions,
                 ', '.join('%d %s' % (n, s) for s, n in sorted(
                     states.items())) or 'none',
                 'heard' if self.core.bus_connected else 'DEAF'
                 if self.core.bus_confirmed else
                 'not heard yet (its first canary is not back)',
                 len(waiting), ' (%s)' % ', '.join(waiting) if waiting
                 else '')
        if self.core.starved_count:
            LOG.info('Engine: its process was starved %d times (%.1f s in '
                     'all), which explained %d late canaries (not taken for '
                     'a lost bus)', self.core.starved_count,
                     self.core.starved_seconds, self._hearing.excused)

    def _check_hearing(self):
        hearing = self._hearing
        stalls = self._probe.take()
        if stalls:
            # (On the core's clock: the engine's, not the probe's.)
            offset = self._clock() - self._probe.clock()
            for start, end in stalls:
                told = hearing.stalled(start, end)
                if told is not None:
                    self._carry_out(self.core.starved(
                        told[0] + offset, told[1] + offset, self._horizon))
        connected = hearing.change()
        if hearing.excused != self._excused_reported:
            self._report_excused()
        if connected is None:
            return
        now = self._clock()
        heapq.heappush(self._pending, (now, next(self._order),
                                       events.BusStatus(now, connected)))

    def _report_excused(self):
        now = self._probe.clock()
        if now < self._next_starved_report:
            return
        self._next_starved_report = now + STARVED_REPORT_INTERVAL
        LOG.warning('The canary came back late %d times (%d since the last '
                    'report), and each time the engine\'s own process had '
                    'been starved of CPU as long: not taken for a lost bus '
                    '(hosts are given the time the engine could not run, '
                    'not [liveness] bus_recovery_grace)',
                    self._hearing.excused,
                    self._hearing.excused - self._excused_reported)
        self._excused_reported = self._hearing.excused

    def _carry_out(self, decided):
        for action in decided:
            self.counters.actions += 1
            if action.kind == act.ASK_NOVA and self.ask_nova is not None:
                self.ask_nova()
            if self._decisions is not None:
                decision = action.as_dict()
                if self._leadership is not None and \
                        not self._leadership.owns(action.host):
                    decision['standby'] = True
                self._decisions.write(act.format_json(decision) + '\n')
                self._decisions.flush()
            try:
                self._runner.carry_out(action)
            except Exception:
                LOG.exception('Carrying out %s for %s failed', action.kind,
                              action.host)
        return decided


def decisions_from_file(path):
    """The decisions an engine wrote to its decisions file."""
    with open(path, encoding='utf-8') as lines:
        return [json.loads(line) for line in lines if line.strip()]
