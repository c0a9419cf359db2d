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

"""The fence budget: a recovery held over budget, released by an operator.

A recovery whose fence would exceed ``[recovery] max_fences`` within
``[recovery] fence_window`` is ``held`` (status) instead of fenced; an
operator's ``freezer-dr-manage host release`` sets it running again and
notes when and by whom in ``released_at`` / ``released_by``: its fence then
goes ahead whatever the budget says. The budget counts the ``fence`` steps
started in the window, of any recovery; ``steps.started_at`` is indexed
with the step's name for that count.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recoveries') as batch:
        batch.add_column(sa.Column('released_at', sa.Double, nullable=True))
        batch.add_column(sa.Column('released_by', sa.String(255),
                                   nullable=False, server_default=''))
    op.create_index('ix_steps_name_started_at', 'steps',
                    ['name', 'started_at'])
