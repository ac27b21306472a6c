"""Checkpoint intervals: Young/Daly formulas, the ETTR closed form against the engine,
the simulated optimum against Daly's, and automatic intervals that follow the allocation."""

from __future__ import annotations

import numpy as np
import pytest

from simgpu.cases import MTBF_H, RATE_PER_GPU_HOUR, RESTART_H, WRITE_H, one_pool, spare_pool_job
from simgpu.config import load
from simgpu.engine import compile_plan, simulate
from simgpu.engine.checkpoint import daly_interval, expected_ettr, young_interval


def test_young_and_daly_by_hand():
    assert young_interval(0.05, 2.0) == pytest.approx(np.sqrt(0.2))
    x = 0.05 / 4.0
    assert daly_interval(0.05, 2.0) == pytest.approx(
        np.sqrt(0.2) * (1 + np.sqrt(x) / 3 + x / 9) - 0.05)
    assert daly_interval(5.0, 2.0) == pytest.approx(2.0)  # delta >= 2M: tau = M
    assert daly_interval(0.05, np.inf) == pytest.approx(1e6)  # no failures: never
    assert daly_interval(0.0, 2.0) == pytest.approx(1e-3)  # free writes: the floor


def test_expected_ettr_limits():
    assert expected_ettr(1.0, 0.1, 0.2, np.inf) == pytest.approx(1 / 1.1)
    # small failure rate, to first order: tau / (tau + delta) (1 - R / M - (tau + delta) / 2M)
    e = expected_ettr(1.0, 0.01, 0.1, 1000.0)
    assert e == pytest.approx(1 / 1.01 * (1 - 0.1 / 1000 - 1.01 / 2000), abs=1e-6)


def ettr_of(cfg) -> np.ndarray:
    plan = compile_plan(load(cfg))
    raw = simulate(plan, 0, cfg["sim"]["replicas"])
    return raw.job_useful_gpu_h[0, :, 0] / raw.job_alloc_gpu_h[0, :, 0]


def test_engine_ettr_matches_the_closed_form():
    tau = 0.5
    e = ettr_of(spare_pool_job(tau))
    expected = float(expected_ettr(tau, WRITE_H, RESTART_H, MTBF_H))
    se = e.std(ddof=1) / np.sqrt(e.size)
    assert abs(e.mean() - expected) < 3 * se + 2e-3, (e.mean(), expected, se)


def test_simulated_optimum_is_within_10_percent_of_daly():
    daly = float(daly_interval(WRITE_H, MTBF_H))
    grid = daly * np.array([0.5, 0.65, 0.8, 1.0, 1.25, 1.55, 2.0])
    # the same seed gives every interval the same failure history (common random numbers)
    ettr = np.array([ettr_of(spare_pool_job(float(t), replicas=6)).mean() for t in grid])
    c = np.polyfit(np.log(grid), ettr, 2)
    best = float(np.exp(-c[1] / (2 * c[0])))
    assert c[0] < 0, ettr  # a maximum
    assert abs(best / daly - 1) < 0.10, (best, daly, ettr)


def test_auto_interval_follows_the_allocation():
    """The same job in a quiet and a failure-prone pool checkpoints at Daly's interval
    for each, and a job that never fails does not checkpoint."""
    cfg = spare_pool_job("auto", horizon_days=2.0, replicas=2)
    plan = compile_plan(load(cfg))
    mtbf = plan.job_mtbf_hours(np.array([0]), np.array([50]), 0)
    np.testing.assert_allclose(mtbf, MTBF_H)
    quiet = one_pool(flops=80 * RATE_PER_GPU_HOUR * 10.0,
                     checkpoint={"interval_hours": "auto", "write_hours": 0.1})
    raw = simulate(compile_plan(load(quiet)), 0, 1)
    # no failures: no checkpoint write interrupts the 10 h of compute
    np.testing.assert_allclose(raw.job_finish_h[0, 0, 0], 0.25 + 10.0)
    # auto in a failure-prone pool beats a badly chosen fixed interval
    auto_e = ettr_of(spare_pool_job("auto", replicas=4))
    fixed_e = ettr_of(spare_pool_job(4 * float(daly_interval(WRITE_H, MTBF_H)), replicas=4))
    assert auto_e.mean() > fixed_e.mean()
