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

"""The devstack plugin (devstack/), run by bash with stand-ins for
devstack's functions: the configuration it writes, the keys it makes, the
database it syncs and the services it starts, on an all-in-one node and on
a compute-only node. Needs neither devstack nor any service: every devstack
function the plugin calls is a stand-in that records its call, iniset and
iniget edit real files, and freezer-dr-manage is a stand-in script. Every
file is written under the test's directory.
"""

import configparser
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import sys

from oslo_config import cfg
import pytest

from freezer_dr.conf import opts as our_opts
from freezer_dr.conf import strict

TOP = pathlib.Path(__file__).resolve().parents[2]
DEVSTACK = TOP / 'devstack'

RABBIT_URL = 'rabbit://stackrabbit:rabbitpw@10.0.0.1:5672/'
DB_URL = 'mysql+pymysql://root:dbpw@10.0.0.1/freezer_dr?charset=utf8'
MASTER = '00112233445566778899aabbccddeeff' * 2

# devstack's functions, as stand-ins: each records its call (one line,
# fields separated by "|") in $CALLS. iniset and iniget edit real files.
STUBS = r'''
record() { local IFS='|'; echo "$*" >> "$CALLS"; }

iniset() {
    [[ "$1" == -sudo ]] && shift
    local file=$1 section=$2 option=$3 value=$4 new
    record iniset "$file" "$section" "$option" "$value"
    [[ -e "$file" ]] || : > "$file"
    new=$(mktemp)
    awk -v s="[$section]" -v o="$option" -v v="$value" '
        /^\[.*\]$/ { if (here && !done) { print o " = " v; done = 1 }
                     here = ($0 == s) }
        here && !done && index($0, o " = ") == 1 {
            print o " = " v; done = 1; next }
        { print }
        END { if (!done) { if (!here) print s; print o " = " v } }
    ' "$file" > "$new"
    cat "$new" > "$file"
    rm -f "$new"
}

iniget() {
    awk -v s="[$2]" -v o="$3" '
        /^\[.*\]$/ { here = ($0 == s); next }
        here && index($0, o " = ") == 1 { print substr($0, length(o) + 4) }
    ' "$1"
}

is_service_enabled() {
    local service
    for service in "$@"; do
        [[ ,$ENABLED_SERVICES, == *,$service,* ]] && return 0
    done
    return 1
}
enable_service() {
    local service
    for service in "$@"; do
        [[ ,$DISABLED_SERVICES, == *,$service,* ]] && continue
        is_service_enabled "$service" ||
            ENABLED_SERVICES=$ENABLED_SERVICES,$service
    done
}
is_ubuntu() { return 0; }
is_fedora() { return 1; }
die() { shift; echo "die: $*" >&2; exit 1; }
echo_summary() { echo "$*"; }
sudo() { "$@"; }
get_python_exec_prefix() { record get_python_exec_prefix; echo /nowhere; }
install_package() { record install_package "$@"; }
setup_develop() { record setup_develop "$@"; }
get_notification_url() { echo "$RABBIT_URL"; }
get_transport_url() { echo "$RABBIT_URL"; }
database_connection_url() { echo "$DB_URL_BASE/$1?charset=utf8"; }
recreate_database() { record recreate_database "$@"; }
create_service_user() { record create_service_user "$@"; }
run_process() { record run_process "$@"; }
stop_process() { record stop_process "$@"; }
'''

# freezer-dr-manage, as a stand-in: records its arguments; refuses, as the
# real one does, a configuration file or a master key file that group or
# others may read; "heartbeat-key create FILE" writes a key as the real one
# does (mode 0600, refuses an existing file); "heartbeat-key derive HOST"
# prints a key made from the master key its configuration file names and
# HOST.
MANAGE = r'''#!/usr/bin/env bash
set -eu
(IFS='|'; echo "freezer-dr-manage|$*") >> "$CALLS"
private() {
    [[ "$(stat -c %a "$1")" == *00 ]] || { echo "$1 is not private" >&2
                                           exit 2; }
}
conf=
if [[ "$1" == --config-file ]]; then conf=$2; shift 2; private "$conf"; fi
case "$1 $2" in
    'heartbeat-key create')
        [[ ! -e "$3" ]] || { echo "$3 exists" >&2; exit 1; }
        (umask 077; echo "$TEST_MASTER" > "$3") ;;
    'heartbeat-key derive')
        master=$(sed -n 's/^heartbeat_master_key_file = //p' "$conf")
        [[ -n "$master" ]] || { echo "no master key file" >&2; exit 1; }
        private "$master"
        printf '%s %s' "$(cat "$master")" "$3" | sha256sum | cut -c1-64 ;;
    'db sync') ;;
    *) echo "unexpected: $*" >&2; exit 2 ;;
esac
'''

