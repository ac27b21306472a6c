"""Regenerate simgpu's validation report, docs/validation.md, from the checks themselves.

Usage::

    python -m simgpu.validate [--quick] [--out docs/validation.md] [--json PATH]
                              [--bench PATH]

Every row of the report's tables comes from a small *check*: a function of a
:class:`Context` that returns one row (a dict; a list of them for checks that expand a
published table) and is registered, with the section it belongs to, in :data:`CHECKS`.
Adding a row is adding one decorated function. A row states the source of its reference
value, the reference (published or closed form), simgpu's value with its Monte-Carlo
standard error where it is random, the error in percent and, where random, in standard
errors, and its goal. The simulations that several rows share (one run of the Llama 3
setting gives both its interruption and its ETTR rows) are computed once per run and
cached in the :class:`Context`.

What runs: the closed forms (Poisson interruptions at the Llama 3 rate, ETTR against the
first-order formula and Daly's exact expectation, the simulated optimum interval against
Daly's), the engine against the discrete-event reference on small configurations, the
engine at a 1 h against a 0.1 h step, the ``llama3_405b`` preset against the published
run, the throughput model against its published table (when :mod:`simgpu.perf` provides
``validation_rows``), and the latest engine-vs-DES benchmark (read from
``benchmarks/results``, not rerun). All of it takes a few minutes on two CPU cores;
``--quick`` uses fewer replicas (a smoke run of about half a minute, not for publication).

The non-numeric sections of the report (random-number checks, hand-computed cases,
invariants) describe tests, not measurements, and are kept here as static text.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgpu._version import __version__
from simgpu.cases import (
    LLAMA3_DAYS,
    LLAMA3_NODES,
    LLAMA3_PUBLISHED,
    LLAMA3_RATE,
    MTBF_H,
    RESTART_H,
    WRITE_H,
    des_config,
    des_job,
    des_pool,
    des_reliability,
    llama3_like,
    roadmap,
    single_job,
    spare_pool_job,
)
from simgpu.engine.checkpoint import daly_interval, expected_ettr, young_interval
from simgpu.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

#: The repository root (of an editable install or a source checkout).
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "docs" / "validation.md"
DEFAULT_BENCH_DIR = REPO_ROOT / "benchmarks" / "results"

#: Sources of the published references (the numbers are in simgpu.cases).
LLAMA3_SOURCE = "Llama 3, arXiv:2407.21783 s3.3.4"
#: Table 5 of arXiv:2407.21783, unexpected interruptions grouped by the causes of the
#: ``llama3_405b`` preset (conf/experiment/llama3_405b.yaml).
LLAMA3_TABLE5 = {
    "gpu": 268,  # faulty GPU 148, HBM3 72, SRAM 19, GPU system processor 17, SDC 6, thermal 6
    "software": 56,  # software bug 54, dependency 2
    "host": 46,  # host maintenance 32, SSD 3, PSU 3, chassis 2, IO board 2, CPU 2, memory 2
    "network": 42,  # network switch/cable 35, NIC 7
    "unknown": 7,  # NCCL watchdog timeouts 7
}
LLAMA3_TABLE5_SOURCE = "Llama 3, arXiv:2407.21783 Table 5"
KOKOLIS_SOURCE = "Kokolis et al., arXiv:2410.21680"
DALY_SOURCE = "Daly 2006, FGCS 22:303, eq. 11"

SECTION_TITLES = {
    "closed_forms": "Closed forms",
    "des": "Engine against the discrete-event reference",
    "convergence": "Convergence as the step shrinks",
    "benchmark": "Benchmark at full scale",
    "llama3": "Llama 3 405B pre-training (`experiment=llama3_405b`)",
    "perf": "Throughput model",
}


# ---------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Goal:
    """What a row must show to pass.

    Attributes
    ----------
    kind : str
        ``se``: ``|z| <= value`` (plus ``abs`` absolute slack on the difference);
        ``se_low``: ``z >= -value`` (one-sided); ``rel``: ``|relative error| <= value``;
        ``above``: simgpu's value ``> value``; ``none``: reported, no goal.
    value : float
    abs : float
        Absolute slack on the difference, for kind ``se``.
    """

    kind: str
    value: float = 0.0
    abs: float = 0.0

    def text(self) -> str:
        """The goal in words."""
        if self.kind == "se":
            slack = f" + {self.abs:g}" if self.abs else ""
            return f"within {self.value:g} se{slack}"
        if self.kind == "se_low":
            return f"reference <= simgpu + {self.value:g} se"
        if self.kind == "rel":
            return f"within {_pct_text(self.value)}"
        if self.kind == "above":
            return f"> {self.value:g}"
        return "reported"

    def met(self, row: dict[str, Any]) -> bool | None:
        """Whether ``row`` meets the goal (``None``: no goal, or nothing to judge)."""
        z, rel, s, ref = row["error_se"], row["error_rel"], row["simgpu"], row["reference"]
        if self.kind == "se":
            if s is None or ref is None:
                return None
            se = row["combined_se"] or 0.0
            return abs(s - ref) <= self.value * se + self.abs + 1e-12 * max(abs(ref), 1.0)
        if self.kind == "se_low":
            return None if z is None else z >= -self.value
        if self.kind == "rel":
            return None if rel is None else abs(rel) <= self.value + 1e-12
        if self.kind == "above":
            return None if s is None else s > self.value
        return None


def _pct_text(x: float) -> str:
    return f"{x:g} relative" if x < 1e-4 else f"{100 * x:g} %"


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def make_row(*, id: str, check: str, source: str, where: str, reference: float | None,
             simgpu: float | None, reference_se: float | None = None,
             simgpu_se: float | None = None, n: str = "", goal: Goal = Goal("none"),
             fmt: str = "{:.4g}", reference_text: str = "", simgpu_text: str = "",
             error_text: str = "", note: str = "") -> dict[str, Any]:
    """One row of the report, with its errors computed and its goal judged.

    Parameters
    ----------
    id : str
        Stable key (JSON consumers and tests use it).
    check : str
        What is compared, in words.
    source : str
        Where the reference value comes from (a paper, a formula, the DES).
    where : str
        The test or script that measures the same thing.
    reference, simgpu : float or None
        The reference value and simgpu's; ``None`` where there is none.
    reference_se, simgpu_se : float, optional
        Monte-Carlo standard errors of the two means (random values only).
    n : str
        Sample sizes, in words (e.g. ``"64 replicas"``).
    goal : Goal
    fmt : str
        Format of the values in the markdown table.
    reference_text, simgpu_text, error_text : str
        Replace the formatted cell (values stay machine-readable in the JSON).
    note : str
        Appended to the error cell.

    Returns
    -------
    dict
        JSON-ready row: the arguments plus ``error_rel`` (simgpu / reference - 1),
        ``error_se`` (difference over the combined standard error), ``combined_se``,
        ``goal`` (text), ``goal_met`` and ``status`` (``ok``).
    """
    reference, simgpu = _finite(reference), _finite(simgpu)
    reference_se, simgpu_se = _finite(reference_se), _finite(simgpu_se)
    rel = z = comb = None
    if reference is not None and simgpu is not None:
        if reference != 0.0:
            rel = simgpu / reference - 1.0
        if reference_se is not None or simgpu_se is not None:
            comb = math.hypot(reference_se or 0.0, simgpu_se or 0.0)
            diff = simgpu - reference
            z = diff / comb if comb > 0 else (0.0 if diff == 0 else None)
    row = {"id": id, "check": check, "source": source, "where": where,
           "reference": reference, "reference_se": reference_se, "simgpu": simgpu,
           "simgpu_se": simgpu_se, "combined_se": comb, "n": n, "error_rel": rel,
           "error_se": z, "goal": goal.text(), "goal_kind": goal.kind, "fmt": fmt,
           "reference_text": reference_text, "simgpu_text": simgpu_text,
           "error_text": error_text, "note": note, "status": "ok"}
    if goal.kind == "above":  # a bound: the distance to it is no error
        row["error_rel"] = row["error_se"] = None
    row["goal_met"] = goal.met(row)
    return row


def skipped_row(id: str, check: str, source: str, where: str, why: str) -> dict[str, Any]:
    """A row that could not be computed here, with the reason."""
    row = make_row(id=id, check=check, source=source, where=where, reference=None,
                   simgpu=None)
    row.update(status="skipped", note=why, goal="", goal_met=None)
    return row


# ------------------------------------------------------------------------ context


@dataclass
class Context:
    """Settings of one run and the simulations its rows share.

    Attributes
    ----------
    quick : bool
        Fewer replicas (a smoke run).
    bench : Path
        A benchmark JSON, or a directory whose newest ``bench_engine_*.json`` is read.
    """

    quick: bool = False
    bench: Path = DEFAULT_BENCH_DIR
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def n(self, full: int, quick: int) -> int:
        """Replica count of this mode."""
        return quick if self.quick else full

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run, under ``key``."""
        if key not in self._cache:
            t0 = time.perf_counter()
            self._cache[key] = compute()
            log.info("  simulated %s in %.1f s", key, time.perf_counter() - t0)
        return self._cache[key]


