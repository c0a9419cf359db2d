"""An attacker's flood (issue 12): heartbeats of ``COUNT`` host names that
no inventory lists, published on a deployment's heartbeat topic as fast as
one process can, with the bus credentials and no key: one in two carries
no signature, the other a signature made with no key. Each name is used
once (``ghost-0000000`` ...).

The flood is held to RATE messages a second (15,000: one and a half times
what 10,000 hosts send) and, given the engine's QUEUE, to at most 5,000
messages waiting in it: the most an engine that keeps up is made to read.
(A faster flood leaves the engine's canary late: the engine is deaf,
which holds every declaration, the safe side, until the flood ends.)

    python -m tests.functional.flood URL EXCHANGE TOPIC COUNT [QUEUE]

Prints ``published N`` every 100,000 messages and ``done N`` at the end,
once the broker has confirmed the last one.
"""

import os
import sys
import time
from urllib import parse

import amqp

from freezer_dr import bus
from freezer_dr import events

_NAME = 'ghost-XXXXXXX'


def _templates():
    payload = {'host': _NAME, 'sequence': 1, 'boot_id': 'forged',
               'sent_at': time.time(), 'checks': {}}
    unsigned = bus.encode_notification('freezer-dr-agent:' + _NAME,
                                       events.HEARTBEAT, payload)
    forged = bus.encode_notification('freezer-dr-agent:' + _NAME,
                                     events.HEARTBEAT,
                                     dict(payload, signature='0' * 64))
    return unsigned, forged


#: Messages waiting in the engine's queue above which the flood waits.
BACKLOG = 5000
#: Messages a second, at most.
RATE = 15000


def main(url, exchange, topic, count, queue=None):
    # An attacker's CPU is not the engine's: on a test machine the flood
    # yields its share to the engine and the broker it floods.
    os.nice(10)
    parsed = parse.urlparse(url)
    conn = amqp.Connection('%s:%d' % (parsed.hostname, parsed.port or 5672),
                           userid=parse.unquote(parsed.username or 'guest'),
                           password=parse.unquote(parsed.password or
                                                  'guest'))
    conn.connect()
    channel = conn.channel()
    routing_key = topic + '.info'
    templates = _templates()
    began = time.monotonic()
    for n in range(count):
        body = templates[n % 2].replace(_NAME, 'ghost-%07d' % n)
        channel.basic_publish(
            amqp.Message(body, content_type='application/json',
                         content_encoding='utf-8'),
            exchange=exchange, routing_key=routing_key)
        if n and n % 100000 == 0:
            print('published %d' % n, flush=True)
        if n % 1000 == 0:
            ahead = began + n / RATE - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        if queue and n % 1000 == 0:
            while channel.queue_declare(queue, passive=True).message_count \
                    > BACKLOG:
                time.sleep(0.02)
    channel.confirm_select()
    channel.basic_publish(amqp.Message(templates[0]), exchange=exchange,
                          routing_key=routing_key)
    conn.close()
    print('done %d' % count, flush=True)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
         *sys.argv[5:])
