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

"""What the benches on the cloud harness share: the oracle (nova's own
limit), a poller of nova's view of the instances, nova-api's request log,
the CPU of nova's processes.

The oracle is the best any tool could do once told of a death: a
pre-authenticated keystone session, the service id and the instances known
beforehand, then one ``PUT /os-services/{id}`` (forced down) and every
``POST /servers/{id}/action`` (evacuate) at once, raw (no client library
in the way), each from a thread of its own.
"""

import datetime
import os
import re
import threading
import time

from keystoneauth1 import adapter as ks_adapter

from tests.harness import cloud as harness

MICROVERSION = '2.53'
#: nova-api's request log line (oslo.log's format; local time).
REQUEST_LOG = re.compile(
    r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \d+ INFO '
    r'nova\.api\.openstack\.requestlog .*"(\w+) (\S+)" status: (\d+) '
    r'len: \d+ microversion: \S+ time: ([\d.]+)')
SERVER_ACTION = re.compile(r'/servers/([0-9a-f-]{36})/action$')


def compute(session):
    """A raw compute API adapter at our microversion."""
    return ks_adapter.Adapter(session, service_type='compute',
                              interface='public',
                              region_name=harness.REGION,
                              default_microversion=MICROVERSION)


def warm(api):
    """Authenticate and read the catalog now, not on the first call that
    is timed."""
    api.get_endpoint()
    api.get('/os-services?binary=nova-compute').json()


def service_id(api, host):
    return api.get('/os-services?binary=nova-compute&host=%s'
                   % host).json()['services'][0]['id']


def service_state(api, host):
    """``(state, status, forced_down)`` of ``host``'s nova-compute."""
    service = api.get('/os-services?binary=nova-compute&host=%s'
                      % host).json()['services'][0]
    return service['state'], service['status'], service['forced_down']


class Oracle:
    """Forces ``host`` down and evacuates ``server_ids``, all at once.

    Everything it needs (session, catalog, service id, threads) is ready
    before :meth:`run`; :meth:`run` returns ``{'force_down': (start,
    end), 'requests': {id: (start, end, status)}}`` (epoch seconds)."""

    def __init__(self, session, host, server_ids):
        self.api = compute(session)
        warm(self.api)
        self.host = host
        self.ids = list(server_ids)
        self.service = service_id(self.api, host)
        self.requests = {}
        self._go = threading.Event()
        # One thread per instance, started now, waiting for the word.
        self._threads = [threading.Thread(target=self._evacuate, args=(i,),
                                          daemon=True) for i in self.ids]
        for thread in self._threads:
            thread.start()

    def _evacuate(self, server_id):
        self._go.wait()
        began = time.time()
        try:
            answer = self.api.post('/servers/%s/action' % server_id,
                                   json={'evacuate': {}}, raise_exc=False)
            status = answer.status_code
        except Exception as exc:
            status = repr(exc)
        self.requests[server_id] = (began, time.time(), status)

    def run(self):
        began = time.time()
        self.api.put('/os-services/%s' % self.service,
                     json={'forced_down': True})
        forced = time.time()
        self._go.set()
        for thread in self._threads:
            thread.join()
        bad = {i: r[2] for i, r in self.requests.items()
               if not isinstance(r[2], int) or r[2] >= 300}
        if bad:
            raise RuntimeError('nova refused evacuations: %s' % bad)
        return {'force_down': (began, forced),
                'requests': dict(self.requests)}