@dataclass(frozen=True)
class Check:
    """A registered check: its id, its report section and the function that builds it."""

    id: str
    section: str
    build: Callable[[Context], dict[str, Any] | list[dict[str, Any]]]


#: Every check, in report order. :func:`check` appends to it.
CHECKS: list[Check] = []


def check(id: str, section: str):
    """Register a check function (``Context -> row dict or list of row dicts``)."""
    def deco(fn):
        CHECKS.append(Check(id, section, fn))
        return fn
    return deco


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error of a 1-D sample (NaN dropped)."""
    x = np.asarray(x, np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 2:
        return (float(x.mean()) if x.size else math.nan), math.nan
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def _ettr(raw, j: int = 0) -> np.ndarray:
    """Per-replica ETTR (useful over held GPU-hours) of job ``j``, baseline variant."""
    held = raw.job_alloc_gpu_h[0, :, j]
    return raw.job_useful_gpu_h[0, :, j] / np.where(held > 0, held, np.nan)


def _simulate(cfg, replicas: int):
    """Compile and run ``cfg`` (a dict or a loaded config) for ``replicas`` replicas."""
    from simgpu.config.load import load
    from simgpu.engine.numpy_engine import simulate
    from simgpu.engine.plan import compile_plan

    plan = compile_plan(load(cfg))
    return plan, simulate(plan, 0, replicas, daily=False)


# ------------------------------------------------------------------ closed forms


def _llama3_like_run(ctx: Context):
    n = ctx.n(1024, 16)
    return ctx.cached(f"llama3_like[{n}]", lambda: _simulate(llama3_like(n), n))


@check("poisson_llama3_rate", "closed_forms")
def poisson_interruptions(ctx: Context) -> dict[str, Any]:
    """Interruptions of a whole-cluster job at the Llama 3 rate against the Poisson mean."""
    _, raw = _llama3_like_run(ctx)
    hits = raw.job_interruptions[0, :, 0].astype(np.float64)
    expected = LLAMA3_RATE / 1000.0 * LLAMA3_NODES * LLAMA3_DAYS
    m, se = _mean_se(hits)
    var = float(hits.var(ddof=1))
    return make_row(
        id="poisson_llama3_rate",
        check=("interruptions of one job on all of 2,048 nodes for 54 days at 3.79 failures "
               "per 1000 node-days (the Llama 3 405B setting)"),
        source=f"Poisson mean; {LLAMA3_SOURCE} reports {LLAMA3_PUBLISHED} unexpected "
               "interruptions",
        where="`tests/engine/test_closed_forms.py`",
        reference=expected, simgpu=m, simgpu_se=se, n=f"{hits.size} replicas",
        goal=Goal("se", 3.0), fmt="{:.1f}",
        note=(f"variance {var:.0f} (Poisson: {expected:.0f}); vs the published "
              f"{LLAMA3_PUBLISHED}: {100 * (m / LLAMA3_PUBLISHED - 1):+.1f} %"))


@check("ettr_first_order", "closed_forms")
def ettr_first_order(ctx: Context) -> dict[str, Any]:
    """ETTR of the whole-cluster job against Kokolis et al.'s first-order formula."""
    _, raw = _llama3_like_run(ctx)
    m, se = _mean_se(_ettr(raw))
    r = LLAMA3_RATE / 1000.0 / 24.0  # per node-hour
    dt_cp, u0, w_cp = 1.0, 0.0, 0.0
    x = LLAMA3_NODES * r * dt_cp
    first = (1.0 - LLAMA3_NODES * r * (u0 + dt_cp / 2.0)) / (1.0 + w_cp / dt_cp)
    return make_row(
        id="ettr_first_order",
        check="ETTR of that job with 1 h checkpoints, no write or restart cost",
        source=f"first order `1 - N r (u0 + dt_cp / 2)` ({KOKOLIS_SOURCE}, as transcribed "
               "in shared/data)",
        where="`simgpu/validate.py` (the case above)",
        reference=first, simgpu=m, simgpu_se=se, n=f"{raw.job_finish_h.shape[1]} replicas",
        goal=Goal("rel", 0.02), fmt="{:.4f}",
        note=f"the formula is first order in N r dt_cp = {x:.2f}; the next term is "
             f"(N r dt_cp)^2 / 12 = {x * x / 12:.4f}")


