"""``python -m simgpu.validate``: a quick run writes every section of the report, every row
has a class and misses its goal only where the miss is a known, explained discrepancy;
the committed docs/validation.md is current (its source digest matches the sources); the
full run (slow) misses exactly the known discrepancies, with goals that detect a 1-3 %
bias."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from simgpu import validate
from simgpu.validate import (
    CHECKS,
    CLASSES,
    KNOWN_DISCREPANCIES,
    Goal,
    detectable,
    main,
    make_row,
    skipped_row,
    source_digest,
    stale_sources,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "validation.md"

SECTIONS = [
    "# Validation",
    "## 1. Random numbers",
    "## 2. Hand-computed cases (exact)",
    "## 3. Closed forms",
    "## 4. Against the discrete-event reference",
    "### Counterfactual variants",
    "### Convergence as the step shrinks, and preemptions",
    "### Benchmark at full scale",
    "### What the comparisons found",
    "## 5. Invariants",
    "## 6. Published training runs",
    "### Llama 3 405B pre-training",
    "### Failure rates of other published clusters and runs (held out)",
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


@pytest.mark.slow  # the quick validation run: about 25 s on 2 cores
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
    if validate._is_checkout(validate.REPO_ROOT):  # an installed package has no sources
        assert meta["source_digest"] and meta["source_files"]
        assert f"<!-- sources sha256:{meta['source_digest']} -->" in text
    else:
        assert meta["source_digest"] is None
    # one summary line per class, and the class column
    for c in CLASSES:
        assert f"- **{CLASSES[c]}**:" in text
    assert "| check | class | source |" in text
    assert len(doc["rows"]) >= 30
    for r in doc["rows"]:
        assert r["check"].replace("|", "\\|") in text, r["id"]


@pytest.mark.slow  # the quick validation run: about 25 s on 2 cores
def test_every_row_has_a_class_and_misses_only_known_discrepancies(quick_run):
    _, _, doc = quick_run
    rows = doc["rows"]
    assert all(r["cls"] in CLASSES for r in rows)
    assert not [r for r in rows if r["status"] == "error"]
    unexplained = [(r["id"], r["goal"], r["error_rel"], r["error_se"]) for r in rows
                   if r["goal_met"] is False and r["id"] not in KNOWN_DISCREPANCIES]
    assert not unexplained, unexplained
    for r in rows:
        assert (r["known"] != "") == (r["id"] in KNOWN_DISCREPANCIES), r["id"]
    # the core checks cannot be skipped: they need nothing but the engine and the DES
    core = {"closed_forms", "des", "des_variants", "convergence"}
    assert all(r["status"] == "ok" for r in rows if r["section"] in core)
    sections = {r["section"] for r in rows}
    assert {c.section for c in CHECKS} <= sections


@pytest.mark.slow  # the quick validation run: about 25 s on 2 cores
def test_classes(quick_run):
    _, _, doc = quick_run
    rows = doc["rows"]
    # the Llama 3 preset's rows agree by construction: calibration, never validation
    assert {r["cls"] for r in rows if r["section"] == "llama3"} == {"calibration"}
    # engine against reference and closed forms: consistency
    assert {r["cls"] for r in rows if r["section"] in
            ("closed_forms", "des", "des_variants", "convergence", "benchmark")} \
        == {"consistency"}
    for r in rows:
        if r["section"] == "perf" and "calibration row" in (r["note"] or ""):
            assert r["cls"] == "calibration", r["id"]


@pytest.mark.slow  # the quick validation run: about 25 s on 2 cores
def test_headline_rows_within_their_goals(quick_run):
    _, _, doc = quick_run
    rows = _rows(doc)
    poisson = rows["poisson_llama3_rate"]
    assert poisson["reference"] == pytest.approx(3.79e-3 * 2048 * 54)
    assert abs(poisson["error_se"]) < 3.0
    opt = rows["optimum_interval"]
    assert opt["reference"] == pytest.approx(0.41452, abs=1e-4)  # the exact maximiser
    assert opt["goal_kind"] == "se"
    # the first-order formula is compared with its second-order expansion
    assert rows["ettr_first_order"]["reference"] == pytest.approx(0.8470, abs=2e-4)
    assert rows["ettr_first_order"]["goal_kind"] == "se"
    spare = rows["ettr_daly_spare_pool"]
    assert abs(spare["simgpu"] - spare["reference"]) < 3 * spare["simgpu_se"] + 2e-3
    for key in ("des_lone_job_engine", "des_lone_job_des"):
        assert rows[key]["error_rel"] == pytest.approx(0.0, abs=1e-9)
    assert rows["levers_paid"]["goal_met"]
    assert rows["deterministic_hours"]["goal_met"]
    assert rows["non_renew_action"]["goal_met"]  # found by the reference, fixed
    assert rows["capacity_1h_preemptions"]["simgpu"] < rows["capacity_1h_preemptions"][
        "reference"]


@pytest.mark.slow  # the quick validation run: about 25 s on 2 cores
def test_optional_rows_are_present_or_skipped_with_a_note(quick_run):
    _, _, doc = quick_run
    for section in ("llama3", "perf", "benchmark"):
        rows = [r for r in doc["rows"] if r["section"] == section]
        assert rows, section
        for r in rows:
            assert r["status"] in ("ok", "skipped", "stale")
            if r["status"] != "ok":
                assert r["note"], r["id"]


@pytest.mark.slow  # the quick validation run: about 25 s on 2 cores
def test_json_values_are_finite_or_null(quick_run):
    _, _, doc = quick_run
    for r in doc["rows"]:
        for key in ("reference", "simgpu", "reference_se", "simgpu_se", "error_rel",
                    "error_se", "detectable_rel"):
            assert r[key] is None or math.isfinite(r[key]), (r["id"], key)


def test_missing_benchmark_is_a_skipped_row(tmp_path: Path):
    md = tmp_path / "v.md"
    rc = main(["--only", "benchmark", "--bench", str(tmp_path / "none"), "--out", str(md)])
    assert rc == 0
    assert "skipped: no bench_engine_*.json" in md.read_text()


def test_stale_benchmark_is_not_judged(tmp_path: Path):
    if not validate._is_checkout(validate.REPO_ROOT):
        pytest.skip("staleness is judged against a source checkout; simgpu is installed")
    bench = tmp_path / "bench_engine_20260101T000000Z.json"
    stat = {"engine": {"mean": 10.0, "se": 1.0, "n": 4}, "des": {"mean": 99.0, "se": 1.0,
                                                                  "n": 4}}
    bench.write_text(json.dumps({
        "source_digest": "0" * 64, "scenario": {"horizon_days": 90, "step_hours": 1.0},
        "engine": {"histories_per_s": 10.0}, "des": {"histories_per_s": 1.0},
        "agreement": {"baseline": {"frontier_1": {"interruptions": stat}}}}))
    rows = validate.benchmark(validate.Context(quick=True, bench=bench))
    assert rows and all(r["status"] == "stale" and r["goal_met"] is None for r in rows)
    assert "STALE" in rows[-1]["note"]
    summary = validate.class_summary([{**r, "cls": "consistency"} for r in rows])
    assert summary["consistency"]["not_judged"] == len(rows)


def test_a_ratio_goal_holds_either_way():
    assert Goal("ratio", 1.5).met({"error_se": None, "error_rel": None, "simgpu": 3.0,
                                   "reference": 2.0}) is True
    assert Goal("ratio", 1.5).met({"error_se": None, "error_rel": None, "simgpu": 2.0,
                                   "reference": 3.1}) is False
    assert Goal("ratio", 1.5).met({"error_se": None, "error_rel": None, "simgpu": None,
                                   "reference": 3.1}) is None


def test_published_failure_rates_against_the_preset_of_their_kind():
    """Each published rate is compared with the preset of its kind of cluster (flagship,
    typical, new build), the flagship's ratio beside it; a row a preset was fitted on is a
    calibration row, never called out of sample."""
    rows = {r["id"]: r for r in validate.reliability_published(validate.Context(quick=True))}
    assert len(rows) >= 8
    presets = validate.RELIABILITY_PRESETS
    assert set(presets) == {"flagship", "typical", "new_build"}
    fitted = {rid for p in presets.values() for rid in validate.PRESET_FITTED_ROWS[p]}
    for pr in validate.RELIABILITY_PUBLISHED:
        r = rows[pr.id]
        preset = presets[pr.kind]
        assert r["where"] == f"`conf/reliability/{preset}.yaml`"
        want = "calibration" if pr.id in validate.PRESET_FITTED_ROWS[preset] else "validation"
        assert r["cls"] == want, pr.id
        assert f"flagship `{presets['flagship']}` x" in r["note"], pr.id
        if r["cls"] == "validation":
            assert "held out" in r["note"] or "not out of source" in r["note"], pr.id
    assert {"rel_rsc1_fleet", "rel_opt175b"} <= fitted
    # the typical preset (6.50) for a mature cluster, the flagship (3.79) beside it
    assert rows["rel_crusoe_h200"]["simgpu"] == pytest.approx(6.50, abs=0.01)
    assert "flagship `hopper` x0.44" in rows["rel_crusoe_h200"]["note"]
    assert rows["rel_fthsdp_98k"]["error_rel"] == pytest.approx(0.0, abs=0.01)
    # a new build over OPT's 56 days from age 0: 6.50 x (1 + 2 x 90/56 (1 - e^-56/90))
    opt = 6.5005 * (1.0 + 2.0 * 90.0 / 56.0 * (1.0 - math.exp(-56.0 / 90.0)))
    assert rows["rel_opt175b"]["simgpu"] == pytest.approx(opt, rel=1e-3)
    missed = {k for k, r in rows.items() if r["goal_met"] is False}
    assert missed <= set(KNOWN_DISCREPANCIES)
    assert missed == {"rel_rsc1_1node", "rel_rsc1_128node"}


def test_published_ettr_runs_the_engine_with_the_sources_inputs():
    """The ETTR rows run the engine (a quick run here: 8 replicas) with each run's inputs;
    validation rows carry the flagship's ETTR; the bounds are met."""
    rows = {r["id"]: r for r in validate.ettr_published(validate.Context(quick=True))}
    assert set(rows) == {e.id for e in validate.ETTR_PUBLISHED}
    byte = rows["ettr_byterobust_9600"]
    assert byte["cls"] == "validation" and byte["goal_kind"] == "rel"
    assert byte["detectable_rel"] <= 0.03  # a goal a 1-3 % bias fails
    assert abs(byte["error_rel"]) < 0.02
    flag = float(re.search(r"flagship `hopper`: ([0-9.]+)", byte["note"]).group(1))
    assert flag > byte["simgpu"]  # fewer failures, more useful time
    ft = rows["ettr_fthsdp_98k_sync"]
    assert ft["goal_met"] and 0.44 < ft["simgpu"] < 0.7
    assert re.search(r"blocking write of \d+ s", ft["note"])
    rsc = rows["ettr_rsc1_512node"]
    assert rsc["cls"] == "calibration"  # the same paper's estimate from the fitted rate


