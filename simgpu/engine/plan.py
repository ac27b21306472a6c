"""Compile a validated config into flat arrays on the step grid (a :class:`Plan`).

Both engines (NumPy and the CUDA kernels) consume the same plan, so every date, schedule,
contract and counterfactual is resolved here once, on the host, and the step loop only
indexes arrays. What the configuration means over time (dates, capacity schedules, the
leases under each variant, the jobs' MFU) is defined in :mod:`simgpu.timeline`; this
module lays it out as arrays, one concern per function: the step grid, the parties and
allocation order, the pools and their failure process, the failure domains, the leases,
the jobs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simgpu import timeline as tl
from simgpu.config import schema as S
from simgpu.rng.distributions import DIST_EXPONENTIAL, DIST_FIXED, DIST_LOGNORMAL
from simgpu.timeline import Variant

__all__ = ["Plan", "Variant", "compile_plan"]

#: Cause names of the interruptions of jobs that take no node down (docs/model.md).
FABRIC, PLANNED = "fabric", "planned"

_DIST_CODE = {
    S.Distribution.fixed: DIST_FIXED,
    S.Distribution.exponential: DIST_EXPONENTIAL,
    S.Distribution.lognormal: DIST_LOGNORMAL,
}


@dataclass
class Plan:
    """Everything the step loop needs, as arrays. Shapes use P pools, L leases, J jobs,
    A parties, D failure domains, V variants, T steps, K preference slots."""

    cfg: S.SimgpuConfig
    dt: float  # step, hours
    n_steps: int  # T
    seed: int
    party_names: list[str]
    party_role: list[str]
    pool_names: list[str]
    lease_names: list[str]
    job_names: list[str]
    variants: list[Variant]
    # pools (P,)
    pool_owner: np.ndarray  # int64 party index
    pool_gpn: np.ndarray  # int64 GPUs per node
    pool_peak_flop_h: np.ndarray  # float64 FLOP per GPU-hour at dense peak
    online_normal: np.ndarray  # (P, T) int64 non-lemon nodes online (not in maintenance)
    online_lemon: np.ndarray  # (P, T) int64 lemon nodes online (not in maintenance)
    fail_rate_normal: np.ndarray  # (P,) failures per node-hour of a mature node
    fail_rate_lemon: np.ndarray  # (P,) failures per node-hour of a mature node
    fail_mult: np.ndarray  # (P, T) failure-rate multiplier of the pool's node ages
    fabric_rate: np.ndarray  # (P,) fabric interruptions per node-hour held (multi-node)
    fabric_detect: np.ndarray  # (P,) hours a fabric hang takes to be found
    planned_rate: np.ndarray  # (P,) graceful planned interruptions per node-hour held
    cause_names: list[str]  # node-failure causes, then one per failure-domain name
    n_node_causes: int  # C: the first C causes are node-failure causes
    cause_cum: np.ndarray  # (P, C) cumulative share of each node cause in each pool
    repair_kind: np.ndarray  # (P, C) int64 distribution code of the repair time
    repair_p1: np.ndarray  # (P, C) mean (fixed/exponential) or mu (lognormal), hours
    repair_p2: np.ndarray  # (P, C) 0 or sigma (lognormal)
    repair_max: np.ndarray  # (P, C) cap, hours
    cause_detect: np.ndarray  # (P, C) hours a hit of each node cause takes to be found
    # failure domains (D,)
    dom_pool: np.ndarray
    dom_cause: np.ndarray  # cause index of each domain's outages
    dom_nodes: np.ndarray  # nodes per domain; facility = 0 (the whole pool)
    dom_rate: np.ndarray  # outages per domain-hour
    dom_kind: np.ndarray
    dom_p1: np.ndarray
    dom_p2: np.ndarray
    dom_max: np.ndarray
    dom_units: np.ndarray  # (D, T) domains online per step (facility: 1)
    ring: int  # repair ring length, steps
    # leases (L,)
    lease_pool: np.ndarray
    lease_tenant: np.ndarray
    lease_owner: np.ndarray
    lease_share: np.ndarray  # (V, L) fraction of the pool, or nan
    lease_gpus: np.ndarray  # (V, L) contracted GPUs, or 0 when by share
    lease_replaced: np.ndarray  # bool: landlord bears failures
    lease_cf: np.ndarray  # bool: counterfactual lease (landlord -> tenant)
    lease_frac: np.ndarray  # (V, L, T) float64 fraction delivered (0 inactive, 1 - withheld)
    lease_lf: np.ndarray  # (V, L, T) bool landlord-first active
    lease_usd_h: np.ndarray  # (V, L, T) float64 payment rate, $ per hour
    # jobs (J,) in allocation order
    job_party: np.ndarray
    job_flops: np.ndarray
    job_mfu: np.ndarray  # (J, P) MFU of each job in each pool it may use (0 elsewhere)
    job_pref: np.ndarray  # (J, K) pool indices, -1 padding
    job_tgt_nodes: np.ndarray  # (J, P) nodes wanted in each pool (0 if not allowed)
    job_min_nodes: np.ndarray  # (J, P) fewest nodes in each pool
    job_earliest_h: np.ndarray
    job_deadline_h: np.ndarray  # inf when none
    job_deps: np.ndarray  # (J, J) bool: job i waits for job j
    job_tau: np.ndarray  # checkpoint interval (compute hours); nan = auto (Daly)
    job_write: np.ndarray  # checkpoint write, hours
    job_restart_s16k: np.ndarray  # (J,) set-up seconds at 16,384 GPUs
    job_restart_exp: np.ndarray  # (J,) exponent of the set-up's growth with GPUs
    job_mfu_band: np.ndarray  # (J, 2) p10, p90 multipliers of the MFU (1, 1: none)
    job_migrate: np.ndarray  # (J,) bool: moves or grows at a checkpoint when worth it
    pool_node_rate: np.ndarray  # (P,) expected failures per node-hour (lemons included)
    job_restart: np.ndarray  # restart time, hours: the fixed part (restart_hours)
    party_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # cause indices (into cause_names) of fabric and planned interruptions; -1: none
    cause_fabric: int = -1
    cause_planned: int = -1

    def job_mtbf_hours(self, pool: np.ndarray, nodes: np.ndarray, t: int) -> np.ndarray:
        """Mean time between failures of jobs holding ``nodes`` nodes of ``pool`` at step ``t``.

        Node failures at the pool's expected per-node rate at step ``t`` (lemons and the
        multiplier of its nodes' ages included), plus correlated outages: a
        contiguous range of ``n`` nodes meets on average ``(n + k - 1) / k`` domains of
        ``k`` nodes (at most all of them); a facility outage hits every job. Hours;
        ``inf`` where nothing can fail.
        """
        pool = np.asarray(pool)
        n = np.asarray(nodes, float)
        lam = n * (self.pool_node_rate[pool] * self.fail_mult[pool, t])
        for d in range(len(self.dom_pool)):
            k = self.dom_nodes[d]
            here = pool == self.dom_pool[d]
            if k == 0:
                lam = lam + np.where(here, self.dom_rate[d], 0.0)
            else:
                lam = lam + np.where(here, self.dom_rate[d] *
                                     np.minimum(self.dom_units[d, t], (n + k - 1) / k), 0.0)
        with np.errstate(divide="ignore"):
            return np.where(lam > 0, 1.0 / np.where(lam > 0, lam, 1.0), np.inf)

    def restart_hours(self, job: np.ndarray, gpus: np.ndarray) -> np.ndarray:
        """The (re)start time of jobs ``job`` on ``gpus`` GPUs, hours (docs/model.md,
        "Restart"): the fixed part plus the communicator set-up that grows with the job,
        ``restart + s16k * exp(exp * log(gpus / 16384)) / 3600``, with the kernels'
        bit-reproducible ``exp`` and ``log`` (:mod:`simgpu.rng.detmath`), operation for
        operation as ``engine.cu``'s ``sg_restart_hours``; the fixed part alone where
        ``s16k`` is 0. ``gpus`` > 0."""
        from simgpu.rng import detmath

        job = np.asarray(job)
        s16k = self.job_restart_s16k[job]
        x = np.asarray(gpus, np.float64) / 16384.0
        with np.errstate(invalid="ignore", divide="ignore"):
            grow = s16k * detmath.exp(self.job_restart_exp[job] * detmath.log(x))
        return self.job_restart[job] + np.where(s16k > 0.0, grow, 0.0) / 3600.0

    def mfu_multipliers(self, replica: np.ndarray) -> np.ndarray:
        """(R, J) the MFU multiplier of each job in each replica ``replica`` (global ids):
        lognormal through the job's ``mfu_band`` (p10, p90), ``exp(mu + sigma z)`` with
        ``z`` the standard normal of ``(seed, replica, STREAM_MFU, 0, job)``, shared by
        every variant (common random numbers); exactly 1 for a job without a band
        (docs/model.md, "Progress")."""
        from simgpu.perf.model import Z90  # the band's p10, p90: mu -/+ Z90 sigma
        from simgpu.rng import detmath
        from simgpu.rng.distributions import normal

        replica = np.asarray(replica, np.int64)
        J = len(self.job_names)
        out = np.ones((replica.size, J))
        lo, hi = self.job_mfu_band[:, 0], self.job_mfu_band[:, 1]
        banded = np.flatnonzero((lo != 1.0) | (hi != 1.0))
        if banded.size:
            z = normal(self.seed, replica[:, None], STREAM_MFU, 0, banded[None, :])
            mu = (np.log(lo[banded]) + np.log(hi[banded])) / 2.0
            sigma = (np.log(hi[banded]) - np.log(lo[banded])) / (2.0 * Z90)
            out[:, banded] = detmath.exp(mu + (sigma * z))
        return out

    def hit_detect_hours(self) -> np.ndarray:
        """(P, NCT) hours a hit of each cause takes to be found, added to the restart that
        follows it: ``cause_detect`` for node causes, ``fabric_detect`` for fabric hangs,
        0 for domain outages and planned maintenance."""
        out = np.zeros((len(self.pool_names), len(self.cause_names)))
        out[:, :self.n_node_causes] = self.cause_detect
        if self.cause_fabric >= 0:
            out[:, self.cause_fabric] = self.fabric_detect
        return out

    @property
    def horizon_hours(self) -> float:
        return self.n_steps * self.dt

    def day_steps(self) -> tuple[np.ndarray, np.ndarray]:
        """Day of each step and its weight in that day's mean: ``dt`` over the hours of the
        day that are simulated (24, or fewer for a last, partial day). Shape (T,) each."""
        day = np.array([int((t * self.dt) // 24.0) for t in range(self.n_steps)], np.int64)
        hours = np.minimum(24.0, self.horizon_hours - 24.0 * day)
        return day, self.dt / hours

    @property
    def n_days(self) -> int:
        return int(math.ceil(self.horizon_hours / 24.0 - 1e-9))


def _mfu_band(cfg: S.SimgpuConfig, job: S.JobConfig) -> tuple[float, float]:
    """The job's ``mfu_band`` as (p10, p90) multipliers; (1, 1) for none."""
    if job.mfu_band is None:
        return 1.0, 1.0
    if job.mfu_band == "model":
        from simgpu.perf import band_multipliers

        fams = {GPU_FAMILY.get(cfg.pools[p].gpu) for p in job.pools}
        fam = fams.pop() if len(fams) == 1 else None
        return band_multipliers(fam)
    return float(job.mfu_band[0]), float(job.mfu_band[1])


