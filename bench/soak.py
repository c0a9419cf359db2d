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

"""Soak: 200 hosts for 30 minutes, with agent pauses, broker and engine
restarts and real deaths: no false declaration, every death recovered.

What runs, all on this machine:

* a RabbitMQ node of the soak's own (``soak-<pid>@localhost``, AMQP on
  ``--port``, its files under the work directory), so that it can be
  restarted without touching the machine's shared broker;
* a real ``freezer-dr-engine`` with recovery on: a sqlite journal, the
  test drivers of tests/functional/plugins.py (``SwitchFencer``: a fence
  confirmed at once and written down; counting isolator, evacuator and
  notifier), the liveness defaults;
* ``--hosts`` real agents (``freezer_dr.agent.Agent``, signed heartbeats,
  a real oslo.messaging notifier each) in one process, one thread each,
  which this script steers through a pipe (:func:`fleet_main`).

During ``--minutes`` (from the broker's start: setting up is part of
it; the last action may end a little later):

* agents pause at random (about ``--pause-rate`` a second, over the
  fleet): one stops right after a heartbeat and sends the next one after
  a silence of 35-70 % of the detection window (then goes on at its
  interval). A paused host must never be declared dead;
* the broker is restarted twice (SIGTERM to its Erlang VM, which stops
  RabbitMQ cleanly, then ``rabbitmq-server`` again), the engine twice
  (SIGTERM to its process group, and kill -9), at random moments;
* a few agents are killed for good (their thread stops, as a host that
  lost power): each must be declared dead, fenced once and recovered (the
  journal says ``done``). A kill waits until the engine has heard every
  live host since it started and hears the bus, and each is declared
  before the next action (an engine started after a death never heard
  the host: without nova, nothing tells it to expect one). In runs of 5
  minutes or more, a kill also waits until the engine is settled (it has
  heard the bus again for ``bus_recovery_grace`` + a window, and has
  learned the heartbeat intervals since its start); from 10 minutes, until
  the intervals it keeps all came after its start (a restarted engine
  first reads, at once, the heartbeats that waited in its queue, which
  widens its estimate for a while), so that the time to declare it
  measures the detection window (``kills_measured``);
* ``--cpu-hog`` runs a busy loop per core beside it all;
* ``--freeze-engine`` starves the engine's own processes outright, now
  and then: SIGSTOP to its process group (the engine and its heartbeat
  workers) for 1.6-3 s, more than ``[bus] deaf_after``, then SIGCONT
  (never while a kill is being detected). Its canary is late each time,
  and the engine must not take that for a lost bus: ``starved_events``
  grow, ``bus_down_events`` do not. (Stopping the engine's main process
  alone makes no canary late: its workers read the canary and the
  heartbeats meanwhile, and the pipe keeps what they say until it runs
  again.)

The last line is one JSON object: ``minutes``, ``hosts``, ``pauses``,
``pause_gap_max_s`` (the longest silence of a paused agent, as sent),
``kills``, ``kills_recovered``, ``false_declarations`` (declared dead
while its agent ran), ``false_fencings``, ``detect_max_s`` (declared
dead, after the last heartbeat its agent sent, of the kills measured; to
compare with ``window_s``, the detection window; ``detect_all_max_s``:
of every kill), ``bus_down_events`` (the engine
found itself deaf), ``starved_events`` (the engine's canary was late
because the engine itself was starved of CPU, not because the bus was
lost: no ``bus_down`` for those), ``broker_restarts``, ``engine_restarts``,
``late_canaries_excused`` (late canaries the engine's starvation
explained, from its statistics lines), ``engine_freezes``, ``cpu_hog``,
``soak_s``, ``ok`` (no false declaration or fencing, and every kill
recovered; the exit status is 0 then, 1 otherwise).

    python bench/soak.py [--minutes 30] [--hosts 200] [--cpu-hog]
                         [--freeze-engine] [--plot FILE.png] [--seed N]
                         [--port 47301]

Everything it writes is under ``/tmp/bench-soak/`` (``--workdir``):
the engine's and the fleet's logs, the decisions, the journal.
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, TOP)

from freezer_dr import engine as engine_module  # noqa: E402
from freezer_dr import signing  # noqa: E402
from freezer_dr.conf import bus as bus_conf  # noqa: E402
from freezer_dr.liveness import settings as liveness_settings  # noqa: E402
from tests import helpers  # noqa: E402
from tests.functional import deployment  # noqa: E402
from tests.functional import plugins  # noqa: E402

BASE = '/tmp/bench-soak'
PREFIX = 'bench-soak-'
#: The liveness settings the engine runs with (the defaults).
LIVENESS = liveness_settings.LivenessSettings()
WINDOW = LIVENESS.detection_window()
#: The engine's [bus] deaf_after (the soak keeps the default).
DEAF_AFTER = [o for o in bus_conf.opts if o.name == 'deaf_after'][0].default
#: Seconds of steady heartbeats after which the engine judges a silence
#: by WINDOW (the phi detector starts from wider seeds).
LEARN = (deployment.intervals_to_learn(LIVENESS) + 3) * \
    LIVENESS.heartbeat_interval
#: A host that paused less than this ago has a wider phi estimate (its
#: pause is among the intervals it keeps): it is not chosen to be killed.
QUIET_FOR = LIVENESS.phi_window * LIVENESS.heartbeat_interval + 10
#: Pauses: the silence of a paused agent, as a fraction of the window.
PAUSE_MIN, PAUSE_MAX = 0.35, 0.70


# --- the fleet (a child process) -------------------------------------------


class _SoakAgent:
    """One agent of the fleet: heartbeats on a schedule, pauses when asked
    (right after a heartbeat, for the silence asked), dies when killed."""

    def __init__(self, agent, interval):
        self.agent = agent
        self.host = agent.host
        self.interval = interval
        self.lock = threading.Lock()
        self.killed = False
        self.killed_at = None
        self.last_sent = None
        self.pause = None            # silence asked for, seconds
        self.pausing = False
        self.last_pause_end = -math.inf     # (monotonic)
        self.gaps = []

    def run(self, stop, offset):
        if stop.wait(offset):
            return
        next_beat = time.monotonic()
        while not stop.is_set():
            with self.lock:
                if self.killed:
                    return
                sent = self.agent.heartbeat()
                if sent:
                    self.last_sent = time.time()
            silence = self.pause
            if silence is not None:
                self.pause = None
                before = self.last_sent if sent else None
                if stop.wait(silence):
                    return
                with self.lock:
                    if self.killed:
                        return
                    if self.agent.heartbeat():
                        self.last_sent = time.time()
                        if before is not None:
                            # (The silence as sent: a pause across a
                            # broker outage is not one.)
                            self.gaps.append(self.last_sent - before)
                self.pausing = False
                self.last_pause_end = time.monotonic()
                next_beat = time.monotonic()
            next_beat += self.interval
            delay = next_beat - time.monotonic()
            if delay < 0:
                next_beat = time.monotonic()
                delay = 0
            stop.wait(delay)

    def kill(self):
        with self.lock:
            self.killed = True
            self.killed_at = time.time()
            return self.last_sent


def fleet_main(argv):
    """The fleet: ``--hosts`` agents, steered by JSON lines on stdin,
    answering with JSON lines on stdout (its log on stderr)."""
    import logging

    import oslo_messaging

    from freezer_dr import agent as agent_module
    from freezer_dr.conf import CONF

    parser = argparse.ArgumentParser()
    parser.add_argument('--config-file', required=True)
    parser.add_argument('--master-key-file', required=True)
    parser.add_argument('--hosts', type=int, required=True)
    parser.add_argument('--pause-rate', type=float, required=True)
    parser.add_argument('--window', type=float, required=True)
    parser.add_argument('--seed', type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format='%(asctime)s %(levelname)s %(name)s: '
                               '%(message)s')
    CONF([], project='freezer-dr', default_config_files=[args.config_file])
    oslo_messaging.set_transport_defaults(CONF.bus.heartbeat_exchange)
    transport = oslo_messaging.get_notification_transport(CONF)
    master = signing.read_key(args.master_key_file, 'master key')
    interval = CONF.agent.heartbeat_interval
    rng = random.Random(args.seed)
    agents = []
    for n in range(args.hosts):
        host = host_name(n)
        agents.append(_SoakAgent(agent_module.Agent(
            agent_module.make_notifier(transport, host,
                                       CONF.bus.heartbeat_topic),
            host, interval, boot_id='%s-boot-%d' % (host, args.seed),
            key=signing.derive(master, host)), interval))
    stop = threading.Event()
    threads = [threading.Thread(target=a.run,
                                args=(stop, n * interval / len(agents)),
                                name='agent-' + a.host, daemon=True)
               for n, a in enumerate(agents)]
    for thread in threads:
        thread.start()
    pauses = []

    def pauser():
        while not stop.wait(rng.expovariate(args.pause_rate)):
            free = [a for a in agents if not a.killed and not a.pausing]
            if not free:
                continue
            chosen = rng.choice(free)
            silence = rng.uniform(PAUSE_MIN, PAUSE_MAX) * args.window
            chosen.pausing = True
            chosen.pause = silence
            pauses.append(silence)

    pausing = None

    def stats():
        gaps = [g for a in agents for g in a.gaps]
        return {'pauses': len(pauses),
                'pause_max_s': round(max(pauses, default=0.0), 3),
                'pause_gap_max_s': round(max(gaps, default=0.0), 3),
                'sent': sum(a.agent.sent for a in agents),
                'failed': sum(a.agent.failed for a in agents)}

    def answer(reply):
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()

    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    answer({'started': len(agents)})
    for line in sys.stdin:
        request = json.loads(line)
        command = request['cmd']
        if command == 'pauses':
            if pausing is None:
                pausing = threading.Thread(target=pauser, daemon=True,
                                           name='pauser')
                pausing.start()
            answer({'ok': True})
        elif command == 'kill':
            now = time.monotonic()
            eligible = [a for a in agents if not a.killed and
                        not a.pausing and a.last_sent is not None and
                        now - a.last_pause_end > request['quiet_for']]
            if not eligible:
                answer({'error': 'no host to kill'})
                continue
            # (Not paused meanwhile: pausing is set under the choice.)
            victim = rng.choice(eligible)
            victim.pausing = True
            last_sent = victim.kill()
            answer({'host': victim.host, 'killed_at': victim.killed_at,
                    'last_sent': last_sent,
                    'boot_id': victim.agent.boot_id})
        elif command == 'stats':
            answer(stats())
        elif command == 'stop':
            break
    stop.set()
    for thread in threads:
        thread.join(5)
    answer(stats())
    return 0


def host_name(n):
    return '%shost-%03d' % (PREFIX, n)


class Fleet:
    """The fleet process, seen from the soak."""

    def __init__(self, workdir, config, master_key_file, hosts, pause_rate,
                 seed):
        self._log = open(os.path.join(workdir, 'fleet.log'), 'ab')
        self.popen = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--fleet',
             '--config-file', config, '--master-key-file', master_key_file,
             '--hosts', str(hosts), '--pause-rate', str(pause_rate),
             '--window', repr(WINDOW), '--seed', str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            cwd=TOP, start_new_session=True, text=True, bufsize=1,
            env=dict(os.environ, PYTHONPATH=TOP))
        self.answer(120)

    def answer(self, timeout=30):
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        if not ready:
            raise RuntimeError('the fleet did not answer in %.0f s'
                               % timeout)
        line = self.popen.stdout.readline()
        if not line:
            raise RuntimeError('the fleet ended (see fleet.log)')
        return json.loads(line)

    def ask(self, **request):
        self.popen.stdin.write(json.dumps(request) + '\n')
        self.popen.stdin.flush()
        return self.answer()

    def stop(self):
        """Stop it; the fleet's last statistics (None if it had ended)."""
        found = None
        if self.popen.poll() is None:
            try:
                self.popen.stdin.write(json.dumps({'cmd': 'stop'}) + '\n')
                self.popen.stdin.flush()
                found = self.answer(30)
            except (OSError, RuntimeError, ValueError):
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(10)
        self._log.close()
        return found


