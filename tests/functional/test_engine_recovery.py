"""The engine recovers dead hosts, for real: freezer-dr-engine processes on
RabbitMQ, real freezer-dr-agent processes, the ipmi fencer against the BMC
simulator, a journal on sqlite, PostgreSQL and MariaDB; the evacuator and
notifiers are the test plugins of tests/functional/plugins.py, which count
what they do in files (across engine processes)."""

import os
import signal

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import HOST
from tests.functional.deployment import PLUGINS
from tests.functional.deployment import manage
from tests.helpers import wait_for


def test_a_dead_host_is_fenced_evacuated_and_rearmed(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        sqlite_url):
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = deployment.Deployment(
        make_cloud, processes, sqlite_url, PLUGINS + 'IpmiFencer',
        recovery__notifiers=PLUGINS + 'FailingNotifier,' + PLUGINS +
        'CountingNotifier,log')
    try:
        d.start_engine()
        agent = deployment.start_agent(processes, d.cloud, HOST)
        deployment.kill_agent_and_wait_dead(d, agent)
        wait_for(lambda: 'recovered' in [
            s['state'] for s in d.cloud.of('state', HOST)], 60,
            message='recovered in the decisions file\n' + d.logs())
        assert d.triggers() == ['fence_started', 'fence_confirmed',
                                'evacuation_started', 'evacuation_done']
        # Fenced through IPMI: the BMC powered off, once.
        assert bmc.status()['power'] == 'off'
        assert bmc.status()['counts']['power_off'] == 1
        assert bmc.status()['counts']['power_on'] == 0
        evacuated = plugins.records(plugin_dir, 'evacuated')
        assert sorted(r['instance'] for r in evacuated) == [
            HOST + '-vm-0', HOST + '-vm-1']
        assert len(plugins.records(plugin_dir, 'isolated')) == 1
        wait_for(lambda: d.recovery().status == api.DONE, 30,
                 message='the recovery done in the journal')
        # One notifier failing stopped no other.
        assert [(n['host'], n['recovered']) for n in plugins.records(
            plugin_dir, 'notified')] == [(HOST, True)]
        assert len(plugins.records(plugin_dir, 'failed-notifications')) == 3
        steps = d.steps()
        assert {n: s.status for n, s in steps.items()
                if not n.startswith('notify:')} == {
            'fence': 'done', 'isolate': 'done', 'evacuate': 'done',
            'instance:compute-1-vm-0': 'done',
            'instance:compute-1-vm-1': 'done', 'notify': 'failed'}
        assert 'after 3 attempts' in steps['notify'].detail
        assert 'Recovery of compute-1: fence done in' in d.logs()
        assert bmc.password not in d.logs()
        # It stays out of service until an operator re-arms it.
        assert d.recovery().rearmed_at is None
        rearm = manage(d.cloud, 'host', 'rearm', HOST, '--by', 'tester')
        assert rearm.returncode == 0, rearm.stderr
        wait_for(lambda: 'rearm' in d.triggers(), 30,
                 message='the engine learns of the rearm')
        assert d.recovery().rearmed_by == 'tester'
        # The repaired host's agent is heard again: up.
        deployment.start_agent(processes, d.cloud, HOST)
        wait_for(lambda: len(d.cloud.of('up', HOST)) == 2, 30,
                 message='%s up again' % HOST)
    finally:
        d.close()


