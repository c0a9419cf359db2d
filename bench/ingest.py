#!/usr/bin/env python3
"""Ingest rate of the engine against a raw kombu consumer, same broker.

Both read the same ``N`` heartbeat notifications (oslo.messaging's
messagingv2 envelope, 10,000 hosts) from their own pre-filled queue on the
local RabbitMQ, one after the other, in this process:

* ``kombu_msgs_per_s``: a plain kombu consumer, prefetch 100, one manual ack
  per message, ``json.loads`` of each body (the baseline);
* ``engine_msgs_per_s``: freezer-dr's HeartbeatConsumer feeding an Engine
  (decoding both JSON layers, validating, stepping the liveness core), from
  start until the core has applied every heartbeat.

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
    thread = threading.Thread(target=engine.run, args=(stop,), daemon=True)
    began = time.perf_counter()
    thread.start()
    consumer.start()
    deadline = time.monotonic() + 300
    while engine.counters.events < count:
        if time.monotonic() > deadline:
            raise SystemExit('the engine did not ingest %d messages in time'
                             % count)
        time.sleep(0.001)
    elapsed = time.perf_counter() - began
    consumer.stop()
    stop.set()
    thread.join(5)
    consumer.join(5)
    return count / elapsed


def main():
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
    engine = engine_module.Engine(settings, NullRunner(), deaf_after=1e9,
                                  hearing=lambda: None, stats_interval=1e9)
    consumer = bus.HeartbeatConsumer(args.url, prefix, topic,
                                     prefix + '_engine', engine.deliver,
                                     canary_id=prefix)
    with kombu.Connection(args.url) as conn:
        channel = conn.channel()
        baseline_queue(channel).declare()
        consumer._queue(channel).declare()
        producer = kombu.Producer(channel, exchange=exchange,
                                  serializer=None)
        began = time.perf_counter()
        for body in bodies(count):
            producer.publish(body, routing_key=topic + '.info',
                             content_type='application/json',
                             content_encoding='utf-8')
        print('published %d messages in %.1f s' % (
            count, time.perf_counter() - began))
    try:
        kombu_rate = kombu_baseline(args.url, exchange, baseline_queue,
                                    count)
        print('raw kombu consumer: %.0f msg/s' % kombu_rate)
        rate = engine_rate(consumer, engine, count)
        print('engine: %.0f msg/s (%d hosts tracked)'
              % (rate, engine.core.host_count()))
    finally:
        with kombu.Connection(args.url) as conn:
            channel = conn.channel()
            for name in (baseline_queue.name, prefix + '_engine',
                         topic + '.info'):
                try:
                    channel.queue_delete(name)
                except Exception:
                    pass
    print(json.dumps({'engine_msgs_per_s': round(rate),
                      'kombu_msgs_per_s': round(kombu_rate),
                      'ratio': round(rate / kombu_rate, 3),
                      'messages': count}, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
