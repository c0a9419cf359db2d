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

"""The ``noop`` isolator: for a fencing-only deployment (``[recovery]
isolator = noop``). The host is not forced down nor disabled in nova; the
isolate step is journaled as skipped, saying so."""

from freezer_dr.drivers import base


class NoopIsolator(base.Isolator):
    def __init__(self, conf=None):
        pass

    def isolate(self, host):
        return base.skipped( 'no isolation configured '
                                '([recovery] isolator = noop): %s is not '
                                'forced down in nova' % host)

    def rearm(self, host):
        return base.skipped( 'no isolation configured: '
                                'nothing to undo in nova for %s' % host)
