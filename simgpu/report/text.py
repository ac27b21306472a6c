"""The markdown report: headline numbers in plain sentences, then the figures."""

from __future__ import annotations

from collections.abc import Sequence

from simgpu.analysis import fmt
from simgpu.analysis.precision import describe
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


_pct = fmt.pct
_days = fmt.days


def _range(d: dict, fmt_) -> str:
    if d.get("p10") is None or d.get("p90") is None or d["p10"] == d["p90"]:
        return ""
    return f" (P10-P90 over histories: {fmt_(d['p10'])} to {fmt_(d['p90'])})"


def _delay_clause(d: dict | None) -> str | None:
    """``"would finish at least 183 days later (median; P10-P90 ...)"``, or None when the
    median cannot be measured."""
    if not d or d.get("p50") is None:
        return None
    x = d["p50"]
    if abs(x) < 0.5 and not d.get("lower_bound"):
        return "would not be delayed (median)"
    ge = "at least " if d.get("lower_bound") else ""
    s = f"would be delayed by {ge}{_days(x)}" if x >= 0 or d.get("lower_bound") else \
        f"would finish {_days(-x)} earlier"
    s += " (median"
    if d.get("p10") is not None and d.get("p90") is not None and d["p10"] != d["p90"]:
        s += f"; P10-P90 over histories: {d['p10']:,.0f} to {d['p90']:,.0f} days"
    s += ")"
    if d.get("lower_bound"):
        s += (f"; a lower bound: in {_pct(d['censored_fraction'])} of the histories a model "
              "had not finished by the horizon")
    return s


def _lever_sentence(lead: str, cf: dict | None, whole: dict | None) -> str | None:
    """One counterfactual in words: the roadmap's delay (the largest of any model), where
    it falls, and the last model's when it differs."""
    if cf is None or whole is None:
        return None
    clause = _delay_clause(whole)
    if clause is None:
        return (f"{lead}, the delay cannot be measured here: "
                f"{whole.get('null_reason', 'too few histories finish')}.")
    s = f"{lead}, the roadmap {clause}"
    big, last = cf.get("largest_delay_milestone"), cf.get("last_milestone")
    if big and abs(cf["by_milestone"][big]["p50"] or 0) >= 0.5:
        s += f"; the largest delay falls on {big}"
        if last and last != big:
            lc = _delay_clause(cf.get("last_milestone_delay_days"))
            if lc:
                s += f", while its last model ({last}) {lc.split(' (median')[0]}"
    return s + "."


def _landlords_text(names: list[str]) -> str:
    return _and(names) or "the landlord"


