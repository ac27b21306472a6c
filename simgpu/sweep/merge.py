"""Merge the chunks of one large run, simulated by the jobs of a sweep, into that run.

A run of ``sim.replicas=N`` can be split over jobs, each simulating a slice of the same
histories with ``sim.replica_offset`` (the random numbers are keyed by the replica's id,
not by its place in a batch, so replica ``i`` is the same history in every chunk)::

    simgpu -m sim.replica_offset=0,100,200 sim.replicas=100 hydra.sweep.dir=multirun/big
    simgpu-aggregate --merge multirun/big          # -> multirun/big/merged/

:func:`merge` reads every job directory of the sweep (``config.yaml``, ``raw.npz``,
``summary.json``, ``run.json``), checks that

- every job is complete (a job that failed or was cut off leaves its replicas missing);
- the jobs ran the same configuration, apart from ``sim.replica_offset``,
  ``sim.replicas`` and the keys that do not change results (:data:`EXECUTION_KEYS`:
  backend, device, chunk size, memory bound, progress, overwrite);
- they were written by this simgpu version;
- their replicas tile ``[0, N)`` exactly: no gap, no overlap (the error names the
  offsets and the jobs);

then joins their per-replica records in replica order and summarises them as
``simgpu sim.replicas=N`` does: the same plan, the same validation warnings, the same
summary code, so ``summary.json`` is byte-identical to that run's (tests/sweep/
test_merge.py). The per-day series (``report.daily_series``) belong to the replicas with
ids below ``report.daily_replicas`` in every chunk (:func:`simgpu.run.prepare`), so the
merged ones are the single run's.

**Sensitivity** (``summary["sensitivity"]``) is simulated on the run's first
``min(report.sensitivity.replicas, sim.replicas)`` replicas. The chunk at offset 0 ran it
on its own first ``min(report.sensitivity.replicas, its replicas)``: when that chunk holds
at least as many replicas as the whole run's analysis uses, its section is the single run's
(same configuration, same replica ids, same code) and is taken as it is; otherwise
(chunks smaller than ``report.sensitivity.replicas``) the analysis is run again here on
the merged configuration, as the single run would, which costs the sensitivity points'
simulation (small: ``report.sensitivity.replicas`` histories at the points' coarse step).
The other chunks' sensitivity sections (on their own first replicas) are not used.

The merged directory holds what a run writes (``config.yaml`` with ``sim.replicas=N``
and ``sim.replica_offset=0``, ``raw.npz``, ``summary.json``, ``run.json`` listing the
chunks) and the report in the configuration's ``report.formats``; it holds no ``COMPLETE``
marker, so that ``simgpu-aggregate`` on the sweep directory does not take it for a job.
"""

from __future__ import annotations

import copy
import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from simgpu._version import __version__
from simgpu.engine.numpy_engine import RawResults
from simgpu.report.data import read_raw
from simgpu.run import CONFIG_NAME, FACTS_NAME, RAW_NAME, Results, holds_results
from simgpu.sweep.aggregate import SweepDirError, _read_job, find_job_dirs

log = logging.getLogger(__name__)

#: Default output directory, inside the sweep directory.
OUT_NAME = "merged"
#: Configuration keys that may differ between the chunks of one run: how each job ran,
#: not what it simulated (summary.json is byte-identical across backends and chunk sizes).
EXECUTION_KEYS = frozenset({"sim.replicas", "sim.replica_offset", "sim.backend",
                            "sim.device_id", "sim.chunk_replicas", "sim.max_memory_gb",
                            "sim.progress", "report.overwrite"})


@dataclass
class Chunk:
    """One job's slice of the run."""

    job: str
    dir: Path
    offset: int
    replicas: int
    config: dict[str, Any]  # config.yaml as plain data
    summary: dict[str, Any]
    facts: dict[str, Any] = field(default_factory=dict)  # run.json (may be empty)

    @property
    def end(self) -> int:
        return self.offset + self.replicas


def _flat(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: doc}


