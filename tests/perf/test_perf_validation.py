"""simgpu.perf against every published row: within ±10 %, and docs/perf.md up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from simgpu.perf import PUBLISHED, TOLERANCE, validation_rows, validation_table
from simgpu.perf.validation import TABLE_BEGIN, TABLE_END, evaluate

ROOT = Path(__file__).resolve().parents[2]


def _id(row) -> str:
    return f"{row.key} [{row.source}: {row.published:g} {row.unit}]"


@pytest.mark.parametrize("row", PUBLISHED, ids=[_id(r) for r in PUBLISHED])
def test_published_row_within_tolerance(row):
    v = evaluate(row)
    assert abs(v.error) <= TOLERANCE, (
        f"{row.source}, {row.config}: published {row.published:g} {row.unit}, "
        f"simgpu {v.simgpu:.4g} ({100 * v.error:+.1f} %)")


def test_rows_cover_the_required_sources():
    sources = " ".join(r.source for r in PUBLISHED)
    for needle in ("2104.04473 Table 1", "2402.15627", "2407.21783 Table 4"):
        assert needle in sources
    keys = {r.key for r in PUBLISHED}
    assert "megascale-12288" in keys
    assert {r.published for r in PUBLISHED if r.key.startswith("megatron21-")} >= {
        137, 138, 142, 135, 140, 148, 155, 163}


def test_rows_of_the_shared_csv_are_all_included():
    import csv

    path = ROOT.parent / "shared" / "data" / "megatron_weak_scaling.csv"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    table1 = {(r.model["hidden"], r.parallel["gpus"]): r.published
              for r in PUBLISHED if "Table 1" in r.source}
    for rec in csv.DictReader(lines):
        assert table1[(int(rec["hidden"]), int(rec["gpus"]))] == float(rec["tflops_per_gpu"])


def test_held_out_rows_exist_and_are_most_rows():
    held = [r for r in PUBLISHED if not r.calibration]
    assert len(held) > 2 * sum(r.calibration for r in PUBLISHED)


def test_docs_table_is_generated_and_current():
    doc = (ROOT / "docs" / "perf.md").read_text()
    assert TABLE_BEGIN in doc and TABLE_END in doc
    table = doc.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0].strip()
    assert table == validation_table().strip(), (
        "docs/perf.md is stale: run python -m simgpu.perf.docs docs/perf.md")


def test_validation_rows_carry_error_and_source():
    rows = validation_rows()
    assert len(rows) == len(PUBLISHED)
    d = rows[0].as_dict()
    assert {"source", "config", "published", "simgpu", "error"} <= set(d)


def test_shipped_constants_are_the_fit():
    pytest.importorskip("scipy")
    from simgpu.perf.hardware import ARCHITECTURES, CALIBRATION
    from simgpu.perf.validation import fit

    fitted = fit()
    for name, value in fitted.items():
        if name == "rms_log_error":
            assert value < 0.05
            continue
        owner, attr = name.split(".")
        shipped = getattr(CALIBRATION if owner == "calibration" else ARCHITECTURES[owner], attr)
        assert shipped == pytest.approx(value, rel=0.01), name
