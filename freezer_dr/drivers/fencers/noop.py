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
