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

"""``freezer-dr-record --config-file FILE --output RECORDING``: subscribe
(with its own pool) to the topics the engine listens on and write the
recording that freezer-dr-replay reads, until SIGINT/SIGTERM."""

import socket
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from freezer_dr import cmd
from freezer_dr import record
from freezer_dr.cmd import engine as engine_cmd
from freezer_dr.conf import CONF

LOG = logging.getLogger(__name__)

_CLI = [
    cfg.StrOpt('output', required=True,
               help='The recording to write (appended to if it exists; '
                    '"-" for standard output).'),
    cfg.StrOpt('record-pool', dest='record_pool',
               default='freezer-dr-record-' + socket.gethostname(),
               help='Listener pool of the recorder (its own queues, so it '
                    'takes nothing from the engines).'),
]


def main(argv=None):
    CONF.register_cli_opts(_CLI)
    try:
        cmd.prepare(sys.argv[1:] if argv is None else argv,
                    'freezer-dr-record')
    except (cfg.Error, ValueError) as exc:
        sys.stderr.write('freezer-dr-record: bad configuration: %s\n' % exc)
        return 2
    try:
        out = sys.stdout if CONF.output == '-' else open(
            CONF.output, 'a', encoding='utf-8')
    except OSError as exc:
        sys.stderr.write('freezer-dr-record: cannot write %s: %s\n'
                         % (CONF.output, exc.strerror))
        return 1
    stop = threading.Event()
    cmd.stop_on_signals(stop)
    heartbeats = None
    recorder = record.Recorder(
        out, CONF.bus.deaf_after,
        hearing=lambda: heartbeats.seconds_since_canary(),
        source='freezer-dr-record:' + CONF.record_pool)
    heartbeats, nova = engine_cmd.start_consumers(
        CONF, CONF.record_pool, recorder.deliver)
    LOG.info('Recording to %s (pool %s)', CONF.output, CONF.record_pool)
    try:
        while not stop.wait(0.1):
            recorder.check_hearing()
    finally:
        heartbeats.stop()
        nova.stop()
        LOG.info('Recorded %d messages to %s', recorder.written,
                 CONF.output)
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
