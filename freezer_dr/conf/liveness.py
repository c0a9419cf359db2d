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

"""Options of the liveness core: failure detectors and corroboration."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'liveness',
    title='Host liveness',
    help='How freezer-dr decides that a compute host is dead: the failure '
         'detector applied to the heartbeats of freezer-dr-agent, and the '
         'evidence that must agree before a host is declared dead.')

opts = [
    cfg.StrOpt('detector',
               default='phi',
               choices=[('phi', 'phi-accrual detector (Hayashibara et al.): '
                                'adapts to the observed heartbeat intervals'),
                        ('timeout', 'fixed timeout since the last heartbeat')],
               help='Failure detector applied to every host\'s heartbeats.'),
    cfg.FloatOpt('heartbeat_interval',
                 default=1.0, min=0.05,
                 help='Interval (seconds) at which the agents are expected to '
                      'send heartbeats. The phi detector uses it as its '
                      'estimate until it has observed real intervals; keep it '
                      'equal to the agents\' heartbeat interval.'),
    cfg.FloatOpt('heartbeat_timeout',
                 default=3.0, min=0.1,
                 help='With detector = timeout: seconds without a heartbeat '
                      'after which a host becomes suspect.'),
    cfg.FloatOpt('phi_threshold',
                 default=8.0, min=1.0,
                 help='With detector = phi: suspicion level at which a host '
                      'becomes suspect. phi = 8 means the chance that the '
                      'next heartbeat is merely late is 1e-8.'),
    cfg.IntOpt('phi_window',
               default=100, min=2, max=1000,
               help='With detector = phi: how many of the latest heartbeat '
                    'intervals are kept per host to estimate their mean and '
                    'deviation. Each costs 8 bytes of memory per host.'),
    cfg.FloatOpt('phi_min_std_deviation',
                 default=0.1, min=0.001,
                 help='With detector = phi: lower bound (seconds) of the '
                      'standard deviation of heartbeat intervals, so that '
                      'perfectly regular heartbeats do not make the detector '
                      'over-sensitive.'),
    cfg.FloatOpt('acceptable_pause',
                 default=1.0, min=0.0,
                 help='With detector = phi: a pause (seconds) of the '
                      'heartbeat stream that is tolerated on top of the mean '
                      'interval, '
                      'e.g. a garbage collection or a busy agent.'),
    cfg.ListOpt('corroboration',
                default=['grace'],
                item_type=cfg.types.String(choices=['grace', 'nova']),
                help='Evidence that confirms a suspect host is dead; the host '
                     'is declared dead as soon as one of them agrees. '
                     '"grace": the host stayed suspect for '
                     'corroboration_grace seconds without a heartbeat. '
                     '"nova": nova\'s API reports the compute service down '
                     '(or forced down), asked at every [engine] '
                     'inventory_interval and at once when a nova event on '
                     'the bus says so (the event alone never counts).'),
    cfg.FloatOpt('corroboration_grace',
                 default=1.0, min=0.0,
                 help='Seconds a host must stay suspect before the "grace" '
                      'evidence agrees. Keep it at least heartbeat_interval, '
                      'so that hosts failing together are seen together by '
                      'the storm guard.'),
    cfg.FloatOpt('startup_grace',
                 default=60.0, min=0.1,
                 help='Seconds after the engine learns of a host (from '
                      'nova\'s compute services, or the fencer\'s '
                      'credentials, at start and every [engine] '
                      'inventory_interval) for it to be heard. A host never '
                      'heard by then is declared dead only if nova reports '
                      'its compute service down (a host that died while no '
                      'engine ran); one nova reports up, or that nova does '
                      'not know, is reported and never fenced (it may run '
                      'no agent).'),
    cfg.IntOpt('max_hosts',
               default=100000, min=1,
               help='The most hosts the engine tracks, whatever arrives: '
                    'messages about more are dropped and counted. Once '
                    'nova (or the fencer) has listed the hosts, only those '
                    'are tracked at all.'),
    cfg.FloatOpt('bus_recovery_grace',
                 default=10.0, min=0.0,
                 help='After the engine\'s own connection to the message bus '
                      'comes back, every host gets this many seconds on top '
                      'of its normal detection window to be heard from again '
                      'before it can become suspect (agents need time to '
                      'reconnect too).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
