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

"""Which heartbeat workers the engine kills as hung (one pass of the
supervision, its processes stood in for; the real workers are in the
functional tests). Found by bench/scale.py on a busy machine: workers
killed while importing, and while the engine was behind."""

import time

from freezer_dr import ingest


class Process:
    pid = 4242

    def __init__(self):
        self.killed = False

    def is_alive(self):
        return True

    def kill(self):
        self.killed = True


def _workers(count=2):
    workers = ingest.HeartbeatWorkers(count, lambda events: None)
    workers._processes = [Process() for _ in range(count)]
    return workers


def test_a_worker_still_starting_is_not_hung_before_its_start_allowance():
    workers = _workers(1)
    now = time.monotonic()
    workers._status[0].reported = now - 20      # spawned 20 s ago, silent
    workers._check(now)
    assert not workers._processes[0].killed
    workers._check(now + ingest._START_WITHIN)
    assert workers._processes[0].killed


def test_a_worker_that_reported_then_fell_silent_is_hung():
    workers = _workers(1)
    now = time.monotonic()
    status = workers._status[0]
    status.first_report = now - 30
    status.reported = now - ingest._HUNG_AFTER - 1
    workers._check(now)
    assert workers._processes[0].killed


def test_a_worker_waiting_for_a_busy_engine_is_not_hung():
    workers = _workers(1)
    now = time.monotonic()
    status = workers._status[0]
    status.first_report = now - 30
    status.reported = now - ingest._HUNG_AFTER - 1
    status.delivering = True
    workers._check(now)
    assert not workers._processes[0].killed


def test_a_worker_deaf_while_another_hears_is_killed_once_started():
    workers = _workers(2)
    now = time.monotonic()
    hearing, deaf = workers._status
    for status in (hearing, deaf):
        status.first_report = now - 30
        status.reported = now
    hearing.last_canary = now
    deaf.last_canary = now - ingest._HUNG_AFTER - 1
    workers._check(now)
    assert workers._processes[1].killed and not workers._processes[0].killed
    # One that has not reported yet is not judged on the canary.
    workers = _workers(2)
    workers._status[0].last_canary = now
    workers._status[1].reported = now
    workers._check(now)
    assert not workers._processes[1].killed
