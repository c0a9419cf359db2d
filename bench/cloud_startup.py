#!/usr/bin/env python3
"""Start-up time and memory of the cloud harness (tests/harness).

Brings up the whole cloud (keystone, placement, glance, nova-api,
conductor, scheduler, a neutron stand-in, and 3 compute hosts each behind
its BMC simulator) from its database snapshot, ``--runs`` times, and
reports the median time until every compute host is up and mapped in nova
(``startup_s``) and the resident memory of all the cloud's processes then
(``rss_mb``, the sum of their RSS, so shared pages count more than once:
an upper bound). A first start that has to create the snapshot is not
counted.

The machine is shared and noisy, so the same process also times the
dominant cost of a start as a baseline: importing nova's compute manager
in a new interpreter of the cloud's virtualenv (``import_nova_s``), and
reports ``ratio`` = startup_s / import_nova_s. Targets (issue 5):
startup_s <= 30 with the databases created, rss_mb <= 2,500.

The last line printed is one JSON object with ``startup_s`` and
``rss_mb``.

    python bench/cloud_startup.py [--runs 3] [--hosts 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from tests.harness import cloud as harness  # noqa: E402
from tests.harness import install  # noqa: E402


def rss_mb(cloud):
    total = 0
    for pid in cloud.leftovers():
        try:
            with open('/proc/%d/status' % pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024.0


def import_nova_s():
    python = os.path.join(install.venv_path('openstack'), 'bin', 'python')
    began = time.monotonic()
    subprocess.run([python, '-c', 'import nova.compute.manager'],
                   check=True)
    return time.monotonic() - began


def one_start(hosts, port_base):
    with tempfile.TemporaryDirectory(prefix='fdr-bench-cloud-') as workdir:
        cloud = harness.Cloud(workdir, hosts=hosts, name='fdrbench',
                              port_base=port_base)
        with cloud:
            return cloud.timings['startup_s'], rss_mb(cloud), dict(
                cloud.timings)


def main(argv):
    # (The configuration, key and credentials files it writes must be
    # private: the commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--hosts', type=int, default=3)
    parser.add_argument('--port-base', type=int, default=26500)
    args = parser.parse_args(argv)
    install.ensure_all()
    if not os.path.exists(os.path.join(
            harness.Cloud('/tmp', name='fdrbench').snapshot_dir, 'done')):
        print('Creating the database snapshot first (not timed)')
        one_start(args.hosts, args.port_base)
    starts, memories, imports = [], [], []
    for run in range(args.runs):
        imports.append(import_nova_s())
        startup, memory, timings = one_start(args.hosts, args.port_base)
        starts.append(startup)
        memories.append(memory)
        print('run %d: up in %.1f s (databases %.1f s, web services %.1f s)'
              ', %.0f MB RSS; importing nova alone %.1f s' % (
                  run + 1, startup, timings['databases_s'],
                  timings['web_services_s'], memory, imports[-1]))
    startup = statistics.median(starts)
    baseline = statistics.median(imports)
    print(json.dumps({'startup_s': round(startup, 1),
                      'rss_mb': round(max(memories)),
                      'import_nova_s': round(baseline, 2),
                      'ratio': round(startup / baseline, 2),
                      'runs': args.runs, 'hosts': args.hosts}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
