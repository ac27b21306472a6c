"""End to end: the ``simgpu`` console script in a subprocess, in a fresh directory."""

from __future__ import annotations

import json

import pytest
import yaml
from console import needs_simgpu, simgpu

pytestmark = needs_simgpu


def _get(doc: dict, dotted: str):
    node = doc
    for k in dotted.split("."):
        assert isinstance(node, dict) and k in node, f"{dotted}: missing {k!r}"
        node = node[k]
    return node


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    from tiny_config import TINY_OVERRIDES

    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "out"
    proc = simgpu([*TINY_OVERRIDES, "sim.backend=numpy", f"hydra.run.dir={out}"], cwd=tmp)
    return tmp, out, proc


def test_good_run_exits_zero_and_prints_table(good_run):
    _tmp, out, proc = good_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("frontier_1", "frontier_2", "frontier_3", "product_1", "grok_next"):
        assert name in proc.stdout
    assert "finish day" in proc.stdout
    assert "tenant anthropic" in proc.stdout
    assert f"summary: {out / 'summary.json'}" in proc.stdout


def test_good_run_writes_summary_and_config(good_run):
    tmp, out, proc = good_run
    assert proc.returncode == 0, proc.stderr
    assert not (tmp / "outputs").exists()
    doc = json.loads((out / "summary.json").read_text())
    assert doc["schema"].startswith("simgpu.summary/")
    facts = json.loads((out / "run.json").read_text())
    assert facts["backend"] == "numpy"
    assert facts["device"] == "cpu"
    assert isinstance(facts["wall_seconds"], (int, float)) and facts["wall_seconds"] >= 0
    assert "wall_seconds" not in doc and "backend" not in doc  # summary.json is deterministic
    assert doc["replicas"] == 2
    assert doc["steps"] == 20 * 24
    for name in ("frontier_1", "frontier_2", "frontier_3", "product_1", "grok_next"):
        for q in ("mean", "p10", "p50", "p90"):
            _get(doc, f"jobs.{name}.finish_day.{q}")
        _get(doc, f"jobs.{name}.interruptions.mean")
        _get(doc, f"jobs.{name}.ettr.mean")
    assert doc["jobs"]["frontier_1"]["finish_day"]["p50"] < 20
    t = "tenants.anthropic"
    assert 0.0 <= _get(doc, f"{t}.dependency_share.mean") <= 1.0
    _get(doc, f"{t}.control_index")
    _get(doc, f"{t}.no_lease_delay_days.p50")
    curve = _get(doc, f"{t}.leverage_curve")
    assert isinstance(curve, list) and len(curve) >= 2
    for point in curve:
        assert {"withheld", "delay_days_p50"} <= set(point)
    assert [p["withheld"] for p in curve] == sorted(p["withheld"] for p in curve)
    assert _get(doc, "leases.colossus_one.effective_usd_per_gpu_hour.mean") > 0

    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["name"] == "colossus_lease"
    assert cfg["sim"]["replicas"] == 2
    assert cfg["leases"]["colossus_one"]["tenant"] == "anthropic"


BAD = [
    ("misspelled-key", ["sim.replica=2"], ["sim.replica", "did you mean 'replicas'"]),
    ("negative-count", ["pools.colossus1.nodes=-5"], ["pools.colossus1.nodes=-5",
                                                      "must be > 0"]),
    ("unknown-experiment", ["experiment=nope"], ["experiment", "nope", "colossus_lease"]),
    ("cupy-on-cpu", ["sim.backend=cupy"], ["sim.backend=cupy cannot run", "sim.backend=numpy"]),
    ("horizon-shorter-than-step", ["sim.horizon_days=0.01"],
     ["sim.horizon_days=0.01", "shorter than one step"]),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_fails_cleanly_and_writes_nothing(tmp_path, args, expected):
    if args == ["sim.backend=cupy"]:
        from simgpu.backend import probe_cuda

        if probe_cuda(0).ok:
            pytest.skip("the CuPy engine can run here")
    out = tmp_path / "out"
    proc = simgpu([*args, f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "Traceback" not in proc.stdout
    for fragment in expected:
        assert fragment in proc.stderr, proc.stderr
    assert not out.exists()
    assert not (tmp_path / "outputs").exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_input_without_run_dir_creates_no_outputs(tmp_path):
    proc = simgpu(["sim.replicas=0"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "sim.replicas=0" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