def test_killed_after_each_step_fences_and_evacuates_exactly_once(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir, db_url):
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = deployment.Deployment(make_cloud, processes, db_url,
                              PLUGINS + 'IpmiFencer')
    gated = ('isolate', 'evacuate', 'notify')
    for step in gated:
        (plugin_dir / ('gate-' + step)).write_text('')
    try:
        engine = d.start_engine()
        agent = deployment.start_agent(processes, d.cloud, HOST)
        deployment.kill_agent_and_wait_dead(d, agent)
        # Killed after fence (waiting in isolate), after isolate (waiting
        # in evacuate), after evacuate (waiting in notify): each time the
        # next engine resumes from the journal.
        for step in gated:
            reached = plugin_dir / ('reached-' + step)
            wait_for(reached.exists, 60, message='the recovery at %s\n%s'
                     % (step, d.logs()))
            assert engine.pid == int(reached.read_text())
            engine.stop(signal.SIGKILL)
            assert d.recovery().status == api.RUNNING
            (plugin_dir / ('open-' + step)).write_text('')
            engine = d.start_engine()
        # After notify: the recovery is done in the journal; the next
        # engine takes the host back as recovered, and repeats nothing.
        wait_for(lambda: d.recovery().status == api.DONE, 60,
                 message='the recovery done\n' + d.logs())
        engine.stop(signal.SIGKILL)
        d.start_engine()
        wait_for(lambda: 'journal_recovered' in d.triggers(), 60,
                 message='the last engine takes the host back')
        assert bmc.status()['counts']['power_off'] == 1
        assert bmc.status()['power'] == 'off'
        evacuated = [r['instance'] for r in plugins.records(plugin_dir,
                                                             'evacuated')]
        assert sorted(evacuated) == [HOST + '-vm-0', HOST + '-vm-1']
        assert len(plugins.records(plugin_dir, 'evacuate-calls')) == 1
        assert len(plugins.records(plugin_dir, 'isolated')) == 1
        assert len(plugins.records(plugin_dir, 'notified')) == 1
        steps = d.steps()
        assert steps['fence'].attempts == 1
        assert steps['isolate'].attempts == 2     # killed while under way
        assert steps['evacuate'].attempts == 2
        assert steps['notify'].attempts == 2
        # Every engine said in the decisions file where it took the host
        # back (a killed one may not have written its last progress: the
        # journal, not the decisions file, is the truth).
        assert d.triggers()[-1] == 'journal_recovered'
        assert d.triggers().count('recovery_resumed') == 3
        assert d.cloud.of('state', HOST)[-1]['state'] == 'recovered'
        # Re-armed while no engine runs: the next engine learns it from the
        # journal, and the host is up again with its next heartbeat.
        d.engines[-1].stop(signal.SIGKILL)
        rearm = manage(d.cloud, 'host', 'rearm', HOST)
        assert rearm.returncode == 0, rearm.stderr
        d.start_engine()
        deployment.start_agent(processes, d.cloud, HOST)
        wait_for(lambda: len(d.cloud.of('up', HOST)) == 2, 60,
                 message='%s up again after the rearm' % HOST)
        assert d.triggers().count('journal_recovered') == 1
        assert bmc.status()['counts']['power_off'] == 1
    finally:
        d.close()


def test_a_failed_fence_is_retried_by_the_operator(
        make_cloud, processes, plugin_dir, sqlite_url):
    (plugin_dir / 'power-fails').write_text('')
    d = deployment.Deployment(make_cloud, processes, sqlite_url,
                              PLUGINS + 'SwitchFencer',
                              recovery__auto_rearm='true')
    try:
        d.start_engine()
        agent = deployment.start_agent(processes, d.cloud, HOST)
        deployment.kill_agent_and_wait_dead(d, agent)
        wait_for(lambda: 'fence_failed' in d.triggers(), 60,
                 message='the fence failed\n' + d.logs())
        wait_for(lambda: d.recovery().status == api.FAILED, 30,
                 message='the recovery failed in the journal')
        # Nothing evacuated, the administrators told of the failure.
        assert plugins.records(plugin_dir, 'evacuate-calls') == []
        assert [(n['recovered'], n['failed_step']) for n in plugins.records(
            plugin_dir, 'notified')] == [(False, 'fence')]
        shown = manage(d.cloud, 'recovery', 'show', str(d.recovery().id))
        assert shown.returncode == 0, shown.stderr
        assert 'safety rule 1' in shown.stdout
        # The BMC answers again; the operator retries.
        os.unlink(plugin_dir / 'power-fails')
        retry = manage(d.cloud, 'recovery', 'retry', HOST)
        assert retry.returncode == 0, retry.stderr
        wait_for(lambda: 'evacuation_done' in d.triggers(), 60,
                 message='the retried recovery\n' + d.logs())
        # auto_rearm: back in service by itself once every evacuation
        # finished.
        wait_for(lambda: 'rearm' in d.triggers(), 30,
                 message='automatic rearm')
        assert d.triggers() == [
            'fence_started', 'fence_failed', 'retry', 'fence_started',
            'fence_confirmed', 'evacuation_started', 'evacuation_done',
            'rearm']
        assert d.recovery().rearmed_by == 'auto_rearm'
        assert len(plugins.records(plugin_dir, 'evacuated')) == 2
        assert [f['confirmed'] for f in plugins.records(
            plugin_dir, 'fenced')] == [False, True]
    finally:
        d.close()
