"""A network partition cuts the engine off from half of the hosts (issue
11): their agents reach RabbitMQ through a TCP proxy that the test cuts.
The engine hears fewer than ``[recovery] min_heard_fraction`` of the hosts
it expects: it may be the one cut off, so nobody is declared dead or
fenced, and the administrators get one alert. When the network heals,
every host is up again and nothing was fenced. The storm guard is off
here: the fraction alone holds."""

import time
from urllib import parse

from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import PLUGINS
from tests.functional.deployment import WINDOW
from tests.helpers import fault_row
from tests.helpers import wait_for
from tests.peers import tcpproxy

NEAR = ['compute-n%d' % n for n in range(3)]
FAR = ['compute-f%d' % n for n in range(3)]


def test_an_engine_cut_off_from_half_the_hosts_fences_nobody(
        make_cloud, processes, tmp_path, plugin_dir, sqlite_url, rabbit):
    broker = parse.urlsplit(rabbit)
    proxy = tcpproxy.TcpProxy((broker.hostname, broker.port or 5672))
    d = deployment.Deployment(
        make_cloud, processes, sqlite_url, PLUGINS + 'SwitchFencer',
        recovery__min_heard_fraction='0.6',
        storm_guard__max_failed_hosts='0',
        storm_guard__max_failed_percent='0')
    far_conf = tmp_path / 'far.conf'
    far_conf.write_text('[DEFAULT]\ntransport_url = %s\n' % rabbit.replace(
        '%s:%d' % (broker.hostname, broker.port or 5672),
        '127.0.0.1:%d' % proxy.port))
    try:
        d.start_engine()
        for host in NEAR:
            deployment.start_agent(processes, d.cloud, host)
        for host in FAR:
            deployment.start_agent(processes, d.cloud, host, '--config-file',
                                   str(far_conf))
        wait_for(lambda: set(NEAR + FAR) <= d.cloud.hosts_up(), 60,
                 message='every agent heard')
        proxy.cut()
        wait_for(lambda: d.cloud.of('alert_storm'), 30,
                 message='the engine sees it is cut off\n' + d.logs())
        # The partition lasts several detection windows: nobody declared.
        time.sleep(3 * WINDOW)
        alert, = d.cloud.of('alert_storm')
        assert alert['heard'] == 3
        assert 'may be the one cut off' in alert['reason']
        assert d.cloud.of('declare_dead') == []
        assert plugins.records(plugin_dir, 'fenced') == []
        assert {d['host'] for d in d.cloud.of('held')} == set(FAR)
        wait_for(lambda: plugins.records(plugin_dir, 'alerts'), 30,
                 message='the alert to the administrators')
        proxy.restore()
        wait_for(lambda: {a['host'] for a in d.cloud.of('alive')} ==
                 set(FAR), 90, message='the far hosts heard again\n' +
                 d.logs())
        wait_for(lambda: d.cloud.of('storm_cleared'), 30,
                 message='the hold lifted')
        time.sleep(2 * WINDOW)      # (the held hosts' extra window)
        assert d.cloud.of('declare_dead') == []
        assert plugins.records(plugin_dir, 'fenced') == []
        alerts = plugins.records(plugin_dir, 'alerts')
        assert [a['kind'] for a in alerts] == ['storm']
        fault_row('partition: engine cut off from half the hosts', 0, 0, 0)
    finally:
        proxy.close()
        d.close()
