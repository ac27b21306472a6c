"""Edge cases of the simulator, each with its semantically expected outcome (issue "Hardening").

Every case is a tiny configuration (a small builder of :mod:`simgpu.cases`, modified) run
through :func:`simgpu.run` on the NumPy engine, the specification; each case is also run
through the host build of the kernel engine (engine.cu), which must give identical records
(skipped where no C++ compiler is found). Cases:

* zero failure rate everywhere: no interruptions, no lost work, the closed-form finish;
* a pool empty until a late date (or for the whole horizon);
* 100 % withheld, as a counterfactual level and as a scenario action;
* a lease that ends before the job starts;
* a job larger than every pool at some times but not others;
* a horizon that ends before any job finishes (unfinished, not an error; reports render);
* one replica; one step; the daily series on and off.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import simgpu
from simgpu.cases import RATE_PER_GPU_HOUR, kernel_mix, landlord_tenant, one_pool
from simgpu.config.load import load
from simgpu.engine import kernel_parity, kernels
from simgpu.engine.plan import compile_plan

needs_cxx = pytest.mark.skipif(kernels.find_host_compiler() is None,
                               reason="no C++ compiler for the host build of the kernels")

GPUS = 80  # one_pool's 10 nodes x 8 GPUs
TOL_H = 1e-6  # hours; the engine places finishes exactly within a step


def run(cfg: dict[str, Any]) -> simgpu.Results:
    """Run ``cfg`` on the NumPy engine; every summary must be strict JSON (no NaN/inf)."""
    cfg = copy.deepcopy(cfg)
    cfg["sim"]["backend"] = "numpy"
    res = simgpu.run(cfg)
    json.loads(json.dumps(res.summary, allow_nan=False))
    return res


def idx(names: list[str], name: str) -> int:
    return names.index(name)


def dists(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``{mean, p10, p50, p90}`` distribution in a summary document."""
    if isinstance(node, dict):
        if {"mean", "p10", "p50", "p90"} <= node.keys():
            yield node
        for v in node.values():
            yield from dists(v)
    elif isinstance(node, list):
        for v in node:
            yield from dists(v)


def closed_form_finish_h(flops: float, gpus: int, tau: float, write: float,
                         restart: float) -> float:
    """Failure-free finish of a job started at hour 0: its restart, its compute and one
    blocking checkpoint write per completed interval before the last one."""
    compute = flops / (gpus * RATE_PER_GPU_HOUR)  # the cases' MFU of 0.5
    writes = max(math.ceil(compute / tau - 1e-12) - 1, 0)
    return restart + compute + writes * write


