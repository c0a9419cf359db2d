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

"""10,000 hosts heartbeating to real engines (issue 14, point 4).

``--hosts`` simulated compute hosts (10,000) each publish an ordinary
signed agent heartbeat every second (``freezer_dr.host.heartbeat`` in
oslo.messaging's messagingv2 envelope, the agent's payload, signed with
the host's key derived from the master key) on the machine's RabbitMQ,
from a few light publisher processes (py-amqp, pre-encoded bodies: only
the sequence, ``sent_at``, message id and signature change). Each host
has a random phase within the second. Real ``freezer-dr-engine``
processes hear them, as deployed (two heartbeat worker processes each,
metrics endpoint on, signed heartbeats required, no nova and no fencer
credentials: every signed host is tracked):

* ``--engines 1``: one detect-only engine (``[engine] dry_run``, a sqlite
  journal for its declarations);
* ``--engines 3``: three engines sharing the hosts through ``[coordination]
  partitions = true`` (redis for membership, a PostgreSQL journal for the
  ownership). ``dry_run`` runs no coordination at all, so these recover
  for real through the test drivers (tests/functional/plugins.py: a
  fencer that only writes down, counting isolator, evacuator, notifier).

After ``--warmup`` seconds (the phi detectors learn the intervals) the
measure lasts ``--duration`` seconds; ``--stops`` (10) hosts stop at random
moments within it (their last heartbeat is their agent's last).
``[storm_guard] max_failed_hosts`` (and, with 3 engines, ``[recovery]
max_fences``) is raised to ``--stops`` so that 10 deaths within the storm
window are declared, not held; nothing else departs from the defaults
(detection window 3.56 s).

Measured, per run:

* ``lag_p99_ms``: heartbeat lag, the time the engine's core applied a
  heartbeat minus its ``sent_at``. The engine does not expose it, so it is
  measured from outside with 20 canary hosts (beyond ``--hosts``) whose
  every heartbeat carries a new boot id: the core applies each as a
  ``rebooted`` decision, written to the decisions file at once; this
  process tails the decisions files every 2 ms (the observation time is
  the time of application, to a few ms). Split into ``transport`` (the
  worker's receipt, the decision's ``time``, minus ``sent_at``) and
  ``engine`` (application minus receipt: includes the core's 100 ms
  ``SETTLE``).
* ``detect_p99_s``: for each stopped host, its declaration (the
  ``declare_dead`` decision, observed as above) minus the ``sent_at`` of
  its last heartbeat; with 10 hosts, the max. With 3 engines, every
  engine declares: the slowest of all. Target: the detection window + 1 s.
* ``false_positives``: hosts declared dead that were not stopped (whole
  run, warm-up included; with 3 engines, distinct hosts over all; the
  canaries, whose detectors never learn an interval, are counted apart).
* ``engine_cpu_pct``: CPU of the engine process and its heartbeat worker
  children over the measure, in % of one core (with 3 engines the
  busiest; ``engine_cpu_pct_total`` the three).

Also reported, to read those numbers: the CPU of RabbitMQ, of the
publishers and of the rest of the machine (``others_cpu_pct``: other work
on a shared machine, in % of one core), the load average, how far the
publishers fell behind their schedule, the messages each engine received
and dropped a second (its /metrics), heartbeat worker restarts, the
engine's last statistics line, and the decisions that say it was
overwhelmed (``bus_down``, ``alert_storm``, ``held``). The engines start
the heartbeats only once their consumers have stayed up 11 s (a busy
machine has heartbeat workers killed for a slow start).

It prints a JSON line per run; the last line is one JSON object: the
1-engine run's keys and ``"engines_3": {...}``. ``--plot FILE.png`` draws
the lag distributions (and lag against host count with ``--plot-hosts``).
Names: exchange, topic and pools ``bench-scale-*``, files under
/tmp/bench-scale/, PostgreSQL database ``bench_scale_*``, metrics ports
47200-47299.

    python bench/scale.py --plot /tmp/bench-scale/scale.png \\
        --plot-hosts 1000,2000,5000     # the runs for the plot, then
                                        # 10,000 hosts: 1, then 3 engines
"""

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from urllib import parse
import urllib.request
import uuid

import amqp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from freezer_dr import bus  # noqa: E402
from freezer_dr import events  # noqa: E402
from freezer_dr import signing  # noqa: E402
from freezer_dr.liveness import settings as liveness_settings  # noqa: E402
from tests import helpers  # noqa: E402

