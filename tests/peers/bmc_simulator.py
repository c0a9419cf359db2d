"""An IPMI-over-LAN BMC on loopback, built on pyghmi's BMC server.

    python -m tests.peers.bmc_simulator --port 9623 --user admin \\
        --password-file FILE [--state-file FILE] [--refuse-off]
        [--ignore-soft-off]

Its power state lives in memory and, with --state-file, in that file
(rewritten on every change, read by tests). Power commands are counted
there too (a soft off, "chassis power soft", as soft_off).

pyghmi 1.6's client first offers RAKP-HMAC-SHA256 and does not check the
answer of pyghmi's own server (which only speaks SHA-1: the client then
dies with struct.error in _got_rakp2), so this simulator answers a
non-SHA-1 offer with "no matching cipher suite", as a real BMC would; the
client then retries with SHA-1. ipmitool works as is (it asks for the
cipher suites the BMC supports and picks 3, SHA-1); give it the password
with IPMI_PASSWORD and -E, never on its command line (see
ipmitool in tests/peers/fencers.py).
"""

import argparse
import json
import os
import sys

from pyghmi.ipmi import bmc
from pyghmi.ipmi.private import serversession

_NO_MATCHING_CIPHER_SUITE = 0x11
_RAKP_HMAC_SHA1 = 1


class Sha1OnlySession(serversession.ServerSession):
    def create_open_session_response(self, request):
        if len(request) > 12 and request[12] != _RAKP_HMAC_SHA1:
            return (bytearray([request[0], _NO_MATCHING_CIPHER_SUITE, 0, 0])
                    + request[4:8] + bytearray(4))
        return super().create_open_session_response(request)


# The server creates its sessions through this module-level name.
serversession.ServerSession = Sha1OnlySession


class SimulatedBmc(bmc.Bmc):
    def __init__(self, authdata, port, state_file=None, refuse_off=False,
                 lie_off=False,
                 address='127.0.0.1', ignore_soft_off=False):
        super().__init__(authdata, port=port, address=address)
        self.state_file = state_file
        self.refuse_off = refuse_off
        #: Says the power is off whatever it is (a lying BMC, or the BMC of
        #: another host that is off).
        self.lie_off = lie_off
        self.ignore_soft_off = ignore_soft_off
        self.power = 'on'
        self.counts = {'power_off': 0, 'power_on': 0, 'soft_off': 0}
        self._save()

    def _save(self):
        if not self.state_file:
            return
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'power': self.power, 'counts': self.counts}, f)
        os.replace(tmp, self.state_file)

    def get_power_state(self):
        if self.lie_off:
            return 'off'
        return self.power

    def power_off(self):
        self.counts['power_off'] += 1
        if not self.refuse_off:
            self.power = 'off'
        self._save()

    def power_shutdown(self):
        # A soft off asks the operating system to shut down: done at once,
        # or (--ignore-soft-off, a hung host) never.
        self.counts['soft_off'] += 1
        if not self.refuse_off and not self.ignore_soft_off:
            self.power = 'off'
        self._save()

    def power_on(self):
        self.counts['power_on'] += 1
        self.power = 'on'
        self._save()

    def power_reset(self):
        self._save()

    def power_cycle(self):
        self.power_off()
        self.power_on()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--user', default='admin')
    parser.add_argument('--password-file', required=True)
    parser.add_argument('--state-file')
    parser.add_argument('--refuse-off', action='store_true',
                        help='accept power off but stay on (a broken BMC)')
    parser.add_argument('--lie-off', action='store_true',
                        help='always say the power is off (a lying BMC, or '
                             'one mapped to another host that is off)')
    parser.add_argument('--ignore-soft-off', action='store_true',
                        help='accept a soft power off but stay on (a hung '
                             'operating system)')
    args = parser.parse_args(argv)
    with open(args.password_file) as f:
        password = f.read().strip()
    server = SimulatedBmc({args.user: password}, args.port, args.state_file,
                          args.refuse_off, lie_off=args.lie_off,
                          ignore_soft_off=args.ignore_soft_off)
    print('BMC simulator on 127.0.0.1:%d' % args.port, flush=True)
    server.listen()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