ALL_IN_ONE = ('key,mysql,rabbit,n-api,n-cond,n-sch,n-cpu,placement-api,'
              'g-api')
COMPUTE_ONLY = 'n-cpu,placement-client,q-agt'


class Node:
    """One devstack node's directory: stand-ins, /etc, the data dir."""

    def __init__(self, tmp_path, services, **settings):
        self.tmp = tmp_path
        self.calls = tmp_path / 'calls'
        self.bin = tmp_path / 'bin'
        self.bin.mkdir()
        manage = self.bin / 'freezer-dr-manage'
        manage.write_text(MANAGE)
        manage.chmod(0o755)
        (tmp_path / 'stubs.sh').write_text(STUBS)
        self.conf_dir = tmp_path / 'etc' / 'freezer-dr'
        self.conf = self.conf_dir / 'freezer-dr.conf'
        self.nova_conf = tmp_path / 'etc' / 'nova' / 'nova.conf'
        self.nova_conf.parent.mkdir(parents=True)
        # As devstack's configure_nova leaves it before the plugin runs.
        self.nova_conf.write_text(
            '[DEFAULT]\ndebug = True\n\n[oslo_messaging_notifications]\n'
            'driver = messagingv2\ntransport_url = %s\n\n[notifications]\n'
            'notification_format = unversioned\n' % RABBIT_URL)
        self.scratch = tmp_path / 'tmp'
        self.scratch.mkdir()
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': str(tmp_path),
            'TMPDIR': str(self.scratch),
            'LC_ALL': 'C',
            'CALLS': str(self.calls),
            'TEST_MASTER': MASTER,
            'RABBIT_URL': RABBIT_URL,
            'DB_URL_BASE': DB_URL.rsplit('/', 1)[0],
            'DEST': str(tmp_path / 'opt'),
            'DATA_DIR': str(tmp_path / 'data'),
            'STACK_USER': _user(),
            'SERVICE_PASSWORD': 'servicepw',
            'SERVICE_PROJECT_NAME': 'service',
            'SERVICE_DOMAIN_NAME': 'Default',
            'KEYSTONE_SERVICE_URI': 'http://10.0.0.1/identity',
            'REGION_NAME': 'RegionOne',
            'DATABASE_TYPE': 'mysql',
            'ENABLE_DEBUG_LOG_LEVEL': 'True',
            'NOVA_CONF': str(self.nova_conf),
            'NOVA_INSTANCES_PATH': str(tmp_path / 'data/nova/instances'),
            'NOVA_NOTIFICATION_FORMAT': 'unversioned',
            'VIRT_DRIVER': 'libvirt',
            'LIBVIRT_GROUP': 'libvirt',
            'ENABLED_SERVICES': services,
            'DISABLED_SERVICES': '',
            'FREEZER_DR_DIR': str(TOP),
            'FREEZER_DR_CONF_DIR': str(self.conf_dir),
            'FREEZER_DR_BIN_DIR': str(self.bin),
        }
        self.env.update(settings)

    def run(self, *stages, check=True):
        """Source the plugin's settings, then plugin.sh once per stage
        (``'stack install'``, ``'unstack'``...), as stack.sh does: in a
        function, with errexit and nounset on, and the usual umask (files
        readable by all unless made private). The process's result."""
        script = ['set -o errexit -o nounset', 'umask 022',
                  'source %s' % _q(self.tmp / 'stubs.sh'),
                  'run_phase() { source %s "$@"; }' % _q(DEVSTACK /
                                                        'plugin.sh'),
                  'source %s' % _q(DEVSTACK / 'settings'),
                  'record enabled "$ENABLED_SERVICES"']
        script += ['run_phase %s' % stage for stage in stages]
        result = subprocess.run(['bash', '-c', '\n'.join(script)],
                                env=self.env, capture_output=True,
                                text=True, timeout=30)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def stack(self):
        return self.run('stack pre-install', 'stack install',
                        'stack post-config', 'stack extra',
                        'stack test-config')

    def recorded(self, name=None):
        """The calls recorded, each a list of its fields."""
        if not self.calls.exists():
            return []
        lines = [line.split('|') for line in
                 self.calls.read_text().splitlines()]
        return [line for line in lines if name is None or line[0] == name]

    def ini(self, path=None):
        # (DEFAULT read as a section of its own, not inherited by all.)
        parser = configparser.RawConfigParser(interpolation=None,
                                              default_section='\0')
        parser.optionxform = str
        parser.read(path or self.conf)
        return {section: dict(parser[section])
                for section in parser.sections()}