#: The generator's stream of the MFU multipliers (index: job; step 0), shared with
#: simgpu.engine.physical's streams 1-4.
STREAM_MFU = 5

#: GPU types -> the throughput model's architecture family (its MFU band).
GPU_FAMILY = {"a100": "ampere", "h100": "hopper", "h200": "hopper"}


def _duration_params(d: S.DurationConfig) -> tuple[int, float, float, float]:
    code = _DIST_CODE[d.distribution]
    if code == DIST_LOGNORMAL:
        sigma2 = math.log1p(d.cv**2)
        return code, math.log(d.mean_hours) - sigma2 / 2.0, math.sqrt(sigma2), d.max_hours
    return code, d.mean_hours, 0.0, d.max_hours


def compile_plan(cfg: S.SimgpuConfig) -> Plan:
    """Resolve a validated configuration onto the step grid.

    Parameters
    ----------
    cfg : SimgpuConfig
        Output of :func:`simgpu.config.load`.

    Returns
    -------
    Plan
    """
    dt, n_steps, hours = tl.step_grid(cfg)
    parties = _parties(cfg)
    pools = _pools(cfg, hours)
    doms = _domains(cfg, pools["online_normal"] + pools["online_lemon"])
    ring = int(math.ceil(max([float(x) for x in pools["repair_max"].ravel()]
                             + [float(x) for x in doms["dom_max"]] + [dt]) / dt)) + 2
    variants = tl.variants(cfg)
    leases = _leases(cfg, variants, hours, pools, parties)
    jobs = _jobs(cfg, parties, pools)
    node_causes, dom_names = pools.pop("node_causes"), doms.pop("dom_names")
    doms["dom_cause"] = np.array([len(node_causes) + dom_names.index(n)
                                  for n in doms.pop("dom_cause_name")], np.int64)
    # interruptions of jobs without a node going down, after the node and domain causes
    names = node_causes + dom_names
    fab = _job_cause(FABRIC, names) if (pools["fabric_rate"] > 0).any() else -1
    pln = _job_cause(PLANNED, names) if (pools["planned_rate"] > 0).any() else -1
    return Plan(cfg=cfg, dt=dt, n_steps=n_steps, seed=int(cfg.sim.seed), variants=variants,
                ring=ring, cause_names=names, **parties, **pools, **doms, **leases, **jobs,
                cause_fabric=fab, cause_planned=pln)


