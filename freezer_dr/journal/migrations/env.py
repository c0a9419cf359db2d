"""Alembic environment: the URL and connection come from the caller
(freezer_dr.journal.schema), never from an alembic.ini."""

from alembic import context

from freezer_dr.journal import models

config = context.config
connection = config.attributes.get('connection')
context.configure(connection=connection,
                  target_metadata=models.Base.metadata,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
