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

"""The ``heartbeat`` monitor: the hosts a detect-only engine declared dead.

A ``freezer-dr-engine`` with ``[engine] dry_run = true`` and a journal
watches the heartbeats and writes each host it declares dead, with the
boot id it was declared with, to the journal's ``declarations``. This
monitor reports the hosts declared within ``[heartbeat_monitor] max_age``,
each with that boot id as its incarnation: the journal recovers each death
of a host once, and a host that died again (a new boot) is recovered
again.
"""

import time

from freezer_dr.drivers import base


class HeartbeatMonitor(base.Monitor):
    """Reports the hosts the engine's declarations name."""

    def __init__(self, conf, journal=None, clock=time.time):
        if journal is None:
            if not conf.database.connection:
                raise base.ConfigurationError(
                    '[database] connection', 'not set: the heartbeat '
                    'monitor reads the engine\'s declarations from the '
                    'journal')
            from freezer_dr.journal import api
            from freezer_dr.journal import schema
            journal = api.Journal(schema.engine_for(
                conf.database.connection))
        self._journal = journal
        self._max_age = conf.heartbeat_monitor.max_age
        self._clock = clock
        self._incarnations = {}

    def failed_hosts(self):
        latest = {}
        for host, incarnation, _, _, _ in self._journal.declarations(
                self._clock() - self._max_age):
            latest[host] = incarnation
        self._incarnations = latest
        return sorted(latest)

    def incarnation(self, host):
        return self._incarnations.get(host)
