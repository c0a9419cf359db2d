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

"""Options of freezer-dr-agent, which runs on every compute node."""

import socket

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'agent',
    title='freezer-dr-agent',
    help='The agent on every compute node: heartbeats and local checks.')

opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this compute host exactly as nova knows it '
                    '(nova.conf [DEFAULT] host).'),
    cfg.FloatOpt('heartbeat_interval',
                 default=1.0, min=0.05,
                 help='Seconds between two heartbeats. Keep the engine\'s '
                      '[liveness] heartbeat_interval equal to it.'),
    cfg.ListOpt('checks',
                default=['nova_compute', 'libvirt', 'disk'],
                item_type=cfg.types.String(
                    choices=['nova_compute', 'libvirt', 'disk']),
                help='Local checks whose results every heartbeat carries. '
                     'A failing check is reported, never fatal.'),
    cfg.FloatOpt('check_interval',
                 default=5.0, min=0.1,
                 help='Seconds between two runs of the local checks; a '
                      'heartbeat carries the latest results.'),
    cfg.FloatOpt('check_timeout',
                 default=3.0, min=0.1,
                 help='A check still running after this many seconds is '
                      'reported as failed (timed out).'),
    cfg.StrOpt('nova_compute_pattern',
               default='nova-compute',
               help='The nova_compute check looks for a process whose '
                    'command line contains this text.'),
    cfg.StrOpt('libvirt_uri',
               default='qemu:///system',
               help='URI the libvirt check connects to.'),
    cfg.StrOpt('disk_path',
               default='/var/lib/nova/instances',
               help='Directory whose file system the disk check measures.'),
    cfg.IntOpt('disk_min_free_mb',
               default=1024, min=0,
               help='The disk check fails below this many free MiB.'),
    cfg.StrOpt('state_file',
               default='/var/lib/freezer-dr/agent-state.json',
               help='Where the agent remembers that it announced a planned '
                    'shutdown, so that it announces the end of that '
                    'maintenance when it starts again.'),
    cfg.StrOpt('heartbeat_key_file',
               help='File holding this host\'s heartbeat key (hex), '
                    'printed by "freezer-dr-manage heartbeat-key derive '
                    'HOST" on the control plane; mode 0600. Every heartbeat '
                    'and maintenance message is signed with it. Unset, they '
                    'are sent unsigned, and an engine drops them unless it '
                    'allows unsigned heartbeats.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
