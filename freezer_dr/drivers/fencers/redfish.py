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

"""The ``redfish`` fencer: ComputerSystem.Reset ForceOff through the host's
Redfish service, with sushy, then read PowerState back until Off.

It confirms (``CAN_CONFIRM``). Every failure (no credentials, wrong
password, a certificate that does not verify, a service that does not
answer, a system that stays on) is an unconfirmed result with the reason;
passwords are never logged. Options: ``[redfish]``; the credentials file:
``[fencer] credentials_file`` (``fencer-url``, ``redfish-system``).
"""

import logging
import time
import urllib.parse

import sushy
from sushy import auth as sushy_auth
from sushy import exceptions as sushy_exceptions

from freezer_dr.conf import redfish as redfish_conf
from freezer_dr.drivers.fencers import confirming

LOG = logging.getLogger(__name__)

_AUTH = {'auto': sushy_auth.SessionOrBasicAuth,
         'session': sushy_auth.SessionAuth,
         'basic': sushy_auth.BasicAuth}
_STATES = {sushy.PowerState.OFF: 'off', sushy.PowerState.ON: 'on',
           sushy.PowerState.POWERING_OFF: 'powering off',
           sushy.PowerState.POWERING_ON: 'powering on'}


class RedfishFencer(confirming.ConfirmingFencer):
    PEER = 'Redfish service'

    def __init__(self, conf=None, credentials_file=None, credentials=None,
                 timeout=None, attempts=None, retry_delay=None,
                 connect_timeout=None, verify_tls=None, ca_file=None,
                 auth_type=None):
        """
        :param conf: an oslo.config ConfigOpts: options from
            ``[redfish]``, credentials from ``[fencer] credentials_file``;
            None for the defaults. Keyword arguments that are not None win.
        :param credentials: ``{host: Credentials}``; or
        :param credentials_file: a file in one of the formats of
            freezer_dr.drivers.fencers.credentials.
        :raises CredentialsError: the credentials file cannot be read.
        """
        settings = confirming.options(
            conf, redfish_conf, timeout=timeout, attempts=attempts,
            retry_delay=retry_delay, connect_timeout=connect_timeout,
            verify_tls=verify_tls, ca_file=ca_file, auth_type=auth_type)
        super().__init__(settings, confirming.load_credentials(
            conf, credentials_file, credentials))
        self._connect_timeout = float(settings['connect_timeout'])
        if not settings['verify_tls']:
            self._verify = False
        else:
            self._verify = settings['ca_file'] or True
        self._auth = _AUTH[settings['auth_type']]

    def _where(self, creds):
        return _url(creds)

    def _endpoint(self, creds):
        return (_url(creds), creds.system or '')

    def _attempt(self, host, creds, first):
        try:
            return self._power_off(creds)
        except sushy_exceptions.SushyError as exc:
            raise confirming.FenceError('%s: %s' % (type(exc).__name__,
                                                 exc)) from None

    def _connect(self, creds):
        """``(auth, root)`` of a session with the service of ``creds``
        (close ``auth`` when done)."""
        auth = self._auth(username=creds.username, password=creds.password)
        return auth, sushy.Sushy(
            _url(creds), auth=auth, verify=self._verify,
            read_timeout=self._timeout, connect_timeout=self._connect_timeout,
            # No retries inside sushy (one try per GET): ours are in
            # fence(), bounded.
            server_side_retries=1, server_side_retries_delay=0.1)

    def _read_power(self, creds):
        auth, root = self._connect(creds)
        try:
            system = root.get_system(_system_path(root, creds.system))
            return _STATES.get(system.power_state, str(system.power_state))
        finally:
            _close(auth)

    def _power_off(self, creds):
        auth, root = self._connect(creds)
        try:
            system = root.get_system(_system_path(root, creds.system))

            def read():
                system.refresh(force=True)
                return _STATES.get(system.power_state,
                                   str(system.power_state))

            if _STATES.get(system.power_state) == 'off':
                return 'off', 'power already off'
            system.reset_system(sushy.ResetType.FORCE_OFF)
            return (confirming.poll(read, time.monotonic() + self._timeout),
                    'ForceOff')
        finally:
            _close(auth)


def _close(auth):
    try:
        auth.close()
    except Exception:
        pass


def _url(creds):
    if creds.url:
        return creds.url.rstrip('/')
    return 'https://%s' % creds.address


def _system_path(root, system):
    """The path of ``system`` (a path, an Id, or None for the only
    one)."""
    if not system:
        return None
    if system.startswith('/'):
        return system
    if '://' in system:
        return urllib.parse.urlsplit(system).path
    return '%s/%s' % (root.get_system_collection().path.rstrip('/'),
                      urllib.parse.quote(system))