def test_full_run_labels_the_reliability_rows():
    """The full run's reliability rows (docs/validation.json) carry the classes the check
    gives now; a report generated before the presets by kind has none of the new rows."""
    doc = json.loads(DOC.with_suffix(".json").read_text())
    rows = _rows(doc)
    if "rel_rsc1_fleet" not in rows:
        pytest.skip("docs/validation.json predates the presets by kind: regenerate it")
    now = {r["id"]: r["cls"] for r in
           validate.reliability_published(validate.Context(quick=True))}
    now |= {e.id: e.cls for e in validate.ETTR_PUBLISHED}
    for rid, cls in now.items():
        assert rows[rid]["cls"] == cls, rid
        assert rows[rid]["section"] == "reliability", rid


def test_make_row_errors_goals_and_power():
    r = make_row(id="x", check="c", source="s", where="w", reference=100.0, simgpu=103.0,
                 simgpu_se=1.0, reference_se=0.0, goal=Goal("se", 3.0))
    assert r["error_rel"] == pytest.approx(0.03)
    assert r["error_se"] == pytest.approx(3.0)
    assert r["goal_met"] is True
    assert r["detectable_rel"] == pytest.approx((3.0 + 0.8416) / 100.0)
    r = make_row(id="x", check="c", source="s", where="w", reference=100.0, simgpu=104.0,
                 simgpu_se=1.0, goal=Goal("se", 3.0))
    assert r["goal_met"] is False
    r = make_row(id="x", check="c", source="s", where="w", reference=0.4, simgpu=0.43,
                 goal=Goal("rel", 0.10))
    assert r["error_se"] is None and r["goal_met"] is True and r["detectable_rel"] == 0.10
    assert make_row(id="x", check="c", source="s", where="w", reference=0.9, simgpu=0.92,
                    goal=Goal("above", 0.9))["goal_met"] is True
    assert make_row(id="x", check="c", source="s", where="w", reference=0.0, simgpu=0.04,
                    goal=Goal("absdiff", 0.05))["goal_met"] is True
    with pytest.raises(ValueError, match="class"):
        make_row(id="x", check="c", source="s", where="w", reference=1.0, simgpu=1.0,
                 cls="validated")
    s = skipped_row("y", "c", "s", "w", "not yet")
    assert s["status"] == "skipped" and s["goal_met"] is None
    assert "skipped: not yet" in validate.table([{**s, "section": "perf"}])
    assert detectable(Goal("se", 3.0, abs=0.5), 1.0, 50.0) == pytest.approx(
        (3.8416 + 0.5) / 50.0)
    assert detectable(Goal("none"), 1.0, 50.0) is None


