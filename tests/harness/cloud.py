"""A real, small OpenStack on this machine.

keystone, placement, glance and nova-api run under gunicorn;
nova-conductor, nova-scheduler and one nova-compute per host (the fake
virt driver ``fake.FakeDriverWithoutFakeNodes``) run as their own
commands; a neutron stand-in (tests/harness/neutron_standin.py, NOT
neutron) answers nova's port queries. MariaDB holds every database,
RabbitMQ (its own vhost) carries RPC and notifications. Each compute host
is a unit (tests/harness/host.py): its nova-compute and, when asked, its
freezer-dr-agent, powered by an IPMI BMC simulator.

The first start of a cloud creates and seeds the databases (keystone
bootstrap, service users and catalog, two projects with members who have
e-mail addresses, a flavor and an image), then dumps them, with the key
repositories and the image store, into a snapshot under
``~/.cache/freezer-dr/``. Every start restores that snapshot, so each
cloud starts clean and quickly.

    with Cloud(workdir, hosts=3) as cloud:
        nova = cloud.nova()
        ...

Every process runs in its own process group (tests/helpers.py's
:class:`~tests.helpers.Process`), logs to ``<workdir>/logs/<name>.log``,
and is killed on teardown; a reaper process kills them too if the process
that started the cloud dies.
"""

import concurrent.futures
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pymysql

from freezer_dr import signing
from tests.harness import install
from tests.helpers import TOP
from tests.helpers import Process
from tests.helpers import WaitTimeout
from tests.helpers import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
#: Bump when what the snapshot holds changes.
SNAPSHOT_VERSION = '1'
REGION = 'RegionOne'
ADMIN_PASSWORD = 'fdr-cloud-admin'
SERVICE_PASSWORD = 'fdr-cloud-service'
MEMBER_PASSWORD = 'fdr-cloud-member'
BMC_USER = 'admin'
FLAVOR = 'fdr.tiny'
IMAGE = 'fdr-image'
#: The projects and their members (keystone users with e-mail addresses).
PROJECTS = {'demo-a': ['alice', 'bob'], 'demo-b': ['bob', 'carol']}
ADMIN_EMAIL = 'cloud-admin@example.org'
#: freezer-dr's own service user (admin in the service project).
FREEZER_USER = 'freezer-dr'


class CloudError(Exception):
    pass


def email_of(user):
    return '%s@example.org' % user


def _free(port):
    with socket.socket() as s:
        # As the servers do: a port in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def wait_until(condition, timeout, what, interval=0.2):
    """:func:`tests.helpers.wait_for` as the harness waits: an exception
    means "not up yet" (connection refused, 503...), a timeout is a
    CloudError naming the last one."""
    return wait_for(condition, timeout, interval=interval, message=what,
                    retry_on=(Exception,), error=CloudError)


