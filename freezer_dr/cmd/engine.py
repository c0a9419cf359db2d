"""``freezer-dr-engine``: the bus and engine main loop."""

import sys

from freezer_dr import cmd

main = cmd.not_available(
    'freezer-dr-engine',
    'the bus and engine main loop is not built yet')

if __name__ == '__main__':
    sys.exit(main())
