"""Load a saved run (``config.yaml``, ``raw.npz``, summary) for re-rendering, and the small
statistics the figures share. Nothing here simulates or plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simgpu.engine.numpy_engine import RawResults
from simgpu.engine.plan import Plan
from simgpu.errors import RunDirError

RAW_NAME = "raw.npz"
CONFIG_NAME = "config.yaml"
SUMMARY_NAME = "summary.json"


@dataclass
class ReportData:
    """Everything a report is drawn from.

    Attributes
    ----------
    plan : Plan
        The compiled plan (names, roles, deterministic series such as ``lease_usd_h``).
    raw : RawResults
        Per-replica records.
    summary : dict
        The ``summary.json`` document.
    """

    plan: Plan
    raw: RawResults
    summary: dict[str, Any]

    # ------------------------------------------------------------------ names
    @property
    def start(self) -> np.datetime64:
        """``sim.start`` as a day."""
        return np.datetime64(self.plan.cfg.sim.start[:10], "D")

    @property
    def horizon_days(self) -> float:
        return self.plan.horizon_hours / 24.0

    @property
    def replicas(self) -> int:
        return int(self.raw.job_finish_h.shape[1])

    def label(self, party: int | str) -> str:
        """Display name of a party (its ``label`` when set)."""
        name = party if isinstance(party, str) else self.plan.party_names[party]
        cfg = self.plan.cfg.parties.get(name)
        return (getattr(cfg, "label", "") or name) if cfg is not None else name

    def parties(self, role: str) -> list[int]:
        """Indices of the parties with ``role``."""
        return [i for i, r in enumerate(self.plan.party_role) if r == role]

    def variant(self, kind: str) -> int | None:
        """Index of the first variant of ``kind``, or None."""
        return next((i for i, v in enumerate(self.plan.variants) if v.kind == kind), None)

    def date(self, days: np.ndarray | float) -> np.ndarray:
        """Days since ``sim.start`` as ``datetime64[m]`` (for time axes)."""
        minutes = np.round(np.asarray(days, np.float64) * 1440.0).astype(np.int64)
        return self.start.astype("datetime64[m]") + minutes.astype("timedelta64[m]")

    # ------------------------------------------------------------- landlords
    @property
    def landlords(self) -> list[str]:
        """Names of the parties with role landlord, in the plan's order."""
        return [self.plan.party_names[a] for a in self.parties("landlord")]

    def tenant_landlords(self, tenant: int) -> list[str]:
        """The landlords that lease GPUs to ``tenant`` (under a landlord-to-tenant lease),
        in the plan's order of their leases; every landlord when it has no such lease."""
        plan = self.plan
        out = [plan.party_names[plan.lease_owner[li]] for li in range(len(plan.lease_names))
               if plan.lease_cf[li] and plan.lease_tenant[li] == tenant]
        return list(dict.fromkeys(out)) or self.landlords

    def owned(self, owners: Sequence[str]) -> np.ndarray:
        """(P,) bool: pools owned by any of the parties named ``owners``."""
        idx = [self.plan.party_names.index(n) for n in owners]
        return np.isin(self.plan.pool_owner, idx)

    def flops_share(self, jobs: Sequence[int] | np.ndarray, owners: Sequence[str],
                    variant: int = 0) -> np.ndarray:
        """(R,) share of the kept training FLOPs of ``jobs`` computed on pools owned by
        ``owners``; NaN in histories where the jobs kept no FLOPs."""
        fp = self.raw.job_flops_pool[variant][:, np.asarray(jobs, np.int64)]  # (R, J', P)
        total = fp.sum(axis=(1, 2))
        part = fp[:, :, self.owned(owners)].sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)

    def touched(self, job: int, owners: Sequence[str], variant: int = 0) -> np.ndarray:
        """(R,) bool: the job held GPUs on a pool owned by ``owners`` in that history."""
        gh = self.raw.job_alloc_gpu_h_pool[variant][:, job]  # (R, P)
        return gh[:, self.owned(owners)].sum(axis=1) > 0

    def lease_prices(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per lease, per history of the baseline: (payments / healthy GPU-hours
        delivered, payments / GPU-hours the tenant's training used under it), US$; NaN
        where nothing was delivered or used (the summary's ``effective_usd_per_gpu_hour``
        and ``usd_per_gpu_hour_used``, per history)."""
        from simgpu.analysis.summary import used_gpu_hours

        used = used_gpu_hours(self.plan, self.raw)[0]  # (R, L)
        paid = self.raw.lease_paid_usd[0]  # (L,)
        deliv = self.raw.lease_delivered_gpu_h[0]  # (R, L)
        out = []
        for li in range(len(self.plan.lease_names)):
            with np.errstate(invalid="ignore", divide="ignore"):
                d = np.where(deliv[:, li] > 0, paid[li] / deliv[:, li], np.nan)
                u = np.where(used[:, li] > 0, paid[li] / used[:, li], np.nan)
            out.append((d, u))
        return out

    def sweep_base(self, sweep: str) -> float | None:
        """The value of sweep ``sweep``'s lever in the baseline (the configured story):
        0 withheld, price factor 1, no shift, or the swept leases' configured share when
        they all lease the same share; None when the baseline has no single value."""
        from simgpu import timeline as tl

        cfg = self.plan.cfg
        sw = cfg.scenario.sweeps.get(sweep)
        if sw is None:
            return None
        lever = getattr(sw.lever, "value", sw.lever)
        if lever == "share":
            shares = {cfg.leases[n].share for n in tl.sweep_leases(cfg, sw)}
            return float(shares.pop()) if len(shares) == 1 and None not in shares else None
        return {"withhold": 0.0, "price": 1.0, "start_days": 0.0}.get(lever)

    def date_lever(self, sweep: str) -> dict[str, Any] | None:
        """What a sweep over a date (lever ``terminate`` or ``withhold_start``: values are
        days since ``sim.start``) does: ``{lever, leases, landlords, notice_days, fraction,
        days}`` (``leases``: the swept leases' names; ``landlords``: display names of their
        landlords; ``notice_days``: their termination notice periods; ``fraction`` and
        ``days`` of a withholding, ``days`` None = to the lease's end); None for any other
        sweep."""
        from simgpu import timeline as tl

        cfg = self.plan.cfg
        sw = cfg.scenario.sweeps.get(sweep)
        lever = getattr(sw.lever, "value", sw.lever) if sw is not None else None
        if lever not in ("terminate", "withhold_start"):
            return None
        names = tl.sweep_leases(cfg, sw)
        return {"lever": lever, "leases": names,
                "landlords": list(dict.fromkeys(self.label(cfg.pools[cfg.leases[n].pool].owner)
                                                for n in names)),
                "notice_days": sorted({cfg.leases[n].termination_notice_days for n in names
                                       if cfg.leases[n].termination_notice_days is not None}),
                "fraction": sw.fraction, "days": sw.days}


def spread(values: np.ndarray) -> tuple[float, float, float] | None:
    """(P10, P50, P90) of the finite values of a 1-D sample; None when none is finite."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    p10, p50, p90 = np.percentile(v, [10.0, 50.0, 90.0])
    return float(p10), float(p50), float(p90)


def quantiles(values: np.ndarray, horizon: float, qs=(10.0, 50.0, 90.0), axis: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of times censored at ``horizon`` and whether each lies at the horizon.

    Parameters
    ----------
    values : ndarray
        Times (any unit; ``inf`` = never), replicas along ``axis``.
    horizon : float
        Censoring point, same unit.
    qs : sequence of float
        Percentiles.

    Returns
    -------
    q : ndarray, shape (len(qs), ...)
        Linear-interpolated percentiles of ``min(values, horizon)``.
    censored : ndarray of bool, same shape
        True where the percentile reaches the horizon (the event had not happened).
    """
    v = np.minimum(np.asarray(values, np.float64), horizon)
    q = np.percentile(v, list(qs), axis=axis)
    return q, q >= horizon * (1 - 1e-9)


def is_run_dir(path: str | Path, summary_name: str = SUMMARY_NAME) -> bool:
    """True when ``path`` holds a complete run (config, raw records and summary)."""
    p = Path(path)
    return all((p / n).is_file() for n in (CONFIG_NAME, RAW_NAME, summary_name))


def load_run(run_dir: str | Path) -> ReportData:
    """Read a run directory written by :meth:`simgpu.run.Results.write`.

    Parameters
    ----------
    run_dir : str or Path
        Directory holding ``config.yaml``, ``raw.npz`` and the summary.

    Returns
    -------
    ReportData

    Raises
    ------
    RunDirError
        The directory does not exist or does not hold a complete run.
    """
    from omegaconf import OmegaConf

    from simgpu.config.load import load
    from simgpu.engine.plan import compile_plan

    d = Path(run_dir)
    if not d.is_dir():
        raise RunDirError(f"{d}: no such directory")
    missing = [n for n in (CONFIG_NAME, RAW_NAME) if not (d / n).is_file()]
    if missing:
        raise RunDirError(f"{d} holds no simgpu run (missing {', '.join(missing)}); "
                          "give the output directory of a finished `simgpu` run")
    config = load(OmegaConf.load(d / CONFIG_NAME))
    summary_path = d / config.report.summary
    if not summary_path.is_file():
        raise RunDirError(f"{d} holds no finished simgpu run (missing {summary_path.name}); "
                          "give the output directory of a finished `simgpu` run")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    plan = compile_plan(config)
    raw = read_raw(d / RAW_NAME, RunDirError)
    return ReportData(plan, raw, _in_plan_order(summary, plan))


def read_raw(path: Path, error: type[Exception]) -> RawResults:
    """The per-replica records of a run's ``raw.npz``; ``error`` (with the path) when a
    record is missing (a file written by another simgpu version)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    fields = RawResults.__dataclass_fields__
    absent = [k for k in fields if k not in arrays and k != "cap_daily"]
    if absent:
        raise error(f"{path}: missing records {', '.join(absent)} "
                    "(written by another simgpu version?)")
    return RawResults(**{k: arrays.get(k) for k in fields})


def _in_plan_order(summary: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The summary's per-name sections in the order :func:`simgpu.analysis.summarize` built
    them (the plan's), not the file's sorted keys, so that a re-rendered report lists jobs,
    tenants and leases as the report rendered from memory does."""
    order = {"jobs": plan.job_names, "tenants": plan.party_names,
             "landlords": plan.party_names, "leases": plan.lease_names,
             "pools": plan.pool_names}
    for key, names in order.items():
        sec = summary.get(key)
        if isinstance(sec, dict):
            rank = {n: i for i, n in enumerate(names)}
            summary[key] = dict(sorted(sec.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    sens = summary.get("sensitivity")
    if isinstance(sens, dict):  # inputs in the configured order (ties in a tornado keep it)
        inputs = [getattr(i, "value", i) for i in plan.cfg.report.sensitivity.inputs]
        for key, names in (("inputs", inputs), ("tenants", plan.party_names)):
            sec = sens.get(key)
            if isinstance(sec, dict):
                rank = {n: i for i, n in enumerate(names)}
                sens[key] = dict(sorted(sec.items(),
                                        key=lambda kv: rank.get(kv[0], len(rank))))
    return summary


# ------------------------------------------------------------------ sensitivity
#: The headline metrics of ``summary["sensitivity"]`` in report order, in words, with the
#: unit they are drawn in and the factor from the summary's value to it.
SENS_METRICS: dict[str, tuple[str, str, float]] = {
    "no_lease_delay_days": ("roadmap delay without the leases (largest delay of any "
                            "milestone, P50)", "days", 1.0),
    "last_milestone_no_lease_delay_days": ("last milestone's delay without the leases (P50)",
                                           "days", 1.0),
    "control_index": ("control index", "index", 1.0),
    "dependency_share": ("share of training compute on landlord hardware (P50)", "%", 100.0),
    "effective_usd_per_gpu_hour": ("US$ per GPU-hour delivered, over the tenant's leases",
                                   "US$", 1.0),
}
#: The uncertain inputs in words (``summary["sensitivity"]["inputs"][k]["what"]`` is the
#: long form).
SENS_INPUTS = {
    "failure_rate": "node failure rate",
    "restart": "restart time after an interruption",
    "checkpoint_write": "checkpoint write time",
    "mfu": "model FLOPs utilisation (MFU)",
    "repair": "repair and outage durations",
    "ramp": "capacity ramp dates",
}
#: What the end values of an input multiply or shift, for its range in words.
_SENS_UNITS = {
    "checkpoint_write": "the configured write time",
    "mfu": "the configured MFU",
    "repair": "the configured durations",
}


@dataclass
class SensRow:
    """One input of the sensitivity analysis for one tenant and one metric.

    ``low`` and ``high`` are ``{value, lower_bound}`` (``value`` None: not measurable) or
    None when the input does not apply to the scenario; ``swing`` is the width of the
    input's bar: the span of the base value and both ends (None when fewer than two of
    them are measured), in the metric's drawn unit; ``bounded`` is True when a value it
    rests on is a lower bound, and ``swing_ge`` when the swing is then itself a lower bound
    (only the largest value is a bound: the true span can only be wider).
    """

    input: str
    words: str
    range: str
    applies: bool
    low: dict | None
    high: dict | None
    swing: float | None
    bounded: bool
    swing_ge: bool = False


def sens_value(metric: str, m: dict | None) -> float | None:
    """A metric's value in its drawn unit (percent for shares), None when not measured."""
    if not m or m.get("value") is None:
        return None
    return float(m["value"]) * SENS_METRICS.get(metric, ("", "", 1.0))[2]


def sens_text(metric: str, m: dict | None, unit: bool = True) -> str:
    """``"17.1 d"``, ``"≥ 0.42"``, ``"93.3 %"``, ``"$1,076"``; ``"not measurable"``."""
    x = sens_value(metric, m)
    if x is None:
        return "not measurable"
    ge = "≥ " if m.get("lower_bound") else ""
    u = SENS_METRICS.get(metric, ("", "", 1.0))[1]
    if u == "days":
        return f"{ge}{x:,.1f}{' d' if unit else ''}"
    if u == "%":
        return f"{ge}{x:.1f}{' %' if unit else ''}"
    if u == "US$":
        return f"{ge}${x:,.2f}" if unit else f"{ge}{x:,.2f}"
    return f"{ge}{x:.3g}" if abs(x) < 1000 else f"{ge}{x:,.0f}"


def swing_text(metric: str, row: SensRow, note: bool = True) -> str:
    """A row's swing in the metric's unit: ``"1.2 days"``, ``"≥ 22.0 days"`` (only its
    largest value is a lower bound), ``"0.04 (rests on lower bounds)"``; ``"n/a"``."""
    if row.swing is None:
        return "n/a"
    u = SENS_METRICS.get(metric, ("", "", 1.0))[1]
    x = row.swing
    num = f"{x:,.1f}" if x >= 10 else f"{x:.2g}"
    ge = "≥ " if row.swing_ge else ""
    tail = " (rests on lower bounds)" if note and row.bounded and not row.swing_ge else ""
    return ge + {"days": f"{num} days", "%": f"{num} percentage points",
                 "US$": f"${num}"}.get(u, num) + tail


def sens_range(doc: dict, inp: str) -> str:
    """An input's low and high values in words: ``"2.5 min to 20 min"``, ``"×0.25 to ×4 the
    configured write time"``, ``"h100 3.79 to 8.5, gb200 2.9 to 13 per 1000 node-days"``;
    ``"does not apply"`` when the scenario has nothing it acts on."""
    e = (doc.get("inputs") or {}).get(inp) or {}
    lo, hi = str(e.get("low", "?")), str(e.get("high", "?"))
    if lo == "does not apply" and hi == "does not apply":
        return "does not apply to this scenario"
    if ": " in lo and ": " in hi and lo.split(": ", 1)[0] == hi.split(": ", 1)[0]:
        unit, a = lo.split(": ", 1)
        b = hi.split(": ", 1)[1]
        pa, pb = a.split(", "), b.split(", ")
        if len(pa) == len(pb) and all(x.rsplit(" ", 1)[0] == y.rsplit(" ", 1)[0]
                                      for x, y in zip(pa, pb, strict=True)):
            parts = [f"{x.rsplit(' ', 1)[0]} {x.rsplit(' ', 1)[-1]} to "
                     f"{y.rsplit(' ', 1)[-1]}" for x, y in zip(pa, pb, strict=True)]
            return ", ".join(parts) + f" {unit}"
        return f"{a} to {b} {unit}"
    if lo.startswith("x") and hi.startswith("x"):
        return f"×{lo[1:]} to ×{hi[1:]} {_SENS_UNITS.get(inp, 'the configured value')}"
    if inp == "ramp":
        return f"{lo} to {hi} (capacity dates moved)"
    return f"{lo} to {hi}"


def sens_rows(doc: dict, tenant: str, metric: str) -> list[SensRow]:
    """The inputs of ``summary["sensitivity"]`` for ``tenant`` and ``metric``, sorted by
    swing, largest first; inputs with fewer than two measured values next, and those that
    do not apply to the scenario last (configured order within each group)."""
    t = (doc.get("tenants") or {}).get(tenant) or {}
    base = (t.get("base") or {}).get(metric)
    b = sens_value(metric, base)
    rows = []
    for inp in doc.get("inputs") or {}:
        ends = (t.get("inputs") or {}).get(inp) or {}
        lo, hi = ends.get("low"), ends.get("high")
        lo_m = None if lo is None else lo.get(metric)
        hi_m = None if hi is None else hi.get(metric)
        vals = [(v, m) for v, m in ((b, base), (sens_value(metric, lo_m), lo_m),
                                    (sens_value(metric, hi_m), hi_m)) if v is not None]
        swing = (max(v for v, _ in vals) - min(v for v, _ in vals)) if len(vals) >= 2 and \
            (sens_value(metric, lo_m) is not None or sens_value(metric, hi_m) is not None) \
            else None
        bounds = [v for v, m in vals if m.get("lower_bound")]
        top = max((v for v, _ in vals), default=None)
        rows.append(SensRow(
            inp, SENS_INPUTS.get(inp, str((doc["inputs"][inp] or {}).get("what", inp))),
            sens_range(doc, inp), lo is not None or hi is not None, lo_m, hi_m, swing,
            bool(bounds), bool(bounds) and all(v == top for v in bounds)
            and sum(v == top for v, _ in vals) == len(bounds)))
    order = {r.input: i for i, r in enumerate(rows)}
    return sorted(rows, key=lambda r: (not r.applies, r.swing is None, -(r.swing or 0.0),
                                       order[r.input]))


def sens_unmeasured(doc: dict, tenant: str) -> list[str]:
    """The headline metrics of ``tenant`` that no point of ``summary["sensitivity"]``
    measured (e.g. the control index of a scenario without withholding levels)."""
    t = (doc.get("tenants") or {}).get(tenant) or {}
    pts = [t.get("base") or {}] + [e for ends in (t.get("inputs") or {}).values()
                                   for e in (ends or {}).values() if e]
    return [m for m in SENS_METRICS if m in (t.get("base") or {})
            and all(sens_value(m, p.get(m)) is None for p in pts)]


def sens_null_reason(summary: dict, tenant: str, metric: str) -> str | None:
    """Why the main run could not measure ``metric`` for ``tenant``, where it says."""
    t = (summary.get("tenants") or {}).get(tenant) or {}
    if metric == "control_index":
        return t.get("control_index_null_reason")
    if metric == "dependency_share":
        return (t.get("dependency_share") or {}).get("null_reason")
    if metric == "no_lease_delay_days":
        return (t.get("no_lease_delay_days") or {}).get("null_reason")
    return None
