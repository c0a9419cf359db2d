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
    assert '{db,recovery,host,heartbeat-key}' in result.stderr
