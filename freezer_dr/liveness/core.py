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

"""The liveness core: every host's state, advanced by events and time.

Everything that decides whether a host is alive lives in this module, and
this module knows nothing of sockets, threads, configuration files or the
wall clock: callers pass the time in. ``step(event, now)`` first runs every
timer due up to ``now`` (each at its own due time), then applies the event,
and returns the list of :class:`~freezer_dr.liveness.actions.Action` it
decided. ``advance(now)`` only runs the timers. A live engine and a replay of
its recording therefore make the same decisions, stamped with the same
times.

Cost model: a heartbeat costs a dictionary look-up, one update of the
host's interval history and a comparison; the per-host timer is rescheduled
lazily (one heap entry per host, re-pushed only when it falls due while the
host kept heartbeating), so following 50,000 hosts costs no scan.
"""

import bisect
import heapq
import itertools

from freezer_dr import events
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import detectors
from freezer_dr.liveness import states as st
from freezer_dr.liveness import storm
from freezer_dr.liveness import transitions

# Kinds of timer, in the order they run when due at the same time.
_OVERDUE = 0
_GRACE = 1
_STORM_EXPIRY = 2
_STARTUP = 3

_NOTHING = ()

NOVA_COMPUTE = 'nova-compute'

# requested_by of the maintenance the agent announces on a planned shutdown.
AGENT = 'freezer-dr-agent'

# Heartbeats a host may have sent beyond what the time elapsed explains
# (clock jitter, a burst after a stall) before a jump is refused.
MAX_SEQUENCE_SLACK = 100

# The incarnation of a host declared dead without ever being heard (no
# boot id): whatever it says later, its recovery is this one.
UNHEARD = 'unknown'

# The agent numbers its heartbeats from 1 each time it starts: a sequence
# number this low, below the last one seen on the same boot, is a restarted
# agent, not a stale heartbeat.
AGENT_RESTART_SEQUENCE = 2

# Seconds for which the core remembers when the engine was starved (a
# host's silence is never that long without a decision about it).
STARVED_MEMORY = 3600.0
# Stalls of the engine this close (seconds) are one: the engine tells a
# stall while it lasts, then again once over.
STARVED_JOIN = 0.01


class _Host:
    """What the core knows of one host."""

    __slots__ = ('name', 'state', 'boot_id', 'sequence', 'last_heard',
                 'deadline', 'scheduled', 'history', 'suspect_since',
                 'nova_down', 'skip_interval', 'noted', 'maintenance_by',
                 'declared', 'expected_since', 'nova_state', 'unheard',
                 'counted_from', 'extended')

    def __init__(self, name):
        self.name = name
        self.state = st.UNKNOWN
        self.boot_id = None
        self.sequence = None
        self.last_heard = None
        self.deadline = None
        # Due time of this host's one live timer (overdue while UP, grace
        # while SUSPECT), or None.
        self.scheduled = None
        self.history = None
        self.suspect_since = None
        self.nova_down = False
        # The next interval spans an outage of ours: do not learn from it.
        self.skip_interval = False
        # A note already given for this state (nova disagreeing, heartbeats
        # of an out-of-service host), not to be repeated.
        self.noted = False
        # Who put the host in maintenance (the agent, or an operator).
        self.maintenance_by = None
        # The boot id the host was declared dead (or taken back from the
        # journal) with: its recovery's incarnation, whatever it says
        # after.
        self.declared = None
        # When an inventory (nova, the fencer) first listed the host, and
        # nova's view of it then (up, down, disabled, unknown).
        self.expected_since = None
        self.nova_state = None
        # Suspect without ever being heard since the engine started: only
        # nova's word may have it declared dead.
        self.unheard = False
        # The engine's starvation after counted_from does not count as
        # silence: ``extended`` seconds of it were added to the live timer
        # (the deadline while UP, the grace while SUSPECT).
        self.counted_from = None
        self.extended = 0.0


