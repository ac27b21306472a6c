"""The markdown report: headline numbers in plain sentences, then the figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simgpu.analysis import fmt
from simgpu.analysis.precision import describe
from simgpu.analysis.summary import HELD_PARTS
from simgpu.report.data import (
    SENS_INPUTS,
    SENS_METRICS,
    ReportData,
    SensRow,
    sens_null_reason,
    sens_range,
    sens_rows,
    sens_text,
    sens_unmeasured,
    swing_text,
)

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
        gh = (le.get("gpu_hours") or {}).get("baseline")
        if gh and gh["paid"] > 0:
            def pc(k: str, gh: dict = gh) -> str:
                return _pct(gh[k] / gh["paid"])

            held = sum(gh[k] for k in HELD_PARTS) / gh["paid"]
            out.append(f"Of the GPU-hours paid for under {lname} (baseline, means), "
                       f"{data.label(le['tenant'])}'s runs held {_pct(held)} "
                       f"({pc('kept')} became kept training progress), {pc('gang_wait')} sat "
                       f"unused while a run waited for enough GPUs for its gang, {pc('idle')} "
                       f"sat unused with no run waiting, and {pc('not_delivered')} were not "
                       "delivered in working order.")
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


# ------------------------------------------------------------------------ timing


def _day(data: ReportData, days: float) -> str:
    """Days since ``sim.start`` as a date in words: ``1 Jul 2026``."""
    return data.date(days).astype("datetime64[D]").item().strftime("%-d %b %Y")


def _hardest_milestone(data: ReportData, tenant: str, variant: str) -> str | None:
    """The tenant's milestone with the largest P50 delay in ``variant`` (of two equal ones,
    a lower bound: it is at least as large); None when no milestone is delayed."""
    best, top = None, (-np.inf, False)
    for j in (data.summary.get("tenants") or {}).get(tenant, {}).get("jobs") or []:
        d = ((data.summary["jobs"].get(j) or {}).get("by_variant") or {}).get(
            variant, {}).get("delay_days")
        if d and d.get("p50") is not None and (d["p50"], bool(d.get("lower_bound"))) > top:
            best, top = j, (d["p50"], bool(d.get("lower_bound")))
    return best if top[0] >= 0.05 else None


def _fine_days(x: float) -> str:
    """Days with a decimal below 10 (``1.5 days``), whole from 10 on: swept dates a day
    apart must not read alike."""
    return _days(x) if abs(x) >= 10 else f"{x:.1f} days"


def _fine_delay(d: dict | None, later: bool = True) -> str:
    """:func:`fmt.delay` with :func:`_fine_days`."""
    if not d or d.get("p50") is None:
        return "n/a"
    x, ge = d["p50"], fmt.bound(d)
    if abs(x) < 0.05 and not ge:
        return "no change"
    if not later:
        return f"{ge}{_fine_days(x)}"
    return f"{ge}{_fine_days(abs(x))} {'later' if x >= 0 or ge else 'earlier'}"


def timing_text(data: ReportData) -> list[str]:
    """When a lever hurts the tenant most: for each in-batch sweep over a date (the day the
    landlord gives termination notice, or the day a withholding starts), per tenant, the
    date with the largest roadmap delay (P50; "≥" where censored), the milestone it hits
    hardest and the least harmful date, and a table of every swept date. Empty without
    such a sweep."""
    sweeps = data.summary.get("sweeps") or {}
    out: list[str] = []
    for name, spec in sweeps.items():
        lever = data.date_lever(name)
        if lever is None:
            continue
        who = _and(lever["landlords"]) or "the landlord"
        several = len(lever["landlords"]) > 1
        them = "the leases" if len(lever["leases"]) > 1 else "the lease"
        pts = sorted(spec.get("points") or [], key=lambda p: p["value"])
        if lever["lever"] == "terminate":
            notice = lever["notice_days"]
            act = f"{who} gave notice to end {them}"

            def ends(v, notice=notice):
                return _and([_day(data, v + n) for n in notice]) if notice else "n/a"
            end_head = "lease ends"
            what = (f"the day {who} {'give' if several else 'gives'} notice to end {them}"
                    + (" (" + " or ".join(_count(n, "day") + ("'s" if n == 1 else "'")
                                          for n in notice) + " notice)"
                       if notice else " (no swept lease has a termination right: nothing "
                       "changes)"))
        else:
            days = lever["days"]
            act = f"{who} started withholding {_pct(lever['fraction'])} of the leased GPUs"

            def ends(v, days=days):
                return "the lease's end" if days is None else _day(data, v + days)
            end_head = "withholding ends"
            what = (f"the day {who} {'start' if several else 'starts'} withholding "
                    f"{_pct(lever['fraction'])} of the leased GPUs"
                    + (" to the lease's end" if days is None else f" for {_count(days, 'day')}"))
        out += [f"### Sweep {name}: {what}", ""]
        for tn in data.summary.get("tenants") or {}:
            T = data.label(tn)
            ds = [(p, ((p.get("tenants") or {}).get(tn) or {}).get("delay_days")) for p in pts]
            known = [(p, d) for p, d in ds if d and d.get("p50") is not None]
            if not known:
                out += [f"{T}'s roadmap delay cannot be measured at any swept date (the "
                        "baseline roadmap does not finish within the horizon).", ""]
                continue
            p, d = max(known, key=lambda pd: (pd[1]["p50"], -pd[0]["value"]))
            if d["p50"] < 0.05 and not d.get("lower_bound"):
                s = f"At none of the swept dates would this delay {T}'s roadmap (median)."
            else:
                ge = "at least " if d.get("lower_bound") else ""
                s = (f"It would hurt {T} most if {act} on {_day(data, p['value'])} (ending "
                     f"on {ends(p['value'])}): its roadmap would be delayed by {ge}"
                     f"{_fine_days(d['p50'])} (median")
                if d.get("p10") is not None and d.get("p90") is not None \
                        and f"{d['p10']:,.0f}" != f"{d['p90']:,.0f}":
                    s += (f"; P10-P90 over histories: {d['p10']:,.0f} to {d['p90']:,.0f} "
                          "days")
                s += ")"
                hit = _hardest_milestone(data, tn, p["variant"])
                if hit:
                    s += f", the largest delay falling on {hit}"
                s += "."
                tie = [_day(data, x["value"]) for x, e2 in known if x is not p
                       and abs(e2["p50"] - d["p50"]) < 0.05
                       and bool(e2.get("lower_bound")) == bool(d.get("lower_bound"))]
                if tie:
                    s += f" A move on {_and(tie)} delays it as much."
                if d.get("lower_bound"):
                    s += (f" That is a lower bound: in {_pct(d['censored_fraction'])} of the "
                          "histories a model had not finished by the horizon.")
                q, e = min(known, key=lambda pd: (pd[1]["p50"], pd[0]["value"]))
                if q is not p and _day(data, q["value"]) not in tie:
                    s += (f" The least harmful swept date is {_day(data, q['value'])} "
                          f"({_fine_delay(e)}).")
                unsure = [_day(data, x["value"]) for x, e2 in known
                          if x is not p and e2.get("lower_bound")]
                if unsure:
                    s += (f" The delays at {_and(unsure)} are lower bounds too, so one of "
                          "them may hurt more; a longer horizon settles it.")
            none = [_day(data, x["value"]) for x, e2 in ds if not e2 or e2.get("p50") is None]
            if none:
                s += f" At {_and(none)} the delay cannot be measured within the horizon."
            out += [s, ""]
            out += [f"| date | {end_head} | {T}'s roadmap delay (P50) | milestone hit "
                    "hardest |",
                    "| --- | --- | --- | --- |"]
            for x, e2 in ds:
                out.append(f"| {_day(data, x['value'])} | {ends(x['value'])} | "
                           f"{_fine_delay(e2, later=False)} | "
                           f"{_hardest_milestone(data, tn, x['variant']) or '-'} |")
            out.append("")
    if out:
        out = ["## Timing: when the lever hurts most", "",
               "In-batch sweeps over the date of a landlord's move, on the same histories "
               "as the baseline: the roadmap delay (the largest delay of any milestone) for "
               "each swept date.", "", *out]
    return out


# ------------------------------------------------------------------ sensitivity
#: Where each sensitivity input's default range comes from (the sources cited beside
#: :class:`simgpu.config.schema.SensitivityConfig`), and the config keys that hold it.
SENS_SOURCES = {
    "failure_rate": (("failure_rate", "failure_rate_factor"),
                     "the published range per GPU generation (docs/reliability.md): Hopper "
                     "3.79 (Llama 3 405B, arXiv:2407.21783, derived) to about 8.5 (Crusoe's "
                     "H200 cluster, GTC 2025 talk, secondary); Ampere 2.34 to 6.50 (Meta's "
                     "RSC-2 and RSC-1, Kokolis et al., arXiv:2410.21680); Blackwell 2.9 (a "
                     "504-GPU B200 run, arXiv:2605.09370, secondary) to 13 (twice the typical "
                     "6.5, an illustrative assumption); other GPU types ×0.6 to ×2.2 the "
                     "configured rate (illustrative)"),
    "restart": (("restart_hours",),
                "150 s with purpose-built recovery at 4,800 devices (FlashRecovery, "
                "arXiv:2509.03047) to 20 min, the upper end Meta's RSC reports (Kokolis et "
                "al., arXiv:2410.21680)"),
    "checkpoint_write": (("checkpoint_write",),
                         "an illustrative assumption: asynchronous writes block for "
                         "0.01-6 s, synchronous ones for minutes (docs/reliability.md)"),
    "mfu": (("mfu",), "the throughput model's P10-P90 band on sources it was not fitted on "
                      "(docs/perf.md)"),
    "repair": (("repair",), "an illustrative assumption: repair times per cause are "
                            "essentially unpublished for GPU clusters"),
    "ramp": (("ramp_days",), "an illustrative assumption: every capacity date 90 days "
                             "earlier or later"),
}


def _sens_source(data: ReportData, inp: str) -> str:
    """The source of an input's range, or that it was configured for this run."""
    from simgpu.config.schema import SensitivityConfig

    keys, text = SENS_SOURCES.get(inp, ((), ""))
    sens = data.plan.cfg.report.sensitivity
    default = SensitivityConfig()
    changed = [k for k in keys if getattr(sens, k, None) != getattr(default, k, None)]
    if not text or changed:
        where = ", ".join(f"report.sensitivity.{k}" for k in changed or keys) or "the config"
        return f"as configured for this run ({where})"
    return text


