"""Benchmarks of the NumPy stepped engine.

Default mode: the engine against the discrete-event reference (DES). Runs the default
scenario (``experiment=colossus_lease``) on a shorter horizon with the NumPy engine (every
variant, one batch) and with the DES (the variants of ``--des-variants``, on common random
numbers), and writes one JSON file with the machine, the settings, wall times, histories
per second (one history = one replica of one variant) and the baseline finish-time
distributions of both, with a Welch two-sample test per job. Its ``agreement`` section
gives, per DES variant and job, the means and standard errors of both simulators (finish
hour capped at the horizon, interruptions, preemptions, ETTR and, for a counterfactual,
the delay against the baseline), from which ``python -m simgpu.validate`` judges the
agreement; ``source_digest`` records the sources the numbers came from, so that a run
older than the engine or the DES is seen as stale. The engine's step discretisation (and
the DES's documented differences, :mod:`simgpu.reference.des`) can make the two differ
slightly: the numbers are reported as measured.

``--compare-rev REV``: the engine against itself at git revision ``REV``. Imports the
``simgpu`` package of ``REV`` beside the working tree's (under another name), runs both
engines on the same compiled plan of the default scenario (its own horizon and replicas
unless given), alternately (ABBA...) for ``--rounds`` rounds in one process so that a
shared, noisy machine weighs on both alike, checks that every array of their results is
the same bit for bit, and writes the wall times, histories per second and the speed-up.

``--compare-rev REV --identity``: no timing; every result array of the shipped
experiments (hourly over 15 days, daily over their horizon), ``simgpu.cases.kernel_mix``
and the random worlds of the tests must be the same bit for bit at ``REV`` and in the
working tree (for engine changes that must not change any result).

Usage::

    python benchmarks/bench_engine.py [--replicas 64] [--des-replicas 48]
                                      [--des-variants baseline,no_lease]
                                      [--horizon-days 90] [--step-hours H] [--out DIR]
    python benchmarks/bench_engine.py --compare-rev REV [--rounds 3] [--replicas R]
                                      [--horizon-days D] [--out DIR]
    python benchmarks/bench_engine.py --compare-rev REV --identity

The JSON goes to ``--out``, else ``$SIMGPU_BENCH_OUT``, else ``benchmarks/results/``, as
``bench_engine_<UTC date and time>.json`` (against the DES) or
``bench_numpy_speed_<UTC date and time>.json`` (against a revision), written atomically.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import importlib
import io
import logging
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from simgpu.config import compose, load
from simgpu.engine.numpy_engine import simulate
from simgpu.engine.plan import compile_plan
from simgpu.io import atomic_write_json
from simgpu.reference.des import simulate_des_variants
from simgpu.validate import BENCH_SOURCES, source_digest

log = logging.getLogger("bench_engine")

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parent.parent
#: The defaults of the engine-vs-DES mode (the speed mode takes the scenario's own).
DES_REPLICAS, DES_ENGINE_REPLICAS, DES_HORIZON_DAYS = 48, 64, 90.0


def _machine() -> dict[str, Any]:
    """Where the benchmark ran."""
    import simpy

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": getattr(simpy, "__version__", "unknown"),
    }


def _dist(finish: np.ndarray) -> dict[str, Any]:
    """Finish-hour distribution of one job over histories (finished histories only)."""
    done = finish[np.isfinite(finish)]
    out: dict[str, Any] = {"n": int(finish.size), "finished": int(done.size),
                           "finished_frac": float(done.size / finish.size) if finish.size
                           else None}
    if done.size:
        p10, p50, p90 = np.percentile(done, [10, 50, 90])
        out.update(mean_h=float(done.mean()), p10_h=float(p10), p50_h=float(p50),
                   p90_h=float(p90))
    else:
        out.update(mean_h=None, p10_h=None, p50_h=None, p90_h=None)
    return out


def _welch(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Welch's two-sample t test of the means of ``a`` and ``b`` (finished histories)."""
    a = a[np.isfinite(a)]
    b = b[np.isfinite(b)]
    res: dict[str, Any] = {"n_engine": int(a.size), "n_des": int(b.size), "t": None,
                           "df": None, "p_value": None, "diff_mean_h": None}
    if a.size and b.size:
        res["diff_mean_h"] = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        res["note"] = "fewer than two finished histories on one side"
        return res
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    if se2 <= 0.0:
        res["note"] = "zero variance on both sides"
        return res
    t = (a.mean() - b.mean()) / math.sqrt(se2)
    df = se2**2 / ((va**2 / (a.size - 1) if va else 0.0) + (vb**2 / (b.size - 1) if vb else 0.0))
    res.update(t=float(t), df=float(df), se_h=float(math.sqrt(se2)))
    try:
        from scipy import stats

        res["p_value"] = float(2.0 * stats.t.sf(abs(t), df))
    except ImportError:  # scipy is a test extra; the statistic is still reported
        res["note"] = "scipy not installed: no p-value"
    return res


