#!/usr/bin/env python3
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

"""Supervision of the heartbeat worker processes: ours against cotyledon
and oslo.service (issue 13, point 4).

Each supervisor runs, in an "engine" process of its own that this bench
starts (``--role parent``), two heartbeat workers running the same worker
function: a :class:`freezer_dr.bus.HeartbeatConsumer` on the heartbeat
queue of the local RabbitMQ, :func:`freezer_dr.bus.parse_batch` of what it
reads, the events sent in batches to a consumer in the engine process
(a counter there). Before the workers start, the engine process starts the
threads the engine has: a thread ticking every 10 ms like the engine's
loop, and the real metrics HTTP endpoint. The supervisors:

* ``hand``: freezer-dr's own, :class:`freezer_dr.ingest.HeartbeatWorkers`
  (multiprocessing ``spawn``, one pipe per worker process) under
  :func:`freezer_dr.cmd.stop_on_signals`, as ``freezer-dr-engine`` runs it:
  the baseline;
* ``cotyledon``: a ``cotyledon.ServiceManager`` owning the engine process's
  main thread, with ``mp_context=spawn`` (what the engine needs: it
  restarts workers while its threads run); the workers reach the engine's
  consumer through a ``multiprocessing.connection.Listener`` (a Unix
  socket) of the engine, each worker process and each replacement
  connecting to it;
* ``cotyledon_fork``: the same with cotyledon's default start method,
  ``fork`` (on Linux before Python 3.14);
* ``oslo_service``: oslo.service's ``ProcessLauncher`` with its
  ``threading`` backend (cotyledon underneath), ``start_method='spawn'``,
  the same worker as an oslo.service service;
* ``oslo_service_eventlet``: the same with oslo.service's default backend,
  eventlet (``os.fork``, no other start method).

Measured (medians; ``hand`` and ``cotyledon`` run ``--runs`` engine
processes each, the others ``--extra-runs``, taken in turn, in another
order at each run, so that the load of a shared machine falls on all of
them):

* ``restart_s``: from SIGKILL of one worker to its replacement (a new pid)
  having handed the engine's consumer a heartbeat it consumed (250
  heartbeats a second are published meanwhile); both workers of each
  engine process are killed, one after the other, each alone (cotyledon
  sleeps 5 s, oslo.service's eventlet launcher 1 s, before starting a
  process when the ``workers``+1-th latest start is less than ``workers``
  seconds old: the kills wait for that); ``respawn_s``: from the SIGKILL
  to the replacement process started (its start time in /proc: the
  supervisor's own delay, without the new interpreter's start-up);
  ``restart_again_s``: the replacement killed again as soon as it worked
  (a crash loop: back-off), once per supervisor;
* ``stop_s``: from SIGTERM to the engine process to it and all its workers
  having exited, RabbitMQ reachable (``stop_workers_s``: to the workers
  gone); ``stop_refused_s`` with the workers pointed at a closed port
  (127.0.0.1:47101), ``stop_blackhole_s`` at a port this bench listens on
  and never answers (127.0.0.1:47102: connections hang in the AMQP
  handshake), one of each for ``hand`` and ``cotyledon``
  (``--extra-unreachable``: for all); the shared broker is never touched;
  ``oslo_service_eventlet_blocking_wait_stop_s`` and ``..._exit``: the
  stop of an eventlet-backend engine whose service's ``wait`` blocks on
  its thread (as the threading backend's service does);
* ``msgs_per_s``: ``--messages`` heartbeats (100,000, split over the runs)
  from a queue filled before each engine process starts (its messages
  kept 10 minutes, not the engine's one: filling and starting can take
  more than a minute on a busy machine) to the engine's consumer, timed
  from the first event delivered to the last (``hand`` and
  ``cotyledon`` only: the others run the same worker over the same channel
  as ``cotyledon``); ``cpu_us_per_msg``: CPU time of the workers and the
  engine process per heartbeat over the same span (what a busy shared
  machine changes least);
* ``threads_ran``: the engine's ticking thread ticked through every restart
  and the stop (``max_gap_s``: its longest pause) and its metrics endpoint
  answered after each restart (``metrics_slowest_s``: its slowest
  answer); ``restarts_ok``: kills followed by a replacement that
  delivered within 20 s; ``sighup_restarts_workers``:
  whether a SIGHUP to the engine (logrotate, ``systemctl reload``) ends
  its workers; ``worker_fds``, ``worker_rss_mb``,
  ``worker_holds_metrics_socket``: what a worker process holds (a forked
  one inherits the engine's listening socket).

The last line printed is one JSON object: ``hand_restart_s``,
``cotyledon_restart_s``, ``hand_stop_s``, ``cotyledon_stop_s``,
``hand_msgs_per_s``, ``cotyledon_msgs_per_s``, ... and ratios against the
baseline: ``ratio_restart``, ``ratio_respawn``, ``ratio_stop`` and
``ratio_cpu_per_msg`` = cotyledon / hand (below 1: faster, cheaper),
``ratio_msgs`` = cotyledon / hand (above 1: faster). 90 s on a quiet
2-core machine; three to six minutes when others load it (load averages
of 7 to 20), mostly the start-up of new interpreters (``--runs 2
--messages 50000`` for a shorter run). Reproduce with::

    python bench/supervision.py
"""

import argparse
import json
import logging
import multiprocessing
from multiprocessing import connection as mp_connection
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib import request
import uuid

import amqp
import kombu
import kombu.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

