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

"""A late canary the engine's own starvation explains is not a lost bus
(issue 14, point 5): bus.Hearing, engine.StarvationProbe and the engine
between them, on a virtual clock."""

import time

import pytest

from freezer_dr import bus
from freezer_dr import engine as engine_module
from freezer_dr.liveness import settings
from tests.unit.helpers import Clock
from tests.unit.helpers import beat

DEAF_AFTER = 1.5


# --- bus.Hearing -------------------------------------------------------------

def _hearing(now, canary):
    return bus.Hearing(lambda: None if canary[0] is None
                       else now[0] - canary[0], DEAF_AFTER,
                       clock=lambda: now[0])


def test_a_canary_late_for_as_long_as_the_engine_was_starved_is_not_deafness():
    now, canary = [100.0], [100.0]
    hearing = _hearing(now, canary)
    assert hearing.change() is None
    # The engine could not run from 100.1 to 102.6; it runs again at 102.7
    # and has not read the canary that came back meanwhile yet.
    assert hearing.stalled(100.1, 102.6) == (100.1, 102.6)
    now[0] = 102.7
    assert hearing.change() is None
    assert hearing.excused == 1
    # Still late, still the same stall: counted once.
    now[0] = 103.0
    assert hearing.change() is None
    assert hearing.excused == 1
    # It reads the canary.
    canary[0] = 103.0
    assert hearing.change() is None
    # A canary late again, with no stall: the bus is lost.
    now[0] = 104.6
    assert hearing.change() is False
    canary[0] = 104.7
    now[0] = 104.7
    assert hearing.change() is True
    assert hearing.excused == 1


def test_a_lost_bus_is_deafness_even_while_the_engine_is_starved():
    now, canary = [100.0], [100.0]
    hearing = _hearing(now, canary)
    # The bus is lost at 100; the engine is starved half of the time.
    for step in range(40):
        start = 100.0 + step * 0.5
        hearing.stalled(start, start + 0.25)
        now[0] = start + 0.5
        if hearing.change() is False:
            break
    # Deaf once it could run for DEAF_AFTER seconds without a canary.
    assert now[0] - 100.0 == pytest.approx(2 * DEAF_AFTER, abs=0.5)


def test_a_stall_is_told_while_it_lasts_then_once_over():
    now, canary = [100.0], [100.0]
    hearing = _hearing(now, canary)
    assert hearing.stalled(100.0, 101.0) == (100.0, 101.0)
    assert hearing.stalled(100.0, 101.5) == (101.0, 101.5)
    assert hearing.stalled(100.0, 101.2) is None
    assert hearing.stalled(101.5, 101.5) is None
    assert hearing.stalled(105.0, 105.5) == (105.0, 105.5)
    now[0] = 106.0
    assert hearing.own(10.0) == pytest.approx(2.0)
    assert hearing.own(1.0) == pytest.approx(0.5)
    assert hearing.own(0.25) == 0.0


def test_an_engine_starved_at_start_is_given_its_first_canary_later():
    now = [5000.0]
    hearing = bus.Hearing(lambda: None, DEAF_AFTER, first_within=10.0,
                          clock=lambda: now[0])
    assert hearing.change() is None
    now[0] = 5009.9
    assert hearing.change() is None
    hearing.stalled(5001.0, 5004.0)
    now[0] = 5012.0
    assert hearing.change() is None
    now[0] = 5013.1
    assert hearing.change() is False
    assert hearing.change() is None


# --- engine.StarvationProbe --------------------------------------------------

def test_the_probe_reports_late_wake_ups_and_the_one_under_way():
    clock = Clock(10.0)
    probe = engine_module.StarvationProbe(interval=0.05, stall_after=0.25,
                                          clock=clock)
    assert probe.take() == []           # nothing wakes it yet
    probe.woke(10.0)
    probe.woke(10.06)
    probe.woke(10.2)                    # 0.09 s late: not a stall
    assert probe.take(10.3) == []
    clock.now = 12.0                    # overdue: a stall under way
    assert probe.take() == [(10.25, 12.0)]
    probe.woke(12.1)
    assert probe.take(12.12) == [(10.25, 12.1)]
    assert probe.take(12.13) == []


def test_the_probe_thread_measures_nothing_on_an_idle_machine():
    probe = engine_module.StarvationProbe(interval=0.01, stall_after=0.25)
    probe.start()
    time.sleep(0.2)
    probe.stop()
    assert probe.watching
    assert probe.take() == []


