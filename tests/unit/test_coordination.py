"""The coordination backend that follows the journal, and the lease put
where the backend can enforce it (freezer_dr/coordination.py; leadership
itself runs against real backends in tests/functional/test_leadership.py).
"""

import pytest

from freezer_dr import coordination


@pytest.mark.parametrize('journal,backend', [
    ('sqlite:////var/lib/freezer-dr/freezer-dr.sqlite',
     'file:///var/lib/freezer-dr/freezer-dr.sqlite.coordination'),
    ('postgresql+psycopg2://fdr:secret@db.example:5432/freezer_dr',
     'postgresql://fdr:secret@db.example:5432?dbname=freezer_dr'),
    ('postgresql://fdr@db/freezer_dr?sslmode=require',
     'postgresql://fdr@db?sslmode=require&dbname=freezer_dr'),
    ('mysql+pymysql://fdr:secret@db.example/freezer_dr?charset=utf8',
     'mysql://fdr:secret@db.example/freezer_dr?charset=utf8'),
])
def test_the_default_backend_follows_the_journal(journal, backend):
    assert coordination.default_backend(journal) == backend


def test_a_journal_in_memory_has_nothing_to_follow():
    assert coordination.default_backend('sqlite://') is None
    assert coordination.default_backend('sqlite:///:memory:') is None


def test_an_unknown_journal_asks_for_a_backend():
    with pytest.raises(ValueError, match=r'\[coordination\] backend_url'):
        coordination.default_backend('oracle://db/freezer')


def test_the_lease_rounded_up_is_the_redis_lock_expiry_unless_set():
    assert coordination.with_lease('redis://r:6379', 7.4) == \
        'redis://r:6379?timeout=8'
    assert coordination.with_lease('redis://r:6379?timeout=2', 10) == \
        'redis://r:6379?timeout=2'
    assert coordination.with_lease('file:///x', 10) == 'file:///x'


def test_messages_show_no_credentials():
    assert coordination.where('redis://:secret@r:6379?timeout=3') == \
        'redis://r:6379'
    assert coordination.where(
        'postgresql://fdr:secret@db:5432?dbname=x') == 'postgresql://db:5432'
