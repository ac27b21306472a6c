"""The stepped engine against closed forms: Poisson interruption counts."""

from __future__ import annotations

import numpy as np

from simgpu.cases import LLAMA3_RATE, llama3_like
from simgpu.config import load
from simgpu.engine import compile_plan, simulate


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
