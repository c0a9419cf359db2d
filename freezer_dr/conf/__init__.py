"""Configuration of freezer-dr, one module per option group.

Every module exposes ``opts`` (or a few lists of options), a ``register_opts``
function, and is listed in :mod:`freezer_dr.conf.opts` so that
``oslo-config-generator`` writes it into the sample configuration.
"""

from oslo_config import cfg

from freezer_dr.conf import agent
from freezer_dr.conf import bus
from freezer_dr.conf import database
from freezer_dr.conf import engine
from freezer_dr.conf import liveness
from freezer_dr.conf import recovery
from freezer_dr.conf import storm_guard

CONF = cfg.CONF

for _module in (agent, bus, database, engine, liveness, recovery,
                storm_guard):
    _module.register_opts(CONF)
