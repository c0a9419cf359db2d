"""A standby follows the leader's recoveries in the journal, so that when
it is elected it recovers only what is still to recover (issue 11; found
in review: a standby whose core still held a recovered, re-armed, rebooted
host dead powered it off again once elected). Two engines in one process,
on the virtual clock, sharing a real journal (sqlite, PostgreSQL,
MariaDB); the leadership is a stand-in told who leads (the real one is in
test_leadership.py)."""

import pytest

from freezer_dr import engine as engine_module
from freezer_dr import events
from freezer_dr.drivers import base
from freezer_dr.journal import api
from freezer_dr.liveness import settings
from freezer_dr.recovery import runner as runner_module
from freezer_dr.recovery import workflow
from tests.helpers import wait_for
from tests.unit.helpers import Clock
from tests.unit.helpers import Leadership


class Fencer(base.Fencer):
    CAN_CONFIRM = True

    def __init__(self):
        self.fenced = []

    def fence(self, host):
        self.fenced.append(host)
        return base.FenceResult(host, True, 'power off read back')


class Evacuator(base.Evacuator):
    def evacuate(self, host, guard=None):
        return []


class Side:
    """One engine: its runner, its leadership stand-in."""

    def __init__(self, journal, fencer, clock, leads):
        self.leadership = Leadership()
        if leads:
            self.leadership.elected(journal.elect('engine-a'))
        self.mailbox = engine_module.Mailbox()
        flow = workflow.Workflow(journal, fencer, Evacuator(), {})
        self.runner = runner_module.RecoveryRunner(
            flow, journal, self.mailbox, max_parallel=2, poll_interval=3600,
            leadership=self.leadership)
        self.engine = engine_module.Engine(
            settings.LivenessSettings(), self.runner, self.mailbox,
            deaf_after=1.5, hearing=lambda: None, clock=clock,
            leadership=self.leadership)

    def state(self):
        return self.engine.core.state_of('x')

    def poll(self):
        """The journal poller's pass, then the engine's."""
        self.runner._poll_once()
        self.settle()

    def settle(self, passes=50):
        for _ in range(passes):
            self.engine.run_once(0.01)


@pytest.fixture
def two(journal):
    clock = Clock(100.0)
    fencer = Fencer()
    a = Side(journal, fencer, clock, leads=True)
    b = Side(journal, fencer, clock, leads=False)
    a.runner._poll_once()
    b.runner._poll_once()           # (the load at start)
    yield clock, fencer, a, b
    a.runner.stop()
    b.runner.stop()


def _heartbeats(sides, clock, boot, start, count, then_silent=True):
    """``count`` heartbeats of x, one a second from ``start``; then, unless
    not ``then_silent``, 20 s of silence (declared dead)."""
    for n in range(count):
        event = events.Heartbeat(start + n, 'x', n + 1, boot, start + n)
        for side in sides:
            side.mailbox.deliver_events([event])
    clock.now = start + count + (20.0 if then_silent else 0.0)
    for side in sides:
        side.settle(5)


def test_a_new_leader_never_fences_a_host_the_old_one_recovered(
        two, journal):
    clock, fencer, a, b = two
    _heartbeats((a, b), clock, 'boot-1', 100.0, 10)
    assert a.state() in ('dead', 'fencing', 'fenced', 'evacuating',
                         'recovered')
    assert b.state() == 'dead'
    for _ in range(100):
        a.settle(5)
        if a.state() == 'recovered':
            break
    assert a.state() == 'recovered' and fencer.fenced == ['x']
    # The standby reads the journal: recovered there too. (The leader's
    # core says recovered at the evacuation's end; its worker writes the
    # journal's end after the notify step.)
    wait_for(lambda: journal.history('x')[0].status == api.DONE, 30,
             message='the recovery done in the journal')
    b.poll()
    assert b.state() == 'recovered'
    # The operator re-arms it; it reboots and heartbeats again.
    journal.rearm(journal.history('x')[0].id, 'operator')
    a.poll()
    b.poll()
    assert a.state() == b.state() == 'unknown'
    _heartbeats((a, b), clock, 'boot-2', 200.0, 5, then_silent=False)
    assert a.state() == b.state() == 'up'
    # The leader dies; the standby is elected: nothing to recover.
    b.leadership.elected(journal.elect('engine-b'))
    b.runner._follow_leadership()
    b.settle(100)
    assert fencer.fenced == ['x']
    assert [(r.incarnation, r.status) for r in journal.history('x')] == [
        ('boot-1', 'done')]


def test_a_new_leader_recovers_what_the_old_one_left(two, journal):
    clock, fencer, a, b = two
    # The leader is gone before it could begin (its journal write never
    # happened): the standby, elected, recovers the host it holds dead.
    a.leadership._epoch = None
    _heartbeats((a, b), clock, 'boot-1', 100.0, 10)
    assert b.state() == 'dead' and fencer.fenced == []
    b.leadership.elected(journal.elect('engine-b'))
    b.runner._follow_leadership()
    for _ in range(100):
        b.settle(5)
        if b.state() == 'recovered':
            break
    assert b.state() == 'recovered' and fencer.fenced == ['x']
    assert [(r.incarnation, r.status) for r in journal.history('x')] == [
        ('boot-1', 'done')]


def test_a_standby_slower_than_the_leader_follows_all_the_same(
        two, journal):
    """The leader recovered the host before the standby even declared it
    dead: the finished recovery waits for the standby's declaration, then
    applies; and once elected, the standby fences nothing."""
    clock, fencer, a, b = two
    _heartbeats((a,), clock, 'boot-1', 100.0, 10)
    for _ in range(100):
        a.settle(5)
        if a.state() == 'recovered':
            break
    assert a.state() == 'recovered'
    b.poll()                        # read before b knows the host
    _heartbeats((b,), clock, 'boot-1', 130.0, 10)
    assert b.state() == 'dead'
    b.poll()
    assert b.state() == 'recovered'
    b.leadership.elected(journal.elect('engine-b'))
    b.runner._follow_leadership()
    b.settle(100)
    assert fencer.fenced == ['x']


def test_a_new_leader_checks_the_journal_before_it_recovers(two, journal):
    """Elected with the host still dead in its core although the journal
    holds its recovery, done and re-armed (a standby that missed it all):
    it catches up, and fences nothing."""
    clock, fencer, a, b = two
    _heartbeats((a, b), clock, 'boot-1', 100.0, 10)
    for _ in range(100):
        a.settle(5)
        if a.state() == 'recovered':
            break
    journal.rearm(journal.history('x')[0].id, 'operator')
    assert b.state() == 'dead'      # b never polled
    b.leadership.elected(journal.elect('engine-b'))
    b.runner._follow_leadership()
    b.settle(100)
    assert fencer.fenced == ['x']
    assert b.state() == 'unknown'
