"""End-to-end engine cases with answers computed by hand, invariants and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import landlord_tenant, one_pool, with_
from simgpu.config import load
from simgpu.engine import compile_plan, simulate
from simgpu.engine.numpy_engine import STREAM_COUNT, STREAM_FAIL_EVENT, event_draws
from simgpu.engine.progress import compute_time
from simgpu.rng import uniform
from simgpu.rng.distributions import poisson_small_from_uniform

RATE_PER_GPU = 1000e12 * 0.5 * 3600.0  # round GPU at MFU 0.5, FLOPs per GPU-hour


def _run(cfg, replicas=None):
    plan = compile_plan(load(cfg))
    return plan, simulate(plan, 0, replicas or cfg["sim"]["replicas"])


def test_one_pool_one_job_no_failures_exact_finish():
    # 80 GPUs; 10 h of compute; cycles of 1 h compute + 0.1 h write; 0.25 h start-up.
    cfg = one_pool(flops=80 * RATE_PER_GPU * 10.0)
    plan, raw = _run(cfg)
    expected = 0.25 + 9 * 1.1 + 1.0  # start-up, nine full cycles, the last hour of compute
    np.testing.assert_allclose(raw.job_finish_h[..., 0], expected, rtol=1e-12)
    assert (raw.job_start_h[..., 0] == 0.0).all()
    assert (raw.job_interruptions == 0).all() and (raw.job_lost_flops == 0).all()
    np.testing.assert_allclose(raw.job_flops_pool[..., 0, 0], cfg["jobs"]["a"]["flops"])
    # ETTR: 10 h of compute over 11.15 h held
    ettr = raw.job_useful_gpu_h[..., 0] / raw.job_alloc_gpu_h[..., 0]
    np.testing.assert_allclose(ettr, 10.0 / expected, rtol=1e-12)


def test_job_takes_target_not_more_and_waits_for_its_minimum():
    cfg = one_pool(nodes=10, target_gpus=44, min_gpus=40, flops=40 * RATE_PER_GPU * 3.0,
                   checkpoint={"write_hours": 0.0})
    plan, raw = _run(cfg)
    # target 44 GPUs -> 5 nodes (whole nodes, floor); 3 h x 40 GPUs of work at 40 GPUs
    np.testing.assert_allclose(raw.job_alloc_gpu_h_pool[0, 0, 0, 0],
                               40 * (0.25 + 3.0 * 40 / 40), rtol=1e-12)
    cfg = one_pool(nodes=4, target_gpus=80, min_gpus=40)  # 4 nodes < 5 needed
    with pytest.raises(Exception, match="can never fit"):
        load(cfg)


def test_dependency_chain_starts_at_the_next_step_boundary():
    base = one_pool(flops=80 * RATE_PER_GPU * 2.0, checkpoint={"write_hours": 0.0})
    job = dict(base["jobs"]["a"])
    cfg = with_(base, jobs={"a": job, "b": {**job, "after": ["a"]},
                            "c": {**job, "after": ["b"]}})
    plan, raw = _run(cfg)
    names = plan.job_names
    a, b, c = (names.index(n) for n in "abc")
    fa = 0.25 + 2.0
    sb = math.ceil(fa)  # 3.0: dependencies are checked at step starts
    fb = sb + 2.25
    sc = math.ceil(fb)
    np.testing.assert_allclose(raw.job_finish_h[..., a], fa)
    np.testing.assert_allclose(raw.job_start_h[..., b], sb)
    np.testing.assert_allclose(raw.job_finish_h[..., b], fb)
    np.testing.assert_allclose(raw.job_start_h[..., c], sc)
    np.testing.assert_allclose(raw.job_finish_h[..., c], sc + 2.25)


def test_earliest_start_is_respected():
    cfg = one_pool(earliest_start="2026-01-01T05:30")
    _, raw = _run(cfg)
    np.testing.assert_allclose(raw.job_start_h, 6.0)  # the first step starting after 5.5 h


def test_lease_share_splits_the_pool_exactly():
    cfg = landlord_tenant(share=0.35, nodes=10)  # floor(3.5) = 3 nodes to the tenant
    plan, raw = _run(cfg)
    hours = plan.n_steps * plan.dt
    ll, tn = plan.party_names.index("ll"), plan.party_names.index("tn")
    base = 0
    np.testing.assert_allclose(raw.party_cap_gpu_h[base, :, tn, 0], 3 * 8 * hours)
    np.testing.assert_allclose(raw.party_cap_gpu_h[base, :, ll, 0], 7 * 8 * hours)
    # the withholding sweep: 25 % of 3 nodes -> floor(2.25) = 2 nodes delivered
    v25 = [v.name for v in plan.variants].index("withhold_25")
    np.testing.assert_allclose(raw.party_cap_gpu_h[v25, :, tn, 0], 2 * 8 * hours)
    np.testing.assert_allclose(raw.party_cap_gpu_h[v25, :, ll, 0], 8 * 8 * hours)
    v0 = [v.name for v in plan.variants].index("no_lease")
    np.testing.assert_allclose(raw.party_cap_gpu_h[v0, :, tn, 0], 0.0)
    # the tenant's job runs on what it leases: 3 nodes
    rent = plan.job_names.index("rent")
    np.testing.assert_allclose(raw.job_alloc_gpu_h_pool[base, :, rent, 0], 3 * 8 * hours)
    # payments: $8.766M a year = $1000 an hour, for the hours the lease runs
    np.testing.assert_allclose(raw.lease_paid_usd[base, 0], 1000.0 * hours, rtol=1e-12)
    np.testing.assert_allclose(raw.lease_paid_usd[v25, 0], 750.0 * hours, rtol=1e-12)


def test_lease_by_gpu_count_and_dates():
    cfg = landlord_tenant(share=None, gpus=20, start="2026-01-01T10:00")
    plan, raw = _run(cfg)
    tn = plan.party_names.index("tn")
    hours = plan.n_steps * plan.dt
    # 20 GPUs -> 2 whole nodes, from hour 10
    np.testing.assert_allclose(raw.party_cap_gpu_h[0, :, tn, 0], 2 * 8 * (hours - 10.0))


def test_landlord_first_takes_leased_gpus_for_the_landlords_jobs():
    cfg = landlord_tenant(share=0.5, nodes=10)
    plan, raw = _run(cfg)
    lf = [v.name for v in plan.variants].index("landlord_first")
    own, rent = plan.job_names.index("own"), plan.job_names.index("rent")
    hours = plan.n_steps * plan.dt
    # baseline: 5 + 5 nodes; landlord-first: the landlord's job (target 10 nodes) takes all
    np.testing.assert_allclose(raw.job_alloc_gpu_h_pool[0, :, own, 0], 40 * hours)
    np.testing.assert_allclose(raw.job_alloc_gpu_h_pool[lf, :, own, 0], 80 * hours)
    np.testing.assert_allclose(raw.job_alloc_gpu_h_pool[lf, :, rent, 0], 0.0)
    np.testing.assert_allclose(raw.lease_delivered_gpu_h[lf, :, 0], 0.0)


def test_replaced_burden_keeps_the_tenant_whole_while_the_pool_can():
    base = landlord_tenant(share=0.3, nodes=20, failures=200.0)  # many failures
    p_del, r_del = _run(base)
    p_rep, r_rep = _run(landlord_tenant(share=0.3, nodes=20, failures=200.0,
                                        failure_burden="replaced"))
    tn = p_del.party_names.index("tn")
    hours = p_del.n_steps * p_del.dt
    full = 6 * 8 * hours
    assert (r_del.party_cap_gpu_h[0, :, tn, 0] < full).all()  # bears its share of failures
    assert (r_rep.party_cap_gpu_h[0, :, tn, 0] > r_del.party_cap_gpu_h[0, :, tn, 0]).all()
    assert (r_rep.party_cap_gpu_h[0, :, tn, 0] <= full).all()
    # the physical history is the same (common random numbers across configs too)
    np.testing.assert_array_equal(r_del.pool_failures, r_rep.pool_failures)


def test_injected_failure_exact_rollback_and_restart():
    """One node, one job; the first failure's step and time come from the generator."""
    rate_nd = 500.0  # per 1000 node-days: lambda = 500/1000/24 per step of 1 h
    cfg = one_pool(nodes=1, target_gpus=8, min_gpus=8, horizon_days=3.0, replicas=1,
                   flops=8 * RATE_PER_GPU * 1000.0)  # never finishes in 3 days
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": rate_nd,
        "repair": {"distribution": "fixed", "mean_hours": 1e-9, "max_hours": 1.0}}
    cfg["sim"]["seed"] = 4  # a history with exactly one failure in the horizon
    plan, raw = _run(cfg)
    assert raw.job_interruptions[0, 0, 0] == 1
    lam = rate_nd / 1000.0 / 24.0
    seed = cfg["sim"]["seed"]
    t = 0
    while True:  # the first step with a failure, from the same counter-based draws
        u = uniform(seed, 0, STREAM_COUNT, t, 0)
        if poisson_small_from_uniform(u, lam) > 0:
            break
        t += 1
    _, _, phase, _ = event_draws(seed, np.array([0]), STREAM_FAIL_EVENT, t, np.array([0]), 1)
    t_hit = t + float(phase[0])
    # before the hit: start-up 0.25 h, then compute in cycles of 1 h + 0.1 h write
    run = t_hit - 0.25
    k = math.floor(run / 1.1)
    lost_h = min(run - k * 1.1, 1.0)
    first_lost = 8 * RATE_PER_GPU * lost_h
    # the node is back the next step; the job restarts 0.25 h from the hit, then computes
    # in fresh cycles to the horizon
    after = compute_time(np.array(72.0 - t_hit - 0.25), 1.0, 1.1)
    kept = 8 * RATE_PER_GPU * (k + float(after))
    np.testing.assert_allclose(raw.job_lost_flops[0, 0, 0], first_lost, rtol=1e-9)
    np.testing.assert_allclose(raw.job_flops_pool[0, 0, 0, 0], kept, rtol=1e-9)


