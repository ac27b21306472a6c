"""Planned maintenance's capacity and lemon removal in the discrete-event reference
(docs/model.md: ``maintenance_fraction``; ``lemon_removal_days``, the lemon fraction of
each capacity tranche decaying with its age), by hand and against the stepped engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import one_pool
from simgpu.config.load import load
from simgpu.engine.numpy_engine import simulate
from simgpu.engine.plan import compile_plan
from simgpu.reference.des import simulate_des


def test_maintenance_leaves_a_job_fewer_nodes():
    """8 nodes, a quarter in maintenance: the job (8 nodes wanted, 60 node-hours of
    work) runs on 6 and finishes at 0.25 + 60 / 6 = 10.25 h, holding 48 GPUs."""
    cfg = one_pool(nodes=8, target_gpus=64, min_gpus=8,
                   flops=60.0 * 8 * 1e15 * 3600.0 * 0.5,
                   checkpoint={"interval_hours": 1000.0, "write_hours": 0.0})
    cfg["pools"]["p"]["reliability"]["maintenance_fraction"] = 0.25
    rec = simulate_des(load(cfg), 1)
    assert rec["finish_h"][0, 0] == pytest.approx(10.25, abs=1e-9)
    assert rec["held_gpu_h"][0, 0] == pytest.approx(48.0 * 10.25, rel=1e-12)
    assert rec["party_cap_gpu_h"][0, 0, 0] == pytest.approx(48.0 * 48.0, rel=1e-12)


def _lemons(removal_days: float | None) -> dict:
    """64 new nodes, half of them lemons failing 10 times as often, 5 days."""
    cfg = one_pool(nodes=64, horizon_days=5.0, step_hours=0.25, flops=1e30)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": 300.0, "lemon_fraction": 0.5, "lemon_factor": 10.0,
        "lemon_removal_days": removal_days, "age_at_start_days": 0.0,
        "repair": {"distribution": "fixed", "mean_hours": 2.0, "max_hours": 2.0}}
    return cfg


def test_lemon_removal_node_failures_agree_with_the_engine():
    """Lemons removed with a 1-day time constant: the pool's node failures of the two
    simulators agree within 3 combined standard errors, far below those without removal
    (the check's power)."""
    n = 150
    cfg = load(_lemons(1.0))
    eng = simulate(compile_plan(cfg), 0, n, daily=False).pool_failures[:, 0].astype(float)
    des = simulate_des(cfg, n)["pool_failures"][:, 0].astype(float)
    se = math.sqrt(eng.var(ddof=1) / n + des.var(ddof=1) / n)
    assert abs(eng.mean() - des.mean()) <= 3.0 * se, (eng.mean(), des.mean(), se)
    # without removal: 32 lemons at 0.125 per hour for 120 h alone are ~480 failures
    kept = simulate_des(load(_lemons(None)), 20)["pool_failures"][:, 0]
    assert des.mean() < 0.5 * kept.mean(), (des.mean(), kept.mean())
    # the expectation by hand if nodes were never down: 32 sound nodes at 0.0125/h for
    # 120 h, lemons at 0.125/h decaying with tau = 24 h, and the sound nodes replacing
    # them; a lemon's 2 h repairs keep it down about a fifth of its time (mean time to
    # failure 8 h), so the simulated count is about a tenth lower (160 over 1,000
    # replicas of each simulator, against 182 here)
    rate = 0.3 / 24.0  # per node-hour; lemons 10 times that
    lam = 10.0 * rate
    tau, H = 24.0, 120.0
    lemon_h = 32.0 * tau * (1.0 - math.exp(-H / tau))
    expect = 32.0 * rate * H + lemon_h * lam + (32.0 * H - lemon_h) * rate
    assert 0.8 * expect < des.mean() < expect, (des.mean(), expect)
    assert np.isfinite(des).all()
