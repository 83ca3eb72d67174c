"""The scaling fit: slope of log(cost) against log(N) with a 95% interval."""

import math
import random

import pytest

from fit import loglog_fit, t975

NS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def test_t_table_matches_known_quantiles():
    assert t975(1) == pytest.approx(12.706, abs=1e-3)
    assert t975(10) == pytest.approx(2.228, abs=1e-3)
    assert t975(30) == pytest.approx(2.042, abs=1e-3)
    # Interpolated between table anchors: true values 2.0086 (df 50) and 1.9799 (df 120).
    assert t975(50) == pytest.approx(2.009, abs=2e-3)
    assert t975(120) == pytest.approx(1.980, abs=1e-3)
    assert t975(10**6) == pytest.approx(1.960, abs=1e-3)
    # Monotone: more data, narrower interval.
    values = [t975(df) for df in range(1, 500)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError):
        t975(0)


def test_exactly_linear_data_has_slope_one():
    f = loglog_fit(NS, [3.0 * n for n in NS])
    assert f.slope == pytest.approx(1.0, abs=1e-9)
    assert f.ci_low == pytest.approx(1.0, abs=1e-9) and f.ci_high == pytest.approx(1.0, abs=1e-9)
    assert f.predict(100) == pytest.approx(300.0)
    assert f.complexity() == "O(N): linear"


def test_flat_data_has_slope_zero():
    f = loglog_fit(NS, [420.0] * len(NS))
    assert f.slope == pytest.approx(0.0, abs=1e-9)
    assert f.complexity() == "O(1): flat"


@pytest.mark.parametrize("true_slope", [0.0, 0.5, 1.0])
def test_noisy_data_interval_covers_true_slope_and_is_sensible(true_slope):
    rng = random.Random(42)
    xs, ys = [], []
    for n in NS:
        for _ in range(3):  # three repetitions per N, 5% noise, like a real run
            xs.append(n)
            ys.append(100 * n ** true_slope * math.exp(rng.gauss(0, 0.05)))
    f = loglog_fit(xs, ys)
    assert f.ci_low < true_slope < f.ci_high
    assert 0 < f.half_width < 0.1
    assert abs(f.slope - true_slope) < 0.05
    assert f.points == 30


def test_interval_widens_with_noise():
    rng = random.Random(7)
    quiet = loglog_fit(NS, [n * math.exp(rng.gauss(0, 0.01)) for n in NS])
    loud = loglog_fit(NS, [n * math.exp(rng.gauss(0, 0.30)) for n in NS])
    assert loud.half_width > quiet.half_width


def test_two_points_give_a_slope_but_no_interval():
    f = loglog_fit([10, 100], [10, 100])
    assert f.slope == pytest.approx(1.0)
    assert f.ci_low is None and f.half_width is None
    assert "no interval" in f.describe()


def test_unfittable_inputs_raise():
    with pytest.raises(ValueError):
        loglog_fit([64], [1.0])
    with pytest.raises(ValueError):
        loglog_fit([64, 64, 64], [1.0, 2.0, 3.0])  # one N only: no slope
    with pytest.raises(ValueError):
        loglog_fit([0, -1], [1.0, 2.0])  # nothing positive


def test_a_run_of_several_processes_fits_one_point_per_process(tmp_path):
    import analysis as an
    import gbfake
    from conftest import write_json
    from pbresults import load
    run = load(write_json(tmp_path / "r.json", gbfake.full_run(processes=3, reps=3)))
    f = an.scaling_fit(run, "dispatch", "epoll_lt")
    assert f.full.points == 3 * len(gbfake.SIZES)  # not 9 repetitions per N
    single = load(write_json(tmp_path / "s.json", gbfake.full_run(reps=3)))
    assert an.scaling_fit(single, "dispatch", "epoll_lt").full.points == 3 * len(gbfake.SIZES)


def _fit_with_interval(slope, lo, hi):
    from fit import Fit
    return Fit(slope, 0.0, lo, hi, 30, 16, 8192)


@pytest.mark.parametrize("slope, lo, hi, words", [
    (0.99, 0.92, 1.05, "O(N): linear"),            # holds 1
    (0.82, 0.75, 0.89, "below linear"),           # excludes 1 from below: not "linear"
    (0.70, 0.62, 0.78, "below linear"),           # was "between O(1) and O(N)" at 0.75
    (0.78, 0.70, 1.01, "O(N): linear"),           # was the same words by luck of the cut
    (1.39, 1.30, 1.48, "worse than linear"),
    (0.04, 0.02, 0.06, "O(1): flat"),             # excludes 0, but within ±0.15
    (0.12, 0.05, 0.19, "between O(1) and O(N)"),  # reaches beyond the flat band
    (0.5, 0.1, 0.9, "unclear: interval too wide"),
])
def test_the_words_follow_the_interval_not_a_cut_off(slope, lo, hi, words):
    assert words in _fit_with_interval(slope, lo, hi).complexity()


def test_linear_fit_recovers_a_fixed_and_a_per_fd_cost():
    from fit import linear_fit
    ns = [16, 32, 64, 128, 256, 512, 1000]
    lin = linear_fit(ns, [1900.0 + 76.0 * n for n in ns])
    assert lin.fixed == pytest.approx(1900.0) and lin.per_item == pytest.approx(76.0)
    # Its own log-log slope: below 1 where the fixed cost still weighs, near 1 at large N.
    assert lin.local_slope(16) == pytest.approx(76 * 16 / (1900 + 76 * 16))
    assert lin.local_slope(16) < 0.5 < 0.95 < lin.local_slope(1000) < 1
    assert linear_fit([16, 16], [1.0, 2.0]) is None

