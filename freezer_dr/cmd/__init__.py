"""Console entry points: parse configuration, build, run.

What every command shares lives here (parsing and checking the
configuration, stopping on signals), so that a command imports only what
it uses: ``freezer-dr-agent``, on every compute node, loads neither the
journal, the recovery, the drivers nor SQLAlchemy.
"""

import os
import signal
import sys

from oslo_log import log as logging

from freezer_dr.conf import CONF

LOG = logging.getLogger(__name__)


def prepare(argv, prog, groups=('bus', 'engine', 'liveness',
                                  'storm_guard')):
    """Parse the command line and configuration files, check every option of
    ``groups`` (so that a bad value stops the command at once, with
    cfg.Error), set up logging."""
    logging.register_options(CONF)
    CONF(argv, project='freezer-dr', prog=prog)
    check_private_files(CONF)
    for group in groups:
        for name in CONF[group]:
            CONF[group][name]
    logging.setup(CONF, 'freezer-dr')


def private_file_problem(path, what='configuration file'):
    """'' when ``path`` is readable by its owner only; otherwise why not,
    with the command that fixes it (secrets live in these files: ssh
    refuses such keys too)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ''       # (its reader says it cannot be read)
    if mode & 0o077:
        return ('%s %s is readable or writable by group or others (mode '
                '%o): run "chmod 600 %s"' % (what, path, mode & 0o777, path))
    return ''


def check_private_files(conf):
    """Every configuration file read (and those of its configuration
    directories) is private to its owner.

    :raises ValueError: naming the first file that is not.
    """
    paths = list(conf.config_file or [])
    for directory in conf.config_dir or []:
        try:
            paths.extend(os.path.join(directory, name) for name in
                         sorted(os.listdir(directory))
                         if name.endswith('.conf'))
        except OSError:
            pass
    for path in paths:
        problem = private_file_problem(path)
        if problem:
            raise ValueError(problem)


def stop_on_signals(stop):
    """Set the event ``stop`` on SIGTERM and SIGINT."""
    def handler(signum, frame):
        LOG.info('Received %s: stopping', signal.Signals(signum).name)
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def not_available(command, issue):
    """Entry point of a command that a later piece of work builds: say so
    clearly and exit 2, never pretend to work."""
    def main():
        sys.stderr.write('%s: not available yet in this version of '
                         'freezer-dr (%s)\n' % (command, issue))
        return 2
    return main
