"""The markdown report: headline numbers in plain sentences, then the figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simgpu.analysis.summary import final_milestone_h
from simgpu.report.data import ReportData

_SMALL = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
          8: "eight", 9: "nine", 10: "ten"}


def horizon_text(days: float) -> str:
    """``the three simulated years``, ``the 400 simulated days`` or ``the 0.25 simulated
    days``."""
    years = days / 365.25
    n = round(years)
    if n >= 1 and abs(years - n) <= 0.02 * n:
        return f"the {_SMALL.get(n, str(n))} simulated year{'s' if n != 1 else ''}"
    return f"the {_count(days, 'simulated day')}"


def _count(x: float, noun: str, plural: str | None = None) -> str:
    """``1 day``, ``3 days``, ``0.25 days``: whole numbers from 10 on, else 3 digits."""
    num = f"{x:,.0f}" if x >= 10 or x == round(x) else f"{x:.3g}"
    return f"{num} {noun if num == '1' else plural or noun + 's'}"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f} %"


def _days(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f} day{'s' if round(x) != 1 else ''}"


def _range(d: dict, fmt) -> str:
    if d.get("p10") is None or d.get("p90") is None or d["p10"] == d["p90"]:
        return ""
    return f" (P10-P90 over histories: {fmt(d['p10'])} to {fmt(d['p90'])})"


def _delay_sentence(lead: str, d: dict | None, horizon: str, base_unfinished: float
                    ) -> str | None:
    if not d or d.get("p50") is None:
        return None
    c = d.get("censored_fraction") or 0.0
    if c >= 0.5 and base_unfinished >= 0.5 and abs(d["p50"]) < 0.5:
        return (f"{lead}, the effect on its last model cannot be measured here: in most "
                f"histories that model does not finish within {horizon} even in the "
                "baseline (simulate a longer horizon to see it).")
    if abs(d["p50"]) < 0.5 and c == 0:
        return f"{lead}, its last model would have finished at the same time (median)."
    verb = "later" if d["p50"] >= 0 else "earlier"
    s = f"{lead}, its last model would have finished {_days(abs(d['p50']))} {verb} (median"
    if d.get("p10") is not None and d.get("p90") is not None and d["p10"] != d["p90"]:
        s += f"; P10-P90 over histories: {d['p10']:,.0f} to {d['p90']:,.0f} days"
    s += ")"
    if c > 0:
        s += (f" - at least, since in {_pct(c)} of the histories it did not finish within "
              f"{horizon}")
    return s + "."


def headline(data: ReportData) -> list[str]:
    """Plain-language sentences with the run's headline numbers, one list item each."""
    plan, summ = data.plan, data.summary
    R = data.replicas
    hz = horizon_text(data.horizon_days)
    land = [data.label(a) for a in data.parties("landlord")]
    landlord = _and(land) or "the landlord"
    out: list[str] = []
    for name, t in (summ.get("tenants") or {}).items():
        T = data.label(name)
        a = plan.party_names.index(name)
        fm = final_milestone_h(plan, data.raw, a)[0]
        base_unf = float((~np.isfinite(fm)).mean()) if fm.size else 0.0
        dep = t["dependency_share"]
        out.append(f"In the median of {_count(R, 'simulated history', 'simulated histories')}, "
                   f"{_pct(dep['p50'])} of {T}'s "
                   f"training compute ran on {landlord}'s hardware"
                   f"{_range(dep, _pct)}.")
        cap = t.get("capacity_share") or {}
        if cap.get("p50") is not None:
            out.append(f"Over {hz}, {landlord} owned {_pct(cap['p50'])} of the GPU-hours "
                       f"{T} could use (median).")
        vis = t.get("visibility") or {}
        if vis:
            out.append(f"{landlord} hosted {_pct(vis['runs_share']['p50'])} of {T}'s "
                       f"training runs at least in part (median), runs that carry "
                       f"{_pct(vis['flops_share']['p50'])} of its training compute: the "
                       "landlord can observe their size and timing.")
        fin = summ.get("tenants", {}).get(name, {}).get("final_milestone_day", {})
        if fin.get("p50") is not None:
            day = data.date(fin["p50"]).astype("datetime64[D]")
            out.append(f"With the lease as configured, {T}'s last model finishes on "
                       f"{day} (median).")
        elif base_unf > 0:
            out.append(f"With the lease as configured, {T}'s roadmap is not finished "
                       f"within {hz} in {_pct(base_unf)} of the histories.")
        levers = [("If the lease had never existed", "no lease at all",
                   t.get("no_lease_delay_days")),
                  (f"If {landlord}'s own training took the leased GPUs first",
                   "the landlord's jobs going first", t.get("landlord_priority_delay_days")),
                  ("If the lease were not renewed after its first term", "non-renewal",
                   t.get("non_renew_delay_days"))]
        curve = [c for c in t.get("leverage_curve", []) if c["withheld"] > 0]
        if curve:
            c = min(curve, key=lambda c: (abs(c["withheld"] - 0.5), c["withheld"]))
            levers.append((f"If {landlord} withheld {_pct(c['withheld'])} of the leased GPUs",
                           "withholding",
                           {"p10": c.get("delay_days_p10"), "p50": c.get("delay_days_p50"),
                            "p90": c.get("delay_days_p90"),
                            "censored_fraction": c.get("censored_fraction", 0.0)}))
        unmeasured = []
        for lead, short, d in levers:
            s = _delay_sentence(lead, d, hz, base_unf)
            if s is None:
                continue
            if s.endswith("(simulate a longer horizon to see it)."):
                unmeasured.append(short)
            else:
                out.append(s)
        if unmeasured:
            out.append(f"The effect of {_and(unmeasured)} on {T}'s last model cannot be "
                       f"measured here: in most histories that model does not finish within "
                       f"{hz} even in the baseline (simulate a longer horizon to see it).")
        ci = t.get("control_index")
        if ci is None:
            out.append(f"{T}'s control index cannot be computed: it needs withholding levels "
                       f"and a baseline roadmap that finishes within {hz}.")
        elif base_unf >= 0.5:
            out.append(f"{T}'s control index ({ci:.2f}) is not meaningful here for the same "
                       "reason: the roadmap does not finish within the horizon.")
        else:
            out.append(f"{T}'s control index is {ci:.2f}: withholding a random share of the "
                       f"lease delays its roadmap, on average, by {_pct(ci)} of the roadmap's "
                       "own length (0 = the landlord has no hold, 1 = a delay as long as the "
                       "roadmap itself).")
    for lname, le in (summ.get("leases") or {}).items():
        eff = le["effective_usd_per_gpu_hour"]
        s = (f"Under lease {lname}, {data.label(le['tenant'])} pays "
             f"{data.label(le['landlord'])} ${le['paid_usd'] / 1e9:,.1f} billion over {hz}")
        if eff.get("p50") is not None:
            s += (f"; per GPU-hour actually delivered in working order that is "
                  f"${eff['p50']:,.2f} (median)")
        out.append(s + ".")
    jobs = summ.get("jobs") or {}
    if jobs:
        hits = sum((j["interruptions"].get("mean") or 0.0) for j in jobs.values())
        ettr = {n: j["ettr"].get("p50") for n, j in jobs.items()
                if j["ettr"].get("p50") is not None}
        s = (f"Hardware failures interrupted the training runs {hits:,.0f} times in total "
             "(mean per history)")
        if ettr:
            lo = min(ettr, key=ettr.get)
            hi = max(ettr, key=ettr.get)
            s += (f"; the share of held GPU time that produced kept training progress (ETTR) "
                  f"ranges from {_pct(ettr[lo])} ({lo}) to {_pct(ettr[hi])} ({hi})")
        out.append(s + ".")
    return out