URL = 'rabbit://guest:guest@127.0.0.1:5672/'
POSTGRES = 'postgresql+psycopg2://postgres@127.0.0.1:5432/'
REDIS = 'redis://127.0.0.1:6379'
TOP_DIR = '/tmp/bench-scale'
PORT_BASE = 47200
PLUGINS = 'tests.functional.plugins:'
CANARIES = 20
CANARY = 'bench-canary-%02d'
#: How often the decisions files are read (seconds).
TAIL_INTERVAL = 0.002
WINDOW = liveness_settings.LivenessSettings().detection_window()


def log(text):
    print(text, flush=True)


# --- the heartbeats -------------------------------------------------------

def checks_of(rng):
    """What an agent's default checks report on a healthy host."""
    return {'disk': {'ok': True, 'detail': '%d MiB free on /var/lib/nova'
                     % rng.randrange(20000, 900000)},
            'libvirt': {'ok': True, 'detail': '%d domains'
                        % rng.randrange(0, 40)},
            'nova_compute': {'ok': True, 'detail': 'pid %d'
                             % rng.randrange(1000, 99999)}}


class Template:
    """One host's heartbeat body with holes for what changes with each
    heartbeat: built once from the agent's payload and
    bus.encode_notification, filled with %-formatting."""

    def __init__(self, host, boot_id, checks, key):
        self.host = host
        self.key = key
        marks = {'sequence': '@SEQ@', 'sent_at': '@SENT@'}
        payload = {'host': host, 'sequence': marks['sequence'],
                   'boot_id': boot_id, 'sent_at': marks['sent_at'],
                   'checks': checks}
        canonical = signing.canonical(payload).decode('utf-8')
        self.canonical = canonical.replace('%', '%%').replace(
            '"@SEQ@"', '%(seq)d').replace('"@SENT@"', '%(sent)r')
        payload['signature'] = '@SIG@'
        message = json.loads(json.loads(bus.encode_notification(
            'freezer-dr-agent:' + host, events.HEARTBEAT,
            payload))['oslo.message'])
        message['message_id'] = '@MID@'
        message['timestamp'] = '@TS@'
        # The envelope, its message escaped once here: what goes in the
        # holes (digits, hex, a float, a time stamp) needs no escaping.
        body = json.dumps({'oslo.version': '2.0',
                           'oslo.message': json.dumps(message)})
        self.body_template = body.replace('%', '%%').replace(
            '\\"@SEQ@\\"', '%(seq)d').replace(
            '\\"@SENT@\\"', '%(sent)r').replace(
            '@SIG@', '%(sig)s').replace('@MID@', '%(mid)s').replace(
            '@TS@', '%(ts)s')
        assert '@' not in self.body_template.replace('@BOOT@', '')
        # (A message id per heartbeat, shaped as oslo.messaging's.)
        self.mid = str(uuid.uuid4())[:24] + '%012x'

    def body(self, sequence, sent_at, timestamp, boot_id=None):
        values = {'seq': sequence, 'sent': sent_at, 'ts': timestamp,
                  'mid': self.mid % sequence}
        canonical = self.canonical % values
        body = self.body_template
        if boot_id is not None:       # (a canary: a new boot each time)
            canonical = canonical.replace('@BOOT@', boot_id)
            body = body.replace('@BOOT@', boot_id)
        values['sig'] = hmac.new(self.key, canonical.encode('utf-8'),
                                 hashlib.sha256).hexdigest()
        return body % values


def self_test(master):
    """One body of each kind goes through what the engine's workers do
    (decode, parse, signature, skew) and must come out a heartbeat."""
    rng = random.Random(1)
    admission = bus.Admission(signing.Verifier(master))
    for host, boot, canary in (('compute-00000', str(uuid.uuid4()), None),
                               (CANARY % 0, '@BOOT@', 'c-1-1.5')):
        template = Template(host, boot, checks_of(rng),
                            signing.derive(master, host))
        now = time.time()
        raw = bus.decode_notification(
            template.body(7, now, '2026-01-01 00:00:00', canary), now)
        event = events.parse_notification(raw.publisher_id, raw.event_type,
                                          raw.payload, raw.received_at,
                                          raw.priority)
        admitted = admission.admit(raw, event)
        assert type(admitted) is events.Heartbeat, admitted
        assert (admitted.sequence, admitted.sent_at) == (7, now), admitted


