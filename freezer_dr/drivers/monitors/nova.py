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

"""The ``nova`` monitor: the compute hosts nova reports down.

What the original freezer-dr called "native OpenStack services status",
without its neutron agent check (OVN clouds have no agent per compute): a
``nova-compute`` service whose state is ``down`` (nova has not heard it for
its ``service_down_time``) or that is forced down (an operator, or
freezer-dr's isolation, said it is dead). A service that an operator
disabled and that is down but not forced down is left alone and logged: a
host taken out for maintenance and powered off is not a failure.

The one-shot flow then fences each, and the journal recovers a host once
(until it is re-armed), so running the command from cron again does not
fence it again.
"""

from oslo_log import log as logging

from freezer_dr.drivers import base
from freezer_dr.drivers.nova import client

LOG = logging.getLogger(__name__)


class NovaMonitor(base.Monitor):
    """Reports the ``nova-compute`` hosts nova says are down."""

    def __init__(self, conf, access=None):
        self._access = access or client.NovaAccess(conf)

    def validate(self):
        return self._access.check()

    def failed_hosts(self):
        failed = []
        for service in self._access.compute_services():
            down = service.state == 'down' or bool(
                getattr(service, 'forced_down', False))
            if not down:
                continue
            if service.status == 'disabled' and not getattr(
                    service, 'forced_down', False):
                LOG.info('nova monitor: %s is down but was disabled (%s) '
                         'and not forced down: left alone (maintenance)',
                         service.host,
                         getattr(service, 'disabled_reason', None) or
                         'no reason given')
                continue
            failed.append(service.host)
        return sorted(set(failed))
