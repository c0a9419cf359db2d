"""Fixtures that start real peers and real freezer-dr processes.

RabbitMQ is the machine's (127.0.0.1:5672, guest/guest); every test uses
its own exchange, topic and pool names (prefix ``fdrtest_``), so tests never
see each other's messages. Processes run in their own process group and are
killed, group and all, when the test ends, even when it fails.
"""

import json
import os
import signal as _signal
import subprocess
import sys
import time
import uuid

import pytest

from freezer_dr import engine as engine_module

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir))
BIN = os.path.dirname(sys.executable)
RABBIT_URL = os.environ.get('FREEZER_DR_TEST_TRANSPORT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


def wait_for(condition, timeout, interval=0.1, message='condition'):
    """Poll ``condition`` until it returns a true value or ``timeout``
    seconds pass (then fail the test)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail('timed out after %.0f s waiting for %s'
                        % (timeout, message))
        time.sleep(interval)


def rabbitmqctl(*args, timeout=60):
    return subprocess.run(['rabbitmqctl', *args], capture_output=True,
                          text=True, timeout=timeout)


def await_rabbit(timeout=120):
    """Wait until the broker accepts clients (await_startup fails at once
    until the node has registered, so retry it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rabbitmqctl('await_startup', timeout=30).returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail('RabbitMQ did not start within %d s' % timeout)


@pytest.fixture(scope='session')
def rabbit():
    """The machine's RabbitMQ, started if it is not running."""
    if rabbitmqctl('status', timeout=30).returncode != 0:
        subprocess.run(['rabbitmq-server', '-detached'], check=False)
    await_rabbit()
    # Queues the tests leave behind (the notifier's default queues) expire.
    rabbitmqctl('set_policy', '--apply-to', 'queues', 'fdrtest-cleanup',
                '^fdrtest', json.dumps({'message-ttl': 30000,
                                        'expires': 120000}))
    return RABBIT_URL


class Process:
    """A command in its own process group, output in a log file."""

    def __init__(self, name, args, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, name + '.log')
        self._log = open(self.log_path, 'wb')
        self.popen = subprocess.Popen(args, stdout=self._log,
                                      stderr=subprocess.STDOUT,
                                      start_new_session=True, cwd=TOP)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, signum):
        os.kill(self.popen.pid, signum)

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def stop(self, signum=None, timeout=15):
        signum = _signal.SIGTERM if signum is None else signum
        if self.alive():
            try:
                os.killpg(self.popen.pid, signum)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self):
        try:
            os.killpg(self.popen.pid, _signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


@pytest.fixture
def processes(tmp_path):
    """Start processes with ``processes.start(name, args)``; all are killed
    (group and all) when the test ends."""
    started = []

    class Starter:
        log_dir = str(tmp_path)

        def start(self, name, args):
            process = Process(name, args, str(tmp_path))
            started.append(process)
            return process

    yield Starter()
    for process in reversed(started):
        process.stop()


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


@pytest.fixture
def make_cloud(tmp_path, rabbit):
    def make(**options):
        return Cloud(tmp_path, rabbit, **options)
    return make


def command(name):
    return os.path.join(BIN, name)


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
    args = [sys.executable, '-m', 'tests.functional.fleet',
            '--config-file', cloud.config]
    for host in hosts:
        args += ['--host', host]
    return processes.start('fleet', args)


@pytest.fixture(scope='session')
def openstack(tmp_path_factory, rabbit):
    """The real OpenStack of tests/harness (4 compute hosts), started once
    for the session on first use. Tests that kill hosts revive them."""
    from tests.harness import cloud as harness
    workdir = tmp_path_factory.mktemp('openstack')
    cloud = harness.Cloud(workdir / 'cloud', hosts=4, log=print)
    # Every host runs freezer-dr-agent, heard on the cloud's own vhost.
    agent_config = workdir / 'agent.conf'
    agent_config.write_text(
        '[DEFAULT]\ntransport_url = %s\n[bus]\nheartbeat_exchange = %s\n'
        'heartbeat_topic = %s_heartbeats\n[agent]\nchecks = disk\n'
        'disk_path = %s\n' % (cloud.transport_url, cloud.name, cloud.name,
                              workdir))
    cloud.agent_config = str(agent_config)
    with cloud:
        yield cloud


@pytest.fixture
def cloud_hosts(openstack):
    """The session's cloud, every host revived and every instance deleted
    after the test."""
    yield openstack
    nova = openstack.nova(version='2.53')
    for host in openstack.hosts:
        if host.power != 'on' or len(host.running()) < len(
                host.status()['pids']) or not host.running():
            openstack.revive(host)
    for service in nova.services.list(binary='nova-compute'):
        if service.forced_down or service.status == 'disabled':
            openstack.revive(service.host)
    openstack.delete_all_servers()
