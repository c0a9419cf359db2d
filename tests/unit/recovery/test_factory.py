"""Start-up checks of the recovery's drivers (recovery/factory.py): a
configuration that cannot work stops the engine with one line naming the
option; one that covers only some hosts warns per host."""

import os
import shutil
import subprocess
import sys

import pytest

from freezer_dr import signing
from freezer_dr.drivers import base
from freezer_dr.drivers.fencers import credentials
from freezer_dr.drivers.fencers import ipmi
from freezer_dr.drivers.fencers import noop as noop_fencer
from freezer_dr.drivers.isolators import noop as noop_isolator
from freezer_dr.drivers.notifiers import log
from freezer_dr.recovery import factory
from freezer_dr.recovery import workflow


class Isolator(base.Isolator):
    """Knows the cloud's compute hosts, as nova's isolator does."""

    def __init__(self, hosts=(), problem=None):
        self._hosts = list(hosts)
        self.problem = problem

    def validate(self):
        if self.problem:
            raise base.ConfigurationError('[nova] auth_url', self.problem)
        return []

    def hosts(self):
        return self._hosts

    def isolate(self, host):
        return base.done('isolated')

    def rearm(self, host):
        return base.done('re-armed')


class Evacuator(base.Evacuator):
    def evacuate(self, host, guard=None):
        return []


def _flow(fencer, isolator=None, override=()):
    return workflow.Workflow(None, fencer, Evacuator(),
                             {'log': log.LogNotifier()},
                             isolator=isolator or Isolator(),
                             unfenced_evacuation=override)


def _ipmi(*hosts, incomplete=()):
    creds = {h: credentials.Credentials('127.0.0.1', 623, 'admin', 'secret',
                                        None)
             for h in hosts}
    for h in incomplete:
        creds[h] = credentials.Credentials('127.0.0.1', 623, '', None, None)
    return ipmi.IpmiFencer(credentials=creds)


def test_a_fencer_that_cannot_confirm_is_refused_with_an_empty_override():
    with pytest.raises(base.ConfigurationError) as error:
        factory.check_workflow(_flow(noop_fencer.NoopFencer()))
    assert error.value.option == '[recovery] unfenced_evacuation_hosts'
    assert 'cannot confirm power-off' in str(error.value)
    assert 'the list is empty' in str(error.value)


def test_it_is_refused_unless_every_known_host_is_in_the_override():
    flow = _flow(noop_fencer.NoopFencer(), Isolator(['c-1', 'c-2', 'c-3']),
                 override=['c-1', 'c-3'])
    with pytest.raises(base.ConfigurationError,
                       match='not listed: c-2'):
        factory.check_workflow(flow)
    flow = _flow(noop_fencer.NoopFencer(), Isolator(['c-1', 'c-2']),
                 override=['c-1', 'c-2'])
    [warning] = factory.check_workflow(flow)
    assert 'evacuated without a confirmed fence' in warning


def test_a_confirming_fencer_warns_per_host_it_cannot_fence():
    flow = _flow(_ipmi('c-1', incomplete=['c-2']),
                 Isolator(['c-1', 'c-2', 'c-3']))
    warnings = factory.check_workflow(flow)
    assert len(warnings) == 2
    assert warnings[0].startswith('host c-2 cannot be fenced by IpmiFencer '
                                  '(no BMC address, username and password')
    assert warnings[1].startswith('host c-3 cannot be fenced by IpmiFencer '
                                  '(no BMC credentials for this host)')
    assert '[fencer] credentials_file' in warnings[1]


def test_a_confirming_fencer_that_covers_no_known_host_is_refused():
    flow = _flow(_ipmi('old-1'), Isolator(['c-1', 'c-2']))
    # old-1 is known (from the credentials) and can be fenced: not refused.
    assert len(factory.check_workflow(flow)) == 2
    flow = _flow(_ipmi(incomplete=['c-1']), Isolator(['c-1', 'c-2']))
    with pytest.raises(base.ConfigurationError) as error:
        factory.check_workflow(flow)
    assert error.value.option == '[fencer] credentials_file'
    assert 'can fence none of the 2 known hosts' in str(error.value)


