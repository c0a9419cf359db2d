"""Leadership between engines against the real backends: the journal's
epochs (sqlite, PostgreSQL, MariaDB) and tooz's locks (file://, redis, and
the default that follows the journal)."""

import time

import pytest

from freezer_dr import coordination
from freezer_dr.journal import api
from freezer_dr.journal import schema
from tests.helpers import wait_for
from tests.peers import redis as redis_peer

LEASE = 3.0


def test_each_leader_takes_the_next_epoch(journal):
    assert journal.leader()[0] == 0
    assert journal.elect('engine-a') == 1
    assert journal.elect('engine-b') == 2
    epoch, holder, renewed = journal.leader()
    assert (epoch, holder) == (2, 'engine-b') and renewed is not None
    assert journal.renew(2) and not journal.renew(1)


def test_a_stale_epoch_cannot_write_a_recovery(journal):
    old = journal.elect('engine-a')
    rec = journal.begin('c-1', 'boot-a', 'dead', epoch=old)
    assert rec.created
    assert journal.step_started(rec.id, 'fence', epoch=old) is None
    new = journal.elect('engine-b')
    # The deposed leader can neither take the recovery again, nor start,
    # reopen or finish a step, nor finish the recovery.
    with pytest.raises(api.Deposed, match='epoch %d is stale' % old):
        journal.begin('c-1', 'boot-a', 'dead', epoch=old)
    with pytest.raises(api.Deposed):
        journal.begin('c-2', 'boot-b', 'dead', epoch=old)
    with pytest.raises(api.Deposed):
        journal.step_started(rec.id, 'fence', epoch=old)
    with pytest.raises(api.Deposed):
        journal.step_finished(rec.id, 'fence', api.DONE, 'off', epoch=old)
    with pytest.raises(api.Deposed):
        journal.finish(rec.id, api.DONE, epoch=old)
    assert journal.history('c-2') == []
    [fence] = journal.steps(rec.id)
    assert fence.status == api.STARTED
    # The new leader takes it over, reopens the step and finishes.
    taken = journal.begin('c-1', 'boot-a', 'dead', epoch=new)
    assert taken.id == rec.id and not taken.created
    assert journal.step_started(rec.id, 'fence', epoch=new) is None
    journal.step_finished(rec.id, 'fence', api.DONE, 'off', epoch=new)
    journal.finish(rec.id, api.DONE, epoch=new)
    assert journal.get(rec.id).status == api.DONE
    # Unfenced writers (the one-shot command) are not checked.
    assert journal.begin('c-3', 'boot-c', 'dead').created


def _leadership(journal, url, name):
    return coordination.Leadership(journal, url, name, LEASE)


@pytest.fixture(params=['file', 'redis', 'default'])
def backend(request, url, tmp_path):
    """A tooz URL: a file:// directory, the machine's redis (its own
    namespace per test), or the one that follows the journal at ``url``."""
    if request.param == 'file':
        return 'file://%s' % (tmp_path / 'coordination')
    if request.param == 'redis':
        return coordination.with_lease(
            'redis://127.0.0.1:6379?namespace=%s' % tmp_path.name, LEASE)
    return coordination.with_lease(
        coordination.default_backend(url), LEASE)


def test_one_leads_the_other_takes_over_when_it_stops(journal, backend):
    a = _leadership(journal, backend, 'engine-a')
    b = _leadership(journal, backend, 'engine-b')
    a.start()
    b.start()
    try:
        assert a.leads() and not b.leads()
        first = a.epoch
        assert journal.leader()[:2] == (first, 'engine-a')
        a.stop()
        wait_for(b.leads, LEASE + 2, message='engine-b to lead')
        assert b.epoch == first + 1 and not a.leads()
        assert journal.leader()[:2] == (first + 1, 'engine-b')
        with pytest.raises(api.Deposed):
            a.check(first)
        b.check(first + 1)
    finally:
        a.stop()
        b.stop()


