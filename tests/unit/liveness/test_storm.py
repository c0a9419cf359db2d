import pytest

from freezer_dr.liveness import storm


@pytest.mark.parametrize('failed,tracked,hosts,percent,expected', [
    (1, 2, 5, 25.0, False),      # one failed host alone is never a storm
    (1, 1, 0, 10.0, False),
    (5, 100, 5, 25.0, False),    # not more than 5
    (6, 100, 5, 25.0, True),     # more than 5
    (3, 10, 5, 25.0, True),      # 30 % > 25 %
    (2, 8, 5, 25.0, False),      # 25 % is not more than 25 %
    (20, 50, 5, 25.0, True),
    (20, 50, 0, 0.0, False),     # both limits disabled
    (20, 50, 0, 50.0, False),
    (26, 50, 0, 50.0, True),
    (6, 100, 5, 0.0, True),
    (2, 0, 0, 25.0, False),      # nothing tracked
])
def test_is_storm(failed, tracked, hosts, percent, expected):
    assert storm.is_storm(failed, tracked, hosts, percent) is expected
