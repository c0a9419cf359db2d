"""Fixtures of the functional tests only (those they share with the
contract suites, ``rabbit`` and ``processes``, are in tests/conftest.py):
a test's freezer-dr deployment on RabbitMQ (``make_cloud``), journal
databases on sqlite and the machine's PostgreSQL and MariaDB (``url``,
``journal``, ``db_url``), a directory for the test plugins
(``plugin_dir``), and the real OpenStack of tests/harness (``openstack``,
``cloud_hosts``).
"""

import uuid

import pytest
import sqlalchemy as sa

from freezer_dr.journal import api
from freezer_dr.journal import schema
from tests.functional import deployment
from tests.helpers import TOP
from tests.peers import tcpproxy

POSTGRES = 'postgresql+psycopg2://postgres@127.0.0.1:5432/'
MARIADB = 'mysql+pymysql://root@127.0.0.1:3306/'


@pytest.fixture
def make_cloud(tmp_path, rabbit):
    """``make_cloud(section__option=value, ...)``: a deployment of the test's
    own (tests/functional/deployment.py) with those settings."""
    def make(**options):
        return deployment.Cloud(tmp_path, rabbit, **options)
    return make


# -- journal databases -------------------------------------------------------

def _server_database(admin_url, name, create, drop):
    admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT')
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(create % name))
    except sa.exc.OperationalError as exc:
        pytest.fail('database server at %s is not available: %s'
                    % (admin_url, exc))
    yield admin_url.rsplit('/', 1)[0] + '/' + name
    with admin.connect() as conn:
        conn.execute(sa.text(drop % name))
    admin.dispose()


def _database(kind, name, sqlite_path):
    """The URL of a new database ``name`` of ``kind``, dropped after."""
    if kind == 'sqlite':
        yield 'sqlite:///%s' % sqlite_path
    elif kind == 'postgresql':
        yield from _server_database(POSTGRES + 'postgres', name,
                                    'CREATE DATABASE %s',
                                    'DROP DATABASE %s WITH (FORCE)')
    else:
        yield from _server_database(MARIADB, name, 'CREATE DATABASE %s',
                                    'DROP DATABASE %s')


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def url(request, tmp_path):
    """An empty journal database (its sqlite file in a directory that does
    not exist yet)."""
    yield from _database(request.param, 'fdrtest_' + uuid.uuid4().hex[:8],
                         tmp_path / 'journal' / 'freezer-dr.sqlite')


@pytest.fixture
def journal(url):
    """The journal on ``url``, its schema synced."""
    engine = schema.engine_for(url)
    schema.sync(engine)
    yield api.Journal(engine)
    engine.dispose()


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def db_url(request, tmp_path):
    """A journal database of this test's own for the commands (synced by
    ``freezer-dr-manage db sync``), dropped after it."""
    yield from _database(request.param,
                         'fdr_engine_' + uuid.uuid4().hex[:8],
                         tmp_path / 'journal.sqlite')


@pytest.fixture(params=['sqlite', 'postgresql', 'redis'])
def coordinated(request, tmp_path):
    """``(journal URL, [coordination] backend_url or '')`` of engines that
    share a journal: sqlite with its default (file:// beside it);
    PostgreSQL with its default (tooz's PostgreSQL driver on the same
    database); the machine's redis (a namespace of the test's own) beside
    a sqlite journal."""
    if request.param == 'redis':
        yield ('sqlite:///%s' % (tmp_path / 'journal.sqlite'),
               'redis://127.0.0.1:6379?namespace=%s' % tmp_path.name)
        return
    for url in _database(request.param, 'fdr_lead_' + uuid.uuid4().hex[:8],
                         tmp_path / 'journal.sqlite'):
        yield url, ''


@pytest.fixture
def journal_behind_proxy():
    """``(journal URL, proxy)``: a PostgreSQL journal of the test's own,
    reached through a TCP proxy the test can cut (tests/peers/tcpproxy)."""
    for url in _database('postgresql', 'fdr_cut_' + uuid.uuid4().hex[:8],
                         None):
        proxy = tcpproxy.TcpProxy(('127.0.0.1', 5432))
        try:
            yield url.replace('@127.0.0.1:5432/',
                              '@127.0.0.1:%d/' % proxy.port), proxy
        finally:
            proxy.close()


@pytest.fixture
def sqlite_url(tmp_path):
    """A sqlite journal in the test's directory (not created yet)."""
    return 'sqlite:///%s' % (tmp_path / 'journal.sqlite')


@pytest.fixture
def make_database(tmp_path):
    """``make_database(kind)``: the URL of a new journal database of that
    kind (sqlite, postgresql, mariadb), dropped after the test."""
    made = []

    def make(kind):
        made.append(_database(kind, 'fdr_db_' + uuid.uuid4().hex[:8],
                              tmp_path / 'journal.sqlite'))
        return next(made[-1])
    yield make
    for generator in made:
        for _ in generator:
            pass


@pytest.fixture
def postgresql_url():
    """A PostgreSQL journal database of the test's own, dropped after."""
    yield from _database('postgresql', 'fdr_pg_' + uuid.uuid4().hex[:8],
                         None)


# -- test plugins ------------------------------------------------------------

@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """Where the test plugins (tests/functional/plugins.py) of the commands
    the test starts keep what they did, and find their gates."""
    directory = tmp_path / 'plugins'
    directory.mkdir()
    monkeypatch.setenv('FREEZER_DR_TEST_PLUGINS_DIR', str(directory))
    # The commands import the plugins from this tree.
    monkeypatch.setenv('PYTHONPATH', TOP)
    return directory


# -- the cloud harness -------------------------------------------------------

@pytest.fixture(scope='session')
def openstack(tmp_path_factory, rabbit):
    """The real OpenStack of tests/harness (4 compute hosts), started once
    for the session on first use. Tests that kill hosts revive them."""
    from tests.harness import cloud as harness
    workdir = tmp_path_factory.mktemp('openstack')
    # nova takes a killed compute for down after 30 s, not 60 s (the
    # benches keep nova's default): the tests that wait for nova's word
    # wait half as long, and a compute still has to miss six reports in a
    # row to be taken for down.
    cloud = harness.Cloud(workdir / 'cloud', hosts=4, log=print,
                          service_down_time=(30, 5))
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
