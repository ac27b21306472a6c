"""Benchmark: the compiled CPU engine (``sim.backend=cpu``) against its goals, in one run.

Stages (each written to the JSON as it ends):

* ``default_run``: the default scenario as a user runs it, ``simgpu sim.replicas=200``
  (experiment colossus_lease, 7 variants x 3 years hourly, figures and report included),
  through ``sim.backend=auto``: wall time of the command, and the backend it chose.
  Goal: at most 60 s on 2 cores.
* ``vs_des``: per replica-step like for like against the SimPy reference: the baseline
  variant alone (no counterfactuals) over ``--des-days`` on one thread, against the DES.
  Goal: at least 50x.
* ``size_scaling``: the default scenario scaled to 1,000, 10,000 and 100,000 GPUs (as in
  bench_gpu.py), hourly, on the compiled CPU engine: wall time (minimum over repeats) and,
  with valgrind, instructions (callgrind counts, repeatable on a shared machine). Goal:
  100,000 GPUs within 1.2x of 1,000.
* ``day_steps``: 24-hour steps on large pools (the default scenario, 650,000 GPUs, and
  scaled to 2,000,000): the compiled CPU engine on one thread against the NumPy engine.
  Goal: no slower than NumPy.
* ``instructions``: with valgrind, the kernel's instructions per history-step (callgrind,
  only the compiled code counted) on the default scenario over 30 days, for this tree and,
  with ``--baseline-commit``, for an earlier commit of the repository (before/after).

Usage::

    python benchmarks/bench_cpu.py [--quick] [--out DIR] [--baseline-commit REV]

The JSON goes to ``--out``, else ``$SIMGPU_BENCH_OUT``, else ``benchmarks/results/``, as
``bench_cpu_<UTC date and time>.json``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import logging
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench_cpu")
#: Overrides that leave only the baseline variant (the DES simulates that one).
BASELINE_ONLY = ["scenario.counterfactuals.no_lease=false",
                 "scenario.counterfactuals.withhold_levels=[]",
                 "scenario.counterfactuals.landlord_first=false",
                 "scenario.counterfactuals.non_renew=false"]


def _machine() -> dict[str, Any]:
    from simgpu.engine import kernels
    from simgpu.engine.launch import cpu_threads

    cxx = kernels.find_host_compiler()
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": model or platform.processor(),
            "cpu_count": os.cpu_count(), "cpu_threads": cpu_threads(),
            "python": platform.python_version(), "numpy": np.__version__,
            "compiler": kernels._compiler_id(cxx) if cxx else None,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}


def _plan(overrides: list[str] | None = None, tree: dict | None = None):
    from simgpu.config import compose, load
    from simgpu.engine.plan import compile_plan

    return compile_plan(load(tree if tree is not None else compose(overrides or [])))


def _timed(fn, repeats: int = 1) -> tuple[float, list[float]]:
    walls = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return min(walls), walls


def _kernel_runner(threads: int | None = None):
    from simgpu.engine import cuda_engine
    from simgpu.engine.launch import HostLauncher

    launcher = HostLauncher(threads=threads)

    def run(plan, replicas: int):
        cuda_engine.simulate(plan, 0, replicas, daily=False, launcher=launcher)

    return run


def _scaled(size: int, days: float, step_hours: float | None = None) -> dict:
    """The default scenario (8 variants) scaled to ``size`` GPUs (bench_gpu.scaled_tree)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_gpu

    from simgpu.config import compose

    base = OmegaConf.to_container(compose(bench_gpu._overrides(days, step_hours)),
                                  resolve=True, enum_to_str=True)
    return bench_gpu.scaled_tree(copy.deepcopy(base), size, True)[0]


# ----------------------------------------------------------------------------- stages


def default_run(replicas: int) -> dict[str, Any]:
    exe = shutil.which("simgpu") or None
    with tempfile.TemporaryDirectory() as d:
        cmd = ([exe] if exe else [sys.executable, "-m", "simgpu.cli"]) + [
            f"sim.replicas={replicas}", f"hydra.run.dir={d}/run"]
        env = dict(os.environ, MPLBACKEND="Agg")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=d)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        facts = {}
        if (Path(d) / "run" / "run.json").exists():
            facts = json.loads((Path(d) / "run" / "run.json").read_text())
    choice = re.search(r"backend auto: ([^\n]*)", proc.stderr + proc.stdout)
    return {"command": "simgpu " + " ".join(cmd[1:2]), "replicas": replicas,
            "exit_code": proc.returncode, "wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load_average_1min": [load0, load1],
            "backend": facts.get("backend"), "device": facts.get("device"),
            "simulate_s": facts.get("wall_seconds"), "auto_choice": choice.group(1) if choice
            else None, "goal_le_60s": proc.returncode == 0 and wall <= 60.0}


