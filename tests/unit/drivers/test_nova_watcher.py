"""The nova status watcher's verdicts as values (one class, its nova
stood in for: the real nova is in tests/functional/test_nova_evacuator)."""

import time
import types

from freezer_dr.drivers.nova import watcher


class Servers:
    def __init__(self, listed):
        self.listed = listed

    def list(self, search_opts):
        return list(self.listed)


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
