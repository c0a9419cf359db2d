"""The console scripts declared in setup.cfg exist and say what they do."""

import os
import shutil
import subprocess
import sys

import pytest


def _script(command):
    """The console script installed beside this Python."""
    path = shutil.which(command, path=os.path.dirname(sys.executable))
    assert path, '%s is not installed beside %s' % (command, sys.executable)
    return path


def test_oneshot_with_the_default_monitor_finds_no_failed_nodes(tmp_path):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[recovery]\nmonitor = none\n')
    result = subprocess.run([_script('freezer-dr'), '--config-file',
                             str(conf)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'No failed nodes\n'


def test_replay_help():
    result = subprocess.run([_script('freezer-dr-replay'), '--help'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert '--phi-threshold' in result.stdout
    assert '--max-failed-hosts' in result.stdout


@pytest.mark.parametrize('command', ['freezer-dr-engine', 'freezer-dr-agent',
                                     'freezer-dr-record'])
def test_bad_configuration_is_refused_with_exit_2(tmp_path, command):
    conf = tmp_path / 'bad.conf'
    conf.write_text('[bus]\ndeaf_after = -5\n')
    extra = ['--output', str(tmp_path / 'r.jsonl')] \
        if command == 'freezer-dr-record' else []
    result = subprocess.run([_script(command), '--config-file', str(conf),
                             *extra],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert 'bad configuration' in result.stderr


def test_manage_without_a_command_shows_usage_and_exits_2():
    result = subprocess.run([_script('freezer-dr-manage')],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert '{db,recovery,host,heartbeat-key,config}' in result.stderr


def test_a_configuration_readable_by_others_is_refused(tmp_path):
    """Issue 12: configuration files hold secrets (the database, the SMTP
    and keystone passwords): like ssh, a command refuses one readable by
    group or others, saying how to fix it."""
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[DEFAULT]\ntransport_url = rabbit://guest:guest@'
                    '127.0.0.1:1/\n')
    conf.chmod(0o640)
    for command in ('freezer-dr-engine', 'freezer-dr-agent',
                    'freezer-dr-manage'):
        args = [_script(command), '--config-file', str(conf)]
        if command == 'freezer-dr-manage':
            args += ['db', 'version']
        result = subprocess.run(args, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        assert 'readable or writable by group or others (mode 640): run ' \
            '"chmod 600 %s"' % conf in result.stderr, result.stderr


def test_a_credentials_file_readable_by_others_is_refused(tmp_path):
    from freezer_dr.drivers.fencers import credentials
    path = tmp_path / 'bmcs.yaml'
    path.write_text('hosts: {}\n')
    path.chmod(0o644)
    with pytest.raises(credentials.CredentialsError, match='chmod 600'):
        credentials.load(str(path))
