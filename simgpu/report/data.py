"""Load a saved run (``config.yaml``, ``raw.npz``, summary) for re-rendering, and the small
statistics the figures share. Nothing here simulates or plots."""

from __future__ import annotations

import json
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
    with np.load(d / RAW_NAME) as z:
        arrays = {k: z[k] for k in z.files}
    fields = RawResults.__dataclass_fields__
    absent = [k for k in fields if k not in arrays and k != "cap_daily"]
    if absent:
        raise RunDirError(f"{d / RAW_NAME}: missing records {', '.join(absent)} "
                          "(written by another simgpu version?)")
    raw = RawResults(**{k: arrays.get(k) for k in fields})
    return ReportData(plan, raw, _in_plan_order(summary, plan))


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
    return summary
