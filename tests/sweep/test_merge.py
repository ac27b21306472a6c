"""``simgpu-aggregate --merge``: the chunks of one run (``sim.replica_offset``), simulated
as the jobs of a sweep, merge into a summary byte-identical to the single run's.

The chunks are laid out as ``simgpu -m`` lays them out (SWEEP_DIR/<n>/ with the run's
files and, last, ``COMPLETE``), from runs simulated in-process on the tiny configuration
with the per-day series of replicas 0-2 (across a chunk boundary) and a small sensitivity
analysis (one input, two replicas per point), so that every part of the summary and of
the raw records is compared. tests/test_multirun.py does the same through the console
scripts.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_config import TINY_OVERRIDES

import simgpu
from simgpu.config import load
from simgpu.marker import write_marker
from simgpu.sweep.cli import main
from simgpu.sweep.merge import merge, write_merged

N = 5
OVERRIDES = [*TINY_OVERRIDES, "sim.backend=numpy", "report.formats=[]",
             "sim.horizon_days=6", "report.daily_series=true", "report.daily_replicas=3",
             "report.sensitivity.enabled=true", "report.sensitivity.inputs=[restart]",
             "report.sensitivity.replicas=2", "report.sensitivity.step_hours=24"]


def _results(cfg, replicas: int, offset: int = 0) -> simgpu.Results:
    c = copy.deepcopy(cfg)
    c.sim = dataclasses.replace(c.sim, replicas=replicas, replica_offset=offset)
    return simgpu.run(c)


def _chunks(root: Path, cfg, layout: list[tuple[int, int]]) -> dict[tuple[int, int], Path]:
    """Job directories of chunks ``(offset, replicas)`` as a sweep job writes them."""
    jobs = {}
    for off, n in layout:
        d = root / "jobs" / f"{off}_{n}"
        _results(cfg, n, off).write(d)
        over = [f"sim.replica_offset={off}", f"sim.replicas={n}"]
        (d / ".hydra").mkdir()
        (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(over))
        write_marker(d, cfg.name, over)
        jobs[(off, n)] = d
    return jobs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The single run of N replicas, and the job directories of chunks (0, 2) and (2, 3)
    of it (the first holds the sensitivity's two replicas)."""
    cfg = load(simgpu.compose(OVERRIDES))
    root = tmp_path_factory.mktemp("merge")
    _results(cfg, N).write(root / "single")
    return root / "single", _chunks(root, cfg, [(0, 2), (2, 3)]), cfg, root


def _sweep(tmp_path: Path, jobs: dict, keys: list[tuple[int, int]]) -> Path:
    sweep = tmp_path / "sweep"
    for i, k in enumerate(keys):
        shutil.copytree(jobs[k], sweep / str(i))
    return sweep


def _raw(d: Path) -> dict[str, np.ndarray]:
    with np.load(d / "raw.npz") as z:
        return {k: z[k] for k in z.files}


def _check_merge(sweep: Path, single: Path, out: Path, keys: list[tuple[int, int]],
                 sensitivity: str) -> None:
    results, chunks = merge(sweep)
    assert [(c.offset, c.replicas) for c in chunks] == sorted(keys)
    assert results.facts["sensitivity"] == sensitivity
    write_merged(results, out)
    assert (out / "summary.json").read_bytes() == (single / "summary.json").read_bytes()
    want, got = _raw(single), _raw(out)
    assert want.keys() == got.keys() and "cap_daily" in got
    for k in want:
        assert np.array_equal(want[k], got[k], equal_nan=True), k
    # the summary rests on every replica and holds the sensitivity analysis
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replicas"] == N and summary["sensitivity"]["replicas"] == 2
    assert got["cap_daily"].shape[1] == 3
    # the merged directory is a run: the same config as the single run's
    assert load(yaml.safe_load((out / "config.yaml").read_text())).sim.replicas == N
    facts = json.loads((out / "run.json").read_text())
    assert [m["replica_offset"] for m in facts["merged_from"]] == sorted(o for o, _ in keys)


def test_merged_chunks_are_the_single_run(runs, tmp_path):
    single, jobs, _, _ = runs
    keys = [(2, 3), (0, 2)]  # job order need not be replica order
    _check_merge(_sweep(tmp_path, jobs, keys), single, tmp_path / "merged", keys,
                 "job 1's")


@pytest.mark.slow
def test_sensitivity_is_simulated_again_when_the_first_chunk_is_too_small(runs, tmp_path):
    """Chunks of one replica: the offset-0 chunk's analysis used 1 replica, the single
    run's uses 2; the merge runs it again on the merged configuration."""
    single, jobs, cfg, root = runs
    jobs = {**jobs, **_chunks(root, cfg, [(0, 1), (1, 1)])}
    keys = [(0, 1), (1, 1), (2, 3)]
    _check_merge(_sweep(tmp_path, jobs, keys), single, tmp_path / "merged", keys,
                 "simulated again by the merge")


def test_the_console_script_merges_into_the_sweep_dir(runs, tmp_path, capsys):
    single, jobs, _, _ = runs
    sweep = _sweep(tmp_path, jobs, [(0, 2), (2, 3)])
    assert main(["--merge", str(sweep), "--formats", "none"]) == 0
    assert "merged 2 jobs into one run of 5 replicas" in capsys.readouterr().out
    merged = sweep / "merged"
    assert (merged / "summary.json").read_bytes() == (single / "summary.json").read_bytes()
    assert not (merged / "COMPLETE").exists()  # not a job of the sweep
    # merging again replaces the previous merge
    assert main(["--merge", str(sweep), "--formats", "none"]) == 0


def _fails(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_a_gap_names_the_missing_replicas(runs, tmp_path, capsys):
    sweep = _sweep(tmp_path, runs[1], [(2, 3)])
    err = _fails(["--merge", str(sweep)], capsys)
    assert "replicas [0, 2) are missing" in err and "sim.replica_offset=0" in err, err
    assert not (sweep / "merged").exists()


def test_an_overlap_names_both_jobs(runs, tmp_path, capsys):
    sweep = _sweep(tmp_path, runs[1], [(0, 2), (2, 3)])
    shutil.copytree(sweep / "1", sweep / "2")  # the same chunk twice
    err = _fails(["--merge", str(sweep)], capsys)
    assert "replicas [2, 5) are in both job 1" in err and "and job 2" in err, err
    assert "sim.replica_offset=2, sim.replicas=3" in err, err


def test_chunks_of_different_runs_are_refused(runs, tmp_path, capsys):
    sweep = _sweep(tmp_path, runs[1], [(0, 2), (2, 3)])
    cfg = yaml.safe_load((sweep / "1" / "config.yaml").read_text())
    cfg["sim"]["seed"] = 7
    cfg["sim"]["backend"] = "cpu"  # how a job ran may differ
    (sweep / "1" / "config.yaml").write_text(yaml.safe_dump(cfg))
    err = _fails(["--merge", str(sweep)], capsys)
    differ = err.split("differ in ")[1].split("; only")[0]
    assert differ == "sim.seed (job 0: 0, job 1: 7)", err


def test_an_incomplete_chunk_is_named(runs, tmp_path, capsys):
    sweep = _sweep(tmp_path, runs[1], [(0, 2), (2, 3)])
    (sweep / "1" / "COMPLETE").unlink()
    err = _fails(["--merge", str(sweep)], capsys)
    assert "job 1: no COMPLETE marker" in err and "re-run the same sweep" in err, err
