"""The scenario's time line: what a validated configuration means over time.

Dates become hours since ``sim.start``; capacity schedules become nodes online per step;
the leases become, for every counterfactual variant, the fraction delivered, the
landlord-first right and the payment rate per step; each job gets its MFU in each pool.
The plan (:mod:`simgpu.engine.plan`), the analysis, the sweeps and the validation all read
these definitions here, so each exists once; validation only checks them.

Counterfactual variants
-----------------------
Variant 0 is the baseline: the configured story (``scenario.actions``). The others add
one lever each to the story, on the *counterfactual leases*: the leases whose pool owner
has role ``landlord`` and whose lessee has role ``tenant``; each lever acts on all of
them together and, when there are several such landlords, on each landlord's alone
(``<lever>@<landlord>``), in the same batch on common random numbers.

=================  ==========================================================
``no_lease``       those leases never exist
``withhold_<pct>`` that fraction of them is withheld from ``withhold_start``
                   (default: each lease's start) for ``withhold_days``
                   (default: to the end of the lease)
``landlord_first`` the landlord's own jobs take leased GPUs first, for the whole lease
``non_renew``      the leases end at the end of their initial term (a
                   ``non_renew`` action: at the end of the term under way when
                   it takes effect, its notice after its date)
``<sweep>=<v>``    one value of an in-batch lever sweep (``scenario.sweeps``): the
                   leases' share, a withheld fraction, a price factor, a start
                   shifted by days, the day withholding starts
                   (``withhold_start``), or the day the landlord gives notice to
                   end a lease with a termination right (``terminate``: it ends
                   ``termination_notice_days`` later)
=================  ==========================================================

Prices
------
``usd_per_gpu_hour`` is paid per contracted GPU-hour: the payments follow the contracted
GPUs, however the share or GPU count was set (in the file, by an override, by an in-batch
``share`` sweep). ``annual_usd`` is a fixed price per year for the lease, whatever its
size: a share set by an override or by a sweep leaves it unchanged. Either way, withheld
GPUs are not paid for (the payment rate falls with the fraction delivered), failed GPUs
are (the failure burden decides whether the landlord replaces them), and a price change
multiplies the rate while it lasts. An action's ``until`` is the date it stops; its
notice period delays its start only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simgpu.config import schema as S

# ----------------------------------------------------------------------- dates


def hours_since(date: str, start: str) -> float:
    """Hours from ISO date ``start`` to ISO date ``date`` (negative when before)."""
    a, b = S.parse_date(date), S.parse_date(start)
    return (a - b).total_seconds() / 3600.0


def step_grid(cfg: S.SimgpuConfig) -> tuple[float, int, np.ndarray]:
    """``(dt, n_steps, hours)``: the step (hours), the number of steps covering the
    horizon, and the start hour of each step, shape (T,)."""
    dt = float(cfg.sim.step_hours)
    n_steps = int(math.ceil(cfg.sim.horizon_days * 24.0 / dt - 1e-9))
    return dt, n_steps, np.arange(n_steps, dtype=np.float64) * dt


# -------------------------------------------------------------------- capacity


def capacity_point_nodes(cfg: S.SimgpuConfig, pool: S.PoolConfig, pt: S.CapacityPoint) -> int:
    """Nodes online at one schedule point; MW convert through the GPU's all-in kW per GPU."""
    if pt.nodes is not None:
        return int(pt.nodes)
    kw = cfg.gpus[pool.gpu].facility_kw
    n = pt.mw * 1000.0 / kw / pool.gpus_per_node + 1e-9
    return int(math.floor(n)) if n < S.INT_MAX else S.INT_MAX  # huge mw: no overflow


def pool_max_nodes(cfg: S.SimgpuConfig, name: str) -> int:
    """Most nodes a pool ever has online, by its schedule (capped by installed nodes)."""
    pool = cfg.pools[name]
    if not pool.capacity:
        return pool.nodes
    return max(min(capacity_point_nodes(cfg, pool, pt), pool.nodes) for pt in pool.capacity)


def nodes_online(cfg: S.SimgpuConfig, pool: S.PoolConfig, hours: np.ndarray) -> np.ndarray:
    """Nodes of ``pool`` online at each of ``hours`` (int64), by its schedule: step or
    linear between points, nothing before the first point, capped by installed nodes."""
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


