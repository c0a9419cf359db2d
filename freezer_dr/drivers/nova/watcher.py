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

"""Watching instances come back.

nova says when an evacuated instance is back: its versioned notifications
(``instance.rebuild.end``, ``.error``, ``instance.power_off.end``; see
:data:`freezer_dr.bus.INSTANCE_EVENT_TYPES`) reach the engine, which tells
the evacuator (:meth:`StatusWatcher.poke`). A notification is only a
reason to look: the instance it names, if it is one being evacuated, is
read from nova's API (``GET /servers/{id}``), at most once every
:data:`StatusWatcher.SETTLE_INTERVAL` seconds whatever the bus says;
never believed from the bus.

nova (34) publishes ``instance.rebuild.end`` of an evacuation before its
resource tracker gives the instance its new host, and nothing after: an
instance read back (no task) but still on the dead host is read again every
``SETTLE_INTERVAL``, ``SETTLE_READS`` times at most.

The poll of every changed instance (one ``GET
/servers/detail?changes-since=...``) is the fallback: every ``interval``
while no notification about these instances is heard, then every
``fallback_interval`` (a lost notification, a nova that sends none).
"""

import datetime
import threading
import time
import typing

from novaclient import exceptions as nova_exceptions


def host_of(server):
    return getattr(server, 'OS-EXT-SRV-ATTR:host', None)


def task_of(server):
    return getattr(server, 'OS-EXT-STS:task_state', None)


class Verification(typing.NamedTuple):
    """How the wait for one instance ended."""

    ok: bool
    detail: str
    #: The host it runs on now ('' unless ok).
    target: str = ''
    #: The deadline passed with the instance not back: not worth another
    #: evacuation request.
    timed_out: bool = False


