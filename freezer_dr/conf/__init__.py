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

"""Configuration of freezer-dr, one module per option group.

Every module exposes ``opts`` (or a few lists of options), a ``register_opts``
function, and is listed in :mod:`freezer_dr.conf.opts` so that
``oslo-config-generator`` writes it into the sample configuration.
"""

from oslo_config import cfg

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

CONF = cfg.CONF

for _module in (agent, bus, coordination, database, engine, liveness,
                metrics, recovery, storm_guard):
    _module.register_opts(CONF)
# The notifiers' option groups.
for _module in (bus_notifications, keystone_contacts, mail, webhook):
    _module.register_opts(CONF)
# The fencers' option groups.
for _module in (fencer, ipmi, libvirt_domain, redfish):
    _module.register_opts(CONF)
# The nova evacuator's option groups ([nova], [evacuation]).
nova.register_opts(CONF)
# The one-shot's static monitor.
static_monitor.register_opts(CONF)
heartbeat_monitor.register_opts(CONF)
