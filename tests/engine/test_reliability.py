"""Reliability features that act on jobs, with answers computed by hand: a restart that
grows with the job's GPUs and the detection time of each failure cause."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import one_pool
from simgpu.config import load
from simgpu.engine import compile_plan, simulate
from simgpu.engine.numpy_engine import STREAM_COUNT, STREAM_FAIL_EVENT, event_draws
from simgpu.engine.progress import advance, compute_time
from simgpu.rng import uniform
from simgpu.rng.distributions import poisson_small_from_uniform

RATE_PER_GPU = 1000e12 * 0.5 * 3600.0  # round GPU at MFU 0.5, FLOPs per GPU-hour


def _run(cfg, replicas=None):
    plan = compile_plan(load(cfg))
    return plan, simulate(plan, 0, replicas or cfg["sim"]["replicas"])


# ------------------------------------------------------------------ restart and GPUs


@pytest.mark.parametrize("gpus", [16384, 32768, 1024])
def test_the_start_up_grows_with_the_jobs_gpus_exact_finish(gpus):
    """No failures: the job finishes at R(N) + its compute and writes, with R(N) = 0.25 h +
    17 s x (N / 16,384) ^ 1.38 (the published defaults of the set-up's growth)."""
    nodes = gpus // 8
    cfg = one_pool(nodes=nodes, target_gpus=gpus, min_gpus=gpus, replicas=1,
                   flops=gpus * RATE_PER_GPU * 10.5, restart_seconds_at_16k=17.0,
                   restart_exponent=1.38)
    _, raw = _run(cfg)
    start_up = 0.25 + 17.0 * math.pow(gpus / 16384.0, 1.38) / 3600.0
    if gpus == 16384:
        assert start_up == 0.25 + 17.0 / 3600.0
    expected = start_up + 10 * 1.1 + 0.5  # ten full cycles, then half an hour of compute
    np.testing.assert_allclose(raw.job_finish_h[0, 0, 0], expected, rtol=1e-13)
    np.testing.assert_allclose(raw.job_useful_gpu_h[0, 0, 0] / raw.job_alloc_gpu_h[0, 0, 0],
                               10.5 / expected, rtol=1e-12)


def test_the_plans_restart_hours_match_the_formula():
    cfg = one_pool(restart_seconds_at_16k=200.0, restart_exponent=1.38)
    plan = compile_plan(load(cfg))
    gpus = np.array([8.0, 1000.0, 16384.0, 98304.0, 200000.0])
    want = 0.25 + 200.0 * (gpus / 16384.0) ** 1.38 / 3600.0
    np.testing.assert_allclose(plan.restart_hours(np.zeros(5, np.int64), gpus), want,
                               rtol=1e-14)
    # at 98,304 GPUs the published 17 s at 16K grows to 200 s (exponent 1.38)
    np.testing.assert_allclose(17.0 * 6.0 ** 1.38, 200.0, rtol=0.01)


# ------------------------------------------------------------------ detection per cause


def test_a_hits_detection_time_delays_the_restart_after_it():
    """advance(): a hit at 0.3 h, restart 0.1 h plus 0.2 h to detect the hit: compute
    resumes at 0.6 h; a detection longer than the step carries the restart over."""
    one = np.ones(1)
    kw = dict(dt=1.0, alloc=np.ones(1, bool), rate=one, flops=one * 1e9, total=0 * one,
              uncommitted=0 * one, since=0 * one, restart_left=0 * one, restart=one * 0.1,
              tau=one * 10.0, cyc=one * 10.0, hits=np.array([[0.3]]))
    out = advance(**kw, extra=np.array([[0.2]]))
    assert out.lost[0] == pytest.approx(0.3)
    assert out.total[0] == pytest.approx(0.4) and out.uncommitted[0] == pytest.approx(0.4)
    assert out.restart_left[0] == 0.0 and out.interruptions[0] == 1
    base = advance(**kw)  # no detection: compute resumes at 0.4 h
    assert base.total[0] == pytest.approx(0.6)
    long = advance(**kw, extra=np.array([[1.0]]))  # restart to 0.3 + 1.1 = 1.4 h
    assert long.total[0] == 0.0 and long.restart_left[0] == pytest.approx(0.4)


def test_a_failure_causes_detection_time_adds_to_the_restart_exactly():
    """One node, one job, one failure (seed 4, as test_engine's injected failure): the job
    restarts 0.25 h + the cause's 0.5 h detection after the hit."""
    rate_nd, detect = 500.0, 0.5
    cfg = one_pool(nodes=1, target_gpus=8, min_gpus=8, horizon_days=3.0, replicas=1,
                   flops=8 * RATE_PER_GPU * 1000.0)
    fixed = {"distribution": "fixed", "mean_hours": 1e-9, "max_hours": 1.0}
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": rate_nd, "repair": fixed,
        "causes": {"hang": {"share": 1.0, "repair": fixed, "detect_hours": detect}}}
    cfg["sim"]["seed"] = 4
    plan, raw = _run(cfg)
    assert raw.job_interruptions[0, 0, 0] == 1
    lam = rate_nd / 1000.0 / 24.0
    t = 0
    while poisson_small_from_uniform(uniform(4, 0, STREAM_COUNT, t, 0), lam) == 0:
        t += 1
    _, _, phase, _ = event_draws(4, np.array([0]), STREAM_FAIL_EVENT, t, np.array([0]), 1)
    t_hit = t + float(phase[0])
    k = math.floor((t_hit - 0.25) / 1.1)
    after = compute_time(np.array(72.0 - t_hit - 0.25 - detect), 1.0, 1.1)
    np.testing.assert_allclose(raw.job_flops_pool[0, 0, 0, 0],
                               8 * RATE_PER_GPU * (k + float(after)), rtol=1e-9)
    # the held hours: start-up, compute and writes, the lost compute, restart + detection
    held = raw.job_alloc_gpu_h[0, 0, 0] / 8
    assert held == pytest.approx(72.0)