@check("ettr_daly_llama3", "closed_forms")
def ettr_daly_llama3(ctx: Context) -> dict[str, Any]:
    """ETTR of the whole-cluster job against Daly's exact expectation."""
    _, raw = _llama3_like_run(ctx)
    m, se = _mean_se(_ettr(raw))
    mtbf = 1.0 / (LLAMA3_NODES * LLAMA3_RATE / 1000.0 / 24.0)
    exact = float(expected_ettr(1.0, 0.0, 0.0, mtbf))
    return make_row(
        id="ettr_daly_llama3",
        check=f"ETTR of that job (job MTBF {mtbf:.3f} h)",
        source=f"exact for Poisson failures: `tau / (M e^(R/M) (e^((tau+delta)/M) - 1))` "
               f"({DALY_SOURCE})",
        where="`simgpu/validate.py` (the case above)",
        reference=exact, simgpu=m, simgpu_se=se, n=f"{raw.job_finish_h.shape[1]} replicas",
        goal=Goal("se", 3.0), fmt="{:.4f}",
        note="repairs end within the step, so the job always holds all 2,048 nodes")


@check("ettr_daly_spare_pool", "closed_forms")
def ettr_daly_spare_pool(ctx: Context) -> dict[str, Any]:
    """Engine ETTR of the spare-pool job against Daly's exact expectation."""
    tau, days, n = 0.5, 30.0, ctx.n(256, 8)
    _, raw = ctx.cached(f"spare_pool[tau={tau},{n}]",
                        lambda: _simulate(spare_pool_job(tau, n, days), n))
    m, se = _mean_se(_ettr(raw))
    exact = float(expected_ettr(tau, WRITE_H, RESTART_H, MTBF_H))
    return make_row(
        id="ettr_daly_spare_pool",
        check=(f"ETTR of a job with MTBF {MTBF_H:g} h, {tau:g} h checkpoints written in "
               f"{WRITE_H:g} h, {RESTART_H:g} h restarts ({n} replicas x {days:g} days)"),
        source=f"exact for Poisson failures ({DALY_SOURCE})",
        where="`tests/engine/test_checkpoint.py`",
        reference=exact, simgpu=m, simgpu_se=se, n=f"{n} replicas",
        goal=Goal("se", 3.0, abs=0.002), fmt="{:.4f}",
        note="the slack 0.002 is the test's allowance for the step's discretisation")


def _ettr_optimum(tau: np.ndarray, ettr: np.ndarray) -> tuple[float, float]:
    """Maximiser of a quadratic fit of ETTR against log tau, and its curvature."""
    c = np.polyfit(np.log(tau), ettr, 2)
    return float(np.exp(-c[1] / (2.0 * c[0]))), float(c[0])


@check("optimum_interval", "closed_forms")
def optimum_interval(ctx: Context) -> dict[str, Any]:
    """The interval that maximises simulated ETTR against Daly's higher-order optimum."""
    daly = float(daly_interval(WRITE_H, MTBF_H))
    young = float(young_interval(WRITE_H, MTBF_H))
    # exact maximiser of the closed form, on a fine grid
    fine = np.linspace(0.5 * daly, 2.0 * daly, 200001)
    exact = float(fine[np.argmax(expected_ettr(fine, WRITE_H, RESTART_H, MTBF_H))])
    grid = daly * np.array([0.5, 0.65, 0.8, 1.0, 1.25, 1.55, 2.0])
    n = ctx.n(192, 6)

    def sweep() -> np.ndarray:
        # the same seed gives every interval the same failure history (common random
        # numbers), so the sweep is smooth in tau
        return np.stack([_ettr(_simulate(spare_pool_job(float(t), n), n)[1]) for t in grid])

    ettr = ctx.cached(f"optimum_sweep[{n}]", sweep)  # (intervals, replicas)
    best, curv = _ettr_optimum(grid, ettr.mean(axis=1))
    # the same fit applied to the closed form: how much of the error is the fit's
    fit_cf, _ = _ettr_optimum(grid, expected_ettr(grid, WRITE_H, RESTART_H, MTBF_H))
    # bootstrap over replicas (pairs kept across intervals) for the fit's standard error
    rng = np.random.default_rng(20061)
    boots = []
    for _ in range(400):
        idx = rng.integers(0, n, n)
        b, cb = _ettr_optimum(grid, ettr[:, idx].mean(axis=1))
        if cb < 0:
            boots.append(b)
    se = float(np.std(boots, ddof=1)) if len(boots) > 1 else None
    return make_row(
        id="optimum_interval",
        check=(f"the interval that maximises simulated ETTR (same job; sweep of {grid.size} "
               "intervals, common random numbers, quadratic fit in log tau)"),
        source=(f"Daly's higher-order optimum {daly:.4f} h (exact optimum of the closed "
                f"form: {exact:.4f} h; Young: {young:.3f} h)"),
        where="`tests/engine/test_checkpoint.py`",
        reference=daly, simgpu=best if curv < 0 else None, simgpu_se=se,
        n=f"{n} replicas per interval", goal=Goal("rel", 0.10), fmt="{:.4f}",
        reference_text=f"{daly:.4f} h",
        note=(f"se from 400 bootstrap resamples of the replicas; the same fit to the closed "
              f"form gives {fit_cf:.4f} h (simgpu {100 * (best / fit_cf - 1):+.1f} %"
              + (f", {(best - fit_cf) / se:+.1f} se" if se else "")
              + "): the rest is the fit's, not the engine's") if curv < 0
        else "the fit has no maximum")


# ----------------------------------------------------------------- engine vs DES


def _des_pair(ctx: Context, key: str, build: Callable[[], Any], n_engine: int, n_des: int):
    """Engine and DES records of one configuration (cached per run)."""
    def run():
        from simgpu.engine.numpy_engine import simulate
        from simgpu.engine.plan import compile_plan
        from simgpu.reference.des import simulate_des

        plan = compile_plan(build())
        return plan, simulate(plan, 0, n_engine, daily=False), simulate_des(plan, n_des)
    return ctx.cached(f"{key}[{n_engine},{n_des}]", run)


def _metrics(plan, eng, ref) -> dict[str, tuple[str, list[str], np.ndarray, np.ndarray, str]]:
    """Per-replica metrics of engine and DES: label, names, (R, J or P) arrays, format."""
    H = plan.horizon_hours
    jn, pn = plan.job_names, plan.pool_names
    out = {
        "interruptions": ("mean interruptions", jn, eng.job_interruptions[0],
                          ref["interruptions"], "{:.2f}"),
        "finish": ("mean finish hour (capped at the horizon)", jn,
                   np.minimum(eng.job_finish_h[0], H), np.minimum(ref["finish_h"], H),
                   "{:.2f}"),
        "lost": ("mean lost FLOPs (1e18)", jn, eng.job_lost_flops[0] / 1e18,
                 ref["lost_flops"] / 1e18, "{:.1f}"),
        "node_failures": ("mean node failures", pn, eng.pool_failures,
                          ref["pool_failures"], "{:.2f}"),
    }
    if "ettr" in ref:
        held = eng.job_alloc_gpu_h[0]
        out["ettr"] = ("mean ETTR", jn, eng.job_useful_gpu_h[0] / np.where(
            held > 0, held, np.nan), ref["ettr"], "{:.4f}")
    return out


