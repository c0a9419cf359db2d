"""The journal's database drivers (issue 13, packaging): a URL that names
no driver gets the one the package's extra installs, and a driver that is
not installed is one line saying which extra to install, without the
password."""

import importlib.util
import os
import subprocess
import sys

import pytest
from sqlalchemy import exc as sa_exc

from freezer_dr.journal import schema


def _only(*modules):
    """A stand-in for schema._installed: only ``modules`` are."""
    return lambda module: module in modules


@pytest.mark.parametrize('url, installed, expected', [
    ('postgresql://u:pw@db/fdr', ('psycopg2', 'psycopg'),
     'postgresql+psycopg2'),
    ('postgresql://u:pw@db/fdr', ('psycopg2',), 'postgresql+psycopg2'),
    ('postgresql://u:pw@db/fdr', ('psycopg',), 'postgresql+psycopg'),
    ('postgres://u:pw@db/fdr', ('psycopg2',), 'postgresql+psycopg2'),
    ('postgresql://u:pw@db/fdr', (), 'postgresql'),
    ('mysql://u:pw@db/fdr', ('pymysql', 'MySQLdb'), 'mysql+pymysql'),
    ('mysql://u:pw@db/fdr', ('MySQLdb',), 'mysql+mysqldb'),
    ('mariadb://u:pw@db/fdr', ('pymysql',), 'mariadb+pymysql'),
    # A driver named in the URL is the operator's choice.
    ('postgresql+psycopg://u:pw@db/fdr', ('psycopg2',),
     'postgresql+psycopg'),
    ('mysql+mysqldb://u:pw@db/fdr', ('pymysql',), 'mysql+mysqldb'),
    ('sqlite:///x.sqlite', ('psycopg2', 'pymysql'), 'sqlite'),
])
def test_a_url_without_a_driver_gets_the_extras_one(monkeypatch, url,
                                                    installed, expected):
    monkeypatch.setattr(schema, '_installed', _only(*installed))
    resolved = schema.resolve_url(url)
    assert resolved.drivername == expected
    # Nothing else of the URL changes.
    assert (resolved.username, resolved.password, resolved.host,
            resolved.database) == ((None, None, None, 'x.sqlite')
                                   if url.startswith('sqlite')
                                   else ('u', 'pw', 'db', 'fdr'))


def test_a_plain_postgresql_url_makes_an_engine_with_psycopg2():
    pytest.importorskip('psycopg2')
    engine = schema.engine_for('postgresql://u:pw@127.0.0.1:1/fdr')
    assert engine.dialect.driver == 'psycopg2'
    assert engine.url.password == 'pw'     # (the engine still has it)


def test_a_missing_driver_names_the_extra_without_the_password(
        monkeypatch):
    # What SQLAlchemy 2.1 does with postgresql:// when psycopg (3) is not
    # installed, and neither is psycopg2.
    def create_engine(url, **kwargs):
        raise ModuleNotFoundError("No module named 'psycopg'",
                                  name='psycopg')
    monkeypatch.setattr(schema, '_installed', _only())
    monkeypatch.setattr(schema.sa, 'create_engine', create_engine)
    with pytest.raises(schema.MissingDriver) as caught:
        schema.engine_for('postgresql://fdr:s3cret@db.example:5432/'
                          'freezer_dr?password=s3cret')
    message = str(caught.value)
    assert message == ("the journal database postgresql://fdr@db.example:"
                       "5432/freezer_dr needs a driver: pip install "
                       "'freezer-dr[postgresql]'")
    assert isinstance(caught.value, ValueError)     # a configuration error
    assert caught.value.__cause__ is None and \
        caught.value.__suppress_context__


@pytest.mark.parametrize('url, module, extra', [
    ('postgresql+pg8000://fdr:s3cret@db/fdr', 'pg8000', 'postgresql'),
    ('mysql+mysqldb://fdr:s3cret@db/fdr', 'MySQLdb', 'mysql'),
])
def test_a_driver_named_in_the_url_and_missing_is_named(url, module, extra):
    if importlib.util.find_spec(module) is not None:
        pytest.skip('%s is installed here' % module)
    with pytest.raises(schema.MissingDriver) as caught:
        schema.engine_for(url)
    message = str(caught.value)
    assert 's3cret' not in message
    assert "needs the Python module '%s'" % module in message
    assert "pip install 'freezer-dr[%s]'" % extra in message
    assert '\n' not in message


def test_an_unknown_dialect_is_one_line_too():
    with pytest.raises(schema.MissingDriver) as caught:
        schema.engine_for('postgresql+nosuch://fdr:s3cret@db/fdr')
    message = str(caught.value)
    assert "no dialect or driver 'postgresql+nosuch'" in message
    assert 's3cret' not in message and '\n' not in message
    assert isinstance(caught.value.__context__, sa_exc.NoSuchModuleError)


@pytest.mark.parametrize('url, shown', [
    ('postgresql+psycopg2://fdr:s3cret@db:5432/fdr?sslmode=require',
     'postgresql+psycopg2://fdr@db:5432/fdr'),
    ('mysql+pymysql://fdr:s%40cret@[::1]/fdr', 'mysql+pymysql://fdr@[::1]/fdr'),
    ('sqlite:////var/lib/freezer-dr/j.sqlite',
     'sqlite:////var/lib/freezer-dr/j.sqlite'),
    ('not a url', '(unparsable URL)'),
])
def test_safe_url(url, shown):
    assert schema.safe_url(url) == shown


def test_manage_db_sync_says_it_in_one_line(tmp_path):
    """The operator's view: ``freezer-dr-manage db sync`` with a driver
    that is not installed."""
    if importlib.util.find_spec('pg8000') is not None:
        pytest.skip('pg8000 is installed here')
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[database]\nconnection = postgresql+pg8000://fdr:'
                    's3cret@127.0.0.1:1/freezer_dr\n')
    conf.chmod(0o600)
    manage = os.path.join(os.path.dirname(sys.executable),
                          'freezer-dr-manage')
    result = subprocess.run([manage, '--config-file', str(conf), 'db',
                             'sync'], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install 'freezer-dr[postgresql]'" in lines[0]
    assert 's3cret' not in result.stderr + result.stdout
