"""Small hand-checkable configurations shared by the tests and ``python -m simgpu.validate``.

Plain dicts (or configs loaded from the default experiment with small pools swapped in),
sized so that their answers can be computed by hand or compared with the DES quickly.
"""

from __future__ import annotations

import copy
from typing import Any

#: The Llama 3 405B setting (arXiv:2407.21783 s3.3.4): unexpected interruptions per 1000
#: node-days (419 on 2,048 nodes in 54 days, derived), nodes, days, published count.
LLAMA3_RATE = 3.79
LLAMA3_NODES, LLAMA3_DAYS, LLAMA3_PUBLISHED = 2048, 54.0, 419
#: The spare-pool job's mean time between failures, checkpoint write and restart, hours.
MTBF_H, WRITE_H, RESTART_H = 2.0, 0.05, 0.1

ROUND_GPU = {"peak_tflops": 1000.0, "hbm_gib": 80.0, "hbm_tb_s": 3.0, "nvlink_gb_s": 900.0,
             "scaleout_gbit_s": 400.0, "tdp_w": 700.0, "facility_kw": 1.5}


def one_pool(nodes: int = 10, horizon_days: float = 2.0, step_hours: float = 1.0,
             replicas: int = 2, **job: Any) -> dict[str, Any]:
    """One party, one pool of ``nodes`` x 8 round GPUs, one job (overridable fields)."""
    j = {"party": "lab", "flops": 1e21, "mfu": 0.5, "target_gpus": 80, "min_gpus": 8,
         "pools": ["p"], "checkpoint": {"interval_hours": 1.0, "write_hours": 0.1},
         "restart_hours": 0.25}
    ckpt = job.pop("checkpoint", {})
    j.update(job)
    j["checkpoint"] = {**j["checkpoint"], **ckpt}
    return {
        "name": "case",
        "gpus": {"round": dict(ROUND_GPU)},
        "parties": {"lab": {"role": "other"}},
        "pools": {"p": {"owner": "lab", "gpu": "round", "gpus_per_node": 8, "nodes": nodes,
                        "reliability": {"failures_per_1000_node_days": 0.0}}},
        "jobs": {"a": j},
        "sim": {"seed": 1, "start": "2026-01-01", "horizon_days": horizon_days,
                "step_hours": step_hours, "replicas": replicas, "progress": False},
        "report": {"daily_series": True},
    }


def llama3_like(replicas: int = 16) -> dict[str, Any]:
    """2,048 nodes of 8 GPUs for 54 days, one job on all of them, 1 h checkpoints with no
    write or restart cost (the Llama 3 405B setting of tests/engine/test_closed_forms.py)."""
    cfg = one_pool(nodes=LLAMA3_NODES, horizon_days=LLAMA3_DAYS, replicas=replicas,
                   target_gpus=8 * LLAMA3_NODES, min_gpus=8, flops=1e30,
                   checkpoint={"interval_hours": 1.0, "write_hours": 0.0}, restart_hours=0.0)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": LLAMA3_RATE,
        "repair": {"distribution": "fixed", "mean_hours": 1e-6, "max_hours": 1.0}}
    return cfg


def spare_pool_job(tau: float | str, replicas: int = 8, horizon_days: float = 30.0
                   ) -> dict[str, Any]:
    """A 50-node job in a 100-node pool: spares absorb failures, its MTBF stays
    ``MTBF_H`` (tests/engine/test_checkpoint.py)."""
    per_node_h = 1.0 / (MTBF_H * 50)
    cfg = one_pool(nodes=100, horizon_days=horizon_days, replicas=replicas, target_gpus=400,
                   min_gpus=400, flops=1e30, restart_hours=RESTART_H,
                   checkpoint={"interval_hours": tau, "write_hours": WRITE_H})
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": per_node_h * 24 * 1000,
        "repair": {"distribution": "fixed", "mean_hours": 1e-6, "max_hours": 1.0}}
    return cfg


NO_COUNTERFACTUALS = [
    "scenario.counterfactuals.no_lease=false",
    "scenario.counterfactuals.withhold_levels=[]",
    "scenario.counterfactuals.landlord_first=false",
    "scenario.counterfactuals.non_renew=false",
]
PEAK_TFLOPS, MFU, GPN = 1000.0, 0.5, 8
LEASE = {"start": "2026-01-01", "end": "2027-01-01", "annual_usd": 1.0e6}


def des_config(overrides: list[str], pools: dict, jobs: dict, leases: dict | None = None,
               counterfactuals: bool = False):
    """The default experiment with ``overrides``, its pools, jobs and leases replaced by
    small ones (the default scenario's sizes are far too big for a unit test)."""
    from omegaconf import OmegaConf

    from simgpu.config.load import compose, load

    base = [] if counterfactuals else list(NO_COUNTERFACTUALS)
    tree = OmegaConf.to_container(
        compose([*base, "sim.start=2026-01-01", *overrides]),
        resolve=True, enum_to_str=True)
    tree.pop("hydra", None)
    tree["gpus"]["round"] = {"peak_tflops": PEAK_TFLOPS}
    tree["pools"] = pools
    tree["jobs"] = jobs
    tree["leases"] = leases or {}
    return load(tree)


