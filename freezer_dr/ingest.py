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

"""Heartbeat consumers in worker processes.

One Python process reads about 10,000 heartbeats a second from RabbitMQ
(py-amqp's frame parsing holds the interpreter lock); the liveness core
needs a fraction of that. So the engine runs ``[bus] heartbeat_workers``
processes, each a :class:`freezer_dr.bus.HeartbeatConsumer` on the engine's
heartbeat queue (competing consumers: the broker spreads the messages), each
decoding and validating its messages into events, and sending them in
batches through a pipe to the engine, which only steps the core. Measured on
a 2-core machine with the broker on it: one consumer process 10,800 msg/s,
two 17,700.

Each worker also reports, ten times a second, when it last heard the
engine's canary and its counters. The broker spreads the canaries over the
workers like any message; each worker acknowledges what it read (at most
``HeartbeatConsumer.PREFETCH`` unacknowledged), so a worker that cannot read
is given nothing and what it held goes back to the queue: the engine is
deaf when no worker has heard a canary for ``deaf_after`` seconds. A worker
that dies is restarted; one that stops reporting, or hears no canary for
10 s while the others do, is killed and restarted.
"""

import logging
import multiprocessing
import os
import signal
import threading
import time

from freezer_dr import bus
from freezer_dr import clock

LOG = logging.getLogger(__name__)

_STATUS_INTERVAL = 0.1
# A worker that has not reported for this long is hung: it is killed (and
# so restarted).
_HUNG_AFTER = 10.0
# A worker has this long from its start to its first report (imports and
# a first connection take seconds on a busy control plane).
_START_WITHIN = 60.0


def _worker_main(conn, parent, clock_offset, args):
    """Body of a worker process: consume, parse, send events and status."""
    clock.set_offset(clock_offset)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    lock = threading.Lock()
    counters = bus.Counters()

    def send(message):
        with lock:
            conn.send(message)

    admission = args.pop('admission', None)
    _log_like_the_engine(args.pop('config_args', None))

    def sink(batch):
        parsed = bus.parse_batch(batch, counters, admission,
                                 bus.HEARTBEAT_TYPES)
        if parsed:
            send(('events', parsed))

    consumer = bus.HeartbeatConsumer(sink=sink, **args)
    consumer.start()
    LOG.info('Heartbeat worker (pid %d) consuming queue %s', os.getpid(),
             args.get('queue'))
    try:
        while os.getppid() == parent:
            time.sleep(_STATUS_INTERVAL)
            send(('status', consumer.last_canary, consumer.connected,
                  consumer.counters.received, consumer.counters.undecodable,
                  counters.malformed, dict(counters.refused)))
    except (BrokenPipeError, EOFError, OSError):
        pass            # the engine is gone
    finally:
        consumer.stop()


def _log_like_the_engine(config_args):
    """A spawned worker starts with no logging: read the engine's
    configuration files (``config_args``: their ``--config-file`` and
    ``--config-dir`` arguments) and log as it does, secrets scrubbed."""
    if config_args is None:
        return
    from oslo_log import log as oslo_logging

    from freezer_dr import cmd
    from freezer_dr.conf import CONF
    try:
        oslo_logging.register_options(CONF)
        CONF(config_args, project='freezer-dr',
             prog='freezer-dr-engine-worker', default_config_files=[])
        oslo_logging.setup(CONF, 'freezer-dr')
        cmd.scrub_logs(CONF)
    except Exception as exc:       # (the engine read them: unlikely)
        LOG.warning('Heartbeat worker: logging as the engine failed: %s: '
                    '%s', type(exc).__name__, exc)


def config_args(conf):
    """The arguments that make another process read ``conf``'s files."""
    found = []
    for path in conf.config_file or []:
        found += ['--config-file', path]
    for path in conf.config_dir or []:
        found += ['--config-dir', path]
    return found


class _Status:
    def __init__(self):
        self.reported = time.monotonic()
        #: When it first reported (None: not yet).
        self.first_report = None
        #: Its receiver is handing events to the engine, which is behind:
        #: the worker waits on its pipe, it is not hung.
        self.delivering = False
        self.last_canary = None
        self.connected = False
        self.received = 0
        self.undecodable = 0
        self.malformed = 0
        self.refused = {}


