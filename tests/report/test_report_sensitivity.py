"""The report's sensitivity analysis: the tornado figure and its table and sentences
(summary["sensitivity"], simgpu.sensitivity). Most tests draw a sensitivity document
written by hand into a fast run (simgpu.cases.two_landlords), so that every swing, bound
and missing value is known; one draws a real analysis."""

from __future__ import annotations

import copy

import pytest
from matplotlib import colors as mcolors

import simgpu
from simgpu.cases import two_landlords
from simgpu.config import load
from simgpu.report import ReportData
from simgpu.report import figures as F
from simgpu.report.data import sens_range, sens_rows

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # validation warnings


def _m(v, lb=False):
    return {"value": v, "lower_bound": lb}


def _point(delay, ci=0.2, dep=0.8, usd=2.5, delay_lb=False, last=None):
    return {"no_lease_delay_days": _m(delay, delay_lb),
            "last_milestone_no_lease_delay_days": _m(delay if last is None else last),
            "control_index": _m(ci), "dependency_share": _m(dep),
            "effective_usd_per_gpu_hour": _m(usd)}


#: By hand: roadmap delay 10 d at the base point; MFU moves it from >= 30 d (a lower
#: bound) to 8 d (swing >= 22 d), restart from 9 to 14 d (5 d), the failure rate's low end
#: cannot be measured and its high end is 12 d (2 d); the ramp does not apply.
DOC = {
    "replicas": 4, "step_hours": 6.0, "runs": 7, "variant_steps_per_replica": 2800,
    "inputs": {
        "failure_rate": {"what": "node failure rate (published range per GPU generation)",
                         "low": "per 1000 node-days: h100 3.79, gb200 2.9",
                         "high": "per 1000 node-days: h100 8.5, gb200 13"},
        "restart": {"what": "restart time after an interruption", "low": "2.5 min",
                    "high": "20 min"},
        "mfu": {"what": "MFU (throughput model's out-of-source band)", "low": "x0.908",
                "high": "x1.15"},
        "ramp": {"what": "capacity ramp dates", "low": "does not apply",
                 "high": "does not apply"},
    },
    "tenants": {"tn": {"base": _point(10.0), "inputs": {
        "failure_rate": {"low": _point(None, ci=0.21), "high": _point(12.0, ci=0.25)},
        "restart": {"low": _point(9.0, ci=0.19), "high": _point(14.0, ci=0.3)},
        "mfu": {"low": _point(30.0, ci=0.6, delay_lb=True), "high": _point(8.0, ci=0.15)},
        "ramp": {"low": None, "high": None},
    }}},
}


@pytest.fixture(scope="module")
def run2():
    return simgpu.run(load(two_landlords()))


@pytest.fixture
def hand(run2) -> ReportData:
    summ = copy.deepcopy(run2.summary)
    summ["sensitivity"] = copy.deepcopy(DOC)
    return ReportData(run2.plan, run2.raw, summ)


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _panel(fig, words):
    return next(ax for ax in fig.get_axes() if words in ax.get_title(loc="left"))


# ---------------------------------------------------------------------- reading the doc


def test_rows_sorted_by_swing_with_bounds_and_what_does_not_apply():
    rows = sens_rows(DOC, "tn", "no_lease_delay_days")
    assert [r.input for r in rows] == ["mfu", "restart", "failure_rate", "ramp"]
    assert [r.swing for r in rows[:3]] == [22.0, 5.0, 2.0]
    assert rows[0].bounded and rows[0].swing_ge and not rows[1].bounded
    assert rows[2].low["value"] is None and not rows[3].applies
    # another metric, another order: the control index moves most with MFU, then restart
    ci = sens_rows(DOC, "tn", "control_index")
    assert [r.input for r in ci][:2] == ["mfu", "restart"]
    assert ci[0].swing == pytest.approx(0.45)


def test_ranges_in_words_with_units():
    assert sens_range(DOC, "failure_rate") == ("h100 3.79 to 8.5, gb200 2.9 to 13 per "
                                               "1000 node-days")
    assert sens_range(DOC, "restart") == "2.5 min to 20 min"
    assert sens_range(DOC, "mfu") == "×0.908 to ×1.15 the configured MFU"
    assert sens_range(DOC, "ramp") == "does not apply to this scenario"


# ------------------------------------------------------------------------- the figure


def test_tornado_only_with_a_sensitivity_analysis(run2):
    assert "sensitivity" not in run2.summary
    assert F.tornado(ReportData(run2.plan, run2.raw, run2.summary)) is None
    assert "tornado" in [stem for stem, _, _ in F.FIGURES] and "tornado" in F.OPTIONAL