def node_age_effects(pool: S.PoolConfig, hours: np.ndarray, online: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How a pool's nodes age: failure-rate multiplier, lemon and sound nodes per step.

    Nodes online at ``sim.start`` are ``age_at_start_days`` old; every later increase of
    the schedule is a tranche of new nodes, ``burn_in_days`` old when it arrives; a
    decrease retires nodes of every tranche in proportion. A node of age ``a`` days fails
    ``1 + (infant_factor - 1) exp(-a / infant_days)`` times as often as a mature one, and a
    tranche's lemon fraction decays as ``exp(-a / lemon_removal_days)`` (lemons found and
    replaced) when that is set. Then ``maintenance_fraction`` of the online nodes of each
    class is out for planned maintenance.

    Parameters
    ----------
    pool : PoolConfig
    hours : ndarray, shape (T,)
        Start hour of each step.
    online : ndarray of int64, shape (T,)
        Nodes online by the schedule.

    Returns
    -------
    fail_mult : ndarray, shape (T,)
        The pool's node failure-rate multiplier (1 without infant mortality).
    normal, lemon : ndarray of int64, shape (T,)
        Sound and lemon nodes online and not in maintenance.
    """
    rel = pool.reliability
    T = len(hours)
    aging = rel.infant_factor > 1.0 or rel.lemon_removal_days is not None
    if aging and T:
        inc = np.diff(online, prepend=0).astype(np.float64)
        inc[0] = online[0]
        arrive = hours - rel.burn_in_days * 24.0
        arrive[0] = -rel.age_at_start_days * 24.0
        ks = np.flatnonzero(inc > 0)
        weight = np.zeros(T)
        mult = np.zeros(T)
        lemons = np.zeros(T)
        for k in ks:  # each tranche from its arrival on
            age = (hours[k:] - arrive[k]) / 24.0
            weight[k:] += inc[k]
            mult[k:] += inc[k] * (1.0 + (rel.infant_factor - 1.0) *
                                  np.exp(-age / rel.infant_days))
            keep = (np.exp(-age / rel.lemon_removal_days)
                    if rel.lemon_removal_days is not None else 1.0)
            lemons[k:] += inc[k] * rel.lemon_fraction * keep
        with np.errstate(invalid="ignore", divide="ignore"):
            fail_mult = np.where(weight > 0, mult / np.where(weight > 0, weight, 1.0), 1.0)
            scale = np.where(weight > 0, online / np.where(weight > 0, weight, 1.0), 0.0)
        lemon = np.minimum(np.floor(lemons * scale + 0.5).astype(np.int64), online)
    else:
        fail_mult = np.ones(T)
        lemon = np.floor(online * rel.lemon_fraction + 0.5).astype(np.int64)
    normal = online - lemon
    if rel.maintenance_fraction > 0:
        keep = 1.0 - rel.maintenance_fraction
        normal = np.floor(normal * keep + 1e-9).astype(np.int64)
        lemon = np.floor(lemon * keep + 1e-9).astype(np.int64)
    return fail_mult, normal, lemon


def restart_hours(job: S.JobConfig, gpus: np.ndarray | float) -> np.ndarray | float:
    """The job's (re)start time on ``gpus`` GPUs, hours: its fixed part plus the
    communicator set-up that grows with the job (docs/model.md, "Restart and detection")."""
    return job.restart_hours + job.restart_seconds_at_16k * (
        np.asarray(gpus, np.float64) / 16384.0) ** job.restart_exponent / 3600.0


# ---------------------------------------------------------------------- leases


def counterfactual_leases(cfg: S.SimgpuConfig) -> list[str]:
    """The leases from a party with role ``landlord`` to one with role ``tenant`` (those the
    counterfactual levers act on), in config order; leases with dangling references are
    left out."""
    return [n for n, le in cfg.leases.items()
            if le.pool in cfg.pools and cfg.pools[le.pool].owner in cfg.parties
            and le.tenant in cfg.parties
            and cfg.parties[cfg.pools[le.pool].owner].role == S.Role.landlord
            and cfg.parties[le.tenant].role == S.Role.tenant]


def landlord_first_leases(cfg: S.SimgpuConfig) -> set[str]:
    """Leases under which the landlord's jobs may take leased GPUs first, in some variant:
    ``landlord_priority``, a ``landlord_first`` action, or the ``landlord_first``
    counterfactual on a landlord-to-tenant lease."""
    out = {n for n, le in cfg.leases.items() if le.landlord_priority}
    out |= {a.lease for a in cfg.scenario.actions if a.kind == S.ActionKind.landlord_first}
    if cfg.scenario.counterfactuals.landlord_first:
        out |= set(counterfactual_leases(cfg))
    return out & set(cfg.leases)


def sweep_leases(cfg: S.SimgpuConfig, sweep: S.SweepConfig) -> list[str]:
    """The leases an in-batch sweep acts on: its own list, else every lease from a party
    with role landlord to one with role tenant."""
    if sweep.leases:
        return [n for n in sweep.leases if n in cfg.leases]
    return counterfactual_leases(cfg)


def lease_span_hours(cfg: S.SimgpuConfig, lease: S.LeaseConfig) -> tuple[float, float, float]:
    """``(start, end of the initial term, end with every renewal)``, hours."""
    s = hours_since(lease.start, cfg.sim.start)
    e = hours_since(lease.end, cfg.sim.start)
    return s, e, s + (e - s) * (1 + lease.renewals)


# -------------------------------------------------------------------- variants


def landlords_of(cfg: S.SimgpuConfig) -> list[str]:
    """The landlords of the counterfactual leases, in config order of their leases."""
    return list(dict.fromkeys(cfg.pools[cfg.leases[n].pool].owner
                              for n in counterfactual_leases(cfg)))


def per_landlord_scopes(cfg: S.SimgpuConfig) -> list[str]:
    """The landlords that get counterfactuals of their own: ``counterfactuals.landlords``
    (every landlord when empty), when there are at least two landlords (with one, its
    levers are the all-landlord ones) and ``counterfactuals.per_landlord`` is on."""
    cf = cfg.scenario.counterfactuals
    every = landlords_of(cfg)
    if not cf.per_landlord or len(every) < 2:
        return []
    return [n for n in every if not cf.landlords or n in cf.landlords]


@dataclass
class Variant:
    """One counterfactual: a name, its kind, its lever value and the landlord it acts on."""

    name: str
    kind: str  # baseline, no_lease, withhold, landlord_first, non_renew, sweep
    level: float = 0.0  # withheld fraction (withhold); the lever's value (sweep)
    sweep: str = ""  # sweep: the name of its entry in scenario.sweeps
    lever: str = ""  # sweep: share, withhold, price or start_days
    landlord: str = ""  # the landlord whose leases the lever acts on; "" = every landlord


def variants(cfg: S.SimgpuConfig) -> list[Variant]:
    """The baseline, the configured counterfactuals on every landlord together and then
    on each landlord alone (when there are counterfactual leases), and one variant per
    value of every in-batch sweep, in that order."""
    out = [Variant("baseline", "baseline")]
    cf = cfg.scenario.counterfactuals
    if counterfactual_leases(cfg):
        for landlord in ["", *per_landlord_scopes(cfg)]:
            at = f"@{landlord}" if landlord else ""
            if cf.no_lease:
                out.append(Variant(f"no_lease{at}", "no_lease", landlord=landlord))
            for w in cf.withhold_levels:
                if w > 0:
                    out.append(Variant(f"withhold_{round(w * 100):d}{at}", "withhold",
                                       float(w), landlord=landlord))
            if cf.landlord_first:
                out.append(Variant(f"landlord_first{at}", "landlord_first",
                                   landlord=landlord))
            if cf.non_renew:
                out.append(Variant(f"non_renew{at}", "non_renew", landlord=landlord))
    for name, sw in cfg.scenario.sweeps.items():
        for v in sw.values:
            out.append(Variant(f"{name}={float(v):g}", "sweep", float(v), sweep=name,
                               lever=sw.lever.value))
    return out


@dataclass
class Contracts:
    """The leases under each variant, on the step grid. Shapes use V variants, L leases,
    T steps."""

    share: np.ndarray  # (V, L) fraction of the pool's online nodes, or nan (by GPUs)
    gpus: np.ndarray  # (V, L) int64 contracted GPUs, 0 when by share
    frac: np.ndarray  # (V, L, T) fraction delivered: 0 inactive, 1 - withheld
    landlord_first: np.ndarray  # (V, L, T) bool: the landlord's jobs go first
    usd_per_hour: np.ndarray  # (V, L, T) payment rate, $ per hour


def contracts(cfg: S.SimgpuConfig, vs: list[Variant], hours: np.ndarray,
              pool_gpus: dict[str, np.ndarray]) -> Contracts:
    """Every lease under every variant.

    Parameters
    ----------
    cfg : SimgpuConfig
    vs : list of Variant
        From :func:`variants`.
    hours : ndarray, shape (T,)
        Start hour of each step.
    pool_gpus : dict
        Pool name -> its GPUs online at each step, shape (T,).
    """
    names = list(cfg.leases)
    leases = [cfg.leases[n] for n in names]
    V, L, T = len(vs), len(leases), len(hours)
    start = cfg.sim.start
    cf_names = set(counterfactual_leases(cfg))
    swept = {name: set(sweep_leases(cfg, sw)) for name, sw in cfg.scenario.sweeps.items()}
    share_v = np.tile(np.array([np.nan if le.share is None else le.share for le in leases]),
                      (V, 1)).reshape(V, L)
    gpus_v = np.tile(np.array([le.gpus or 0 for le in leases], np.int64), (V, 1)).reshape(V, L)
    frac = np.zeros((V, L, T))
    lf = np.zeros((V, L, T), bool)
    usd_h = np.zeros((V, L, T))
    cf = cfg.scenario.counterfactuals
    for li, le in enumerate(leases):
        owner = cfg.pools[le.pool].owner
        s, e, _ = lease_span_hours(cfg, le)
        term = e - s
        notice = le.notice_days * 24.0
        pool_gpus_t = pool_gpus[le.pool]
        contract_t = (le.share * pool_gpus_t if le.share is not None
                      else np.minimum(le.gpus, pool_gpus_t)).astype(np.float64)
        base_usd_h = (np.full(T, le.annual_usd / (365.25 * 24.0))
                      if le.annual_usd is not None else le.usd_per_gpu_hour * contract_t)
        acts = [a for a in cfg.scenario.actions if a.lease == names[li]]
        for vi, var in enumerate(vs):
            # the counterfactual levers act on this lease under this variant
            is_cf = names[li] in cf_names and var.landlord in ("", owner)
            lever = var.lever if var.kind == "sweep" and names[li] in swept[var.sweep] \
                else ""
            renew = le.renewals
            for a in acts:  # the lease ends with the term under way when it takes effect
                if a.kind == S.ActionKind.non_renew:
                    eff = hours_since(a.at, start) + notice
                    renew = min(renew, max(0, math.ceil((eff - e) / term - 1e-9)))
            if var.kind == "non_renew" and is_cf:
                renew = 0
            shift = var.level * 24.0 if lever == "start_days" else 0.0
            active = (hours >= s + shift) & (hours < e + shift + term * renew)
            usd_v = base_usd_h
            if lever == "share":
                share_v[vi, li] = var.level
                gpus_v[vi, li] = 0
                if le.usd_per_gpu_hour is not None:  # paid per contracted GPU-hour
                    usd_v = le.usd_per_gpu_hour * (var.level * pool_gpus_t)
            if var.kind == "no_lease" and is_cf:
                active[:] = False
            f = active.astype(np.float64)
            price = np.ones(T)
            lfv = np.full(T, bool(le.landlord_priority))
            for a in acts:
                a0 = hours_since(a.at, start) + notice
                a1 = hours_since(a.until, start) if a.until else np.inf
                win = (hours >= a0) & (hours < a1)
                if a.kind == S.ActionKind.withhold:
                    f = np.where(win, f * (1.0 - a.fraction), f)
                elif a.kind == S.ActionKind.landlord_first:
                    lfv |= win
                elif a.kind == S.ActionKind.price_change:
                    price = np.where(win, price * a.price_factor, price)
            if var.kind == "withhold" and is_cf:
                w0 = hours_since(cf.withhold_start, start) if cf.withhold_start else s
                w1 = w0 + cf.withhold_days * 24.0 if cf.withhold_days is not None else np.inf
                win = (hours >= w0) & (hours < w1)
                f = np.where(win, f * (1.0 - var.level), f)
            if var.kind == "landlord_first" and is_cf:
                lfv[:] = True
            if lever == "withhold":
                sw = cfg.scenario.sweeps[var.sweep]
                w0 = hours_since(sw.start, start) if sw.start else s
                w1 = w0 + sw.days * 24.0 if sw.days is not None else np.inf
                win = (hours >= w0) & (hours < w1)
                f = np.where(win, f * (1.0 - var.level), f)
            if lever == "withhold_start":
                sw = cfg.scenario.sweeps[var.sweep]
                w0 = var.level * 24.0
                w1 = w0 + sw.days * 24.0 if sw.days is not None else np.inf
                win = (hours >= w0) & (hours < w1)
                f = np.where(win, f * (1.0 - sw.fraction), f)
            if lever == "terminate" and le.termination_notice_days is not None:
                ends = var.level * 24.0 + le.termination_notice_days * 24.0
                f = np.where(hours >= ends, 0.0, f)
                active = active & (hours < ends)
            if lever == "price":
                price = price * var.level
            frac[vi, li] = f
            lf[vi, li] = lfv & active
            usd_h[vi, li] = usd_v * price * f
    return Contracts(share_v, gpus_v, frac, lf, usd_h)


# ------------------------------------------------------------------------ jobs


def roadmap_order(jobs: dict[str, S.JobConfig]) -> list[str]:
    """Job names with every job after its dependencies (config order breaks ties)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for d in jobs[n].after:
            visit(d)
        done.append(n)

    for n in jobs:
        visit(n)
    return done


