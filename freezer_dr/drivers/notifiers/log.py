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
