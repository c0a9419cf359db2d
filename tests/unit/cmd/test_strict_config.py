"""Strict configuration (issue 13): an unknown section or option, or a
value not of its type, stops every command at start with one line that
names it (and the nearest valid name); what freezer-dr, oslo.log,
oslo.messaging and keystoneauth1 read is accepted."""

import os
import subprocess

import pytest

from tests.helpers import command

GOOD = '''[DEFAULT]
debug = true
log_dir = /tmp
transport_url = rabbit://guest:guest@127.0.0.1:5672/
[oslo_messaging_rabbit]
ssl = false
[oslo_messaging_notifications]
driver = messagingv2
[recovery]
notifiers = log
[fencer]
credentials_file = /etc/freezer-dr/servers.yml
[nova]
auth_type = password
auth_url = http://keystone/v3
username = freezer-dr
password = secret
project_name = service
user_domain_name = Default
project_domain_name = Default
'''


def _run(tmp_path, text, *args):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text(text)
    os.chmod(conf, 0o600)
    args = args or ('heartbeat-key', 'create', str(tmp_path / 'master.key'))
    return subprocess.run([command('freezer-dr-manage'), '--config-file',
                           str(conf), *args], capture_output=True,
                          text=True, timeout=120)


def test_what_the_libraries_read_is_accepted(tmp_path):
    done = _run(tmp_path, GOOD)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / 'master.key').exists()


@pytest.mark.parametrize('text, said', [
    (GOOD + '[recovery]\nnotifers = email\n',
     'unknown option [recovery] notifers in %s (did you mean notifiers?)'),
    (GOOD + '[livenes]\nheartbeat_interval = 1\n',
     'unknown section [livenes] in %s (did you mean liveness?)'),
    (GOOD + '[liveness]\nheartbeat_interval = abc\n',
     "bad value for [liveness] heartbeat_interval: could not convert "
     "string to float: 'abc'"),
    (GOOD.replace('credentials_file', 'credentials-fil'),
     'unknown option [fencer] credentials-fil in %s (did you mean '
     'credentials_file?)'),
    (GOOD.replace('username', 'usrname'),
     'unknown option [nova] usrname in %s (did you mean username?)'),
])
def test_a_mistake_stops_the_command_with_one_line(tmp_path, text, said):
    done = _run(tmp_path, text)
    assert done.returncode == 2
    path = tmp_path / 'freezer-dr.conf'
    assert done.stderr == 'freezer-dr-manage: bad configuration: %s\n' % (
        said % path if '%s' in said else said)
    assert not (tmp_path / 'master.key').exists()


@pytest.mark.parametrize('name', ['freezer-dr', 'freezer-dr-engine',
                                  'freezer-dr-agent', 'freezer-dr-record'])
def test_every_command_is_strict(tmp_path, name):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[engine]\nstats_intervall = 5\n')
    os.chmod(conf, 0o600)
    extra = ['--output', '-'] if name == 'freezer-dr-record' else []
    done = subprocess.run([command(name), '--config-file', str(conf),
                           *extra], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        '%s: bad configuration: unknown option [engine] stats_intervall in '
        '%s (did you mean stats_interval?)' % (name, conf)]


@pytest.mark.parametrize('name', ['freezer-dr', 'freezer-dr-engine',
                                  'freezer-dr-agent', 'freezer-dr-record',
                                  'freezer-dr-manage'])
def test_version(name):
    done = subprocess.run([command(name), '--version'], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout.strip() and done.stdout.strip()[0].isdigit()
    assert done.stderr == ''
