"""Report figures: labels with units, titles, legends, series, colours and the marks of
bounds (no pixel comparisons). Runs: the tiny default experiment, and
simgpu.cases.two_landlords (a tenant renting from two landlords, no failures: every number
known by hand) over 30 days, over 6 (milestones unfinished at the horizon: lower bounds)
and over 3 (the baseline unfinished: delays that cannot be measured)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matplotlib import colors as mcolors

import simgpu
from simgpu.cases import two_landlords
from simgpu.config import compose, load
from simgpu.report import ReportData
from simgpu.report import figures as F
from simgpu.run import run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # validation warnings
SWEEPS = "+scenario.sweeps={sh:{lever:share,values:[0.25,0.75]},px:{lever:price,values:[2.0]}}"


def _data(res) -> ReportData:
    return ReportData(res.plan, res.raw, res.summary)


@pytest.fixture(scope="module")
def data() -> ReportData:
    from tiny_config import TINY_OVERRIDES

    return _data(run(compose([*TINY_OVERRIDES, "sim.backend=numpy",
                              "report.daily_series=true"])))


@pytest.fixture(scope="module")
def two() -> ReportData:
    return _data(simgpu.run(load(two_landlords())))


@pytest.fixture(scope="module")
def short() -> ReportData:
    """Horizon 6 days: the roadmap's delays under withholding are lower bounds."""
    return _data(simgpu.run(load(two_landlords(horizon_days=6.0))))


@pytest.fixture(scope="module")
def unmeasured() -> ReportData:
    """Horizon 3 days: the baseline's last milestone (day 4) is unfinished."""
    return _data(simgpu.run(load(two_landlords(horizon_days=3.0))))


@pytest.fixture(scope="module")
def swept() -> ReportData:
    from tiny_config import TINY_OVERRIDES

    return _data(run(compose([*TINY_OVERRIDES, "sim.backend=numpy", SWEEPS])))


def _legend_labels(fig):
    out = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for ax in fig.get_axes():
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


def _hex(c) -> str:
    return mcolors.to_hex(c)


def _hollow(ax) -> list:
    """Markers drawn as lower bounds: hollow (white face) circles."""
    return [ln for ln in ax.get_lines() if ln.get_marker() == "o"
            and _hex(ln.get_markerfacecolor()) == "#ffffff" and len(ln.get_xdata())]


def _arrows(ax) -> int:
    return sum(1 for t in ax.texts if getattr(t, "arrow_patch", None) is not None
               and t.get_text() == "")


def _crosses(ax) -> int:
    return sum(len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_marker() == "x")


# ------------------------------------------------------------------------------ colours


def test_landlord_colours_are_keyed_by_name():
    a = F.landlord_colours(["xai", "coreweave"])
    b = F.landlord_colours(["coreweave", "xai", "xai"])
    assert a == b and len(set(a.values())) == 2
    assert a["coreweave"] == F.LANDLORD_PALETTE[0]
    many = F.landlord_colours([f"l{i:02d}" for i in range(12)])
    assert len(set(many.values())) == 12  # beyond the palette: still distinct
    neutral = {F.OWN_C, F.OTHER_C, F.ALL_C}
    assert not neutral & set(many.values())
    assert not {c for c, _ in F.VARIANT_STYLE.values()} & set(F.LANDLORD_PALETTE)


# ----------------------------------------------------------------------------- capacity


def test_capacity_stacks_owners_with_a_visible_band_and_no_lease_line(data):
    fig = F.capacity(data)
    ax, axb = fig.get_axes()
    assert "GPUs" in ax.get_ylabel() and axb.get_xlabel() == "date"
    assert "Anthropic" in ax.get_title()
    labels = _legend_labels(fig)
    assert any("SpaceX/xAI's hardware (landlord)" in s for s in labels)
    assert any("own hardware" in s for s in labels)
    band = next(s for s in labels if "P10-P90" in s)
    assert "GPUs wide" in band or "no spread" in band
    assert any("lease never existed" in s for s in labels)
    assert len(ax.get_lines()) == 2  # median total, no-lease total
    # the landlord's band in its colour, the tenant's own hardware in a neutral grey
    faces = [_hex(c.get_facecolor()[0]) for c in ax.collections[:2]]
    assert faces == [F.landlord_colours(["xai"])["xai"], F.OWN_C]
    # the spread of the total on its own axis: P10 and P90 minus the median
    cd = data.raw.cap_daily[0, :, :, data.parties("tenant")[0], :].sum(axis=2)
    p10, p50, p90 = np.percentile(cd.astype(np.float64), [10, 50, 90], axis=0)
    path = axb.collections[0].get_paths()[0].vertices[:, 1]
    assert path.min() == pytest.approx(float((p10 - p50).min()), abs=1e-6)
    assert path.max() == pytest.approx(float((p90 - p50).max()), abs=1e-6)


