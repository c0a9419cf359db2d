"""The bus as an operator sets it up for oslo.messaging: TLS from
``[oslo_messaging_rabbit]`` (through a TLS terminating proxy the test
starts in front of the machine's RabbitMQ, tests/peers/tlsproxy.py), the
notification transport URL, and a broker that cannot be reached (said
once, not per attempt)."""

import re
import signal
import time
from urllib import parse as urlparse

import kombu
import kombu.exceptions
import pytest

from tests.functional import deployment
from tests.helpers import wait_for
from tests.peers import notifiers
from tests.peers import tlsproxy

#: What the engine logs (once a minute at most) when it cannot reach its
#: broker.
CANNOT_REACH = 'cannot reach the broker at'


@pytest.fixture
def tls(tmp_path, rabbit):
    """A TLS proxy in front of the machine's RabbitMQ, its certificate
    (its own CA) for 127.0.0.1."""
    cert, key = notifiers.self_signed(tmp_path)
    target = urlparse.urlsplit(rabbit)
    proxy = tlsproxy.TlsProxy(cert, key, (target.hostname,
                                          target.port or 5672))
    proxy.ca_file = cert
    yield proxy
    proxy.close()


def _tls_cloud(make_cloud, proxy, **options):
    return make_cloud(
        DEFAULT__transport_url='rabbit://guest:guest@127.0.0.1:%d/'
        % proxy.port,
        oslo_messaging_rabbit__ssl='true',
        oslo_messaging_rabbit__ssl_ca_file=proxy.ca_file, **options)


def _lines(log, text):
    return [line for line in log.splitlines() if text in line]


def test_the_engine_hears_an_agent_through_tls(make_cloud, processes, tls,
                                               capsys):
    cloud = _tls_cloud(make_cloud, tls)
    began = time.monotonic()
    engine = deployment.start_engine(processes, cloud)
    agent = deployment.start_agent(processes, cloud, 'tls-host')
    wait_for(lambda: 'tls-host' in cloud.hosts_up(), 60,
             message='the engine to hear the agent through TLS\n'
             + engine.log()[-3000:] + agent.log()[-2000:])
    heard_after = time.monotonic() - began
    # The engine's heartbeat workers (2), its nova listener and the agent
    # all went through the proxy, with TLS.
    wait_for(lambda: tls.tls_connections >= 4, 30,
             message='4 TLS connections, not %d' % tls.tls_connections)
    assert _lines(engine.log(), 'Heartbeat consumer connected to '
                  'amqp://guest:**@127.0.0.1:%d' % tls.port)
    assert 'guest:guest' not in engine.log() + agent.log()
    for log in (engine.log(), agent.log()):
        assert 'Traceback' not in log and CANNOT_REACH not in log
    # The proxy speaks TLS only: a plain AMQP client gets nowhere.
    with pytest.raises((OSError, kombu.exceptions.KombuError)):
        with kombu.Connection('amqp://guest:guest@127.0.0.1:%d//'
                              % tls.port, connect_timeout=3) as conn:
            conn.connect()
    with capsys.disabled():
        print('\nthe engine heard the agent through TLS %.1f s after it '
              'started (%d TLS connections)' % (heard_after,
                                                tls.tls_connections))


def test_the_heartbeats_follow_the_notification_transport_url(
        make_cloud, processes, tls):
    # [DEFAULT] transport_url is a closed port: everything, the heartbeat
    # consumer included, must take [oslo_messaging_notifications]'s.
    cloud = make_cloud(
        DEFAULT__transport_url='rabbit://guest:guest@127.0.0.1:%d/'
        % notifiers.closed_port(),
        oslo_messaging_notifications__transport_url=(
            'rabbit://guest:guest@127.0.0.1:%d/' % tls.port),
        oslo_messaging_rabbit__ssl='true',
        oslo_messaging_rabbit__ssl_ca_file=tls.ca_file)
    engine = deployment.start_engine(processes, cloud)
    deployment.start_agent(processes, cloud, 'notif-host')
    wait_for(lambda: 'notif-host' in cloud.hosts_up(), 60,
             message='the engine to hear the agent on the notification '
             'transport\n' + engine.log()[-3000:])
    assert CANNOT_REACH not in engine.log()


def test_an_engine_without_its_broker_says_so_once(make_cloud, processes):
    closed = notifiers.closed_port()
    cloud = make_cloud(DEFAULT__transport_url=(
        'rabbit://guest:s3cr3t-pw@127.0.0.1:%d/' % closed))
    engine = deployment.start_engine(processes, cloud)
    wait_for(lambda: _lines(engine.log(), CANNOT_REACH), 30,
             message='the engine to say it cannot reach its broker\n'
             + engine.log()[-3000:])
    # Many attempts (one every 2 s at most, per worker), one line: the
    # next comes a minute after the first.
    time.sleep(8)
    log = engine.log()
    said = _lines(log, CANNOT_REACH)
    assert len(said) == 1, said
    assert 'ERROR' in said[0]
    assert re.search(r'127\.0\.0\.1:%d: .*refused.* \(1 attempts\)'
                     % closed, said[0]), said[0]
    assert 's3cr3t-pw' not in log
    assert 'Traceback' not in log
    # (oslo.messaging's own line per attempt, of the nova listener, is
    # limited the same way.)
    assert len(_lines(log, 'Connection failed')) <= 1
    assert engine.alive()


def test_an_agent_without_its_broker_warns_once(make_cloud, processes):
    cloud = make_cloud(DEFAULT__transport_url=(
        'rabbit://guest:s3cr3t-pw@127.0.0.1:%d/' % notifiers.closed_port()))
    agent = deployment.start_agent(processes, cloud, 'lonely')
    wait_for(lambda: 'not sent' in agent.log(), 30,
             message='the agent to warn\n' + agent.log()[-2000:])
    time.sleep(5)           # five more heartbeats, not sent
    agent.stop(signal.SIGINT)
    log = agent.log()
    warned = [w for w in _lines(log, 'WARNING') if 'not sent' in w]
    assert len(warned) == 1, warned
    assert 'Traceback' not in log and 'ERROR' not in log, log[-3000:]
    assert 's3cr3t-pw' not in log
    stopped = _lines(log, 'stopped after')
    sent, lost = map(int, re.search(r'after (\d+) heartbeats \((\d+) not '
                                    r'sent\)', stopped[0]).groups())
    assert sent == 0 and lost >= 5


def test_an_agent_counts_what_an_outage_lost(make_cloud, processes, tls):
    cloud = _tls_cloud(make_cloud, tls)
    engine = deployment.start_engine(processes, cloud)
    agent = deployment.start_agent(processes, cloud, 'cut-host')
    wait_for(lambda: 'cut-host' in cloud.hosts_up(), 60,
             message='the agent heard through TLS')
    tls.cut()
    time.sleep(4)
    tls.restore()
    back = wait_for(lambda: _lines(agent.log(), 'Heartbeats are sent again'),
                    30, message='the agent to send again\n'
                    + agent.log()[-3000:])
    lost = int(re.search(r'again: (\d+) were not sent', back[0]).group(1))
    assert 3 <= lost <= 6, back
    log = agent.log()
    assert len([w for w in _lines(log, 'WARNING') if 'not sent' in w]) == 1
    assert 'Traceback' not in log
    # (The rabbit driver's two ERRORs a lost heartbeat are not logged.)
    assert not _lines(log, 'ERROR'), _lines(log, 'ERROR')
    # The engine reached the broker again too.
    wait_for(lambda: len(_lines(engine.log(), 'Heartbeat consumer '
                                'connected to')) >= 4, 30,
             message='the engine to reconnect')
