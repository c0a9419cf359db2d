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

"""Watching instances come back: one poller for every instance being
verified, a single ``GET /servers/detail?changes-since=...`` per interval
instead of one request per instance."""

import datetime
import threading
import typing


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
    """Polls nova for the instances that changed, while some caller waits."""

    def __init__(self, nova, interval):
        self._nova = nova
        self._interval = interval
        self._since = (datetime.datetime.now(datetime.timezone.utc)
                       - datetime.timedelta(minutes=5)).strftime(
                           '%Y-%m-%dT%H:%M:%SZ')
        self._seen = {}
        self._started = 0       # polls started
        self._generation = 0    # polls finished (in the same order)
        self._error = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = None

    def _run(self):
        while True:
            with self._cond:
                if self._stopped:
                    return
                self._started += 1
            try:
                servers = self._nova.servers.list(search_opts={
                    'all_tenants': True, 'changes-since': self._since})
                error = None
            except Exception as exc:    # nova briefly unreachable
                servers, error = [], exc
            with self._cond:
                for server in servers:
                    self._seen[server.id] = server
                self._error = error
                self._generation += 1
                self._cond.notify_all()
                self._cond.wait(self._interval)

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
            if self._thread is None:
                self._thread = threading.Thread(target=self._run,
                                                daemon=True)
                self._thread.start()
            # Only a poll started after this call sees the evacuation
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
