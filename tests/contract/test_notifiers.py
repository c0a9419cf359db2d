"""The contract of every notifier (namespace freezer_dr.notifiers), run
against each installed plugin with its real peer (tests/peers/notifiers.py,
RabbitMQ from the ``rabbit`` fixture of tests/conftest.py):

* built by stevedore with ``conf=`` (a real ConfigOpts read from a file);
* a success report and a failure report are delivered, and what arrives
  names the host and every instance (and, for a failure, the failed step);
  ``notify`` returns a short description;
* an alert (``Notifier.alert``) reaches the administrators' channel (and
  only theirs: no project is mailed), naming its kind and host;
* a broken peer makes ``notify`` raise NotificationError within a bounded
  time, with a message that says where, and no password in the message,
  its traceback or the logs.

A new plugin must register its peer in PEERS below, or this suite fails.
"""

import json
import logging
import time
import traceback
import uuid

import pytest

from freezer_dr import drivers
from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import reports
from tests.helpers import wait_for
from tests.peers import notifiers as peers

#: Seconds within which a notifier must give up on a broken peer.
BROKEN_BOUND = 15
#: Loggers of the peers themselves (the SMTP server logs what it received).
PEER_LOGGERS = ('mail.log',)

PEERS = {}


def peer(name):
    def register(cls):
        PEERS[name] = cls
        return cls
    return register


class Peer:
    #: The password configured for the broken peer (never to be shown).
    secret = None

    def __init__(self, request, tmp_path, caplog):
        self.request, self.tmp_path, self.caplog = request, tmp_path, caplog
        self._stops = []

    def conf(self, sections, name='notifier.conf'):
        return peers.make_conf(self.tmp_path, sections, name)

    def close(self):
        for stop in reversed(self._stops):
            stop()


@peer('log')
class LogPeer(Peer):
    def notifier(self):
        return drivers.load(drivers.NOTIFIERS, 'log', conf=self.conf({}))

    def delivered(self, report):
        return [r.getMessage() for r in self.caplog.records
                if r.name.startswith('freezer_dr.drivers')
                and report.host in r.getMessage()] and [self.caplog.text]

    def alert_delivered(self, alert):
        return [r.getMessage() for r in self.caplog.records
                if r.name.startswith('freezer_dr.drivers')
                and alert.host in r.getMessage()]

    def broken(self):
        pytest.skip('the log notifier has no peer that can break')


@peer('email')
class EmailPeer(Peer):
    secret = 'smtp-' + uuid.uuid4().hex

    def notifier(self):
        self.server = peers.SmtpServer(users={'fdr': 'contract-pw'}).start()
        self._stops.append(self.server.stop)
        return self._load(self.server.port, 'contract-pw')

    def _load(self, port, password):
        conf = self.conf({'email': {
            'smtp_host': '127.0.0.1', 'smtp_port': port, 'security': 'none',
            'user': 'fdr', 'password': password, 'timeout': 5,
            'admins': 'ops@cloud.example'}})
        return drivers.load(drivers.NOTIFIERS, 'email', conf=conf,
                            contacts=peers.Directory())

    def delivered(self, report):
        mails = self.server.mails_about(report.host)
        # Two projects and the admins.
        return [m.text for m in mails] if len(mails) == 3 else []

    def alert_delivered(self, alert):
        mails = [m for m in self.server.mails if alert.subject in m.subject]
        assert all(m.recipients == ['ops@cloud.example'] for m in mails), \
            [m.recipients for m in mails]
        return [m.subject + '\n' + m.text for m in mails]

    def broken(self):
        self.port = peers.closed_port()
        return self._load(self.port, self.secret), '127.0.0.1:%d' % self.port


@peer('webhook')
class WebhookPeer(Peer):
    secret = 'hook-' + uuid.uuid4().hex

    def notifier(self):
        self.server = peers.HttpServer().start()
        self._stops.append(self.server.stop)
        conf = self.conf({'webhook': {'url': self.server.url('/contract'),
                                      'format': 'json'}})
        return drivers.load(drivers.NOTIFIERS, 'webhook', conf=conf)

    def delivered(self, report):
        return [json.dumps(body) for _, _, body in self.server.posted()
                if 'report' in body and body['report']['host'] == report.host]

    def alert_delivered(self, alert):
        return [json.dumps(body) for _, _, body in self.server.posted()
                if body.get('event_type') == reports.ALERT and
                body['alert']['host'] == alert.host]

    def broken(self):
        server = peers.HttpServer(status=500,
                                  answer=b'internal error').start()
        self._stops.append(server.stop)
        conf = self.conf({'webhook': {
            'url': server.url('/hook/' + self.secret, user='fdr',
                              password=self.secret), 'timeout': 5}},
            name='broken.conf')
        return (drivers.load(drivers.NOTIFIERS, 'webhook', conf=conf),
                '127.0.0.1:%d' % server.port)


