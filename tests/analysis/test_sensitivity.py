"""The sensitivity analysis: one input at a time at the ends of its range, on the main
run's random numbers (simgpu.sensitivity)."""

from __future__ import annotations

import pytest

import simgpu
from simgpu import sensitivity as sens_mod
from simgpu.cases import two_landlords
from simgpu.config import load
from simgpu.errors import ConfigError


def small(**sens):
    cfg = two_landlords(horizon_days=12.0)
    cfg["pools"]["p1"]["reliability"] = {"failures_per_1000_node_days": 50.0,
                                         "repair": {"distribution": "fixed", "mean_hours": 5.0}}
    cfg["gpus"]["h100"] = dict(cfg["gpus"]["round"])
    cfg["pools"]["p2"]["gpu"] = "h100"
    cfg["report"]["sensitivity"] = {"enabled": True, "replicas": 2, "step_hours": 2.0, **sens}
    return cfg


def test_each_input_moves_what_it_says():
    cfg = load(small())
    pts = {(p.input, p.end): p for p in sens_mod.points(cfg)}
    base = pts["base", "base"].config
    assert base.sim.step_hours == 2.0 and base.sim.replicas == 2
    assert not base.scenario.counterfactuals.landlord_first
    lo, hi = pts["failure_rate", "low"].config, pts["failure_rate", "high"].config
    # p2 is an H100 pool: the Hopper range; p1's round GPU: the factor range
    assert hi.pools["p2"].reliability.failures_per_1000_node_days == pytest.approx(8.5)
    assert lo.pools["p1"].reliability.failures_per_1000_node_days == pytest.approx(50 * 0.6)
    assert all(j.restart_hours == pytest.approx(1 / 3) for j in
               pts["restart", "high"].config.jobs.values())
    assert pts["mfu", "low"].config.jobs["m1"].mfu_scale < 1 < \
        pts["mfu", "high"].config.jobs["m1"].mfu_scale
    assert pts["repair", "high"].config.pools["p1"].reliability.repair.mean_hours == 10.0
    assert pts["ramp", "low"].config is None  # no capacity schedule to move: said so
    assert pts["ramp", "low"].what == "does not apply"


def test_a_point_equal_to_the_configuration_equals_the_base_point():
    """Common random numbers: a restart range [x, x] at the configured x changes nothing."""
    res = simgpu.run(load(small(restart_hours=[0.0, 0.0], inputs=["restart", "repair"])))
    s = res.summary["sensitivity"]
    t = s["tenants"]["tn"]
    assert t["inputs"]["restart"]["low"] == t["base"] == t["inputs"]["restart"]["high"]
    assert t["inputs"]["repair"]["high"]["dependency_share"]["value"] is not None
    assert s["runs"] == 5 and s["replicas"] == 2
    assert res.facts["sensitivity_seconds"] >= 0


def test_off_means_no_section_and_no_cost():
    cfg = small()
    cfg["report"]["sensitivity"]["enabled"] = False
    assert "sensitivity" not in simgpu.run(load(cfg)).summary


@pytest.mark.parametrize(("key", "band"), [
    ("restart_hours", [0.5, 0.1]), ("repair", [0.0, 2.0]), ("checkpoint_write", [1.0]),
])
def test_a_band_that_is_not_an_interval_is_refused(key, band):
    with pytest.raises(ConfigError) as ei:
        load(small(**{key: band}))
    (p,) = ei.value.problems
    assert p.key == f"report.sensitivity.{key}" and "[low, high]" in p.message
