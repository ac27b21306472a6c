"""Per landlord, every milestone, honest bounds, one meaning of money, deadlines: on a
tenant renting from two landlords, where every number can be worked out by hand
(simgpu.cases.two_landlords: no failures; m1 -> m2 -> m3 of 1, 2 and 1 days on 80 GPUs)."""

from __future__ import annotations

import numpy as np
import pytest

import simgpu
from simgpu.analysis.summary import paid_gpu_hours
from simgpu.cases import two_landlords
from simgpu.config import load
from simgpu.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def run(cfg):
    return simgpu.run(load(cfg))


@pytest.fixture(scope="module")
def res():
    return run(two_landlords())


def test_every_lever_acts_on_all_landlords_and_on_each_alone(res):
    names = [v.name for v in res.plan.variants]
    for lever in ("no_lease", "withhold_50", "withhold_100", "landlord_first"):
        assert {lever, f"{lever}@l1", f"{lever}@l2"} <= set(names)
    assert len(names) == 1 + 4 * 3


def test_one_landlords_no_lease_equals_a_run_without_its_lease(res):
    cfg = two_landlords()
    del cfg["leases"]["lease1"]
    alone = run(cfg)
    v = [x.name for x in res.plan.variants].index("no_lease@l1")
    for name in res.plan.job_names:
        a, b = res.plan.job_names.index(name), alone.plan.job_names.index(name)
        np.testing.assert_array_equal(res.raw.job_finish_h[v, :, a],
                                      alone.raw.job_finish_h[0, :, b])


def test_the_delays_by_hand(res):
    t = res.summary["tenants"]["tn"]
    # without any lease the tenant has 40 GPUs (its own q): every run at half speed,
    # finishing on days 2, 6 and 8 instead of 1, 3 and 4
    cf = t["counterfactuals"]["no_lease"]
    by = {j: d["p50"] for j, d in cf["by_milestone"].items()}
    assert by == pytest.approx({"m1": 1.0, "m2": 3.0, "m3": 4.0}, abs=1e-6)
    assert cf["roadmap_delay_days"]["p50"] == pytest.approx(4.0)
    assert not cf["roadmap_delay_days"]["lower_bound"]
    # one landlord alone cannot delay it: the other's pool takes each run
    for landlord in ("l1", "l2"):
        e = t["by_landlord"][landlord]
        assert e["no_lease_delay_days"]["p50"] == pytest.approx(0.0, abs=1e-6)
        assert e["dependency_share"]["p50"] == pytest.approx(0.5)
    assert t["concentration"]["herfindahl"] == pytest.approx(0.5)
    # withholding half of both leases: 40 GPUs per pool, half speed: 4 days late at 50 %
    # and at 100 %: CI = (0.5 * 4 / 2 + 0.5 * 4) / 4 = 0.75
    assert t["control_index"] == pytest.approx(0.75)
    assert t["control_index_lower_bound"] is False
    assert [c["withheld"] for c in t["leverage_curve"]] == [0.0, 0.5, 1.0]
    assert t["leverage_by_milestone"]["m2"][1]["delay_days_p50"] == pytest.approx(3.0)


def test_a_milestone_delay_is_never_a_gain():
    """Withholding half of l1's lease from day 2 slows m3 only... until m3 prefers p2:
    build the issue's case: m2 late, the last milestone early."""
    cfg = two_landlords()
    cfg["jobs"]["m3"]["pools"] = ["p2", "p1", "q"]
    cfg["jobs"]["m3"]["after"] = []
    cfg["jobs"]["m3"]["earliest_start"] = "2026-01-03"
    out = run(cfg).summary["tenants"]["tn"]["counterfactuals"]["withhold_50@l2"]
    by = {j: d["p50"] for j, d in out["by_milestone"].items()}
    assert by["m2"] > 0.5  # m2 runs on p2 at half speed
    assert out["roadmap_delay_days"]["p50"] == pytest.approx(max(by.values()))
    assert out["roadmap_delay_days"]["p50"] >= by[out["last_milestone"]]


def test_unfinished_milestones_are_lower_bounds_with_their_censored_fraction():
    res = run(two_landlords(horizon_days=6.0))  # no lease: m3 would finish on day 8
    cf = res.summary["tenants"]["tn"]["counterfactuals"]["no_lease"]
    m3 = cf["by_milestone"]["m3"]
    assert m3["lower_bound"] and m3["censored_fraction"] == 1.0
    assert m3["p50"] == pytest.approx(6.0 - 4.0, abs=1e-6)  # >= horizon - baseline finish
    t = res.summary["tenants"]["tn"]
    assert t["no_lease_delay_days"]["lower_bound"]
    assert t["control_index_lower_bound"] is True
    from simgpu.analysis.table import format_table

    assert "≥ " in format_table(res.summary)


