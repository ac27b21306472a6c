"""Collect the jobs of a Hydra multirun into tidy tables and draw the sweep figures.

A sweep directory is what ``simgpu -m`` writes::

    SWEEP_DIR/multirun.yaml           Hydra's (optional: read only to name the swept keys)
    SWEEP_DIR/<n>/.hydra/overrides.yaml   this job's command-line overrides (YAML list)
    SWEEP_DIR/<n>/summary.json        the run's summary (docs/summary-schema.md)
    SWEEP_DIR/<n>/COMPLETE            {"name", "overrides", "finished"}, written last

A **job directory** is a subdirectory whose name is all digits (Hydra's default
``${hydra.job.num}``) or that holds ``.hydra/`` or ``COMPLETE``. It is **complete** when
its ``COMPLETE`` marker exists and its ``summary.json`` is a readable summary document;
its overrides come from ``.hydra/overrides.yaml``, else from the marker. Any other job
directory (failed, cut off, still running, unreadable) is skipped, logged as a warning
and listed with its reason in :attr:`Aggregate.incomplete` and ``aggregate.json``: a
partial sweep aggregates what finished.

A **single run** is aggregated too: when ``SWEEP_DIR`` holds no job directory but a
``summary.json`` (the output directory of one ``simgpu`` run, with or without
``COMPLETE``), it is read as the only job, so that a run's in-batch sweeps
(``scenario.sweeps``) get their tables and figures without ``-m``.

Tables (:func:`collect`)
------------------------
``runs``: one row per complete job. Columns, in this order:

- ``job``: the job directory's name;
- the **swept parameters** (:attr:`Aggregate.params`): the override keys (``+``/``~``
  prefixes dropped, ``hydra.*`` ignored) whose values differ among the complete jobs, plus
  the keys ``multirun.yaml`` sweeps (when readable), in command-line order with
  ``sim.seed`` last. Values are typed as Hydra parses them (int, float, bool, str;
  ``null`` and an unset key are empty; lists and dicts stay as their text);
- ``name``: the experiment name;
- the summary's **numeric leaves**, sorted, as dotted paths: ``replicas``, ``seed``,
  ``tenants.anthropic.final_milestone_day.p50``, ``tenants.anthropic.control_index``,
  ``jobs.frontier_1.finish_day.mean``, ``leases.colossus_one.paid_usd``,
  ``pools.colossus1.availability.p10``... A ``null`` leaf is an empty cell (a quantile
  that falls on an unfinished replica; a variant that was not run). Strings (``party``,
  ``start``...), lists (``tenants.<t>.jobs``, ``tenants.<t>.leverage_curve``) and the
  per-variant maps (``variants``, ``by_variant``, ``paid_usd_by_variant``) are left out;
  ``sweeps`` goes to the points table.

``points``: one row per in-batch sweep point (the summary's ``sweeps`` section) per
complete job: ``job``, the swept parameters, ``name``, ``sweep``, ``lever``, ``value``,
``variant``, then the point's numeric leaves, sorted
(``tenants.anthropic.delay_days.p50``, ``leases.colossus_one.effective_usd_per_gpu_hour.mean``).
Jobs without a ``sweeps`` section add no rows.

Files (:func:`write`, default ``SWEEP_DIR/aggregate/``)
-------------------------------------------------------
``runs.csv`` and ``points.csv`` (header only when there is no point), ``runs.parquet`` and
``points.parquet`` when ``pyarrow`` imports, one PNG per figure and ``aggregate.json``
(params, counts, the incomplete jobs and why, metrics, files, figures). Every file is
written atomically, figures are drawn before anything is written, and files that a
previous aggregation listed but this one did not write (a figure for a lever no longer
swept) are removed. With no complete job only ``aggregate.json`` is written.

Figures
-------
A **metric** is a dotted path to a distribution (``{mean, p10, p50, p90}``) or a number:
absolute (``jobs.frontier_1.finish_day``, ``leases.colossus_one.paid_usd``) or relative to
the first tenant (``final_milestone_day`` is ``tenants.<first tenant>.final_milestone_day``;
tenants sort by name) or to each lease (``effective_usd_per_gpu_hour`` is
``leases.<lease>.effective_usd_per_gpu_hour``, one entry per lease). Default metrics: the
roadmap's finish (``final_milestone_day``), the in-batch points' roadmap delay
(``delay_days``), the delay without the leases (``no_lease_delay_days``), the dependency
share, the control index and the price per GPU-hour delivered; each is drawn where it
exists, and a default metric that exists nowhere is named in ``warnings``.
``sim.seed`` is never an axis: every plotted value is the mean, over the jobs sharing the
plotted coordinates (the seeds), of that job's P10, P50 and P90 (or number).

Every figure speaks in words (:func:`describe_metric`, :func:`describe_param`), not
dotted keys, and draws honestly: shares in percent on 0-100 %, days, prices, counts and
the control index on axes from 0. A mean is a **lower bound** when any job's value is one
(a delay with ``lower_bound``, a control index with ``control_index_lower_bound``, or a
time beyond the horizon, ``null`` in the summary, counted as the horizon): a hollow
marker with an upward arrow. A mean over a ``null`` that is not a time cannot be measured:
a cross at the foot of the axis. Neither is dropped. The **baseline** is marked: on an
in-batch sweep figure a star at the lever's value in each line's baseline (0 withheld,
price factor 1, no shift, the leases' configured share) and the metric there; on a line
figure a dotted line at the parameter's configured value (composed from the jobs' common
overrides; named in the legend when it lies off the swept range). A figure with no value
at all is left out and named in ``aggregate.json``'s ``warnings``.

- ``line_<metric>_vs_<param>.png``, for each swept parameter except ``sim.seed``: the P50
  against the parameter with a P10-P90 band, one line per combination of the other
  swept parameters;
- ``heatmap_<metric>_<param1>_x_<param2>.png`` when exactly two parameters other than
  ``sim.seed`` are swept: the P50 over the grid (cells annotated; grey "n/a" where no
  complete run or a null value);
- ``sweep_<sweep>_<metric>.png`` for each in-batch sweep: the P50 against the lever's value
  with a P10-P90 band, one line per combination of the swept parameters.

Exit codes of ``simgpu-aggregate`` (:mod:`simgpu.sweep.cli`)
--------------------------------------------------------------
0: at least one complete job was aggregated (incomplete ones are warned about and
listed); 1: job directories exist but none is complete: ``aggregate.json`` listing them is
written, nothing else; 2: ``SWEEP_DIR`` does not exist or holds neither a job directory nor
a run, or
``--metric`` names nothing in the complete jobs' tables: one message, nothing written.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgpu.errors import SimgpuError
from simgpu.io import atomic_write_bytes, atomic_write_json
from simgpu.marker import MARKER

log = logging.getLogger(__name__)

AGGREGATE_SCHEMA = "simgpu.aggregate/1"
SUMMARY = "summary.json"
OVERRIDES = Path(".hydra") / "overrides.yaml"
MULTIRUN = "multirun.yaml"
OUT_NAME = "aggregate"
JSON_NAME = "aggregate.json"
#: The parameter that is averaged over in figures, never used as an axis.
SEED_PARAM = "sim.seed"
#: Summary keys whose subtrees are not flattened into the runs table.
SKIP_KEYS = frozenset({"variants", "by_variant", "paid_usd_by_variant", "sweeps"})
DEFAULT_METRICS = ("final_milestone_day", "delay_days", "no_lease_delay_days",
                   "dependency_share", "control_index", "effective_usd_per_gpu_hour")
POINT_KEYS = ("sweep", "lever", "value", "variant")
PNG_DPI = 110


class SweepDirError(SimgpuError):
    """A sweep directory cannot be aggregated (missing, no job directory, bad metric)."""


@dataclass
class Aggregate:
    """The complete jobs of a sweep as tables, and the jobs that were skipped.

    Attributes
    ----------
    sweep_dir : Path
    runs : list of dict
        One row per complete job (module docstring: columns).
    points : list of dict
        One row per in-batch sweep point per complete job.
    incomplete : list of dict
        ``{"job", "dir", "reason"}`` per skipped job directory.
    params : list of str
        The swept parameters (override keys), ``sim.seed`` last.
    job_dirs : int
        Job directories found, complete or not.
    warnings : list of str
        Malformed parts of complete jobs that were left out (an unreadable sweep point).
    single : bool
        ``sweep_dir`` is one run's output directory, read as the only job.
    lease_landlords : dict
        Lease name -> its landlord's name (for the landlord's colour).
    sweep_base : dict
        (job, in-batch sweep) -> the value of the sweep's lever in that job's baseline,
        or None when the baseline has no single value of it.
    overrides : dict
        Job -> its command-line overrides, as written.
    """

    sweep_dir: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[dict[str, str]] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    job_dirs: int = 0
    warnings: list[str] = field(default_factory=list)
    single: bool = False
    lease_landlords: dict[str, str] = field(default_factory=dict)
    sweep_base: dict[tuple[str, str], float | None] = field(default_factory=dict)
    overrides: dict[str, list[str]] = field(default_factory=dict)

    @property
    def levers(self) -> list[str]:
        """Swept parameters that figures use as axes or lines (all but ``sim.seed``)."""
        return [p for p in self.params if p != SEED_PARAM]

    @property
    def seeds(self) -> list[Any]:
        """The distinct ``sim.seed`` values among the complete jobs (empty if not swept)."""
        if SEED_PARAM not in self.params:
            return []
        return _uniq(r.get(SEED_PARAM) for r in self.runs)

    @property
    def sweeps(self) -> list[str]:
        """The in-batch sweeps' names, in order of first appearance."""
        return _uniq(r["sweep"] for r in self.points)

    @property
    def tenants(self) -> list[str]:
        """Tenant names found in the tables, sorted (the first one is the default)."""
        return sorted({c.split(".")[1] for rows in (self.runs, self.points)
                       for r in rows for c in r if c.startswith("tenants.")})

    def run_columns(self) -> list[str]:
        """``job``, the swept parameters, ``name``, then the metrics sorted."""
        head = ["job", *self.params, "name"]
        return head + _rest(self.runs, head)

    def point_columns(self) -> list[str]:
        """``job``, the parameters, ``name``, ``sweep``, ``lever``, ``value``, ``variant``,
        then the point metrics sorted."""
        head = ["job", *self.params, "name", *POINT_KEYS]
        return head + _rest(self.points, head)


