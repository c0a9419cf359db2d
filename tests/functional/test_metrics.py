"""The engine's metrics and health endpoint (issue 13), on a real engine
with a real agent on the real RabbitMQ: Prometheus' text, the health
check, the host list; and an engine whose broker is unreachable says so
(503, bus) instead of "bus heard"."""

import json
import urllib.error
import urllib.request

from tests.functional import deployment
from tests.helpers import wait_for
from tests.peers.notifiers import free_port


def _get(port, path):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path),
                                    timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None, ''


def test_an_engine_shows_its_hosts_metrics_and_health(make_cloud,
                                                      processes):
    port = free_port()
    cloud = make_cloud(metrics__port=str(port))
    engine = deployment.start_engine(processes, cloud)
    deployment.start_agent(processes, cloud, 'compute-m')
    wait_for(lambda: 'compute-m' in cloud.hosts_up(), 60,
             message='the agent heard')

    def listed():
        status, body = _get(port, '/v1/hosts')
        if status != 200:
            return None
        hosts = json.loads(body)['hosts']
        return hosts if hosts and hosts[0]['phi'] is not None else None
    hosts = wait_for(listed, 30, message='the host listed with its phi\n'
                     + engine.log()[-2000:])
    assert [h['host'] for h in hosts] == ['compute-m']
    assert hosts[0]['state'] == 'up' and hosts[0]['leads'] is True
    assert 0 <= hosts[0]['last_heard_age'] < 5
    status, body = _get(port, '/healthz')
    assert status == 200, body
    assert json.loads(body)['checks']['bus'] == 'ok'
    status, text = _get(port, '/metrics')
    lines = text.splitlines()
    assert 'freezer_dr_hosts{state="up"} 1.0' in lines
    assert 'freezer_dr_bus_up 1.0' in lines
    assert any(line.startswith('freezer_dr_messages_received_total ')
               and float(line.split()[1]) > 0 for line in lines)
    assert 'Metrics and health on http://127.0.0.1:%d/' % port in \
        engine.log()
    # freezer-dr-manage host list asks the same endpoint (from [metrics]).
    listed = deployment.manage(cloud, 'host', 'list')
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert rows[0].split() == ['host', 'state', 'last', 'heartbeat', 'phi',
                               'incarnation', 'owner']
    assert rows[1].split()[:2] == ['compute-m', 'up']
    as_json = json.loads(deployment.manage(cloud, 'host', 'list', '-f',
                                           'json').stdout)
    assert [(h['host'], h['state']) for h in as_json] == [('compute-m',
                                                           'up')]


def test_an_engine_without_its_broker_is_unhealthy(make_cloud, processes):
    port = free_port()
    closed = free_port()
    cloud = make_cloud(metrics__port=str(port), DEFAULT__transport_url=(
        'rabbit://guest:guest@127.0.0.1:%d/' % closed))
    engine = deployment.start_engine(processes, cloud)

    def unhealthy():
        status, body = _get(port, '/healthz')
        return status == 503 and \
            json.loads(body)['checks'].get('bus', '').startswith('deaf')
    wait_for(unhealthy, 60, message='the health check says the bus is '
             'deaf\n' + engine.log()[-2000:])
    status, text = _get(port, '/metrics')
    assert 'freezer_dr_bus_up 0.0' in text.splitlines()
