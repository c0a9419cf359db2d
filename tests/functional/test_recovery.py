"""The recovery workflow against the real journal databases (sqlite,
PostgreSQL, MariaDB); drivers are small stand-ins that count what they
do (tests/functional/standins.py; the real BMC, nova and SMTP peers come
with their drivers)."""

import threading

import pytest

from freezer_dr.journal import api
from freezer_dr.recovery import workflow
from tests.functional.standins import Evacuator
from tests.functional.standins import Fencer
from tests.functional.standins import Notifier


class Crash(BaseException):
    """The engine dies (SIGKILL) right after a step."""


def _workflow(journal, fencer, evacuator, notifiers, **kw):
    if not isinstance(notifiers, dict):
        notifiers = {'test': notifiers}
    return workflow.Workflow(journal, fencer, evacuator, notifiers, **kw)


def test_a_confirmed_fence_leads_to_evacuation_and_notice(journal):
    fencer, evac, notifier = Fencer(), Evacuator(), Notifier()
    outcome = _workflow(journal, fencer, evac, notifier).run(
        'compute-1', 'boot-a', 'declared dead')
    assert outcome.recovered
    assert [name for name, _ in outcome.steps] == list(workflow.STEPS)
    assert fencer.calls == 1 and evac.evacuated == ['i-1', 'i-2']
    assert notifier.sent == ['recovered compute-1']
    rec = journal.history('compute-1')[0]
    assert rec.status == api.DONE
    steps = {s.name: s.status for s in journal.steps(rec.id)}
    assert steps == {'fence': 'done', 'isolate': 'skipped',
                     'instance:i-1': 'done', 'instance:i-2': 'done',
                     'evacuate': 'done', 'notify': 'done',
                     'notify:test': 'done'}
    report = notifier.reports[0]
    assert report.recovered and report.host == 'compute-1'
    assert [i.id for i in report.projects['p-1']] == ['i-1', 'i-2']
    assert [s.name for s in report.steps] == ['fence', 'isolate',
                                              'evacuate']
    # Running it again (a restarted engine) repeats nothing.
    again = _workflow(journal, fencer, evac, notifier).run(
        'compute-1', 'boot-a', 'declared dead')
    assert again.recovered and fencer.calls == 1
    assert evac.evacuated == ['i-1', 'i-2']


def test_the_evacuation_is_prepared_while_the_host_is_fenced(journal):
    """The evacuator reads ahead (its prepare) while the fence runs: the
    fencer here waits for that read, so a prepare called only after the
    fence would show as not seen; a resumed recovery past its isolation
    has nothing to prepare."""
    prepared = threading.Event()

    class ReadingAhead(Evacuator):
        def __init__(self):
            super().__init__()
            self.prepared = []

        def prepare(self, host):
            self.prepared.append(host)
            prepared.set()

    class Waiting(Fencer):
        def fence(self, host):
            self.saw_prepare = prepared.wait(10)
            return super().fence(host)

    fencer, evac = Waiting(), ReadingAhead()
    outcome = _workflow(journal, fencer, evac, Notifier()).run(
        'compute-1', 'boot-a', 'declared dead')
    assert outcome.recovered and fencer.saw_prepare
    assert evac.prepared == ['compute-1']
    assert evac.evacuated == ['i-1', 'i-2']
    # Fenced and isolated before a restart: no second prepare.
    flow = _workflow(journal, Fencer(), evac, Notifier())
    real = journal.step_finished

    def crash_after_isolate(recovery_id, name, status, detail='',
                            epoch=None):
        real(recovery_id, name, status, detail, epoch=epoch)
        if name == workflow.ISOLATE:
            raise Crash()
    journal.step_finished = crash_after_isolate
    with pytest.raises(Crash):
        flow.run('compute-2', 'boot-a', 'dead')
    journal.step_finished = real
    assert evac.prepared == ['compute-1', 'compute-2']
    assert _workflow(journal, Fencer(), evac, Notifier()).run(
        'compute-2', 'boot-a', 'dead').recovered
    assert evac.prepared == ['compute-1', 'compute-2']


