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

"""The ``nova`` isolator: a dead host's nova-compute is forced down and
disabled, with a reason that says freezer-dr did it, when, and how to undo
it (``PUT /os-services/{id}``, microversion 2.53 and later). Forced down,
nova lets its instances be evacuated at once, without waiting for its
``service_down_time``; disabled, the scheduler places nothing there.

Isolation is on the critical path of every recovery, so it is one request
per nova-compute service: ``forced_down``, ``status`` and
``disabled_reason`` in one ``PUT /os-services/{id}`` (nova takes them
together since 2.53). The service's id is known before it is needed: every
listing (the engine's inventory, at start, every ``[engine]
inventory_interval`` and whenever nova announces a service change) keeps
each host's service ids; only a host never listed, or whose service nova
no longer knows by that id (re-created), costs a lookup."""

import datetime
import logging
import threading
import time

from novaclient import exceptions as nova_exceptions

from freezer_dr.drivers import base
from freezer_dr.drivers.nova import client

LOG = logging.getLogger(__name__)

#: The start of every disabled reason freezer-dr writes.
REASON_PREFIX = 'freezer-dr'


_RANK = {'disabled': 0, 'down': 1, 'up': 2}
#: Seconds a re-arm waits for nova to report the compute up before it
#: enables it.
REARM_WAIT_UP = 60.0


def _ours(service):
    return str(service.disabled_reason or '').startswith(REASON_PREFIX)


class NovaIsolator(base.Isolator):
    """Built as ``NovaIsolator(conf=CONF)`` (``[nova]``), or with a
    keystoneauth1 ``session``."""

    def __init__(self, conf=None, session=None, **access):
        self._access = client.NovaAccess(conf, session, **access)
        self.nova = self._access.nova
        self._lock = threading.Lock()
        #: host -> ids of its nova-compute services, from the last listing.
        self._ids = {}

    def validate(self):
        warnings = self._access.check()
        if not warnings:
            try:
                self._list()
            except (nova_exceptions.Unauthorized,
                    nova_exceptions.Forbidden) as exc:
                raise base.ConfigurationError(
                    '[nova] username', 'may not list nova\'s services (%s): '
                    'isolating a host needs nova\'s admin role' % exc
                ) from None
            except Exception as exc:    # not a configuration error
                warnings.append('[nova]: nova\'s services could not be '
                                'listed now (%s: %s)' % (
                                    type(exc).__name__, exc))
        return warnings

    def _list(self, host=None):
        """nova-compute services (of ``host``); their ids are kept."""
        services = self._access.compute_services(host)
        ids = {}
        for service in services:
            ids.setdefault(service.host, []).append(service.id)
        with self._lock:
            if host is None:
                self._ids = ids
            else:
                self._ids[host] = ids.get(host, [])
        return services

    def service_ids(self, host):
        """The ids of ``host``'s nova-compute services as last listed
        (None: never listed)."""
        with self._lock:
            ids = self._ids.get(host)
        return None if ids is None else list(ids)

    def hosts(self):
        return sorted({s.host for s in self._list()})

    def services(self):
        found = {}
        for service in self._list():
            if service.status == 'disabled':
                state = 'disabled'
            else:
                state = 'down' if service.state == 'down' else 'up'
            # (Several services on one host: the least alive one wins,
            # disabled first.)
            previous = found.get(service.host)
            if previous is None or _RANK[state] < _RANK[previous]:
                found[service.host] = state
        return found

    def isolate(self, host):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%SZ')
        reason = ('%s: declared dead and fenced at %s; re-arm with '
                  '"freezer-dr-manage host rearm %s"' % (REASON_PREFIX,
                                                          stamp, host))
        body = {'forced_down': True, 'status': 'disabled',
                'disabled_reason': reason}
        ids = self.service_ids(host)
        listed = False
        if not ids:
            ids, listed = [s.id for s in self._list(host)], True
        if not ids:
            return base.failed('nova has no nova-compute service on host %s'
                               % host)
        for service_id in ids:
            try:
                self._update(service_id, body)
            except nova_exceptions.NotFound:
                if listed:
                    raise
                # Re-created since it was listed: look it up once.
                LOG.info('nova no longer knows service %s of %s: looking '
                         'its services up again', service_id, host)
                return self._isolate_listed(host, body, reason)
        return base.done('nova-compute on %s forced down and disabled (%s)'
                         % (host, reason))

    def _isolate_listed(self, host, body, reason):
        ids = [s.id for s in self._list(host)]
        if not ids:
            return base.failed('nova has no nova-compute service on host %s'
                               % host)
        for service_id in ids:
            self._update(service_id, body)
        return base.done('nova-compute on %s forced down and disabled (%s)'
                         % (host, reason))

    def _update(self, service_id, body):
        """One ``PUT /os-services/{id}`` (microversion 2.53)."""
        self.nova.client.put('/os-services/%s' % service_id, body=body)

    def rearm(self, host, wait_up=REARM_WAIT_UP, interval=1.0):
        """Clear the force-down and enable the service (only if freezer-dr
        disabled it). nova refuses (raises) while the host's evacuations
        are not ``completed``, which its nova-compute does when it starts
        again.

        The service is enabled once nova reports it up (waiting up to
        ``wait_up`` seconds): nova's API then has the compute drop the
        ``COMPUTE_STATUS_DISABLED`` trait of its resource provider at
        once, which the scheduler's placement query excludes. Enabled
        while the compute is still starting, the trait stays until the
        compute's next resource update (up to a minute without
        instances)."""
        services = self._list(host)
        if not services:
            return base.failed('nova has no nova-compute service on host %s'
                               % host)
        for service in services:
            if service.forced_down:
                self.nova.services.force_down(service.id, False)
        ours = [s for s in services if s.status == 'disabled' and _ours(s)]
        if not ours:
            return base.done('nova-compute on %s no longer forced down'
                             % host)
        deadline = time.monotonic() + wait_up
        while True:
            states = {s.id: s.state for s in self._list(host)}
            if all(states.get(s.id) == 'up' for s in ours) or \
                    time.monotonic() >= deadline:
                break
            time.sleep(interval)
        for service in ours:
            self.nova.services.enable(service.id)
        late = [s.id for s in ours if states.get(s.id) != 'up']
        if late:
            LOG.warning('nova-compute on %s enabled before nova reported it '
                        'up (waited %.0f s): the scheduler takes the host '
                        'back at its next resource update (up to a minute)',
                        host, wait_up)
            return base.done('nova-compute on %s no longer forced down, '
                             'enabled (before nova reported it up: new '
                             'instances within a minute)' % host)
        return base.done('nova-compute on %s no longer forced down, enabled'
                         % host)
