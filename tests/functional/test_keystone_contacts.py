"""Project contacts from keystone.

The real proof runs against a real keystone: the cloud harness's
(``openstack`` fixture), or any other given through these environment
variables:

``FREEZER_DR_TEST_KEYSTONE_URL``
    keystone's auth URL, e.g. ``http://127.0.0.1/identity/v3`` or
    ``http://127.0.0.1:5000/v3``
``FREEZER_DR_TEST_KEYSTONE_PASSWORD``
    the admin user's password (required)
``FREEZER_DR_TEST_KEYSTONE_USER``
    an admin user (default ``admin``)
``FREEZER_DR_TEST_KEYSTONE_PROJECT``
    a project on which that user has the admin role (default ``admin``)
``FREEZER_DR_TEST_KEYSTONE_DOMAIN``
    the domain of that user and project, and of what the test creates
    (default ``Default``)
``FREEZER_DR_TEST_KEYSTONE_ROLE``
    the role given to the test's members (default ``member``)
``FREEZER_DR_TEST_KEYSTONE_INTERFACE``
    the catalog interface to reach keystone by (default ``public``)

It creates a project ``fdrtest-<uuid>`` with users holding a role directly,
through a group, without an email address, disabled, and one whose default
project it is without any role; it deletes them all afterwards.

Without those variables only the parsing is checked, against a
keystone-shaped stub on loopback (two canned answers: that proves the
request we send and how we read the answer, not that keystone agrees).
"""

import http.server
import json
import os
import threading
from urllib import parse
import uuid

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
import pytest

from freezer_dr.drivers.notifiers import contacts
from freezer_dr.drivers.notifiers import mail
from tests.peers import notifiers as peers

ENV = os.environ.get
KEYSTONE_URL = ENV('FREEZER_DR_TEST_KEYSTONE_URL')
DOMAIN = ENV('FREEZER_DR_TEST_KEYSTONE_DOMAIN', 'Default')
INTERFACE = ENV('FREEZER_DR_TEST_KEYSTONE_INTERFACE', 'public')

_REAL = {}


@pytest.fixture
def real_keystone(request):
    """The keystone of the environment variables, or else the cloud
    harness's."""
    if KEYSTONE_URL and ENV('FREEZER_DR_TEST_KEYSTONE_PASSWORD'):
        _REAL.update(url=KEYSTONE_URL,
                     password=ENV('FREEZER_DR_TEST_KEYSTONE_PASSWORD'))
    else:
        from tests.harness import cloud as harness
        cloud = request.getfixturevalue('openstack')
        _REAL.update(url=cloud.auth_url, password=harness.ADMIN_PASSWORD)
    return _REAL


needs_keystone = pytest.mark.usefixtures('real_keystone')


# -- against a real keystone -------------------------------------------------

def admin_options():
    return {
        'auth_type': 'password', 'auth_url': _REAL['url'],
        'username': ENV('FREEZER_DR_TEST_KEYSTONE_USER', 'admin'),
        'password': _REAL['password'],
        'project_name': ENV('FREEZER_DR_TEST_KEYSTONE_PROJECT', 'admin'),
        'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN,
        'interface': INTERFACE}


class Keystone:
    """Just enough of keystone's v3 API to set a project up."""

    def __init__(self):
        options = admin_options()
        auth = v3.Password(**{k: options[k] for k in (
            'auth_url', 'username', 'password', 'project_name',
            'user_domain_name', 'project_domain_name')})
        self.session = ks_session.Session(auth=auth)
        self.filter = {'service_type': 'identity', 'interface': INTERFACE,
                       'version': (3, 0)}
        self.undo = []
        domains = self.get('/domains?name=%s' % parse.quote(DOMAIN))
        self.domain = domains['domains'][0]['id']

    def get(self, path):
        return self.session.get(path, endpoint_filter=self.filter).json()

    def create(self, kind, body):
        plural = kind + 's'
        made = self.session.post('/' + plural, json={kind: body},
                                 endpoint_filter=self.filter).json()[kind]
        self.undo.append('/%s/%s' % (plural, made['id']))
        return made

    def put(self, path):
        self.session.put(path, endpoint_filter=self.filter)

    def cleanup(self):
        for path in reversed(self.undo):
            if path.startswith('/projects/'):
                # A project must be disabled before it is deleted (older
                # keystones).
                self.session.patch(path, json={'project': {
                    'enabled': False}}, endpoint_filter=self.filter,
                    raise_exc=False)
            self.session.delete(path, endpoint_filter=self.filter,
                                raise_exc=False)