def _publisher(number, hosts, master, url, exchange, routing_key, start_at,
               stops, canaries, stop, results, seed):
    """A publisher process: heartbeats of ``hosts`` (``[(name, phase)]``)
    every second from ``start_at`` until ``stop`` is set; a host of
    ``stops`` (``{name: when}``) sends nothing from then on. ``canaries``:
    those hosts take a new boot id with each heartbeat."""
    rng = random.Random(seed)
    # (py-amqp's TCP_USER_TIMEOUT is 1 s: a broker that holds a publisher
    # back (credit flow) for longer would have its connection killed. A
    # heartbeat that cannot be sent is dropped and counted, as the agent
    # does, and the publisher connects again.)
    options = {'socket_settings': {socket.TCP_USER_TIMEOUT: 10000}}
    conn, channel = amqp_channel(url, **options)
    failures = 0
    templates = []
    for name, phase in sorted(hosts, key=lambda h: h[1]):
        canary = name in canaries
        boot = '@BOOT@' if canary else str(uuid.uuid4())
        templates.append((phase, Template(name, boot, checks_of(rng),
                                          signing.derive(master, name)),
                          canary, stops.get(name)))
    last_sent = {}
    behind = []
    sent = 0
    publish = channel.basic_publish
    second = 0
    began_cpu = time.process_time()
    try:
        while not stop.is_set():
            base = start_at + second
            second += 1
            stamp = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(base))
            for phase, template, canary, stop_at in templates:
                due = base + phase
                now = time.time()
                if due > now:
                    if due - now > 0.001:
                        time.sleep(due - now)
                        if stop.is_set():
                            break
                    now = time.time()
                if stop_at is not None and now >= stop_at:
                    continue
                boot = None
                if canary:
                    boot = '%s-%d-%.6f' % (template.host, second, now)
                body = template.body(second, now, stamp, boot)
                try:
                    publish(amqp.Message(body, content_type='application/json',
                                         content_encoding='utf-8'),
                            exchange=exchange, routing_key=routing_key)
                except Exception:
                    failures += 1
                    try:
                        conn.collect()
                        conn, channel = amqp_channel(url, **options)
                        publish = channel.basic_publish
                    except Exception:
                        time.sleep(0.1)
                    continue
                sent += 1
                if stop_at is not None:
                    last_sent[template.host] = now
                if second % 5 == 0:
                    behind.append(now - due)
    except Exception as exc:      # (its report is sent all the same)
        print('publisher %d: %s: %s' % (number, type(exc).__name__, exc),
              flush=True)
    cpu = time.process_time() - began_cpu
    try:
        conn.close()
    except Exception:       # (a broker holding the publisher back)
        conn.collect()
    results.send({'number': number, 'sent': sent, 'last_sent': last_sent,
                   'behind': behind, 'cpu_s': cpu, 'failures': failures})
    results.close()


# --- processes and their CPU ----------------------------------------------

def _ticks(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(')') + 2:].split()
    return int(fields[2]), int(fields[11]) + int(fields[12])


def group_cpu(pgid):
    """``{pid: CPU ticks}`` of the processes of group ``pgid``."""
    found = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            got = _ticks(int(name))
            if got is not None and got[0] == pgid:
                found[int(name)] = got[1]
    return found


def rabbitmq_pids():
    """The machine's RabbitMQ: the ``beam.smp`` processes of user
    rabbitmq (others may be brokers of other tests)."""
    import pwd
    try:
        uid = pwd.getpwnam('rabbitmq').pw_uid
    except KeyError:
        uid = None
    found = []
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open('/proc/%s/comm' % name) as f:
                    if f.read().strip() != 'beam.smp':
                        continue
                if uid is None or os.stat('/proc/' + name).st_uid == uid:
                    found.append(int(name))
            except OSError:
                pass
    return found


def machine_ticks():
    with open('/proc/stat') as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class CpuWatch:
    """CPU of the engines (process groups), RabbitMQ, the publishers and
    this process between :meth:`begin` and :meth:`end`."""

    HZ = os.sysconf('SC_CLK_TCK')

    def __init__(self, engines, publishers):
        self._engines = engines
        self._publishers = publishers
        self._rabbit = rabbitmq_pids()

    def _sample(self):
        return (time.monotonic(),
                [group_cpu(e.pid) for e in self._engines],
                {p: (_ticks(p) or (0, 0))[1] for p in self._rabbit},
                {p.pid: (_ticks(p.pid) or (0, 0))[1]
                 for p in self._publishers},
                (_ticks(os.getpid()) or (0, 0))[1], machine_ticks())

    def begin(self):
        self._first = self._sample()

    def end(self):
        t0, e0, r0, p0, me0, m0 = self._first
        t1, e1, r1, p1, me1, m1 = self._sample()
        seconds = t1 - t0

        def pct(ticks):
            return round(100.0 * ticks / self.HZ / seconds, 1)

        engines, workers = [], []
        for engine, before, after in zip(self._engines, e0, e1,
                                                strict=True):
            main = after.get(engine.pid, 0) - before.get(engine.pid, 0)
            total = sum(v - before.get(p, 0) for p, v in after.items())
            engines.append(pct(total))
            workers.append(pct(total - main))
        found = {
            'engines': engines, 'workers': workers,
            'rabbitmq': pct(sum(v - r0.get(p, 0) for p, v in r1.items())),
            'publishers': pct(sum(v - p0.get(p, 0) for p, v in p1.items())),
            'bench': pct(me1 - me0),
            'machine_busy': round(100.0 * (m1[0] - m0[0]) /
                                  max(m1[1] - m0[1], 1), 1),
        }
        # (What the rest of the machine's work took, in % of one core.)
        found['others'] = round(
            found['machine_busy'] * os.cpu_count() - sum(engines) -
            found['rabbitmq'] - found['publishers'] - found['bench'], 1)
        return found


