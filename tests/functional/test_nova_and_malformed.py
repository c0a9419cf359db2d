"""nova's notifications as nova publishes them, and garbage, on the bus."""

import json
import signal
import subprocess
import time

import kombu
from oslo_config import cfg
import oslo_messaging

from tests import helpers
from tests.functional import deployment
from tests.helpers import command
from tests.helpers import wait_for

#: Heartbeats the victim sends after the flood before it is killed.
AFTER_FLOOD = 2


def test_nova_service_update_reaches_the_core_with_stock_defaults(
        tmp_path, rabbit, processes):
    # The engine knows only the transport URL (and where to write its
    # decisions and its journal); the agent the same plus a host name. The
    # bus settings are the stock ones; recovery is off (dry_run), since the
    # stock recovery settings (the noop fencer, nova's isolator with no
    # credentials) are refused at start: tests/unit/recovery/
    # test_factory.py.
    host = 'novatest-' + str(int(time.time() * 1000))
    # The heartbeat keys, made as an operator makes them.
    master = tmp_path / 'master.key'
    created = subprocess.run([command('freezer-dr-manage'), 'heartbeat-key',
                              'create', str(master)], capture_output=True,
                             text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    assert master.stat().st_mode & 0o777 == 0o600
    engine_conf = tmp_path / 'engine.conf'
    engine_conf.write_text('[DEFAULT]\ntransport_url = %s\n[engine]\n'
                           'decisions_file = %s\ndry_run = true\n'
                           '[database]\nconnection = sqlite:///%s\n'
                           '[bus]\nheartbeat_master_key_file = %s\n'
                           % (rabbit, tmp_path / 'decisions.jsonl',
                              tmp_path / 'journal.sqlite', master))
    derived = subprocess.run([command('freezer-dr-manage'), '--config-file',
                              str(engine_conf), 'heartbeat-key', 'derive',
                              host], capture_output=True, text=True,
                             timeout=60)
    assert derived.returncode == 0, derived.stderr
    key = tmp_path / 'agent.key'
    key.write_text(derived.stdout)
    key.chmod(0o600)
    agent_conf = tmp_path / 'agent.conf'
    agent_conf.write_text('[DEFAULT]\ntransport_url = %s\n[agent]\nhost = %s'
                          '\nchecks = disk\ndisk_path = /tmp\nstate_file = '
                          '%s\nheartbeat_key_file = %s\n'
                          % (rabbit, host, tmp_path / 'state.json', key))
    processes.start('engine', [command('freezer-dr-engine'),
                               '--config-file', str(engine_conf)])
    processes.start('agent', [command('freezer-dr-agent'),
                              '--config-file', str(agent_conf)])

    def decided(action):
        try:
            lines = (tmp_path / 'decisions.jsonl').read_text().splitlines()
        except FileNotFoundError:
            return []
        return [d for d in map(json.loads, lines)
                if d['host'] == host and d['action'] == action]
    wait_for(lambda: decided('up'), 60, message='the agent heard')

    # Published the way nova publishes it: oslo.messaging notifier,
    # control exchange "nova", topic "versioned_notifications".
    conf = cfg.ConfigOpts()
    conf([], project='nova-test', default_config_files=[])
    oslo_messaging.set_transport_defaults('nova')
    transport = oslo_messaging.get_notification_transport(conf, url=rabbit)
    notifier = oslo_messaging.Notifier(
        transport, publisher_id='nova-compute:' + host, driver='messagingv2',
        topics=['versioned_notifications'])
    notifier.info({'request_id': 'req-1'}, 'service.update',
                  helpers.nova_service_payload(host, True))
    disagreement = wait_for(lambda: decided('nova_disagrees'), 30,
                            message='the service.update in the core')
    assert 'forced down' in disagreement[0]['reason']
    transport.cleanup()


def _garbage(topic):
    """10,000 malformed messages of many kinds, as raw AMQP bodies."""
    def envelope(message):
        return json.dumps({'oslo.version': '2.0',
                           'oslo.message': json.dumps(message)})

    def heartbeat(payload):
        return envelope({'publisher_id': 'x', 'event_type':
                         'freezer_dr.host.heartbeat', 'priority': 'INFO',
                         'payload': payload})
    good = {'host': 'h', 'sequence': 1, 'boot_id': 'b', 'sent_at': 1.0}
    kinds = [
        b'\x00\xff not json at all',
        b'[1, 2, 3]',
        b'"a string"',
        json.dumps({'oslo.version': '2.0', 'oslo.message': '{broken'}),
        json.dumps({'oslo.version': '9.0', 'oslo.message': '{}'}),
        envelope({'event_type': 'freezer_dr.host.heartbeat'}),
        envelope({'publisher_id': 'x', 'event_type': 'compute.instance.x',
                  'payload': {}}),
        envelope({'publisher_id': 'x', 'event_type': 42, 'payload': {}}),
        heartbeat('not an object'),
        heartbeat(dict(good, host='')),
        heartbeat(dict(good, host=['list'])),
        heartbeat(dict(good, sequence=-1)),
        heartbeat(dict(good, sequence='1')),
        heartbeat(dict(good, sent_at='yesterday')),
        heartbeat(dict(good, boot_id=None)),
        heartbeat(dict(good, checks={'x': {'ok': 'yes'}})),
        heartbeat({k: v for k, v in good.items() if k != 'host'}),
        heartbeat(dict(good, host='h' * 300)),
        heartbeat(dict(good, checks={'c%d' % n: {'ok': True}
                                     for n in range(100)})),
        heartbeat(dict(good, host='x' * 1_000_000)),     # huge
        envelope({'publisher_id': 'x', 'event_type':
                  'freezer_dr.host.maintenance', 'payload': {'host': 'h'}}),
        envelope({'publisher_id': 'x', 'event_type': 'freezer_dr.engine.bus',
                  'payload': {'connected': 'maybe'}}),
        envelope({'publisher_id': 'x', 'event_type': 'service.update',
                  'payload': {'nova_object.name': 'Nope'}}),
        '{"deep": ' * 5000 + '1' + '}' * 5000,
    ]
    for n in range(10000):
        yield kinds[n % len(kinds)]


def test_ten_thousand_malformed_messages_do_not_stop_the_engine(
        make_cloud, processes):
    cloud = make_cloud()
    engine = deployment.start_engine(processes, cloud)
    deployment.start_fleet(processes, cloud,
                           ['host-%02d' % n for n in range(1, 5)])
    # --debug: each heartbeat it sends is a line of its log.
    victim = deployment.start_agent(processes, cloud, 'victim', '--debug')
    wait_for(lambda: len(cloud.hosts_up()) >= 5, 60, message='5 hosts up')

    with kombu.Connection('amqp://guest:guest@127.0.0.1:5672//') as conn:
        exchange = kombu.Exchange(cloud.prefix, type='topic',
                                  durable=False)
        producer = conn.Producer(exchange=exchange, serializer=None)
        for body in _garbage(cloud.prefix + '_heartbeats'):
            producer.publish(body, routing_key=cloud.prefix +
                             '_heartbeats.info',
                             content_type='application/json',
                             content_encoding='utf-8')

    def dropped():
        # The engine's statistics line counts what it dropped.
        for line in reversed(engine.log().splitlines()):
            if 'undecodable and' in line:
                words = line.split()
                undecodable = int(words[words.index('undecodable') - 1])
                malformed = int(words[words.index('malformed') - 1])
                # (Well-formed but of a type the heartbeat topic does not
                # carry, or unsigned: refused.)
                refused = int(words[words.index('refused') - 1])
                return undecodable + malformed + refused >= 10000 and \
                    (undecodable, malformed, refused)
        return False
    counts = wait_for(dropped, 120, interval=0.5,
                      message='10,000 messages dropped')
    assert sum(counts) == 10000
    assert 'Dropped a malformed' in engine.log()
    assert engine.alive()
    assert cloud.of('declare_dead') == []

    # It still detects a real failure. (The flood delayed heartbeats, so
    # the phi detector has widened its window for a while: no tight bound
    # on the time here; test_bus has it for an undisturbed bus.) The
    # victim is killed once it has heartbeated again after the flood was
    # dropped: its last heartbeats are heard on a quiet bus.
    after_flood = deployment.heartbeats_sent(victim) + AFTER_FLOOD
    wait_for(lambda: deployment.heartbeats_sent(victim) >= after_flood,
             AFTER_FLOOD * deployment.DEFAULTS.heartbeat_interval + 30,
             message='%d heartbeats of the victim after the flood'
             % AFTER_FLOOD)
    victim.signal(signal.SIGKILL)
    dead = wait_for(lambda: cloud.of('declare_dead'), 30,
                    message='the victim declared dead')
    assert [d['host'] for d in dead] == ['victim']
