"""Landlord-control metrics over replicas, and the ``summary.json`` document.

Every metric is a distribution over replicas, reported as mean, P10, P50 and P90.
Counterfactual variants share their replica's random numbers, so a delay is computed
per replica (variant minus baseline) before its distribution is taken. Times that never
happen within the horizon are ``inf`` in the raw records; in the summary a finish
quantile that falls on an unfinished replica is ``null``, and delays are computed with
unfinished milestones censored at the horizon (a lower bound), their share reported as
``censored_fraction``. docs/summary-schema.md documents every key.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simgpu.engine.numpy_engine import RawResults
from simgpu.engine.plan import Plan

SCHEMA = "simgpu.summary/1"
QUANTILES = {"p10": 10.0, "p50": 50.0, "p90": 90.0}


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def dist(values: np.ndarray) -> dict[str, float | None]:
    """Mean, P10, P50, P90 of a 1-D sample; ``null`` where a value is not finite.

    The mean is ``null`` when any value is not finite; a quantile is ``null`` when it
    falls on a non-finite value (``inf`` sorts last, so P10 may exist while P90 does not).
    """
    v = np.asarray(values, np.float64).ravel()
    if v.size == 0:
        return {"mean": None, **{k: None for k in QUANTILES}}
    with np.errstate(invalid="ignore"):
        out = {"mean": _num(v.mean()) if np.isfinite(v).all() else None}
        srt = np.sort(v)
        for k, q in QUANTILES.items():
            out[k] = _num(np.percentile(srt, q, method="linear")) if np.isfinite(
                srt[_bracket(srt.size, q)]).all() else None
    return out


def _bracket(n: int, q: float) -> list[int]:
    pos = (n - 1) * q / 100.0
    return sorted({int(math.floor(pos)), int(math.ceil(pos))})


def censored_delay(variant_h: np.ndarray, base_h: np.ndarray, horizon_h: float) -> np.ndarray:
    """Per-replica delay in days, unfinished times censored at the horizon."""
    return (np.minimum(variant_h, horizon_h) - np.minimum(base_h, horizon_h)) / 24.0


def delay_dist(variant_h: np.ndarray, base_h: np.ndarray, horizon_h: float) -> dict[str, Any]:
    """Delay distribution with its censored fraction (either run unfinished)."""
    d = dist(censored_delay(variant_h, base_h, horizon_h))
    cens = ~(np.isfinite(variant_h) & np.isfinite(base_h))
    d["censored_fraction"] = float(cens.mean()) if cens.size else 0.0
    return d


def control_index(levels: list[float], delays_p50: list[float], base_days_p50: float | None
                  ) -> float | None:
    """Area under the P50 leverage curve over the withheld fraction, per baseline day.

    ``CI = (1 / T) * integral_0^1 D(w) dw`` with ``D`` the P50 final-milestone delay (days)
    at withheld fraction ``w`` (linear between levels, ``D(0) = 0``, flat beyond the last
    level) and ``T`` the baseline P50 day of the final milestone. 0: withholding changes
    nothing; 1: withholding a uniformly random fraction delays the roadmap, on average, by
    its whole baseline duration.
    """
    if base_days_p50 is None or base_days_p50 <= 0 or not levels:
        return None
    w = np.array([0.0] + list(levels) + [1.0])
    d = np.array([0.0] + list(delays_p50) + [delays_p50[-1]])
    order = np.argsort(w, kind="stable")
    w, d = w[order], d[order]
    area = float(np.sum((w[1:] - w[:-1]) * (d[1:] + d[:-1]) / 2.0))
    return area / base_days_p50


def landlords(plan: Plan) -> list[int]:
    """Indices of parties with role landlord."""
    return [i for i, r in enumerate(plan.party_role) if r == "landlord"]


def tenants(plan: Plan) -> list[int]:
    """Indices of parties with role tenant."""
    return [i for i, r in enumerate(plan.party_role) if r == "tenant"]


def summarize(plan: Plan, raw: RawResults, meta: dict[str, Any]) -> dict[str, Any]:
    """Build the ``summary.json`` document.

    Parameters
    ----------
    plan : Plan
    raw : RawResults
        Records of every variant and replica.
    meta : dict
        Deterministic facts copied in (the simgpu version); facts that vary between runs
        (backend, device, wall time) belong in ``run.json``, not here.

    Returns
    -------
    dict
        JSON-ready; ``null`` for values that do not exist (docs/summary-schema.md).
    """
    H = plan.horizon_hours
    names = [v.name for v in plan.variants]
    base = 0
    R = raw.job_finish_h.shape[1]
    land = landlords(plan)
    land_pool = np.isin(plan.pool_owner, land)  # (P,)

    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "name": plan.cfg.name,
        "replicas": int(R),
        "steps": int(plan.n_steps),
        "step_hours": plan.dt,
        "horizon_days": H / 24.0,
        "start": plan.cfg.sim.start,
        "seed": int(plan.seed),
        "variants": {v.name: {"kind": v.kind, "level": v.level} for v in plan.variants},
    }
    doc.update(meta)

    jobs: dict[str, Any] = {}
    for j, name in enumerate(plan.job_names):
        fin = raw.job_finish_h[base, :, j]
        alloc = raw.job_alloc_gpu_h[base, :, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            ettr = np.where(alloc > 0, raw.job_useful_gpu_h[base, :, j] / alloc, np.nan)
        kept = raw.job_flops_pool[base, :, j].sum(axis=1)
        on_land = raw.job_flops_pool[base, :, j][:, land_pool].sum(axis=1)
        entry = {
            "party": plan.party_names[plan.job_party[j]],
            "flops": float(plan.job_flops[j]),
            "start_day": dist(raw.job_start_h[base, :, j] / 24.0),
            "finish_day": dist(fin / 24.0),
            "finished_fraction": float(np.isfinite(fin).mean()),
            "interruptions": dist(raw.job_interruptions[base, :, j]),
            "interruptions_by_cause": {
                c: dist(raw.job_interruptions_by_cause[base, :, j, ci])
                for ci, c in enumerate(plan.cause_names)},
            "preemptions": dist(raw.job_preemptions[base, :, j]),
            "lost_gpu_hours": dist(raw.job_lost_gpu_h[base, :, j]),
            "ettr": dist(ettr[np.isfinite(ettr)]) if np.isfinite(ettr).any() else dist([]),
            "landlord_flops_share": dist(np.where(kept > 0, on_land / np.where(kept > 0, kept,
                                                                                1), 0.0)),
            "by_variant": {
                v: {"finish_day_p50": dist(raw.job_finish_h[vi, :, j] / 24.0)["p50"],
                    "delay_days": delay_dist(raw.job_finish_h[vi, :, j], fin, H)}
                for vi, v in enumerate(names) if vi != base
            },
        }
        if math.isfinite(plan.job_deadline_h[j]):
            entry["deadline_met_fraction"] = float((fin <= plan.job_deadline_h[j]).mean())
        jobs[name] = entry
    doc["jobs"] = jobs

    doc["tenants"] = {plan.party_names[a]: _tenant(plan, raw, a, land_pool)
                      for a in tenants(plan)}
    doc["landlords"] = {plan.party_names[a]: _landlord(plan, raw, a)
                        for a in land}

    leases: dict[str, Any] = {}
    for li, name in enumerate(plan.lease_names):
        paid = float(raw.lease_paid_usd[base, li])
        deliv = raw.lease_delivered_gpu_h[base, :, li]
        eff = np.where(deliv > 0, paid / np.where(deliv > 0, deliv, 1.0), np.inf)
        leases[name] = {
            "pool": plan.pool_names[plan.lease_pool[li]],
            "landlord": plan.party_names[plan.lease_owner[li]],
            "tenant": plan.party_names[plan.lease_tenant[li]],
            "paid_usd": paid,
            "delivered_gpu_hours": dist(deliv),
            "effective_usd_per_gpu_hour": dist(eff),
            "paid_usd_by_variant": {v: float(raw.lease_paid_usd[vi, li])
                                    for vi, v in enumerate(names)},
        }
    doc["leases"] = leases

    pools: dict[str, Any] = {}
    for p, name in enumerate(plan.pool_names):
        on = raw.pool_online_gpu_h[:, p]
        pools[name] = {
            "owner": plan.party_names[plan.pool_owner[p]],
            "node_failures": dist(raw.pool_failures[:, p]),
            "node_failures_by_cause": {
                c: dist(raw.pool_failures_by_cause[:, p, ci])
                for ci, c in enumerate(plan.cause_names[:plan.n_node_causes])
                if plan.cause_cum[p, ci] > (plan.cause_cum[p, ci - 1] if ci else 0.0)},
            "domain_outages": dist(raw.pool_outages[:, p]),
            "availability": dist(np.where(on > 0, raw.pool_healthy_gpu_h[:, p] /
                                          np.where(on > 0, on, 1), 1.0)),
        }
    doc["pools"] = pools
    if any(v.kind == "sweep" for v in plan.variants):
        doc["sweeps"] = _sweeps(plan, raw, land_pool)
    return doc


def _sweeps(plan: Plan, raw: RawResults, land_pool: np.ndarray) -> dict[str, Any]:
    """The in-batch sweeps: per point, each tenant's roadmap, delay against the baseline,
    dependency and capacity shares, and each swept lease's payments and price."""
    from simgpu.timeline import sweep_leases

    H = plan.horizon_hours
    out: dict[str, Any] = {}
    for name, sw in plan.cfg.scenario.sweeps.items():
        leases = sweep_leases(plan.cfg, sw)
        points = []
        for vi, v in enumerate(plan.variants):
            if v.kind != "sweep" or v.sweep != name:
                continue
            ten = {}
            for a in tenants(plan):
                fm = final_milestone_h(plan, raw, a)
                js = np.flatnonzero(plan.job_party == a)
                fp = raw.job_flops_pool[vi][:, js]
                total = fp.sum(axis=(1, 2))
                dep = np.where(total > 0, fp[:, :, land_pool].sum(axis=(1, 2)) /
                               np.where(total > 0, total, 1.0), 0.0)
                cap = raw.party_cap_gpu_h[vi][:, a]
                ct = cap.sum(axis=1)
                ten[plan.party_names[a]] = {
                    "final_milestone_day": dist(fm[vi] / 24.0),
                    "delay_days": delay_dist(fm[vi], fm[0], H),
                    "dependency_share": dist(dep),
                    "capacity_share": dist(np.where(ct > 0, cap[:, land_pool].sum(axis=1) /
                                                    np.where(ct > 0, ct, 1.0), 0.0)),
                }
            ls = {}
            for ln in leases:
                li = plan.lease_names.index(ln)
                paid = float(raw.lease_paid_usd[vi, li])
                deliv = raw.lease_delivered_gpu_h[vi, :, li]
                ls[ln] = {"paid_usd": paid, "effective_usd_per_gpu_hour": dist(np.where(
                    deliv > 0, paid / np.where(deliv > 0, deliv, 1.0), np.inf))}
            points.append({"value": v.level, "variant": v.name, "tenants": ten, "leases": ls})
        out[name] = {"lever": sw.lever.value, "leases": leases, "points": points}
    return out


