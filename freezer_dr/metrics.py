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

"""The engine's metrics and health, over HTTP.

``[metrics] port`` (0: off) on ``[metrics] listen_address`` serves:

* ``GET /metrics``: Prometheus' text format, every name starting with
  ``freezer_dr_``: hosts by state, messages received and dropped by
  reason, the failure detector's phi over the hosts (a histogram),
  recoveries by outcome, step durations, the time from a host's
  declaration to the first driver call, alerts by kind, leadership, and
  whether the bus, the journal and the coordination backend are reached;
* ``GET /healthz``: 200 when all is well, 503 otherwise, with a JSON body
  that says which of ``bus``, ``journal`` and ``leadership`` is wrong;
* ``GET /v1/hosts``: every tracked host (state, seconds since its last
  heartbeat, phi, incarnation, maintenance, nova's view, and whether this
  engine leads for it), as JSON: what ``freezer-dr-manage host list``
  shows.

The engine thread publishes a snapshot once a second
(:meth:`Metrics.publish`); the HTTP thread only reads the latest one, so a
scrape never touches the liveness core. Nothing here can stop the engine:
a port that cannot be bound is an ERROR in the log, and the engine runs on
without it.
"""

import http.server
import json
import logging
import threading
import time

import prometheus_client
from prometheus_client import core as prom_core

from freezer_dr.liveness import states as st

LOG = logging.getLogger(__name__)

#: Buckets of the step durations and of the declaration-to-first-call time
#: (seconds).
STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300,
                600, float('inf'))
FIRST_CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5,
                      float('inf'))
#: Buckets of the phi histogram (phi 8 is the default threshold).
PHI_BUCKETS = (0.5, 1, 2, 4, 8, 16, 32, float('inf'))

#: Published snapshots older than this are stale: the engine thread hangs.
STALE_AFTER = 10.0


class Metrics:
    """What the engine, the runner and the alerts report (thread-safe)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self.registry = prometheus_client.CollectorRegistry()
        self._recoveries = prometheus_client.Counter(
            'freezer_dr_recoveries', 'Recoveries ended, by outcome '
            '(recovered, failed, held, interrupted, deposed).',
            ['outcome'], registry=self.registry)
        self._steps = prometheus_client.Histogram(
            'freezer_dr_step_duration_seconds', 'How long each recovery '
            'step took, by step and how it ended.', ['step', 'status'],
            buckets=STEP_BUCKETS, registry=self.registry)
        self._first_call = prometheus_client.Histogram(
            'freezer_dr_declaration_to_first_call_seconds', 'From a host '
            'declared dead (the decision carried out) to the first driver '
            'call of its recovery.', buckets=FIRST_CALL_BUCKETS,
            registry=self.registry)
        self._alerts = prometheus_client.Counter(
            'freezer_dr_alerts', 'Alerts raised to the administrators, by '
            'kind (split_brain, fence_not_believed, storm, ...).',
            ['kind'], registry=self.registry)
        self._lock = threading.Lock()
        self._snapshot = None
        self._published = None
        self.registry.register(_SnapshotCollector(self))

    # --- from the runner and the alerts (any thread) ---

    def recovery_timing(self, decided_at):
        """A :class:`_Timing` for one recovery, decided at ``decided_at``
        (this clock)."""
        return _Timing(self, decided_at)

    def recovery_ended(self, outcome):
        self._recoveries.labels(outcome).inc()

    def alert(self, kind):
        self._alerts.labels(kind).inc()

    # --- from the engine thread ---

    def publish(self, snapshot):
        """The engine's state now: a dict (see :meth:`Engine.snapshot`)."""
        with self._lock:
            self._snapshot = snapshot
            self._published = self._clock()

    def latest(self):
        """The latest snapshot and its age in seconds (None, None before
        the first)."""
        with self._lock:
            if self._snapshot is None:
                return None, None
            return self._snapshot, self._clock() - self._published

    # --- for HTTP ---

    def health(self):
        """``(healthy, {part: 'ok' or what is wrong})`` for bus, journal
        and leadership (and the engine itself: a stale snapshot)."""
        snapshot, age = self.latest()
        if snapshot is None:
            return False, {'engine': 'starting'}
        parts = {
            'bus': 'ok' if snapshot['bus_heard'] else
            'deaf: the engine does not hear its own canary'
            if snapshot.get('bus_confirmed', True) else
            'starting: the engine\'s first canary is not back yet',
            'journal': {True: 'ok', None: 'ok',
                        False: 'unreachable'}[snapshot['journal_ok']],
            'leadership': _leadership_health(snapshot),
        }
        if snapshot['waiting']:
            parts['journal'] = 'recoveries waiting for the journal: %s' % (
                ', '.join(snapshot['waiting']))
        if age > STALE_AFTER:
            parts['engine'] = 'no snapshot for %.0f s: the engine thread ' \
                'is stuck' % age
        healthy = all(v == 'ok' or v.startswith('ok')
                      for v in parts.values())
        return healthy, parts


def _leadership_health(snapshot):
    role = snapshot['role']
    if snapshot['coordination_ok'] is False:
        return 'coordination backend unreachable (%s)' % role
    return 'ok (%s)' % role


