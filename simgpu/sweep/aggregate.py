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
tenants sort by name). Default metrics: ``final_milestone_day`` and ``dependency_share``.
``sim.seed`` is never an axis: every plotted value is the mean, over the jobs sharing the
plotted coordinates (the seeds), of that job's P10, P50 and P90 (or number); a value that
is ``null`` in any of those jobs (a quantile beyond the horizon) leaves the point out
rather than averaging the finite ones alone.

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
written, nothing else; 2: ``SWEEP_DIR`` does not exist or holds no job directory, or
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
DEFAULT_METRICS = ("final_milestone_day", "dependency_share")
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
    """

    sweep_dir: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[dict[str, str]] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    job_dirs: int = 0
    warnings: list[str] = field(default_factory=list)

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


def _read_job(d: Path) -> tuple[dict[str, Any] | None, str]:
    """``({summary, overrides, name}, "")`` for a complete job, else ``(None, reason)``."""
    marker = d / MARKER
    if not marker.is_file():
        return None, "no COMPLETE marker (failed, cut off or still running)"
    try:
        done = _read_json(marker)
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
    if not isinstance(overrides, list):
        return None, f"no readable overrides ({OVERRIDES.as_posix()} or the COMPLETE marker)"
    name = summary.get("name") if isinstance(summary.get("name"), str) else done.get("name")
    return {"summary": summary, "overrides": [str(o) for o in overrides],
            "name": name if isinstance(name, str) else None}, ""


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


def collect(sweep_dir: str | Path) -> Aggregate:
    """Read every job directory of a sweep into tables; skip (and list) incomplete jobs.

    Parameters
    ----------
    sweep_dir : str or Path
        A Hydra multirun directory written by ``simgpu -m``.

    Returns
    -------
    Aggregate

    Raises
    ------
    SweepDirError
        ``sweep_dir`` is not a directory, or holds no job directory at all.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise SweepDirError(f"{root} does not exist or is not a directory")
    dirs = find_job_dirs(root)
    if not dirs:
        raise SweepDirError(f"{root} holds no job directory (expected 0/, 1/, ... as written "
                            "by `simgpu -m`)")
    agg = Aggregate(sweep_dir=root, job_dirs=len(dirs))
    jobs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for d in dirs:
        rec, reason = _read_job(d)
        if rec is None:
            agg.incomplete.append({"job": d.name, "dir": str(d), "reason": reason})
            log.warning("sweep job %s skipped: %s", d.name, reason)
            continue
        jobs.append((d.name, rec, parse_overrides(rec["overrides"])))
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
    for w in agg.warnings:
        log.warning("%s", w)
    log.info("collected %d complete jobs of %d (%d sweep points) from %s", len(agg.runs),
             len(dirs), len(agg.points), root)
    return agg


# ------------------------------------------------------------------------------ metrics


@dataclass(frozen=True)
class Metric:
    """A plotted quantity: ``mid`` column (P50 or the number) and the band's columns."""

    name: str  # as asked (relative or absolute)
    base: str  # absolute dotted path
    mid: str
    lo: str | None = None
    hi: str | None = None


