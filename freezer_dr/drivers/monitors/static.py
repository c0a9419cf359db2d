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

"""The ``static`` monitor: the hosts of ``[static_monitor] hosts``."""

from freezer_dr.drivers import base


class StaticMonitor(base.Monitor):
    """Reports the hosts the configuration lists (drills)."""

    def __init__(self, conf):
        self._hosts = [h.strip() for h in conf.static_monitor.hosts
                       if h.strip()]

    def validate(self):
        if not self._hosts:
            return ['[static_monitor] hosts is empty: the static monitor '
                    'reports no failed host']
        return []

    def failed_hosts(self):
        return list(self._hosts)
