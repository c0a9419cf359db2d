"""The bus notifier against the real RabbitMQ: a stock oslo.messaging
notification listener receives freezer_dr.recovery.start, .end and .error
with their payloads; a broker that cannot be reached raises."""

import logging
import socket
import time
import uuid

import pytest

from freezer_dr import drivers
from freezer_dr.drivers.notifiers import bus as bus_notifier
from freezer_dr.drivers.notifiers import reports
from freezer_dr.recovery import report as recovery_report
from tests.helpers import wait_for
from tests.peers import notifiers as peers


@pytest.fixture
def names():
    prefix = 'fdrtest_' + uuid.uuid4().hex[:8]
    return prefix, prefix + '_notifications'


@pytest.fixture
def listener(rabbit, names):
    exchange, topic = names
    bus_listener = peers.BusListener(rabbit, exchange, topic).start()
    yield bus_listener
    bus_listener.stop()


def make_notifier(tmp_path, url, names, **bus_options):
    exchange, topic = names
    options = {'topics': topic}
    options.update(bus_options)
    conf = peers.make_conf(tmp_path, {
        'DEFAULT': {'transport_url': url, 'control_exchange': exchange},
        'bus_notifications': options})
    return drivers.load(drivers.NOTIFIERS, 'bus', conf=conf)


def test_end_notification_carries_the_report(rabbit, names, listener,
                                             tmp_path):
    notifier = make_notifier(tmp_path, rabbit, names)
    report = peers.report(recovered=True)
    result = notifier.notify(report)
    assert result == 'bus: freezer_dr.recovery.end of %s published on %s' % (
        report.host, names[1])
    [(priority, publisher, event_type, payload)] = wait_for(
        lambda: listener.about(report.host), 20,
        message='the end notification')
    assert (priority, event_type) == ('INFO', 'freezer_dr.recovery.end')
    assert publisher == 'freezer-dr.' + socket.gethostname()
    assert payload == reports.as_dict(report)
    assert payload['host'] == report.host and payload['recovered'] is True
    assert [i['id'] for i in payload['instances']] == [
        i.id for i in report.instances]
    assert payload['instances'][0]['target_host'] == 'compute-2'


def test_error_notification_for_a_failed_recovery(rabbit, names, listener,
                                                  tmp_path):
    notifier = make_notifier(tmp_path, rabbit, names)
    report = peers.report(recovered=False)
    notifier.notify(report)
    [(priority, _, event_type, payload)] = wait_for(
        lambda: listener.about(report.host), 20,
        message='the error notification')
    assert (priority, event_type) == ('ERROR', 'freezer_dr.recovery.error')
    assert payload['failed_step'] == 'evacuate'
    assert payload['recovered'] is False


def test_started_announces_the_recovery(rabbit, names, listener, tmp_path):
    notifier = make_notifier(tmp_path, rabbit, names)
    host = 'fdrtest-compute-' + uuid.uuid4().hex[:6]
    notifier.started(recovery_report.starting(host, 'boot-42',
                                              'heartbeats overdue',
                                              1795660000.5))
    [(priority, _, event_type, payload)] = wait_for(
        lambda: listener.about(host), 20, message='the start notification')
    assert (priority, event_type) == ('INFO', 'freezer_dr.recovery.start')
    assert payload == {'host': host, 'incarnation': 'boot-42',
                       'reason': 'heartbeats overdue',
                       'started_at': 1795660000.5,
                       'started': '2026-11-26T02:26:40Z'}


def test_a_notification_waits_for_a_consumer_that_starts_later(
        rabbit, names, tmp_path):
    notifier = make_notifier(tmp_path, rabbit, names)
    report = peers.report()
    notifier.notify(report)
    late = peers.BusListener(rabbit, *names).start()
    try:
        wait_for(lambda: late.about(report.host), 20,
                 message='the notification, published before the listener '
                         'started')
    finally:
        late.stop()


def test_a_broker_that_cannot_be_reached_raises(names, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = peers.closed_port()
    url = 'rabbit://fdrtest:br0ker-pa55@127.0.0.1:%d/' % port
    notifier = make_notifier(tmp_path, url, names, retry=1)
    began = time.monotonic()
    with pytest.raises(reports.NotificationError) as raised:
        notifier.notify(peers.report())
    assert time.monotonic() - began < 15
    message = str(raised.value)
    assert message.startswith('bus: freezer_dr.recovery.end was NOT '
                              'published on %s ' % names[1])
    assert 'broker 127.0.0.1:%d' % port in message
    assert 'Connection refused' in message
    assert 'br0ker-pa55' not in message + caplog.text


def test_the_default_topic_and_publisher(rabbit, tmp_path):
    conf = peers.make_conf(tmp_path, {'DEFAULT': {'transport_url': rabbit}})
    notifier = bus_notifier.BusNotifier(conf=conf)
    assert notifier.publisher_id == 'freezer-dr.' + socket.gethostname()
    assert notifier._opts['topics'] == ['freezer_dr_notifications']