def test_a_fencer_without_credentials_is_refused():
    with pytest.raises(base.ConfigurationError,
                       match=r'^\[fencer\] credentials_file: the BMC fencer '
                             'has no host to fence'):
        factory.check_workflow(_flow(_ipmi()))


def test_a_driver_that_fails_its_own_check_stops_the_start():
    flow = _flow(_ipmi('c-1'), Isolator(problem='keystone says 401'))
    with pytest.raises(base.ConfigurationError,
                       match=r'^\[nova\] auth_url: keystone says 401$'):
        factory.check_workflow(flow)


def test_the_noop_isolator_isolates_nothing_and_says_so():
    result = noop_isolator.NoopIsolator().isolate('c-1')
    assert result.status == base.SKIPPED
    assert 'isolator = noop' in result.detail


def _script(command):
    path = shutil.which(command, path=os.path.dirname(sys.executable))
    assert path, '%s is not installed beside %s' % (command, sys.executable)
    return path


def _engine_refuses(tmp_path, recovery, bus=''):
    """Start freezer-dr-engine with ``recovery`` as its [recovery] section
    (a broker port nothing listens on: it must stop before the bus); return
    its one line of error."""
    conf = tmp_path / 'freezer-dr.conf'
    key = tmp_path / 'master.key'
    if not key.exists():
        signing.write_key(str(key), signing.new_master_key())
    conf.write_text('[DEFAULT]\ntransport_url = rabbit://guest:guest@'
                    '127.0.0.1:1/\n'
                    '[bus]\nheartbeat_master_key_file = %s\n%s'
                    '[engine]\ndry_run = false\n'
                    '[database]\nconnection = sqlite:///%s\n'
                    '[recovery]\n%s'
                    % (key, bus, tmp_path / 'journal.sqlite', recovery))
    result = subprocess.run([_script('freezer-dr-engine'), '--config-file',
                             str(conf)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    [line] = [x for x in result.stderr.splitlines()
              if x.startswith('freezer-dr-engine:')]
    return line


def test_the_engine_refuses_to_start_with_a_fencer_that_cannot_confirm(
        tmp_path):
    line = _engine_refuses(tmp_path, 'fencer = noop\nisolator = noop\n')
    assert line.startswith('freezer-dr-engine: bad configuration: '
                           '[recovery] unfenced_evacuation_hosts: the fencer '
                           'NoopFencer cannot confirm power-off')


def test_the_stock_recovery_settings_name_the_first_option_to_set(
        tmp_path):
    # The default isolator is nova's: without [nova] credentials the engine
    # says so, in one line naming the option.
    line = _engine_refuses(tmp_path, '')
    assert line == ('freezer-dr-engine: bad configuration: [nova] '
                    'auth_type: not set: freezer-dr cannot authenticate to '
                    'nova')


def test_the_engine_refuses_unchecked_heartbeats_unless_told(tmp_path):
    """Issue 12: with no master key the engine refuses to start (anything
    on the bus could speak for any host), unless unsigned heartbeats are
    allowed, which it then warns of."""
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[DEFAULT]\ntransport_url = rabbit://guest:guest@'
                    '127.0.0.1:1/\n[engine]\ndry_run = true\n')
    result = subprocess.run([_script('freezer-dr-engine'), '--config-file',
                             str(conf)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert 'freezer-dr-engine: bad configuration: [bus] ' \
        'heartbeat_master_key_file is not set' in result.stderr
    key = tmp_path / 'master.key'
    key.write_text(signing.new_master_key())
    key.chmod(0o644)
    conf.write_text(conf.read_text() +
                    '[bus]\nheartbeat_master_key_file = %s\n' % key)
    result = subprocess.run([_script('freezer-dr-engine'), '--config-file',
                             str(conf)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert 'readable by others (mode 644): run "chmod 600 %s"' % key \
        in result.stderr
