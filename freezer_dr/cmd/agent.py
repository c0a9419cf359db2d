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

"""``freezer-dr-agent``: heartbeats of this compute host.

``freezer-dr-agent --config-file FILE`` runs until SIGTERM/SIGINT; on SIGTERM
it announces a planned shutdown (maintenance on) before it exits, and the
next start announces its end. ``freezer-dr-agent --maintenance on|off``
announces maintenance of this host (e.g. before a reboot) and exits.
"""

import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging

from freezer_dr import agent as agent_module
from freezer_dr import bus
from freezer_dr import cmd
from freezer_dr import signing
from freezer_dr.agent import checks as checks_module
from freezer_dr.conf import CONF
from freezer_dr.liveness import core as liveness_core

LOG = logging.getLogger(__name__)

_CLI = [
    cfg.StrOpt('maintenance', choices=['on', 'off'],
               help='Announce that this host enters (on) or leaves (off) '
                    'maintenance, then exit.'),
    cfg.StrOpt('reason', default='',
               help='Why, with --maintenance (shown to the operators).'),
]


def main(argv=None):
    CONF.register_cli_opts(_CLI)
    try:
        cmd.prepare(sys.argv[1:] if argv is None else argv,
                    'freezer-dr-agent')
        # The agent's notifications go to the heartbeat exchange.
        oslo_messaging.set_transport_defaults(CONF.bus.heartbeat_exchange)
        transport = oslo_messaging.get_notification_transport(CONF)
    except (cfg.Error, ValueError,
            oslo_messaging.MessagingException) as exc:
        sys.stderr.write('freezer-dr-agent: bad configuration: %s\n' % exc)
        return 2
    conf = CONF.agent
    host = conf.host
    key = None
    if conf.heartbeat_key_file:
        try:
            key = signing.read_key(conf.heartbeat_key_file,
                                   '[agent] heartbeat_key_file')
        except signing.KeyError_ as exc:
            sys.stderr.write('freezer-dr-agent: bad configuration: %s\n'
                             % exc)
            return 2
    else:
        LOG.warning('[agent] heartbeat_key_file is not set: heartbeats are '
                    'sent unsigned, and an engine that checks them drops '
                    'them')
    memory = agent_module.ShutdownMemory(conf.state_file)
    if CONF.maintenance:
        enabled = CONF.maintenance == 'on'
        try:
            agent_module.announce_maintenance(
                bus.kombu_url(CONF),
                CONF.bus.heartbeat_exchange, CONF.bus.heartbeat_topic, host,
                enabled, CONF.reason or 'operator request', 'operator',
                key=key)
        except Exception as exc:
            sys.stderr.write('freezer-dr-agent: maintenance %s was NOT '
                             'announced: %s: %s\n' % (
                                 CONF.maintenance, type(exc).__name__, exc))
            return 1
        print('%s: maintenance %s announced' % (host, CONF.maintenance))
        return 0
    return run(transport, host, conf, memory, key)


def run(transport, host, conf, memory, key=None):
    notifier = agent_module.make_notifier(transport, host,
                                          CONF.bus.heartbeat_topic)
    runner = checks_module.CheckRunner(checks_module.from_conf(conf),
                                       conf.check_interval,
                                       conf.check_timeout)
    runner.start()
    agent = agent_module.Agent(notifier, host, conf.heartbeat_interval,
                               runner.results, key=key)
    stop = threading.Event()
    stopped_by = []

    cmd.stop_on_signals(stop, on_signal=stopped_by.append)
    if memory.announced():
        if _announce(transport, host, False, 'agent started after a '
                     'planned shutdown', key):
            memory.remember(False)
    LOG.info('freezer-dr-agent for host %s (boot %s): heartbeat every '
             '%.2f s on topic %s', host, agent.boot_id,
             conf.heartbeat_interval, CONF.bus.heartbeat_topic)
    cmd.notify_systemd('READY=1')
    agent.run(stop)
    runner.stop()
    if stopped_by and stopped_by[0] == signal.SIGTERM:
        if _announce(transport, host, True, 'planned shutdown: '
                     'freezer-dr-agent stopped', key):
            memory.remember(True)
    LOG.info('freezer-dr-agent stopped after %d heartbeats (%d not sent)',
             agent.sent, agent.failed)
    return 0


def _announce(transport, host, enabled, reason, key=None):
    # (At most 3 s: on SIGTERM the whole stop has cmd.STOP_DEADLINE.)
    try:
        agent_module.announce_maintenance(
            bus.kombu_url(CONF),
            CONF.bus.heartbeat_exchange, CONF.bus.heartbeat_topic, host,
            enabled, reason, liveness_core.AGENT, key=key, timeout=3.0)
        return True
    except Exception as exc:
        LOG.error('Maintenance %s was NOT announced: %s: %s',
                  'on' if enabled else 'off', type(exc).__name__, exc)
        return False


if __name__ == '__main__':
    sys.exit(main())
