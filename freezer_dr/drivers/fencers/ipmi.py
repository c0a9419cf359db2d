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

"""The ``ipmi`` fencer: power off through the BMC over IPMI 2.0 (LAN+),
with pyghmi, then read the power state back until it says off.

It confirms (``CAN_CONFIRM``): a host is reported fenced only when its BMC
says its power is off. Every failure (no credentials, wrong password, a BMC
that does not answer, one that stays on) is a result, not an exception,
with the reason; passwords are never logged. Options: ``[ipmi]``; the
credentials file: ``[fencer] credentials_file``.
"""

import logging
import time

from pyghmi import exceptions as pyghmi_exceptions
from pyghmi.ipmi import command

from freezer_dr.conf import ipmi as ipmi_conf
from freezer_dr.drivers.fencers import confirming

LOG = logging.getLogger(__name__)


class IpmiFencer(confirming.ConfirmingFencer):
    PEER = 'BMC'

    def __init__(self, conf=None, credentials_file=None, credentials=None,
                 timeout=None, attempts=None, retry_delay=None,
                 soft_off_first=None, soft_off_timeout=None):
        """
        :param conf: an oslo.config ConfigOpts: options from ``[ipmi]``,
            credentials from ``[fencer] credentials_file``; None for the
            defaults. The keyword arguments that are not None win.
        :param credentials: ``{host: Credentials}``; or
        :param credentials_file: a file in one of the formats of
            freezer_dr.drivers.fencers.credentials.
        :param timeout: seconds to wait for power off to be read back, per
            attempt.
        :param soft_off_first: ask for a soft off first, wait
            ``soft_off_timeout``, then power off hard.
        :raises CredentialsError: the credentials file cannot be read.
        """
        settings = confirming.options(
            conf, ipmi_conf, timeout=timeout, attempts=attempts,
            retry_delay=retry_delay, soft_off_first=soft_off_first,
            soft_off_timeout=soft_off_timeout)
        super().__init__(settings, confirming.load_credentials(
            conf, credentials_file, credentials))
        self._soft_off_first = bool(settings['soft_off_first'])
        self._soft_off_timeout = float(settings['soft_off_timeout'])

    def _attempt(self, host, creds, first):
        try:
            return self._power_off(host, creds, first)
        except pyghmi_exceptions.IpmiException as exc:
            # (A BMC that never answers is IpmiException(None).)
            reason = exc.args[0] if exc.args and exc.args[0] else None
            raise confirming.FenceError(reason or 'no answer') from None

    def _read_power(self, creds):
        ipmi = command.Command(bmc=creds.address,
                               userid=creds.username.encode('utf-8'),
                               password=creds.password.encode('utf-8'),
                               port=creds.port)
        try:
            return ipmi.get_power()['powerstate']
        finally:
            try:
                ipmi.ipmi_session.logout()
            except Exception:
                pass

    def _power_off(self, host, creds, first):
        # pyghmi 1.6 keeps every session in a process-wide table keyed by
        # (address, user, password, port): with str user and password it
        # never removes the entry (it deletes with the bytes it stored), so
        # the next session to the same BMC gets the old, logged-out one
        # back, "still logging in" (TypeError on logoutexpiry None). Given
        # bytes, the keys agree and each fence gets a fresh session.
        # (keepalive=False breaks on the second command: keep its default
        # and log out when done.)
        ipmi = command.Command(bmc=creds.address,
                               userid=creds.username.encode('utf-8'),
                               password=creds.password.encode('utf-8'),
                               port=creds.port)
        try:
            def read():
                return ipmi.get_power()['powerstate']

            if read() == 'off':
                return 'off', 'power already off'
            how = 'hard power off'
            if first and self._soft_off_first:
                ipmi.set_power('shutdown')
                state = confirming.poll(read, time.monotonic() +
                                     self._soft_off_timeout)
                if state == 'off':
                    return 'off', 'soft power off'
                LOG.warning('Fencing %s: no soft power off within %.1f s, '
                            'powering off hard', host,
                            self._soft_off_timeout)
                how = 'no soft power off within %.1f s; hard power off' % (
                    self._soft_off_timeout)
            ipmi.set_power('off')
            return confirming.poll(read, time.monotonic() + self._timeout), how
        finally:
            try:
                ipmi.ipmi_session.logout()
            except Exception:
                pass
