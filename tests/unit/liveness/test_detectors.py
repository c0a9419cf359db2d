import math
import statistics

import pytest

from freezer_dr.liveness import detectors
from freezer_dr.liveness import settings


def _phi(**kw):
    params = dict(threshold=8.0, window=10, min_std_deviation=0.1,
                  acceptable_pause=1.0, first_interval=1.0)
    params.update(kw)
    return detectors.PhiAccrual(**params)


def test_timeout_allows_exactly_the_timeout():
    detector = detectors.FixedTimeout(3.0)
    history = detector.new_history()
    assert detector.observe(history, 0.5) == 3.0
    assert detector.allowed_silence(history) == 3.0
    assert 'timeout 3.000 s' in detector.describe(history, 3.2)


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        detectors.FixedTimeout(0)


def test_phi_seed_is_the_expected_interval():
    detector = _phi()
    mean, std = detector.new_history().mean_and_std()
    assert mean == pytest.approx(1.0)
    assert std == pytest.approx(0.25)


def test_phi_allowed_silence_is_where_phi_reaches_the_threshold():
    detector = _phi()
    history = detector.new_history()
    for gap in (1.0, 1.1, 0.9, 1.05, 0.95, 1.2, 0.8):
        detector.observe(history, gap)
    silence = detector.allowed_silence(history)
    assert detector.phi(history, silence) == pytest.approx(8.0, abs=1e-6)
    assert detector.phi(history, silence - 0.01) < 8.0
    assert detector.phi(history, silence + 0.01) > 8.0


def test_phi_grows_with_silence():
    detector = _phi()
    history = detector.new_history()
    values = [detector.phi(history, t / 10) for t in range(0, 60)]
    assert values == sorted(values)


def test_phi_min_std_deviation_bounds_sensitivity():
    detector = _phi(window=20)
    history = detector.new_history()
    for _ in range(40):
        detector.observe(history, 1.0)       # perfectly regular
    z = -statistics.NormalDist().inv_cdf(1e-8)
    assert detector.allowed_silence(history) == pytest.approx(
        1.0 + 1.0 + z * 0.1)


def test_phi_window_keeps_only_the_latest_intervals():
    detector = _phi(window=5)
    history = detector.new_history()
    for _ in range(5):
        detector.observe(history, 10.0)
    for _ in range(5):
        detector.observe(history, 1.0)
    mean, _std = history.mean_and_std()
    assert mean == pytest.approx(1.0)
    assert len(history.samples) == 5


def test_phi_running_sums_match_a_recomputation():
    detector = _phi(window=7)
    history = detector.new_history()
    gaps = [0.5 + (n * 37 % 11) / 10 for n in range(53)]
    for gap in gaps:
        detector.observe(history, gap)
    window = list(history.samples)
    mean, std = history.mean_and_std()
    assert mean == pytest.approx(statistics.fmean(window))
    assert std == pytest.approx(statistics.pstdev(window), abs=1e-9)


def test_phi_adapts_to_a_slower_host():
    detector = _phi(window=20)
    history = detector.new_history()
    fast = detector.allowed_silence(history)
    for _ in range(20):
        detector.observe(history, 5.0)
    assert fast < 3.5
    assert detector.allowed_silence(history) > 6.5


def test_phi_huge_silence_is_infinite_not_an_error():
    detector = _phi()
    history = detector.new_history()
    assert math.isinf(detector.phi(history, 1e6))
    assert '>300' in detector.describe(history, 1e6)


@pytest.mark.parametrize('kw', [dict(threshold=0), dict(window=1),
                                dict(min_std_deviation=0),
                                dict(acceptable_pause=-1),
                                dict(first_interval=0)])
def test_phi_refuses_bad_parameters(kw):
    with pytest.raises(ValueError):
        _phi(**kw)


def test_from_settings_picks_the_detector():
    phi = detectors.from_settings(settings.LivenessSettings())
    assert isinstance(phi, detectors.PhiAccrual)
    timeout = detectors.from_settings(
        settings.LivenessSettings(detector='timeout', heartbeat_timeout=4))
    assert isinstance(timeout, detectors.FixedTimeout)
    assert timeout.timeout == 4.0


def test_default_detection_window():
    # 1 s mean + 1 s acceptable pause + 5.61 * 0.1 s, plus 1 s of grace.
    window = settings.LivenessSettings().detection_window()
    assert window == pytest.approx(3.561, abs=0.001)
    timeout = settings.LivenessSettings(detector='timeout',
                                        heartbeat_timeout=5,
                                        corroboration_grace=2)
    assert timeout.detection_window() == 7.0


@pytest.mark.parametrize('kw', [dict(detector='magic'),
                                dict(corroboration=()),
                                dict(corroboration=('grace', 'tarot')),
                                dict(heartbeat_interval=0),
                                dict(storm_window=0),
                                dict(corroboration_grace=-1),
                                dict(max_failed_hosts=-1),
                                dict(phi_window=1)])
def test_settings_refuse_nonsense(kw):
    with pytest.raises(ValueError):
        settings.LivenessSettings(**kw)
