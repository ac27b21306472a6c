"""The short plain-text summary the CLI prints at the end of a run."""

from __future__ import annotations

from typing import Any

from simgpu.analysis import fmt

LEVER_WORDS = (("no_lease_delay_days", "no lease"),
               ("landlord_first_delay_days", "landlord's jobs first"),
               ("non_renew_delay_days", "lease not renewed"))


def _f(x: float | None, spec: str = "{:.0f}", none: str = "never") -> str:
    return none if x is None else spec.format(x)


def _tenant_lines(name: str, t: dict[str, Any]) -> list[str]:
    dep = t["dependency_share"]
    done = t["final_milestone_day"]["p50"]
    by = t.get("by_landlord") or {}
    split = ", ".join(f"{n} {fmt.pct(e['dependency_share']['p50'])}" for n, e in by.items())
    lines = [f"tenant {name}: {fmt.pct(dep['p50'])} of its training FLOPs ran on landlord "
             f"hardware (P50 over replicas{'; ' + split if len(by) > 1 else ''}); "
             + (f"roadmap done on day {done:.0f} (P50)" if done is not None
                else "roadmap not done within the horizon (P50)")]
    for key, words in LEVER_WORDS:
        d = t.get(key)
        if d is None:
            continue
        cf = (t.get("counterfactuals") or {}).get(key.removesuffix("_delay_days"))
        where = ""
        big = cf and cf.get("largest_delay_milestone")
        if big and big != cf.get("last_milestone") and \
                abs(cf["by_milestone"][big]["p50"]) >= 0.5:
            where = (f"; largest at {cf['largest_delay_milestone']}, last milestone "
                     f"{fmt.delay(cf['last_milestone_delay_days'])}")
        lines.append(f"  {words + ':':<24}roadmap {fmt.delay(d)} (P50, largest milestone "
                     f"delay{where})")
    ci = t.get("control_index")
    why = t.get("control_index_null_reason")
    lines.append(f"  {'control index:':<24}"
                 + (fmt.index(ci, t.get("control_index_lower_bound", False)) if ci is not None
                    else f"n/a ({why})"))
    most = t.get("most_leverage_landlord")
    if len(by) > 1 and most:
        conc = t["concentration"]
        ge = fmt.GE if most["lower_bound"] else ""
        lines.append(f"  {'most leverage:':<24}{most['landlord']} (roadmap "
                     f"{ge}{fmt.days(most['no_lease_delay_days_p50'])} "
                     f"later without its leases); largest share {conc['largest_landlord']}, "
                     f"Herfindahl {_f(conc['herfindahl'], '{:.2f}', 'n/a')}")
    return lines


def format_table(summary: dict[str, Any], facts: dict[str, Any] | None = None) -> str:
    """Jobs (finish day P50 and P10-P90, interruptions, ETTR) and each tenant's headline;
    ``facts`` (run.json: backend, wall time) adds how the run went."""
    how = (f" ({facts['backend']}, {facts['wall_seconds']:.1f} s)"
           if facts and "backend" in facts else "")
    lines = [
        f"{summary['name']}: {summary['replicas']} replicas, {len(summary['variants'])} "
        f"variants, {summary['horizon_days']:.0f} days in {summary['steps']} steps{how}",
        "",
        f"{'job':<16}{'party':<12}{'finish day P50':>15}{'P10-P90':>14}"
        f"{'interrupts':>12}{'ETTR':>7}",
    ]
    for name, j in summary["jobs"].items():
        fd = j["finish_day"]
        rng = f"{_f(fd['p10'])}-{_f(fd['p90'])}"
        lines.append(
            f"{name:<16}{j['party']:<12}{_f(fd['p50']):>15}{rng:>14}"
            f"{_f(j['interruptions']['mean'], '{:.1f}'):>12}"
            f"{_f(j['ettr']['mean'], '{:.2f}', '-'):>7}")
    for party, t in summary.get("tenants", {}).items():
        lines += ["", *_tenant_lines(party, t)]
    for w in summary.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines)
