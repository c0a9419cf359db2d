"""Engines that share the hosts (``[coordination] partitions = true``,
issue 11): three engine processes on RabbitMQ, 30 hosts (a fleet of agents
and one real agent), the machine's redis for group membership, a
PostgreSQL journal. Every host has one owner in the journal; when an
engine is killed its hosts are owned again within the lease (plus one
tick), the others' hosts do not move, and a host that dies then is fenced
by its owner alone."""

import signal
import time

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import HOST
from tests.functional.deployment import PLUGINS
from tests.helpers import fault_row
from tests.helpers import wait_for

#: [coordination] lease of the engines, seconds.
LEASE = 3.0
FLEET = ['compute-p%02d' % n for n in range(29)]
HOSTS = sorted(FLEET + [HOST])


def test_three_engines_share_thirty_hosts(make_cloud, processes, tmp_path,
                                          plugin_dir, postgresql_url):
    d = deployment.Deployment(
        make_cloud, processes, postgresql_url, PLUGINS + 'SwitchFencer',
        coordination__partitions='true', coordination__lease=LEASE,
        coordination__backend_url='redis://127.0.0.1:6379?namespace=%s'
        % tmp_path.name,
        # (Consumer threads, not worker processes: three engines on one
        # small machine; the workers have their own tests.)
        bus__heartbeat_workers='0')
    try:
        engines = [d.start_engine(own=True) for _ in range(3)]
        names = {e.name for e in engines}
        deployment.start_fleet(processes, d.cloud, FLEET)
        agent = deployment.start_agent(processes, d.cloud, HOST)

        def shared():
            owners = d.journal.owners()
            holders = {holder for _, holder in owners.values()}
            return sorted(owners) == HOSTS and holders == names and owners
        owners = wait_for(shared, 90, message='30 hosts shared by the 3 '
                          'engines\n' + d.logs())
        # (Let the sharing settle: no term for a while.)
        wait_for(lambda: time.time() - d.journal.terms()[-1].began_at >
                 2 * LEASE, 60, message='the sharing settles')
        owners = d.journal.owners()
        terms_before = len(d.journal.terms())
        by_engine = {}
        for host, (_, holder) in owners.items():
            by_engine.setdefault(holder, []).append(host)
        # The engine to kill: not the victim host's owner.
        victim_owner = owners[HOST][1]
        killed = max((e for e in engines if e.name != victim_owner),
                     key=lambda e: len(by_engine[e.name]))
        orphans = sorted(by_engine[killed.name])
        killed.stop(signal.SIGKILL)
        began = time.monotonic()

        def taken_over():
            now = d.journal.owners()
            return all(now[h][1] != killed.name for h in orphans) and now
        after = wait_for(taken_over, LEASE * 4 + 10, interval=0.05,
                         message='the killed engine\'s hosts owned again\n'
                         + d.logs())
        takeover = time.monotonic() - began
        # Within the lease (the backend expires the member) and one tick
        # of the others (a quarter of the lease), plus this test's polling.
        assert takeover <= LEASE + LEASE / 4 + 1.5, takeover
        # The others' hosts did not move: same owner, same epoch.
        for host in HOSTS:
            if host not in orphans:
                assert after[host] == owners[host], host
        # Every term of every host, in order: epochs 1, 2, ... each with
        # one holder; after the kill, only the orphans got a new term, and
        # none names the killed engine.
        terms = d.journal.terms()
        for host in HOSTS:
            epochs = [t.epoch for t in terms if t.host == host]
            assert epochs == list(range(1, len(epochs) + 1)), (host, epochs)
        new = terms[terms_before:]
        assert sorted(t.host for t in new) == orphans
        assert {t.holder for t in new} <= names - {killed.name}
        # A host that dies now is fenced once, by its owner alone.
        agent.stop(signal.SIGKILL)
        wait_for(lambda: d.recovery() is not None and
                 d.recovery().status == api.DONE, 60,
                 message='%s recovered\n%s' % (HOST, d.logs()))
        owner = d.journal.owners()[HOST]
        fenced = plugins.records(plugin_dir, 'fenced')
        owner_pid = {e.name: e.pid for e in engines}[owner[1]]
        assert [(f['host'], f['pid']) for f in fenced] == [
            (HOST, owner_pid)]
        started = {e.name: d.decisions_of(e, 'state', HOST) for e in engines
                   if e is not killed}
        fencing = [name for name, states in started.items()
                   if any(s['trigger'] == 'fence_started' and
                          not s.get('standby') for s in states)]
        assert fencing == [owner[1]]
        assert d.steps()['fence'].attempts == 1
        fault_row('partitions: 1 of 3 engines kill -9, then a host dies',
                  len(fenced), plugins.most_evacuations(plugin_dir), 0)
        print('partitions: %d hosts owned again %.2f s after the kill '
              '(lease %.1f s)' % (len(orphans), takeover, LEASE))
    finally:
        d.close()
