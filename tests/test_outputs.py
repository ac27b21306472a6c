"""Outputs: deterministic summaries, atomic writes under signals, no overwriting, no
code from configs, names that stay inside the output directory, memory bounds."""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from console import SIMGPU, needs_simgpu
from console import simgpu as simgpu_cli

import simgpu
from simgpu.errors import ConfigError, OutputExists

PACKAGE = Path(simgpu.__file__).parent


# ------------------------------------------------------------------ determinism


def test_summary_is_byte_identical_across_runs_and_processes(tmp_path, tiny_overrides):
    ov = [*tiny_overrides, "sim.backend=numpy"]
    simgpu.run(simgpu.compose(ov)).write(tmp_path / "a")
    simgpu.run(simgpu.compose(ov)).write(tmp_path / "b")
    code = ("import sys, simgpu; simgpu.run(simgpu.compose(sys.argv[2:]))"
            ".write(sys.argv[1])")
    # from another directory: the installed package, not the source tree's
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "c"), *ov], check=True,
                   timeout=300, cwd=tmp_path)
    a, b, c = ((tmp_path / d / "summary.json").read_bytes() for d in "abc")
    assert a == b == c
    facts = json.loads((tmp_path / "a" / "run.json").read_text())
    assert facts["backend"] == "numpy" and facts["wall_seconds"] >= 0


# ------------------------------------------------------------------ signals


@needs_simgpu
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT,
                                                               marks=pytest.mark.slow)])