# --- the decisions files --------------------------------------------------

class Tail(threading.Thread):
    """Reads the engines' decisions files every TAIL_INTERVAL, noting when
    each decision of interest was seen (the wall clock)."""

    def __init__(self, paths):
        super().__init__(daemon=True, name='tail')
        self._paths = paths
        self._stopping = threading.Event()
        self.canary = []        # (engine, observed, received_at, sent_at)
        self.declared = []      # (engine, host, observed, decision)
        self.suspects = []      # (engine, host, observed)
        self.other = {}         # action -> count (storm, held, bus_down...)
        self.up = [0] * len(paths)

    def run(self):
        files = [None] * len(self._paths)
        rests = [b''] * len(self._paths)
        while not self._stopping.is_set():
            time.sleep(TAIL_INTERVAL)
            for n, path in enumerate(self._paths):
                if files[n] is None:
                    try:
                        files[n] = open(path, 'rb')
                    except FileNotFoundError:
                        continue
                data = files[n].read()
                if not data:
                    continue
                observed = time.time()
                data = rests[n] + data
                lines = data.split(b'\n')
                rests[n] = lines.pop()
                for line in lines:
                    if line:
                        self._note(n, observed, json.loads(line))
        for f in files:
            if f is not None:
                f.close()

    def _note(self, engine, observed, decision):
        action = decision['action']
        if action == 'rebooted':
            boot = decision.get('boot_id', '')
            if boot.startswith('bench-canary-'):
                self.canary.append((engine, observed, decision['time'],
                                    float(boot.rsplit('-', 1)[1])))
        elif action == 'up':
            self.up[engine] += 1
        elif action == 'declare_dead':
            self.declared.append((engine, decision['host'], observed,
                                  decision))
        elif action == 'suspect':
            self.suspects.append((engine, decision['host'], observed))
        elif action in ('alert_storm', 'held', 'bus_down', 'bus_up',
                        'storm_cleared', 'alive'):
            self.other[action] = self.other.get(action, 0) + 1

    def stop(self):
        self._stopping.set()
        self.join(5)


# --- one run --------------------------------------------------------------

def write_ini(path, sections):
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for name, value in values.items():
                f.write('%s = %s\n' % (name, value))


def http_json(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def healthy(port):
    try:
        return http_json('http://127.0.0.1:%d/healthz' % port)['healthy']
    except Exception:
        return False


def received(port):
    """Messages the engine on ``port`` received and dropped so far (its
    /metrics), or None."""
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                    timeout=5) as answer:
            text = answer.read().decode()
    except Exception:
        return None
    got, dropped = None, 0.0
    for line in text.splitlines():
        if line.startswith('freezer_dr_messages_received_total '):
            got = float(line.split()[-1])
        elif line.startswith('freezer_dr_messages_dropped_total{'):
            dropped += float(line.split()[-1])
    return None if got is None else (got, dropped)


def amqp_channel(url=URL, **options):
    parsed = parse.urlparse(url)
    conn = amqp.Connection('%s:%d' % (parsed.hostname, parsed.port or 5672),
                           userid=parse.unquote(parsed.username or 'guest'),
                           password=parse.unquote(parsed.password or
                                                  'guest'), **options)
    conn.connect()
    return conn, conn.channel()


def consumers(queue):
    """How many consumers read ``queue`` (0: it does not exist yet)."""
    conn, channel = amqp_channel()
    try:
        return channel.queue_declare(queue, passive=True).consumer_count
    except amqp.exceptions.NotFound:
        return 0
    finally:
        try:
            conn.close()
        except Exception:
            pass


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100.0 *
                                                     len(ordered)) - 1))]