def _q(path):
    return "'%s'" % path


def _user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _derived(host, master=MASTER):
    """The key the freezer-dr-manage stand-in derives for ``host``."""
    import hashlib
    return hashlib.sha256(('%s %s' % (master, host)).encode()
                          ).hexdigest()


def _assert_known_options(path):
    """Every section and option of ``path`` is one freezer-dr reads (the
    check freezer-dr-engine and freezer-dr-agent make at start), and every
    value is of its option's type."""
    sections = {}
    cfg.ConfigParser(str(path), sections).parse()
    known = strict.known_options(sections)
    for section, values in sections.items():
        assert section in known, section
        for name in values:
            assert name in known[section], '[%s] %s' % (section, name)
    conf = cfg.ConfigOpts()
    for group, opts in our_opts.list_opts() + strict._library_opts():
        # (By name: an OptGroup object is shared with the process's CONF,
        # which other tests load keystoneauth plugins' options into.)
        conf.register_opts(opts, group=getattr(group, 'name', group))
    conf(['--config-file', str(path)], project='freezer-dr-test',
         default_config_files=[], default_config_dirs=[])
    strict.check_values(conf)
    return conf


@pytest.fixture(scope='module', autouse=True)
def _bash():
    if not shutil.which('bash') or not shutil.which('awk'):
        pytest.skip('needs bash and awk')