class HeartbeatWorkers:
    """``count`` consumer processes feeding ``deliver_events`` (called with
    lists of parsed events, from receiver threads)."""

    def __init__(self, count, deliver_events, admission=None,
                 config_args=None, **consumer_args):
        """:param admission: a :class:`~freezer_dr.bus.Admission` each
        worker checks the heartbeats with (its keys go to the workers).
        :param config_args: the engine's configuration arguments (see
            :func:`config_args`): the workers log as it does."""
        self._count = count
        self._deliver = deliver_events
        self._args = dict(consumer_args, admission=admission,
                          config_args=config_args)
        # spawn, not fork: a worker is restarted while the engine runs
        # threads, and a forked child could inherit a lock one of them held.
        self._context = multiprocessing.get_context('spawn')
        self._status = [_Status() for _ in range(count)]
        self._processes = [None] * count
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._failures = [0] * count
        self._started = [0.0] * count
        self.restarts = 0

    def start(self):
        for number in range(self._count):
            self._spawn(number)
        threading.Thread(target=self._supervise, name='heartbeat-workers',
                         daemon=True).start()

    def _spawn(self, number):
        receiving, sending = self._context.Pipe(duplex=False)
        # (Every worker reaches the same broker: the first one says when
        # it cannot, the others say it at DEBUG. The URL, a bus.BusURL,
        # brings its TLS settings, plain data.)
        args = dict(self._args, report_outages=number == 0 and
                    self._args.get('report_outages', True))
        process = self._context.Process(
            target=_worker_main,
            args=(sending, os.getpid(), clock.offset(), args),
            name='heartbeat-worker-%d' % number, daemon=True)
        process.start()
        sending.close()
        self._processes[number] = process
        self._started[number] = time.monotonic()
        self._status[number].reported = time.monotonic()
        self._status[number].first_report = None
        self._status[number].delivering = False
        threading.Thread(target=self._receive,
                         args=(number, process, receiving),
                         name='heartbeat-worker-%d-receiver' % number,
                         daemon=True).start()
        LOG.info('Heartbeat worker %d started (pid %d)', number, process.pid)

    def _receive(self, number, process, conn):
        status = self._status[number]
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == 'events':
                status.delivering = True
                try:
                    self._deliver(message[1])
                except Exception:
                    LOG.exception('Dropped %d events: the engine refused '
                                  'them', len(message[1]))
                finally:
                    status.delivering = False
                # (Events prove the worker alive as well as a report.)
                status.reported = time.monotonic()
            else:
                (_, status.last_canary, status.connected, status.received,
                 status.undecodable, status.malformed,
                 status.refused) = message
                status.reported = time.monotonic()
                if status.first_report is None:
                    status.first_report = status.reported
        conn.close()
        process.join(1)
        if self._stopping.is_set() or process.exitcode == -signal.SIGTERM:
            # Stopped on purpose (by us, or with the whole engine's process
            # group, as systemd does): not a failure to restart.
            return
        self.restarts += 1
        status.connected = False
        # Back off when a worker keeps dying: 1, 2, 4 ... 30 s.
        delay = min(2.0 ** min(self._failures[number], 5), 30.0)
        if time.monotonic() - self._started[number] > 60:
            self._failures[number] = 0
            delay = 1.0
        self._failures[number] += 1
        LOG.error('Heartbeat worker %d (pid %d) ended with %s; restarting '
                  'it in %.0f s', number, process.pid, process.exitcode,
                  delay)
        if self._stopping.wait(delay):
            return
        with self._lock:
            if not self._stopping.is_set():
                self._spawn(number)

    def _supervise(self):
        while not self._stopping.wait(1.0):
            self._check(time.monotonic())

    def _check(self, now):
        """One pass of the supervision: kill the workers that are hung."""
        freshest = self.seconds_since_canary()
        for number, status in enumerate(self._status):
            process = self._processes[number]
            if process is None or not process.is_alive():
                continue
            if status.delivering:
                continue    # the engine is behind, not the worker
            limit = _HUNG_AFTER if status.first_report is not None \
                else _START_WITHIN
            if now - status.reported > limit:
                LOG.error('Heartbeat worker %d (pid %d) has not reported '
                          'for %.0f s: killing it', number, process.pid,
                          limit)
                process.kill()
            elif freshest is not None and freshest < _HUNG_AFTER / 2 \
                    and status.first_report is not None \
                    and now - max(status.last_canary or 0.0,
                                  status.first_report) > _HUNG_AFTER:
                # It reports, but its consumer hears nothing while
                # another does: the messages it holds (its prefetch)
                # go back to the queue when it is gone.
                LOG.error('Heartbeat worker %d (pid %d) has heard no '
                          'canary for %.0f s while the others do: '
                          'killing it', number, process.pid, _HUNG_AFTER)
                process.kill()

    def seconds_since_canary(self):
        """Seconds since a worker last heard the canary (the freshest of
        them; None until one has). The workers share the queue, and each
        acknowledges what it read: the broker gives a worker that cannot
        read none of the messages (and gives what it held back when it is
        gone), so the engine hears as long as one worker does. (The broker
        hands out messages in runs, so one worker can hear no canary for
        a second under a flood while the queue is on time.) A worker that
        hears none for ``_HUNG_AFTER`` while others do is restarted."""
        heard = [s.last_canary for s in self._status
                 if s.last_canary is not None]
        if not heard:
            return None
        return time.monotonic() - max(heard)

    @property
    def counters(self):
        total = bus.Counters()
        for status in self._status:
            total.received += status.received
            total.undecodable += status.undecodable
            total.malformed += status.malformed
            for reason, count in status.refused.items():
                total.refused[reason] = total.refused.get(reason, 0) + count
        total.reconnects = self.restarts
        return total

    def stop(self):
        self._stopping.set()
        for process in self._processes:
            if process is not None and process.is_alive():
                process.terminate()
        for process in self._processes:
            if process is not None:
                process.join(5)