def headline(data: ReportData) -> list[str]:
    """Plain-language sentences with the run's headline numbers, one list item each."""
    summ = data.summary
    R = data.replicas
    hz = horizon_text(data.horizon_days)
    out: list[str] = []
    for name, t in (summ.get("tenants") or {}).items():
        T = data.label(name)
        by = t.get("by_landlord") or {}
        lnames = [data.label(n) for n in by] or [data.label(a) for a in
                                                 data.parties("landlord")]
        landlord = _landlords_text(lnames)
        dep = t["dependency_share"]
        s = (f"In the median of {_count(R, 'simulated history', 'simulated histories')}, "
             f"{_pct(dep['p50'])} of {T}'s training compute ran on {landlord}'s hardware"
             f"{_range(dep, _pct)}")
        if dep["p50"] is None:
            s = f"{T} trained nothing in the simulated histories ({dep.get('null_reason')})"
        out.append(s + ".")
        if len(by) > 1:
            conc = t["concentration"]
            parts = [f"{data.label(n)} {_pct(e['dependency_share']['p50'])}"
                     for n, e in by.items()]
            out.append(f"By landlord (median share of {T}'s training compute): "
                       f"{_and(parts)}. The largest, "
                       f"{data.label(conc['largest_landlord'] or '?')}, hosts "
                       f"{_pct(conc['largest_landlord_share'])}; the Herfindahl index of the "
                       f"landlords' shares is {fmt.index(conc['herfindahl'])} (1 = one "
                       "landlord hosts all of it).")
        cap = t.get("capacity_share") or {}
        if cap.get("p50") is not None:
            out.append(f"Over {hz}, {landlord} owned {_pct(cap['p50'])} of the GPU-hours "
                       f"{T} could use (median).")
        vis = t.get("visibility") or {}
        if vis and vis["runs_share"]["p50"] is not None:
            out.append(f"{landlord} hosted {_pct(vis['runs_share']['p50'])} of {T}'s "
                       f"training runs at least in part (median), runs that carry "
                       f"{_pct(vis['flops_share']['p50'])} of its training compute: "
                       f"{'they' if len(lnames) > 1 else 'the landlord'} can observe "
                       "their size and timing.")
        fin = t.get("final_milestone_day", {})
        if fin.get("p50") is not None:
            day = data.date(fin["p50"]).astype("datetime64[D]")
            out.append(f"With the leases as configured, {T}'s last model finishes on "
                       f"{day} (median).")
        else:
            out.append(f"With the leases as configured, {T}'s roadmap is not finished "
                       f"within {hz} in most histories.")
        cfs = t.get("counterfactuals") or {}
        every = "every landlord's leases" if len(by) > 1 else "the lease"
        levers = [(f"If {every} had never existed", "no_lease"),
                  (f"If {landlord}'s own training took the leased GPUs first",
                   "landlord_first"),
                  (f"If {every} were not renewed after the first term", "non_renew")]
        curve = [c for c in t.get("leverage_curve", []) if c["withheld"] > 0]
        if curve:
            c = min(curve, key=lambda c: (abs(c["withheld"] - 0.5), c["withheld"]))
            w = f"withhold_{round(c['withheld'] * 100):d}"
            levers.append((f"If {landlord} withheld {_pct(c['withheld'])} of "
                           f"{'their' if len(by) > 1 else 'the'} leased GPUs", w))
        for lead, v in levers:
            if v in cfs:
                sent = _lever_sentence(lead, cfs[v], cfs[v]["roadmap_delay_days"])
                if sent:
                    out.append(sent)
        if len(by) > 1:
            most = t.get("most_leverage_landlord")
            alone = []
            for n, e in by.items():
                d = e.get("no_lease_delay_days")
                if d and d.get("p50") is not None:
                    alone.append(f"{data.label(n)} {fmt.delay(d)}")
            if alone:
                lead = ("No single landlord could delay the roadmap by withdrawing its "
                        "leases alone" if most and most["no_lease_delay_days_p50"] < 0.5
                        else f"The landlord that could delay {T} most on its own is "
                        f"{data.label(most['landlord'])}")
                out.append(f"{lead} (roadmap delay without one landlord's leases, median: "
                           f"{_and(alone)}).")
        ci = t.get("control_index")
        if ci is None:
            out.append(f"{T}'s control index cannot be computed: "
                       f"{t.get('control_index_null_reason', 'no data')}.")
        else:
            ge = "at least " if t.get("control_index_lower_bound") else ""
            out.append(f"{T}'s control index is {ge}{ci:.2f}: withholding a random share of "
                       f"the leased GPUs delays its roadmap, on average, by {ge}{_pct(ci)} "
                       "of the roadmap's own length (0 = the landlords have no hold, 1 = a "
                       "delay as long as the roadmap itself)"
                       + ("; a lower bound, since some histories had not finished by the "
                          "horizon" if ge else "") + ".")
    for lname, le in (summ.get("leases") or {}).items():
        eff, used, util = (le["effective_usd_per_gpu_hour"], le["usd_per_gpu_hour_used"],
                           le["utilization"])
        s = (f"Under lease {lname}, {data.label(le['tenant'])} pays "
             f"{data.label(le['landlord'])} {_usd(le['paid_usd'])} over {hz}")
        if eff.get("p50") is not None:
            s += (f": ${eff['p50']:,.2f} per GPU-hour delivered in working order, and "
                  + (f"${used['p50']:,.2f} per GPU-hour its training used "
                     f"(it trained on {_pct(util['p50'])} of the GPU-hours it paid for)"
                     if used.get("p50") is not None else
                     "it trained on none of them") + " (medians)")
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
            what = "the share of held GPU time that produced kept training progress (ETTR)"
            s += (f"; {what} is {_pct(ettr[lo])} for every run (median)"
                  if _pct(ettr[lo]) == _pct(ettr[hi]) else
                  f"; {what} ranges from {_pct(ettr[lo])} ({lo}) to {_pct(ettr[hi])} ({hi})")
        out.append(s + ".")
    return out


