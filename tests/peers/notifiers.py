"""Real peers of the notifiers, on loopback: an SMTP server (aiosmtpd),
an HTTP server (http.server), a RabbitMQ notification listener
(oslo.messaging); a self-signed certificate made on the spot; reports to
send; a small contacts directory standing in for keystone."""

import datetime
import email
import email.policy
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
import typing
import uuid

from aiosmtpd import controller as smtp_controller
from aiosmtpd import smtp as aiosmtpd_smtp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from oslo_config import cfg
import oslo_messaging

from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import contacts


def free_port():
    """A TCP port nobody listens on now (aiosmtpd cannot bind port 0
    itself: it must know the port to check that its server started)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def closed_port():
    """A port that refuses connections (nobody listens on it)."""
    return free_port()


def make_conf(tmp_path, sections, name='notifier.conf'):
    """A fresh ConfigOpts read from a file with ``sections``
    (``{group: {option: value}}``)."""
    path = tmp_path / name
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for option, value in values.items():
                f.write('%s = %s\n' % (option, value))
    conf = cfg.ConfigOpts()
    conf(['--config-file', str(path)], project='freezer-dr',
         default_config_files=[], default_config_dirs=[])
    return conf


# -- reports ---------------------------------------------------------------

def report(recovered=True, host=None, projects=('p-alpha', 'p-beta')):
    """A report of ``host`` with two instances in the first project and
    one in each other; when not ``recovered`` the evacuation failed for
    the second instance of the first project."""
    host = host or 'fdrtest-compute-' + uuid.uuid4().hex[:6]
    now = time.time()
    instances = []
    for n, project in enumerate(projects):
        count = 2 if n == 0 else 1
        for k in range(count):
            ok = recovered or not (n == 0 and k == 1)
            instances.append(base.InstanceResult(
                id=str(uuid.uuid4()), ok=ok,
                detail=('ACTIVE on compute-%d' % (n + 2)) if ok
                else 'no valid host was found',
                name='vm-%s-%d' % (project, k), project_id=project,
                target_host=('compute-%d' % (n + 2)) if ok else '',
                status='ACTIVE'))
    moved = sum(1 for i in instances if i.ok)
    steps = [base.StepReport('fence', 'done',
                             'power off confirmed by the BMC', 1.1),
             base.StepReport('isolate', 'done', 'nova service forced down',
                             0.2)]
    if recovered:
        steps.append(base.StepReport('evacuate', 'done', '%d instances '
                                     'evacuated' % moved, 0.6))
        summary = ('Host %s was declared dead (heartbeats overdue), fenced, '
                   'and %d of %d instances were evacuated.'
                   % (host, moved, len(instances)))
    else:
        steps.append(base.StepReport('evacuate', 'failed', '1 of %d '
                                     'instances not evacuated'
                                     % len(instances), 0.6))
        summary = ('Host %s could NOT be recovered: step evacuate failed. '
                   'An operator must act.' % host)
    return base.RecoveryReport(
        host=host, incarnation='boot-' + uuid.uuid4().hex[:6],
        reason='heartbeats overdue (phi 8.1)', recovered=recovered,
        failed_step='' if recovered else 'evacuate', summary=summary,
        steps=tuple(steps), instances=tuple(instances),
        started_at=now - 3.0, finished_at=now)


class Directory:
    """Contacts of the projects (what keystone would answer)."""

    def __init__(self, members=None):
        self.members = members if members is not None else {
            'p-alpha': ('alice@alpha.example', 'bob@alpha.example'),
            'p-beta': ('carol@beta.example',),
        }
        self.asked = []

    def project(self, project_id):
        self.asked.append(project_id)
        if project_id not in self.members:
            raise contacts.ContactsError('no project %s' % project_id)
        return contacts.Project(project_id, 'Project ' + project_id.upper(),
                                tuple(self.members[project_id]))


# -- TLS -------------------------------------------------------------------

def self_signed(tmp_path):
    """A self-signed certificate for 127.0.0.1 (its own CA); returns
    (cert_file, key_file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         'fdrtest 127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public),
                           critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / 'smtp-cert.pem', tmp_path / 'smtp-key.pem'
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def server_tls(cert_file, key_file):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


# -- SMTP ------------------------------------------------------------------

class Mail(typing.NamedTuple):
    sender: str
    recipients: list
    message: object         # email.message.EmailMessage
    login: str              # the user that logged in ('' for none)
    tls: bool

    @property
    def subject(self):
        return str(self.message['Subject'])

    @property
    def body(self):
        return self.message.get_content().replace('\r\n', '\n')

    @property
    def text(self):
        return self.subject + '\n' + self.body


class _Inbox:
    def __init__(self):
        self.mails = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content,
                                           policy=email.policy.default)
        login = session.auth_data.login if session.authenticated else b''
        tls = server.transport.get_extra_info('ssl_object') is not None
        with self.lock:
            self.mails.append(Mail(
                envelope.mail_from, list(envelope.rcpt_tos), message,
                login.decode() if isinstance(login, bytes) else login, tls))
        return '250 OK'


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with a free port. ``users`` (``{user:
    password}``) requires a login; ``tls`` (a server SSLContext) offers
    and requires STARTTLS, or with ``implicit_tls`` speaks TLS from the
    first byte (SMTPS)."""

    def __init__(self, users=None, tls=None, implicit_tls=False):
        self.users = users or {}
        self.port = free_port()
        self.inbox = _Inbox()
        kwargs = {}
        if self.users:
            kwargs.update(authenticator=self._authenticate,
                          auth_required=True,
                          auth_require_tls=tls is not None)
        if tls is not None and implicit_tls:
            kwargs['ssl_context'] = tls
        elif tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        self._controller = smtp_controller.Controller(
            self.inbox, hostname='127.0.0.1', port=self.port,
            ready_timeout=10, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism,
                      auth_data):
        login = auth_data.login.decode()
        password = auth_data.password.decode()
        ok = self.users.get(login) == password
        return aiosmtpd_smtp.AuthResult(success=ok, handled=False,
                                        auth_data=auth_data)

    def start(self):
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    @property
    def mails(self):
        with self.inbox.lock:
            return list(self.inbox.mails)

    def mails_about(self, host):
        return [m for m in self.mails if host in m.subject]


# -- HTTP ------------------------------------------------------------------

class HttpServer:
    """A loopback HTTP server recording every POST; answers ``status``."""

    def __init__(self, status=200, answer=b'ok', delay=0.0):
        self.status, self.answer, self.delay = status, answer, delay
        self.requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                with server.lock:
                    server.requests.append((self.path, dict(self.headers),
                                            body))
                if server.delay:
                    time.sleep(server.delay)
                self.send_response(server.status)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', str(len(server.answer)))
                self.end_headers()
                self.wfile.write(server.answer)

            def log_message(self, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)

    def url(self, path='/hook', user=None, password=None):
        auth = '%s:%s@' % (user, password) if user else ''
        return 'http://%s127.0.0.1:%d%s' % (auth, self.port, path)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def posted(self):
        with self.lock:
            return [(path, headers, json.loads(body))
                    for path, headers, body in self.requests]


# -- RabbitMQ ----------------------------------------------------------------

class BusListener:
    """An oslo.messaging notification listener on ``topic`` of
    ``exchange`` (no pool: it reads the queues ``<topic>.info`` and
    ``<topic>.error`` that the notifier declares, so nothing published
    before it started is lost), collecting ``(priority, publisher_id,
    event_type, payload)``."""

    def __init__(self, url, exchange, topic):
        conf = cfg.ConfigOpts()
        conf([], project='fdrtest', default_config_files=[],
             default_config_dirs=[])
        self.transport = oslo_messaging.get_notification_transport(conf,
                                                                   url=url)
        self.received = []
        self.lock = threading.Lock()
        listener = self

        class Endpoint:
            def _keep(self, priority, publisher_id, event_type, payload):
                with listener.lock:
                    listener.received.append((priority, publisher_id,
                                              event_type, payload))

            def info(self, ctxt, publisher_id, event_type, payload,
                     metadata):
                self._keep('INFO', publisher_id, event_type, payload)

            def error(self, ctxt, publisher_id, event_type, payload,
                      metadata):
                self._keep('ERROR', publisher_id, event_type, payload)

        self._listener = oslo_messaging.get_notification_listener(
            self.transport,
            [oslo_messaging.Target(topic=topic, exchange=exchange)],
            [Endpoint()], executor='threading')

    def start(self):
        self._listener.start()
        return self

    def stop(self):
        self._listener.stop()
        self._listener.wait()
        self.transport.cleanup()

    def about(self, host):
        with self.lock:
            return [r for r in self.received
                    if json.dumps(r[3]).find(host) >= 0]