def _agreement_row(id: str, check: str, where: str, names: list[str], eng: np.ndarray,
                   ref: np.ndarray, fmt: str, ref_source: str = "DES",
                   what: str = "job") -> dict[str, Any]:
    """Row for the worst-agreeing column (job or pool) of an engine/reference metric."""
    rows = []
    for k in range(len(names)):
        me, se_e = _mean_se(eng[:, k])
        md, se_d = _mean_se(ref[:, k])
        rows.append(make_row(id=id, check=check, source=ref_source, where=where,
                             reference=md, reference_se=se_d, simgpu=me, simgpu_se=se_e,
                             n=f"{eng.shape[0]} + {ref.shape[0]} replicas",
                             goal=Goal("se", 3.0), fmt=fmt))
    if len(rows) == 1:
        return rows[0]
    zs = [abs(r["error_se"]) if r["error_se"] is not None else -1.0 for r in rows]
    worst = int(np.argmax(zs))
    row = rows[worst]
    row["check"] = f"{check}, worst of {len(names)} {what}s: {names[worst]}"
    row["note"] = f"z by {what}: " + ", ".join(
        f"{nm} {r['error_se']:+.2f}" if r["error_se"] is not None else f"{nm} n/a"
        for nm, r in zip(names, rows, strict=True))
    row["goal_met"] = all(r["goal_met"] is not False for r in rows)
    return row


@check("des_lone_job", "des")
def des_lone_job(ctx: Context) -> list[dict[str, Any]]:
    """A lone job without failures: engine and DES against the hand-computed finish."""
    from simgpu.engine.numpy_engine import simulate
    from simgpu.engine.plan import compile_plan
    from simgpu.reference.des import simulate_des

    nodes, tau, write, restart, compute = 4, 0.5, 0.01, 0.25, 10.3
    cfg = des_config(
        ["sim.horizon_days=1", "sim.step_hours=0.25"],
        {"c1": des_pool("anthropic", nodes, des_reliability(0.0, 3.0))},
        {"a1": des_job("anthropic", ["c1"], nodes, nodes, compute,
                        checkpoint={"interval_hours": tau, "write_hours": write},
                        restart_hours=restart)})
    plan = compile_plan(cfg)
    expected = restart + compute + 20 * write  # 20 full cycles, then 0.3 h
    eng = float(simulate(plan, 0, 1, daily=False).job_finish_h[0, 0, 0])
    des = float(simulate_des(plan, 1)["finish_h"][0, 0])
    out = []
    for who, val in (("engine", eng), ("DES", des)):
        out.append(make_row(
            id=f"des_lone_job_{who.lower()}",
            check=(f"lone job, no failures: finish hour ({who}; {compute:g} h of compute, "
                   f"{tau:g} h cycles + {write:g} h writes, {restart:g} h start-up)"),
            source="closed form (by hand)", where="`tests/reference/test_des.py`",
            reference=expected, simgpu=val, goal=Goal("rel", 1e-9), fmt="{:.6f}"))
    return out


_SINGLE_DESC = ("one job on a failure-prone pool with a 75 % lease (engine step 0.1 h)")
_ROADMAP_DESC = ("four-job roadmap: replaced-burden lease, dependency, earliest start, pool "
                 "moves, growing then shrinking schedule, facility and rack outages "
                 "(engine step 0.1 h)")


def _des_rows(ctx: Context, key: str, desc: str, build: Callable[[], Any]
              ) -> list[dict[str, Any]]:
    n = ctx.n(1000, 40)
    plan, eng, ref = _des_pair(ctx, key, build, n, n)
    rows = []
    for mk, (label, names, e, d, fmt) in _metrics(plan, eng, ref).items():
        rows.append(_agreement_row(f"des_{key}_{mk}", f"{desc}: {label}",
                                   "`tests/reference/test_des.py`", names, e, d, fmt,
                                   what="pool" if mk == "node_failures" else "job"))
    return rows


@check("des_single_job", "des")
def des_single_job(ctx: Context) -> list[dict[str, Any]]:
    """Engine against DES: one job, node failures and repairs only."""
    return _des_rows(ctx, "single_job", _SINGLE_DESC, lambda: single_job(0.1))


@check("des_roadmap", "des")
def des_roadmap(ctx: Context) -> list[dict[str, Any]]:
    """Engine against DES: the four-job roadmap."""
    return _des_rows(ctx, "roadmap", _ROADMAP_DESC, lambda: roadmap(0.1))


@check("des_lemons", "des")
def des_lemons(ctx: Context) -> list[dict[str, Any]]:
    """Lemon nodes: node failures agree; the DES's jobs are hit no more often."""
    n = ctx.n(500, 30)
    plan, eng, ref = _des_pair(
        ctx, "lemons",
        lambda: single_job(0.25, nodes=64, share=1.0, failures_per_1000_node_days=300.0,
                           lemon_fraction=0.2, lemon_factor=6.0), n, n)
    desc = "64-node job, 20 % lemons failing 6x as often (engine step 0.25 h)"
    fail = _agreement_row("des_lemons_node_failures", f"{desc}: mean node failures",
                          "`tests/reference/test_des.py`", plan.pool_names,
                          eng.pool_failures, ref["pool_failures"], "{:.2f}")
    me, se_e = _mean_se(eng.job_interruptions[0, :, 0])
    md, se_d = _mean_se(ref["interruptions"][:, 0])
    hits = make_row(
        id="des_lemons_interruptions", check=f"{desc}: mean interruptions (one-sided)",
        source="DES", where="`tests/reference/test_des.py`", reference=md, reference_se=se_d,
        simgpu=me, simgpu_se=se_e, n=f"{n} + {n} replicas", goal=Goal("se_low", 3.0),
        fmt="{:.2f}",
        note="DES jobs hold actual nodes, which are depleted of lemons, so they are hit "
             "less: a documented model difference")
    return [fail, hits]


# ------------------------------------------------------------------- convergence


@check("step_convergence", "convergence")
def step_convergence(ctx: Context) -> list[dict[str, Any]]:
    """The single-job configuration at a 1 h against a 0.1 h step."""
    n = ctx.n(2000, 50)

    def run():
        return {dt: _simulate(single_job(dt), n) for dt in (1.0, 0.1)}

    runs = ctx.cached(f"step_convergence[{n}]", run)
    (plan, a), (_, b) = runs[1.0], runs[0.1]
    H = plan.horizon_hours
    metrics = {
        "finish": ("mean finish hour (capped at the horizon)",
                   np.minimum(a.job_finish_h[0], H), np.minimum(b.job_finish_h[0], H),
                   "{:.2f}"),
        "interruptions": ("mean interruptions", a.job_interruptions[0],
                          b.job_interruptions[0], "{:.2f}"),
        "ettr": ("mean ETTR", np.stack([_ettr(a, j) for j in range(len(plan.job_names))], 1),
                 np.stack([_ettr(b, j) for j in range(len(plan.job_names))], 1), "{:.4f}"),
    }
    rows = []
    for key, (label, x1, x01, fmt) in metrics.items():
        rows.append(_agreement_row(
            f"step_{key}", f"{_SINGLE_DESC.split(' (')[0]}: {label}, 1 h step (simgpu) vs "
            "0.1 h step (reference)", "`tests/reference/test_des.py`", plan.job_names,
            x1, x01, fmt, ref_source="the engine at a 0.1 h step"))
    return rows


