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

"""Create or upgrade the journal's schema (``freezer-dr-manage db sync``)."""

import importlib.util
import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration
from alembic import script
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

MIGRATIONS = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection):
    config = alembic_config.Config()
    config.set_main_option('script_location', MIGRATIONS)
    config.attributes['connection'] = connection
    return config


#: For a URL that names no driver (``postgresql://``, ``mysql://``), the
#: drivers tried in turn, as (SQLAlchemy driver, Python module): first the
#: one the package's extra installs (``freezer-dr[postgresql]``,
#: ``freezer-dr[mysql]``), which the tests run against and which tooz's
#: lock on the same database imports too, then SQLAlchemy's own default.
#: (SQLAlchemy 2.0 maps ``postgresql://`` to psycopg2, 2.1 to psycopg 3.)
DRIVERS = {
    'postgresql': (('psycopg2', 'psycopg2'), ('psycopg', 'psycopg')),
    'mysql': (('pymysql', 'pymysql'), ('mysqldb', 'MySQLdb')),
    'mariadb': (('pymysql', 'pymysql'), ('mysqldb', 'MySQLdb')),
}
#: The extra of the package that installs a backend's driver.
EXTRAS = {'postgresql': 'postgresql', 'mysql': 'mysql', 'mariadb': 'mysql'}


class MissingDriver(ValueError):
    """The journal's database needs a driver that is not installed (or a
    dialect SQLAlchemy does not know); the message is one line that says
    what to install, without the URL's password."""


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def safe_url(url):
    """``url`` (a string or a SQLAlchemy URL) for messages: no password,
    no query (where libpq also takes one)."""
    try:
        url = sa.engine.make_url(url)
    except sa_exc.ArgumentError:
        return '(unparsable URL)'
    return sa.engine.URL.create(
        url.drivername, username=url.username, host=url.host,
        port=url.port, database=url.database).render_as_string(
            hide_password=False)


def resolve_url(url):
    """The SQLAlchemy URL of ``url`` (a string) with its driver: one that
    names it is kept; ``postgresql://`` (or ``postgres://``) gets psycopg2,
    or psycopg 3 if only that one is installed; ``mysql://`` and
    ``mariadb://`` get PyMySQL, or mysqlclient if only that one is. With
    none installed the URL is unchanged (creating its engine then says
    which extra to install)."""
    url = sa.engine.make_url(url)
    if url.drivername == 'postgres':
        url = url.set(drivername='postgresql')
    backend = url.get_backend_name()
    if '+' in url.drivername or backend not in DRIVERS:
        return url
    for driver, module in DRIVERS[backend]:
        if _installed(module):
            return url.set(drivername='%s+%s' % (backend, driver))
    return url


def _missing(url, exc):
    """The :class:`MissingDriver` for ``url`` whose engine could not be
    created because of ``exc``."""
    where = safe_url(url)
    backend = url.get_backend_name()
    driver = url.get_driver_name() if '+' in url.drivername else None
    extra = EXTRAS.get(backend)
    if isinstance(exc, sa_exc.NoSuchModuleError):
        return MissingDriver(
            'the journal database %s: SQLAlchemy has no dialect or driver '
            '%r (a typo in [database] connection, or its package is not '
            'installed)' % (where, url.drivername))
    module = getattr(exc, 'name', None) or str(exc)
    if extra is None:
        return MissingDriver(
            'the journal database %s needs the Python module %r, which is '
            'not installed' % (where, module))
    if driver is None or driver == DRIVERS[backend][0][0]:
        return MissingDriver(
            "the journal database %s needs a driver: pip install "
            "'freezer-dr[%s]'" % (where, extra))
    return MissingDriver(
        "the journal database %s needs the Python module %r (driver %s), "
        "which is not installed: install it, or write %s:// and pip "
        "install 'freezer-dr[%s]'" % (where, module, driver, backend,
                                      extra))


def engine_for(url):
    """A SQLAlchemy engine for ``url`` (its driver chosen by
    :func:`resolve_url`); for a sqlite file, its directory is created and
    writers wait for each other instead of failing.

    :raises MissingDriver: the driver of ``url`` is not installed (saying
        which extra of the package to install).
    """
    if url.startswith('sqlite:///') and not url.startswith(
            'sqlite:///:memory:'):
        path = url[len('sqlite:///'):]
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        return sa.create_engine(url, connect_args={'timeout': 30})
    resolved = resolve_url(url)
    kwargs = dict(pool_pre_ping=True)
    if resolved.get_backend_name() == 'postgresql':
        # Every fenced write contends on the leadership row: under a
        # stricter isolation level a server configured so would fail them
        # with serialization errors.
        kwargs['isolation_level'] = 'READ COMMITTED'
    try:
        return sa.create_engine(resolved, **kwargs)
    except (ImportError, sa_exc.NoSuchModuleError) as exc:
        raise _missing(resolved, exc) from None


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