def test_extending_the_horizon_without_changing_a_finish_changes_no_control_metric():
    a = run(two_landlords(horizon_days=20.0)).summary["tenants"]["tn"]
    b = run(two_landlords(horizon_days=40.0)).summary["tenants"]["tn"]
    for t in (a, b):  # usable capacity is summed or averaged over the horizon by definition
        t.pop("capacity_share")
        t.pop("gpu_hours")
        for e in t["by_landlord"].values():
            e.pop("capacity_share")
    assert a == b


def test_deadlines_missed_per_counterfactual():
    cfg = two_landlords()
    cfg["jobs"]["m2"]["deadline"] = "2026-01-05"  # day 4: met (day 3), missed without leases
    s = run(cfg).summary["jobs"]["m2"]
    assert s["deadline_missed_fraction"] == 0.0
    assert s["by_variant"]["no_lease"]["deadline_missed_fraction"] == 1.0
    assert s["by_variant"]["no_lease@l1"]["deadline_missed_fraction"] == 0.0


@pytest.mark.parametrize(("edit", "key", "fragment"), [
    ({"deadline": "2026-01-01"}, "jobs.m2.deadline", "must be after the job can start"),
])
def test_a_deadline_before_the_start_is_refused(edit, key, fragment):
    cfg = two_landlords()
    cfg["jobs"]["m2"].update(edit)
    with pytest.raises(ConfigError) as ei:
        load(cfg)
    assert [(p.key, fragment in p.message) for p in ei.value.problems] == [(key, True)]


def test_a_per_landlord_option_naming_no_landlord_is_refused():
    cfg = two_landlords()
    cfg["scenario"]["counterfactuals"]["landlords"] = ["l1", "tn"]
    with pytest.raises(ConfigError) as ei:
        load(cfg)
    (p,) = ei.value.problems
    assert p.key == "scenario.counterfactuals.landlords[1]" and p.value == "tn"
    assert "l1, l2" in p.message


def test_paid_used_and_delivered_gpu_hours_and_utilisation(res):
    le = res.summary["leases"]["lease1"]
    H = 30 * 24
    assert le["paid_gpu_hours"] == pytest.approx(80 * H)  # whole pool, whole horizon
    assert le["delivered_gpu_hours"]["p50"] == pytest.approx(80 * H)  # no failures
    # the tenant trains on p1 on days 0-1 (m1) and 3-4 (m3): 2 of 30 days
    assert le["used_gpu_hours"]["p50"] == pytest.approx(80 * 48, rel=1e-6)
    assert le["utilization"]["p50"] == pytest.approx(2 / 30, rel=1e-6)
    assert le["usd_per_gpu_hour_used"]["p50"] == pytest.approx(le["paid_usd"] / (80 * 48))
    np.testing.assert_allclose(paid_gpu_hours(res.plan)[0], [80 * H, 80 * H])


def test_until_means_until():
    """A 366-day withholding with 30 days' notice lasts from at + 30 d to until: 336 days."""
    cfg = two_landlords(horizon_days=400.0, replicas=1)
    cfg["leases"]["lease1"].update(notice_days=30, end="2028-01-01")
    cfg["scenario"]["actions"] = [{"kind": "withhold", "lease": "lease1", "at": "2026-01-01",
                                   "until": "2027-01-02", "fraction": 0.5}]
    plan = simgpu.run(load(cfg)).plan
    held = (plan.lease_frac[0, 0] < 1.0) & (plan.lease_frac[0, 0] > 0.0)
    assert held.sum() * plan.dt / 24.0 == pytest.approx(366 - 30)


def test_validation_warns_about_a_lease_too_small_for_its_jobs_and_a_pool_they_never_fit():
    cfg = two_landlords()
    cfg["leases"]["lease2"]["share"] = 0.25  # 16 GPUs of p2, every job needs 40
    cfg["jobs"]["m1"]["pools"] = ["p1", "q"]
    cfg["pools"]["q"]["nodes"] = 2  # 16 GPUs: m1 (min 40) never fits
    s = run(cfg).summary
    assert any(w.startswith("leases.lease2='p2': gives tn at most 16 GPUs") for w in
               s["warnings"])
    assert any(w.startswith("jobs.m1.pools[1]='q': can never hold the job") for w in
               s["warnings"])