# --------------------------------------------------------------------- benchmark


def _latest_bench(path: Path) -> Path | None:
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(path.glob("bench_engine_*.json"))
        return found[-1] if found else None
    return None


def _rel_repo(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


@check("benchmark", "benchmark")
def benchmark(ctx: Context) -> list[dict[str, Any]]:
    """The latest engine-vs-DES benchmark (read, not rerun)."""
    path = _latest_bench(Path(ctx.bench))
    check_text = "default scenario: engine against DES"
    if path is None:
        return [skipped_row("bench", check_text, "benchmarks/bench_engine.py",
                            "`benchmarks/bench_engine.py`",
                            f"no bench_engine_*.json under {ctx.bench}")]
    d = json.loads(path.read_text())
    where = f"`{_rel_repo(path)}`"
    sc = d.get("scenario", {})
    days = sc.get("horizon_days", float("nan"))
    eng_n = d.get("engine", {}).get("replicas")
    des_n = d.get("des", {}).get("replicas")
    step = sc.get("step_hours", float("nan"))
    rows = []
    e_hps = d.get("engine", {}).get("histories_per_s")
    d_hps = d.get("des", {}).get("histories_per_s")
    if e_hps and d_hps:
        ratio = e_hps / d_hps
        like = d.get("ratio_engine_baseline_only_over_des_replicas_per_s")
        rows.append(make_row(
            id="bench_speed",
            check=(f"{check_text}, {days:g} days: histories per second (engine: "
                   f"{len(sc.get('variants', []))} variants in one batch; DES: baseline)"),
            source="DES (SimPy)", where=where, reference=d_hps, simgpu=e_hps,
            fmt="{:.3g}", error_text=f"engine x{ratio:.1f}" + (
                f" (x{like:.1f} like for like, one variant each)" if like else ""),
            note=f"{d.get('machine', {}).get('cpu_count', '?')} CPU cores"))
        rows[-1]["error_rel"] = None  # a speed-up, not an error
    fin = d.get("baseline_finish_h", {})
    welch = d.get("baseline_finish_welch", {})
    inter = d.get("baseline_mean_interruptions", {})
    for job in ("frontier_1",):
        e = fin.get("engine", {}).get(job, {})
        r = fin.get("des", {}).get(job, {})
        w = welch.get(job, {}).get("capped_at_horizon", {})
        if e.get("p50_h") is None or r.get("p50_h") is None:
            continue
        row = make_row(
            id=f"bench_finish_{job}",
            check=(f"{check_text}, {days:g} days: {job} finish hour, P50 (engine at its "
                   f"{step:g} h step: {eng_n} replicas; DES {des_n})"),
            source="DES (SimPy)", where=where, reference=r["p50_h"], simgpu=e["p50_h"],
            goal=Goal("none"), fmt="{:.0f}")
        if w.get("t") is not None:
            row["error_text"] = (
                f"{100 * row['error_rel']:+.2f} % (P50); Welch t = {w['t']:+.2f} on the means "
                f"(unfinished capped at the horizon), p = {w['p_value']:.2f}")
            row["error_se"] = float(w["t"])
            row["goal"] = "Welch |t| <= 3"
            row["goal_kind"] = "se"
            row["goal_met"] = abs(float(w["t"])) <= 3.0
        rows.append(row)
    for job in ("frontier_1", "grok_next"):
        e, r = inter.get("engine", {}).get(job), inter.get("des", {}).get(job)
        if e is None or r is None:
            continue
        rows.append(make_row(
            id=f"bench_interruptions_{job}",
            check=f"{check_text}, {days:g} days: mean interruptions of {job}",
            source="DES (SimPy)", where=where, reference=r, simgpu=e, fmt="{:.0f}",
            note="no standard errors in the benchmark file"))
    if not rows:
        rows.append(skipped_row("bench", check_text, "benchmarks/bench_engine.py", where,
                                "the file has none of the expected keys"))
    return rows


# ----------------------------------------------------------------- Llama 3 preset


def _llama3_preset(ctx: Context):
    n = ctx.n(512, 16)

    def run():
        import simgpu

        cfg = simgpu.compose(["experiment=llama3_405b", f"sim.replicas={n}",
                              "sim.progress=false", "report.daily_series=false"])
        return simgpu.run(cfg)
    return ctx.cached(f"llama3_405b[{n}]", run)


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


@check("llama3_405b", "llama3")
def llama3_preset(ctx: Context) -> list[dict[str, Any]]:
    """The ``llama3_405b`` preset against the published run: interruptions by cause and
    in total (the published counts taken as one Poisson draw each), and ETTR."""
    from simgpu.errors import SimgpuError

    where = "`conf/experiment/llama3_405b.yaml`"
    try:
        res = _llama3_preset(ctx)
    except (SimgpuError, ImportError) as exc:
        why = f"the preset does not compose or run yet: {str(exc).splitlines()[0]}"
        log.warning("llama3_405b skipped: %s", why)
        return [skipped_row("llama3_total", "Llama 3 405B preset", LLAMA3_SOURCE, where, why)]
    s = res.summary
    jobs = s.get("jobs", {})
    jname = "llama3_405b" if "llama3_405b" in jobs else next(iter(jobs))
    job = jobs[jname]
    pools = s.get("pools", {})
    pname = next(iter(pools)) if len(pools) == 1 else None
    plan, raw = res.plan, res.raw
    R = int(s.get("replicas", raw.job_finish_h.shape[1]))
    j = plan.job_names.index(jname)
    n = f"{R} replicas"
    rows = []

    def se_of(values: np.ndarray | None, mean: float) -> float:
        if values is not None:
            return _mean_se(values)[1]
        return math.sqrt(max(mean, 0.0) / R)  # Poisson approximation

    by_cause = job.get("interruptions_by_cause")
    node_by_cause = _get(pools, pname, "node_failures_by_cause") if pname else None
    raw_by_cause = getattr(raw, "job_interruptions_by_cause", None)
    causes = list(getattr(plan, "cause_names", []))
    if not by_cause:
        rows.append(skipped_row("llama3_by_cause", "Llama 3 405B: interruptions by cause",
                                LLAMA3_TABLE5_SOURCE, where,
                                "the summary has no jobs.<job>.interruptions_by_cause yet"))
    else:
        for cause, d in by_cause.items():
            mean = d.get("mean")
            vals = (raw_by_cause[0, :, j, causes.index(cause)]
                    if raw_by_cause is not None and cause in causes else None)
            pub = LLAMA3_TABLE5.get(cause)
            nodes = _get(node_by_cause, cause, "mean") if node_by_cause else None
            note = "" if nodes is None else f"node failures in the pool (spares too): {nodes:.1f}"
            if not node_by_cause:
                note = "the summary has no pools.<pool>.node_failures_by_cause yet"
            if mean is not None and mean == 0 and not pub:
                continue  # a cause (e.g. a failure domain) the published run has no row for
            rows.append(make_row(
                id=f"llama3_cause_{cause}", check=f"interruptions by cause: {cause}",
                source=LLAMA3_TABLE5_SOURCE, where=where, reference=pub,
                reference_se=math.sqrt(pub) if pub else None, simgpu=mean,
                simgpu_se=se_of(vals, mean or 0.0), n=n, goal=Goal("se", 3.0) if pub
                else Goal("none"), fmt="{:.1f}",
                reference_text=f"{pub} +- {math.sqrt(pub):.1f}" if pub else "none published",
                note=note))
    tot = _get(job, "interruptions", "mean")
    rows.append(make_row(
        id="llama3_total", check="unexpected interruptions in 54 days, total",
        source=LLAMA3_SOURCE, where=where, reference=LLAMA3_PUBLISHED,
        reference_se=math.sqrt(LLAMA3_PUBLISHED), simgpu=tot,
        simgpu_se=se_of(raw.job_interruptions[0, :, j], tot or 0.0), n=n,
        goal=Goal("se", 3.0), fmt="{:.1f}",
        reference_text=f"{LLAMA3_PUBLISHED} +- {math.sqrt(LLAMA3_PUBLISHED):.1f}",
        note="the preset's rate is derived from this count: a consistency check"))
    ettr = _get(job, "ettr", "mean")
    rows.append(make_row(
        id="llama3_ettr", check="effective training time (ETTR: useful over held GPU-hours)",
        source=LLAMA3_SOURCE, where=where, reference=0.90, simgpu=ettr,
        simgpu_se=_mean_se(_ettr(raw, j))[1], n=n, goal=Goal("above", 0.90), fmt="{:.4f}",
        reference_text="> 0.90", error_text="n/a (a bound)",
        note="restart 10 min and checkpoint write 3.6 s are the preset's estimates"))
    return rows


# ----------------------------------------------------------------------- throughput


@check("perf", "perf")
def perf_rows(ctx: Context) -> list[dict[str, Any]]:
    """The throughput model against published runs (``simgpu.perf``), out of source.

    One row per published run: simgpu's value from the constants fitted *without* the
    run's source (leave-one-source-out cross-validation; rows never fitted on use the
    shipped fit) against the published value, goal ±10 % in throughput. The in-sample
    error (the shipped fit, which saw the row) and whether the row was fitted on are in
    the note, so validation and calibration are told apart in every table. Rows the
    model is known to miss (``simgpu.perf.validation.KNOWN_MISSES``, each with its
    reason; tests/perf fails if one stops missing or another starts) are reported with
    their error and the note "known miss", not judged again here.
    """
    where = "`simgpu/perf/validation.py`, docs/perf.md"
    fn, tol = None, 0.10
    for mod_name in ("simgpu.perf", "simgpu.perf.validation"):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        fn = getattr(mod, "validation_rows", None)
        tol = float(getattr(mod, "TOLERANCE", tol))
        if fn is not None:
            break
    if fn is None:
        return [skipped_row("perf", "throughput model", "published tables", where,
                            "simgpu.perf exposes no validation_rows() yet")]
    known = getattr(importlib.import_module("simgpu.perf.validation"), "KNOWN_MISSES", {})
    rows = []
    for r in fn():
        d = r.as_dict() if hasattr(r, "as_dict") else dict(r)
        metric = d.get("metric", "")
        pct = metric == "mfu"
        fmt = ("{:.1%}" if pct else "{:.2f}" if metric == "step_seconds" else
               "{:,.0f}" if metric == "tokens_per_second_per_gpu" else "{:.0f}")
        oos = d.get("out_of_source", d.get("simgpu"))
        oos_err = d.get("oos_error", d.get("error"))
        flags = []
        if d.get("calibration", True):
            flags.append(f"out of source (fit without {d.get('group', 'its source')}); "
                         f"in sample {100 * float(d.get('error') or 0.0):+.1f} % "
                         "(calibration row)")
        else:
            flags.append("held out: never fitted on")
        miss = known.get(d.get("key", ""))
        if miss:
            flags.insert(0, f"known miss, goal ±{100 * tol:g} % not met: {miss}")
        if d.get("assumed"):
            flags.append(f"assumed: {d['assumed']}")
        row = make_row(
            id=f"perf_{d.get('key', len(rows))}",
            check=f"{d.get('config', '')}: {d.get('unit', metric)}, out of source",
            source=d.get("source", ""), where=where, reference=d.get("published"),
            simgpu=oos, goal=Goal("none") if miss else Goal("rel", tol), fmt=fmt,
            note="; ".join(flags))
        if oos_err is not None:  # throughput error (inverted for step times)
            row["error_rel"] = float(oos_err)
            if not miss:
                row["goal_met"] = abs(row["error_rel"]) <= tol + 1e-12
        rows.append(row)
    return rows


# ------------------------------------------------------------------------- report


def run_checks(ctx: Context, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Run every registered check (or those in ``only``); rows in report order.

    A check that raises becomes one row with status ``error`` and the message, so one
    broken check does not lose the others' minutes of work.
    """
    rows = []
    for c in CHECKS:
        if only and c.id not in only:
            continue
        log.info("check %s (%s)", c.id, c.section)
        t0 = time.perf_counter()
        try:
            out = c.build(ctx)
        except Exception as exc:  # reported in the table and by the exit status
            log.exception("check %s failed", c.id)
            first = (str(exc).strip().splitlines() or [""])[0]
            out = skipped_row(c.id, c.id, "", "", f"{type(exc).__name__}: {first}")
            out["status"] = "error"
        for r in out if isinstance(out, list) else [out]:
            r["section"] = c.section
            rows.append(r)
            if r["goal_met"] is False:
                log.warning("  %s: goal %s not met", r["id"], r["goal"])
        log.info("  %s done in %.1f s", c.id, time.perf_counter() - t0)
    return rows


def _fmt_value(fmt: str, x: float | None, se: float | None = None) -> str:
    if x is None:
        return "-"
    s = fmt.format(x)
    if se is not None:
        s_se = fmt.format(se)
        s += f" +- {s_se}"
    return s


def _error_cell(r: dict[str, Any]) -> str:
    if r["status"] != "ok":
        return f"{r['status']}: {r['note']}"
    if r["error_text"]:
        parts = [r["error_text"]]
    else:
        parts = []
        if r["error_rel"] is not None:
            rel = 100 * r["error_rel"]
            parts.append(f"{rel:+.2g} %" if abs(rel) < 0.1 else f"{rel:+.1f} %")
        if r["error_se"] is not None:
            parts.append(f"({r['error_se']:+.2f} se)")
        elif r["combined_se"] is not None:
            parts.append("(zero variance)")
    cell = " ".join(parts) or "-"
    if r["note"]:
        cell += f"; {r['note']}"
    return cell


def _goal_cell(r: dict[str, Any]) -> str:
    if not r["goal"] or r["goal_kind"] == "none":
        return "reported"
    verdict = {True: "met", False: "**NOT MET**", None: "-"}[r["goal_met"]]
    return f"{r['goal']}: {verdict}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict[str, Any]], reference_header: str = "reference") -> str:
    """Markdown table of ``rows``: check, source, reference, simgpu, error, goal, where."""
    head = (f"| check | source | {reference_header} | simgpu | error | goal | where |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n")
    lines = []
    for r in rows:
        ref = r["reference_text"] or _fmt_value(r["fmt"], r["reference"], r["reference_se"])
        sim = r["simgpu_text"] or _fmt_value(r["fmt"], r["simgpu"], r["simgpu_se"])
        if r["n"] and r["simgpu"] is not None:
            sim += f" ({r['n']})"
        cells = [r["check"], r["source"], ref, sim, _error_cell(r), _goal_cell(r), r["where"]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return head + "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    out = {"simgpu": __version__, "python": platform.python_version()}
    for dist in ("numpy", "simpy", "hydra-core", "omegaconf"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _git_commit() -> str | None:
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip()
                                  else "")


def metadata(argv: list[str], quick: bool, wall_s: float) -> dict[str, Any]:
    """When, where and how the report was generated."""
    return {
        "generated_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m simgpu.validate", *map(shlex.quote, argv)]).strip(),
        "mode": "quick" if quick else "full",
        "wall_seconds": round(wall_s, 1),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "versions": _versions(),
        "git_commit": _git_commit(),
    }


# --- static text: the sections that describe tests, not measurements ---------------

_RNG = """\
## 1. Random numbers

| check | reference | result | where |
| --- | --- | --- | --- |
| Philox4x32-10 known-answer vectors (3 vectors) | Random123 `kat_vectors` | exact | `tests/rng/test_philox.py` |
| `detmath.log`, `detmath.exp` (IEEE basic operations only) | `np.log`, `np.exp` over 1e-300..1e300 and -745..709 | <= 1 ulp | `tests/rng/test_detmath.py` |
| uniform, exponential, normal (AS241), lognormal, Weibull | KS test against the exact CDF | p > 1e-3 each; a shifted distribution is rejected (p < 1e-6) | `tests/rng/test_distributions.py` |
| Poisson at lambda = 0.3, 3, 9.99, 10, 50, 1000 | chi-square against the pmf; mean and variance | p > 1e-3; within 4 standard errors | `tests/rng/test_distributions.py` |
"""  # noqa: E501

_HAND = """\
## 2. Hand-computed cases (exact)

Each compares the engine with a value computed by hand; all agree to a relative 1e-9 or
better (floating-point rounding only). These are pass/fail tests, run by `pytest`.

| case | expected | where |
| --- | --- | --- |
| one pool, one job, no failures: 10 h of compute, 1 h checkpoint cycles + 0.1 h writes, 0.25 h start-up | finishes at 11.15 h; ETTR = 10 / 11.15 | `tests/engine/test_engine.py` |
| an injected failure (the generator's first failure time reconstructed from its counters) | lost work = uncommitted compute at the hit; kept work = committed cycles + fresh cycles after the restart | `tests/engine/test_engine.py` |
| closed-form step: rollback to the last checkpoint, restart, hits during restarts, two hits in a step, a finish at the exact hour, a finish across a checkpoint write | by hand | `tests/engine/test_progress.py` |
| dependency chain a -> b -> c | each starts at the first step boundary after its predecessor's finish | `tests/engine/test_engine.py` |
| lease share 0.35 of 10 nodes; 25 % withheld; gpus-based lease from 10:00 | 3 / 7 nodes; 2 / 8 nodes; 2 nodes from hour 10 | `tests/engine/test_engine.py` |
| payments: $8.766M a year; 60 % withheld for 10 h after 6 h notice; price x2 later | $1000/h, 40 % while withheld, $2000/h after | `tests/engine/test_engine.py` |
| renewals (two extra 12 h terms) and the non-renewal counterfactual | 36 h vs 12 h of capacity | `tests/engine/test_engine.py` |
| capacity schedule of 1.2 MW at 1.5 kW per GPU; linear ramp | 100 nodes; interpolated node counts | `tests/engine/test_engine.py` |
| landlord-first: the landlord's job takes the leased half | tenant gets 0 GPU-hours | `tests/engine/test_engine.py` |
"""  # noqa: E501

_CLOSED_INTRO = """\
## 3. Closed forms

Values are means over replicas with their Monte-Carlo standard error (se); the error is
simgpu's value over the reference, minus one, and the difference in standard errors.
"""

_DES_INTRO = """\
## 4. Against the discrete-event reference

`simgpu/reference/des.py` is an independent per-node, continuous-time discrete-event
simulation (SimPy) of the same model, written from the model description: every node has
its own failure clock and repair, jobs hold specific nodes, allocation happens at the
instant anything changes. It differs from the stepped engine by design in where
allocation happens (instantly rather than at step boundaries) and in which nodes a job
holds (lowest free ids rather than a uniform layout; with lemon nodes this makes jobs in
the DES hold fewer lemons, so they are hit less: the check bounds that from one side).

Engine and DES draw independent random numbers, so their means differ by sampling error
alone if the models agree: each row gives the difference in combined standard errors
(z); for several jobs or pools, the row shows the worst one and lists every z.
"""

_CONVERGENCE_INTRO = """\
### Convergence as the step shrinks

The stepped engine should converge to continuous time: the single-job configuration
above, at the default 1 h step against a 0.1 h step (independent samples: the step
changes every random-number counter).
"""

_BENCH_INTRO = """\
### Benchmark at full scale

The latest engine-vs-DES benchmark (`benchmarks/bench_engine.py`, read from its JSON, not
rerun here): the default scenario on a 90-day horizon.
"""

_DES_OUTRO = """\
A deliberately wrong engine (rollback losing 80 % instead of 100 % of uncommitted work)
fails the agreement tests.

The comparison found one real discrepancy, since fixed: a job hit by a failure whose
restart ended before the next step boundary was then shrunk for the failed node and paid a
second restart (about 330 spurious restarts per large job over 90 days, finishing ~1 %
late). Jobs now re-size at the restart that follows a hit.
"""

_INVARIANTS = """\
## 5. Invariants

On 12 randomly generated valid worlds (1-3 pools, leases with both failure burdens,
lemons, rack outages, 1-5 jobs with dependencies, every counterfactual):
healthy <= online GPU-hours; every healthy GPU-hour is usable by exactly one party
(conservation across parties, to 1e-12); GPU-hours allocated <= usable per party and pool;
FLOPs delivered <= allocated GPU-hours x peak; no job does more than its FLOPs and every
finished job did exactly its FLOPs; useful <= held GPU-hours; lease deliveries <= the
tenant's usable capacity; dependants start after their dependencies finish
(`tests/engine/test_invariants.py`). Determinism: the same seed gives identical arrays,
whatever the chunking; another seed gives another history; a lever that never acts gives
the baseline bit for bit (common random numbers).
"""

_PUBLISHED_INTRO = """\
## 6. Published training runs

### Llama 3 405B pre-training (`experiment=llama3_405b`)

The preset reproduces the 54-day snapshot of Llama 3 405B pre-training on 16,384 H100
(arXiv:2407.21783 s3.3.4). Its failure rate and the shares of its causes are derived from
the published counts (Table 5), so this checks that the engine and the preset reproduce
them, not an independent prediction; the repair times per cause are illustrative. A
published count is one history: it is compared as one Poisson draw (standard error the
square root of the count).
"""

_PERF_INTRO = """\
### Throughput model

`simgpu.perf` against published throughput (TFLOP/s per GPU, MFU or step time) of
Megatron-LM, MegaScale and Llama 3 runs; the error is in throughput (for step times,
published over simgpu's). Rows marked as calibration rows were used to fit the model's
constants; the others are out of sample. The model is described in `simgpu/perf/`.
"""


def _not_yet(rows: list[dict[str, Any]]) -> str:
    ok = {r["section"] for r in rows if r["status"] == "ok"}
    items = []
    if "perf" not in ok:
        items.append("- Throughput: jobs use a configured MFU; the calibrated model against "
                     "Megatron-LM's\n  published table is future work.")
    if "llama3" not in ok:
        items.append("- Interruptions by cause against the Llama 3 405B run: future work.")
    items.append("- Reliability defaults per GPU generation other than Hopper, and the "
                 "repair-time\n  distributions: the repair times in the shipped presets are "
                 "illustrative, and no\n  published run gives them.")
    items.append("- Correlated outages (racks, switches, power, facilities): the engine "
                 "agrees with the DES\n  (section 4), but their rates are not checked "
                 "against a published record.")
    return "## 7. Not yet validated\n\n" + "\n".join(items) + "\n"


def render(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The whole of docs/validation.md from the rows and the run's metadata."""
    v = meta["versions"]
    by = {s: [r for r in rows if r["section"] == s] for s in SECTION_TITLES}
    goals = [r for r in rows if r["goal_met"] is not None]
    met = sum(1 for r in goals if r["goal_met"])
    errors = [r for r in rows if r["status"] == "error"]
    skipped = [r for r in rows if r["status"] == "skipped"]
    commit = f", commit {meta['git_commit']}" if meta.get("git_commit") else ""
    quick = ("\n**Quick mode: fewer replicas, a smoke run; not the published numbers.**\n"
             if meta["mode"] == "quick" else "")
    parts = [f"""\
# Validation

<!-- Generated by `{meta['command']}` (simgpu/validate.py): do not edit by hand. -->

What simgpu's numbers have been checked against, how, and the measured error. Each line
names the test or script that measures it, so it can be re-run. The tables of sections
3, 4 and 6 are generated by `python -m simgpu.validate`, which runs their checks and
rewrites this page; do not edit it by hand (change `simgpu/validate.py` and regenerate).

Generated {meta['generated_utc']} by `{meta['command']}` ({meta['mode']} mode, \
{meta['wall_seconds']:.0f} s) on {meta['platform']} ({meta['machine']}, \
{meta['cpu_count']} CPUs): simgpu {v['simgpu']}{commit}, Python {v['python']}, \
NumPy {v['numpy']}, SimPy {v['simpy']}, Hydra {v['hydra-core']}.
{quick}
Goals met: {met} of {len(goals)} rows with a goal; {len(skipped)} skipped, \
{len(errors)} failed to run.
""", _RNG, _HAND, _CLOSED_INTRO, table(by["closed_forms"], "closed form"), _DES_INTRO,
             table(by["des"], "reference"), _CONVERGENCE_INTRO,
             table(by["convergence"], "0.1 h step"), _BENCH_INTRO,
             table(by["benchmark"], "DES"), _DES_OUTRO, _INVARIANTS, _PUBLISHED_INTRO,
             table(by["llama3"], "published"), _PERF_INTRO, table(by["perf"], "published"),
             _not_yet(rows)]
    return "\n".join(parts)


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = [k for k in rows[0] if k != "fmt"] if rows else []
    return [{k: r.get(k) for k in keep} for r in rows]


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simgpu.validate``."""
    p = argparse.ArgumentParser(
        prog="python -m simgpu.validate",
        description="Run simgpu's reference checks and regenerate docs/validation.md.")
    p.add_argument("--quick", action="store_true",
                   help="fewer replicas: a smoke run of about half a minute")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"markdown report (default: {_rel_repo(DEFAULT_OUT)})")
    p.add_argument("--json", type=Path, default=None,
                   help="also write the rows as JSON to this path")
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH_DIR,
                   help="benchmark JSON, or a directory whose newest bench_engine_*.json "
                        "is read (default: benchmarks/results)")
    p.add_argument("--only", nargs="*", default=None, metavar="CHECK",
                   help=f"run only these checks (ids: {', '.join(c.id for c in CHECKS)})")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the checks, write the report (and the JSON); 0 if every check ran, else 1.

    A goal that is not met is reported in the table and logged, and does not change the
    exit status: the report is a measurement. A check that raised gives status 1.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    unknown = set(args.only or []) - {c.id for c in CHECKS}
    if unknown:
        build_parser().error(f"unknown checks: {', '.join(sorted(unknown))}")
    t0 = time.perf_counter()
    ctx = Context(quick=args.quick, bench=args.bench)
    rows = run_checks(ctx, args.only)
    meta = metadata(argv, args.quick, time.perf_counter() - t0)
    atomic_write_text(args.out, render(rows, meta))
    log.info("wrote %s", args.out)
    if args.json is not None:
        atomic_write_json(args.json, {"schema": "simgpu.validation/1", "meta": meta,
                                      "rows": _json_rows(rows)})
        log.info("wrote %s", args.json)
    missed = [r["id"] for r in rows if r["goal_met"] is False]
    log.info("done in %.0f s: %d rows, goals not met: %s", meta["wall_seconds"], len(rows),
             ", ".join(missed) or "none")
    return 1 if any(r["status"] == "error" for r in rows) else 0


__all__ = ["CHECKS", "Check", "Context", "Goal", "check", "main", "make_row", "render",
           "run_checks", "skipped_row", "table"]

if __name__ == "__main__":
    sys.exit(main())
