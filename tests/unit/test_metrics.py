"""The engine's metrics and health (freezer_dr.metrics), over real HTTP on
loopback, fed with snapshots as the engine publishes them."""

import json
import urllib.error
import urllib.request

import pytest

from freezer_dr import metrics as metrics_module
from freezer_dr.liveness import core as liveness_core
from freezer_dr.liveness import settings as liveness_settings
from tests.unit import helpers


def _snapshot(**changes):
    snapshot = {
        'engine': 'engine-a', 'role': 'leader',
        'hosts': [
            {'host': 'c-1', 'state': 'up', 'last_heard_age': 0.4,
             'phi': 0.3, 'incarnation': 'b-1', 'maintenance_by': None,
             'nova_state': 'up', 'leads': True},
            {'host': 'c-2', 'state': 'dead', 'last_heard_age': 9.0,
             'phi': 40.0, 'incarnation': 'b-2', 'maintenance_by': None,
             'nova_state': None, 'leads': True}],
        'received': 120, 'dropped': {'unsigned': 3, 'bad signature': 1},
        'bus_heard': True, 'journal_ok': True, 'waiting': [],
        'coordination_ok': True}
    snapshot.update(changes)
    return snapshot


@pytest.fixture
def served():
    metrics = metrics_module.Metrics()
    server = metrics_module.Server(metrics, '127.0.0.1', 0).start()
    yield metrics, 'http://127.0.0.1:%d' % server.port
    server.stop()


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_say_what_the_engine_knows(served):
    metrics, url = served
    metrics.publish(_snapshot())
    timing = metrics.recovery_timing(decided_at=0.0)
    timing.progress('fence', 'started')
    timing.progress('fence', 'done')
    metrics.recovery_ended('recovered')
    metrics.alert('split_brain')
    status, text = _get(url + '/metrics')
    assert status == 200
    lines = text.splitlines()
    for expected in (
            'freezer_dr_hosts{state="up"} 1.0',
            'freezer_dr_hosts{state="dead"} 1.0',
            'freezer_dr_hosts{state="suspect"} 0.0',
            'freezer_dr_messages_received_total 120.0',
            'freezer_dr_messages_dropped_total{reason="unsigned"} 3.0',
            'freezer_dr_messages_dropped_total{reason="bad signature"} 1.0',
            'freezer_dr_phi_bucket{le="0.5"} 1.0',
            'freezer_dr_phi_bucket{le="+Inf"} 2.0',
            'freezer_dr_phi_count 2.0',
            'freezer_dr_recoveries_total{outcome="recovered"} 1.0',
            'freezer_dr_step_duration_seconds_count{status="done",'
            'step="fence"} 1.0',
            'freezer_dr_declaration_to_first_call_seconds_count 1.0',
            'freezer_dr_alerts_total{kind="split_brain"} 1.0',
            'freezer_dr_leader 1.0', 'freezer_dr_bus_up 1.0',
            'freezer_dr_journal_up 1.0', 'freezer_dr_coordination_up 1.0'):
        assert expected in lines, expected
    names = {line.split('{')[0].split(' ')[0] for line in lines
             if line and not line.startswith('#')}
    assert all(name.startswith('freezer_dr_') for name in names), names


def test_healthz_names_what_is_wrong(served):
    metrics, url = served
    status, body = _get(url + '/healthz')
    assert (status, json.loads(body)['checks']) == (503, {
        'engine': 'starting'})
    metrics.publish(_snapshot())
    status, body = _get(url + '/healthz')
    assert status == 200
    assert json.loads(body) == {'healthy': True, 'checks': {
        'bus': 'ok', 'journal': 'ok', 'leadership': 'ok (leader)'}}
    metrics.publish(_snapshot(bus_heard=False, waiting=['c-2'],
                              coordination_ok=False, role='standby'))
    status, body = _get(url + '/healthz')
    assert status == 503
    checks = json.loads(body)['checks']
    assert checks['bus'].startswith('deaf')
    assert checks['journal'] == 'recoveries waiting for the journal: c-2'
    assert checks['leadership'] == \
        'coordination backend unreachable (standby)'
    status, text = _get(url + '/metrics')
    assert 'freezer_dr_bus_up 0.0' in text.splitlines()
    assert 'freezer_dr_leader 0.0' in text.splitlines()


def test_hosts_as_json(served):
    metrics, url = served
    metrics.publish(_snapshot())
    status, body = _get(url + '/v1/hosts')
    assert status == 200
    answer = json.loads(body)
    assert answer['engine'] == 'engine-a'
    assert [h['host'] for h in answer['hosts']] == ['c-1', 'c-2']
    assert _get(url + '/nothing')[0] == 404


def test_a_taken_port_does_not_stop_the_engine(served, caplog):
    metrics, url = served
    port = int(url.rsplit(':', 1)[1])
    assert metrics_module.serve(metrics, '127.0.0.1', port) is None
    assert 'cannot listen on 127.0.0.1:%d' % port in caplog.text
    assert _get(url + '/healthz')[0] == 503       # (the first still runs)
    assert metrics_module.serve(metrics, '127.0.0.1', 0) is None  # off


def test_the_core_reports_each_host_with_phi_and_age():
    core = liveness_core.LivenessCore(liveness_settings.LivenessSettings())
    for n in range(1, 6):
        core.step(helpers.beat(float(n), 'c-1', n), float(n))
    found = core.report(6.5)
    assert [h['host'] for h in found] == ['c-1']
    assert found[0]['state'] == 'up'
    assert found[0]['last_heard_age'] == pytest.approx(1.5)
    assert found[0]['phi'] > 0
    assert found[0]['incarnation'] == 'boot-c-1'
