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
* a lost connection is retried with backoff, forever, until stopped; a
  broker that cannot be reached is an ERROR at the first failure, then at
  most one a minute while it lasts (:class:`Outage`), and an INFO when it
  is reached again.

Both reach the broker as oslo.messaging's notification transport does:
``[oslo_messaging_notifications] transport_url`` (else ``[DEFAULT]
transport_url``), with TLS from ``[oslo_messaging_rabbit] ssl`` and its
``ssl_*`` options (:func:`kombu_url`).
"""

import collections
import itertools
import json
import logging
import os
import socket
import ssl as ssl_module
import threading
import time
import typing
from urllib import parse as urlparse
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


def publish_confirmed(url, exchange, topic, body, timeout=10.0, ssl=None):
    """Publish one notification body and wait for the broker to confirm it.

    oslo.messaging's Notifier logs and swallows every delivery error, which
    is right for heartbeats but not for an announcement an operator relies
    on (maintenance): this raises when the broker did not take the message.
    The exchange is not declared: publishing to one that no engine or
    agent has declared fails too.

    :param url: kombu URL; a :class:`BusURL` (from :func:`kombu_url`)
        brings its TLS settings.
    :param ssl: kombu's ``ssl`` argument (None: the URL's).
    """
    with kombu.Connection(url, connect_timeout=min(timeout, 5.0),
                          transport_options={'confirm_publish': True},
                          **connection_options(url, ssl)) as conn:
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


class BusURL(str):
    """A kombu URL (what :func:`kombu_url` always returned, a ``str``) that
    also carries how to connect: ``ssl``, kombu's ``ssl`` argument (False,
    True or a dict of plain values: it is pickled to the heartbeat worker
    processes), ``login_method`` and ``where``, the brokers as
    ``host:port`` for log lines (never a password)."""

    def __new__(cls, url, ssl=False, login_method=None, where=''):
        self = super().__new__(cls, url)
        self.ssl = ssl
        self.login_method = login_method
        self.where = where
        return self

    def __reduce__(self):
        return (BusURL, (str(self), self.ssl, self.login_method,
                         self.where))


def connection_options(url, ssl=None, login_method=None):
    """kombu.Connection's keyword arguments for ``url`` (a
    :class:`BusURL` or a plain kombu URL), ``ssl`` and ``login_method``
    overriding the URL's when given."""
    options = {}
    ssl = getattr(url, 'ssl', False) if ssl is None else ssl
    if ssl:
        options['ssl'] = ssl
    login_method = login_method or getattr(url, 'login_method', None)
    if login_method:
        options['login_method'] = login_method
    return options


#: oslo.messaging's ``[oslo_messaging_rabbit] ssl_version`` values.
_SSL_VERSIONS = {name: getattr(ssl_module, constant) for name, constant in (
    ('tlsv1', 'PROTOCOL_TLSv1'), ('sslv23', 'PROTOCOL_SSLv23'),
    ('sslv2', 'PROTOCOL_SSLv2'), ('sslv3', 'PROTOCOL_SSLv3'),
    ('tlsv1_1', 'PROTOCOL_TLSv1_1'), ('tlsv1_2', 'PROTOCOL_TLSv1_2'))
    if hasattr(ssl_module, constant)}


def _register_messaging_opts(conf):
    """Make sure ``conf`` has oslo.messaging's options (they are registered
    when a transport is made; a caller may not have made one yet)."""
    from oslo_config import cfg
    from oslo_messaging import opts as messaging_opts
    for group, options in messaging_opts.list_opts():
        if group not in (None, 'DEFAULT', 'oslo_messaging_notifications',
                         'oslo_messaging_rabbit'):
            continue
        for opt in options:
            try:
                conf.register_opt(opt, group=None if group == 'DEFAULT'
                                  else group)
            except cfg.DuplicateOptError:
                pass


