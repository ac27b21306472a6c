"""``simgpu.run(cfg) -> Results``: validate, plan, simulate, summarise. No Hydra here.

Notebooks, tests and the CLI all call :func:`run`; :func:`prepare` does every check that
can fail before any simulation or output, so the CLI can refuse bad input having
written nothing.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from simgpu._version import __version__
from simgpu.analysis.summary import summarize
from simgpu.backend import cupy_on, device_free_bytes, resolve_device, select
from simgpu.config.load import load
from simgpu.config.schema import SimgpuConfig
from simgpu.engine.cuda_engine import device_bytes_per_replica
from simgpu.engine.numpy_engine import RawResults, bytes_per_replica, simulate
from simgpu.engine.plan import Plan, compile_plan
from simgpu.errors import ConfigError, Problem
from simgpu.io import atomic_savez, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

RAW_NAME = "raw.npz"
CONFIG_NAME = "config.yaml"


@dataclass
class Prepared:
    """A run that passed every check and is ready to simulate."""

    config: SimgpuConfig
    plan: Plan
    engine: str  # numpy or cupy
    device: str
    chunk: int  # replicas per batch


@dataclass
class Results:
    """What a run produced; :meth:`write` puts it in a directory, atomically per file."""

    config: SimgpuConfig
    plan: Plan
    raw: RawResults
    summary: dict[str, Any]

    def write(self, out_dir: str | Path) -> Path:
        """Write ``config.yaml``, ``raw.npz`` and, last, the summary into ``out_dir``.

        Returns the summary's path. Each file appears whole or not at all; the summary is
        written last, so its presence marks a complete run.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / CONFIG_NAME, OmegaConf.to_yaml(OmegaConf.structured(self.config)))
        arrays = {k: v for k, v in vars(self.raw).items() if v is not None}
        atomic_savez(out / RAW_NAME, **arrays)
        return atomic_write_json(out / self.config.report.summary, self.summary)


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
    sim = config.sim
    fixed = plan.lease_frac.nbytes * 3 + plan.online_normal.nbytes * 4
    budget = sim.max_memory_gb * 1e9 - fixed
    where = f"sim.max_memory_gb={sim.max_memory_gb}"
    if engine == "cupy":  # the bound applies to device memory, and so does the free memory
        per = device_bytes_per_replica(plan, config.report.daily_series)
        free = device_free_bytes(sim.device_id)
        if free - fixed < budget:
            budget = free - fixed
            where = f"the {free / 1e9:.2f} GB free on {device}"
    else:
        per = bytes_per_replica(plan, config.report.daily_series)
    fits = int(budget // per) if budget > 0 else 0
    if fits < 1:
        need = (fixed + per) / 1e9
        raise ConfigError([Problem("sim.max_memory_gb", sim.max_memory_gb,
                                   f"too small: one replica needs about {need:.2f} GB, more "
                                   f"than {where} (shorten sim.horizon_days or raise "
                                   "sim.max_memory_gb)")])
    if sim.chunk_replicas > 0:
        if sim.chunk_replicas > fits:
            raise ConfigError([Problem(
                "sim.chunk_replicas", sim.chunk_replicas,
                f"does not fit {where}: about "
                f"{(fixed + per * sim.chunk_replicas) / 1e9:.2f} GB needed, at most {fits} "
                "replicas fit; lower sim.chunk_replicas or raise sim.max_memory_gb")])
        chunk = min(sim.chunk_replicas, sim.replicas)
    else:
        chunk = min(fits, sim.replicas)
    return Prepared(config, plan, engine, device, chunk)


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
    n_chunks = math.ceil(sim.replicas / p.chunk)
    log.info("%s: %d replicas x %d variants x %d steps of %g h on %s (%d chunk%s)",
             plan.cfg.name, sim.replicas, len(plan.variants), plan.n_steps, plan.dt,
             p.device, n_chunks, "" if n_chunks == 1 else "s")
    engine = simulate
    if p.engine == "cupy":
        from simgpu.engine import cuda_engine  # noqa: PLC0415
        from simgpu.engine.launch import CupyLauncher  # noqa: PLC0415

        launcher = CupyLauncher(cupy_on(sim.device_id), cuda_engine.gpu_defines(plan))
        engine = functools.partial(cuda_engine.simulate, launcher=launcher)
    parts = []
    for c in range(n_chunks):
        off = c * p.chunk
        n = min(p.chunk, sim.replicas - off)
        parts.append(engine(plan, off, n, daily=p.config.report.daily_series,
                            progress=_progress(c, n_chunks, t0) if sim.progress else None))
    raw = RawResults.concat(parts) if len(parts) > 1 else parts[0]
    wall = time.perf_counter() - t0
    meta = {"backend": p.engine, "device": p.device, "wall_seconds": round(wall, 3),
            "simgpu_version": __version__, "numpy_version": np.__version__}
    summary = summarize(plan, raw, meta)
    log.info("simulated in %.1f s", wall)
    return Results(p.config, plan, raw, summary)


def _progress(chunk: int, n_chunks: int, t0: float):
    def report(step: int, n_steps: int) -> None:
        done = (chunk + step / n_steps) / n_chunks
        el = time.perf_counter() - t0
        eta = el / done - el if done > 0 else float("nan")
        log.info("progress %5.1f%% (chunk %d/%d, step %d/%d), %.0f s elapsed, ~%.0f s left",
                 100 * done, chunk + 1, n_chunks, step, n_steps, el, eta)
    return report
