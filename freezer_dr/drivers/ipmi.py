"""The ``ipmi`` fencer: power off through the BMC over IPMI 2.0 (LAN+),
with pyghmi, then read the power state back until it says off.

It confirms (``CAN_CONFIRM``): a host is reported fenced only when its BMC
says its power is off. Every failure (no credentials, wrong password, a BMC
that does not answer, one that stays on) is a result, not an exception,
with the reason; passwords are never logged.
"""

import logging
import time

from pyghmi import exceptions as pyghmi_exceptions
from pyghmi.ipmi import command

from freezer_dr.drivers import base
from freezer_dr.drivers import credentials as credentials_module

LOG = logging.getLogger(__name__)


class IpmiFencer(base.Fencer):
    CAN_CONFIRM = True

    def __init__(self, credentials_file=None, credentials=None,
                 timeout=10.0, attempts=3, retry_delay=1.0):
        """
        :param credentials: ``{host: Credentials}``; or
        :param credentials_file: a file in one of the formats of
            freezer_dr.drivers.credentials.
        :param timeout: seconds to wait for power off to be read back, per
            attempt.
        """
        if credentials is None:
            credentials = credentials_module.load(credentials_file)
        self._credentials = credentials
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._retry_delay = retry_delay

    def fence(self, host):
        creds = self._credentials.get(host)
        if creds is None:
            return base.FenceResult(host, False, 'no BMC credentials for '
                                    'this host')
        detail = 'not tried'
        for attempt in range(1, self._attempts + 1):
            began = time.monotonic()
            try:
                state = self._power_off(creds)
            except pyghmi_exceptions.IpmiException as exc:
                detail = 'BMC %s:%d: %s' % (creds.address, creds.port,
                                           str(exc) or 'no answer')
            except Exception as exc:     # pyghmi raises more than its own
                LOG.exception('Fencing %s: unexpected error from pyghmi',
                              host)
                detail = 'BMC %s:%d: %s: %s' % (creds.address, creds.port,
                                               type(exc).__name__, exc)
            else:
                if state == 'off':
                    return base.FenceResult(
                        host, True, 'power off confirmed by the BMC at '
                        '%s:%d (attempt %d, %.1f s)' % (
                            creds.address, creds.port, attempt,
                            time.monotonic() - began))
                detail = 'BMC %s:%d still reports power %s after %.0f s' % (
                    creds.address, creds.port, state, self._timeout)
            LOG.warning('Fencing %s, attempt %d of %d: %s', host, attempt,
                        self._attempts, detail)
            if attempt < self._attempts:
                time.sleep(self._retry_delay * attempt)
        return base.FenceResult(host, False, detail)

    def _power_off(self, creds):
        # (pyghmi 1.6's keepalive=False breaks on the second command:
        # keep its default and log out when done.)
        ipmi = command.Command(bmc=creds.address, userid=creds.username,
                               password=creds.password, port=creds.port)
        try:
            if ipmi.get_power()['powerstate'] != 'off':
                ipmi.set_power('off')
            deadline = time.monotonic() + self._timeout
            while True:
                state = ipmi.get_power()['powerstate']
                if state == 'off' or time.monotonic() > deadline:
                    return state
                time.sleep(0.2)
        finally:
            try:
                ipmi.ipmi_session.logout()
            except Exception:
                pass
