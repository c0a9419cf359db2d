"""``freezer-dr-agent``: the heartbeat agent."""

import sys

from freezer_dr import cmd

main = cmd.not_available(
    'freezer-dr-agent',
    'the heartbeat agent is not built yet')

if __name__ == '__main__':
    sys.exit(main())
