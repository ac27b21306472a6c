"""The confidence interval of a median and the stopping rule of ``sim.replicas: auto``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simgpu.analysis import precision as pm
from simgpu.config.schema import PrecisionConfig, median_ci_min_n


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [6, 7, 10, 37, 100, 1000, 4999])
def test_median_ranks_are_the_narrowest_binomial_interval(n, level):
    ranks = pm.median_ranks(n, level)
    half_alpha = (1 - level) / 2
    if stats.binom.cdf(0, n, 0.5) > half_alpha:
        assert ranks is None
        return
    low, up = ranks
    assert up == n + 1 - low
    # coverage 1 - 2 P(B <= l - 1) >= level, and one rank further in would break it
    assert stats.binom.cdf(low - 1, n, 0.5) <= half_alpha * (1 + 1e-9)
    assert low >= (n + 1) // 2 or stats.binom.cdf(low, n, 0.5) > half_alpha


def test_median_ranks_by_hand():
    # n = 10: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024
    assert pm.median_ranks(10, 0.95) == (2, 9)
    assert pm.median_ranks(6, 0.95) == (1, 6)  # 1 - 2/64 = 0.969
    assert pm.median_ranks(5, 0.95) is None  # 1 - 2/32 = 0.9375 < 0.95
    assert pm.median_interval(np.arange(10.0)[::-1], 0.95) == (1.0, 8.0)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_the_smallest_sample_with_an_interval_matches_the_schema_check(level):
    least = median_ci_min_n(level)
    assert pm.median_ranks(least, level) is not None
    assert least == 1 or pm.median_ranks(least - 1, level) is None


def test_the_interval_covers_a_known_median_as_often_as_promised():
    """Exponential histories (true median ln 2), 40 per sample: the share of 4,000
    samples whose interval holds the median matches the exact binomial coverage
    within 4 standard errors, and is at least the level."""
    rng = np.random.default_rng(17)
    n, trials, level = 40, 4000, 0.95
    x = np.sort(rng.exponential(size=(trials, n)), axis=1)
    low, up = pm.median_ranks(n, level)
    hit = (x[:, low - 1] <= math.log(2)) & (math.log(2) <= x[:, up - 1])
    exact = 1 - 2 * stats.binom.cdf(low - 1, n, 0.5)
    assert exact >= level
    se = math.sqrt(exact * (1 - exact) / trials)
    assert abs(hit.mean() - exact) < 4 * se, (hit.mean(), exact)


def _metric(values, target=1.0, estimate=0.0):
    return pm.Metric("a.b.p50", "the thing", "days", target, estimate,
                     np.asarray(values, float))


def test_assess_reports_the_half_width_against_the_target():
    a = _metric(np.arange(10.0), target=3.5, estimate=4.5).assess(0.95)
    assert (a["lower"], a["upper"], a["half_width"], a["reached"]) == (1.0, 8.0, 3.5, True)
    assert _metric(np.arange(10.0), target=3.4).assess(0.95)["reached"] is False


def test_an_unbounded_end_never_reaches_the_target():
    a = _metric([-np.inf] * 3 + [1.0] * 7, target=1e9).assess(0.95)
    assert a["half_width"] is None and a["lower"] is None and a["reached"] is False


def test_an_unmeasurable_statistic_is_no_criterion():
    a = pm.Metric("x", "x", "days", 1.0, None, np.array([]), "no baseline").assess(0.95)
    assert a["reached"] is None and a["null_reason"] == "no baseline"
    assert pm.stop_reason({"x": a}, 100, PrecisionConfig(), 1.0) == "nothing_measurable"


def test_too_few_replicas_for_an_interval_go_on():
    a = _metric([1.0, 2.0]).assess(0.95)
    assert a["half_width"] is None and a["reached"] is False


def _state(*reached):
    return {str(i): {"estimate": 1.0, "reached": r, "half_width": 1.0}
            for i, r in enumerate(reached)}


def test_stop_reasons_in_order():
    p = PrecisionConfig(min_replicas=100, max_replicas=300, step_replicas=100,
                        time_budget_s=10.0)
    assert pm.stop_reason(_state(True, True), 300, p, 1e6) == "target_reached"
    assert pm.stop_reason(_state(True, False), 300, p, 0.0) == "max_replicas"
    # 100 replicas took 4 s: the next 100 would end at 8 s, within the budget
    assert pm.stop_reason(_state(False), 100, p, 4.0) is None
    # 200 took 6 s: the next 100 would end at 9 s (within); 200 took 7 s: at 10.5 s
    assert pm.stop_reason(_state(False), 200, p, 6.0) is None
    assert pm.stop_reason(_state(False), 200, p, 7.0) == "time_budget"
    assert pm.stop_reason(_state(False), 200, PrecisionConfig(), 1e9) is None  # no budget


def test_rounds_start_at_min_and_end_at_the_cap():
    p = PrecisionConfig(min_replicas=100, max_replicas=250, step_replicas=100)
    n, seen = 0, []
    while not seen or seen[-1] < 250:
        n = pm.next_round(n, p)
        seen.append(n)
    assert seen == [100, 200, 250]


def test_describe_gives_shares_in_points():
    assert pm.describe("share", "fraction", 0.013, 0.02) == "share ±1.3 points (target ±2)"
    assert pm.describe("delay", "days", 6.12, 5.0) == "delay ±6.12 days (target ±5)"
    assert pm.describe("delay", "days", None, 5.0) == "delay unbounded (target ±5)"
