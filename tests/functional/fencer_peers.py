"""Real peers for the fencers, on loopback: sushy-tools' Redfish emulator
(one process per host, each with its own libvirt ``test:///default``
domain) and libvirt's test driver in this process. The IPMI peer is the BMC
simulator of :mod:`tests.functional.test_ipmi`.
"""

import socket
import subprocess
import uuid

import bcrypt
import libvirt
import requests

from tests.functional import conftest as fx

# The one domain of libvirt's test:///default, as sushy-emulator shows it.
TEST_DOMAIN_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f'


def free_tcp_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def self_signed_certificate(directory):
    """``(certificate, key)`` paths of a certificate for 127.0.0.1."""
    cert, key = directory / 'redfish.crt', directory / 'redfish.key'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


class RedfishEmulator:
    """``sushy-emulator --libvirt-uri test:///default`` on 127.0.0.1 with
    HTTP basic authentication (user admin), one ComputerSystem, powered
    on; ForceOff takes effect at once."""

    def __init__(self, processes, tmp_path, name, tls=None):
        self.port = free_tcp_port()
        self.username = 'admin'
        self.password = 'rf-s3cret-' + uuid.uuid4().hex[:6]
        users = tmp_path / (name + '-htpasswd')
        users.write_text('%s:%s\n' % (self.username, bcrypt.hashpw(
            self.password.encode(), bcrypt.gensalt(4)).decode()))
        config = tmp_path / (name + '-emulator.conf')
        config.write_text('SUSHY_EMULATOR_AUTH_FILE = %r\n' % str(users))
        args = [fx.command('sushy-emulator'), '--config', str(config),
                '-i', '127.0.0.1', '-p', str(self.port),
                '--libvirt-uri', 'test:///default']
        scheme = 'http'
        if tls:
            args += ['--ssl-certificate', tls[0], '--ssl-key', tls[1]]
            scheme = 'https'
        self.url = '%s://127.0.0.1:%d' % (scheme, self.port)
        self.tls = tls
        self.system = '/redfish/v1/Systems/' + TEST_DOMAIN_UUID
        self.process = processes.start('redfish-' + name, args)
        fx.wait_for(self._answers, 30, message='sushy-emulator on port %d'
                    % self.port)

    def _request(self, method, path, **kwargs):
        return requests.request(method, self.url + path, timeout=10,
                                auth=(self.username, self.password),
                                verify=self.tls[0] if self.tls else True,
                                **kwargs)

    def _answers(self):
        if not self.process.alive():
            raise AssertionError('sushy-emulator exited:\n'
                                 + self.process.log())
        try:
            return self._request('GET', self.system).status_code == 200
        except requests.RequestException:
            return False

    def power(self):
        """'on' or 'off', as the emulator reports it."""
        response = self._request('GET', self.system)
        response.raise_for_status()
        return response.json()['PowerState'].lower()

    def force_off(self):
        self._request('POST', self.system + '/Actions/ComputerSystem.Reset',
                      json={'ResetType': 'ForceOff'}).raise_for_status()
        fx.wait_for(lambda: self.power() == 'off', 10,
                    message='the emulated system off')


class LibvirtTestDriver:
    """libvirt's test driver, ``test:///default``: one hypervisor per
    process, which lives while a connection to it is open. This keeps one
    open; each host is a domain of its own (unique name), removed at the
    end."""

    URI = 'test:///default'

    def __init__(self):
        self.connection = libvirt.open(self.URI)
        self.names = []

    def add_domain(self, running=True):
        name = 'fdrtest-' + uuid.uuid4().hex[:8]
        domain = self.connection.defineXML(
            "<domain type='test'><name>%s</name><memory>65536</memory>"
            "<os><type>hvm</type></os></domain>" % name)
        self.names.append(name)
        if running:
            domain.create()
        return name

    def power(self, name):
        active = self.connection.lookupByName(name).isActive()
        return 'on' if active else 'off'

    def close(self):
        for name in self.names:
            try:
                domain = self.connection.lookupByName(name)
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
            except libvirt.libvirtError:
                pass
        self.connection.close()
