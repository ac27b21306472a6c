"""The short plain-text summary the CLI prints at the end of a run."""

from __future__ import annotations

from typing import Any


def _f(x: float | None, fmt: str = "{:.0f}") -> str:
    return "never" if x is None else fmt.format(x)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100.0 * x:.0f} %"


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
        ettr = j["ettr"]["mean"]
        lines.append(
            f"{name:<16}{j['party']:<12}{_f(fd['p50']):>15}{rng:>14}"
            f"{_f(j['interruptions']['mean'], '{:.1f}'):>12}"
            f"{_f(ettr, '{:.2f}') if ettr is not None else '-':>7}")
    for party, t in summary.get("tenants", {}).items():
        done = t["final_milestone_day"]["p50"]
        lines += [
            "",
            f"tenant {party}: {_pct(t['dependency_share']['p50'])} of its training "
            "FLOPs ran on landlord hardware (P50 over replicas); "
            + (f"roadmap done on day {done:.0f} (P50)" if done is not None
               else "roadmap not done within the horizon (P50)"),
        ]
        nl = t.get("no_lease_delay_days")
        if nl is not None and nl["p50"] is not None:
            bound = "at least " if nl["censored_fraction"] > 0 else ""
            ci = t["control_index"]
            lines.append(f"  without the lease: {bound}{nl['p50']:.0f} days later (P50); "
                         f"control index {_f(ci, '{:.2f}')}")
    return "\n".join(lines)
