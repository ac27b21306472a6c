"""Landlord-control metrics over replicas, and the ``summary.json`` document.

Every metric is a distribution over replicas, reported as mean, P10, P50 and P90.
Counterfactual variants share their replica's random numbers, so a delay is computed per
replica (variant minus baseline) before its distribution is taken. Times that never
happen within the horizon are ``inf`` in the raw records; a delay that rests on them is a
bound (:mod:`simgpu.analysis.metrics`): reported as a lower bound with the censored
fraction, or ``null`` with a reason, never as 0.

Every counterfactual is summarised per milestone (each roadmap job), for the roadmap
(the largest delay of any of its milestones, so that one milestone's delay cannot read as
a gain because a later one landed elsewhere) and for the last milestone; for all
landlords together and for each landlord alone. docs/summary-schema.md documents every
key.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simgpu import timeline as tl
from simgpu.analysis.metrics import (
    STATS,
    control_index,
    delay_bounds,
    dist,
    interval_dist,
    measured_dist,
    share_dist,
)
from simgpu.engine.numpy_engine import RawResults
from simgpu.engine.plan import Plan

SCHEMA = "simgpu.summary/2"
#: Reasons given with a ``null``.
NO_BASELINE = ("the baseline does not finish this within the horizon in enough histories "
               "to measure a delay; extend sim.horizon_days")
NOTHING_TRAINED = "the tenant trained nothing in these histories"
NO_CAPACITY = "the tenant had no usable GPUs in these histories"
#: The counterfactual kinds with one delay each, and their summary keys.
LEVERS = {"no_lease": "no_lease_delay_days", "landlord_first": "landlord_first_delay_days",
          "non_renew": "non_renew_delay_days"}


def landlords(plan: Plan) -> list[int]:
    """Indices of parties with role landlord."""
    return [i for i, r in enumerate(plan.party_role) if r == "landlord"]


def tenants(plan: Plan) -> list[int]:
    """Indices of parties with role tenant."""
    return [i for i, r in enumerate(plan.party_role) if r == "tenant"]


def final_milestone_h(plan: Plan, raw: RawResults, party: int) -> np.ndarray:
    """(V, R) hour at which the party's whole roadmap is finished (inf if not)."""
    js = np.flatnonzero(plan.job_party == party)
    if js.size == 0:
        return np.full(raw.job_finish_h.shape[:2], np.nan)
    return raw.job_finish_h[:, :, js].max(axis=2)


class Delays:
    """Per-replica delay bounds of every milestone of one tenant under one variant."""

    def __init__(self, plan: Plan, raw: RawResults, jobs: np.ndarray, v: int):
        H = plan.horizon_hours
        fin = raw.job_finish_h
        self.jobs = [plan.job_names[j] for j in jobs]
        self.lo, self.hi = delay_bounds(fin[v][:, jobs], fin[0][:, jobs], H)  # (R, Jt)
        # the last milestone: the one that finishes last in the baseline (P50), i.e. the
        # end of the roadmap as configured
        base = np.where(np.isfinite(fin[0][:, jobs]), fin[0][:, jobs], np.inf)
        self.last = int(np.argmax(np.median(np.minimum(base, 10 * H + 1), axis=0))) \
            if jobs.size else 0

    def milestone(self, k: int) -> dict[str, Any]:
        return interval_dist(self.lo[:, k], self.hi[:, k], NO_BASELINE)

    def roadmap(self) -> dict[str, Any]:
        """The largest delay of any milestone, per replica."""
        return interval_dist(self.lo.max(axis=1), self.hi.max(axis=1), NO_BASELINE)

    def document(self) -> dict[str, Any]:
        road = self.roadmap()
        by = {n: self.milestone(k) for k, n in enumerate(self.jobs)}
        p50 = {n: d["p50"] for n, d in by.items() if d["p50"] is not None}
        return {"roadmap_delay_days": road,
                "last_milestone": self.jobs[self.last] if self.jobs else None,
                "last_milestone_delay_days": by[self.jobs[self.last]] if self.jobs else None,
                "largest_delay_milestone": max(p50, key=p50.get) if p50 else None,
                "by_milestone": by}