if os.environ.get('BENCH_SUPERVISION_OSLO_THREADING'):
    # (oslo.messaging imports oslo_service.service, which picks oslo.service's
    # default backend, eventlet, for good: the threading one must be chosen
    # before freezer_dr.bus is imported. Only the oslo_service engine
    # process and its workers have this variable.)
    from oslo_service import backend as oslo_service_backend
    oslo_service_backend.init_backend(
        oslo_service_backend.BackendType.THREADING)

from freezer_dr import bus  # noqa: E402
from freezer_dr import clock  # noqa: E402
from freezer_dr import events  # noqa: E402

try:
    import cotyledon
except ImportError:         # (test-requirements.txt brings it)
    cotyledon = None
try:
    from oslo_service.backend import base as oslo_service_base
except ImportError:
    oslo_service_base = None

HOSTS = 10000
BROKER_ERRORS = (OSError, kombu.exceptions.KombuError,
                 amqp.exceptions.AMQPError)
WORKERS = 2
TRICKLE_PER_S = 250
REFUSED_PORT = 47101
BLACKHOLE_PORT = 47102
METRICS_PORTS = range(47110, 47200)
RESTART_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
SIGHUP_WAIT = 1.5
SPACING = 2.1
BLOCKING_GRACE = 2
INGEST_IDLE = 5.0
# (Like freezer_dr.ingest: a worker reports ten times a second.)
STATUS_INTERVAL = 0.1
SUPERVISORS = ('hand', 'cotyledon', 'cotyledon_fork', 'oslo_service',
               'oslo_service_eventlet')
# Measured fully (the others run the same worker over the same channel as
# cotyledon, under the same ServiceManager: ``--extra-runs``, no ingest).
MAIN_KINDS = ('hand', 'cotyledon')


# --------------------------------------------------------------- workers

def worker_body(conn, parent, clock_offset, args, stopping):
    """:func:`freezer_dr.ingest._worker_main` less its two
    ``signal.signal`` calls (cotyledon runs a service in a thread of the
    worker, where Python refuses them; cotyledon handles SIGTERM and
    SIGINT itself) and its logging set-up (the bench's engine reads no
    configuration file: a no-op there too), with ``stopping``, set by the
    service's terminate."""
    clock.set_offset(clock_offset)
    lock = threading.Lock()
    counters = bus.Counters()

    def send(message):
        with lock:
            conn.send(message)

    admission = args.pop('admission', None)

    def sink(batch):
        parsed = bus.parse_batch(batch, counters, admission,
                                 bus.HEARTBEAT_TYPES)
        if parsed:
            send(('events', parsed))

    consumer = bus.HeartbeatConsumer(sink=sink, **args)
    consumer.start()
    try:
        while os.getppid() == parent and not stopping.is_set():
            time.sleep(STATUS_INTERVAL)
            send(('status', consumer.last_canary, consumer.connected,
                  consumer.counters.received, consumer.counters.undecodable,
                  counters.malformed, dict(counters.refused)))
    except (BrokenPipeError, EOFError, OSError):
        pass            # the engine is gone
    finally:
        consumer.stop()


def _connect_and_work(address, authkey, slot, args, stopping):
    conn = mp_connection.Client(address, family='AF_UNIX', authkey=authkey)
    conn.send(('hello', slot, os.getpid()))
    worker_body(conn, os.getppid(), args.pop('clock_offset'), args,
                stopping)


if cotyledon is not None:
    class HeartbeatService(cotyledon.Service):
        """The heartbeat worker as a cotyledon service (built in the
        worker process: its arguments are pickled with ``spawn``)."""

        name = 'heartbeat-worker'

        def __init__(self, worker_id, address, authkey, args):
            super().__init__(worker_id)
            self._address, self._authkey = address, authkey
            self._args = dict(args)
            self._stopping = threading.Event()

        def run(self):
            _connect_and_work(self._address, self._authkey, self.worker_id,
                              self._args, self._stopping)

        def terminate(self):
            self._stopping.set()


if oslo_service_base is not None:
    class OsloHeartbeatService(oslo_service_base.ServiceBase):
        """The heartbeat worker as an oslo.service service (one instance,
        copied to every worker: it is not told which worker it is)."""

        def __init__(self, address, authkey, args):
            # (Pickled to each worker with spawn: no lock, no thread yet.)
            self._address, self._authkey = address, authkey
            self._args = dict(args)
            self._stopping = self._thread = None

        def start(self):
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=_connect_and_work,
                args=(self._address, self._authkey, None, self._args,
                      self._stopping), daemon=True)
            self._thread.start()

        def stop(self, graceful=False):
            if self._stopping is not None:
                self._stopping.set()

        def wait(self):
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)

        def reset(self):
            pass

    class EventletHeartbeatService(OsloHeartbeatService):
        """The same for oslo.service's eventlet backend: its ``wait``
        returns at once. (That backend runs the signal handlers of a worker
        in eventlet's hub, in the worker's main thread: a ``wait`` that
        blocks on a thread, as above, keeps SIGTERM from ever being
        handled; the launcher's own green wait holds the worker.)"""

        def wait(self):
            pass

    class BlockingEventletHeartbeatService(OsloHeartbeatService):
        """The threading backend's service as it is, under the eventlet
        backend: its ``wait`` starts it (the launcher's green thread that
        would has not run yet) and blocks on its thread."""

        def wait(self):
            if self._thread is None:
                self.start()
            super().wait()


# ------------------------------------------------------ the engine process

class Out:
    """JSON lines to the bench, on stdout."""

    def __init__(self):
        self._lock = threading.Lock()

    def emit(self, kind, **fields):
        fields.update(ev=kind, t=time.monotonic())
        line = json.dumps(fields, sort_keys=True)
        with self._lock:
            try:
                sys.stdout.write(line + '\n')
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                # The bench is gone: so is this engine (its workers see
                # their parent gone and end).
                os._exit(1)


