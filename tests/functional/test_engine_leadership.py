"""Engines side by side on one journal (issue 11): one leads and acts, the
others follow every event and act on nothing; a standby takes over when
the leader dies, and repeats nothing the journal says was done. Real
engine and agent processes on RabbitMQ, the ipmi fencer against the BMC
simulator (which counts every power-off), the test plugins counting the
rest; journal and coordination on sqlite + file://, PostgreSQL (both
defaults) and redis."""

import signal
import time

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import HOST
from tests.functional.deployment import PLUGINS
from tests.helpers import fault_row
from tests.helpers import wait_for

#: [coordination] lease of these engines, seconds.
LEASE = 3.0


def _kind(coordinated):
    url, backend = coordinated
    return backend.split(':')[0] if backend else \
        url.split(':')[0].split('+')[0] + ' default'


def _deployment(make_cloud, processes, coordinated, **options):
    url, backend = coordinated
    if backend:
        options['coordination__backend_url'] = backend
    # (One heartbeat consumer thread per engine rather than worker
    # processes: with two engines' workers on one loaded 2-core machine,
    # a worker that misses its canaries for [bus] deaf_after makes its
    # engine deaf, which these tests are not about; the workers have
    # their own tests.)
    return deployment.Deployment(
        make_cloud, processes, url, PLUGINS + 'IpmiFencer',
        coordination__lease=LEASE, bus__heartbeat_workers=0, **options)


def _leader(d):
    return d.journal.leader()[1]


def _leader_standby_and_a_dead_host(d, processes):
    """engine-0 elected, engine-1 beside it, both hearing the agent of
    HOST, which is then killed; return both engines."""
    first = d.start_engine(own=True)
    wait_for(lambda: _leader(d) == 'engine-0', 30,
             message='engine-0 elected\n' + d.logs())
    second = d.start_engine(own=True)
    agent = deployment.start_agent(processes, d.cloud, HOST)
    for engine in (first, second):
        wait_for(lambda e=engine: d.decisions_of(e, 'up', HOST), 60,
                 message='%s hears the agent' % engine.name)
    agent.stop(signal.SIGKILL)
    return first, second


def _states(d, engine):
    return [x['state'] for x in d.decisions_of(engine, 'state', HOST)]


def test_two_engines_one_journal_fence_once(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        coordinated):
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = _deployment(make_cloud, processes, coordinated)
    try:
        first, second = _leader_standby_and_a_dead_host(d, processes)
        wait_for(lambda: 'recovered' in _states(d, first), 60,
                 message='recovered by the leader\n' + d.logs())
        # Both declared the host dead; only the leader acted, and the
        # standby's decisions say whose they are.
        [dead] = wait_for(lambda: d.decisions_of(second, 'declare_dead',
                                                 HOST), 30,
                          message='the standby declares it dead too')
        assert dead['standby'] is True
        assert 'standby' not in d.decisions_of(first, 'declare_dead',
                                               HOST)[0]
        # The standby followed the leader's recovery in the journal (so
        # that, elected later, it would not recover the host again); every
        # decision of its own says it is a standby's.
        wait_for(lambda: 'recovered' in _states(d, second), 30,
                 message='the standby follows the journal')
        assert all(x.get('standby') for x in d.decisions_of(second))
        assert bmc.status()['counts']['power_off'] == 1
        assert len(plugins.records(plugin_dir, 'evacuate-calls')) == 1
        assert {r['pid'] for r in plugins.records(
            plugin_dir, 'isolated')} == {first.pid}
        wait_for(lambda: d.recovery().status == api.DONE, 30,
                 message='the recovery done in the journal')
        assert first.alive() and second.alive()
        fault_row('two engines, one journal (%s)' % _kind(coordinated),
                  bmc.status()['counts']['power_off'],
                  plugins.most_evacuations(plugin_dir), 0)
    finally:
        d.close()


