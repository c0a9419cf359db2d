"""``freezer-dr-record``: recording from the bus."""

import sys

from freezer_dr import cmd

main = cmd.not_available(
    'freezer-dr-record',
    'recording from the bus is not built yet')

if __name__ == '__main__':
    sys.exit(main())
