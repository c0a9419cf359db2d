"""The coordination backend stopped under a leader (issue 11): it stops
acting within the lease and says so; a host that dies meanwhile is not
fenced; when the backend returns, the host is recovered. A redis-server of
the test's own (the machine's is shared), real engine and agent processes,
the ipmi fencer against the BMC simulator."""

import signal
import time

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import HOST
from tests.functional.deployment import PLUGINS
from tests.functional.deployment import WINDOW
from tests.helpers import fault_row
from tests.helpers import wait_for
from tests.peers import redis as redis_peer

#: [coordination] lease of the engine, seconds.
LEASE = 3.0


def test_no_fencing_without_the_backend_and_recovery_after(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        sqlite_url):
    redis = redis_peer.RedisServer(processes, tmp_path).start()
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = deployment.Deployment(
        make_cloud, processes, sqlite_url, PLUGINS + 'IpmiFencer',
        coordination__lease=LEASE, coordination__backend_url=redis.url)
    try:
        engine = d.start_engine()
        wait_for(lambda: 'leads, epoch 1' in engine.log(), 30,
                 message='the engine elected')
        agent = deployment.start_agent(processes, d.cloud, HOST)
        wait_for(lambda: HOST in d.cloud.hosts_up(), 60,
                 message='the agent heard')
        redis.stop()
        stopped = time.monotonic()
        wait_for(lambda: 'stops leading (epoch 1)' in engine.log(),
                 LEASE + 3, message='the leader stops acting\n' +
                 engine.log())
        assert time.monotonic() - stopped <= LEASE + 3
        agent.stop(signal.SIGKILL)
        wait_for(lambda: d.cloud.of('declare_dead', HOST), 60,
                 message='%s declared dead' % HOST)
        # Not leading: a few detection windows pass with the host dead and
        # nothing fenced (the pause under test).
        time.sleep(2 * WINDOW)
        assert bmc.status()['counts']['power_off'] == 0
        assert d.recovery() is None
        redis.start()
        wait_for(lambda: 'recovered' in [
            s['state'] for s in d.cloud.of('state', HOST)], 60,
            message='recovered once the backend is back\n' + engine.log())
        wait_for(lambda: d.recovery().status == api.DONE, 30,
                 message='the recovery done in the journal')
        assert d.journal.leader()[0] == 2
        assert bmc.status()['counts']['power_off'] == 1
        assert len(plugins.records(plugin_dir, 'evacuate-calls')) == 1
        alerts = plugins.records(plugin_dir, 'alerts')
        assert [a['kind'] for a in alerts] == ['leadership_lost']
        fault_row('coordination backend stopped while a host dies',
                  bmc.status()['counts']['power_off'],
                  plugins.most_evacuations(plugin_dir), 0)
    finally:
        d.close()

