"""Reading and writing the journal.

Every call is one short transaction. Uniqueness is enforced by the
database (host + incarnation for a recovery, recovery + name for a step),
so two engines racing to start the same recovery or step cannot both win.
"""

import time
import typing

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from freezer_dr.journal import models

RUNNING = 'running'
DONE = 'done'
FAILED = 'failed'
STARTED = 'started'
SKIPPED = 'skipped'
STEP_FINAL = frozenset((DONE, SKIPPED))
"""A step in one of these states is never run again."""


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


class StepRecord(typing.NamedTuple):
    name: str
    status: str
    attempts: int
    detail: str
    started_at: float
    finished_at: typing.Optional[float]


def _recovery(row, created=False):
    return RecoveryRecord(row.id, row.host, row.incarnation, row.status,
                          row.reason, row.created_at, row.updated_at,
                          created, row.rearmed_at, row.rearmed_by)


class Journal:
    def __init__(self, engine, clock=time.time):
        self._engine = engine
        self._clock = clock
        self._recoveries = models.Recovery.__table__
        self._steps = models.Step.__table__

    def begin(self, host, incarnation, reason):
        """The recovery of this incarnation of ``host``: created now
        (``created`` True) or the one already journaled."""
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                conn.execute(self._recoveries.insert().values(
                    host=host, incarnation=incarnation, status=RUNNING,
                    reason=reason, created_at=now, updated_at=now))
            created = True
        except sa_exc.IntegrityError:
            created = False
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(self._recoveries).where(
                self._recoveries.c.host == host,
                self._recoveries.c.incarnation == incarnation)).one()
        return _recovery(row, created)

    def step_started(self, recovery_id, name):
        """Write that step ``name`` starts. Return None when it may run,
        or its status when it already ended for good (``done`` or
        ``skipped``: do not run it again)."""
        now = self._clock()
        steps = self._steps
        try:
            with self._engine.begin() as conn:
                conn.execute(steps.insert().values(
                    recovery_id=recovery_id, name=name, status=STARTED,
                    attempts=1, detail='', started_at=now, finished_at=None))
            return None
        except sa_exc.IntegrityError:
            pass
        with self._engine.begin() as conn:
            updated = conn.execute(steps.update().where(
                steps.c.recovery_id == recovery_id, steps.c.name == name,
                steps.c.status.notin_(STEP_FINAL)).values(
                    status=STARTED, attempts=steps.c.attempts + 1,
                    started_at=now, finished_at=None)).rowcount
            if updated:
                return None
            return conn.execute(sa.select(steps.c.status).where(
                steps.c.recovery_id == recovery_id,
                steps.c.name == name)).scalar_one()

    def step_finished(self, recovery_id, name, status, detail=''):
        """Write how step ``name`` ended (done, failed or skipped)."""
        if status not in (DONE, FAILED, SKIPPED):
            raise ValueError('a step ends done, failed or skipped, not %r'
                             % status)
        steps = self._steps
        with self._engine.begin() as conn:
            conn.execute(steps.update().where(
                steps.c.recovery_id == recovery_id,
                steps.c.name == name).values(
                    status=status, detail=detail,
                    finished_at=self._clock()))
            self._touch(conn, recovery_id)

    def finish(self, recovery_id, status):
        """Close a recovery: done or failed."""
        if status not in (DONE, FAILED):
            raise ValueError('a recovery ends done or failed, not %r'
                             % status)
        with self._engine.begin() as conn:
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
            if row.status == RUNNING:
                raise ValueError('recovery %s of %s is under way: it is '
                                 'not re-armed' % (recovery_id, row.host))
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
