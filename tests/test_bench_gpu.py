"""The GPU benchmark's smoke run (``benchmarks/bench_gpu.py --quick``) on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, list[Path]]:
    out = tmp_path_factory.mktemp("bench_gpu")
    env = {k: v for k, v in os.environ.items() if k != "SIMGPU_BENCH_OUT"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, sorted(out.iterdir())


def test_quick_run_writes_one_json(quick_run):
    proc, files = quick_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert len(files) == 1, files
    assert files[0].name.startswith("bench_gpu_") and files[0].suffix == ".json"
    assert "written:" in proc.stdout


def test_quick_run_contents(quick_run):
    from simgpu.backend import probe_cuda

    proc, files = quick_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(files[0].read_text())
    for key in ("benchmark", "date", "machine", "workload", "cupy", "cpu", "numpy", "des",
                "speedups", "scaling_size", "scaling_replicas", "goals"):
        assert key in data, key
    assert data["benchmark"] == "gpu_engine"
    assert data["date"].endswith("+00:00")
    for key in ("platform", "cpu", "python", "numpy", "gpu"):
        assert key in data["machine"], key
    assert data["quick"] is True and data["complete"] is True
    assert data["machine"]["cpu_threads"] >= 1
    assert data["workload"]["n_variants"] == 8

    probe = probe_cuda(0)
    if probe.ok:  # a GPU machine: the kernel engine ran on it
        assert "stages" in data["cupy"]
        assert data["cupy"]["parity"]["all_identical"] is True
        assert data["cupy"]["kernel_s"] <= data["cupy"]["wall_s"]
        assert data["machine"]["gpu"]["name"]
        assert data["scaling_size"]["engine"] == "cupy"
    else:
        assert data["cupy"] == {"skipped": probe.reason}
        assert data["cupy"]["skipped"]
        assert data["machine"]["gpu"] is None
        assert data["scaling_size"]["engine"] == "cpu"
        assert data["goals"]["full_workload_le_1s"] is None

    for eng in ("cpu", "numpy", "des"):
        sec = data[eng]
        assert sec["wall_s"] > 0, eng
        assert sec["s_per_history_step"] > 0, eng
        assert sec["projected_full_s"] > 0, eng
        assert sec["history_steps"] == sec["replicas"] * sec["variants"] * sec["n_steps"]
    assert data["speedups"]["cpu_over_numpy"] > 0

    ss = data["scaling_size"]
    assert [p["target_gpus"] for p in ss["points"]] == [1000, 10000]
    for p in ss["points"]:
        assert p["wall_s"] > 0
        assert abs(p["installed_gpus"] - p["target_gpus"]) <= 0.05 * p["target_gpus"]
    assert ss["points"][0]["ratio_to_smallest"] == 1.0
    assert isinstance(ss["within_1_2x"], bool)
    assert data["goals"]["size_ratio_le_1_2"] is None  # 100,000 GPUs not in the quick run

    sr = data["scaling_replicas"]
    assert len(sr["points"]) >= 2
    for p in sr["points"]:
        assert p["wall_s"] > 0 and p["histories_per_s"] > 0
        assert 0 < p["kernel_s"] <= p["split"]["total_s"]


def test_the_benchmark_imports_simpy_only_when_the_des_runs():
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_gpu; "
            "print('simpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


@pytest.mark.slow  # about 20 s: three stages, each a fresh process
def test_the_gpu_check_script_writes_its_json_after_every_stage(tmp_path):
    """benchmarks/gpu_check.sh in its smoke mode; on a CPU box every stage fails (no GPU),
    and says so in gpu_check.json, with each stage's files."""
    import shutil

    from simgpu.backend import probe_cuda

    if shutil.which("bash") is None or shutil.which("timeout") is None:
        pytest.skip("bash and timeout are needed")
    env = {k: v for k, v in os.environ.items() if k != "SIMGPU_BENCH_OUT"}
    env.update(SIMGPU_GPU_CHECK_QUICK="1", PYTHON=sys.executable)
    out = tmp_path / "check"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    data = json.loads((out / "gpu_check.json").read_text())
    assert [s["name"] for s in data["stages"]] == ["gpu_tests", "goal", "benchmark"]
    gpu = probe_cuda(0).ok
    assert data["all_passed"] is gpu and (proc.returncode == 0) is gpu, proc.stdout[-3000:]
    for st in data["stages"]:
        assert (out / st["log"]).is_file() and st["seconds"] <= st["limit_s"]
        assert (st["status"] == "passed") is gpu, st
    for name in ("goal", "benchmark"):  # the benchmark's JSON, written even without a GPU
        (stage,) = [s for s in data["stages"] if s["name"] == name]
        (js,) = [f for f in stage["files"] if f.endswith(".json")]
        assert json.loads((out / js).read_text())["complete"] is True