def test_tornado_rows_in_words_sorted_by_swing(hand):
    fig = F.tornado(hand)
    axs = fig.get_axes()
    assert len(axs) == 5  # one panel per headline metric of the one tenant
    ax = _panel(fig, "roadmap delay without the leases")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [s.split("\n")[0] for s in labels] == [
        "model FLOPs utilisation (MFU)", "restart time after an interruption",
        "node failure rate", "capacity ramp dates"]
    assert "×0.908 to ×1.15 the configured MFU" in labels[0]
    assert "2.5 min to 20 min" in labels[1]
    assert "base point: 10.0 d" in ax.get_title(loc="left")
    everything = " ".join(labels + _texts(ax) + [a.get_title(loc="left") for a in axs])
    for key in ("no_lease", "failure_rate", "checkpoint_write", "_"):
        assert key not in everything  # words, not dotted or snake-case keys
    # the largest swing on top: the y axis runs downward
    lo, hi = ax.get_ylim()
    assert lo > hi
    # the base value as a line
    assert any(list(ln.get_xdata()) == [10.0, 10.0] for ln in ax.get_lines())


def test_tornado_draws_bounds_as_bounds_and_names_what_is_missing(hand):
    fig = F.tornado(hand)
    ax = _panel(fig, "roadmap delay without the leases")
    bars = [p for p in ax.patches if p.get_width() != 0]
    hatched = [p for p in bars if p.get_hatch()]
    assert len(hatched) == 1  # MFU's low end: >= 30 d, from the base 10 d
    (b,) = hatched
    assert b.get_x() == pytest.approx(10.0) and b.get_width() == pytest.approx(20.0)
    assert sum(1 for t in ax.texts if getattr(t, "arrow_patch", None) is not None) == 1
    txt = "\n".join(_texts(ax))
    assert "low end: ≥ 30.0 d" in txt and "swing ≥ 22.0 days" in txt
    assert "low end: not measurable" in txt  # the failure rate's low end
    assert "does not apply to this scenario" in txt  # the ramp
    assert sum(len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_marker() == "x") == 1
    # the colours: light for the low end, dark for the high end
    faces = {mcolors.to_hex(p.get_facecolor()) for p in bars if not p.get_hatch()}
    assert faces == {F.SENS_LOW_C, F.SENS_HIGH_C}
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert any("at least this" in s for s in legend)
    assert any("not measurable" in s for s in legend)


def test_tornado_units_per_metric(hand):
    fig = F.tornado(hand)
    dep = _panel(fig, "share of training compute")
    assert dep.get_xlim() == (0, 102)  # a share on 0-100 %
    assert "base point: 80.0 %" in dep.get_title(loc="left")
    usd = _panel(fig, "GPU-hour delivered")
    assert "\\$2.50" in usd.get_title(loc="left")  # dollars escaped, not mathtext
    assert usd.get_xlim()[0] == 0.0
    assert _panel(fig, "control index").get_xlim()[0] == 0.0


def test_tornado_of_a_real_analysis():
    cfg = two_landlords(horizon_days=12.0)
    cfg["pools"]["p1"]["reliability"] = {"failures_per_1000_node_days": 50.0,
                                         "repair": {"distribution": "fixed",
                                                    "mean_hours": 5.0}}
    cfg["report"]["sensitivity"] = {"enabled": True, "replicas": 2, "step_hours": 2.0,
                                    "inputs": ["restart", "ramp"]}
    res = simgpu.run(load(cfg))
    fig = F.tornado(ReportData(res.plan, res.raw, res.summary))
    ax = _panel(fig, "roadmap delay without the leases")
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    assert labels[-1] == "capacity ramp dates"  # no capacity schedule here: last
    assert labels == ["restart time after an interruption", "capacity ramp dates"]


# --------------------------------------------------------------------------- the text


def test_text_names_the_input_that_moves_the_headline_most(hand):
    from simgpu.report.text import sensitivity_text

    md = "\n".join(sensitivity_text(hand))
    assert "## Sensitivity: what the answers depend on" in md
    assert ("The input that moves tn's roadmap delay without the leases (largest delay of "
            "any milestone, P50) most is the model FLOPs utilisation (MFU): ≥ 30.0 d at its "
            "low end (×0.908) and 8.0 d at its high end (×1.15), against 10.0 d at the base "
            "point: a swing of ≥ 22.0 days.") in md
    assert ("Then, by swing: restart time after an interruption, 5 days; node failure rate, "
            "2 days.") in md
    assert "The control index moves most with the model FLOPs utilisation (MFU)" in md
    assert "Not run, because the scenario has nothing they act on: capacity ramp dates." in md
    # the table: base row first, then inputs by the roadmap delay's swing, "≥" and "n/a"
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert [ln.split(" | ")[0] for ln in table[2:]] == [
        "| base point", "| model FLOPs utilisation (MFU)",
        "| restart time after an interruption", "| node failure rate",
        "| capacity ramp dates"]
    assert "| ≥ 30.0 → 8.0 |" in table[3] and "| n/a → 12.0 |" in table[5]
    assert table[6].endswith("| not run | not run | not run | not run | not run |")