def milestone_table(data: ReportData) -> list[str]:
    """Markdown table of each job's P50 start and finish dates per key variant."""
    plan, summ = data.plan, data.summary
    nl = "no_lease" if data.variant("no_lease") is not None else None
    head = "| run | trains it | starts (P50) | finishes (P50) | finished in | "
    head += "finishes without the lease (P50) |" if nl else ""
    rows = [head, "|" + " --- |" * (6 if nl else 5)]

    def date(d):
        return "after the horizon" if d is None else str(data.date(d).astype("datetime64[D]"))

    for n in plan.job_names:
        j = summ["jobs"][n]
        row = (f"| {n} | {data.label(j['party'])} | {date(j['start_day']['p50'])} | "
               f"{date(j['finish_day']['p50'])} | {_pct(j['finished_fraction'])} of histories |")
        if nl:
            row += f" {date(j['by_variant'][nl]['finish_day_p50'])} |"
        rows.append(row)
    return rows


READING = {
    "capacity": "Coloured areas stack the median GPUs the tenant could use on each owner's "
                "hardware; the hatched band is the P10-P90 range of the total over "
                "histories; the dashed line is the total if the lease had never existed.",
    "roadmap": "Each bar runs from a training run's median start to its median finish; the "
               "black whisker spans the 10th to 90th percentile of its finish. Colours are "
               "the counterfactuals; hatched bars reaching the dashed horizon line with an "
               "arrow had not finished when the simulation ended.",
    "leverage": "How much later the tenant's last model finishes when the landlord withholds "
                "a share of the leased GPUs. Hollow points are lower bounds: some histories "
                "had not finished by the horizon.",
    "dependency": "Left: share of each run's training computed on landlord-owned GPUs. "
                  "Right: share of histories in which the run touched landlord hardware at "
                  "all, i.e. the landlord could observe it.",
    "reliability": "Left: how often hardware failures interrupted each run, by cause. "
                   "Right: the share of the GPU time a run held that turned into kept "
                   "training progress.",
    "money": "Left: cumulative lease payments under each counterfactual (identical curves are "
             "marked '='). Right: payments divided by the healthy GPU-hours actually "
             "delivered, one point per history.",
}


