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

"""Local checks of a compute node, whose results every heartbeat carries.

A check is a function returning ``(ok, detail)``. It may fail, raise or
hang: :class:`CheckRunner` runs the checks in its own thread, turns an
exception into a failed result with the error as detail, reports a check
still running after ``timeout`` seconds as failed, and never lets any of that
delay a heartbeat.
"""

import logging
import os
import threading
import time

LOG = logging.getLogger(__name__)


def nova_compute(pattern, proc='/proc'):
    """Is a process whose command line contains ``pattern`` running?"""
    needle = pattern.encode()
    me = os.getpid()
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(os.path.join(proc, entry, 'cmdline'), 'rb') as f:
                cmdline = f.read()
        except OSError:
            continue            # the process ended meanwhile
        if needle in cmdline:
            return True, 'pid %s' % entry
    return False, 'no process matching %r' % pattern


def libvirt(uri):
    """Can libvirt at ``uri`` be reached and list its domains?"""
    try:
        import libvirt as libvirt_module
    except ImportError:
        return False, 'libvirt-python is not installed'
    try:
        conn = libvirt_module.openReadOnly(uri)
    except libvirt_module.libvirtError as exc:
        return False, str(exc)
    try:
        return True, '%d domains' % conn.numOfDomains()
    finally:
        conn.close()


def disk(path, min_free_mb):
    """Has the file system of ``path`` at least ``min_free_mb`` free?"""
    try:
        stat = os.statvfs(path)
    except OSError as exc:
        return False, '%s: %s' % (path, exc.strerror)
    free_mb = stat.f_bavail * stat.f_frsize // (1024 * 1024)
    return free_mb >= min_free_mb, '%d MiB free on %s' % (free_mb, path)


def from_conf(agent_conf):
    """``{name: callable}`` of the checks configured in [agent]."""
    available = {
        'nova_compute': lambda: nova_compute(agent_conf.nova_compute_pattern),
        'libvirt': lambda: libvirt(agent_conf.libvirt_uri),
        'disk': lambda: disk(agent_conf.disk_path,
                             agent_conf.disk_min_free_mb),
    }
    return {name: available[name] for name in agent_conf.checks}


class CheckRunner:
    """Runs checks every ``interval`` seconds in a background thread and
    keeps their latest results for the heartbeats."""

    def __init__(self, checks, interval, timeout):
        self._checks = dict(checks)
        self._interval = interval
        self._timeout = timeout
        self._lock = threading.Lock()
        self._results = {name: {'ok': False, 'detail': 'not run yet'}
                         for name in self._checks}
        self._stop = threading.Event()
        self._thread = None

    def results(self):
        """The latest results, as the heartbeat payload's ``checks``."""
        with self._lock:
            return {name: dict(result)
                    for name, result in self._results.items()}

    def run_once(self):
        """Run every check now (each in its own thread, with the timeout)."""
        started = {}
        for name, check in self._checks.items():
            box = {}
            thread = threading.Thread(target=self._call, args=(check, box),
                                      name='check-' + name, daemon=True)
            thread.start()
            started[name] = (thread, box)
        deadline = time.monotonic() + self._timeout
        fresh = {}
        for name, (thread, box) in started.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                fresh[name] = {'ok': False, 'detail': 'timed out after '
                               '%.1f s' % self._timeout}
            else:
                fresh[name] = box['result']
            if not fresh[name]['ok']:
                LOG.warning('Check %s failed: %s', name,
                            fresh[name]['detail'])
        with self._lock:
            self._results.update(fresh)

    @staticmethod
    def _call(check, box):
        try:
            ok, detail = check()
            box['result'] = {'ok': bool(ok), 'detail': str(detail)[:1024]}
        except Exception as exc:   # a check must never stop the agent
            box['result'] = {'ok': False, 'detail': '%s: %s' % (
                type(exc).__name__, str(exc)[:900])}

    def start(self):
        self._thread = threading.Thread(target=self._loop,
                                        name='checks', daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def _loop(self):
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)