class Poller(threading.Thread):
    """Polls nova every ``interval`` seconds for the instances whose name
    matches ``^prefix-[0-9]+$`` (one request) and keeps, per instance, the
    first time (epoch, when the answer arrived) it was seen rebuilding,
    and the first time seen ``ACTIVE`` on a host other than ``host`` with
    no task."""

    def __init__(self, session, prefix, host, interval=0.2):
        super().__init__(daemon=True)
        self.api = compute(session)
        warm(self.api)
        self.path = ('/servers/detail?all_tenants=1&name=%%5E%s-%%5B0-9%%5D'
                     '%%2B%%24' % prefix)
        self.host = host
        self.interval = interval
        self.rebuilding = {}
        self.active = {}
        self.target = {}
        self.seen = set()
        self.polls = 0
        self.errors = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            began = time.monotonic()
            try:
                servers = self.api.get(self.path).json()['servers']
            except Exception:
                self.errors += 1
                servers = []
            at = time.time()
            self.polls += 1
            for s in servers:
                self.seen.add(s['id'])
                task = s.get('OS-EXT-STS:task_state')
                where = s.get('OS-EXT-SRV-ATTR:host')
                if task and task.startswith('rebuild'):
                    self.rebuilding.setdefault(s['id'], at)
                if (s['status'] == 'ACTIVE' and not task and where and
                        where != self.host):
                    if s['id'] not in self.active:
                        self.active[s['id']] = at
                        self.target[s['id']] = where
            self._halt.wait(max(0.0, self.interval -
                                (time.monotonic() - began)))

    def all_active(self, ids):
        return all(i in self.active for i in ids)

    def stop(self):
        self._halt.set()
        self.join(10)


def delete_all_servers(cloud, timeout=600):
    """Every instance deleted; one whose delete failed (an instance in
    ERROR: a busy placement refused the compute) is deleted again."""
    nova = cloud.nova()
    asked = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        servers = nova.servers.list(search_opts={'all_tenants': True})
        if not servers:
            return
        for server in servers:
            again = server.status == 'ERROR' and \
                getattr(server, 'OS-EXT-STS:task_state', None) is None and \
                time.monotonic() - asked.get(server.id, 0) > 10
            if server.id not in asked or again:
                try:
                    nova.servers.delete(server.id)
                except Exception:
                    pass
                asked[server.id] = time.monotonic()
        time.sleep(1)
    raise RuntimeError('instances not deleted in %d s' % timeout)


def log_offset(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def api_requests(path, offset=0):
    """nova-api's requests logged after byte ``offset`` of its log:
    ``[(start, end, method, path, status)]`` (epoch seconds; ``end`` is
    the time of the log line, written as the answer goes out, ``start``
    that minus the time nova says it took)."""
    found = []
    with open(path, 'rb') as f:
        f.seek(offset)
        for raw in f:
            match = REQUEST_LOG.match(raw.decode('utf-8', 'replace'))
            if not match:
                continue
            stamp, method, url, status, took = match.groups()
            end = datetime.datetime.strptime(
                stamp, '%Y-%m-%d %H:%M:%S.%f').timestamp()
            found.append((end - float(took), end, method, url, int(status)))
    return found


def server_actions(requests, ids):
    """``{server id: (start, end, status)}`` of the first answered
    ``POST /servers/{id}/action`` of each of ``ids`` among ``requests``
    (:func:`api_requests`)."""
    wanted = set(ids)
    actions = {}
    for start, end, method, url, status in requests:
        match = SERVER_ACTION.search(url.split('?')[0])
        if method == 'POST' and match and match.group(1) in wanted:
            actions.setdefault(match.group(1), (start, end, status))
    return actions


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except OSError:
        return ''


NOVA_KINDS = ('nova-api', 'nova-conductor', 'nova-scheduler',
              'nova-compute')


def nova_cpu(cloud):
    """``{pid: (kind, CPU seconds so far)}`` of nova's processes (api,
    conductor, scheduler, computes and their workers)."""
    ticks = os.sysconf('SC_CLK_TCK')
    found = {}
    for pid in cloud.leftovers():
        line = _cmdline(pid)
        kind = next((k for k in NOVA_KINDS if k in line), None)
        fields = harness.proc_stat(pid)
        if kind and fields:
            found[pid] = (kind, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def cpu_between(before, after):
    """CPU seconds used between two :func:`nova_cpu` readings, by kind
    (a process that started in between counts in full; one that ended
    in between is lost, as its parent's reaping does not add it here)."""
    used = {}
    for pid, (kind, seconds) in after.items():
        spent = seconds - before.get(pid, (kind, 0.0))[1]
        used[kind] = used.get(kind, 0.0) + spent
    return used


def cloud_cpu(cloud):
    """CPU seconds used so far by every process of the cloud."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0
    for pid in cloud.leftovers():
        fields = harness.proc_stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / ticks