def test_capacity_one_band_and_one_no_lease_line_per_landlord(two):
    fig = F.capacity(two)
    ax = fig.get_axes()[0]
    col = F.landlord_colours(["l1", "l2"])
    faces = [_hex(c.get_facecolor()[0]) for c in ax.collections[:3]]
    assert faces == [col["l1"], col["l2"], F.OWN_C]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert _hex(lines["total without l1's leases (median)"].get_color()) == col["l1"]
    assert _hex(lines["total without l2's leases (median)"].get_color()) == col["l2"]
    # by hand: 80 GPUs on each landlord's pool, 40 of its own; without one landlord 120
    assert lines["total without l1's leases (median)"].get_ydata() == pytest.approx(120.0)
    assert lines["total if no landlord's lease existed (median)"].get_ydata() == \
        pytest.approx(40.0)
    assert any("no spread" in s for s in _legend_labels(fig))


def test_capacity_needs_daily_series(data):
    assert F.capacity(replace(data, raw=replace(data.raw, cap_daily=None))) is None


# ------------------------------------------------------------------------------ roadmap


def test_roadmap_has_a_bar_and_a_delay_tag_per_job_and_shown_variant(data):
    fig = F.roadmap(data)
    (ax,) = fig.get_axes()
    sel = F.gantt_variants(data)
    assert len(sel) >= 4  # baseline, no_lease, one withholding level, landlord_first
    assert len(ax.patches) == len(sel) * len(data.plan.job_names)
    assert [t.get_text().split("\n")[0] for t in ax.get_yticklabels()][:4] == [
        "frontier_1", "frontier_2", "frontier_3", "product_1"]
    assert ax.get_xlabel() == "date" and "P50" in ax.get_title()
    labels = _legend_labels(fig)
    assert "no lease at all" in labels and "50% of the lease withheld" in labels
    assert any("P10-P90" in s for s in labels)
    tags = [t.get_text() for t in ax.texts if t.get_text().endswith(("d", "n/a"))]
    jobs = data.summary["jobs"]
    want = [F._delay_tag(jobs[n]["by_variant"][data.plan.variants[vi].name]["delay_days"])
            for n in data.plan.job_names for vi in sel if vi]
    assert sorted(tags) == sorted(want)


def test_roadmap_shows_each_landlords_no_lease_in_its_colour(two):
    fig = F.roadmap(two)
    ax = fig.get_axes()[0]
    names = [two.plan.variants[i].name for i in F.gantt_variants(two)]
    assert names[-2:] == ["no_lease@l1", "no_lease@l2"]
    labels = _legend_labels(fig)
    assert {"no lease from l1", "no lease from l2", "no landlord's lease at all"} <= set(labels)
    col = F.landlord_colours(["l1", "l2"])
    faces = {_hex(p.get_facecolor()) for p in ax.patches}
    assert {col["l1"], col["l2"]} <= faces
    # by hand: without any lease m3 finishes 4 days later, without one landlord on time
    tags = [t.get_text() for t in ax.texts]
    assert tags.count("+4 d") == 2 and "±0 d" in tags  # no lease; 50 % withheld


def test_roadmap_marks_lower_bounds_and_unfinished_runs(short):
    fig = F.roadmap(short)
    ax = fig.get_axes()[0]
    tags = [t.get_text() for t in ax.texts]
    assert any(t.startswith("≥ +") for t in tags)
    assert any("lower bound" in s for s in _legend_labels(fig))
    assert any(p.get_hatch() == "//" for p in ax.patches)


# ----------------------------------------------------------------------------- leverage


def test_leverage_roadmap_and_every_milestone(data):
    fig = F.leverage(data)
    ax, axm = fig.get_axes()
    t = data.summary["tenants"]["anthropic"]
    assert "(%)" in ax.get_xlabel() and "(days)" in ax.get_ylabel()
    assert "largest delay of any" in ax.get_ylabel()
    main = [ln for ln in ax.get_lines() if "control index" in ln.get_label()]
    assert len(main) == 1 and len(main[0].get_xdata()) == len(t["leverage_curve"])
    assert F.fmt.index(t["control_index"], t["control_index_lower_bound"]) in \
        main[0].get_label()
    assert any("P10-P90" in s for s in _legend_labels(fig))
    milestones = [ln.get_label() for ln in axm.get_lines()
                  if not ln.get_label().startswith("_")]
    assert set(t["leverage_by_milestone"]) | {"roadmap (left)"} == set(milestones)
    assert ax.get_ylim()[0] <= 0.0 <= ax.get_ylim()[1]


