"""docs/scenario-results.md: generated from runs of the shipped presets, current with the
sources, and its rows say "≥" where a value is a lower bound."""

from __future__ import annotations

from pathlib import Path

import pytest

import simgpu
from simgpu import scenario_doc
from simgpu.cases import two_landlords
from simgpu.config import load
from simgpu.validate import source_digest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "scenario-results.md"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_the_doc_is_current_and_covers_every_preset():
    """Regenerate with `python -m simgpu.scenario_doc` after changing what its numbers
    depend on (simgpu.scenario_doc.SOURCES)."""
    text = DOC.read_text()
    digest, _ = source_digest(ROOT, scenario_doc.SOURCES)
    assert f"<!-- sources sha256:{digest} -->" in text, (
        "docs/scenario-results.md is stale; regenerate it with "
        "`python -m simgpu.scenario_doc`")
    shipped = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
    assert sorted(scenario_doc.PRESETS) == shipped
    for name in shipped:
        assert f"| `{name}` |" in text, name


def test_rows_name_each_landlord_and_mark_bounds():
    cfg = two_landlords()
    res = simgpu.run(load(cfg))
    rows = scenario_doc.tenant_rows("two", res.summary)
    assert rows[0].startswith("| `two` | tn | all |")
    assert {r.split("|")[3].strip() for r in rows[1:]} == {"l1", "l2"}
    # the whole roadmap withdrawn from a 30-day horizon: a delay the horizon cuts off
    censored = [t for t in res.summary["tenants"].values()
                if (t.get("no_lease_delay_days") or {}).get("lower_bound")]
    assert bool(censored) == ("≥" in rows[0].split("|")[6])
    doc = scenario_doc.render({"two": (res.summary, {**res.facts, "total_seconds": 1.0})},
                              "0" * 64, {}, "test")
    assert "<!-- sources sha256:" + "0" * 64 + " -->" in doc
    assert "| `two` | 2 | 13 |" in doc  # replicas, variants (baseline + 4 levers x 3)