def _job_cause(name: str, names: list[str]) -> int:
    """Append the cause ``name`` (``job:name`` where a node cause has that name) to
    ``names``; its index."""
    names.append(name if name not in names else f"job:{name}")
    return len(names) - 1


def _parties(cfg: S.SimgpuConfig) -> dict:
    """Parties and the allocation order of the jobs.

    Parties that lease pools out go first (they may take leased GPUs back under
    landlord-first priority), then by priority, then roadmap (dependency) order; the
    tenants of landlord-first leases come after the take-back, even when they lease pools
    out themselves (chains of landlord-first leases are refused by validation).
    """
    party_names = list(cfg.parties)
    pidx = {n: i for i, n in enumerate(party_names)}
    lessors = {cfg.pools[le.pool].owner for le in cfg.leases.values()}
    lf_tenants = {cfg.leases[n].tenant for n in tl.landlord_first_leases(cfg)}
    party_rank = np.array([0 if n in lessors and n not in lf_tenants else 1
                           for n in party_names], np.int64)
    topo = tl.roadmap_order(cfg.jobs)
    job_names = sorted(
        topo,
        key=lambda n: (party_rank[pidx[cfg.jobs[n].party]], -cfg.jobs[n].priority,
                       topo.index(n)),
    )
    return {"party_names": party_names,
            "party_role": [cfg.parties[n].role.value for n in party_names],
            "party_rank": party_rank, "job_names": job_names}


