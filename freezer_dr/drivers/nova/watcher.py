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
reason to look: the instance is read from nova's API at once (one
``GET /servers/{id}``; a few at a time, or one listing when many are told
together), never believed from the bus.

The poll of every changed instance (one ``GET
/servers/detail?changes-since=...`` for all of them) is the fallback: every
``interval`` until a notification is heard, then only after
``fallback_interval`` without one (a lost notification, a nova that sends
none)."""

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

    :param interval: seconds between polls while no notification is heard.
    :param fallback_interval: seconds without a notification after which
        a poll is made once notifications are heard (None: ``interval``).
    """

    #: More instances told at once than this: one listing, not one read
    #: each.
    MAX_READS = 4
    #: An instance read on a notification, back but still on the dead
    #: host, is read again after this many seconds ...
    SETTLE_INTERVAL = 0.25
    #: ... this many times at most.
    SETTLE_READS = 20
    #: Instances told of before they are waited for, kept at most.
    MAX_EARLY = 10000

    def __init__(self, nova, interval, fallback_interval=None,
                 clock=None):
        self._nova = nova
        self._interval = interval
        self._fallback = fallback_interval or interval
        self._now = clock or time.monotonic
        self._since = (datetime.datetime.now(datetime.timezone.utc)
                       - datetime.timedelta(minutes=5)).strftime(
                           '%Y-%m-%dT%H:%M:%SZ')
        self._seen = {}
        self._waited = {}       # instance -> (its dead host, expected)
        self._again = {}        # instance -> (when to read again, reads)
        self._told = set()      # of those, told by a notification
        self._early = set()     # told before anybody waited for them
        self._heard_at = None   # when the last notification was told
        # The first poll after ``interval``, unless told first.
        self._next_poll = self._now() + interval
        self._started = 0       # reads started
        self._generation = 0    # reads finished (in the same order)
        self._error = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = None
        #: Listings and single reads made (for tests and the log).
        self.polls = 0
        self.reads = 0

    def poke(self, server_id):
        """nova announced a change of ``server_id``: read it now, if it is
        being waited for (otherwise nothing)."""
        with self._cond:
            # (Notifications are heard, whichever instance they name.)
            self._heard_at = self._now()
            if server_id not in self._waited:
                # nova may announce an instance before its evacuate
                # request has returned to us: kept until it is waited for.
                if len(self._early) < self.MAX_EARLY:
                    self._early.add(server_id)
                return
            self._told.add(server_id)
            self._cond.notify_all()

    def _due(self):
        """Seconds until the next read: a fallback poll, or an instance
        read again (cond held)."""
        if self._heard_at is None:
            due = self._next_poll
        else:
            due = max(self._next_poll, self._heard_at + self._fallback)
        if self._again:
            due = min(due, min(when for when, _ in self._again.values()))
        return due - self._now()

    def _settling(self, servers):
        """Instances just read on a notification that nova has not
        finished moving: read again soon (cond held).

        nova (34) publishes ``instance.rebuild.end`` of an evacuation
        before its resource tracker gives the instance its new host
        (``finish_evacuation``), and publishes nothing after that: read
        right after the notification, the instance is back (no task)
        but still on the dead host. It is read again every
        :data:`SETTLE_INTERVAL` seconds, :data:`SETTLE_READS` times at
        most (then the fallback poll sees it)."""
        now = self._now()
        for server in servers:
            waited = self._waited.get(server.id)
            if waited is None:
                continue
            dead_host, _ = waited
            if task_of(server) or server.status == 'ERROR' or \
                    host_of(server) != dead_host:
                self._again.pop(server.id, None)
                continue
            _, reads = self._again.get(server.id, (None, 0))
            if reads < self.SETTLE_READS:
                self._again[server.id] = (now + self.SETTLE_INTERVAL,
                                          reads + 1)
            else:
                self._again.pop(server.id, None)

    def _run(self):
        while True:
            with self._cond:
                while not self._stopped and not self._told and \
                        self._due() > 0:
                    self._cond.wait(self._due())
                if self._stopped:
                    return
                told, self._told = self._told, set()
                now = self._now()
                for server_id, (when, _) in list(self._again.items()):
                    if when <= now and server_id in self._waited:
                        told.add(server_id)
                    elif server_id not in self._waited:
                        del self._again[server_id]
                self._started += 1
            servers, error = self._read(told)
            with self._cond:
                if told:
                    self._settling(servers)
                for server in servers:
                    self._seen[server.id] = server
                self._error = error
                self._generation += 1
                self._cond.notify_all()

    def _read(self, told):
        """The instances told of (or every changed one): ``(servers,
        error)``."""
        try:
            if told and len(told) <= self.MAX_READS:
                self.reads += len(told)
                servers = []
                for server_id in told:
                    try:
                        servers.append(self._nova.servers.get(server_id))
                    except nova_exceptions.NotFound:
                        continue
                return servers, None
            self.polls += 1
            with self._cond:
                self._next_poll = self._now() + self._interval
            return self._nova.servers.list(search_opts={
                'all_tenants': True, 'changes-since': self._since}), None
        except Exception as exc:    # nova briefly unreachable
            with self._cond:
                self._next_poll = self._now() + self._interval
            return [], exc

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def wait(self, server_id, host, expected, deadline, clock):
        """Until the instance is ``expected`` on a host other than
        ``host``, in ERROR, or ``deadline`` passes: a
        :class:`Verification`."""
        with self._cond:
            self._waited[server_id] = (host, expected)
            if server_id in self._early:
                self._early.discard(server_id)
                self._told.add(server_id)
                self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run,
                                                daemon=True)
                self._thread.start()
            try:
                return self._wait(server_id, host, expected, deadline,
                                  clock)
            finally:
                self._waited.pop(server_id, None)
                self._again.pop(server_id, None)

    def _wait(self, server_id, host, expected, deadline, clock):
        """(cond held)"""
        # Only a read started after this call sees the evacuation
        # just requested (an older one may show the state before).
        need = self._started + 1
        while True:
            self._cond.wait_for(
                lambda n=need: self._generation >= n,
                max(0.0, deadline - clock()))
            need = self._generation + 1
            current = self._seen.get(server_id)
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
                            fault.get('message') or
                            'no fault recorded'))
            if clock() > deadline:
                state = ('%s on %s (task %s)' % (
                    current.status, host_of(current),
                    task_of(current)) if current is not None
                    else 'never seen changing')
                if self._error is not None:
                    state += '; last poll failed: %s' % self._error
                return Verification(False, 'timed out: %s' % state,
                                    timed_out=True)
