"""The nova status watcher's verdicts as values (one class, its nova
stood in for: the real nova is in tests/functional/test_nova_evacuator)."""

import threading
import time
import types

from freezer_dr.drivers.nova import watcher


class Servers:
    def __init__(self, listed):
        self.listed = listed
        self.lists = 0
        self.gets = []

    def list(self, search_opts):
        self.lists += 1
        return list(self.listed)

    def get(self, server_id):
        self.gets.append(server_id)
        return next(s for s in self.listed if s.id == server_id)


def _server(status, host, task=None):
    return types.SimpleNamespace(**{
        'id': 'i-1', 'status': status, 'OS-EXT-SRV-ATTR:host': host,
        'OS-EXT-STS:task_state': task, 'fault': {'message': 'no host'}})


def _wait(listed, timeout=0.3):
    nova = types.SimpleNamespace(servers=Servers(listed))
    w = watcher.StatusWatcher(nova, 0.01)
    clock = time.monotonic
    try:
        return w.wait('i-1', 'dead-1', 'ACTIVE', clock() + timeout, clock)
    finally:
        w.stop()


def test_back_elsewhere_is_ok_with_the_target():
    seen = _wait([_server('ACTIVE', 'compute-2')])
    assert seen == watcher.Verification(True, 'ACTIVE on compute-2',
                                        'compute-2', False)


def test_a_deadline_passed_is_a_timed_out_field_not_a_string():
    seen = _wait([_server('ACTIVE', 'compute-2', task='rebuilding')])
    assert not seen.ok and seen.timed_out
    assert seen.detail.startswith('timed out: ACTIVE on compute-2')


def test_an_error_is_final_but_not_a_time_out():
    seen = _wait([_server('ERROR', 'dead-1')])
    assert not seen.ok and not seen.timed_out
    assert seen.detail == 'ERROR after evacuation: no host'


def _told_while_waiting(told_after, interval, fallback, timeout=5.0):
    """Wait for i-1 while a notification names it ``told_after`` seconds
    later (and another names an unrelated instance at once)."""
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = watcher.StatusWatcher(types.SimpleNamespace(servers=servers),
                              interval, fallback)
    clock = time.monotonic
    results = []
    waiter = threading.Thread(target=lambda: results.append(w.wait(
        'i-1', 'dead-1', 'ACTIVE', clock() + timeout, clock)))
    waiter.start()
    while 'i-1' not in w._waited:
        time.sleep(0.001)
    w.poke('i-other')       # notifications are heard
    time.sleep(told_after)
    w.poke('i-1')
    waiter.join()
    w.stop()
    return results[0], servers


def test_a_notification_is_read_at_once_and_no_poll_is_made_meanwhile():
    # Polls every 0.2 s until a notification is heard; then only after
    # 30 s without one: none in this wait.
    seen, servers = _told_while_waiting(0.5, interval=0.2, fallback=30)
    assert seen.ok and seen.target == 'compute-2'
    assert servers.gets == ['i-1']
    assert servers.lists == 0


def test_polls_while_no_notification_is_heard():
    servers = Servers([_server('ACTIVE', 'compute-2', task='rebuilding')])
    w = watcher.StatusWatcher(types.SimpleNamespace(servers=servers),
                              0.05, 30)
    clock = time.monotonic
    seen = w.wait('i-1', 'dead-1', 'ACTIVE', clock() + 0.5, clock)
    w.stop()
    assert seen.timed_out
    assert servers.lists >= 3 and servers.gets == []


def test_a_notification_for_an_instance_nobody_waits_for_reads_nothing():
    # (Kept, in case it is waited for later; read only then.)
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = watcher.StatusWatcher(types.SimpleNamespace(servers=servers),
                              0.05, 30)
    w.poke('i-1')
    time.sleep(0.2)
    w.stop()
    assert servers.gets == [] and servers.lists == 0


def test_an_instance_announced_before_it_is_waited_for_is_read_at_once():
    # nova may publish instance.rebuild.end before the evacuate request
    # has returned to the evacuator.
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = watcher.StatusWatcher(types.SimpleNamespace(servers=servers),
                              30, 30)
    w.poke('i-1')
    clock = time.monotonic
    seen = w.wait('i-1', 'dead-1', 'ACTIVE', clock() + 5, clock)
    w.stop()
    assert seen.ok and servers.gets == ['i-1'] and servers.lists == 0


def test_back_but_still_on_the_dead_host_is_read_again_until_it_moves():
    # nova 34 publishes instance.rebuild.end of an evacuation before it
    # gives the instance its new host, and nothing after.
    class Moving(Servers):
        def get(self, server_id):
            self.gets.append(server_id)
            if len(self.gets) < 3:
                return _server('ACTIVE', 'dead-1')
            return _server('ACTIVE', 'compute-2')

    servers = Moving([])
    w = watcher.StatusWatcher(types.SimpleNamespace(servers=servers),
                              30, 30)
    w.poke('i-1')
    clock = time.monotonic
    seen = w.wait('i-1', 'dead-1', 'ACTIVE', clock() + 5, clock)
    w.stop()
    assert seen.ok and seen.target == 'compute-2'
    assert servers.gets == ['i-1'] * 3 and servers.lists == 0
