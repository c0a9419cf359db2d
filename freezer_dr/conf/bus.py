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

"""Options of the message bus: where heartbeats and nova's notifications
are published and consumed. The broker itself is oslo.messaging's
``transport_url`` ([DEFAULT] or [oslo_messaging_notifications])."""

import socket

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'bus',
    title='Message bus',
    help='Topics and exchanges freezer-dr publishes to and listens on.')

opts = [
    cfg.StrOpt('heartbeat_exchange',
               default='freezer_dr',
               help='Exchange the agents publish their heartbeat and '
                    'maintenance notifications to.'),
    cfg.StrOpt('heartbeat_topic',
               default='freezer_dr_heartbeats',
               help='Notification topic of the agents\' heartbeats.'),
    cfg.StrOpt('nova_exchange',
               default='nova',
               help='Control exchange nova publishes its notifications to '
                    '(nova\'s [DEFAULT] control_exchange).'),
    cfg.ListOpt('nova_topics',
                default=['versioned_notifications'],
                help='Topics of nova\'s versioned notifications (nova\'s '
                     '[notifications] versioned_notifications_topics).'),
    cfg.StrOpt('pool',
               default='freezer-dr-engine-' + socket.gethostname(),
               sample_default='freezer-dr-engine-<hostname>',
               help='Listener pool of this engine. Every engine (the leader '
                    'and each standby) needs its own pool, so that each '
                    'receives every message; engines sharing a pool would '
                    'split the messages between them.'),
    cfg.IntOpt('heartbeat_workers',
               default=2, min=0, max=64,
               help='Processes that read, decode and validate heartbeats for '
                    'the engine (each reads about 10,000 a second). 0 reads '
                    'them in a thread of the engine process itself.'),
    cfg.FloatOpt('deaf_after',
                 default=1.5, min=0.1,
                 help='The engine publishes a canary on the heartbeat topic '
                      'several times a second and listens for it; when no '
                      'canary came back for this many seconds the engine '
                      'considers itself deaf, and nobody is declared dead '
                      'until it hears again.'),
    cfg.StrOpt('heartbeat_master_key_file',
               help='File holding the master key (hex) that every host\'s '
                    'heartbeat key is derived from: key(host) = '
                    'HMAC-SHA256(master, "freezer-dr heartbeat " + host). '
                    'Heartbeats and maintenance messages that are not '
                    'signed by their host\'s key (or, for an operator\'s '
                    'maintenance, by the master key) are dropped and '
                    'counted. Create it with "freezer-dr-manage '
                    'heartbeat-key create FILE" (mode 0600); give each '
                    'agent its key with "freezer-dr-manage heartbeat-key '
                    'derive HOST". Without it the engine refuses to start '
                    'unless allow_unsigned_heartbeats is set.'),
    cfg.StrOpt('previous_heartbeat_master_key_file',
               help='The master key being replaced, still accepted while '
                    'the agents move to keys derived from the new one '
                    '(rotation); unset it once they all have.'),
    cfg.BoolOpt('allow_unsigned_heartbeats',
                default=False,
                help='Accept heartbeats and maintenance messages without a '
                     'valid signature (no heartbeat_master_key_file). '
                     'Anything that can publish on the bus (every '
                     'OpenStack service has the credentials) can then '
                     'speak for any host: keep a dead host "alive", or have '
                     'a live one declared dead. Logged as a warning at '
                     'every start.'),
    cfg.FloatOpt('heartbeat_max_skew',
                 default=30.0, min=1.0,
                 help='Seconds a signed heartbeat\'s send time may differ '
                      'from the engine\'s clock; one outside is dropped as '
                      'stale (a replay of a recorded heartbeat). Keep the '
                      'clocks in sync (NTP).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