@peer('bus')
class BusPeer(Peer):
    secret = 'bus-' + uuid.uuid4().hex

    def _load(self, url, retry=2):
        self.exchange = 'fdrtest_' + uuid.uuid4().hex[:8]
        self.topic = self.exchange + '_notifications'
        conf = self.conf({'DEFAULT': {'transport_url': url,
                                      'control_exchange': self.exchange},
                          'bus_notifications': {'topics': self.topic,
                                                'retry': retry}})
        return drivers.load(drivers.NOTIFIERS, 'bus', conf=conf)

    def notifier(self):
        url = self.request.getfixturevalue('rabbit')
        notifier = self._load(url)
        self.listener = peers.BusListener(url, self.exchange,
                                          self.topic).start()
        self._stops.append(self.listener.stop)
        return notifier

    def delivered(self, report):
        return [json.dumps([event_type, payload]) for _, _, event_type,
                payload in self.listener.about(report.host)]

    def alert_delivered(self, alert):
        return [json.dumps([event_type, payload]) for _, _, event_type,
                payload in self.listener.about(alert.host)
                if event_type == reports.ALERT]

    def broken(self):
        port = peers.closed_port()
        return (self._load('rabbit://fdr:%s@127.0.0.1:%d/' % (self.secret,
                                                              port),
                           retry=1),
                '127.0.0.1:%d' % port)


@pytest.fixture(params=drivers.available(drivers.NOTIFIERS))
def plugin(request, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger='freezer_dr')
    if request.param not in PEERS:
        pytest.fail('the notifier %r has no peer in the contract suite: '
                    'register one in PEERS' % request.param)
    the_peer = PEERS[request.param](request, tmp_path, caplog)
    yield the_peer
    the_peer.close()


@pytest.mark.parametrize('recovered', [True, False],
                         ids=['success', 'failure'])
def test_a_report_is_delivered_and_names_the_host(plugin, recovered):
    notifier = plugin.notifier()
    report = peers.report(recovered=recovered)
    result = notifier.notify(report)
    assert isinstance(result, str) and result
    delivered = wait_for(lambda: plugin.delivered(report), 20,
                         message='the report of %s' % report.host)
    for text in delivered:
        assert report.host in text
    everything = '\n'.join(delivered)
    for instance in report.instances:
        assert instance.id in everything
    if not recovered:
        assert 'evacuate' in everything
        assert 'operator must act' in everything.lower() or \
            'recovery.error' in everything


def test_an_alert_reaches_the_admins(plugin):
    notifier = plugin.notifier()
    host = 'compute-alert-' + uuid.uuid4().hex[:6]
    alert = base.Alert('fence_budget', 'fence budget spent: %s held' % host,
                       'Release it with freezer-dr-manage host release %s.'
                       % host, host, time.time())
    result = notifier.alert(alert)
    assert isinstance(result, str) and result
    delivered = wait_for(lambda: plugin.alert_delivered(alert), 20,
                         message='the alert about %s' % host)
    everything = '\n'.join(delivered)
    assert host in everything
    assert 'fence' in everything


def test_a_broken_peer_raises_in_bounded_time_without_secrets(plugin):
    notifier, where = plugin.broken()
    began = time.monotonic()
    with pytest.raises(reports.NotificationError) as raised:
        notifier.notify(peers.report())
    elapsed = time.monotonic() - began
    assert elapsed < BROKEN_BOUND
    message = str(raised.value)
    assert where in message, message
    shown = '\n'.join(traceback.format_exception(raised.value))
    logged = '\n'.join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info)
                          if r.exc_info else '')
        for r in plugin.caplog.records if not r.name.startswith(
            PEER_LOGGERS))
    assert plugin.secret not in message
    assert plugin.secret not in shown
    assert plugin.secret not in logged