# --- the broker -------------------------------------------------------------


class Broker:
    """A RabbitMQ node of our own: ``soak-<pid>@localhost``, AMQP on
    ``port``, Erlang distribution on ``port + 1``, no plugins, every file
    under ``directory``. Nothing of the machine's broker is touched (its
    configuration and environment files are not read)."""

    def __init__(self, directory, port):
        self.port = port
        self.node = 'soak-%d@localhost' % os.getpid()
        self.dir = directory
        home = os.path.join(directory, 'home')
        for sub in ('home', 'mnesia', 'log'):
            os.makedirs(os.path.join(directory, sub), exist_ok=True)
        self.pid_file = os.path.join(directory, 'broker.pid')
        with open(os.path.join(directory, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.local = 127.0.0.1:%d\n' % port)
        with open(os.path.join(directory, 'plugins'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(directory, 'rabbitmq-env.conf'), 'w') as f:
            f.write('ERL_EPMD_ADDRESS=127.0.0.1\n')
        self.env = dict(
            os.environ, HOME=home,
            RABBITMQ_CONF_ENV_FILE=os.path.join(directory,
                                                'rabbitmq-env.conf'),
            RABBITMQ_CONFIG_FILE=os.path.join(directory, 'rabbitmq.conf'),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
            RABBITMQ_NODE_PORT=str(port),
            RABBITMQ_DIST_PORT=str(port + 1),
            RABBITMQ_MNESIA_BASE=os.path.join(directory, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(directory, 'log'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(directory, 'plugins'),
            RABBITMQ_PID_FILE=self.pid_file,
            ERL_FLAGS='-kernel inet_dist_use_interface {127,0,0,1}')
        self.url = 'rabbit://guest:guest@127.0.0.1:%d/' % port

    def start(self, timeout=180):
        """Start the node and wait until it accepts a client; a node that
        ended while it booted (its Erlang VM gone) is started again, up
        to twice. The failure names the node's own log."""
        deadline = time.monotonic() + timeout
        for attempt in range(3):
            try:        # (the last node's, once it stopped)
                os.unlink(self.pid_file)
            except FileNotFoundError:
                pass
            subprocess.run(['/usr/lib/rabbitmq/bin/rabbitmq-server',
                            '-detached'], env=self.env, check=True,
                           cwd=self.dir, capture_output=True)
            # (-detached returns before the VM wrote its pid file.)
            helpers.wait_for(lambda: self.pid() is not None or
                             self.accepts(), 60, interval=0.2,
                             message='the broker\'s pid file')
            try:
                helpers.wait_for(
                    lambda: self.accepts() or self._ended(),
                    max(deadline - time.monotonic(), 1), interval=0.2,
                    message='the soak\'s RabbitMQ node to start')
            except helpers.WaitTimeout:
                raise helpers.WaitTimeout(
                    'the soak\'s RabbitMQ node did not start within %d s; '
                    'its log ends:\n%s' % (timeout, self.log_tail()))
            if self.accepts():
                return
            print('soak: the broker ended while it started (attempt %d); '
                  'its log ends:\n%s' % (attempt + 1, self.log_tail()),
                  file=sys.stderr, flush=True)
        raise helpers.WaitTimeout('the soak\'s RabbitMQ node ended three '
                                  'times while it started')

    def _ended(self):
        pid = self.pid()
        return pid is not None and not _alive(pid)

    def log_tail(self, size=3000):
        path = os.path.join(self.dir, 'log', '%s.log' % self.node)
        try:
            with open(path, errors='replace') as f:
                return f.read()[-size:]
        except OSError as exc:
            return '(%s)' % exc

    def accepts(self):
        """Whether the node accepts an AMQP client (rabbitmqctl
        await_startup checks only every 10 s while the node boots)."""
        import kombu
        try:
            with kombu.Connection('amqp://guest:guest@127.0.0.1:%d//'
                                  % self.port, connect_timeout=2) as conn:
                conn.connect()
                return True
        except Exception:
            return False

    def pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """Stop the node (SIGTERM: the Erlang VM stops RabbitMQ cleanly,
        as ``rabbitmqctl stop`` does, without starting the CLI's own VM,
        which takes seconds on a busy machine); SIGKILL if it is not gone
        within a minute."""
        pid = self.pid()
        if pid is None or not _alive(pid):
            return
        os.kill(pid, signal.SIGTERM)
        try:
            helpers.wait_for(lambda: not _alive(pid), 60, interval=0.1,
                             message='the broker to stop')
        except helpers.WaitTimeout:
            os.kill(pid, signal.SIGKILL)
            helpers.wait_for(lambda: not _alive(pid), 10,
                             message='the broker process to end')


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:        # (a zombie child is gone for us)
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ', 1)[1][0] != 'Z'
    except OSError:
        return False


# --- the CPU hog ------------------------------------------------------------


def _spin(parent):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.getppid() == parent:       # (not a second after the soak)
        for _ in range(1000000):
            pass


class CpuHog:
    """A busy loop per core, in processes of their own."""

    def __init__(self):
        self.processes = []

    def start(self):
        context = multiprocessing.get_context('spawn')
        for _ in range(os.cpu_count() or 1):
            process = context.Process(target=_spin, args=(os.getpid(),),
                                      daemon=True, name='cpu-hog')
            process.start()
            self.processes.append(process)

    def stop(self):
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.join(5)
        self.processes = []


def _ancestors():
    """This process and those above it (a ``timeout`` running the soak
    names its work directory too)."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            with open('/proc/%d/stat' % pid) as f:
                pid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


def leftovers(workdir):
    """Kill what a soak in ``workdir`` started and left running (a soak
    killed outright): its broker (by its pid file) and every process whose
    command line names ``workdir`` (its engines and their workers, its
    fleet). Return how many."""
    killed = 0
    try:
        with open(os.path.join(workdir, 'broker', 'broker.pid')) as f:
            pids = {int(f.read().strip())}
    except (OSError, ValueError):
        pids = set()
    ours = _ancestors()
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) in ours:
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                if workdir.encode() in f.read():
                    pids.add(int(name))
        except OSError:
            continue
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


# --- the engine and what it decided ----------------------------------------


class Decisions:
    """The engine's decisions file, read as it grows (every engine the soak
    starts appends to it)."""

    def __init__(self, path):
        self.path = path
        self.all = []
        self._offset = 0
        self._rest = b''

    def read(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return self.all
        self._offset += len(data)
        data = self._rest + data
        lines = data.split(b'\n')
        self._rest = lines.pop()
        for line in lines:
            if line.strip():
                self.all.append(json.loads(line))
        return self.all

    def of(self, action, since=None, host=None):
        return [d for d in self.read() if d['action'] == action and
                (since is None or d['time'] >= since) and
                (host is None or d['host'] == host)]


def write_config(workdir, broker_url, name):
    master_key_file = os.path.join(workdir, 'heartbeat-master.key')
    signing.write_key(master_key_file, signing.new_master_key())
    sections = {
        'DEFAULT': {'transport_url': broker_url},
        'bus': {'heartbeat_exchange': name,
                'heartbeat_topic': name + '-heartbeats',
                'pool': name + '-engine',
                'nova_exchange': name + '-nova',
                'heartbeat_master_key_file': master_key_file},
        'engine': {'decisions_file': os.path.join(workdir,
                                                  'decisions.jsonl'),
                   'stats_interval': '10', 'dry_run': 'false'},
        'metrics': {'port': '0'},
        'database': {'connection': 'sqlite:///%s' % os.path.join(
            workdir, 'journal.sqlite')},
        'recovery': {'fencer': deployment.PLUGINS + 'SwitchFencer',
                     'evacuator': deployment.PLUGINS + 'CountingEvacuator',
                     'isolator': deployment.PLUGINS + 'CountingIsolator',
                     'notifiers': deployment.PLUGINS + 'CountingNotifier',
                     'journal_poll_interval': '0.5'},
        'agent': {'checks': 'disk', 'disk_path': workdir},
    }
    config = os.path.join(workdir, 'soak.conf')
    with open(config, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for key, value in values.items():
                f.write('%s = %s\n' % (key, value))
    return config, master_key_file


# --- the soak ---------------------------------------------------------------


class Soak:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.rng = random.Random(args.seed)
        self.name = PREFIX + str(os.getpid())
        self.broker = Broker(os.path.join(workdir, 'broker'), args.port)
        self.config, self.master_key_file = write_config(
            workdir, self.broker.url, self.name)
        self.plugins = os.path.join(workdir, 'plugins')
        os.makedirs(self.plugins, exist_ok=True)
        self.decisions = Decisions(os.path.join(workdir, 'decisions.jsonl'))
        self.processes = helpers.Processes(workdir)
        self.engine = None
        self.engines = 0
        self.fleet = None
        self.hog = CpuHog() if args.cpu_hog else None
        self.hosts = [host_name(n) for n in range(args.hosts)]
        self.kills = []
        self.timeline = []       # (seconds since the start, what)
        self.started = None
        self.engine_started = None   # when the engine (re)started
        self.engine_ready = None     # when it had heard all hosts since
        self.heard_since = None      # when it last heard the bus again
        self.broker_restarted = 0.0
        self.broker_back = 0.0
        self.broker_restarts = 0
        self.engine_restarts = 0
        # Freezing the engine (--freeze-engine) waits while this is held
        # (a kill being detected, the engine being restarted).
        self.quiet = threading.Lock()
        self.freezes = []
        self._stopping = threading.Event()

    def log(self, what):
        at = time.time()
        self.timeline.append((at, what))
        line = '%7.1f s  %s' % (at - (self.started or at), what)
        print(line, flush=True)
        with open(os.path.join(self.workdir, 'soak.log'), 'a') as f:
            f.write(line + '\n')

    # -- pieces -----------------------------------------------------------

    def start_engine(self):
        name = 'engine-%d' % self.engines
        self.engines += 1
        self.engine_started = time.time()
        self.engine_ready = None
        path = TOP
        if self.args.engine_pythonpath:
            path = self.args.engine_pythonpath + os.pathsep + TOP
        self.engine = self.processes.start(
            name, [helpers.command('freezer-dr-engine'), '--config-file',
                   self.config],
            env={'FREEZER_DR_TEST_PLUGINS_DIR': self.plugins,
                 'PYTHONPATH': path})

    def live_hosts(self):
        dead = {k['host'] for k in self.kills}
        return [h for h in self.hosts if h not in dead]

    def _bus_heard(self):
        """When the engine last heard the bus again since it started and
        since the last broker restart; None while it is deaf (or has not
        noticed the outage yet)."""
        since = max(self.engine_started, self.broker_restarted)
        bus = [d for d in self.decisions.read() if d['time'] >= since and
               d['action'] in ('bus_down', 'bus_up')]
        if bus:
            return bus[-1]['time'] if bus[-1]['action'] == 'bus_up' \
                else None
        if self.engine_started >= self.broker_restarted:
            return self.engine_ready        # (never deaf)
        if self.broker_back and time.time() >= self.broker_back + \
                engine_module.FIRST_CANARY_WITHIN + DEAF_AFTER + 2:
            # (An engine from before 2fd1521, run with --engine-pythonpath:
            # one that had no canary back yet when the broker stopped
            # reported nothing if its first canary came back within
            # FIRST_CANARY_WITHIN; by now it would have said it was deaf:
            # it hears since the broker came back. Today's engine says
            # bus_up at its first canary.)
            return self.broker_back
        return None

    def wait_ready(self, timeout=300):
        """Wait until the engine has heard every live host since it
        started, and hears the bus."""
        if self.engine_ready is None:
            live = set(self.live_hosts())
            helpers.wait_for(
                lambda: live <= {d['host'] for d in self.decisions.of(
                    'up', since=self.engine_started)}, timeout,
                interval=0.5, message='the engine to hear every live host')
            self.engine_ready = time.time()
            self.log('engine: hears every live host')
        self.heard_since = helpers.wait_for(
            self._bus_heard, timeout, interval=0.2,
            message='the engine to hear the bus')

    def restart_broker(self):
        """Stop the broker, start it again (the engine is not waited
        for: the next kill is)."""
        self.log('broker: stopping (SIGTERM)')
        self.broker_restarted = time.time()
        self.broker_back = 0.0
        self.broker.stop()
        self.log('broker: stopped; starting')
        self.broker.start()
        self.broker_back = time.time()
        self.broker_restarts += 1
        self.log('broker: started')

    def restart_engine(self, kill):
        with self.quiet:
            self.log('engine: %s' % ('kill -9' if kill else 'SIGTERM'))
            if kill:
                self.engine.kill()
            else:
                self.engine.stop()
            self.start_engine()
            self.engine_restarts += 1
            self.log('engine: started again')

    def freezer(self):
        """--freeze-engine: now and then, the engine's processes cannot
        run for longer than deaf_after."""
        rng = random.Random(self.args.seed + 1)
        while not self._stopping.wait(rng.uniform(15.0, 40.0)):
            with self.quiet:
                engine = self.engine
                if engine is None or not engine.alive():
                    continue
                length = rng.uniform(1.6, 3.0)
                at = time.time()
                os.killpg(engine.pid, signal.SIGSTOP)
                try:
                    self._stopping.wait(length)
                finally:
                    os.killpg(engine.pid, signal.SIGCONT)
                self.freezes.append((at, length))
                self.log('engine frozen (SIGSTOP) for %.1f s' % length)

    def settled(self):
        """The engine judges a silence by the window now (kills measure
        it)."""
        now = time.time()
        return now >= self.engine_ready + LEARN and \
            now >= self.heard_since + LIVENESS.bus_recovery_grace + \
            WINDOW + 2

    def measurable(self):
        """Settled, and every interval the engine keeps of every host
        came after its start (a restarted engine first reads the
        heartbeats that waited in its queue, in a burst, which widens its
        estimate of the intervals for a while): a death is judged by the
        window."""
        return self.settled() and \
            time.time() >= self.engine_ready + QUIET_FOR

    def kill_one(self):
        # The engine must have heard the victim (a host that dies while it
        # is away is never declared: without nova, nothing says to expect
        # it), and hear the bus. (A short run checks correctness only: its
        # kills need not wait for the engine to settle too, which would
        # not fit in it.)
        self.wait_ready()
        if self.args.minutes >= 5:
            helpers.wait_for(self.settled, 300, interval=0.2,
                             message='the engine to settle')
        if self.args.minutes >= 10:
            try:
                helpers.wait_for(self.measurable, QUIET_FOR + 30,
                                 interval=0.5)
            except helpers.WaitTimeout:
                pass
        now = time.time()
        recent = [k for k in self.kills if now - k['killed_at'] < 300]
        if len(recent) >= 2:
            # (Storm guard: more than 5 failed in 300 s hold declarations;
            # a pause or two may be suspect at the same time.)
            time.sleep(300 - (now - recent[0]['killed_at']))
        measured = self.measurable()
        with self.quiet:
            self._kill(measured)

    def _kill(self, measured):
        answer = self.fleet.ask(cmd='kill', quiet_for=QUIET_FOR)
        if 'error' in answer:
            self.log('kill: %s' % answer['error'])
            return
        answer['measured'] = measured
        self.kills.append(answer)
        self.log('kill: %s%s' % (answer['host'], '' if measured else
                                 ' (engine started less than %.0f s ago:'
                                 ' not measured)' % QUIET_FOR))
        try:
            dead = helpers.wait_for(
                lambda: self.decisions.of('declare_dead',
                                          host=answer['host']),
                WINDOW + 60, interval=0.1,
                message='%s declared dead' % answer['host'])
        except helpers.WaitTimeout as exc:
            self.log('kill: %s NOT declared: %s' % (answer['host'], exc))
            return
        answer['declared_at'] = dead[0]['time']
        self.log('kill: %s declared dead %.2f s after its last heartbeat'
                 % (answer['host'], dead[0]['time'] - answer['last_sent']))

    def plan(self, begin, duration):
        """[(at, action)] in time order, between ``begin`` and
        ``duration`` (seconds since the start): two broker restarts, two
        engine restarts (one SIGTERM, one kill -9), kills, at random
        moments."""
        kills = max(2, int(math.ceil(duration / 240.0)))
        actions = ['broker', 'broker', 'engine-term', 'engine-kill'] + \
            ['kill'] * kills
        # (Leave time at the end for the last one.)
        end = max(duration - 30.0, begin + 1.0)
        planned = [(self.rng.uniform(begin, end), a) for a in actions]
        planned.sort()
        return planned

    # -- the run ------------------------------------------------------------

    def run(self):
        """The soak: ``--minutes`` from the broker's start (setting up
        included) to the end of the last action, then the checks."""
        args = self.args
        self.started = time.time()
        self.broker.start()
        self.log('broker %s on port %d' % (self.broker.node, args.port))
        self.start_engine()
        self.fleet = Fleet(self.workdir, self.config, self.master_key_file,
                           args.hosts, args.pause_rate, args.seed)
        self.wait_ready()
        self.log('%d agents heard' % args.hosts)
        if self.hog is not None:
            self.hog.start()
            self.log('CPU hog: %d busy processes' % len(self.hog.processes))
        self.fleet.ask(cmd='pauses')
        if args.freeze_engine:
            threading.Thread(target=self.freezer, daemon=True,
                             name='freezer').start()
        duration = args.minutes * 60.0
        for at, action in self.plan(time.time() - self.started, duration):
            delay = self.started + at - time.time()
            if delay > 0:
                time.sleep(delay)
            if action == 'broker':
                self.restart_broker()
            elif action == 'engine-term':
                self.restart_engine(kill=False)
            elif action == 'engine-kill':
                self.restart_engine(kill=True)
            else:
                self.kill_one()
        delay = self.started + duration - time.time()
        if delay > 0:
            time.sleep(delay)
        self._stopping.set()
        with self.quiet:
            pass
        self.log('soak ends: waiting for the recoveries')
        self.wait_recovered()
        soak_s = time.time() - self.started
        if self.hog is not None:
            self.hog.stop()
        fleet = self.fleet.stop() or {}
        self.engine.stop()
        return self.result(fleet, soak_s)

    def wait_recovered(self, timeout=120):
        from freezer_dr.journal import api
        from freezer_dr.journal import schema
        db = schema.engine_for('sqlite:///%s' % os.path.join(
            self.workdir, 'journal.sqlite'))
        journal = api.Journal(db)

        def done():
            return all(journal.history(k['host'], limit=1) and
                       journal.history(k['host'], limit=1)[0].status ==
                       api.DONE for k in self.kills
                       if 'declared_at' in k)
        try:
            helpers.wait_for(done, timeout, interval=0.5,
                             message='every declared host recovered')
        except helpers.WaitTimeout as exc:
            self.log(str(exc))
        self.recoveries = {k['host']: [(r.incarnation, r.status)
                                       for r in journal.history(k['host'])]
                           for k in self.kills}
        db.dispose()

    def result(self, fleet, soak_s):
        from freezer_dr.journal import api
        decided = self.decisions.read()
        killed = {k['host']: k for k in self.kills}
        false = [d for d in decided if d['action'] == 'declare_dead' and
                 (d['host'] not in killed or
                  d['time'] < killed[d['host']]['killed_at'])]
        fenced = plugins.records(self.plugins, 'fenced')
        false_fencings = [f for f in fenced if f['host'] not in killed]
        recovered = []
        detect, detect_all = [], []
        for host, kill in killed.items():
            declared = [d for d in decided if d['action'] == 'declare_dead'
                        and d['host'] == host]
            fences = [f for f in fenced if f['host'] == host]
            done = [r for r in self.recoveries.get(host, ())
                    if r[1] == api.DONE]
            if declared and len(fences) == 1 and len(done) == 1:
                recovered.append(host)
            if declared and kill['last_sent'] is not None:
                detect_all.append(declared[0]['time'] - kill['last_sent'])
                if kill['measured']:
                    detect.append(detect_all[-1])
        for d in false:
            self.log('FALSE DECLARATION: %s at %.1f s: %s' % (
                d['host'], d['time'] - self.started, d['reason']))
        for host in sorted(set(killed) - set(recovered)):
            self.log('NOT RECOVERED: %s: declared %d times, fenced %d '
                     'times, journal %s' % (
                         host, len([d for d in decided
                                    if d['action'] == 'declare_dead' and
                                    d['host'] == host]),
                         len([f for f in fenced if f['host'] == host]),
                         self.recoveries.get(host)))
        bus_down = [d for d in decided if d['action'] == 'bus_down']
        starved = [d for d in decided if d['action'] == 'starved']
        excused = 0
        for n in range(self.engines):
            try:
                with open(os.path.join(self.workdir, 'engine-%d.log' % n),
                          errors='replace') as f:
                    found = re.findall(r'which explained (\d+) late '
                                       r'canaries', f.read())
            except OSError:
                found = []
            excused += int(found[-1]) if found else 0
        result = {
            'minutes': self.args.minutes,
            'hosts': self.args.hosts,
            'pauses': fleet.get('pauses'),
            'pause_max_s': fleet.get('pause_max_s'),
            'pause_gap_max_s': fleet.get('pause_gap_max_s'),
            'kills': len(self.kills),
            'kills_recovered': len(recovered),
            'false_declarations': len(false),
            'false_fencings': len(false_fencings),
            'kills_measured': len(detect),
            'detect_max_s': round(max(detect), 3) if detect else None,
            'detect_all_max_s': round(max(detect_all), 3) if detect_all
            else None,
            'window_s': round(WINDOW, 3),
            'bus_down_events': len(bus_down),
            'starved_events': len(starved),
            'starved_max_s': round(max((d['seconds'] for d in starved),
                                       default=0.0), 3),
            'late_canaries_excused': excused,
            'engine_freezes': len(self.freezes),
            'suspects': len([d for d in decided
                             if d['action'] == 'suspect']),
            'broker_restarts': self.broker_restarts,
            'engine_restarts': self.engine_restarts,
            'cpu_hog': bool(self.args.cpu_hog),
            'soak_s': round(soak_s, 1),
            'seed': self.args.seed,
        }
        result['ok'] = (result['false_declarations'] == 0 and
                        result['false_fencings'] == 0 and
                        result['kills_recovered'] == result['kills'] and
                        result['kills'] > 0)
        self.plot_data = (decided, bus_down, starved)
        return result

    def close(self):
        self._stopping.set()
        if self.engine is not None and self.engine.alive():
            try:
                os.killpg(self.engine.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if self.hog is not None:
            self.hog.stop()
        if self.fleet is not None and self.fleet.popen.poll() is None:
            self.fleet.stop()
        self.processes.stop_all()
        self.broker.stop()
        leftovers(self.workdir)

    def plot(self, path):
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib import pyplot
        decided, bus_down, starved = self.plot_data
        t0 = self.started
        figure, axes = pyplot.subplots(figsize=(12, 4))
        suspects = [d for d in decided if d['action'] == 'suspect' and
                    d['time'] >= t0]
        axes.scatter([d['time'] - t0 for d in suspects],
                     [d.get('silence', 0) for d in suspects], s=8,
                     label='suspect (silence, s)', color='tab:orange')
        for kill in self.kills:
            if 'declared_at' in kill:
                axes.scatter([kill['declared_at'] - t0],
                             [kill['declared_at'] - kill['last_sent']],
                             marker='x', color='tab:red', s=60)
        axes.scatter([], [], marker='x', color='tab:red',
                     label='killed host declared (detection, s)')
        for d in bus_down:
            axes.axvline(d['time'] - t0, color='tab:gray', lw=0.8)
        for d in starved:
            axes.axvline(d['time'] - t0, color='tab:purple', lw=0.5,
                         ls=':')
        top = max([WINDOW + 2] + [d.get('silence', 0) + 1
                                    for d in suspects] +
                  [k['declared_at'] - k['last_sent'] + 1
                   for k in self.kills if 'declared_at' in k])
        axes.set_ylim(0, top)
        for at, what in self.timeline:
            for mark, label, colour in (
                    ('broker: stopping', 'broker restart', 'tab:blue'),
                    ('engine: kill -9', 'engine kill -9', 'black'),
                    ('engine: SIGTERM', 'engine SIGTERM', 'black'),
                    ('engine frozen', 'frozen', 'tab:purple')):
                if what.startswith(mark):
                    axes.axvline(at - t0, color=colour, lw=0.8, ls='--')
                    axes.text(at - t0, top * 0.98, label, rotation=90,
                              fontsize=7, va='top', ha='right')
        axes.axhline(WINDOW, color='tab:green', lw=0.8,
                     label='detection window')
        axes.axhline(WINDOW + 1, color='tab:green', lw=0.8, ls='--',
                     label='window + 1 s')
        axes.set_xlabel('seconds into the soak (grey: bus_down, purple '
                        'dotted: starved decisions)')
        axes.set_ylabel('seconds')
        axes.set_title('freezer-dr soak: %d hosts, %s min%s%s' % (
            self.args.hosts, self.args.minutes,
            ', CPU hog' if self.args.cpu_hog else '',
            ', engine frozen now and then' if self.args.freeze_engine
            else ''))
        axes.set_xlim(left=0)
        axes.legend(fontsize=7, loc='lower right')
        figure.tight_layout()
        figure.savefig(path, dpi=100)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--fleet':
        return fleet_main(argv[1:])
    # (The configuration and key files it writes must be private: the
    # commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--minutes', type=float, default=30.0)
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--cpu-hog', action='store_true',
                        help='a busy-loop process per core beside it all')
    parser.add_argument('--freeze-engine', action='store_true',
                        help='now and then, SIGSTOP the engine\'s '
                             'processes for 1.6-3 s (its own starvation)')
    parser.add_argument('--plot', metavar='FILE.png')
    parser.add_argument('--engine-pythonpath', metavar='DIR',
                        help='a freezer_dr tree the engine runs instead '
                             'of this one (to compare with another '
                             'version)')
    parser.add_argument('--seed', type=int,
                        default=int(time.time()) % 100000)
    parser.add_argument('--pause-rate', type=float, default=0.5,
                        help='agent pauses a second, over the fleet')
    parser.add_argument('--port', type=int, default=47301,
                        help='AMQP port of the soak\'s broker (its Erlang '
                             'distribution port is the next one)')
    parser.add_argument('--workdir',
                        help='default: a new directory under %s' % BASE)
    args = parser.parse_args(argv)
    workdir = args.workdir or os.path.join(
        BASE, 'run-%s-%d' % (time.strftime('%Y%m%d-%H%M%S'), os.getpid()))
    os.makedirs(workdir, exist_ok=True)
    print('soak: %d hosts, %s minutes%s%s, seed %d, in %s' % (
        args.hosts, args.minutes, ', CPU hog' if args.cpu_hog else '',
        ', engine frozen now and then' if args.freeze_engine else '',
        args.seed, workdir), flush=True)
    soak = Soak(args, workdir)

    def terminate(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminate)
    try:
        result = soak.run()
        if args.plot:
            soak.plot(args.plot)
    finally:
        soak.close()
        # (The broker's database is of no use once it is stopped.)
        shutil.rmtree(os.path.join(workdir, 'broker', 'mnesia'),
                      ignore_errors=True)
    with open(os.path.join(workdir, 'result.json'), 'w') as f:
        json.dump(dict(result, kills_detail=soak.kills), f, indent=1)
    print(json.dumps(result), flush=True)
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