class EngineSide:
    """What the engine process has whatever the supervisor: the consumer
    of the workers' events, a thread ticking like the engine's loop and
    the metrics endpoint, started before any worker."""

    def __init__(self, out, expect, metrics_port):
        from freezer_dr import metrics as metrics_module
        self.out = out
        self._expect = expect
        self._lock = threading.Lock()
        self._count = 0
        self._first_at = self._last_at = None
        self._ingested = False
        self._seen = set()
        self._alive = set()
        self._cpu_at_first = {}
        self._ticks = 0
        self._max_gap = 0.0
        self._stopping = threading.Event()
        threading.Thread(target=self._tick, name='engine', daemon=True).start()
        self.endpoint = metrics_module.serve(metrics_module.Metrics(),
                                             '127.0.0.1', metrics_port)

    def _tick(self):
        last = reported = time.monotonic()
        while not self._stopping.wait(0.01):
            now = time.monotonic()
            self._ticks += 1
            self._max_gap = max(self._max_gap, now - last)
            last = now
            if now - reported >= 1.0:
                reported = now
                self.report_ticks()
                self._ingest_ended(now)

    def _ingest_ended(self, now):
        # (Fewer than expected, then nothing for INGEST_IDLE: the bench
        # says what is left in the queue.)
        with self._lock:
            if self._expect and not self._ingested and \
                    self._first_at is not None and \
                    now - self._last_at > INGEST_IDLE:
                self._ingested = True
                self.out.emit('ingested', n=self._count,
                              seconds=self._last_at - self._first_at,
                              cpu_s=self._cpu_since_first())

    def report_ticks(self):
        self.out.emit('ticks', n=self._ticks, max_gap=round(self._max_gap, 4))

    def deliver(self, slot, pid, batch):
        with self._lock:
            now = time.monotonic()
            self._count += len(batch)
            self._last_at = now
            if self._first_at is None:
                self._first_at = now
                self._cpu_at_first[os.getpid()] = _cpu_seconds(os.getpid())
            if pid not in self._seen:
                self._seen.add(pid)
                self._cpu_at_first[pid] = _cpu_seconds(pid)
                self.out.emit('first', pid=pid, slot=slot)
            if self._expect and not self._ingested and \
                    self._count >= self._expect:
                self._ingested = True
                self.out.emit('ingested', n=self._count,
                              seconds=now - self._first_at,
                              cpu_s=self._cpu_since_first())

    def _cpu_since_first(self):
        """CPU seconds the engine process and its workers spent since
        each first took part in the ingest (not the workers' start-up)."""
        return sum(max(0.0, _cpu_seconds(pid) - used)
                   for pid, used in self._cpu_at_first.items())

    def alive(self, slot, pid):
        with self._lock:
            if pid not in self._alive:
                self._alive.add(pid)
                self.out.emit('worker', pid=pid, slot=slot)

    def receive(self, conn):
        """Events and status of one worker connected to the listener."""
        try:
            _, slot, pid = conn.recv()
            while True:
                message = conn.recv()
                if message[0] == 'events':
                    self.deliver(slot, pid, message[1])
                else:
                    self.alive(slot, pid)
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    def listen(self):
        """A Unix socket each worker process connects to (address,
        authkey)."""
        authkey = os.urandom(16)
        listener = mp_connection.Listener(family='AF_UNIX', authkey=authkey)

        def accept():
            while True:
                try:
                    conn = listener.accept()
                except (OSError, EOFError,
                        mp_connection.AuthenticationError):
                    continue
                threading.Thread(target=self.receive, args=(conn,),
                                 name='worker-receiver', daemon=True).start()
        threading.Thread(target=accept, name='listener', daemon=True).start()
        return listener.address, authkey


def parent_hand(config, side):
    from freezer_dr import cmd
    from freezer_dr import ingest
    stop = threading.Event()
    cmd.stop_on_signals(stop)
    workers = None

    def deliver(batch):
        slot = int(threading.current_thread().name.split('-')[2])
        side.deliver(slot, workers._processes[slot].pid, batch)
    workers = ingest.HeartbeatWorkers(WORKERS, deliver,
                                      **config['consumer_args'])
    workers.start()

    def watch():
        # (A worker is up once it reported, its consumer running: its
        # status's time changed since the worker was first seen.)
        spawned = {}
        while not stop.is_set():
            for slot, process in enumerate(list(workers._processes)):
                if process is None or not process.is_alive():
                    continue
                reported = workers._status[slot].reported
                if spawned.setdefault(process.pid, reported) != reported:
                    side.alive(slot, process.pid)
            time.sleep(0.01)
    threading.Thread(target=watch, daemon=True).start()
    stop.wait()
    workers.stop()
    side.report_ticks()
    return 0


def _worker_args(config):
    return dict(config['consumer_args'], clock_offset=clock.offset())


def parent_cotyledon(config, side, method):
    address, authkey = side.listen()
    manager = cotyledon.ServiceManager(
        mp_context=multiprocessing.get_context(method),
        graceful_shutdown_timeout=5)
    manager.add(HeartbeatService, workers=WORKERS,
                args=(address, authkey, _worker_args(config)))
    manager.register_hooks(on_terminate=side.report_ticks)
    manager.run()       # (its SIGTERM ends in sys.exit(0))
    return 0


