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

"""The engine starved of CPU (issue 14, point 5): the time its own process
could not run (``LivenessCore.starved``) counts as no host's silence.

What a stall looks like from the core: nothing is applied while it lasts;
then the heartbeats held back meanwhile (in the broker, in the workers'
pipes) arrive at once, stamped when they were read, after it. Told of the
stall first, the core suspects none of those hosts, and a host that really
died is declared the stall's length later than it would have been, no
more.
"""

import hypothesis
from hypothesis import strategies as st
import pytest

from freezer_dr import events
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import core
from freezer_dr.liveness import settings
from freezer_dr.liveness import states

T0 = 1000.0
SETTINGS = settings.LivenessSettings()
WINDOW = SETTINGS.detection_window()


class Fleet:
    """Hosts that heartbeat every second (each at its phase), and an engine
    that may be starved: :meth:`stall` holds every heartbeat back until
    the stall is over, then delivers them at once."""

    def __init__(self, hosts=5, tell=True):
        self.core = core.LivenessCore(SETTINGS)
        self.hosts = ['h%d' % n for n in range(hosts)]
        self.dead = {}              # host -> its last heartbeat
        self.seq = dict.fromkeys(self.hosts, 0)
        self.now = T0
        self.log = []
        self.tell = tell

    def _beat(self, host, at, received=None):
        self.seq[host] += 1
        received = at if received is None else received
        self.log += self.core.step(events.Heartbeat(
            received, host, self.seq[host], 'boot-' + host, at), received)

    def _sent(self, start, end):
        """(time, host) of the heartbeats sent in [start, end)."""
        found = []
        for n, host in enumerate(self.hosts):
            phase = n * 0.9 / len(self.hosts)
            second = int(start - T0 - phase)
            while True:
                at = T0 + second + phase
                if at >= end:
                    break
                if at >= start and host not in self.dead:
                    found.append((at, host))
                second += 1
        return sorted(found)

    def run(self, seconds):
        end = self.now + seconds
        for at, host in self._sent(self.now, end):
            self._beat(host, at)
        self.now = end
        self.log += self.core.advance(end)

    def stall(self, seconds, delivered_after=0.2):
        """The engine cannot run for ``seconds``: the core hears nothing
        and its time stands still; then it is told (``tell``), and what
        was held back arrives ``delivered_after`` later, all at once."""
        start, end = self.now, self.now + seconds
        if self.tell:
            self.log += self.core.starved(start, end, start)
        arrival = end + delivered_after
        for at, host in self._sent(start, arrival):
            self._beat(host, at, received=arrival)
        self.now = arrival
        self.log += self.core.advance(arrival)

    def kill(self, host):
        self.dead[host] = max(at for at, h in self._sent(T0, self.now)
                              if h == host)

    def of(self, kind, host=None):
        return [a for a in self.log if a.kind == kind and
                (host is None or a.host == host)]


def test_hosts_held_back_by_a_stall_of_the_engine_are_not_suspected():
    fleet = Fleet()
    fleet.run(120)
    fleet.stall(4.0)
    fleet.run(60)
    assert fleet.of(act.SUSPECT) == []
    assert fleet.of(act.DECLARE_DEAD) == []
    assert [a.kind for a in fleet.of(act.STARVED)] == [act.STARVED]
    assert dict(fleet.of(act.STARVED)[0].details)['seconds'] == 4.0
    assert fleet.core.starved_count == 1
    assert fleet.core.starved_seconds == pytest.approx(4.0)


def test_untold_the_same_stall_suspects_every_host():
    # (What the engine prevents by telling the core; it is also deaf then,
    # when the stall is longer than deaf_after: see tests/unit/
    # test_engine.py.) Every host failing at once is a storm: nobody is
    # declared, recovery stops for the whole cloud.
    fleet = Fleet(tell=False)
    fleet.run(120)
    fleet.stall(4.0)
    assert {a.host for a in fleet.of(act.SUSPECT)} == set(fleet.hosts)
    assert len(fleet.of(act.ALERT_STORM)) == 1
    # One host alone is declared dead.
    alone = Fleet(hosts=1, tell=False)
    alone.run(120)
    alone.stall(4.0)
    assert [a.host for a in alone.of(act.DECLARE_DEAD)] == ['h0']


def test_a_death_is_declared_the_stall_later_and_no_later():
    fleet = Fleet()
    fleet.run(120)
    fleet.kill('h2')
    last = fleet.dead['h2']
    fleet.run(1.0)
    fleet.stall(1.5)
    fleet.run(10)
    dead = fleet.of(act.DECLARE_DEAD)
    assert [a.host for a in dead] == ['h2']
    assert dead[0].time == pytest.approx(last + WINDOW + 1.5, abs=0.01)
    # Not declared anew, nor anyone else, later.
    fleet.run(30)
    assert [a.host for a in fleet.of(act.DECLARE_DEAD)] == ['h2']


