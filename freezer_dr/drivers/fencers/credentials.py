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

"""Per-host BMC credentials, read from a file.

Two formats are accepted, both YAML (JSON is YAML too):

* upstream freezer-dr's ``servers.yml``::

      servers:
        - hostname: compute-1
          ip-addr: 10.0.0.11
          fencer-ip: 10.1.0.11
          fencer-user: admin
          fencer-password: secret
          domain-name: compute-1          # the libvirt domain, if any
          fencer-url: https://10.1.0.11   # Redfish; default https://fencer-ip
          redfish-system: /redfish/v1/Systems/1   # or its Id
          libvirt-uri: qemu+ssh://root@hv-1/system

* ours, keyed by nova's host name::

      hosts:
        compute-1: {address: 10.1.0.11, port: 623, username: admin,
                    password: secret, domain: compute-1,
                    url: https://10.1.0.11, system: /redfish/v1/Systems/1,
                    uri: qemu+ssh://root@hv-1/system}

An entry for a BMC (ipmi, redfish) needs an address (or a url), a username
and a password; an entry for the libvirt fencer only a domain.

The secrets stay in memory: they are never logged, and a Credentials value
never shows its password in ``repr``.
"""

import os
import typing

import yaml


class CredentialsError(ValueError):
    """The credentials file is missing, unreadable or malformed."""


class Credentials(typing.NamedTuple):
    address: str
    port: int
    username: str
    password: typing.Optional[str]
    domain: typing.Optional[str]
    #: Redfish: the service's URL (``https://<address>`` when None).
    url: typing.Optional[str] = None
    #: Redfish: the ComputerSystem's path or Id (None: the only one).
    system: typing.Optional[str] = None
    #: libvirt: the connection URI (None: ``[libvirt] uri``).
    uri: typing.Optional[str] = None

    def __repr__(self):
        return ('Credentials(address=%r, port=%r, username=%r, '
                'password=***, domain=%r, url=%r, system=%r, uri=%r)'
                % (self.address, self.port, self.username, self.domain,
                   self.url, self.system, self.uri))

    @property
    def has_login(self):
        """Whether there is what a BMC needs: where, who, password."""
        return bool((self.address or self.url) and self.username and
                    self.password is not None)


def _text(value):
    return None if value is None else str(value)


def _entry(host, address, port, username, password, domain, url=None,
           system=None, uri=None):
    bmc = (address or url) and username and password is not None
    if not bmc and not domain:
        raise CredentialsError('host %r needs an address (or a url), a '
                               'username and a password, or a libvirt '
                               'domain' % host)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise CredentialsError('host %r: port %r is not a number'
                               % (host, port)) from None
    return Credentials(_text(address) or '', port, _text(username) or '',
                       _text(password), _text(domain), _text(url),
                       _text(system), _text(uri))


def parse(text, default_port=623):
    """``{host: Credentials}`` from the text of a credentials file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CredentialsError('not YAML: %s' % exc) from None
    if not isinstance(data, dict):
        raise CredentialsError('expected a "servers:" list or a "hosts:" '
                               'mapping')
    found = {}
    if 'servers' in data:
        if not isinstance(data['servers'], list):
            raise CredentialsError('"servers" must be a list')
        for item in data['servers']:
            if not isinstance(item, dict) or not item.get('hostname'):
                raise CredentialsError('every server needs a hostname')
            host = str(item['hostname'])
            found[host] = _entry(host, item.get('fencer-ip'),
                                 item.get('fencer-port', default_port),
                                 item.get('fencer-user'),
                                 item.get('fencer-password'),
                                 item.get('domain-name'),
                                 item.get('fencer-url'),
                                 item.get('redfish-system'),
                                 item.get('libvirt-uri'))
    if 'hosts' in data:
        if not isinstance(data['hosts'], dict):
            raise CredentialsError('"hosts" must be a mapping')
        for host, item in data['hosts'].items():
            if not isinstance(item, dict):
                raise CredentialsError('host %r: expected a mapping' % host)
            found[str(host)] = _entry(host, item.get('address'),
                                      item.get('port', default_port),
                                      item.get('username'),
                                      item.get('password'),
                                      item.get('domain'),
                                      item.get('url'),
                                      item.get('system'),
                                      item.get('uri'))
    if 'servers' not in data and 'hosts' not in data:
        raise CredentialsError('expected a "servers:" list or a "hosts:" '
                               'mapping')
    return found


def load(path, default_port=623):
    try:
        if os.stat(path).st_mode & 0o077:
            raise CredentialsError(
                '%s is readable or writable by group or others (it holds '
                'BMC passwords): run "chmod 600 %s"' % (path, path))
    except OSError:
        pass        # (said below)
    try:
        with open(path, encoding='utf-8') as f:
            return parse(f.read(), default_port)
    except OSError as exc:
        raise CredentialsError('cannot read %s: %s'
                               % (path, exc.strerror)) from None
