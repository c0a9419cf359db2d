#!/usr/bin/env python3
"""Evacuation of 10 and of 100 instances of a dead host, on a real nova.

On the cloud harness (tests/harness; 4 compute hosts), for N in 10 and
100: boot N instances on compute-1, kill compute-1 (SIGKILL of its
processes, its BMC still on), then time freezer-dr's nova evacuator from
the isolate step (force-down and disable) until every instance is
verified ACTIVE on another host, at the configured concurrency
(``[evacuation] concurrency``, or --concurrency). The host is revived and
the instances deleted between the two.

The 10-instance run is the baseline of the 100-instance run, in the same
process on the same cloud: ``ratio`` = seconds_100 / seconds_10. Target
(issue 6): ratio <= 2.

The last line printed is one JSON object with ``seconds_10``,
``seconds_100`` and ``ratio``.

    python bench/evacuate_parallel.py [--concurrency N]
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from freezer_dr.conf import nova as nova_conf  # noqa: E402
from freezer_dr.drivers.nova import evacuation as nova_driver  # noqa: E402
from freezer_dr.drivers.nova import isolation  # noqa: E402
from freezer_dr.drivers.nova import policy as nova_policy  # noqa: E402
from tests.harness import cloud as harness  # noqa: E402

DEFAULT_CONCURRENCY = next(o.default for o in nova_conf.evacuation_opts
                           if o.name == 'concurrency')


def cloud_cpu_s(cloud):
    """CPU seconds used so far by every process of the cloud."""
    total = 0
    for pid in cloud.leftovers():
        fields = harness.proc_stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])    # utime + stime
    return total / os.sysconf('SC_CLK_TCK')


def evacuate(cloud, count, concurrency):
    cloud.boot_many(count, 'compute-1', prefix='bench%d' % count)
    cloud.host('compute-1').kill()
    evacuator = nova_driver.NovaEvacuator(
        session=cloud.session(harness.FREEZER_USER, 'service'),
        region_name=harness.REGION,
        policy=nova_policy.Policy(concurrency=concurrency,
                                  verify_timeout=600, retry_delay=1))
    isolator = isolation.NovaIsolator(
        session=cloud.session(harness.FREEZER_USER, 'service'),
        region_name=harness.REGION)
    cpu = cloud_cpu_s(cloud)
    began = time.monotonic()
    status, detail = isolator.isolate('compute-1')
    assert status == 'done', detail
    results = evacuator.evacuate('compute-1')
    seconds = time.monotonic() - began
    cpu = cloud_cpu_s(cloud) - cpu
    bad = [r for r in results if not r.ok]
    if len(results) != count or bad:
        raise SystemExit('evacuation of %d instances failed: %d results, '
                         '%d failed: %s' % (count, len(results), len(bad),
                                            bad[:3]))
    targets = sorted({r.target_host for r in results})
    print('%3d instances evacuated in %.1f s (%.2f s each), to %s; the '
          'cloud used %.1f CPU s (%.2f per instance, %d cores here)' % (
              count, seconds, seconds / count, ', '.join(targets), cpu,
              cpu / count, os.cpu_count()), flush=True)
    cloud.revive('compute-1')
    cloud.delete_all_servers(timeout=300)
    return seconds, cpu


def main(argv):
    # (The configuration, key and credentials files it writes must be
    # private: the commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--concurrency', type=int,
                        default=DEFAULT_CONCURRENCY)
    parser.add_argument('--port-base', type=int, default=26700)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='fdr-bench-evac-') as workdir:
        with harness.Cloud(workdir, hosts=4, name='fdrbenchevac',
                           port_base=args.port_base, log=print) as cloud:
            seconds_10, cpu_10 = evacuate(cloud, 10, args.concurrency)
            seconds_100, cpu_100 = evacuate(cloud, 100, args.concurrency)
    print(json.dumps({'seconds_10': round(seconds_10, 2),
                      'seconds_100': round(seconds_100, 2),
                      'ratio': round(seconds_100 / seconds_10, 2),
                      'concurrency': args.concurrency,
                      'cloud_cpu_s_10': round(cpu_10, 1),
                      'cloud_cpu_s_100': round(cpu_100, 1),
                      'cores': os.cpu_count()}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