@pytest.fixture
def keystone_project(real_keystone):
    """A project with members of every kind; yields (project, expected
    addresses)."""
    keystone = Keystone()
    try:
        tag = uuid.uuid4().hex[:8]
        role_name = ENV('FREEZER_DR_TEST_KEYSTONE_ROLE', 'member')
        role = keystone.get('/roles?name=%s' % role_name)['roles'][0]['id']
        project = keystone.create('project', {
            'name': 'fdrtest-' + tag, 'domain_id': keystone.domain})
        elsewhere = keystone.create('project', {
            'name': 'fdrtest-other-' + tag, 'domain_id': keystone.domain})

        def user(name, **extra):
            body = {'name': 'fdrtest-%s-%s' % (name, tag),
                    'domain_id': keystone.domain,
                    'password': uuid.uuid4().hex}
            body.update(extra)
            return keystone.create('user', body)

        def grant(actor, actor_id):
            keystone.put('/projects/%s/%s/%s/roles/%s' % (
                project['id'], actor, actor_id, role))

        direct = user('direct', email='direct-%s@fdrtest.example' % tag,
                      default_project_id=elsewhere['id'])
        grant('users', direct['id'])
        in_group = user('grouped', email='grouped-%s@fdrtest.example' % tag)
        group = keystone.create('group', {'name': 'fdrtest-group-' + tag,
                                          'domain_id': keystone.domain})
        keystone.put('/groups/%s/users/%s' % (group['id'], in_group['id']))
        grant('groups', group['id'])
        grant('users', user('noemail')['id'])
        grant('users', user('disabled', enabled=False,
                            email='disabled-%s@fdrtest.example' % tag)['id'])
        # Its default project, but no role on it: not a member.
        user('defaultonly', default_project_id=project['id'],
             email='defaultonly-%s@fdrtest.example' % tag)
        yield project, (direct['email'], in_group['email'])
    finally:
        keystone.cleanup()


@needs_keystone
def test_members_with_any_role_directly_or_by_group(keystone_project,
                                                    tmp_path):
    project, expected = keystone_project
    conf = peers.make_conf(tmp_path, {'keystone_contacts': admin_options()})
    mail.keystone_contacts_conf.register_opts(conf)
    directory = contacts.ProjectContacts.from_conf(conf)
    found = directory.project(project['id'])
    assert found.name == project['name']
    assert found.addresses == tuple(sorted(expected))
    assert found.note == '1 users without an email address, 1 disabled ' \
        'users'


@needs_keystone
def test_the_email_notifier_mails_the_members_keystone_names(
        keystone_project, tmp_path):
    project, expected = keystone_project
    server = peers.SmtpServer().start()
    try:
        conf = peers.make_conf(tmp_path, {
            'keystone_contacts': admin_options(),
            'email': {'smtp_host': '127.0.0.1', 'smtp_port': server.port,
                      'security': 'none', 'admins': 'ops@fdrtest.example'}})
        notifier = mail.EmailNotifier(conf=conf)
        report = peers.report(projects=(project['id'],))
        notifier.notify(report)
        recipients = sorted(tuple(sorted(m.recipients))
                            for m in server.mails_about(report.host))
        assert recipients == sorted([tuple(sorted(expected)),
                                     ('ops@fdrtest.example',)])
    finally:
        server.stop()


# -- the request and the parsing, against a stub ------------------------------

class StubKeystone:
    """Answers role_assignments and users as keystone's v3 API does."""

    def __init__(self, assignments, users):
        self.queries = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = parse.urlsplit(self.path)
                if url.path == '/v3/role_assignments':
                    stub.queries.append(url.query)
                    body = {'role_assignments': assignments, 'links': {}}
                elif url.path.startswith('/v3/users/'):
                    user = users.get(url.path.rsplit('/', 1)[1])
                    if user is None:
                        self.send_error(404)
                        return
                    body = {'user': user}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     Handler)
        self.url = 'http://127.0.0.1:%d/v3' % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def assignment(user_id, project_id='p-1', name='Project One'):
    return {'role': {'id': 'r', 'name': 'member'},
            'scope': {'project': {'id': project_id, 'name': name,
                                  'domain': {'id': 'default'}}},
            'user': {'id': user_id, 'name': 'user-' + user_id,
                     'domain': {'id': 'default'}}}


def test_the_request_and_the_parsing_against_a_stub():
    stub = StubKeystone(
        [assignment('u1'), assignment('u2'), assignment('u1'),
         assignment('u3'), assignment('u4'), assignment('gone')],
        {'u1': {'id': 'u1', 'email': 'one@example.org', 'enabled': True},
         'u2': {'id': 'u2', 'email': 'two@example.org'},
         'u3': {'id': 'u3', 'enabled': True},
         'u4': {'id': 'u4', 'email': 'four@example.org', 'enabled': False}})
    try:
        directory = contacts.ProjectContacts(ks_session.Session(),
                                             endpoint_override=stub.url)
        found = directory.project('p-1')
    finally:
        stub.stop()
    assert found == contacts.Project(
        'p-1', 'Project One', ('one@example.org', 'two@example.org'),
        '1 users without an email address, 1 disabled users')
    [query] = stub.queries
    assert query == 'scope.project.id=p-1&effective&include_names'


def test_a_project_without_assignments_is_an_error():
    stub = StubKeystone([], {})
    try:
        directory = contacts.ProjectContacts(ks_session.Session(),
                                             endpoint_override=stub.url)
        with pytest.raises(contacts.ContactsError) as raised:
            directory.project('p-deleted')
    finally:
        stub.stop()
    assert 'no role assignment on project p-deleted' in str(raised.value)


def test_keystone_down_is_a_clear_error():
    directory = contacts.ProjectContacts(
        ks_session.Session(),
        endpoint_override='http://127.0.0.1:%d/v3' % peers.closed_port())
    with pytest.raises(contacts.ContactsError) as raised:
        directory.project('p-1')
    assert str(raised.value).startswith(
        'keystone: GET /role_assignments failed: ConnectFailure')


def test_no_auth_type_means_no_directory(tmp_path):
    conf = peers.make_conf(tmp_path, {'keystone_contacts': {
        'interface': 'internal'}})
    mail.keystone_contacts_conf.register_opts(conf)
    assert contacts.ProjectContacts.from_conf(conf) is None
