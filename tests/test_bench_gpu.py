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
    for key in ("benchmark", "date", "machine", "workload", "cupy", "host", "numpy", "des",
                "speedups", "scaling_size", "scaling_replicas", "goals"):
        assert key in data, key
    assert data["benchmark"] == "gpu_engine"
    assert data["date"].endswith("+00:00")
    for key in ("platform", "cpu", "python", "numpy", "gpu"):
        assert key in data["machine"], key
    assert data["quick"] is True
    assert data["workload"]["n_variants"] == 8

    probe = probe_cuda(0)
    if probe.ok:  # a GPU machine: the kernel engine ran on it
        assert "stages" in data["cupy"]
        assert data["machine"]["gpu"]["name"]
        assert data["scaling_size"]["engine"] == "cupy"
    else:
        assert data["cupy"] == {"skipped": probe.reason}
        assert data["cupy"]["skipped"]
        assert data["machine"]["gpu"] is None
        assert data["scaling_size"]["engine"] == "host"
        assert data["goals"]["full_workload_le_1s"] is None

    for eng in ("host", "numpy", "des"):
        sec = data[eng]
        assert sec["wall_s"] > 0, eng
        assert sec["s_per_history_step"] > 0, eng
        assert sec["projected_full_s"] > 0, eng
        assert sec["history_steps"] == sec["replicas"] * sec["variants"] * sec["n_steps"]
    assert data["speedups"]["host_over_numpy"] > 0

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