def test_renewals_extend_the_lease_and_non_renew_ends_it_at_term():
    cfg = landlord_tenant(share=0.5, nodes=10, start="2026-01-01", end="2026-01-01T12:00",
                          renewals=2)
    cfg["sim"]["horizon_days"] = 2.0
    plan, raw = _run(cfg)
    tn = plan.party_names.index("tn")
    names = [v.name for v in plan.variants]
    # three 12 h terms = 36 h of 5 nodes; without renewal 12 h
    np.testing.assert_allclose(raw.party_cap_gpu_h[0, :, tn, 0], 5 * 8 * 36.0)
    np.testing.assert_allclose(raw.party_cap_gpu_h[names.index("non_renew"), :, tn, 0],
                               5 * 8 * 12.0)


def test_story_actions_withhold_after_notice_and_change_the_price():
    cfg = landlord_tenant(share=0.5, nodes=10, notice_days=0.25)  # 6 h notice
    cfg["scenario"] = {"actions": [
        {"kind": "withhold", "lease": "l", "at": "2026-01-01T04:00", "until":
         "2026-01-01T14:00", "fraction": 0.6},
        {"kind": "price_change", "lease": "l", "at": "2026-01-01T18:00",
         "price_factor": 2.0}]}
    plan, raw = _run(cfg)
    tn = plan.party_names.index("tn")
    hours = plan.n_steps * plan.dt  # 48
    # withheld 60 % of 5 nodes -> 2 nodes from 10:00 (announced + 6 h notice) until 14:00
    # (until is the date it stops: the notice delays the start only)
    np.testing.assert_allclose(raw.party_cap_gpu_h[0, :, tn, 0],
                               8 * (5 * (hours - 4.0) + 2 * 4.0))
    # $1000/h; withheld hours pay 40 %; price doubles from 24:00 (18:00 + notice)
    paid = 1000.0 * (10.0 + 0.4 * 4.0 + 10.0) + 2000.0 * (hours - 24.0)
    np.testing.assert_allclose(raw.lease_paid_usd[0, 0], paid, rtol=1e-12)


