"""The list of every option of freezer-dr, for oslo-config-generator."""

from freezer_dr.conf import agent
from freezer_dr.conf import bus
from freezer_dr.conf import database
from freezer_dr.conf import engine
from freezer_dr.conf import liveness
from freezer_dr.conf import recovery
from freezer_dr.conf import storm_guard

_MODULES = (agent, bus, database, engine, liveness, recovery,
            storm_guard)


def list_opts():
    """Return ``[(group, [opts])]`` for the sample config generator."""
    result = []
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
