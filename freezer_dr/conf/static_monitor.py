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

"""Options of the ``static`` monitor (drills of the one-shot command)."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'static_monitor',
    title='Static monitor',
    help='The static monitor ([recovery] monitor = static) reports the '
         'hosts listed here as failed, whatever their state: for drills of '
         'the one-shot freezer-dr command against hosts that may be '
         'powered off.')

opts = [
    cfg.ListOpt('hosts',
                default=[],
                help='Host names (as nova knows them) the static monitor '
                     'reports failed. Empty: none.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
