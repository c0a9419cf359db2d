"""Attacks by anyone who holds the bus credentials but no heartbeat key
(issue 12), replayed against the real RabbitMQ and a real engine and real
agents, each refused: the live host is never declared dead, the dead host
is still declared dead, and the engine never goes deaf from a message.
The engine here only decides (dry run): what it decides is what the
recovery would act on."""

import json
import signal
import time

import kombu

from freezer_dr import bus
from freezer_dr import events
from tests.functional import deployment
from tests.functional.deployment import WINDOW
from tests.helpers import nova_service_payload
from tests.helpers import wait_for

LIVE, VICTIM = 'compute-live', 'compute-dead'


class Attacker:
    """Publishes on the heartbeat topic with the bus credentials, and
    sniffs what the agents publish there."""

    def __init__(self, rabbit, cloud):
        self.url = rabbit.replace('rabbit://', 'amqp://', 1)
        self.exchange = cloud.prefix
        self.topic = cloud.prefix + '_heartbeats'

    def publish(self, event_type, payload, publisher='attacker'):
        bus.publish_confirmed(self.url, self.exchange, self.topic,
                              bus.encode_notification(publisher, event_type,
                                                      payload))

    def sniff(self, host, timeout=30):
        """One genuine heartbeat payload of ``host``."""
        exchange = kombu.Exchange(self.exchange, type='topic',
                                  durable=False)
        with kombu.Connection(self.url) as conn:
            queue = kombu.Queue('fdrtest-sniffer-' + host, exchange,
                                routing_key=self.topic + '.*',
                                auto_delete=True, channel=conn)
            queue.declare()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = queue.get(no_ack=True)
                if message is None:
                    time.sleep(0.1)
                    continue
                body = json.loads(json.loads(message.body)['oslo.message'])
                if body.get('event_type') == events.HEARTBEAT and \
                        body['payload'].get('host') == host:
                    return body['payload']
        raise AssertionError('no heartbeat of %s sniffed' % host)


def _refused(engine):
    """The engine's count of refused messages (its statistics line)."""
    for line in reversed(engine.log().splitlines()):
        if ' refused (' in line:
            words = line.split()
            return int(words[words.index('refused') - 1])
    return 0


def test_forged_messages_are_refused(make_cloud, processes, rabbit):
    cloud = make_cloud()
    engine = deployment.start_engine(processes, cloud)
    live = deployment.start_agent(processes, cloud, LIVE)
    victim = deployment.start_agent(processes, cloud, VICTIM)
    wait_for(lambda: {LIVE, VICTIM} <= cloud.hosts_up(), 60,
             message='both agents heard')
    attacker = Attacker(rabbit, cloud)
    # 1. A live host's heartbeat, sniffed and re-published with sequence
    # 2^62 (and a fresh send time): every genuine heartbeat would look
    # stale after it.
    sniffed = attacker.sniff(LIVE)
    attacker.publish(events.HEARTBEAT, dict(sniffed, sequence=2 ** 62,
                                            sent_at=time.time()))
    # 2. The engine's own state from the wire: "the bus is down".
    attacker.publish(events.BUS_STATUS, {'connected': False})
    # 3. nova's service.delete on the heartbeat topic, for the victim; and
    # on nova's own topic (that one only has the engine ask nova's API).
    attacker.publish('service.delete', {'host': VICTIM})
    bus.publish_confirmed(
        attacker.url, cloud.prefix + '_nova', 'versioned_notifications',
        bus.encode_notification('nova-compute:' + VICTIM, 'service.delete',
                                nova_service_payload(VICTIM, False)))
    # The victim dies; the attacker keeps it "alive" with forged
    # heartbeats of a new boot id, and tries to drop it with a forged
    # maintenance (free-text requested_by).
    victim.stop(signal.SIGKILL)
    forged_boot = 'forged-boot'
    for sequence in range(1, 4):
        attacker.publish(events.HEARTBEAT, {
            'host': VICTIM, 'sequence': sequence, 'boot_id': forged_boot,
            'sent_at': time.time()})
        time.sleep(0.5)
    attacker.publish(events.MAINTENANCE, {
        'host': VICTIM, 'enabled': True, 'reason': 'line one\nline two',
        'requested_by': 'root', 'sent_at': time.time()})
    dead = wait_for(lambda: cloud.of('declare_dead', VICTIM), 30,
                    message='the victim declared dead\n' + engine.log())
    assert dead[0]['boot_id'] != forged_boot
    # The live host stays up for several more detection windows.
    time.sleep(3 * WINDOW)
    assert live.alive()
    assert cloud.of('declare_dead', LIVE) == []
    assert cloud.of('suspect', LIVE) == []
    assert cloud.of('bus_down') == []
    assert cloud.of('maintenance_on') == []
    assert cloud.of('untracked') == []
    assert [d['change'] for d in cloud.of('ask_nova', VICTIM)] == ['delete']
    assert 'bus DEAF' not in engine.log()
    wait_for(lambda: _refused(engine) >= 7, 10, message='the refusals '
             'counted\n' + engine.log()[-2000:])
    assert 'Dropped a bad signature freezer_dr.host.heartbeat' in \
        engine.log()
    assert 'Dropped a wrong topic freezer_dr.engine.bus' in engine.log()
    assert 'Dropped a wrong topic service.delete' in engine.log()
    assert 'Dropped a unsigned freezer_dr.host.maintenance' in engine.log()
