"""The engine's loop with a virtual clock: events from several workers are
applied in the order they were received, as a replay would."""

import functools
import threading

from freezer_dr import engine as engine_module
from freezer_dr import events
from freezer_dr.journal import api
from freezer_dr.liveness import settings
from freezer_dr.recovery import runner as runner_module
from freezer_dr.recovery import workflow


class Runner:
    def __init__(self):
        self.done = []

    def carry_out(self, action):
        self.done.append((action.kind, action.host))


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def _engine(clock, hearing=lambda: None):
    runner = Runner()
    mailbox = engine_module.Mailbox()
    engine = engine_module.Engine(settings.LivenessSettings(), runner,
                                  mailbox, deaf_after=1.5, hearing=hearing,
                                  clock=clock)
    return engine, mailbox, runner


def _beat(at, host, seq):
    return events.Heartbeat(at, host, seq, 'boot-' + host, at)


def test_batches_from_two_workers_are_applied_in_received_order():
    clock = Clock(100.0)
    engine, mailbox, runner = _engine(clock)
    for second in range(20):
        mailbox.deliver_events([_beat(100.0 + second, 'x', second + 1),
                               _beat(100.0 + second, 'y', second + 1)])
    clock.now = 120.0
    engine.run_once()
    last = 119.0
    # x is suspect 2.7 s after its last heartbeat.
    clock.now = last + 2.7 + engine_module.SETTLE
    engine.run_once()
    assert ('suspect', 'x') in runner.done
    # Worker B hands over y's heartbeat of last+4.01 before worker A hands
    # over x's of last+3.4 (received first): x's counts, x is not dead.
    mailbox.deliver_events([_beat(last + 4.01, 'y', 21)])
    mailbox.deliver_events([_beat(last + 3.4, 'x', 21)])
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
    mailbox.deliver_events([_beat(100.0, 'x', 1)])
    clock.now = 100.5
    engine.run_once()
    heard['since'] = 2.0            # no canary for 2 s: deaf
    clock.now = 101.0
    engine.run_once()
    clock.now = 130.0
    engine.run_once()
    assert ('bus_down', None) in runner.done
    assert ('declare_dead', 'x') not in runner.done


# --- the recovery runner on the engine's thread --------------------------

class Flow:
    """Stands for the Workflow: runs the steps as told, reports progress
    (the real Workflow against real journals is in tests/functional)."""

    def __init__(self, results=None):
        self.results = results or {}
        self.runs = []

    def run(self, host, incarnation, reason, progress=None):
        self.runs.append((host, incarnation))
        steps = []
        for step in workflow.STEPS:
            progress(step, workflow.STARTED)
            status = self.results.get(step, 'done')
            progress(step, status)
            steps.append((step, workflow.StepResult(status, '')))
            if status == 'failed' and step != workflow.NOTIFY:
                return workflow.Outcome(host, incarnation, False,
                                        tuple(steps), 7)
        return workflow.Outcome(host, incarnation, True, tuple(steps), 7)


class Journal:
    def __init__(self, outstanding=()):
        self._outstanding = list(outstanding)

    def outstanding(self):
        return self._outstanding

    def unfinished(self):
        return []

    def rearmed_since(self, since):
        return []

    def last_rearmed_at(self):
        return None


def _recovering_engine(clock, flow, journal=None):
    mailbox = engine_module.Mailbox()
    runner = runner_module.RecoveryRunner(flow, journal or Journal(),
                                          mailbox, max_parallel=2,
                                          poll_interval=60)
    engine = engine_module.Engine(settings.LivenessSettings(), runner,
                                  mailbox, deaf_after=1.5,
                                  hearing=lambda: None, clock=clock)
    return engine, mailbox, runner


def _until(engine, condition, clock):
    for _ in range(500):
        engine.run_once(0.01)
        if condition():
            return True
        clock.now += 0.01
    return False


def _declare_dead(engine, mailbox, clock, host='x'):
    for second in range(10):
        mailbox.deliver_events([_beat(100.0 + second, host, second + 1)])
    clock.now = 130.0
    engine.run_once()


def test_a_dead_host_is_recovered_off_the_engine_thread():
    clock = Clock(100.0)
    flow = Flow()
    engine, mailbox, runner = _recovering_engine(clock, flow)
    _declare_dead(engine, mailbox, clock)
    assert _until(engine, lambda: engine.core.state_of('x') == 'recovered',
                  clock)
    assert flow.runs == [('x', 'boot-x')]
    runner.stop()


def test_a_failed_fence_ends_in_recovery_failed():
    clock = Clock(100.0)
    engine, mailbox, runner = _recovering_engine(
        clock, Flow({'fence': 'failed'}))
    _declare_dead(engine, mailbox, clock)
    assert _until(engine, lambda: engine.core.state_of('x') ==
                  'recovery_failed', clock)
    runner.stop()


def test_the_journal_is_taken_back_before_any_heartbeat():
    clock = Clock(100.0)
    flow = Flow()
    journal = Journal([api.RecoveryRecord(1, 'x', 'boot-x', api.RUNNING,
                                          'dead', 1.0, 1.0),
                       api.RecoveryRecord(2, 'y', 'boot-y', api.DONE,
                                          'dead', 1.0, 1.0)])
    engine, mailbox, runner = _recovering_engine(clock, flow, journal)
    runner.start()
    mailbox.deliver_events([_beat(100.0, 'y', 1)])
    assert _until(engine, lambda: engine.core.state_of('x') == 'recovered',
                  clock)
    assert flow.runs == [('x', 'boot-x')]
    assert engine.core.state_of('y') == 'recovered'    # not up
    runner.stop()


def test_one_recovery_per_host_at_a_time():
    clock = Clock(100.0)
    release = threading.Event()

    class Blocking(Flow):
        def run(self, host, incarnation, reason, progress=None):
            self.started = True
            release.wait(30)
            return super().run(host, incarnation, reason, progress)
    flow = Blocking()
    flow.started = False
    engine, mailbox, runner = _recovering_engine(clock, flow)
    _declare_dead(engine, mailbox, clock)
    record = api.RecoveryRecord(1, 'x', 'boot-x', api.RUNNING, 'dead', 1.0,
                                1.0)
    # The journal poller sees it running (and an operator's retry would
    # too): not started a second time while under way.
    mailbox.post(functools.partial(runner._on_polled, 1, [record], []))
    assert _until(engine, lambda: flow.started, clock)
    engine.run_once()
    release.set()
    assert _until(engine, lambda: engine.core.state_of('x') == 'recovered',
                  clock)
    assert flow.runs == [('x', 'boot-x')]
    runner.stop()
