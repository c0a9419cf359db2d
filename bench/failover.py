#!/usr/bin/env python3
"""Take-over of a killed leader: how long from kill -9 of the leading
freezer-dr-engine to the first action of the new leader on a host that was
already dead.

Two real engine processes on the machine's RabbitMQ share a sqlite
journal; a real agent heartbeats for one host. Its agent is killed, both
engines declare it dead, the leader starts its recovery and is held (a
test gate in the isolate step); then the leader is killed (SIGKILL). The
time measured runs from the kill to the first recovery decision of the new
leader on that host (its decisions file, ``state`` of the host), for each
backend: ``default`` (the one that follows the journal: ``file://``
beside it) and ``redis`` (the machine's redis; the lease is the lock's
expiry). Median of ``--runs`` runs each.

The baseline is the lease itself, in the same run: ``takeover_s`` is to be
compared with ``lease_s`` (target: each take-over <= lease_s + 1 s).

The last line printed is one JSON object:
``{"lease_s": ..., "takeover_s": {"default": ..., "redis": ...}}``.

    python bench/failover.py [--lease 5] [--runs 3]
"""

import argparse
import json
import os
import pathlib
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from tests import helpers  # noqa: E402
from tests.functional import deployment  # noqa: E402
from tests.functional.deployment import HOST  # noqa: E402
from tests.functional.deployment import PLUGINS  # noqa: E402
from tests.peers import rabbitmq  # noqa: E402


def one_takeover(workdir, backend, lease):
    """Seconds from kill -9 of the leader to the new leader's first
    action on the dead host."""
    plugin_dir = os.path.join(workdir, 'plugins')
    os.makedirs(plugin_dir)
    os.environ['FREEZER_DR_TEST_PLUGINS_DIR'] = plugin_dir
    os.environ['PYTHONPATH'] = helpers.TOP
    open(os.path.join(plugin_dir, 'gate-isolate'), 'w').close()
    options = {'coordination__lease': lease}
    if backend == 'redis':
        options['coordination__backend_url'] = (
            'redis://127.0.0.1:6379?namespace=fdrbench-%s'
            % os.path.basename(workdir))
    url = 'sqlite:///%s' % os.path.join(workdir, 'journal.sqlite')
    with helpers.Processes(workdir) as processes:
        d = deployment.Deployment(
            lambda **o: deployment.Cloud(pathlib.Path(workdir),
                                         rabbitmq.URL, **o),
            processes, url, PLUGINS + 'SwitchFencer', **options)
        try:
            first = d.start_engine(own=True)
            helpers.wait_for(lambda: d.journal.leader()[1] == 'engine-0', 30,
                             message='engine-0 elected')
            second = d.start_engine(own=True)
            agent = deployment.start_agent(processes, d.cloud, HOST)
            for engine in (first, second):
                helpers.wait_for(
                    lambda e=engine: d.decisions_of(e, 'up', HOST), 60,
                    message='%s hears the agent' % engine.name)
            agent.stop(signal.SIGKILL)
            helpers.wait_for(
                lambda: os.path.exists(os.path.join(plugin_dir,
                                                    'reached-isolate')),
                60, message='the leader at isolate')
            helpers.wait_for(
                lambda: d.decisions_of(second, 'declare_dead', HOST), 30,
                message='the standby declares it dead too')
            first.kill()
            killed = time.time()
            open(os.path.join(plugin_dir, 'open-isolate'), 'w').close()
            acted = helpers.wait_for(
                lambda: d.decisions_of(second, 'state', HOST),
                10 * lease + 60, message='the new leader acts')
            return acted[0]['time'] - killed
        finally:
            d.close()


def main(argv=None):
    # (The configuration, key and credentials files it writes must be
    # private: the commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lease', type=float, default=5.0)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args(argv)
    rabbitmq.await_rabbit()
    takeover = {}
    with tempfile.TemporaryDirectory(prefix='fdr-failover-') as top:
        for backend in ('default', 'redis'):
            seconds = []
            for run in range(args.runs):
                workdir = os.path.join(top, '%s-%d' % (backend, run))
                os.makedirs(workdir)
                seconds.append(one_takeover(workdir, backend, args.lease))
                print('%-8s run %d: the new leader acted %.2f s after the '
                      'kill (lease %.1f s)' % (backend, run + 1, seconds[-1],
                                               args.lease), flush=True)
            takeover[backend] = round(statistics.median(seconds), 3)
    print(json.dumps({'lease_s': args.lease, 'takeover_s': takeover}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
