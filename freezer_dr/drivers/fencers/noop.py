"""The ``noop`` fencer: powers nothing off, and says so.

It cannot confirm power-off (``CAN_CONFIRM = False``), so the engine
refuses to start with it unless every host it would serve is listed in
``[recovery] unfenced_evacuation_hosts`` (safety rule 1's override).
"""

import logging

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)


class NoopFencer(base.Fencer):
    CAN_CONFIRM = False

    def __init__(self, conf=None):
        pass

    def fence(self, host):
        LOG.warning('noop fencer: %s was NOT powered off', host)
        return base.FenceResult(host, False, 'noop fencer: nothing was done, '
                                'power state unknown')
