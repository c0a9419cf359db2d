"""A test's own freezer-dr deployment on the machine's RabbitMQ: its
configuration and names (:class:`Cloud`, made by the ``make_cloud``
fixture), its engine, agents and fleet of agents, and the liveness numbers
it runs by (the defaults); with recovery on, :class:`Deployment` adds the
journal and the test plugins (tests/functional/plugins.py).
"""

import os
import re
import signal
import subprocess
import sys
import uuid

from freezer_dr import engine as engine_module
from freezer_dr import signing
from freezer_dr.journal import api
from freezer_dr.journal import schema
from freezer_dr.liveness import detectors
from freezer_dr.liveness import settings
from tests.helpers import command
from tests.helpers import wait_for
from tests.peers import fencers as peers

#: The test drivers of tests/functional/plugins.py, by import path.
PLUGINS = 'tests.functional.plugins:'
#: The host the recovery tests kill.
HOST = 'compute-1'

#: The liveness settings every deployment runs with (the defaults: its
#: configuration sets none).
DEFAULTS = settings.LivenessSettings()
#: Seconds from a host's last heartbeat to it being declared dead, with
#: those settings and steady heartbeats.
WINDOW = DEFAULTS.detection_window()


def intervals_to_learn(liveness=DEFAULTS):
    """How many steady heartbeat intervals the failure detector must see
    before it judges a silence by :data:`WINDOW` (phi starts from two seed
    samples that allow a longer silence)."""
    detector = detectors.from_settings(liveness)
    history = detector.new_history()
    if history is None:                 # the fixed timeout learns nothing
        return 0
    target = liveness.detection_window() - liveness.corroboration_grace
    learned = 0
    while detector.allowed_silence(history) > target + 1e-6:
        detector.observe(history, liveness.heartbeat_interval)
        learned += 1
    return learned


def heartbeats_sent(agent):
    """How many heartbeats the agent process has sent (it must run with
    ``--debug``: each is a line of its log)."""
    return len(re.findall(r'Heartbeat \d+ sent', agent.log()))


class Cloud:
    """Names and configuration of one test's freezer-dr deployment."""

    def __init__(self, tmp_path, url, **options):
        self.prefix = 'fdrtest_' + uuid.uuid4().hex[:8]
        self.dir = tmp_path
        # Heartbeats are signed (issue 12): the engine's master key, each
        # agent's key derived from it (start_agent, start_fleet).
        self.master_key_file = str(tmp_path / 'heartbeat-master.key')
        if not os.path.exists(self.master_key_file):
            signing.write_key(self.master_key_file,
                              signing.new_master_key())
        self.decisions = str(tmp_path / 'decisions.jsonl')
        self.config = str(tmp_path / 'freezer-dr.conf')
        sections = {
            'DEFAULT': {'transport_url': url},
            'bus': {'heartbeat_exchange': self.prefix,
                    'heartbeat_topic': self.prefix + '_heartbeats',
                    'pool': self.prefix + '_engine',
                    'nova_exchange': self.prefix + '_nova',
                    'heartbeat_master_key_file': self.master_key_file},
            # Recovery is off unless a test turns it on
            # (engine__dry_run='false' and a journal).
            'engine': {'decisions_file': self.decisions,
                       'stats_interval': 1, 'dry_run': 'true'},
            # (Several engines run side by side: the one that needs its
            # metrics endpoint gives it a port of its own.)
            'metrics': {'port': '0'},
            'agent': {'checks': 'disk', 'disk_path': str(tmp_path),
                      'state_file': str(tmp_path / 'agent-state.json')},
        }
        for key, value in options.items():
            section, name = key.split('__')
            sections.setdefault(section, {})[name] = value
        with open(self.config, 'w') as f:
            for section, values in sections.items():
                f.write('[%s]\n' % section)
                for name, value in values.items():
                    f.write('%s = %s\n' % (name, value))

    def host_key_file(self, host):
        """The key file of ``host``'s agent (derived from the master key,
        mode 0600), written once."""
        path = str(self.dir / ('agent-%s.key' % host))
        if not os.path.exists(path):
            master = signing.read_key(self.master_key_file, 'master')
            signing.write_key(path, signing.derive(master, host).hex() +
                              '\n')
        return path

    def decided(self):
        try:
            return engine_module.decisions_from_file(self.decisions)
        except FileNotFoundError:
            return []

    def of(self, action, host=None):
        return [d for d in self.decided() if d['action'] == action and
                (host is None or d['host'] == host)]

    def hosts_up(self):
        return {d['host'] for d in self.of('up')}


def start_engine(processes, cloud, name='engine', *extra):
    return processes.start(name, [command('freezer-dr-engine'),
                                  '--config-file', cloud.config, *extra])


