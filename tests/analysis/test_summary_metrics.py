"""Landlord-control metrics on small hand-made results, with exact expected values; and the
counterfactual machinery (no-lease equals a run with the lease removed, same seed)."""

from __future__ import annotations

import numpy as np
import pytest

from simgpu.analysis.summary import censored_delay, control_index, delay_dist, dist
from simgpu.cases import landlord_tenant
from simgpu.config import load
from simgpu.engine import compile_plan, simulate


def test_dist_mean_and_quantiles_with_unfinished_values():
    d = dist(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert d == {"mean": 3.0, "p10": 1.4, "p50": 3.0, "p90": 4.6}
    d = dist(np.array([1.0, 2.0, 3.0, 4.0, np.inf]))
    assert d["mean"] is None and d["p10"] == pytest.approx(1.4) and d["p50"] == 3.0
    assert d["p90"] is None  # falls between 4 and an unfinished value


def test_delays_are_censored_at_the_horizon():
    base = np.array([100.0, 200.0, np.inf]) * 24
    var = np.array([130.0, np.inf, np.inf]) * 24
    np.testing.assert_allclose(censored_delay(var, base, 300 * 24), [30.0, 100.0, 0.0])
    d = delay_dist(var, base, 300 * 24)
    assert d["censored_fraction"] == pytest.approx(2 / 3)
    assert d["mean"] == pytest.approx(130 / 3)


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
