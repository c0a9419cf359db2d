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

"""What the fencers that confirm (ipmi, redfish, libvirt) share: their
options, the credentials file, and the attempt loop that turns every
failure into an unconfirmed :class:`~freezer_dr.drivers.base.FenceResult`
with the reason, bounded in time, with no password in it.

A fencer subclasses :class:`ConfirmingFencer` and implements
``_attempt(host, creds, first)``, which powers the host off, reads the
power state back until off or its deadline, and returns what it read
(``'off'`` or another state), raising :class:`FenceError` for a failure it
understands.
"""

import logging
import threading
import time

from freezer_dr.conf import fencer as fencer_conf
from freezer_dr.drivers import base
from freezer_dr.drivers.fencers import credentials as credentials_module

LOG = logging.getLogger(__name__)

#: Where the fencers' per-host credentials are named.
CREDENTIALS_OPTION = '[fencer] credentials_file'

#: Below this length a password is not scrubbed from messages (it would
#: mangle them, and nothing that short is a secret worth the name).
_SCRUB_MIN = 3


#: What ``_attempt`` says when the power was off before anything was sent.
ALREADY_OFF = ('power already off', 'domain already inactive')


class FenceError(Exception):
    """A failure the fencer understands; its message is the reason."""


def options(conf, module, **overrides):
    """``{name: value}`` of the options of ``module`` (a freezer_dr.conf
    module), read from its group of ``conf`` (registered there if needed)
    or, without ``conf``, their defaults; ``overrides`` that are not None
    win."""
    group = None
    if conf is not None:
        module.register_opts(conf)
        group = conf[module.GROUP.name]
    values = {opt.dest: (opt.default if group is None else group[opt.dest])
              for opt in module.opts}
    unknown = set(overrides) - set(values)
    if unknown:
        raise TypeError('unknown option(s) of [%s]: %s'
                        % (module.GROUP.name, ', '.join(sorted(unknown))))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values


def load_credentials(conf, credentials_file=None, credentials=None):
    """``{host: Credentials}``: given, or read from ``credentials_file``,
    or from ``[fencer] credentials_file``.

    :raises CredentialsError: the file is missing or malformed.
    """
    if credentials is not None:
        return dict(credentials)
    if credentials_file is None:
        credentials_file = options(conf, fencer_conf)['credentials_file']
    return credentials_module.load(credentials_file)


def scrub(text, creds):
    """``text`` without the password of ``creds``."""
    secret = creds.password
    if secret and len(secret) >= _SCRUB_MIN:
        text = text.replace(secret, '***')
    return text


def call_with_deadline(function, seconds, what):
    """``function()``, or :class:`FenceError` if it has not returned after
    ``seconds`` (it then finishes, or hangs, in a daemon thread: for
    clients with no timeout of their own)."""
    outcome = {}
    done = threading.Event()

    def run():
        try:
            outcome['value'] = function()
        except BaseException as exc:    # handed to the caller
            outcome['error'] = exc
        finally:
            done.set()

    threading.Thread(target=run, name='fence-' + what, daemon=True).start()
    if not done.wait(seconds):
        raise FenceError('%s did not answer within %.1f s' % (what, seconds))
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def poll(read, deadline, interval=0.2):
    """Call ``read()`` until it returns ``'off'`` or ``deadline``
    (monotonic) passes; return the last value."""
    while True:
        state = read()
        if state == 'off' or time.monotonic() >= deadline:
            return state
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