class _Timing:
    """Step times of one recovery (its worker thread)."""

    def __init__(self, metrics, decided_at):
        self._metrics = metrics
        self._decided_at = decided_at
        self._first = True
        self._started = {}

    def progress(self, step, status):
        now = self._metrics._clock()
        if status == 'started':
            if self._first:
                self._first = False
                self._metrics._first_call.observe(
                    max(now - self._decided_at, 0.0))
            self._started[step] = now
            return
        began = self._started.pop(step, None)
        if began is not None:
            self._metrics._steps.labels(step, status).observe(now - began)


class _SnapshotCollector:
    """The gauges and counters read from the engine's latest snapshot."""

    def __init__(self, metrics):
        self._metrics = metrics

    def collect(self):
        snapshot, _ = self._metrics.latest()
        if snapshot is None:
            return
        hosts = prom_core.GaugeMetricFamily(
            'freezer_dr_hosts', 'Tracked hosts, by state.',
            labels=['state'])
        counts = dict.fromkeys(st.ALL, 0)
        for host in snapshot['hosts']:
            counts[host['state']] = counts.get(host['state'], 0) + 1
        for state, count in sorted(counts.items()):
            hosts.add_metric([state], count)
        yield hosts
        received = prom_core.CounterMetricFamily(
            'freezer_dr_messages_received', 'Messages received on the '
            'heartbeat topic and from nova.')
        received.add_metric([], snapshot['received'])
        yield received
        dropped = prom_core.CounterMetricFamily(
            'freezer_dr_messages_dropped', 'Messages dropped, by reason '
            '(undecodable, malformed, unsigned, bad signature, stale, '
            'wrong topic, sequence jump, unknown host).',
            labels=['reason'])
        for reason, count in sorted(snapshot['dropped'].items()):
            dropped.add_metric([reason], count)
        yield dropped
        phis = [h['phi'] for h in snapshot['hosts'] if h['phi'] is not None]
        buckets = []
        for bound in PHI_BUCKETS:
            buckets.append(('+Inf' if bound == float('inf') else str(bound),
                            sum(1 for p in phis if p <= bound)))
        phi = prom_core.HistogramMetricFamily(
            'freezer_dr_phi', 'The failure detector\'s phi of the hosts '
            'heard, now (phi_threshold, 8 by default, declares).',
            buckets=buckets, sum_value=sum(phis))
        yield phi
        for name, value, text in (
                ('freezer_dr_leader', snapshot['role'] == 'leader',
                 '1 while this engine leads (for some hosts, when engines '
                 'share them).'),
                ('freezer_dr_bus_up', snapshot['bus_heard'],
                 '1 while the engine hears its own canary on the bus.'),
                ('freezer_dr_journal_up', snapshot['journal_ok'] is not False
                 and not snapshot['waiting'],
                 '1 while the journal is read and written.'),
                ('freezer_dr_coordination_up',
                 snapshot['coordination_ok'] is not False,
                 '1 while the coordination backend answers (or none is '
                 'used).')):
            gauge = prom_core.GaugeMetricFamily(name, text)
            gauge.add_metric([], 1 if value else 0)
            yield gauge


class _Handler(http.server.BaseHTTPRequestHandler):
    metrics = None          # set on the server's subclass

    def do_GET(self):
        path = self.path.split('?', 1)[0]
        if path == '/metrics':
            body = prometheus_client.generate_latest(self.metrics.registry)
            self._answer(200, body, prometheus_client.CONTENT_TYPE_LATEST)
        elif path == '/healthz':
            healthy, parts = self.metrics.health()
            self._json(200 if healthy else 503,
                       {'healthy': healthy, 'checks': parts})
        elif path == '/v1/hosts':
            snapshot, age = self.metrics.latest()
            if snapshot is None:
                self._json(503, {'error': 'the engine is starting'})
            else:
                self._json(200, {'engine': snapshot['engine'],
                                 'role': snapshot['role'],
                                 'snapshot_age': round(age, 3),
                                 'hosts': snapshot['hosts']})
        else:
            self._json(404, {'error': 'not found: %s' % path})

    def _json(self, status, value):
        self._answer(status, json.dumps(value, sort_keys=True).encode(),
                     'application/json')

    def _answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):      # noqa: A002 (the base's)
        LOG.debug('metrics: %s - %s', self.address_string(), format % args)


class Server:
    """The HTTP endpoint in a daemon thread."""

    def __init__(self, metrics, address, port):
        handler = type('Handler', (_Handler,), {'metrics': metrics})
        self._server = http.server.ThreadingHTTPServer((address, port),
                                                       handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name='metrics-http', daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def serve(metrics, address, port):
    """Start the endpoint; None (and an ERROR logged) if it cannot listen:
    metrics never stop the engine."""
    if not port:
        return None
    try:
        server = Server(metrics, address, port).start()
    except OSError as exc:
        LOG.error('Metrics and health: cannot listen on %s:%d: %s; the '
                  'engine runs without them', address, port, exc)
        return None
    LOG.info('Metrics and health on http://%s:%d/ (/metrics, /healthz, '
             '/v1/hosts)', address, server.port)
    return server
