"""Fixtures of the tests that run real peers and real processes: the
contract suites (tests/contract) and the functional tests
(tests/functional). tests/functional/conftest.py adds what only the
functional tests use (a test's freezer-dr deployment, journal databases,
the cloud harness). The peers themselves (RabbitMQ, BMC simulators, Redfish
emulators, libvirt, SMTP and HTTP servers, bus listeners) are in
tests/peers/; the process and wait helpers in tests/helpers.py.

RabbitMQ is the machine's (127.0.0.1:5672, guest/guest); every test uses
its own exchange, topic and pool names (prefix ``fdrtest_``), so tests never
see each other's messages. Processes run in their own process group and are
killed, group and all, when the test ends, even when it fails.
"""

import json
import os
import subprocess

import pytest

from tests import helpers
from tests.peers import rabbitmq


@pytest.fixture(scope='session')
def rabbit():
    """The machine's RabbitMQ, started if it is not running; its URL."""
    if rabbitmq.rabbitmqctl('status', timeout=30).returncode != 0:
        subprocess.run(['rabbitmq-server', '-detached'], check=False)
    rabbitmq.await_rabbit()
    # Queues the tests leave behind (the notifier's default queues) expire.
    rabbitmq.rabbitmqctl('set_policy', '--apply-to', 'queues',
                         'fdrtest-cleanup', '^fdrtest',
                         json.dumps({'message-ttl': 30000,
                                     'expires': 120000}))
    return rabbitmq.URL


@pytest.fixture
def processes(tmp_path):
    """Start processes with ``processes.start(name, args)`` (logs in the
    test's directory); all are stopped, group and all, when the test
    ends."""
    with helpers.Processes(tmp_path) as started:
        yield started


def pytest_terminal_summary(terminalreporter):
    """The fault table (issue 11): each fault injected, how many times the
    dead host was fenced, how many times an instance was evacuated, and
    how many healthy hosts were fenced."""
    if not helpers.FAULTS:
        return
    write = terminalreporter.write_line
    write('')
    write('fault table')
    header = ('fault', 'host fenced', 'instance evacuated',
              'false fencings')
    rows = [header] + [(f, str(a), str(b), str(c))
                       for f, a, b, c in helpers.FAULTS]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for n, row in enumerate(rows):
        write('| ' + ' | '.join(c.ljust(w) for c, w in zip(
            row, widths, strict=True)) + ' |')
        if n == 0:
            write('|' + '|'.join('-' * (w + 2) for w in widths) + '|')


# Every file the tests write is private to its owner, as an operator's
# configuration, credentials and key files must be: the commands refuse
# files readable by group or others (issue 12).
os.umask(0o077)