# --- the engine --------------------------------------------------------------

class Runner:
    def __init__(self):
        self.done = []

    def carry_out(self, action):
        self.done.append((action.kind, action.host, action.time))

    def kinds(self, host=None):
        return [k for k, h, _ in self.done if host is None or h == host]


def _engine(clock, canary):
    probe = engine_module.StarvationProbe(clock=clock)
    runner = Runner()
    mailbox = engine_module.Mailbox()
    engine = engine_module.Engine(
        settings.LivenessSettings(), runner, mailbox, deaf_after=DEAF_AFTER,
        hearing=lambda: clock.now - canary[0], clock=clock, probe=probe)
    return engine, mailbox, runner, probe


def _heard(engine, mailbox, probe, clock, canary, until, sequences,
           dead=()):
    """Hosts x and y heartbeat every second (and the canary comes back)
    until ``until``, the engine runs every 0.1 s, its probe on time."""
    while clock.now < until - 1e-9:
        clock.now = round(clock.now + 0.1, 6)
        probe.woke(clock.now)
        canary[0] = clock.now
        if abs(clock.now - round(clock.now)) < 1e-6:
            for host in ('x', 'y'):
                if host not in dead:
                    sequences[host] += 1
                    mailbox.deliver_events([beat(clock.now, host,
                                                 sequences[host])])
        engine.run_once()


@pytest.mark.parametrize('starved_engine', [True, False])
def test_a_starved_engine_is_not_deaf_and_declares_a_death_in_time(
        starved_engine):
    clock = Clock(100.0)
    canary = [100.0]
    engine, mailbox, runner, probe = _engine(clock, canary)
    probe.woke(100.0)
    sequences = {'x': 0, 'y': 0}
    _heard(engine, mailbox, probe, clock, canary, 220.0, sequences)
    # x dies; y lives. Then the engine cannot run for 3 s (or, the second
    # time, the engine runs but hears nothing: a lost bus, or its workers
    # starved): y's heartbeats and the canary are held back, and arrive
    # together after it.
    last = 220.0
    _heard(engine, mailbox, probe, clock, canary, 221.0, sequences,
           dead={'x'})
    stalled = 3.0
    if not starved_engine:
        # The engine runs, on time, and hears nothing.
        for tick in range(1, 31):
            clock.now = 221.0 + tick * 0.1
            probe.woke(clock.now)
            engine.run_once()
    clock.now = 221.0 + stalled
    engine.run_once()                   # (the engine thread runs first)
    for _ in range(3):                  # (sent at 222, 223 and 224)
        sequences['y'] += 1
        mailbox.deliver_events([beat(clock.now + 0.05, 'y',
                                     sequences['y'])])
    _heard(engine, mailbox, probe, clock, canary, 260.0, sequences,
           dead={'x'})
    assert runner.kinds('y') == ['up']
    dead = [t for k, h, t in runner.done if k == 'declare_dead']
    window = engine.core.settings.detection_window()
    if starved_engine:
        # Not deaf: the stall is told to the core, which gives x its
        # length, not [liveness] bus_recovery_grace.
        assert 'bus_down' not in runner.kinds()
        assert runner.kinds(None).count('starved') == 1
        assert runner.kinds('x') == ['up', 'suspect', 'declare_dead']
        assert dead[0] == pytest.approx(last + window + stalled, abs=0.2)
        assert engine._hearing.excused == 1
    else:
        # A late canary the engine cannot explain: deaf, then every host
        # gets bus_recovery_grace.
        assert runner.kinds().count('bus_down') == 1
        assert 'bus_up' in runner.kinds()
        assert 'starved' not in runner.kinds()
        grace = engine.core.settings.bus_recovery_grace
        assert dead[0] > last + stalled + grace


def test_the_statistics_line_says_how_often_the_engine_was_starved(caplog):
    clock = Clock(100.0)
    canary = [100.0]
    engine, mailbox, runner, probe = _engine(clock, canary)
    probe.woke(100.0)
    clock.now = 102.05
    engine.run_once()
    with caplog.at_level('INFO', logger='freezer_dr.engine'):
        engine.log_stats()
    assert 'starved 1 times (2.0 s in all), which explained 1 late ' \
        'canaries' in caplog.text