class LivenessCore:
    """Hosts' liveness as a pure state machine over events and time."""

    def __init__(self, settings, bus_confirmed=True):
        """:param bus_confirmed: False: the engine does not know yet that
            it hears the bus (just started, its first canary not back):
            nobody is declared dead until a ``BusStatus`` says it hears.
        """
        self.settings = settings
        self._detector = detectors.from_settings(settings)
        self._hosts = {}
        self._timers = []
        self._order = itertools.count()
        self._now = float('-inf')
        self._bus_up = bus_confirmed
        self._bus_confirmed = bus_confirmed
        self._counts = dict.fromkeys(st.ALL, 0)
        #: Changes each time a host is tracked or forgotten.
        self.hosts_version = 0
        #: Heartbeats dropped for a sequence number too far ahead.
        self.jumps_refused = 0
        #: Messages about hosts dropped: not known to nova nor the fencer
        #: (once either listed hosts), or beyond settings.max_hosts.
        self.unknown_refused = 0
        # source -> the hosts it listed last (see _on_inventory).
        self._listed = {}
        self._storm = storm.StormGuard(settings.storm_window,
                                       settings.max_failed_hosts,
                                       settings.max_failed_percent)
        self._grace = settings.corroboration_grace
        self._grace_evidence = 'grace' in settings.corroboration
        self._nova_evidence = 'nova' in settings.corroboration
        # When the engine itself could not run (see starved): intervals
        # in time order, merged, with the running total of their lengths
        # (_stall_total[i]: the intervals before the i-th).
        self._stall_starts = []
        self._stall_ends = []
        self._stall_total = [0.0]
        #: Times the engine reported itself starved, and for how long in
        #: all (seconds).
        self.starved_count = 0
        self.starved_seconds = 0.0

    # --- public interface --------------------------------------------------

    def step(self, event, now):
        """Apply ``event`` received at ``now``; return the actions decided
        (those of timers due up to ``now`` first)."""
        if now > self._now:
            self._now = now
        else:
            now = self._now
        timers = self._timers
        due = self._run_timers(now) if timers and timers[0][0] <= now \
            else None
        kind = type(event)
        if kind is events.Heartbeat:
            decided = self._on_heartbeat(event, now)
        elif kind is events.ServiceStatus:
            decided = self._on_service_status(event, now)
        elif kind is events.Maintenance:
            decided = self._on_maintenance(event, now)
        elif kind is events.ConfirmedDead:
            decided = self._on_confirmed_dead(event, now)
        elif kind is events.BusStatus:
            decided = self._on_bus_status(event, now)
        elif kind is events.Inventory:
            decided = self._on_inventory(event, now)
        else:
            raise TypeError('not an event: %r' % (event,))
        if due:
            due.extend(decided)
            return due
        return decided

    def advance(self, now):
        """Let time pass up to ``now``; return the actions of due timers."""
        if now > self._now:
            self._now = now
        timers = self._timers
        if timers and timers[0][0] <= self._now:
            return self._run_timers(self._now)
        return []

    def recovery_progress(self, host, step, status, now):
        """A recovery of ``host`` reports that ``step`` started or ended
        with ``status`` (``transitions.RECOVERY`` for the recovery as a
        whole); return the decisions: the host's state changes along
        ``transitions.PROGRESS``, or one ``ignored_progress`` saying why
        the table allows none of them."""
        self._at(now)
        h = self._hosts.get(host)
        if h is None:
            return [self._ignored(host, '%s %s' % (step, status),
                                  'the host is not tracked',
                                  step=step, status=status)]
        try:
            triggers = transitions.progress_path(h.state, step, status)
        except transitions.InvalidTransition as exc:
            return [self._ignored(host, '%s %s' % (step, status), str(exc),
                                  step=step, status=status, state=h.state)]
        return [self._move(h, trigger) for trigger in triggers]

    def recovery_step(self, host, trigger, now):
        """Apply ``trigger`` to ``host`` for the recovery (an operator's
        ``retry`` or ``rearm`` read in the journal, a recovery resumed);
        return the decisions: the state change, or ``ignored_progress``
        when the host's state does not allow it (or the host is not
        tracked)."""
        self._at(now)
        h = self._hosts.get(host)
        if h is None:
            return [self._ignored(host, trigger, 'the host is not tracked',
                                  trigger=trigger)]
        if not transitions.allowed(h.state, trigger):
            return [self._ignored(host, trigger, '%r is not allowed in '
                                  'state %r' % (trigger, h.state),
                                  trigger=trigger, state=h.state)]
        return [self._move(h, trigger)]

    def restore(self, host, trigger, now, boot_id=None):
        """Take back a host whose recovery the journal holds, when the
        engine (re)starts or an operator reopened it: track it if it is not
        known, then apply ``trigger`` (``recovery_resumed``,
        ``journal_recovered`` or ``journal_failed``) as
        :meth:`recovery_step` does."""
        h = self._hosts.get(host)
        if h is None:
            h = self._track(host)
        if h.boot_id is None:
            h.boot_id = boot_id
        if boot_id is not None and h.state not in st.IN_RECOVERY:
            h.declared = boot_id
        return self.recovery_step(host, trigger, now)

    def starved(self, start, end, now):
        """The engine itself could not run from ``start`` to ``end`` (its
        own process starved of CPU, as the engine measured it: nothing
        heard on the bus says so). That time counts as no host's silence:
        each live timer (an up host's deadline, a suspect's grace) moves on
        by the part of it within the host's silence, when it falls due;
        and no heartbeat interval spanning it is learned. Return the
        ``starved`` decision, for a new stall; a stall told again, longer
        (or one within STARVED_JOIN of the last), is the same one and
        decides nothing more."""
        self._at(now)
        if not end > start:
            return []
        starts, ends, total = self._stall_starts, self._stall_ends, \
            self._stall_total
        if ends and start <= ends[-1] + STARVED_JOIN:
            added = end - ends[-1]
            if added <= 0.0:
                return []
            ends[-1] = end
            total[-1] += added
            self.starved_seconds += added
            return []
        starts.append(start)
        ends.append(end)
        total.append(total[-1] + end - start)
        if ends[0] < now - STARVED_MEMORY:
            keep = bisect.bisect_left(ends, now - STARVED_MEMORY)
            del starts[:keep], ends[:keep]
            base = total[keep]
            total[:] = [t - base for t in total[keep:]]
        self.starved_count += 1
        self.starved_seconds += end - start
        return [self._action(
            act.STARVED, None, 'the engine itself could not run for %.2f s '
            '(its process was starved of CPU; the bus was not lost): that '
            'time counts as no host\'s silence' % (end - start),
            seconds=round(end - start, 6), since=round(start, 6))]

    def state_of(self, host):
        h = self._hosts.get(host)
        return h.state if h is not None else None

    def states(self):
        """``{host: state}`` for every known host."""
        return {name: h.state for name, h in self._hosts.items()}

    def under_recovery(self):
        """``[(host, incarnation)]`` of the hosts declared dead and not
        recovered yet (a standby that becomes the leader recovers them),
        sorted; the incarnation is the boot id the host was declared dead
        with."""
        return sorted((name, h.declared or h.boot_id)
                      for name, h in self._hosts.items()
                      if h.state in st.IN_RECOVERY)

    def declared(self, host):
        """The boot id ``host`` was declared dead with (None: unknown)."""
        h = self._hosts.get(host)
        return None if h is None else h.declared

    @property
    def storm_active(self):
        return self._storm.active

    @property
    def bus_connected(self):
        return self._bus_up

    @property
    def bus_confirmed(self):
        """False until the engine first knew whether it hears the bus
        (see ``bus_confirmed`` of the constructor)."""
        return self._bus_confirmed

    def host_count(self):
        return len(self._hosts)

    def report(self, now):
        """What an operator sees of each host at ``now``: ``[{host, state,
        last_heard_age (seconds since its last heartbeat, None if never
        heard), phi (the failure detector's suspicion, None for the fixed
        timeout or a host never heard), incarnation (its boot id, or the
        one it was declared dead with), maintenance_by, nova_state}]``,
        sorted by host."""
        phi = getattr(self._detector, 'phi', None)
        found = []
        for name in sorted(self._hosts):
            h = self._hosts[name]
            age = None if h.last_heard is None else max(now - h.last_heard,
                                                        0.0)
            suspicion = None
            if phi is not None and age is not None and \
                    h.history is not None:
                suspicion = phi(h.history, age)
            found.append({'host': name, 'state': h.state,
                          'last_heard_age': age, 'phi': suspicion,
                          'incarnation': h.declared or h.boot_id,
                          'maintenance_by': h.maintenance_by,
                          'nova_state': h.nova_state})
        return found

    # --- helpers -------------------------------------------------------------

    def _max_jump(self, elapsed):
        """How far a host's sequence number may move on in ``elapsed``
        seconds: twice the heartbeats it could have sent, and some."""
        return 2.0 * max(elapsed, 0.0) / self.settings.heartbeat_interval \
            + MAX_SEQUENCE_SLACK

    def _at(self, now):
        if now > self._now:
            self._now = now

    def _stalled(self, since, until):
        """Seconds of the engine's starvation between ``since`` and
        ``until``."""
        starts = self._stall_starts
        if not starts or since is None or not until > since:
            return 0.0
        ends = self._stall_ends
        first = bisect.bisect_right(ends, since)
        last = bisect.bisect_left(starts, until)
        if first >= last:
            return 0.0
        total = self._stall_total[last] - self._stall_total[first]
        total -= max(since - starts[first], 0.0)
        total -= max(ends[last - 1] - until, 0.0)
        return max(total, 0.0)

    def _starved_extra(self, h, due):
        """Seconds of the engine's starvation within ``h``'s silence (from
        its ``counted_from`` to ``due``) not added to its timer yet; noted
        as added."""
        if not self._stall_starts:
            return 0.0
        extra = self._stalled(h.counted_from, due) - h.extended
        if extra <= 1e-9:
            return 0.0
        h.extended += extra
        return extra

    def _count_from(self, h, now):
        h.counted_from = now
        h.extended = 0.0

    def _move(self, h, trigger):
        before = h.state
        self._transition(h, trigger)
        h.noted = False
        return self._action(act.STATE, h.name, '%s: %s -> %s'
                            % (trigger, before, h.state),
                            trigger=trigger, state=h.state)

    def _ignored(self, host, what, why, **details):
        return self._action(act.IGNORED_PROGRESS, host, 'recovery progress '
                            '%s ignored: %s' % (what, why), **details)

    def _action(self, kind, host, reason, time=None, **details):
        return act.Action(self._now if time is None else time, kind, host,
                          reason, tuple(sorted(details.items())))

    def _track(self, name):
        h = _Host(name)
        self._hosts[name] = h
        self.hosts_version += 1
        self._counts[st.UNKNOWN] += 1
        return h

    def _transition(self, h, trigger):
        new = transitions.next_state(h.state, trigger)
        counts = self._counts
        counts[h.state] -= 1
        counts[new] += 1
        if h.state == st.SUSPECT:
            self._storm.release(h.name)
        h.state = new

    def _schedule(self, h, due, kind=_OVERDUE):
        h.scheduled = due
        heapq.heappush(self._timers, (due, next(self._order), kind, h.name))

    def _tracked(self):
        counts = self._counts
        return len(self._hosts) - counts[st.UNKNOWN] - \
            counts[st.MAINTENANCE]

    def _failed(self):
        return self._storm.failed(self._counts[st.SUSPECT],
                                  self._is_suspect)

    def _is_suspect(self, name):
        h = self._hosts.get(name)
        return h is not None and h.state == st.SUSPECT

    # --- timers --------------------------------------------------------------

    def _run_timers(self, now):
        decided = []
        timers = self._timers
        while timers and timers[0][0] <= now:
            due, _, kind, name = heapq.heappop(timers)
            if kind == _STORM_EXPIRY:
                self._on_storm_expiry(due, decided)
                continue
            if kind == _STARTUP:
                h = self._hosts.get(name)
                if h is not None and h.scheduled == due:
                    h.scheduled = None
                    self._on_unheard(h, due, decided)
                continue
            h = self._hosts.get(name)
            if h is None or h.scheduled != due:
                continue            # stale: superseded or host forgotten
            h.scheduled = None
            if kind == _OVERDUE:
                self._on_overdue(h, due, decided)
            else:
                self._on_grace(h, due, decided)
        return decided

    def _on_overdue(self, h, due, decided):
        if h.state != st.UP:
            return
        if h.deadline > due:
            self._schedule(h, h.deadline)   # it kept heartbeating
            return
        if not self._bus_up:
            return                  # deaf: bus_up reschedules every host
        extra = self._starved_extra(h, due)
        if extra:
            # (The engine could not run for part of this silence.)
            h.deadline += extra
            self._schedule(h, h.deadline)
            return
        self._transition(h, 'heartbeat_overdue')
        h.suspect_since = due
        self._count_from(h, due)
        silence = due - h.last_heard
        decided.append(self._action(
            act.SUSPECT, h.name,
            self._detector.describe(h.history, silence), time=due,
            silence=round(silence, 6)))
        if self._nova_evidence and h.nova_state == 'down':
            self._try_declare(h, due, 'nova', decided)
        elif self._grace_evidence:
            if self._grace > 0:
                self._schedule(h, due + self._grace, _GRACE)
            else:
                self._try_declare(h, due, 'grace', decided)

    def _on_grace(self, h, due, decided):
        if h.state == st.SUSPECT and self._bus_up:
            extra = self._starved_extra(h, due)
            if extra:
                # (The engine could not run for part of the grace.)
                h.suspect_since += extra
                self._schedule(h, due + extra, _GRACE)
                return
            evidence = self._evidence(h, due)
            if evidence is not None:
                self._try_declare(h, due, evidence, decided)

    def _on_storm_expiry(self, due, decided):
        self._storm.expire(due)
        self._reconsider_storm(due, decided)

    # --- declaring dead, and the storm guard --------------------------------

    def _evidence(self, h, now):
        if h.unheard:
            # Never heard: silence proves nothing (it may run no agent),
            # and a nova event on the bus causes no fencing (safety rule
            # 7): only nova's API, asked by the engine, counts.
            return 'nova' if h.nova_state == 'down' else None
        if self._nova_evidence and h.nova_state == 'down':
            return 'nova'
        # (A timer due at suspect_since + grace may compute a hair less.)
        if self._grace_evidence and \
                now - h.suspect_since >= self._grace - 1e-9:
            return 'grace'
        return None

    def _cut_off(self):
        counts = self._counts
        return storm.is_cut_off(counts[st.UP], counts[st.SUSPECT],
                                self.settings.min_heard_fraction)

    def _try_declare(self, h, now, evidence, decided):
        guard = self._storm
        cut_off = self._cut_off()
        if cut_off or guard.is_storm(self._counts[st.SUSPECT],
                                     self._tracked(), self._is_suspect):
            if guard.begin():
                if cut_off:
                    counts = self._counts
                    why = ('the engine hears %d of the %d hosts it expects '
                           '(less than min_heard_fraction %.2f): it may be '
                           'the one cut off. Automatic recovery stopped '
                           'until they come back or an operator acts' % (
                               counts[st.UP], counts[st.UP] +
                               counts[st.SUSPECT],
                               self.settings.min_heard_fraction))
                else:
                    why = ('%d of %d tracked hosts failed within %.0f s: '
                           'automatic recovery stopped until they come back '
                           'or an operator acts' % (
                               self._failed(), self._tracked(),
                               self.settings.storm_window))
                extra = {'heard': self._counts[st.UP]} if cut_off else {}
                decided.append(self._action(
                    act.ALERT_STORM, None, why, time=now,
                    failed=self._failed(), tracked=self._tracked(), **extra))
            if guard.hold(h.name):
                decided.append(self._action(
                    act.HELD, h.name, 'storm guard: not declared dead '
                    '(evidence: %s)' % evidence, time=now,
                    cut_off=bool(cut_off)))
            return
        self._declare(h, now, evidence, decided, 'declared_dead')

    def _declare(self, h, now, evidence, decided, trigger, confirmed=None):
        """Move suspect ``h`` to dead and decide ``declare_dead`` (with
        ``confirmed``: the operator's confirmation, its reason)."""
        guard = self._storm
        self._transition(h, trigger)
        h.noted = False
        h.declared = h.boot_id if h.last_heard is not None else UNHEARD
        heapq.heappush(self._timers, (guard.declared(now, h.name),
                                      next(self._order), _STORM_EXPIRY, ''))
        if h.last_heard is None:
            h.unheard = False
            decided.append(self._action(
                act.DECLARE_DEAD, h.name, 'never heard since the engine '
                'started (expected for %.3f s); %s' % (
                    now - h.expected_since, confirmed or 'nova reports its '
                    'compute service down'), time=now,
                evidence=evidence, boot_id=None, sequence=None,
                last_heard=None, silence=round(now - h.expected_since, 6)))
            return
        silence = now - h.last_heard
        if confirmed is not None:
            why = confirmed
        elif evidence == 'nova':
            why = 'nova reports the compute service forced down'
        else:
            why = 'suspect for %.3f s without a heartbeat' % (
                now - h.suspect_since)
        decided.append(self._action(
            act.DECLARE_DEAD, h.name,
            '%s; %s' % (self._detector.describe(h.history, silence), why),
            time=now, evidence=evidence, boot_id=h.boot_id,
            sequence=h.sequence, last_heard=round(h.last_heard, 6),
            silence=round(silence, 6)))

    def _reconsider_storm(self, now, decided):
        """After a host stopped counting as failed: end the storm if it is
        over. The hosts it held are not declared at once (the others may
        be coming back one by one after a partition): each must stay silent
        for one more detection window from now."""
        held = self._storm.end(self._counts[st.SUSPECT], self._tracked(),
                               self._cut_off(), self._is_suspect)
        if held is None:
            return
        decided.append(self._action(
            act.STORM_CLEARED, None,
            '%d of %d tracked hosts failed within %.0f s: automatic recovery '
            'resumes; held hosts get one more detection window'
            % (self._failed(), self._tracked(), self.settings.storm_window),
            time=now, held=len(held)))
        for name in held:
            h = self._hosts[name]
            h.suspect_since = now
            self._count_from(h, now)
            self._schedule(h, now + self._detector.allowed_silence(h.history)
                           + self._grace, _GRACE)

    # --- events --------------------------------------------------------------

    def _admits(self, host):
        """Whether a message about ``host``, not tracked yet, may make it
        tracked: known to nova or the fencer (once either listed hosts),
        and under the cap."""
        listed = self._listed
        if listed and not any(host in hosts for hosts in listed.values()):
            self.unknown_refused += 1
            return False
        if len(self._hosts) >= self.settings.max_hosts:
            self.unknown_refused += 1
            return False
        return True

    def _on_heartbeat(self, ev, now):
        h = self._hosts.get(ev.host)
        if h is None:
            if not self._admits(ev.host):
                return _NOTHING
            h = self._track(ev.host)
        state = h.state
        if state == st.SUSPECT and h.last_heard is None:
            # Expected, never heard, suspect: this is its first heartbeat.
            h.unheard = False
            decided = [self._first_heartbeat(h, ev, now)]
            self._reconsider_storm(now, decided)
            return decided
        if state == st.UP or state == st.SUSPECT:
            decided = None
            if ev.boot_id != h.boot_id:
                decided = [self._action(
                    act.REBOOTED, h.name, 'new boot id %s (was %s): the host '
                    'rebooted without being declared dead'
                    % (ev.boot_id, h.boot_id), boot_id=ev.boot_id)]
                h.boot_id = ev.boot_id
                h.skip_interval = True
            elif ev.sequence <= h.sequence and (
                    ev.sequence > AGENT_RESTART_SEQUENCE or
                    ev.sequence == h.sequence):
                # A duplicate, or a stale heartbeat overtaken by newer ones
                # (a redelivery, a slow worker): it proves nothing. A low
                # sequence number is an agent that restarted on this boot.
                return _NOTHING
            elif ev.sequence - h.sequence > self._max_jump(now - h.last_heard):
                # Further ahead than the time since the last one allows:
                # not the agent (whose next ones would all look stale).
                self.jumps_refused += 1
                return _NOTHING
            if h.skip_interval or (self._stall_starts and self._stalled(
                    h.last_heard, now)):
                # (An interval across an outage or a starvation of ours
                # says nothing of the host's pace.)
                h.skip_interval = False
                deadline = now + self._detector.allowed_silence(h.history)
            else:
                deadline = now + self._detector.observe(
                    h.history, now - h.last_heard)
            silence = now - h.last_heard
            h.last_heard = now
            self._count_from(h, now)
            h.sequence = ev.sequence
            h.deadline = deadline
            if state == st.SUSPECT:
                self._transition(h, 'heartbeat')
                self._schedule(h, deadline)
                decided = decided or []
                decided.append(self._action(
                    act.ALIVE, h.name, 'heartbeat after %.3f s of silence'
                    % silence, silence=round(silence, 6)))
                self._reconsider_storm(now, decided)
            elif h.scheduled is None or deadline < h.scheduled:
                self._schedule(h, deadline)
            return decided or _NOTHING
        if state == st.UNKNOWN:
            return [self._first_heartbeat(h, ev, now)]
        h.boot_id, h.sequence, h.last_heard = ev.boot_id, ev.sequence, now
        if state == st.MAINTENANCE or h.noted:
            return _NOTHING
        h.noted = True
        return [self._action(
            act.IGNORED_HEARTBEAT, h.name, 'heartbeat from a host in state '
            '%s: it stays out of service until an operator re-arms it'
            % state, state=state, boot_id=ev.boot_id)]

    def _first_heartbeat(self, h, ev, now):
        self._transition(h, 'heartbeat')
        h.boot_id, h.sequence, h.last_heard = ev.boot_id, ev.sequence, now
        if h.history is None:
            h.history = self._detector.new_history()
        h.skip_interval = False
        h.deadline = now + self._detector.allowed_silence(h.history)
        self._count_from(h, now)
        self._schedule(h, h.deadline)
        return self._action(act.UP, h.name, 'first heartbeat (boot %s)'
                            % ev.boot_id, boot_id=ev.boot_id)

    def _on_inventory(self, ev, now):
        """A source lists the hosts the engine should hear from. A host
        first listed now is tracked (unknown) and given the start-up
        grace to be heard; one past it and never heard is looked at
        again (nova may now say it is down)."""
        decided = []
        nova = ev.source == 'nova'
        grace = self.settings.startup_grace
        self._listed[ev.source] = frozenset(name for name, _ in ev.hosts)
        self._forget_unknown(now, decided)
        if nova:
            # A host nova listed before and lists no more: nova no longer
            # says it is down (its service may have been deleted).
            listed = {name for name, _ in ev.hosts}
            for h in self._hosts.values():
                if h.nova_state is not None and h.name not in listed:
                    h.nova_state = 'unknown'
        for name, state in ev.hosts:
            h = self._hosts.get(name)
            if h is None:
                h = self._track(name)
            if nova or h.nova_state is None:
                h.nova_state = state
            if nova and state == 'down' and h.state == st.SUSPECT and \
                    not h.unheard and self._nova_evidence and \
                    self._bus_up and h.name not in self._storm.held:
                self._try_declare(h, now, 'nova', decided)
                continue
            if h.expected_since is None:
                h.expected_since = now
                if h.state == st.UNKNOWN and h.last_heard is None:
                    self._schedule(h, now + grace, _STARTUP)
            elif now >= h.expected_since + grace and \
                    h.scheduled is None:
                self._on_unheard(h, now, decided)
        return decided

    def _forget_unknown(self, now, decided):
        """Hosts tracked but known to neither nova nor the fencer (heard
        before they first listed their hosts, or no longer listed) are
        forgotten, unless a recovery or maintenance holds them."""
        listed = self._listed
        gone = [h for name, h in self._hosts.items()
                if h.state in (st.UNKNOWN, st.UP, st.SUSPECT) and
                not any(name in hosts for hosts in listed.values())]
        for h in gone:
            was_suspect = h.state == st.SUSPECT
            self._counts[h.state] -= 1
            self._storm.release(h.name)
            del self._hosts[h.name]
            self.hosts_version += 1
            decided.append(self._action(act.UNTRACKED, h.name, 'known to '
                                        'neither nova nor the fencer'))
            if was_suspect:
                self._reconsider_storm(now, decided)

    def _silent_before_confirmed(self, now):
        """Whether a host heard before the engine knew it heard the bus
        has been silent for two heartbeat intervals since."""
        limit = 2.0 * self.settings.heartbeat_interval
        return any(h.last_heard is not None and now - h.last_heard > limit
                   for h in self._hosts.values()
                   if h.state == st.UP or h.state == st.SUSPECT)

    def _on_unheard(self, h, now, decided):
        """``h`` was expected for the start-up grace: if still never
        heard, it is suspect when nova reports its service down (and
        declared dead if the storm guard allows); otherwise it is
        reported, once, and never fenced (a host that simply runs no
        agent)."""
        if h.state != st.UNKNOWN or h.last_heard is not None:
            return
        if not self._bus_up:
            # Deaf (or not known to hear yet): never heard proves nothing
            # now; looked at again in a second.
            self._schedule(h, now + 1.0, _STARTUP)
            return
        if h.nova_state == 'down':
            self._transition(h, 'never_heard')
            h.unheard = True
            h.noted = False
            h.suspect_since = now
            self._count_from(h, now)
            if h.history is None:
                h.history = self._detector.new_history()
            decided.append(self._action(
                act.SUSPECT, h.name, 'never heard since the engine started '
                '(expected for %.3f s) and nova reports its compute service '
                'down' % (now - h.expected_since), time=now,
                silence=round(now - h.expected_since, 6)))
            self._try_declare(h, now, 'nova', decided)
            return
        if h.noted:
            return
        h.noted = True
        decided.append(self._action(
            act.UNHEARD, h.name, 'expected (nova reports its compute service '
            '%s) but never heard since the engine started: reported, not '
            'fenced (does it run freezer-dr-agent?)' % h.nova_state,
            time=now, nova_state=h.nova_state))

    def _on_service_status(self, ev, now):
        if ev.binary != NOVA_COMPUTE:
            return _NOTHING
        h = self._hosts.get(ev.host)
        # Anything on the bus can say it is nova (safety rule 7): a nova
        # event changes no host's state by itself; it has the engine ask
        # nova's API, whose answer (an Inventory) counts.
        if ev.change == 'delete':
            if h is None or h.state in st.OUT_OF_SERVICE or \
                    h.state == st.MAINTENANCE:
                return _NOTHING
            return [self._action(act.ASK_NOVA, h.name, 'a service.delete '
                                 'on the bus: asking nova\'s API (the host '
                                 'is forgotten once nova and the fencer no '
                                 'longer list it)', change='delete')]
        if h is None:
            if not self._admits(ev.host):
                return _NOTHING
            h = self._track(ev.host)
        was_down, h.nova_down = h.nova_down, ev.forced_down
        if not ev.forced_down or was_down:
            return _NOTHING
        if h.state == st.UP:
            return [self._action(
                act.NOVA_DISAGREES, h.name, 'nova reports the compute '
                'service forced down while its heartbeats arrive: not '
                'declared dead', disabled_reason=ev.disabled_reason)]
        if h.state == st.SUSPECT and self._nova_evidence:
            return [self._action(act.ASK_NOVA, h.name, 'a service.update on '
                                 'the bus says forced down: asking nova\'s '
                                 'API before it counts as evidence',
                                 change='update')]
        return _NOTHING

    def _on_confirmed_dead(self, ev, now):
        """An operator confirms ``ev.host`` dead (signed with the master
        key): a host the engine suspects (silent, held by the storm guard
        or not yet declared) is declared dead now; any other is refused
        (a host heard alive is never fenced on anyone's word)."""
        h = self._hosts.get(ev.host)
        if h is None or h.state != st.SUSPECT:
            return [self._action(
                act.REFUSED, ev.host, '%s confirmed %s dead, refused: the '
                'engine %s; only a silent host it suspects is declared dead '
                'on an operator\'s word' % (
                    ev.requested_by or 'an operator', ev.host,
                    'does not track it' if h is None else
                    'knows it %s' % h.state),
                requested_by=ev.requested_by)]
        decided = []
        self._declare(h, now, 'operator', decided, 'operator_confirmed',
                      confirmed='%s confirmed it dead: %s' % (
                          ev.requested_by or 'an operator',
                          ev.reason or 'no reason given'))
        self._reconsider_storm(now, decided)
        return decided

    def _on_maintenance(self, ev, now):
        h = self._hosts.get(ev.host)
        if h is None:
            if not self._admits(ev.host):
                return _NOTHING
            h = self._track(ev.host)
        if ev.enabled:
            if h.state == st.MAINTENANCE:
                return _NOTHING
            if not transitions.allowed(h.state, 'maintenance_on'):
                return [self._action(
                    act.REFUSED, h.name, 'maintenance refused: the host is '
                    '%s and a recovery under way is not interrupted'
                    % h.state, requested_by=ev.requested_by)]
            was_suspect = h.state == st.SUSPECT
            self._transition(h, 'maintenance_on')
            h.scheduled = None
            h.maintenance_by = ev.requested_by
            decided = [self._action(act.MAINTENANCE_ON, h.name,
                                    ev.reason or 'maintenance',
                                    requested_by=ev.requested_by)]
            if was_suspect:
                self._reconsider_storm(now, decided)
            return decided
        if h.state != st.MAINTENANCE:
            return _NOTHING
        if ev.requested_by == AGENT and h.maintenance_by != AGENT:
            # The agent ends only the maintenance it announced itself (a
            # planned shutdown); an operator's lasts until an operator
            # ends it.
            return [self._action(
                act.REFUSED, h.name, 'maintenance off refused: it was '
                'started by %s, not by the agent'
                % (h.maintenance_by or 'an operator'),
                requested_by=ev.requested_by)]
        self._transition(h, 'maintenance_off')
        return [self._action(act.MAINTENANCE_OFF, h.name,
                             (ev.reason or 'maintenance ended') +
                             '; watched again from its next heartbeat',
                             requested_by=ev.requested_by)]

    def _on_bus_status(self, ev, now):
        if not ev.connected:
            if not self._bus_up and self._bus_confirmed:
                return _NOTHING
            # (Not confirmed yet: never heard since the start; deaf, and
            # said so.)
            first = not self._bus_confirmed
            self._bus_up = False
            self._bus_confirmed = True
            # The silence ahead is ours, not the hosts': the first interval
            # after it (even one heard before the engine knows it hears
            # again) must not teach the detectors a 30 s heartbeat interval.
            for h in self._hosts.values():
                h.skip_interval = True
            return [self._action(
                act.BUS_DOWN, None, 'the engine has not heard the bus since '
                'it started: nobody is declared dead until it does' if first
                else 'the engine lost the bus: nobody is declared dead until '
                'it returns')]
        if self._bus_up:
            return _NOTHING
        self._bus_up = True
        decided = []
        first = not self._bus_confirmed
        self._bus_confirmed = True
        extra = self.settings.bus_recovery_grace
        if first and not self._silent_before_confirmed(now):
            # (The first canary, at the start, and every host heard before
            # it still heartbeating: nothing was lost, no extra grace. A
            # host silent for two intervals may have been cut off with the
            # engine before it knew it heard: the grace, as after a loss.)
            extra = 0.0
        allowed_silence = self._detector.allowed_silence
        for h in self._hosts.values():
            if h.state != st.UP and h.state != st.SUSPECT:
                continue
            if h.last_heard is None:
                # Suspect without ever being heard: nova's word, not
                # silence, decides; it is looked at again after a grace.
                self._count_from(h, now)
                self._schedule(h, now + self._grace + extra, _GRACE)
                continue
            h.skip_interval = True
            h.deadline = now + extra + allowed_silence(h.history)
            self._count_from(h, now)
            if h.state == st.SUSPECT:
                self._transition(h, 'bus_recovered')
                decided.append(self._action(
                    act.ALIVE, h.name, 'suspicion withdrawn: the engine was '
                    'deaf, every host gets a fresh grace'))
            self._schedule(h, h.deadline)
        if not first:
            said = 'the engine hears the bus again: every host has %.1f s ' \
                'more to be heard from' % extra
        elif extra:
            said = 'the engine hears the bus (its first canary came back, ' \
                'late): every host has %.1f s more to be heard from' % extra
        else:
            said = 'the engine hears the bus (its first canary came back): ' \
                'hosts are judged from now'
        decided.insert(0, self._action(act.BUS_UP, None, said))
        self._reconsider_storm(now, decided)
        return decided