def test_a_stall_within_the_grace_extends_the_grace():
    fleet = Fleet()
    fleet.run(120)
    fleet.kill('h1')
    last = fleet.dead['h1']
    # Suspect 2.56 s after its last heartbeat; the engine then stalls for
    # 0.6 s of the 1 s grace.
    suspect_at = last + WINDOW - SETTINGS.corroboration_grace
    fleet.run(suspect_at - fleet.now + 0.2)
    assert fleet.core.state_of('h1') == states.SUSPECT
    fleet.stall(0.6, delivered_after=0.0)
    fleet.run(5)
    dead = fleet.of(act.DECLARE_DEAD)
    assert [a.host for a in dead] == ['h1']
    assert dead[0].time == pytest.approx(last + WINDOW + 0.6, abs=0.01)


def test_intervals_across_a_stall_are_not_learned():
    fleet = Fleet()
    fleet.run(120)
    for _ in range(5):
        fleet.stall(2.0, delivered_after=0.0)
        fleet.run(5)
    # The detector still judges by the steady intervals: a death is
    # declared one window after the last heartbeat.
    fleet.run(120)
    fleet.kill('h3')
    last = fleet.dead['h3']
    fleet.run(10)
    dead = fleet.of(act.DECLARE_DEAD)
    assert [a.host for a in dead] == ['h3']
    assert dead[0].time == pytest.approx(last + WINDOW, abs=0.3)


def test_a_stall_told_while_it_lasts_then_once_over_is_one_stall():
    c = core.LivenessCore(SETTINGS)
    first = c.starved(10.0, 12.0, 10.0)
    assert [a.kind for a in first] == [act.STARVED]
    assert c.starved(10.0, 12.5, 12.5) == []        # the same, longer
    assert c.starved(12.5, 12.6, 12.6) == []        # its tail
    assert c.starved(12.605, 12.7, 12.7) == []      # within STARVED_JOIN
    assert c.starved(11.0, 12.0, 12.7) == []        # told before
    assert c.starved_count == 1
    assert c.starved_seconds == pytest.approx(2.7)
    assert [a.kind for a in c.starved(20.0, 21.0, 21.0)] == [act.STARVED]
    assert c.starved_count == 2
    assert c.starved(5.0, 5.0, 21.0) == []


def test_stalled_time_between_two_moments():
    c = core.LivenessCore(SETTINGS)
    for start, end in ((10.0, 12.0), (15.0, 15.5), (20.0, 23.0)):
        c.starved(start, end, start)
    assert c._stalled(0.0, 100.0) == pytest.approx(5.5)
    assert c._stalled(11.0, 21.0) == pytest.approx(1.0 + 0.5 + 1.0)
    assert c._stalled(12.0, 15.0) == 0.0
    assert c._stalled(15.2, 15.3) == pytest.approx(0.1)
    assert c._stalled(24.0, 30.0) == 0.0
    assert c._stalled(None, 30.0) == 0.0
    # Stalls older than STARVED_MEMORY are forgotten.
    later = 23.0 + core.STARVED_MEMORY + 1
    c.starved(later, later + 1.0, later)
    assert c._stalled(0.0, later + 10) == pytest.approx(1.0)
    assert c._stalled(later + 0.5, later + 10) == pytest.approx(0.5)


def test_a_bus_outage_after_a_stall_still_holds_everyone():
    fleet = Fleet()
    fleet.run(60)
    fleet.stall(2.0)
    fleet.log += fleet.core.step(events.BusStatus(fleet.now, False),
                                 fleet.now)
    fleet.dead.update({h: fleet.now for h in fleet.hosts})
    fleet.run(60)
    assert fleet.of(act.DECLARE_DEAD) == []
    assert fleet.of(act.SUSPECT) == []


# --- properties --------------------------------------------------------------

STALLS = st.lists(st.tuples(st.floats(2.0, 30.0),      # quiet before it
                            st.floats(0.26, 8.0),      # its length
                            st.floats(0.0, 0.5)),      # held back after
                  min_size=1, max_size=6)


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(STALLS, st.integers(0, 4), st.integers(0, 5))
def test_stalls_never_suspect_a_live_host_and_never_lose_a_death(
        stalls, victim, kill_after):
    fleet = Fleet()
    fleet.run(30)
    host = 'h%d' % victim
    for n, (quiet, length, after) in enumerate(stalls):
        if n == kill_after:
            fleet.kill(host)
        fleet.run(quiet)
        fleet.stall(length, delivered_after=after)
    fleet.run(30)
    bad = [a for a in fleet.log if a.kind in (act.SUSPECT, act.DECLARE_DEAD)
           and a.host != host]
    assert bad == []
    dead = fleet.of(act.DECLARE_DEAD, host)
    if host in fleet.dead:
        assert len(dead) == 1
        assert dead[0].time >= fleet.dead[host] + WINDOW - 1e-6
        # Never later than the silence the detector allowed that host
        # after its last heartbeat (wider than WINDOW when it learned from
        # heartbeats that came all at once), plus the grace, plus the time
        # the engine could not run meanwhile.
        stalled = fleet.core._stalled(fleet.dead[host], dead[0].time)
        detector = fleet.core._detector
        allowed = max(detector.allowed_silence(
            fleet.core._hosts[host].history), WINDOW -
            SETTINGS.corroboration_grace)
        assert dead[0].time <= fleet.dead[host] + allowed + \
            SETTINGS.corroboration_grace + stalled + 0.5
    else:
        assert dead == []
