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

    def __init__(self, conf=None):
        pass

    def fence(self, host):
        LOG.warning('noop fencer: %s was NOT powered off', host)
        return base.FenceResult(host, False, 'noop fencer: nothing was done, '
                                'power state unknown')


class LogNotifier(base.Notifier):
    def __init__(self, conf=None):
        pass

    def notify(self, report):
        LOG.warning('%s', report.summary)
        for step in report.steps:
            LOG.warning('  %s: %s in %.2f s: %s', step.name, step.status,
                        step.seconds, step.detail)
        for instance in report.instances:
            LOG.warning('  instance %s (%s, project %s): %s -> %s: %s',
                        instance.id, instance.name, instance.project_id,
                        'evacuated' if instance.ok else 'NOT evacuated',
                        instance.target_host or '?', instance.detail)
        return 'logged'


class NoFailuresMonitor(base.Monitor):
    """Reports no failed host (the one-shot command then prints
    "No failed nodes")."""

    def __init__(self, conf=None):
        pass

    def failed_hosts(self):
        return []


class NoopEvacuator(base.Evacuator):
    def __init__(self, conf=None):
        pass

    def evacuate(self, host):
        LOG.warning('noop evacuator: the instances of %s were NOT '
                    'evacuated', host)
        return []
