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

"""From a decision to the first driver call (issue 14, point 1: < 50 ms).

The engine's recovery runner is handed ``declare_dead`` decisions one at a
time (as the engine thread hands them over) and the time until its fencer
is first called is measured: the journal's record of the recovery and of
its fence step (under the fence budget's lock), the leader's check (one
fenced journal write, as ``coordination.Leadership.check`` makes), with
the journal on SQLite (a file), PostgreSQL and MariaDB (the local
servers; a database of the bench's own, dropped at the end). Every
recovery also announces its start through a notifier that takes 100 ms
(a broker round trip): it must not be on the path.

Baseline, in the same process: one journal write (``renew``) on the same
database; ``ratio_to_write`` says how many such writes the path costs.

The last line is one JSON object: ``first_call_ms`` (the largest median
of the three databases), and per database the median, p95 and the ratio.

    python bench/first_call.py [--recoveries N]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

import sqlalchemy  # noqa: E402

from freezer_dr import engine as engine_module  # noqa: E402
from freezer_dr.drivers import base  # noqa: E402
from freezer_dr.journal import api as journal_api  # noqa: E402
from freezer_dr.journal import schema  # noqa: E402
from freezer_dr.liveness import actions as act  # noqa: E402
from freezer_dr.recovery import runner as runner_module  # noqa: E402
from freezer_dr.recovery import workflow  # noqa: E402

DATABASE = 'bench_first_call'
SERVERS = {
    'postgresql': 'postgresql://postgres@127.0.0.1:5432/',
    'mysql': 'mysql+pymysql://root@127.0.0.1:3306/',
}


class Fencer(base.Fencer):
    """Records when it is first called for each host."""

    def __init__(self):
        self.first = {}
        self.called = threading.Event()

    def _first(self, host):
        self.first.setdefault(host, time.perf_counter())
        self.called.set()

    CAN_CONFIRM = True

    def fence(self, host):
        self._first(host)
        return base.FenceResult(host, True, 'power off read back')


class Evacuator(base.Evacuator):
    def evacuate(self, host, guard=None):
        return []


class SlowAnnouncer(base.Notifier):
    """Announces starts in 100 ms (a broker round trip)."""

    def started(self, report):
        time.sleep(0.1)
        return 'announced'

    def notify(self, report):
        return 'told'


class Leadership:
    """A lone leader: its check is one fenced write, as the real one's."""

    def __init__(self, journal):
        self._journal = journal
        self.epoch = journal.elect('bench')

    def leads(self):
        return True

    def owns(self, host):
        return True

    def token(self, host):
        return self.epoch

    def check(self, epoch):
        if not self._journal.renew(epoch):
            raise journal_api.Deposed('deposed')


def _database(kind):
    if kind == 'sqlite':
        path = os.path.join(tempfile.mkdtemp(prefix='bench-first-call-'),
                            'journal.db')
        return 'sqlite:///' + path, lambda: os.unlink(path)
    server = sqlalchemy.create_engine(schema.resolve_url(SERVERS[kind]),
                                      isolation_level='AUTOCOMMIT')
    with server.connect() as conn:
        conn.execute(sqlalchemy.text('DROP DATABASE IF EXISTS %s'
                                     % DATABASE))
        conn.execute(sqlalchemy.text('CREATE DATABASE %s' % DATABASE))

    def drop():
        with server.connect() as conn:
            conn.execute(sqlalchemy.text('DROP DATABASE IF EXISTS %s'
                                         % DATABASE))
        server.dispose()
    return SERVERS[kind] + DATABASE, drop


def measure(kind, recoveries):
    url, drop = _database(kind)
    db = schema.engine_for(url)
    schema.sync(db)
    journal = journal_api.Journal(db)
    try:
        leadership = Leadership(journal)
        fencer = Fencer()
        flow = workflow.Workflow(journal, fencer, Evacuator(),
                                 {'bus': SlowAnnouncer()},
                                 fence_budget=(recoveries + 1, 600),
                                 already_off_recheck=0)
        runner = runner_module.RecoveryRunner(
            flow, journal, engine_module.Mailbox(), max_parallel=4,
            poll_interval=3600, leadership=leadership)
        writes = []
        for _ in range(recoveries):
            began = time.perf_counter()
            journal.renew(leadership.epoch)
            writes.append((time.perf_counter() - began) * 1000)
        paths = []
        for number in range(recoveries):
            host = 'compute-%d' % number
            fencer.called.clear()
            began = time.perf_counter()
            runner.carry_out(act.Action(0.0, act.DECLARE_DEAD, host,
                                        'bench', (('boot_id', 'b'),)))
            fencer.called.wait(10)
            paths.append((fencer.first[host] - began) * 1000)
            # (Each alone: the next once this one has ended.)
            deadline = time.monotonic() + 30
            while runner._futures and time.monotonic() < deadline:
                time.sleep(0.01)
        runner.stop(wait=5)
    finally:
        db.dispose()
        drop()
    paths.sort()
    median = statistics.median(paths)
    write = statistics.median(writes)
    return {'median_ms': round(median, 1),
            'p95_ms': round(paths[int(0.95 * (len(paths) - 1))], 1),
            'write_ms': round(write, 2),
            'ratio_to_write': round(median / write, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--recoveries', type=int, default=30)
    args = parser.parse_args(argv)
    found = {}
    for kind in ('sqlite', 'postgresql', 'mysql'):
        found[kind] = measure(kind, args.recoveries)
        print('%-10s decision -> first driver call: median %.1f ms, p95 '
              '%.1f ms; one journal write %.2f ms (ratio %.1f)' % (
                  kind, found[kind]['median_ms'], found[kind]['p95_ms'],
                  found[kind]['write_ms'], found[kind]['ratio_to_write']),
              flush=True)
    result = {'first_call_ms': max(f['median_ms'] for f in found.values())}
    result.update(found)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
