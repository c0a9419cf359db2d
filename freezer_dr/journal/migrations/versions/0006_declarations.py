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

"""Declarations: the hosts a detect-only engine declared dead.

An engine with ``[engine] dry_run = true`` and a journal recovers nobody;
it writes each host it declares dead (with the boot id it was declared
with) to ``declarations``, where the one-shot command's ``heartbeat``
monitor reads them: detection by the engine, recovery by ``freezer-dr``.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'declarations',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('incarnation', sa.String(64), nullable=False),
        sa.Column('reason', sa.Text, nullable=False),
        sa.Column('engine', sa.String(255), nullable=False),
        sa.Column('declared_at', sa.Double, nullable=False))
    op.create_index('ix_declarations_declared_at', 'declarations',
                    ['declared_at'])
