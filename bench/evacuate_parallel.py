#!/usr/bin/env python3
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

"""Evacuation of 100 instances of a dead host: freezer-dr against the
oracle, on a real nova, in the same run (issue 14, point 3).

On the cloud harness (tests/harness; 4 compute hosts): ``--instances``
(100) instances are booted on compute-1, compute-1 is killed (SIGKILL of
its processes, its BMC still on), then

* **freezer-dr**: its nova isolator and evacuator, in this process, at the
  configured concurrency (``[evacuation] concurrency``, or
  ``--concurrency``): from the isolate step (force-down and disable) until
  the evacuator returns, every instance verified ACTIVE on another host
  (``seconds_100``). The drivers are built, and checked (``validate()``,
  as freezer-dr-engine does at start), before the clock starts; nova's
  instance notifications reach the evacuator (``observe``) through
  freezer-dr's nova listener, as they do in freezer-dr-engine.
* **the oracle** (bench/_nova.py): a pre-authenticated session, the
  service id and the instances known beforehand; it forces the host down
  and fires all the evacuations at once (a thread each), then polls nova
  every 0.5 s, as freezer-dr's evacuator does, until every instance is
  ACTIVE elsewhere (``oracle_100``): nova's own limit on this machine.

The host is revived and the instances deleted between the two; with
``--rounds`` above 1 the order alternates (freezer-dr, oracle, oracle,
freezer-dr, ...) and the medians are reported. ``ratio_to_oracle`` =
seconds_100 / oracle_100; target (issue 14) <= 1.2.
``nova_cpu_s_per_evacuation``: CPU seconds used by nova's processes
(nova-api, conductor, scheduler, the computes) during freezer-dr's
evacuation, divided by the number of instances (the oracle's beside it).

The last line printed is one JSON object with ``seconds_100``,
``oracle_100``, ``ratio_to_oracle`` and ``nova_cpu_s_per_evacuation``.

    python bench/evacuate_parallel.py [--instances 100] [--concurrency N]
                                      [--rounds 1] [--plot evac.png]
"""

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))

import _nova  # noqa: E402

from freezer_dr.conf import nova as nova_conf  # noqa: E402
from freezer_dr.drivers.nova import evacuation as nova_driver  # noqa: E402
from freezer_dr.drivers.nova import isolation  # noqa: E402
from freezer_dr.drivers.nova import policy as nova_policy  # noqa: E402
from tests.harness import cloud as harness  # noqa: E402

DEFAULT_CONCURRENCY = next(o.default for o in nova_conf.evacuation_opts
                           if o.name == 'concurrency')
VICTIM = 'compute-1'
FREEZER_DR = 'freezer-dr'
ORACLE = 'oracle'
TARGET_RATIO = 1.2


