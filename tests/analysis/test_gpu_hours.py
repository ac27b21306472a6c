"""Where a tenant's GPU-hours went (tenants.<t>.gpu_hours): the parts add up, and on a
case without failures they are known by hand (simgpu.cases.two_landlords: m1 -> m2 -> m3 of
1, 2 and 1 days on 80 GPUs, 30 days; the tenant owns one pool and rents from two)."""

from __future__ import annotations

import pytest

import simgpu
from simgpu.analysis.summary import GPU_HOURS_PARTS
from simgpu.cases import two_landlords
from simgpu.config import load

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def doc():
    return simgpu.run(load(two_landlords())).summary["tenants"]["tn"]["gpu_hours"]


def test_the_parts_add_up_to_the_usable_hours(doc):
    assert "baseline" in doc and "no_lease" in doc
    for name, d in doc.items():
        assert set(GPU_HOURS_PARTS) <= set(d)
        assert d["kept"] + d["lost"] + d["overhead"] + d["idle"] == pytest.approx(d["usable"])
        assert d["usable"] + d["withheld"] >= doc["baseline"]["usable"] - 1e-6, name
        assert 0 <= d["usable_landlord"] <= d["usable"]


def test_without_failures_only_the_work_is_held_and_the_lever_takes_the_lease(doc):
    base, none = doc["baseline"], doc["no_lease"]
    assert base["lost"] == 0 and base["overhead"] == pytest.approx(0, abs=1e-6)
    assert base["kept"] == pytest.approx(4 * 24 * 80)  # 4 days of work on 80 GPUs
    assert none["kept"] == pytest.approx(base["kept"])  # the same work, elsewhere or later
    assert none["usable_landlord"] == 0
    assert none["withheld"] == pytest.approx(base["usable_landlord"])
    assert base["withheld"] == 0


def test_the_report_draws_it(tmp_path):
    from simgpu.report.render import render_results

    res = simgpu.run(load(two_landlords()))
    render_results(res, tmp_path, formats=["png", "markdown"])
    assert (tmp_path / "gpu_hours.png").is_file()
    text = (tmp_path / "report.md").read_text()
    assert "gpu_hours.png" in text and "rolled back by failures" in text