def parent_oslo_service(config, side):
    from oslo_config import cfg
    from oslo_service import service as oslo_service
    address, authkey = side.listen()
    conf = cfg.ConfigOpts()
    conf([], project='bench-supervision', default_config_files=[])
    launcher = oslo_service.ProcessLauncher(conf, restart_method='mutate',
                                            start_method='spawn')
    conf.set_override('graceful_shutdown_timeout', 5)
    launcher.launch_service(
        OsloHeartbeatService(address, authkey, _worker_args(config)),
        workers=WORKERS)
    try:
        return launcher.wait()
    finally:
        side.report_ticks()


def parent_oslo_service_eventlet(config, side, blocking=False):
    from oslo_config import cfg
    from oslo_service import service as oslo_service
    address, authkey = side.listen()
    conf = cfg.ConfigOpts()
    conf([], project='bench-supervision', default_config_files=[])
    launcher = oslo_service.ProcessLauncher(conf, restart_method='mutate')
    conf.set_override('graceful_shutdown_timeout',
                      BLOCKING_GRACE if blocking else 5)
    kind = BlockingEventletHeartbeatService if blocking \
        else EventletHeartbeatService
    launcher.launch_service(kind(address, authkey, _worker_args(config)),
                            workers=WORKERS)
    try:
        return launcher.wait()
    finally:
        side.report_ticks()


def run_parent(config):
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s %(process)d %(name)s '
                               '%(levelname)s %(message)s')
    out = Out()
    side = EngineSide(out, config['expect'], config['metrics_port'])
    kind = config['supervisor']
    out.emit('started', pid=os.getpid())
    if kind == 'hand':
        return parent_hand(config, side)
    if kind == 'cotyledon':
        return parent_cotyledon(config, side, 'spawn')
    if kind == 'cotyledon_fork':
        return parent_cotyledon(config, side, 'fork')
    if kind == 'oslo_service':
        return parent_oslo_service(config, side)
    if kind == 'oslo_service_eventlet':
        return parent_oslo_service_eventlet(config, side)
    if kind == 'oslo_service_eventlet_blocking':
        return parent_oslo_service_eventlet(config, side, blocking=True)
    raise SystemExit('unknown supervisor %s' % kind)


# ------------------------------------------------------------- the bench

def bodies():
    """One heartbeat for each of HOSTS hosts, encoded once."""
    boots = [str(uuid.UUID(int=n + 1, version=4)) for n in range(HOSTS)]
    now = time.time()
    return [bus.encode_notification(
        'freezer-dr-agent:compute-%05d' % n, events.HEARTBEAT,
        {'host': 'compute-%05d' % n, 'sequence': 1, 'boot_id': boots[n],
         'sent_at': now,
         'checks': {'nova_compute': {'ok': True, 'detail': ''},
                    'libvirt': {'ok': True, 'detail': ''}}})
        for n in range(HOSTS)]


def publish(channel, exchange, routing_key, body):
    channel.basic_publish(
        channel.prepare_message(body, content_type='application/json',
                                content_encoding='utf-8'),
        exchange=exchange, routing_key=routing_key)


class Trickle(threading.Thread):
    """Heartbeats at TRICKLE_PER_S to ``routing_key`` (None: paused)."""

    def __init__(self, url, exchange, payloads):
        super().__init__(name='trickle', daemon=True)
        self._url, self._exchange, self._payloads = url, exchange, payloads
        self.routing_key = None
        self._stopping = threading.Event()

    def run(self):
        n = 0
        while not self._stopping.is_set():
            try:
                with kombu.Connection(self._url) as conn:
                    channel = conn.channel()
                    while not self._stopping.wait(1.0 / TRICKLE_PER_S):
                        key = self.routing_key
                        if key is not None:
                            publish(channel, self._exchange, key,
                                    self._payloads[n % HOSTS])
                            n += 1
            except BROKER_ERRORS:
                self._stopping.wait(0.5)    # (a busy shared broker)

    def stop(self):
        self._stopping.set()
        self.join(5)


