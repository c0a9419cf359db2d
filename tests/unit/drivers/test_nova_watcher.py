"""The nova status watcher's verdicts as values (one class, its nova
stood in for: the real nova is in tests/functional/test_nova_evacuator)."""

import threading
import time
import types

from novaclient import exceptions as nova_exceptions

from freezer_dr.drivers.nova import watcher
from tests.helpers import wait_for


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


def _waiting(w, server_id='i-1', timeout=5.0):
    """Wait for ``server_id`` in a thread; return (thread, results)."""
    clock = time.monotonic
    results = []
    waiter = threading.Thread(target=lambda: results.append(w.wait(
        server_id, 'dead-1', 'ACTIVE', clock() + timeout, clock)))
    waiter.start()
    wait_for(lambda: server_id in w._waited, 5)
    return waiter, results


def _watcher(servers, interval=30, fallback=30, ids=('i-1', 'i-2')):
    return watcher.StatusWatcher(types.SimpleNamespace(servers=servers),
                                 interval, fallback, ids=ids)


def test_a_notification_is_read_at_once_and_no_poll_is_made():
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = _watcher(servers)
    waiter, results = _waiting(w)
    w.poke('i-1')
    waiter.join()
    w.stop()
    assert results[0].ok and results[0].target == 'compute-2'
    assert servers.gets == ['i-1'] and servers.lists == 0


def test_polls_while_no_notification_is_heard():
    servers = Servers([_server('ACTIVE', 'compute-2', task='rebuilding')])
    w = _watcher(servers, interval=0.05)
    clock = time.monotonic
    seen = w.wait('i-1', 'dead-1', 'ACTIVE', clock() + 0.5, clock)
    w.stop()
    assert seen.timed_out
    assert servers.lists >= 3 and servers.gets == []


def test_a_lost_notification_is_made_up_for_by_the_fallback_poll():
    # Notifications are heard (about i-2), none about i-1: polled every
    # fallback interval, not every interval, and i-1 is verified by it.
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = _watcher(servers, interval=0.01, fallback=0.5)
    w.poke('i-2')
    waiter, results = _waiting(w)
    waiter.join()
    w.stop()
    assert results[0].ok
    assert 1 <= servers.lists <= 2 and servers.gets == []


def test_notifications_about_others_never_hold_the_fallback_poll_off():
    # (An attacker, or a busy cloud, telling of other instances.)
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = _watcher(servers, interval=0.01, fallback=0.5)
    stop = threading.Event()

    def chatter():
        while not stop.is_set():
            w.poke('i-2')
            w.poke('someone-else')
            time.sleep(0.05)

    talker = threading.Thread(target=chatter)
    talker.start()
    waiter, results = _waiting(w, timeout=3)
    waiter.join()
    stop.set()
    talker.join()
    w.stop()
    assert results[0].ok, results


def test_a_notification_for_an_instance_nobody_waits_for_reads_nothing():
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = _watcher(servers)
    waiter, results = _waiting(w, 'i-2', timeout=0.5)
    w.poke('i-1')           # (kept, in case it is waited for later)
    w.poke('not-ours')
    waiter.join()
    w.stop()
    assert servers.gets == [] and servers.lists == 0


def test_an_instance_announced_before_it_is_waited_for_is_read_at_once():
    # nova may publish instance.evacuate before the evacuate request has
    # returned to the evacuator.
    servers = Servers([_server('ACTIVE', 'compute-2')])
    w = _watcher(servers)
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
    w = _watcher(servers)
    w.poke('i-1')
    clock = time.monotonic
    seen = w.wait('i-1', 'dead-1', 'ACTIVE', clock() + 5, clock)
    w.stop()
    assert seen.ok and seen.target == 'compute-2'
    assert servers.gets == ['i-1'] * 3 and servers.lists == 0


def test_reads_are_spaced_and_bounded_whatever_the_bus_says():
    # Gone from nova (404), and told of 200 times: read at most once per
    # settle interval, and at most SETTLE_READS times in all.
    class Gone(Servers):
        def get(self, server_id):
            self.gets.append(server_id)
            raise nova_exceptions.NotFound(404)

    servers = Gone([])
    w = _watcher(servers)
    waiter, results = _waiting(w, timeout=1.0)
    for _ in range(200):
        w.poke('i-1')
        time.sleep(0.002)
    waiter.join()
    w.stop()
    assert results[0].timed_out
    assert 1 <= len(servers.gets) <= 1.0 / w.SETTLE_INTERVAL + 2
    assert servers.lists == 0


def test_a_read_from_before_the_wait_is_not_a_verdict():
    # An ERROR read before this attempt's request (a poll during the
    # retry's pause) is not this attempt's result, even when a read of
    # another instance wakes the wait.
    other = _server('ACTIVE', 'compute-2')
    other.id = 'i-2'
    servers = Servers([other])
    w = _watcher(servers)
    w._seen['i-1'] = (0, _server('ERROR', 'dead-1'))     # read before
    waiter_2, results_2 = _waiting(w, 'i-2', timeout=5)
    waiter_1, results_1 = _waiting(w, 'i-1', timeout=1.0)
    w.poke('i-2')
    waiter_2.join()
    waiter_1.join()
    w.stop()
    assert results_2[0].ok and servers.gets == ['i-2']
    assert results_1[0].timed_out, results_1