# ------------------------------------------------------------------ infant mortality


def test_infant_mortality_multiplies_each_steps_failure_mean_exactly():
    """One node that is back the step after it fails: each step's failure count is the
    Poisson inversion of that step's uniform at rate x m(age) x dt, with m(a) = 1 + 3
    exp(-a / 2 d) and the node 0.5 d old at the start (worked out here step by step)."""
    rate_nd, dt = 2000.0, 1.0
    cfg = one_pool(nodes=1, target_gpus=8, min_gpus=8, horizon_days=6.0, replicas=2,
                   flops=1e30)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": rate_nd,
        "repair": {"distribution": "fixed", "mean_hours": 1e-9, "max_hours": 1.0},
        "infant_factor": 4.0, "infant_days": 2.0, "age_at_start_days": 0.5}
    plan, raw = _run(cfg)
    lam0 = rate_nd / 1000.0 / 24.0 * dt
    for r in range(2):
        want = 0
        for t in range(plan.n_steps):
            age_d = 0.5 + t * dt / 24.0
            lam = lam0 * (1.0 + 3.0 * math.exp(-age_d / 2.0))
            want += min(int(poisson_small_from_uniform(uniform(1, r, STREAM_COUNT, t, 0), lam)),
                        1)
        assert raw.pool_failures[r, 0] == want
    # and the young node fails clearly more often than a mature one would
    mature = lam0 * plan.n_steps
    assert raw.pool_failures.mean() > 1.5 * mature


def test_the_automatic_interval_and_the_mtbf_use_the_young_nodes_rate():
    """A job placed on young nodes checkpoints for their rate, m(age) times the mature
    one: Plan.job_mtbf_hours at step t divides the mature MTBF by the step's multiplier."""
    cfg = one_pool(nodes=4, target_gpus=32, min_gpus=8, horizon_days=3.0, replicas=1,
                   flops=1e30)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": 20.0,
        "infant_factor": 4.0, "infant_days": 2.0, "age_at_start_days": 0.0}
    plan = compile_plan(load(cfg))
    mature = 1.0 / (4 * plan.pool_node_rate[0])
    for t in (0, 24, 71):
        m = plan.fail_mult[0, t]
        assert m == pytest.approx(1.0 + 3.0 * math.exp(-(t + 0.5) / 48.0), rel=0.02)
        assert plan.job_mtbf_hours(np.array([0]), np.array([4]), t)[0] == \
            pytest.approx(mature / m, rel=1e-12)