def test_a_leader_that_cannot_renew_stops_acting_within_the_lease(
        journal, tmp_path):
    now = [1000.0]
    a = coordination.Leadership(journal, 'file://%s' % (tmp_path / 'c'),
                                'engine-a', LEASE, clock=lambda: now[0])
    a.start()
    try:
        assert a.leads()
        epoch = a.epoch
        # Frozen (SIGSTOP) or cut off past its lease: it stops acting by
        # its own clock, before any renewal is even tried.
        now[0] += LEASE + 0.1
        assert not a.leads()
        with pytest.raises(api.Deposed):
            a.check(epoch)
        # Meanwhile another engine was elected: the renewal finds a newer
        # epoch in the journal and it steps down for good.
        journal.elect('engine-b')
        a.tick()
        assert not a.leads() and a.epoch is None
    finally:
        a.stop()


# -- engines that share the hosts (partitions) ------------------------------

HOSTS = frozenset('compute-s%02d' % n for n in range(12))


def _partitions(journal, url, name, on_lost=None):
    member = coordination.Partitions(
        journal, coordination.with_lease(url, LEASE), name, LEASE)
    member.known = HOSTS
    member.on_lost = on_lost
    return member


def test_a_member_that_loses_the_backend_stops_and_says_so_once(
        processes, tmp_path, sqlite_url):
    redis = redis_peer.RedisServer(processes, tmp_path).start()
    db = schema.engine_for(sqlite_url)
    schema.sync(db)
    lost = []
    member = _partitions(api.Journal(db), redis.url, 'engine-a',
                         on_lost=lost.append)
    try:
        member.start()
        assert member.owned() == sorted(HOSTS)
        redis.stop()
        wait_for(lambda: lost, member.lapse + LEASE, message='on_lost')
        assert not member.leads() and member.owned() == []
        assert member.token(sorted(HOSTS)[0]) is None
        # Still down for a few more ticks: said once.
        deadline = time.monotonic() + LEASE
        while time.monotonic() < deadline:
            member.tick()
        assert len(lost) == 1
    finally:
        member.stop()
        db.dispose()


def test_a_member_cut_from_the_journal_leaves_its_hosts_to_the_others(
        journal_behind_proxy, processes, tmp_path):
    """It reaches redis but not the journal: it must not keep its
    membership (its hosts would be nobody's); the other takes them all
    within the lease and a tick."""
    url, proxy = journal_behind_proxy
    redis = 'redis://127.0.0.1:6379?namespace=%s' % tmp_path.name
    direct, cut = schema.engine_for(url.replace(
        ':%d/' % proxy.port, ':5432/')), schema.engine_for(url)
    schema.sync(direct)
    a = _partitions(api.Journal(cut), redis, 'engine-a')
    b = _partitions(api.Journal(direct), redis, 'engine-b')
    try:
        a.start()
        b.start()
        wait_for(lambda: a.owned() and b.owned() and
                 sorted(a.owned() + b.owned()) == sorted(HOSTS), 20,
                 message='the hosts shared')
        proxy.cut()
        began = time.monotonic()
        wait_for(lambda: b.owned() == sorted(HOSTS), LEASE * 3,
                 interval=0.05, message='engine-b owns every host')
        assert time.monotonic() - began <= LEASE + LEASE / 4 + 1.0
        assert not a.leads()
        owners = api.Journal(direct).owners()
        assert {holder for _, holder in owners.values()} == {'engine-b'}
    finally:
        proxy.restore()
        a.stop()
        b.stop()
        direct.dispose()
        cut.dispose()


def test_a_membership_expiring_before_the_lease_is_refused(journal):
    member = coordination.Partitions(
        journal, 'redis://127.0.0.1:6379?timeout=1', 'engine-a', LEASE)
    with pytest.raises(ValueError, match='shorter than'):
        member.load()
    with pytest.raises(ValueError, match='group membership'):
        coordination.Partitions(journal, 'file:///tmp/x', 'e', LEASE).load()
