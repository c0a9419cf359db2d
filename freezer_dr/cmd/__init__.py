# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Console entry points: parse configuration, build, run.

What every command shares lives here (parsing and checking the
configuration, stopping on signals), so that a command imports only what
it uses: ``freezer-dr-agent``, on every compute node, loads neither the
journal, the recovery, the drivers nor SQLAlchemy.
"""

import logging as std_logging
import os
import signal
import socket
import sys
import threading
import time
from urllib import parse

from oslo_log import log as logging

from freezer_dr.conf import CONF

LOG = logging.getLogger(__name__)


def prepare(argv, prog, groups=None):
    """Parse the command line and configuration files and check them
    strictly (:mod:`freezer_dr.conf.strict`: an unknown section or option,
    or a value not of its type, stops the command at once with one line),
    set up logging. ``groups``: the option groups whose values are checked
    (every registered one when None)."""
    from freezer_dr import version
    from freezer_dr.conf import strict
    from freezer_dr.conf import upstream
    logging.register_options(CONF)
    # Upstream freezer-dr's files, and dashed names, read as ours.
    upstream.install()
    CONF(argv, project='freezer-dr', prog=prog,
         version=version.version_string(),
         default_config_files=upstream.default_config_files(prog=prog))
    check_private_files(CONF)
    upstream.check(CONF)
    strict.check_names(CONF)
    strict.check_values(CONF, groups)
    logging.setup(CONF, 'freezer-dr')
    scrub_logs(CONF)
    for note in upstream.notes(CONF):
        LOG.warning('%s', note)


class _Scrubbing(std_logging.Formatter):
    """Wraps a handler's formatter: every configured secret (the value of
    every option marked secret, and the password inside a URL) is replaced
    in what it writes, tracebacks included, whatever its length."""

    REFRESH = 30.0

    def __init__(self, inner, conf):
        super().__init__()
        self._inner = inner or std_logging.Formatter()
        self._conf = conf
        self._secrets = ()
        self._read_at = float('-inf')

    def format(self, record):
        text = self._inner.format(record)
        now = time.monotonic()
        if now - self._read_at > self.REFRESH:
            # (Drivers register options of their own after start-up.)
            self._secrets = configured_secrets(self._conf)
            self._read_at = now
        return scrub(text, self._secrets)


def configured_secrets(conf):
    """Every secret of ``conf``: the values of options marked secret and
    the passwords in the URLs among them, longest first."""
    found = set()

    def add(value):
        if isinstance(value, str) and value:
            found.add(value)
            for part in value.split(','):
                part = part.strip()
                if '://' not in part:       # (a transport URL's next host)
                    part = 'x://' + part
                try:
                    password = parse.urlsplit(part).password
                except ValueError:
                    password = None
                if password:
                    found.add(password)
                    found.add(parse.unquote(password))
    groups = [(None, conf._opts)] + [(name, group._opts) for name, group in
                                     conf._groups.items()]
    for group, opts in groups:
        for name, info in list(opts.items()):
            if not info['opt'].secret:
                continue
            try:
                value = conf[group][name] if group else conf[name]
            except Exception:
                continue
            for item in value if isinstance(value, list) else [value]:
                add(item)
    return tuple(sorted(found, key=len, reverse=True))


def scrub(text, secrets):
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, '***')
    return text


def scrub_logs(conf):
    """Have every handler of the root logger scrub the secrets of
    ``conf`` from what it writes."""
    for handler in std_logging.getLogger().handlers:
        if not isinstance(handler.formatter, _Scrubbing):
            handler.setFormatter(_Scrubbing(handler.formatter, conf))


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


#: Seconds a command has, after SIGTERM or SIGINT, to stop cleanly; then
#: it exits at once. (What a recovery did is in the journal, as after a
#: kill -9: the next leader resumes it.) systemd's TimeoutStopSec and the
#: operator's patience are both longer.
STOP_DEADLINE = 4.5

_deadline_armed = []


def stop_on_signals(stop, on_signal=None, deadline=STOP_DEADLINE):
    """SIGTERM and SIGINT set the event ``stop`` (after ``on_signal(signum)``
    when given) and give the command ``deadline`` seconds to end, whatever
    it waits for (a broker or a database that does not answer); then it
    exits at once. SIGHUP reloads (:func:`reload_on_sighup`) instead of
    killing."""
    def handler(signum, frame):
        LOG.info('Received %s: stopping (at most %.1f s)',
                 signal.Signals(signum).name, deadline)
        if on_signal is not None:
            on_signal(signum)
        stop.set()
        notify_systemd('STOPPING=1')
        if not _deadline_armed:
            _deadline_armed.append(True)
            timer = threading.Timer(deadline, _exit_now, args=(deadline,))
            timer.daemon = True
            timer.start()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    reload_on_sighup()


def _exit_now(deadline):
    LOG.error('Not stopped %.1f s after the signal: exiting now (what is '
              'under way is taken up from the journal)', deadline)
    for handler in std_logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:       # noqa: S110 (exiting anyway)
            pass
    os._exit(0)


def reload_on_sighup(conf=CONF):
    """SIGHUP (logrotate, ``systemctl reload``): reopen the log files and
    reload the options marked mutable (``--debug`` among them), in a
    thread of its own (never in the signal handler's frame, which may have
    interrupted a log write)."""
    def handler(signum, frame):
        threading.Thread(target=reload, args=(conf,), name='sighup',
                         daemon=True).start()
    signal.signal(signal.SIGHUP, handler)


def reload(conf=CONF):
    reopened = reopen_log_files()
    try:
        conf.mutate_config_files()
    except Exception as exc:
        LOG.error('SIGHUP: the configuration was NOT reloaded: %s: %s',
                  type(exc).__name__, exc)
        return
    LOG.info('SIGHUP: %d log file(s) reopened, mutable options reloaded',
             reopened)


def reopen_log_files():
    """Reopen every log file this process writes (after logrotate moved
    them); return how many."""
    count = 0
    for logger in [std_logging.getLogger()] + [
            std_logging.getLogger(name)
            for name in list(std_logging.root.manager.loggerDict)]:
        for handler in getattr(logger, 'handlers', ()):
            if not isinstance(handler, std_logging.FileHandler):
                continue
            handler.acquire()
            try:
                if handler.stream is not None:
                    handler.stream.close()
                handler.stream = handler._open()
                count += 1
            finally:
                handler.release()
    return count


def notify_systemd(state):
    """Tell systemd (``Type=notify`` units) ``state`` (``READY=1``,
    ``STOPPING=1``), if it listens; never fails."""
    address = os.environ.get('NOTIFY_SOCKET')
    if not address:
        return False
    if address.startswith('@'):         # an abstract socket
        address = '\0' + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        LOG.warning('Could not tell systemd %s: %s', state, exc)
        return False
    return True


def not_available(command, issue):
    """Entry point of a command that a later piece of work builds: say so
    clearly and exit 2, never pretend to work."""
    def main():
        sys.stderr.write('%s: not available yet in this version of '
                         'freezer-dr (%s)\n' % (command, issue))
        return 2
    return main
