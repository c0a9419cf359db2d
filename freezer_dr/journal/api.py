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

"""Reading and writing the journal.

Every call is one short transaction. Uniqueness is enforced by the
database (host + incarnation for a recovery, recovery + name for a step),
so two engines racing to start the same recovery or step cannot both win.

Fencing tokens: a leader writes with its ``epoch`` (see :meth:`elect`).
Every write of a recovery (begin, step started, step finished, finish)
first checks, in its own transaction, that the epoch is still the current
one, and is refused with :class:`Deposed` otherwise; the check takes the
``leadership`` row's lock until the transaction ends, so a new leader's
election waits for a write under way and every later write of the old
leader fails. ``epoch=None`` writes unfenced (the one-shot ``freezer-dr``).
"""

import time
import typing

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from freezer_dr.drivers import base as drivers_base
from freezer_dr.journal import models

RUNNING = 'running'
#: A recovery over the fence budget, waiting for an operator's release.
HELD = 'held'
DONE = 'done'
FAILED = 'failed'
STARTED = 'started'
SKIPPED = 'skipped'
STEP_FINAL = frozenset((DONE, SKIPPED))
"""A step in one of these states is never run again."""

#: The ``leadership`` row of the engines.
ENGINE_ROLE = 'engine'


class HostToken(typing.NamedTuple):
    """The fencing token of one host's owner when engines share the hosts
    (``[coordination] partitions``): writes of that host's recovery check
    ``epoch`` against ``owners``, not the lone leader's ``leadership``."""

    host: str
    epoch: int


class OwnershipTerm(typing.NamedTuple):
    host: str
    epoch: int
    holder: str
    began_at: float


class Deposed(drivers_base.StopActing):
    """This engine no longer leads: its epoch is not the journal's current
    one, or its leadership could not be renewed. Nothing may be done in
    its name any more."""


class RecoveryRecord(typing.NamedTuple):
    id: int
    host: str
    incarnation: str
    status: str
    reason: str
    created_at: float
    updated_at: float
    created: bool = False       # created by this call
    #: When the host was put back in service after this recovery (None:
    #: it stays fenced and disabled), and by whom.
    rearmed_at: typing.Optional[float] = None
    rearmed_by: str = ''
    #: When an operator released it from a hold over the fence budget.
    released_at: typing.Optional[float] = None
    released_by: str = ''
    #: ``(name, answer)``: the step :meth:`Journal.begin` started in the
    #: same transaction, and what :meth:`Journal.step_started` would have
    #: answered (None when none was started).
    started: typing.Optional[tuple] = None


class StepRecord(typing.NamedTuple):
    name: str
    status: str
    attempts: int
    detail: str
    started_at: float
    finished_at: typing.Optional[float]


def _number(epoch):
    """The epoch a row keeps: a lone leader's, or a host owner's."""
    return epoch.epoch if isinstance(epoch, HostToken) else epoch


def _recovery(row, created=False, started=None):
    return RecoveryRecord(row.id, row.host, row.incarnation, row.status,
                          row.reason, row.created_at, row.updated_at,
                          created, row.rearmed_at, row.rearmed_by,
                          row.released_at, row.released_by, started)