def start_agent(processes, cloud, host, *extra):
    """A real freezer-dr-agent process for ``host`` (a second config file
    sets the host name and state file)."""
    own = cloud.dir / ('agent-' + host + '.conf')
    own.write_text('[agent]\nhost = %s\nstate_file = %s\n'
                   'heartbeat_key_file = %s\n'
                   % (host, cloud.dir / ('state-' + host + '.json'),
                      cloud.host_key_file(host)))
    return processes.start('agent-' + host, [
        command('freezer-dr-agent'), '--config-file', cloud.config,
        '--config-file', str(own), *extra])


def start_fleet(processes, cloud, hosts):
    """Agents for ``hosts`` in one process (tests/functional/fleet.py)."""
    args = [sys.executable, '-m', 'tests.functional.fleet',
            '--config-file', cloud.config,
            '--master-key-file', cloud.master_key_file]
    for host in hosts:
        args += ['--host', host]
    return processes.start('fleet', args)


def manage(cloud, *args):
    return subprocess.run([command('freezer-dr-manage'), '--config-file',
                           cloud.config, *args], capture_output=True,
                          text=True, timeout=120)


class Deployment:
    """A cloud with recovery on, its journal synced, the engine's logs."""

    def __init__(self, make_cloud, processes, url, fencer, **options):
        settings = dict(engine__dry_run='false', database__connection=url,
                        recovery__fencer=fencer,
                        recovery__evacuator=PLUGINS + 'CountingEvacuator',
                        recovery__isolator=PLUGINS + 'CountingIsolator',
                        recovery__notifiers=PLUGINS + 'CountingNotifier',
                        recovery__journal_poll_interval='0.3',
                        recovery__step_retry_delay='0.1')
        settings.update(options)
        self.cloud = make_cloud(**settings)
        self.processes = processes
        self.engines = []
        synced = manage(self.cloud, 'db', 'sync')
        assert synced.returncode == 0, synced.stderr
        self.db = schema.engine_for(url)
        self.journal = api.Journal(self.db)

    def start_engine(self, own=False):
        """The next engine, ``engine-N``. With ``own``, it has a bus pool,
        a decisions file (:meth:`decisions_of`) and a coordination member
        id of its own, as every engine of a real deployment has: several
        run side by side."""
        name = 'engine-%d' % len(self.engines)
        extra = []
        if own:
            conf = self.cloud.dir / (name + '.conf')
            conf.write_text(
                '[bus]\npool = %s_%s\n[engine]\ndecisions_file = %s\n'
                '[coordination]\nmember_id = %s\n' % (
                    self.cloud.prefix, name.replace('-', '_'),
                    self.decisions_file(name), name))
            extra = ['--config-file', str(conf)]
        engine = start_engine(self.processes, self.cloud, name, *extra)
        self.engines.append(engine)
        return engine

    def decisions_file(self, name):
        return str(self.cloud.dir / ('decisions-%s.jsonl' % name))

    def decisions_of(self, engine, action=None, host=None):
        """What ``engine`` (started with ``own``) decided."""
        try:
            found = engine_module.decisions_from_file(
                self.decisions_file(engine.name))
        except FileNotFoundError:
            return []
        return [d for d in found if (action is None or d['action'] ==
                                     action) and (host is None or
                                                  d['host'] == host)]

    def recovery(self, host=HOST):
        found = self.journal.history(host, limit=1)
        return found[0] if found else None

    def steps(self, host=HOST):
        rec = self.recovery(host)
        return {s.name: s for s in self.journal.steps(rec.id)} if rec else {}

    def triggers(self, host=HOST):
        return [d['trigger'] for d in self.cloud.of('state', host)]

    def logs(self):
        return '\n'.join(e.log() for e in self.engines)

    def close(self):
        self.db.dispose()


def bmc(processes, tmp_path, monkeypatch, host=HOST, *extra):
    """A BMC simulator for ``host`` whose credentials the test ipmi fencer
    (plugins.IpmiFencer) reads; ``extra``: options of the simulator
    (``--lie-off``...)."""
    simulator = peers.Bmc(processes, tmp_path, host, *extra)
    monkeypatch.setenv('FREEZER_DR_TEST_IPMI_CREDENTIALS',
                       peers.credentials_file(
                           tmp_path, {host: (simulator.port,
                                             simulator.password)}))
    return simulator


def kill_agent_and_wait_dead(d, agent):
    wait_for(lambda: HOST in d.cloud.hosts_up(), 60,
             message='the agent heard by the engine')
    agent.stop(signal.SIGKILL)
    wait_for(lambda: d.cloud.of('declare_dead', HOST), 60,
             message='%s declared dead' % HOST)
