"""Migration at a checkpoint (``jobs.<n>.migrate``, docs/model.md "Allocation") and the
MFU band's per-replica multiplier, on hand-computed failure-free cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import PEAK_TFLOPS, kernel_mix, one_pool
from simgpu.config import load
from simgpu.engine.numpy_engine import simulate
from simgpu.engine.plan import compile_plan

RESTART = 0.25  # hours, one_pool's fixed restart
RATE_NODE = 8 * PEAK_TFLOPS * 1e12 * 0.5 * 3600.0  # FLOP per node-hour at MFU 0.5


def _two_pools(flops: float, late_nodes: int = 10, late_at: str = "2026-01-02",
               late_peak: float = PEAK_TFLOPS, migrate: str | None = None, **job):
    """A job that prefers pool "late" (online from ``late_at``) and starts on "early"
    (4 nodes, from the start); failure-free, 1 h steps, checkpoints without cost."""
    cfg = one_pool(nodes=4, horizon_days=10.0, replicas=1, flops=flops, target_gpus=80,
                   min_gpus=8, pools=["late", "p"],
                   checkpoint={"interval_hours": 1.0, "write_hours": 0.0}, **job)
    if migrate:
        cfg["jobs"]["a"]["migrate"] = migrate
    late = dict(cfg["pools"]["p"], nodes=late_nodes,
                capacity=[{"at": late_at, "nodes": late_nodes}])
    if late_peak != PEAK_TFLOPS:
        cfg["gpus"]["fast"] = dict(cfg["gpus"]["round"], peak_tflops=late_peak)
        late["gpu"] = "fast"
    cfg["pools"]["late"] = late
    return cfg


def _finish(cfg) -> tuple[float, int, int]:
    plan = compile_plan(load(cfg))
    raw = simulate(plan, 0, 1, daily=False, check=True)
    return (float(raw.job_finish_h[0, 0, 0]), int(raw.job_migrations[0, 0, 0]),
            int(raw.job_preemptions[0, 0, 0]))


def test_a_job_moves_to_its_preferred_pool_when_it_comes_online_paying_one_restart():
    # 4 nodes early until hour 24, then 10 nodes on the preferred pool
    flops = 100.0 * RATE_NODE  # 100 node-hours
    done_early = (24.0 - RESTART) * 4 * RATE_NODE
    want = 24.0 + RESTART + (flops - done_early) / (10 * RATE_NODE)
    fin, mig, pre = _finish(_two_pools(flops))
    assert fin == pytest.approx(want, rel=1e-12)
    assert (mig, pre) == (1, 0)
    # never: it stays on the 4 early nodes
    fin, mig, pre = _finish(_two_pools(flops, migrate="never"))
    assert fin == pytest.approx(RESTART + flops / (4 * RATE_NODE), rel=1e-12)
    assert (mig, pre) == (0, 0)


def test_a_preferred_pool_that_is_slower_or_a_gain_below_the_restart_is_not_worth_moving():
    flops = 100.0 * RATE_NODE
    stay = RESTART + flops / (4 * RATE_NODE)
    # the preferred pool has 2 nodes: slower than the 4 it holds
    assert _finish(_two_pools(flops, late_nodes=2))[:2] == (pytest.approx(stay), 0)
    # 5 nodes instead of 4: 25 % faster, but with 2.5 h left the gain (0.5 h) is below
    # a 1 h restart; with a 0.25 h restart it is worth it
    flops = 4 * RATE_NODE * (24.0 - RESTART + 2.5)
    fin, mig, _ = _finish(_two_pools(flops, late_nodes=5, restart_hours=1.0))
    assert (fin, mig) == (pytest.approx(1.0 + flops / (4 * RATE_NODE)), 0)
    fin, mig, _ = _finish(_two_pools(flops, late_nodes=5))
    assert mig == 1
    assert fin == pytest.approx(24.0 + RESTART + 2.5 * 4 / 5, rel=1e-12)


def test_a_running_job_grows_to_its_target_when_its_pool_grows():
    cfg = one_pool(nodes=10, horizon_days=5.0, replicas=1, flops=100.0 * RATE_NODE,
                   target_gpus=80, min_gpus=8,
                   checkpoint={"interval_hours": 1.0, "write_hours": 0.0})
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01", "nodes": 4},
                                     {"at": "2026-01-02", "nodes": 10}]
    fin, mig, pre = _finish(cfg)
    done = (24.0 - RESTART) * 4 * RATE_NODE
    assert (mig, pre) == (1, 0)
    assert fin == pytest.approx(24.0 + RESTART + (100.0 * RATE_NODE - done) / (10 * RATE_NODE),
                                rel=1e-12)
    cfg["jobs"]["a"]["migrate"] = "never"
    assert _finish(cfg) == (pytest.approx(RESTART + 25.0), 0, 0)


def test_a_large_job_waits_for_its_next_hit_to_grow_instead_of_restarting_for_it():
    """The gain counts only until the job's next failure (its MTBF), after which it
    re-sizes without an extra restart: one node more of 100 is not worth a restart for a
    job hit every few hours, though it is over the job's whole remaining work."""
    cfg = one_pool(nodes=101, horizon_days=3.0, replicas=1, flops=1e30, target_gpus=808,
                   min_gpus=8, checkpoint={"interval_hours": 1.0, "write_hours": 0.0})
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01", "nodes": 100},
                                     {"at": "2026-01-02", "nodes": 101}]
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": 1000.0 * 24.0 / (100 * 5.0),  # MTBF 5 h at 100
        "repair": {"distribution": "fixed", "mean_hours": 500.0, "max_hours": 500.0}}
    plan = compile_plan(load(cfg))
    assert plan.job_mtbf_hours(np.array([0]), np.array([100]), 30)[0] == pytest.approx(5.0)
    # 1 % more for at most 5 h = 3 min < 15 min restart: no migration; the job grows at
    # its first hit after day 1 instead (a failed node is never repaired here)
    raw = simulate(plan, 0, 4, daily=False, check=True)
    assert (raw.job_migrations == 0).all()
    # without failures the whole remaining work counts: it grows at once
    cfg["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": 0.0}
    raw = simulate(compile_plan(load(cfg)), 0, 1, daily=False, check=True)
    assert raw.job_migrations[0, 0, 0] == 1


