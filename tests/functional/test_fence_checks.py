"""A fence that is checked (issue 12, safety rule 8), for real: an engine
process, a real agent, the ipmi fencer against the BMC simulator. A BMC
that says "already off" while the host still speaks is not believed; a
host that speaks again after its fence was confirmed is never evacuated,
and the administrators get the split-brain alarm."""

import signal

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import HOST
from tests.functional.deployment import PLUGINS
from tests.helpers import wait_for


def _dead_while_frozen(d, processes):
    """The agent frozen (SIGSTOP) until its host is declared dead."""
    d.start_engine()
    agent = deployment.start_agent(processes, d.cloud, HOST)
    wait_for(lambda: HOST in d.cloud.hosts_up(), 60,
             message='the agent heard')
    agent.signal(signal.SIGSTOP)
    wait_for(lambda: d.cloud.of('declare_dead', HOST), 60,
             message='%s declared dead' % HOST)
    return agent


def test_a_bmc_saying_already_off_while_the_host_speaks_is_not_believed(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        sqlite_url):
    bmc = deployment.bmc(processes, tmp_path, monkeypatch, HOST,
                         '--lie-off')
    d = deployment.Deployment(make_cloud, processes, sqlite_url,
                              PLUGINS + 'IpmiFencer',
                              recovery__already_off_recheck='4')
    try:
        agent = _dead_while_frozen(d, processes)
        wait_for(lambda: 'fence_started' in d.triggers(), 30,
                 message='the fence begins\n' + d.logs())
        agent.signal(signal.SIGCONT)        # it was alive all along
        wait_for(lambda: d.recovery() and
                 d.recovery().status == api.FAILED, 60,
                 message='the recovery failed\n' + d.logs())
        fence = d.steps()['fence']
        assert fence.status == api.FAILED
        assert 'not believed' in fence.detail
        assert 'heard' in fence.detail
        wait_for(lambda: 'fence_failed' in d.triggers(), 30,
                 message='the core told')
        assert plugins.records(plugin_dir, 'isolated') == []
        assert plugins.records(plugin_dir, 'evacuated') == []
        assert [a['kind'] for a in plugins.records(plugin_dir, 'alerts')] \
            == ['fence_not_believed']
        assert bmc.status()['power'] == 'on'
    finally:
        d.close()


def test_a_host_speaking_after_its_fence_is_never_evacuated(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        sqlite_url):
    """The BMC powers "off" (the simulator), but the host's agent speaks
    again with the same boot id before the evacuation: a split brain."""
    deployment.bmc(processes, tmp_path, monkeypatch)
    d = deployment.Deployment(make_cloud, processes, sqlite_url,
                              PLUGINS + 'IpmiFencer')
    (plugin_dir / 'gate-isolate').write_text('')
    try:
        agent = _dead_while_frozen(d, processes)
        wait_for((plugin_dir / 'reached-isolate').exists, 60,
                 message='the recovery at isolate\n' + d.logs())
        assert d.steps()['fence'].status == api.DONE
        agent.signal(signal.SIGCONT)
        wait_for(lambda: d.cloud.of('ignored_heartbeat', HOST), 30,
                 message='the fenced host heard again\n' + d.logs())
        (plugin_dir / 'open-isolate').write_text('')
        wait_for(lambda: d.recovery().status == api.FAILED, 60,
                 message='the recovery failed\n' + d.logs())
        evacuate = d.steps()['evacuate']
        assert evacuate.status == api.FAILED
        assert evacuate.detail.startswith('split brain: %s heartbeats again'
                                          % HOST)
        assert plugins.records(plugin_dir, 'evacuated') == []
        assert [a['kind'] for a in plugins.records(plugin_dir, 'alerts')] \
            == ['split_brain']
        assert 'CRITICAL' in d.logs() and 'SPLIT BRAIN' in d.logs()
    finally:
        d.close()