class ConfirmingFencer(base.Fencer):
    """Attempts, with backoff, to power a host off and read it back."""

    CAN_CONFIRM = True
    HOSTS_OPTION = CREDENTIALS_OPTION
    #: The peer, in messages ("BMC", "Redfish service", "libvirt").
    PEER = 'BMC'

    def __init__(self, settings, credentials):
        """
        :param settings: ``{option: value}`` of the fencer's group (at
            least timeout, attempts and retry_delay).
        :param credentials: ``{host: Credentials}``.
        """
        self._settings = settings
        self._credentials = credentials
        self._timeout = float(settings['timeout'])
        self._attempts = max(1, int(settings['attempts']))
        self._retry_delay = float(settings['retry_delay'])

    def validate(self):
        if not self._credentials:
            raise base.ConfigurationError(
                CREDENTIALS_OPTION, 'the %s fencer has no host to fence: '
                'the file has no %s credentials' % (self.PEER, self.PEER))
        # Pacemaker binds each fence device to its node: two hosts on one
        # BMC (a copy-paste in the credentials file) would power the wrong
        # one off.
        seen = {}
        for host, creds in sorted(self._credentials.items()):
            if self._missing(creds):
                continue
            endpoint = self._endpoint(creds)
            if endpoint in seen:
                raise base.ConfigurationError(
                    CREDENTIALS_OPTION, 'hosts %s and %s are mapped to the '
                    'same %s (%s): fencing one would power the other off'
                    % (seen[endpoint], host, self.PEER,
                       self._where(creds)))
            seen[endpoint] = host
        return []

    def _endpoint(self, creds):
        """What identifies the device that powers a host off (two hosts
        must not share one)."""
        return (creds.address, creds.port)

    def hosts(self):
        return sorted(self._credentials)

    def check_host(self, host):
        creds = self._credentials.get(host)
        if creds is None:
            return 'no %s credentials for this host' % self.PEER
        return self._missing(creds)

    def fence(self, host):
        missing = self.check_host(host)
        if missing:
            return base.FenceResult(host, False, missing)
        creds = self._credentials[host]
        where = self._where(creds)
        detail = 'not tried'
        for attempt in range(1, self._attempts + 1):
            began = time.monotonic()
            try:
                state, how = self._attempt(host, creds, attempt == 1)
            except FenceError as exc:
                detail = '%s %s: %s' % (self.PEER, where, exc)
            except Exception as exc:     # clients raise more than their own
                LOG.warning('Fencing %s: unexpected %s from the %s client',
                            host, type(exc).__name__, self.PEER,
                            exc_info=True)
                detail = '%s %s: %s: %s' % (self.PEER, where,
                                            type(exc).__name__, exc)
            else:
                if state == 'off':
                    return base.FenceResult(
                        host, True, '%s; power off confirmed by the %s %s '
                        '(attempt %d, %.1f s)' % (how, self.PEER, where,
                                                  attempt,
                                                  time.monotonic() - began),
                        already_off=how in ALREADY_OFF)
                detail = '%s %s still reports power %s after %.1f s' % (
                    self.PEER, where, state, time.monotonic() - began)
            detail = scrub(detail, creds)
            LOG.warning('Fencing %s, attempt %d of %d: %s', host, attempt,
                        self._attempts, detail)
            if attempt < self._attempts:
                time.sleep(self._retry_delay * 2 ** (attempt - 1))
        return base.FenceResult(host, False, detail)

    def power_state(self, host):
        creds = self._credentials.get(host)
        if creds is None or self._missing(creds):
            return None
        try:
            return call_with_deadline(lambda: self._read_power(creds),
                                      self._timeout + 1.0, self.PEER)
        except Exception as exc:
            LOG.warning('Reading the power of %s: %s', host,
                        scrub('%s: %s' % (type(exc).__name__, exc), creds))
            return None

    def _read_power(self, creds):
        """The power state (``'on'`` or ``'off'``), read from the peer.

        :raises Exception: the peer could not be read.
        """
        raise NotImplementedError

    def _missing(self, creds):
        """Why ``creds`` are not enough for this fencer ('' if they are)."""
        if not creds.has_login:
            return ('no %s address, username and password for this host'
                    % self.PEER)
        return ''

    def _where(self, creds):
        """The peer's address, for messages (no secret in it)."""
        return '%s:%d' % (creds.address, creds.port)

    def _attempt(self, host, creds, first):
        """Power ``host`` off and read the state back until off or the
        timeout; return ``(state, how)`` where ``how`` says what was done
        ("hard power off", "power already off") when ``state`` is
        ``'off'``.

        :raises FenceError: with the reason.
        """
        raise NotImplementedError