# ----------------------------------------------------------------- the DES part


def run_des(cfg, replicas: int, variants: tuple[str, ...]
            ) -> tuple[dict[str, dict[str, np.ndarray]], list[float]]:
    """The DES on ``variants`` (common random numbers), one replica at a time for the
    per-replica wall times; records per variant name, replicas stacked."""
    walls, parts = [], []
    for r in range(replicas):
        t1 = time.perf_counter()
        parts.append(simulate_des_variants(cfg, 1, list(variants), seed_offset=r).variants)
        walls.append(time.perf_counter() - t1)
        log.info("DES: replica %d / %d (%d variants) in %.2f s", r + 1, replicas,
                 len(variants), walls[-1])
    if not parts:
        return {}, walls
    out = {}
    for v in variants:
        out[v] = {k: (np.concatenate([p[v][k] for p in parts]) if np.ndim(parts[0][v][k]) > 1
                      else parts[0][v][k]) for k in parts[0][v]}
    return out, walls


def _plan_order(plan, rec: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    """The DES's per-job and per-pool records with their columns in the plan's order
    (the DES names its own jobs and pools; they are matched by name)."""
    if rec is None:
        return None
    from simgpu.reference.des import build_world

    w = build_world(plan.cfg)
    jd = [w.job_names.index(n) for n in plan.job_names]
    pd = [w.pool_names.index(n) for n in plan.pool_names]
    out = dict(rec)
    for k in ("finish_h", "start_h", "interruptions", "preemptions", "ettr"):
        out[k] = rec[k][:, jd]
    out["pool_failures"] = rec["pool_failures"][:, pd]
    return out


def _stat(x: np.ndarray) -> dict[str, Any]:
    """Mean, standard error and size of a sample (non-finite values dropped)."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else None
    return {"mean": float(x.mean()) if x.size else None, "se": se, "n": int(x.size)}


def _median_stat(x: np.ndarray, resamples: int = 2000) -> dict[str, Any]:
    """Median, its bootstrap standard error and the sample size, under ``mean`` and ``se``
    like :func:`_stat` (a median is robust to the few histories a rare event delays by
    weeks, which dominate the standard error of a mean)."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return {"mean": float(np.median(x)) if x.size else None, "se": None, "n": int(x.size),
                "statistic": "median"}
    rng = np.random.default_rng(20061)
    boot = np.median(x[rng.integers(0, x.size, (resamples, x.size))], axis=1)
    return {"mean": float(np.median(x)), "se": float(boot.std(ddof=1)), "n": int(x.size),
            "statistic": "median"}


