"""``simgpu.run(cfg) -> Results``: validate, plan, simulate, summarise. No Hydra here.

Notebooks, tests and the CLI all call :func:`run`; :func:`prepare` does every check that
can fail before any simulation or output, so the CLI can refuse bad input having
written nothing.
"""

from __future__ import annotations

import functools
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from simgpu._version import __version__
from simgpu.analysis import precision as pm
from simgpu.analysis.summary import summarize
from simgpu.backend import cupy_on, device_free_bytes, fallback_for_plan, resolve_device, select
from simgpu.config.load import load
from simgpu.config.schema import PrecisionConfig, SimgpuConfig
from simgpu.config.validate import warnings as validation_warnings
from simgpu.engine.cuda_engine import (
    device_bytes_per_replica,
    gpu_reserved_bytes,
    host_bytes_per_replica,
    unsupported,
)
from simgpu.engine.numpy_engine import RawResults, bytes_per_replica, simulate
from simgpu.engine.plan import Plan, compile_plan
from simgpu.errors import ConfigError, OutputExists, Problem
from simgpu.io import atomic_savez, atomic_write_json, atomic_write_text
from simgpu.marker import MARKER

log = logging.getLogger(__name__)

RAW_NAME = "raw.npz"
CONFIG_NAME = "config.yaml"
#: Facts of the run that vary between runs of the same config (engine, device, wall time,
#: versions): kept out of summary.json so that it is byte-identical across runs,
#: processes and backends.
FACTS_NAME = "run.json"


@dataclass
class Prepared:
    """A run that passed every check and is ready to simulate."""

    config: SimgpuConfig
    plan: Plan
    engine: str  # numpy, cupy or cpu
    device: str
    chunk: int  # replicas per batch
    daily_replicas: int = 0  # replicas that record the per-day series
    warnings: list[str] = field(default_factory=list)  # what validation warned about


@dataclass
class Results:
    """What a run produced; :meth:`write` puts it in a directory, atomically per file."""

    config: SimgpuConfig
    plan: Plan
    raw: RawResults
    summary: dict[str, Any]  # deterministic: a function of the config and seed only
    facts: dict[str, Any] = field(default_factory=dict)  # backend, device, wall time, ...

    def write(self, out_dir: str | Path, overwrite: bool | None = None) -> Path:
        """Write ``config.yaml``, ``raw.npz``, ``run.json`` and, last, the summary.

        Returns the summary's path. Each file appears whole or not at all; the summary is
        written last, so its presence marks a complete set of results (an old summary is
        removed first; stopped part-way, none of the set's files remain). A
        directory that already holds results is refused
        (:class:`~simgpu.errors.OutputExists`) unless ``overwrite`` (default:
        ``report.overwrite``).
        """
        out = Path(out_dir)
        if overwrite is None:
            overwrite = self.config.report.overwrite
        if not overwrite and holds_results(out, self.config.report.summary):
            raise OutputExists(out)
        out.mkdir(parents=True, exist_ok=True)
        summary = out / self.config.report.summary
        summary.unlink(missing_ok=True)  # an old summary must not vouch for new files
        try:
            atomic_write_text(out / CONFIG_NAME,
                              OmegaConf.to_yaml(OmegaConf.structured(self.config)))
            arrays = {k: v for k, v in vars(self.raw).items() if v is not None}
            atomic_savez(out / RAW_NAME, **arrays)
            atomic_write_json(out / FACTS_NAME, self.facts)
            return atomic_write_json(summary, self.summary)
        except BaseException:  # stopped part-way (a signal): no part of a set remains
            for name in (CONFIG_NAME, RAW_NAME, FACTS_NAME):
                (out / name).unlink(missing_ok=True)
            raise


def holds_results(out_dir: str | Path, summary: str = "summary.json") -> bool:
    """Whether ``out_dir`` holds the results of a run (a summary or a completion marker)."""
    out = Path(out_dir)
    return (out / summary).exists() or (out / MARKER).exists()


#: The NumPy engine's marginal cost per history-step (about 9 us on one core, measured on
#: the default scenario: benchmarks/bench_cpu.py) and the work above which a run is warned
#: to take minutes.
NUMPY_S_PER_HISTORY_STEP = 9e-6
NUMPY_SLOW_HISTORY_STEPS = 10_000_000