def notification_transport_url(conf):
    """The transport URL of oslo.messaging's notification transport:
    ``[oslo_messaging_notifications] transport_url``, else ``[DEFAULT]
    transport_url``."""
    _register_messaging_opts(conf)
    return conf.oslo_messaging_notifications.transport_url or \
        conf.transport_url


def kombu_ssl(conf):
    """kombu's ``ssl`` argument from ``[oslo_messaging_rabbit]``, exactly
    as oslo.messaging's rabbit driver makes it: False without ``ssl``;
    with it, ``ssl_version``, ``ssl_key_file``, ``ssl_cert_file`` and
    ``ssl_ca_file`` (which makes the broker's certificate required;
    :func:`kombu_url` adds the host name it is checked against when the
    URL names one broker), or True (the system's CAs). Plain values only
    (ints for the ssl module's constants): it is pickled to the heartbeat
    worker processes.

    :raises ValueError: an unknown ``ssl_version``, or a file that cannot
        be read (named with its option).
    """
    _register_messaging_opts(conf)
    rabbit = conf.oslo_messaging_rabbit
    if not rabbit.ssl:
        return False
    params = {}
    if rabbit.ssl_version:
        try:
            params['ssl_version'] = int(
                _SSL_VERSIONS[rabbit.ssl_version.lower()])
        except KeyError:
            raise ValueError(
                '[oslo_messaging_rabbit] ssl_version: %r is not one of %s'
                % (rabbit.ssl_version, ', '.join(sorted(_SSL_VERSIONS))))
    for option, key in (('ssl_key_file', 'keyfile'),
                        ('ssl_cert_file', 'certfile'),
                        ('ssl_ca_file', 'ca_certs')):
        path = getattr(rabbit, option)
        if not path:
            continue
        if not os.access(path, os.R_OK):
            raise ValueError('[oslo_messaging_rabbit] %s: cannot read %s'
                             % (option, path))
        params[key] = path
    if 'ca_certs' in params:
        params['cert_reqs'] = int(ssl_module.CERT_REQUIRED)
    return params or True


def kombu_url(conf, url=None):
    """The kombu URL (failover list) of the bus, as oslo.messaging's
    notification transport reaches it, returned as a :class:`BusURL` (a
    ``str``) that carries its TLS settings (:func:`kombu_ssl`) and
    ``[oslo_messaging_rabbit] rabbit_login_method``.

    :param url: a transport URL; None: the notification transport's
        (:func:`notification_transport_url`).
    :raises ValueError: see :func:`kombu_ssl`.
    """
    if url is None:
        url = notification_transport_url(conf)
    else:
        _register_messaging_opts(conf)
    parsed = oslo_messaging.TransportURL.parse(conf, url)
    login_method = conf.oslo_messaging_rabbit.rabbit_login_method
    if not parsed.hosts:
        return BusURL('amqp://guest:guest@localhost:5672//',
                      kombu_ssl(conf), login_method, 'localhost:5672')
    vhost = parsed.virtual_host or '/'
    urls, where = [], []
    for host in parsed.hosts:
        auth = ''
        if host.username:
            auth = urlparse.quote(host.username, safe='')
            if host.password:
                auth += ':' + urlparse.quote(host.password, safe='')
            auth += '@'
        hostname = host.hostname or 'localhost'
        if ':' in hostname:                 # IPv6
            hostname = '[%s]' % hostname
        port = host.port or 5672
        urls.append('amqp://%s%s:%s/%s' % (auth, hostname, port, vhost))
        where.append('%s:%s' % (hostname, port))
    # (As oslo.messaging: the broker's name is checked against its
    # certificate when the URL names one broker.)
    params = kombu_ssl(conf)
    if isinstance(params, dict) and 'ca_certs' in params and \
            len(parsed.hosts) == 1:
        params['server_hostname'] = parsed.hosts[0].hostname
    return BusURL(';'.join(urls), params, login_method, ', '.join(where))