def _pools(cfg: S.SimgpuConfig, hours: np.ndarray) -> dict:
    """Pools: owner, GPUs, nodes online by class, node failure rates, failure causes and
    their repair-time distributions."""
    pool_names = list(cfg.pools)
    pidx = {n: i for i, n in enumerate(cfg.parties)}
    pools = [cfg.pools[n] for n in pool_names]
    P = len(pools)
    T = len(hours)
    online = (np.stack([tl.nodes_online(cfg, p, hours) for p in pools]) if P
              else np.zeros((0, T), np.int64))
    aged = [tl.node_age_effects(p, hours, online[i]) for i, p in enumerate(pools)]
    fail_mult = np.stack([a[0] for a in aged]) if P else np.zeros((0, T))
    online_normal = np.stack([a[1] for a in aged]) if P else np.zeros((0, T), np.int64)
    online_lemon = np.stack([a[2] for a in aged]) if P else np.zeros((0, T), np.int64)
    lemon_frac = np.array([p.reliability.lemon_fraction for p in pools])[:, None]
    per_node_h = np.array([p.reliability.failures_per_1000_node_days / 1000.0 / 24.0
                           for p in pools])
    lemon_factor = np.array([p.reliability.lemon_factor for p in pools])
    tables = [p.reliability.cause_table() for p in pools]
    node_causes = list(dict.fromkeys(c for tab in tables for c in tab))
    C = len(node_causes)
    cause_cum = np.zeros((P, C))
    rep = np.zeros((P, C, 4))
    for pi, tab in enumerate(tables):
        shares = np.array([tab[c][0] if c in tab else 0.0 for c in node_causes])
        cause_cum[pi] = np.cumsum(shares) / max(shares.sum(), 1e-300)
        for ci, c in enumerate(node_causes):
            rep[pi, ci] = _duration_params(tab[c][1] if c in tab else
                                           pools[pi].reliability.repair)
    return {
        "pool_names": pool_names,
        "pool_owner": np.array([pidx[p.owner] for p in pools], np.int64),
        "pool_gpn": np.array([p.gpus_per_node for p in pools], np.int64),
        "pool_peak_flop_h": np.array([cfg.gpus[p.gpu].peak_tflops * 1e12 * 3600.0
                                      for p in pools]),
        "online_normal": online_normal, "online_lemon": online_lemon,
        "fail_rate_normal": per_node_h, "fail_rate_lemon": per_node_h * lemon_factor,
        "fail_mult": fail_mult,
        "fabric_rate": np.array([p.reliability.fabric_per_1000_node_days / 24000.0
                                 for p in pools]),
        "fabric_detect": np.array([p.reliability.fabric_detect_hours for p in pools]),
        "planned_rate": np.array([p.reliability.planned_per_1000_node_days / 24000.0
                                  for p in pools]),
        "pool_node_rate": per_node_h * (1.0 + lemon_frac[:, 0] * (lemon_factor - 1.0)),
        "node_causes": node_causes, "n_node_causes": C, "cause_cum": cause_cum,
        "repair_kind": rep[..., 0].astype(np.int64), "repair_p1": rep[..., 1],
        "repair_p2": rep[..., 2], "repair_max": rep[..., 3],
        "cause_detect": np.array([[p.reliability.causes[c].detect_hours
                                   if c in p.reliability.causes else 0.0
                                   for c in node_causes] for p in pools]).reshape(P, C),
    }