def summarize(plan: Plan, raw: RawResults, meta: dict[str, Any],
              warnings: list[str] | None = None) -> dict[str, Any]:
    """Build the ``summary.json`` document.

    Parameters
    ----------
    plan : Plan
    raw : RawResults
        Records of every variant and replica.
    meta : dict
        Deterministic facts copied in (the simgpu version); facts that vary between runs
        (backend, device, wall time) belong in ``run.json``, not here.
    warnings : list of str, optional
        What validation warned about (deterministic: a function of the config).

    Returns
    -------
    dict
        JSON-ready; ``null`` for values that do not exist (docs/summary-schema.md).
    """
    H = plan.horizon_hours
    R = raw.job_finish_h.shape[1]
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "name": plan.cfg.name,
        "replicas": int(R),
        "steps": int(plan.n_steps),
        "step_hours": plan.dt,
        "horizon_days": H / 24.0,
        "start": plan.cfg.sim.start,
        "seed": int(plan.seed),
        "variants": {v.name: {"kind": v.kind, "level": v.level, "landlord": v.landlord or None}
                     for v in plan.variants},
    }
    doc.update(meta)
    doc["warnings"] = list(warnings or [])
    doc["jobs"] = {name: _job(plan, raw, j) for j, name in enumerate(plan.job_names)}
    doc["tenants"] = {plan.party_names[a]: _tenant(plan, raw, a) for a in tenants(plan)}
    doc["landlords"] = {plan.party_names[a]: _landlord(plan, raw, a) for a in landlords(plan)}
    paid_gh, used = paid_gpu_hours(plan), used_gpu_hours(plan, raw)
    doc["leases"] = {name: _lease(plan, raw, li, 0, paid_gh, used)
                     for li, name in enumerate(plan.lease_names)}
    doc["pools"] = {name: _pool(plan, raw, p) for p, name in enumerate(plan.pool_names)}
    if any(v.kind == "sweep" for v in plan.variants):
        doc["sweeps"] = _sweeps(plan, raw)
    return doc


# ------------------------------------------------------------------------- jobs


def _deadline_missed(fin_h: np.ndarray, deadline_h: float, horizon_h: float
                     ) -> dict[str, float]:
    """Share of histories that miss a deadline; those unfinished at a horizon before the
    deadline are undecided (the share is then a lower bound)."""
    missed = fin_h > deadline_h
    undecided = ~np.isfinite(fin_h) & (deadline_h > horizon_h)
    return {"deadline_missed_fraction": float((missed & ~undecided).mean()),
            "deadline_undecided_fraction": float(undecided.mean())}


def _job(plan: Plan, raw: RawResults, j: int) -> dict[str, Any]:
    H = plan.horizon_hours
    fin = raw.job_finish_h[0, :, j]
    alloc = raw.job_alloc_gpu_h[0, :, j]
    kept = raw.job_flops_pool[0, :, j].sum(axis=1)
    land_pool = np.isin(plan.pool_owner, landlords(plan))
    deadline = plan.job_deadline_h[j]
    entry: dict[str, Any] = {
        "party": plan.party_names[plan.job_party[j]],
        "flops": float(plan.job_flops[j]),
        "start_day": dist(raw.job_start_h[0, :, j] / 24.0),
        "finish_day": dist(fin / 24.0),
        "finished_fraction": float(np.isfinite(fin).mean()),
        "interruptions": dist(raw.job_interruptions[0, :, j]),
        "interruptions_by_cause": {
            c: dist(raw.job_interruptions_by_cause[0, :, j, ci])
            for ci, c in enumerate(plan.cause_names)},
        "preemptions": dist(raw.job_preemptions[0, :, j]),
        "migrations": dist(raw.job_migrations[0, :, j]),
        "lost_gpu_hours": dist(raw.job_lost_gpu_h[0, :, j]),
        "ettr": share_dist(raw.job_useful_gpu_h[0, :, j], alloc,
                           "the job held no GPUs in these histories"),
        "landlord_flops_share": share_dist(raw.job_flops_pool[0, :, j][:, land_pool].sum(1),
                                           kept, "the job trained nothing in these histories"),
    }
    if math.isfinite(deadline):
        entry["deadline_day"] = deadline / 24.0
        entry.update(_deadline_missed(fin, deadline, H))
    by: dict[str, Any] = {}
    for vi, v in enumerate(plan.variants):
        if vi == 0:
            continue
        lo, hi = delay_bounds(raw.job_finish_h[vi, :, j], fin, H)
        by[v.name] = {"finish_day_p50": dist(raw.job_finish_h[vi, :, j] / 24.0)["p50"],
                      "delay_days": interval_dist(lo, hi, NO_BASELINE)}
        if math.isfinite(deadline):
            by[v.name].update(_deadline_missed(raw.job_finish_h[vi, :, j], deadline, H))
    entry["by_variant"] = by
    return entry


