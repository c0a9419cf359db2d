"""The journal on sqlite, PostgreSQL and MariaDB (the machine's servers;
the ``url`` and ``journal`` fixtures are in tests/functional/conftest.py)."""

import subprocess
import threading

from alembic import autogenerate
from alembic import migration
import pytest

from freezer_dr.journal import api
from freezer_dr.journal import models
from freezer_dr.journal import schema
from tests.helpers import command


def test_db_sync_creates_the_schema_and_is_idempotent(url, tmp_path):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[database]\nconnection = %s\n' % url)
    manage = [command('freezer-dr-manage'), '--config-file', str(conf)]
    first = subprocess.run(manage + ['db', 'sync'], capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert 'upgraded from nothing to %s' % schema.head() in first.stdout
    again = subprocess.run(manage + ['db', 'sync'], capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert 'already at revision %s' % schema.head() in again.stdout
    version = subprocess.run(manage + ['db', 'version'], capture_output=True,
                             text=True, timeout=120)
    assert version.stdout.strip() == schema.head()
    # The migrations build exactly what the models describe.
    engine = schema.engine_for(url)
    with engine.connect() as conn:
        diff = autogenerate.compare_metadata(
            migration.MigrationContext.configure(conn),
            models.Base.metadata)
    engine.dispose()
    assert diff == []


def test_one_recovery_per_incarnation(journal):
    first = journal.begin('compute-1', 'boot-a', 'declared dead')
    again = journal.begin('compute-1', 'boot-a', 'declared dead again')
    assert first.created and not again.created
    assert again.id == first.id and again.reason == 'declared dead'
    other = journal.begin('compute-1', 'boot-b', 'rebooted, died again')
    assert other.created and other.id != first.id


def test_completed_steps_are_never_run_again(journal):
    rec = journal.begin('compute-2', 'boot-a', 'dead')
    assert journal.step_started(rec.id, 'fence') is None
    journal.step_finished(rec.id, 'fence', api.DONE, 'power off confirmed')
    assert journal.step_started(rec.id, 'fence') == api.DONE
    # A step that failed or was interrupted may run again: attempts count.
    assert journal.step_started(rec.id, 'evacuate:i-1') is None
    journal.step_finished(rec.id, 'evacuate:i-1', api.FAILED, 'no host')
    assert journal.step_started(rec.id, 'evacuate:i-1') is None
    assert journal.step_started(rec.id, 'isolate') is None   # interrupted
    assert journal.step_started(rec.id, 'isolate') is None
    steps = {s.name: s for s in journal.steps(rec.id)}
    assert steps['fence'].status == api.DONE
    assert steps['fence'].detail == 'power off confirmed'
    assert steps['evacuate:i-1'].attempts == 2
    assert steps['isolate'].attempts == 2
    assert [s.name for s in journal.steps(rec.id)] == [
        'fence', 'evacuate:i-1', 'isolate']


def test_unfinished_recoveries_are_listed_for_resuming(journal):
    done = journal.begin('compute-3', 'b', 'dead')
    journal.finish(done.id, api.DONE)
    running = journal.begin('compute-4', 'b', 'dead')
    failed = journal.begin('compute-5', 'b', 'dead')
    journal.finish(failed.id, api.FAILED)
    assert [r.host for r in journal.unfinished()] == ['compute-4']
    journal.reopen(failed.id)
    assert [r.id for r in journal.unfinished()] == [running.id, failed.id]
    assert [r.host for r in journal.history('compute-3')] == ['compute-3']
    with pytest.raises(ValueError):
        journal.finish(done.id, 'maybe')
    with pytest.raises(ValueError):
        journal.step_finished(done.id, 'fence', 'half')


def test_racing_engines_cannot_both_start_the_same_step(url, journal):
    rec = journal.begin('compute-6', 'b', 'dead')
    journal.step_started(rec.id, 'fence')
    journal.step_finished(rec.id, 'fence', api.DONE)
    engines = [schema.engine_for(url) for _ in range(4)]
    journals = [api.Journal(e) for e in engines]
    results = []
    barrier = threading.Barrier(len(journals))

    def race(j):
        barrier.wait()
        results.append((j.begin('compute-7', 'b', 'dead').created,
                        j.step_started(rec.id, 'notify')))
    _all_at_once([(race, (j,)) for j in journals])
    for e in engines:
        e.dispose()
    assert sorted(created for created, _ in results) == [False] * 3 + [True]
    # Every racer may (re)start a step that has not completed...
    assert all(started is None for _, started in results)
    assert journal.steps(rec.id)[-1].attempts == 4
    # ...but none a completed one.
    assert journal.step_started(rec.id, 'fence') == api.DONE


def test_the_fence_budget_holds_and_an_operator_releases(journal):
    budget = (2, 600.0)
    recs = [journal.begin('compute-b%d' % n, 'boot', 'dead')
            for n in range(4)]
    assert journal.step_started(recs[0].id, 'fence', budget=budget) is None
    assert journal.step_started(recs[1].id, 'fence', budget=budget) is None
    # Started again (a resumed recovery): its own fence is not counted.
    assert journal.step_started(recs[1].id, 'fence', budget=budget) is None
    assert journal.step_started(recs[2].id, 'fence', budget=budget) == \
        api.HELD
    assert journal.step_started(recs[3].id, 'fence', budget=budget) == \
        api.HELD
    assert [r.host for r in journal.held()] == ['compute-b2', 'compute-b3']
    assert journal.get(recs[2].id).status == api.HELD
    assert journal.unfinished() == [journal.get(r.id) for r in recs[:2]]
    # A held recovery is begun again as it is: still held.
    assert journal.begin('compute-b2', 'boot', 'dead').status == api.HELD
    with pytest.raises(ValueError):
        journal.rearm(recs[2].id, 'ops')
    released = journal.release('compute-b2', 'ops')
    assert (released.status, released.released_by) == (api.RUNNING, 'ops')
    assert journal.step_started(recs[2].id, 'fence', budget=budget) is None
    assert journal.fences_since(0.0) == 3
    # The other one stays held; a host with nothing held is refused.
    assert journal.step_started(recs[3].id, 'fence', budget=budget) == \
        api.HELD
    with pytest.raises(ValueError):
        journal.release('compute-b0', 'ops')


def test_begin_starts_the_first_step_in_the_same_transaction(url, journal):
    budget = (1, 600.0)
    first = journal.begin('compute-f1', 'boot', 'dead',
                          first_step=('fence', budget))
    assert first.created and first.status == api.RUNNING
    assert first.started == ('fence', None)
    assert [(s.name, s.status, s.attempts)
            for s in journal.steps(first.id)] == [('fence', api.STARTED, 1)]
    # Over the budget: held, as step_started says it (the record keeps the
    # status it had before the step).
    second = journal.begin('compute-f2', 'boot', 'dead',
                           first_step=('fence', budget))
    assert second.started == ('fence', api.HELD)
    assert second.status == api.RUNNING
    assert journal.get(second.id).status == api.HELD
    assert journal.steps(second.id) == []
    # Begun again: a held, done or failed recovery starts nothing; a
    # completed step is answered as completed.
    again = journal.begin('compute-f2', 'boot', 'dead',
                          first_step=('fence', budget))
    assert (again.status, again.started) == (api.HELD, None)
    journal.step_finished(first.id, 'fence', api.DONE)
    resumed = journal.begin('compute-f1', 'boot', 'dead',
                            first_step=('fence', budget))
    assert resumed.started == ('fence', api.DONE)
    journal.finish(first.id, api.FAILED)
    failed = journal.begin('compute-f1', 'boot', 'dead',
                           first_step=('fence', budget))
    assert (failed.status, failed.started) == (api.FAILED, None)
    assert journal.steps(first.id)[0].attempts == 1
    # Fenced like every write: a stale epoch starts nothing.
    old = journal.elect('engine-a')
    journal.elect('engine-b')
    with pytest.raises(api.Deposed):
        journal.begin('compute-f3', 'boot', 'dead', epoch=old,
                      first_step=('fence', None))
    assert journal.history('compute-f3') == []


def test_racing_engines_share_one_fence_budget(url, journal):
    recs = [journal.begin('compute-r%d' % n, 'boot', 'dead')
            for n in range(6)]
    epoch = journal.elect('engine-a')
    engines = [schema.engine_for(url) for _ in recs]
    results = []
    barrier = threading.Barrier(len(recs))

    def race(j, rec):
        barrier.wait()
        results.append(j.step_started(rec.id, 'fence', epoch=epoch,
                                      budget=(2, 600.0)))
    _all_at_once([(race, (api.Journal(e), r))
                  for e, r in zip(engines, recs, strict=True)])
    for e in engines:
        e.dispose()
    assert sorted(results, key=str) == [None, None] + [api.HELD] * 4
    assert journal.fences_since(0.0) == 2


def test_host_owners_fence_each_hosts_writes(journal):
    """Engines that share the hosts: each claim takes the host's next
    epoch; the previous owner's writes of that host are refused, the
    writes of other hosts are not; every term is kept."""
    first = journal.claim('engine-a', ['compute-o1', 'compute-o2'])
    assert first == {'compute-o1': 1, 'compute-o2': 1}
    token = api.HostToken('compute-o1', 1)
    rec = journal.begin('compute-o1', 'boot', 'dead', epoch=token)
    assert journal.step_started(rec.id, 'fence', epoch=token) is None
    assert journal.claim('engine-b', ['compute-o1']) == {'compute-o1': 2}
    with pytest.raises(api.Deposed) as deposed:
        journal.step_finished(rec.id, 'fence', api.DONE, epoch=token)
    assert 'engine-b' in str(deposed.value)
    assert not journal.renew(token)
    # The other host is still engine-a's.
    assert journal.renew(api.HostToken('compute-o2', 1))
    new = api.HostToken('compute-o1', 2)
    journal.step_finished(rec.id, 'fence', api.DONE, epoch=new)
    assert journal.held_by('engine-a') == {'compute-o2': 1}
    assert journal.held_by('engine-b') == {'compute-o1': 2}
    assert journal.owners() == {'compute-o1': (2, 'engine-b'),
                                'compute-o2': (1, 'engine-a')}
    assert [(t.host, t.epoch, t.holder) for t in journal.terms()] == [
        ('compute-o1', 1, 'engine-a'), ('compute-o2', 1, 'engine-a'),
        ('compute-o1', 2, 'engine-b')]


def _all_at_once(calls):
    """Run each ``(function, args)`` in a thread of its own, all started
    together (the functions wait on a barrier), and wait for them."""
    threads = [threading.Thread(target=f, args=a) for f, a in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
