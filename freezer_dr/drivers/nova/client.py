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

"""One place that builds what every nova driver talks through: a
keystoneauth1 session from ``[nova]`` and a python-novaclient client on it.

The session is one per process and configuration, shared by the isolator,
the evacuator and the monitor, and its token is kept fresh by a
:class:`TokenKeeper`: fetched when the drivers are checked at start and
renewed by a thread of its own shortly before it expires. A recovery never
waits for keystone, and keystone issues one token per expiry, not one per
driver or per recovery."""

import logging
import threading
import time

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from novaclient import client as nova_client

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)

#: Errors that say "not now", not "never": no reason to refuse to start.
UNREACHABLE = (ks_exceptions.ConnectFailure, ks_exceptions.ConnectTimeout,
               ks_exceptions.ServiceUnavailable, ks_exceptions.GatewayTimeout)

#: Services and ``PUT /os-services/{id}`` with force-down need 2.53.
DEFAULT_API_VERSION = '2.53'


class NovaAccess:
    """A session, the client on it and where it points.

    :param conf: an oslo.config ConfigOpts with ``[nova]``; or
    :param session: a keystoneauth1 session (tests, benchmarks).
    :raises base.ConfigurationError: no way to authenticate.
    """

    def __init__(self, conf=None, session=None, api_version=None,
                 region_name=None, interface='public',
                 endpoint_override=None):
        if conf is not None:
            group = conf.nova
            if session is None:
                session = shared_session(conf)
            api_version = api_version or group.api_version
            region_name = region_name or group.region_name
            interface = group.interface
            endpoint_override = endpoint_override or group.endpoint_override
        if session is None:
            raise ValueError('a nova driver needs a keystoneauth1 session '
                             '(or conf)')
        self.session = session
        self.region_name = region_name
        self.interface = interface
        self.nova = nova_client.Client(
            api_version or DEFAULT_API_VERSION, session=session,
            region_name=region_name, endpoint_type=interface,
            endpoint_override=endpoint_override)

    def check(self):
        """Authenticate and find nova's endpoint; raise
        :class:`~freezer_dr.drivers.base.ConfigurationError` naming the
        option to fix when either cannot be done. Return warnings: keystone
        or nova unreachable now is no configuration error (the engine
        starts, and its steps retry)."""
        # (Renewed from now on, even if keystone cannot be reached yet:
        # the keeper tries again until it can.)
        TokenKeeper.for_session(self.session).start()
        try:
            self.session.get_token()
        except UNREACHABLE as exc:
            return ['[nova]: keystone cannot be reached now (%s: %s); the '
                    'credentials are checked at the first recovery'
                    % (type(exc).__name__, exc)]
        except Exception as exc:
            raise base.ConfigurationError(
                '[nova] auth_url', 'cannot authenticate to keystone: %s: %s'
                % (type(exc).__name__, exc)) from None
        try:
            endpoint = self.session.get_endpoint(
                service_type='compute', interface=self.interface,
                region_name=self.region_name)
        except Exception as exc:
            endpoint = None
            why = '%s: %s' % (type(exc).__name__, exc)
        else:
            why = 'the catalog has no compute endpoint (%s, region %s)' % (
                self.interface, self.region_name or 'any')
        if not endpoint and not self.nova.client.endpoint_override:
            raise base.ConfigurationError('[nova] interface', why)
        return []

    def compute_services(self, host=None):
        """nova's ``nova-compute`` services (of ``host`` only, exact
        match, when given)."""
        services = self.nova.services.list(host=host, binary='nova-compute')
        if host is None:
            return services
        return [s for s in services if s.host == host]


_SESSIONS = {}
_SESSIONS_LOCK = threading.Lock()


