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
         "restart_hours": 0.25, "restart_seconds_at_16k": 0.0}  # a fixed restart
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
        "report": {"daily_series": True, "sensitivity": {"enabled": False}},
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
               counterfactuals: bool = False, scenario: dict | None = None):
    """The default experiment with ``overrides``, its pools, jobs and leases replaced by
    small ones (the default scenario's sizes are far too big for a unit test); ``scenario``
    replaces the scenario's sections it names."""
    from omegaconf import OmegaConf

    from simgpu.config import compose, load

    base = [] if counterfactuals else list(NO_COUNTERFACTUALS)
    tree = OmegaConf.to_container(
        compose([*base, "sim.start=2026-01-01", *overrides]),
        resolve=True, enum_to_str=True)
    tree.pop("hydra", None)
    tree["gpus"]["round"] = {"peak_tflops": PEAK_TFLOPS}
    tree["pools"] = pools
    tree["jobs"] = jobs
    tree["leases"] = leases or {}
    tree["scenario"].update(scenario or {})
    return load(tree)


def des_job(party: str, pools: list[str], nodes: int, min_nodes: int, compute_hours: float,
             **kw: Any) -> dict[str, Any]:
    """A job of ``compute_hours`` failure-free compute on ``nodes`` nodes."""
    node_flop_h = GPN * PEAK_TFLOPS * 1e12 * 3600.0 * MFU
    j = {"party": party, "pools": pools, "target_gpus": GPN * nodes,
         "min_gpus": GPN * min_nodes, "mfu": MFU,
         "flops": compute_hours * nodes * node_flop_h,
         "checkpoint": {"interval_hours": 0.5, "write_hours": 0.02},
         "restart_hours": 0.25, "restart_seconds_at_16k": 0.0}  # a fixed restart
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


def at_capacity_job(step_hours: float):
    """One job on all 48 nodes that a 75 % delivered-burden lease gives its party in a
    64-node failure-prone pool (``single_job`` at full size): it is hit about twice an
    hour, and every failure elsewhere in the pool shrinks its entitlement, so capacity
    preemptions come between the hits (the engine's step artefact, docs/validation.md)."""
    return single_job(step_hours, nodes=48)