def test_leverage_one_curve_per_landlord_beside_all(two):
    fig = F.leverage(two)
    ax = fig.get_axes()[0]
    col = F.landlord_colours(["l1", "l2"])
    curves = {ln.get_label(): ln for ln in ax.get_lines() if "control index" in ln.get_label()}
    assert set(curves) == {"every landlord together (control index 0.75)",
                           "l1 alone (control index 0.25)", "l2 alone (control index 0.25)"}
    assert _hex(curves["l1 alone (control index 0.25)"].get_color()) == col["l1"]
    assert _hex(curves["l2 alone (control index 0.25)"].get_color()) == col["l2"]
    # by hand: 50 % withheld from l1 alone delays the roadmap 2 days, all of it none
    assert list(curves["l1 alone (control index 0.25)"].get_ydata()) == \
        pytest.approx([0.0, 2.0, 0.0])
    assert list(curves["every landlord together (control index 0.75)"].get_ydata()) == \
        pytest.approx([0.0, 4.0, 4.0])
    assert not _hollow(ax)  # every history finished: no bound


def test_leverage_draws_lower_bounds_hollow_with_arrows(short):
    fig = F.leverage(short)
    ax, axm = fig.get_axes()
    t = short.summary["tenants"]["tn"]
    bounds = [c for c in t["leverage_curve"] if c["lower_bound"]]
    assert bounds  # the horizon cuts the withholding variants off
    hollow = [p for ln in _hollow(ax) if _hex(ln.get_markeredgecolor()) == F.ALL_C
              for p in ln.get_ydata()]
    assert sorted(hollow) == pytest.approx(sorted(c["delay_days_p50"] for c in bounds))
    assert _arrows(ax) >= len(bounds)
    assert "≥" in next(ln.get_label() for ln in ax.get_lines()
                       if ln.get_label().startswith("every landlord"))
    assert any(s.startswith("at least this") for s in _legend_labels(fig))
    assert _hollow(axm)  # per milestone too


def test_leverage_marks_what_cannot_be_measured(unmeasured):
    fig = F.leverage(unmeasured)
    ax, axm = fig.get_axes()
    t = unmeasured.summary["tenants"]["tn"]
    m3 = t["leverage_by_milestone"]["m3"]
    n_na = sum(1 for c in m3 if c["delay_days_p50"] is None)
    assert n_na >= 1 and _crosses(axm) >= n_na  # never drawn as 0
    assert any("cannot be measured" in s for s in _legend_labels(fig))
    assert t["control_index"] is None
    assert any("control index n/a" in x.get_text() for x in ax.texts)


# --------------------------------------------------------------------------- dependency


def test_dependency_bars_per_tenant_job_plus_total(data):
    fig = F.dependency(data)
    ax1, ax2 = fig.get_axes()
    n = sum(1 for p in data.plan.job_party if data.plan.party_role[p] == "tenant") + 1
    assert len(ax1.patches) == n and len(ax2.patches) == n
    assert "(%" in ax1.get_xlabel() and "(%" in ax2.get_xlabel()
    assert ax1.get_xlim()[0] == 0.0 and ax2.get_xlim()[0] == 0.0
    assert ax1.get_title() and ax2.get_title()
    assert _legend_labels(fig) == ["SpaceX/xAI's hardware"]
    # the per-run shares computed from the records equal the summary's
    jobs = data.summary["jobs"]
    for k, name in enumerate(n for n in data.plan.job_names
                             if jobs[n]["party"] == "anthropic"):
        want = jobs[name]["landlord_flops_share"]["p50"]
        assert ax1.patches[k].get_width() == pytest.approx(100 * want)


def test_dependency_per_landlord_and_together(two):
    fig = F.dependency(two)
    ax1, ax2 = fig.get_axes()
    col = F.landlord_colours(["l1", "l2"])
    # rows m1, m2, m3, the roadmap; bars l1, l2, every landlord together
    width = [[p.get_width() for p in ax1.patches[3 * r:3 * r + 3]] for r in range(4)]
    assert width == [pytest.approx(w) for w in
                     ([100, 0, 100], [0, 100, 100], [100, 0, 100], [50, 50, 100])]
    faces = [_hex(p.get_facecolor()) for p in ax1.patches[:3]]
    assert faces == [col["l1"], col["l2"], F.ALL_C]
    seen = [[p.get_width() for p in ax2.patches[3 * r:3 * r + 3]] for r in range(4)]
    assert seen[1] == pytest.approx([0, 100, 100]) and seen[3] == pytest.approx([50, 50, 100])
    assert "every landlord's hardware together" in _legend_labels(fig)


# -------------------------------------------------------------------------- reliability