def test_migrations_happen_in_the_parity_mix_and_never_where_a_job_forbids_them():
    plan = compile_plan(load(kernel_mix(horizon_days=20.0)))
    raw = simulate(plan, 0, 2, daily=False)
    by_job = dict(zip(plan.job_names, raw.job_migrations.sum(axis=(0, 1)), strict=True))
    assert by_job["t3"] > 0 and by_job["x1"] == 0


# --------------------------------------------------------------------------- MFU band

def test_the_mfu_multiplier_is_lognormal_through_the_band_and_one_without_it():
    cfg = one_pool(replicas=1, mfu_band=[0.8, 1.25])
    plan = compile_plan(load(cfg))
    m = plan.mfu_multipliers(np.arange(4000))[:, 0]
    assert np.quantile(m, 0.1) == pytest.approx(0.8, rel=0.02)
    assert np.quantile(m, 0.9) == pytest.approx(1.25, rel=0.02)
    assert np.median(m) == pytest.approx(math.sqrt(0.8 * 1.25), rel=0.02)
    # keyed by the replica: the same whatever the batch
    assert plan.mfu_multipliers(np.arange(10, 20))[:, 0] == pytest.approx(m[10:20], abs=0)
    plain = compile_plan(load(one_pool(replicas=1)))
    assert (plain.mfu_multipliers(np.arange(50)) == 1.0).all()


def test_a_failure_free_job_finishes_at_its_work_over_its_drawn_rate():
    cfg = one_pool(nodes=10, horizon_days=10.0, replicas=6, flops=100.0 * RATE_NODE,
                   mfu_band=[0.7, 1.2], checkpoint={"interval_hours": 1.0,
                                                    "write_hours": 0.0})
    plan = compile_plan(load(cfg))
    raw = simulate(plan, 3, 6, daily=False, check=True)
    m = plan.mfu_multipliers(np.arange(3, 9))[:, 0]
    assert raw.job_finish_h[0, :, 0] == pytest.approx(RESTART + 10.0 / m, rel=1e-12)