class Run:
    """One run: its names, files, engines and publishers."""

    def __init__(self, args, hosts, engines):
        self.args = args
        self.hosts = hosts
        self.engines_count = engines
        self.tag = '%s-%d' % (uuid.uuid4().hex[:6], hosts)
        self.prefix = 'bench-scale-' + self.tag
        self.dir = os.path.join(TOP_DIR, self.tag)
        os.makedirs(self.dir)
        self.master_file = os.path.join(self.dir, 'heartbeat-master.key')
        signing.write_key(self.master_file, signing.new_master_key())
        self.master = signing.read_key(self.master_file, 'master')
        self.topic = self.prefix + '-heartbeats'
        self.database = None
        self.redis_namespace = None
        self.max_failed = max(5, args.stops)

    def pool(self, n):
        return '%s-engine-%d' % (self.prefix, n)

    def decisions(self, n):
        return os.path.join(self.dir, 'decisions-%d.jsonl' % n)

    def config(self):
        sections = {
            'DEFAULT': {'transport_url': URL},
            'bus': {'heartbeat_exchange': self.prefix,
                    'heartbeat_topic': self.topic,
                    'nova_exchange': self.prefix + '-nova',
                    'heartbeat_master_key_file': self.master_file,
                    'heartbeat_workers': self.args.workers},
            'engine': {'stats_interval': 10},
            # (The default already: every signed host is tracked.)
            'liveness': {'max_hosts': max(100000, 2 * self.hosts)},
            # (The stopped hosts are not a storm.)
            'storm_guard': {'max_failed_hosts': self.max_failed},
        }
        if self.engines_count == 1:
            sections['engine']['dry_run'] = 'true'
            sections['database'] = {'connection': 'sqlite:///%s' %
                                    os.path.join(self.dir, 'journal.sqlite')}
        else:
            self.database = 'bench_scale_' + self.tag.replace('-', '_')
            self.redis_namespace = self.prefix
            sections['engine']['dry_run'] = 'false'
            sections['database'] = {'connection': POSTGRES + self.database}
            sections['coordination'] = {
                'partitions': 'true',
                'backend_url': '%s?namespace=%s' % (REDIS,
                                                    self.redis_namespace)}
            sections['recovery'] = {
                'fencer': PLUGINS + 'SwitchFencer',
                'isolator': PLUGINS + 'CountingIsolator',
                'evacuator': PLUGINS + 'CountingEvacuator',
                'notifiers': PLUGINS + 'CountingNotifier',
                'max_fences': self.max_failed}
        path = os.path.join(self.dir, 'freezer-dr.conf')
        write_ini(path, sections)
        return path

    def engine_config(self, n):
        path = os.path.join(self.dir, 'engine-%d.conf' % n)
        write_ini(path, {
            'bus': {'pool': self.pool(n)},
            'engine': {'decisions_file': self.decisions(n)},
            'metrics': {'port': PORT_BASE + n},
            'coordination': {'member_id': 'engine-%d' % n}})
        return path

    def create_database(self):
        import sqlalchemy as sa
        admin = sa.create_engine(POSTGRES + 'postgres',
                                 isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % self.database))
        admin.dispose()

    def drop_database(self):
        import sqlalchemy as sa
        admin = sa.create_engine(POSTGRES + 'postgres',
                                 isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                                 % self.database))
        admin.dispose()

    def cleanup_broker(self):
        """Delete this run's queues and exchanges."""
        listed = subprocess.run(['rabbitmqctl', 'list_queues', '-q', 'name'],
                                capture_output=True, text=True, timeout=60)
        names = [n.strip() for n in listed.stdout.splitlines()
                 if self.prefix in n]
        conn, channel = amqp_channel()
        for name in names:
            channel.queue_delete(name)
        for name in (self.prefix, self.prefix + '-nova'):
            try:
                channel.exchange_delete(name)
            except Exception:
                channel = conn.channel()
        conn.close()

    def cleanup_redis(self):
        try:
            import redis
            client = redis.Redis(host='127.0.0.1', port=6379)
            for key in client.scan_iter(self.redis_namespace + '*'):
                client.delete(key)
        except Exception as exc:
            log('redis clean-up: %s' % exc)


