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

"""The list of every option of freezer-dr, for oslo-config-generator."""

from freezer_dr.conf import agent
from freezer_dr.conf import bus
from freezer_dr.conf import bus_notifications
from freezer_dr.conf import coordination
from freezer_dr.conf import database
from freezer_dr.conf import engine
from freezer_dr.conf import fencer
from freezer_dr.conf import heartbeat_monitor
from freezer_dr.conf import ipmi
from freezer_dr.conf import keystone_contacts
from freezer_dr.conf import libvirt_domain
from freezer_dr.conf import liveness
from freezer_dr.conf import mail
from freezer_dr.conf import metrics
from freezer_dr.conf import nova
from freezer_dr.conf import recovery
from freezer_dr.conf import redfish
from freezer_dr.conf import static_monitor
from freezer_dr.conf import storm_guard
from freezer_dr.conf import webhook

_MODULES = (agent, bus, coordination, database, engine, liveness,
            metrics, recovery, storm_guard)
# The notifiers' option groups.
_MODULES += (bus_notifications, keystone_contacts, mail, webhook)
# The fencers' option groups.
_MODULES += (fencer, ipmi, libvirt_domain, redfish)
# The nova evacuator's option groups.
_MODULES += (nova,)
# The one-shot's static monitor.
_MODULES += (heartbeat_monitor, static_monitor)


def list_opts():
    """Return ``[(group, [opts])]`` for the sample config generator."""
    result = []
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
