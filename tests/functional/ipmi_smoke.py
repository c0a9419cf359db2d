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
from tests.functional import conftest as fx  # noqa: E402
from tests.functional import test_ipmi  # noqa: E402


def main():
    tmp = pathlib.Path(tempfile.mkdtemp())
    started = []

    class Starter:
        def start(self, name, args):
            started.append(fx.Process(name, args, str(tmp)))
            return started[-1]
    try:
        good = test_ipmi.Bmc(Starter(), tmp, 'good')
        stuck = test_ipmi.Bmc(Starter(), tmp, 'stuck', '--refuse-off')
        fencer = drivers.load(
            drivers.FENCERS, 'ipmi', timeout=2.0, attempts=1,
            credentials_file=test_ipmi._credentials_file(tmp, {
                'good': (good.port, good.password),
                'stuck': (stuck.port, stuck.password)}))
        ok, refused = fencer.fence('good'), fencer.fence('stuck')
        print(ok)
        print(refused)
        print(good.status(), stuck.status())
        return 0 if ok.confirmed and not refused.confirmed and \
            good.status()['power'] == 'off' else 1
    finally:
        for process in started:
            process.kill()


if __name__ == '__main__':
    sys.exit(main())