def des_job(party: str, pools: list[str], nodes: int, min_nodes: int, compute_hours: float,
             **kw: Any) -> dict[str, Any]:
    """A job of ``compute_hours`` failure-free compute on ``nodes`` nodes."""
    node_flop_h = GPN * PEAK_TFLOPS * 1e12 * 3600.0 * MFU
    j = {"party": party, "pools": pools, "target_gpus": GPN * nodes,
         "min_gpus": GPN * min_nodes, "mfu": MFU,
         "flops": compute_hours * nodes * node_flop_h,
         "checkpoint": {"interval_hours": 0.5, "write_hours": 0.02},
         "restart_hours": 0.25}
    j.update(kw)
    return j


def des_reliability(per_1000_node_days: float, repair_mean_h: float, **kw: Any) -> dict:
    r = {"failures_per_1000_node_days": per_1000_node_days,
         "repair": {"distribution": "lognormal", "mean_hours": repair_mean_h, "cv": 1.0,
                    "max_hours": 48.0},
         "lemon_fraction": 0.0, "lemon_factor": 1.0, "domains": {}}
    r.update(kw)
    return r


def des_pool(owner: str, nodes: int, reliability: dict, **kw: Any) -> dict[str, Any]:
    p = {"owner": owner, "gpu": "round", "gpus_per_node": GPN, "nodes": nodes,
         "capacity": [], "reliability": reliability}
    p.update(kw)
    return p


def single_job(step_hours: float, counterfactuals: bool = False, nodes: int = 32,
               share: float = 0.75, **reliability: Any):
    """One job on ``nodes`` of 64 failure-prone nodes, leased (``share``, delivered) to
    its party, 5 days."""
    return des_config(
        ["sim.horizon_days=5", f"sim.step_hours={step_hours}"],
        {"c1": des_pool("xai", 64, des_reliability(1000.0, 3.0, **reliability))},
        {"a1": des_job("anthropic", ["c1"], nodes, nodes // 2, 40.0)},
        {"l1": {**LEASE, "pool": "c1", "tenant": "anthropic", "share": share}},
        counterfactuals=counterfactuals,
    )


def roadmap(step_hours: float):
    """Two pools, four jobs: a landlord job, a tenant chain (a2 after a1) that moves
    between pools, a late starter; a replaced-burden lease, a growing then shrinking
    schedule, a facility outage and rack outages."""
    site = {"kind": "facility", "nodes": 1, "outages_per_domain_year": 60.0,
            "duration": {"distribution": "fixed", "mean_hours": 2.0, "max_hours": 2.0}}
    rack = {"kind": "rack", "nodes": 4, "outages_per_domain_year": 40.0,
            "duration": {"distribution": "exponential", "mean_hours": 3.0, "max_hours": 24.0}}
    schedule = [{"at": "2026-01-01", "nodes": 16}, {"at": "2026-01-03", "nodes": 32},
                {"at": "2026-01-05", "nodes": 24}]
    return des_config(
        ["sim.horizon_days=6", f"sim.step_hours={step_hours}"],
        {"c1": des_pool("xai", 48, des_reliability(600.0, 4.0, domains={"site": site})),
         "c2": des_pool("anthropic", 32, des_reliability(600.0, 4.0, domains={"rack": rack}),
                         capacity=schedule)},
        {"x1": des_job("xai", ["c1"], 20, 8, 30.0),
         "a1": des_job("anthropic", ["c1", "c2"], 24, 12, 20.0, priority=5),
         "a2": des_job("anthropic", ["c2", "c1"], 32, 8, 25.0, after=["a1"], priority=5),
         "a3": des_job("anthropic", ["c2", "c1"], 16, 8, 20.0, earliest_start="2026-01-02")},
        {"l1": {**LEASE, "pool": "c1", "tenant": "anthropic", "share": 0.5,
                "failure_burden": "replaced"}},
    )


#: FLOPs per GPU-hour of a round GPU at the default MFU of these cases (0.5).
RATE_PER_GPU_HOUR = ROUND_GPU["peak_tflops"] * 1e12 * 0.5 * 3600.0


def landlord_tenant(share: float = 0.35, nodes: int = 10, burden: str = "delivered",
                    failures: float = 0.0, **lease: Any) -> dict[str, Any]:
    """A landlord pool partly leased to a tenant; each party has one job on it."""
    cfg = one_pool(nodes=nodes)
    cfg["parties"] = {"ll": {"role": "landlord"}, "tn": {"role": "tenant"}}
    cfg["pools"]["p"]["owner"] = "ll"
    cfg["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": failures,
                                        "repair": {"distribution": "fixed", "mean_hours": 5.0}}
    le = {"pool": "p", "tenant": "tn", "share": share, "start": "2026-01-01",
          "end": "2027-01-01", "annual_usd": 8.766e6, "failure_burden": burden}
    le.update(lease)
    cfg["leases"] = {"l": le}
    big = {"flops": 1e30, "target_gpus": 80, "min_gpus": 8, "pools": ["p"]}
    cfg["jobs"] = {"own": {**cfg["jobs"]["a"], **big, "party": "ll"},
                   "rent": {**cfg["jobs"]["a"], **big, "party": "tn"}}
    return cfg


def with_(cfg: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """Deep copy with top-level sections updated (dicts merged one level deep)."""
    out = copy.deepcopy(cfg)
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out
