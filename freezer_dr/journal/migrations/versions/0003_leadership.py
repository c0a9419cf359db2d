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

"""Leadership epochs: fencing tokens for every journal write of a recovery.

``leadership`` holds one row per coordinated role (``engine``): its epoch,
which only grows (each new leader takes the next one), who holds it and
when it was taken and last renewed. Every write of a recovery checks, in
its own transaction, that the writer's epoch is still the current one; a
deposed leader's writes are refused. ``recoveries.epoch`` and
``steps.epoch`` keep the epoch of the last write of each row: which leader
did what.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    leadership = op.create_table(
        'leadership',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('epoch', sa.Integer, nullable=False),
        sa.Column('holder', sa.String(255), nullable=False,
                  server_default=''),
        sa.Column('elected_at', sa.Double, nullable=True),
        sa.Column('renewed_at', sa.Double, nullable=True))
    op.bulk_insert(leadership, [{'name': 'engine', 'epoch': 0,
                                 'holder': ''}])
    for table in ('recoveries', 'steps'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('epoch', sa.Integer, nullable=True))
