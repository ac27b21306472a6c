"""Sweeps through the ``simgpu`` console script: Hydra's basic and joblib launchers, the
sweep pre-flight, completion markers and resuming."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from console import needs_simgpu, simgpu

from simgpu.errors import ConfigError

pytestmark = needs_simgpu



@pytest.fixture
def tiny():
    from tiny_config import TINY_OVERRIDES

    return [*TINY_OVERRIDES, "sim.backend=numpy", "report.formats=[]"]


def _raw(job: Path) -> dict[str, np.ndarray]:
    with np.load(job / "raw.npz") as z:
        return {k: z[k] for k in z.files}


def _same_results(a: Path, b: Path) -> None:
    ra, rb = _raw(a), _raw(b)
    assert ra.keys() == rb.keys()
    for k in ra:
        assert np.array_equal(ra[k], rb[k], equal_nan=True), k
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()


@pytest.mark.parametrize("launcher", ["basic", pytest.param("joblib", marks=pytest.mark.slow),
                                      pytest.param("gpu_box", marks=pytest.mark.slow)])
def test_equal_seeds_give_equal_results_across_jobs(tmp_path, tiny, launcher):
    if launcher != "basic" and importlib.util.find_spec("hydra_plugins.hydra_joblib_launcher") \
            is None:
        pytest.skip("hydra-joblib-launcher is not installed (pip install 'simgpu[joblib]')")
    extra = [] if launcher == "basic" else [f"hydra/launcher={launcher}",
                                            "hydra.launcher.n_jobs=2"]
    sweep = tmp_path / "sweep"
    proc = simgpu(["-m", *tiny, *extra, "sim.seed=5,5", f"hydra.sweep.dir={sweep}"],
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _same_results(sweep / "0", sweep / "1")
    for n in ("0", "1"):
        marker = json.loads((sweep / n / "COMPLETE").read_text())
        assert marker["name"] == "colossus_lease" and "sim.seed=5" in marker["overrides"]


@pytest.mark.slow
def test_chunks_of_a_sweep_merge_into_the_single_run(tmp_path, tiny):
    """simgpu -m sim.replica_offset=0,2,4 sim.replicas=2 then simgpu-aggregate --merge: the
    summary is byte-identical to simgpu sim.replicas=6's, the records equal, and the merged
    report is written as simgpu-report writes it (tests/sweep/test_merge.py covers the
    sensitivity and the per-day series in-process)."""
    from console import script

    sweep, single = tmp_path / "sweep", tmp_path / "single"
    proc = simgpu(["-m", *tiny, "sim.replica_offset=0,2,4", "sim.replicas=2",
                   f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = simgpu([*tiny, "sim.replicas=6", f"hydra.run.dir={single}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([script("simgpu-aggregate"), "--merge", str(sweep), "--formats",
                           "markdown"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    merged = sweep / "merged"
    _same_results(merged, single)
    assert (merged / "report.md").is_file() and "report.md" in proc.stdout


@pytest.mark.slow
def test_chunks_run_on_a_local_ray_instance_and_merge(tmp_path, tiny):
    """hydra/launcher=ray_local: a sweep of two chunks on a Ray instance started for it,
    merged into the single run (slow: Ray takes ~10 s to start)."""
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None:
        pytest.skip("hydra-ray-launcher is not installed (pip install 'simgpu[ray]'; not in "
                    "[test]: ray is a 79 MB wheel and the plugin pins cloudpickle<3)")
    from console import script

    sweep, single = tmp_path / "sweep", tmp_path / "single"
    proc = simgpu(["-m", *tiny, "hydra/launcher=ray_local", "sim.replica_offset=0,2",
                   "sim.replicas=2", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ray Launcher is launching 2 jobs" in proc.stdout + proc.stderr
    for n in ("0", "1"):
        assert (sweep / n / "COMPLETE").is_file()
    proc = simgpu([*tiny, "sim.replicas=4", f"hydra.run.dir={single}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([script("simgpu-aggregate"), "--merge", str(sweep), "--formats",
                           "none"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    _same_results(sweep / "merged", single)


@pytest.mark.slow  # three sweeps through Hydra: about 10 s on 2 cores
def test_a_rerun_skips_complete_jobs_and_redoes_the_others(tmp_path, tiny):
    sweep = tmp_path / "sweep"
    args = ["-m", *tiny, "leases.colossus_one.share=0.5,1.0", f"hydra.sweep.dir={sweep}"]
    assert simgpu(args, cwd=tmp_path).returncode == 0
    kept = (sweep / "0" / "summary.json").stat().st_mtime_ns
    (sweep / "1" / "COMPLETE").unlink()  # job 1 was cut off before it finished
    (sweep / "1" / "summary.json").unlink()
    proc = simgpu(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "already complete" in proc.stdout + proc.stderr
    assert (sweep / "0" / "summary.json").stat().st_mtime_ns == kept
    assert (sweep / "1" / "COMPLETE").is_file() and (sweep / "1" / "summary.json").is_file()


@pytest.mark.parametrize(("args", "fragments"), [
    (["nope.key=1,2"], ["nope.key"]),
    (["sim.replicas=2,0"], ["sim.replicas=0", "must be > 0"]),
    (["leases.colossus_one.share=0.5,7"], ["leases.colossus_one.share=7"]),
])
def test_a_bad_sweep_fails_before_any_job_starts(tmp_path, tiny, args, fragments):
    sweep = tmp_path / "sweep"
    proc = simgpu(["-m", *tiny, *args, f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in proc.stderr, proc.stderr
    assert not sweep.exists()


def test_a_sweep_dir_of_another_experiment_is_refused(tmp_path, tiny):
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "COMPLETE").write_text(json.dumps({"name": "grok_priority",
                                                      "overrides": []}))
    proc = simgpu(["-m", *tiny, "sim.seed=1,2", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "grok_priority" in proc.stderr and "hydra.sweep.dir" in proc.stderr
    assert sorted(p.name for p in sweep.iterdir()) == ["0"]


def test_a_launcher_that_is_not_installed_names_the_extra(monkeypatch):
    from simgpu import preflight

    monkeypatch.setitem(preflight.LAUNCHERS, "joblib",
                        ("hydra_plugins.not_installed_here", 'pip install "simgpu[joblib]"'))
    with pytest.raises(ConfigError) as err:
        preflight.check_sweep(["hydra/launcher=joblib", "sim.seed=1,2"])
    assert "hydra/launcher='joblib'" in str(err.value)
    assert 'pip install "simgpu[joblib]"' in str(err.value)


def test_sweep_values_expand_like_hydra():
    from simgpu.preflight import expand

    out = dict(expand(["a=1,2", "b=x", "+c=range(0,3)", "d=choice(p,q)"]))
    assert out == {"a": ["a=1", "a=2"], "b": ["b=x"], "+c": ["+c=0", "+c=1", "+c=2"],
                   "d": ["d=p", "d=q"]}


def test_each_sweep_job_takes_its_own_gpu(monkeypatch):
    from simgpu import backend

    monkeypatch.setattr(backend, "device_count", lambda: 4)
    assert [backend.resolve_device(-1, n) for n in range(6)] == [0, 1, 2, 3, 0, 1]
    assert backend.resolve_device(2, 5) == 2
    monkeypatch.setattr(backend, "device_count", lambda: 0)
    assert backend.resolve_device(-1, 5) == 0