# ---------------------------------------------------------------------- tenants


def _owned_by(plan: Plan, landlord: int | None) -> np.ndarray:
    """(P,) pools owned by ``landlord``, or by any landlord when None."""
    owners = landlords(plan) if landlord is None else [landlord]
    return np.isin(plan.pool_owner, owners)


def _shares(plan: Plan, raw: RawResults, a: int, pools: np.ndarray) -> dict[str, Any]:
    """Dependency, capacity and visibility shares of tenant ``a`` on ``pools`` (P,) in the
    baseline."""
    js = np.flatnonzero(plan.job_party == a)
    fp = raw.job_flops_pool[0][:, js]  # (R, Jt, P)
    total = fp.sum(axis=(1, 2))
    gh = raw.job_alloc_gpu_h_pool[0][:, js]  # (R, Jt, P)
    started = gh.sum(axis=2) > 0
    touched = gh[:, :, pools].sum(axis=2) > 0
    cap = raw.party_cap_gpu_h[0][:, a]  # (R, P)
    return {
        "dependency_share": share_dist(fp[:, :, pools].sum(axis=(1, 2)), total,
                                       NOTHING_TRAINED),
        "capacity_share": share_dist(cap[:, pools].sum(axis=1), cap.sum(axis=1),
                                     NO_CAPACITY),
        "visibility": {
            "runs_share": share_dist(touched.sum(axis=1), started.sum(axis=1),
                                     "the tenant started no run in these histories"),
            "flops_share": share_dist((fp.sum(axis=2) * touched).sum(axis=1), total,
                                      NOTHING_TRAINED)},
    }


def _levers(plan: Plan, raw: RawResults, a: int, landlord: str,
            delays: dict[str, Delays]) -> dict[str, Any]:
    """The delays of tenant ``a``'s roadmap under the counterfactuals acting on
    ``landlord``'s leases ("" = every landlord's): one delay per lever kind, the leverage
    curve and the control index."""
    out: dict[str, Any] = {}
    mine = {v.name: v for v in plan.variants if v.kind != "sweep" and v.kind != "baseline"
            and v.landlord == landlord}
    for kind, key in LEVERS.items():
        name = next((n for n, v in mine.items() if v.kind == kind), None)
        out[key] = delays[name].roadmap() if name else None
    zero = {"withheld": 0.0, "delay_days_mean": 0.0, "delay_days_p10": 0.0,
            "delay_days_p50": 0.0, "delay_days_p90": 0.0, "censored_fraction": 0.0,
            "lower_bound": False}
    curve = [zero]
    by_job: dict[str, list[dict[str, Any]]] = {}
    for name, v in mine.items():
        if v.kind != "withhold":
            continue
        curve.append(_curve_point(v.level, delays[name].roadmap()))
        for k, job in enumerate(delays[name].jobs):
            by_job.setdefault(job, [dict(zero)]).append(
                _curve_point(v.level, delays[name].milestone(k)))
    curve.sort(key=lambda c: c["withheld"])
    out["leverage_curve"] = curve
    out["leverage_by_milestone"] = {j: sorted(c, key=lambda c: c["withheld"])
                                    for j, c in by_job.items()}
    out.update(_control_index(plan, raw, a, curve))
    return out


def _curve_point(level: float, d: dict[str, Any]) -> dict[str, Any]:
    return {"withheld": level, **{f"delay_days_{k}": d[k] for k in STATS},
            "censored_fraction": d["censored_fraction"], "lower_bound": d["lower_bound"]}