def resolve_metric(name: str, columns: Iterable[str], tenants: Sequence[str]) -> Metric | None:
    """The metric ``name`` among ``columns``: absolute, else under the first tenant.

    A distribution gives its P50 with the P10-P90 band; a number gives itself (no band);
    ``None`` when neither exists.
    """
    cols = set(columns)
    cands = [name] + ([f"tenants.{tenants[0]}.{name}"] if tenants else [])
    for base in cands:
        if f"{base}.p50" in cols:
            return Metric(name, base, f"{base}.p50", f"{base}.p10", f"{base}.p90")
        if base in cols:
            return Metric(name, base, base)
    return None


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
    NaN for a plain number); ``n`` is how many jobs each point averages.
    """

    label: str
    x: list[Any]
    lo: np.ndarray
    mid: np.ndarray
    hi: np.ndarray
    n: list[int]


def curves(rows: Sequence[dict[str, Any]], x: str, metric: Metric,
           group: Sequence[str] = ()) -> list[Curve]:
    """The lines of ``metric`` against column ``x``: one per combination of the ``group``
    columns' values, each point averaging the rows that share its coordinates (so seeds,
    never an axis, are averaged over)."""
    by: dict[tuple, dict[Any, list[dict[str, Any]]]] = {}
    for r in rows:
        key = tuple(r.get(g) for g in group)
        by.setdefault(key, {}).setdefault(r.get(x), []).append(r)
    out = []
    for key in sorted(by, key=lambda k: tuple(_sort_key(v) for v in k)):
        pts = by[key]
        xs = sorted(pts, key=_sort_key)

        def stat(col: str | None, xs=xs, pts=pts) -> np.ndarray:
            return np.array([_mean([_num(r.get(col)) for r in pts[v]]) if col else math.nan
                             for v in xs])

        label = " / ".join(_short(fmt(v)) for v in key)
        out.append(Curve(label, xs, stat(metric.lo), stat(metric.mid), stat(metric.hi),
                         [len(pts[v]) for v in xs]))
    return out


def grid(rows: Sequence[dict[str, Any]], px: str, py: str, col: str
         ) -> tuple[list[Any], list[Any], np.ndarray]:
    """Mean of ``col`` over the rows in each (``px``, ``py``) cell: x values, y values and
    the (len(y), len(x)) array, NaN where no row has a value."""
    xs = sorted(_uniq(r.get(px) for r in rows), key=_sort_key)
    ys = sorted(_uniq(r.get(py) for r in rows), key=_sort_key)
    cells: dict[tuple[int, int], list[float]] = {}
    for r in rows:
        cells.setdefault((ys.index(r.get(py)), xs.index(r.get(px))), []).append(
            _num(r.get(col)))
    z = np.full((len(ys), len(xs)), np.nan)
    for (i, j), vals in cells.items():
        z[i, j] = _mean(vals)
    return xs, ys, z


# ------------------------------------------------------------------------------ figures


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _ylabel(metric: Metric) -> str:
    return f"{metric.base} ({'P50' if metric.lo else 'value'})"


def _seed_note(agg: Aggregate) -> str:
    seeds = agg.seeds
    if len(seeds) < 2:
        return ""
    return f"each point: mean over its runs' seeds ({SEED_PARAM} in {', '.join(map(fmt, seeds))})"


def _title(fig, title: str, *notes: str) -> None:
    lines = textwrap.wrap(title, 78) + [n for n in notes if n]
    fig.suptitle("\n".join(lines))


def line_figure(cs: list[Curve], xlabel: str, metric: Metric, title: str,
                group: Sequence[str] = (), note: str = ""):
    """The P50 (or number) of each curve against ``x``, with its P10-P90 band; one line
    per combination of the ``group`` parameters (named in the legend's title)."""
    import matplotlib
    from matplotlib.patches import Patch

    from simgpu.report.figures import RC

    with matplotlib.rc_context(RC):
        fig = _figure(8.5, 5.2)
        ax = fig.subplots()
        allx = sorted(_uniq(v for c in cs for v in c.x), key=_sort_key)
        numeric = _numeric(allx)
        pos = {v: (float(v) if numeric else float(i)) for i, v in enumerate(allx)}
        colours = matplotlib.colormaps["tab10"]
        band = metric.lo is not None
        for i, c in enumerate(cs):
            col = colours(i % 10)
            xs = np.array([pos[v] for v in c.x])
            ax.plot(xs, c.mid, marker="o", color=col, lw=1.8,
                    label=c.label or ("P50 over replicas" if band else metric.base))
            if band:
                ax.fill_between(xs, c.lo, c.hi, color=col, alpha=0.18, linewidth=0)
        handles, labels = ax.get_legend_handles_labels()
        if band:
            handles.append(Patch(facecolor="grey", alpha=0.35))
            labels.append("P10-P90 over replicas")
        if group:
            fig.legend(handles, labels, title=" / ".join(group), loc="outside lower center",
                       ncols=min(len(labels), 4), frameon=False)
        else:
            ax.legend(handles, labels, loc="best", frameon=True, framealpha=0.9)
        if not numeric:
            ax.set_xticks([pos[v] for v in allx], [fmt(v) for v in allx])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(_ylabel(metric))
        ax.grid(True, alpha=0.3)
        dropped = any(n and not math.isfinite(m) for c in cs for n, m in zip(c.n, c.mid,
                                                                             strict=True))
        _title(fig, title, note, "points left out where a run's value is null (beyond the "
               "horizon)" if dropped else "")
    return fig


def heatmap_figure(xs: list[Any], ys: list[Any], z: np.ndarray, px: str, py: str,
                   metric: Metric, note: str = ""):
    """``z`` over the grid of two parameters, cells annotated, missing cells grey."""
    import matplotlib

    from simgpu.report.figures import RC

    with matplotlib.rc_context(RC):
        fig = _figure(8.5, 5.8)
        ax = fig.subplots()
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
        im = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto", cmap=cmap,
                       interpolation="nearest")
        ax.set_xticks(range(len(xs)), [fmt(v) for v in xs])
        ax.set_yticks(range(len(ys)), [fmt(v) for v in ys])
        ax.set_xlabel(px)
        ax.set_ylabel(py)
        fin = z[np.isfinite(z)]
        lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = z[i, j]
                if math.isfinite(v):
                    dark = hi > lo and (v - lo) / (hi - lo) < 0.5
                    ax.text(j, i, f"{v:.4g}", ha="center", va="center", fontsize=9,
                            color="white" if dark else "black")
                else:
                    ax.text(j, i, "n/a", ha="center", va="center", fontsize=9,
                            color="#555555")
        fig.colorbar(im, ax=ax, label=_ylabel(metric))
        _title(fig, f"{metric.base} over {px} and {py}", note,
               "n/a: no complete run, or a null value (beyond the horizon)"
               if not np.isfinite(z).all() else "")
    return fig


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


