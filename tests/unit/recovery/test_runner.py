"""The recovery runner (recovery/runner.py) in the engine's loop, with a
virtual clock and stand-ins for the workflow and the journal: a dead host
is recovered off the engine's thread, the journal is taken back before any
heartbeat, one recovery per host at a time."""

import functools
import threading

from freezer_dr import engine as engine_module
from freezer_dr.journal import api
from freezer_dr.liveness import settings
from freezer_dr.recovery import runner as runner_module
from freezer_dr.recovery import workflow
from tests.unit.helpers import Clock
from tests.unit.helpers import Leadership
from tests.unit.helpers import beat


class Flow:
    """Stands for the Workflow: runs the steps as told, reports progress
    (the real Workflow against real journals is in
    tests/functional/test_recovery.py)."""

    def __init__(self, results=None):
        self.results = results or {}
        self.runs = []

    def run(self, host, incarnation, reason, progress=None, epoch=None,
            guard=None, heard=None, alarm=None):
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
    """Stands for the journal: the recoveries it holds, nothing else."""

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

    def finished_since(self, since):
        return []

    def last_finished_at(self):
        return None

    def latest(self):
        return {}


def _recovering_engine(clock, flow, journal=None, leadership=None,
                       decisions_file=None):
    mailbox = engine_module.Mailbox()
    runner = runner_module.RecoveryRunner(flow, journal or Journal(),
                                          mailbox, max_parallel=2,
                                          poll_interval=60,
                                          leadership=leadership)
    engine = engine_module.Engine(settings.LivenessSettings(), runner,
                                  mailbox, deaf_after=1.5,
                                  hearing=lambda: None, clock=clock,
                                  leadership=leadership,
                                  decisions_file=decisions_file)
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
        mailbox.deliver_events([beat(100.0 + second, host, second + 1)])
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
    mailbox.deliver_events([beat(100.0, 'y', 1)])
    assert _until(engine, lambda: engine.core.state_of('x') == 'recovered',
                  clock)
    assert flow.runs == [('x', 'boot-x')]
    assert engine.core.state_of('y') == 'recovered'    # not up
    runner.stop()


def test_one_recovery_per_host_at_a_time():
    clock = Clock(100.0)
    release = threading.Event()

    class Blocking(Flow):
        def run(self, host, incarnation, reason, progress=None,
                epoch=None, guard=None, heard=None, alarm=None):
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


def test_a_standby_recovers_nobody_until_it_leads(tmp_path):
    clock = Clock(100.0)
    flow = Flow()
    leadership = Leadership(leads=False)
    decisions = tmp_path / 'decisions.jsonl'
    engine, mailbox, runner = _recovering_engine(
        clock, flow, leadership=leadership, decisions_file=str(decisions))
    runner.start()
    _declare_dead(engine, mailbox, clock)
    assert engine.core.state_of('x') == 'dead'
    for _ in range(20):
        engine.run_once(0.01)
    assert flow.runs == []
    # Its decisions file says whose they are.
    written = engine_module.decisions_from_file(str(decisions))
    dead = [d for d in written if d['action'] == 'declare_dead']
    assert dead and dead[0]['standby'] is True
    # Elected: the host its core holds dead is recovered, under its epoch.
    leadership.elected(8)
    assert _until(engine, lambda: engine.core.state_of('x') == 'recovered',
                  clock)
    assert flow.runs == [('x', 'boot-x')]
    engine.close()
    assert 'standby' not in engine_module.decisions_from_file(
        str(decisions))[-1]
    runner.stop()


def test_a_recovery_that_cannot_be_journaled_is_tried_again(monkeypatch):
    """The journal is unreachable when the host is declared dead: the
    decision is kept, and the recovery tried again after a backoff until
    it can be written (issue 11: no decision is lost)."""
    monkeypatch.setattr(runner_module, 'RETRY_DELAYS', (0.05, 0.1))
    clock = Clock(100.0)

    class Unreachable(Flow):
        def __init__(self):
            super().__init__()
            self.failures = 3

        def run(self, host, incarnation, reason, progress=None,
                epoch=None, guard=None, heard=None, alarm=None):
            if self.failures:
                self.failures -= 1
                raise ConnectionRefusedError('the journal is down')
            return super().run(host, incarnation, reason, progress)
    flow = Unreachable()
    engine, mailbox, runner = _recovering_engine(clock, flow)
    _declare_dead(engine, mailbox, clock)
    assert _until(engine, lambda: runner.waiting == ['x'], clock)
    assert engine.core.state_of('x') == 'dead'
    for _ in range(300):
        engine.run_once(0.01)
        if engine.core.state_of('x') == 'recovered':
            break
    assert engine.core.state_of('x') == 'recovered'
    assert flow.failures == 0 and flow.runs == [('x', 'boot-x')]
    assert runner.waiting == []
    runner.stop()


def _storm(engine, mailbox, clock):
    """Four hosts heartbeat; two go silent together: the second is held
    by the storm guard (2 of 4 failed)."""
    hosts = ['w', 'x', 'y', 'z']
    for second in range(10):
        mailbox.deliver_events([beat(100.0 + second, h, second + 1)
                                for h in hosts])
    for second in range(10, 30):
        mailbox.deliver_events([beat(100.0 + second, h, second + 1)
                                for h in ('w', 'z')])
    clock.now = 130.0
    engine.run_once()


def test_a_storm_begun_under_a_standby_is_alerted_once_it_leads():
    clock = Clock(100.0)
    leadership = Leadership(leads=False)
    engine, mailbox, runner = _recovering_engine(clock, Flow(),
                                                 leadership=leadership)
    runner.start()
    _storm(engine, mailbox, clock)
    assert engine.core.storm_active
    assert [a.kind for a in runner.alerts.raised] == []
    leadership.elected(8)
    assert _until(engine, lambda: [a.kind for a in runner.alerts.raised] ==
                  ['storm'], clock)
    for _ in range(20):
        engine.run_once(0.01)
    assert [a.kind for a in runner.alerts.raised] == ['storm']
    runner.stop()


def test_a_new_leader_leaves_a_held_recovery_to_the_operator():
    """Whatever the host said since (a new boot id): a recovery held over
    the fence budget is fenced only after an operator's release."""
    clock = Clock(100.0)
    flow = Flow()
    held = api.RecoveryRecord(3, 'x', 'unknown', api.HELD, 'dead', 1.0, 1.0)
    journal = Journal()
    journal.latest = lambda: {'x': held}
    leadership = Leadership(leads=False)
    engine, mailbox, runner = _recovering_engine(
        clock, flow, journal=journal, leadership=leadership)
    runner.start()
    _declare_dead(engine, mailbox, clock)
    leadership.elected(8)
    for _ in range(50):
        engine.run_once(0.01)
    assert flow.runs == []
    assert engine.core.state_of('x') == 'dead'
    runner.stop()