def read_chunks(sweep_dir: str | Path) -> list[Chunk]:
    """The chunks of the sweep in ``sweep_dir``, in replica order, checked (see module).

    Raises
    ------
    SweepDirError
        A job is incomplete or unreadable, the jobs ran different configurations or
        simgpu versions, or their replicas do not tile ``[0, N)``.
    """
    d = Path(sweep_dir)
    if not d.is_dir():
        raise SweepDirError(f"{d}: no such directory")
    dirs = find_job_dirs(d)
    if not dirs:
        raise SweepDirError(f"{d} holds no job directory of a `simgpu -m` sweep: give the "
                            "sweep directory of the chunks (hydra.sweep.dir)")
    chunks, bad = [], []
    for jd in dirs:
        job, why = _read_job(jd)
        if job is None:
            bad.append(f"job {jd.name}: {why}")
            continue
        try:
            cfg = OmegaConf.to_container(OmegaConf.load(jd / CONFIG_NAME))
        except Exception as exc:  # noqa: BLE001 - missing or unreadable: named below
            bad.append(f"job {jd.name}: {CONFIG_NAME} unreadable ({type(exc).__name__})")
            continue
        if not (jd / RAW_NAME).is_file():
            bad.append(f"job {jd.name}: no {RAW_NAME}")
            continue
        sim = cfg.get("sim") or {}
        off, n = sim.get("replica_offset", 0), sim.get("replicas")
        if not (isinstance(off, int) and isinstance(n, int)):
            bad.append(f"job {jd.name}: {CONFIG_NAME} has sim.replica_offset={off!r}, "
                       f"sim.replicas={n!r}: not replica counts")
            continue
        try:
            facts = json.loads((jd / FACTS_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            facts = {}
        chunks.append(Chunk(jd.name, jd, off, n, cfg, job["summary"],
                            facts if isinstance(facts, dict) else {}))
    if bad:
        raise SweepDirError(
            f"{d}: cannot merge: {'; '.join(bad)}. Every chunk's replicas are needed: "
            "re-run the same sweep into the same directory (complete jobs are skipped) and "
            "merge again")
    chunks.sort(key=lambda c: (c.offset, c.replicas, c.job))
    _check_same_run(chunks)
    _check_tiling(chunks)
    return chunks


def _check_same_run(chunks: list[Chunk]) -> None:
    ref = chunks[0]
    want = {k: v for k, v in _flat(ref.config).items() if k not in EXECUTION_KEYS}
    diffs = []
    for c in chunks[1:]:
        got = {k: v for k, v in _flat(c.config).items() if k not in EXECUTION_KEYS}
        for k in sorted(want.keys() | got.keys()):
            if want.get(k, "<unset>") != got.get(k, "<unset>"):
                diffs.append(f"{k} (job {ref.job}: {want.get(k, '<unset>')!r}, job {c.job}: "
                             f"{got.get(k, '<unset>')!r})")
    if diffs:
        more = f" and {len(diffs) - 8} more" if len(diffs) > 8 else ""
        raise SweepDirError(
            "cannot merge: the jobs are not chunks of one run, they differ in "
            f"{'; '.join(diffs[:8])}{more}; only sim.replica_offset and sim.replicas (and "
            f"{', '.join(sorted(EXECUTION_KEYS - {'sim.replicas', 'sim.replica_offset'}))}) "
            "may differ: sweep other keys in separate sweep directories")
    versions = {c.job: c.summary.get("simgpu_version") for c in chunks}
    other = {j: v for j, v in versions.items() if v != __version__}
    if other:
        raise SweepDirError(
            f"cannot merge: jobs {', '.join(f'{j} (simgpu {v})' for j, v in other.items())} "
            f"were written by another simgpu version than this one ({__version__}): merge "
            "with the version that ran them")


def _check_tiling(chunks: list[Chunk]) -> None:
    problems, pos, prev = [], 0, None
    for c in chunks:
        if c.offset > pos:
            after = f" (after job {prev.job})" if prev else ""
            problems.append(f"replicas [{pos}, {c.offset}) are missing{after}: no job has "
                            f"sim.replica_offset={pos}")
        elif c.offset < pos:
            problems.append(f"replicas [{c.offset}, {min(pos, c.end)}) are in both job "
                            f"{prev.job} (sim.replica_offset={prev.offset}, "
                            f"sim.replicas={prev.replicas}) and job {c.job} "
                            f"(sim.replica_offset={c.offset}, sim.replicas={c.replicas})")
        if prev is None or c.end > pos:
            pos, prev = max(pos, c.end), c
    if problems:
        got = ", ".join(f"job {c.job}: [{c.offset}, {c.end})" for c in chunks)
        raise SweepDirError(f"cannot merge: the chunks do not tile [0, {pos}): "
                            f"{'; '.join(problems)} (chunks: {got})")


def _load_raw(c: Chunk) -> RawResults:
    raw = read_raw(c.dir / RAW_NAME, SweepDirError)
    if raw.job_finish_h.shape[1] != c.replicas:
        raise SweepDirError(f"{c.dir / RAW_NAME}: holds {raw.job_finish_h.shape[1]} replicas, "
                            f"its config.yaml says sim.replicas={c.replicas}")
    return raw


def merge(sweep_dir: str | Path) -> tuple[Results, list[Chunk]]:
    """The run that the chunks in ``sweep_dir`` are slices of, summarised.

    Returns
    -------
    (Results, list of Chunk)
        What ``simgpu sim.replicas=N`` would return (its ``summary`` byte-identical once
        written), and the chunks it was made of, in replica order.

    Raises
    ------
    SweepDirError
        See :func:`read_chunks`.
    ConfigError
        The chunks' configuration no longer loads (another simgpu version).
    """
    from simgpu.analysis.summary import summarize
    from simgpu.config.load import load
    from simgpu.config.validate import warnings as validation_warnings
    from simgpu.engine.plan import compile_plan

    chunks = read_chunks(sweep_dir)
    first = chunks[0]
    n = chunks[-1].end
    doc = copy.deepcopy(first.config)
    doc["sim"]["replicas"], doc["sim"]["replica_offset"] = n, 0
    config = load(OmegaConf.create(doc))
    plan = compile_plan(config)
    rep = config.report
    n_daily = min(n, rep.daily_replicas) if rep.daily_series else 0
    raw = None
    daily_seen = 0
    for c in chunks:
        part = _load_raw(c)
        if part.job_finish_h.shape[0] != len(plan.variants):
            raise SweepDirError(f"{c.dir / RAW_NAME}: {part.job_finish_h.shape[0]} variants, "
                                f"the configuration has {len(plan.variants)}")
        if raw is None:
            raw = RawResults.allocate_like(part, n, n_daily)
        elif not np.array_equal(part.lease_paid_usd, raw.lease_paid_usd):
            raise SweepDirError(f"{c.dir / RAW_NAME}: lease payments differ from job "
                                f"{first.job}'s, although the configuration is the same")
        if part.cap_daily is not None:
            daily_seen += part.cap_daily.shape[1]
        raw.put(part, c.offset)
        del part
    if (raw.cap_daily is not None) and daily_seen != n_daily:
        raise SweepDirError(f"cannot merge: the chunks hold the per-day series of {daily_seen} "
                            f"replicas, the run records {n_daily} (report.daily_replicas="
                            f"{rep.daily_replicas}); were they written by another version?")
    found = [str(w) for w in validation_warnings(config)]
    summary = summarize(plan, raw, {"simgpu_version": __version__}, found)
    facts: dict[str, Any] = {
        "schema": "simgpu.run/1",
        "backend": ",".join(dict.fromkeys(str(c.facts.get("backend")) for c in chunks)),
        "device": ",".join(dict.fromkeys(str(c.facts.get("device")) for c in chunks)),
        "wall_seconds": round(sum(float(c.facts.get("wall_seconds") or 0.0)
                                  for c in chunks), 3),
        "merged_from": [{"job": c.job, "dir": str(c.dir), "replica_offset": c.offset,
                         "replicas": c.replicas, **{k: c.facts.get(k) for k in (
                             "backend", "device", "wall_seconds")}} for c in chunks],
        "simgpu_version": __version__, "numpy_version": np.__version__,
        "python_version": platform.python_version()}
    sens_n = min(rep.sensitivity.replicas, n)
    if not rep.sensitivity.enabled:
        facts["sensitivity"] = "disabled"
    elif first.replicas >= sens_n:  # the offset-0 chunk ran the single run's analysis
        if "sensitivity" in first.summary:  # (absent where the scenario has no lease)
            summary["sensitivity"] = first.summary["sensitivity"]
        facts["sensitivity"] = f"job {first.job}'s"
    else:
        from simgpu.sensitivity import analyse

        log.info("sensitivity: job %s holds %d replicas, the run's analysis uses %d: "
                 "running it again", first.job, first.replicas, sens_n)
        t1 = time.perf_counter()
        sens = analyse(config)
        if sens is not None:
            summary["sensitivity"] = sens
            facts["sensitivity_seconds"] = round(time.perf_counter() - t1, 3)
        facts["sensitivity"] = "simulated again by the merge"
    return Results(config, plan, raw, summary, facts), chunks


def write_merged(results: Results, out_dir: str | Path,
                 formats: list[str] | None = None) -> list[Path]:
    """Write the merged run into ``out_dir`` as ``simgpu`` writes a run: the report first
    (``formats``, default ``report.formats``), then ``config.yaml``, ``raw.npz``,
    ``run.json`` and, last, the summary. A directory that holds another run's results is
    refused; a previous merge there is replaced."""
    out = Path(out_dir)
    if holds_results(out, results.config.report.summary) and not _is_merge(out):
        raise SweepDirError(f"{out} already holds the results of a run that is not a merge: "
                            "choose another --out")
    written: list[Path] = []
    fmts = results.config.report.formats if formats is None else formats
    if fmts:  # before the summary, which marks a complete run
        from simgpu.report import render_results

        out.mkdir(parents=True, exist_ok=True)
        written = render_results(results, out, fmts)
    path = results.write(out, overwrite=True)
    return [*written, out / CONFIG_NAME, out / RAW_NAME, out / FACTS_NAME, path]


def _is_merge(out: Path) -> bool:
    try:
        facts = json.loads((out / FACTS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(facts, dict) and "merged_from" in facts
