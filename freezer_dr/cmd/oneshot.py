"""``freezer-dr``: the one-shot fence, evacuate and notify flow."""

import sys

from freezer_dr import cmd

main = cmd.not_available(
    'freezer-dr',
    'the one-shot fence, evacuate and notify flow is not built yet')

if __name__ == '__main__':
    sys.exit(main())
