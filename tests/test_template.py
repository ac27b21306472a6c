"""``simgpu-new``: a commented scenario of one's own that composes and runs as written, and
the route to run it (``simgpu --config-dir DIR experiment=NAME``, in either order)."""

from __future__ import annotations

import subprocess

import pytest
from console import needs_simgpu, script, simgpu

import simgpu as sg
from simgpu.config import load
from simgpu.template import write_template

SMALL = ["sim.replicas=1", "sim.horizon_days=30", "sim.step_hours=6", "report.formats=[]",
         "pools.cloud_h100.nodes=100", "pools.lab_own.nodes=50",
         "pools.lab_own.capacity=[]", "jobs.model_a.target_gpus=400",
         "jobs.model_a.min_gpus=200", "jobs.model_a.flops=1e22",
         "jobs.model_b.target_gpus=400", "jobs.model_b.min_gpus=200",
         "jobs.model_b.flops=1e22", "jobs.model_c.target_gpus=400",
         "jobs.model_c.min_gpus=200", "jobs.model_c.flops=1e22"]


def test_the_template_composes_validates_and_runs(tmp_path):
    path = write_template("my_case", tmp_path / "conf")
    assert path == tmp_path / "conf" / "experiment" / "my_case.yaml"
    text = path.read_text()
    assert text.startswith("# @package _global_\n")
    assert "illustrative placeholder" in text
    cfg = load(sg.compose(["experiment=my_case"], config_dir=tmp_path / "conf"))
    assert cfg.name == "my_case" and set(cfg.jobs) == {"model_a", "model_b", "model_c"}
    res = sg.run(sg.compose(["experiment=my_case", *SMALL], config_dir=tmp_path / "conf"))
    assert res.summary["jobs"]["model_c"]["finished_fraction"] == 1.0


def test_the_template_never_overwrites_and_checks_the_name(tmp_path):
    write_template("x", tmp_path)
    with pytest.raises(FileExistsError):
        write_template("x", tmp_path)
    with pytest.raises(ValueError):
        write_template("../evil", tmp_path)


@pytest.mark.slow  # two runs through the command line: about 10 s on 2 cores
@needs_simgpu
def test_new_then_run_from_the_command_line_in_either_order(tmp_path):
    proc = subprocess.run([script("simgpu-new"), "mine", "--dir", "myconf"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "simgpu --config-dir myconf experiment=mine" in proc.stdout
    for i, args in enumerate((["--config-dir", "myconf", "experiment=mine"],
                              ["experiment=mine", "--config-dir=myconf"])):
        run = simgpu([*args, *SMALL, f"hydra.run.dir=out{i}"], tmp_path)
        assert run.returncode == 0, run.stderr
        assert (tmp_path / f"out{i}" / "summary.json").is_file()
    again = subprocess.run([script("simgpu-new"), "mine", "--dir", "myconf"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "exists" in again.stderr
