"""The fence budget (``[recovery] max_fences`` per ``fence_window``), for
real: an engine process on RabbitMQ, real agents, one BMC simulator per
host fenced through IPMI, the journal on PostgreSQL (the journal's
side of the budget is tested on every database in test_journal.py).
Four hosts die one after the other with a budget of two: two are powered
off, two are held (never powered off) with one alert, and an operator
releases them one by one with ``freezer-dr-manage host release``."""

import signal

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import PLUGINS
from tests.functional.deployment import manage
from tests.helpers import wait_for
from tests.peers import fencers as peers

HOSTS = ['compute-b%d' % n for n in range(1, 5)]


def test_four_deaths_with_a_budget_of_two(make_cloud, processes, tmp_path,
                                          monkeypatch, plugin_dir,
                                          postgresql_url):
    bmcs = {host: peers.Bmc(processes, tmp_path, host) for host in HOSTS}
    monkeypatch.setenv('FREEZER_DR_TEST_IPMI_CREDENTIALS',
                       peers.credentials_file(tmp_path, {
                           host: (b.port, b.password)
                           for host, b in bmcs.items()}))
    d = deployment.Deployment(
        make_cloud, processes, postgresql_url, PLUGINS + 'IpmiFencer',
        recovery__max_fences='2', recovery__fence_window='3600',
        # (Independent of the storm guard: it is off here.)
        storm_guard__max_failed_hosts='0',
        storm_guard__max_failed_percent='0')
    powered_off = {h: lambda h=h: bmcs[h].status()['counts']['power_off']
                   for h in HOSTS}
    try:
        d.start_engine()
        agents = {h: deployment.start_agent(processes, d.cloud, h)
                  for h in HOSTS}
        wait_for(lambda: set(HOSTS) <= d.cloud.hosts_up(), 60,
                 message='every agent heard')
        for host in HOSTS:
            agents[host].stop(signal.SIGKILL)
            wait_for(lambda host=host: d.recovery(host) is not None and
                     d.recovery(host).status in (api.DONE, api.HELD), 60,
                     message='%s recovered or held\n%s' % (host, d.logs()))
        status = {h: d.recovery(h).status for h in HOSTS}
        assert status == {HOSTS[0]: api.DONE, HOSTS[1]: api.DONE,
                          HOSTS[2]: api.HELD, HOSTS[3]: api.HELD}
        assert [powered_off[h]() for h in HOSTS] == [1, 1, 0, 0]
        assert [bmcs[h].status()['power'] for h in HOSTS] == [
            'off', 'off', 'on', 'on']
        # Held hosts: nothing isolated or evacuated, one alert for both.
        assert sorted(r['host'] for r in plugins.records(
            plugin_dir, 'isolated')) == HOSTS[:2]
        wait_for(lambda: plugins.records(plugin_dir, 'alerts'), 30,
                 message='the alert')
        alerts = plugins.records(plugin_dir, 'alerts')
        assert [(a['kind'], a['host']) for a in alerts] == [
            ('fence_budget', HOSTS[2])]
        assert 'held over the fence budget' in d.logs()
        held = manage(d.cloud, 'host', 'held')
        assert held.returncode == 0, held.stderr
        assert [line.split()[0] for line in held.stdout.splitlines()] == \
            HOSTS[2:]
        # Released one by one: each is fenced and recovered in turn.
        for host in HOSTS[2:]:
            released = manage(d.cloud, 'host', 'release', host, '--by',
                              'tester')
            assert released.returncode == 0, released.stderr
            wait_for(lambda host=host: d.recovery(host).status == api.DONE,
                     60, message='%s recovered after its release\n%s'
                     % (host, d.logs()))
            assert powered_off[host]() == 1
            assert d.recovery(host).released_by == 'tester'
        assert [powered_off[h]() for h in HOSTS] == [1, 1, 1, 1]
        # Nothing left to release; still one alert.
        again = manage(d.cloud, 'host', 'release', HOSTS[3])
        assert again.returncode == 1
        assert 'no recovery held' in again.stderr
        assert len(plugins.records(plugin_dir, 'alerts')) == 1
        evacuated = plugins.records(plugin_dir, 'evacuated')
        assert sorted({r['host'] for r in evacuated}) == HOSTS
        assert len(evacuated) == 2 * len(HOSTS)
    finally:
        d.close()
