"""The commands read upstream freezer-dr's configuration and dashed names,
and ``freezer-dr-manage config migrate OLD NEW`` writes the equivalent
file (issue 13, point 2)."""

import os
import subprocess

from tests.helpers import command
from tests.unit.conf.test_upstream import SERVERS
from tests.unit.conf.test_upstream import UPSTREAM


def _write(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)
    return str(path)


def _manage(*args):
    return subprocess.run([command('freezer-dr-manage'), *args],
                          capture_output=True, text=True, timeout=120)


def test_manage_reads_an_upstream_file(tmp_path):
    servers = _write(tmp_path / 'servers.yml', SERVERS)
    conf = _write(tmp_path / 'freezer-dr.conf',
                  UPSTREAM % {'servers': servers})
    done = _manage('--config-file', conf, 'heartbeat-key', 'create',
                   str(tmp_path / 'master.key'))
    assert done.returncode == 0, done.stderr
    assert 'warning: %s: [DEFAULT] wait ignored' % conf in done.stderr
    assert (tmp_path / 'master.key').exists()


def test_a_dashed_name_is_read(tmp_path):
    conf = _write(tmp_path / 'freezer-dr.conf',
                  '[fencer]\ncredentials-file = /etc/servers.yml\n')
    done = _manage('--config-file', conf, 'heartbeat-key', 'create',
                   str(tmp_path / 'master.key'))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ''


def test_a_rejected_upstream_option_stops_the_command(tmp_path):
    conf = _write(tmp_path / 'freezer-dr.conf', '[DEFAULT]\nwait = 60\n')
    done = _manage('--config-file', conf, 'heartbeat-key', 'create',
                   str(tmp_path / 'master.key'))
    assert done.returncode == 2
    assert done.stderr.startswith(
        "freezer-dr-manage: bad configuration: [DEFAULT] wait in %s is "
        "upstream freezer-dr's and not read by freezer-dr: " % conf)
    assert len(done.stderr.splitlines()) == 1
    assert not (tmp_path / 'master.key').exists()


def test_config_migrate(tmp_path):
    old = _write(tmp_path / 'old.conf', '[DEFAULT]\nwait = 60\n[fencer]\n'
                 'driver = freezer_dr.fencers.drivers.ipmi.driver.'
                 'IpmiDriver\n')
    new = tmp_path / 'new.conf'
    done = _manage('--config-file', old, 'config', 'migrate', old, str(new))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == 'wrote %s from %s' % (new, old)
    assert '  rejected: [DEFAULT] wait: ' in done.stdout
    assert os.stat(new).st_mode & 0o777 == 0o600
    done = _manage('--config-file', str(new), 'heartbeat-key', 'create',
                   str(tmp_path / 'master.key'))
    assert done.returncode == 0, done.stderr
    again = _manage('config', 'migrate', old, str(new))
    assert again.returncode == 1
    assert again.stderr == ('freezer-dr-manage: %s exists: give a new file '
                            'name\n' % new)
