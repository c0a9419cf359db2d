"""Drivers that do nothing and say so: for dry runs and tests of wiring.

The noop fencer reports that it cannot confirm power-off, so safety rule 1
blocks any evacuation after it unless the operator set the explicit, logged
override for that host.
"""

import logging

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)


class NoopFencer(base.Fencer):
    CAN_CONFIRM = False

    def fence(self, host):
        LOG.warning('noop fencer: %s was NOT powered off', host)
        return base.FenceResult(host, False, 'noop fencer: nothing was done, '
                                'power state unknown')


class LogNotifier(base.Notifier):
    def notify(self, subject, body, details):
        LOG.warning('%s\n%s', subject, body)
        return 'logged'


class NoFailuresMonitor(base.Monitor):
    """Reports no failed host (the one-shot command then prints
    "No failed nodes")."""

    def failed_hosts(self):
        return []


class NoopEvacuator(base.Evacuator):
    def evacuate(self, host):
        LOG.warning('noop evacuator: the instances of %s were NOT '
                    'evacuated', host)
        return []