class Verified(logging.Handler):
    """When freezer-dr's evacuator said each instance was verified (its
    log line), for the plot."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.at = {}

    def emit(self, record):
        message = str(record.msg)
        if message.startswith('Instance %s evacuated from') and record.args:
            self.at.setdefault(record.args[0], record.created)


def boot(cloud, count, number):
    prefix = 'evac%d' % number
    servers = cloud.boot_many(count, VICTIM, prefix=prefix, timeout=900)
    return prefix, sorted(s.id for s in servers)


def nova_listener(cloud, evacuator):
    """nova's instance notifications to ``evacuator.observe``, as
    freezer-dr-engine's nova listener does (its verification reads an
    instance as soon as nova announces it back; it polls otherwise).
    None when this freezer-dr has no such hook."""
    try:
        from oslo_config import cfg
        import oslo_messaging

        from freezer_dr import bus
        if not hasattr(evacuator, 'observe'):
            return None
        conf = cfg.ConfigOpts()
        conf([], project='freezer-dr-bench')
        transport = oslo_messaging.get_notification_transport(
            conf, url=cloud.transport_url)
        listener = bus.NovaListener(transport, 'nova',
                                    ['versioned_notifications'],
                                    'freezer-dr-bench-evac',
                                    lambda *args, **kwargs: None,
                                    instance_sink=evacuator.observe)
        listener.start(wait=True)
        return listener
    except TypeError as exc:          # an older freezer-dr
        print('    (no nova listener: %s)' % exc)
        return None


def run_freezer_dr(cloud, ids, concurrency):
    evacuator = nova_driver.NovaEvacuator(
        session=cloud.session(harness.FREEZER_USER, 'service'),
        region_name=harness.REGION,
        policy=nova_policy.Policy(concurrency=concurrency,
                                  verify_timeout=900, retry_delay=1))
    isolator = isolation.NovaIsolator(
        session=cloud.session(harness.FREEZER_USER, 'service'),
        region_name=harness.REGION)
    for driver in (isolator, evacuator):
        warnings = driver.validate()
        if warnings:
            print('    %s: %s' % (type(driver).__name__, warnings))
    listener = nova_listener(cloud, evacuator)
    verified = Verified()
    logger = logging.getLogger(nova_driver.__name__)
    logger.addHandler(verified)
    logger.setLevel(logging.INFO)
    try:
        cpu = _nova.nova_cpu(cloud)
        t0 = time.time()
        status, detail = isolator.isolate(VICTIM)
        isolated = time.time()
        assert status == 'done', detail
        results = evacuator.evacuate(VICTIM)
        end = time.time()
        cpu = _nova.cpu_between(cpu, _nova.nova_cpu(cloud))
    finally:
        logger.removeHandler(verified)
        if listener is not None:
            listener.stop()
    bad = [r for r in results if not r.ok]
    if len(results) != len(ids) or bad:
        raise SystemExit('evacuation of %d instances failed: %d results, '
                         '%d failed: %s' % (len(ids), len(results),
                                            len(bad), bad[:3]))
    return {'t0': t0, 'seconds': end - t0, 'isolate_s': isolated - t0,
            'cpu': cpu, 'active': verified.at,
            'notifications': listener is not None,
            'targets': sorted({r.target_host for r in results})}


def run_oracle(cloud, prefix, ids):
    oracle = _nova.Oracle(cloud.session(), VICTIM, ids)
    poller = _nova.Poller(cloud.session(), prefix, VICTIM, interval=0.5)
    cpu = _nova.nova_cpu(cloud)
    t0 = time.time()
    fired = oracle.run()
    poller.start()
    harness.wait_until(lambda: poller.all_active(ids), 900,
                       'every instance ACTIVE elsewhere', interval=0.1)
    end = max(poller.active.values())
    cpu = _nova.cpu_between(cpu, _nova.nova_cpu(cloud))
    poller.stop()
    return {'t0': t0, 'seconds': end - t0, 'cpu': cpu,
            'requests': fired['requests'], 'active': dict(poller.active),
            'isolate_s': fired['force_down'][1] - t0,
            'targets': sorted(set(poller.target.values()))}


def one_round(cloud, kind, number, args):
    api_log = os.path.join(cloud.log_dir, 'nova-api.log')
    prefix, ids = boot(cloud, args.instances, number)
    time.sleep(args.settle)
    cloud.host(VICTIM).kill()
    offset = _nova.log_offset(api_log)
    if kind == FREEZER_DR:
        result = run_freezer_dr(cloud, ids, args.concurrency)
        result['requests'] = _nova.server_actions(
            _nova.api_requests(api_log, offset), ids)
    else:
        result = run_oracle(cloud, prefix, ids)
    result['kind'] = kind
    count = len(ids)
    answered = sorted(v[1] - result['t0']
                      for v in result['requests'].values())
    cpu = sum(result['cpu'].values())
    print('  %-10s %3d instances ACTIVE elsewhere in %6.1f s (%.2f s '
          'each); isolated at %.1f s; requests answered %.1f .. %.1f s; '
          'nova used %.1f CPU s '
          '(%.2f per evacuation: %s); to %s' % (
              kind, count, result['seconds'], result['seconds'] / count,
              result['isolate_s'], answered[0] if answered else -1,
              answered[-1] if answered else -1, cpu, cpu / count,
              ', '.join('%s %.1f' % kv for kv in sorted(
                  result['cpu'].items())), ', '.join(result['targets'])),
          flush=True)
    cloud.revive(VICTIM)
    _nova.delete_all_servers(cloud)
    return result


def main(argv):
    # (The configuration, key and credentials files it writes must be
    # private: the commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--instances', type=int, default=100)
    parser.add_argument('--concurrency', type=int,
                        default=DEFAULT_CONCURRENCY)
    parser.add_argument('--rounds', type=int, default=1,
                        help='rounds of each contender')
    parser.add_argument('--settle', type=float, default=5.0,
                        help='seconds between the boot and the kill')
    parser.add_argument('--plot', metavar='FILE.png')
    parser.add_argument('--port-base', type=int, default=int(os.environ.get(
        'FREEZER_DR_CLOUD_PORT_BASE', 46000)))
    parser.add_argument('--name', default='benche2e')
    args = parser.parse_args(argv)
    order = []
    for i in range(args.rounds):
        order += [FREEZER_DR, ORACLE] if i % 2 == 0 else [ORACLE, FREEZER_DR]
    print('== %d instances on %s, freezer-dr (concurrency %d) against the '
          'oracle (all at once), %d round(s) each; %d cores' % (
              args.instances, VICTIM, args.concurrency, args.rounds,
              os.cpu_count()), flush=True)
    with tempfile.TemporaryDirectory(prefix='fdr-bench-evac-') as workdir:
        with harness.Cloud(workdir, hosts=4, name=args.name,
                           port_base=args.port_base,
                           log=lambda m: print('   ', m, flush=True)) as cloud:
            runs = [one_round(cloud, kind, n, args)
                    for n, kind in enumerate(order, 1)]
    ours = [r for r in runs if r['kind'] == FREEZER_DR]
    theirs = [r for r in runs if r['kind'] == ORACLE]
    seconds = statistics.median(r['seconds'] for r in ours)
    oracle = statistics.median(r['seconds'] for r in theirs)

    def per_evacuation(rs):
        return statistics.median(sum(r['cpu'].values()) / args.instances
                                 for r in rs)
    result = {'seconds_100': round(seconds, 2),
              'oracle_100': round(oracle, 2),
              'ratio_to_oracle': round(seconds / oracle, 2),
              'nova_cpu_s_per_evacuation': round(per_evacuation(ours), 3),
              'oracle_nova_cpu_s_per_evacuation': round(
                  per_evacuation(theirs), 3),
              'instances': args.instances,
              'concurrency': args.concurrency, 'rounds': args.rounds,
              'cores': os.cpu_count(),
              'target_met': seconds / oracle <= TARGET_RATIO}
    print('\n  ratio_to_oracle %.2f (target <= %.1f)'
          % (result['ratio_to_oracle'], TARGET_RATIO))
    if args.plot:
        import _plots
        median_ours = sorted(ours, key=lambda r: r['seconds'])[
            (len(ours) - 1) // 2]
        median_theirs = sorted(theirs, key=lambda r: r['seconds'])[
            (len(theirs) - 1) // 2]
        _plots.evacuations(args.plot, [
            ('freezer-dr (concurrency %d)' % args.concurrency,
             median_ours['t0'], median_ours['requests'],
             median_ours['active']),
            ('oracle (all at once)', median_theirs['t0'],
             median_theirs['requests'], median_theirs['active'])],
            '%d instances evacuated from a dead host on the harness '
            '(%d cores, shared): ratio to the oracle %.2f'
            % (args.instances, os.cpu_count(), result['ratio_to_oracle']))
        print('  plot: %s' % args.plot)
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
