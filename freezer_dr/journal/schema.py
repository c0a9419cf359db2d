"""Create or upgrade the journal's schema (``freezer-dr-manage db sync``)."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration
from alembic import script
import sqlalchemy as sa

MIGRATIONS = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection):
    config = alembic_config.Config()
    config.set_main_option('script_location', MIGRATIONS)
    config.attributes['connection'] = connection
    return config


def engine_for(url):
    """A SQLAlchemy engine for ``url``; for a sqlite file, its directory is
    created and writers wait for each other instead of failing."""
    if url.startswith('sqlite:///') and not url.startswith(
            'sqlite:///:memory:'):
        path = url[len('sqlite:///'):]
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        return sa.create_engine(url, connect_args={'timeout': 30})
    if url.startswith(('postgresql', 'postgres')):
        # Every fenced write contends on the leadership row: under a
        # stricter isolation level a server configured so would fail them
        # with serialization errors.
        return sa.create_engine(url, pool_pre_ping=True,
                                isolation_level='READ COMMITTED')
    return sa.create_engine(url, pool_pre_ping=True)


def sync(engine):
    """Upgrade the schema to the newest revision; return (before, after).
    Running it again is harmless."""
    with engine.begin() as connection:
        before = current(connection)
        command.upgrade(_config(connection), 'head')
        return before, current(connection)


def current(connection):
    return migration.MigrationContext.configure(
        connection).get_current_revision()


def head():
    return script.ScriptDirectory(MIGRATIONS).get_current_head()