def levers(step_hours: float, replicas: int = 2):
    """Every counterfactual lever on one landlord-to-tenant lease, with failures: a
    landlord pool half leased (delivered burden) for a 2-day term renewed twice, the
    tenant's own small pool, a landlord job that wants more than the landlord keeps (so
    landlord-first takes leased nodes), a tenant chain a1 -> a2 that prefers the leased
    nodes; variants no_lease, withhold 50 % and 100 % from hour 12 for 1.5 days,
    landlord_first, non_renew and an in-batch share sweep (0.25); 4 days."""
    rel = des_reliability(300.0, 4.0)
    cf = {"no_lease": True, "withhold_levels": [0.5, 1.0],
          "withhold_start": "2026-01-01T12:00", "withhold_days": 1.5,
          "landlord_first": True, "non_renew": True}
    return des_config(
        ["sim.horizon_days=4", f"sim.step_hours={step_hours}", f"sim.replicas={replicas}"],
        {"c1": des_pool("xai", 64, rel), "c2": des_pool("anthropic", 16, dict(rel))},
        {"x1": des_job("xai", ["c1"], 48, 8, 70.0, restart_hours=0.1),
         "a1": des_job("anthropic", ["c1", "c2"], 32, 8, 16.0, restart_hours=0.1),
         "a2": des_job("anthropic", ["c1", "c2"], 32, 8, 16.0, after=["a1"],
                       restart_hours=0.1)},
        {"l1": {**LEASE, "end": "2026-01-03", "renewals": 2, "pool": "c1",
                "tenant": "anthropic", "share": 0.5}},
        counterfactuals=True,
        scenario={"counterfactuals": cf,
                  "sweeps": {"share": {"lever": "share", "values": [0.25]}}},
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


def non_renew_action_case() -> dict[str, Any]:
    """A lease of half a 10-node pool in 12 h terms renewed twice, and a non-renewal
    announced at 18:00, in the second term (no notice; 2 days, no failures): the lease
    should end when the term in progress ends, at 24:00."""
    cfg = landlord_tenant(share=0.5, nodes=10, start="2026-01-01", end="2026-01-01T12:00",
                          renewals=2)
    cfg["sim"]["horizon_days"] = 2.0
    cfg["scenario"] = {"actions": [{"kind": "non_renew", "lease": "l",
                                    "at": "2026-01-01T18:00"}]}
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


def kernel_mix(horizon_days: float = 30.0, step_hours: float = 1.0) -> dict[str, Any]:
    """A small landlord/tenant world that exercises every branch of the step loop: lemons,
    several failure causes, rack and facility outages, a lease by share (delivered) and
    one by GPU count (replaced), landlord priority, withholding and price actions, every
    counterfactual, dependencies, automatic checkpoints, earliest starts, two allowed pools
    per job, migration (t3 prefers the pool that ramps up; x1 never migrates), an MFU band
    and failure rates high enough for several hits per job and step. Used by the
    kernel-engine parity tests (simgpu.engine.kernel_parity)."""
    gpu = {"h": dict(ROUND_GPU)}
    rel = {"failures_per_1000_node_days": 40.0, "lemon_fraction": 0.1, "lemon_factor": 6.0,
           "repair": {"distribution": "lognormal", "mean_hours": 6.0, "cv": 1.0,
                      "max_hours": 48.0},
           "causes": {
               "gpu": {"share": 0.6, "repair": {"distribution": "lognormal", "mean_hours": 12.0,
                                                "cv": 1.0, "max_hours": 72.0}},
               "software": {"share": 0.3, "repair": {"distribution": "fixed",
                                                     "mean_hours": 0.05, "max_hours": 1.0}},
               "network": {"share": 0.1, "repair": {"distribution": "exponential",
                                                    "mean_hours": 3.0, "max_hours": 24.0}}},
           "domains": {
               "rack": {"kind": "rack", "nodes": 8, "outages_per_domain_year": 20.0,
                        "duration": {"distribution": "lognormal", "mean_hours": 4.0, "cv": 0.5,
                                     "max_hours": 24.0}},
               "site": {"kind": "facility", "nodes": 1, "outages_per_domain_year": 6.0,
                        "duration": {"distribution": "exponential", "mean_hours": 2.0,
                                     "max_hours": 12.0}}}}
    rel2 = {"failures_per_1000_node_days": 15.0,
            "repair": {"distribution": "exponential", "mean_hours": 8.0, "max_hours": 96.0}}

    def job(party, pools, gpus, mn, flops, **kw):
        j = {"party": party, "pools": pools, "target_gpus": gpus, "min_gpus": mn, "mfu": 0.4,
             "flops": flops, "checkpoint": {"interval_hours": "auto", "write_hours": 0.05},
             "restart_hours": 0.3}
        j.update(kw)
        return j

    return {
        "name": "kernel_mix",
        "gpus": gpu,
        "parties": {"lord": {"role": "landlord"}, "ten": {"role": "tenant"},
                    "third": {"role": "other"}},
        "pools": {
            "big": {"owner": "lord", "gpu": "h", "gpus_per_node": 8, "nodes": 120,
                    "reliability": rel},
            "ramp": {"owner": "lord", "gpu": "h", "gpus_per_node": 4, "nodes": 80,
                     "interpolation": "linear", "reliability": rel2,
                     "capacity": [{"at": "2026-01-03", "nodes": 10},
                                  {"at": "2026-01-20", "nodes": 80}]},
            "own": {"owner": "ten", "gpu": "h", "gpus_per_node": 8, "nodes": 40,
                    "reliability": rel2},
        },
        "leases": {
            "share": {"pool": "big", "tenant": "ten", "share": 0.6, "start": "2026-01-02",
                      "end": "2026-01-25", "renewals": 1, "annual_usd": 3.0e8,
                      "failure_burden": "delivered", "notice_days": 2,
                      "landlord_priority": True},
            "count": {"pool": "ramp", "tenant": "ten", "gpus": 160, "start": "2026-01-01",
                      "end": "2026-02-15", "usd_per_gpu_hour": 2.5,
                      "failure_burden": "replaced"},
            "third": {"pool": "big", "tenant": "third", "gpus": 80, "start": "2026-01-05",
                      "end": "2026-03-01", "usd_per_gpu_hour": 3.0},
        },
        "jobs": {
            "t1": job("ten", ["big", "own"], 560, 160, 4e22),
            "t2": job("ten", ["own", "ramp"], 320, 64, 3e22, after=["t1"],
                      checkpoint={"interval_hours": 0.5, "write_hours": 0.02}),
            "t3": job("ten", ["ramp", "big"], 200, 40, 2e22, earliest_start="2026-01-08",
                      priority=3, mfu_band=[0.8, 1.15]),
            "l1": job("lord", ["big", "ramp"], 400, 120, 5e22, priority=2),
            "l2": job("lord", ["ramp"], 120, 40, 1e22, after=["l1"]),
            "x1": job("third", ["big"], 80, 40, 8e21, restart_hours=0.0, migrate="never",
                      checkpoint={"interval_hours": 2.0, "write_hours": 0.0}),
        },
        "scenario": {
            "actions": [
                {"kind": "withhold", "lease": "share", "at": "2026-01-06",
                 "until": "2026-01-12", "fraction": 0.5},
                {"kind": "price_change", "lease": "count", "at": "2026-01-10",
                 "price_factor": 1.5},
                {"kind": "landlord_first", "lease": "count", "at": "2026-01-15"},
            ],
            "counterfactuals": {"no_lease": True, "withhold_levels": [0.5, 1.0],
                                "withhold_start": "2026-01-04", "withhold_days": 10,
                                "landlord_first": True, "non_renew": True},
            "sweeps": {
                "share": {"lever": "share", "values": [0.3, 0.9], "leases": ["share", "count"]},
                "late": {"lever": "start_days", "values": [3.5]},
                "wh": {"lever": "withhold", "values": [0.7], "start": "2026-01-09", "days": 4},
            },
        },
        "sim": {"seed": 11, "start": "2026-01-01", "horizon_days": horizon_days,
                "step_hours": step_hours, "replicas": 3, "progress": False},
        "report": {"daily_series": True, "sensitivity": {"enabled": False}},
    }


def reliability_mix(horizon_days: float = 30.0, step_hours: float = 1.0) -> dict[str, Any]:
    """:func:`kernel_mix` with the reliability features: a restart that grows steeply with
    the job's GPUs, detection times per failure cause, infant mortality of the tranches
    of a pool that ramps up, fabric hangs and planned interruptions (used by the
    kernel-engine parity tests)."""
    cfg = kernel_mix(horizon_days, step_hours)
    cfg["name"] = "reliability_mix"
    causes = cfg["pools"]["big"]["reliability"]["causes"]
    causes["software"]["detect_hours"] = 0.1
    causes["network"]["detect_hours"] = 0.75  # longer than a step: carried over
    for name, j in cfg["jobs"].items():
        j["restart_seconds_at_16k"] = 20000.0 if name != "x1" else 0.0
        j["restart_exponent"] = 0.7
    # infant mortality on the pool that ramps up: each tranche fails more while young
    ramp = dict(cfg["pools"]["ramp"]["reliability"])
    ramp.update(infant_factor=4.0, infant_days=3.0, burn_in_days=0.5, age_at_start_days=1.0)
    cfg["pools"]["ramp"]["reliability"] = ramp
    # fabric hangs of multi-node jobs and graceful planned interruptions, often
    big = cfg["pools"]["big"]["reliability"]
    big.update(fabric_per_1000_node_days=30.0, fabric_detect_hours=0.4,
               planned_per_1000_node_days=20.0)
    own = dict(cfg["pools"]["own"]["reliability"])
    own.update(planned_per_1000_node_days=50.0)
    cfg["pools"]["own"]["reliability"] = own
    return cfg


def random_config(seed: int) -> dict[str, Any]:
    """A random valid configuration (1-3 pools, 0-3 leases, 1-5 jobs, random reliability,
    actions and counterfactuals, step 0.5-6 h, 4-20 days), for the parity tests of the
    kernel engine. Valid by construction: leases of one pool never over-commit it."""
    import numpy as np

    g = np.random.default_rng(seed)
    g2 = np.random.default_rng([seed, 1])
    parties = {"lord": {"role": "landlord"}, "ten": {"role": "tenant"},
               "oth": {"role": "other"}}
    start = "2026-01-01"

    def day(d: float) -> str:
        import datetime as _dt

        t = _dt.datetime(2026, 1, 1) + _dt.timedelta(hours=round(float(d) * 24.0))
        return t.strftime("%Y-%m-%dT%H:%M")

    def duration() -> dict[str, Any]:
        kind = str(g.choice(["fixed", "exponential", "lognormal"]))
        mean = float(g.choice([0.2, 2.0, 9.0]))
        d = {"distribution": kind, "mean_hours": mean,
             "max_hours": mean * float(g.choice([1.0, 3.0, 12.0]))}
        if kind == "lognormal":
            d["cv"] = float(g.choice([0.3, 1.0, 2.0]))
        return d

    horizon = float(g.choice([4.0, 9.5, 20.0]))
    n_pools = int(g.integers(1, 4))
    pools: dict[str, Any] = {}
    for i in range(n_pools):
        owner = str(g.choice(["lord", "lord", "ten", "oth"]))
        rel: dict[str, Any] = {
            "failures_per_1000_node_days": float(g.choice([0.0, 5.0, 50.0, 400.0])),
            "lemon_fraction": float(g.choice([0.0, 0.05, 0.3])),
            "lemon_factor": float(g.choice([1.0, 4.0])),
            "repair": duration()}
        if g.random() < 0.5:
            shares = g.dirichlet(np.ones(3))
            rel["causes"] = {f"c{k}": {"share": float(shares[k]), "repair": duration()}
                             for k in range(3)}
        doms = {}
        if g.random() < 0.6:
            doms["rack"] = {"kind": str(g.choice(["rack", "switch", "power"])),
                            "nodes": int(g.integers(1, 12)),
                            "outages_per_domain_year": float(g.choice([2.0, 40.0])),
                            "duration": duration()}
        if g.random() < 0.4:
            doms["site"] = {"kind": "facility", "nodes": 1,
                            "outages_per_domain_year": float(g.choice([5.0, 50.0])),
                            "duration": duration()}
        rel["domains"] = doms
        pool: dict[str, Any] = {"owner": owner, "gpu": "h", "gpus_per_node": int(g.choice([4, 8])),
                                "nodes": int(g.integers(5, 150)), "reliability": rel}
        if g.random() < 0.5:
            a = float(g.uniform(0, horizon / 2))
            pool["capacity"] = [{"at": day(a), "nodes": int(g.integers(1, pool["nodes"]))},
                                {"at": day(a + g.uniform(0.5, horizon)), "nodes": pool["nodes"]}]
            pool["interpolation"] = str(g.choice(["step", "linear"]))
        pools[f"p{i}"] = pool
    leases: dict[str, Any] = {}
    for i, (pn, pool) in enumerate(pools.items()):
        if pool["owner"] != "lord" or g.random() < 0.2:
            continue
        a = float(g.uniform(-2, horizon / 2))
        le: dict[str, Any] = {"pool": pn, "tenant": str(g.choice(["ten", "ten", "oth"])),
                              "start": day(a), "end": day(a + g.uniform(1, horizon)),
                              "renewals": int(g.integers(0, 2)),
                              "failure_burden": str(g.choice(["delivered", "replaced"])),
                              "notice_days": float(g.choice([0.0, 1.0])),
                              "landlord_priority": bool(g.random() < 0.3)}
        if g.random() < 0.5:
            le["share"] = float(g.choice([0.25, 0.5, 1.0]))
            le["annual_usd"] = 1.0e8
        else:
            le["gpus"] = int(pool["gpus_per_node"] * g.integers(1, pool["nodes"] + 1))
            le["usd_per_gpu_hour"] = 2.0
        leases[f"l{i}"] = le
    jobs: dict[str, Any] = {}
    names = []
    for i in range(int(g.integers(1, 6))):
        allowed = [str(p) for p in g.permutation(list(pools))[: int(g.integers(1, n_pools + 1))]]
        gpn = pools[allowed[0]]["gpus_per_node"]
        tgt = int(gpn * g.integers(1, 120))
        access = sorted({pools[p]["owner"] for p in allowed}
                        | {le["tenant"] for le in leases.values() if le["pool"] in allowed})
        j: dict[str, Any] = {
            "party": str(g.choice(access)), "pools": allowed,
            "target_gpus": tgt,
            "min_gpus": int(min(max(1, tgt // int(g.choice([1, 2, 8]))),
                                max(pools[p]["nodes"] * pools[p]["gpus_per_node"]
                                    for p in allowed))),
            "mfu": float(g.uniform(0.2, 0.6)),
            "flops": float(tgt * 1e15 * 3600 * 0.4 * g.uniform(2, 24 * horizon)),
            "priority": int(g.integers(0, 3)), "restart_hours": float(g.choice([0.0, 0.2, 1.5])),
            "checkpoint": {"interval_hours": "auto" if g.random() < 0.5 else
                           float(g.choice([0.3, 1.0, 4.0])),
                           "write_hours": float(g.choice([0.0, 0.02, 0.3]))}}
        if names and g.random() < 0.4:
            j["after"] = [str(g.choice(names))]
        if g.random() < 0.3:
            j["earliest_start"] = day(g.uniform(0, horizon))
        # migration and the MFU band from their own generator (the draws above unchanged)
        if g2.random() < 0.3:
            j["migrate"] = "never"
        if g2.random() < 0.3:
            j["mfu_band"] = [float(g2.uniform(0.6, 1.0)), float(g2.uniform(1.0, 1.4))]
        names.append(f"j{i}")
        jobs[f"j{i}"] = j
    actions = []
    for ln in leases:
        r = g.random()
        if r < 0.3:
            actions.append({"kind": "withhold", "lease": ln, "at": day(g.uniform(0, horizon)),
                            "fraction": float(g.choice([0.3, 1.0]))})
        elif r < 0.45:
            actions.append({"kind": "landlord_first", "lease": ln,
                            "at": day(g.uniform(0, horizon))})
        elif r < 0.6:
            actions.append({"kind": "price_change", "lease": ln,
                            "at": day(g.uniform(0, horizon)), "price_factor": 2.0})
    return {
        "name": f"random_{seed}",
        "gpus": {"h": dict(ROUND_GPU)},
        "parties": parties, "pools": pools, "leases": leases, "jobs": jobs,
        "scenario": {"actions": actions, "counterfactuals": {
            "no_lease": True, "withhold_levels": [0.5], "landlord_first": bool(g.random() < 0.5),
            "non_renew": bool(g.random() < 0.5)}},
        "sim": {"seed": int(seed), "start": start, "horizon_days": horizon,
                "step_hours": float(g.choice([0.5, 1.0, 6.0])), "replicas": 2,
                "progress": False},
        "report": {"daily_series": True, "sensitivity": {"enabled": False}},
    }


def two_landlords(horizon_days: float = 30.0, replicas: int = 2) -> dict[str, Any]:
    """A tenant renting from two landlords (all of l1's pool p1, all of l2's pool p2) and
    owning a small pool q; a chain of three runs m1 -> m2 -> m3, of one, two and one day
    on 80 GPUs, preferring p1, p2 and p1. No failures: every history is the same, so every
    delay can be worked out by hand."""
    day = 80 * RATE_PER_GPU_HOUR * 24.0  # FLOPs of one day on 80 GPUs, before checkpoints
    pool = {"gpu": "round", "gpus_per_node": 8, "nodes": 10,
            "reliability": {"failures_per_1000_node_days": 0.0}}
    job = {"party": "tn", "mfu": 0.5, "target_gpus": 80, "min_gpus": 40,
           "checkpoint": {"interval_hours": 1.0, "write_hours": 0.0}, "restart_hours": 0.0,
           "restart_seconds_at_16k": 0.0}
    lease = {"tenant": "tn", "share": 1.0, "start": "2026-01-01", "end": "2027-01-01",
             "annual_usd": 8.766e6}
    cfg = one_pool(horizon_days=horizon_days, replicas=replicas)
    cfg["parties"] = {"l1": {"role": "landlord"}, "l2": {"role": "landlord"},
                      "tn": {"role": "tenant"}}
    cfg["pools"] = {"p1": {**pool, "owner": "l1"}, "p2": {**pool, "owner": "l2"},
                    "q": {**pool, "owner": "tn", "nodes": 5}}
    cfg["leases"] = {"lease1": {**lease, "pool": "p1"}, "lease2": {**lease, "pool": "p2"}}
    cfg["jobs"] = {"m1": {**job, "flops": day, "pools": ["p1", "p2", "q"]},
                   "m2": {**job, "flops": 2 * day, "pools": ["p2", "p1", "q"], "after": ["m1"]},
                   "m3": {**job, "flops": day, "pools": ["p1", "p2", "q"], "after": ["m2"]}}
    cfg["scenario"] = {"counterfactuals": {"withhold_levels": [0.5, 1.0], "non_renew": False}}
    return cfg
