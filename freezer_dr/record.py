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

"""Recording of bus messages, in the format freezer-dr-replay reads."""

import threading

from freezer_dr import bus
from freezer_dr import clock as clock_module
from freezer_dr import events


class Recorder:
    """Sink for the bus consumers: writes each message as one line of the
    recording, flushed at once; writes ``freezer_dr.engine.bus`` lines when
    its own canary says it went deaf or hears again, as the engine would."""

    def __init__(self, out, deaf_after, hearing, source,
                 clock=clock_module.now):
        self._out = out
        self._lock = threading.Lock()
        self._hearing = bus.Hearing(hearing, deaf_after)
        self._source = source
        self._clock = clock
        self.written = 0
        with self._lock:
            self._write(events.recording_header(
                source=source, created_at=round(clock(), 3)))

    def _write(self, line):
        self._out.write(line + '\n')
        self._out.flush()

    def deliver(self, batch):
        with self._lock:
            for raw in batch:
                self._write(events.recording_line(
                    raw.received_at, raw.publisher_id, raw.event_type,
                    raw.payload, raw.priority))
            self.written += len(batch)

    def check_hearing(self):
        connected = self._hearing.change()
        if connected is None:
            return
        with self._lock:
            self._write(events.recording_line(
                self._clock(), self._source, events.BUS_STATUS,
                {'connected': connected}))
