"""Benchmark: the kernel engine on a GPU (CuPy) against the compiled CPU engine, the
NumPy engine and the discrete-event reference (DES), in one run.

The workload is the default scenario (``experiment=colossus_lease``) with its eight
counterfactual variants (``scenario.counterfactuals.non_renew=true``) at 1,024 replicas
over three years at hourly steps, without the daily series. The GPU goal is that this
takes at most one second on one H100, and that the cost at 100,000 GPUs is within 1.2x
of the cost at 1,000.

Measured, in one process:

* ``cupy`` (when :func:`simgpu.backend.probe_cuda` finds a device; else recorded as
  ``{"skipped": reason}``): first a parity spot-check on the device (the kernel engine
  against the NumPy engine, bit for bit, on a small mixed configuration and on the
  workload's scenario over a few days); then the full workload with per-stage times:
  compose and plan; a warm-up on one replica (its first run includes the NVRTC compile,
  reported as the difference to a second run); then ``--repeats`` synchronised runs,
  each split into allocation and upload (``alloc_s``), the kernel launches alone
  (``kernel_s``) and the copy back with the results (``results_s``); ``end_to_end_s`` is
  :func:`simgpu.engine.cuda_engine.simulate` whole.
* ``cpu`` (the kernel compiled for the CPU, on every usable core) and ``numpy``: a subset
  (``--cpu-replicas`` replicas on the workload's horizon), reported as measured wall
  time, seconds per history-step and ``projected_full_s``, the full workload's time
  extrapolated linearly from seconds per history-step (not measured).
* ``des`` (SimPy reference, imported only for this stage): ``--des-replicas`` replicas of
  the baseline variant over ``--des-horizon-days``, with the same per history-step
  figures and projection.

A history-step is one replica of one variant advanced by one engine step (``dt`` hours
of simulated time); the speed-ups compare seconds per history-step measured in this run.

Then the cost of the kernel engine (``cupy``, else ``cpu``) against cluster size (the
default scenario scaled to ``--sizes`` total GPUs: pools' installed and scheduled nodes,
jobs' target and minimum GPUs, and jobs' FLOPs unless ``--keep-flops``, all by the same
factor) and against the replica count (kernel-only and end-to-end times).

Usage::

    python benchmarks/bench_gpu.py            # on a GPU machine: the full benchmark
    python benchmarks/bench_gpu.py --quick    # smoke run, tiny everything (< 30 s on a CPU)
    python benchmarks/bench_gpu.py [--replicas 1024] [--horizon-days 1095]
        [--cpu-replicas 2] [--des-replicas 1] [--des-horizon-days 90]
        [--sizes 1000,10000,100000] [--scale-replicas N] [--scale-days 90]
        [--replica-counts 64,256,1024,4096] [--repeats 3] [--device 0]
        [--engines cupy,cpu,numpy,des] [--out DIR]

The JSON goes to ``--out``, else ``$SIMGPU_BENCH_OUT``, else ``benchmarks/results/``, as
``bench_gpu_<UTC date and time>.json``, written atomically after every stage (a run cut
short keeps what it measured; ``"complete": true`` marks a finished one).
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from simgpu import backend
from simgpu.config import compose, load
from simgpu.engine import cuda_engine, kernel_parity, numpy_engine
from simgpu.engine.launch import CupyLauncher, HostLauncher
from simgpu.engine.plan import Plan, compile_plan
from simgpu.io import atomic_write_json

log = logging.getLogger("bench_gpu")

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
ENGINES = ("cupy", "cpu", "numpy", "des")
#: Every counterfactual of the default scenario: 8 variants.
VARIANT_OVERRIDES = ["scenario.counterfactuals.non_renew=true"]

#: The full benchmark (the issue's workload) and the quick smoke run.
FULL: dict[str, Any] = dict(
    replicas=1024, horizon_days=1095.0, cpu_replicas=2, cpu_horizon_days=None,
    des_replicas=1, des_horizon_days=90.0, sizes="1000,10000,100000", scale_days=90.0,
    scale_replicas=None, replica_counts=None, repeats=3)
QUICK: dict[str, Any] = dict(
    replicas=2, horizon_days=7.0, cpu_replicas=2, cpu_horizon_days=None,
    des_replicas=1, des_horizon_days=7.0, sizes="1000,10000", scale_days=7.0,
    scale_replicas=None, replica_counts=None, repeats=2)
#: Replica counts for the scaling runs, by engine: (fixed count for the size runs, sweep).
SCALE_DEFAULTS = {"cupy": (256, (64, 256, 1024, 4096)), "cpu": (8, (2, 8, 32))}
SCALE_DEFAULTS_QUICK = {"cupy": (16, (16, 64)), "cpu": (1, (1, 2))}
#: The goals' workload: 1,024 replicas x 8 variants x 3 years hourly.
GOAL_WORKLOAD = dict(replicas=1024, variants=8, horizon_days=1095.0, step_hours=1.0)


# ------------------------------------------------------------------------- machine


def _gpu_info(cp: Any, device_id: int) -> dict[str, Any]:
    """The device, driver, runtime and CuPy versions (``cp`` from :func:`backend.cupy_on`)."""
    props = cp.cuda.runtime.getDeviceProperties(device_id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])

    def version(v: int) -> str:  # CUDA encodes 12.4 as 12040
        return f"{v // 1000}.{(v % 1000) // 10}"

    drv, rt = int(cp.cuda.runtime.driverGetVersion()), int(cp.cuda.runtime.runtimeGetVersion())
    return {
        "device_id": device_id,
        "name": name,
        "driver_version": version(drv),
        "driver_version_raw": drv,
        "runtime_version": version(rt),
        "runtime_version_raw": rt,
        "cupy_version": str(cp.__version__),
        "total_memory_gb": float(props["totalGlobalMem"]) / 1e9,
        "compute_capability": f"{props.get('major', '?')}.{props.get('minor', '?')}",
        "multiprocessors": int(props.get("multiProcessorCount", 0)) or None,
    }


def _machine(gpu: dict[str, Any] | None) -> dict[str, Any]:
    """Where the benchmark ran."""
    from importlib.metadata import PackageNotFoundError, version

    try:  # the version only: SimPy is imported when the DES runs
        simpy_version = version("simpy")
    except PackageNotFoundError:  # simpy is a test extra
        simpy_version = None
    return {
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": _cpu_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": simpy_version,
        "gpu": gpu,
    }


# ------------------------------------------------------------------------- helpers


def _overrides(horizon_days: float, step_hours: float | None) -> list[str]:
    out = VARIANT_OVERRIDES + [f"sim.horizon_days={horizon_days:g}"]
    if step_hours is not None:
        out.append(f"sim.step_hours={step_hours:g}")
    return out


def _plan(overrides: list[str]) -> tuple[Plan, str, float, float]:
    """Compose, load and compile; returns the plan, the experiment's name and the times."""
    t0 = time.perf_counter()
    cfg = load(compose(overrides))
    t_compose = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = compile_plan(cfg)
    return plan, cfg.name, t_compose, time.perf_counter() - t0


