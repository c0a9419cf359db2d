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

"""SQLAlchemy tables of the journal. Change them only with a migration."""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Recovery(Base):
    """One recovery of one incarnation of a host."""

    __tablename__ = 'recoveries'
    __table_args__ = (sa.UniqueConstraint('host', 'incarnation',
                                          name='uniq_recoveries_host_inc'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    host = sa.Column(sa.String(255), nullable=False, index=True)
    incarnation = sa.Column(sa.String(64), nullable=False)
    # running, held (over the fence budget), done, failed
    status = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.Text, nullable=False, default='')
    created_at = sa.Column(sa.Double, nullable=False)
    updated_at = sa.Column(sa.Double, nullable=False)
    # When an operator (or auto_rearm) put the host back in service after
    # this recovery; None while the host stays fenced and disabled.
    rearmed_at = sa.Column(sa.Double, nullable=True)
    rearmed_by = sa.Column(sa.String(255), nullable=False, default='',
                           server_default='')
    # The leadership epoch of the last write (None: written unfenced, by
    # the one-shot freezer-dr or before migration 0003).
    epoch = sa.Column(sa.Integer, nullable=True)
    # When an operator released this recovery held over the fence budget
    # (its fence then goes ahead whatever the budget), and who.
    released_at = sa.Column(sa.Double, nullable=True)
    released_by = sa.Column(sa.String(255), nullable=False, default='',
                            server_default='')


class Step(Base):
    """One step of a recovery: ``fence``, ``isolate``, ``evacuate``
    (which verifies each instance too) and ``notify``; and within them one
    row per instance (``instance:<uuid>``, its result as JSON) and one per
    notifier (``notify:<name>``)."""

    __tablename__ = 'steps'
    __table_args__ = (sa.UniqueConstraint('recovery_id', 'name',
                                          name='uniq_steps_recovery_name'),
                      sa.Index('ix_steps_name_started_at', 'name',
                               'started_at'))

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    recovery_id = sa.Column(sa.Integer, sa.ForeignKey('recoveries.id'),
                            nullable=False, index=True)
    name = sa.Column(sa.String(128), nullable=False)
    # started, done, failed, skipped
    status = sa.Column(sa.String(16), nullable=False)
    attempts = sa.Column(sa.Integer, nullable=False, default=1)
    detail = sa.Column(sa.Text, nullable=False, default='')
    started_at = sa.Column(sa.Double, nullable=False)
    finished_at = sa.Column(sa.Double, nullable=True)
    epoch = sa.Column(sa.Integer, nullable=True)


class Leadership(Base):
    """One coordinated role (``engine``) and its current epoch: every new
    leader takes the next one; a write of a recovery carries the writer's
    epoch and is refused when it is not the current one."""

    __tablename__ = 'leadership'

    name = sa.Column(sa.String(64), primary_key=True)
    epoch = sa.Column(sa.Integer, nullable=False)
    holder = sa.Column(sa.String(255), nullable=False, default='',
                       server_default='')
    elected_at = sa.Column(sa.Double, nullable=True)
    renewed_at = sa.Column(sa.Double, nullable=True)


class Owner(Base):
    """The current owner of one host when engines share the hosts
    (``[coordination] partitions``): its epoch only grows; a write of the
    host's recovery carries the writer's epoch and is refused when it is
    not the current one."""

    __tablename__ = 'owners'

    host = sa.Column(sa.String(255), primary_key=True)
    epoch = sa.Column(sa.Integer, nullable=False)
    holder = sa.Column(sa.String(255), nullable=False, index=True)
    claimed_at = sa.Column(sa.Double, nullable=False)
    renewed_at = sa.Column(sa.Double, nullable=True)


class OwnershipTerm(Base):
    """Every term of every host's ownership: who owned it from when, under
    which epoch (one holder per epoch)."""

    __tablename__ = 'ownership_terms'
    __table_args__ = (sa.UniqueConstraint('host', 'epoch',
                                          name='uniq_terms_host_epoch'),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    host = sa.Column(sa.String(255), nullable=False)
    epoch = sa.Column(sa.Integer, nullable=False)
    holder = sa.Column(sa.String(255), nullable=False)
    began_at = sa.Column(sa.Double, nullable=False)


class Declaration(Base):
    """A host a detect-only engine ([engine] dry_run) declared dead, for
    the one-shot command's ``heartbeat`` monitor."""

    __tablename__ = 'declarations'

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    host = sa.Column(sa.String(255), nullable=False)
    incarnation = sa.Column(sa.String(64), nullable=False)
    reason = sa.Column(sa.Text, nullable=False)
    engine = sa.Column(sa.String(255), nullable=False)
    declared_at = sa.Column(sa.Double, nullable=False, index=True)
