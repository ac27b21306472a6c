"""The physical process run ahead by blocks (simgpu.engine.physical) and the engine's
block structure: whatever the block length, whatever the speculative draws, the results
are the same bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from simgpu.cases import kernel_mix, one_pool, random_config
from simgpu.config import compose, load
from simgpu.engine import compile_plan, numpy_engine, physical
from simgpu.engine.numpy_engine import RawResults, simulate
from simgpu.engine.physical import STREAM_COUNT, PhysicalProcess, time_order
from simgpu.rng import poisson, uniform


def _same(a: RawResults, b: RawResults) -> list[str]:
    """The fields whose arrays differ in any bit."""
    out = []
    for name in RawResults.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if (x is None) != (y is None) or (x is not None and (
                x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes())):
            out.append(name)
    return out


def _ptrs_world() -> dict:
    """Daily steps on a large, failure-prone pool: means of 10 and more (PTRS) per step."""
    cfg = one_pool(nodes=4000, horizon_days=20.0, step_hours=24.0, replicas=2,
                   target_gpus=8 * 3000, min_gpus=8 * 1000, flops=1e30)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": 40.0, "lemon_fraction": 0.1, "lemon_factor": 4.0,
        "repair": {"distribution": "lognormal", "mean_hours": 30.0, "cv": 1.0,
                   "max_hours": 200.0},
        "domains": {"rack": {"kind": "rack", "nodes": 16, "outages_per_domain_year": 20.0,
                             "duration": {"distribution": "fixed", "mean_hours": 5.0}}}}
    return cfg


def _short(cfg: dict, days: float = 4.0) -> dict:
    cfg["sim"]["horizon_days"] = min(cfg["sim"]["horizon_days"], days)
    return cfg


WORLDS = {
    "kernel_mix": lambda: kernel_mix(horizon_days=8.0),
    "ptrs": _ptrs_world,
    # failures, outages and preemptions in a few days
    "random4": lambda: _short(random_config(4)),
    "random8": lambda: _short(random_config(8)),
    "random9": lambda: _short(random_config(9)),
    "random11": lambda: _short(random_config(11)),
}


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_results_do_not_depend_on_the_block_length(world, monkeypatch):
    plan = compile_plan(load(WORLDS[world]()))
    want = simulate(plan, 3, 2)
    for steps in (1, 5, 64):
        monkeypatch.setattr(numpy_engine, "block_steps", lambda *a, s=steps: s)
        assert _same(want, simulate(plan, 3, 2)) == [], steps


@pytest.mark.parametrize("world", ["kernel_mix", "ptrs"])
def test_failures_beyond_the_drawn_bound_are_drawn_in_their_step(world, monkeypatch):
    """The draws made before a block's step loop are only a speed-up: with none (every
    failure drawn in its step) or with far too many, the results are the same."""
    plan = compile_plan(load(WORLDS[world]()))
    want = simulate(plan, 0, 2)
    real = PhysicalProcess._bound
    monkeypatch.setattr(PhysicalProcess, "_bound", lambda self, *a: 0 * real(self, *a))
    assert _same(want, simulate(plan, 0, 2)) == []
    monkeypatch.setattr(PhysicalProcess, "_bound", lambda self, *a: real(self, *a) + 3)
    assert _same(want, simulate(plan, 0, 2)) == []


def test_failure_counts_are_the_poisson_draws_of_their_cells():
    """The kept inversion tables and the PTRS path give ``poisson(rate x healthy x dt)``
    element by element, for zero, small (counts below and above the narrow table) and
    large means."""
    plan = compile_plan(load(_ptrs_world()))
    R, P = 200, len(plan.pool_names)
    proc = PhysicalProcess(plan, np.arange(R) + 5)
    online = np.stack([plan.online_normal[:, 0], plan.online_lemon[:, 0]])  # (2, P)
    idx = (np.arange(2)[:, None] * P + np.arange(P))[None]
    rep = proc.rep[:, None, None]
    rng = np.random.default_rng(1)
    # up to full health (means above 10: PTRS); a few nodes (small means); none (zero);
    # a mean of 15 (inversion, counts of 16 and more: the full table row)
    cases = [rng.integers(0, online + 1, (R, 2, P)), rng.integers(0, 4, (R, 2, P)),
             np.zeros((R, 2, P), np.int64),
             np.broadcast_to(np.round(15.0 / (proc.rates * plan.dt)).astype(np.int64),
                             (R, 2, P))]
    for k, healthy in enumerate(cases):
        t = 3 * k
        u = uniform(plan.seed, rep, STREAM_COUNT, t, idx)
        got = proc._counts(u, healthy, t, rep)
        lam = proc.rates[None] * healthy * plan.dt
        np.testing.assert_array_equal(got, poisson(plan.seed, rep, STREAM_COUNT, t, idx, lam))
    assert got.max() >= 16


def test_time_order_is_the_lexsort_of_step_time_and_sequence():
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(0, 2000))
        step = np.sort(rng.integers(0, int(rng.integers(1, 257)), n))
        word = (rng.integers(0, 40, n) if trial % 3 == 0  # many equal times
                else rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.int64))
        phase = (word + 0.5) * 2.0**-32
        seq = np.zeros(n, np.int64)
        for s in np.unique(step):
            at = np.flatnonzero(step == s)
            seq[at] = rng.permutation(3 * at.size)[:at.size]
        presorted = trial % 2 == 0
        o = np.lexsort((seq, step)) if presorted else rng.permutation(n)
        step, phase, seq = step[o], phase[o], seq[o]
        for dt in (1.0, 6.0, 0.1, 1.0 / 3.0):
            np.testing.assert_array_equal(
                time_order(step, phase, seq, dt, presorted=presorted),
                np.lexsort((seq, phase * dt, step)))


def test_a_block_lists_each_steps_events_in_time_order():
    plan = compile_plan(load(compose(["sim.horizon_days=3", "sim.progress=false"])))
    proc = PhysicalProcess(plan, np.arange(3))
    blk = proc.run(0, plan.n_steps)
    assert blk.start[-1] == blk.replica.size > 0
    for i in range(blk.n):
        t = blk.time[blk.start[i]:blk.start[i + 1]]
        assert (np.diff(t) >= 0).all() and ((t >= 0) & (t < plan.dt)).all()
    # positions inside the pool's healthy nodes; node failures are blocks of one node
    assert ((blk.first >= 0) & (blk.first < blk.healthy)).all()
    assert (blk.size >= 1).all()
    # one event per failed node (node causes come first), as the records count them
    np.testing.assert_array_equal(proc.failures, (blk.kn + blk.kl).sum(axis=0))
    node = blk.cause < plan.n_node_causes
    assert proc.failures.sum() == node.sum() and (blk.size[node] == 1).all()


def test_the_re_exported_draws_are_the_physical_ones():
    assert numpy_engine.event_draws is physical.event_draws
    assert numpy_engine.STREAM_FAIL_EVENT == physical.STREAM_FAIL_EVENT
