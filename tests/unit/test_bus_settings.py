"""How the heartbeat consumer and the maintenance announcements reach the
broker (oslo.messaging's settings: the notification transport URL, TLS),
and how an outage is reported (bus.Outage, bus.Hearing, the agent, the
rabbit driver's reconnect lines). The real broker, with TLS, is in
tests/functional/test_bus_tls.py."""

import logging
import pickle
import ssl

from oslo_config import cfg
import pytest

from freezer_dr import agent
from freezer_dr import bus


def _conf(tmp_path, text):
    path = tmp_path / 'bus.conf'
    path.write_text(text)
    conf = cfg.ConfigOpts()
    conf(['--config-file', str(path)], project='freezer-dr',
         default_config_files=[], default_config_dirs=[])
    return conf


def test_the_notification_transport_url_comes_first(tmp_path):
    conf = _conf(tmp_path, '[DEFAULT]\ntransport_url = rabbit://a:b@rpc:5672/'
                 '\n[oslo_messaging_notifications]\ntransport_url = '
                 'rabbit://n:p%40ss@notif:5671/vh\n')
    url = bus.kombu_url(conf)
    assert str(url) == 'amqp://n:p%40ss@notif:5671/vh'
    assert url.where == 'notif:5671' and url.ssl is False
    # (An explicit URL is taken as it is.)
    assert str(bus.kombu_url(conf, conf.transport_url)) == \
        'amqp://a:b@rpc:5672//'
    conf = _conf(tmp_path, '[DEFAULT]\ntransport_url = '
                 'rabbit://a:b@h1:5672,a:b@h2:5673/\n')
    url = bus.kombu_url(conf)
    assert str(url) == 'amqp://a:b@h1:5672//;amqp://a:b@h2:5673//'
    assert url.where == 'h1:5672, h2:5673'


def test_tls_options_are_oslo_messagings(tmp_path):
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        (tmp_path / name).write_text('x')
    conf = _conf(tmp_path, '[DEFAULT]\ntransport_url = rabbit://u:pw@broker:'
                 '5671/\n[oslo_messaging_rabbit]\nssl = true\nssl_ca_file = '
                 '%s\nssl_cert_file = %s\nssl_key_file = %s\nssl_version = '
                 'TLSv1_2\nrabbit_login_method = EXTERNAL\n' % tuple(
                     tmp_path / n for n in ('ca.pem', 'cert.pem',
                                            'key.pem')))
    url = bus.kombu_url(conf)
    assert url.ssl == {'ca_certs': str(tmp_path / 'ca.pem'),
                       'certfile': str(tmp_path / 'cert.pem'),
                       'keyfile': str(tmp_path / 'key.pem'),
                       'ssl_version': int(ssl.PROTOCOL_TLSv1_2),
                       'cert_reqs': int(ssl.CERT_REQUIRED),
                       'server_hostname': 'broker'}
    assert bus.connection_options(url) == {'ssl': url.ssl,
                                           'login_method': 'EXTERNAL'}
    # Pickled to the heartbeat workers, with its settings.
    again = pickle.loads(pickle.dumps(url))
    assert str(again) == str(url) and again.ssl == url.ssl and \
        again.where == 'broker:5671' and again.login_method == 'EXTERNAL'


def test_tls_without_a_ca_uses_the_systems(tmp_path):
    conf = _conf(tmp_path, '[DEFAULT]\ntransport_url = rabbit://u:pw@b1,'
                 'u:pw@b2/\n[oslo_messaging_rabbit]\nssl = true\n')
    assert bus.kombu_url(conf).ssl is True


def test_bad_tls_settings_are_named(tmp_path):
    conf = _conf(tmp_path, '[oslo_messaging_rabbit]\nssl = true\n'
                 'ssl_ca_file = %s\n' % (tmp_path / 'missing.pem'))
    with pytest.raises(ValueError, match=r'\[oslo_messaging_rabbit\] '
                       'ssl_ca_file: cannot read .*missing.pem'):
        bus.kombu_url(conf)
    conf = _conf(tmp_path, '[oslo_messaging_rabbit]\nssl = true\n'
                 'ssl_version = TLSv9\n')
    with pytest.raises(ValueError, match='ssl_version'):
        bus.kombu_url(conf)