def variant_words(v) -> str:
    """A counterfactual variant in words: ``50 % withheld (l1 only)``."""
    base = {"no_lease": "no lease", "landlord_first": "landlord first",
            "non_renew": "not renewed", "baseline": "baseline"}.get(v.kind)
    if v.kind == "withhold":
        base = f"{_pct(v.level)} withheld"
    if base is None:
        return v.name
    return f"{base} ({v.landlord} only)" if v.landlord else base


def _usd(x: float) -> str:
    """``$45.0 billion``, ``$12.3 million``, ``$950``."""
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if abs(x) >= scale:
            return f"${x / scale:,.1f} {word}"
    return f"${x:,.0f}"


def _key_variants(data: ReportData) -> list[tuple[str, str]]:
    """The all-landlord counterfactuals shown in tables: (variant, heading)."""
    out = []
    names = {v.name for v in data.plan.variants}
    if "no_lease" in names:
        out.append(("no_lease", "no lease"))
    ws = [v for v in data.plan.variants if v.kind == "withhold" and not v.landlord]
    if ws:
        w = min(ws, key=lambda v: (abs(v.level - 0.5), v.level))
        out.append((w.name, f"{w.level:.0%} withheld"))
    if "landlord_first" in names:
        out.append(("landlord_first", "landlord first"))
    if "non_renew" in names:
        out.append(("non_renew", "not renewed"))
    return out


def milestone_table(data: ReportData) -> list[str]:
    """Markdown table of each job's P50 start and finish dates, and its delay (P50) under
    each key counterfactual ("≥" where histories had not finished by the horizon)."""
    plan, summ = data.plan, data.summary
    keys = _key_variants(data)
    head = "| run | trains it | starts (P50) | finishes (P50) | finished in |"
    head += "".join(f" delay if {h} (P50) |" for _, h in keys)
    rows = [head, "|" + " --- |" * (5 + len(keys))]

    def date(d):
        return "after the horizon" if d is None else str(data.date(d).astype("datetime64[D]"))

    for n in plan.job_names:
        j = summ["jobs"][n]
        row = (f"| {n} | {data.label(j['party'])} | {date(j['start_day']['p50'])} | "
               f"{date(j['finish_day']['p50'])} | {_pct(j['finished_fraction'])} of histories |")
        for v, _ in keys:
            row += f" {fmt.delay(j['by_variant'][v]['delay_days'], later=False)} |"
        rows.append(row)
    return rows


def deadline_table(data: ReportData) -> list[str]:
    """Can the landlord make the tenant miss a date? Per job with a deadline, the share of
    histories that miss it in the baseline and under each counterfactual."""
    jobs = {n: j for n, j in data.summary["jobs"].items() if "deadline_day" in j}
    if not jobs:
        return []
    vs = [v for v in data.plan.variants if v.kind != "sweep"][1:]
    variants = [v.name for v in vs]
    rows = ["| run | deadline | missed (baseline) |" + "".join(
                f" {variant_words(v)} |" for v in vs),
            "|" + " --- |" * (3 + len(variants))]
    for n, j in jobs.items():
        day = data.date(j["deadline_day"]).astype("datetime64[D]")

        def cell(d):
            ge = "≥ " if d.get("deadline_undecided_fraction", 0) > 0 else ""
            return f"{ge}{_pct(d['deadline_missed_fraction'])}"

        rows.append(f"| {n} | {day} | {cell(j)} |" + "".join(
            f" {cell(j['by_variant'][v])} |" for v in variants))
    return rows


