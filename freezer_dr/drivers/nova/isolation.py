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
``service_down_time``; disabled, the scheduler places nothing there."""

import datetime
import logging

from freezer_dr.drivers import base
from freezer_dr.drivers.nova import client

LOG = logging.getLogger(__name__)

#: The start of every disabled reason freezer-dr writes.
REASON_PREFIX = 'freezer-dr'


_RANK = {'disabled': 0, 'down': 1, 'up': 2}


def _ours(service):
    return str(service.disabled_reason or '').startswith(REASON_PREFIX)


class NovaIsolator(base.Isolator):
    """Built as ``NovaIsolator(conf=CONF)`` (``[nova]``), or with a
    keystoneauth1 ``session``."""

    def __init__(self, conf=None, session=None, **access):
        self._access = client.NovaAccess(conf, session, **access)
        self.nova = self._access.nova

    def validate(self):
        return self._access.check()

    def hosts(self):
        return sorted({s.host for s in self._access.compute_services()})

    def services(self):
        found = {}
        for service in self._access.compute_services():
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
        services = self._access.compute_services(host)
        if not services:
            return base.failed('nova has no nova-compute service on host %s'
                               % host)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%SZ')
        reason = ('%s: declared dead and fenced at %s; re-arm with '
                  '"freezer-dr-manage host rearm %s"' % (REASON_PREFIX,
                                                          stamp, host))
        for service in services:
            if not service.forced_down:
                self.nova.services.force_down(service.id, True)
            if service.status != 'disabled' or not _ours(service):
                self.nova.services.disable_log_reason(service.id, reason)
            else:
                reason = service.disabled_reason
        return base.done('nova-compute on %s forced down and disabled (%s)'
                         % (host, reason))

    def rearm(self, host):
        """Clear the force-down and enable the service (only if freezer-dr
        disabled it). nova refuses (raises) while the host's evacuations
        are not ``completed``, which its nova-compute does when it starts
        again."""
        services = self._access.compute_services(host)
        if not services:
            return base.failed('nova has no nova-compute service on host %s'
                               % host)
        for service in services:
            if service.forced_down:
                self.nova.services.force_down(service.id, False)
            if service.status == 'disabled' and _ours(service):
                self.nova.services.enable(service.id)
        return base.done('nova-compute on %s no longer forced down, enabled'
                         % host)