def figures(agg: Aggregate, metrics: dict[str, tuple[Metric | None, Metric | None]]
            ) -> list[FigureSpec]:
    """Draw every sweep figure of ``agg`` for the resolved ``metrics``
    (``{name: (metric in runs, metric in points)}``); figures with no finite value are
    left out."""
    out: list[FigureSpec] = []
    levers = agg.levers
    note = _seed_note(agg)
    for name, (m_run, m_pt) in metrics.items():
        if m_run is not None:
            for x in levers:
                others = [p for p in levers if p != x]
                cs = curves(agg.runs, x, m_run, others)
                if not any(np.isfinite(c.mid).any() for c in cs):
                    log.info("no value of %s to plot against %s", m_run.base, x)
                    continue
                fig = line_figure(cs, x, m_run, f"{m_run.base} against {x}",
                                  others, note)
                out.append(FigureSpec(f"{_stem('line', name, 'vs', x)}.png", "line", m_run.base,
                                      x, [c.label for c in cs], fig))
            if len(levers) == 2:
                px, py = levers
                xs, ys, z = grid(agg.runs, px, py, m_run.mid)
                if np.isfinite(z).any():
                    fig = heatmap_figure(xs, ys, z, px, py, m_run, note)
                    out.append(FigureSpec(f"{_stem('heatmap', name, px, 'x', py)}.png",
                                          "heatmap", m_run.base, px, [py], fig))
        if m_pt is not None:
            for sw in agg.sweeps:
                rows = [r for r in agg.points if r["sweep"] == sw]
                lever = _uniq(r.get("lever") for r in rows)
                xl = f"{sw}: {', '.join(str(v) for v in lever)} (in-batch sweep value)"
                cs = curves(rows, "value", m_pt, levers)
                if not any(np.isfinite(c.mid).any() for c in cs):
                    continue
                fig = line_figure(cs, xl, m_pt, f"{m_pt.base} against in-batch sweep {sw}",
                                  levers, note)
                out.append(FigureSpec(f"{_stem('sweep', sw, name)}.png", "sweep", m_pt.base,
                                      sw, [c.label for c in cs], fig))
    return out


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


def resolve_metrics(agg: Aggregate, metrics: Sequence[str] | None = None
                    ) -> dict[str, tuple[Metric | None, Metric | None]]:
    """``{name: (metric in runs, metric in points)}``.

    Raises
    ------
    SweepDirError
        A metric asked for explicitly resolves in neither table (with complete jobs). A
        default metric that is absent (no tenant) is left out with a log line.
    """
    asked = metrics is not None
    names = list(DEFAULT_METRICS if metrics is None else metrics)
    tenants = agg.tenants
    out: dict[str, tuple[Metric | None, Metric | None]] = {}
    run_cols = agg.run_columns()
    pt_cols = agg.point_columns()
    for name in _uniq(names):
        m = (resolve_metric(name, run_cols, tenants), resolve_metric(name, pt_cols, tenants))
        if m == (None, None):
            if asked and agg.runs:
                hint = f"tenants.{tenants[0]}." if tenants else ""
                raise SweepDirError(
                    f"metric {name!r} is neither a distribution nor a number of the sweep's "
                    f"summaries (try e.g. final_milestone_day, {hint}dependency_share or "
                    "jobs.<job>.finish_day)")
            log.info("metric %s not in this sweep: no figure", name)
            continue
        out[name] = m
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
    resolved = resolve_metrics(agg, metrics)
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
        specs = figures(agg, resolved)
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
        "warnings": agg.warnings,
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
