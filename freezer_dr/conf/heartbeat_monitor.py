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

"""Options of the one-shot's ``heartbeat`` monitor."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'heartbeat_monitor',
    title='Heartbeat monitor',
    help='The heartbeat monitor ([recovery] monitor = heartbeat) reports '
         'the hosts a detect-only freezer-dr-engine ([engine] dry_run = '
         'true, with the same [database] connection) declared dead: the '
         'engine detects from the heartbeats, the one-shot freezer-dr '
         'command recovers.')

opts = [
    cfg.FloatOpt('max_age',
                 default=3600.0, min=1.0,
                 help='Seconds a declaration counts: a host declared dead '
                      'longer ago than this is not reported (the journal '
                      'recovers each declared boot of a host once anyway).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
