# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The message bus: consumers that turn bus messages into raw messages for
a sink, and the canary that tells whether the engine can hear the bus.

Two consumers, both with this engine's own pool (own queues), so that every
engine, the leader and each standby, receives every message:

* :class:`HeartbeatConsumer` reads the agents' heartbeat topic with kombu
  directly: the messages are ordinary oslo.messaging notifications (the
  ``oslo.message`` JSON envelope of the messagingv2 driver), decoded here by
  :func:`decode_notification`. Measured on a 2-core machine, oslo.messaging's
  threading listener reads ~2,200 msg/s and its batch listener ~4,600; this
  consumer ~8,000 (py-amqp's frame parsing is the limit). The
  same thread publishes the engine's **canary** on the heartbeat topic every
  ``canary_interval`` and notes when its own canary comes back: no canary
  for ``deaf_after`` seconds means the engine is deaf (this also catches a
  silently dead connection, which TCP would notice only much later).
* :class:`NovaListener` is a stock oslo.messaging notification listener on
  nova's versioned notification topics, filtered to the service events.

Neither interprets what it receives: they hand :class:`RawMessage` batches
to a ``sink`` callable (the engine parses them into events, the recorder
writes them to a file). What happens on failure is decided here, once:

* heartbeats are consumed without acknowledgements: a message that cannot
  be decoded is counted, logged with the reason and dropped; an exception
  raised by the sink is logged and the batch dropped. Heartbeats are worth
  nothing once late, and a poison message must never stop the consumer
  (oslo.messaging's requeue would loop on it at ~1,800 deliveries/s);
* nova's notifications are acknowledged after the sink took them; the
  sink never raises into oslo.messaging (allow_requeue stays False);
* a lost connection is retried with backoff, forever, until stopped.
"""

import itertools
import json
import logging
import socket
import threading
import time
import typing
import uuid

import kombu
import oslo_messaging

from freezer_dr import clock
from freezer_dr import events
from freezer_dr import signing
from freezer_dr.liveness import core as liveness_core

LOG = logging.getLogger(__name__)

CANARY = 'freezer_dr.engine.canary'


class RawMessage(typing.NamedTuple):
    """One notification as received, before any interpretation."""

    received_at: float
    publisher_id: object
    event_type: object
    priority: object
    payload: object


#: The largest message body taken from the heartbeat topic (a heartbeat
#: is a few hundred bytes; 64 checks at their longest stay well under it).
MAX_BODY_BYTES = 128 * 1024


class UndecodableMessage(ValueError):
    """A message body that is not an oslo.messaging notification."""


def decode_notification(body, received_at):
    """Decode the body of an oslo.messaging notification (messagingv2's
    ``{"oslo.version": "2.0", "oslo.message": "<json>"}`` envelope, or a bare
    messaging v1 dict) into a :class:`RawMessage`.

    :raises UndecodableMessage: with the reason (a body larger than
        :data:`MAX_BODY_BYTES` is not even parsed).
    """
    if isinstance(body, (bytes, bytearray, memoryview, str)) and \
            len(body) > MAX_BODY_BYTES:
        raise UndecodableMessage('a body of %d bytes: more than %d'
                                 % (len(body), MAX_BODY_BYTES))
    try:
        if isinstance(body, (bytes, bytearray, memoryview)):
            body = bytes(body).decode('utf-8')
        envelope = json.loads(body) if isinstance(body, str) else body
        if type(envelope) is not dict:
            raise UndecodableMessage('the body is not a JSON object')
        if 'oslo.message' in envelope:
            version = envelope.get('oslo.version')
            if type(version) is not str or not version.startswith('2.'):
                raise UndecodableMessage('unsupported oslo.version %r'
                                         % (version,))
            message = json.loads(envelope['oslo.message'])
            if type(message) is not dict:
                raise UndecodableMessage('oslo.message is not an object')
        else:
            message = envelope
    except UndecodableMessage:
        raise
    except (ValueError, TypeError, RecursionError) as exc:
        raise UndecodableMessage('not JSON: %s' % str(exc)[:200]) from None
    for key in ('publisher_id', 'event_type', 'payload'):
        if key not in message:
            raise UndecodableMessage('the notification has no %r' % key)
    return RawMessage(received_at, message['publisher_id'],
                      message['event_type'], message.get('priority', 'INFO'),
                      message['payload'])


def encode_notification(publisher_id, event_type, payload, priority='INFO'):
    """A notification body exactly as oslo.messaging's messagingv2 driver
    writes it (used for the canary)."""
    message = {
        'message_id': str(uuid.uuid4()),
        'publisher_id': publisher_id,
        'event_type': event_type,
        'priority': priority,
        'payload': payload,
        'timestamp': time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime()),
    }
    return json.dumps({'oslo.version': '2.0',
                       'oslo.message': json.dumps(message)})


def publish_confirmed(url, exchange, topic, body, timeout=10.0):
    """Publish one notification body and wait for the broker to confirm it.

    oslo.messaging's Notifier logs and swallows every delivery error, which
    is right for heartbeats but not for an announcement an operator relies
    on (maintenance): this raises when the broker did not take the message.
    The exchange is not declared: publishing to one that no engine or
    agent has declared fails too.
    """
    with kombu.Connection(url, connect_timeout=min(timeout, 5.0),
                          transport_options={'confirm_publish': True}
                          ) as conn:
        conn.ensure_connection(max_retries=3, interval_start=0.5,
                               interval_step=1.0, timeout=timeout)
        producer = kombu.Producer(conn.channel(), serializer=None,
                                  auto_declare=False,
                                  exchange=kombu.Exchange(exchange,
                                                          type='topic',
                                                          durable=False))
        producer.publish(body, routing_key=topic + '.info',
                         content_type='application/json',
                         content_encoding='utf-8', declare=[],
                         timeout=timeout)


def kombu_url(conf, url=None):
    """The kombu URL (failover list) of oslo.messaging's transport_url."""
    parsed = oslo_messaging.TransportURL.parse(conf, url)
    if not parsed.hosts:
        return 'amqp://guest:guest@localhost:5672//'
    vhost = parsed.virtual_host or '/'
    urls = []
    for host in parsed.hosts:
        auth = ''
        if host.username:
            auth = host.username
            if host.password:
                auth += ':' + host.password
            auth += '@'
        urls.append('amqp://%s%s:%s/%s' % (auth, host.hostname,
                                           host.port or 5672, vhost))
    return ';'.join(urls)


class Hearing:
    """Whether a consumer can hear the bus, from the seconds since its own
    canary came back (``since``, a callable returning None until the first
    one). ``change()`` returns None, or the new state (True: hears again,
    False: deaf) the first time it differs from the last one reported.
    Before the first canary nothing is reported: no host is known yet."""

    def __init__(self, since, deaf_after):
        self._since = since
        self._deaf_after = deaf_after
        self._deaf = False

    def change(self):
        since = self._since()
        if since is None:
            return None
        deaf = since > self._deaf_after
        if deaf == self._deaf:
            return None
        self._deaf = deaf
        return not deaf


def worth_logging(count):
    """Log the first 100 of a kind, then one in 1,000, so that a flood of
    bad messages cannot flood the log."""
    return count <= 100 or count % 1000 == 0


class Counters:
    """What a consumer did, for logs, tests and benchmarks."""

    def __init__(self):
        self.received = 0
        self.undecodable = 0
        self.malformed = 0
        self.sink_errors = 0
        self.reconnects = 0
        #: Messages dropped by the admission (see :class:`Admission`), by
        #: reason.
        self.refused = {}

    def refuse(self, reason):
        count = self.refused.get(reason, 0) + 1
        self.refused[reason] = count
        return count


#: Why a well-formed message is dropped (the counters' keys).
UNSIGNED = 'unsigned'
BAD_SIGNATURE = 'bad signature'
STALE = 'stale'
WRONG_TOPIC = 'wrong topic'

#: What each source may carry: the heartbeat topic, heartbeats and
#: maintenance messages only; nova's topics, nova's service events only.
HEARTBEAT_TYPES = frozenset((events.HEARTBEAT, events.MAINTENANCE))
NOVA_TYPES = frozenset(events.NOVA_SERVICE_EVENTS)


class Admission:
    """Which well-formed heartbeats and maintenance messages count: signed
    by their host's key (or, for maintenance, an operator's master key),
    sent within ``max_skew`` seconds of their receipt (a replayed old one
    is stale). With no verifier (``[bus] allow_unsigned_heartbeats``)
    every one counts.

    A maintenance message's ``requested_by`` comes from its signature:
    ``operator`` for the master key; for the host's own key,
    ``freezer-dr-agent`` when the agent announced a planned shutdown,
    otherwise ``operator@<host>`` (the free text of the wire is never
    taken).
    """

    def __init__(self, verifier=None, max_skew=30.0):
        self.verifier = verifier
        self.max_skew = max_skew

    def admit(self, raw, event):
        """``event`` as it counts, or the reason it is dropped (a str)."""
        verifier = self.verifier
        kind = type(event)
        if verifier is None or (kind is not events.Heartbeat and
                                kind is not events.Maintenance):
            return event
        payload = raw.payload
        who = verifier.who(payload, event.host)
        if who is None:
            return UNSIGNED if signing.FIELD not in payload \
                else BAD_SIGNATURE
        if kind is events.Heartbeat:
            if who != signing.BY_HOST:
                return BAD_SIGNATURE
            if abs(event.sent_at - event.received_at) > self.max_skew:
                return STALE
            return event
        sent_at = payload.get('sent_at')
        if type(sent_at) not in (int, float) or \
                abs(sent_at - event.received_at) > self.max_skew:
            return STALE
        if who == signing.BY_OPERATOR:
            by = 'operator'
        elif event.requested_by == AGENT:
            by = AGENT
        else:
            by = 'operator@' + event.host
        return event._replace(requested_by=by)


#: requested_by of the agent's own announcements (a planned shutdown).
AGENT = liveness_core.AGENT


class HeartbeatConsumer(threading.Thread):
    """kombu consumer of the heartbeat topic, with the canary.

    :param url: kombu URL of the broker.
    :param exchange: exchange the agents publish to ([bus]
        heartbeat_exchange).
    :param topic: notification topic ([bus] heartbeat_topic); messages are
        routed with ``<topic>.<priority>``.
    :param queue: name of this consumer's own queue.
    :param sink: called with a list of :class:`RawMessage`.
    :param canary_id: identifies this consumer's canaries.
    """

    PRIORITIES = ('info', 'warn', 'error', 'critical')
    #: Messages delivered and not yet acknowledged, at most.
    PREFETCH = 1000

    def __init__(self, url, exchange, topic, queue, sink, canary_id,
                 canary_interval=0.25, batch=100, message_ttl=60.0):
        super().__init__(name='heartbeat-consumer', daemon=True)
        self._url = url
        self._exchange = kombu.Exchange(exchange, type='topic',
                                        durable=False, auto_delete=False)
        self._topic = topic
        self._queue = kombu.Queue(
            queue, exchange=self._exchange, durable=False,
            auto_delete=False,
            bindings=[kombu.binding(self._exchange,
                                    routing_key='%s.%s' % (topic, p))
                      for p in self.PRIORITIES],
            queue_arguments={
                # Heartbeats are worthless once late; a queue left by an
                # engine that is gone disappears after ten minutes.
                'x-message-ttl': int(message_ttl * 1000),
                'x-expires': 600000,
                'x-max-length': 1000000,
            })
        self._sink = sink
        self._canary_id = canary_id
        self._canary_interval = canary_interval
        self._batch_size = batch
        self._stopping = threading.Event()
        self._batch = []
        self._last_tag, self._unacked = None, 0
        self._canary_sequence = itertools.count(1)
        self._next_canary = 0.0
        # oslo.messaging's notifier declares a queue named after the routing
        # key (<topic>.info) so that notifications wait for a consumer; for
        # heartbeats nobody consumes it, so it would grow for ever. Declare
        # it exactly as the notifier does and empty it now and then.
        self._default_queue = kombu.Queue(
            topic + '.info', exchange=self._exchange, durable=False,
            auto_delete=False, routing_key=topic + '.info')
        self._next_purge = 0.0
        self.last_canary = None          # time.monotonic() it came back
        self.connected = False
        self.counters = Counters()

    def stop(self):
        self._stopping.set()

    def seconds_since_canary(self, now=None):
        """Seconds since this consumer's own canary last came back (None
        if it never did)."""
        if self.last_canary is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_canary

    def run(self):
        delay = 0.2
        while not self._stopping.is_set():
            try:
                with kombu.Connection(self._url, heartbeat=10,
                                      connect_timeout=2) as conn:
                    conn.connect()
                    LOG.info('Heartbeat consumer connected to %s, queue %s',
                             conn.as_uri(), self._queue.name)
                    self.connected = True
                    delay = 0.2
                    self._consume(conn)
            except (OSError, ConnectionError, kombu.exceptions.KombuError,
                    socket.timeout) as exc:
                if self.connected:
                    LOG.warning('Heartbeat consumer lost the bus: %s', exc)
                else:
                    LOG.debug('Heartbeat consumer cannot connect: %s', exc)
            except Exception:
                LOG.exception('Heartbeat consumer failed; reconnecting')
            finally:
                self.connected = False
                self._batch = []
                self._last_tag, self._unacked = None, 0
            if self._stopping.wait(delay):
                break
            self.counters.reconnects += 1
            delay = min(delay * 2, 2.0)

    def _consume(self, conn):
        channel = conn.channel()
        producer = kombu.Producer(channel, exchange=self._exchange,
                                  serializer=None)
        # Heartbeats are acknowledged, one acknowledgement for each batch
        # once the sink took it, with at most PREFETCH unacknowledged: what
        # the engine cannot take waits in the broker's queue (bounded by
        # its length and TTL), where it can be seen, and not in our socket
        # buffers, where it would delay the canary out of sight. A batch
        # lost with a crashed engine is redelivered to the next one, and
        # old by then (the core orders heartbeats by sequence).
        channel.basic_qos(0, self.PREFETCH, False)
        purging = conn.channel()
        self._next_purge = 0.0
        consumer = kombu.Consumer(channel, queues=[self._queue],
                                  on_message=self._on_message, no_ack=False)
        with consumer:
            while not self._stopping.is_set():
                self._publish_canary(producer)
                self._purge_default_queue(purging)
                drained = False
                try:
                    conn.drain_events(timeout=0.05)
                    # Keep draining what is already there, then hand over.
                    while len(self._batch) < self._batch_size:
                        conn.drain_events(timeout=0)
                except socket.timeout:
                    drained = True
                self._flush()
                # (One acknowledgement for half the prefetch, or for what
                # there was once the queue is drained.)
                if self._last_tag is not None and (
                        drained or self._unacked >= self.PREFETCH // 2):
                    channel.basic_ack(self._last_tag, multiple=True)
                    self._last_tag, self._unacked = None, 0
                conn.heartbeat_check()

    def _purge_default_queue(self, channel):
        """Empty the notifier's default queue every 10 s, on ``channel``
        (its own: emptying a flood of a million messages takes the broker
        seconds, and the consumer's channel, with its acknowledgements,
        must not wait behind it) without waiting for the broker's answer.
        """
        now = time.monotonic()
        if now < self._next_purge:
            return
        if self._next_purge == 0.0:
            self._default_queue(channel).declare()
        self._next_purge = now + 10.0
        channel.queue_purge(self._default_queue.name, nowait=True)

    def _publish_canary(self, producer):
        now = time.monotonic()
        if now < self._next_canary:
            return
        self._next_canary = now + self._canary_interval
        body = encode_notification(
            'freezer-dr-engine:' + self._canary_id, CANARY,
            {'canary_id': self._canary_id,
             'sequence': next(self._canary_sequence),
             'sent_at': time.time()})
        producer.publish(body, routing_key=self._topic + '.info',
                         content_type='application/json',
                         content_encoding='utf-8', expiration=10)

    def _on_message(self, message):
        self._last_tag = message.delivery_tag
        self._unacked += 1
        self.counters.received += 1
        try:
            raw = decode_notification(message.body, clock.now())
        except UndecodableMessage as exc:
            self.counters.undecodable += 1
            _log_dropped(self.counters.undecodable, 'heartbeat topic',
                         exc, message.body)
            return
        if raw.event_type == CANARY:
            if type(raw.payload) is dict and \
                    raw.payload.get('canary_id') == self._canary_id:
                self.last_canary = time.monotonic()
            return
        self._batch.append(raw)

    def _flush(self):
        batch, self._batch = self._batch, []
        if batch:
            try:
                self._sink(batch)
            except Exception:
                self.counters.sink_errors += 1
                LOG.exception('Dropped %d heartbeat messages: the sink '
                              'failed', len(batch))


def _log_dropped(count, source, reason, body):
    if worth_logging(count):
        sample = body[:200] if isinstance(body, (bytes, str)) else body
        LOG.warning('Dropped an undecodable message from the %s (%d so '
                    'far): %s; body starts %r', source, count, reason,
                    sample)


class _NovaEndpoint:
    """oslo.messaging endpoint: nova's service notifications, untouched."""

    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^service\.(create|update|delete)$')

    def __init__(self, sink, counters):
        self._sink = sink
        self._counters = counters

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._counters.received += 1
        try:
            self._sink([RawMessage(clock.now(), publisher_id, event_type,
                                   'INFO', payload)])
        except Exception:
            self._counters.sink_errors += 1
            LOG.exception('Dropped nova notification %s from %s: the sink '
                          'failed', event_type, publisher_id)
        return oslo_messaging.NotificationResult.HANDLED


class NovaListener:
    """oslo.messaging listener of nova's versioned service notifications."""

    def __init__(self, transport, exchange, topics, pool, sink):
        self.counters = Counters()
        targets = [oslo_messaging.Target(exchange=exchange, topic=topic)
                   for topic in topics]
        self._listener = oslo_messaging.get_notification_listener(
            transport, targets, [_NovaEndpoint(sink, self.counters)],
            executor='threading', pool=pool, allow_requeue=False)

    def start(self):
        self._listener.start()

    def stop(self):
        self._listener.stop()
        self._listener.wait()


def parse_batch(batch, counters, admission=None, allowed=None):
    """Parse raw messages into events; malformed ones are logged, counted
    (``counters.malformed``) and left out; so are those of a type this
    source does not carry (``allowed``: event types, None for any) and
    those ``admission`` (an :class:`Admission`) refuses, counted by reason
    in ``counters.refused``."""
    parsed = []
    parse = events.parse_notification
    for raw in batch:
        if allowed is not None and (type(raw.event_type) is not str or
                                    raw.event_type not in allowed):
            _refused(counters, raw, WRONG_TOPIC)
            continue
        try:
            event = parse(raw.publisher_id, raw.event_type, raw.payload,
                          raw.received_at, raw.priority)
        except events.MalformedMessage as exc:
            counters.malformed += 1
            if worth_logging(counters.malformed):
                LOG.warning('Dropped a malformed %s message from %s (%d so '
                            'far): %s', _shown(raw.event_type),
                            _shown(raw.publisher_id), counters.malformed,
                            exc.reason)
            continue
        if admission is not None:
            event = admission.admit(raw, event)
            if type(event) is str:
                _refused(counters, raw, event)
                continue
        parsed.append(event)
    return parsed


def _refused(counters, raw, reason):
    count = counters.refuse(reason)
    if worth_logging(count):
        payload = raw.payload if isinstance(raw.payload, dict) else {}
        LOG.warning('Dropped a %s %s message from %s for host %s (%d so '
                    'far)', reason, _shown(raw.event_type),
                    _shown(raw.publisher_id), _shown(payload.get('host')),
                    count)


def _shown(value):
    """Text from the wire, for a log line: short, control characters
    escaped."""
    return repr(str(value)[:80])[1:-1]
