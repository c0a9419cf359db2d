"""The ``log`` notifier: writes the recovery report to the log."""

import logging

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)


class LogNotifier(base.Notifier):
    def __init__(self, conf=None):
        pass

    def alert(self, alert):
        LOG.error('ALERT %s%s: %s %s', alert.kind,
                  ' ' + alert.host if alert.host else '', alert.subject,
                  alert.text)
        return 'logged'

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