def broker_address(url):
    """``host:port`` of the broker(s) of a kombu URL, for a log line."""
    where = getattr(url, 'where', None)
    if where:
        return where
    found = []
    for part in str(url).split(';'):
        split = urlparse.urlsplit(part)
        found.append('%s:%s' % (split.hostname, split.port or 5672))
    return ', '.join(found)


def without_secrets(text, url):
    """``text`` with the passwords of ``url`` (a kombu URL) masked."""
    text = str(text)
    for part in str(url).split(';'):
        password = urlparse.urlsplit(part).password
        if password:
            for form in {password, urlparse.unquote(password)}:
                text = text.replace(form, '****')
    return text


def reason(exc, url=None):
    """An exception, as a short reason for a log line (no password)."""
    text = str(exc) or type(exc).__name__
    if type(exc).__name__ not in text and not text.startswith('['):
        text = '%s: %s' % (type(exc).__name__, text)
    return without_secrets(text, url) if url is not None else text


#: Seconds between two log lines about a broker that still cannot be
#: reached.
OUTAGE_REPORT_INTERVAL = 60.0


class Outage:
    """Failures to reach the broker, reported without flooding the log:
    :meth:`failed` says when to report one (the first at once, then at most
    one every ``every`` seconds while the outage lasts); :meth:`ended`
    closes it."""

    def __init__(self, every=OUTAGE_REPORT_INTERVAL, clock=time.monotonic):
        self.every = every
        self._clock = clock
        self.attempts = 0
        self.started = None
        self._next_report = None

    @property
    def ongoing(self):
        return self.started is not None

    def failed(self):
        """Count one failed attempt; True when it is time to report."""
        now = self._clock()
        self.attempts += 1
        if self.started is None:
            self.started = now
        if self._next_report is None or now >= self._next_report:
            self._next_report = now + self.every
            return True
        return False

    def ended(self):
        """End the outage: ``(failed attempts, seconds)``, or None if
        there was none."""
        if self.started is None:
            return None
        ended = (self.attempts, self._clock() - self.started)
        self.attempts, self.started, self._next_report = 0, None, None
        return ended