def test_source_digest_and_staleness(tmp_path: Path):
    (tmp_path / "simgpu" / "engine").mkdir(parents=True)
    (tmp_path / "simgpu" / "engine" / "plan.py").write_text("a = 1\n")
    (tmp_path / "simgpu" / "cases.py").write_text("b = 2\n")
    digest, files = source_digest(tmp_path)
    assert set(files) == {"simgpu/engine/plan.py", "simgpu/cases.py"}
    text = (f"<!-- sources sha256:{digest} -->\n<!-- source files\n"
            + "\n".join(f"{p} {h}" for p, h in files.items()) + "\n-->\n")
    assert stale_sources(text, tmp_path) == []
    (tmp_path / "simgpu" / "cases.py").write_text("b = 3\n")
    (tmp_path / "simgpu" / "validate.py").write_text("")
    assert stale_sources(text, tmp_path) == ["changed: simgpu/cases.py",
                                             "added: simgpu/validate.py"]
    assert stale_sources("no digest", tmp_path)


def test_validation_doc_is_current():
    """docs/validation.md was generated, in full mode, from the current sources (and a
    benchmark that ran on them): regenerate it with `python -m simgpu.validate` after
    changing anything its numbers depend on (simgpu.validate.RESULT_SOURCES)."""
    text = DOC.read_text()
    why = stale_sources(text, ROOT)
    assert not why, ("docs/validation.md is stale; regenerate it with "
                     "`python -m simgpu.validate`: " + "; ".join(why))
    assert "(full mode," in text and "Quick mode" not in text
    assert "STALE:" not in text, "the benchmark is stale: re-run benchmarks/bench_engine.py"
    assert "failed to run" not in text and "| error: " not in text