def _rest(rows: list[dict[str, Any]], head: list[str]) -> list[str]:
    seen = set(head)
    return sorted({c for r in rows for c in r if c not in seen})


def _uniq(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


# ------------------------------------------------------------------------------ reading


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Numeric (and ``null``) leaves of a summary as ``{dotted path: value}``.

    Strings and lists are left out, and so are the subtrees under :data:`SKIP_KEYS`.
    """
    out: dict[str, Any] = {}
    for k, v in doc.items():
        if k in SKIP_KEYS:
            continue
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif v is None or isinstance(v, (bool, int, float)):
            out[key] = v
    return out


def _scalar(v: Any, text: str) -> Any:
    return v if v is None or isinstance(v, (bool, int, float, str)) else text


def _convert(text: str) -> Any:
    """int, float, bool or None when ``text`` reads as one, else the text unquoted."""
    t = text.strip()
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "~", ""):
        return None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    return t


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def parse_overrides(lines: Sequence[str]) -> dict[str, Any]:
    """``{key: typed value}`` of command-line overrides, in order; ``hydra.*`` left out.

    Values are typed by Hydra's override grammar (``0.5`` float, ``2`` int, ``true`` bool,
    ``'x'`` str, ``null`` None; a list or dict stays its text); a deletion (``~key``) is
    None. Overrides Hydra cannot parse are split at the first ``=`` and typed by hand.
    """
    parser = _parser()
    out: dict[str, Any] = {}
    for line in lines:
        try:
            (o,) = parser.parse_overrides([str(line)])
            key = o.key_or_group + (f"@{o.package}" if o.package else "")
            if o.is_delete():
                val = None
            elif o.is_sweep_override():
                val = o.input_line.split("=", 1)[1]
            else:
                val = _scalar(o.value(), o.get_value_element_as_str())
        except Exception:  # noqa: BLE001 - not Hydra's grammar: split it by hand
            k, _, v = str(line).partition("=")
            key, val = k.lstrip("+~").strip(), _convert(v)
        out[key] = val
    return {k: v for k, v in out.items()
            if not (k == "hydra" or k.startswith(("hydra.", "hydra/")))}


def _swept_keys(sweep_dir: Path) -> list[str]:
    """Keys that ``multirun.yaml`` sweeps (``a=1,2``, ``range(..)``...); [] if unreadable."""
    try:
        import yaml

        doc = yaml.safe_load((sweep_dir / MULTIRUN).read_text(encoding="utf-8"))
        task = doc["hydra"]["overrides"]["task"]
        return [o.key_or_group for o in _parser().parse_overrides([str(t) for t in task])
                if o.is_sweep_override()]
    except Exception:  # noqa: BLE001 - optional file: missing or odd, use the jobs only
        return []


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Job directories of a sweep: numeric names (numerically) first, then the others."""
    out = [p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (
        p.name.isdigit() or (p / ".hydra").is_dir() or (p / MARKER).exists())]
    return sorted(out, key=lambda p: (0, int(p.name), "") if p.name.isdigit()
                  else (1, 0, p.name))


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_job(d: Path, need_marker: bool = True) -> tuple[dict[str, Any] | None, str]:
    """``({summary, overrides, name}, "")`` for a complete job, else ``(None, reason)``.

    Without ``need_marker`` (a single run given as the directory itself), a readable
    summary is enough: a run written by :meth:`simgpu.run.Results.write` has no marker
    and no overrides (taken as none)."""
    marker = d / MARKER
    if need_marker and not marker.is_file():
        return None, "no COMPLETE marker (failed, cut off or still running)"
    try:
        done = _read_json(marker) if marker.is_file() else {}
    except (OSError, ValueError):
        done = None
    done = done if isinstance(done, dict) else {}
    path = d / SUMMARY
    if not path.is_file():
        return None, f"no {SUMMARY}"
    try:
        summary = _read_json(path)
    except (OSError, ValueError) as exc:
        return None, f"{SUMMARY} unreadable ({type(exc).__name__}: {exc})"
    if not (isinstance(summary, dict)
            and str(summary.get("schema", "")).startswith("simgpu.summary/")):
        return None, f"{SUMMARY} is not a simgpu summary (no simgpu.summary/ schema)"
    overrides = None
    if (d / OVERRIDES).is_file():
        try:
            import yaml

            overrides = yaml.safe_load((d / OVERRIDES).read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - unreadable: try the marker's copy
            overrides = None
    if not isinstance(overrides, list):
        overrides = done.get("overrides")
    if not isinstance(overrides, list) and not need_marker and not marker.is_file():
        overrides = []
    if not isinstance(overrides, list):
        return None, f"no readable overrides ({OVERRIDES.as_posix()} or the COMPLETE marker)"
    name = summary.get("name") if isinstance(summary.get("name"), str) else done.get("name")
    return {"summary": summary, "overrides": [str(o) for o in overrides],
            "name": name if isinstance(name, str) else None, "dir": d}, ""


def _points(job: str, summary: dict[str, Any], warn: list[str]) -> list[dict[str, Any]]:
    sweeps = summary.get("sweeps")
    if sweeps is None:
        return []
    if not isinstance(sweeps, dict):
        warn.append(f"job {job}: 'sweeps' is not a mapping: left out")
        return []
    rows = []
    for sname, spec in sweeps.items():
        pts = spec.get("points") if isinstance(spec, dict) else None
        if not isinstance(pts, list):
            warn.append(f"job {job}: sweep {sname!r} has no list of points: left out")
            continue
        lever = spec.get("lever")
        for i, pt in enumerate(pts):
            value = pt.get("value") if isinstance(pt, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                warn.append(f"job {job}: sweep {sname!r} point {i} has no numeric value: "
                            "left out")
                continue
            row = {"sweep": str(sname), "lever": str(lever) if lever is not None else None,
                   "value": value, "variant": pt.get("variant")}
            row.update(flatten({k: v for k, v in pt.items() if k not in ("value", "variant")}))
            rows.append(row)
    return rows


def _job_facts(agg: Aggregate, job: str, summary: dict[str, Any], d: Path) -> None:
    """What the figures need beyond the tables: each lease's landlord, each in-batch
    sweep's leases, and the value of its lever in the job's baseline (withhold 0, price
    factor 1, no shift; a share from the job's ``config.yaml`` when every swept lease
    leases the same share, else None)."""
    for name, le in (summary.get("leases") or {}).items():
        if isinstance(le, dict) and isinstance(le.get("landlord"), str):
            agg.lease_landlords.setdefault(name, le["landlord"])
    sweeps = summary.get("sweeps")
    if not isinstance(sweeps, dict):
        return
    cfg: dict[str, Any] | None = None
    for sname, spec in sweeps.items():
        if not isinstance(spec, dict):
            continue
        lever = spec.get("lever")
        base = {"withhold": 0.0, "price": 1.0, "start_days": 0.0}.get(str(lever))
        leases = [str(x) for x in spec.get("leases") or []]
        if lever == "share":
            if cfg is None:
                try:
                    import yaml

                    cfg = yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8"))
                except Exception:  # noqa: BLE001 - no config: the share stays unknown
                    cfg = {}
                cfg = cfg if isinstance(cfg, dict) else {}
            shares = {((cfg.get("leases") or {}).get(n) or {}).get("share") for n in leases}
            one = shares.pop() if len(shares) == 1 else None
            base = float(one) if isinstance(one, (int, float)) else None
        agg.sweep_base[(job, str(sname))] = base


def collect(sweep_dir: str | Path) -> Aggregate:
    """Read every job directory of a sweep into tables; skip (and list) incomplete jobs.

    Parameters
    ----------
    sweep_dir : str or Path
        A Hydra multirun directory written by ``simgpu -m``, or the output directory of one
        run (its in-batch sweeps are then the only figures).

    Returns
    -------
    Aggregate

    Raises
    ------
    SweepDirError
        ``sweep_dir`` is not a directory, or holds neither a job directory nor a run.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise SweepDirError(f"{root} does not exist or is not a directory")
    dirs = find_job_dirs(root)
    single = not dirs and ((root / SUMMARY).is_file() or (root / MARKER).is_file())
    if single:
        dirs = [root]
    if not dirs:
        raise SweepDirError(f"{root} holds no job directory (expected 0/, 1/, ... as written "
                            "by `simgpu -m`) and no run (summary.json as written by `simgpu`)")
    agg = Aggregate(sweep_dir=root, job_dirs=len(dirs), single=single)
    jobs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for d in dirs:
        rec, reason = _read_job(d, need_marker=not single)
        if rec is None:
            agg.incomplete.append({"job": d.name, "dir": str(d), "reason": reason})
            log.warning("sweep job %s skipped: %s", d.name, reason)
            continue
        jobs.append((d.name, rec, parse_overrides(rec["overrides"])))
        agg.overrides[d.name] = list(rec["overrides"])
    if agg.incomplete:
        log.warning("%d of %d sweep jobs incomplete and skipped: %s", len(agg.incomplete),
                    len(dirs), ", ".join(i["job"] for i in agg.incomplete))

    keys = _uniq(k for _, _, ov in jobs for k in ov)
    missing = object()
    swept = set(_swept_keys(root))
    params = [k for k in keys if k in swept
              or len({repr(ov.get(k, missing)) for _, _, ov in jobs}) > 1]
    agg.params = [p for p in params if p != SEED_PARAM] + (
        [SEED_PARAM] if SEED_PARAM in params else [])

    for job, rec, ov in jobs:
        head = {"job": job, **{p: ov.get(p) for p in agg.params}, "name": rec["name"]}
        row = dict(head)
        for k, v in flatten(rec["summary"]).items():
            row.setdefault(k, v)
        agg.runs.append(row)
        for pt in _points(job, rec["summary"], agg.warnings):
            agg.points.append({**head, **pt})
        _job_facts(agg, job, rec["summary"], rec["dir"])
    for w in agg.warnings:
        log.warning("%s", w)
    log.info("collected %d complete jobs of %d (%d sweep points) from %s", len(agg.runs),
             len(dirs), len(agg.points), root)
    return agg


# ------------------------------------------------------------------------------ metrics


@dataclass(frozen=True)
class Metric:
    """A plotted quantity: ``mid`` column (P50 or the number), the band's columns, and the
    column that flags it as a lower bound (``<base>.lower_bound`` of a delay,
    ``..._lower_bound`` of a control index)."""

    name: str  # as asked (relative or absolute)
    base: str  # absolute dotted path
    mid: str
    lo: str | None = None
    hi: str | None = None
    bound: str | None = None

    @property
    def words(self) -> MetricWords:
        return describe_metric(self.base)


def resolve_metric(name: str, columns: Iterable[str], tenants: Sequence[str]) -> Metric | None:
    """The metric ``name`` among ``columns``: absolute, else under the first tenant.

    A distribution gives its P50 with the P10-P90 band; a number gives itself (no band);
    ``None`` when neither exists.
    """
    cols = set(columns)
    cands = [name] + ([f"tenants.{tenants[0]}.{name}"] if tenants else [])
    for base in cands:
        if f"{base}.p50" in cols:
            bound = f"{base}.lower_bound"
            return Metric(name, base, f"{base}.p50", f"{base}.p10", f"{base}.p90",
                          bound if bound in cols else None)
        if base in cols:
            bound = f"{base}_lower_bound"
            return Metric(name, base, base, bound=bound if bound in cols else None)
    return None


@dataclass(frozen=True)
class MetricWords:
    """How a metric reads on a figure: ``phrase`` (a noun phrase), ``unit`` and ``kind``:
    ``share`` (drawn in percent on 0-100 %), ``time`` (days since the start, censored at
    the horizon: a null statistic is at least the horizon), ``days``, ``usd``, ``index``,
    ``count`` (axes from 0) or ``other``."""

    phrase: str
    unit: str
    kind: str

    def label(self, stat: str = "P50") -> str:
        unit = f"{self.unit}; " if self.unit else ""
        return f"{self.phrase} ({unit}{stat})"


#: Words of the summary's leaves: leaf -> (phrase with {who}, unit, kind).
_LEAF_WORDS = {
    "final_milestone_day": ("day {who}'s roadmap is done", "days since the start", "time"),
    "finish_day": ("day {who} finishes", "days since the start", "time"),
    "start_day": ("day {who} starts", "days since the start", "time"),
    "delay_days": ("delay of {who}'s roadmap (largest of any milestone)", "days", "days"),
    "roadmap_delay_days": ("delay of {who}'s roadmap (largest of any milestone)", "days",
                           "days"),
    "last_milestone_delay_days": ("delay of {who}'s last milestone", "days", "days"),
    "no_lease_delay_days": ("{who}'s roadmap delay without the leases", "days", "days"),
    "landlord_first_delay_days": ("{who}'s roadmap delay if landlords' jobs go first",
                                  "days", "days"),
    "non_renew_delay_days": ("{who}'s roadmap delay if no lease is renewed", "days", "days"),
    "dependency_share": ("share of {who}'s training compute on landlord hardware", "%",
                         "share"),
    "capacity_share": ("share of {who}'s usable GPU-hours that landlords own", "%", "share"),
    "runs_share": ("share of {who}'s runs that landlords host", "%", "share"),
    "flops_share": ("share of {who}'s compute in runs that landlords host", "%", "share"),
    "control_index": ("{who}'s control index", "", "index"),
    "effective_usd_per_gpu_hour": ("price per GPU-hour delivered under {who}",
                                   "US$ per GPU-hour", "usd"),
    "usd_per_gpu_hour_used": ("price per GPU-hour used under {who}", "US$ per GPU-hour",
                              "usd"),
    "paid_usd": ("payments under {who}", "US$", "usd"),
    "lease_revenue_usd": ("{who}'s lease revenue", "US$", "usd"),
    "utilization": ("share of {who}'s paid GPU-hours used", "%", "share"),
    "paid_gpu_hours": ("GPU-hours paid for under {who}", "GPU-hours", "count"),
    "delivered_gpu_hours": ("GPU-hours delivered under {who}", "GPU-hours", "count"),
    "used_gpu_hours": ("GPU-hours used under {who}", "GPU-hours", "count"),
    "finished_fraction": ("share of histories in which {who} finishes", "%", "share"),
    "ettr": ("effective training time ratio of {who}", "%", "share"),
    "landlord_flops_share": ("share of {who}'s compute on landlord hardware", "%", "share"),
    "deadline_missed_fraction": ("share of histories in which {who} misses its deadline",
                                 "%", "share"),
    "interruptions": ("interruptions of {who}", "count", "count"),
    "preemptions": ("preemptions of {who}", "count", "count"),
    "migrations": ("migrations of {who} at a checkpoint", "count", "count"),
    "lost_gpu_hours": ("GPU-hours {who} lost to failures", "GPU-hours", "count"),
    "availability": ("availability of pool {who}", "%", "share"),
    "node_failures": ("node failures in pool {who}", "count", "count"),
    "domain_outages": ("outages in pool {who}", "count", "count"),
}
_SECTIONS = {"tenants": "", "jobs": "", "leases": "lease ", "pools": "", "landlords": ""}


def describe_metric(base: str) -> MetricWords:
    """A metric's dotted path in words (:class:`MetricWords`): ``tenants.anthropic.
    dependency_share`` reads "share of anthropic's training compute on landlord hardware",
    in %."""
    parts = base.split(".")
    leaf = parts[-1]
    who = parts[1] if len(parts) > 2 and parts[0] in _SECTIONS else ""
    who = (_SECTIONS.get(parts[0], "") + who) if who else "the run"
    scope = ""
    if "by_landlord" in parts[:-1]:
        scope = f" ({parts[parts.index('by_landlord') + 1]} alone)"
    elif "counterfactuals" in parts[:-1]:
        scope = f" under {parts[parts.index('counterfactuals') + 1]}"
    if leaf in _LEAF_WORDS:
        phrase, unit, kind = _LEAF_WORDS[leaf]
        return MetricWords(phrase.format(who=who) + scope, unit, kind)
    words = leaf.replace("_", " ")
    kind, unit = "other", ""
    if leaf.endswith(("_share", "_fraction")):
        kind, unit = "share", "%"
    elif leaf.endswith("_days"):
        kind, unit, words = "days", "days", words.removesuffix(" days")
    elif leaf.endswith("_usd"):
        kind, unit, words = "usd", "US$", words.removesuffix(" usd")
    rest = [p for p in parts[:-1] if p not in _SECTIONS and p != who]
    where = f" of {who}" if who != "the run" else ""
    return MetricWords(f"{words}{where}" + (f" ({' '.join(rest[1:])})" if len(rest) > 1
                                            else "") + scope, unit, kind)


def describe_param(key: str) -> tuple[str, bool]:
    """A swept key in words, and whether its values are shares (drawn in percent):
    ``leases.colossus_one.share`` reads "share of its pool leased under colossus_one"."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "leases":
        name, leaf = parts[1], parts[2]
        words = {"share": f"share of its pool leased under {name}",
                 "gpus": f"GPUs leased under {name}",
                 "annual_usd": f"annual price of lease {name} (US$)",
                 "usd_per_gpu_hour": f"price of lease {name} (US$ per GPU-hour)",
                 "start": f"start of lease {name}", "end": f"end of lease {name}",
                 "renewals": f"renewals of lease {name}",
                 "notice_days": f"notice of lease {name} (days)"}
        if leaf in words:
            return words[leaf], leaf == "share"
    if len(parts) == 3 and parts[0] == "pools" and parts[2] == "nodes":
        return f"nodes in pool {parts[1]}", False
    if len(parts) == 3 and parts[0] == "jobs":
        return f"{parts[2].replace('_', ' ')} of {parts[1]}", False
    if key == "sim.horizon_days":
        return "simulated horizon (days)", False
    leaf = parts[-1].replace("_", " ")
    where = " ".join(p.replace("_", " ") for p in parts[:-1])
    return (f"{leaf} ({where})" if where else leaf), parts[-1].endswith(
        ("share", "fraction"))


#: In-batch levers in words, and whether their values are shares.
LEVER_WORDS = {"share": ("share of the pool leased", True),
               "withhold": ("share of the leased GPUs withheld", True),
               "price": ("price factor on the lease (×)", False),
               "start_days": ("days the leases start later", False),
               "withhold_start": ("day the withholding starts (days from sim.start)", False),
               "terminate": ("day the landlord gives termination notice (days from sim.start)",
                             False)}


def _num(v: Any) -> float:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    return float(v)


def _mean(values: list[float]) -> float:
    """Mean, NaN when any value is missing (a null quantile is beyond the horizon: the
    finite ones alone would bias the mean)."""
    if not values or not all(math.isfinite(v) for v in values):
        return math.nan
    return sum(values) / len(values)


def _sort_key(v: Any) -> tuple:
    if v is None:
        return (2, 0.0, "")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, float(v), "")
    return (1, 0.0, str(v))


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool)
               and math.isfinite(v) for v in values)