@pytest.mark.parametrize('crash_after', workflow.STEPS)
def test_killed_after_any_step_resumes_without_repeating(journal,
                                                         crash_after):
    fencer, evac, notifier = Fencer(), Evacuator(), Notifier()
    flow = _workflow(journal, fencer, evac, notifier)
    real = journal.step_finished

    def finished_then_crash(recovery_id, name, status, detail='',
                            epoch=None):
        real(recovery_id, name, status, detail, epoch=epoch)
        if name == crash_after:
            raise Crash()
    journal.step_finished = finished_then_crash
    with pytest.raises(Crash):
        flow.run('compute-2', 'boot-a', 'dead')
    journal.step_finished = real
    assert [r.host for r in journal.unfinished()] == ['compute-2']
    outcome = _workflow(journal, fencer, evac, notifier).run(
        'compute-2', 'boot-a', 'dead')
    assert outcome.recovered
    assert fencer.calls == 1                    # fenced exactly once
    assert evac.evacuated == ['i-1', 'i-2']     # each instance once
    assert journal.unfinished() == []


def test_an_unconfirmed_fence_stops_everything(journal):
    fencer, evac, notifier = Fencer(confirm=False), Evacuator(), Notifier()
    outcome = _workflow(journal, fencer, evac, notifier).run(
        'compute-3', 'boot-a', 'dead')
    assert not outcome.recovered
    assert evac.evacuated == []
    assert notifier.sent == ['could NOT recover compute-3']
    rec = journal.history('compute-3')[0]
    assert rec.status == api.FAILED
    fence = journal.steps(rec.id)[0]
    assert fence.status == api.FAILED and 'safety rule 1' in fence.detail


def test_the_operator_override_allows_an_unfenced_evacuation(journal):
    fencer, evac, notifier = Fencer(confirm=False), Evacuator(), Notifier()
    outcome = _workflow(journal, fencer, evac, notifier,
                        unfenced_evacuation={'compute-4'}).run(
        'compute-4', 'boot-a', 'dead')
    assert outcome.recovered and evac.evacuated == ['i-1', 'i-2']
    fence = journal.steps(journal.history('compute-4')[0].id)[0]
    assert 'operator override' in fence.detail


def test_a_driver_that_raises_fails_the_recovery_cleanly(journal):
    class Broken(Evacuator):
        def evacuate(self, host, guard=None):
            raise RuntimeError('nova is down')
    notifier = Notifier()
    outcome = _workflow(journal, Fencer(), Broken(), notifier).run(
        'compute-5', 'boot-a', 'dead')
    assert not outcome.recovered
    step = journal.steps(journal.history('compute-5')[0].id)[2]
    assert step.status == api.FAILED and 'nova is down' in step.detail
    assert notifier.sent == ['could NOT recover compute-5']


# --- retries, several notifiers, one recovery per incarnation ------------

class Flaky(Evacuator):
    """nova unreachable for the first ``failures`` calls."""

    def __init__(self, failures):
        super().__init__()
        self.failures = failures
        self.calls = 0

    def evacuate(self, host, guard=None):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError('nova-api unreachable')
        return super().evacuate(host)


class Broken(Notifier):
    def notify(self, report):
        self.sent.append('raised')
        raise ConnectionError('SMTP server down')


def test_a_step_that_raises_is_retried_then_succeeds(journal):
    evac, slept = Flaky(2), []
    outcome = _workflow(journal, Fencer(), evac, Notifier(),
                        step_attempts=3, step_retry_delay=0.5,
                        sleep=slept.append).run('compute-6', 'b', 'dead')
    assert outcome.recovered and evac.calls == 3
    assert slept == [0.5, 1.0]
    assert evac.evacuated == ['i-1', 'i-2']


def test_a_step_that_keeps_raising_fails_with_the_reason(journal):
    evac, notifier = Flaky(10), Notifier()
    outcome = _workflow(journal, Fencer(), evac, notifier, step_attempts=3,
                        sleep=lambda s: None).run('compute-7', 'b', 'dead')
    assert not outcome.recovered and evac.calls == 3
    step = {s.name: s for s in journal.steps(outcome.recovery_id)}
    assert step['evacuate'].status == api.FAILED
    assert 'after 3 attempts: ConnectionError: nova-api unreachable' in \
        step['evacuate'].detail
    assert notifier.sent == ['could NOT recover compute-7']


def test_every_notifier_is_told_even_when_one_fails(journal):
    broken, good = Broken(), Notifier()
    outcome = _workflow(journal, Fencer(), Evacuator(),
                        {'email': broken, 'webhook': good}, step_attempts=2,
                        sleep=lambda s: None).run('compute-8', 'b', 'dead')
    assert outcome.recovered        # the hosts were recovered all the same
    assert good.sent == ['recovered compute-8']
    assert broken.sent == ['raised', 'raised']
    steps = {s.name: s for s in journal.steps(outcome.recovery_id)}
    assert steps['notify:email'].status == api.FAILED
    assert steps['notify:webhook'].status == api.DONE
    assert steps['notify'].status == api.FAILED
    assert '1 of 2 notifiers failed' in steps['notify'].detail
    # The report the notifiers got lists the recovery steps only.
    assert [s.name for s in good.reports[0].steps] == ['fence', 'isolate',
                                                       'evacuate']


