"""Many freezer-dr agents in one process, one thread each.

Used by the functional tests where 50 real agent processes would not fit on
the machine: each thread runs the real ``freezer_dr.agent.Agent`` with a real
oslo.messaging notifier; only the process is shared.

    python -m tests.functional.fleet --config-file FILE --host H1 --host H2 ...

Runs until SIGTERM/SIGINT.
"""

import signal
import sys
import threading
import uuid

from oslo_config import cfg
import oslo_messaging

from freezer_dr import agent
from freezer_dr import signing
from freezer_dr.conf import CONF


def main(argv):
    CONF.register_cli_opts([
        cfg.MultiStrOpt('host', required=True,
                        help='A host to heartbeat for.'),
        cfg.StrOpt('master-key-file', dest='master_key_file',
                   help='The heartbeat master key: each host signs with '
                        'its key derived from it (unset: unsigned).')])
    CONF(argv, project='freezer-dr', default_config_files=[])
    oslo_messaging.set_transport_defaults(CONF.bus.heartbeat_exchange)
    transport = oslo_messaging.get_notification_transport(CONF)
    master = signing.read_key(CONF.master_key_file, 'master key') \
        if CONF.master_key_file else None
    fleet = agent.Fleet(
        agent.Agent(agent.make_notifier(transport, host,
                                        CONF.bus.heartbeat_topic),
                    host, CONF.agent.heartbeat_interval,
                    boot_id=str(uuid.uuid4()),
                    key=signing.derive(master, host) if master else None)
        for host in CONF.host)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    fleet.start(CONF.agent.heartbeat_interval)
    print('fleet of %d agents started' % len(fleet.agents), flush=True)
    stop.wait()
    fleet.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
