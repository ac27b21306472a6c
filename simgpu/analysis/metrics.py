"""Distributions over replicas, with honest bounds where the horizon cuts histories off.

A quantity of one replica is either known, or known only to lie in an interval: a
milestone that has not finished by the horizon ``H`` under a variant finishes at some
unknown time after ``H``, so its delay against a baseline that finished at ``b`` is at
least ``H - b``; a delay against a baseline that never finished is at most ``v - H``, or
unknown when neither finished. Percentiles are monotone, so the percentile of the lower
ends and that of the upper ends bracket the true one: it is reported exact when the two
agree, as a lower bound (``lower_bound: true``) when only the lower end is finite, and as
``null`` with a reason when not even a lower bound exists. Nothing that cannot be measured
is reported as 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

QUANTILES = {"p10": 10.0, "p50": 50.0, "p90": 90.0}
STATS = ("mean", *QUANTILES)


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _bracket(n: int, q: float) -> list[int]:
    pos = (n - 1) * q / 100.0
    return sorted({int(math.floor(pos)), int(math.ceil(pos))})


def _quantile(srt: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile of sorted ``srt``; ``nan`` when it falls on a
    non-finite value."""
    idx = _bracket(srt.size, q)
    if not np.isfinite(srt[idx]).all():
        return math.nan
    with np.errstate(invalid="ignore"):  # non-finite values elsewhere in the sample
        return float(np.percentile(srt, q, method="linear"))


def dist(values: np.ndarray) -> dict[str, float | None]:
    """Mean, P10, P50, P90 of a 1-D sample; ``null`` where a value is not finite.

    The mean is ``null`` when any value is not finite; a quantile is ``null`` when it
    falls on a non-finite value (``inf`` sorts last, so P10 may exist while P90 does not).
    """
    v = np.asarray(values, np.float64).ravel()
    if v.size == 0:
        return {k: None for k in STATS}
    srt = np.sort(v)
    with np.errstate(invalid="ignore"):
        out = {"mean": _num(v.mean()) if np.isfinite(v).all() else None}
    for k, q in QUANTILES.items():
        out[k] = _num(_quantile(srt, q))
    return out


def measured_dist(values: np.ndarray, measured: np.ndarray, why: str) -> dict[str, Any]:
    """:func:`dist` over the replicas where the quantity exists (``measured``); with the
    share of replicas it rests on, and ``null`` with ``null_reason`` when none has it."""
    v = np.asarray(values, np.float64).ravel()
    m = np.asarray(measured, bool).ravel()
    if not m.any():
        return {**{k: None for k in STATS}, "measured_fraction": 0.0, "null_reason": why}
    out: dict[str, Any] = dist(v[m])
    out["measured_fraction"] = float(m.mean())
    return out


def interval_dist(lo: np.ndarray, hi: np.ndarray, why_null: str) -> dict[str, Any]:
    """Distribution of a quantity known per replica to lie in ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : ndarray, shape (R,)
        Lower and upper ends per replica (``-inf`` / ``inf`` where unbounded; equal where
        the value is known).
    why_null : str
        The reason given when a statistic has no finite lower bound.

    Returns
    -------
    dict
        ``mean, p10, p50, p90``: exact, or lower bounds, or ``null``;
        ``censored_fraction``: share of replicas known only within an interval;
        ``lower_bound``: whether any reported statistic is a lower bound rather than exact;
        ``null_reason`` when a statistic is ``null``.
    """
    lo = np.asarray(lo, np.float64).ravel()
    hi = np.asarray(hi, np.float64).ravel()
    out: dict[str, Any] = {}
    bound = False
    if lo.size == 0:
        return {**{k: None for k in STATS}, "censored_fraction": 0.0, "lower_bound": False,
                "null_reason": "no history"}
    exact = lo == hi
    if np.isfinite(lo).all():
        out["mean"] = float(lo.mean())
        bound |= not exact.all()
    else:
        out["mean"] = None
    slo, shi = np.sort(lo), np.sort(hi)
    for k, q in QUANTILES.items():
        a, b = _quantile(slo, q), _quantile(shi, q)
        if math.isnan(a):
            out[k] = None
            continue
        out[k] = a
        bound |= not (math.isfinite(b) and abs(a - b) <= 1e-9 * max(1.0, abs(a)))
    out["censored_fraction"] = float((~exact).mean())
    out["lower_bound"] = bool(bound)
    if any(out[k] is None for k in STATS):
        out["null_reason"] = why_null
    return out


def delay_bounds(variant_h: np.ndarray, base_h: np.ndarray, horizon_h: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-replica bounds of a delay in days (``inf`` finish times = not by the horizon).

    Both finished: exact. The variant's milestone unfinished: at least
    ``horizon - baseline``. The baseline's unfinished: at most ``variant - horizon``
    (no lower bound). Neither finished: unknown.
    """
    v = np.asarray(variant_h, np.float64)
    b = np.asarray(base_h, np.float64)
    fv, fb = np.isfinite(v), np.isfinite(b)
    with np.errstate(invalid="ignore"):
        exact = (v - b) / 24.0
    lo = np.where(fv & fb, exact, np.where(fb, (horizon_h - b) / 24.0, -np.inf))
    hi = np.where(fv & fb, exact, np.where(fv, (v - horizon_h) / 24.0, np.inf))
    return lo, hi


def control_index(levels: list[float], delays_p50: list[float], base_days_p50: float | None
                  ) -> float | None:
    """Area under the P50 leverage curve over the withheld fraction, per baseline day.

    ``CI = (1 / T) * integral_0^1 D(w) dw`` with ``D`` the P50 roadmap delay (days, the
    largest delay of any milestone) at withheld fraction ``w`` (linear between levels,
    ``D(0) = 0``, flat beyond the last level) and ``T`` the baseline P50 day of the final
    milestone. 0: withholding changes nothing; 1: withholding a uniformly random fraction
    delays the roadmap, on average, by its whole baseline duration. ``None`` without
    levels or a baseline finish.
    """
    if base_days_p50 is None or base_days_p50 <= 0 or not levels:
        return None
    w = np.array([0.0] + list(levels) + [1.0])
    d = np.array([0.0] + list(delays_p50) + [delays_p50[-1]])
    order = np.argsort(w, kind="stable")
    w, d = w[order], d[order]
    area = float(np.sum((w[1:] - w[:-1]) * (d[1:] + d[:-1]) / 2.0))
    return area / base_days_p50


def share_dist(part: np.ndarray, total: np.ndarray, why: str) -> dict[str, Any]:
    """Distribution of ``part / total`` over the replicas where ``total > 0``."""
    part = np.asarray(part, np.float64)
    total = np.asarray(total, np.float64)
    ok = total > 0
    return measured_dist(np.where(ok, part / np.where(ok, total, 1.0), np.nan), ok, why)
