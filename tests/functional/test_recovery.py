"""The recovery workflow against the real journal databases (sqlite,
PostgreSQL, MariaDB); drivers are small stand-ins that count what they
do (the real BMC, nova and SMTP peers come with their drivers)."""

import pytest

from freezer_dr.drivers import base
from freezer_dr.journal import api
from freezer_dr.recovery import workflow
from tests.functional.test_journal import journal  # noqa: F401
from tests.functional.test_journal import url  # noqa: F401


class Crash(BaseException):
    """The engine dies (SIGKILL) right after a step."""


class Fencer(base.Fencer):
    CAN_CONFIRM = True

    def __init__(self, confirm=True):
        self.calls = 0
        self.confirm = confirm

    def fence(self, host):
        self.calls += 1
        return base.FenceResult(host, self.confirm,
                                'power off read back' if self.confirm
                                else 'BMC did not answer')


class Evacuator(base.Evacuator):
    def __init__(self, instances=('i-1', 'i-2')):
        self.evacuated = []
        self.instances = instances

    def evacuate(self, host):
        self.evacuated.extend(self.instances)
        return [base.InstanceResult(i, True, 'ACTIVE on other',
                                    project_id='p-1', target_host='other')
                for i in self.instances]


class Notifier(base.Notifier):
    def __init__(self):
        self.sent = []
        self.reports = []

    def notify(self, report):
        self.reports.append(report)
        self.sent.append(('recovered %s' if report.recovered
                          else 'could NOT recover %s') % report.host)
        return 'sent'


def _workflow(journal, fencer, evacuator, notifier, **kw):  # noqa: F811
    return workflow.Workflow(journal, fencer, evacuator, notifier, **kw)


def test_a_confirmed_fence_leads_to_evacuation_and_notice(journal):  # noqa
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
                     'evacuate': 'done', 'notify': 'done'}
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


@pytest.mark.parametrize('crash_after', workflow.STEPS)
def test_killed_after_any_step_resumes_without_repeating(journal,  # noqa
                                                         crash_after):
    fencer, evac, notifier = Fencer(), Evacuator(), Notifier()
    flow = _workflow(journal, fencer, evac, notifier)
    real = journal.step_finished

    def finished_then_crash(recovery_id, name, status, detail=''):
        real(recovery_id, name, status, detail)
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


def test_an_unconfirmed_fence_stops_everything(journal):  # noqa: F811
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


def test_the_operator_override_allows_an_unfenced_evacuation(journal):  # noqa
    fencer, evac, notifier = Fencer(confirm=False), Evacuator(), Notifier()
    outcome = _workflow(journal, fencer, evac, notifier,
                        unfenced_evacuation={'compute-4'}).run(
        'compute-4', 'boot-a', 'dead')
    assert outcome.recovered and evac.evacuated == ['i-1', 'i-2']
    fence = journal.steps(journal.history('compute-4')[0].id)[0]
    assert 'operator override' in fence.detail


def test_a_driver_that_raises_fails_the_recovery_cleanly(journal):  # noqa
    class Broken(Evacuator):
        def evacuate(self, host):
            raise RuntimeError('nova is down')
    notifier = Notifier()
    outcome = _workflow(journal, Fencer(), Broken(), notifier).run(
        'compute-5', 'boot-a', 'dead')
    assert not outcome.recovered
    step = journal.steps(journal.history('compute-5')[0].id)[2]
    assert step.status == api.FAILED and 'nova is down' in step.detail
    assert notifier.sent == ['could NOT recover compute-5']