class Parent:
    """An engine process (``--role parent``) and what it said."""

    def __init__(self, config):
        self.log = tempfile.TemporaryFile(mode='w+')
        env = dict(os.environ)
        env.pop('BENCH_SUPERVISION_OSLO_THREADING', None)
        if config['supervisor'] == 'oslo_service':
            env['BENCH_SUPERVISION_OSLO_THREADING'] = '1'
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--role', 'parent',
             '--config', json.dumps(config)],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            start_new_session=True, env=env)
        self.lines = []
        self.cond = threading.Condition()
        self.pids = set()
        self.forks = {}         # worker pid: when it was started
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.lines.append(message)
                if 'pid' in message and message['ev'] in ('first', 'worker'):
                    pid = message['pid']
                    if pid not in self.forks:
                        self.forks[pid] = _fork_time(pid)
                    self.pids.add(pid)
                self.cond.notify_all()

    def wait_for(self, test, timeout):
        """The first line (from any so far) for which ``test`` is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for message in self.lines:
                    if test(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.cond.wait(min(left, 0.2))

    def events(self, kind):
        with self.cond:
            return [m for m in self.lines if m['ev'] == kind]

    def stderr_tail(self):
        self.log.seek(0)
        return self.log.read()[-2000:]

    def terminate_and_time(self):
        """Seconds from SIGTERM to the process and its workers gone
        (None: not in STOP_TIMEOUT), and to its workers gone."""
        with self.cond:
            pids = set(self.pids)
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        deadline = began + STOP_TIMEOUT
        workers_gone = None
        while time.monotonic() < deadline:
            if workers_gone is None and \
                    not any(_running(pid) for pid in pids):
                workers_gone = time.monotonic() - began
            if workers_gone is not None and self.proc.poll() is not None:
                return time.monotonic() - began, workers_gone
            time.sleep(0.002)
        self.kill()
        return None, workers_gone

    def kill(self):
        # (Its process group: the engine process and its workers, all
        # started by this bench.)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(5)


def _cpu_seconds(pid):
    """User and system CPU seconds of process ``pid`` so far (0 when it
    is gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _fork_time(pid):
    """When process ``pid`` was started, on the time.monotonic() clock
    (to 10 ms; None when it is gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        with open('/proc/uptime') as f:
            uptime = float(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    age = uptime - int(fields[19]) / os.sysconf('SC_CLK_TCK')
    return time.monotonic() - age


def _running(pid):
    """Is ``pid`` a live process (not gone, not a zombie)?"""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _process_facts(pid, metrics_port):
    """Open descriptors of a worker, whether one is the engine's metrics
    listening socket (inherited through fork), its resident memory."""
    facts = {'fds': None, 'holds_metrics_socket': None, 'rss_mb': None}
    inodes = set()
    try:
        with open('/proc/net/tcp') as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == '0A' and \
                        int(fields[1].split(':')[1], 16) == metrics_port:
                    inodes.add(fields[9])
        links = []
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                links.append(os.readlink('/proc/%d/fd/%s' % (pid, fd)))
            except OSError:
                pass
        facts['fds'] = len(links)
        facts['holds_metrics_socket'] = any(
            link == 'socket:[%s]' % inode for link in links
            for inode in inodes)
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    facts['rss_mb'] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return facts


def _metrics_answer(port):
    """Seconds the engine's metrics endpoint took to answer (None: it
    did not, in 10 s)."""
    began = time.monotonic()
    try:
        with request.urlopen('http://127.0.0.1:%d/metrics' % port,
                             timeout=10) as answer:
            answer.read()
            if answer.status == 200:
                return time.monotonic() - began
    except OSError:
        pass
    return None


def _free_port(ports, avoid=()):
    for port in ports:
        if port in avoid:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(('127.0.0.1', port))
            except OSError:
                continue
            return port
    raise SystemExit('no free port in %s' % ports)


def _new_result():
    return {'restart_s': [], 'respawn_s': [], 'stop_s': [],
            'stop_refused_s': [],
            'stop_blackhole_s': [], 'stop_workers_s': [], 'ingested': [],
            'ingest_cpu_s': [],
            'msgs_per_s': None, 'restarts_ok': 0, 'metrics_s': 0.0,
            'restarts_tried': 0, 'metrics_answered': True,
            'threads_ran': True, 'max_gap_s': 0.0, 'worker': None,
            'sighup_restarts_workers': None, 'restart_again_s': None,
            'errors': []}


class Bench:
    """The supervisors taken in turn for each repetition (a load that
    changes on a shared machine is spread over all of them)."""

    def __init__(self, args, kinds):
        self.args = args
        self.kinds = kinds
        self.prefix = 'bench-supervision-' + uuid.uuid4().hex[:8]
        self.payloads = bodies()
        self.trickle = Trickle(args.url, self.prefix, self.payloads)
        self.trickle.start()
        self.used_ports = set()
        self.queues = []
        self.parents = []
        self.results = {kind: _new_result() for kind in kinds}

    def consumer_args(self, kind, url=None):
        topic = '%s-%s' % (self.prefix, kind)
        # (A TTL of 10 minutes, not the engine's minute: on a busy machine
        # filling the queue and starting the engine can take that long.)
        return dict(url=url or self.args.url, exchange=self.prefix,
                    topic=topic, queue=topic + '-q', canary_id=topic,
                    message_ttl=600.0)

    def declare(self, consumer_args):
        queue = bus.HeartbeatConsumer(sink=None, **consumer_args)._queue
        with kombu.Connection(self.args.url) as conn:
            queue(conn.channel()).declare()
        self.queues += [consumer_args['queue'],
                        consumer_args['topic'] + '.info']

    def depth(self, queue):
        try:
            with kombu.Connection(self.args.url) as conn:
                return conn.channel().queue_declare(
                    queue, passive=True).message_count
        except BROKER_ERRORS as exc:
            return 'unknown (%s)' % exc

    def fill(self, consumer_args, count):
        sent, tries = 0, 0
        while sent < count:
            try:
                with kombu.Connection(self.args.url) as conn:
                    channel = conn.channel()
                    while sent < count:
                        publish(channel, self.prefix,
                                consumer_args['topic'] + '.info',
                                self.payloads[sent % HOSTS])
                        sent += 1
            except BROKER_ERRORS:
                # (A busy shared broker can stall a publisher; one in
                # flight may be lost or doubled: the count is a lower
                # bound.)
                tries += 1
                if tries > 3:
                    raise

    def launch(self, kind, consumer_args, expect=0):
        port = _free_port(METRICS_PORTS, self.used_ports)
        self.used_ports.add(port)
        parent = Parent({'supervisor': kind, 'consumer_args': consumer_args,
                         'expect': expect, 'metrics_port': port})
        self.parents.append(parent)
        return parent, port

    def run(self):
        for kind in self.kinds:
            self.declare(self.consumer_args(kind))
        for run in range(max(self.args.runs, self.args.extra_runs)):
            # (Each run in another order: what one leaves behind, such as
            # a broker still busy, does not always fall on the same one.)
            shift = run % len(self.kinds)
            for kind in self.kinds[shift:] + self.kinds[:shift]:
                if run < self.runs(kind):
                    self.run_once(kind, run)
        self.trickle.routing_key = None
        for mode, port in (('refused', REFUSED_PORT),
                           ('blackhole', BLACKHOLE_PORT)):
            for _ in range(self.args.unreachable_runs):
                for kind in self.kinds:
                    if kind in MAIN_KINDS or self.args.extra_unreachable:
                        self.stop_unreachable(kind, mode, port)
        if 'oslo_service_eventlet' in self.kinds:
            self.probe_blocking_wait()
        return self.results

    def probe_blocking_wait(self):
        """SIGTERM to an eventlet-backend engine whose workers' service
        blocks in ``wait`` on a thread (as the threading backend's does)."""
        result = self.results['oslo_service_eventlet']
        parent, _ = self.launch('oslo_service_eventlet_blocking',
                                self.consumer_args(
                                    'oslo_service_eventlet',
                                    'amqp://guest:guest@127.0.0.1:%d//'
                                    % REFUSED_PORT))
        deadline = time.monotonic() + 30
        while len(parent.events('worker')) < WORKERS:
            if time.monotonic() > deadline or parent.proc.poll() is not None:
                result['errors'].append('blocking wait: the workers did not '
                                        'start: %s'
                                        % parent.stderr_tail()[-300:])
                parent.kill()
                return
            time.sleep(0.05)
        time.sleep(0.5)
        result['blocking_wait_stop_s'], _ = parent.terminate_and_time()
        result['blocking_wait_exit'] = parent.proc.returncode

    def runs(self, kind):
        return self.args.runs if kind in MAIN_KINDS else self.args.extra_runs

    def run_once(self, kind, run):
        result = self.results[kind]
        consumer_args = self.consumer_args(kind)
        expect = 0
        if kind in MAIN_KINDS and self.args.messages:
            # (The --messages heartbeats, split over the runs.)
            expect = self.args.messages // self.args.runs + (
                run < self.args.messages % self.args.runs)
            self.trickle.routing_key = None
            try:
                self.fill(consumer_args, expect)
            except Exception as exc:
                result['errors'].append('filling the queue: %s: %s'
                                        % (type(exc).__name__, exc))
                return
        parent, port = self.launch(kind, consumer_args, expect)
        try:
            self._measure(parent, port, consumer_args, expect, result,
                          first=run == 0, last=run == self.runs(kind) - 1)
        except Exception as exc:
            result['errors'].append('%s: %s' % (type(exc).__name__, exc))
            sys.stderr.write(parent.stderr_tail())
            parent.kill()

    def _measure(self, parent, port, consumer_args, expect, result, first,
                 last):
        if expect:
            done = parent.wait_for(lambda m: m['ev'] == 'ingested', 120)
            if done is None:
                raise RuntimeError('did not ingest %d heartbeats' % expect)
            result['ingested'].append((done['n'], done['seconds']))
            result['ingest_cpu_s'].append(done['cpu_s'])
            if done['n'] < expect:
                result['errors'].append(
                    'ingested %d of %d heartbeats, then none for %.0f s; '
                    '%s left in the queue' % (
                        done['n'], expect, INGEST_IDLE,
                        self.depth(consumer_args['queue'])))
        self.trickle.routing_key = consumer_args['topic'] + '.info'
        deadline = time.monotonic() + 30
        while len(parent.events('first')) < WORKERS:
            if time.monotonic() > deadline or parent.proc.poll() is not None:
                raise RuntimeError('the workers delivered nothing: %s'
                                   % parent.stderr_tail()[-500:])
            time.sleep(0.05)
        originals = [m['pid'] for m in parent.events('first')[:WORKERS]]
        if first:
            result['worker'] = _process_facts(originals[0], port)
        restarted_at = replacement = None
        for victim in originals:
            # (A worker dying alone is measured, not a crash loop: see
            # restart_again_s for that.)
            latest = max(m['t'] for m in parent.events('first'))
            time.sleep(max(0.0, latest + 0.3 - time.monotonic(),
                           self._spacing(parent) - time.monotonic()))
            if not _running(victim):
                # (Its supervisor killed it first: HeartbeatWorkers kills
                # a worker that heard no canary for 10 s while another
                # did.)
                result['errors'].append(
                    'pid %d was gone before the kill: %s' % (
                        victim, parent.stderr_tail()[-400:]))
                continue
            killed_at = time.monotonic()
            back, replacement = self._kill_and_wait(parent, victim)
            result['restarts_tried'] += 1
            if replacement is not None and \
                    parent.forks.get(replacement) is not None:
                result['respawn_s'].append(
                    max(0.0, parent.forks[replacement] - killed_at))
            if back is None:
                result['errors'].append('no replacement for pid %d in %.0f '
                                        's: %s' % (victim, RESTART_TIMEOUT,
                                                   parent.stderr_tail()[-600:]))
                continue
            result['restarts_ok'] += 1
            result['restart_s'].append(back)
            restarted_at = time.monotonic()
            answered = _metrics_answer(port)
            if answered is None:
                result['metrics_answered'] = False
            else:
                result['metrics_s'] = max(result['metrics_s'], answered)
        if first and replacement is not None:
            # The replacement dies as soon as it works: a crash loop.
            back, _ = self._kill_and_wait(parent, replacement)
            result['restart_again_s'] = back
            restarted_at = time.monotonic()
        if last:
            # SIGHUP (logrotate, systemctl reload): do workers end? (Their
            # replacements are awaited: the stop is measured in calm.)
            with parent.cond:
                known = set(parent.pids)
            alive = [pid for pid in known if _running(pid)]
            parent.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + SIGHUP_WAIT
            ended = []
            while time.monotonic() < deadline and not ended:
                time.sleep(0.02)
                ended = [pid for pid in alive if not _running(pid)]
            time.sleep(0.2)
            ended = [pid for pid in alive if not _running(pid)]
            result['sighup_restarts_workers'] = bool(ended)
            deadline = time.monotonic() + RESTART_TIMEOUT
            while ended and time.monotonic() < deadline and len(
                    {m['pid'] for m in parent.events('first')} - known) < \
                    len(ended):
                time.sleep(0.05)
        seconds, workers_gone = parent.terminate_and_time()
        if seconds is None:
            result['errors'].append('did not stop in %.0f s' % STOP_TIMEOUT)
        else:
            result['stop_s'].append(seconds)
            result['stop_workers_s'].append(workers_gone)
        # The engine's thread ticked after the restarts (its last report
        # comes at the stop) and never paused long.
        ticks = parent.events('ticks')
        if not ticks or (restarted_at is not None and
                         ticks[-1]['t'] < restarted_at) or \
                ticks[-1]['max_gap'] > 1.0:
            result['threads_ran'] = False
        if ticks:
            result['max_gap_s'] = max(result['max_gap_s'],
                                      ticks[-1]['max_gap'])

    @staticmethod
    def _spacing(parent):
        """Not before this (time.monotonic()): cotyledon (5 s) and
        oslo.service's eventlet launcher (1 s) sleep before starting a
        process when the ``workers``+1-th latest start is less than
        ``workers`` seconds old."""
        with parent.cond:
            forks = sorted((t for t in parent.forks.values()
                            if t is not None), reverse=True)
        return forks[WORKERS] + SPACING if len(forks) > WORKERS else 0.0

    def _kill_and_wait(self, parent, victim):
        """Seconds from SIGKILL of ``victim`` to a new worker's first
        events at the engine's consumer, and its pid (None: none came)."""
        with parent.cond:
            known = set(parent.pids)
        killed_at = time.monotonic()
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return None, None
        back = parent.wait_for(
            lambda m: m['ev'] == 'first' and m['pid'] not in known,
            RESTART_TIMEOUT)
        if back is None:
            return None, None
        return back['t'] - killed_at, back['pid']

    def stop_unreachable(self, kind, mode, port):
        result = self.results[kind]
        args = self.consumer_args(kind,
                                  'amqp://guest:guest@127.0.0.1:%d//' % port)
        parent, _ = self.launch(kind, args)
        deadline = time.monotonic() + 30
        while len(parent.events('worker')) < WORKERS:
            if time.monotonic() > deadline or parent.proc.poll() is not None:
                result['errors'].append('stop (%s): the workers did not '
                                        'start: %s' % (
                                            mode, parent.stderr_tail()[-300:]))
                parent.kill()
                return
            time.sleep(0.05)
        time.sleep(0.5)      # (in their reconnection loops)
        seconds, _ = parent.terminate_and_time()
        if seconds is None:
            result['errors'].append('stop (%s): did not stop in %.0f s'
                                    % (mode, STOP_TIMEOUT))
        else:
            result['stop_%s_s' % mode].append(seconds)

    def cleanup(self):
        for parent in self.parents:
            if parent.proc.poll() is None:      # (interrupted)
                parent.kill()
        self.trickle.stop()
        with kombu.Connection(self.args.url) as conn:
            channel = conn.channel()
            for name in self.queues:
                try:
                    channel.queue_delete(name)
                except Exception:       # noqa: S110 (cleaning up anyway)
                    pass
            try:
                channel.exchange_delete(self.prefix)
            except Exception:           # noqa: S110
                pass