def report_markdown(data: ReportData, figures: Sequence[tuple[str, str, str | None]],
                    pdf_name: str | None) -> str:
    """The whole ``report.md``.

    Parameters
    ----------
    data : ReportData
    figures : sequence of (stem, caption, png)
        Every figure in report order; ``png`` is the PNG's file name, ``""`` when it was
        drawn but no PNG written, ``None`` when it was not drawn.
    pdf_name : str or None
        Name of the multi-page PDF, when one is written.
    """
    cfg, summ = data.plan.cfg, data.summary
    lines = [f"# simgpu report: {summ.get('name', cfg.name)}", ""]
    if cfg.description:
        lines += [" ".join(cfg.description.split()), ""]
    lines += [f"{_count(data.replicas, 'simulated history', 'simulated histories')} of "
              f"{_count(data.horizon_days, 'day')} from "
              f"{cfg.sim.start}, in steps of {data.plan.dt:g} h (seed {summ.get('seed')}). "
              "\"Median\" and \"P10-P90\" are taken "
              "over these histories; a history is one random sequence of hardware failures "
              "and repairs.", ""]
    lines += ["## Headline numbers", ""]
    lines += [f"- {s}" for s in headline(data)] + [""]
    lines += ["## Roadmap", ""] + milestone_table(data) + [""]
    lines += ["## Figures", ""]
    if pdf_name:
        lines += [f"All figures are also in [{pdf_name}]({pdf_name}).", ""]
    for stem, caption, png in figures:
        lines += [f"### {caption}", ""]
        if png is None:
            why = ("this run recorded no daily capacity series (set report.daily_series=true)"
                   if stem == "capacity" else "this run holds no data for it")
            lines += [f"Not drawn: {why}.", ""]
            continue
        if png:
            lines += [f"![{caption}]({png})", ""]
        lines += [READING.get(stem, ""), ""]
    return "\n".join(lines).rstrip() + "\n"