def _short(text: str, n: int = 32) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def fmt(v: Any) -> str:
    """A parameter value as a tick or legend label."""
    if v is None:
        return "unset"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass
class Curve:
    """One line of a sweep figure: the mean over jobs (seeds) at each ``x``.

    ``lo``, ``mid`` and ``hi`` are the means of the jobs' P10, P50 and P90 (``lo``/``hi``
    NaN for a plain number); ``n`` is how many jobs each point averages. ``bound`` marks a
    ``mid`` that is a lower bound: some job's value is one (a delay with unfinished
    histories; a finish time beyond the horizon, counted as the horizon). A ``mid`` that
    is NaN cannot be measured (a null value that is not a time). ``jobs`` lists the jobs
    of each point.
    """

    label: str
    x: list[Any]
    lo: np.ndarray
    mid: np.ndarray
    hi: np.ndarray
    n: list[int]
    bound: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    jobs: list[list[str]] = field(default_factory=list)


def _value(r: dict[str, Any], col: str | None, metric: Metric,
           horizon: dict[str, float] | None) -> tuple[float, bool]:
    """A row's value of ``col`` and whether it is a lower bound."""
    if col is None:
        return math.nan, False
    v = _num(r.get(col))
    if math.isnan(v) and metric.words.kind == "time":
        h = _num(r.get("horizon_days")) if horizon is None else _num(
            horizon.get(r.get("job")))
        return h, math.isfinite(h)  # beyond the horizon: at least the horizon
    return v, bool(metric.bound and r.get(metric.bound))