def _blackhole(port):
    """A socket that listens on ``port`` and never accepts: connections
    complete and then hear nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', port))
    sock.listen(64)
    return sock


def _closed(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(('127.0.0.1', port)) != 0


def _manager_off_main_thread():
    """What cotyledon says when its ServiceManager is made in a thread
    other than the main one (the engine's threads cannot own it)."""
    found = []

    def attempt():
        try:
            cotyledon.ServiceManager()
            found.append('created')
        except Exception as exc:
            found.append('%s: %s' % (type(exc).__name__, exc))
    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    cotyledon.ServiceManager._process_runner_already_created = False
    return found[0]


def _median(values):
    return round(statistics.median(values), 3) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3,
                        help='engine processes for hand and cotyledon (two '
                             'worker kills and one stop each)')
    parser.add_argument('--extra-runs', type=int, default=1,
                        help='engine processes for the other supervisors')
    parser.add_argument('--unreachable-runs', type=int, default=1,
                        help='stops with the broker refused, and with it '
                             'silent, for hand and cotyledon')
    parser.add_argument('--extra-unreachable', action='store_true',
                        help='those stops for the other supervisors too')
    parser.add_argument('--messages', type=int, default=100000,
                        help='heartbeats ingested by hand and by cotyledon, '
                             'split over the runs')
    parser.add_argument('--url', default='amqp://guest:guest@127.0.0.1:5672//')
    parser.add_argument('--supervisors', default=','.join(SUPERVISORS))
    parser.add_argument('--role', default='bench', help=argparse.SUPPRESS)
    parser.add_argument('--config', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == 'parent':
        return run_parent(json.loads(args.config))

    # (SIGTERM too ends the bench through its clean-up: its engine
    # processes, its queues.)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    kinds = [k for k in args.supervisors.split(',') if k]
    notes = {}
    if cotyledon is None:
        print('cotyledon is not installed (pip install -r '
              'test-requirements.txt): measuring the hand-written '
              'supervision only')
        kinds = [k for k in kinds if k == 'hand']
    else:
        notes['cotyledon_manager_off_main_thread'] = \
            _manager_off_main_thread()
    if oslo_service_base is None:
        print('oslo.service is not installed: not measured')
        kinds = [k for k in kinds if not k.startswith('oslo_service')]
    if not _closed(REFUSED_PORT):
        raise SystemExit('port %d is in use: it must be closed'
                         % REFUSED_PORT)
    hole = _blackhole(BLACKHOLE_PORT)
    try:
        with kombu.Connection(args.url, connect_timeout=3) as conn:
            conn.connect()
    except Exception as exc:
        raise SystemExit('RabbitMQ at %s cannot be reached: %s'
                         % (args.url, exc)) from None
    began = time.monotonic()
    load_before = os.getloadavg()[0]
    bench = Bench(args, kinds)
    try:
        results = bench.run()
    finally:
        bench.cleanup()
        hole.close()
    for r in results.values():
        if r['ingested']:
            r['msgs_per_s'] = sum(n for n, _ in r['ingested']) / sum(
                seconds for _, seconds in r['ingested'])
    for kind, r in results.items():
        print('%-21s restart %s s (%d/%d; new process after %s s), '
              'stop %s s (workers %s), '
              'refused %s s, '
              'blackhole %s s, %s msg/s, threads ran %s, metrics answered '
              '%s, longest pause %.3f s, SIGHUP restarts workers %s, '
              'restart again at once %s s, worker %s%s' % (
                  kind, _median(r['restart_s']), r['restarts_ok'],
                  r['restarts_tried'], _median(r['respawn_s']),
                  _median(r['stop_s']),
                  _median(r['stop_workers_s']), _median(r['stop_refused_s']),
                  _median(r['stop_blackhole_s']),
                  round(r['msgs_per_s']) if r['msgs_per_s'] else '-',
                  r['threads_ran'], r['metrics_answered'], r['max_gap_s'],
                  r['sighup_restarts_workers'],
                  r['restart_again_s'] and round(r['restart_again_s'], 3),
                  r['worker'],
                  ' ERRORS: %s' % r['errors'] if r['errors'] else ''))
    # (The machine's load: on a shared machine, other work slows starts.)
    summary = {'runs': args.runs, 'messages': args.messages,
               'seconds': round(time.monotonic() - began, 1),
               'loadavg_before': round(load_before, 2),
               'loadavg_after': round(os.getloadavg()[0], 2),
               'cpus': os.cpu_count()}
    summary.update(notes)
    for kind, r in results.items():
        summary['%s_restart_s' % kind] = _median(r['restart_s'])
        summary['%s_restart_samples' % kind] = [round(x, 3)
                                                for x in r['restart_s']]
        summary['%s_respawn_s' % kind] = _median(r['respawn_s'])
        summary['%s_restarts_ok' % kind] = '%d/%d' % (r['restarts_ok'],
                                                      r['restarts_tried'])
        summary['%s_stop_s' % kind] = _median(r['stop_s'])
        summary['%s_stop_workers_s' % kind] = _median(r['stop_workers_s'])
        summary['%s_stop_refused_s' % kind] = _median(r['stop_refused_s'])
        summary['%s_stop_blackhole_s' % kind] = \
            _median(r['stop_blackhole_s'])
        if r['msgs_per_s']:
            summary['%s_msgs_per_s' % kind] = round(r['msgs_per_s'])
            summary['%s_msgs_per_s_samples' % kind] = [
                round(n / seconds) for n, seconds in r['ingested']]
            # (CPU per heartbeat, workers and engine process: what a busy
            # shared machine changes least.)
            summary['%s_cpu_us_per_msg' % kind] = round(
                1e6 * sum(r['ingest_cpu_s']) /
                sum(n for n, _ in r['ingested']), 1)
        summary['%s_threads_ran' % kind] = r['threads_ran'] and \
            r['restarts_ok'] > 0
        summary['%s_metrics_answered' % kind] = r['metrics_answered']
        summary['%s_metrics_slowest_s' % kind] = round(r['metrics_s'], 3)
        summary['%s_max_gap_s' % kind] = round(r['max_gap_s'], 3)
        summary['%s_sighup_restarts_workers' % kind] = \
            r['sighup_restarts_workers']
        if 'blocking_wait_exit' in r:
            summary['%s_blocking_wait_stop_s' % kind] = \
                r['blocking_wait_stop_s'] and round(
                    r['blocking_wait_stop_s'], 3)
            summary['%s_blocking_wait_exit' % kind] = \
                r['blocking_wait_exit']
        if r['restart_again_s'] is not None:
            summary['%s_restart_again_s' % kind] = round(
                r['restart_again_s'], 3)
        if r['worker']:
            summary['%s_worker_fds' % kind] = r['worker']['fds']
            summary['%s_worker_rss_mb' % kind] = r['worker']['rss_mb']
            summary['%s_worker_holds_metrics_socket' % kind] = \
                r['worker']['holds_metrics_socket']
        if r['errors']:
            summary['%s_errors' % kind] = r['errors']

    def ratio(name, kind='cotyledon'):
        mine, base = summary.get('%s_%s' % (kind, name)), \
            summary.get('hand_%s' % name)
        return round(mine / base, 3) if mine and base else None
    summary['ratio_restart'] = ratio('restart_s')
    summary['ratio_stop'] = ratio('stop_s')
    summary['ratio_msgs'] = ratio('msgs_per_s')
    summary['ratio_cpu_per_msg'] = ratio('cpu_us_per_msg')
    summary['ratio_respawn'] = ratio('respawn_s')
    summary['ratio_restart_fork'] = ratio('restart_s', 'cotyledon_fork')
    summary['ratio_restart_oslo_service'] = ratio('restart_s',
                                                  'oslo_service')
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