def prepare(cfg: Any) -> Prepared:
    """Validate, pick the backend, compile and size the run; simulate nothing.

    Raises
    ------
    ConfigError
        The configuration is invalid, or the run cannot fit ``sim.max_memory_gb``.
    BackendUnavailable
        ``sim.backend=cupy`` cannot run here.
    """
    config = load(cfg)
    if config.sim.device_id < 0:
        config.sim.device_id = resolve_device(config.sim.device_id)
    engine, device = select(config.sim.backend, config.sim.device_id)
    plan = compile_plan(config)
    if engine != "numpy":  # the kernel engines hold 32-bit counts
        engine, device = fallback_for_plan(config.sim.backend, engine, device,
                                           unsupported(plan))
    sim, rep = config.sim, config.report
    n_rep = sim.replicas_at_most  # an auto run is sized for its cap
    rkey = "sim.precision.max_replicas" if sim.auto else "sim.replicas"
    work = n_rep * len(plan.variants) * plan.n_steps
    if engine == "numpy" and work > NUMPY_SLOW_HISTORY_STEPS:
        log.warning("the NumPy engine simulates about %.0f history-steps per second on a "
                    "core: %s replicas x %d variants x %d steps may take minutes; a C++ "
                    "compiler (g++) enables the compiled CPU engine, or set sim.replicas "
                    "lower for a quick look", 1.0 / NUMPY_S_PER_HISTORY_STEP, sim.replicas,
                    len(plan.variants), plan.n_steps)
    # the per-day series belong to the replicas with ids below report.daily_replicas, so
    # that the chunks of one run (sim.replica_offset) record those of the whole run
    daily_n = (max(0, min(n_rep, rep.daily_replicas - sim.replica_offset))
               if rep.daily_series else 0)
    # the results of every replica stay in host memory (and pass through summary.json's
    # statistics and raw.npz's buffer: counted twice); chunks share what is left
    results = 2 * (RawResults.bytes_per_replica(plan, False) * n_rep
                   + (RawResults.bytes_per_replica(plan, True)
                      - RawResults.bytes_per_replica(plan, False)) * daily_n)
    plan_bytes = plan.lease_frac.nbytes * 3 + plan.online_normal.nbytes * 4  # plan arrays
    fixed = plan_bytes + results
    budget = sim.max_memory_gb * 1e9 - fixed
    where = f"sim.max_memory_gb={sim.max_memory_gb}"
    knobs = (f"lower {rkey}, report.daily_replicas or sim.horizon_days, or raise "
             "sim.max_memory_gb")
    daily = rep.daily_series
    if engine == "cupy" and budget > 0:  # chunks live in device memory: bound and free
        per = device_bytes_per_replica(plan, daily)
        # free memory less the local memory the driver reserves for the kernel
        free = device_free_bytes(sim.device_id) - gpu_reserved_bytes(sim.device_id)
        device_budget = min(sim.max_memory_gb * 1e9, free) - plan_bytes
        if free < sim.max_memory_gb * 1e9:
            where = f"the {free / 1e9:.2f} GB free on {device}"
        # and the host holds each chunk's records on their way to the results
        fits = int(min(device_budget // per, budget // host_bytes_per_replica(plan, daily))) \
            if device_budget > 0 else 0
    else:
        per = (bytes_per_replica(plan, daily) if engine == "numpy" else
               device_bytes_per_replica(plan, daily, gpu=False)
               + host_bytes_per_replica(plan, daily))
        fits = int(budget // per) if budget > 0 else 0
    if fits < 1:
        need = (fixed + per) / 1e9
        raise ConfigError([Problem("sim.max_memory_gb", sim.max_memory_gb,
                                   f"too small: this run needs about {need:.2f} GB "
                                   f"({results / 1e9:.2f} GB of results for "
                                   f"{n_rep} replicas), more than {where}; {knobs}")])
    if sim.chunk_replicas > 0:
        if sim.chunk_replicas > fits:
            raise ConfigError([Problem(
                "sim.chunk_replicas", sim.chunk_replicas,
                f"does not fit {where}: about "
                f"{(fixed + per * sim.chunk_replicas) / 1e9:.2f} GB needed, at most {fits} "
                "replicas fit; lower sim.chunk_replicas or raise sim.max_memory_gb")])
        chunk = min(sim.chunk_replicas, n_rep)
    else:
        chunk = min(fits, n_rep)
    found = [str(w) for w in validation_warnings(config)]
    for w in found:
        log.warning("%s", w)
    return Prepared(config, plan, engine, device, chunk, daily_n, found)


def plan_chunks(replicas: int, chunk: int, daily_replicas: int, start: int = 0
                ) -> list[tuple[int, int, bool]]:
    """``(offset, count, daily)`` of each batch of replicas ``start ... replicas - 1``: at
    most ``chunk`` replicas, the first ``daily_replicas`` of the run with their per-day
    series and the rest without."""
    out, off = [], start
    while off < replicas:
        daily = off < daily_replicas
        n = min(chunk, replicas - off)
        if daily:
            n = min(n, daily_replicas - off)
        out.append((off, n, daily))
        off += n
    return out


def run(cfg: Any, prepared: Prepared | None = None) -> Results:
    """Simulate a configuration and summarise it.

    Parameters
    ----------
    cfg : DictConfig, Mapping or SimgpuConfig
        A composed configuration (see :func:`simgpu.compose`).
    prepared : Prepared, optional
        The result of :func:`prepare` on the same ``cfg``, to skip checking twice.

    Returns
    -------
    Results
    """
    p = prepared if prepared is not None else prepare(cfg)
    plan, sim = p.plan, p.config.sim
    t0 = time.perf_counter()
    total = sim.replicas_at_most  # replicas the results are allocated for
    if sim.auto:
        pr = sim.precision
        log.info("%s: replicas by precision (%d first, %d more per check, at most %d) x %d "
                 "variants x %d steps of %g h on %s", plan.cfg.name, pr.min_replicas,
                 pr.step_replicas, pr.max_replicas, len(plan.variants), plan.n_steps,
                 plan.dt, p.device)
        if pr.time_budget_s is not None:
            log.warning("sim.precision.time_budget_s=%g: how many replicas run depends on "
                        "this machine's speed, so summary.json may differ between machines "
                        "(it records precision.machine_dependent)", pr.time_budget_s)
    else:
        n_chunks = len(plan_chunks(total, p.chunk, p.daily_replicas))
        log.info("%s: %d replicas x %d variants x %d steps of %g h on %s (%d chunk%s)",
                 plan.cfg.name, sim.replicas, len(plan.variants), plan.n_steps, plan.dt,
                 p.device, n_chunks, "" if n_chunks == 1 else "s")
    engine = simulate
    if p.engine in ("cupy", "cpu"):  # the kernel engine, on the GPU or the CPU
        from simgpu.engine import cuda_engine  # noqa: PLC0415
        from simgpu.engine.launch import CupyLauncher, HostLauncher  # noqa: PLC0415

        launcher = (CupyLauncher(cupy_on(sim.device_id), cuda_engine.gpu_defines(plan))
                    if p.engine == "cupy" else HostLauncher())
        engine = functools.partial(cuda_engine.simulate, launcher=launcher)
    raw = None
    last = [t0]
    n_chunks = 0

    def simulate_range(start: int, stop: int) -> None:
        """Simulate replicas ``start ... stop - 1`` into ``raw`` (which holds ``total``)."""
        nonlocal raw, n_chunks
        t_start = time.perf_counter()
        chunks = plan_chunks(stop, p.chunk, p.daily_replicas, start)
        n_chunks += len(chunks)
        for c, (off, n, daily) in enumerate(chunks):
            part = engine(plan, sim.replica_offset + off, n, daily=daily,
                          progress=_progress(c, len(chunks), t_start, last) if sim.progress
                          else None)
            if start == 0 and stop == total and len(chunks) == 1:
                raw = part
                break
            if raw is None:  # filled in place: no second copy of every replica's results
                raw = RawResults.allocate_like(part, total, p.daily_replicas)
            raw.put(part, off)
            del part

    precision = None
    if sim.auto:
        raw, precision = _until_precise(plan, sim.precision, simulate_range,
                                        lambda: raw, t0)
    else:
        simulate_range(0, total)
    wall = time.perf_counter() - t0
    facts = {"schema": "simgpu.run/1", "backend": p.engine, "device": p.device,
             "wall_seconds": round(wall, 3), "chunks": n_chunks, "chunk_replicas": p.chunk,
             "replica_offset": sim.replica_offset,
             "simgpu_version": __version__, "numpy_version": np.__version__,
             "python_version": platform.python_version()}
    summary = summarize(plan, raw, {"simgpu_version": __version__}, p.warnings)
    if precision is not None:
        summary["precision"] = precision
    log.info("simulated in %.1f s", wall)
    from simgpu.sensitivity import analyse  # noqa: PLC0415  (it runs this module's run)

    t1 = time.perf_counter()
    sens = analyse(p.config)
    if sens is not None:
        summary["sensitivity"] = sens
        facts["sensitivity_seconds"] = round(time.perf_counter() - t1, 3)
    return Results(p.config, plan, raw, summary, facts)


def _until_precise(plan: Plan, prec: PrecisionConfig, simulate_range, results, t0: float
                   ) -> tuple[RawResults, dict[str, Any]]:
    """``sim.replicas: auto``: simulate rounds of replicas (``sim.precision``) until every
    targeted median is precise enough, or the cap or the time budget is spent.

    Replica ``i`` is the same history as in a fixed run (counter-based random numbers), so
    the first ``n`` replicas of an auto run are a fixed run of ``n``. Returns the results
    of the replicas run and the summary's ``precision`` block.
    """
    n, checks = 0, []
    while True:
        stop = pm.next_round(n, prec)
        simulate_range(n, stop)
        n = stop
        checks.append(n)
        found = pm.metrics(plan, results().head(n), prec)
        assessed = {m.path: m.assess(prec.ci_level) for m in found}
        reason = pm.stop_reason(assessed, n, prec, time.perf_counter() - t0)
        met = sum(1 for a in assessed.values() if a["reached"])
        measurable = sum(1 for a in assessed.values() if a["estimate"] is not None)
        w = pm.widest(assessed, found)
        far = ("" if w is None else "; widest: " + pm.describe(
            w.words, w.unit, assessed[w.path]["half_width"], w.target))
        then = (f"continuing to {pm.next_round(n, prec)}" if reason is None
                else f"stopping ({reason})")
        log.info("after %d replicas (%.0f s): %d of %d targets met at %g confidence%s; %s",
                 n, time.perf_counter() - t0, met, measurable, prec.ci_level, far, then)
        if reason is not None:
            break
    raw = results()
    if n < raw.job_finish_h.shape[1]:
        raw = raw.head(n, copy=True)
    return raw, pm.document(prec, assessed, n, reason, checks)


#: Progress is logged at most this often (seconds of wall time), and the last step always.
PROGRESS_EVERY_S = 5.0
#: No time left is estimated before this much work and wall time has passed: the first
#: steps (start-up, the first chunk's allocation) say nothing about the rest.
ETA_AFTER_FRACTION, ETA_AFTER_S = 0.05, 2.0


def _progress(chunk: int, n_chunks: int, t0: float, last: list[float],
              every_s: float = PROGRESS_EVERY_S):
    """A progress callback for one chunk; ``last`` holds when progress was last logged
    (shared by the chunks of a run)."""

    def report(step: int, n_steps: int) -> None:
        done = (chunk + step / n_steps) / n_chunks
        now = time.perf_counter()
        el = now - t0
        if now - last[0] < every_s and done < 1.0:
            return
        last[0] = now
        eta = (f"~{el / done - el:.0f} s left" if done >= ETA_AFTER_FRACTION and
               el >= ETA_AFTER_S else "estimating the time left")
        log.info("progress %5.1f%% (chunk %d/%d, step %d/%d), %.0f s elapsed, %s",
                 100 * done, chunk + 1, n_chunks, step, n_steps, el,
                 eta if done < 1.0 else "done")
    return report
