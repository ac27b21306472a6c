"""Compile a validated config into flat arrays on the step grid (a :class:`Plan`).

Both engines (NumPy and, later, CUDA) consume the same plan, so every date, schedule,
contract and counterfactual is resolved here once, on the host, and the step loop only
indexes arrays.

Counterfactual variants
-----------------------
Variant 0 is the baseline: the configured story (``scenario.actions``). The others add
one lever each to the story, on the *counterfactual leases*: the leases whose pool owner
has role ``landlord`` and whose lessee has role ``tenant``.

=================  ==========================================================
``no_lease``       those leases never exist
``withhold_<pct>`` that fraction of them is withheld from ``withhold_start``
                   (default: each lease's start) for ``withhold_days``
                   (default: to the end of the lease)
``landlord_first`` the landlord's own jobs take leased GPUs first, for the whole lease
``non_renew``      the leases end at the end of their initial term
=================  ==========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simgpu.config import schema as S
from simgpu.config.validate import (
    capacity_point_nodes,
    counterfactual_leases,
    hours_since,
    job_mfu_table,
    landlord_first_leases,
    sweep_leases,
    topological_order,
)

#: Distribution codes shared with the kernels.
DIST_FIXED, DIST_EXPONENTIAL, DIST_LOGNORMAL = 0, 1, 2
_DIST_CODE = {
    S.Distribution.fixed: DIST_FIXED,
    S.Distribution.exponential: DIST_EXPONENTIAL,
    S.Distribution.lognormal: DIST_LOGNORMAL,
}


@dataclass
class Variant:
    """One counterfactual: a name, its kind and its lever value."""

    name: str
    kind: str  # baseline, no_lease, withhold, landlord_first, non_renew, sweep
    level: float = 0.0  # withheld fraction (withhold); the lever's value (sweep)
    sweep: str = ""  # sweep: the name of its entry in scenario.sweeps
    lever: str = ""  # sweep: share, withhold, price or start_days


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
    online_normal: np.ndarray  # (P, T) int64 non-lemon nodes online
    online_lemon: np.ndarray  # (P, T) int64 lemon nodes online
    fail_rate_normal: np.ndarray  # (P,) failures per node-hour
    fail_rate_lemon: np.ndarray  # (P,) failures per node-hour
    cause_names: list[str]  # node-failure causes, then one per failure-domain name
    n_node_causes: int  # C: the first C causes are node-failure causes
    cause_cum: np.ndarray  # (P, C) cumulative share of each node cause in each pool
    repair_kind: np.ndarray  # (P, C) int64 distribution code of the repair time
    repair_p1: np.ndarray  # (P, C) mean (fixed/exponential) or mu (lognormal), hours
    repair_p2: np.ndarray  # (P, C) 0 or sigma (lognormal)
    repair_max: np.ndarray  # (P, C) cap, hours
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
    pool_node_rate: np.ndarray  # (P,) expected failures per node-hour (lemons included)
    job_restart: np.ndarray  # restart time, hours
    party_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def job_mtbf_hours(self, pool: np.ndarray, nodes: np.ndarray, t: int) -> np.ndarray:
        """Mean time between failures of jobs holding ``nodes`` nodes of ``pool`` at step ``t``.

        Node failures at the pool's expected per-node rate, plus correlated outages: a
        contiguous range of ``n`` nodes meets on average ``(n + k - 1) / k`` domains of
        ``k`` nodes (at most all of them); a facility outage hits every job. Hours;
        ``inf`` where nothing can fail.
        """
        pool = np.asarray(pool)
        n = np.asarray(nodes, float)
        lam = n * self.pool_node_rate[pool]
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


def _duration_params(d: S.DurationConfig) -> tuple[int, float, float, float]:
    code = _DIST_CODE[d.distribution]
    if code == DIST_LOGNORMAL:
        sigma2 = math.log1p(d.cv**2)
        return code, math.log(d.mean_hours) - sigma2 / 2.0, math.sqrt(sigma2), d.max_hours
    return code, d.mean_hours, 0.0, d.max_hours


def _schedule(cfg: S.SimgpuConfig, pool: S.PoolConfig, hours: np.ndarray) -> np.ndarray:
    if not pool.capacity:
        return np.full(hours.shape, pool.nodes, np.int64)
    at = np.array([hours_since(pt.at, cfg.sim.start) for pt in pool.capacity])
    n = np.array([min(capacity_point_nodes(cfg, pool, pt), pool.nodes) for pt in pool.capacity],
                 np.float64)
    if pool.interpolation == S.Interpolation.linear:
        out = np.interp(hours, at, n, left=0.0, right=n[-1])
        out[hours < at[0]] = 0.0
    else:
        idx = np.searchsorted(at, hours, side="right") - 1
        out = np.where(idx >= 0, n[np.clip(idx, 0, None)], 0.0)
    return np.floor(out + 1e-9).astype(np.int64)


def build_variants(cfg: S.SimgpuConfig, has_cf: bool) -> list[Variant]:
    """The baseline and, when there are counterfactual leases, the configured levers."""
    out = [Variant("baseline", "baseline")]
    if not has_cf:
        return out
    cf = cfg.scenario.counterfactuals
    if cf.no_lease:
        out.append(Variant("no_lease", "no_lease"))
    for w in cf.withhold_levels:
        if w > 0:
            out.append(Variant(f"withhold_{round(w * 100):d}", "withhold", float(w)))
    if cf.landlord_first:
        out.append(Variant("landlord_first", "landlord_first"))
    if cf.non_renew:
        out.append(Variant("non_renew", "non_renew"))
    return out


def sweep_variants(cfg: S.SimgpuConfig) -> list[Variant]:
    """One variant per value of every in-batch sweep (``scenario.sweeps``)."""
    out = []
    for name, sw in cfg.scenario.sweeps.items():
        for v in sw.values:
            out.append(Variant(f"{name}={float(v):g}", "sweep", float(v), sweep=name,
                               lever=sw.lever.value))
    return out


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
    sim = cfg.sim
    dt = float(sim.step_hours)
    n_steps = int(math.ceil(sim.horizon_days * 24.0 / dt - 1e-9))
    hours = np.arange(n_steps, dtype=np.float64) * dt

    party_names = list(cfg.parties)
    pidx = {n: i for i, n in enumerate(party_names)}
    pool_names = list(cfg.pools)
    poolidx = {n: i for i, n in enumerate(pool_names)}
    lease_names = list(cfg.leases)
    # allocation order: parties that lease pools out first (they may take leased GPUs back
    # under landlord-first priority), then by priority, then roadmap (dependency) order
    # (the tenants of landlord-first leases come after the take-back, even when they lease
    # pools out themselves; chains of landlord-first leases are refused by validation)
    lessors = {cfg.pools[le.pool].owner for le in cfg.leases.values()}
    lf_tenants = {cfg.leases[n].tenant for n in landlord_first_leases(cfg)}
    party_rank = np.array([0 if n in lessors and n not in lf_tenants else 1
                           for n in party_names], np.int64)
    topo = topological_order(cfg.jobs)
    job_names = sorted(
        topo,
        key=lambda n: (party_rank[pidx[cfg.jobs[n].party]], -cfg.jobs[n].priority,
                       topo.index(n)),
    )
    jidx = {n: i for i, n in enumerate(job_names)}

    P, L, J = len(pool_names), len(lease_names), len(job_names)
    pools = [cfg.pools[n] for n in pool_names]
    pool_owner = np.array([pidx[p.owner] for p in pools], np.int64)
    pool_gpn = np.array([p.gpus_per_node for p in pools], np.int64)
    pool_peak = np.array([cfg.gpus[p.gpu].peak_tflops * 1e12 * 3600.0 for p in pools])

    online = np.stack([_schedule(cfg, p, hours) for p in pools]) if P else np.zeros((0, n_steps))
    lemon_frac = np.array([p.reliability.lemon_fraction for p in pools])[:, None]
    online_lemon = np.floor(online * lemon_frac + 0.5).astype(np.int64)
    online_normal = online - online_lemon

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
    doms = [(i, name, d) for i, p in enumerate(pools)
            for name, d in p.reliability.domains.items() if d.outages_per_domain_year > 0]
    dom_names = list(dict.fromkeys(f"outage:{name}" for _, name, _ in doms))
    dpar = np.array([_duration_params(d.duration) for _, _, d in doms]).reshape(len(doms), 4)
    max_cap = max([float(x) for x in rep[..., 3].ravel()] + [float(x) for x in dpar[:, 3]]
                  + [dt])
    ring = int(math.ceil(max_cap / dt)) + 2

    # leases
    leases = [cfg.leases[n] for n in lease_names]
    lease_pool = np.array([poolidx[le.pool] for le in leases], np.int64)
    lease_owner = np.array([pool_owner[poolidx[le.pool]] for le in leases], np.int64)
    lease_tenant = np.array([pidx[le.tenant] for le in leases], np.int64)
    cf_names = set(counterfactual_leases(cfg))
    lease_cf = np.array([n in cf_names for n in lease_names], bool)
    variants = build_variants(cfg, bool(lease_cf.any())) + sweep_variants(cfg)
    V = len(variants)
    swept = {name: set(sweep_leases(cfg, sw)) for name, sw in cfg.scenario.sweeps.items()}
    share_v = np.tile(np.array([np.nan if le.share is None else le.share for le in leases]),
                      (V, 1)).reshape(V, L)
    gpus_v = np.tile(np.array([le.gpus or 0 for le in leases], np.int64), (V, 1)).reshape(V, L)
    frac = np.zeros((V, L, n_steps))
    lf = np.zeros((V, L, n_steps), bool)
    usd_h = np.zeros((V, L, n_steps))
    cf = cfg.scenario.counterfactuals
    for li, le in enumerate(leases):
        s = hours_since(le.start, sim.start)
        e = hours_since(le.end, sim.start)
        term = e - s
        notice = le.notice_days * 24.0
        pool_gpus_t = online[poolidx[le.pool]] * pool_gpn[poolidx[le.pool]]
        contract_t = (le.share * pool_gpus_t if le.share is not None
                      else np.minimum(le.gpus, pool_gpus_t)).astype(np.float64)
        base_usd_h = (np.full(n_steps, le.annual_usd / (365.25 * 24.0))
                      if le.annual_usd is not None else le.usd_per_gpu_hour * contract_t)
        acts = [a for a in cfg.scenario.actions if a.lease == lease_names[li]]
        for vi, var in enumerate(variants):
            lever = var.lever if var.kind == "sweep" and lease_names[li] in swept[var.sweep] \
                else ""
            renew = le.renewals
            if any(a.kind == S.ActionKind.non_renew for a in acts):
                renew = 0
            if var.kind == "non_renew" and lease_cf[li]:
                renew = 0
            shift = var.level * 24.0 if lever == "start_days" else 0.0
            active = (hours >= s + shift) & (hours < e + shift + term * renew)
            usd_v = base_usd_h
            if lever == "share":  # the same price per contracted GPU-hour
                share_v[vi, li] = var.level
                gpus_v[vi, li] = 0
                contract_v = var.level * pool_gpus_t
                with np.errstate(invalid="ignore", divide="ignore"):
                    usd_v = np.where(contract_t > 0, base_usd_h * (contract_v / np.where(
                        contract_t > 0, contract_t, 1.0)), 0.0)
            if var.kind == "no_lease" and lease_cf[li]:
                active[:] = False
            f = active.astype(np.float64)
            price = np.ones(n_steps)
            lfv = np.full(n_steps, bool(le.landlord_priority))
            for a in acts:
                a0 = hours_since(a.at, sim.start) + notice
                a1 = hours_since(a.until, sim.start) + notice if a.until else np.inf
                win = (hours >= a0) & (hours < a1)
                if a.kind == S.ActionKind.withhold:
                    f = np.where(win, f * (1.0 - a.fraction), f)
                elif a.kind == S.ActionKind.landlord_first:
                    lfv |= win
                elif a.kind == S.ActionKind.price_change:
                    price = np.where(win, price * a.price_factor, price)
            if var.kind == "withhold" and lease_cf[li]:
                w0 = hours_since(cf.withhold_start, sim.start) if cf.withhold_start else s
                w1 = w0 + cf.withhold_days * 24.0 if cf.withhold_days is not None else np.inf
                win = (hours >= w0) & (hours < w1)
                f = np.where(win, f * (1.0 - var.level), f)
            if var.kind == "landlord_first" and lease_cf[li]:
                lfv[:] = True
            if lever == "withhold":
                sw = cfg.scenario.sweeps[var.sweep]
                w0 = hours_since(sw.start, sim.start) if sw.start else s
                w1 = w0 + sw.days * 24.0 if sw.days is not None else np.inf
                win = (hours >= w0) & (hours < w1)
                f = np.where(win, f * (1.0 - var.level), f)
            if lever == "price":
                price = price * var.level
            frac[vi, li] = f
            lf[vi, li] = lfv & active
            usd_h[vi, li] = usd_v * price * f

    # jobs
    jobs = [cfg.jobs[n] for n in job_names]
    K = max([len(j.pools) for j in jobs] + [1])
    pref = np.full((J, K), -1, np.int64)
    tgt = np.zeros((J, P), np.int64)
    mn = np.zeros((J, P), np.int64)
    for ji, job in enumerate(jobs):
        for k, pn in enumerate(job.pools):
            pi = poolidx[pn]
            pref[ji, k] = pi
            g = pools[pi].gpus_per_node
            mn[ji, pi] = max(1, -(-job.min_gpus // g))
            tgt[ji, pi] = max(mn[ji, pi], job.target_gpus // g)
    dom_pool = np.array([i for i, _, _ in doms], np.int64)
    dom_nodes = np.array([0 if d.kind == S.DomainKind.facility else d.nodes
                          for _, _, d in doms], np.int64)
    dom_units = np.where(dom_nodes[:, None] > 0,
                         -(-online[dom_pool] // np.maximum(dom_nodes, 1)[:, None]), 1)
    mfu_table, _ = job_mfu_table(cfg)
    mfu = np.zeros((J, P))
    for (jn, pn), v in mfu_table.items():
        mfu[jidx[jn], poolidx[pn]] = v
    deps = np.zeros((J, J), bool)
    for ji, job in enumerate(jobs):
        for d in job.after:
            deps[ji, jidx[d]] = True

    def _h(date: str | None, default: float) -> float:
        return hours_since(date, sim.start) if date else default

    return Plan(
        cfg=cfg, dt=dt, n_steps=n_steps, seed=int(sim.seed),
        party_names=party_names,
        party_role=[cfg.parties[n].role.value for n in party_names],
        pool_names=pool_names, lease_names=lease_names, job_names=job_names,
        variants=variants,
        pool_owner=pool_owner, pool_gpn=pool_gpn, pool_peak_flop_h=pool_peak,
        online_normal=online_normal, online_lemon=online_lemon,
        fail_rate_normal=per_node_h, fail_rate_lemon=per_node_h * lemon_factor,
        cause_names=node_causes + dom_names, n_node_causes=C, cause_cum=cause_cum,
        repair_kind=rep[..., 0].astype(np.int64), repair_p1=rep[..., 1],
        repair_p2=rep[..., 2], repair_max=rep[..., 3],
        dom_pool=dom_pool,
        dom_cause=np.array([C + dom_names.index(f"outage:{n}") for _, n, _ in doms], np.int64),
        dom_nodes=dom_nodes,
        dom_rate=np.array([d.outages_per_domain_year / (365.25 * 24.0) for _, _, d in doms]),
        dom_kind=dpar[:, 0].astype(np.int64), dom_p1=dpar[:, 1], dom_p2=dpar[:, 2],
        dom_max=dpar[:, 3], ring=ring, dom_units=dom_units,
        lease_pool=lease_pool, lease_tenant=lease_tenant, lease_owner=lease_owner,
        lease_share=share_v, lease_gpus=gpus_v,
        lease_replaced=np.array([le.failure_burden == S.FailureBurden.replaced
                                 for le in leases], bool),
        lease_cf=lease_cf, lease_frac=frac, lease_lf=lf, lease_usd_h=usd_h,
        job_party=np.array([pidx[j.party] for j in jobs], np.int64),
        job_flops=np.array([j.total_flops for j in jobs]),
        job_mfu=mfu,
        job_pref=pref, job_tgt_nodes=tgt, job_min_nodes=mn,
        job_earliest_h=np.array([max(0.0, _h(j.earliest_start, 0.0)) for j in jobs]),
        job_deadline_h=np.array([_h(j.deadline, np.inf) for j in jobs]),
        job_deps=deps,
        job_tau=np.array([np.nan if j.checkpoint.auto else float(j.checkpoint.interval_hours)
                          for j in jobs]),
        job_write=np.array([j.checkpoint.write_hours for j in jobs]),
        pool_node_rate=per_node_h * (1.0 + lemon_frac[:, 0] * (lemon_factor - 1.0)),
        job_restart=np.array([j.restart_hours for j in jobs]),
        party_rank=party_rank,
    )