#: The default blocking write when a job gives neither write_hours nor size_gb, hours.
DEFAULT_WRITE_HOURS = 0.05
#: Checkpoint write model (docs/reliability.md, "Checkpoint write"): a synchronous write
#: takes a fixed 5 s plus size / min(storage bandwidth, nodes x 25 GB/s per node); an
#: asynchronous one blocks for 1 s plus the copy of each GPU's share to host memory at
#: 25 GB/s (PCIe Gen5 x16 class). The fixed times and per-node / per-GPU bandwidths are
#: illustrative assumptions consistent with the published 0.5-6 s async stalls.
SYNC_FIXED_S, ASYNC_FIXED_S, NODE_GB_S, D2H_GB_S = 5.0, 1.0, 25.0, 25.0
GPUS_PER_NODE_FOR_WRITES = 8


def checkpoint_write_hours(job: S.JobConfig) -> float:
    """The blocking time of one checkpoint, hours, at the job's target size."""
    ck = job.checkpoint
    if ck.write_hours is not None:
        return float(ck.write_hours)
    if ck.size_gb is None:
        return DEFAULT_WRITE_HOURS
    gpus = max(1, job.target_gpus)
    if ck.mode == S.CheckpointMode.asynchronous:
        return (ASYNC_FIXED_S + ck.size_gb / gpus / D2H_GB_S) / 3600.0
    nodes = max(1, gpus // GPUS_PER_NODE_FOR_WRITES)
    return (SYNC_FIXED_S + ck.size_gb / min(ck.storage_gb_s, nodes * NODE_GB_S)) / 3600.0


def job_mfu_table(cfg: S.SimgpuConfig):
    """MFU of every job in every pool it may use, and the problems found computing it:
    ``({(job, pool): mfu}, [Problem, ...])``.

    A job with a measured ``mfu`` has it everywhere; one with ``model`` and ``parallel``
    gets :func:`simgpu.perf.mfu_for` for the pool's GPU type at its target GPU count.
    """
    from simgpu.errors import ConfigError

    table: dict[tuple[str, str], float] = {}
    problems = []
    for name, job in cfg.jobs.items():
        for pool_name in job.pools:
            if job.mfu is not None:
                table[name, pool_name] = min(1.0, float(job.mfu) * job.mfu_scale)
                continue
            from simgpu.perf import mfu_for

            gpu = cfg.gpus[cfg.pools[pool_name].gpu]
            try:
                table[name, pool_name] = min(1.0, job.mfu_scale * mfu_for(
                    job.model, job.parallel, gpu, gpus=job.target_gpus, prefix=f"jobs.{name}."))
            except ConfigError as exc:
                problems.extend(q for q in exc.problems if q not in problems)
    return table, problems