def agreement(plan, eng, des: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Per DES variant and job: both simulators' means and standard errors of the finish
    hour (capped at the horizon), interruptions, preemptions, ETTR and, for a
    counterfactual, the delay against the baseline (within each simulator's replicas:
    common random numbers); and the medians of the finish hour and the delay with their
    bootstrap standard errors (``*_p50``). The DES's jobs are matched by name."""
    from simgpu.reference.des import build_world

    H = plan.horizon_hours
    des_jobs = build_world(plan.cfg).job_names
    names = [v.name for v in plan.variants]
    out: dict[str, Any] = {}
    for vn, rec in des.items():
        vi = names.index(vn)
        per_job = {}
        for j, job in enumerate(plan.job_names):
            k = des_jobs.index(job)
            fe = np.minimum(eng.job_finish_h[vi, :, j], H)
            fd = np.minimum(rec["finish_h"][:, k], H)
            held = eng.job_alloc_gpu_h[vi, :, j]
            m = {"finish_capped_h": (fe, fd),
                 "interruptions": (eng.job_interruptions[vi, :, j], rec["interruptions"][:, k]),
                 "preemptions": (eng.job_preemptions[vi, :, j], rec["preemptions"][:, k]),
                 "ettr": (eng.job_useful_gpu_h[vi, :, j] / np.where(held > 0, held, np.nan),
                          rec["ettr"][:, k])}
            if vn != "baseline" and "baseline" in des:
                m["delay_capped_h"] = (
                    fe - np.minimum(eng.job_finish_h[0, :, j], H),
                    fd - np.minimum(des["baseline"]["finish_h"][:, k], H))
            per_job[job] = {key: {"engine": _stat(a), "des": _stat(b)}
                            for key, (a, b) in m.items()}
            for key in ("finish_capped_h", "delay_capped_h"):
                if key in m:
                    a, b = m[key]
                    per_job[job][f"{key}_p50"] = {"engine": _median_stat(a),
                                                  "des": _median_stat(b)}
        out[vn] = per_job
    return out


def run(replicas: int, des_replicas: int, horizon_days: float, step_hours: float | None,
        out_dir: Path, des_variants: tuple[str, ...] = ("baseline", "no_lease")
        ) -> tuple[dict[str, Any], Path]:
    """Run both simulators and write the JSON; returns the data and its path."""
    overrides = [f"sim.horizon_days={horizon_days:g}"]
    if step_hours is not None:
        overrides.append(f"sim.step_hours={step_hours:g}")
    now = _dt.datetime.now(_dt.timezone.utc)
    log.info("composing the default scenario with %s", overrides)
    cfg = load(compose(overrides))
    t0 = time.perf_counter()
    plan = compile_plan(cfg)
    t_plan = time.perf_counter() - t0
    V, J = len(plan.variants), len(plan.job_names)
    log.info("plan: %d steps of %g h, %d variants, %d jobs, %d pools (%.2f s)", plan.n_steps,
             plan.dt, V, J, len(plan.pool_names), t_plan)

    def progress(step: int, n_steps: int) -> None:
        log.info("engine: step %d / %d (%.0f s)", step, n_steps, time.perf_counter() - t0)

    log.info("engine: %d replicas x %d variants", replicas, V)
    t0 = time.perf_counter()
    eng = simulate(plan, 0, replicas, daily=False, progress=progress)
    t_eng = time.perf_counter() - t0
    log.info("engine: %.2f s", t_eng)

    # like for like with the DES: the engine on the baseline alone (no counterfactuals)
    solo_cfg = load(compose(overrides + [
        "scenario.counterfactuals.no_lease=false", "scenario.counterfactuals.withhold_levels=[]",
        "scenario.counterfactuals.landlord_first=false",
        "scenario.counterfactuals.non_renew=false"]))
    solo_plan = compile_plan(solo_cfg)
    log.info("engine, baseline only: %d replicas x %d variant", replicas, len(solo_plan.variants))
    t0 = time.perf_counter()
    simulate(solo_plan, 0, replicas, daily=False)
    t_solo = time.perf_counter() - t0
    log.info("engine, baseline only: %.2f s", t_solo)

    des_runs, des_walls = run_des(cfg, des_replicas, des_variants)
    t_des = float(sum(des_walls))
    ref = _plan_order(plan, des_runs.get("baseline"))

    eng_hist = replicas * V
    eng_hps = eng_hist / t_eng if t_eng > 0 else None
    des_hps = des_replicas * len(des_variants) / t_des if t_des > 0 else None
    finish: dict[str, Any] = {"engine": {}, "des": {}}
    agree: dict[str, Any] = {}
    interruptions: dict[str, Any] = {"engine": {}, "des": {}}
    preemptions: dict[str, Any] = {"engine": {}, "des": {}}
    for j, name in enumerate(plan.job_names):
        fe = eng.job_finish_h[0, :, j]
        finish["engine"][name] = _dist(fe)
        interruptions["engine"][name] = float(eng.job_interruptions[0, :, j].mean())
        preemptions["engine"][name] = float(eng.job_preemptions[0, :, j].mean())
        if ref is not None:
            fd = ref["finish_h"][:, j]
            finish["des"][name] = _dist(fd)
            interruptions["des"][name] = float(ref["interruptions"][:, j].mean())
            preemptions["des"][name] = float(ref["preemptions"][:, j].mean())
            H = plan.horizon_hours
            agree[name] = {"finished_only": _welch(fe, fd),
                           "capped_at_horizon": _welch(np.minimum(fe, H), np.minimum(fd, H))}
    data = {
        "benchmark": "engine_vs_des",
        "date": now.isoformat(timespec="seconds"),
        "machine": _machine(),
        "scenario": {
            "experiment": cfg.name,
            "overrides": overrides,
            "horizon_days": float(horizon_days),
            "step_hours": plan.dt,
            "n_steps": plan.n_steps,
            "variants": [v.name for v in plan.variants],
            "jobs": plan.job_names,
            "pools": plan.pool_names,
            "seed": plan.seed,
        },
        "plan_seconds": t_plan,
        "engine": {
            "backend": "numpy",
            "replicas": replicas,
            "variants": V,
            "histories": eng_hist,
            "wall_s": t_eng,
            "histories_per_s": eng_hps,
            "replicas_per_s": replicas / t_eng if t_eng > 0 else None,
            "s_per_history": t_eng / eng_hist if eng_hist else None,
            "daily_series": False,
        },
        "engine_baseline_only": {
            "replicas": replicas,
            "variants": len(solo_plan.variants),
            "wall_s": t_solo,
            "replicas_per_s": replicas / t_solo if t_solo > 0 else None,
        },
        "des": {
            "variant": plan.variants[0].name,
            "variants": list(des_variants),
            "replicas": des_replicas,
            "histories": des_replicas * len(des_variants),
            "wall_s": t_des,
            "wall_s_per_replica": des_walls,
            "histories_per_s": des_hps,
            "s_per_history": t_des / (des_replicas * len(des_variants)) if des_replicas
            else None,
        },
        "source_digest": source_digest(REPO, BENCH_SOURCES)[0],
        "agreement": agreement(plan, eng, des_runs),
        "ratio_engine_over_des_histories_per_s": (eng_hps / des_hps
                                                  if eng_hps and des_hps else None),
        "ratio_engine_baseline_only_over_des_replicas_per_s": (
            replicas / t_solo / des_hps if t_solo > 0 and des_hps else None),
        "baseline_finish_h": finish,
        "baseline_finish_welch": agree,
        "baseline_mean_interruptions": interruptions,
        "baseline_mean_preemptions": preemptions,
        "pool_failures_mean": {
            "engine": dict(zip(plan.pool_names, eng.pool_failures.mean(axis=0).tolist(),
                               strict=True)),
            "des": (dict(zip(plan.pool_names, ref["pool_failures"].mean(axis=0).tolist(),
                             strict=True)) if ref is not None else None),
        },
        "notes": [
            "histories = replicas x variants; the engine runs all variants in one batch, the "
            "DES only the baseline, so the ratio compares cost per history",
            "finish statistics use finished histories only (finished_frac says how many); "
            "the Welch test is given on finished histories only and with unfinished ones "
            "counted at the horizon (censoring makes the first biased when the finished "
            "fractions differ)",
            "engine_baseline_only runs the engine with the counterfactuals switched off, "
            "one variant like the DES: its replicas per second over the DES's is the "
            "like-for-like per-replica speed-up",
        ],
    }
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return data, atomic_write_json(out_dir / f"bench_engine_{stamp}.json", data)


# ------------------------------------------------------------ against a git revision


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def engine_at(rev: str) -> tuple[ModuleType, str]:
    """The NumPy engine module of git revision ``rev`` and its commit.

    The ``simgpu`` package of that commit is extracted to a temporary directory as the
    package ``simgpu_rev_<commit>`` (its imports of ``simgpu`` renamed to it, its top-level
    ``__init__`` emptied so that importing it has no side effects) and imported from there,
    beside the working tree's ``simgpu``; the directory is removed when Python exits.
    """
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    name = f"simgpu_rev_{sha[:12]}"
    if name not in sys.modules:
        tar = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", sha, "simgpu"],
                             check=True, capture_output=True).stdout
        root = Path(tempfile.mkdtemp(prefix="simgpu_rev_"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
            try:
                tf.extractall(root, filter="data")
            except TypeError:  # a Python without extraction filters (before 3.10.12)
                tf.extractall(root)
        pkg = root / name
        (root / "simgpu").rename(pkg)
        imp = re.compile(r"\b(from|import)(\s+)simgpu(?=[.\s])")
        for f in pkg.rglob("*.py"):
            f.write_text(imp.sub(rf"\1\2{name}", f.read_text()))
        (pkg / "__init__.py").write_text(f'"""simgpu at {sha}, for benchmarks."""\n')
        sys.path.insert(0, str(root))
    return importlib.import_module(f"{name}.engine.numpy_engine"), sha


def _load_average() -> list[float] | None:
    """The machine's load averages (1, 5, 15 min), where the OS gives them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _differences(a: Any, b: Any) -> list[str]:
    """The result fields of ``a`` and ``b`` whose arrays are not the same bit for bit."""
    out = []
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            if (x is None) != (y is None):
                out.append(name)
        elif x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            out.append(name)
    return out


def compare_rev(rev: str, rounds: int, replicas: int | None, horizon_days: float | None,
                step_hours: float | None, out_dir: Path) -> tuple[dict[str, Any], Path]:
    """Time the working tree's engine against revision ``rev``'s, alternately; write the
    JSON and return it with its path."""
    overrides = ["sim.progress=false"]
    if horizon_days is not None:
        overrides.append(f"sim.horizon_days={horizon_days:g}")
    if step_hours is not None:
        overrides.append(f"sim.step_hours={step_hours:g}")
    now = _dt.datetime.now(_dt.timezone.utc)
    cfg = load(compose(overrides))
    plan = compile_plan(cfg)
    R = replicas or cfg.sim.replicas
    V = len(plan.variants)
    daily = bool(cfg.report.daily_series)
    ref, sha = engine_at(rev)
    head = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "simgpu"))
    load_start = _load_average()
    engines = {"reference": ref.simulate, "current": simulate}
    walls: dict[str, list[float]] = {"reference": [], "current": []}
    first: dict[str, Any] = {}
    order = []
    for k in range(rounds):
        names = ["reference", "current"] if k % 2 == 0 else ["current", "reference"]
        for name in names:
            log.info("round %d/%d: %s engine, %d replicas x %d variants x %d steps", k + 1,
                     rounds, name, R, V, plan.n_steps)
            t0 = time.perf_counter()
            raw = engines[name](plan, 0, R, daily=daily)
            walls[name].append(time.perf_counter() - t0)
            log.info("round %d/%d: %s engine: %.1f s", k + 1, rounds, name, walls[name][-1])
            first.setdefault(name, raw)
            order.append(name[0].upper())
    differ = _differences(first["reference"], first["current"])
    hist = R * V

    def summary(w: list[float]) -> dict[str, Any]:
        med = statistics.median(w)
        return {"wall_s": w, "median_wall_s": med, "histories_per_s_median": hist / med,
                "s_per_step_median": med / plan.n_steps}

    data = {
        "benchmark": "numpy_engine_speed",
        "date": now.isoformat(timespec="seconds"),
        "machine": _machine(),
        "revisions": {"current": head, "current_simgpu_modified": dirty, "reference": sha,
                      "reference_requested": rev},
        "scenario": {"experiment": cfg.name, "overrides": overrides,
                     "horizon_days": float(cfg.sim.horizon_days), "step_hours": plan.dt,
                     "n_steps": plan.n_steps, "variants": [v.name for v in plan.variants],
                     "replicas": R, "histories": hist, "daily_series": daily,
                     "seed": plan.seed},
        "load_average_1_5_15_min": {"start": load_start, "end": _load_average()},
        "rounds": rounds,
        "order": "".join(order),
        "reference": summary(walls["reference"]),
        "current": summary(walls["current"]),
        "speedup_median": statistics.median(walls["reference"]) / statistics.median(
            walls["current"]),
        "speedup_total": sum(walls["reference"]) / sum(walls["current"]),
        "bit_identical": not differ,
        "differing_fields": differ,
        "notes": [
            "one process, the two engines alternately (order above: R = reference, C = "
            "current), on the same compiled plan; the machine may be shared, so the spread "
            "of the wall times is part of the result",
            "histories = replicas x variants, all variants in one batch",
            "bit_identical compares every RawResults array byte for byte (first round)",
        ],
    }
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return data, atomic_write_json(out_dir / f"bench_numpy_speed_{stamp}.json", data)


def shipped_experiments() -> list[str]:
    """The names of the shipped experiment presets (conf/experiment/*.yaml)."""
    conf = Path(importlib.import_module("simgpu.conf").__file__).parent
    return sorted(p.stem for p in (conf / "experiment").glob("*.yaml"))


def identity_cases() -> dict[str, tuple[Any, int, int]]:
    """The worlds of the identity check: name -> (config, replicas, first replica). Every
    shipped experiment hourly over 15 days and daily over its whole horizon, the kernel
    parity world and the random worlds of the tests (as in tests/engine/)."""
    from simgpu.cases import kernel_mix, random_config

    out: dict[str, tuple[Any, int, int]] = {}
    for e in shipped_experiments():
        for grid, ov in (("hourly-15d", ["sim.horizon_days=15"]),
                         ("daily-full", ["sim.step_hours=24"])):
            out[f"{e}/{grid}"] = (compose([f"experiment={e}", "sim.progress=false", *ov]), 2, 0)
    out["kernel_mix"] = (kernel_mix(), 3, 5)
    for seed in range(12):
        out[f"random_config({seed})"] = (random_config(seed), 2, seed)
    return out


def identity(rev: str) -> list[tuple[str, list[str]]]:
    """Run every identity case with the working tree's engine and with revision ``rev``'s
    on the same plan; return (case, fields that differ in any bit) for each."""
    ref, _ = engine_at(rev)
    out = []
    for name, (cfg, n, offset) in identity_cases().items():
        plan = compile_plan(load(cfg))
        diff = _differences(ref.simulate(plan, offset, n), simulate(plan, offset, n))
        log.info("%-32s %s", name, "bit-identical" if not diff else f"DIFFERS: {diff}")
        out.append((name, diff))
    return out


def _speed_table(d: dict[str, Any]) -> str:
    sc, r, c = d["scenario"], d["reference"], d["current"]
    return "\n".join([
        f"{sc['experiment']}: {sc['replicas']} replicas x {len(sc['variants'])} variants x "
        f"{sc['n_steps']} steps of {sc['step_hours']:g} h; {d['rounds']} rounds ({d['order']})",
        f"{'':10s} {'median s':>9s} {'hist/s':>8s} {'ms/step':>8s}  wall s",
        *(f"{name:10s} {x['median_wall_s']:>9.2f} {x['histories_per_s_median']:>8.2f} "
          f"{1e3 * x['s_per_step_median']:>8.3f}  " + " ".join(f"{w:.1f}" for w in x["wall_s"])
          for name, x in (("reference", r), ("current", c))),
        f"speed-up: x{d['speedup_median']:.2f} (medians), x{d['speedup_total']:.2f} (totals); "
        f"bit-identical: {d['bit_identical']}"
        + ("" if d["bit_identical"] else f" (differ: {', '.join(d['differing_fields'])})"),
    ])


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def _table(data: dict[str, Any]) -> str:
    e, d = data["engine"], data["des"]
    lines = [
        f"{'':8s} {'histories':>10s} {'wall s':>9s} {'hist/s':>10s} {'s/hist':>10s}",
        f"{'engine':8s} {e['histories']:>10d} {e['wall_s']:>9.2f} "
        f"{_fmt(e['histories_per_s'], '.3f'):>10s} {_fmt(e['s_per_history'], '.4f'):>10s}",
        f"{'DES':8s} {d['histories']:>10d} {d['wall_s']:>9.2f} "
        f"{_fmt(d['histories_per_s'], '.3f'):>10s} {_fmt(d['s_per_history'], '.4f'):>10s}",
        f"engine / DES histories per second: "
        f"{_fmt(data['ratio_engine_over_des_histories_per_s'], '.2f')}",
        f"engine (baseline only, {data['engine_baseline_only']['replicas']} replicas) / DES "
        f"replicas per second: "
        f"{_fmt(data['ratio_engine_baseline_only_over_des_replicas_per_s'], '.2f')}",
        "",
        f"{'job':12s} {'eng done':>8s} {'eng mean':>9s} {'eng p50':>9s} {'DES done':>8s} "
        f"{'DES mean':>9s} {'DES p50':>9s} {'Welch t':>8s} {'p':>6s} {'t cap':>7s}",
    ]
    for name, fe in data["baseline_finish_h"]["engine"].items():
        fd = data["baseline_finish_h"]["des"].get(name, {})
        w = data["baseline_finish_welch"].get(name, {}).get("finished_only", {})
        wc = data["baseline_finish_welch"].get(name, {}).get("capped_at_horizon", {})
        lines.append(
            f"{name:12s} {_fmt(fe['finished_frac'], '.2f'):>8s} {_fmt(fe['mean_h']):>9s} "
            f"{_fmt(fe['p50_h']):>9s} {_fmt(fd.get('finished_frac'), '.2f'):>8s} "
            f"{_fmt(fd.get('mean_h')):>9s} {_fmt(fd.get('p50_h')):>9s} "
            f"{_fmt(w.get('t'), '.2f'):>8s} {_fmt(w.get('p_value'), '.3f'):>6s} "
            f"{_fmt(wc.get('t'), '.2f'):>7s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", type=int, default=None,
                    help=f"engine replicas (default {DES_ENGINE_REPLICAS}; with --compare-rev "
                         "the scenario's)")
    ap.add_argument("--des-replicas", type=int, default=DES_REPLICAS,
                    help=f"DES replicas (default {DES_REPLICAS})")
    ap.add_argument("--des-variants", default="baseline,no_lease",
                    help="DES variants, comma-separated (default baseline,no_lease; the "
                         "baseline is always run)")
    ap.add_argument("--horizon-days", type=float, default=None,
                    help=f"simulated days (default {DES_HORIZON_DAYS:g}; with --compare-rev "
                         "the scenario's)")
    ap.add_argument("--step-hours", type=float, default=None,
                    help="engine step, hours (default: the scenario's)")
    ap.add_argument("--compare-rev", default=None, metavar="REV",
                    help="time the engine against its git revision REV instead of the DES")
    ap.add_argument("--rounds", type=int, default=3,
                    help="with --compare-rev: runs of each engine, alternately (default 3)")
    ap.add_argument("--identity", action="store_true",
                    help="with --compare-rev: no timing; check that every result array of "
                         "the presets, kernel_mix and the tests' random worlds is the same "
                         "bit for bit (exit status 1 where one differs)")
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default $SIMGPU_BENCH_OUT or benchmarks/results)")
    args = ap.parse_args(argv)
    if (args.replicas is not None and args.replicas < 1) or args.des_replicas < 1 \
            or (args.horizon_days is not None and args.horizon_days <= 0) or args.rounds < 1:
        ap.error("--replicas, --des-replicas and --rounds must be >= 1, --horizon-days > 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out or Path(os.environ.get("SIMGPU_BENCH_OUT") or DEFAULT_OUT)
    if args.identity:
        if not args.compare_rev:
            ap.error("--identity needs --compare-rev REV")
        bad = [(name, diff) for name, diff in identity(args.compare_rev) if diff]
        for name, diff in bad:
            print(f"{name}: differs in {', '.join(diff)}")
        print(f"{len(identity_cases()) - len(bad)} of {len(identity_cases())} worlds "
              f"bit-identical to {args.compare_rev}")
        return 1 if bad else 0
    if args.compare_rev:
        data, path = compare_rev(args.compare_rev, args.rounds, args.replicas,
                                 args.horizon_days, args.step_hours, out)
        print(_speed_table(data))
    else:
        variants = tuple(dict.fromkeys(["baseline",
                                        *filter(None, args.des_variants.split(","))]))
        data, path = run(args.replicas or DES_ENGINE_REPLICAS, args.des_replicas,
                         DES_HORIZON_DAYS if args.horizon_days is None else args.horizon_days,
                         args.step_hours, out, variants)
        print(_table(data))
    print(f"written: {path}")
    return 0 if data.get("bit_identical", True) else 1


if __name__ == "__main__":
    sys.exit(main())