def test_all_in_one_node(tmp_path):
    node = Node(tmp_path, ALL_IN_ONE)
    out = node.stack()
    host = socket.gethostname()

    # Both services enabled by default where nova's API runs.
    enabled = node.recorded('enabled')[0][1].split(',')
    assert 'freezer-dr-engine' in enabled and 'freezer-dr-agent' in enabled
    assert node.recorded('install_package') == [
        ['install_package', 'libvirt-dev', 'pkg-config']]
    # With the extras: the database's driver, libvirt-python.
    assert node.recorded('setup_develop') == [
        ['setup_develop', str(TOP), 'mysql,libvirt']]

    conf = node.ini()
    data = tmp_path / 'data' / 'freezer-dr'
    master_file = node.conf_dir / 'heartbeat-master.key'
    key_file = node.conf_dir / 'heartbeat.key'
    assert conf == {
        'DEFAULT': {'debug': 'True', 'transport_url': RABBIT_URL},
        'database': {'connection': DB_URL},
        'bus': {'heartbeat_master_key_file': str(master_file)},
        'engine': {'decisions_file': str(data / 'decisions.jsonl')},
        'recovery': {'fencer': 'noop', 'isolator': 'nova',
                     'evacuator': 'nova', 'notifiers': 'log',
                     # (noop confirms no power-off: the engine refuses to
                     # start unless every host is listed.)
                     'unfenced_evacuation_hosts': host},
        'nova': {'auth_type': 'password',
                 'auth_url': 'http://10.0.0.1/identity',
                 'username': 'freezer-dr', 'password': 'servicepw',
                 'project_name': 'service',
                 'user_domain_name': 'Default',
                 'project_domain_name': 'Default',
                 'region_name': 'RegionOne'},
        'agent': {'host': host,
                  'heartbeat_key_file': str(key_file),
                  'state_file': str(data / 'agent-state.json'),
                  'disk_path': str(tmp_path / 'data/nova/instances')},
    }
    parsed = _assert_known_options(node.conf)
    assert parsed.recovery.unfenced_evacuation_hosts == [host]
    assert parsed.nova.auth_type == 'password'

    # Private files, directories private to the user who runs the services.
    for path in (node.conf, master_file, key_file):
        assert _mode(path) == 0o600, path
        assert os.stat(path).st_uid == os.getuid()
    assert _mode(node.conf_dir) == 0o700
    assert _mode(data) == 0o700

    # nova publishes versioned notifications (and its unversioned ones
    # still, devstack's default).
    nova = node.ini(node.nova_conf)
    assert nova['notifications']['notification_format'] == 'both'
    assert nova['oslo_messaging_notifications']['driver'] == 'messagingv2'
    assert nova['DEFAULT'] == {'debug': 'True'}

    # The master key created, the agent's key derived from it for the
    # host nova knows; the journal's database recreated and synced.
    assert master_file.read_text() == MASTER + '\n'
    assert key_file.read_text() == _derived(host) + '\n'
    manage = [c[1:] for c in node.recorded('freezer-dr-manage')]
    assert manage == [
        ['heartbeat-key', 'create', str(master_file)],
        ['--config-file', str(node.conf), 'heartbeat-key', 'derive', host],
        ['--config-file', str(node.conf), 'db', 'sync']]
    assert node.recorded('recreate_database') == [
        ['recreate_database', 'freezer_dr']]
    assert node.recorded('create_service_user') == [
        ['create_service_user', 'freezer-dr', 'admin']]

    # The database is synced before the engine starts.
    calls = [c[0] for c in node.recorded()]
    assert calls.index('run_process') > calls.index('freezer-dr-manage') + 2
    assert node.recorded('run_process') == [
        ['run_process', 'freezer-dr-engine',
         '%s/freezer-dr-engine --config-file %s' % (node.bin, node.conf)],
        ['run_process', 'freezer-dr-agent',
         '%s/freezer-dr-agent --config-file %s' % (node.bin, node.conf),
         'libvirt']]
    # The keys never appear in what stack.sh prints.
    assert MASTER not in out.stdout + out.stderr
    assert _derived(host) not in out.stdout + out.stderr


