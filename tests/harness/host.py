"""One compute host of the cloud harness: its BMC and its processes.

The host's power *is* its BMC simulator's power state: the BMC (IPMI over
UDP on 127.0.0.1, its own port and credentials) starts the host's
processes (nova-compute, freezer-dr-agent) when the power goes on and
kills them, SIGKILL, when it goes off, as pulling the plug would. A host
"dies" when its processes are killed while the BMC still says "on"; that
is the failure the tests inject.

    python -m tests.harness.host --spec FILE

The spec (JSON, written by the harness) names the host, the BMC port,
user and password file, the status file and the processes. The status file
(rewritten on every change) holds the power state, the count of power
commands, and the pid of each running process.
"""

import json
import os
import signal
import subprocess
import sys
import threading

from tests.peers import bmc_simulator


class HostBmc(bmc_simulator.SimulatedBmc):
    def __init__(self, spec, password):
        self.spec = spec
        self.children = {}
        self.lock = threading.Lock()
        super().__init__({spec['bmc_user']: password}, spec['bmc_port'],
                         state_file=None)
        self.state_file = spec['status_file']
        self._start_processes()
        self._save()

    # -- processes -------------------------------------------------------

    def _start_processes(self):
        for proc in self.spec['processes']:
            log = open(proc['log'], 'ab')
            env = dict(os.environ)
            env.update(proc.get('env', {}))
            popen = subprocess.Popen(proc['args'], stdout=log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True,
                                     cwd=proc.get('cwd'))
            log.close()
            self.children[proc['name']] = popen
            with open(self.spec['pgid_file'], 'a') as f:
                f.write('%d\n' % popen.pid)
            # Reap it when it dies (killed from outside, the injected
            # failure, or crashed), and say so in the status file.
            threading.Thread(target=self._reap, args=(popen,),
                             daemon=True).start()

    def _reap(self, popen):
        popen.wait()
        with self.lock:
            self._save()

    def _kill_processes(self):
        for popen in self.children.values():
            try:
                os.killpg(popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for popen in self.children.values():
            popen.wait()
        self.children = {}

    def _save(self):
        if not self.state_file:
            return
        status = {'power': self.power, 'counts': self.counts,
                  'pids': {name: p.pid for name, p in self.children.items()
                           if p.poll() is None}}
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(status, f)
        os.replace(tmp, self.state_file)

    # -- power (called by pyghmi's server) --------------------------------

    def power_off(self):
        with self.lock:
            self.counts['power_off'] += 1
            if self.power == 'on':
                self._kill_processes()
            self.power = 'off'
            self._save()

    def power_shutdown(self):
        # A soft off: the operating system shuts down (at once, here).
        with self.lock:
            self.counts['soft_off'] = self.counts.get('soft_off', 0) + 1
            if self.power == 'on':
                self._kill_processes()
            self.power = 'off'
            self._save()

    def power_on(self):
        with self.lock:
            self.counts['power_on'] += 1
            if self.power == 'off':
                self._start_processes()
            self.power = 'on'
            self._save()

    def power_cycle(self):
        self.power_off()
        self.power_on()

    def power_reset(self):
        self.power_cycle()


def main(argv):
    with open(argv[argv.index('--spec') + 1]) as f:
        spec = json.load(f)
    with open(spec['bmc_password_file']) as f:
        password = f.read().strip()
    host = HostBmc(spec, password)

    def stop(signum, frame):
        host._kill_processes()
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    print('host %s: BMC on 127.0.0.1:%d' % (spec['name'], spec['bmc_port']),
          flush=True)
    host.listen()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
