"""A test's own freezer-dr deployment on the machine's RabbitMQ: its
configuration and names (:class:`Cloud`, made by the ``make_cloud``
fixture), its engine, agents and fleet of agents, and the liveness numbers
it runs by (the defaults).
"""

import re
import sys
import uuid

from freezer_dr import engine as engine_module
from freezer_dr.liveness import detectors
from freezer_dr.liveness import settings
from tests.helpers import command

#: The test drivers of tests/functional/plugins.py, by import path.
PLUGINS = 'tests.functional.plugins:'

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
        self.decisions = str(tmp_path / 'decisions.jsonl')
        self.config = str(tmp_path / 'freezer-dr.conf')
        sections = {
            'DEFAULT': {'transport_url': url},
            'bus': {'heartbeat_exchange': self.prefix,
                    'heartbeat_topic': self.prefix + '_heartbeats',
                    'pool': self.prefix + '_engine',
                    'nova_exchange': self.prefix + '_nova'},
            # Recovery is off unless a test turns it on
            # (engine__dry_run='false' and a journal).
            'engine': {'decisions_file': self.decisions,
                       'stats_interval': 1, 'dry_run': 'true'},
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
                   % (host, cloud.dir / ('state-' + host + '.json')))
    return processes.start('agent-' + host, [
        command('freezer-dr-agent'), '--config-file', cloud.config,
        '--config-file', str(own), *extra])


def start_fleet(processes, cloud, hosts):
    """Agents for ``hosts`` in one process (tests/functional/fleet.py)."""
    args = [sys.executable, '-m', 'tests.functional.fleet',
            '--config-file', cloud.config]
    for host in hosts:
        args += ['--host', host]
    return processes.start('fleet', args)
