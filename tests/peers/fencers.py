"""Real peers for the fencers, on loopback: an IPMI BMC (the simulator of
:mod:`tests.peers.bmc_simulator`, one process per host), sushy-tools'
Redfish emulator (one process per host, each with its own libvirt
``test:///default`` domain) and libvirt's test driver in this process.
"""

import json
import os
import socket
import subprocess
import sys
import uuid

import bcrypt
import libvirt
import requests

from tests.helpers import command
from tests.helpers import wait_for

# The one domain of libvirt's test:///default, as sushy-emulator shows it.
TEST_DOMAIN_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f'


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def free_tcp_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Bmc:
    """The BMC simulator for host ``name``, powered on, on a free UDP port
    with its own password (user admin); ``extra`` are options of
    :mod:`tests.peers.bmc_simulator` (``--refuse-off``...)."""

    def __init__(self, processes, tmp_path, name, *extra):
        self.port = free_udp_port()
        self.state = tmp_path / (name + '-bmc.json')
        secret = tmp_path / (name + '-bmc-password')
        secret.write_text('s3cret-' + name)
        self.password = secret.read_text()
        self.process = processes.start('bmc-' + name, [
            sys.executable, '-m', 'tests.peers.bmc_simulator',
            '--port', str(self.port), '--password-file', str(secret),
            '--state-file', str(self.state), *extra])
        wait_for(self.state.exists, 20, message='the BMC simulator')
        wait_for(lambda: 'BMC simulator on' in self.process.log(), 20,
                 message='the BMC simulator listening')

    def status(self):
        """The simulator's power and counts of power commands."""
        return json.loads(self.state.read_text())


def credentials_file(tmp_path, entries):
    """A credentials file in the upstream format (``servers:``) for
    ``{host: (bmc port, password)}``; its path."""
    path = tmp_path / 'servers.yml'
    lines = ['servers:']
    for host, (port, password) in entries.items():
        lines += ['  - hostname: %s' % host, '    ip-addr: 10.0.0.1',
                  '    fencer-ip: 127.0.0.1', '    fencer-port: %d' % port,
                  '    fencer-user: admin',
                  '    fencer-password: "%s"' % password,
                  '    domain-name: %s' % host]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def ipmitool(bmc, *args, password=None):
    """``ipmitool -I lanplus`` against ``bmc``; the password (the right one
    unless given) goes through the environment (-E), never argv."""
    env = dict(os.environ, IPMI_PASSWORD=password or bmc.password)
    return subprocess.run(['ipmitool', '-I', 'lanplus', '-H', '127.0.0.1',
                           '-p', str(bmc.port), '-U', 'admin', '-E',
                           *args], env=env, capture_output=True,
                          text=True, timeout=60)


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
        args = [command('sushy-emulator'), '--config', str(config),
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
        wait_for(self._answers, 30, message='sushy-emulator on port %d'
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
        wait_for(lambda: self.power() == 'off', 10,
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