def _control_index(plan: Plan, raw: RawResults, a: int, curve: list[dict[str, Any]]
                   ) -> dict[str, Any]:
    pts = curve[1:]
    base = dist(final_milestone_h(plan, raw, a)[0] / 24.0)["p50"]
    why = None
    if not pts:
        why = "no withholding level was simulated (scenario.counterfactuals.withhold_levels)"
    elif base is None:
        why = ("the baseline roadmap does not finish within the horizon in most histories; "
               "extend sim.horizon_days")
    elif any(c["delay_days_p50"] is None for c in pts):
        why = "a withholding level's median delay cannot be measured within the horizon"
    if why is not None:
        return {"control_index": None, "control_index_lower_bound": False,
                "control_index_null_reason": why}
    return {"control_index": control_index([c["withheld"] for c in pts],
                                           [c["delay_days_p50"] for c in pts], base),
            "control_index_lower_bound": any(c["lower_bound"] for c in pts)}


def _tenant(plan: Plan, raw: RawResults, a: int) -> dict[str, Any]:
    js = np.flatnonzero(plan.job_party == a)
    delays = {v.name: Delays(plan, raw, js, vi) for vi, v in enumerate(plan.variants)
              if vi > 0 and v.kind != "sweep"}
    out: dict[str, Any] = {
        "jobs": [plan.job_names[j] for j in js],
        "final_milestone_day": dist(final_milestone_h(plan, raw, a)[0] / 24.0),
        **_shares(plan, raw, a, _owned_by(plan, None)),
        **_levers(plan, raw, a, "", delays),
        "counterfactuals": {n: d.document() for n, d in delays.items()},
        "gpu_hours": _gpu_hours(plan, raw, js, a),
    }
    # per landlord: those that lease the tenant GPUs under the counterfactual leases
    mine = [plan.party_names[plan.lease_owner[li]] for li in range(len(plan.lease_names))
            if plan.lease_cf[li] and plan.lease_tenant[li] == a]
    scoped = {v.landlord for v in plan.variants if v.landlord}
    by: dict[str, Any] = {}
    for name in dict.fromkeys(mine):
        entry = _shares(plan, raw, a, _owned_by(plan, plan.party_names.index(name)))
        if name in scoped or len(set(mine)) == 1:  # one landlord: its levers act on all
            entry.update(_levers(plan, raw, a, name if name in scoped else "", delays))
        by[name] = entry
    out["by_landlord"] = by
    out.update(_concentration(by))
    return out


#: The parts of usable GPU-hours that the tenant's runs held (the rest: waiting, idle).
HELD_PARTS = ("kept", "lost", "restarts", "checkpoint_writes")
#: How usable GPU-hours were used (:func:`_use_parts`), in order.
USE_PARTS = (*HELD_PARTS, "gang_wait", "idle")
#: Where a tenant's GPU-hours went (``tenants.<t>.gpu_hours``), in order.
GPU_HOURS_PARTS = (*USE_PARTS, "withheld")
#: Where a lease's contracted GPU-hours went (``leases.<l>.gpu_hours``), in order.
LEASE_HOURS_PARTS = (*USE_PARTS, "not_delivered", "withheld")


def _use_parts(kept: np.ndarray, lost: np.ndarray, restarts: np.ndarray, held: np.ndarray,
               gang_wait: np.ndarray, usable: np.ndarray) -> dict[str, np.ndarray]:
    """:data:`USE_PARTS` of ``usable`` GPU-hours of which the runs ``held`` some:
    ``checkpoint_writes`` is the rest of the held hours, ``idle`` the usable hours neither
    held nor waited on (both floored at 0 against rounding)."""
    return {"kept": kept, "lost": lost, "restarts": restarts,
            "checkpoint_writes": np.maximum(held - kept - lost - restarts, 0.0),
            "gang_wait": gang_wait, "idle": np.maximum(usable - held - gang_wait, 0.0)}


