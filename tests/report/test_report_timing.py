"""When a landlord's move hurts the tenant most (issue 15.2): in-batch sweeps over the day
the landlord gives termination notice or starts withholding, in words and on a date axis.
simgpu.cases.two_landlords over 6 days (no failures: every delay known by hand): m1 on
l1's pool on day 0-1, m2 on l2's on days 1-3, m3 on l1's on days 3-4; without the leases
the tenant's own 40 GPUs run at half speed."""

from __future__ import annotations

import pytest

import simgpu
from simgpu.cases import two_landlords
from simgpu.config import load
from simgpu.report import ReportData
from simgpu.report import figures as F
from simgpu.report.text import report_markdown, timing_text

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # validation warnings


@pytest.fixture(scope="module")
def timed() -> ReportData:
    cfg = two_landlords(horizon_days=6.0)
    for lease in cfg["leases"].values():
        lease["termination_notice_days"] = 1.0
    cfg["scenario"]["sweeps"] = {
        "notice": {"lever": "terminate", "values": [3.5, 0.0, 1.5, 5.0]},
        "hold": {"lever": "withhold_start", "values": [0.0, 3.0], "days": 1.0},
        "px": {"lever": "price", "values": [2.0]},
    }
    res = simgpu.run(load(cfg))
    return ReportData(res.plan, res.raw, res.summary)


def test_the_date_that_hurts_most_in_words_with_its_bound(timed):
    md = "\n".join(timing_text(timed))
    # notice on day 0: the leases end on day 1; m2 runs on the tenant's 40 GPUs (days
    # 1-5), m3 is unfinished at the horizon: a delay of at least 6 - 4 = 2 days
    assert "### Sweep notice: the day l1 and l2 give notice to end the leases (1 day's " \
           "notice)" in md
    assert ("It would hurt tn most if l1 and l2 gave notice to end the leases on 1 Jan 2026 "
            "(ending on 2 Jan 2026): its roadmap would be delayed by at least 2.0 days "
            "(median), the largest delay falling on m3. That is a lower bound: in 100 % of "
            "the histories a model had not finished by the horizon.") in md
    assert "The least harmful swept date is 4 Jan 2026 (no change)." in md
    # every swept date, in date order, with its delay ("≥" where censored)
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "Jan 2026" in ln]
    assert rows[:4] == ["| 1 Jan 2026 | 2 Jan 2026 | ≥ 2.0 days | m3 |",
                        "| 2 Jan 2026 | 3 Jan 2026 | 1.5 days | m3 |",
                        "| 4 Jan 2026 | 5 Jan 2026 | no change | - |",
                        "| 6 Jan 2026 | 7 Jan 2026 | no change | - |"]


def test_withholding_start_in_words_and_other_levers_left_out(timed):
    md = "\n".join(timing_text(timed))
    assert "### Sweep hold: the day l1 and l2 start withholding 100 % of the leased GPUs " \
           "for 1 day" in md
    # every landlord's GPUs withheld on day 0-1: m1 (1 day on 80 GPUs) does half its work
    # on the tenant's 40 GPUs, then migrates back to the leased 80 at day 1: half a day
    # late; on days 3-4 m3 does the same: a tie, said so
    assert ("It would hurt tn most if l1 and l2 started withholding 100 % of the leased "
            "GPUs on 1 Jan 2026 (ending on 2 Jan 2026): its roadmap would be delayed by 0.5 "
            "days (median), the largest delay falling on m1. A move on 4 Jan 2026 delays it "
            "as much.") in md
    assert "Sweep px" not in md  # a price sweep has no date
    full = report_markdown(timed, [], None)
    assert full.index("## Timing: when the lever hurts most") < full.index("## Figures")


def test_sweep_figure_has_dates_on_its_axis(timed):
    fig = F.sweeps(timed)
    axs = fig.get_axes()
    notice = [ax for ax in axs if ax.get_title().startswith("sweep notice")]
    assert len(notice) == 3
    for ax in notice:
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == ["1 Jan 2026", "2 Jan 2026", "4 Jan 2026", "6 Jan 2026"]
        assert "date l1 and l2 give notice (the lease ends 1 day later)" in \
            ax.get_xlabel().replace("\n", " ")
    hold = next(ax for ax in axs if ax.get_title().startswith("sweep hold"))
    assert "date l1 and l2 start withholding 100% of the leased GPUs (for 1 day)" in \
        hold.get_xlabel().replace("\n", " ")
    px = next(ax for ax in axs if ax.get_title().startswith("sweep px"))
    assert px.get_xlabel() == "price factor on the lease (×)"  # not a date
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert "baseline (as configured, without the swept move)" in legend


def test_no_timing_section_without_a_date_sweep():
    res = simgpu.run(load(two_landlords(horizon_days=6.0)))
    assert timing_text(ReportData(res.plan, res.raw, res.summary)) == []