READING = {
    "capacity": "Coloured areas stack the median GPUs the tenant could use on each owner's "
                "hardware; the hatched band is the P10-P90 range of the total over "
                "histories; the dashed line is the total if the lease had never existed.",
    "roadmap": "Each bar runs from a training run's median start to its median finish; the "
               "black whisker spans the 10th to 90th percentile of its finish. Colours are "
               "the counterfactuals; hatched bars reaching the dashed horizon line with an "
               "arrow had not finished when the simulation ended.",
    "leverage": "How much later the tenant's roadmap finishes (the largest delay of any of "
                "its models) when the landlord withholds a share of the leased GPUs. Hollow "
                "points are lower bounds: some histories had not finished by the horizon.",
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


def precision_text(summ: dict) -> str | None:
    """One sentence on how many histories ``sim.replicas: auto`` ran, why it stopped and
    the precision reached (the summary's ``precision`` block); ``None`` for a fixed count."""
    p = summ.get("precision")
    if not p:
        return None
    n, level = p["replicas_run"], f"{p['ci_level'] * 100:g} %"
    t = p["targets"]
    goals = _and(([f"P50 roadmap delays within ±{t['delay_days']:g} days"]
                  if t.get("delay_days") is not None else [])
                 + ([f"P50 dependency shares within ±{t['dependency_share'] * 100:g} points"]
                    if t.get("dependency_share") is not None else []))
    ms = [m for m in p["metrics"].values() if m["estimate"] is not None]
    met = sum(1 for m in ms if m["reached"])
    worst = max(ms, key=lambda m: float("inf") if m["half_width"] is None
                else m["half_width"] / m["target"], default=None)
    reason, tally = p["stop_reason"], f"{met} of {len(ms)} targets met ({goals}, {level} " \
        "confidence)"
    if reason == "target_reached":
        why = f"every targeted median reached its target ({goals}, {level} confidence)"
    elif reason == "max_replicas":
        why = (f"it reached the cap of {p['max_replicas']:,} (sim.precision.max_replicas) "
               f"with {tally}")
    elif reason == "time_budget":
        why = (f"the time budget of {p['time_budget_s']:g} s (sim.precision.time_budget_s) "
               f"left no room for another round, with {tally}")
    else:
        why = "no targeted median can be measured within the horizon"
    s = (f"The number of histories was set by precision (sim.replicas: auto): it stopped "
         f"after {_count(n, 'history', 'histories')} because {why}")
    if worst is not None:
        s += "; the widest interval: " + describe(worst["what"], worst["unit"],
                                                  worst["half_width"], worst["target"])
    if p.get("machine_dependent"):
        s += ("; with a time budget the number of histories, and so every figure here, "
              "depends on the machine that ran it")
    return s + "."


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
    prec = precision_text(summ)
    if prec:
        lines += [prec, ""]
    lines += ["## Headline numbers", ""]
    lines += [f"- {s}" for s in headline(data)] + [""]
    lines += ["## Roadmap", "", "Delays are the median over histories of each run's delay "
              "against the baseline in the same history; \"≥\" marks a lower bound (the run "
              "had not finished by the horizon in some histories), \"n/a\" a delay that "
              "cannot be measured within the horizon.", ""] + milestone_table(data) + [""]
    deadlines = deadline_table(data)
    if deadlines:
        lines += ["## Deadlines: can the landlord make the tenant miss a date?", "",
                  "The share of histories in which each run finishes after its deadline, "
                  "in the baseline and under each counterfactual (\"≥\": some histories "
                  "end before the deadline with the run unfinished).", ""] + deadlines + [""]
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