def test_the_standby_takes_over_and_repeats_nothing(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        coordinated):
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = _deployment(make_cloud, processes, coordinated)
    (plugin_dir / 'gate-isolate').write_text('')
    try:
        first, second = _leader_standby_and_a_dead_host(d, processes)
        epoch = d.journal.leader()[0]
        # The leader fenced, and is killed while it isolates.
        reached = plugin_dir / 'reached-isolate'
        wait_for(reached.exists, 60, message='the leader at isolate\n' +
                 d.logs())
        assert int(reached.read_text()) == first.pid
        first.stop(signal.SIGKILL)
        killed = time.monotonic()
        (plugin_dir / 'open-isolate').write_text('')
        # The standby leads within the lease (and a renewal), resumes the
        # recovery from the journal and finishes it.
        wait_for(lambda: _leader(d) == 'engine-1', LEASE + 5,
                 message='engine-1 elected\n' + d.logs())
        assert d.journal.leader()[0] == epoch + 1
        wait_for(lambda: 'recovered' in _states(d, second), 60,
                 message='recovered by the new leader\n' + d.logs())
        assert time.monotonic() - killed < LEASE + 30
        assert bmc.status()['counts']['power_off'] == 1
        steps = d.steps()
        assert steps['fence'].attempts == 1
        assert steps['isolate'].attempts == 2
        assert [r['pid'] for r in plugins.records(
            plugin_dir, 'isolated')] == [second.pid]
        assert len(plugins.records(plugin_dir, 'evacuate-calls')) == 1
        assert len(plugins.records(plugin_dir, 'notified')) == 1
        wait_for(lambda: d.recovery().status == api.DONE, 30,
                 message='the recovery done in the journal')
        fault_row('leader kill -9 at isolate (%s)' % _kind(coordinated),
                  bmc.status()['counts']['power_off'],
                  plugins.most_evacuations(plugin_dir), 0)
    finally:
        d.close()


def test_a_frozen_leader_does_nothing_when_it_wakes(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        sqlite_url):
    """On redis, whose lock expires: a standby takes the lock of a leader
    frozen past its lease (file and database locks live as long as their
    holder's process or connection: a frozen leader keeps them, and stops
    acting by its own clock)."""
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = _deployment(make_cloud, processes, (
        sqlite_url, 'redis://127.0.0.1:6379?namespace=%s' % tmp_path.name))
    (plugin_dir / 'gate-isolate').write_text('')
    try:
        first, second = _leader_standby_and_a_dead_host(d, processes)
        reached = plugin_dir / 'reached-isolate'
        wait_for(reached.exists, 60, message='the leader at isolate\n' +
                 d.logs())
        # Frozen past its lease while it waits in the isolate step.
        first.signal(signal.SIGSTOP)
        wait_for(lambda: _leader(d) == 'engine-1', LEASE + 10,
                 message='engine-1 elected\n' + d.logs())
        (plugin_dir / 'open-isolate').write_text('')
        wait_for(lambda: 'recovered' in _states(d, second), 60,
                 message='recovered by the new leader\n' + d.logs())
        # It wakes: its isolate call returns into a recovery it no longer
        # owns. Nothing more from it: no evacuation, no notification, no
        # second power-off; it says why.
        first.signal(signal.SIGCONT)
        wait_for(lambda: 'stops leading' in first.log(), 30,
                 message='the woken engine steps down\n' + first.log())
        wait_for(lambda: 'no longer leads' in first.log() or
                 'is stale' in first.log(), 30,
                 message='its recovery refused\n' + first.log())
        assert bmc.status()['counts']['power_off'] == 1
        calls = plugins.records(plugin_dir, 'evacuate-calls')
        assert [c['pid'] for c in calls] == [second.pid]
        assert [n['pid'] for n in plugins.records(
            plugin_dir, 'notified')] == [second.pid]
        assert first.alive()
        fault_row('leader SIGSTOP past its lease, SIGCONT (redis)',
                  bmc.status()['counts']['power_off'],
                  plugins.most_evacuations(plugin_dir), 0)
    finally:
        d.close()
