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

"""Options of the recovery: which drivers fence, isolate, evacuate and
notify.

Each driver is loaded by name through stevedore and built with
``conf=CONF``; it reads its own option group (``[ipmi]``, ``[email]``, ...).
A name of the form ``package.module:Class`` is imported instead (a plugin
that is not installed as an entry point, such as the test drivers).
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'recovery',
    title='Recovery of a dead host',
    help='What freezer-dr does to a host declared dead: fence it, isolate '
         'it in nova, evacuate its instances, notify.')

opts = [
    cfg.StrOpt('fencer',
               default='noop',
               help='Fencer driver (namespace freezer_dr.fencers): ipmi, '
                    'redfish, libvirt or noop. noop cannot confirm '
                    'power-off, so no host is evacuated after it unless it '
                    'is listed in unfenced_evacuation_hosts, and the engine '
                    'refuses to start with it unless every host it knows '
                    'is listed there.'),
    cfg.StrOpt('evacuator',
               default='noop',
               help='Evacuator driver (namespace freezer_dr.evacuators): '
                    'nova or noop.'),
    cfg.ListOpt('notifiers',
                default=['log'],
                help='Notifier drivers (namespace freezer_dr.notifiers), '
                     'all of which are told of every recovery: log, email, '
                     'webhook, bus.'),
    cfg.ListOpt('unfenced_evacuation_hosts',
                default=[],
                help='Hosts whose instances may be evacuated although '
                     'their power-off was not confirmed. This overrides '
                     'safety rule 1 (a host that still runs may corrupt '
                     'the disks of its evacuated instances); every use is '
                     'logged and journaled. Leave empty.'),
    cfg.StrOpt('isolator',
               default='nova',
               help='Isolator driver (namespace freezer_dr.isolators): '
                    'nova forces the dead host\'s nova-compute down and '
                    'disables it before its instances are evacuated (the '
                    'isolate step; [nova] says how to reach nova); noop '
                    'isolates nothing, for a fencing-only deployment (the '
                    'step is journaled as skipped).'),
    cfg.BoolOpt('isolate',
                default=True,
                deprecated_for_removal=True,
                deprecated_reason='Replaced by [recovery] isolator: '
                                  'isolator = noop is isolate = false.',
                help='Whether to isolate the dead host in nova. false is '
                     'read as isolator = noop.'),
    cfg.IntOpt('max_parallel',
               default=4, min=1, max=256,
               help='Recoveries run at the same time (worker threads of '
                    'freezer-dr-engine); more wait for a free worker. One '
                    'host is never recovered twice at the same time.'),
    cfg.IntOpt('step_attempts',
               default=3, min=1, max=20,
               help='Calls of a driver that raises (nova, keystone or a '
                    'BMC unreachable, a timeout) before its step fails. A '
                    'failure the driver reports as a result (power-off not '
                    'confirmed, an instance that could not be evacuated) '
                    'is final.'),
    cfg.FloatOpt('step_retry_delay',
                 default=2.0, min=0.0, max=300.0,
                 help='Seconds before calling a driver that raised again; '
                      'doubled for each further attempt.'),
    cfg.BoolOpt('auto_rearm',
                default=False,
                help='Put a host back in service by itself once its '
                     'recovery succeeded (every evacuation finished), as '
                     'if an operator ran "freezer-dr-manage host rearm": '
                     'it comes back up with its next heartbeat. Never '
                     'after a failed recovery. By default the host stays '
                     'fenced and disabled until an operator re-arms it.'),
    cfg.FloatOpt('journal_poll_interval',
                 default=2.0, min=0.1, max=300.0,
                 help='Seconds between two reads of the journal by '
                      'freezer-dr-engine, to learn of hosts re-armed and '
                      'recoveries retried with freezer-dr-manage, and to '
                      'resume recoveries left unfinished.'),
    cfg.IntOpt('max_fences',
               default=5, min=0, max=10000,
               help='At most this many hosts are fenced within fence_window '
                    '(0: no limit). Counted in the journal, so that engine '
                    'restarts, resumed and retried recoveries and every '
                    'engine sharing the journal share one budget. A host '
                    'declared dead over budget is held (not fenced, not '
                    'evacuated), the administrators are alerted, and an '
                    'operator releases it with "freezer-dr-manage host '
                    'release HOST". Independent of the storm guard: it '
                    'caps what a slow trickle of deaths (or a lying bus) '
                    'may power off.'),
    cfg.FloatOpt('fence_window',
                 default=600.0, min=1.0,
                 help='Seconds over which max_fences counts the fences '
                      'started.'),
    cfg.FloatOpt('min_heard_fraction',
                 default=0.5, min=0.0, max=1.0,
                 help='Nobody is declared dead (so nobody is fenced) while '
                      'the engine hears fewer than this fraction of the '
                      'hosts it expects to hear (those up and those '
                      'suspect): it may be the one cut off from them. One '
                      'silent host alone is always recovered. The '
                      'administrators are alerted as for a storm. 0 '
                      'disables the check.'),
    cfg.FloatOpt('already_off_recheck',
                 default=2.0, min=0.0, max=60.0,
                 help='When the fence device says the power was already off '
                      'before anything was sent, seconds to wait before '
                      'reading it again: the fence is believed only if it '
                      'still says off and the host was not heard since the '
                      'fence began (a lying BMC, or one mapped to another '
                      'host, says "already off" too).'),
    cfg.StrOpt('monitor',
               default='nova',
               help='Monitor driver (namespace freezer_dr.monitors) that '
                    'the one-shot freezer-dr command asks for the failed '
                    'hosts: nova (the nova-compute services nova reports '
                    'down or forced down; [nova] says how to reach it), '
                    'heartbeat (the hosts a detect-only freezer-dr-engine '
                    'declared dead, from the journal), static (the hosts '
                    'of [static_monitor] hosts, for drills), none (no '
                    'failure).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
