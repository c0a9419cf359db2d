#!/usr/bin/env python3
"""Write the bundled recordings of tests/recordings/ (deterministically).

Each is a 50-host cloud whose agents heartbeat every second (each host with
its own phase, +-20 ms of jitter, 1-5 ms of delivery latency). The files are
gzip-compressed JSON Lines with a fixed mtime, so running this again
produces the same bytes::

    python tools/make_recordings.py [OUTPUT_DIR]
"""

import gzip
import os
import random
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from freezer_dr import events  # noqa: E402

START = 1764115200.0          # 2025-11-26T00:00:00Z
HOSTS = ['compute-%02d' % n for n in range(1, 51)]
INTERVAL = 1.0


def _service_payload(host, disabled, reason, forced_down):
    return {
        'nova_object.name': 'ServiceStatusPayload',
        'nova_object.namespace': 'nova',
        'nova_object.version': '1.1',
        'nova_object.data': {
            'host': host, 'binary': 'nova-compute', 'topic': 'compute',
            'disabled': disabled, 'disabled_reason': reason,
            'forced_down': forced_down, 'report_count': 1200,
            'version': 66, 'availability_zone': 'nova',
            'uuid': str(uuid.UUID(int=HOSTS.index(host) + 1)),
            'last_seen_up': '2025-11-26T00:00:59Z',
        },
    }


class Cloud:
    """Simulated agents; ``silent(host, start, end)`` stops one host's
    heartbeats in [start, end) (seconds from START)."""

    def __init__(self, seed, duration):
        self.rng = random.Random(seed)
        self.duration = duration
        self.phase = {h: self.rng.random() for h in HOSTS}
        self.boot = {h: str(uuid.UUID(int=self.rng.getrandbits(128),
                                      version=4)) for h in HOSTS}
        self.gaps = {h: [] for h in HOSTS}
        self.resume_delay = {}
        self.messages = []

    def silent(self, host, start, end=None, resume_delay=0.0):
        self.gaps[host].append((start, end if end is not None else 1e9))
        if resume_delay:
            self.resume_delay[host, start] = resume_delay

    def add(self, at, publisher_id, event_type, payload):
        self.messages.append((START + at, publisher_id, event_type, payload))

    def heartbeats(self):
        for host in HOSTS:
            sequence = 0
            beat = self.phase[host]
            while beat < self.duration:
                gap = next(((s, e) for s, e in self.gaps[host]
                            if s <= beat < e), None)
                if gap is not None:
                    beat = gap[1] + self.resume_delay.get((host, gap[0]), 0)
                    continue
                sent = beat + self.rng.uniform(-0.02, 0.02)
                received = sent + self.rng.uniform(0.001, 0.005)
                sequence += 1
                payload = {
                    'host': host, 'sequence': sequence,
                    'boot_id': self.boot[host],
                    'sent_at': round(START + sent, 6),
                    'checks': {'nova_compute': {'ok': True, 'detail': ''},
                               'libvirt': {'ok': True, 'detail': ''}},
                }
                self.messages.append((round(START + received, 6),
                                      'freezer-dr-agent:' + host,
                                      events.HEARTBEAT, payload))
                beat += INTERVAL

    def write(self, path, description):
        self.heartbeats()
        self.messages.sort(key=lambda m: (m[0], m[1]))
        with open(path, 'wb') as raw:
            with gzip.GzipFile(filename='', mode='wb', fileobj=raw,
                               mtime=0) as out:
                out.write((events.recording_header(
                    source='tools/make_recordings.py',
                    description=description) + '\n').encode())
                for received, publisher, event_type, payload in \
                        self.messages:
                    out.write((events.recording_line(
                        received, publisher, event_type, payload) +
                        '\n').encode())


def steady(path):
    cloud = Cloud(seed=1, duration=120)
    cloud.add(30.5, 'nova-api:controller', 'service.update',
              _service_payload('compute-05', True, 'kernel upgrade at 02:00',
                               False))
    cloud.write(path, '50 hosts heartbeating for 120 s; an operator '
                      'disables compute-05 in nova (not forced down)')


def one_host_dies(path):
    cloud = Cloud(seed=2, duration=120)
    cloud.silent('compute-07', 60.0)
    cloud.write(path, '50 hosts; compute-07 dies at t=60 s')


def pause_80(path):
    # 80 % of the default detection window (3.56 s): 2.85 s of silence.
    cloud = Cloud(seed=3, duration=120)
    last = cloud.phase['compute-12'] + 59
    cloud.silent('compute-12', last + 0.5, last + 2.85)
    cloud.write(path, '50 hosts; compute-12 pauses for 2.85 s (80 % of the '
                      'default detection window) at t=60 s, then resumes')


def storm_40(path):
    cloud = Cloud(seed=4, duration=120)
    for host in HOSTS[30:]:
        cloud.silent(host, 60.0)
    cloud.write(path, '50 hosts; 20 of them (40 %) go silent at t=60 s')


def bus_drop(path):
    cloud = Cloud(seed=5, duration=180)
    cloud.add(60.0, 'freezer-dr-engine:controller', events.BUS_STATUS,
              {'connected': False})
    cloud.add(120.0, 'freezer-dr-engine:controller', events.BUS_STATUS,
              {'connected': True})
    for host in HOSTS:
        # Agents reconnect 0.5 to 3 s after the broker is back.
        cloud.silent(host, 60.0, 120.0,
                     resume_delay=round(cloud.rng.uniform(0.5, 3.0), 3))
    cloud.write(path, '50 hosts; the engine loses the bus from t=60 s to '
                      't=120 s; agents reconnect within 3 s after it')


def nova_forced_down(path):
    cloud = Cloud(seed=6, duration=120)
    cloud.add(60.0, 'nova-api:controller', 'service.update',
              _service_payload('compute-03', True, 'forced down by operator',
                               True))
    cloud.write(path, '50 hosts; nova forces compute-03 down at t=60 s '
                      'while its heartbeats continue')


RECORDINGS = {
    'steady.jsonl.gz': steady,
    'one-host-dies.jsonl.gz': one_host_dies,
    'pause-80.jsonl.gz': pause_80,
    'storm-40.jsonl.gz': storm_40,
    'bus-drop.jsonl.gz': bus_drop,
    'nova-forced-down.jsonl.gz': nova_forced_down,
}


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(__file__), os.pardir, 'tests', 'recordings')
    os.makedirs(out_dir, exist_ok=True)
    for name, make in RECORDINGS.items():
        make(os.path.join(out_dir, name))
        print(os.path.join(out_dir, name))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
