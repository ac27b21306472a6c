"""Invariants on randomly generated valid configurations; determinism; common random numbers."""

from __future__ import annotations

import numpy as np
import pytest

from simgpu.cases import ROUND_GPU, one_pool
from simgpu.config import load
from simgpu.engine import compile_plan, simulate


def random_config(rng: np.random.Generator) -> dict:
    """A valid random world: 1-3 pools, a landlord and a tenant, leases, 1-5 jobs."""
    n_pools = int(rng.integers(1, 4))
    pools, leases = {}, {}
    for i in range(n_pools):
        owner = "ll" if i == 0 or rng.random() < 0.5 else "tn"
        gpn = int(rng.choice([4, 8]))
        pools[f"p{i}"] = {
            "owner": owner, "gpu": "round", "gpus_per_node": gpn,
            "nodes": int(rng.integers(2, 40)),
            "reliability": {
                "failures_per_1000_node_days": float(rng.choice([0.0, 50.0, 400.0])),
                "repair": {"distribution": str(rng.choice(["fixed", "exponential", "lognormal"])),
                           "mean_hours": float(rng.uniform(1, 30)), "cv": 1.0,
                           "max_hours": 100.0},
                "lemon_fraction": float(rng.choice([0.0, 0.1])), "lemon_factor": 5.0,
                "domains": ({"rack": {"kind": "rack", "nodes": 2,
                                      "outages_per_domain_year": 30.0,
                                      "duration": {"distribution": "fixed",
                                                   "mean_hours": 3.0}}}
                            if rng.random() < 0.5 else {}),
            },
        }
        if owner == "ll" and rng.random() < 0.8:
            share = float(rng.choice([0.25, 0.5, 1.0]))
            leases[f"l{i}"] = {
                "pool": f"p{i}", "tenant": "tn", "share": share,
                "start": f"2026-01-01T0{int(rng.integers(0, 9))}:00",
                "end": "2026-01-03", "annual_usd": 1e6,
                "failure_burden": str(rng.choice(["delivered", "replaced"])),
                "landlord_priority": bool(rng.random() < 0.3)}
    jobs = {}
    names = []
    for j in range(int(rng.integers(1, 6))):
        party = "tn" if rng.random() < 0.6 else "ll"
        access = [p for p, v in pools.items() if v["owner"] == party or
                  (party == "tn" and any(le["pool"] == p for le in leases.values()))]
        if not access:
            continue
        allowed = list(rng.permutation(access))[: int(rng.integers(1, len(access) + 1))]
        smallest = min(pools[p]["nodes"] * pools[p]["gpus_per_node"] for p in allowed)
        mn = int(rng.integers(1, max(2, smallest // 2)))
        name = f"j{j}"
        jobs[name] = {
            "party": party, "flops": float(rng.uniform(1e19, 5e21)), "mfu": 0.4,
            "target_gpus": int(mn * rng.integers(1, 4)), "min_gpus": mn,
            "pools": allowed, "priority": int(rng.integers(0, 3)),
            "after": [names[-1]] if names and rng.random() < 0.4 else [],
            "checkpoint": {"interval_hours": (float(rng.uniform(0.2, 3)) if rng.random() < 0.7
                                              else "auto"),
                           "write_hours": float(rng.uniform(0, 0.2))},
            "restart_hours": float(rng.uniform(0, 0.5))}
        names.append(name)
    if not jobs:
        jobs["j0"] = {"party": "ll", "flops": 1e20, "mfu": 0.4, "target_gpus": 8, "min_gpus": 4,
                      "pools": ["p0"]}
    return {
        "gpus": {"round": dict(ROUND_GPU)},
        "parties": {"ll": {"role": "landlord"}, "tn": {"role": "tenant"}},
        "pools": pools, "leases": leases, "jobs": jobs,
        "scenario": {"counterfactuals": {"withhold_levels": [0.5, 1.0]}},
        "sim": {"seed": int(rng.integers(0, 2**32)), "start": "2026-01-01",
                "horizon_days": 2.0, "step_hours": float(rng.choice([0.5, 1.0])),
                "replicas": 3, "progress": False},
    }


@pytest.mark.parametrize("case", range(12))
def test_invariants_hold_on_random_configs(case):
    cfg = load(random_config(np.random.default_rng(1000 + case)))
    plan = compile_plan(cfg)
    raw = simulate(plan, 0, cfg.sim.replicas)
    tol = 1e-9
    online, healthy = raw.pool_online_gpu_h, raw.pool_healthy_gpu_h  # (R, P)
    assert (healthy <= online * (1 + tol)).all()
    # GPU-hours conserved: every healthy GPU-hour of a pool is usable by exactly one party
    np.testing.assert_allclose(raw.party_cap_gpu_h.sum(axis=2),
                               np.broadcast_to(healthy, raw.party_cap_gpu_h.sum(axis=2).shape),
                               rtol=1e-12)
    # allocated <= usable, per party and pool
    alloc = np.zeros_like(raw.party_cap_gpu_h)
    for j, a in enumerate(plan.job_party):
        alloc[:, :, a, :] += raw.job_alloc_gpu_h_pool[:, :, j, :]
    assert (alloc <= raw.party_cap_gpu_h * (1 + tol) + tol).all()
    # delivered FLOPs <= capacity x peak x time, per pool, and <= each job's need
    peak = plan.pool_peak_flop_h  # FLOPs per GPU-hour at peak
    done_pool = raw.job_flops_pool.sum(axis=2)  # (V, R, P)
    assert (done_pool <= alloc.sum(axis=2) * peak * (1 + tol) + 1.0).all()
    assert (raw.job_flops_pool.sum(axis=3) <= plan.job_flops * (1 + tol)).all()
    assert (raw.job_flops_pool >= -1.0).all()
    # finished jobs did all their work; finish after start; useful <= held
    fin = np.isfinite(raw.job_finish_h)
    np.testing.assert_allclose(raw.job_flops_pool.sum(axis=3)[fin],
                               np.broadcast_to(plan.job_flops, fin.shape)[fin], rtol=1e-9)
    assert (raw.job_finish_h[fin] >= raw.job_start_h[fin]).all()
    assert (raw.job_useful_gpu_h <= raw.job_alloc_gpu_h * (1 + tol) + tol).all()
    assert (raw.job_lost_flops >= 0).all() and (raw.job_interruptions >= 0).all()
    # lease deliveries never exceed the tenant's usable capacity on that pool
    for li in range(len(plan.lease_names)):
        cap = raw.party_cap_gpu_h[:, :, plan.lease_tenant[li], plan.lease_pool[li]]
        assert (raw.lease_delivered_gpu_h[:, :, li] <= cap * (1 + tol) + tol).all()
    # the physical history is shared: failures identical in every variant by construction
    # and dependencies finish before their dependants start
    for j in range(len(plan.job_names)):
        for d in np.flatnonzero(plan.job_deps[j]):
            started = np.isfinite(raw.job_start_h[..., j])
            assert (raw.job_finish_h[..., d][started] <= raw.job_start_h[..., j][started]).all()


def test_same_seed_same_results_and_chunking_does_not_matter():
    cfg = load(random_config(np.random.default_rng(7)))
    plan = compile_plan(cfg)
    whole = simulate(plan, 0, 4)
    again = simulate(plan, 0, 4)
    parts = [simulate(plan, 0, 1), simulate(plan, 1, 3)]
    from simgpu.engine import RawResults

    joined = RawResults.concat(parts)
    for name in RawResults.__dataclass_fields__:
        a, b, c = getattr(whole, name), getattr(again, name), getattr(joined, name)
        if a is None:
            continue
        np.testing.assert_array_equal(a, b, err_msg=name)
        np.testing.assert_array_equal(a, c, err_msg=name)


def test_different_seed_different_history():
    base = one_pool(nodes=20, horizon_days=3.0)
    base["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": 300.0}
    runs = []
    for seed in (1, 2):
        base["sim"]["seed"] = seed
        plan = compile_plan(load(base))
        runs.append(simulate(plan, 0, 2).pool_failures)
    assert not np.array_equal(runs[0], runs[1])


def test_inactive_lever_gives_the_baseline_bit_for_bit():
    """Common random numbers: a withholding that starts after the horizon changes nothing."""
    cfg = random_config(np.random.default_rng(3))
    cfg["scenario"]["counterfactuals"]["withhold_start"] = "2030-01-01"
    plan = compile_plan(load(cfg))
    raw = simulate(plan, 0, 3)
    names = [v.name for v in plan.variants]
    if "withhold_50" not in names:
        pytest.skip("no counterfactual lease in this random world")
    w = names.index("withhold_50")
    np.testing.assert_array_equal(raw.job_finish_h[w], raw.job_finish_h[0])
    np.testing.assert_array_equal(raw.job_interruptions[w], raw.job_interruptions[0])
    np.testing.assert_array_equal(raw.job_lost_flops[w], raw.job_lost_flops[0])
