#!/usr/bin/env python3
"""Ingest rate of the engine against a raw kombu consumer, same broker.

Both read the same ``N`` heartbeat notifications (oslo.messaging's
messagingv2 envelope, 10,000 hosts) from their own pre-filled queue on the
local RabbitMQ, one after the other, in this process:

* ``kombu_msgs_per_s``: a plain kombu consumer, prefetch 100, one manual ack
  per message, ``json.loads`` of each body (the baseline);
* ``engine_msgs_per_s``: what freezer-dr-engine runs by default: two
  heartbeat worker processes (freezer_dr.ingest: consume, decode both JSON
  layers, validate) feeding an Engine that steps the liveness core, from
  start until the core has applied every heartbeat;
* ``engine_in_process_msgs_per_s``: the same with the consumer in a thread
  of the engine process (``[bus] heartbeat_workers = 0``).

The last line printed is one JSON object with ``engine_msgs_per_s``,
``kombu_msgs_per_s`` and ``ratio``. Target (issue #4): ratio >= 0.8 and
>= 10,000 msg/s (10,000 hosts at one heartbeat a second).

    python bench/ingest.py [--messages N] [--url amqp://...]
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid

import kombu

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from freezer_dr import bus  # noqa: E402
from freezer_dr import engine as engine_module  # noqa: E402
from freezer_dr import events  # noqa: E402
from freezer_dr import ingest  # noqa: E402
from freezer_dr.liveness import settings as liveness_settings  # noqa: E402

HOSTS = 10000


class NullRunner:
    def carry_out(self, action):
        pass


def bodies(count):
    boots = [str(uuid.UUID(int=n + 1, version=4)) for n in range(HOSTS)]
    now = time.time()
    for n in range(count):
        host = n % HOSTS
        yield bus.encode_notification(
            'freezer-dr-agent:compute-%05d' % host, events.HEARTBEAT,
            {'host': 'compute-%05d' % host, 'sequence': n // HOSTS + 1,
             'boot_id': boots[host], 'sent_at': now,
             'checks': {'nova_compute': {'ok': True, 'detail': ''},
                        'libvirt': {'ok': True, 'detail': ''}}})


def kombu_baseline(url, exchange, queue, count):
    received = [0]
    done = threading.Event()
    with kombu.Connection(url) as conn:
        channel = conn.channel()

        def on_message(message):
            json.loads(message.body)
            message.ack()
            received[0] += 1
            if received[0] >= count:
                done.set()
        consumer = kombu.Consumer(channel, queues=[queue],
                                  on_message=on_message, no_ack=False,
                                  prefetch_count=100)
        began = time.perf_counter()
        with consumer:
            while not done.is_set():
                conn.drain_events(timeout=10)
        return count / (time.perf_counter() - began)


def engine_rate(consumer, engine, count):
    stop = threading.Event()
    consumer.start()
    thread = threading.Thread(target=engine.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    # Timed from the first message a consumer takes from the queue
    # (workers report every 0.1 s, so their start is seen up to 0.1 s
    # late): starting the worker processes (about 2 s of imports) is not
    # ingest.
    while consumer.counters.received == 0:
        if time.monotonic() > deadline:
            raise SystemExit('the engine received nothing')
        time.sleep(0.0005)
    began = time.perf_counter()
    while engine.counters.events < count:
        if time.monotonic() > deadline:
            raise SystemExit('the engine did not ingest %d messages in time'
                             % count)
        time.sleep(0.001)
    elapsed = time.perf_counter() - began
    consumer.stop()
    stop.set()
    thread.join(5)
    return count / elapsed


def fill(url, exchange, topic, queues, count):
    with kombu.Connection(url) as conn:
        channel = conn.channel()
        for queue in queues:
            queue(channel).declare()
        producer = kombu.Producer(channel, exchange=exchange,
                                  serializer=None)
        for body in bodies(count):
            producer.publish(body, routing_key=topic + '.info',
                             content_type='application/json',
                             content_encoding='utf-8')


def main():
    # (The configuration, key and credentials files it writes must be
    # private: the commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--messages', type=int, default=30000)
    parser.add_argument('--url', default='amqp://guest:guest@127.0.0.1:5672//')
    args = parser.parse_args()
    count = args.messages
    prefix = 'fdrbench_' + uuid.uuid4().hex[:8]
    topic = prefix + '_heartbeats'
    exchange = kombu.Exchange(prefix, type='topic', durable=False)
    baseline_queue = kombu.Queue(prefix + '_kombu', exchange=exchange,
                                 routing_key=topic + '.info', durable=False,
                                 auto_delete=False)
    settings = liveness_settings.LivenessSettings()

    def new_engine():
        mailbox = engine_module.Mailbox()
        return engine_module.Engine(settings, NullRunner(), mailbox,
                                    deaf_after=1e9, hearing=lambda: None,
                                    stats_interval=1e9), mailbox
    args = dict(url=args.url, exchange=prefix, topic=topic,
                queue=prefix + '_engine', canary_id=prefix)
    engine_queue = bus.HeartbeatConsumer(sink=None, **args)._queue
    rates = {}
    try:
        fill(args['url'], exchange, topic, [baseline_queue], count)
        rates['kombu'] = kombu_baseline(args['url'], exchange,
                                        baseline_queue, count)
        print('raw kombu consumer: %.0f msg/s' % rates['kombu'])
        fill(args['url'], exchange, topic, [engine_queue], count)
        engine, mailbox = new_engine()
        rates['thread'] = engine_rate(
            bus.HeartbeatConsumer(sink=mailbox.deliver, **args), engine,
            count)
        print('engine, consumer in a thread: %.0f msg/s' % rates['thread'])
        fill(args['url'], exchange, topic, [engine_queue], count)
        engine, mailbox = new_engine()
        rates['workers'] = engine_rate(
            ingest.HeartbeatWorkers(2, mailbox.deliver_events, **args),
            engine, count)
        print('engine, 2 heartbeat workers: %.0f msg/s (%d hosts tracked)'
              % (rates['workers'], engine.core.host_count()))
    finally:
        with kombu.Connection(args['url']) as conn:
            channel = conn.channel()
            for name in (baseline_queue.name, prefix + '_engine',
                         topic + '.info'):
                try:
                    channel.queue_delete(name)
                except Exception:
                    pass
    rate, kombu_rate = rates['workers'], rates['kombu']
    print(json.dumps({'engine_msgs_per_s': round(rate),
                      'engine_in_process_msgs_per_s': round(rates['thread']),
                      'kombu_msgs_per_s': round(kombu_rate),
                      'ratio': round(rate / kombu_rate, 3),
                      'messages': count}, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