class StatusWatcher:
    """Reads nova for the instances being verified, while callers wait.

    :param interval: seconds between polls while no notification about
        these instances is heard.
    :param fallback_interval: seconds between polls once one is (None:
        ``interval``).
    :param ids: the instances being evacuated: notifications about any
        other are ignored (None: any).
    """

    #: An instance is read at most once in this many seconds; one back
    #: but still on the dead host is read again after as long ...
    SETTLE_INTERVAL = 0.25
    #: ... this many times at most.
    SETTLE_READS = 20
    #: More instances to read at once than this: one listing instead (no
    #: more often than ``interval``).
    MAX_READS = 4

    def __init__(self, nova, interval, fallback_interval=None, ids=None,
                 clock=None):
        self._nova = nova
        self._interval = interval
        self._fallback = fallback_interval or interval
        self._ids = None if ids is None else frozenset(ids)
        self._now = clock or time.monotonic
        self._since = (datetime.datetime.now(datetime.timezone.utc)
                       - datetime.timedelta(minutes=5)).strftime(
                           '%Y-%m-%dT%H:%M:%SZ')
        self._seen = {}         # instance -> (read number, server)
        self._waited = {}       # instance -> its dead host
        self._told = set()      # instances to read (told, or settling)
        self._early = set()     # told before anybody waited for them
        self._last_read = {}    # instance -> when it was last read
        self._settling = {}     # instance -> reads again so far
        self._heard = False     # a notification about ours was heard
        self._last_poll = self._now()
        self._started = 0       # reads started (numbered from 1)
        self._generation = 0    # reads finished
        self._error = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = None
        #: Listings and single reads made (for tests and the log).
        self.polls = 0
        self.reads = 0

    def watch(self, ids):
        """Notifications about ``ids`` count too (instances added to the
        evacuation after this watcher began)."""
        ids = frozenset(ids)
        if not ids:
            return
        with self._cond:
            if self._ids is not None:
                self._ids = self._ids | ids

    def poke(self, server_id):
        """nova announced a change of ``server_id``: read it soon, if it
        is one of these instances (otherwise nothing)."""
        with self._cond:
            if self._ids is not None and server_id not in self._ids:
                return
            self._heard = True
            if server_id not in self._waited:
                # nova may announce an instance before its evacuate
                # request has returned to us: kept until it is waited for.
                if self._ids is not None or len(self._early) < 10000:
                    self._early.add(server_id)
                return
            self._told.add(server_id)
            self._cond.notify_all()

    # --- the reading thread ---

    def _poll_at(self):
        return self._last_poll + (self._fallback if self._heard
                                  else self._interval)

    def _ready(self, now):
        """Instances that may be read now (cond held)."""
        return {i for i in self._told if i in self._waited and
                self._last_read.get(i, -1e18) + self.SETTLE_INTERVAL <= now}

    def _next(self, now):
        """Seconds until something is due (cond held)."""
        due = self._poll_at()
        for server_id in self._told:
            if server_id in self._waited:
                due = min(due, self._last_read.get(server_id, -1e18)
                          + self.SETTLE_INTERVAL)
        return due - now

    def _run(self):
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    now = self._now()
                    self._told &= set(self._waited)
                    ready = self._ready(now)
                    poll = now >= self._poll_at() or (
                        len(ready) > self.MAX_READS and
                        now >= self._last_poll + self._interval)
                    if poll or ready:
                        break
                    self._cond.wait(max(self._next(now), 0.001))
                if poll:
                    ready = set()
                    self._last_poll = now
                    self._told.clear()
                else:
                    ready = set(sorted(ready)[:self.MAX_READS])
                    self._told -= ready
                    for server_id in ready:
                        self._last_read[server_id] = now
                self._started += 1
                number = self._started
            servers, error = self._read(ready)
            with self._cond:
                for server in servers:
                    self._seen[server.id] = (number, server)
                if ready:
                    self._settle(ready, servers)
                self._error = error
                self._generation += 1
                self._cond.notify_all()

    def _read(self, ids):
        """Those instances (none: every changed one): ``(servers,
        error)``."""
        try:
            if not ids:
                self.polls += 1
                return self._nova.servers.list(search_opts={
                    'all_tenants': True, 'changes-since': self._since}), None
            servers = []
            for server_id in sorted(ids):
                self.reads += 1
                try:
                    servers.append(self._nova.servers.get(server_id))
                except nova_exceptions.NotFound:
                    continue
            return servers, None
        except Exception as exc:    # nova briefly unreachable
            return [], exc

    def _settle(self, ids, servers):
        """Of the instances just read, those back but still on the dead
        host (or not read: gone, or nova failed) are read again after
        ``SETTLE_INTERVAL``, ``SETTLE_READS`` times at most (cond held)."""
        found = {server.id: server for server in servers}
        for server_id in ids:
            server = found.get(server_id)
            if server is not None and (
                    task_of(server) or server.status == 'ERROR' or
                    host_of(server) != self._waited.get(server_id)):
                self._settling.pop(server_id, None)
                continue
            reads = self._settling.get(server_id, 0) + 1
            if reads > self.SETTLE_READS:
                self._settling.pop(server_id, None)
                continue
            self._settling[server_id] = reads
            self._told.add(server_id)

    # --- callers ---

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def wait(self, server_id, host, expected, deadline, clock):
        """Until the instance is ``expected`` on a host other than
        ``host``, in ERROR, or ``deadline`` passes: a
        :class:`Verification`. Only what a read started after this call
        says counts (an older one may show the state before the
        evacuation just requested)."""
        with self._cond:
            self._waited[server_id] = host
            if server_id in self._early:
                self._early.discard(server_id)
                self._told.add(server_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run,
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
            try:
                return self._wait(server_id, host, expected, deadline,
                                  clock)
            finally:
                self._waited.pop(server_id, None)
                self._settling.pop(server_id, None)
                self._told.discard(server_id)

    def _wait(self, server_id, host, expected, deadline, clock):
        """(cond held)"""
        first = self._started + 1
        need = first
        while True:
            self._cond.wait_for(lambda n=need: self._generation >= n,
                                max(0.0, deadline - clock()))
            need = self._generation + 1
            number, current = self._seen.get(server_id, (0, None))
            if number < first:
                current = None
            if current is not None:
                where = host_of(current)
                task = task_of(current)
                if (current.status == expected and where and
                        where != host and not task):
                    return Verification(True, '%s on %s' % (
                        expected, where), where)
                if current.status == 'ERROR' and not task:
                    fault = getattr(current, 'fault', None) or {}
                    # Seen once: the next attempt starts clean.
                    del self._seen[server_id]
                    return Verification(
                        False, 'ERROR after evacuation: %s' % (
                            fault.get('message') or 'no fault recorded'))
            if clock() > deadline:
                state = ('%s on %s (task %s)' % (
                    current.status, host_of(current),
                    task_of(current)) if current is not None
                    else 'never seen changing')
                if self._error is not None:
                    state += '; last read failed: %s' % self._error
                return Verification(False, 'timed out: %s' % state,
                                    timed_out=True)
