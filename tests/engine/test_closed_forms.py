"""The stepped engine against closed forms: Poisson interruption counts."""

from __future__ import annotations

import numpy as np
from engine_cases import one_pool

from simgpu.config import load
from simgpu.engine import compile_plan, simulate

LLAMA3_RATE = 3.79  # unexpected interruptions per 1000 node-days (arXiv:2407.21783, derived)


def llama3_like(replicas: int = 16) -> dict:
    """2,048 nodes of 8 GPUs for 54 days, one job on all of them (the Llama 3 405B setting)."""
    cfg = one_pool(nodes=2048, horizon_days=54.0, replicas=replicas, target_gpus=16384,
                   min_gpus=8, flops=1e30,
                   checkpoint={"interval_hours": 1.0, "write_hours": 0.0}, restart_hours=0.0)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": LLAMA3_RATE,
        "repair": {"distribution": "fixed", "mean_hours": 1e-6, "max_hours": 1.0}}
    return cfg


def test_interruptions_of_a_whole_cluster_job_are_poisson_at_the_configured_rate():
    cfg = llama3_like()
    plan = compile_plan(load(cfg))
    raw = simulate(plan, 0, cfg["sim"]["replicas"])
    hits = raw.job_interruptions[0, :, 0].astype(float)
    # the job holds every healthy node; repairs take one step, so about one node is down
    expected = LLAMA3_RATE / 1000.0 * 2048 * 54.0  # 419.1 (Llama 3 reports 419)
    se = np.sqrt(expected / hits.size)
    assert abs(hits.mean() - expected) < 3 * se, (hits.mean(), expected, se)
    # Poisson: variance equals the mean (within sampling error of the variance)
    assert 0.4 * expected < hits.var(ddof=1) < 1.8 * expected, hits.var(ddof=1)
    np.testing.assert_array_equal(raw.pool_failures[:, 0], hits)  # every failure hits it
