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

"""freezer-dr-agent: heartbeats of one compute host, on the bus.

Every ``heartbeat_interval`` the agent publishes a
``freezer_dr.host.heartbeat`` notification (an ordinary oslo.messaging
notification) carrying the host
name, a sequence number, the kernel's boot id and the latest results of the
local checks. A heartbeat that cannot be sent is dropped, not queued: a late
heartbeat proves nothing, and the next one is due a second later anyway. The
notifier is built with ``retry=0`` so that a broker that went away costs one
failed attempt per heartbeat instead of blocking the agent, and the agent
reconnects by itself when the broker returns.

oslo.messaging's notifier logs a failed notification (with its traceback
and payload) and swallows the error: while the agent sends a heartbeat,
that record is taken as the failure instead (:class:`_SendFailures`), so
that an outage is one WARNING when it starts, the heartbeats lost are
counted, and one INFO says how many when they are sent again.
"""

import itertools
import json
import logging
import os
import threading
import time
import uuid

import oslo_messaging

from freezer_dr import bus
from freezer_dr import events
from freezer_dr import signing

LOG = logging.getLogger(__name__)

BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id'


def read_boot_id(path=BOOT_ID_PATH):
    """The kernel's boot id; a fresh random one where there is none."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        LOG.warning('Cannot read %s: using a random boot id for this run',
                    path)
        return str(uuid.uuid4())


class _SendFailures(logging.Filter):
    """Takes what oslo.messaging logs at WARNING and above while this
    thread is in :meth:`Agent.heartbeat`: the notifier's "could not send"
    record (it swallows the error) is the failure, noted in the thread's
    box instead of logged with its traceback and payload; the rabbit
    driver's own lines about the lost connection (two ERRORs a heartbeat)
    go to the box's ``noise`` and are logged at DEBUG by the agent. Other
    threads' and other callers' records pass."""

    #: Where the notifier reports a notification it could not send.
    FAILURES = ('oslo_messaging.notify.messaging',
                'oslo_messaging.notify.notifier')
    #: The driver under it (oslo.log names some ``oslo.messaging...``).
    NOISE = tuple(prefix + suffix for suffix in (
        '._drivers.impl_rabbit', '._drivers.amqpdriver', '._drivers.pool')
        for prefix in ('oslo_messaging', 'oslo.messaging'))

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    def install(self):
        for name in self.FAILURES + self.NOISE:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def catch(self, box):
        """Note this thread's records in ``box`` (a :class:`_Box`; None:
        stop)."""
        self._local.box = box

    def filter(self, record):
        box = getattr(self._local, 'box', None)
        if box is None or record.levelno < logging.WARNING:
            return True
        if record.name not in self.FAILURES:
            box.noise.append(record.getMessage())
        elif record.exc_info and record.exc_info[1] is not None:
            box.failures.append(record.exc_info[1])
        else:
            # (Without the payload the message carries.)
            box.failures.append(record.getMessage().split(' Payload=')[0])
        return False


class _Box:
    def __init__(self):
        self.failures = []
        self.noise = []


_FAILURES = _SendFailures()
_FAILURES.install()


def _reason(failure):
    if isinstance(failure, BaseException):
        return bus.reason(failure)
    return str(failure)


def make_notifier(transport, host, topic, retry=0):
    return oslo_messaging.Notifier(transport,
                                   publisher_id='freezer-dr-agent:' + host,
                                   driver='messagingv2', topics=[topic],
                                   retry=retry)


class Agent:
    """Heartbeats of one host. ``results`` returns the checks' results."""

    def __init__(self, notifier, host, interval, results=dict,
                 boot_id=None, clock=time.time, key=None):
        """:param key: this host's heartbeat key (bytes): every heartbeat
        is signed with it (None: unsigned)."""
        self._notifier = notifier
        self._key = key
        self.host = host
        self._interval = interval
        self._results = results
        self.boot_id = boot_id or read_boot_id()
        self._clock = clock
        self._sequence = itertools.count(1)
        self.sent = 0
        self.failed = 0
        #: The outage under way (heartbeats not sent since the first).
        self.outage = bus.Outage()

    def heartbeat(self):
        """Publish one heartbeat. Returns False (and counts it in
        ``failed``) when it was not sent: the notifier raised, or reported
        the failure it swallows (see :class:`_SendFailures`). The first
        failure of an outage is a WARNING; the first heartbeat sent after
        it an INFO with how many were lost."""
        payload = {'host': self.host, 'sequence': next(self._sequence),
                   'boot_id': self.boot_id, 'sent_at': self._clock(),
                   'checks': self._results()}
        if self._key is not None:
            payload = signing.sign(payload, self._key)
        box = _Box()
        _FAILURES.catch(box)
        try:
            self._notifier.info({}, events.HEARTBEAT, payload)
        except Exception as exc:   # a heartbeat must never kill the agent
            box.failures.append(exc)
        finally:
            _FAILURES.catch(None)
        for line in box.noise:
            LOG.debug('Heartbeat %d: oslo.messaging said: %s',
                      payload['sequence'], line)
        failures = box.failures
        if failures:
            self.failed += 1
            self.outage.failed()
            if self.outage.attempts == 1:
                LOG.warning('Heartbeat %d not sent: %s; the heartbeats that '
                            'fail are counted, not logged, until the bus '
                            'takes them again',
                            payload['sequence'], _reason(failures[0]))
            else:
                LOG.debug('Heartbeat %d not sent: %s', payload['sequence'],
                          _reason(failures[0]))
            return False
        ended = self.outage.ended()
        if ended is not None:
            LOG.info('Heartbeats are sent again: %d were not sent in %.0f '
                     's (%d not sent since the agent started)', ended[0],
                     ended[1], self.failed)
        self.sent += 1
        LOG.debug('Heartbeat %d sent', payload['sequence'])
        return True

    def run(self, stop):
        """Heartbeat every interval, on a fixed schedule, until ``stop``."""
        next_beat = time.monotonic()
        while not stop.is_set():
            self.heartbeat()
            next_beat += self._interval
            delay = next_beat - time.monotonic()
            if delay < 0:           # we fell behind: do not burst
                next_beat = time.monotonic()
                delay = 0
            stop.wait(delay)