def shared_session(conf):
    """The keystoneauth1 session of ``conf``'s ``[nova]``: one per process
    for the same settings (the drivers share its token).

    :raises base.ConfigurationError: no ``[nova] auth_type``.
    """
    auth = ks_loading.load_auth_from_conf_options(conf, 'nova')
    if auth is None:
        raise base.ConfigurationError(
            '[nova] auth_type', 'not set: freezer-dr cannot authenticate to '
            'nova')
    # (The options' values, secrets included, stay in this process.)
    key = (id(conf), tuple(sorted((name, repr(conf.nova[name]))
                                  for name in conf.nova)))
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = ks_loading.load_session_from_conf_options(
                conf, 'nova', auth=auth)
            _SESSIONS[key] = session
        return session


class TokenKeeper:
    """Renews a session's token shortly before it expires, from a thread of
    its own (started by :meth:`start`, once per session).

    keystoneauth itself fetches a new token when a request finds the old
    one expiring within its plugin's ``MIN_TOKEN_LIFE_SECONDS`` (120 s):
    that request waits for keystone. The renewal is due before that: a
    tenth of the token's lifetime, between :data:`MIN_MARGIN` and
    :data:`MAX_MARGIN` seconds, earlier than keystoneauth would.
    A failed renewal is logged and tried again every :data:`RETRY` seconds;
    the old token serves meanwhile.
    """

    MIN_MARGIN = 2.0
    MAX_MARGIN = 300.0
    RETRY = 5.0

    _keepers = {}
    _lock = threading.Lock()

    def __init__(self, session, clock=time.time):
        self._session = session
        self._clock = clock
        self._stop = threading.Event()
        self._thread = None
        #: Tokens this keeper fetched (renewals), and failed attempts in
        #: a row.
        self.renewals = 0
        self.failures = 0

    @classmethod
    def for_session(cls, session):
        with cls._lock:
            keeper = cls._keepers.get(id(session))
            if keeper is None or keeper._session is not session:
                keeper = cls._keepers[id(session)] = cls(session)
            return keeper

    def start(self):
        auth = self._session.auth
        if not hasattr(auth, 'get_auth_ref') or \
                not hasattr(auth, 'get_access'):
            return      # not a keystone identity plugin: nothing to renew
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name='nova-token-keeper')
        self._thread.start()

    def stop(self):
        self._stop.set()
        with self._lock:
            if self._keepers.get(id(self._session)) is self:
                del self._keepers[id(self._session)]

    def due_in(self, access):
        """Seconds until ``access`` (an AccessInfo) is to be renewed."""
        expires = access.expires.timestamp()
        issued = access.issued.timestamp() if access.issued else \
            self._clock()
        lifetime = expires - issued
        margin = getattr(self._session.auth, 'MIN_TOKEN_LIFE_SECONDS', 0) \
            + min(self.MAX_MARGIN, max(self.MIN_MARGIN, lifetime / 10.0))
        # (A token shorter than keystoneauth's own threshold: halfway.)
        margin = min(margin, lifetime / 2.0)
        return expires - margin - self._clock()

    def _run(self):
        auth = self._session.auth
        while not self._stop.is_set():
            try:
                wait = self.due_in(auth.get_access(self._session))
                if wait > 0:
                    self._stop.wait(wait)
                    continue
                old = auth.get_access(self._session)
                fresh = auth.get_auth_ref(self._session)
                # The new token replaces the old one at once: no request
                # ever finds none (under keystoneauth's own lock).
                with getattr(auth, '_lock', None) or threading.Lock():
                    auth.auth_ref = fresh
                self.renewals += 1
                if self.failures:
                    LOG.info('The nova token was renewed after %d failed '
                             'attempts', self.failures)
                self.failures = 0
                if fresh.expires <= old.expires or self.due_in(fresh) <= 0:
                    # (A credential that cannot give a later expiry:
                    # never more often than RETRY.)
                    self._stop.wait(self.RETRY)
            except Exception as exc:
                self.failures += 1
                if self.failures == 1 or self.failures % 60 == 0:
                    LOG.warning('The nova token could not be renewed '
                                '(%d attempts so far): %s: %s',
                                self.failures, type(exc).__name__, exc)
                self._stop.wait(self.RETRY)