def vs_des(days: float, cpu_replicas: int, des_replicas: int) -> dict[str, Any]:
    from simgpu.reference.des import simulate_des

    plan = _plan(BASELINE_ONLY + [f"sim.horizon_days={days:g}"])
    assert len(plan.variants) == 1
    run = _kernel_runner(threads=1)
    run(plan, 1)  # build and warm up
    cpu, cpu_walls = _timed(lambda: run(plan, cpu_replicas), 3)
    t0 = time.perf_counter()
    simulate_des(plan, des_replicas, variant=0, seed_offset=0)
    des = time.perf_counter() - t0
    per_cpu = cpu / (cpu_replicas * plan.n_steps)
    per_des = des / (des_replicas * plan.n_steps)
    return {"variant": plan.variants[0].name, "horizon_days": days, "n_steps": plan.n_steps,
            "cpu": {"threads": 1, "replicas": cpu_replicas, "wall_s": cpu, "walls_s": cpu_walls,
                    "s_per_replica_step": per_cpu},
            "des": {"replicas": des_replicas, "wall_s": des, "s_per_replica_step": per_des},
            "speedup": per_des / per_cpu, "goal_ge_50": per_des / per_cpu >= 50.0}


def size_scaling(sizes: list[int], days: float, replicas: int, repeats: int,
                 instructions: bool) -> dict[str, Any]:
    run = _kernel_runner()
    points = []
    for size in sizes:
        tree = _scaled(size, days)
        plan = _plan(tree=tree)
        run(plan, 1)
        wall, walls = _timed(lambda plan=plan: run(plan, replicas), repeats)
        pt = {"target_gpus": size, "nodes": {n: p["nodes"] for n, p in tree["pools"].items()},
              "wall_s": wall, "walls_s": walls,
              "s_per_history_step": wall / (replicas * len(plan.variants) * plan.n_steps)}
        if instructions:
            pt["instructions_per_history_step"] = _callgrind(
                ROOT, ["--scaled", str(size)], days, 4)["per_history_step"]
        points.append(pt)
    base = points[0]
    for pt in points:
        pt["wall_ratio"] = pt["wall_s"] / base["wall_s"]
        if instructions:
            pt["instruction_ratio"] = (pt["instructions_per_history_step"]
                                       / base["instructions_per_history_step"])
    last = points[-1]
    return {"engine": "cpu", "replicas": replicas, "horizon_days": days, "step_hours": 1.0,
            "repeats": repeats, "points": points,
            "goal_le_1_2": (last.get("instruction_ratio", last["wall_ratio"]) <= 1.2
                            if last["target_gpus"] >= 100_000 else None),
            "goal_basis": "instruction ratio where measured (repeatable), else wall ratio"}


def day_steps(replicas: int, days: float) -> dict[str, Any]:
    from simgpu.engine import numpy_engine

    run = _kernel_runner(threads=1)
    out = []
    for label, plan in (
            ("default (650,000 GPUs)", _plan([f"sim.horizon_days={days:g}",
                                              "sim.step_hours=24"])),
            ("scaled to 2,000,000 GPUs", _plan(tree=_scaled(2_000_000, days, 24.0)))):
        run(plan, 1)
        cpu, _ = _timed(lambda plan=plan: run(plan, replicas), 2)
        np_wall, _ = _timed(lambda plan=plan: numpy_engine.simulate(plan, 0, replicas,
                                                                    daily=False), 1)
        out.append({"case": label, "variants": len(plan.variants), "n_steps": plan.n_steps,
                    "replicas": replicas, "cpu_1_thread_s": cpu, "numpy_s": np_wall,
                    "numpy_over_cpu": np_wall / cpu, "goal_cpu_no_slower": cpu <= np_wall})
    return {"step_hours": 24.0, "horizon_days": days, "cases": out,
            "goal_cpu_no_slower": all(c["goal_cpu_no_slower"] for c in out)}