def test_the_real_freezer_dr_manage_accepts_the_configuration(tmp_path):
    # The file the plugin writes passes the real command's checks (a
    # private file, the master key it names), and the real command derives
    # the agent's key from it.
    node = Node(tmp_path, ALL_IN_ONE, FREEZER_DR_AGENT_HOST='compute-7')
    node.run('stack post-config')
    master = node.conf_dir / 'heartbeat-master.key'
    master.write_text(MASTER + '\n')
    master.chmod(0o600)
    manage = shutil.which('freezer-dr-manage',
                          path=os.path.dirname(sys.executable))
    if not manage:
        pytest.skip('freezer-dr-manage is not installed beside %s'
                    % sys.executable)
    result = subprocess.run([manage, '--config-file', str(node.conf),
                             'heartbeat-key', 'derive', 'compute-7'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    from freezer_dr import signing
    assert result.stdout.strip() == signing.derive(
        bytes.fromhex(MASTER), 'compute-7').hex()


def test_compute_only_node(tmp_path):
    node = Node(tmp_path, COMPUTE_ONLY, FREEZER_DR_AGENT_HOST='compute-2',
                FREEZER_DR_HEARTBEAT_MASTER_KEY=MASTER)
    out = node.stack()

    enabled = node.recorded('enabled')[0][1].split(',')
    assert 'freezer-dr-agent' in enabled
    assert 'freezer-dr-engine' not in enabled
    assert node.recorded('setup_develop') == [
        ['setup_develop', str(TOP), 'libvirt']]
    assert node.recorded('install_package') == [
        ['install_package', 'libvirt-dev', 'pkg-config']]

    # The agent's part only: no database, no keystone credentials, no
    # master key.
    key_file = node.conf_dir / 'heartbeat.key'
    data = tmp_path / 'data' / 'freezer-dr'
    assert node.ini() == {
        'DEFAULT': {'debug': 'True', 'transport_url': RABBIT_URL},
        'agent': {'host': 'compute-2',
                  'heartbeat_key_file': str(key_file),
                  'state_file': str(data / 'agent-state.json'),
                  'disk_path': str(tmp_path / 'data/nova/instances')},
    }
    _assert_known_options(node.conf)
    assert _mode(node.conf) == 0o600
    assert node.ini(node.nova_conf)['notifications'][
        'notification_format'] == 'both'

    # The host's key derived from the master key given, which is not kept
    # anywhere under the node's directories.
    assert key_file.read_text() == _derived('compute-2') + '\n'
    assert _mode(key_file) == 0o600
    assert sorted(os.listdir(node.conf_dir)) == ['freezer-dr.conf',
                                                 'heartbeat.key']
    manage = [c[1:] for c in node.recorded('freezer-dr-manage')]
    assert len(manage) == 1
    assert manage[0][0] == '--config-file'
    assert manage[0][2:] == ['heartbeat-key', 'derive', 'compute-2']
    assert os.listdir(node.scratch) == []     # (the scratch copy is gone)
    assert MASTER not in out.stdout + out.stderr

    assert node.recorded('recreate_database') == []
    assert node.recorded('create_service_user') == []
    assert node.recorded('run_process') == [
        ['run_process', 'freezer-dr-agent',
         '%s/freezer-dr-agent --config-file %s' % (node.bin, node.conf),
         'libvirt']]


def test_compute_only_node_with_its_key_copied(tmp_path):
    key_file = tmp_path / 'etc' / 'freezer-dr' / 'heartbeat.key'
    key_file.parent.mkdir(parents=True)
    key_file.write_text(_derived('compute-3') + '\n')
    key_file.chmod(0o644)
    node = Node(tmp_path, COMPUTE_ONLY, FREEZER_DR_AGENT_HOST='compute-3')
    node.stack()
    assert key_file.read_text() == _derived('compute-3') + '\n'
    assert _mode(key_file) == 0o600
    assert node.recorded('freezer-dr-manage') == []
    assert [c[1] for c in node.recorded('run_process')] == [
        'freezer-dr-agent']


def test_compute_only_node_without_a_key_stops_the_stack(tmp_path):
    node = Node(tmp_path, COMPUTE_ONLY, FREEZER_DR_AGENT_HOST='compute-4')
    result = node.run('stack install', 'stack post-config', 'stack extra',
                      check=False)
    assert result.returncode != 0
    assert 'FREEZER_DR_HEARTBEAT_MASTER_KEY' in result.stderr
    assert 'heartbeat-key derive compute-4' in result.stderr
    assert node.recorded('run_process') == []


def test_an_engine_without_compute_and_the_noop_fencer_needs_the_hosts(
        tmp_path):
    services = 'key,mysql,rabbit,n-api,n-cond,n-sch'
    node = Node(tmp_path, services)
    result = node.run('stack post-config', check=False)
    assert result.returncode != 0
    assert 'FREEZER_DR_UNFENCED_EVACUATION_HOSTS' in result.stderr


def test_controller_without_compute(tmp_path):
    (tmp_path / 'n').mkdir()
    node = Node(tmp_path / 'n', 'key,mysql,rabbit,n-api,n-cond,n-sch',
                FREEZER_DR_UNFENCED_EVACUATION_HOSTS='compute-1,compute-2',
                FREEZER_DR_FENCER='noop', DATABASE_TYPE='postgresql')
    node.stack()
    # (No libvirt here: neither the agent nor the libvirt fencer.)
    assert node.recorded('setup_develop') == [
        ['setup_develop', str(TOP), 'postgresql']]
    assert node.recorded('install_package') == []
    conf = node.ini()
    assert 'agent' not in conf
    assert conf['recovery']['unfenced_evacuation_hosts'] == \
        'compute-1,compute-2'
    assert [c[1] for c in node.recorded('run_process')] == [
        'freezer-dr-engine']
    # (No agent here: no agent key.)
    assert [c[1:] for c in node.recorded('freezer-dr-manage')][1:] == [
        ['--config-file', str(node.conf), 'db', 'sync']]


def test_other_choices(tmp_path):
    node = Node(tmp_path, ALL_IN_ONE, FREEZER_DR_FENCER='libvirt',
                FREEZER_DR_NOTIFIERS='log,bus',
                FREEZER_DR_COORDINATION_URL='redis://10.0.0.1:6379',
                FREEZER_DR_HEARTBEAT_MASTER_KEY=MASTER.upper(),
                NOVA_NOTIFICATION_FORMAT='versioned', VIRT_DRIVER='fake')
    node.run('stack install', 'stack post-config', 'stack extra')
    # (libvirt-python for the fencer, though nova's driver is fake.)
    assert node.recorded('setup_develop') == [
        ['setup_develop', str(TOP), 'mysql,libvirt']]
    conf = node.ini()
    assert conf['recovery']['fencer'] == 'libvirt'
    assert conf['recovery']['notifiers'] == 'log,bus'
    # (A fencer that confirms: no host is evacuated unfenced.)
    assert 'unfenced_evacuation_hosts' not in conf['recovery']
    assert conf['coordination'] == {'backend_url': 'redis://10.0.0.1:6379'}
    # (No libvirt with nova's fake driver: not checked, no libvirt group.)
    assert conf['agent']['checks'] == 'nova_compute,disk'
    _assert_known_options(node.conf)
    assert node.ini(node.nova_conf)['notifications'][
        'notification_format'] == 'versioned'
    # The master key given is the master key; none is created.
    master_file = node.conf_dir / 'heartbeat-master.key'
    assert master_file.read_text() == MASTER.upper() + '\n'
    assert _mode(master_file) == 0o600
    assert [c[1:3] for c in node.recorded('freezer-dr-manage')] == [
        ['--config-file', str(node.conf)]] * 2
    assert node.recorded('run_process')[1] == [
        'run_process', 'freezer-dr-agent',
        '%s/freezer-dr-agent --config-file %s' % (node.bin, node.conf), '']


def test_disabled_in_local_conf(tmp_path):
    node = Node(tmp_path, ALL_IN_ONE, DISABLED_SERVICES='freezer-dr-agent')
    node.stack()
    assert 'agent' not in node.ini()
    assert [c[1] for c in node.recorded('run_process')] == [
        'freezer-dr-engine']


def test_restack_keeps_the_master_key_then_unstack_and_clean(tmp_path):
    node = Node(tmp_path, ALL_IN_ONE, FREEZER_DR_AGENT_HOST='aio')
    node.stack()
    node.stack()
    manage = [c[1:] for c in node.recorded('freezer-dr-manage')]
    assert [m[-3:] for m in manage].count(
        ['heartbeat-key', 'create', str(node.conf_dir /
                                        'heartbeat-master.key')]) == 1
    assert (node.conf_dir / 'heartbeat.key').read_text() == \
        _derived('aio') + '\n'

    node.calls.unlink()
    node.run('unstack')
    assert node.recorded('stop_process') == [
        ['stop_process', 'freezer-dr-engine'],
        ['stop_process', 'freezer-dr-agent']]
    assert node.conf_dir.exists()
    node.run('unstack', 'clean')
    assert not node.conf_dir.exists()
    assert not (tmp_path / 'data' / 'freezer-dr').exists()


def test_the_agent_key_follows_a_host_name_set_in_local_conf(tmp_path):
    # local.conf's [[post-config|$FREEZER_DR_CONF]] is merged after the
    # plugin's post-config stage: the key is derived for the name there.
    node = Node(tmp_path, ALL_IN_ONE, FREEZER_DR_AGENT_HOST='aio')
    node.run('stack post-config')
    text = node.conf.read_text().replace('host = aio\n',
                                         'host = aio.example.org\n')
    node.conf.write_text(text)
    node.conf.chmod(0o640)      # (whatever the merge left)
    node.run('stack extra')
    assert _mode(node.conf) == 0o600
    assert ['--config-file', str(node.conf), 'heartbeat-key', 'derive',
            'aio.example.org'] in [c[1:] for c in
                                   node.recorded('freezer-dr-manage')]
    assert (node.conf_dir / 'heartbeat.key').read_text() == \
        _derived('aio.example.org') + '\n'
