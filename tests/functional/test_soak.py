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

"""The CI soak (issue 14, point 5): ``bench/soak.py --minutes 2``, 200
real agents pausing at random, two broker restarts, two engine restarts
(SIGTERM and kill -9) and real deaths. Correctness only, never timings: no
host declared dead (or fenced) while its agent ran, and every host killed
declared, fenced once and recovered.

The soak runs its own RabbitMQ node (on ports 47310-47311 here, its files
under /tmp/bench-soak/), never the machine's shared broker.
"""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests import helpers

SOAK = os.path.join(helpers.TOP, 'bench', 'soak.py')
#: The soak's broker port here (a soak run by hand uses 47301).
PORT = 47310
#: Minutes the CI soak runs (its restarts, settling and kills take about
#: as long again on a busy machine: the test allows much more).
MINUTES = 2
TIMEOUT = 15 * 60


def _leftovers(workdir):
    """bench/soak.py's leftovers(): what a soak killed outright left."""
    spec = importlib.util.spec_from_file_location('soak', SOAK)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    return soak.leftovers(workdir)


@pytest.mark.skipif(not os.path.exists('/usr/lib/rabbitmq/bin/'
                                       'rabbitmq-server'),
                    reason='RabbitMQ is not installed')
def test_two_minute_soak_declares_nobody_falsely_and_recovers_every_kill():
    workdir = '/tmp/bench-soak/test-%d' % os.getpid()
    shutil.rmtree(workdir, ignore_errors=True)
    soak = subprocess.Popen(
        [sys.executable, SOAK, '--minutes', str(MINUTES), '--port',
         str(PORT), '--workdir', workdir], cwd=helpers.TOP,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        output, _ = soak.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # (SIGTERM: the soak stops its engine, fleet and broker.)
        os.killpg(soak.pid, signal.SIGTERM)
        output, _ = soak.communicate(timeout=120)
        pytest.fail('the soak did not end in %d s:\n%s'
                    % (TIMEOUT, output[-5000:]))
    finally:
        if soak.poll() is None:
            os.killpg(soak.pid, signal.SIGKILL)
            soak.wait(10)
        _leftovers(workdir)
    lines = output.strip().splitlines()
    assert lines, 'the soak printed nothing'
    try:
        result = json.loads(lines[-1])
    except ValueError:
        pytest.fail('the soak did not end with its JSON line:\n%s'
                    % output[-5000:])
    shown = '\n'.join(lines[-60:])
    assert result['false_declarations'] == 0, shown
    assert result['false_fencings'] == 0, shown
    assert result['kills'] >= 2, shown
    assert result['kills_recovered'] == result['kills'], shown
    assert result['broker_restarts'] == 2, shown
    assert result['engine_restarts'] == 2, shown
    assert result['hosts'] == 200 and result['pauses'] > 0, shown
    assert result['ok'] and soak.returncode == 0, shown
    print(lines[-1])
