"""Mistakes a user made at the ``simgpu`` command line: each one clear line on stderr, exit
code 2, and nothing on disk changed; results on stdout, logs on stderr."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from console import IMPORT_CHECK, needs_simgpu, simgpu
from tiny_config import TINY_OVERRIDES

pytestmark = needs_simgpu
REPO = Path(__file__).resolve().parents[1]


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the digest of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def refused(proc, *fragments: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("simgpu: invalid configuration: 1 problem\n  - ") or \
        proc.stderr.startswith("simgpu: "), proc.stderr
    for f in fragments:
        assert f in proc.stderr, proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A directory with a finished run, and the digests of everything in it."""
    tmp = tmp_path_factory.mktemp("finished")
    out = tmp / "run"
    proc = simgpu([*TINY_OVERRIDES, "report.formats=[]", f"hydra.run.dir={out}"], tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, out, proc


def test_results_go_to_stdout_and_logs_to_stderr(finished):
    _tmp, out, proc = finished
    assert "tenant anthropic" in proc.stdout and "summary: " in proc.stdout
    assert "[simgpu" not in proc.stdout  # no log line among the results
    assert "backend auto" in proc.stderr  # the logs
    assert "backend auto" in (out / "simgpu.log").read_text()


def test_a_refused_rerun_leaves_the_finished_run_byte_identical(finished):
    tmp, out, _ = finished
    before = tree(tmp)
    for extra in ([f"hydra.run.dir={out}"],
                  [f"--config-dir={tmp}", f"hydra.run.dir={out}"]):
        proc = simgpu([*TINY_OVERRIDES, "report.formats=[]", "sim.seed=9", *extra], tmp)
        refused(proc, f"{out} already holds the results of a run")
        assert tree(tmp) == before


def test_a_yaml_syntax_error_is_one_line_and_writes_nothing(tmp_path):
    d = tmp_path / "mine" / "experiment"
    d.mkdir(parents=True)
    (d / "bad.yaml").write_text("# @package _global_\nsim:\n  replicas: [1, 2\n")
    for args in (["--config-dir", str(tmp_path / "mine"), "experiment=bad"],
                 ["experiment=bad", f"--config-dir={tmp_path / 'mine'}"]):
        proc = simgpu(args, tmp_path)
        err = refused(proc, f"{d / 'bad.yaml'}:4:1: YAML syntax error")
        assert len(err.strip().splitlines()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_printing_the_config_with_a_bad_override_uses_the_same_format(tmp_path):
    proc = simgpu(["--cfg", "job", "sim.replica=3"], tmp_path)
    refused(proc, "sim.replica='3': unknown key 'replica' in sim; did you mean 'replicas'?")
    assert proc.stdout == ""
    proc = simgpu(["--cfg", "job", "pools.colossus1.reliability.domains={}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = yaml.safe_load(proc.stdout)  # the override took effect
    assert printed["pools"]["colossus1"]["reliability"]["domains"] == {}
    assert printed["pools"]["colossus2"]["reliability"]["domains"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["regular", "editable"])
def test_the_source_tree_imports_and_composes_from_the_repository_root(where):
    """A script started at the repository root imports the source tree's simgpu, which has
    no ``conf`` subpackage: with a regular install (simulated by hiding an editable
    install's finder) and with whatever install this environment has."""
    hide = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path "
            "if 'editable' not in type(f).__module__.lower()]; " if where == "regular" else "")
    code = (hide + f"import simgpu; assert simgpu.__file__.startswith({str(REPO)!r}); "
            + IMPORT_CHECK)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "True"]
