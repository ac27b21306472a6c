"""The engine's speed comparison against a git revision (``benchmarks/bench_engine.py
--compare-rev``): a smoke run against HEAD on one replica for one day."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_engine.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_engine", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def git_head() -> str:
    if shutil.which("git") is None:
        pytest.skip("git is not on the PATH")
    proc = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"not a git checkout: {proc.stderr.strip()}")
    return proc.stdout.strip()


def test_compare_rev_times_both_engines_and_checks_their_results(git_head, tmp_path):
    bench = _bench()
    data, path = bench.compare_rev("HEAD", rounds=2, replicas=1, horizon_days=1.0,
                                   step_hours=None, out_dir=tmp_path)
    assert path.parent == tmp_path and path.name.startswith("bench_numpy_speed_")
    assert json.loads(path.read_text()) == json.loads(json.dumps(data))
    assert data["revisions"]["reference"] == git_head
    assert data["order"] == "RCCR" and data["scenario"]["n_steps"] == 24
    assert len(data["reference"]["wall_s"]) == len(data["current"]["wall_s"]) == 2
    assert data["speedup_median"] > 0 and data["scenario"]["histories"] == \
        len(data["scenario"]["variants"])
    # the working tree's engine is HEAD's unless simgpu/ has uncommitted changes
    if not data["revisions"]["current_simgpu_modified"]:
        assert data["bit_identical"] and data["differing_fields"] == []


def test_the_revisions_engine_is_imported_beside_the_working_trees(git_head):
    bench = _bench()
    ref, sha = bench.engine_at("HEAD")
    from simgpu.engine import numpy_engine

    assert sha == git_head
    assert ref.__name__ == f"simgpu_rev_{sha[:12]}.engine.numpy_engine"
    assert ref is not numpy_engine and ref.simulate is not numpy_engine.simulate
    assert Path(ref.__file__).parents[2] != Path(numpy_engine.__file__).parents[2]


def test_differences_names_each_field_that_differs(git_head):
    from simgpu.cases import kernel_mix
    from simgpu.config import load
    from simgpu.engine import compile_plan, simulate

    bench = _bench()
    plan = compile_plan(load(kernel_mix(horizon_days=1.0)))
    a, b = simulate(plan, 0, 1), simulate(plan, 0, 1)
    assert bench._differences(a, b) == []
    b.job_lost_flops = -b.job_lost_flops  # signs flip (-0.0 too): bits, not values
    b.pool_outages = b.pool_outages.astype(np.int32)
    assert bench._differences(a, b) == ["job_lost_flops", "pool_outages"]



def test_the_identity_check_covers_every_shipped_experiment():
    bench = _bench()
    names = bench.shipped_experiments()
    assert "colossus_lease" in names and len(names) >= 5
    cases = bench.identity_cases()
    for e in names:
        assert f"{e}/hourly-15d" in cases and f"{e}/daily-full" in cases
    assert "kernel_mix" in cases and "random_config(11)" in cases