def no_failures(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with every node-failure and domain-outage rate set to zero."""
    cfg = copy.deepcopy(cfg)
    for pool in cfg["pools"].values():
        rel = pool.setdefault("reliability", {})
        rel["failures_per_1000_node_days"] = 0.0
        for dom in rel.get("domains", {}).values():
            dom["outages_per_domain_year"] = 0.0
    return cfg


def without_counterfactuals(cfg: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    cfg.setdefault("scenario", {})["counterfactuals"] = {
        "no_lease": False, "withhold_levels": [], "landlord_first": False, "non_renew": False}
    return cfg


# ------------------------------------------------------------------ zero failure rate


@pytest.mark.parametrize(("step", "tau", "write", "restart"), [
    (1.0, 1.0, 0.1, 0.25),  # one_pool's own numbers
    (0.5, 0.7, 0.05, 0.0),  # an interval that does not divide the compute time
    (24.0, 2.0, 0.0, 1.5),  # the finish falls inside the first (daily) step
])
def test_zero_failure_rate_finishes_at_the_closed_form(step, tau, write, restart):
    cfg = one_pool(step_hours=step, restart_hours=restart,
                   checkpoint={"interval_hours": tau, "write_hours": write})
    res = run(cfg)
    r = res.raw
    want = closed_form_finish_h(1e21, GPUS, tau, write, restart)
    np.testing.assert_allclose(r.job_start_h, 0.0)
    np.testing.assert_allclose(r.job_finish_h[0, :, 0], want, rtol=0, atol=TOL_H)
    assert (r.job_interruptions == 0).all() and (r.job_interruptions_by_cause == 0).all()
    assert (r.job_lost_flops == 0).all() and (r.job_lost_gpu_h == 0).all()
    assert (r.job_preemptions == 0).all()
    assert (r.pool_failures == 0).all() and (r.pool_outages == 0).all()
    np.testing.assert_array_equal(r.pool_healthy_gpu_h, r.pool_online_gpu_h)
    np.testing.assert_allclose(r.job_flops_pool[0, :, 0, 0], 1e21, rtol=1e-12)
    # the job holds its 80 GPUs from hour 0 to its finish; compute is useful, nothing else
    np.testing.assert_allclose(r.job_alloc_gpu_h[0, :, 0], GPUS * want, rtol=1e-9)
    compute_h = 1e21 / (GPUS * RATE_PER_GPU_HOUR)
    np.testing.assert_allclose(r.job_useful_gpu_h[0, :, 0], GPUS * compute_h, rtol=1e-9)
    job = res.summary["jobs"]["a"]
    assert job["finished_fraction"] == 1.0
    assert job["finish_day"]["p50"] == pytest.approx(want / 24.0, abs=TOL_H / 24.0)
    assert job["interruptions"]["p90"] == 0 and job["lost_gpu_hours"]["p90"] == 0
    assert job["ettr"]["p50"] == pytest.approx(compute_h / want, rel=1e-9)
    assert res.summary["pools"]["p"]["availability"]["p10"] == 1.0


def zero_failure_world() -> dict[str, Any]:
    """kernel_mix (lemons, causes, rack and facility domains, leases, actions, every
    counterfactual, sweeps) with every failure and outage rate at zero."""
    return no_failures(kernel_mix(horizon_days=8.0))


def test_zero_failure_rate_everywhere_means_no_failure_in_any_variant():
    res = run(zero_failure_world())
    r = res.raw
    assert len(res.plan.variants) > 1
    assert (r.pool_failures == 0).all() and (r.pool_failures_by_cause == 0).all()
    assert (r.pool_outages == 0).all()
    np.testing.assert_array_equal(r.pool_healthy_gpu_h, r.pool_online_gpu_h)
    assert (r.job_interruptions == 0).all() and (r.job_interruptions_by_cause == 0).all()
    assert (r.job_lost_flops == 0).all() and (r.job_lost_gpu_h == 0).all()
    # nothing random is left: every replica of every variant is the same history
    for name in ("job_start_h", "job_finish_h", "job_alloc_gpu_h", "lease_delivered_gpu_h"):
        a = getattr(r, name)
        np.testing.assert_array_equal(a, np.broadcast_to(a[:, :1], a.shape), err_msg=name)
    for p in res.summary["pools"].values():
        assert p["availability"] == {"mean": 1.0, "p10": 1.0, "p50": 1.0, "p90": 1.0,
                                     "measured_fraction": 1.0}


# ------------------------------------------------------------------ a pool empty until late


def late_pool(at: str, failures: float = 0.0, horizon_days: float = 5.0) -> dict[str, Any]:
    """Pool ``late`` (party lab) is empty until ``at``; pool ``early`` (party oth) is
    online from the start. Job ``a`` may use only ``late``, job ``b`` only ``early``."""
    cfg = one_pool(horizon_days=horizon_days)
    cfg["parties"]["oth"] = {"role": "other"}
    late = cfg["pools"].pop("p")
    late["capacity"] = [{"at": at, "nodes": 10}]
    late["reliability"] = {"failures_per_1000_node_days": failures,
                           "repair": {"distribution": "fixed", "mean_hours": 3.0}}
    cfg["pools"] = {"late": late, "early": {**copy.deepcopy(late), "owner": "oth",
                                              "capacity": []}}
    cfg["jobs"] = {"a": {**cfg["jobs"]["a"], "pools": ["late"]},
                   "b": {**cfg["jobs"]["a"], "party": "oth", "pools": ["early"]}}
    return cfg


@pytest.mark.parametrize("failures", [0.0, 500.0])
def test_a_pool_empty_until_day_three_is_used_from_day_three(failures):
    res = run(late_pool("2026-01-04", failures))
    r, plan = res.raw, res.plan
    a, b = idx(plan.job_names, "a"), idx(plan.job_names, "b")
    late, early = idx(plan.pool_names, "late"), idx(plan.pool_names, "early")
    lab, oth = idx(plan.party_names, "lab"), idx(plan.party_names, "oth")
    assert (r.job_start_h[0, :, a] >= 72.0).all()
    if failures == 0.0:
        np.testing.assert_array_equal(r.job_start_h[0, :, a], 72.0)
        want = 72.0 + closed_form_finish_h(1e21, GPUS, 1.0, 0.1, 0.25)
        np.testing.assert_allclose(r.job_finish_h[0, :, a], want, rtol=0, atol=TOL_H)
    np.testing.assert_array_equal(r.job_start_h[0, :, b], 0.0)
    # online 80 GPUs for the last 48 of 120 hours, healthy at most that
    np.testing.assert_allclose(r.pool_online_gpu_h[:, late], GPUS * 48.0)
    assert (r.pool_healthy_gpu_h[:, late] <= r.pool_online_gpu_h[:, late]).all()
    np.testing.assert_allclose(r.pool_online_gpu_h[:, early], GPUS * 120.0)
    np.testing.assert_allclose(r.party_cap_gpu_h[0, :, lab, late], r.pool_healthy_gpu_h[:, late])
    # nothing usable before day 3 (daily means of usable GPUs, by user and owner)
    assert (r.cap_daily[:, :, :3, lab, lab] == 0).all()
    assert (r.cap_daily[:, :, 3:, lab, lab] > 0).all()
    assert (r.cap_daily[:, :, :, oth, oth] > 0).all()
    assert (r.job_alloc_gpu_h_pool[0, :, a, early] == 0).all()


def test_a_pool_empty_for_the_whole_horizon_leaves_its_job_unstarted():
    res = run(late_pool("2026-02-01"))
    r, plan, s = res.raw, res.plan, res.summary
    a, late = idx(plan.job_names, "a"), idx(plan.pool_names, "late")
    assert np.isinf(r.job_start_h[0, :, a]).all() and np.isinf(r.job_finish_h[0, :, a]).all()
    assert (r.pool_online_gpu_h[:, late] == 0).all() and (r.job_alloc_gpu_h[0, :, a] == 0).all()
    assert s["jobs"]["a"]["start_day"]["p50"] is None
    assert s["jobs"]["a"]["finished_fraction"] == 0.0
    assert s["jobs"]["b"]["finished_fraction"] == 1.0
    # nothing online: availability cannot be measured, and says why (never a made-up 1.0)
    assert s["pools"]["late"]["availability"]["p50"] is None
    assert s["pools"]["late"]["availability"]["null_reason"] == "the pool had no GPU online"


# ------------------------------------------------------------------ 100 % withheld


def tenant_world(failures: float = 0.0, burden: str = "delivered", horizon_days: float = 2.0,
                 contract: str = "share", **lease: Any) -> dict[str, Any]:
    """landlord_tenant: landlord ``ll`` leases half of pool ``p`` (by ``share`` or by
    ``gpus``) to tenant ``tn`` for the whole horizon; each has one job, the tenant's small
    enough to finish in the baseline."""
    if contract == "gpus":
        lease = {"gpus": GPUS // 2, **lease}
    cfg = landlord_tenant(share=0.5 if contract == "share" else None, burden=burden,
                          failures=failures, **lease)
    cfg["sim"]["horizon_days"] = horizon_days
    cfg["jobs"]["rent"]["flops"] = 1e21
    return cfg


@pytest.mark.parametrize("contract", ["share", "gpus"])
@pytest.mark.parametrize("failures", [0.0, 200.0])
@pytest.mark.parametrize("burden", ["delivered", "replaced"])
def test_withholding_100_percent_gives_the_tenant_nothing_and_the_landlord_everything(
        failures, burden, contract):
    cfg = tenant_world(failures, burden, contract=contract)
    cfg["scenario"] = {"counterfactuals": {"no_lease": False, "withhold_levels": [1.0],
                                           "landlord_first": False, "non_renew": False},
                       "sweeps": {"wh": {"lever": "withhold", "values": [1.0]}}}
    res = run(cfg)
    r, plan, s = res.raw, res.plan, res.summary
    assert [v.name for v in plan.variants] == ["baseline", "withhold_100", "wh=1"]
    w = 1
    # the in-batch withhold sweep at 1.0 is the same lever: the same records
    for name, a in vars(r).items():
        if a is not None and not name.startswith("pool_"):
            np.testing.assert_array_equal(a[2], a[w], err_msg=name)
    ll, tn = idx(plan.party_names, "ll"), idx(plan.party_names, "tn")
    own, rent = idx(plan.job_names, "own"), idx(plan.job_names, "rent")
    # the baseline delivers and the tenant's job finishes
    assert (r.lease_delivered_gpu_h[0, :, 0] > 0).all()
    assert np.isfinite(r.job_finish_h[0, :, rent]).all()
    # withheld over the lease's whole window: nothing delivered, nothing usable, no start
    assert (r.lease_delivered_gpu_h[w] == 0).all()
    assert (r.party_cap_gpu_h[w, :, tn] == 0).all()
    assert np.isinf(r.job_start_h[w, :, rent]).all()
    assert (r.job_alloc_gpu_h[w, :, rent] == 0).all()
    assert r.lease_paid_usd[w, 0] == 0.0 and r.lease_paid_usd[0, 0] > 0.0
    # the landlord's usable capacity is the whole pool's healthy capacity
    np.testing.assert_allclose(r.party_cap_gpu_h[w, :, ll, 0], r.pool_healthy_gpu_h[:, 0],
                               rtol=1e-12)
    assert (r.cap_daily[w, :, :, tn, :] == 0).all()
    if failures == 0.0:  # and its own job holds all of it
        np.testing.assert_allclose(r.job_alloc_gpu_h[w, :, own], GPUS * 48.0, rtol=1e-12)
        np.testing.assert_allclose(r.cap_daily[w, :, :, ll, ll], GPUS, rtol=1e-6)
    # the summary: unfinished in the variant, the delay censored at the horizon
    by = s["jobs"]["rent"]["by_variant"]["withhold_100"]
    assert by["finish_day_p50"] is None
    assert by["delay_days"]["censored_fraction"] == 1.0
    fin = r.job_finish_h[0, :, rent]
    assert by["delay_days"]["p50"] == pytest.approx(float(np.median(48.0 - fin)) / 24.0)
    curve = s["tenants"]["tn"]["leverage_curve"]
    assert [c["withheld"] for c in curve] == [0.0, 1.0]
    assert curve[1]["censored_fraction"] == 1.0 and curve[1]["delay_days_p50"] > 0
    assert s["leases"]["l"]["paid_usd_by_variant"]["withhold_100"] == 0.0


@pytest.mark.parametrize("burden", ["delivered", "replaced"])
def test_a_withhold_action_of_fraction_one_withholds_everything_in_its_window(burden):
    cfg = without_counterfactuals(tenant_world(burden=burden, horizon_days=3.0))
    cfg["jobs"]["rent"]["flops"] = 1e30  # runs for the whole horizon when it can
    cfg["scenario"]["actions"] = [{"kind": "withhold", "lease": "l", "at": "2026-01-02",
                                   "until": "2026-01-03", "fraction": 1.0}]
    res = run(cfg)
    r, plan = res.raw, res.plan
    ll, tn = idx(plan.party_names, "ll"), idx(plan.party_names, "tn")
    rent = idx(plan.job_names, "rent")
    cd = r.cap_daily[0]  # (R, days, user, owner): mean usable GPUs
    np.testing.assert_allclose(cd[:, [0, 2], tn, ll], GPUS / 2)  # the lease's half
    np.testing.assert_allclose(cd[:, 1, tn, ll], 0.0)  # day 1: withheld, all of it
    np.testing.assert_allclose(cd[:, 1, ll, ll], GPUS)  # the landlord has the whole pool
    np.testing.assert_allclose(r.lease_delivered_gpu_h[0, :, 0], GPUS / 2 * 48.0)
    # paid for the two days delivered only
    np.testing.assert_allclose(r.lease_paid_usd[0, 0], 8.766e6 / 8766.0 * 48.0, rtol=1e-9)
    # the tenant's job stops gracefully when the window opens and restarts when it closes
    assert (r.job_preemptions[0, :, rent] == 1).all()
    assert (r.job_lost_flops[0, :, rent] == 0).all()
    np.testing.assert_allclose(r.job_alloc_gpu_h[0, :, rent], GPUS / 2 * 48.0)


def test_withholding_a_whole_lease_by_action_leaves_the_tenant_unstarted():
    cfg = without_counterfactuals(tenant_world())
    cfg["scenario"]["actions"] = [{"kind": "withhold", "lease": "l", "at": "2026-01-01",
                                   "fraction": 1.0}]
    res = run(cfg)
    r, s = res.raw, res.summary
    rent = idx(res.plan.job_names, "rent")
    assert (r.lease_delivered_gpu_h == 0).all() and r.lease_paid_usd[0, 0] == 0.0
    assert np.isinf(r.job_start_h[0, :, rent]).all()
    assert s["jobs"]["rent"]["finished_fraction"] == 0.0
    assert s["leases"]["l"]["effective_usd_per_gpu_hour"]["p50"] is None  # 0 $ / 0 GPU-h
    assert s["landlords"]["ll"]["leased_out_gpu_hours"]["p90"] == 0.0


# ------------------------------------------------------------------ a lease that ends early


def lease_ended_world(own_pool: bool, start: str = "2026-01-01",
                      end: str = "2026-01-02") -> dict[str, Any]:
    """The tenant's job may start on day 2; its lease of pool ``p`` has ended by then.
    With ``own_pool`` the tenant also owns pool ``own`` (listed after ``p``)."""
    cfg = without_counterfactuals(tenant_world(horizon_days=4.0, start=start, end=end))
    cfg["jobs"]["rent"]["earliest_start"] = "2026-01-03"
    if own_pool:
        cfg["pools"]["own"] = {**copy.deepcopy(cfg["pools"]["p"]), "owner": "tn"}
        cfg["jobs"]["rent"]["pools"] = ["p", "own"]
    return cfg


@pytest.mark.parametrize("own_pool", [True, False])
def test_a_lease_that_ended_before_the_job_starts_is_never_used_by_it(own_pool):
    res = run(lease_ended_world(own_pool))
    r, plan, s = res.raw, res.plan, res.summary
    rent, p = idx(plan.job_names, "rent"), idx(plan.pool_names, "p")
    ll, tn = idx(plan.party_names, "ll"), idx(plan.party_names, "tn")
    assert (r.job_alloc_gpu_h_pool[0, :, rent, p] == 0).all()
    assert (r.job_flops_pool[0, :, rent, p] == 0).all()
    # the lease delivered its half of the pool during its one day, to nobody's job
    np.testing.assert_allclose(r.lease_delivered_gpu_h[0, :, 0], GPUS / 2 * 24.0)
    np.testing.assert_allclose(r.cap_daily[0, :, 1:, tn, ll], 0.0)
    np.testing.assert_allclose(r.cap_daily[0, :, 1:, ll, ll], GPUS)
    if own_pool:  # it runs on the tenant's own pool from its earliest start
        np.testing.assert_array_equal(r.job_start_h[0, :, rent], 48.0)
        want = 48.0 + closed_form_finish_h(1e21, GPUS, 1.0, 0.1, 0.25)
        np.testing.assert_allclose(r.job_finish_h[0, :, rent], want, rtol=0, atol=TOL_H)
        assert s["jobs"]["rent"]["landlord_flops_share"]["p90"] == 0.0
        assert s["tenants"]["tn"]["dependency_share"]["p90"] == 0.0
    else:  # it has nowhere to run: unfinished, not an error
        assert np.isinf(r.job_start_h[0, :, rent]).all()
        assert s["jobs"]["rent"]["finished_fraction"] == 0.0
        assert s["jobs"]["rent"]["start_day"]["p50"] is None


def test_a_lease_entirely_before_the_simulation_delivers_and_costs_nothing():
    res = run(lease_ended_world(True, start="2025-06-01", end="2025-12-01"))
    r = res.raw
    assert (r.lease_delivered_gpu_h == 0).all() and (r.lease_paid_usd == 0).all()
    assert (r.job_alloc_gpu_h_pool[0, :, idx(res.plan.job_names, "rent"),
                                   idx(res.plan.pool_names, "p")] == 0).all()


# ------------------------------------------------------------------ a job larger than a pool


def growing_pool(schedule: list[dict[str, Any]], interpolation: str = "step",
                 flops: float = 1e21, horizon_days: float = 3.0) -> dict[str, Any]:
    """A job of min = target = 80 GPUs (10 nodes) that prefers pool ``small`` (4 nodes,
    always too small) and may use pool ``p``, whose capacity follows ``schedule``."""
    cfg = one_pool(horizon_days=horizon_days, target_gpus=GPUS, min_gpus=GPUS, flops=flops,
                   pools=["small", "p"])
    cfg["pools"]["p"]["capacity"] = schedule
    cfg["pools"]["p"]["interpolation"] = interpolation
    cfg["pools"]["small"] = {**copy.deepcopy(cfg["pools"]["p"]), "nodes": 4, "capacity": []}
    return cfg


@pytest.mark.parametrize(("interpolation", "schedule", "fits_h"), [
    ("step", [{"at": "2026-01-01", "nodes": 4}, {"at": "2026-01-02", "nodes": 10}], 24.0),
    # linear from 4 nodes at hour 0 to 10 at hour 48: whole nodes, 10 only at hour 48
    ("linear", [{"at": "2026-01-01", "nodes": 4}, {"at": "2026-01-03", "nodes": 10}], 48.0),
])
def test_a_job_larger_than_every_pool_waits_until_its_minimum_fits(interpolation, schedule,
                                                                   fits_h):
    res = run(growing_pool(schedule, interpolation))
    r = res.raw
    p = idx(res.plan.pool_names, "p")
    np.testing.assert_array_equal(r.job_start_h[0, :, 0], fits_h)
    want = fits_h + closed_form_finish_h(1e21, GPUS, 1.0, 0.1, 0.25)
    np.testing.assert_allclose(r.job_finish_h[0, :, 0], want, rtol=0, atol=TOL_H)
    np.testing.assert_allclose(r.job_alloc_gpu_h_pool[0, :, 0, p], GPUS * (want - fits_h))
    assert (r.job_preemptions == 0).all()
    assert res.summary["jobs"]["a"]["start_day"]["p50"] == fits_h / 24.0


def test_a_job_stopped_when_its_pool_shrinks_below_its_minimum_waits_without_losing_work():
    sched = [{"at": "2026-01-01", "nodes": 4}, {"at": "2026-01-02", "nodes": 10},
             {"at": "2026-01-03", "nodes": 4}]
    res = run(growing_pool(sched, flops=1e30, horizon_days=4.0))
    r = res.raw
    np.testing.assert_array_equal(r.job_start_h[0, :, 0], 24.0)
    assert np.isinf(r.job_finish_h).all()
    assert (r.job_preemptions[0, :, 0] == 1).all()  # stopped once, at hour 48
    assert (r.job_lost_flops == 0).all() and (r.job_interruptions == 0).all()
    np.testing.assert_allclose(r.job_alloc_gpu_h[0, :, 0], GPUS * 24.0)
    # 24 h minus the restart, of which 21 whole 1.1-h checkpoint cycles: kept, not lost
    np.testing.assert_allclose(r.job_useful_gpu_h[0, :, 0],
                               GPUS * (21 + min(23.75 - 21 * 1.1, 1.0)), rtol=1e-9)


# ------------------------------------------------------------------ a horizon too short


def nothing_finishes() -> dict[str, Any]:
    """kernel_mix over one day: none of its jobs can finish, in any variant or sweep."""
    return kernel_mix(horizon_days=1.0)


def test_a_horizon_before_any_finish_is_reported_as_unfinished(tmp_path):
    res = run(nothing_finishes())
    r, s = res.raw, res.summary
    assert np.isinf(r.job_finish_h).all()
    for name, job in s["jobs"].items():
        assert job["finished_fraction"] == 0.0, name
        assert job["finish_day"] == {"mean": None, "p10": None, "p50": None, "p90": None}
        for v, by in job["by_variant"].items():
            assert by["finish_day_p50"] is None, (name, v)
            # both unfinished: no delay can be measured, and it says why (never 0)
            assert by["delay_days"]["censored_fraction"] == 1.0
            assert by["delay_days"]["p50"] is None
            assert "extend sim.horizon_days" in by["delay_days"]["null_reason"]
    ten = s["tenants"]["ten"]
    assert ten["final_milestone_day"]["p50"] is None
    assert all(c["delay_days_p50"] is None for c in ten["leverage_curve"][1:])
    assert ten["control_index"] is None
    assert "does not finish within the horizon" in ten["control_index_null_reason"]
    for sw in s["sweeps"].values():
        for pt in sw["points"]:
            assert pt["tenants"]["ten"]["final_milestone_day"]["p50"] is None
    # written and rendered like any other run
    summary_path = res.write(tmp_path)
    assert json.loads(summary_path.read_text()) == json.loads(json.dumps(s))
    from simgpu.report import render, render_results

    written = render_results(res, tmp_path)
    assert {p.name for p in written} >= {"report.md", "report.pdf", "roadmap.png",
                                         "capacity.png"}
    md = (tmp_path / "report.md").read_text()
    assert "finished in" in md and "after the horizon" in md
    # re-rendered from the saved run alone: the same text (three leases, not in
    # alphabetical order, while summary.json's keys are sorted)
    again = tmp_path / "again"
    again.mkdir()
    for name in ("config.yaml", "raw.npz", summary_path.name):
        (again / name).write_bytes((tmp_path / name).read_bytes())
    render_results(res, tmp_path, ["markdown"])
    render(again, ["markdown"])
    assert (again / "report.md").read_text() == (tmp_path / "report.md").read_text()


def test_a_job_that_never_starts_renders_and_summarises(tmp_path):
    """One job that can never start (its only pool is empty for the whole horizon)."""
    cfg = late_pool("2026-02-01")
    del cfg["jobs"]["b"]
    del cfg["pools"]["early"]
    res = run(cfg)
    assert np.isinf(res.raw.job_start_h).all()
    assert res.summary["jobs"]["a"]["ettr"]["p50"] is None
    res.write(tmp_path)
    from simgpu.report import render_results

    assert any(p.name == "report.md" for p in render_results(res, tmp_path))


# ------------------------------------------------------------------ one replica, one step


def test_one_replica_has_well_defined_quantiles(tmp_path):
    cfg = kernel_mix(horizon_days=10.0)
    cfg["sim"]["replicas"] = 1
    res = run(cfg)
    assert res.raw.job_finish_h.shape[1] == 1 and res.summary["replicas"] == 1
    n = 0
    for d in dists(res.summary):
        n += 1
        if d["mean"] is None:  # a non-finite value: every quantile falls on it
            assert d["p10"] is d["p50"] is d["p90"] is None, d
        else:
            assert d["p10"] == d["p50"] == d["p90"] == pytest.approx(d["mean"]), d
    assert n > 50
    from simgpu.report import render_results

    assert any(p.name == "report.md" for p in render_results(res, tmp_path))
    md = (tmp_path / "report.md").read_text()
    assert md.count("1 simulated history") == 2 and "1 simulated histories" not in md


@pytest.mark.parametrize("daily", [True, False])
def test_one_step_of_a_whole_day(daily, tmp_path):
    cfg = tenant_world(horizon_days=1.0)  # the tenant's job: 40 GPUs, done within the day
    cfg["sim"]["step_hours"] = 24.0
    cfg["report"]["daily_series"] = daily
    res = run(cfg)
    r, plan = res.raw, res.plan
    ll, tn = idx(plan.party_names, "ll"), idx(plan.party_names, "tn")
    own, rent = idx(plan.job_names, "own"), idx(plan.job_names, "rent")
    assert plan.n_steps == 1 and res.summary["steps"] == 1
    np.testing.assert_array_equal(r.job_start_h[0], 0.0)
    want = closed_form_finish_h(1e21, GPUS // 2, 1.0, 0.1, 0.25)
    np.testing.assert_allclose(r.job_finish_h[0, :, rent], want, rtol=0, atol=TOL_H)
    assert np.isinf(r.job_finish_h[0, :, own]).all()
    np.testing.assert_allclose(r.pool_online_gpu_h, GPUS * 24.0)
    assert res.summary["jobs"]["rent"]["finish_day"]["p50"] == pytest.approx(want / 24.0)
    if daily:
        assert r.cap_daily.shape == (len(plan.variants), 2, 1, 2, 2)
        np.testing.assert_allclose(r.cap_daily[0, :, 0, tn, ll], GPUS / 2)
        np.testing.assert_allclose(r.cap_daily[0, :, 0, ll, ll], GPUS / 2)
    else:
        assert r.cap_daily is None
    from simgpu.report import render_results

    written = {p.name for p in render_results(res, tmp_path, ["png", "markdown"])}
    assert ("capacity.png" in written) == daily and "report.md" in written
    if not daily:
        assert "report.daily_series=true" in (tmp_path / "report.md").read_text()


def test_one_step_shorter_than_the_job(tmp_path):
    res = run(one_pool(horizon_days=0.25, step_hours=6.0))
    assert res.plan.n_steps == 1 and res.summary["horizon_days"] == 0.25
    assert np.isinf(res.raw.job_finish_h).all()
    assert res.summary["jobs"]["a"]["finished_fraction"] == 0.0
    assert res.summary["jobs"]["a"]["finish_day"]["p50"] is None
    np.testing.assert_allclose(res.raw.job_alloc_gpu_h, GPUS * 6.0)
    from simgpu.report import render_results

    render_results(res, tmp_path, ["markdown"])
    assert "of 0.25 days from 2026-01-01" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(("horizon_days", "step"), [(1.5, 1.0), (0.25, 6.0)])
def test_the_daily_mean_of_a_partial_last_day_is_over_its_simulated_hours(horizon_days, step):
    r = run(one_pool(horizon_days=horizon_days, step_hours=step)).raw
    np.testing.assert_allclose(r.cap_daily, GPUS)  # 80 GPUs usable at every hour


def test_the_daily_series_switch_changes_nothing_else():
    cfg = kernel_mix(horizon_days=5.0)
    on = run(cfg)
    cfg["report"]["daily_series"] = False
    off = run(cfg)
    assert off.raw.cap_daily is None and on.raw.cap_daily is not None
    assert kernel_parity.compare_raw(
        on.raw, type(on.raw)(**{**vars(off.raw), "cap_daily": on.raw.cap_daily})) == []
    keys = ("jobs", "tenants", "landlords", "leases", "pools", "sweeps", "variants")
    assert {k: on.summary[k] for k in keys} == {k: off.summary[k] for k in keys}
    # the daily series integrate to the usable GPU-hours, day by day
    V, R = on.raw.cap_daily.shape[:2]
    per_owner = on.raw.cap_daily.astype(np.float64).sum(axis=(2, 3)) * 24.0  # (V, R, A)
    by_owner = np.zeros_like(per_owner)
    for p, a in enumerate(on.plan.pool_owner):
        by_owner[..., a] += on.raw.party_cap_gpu_h[:, :, :, p].sum(axis=2)
    np.testing.assert_allclose(per_owner, by_owner, rtol=1e-5)


# ------------------------------------------------------------------ kernel engine parity


def _one_replica() -> dict[str, Any]:
    cfg = kernel_mix(horizon_days=10.0)
    cfg["sim"]["replicas"] = 1
    return cfg


def _withhold_all() -> dict[str, Any]:
    cfg = tenant_world(200.0, "replaced")
    cfg["scenario"] = {"counterfactuals": {"no_lease": True, "withhold_levels": [1.0]},
                       "actions": [{"kind": "withhold", "lease": "l", "at": "2026-01-01T12:00",
                                    "until": "2026-01-02", "fraction": 1.0}]}
    return cfg


def _one_step_busy() -> dict[str, Any]:
    return kernel_mix(horizon_days=1.0, step_hours=24.0)


#: Every edge case above as a configuration, for the kernel engine (name -> builder).
PARITY_CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "zero_failures": lambda: one_pool(step_hours=0.5),
    "zero_failures_everywhere": zero_failure_world,
    "late_pool": lambda: late_pool("2026-01-04", 500.0),
    "pool_never_online": lambda: late_pool("2026-02-01"),
    "withhold_100": _withhold_all,
    "lease_ended": lambda: lease_ended_world(True),
    "lease_ended_no_own_pool": lambda: lease_ended_world(False),
    "lease_before_start": lambda: lease_ended_world(True, "2025-06-01", "2025-12-01"),
    "grows_to_fit_step": lambda: growing_pool(
        [{"at": "2026-01-01", "nodes": 4}, {"at": "2026-01-02", "nodes": 10},
         {"at": "2026-01-03", "nodes": 4}], flops=1e30, horizon_days=4.0),
    "grows_to_fit_linear": lambda: growing_pool(
        [{"at": "2026-01-01", "nodes": 4}, {"at": "2026-01-03", "nodes": 10}], "linear"),
    "nothing_finishes": nothing_finishes,
    "one_replica": _one_replica,
    "one_step": lambda: one_pool(horizon_days=1.0, step_hours=24.0),
    "one_step_short": lambda: one_pool(horizon_days=0.25, step_hours=6.0),
    "one_step_busy": _one_step_busy,
}


@needs_cxx
@pytest.mark.parametrize("daily", [True, False], ids=["daily", "no-daily"])
@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_the_kernel_engine_matches_numpy_on_every_edge_case(case, daily):
    from simgpu.engine.launch import HostLauncher

    cfg = PARITY_CASES[case]()
    plan = compile_plan(load(cfg))
    kernel_parity.run_parity(plan, HostLauncher(), n_replicas=cfg["sim"]["replicas"],
                             daily=daily)


@pytest.mark.gpu
@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_the_gpu_kernel_engine_matches_numpy_on_every_edge_case(case):
    from simgpu.backend import cupy_on
    from simgpu.engine import cuda_engine
    from simgpu.engine.launch import CupyLauncher

    cfg = PARITY_CASES[case]()
    plan = compile_plan(load(cfg))
    launcher = CupyLauncher(cupy_on(0), cuda_engine.gpu_defines(plan))
    kernel_parity.run_parity(plan, launcher, n_replicas=cfg["sim"]["replicas"])
