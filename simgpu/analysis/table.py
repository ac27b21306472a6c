"""The short plain-text summary the CLI prints at the end of a run."""

from __future__ import annotations

from typing import Any


def _f(x: float | None, fmt: str = "{:.0f}") -> str:
    return "never" if x is None else fmt.format(x)


def format_table(summary: dict[str, Any]) -> str:
    """Jobs (finish day P50 and P10-P90, interruptions, ETTR) and each tenant's headline."""
    lines = [
        f"{summary['name']}: {summary['replicas']} replicas, {len(summary['variants'])} "
        f"variants, {summary['horizon_days']:.0f} days in {summary['steps']} steps "
        f"({summary['backend']}, {summary['wall_seconds']:.1f} s)",
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
        nl = t.get("no_lease_delay_days") or {}
        lines += [
            "",
            f"tenant {party}: {100 * (t['dependency_share']['mean'] or 0):.0f} % of its "
            f"training FLOPs ran on landlord hardware; roadmap done on day "
            f"{_f(t['final_milestone_day']['p50'])} (P50)",
            f"  without the lease: {_f(nl.get('p50'))} days later (P50); "
            f"control index {_f(t['control_index'], '{:.2f}')}",
        ]
    return "\n".join(lines)