def test_check_ids_are_unique():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))


def test_full_validation_misses_only_known_discrepancies():
    """The full run's rows (docs/validation.json, written with docs/validation.md by
    `python -m simgpu.validate`, current with the sources: test_validation_doc_is_current):
    the goals missed are exactly the known discrepancies, and the engine-against-reference
    goals detect a bias of 1-3 % in the quantities that matter."""
    doc = json.loads(DOC.with_suffix(".json").read_text())
    assert doc["meta"]["mode"] == "full"
    assert doc["meta"]["source_digest"] == stale_digest(DOC.read_text())
    rows = _rows(doc)
    missed = {r["id"] for r in doc["rows"] if r["goal_met"] is False}
    failed = [r["id"] for r in doc["rows"] if r.get("status") == "error"]
    assert not failed, failed
    assert missed == set(KNOWN_DISCREPANCIES), (
        "missed goals differ from the known discrepancies: unexplained "
        f"{sorted(missed - set(KNOWN_DISCREPANCIES))}, now met (remove them from "
        f"KNOWN_DISCREPANCIES) {sorted(set(KNOWN_DISCREPANCIES) - missed)}")
    for key in ("des_single_job_finish", "des_single_job_ettr", "des_single_job_interruptions",
                "des_single_job_node_failures", "des_roadmap_finish", "des_roadmap_ettr",
                "levers_finish", "levers_delivered", "step_finish", "step_ettr",
                "ettr_daly_llama3", "poisson_llama3_rate", "optimum_interval"):
        assert rows[key]["detectable_rel"] <= 0.03, (key, rows[key]["detectable_rel"])
    opt = rows["optimum_interval"]
    young = float(validate.young_interval(validate.WRITE_H, validate.MTBF_H))
    assert abs(young - opt["reference"]) > (3.0 + 0.8416) * opt["simgpu_se"]


def stale_digest(text: str) -> str | None:
    m = re.search(r"<!-- sources sha256:([0-9a-f]{64}) -->", text)
    return m and m.group(1)
