"""How precise a run's headline medians are, and when ``sim.replicas: auto`` may stop.

The targeted headline statistics are medians over replicas (P50): each tenant's roadmap
delay under every counterfactual (``tenants.<t>.counterfactuals.<v>.roadmap_delay_days``)
and its dependency share (``tenants.<t>.dependency_share``, and per landlord when it
leases from several). The confidence interval of a median is distribution-free: of ``n``
independent replicas, the number below the true median is Binomial(n, 1/2), so the
order statistics ``[x_(l), x_(n+1-l)]``, with ``l`` the largest rank whose binomial tail
``P(B <= l - 1)`` is at most ``(1 - level) / 2``, cover the true median with probability at
least ``level`` whatever the distribution, ties and all (Conover, *Practical
Nonparametric Statistics*, 3rd ed., 1999, s3.2; Hahn & Meeker, *Statistical Intervals*,
1991, s5.2). It needs no resampling and no seed: the same replicas give the same
interval, so an auto run is as reproducible as a fixed one. Its *half-width* is half the
interval's width (the interval need not be centred on the estimate).

A delay that rests on censored histories is reported as a lower bound (the median of the
per-replica lower ends, :mod:`simgpu.analysis.metrics`); its interval is that of the
same lower ends, i.e. the precision of the number the summary prints. A statistic that
cannot be measured (``null`` in the summary) is listed with its reason and is no
stopping criterion: more histories do not make it measurable.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simgpu.analysis.metrics import share_dist
from simgpu.analysis.summary import NOTHING_TRAINED, Delays, landlords, tenants
from simgpu.config.schema import PrecisionConfig
from simgpu.engine.numpy_engine import RawResults
from simgpu.engine.plan import Plan

METHOD = ("distribution-free order-statistic interval of the median (binomial ranks; "
          "Conover 1999, s3.2)")


@functools.lru_cache(maxsize=256)
def median_ranks(n: int, level: float) -> tuple[int, int] | None:
    """1-based ranks ``(l, u)`` of the order statistics that bound a ``level`` confidence
    interval of the median of ``n`` replicas, ``u = n + 1 - l``; ``None`` when ``n`` is
    too small for one (``0.5**n > (1 - level) / 2``).

    The coverage is ``1 - 2 * P(B <= l - 1)``, ``B ~ Binomial(n, 1/2)``, at least
    ``level``; ``l`` is the largest rank that keeps it so (the narrowest such interval).
    """
    if n < 1:
        return None
    half_alpha = (1.0 - level) / 2.0
    i = np.arange(n, dtype=np.float64)
    # log pmf of Binomial(n, 1/2) at 0..n by the ratio pmf(k+1)/pmf(k) = (n-k)/(k+1)
    logpmf = n * math.log(0.5) + np.concatenate(([0.0], np.cumsum(np.log((n - i) / (i + 1)))))
    cdf = np.cumsum(np.exp(logpmf))
    ok = np.flatnonzero(cdf[: (n + 1) // 2] <= half_alpha * (1.0 + 1e-9))
    if ok.size == 0:
        return None
    low = int(ok[-1]) + 1
    return low, n + 1 - low


def median_interval(values: np.ndarray, level: float) -> tuple[float, float] | None:
    """The ``level`` confidence interval ``(lower, upper)`` of the median of ``values``
    (1-D, one per replica; ``-inf``/``inf`` allowed), or ``None`` when there are too few
    values for one (:func:`median_ranks`)."""
    v = np.sort(np.asarray(values, np.float64).ravel())
    ranks = median_ranks(v.size, level)
    if ranks is None:
        return None
    return float(v[ranks[0] - 1]), float(v[ranks[1] - 1])


@dataclass
class Metric:
    """One targeted median: where the summary reports it, and its sample."""

    path: str  # dotted path of the statistic in summary.json
    words: str  # what it is, for the log
    unit: str  # "days" or "fraction" (a share; written in percentage points)
    target: float  # wanted half-width, in the statistic's own unit (days; a fraction)
    estimate: float | None  # the P50 the summary reports (None: cannot be measured)
    values: np.ndarray  # the per-replica sample its interval is taken over
    why_null: str | None = None

    def assess(self, level: float) -> dict[str, Any]:
        """``{estimate, lower, upper, half_width, target, reached}``; ``half_width`` is
        ``None`` without an interval (too few replicas) and infinite when an end falls
        on an unbounded replica."""
        out: dict[str, Any] = {"what": self.words, "unit": self.unit,
                               "estimate": self.estimate, "target": self.target}
        if self.estimate is None:
            return {**out, "lower": None, "upper": None, "half_width": None,
                    "reached": None, "null_reason": self.why_null}
        ci = median_interval(self.values, level)
        if ci is None:
            return {**out, "lower": None, "upper": None, "half_width": None,
                    "reached": False}
        lo, hi = ci
        hw = (hi - lo) / 2.0 if math.isfinite(lo) and math.isfinite(hi) else math.inf
        return {**out, "lower": lo if math.isfinite(lo) else None,
                "upper": hi if math.isfinite(hi) else None,
                "half_width": hw if math.isfinite(hw) else None,
                "reached": bool(hw <= self.target)}


def metrics(plan: Plan, raw: RawResults, prec: PrecisionConfig) -> list[Metric]:
    """Every targeted median of a run's (first) replicas in ``raw``.

    Parameters
    ----------
    plan : Plan
    raw : RawResults
        The replicas simulated so far (any number, e.g. :meth:`RawResults.head`).
    prec : PrecisionConfig
        Which statistics are targets (a ``null`` target is skipped) and their half-widths.
    """
    out: list[Metric] = []
    for a in tenants(plan):
        t = plan.party_names[a]
        js = np.flatnonzero(plan.job_party == a)
        if prec.delay_days is not None and js.size:
            for vi, v in enumerate(plan.variants):
                if vi == 0 or v.kind == "sweep":
                    continue
                d = Delays(plan, raw, js, vi)
                road = d.roadmap()
                out.append(Metric(
                    f"tenants.{t}.counterfactuals.{v.name}.roadmap_delay_days.p50",
                    f"{t}'s roadmap delay P50 under {v.name}", "days", prec.delay_days,
                    road["p50"], d.lo.max(axis=1), road.get("null_reason")))
        if prec.dependency_share is None or not js.size:
            continue
        fp = raw.job_flops_pool[0][:, js]  # (R, Jt, P)
        total = fp.sum(axis=(1, 2))
        mine = [plan.party_names[plan.lease_owner[li]] for li in range(len(plan.lease_names))
                if plan.lease_cf[li] and plan.lease_tenant[li] == a]
        scopes = [("", f"tenants.{t}.dependency_share.p50", landlords(plan))]
        if len(set(mine)) > 1:
            scopes += [(n, f"tenants.{t}.by_landlord.{n}.dependency_share.p50",
                        [plan.party_names.index(n)]) for n in dict.fromkeys(mine)]
        for name, path, owners in scopes:
            part = fp[:, :, np.isin(plan.pool_owner, owners)].sum(axis=(1, 2))
            d = share_dist(part, total, NOTHING_TRAINED)
            ok = total > 0
            out.append(Metric(path, f"{t}'s dependency share P50" + (f" on {name}" if name
                                                                     else ""),
                              "fraction", prec.dependency_share, d["p50"],
                              part[ok] / total[ok], d.get("null_reason")))
    return out


def describe(words: str, unit: str, half_width: float | None, target: float) -> str:
    """``"<words> ±6.1 days (target ±5)"`` for the log and the report; a fraction's
    half-width in percentage points."""
    scale, name = (100.0, "points") if unit == "fraction" else (1.0, unit)
    hw = "unbounded" if half_width is None else f"±{half_width * scale:.3g} {name}"
    return f"{words} {hw} (target ±{target * scale:g})"


def widest(assessed: dict[str, dict[str, Any]], found: list[Metric]) -> Metric | None:
    """The measurable metric furthest from its target (largest half-width / target;
    unbounded first), or ``None`` when none is measurable."""
    best, key = None, -1.0
    for m in found:
        a = assessed[m.path]
        if a["estimate"] is None:
            continue
        r = math.inf if a["half_width"] is None else a["half_width"] / m.target
        if r > key:
            best, key = m, r
    return best


def stop_reason(assessed: dict[str, dict[str, Any]], n: int, prec: PrecisionConfig,
                elapsed_s: float) -> str | None:
    """Why an auto run stops after ``n`` replicas, or ``None`` to go on.

    ``target_reached`` when every measurable target is met (checked first: a run that
    reaches its targets as its cap or budget runs out stopped because of them);
    ``nothing_measurable`` when no targeted statistic can be measured;
    ``max_replicas`` when the cap is reached; ``time_budget`` when the next round, at
    the wall time per replica so far, would end past ``time_budget_s``.
    """
    measurable = [a for a in assessed.values() if a["estimate"] is not None]
    if not measurable:
        return "nothing_measurable"
    if all(a["reached"] for a in measurable):
        return "target_reached"
    if n >= prec.max_replicas:
        return "max_replicas"
    if prec.time_budget_s is not None:
        step = min(prec.step_replicas, prec.max_replicas - n)
        if elapsed_s + elapsed_s / n * step > prec.time_budget_s:
            return "time_budget"
    return None


def document(prec: PrecisionConfig, assessed: dict[str, dict[str, Any]], n: int,
             reason: str, checks: list[int]) -> dict[str, Any]:
    """The ``precision`` block of ``summary.json`` (docs/summary-schema.md)."""
    return {
        "replicas_run": int(n),
        "stop_reason": reason,
        "checks": [int(c) for c in checks],
        "ci_level": prec.ci_level,
        "method": METHOD,
        "targets": {"delay_days": prec.delay_days, "dependency_share": prec.dependency_share},
        "min_replicas": prec.min_replicas,
        "max_replicas": prec.max_replicas,
        "step_replicas": prec.step_replicas,
        "time_budget_s": prec.time_budget_s,
        "machine_dependent": prec.time_budget_s is not None,
        "metrics": {k: assessed[k] for k in sorted(assessed)},
    }


def next_round(n: int, prec: PrecisionConfig) -> int:
    """The replica count of the next check after ``n``: ``min_replicas`` first, then
    ``step_replicas`` more at a time, never past ``max_replicas``."""
    if n == 0:
        return min(prec.min_replicas, prec.max_replicas)
    return min(n + prec.step_replicas, prec.max_replicas)


__all__ = ["METHOD", "Metric", "describe", "document", "median_interval", "median_ranks",
           "metrics", "next_round", "stop_reason", "widest"]