def curves(rows: Sequence[dict[str, Any]], x: str, metric: Metric,
           group: Sequence[str] = (), horizon: dict[str, float] | None = None
           ) -> list[Curve]:
    """The lines of ``metric`` against column ``x``: one per combination of the ``group``
    columns' values, each point averaging the rows that share its coordinates (so seeds,
    never an axis, are averaged over). ``horizon`` maps a job to its horizon (days) when
    the rows do not carry ``horizon_days`` (in-batch sweep points)."""
    by: dict[tuple, dict[Any, list[dict[str, Any]]]] = {}
    for r in rows:
        key = tuple(r.get(g) for g in group)
        by.setdefault(key, {}).setdefault(r.get(x), []).append(r)
    out = []
    for key in sorted(by, key=lambda k: tuple(_sort_key(v) for v in k)):
        pts = by[key]
        xs = sorted(pts, key=_sort_key)

        def stat(col: str | None, xs=xs, pts=pts) -> tuple[np.ndarray, np.ndarray]:
            vals = [[_value(r, col, metric, horizon) for r in pts[v]] for v in xs]
            return (np.array([_mean([a for a, _ in vs]) for vs in vals]),
                    np.array([any(b for _, b in vs) for vs in vals], bool))

        label = " / ".join(_short(fmt(v)) for v in key)
        mid, bound = stat(metric.mid)
        out.append(Curve(label, xs, stat(metric.lo)[0], mid, stat(metric.hi)[0],
                         [len(pts[v]) for v in xs], bound & np.isfinite(mid),
                         [[str(r.get("job")) for r in pts[v]] for v in xs]))
    return out


