"""The cloud harness itself: a real OpenStack on this machine.

Three compute hosts; ten instances in two projects; one host killed, forced
down and its instances evacuated through python-novaclient with a
keystoneauth1 session from keystone (freezer-dr's own service user); the
BMC simulators answer ipmitool and pyghmi, and their power is the host's.
The last test tears the cloud down and asserts nothing is left running.
"""

import shutil
import subprocess
import sys

import pytest

from tests.harness import cloud as harness
from tests.helpers import TOP
from tests.helpers import wait_for


@pytest.fixture(scope='module')
def cloud(tmp_path_factory, rabbit):
    workdir = tmp_path_factory.mktemp('selftest')
    the_cloud = harness.Cloud(workdir / 'cloud', hosts=3,
                              name='fdrselftest', port_base=26300)
    config = workdir / 'freezer-dr.conf'
    config.write_text(
        '[DEFAULT]\ntransport_url = %s\n'
        '[agent]\nchecks = disk\ndisk_path = %s\n'
        % (the_cloud.transport_url, workdir))
    the_cloud.agent_config = str(config)
    try:
        the_cloud.up()
        yield the_cloud
    finally:
        the_cloud.down()


def test_a_dead_hosts_instances_are_evacuated(cloud):
    servers = (cloud.boot(5, 'demo-a', prefix='a', hosts=['compute-1',
                                                          'compute-2',
                                                          'compute-3'])
               + cloud.boot(5, 'demo-b', prefix='b',
                            hosts=['compute-3', 'compute-1', 'compute-2']))
    host_of = {s.id: getattr(s, 'OS-EXT-SRV-ATTR:host') for s in servers}
    victims = sorted(i for i, h in host_of.items() if h == 'compute-1')
    assert len(victims) == 4
    assert {s.tenant_id for s in servers if s.id in victims} == {
        cloud.project_id(p) for p in ('demo-a', 'demo-b')}

    host = cloud.host('compute-1')
    assert set(host.running()) == {'nova-compute', 'freezer-dr-agent'}
    host.kill(wait=False)
    wait_for(lambda: not host.running(), 10, message='compute-1 to die')
    assert host.power == 'on'        # a dead host, not a powered-off one

    # As freezer-dr will: its own service user, a keystoneauth1 session,
    # python-novaclient at 2.53 and later.
    session = cloud.session(harness.FREEZER_USER, 'service')
    nova = cloud.nova(session, version='2.53')
    service = nova.services.list(host='compute-1', binary='nova-compute')[0]
    nova.services.force_down(service.id, True)
    assert nova.services.list(host='compute-1')[0].forced_down
    for server_id in victims:
        nova.servers.evacuate(server_id)

    def moved():
        now = {i: nova.servers.get(i) for i in victims}
        failed = [i for i, s in now.items() if s.status == 'ERROR']
        assert not failed, 'evacuation failed: %s' % failed
        return all(s.status == 'ACTIVE' and
                   getattr(s, 'OS-EXT-SRV-ATTR:host') != 'compute-1'
                   for s in now.values())
    wait_for(moved, 60, interval=0.3, message='evacuated instances ACTIVE')
    migrations = [m for m in nova.migrations.list(
        migration_type='evacuation') if m.instance_uuid in victims]
    assert sorted(m.instance_uuid for m in migrations) == victims
    assert {(m.source_compute, m.status) for m in migrations} == {
        ('compute-1', 'done')}
    # The others never moved.
    for server_id, host_name in host_of.items():
        if server_id not in victims:
            assert getattr(nova.servers.get(server_id),
                           'OS-EXT-SRV-ATTR:host') == host_name


def _pyghmi_power(host):
    # In a child process: pyghmi keeps process-wide session state.
    code = ('import sys; from pyghmi.ipmi import command; '
            'c = command.Command(sys.argv[1], sys.argv[2], sys.argv[3], '
            'port=int(sys.argv[4])); print(c.get_power()["powerstate"])')
    result = subprocess.run(
        [sys.executable, '-c', code, '127.0.0.1', host.bmc_user,
         host.bmc_password, str(host.bmc_port)],
        capture_output=True, text=True, timeout=60, cwd=TOP)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(not shutil.which('ipmitool'), reason='no ipmitool')
def test_the_bmc_is_the_hosts_power(cloud):
    host = cloud.host('compute-2')
    status = host.ipmitool('power', 'status')
    assert status.stdout.strip() == 'Chassis Power is on', status.stderr
    assert _pyghmi_power(host) == 'on'
    assert set(host.running()) == {'nova-compute', 'freezer-dr-agent'}
    old = host.pids()

    result = host.ipmitool('power', 'off')
    assert result.returncode == 0, result.stderr
    wait_for(lambda: not host.running(), 10,
             message='compute-2 processes to stop')
    assert host.ipmitool('power', 'status').stdout.strip() == \
        'Chassis Power is off'
    assert _pyghmi_power(host) == 'off'
    for pid in old.values():
        assert (harness.proc_stat(pid) or ['Z'])[0] == 'Z'

    assert host.ipmitool('power', 'on').returncode == 0
    wait_for(lambda: set(host.running()) == {'nova-compute',
                                             'freezer-dr-agent'}, 10,
             message='compute-2 processes to start again')
    assert set(host.pids().values()).isdisjoint(old.values())
    counts = host.status()['counts']
    assert (counts['power_off'], counts['power_on']) == (1, 1)
    # A wrong password is refused.
    wrong = host.ipmitool('power', 'off', password='wrong')
    assert wrong.returncode != 0
    assert host.power == 'on'


def test_teardown_leaves_no_process(cloud):
    groups = cloud._groups()
    assert len(groups) >= 9      # 5 services + 2 nova + 3 hosts + children
    cloud.down()
    assert cloud.leftovers() == []
    # No process of any group is left running (a zombie whose parent
    # died waits for init to reap it: it holds no resources).
    for pgid in groups:
        listing = subprocess.run(['ps', '-o', 'pid=,stat=,args=', '-g',
                                  str(pgid)], capture_output=True,
                                 text=True).stdout
        running = [line for line in listing.splitlines()
                   if line.split()[1][0] != 'Z']
        assert running == [], 'group %d still runs: %s' % (pgid, running)