def _gpu_hours(plan: Plan, raw: RawResults, js: np.ndarray, a: int) -> dict[str, Any]:
    """Where tenant ``a``'s usable GPU-hours went over the horizon, per variant (baseline
    and counterfactuals; means over replicas, additive): ``kept`` (training progress
    kept), ``lost`` (rolled back by failures), ``restarts`` (held while (re)starting,
    detection of the failure included), ``checkpoint_writes`` (held while writing
    checkpoints: the rest of the held hours), ``gang_wait`` (usable, held by none of its
    runs, while one of them waited for its gang to fit in that pool), ``idle`` (usable,
    held by none of its runs, none waiting there: between runs, after the roadmap), and
    ``withheld`` (usable in the baseline's history but not in this variant's: the lever's
    capacity). ``usable = kept + lost + restarts + checkpoint_writes + gang_wait +
    idle``; ``usable_landlord``: the part on landlord-owned pools."""
    land = _owned_by(plan, None)
    base = raw.party_cap_gpu_h[0][:, a].sum(axis=1)  # (R,)
    out: dict[str, Any] = {}
    for vi, v in enumerate(plan.variants):
        if v.kind == "sweep":
            continue
        cap = raw.party_cap_gpu_h[vi][:, a]  # (R, P)
        usable = cap.sum(axis=1)
        parts = _use_parts(raw.job_useful_gpu_h[vi][:, js].sum(axis=1),
                           raw.job_lost_gpu_h[vi][:, js].sum(axis=1),
                           raw.job_restart_gpu_h_pool[vi][:, js].sum(axis=(1, 2)),
                           raw.job_alloc_gpu_h[vi][:, js].sum(axis=1),
                           raw.party_wait_gpu_h[vi][:, a].sum(axis=1), usable)
        parts["withheld"] = np.maximum(base - usable, 0.0)
        out[v.name] = {"usable": float(usable.mean()),
                       "usable_landlord": float(cap[:, land].sum(axis=1).mean()),
                       **{k: float(x.mean()) for k, x in parts.items()}}
    return out


def _concentration(by: dict[str, Any]) -> dict[str, Any]:
    """Which single landlord could delay the tenant most (the largest P50 roadmap delay
    without its leases) and how concentrated the dependency is: the largest landlord's
    P50 dependency share and the Herfindahl index of the landlords' shares of the
    tenant's landlord-hosted compute (1: one landlord hosts it all)."""
    dep = {n: e["dependency_share"]["p50"] for n, e in by.items()
           if e["dependency_share"]["p50"] is not None}
    total = sum(dep.values())
    out: dict[str, Any] = {
        "concentration": {
            "largest_landlord": max(dep, key=dep.get) if dep else None,
            "largest_landlord_share": max(dep.values()) if dep else None,
            "herfindahl": (sum((x / total) ** 2 for x in dep.values()) if total > 0
                           else None)}}
    delay = {n: e["no_lease_delay_days"] for n, e in by.items()
             if e.get("no_lease_delay_days") and e["no_lease_delay_days"]["p50"] is not None}
    if delay:
        worst = max(delay, key=lambda n: delay[n]["p50"])
        out["most_leverage_landlord"] = {
            "landlord": worst, "no_lease_delay_days_p50": delay[worst]["p50"],
            "lower_bound": delay[worst]["lower_bound"]}
    else:
        out["most_leverage_landlord"] = None
    return out


# ------------------------------------------------------------ landlords, leases


def _landlord(plan: Plan, raw: RawResults, a: int) -> dict[str, Any]:
    mine = plan.lease_owner == a
    revenue = float(raw.lease_paid_usd[0, mine].sum()) if mine.any() else 0.0
    js = np.flatnonzero(plan.job_party == a)
    R = raw.job_finish_h.shape[1]
    own_gh = raw.job_alloc_gpu_h_pool[0][:, js].sum(axis=(1, 2)) if js.size else np.zeros(R)
    leased_gh = raw.lease_delivered_gpu_h[0][:, mine].sum(axis=1) if mine.any() else \
        np.zeros(R)
    return {"lease_revenue_usd": revenue, "own_jobs_gpu_hours": dist(own_gh),
            "leased_out_gpu_hours": dist(leased_gh)}


def paid_gpu_hours(plan: Plan) -> np.ndarray:
    """(V, L) GPU-hours paid for: contracted GPUs while the lease is active, times the
    fraction delivered (withheld GPUs are not paid for), summed over steps."""
    online = plan.online_normal + plan.online_lemon  # (P, T)
    on = online[plan.lease_pool]  # (L, T)
    gpn = plan.pool_gpn[plan.lease_pool].astype(np.float64)
    share = plan.lease_share[:, :, None]  # (V, L, 1)
    by_gpus = np.minimum(plan.lease_gpus[:, :, None] // plan.pool_gpn[plan.lease_pool][
        None, :, None], on[None])
    nodes = np.where(np.isnan(share), by_gpus, np.floor(np.nan_to_num(share) * on + 1e-9))
    return (nodes * gpn[None, :, None] * plan.lease_frac).sum(axis=2) * plan.dt