def grid(rows: Sequence[dict[str, Any]], px: str, py: str, col: str,
         metric: Metric | None = None) -> tuple[list[Any], list[Any], np.ndarray]:
    """Mean of ``col`` over the rows in each (``px``, ``py``) cell: x values, y values and
    the (len(y), len(x)) array, NaN where no row has a value. With ``metric``, a time
    beyond the horizon counts as the horizon (see :func:`grid_bounds`)."""
    xs = sorted(_uniq(r.get(px) for r in rows), key=_sort_key)
    ys = sorted(_uniq(r.get(py) for r in rows), key=_sort_key)
    cells: dict[tuple[int, int], list[float]] = {}
    for r in rows:
        v = _value(r, col, metric, None)[0] if metric else _num(r.get(col))
        cells.setdefault((ys.index(r.get(py)), xs.index(r.get(px))), []).append(v)
    z = np.full((len(ys), len(xs)), np.nan)
    for (i, j), vals in cells.items():
        z[i, j] = _mean(vals)
    return xs, ys, z


def grid_bounds(rows: Sequence[dict[str, Any]], xs: list[Any], ys: list[Any], px: str,
                py: str, metric: Metric) -> np.ndarray:
    """(len(ys), len(xs)) bool: the cell's mean is a lower bound."""
    b = np.zeros((len(ys), len(xs)), bool)
    for r in rows:
        if _value(r, metric.mid, metric, None)[1]:
            b[ys.index(r.get(py)), xs.index(r.get(px))] = True
    return b


# ------------------------------------------------------------------------------ figures


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _ylabel(metric: Metric) -> str:
    return metric.words.label("P50" if metric.lo else "value")


def _seed_note(agg: Aggregate) -> str:
    seeds = agg.seeds
    if len(seeds) < 2:
        return ""
    return f"each point: mean over its runs' seeds ({SEED_PARAM} in {', '.join(map(fmt, seeds))})"


def _title(fig, title: str, *notes: str) -> None:
    lines = textwrap.wrap(title[:1].upper() + title[1:], 78) + [n for n in notes if n]
    fig.suptitle("\n".join(lines))


def _y_axis(ax, metric: Metric, values: Iterable[float]) -> float:
    """The honest y range of ``metric`` (shares 0-100 %, amounts from 0); returns the
    factor values are drawn at (100 for shares)."""
    from matplotlib import ticker

    from simgpu.report.figures import from_zero

    kind = metric.words.kind
    if kind == "share":
        ax.set_ylim(0, 102)
        ax.yaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
        return 100.0
    if kind in ("time", "days", "usd", "index", "count"):
        from_zero(ax, values, top=1.0 if kind == "index" else 0.0)
    if kind == "usd":
        ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("${x:,.2f}"))
    return 1.0