def test_no_password_in_reasons():
    url = 'amqp://user:p%40ss@h:5672//;amqp://user:other@h2:5672//'
    assert bus.without_secrets('login p@ss and p%40ss, other', url) == \
        'login **** and ****, ****'
    assert bus.reason(TimeoutError('timed out')) == 'TimeoutError: timed out'
    assert bus.reason(ConnectionRefusedError(111, 'Connection refused')) == \
        '[Errno 111] Connection refused'


def test_an_outage_is_reported_once_a_minute():
    now = [0.0]
    outage = bus.Outage(every=60.0, clock=lambda: now[0])
    assert outage.ended() is None
    reported = []
    for second in range(0, 150, 2):
        now[0] = float(second)
        if outage.failed():
            reported.append((second, outage.attempts))
    assert reported == [(0, 1), (60, 31), (120, 61)]
    now[0] = 151.0
    assert outage.ended() == (75, 151.0)
    assert not outage.ongoing and outage.ended() is None


def test_an_engine_that_never_hears_its_canary_is_deaf_if_asked():
    now = [0.0]
    hearing = bus.Hearing(lambda: None, 1.5, first_within=10.0,
                          clock=lambda: now[0])
    assert hearing.change() is None
    now[0] = 10.5
    assert hearing.change() is False
    assert hearing.change() is None
    # (Without first_within, as before: nothing until the first canary.)
    assert bus.Hearing(lambda: None, 1.5).change() is None


def test_an_engine_that_waits_for_its_first_canary_is_told_when_it_comes():
    now, since = [0.0], [None]
    hearing = bus.Hearing(lambda: since[0], 1.5, first_within=10.0,
                          clock=lambda: now[0])
    assert hearing.change() is None
    now[0], since[0] = 2.0, 0.1
    assert hearing.change() is True         # it hears: known now
    assert hearing.change() is None
    now[0], since[0] = 5.0, 3.0
    assert hearing.change() is False
    # Without first_within, the first canary is no news.
    since[0] = 0.1
    assert bus.Hearing(lambda: since[0], 1.5).change() is None


class OsloLikeNotifier:
    """Logs a failure and swallows it, as oslo.messaging's notifier does;
    the rabbit driver's two ERRORs before it."""

    def __init__(self):
        self.up = True

    def info(self, ctxt, event_type, payload):
        if self.up:
            return
        logging.getLogger('oslo.messaging._drivers.impl_rabbit').error(
            'Failed to publish message to topic x: closed')
        try:
            raise ConnectionRefusedError(111, 'Connection refused')
        except ConnectionRefusedError as exc:
            logging.getLogger('oslo_messaging.notify.messaging').exception(
                'Could not send notification to t. Payload=%s', payload)
            del exc


def test_the_agent_warns_once_an_outage_and_counts_the_lost(caplog):
    notifier = OsloLikeNotifier()
    beater = agent.Agent(notifier, 'h', 1.0, boot_id='b')
    caplog.set_level(logging.DEBUG)
    assert beater.heartbeat()
    notifier.up = False
    assert [beater.heartbeat() for _ in range(5)] == [False] * 5
    notifier.up = True
    assert beater.heartbeat()
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [(r.name, r.levelname) for r in records] == [
        ('freezer_dr.agent', 'WARNING'), ('freezer_dr.agent', 'INFO')]
    assert 'Heartbeat 2 not sent: [Errno 111] Connection refused' in \
        records[0].getMessage()
    assert 'Heartbeats are sent again: 5 were not sent' in \
        records[1].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert 'Payload' not in caplog.text
    assert beater.sent == 2 and beater.failed == 5
    # Outside a heartbeat, oslo.messaging's records pass.
    caplog.clear()
    logging.getLogger('oslo_messaging.notify.messaging').error('other')
    assert [r.getMessage() for r in caplog.records] == ['other']


def test_the_rabbit_drivers_reconnect_errors_are_limited(caplog):
    now = [0.0]
    limit = bus.ReconnectErrors(every=60.0, clock=lambda: now[0])
    logger = logging.getLogger('test.reconnect')
    logger.addFilter(limit)
    try:
        with caplog.at_level(logging.INFO, 'test.reconnect'):
            for second in range(0, 70, 5):
                now[0] = float(second)
                logger.error('Connection failed: %s (retrying in %s '
                             'seconds)', 'refused', 5)
            logger.error('The broker has blocked the connection: x')
    finally:
        logger.removeFilter(limit)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        'Connection failed: refused (retrying in 5 seconds)',
        'Connection failed: refused (retrying in 5 seconds) (11 more such '
        'lines in the last 60 s not logged)',
        'The broker has blocked the connection: x']
