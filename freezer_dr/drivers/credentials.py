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

* ours, keyed by nova's host name::

      hosts:
        compute-1: {address: 10.1.0.11, port: 623, username: admin,
                    password: secret, domain: compute-1}

The secrets stay in memory: they are never logged, and a Credentials value
never shows its password in ``repr``.
"""

import typing

import yaml


class CredentialsError(ValueError):
    """The credentials file is missing, unreadable or malformed."""


class Credentials(typing.NamedTuple):
    address: str
    port: int
    username: str
    password: str
    domain: typing.Optional[str]

    def __repr__(self):
        return ('Credentials(address=%r, port=%r, username=%r, '
                'password=***, domain=%r)' % (self.address, self.port,
                                              self.username, self.domain))


def _entry(host, address, port, username, password, domain):
    if not address or not username or password is None:
        raise CredentialsError('host %r needs an address, a username and a '
                               'password' % host)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise CredentialsError('host %r: port %r is not a number'
                               % (host, port)) from None
    return Credentials(str(address), port, str(username), str(password),
                       None if domain is None else str(domain))


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
                                 item.get('domain-name'))
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
                                      item.get('domain'))
    if 'servers' not in data and 'hosts' not in data:
        raise CredentialsError('expected a "servers:" list or a "hosts:" '
                               'mapping')
    return found


def load(path, default_port=623):
    try:
        with open(path, encoding='utf-8') as f:
            return parse(f.read(), default_port)
    except OSError as exc:
        raise CredentialsError('cannot read %s: %s'
                               % (path, exc.strerror)) from None
