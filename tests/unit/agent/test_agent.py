"""The agent's heartbeat and checks, with a stand-in notifier (one class
isolated; the real bus is in tests/functional)."""

import os
import subprocess
import sys
import threading
import time

from freezer_dr import agent
from freezer_dr import events
from freezer_dr.agent import checks
from tests.helpers import wait_for


class RecordingNotifier:
    def __init__(self, fail=False):
        self.sent = []
        self.fail = fail

    def info(self, ctxt, event_type, payload):
        if self.fail:
            raise ConnectionError('broker unreachable')
        self.sent.append((event_type, payload))


def test_heartbeats_parse_as_heartbeat_events():
    notifier = RecordingNotifier()
    beater = agent.Agent(notifier, 'compute-1', 1.0,
                         results=lambda: {'disk': {'ok': True,
                                                   'detail': '5 MiB'}},
                         boot_id='boot-1', clock=lambda: 100.0)
    assert beater.heartbeat() and beater.heartbeat()
    parsed = [events.parse_notification('freezer-dr-agent:compute-1',
                                        event_type, payload, 101.0)
              for event_type, payload in notifier.sent]
    assert [p.sequence for p in parsed] == [1, 2]
    assert parsed[0].host == 'compute-1' and parsed[0].boot_id == 'boot-1'
    assert parsed[0].checks == (events.Check('disk', True, '5 MiB'),)


def test_a_failed_send_is_counted_not_raised():
    beater = agent.Agent(RecordingNotifier(fail=True), 'h', 1.0,
                         boot_id='b')
    assert beater.heartbeat() is False
    assert beater.failed == 1 and beater.sent == 0


def test_boot_id_comes_from_the_kernel():
    boot = agent.read_boot_id()
    assert boot and len(boot) <= events.MAX_BOOT_ID_LENGTH
    assert agent.read_boot_id('/nonexistent') != agent.read_boot_id(
        '/nonexistent')


def test_failing_and_hanging_checks_are_reported_not_fatal():
    release = threading.Event()

    def hangs():
        release.wait(10)
        return True, 'late'

    def raises():
        raise RuntimeError('libvirt exploded')

    runner = checks.CheckRunner({'ok': lambda: (True, 'fine'),
                                 'raises': raises, 'hangs': hangs},
                                interval=60, timeout=0.3)
    assert runner.results()['ok'] == {'ok': False, 'detail': 'not run yet'}
    began = time.monotonic()
    runner.run_once()
    assert time.monotonic() - began < 2
    results = runner.results()
    release.set()
    assert results['ok'] == {'ok': True, 'detail': 'fine'}
    assert results['raises'] == {'ok': False,
                                 'detail': 'RuntimeError: libvirt exploded'}
    assert results['hangs']['ok'] is False
    assert 'timed out' in results['hangs']['detail']


def test_disk_check(tmp_path):
    ok, detail = checks.disk(str(tmp_path), 0)
    assert ok and 'MiB free' in detail
    ok, detail = checks.disk(str(tmp_path), 10 ** 12)
    assert not ok
    ok, detail = checks.disk(str(tmp_path / 'missing'), 0)
    assert not ok and 'missing' in detail


def test_nova_compute_check_finds_a_process_by_its_command_line():
    marker = 'fake-nova-compute-%d' % os.getpid()
    ok, _ = checks.nova_compute(marker)
    assert not ok
    process = subprocess.Popen([sys.executable, '-c',
                                'import time; time.sleep(60)', marker])
    try:
        def found():
            ok, detail = checks.nova_compute(marker)
            return ok and detail
        detail = wait_for(found, 10, interval=0.05,
                          message='the check to find %s' % marker)
        assert detail == 'pid %d' % process.pid
    finally:
        process.kill()
        process.wait()


def test_libvirt_check_reports_what_is_missing():
    ok, detail = checks.libvirt('test:///default')
    # Either libvirt-python answers for the test driver, or we are told
    # precisely that it is missing: never an exception.
    assert ok or 'libvirt' in detail


def test_shutdown_memory(tmp_path):
    memory = agent.ShutdownMemory(str(tmp_path / 'sub' / 'state.json'))
    assert not memory.announced()
    memory.remember(True)
    assert memory.announced()
    memory.remember(False)
    assert not memory.announced()