# ------------------------------------------------------------------ fabric and planned


def test_a_graceful_hit_keeps_the_work_and_restarts():
    """advance(): a planned interruption at 0.3 h checkpoints first (the 0.3 h of work is
    kept), then the job restarts for 0.1 h and computes from 0.4 h."""
    one = np.ones(1)
    out = advance(1.0, np.ones(1, bool), one, one * 1e9, 0 * one, 0 * one, 0 * one,
                  0 * one, one * 0.1, one * 10.0, one * 10.0, np.array([[0.3]]),
                  np.zeros((1, 1)), np.array([[True]]))
    assert out.lost[0] == 0.0 and out.interruptions[0] == 1
    assert out.total[0] == pytest.approx(0.9) and out.uncommitted[0] == pytest.approx(0.6)


def _own_interruptions(nodes: int, **rel) -> dict:
    cfg = one_pool(nodes=nodes, target_gpus=8 * nodes, min_gpus=8 * nodes, horizon_days=30.0,
                   replicas=4, flops=1e30, restart_hours=0.05,
                   checkpoint={"interval_hours": 1.0, "write_hours": 0.0})
    cfg["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": 0.0, **rel}
    return cfg


def test_planned_interruptions_lose_nothing_and_cost_one_restart_each():
    """No node fails; planned maintenance at 40 per 1000 node-days on 4 nodes (~4.8 per
    30 days): every one is graceful (no work lost), counted under "planned", and the held
    hours are the compute plus one restart per (re)start."""
    plan, raw = _run(_own_interruptions(4, planned_per_1000_node_days=40.0))
    assert plan.cause_names[plan.cause_planned] == "planned"
    n = raw.job_interruptions[0, :, 0]
    assert (n > 0).all()
    assert (raw.job_interruptions_by_cause[0, :, 0, plan.cause_planned] == n).all()
    assert (raw.job_lost_flops == 0).all()
    held = raw.job_alloc_gpu_h[0, :, 0] / 32
    useful = raw.job_useful_gpu_h[0, :, 0] / 32
    np.testing.assert_allclose(held, 720.0)
    np.testing.assert_allclose(held - useful, 0.05 * (1 + n), rtol=1e-9)


def test_fabric_hangs_hit_multi_node_jobs_only_lose_work_and_wait_for_detection():
    rel = {"fabric_per_1000_node_days": 40.0, "fabric_detect_hours": 0.2}
    plan, raw = _run(_own_interruptions(1, **rel))
    assert (raw.job_interruptions == 0).all()  # one node: no scale-out fabric
    plan, raw = _run(_own_interruptions(4, **rel))
    n = raw.job_interruptions[0, :, 0]
    assert (n > 0).all()
    assert (raw.job_interruptions_by_cause[0, :, 0, plan.cause_fabric] == n).all()
    assert (raw.job_lost_flops[0, :, 0] > 0).all()
    held = raw.job_alloc_gpu_h[0, :, 0] / 32
    kept_and_lost = (raw.job_useful_gpu_h[0, :, 0] + raw.job_lost_gpu_h[0, :, 0]) / 32
    np.testing.assert_allclose(held - kept_and_lost, 0.05 + (0.05 + 0.2) * n, rtol=1e-9)


@pytest.mark.slow
def test_the_jobs_own_interruptions_are_poisson_in_the_nodes_held():
    """Their mean count is rate x nodes x hours (fabric and planned together)."""
    cfg = _own_interruptions(4, fabric_per_1000_node_days=20.0, planned_per_1000_node_days=30.0)
    cfg["sim"]["replicas"] = 200
    plan, raw = _run(cfg)
    n = raw.job_interruptions[0, :, 0]
    want = (20.0 + 30.0) / 24000.0 * 4 * 720.0  # 6 per history
    assert abs(n.mean() - want) < 4 * math.sqrt(want / n.size)
    by = raw.job_interruptions_by_cause[0, :, 0]
    share = by[:, plan.cause_fabric].sum() / n.sum()
    assert abs(share - 0.4) < 4 * math.sqrt(0.4 * 0.6 / n.sum())