def final_milestone_h(plan: Plan, raw: RawResults, party: int) -> np.ndarray:
    """(V, R) hour at which the party's whole roadmap is finished (inf if not)."""
    js = np.flatnonzero(plan.job_party == party)
    if js.size == 0:
        return np.full(raw.job_finish_h.shape[:2], np.nan)
    return raw.job_finish_h[:, :, js].max(axis=2)


def _tenant(plan: Plan, raw: RawResults, a: int, land_pool: np.ndarray) -> dict[str, Any]:
    H = plan.horizon_hours
    js = np.flatnonzero(plan.job_party == a)
    fm = final_milestone_h(plan, raw, a)  # (V, R)
    base = fm[0]
    fp = raw.job_flops_pool[0][:, js]  # (R, Jt, P)
    total = fp.sum(axis=(1, 2))
    on_land = fp[:, :, land_pool].sum(axis=(1, 2))
    dep = np.where(total > 0, on_land / np.where(total > 0, total, 1.0), 0.0)
    gh = raw.job_alloc_gpu_h_pool[0][:, js]  # (R, Jt, P)
    started = gh.sum(axis=2) > 0
    touched = gh[:, :, land_pool].sum(axis=2) > 0
    n_started = started.sum(axis=1)
    runs_share = np.where(n_started > 0, touched.sum(axis=1) / np.maximum(n_started, 1), 0.0)
    flops_job = fp.sum(axis=2)
    vis_flops = np.where(total > 0, (flops_job * touched).sum(axis=1) /
                         np.where(total > 0, total, 1.0), 0.0)
    cap = raw.party_cap_gpu_h[0][:, a]  # (R, P)
    cap_tot = cap.sum(axis=1)
    cap_share = np.where(cap_tot > 0, cap[:, land_pool].sum(axis=1) /
                         np.where(cap_tot > 0, cap_tot, 1.0), 0.0)

    out: dict[str, Any] = {
        "jobs": [plan.job_names[j] for j in js],
        "final_milestone_day": dist(base / 24.0),
        "dependency_share": dist(dep),
        "capacity_share": dist(cap_share),
        "visibility": {"runs_share": dist(runs_share), "flops_share": dist(vis_flops)},
    }
    kinds = {v.kind: i for i, v in enumerate(plan.variants)}
    for kind, key in (("no_lease", "no_lease_delay_days"),
                      ("landlord_first", "landlord_priority_delay_days"),
                      ("non_renew", "non_renew_delay_days")):
        out[key] = delay_dist(fm[kinds[kind]], base, H) if kind in kinds else None
    curve = [{"withheld": 0.0, "delay_days_mean": 0.0, "delay_days_p10": 0.0,
              "delay_days_p50": 0.0, "delay_days_p90": 0.0, "censored_fraction": 0.0}]
    for vi, v in enumerate(plan.variants):
        if v.kind == "withhold":
            d = delay_dist(fm[vi], base, H)
            curve.append({"withheld": v.level, "delay_days_mean": d["mean"],
                          "delay_days_p10": d["p10"], "delay_days_p50": d["p50"],
                          "delay_days_p90": d["p90"],
                          "censored_fraction": d["censored_fraction"]})
    curve.sort(key=lambda c: c["withheld"])
    out["leverage_curve"] = curve
    pts = [c for c in curve[1:] if c["delay_days_p50"] is not None]
    base_p50 = dist(np.minimum(base, H) / 24.0)["p50"]
    out["control_index"] = control_index([c["withheld"] for c in pts],
                                         [c["delay_days_p50"] for c in pts], base_p50)
    return out


def _landlord(plan: Plan, raw: RawResults, a: int) -> dict[str, Any]:
    mine = plan.lease_owner == a
    revenue = float(raw.lease_paid_usd[0, mine].sum()) if mine.any() else 0.0
    js = np.flatnonzero(plan.job_party == a)
    own_gh = raw.job_alloc_gpu_h_pool[0][:, js].sum(axis=(1, 2)) if js.size else np.zeros(
        raw.job_finish_h.shape[1])
    leased_gh = raw.lease_delivered_gpu_h[0][:, mine].sum(axis=1) if mine.any() else np.zeros(
        raw.job_finish_h.shape[1])
    return {
        "lease_revenue_usd": revenue,
        "own_jobs_gpu_hours": dist(own_gh),
        "leased_out_gpu_hours": dist(leased_gh),
    }