def _end_words(doc: dict, inp: str, end: str) -> str:
    """An input's end value as the summary writes it, with × for a multiplier."""
    v = str(((doc.get("inputs") or {}).get(inp) or {}).get(end, "?"))
    return "×" + v[1:] if v.startswith("x") else v


def _sens_lead(doc: dict, tenant: str) -> tuple[str, list[SensRow]] | None:
    """The metric the sentences lead with: the roadmap delay without the leases, or the
    first headline metric that any input moves; with its rows."""
    for metric in SENS_METRICS:
        rows = sens_rows(doc, tenant, metric)
        if rows and rows[0].swing is not None and rows[0].swing > 0:
            return metric, rows
    return None


def sensitivity_text(data: ReportData) -> list[str]:
    """The report's sensitivity section: which input moves the headline most and by how
    much, a table per tenant (inputs sorted by the swing of the roadmap delay without the
    leases), the ranges with their sources and what the analysis cost. Empty without
    ``summary["sensitivity"]``."""
    doc = data.summary.get("sensitivity")
    if not doc or not doc.get("tenants"):
        return []
    out = ["## Sensitivity: what the answers depend on", ""]
    n = doc.get("replicas")
    out += [f"Each uncertain input was set to the low and then to the high end of its range, "
            "one at a time, and the scenario simulated again on the main run's first "
            f"{_count(n, 'history', 'histories')} with their random numbers (common random "
            f"numbers), at {doc.get('step_hours'):g}-hour steps, beside a base point that "
            "changes nothing: a difference from the base point is the input's effect, not "
            "noise. The base point differs slightly from the main run (fewer histories, "
            "coarser steps): compare the points with it, not with the headline numbers "
            "above. \"≥\" marks a lower bound (a history had not finished by the horizon).",
            ""]
    for tn in doc["tenants"]:
        T = data.label(tn)
        base = doc["tenants"][tn].get("base") or {}
        lead = _sens_lead(doc, tn)
        if lead is None:
            out += [f"No input moves any of {T}'s headline numbers over its range.", ""]
        else:
            metric, rows = lead
            top = rows[0]
            words = SENS_METRICS[metric][0]
            s = (f"The input that moves {T}'s {words} most is the {top.words}: "
                 f"{sens_text(metric, top.low)} at its low end "
                 f"({_end_words(doc, top.input, 'low')}) and {sens_text(metric, top.high)} "
                 f"at its high end ({_end_words(doc, top.input, 'high')}), against "
                 f"{sens_text(metric, base.get(metric))} at the base point: a swing of "
                 f"{swing_text(metric, top)}.")
            rest = [r for r in rows[1:] if r.swing is not None]
            if rest:
                s += " Then, by swing: " + "; ".join(
                    f"{r.words}, {swing_text(metric, r, note=False)}" for r in rest) + "."
            if any(r.bounded and not r.swing_ge for r in rows if r.swing is not None):
                s += (" A swing that rests on lower bounds (\"≥\": some histories had not "
                      "finished by the horizon) is not a measured difference; a longer "
                      "horizon turns the bounds into values.")
            m = "control_index"
            r = sens_rows(doc, tn, m) if m != metric and m in base else []
            if r and r[0].swing:
                s += (f" The control index moves most with the {r[0].words}: "
                          f"{sens_text(m, r[0].low)} at its low end, "
                          f"{sens_text(m, r[0].high)} at its high end (base point "
                          f"{sens_text(m, base.get(m))}).")
            out += [s, ""]
        out += _sens_table(doc, tn) + [""]
        for m in sens_unmeasured(doc, tn):
            why = sens_null_reason(data.summary, tn, m)
            out += [f"The {SENS_METRICS[m][0]} cannot be measured at any point"
                    + (f" (in the main run: {why})" if why else "") + ".", ""]
        na = [r.words for r in sens_rows(doc, tn, "no_lease_delay_days") if not r.applies]
        if na:
            out += [f"Not run, because the scenario has nothing they act on: "
                    f"{_and(na)}.", ""]
    out += ["Ranges and their sources:", ""]
    for inp in doc.get("inputs") or {}:
        r = sens_range(doc, inp)
        w = SENS_INPUTS.get(inp, str((doc["inputs"][inp] or {}).get("what", inp)))
        out.append(f"- {w[:1].upper() + w[1:]}: {r}; {_sens_source(data, inp)}.")
    out.append("")
    runs, vs = doc.get("runs"), doc.get("variant_steps_per_replica")
    main = len(data.plan.variants) * data.plan.n_steps * data.replicas
    cost = (f"The analysis cost {_count(runs, 'extra run')} (the base point and a low and a "
            "high point per input that applies, each with the baseline, the no-lease "
            f"variant and the withholding levels) of {_count(n, 'history', 'histories')} "
            f"each: {vs:,} variant-steps per history")
    if vs and n and main:
        cost += (f", {vs * n / main:.2g} times the main run's "
                 f"{main:,} variant-steps over all its histories")
    out += [cost + ". Its wall time is `sensitivity_seconds` in `run.json`; "
            "`report.sensitivity.enabled=false` turns it off, `report.sensitivity.inputs` "
            "chooses the inputs.", ""]
    return out


