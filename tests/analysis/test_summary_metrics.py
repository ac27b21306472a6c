"""Landlord-control metrics on small hand-made results, with exact expected values; and the
counterfactual machinery (no-lease equals a run with the lease removed, same seed)."""

from __future__ import annotations

import numpy as np
import pytest

from simgpu.analysis.metrics import control_index, delay_bounds, dist, interval_dist
from simgpu.cases import landlord_tenant
from simgpu.config import load
from simgpu.engine import compile_plan, simulate


def test_dist_mean_and_quantiles_with_unfinished_values():
    d = dist(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert d == {"mean": 3.0, "p10": 1.4, "p50": 3.0, "p90": 4.6}
    d = dist(np.array([1.0, 2.0, 3.0, 4.0, np.inf]))
    assert d["mean"] is None and d["p10"] == pytest.approx(1.4) and d["p50"] == 3.0
    assert d["p90"] is None  # falls between 4 and an unfinished value


def test_delay_bounds_per_replica():
    H = 300 * 24
    base = np.array([100.0, 200.0, np.inf, 100.0, np.inf]) * 24
    var = np.array([130.0, np.inf, np.inf, 90.0, 250.0]) * 24
    lo, hi = delay_bounds(var, base, H)
    # finished both: exact; variant unfinished: >= H - base; baseline unfinished: <= var - H
    np.testing.assert_allclose(lo, [30.0, 100.0, -np.inf, -10.0, -np.inf])
    np.testing.assert_allclose(hi, [30.0, np.inf, np.inf, -10.0, -50.0])


def test_interval_distribution_exact_bounded_and_unmeasurable():
    exact = interval_dist(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), "why")
    assert exact == {"mean": 2.0, "p10": 1.2, "p50": 2.0, "p90": 2.8,
                     "censored_fraction": 0.0, "lower_bound": False}
    # one replica censored at >= 5: the mean and the upper quantiles become lower bounds
    d = interval_dist(np.array([1.0, 2.0, 5.0]), np.array([1.0, 2.0, np.inf]), "why")
    assert d["mean"] == pytest.approx(8 / 3) and d["p50"] == 2.0 and d["lower_bound"]
    assert d["censored_fraction"] == pytest.approx(1 / 3)
    # with a replica that has no lower bound, the mean and P10 cannot be measured
    d = interval_dist(np.array([-np.inf, 2.0, 3.0]), np.array([np.inf, 2.0, 3.0]), "why")
    assert d["mean"] is None and d["p10"] is None and d["null_reason"] == "why"
    assert d["p90"] == pytest.approx(2.8)


def test_a_delay_of_any_milestone_never_reads_as_a_gain():
    """Milestone a is 110 days late, the last one (b) 10 days early: the roadmap's delay
    is the largest milestone delay, 110 days, never -10."""
    from simgpu.analysis.summary import Delays

    class Plan:
        horizon_hours = 1000 * 24.0
        job_names = ["a", "b"]

    class Raw:
        job_finish_h = np.array([[[100.0, 300.0]] * 3, [[210.0, 290.0]] * 3]) * 24

    d = Delays(Plan(), Raw(), np.array([0, 1]), 1)
    doc = d.document()
    assert doc["roadmap_delay_days"]["p50"] == pytest.approx(110.0)
    assert doc["last_milestone"] == "b"
    assert doc["last_milestone_delay_days"]["p50"] == pytest.approx(-10.0)
    assert doc["largest_delay_milestone"] == "a"


def test_control_index_is_the_area_under_the_p50_curve_per_baseline_day():
    # trapezoids with D(0) = 0: 0.25*10/2 + 0.25*(10+20)/2 + 0.5*(20+40)/2 = 20 day-units
    assert control_index([0.25, 0.5, 1.0], [10.0, 20.0, 40.0], 100.0) == pytest.approx(0.2)
    # flat beyond the last level: 0.5*10/2 + 0.5*10 = 7.5
    assert control_index([0.5], [10.0], 50.0) == pytest.approx(7.5 / 50)
    assert control_index([], [], 100.0) is None
    assert control_index([0.5], [10.0], None) is None


def test_no_lease_variant_equals_a_run_without_the_lease():
    cfg = landlord_tenant(share=0.5, nodes=20, failures=300.0)
    cfg["sim"]["replicas"] = 3
    # the tenant also owns a smaller pool, so its job has somewhere to run without the lease
    cfg["pools"]["q"] = {**cfg["pools"]["p"], "owner": "tn", "nodes": 6}
    cfg["jobs"]["rent"]["pools"] = ["p", "q"]
    plan = compile_plan(load(cfg))
    raw = simulate(plan, 0, 3)
    v = [x.name for x in plan.variants].index("no_lease")
    bare = dict(cfg, leases={})
    plan2 = compile_plan(load(bare))
    raw2 = simulate(plan2, 0, 3)
    assert [x.name for x in plan2.variants] == ["baseline"]
    for name in plan.job_names:
        a, b = plan.job_names.index(name), plan2.job_names.index(name)
        np.testing.assert_array_equal(raw.job_finish_h[v, :, a], raw2.job_finish_h[0, :, b])
        np.testing.assert_array_equal(raw.job_interruptions[v, :, a],
                                      raw2.job_interruptions[0, :, b])
        np.testing.assert_array_equal(raw.job_flops_pool[v, :, a], raw2.job_flops_pool[0, :, b])
    np.testing.assert_array_equal(raw.pool_failures, raw2.pool_failures)
