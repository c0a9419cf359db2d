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

"""The journal: recoveries and their steps.

Revision ID: 0001
Revises:
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'recoveries',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('incarnation', sa.String(64), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('reason', sa.Text, nullable=False),
        sa.Column('created_at', sa.Float, nullable=False),
        sa.Column('updated_at', sa.Float, nullable=False),
        sa.UniqueConstraint('host', 'incarnation',
                            name='uniq_recoveries_host_inc'))
    op.create_index('ix_recoveries_host', 'recoveries', ['host'])
    op.create_table(
        'steps',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('recovery_id', sa.Integer, sa.ForeignKey('recoveries.id'),
                  nullable=False),
        sa.Column('name', sa.String(128), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer, nullable=False),
        sa.Column('detail', sa.Text, nullable=False),
        sa.Column('started_at', sa.Float, nullable=False),
        sa.Column('finished_at', sa.Float, nullable=True),
        sa.UniqueConstraint('recovery_id', 'name',
                            name='uniq_steps_recovery_name'))
    op.create_index('ix_steps_recovery_id', 'steps', ['recovery_id'])