def proc_stat(pid):
    """The fields of ``/proc/<pid>/stat`` after the command name (state
    first, then ppid, pgid, ...; utime and stime are [11] and [12]), or
    None when there is no such process."""
    try:
        with open('/proc/%s/stat' % pid) as f:
            return f.read().rsplit(') ', 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def write_ini(path, sections):
    """Write ``{section: {key: value}}`` as an INI file (oslo.config's
    format), creating its directory."""
    os.makedirs(os.path.dirname(os.path.abspath(str(path))), exist_ok=True)
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for key, value in values.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')


class Host:
    """One compute host: nova-compute (+ freezer-dr-agent) behind a BMC."""

    def __init__(self, cloud, index):
        self.cloud = cloud
        self.name = 'compute-%d' % index
        self.bmc_port = cloud.port_base + 100 + index
        self.bmc_user = BMC_USER
        self.bmc_password = 'bmc-%s-secret' % self.name
        self.dir = os.path.join(cloud.dir, 'hosts', self.name)
        self.status_file = os.path.join(self.dir, 'status.json')
        self.unit = None

    def status(self):
        with open(self.status_file) as f:
            return json.load(f)

    @property
    def power(self):
        return self.status()['power']

    def pids(self):
        return self.status()['pids']

    def kill(self, wait=True):
        """The failure the tests inject: every process of the host is
        SIGKILLed; the BMC still says the power is on. With ``wait``,
        returns once none of them runs."""
        for pid in self.pids().values():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if wait:
            wait_until(lambda: not self.running(), 10,
                       '%s to die' % self.name, interval=0.05)

    def running(self):
        """Names of the host's processes that are alive (not zombies)."""
        return [name for name, pid in self.pids().items()
                if (proc_stat(pid) or ['Z'])[0] != 'Z']

    def ipmitool(self, *command, password=None, check=False):
        """``ipmitool -I lanplus`` against this host's BMC; the password
        (the right one unless given) goes through IPMI_PASSWORD, never the
        command line."""
        env = dict(os.environ, IPMI_PASSWORD=self.bmc_password
                   if password is None else password)
        return subprocess.run(
            ['ipmitool', '-I', 'lanplus', '-H', '127.0.0.1', '-p',
             str(self.bmc_port), '-U', self.bmc_user, '-E', *command],
            capture_output=True, text=True, env=env, timeout=60,
            check=check)


class Cloud:
    """Bring up, use and tear down one cloud.

    :param workdir: where configuration, logs and state go (a new
        directory per cloud).
    :param hosts: how many compute hosts.
    :param agent_config: a freezer-dr configuration file; when given, every
        host also runs ``freezer-dr-agent`` with it (and a file of its own
        naming the host).
    :param name: prefix of the databases and name of the RabbitMQ vhost
        (default: from the port base).
    :param port_base: first port (default 26000 or
        ``FREEZER_DR_CLOUD_PORT_BASE``).
    :param service_down_time: nova's ``service_down_time`` and
        ``report_interval``, ``(down_time, interval)`` in seconds; default
        nova's own (60 s and 10 s: what the benches measure against).
    """

    def __init__(self, workdir, hosts=3, agent_config=None,
                 name=None, port_base=None, log=None,
                 service_down_time=None):
        self.dir = os.path.abspath(str(workdir))
        self.port_base = int(port_base or os.environ.get(
            'FREEZER_DR_CLOUD_PORT_BASE', 26000))
        # Two clouds on one machine need their own ports and names.
        self.name = name or 'fdrcloud%d' % self.port_base
        self.ports = {'keystone': self.port_base,
                      'placement': self.port_base + 1,
                      'nova': self.port_base + 2,
                      'glance': self.port_base + 3,
                      'neutron': self.port_base + 4}
        self.agent_config = agent_config
        self.service_down_time = service_down_time
        self.log = log or (lambda message: None)
        self.etc = os.path.join(self.dir, 'etc')
        self.log_dir = os.path.join(self.dir, 'logs')
        self.hosts = [Host(self, i) for i in range(1, hosts + 1)]
        self.processes = {}
        self.timings = {}
        self._pgid_file = os.path.join(self.dir, 'pgids')
        #: The heartbeat master key (the engines' [bus]
        #: heartbeat_master_key_file); each host's agent signs with its
        #: key derived from it.
        self.heartbeat_master_key_file = os.path.join(self.dir,
                                                      'heartbeat-master.key')
        self._reaper = None
        self._mail = None
        self.venvs = {}

    # -- names ----------------------------------------------------------

    def db(self, service):
        return '%s_%s' % (self.name, service)

    def db_url(self, service):
        return ('mysql+pymysql://root@127.0.0.1/%s?charset=utf8mb4'
                % self.db(service))

    @property
    def vhost(self):
        return self.name

    @property
    def transport_url(self):
        return 'rabbit://guest:guest@127.0.0.1:5672/%s' % self.vhost

    def url(self, service):
        return 'http://127.0.0.1:%d' % self.ports[service]

    @property
    def auth_url(self):
        return self.url('keystone') + '/v3'

    @property
    def databases(self):
        return [self.db(s) for s in ('keystone', 'placement', 'nova_api',
                                     'nova_cell0', 'nova', 'glance')]

    @property
    def snapshot_dir(self):
        digest = hashlib.sha256()
        for path in sorted(install.FREEZE_FILES.values()):
            with open(path, 'rb') as f:
                digest.update(f.read())
        digest.update(SNAPSHOT_VERSION.encode())
        return os.path.join(install.CACHE, 'cloud-snapshot-%s'
                            % digest.hexdigest()[:12])

    def bin(self, venv, command):
        return os.path.join(self.venvs[venv], 'bin', command)

    # -- life cycle -----------------------------------------------------

    def __enter__(self):
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()

    def up(self):
        began = time.monotonic()
        for sub in (self.etc, self.log_dir, os.path.join(self.dir, 'hosts')):
            os.makedirs(sub, exist_ok=True)
        if not os.path.exists(self.heartbeat_master_key_file):
            signing.write_key(self.heartbeat_master_key_file,
                              signing.new_master_key())
        self._start_reaper()
        self.venvs = install.ensure_all(log=self.log)
        self.timings['install_s'] = time.monotonic() - began
        busy = [(n, p) for n, p in self.ports.items() if not _free(p)]
        busy += [(h.name + ' BMC', h.bmc_port) for h in self.hosts
                 if not _free(h.bmc_port)]
        if busy:
            raise CloudError('ports in use (another cloud running? set '
                             'FREEZER_DR_CLOUD_PORT_BASE): %s' % ', '.join(
                                 '%s %d' % b for b in busy))
        self._write_configs()
        phase = time.monotonic()
        snapshot = os.path.join(self.snapshot_dir, 'done')
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            vhost = pool.submit(self._reset_vhost)
            if os.path.exists(snapshot):
                self._restore(pool)
                fresh = False
            else:
                self.log('First start: creating and seeding the databases '
                         '(cached afterwards)')
                self._create(pool)
                fresh = True
            vhost.result()
        self.timings['databases_s'] = time.monotonic() - phase
        phase = time.monotonic()
        self._start_web_services()
        if fresh:
            self._wait_for_web_services()
            self._seed_keystone()
        else:
            # The service users exist: nova's services may start as soon
            # as keystone answers (they retry placement and the database).
            self._wait_for_web_services(('keystone',))
        self._start_nova_services()
        if fresh:
            self._seed_nova_and_glance()
            self._dump()
        # A nova-compute that starts before the conductor consumes its
        # queue loses its first ping and waits 10 s for the reply.
        wait_until(self._conductor_listens, 60, 'nova-conductor to listen')
        self._start_computes()
        self._wait_for_web_services()
        self.timings['web_services_s'] = time.monotonic() - phase
        self._wait_for_computes()
        self.timings['services_s'] = time.monotonic() - phase
        self.timings['startup_s'] = time.monotonic() - began
        self.log('Cloud up in %.1f s: %s' % (
            self.timings['startup_s'],
            ', '.join(h.name for h in self.hosts)))
        return self

    def down(self):
        """Kill every process of the cloud (TERM, then KILL) and check
        that none is left."""
        if self._mail is not None:
            self._mail.stop()
            self._mail = None
        groups = self._groups()
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
        # Up to 10 s to end on SIGTERM; then SIGKILL.
        with contextlib.suppress(WaitTimeout):
            wait_for(lambda: not self.leftovers(), 10,
                     message='the cloud\'s processes to end on SIGTERM')
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(5)
        wait_until(lambda: not self.leftovers(), 10,
                   'the cloud\'s processes to go')
        if self._reaper is not None:
            self._reaper.stdin.close()
            self._reaper.wait(10)
            self._reaper = None

    def leftovers(self):
        """pids of processes of the cloud that still exist."""
        groups = set(self._groups())
        left = []
        for pid in os.listdir('/proc'):
            fields = proc_stat(pid) if pid.isdigit() else None
            if fields and int(fields[2]) in groups and fields[0] != 'Z':
                left.append(int(pid))
        return left

    def _groups(self):
        try:
            with open(self._pgid_file) as f:
                return [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def _register(self, pgid):
        with open(self._pgid_file, 'a') as f:
            f.write('%d\n' % pgid)

    def _start_reaper(self):
        self._reaper = subprocess.Popen(
            [sys.executable, '-m', 'tests.harness.reaper', self._pgid_file],
            stdin=subprocess.PIPE, start_new_session=True, cwd=TOP)

    # -- processes ------------------------------------------------------

    def start(self, name, args, env=None):
        """``args`` as the process ``name`` of the cloud (its group killed
        by :meth:`down` and by the reaper)."""
        proc = Process(name, args, self.log_dir, env=env)
        self._register(proc.pid)
        self.processes[name] = proc
        return proc

    def _gunicorn(self, name, venv, app, port, env, threads=4,
                  pythonpath=None):
        args = [self.bin(venv, 'gunicorn'), '--no-control-socket',
                '--bind', '127.0.0.1:%d' % port, '--workers', '1',
                '--worker-class', 'gthread', '--threads', str(threads),
                '--timeout', '120', '--graceful-timeout', '2',
                '--name', name]
        if pythonpath:
            args += ['--pythonpath', pythonpath]
        return self.start(name, args + [app], env)

    def _start_web_services(self):
        """keystone, placement, glance, nova-api and the neutron stand-in;
        returns when all answer."""
        wsgi = os.path.join(HERE, 'wsgi')
        self._gunicorn('keystone', 'openstack', 'keystone_api:application',
                       self.ports['keystone'],
                       {'OS_KEYSTONE_CONFIG_FILES': self._conf('keystone')},
                       pythonpath=wsgi)
        self._gunicorn('placement', 'openstack',
                       'placement.wsgi.api:application',
                       self.ports['placement'],
                       {'OS_PLACEMENT_CONFIG_DIR':
                        os.path.join(self.etc, 'placement')})
        self._gunicorn('glance', 'glance', 'glance.wsgi.api:application',
                       self.ports['glance'],
                       {'OS_GLANCE_CONFIG_DIR':
                        os.path.join(self.etc, 'glance')})
        self.start('neutron-standin', [sys.executable, '-m',
                                       'tests.harness.neutron_standin',
                                       '--port', str(self.ports['neutron'])])
        self._gunicorn('nova-api', 'openstack', 'nova_api:application',
                       self.ports['nova'],
                       {'OS_NOVA_CONFIG_DIR': os.path.join(self.etc, 'nova')},
                       threads=16, pythonpath=wsgi)

    def _wait_for_web_services(self, services=('keystone', 'placement',
                                               'glance', 'neutron', 'nova')):
        for service in services:
            wait_until(lambda s=service: self._answers(s), 60,
                       '%s to answer' % service)

    def _conductor_listens(self):
        import kombu
        for name in ('nova-conductor', 'nova-scheduler'):
            if not self.processes[name].alive():
                raise CloudError('%s exited: %s' % (
                    name, self.processes[name].log()[-3000:]))
        with kombu.Connection(self.transport_url.replace('rabbit://',
                                                         'amqp://')) as conn:
            channel = conn.channel()
            try:
                _, _, consumers = channel.queue_declare('conductor',
                                                        passive=True)
            except Exception:
                return False
            return consumers > 0

    def _start_nova_services(self):
        nova_conf = self._conf('nova')
        for service in ('nova-conductor', 'nova-scheduler'):
            self.start(service, [self.bin('openstack', service),
                                 '--config-file', nova_conf])

    def _answers(self, service):
        for name, proc in self.processes.items():
            if not proc.alive():
                raise CloudError('%s exited; its log %s ends:\n%s' % (
                    name, proc.log_path, proc.log()[-3000:]))
        with socket.create_connection(('127.0.0.1', self.ports[service]),
                                      timeout=2):
            pass
        return self._http_status(self.url(service) + '/') < 500

    @staticmethod
    def _http_status(url):
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def _start_computes(self):
        nova_conf = self._conf('nova')
        for host in self.hosts:
            os.makedirs(os.path.join(host.dir, 'state'), exist_ok=True)
            own = os.path.join(host.dir, 'nova-compute.conf')
            with open(own, 'w') as f:
                f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                        % (host.name, os.path.join(host.dir, 'state')))
            processes = [{
                'name': 'nova-compute',
                'args': [self.bin('openstack', 'nova-compute'),
                         '--config-file', nova_conf, '--config-file', own],
                'log': os.path.join(self.log_dir,
                                    host.name + '-nova-compute.log'),
                'cwd': TOP}]
            if self.agent_config:
                agent_own = os.path.join(host.dir, 'agent.conf')
                key_file = os.path.join(host.dir, 'agent.key')
                if not os.path.exists(key_file):
                    master = signing.read_key(
                        self.heartbeat_master_key_file, 'master key')
                    signing.write_key(key_file, signing.derive(
                        master, host.name).hex() + '\n')
                with open(agent_own, 'w') as f:
                    f.write('[agent]\nhost = %s\nstate_file = %s\n'
                            'heartbeat_key_file = %s\n' % (
                                host.name, os.path.join(host.dir,
                                                        'agent.json'),
                                key_file))
                processes.append({
                    'name': 'freezer-dr-agent',
                    'args': [os.path.join(os.path.dirname(sys.executable),
                                          'freezer-dr-agent'),
                             '--config-file', self.agent_config,
                             '--config-file', agent_own],
                    'log': os.path.join(self.log_dir,
                                        host.name + '-agent.log'),
                    'cwd': TOP})
            password_file = os.path.join(host.dir, 'bmc-password')
            with open(password_file, 'w') as f:
                f.write(host.bmc_password)
            os.chmod(password_file, 0o600)
            spec = {'name': host.name, 'bmc_port': host.bmc_port,
                    'bmc_user': host.bmc_user,
                    'bmc_password_file': password_file,
                    'status_file': host.status_file,
                    'pgid_file': self._pgid_file,
                    'processes': processes}
            spec_file = os.path.join(host.dir, 'spec.json')
            with open(spec_file, 'w') as f:
                json.dump(spec, f, indent=1)
            host.unit = self.start(host.name + '-bmc', [
                sys.executable, '-m', 'tests.harness.host', '--spec',
                spec_file])

    def _wait_for_computes(self):
        names = {h.name for h in self.hosts}

        def ready():
            for host in self.hosts:
                if not host.unit.alive():
                    raise CloudError('%s exited: %s' % (
                        host.name, host.unit.log()[-2000:]))
            with self._mysql(self.db('nova_api')) as cur:
                cur.execute('SELECT host FROM host_mappings')
                mapped = {row[0] for row in cur.fetchall()}
            if not names <= mapped:
                return False
            up = {s.host for s in self.nova().services.list(
                binary='nova-compute') if s.state == 'up'}
            return names <= up
        wait_until(ready, 90, 'the compute hosts to be up and mapped',
                   interval=0.5)

    # -- databases ------------------------------------------------------

    @contextlib.contextmanager
    def _mysql(self, database=None):
        conn = pymysql.connect(host='127.0.0.1', user='root',
                               database=database, autocommit=True)
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    def _recreate(self, database):
        with self._mysql() as cur:
            cur.execute('DROP DATABASE IF EXISTS `%s`' % database)
            cur.execute('CREATE DATABASE `%s` CHARACTER SET utf8mb4'
                        % database)

    def _run(self, what, args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        result = subprocess.run(args, capture_output=True, text=True,
                                env=full_env, cwd=self.dir)
        if result.returncode:
            raise CloudError('%s failed (%s):\n%s%s' % (
                what, ' '.join(args[:3]), result.stdout[-2000:],
                result.stderr[-3000:]))
        return result.stdout

    def _reset_vhost(self):
        """A new, empty RabbitMQ vhost: nothing from an earlier cloud."""
        def ctl(*args):
            return subprocess.run(['rabbitmqctl', '-q', *args],
                                  capture_output=True, text=True)
        ctl('delete_vhost', self.vhost)
        result = ctl('add_vhost', self.vhost)
        if result.returncode:
            raise CloudError('rabbitmqctl add_vhost failed: %s'
                             % result.stderr)
        ctl('set_permissions', '-p', self.vhost, 'guest', '.*', '.*', '.*')

    def _create(self, pool):
        for database in self.databases:
            self._recreate(database)
        keys = os.path.join(self.dir, 'keys')
        for sub in ('fernet', 'credential'):
            os.makedirs(os.path.join(keys, sub), mode=0o700, exist_ok=True)
        store = os.path.join(self.dir, 'images')
        os.makedirs(store, exist_ok=True)
        ks = [self.bin('openstack', 'keystone-manage'), '--config-file',
              self._conf('keystone')]
        nova = [self.bin('openstack', 'nova-manage'), '--config-file',
                self._conf('nova')]

        def keystone():
            self._run('keystone db_sync', ks + ['db_sync'])
            self._run('fernet_setup', ks + ['fernet_setup',
                                            '--keystone-user', 'root',
                                            '--keystone-group', 'root'])
            self._run('credential_setup', ks + [
                'credential_setup', '--keystone-user', 'root',
                '--keystone-group', 'root'])
            self._run('bootstrap', ks + [
                'bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
                '--bootstrap-region-id', REGION,
                '--bootstrap-admin-url', self.auth_url,
                '--bootstrap-internal-url', self.auth_url,
                '--bootstrap-public-url', self.auth_url])

        def novas():
            self._run('nova api_db sync', nova + ['api_db', 'sync'])
            self._run('map_cell0', nova + [
                'cell_v2', 'map_cell0', '--database_connection',
                self.db_url('nova_cell0')])
            self._run('nova db sync', nova + ['db', 'sync'])
            self._run('create_cell', nova + [
                'cell_v2', 'create_cell', '--name', 'cell1'])

        jobs = [pool.submit(keystone), pool.submit(novas),
                pool.submit(self._run, 'placement db sync', [
                    self.bin('openstack', 'placement-manage'),
                    '--config-file', self._conf('placement'), 'db',
                    'sync']),
                pool.submit(self._run, 'glance db_sync', [
                    self.bin('glance', 'glance-manage'), '--config-file',
                    self._conf('glance'), 'db_sync'])]
        for job in jobs:
            job.result()

    def _dump(self):
        snapshot = self.snapshot_dir
        shutil.rmtree(snapshot, ignore_errors=True)
        os.makedirs(snapshot)
        for database in self.databases:
            with open(os.path.join(snapshot, database + '.sql'), 'w') as f:
                subprocess.run(['mysqldump', '-uroot', '-h127.0.0.1',
                                '--single-transaction', database],
                               stdout=f, check=True)
        for sub in ('keys', 'images'):
            shutil.copytree(os.path.join(self.dir, sub),
                            os.path.join(snapshot, sub))
        with open(os.path.join(snapshot, 'meta.json'), 'w') as f:
            json.dump({'name': self.name, 'ports': self.ports,
                       'vhost': self.vhost}, f)
        with open(os.path.join(snapshot, 'done'), 'w') as f:
            f.write('%s\n' % time.ctime())

    def _restore(self, pool):
        snapshot = self.snapshot_dir

        with open(os.path.join(snapshot, 'meta.json')) as f:
            meta = json.load(f)

        def one(database):
            self._recreate(database)
            dump = database.replace(self.name + '_', meta['name'] + '_', 1)
            with open(os.path.join(snapshot, dump + '.sql')) as f:
                subprocess.run(['mysql', '-uroot', '-h127.0.0.1', database],
                               stdin=f, check=True)
        for sub in ('keys', 'images'):
            shutil.copytree(os.path.join(snapshot, sub),
                            os.path.join(self.dir, sub),
                            dirs_exist_ok=True)
        for sub in ('fernet', 'credential'):
            os.chmod(os.path.join(self.dir, 'keys', sub), 0o700)
        for job in [pool.submit(one, d) for d in self.databases]:
            job.result()
        # The snapshot may come from a cloud of another name and ports:
        # point the catalog and the cell mappings at this one.
        with self._mysql(self.db('keystone')) as cur:
            for service, port in meta['ports'].items():
                cur.execute('UPDATE endpoint SET url = REPLACE(url, %s, %s)',
                            ('127.0.0.1:%d' % port, '@%s@' % service))
            for service, port in self.ports.items():
                cur.execute('UPDATE endpoint SET url = REPLACE(url, %s, %s)',
                            ('@%s@' % service, '127.0.0.1:%d' % port))
        with self._mysql(self.db('nova_api')) as cur:
            cur.execute('UPDATE cell_mappings SET database_connection = '
                        'REPLACE(database_connection, %s, %s), '
                        'transport_url = REPLACE(transport_url, %s, %s)',
                        ('/%s_' % meta['name'], '/%s_' % self.name,
                         '/' + meta['vhost'], '/' + self.vhost))

    # -- configuration --------------------------------------------------

    def _conf(self, service):
        return os.path.join(self.etc, service, {
            'glance': 'glance-api.conf'}.get(service, service + '.conf'))

    def _authtoken(self, user):
        return {'www_authenticate_uri': self.url('keystone'),
                'auth_url': self.url('keystone'),
                'auth_type': 'password',
                'project_domain_name': 'Default',
                'user_domain_name': 'Default',
                'project_name': 'service', 'username': user,
                'password': SERVICE_PASSWORD,
                'region_name': REGION}

    def _write(self, path, sections):
        write_ini(path, sections)

    def _write_configs(self):
        keys = os.path.join(self.dir, 'keys')
        self._write(self._conf('keystone'), {
            'DEFAULT': {'debug': 'false'},
            'database': {'connection': self.db_url('keystone')},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': keys + '/fernet'},
            'fernet_receipts': {'key_repository': keys + '/fernet'},
            'credential': {'key_repository': keys + '/credential'},
            'cache': {'enabled': 'false'},
        })
        self._write(self._conf('placement'), {
            'DEFAULT': {'debug': 'false'},
            'placement_database': {'connection': self.db_url('placement')},
            'api': {'auth_strategy': 'keystone'},
            'keystone_authtoken': self._authtoken('placement'),
        })
        images = os.path.join(self.dir, 'images')
        self._write(self._conf('glance'), {
            'DEFAULT': {'debug': 'false', 'enabled_backends': 'fs:file'},
            'glance_store': {'default_backend': 'fs'},
            'fs': {'filesystem_store_datadir': images + '/store'},
            'os_glance_staging_store': {
                'filesystem_store_datadir': images + '/staging'},
            'os_glance_tasks_store': {
                'filesystem_store_datadir': images + '/tasks'},
            'database': {'connection': self.db_url('glance')},
            'keystone_authtoken': self._authtoken('glance'),
            'paste_deploy': {'flavor': 'keystone'},
            'oslo_concurrency': {'lock_path': self.dir + '/locks'},
        })
        shutil.copy(os.path.join(self.venvs['glance'], 'etc', 'glance',
                                 'glance-api-paste.ini'),
                    os.path.join(self.etc, 'glance'))
        service_auth = self._authtoken('nova')
        del service_auth['www_authenticate_uri']
        service_auth['valid_interfaces'] = 'public'
        nova = {
            'DEFAULT': {
                'debug': 'false',
                'transport_url': self.transport_url,
                'compute_driver': 'fake.FakeDriverWithoutFakeNodes',
                'my_ip': '127.0.0.1',
                'state_path': self.dir + '/nova',
                'heal_instance_info_cache_interval': '-1',
                # The scheduler maps new hosts in its first periodic run,
                # not up to a minute later.
                'periodic_fuzzy_delay': '0',
            },
            'api': {'auth_strategy': 'keystone'},
            'api_database': {'connection': self.db_url('nova_api')},
            'database': {'connection': self.db_url('nova')},
            'keystone_authtoken': self._authtoken('nova'),
            'placement': service_auth,
            'neutron': service_auth,
            'glance': {'region_name': REGION, 'valid_interfaces': 'public'},
            'oslo_concurrency': {'lock_path': self.dir + '/nova/locks'},
            'conductor': {'workers': '1'},
            'scheduler': {'workers': '1',
                          'discover_hosts_in_cells_interval': '1'},
            # Spread concurrent requests over the best hosts instead of
            # stacking them all on the single best one (as operators of
            # clouds with bursts of boots or evacuations do).
            'filter_scheduler': {'host_subset_size': '3',
                                 'shuffle_best_same_weighed_hosts': 'true'},
            'notifications': {'notification_format': 'versioned'},
            'oslo_messaging_notifications': {'driver': 'messagingv2'},
            'wsgi': {'api_paste_config':
                     os.path.join(self.etc, 'nova', 'api-paste.ini')},
            'quota': {'instances': '-1', 'cores': '-1', 'ram': '-1'},
            'vnc': {'enabled': 'false'},
        }
        if self.service_down_time:
            down_time, interval = self.service_down_time
            nova['DEFAULT']['service_down_time'] = str(down_time)
            nova['DEFAULT']['report_interval'] = str(interval)
        self._write(self._conf('nova'), nova)
        shutil.copy(os.path.join(self.venvs['openstack'], 'etc', 'nova',
                                 'api-paste.ini'),
                    os.path.join(self.etc, 'nova'))

    # -- clients --------------------------------------------------------

    def session(self, user='admin', project='admin', password=None):
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3
        if password is None:
            password = {'admin': ADMIN_PASSWORD,
                        FREEZER_USER: SERVICE_PASSWORD}.get(
                            user, MEMBER_PASSWORD)
        auth = v3.Password(auth_url=self.auth_url, username=user,
                           password=password, project_name=project,
                           user_domain_name='Default',
                           project_domain_name='Default')
        return ks_session.Session(auth=auth)

    def nova(self, session=None, version='2.95'):
        from novaclient import client as nova_client
        return nova_client.Client(version, session=session or
                                  self.session(), region_name=REGION)

    def auth_options(self):
        """keystoneauth1 options of freezer-dr's service user, as a
        ``[group]`` of freezer-dr's configuration file holds them."""
        return {'auth_type': 'password', 'auth_url': self.auth_url,
                'username': FREEZER_USER, 'password': SERVICE_PASSWORD,
                'project_name': 'service', 'user_domain_name': 'Default',
                'project_domain_name': 'Default', 'region_name': REGION}

    def credentials_file(self, path):
        """freezer-dr's BMC credentials of every host (our YAML format)."""
        lines = ['hosts:']
        for host in self.hosts:
            lines += ['  %s:' % host.name,
                      '    address: 127.0.0.1',
                      '    port: %d' % host.bmc_port,
                      '    username: %s' % host.bmc_user,
                      '    password: %s' % host.bmc_password]
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.chmod(path, 0o600)
        return path

    def host(self, name):
        return next(h for h in self.hosts if h.name == name)

    def project_id(self, name):
        """The id of keystone project ``name``."""
        return KeystoneAdmin(self.session(), self.auth_url).find('projects',
                                                                 name)

    # -- seeding (first start only) -------------------------------------

    def _seed_keystone(self):
        began = time.monotonic()
        session = self.session()
        ks = KeystoneAdmin(session, self.auth_url)
        service = ks.project('service', 'Service users')
        admin_role = ks.role('admin')
        member_role = ks.role('member')
        ks.role('reader')
        for user in ('nova', 'placement', 'glance', 'neutron',
                     FREEZER_USER):
            uid = ks.user(user, SERVICE_PASSWORD)
            ks.grant(admin_role, uid, service)
        ks.update_user(ks.find('users', 'admin'), email=ADMIN_EMAIL)
        endpoints = {'compute': ('nova', self.url('nova') + '/v2.1'),
                     'placement': ('placement', self.url('placement')),
                     'image': ('glance', self.url('glance')),
                     'network': ('neutron', self.url('neutron'))}
        for kind, (name, url) in endpoints.items():
            sid = ks.service(name, kind)
            for interface in ('public', 'internal', 'admin'):
                ks.endpoint(sid, interface, url)
        for project, members in PROJECTS.items():
            pid = ks.project(project, 'freezer-dr demo project')
            for member in members:
                uid = ks.user(member, MEMBER_PASSWORD, email=email_of(member))
                ks.grant(member_role, uid, pid)
        self.timings['seed_keystone_s'] = time.monotonic() - began

    def _seed_nova_and_glance(self):
        began = time.monotonic()
        session = self.session()
        nova = self.nova(session)
        nova.flavors.create(FLAVOR, ram=64, vcpus=1, disk=1,
                            flavorid='fdr-tiny', is_public=True)
        image = session.post(self.url('glance') + '/v2/images', json={
            'name': IMAGE, 'disk_format': 'raw', 'container_format': 'bare',
            'visibility': 'community'}).json()
        session.put(self.url('glance') + '/v2/images/%s/file' % image['id'],
                    data=b'\0' * 1024,
                    headers={'Content-Type': 'application/octet-stream'})
        wait_until(lambda: session.get(
            self.url('glance') + '/v2/images/%s' % image['id']).json()[
                'status'] == 'active', 30, 'the image to be active')
        self.timings['seed_s'] = time.monotonic() - began

    # -- helpers for tests ----------------------------------------------

    def image_id(self, session=None):
        session = session or self.session()
        images = session.get(
            self.url('glance') + '/v2/images?visibility=community&name=%s'
            % IMAGE).json()['images']
        return images[0]['id']

    def boot(self, count, project='demo-a', user=None, prefix='vm',
             hosts=None, timeout=120, **create):
        """Boot ``count`` instances in ``project`` (spread over ``hosts``,
        round robin, when given) and wait until all are ACTIVE."""
        user = user or PROJECTS[project][0]
        session = self.session(user, project)
        nova = self.nova(session)
        admin = self.nova()
        image = self.image_id(session)
        flavor = admin.flavors.find(name=FLAVOR)
        servers = []
        for i in range(count):
            if hosts:
                # Host targeting is admin-only: the admin boots into the
                # project, as an operator would.
                client = self.nova(self._project_admin_session(project))
                kwargs = {'availability_zone': 'nova:%s'
                          % hosts[i % len(hosts)]}
            else:
                client, kwargs = nova, {}
            kwargs.update(create)
            servers.append(client.servers.create(
                '%s-%d' % (prefix, i), image, flavor, nics='none',
                **kwargs))
        ids = [s.id for s in servers]

        def all_active():
            states = {s.id: s.status for s in admin.servers.list(
                search_opts={'all_tenants': 1})}
            bad = [i for i in ids if states.get(i) == 'ERROR']
            if bad:
                raise CloudError('instances went to ERROR: %s' % bad)
            return all(states.get(i) == 'ACTIVE' for i in ids)
        wait_until(all_active, timeout, '%d instances to be ACTIVE' % count,
                   interval=0.3)
        return [admin.servers.get(i) for i in ids]

    def _project_admin_session(self, project):
        cache = self.__dict__.setdefault('_admin_sessions', {})
        if project not in cache:
            ks = KeystoneAdmin(self.session(), self.auth_url)
            ks.grant(ks.role('admin'), ks.find('users', 'admin'),
                     ks.find('projects', project))
            cache[project] = self.session('admin', project)
        return cache[project]

    def boot_many(self, count, host, project='demo-a', prefix='many',
                  timeout=300):
        """``count`` instances on ``host`` in one request (nova's
        multi-create), waiting until all are ACTIVE."""
        nova = self.nova(self._project_admin_session(project))
        flavor = self.nova().flavors.find(name=FLAVOR)
        nova.servers.create(
            prefix, self.image_id(), flavor, nics='none', min_count=count,
            max_count=count, availability_zone='nova:%s' % host)
        admin = self.nova()

        def active():
            # nova names them <prefix>-1 ... <prefix>-<count>.
            servers = admin.servers.list(search_opts={
                'all_tenants': True, 'name': '^%s-[0-9]+$' % prefix})
            if any(s.status == 'ERROR' for s in servers):
                raise CloudError('instances went to ERROR')
            return (len(servers) == count and
                    all(s.status == 'ACTIVE' for s in servers) and servers)
        return wait_until(active, timeout, '%d instances ACTIVE' % count,
                          interval=0.5)

    def revive(self, host, timeout=90):
        """Bring a killed or powered-off host back as an operator would:
        power cycle it through its BMC, clear nova's force-down, enable its
        compute service, and wait until nova says it is up."""
        host = self.host(host) if isinstance(host, str) else host
        host.ipmitool('power', 'off', check=True)
        host.ipmitool('power', 'on', check=True)
        nova = self.nova(version='2.53')

        def unforced():
            # nova refuses while the evacuations from the host are 'done'
            # and not yet 'completed' (the restarted compute does that).
            for service in nova.services.list(host=host.name,
                                              binary='nova-compute'):
                if service.forced_down:
                    nova.services.force_down(service.id, False)
            return True
        wait_until(unforced, timeout, 'nova to take %s back' % host.name,
                   interval=0.5)
        # Enabled only once nova sees the compute up: nova's API then tells
        # the compute at once (an RPC) to drop the COMPUTE_STATUS_DISABLED
        # trait the scheduler's placement query excludes; enabled while the
        # compute is still down, the trait stays until the compute's next
        # periodic resource update (up to 60 s).
        wait_until(lambda: all(
            s.state == 'up' for s in nova.services.list(
                host=host.name, binary='nova-compute')),
                   timeout, '%s to be up in nova' % host.name, interval=0.5)

        def enabled():
            for service in nova.services.list(host=host.name,
                                              binary='nova-compute'):
                if service.status == 'disabled':
                    nova.services.enable(service.id)
            return True
        wait_until(enabled, timeout, 'nova to enable %s' % host.name,
                   interval=0.5)
        try:
            wait_until(lambda: not self._disabled_trait(host.name), 10,
                       'placement to take %s back' % host.name,
                       interval=0.5)
        except CloudError:
            # Enabled before this call (by the engine's re-arm, say) while
            # the compute was down: disable and enable again, now that the
            # compute hears nova's API.
            for service in nova.services.list(host=host.name,
                                              binary='nova-compute'):
                nova.services.disable(service.id)
                nova.services.enable(service.id)
            wait_until(lambda: not self._disabled_trait(host.name),
                       timeout, 'placement to take %s back' % host.name,
                       interval=0.5)

    def _disabled_trait(self, name):
        """Whether placement's resource provider of host ``name`` has
        the COMPUTE_STATUS_DISABLED trait."""
        from keystoneauth1 import adapter
        placement = adapter.Adapter(self.session(), service_type='placement',
                                    region_name=REGION,
                                    default_microversion='1.6')
        found = placement.get('/resource_providers', params={
            'name': name}).json()['resource_providers']
        if not found:
            return True
        traits = placement.get('/resource_providers/%s/traits'
                               % found[0]['uuid']).json()['traits']
        return 'COMPUTE_STATUS_DISABLED' in traits

    def delete_all_servers(self, timeout=60):
        nova = self.nova()
        servers = nova.servers.list(search_opts={'all_tenants': True})
        for server in servers:
            nova.servers.delete(server.id)
        wait_until(lambda: not nova.servers.list(
            search_opts={'all_tenants': True}), timeout,
                   'every instance to be deleted', interval=0.5)

    def mail(self):
        """The SMTP sink (started on first use): ``.port``, ``.messages``."""
        if self._mail is None:
            from tests.harness import smtp
            self._mail = smtp.MailSink()
            self._mail.start()
        return self._mail


class KeystoneAdmin:
    """The few keystone v3 admin calls the seeding needs, idempotent."""

    def __init__(self, session, auth_url):
        self.s = session
        self.url = auth_url

    def find(self, kind, name):
        found = self.s.get('%s/%s?name=%s' % (self.url, kind, name)).json()[
            kind]
        return found[0]['id'] if found else None

    def _create(self, kind, body):
        key = kind[:-1]
        return self.s.post('%s/%s' % (self.url, kind),
                           json={key: body}).json()[key]['id']

    def project(self, name, description):
        return self.find('projects', name) or self._create(
            'projects', {'name': name, 'domain_id': 'default',
                         'description': description})

    def role(self, name):
        return self.find('roles', name) or self._create('roles',
                                                        {'name': name})

    def user(self, name, password, email=None):
        body = {'name': name, 'password': password, 'domain_id': 'default'}
        if email:
            body['email'] = email
        return self.find('users', name) or self._create('users', body)

    def update_user(self, uid, **values):
        self.s.patch('%s/users/%s' % (self.url, uid), json={'user': values})

    def grant(self, role, user, project):
        self.s.put('%s/projects/%s/users/%s/roles/%s'
                   % (self.url, project, user, role))

    def service(self, name, kind):
        return self.find('services', name) or self._create(
            'services', {'name': name, 'type': kind})

    def endpoint(self, service, interface, url):
        self._create('endpoints', {'service_id': service,
                                   'interface': interface, 'url': url,
                                   'region_id': REGION})