def _history_steps(plan: Plan, replicas: int, variants: int | None = None) -> int:
    return replicas * (len(plan.variants) if variants is None else variants) * plan.n_steps


def _per_step(wall: float, n: int) -> float | None:
    return wall / n if n and wall > 0 else None


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return slow / fast if slow and fast else None


def _progress(label: str, t0: float, every_s: float = 5.0):
    """A progress callback that logs at most every ``every_s`` seconds, and at the end."""
    last = [t0]

    def report(step: int, n_steps: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= every_s or step == n_steps:
            last[0] = now
            log.info("%s: step %d / %d (%.1f s)", label, step, n_steps, now - t0)

    return report


def _cpu_threads() -> int:
    from simgpu.engine.launch import cpu_threads

    return cpu_threads()


class _Kernel:
    """The kernel engine on one launcher: a CuPy launcher, or the compiled CPU engine."""

    def __init__(self, kind: str, cp: Any = None) -> None:
        self.kind, self.cp = kind, cp
        self._launchers: dict[tuple[str, ...], Any] = {}
        self._host: HostLauncher | None = None

    def launcher(self, plan: Plan):
        if self.kind == "cpu":
            if self._host is None:
                self._host = HostLauncher()
            return self._host
        defines = cuda_engine.gpu_defines(plan)
        if defines not in self._launchers:
            self._launchers[defines] = CupyLauncher(self.cp, defines)
        return self._launchers[defines]

    def run(self, plan: Plan, replicas: int, progress=None) -> float:
        """One synchronised run of :func:`cuda_engine.simulate`; its wall time, seconds."""
        launcher = self.launcher(plan)
        launcher.synchronize()
        t0 = time.perf_counter()
        cuda_engine.simulate(plan, 0, replicas, daily=False, progress=progress,
                             launcher=launcher)
        launcher.synchronize()
        return time.perf_counter() - t0

    def run_split(self, plan: Plan, replicas: int) -> dict[str, float]:
        """One run in its parts: allocation and upload, the kernel launches alone, the copy
        back with the results (seconds, each synchronised)."""
        launcher = self.launcher(plan)
        launcher.synchronize()
        t0 = time.perf_counter()
        batch = cuda_engine.Batch(plan, 0, replicas, False, launcher)
        launcher.synchronize()
        t1 = time.perf_counter()
        need = batch.run()
        launcher.synchronize()
        t2 = time.perf_counter()
        batch.results()
        t3 = time.perf_counter()
        if need:
            raise RuntimeError(f"the event workspace overflowed ({need} events)")
        return {"alloc_s": t1 - t0, "kernel_s": t2 - t1, "results_s": t3 - t2,
                "total_s": t3 - t0, "device_bytes": batch.device_bytes()}

    def best(self, plan: Plan, replicas: int, repeats: int) -> tuple[float, list[float]]:
        walls = [self.run(plan, replicas) for _ in range(max(1, repeats))]
        return min(walls), walls


# ------------------------------------------------------------------------- engines


def parity_spot_check(kern: _Kernel, overrides: list[str]) -> dict[str, Any]:
    """The kernel engine on the device against the NumPy engine, bit for bit: a small
    configuration with every feature (simgpu.cases.kernel_mix) and the workload's
    scenario over a few days."""
    from simgpu.cases import kernel_mix

    out: dict[str, Any] = {}
    cases = {"kernel_mix": (compile_plan(load(kernel_mix())), 3, 5),
             "workload_7_days": (_plan(overrides + ["sim.horizon_days=7"])[0], 2, 0)}
    for name, (plan, reps, offset) in cases.items():
        t0 = time.perf_counter()
        try:
            kernel_parity.run_parity(plan, kern.launcher(plan), n_replicas=reps,
                                     replica_offset=offset)
            out[name] = {"identical": True}
        except AssertionError as exc:
            out[name] = {"identical": False, "differences": str(exc)[:4000]}
        out[name]["seconds"] = time.perf_counter() - t0
        log.info("parity on the device, %s: %s", name, out[name]["identical"])
    out["all_identical"] = all(v["identical"] for v in out.values() if isinstance(v, dict))
    return out


def bench_cupy(kern: _Kernel, plan: Plan, replicas: int, repeats: int, full_hs: int,
               overrides: list[str]) -> dict[str, Any]:
    """The full workload on the GPU, stage by stage, after a parity spot-check."""
    launcher = kern.launcher(plan)
    stages: dict[str, Any] = {}
    log.info("cupy: warm-up on 1 replica (NVRTC compile on the first run)")
    stages["warmup_first_run_s"] = kern.run(plan, 1)
    stages["warmup_second_run_s"] = kern.run(plan, 1)
    stages["compile_s"] = max(0.0, stages["warmup_first_run_s"] - stages["warmup_second_run_s"])
    stages["compile_s_basis"] = ("first minus second one-replica run: NVRTC compile and module "
                                 "load (small when CuPy's on-disk kernel cache already holds it)")
    parity = parity_spot_check(kern, overrides)
    fn = launcher._fn("sg_engine_run")
    kernel_attrs = {k: getattr(fn, k, None) for k in (
        "num_regs", "local_size_bytes", "shared_size_bytes", "max_threads_per_block")}
    log.info("cupy: %d replicas x %d variants x %d steps", replicas, len(plan.variants),
             plan.n_steps)
    stages["first_full_run_s"] = kern.run(plan, replicas)
    log.info("cupy: first full run %.3f s", stages["first_full_run_s"])
    splits, walls = [], []
    for i in range(max(1, repeats)):
        splits.append(kern.run_split(plan, replicas))
        walls.append(kern.run(plan, replicas))
        log.info("cupy: run %d / %d: kernel %.3f s, end to end %.3f s", i + 1, repeats,
                 splits[-1]["kernel_s"], walls[-1])
    stages["split_runs"] = splits
    stages["end_to_end_runs_s"] = walls
    stages["kernel_s_min"] = min(x["kernel_s"] for x in splits)
    stages["kernel_s_median"] = statistics.median(x["kernel_s"] for x in splits)
    stages["simulate_s_min"] = min(walls)
    stages["simulate_s_median"] = statistics.median(walls)
    hs = _history_steps(plan, replicas)
    med = stages["simulate_s_median"]
    return {
        "launcher": "CupyLauncher (NVRTC)",
        "defines": list(cuda_engine.gpu_defines(plan)),
        "kernel_attributes": kernel_attrs,
        "parity": parity,
        "replicas": replicas,
        "variants": len(plan.variants),
        "n_steps": plan.n_steps,
        "histories": replicas * len(plan.variants),
        "history_steps": hs,
        "device_bytes": splits[-1]["device_bytes"],
        "device_bytes_per_replica": cuda_engine.device_bytes_per_replica(plan, False),
        "stages": stages,
        "wall_s": med,
        "kernel_s": stages["kernel_s_median"],
        "histories_per_s": replicas * len(plan.variants) / med if med > 0 else None,
        "s_per_history_step": _per_step(med, hs),
        "kernel_s_per_history_step": _per_step(stages["kernel_s_median"], hs),
        "projected_full_s": (_per_step(med, hs) or 0.0) * full_hs or None,
        "measured_is_full_workload": hs == full_hs,
    }


def bench_cpu(name: str, plan: Plan, replicas: int, full_hs: int, kern: _Kernel | None
              ) -> dict[str, Any]:
    """The NumPy engine or the compiled CPU engine on a subset; projected to the full
    workload."""
    out: dict[str, Any] = {}
    if kern is not None:  # the compiled CPU engine: compile (cached on disk), load first
        t0 = time.perf_counter()
        kern.launcher(plan)
        out["build_or_load_s"] = time.perf_counter() - t0
        out["warmup_run_s"] = kern.run(plan, 1)
    log.info("%s: %d replicas x %d variants x %d steps", name, replicas, len(plan.variants),
             plan.n_steps)
    t0 = time.perf_counter()
    if kern is None:
        numpy_engine.simulate(plan, 0, replicas, daily=False, progress=_progress(name, t0))
        wall = time.perf_counter() - t0
    else:
        wall = kern.run(plan, replicas)
    log.info("%s: %.3f s", name, wall)
    hs = _history_steps(plan, replicas)
    sps = _per_step(wall, hs)
    out.update({
        "launcher": (f"HostLauncher (compiled CPU engine, {_cpu_threads()} threads)"
                     if kern is not None else "numpy"),
        "replicas": replicas,
        "variants": len(plan.variants),
        "horizon_days": plan.horizon_hours / 24.0,
        "n_steps": plan.n_steps,
        "histories": replicas * len(plan.variants),
        "history_steps": hs,
        "wall_s": wall,
        "histories_per_s": replicas * len(plan.variants) / wall if wall > 0 else None,
        "s_per_history_step": sps,
        "projected_full_s": sps * full_hs if sps else None,
        "measured_is_full_workload": hs == full_hs,
    })
    return out


def bench_des(plan: Plan, replicas: int, full_hs: int) -> dict[str, Any]:
    """The SimPy reference, baseline variant only."""
    from simgpu.reference.des import simulate_des  # SimPy: only when the DES runs

    log.info("des: %d replicas of %s over %d steps", replicas, plan.variants[0].name,
             plan.n_steps)
    t0 = time.perf_counter()
    simulate_des(plan, replicas, variant=0, seed_offset=0)
    wall = time.perf_counter() - t0
    log.info("des: %.3f s", wall)
    hs = _history_steps(plan, replicas, variants=1)
    sps = _per_step(wall, hs)
    return {
        "variant": plan.variants[0].name,
        "replicas": replicas,
        "variants": 1,
        "horizon_days": plan.horizon_hours / 24.0,
        "n_steps": plan.n_steps,
        "histories": replicas,
        "history_steps": hs,
        "wall_s": wall,
        "histories_per_s": replicas / wall if wall > 0 else None,
        "s_per_history_step": sps,
        "projected_full_s": sps * full_hs if sps else None,
        "measured_is_full_workload": False,
    }


# ------------------------------------------------------------------------- scaling


def scaled_tree(base: dict[str, Any], total_gpus: int, scale_flops: bool = True
                ) -> tuple[dict[str, Any], float, int]:
    """The composed tree scaled to about ``total_gpus`` installed GPUs.

    Pools' ``nodes`` and their capacity points' ``nodes`` (where given in nodes), jobs'
    ``target_gpus`` and ``min_gpus`` (and ``flops``, or ``tokens``, with
    ``scale_flops``, so that every job keeps its duration) and leases' ``gpus`` (where
    given) are multiplied by one factor and rounded, keeping at least one node and at
    least one node's GPUs. Returns the tree, the factor and the GPUs it installs.
    """
    tree = copy.deepcopy(base)
    pools = tree["pools"]
    installed = sum(int(p["nodes"]) * int(p["gpus_per_node"]) for p in pools.values())
    f = total_gpus / installed
    for p in pools.values():
        p["nodes"] = max(1, round(p["nodes"] * f))
        for pt in p.get("capacity") or []:
            if pt.get("nodes") is not None:
                pt["nodes"] = min(p["nodes"], max(1, round(pt["nodes"] * f)))
    for le in (tree.get("leases") or {}).values():
        if le.get("gpus") is not None and le.get("pool") in pools:
            pool = pools[le["pool"]]
            le["gpus"] = min(pool["nodes"] * pool["gpus_per_node"],
                             max(pool["gpus_per_node"], round(le["gpus"] * f)))
    for job in (tree.get("jobs") or {}).values():
        allowed = [pools[q] for q in job.get("pools") or [] if q in pools]
        gpn = max((int(q["gpus_per_node"]) for q in allowed), default=1)
        largest = max((int(q["nodes"]) * int(q["gpus_per_node"]) for q in allowed), default=gpn)
        job["target_gpus"] = max(gpn, round(job["target_gpus"] * f))
        job["min_gpus"] = min(job["target_gpus"], largest,
                              max(gpn, round(job["min_gpus"] * f)))
        if scale_flops:
            key = "flops" if job.get("flops") is not None else "tokens"
            if job.get(key) is not None:
                job[key] = job[key] * f
    gpus = sum(int(p["nodes"]) * int(p["gpus_per_node"]) for p in pools.values())
    return tree, f, gpus


def bench_sizes(kern: _Kernel, sizes: list[int], replicas: int, days: float,
                step_hours: float | None, repeats: int, scale_flops: bool) -> dict[str, Any]:
    """Cost of the kernel engine against the cluster's size."""
    base = OmegaConf.to_container(compose(_overrides(days, step_hours)), resolve=True,
                                  enum_to_str=True)
    installed = sum(int(p["nodes"]) * int(p["gpus_per_node"]) for p in base["pools"].values())
    points, n_variants = [], None
    for size in sizes:
        tree, f, gpus = scaled_tree(base, size, scale_flops)
        plan = compile_plan(load(tree))
        n_variants = len(plan.variants)
        kern.run(plan, 1)  # warm-up (and the compile for a new plan shape)
        wall, walls = kern.best(plan, replicas, repeats)
        hs = _history_steps(plan, replicas)
        log.info("size %d GPUs (%d installed, factor %.5f): %.4f s", size, gpus, f, wall)
        points.append({"target_gpus": size, "installed_gpus": gpus, "factor": f,
                       "nodes": {n: p["nodes"] for n, p in tree["pools"].items()},
                       "wall_s": wall, "walls_s": walls,
                       "s_per_history_step": _per_step(wall, hs)})
    t_small = points[0]["wall_s"] if points else None
    for pt in points:
        pt["ratio_to_smallest"] = _ratio(pt["wall_s"], t_small)
        pt["within_1_2x"] = (pt["ratio_to_smallest"] <= 1.2
                             if pt["ratio_to_smallest"] is not None else None)
    ratio = points[-1]["ratio_to_smallest"] if points else None
    return {
        "engine": kern.kind,
        "replicas": replicas,
        "horizon_days": float(days),
        "variants": n_variants,
        "repeats": repeats,
        "statistic": "minimum over repeats, after a one-replica warm-up",
        "default_installed_gpus": installed,
        "scale_flops": scale_flops,
        "points": points,
        "ratio_largest_to_smallest": ratio,
        "within_1_2x": ratio <= 1.2 if ratio is not None else None,
    }


def bench_replicas(kern: _Kernel, counts: list[int], days: float, step_hours: float | None,
                   repeats: int) -> dict[str, Any]:
    """Cost of the kernel engine against the replica count."""
    plan, _name, _tc, _tp = _plan(_overrides(days, step_hours))
    kern.run(plan, 1)  # warm-up
    points = []
    for n in counts:
        wall, walls = kern.best(plan, n, repeats)
        split = min((kern.run_split(plan, n) for _ in range(max(1, repeats))),
                    key=lambda x: x["kernel_s"])
        hist = n * len(plan.variants)
        log.info("replicas %d (%d histories): kernel %.4f s, end to end %.4f s", n, hist,
                 split["kernel_s"], wall)
        points.append({"replicas": n, "histories": hist, "wall_s": wall, "walls_s": walls,
                       "kernel_s": split["kernel_s"], "split": split,
                       "histories_per_s": hist / wall if wall > 0 else None,
                       "s_per_history_step": _per_step(wall, _history_steps(plan, n)),
                       "kernel_s_per_history_step": _per_step(split["kernel_s"],
                                                              _history_steps(plan, n))})
    return {"engine": kern.kind, "horizon_days": float(days), "n_steps": plan.n_steps,
            "variants": len(plan.variants), "repeats": repeats,
            "statistic": "minimum over repeats, after a one-replica warm-up", "points": points}


# ------------------------------------------------------------------------- the run


def _ints(text: str, flag: str) -> list[int]:
    try:
        out = [int(float(x)) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"{flag}: expected comma-separated integers, got {text!r}") from None
    if not out or min(out) < 1:
        raise SystemExit(f"{flag}: expected positive integers, got {text!r}")
    return out


def run(args: argparse.Namespace, out_dir: Path) -> tuple[dict[str, Any], Path]:
    """Run every benchmark and write the JSON; returns the data and its path."""
    now = _dt.datetime.now(_dt.timezone.utc)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        raise SystemExit(f"--engines: unknown {unknown}; choose from {list(ENGINES)}")

    cp, gpu, cupy_skip = None, None, None
    if "cupy" in engines:
        probe = backend.probe_cuda(args.device)
        if probe.ok:
            cp = backend.cupy_on(args.device)
            gpu = _gpu_info(cp, args.device)
            log.info("GPU: %s (driver %s, CUDA runtime %s, CuPy %s)", gpu["name"],
                     gpu["driver_version"], gpu["runtime_version"], gpu["cupy_version"])
        else:
            cupy_skip = probe.reason
            log.info("cupy skipped: %s", cupy_skip)
    else:
        cupy_skip = "not selected (--engines)"

    overrides = _overrides(args.horizon_days, args.step_hours)
    log.info("composing the default scenario with %s", overrides)
    plan, experiment, t_compose, t_plan = _plan(overrides)
    V = len(plan.variants)
    full_hs = _history_steps(plan, args.replicas)
    workload = {
        "experiment": experiment,
        "overrides": overrides,
        "replicas": args.replicas,
        "variants": [v.name for v in plan.variants],
        "n_variants": V,
        "horizon_days": float(args.horizon_days),
        "step_hours": plan.dt,
        "n_steps": plan.n_steps,
        "histories": args.replicas * V,
        "history_steps": full_hs,
        "daily_series": False,
        "jobs": plan.job_names,
        "pools": plan.pool_names,
        "seed": plan.seed,
        "is_goal_workload": (args.replicas == GOAL_WORKLOAD["replicas"]
                             and V == GOAL_WORKLOAD["variants"]
                             and float(args.horizon_days) == GOAL_WORKLOAD["horizon_days"]
                             and plan.dt == GOAL_WORKLOAD["step_hours"]),
        "stages": {"compose_s": t_compose, "plan_s": t_plan},
    }
    log.info("plan: %d steps of %g h, %d variants, %d jobs, %d pools (compose %.2f s, "
             "plan %.3f s)", plan.n_steps, plan.dt, V, len(plan.job_names),
             len(plan.pool_names), t_compose, t_plan)

    gpu_kern = _Kernel("cupy", cp) if cp is not None else None
    cpu_kern = _Kernel("cpu")
    data: dict[str, Any] = {"benchmark": "gpu_engine", "date": now.isoformat(timespec="seconds"),
                            "complete": False, "machine": _machine(gpu),
                            "quick": bool(args.quick),
                            "settings": {k: v for k, v in vars(args).items() if k != "out"},
                            "workload": workload}
    path = out_dir / f"bench_gpu_{now.strftime('%Y%m%dT%H%M%SZ')}.json"

    def save() -> Path:  # after every stage: a run cut short keeps what it measured
        return atomic_write_json(path, data)

    save()
    if gpu_kern is not None:
        data["cupy"] = bench_cupy(gpu_kern, plan, args.replicas, args.repeats, full_hs,
                                  overrides)
    else:
        data["cupy"] = {"skipped": cupy_skip}
    save()

    cpu_days = args.cpu_horizon_days if args.cpu_horizon_days is not None else args.horizon_days
    cpu_plan = plan if cpu_days == args.horizon_days else _plan(
        _overrides(cpu_days, args.step_hours))[0]
    for name, kern in (("cpu", cpu_kern), ("numpy", None)):
        if name in engines:
            data[name] = bench_cpu(name, cpu_plan, args.cpu_replicas, full_hs, kern)
        else:
            data[name] = {"skipped": "not selected (--engines)"}
        save()
    if "des" in engines:
        des_plan = _plan(_overrides(args.des_horizon_days, args.step_hours))[0]
        data["des"] = bench_des(des_plan, args.des_replicas, full_hs)
    else:
        data["des"] = {"skipped": "not selected (--engines)"}
    save()

    sps = {e: data[e].get("s_per_history_step") for e in ENGINES}
    data["speedups"] = {
        f"{fast}_over_{slow}": _ratio(sps[slow], sps[fast])
        for fast, slow in (("cupy", "numpy"), ("cupy", "cpu"), ("cupy", "des"),
                           ("cpu", "numpy"), ("cpu", "des"), ("numpy", "des"))}
    data["speedups"]["basis"] = ("ratio of seconds per history-step, measured in this run "
                                 "(cupy: median steady-state run)")

    scale_kern = gpu_kern if gpu_kern is not None else (
        cpu_kern if "cpu" in engines or "cupy" in engines else None)
    if scale_kern is not None:
        defaults = (SCALE_DEFAULTS_QUICK if args.quick else SCALE_DEFAULTS)[scale_kern.kind]
        reps = args.scale_replicas or defaults[0]
        counts = _ints(args.replica_counts, "--replica-counts") if args.replica_counts \
            else list(defaults[1])
        sizes = _ints(args.sizes, "--sizes")
        log.info("cost against cluster size on %s: %s GPUs, %d replicas, %g days",
                 scale_kern.kind, sizes, reps, args.scale_days)
        data["scaling_size"] = bench_sizes(scale_kern, sizes, reps, args.scale_days,
                                           args.step_hours, args.repeats, not args.keep_flops)
        save()
        log.info("cost against replicas on %s: %s", scale_kern.kind, counts)
        data["scaling_replicas"] = bench_replicas(scale_kern, counts, args.scale_days,
                                                  args.step_hours, args.repeats)
        save()
    else:
        data["scaling_size"] = {"skipped": "no kernel engine selected (--engines)"}
        data["scaling_replicas"] = {"skipped": "no kernel engine selected (--engines)"}

    ss = data["scaling_size"]
    size_goal = None
    if ss.get("points"):
        by = {p["target_gpus"]: p for p in ss["points"]}
        if 1000 in by and 100000 in by:
            size_goal = by[100000]["wall_s"] <= 1.2 * by[1000]["wall_s"]
    cu = data["cupy"]
    data["goals"] = {
        "full_workload_le_1s": (cu["stages"]["simulate_s_median"] <= 1.0
                                if "stages" in cu and workload["is_goal_workload"] else None),
        "full_workload_s": cu["stages"]["simulate_s_median"] if "stages" in cu else None,
        "full_workload_kernel_s": cu["stages"]["kernel_s_median"] if "stages" in cu else None,
        "device_parity_identical": cu["parity"]["all_identical"] if "parity" in cu else None,
        "size_ratio_le_1_2": size_goal,
        "size_ratio_engine": ss.get("engine"),
        "notes": [
            "full_workload_le_1s: the median steady-state CuPy run of 1,024 replicas x 8 "
            "variants x 3 years hourly (copy back to the host included, NVRTC compile and "
            "first run excluded); null unless that workload ran on a GPU",
            "size_ratio_le_1_2: time at 100,000 GPUs over time at 1,000, on the engine named "
            "(cupy, else the compiled CPU engine); null unless both sizes were measured",
        ],
    }
    data["notes"] = [
        "a history-step is one replica of one variant advanced by one engine step; "
        "projected_full_s = s_per_history_step x the workload's history-steps, a linear "
        "extrapolation from the measured subset, not a measurement",
        "the NumPy engine is vectorised over histories, so its cost per history-step falls "
        "as the batch grows: its projection from a small batch is an upper bound",
        "the DES runs the baseline variant only, over --des-horizon-days; its cost per "
        "history-step counts engine steps of simulated time although it is event-driven",
        "cpu is the kernel compiled for the CPU (sim.backend=cpu) on every usable core "
        "(machine.cpu_threads)",
        "scaling_size scales pools' nodes, capacity points, jobs' GPU counts and (unless "
        "--keep-flops) jobs' FLOPs by one factor, so every job keeps its duration",
    ]
    data["complete"] = True
    return data, save()


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def _table(data: dict[str, Any]) -> str:
    w = data["workload"]
    lines = [f"workload: {w['replicas']} replicas x {w['n_variants']} variants x "
             f"{w['n_steps']} steps of {w['step_hours']:g} h ({w['history_steps']:,} "
             f"history-steps)",
             f"{'engine':7s} {'measured':>12s} {'wall s':>9s} {'s/hist-step':>12s} "
             f"{'full s':>10s}"]
    for e in ENGINES:
        d = data[e]
        if "skipped" in d:
            lines.append(f"{e:7s} skipped: {d['skipped']}")
            continue
        lines.append(f"{e:7s} {d['history_steps']:>12,d} {d['wall_s']:>9.3f} "
                     f"{_fmt(d['s_per_history_step']):>12s} "
                     f"{_fmt(d['projected_full_s'], '.4g'):>10s}"
                     + ("" if d["measured_is_full_workload"] else " (projected)"))
    sp = data["speedups"]
    lines.append("speed-ups per history-step: " + ", ".join(
        f"{k} x{_fmt(v, '.3g')}" for k, v in sp.items() if k != "basis" and v is not None))
    ss = data["scaling_size"]
    if ss.get("points"):
        lines.append(f"cost against cluster size ({ss['engine']}, {ss['replicas']} replicas, "
                     f"{ss['horizon_days']:g} days):")
        for p in ss["points"]:
            lines.append(f"  {p['target_gpus']:>8,d} GPUs: {p['wall_s']:.4f} s "
                         f"(x{p['ratio_to_smallest']:.2f})")
    sr = data["scaling_replicas"]
    if sr.get("points"):
        lines.append(f"cost against replicas ({sr['engine']}, {sr['horizon_days']:g} days):")
        for p in sr["points"]:
            lines.append(f"  {p['replicas']:>6d} replicas: {p['wall_s']:.4f} s "
                         f"({_fmt(p['histories_per_s'], '.4g')} histories/s)")
    g = data["goals"]
    lines.append(f"goals: full workload <= 1 s: {g['full_workload_le_1s']}; "
                 f"100k GPUs within 1.2x of 1k: {g['size_ratio_le_1_2']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: tiny horizons, replicas and sizes (< 30 s on a CPU)")
    ap.add_argument("--replicas", type=int, help="workload replicas (default 1024)")
    ap.add_argument("--horizon-days", type=float, help="workload horizon (default 1095)")
    ap.add_argument("--step-hours", type=float, default=None,
                    help="engine step, hours (default: the scenario's, 1)")
    ap.add_argument("--cpu-replicas", type=int,
                    help="replicas measured on numpy and cpu (default 2)")
    ap.add_argument("--cpu-horizon-days", type=float,
                    help="horizon for numpy and cpu (default: the workload's)")
    ap.add_argument("--des-replicas", type=int, help="DES replicas, baseline (default 1)")
    ap.add_argument("--des-horizon-days", type=float, help="DES horizon (default 90)")
    ap.add_argument("--sizes", help="total GPUs for the size scaling (default "
                                    "1000,10000,100000)")
    ap.add_argument("--scale-replicas", type=int,
                    help="replicas for the size scaling (default 256 on cupy, 8 on cpu)")
    ap.add_argument("--scale-days", type=float, help="horizon of the scaling runs (default 90)")
    ap.add_argument("--replica-counts", help="replica counts for the replica scaling "
                                             "(default 64,256,1024,4096 on cupy, 2,8,32 on cpu)")
    ap.add_argument("--keep-flops", action="store_true",
                    help="size scaling: keep jobs' FLOPs (default: scale them with the GPUs)")
    ap.add_argument("--repeats", type=int, help="timed repeats (default 3)")
    ap.add_argument("--device", type=int, default=0, help="CUDA device (default 0)")
    ap.add_argument("--require-gpu", action="store_true",
                    help="exit with status 3 (after writing the JSON) when no GPU ran")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"engines to measure (default {','.join(ENGINES)})")
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default $SIMGPU_BENCH_OUT or benchmarks/results)")
    args = ap.parse_args(argv)
    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if min(args.replicas, args.cpu_replicas, args.des_replicas, args.repeats) < 1:
        ap.error("--replicas, --cpu-replicas, --des-replicas and --repeats must be >= 1")
    if min(args.horizon_days, args.des_horizon_days, args.scale_days) <= 0 or (
            args.cpu_horizon_days is not None and args.cpu_horizon_days <= 0):
        ap.error("horizons must be > 0")
    if args.scale_replicas is not None and args.scale_replicas < 1:
        ap.error("--scale-replicas must be >= 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = args.out or Path(os.environ.get("SIMGPU_BENCH_OUT") or DEFAULT_OUT)
    data, path = run(args, out)
    print(_table(data))
    print(f"written: {path}")
    if args.require_gpu and "stages" not in data["cupy"]:
        print(f"no GPU ran: {data['cupy'].get('skipped')}", file=sys.stderr)
        return 3
    parity = data["cupy"].get("parity")
    if parity is not None and not parity["all_identical"]:
        print("the kernel engine on the device differs from NumPy (see cupy.parity)",
              file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
