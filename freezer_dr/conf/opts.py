"""The list of every option of freezer-dr, for oslo-config-generator."""

from freezer_dr.conf import agent
from freezer_dr.conf import bus
from freezer_dr.conf import bus_notifications
from freezer_dr.conf import coordination
from freezer_dr.conf import database
from freezer_dr.conf import engine
from freezer_dr.conf import fencer
from freezer_dr.conf import ipmi
from freezer_dr.conf import keystone_contacts
from freezer_dr.conf import libvirt_domain
from freezer_dr.conf import liveness
from freezer_dr.conf import mail
from freezer_dr.conf import nova
from freezer_dr.conf import recovery
from freezer_dr.conf import redfish
from freezer_dr.conf import static_monitor
from freezer_dr.conf import storm_guard
from freezer_dr.conf import webhook

_MODULES = (agent, bus, coordination, database, engine, liveness,
            recovery, storm_guard)
# The notifiers' option groups.
_MODULES += (bus_notifications, keystone_contacts, mail, webhook)
# The fencers' option groups.
_MODULES += (fencer, ipmi, libvirt_domain, redfish)
# The nova evacuator's option groups.
_MODULES += (nova,)
# The one-shot's static monitor.
_MODULES += (static_monitor,)


def list_opts():
    """Return ``[(group, [opts])]`` for the sample config generator."""
    result = []
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
