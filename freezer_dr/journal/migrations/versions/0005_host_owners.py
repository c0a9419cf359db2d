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

"""Host owners: the fencing tokens of engines that share the hosts.

With ``[coordination] partitions = true`` every engine is active for the
hosts tooz's hash ring gives it. ``owners`` holds, per host, the epoch of
its current owner (it only grows: each new owner takes the next one) and
who that is; every journal write of that host's recovery checks the
writer's epoch there, as a lone leader's writes check ``leadership``.
``ownership_terms`` keeps every term (host, epoch, holder, when it began):
the proof that a host had one owner at a time, and who.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'owners',
        sa.Column('host', sa.String(255), primary_key=True),
        sa.Column('epoch', sa.Integer, nullable=False),
        sa.Column('holder', sa.String(255), nullable=False),
        sa.Column('claimed_at', sa.Double, nullable=False),
        sa.Column('renewed_at', sa.Double, nullable=True))
    op.create_index('ix_owners_holder', 'owners', ['holder'])
    op.create_table(
        'ownership_terms',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('epoch', sa.Integer, nullable=False),
        sa.Column('holder', sa.String(255), nullable=False),
        sa.Column('began_at', sa.Double, nullable=False),
        sa.UniqueConstraint('host', 'epoch', name='uniq_terms_host_epoch'))