def _callgrind(root: Path, extra: list[str], days: float, replicas: int,
               overrides: list[str] | None = None) -> dict[str, Any]:
    """Instructions of the compiled kernel (everything inside libffi's call) for one run in
    a fresh process on the tree at ``root``."""
    vg = shutil.which("valgrind")
    if vg is None:
        raise RuntimeError("valgrind is not on the PATH")
    cmd = [vg, "--tool=callgrind", "--toggle-collect=ffi_call*", "--callgrind-out-file=/dev/null",
           sys.executable, __file__, "--_kernel-run", str(root), str(days), str(replicas),
           *extra, "--", *(overrides or [])]
    env = dict(os.environ, PYTHONHASHSEED="0", SIMGPU_CPU_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    shape = re.search(r"HISTORY_STEPS (\d+) REPLICA_STEPS (\d+)", proc.stdout)
    if proc.returncode != 0 or not m or not shape:
        raise RuntimeError(f"callgrind run failed:\n{proc.stderr[-2000:]}")
    ir, hs, rs = int(m.group(1)), int(shape.group(1)), int(shape.group(2))
    return {"instructions": ir, "history_steps": hs, "per_history_step": ir / hs,
            "per_replica_step": ir / rs}


def instructions(days: float, replicas: int, baseline: str | None) -> dict[str, Any]:
    out = {"scenario": "colossus_lease (7 variants), hourly", "horizon_days": days,
           "replicas": replicas, "counted": "instructions inside libffi's call of the "
           "compiled kernel (callgrind), one thread",
           "this_tree": _callgrind(ROOT, [], days, replicas)}
    if baseline:
        with tempfile.TemporaryDirectory() as d:
            arch = subprocess.run(["git", "-C", str(ROOT), "archive", baseline],
                                  capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", d], input=arch.stdout, check=True)
            out["baseline"] = {"commit": baseline, **_callgrind(Path(d), [], days, replicas)}
        out["ratio_baseline_over_this"] = (out["baseline"]["per_history_step"]
                                           / out["this_tree"]["per_history_step"])
    return out


def _kernel_run(argv: list[str]) -> None:
    """The target of the callgrind runs: one run of the kernel engine from the tree at
    argv[0] (that tree's simgpu imported first)."""
    root, days, replicas, *rest = argv
    sep = rest.index("--") if "--" in rest else len(rest)
    extra, overrides = rest[:sep], rest[sep + 1:]
    sys.path.insert(0, root)
    for mod in [m for m in sys.modules if m == "simgpu" or m.startswith("simgpu.")]:
        del sys.modules[mod]
    from simgpu.config import compose, load
    from simgpu.engine import cuda_engine
    from simgpu.engine.launch import HostLauncher
    from simgpu.engine.plan import compile_plan

    assert cuda_engine.__file__.startswith(root), cuda_engine.__file__
    if extra[:1] == ["--scaled"]:
        plan = compile_plan(load(_scaled(int(extra[1]), float(days))))
    else:
        plan = compile_plan(load(compose([f"sim.horizon_days={days}", *overrides])))
    cuda_engine.simulate(plan, 0, int(replicas), daily=False, launcher=HostLauncher())
    n = int(replicas) * plan.n_steps
    print(f"HISTORY_STEPS {n * len(plan.variants)} REPLICA_STEPS {n}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_kernel-run"]:
        _kernel_run(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small everything (a smoke run)")
    ap.add_argument("--replicas", type=int, default=None, help="default run (200)")
    ap.add_argument("--des-days", type=float, default=None, help="vs_des horizon (60)")
    ap.add_argument("--baseline-commit", default=None,
                    help="also count the instructions of this commit's kernel (before/after)")
    ap.add_argument("--no-instructions", action="store_true", help="skip callgrind")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    quick = args.quick
    counts = shutil.which("valgrind") is not None and not args.no_instructions
    now = _dt.datetime.now(_dt.timezone.utc)
    out_dir = args.out or Path(os.environ.get("SIMGPU_BENCH_OUT") or DEFAULT_OUT)
    from simgpu.io import atomic_write_json

    path = out_dir / f"bench_cpu_{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    data: dict[str, Any] = {"benchmark": "cpu_engine", "date": now.isoformat(timespec="seconds"),
                            "complete": False, "quick": quick, "machine": _machine()}
    stages = [
        ("default_run", lambda: default_run(args.replicas or (4 if quick else 200))),
        ("vs_des", lambda: vs_des(args.des_days or (5.0 if quick else 60.0), 4 if quick else 32,
                                  1 if quick else 2)),
        ("size_scaling", lambda: size_scaling([1000, 100000] if quick else
                                              [1000, 10000, 100000], 5.0 if quick else 90.0,
                                              2 if quick else 8, 1 if quick else 3,
                                              counts and not quick)),
        ("day_steps", lambda: day_steps(2 if quick else 16, 30.0 if quick else 1095.0)),
    ]
    if counts and not quick:
        stages.append(("instructions", lambda: instructions(30.0, 4, args.baseline_commit)))
    for name, fn in stages:
        log.info("stage %s", name)
        t0 = time.perf_counter()
        data[name] = fn()
        data[name]["stage_s"] = time.perf_counter() - t0
        log.info("%s: %s", name, json.dumps(data[name], default=str)[:400])
        atomic_write_json(path, data)
    data["goals"] = {
        "default_run_le_60s": data["default_run"]["goal_le_60s"],
        "cpu_ge_50x_des": data["vs_des"]["goal_ge_50"],
        "size_100k_le_1_2x_1k": data["size_scaling"]["goal_le_1_2"],
        "day_steps_no_slower_than_numpy": data["day_steps"]["goal_cpu_no_slower"]}
    data["complete"] = True
    atomic_write_json(path, data)
    print(json.dumps(data["goals"], indent=2))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