def _lease_part(plan: Plan, raw: RawResults, li: int) -> np.ndarray:
    """(V, R) lease ``li``'s part of its tenant's GPU-hours on the lease's pool: its
    delivered GPU-hours over those of all the tenant's leases on that pool (a tenant never
    owns a pool it leases, so that is everything it can use there)."""
    p, t = plan.lease_pool[li], plan.lease_tenant[li]
    deliv = raw.lease_delivered_gpu_h  # (V, R, L)
    same = [k for k in range(len(plan.lease_names))
            if plan.lease_pool[k] == p and plan.lease_tenant[k] == t]
    tot = deliv[:, :, same].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, deliv[:, :, li] / np.where(tot > 0, tot, 1.0), 0.0)


def used_gpu_hours(plan: Plan, raw: RawResults) -> np.ndarray:
    """(V, R, L) GPU-hours the tenant's training held under each lease: its jobs' GPU-hours
    in the lease's pool, split among its leases on that pool (:func:`_lease_part`)."""
    V, R = raw.job_finish_h.shape[:2]
    L = len(plan.lease_names)
    out = np.zeros((V, R, L))
    for li in range(L):
        p, t = plan.lease_pool[li], plan.lease_tenant[li]
        js = np.flatnonzero(plan.job_party == t)
        held = raw.job_alloc_gpu_h_pool[:, :, js, p].sum(axis=2)  # (V, R)
        out[:, :, li] = held * _lease_part(plan, raw, li)
    return out


def _lease_hours(plan: Plan, raw: RawResults, li: int, paid_gh: np.ndarray
                 ) -> dict[str, Any]:
    """Where lease ``li``'s contracted GPU-hours went, per variant (means over replicas,
    additive; ``leases.<l>.gpu_hours``): ``withheld`` (paid in the baseline, not in this
    variant: withholding, no lease, an earlier end), ``not_delivered`` (paid for but not
    delivered healthy: failed nodes the tenant bears, landlord-first takes), and the
    delivered hours split as the tenant's hours on the lease's pool are (``kept``,
    ``lost``, ``restarts``, ``checkpoint_writes``, ``gang_wait``, ``idle``:
    :func:`_gpu_hours`), in proportion to the GPU-hours this lease delivered among the
    tenant's leases on that pool (:func:`_lease_part`, as :func:`used_gpu_hours`). ``paid`` is
    the variant's paid GPU-hours; the parts add up to ``max(paid, baseline's paid)``."""
    p, t = plan.lease_pool[li], plan.lease_tenant[li]
    js = np.flatnonzero(plan.job_party == t)
    parts_v = _lease_part(plan, raw, li)  # (V, R)
    out: dict[str, Any] = {}
    for vi, v in enumerate(plan.variants):
        if v.kind == "sweep":
            continue
        deliv = raw.lease_delivered_gpu_h[vi, :, li]  # (R,)
        parts = _use_parts(raw.job_useful_gpu_h_pool[vi][:, js, p].sum(axis=1),
                           raw.job_lost_gpu_h_pool[vi][:, js, p].sum(axis=1),
                           raw.job_restart_gpu_h_pool[vi][:, js, p].sum(axis=1),
                           raw.job_alloc_gpu_h_pool[vi][:, js, p].sum(axis=1),
                           raw.party_wait_gpu_h[vi][:, t, p], raw.party_cap_gpu_h[vi][:, t, p])
        doc = {k: float((x * parts_v[vi]).mean()) for k, x in parts.items()}
        paid = float(paid_gh[vi, li])
        doc["not_delivered"] = max(paid - float(deliv.mean()), 0.0)
        doc["withheld"] = max(float(paid_gh[0, li]) - paid, 0.0)
        out[v.name] = {"paid": paid, "delivered": float(deliv.mean()), **doc}
    return out


