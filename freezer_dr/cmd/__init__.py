"""Console entry points: parse configuration, build, run."""

import sys


def not_available(command, issue):
    """Entry point of a command that a later piece of work builds: say so
    clearly and exit 2, never pretend to work."""
    def main():
        sys.stderr.write('%s: not available yet in this version of '
                         'freezer-dr (%s)\n' % (command, issue))
        return 2
    return main
