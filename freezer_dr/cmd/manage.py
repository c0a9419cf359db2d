"""``freezer-dr-manage``: the journal and host management."""

import sys

from freezer_dr import cmd

main = cmd.not_available(
    'freezer-dr-manage',
    'the journal and host management is not built yet')

if __name__ == '__main__':
    sys.exit(main())