def test_a_signal_mid_run_leaves_no_half_written_results_and_says_so(tmp_path, sig):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [SIMGPU, "sim.replicas=2", "sim.horizon_days=400", "sim.backend=numpy",
         f"hydra.run.dir={out}"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"})
    log = out / "simgpu.log"
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until the simulation is under way
        if log.exists() and "progress" in log.read_text():
            break
        time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + int(sig)
    assert f"stopped by {sig.name} while simulating" in err
    assert "Traceback" not in err
    names = {p.name for p in out.iterdir()}
    assert not names & {"summary.json", "COMPLETE", "raw.npz", "run.json"}
    assert not [n for n in names if n.endswith(".tmp")]


def test_an_error_a_signal_caused_inside_a_library_is_reported_as_the_signal(monkeypatch):
    """A KeyboardInterrupt raised inside OmegaConf can leave a config half-changed, and
    OmegaConf's clean-up then raises ConfigKeyError or AttributeError in its place (seen:
    SIGTERM at the wrong moment gave exit code 1 and Hydra's traceback). After a signal,
    any error is the signal's; without one, errors pass through unchanged."""
    from simgpu import cli

    monkeypatch.setattr(cli, "_STATE", {"phase": "simulating", "out": None})
    with pytest.raises(AttributeError):
        with cli._signal_stops_it():
            raise AttributeError("'NoneType' object has no attribute '_invalidate_flags_cache'")
    cli._STATE["signal"] = signal.SIGTERM
    with pytest.raises(KeyboardInterrupt):
        with cli._signal_stops_it():
            raise AttributeError("'NoneType' object has no attribute '_invalidate_flags_cache'")


def test_results_stopped_while_being_written_leave_none_of_their_files(tmp_path, monkeypatch,
                                                                        tiny_overrides):
    run_module = importlib.import_module("simgpu.run")  # simgpu.run is also the function
    res = simgpu.run(simgpu.compose(tiny_overrides))
    res.write(tmp_path)  # an earlier complete run in the same directory
    write_json = run_module.atomic_write_json

    def stopped(path, obj):  # the signal arrives while run.json is written
        if Path(path).name == "run.json":
            raise KeyboardInterrupt
        return write_json(path, obj)

    monkeypatch.setattr(run_module, "atomic_write_json", stopped)
    with pytest.raises(KeyboardInterrupt):
        res.write(tmp_path, overwrite=True)
    # neither the new files written before the stop nor the old summary, which would
    # vouch for files of another run, remain
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------------ overwriting


@needs_simgpu
def test_an_output_directory_with_results_is_not_overwritten_unless_asked(tmp_path,
                                                                          tiny_overrides):
    out = tmp_path / "run"
    args = [*tiny_overrides, "sim.backend=numpy", "report.formats=[]", f"hydra.run.dir={out}"]
    assert simgpu_cli(args, tmp_path).returncode == 0
    before = (out / "summary.json").stat().st_mtime_ns
    hydra_before = (out / ".hydra" / "config.yaml").read_bytes()
    proc = simgpu_cli([*args, "sim.seed=9"], tmp_path)
    assert proc.returncode == 2
    assert "already holds the results" in proc.stderr and "report.overwrite=true" in proc.stderr
    assert (out / "summary.json").stat().st_mtime_ns == before
    assert (out / ".hydra" / "config.yaml").read_bytes() == hydra_before
    proc = simgpu_cli([*args, "sim.seed=9", "report.overwrite=true"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["seed"] == 9


def test_results_write_refuses_a_directory_with_results(tmp_path, tiny_overrides):
    res = simgpu.run(simgpu.compose(tiny_overrides))
    res.write(tmp_path)
    with pytest.raises(OutputExists, match="report.overwrite=true"):
        res.write(tmp_path)
    res.write(tmp_path, overwrite=True)


# ------------------------------------------------------------------ no code from configs


def test_the_package_never_evaluates_or_unpickles():
    bad = re.compile(r"\b(eval|exec)\(|\bpickle\b|instantiate\(|allow_pickle\s*=\s*True|"
                     r"__import__\(|\bmarshal\b|yaml\.load\(|yaml\.unsafe_load")
    hits = []
    for path in PACKAGE.rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if bad.search(line.split("#")[0]):
                hits.append(f"{path.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert hits == []


def test_a_target_key_in_a_config_is_an_unknown_key_not_a_call(tiny_overrides):
    with pytest.raises(ConfigError, match="_target_"):
        simgpu.run(simgpu.compose([*tiny_overrides, "+jobs.frontier_1._target_=os.system"]))


@pytest.mark.parametrize("name", ["../escape", "/abs/path", "a/b", "..", ".hidden"])
def test_a_scenario_name_cannot_leave_the_output_directory(tiny_overrides, name):
    with pytest.raises(ConfigError) as err:
        simgpu.run(simgpu.compose([*tiny_overrides, f"name='{name}'"]))
    assert err.value.problems[0].key == "name"


@needs_simgpu
def test_the_cli_refuses_an_escaping_name_and_writes_nothing(tmp_path, tiny_overrides):
    proc = simgpu_cli([*tiny_overrides, "name='../../evil'"], tmp_path)
    assert proc.returncode == 2 and "name=" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ resource limits


def test_a_million_replicas_fit_a_24_gib_machine_in_chunks():
    run_mod = importlib.import_module("simgpu.run")
    cfg = simgpu.compose(["sim.replicas=1000000", "sim.max_memory_gb=20", "sim.backend=numpy"])
    p = run_mod.prepare(cfg)
    chunks = run_mod.plan_chunks(1_000_000, p.chunk, p.daily_replicas)
    assert sum(n for _, n, _ in chunks) == 1_000_000
    assert sum(n for _, n, d in chunks if d) == 1000  # per-day series: first 1,000 only
    from simgpu.engine.numpy_engine import RawResults, bytes_per_replica

    plan = p.plan
    results = 2 * (RawResults.bytes_per_replica(plan, False) * 1_000_000
                   + (RawResults.bytes_per_replica(plan, True)
                      - RawResults.bytes_per_replica(plan, False)) * 1000)
    peak = results + p.chunk * bytes_per_replica(plan, True)
    assert peak <= 20e9 < 24 * 2**30


def test_a_run_beyond_the_memory_bound_is_refused_with_the_knobs():
    with pytest.raises(ConfigError) as err:
        simgpu.run(simgpu.compose(["sim.replicas=1000000", "sim.backend=numpy"]))
    msg = str(err.value)
    assert "sim.max_memory_gb=4.0" in msg and "sim.replicas" in msg
    assert "report.daily_replicas" in msg


def test_daily_series_are_kept_for_the_first_replicas_and_chunks_change_nothing(
        tiny_overrides):
    ov = [*tiny_overrides, "sim.replicas=3", "report.daily_series=true"]
    whole = simgpu.run(simgpu.compose(ov))
    parts = simgpu.run(simgpu.compose([*ov, "sim.chunk_replicas=1",
                                       "report.daily_replicas=2"]))
    assert parts.raw.cap_daily.shape[1] == 2
    assert np.array_equal(parts.raw.cap_daily, whole.raw.cap_daily[:, :2])
    assert np.array_equal(parts.raw.job_finish_h, whole.raw.job_finish_h)
    assert parts.summary == whole.summary