def run_once(args, hosts, engines):
    """One run; returns its result dict and its lag samples (ms)."""
    run = Run(args, hosts, engines)
    log('== %d hosts, %d engine(s): %s' % (hosts, engines, run.dir))
    config = run.config()
    env = None
    if engines > 1:
        plugin_dir = os.path.join(run.dir, 'plugins')
        os.makedirs(plugin_dir)
        env = {'FREEZER_DR_TEST_PLUGINS_DIR': plugin_dir,
               'PYTHONPATH': helpers.TOP}
        run.create_database()
        synced = subprocess.run([helpers.command('freezer-dr-manage'),
                                 '--config-file', config, 'db', 'sync'],
                                capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, **env))
        assert synced.returncode == 0, synced.stderr
    processes = helpers.Processes(run.dir)
    stop = multiprocessing.get_context('fork').Event()
    publishers = []
    tail = None
    try:
        started = []
        for n in range(engines):
            started.append(processes.start('engine-%d' % n, [
                helpers.command('freezer-dr-engine'), '--config-file',
                config, '--config-file', run.engine_config(n)], env=env))
        for n, engine in enumerate(started):
            helpers.wait_for(lambda n=n, e=engine: healthy(PORT_BASE + n) or
                             not e.alive(), 90, interval=0.2,
                             message='engine-%d healthy' % n)
            if not engine.alive():
                raise SystemExit('engine-%d exited:\n%s' % (n, engine.log()))
        # Healthy from its first snapshot: its consumers may not be there
        # yet, and a heartbeat worker that took more than 10 s to start
        # (a busy machine) is killed and started again. The heartbeats
        # begin once every engine's consumers have stayed for 11 s.
        settled = [settle(args, run, n, e) for n, e in enumerate(started)]
        log('engines healthy')
        rng = random.Random(args.seed + hosts + engines)
        names = ['compute-%05d' % i for i in range(hosts)]
        canaries = [CANARY % i for i in range(CANARIES)]
        start_at = time.time() + 1.0
        measure_from = start_at + args.warmup
        end_at = measure_from + args.duration
        latest = end_at - WINDOW - 5.0
        stopped = rng.sample(names, args.stops)
        stops = {name: rng.uniform(measure_from + 1.0, latest)
                 for name in stopped}
        everyone = [(name, rng.random()) for name in names + canaries]
        context = multiprocessing.get_context('fork')
        for n in range(args.publishers):
            mine = everyone[n::args.publishers]
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(
                target=_publisher, daemon=True,
                args=(n, mine, run.master, URL, run.prefix,
                      run.topic + '.info', start_at,
                      {h: t for h, t in stops.items()
                       if h in {m[0] for m in mine}},
                      set(canaries), stop, sending, args.seed + n))
            process.start()
            sending.close()
            publishers.append((process, receiving))
        tail = Tail([run.decisions(n) for n in range(engines)])
        tail.start()
        watch = CpuWatch(started, [p for p, _ in publishers])
        time.sleep(max(0.0, measure_from - time.time()))
        up = list(tail.up)
        log('warm-up done: hosts up per engine %s' % up)
        profilers = []
        if args.py_spy:
            for n, engine in enumerate(started):
                profilers.append(subprocess.Popen(
                    [args.py_spy, 'record', '--pid', str(engine.pid),
                     '--subprocesses', '--threads', '--nonblocking',
                     '--rate', '50', '--format', 'raw', '--duration',
                     str(int(args.duration)), '--output',
                     os.path.join(run.dir, 'profile-engine-%d.txt' % n)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        counted = [received(PORT_BASE + n) for n in range(engines)]
        watch.begin()
        load = [round(os.getloadavg()[0], 1)]
        time.sleep(max(0.0, end_at - time.time()))
        cpu = watch.end()
        load.append(round(os.getloadavg()[0], 1))
        rates = []
        for n in range(engines):
            after = received(PORT_BASE + n)
            if after is None or counted[n] is None:
                rates.append(None)
                continue
            rates.append([round((after[i] - counted[n][i]) / args.duration)
                          for i in (0, 1)])
        cpu['received'] = rates
        # (Decisions after this are not counted: the engines stop first,
        # then the publishers, so no host goes silent before its engine.)
        time.sleep(0.2)
        tail.stop()
        for profiler in profilers:
            profiler.wait(30)
        stats = [last_stats(e.log()) for e in started]
        restarts = [e.log().count('restarting it in') for e in started]
        cpu['settled'] = settled
        for engine in started:
            engine.stop()
        stop.set()
        results = []
        for process, receiving in publishers:
            try:
                if receiving.poll(30):
                    results.append(receiving.recv())
            except (EOFError, OSError):
                log('a publisher died without its report (its log above)')
            process.join(10)
        return summarize(run, tail, cpu, results, stops, stats, up,
                         measure_from, end_at, load, restarts)
    finally:
        stop.set()
        if tail is not None and tail.is_alive():
            tail.stop()
        processes.stop_all()
        for process, _ in publishers:
            if process.is_alive():
                process.kill()
        run.cleanup_broker()
        if run.database:
            run.drop_database()
        if run.redis_namespace:
            run.cleanup_redis()


def settle(args, run, n, engine, timeout=180.0):
    """Wait until engine ``n``'s heartbeat consumers have been there for
    11 s without a worker killed; False if they never were."""
    queue = run.pool(n) + '-heartbeats'
    deadline = time.monotonic() + timeout
    since, kills = None, None
    while time.monotonic() < deadline:
        count = engine.log().count('killing it')
        if consumers(queue) < max(args.workers, 1) or count != kills:
            since, kills = None, count
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since > 11.0:
            return True
        time.sleep(0.5)
    log('engine-%d: its heartbeat consumers did not settle in %.0f s'
        % (n, timeout))
    return False


def last_stats(text):
    lines = [line for line in text.splitlines() if 'Engine: ' in line and
             'messages received' in line]
    return lines[-1].split('Engine: ', 1)[1] if lines else None


def summarize(run, tail, cpu, results, stops, stats, up, measure_from,
              end_at, load, restarts):
    stopped = set(stops)
    last_sent = {}
    behind = []
    for r in results:
        last_sent.update(r['last_sent'])
        behind.extend(r['behind'])
    lags, transport, engine_part = [], [], []
    for _, observed, received_at, sent_at in tail.canary:
        if measure_from <= sent_at <= end_at:
            lags.append(1000.0 * (observed - sent_at))
            transport.append(1000.0 * (received_at - sent_at))
            engine_part.append(1000.0 * (observed - received_at))
    detect, detect_core = {}, {}
    false, false_warmup, canaries = set(), set(), set()
    for _, host, observed, decision in tail.declared:
        if host in stopped:
            # (Its publisher's report lost: from the moment it stopped,
            # within a second after its last heartbeat.)
            last = last_sent.get(host, stops[host])
            seconds = observed - last
            detect[host] = max(detect.get(host, 0.0), seconds)
            detect_core[host] = max(detect_core.get(host, 0.0),
                                    decision['time'] - last)
        elif host.startswith('bench-canary-'):
            # (A canary never teaches its detector an interval: under
            # heavy jitter it is suspected before a host that learnt it.)
            canaries.add(host)
        else:
            false.add(host)
            if observed < measure_from:
                false_warmup.add(host)
    missed = sorted(set(stopped) - set(detect))
    suspects = {h for _, h, _ in tail.suspects if h not in stopped and
                not h.startswith('bench-canary-')}
    seconds = sorted(detect.values())
    result = {
        'hosts': run.hosts,
        'engines': run.engines_count,
        'engine_cpu_pct': max(cpu['engines']),
        'lag_p99_ms': round(percentile(lags, 99), 1) if lags else None,
        'detect_p99_s': (round(percentile(seconds, 99), 3) if seconds
                         and not missed else None),
        'false_positives': len(false),
        'lag_p50_ms': round(percentile(lags, 50), 1) if lags else None,
        'lag_max_ms': round(max(lags), 1) if lags else None,
        'lag_samples': len(lags),
        'lag_transport_p99_ms': round(percentile(transport, 99), 1)
        if lags else None,
        'lag_engine_p99_ms': round(percentile(engine_part, 99), 1)
        if lags else None,
        'detect_s': [round(s, 3) for s in seconds],
        'detect_core_max_s': round(max(detect_core.values()), 3)
        if detect_core else None,
        'detection_window_s': round(WINDOW, 3),
        'stopped': len(stopped),
        'not_declared': missed,
        'false_positive_hosts': sorted(false)[:20],
        'false_positives_in_warmup': len(false_warmup),
        'canaries_declared_dead': len(canaries),
        'suspects_not_stopped': len(suspects),
        'decisions_other': tail.other,
        'hosts_up_at_warmup_end': up,
        'engine_cpu_pct_each': cpu['engines'],
        'engine_cpu_pct_total': round(sum(cpu['engines']), 1),
        'workers_cpu_pct_each': cpu['workers'],
        'rabbitmq_cpu_pct': cpu['rabbitmq'],
        'publishers_cpu_pct': cpu['publishers'],
        'bench_cpu_pct': cpu['bench'],
        'machine_busy_pct': cpu['machine_busy'],
        'others_cpu_pct': cpu['others'],
        'published': sum(r['sent'] for r in results),
        'publish_failures': sum(r['failures'] for r in results),
        'publishers_reported': '%d/%d' % (len(results),
                                          run.args.publishers),
        'loadavg': load,
        'publisher_behind_p99_ms': round(1000.0 * percentile(behind, 99), 1)
        if behind else None,
        'engine_stats': stats,
        # (Per engine: messages received and dropped a second over the
        # measure, from its /metrics; the hosts send hosts + canaries.)
        'engine_received_dropped_per_s': cpu['received'],
        'worker_restarts': restarts,
        'consumers_settled_before_start': cpu['settled'],
        'duration_s': round(end_at - measure_from, 1),
        'warmup_s': run.args.warmup,
        'workdir': run.dir,
    }
    return result, lags


KEYS = ('hosts', 'engine_cpu_pct', 'lag_p99_ms', 'detect_p99_s',
        'false_positives')


def plot(path, runs, by_hosts):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    panels = 2 if len(by_hosts) > 1 else 1
    figure, axes = pyplot.subplots(1, panels, figsize=(6.5 * panels, 4.5))
    if panels == 1:
        axes = [axes]
    ax = axes[0]
    for label, lags in runs:
        if lags:
            ordered = sorted(lags)
            ax.plot(ordered, [(i + 1) / len(ordered) * 100
                              for i in range(len(ordered))], label=label)
    ax.axvline(200, color='red', linestyle=':', label='target p99 200 ms')
    ax.set_xscale('log')
    ax.set_xlabel('heartbeat lag: applied by the core - sent_at (ms, log)')
    ax.set_ylabel('% of canary heartbeats')
    ax.set_title('Heartbeat lag distribution')
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if panels == 2:
        ax = axes[1]
        counts = sorted(by_hosts)
        for key, label in (('lag_p50_ms', 'lag p50'),
                           ('lag_p99_ms', 'lag p99')):
            ax.plot(counts, [by_hosts[c][key] for c in counts], marker='o',
                    label=label + ' (ms; none: no sample)')
        ax.set_yscale('log')
        ax.set_xlabel('hosts (1 engine); the others\' CPU: %s %% of a core'
                      % ', '.join('%.0f' % by_hosts[c]['others_cpu_pct']
                                  for c in counts))
        ax.set_ylabel('ms (log)')
        ax2 = ax.twinx()
        ax2.plot(counts, [by_hosts[c]['engine_cpu_pct'] for c in counts],
                 marker='s', color='gray', linestyle='--',
                 label='engine CPU (% of a core)')
        ax2.set_ylabel('engine CPU, % of one core')
        ax.set_title('Lag and engine CPU against host count')
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8)
        ax.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    log('plot written to %s' % path)


def main(argv=None):
    # (The configuration and key files must be private: the commands
    # refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--duration', type=float, default=60.0,
                        help='seconds measured, after the warm-up')
    parser.add_argument('--warmup', type=float, default=30.0)
    parser.add_argument('--engines', choices=['1', '3', 'both'],
                        default='both')
    parser.add_argument('--stops', type=int, default=10)
    parser.add_argument('--publishers', type=int, default=4)
    parser.add_argument('--workers', type=int, default=2,
                        help='[bus] heartbeat_workers of each engine')
    parser.add_argument('--seed', type=int, default=14)
    parser.add_argument('--plot', metavar='FILE.png')
    parser.add_argument('--py-spy', metavar='PATH',
                        help='py-spy: profile each engine (and its workers) '
                             'over the measure, raw stacks in the run\'s '
                             'directory (profile-engine-N.txt); its own CPU '
                             'counts in others_cpu_pct')
    parser.add_argument('--plot-hosts', default='',
                        help='more host counts (1 engine, comma separated) '
                             'for the plot of lag against host count')
    args = parser.parse_args(argv)
    if args.duration < WINDOW + 8:
        parser.error('--duration must be at least %.0f s' % (WINDOW + 8))
    os.makedirs(TOP_DIR, exist_ok=True)
    self_test(bytes(32))
    shutil.which('rabbitmqctl') or parser.error('rabbitmqctl not found')
    runs, by_hosts, results = [], {}, {}
    for count in [int(c) for c in args.plot_hosts.split(',') if c]:
        result, lags = run_once(args, count, 1)
        log(json.dumps(result, sort_keys=True))
        by_hosts[count] = result
        runs.append(('%d hosts, 1 engine' % count, lags))
    for engines in ([1, 3] if args.engines == 'both'
                    else [int(args.engines)]):
        result, lags = run_once(args, args.hosts, engines)
        log(json.dumps(result, sort_keys=True))
        results[engines] = result
        runs.append(('%d hosts, %d engine%s' % (
            args.hosts, engines, 's' if engines > 1 else ''), lags))
        if engines == 1:
            by_hosts[args.hosts] = result
    if args.plot:
        plot(args.plot, runs, by_hosts)
    first = results.get(1) or results[3]
    final = {key: first[key] for key in KEYS}
    final['engines'] = first['engines']
    if 1 in results and 3 in results:
        final['engines_3'] = {key: results[3][key] for key in KEYS}
    print(json.dumps(final, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
