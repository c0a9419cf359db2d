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

"""The hosts the engine expects to hear from: asked of nova (its
``nova-compute`` services, through the isolator) and of the fencer (the
hosts it has credentials for), at start and every ``[engine]
inventory_interval``.

Each answer goes to the liveness core as an
:class:`~freezer_dr.events.Inventory` event, through the engine's mailbox
like any bus event: the core alone decides what it means (a host never
heard since start, past ``[liveness] startup_grace``, whose service nova
reports down, died while no engine ran). A source that cannot be asked is
logged and asked again at the next interval; it never stops the engine.
"""

import logging
import threading
import time

from freezer_dr import clock as clock_module
from freezer_dr import events

LOG = logging.getLogger(__name__)

NOVA = 'nova'
FENCER = 'fencer'
#: Seconds between two polls asked for by nova events, at least.
MIN_ASK_INTERVAL = 1.0


class Poller:
    """Asks ``isolator.services()`` and ``fencer.hosts()``; hands the
    answers to ``deliver`` (a callable taking a list of events)."""

    def __init__(self, isolator, fencer, deliver, interval,
                 clock=clock_module.now):
        self._isolator = isolator
        self._fencer = fencer
        self._deliver = deliver
        self.interval = interval
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self._failing = {}
        self._asked = 0.0

    def poll_once(self):
        """Ask every source now; return the events delivered."""
        found = []
        for source, ask in ((NOVA, self._nova), (FENCER, self._fenced)):
            began = time.monotonic()
            try:
                hosts = ask()
            except Exception as exc:
                if not self._failing.get(source):
                    LOG.error('Inventory: cannot ask %s for the expected '
                              'hosts (%s: %s); asked again in %.0f s',
                              source, type(exc).__name__, exc, self.interval)
                self._failing[source] = True
                continue
            if self._failing.pop(source, False):
                LOG.warning('Inventory: %s answers again', source)
            if not hosts:
                continue
            LOG.debug('Inventory: %d hosts from %s in %.2f s', len(hosts),
                      source, time.monotonic() - began)
            found.append(events.Inventory(self._clock(), source,
                                          tuple(sorted(hosts.items()))))
        if found:
            self._deliver(found)
        return found

    def _nova(self):
        return self._isolator.services()

    def _fenced(self):
        return {host: 'unknown' for host in self._fencer.hosts()}

    def start(self):
        """Poll now, then every interval in a thread of its own."""
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='inventory')
        self._thread.start()

    def poll_soon(self):
        """Ask again now (any thread): a nova event on the bus said
        something that only nova's API may confirm. At most once a
        second."""
        now = time.monotonic()
        if now - self._asked >= MIN_ASK_INTERVAL:
            self._asked = now
            self._wake.set()

    def _run(self):
        while not self._stop.is_set():
            self.poll_once()
            self._wake.wait(self.interval)
            self._wake.clear()

    def stop(self):
        self._stop.set()
        self._wake.set()
