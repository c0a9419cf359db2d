#!/usr/bin/env python3
"""Throughput of the liveness core and of a whole replay; memory per host.

Measures, in one process:

* ``core_events_per_s``: already-parsed heartbeat events through
  ``LivenessCore.step`` (10,000 hosts heartbeating every second, with the
  timers that fall due), best of several rounds;
* ``replay_lines_per_s``: recording lines through ``replay.decisions``,
  JSON parsing and validation included, best of several rounds;
* ``bytes_per_host``: memory allocated (tracemalloc) per tracked host once
  50,000 hosts have each sent enough heartbeats to fill their phi window.

As a same-process baseline, it also times ``json.loads`` alone on the same
lines (``json_loads_lines_per_s``) and reports ``replay_vs_json_loads``:
shared machines are noisy, ratios travel better than absolute numbers.
The last line printed is one JSON object. Targets (issue #3): >= 300,000
core events/s, >= 100,000 replay lines/s, < 2,048 bytes per host.
"""

import gc
import io
import json
import os
import sys
import time
import tracemalloc
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from freezer_dr import events  # noqa: E402
from freezer_dr import replay  # noqa: E402
from freezer_dr.liveness import core as liveness_core  # noqa: E402
from freezer_dr.liveness import settings as liveness_settings  # noqa: E402

SETTINGS = liveness_settings.LivenessSettings()
START = 1764115200.0


def _boot_ids(count):
    return [str(uuid.UUID(int=n + 1, version=4)) for n in range(count)]


def heartbeat_events(hosts, seconds):
    """Heartbeats of ``hosts`` hosts for ``seconds`` seconds, in time
    order, each host at its own phase within the second."""
    names = ['compute-%05d' % n for n in range(hosts)]
    boots = _boot_ids(hosts)
    out = []
    for second in range(seconds):
        for n, name in enumerate(names):
            at = START + second + n / hosts
            out.append(events.Heartbeat(at, name, second + 1, boots[n], at,
                                        ()))
    return out


def bench_core(rounds=5):
    stream = heartbeat_events(10000, 20)
    best = 0.0
    for _ in range(rounds):
        core = liveness_core.LivenessCore(SETTINGS)
        step = core.step
        gc.collect()
        began = time.perf_counter()
        for event in stream:
            step(event, event.received_at)
        elapsed = time.perf_counter() - began
        best = max(best, len(stream) / elapsed)
    return best


def recording_lines(hosts, seconds):
    lines = [events.recording_header(source='bench')]
    boots = _boot_ids(hosts)
    for second in range(seconds):
        for n in range(hosts):
            at = round(START + second + n / hosts, 6)
            host = 'compute-%05d' % n
            lines.append(events.recording_line(
                at, 'freezer-dr-agent:' + host, events.HEARTBEAT,
                {'host': host, 'sequence': second + 1, 'boot_id': boots[n],
                 'sent_at': at,
                 'checks': {'nova_compute': {'ok': True, 'detail': ''},
                            'libvirt': {'ok': True, 'detail': ''}}}))
    return '\n'.join(lines) + '\n'


def bench_replay(rounds=5):
    text = recording_lines(2000, 30)
    lines = text.splitlines(keepends=True)
    count = len(lines) - 1
    best_replay = best_json = 0.0
    for _ in range(rounds):
        gc.collect()
        began = time.perf_counter()
        for _decision in replay.decisions(io.StringIO(text), SETTINGS):
            pass
        best_replay = max(best_replay,
                          count / (time.perf_counter() - began))
        gc.collect()
        began = time.perf_counter()
        loads = json.loads
        for line in lines[1:]:
            loads(line)
        best_json = max(best_json, count / (time.perf_counter() - began))
    return best_replay, best_json


def bench_memory(hosts=50000):
    """Bytes per host once every host's phi window is full.

    Two rounds of heartbeats go through the core; the rest of each window
    is filled through the detector the core uses (the same ``observe``
    call), which keeps the run short under tracemalloc.
    """
    names = ['compute-%05d' % n for n in range(hosts)]
    boots = _boot_ids(hosts)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    core = liveness_core.LivenessCore(SETTINGS)
    for second in range(2):
        for n in range(hosts):
            at = START + second + n / hosts
            core.step(events.Heartbeat(at, names[n], second + 1, boots[n],
                                       at, ()), at)
    observe = core._detector.observe
    for host in core._hosts.values():
        history = host.history
        for _ in range(SETTINGS.phi_window):
            observe(history, 1.0)
        assert len(history.samples) == SETTINGS.phi_window
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert core.host_count() == hosts
    return (after - before) / hosts


def main():
    core_rate = bench_core()
    print('core: %.0f heartbeat events/s (10,000 hosts)' % core_rate)
    replay_rate, json_rate = bench_replay()
    print('replay: %.0f lines/s; json.loads alone: %.0f lines/s (%.2fx)'
          % (replay_rate, json_rate, replay_rate / json_rate))
    per_host = bench_memory()
    print('memory: %.0f bytes per host at 50,000 hosts (window %d)'
          % (per_host, SETTINGS.phi_window))
    print(json.dumps({
        'core_events_per_s': round(core_rate),
        'replay_lines_per_s': round(replay_rate),
        'bytes_per_host': round(per_host),
        'json_loads_lines_per_s': round(json_rate),
        'replay_vs_json_loads': round(replay_rate / json_rate, 3),
    }, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