def test_text_states_ranges_sources_and_cost(hand):
    from simgpu.report.text import sensitivity_text

    md = "\n".join(sensitivity_text(hand))
    assert ("- Restart time after an interruption: 2.5 min to 20 min; 150 s with "
            "purpose-built recovery") in md and "arXiv:2509.03047" in md
    assert "- Node failure rate: h100 3.79 to 8.5, gb200 2.9 to 13 per 1000 node-days" in md
    assert "arXiv:2407.21783" in md and "docs/perf.md" in md
    main = len(hand.plan.variants) * hand.plan.n_steps * hand.replicas
    assert ("The analysis cost 7 extra runs (the base point and a low and a high point per "
            "input that applies") in md
    assert f"2,800 variant-steps per history, {2800 * 4 / main:.2g} times the main run's" in md


def test_text_says_when_a_range_was_configured(run2):
    cfg = two_landlords()
    cfg["report"]["sensitivity"] = {"enabled": False, "restart_hours": [0.1, 0.2]}
    res = simgpu.run(load(cfg))
    summ = copy.deepcopy(res.summary)
    summ["sensitivity"] = copy.deepcopy(DOC)
    from simgpu.report.text import sensitivity_text

    md = "\n".join(sensitivity_text(ReportData(res.plan, res.raw, summ)))
    assert ("- Restart time after an interruption: 2.5 min to 20 min; as configured for this "
            "run (report.sensitivity.restart_hours).") in md
    assert "FlashRecovery" not in md


def test_no_section_without_an_analysis(run2):
    from simgpu.report.text import report_markdown, sensitivity_text

    data = ReportData(run2.plan, run2.raw, run2.summary)
    assert sensitivity_text(data) == []
    assert "Sensitivity" not in report_markdown(data, [], None)


def test_report_embeds_the_tornado_and_its_section(hand, tmp_path, monkeypatch):
    import sys

    from simgpu.report import render_data

    R = sys.modules["simgpu.report.render"]  # the module (the package's `render` is a function)

    # only the tornado (and one figure before it) is drawn: the others have their tests
    monkeypatch.setattr(R, "FIGURES", tuple(f for f in F.FIGURES
                                            if f[0] in ("reliability", "tornado")))
    written = {p.name for p in render_data(hand, tmp_path, ("png", "markdown"))}
    assert "tornado.png" in written
    md = (tmp_path / "report.md").read_text()
    assert "](tornado.png)" in md
    assert md.index("## Sensitivity") < md.index("## Figures")


def test_a_metric_no_point_measures_is_named_not_drawn(hand):
    """A scenario without withholding levels has no control index at any point: no panel of
    crosses, a note with the main run's reason, and a sentence."""
    from simgpu.report.text import sensitivity_text

    doc = hand.summary["sensitivity"]
    for ends in [doc["tenants"]["tn"]["base"]] + [
            e for v in doc["tenants"]["tn"]["inputs"].values() for e in v.values() if e]:
        ends["control_index"] = {"value": None, "lower_bound": False}
    hand.summary["tenants"]["tn"]["control_index_null_reason"] = "no withholding levels"
    fig = F.tornado(hand)
    assert len(fig.get_axes()) == 4
    assert not any("control index" in ax.get_title(loc="left") for ax in fig.get_axes())
    notes = [fig.get_suptitle().replace("\n", " ")]
    assert any("Not drawn: the control index, not measurable at any point (no withholding "
               "levels)" in n for n in notes)
    md = "\n".join(sensitivity_text(hand))
    assert ("The control index cannot be measured at any point (in the main run: no "
            "withholding levels).") in md


def test_a_saved_summary_reads_in_the_configured_order(hand):
    """summary.json is written with sorted keys; read back, the inputs are in the configured
    order again, so ties in the tornado and the table fall as in the report drawn from
    memory."""
    import json

    from simgpu.report.data import _in_plan_order
    from simgpu.report.text import sensitivity_text

    back = _in_plan_order(json.loads(json.dumps(hand.summary, sort_keys=True)), hand.plan)
    assert list(back["sensitivity"]["inputs"]) == ["failure_rate", "restart", "mfu", "ramp"]
    again = ReportData(hand.plan, hand.raw, back)
    assert sensitivity_text(again) == sensitivity_text(hand)