def test_a_failed_recovery_runs_again_only_when_reopened(journal):
    fencer = Fencer(confirm=False)
    first = _workflow(journal, fencer, Evacuator(), Notifier()).run(
        'compute-9', 'b', 'dead')
    assert not first.recovered and fencer.calls == 1
    again = _workflow(journal, fencer, Evacuator(), Notifier()).run(
        'compute-9', 'b', 'dead')
    assert not again.recovered and fencer.calls == 1
    assert 'recovery retry compute-9' in again.refused
    journal.reopen(first.recovery_id)
    fencer.confirm = True
    retried = _workflow(journal, fencer, Evacuator(), Notifier()).run(
        'compute-9', 'b', 'dead')
    assert retried.recovered and fencer.calls == 2
    assert retried.recovery_id == first.recovery_id


def test_a_rearmed_host_dead_again_on_the_same_boot_is_recovered(journal):
    fencer, evac = Fencer(), Evacuator()
    first = _workflow(journal, fencer, evac, Notifier()).run(
        'compute-10', 'b', 'dead')
    assert journal.rearm(first.recovery_id, 'operator')
    second = _workflow(journal, fencer, evac, Notifier()).run(
        'compute-10', 'b', 'dead again')
    assert second.recovered and second.incarnation == 'b~2'
    assert fencer.calls == 2
    assert [r.incarnation for r in journal.history('compute-10')] == [
        'b~2', 'b']
    assert [r.incarnation for r in journal.outstanding()
            if r.host == 'compute-10'] == ['b~2']


def test_notifiers_that_can_are_told_when_a_recovery_starts(journal):
    class Recorder(Notifier):
        def __init__(self, fail=False):
            super().__init__()
            self.starts = []
            self.fail = fail

        def started(self, report):
            self.starts.append((report.host, report.incarnation,
                                report.reason))
            if self.fail:
                raise RuntimeError('broker gone')

    good, broken, plain = Recorder(), Recorder(fail=True), Notifier()
    flow = _workflow(journal, Fencer(), Evacuator(),
                     {'bus': good, 'other': broken, 'log': plain})
    outcome = flow.run('compute-8', 'boot-a', 'declared dead')
    assert outcome.recovered          # a failed announcement stops nothing
    assert good.starts == [('compute-8', 'boot-a', 'declared dead')]
    assert good.sent == plain.sent == ['recovered compute-8']
    # Resumed or run again: the start is not announced twice.
    flow.run('compute-8', 'boot-a', 'declared dead')
    assert len(good.starts) == 1


def test_a_deposed_leader_writes_and_calls_nothing_more(journal):  # noqa
    """Another engine is elected while the fencer works: the fence's
    result cannot be written under the old epoch, and nothing after it
    runs (issue 11: fencing tokens)."""
    old = journal.elect('engine-a')

    class Overtaken(Fencer):
        def fence(self, host):
            journal.elect('engine-b')
            return super().fence(host)

    fencer, evac, notifier = Overtaken(), Evacuator(), Notifier()
    flow = _workflow(journal, fencer, evac, notifier)
    with pytest.raises(api.Deposed, match='epoch %d is stale' % old):
        flow.run('compute-11', 'b', 'dead', epoch=old)
    assert fencer.calls == 1
    assert evac.evacuated == [] and notifier.sent == []
    rec = journal.history('compute-11')[0]
    assert rec.status == api.RUNNING
    assert [(s.name, s.status) for s in journal.steps(rec.id)] == [
        ('fence', api.STARTED)]


def test_the_guard_is_asked_before_every_driver_call(journal):  # noqa
    epoch = journal.elect('engine-a')
    asked = []

    def guard(checked):
        asked.append(checked)
        if len(asked) > 2:
            raise api.Deposed('lease expired')

    fencer, evac, notifier = Fencer(), Evacuator(), Notifier()
    with pytest.raises(api.Deposed, match='lease expired'):
        _workflow(journal, fencer, evac, notifier).run(
            'compute-12', 'b', 'dead', epoch=epoch, guard=guard)
    # Told the start (notifiers), fenced, then refused before isolating.
    assert asked == [epoch, epoch, epoch]
    assert fencer.calls == 1 and evac.evacuated == []
