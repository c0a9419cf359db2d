"""The ``noop`` evacuator: evacuates nothing, and says so."""

import logging

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)


class NoopEvacuator(base.Evacuator):
    def __init__(self, conf=None):
        pass

    def evacuate(self, host, guard=None):
        LOG.warning('noop evacuator: the instances of %s were NOT '
                    'evacuated', host)
        return []