def line_figure(cs: list[Curve], xlabel: str, metric: Metric, title: str,
                group: Sequence[str] = (), note: str = "", *, x_share: bool = False,
                base_x: Any = None, stars: Sequence[tuple | None] = (),
                colours: Sequence[str] = (), hline: tuple[float, str] | None = None):
    """The P50 (or number) of each curve against ``x``, with its P10-P90 band; one line
    per combination of the ``group`` parameters (named in the legend's title).

    Lower bounds are hollow markers with an upward arrow, values that cannot be measured
    crosses at the foot of the axis (neither is dropped). Shares are drawn in percent on
    0-100 % (``x_share`` for the x axis), amounts on axes from 0. ``base_x`` marks the
    lever's configured value with a dotted line; ``stars`` (one per curve) mark each
    curve's baseline point (``(x, y)`` or ``(x, y, is a lower bound)``); ``hline`` draws
    a dashed reference line ``(y, label)`` (the horizon of a time). Earlier curves are
    drawn wider, with larger markers, so that equal curves stay visible.
    """
    import matplotlib
    from matplotlib import ticker
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from simgpu.report.figures import RC, bound_handles, lower_bounds, na_marks

    with matplotlib.rc_context(RC):
        fig = _figure(8.5, 5.4)
        ax = fig.subplots()
        allx = sorted(_uniq(v for c in cs for v in c.x), key=_sort_key)
        numeric = _numeric(allx)
        xf = 100.0 if x_share and numeric else 1.0
        pos = {v: (float(v) * xf if numeric else float(i)) for i, v in enumerate(allx)}
        tab = matplotlib.colormaps["tab10"]
        band = metric.lo is not None
        ys = [y for c in cs for arr in (c.mid, c.hi) for y in arr if math.isfinite(y)]
        ys += [s[1] for s in stars if s and math.isfinite(s[1])]
        yf = _y_axis(ax, metric, ys)
        marks = {"bound": False, "na": False}
        if hline is not None and math.isfinite(hline[0]):
            ax.axhline(hline[0] * yf, color="black", ls="--", lw=1.0, label=hline[1])
        for i, c in enumerate(cs):
            col = colours[i] if i < len(colours) else tab(i % 10)
            xs = np.array([pos[v] for v in c.x])
            ok = np.isfinite(c.mid)
            bound = c.bound if c.bound.size == ok.size else np.zeros(ok.size, bool)
            wide = (len(cs) - 1 - i) / max(len(cs) - 1, 1)  # 1 for the first, 0 the last
            ax.plot(xs[ok], c.mid[ok] * yf, color=col, lw=1.6 + 2.4 * wide,
                    label=c.label or ("P50 over replicas" if band else metric.words.phrase))
            ax.plot(xs[ok & ~bound], c.mid[ok & ~bound] * yf, "o", color=col, ls="none",
                    ms=6 + 4 * wide)
            lower_bounds(ax, xs[ok & bound], c.mid[ok & bound] * yf, col, ms=7 + 4 * wide)
            na_marks(ax, xs[~ok], col)
            marks["bound"] |= bool((ok & bound).any())
            marks["na"] |= bool((~ok).any())
            if band:
                both = np.isfinite(c.lo) & np.isfinite(c.hi)
                ax.fill_between(xs[both], c.lo[both] * yf, c.hi[both] * yf, color=col,
                                alpha=0.18, linewidth=0)
            s = stars[i] if i < len(stars) else None
            sx = None if s is None or not math.isfinite(s[1]) else (
                pos[s[0]] if s[0] in pos else
                float(s[0]) * xf if numeric and _numeric([s[0]]) else None)
            if sx is not None:
                lb = len(s) > 2 and bool(s[2])  # the baseline's value is a lower bound
                ax.plot([sx], [s[1] * yf], "*", color=col, mec="black" if not lb else col,
                        mfc="white" if lb else col, ms=14, ls="none", zorder=6)
                if lb:
                    ax.annotate("", xy=(sx, s[1] * yf), xytext=(0, 17),
                                textcoords="offset points", annotation_clip=False,
                                arrowprops={"arrowstyle": "<|-", "color": col, "lw": 1.5,
                                            "shrinkA": 0, "shrinkB": 7})
                    marks["bound"] = True
        handles, labels = ax.get_legend_handles_labels()
        if band:
            handles.append(Patch(facecolor="grey", alpha=0.35))
            labels.append("P10-P90 over replicas")
        if any(s is not None for s in stars):
            handles.append(Line2D([], [], marker="*", color="grey", mec="black", ms=12,
                                  ls="none"))
            labels.append("baseline (as configured)")
        if base_x is not None and (numeric and _numeric([base_x]) or base_x in pos):
            bx = float(base_x) * xf if numeric else pos[base_x]
            inside = min(pos.values()) <= bx <= max(pos.values())
            if inside:  # a configured value far off the swept range would squash it
                ax.axvline(bx, color="black", ls=":", lw=1.2)
            handles.append(Line2D([], [], color="black", ls=":" if inside else "none"))
            labels.append(f"as configured: {fmt(base_x)}"
                          + ("" if inside else " (off this axis)"))
        extra = bound_handles(na=True)
        extra[1].set_label("× null in a run: cannot be measured (summary.json: null_reason)")
        for h, on in zip(extra, (marks["bound"], marks["na"]), strict=True):
            if on:
                handles.append(h)
                labels.append(h.get_label())
        ncols = min(len(labels), 2 if max(map(len, labels)) > 36 else 3)
        fig.legend(handles, labels, title=" / ".join(group) if group else None,
                   loc="outside lower center", ncols=ncols, frameon=False)
        if not numeric:
            ax.set_xticks([pos[v] for v in allx], [fmt(v) for v in allx])
        elif xf != 1.0:
            ax.set_xlim(-3, 103)
            ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
        ax.set_xlabel(xlabel + (" (%)" if xf != 1.0 else ""))
        ax.set_ylabel(textwrap.fill(_ylabel(metric), 42))
        ax.grid(True, alpha=0.3)
        _title(fig, title, note)
    return fig


def heatmap_figure(xs: list[Any], ys: list[Any], z: np.ndarray, px: str, py: str,
                   metric: Metric, note: str = "", bounds: np.ndarray | None = None,
                   xlabel: str | None = None, ylabel: str | None = None,
                   x_share: bool = False, y_share: bool = False):
    """``z`` over the grid of two parameters, cells annotated ("≥" for a lower bound),
    missing cells grey; shares in percent on a 0-100 % colour scale."""
    import matplotlib

    from simgpu.report.figures import RC

    share = metric.words.kind == "share"
    zf = z * 100.0 if share else z
    with matplotlib.rc_context(RC):
        fig = _figure(8.5, 5.8)
        ax = fig.subplots()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
        kw = {"vmin": 0.0, "vmax": 100.0} if share else {}
        if not share and metric.words.kind in ("time", "days", "usd", "index", "count"):
            fin = zf[np.isfinite(zf)]
            kw = {"vmin": min(0.0, float(fin.min())) if fin.size else 0.0}
        im = ax.imshow(np.ma.masked_invalid(zf), origin="lower", aspect="auto", cmap=cmap,
                       interpolation="nearest", **kw)
        ax.set_xticks(range(len(xs)), [_pct_tick(v) if x_share else fmt(v) for v in xs])
        ax.set_yticks(range(len(ys)), [_pct_tick(v) if y_share else fmt(v) for v in ys])
        ax.set_xlabel(xlabel or px)
        ax.set_ylabel(ylabel or py)
        lo, hi = im.get_clim()
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = zf[i, j]
                if math.isfinite(v):
                    dark = hi > lo and (v - lo) / (hi - lo) < 0.5
                    ge = "≥ " if bounds is not None and bounds[i, j] else ""
                    ax.text(j, i, f"{ge}{v:.0f} %" if share else f"{ge}{v:.4g}",
                            ha="center", va="center", fontsize=9,
                            color="white" if dark else "black")
                else:
                    ax.text(j, i, "n/a", ha="center", va="center", fontsize=9,
                            color="#555555")
        fig.colorbar(im, ax=ax, label=textwrap.fill(_ylabel(metric), 42))
        _title(fig, f"{metric.words.phrase} over {xlabel or px} and {ylabel or py}", note,
               "n/a: no complete run, or a null value (beyond the horizon)"
               if not np.isfinite(z).all() else "",
               "≥: a lower bound (some histories unfinished at the horizon)"
               if bounds is not None and bounds.any() else "")
    return fig


