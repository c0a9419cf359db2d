"""What every layer of the tests, the cloud harness, the demo and the
benchmarks share: where the tree and the commands are, the one way to wait
for a condition (:func:`wait_for`) and the one way to run a process
(:class:`Process`, :class:`Processes`).

No pytest here: tools/demo.py and bench/ reach this module through
tests.harness, outside pytest. A wait that times out raises
:class:`WaitTimeout`, an AssertionError, so that in a test it is a failure.
"""

import os
import signal
import subprocess
import sys
import time

#: The top of the source tree (processes start there).
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
#: Where the console scripts of this Python are.
BIN = os.path.dirname(sys.executable)


class WaitTimeout(AssertionError):
    """A condition did not come true in time."""


def command(name):
    """The console script ``name`` installed beside this Python."""
    return os.path.join(BIN, name)


def wait_for(condition, timeout, interval=0.1, message='condition',
             retry_on=(), error=WaitTimeout):
    """Call ``condition`` every ``interval`` seconds until it returns a true
    value, and return that value.

    After ``timeout`` seconds raise ``error`` (WaitTimeout unless given)
    saying what was awaited (``message``). An exception of one of the
    types in ``retry_on`` counts as "not yet" (a service that does not
    answer yet) and is named in the error if it was the last answer; any
    other exception propagates at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except retry_on as exc:
            value, last = None, exc
        else:
            last = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise error('timed out after %.0f s waiting for %s%s'
                        % (timeout, message,
                           ' (last error: %s)' % last if last else ''))
        time.sleep(interval)


class Process:
    """A command in its own process group (a session of its own), started
    in the top of the tree, its output appended to
    ``<log_dir>/<name>.log``; ``env`` adds to the environment."""

    def __init__(self, name, args, log_dir, env=None):
        self.name = name
        self.log_path = os.path.join(str(log_dir), name + '.log')
        full_env = dict(os.environ, **env) if env else None
        with open(self.log_path, 'ab') as log:
            self.popen = subprocess.Popen(args, stdout=log,
                                          stderr=subprocess.STDOUT,
                                          env=full_env,
                                          start_new_session=True, cwd=TOP)

    @property
    def pid(self):
        """The process's pid, which is also its process group's id."""
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, signum):
        """Send ``signum`` to the process alone (not its group)."""
        os.kill(self.popen.pid, signum)

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def stop(self, signum=None, timeout=15):
        """``signum`` (SIGTERM unless given) to the whole group, up to
        ``timeout`` seconds to end, then :meth:`kill`."""
        signum = signal.SIGTERM if signum is None else signum
        if self.alive():
            try:
                os.killpg(self.popen.pid, signum)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self):
        """SIGKILL to the whole group (children included)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass


class Processes:
    """Processes started together, logging to one directory, and stopped
    together, group and all, in the reverse order (also on leaving a
    ``with`` block)::

        with Processes(log_dir) as processes:
            bmc = processes.start('bmc', [...])
    """

    def __init__(self, log_dir):
        self.log_dir = str(log_dir)
        self.started = []

    def start(self, name, args, env=None):
        process = Process(name, args, self.log_dir, env=env)
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            process.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()


def group_rss(pgid):
    """Resident memory, in bytes, of every process in process group
    ``pgid`` (a :class:`Process` and all it started), summed."""
    total = 0
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                stat = f.read()
            fields = stat[stat.rindex(')') + 2:].split()
            if int(fields[2]) != pgid:      # the 5th field: the group
                continue
            with open('/proc/%s/status' % name) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1]) * 1024
        except (OSError, ValueError):       # gone meanwhile
            continue
    return total


#: Rows of the fault table printed at the end of the run (issue 11): one per
#: fault a test injected, what the user would count after it.
FAULTS = []


def fault_row(fault, fenced, evacuated, false_fencings):
    """Note what a fault test counted: ``fenced``: power-offs of the
    dead host(s) at their BMC (or the fencer); ``evacuated``: evacuations
    per instance (the most any instance had); ``false_fencings``:
    power-offs of hosts that were not dead."""
    FAULTS.append((fault, fenced, evacuated, false_fencings))


def nova_service_payload(host, forced_down):
    """A ServiceStatusPayload as nova's service.update carries it."""
    return {
        'nova_object.name': 'ServiceStatusPayload',
        'nova_object.namespace': 'nova',
        'nova_object.version': '1.1',
        'nova_object.data': {
            'host': host, 'binary': 'nova-compute', 'topic': 'compute',
            'disabled': forced_down, 'disabled_reason': 'test',
            'forced_down': forced_down, 'report_count': 3, 'version': 66,
            'availability_zone': None, 'last_seen_up': None,
            'uuid': 'fa69c544-906b-4a6a-a9c6-c1f7a8078c73'},
    }