def _sens_table(doc: dict, tenant: str) -> list[str]:
    """Markdown table: per input (sorted by the swing of the roadmap delay without the
    leases), its range and each headline metric at its low and high end."""
    metrics = [m for m in SENS_METRICS
               if m in ((doc["tenants"][tenant].get("base")) or {})]
    head = {"no_lease_delay_days": "roadmap delay without the leases (days)",
            "last_milestone_no_lease_delay_days": "last milestone's delay (days)",
            "control_index": "control index",
            "dependency_share": "dependency share (%)",
            "effective_usd_per_gpu_hour": "US$ per GPU-hour delivered"}
    rows = sens_rows(doc, tenant, metrics[0]) if metrics else []
    base = doc["tenants"][tenant].get("base") or {}
    out = ["| input | low to high | " + " | ".join(head.get(m, m) for m in metrics) + " |",
           "|" + " --- |" * (2 + len(metrics)),
           "| base point | as configured | " + " | ".join(
               sens_text(m, base.get(m), unit=False) for m in metrics) + " |"]
    for r in rows:
        if not r.applies:
            out.append(f"| {r.words} | does not apply | " + " | ".join(
                "not run" for _ in metrics) + " |")
            continue
        cells = []
        for m in metrics:
            mr = next(x for x in sens_rows(doc, tenant, m) if x.input == r.input)
            cells.append(f"{_na(sens_text(m, mr.low, unit=False))} → "
                         f"{_na(sens_text(m, mr.high, unit=False))}")
        out.append(f"| {r.words} | {r.range} | " + " | ".join(cells) + " |")
    return out


