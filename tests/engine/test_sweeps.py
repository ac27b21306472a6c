"""In-batch sweeps (scenario.sweeps): each point is an extra variant of the same batch and
equals a separate run with that lever set, bit for bit (common random numbers)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta

import numpy as np
import pytest

import simgpu
from simgpu.errors import ConfigError

SWEEPS = ("+scenario.sweeps={share:{lever:share,values:[0.5]},late:{lever:start_days,"
          "values:[10]},px:{lever:price,values:[2]},wh:{lever:withhold,values:[0.5],"
          "start:'2026-07-10',days:10}}")


@pytest.fixture(scope="module")
def swept():
    from tiny_config import TINY_OVERRIDES

    base = [*TINY_OVERRIDES, "sim.start=2026-06-20", "sim.horizon_days=40"]
    return base, simgpu.run(simgpu.compose([*base, SWEEPS]))


def _variant(res, name: str) -> int:
    return [v.name for v in res.plan.variants].index(name)


def _same_as_run(res, vi: int, other, skip=()) -> None:
    for f in fields(res.raw):
        a, b = getattr(res.raw, f.name), getattr(other.raw, f.name)
        if a is None or f.name in skip:
            continue
        if f.name.startswith("pool_"):  # per replica: the physical process is shared
            assert np.array_equal(a, b), f.name
        else:
            assert np.array_equal(a[vi], b[0], equal_nan=True), f.name


def test_sweep_points_are_variants_named_after_their_values(swept):
    _, res = swept
    names = [v.name for v in res.plan.variants]
    assert names[-4:] == ["share=0.5", "late=10", "px=2", "wh=0.5"]
    pts = res.summary["sweeps"]["share"]
    assert pts["lever"] == "share" and pts["leases"] == ["colossus_one"]
    assert [p["value"] for p in pts["points"]] == [0.5]
    assert set(pts["points"][0]["tenants"]) == {"anthropic"}


def test_share_point_equals_a_run_with_that_share_and_pays_the_same(swept):
    """One meaning of money: a fixed annual price stays fixed when the share changes, by an
    override or by an in-batch sweep alike."""
    base, res = swept
    other = simgpu.run(simgpu.compose([*base, "leases.colossus_one.share=0.5"]))
    _same_as_run(res, _variant(res, "share=0.5"), other)
    vi = _variant(res, "share=0.5")
    assert res.raw.lease_paid_usd[vi, 0] == res.raw.lease_paid_usd[0, 0]


def test_a_price_per_gpu_hour_follows_the_share_by_override_and_by_sweep():
    from tiny_config import TINY_OVERRIDES

    base = [*TINY_OVERRIDES, "sim.horizon_days=10", "leases.colossus_one.annual_usd=null",
            "leases.colossus_one.usd_per_gpu_hour=2.0"]
    res = simgpu.run(simgpu.compose([*base, "+scenario.sweeps={s:{lever:share,values:[0.5]}}"]))
    other = simgpu.run(simgpu.compose([*base, "leases.colossus_one.share=0.5"]))
    vi = _variant(res, "s=0.5")
    _same_as_run(res, vi, other)
    paid = res.raw.lease_paid_usd[:, 0]
    assert paid[vi] == pytest.approx(paid[0] / 2, rel=0.01)  # half the GPUs, half the money
    pt = res.summary["sweeps"]["s"]["points"][0]["leases"]["colossus_one"]
    assert pt["paid_usd"] == other.summary["leases"]["colossus_one"]["paid_usd"]


def test_start_days_point_equals_a_run_with_the_lease_moved(swept):
    base, res = swept
    lease = res.plan.cfg.leases["colossus_one"]
    start, end = (date.fromisoformat(d) + timedelta(days=10) for d in (lease.start, lease.end))
    other = simgpu.run(simgpu.compose([*base, f"leases.colossus_one.start={start}",
                                       f"leases.colossus_one.end={end}"]))
    _same_as_run(res, _variant(res, "late=10"), other, skip=("lease_paid_usd",))


def test_withhold_point_equals_the_counterfactual_with_the_same_window(swept):
    base, res = swept
    other = simgpu.run(simgpu.compose([
        *base, "scenario.counterfactuals.withhold_levels=[0.5]",
        "scenario.counterfactuals.withhold_start=2026-07-10",
        "scenario.counterfactuals.withhold_days=10"]))
    a = _variant(res, "wh=0.5")
    b = _variant(other, "withhold_50")
    assert np.array_equal(res.raw.job_finish_h[a], other.raw.job_finish_h[b])
    assert np.array_equal(res.raw.lease_delivered_gpu_h[a], other.raw.lease_delivered_gpu_h[b])
    assert not np.array_equal(res.raw.lease_delivered_gpu_h[a], res.raw.lease_delivered_gpu_h[0])


def test_price_point_changes_payments_only(swept):
    _, res = swept
    vi = _variant(res, "px=2")
    assert np.array_equal(res.raw.job_finish_h[vi], res.raw.job_finish_h[0])
    assert res.raw.lease_paid_usd[vi, 0] == pytest.approx(2 * res.raw.lease_paid_usd[0, 0])


@pytest.mark.parametrize(("sweep", "fragment"), [
    ("{s:{lever:share,values:[1.5]}}", "scenario.sweeps.s.values[0]=1.5"),
    ("{s:{lever:share,values:[]}}", "must list at least one value"),
    ("{s:{lever:share,values:[0.5],leases:[nope]}}", "scenario.sweeps.s.leases[0]"),
    ("{s:{lever:wobble,values:[0.5]}}", "wobble"),
])
def test_bad_sweeps_are_config_errors_naming_the_key(tiny_overrides, sweep, fragment):
    with pytest.raises(ConfigError) as err:
        simgpu.run(simgpu.compose([*tiny_overrides, f"+scenario.sweeps={sweep}"]))
    assert fragment in str(err.value)


def test_a_withholding_start_point_equals_a_run_with_that_withholding_action():
    from tiny_config import TINY_OVERRIDES

    base = [*TINY_OVERRIDES, "sim.horizon_days=12", "scenario.counterfactuals.no_lease=false",
            "scenario.counterfactuals.withhold_levels=[]"]
    res = simgpu.run(simgpu.compose([*base, "+scenario.sweeps={ws:{lever:withhold_start,"
                                     "values:[3],fraction:0.5,days:4}}"]))
    other = simgpu.run(simgpu.compose([*base, "leases.colossus_one.notice_days=0",
                                       "scenario.actions=[{kind:withhold,lease:colossus_one,"
                                       "at:'2026-07-04',until:'2026-07-08',fraction:0.5}]"]))
    _same_as_run(res, _variant(res, "ws=3"), other)


def test_a_termination_point_ends_the_lease_its_notice_later():
    from tiny_config import TINY_OVERRIDES

    base = [*TINY_OVERRIDES, "sim.horizon_days=12", "scenario.counterfactuals.no_lease=false",
            "scenario.counterfactuals.withhold_levels=[]",
            "leases.colossus_one.termination_notice_days=2"]
    res = simgpu.run(simgpu.compose([*base, "+scenario.sweeps={t:{lever:terminate,"
                                     "values:[3]}}"]))
    other = simgpu.run(simgpu.compose([*base, "leases.colossus_one.end='2026-07-06'"]))
    _same_as_run(res, _variant(res, "t=3"), other)


def test_a_termination_sweep_needs_a_termination_right(tiny_overrides):
    with pytest.raises(ConfigError) as ei:
        simgpu.run(simgpu.compose([*tiny_overrides,
                                   "leases.colossus_one.termination_notice_days=null",
                                   "+scenario.sweeps={t:{lever:terminate,values:[3]}}"]))
    assert "termination_notice_days" in str(ei.value)