def test_reliability_by_cause_and_ettr_from_zero(data):
    fig = F.reliability(data)
    ax1, ax2 = fig.get_axes()
    assert "count" in ax1.get_xlabel() and "(%)" in ax2.get_xlabel()
    labels = _legend_labels(fig)
    assert any(s.startswith(("node:", "outage:", "all causes")) for s in labels)
    assert len(ax2.patches) == len(data.plan.job_names)
    assert ax2.get_xlim()[0] == 0.0  # not a range that starts where the bars do
    texts = [t.get_text() for t in ax2.texts]
    assert all(t.endswith("%") for t in texts) and len(texts) == len(data.plan.job_names)


# -------------------------------------------------------------------------------- money


def test_money_one_line_per_variant_and_prices_per_lease(data):
    fig = F.money(data)
    ax1, ax2 = fig.get_axes()
    assert len(ax1.get_lines()) == len(data.plan.variants)
    assert "US$" in ax1.get_ylabel() and ax1.get_xlabel() == "date"
    assert "US$ per" in ax2.get_ylabel() and "GPU-hour" in ax2.get_ylabel()
    labels = _legend_labels(fig)
    assert "baseline (the configured story)" in labels
    assert "paid to SpaceX/xAI (baseline)" in labels
    assert any("(= no lease at all)" in s for s in labels)  # 100 % withheld pays nothing
    assert [t.get_text().split("\n")[0] for t in ax2.get_xticklabels()] == ["colossus_one"]
    assert ax2.get_ylim()[0] == 0.0
    le = data.summary["leases"]["colossus_one"]
    medians = [t.get_text() for t in ax2.texts]
    for key in ("effective_usd_per_gpu_hour", "usd_per_gpu_hour_used"):
        assert f"${le[key]['p50']:,.2f}" in medians


def test_money_per_landlord(two):
    fig = F.money(two)
    ax1, ax2 = fig.get_axes()
    col = F.landlord_colours(["l1", "l2"])
    assert [_hex(c.get_facecolor()[0]) for c in ax1.collections[:2]] == [col["l1"], col["l2"]]
    assert "million US$" in ax1.get_ylabel()
    # all-landlord counterfactuals only; each lease's points in its landlord's colour
    assert len(ax1.get_lines()) == sum(1 for v in two.plan.variants if not v.landlord)
    pts = [ln for ln in ax2.get_lines() if ln.get_marker() == "o"]
    assert {_hex(ln.get_markeredgecolor()) for ln in pts} == {col["l1"], col["l2"]}
    # by hand: $720,000 for 57,600 GPU-hours delivered, of which 3,840 used
    assert {t.get_text() for t in ax2.texts} == {"$12.50", "$187.50"}


# ------------------------------------------------------------------------------- sweeps


def test_sweeps_figure_only_with_sweeps(data):
    assert F.sweeps(data) is None


def test_sweeps_lever_against_delay_dependency_and_price(swept):
    fig = F.sweeps(swept)
    axs = fig.get_axes()
    assert len(axs) == 6  # two sweeps, three panels each
    sw = swept.summary["sweeps"]
    for row, (name, spec) in enumerate(sw.items()):
        a1, a2, a3 = axs[3 * row:3 * row + 3]
        assert name in a1.get_title()
        assert "days" in a1.get_ylabel() and "(%)" in a2.get_ylabel()
        assert "US$" in a3.get_ylabel()
        assert a2.get_ylim() == (0.0, 102.0) and a3.get_ylim()[0] == 0.0
        assert a1.get_ylim()[0] <= 0.0
        med = next(ln for ln in a1.get_lines() if ln.get_label() == "Anthropic")
        scale = 100.0 if spec["lever"] == "share" else 1.0
        assert list(med.get_xdata()) == pytest.approx([p["value"] * scale
                                                       for p in spec["points"]])
        want = [p["tenants"]["anthropic"]["delay_days"]["p50"] for p in spec["points"]]
        got = list(med.get_ydata()) + [y for ln in _hollow(a1) for y in ln.get_ydata()]
        assert sorted(got) == pytest.approx(sorted(w for w in want if w is not None))
        stars = [ln for ln in a2.get_lines() if ln.get_marker() == "*"]
        base = swept.summary["tenants"]["anthropic"]["dependency_share"]["p50"]
        assert len(stars) == 1 and stars[0].get_ydata()[0] == pytest.approx(100 * base)
        assert stars[0].get_xdata()[0] == pytest.approx(
            {"share": 100.0, "price": 1.0}[spec["lever"]])
    assert "share of the pool leased (%)" in axs[0].get_xlabel() or \
        "share of the pool leased (%)" in axs[3].get_xlabel()
    assert any("baseline" in s for s in _legend_labels(fig))


def test_every_figure_has_a_title(data, two):
    for d in (data, two):
        for stem, _caption, func in F.FIGURES:
            fig = func(d)
            if fig is None:
                assert stem in F.OPTIONAL or stem == "capacity"
                continue
            assert fig.get_suptitle() or all(ax.get_title() for ax in fig.get_axes())
