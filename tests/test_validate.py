"""``python -m simgpu.validate``: a quick run writes every section of the report, every row
meets its stated goal, and the JSON has the same rows. Only the quick mode runs here (about
20 s); the full run regenerates docs/validation.md by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from simgpu import validate
from simgpu.validate import CHECKS, Goal, main, make_row, skipped_row

SECTIONS = [
    "# Validation",
    "## 1. Random numbers",
    "## 2. Hand-computed cases (exact)",
    "## 3. Closed forms",
    "## 4. Against the discrete-event reference",
    "### Convergence as the step shrinks",
    "### Benchmark at full scale",
    "## 5. Invariants",
    "## 6. Published training runs",
    "### Llama 3 405B pre-training",
    "### Throughput model",
    "## 7. Not yet validated",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[int, str, dict]:
    out = tmp_path_factory.mktemp("validate")
    md, js = out / "validation.md", out / "validation.json"
    rc = main(["--quick", "--out", str(md), "--json", str(js)])
    return rc, md.read_text(), json.loads(js.read_text())


def _rows(doc: dict) -> dict[str, dict]:
    return {r["id"]: r for r in doc["rows"]}


def test_quick_run_writes_every_section(quick_run):
    rc, text, doc = quick_run
    assert rc == 0
    for head in SECTIONS:
        assert head in text, head
    assert "do not edit by hand" in text
    assert "python -m simgpu.validate --quick" in text
    assert "Quick mode" in text
    assert doc["schema"] == "simgpu.validation/1"
    meta = doc["meta"]
    assert meta["mode"] == "quick" and meta["cpu_count"] >= 1
    assert {"numpy", "python", "simgpu"} <= set(meta["versions"])
    # one markdown table line per JSON row (each id's check text appears in the file)
    assert len(doc["rows"]) >= 15
    for r in doc["rows"]:
        assert r["check"].replace("|", "\\|") in text, r["id"]


def test_every_check_ran_and_every_goal_is_met(quick_run):
    _, _, doc = quick_run
    rows = doc["rows"]
    assert not [r for r in rows if r["status"] == "error"]
    missed = [(r["id"], r["goal"], r["error_rel"], r["error_se"]) for r in rows
              if r["goal_met"] is False]
    assert not missed, missed
    # the core checks cannot be skipped: they need nothing but the engine and the DES
    core = {"closed_forms", "des", "convergence"}
    assert all(r["status"] == "ok" for r in rows if r["section"] in core)
    sections = {r["section"] for r in rows}
    assert {c.section for c in CHECKS} <= sections


def test_headline_rows_within_their_goals(quick_run):
    _, _, doc = quick_run
    rows = _rows(doc)
    poisson = rows["poisson_llama3_rate"]
    assert poisson["reference"] == pytest.approx(3.79e-3 * 2048 * 54)
    assert abs(poisson["error_se"]) < 3.0
    opt = rows["optimum_interval"]
    assert abs(opt["error_rel"]) < 0.10
    assert opt["reference"] == pytest.approx(0.4145, abs=1e-4)
    spare = rows["ettr_daly_spare_pool"]
    assert abs(spare["simgpu"] - spare["reference"]) < 3 * spare["simgpu_se"] + 2e-3
    assert rows["ettr_first_order"]["reference"] == pytest.approx(0.838, abs=1e-3)
    for key in ("des_lone_job_engine", "des_lone_job_des"):
        assert rows[key]["error_rel"] == pytest.approx(0.0, abs=1e-9)
    for r in doc["rows"]:
        if r["section"] in ("des", "convergence") and r["goal_kind"] == "se":
            assert abs(r["error_se"]) <= 3.0, r["id"]


def test_optional_rows_are_present_or_skipped_with_a_note(quick_run):
    _, _, doc = quick_run
    for section in ("llama3", "perf", "benchmark"):
        rows = [r for r in doc["rows"] if r["section"] == section]
        assert rows, section
        for r in rows:
            assert r["status"] in ("ok", "skipped")
            if r["status"] == "skipped":
                assert r["note"], r["id"]


def test_json_values_are_finite_or_null(quick_run):
    _, _, doc = quick_run
    for r in doc["rows"]:
        for key in ("reference", "simgpu", "reference_se", "simgpu_se", "error_rel",
                    "error_se"):
            assert r[key] is None or math.isfinite(r[key]), (r["id"], key)


def test_missing_benchmark_is_a_skipped_row(tmp_path: Path):
    md = tmp_path / "v.md"
    rc = main(["--only", "benchmark", "--bench", str(tmp_path / "none"), "--out", str(md)])
    assert rc == 0
    assert "skipped: no bench_engine_*.json" in md.read_text()


def test_make_row_errors_and_goals():
    r = make_row(id="x", check="c", source="s", where="w", reference=100.0, simgpu=103.0,
                 simgpu_se=1.0, reference_se=0.0, goal=Goal("se", 3.0))
    assert r["error_rel"] == pytest.approx(0.03)
    assert r["error_se"] == pytest.approx(3.0)
    assert r["goal_met"] is True
    r = make_row(id="x", check="c", source="s", where="w", reference=100.0, simgpu=104.0,
                 simgpu_se=1.0, goal=Goal("se", 3.0))
    assert r["goal_met"] is False
    r = make_row(id="x", check="c", source="s", where="w", reference=0.4, simgpu=0.43,
                 goal=Goal("rel", 0.10))
    assert r["error_se"] is None and r["goal_met"] is True
    assert make_row(id="x", check="c", source="s", where="w", reference=0.9, simgpu=0.92,
                    goal=Goal("above", 0.9))["goal_met"] is True
    s = skipped_row("y", "c", "s", "w", "not yet")
    assert s["status"] == "skipped" and s["goal_met"] is None
    assert "skipped: not yet" in validate.table([{**s, "section": "perf"}])


def test_check_ids_are_unique():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))


@pytest.mark.slow
def test_full_validation_meets_every_goal(tmp_path: Path):
    """The full run (about a minute on 2 cores; `pytest -m slow`): every goal met."""
    md, js = tmp_path / "validation.md", tmp_path / "validation.json"
    assert main(["--out", str(md), "--json", str(js)]) == 0
    doc = json.loads(js.read_text())
    missed = [r["id"] for r in doc["rows"] if r["goal_met"] is False]
    failed = [r["id"] for r in doc["rows"] if r.get("status") == "error"]
    assert not missed and not failed, (missed, failed)
