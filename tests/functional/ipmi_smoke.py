"""The ipmi fencer against the BMC simulator, outside pytest:

    python tests/functional/ipmi_smoke.py

Prints the fence results; exits 0 when power-off was confirmed and a BMC
that refuses to power off was reported unconfirmed.
"""

import os
import pathlib
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir,
                                os.pardir))

from freezer_dr import drivers  # noqa: E402
from tests.helpers import Processes  # noqa: E402
from tests.peers import fencers as peers  # noqa: E402


def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    with Processes(tmp) as processes:
        good = peers.Bmc(processes, tmp, 'good')
        stuck = peers.Bmc(processes, tmp, 'stuck', '--refuse-off')
        fencer = drivers.load(
            drivers.FENCERS, 'ipmi', timeout=2.0, attempts=1,
            credentials_file=peers.credentials_file(tmp, {
                'good': (good.port, good.password),
                'stuck': (stuck.port, stuck.password)}))
        ok, refused = fencer.fence('good'), fencer.fence('stuck')
        print(ok)
        print(refused)
        print(good.status(), stuck.status())
        return 0 if ok.confirmed and not refused.confirmed and \
            good.status()['power'] == 'off' else 1


if __name__ == '__main__':
    sys.exit(main())