def _domains(cfg: S.SimgpuConfig, online: np.ndarray) -> dict:
    """Failure domains with outages (a kind of correlated outage in a pool): rate, size,
    outage-duration distribution, domains online per step; their causes follow the node
    causes in ``cause_names``."""
    pools = [cfg.pools[n] for n in cfg.pools]
    doms = [(i, name, d) for i, p in enumerate(pools)
            for name, d in p.reliability.domains.items() if d.outages_per_domain_year > 0]
    dom_names = list(dict.fromkeys(f"outage:{name}" for _, name, _ in doms))
    dpar = np.array([_duration_params(d.duration) for _, _, d in doms]).reshape(len(doms), 4)
    dom_pool = np.array([i for i, _, _ in doms], np.int64)
    dom_nodes = np.array([0 if d.kind == S.DomainKind.facility else d.nodes
                          for _, _, d in doms], np.int64)
    return {
        "dom_names": dom_names, "dom_pool": dom_pool,
        "dom_cause_name": [f"outage:{n}" for _, n, _ in doms],
        "dom_nodes": dom_nodes,
        "dom_rate": np.array([d.outages_per_domain_year / (365.25 * 24.0) for _, _, d in doms]),
        "dom_kind": dpar[:, 0].astype(np.int64), "dom_p1": dpar[:, 1], "dom_p2": dpar[:, 2],
        "dom_max": dpar[:, 3],
        "dom_units": np.where(dom_nodes[:, None] > 0,
                              -(-online[dom_pool] // np.maximum(dom_nodes, 1)[:, None]), 1),
    }


def _leases(cfg: S.SimgpuConfig, variants: list[Variant], hours: np.ndarray, pools: dict,
            parties: dict) -> dict:
    """Leases: pool, landlord and tenant, failure burden, and their contracts under each
    variant on the step grid (:func:`simgpu.timeline.contracts`)."""
    lease_names = list(cfg.leases)
    leases = [cfg.leases[n] for n in lease_names]
    poolidx = {n: i for i, n in enumerate(pools["pool_names"])}
    pidx = {n: i for i, n in enumerate(parties["party_names"])}
    online = pools["online_normal"] + pools["online_lemon"]
    pool_gpus = {n: online[i] * pools["pool_gpn"][i] for n, i in poolidx.items()}
    c = tl.contracts(cfg, variants, hours, pool_gpus)
    cf = set(tl.counterfactual_leases(cfg))
    return {
        "lease_names": lease_names,
        "lease_pool": np.array([poolidx[le.pool] for le in leases], np.int64),
        "lease_owner": np.array([pools["pool_owner"][poolidx[le.pool]] for le in leases],
                                np.int64),
        "lease_tenant": np.array([pidx[le.tenant] for le in leases], np.int64),
        "lease_replaced": np.array([le.failure_burden == S.FailureBurden.replaced
                                    for le in leases], bool),
        "lease_cf": np.array([n in cf for n in lease_names], bool),
        "lease_share": c.share, "lease_gpus": c.gpus, "lease_frac": c.frac,
        "lease_lf": c.landlord_first, "lease_usd_h": c.usd_per_hour,
    }


def _jobs(cfg: S.SimgpuConfig, parties: dict, pools: dict) -> dict:
    """Jobs in allocation order: party, FLOPs, MFU per pool, allowed pools in order of
    preference with target and minimum nodes, dates, dependencies, checkpointing."""
    job_names = parties["job_names"]
    jobs = [cfg.jobs[n] for n in job_names]
    jidx = {n: i for i, n in enumerate(job_names)}
    poolidx = {n: i for i, n in enumerate(pools["pool_names"])}
    pidx = {n: i for i, n in enumerate(parties["party_names"])}
    J, P = len(jobs), len(poolidx)
    K = max([len(j.pools) for j in jobs] + [1])
    pref = np.full((J, K), -1, np.int64)
    tgt = np.zeros((J, P), np.int64)
    mn = np.zeros((J, P), np.int64)
    for ji, job in enumerate(jobs):
        for k, pn in enumerate(job.pools):
            pi = poolidx[pn]
            pref[ji, k] = pi
            g = int(pools["pool_gpn"][pi])
            mn[ji, pi] = max(1, -(-job.min_gpus // g))
            tgt[ji, pi] = max(mn[ji, pi], job.target_gpus // g)
    mfu_table, _ = tl.job_mfu_table(cfg)
    mfu = np.zeros((J, P))
    for (jn, pn), v in mfu_table.items():
        mfu[jidx[jn], poolidx[pn]] = v
    deps = np.zeros((J, J), bool)
    for ji, job in enumerate(jobs):
        for d in job.after:
            deps[ji, jidx[d]] = True
    start = cfg.sim.start

    def _h(date: str | None, default: float) -> float:
        return tl.hours_since(date, start) if date else default

    return {
        "job_party": np.array([pidx[j.party] for j in jobs], np.int64),
        "job_flops": np.array([j.total_flops for j in jobs]),
        "job_mfu": mfu, "job_pref": pref, "job_tgt_nodes": tgt, "job_min_nodes": mn,
        "job_earliest_h": np.array([max(0.0, _h(j.earliest_start, 0.0)) for j in jobs]),
        "job_deadline_h": np.array([_h(j.deadline, np.inf) for j in jobs]),
        "job_deps": deps,
        "job_tau": np.array([np.nan if j.checkpoint.auto else float(j.checkpoint.interval_hours)
                             for j in jobs]),
        "job_write": np.array([tl.checkpoint_write_hours(j) for j in jobs]),
        "job_restart_s16k": np.array([j.restart_seconds_at_16k for j in jobs]),
        "job_restart_exp": np.array([j.restart_exponent for j in jobs]),
        "job_mfu_band": np.array([_mfu_band(cfg, j) for j in jobs]).reshape(len(jobs), 2),
        "job_restart": np.array([j.restart_hours for j in jobs]),
        "job_migrate": np.array([j.migrate == S.Migrate.at_checkpoint for j in jobs], bool),
    }
