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

"""The ``libvirt`` fencer, for compute hosts that are libvirt domains:
destroy the domain (a hard power off), then check it is no longer active.

It confirms (``CAN_CONFIRM``). The domain name (``domain-name``) and the
connection URI (``libvirt-uri``, default ``[libvirt] uri``) of each host
come from ``[fencer] credentials_file``; authentication is the URI
transport's (SSH keys, TLS certificates). Every failure (no domain, no
such domain, a hypervisor that does not answer, a domain that stays
active) is an unconfirmed result with the reason. (This module is not
called ``libvirt``: it would shadow the libvirt package.)
"""

import logging
import time

try:
    import libvirt
except ImportError:
    raise ImportError("libvirt-python is not installed: pip install "
                      "'freezer-dr[libvirt]'") from None

from freezer_dr.conf import libvirt_domain as libvirt_conf
from freezer_dr.drivers.fencers import confirming

LOG = logging.getLogger(__name__)


def _quiet(context, error):
    """libvirt prints every error on stderr by default; we raise them."""


libvirt.registerErrorHandler(_quiet, None)


class LibvirtFencer(confirming.ConfirmingFencer):
    PEER = 'libvirt'

    def __init__(self, conf=None, credentials_file=None, credentials=None,
                 timeout=None, attempts=None, retry_delay=None, uri=None):
        """
        :param conf: an oslo.config ConfigOpts: options from
            ``[libvirt]``, credentials from ``[fencer] credentials_file``;
            None for the defaults. Keyword arguments that are not None win.
        :param credentials: ``{host: Credentials}``; or
        :param credentials_file: a file in one of the formats of
            freezer_dr.drivers.fencers.credentials.
        :param uri: the connection URI of hosts that have none of their own.
        :raises CredentialsError: the credentials file cannot be read.
        """
        settings = confirming.options(
            conf, libvirt_conf, timeout=timeout, attempts=attempts,
            retry_delay=retry_delay, uri=uri)
        super().__init__(settings, confirming.load_credentials(
            conf, credentials_file, credentials))
        self._default_uri = settings['uri']

    def _missing(self, creds):
        if not creds.domain:
            return 'no libvirt domain (domain-name) for this host'
        return ''

    def _where(self, creds):
        return '%s domain %s' % (self._uri(creds), creds.domain)

    def _endpoint(self, creds):
        return (self._uri(creds), creds.domain)

    def _uri(self, creds):
        return creds.uri or self._default_uri

    def _attempt(self, host, creds, first):
        # libvirt has no timeout of its own (a remote URI can hang in
        # connect): the whole attempt runs against a deadline.
        return confirming.call_with_deadline(
            lambda: self._destroy(creds), self._timeout + 1.0, 'libvirt')

    def _read_power(self, creds):
        connection = libvirt.open(self._uri(creds))
        try:
            domain = connection.lookupByName(creds.domain)
            return 'on' if domain.isActive() else 'off'
        finally:
            try:
                connection.close()
            except Exception:
                pass

    def _destroy(self, creds):
        try:
            connection = libvirt.open(self._uri(creds))
        except libvirt.libvirtError as exc:
            raise confirming.FenceError('cannot connect: %s'
                                     % exc) from None
        try:
            domain = connection.lookupByName(creds.domain)

            def read():
                return 'on' if domain.isActive() else 'off'

            if read() == 'off':
                return 'off', 'domain already inactive'
            try:
                domain.destroy()
            except libvirt.libvirtError:
                # It may have stopped in between: the read-back decides.
                if read() != 'off':
                    raise
            return (confirming.poll(read, time.monotonic() + self._timeout),
                    'domain destroyed')
        except libvirt.libvirtError as exc:
            raise confirming.FenceError(str(exc)) from None
        finally:
            try:
                connection.close()
            except libvirt.libvirtError:
                pass