def test_capacity_schedule_in_megawatts_and_linear_ramp():
    cfg = one_pool(nodes=200, horizon_days=1.0)
    # 1.2 MW at 1.5 kW per GPU = 800 GPUs = 100 nodes, from hour 6; then 150 nodes
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01T06:00", "mw": 1.2},
                                     {"at": "2026-01-01T12:00", "nodes": 150}]
    plan, raw = _run(cfg)
    np.testing.assert_array_equal(plan.online_normal[0, :6], 0)
    np.testing.assert_array_equal(plan.online_normal[0, 6:12], 100)
    np.testing.assert_array_equal(plan.online_normal[0, 12:], 150)
    np.testing.assert_allclose(raw.pool_online_gpu_h[:, 0], 8 * (100 * 6 + 150 * 12))
    cfg["pools"]["p"]["interpolation"] = "linear"
    plan = compile_plan(load(cfg))
    np.testing.assert_array_equal(plan.online_normal[0, 6:13],
                                  [100, 108, 116, 125, 133, 141, 150])


def test_lemon_nodes_fail_more_and_raise_the_pool_failure_count():
    base = one_pool(nodes=200, horizon_days=5.0, replicas=4)
    base["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": 20.0}
    _, plain = _run(base)
    base["pools"]["p"]["reliability"].update({"lemon_fraction": 0.1, "lemon_factor": 10.0})
    _, lemons = _run(base)
    # expected rate multiplier 0.9 + 0.1 * 10 = 1.9
    ratio = lemons.pool_failures.sum() / plain.pool_failures.sum()
    assert 1.5 < ratio < 2.4, ratio


def test_failure_causes_split_by_share_with_their_own_repair_times():
    cfg = one_pool(nodes=500, horizon_days=10.0, replicas=4, target_gpus=2000, min_gpus=8,
                   flops=1e30)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": 100.0,
        "causes": {"gpu": {"share": 0.7, "repair": {"distribution": "fixed",
                                                      "mean_hours": 48.0}},
                   "software": {"share": 0.3, "repair": {"distribution": "fixed",
                                                           "mean_hours": 0.01}}}}
    plan, raw = _run(cfg)
    assert plan.cause_names == ["gpu", "software"]
    by = raw.pool_failures_by_cause[:, 0, :].sum(axis=0)
    n = by.sum()
    assert n == raw.pool_failures.sum()
    # binomial split: within 4 standard deviations of 70 / 30
    assert abs(by[0] / n - 0.7) < 4 * np.sqrt(0.21 / n), by
    # the job (on 250 of the nodes) is interrupted by both causes, in about the same split
    hits = raw.job_interruptions_by_cause[0, :, 0].sum(axis=0)
    assert hits.sum() == raw.job_interruptions[0, :, 0].sum() and hits.min() > 0
    # gpu failures keep nodes down for 48 h: healthy GPU-hours drop by about that much
    down = raw.pool_online_gpu_h - raw.pool_healthy_gpu_h
    lost_node_h = down.sum() / 8
    assert 0.5 * by[0] * 48 < lost_node_h < 1.1 * by[0] * 48, (lost_node_h, by[0] * 48)
