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

"""Re-arming: when and by whom a recovered host was put back in service;
times in double precision.

``rearmed_at`` is None while the host stays fenced and disabled after its
recovery; ``freezer-dr-manage host rearm`` (or ``[recovery] auto_rearm``)
sets it, and the engine reads it. Times were ``FLOAT``, which MySQL and
MariaDB keep in single precision (an epoch time to about 100 s): they are
``DOUBLE`` now on every database.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TIMES = {'recoveries': (('created_at', False), ('updated_at', False)),
         'steps': (('started_at', False), ('finished_at', True))}


def upgrade():
    with op.batch_alter_table('recoveries') as batch:
        batch.add_column(sa.Column('rearmed_at', sa.Double, nullable=True))
        batch.add_column(sa.Column('rearmed_by', sa.String(255),
                                   nullable=False, server_default=''))
    for table, columns in TIMES.items():
        with op.batch_alter_table(table) as batch:
            for name, nullable in columns:
                batch.alter_column(name, type_=sa.Double,
                                   existing_type=sa.Float,
                                   existing_nullable=nullable)
