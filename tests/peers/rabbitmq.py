"""The machine's RabbitMQ (127.0.0.1:5672, guest/guest), as the tests use
it: started if it is not running, stopped and started by the tests of a
broker outage."""

import os
import subprocess

from tests.helpers import wait_for

URL = os.environ.get('FREEZER_DR_TEST_TRANSPORT_URL',
                     'rabbit://guest:guest@127.0.0.1:5672/')


def rabbitmqctl(*args, timeout=60):
    return subprocess.run(['rabbitmqctl', *args], capture_output=True,
                          text=True, timeout=timeout)


def await_rabbit(timeout=120):
    """Wait until the broker accepts clients (await_startup fails at once
    until the node has registered, so retry it)."""
    wait_for(lambda: rabbitmqctl('await_startup', timeout=30).returncode
             == 0, timeout, interval=0.5, message='RabbitMQ to start')