class Hearing:
    """Whether a consumer can hear the bus, from the seconds since its own
    canary came back (``since``, a callable returning None until the first
    one). ``change()`` returns None, or the new state (True: hears again,
    False: deaf) the first time it differs from the last one reported.
    Before the first canary nothing is reported (no host is known yet),
    unless ``first_within`` is given: then whether it hears is unknown
    until the first canary comes back (reported: True), and no first
    canary that many seconds after this was made is deafness (an engine
    that never reached its broker, or lost it before its canary came back).

    A canary can be late because the engine's own process could not run
    (starved of CPU on a busy machine): then it did not read what came
    back, and the bus was not lost. The engine tells :meth:`stalled` when
    it could not run (``clock``'s time); that time is not counted in the
    canary's silence: the engine is deaf when the canary is late by more
    than ``deaf_after`` seconds *during which it could run*. A lost bus is
    still deafness after ``deaf_after`` (as long as the engine runs at
    all), and a stall as long as ``deaf_after`` no longer is.
    ``excused`` counts the times the canary was late by more than
    ``deaf_after`` and the engine's own starvation explained it.
    """

    #: Seconds for which stalls are remembered (a canary silence longer
    #: than that is deafness whatever they were).
    MEMORY = 600.0

    def __init__(self, since, deaf_after, first_within=None,
                 clock=time.monotonic):
        self._since = since
        self._deaf_after = deaf_after
        # (None: not known yet.)
        self._deaf = False if first_within is None else None
        self._clock = clock
        self._created = clock()
        self._first_by = None if first_within is None \
            else self._created + first_within
        # The engine's stalls, (start, end) in time order, not
        # overlapping.
        self._stalls = collections.deque()
        self._late = False
        self.excused = 0

    def stalled(self, start, end):
        """The engine could not run from ``start`` to ``end``. Return the
        part of it not told before, ``(start, end)``, or None: a stall
        told while it lasts is told again, longer, once over."""
        stalls = self._stalls
        if stalls and start <= stalls[-1][1]:
            last_start, last_end = stalls[-1]
            if end <= last_end:
                return None
            stalls[-1] = (min(last_start, start), end)
            new = (last_end, end)
        elif end > start:
            stalls.append((start, end))
            new = (start, end)
        else:
            return None
        while stalls[0][1] < end - self.MEMORY:
            stalls.popleft()
        return new

    def own(self, since, now=None):
        """Seconds the engine could not run in the last ``since``
        seconds."""
        now = self._clock() if now is None else now
        begin = now - since
        total = 0.0
        for start, end in reversed(self._stalls):
            if end <= begin:
                break
            total += max(min(end, now) - max(start, begin), 0.0)
        return total

    def change(self):
        since = self._since()
        now = self._clock()
        if since is None:
            if self._first_by is None or self._deaf:
                return None
            waited = now - self._created
            if waited - self.own(waited, now) < \
                    self._first_by - self._created:
                return None
            self._deaf = True
            return False
        deaf = since > self._deaf_after
        if deaf and since - self.own(since, now) <= self._deaf_after:
            # Late, and the engine itself was starved as long.
            deaf = False
            if not self._late:
                self._late = True
                self.excused += 1
        elif not deaf:
            self._late = False
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
HEARTBEAT_TYPES = frozenset((events.HEARTBEAT, events.MAINTENANCE,
                             events.CONFIRMED_DEAD))
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
        if kind is events.ConfirmedDead and verifier is None:
            # (It leads to a fence: never unsigned, whatever
            # allow_unsigned_heartbeats says.)
            return UNSIGNED
        if verifier is None or (kind is not events.Heartbeat and
                                kind is not events.Maintenance and
                                kind is not events.ConfirmedDead):
            return event
        payload = raw.payload
        who = verifier.who(payload, event.host)
        if who is None:
            return UNSIGNED if signing.FIELD not in payload \
                else BAD_SIGNATURE
        if kind is events.ConfirmedDead:
            # Only an operator (the master key), never the host's own key.
            if who != signing.BY_OPERATOR:
                return BAD_SIGNATURE
            sent_at = payload.get('sent_at')
            if type(sent_at) not in (int, float) or \
                    abs(sent_at - event.received_at) > self.max_skew:
                return STALE
            return event._replace(requested_by='operator (%s)' % (
                event.requested_by or 'unnamed'))
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
    :param ssl: kombu's ``ssl`` argument (None: the URL's, a
        :class:`BusURL` from :func:`kombu_url` carries it).
    :param report_outages: False: a broker that cannot be reached is
        logged at DEBUG only (the heartbeat workers but one: the engine
        says it once).
    """

    PRIORITIES = ('info', 'warn', 'error', 'critical')
    #: Messages delivered and not yet acknowledged, at most.
    PREFETCH = 1000

    def __init__(self, url, exchange, topic, queue, sink, canary_id,
                 canary_interval=0.25, batch=100, message_ttl=60.0,
                 ssl=None, report_outages=True):
        super().__init__(name='heartbeat-consumer', daemon=True)
        self._url = url
        self._options = connection_options(url, ssl)
        self._where = broker_address(url)
        self._outage_level = logging.ERROR if report_outages \
            else logging.DEBUG
        self.outage = Outage()
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
        outage = self.outage
        while not self._stopping.is_set():
            conn = kombu.Connection(self._url, heartbeat=10,
                                    connect_timeout=2, **self._options)
            failure = None
            try:
                with conn:
                    conn.connect()
                    ended = outage.ended()
                    if ended is not None:
                        LOG.log(logging.INFO if self._outage_level >=
                                logging.ERROR else logging.DEBUG,
                                'Heartbeat consumer reaches the broker at '
                                '%s again, after %.0f s (%d failed '
                                'attempts)', self._where, ended[1],
                                ended[0])
                    LOG.info('Heartbeat consumer connected to %s, queue %s',
                             conn.as_uri(), self._queue.name)
                    self.connected = True
                    delay = 0.2
                    self._consume(conn)
            except (OSError, ConnectionError, kombu.exceptions.KombuError,
                    socket.timeout) + tuple(conn.connection_errors) as exc:
                # (Logged below, out of the except clause: oslo.log would
                # add the exception to the line again.)
                failure = (self.connected, reason(exc, self._url))
            except Exception:
                failure = None
                LOG.exception('Heartbeat consumer failed; reconnecting')
            finally:
                self.connected = False
                self._batch = []
                self._last_tag, self._unacked = None, 0
            if failure is not None:
                was_connected, why = failure
                if was_connected:
                    LOG.warning('Heartbeat consumer lost the bus at %s: %s',
                                self._where, why)
                elif outage.failed():
                    LOG.log(self._outage_level, 'Heartbeat consumer cannot '
                            'reach the broker at %s: %s (%d attempts)',
                            self._where, why, outage.attempts)
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


#: nova's versioned notifications of an instance being evacuated: the
#: API's ``instance.evacuate`` when it accepts the request, the target
#: compute's ``instance.rebuild.start``, ``.end`` (back, in its state) or
#: ``.error``, and ``instance.power_off.end`` (a stopped instance stopped
#: again on its new host). nova 34: compute/api.py evacuate(),
#: compute/manager.py rebuild_instance().
INSTANCE_EVENT_TYPES = ('instance.evacuate', 'instance.rebuild.start',
                        'instance.rebuild.end', 'instance.rebuild.error',
                        'instance.power_off.end')


def instance_of(payload):
    """The instance id a versioned instance notification names (its
    payload's ``nova_object.data.uuid``), or None when the payload has
    none that looks like an id."""
    data = payload.get('nova_object.data') if isinstance(payload, dict) \
        else None
    uuid = data.get('uuid') if isinstance(data, dict) else None
    if type(uuid) is not str or not 0 < len(uuid) <= 64 or \
            not uuid.replace('-', '').isalnum():
        return None
    return uuid


class _NovaEndpoint:
    """oslo.messaging endpoint: nova's service notifications, untouched,
    to ``sink``; the id of the instance each evacuation notification names
    to ``instance_sink`` (nothing else of it: it is only a reason to look
    at that instance in nova's API now)."""

    filter_rule = oslo_messaging.NotificationFilter(
        event_type=r'^(service\.(create|update|delete)|instance\.(evacuate|'
                   r'rebuild\.(start|end|error)|power_off\.end))$')

    def __init__(self, sink, counters, instance_sink=None):
        self._sink = sink
        self._counters = counters
        self._instance_sink = instance_sink

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._counters.received += 1
        if isinstance(event_type, str) and event_type.startswith(
                'instance.'):
            self._instance(event_type, payload)
            return oslo_messaging.NotificationResult.HANDLED
        try:
            self._sink([RawMessage(clock.now(), publisher_id, event_type,
                                   'INFO', payload)])
        except Exception:
            self._counters.sink_errors += 1
            LOG.exception('Dropped nova notification %s from %s: the sink '
                          'failed', event_type, publisher_id)
        return oslo_messaging.NotificationResult.HANDLED

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        # (instance.rebuild.error is published at ERROR priority.)
        self._counters.received += 1
        if isinstance(event_type, str) and event_type.startswith(
                'instance.'):
            self._instance(event_type, payload)
        return oslo_messaging.NotificationResult.HANDLED

    def _instance(self, event_type, payload):
        if self._instance_sink is None:
            return
        instance = instance_of(payload)
        if instance is None:
            self._counters.malformed += 1
            if worth_logging(self._counters.malformed):
                LOG.warning('Dropped a %s notification naming no instance '
                            '(%d malformed so far)', _shown(event_type),
                            self._counters.malformed)
            return
        try:
            self._instance_sink(instance)
        except Exception:
            self._counters.sink_errors += 1
            LOG.exception('Dropped nova notification %s of instance %s: '
                          'the sink failed', event_type, instance)


class ReconnectErrors(logging.Filter):
    """oslo.messaging's rabbit driver logs an ERROR for every failed
    attempt to reach the broker (``Connection failed: ... (retrying in N
    seconds)``, ``AMQP server on H:P is unreachable``): this lets one
    through every ``every`` seconds, the first at once, and keeps the
    others out of the log (counted in ``suppressed``). Installed on the
    driver's logger by :class:`NovaListener` (:meth:`install`): the
    heartbeat consumer already says, once a minute, that the broker cannot
    be reached."""

    LOGGERS = ('oslo.messaging._drivers.impl_rabbit',
               'oslo_messaging._drivers.impl_rabbit')
    MARKS = ('Connection failed', 'is unreachable')

    def __init__(self, every=OUTAGE_REPORT_INTERVAL, clock=time.monotonic):
        super().__init__()
        self.every = every
        self._clock = clock
        self._next = 0.0
        self.suppressed = 0

    @classmethod
    def install(cls):
        """The process's one filter (made and added the first time)."""
        for name in cls.LOGGERS:
            logger = logging.getLogger(name)
            for f in logger.filters:
                if isinstance(f, cls):
                    return f
        found = cls()
        for name in cls.LOGGERS:
            logging.getLogger(name).addFilter(found)
        return found

    def filter(self, record):
        if record.levelno < logging.WARNING or not isinstance(
                record.msg, str) or not any(m in record.msg
                                            for m in self.MARKS):
            return True
        now = self._clock()
        if now < self._next:
            self.suppressed += 1
            return False
        self._next = now + self.every
        if self.suppressed:
            record.msg += ' (%d more such lines in the last %.0f s not ' \
                'logged)' % (self.suppressed, self.every)
            self.suppressed = 0
        return True


class NovaListener:
    """oslo.messaging listener of nova's versioned service notifications
    (to ``sink``) and of its instance evacuation notifications (the
    instance's id to ``instance_sink``).

    :meth:`start` does not wait for the broker (oslo.messaging's listener
    connects in its ``start()``, retrying for ever): it is started in a
    thread of its own, so that an engine whose broker is away still runs,
    says so and is seen unhealthy."""

    def __init__(self, transport, exchange, topics, pool, sink,
                 instance_sink=None):
        self.counters = Counters()
        targets = [oslo_messaging.Target(exchange=exchange, topic=topic)
                   for topic in topics]
        self._listener = oslo_messaging.get_notification_listener(
            transport, targets,
            [_NovaEndpoint(sink, self.counters, instance_sink)],
            executor='threading', pool=pool, allow_requeue=False)
        self._starting = None
        self._started = threading.Event()
        ReconnectErrors.install()

    def start(self, wait=False):
        """Start listening (in a thread: see the class; ``wait``: here)."""
        if wait:
            self._listener.start()
            self._started.set()
            return
        self._starting = threading.Thread(target=self._start,
                                          name='nova-listener-start',
                                          daemon=True)
        self._starting.start()

    def _start(self):
        try:
            self._listener.start()
        except Exception:
            LOG.exception('The nova notification listener did not start')
            return
        self._started.set()

    @property
    def started(self):
        """Whether it listens (has reached the broker once)."""
        return self._started.is_set()

    def stop(self):
        if self._starting is not None:
            self._starting.join(0.5)
            if self._starting.is_alive():
                # Still trying to reach the broker: oslo.messaging's stop()
                # would wait for that start; the thread is a daemon.
                return
        if not self._started.is_set():
            return
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