def _pct_tick(v: Any) -> str:
    return f"{100 * v:g} %" if _numeric([v]) else fmt(v)


def _stem(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", "_".join(parts))


@dataclass
class FigureSpec:
    """A drawn figure: its file name, what it shows, and the Figure."""

    file: str
    kind: str  # line, heatmap or sweep
    metric: str
    x: str
    lines: list[str]
    figure: Any = field(repr=False, default=None)

    def describe(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "metric": self.metric, "x": self.x,
                "lines": self.lines}


def base_values(agg: Aggregate) -> dict[str, Any]:
    """The configured value of each swept parameter (what the experiment has without the
    sweep's override): composed from the overrides every complete job shares. Parameters
    it cannot compose (a key added with ``+``, a user's config directory) are left out."""
    if not agg.runs or not agg.levers:
        return {}
    try:
        from omegaconf import OmegaConf

        from simgpu.config import compose

        lines = [_job_overrides(agg, agg.runs[0]["job"])]
        common = [o for o in lines[0] if _override_key(o) not in agg.params
                  and not _override_key(o).startswith("hydra")]
        cfg = compose(common)
    except Exception as exc:  # noqa: BLE001 - the base is a courtesy: leave it out
        log.info("configured values of the swept parameters unknown: %s", exc)
        return {}
    out = {}
    for p in agg.levers:
        try:
            v = OmegaConf.select(cfg, p, throw_on_missing=False)
        except Exception:  # noqa: BLE001 - a group choice or odd key: no base
            v = None
        if v is None or isinstance(v, (bool, int, float, str)):
            out[p] = v
    return {k: v for k, v in out.items() if v is not None}


def _override_key(line: str) -> str:
    return line.split("=", 1)[0].lstrip("+~")


def _job_overrides(agg: Aggregate, job: str) -> list[str]:
    return list(agg.overrides.get(job, []))


def figures(agg: Aggregate, metrics: dict[str, tuple[Metric | None, Metric | None]],
            warnings: list[str] | None = None, base: dict[str, Any] | None = None
            ) -> list[FigureSpec]:
    """Draw every sweep figure of ``agg`` for the resolved ``metrics``
    (``{name: (metric in runs, metric in points)}``). A figure with no value at all is
    left out and named in ``warnings``. ``base``: the configured value of each swept
    parameter (:func:`base_values`), marked on the line figures."""
    from simgpu.report.figures import landlord_colours

    warn = warnings if warnings is not None else []
    out: list[FigureSpec] = []
    levers = agg.levers
    note = _seed_note(agg)
    base = base or {}
    horizon = {str(r["job"]): _num(r.get("horizon_days")) for r in agg.runs}
    colours = landlord_colours(agg.lease_landlords.values())
    if agg.runs and not levers and any(m for m, _ in metrics.values()):
        warn.append("no parameter differs between the complete runs: no figure against a "
                    "swept parameter (only in-batch sweeps are drawn)")
    for name, (m_run, m_pt) in metrics.items():
        if m_run is not None:
            for x in levers:
                others = [p for p in levers if p != x]
                cs = curves(agg.runs, x, m_run, others)
                file = f"{_stem('line', name, 'vs', x)}.png"
                if not any(np.isfinite(c.mid).any() for c in cs):
                    warn.append(f"figure {file} left out: no run has a value of "
                                f"{m_run.base}")
                    continue
                xw, share = describe_param(x)
                fig = line_figure(cs, xw, m_run, f"{m_run.words.phrase} against {xw}",
                                  [describe_param(o)[0] for o in others], note,
                                  x_share=share, base_x=base.get(x),
                                  colours=_metric_colours(m_run, cs, agg, colours),
                                  hline=_horizon_line(m_run, horizon))
                out.append(FigureSpec(file, "line", m_run.base, x, [c.label for c in cs],
                                      fig))
            if len(levers) == 2:
                px, py = levers
                file = f"{_stem('heatmap', name, px, 'x', py)}.png"
                xs, ys, z = grid(agg.runs, px, py, m_run.mid, m_run)
                if np.isfinite(z).any():
                    (wx, sx), (wy, sy) = describe_param(px), describe_param(py)
                    fig = heatmap_figure(xs, ys, z, px, py, m_run, note,
                                         grid_bounds(agg.runs, xs, ys, px, py, m_run),
                                         wx, wy, sx, sy)
                    out.append(FigureSpec(file, "heatmap", m_run.base, px, [py], fig))
                else:
                    warn.append(f"figure {file} left out: no run has a value of "
                                f"{m_run.base}")
        if m_pt is not None:
            for sw in agg.sweeps:
                rows = [r for r in agg.points if r["sweep"] == sw]
                lever = str(_uniq(r.get("lever") for r in rows)[0])
                words, share = LEVER_WORDS.get(lever, (lever, False))
                cs = curves(rows, "value", m_pt, levers, horizon)
                file = f"{_stem('sweep', sw, name)}.png"
                if not any(np.isfinite(c.mid).any() for c in cs):
                    warn.append(f"figure {file} left out: no point of in-batch sweep {sw} "
                                f"has a value of {m_pt.base}")
                    continue
                stars = [_sweep_star(agg, sw, c, m_pt, horizon) for c in cs]
                fig = line_figure(cs, words, m_pt,
                                  f"{m_pt.words.phrase} against in-batch sweep {sw}",
                                  [describe_param(o)[0] for o in levers], note,
                                  x_share=share, stars=stars,
                                  colours=_metric_colours(m_pt, cs, agg, colours),
                                  hline=_horizon_line(m_pt, horizon))
                out.append(FigureSpec(file, "sweep", m_pt.base, sw, [c.label for c in cs],
                                      fig))
    return out


def _horizon_line(metric: Metric, horizon: dict[str, float]) -> tuple[float, str] | None:
    """The horizon as a reference line for a time, when every run shares it."""
    hs = set(horizon.values())
    if metric.words.kind != "time" or len(hs) != 1:
        return None
    h = hs.pop()
    return (h, f"horizon ({h:g} days): later times drawn at it") \
        if math.isfinite(h) else None


def _metric_colours(metric: Metric, cs: list[Curve], agg: Aggregate,
                    colours: dict[str, str]) -> list[str]:
    """A lease's metric on a single line is drawn in its landlord's colour."""
    parts = metric.base.split(".")
    if len(cs) == 1 and parts[0] == "leases" and len(parts) > 1:
        landlord = agg.lease_landlords.get(parts[1])
        if landlord in colours:
            return [colours[landlord]]
    return []


def _sweep_star(agg: Aggregate, sweep: str, c: Curve, metric: Metric,
                horizon: dict[str, float]) -> tuple[Any, float, bool] | None:
    """A curve's baseline point: the lever's value in its jobs' baseline, the metric
    there (a delay is 0; other metrics are the run's own value, e.g. its dependency share)
    and whether that is a lower bound; None when the jobs' baselines differ or have no
    value of the lever."""
    jobs = _uniq(j for js in c.jobs for j in js)
    xs = {agg.sweep_base.get((j, sweep)) for j in jobs}
    if len(xs) != 1 or None in xs:
        return None
    leaf = metric.base.split(".")[-1]
    if leaf.endswith("delay_days"):
        return xs.pop(), 0.0, False
    vals = [_value(r, metric.mid, metric, horizon) for r in agg.runs if str(r["job"]) in jobs]
    return xs.pop(), _mean([v for v, _ in vals]), any(b for _, b in vals)


# ------------------------------------------------------------------------------ writing


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return buf.getvalue().encode("utf-8")


def _pyarrow() -> tuple[Any, Any] | None:
    """``(pyarrow, pyarrow.parquet)``, or None when pyarrow is not installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    return pa, pq


def _arrow_column(pa: Any, vals: list[Any]) -> Any:
    present = [v for v in vals if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(vals, type=pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present) and present:
        return pa.array(vals, type=pa.int64())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in vals], type=pa.float64())
    return pa.array([None if v is None else str(v) for v in vals], type=pa.string())


def _parquet(arrow: tuple[Any, Any], columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    pa, pq = arrow
    table = pa.table({c: _arrow_column(pa, [r.get(c) for r in rows]) for c in columns})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def resolve_metrics(agg: Aggregate, metrics: Sequence[str] | None = None,
                    warnings: list[str] | None = None
                    ) -> dict[str, tuple[Metric | None, Metric | None]]:
    """``{name: (metric in runs, metric in points)}``.

    A name is absolute, or relative to the first tenant, or to each lease (a lease's
    metric such as ``effective_usd_per_gpu_hour``: one entry per lease, named
    ``leases.<lease>.<name>`` when there are several).

    Raises
    ------
    SweepDirError
        A metric asked for explicitly resolves in neither table (with complete jobs). A
        default metric that is absent (no tenant, no in-batch sweep) is left out, and
        named in ``warnings``.
    """
    asked = metrics is not None
    names = list(DEFAULT_METRICS if metrics is None else metrics)
    tenants = agg.tenants
    out: dict[str, tuple[Metric | None, Metric | None]] = {}
    run_cols = agg.run_columns()
    pt_cols = agg.point_columns()
    leases = sorted({c.split(".")[1] for c in (*run_cols, *pt_cols)
                     if c.startswith("leases.") and c.count(".") >= 2})
    for name in _uniq(names):
        m = (resolve_metric(name, run_cols, tenants), resolve_metric(name, pt_cols, tenants))
        if m != (None, None):
            out[name] = m
            continue
        per = {f"leases.{ln}.{name}": (resolve_metric(f"leases.{ln}.{name}", run_cols, []),
                                        resolve_metric(f"leases.{ln}.{name}", pt_cols, []))
               for ln in leases}
        per = {k: v for k, v in per.items() if v != (None, None)}
        if per:
            out.update({name: next(iter(per.values()))} if len(per) == 1 else per)
            continue
        if asked and agg.runs:
            hint = f"tenants.{tenants[0]}." if tenants else ""
            raise SweepDirError(
                f"metric {name!r} is neither a distribution nor a number of the sweep's "
                f"summaries (try e.g. final_milestone_day, {hint}dependency_share or "
                "jobs.<job>.finish_day)")
        log.info("metric %s not in this sweep: no figure", name)
        if warnings is not None and agg.runs:
            warnings.append(f"no figure of {name}: not in this sweep's summaries")
    return out


def _previous_files(out: Path) -> list[str]:
    try:
        doc = _read_json(out / JSON_NAME)
        return [f for f in doc.get("files", []) if isinstance(f, str)]
    except Exception:  # noqa: BLE001 - no or odd previous aggregation
        return []


def write(agg: Aggregate, out_dir: str | Path | None = None,
          metrics: Sequence[str] | None = None) -> list[Path]:
    """Write the tables, the figures and ``aggregate.json`` (module docstring: files).

    Parameters
    ----------
    agg : Aggregate
    out_dir : str or Path, optional
        Default: ``<sweep_dir>/aggregate``.
    metrics : sequence of str, optional
        Dotted metric paths (absolute or relative to the first tenant); default
        :data:`DEFAULT_METRICS`, each drawn only where it exists.

    Returns
    -------
    list of Path
        Files written, ``aggregate.json`` last.

    Raises
    ------
    SweepDirError
        An explicit metric exists in neither table; nothing is written.
    """
    out = Path(out_dir) if out_dir is not None else agg.sweep_dir / OUT_NAME
    fig_warnings: list[str] = []
    resolved = resolve_metrics(agg, metrics, fig_warnings)
    blobs: dict[str, bytes] = {}
    specs: list[FigureSpec] = []
    if agg.runs:
        tables = {"runs": (agg.run_columns(), agg.runs),
                  "points": (agg.point_columns(), agg.points)}
        for stem, (cols, rows) in tables.items():
            blobs[f"{stem}.csv"] = _csv(cols, rows)
        arrow = _pyarrow()
        if arrow is not None:
            for stem, (cols, rows) in tables.items():
                blobs[f"{stem}.parquet"] = _parquet(arrow, cols, rows)
        else:
            log.info("pyarrow not installed: no Parquet copies")
        specs = figures(agg, resolved, fig_warnings, base_values(agg))
        for w in fig_warnings:
            log.warning("%s", w)
        for s in specs:
            buf = io.BytesIO()
            s.figure.savefig(buf, format="png", dpi=PNG_DPI)
            blobs[s.file] = buf.getvalue()
    previous = _previous_files(out)
    written = [atomic_write_bytes(out / name, b) for name, b in blobs.items()]
    doc = {
        "schema": AGGREGATE_SCHEMA,
        "sweep_dir": str(agg.sweep_dir),
        "params": agg.params,
        "levers": agg.levers,
        "seeds": [s for s in agg.seeds if s is None or isinstance(s, (int, float, str))],
        "counts": {"job_dirs": agg.job_dirs, "complete": len(agg.runs),
                   "incomplete": len(agg.incomplete), "points": len(agg.points)},
        "incomplete": agg.incomplete,
        "warnings": agg.warnings + fig_warnings,
        "metrics": {n: {"runs": a.base if a else None, "points": b.base if b else None}
                    for n, (a, b) in resolved.items()},
        "files": list(blobs),
        "figures": [s.describe() for s in specs],
    }
    written.append(atomic_write_json(out / JSON_NAME, doc))
    for name in previous:
        p = out / name
        if name not in blobs and name != JSON_NAME and "/" not in name and "\\" not in name \
                and not name.startswith(".") and p.is_file():
            p.unlink()
            log.info("removed %s (written by a previous aggregation, not by this one)", p)
    return written