def _na(s: str) -> str:
    return "n/a" if s == "not measurable" else s


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
    "gpu_hours": "Each bar splits GPU-hours over the simulated horizon (mean over histories): "
                 "first what each tenant could use, then, per lease, what its contract paid for."
                 " Green, training progress kept; red, work rolled back by failures; orange, "
                 "time the runs spent restarting (after failures, moves and resizes, detection "
                 "included); light orange, checkpoint writes; purple, usable hours none of its "
                 "runs held while one of them waited for enough GPUs for its gang; grey, usable "
                 "hours none held with no run waiting (between runs, after the roadmap); cross-"
                 "hatched, paid hours not delivered healthy (failed nodes the tenant bears, "
                 "landlord-first takes); hatched, the baseline's hours the lever took away. A "
                 "lease's delivered hours are split as the tenant's hours on its pool are. The "
                 "share at each bar's end is of that variant's usable (tenant) or paid (lease) "
                 "hours.",
    "tornado": "One panel per headline number: each row is an uncertain input, its light bar "
               "runs from the base point (black line) to the number at the input's low end, "
               "its dark bar to the number at its high end; rows are sorted by swing, the "
               "largest on top. Hatched bars with an arrow are lower bounds, a cross marks a "
               "number that cannot be measured at that end.",
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
    lines += timing_text(data)
    lines += sensitivity_text(data)
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
