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

"""Options of the storm guard (safety rule 2 of DESIGN.md)."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'storm_guard',
    title='Storm guard',
    help='When too many hosts fail together, the likely cause is the network '
         'or the message bus, not the hosts: automatic recovery stops and the '
         'administrators are alerted instead.')

opts = [
    cfg.IntOpt('max_failed_hosts',
               default=5, min=0,
               help='More failed hosts than this within storm_window is a '
                    'storm. 0 disables this limit.'),
    cfg.FloatOpt('max_failed_percent',
                 default=25.0, min=0.0, max=100.0,
                 help='More than this percentage of the tracked hosts failed '
                      'within storm_window is a storm (one failed host alone '
                      'never is). 0 disables this limit.'),
    cfg.FloatOpt('storm_window',
                 default=300.0, min=1.0,
                 help='Seconds over which failed hosts are counted: the hosts '
                      'suspect now plus those declared dead within the '
                      'window.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