def announce_maintenance(url, exchange, topic, host, enabled, reason,
                         requested_by, key=None, publisher=None,
                         timeout=10.0):
    """Publish a maintenance notification for ``host``, signed with
    ``key`` (the host's, or an operator's master key; None: unsigned), and
    wait for the broker to confirm it.

    :raises Exception: when the broker did not take it (the operator must
        know that the engine was not told).
    """
    payload = {'host': host, 'enabled': enabled, 'reason': reason,
               'requested_by': requested_by, 'sent_at': time.time()}
    if key is not None:
        payload = signing.sign(payload, key)
    bus.publish_confirmed(url, exchange, topic, bus.encode_notification(
        publisher or 'freezer-dr-agent:' + host, events.MAINTENANCE,
        payload), timeout=timeout)


class ShutdownMemory:
    """Remembers (in a small JSON file) that the agent announced a planned
    shutdown, so that it ends that maintenance when it starts again."""

    def __init__(self, path):
        self._path = path

    def announced(self):
        try:
            with open(self._path) as f:
                return bool(json.load(f).get('announced_shutdown'))
        except (OSError, ValueError):
            return False

    def remember(self, announced):
        try:
            os.makedirs(os.path.dirname(self._path) or '.', exist_ok=True)
            tmp = self._path + '.tmp'
            with open(tmp, 'w') as f:
                json.dump({'announced_shutdown': announced}, f)
            os.replace(tmp, self._path)
        except OSError as exc:
            LOG.warning('Cannot write %s: %s', self._path, exc)


class Fleet:
    """Several agents in one process, one thread each (for tests and
    benchmarks that need many hosts on one machine)."""

    def __init__(self, agents):
        self.agents = list(agents)
        self._stop = threading.Event()
        self._threads = []

    def start(self, interval=1.0):
        """Start every agent, spread evenly over one ``interval``."""
        count = max(len(self.agents), 1)
        for n, agent in enumerate(self.agents):
            thread = threading.Thread(target=self._run,
                                      args=(agent, n * interval / count),
                                      name='agent-' + agent.host,
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, agent, offset):
        if not self._stop.wait(offset):
            agent.run(self._stop)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