class Journal:
    def __init__(self, engine, clock=time.time):
        self._engine = engine
        self._clock = clock
        self._recoveries = models.Recovery.__table__
        self._steps = models.Step.__table__
        self._leadership = models.Leadership.__table__
        self._owners = models.Owner.__table__
        self._terms = models.OwnershipTerm.__table__
        self._declarations = models.Declaration.__table__

    # --- declarations (a detect-only engine) -----------------------------

    def declare(self, host, incarnation, reason, engine):
        """Note that ``engine`` (a detect-only one) declared ``host`` dead
        with ``incarnation``."""
        with self._engine.begin() as conn:
            conn.execute(self._declarations.insert().values(
                host=host, incarnation=str(incarnation)[:64],
                reason=reason, engine=engine, declared_at=self._clock()))

    def declarations(self, since):
        """``[(host, incarnation, declared_at, engine, reason)]`` declared
        at or after ``since`` (epoch seconds), oldest first."""
        table = self._declarations
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(
                table.c.host, table.c.incarnation, table.c.declared_at,
                table.c.engine, table.c.reason).where(
                    table.c.declared_at >= since).order_by(
                        table.c.id)).all()
        return [tuple(row) for row in rows]

    # --- leadership ----------------------------------------------------

    def elect(self, holder, role=ENGINE_ROLE):
        """``holder`` becomes the leader (it holds the coordination lock):
        return its epoch, the next one."""
        lead = self._leadership
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(lead.update().where(lead.c.name == role).values(
                epoch=lead.c.epoch + 1, holder=holder, elected_at=now,
                renewed_at=now))
            return conn.execute(sa.select(lead.c.epoch).where(
                lead.c.name == role)).scalar_one()

    def renew(self, epoch, role=ENGINE_ROLE):
        """True while ``epoch`` is the current one (and note the renewal);
        False once another leader was elected."""
        with self._engine.begin() as conn:
            return self._fenced(conn, epoch, role, raise_=False)

    def leader(self, role=ENGINE_ROLE):
        """``(epoch, holder, renewed_at)`` of the current leadership."""
        lead = self._leadership
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(lead).where(
                lead.c.name == role)).one()
        return row.epoch, row.holder, row.renewed_at

    # --- host owners (engines that share the hosts) ------------------------

    def claim(self, holder, hosts):
        """``holder`` becomes the owner of each of ``hosts``: return
        ``{host: epoch}``, each the next epoch of that host (its previous
        owner's writes are refused from now on). One transaction; every
        term is kept in ``ownership_terms``."""
        owners, terms = self._owners, self._terms
        now = self._clock()
        hosts = sorted(set(hosts))
        for _ in range(3):
            try:
                with self._engine.begin() as conn:
                    known = dict(conn.execute(sa.select(
                        owners.c.host, owners.c.epoch).where(
                            owners.c.host.in_(hosts))).all()) if hosts \
                        else {}
                    taken = {}
                    for host in hosts:
                        if host in known:
                            conn.execute(owners.update().where(
                                owners.c.host == host).values(
                                    epoch=owners.c.epoch + 1, holder=holder,
                                    claimed_at=now, renewed_at=now))
                            taken[host] = conn.execute(sa.select(
                                owners.c.epoch).where(
                                    owners.c.host == host)).scalar_one()
                        else:
                            conn.execute(owners.insert().values(
                                host=host, epoch=1, holder=holder,
                                claimed_at=now, renewed_at=now))
                            taken[host] = 1
                        conn.execute(terms.insert().values(
                            host=host, epoch=taken[host], holder=holder,
                            began_at=now))
                    return taken
            except sa_exc.IntegrityError:
                continue    # (another engine claimed a new host meanwhile)
        raise RuntimeError('hosts %s can be neither claimed nor read'
                           % ', '.join(hosts[:5]))

    def held_by(self, holder):
        """``{host: epoch}`` of the hosts ``holder`` owns now, each noted
        as renewed now (the owner is alive: see :meth:`active_engines`)."""
        owners = self._owners
        with self._engine.begin() as conn:
            conn.execute(owners.update().where(
                owners.c.holder == holder).values(renewed_at=self._clock()))
            return dict(conn.execute(sa.select(
                owners.c.host, owners.c.epoch).where(
                    owners.c.holder == holder)).all())

    def resign(self, epoch=None, holder=None):
        """A stopping engine says it acts no more (the one-shot command
        may run): its leadership, if ``epoch`` is still the current one,
        and the hosts ``holder`` owns are no longer renewed. Who held
        them stays written."""
        with self._engine.begin() as conn:
            if epoch is not None:
                lead = self._leadership
                conn.execute(lead.update().where(
                    lead.c.name == ENGINE_ROLE,
                    lead.c.epoch == epoch).values(renewed_at=None))
            if holder is not None:
                owners = self._owners
                conn.execute(owners.update().where(
                    owners.c.holder == holder).values(renewed_at=None))

    def active_engines(self, within):
        """``{holder: seconds since it last renewed}`` of the engines that
        renewed their leadership, or their hosts' ownership, within the
        last ``within`` seconds (journal time)."""
        now = self._clock()
        lead, owners = self._leadership, self._owners
        found = {}
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(lead.c.holder, lead.c.renewed_at)
                                .where(lead.c.renewed_at >= now - within,
                                       lead.c.holder != '')).all()
            rows += conn.execute(sa.select(
                owners.c.holder, sa.func.max(owners.c.renewed_at)).where(
                    owners.c.renewed_at >= now - within).group_by(
                        owners.c.holder)).all()
        for holder, renewed in rows:
            age = max(0.0, now - renewed)
            found[holder] = min(age, found.get(holder, age))
        return found

    def owners(self):
        """``{host: (epoch, holder)}`` of every owned host."""
        owners = self._owners
        with self._engine.connect() as conn:
            return {row.host: (row.epoch, row.holder) for row in
                    conn.execute(sa.select(owners)).all()}

    def terms(self, host=None):
        """Every ownership term (of ``host``), in the order they began."""
        terms = self._terms
        query = sa.select(terms).order_by(terms.c.id)
        if host is not None:
            query = query.where(terms.c.host == host)
        with self._engine.connect() as conn:
            return [OwnershipTerm(r.host, r.epoch, r.holder, r.began_at)
                    for r in conn.execute(query).all()]

    def _fenced(self, conn, epoch, role=ENGINE_ROLE, raise_=True):
        """In the transaction of ``conn``: check that ``epoch`` is current
        (None: an unfenced writer; a :class:`HostToken`: the host's owner's
        epoch), holding the leadership (or owner) row's lock until the
        transaction ends.

        :raises Deposed: when it is not (unless ``raise_`` is false: then
            return False).
        """
        if epoch is None:
            return True
        if isinstance(epoch, HostToken):
            return self._owner_fenced(conn, epoch, raise_)
        lead = self._leadership
        if conn.execute(lead.update().where(
                lead.c.name == role, lead.c.epoch == epoch).values(
                    renewed_at=self._clock())).rowcount:
            return True
        if not raise_:
            return False
        current = conn.execute(sa.select(lead.c.epoch).where(
            lead.c.name == role)).scalar_one()
        raise Deposed('epoch %s is stale: the journal\'s leader is at epoch '
                      '%s' % (epoch, current))

    def _owner_fenced(self, conn, token, raise_):
        owners = self._owners
        if conn.execute(owners.update().where(
                owners.c.host == token.host,
                owners.c.epoch == token.epoch).values(
                    renewed_at=self._clock())).rowcount:
            return True
        if not raise_:
            return False
        current = conn.execute(sa.select(owners.c.epoch, owners.c.holder)
                               .where(owners.c.host == token.host)).first()
        raise Deposed('epoch %s of host %s is stale: %s' % (
            token.epoch, token.host, 'its owner is %s at epoch %s'
            % (current.holder, current.epoch) if current else
            'nobody owns it'))

    # --- recoveries ----------------------------------------------------

    def begin(self, host, incarnation, reason, epoch=None, first_step=None):
        """The recovery of this incarnation of ``host``: created now
        (``created`` True) or the one already journaled, which the writer
        (``epoch``) now owns.

        :param first_step: ``(name, budget)``: when the recovery is running
            and was not re-armed, also start that step in the same
            transaction, as :meth:`step_started` does (one write less on
            the way to the first driver call); the record's ``started``
            is then ``(name, answer)``, its status the one before the step.
        :raises Deposed: ``epoch`` is stale.
        """
        now = self._clock()
        recoveries = self._recoveries
        where = (recoveries.c.host == host,
                 recoveries.c.incarnation == incarnation)
        created = False
        for _ in range(2):
            try:
                with self._engine.begin() as conn:
                    self._fenced(conn, epoch)
                    if first_step is not None and \
                            first_step[1] is not None and epoch is None:
                        # (The budget's lock before the recovery's row, in
                        # the order a fenced writer takes them.)
                        self._lock_budget(conn)
                    row = conn.execute(sa.select(recoveries).where(
                        *where)).one_or_none()
                    if row is None:
                        conn.execute(recoveries.insert().values(
                            host=host, incarnation=incarnation,
                            status=RUNNING, reason=reason, created_at=now,
                            updated_at=now, epoch=_number(epoch)))
                        created = True
                    elif epoch is not None and row.epoch != _number(epoch):
                        conn.execute(recoveries.update().where(
                            recoveries.c.id == row.id).values(
                                epoch=_number(epoch)))
                    row = conn.execute(sa.select(recoveries).where(
                        *where)).one()
                    started = None
                    if first_step is not None and row.status == RUNNING \
                            and row.rearmed_at is None:
                        name, budget = first_step
                        started = (name, self._start_step(
                            conn, row.id, name, epoch, budget, now))
                return _recovery(row, created, started)
            except sa_exc.IntegrityError:
                # (Unfenced writers racing: the other one created it, or
                # its first step.)
                created = False
        raise RuntimeError('the recovery of %s (%s) can be neither created '
                           'nor read' % (host, incarnation))

    def step_started(self, recovery_id, name, epoch=None, budget=None):
        """Write that step ``name`` starts. Return None when it may run,
        or its status when it already ended for good (``done`` or
        ``skipped``: do not run it again), or ``held``.

        :param budget: ``(limit, window)``: a step never started before
            starts only if fewer than ``limit`` steps of that name (of
            other recoveries) started in the last ``window`` seconds, or
            the recovery was released by an operator; otherwise the
            recovery is ``held`` and that is returned. The count and the
            write are one transaction under the leadership row's lock:
            engines that share the journal share the budget.
        :raises Deposed: ``epoch`` is stale.
        """
        now = self._clock()
        for _ in range(2):
            try:
                with self._engine.begin() as conn:
                    self._fenced(conn, epoch)
                    return self._start_step(conn, recovery_id, name, epoch,
                                            budget, now)
            except sa_exc.IntegrityError:
                pass        # (an unfenced writer inserted it meanwhile)
        raise RuntimeError('step %s of recovery %s can be neither started '
                           'nor read' % (name, recovery_id))

    def _start_step(self, conn, recovery_id, name, epoch, budget, now):
        """:meth:`step_started` in the (fenced) transaction of ``conn``.
        """
        steps = self._steps
        where = (steps.c.recovery_id == recovery_id, steps.c.name == name)
        if budget is not None:
            self._lock_budget(conn)
        status = conn.execute(sa.select(steps.c.status).where(
            *where)).scalar_one_or_none()
        if status in STEP_FINAL:
            return status
        if status is None and budget is not None and \
                self._over_budget(conn, recovery_id, name, budget, now):
            self._touch(conn, recovery_id, status=HELD)
            return HELD
        if status is None:
            conn.execute(steps.insert().values(
                recovery_id=recovery_id, name=name, status=STARTED,
                attempts=1, detail='', started_at=now, finished_at=None,
                epoch=_number(epoch)))
        else:
            conn.execute(steps.update().where(*where).values(
                status=STARTED, attempts=steps.c.attempts + 1,
                started_at=now, finished_at=None, epoch=_number(epoch)))
        return None

    def _lock_budget(self, conn):
        """Serialize the budget's count-and-write among all writers (the
        fenced ones hold this lock already)."""
        lead = self._leadership
        conn.execute(lead.update().where(lead.c.name == ENGINE_ROLE).values(
            name=lead.c.name))

    def _over_budget(self, conn, recovery_id, name, budget, now):
        limit, window = budget
        if not limit:
            return False
        recoveries, steps = self._recoveries, self._steps
        if conn.execute(sa.select(recoveries.c.released_at).where(
                recoveries.c.id == recovery_id)).scalar() is not None:
            return False
        spent = conn.execute(sa.select(sa.func.count()).select_from(
            steps).where(steps.c.name == name,
                         steps.c.started_at > now - window,
                         steps.c.recovery_id != recovery_id)).scalar()
        return spent >= limit

    def fences_since(self, since, name='fence'):
        """How many ``fence`` steps started after ``since`` (journal
        time)."""
        steps = self._steps
        with self._engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                steps).where(steps.c.name == name,
                             steps.c.started_at > since)).scalar()

    def held(self):
        """Recoveries held over the fence budget, oldest first."""
        recoveries = self._recoveries
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(recoveries).where(
                recoveries.c.status == HELD).order_by(
                    recoveries.c.id)).all()
        return [_recovery(row) for row in rows]

    def release(self, host, requested_by):
        """An operator's release of ``host``'s recovery held over the fence
        budget: running again, its fence allowed whatever the budget;
        return it.

        :raises ValueError: ``host`` has no held recovery.
        """
        recoveries = self._recoveries
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(recoveries).where(
                recoveries.c.host == host,
                recoveries.c.status == HELD).order_by(
                    recoveries.c.id.desc())).first()
            if row is None:
                raise ValueError('host %s has no recovery held over the '
                                 'fence budget' % host)
            self._touch(conn, row.id, status=RUNNING,
                        released_at=self._clock(),
                        released_by=requested_by)
            row = conn.execute(sa.select(recoveries).where(
                recoveries.c.id == row.id)).one()
        return _recovery(row)

    def step_finished(self, recovery_id, name, status, detail='',
                      epoch=None):
        """Write how step ``name`` ended (done, failed or skipped).

        :raises Deposed: ``epoch`` is stale.
        """
        if status not in (DONE, FAILED, SKIPPED):
            raise ValueError('a step ends done, failed or skipped, not %r'
                             % status)
        steps = self._steps
        with self._engine.begin() as conn:
            self._fenced(conn, epoch)
            conn.execute(steps.update().where(
                steps.c.recovery_id == recovery_id,
                steps.c.name == name).values(
                    status=status, detail=detail,
                    finished_at=self._clock(), epoch=_number(epoch)))
            self._touch(conn, recovery_id)

    def finish(self, recovery_id, status, epoch=None):
        """Close a recovery: done or failed.

        :raises Deposed: ``epoch`` is stale.
        """
        if status not in (DONE, FAILED):
            raise ValueError('a recovery ends done or failed, not %r'
                             % status)
        with self._engine.begin() as conn:
            self._fenced(conn, epoch)
            self._touch(conn, recovery_id, status=status)

    def reopen(self, recovery_id):
        """An operator's retry of a failed recovery: running again; its
        completed steps stay completed."""
        with self._engine.begin() as conn:
            self._touch(conn, recovery_id, status=RUNNING)

    def rearm(self, recovery_id, requested_by):
        """Put the host of a finished recovery back in service: True when
        done now, False when it was re-armed already.

        :raises ValueError: for a recovery still running (never re-armed
            under way) or one that does not exist.
        """
        recoveries = self._recoveries
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(recoveries).where(
                recoveries.c.id == recovery_id)).one_or_none()
            if row is None:
                raise ValueError('no recovery %s in the journal'
                                 % recovery_id)
            if row.status in (RUNNING, HELD):
                raise ValueError('recovery %s of %s is %s: it is not '
                                 're-armed' % (recovery_id, row.host,
                                               'under way' if row.status ==
                                               RUNNING else 'held over the '
                                               'fence budget (release it)'))
            return bool(conn.execute(recoveries.update().where(
                recoveries.c.id == recovery_id,
                recoveries.c.rearmed_at.is_(None)).values(
                    rearmed_at=self._clock(),
                    rearmed_by=requested_by)).rowcount)

    def get(self, recovery_id):
        """The recovery ``recovery_id``, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(self._recoveries).where(
                self._recoveries.c.id == recovery_id)).one_or_none()
        return None if row is None else _recovery(row)

    def latest(self):
        """``{host: RecoveryRecord}``: the latest recovery of every host
        (re-armed or not)."""
        recoveries = self._recoveries
        latest = sa.select(sa.func.max(recoveries.c.id)).group_by(
            recoveries.c.host).scalar_subquery()
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(recoveries).where(
                recoveries.c.id.in_(latest))).all()
        return {row.host: _recovery(row) for row in rows}

    def outstanding(self):
        """The latest recovery of every host that is not re-armed (the
        host is being recovered, or stays out of service), oldest first."""
        recoveries = self._recoveries
        latest = sa.select(sa.func.max(recoveries.c.id)).group_by(
            recoveries.c.host).scalar_subquery()
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(recoveries).where(
                recoveries.c.id.in_(latest),
                recoveries.c.rearmed_at.is_(None)).order_by(
                    recoveries.c.id)).all()
        return [_recovery(row) for row in rows]

    def finished_since(self, since):
        """Recoveries that ended (done or failed) at or after ``since``
        (journal time), in the order they ended: how a standby follows the
        leader's work."""
        recoveries = self._recoveries
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(recoveries).where(
                recoveries.c.status.in_((DONE, FAILED)),
                recoveries.c.updated_at >= since).order_by(
                    recoveries.c.updated_at, recoveries.c.id)).all()
        return [_recovery(row) for row in rows]

    def last_finished_at(self):
        """When the latest recovery ended (journal time), or None."""
        recoveries = self._recoveries
        with self._engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(
                recoveries.c.updated_at)).where(recoveries.c.status.in_(
                    (DONE, FAILED)))).scalar()

    def last_rearmed_at(self):
        """When the latest re-arm happened (journal time), or None."""
        with self._engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(
                self._recoveries.c.rearmed_at))).scalar()

    def rearmed_since(self, since):
        """Recoveries re-armed at or after ``since`` (journal time), in
        the order they were re-armed."""
        recoveries = self._recoveries
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(recoveries).where(
                recoveries.c.rearmed_at >= since).order_by(
                    recoveries.c.rearmed_at, recoveries.c.id)).all()
        return [_recovery(row) for row in rows]

    def _touch(self, conn, recovery_id, **values):
        conn.execute(self._recoveries.update().where(
            self._recoveries.c.id == recovery_id).values(
                updated_at=self._clock(), **values))

    def unfinished(self):
        """Recoveries still running (to resume after a restart), oldest
        first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(self._recoveries).where(
                self._recoveries.c.status == RUNNING).order_by(
                    self._recoveries.c.id)).all()
        return [_recovery(row) for row in rows]

    def steps(self, recovery_id):
        """The steps of a recovery, in the order they were first started."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(self._steps).where(
                self._steps.c.recovery_id == recovery_id).order_by(
                    self._steps.c.id)).all()
        return [StepRecord(r.name, r.status, r.attempts, r.detail,
                           r.started_at, r.finished_at) for r in rows]

    def history(self, host=None, limit=100):
        """The latest recoveries (of ``host``), newest first."""
        query = sa.select(self._recoveries).order_by(
            self._recoveries.c.id.desc()).limit(limit)
        if host is not None:
            query = query.where(self._recoveries.c.host == host)
        with self._engine.connect() as conn:
            return [_recovery(row) for row in conn.execute(query).all()]