def _lease(plan: Plan, raw: RawResults, li: int, vi: int, paid_gh: np.ndarray,
           used: np.ndarray) -> dict[str, Any]:
    """Lease ``li`` under variant ``vi``; ``paid_gh`` and ``used`` from
    :func:`paid_gpu_hours` and :func:`used_gpu_hours`."""
    le = plan.cfg.leases[plan.lease_names[li]]
    paid = float(raw.lease_paid_usd[vi, li])
    deliv = raw.lease_delivered_gpu_h[vi, :, li]
    u = used[vi, :, li]
    pgh = float(paid_gh[vi, li])
    doc = {
        "pool": plan.pool_names[plan.lease_pool[li]],
        "landlord": plan.party_names[plan.lease_owner[li]],
        "tenant": plan.party_names[plan.lease_tenant[li]],
        "price": ({"annual_usd": le.annual_usd} if le.annual_usd is not None
                  else {"usd_per_gpu_hour": le.usd_per_gpu_hour}),
        "paid_usd": paid,
        "paid_gpu_hours": pgh,
        "delivered_gpu_hours": dist(deliv),
        "used_gpu_hours": dist(u),
        "utilization": share_dist(u, np.full(u.shape, pgh),
                                  "no GPU-hour was paid for under this lease"),
        "effective_usd_per_gpu_hour": share_dist(np.full(deliv.shape, paid), deliv,
                                                 "no healthy GPU-hour was delivered"),
        "usd_per_gpu_hour_used": share_dist(np.full(u.shape, paid), u,
                                            "the tenant trained on none of this lease's GPUs"),
    }
    if vi == 0:
        doc["paid_usd_by_variant"] = {v.name: float(raw.lease_paid_usd[k, li])
                                      for k, v in enumerate(plan.variants)}
        doc["gpu_hours"] = _lease_hours(plan, raw, li, paid_gh)
    return doc


def _pool(plan: Plan, raw: RawResults, p: int) -> dict[str, Any]:
    on = raw.pool_online_gpu_h[:, p]
    return {
        "owner": plan.party_names[plan.pool_owner[p]],
        "node_failures": dist(raw.pool_failures[:, p]),
        "node_failures_by_cause": {
            c: dist(raw.pool_failures_by_cause[:, p, ci])
            for ci, c in enumerate(plan.cause_names[:plan.n_node_causes])
            if plan.cause_cum[p, ci] > (plan.cause_cum[p, ci - 1] if ci else 0.0)},
        "domain_outages": dist(raw.pool_outages[:, p]),
        "availability": share_dist(raw.pool_healthy_gpu_h[:, p], on,
                                   "the pool had no GPU online"),
    }


def _sweeps(plan: Plan, raw: RawResults) -> dict[str, Any]:
    """The in-batch sweeps: per point, each tenant's roadmap, delay against the baseline
    (the largest delay of any milestone), dependency and capacity shares, and each swept
    lease's payments, utilisation and prices."""
    paid_gh = paid_gpu_hours(plan)
    used = used_gpu_hours(plan, raw)
    land = _owned_by(plan, None)
    out: dict[str, Any] = {}
    for name, sw in plan.cfg.scenario.sweeps.items():
        leases = tl.sweep_leases(plan.cfg, sw)
        points = []
        for vi, v in enumerate(plan.variants):
            if v.kind != "sweep" or v.sweep != name:
                continue
            ten = {}
            for a in tenants(plan):
                js = np.flatnonzero(plan.job_party == a)
                d = Delays(plan, raw, js, vi)
                fp = raw.job_flops_pool[vi][:, js]
                cap = raw.party_cap_gpu_h[vi][:, a]
                ten[plan.party_names[a]] = {
                    "final_milestone_day": dist(final_milestone_h(plan, raw, a)[vi] / 24.0),
                    "delay_days": d.roadmap(),
                    "last_milestone_delay_days": d.milestone(d.last) if d.jobs else None,
                    "dependency_share": share_dist(fp[:, :, land].sum(axis=(1, 2)),
                                                   fp.sum(axis=(1, 2)), NOTHING_TRAINED),
                    "capacity_share": share_dist(cap[:, land].sum(axis=1), cap.sum(axis=1),
                                                 NO_CAPACITY),
                }
            ls = {}
            for ln in leases:
                li = plan.lease_names.index(ln)
                full = _lease(plan, raw, li, vi, paid_gh, used)
                ls[ln] = {k: full[k] for k in ("paid_usd", "paid_gpu_hours", "utilization",
                                              "effective_usd_per_gpu_hour",
                                              "usd_per_gpu_hour_used")}
            points.append({"value": v.level, "variant": v.name, "tenants": ten, "leases": ls})
        out[name] = {"lever": sw.lever.value, "leases": leases, "points": points}
    return out


__all__ = ["SCHEMA", "control_index", "dist", "final_milestone_h", "landlords",
           "measured_dist", "paid_gpu_hours", "summarize", "tenants", "used_gpu_hours"]
