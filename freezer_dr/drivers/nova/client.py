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
keystoneauth1 session from ``[nova]`` (kept for the driver's life, so its
token is reused until it expires) and a python-novaclient client on it."""

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from novaclient import client as nova_client

from freezer_dr.drivers import base

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
                auth = ks_loading.load_auth_from_conf_options(conf, 'nova')
                if auth is None:
                    raise base.ConfigurationError(
                        '[nova] auth_type', 'not set: freezer-dr cannot '
                        'authenticate to nova')
                session = ks_loading.load_session_from_conf_options(
                    conf, 'nova', auth=auth)
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
