"""The webhook notifier against a real HTTP server on loopback: the JSON
and the Slack format, and what a failing endpoint does."""

import logging
import socket
import time

import pytest

from freezer_dr import drivers
from freezer_dr.drivers.notifiers import reports
from freezer_dr.drivers.notifiers import webhook
from tests.peers import notifiers as peers


@pytest.fixture
def http():
    server = peers.HttpServer().start()
    yield server
    server.stop()


def test_the_json_format_posts_the_whole_report(http):
    report = peers.report(recovered=True)
    result = webhook.WebhookNotifier(url=http.url('/hooks/dr')).notify(
        report)
    assert result == ('webhook http://127.0.0.1:%d/…: json report posted '
                      '(200)' % http.port)
    [(path, headers, body)] = http.posted()
    assert path == '/hooks/dr'
    assert headers['Content-Type'] == 'application/json'
    assert body['event_type'] == 'freezer_dr.recovery.end'
    sent = body['report']
    assert sent['host'] == report.host and sent['recovered'] is True
    assert sent['incarnation'] == report.incarnation
    assert [i['id'] for i in sent['instances']] == [
        i.id for i in report.instances]
    assert [s['name'] for s in sent['steps']] == ['fence', 'isolate',
                                                  'evacuate']
    assert sent['projects'] == ['p-alpha', 'p-beta']
    assert sent['started'].endswith('Z')


def test_a_failed_recovery_is_an_error_event(http):
    report = peers.report(recovered=False)
    webhook.WebhookNotifier(url=http.url()).notify(report)
    [(_, _, body)] = http.posted()
    assert body['event_type'] == 'freezer_dr.recovery.error'
    assert body['report']['failed_step'] == 'evacuate'


def test_the_slack_format_is_one_text(http):
    report = peers.report(recovered=False)
    webhook.WebhookNotifier(url=http.url(), format='slack').notify(report)
    [(_, _, body)] = http.posted()
    assert list(body) == ['text']
    text = body['text']
    assert text.startswith(report.summary)
    assert 'Failed step: evacuate. An operator must act.' in text
    for instance in report.instances:
        assert instance.id in text
    assert '%s -> ?: NOT evacuated (no valid host was found)' % \
        report.host in text
    assert 'fence: done in 1.10 s: power off confirmed by the BMC' in text


def test_a_5xx_raises_with_the_status_and_no_secret(caplog):
    # (urllib3 logs request lines at DEBUG; oslo.log keeps
    # urllib3.connectionpool at WARN by default.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger='freezer_dr')
    server = peers.HttpServer(status=503, answer=b'maintenance').start()
    try:
        notifier = webhook.WebhookNotifier(
            url=server.url('/services/T000/B000/s3cr3t-t0ken'))
        with pytest.raises(reports.NotificationError) as raised:
            notifier.notify(peers.report())
    finally:
        server.stop()
    message = str(raised.value)
    assert message == ('webhook http://127.0.0.1:%d/… answered 503 Service '
                       'Unavailable: maintenance' % server.port)
    assert 's3cr3t-t0ken' not in caplog.text


def test_an_unreachable_endpoint_raises_without_the_url_path(caplog):
    caplog.set_level(logging.INFO)
    port = peers.closed_port()
    notifier = webhook.WebhookNotifier(
        url='http://user:pa55w0rd@127.0.0.1:%d/hook/s3cr3t-t0ken' % port)
    began = time.monotonic()
    with pytest.raises(reports.NotificationError) as raised:
        notifier.notify(peers.report())
    assert time.monotonic() - began < 5
    message = str(raised.value)
    assert message.startswith('webhook http://127.0.0.1:%d/…: '
                              'ConnectionError: ' % port)
    assert 'Connection refused' in message
    for secret in ('s3cr3t-t0ken', 'pa55w0rd'):
        assert secret not in message and secret not in caplog.text


def test_an_endpoint_that_never_answers_raises_after_the_timeout():
    with socket.socket() as silent:
        silent.bind(('127.0.0.1', 0))
        silent.listen(5)
        notifier = webhook.WebhookNotifier(
            url='http://127.0.0.1:%d/hook' % silent.getsockname()[1],
            timeout=1)
        began = time.monotonic()
        with pytest.raises(reports.NotificationError) as raised:
            notifier.notify(peers.report())
        assert 1 <= time.monotonic() - began < 5
    assert 'no answer within 1.0 s' in str(raised.value)


def test_built_by_stevedore_from_the_configuration(http, tmp_path):
    conf = peers.make_conf(tmp_path, {'webhook': {
        'url': http.url('/from-conf'), 'format': 'slack', 'timeout': 3}})
    notifier = drivers.load(drivers.NOTIFIERS, 'webhook', conf=conf)
    report = peers.report()
    notifier.notify(report)
    [(path, _, body)] = http.posted()
    assert path == '/from-conf' and report.host in body['text']


def test_no_url_refuses_to_load(tmp_path):
    conf = peers.make_conf(tmp_path, {'webhook': {'format': 'json'}})
    with pytest.raises(drivers.DriverNotFound) as raised:
        drivers.load(drivers.NOTIFIERS, 'webhook', conf=conf)
    assert '[webhook] url is not set' in str(raised.value)
