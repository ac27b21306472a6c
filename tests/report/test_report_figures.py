"""Report figures: labels with units, titles, legends and series (no pixel comparisons)."""

from __future__ import annotations

import pytest

from simgpu.config import compose
from simgpu.report import ReportData
from simgpu.report import figures as F
from simgpu.run import run


@pytest.fixture(scope="module")
def data() -> ReportData:
    from tiny_config import TINY_OVERRIDES

    res = run(compose([*TINY_OVERRIDES, "sim.backend=numpy", "report.daily_series=true"]))
    return ReportData(res.plan, res.raw, res.summary)


def _texts(fig):
    axes = fig.get_axes()
    return axes, [ax.get_xlabel() for ax in axes], [ax.get_ylabel() for ax in axes]


def _legend_labels(fig):
    out = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for ax in fig.get_axes():
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


def test_capacity_stacks_owners_with_band_and_no_lease_line(data):
    fig = F.capacity(data)
    (ax,), xl, yl = _texts(fig)
    assert xl == ["date"] and "GPUs" in yl[0]
    assert "Anthropic" in ax.get_title()
    labels = _legend_labels(fig)
    assert any("SpaceX/xAI hardware (landlord)" in s for s in labels)
    assert any("own hardware" in s for s in labels)
    assert any("P10-P90" in s for s in labels)
    assert any("lease never existed" in s for s in labels)
    assert len(ax.get_lines()) == 2  # median total, no-lease total


def test_capacity_needs_daily_series(data):
    from dataclasses import replace

    assert F.capacity(replace(data, raw=replace(data.raw, cap_daily=None))) is None


def test_roadmap_has_a_bar_per_job_and_shown_variant(data):
    fig = F.roadmap(data)
    (ax,) = fig.get_axes()
    nv = len(F.gantt_variants(data))
    assert nv >= 4  # baseline, no_lease, one withholding level, landlord_first
    assert len(ax.patches) == nv * len(data.plan.job_names)
    assert [t.get_text().split("\n")[0] for t in ax.get_yticklabels()][:4] == [
        "frontier_1", "frontier_2", "frontier_3", "product_1"]
    assert "date" in ax.get_xlabel() and "P50" in ax.get_xlabel()
    labels = _legend_labels(fig)
    assert "no lease at all" in labels and "50% of the lease withheld" in labels
    assert any("P10-P90" in s for s in labels)


def test_leverage_curve_title_has_control_index(data):
    fig = F.leverage(data)
    (ax,) = fig.get_axes()
    assert "control index" in ax.get_title()
    assert "(%)" in ax.get_xlabel() and "(days)" in ax.get_ylabel()
    curve = data.summary["tenants"]["anthropic"]["leverage_curve"]
    median = [ln for ln in ax.get_lines() if ln.get_label() == "median (P50)"]
    assert len(median) == 1 and len(median[0].get_xdata()) == len(curve)
    assert any("P10-P90" in s for s in _legend_labels(fig))


def test_dependency_bars_per_tenant_job_plus_total(data):
    fig = F.dependency(data)
    ax1, ax2 = fig.get_axes()
    n = sum(1 for p in data.plan.job_party if data.plan.party_role[p] == "tenant") + 1
    assert len(ax1.patches) == n and len(ax2.patches) == n
    assert "(%)" in ax1.get_xlabel() and "(%)" in ax2.get_xlabel()
    assert ax1.get_title() and ax2.get_title()
    assert len(_legend_labels(fig)) == 2


def test_reliability_by_cause_and_ettr(data):
    fig = F.reliability(data)
    ax1, ax2 = fig.get_axes()
    assert "count" in ax1.get_xlabel() and "(%)" in ax2.get_xlabel()
    labels = _legend_labels(fig)
    assert any(s.startswith(("node:", "outage:", "all causes")) for s in labels)
    assert len(ax2.patches) == len(data.plan.job_names)


def test_money_one_line_per_variant_and_price_per_lease(data):
    fig = F.money(data)
    ax1, ax2 = fig.get_axes()
    assert len(ax1.get_lines()) == len(data.plan.variants)
    assert "US$" in ax1.get_ylabel() and ax1.get_xlabel() == "date"
    assert "US$ per" in ax2.get_ylabel() and "GPU-hour" in ax2.get_ylabel()
    labels = _legend_labels(fig)
    assert "baseline (the configured story)" in labels
    assert any("(= no lease at all)" in s for s in labels)  # 100 % withheld pays nothing
    assert [t.get_text().split("\n")[0] for t in ax2.get_xticklabels()] == ["colossus_one"]


def test_every_figure_has_a_title(data):
    for _stem, _caption, func in F.FIGURES:
        fig = func(data)
        assert fig is not None
        assert fig.get_suptitle() or all(ax.get_title() for ax in fig.get_axes())
