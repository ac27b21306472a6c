"""The ``simgpu-perf`` console script end to end, and every shipped preset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from simgpu.perf.cli import compose, report, run

SCRIPT = shutil.which("simgpu-perf", path=str(Path(sys.executable).parent)) or shutil.which(
    "simgpu-perf")
PRESETS = sorted(f.name[:-5] for f in files("simgpu.conf").joinpath("model").iterdir()
                 if f.name.endswith(".yaml"))


def simgpu_perf(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([SCRIPT, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_presets_are_shipped():
    assert {"gpt3_175b", "megatron_1t", "llama3_8b", "llama3_70b", "llama3_405b"} <= set(
        PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_composes_and_runs(preset):
    cfg = compose([f"model={preset}"])
    assert cfg.source
    est = run(cfg)
    assert 0.2 < est.mfu < 0.7
    text = report(est, cfg.source)
    assert "MFU" in text and "bubble" in text and "DP comm exposed" in text


@pytest.mark.skipif(SCRIPT is None, reason="simgpu-perf console script not installed")
def test_cli_runs_a_preset_and_writes_json(tmp_path):
    out = tmp_path / "run"
    proc = simgpu_perf(["model=megatron_1t", f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads((out / "perf.json").read_text())
    assert doc["schema"] == "simgpu.perf/1"
    assert doc["gpus"] == 3072 and doc["gpu"] == "a100"
    assert 0 < doc["mfu"] < doc["hfu"] < 1
    assert {"compute", "bubble", "tp_comm_exposed", "dp_comm_exposed"} <= set(
        doc["breakdown_seconds"])
    assert f"{doc['hardware_tflops_per_gpu']:.1f}" in proc.stdout
    assert not list(out.glob(".perf.json.*"))  # no temporary left behind


@pytest.mark.skipif(SCRIPT is None, reason="simgpu-perf console script not installed")
def test_cli_bad_preset_exits_2_without_traceback(tmp_path):
    out = tmp_path / "bad"
    proc = simgpu_perf(["model=gpt3_175b", "parallel.pp=7", "parallel.tp=5",
                        f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "parallel.pp=7" in proc.stderr and "parallel.tp=5" in proc.stderr
    assert not out.exists()


def test_unknown_gpu_type_and_missing_values_are_config_errors():
    from simgpu.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        run(compose(["gpu_type=tpu"]))
    assert info.value.problems[0].key == "gpu_type"
    with pytest.raises(ConfigError) as info:
        compose(["model=nope", "parallel.colour=1"])
    assert {p.key for p in info.value.problems} == {"model", "parallel.colour"}


def test_catalogue_override_reaches_the_model():
    base = run(compose(["model=llama3_405b"]))
    slow = run(compose(["model=llama3_405b", "gpus.h100.nvlink_gb_s=300"]))
    assert slow.breakdown["tp_comm_exposed"] > base.breakdown["tp_comm_exposed"]
