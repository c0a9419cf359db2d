"""The one-shot ``freezer-dr`` command: monitor → fence → isolate →
evacuate → notify through the same workflow and journal as the engine
(test plugins count what is done)."""

import signal
import subprocess

from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import PLUGINS
from tests.helpers import command
from tests.helpers import wait_for


def _run(conf, *args):
    return subprocess.run([command(args[0]), '--config-file', str(conf),
                           *args[1:]], capture_output=True, text=True,
                          timeout=120)


def test_oneshot_recovers_each_failed_host_once(tmp_path, monkeypatch,
                                                plugin_dir):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text(
        '[database]\nconnection = sqlite:///%s\n'
        '[recovery]\nmonitor = %sStaticMonitor\nfencer = %sSwitchFencer\n'
        'evacuator = %sCountingEvacuator\nnotifiers = %sCountingNotifier\n'
        'isolator = %sCountingIsolator\n'
        % (tmp_path / 'journal.sqlite', PLUGINS, PLUGINS, PLUGINS, PLUGINS,
           PLUGINS))
    assert _run(conf, 'freezer-dr-manage', 'db', 'sync').returncode == 0

    monkeypatch.setenv('FREEZER_DR_TEST_FAILED_HOSTS', '')
    none = _run(conf, 'freezer-dr')
    assert none.returncode == 0, none.stderr
    assert none.stdout == 'No failed nodes\n'

    monkeypatch.setenv('FREEZER_DR_TEST_FAILED_HOSTS', 'c-1,c-2')
    first = _run(conf, 'freezer-dr')
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        'Failed nodes: c-1, c-2',
        'c-1: recovered (fence done, isolate done, evacuate done, '
        'notify done)',
        'c-2: recovered (fence done, isolate done, evacuate done, '
        'notify done)']
    assert len(plugins.records(plugin_dir, 'evacuated')) == 4
    # Run again (cron): the journal says they were recovered; nothing is
    # fenced or evacuated twice.
    again = _run(conf, 'freezer-dr')
    assert again.returncode == 0, again.stderr
    assert 'c-1: already recovered (journal)' in again.stdout
    assert len(plugins.records(plugin_dir, 'fenced')) == 2
    assert len(plugins.records(plugin_dir, 'evacuate-calls')) == 2

    # A BMC that does not answer: failed, nothing evacuated, exit 1.
    (plugin_dir / 'power-fails').write_text('')
    monkeypatch.setenv('FREEZER_DR_TEST_FAILED_HOSTS', 'c-3')
    failed = _run(conf, 'freezer-dr')
    assert failed.returncode == 1
    assert failed.stdout.splitlines()[1].startswith(
        'c-3: FAILED at fence: power-off not confirmed')
    assert [r['host'] for r in plugins.records(plugin_dir,
                                               'evacuate-calls')] == [
        'c-1', 'c-2']
    assert plugins.records(plugin_dir, 'notified')[-1] == {
        'host': 'c-3', 'recovered': False, 'failed_step': 'fence',
        'instances': 0, 'pid': plugins.records(
            plugin_dir, 'notified')[-1]['pid']}
    # Not run again until an operator retries it.
    refused = _run(conf, 'freezer-dr')
    assert refused.returncode == 1
    assert 'recovery retry c-3' in refused.stdout
    assert len(plugins.records(plugin_dir, 'fenced')) == 3
    (plugin_dir / 'power-fails').unlink()
    assert _run(conf, 'freezer-dr-manage', 'recovery', 'retry',
                'c-3').returncode == 0
    retried = _run(conf, 'freezer-dr')
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert 'c-3: recovered' in retried.stdout


def test_oneshot_refuses_to_act_beside_an_engine(
        make_cloud, processes, monkeypatch, plugin_dir, sqlite_url):
    """Its writes are not fenced: while a freezer-dr-engine leads the same
    journal, the one-shot command fences nothing and says why; once the
    engine stopped, it runs."""
    d = deployment.Deployment(
        make_cloud, processes, sqlite_url, PLUGINS + 'SwitchFencer',
        recovery__monitor=PLUGINS + 'StaticMonitor',
        coordination__lease='3')
    try:
        engine = d.start_engine()
        wait_for(lambda: d.journal.leader()[1], 30,
                 message='the engine elected\n' + engine.log())
        monkeypatch.setenv('FREEZER_DR_TEST_FAILED_HOSTS', 'c-9')
        refused = _run(d.cloud.config, 'freezer-dr')
        assert refused.returncode == 1
        assert 'refused: freezer-dr-engine' in refused.stderr
        assert plugins.records(plugin_dir, 'fenced') == []
        engine.stop(signal.SIGTERM)
        ran = _run(d.cloud.config, 'freezer-dr')
        assert ran.returncode == 0, ran.stderr
        assert [r['host'] for r in plugins.records(plugin_dir, 'fenced')] \
            == ['c-9']
    finally:
        d.close()


def test_the_heartbeat_monitor_recovers_what_a_detect_only_engine_declared(
        make_cloud, processes, plugin_dir, tmp_path):
    """A detect-only engine ([engine] dry_run, with a journal) watches the
    heartbeats and writes the host it declares dead to the journal; the
    one-shot's heartbeat monitor recovers it, once per death (its boot)."""
    journal = 'sqlite:///%s' % (tmp_path / 'journal.sqlite')
    cloud = make_cloud(database__connection=journal)
    engine = deployment.start_engine(processes, cloud)
    agent = deployment.start_agent(processes, cloud, 'hb-1')
    wait_for(lambda: 'hb-1' in cloud.hosts_up(), 60, message='the agent')
    agent.stop(signal.SIGKILL)
    dead = wait_for(lambda: cloud.of('declare_dead', 'hb-1'), 60,
                    message='hb-1 declared dead')
    wait_for(lambda: "written to the journal's declarations" in
             engine.log(), 30, message='the declaration written\n'
             + engine.log()[-2000:])
    conf = tmp_path / 'oneshot.conf'
    conf.write_text(
        '[database]\nconnection = %s\n'
        '[recovery]\nmonitor = heartbeat\nfencer = %sSwitchFencer\n'
        'evacuator = %sCountingEvacuator\nnotifiers = %sCountingNotifier\n'
        'isolator = %sCountingIsolator\n'
        % (journal, PLUGINS, PLUGINS, PLUGINS, PLUGINS))
    first = _run(conf, 'freezer-dr')
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines() == [
        'Failed nodes: hb-1',
        'hb-1: recovered (fence done, isolate done, evacuate done, '
        'notify done)']
    again = _run(conf, 'freezer-dr')
    assert again.returncode == 0, again.stderr
    assert 'hb-1: already recovered (journal)' in again.stdout
    assert len(plugins.records(plugin_dir, 'fenced')) == 1
    shown = _run(conf, 'freezer-dr-manage', 'recovery', 'list')
    assert dead[0]['boot_id'] in shown.stdout
