"""The engine's loop with a virtual clock: events from several workers are
applied in the order they were received, as a replay would."""

import threading

from freezer_dr import engine as engine_module
from freezer_dr.liveness import settings
from tests.unit.helpers import Clock
from tests.unit.helpers import beat


class Runner:
    def __init__(self):
        self.done = []

    def carry_out(self, action):
        self.done.append((action.kind, action.host))


def _engine(clock, hearing=lambda: None, **options):
    runner = Runner()
    mailbox = engine_module.Mailbox()
    engine = engine_module.Engine(settings.LivenessSettings(), runner,
                                  mailbox, deaf_after=1.5, hearing=hearing,
                                  clock=clock, **options)
    return engine, mailbox, runner


def test_batches_from_two_workers_are_applied_in_received_order():
    clock = Clock(100.0)
    engine, mailbox, runner = _engine(clock)
    for second in range(20):
        mailbox.deliver_events([beat(100.0 + second, 'x', second + 1),
                               beat(100.0 + second, 'y', second + 1)])
    clock.now = 120.0
    engine.run_once()
    last = 119.0
    # x is suspect 2.7 s after its last heartbeat.
    clock.now = last + 2.7 + engine_module.SETTLE
    engine.run_once()
    assert ('suspect', 'x') in runner.done
    # Worker B hands over y's heartbeat of last+4.01 before worker A hands
    # over x's of last+3.4 (received first): x's counts, x is not dead.
    mailbox.deliver_events([beat(last + 4.01, 'y', 21)])
    mailbox.deliver_events([beat(last + 3.4, 'x', 21)])
    clock.now = last + 4.2 + engine_module.SETTLE
    engine.run_once()
    assert ('declare_dead', 'x') not in runner.done
    assert ('alive', 'x') in runner.done
    assert engine.counters.late == 0


def test_deafness_reaches_the_core_in_time_order():
    clock = Clock(100.0)
    heard = {'since': 0.0}
    engine, mailbox, runner = _engine(clock,
                                      hearing=lambda: heard['since'])
    mailbox.deliver_events([beat(100.0, 'x', 1)])
    clock.now = 100.5
    engine.run_once()
    heard['since'] = 2.0            # no canary for 2 s: deaf
    clock.now = 101.0
    engine.run_once()
    clock.now = 130.0
    engine.run_once()
    assert ('bus_down', None) in runner.done
    assert ('declare_dead', 'x') not in runner.done


def test_hosts_heard_before_the_first_canary_are_not_declared_dead():
    """Just started, the engine reads hosts' heartbeats from its queue's
    backlog; the broker goes away before its first canary comes back."""
    clock = Clock(100.0)
    heard = {'since': None}
    probe = engine_module.StarvationProbe(clock=lambda: clock.now)
    engine, mailbox, runner = _engine(
        clock, hearing=lambda: heard['since'],
        first_canary_within=engine_module.FIRST_CANARY_WITHIN, probe=probe)
    mailbox.deliver_events([beat(100.0 + n * 0.1, 'x%d' % n, 1)
                            for n in range(3)])
    for now in (100.5, 105.0, 109.0):
        clock.now = now
        engine.run_once()
    assert [kind for kind, _ in runner.done] == ['up'] * 3
    clock.now = 111.0           # no first canary within 10 s: deaf
    engine.run_once()
    clock.now = 112.0           # (applied once the horizon passed it)
    engine.run_once()
    assert runner.done[-1] == ('bus_down', None)
    heard['since'] = 0.1        # the broker is back
    clock.now = 120.0
    engine.run_once()
    clock.now = 121.0
    engine.run_once()
    assert runner.done[-1] == ('bus_up', None)
    assert not [kind for kind, _ in runner.done if kind in (
        'suspect', 'declare_dead')]


def test_both_runners_stop_the_way_the_engine_command_stops_them():
    # (freezer-dr-engine stops its runner with wait=; a dry run's too.)
    runner = engine_module.DryRunRunner()
    runner.start()
    runner.stop(wait=10.0)


def test_the_events_queue_is_bounded_and_holds_back_the_consumers():
    """Issue 12: a consumer faster than the engine thread waits (its
    messages stay with the broker) instead of growing the queue."""
    mailbox = engine_module.Mailbox(max_batches=2)
    mailbox.deliver_events([beat(1.0, 'x', 1)])
    mailbox.deliver_events([beat(2.0, 'x', 2)])
    third = threading.Thread(target=mailbox.deliver_events,
                             args=([beat(3.0, 'x', 3)],), daemon=True)
    third.start()
    third.join(0.5)
    assert third.is_alive()             # held back
    assert mailbox.events.qsize() == 2
    mailbox.events.get()
    third.join(5)
    assert not third.is_alive()
    assert mailbox.events.qsize() == 2
