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

"""Options of freezer-dr-engine."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'engine',
    title='freezer-dr-engine',
    help='The engine: listens on the bus, runs the liveness core, carries '
         'out its decisions.')

opts = [
    cfg.StrOpt('decisions_file',
               help='Append every decision of the liveness core to this '
                    'file, one JSON object per line, in the format of '
                    'freezer-dr-replay --json (so a live run and the replay '
                    'of its recording can be compared line by line).'),
    cfg.FloatOpt('tick_interval',
                 default=0.1, min=0.01, max=1.0,
                 help='Seconds between two advances of the liveness core\'s '
                      'clock when no message arrives: the delay with which '
                      'a deadline is noticed.'),
    cfg.BoolOpt('dry_run',
                default=False,
                help='Recover nobody: log every decision, a host declared '
                     'dead included, marked "DRY RUN", and touch neither '
                     'the drivers nor the journal.'),
    cfg.FloatOpt('inventory_interval',
                 default=60.0, min=0.0,
                 help='Seconds between two questions to nova (its '
                      'nova-compute services, through [recovery] isolator) '
                      'and to the fencer (the hosts it has credentials '
                      'for) about the hosts the engine should hear from; '
                      'also asked at start. A host they list and that was '
                      'never heard is recovered if nova reports it down '
                      '([liveness] startup_grace). 0: never asked (hosts '
                      'are known only from their heartbeats).'),
    cfg.FloatOpt('stats_interval',
                 default=60.0, min=1.0,
                 help='Seconds between two log lines of ingest statistics '
                      '(messages, malformed messages, hosts per state).'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
