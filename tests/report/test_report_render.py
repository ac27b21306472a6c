"""Rendering a run's report, and re-rendering it from the saved directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simgpu.config import compose
from simgpu.report import render, render_results
from simgpu.run import run

FILES = {"capacity.png", "roadmap.png", "leverage.png", "dependency.png", "reliability.png",
         "money.png", "gpu_hours.png", "report.pdf", "report.md"}
RUN_FILES = {"config.yaml", "raw.npz", "run.json", "summary.json"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from tiny_config import TINY_OVERRIDES

    out = tmp_path_factory.mktemp("run")
    res = run(compose([*TINY_OVERRIDES, "sim.backend=numpy", "report.daily_series=true"]))
    res.write(out)
    written = render_results(res, out)
    return res, out, written


def test_render_writes_every_format(saved):
    # its speed is measured in benchmarks/bench_cpu.py, not asserted here (a time limit
    # in a unit test fails at random on a loaded 2-core CI machine)
    _res, out, written = saved
    assert {p.name for p in written} == FILES
    assert {p.name for p in out.iterdir()} == FILES | RUN_FILES  # no temporary files left
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    for p in written:
        if p.suffix == ".png":
            assert p.read_bytes().startswith(b"\x89PNG")


def test_markdown_embeds_pngs_and_states_headlines(saved):
    _res, out, _w = saved
    md = (out / "report.md").read_text()
    for name in FILES - {"report.md", "report.pdf"}:
        assert f"]({name})" in md
    assert "In the median of 2 simulated histories" in md
    assert "of Anthropic's training compute ran on SpaceX/xAI's hardware" in md
    assert "If the lease had never existed" in md
    assert "control index" in md


def test_rerender_from_disk_is_identical(saved, tmp_path):
    _res, out, written = saved
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in RUN_FILES:
        shutil.copy(out / name, copy / name)
    again = render(copy)
    assert [p.name for p in again] == [p.name for p in written]
    assert (copy / "report.md").read_text() == (out / "report.md").read_text()


def test_markdown_leaves_out_the_sweeps_figure_of_a_run_without_sweeps(saved):
    _res, out, _w = saved
    md = (out / "report.md").read_text()
    assert "sweeps.png" not in md and "In-batch sweeps" not in md


def test_in_batch_sweeps_are_drawn_and_embedded(tmp_path):
    from tiny_config import TINY_OVERRIDES

    res = run(compose([*TINY_OVERRIDES, "sim.backend=numpy",
                       "+scenario.sweeps={sh:{lever:share,values:[0.25,0.75]}}"]))
    written = render_results(res, tmp_path, ["png", "markdown"])
    assert "sweeps.png" in {p.name for p in written}
    md = (tmp_path / "report.md").read_text()
    assert "](sweeps.png)" in md and "### In-batch sweeps" in md


def test_formats_subset_and_missing_daily_series(tmp_path):
    from tiny_config import TINY_OVERRIDES

    res = run(compose([*TINY_OVERRIDES, "sim.backend=numpy"]))  # no daily series
    res.write(tmp_path)
    written = render_results(res, tmp_path, ["markdown"])
    assert [p.name for p in written] == ["report.md"]
    md = (tmp_path / "report.md").read_text()
    assert "Not drawn" in md and "report.daily_series" in md
    assert "](roadmap.png)" not in md  # no PNG written, none embedded


SCRIPT = shutil.which("simgpu-report", path=str(Path(sys.executable).parent)) or shutil.which(
    "simgpu-report")


@pytest.mark.skipif(SCRIPT is None, reason="simgpu-report console script not installed")
def test_cli_on_empty_dir_exits_2_and_writes_nothing(tmp_path):
    proc = subprocess.run([SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ})
    assert proc.returncode == 2
    assert "holds no simgpu run" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(SCRIPT is None, reason="simgpu-report console script not installed")
def test_cli_rerenders_selected_formats(saved, tmp_path):
    _res, out, _w = saved
    for name in RUN_FILES:
        shutil.copy(out / name, tmp_path / name)
    proc = subprocess.run([SCRIPT, str(tmp_path), "--formats", "markdown,pdf"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in tmp_path.iterdir()} == RUN_FILES | {"report.md", "report.pdf"}
    assert f"report: {tmp_path / 'report.md'}" in proc.stdout


def test_cli_bad_format_exits_2(tmp_path):
    from simgpu.report.cli import main

    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path), "--formats", "gif"])
    assert exc.value.code == 2
    assert list(tmp_path.iterdir()) == []
