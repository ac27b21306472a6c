"""What the headline answers depend on: each uncertain input at a low and a high value.

One input at a time is set to the low or the high end of its range
(``report.sensitivity``; the defaults and their sources are in
:class:`simgpu.config.schema.SensitivityConfig` and docs/report.md) and the scenario is
simulated again with the same seed and replica ids as the main run, so every point shares
the main run's random numbers (common random numbers: a difference between two points is
the input's effect, not noise), together with a base point that changes nothing. Each
point runs the baseline, the no-lease variant and the withholding levels: what the
headline metrics need. The points run at ``report.sensitivity.step_hours`` and
``report.sensitivity.replicas``, so the base point differs slightly from the main run;
compare the points with the base point, not with the main run.

Headline metrics, per tenant: dependency share (P50), roadmap delay without the leases
(the largest delay of any milestone, P50) and the last milestone's, the control index, and
the effective price: payments over the median healthy GPU-hours delivered, over the
tenant's leases.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

from simgpu.config import schema as S

log = logging.getLogger(__name__)

#: GPU types -> the generation whose published failure-rate range applies.
GENERATION = {"a100": "ampere", "h100": "hopper", "h200": "hopper", "b200": "blackwell",
              "gb200": "blackwell", "gb300": "blackwell", "b300": "blackwell"}
#: What each input means, for the summary and the report.
INPUT_TEXT = {
    "failure_rate": "node failure rate (published range per GPU generation)",
    "restart": "restart time after an interruption",
    "checkpoint_write": "checkpoint write time",
    "mfu": "MFU (throughput model's out-of-source band)",
    "repair": "repair and outage durations",
    "ramp": "capacity ramp dates",
}
METRICS = ("dependency_share", "no_lease_delay_days", "last_milestone_no_lease_delay_days",
           "control_index", "effective_usd_per_gpu_hour")


@dataclass
class Point:
    input: str
    end: str  # "low", "high" or "base"
    what: str  # the value, in words
    config: S.SimgpuConfig | None  # None: the input does not apply to this scenario


def _base(cfg: S.SimgpuConfig) -> S.SimgpuConfig:
    """The scenario as the sensitivity points run it: no landlord-first, non-renewal,
    per-landlord or sweep variants, no sensitivity of its own, the points' step."""
    out = copy.deepcopy(cfg)
    sens = out.report.sensitivity
    cf = out.scenario.counterfactuals
    cf.no_lease, cf.landlord_first, cf.non_renew, cf.per_landlord = True, False, False, False
    out.scenario.sweeps = {}
    out.sim.replicas = min(sens.replicas, cfg.sim.replicas_at_least)
    out.sim.step_hours = sens.step_hours
    out.sim.chunk_replicas = 0
    out.sim.progress = False
    out.report.daily_series = False
    out.report.formats = []
    out.report.sensitivity = S.SensitivityConfig(enabled=False)
    return out


def _avg_rate(rel: S.ReliabilityConfig) -> float:
    return rel.failures_per_1000_node_days * (1.0 + rel.lemon_fraction * (rel.lemon_factor - 1))


def _set_avg_rate(rel: S.ReliabilityConfig, avg: float) -> None:
    rel.failures_per_1000_node_days = avg / (1.0 + rel.lemon_fraction * (rel.lemon_factor - 1))


def _scale_duration(d: S.DurationConfig, m: float) -> None:
    d.mean_hours *= m
    d.max_hours *= m


def points(cfg: S.SimgpuConfig) -> list[Point]:
    """The base point and a low and a high point per configured input."""
    sens = cfg.report.sensitivity
    base = _base(cfg)
    out = [Point("base", "base", "as configured", base)]
    for inp in sens.inputs:
        name = inp.value if isinstance(inp, S.SensitivityInput) else str(inp)
        for k, end in enumerate(("low", "high")):
            c = copy.deepcopy(base)
            what = _apply(c, name, k, sens)
            out.append(Point(name, end, what or "does not apply", c if what else None))
    return out


def _apply(c: S.SimgpuConfig, name: str, k: int, sens: S.SensitivityConfig) -> str | None:
    """Set input ``name`` of ``c`` to its low (k=0) or high (k=1) end; its value in words,
    or None when the scenario has nothing it applies to."""
    if name == "failure_rate":
        parts = []
        for p in c.pools.values():
            gen = GENERATION.get(p.gpu)
            band = sens.failure_rate.get(gen) if gen else None
            if band:
                _set_avg_rate(p.reliability, band[k])
                parts.append(f"{p.gpu} {band[k]:g}")
            else:
                f = sens.failure_rate_factor[k]
                _set_avg_rate(p.reliability, _avg_rate(p.reliability) * f)
                parts.append(f"{p.gpu} x{f:g}")
        return "per 1000 node-days: " + ", ".join(dict.fromkeys(parts)) if parts else None
    if name == "restart":
        for j in c.jobs.values():
            j.restart_hours = sens.restart_hours[k]
        return f"{sens.restart_hours[k] * 60:.3g} min"
    if name == "checkpoint_write":
        for j in c.jobs.values():
            ck = j.checkpoint
            if ck.size_gb is not None:  # the write follows the storage: scale its speed
                ck.storage_gb_s /= sens.checkpoint_write[k]
            else:
                from simgpu.timeline import checkpoint_write_hours

                ck.write_hours = checkpoint_write_hours(j) * sens.checkpoint_write[k]
        return f"x{sens.checkpoint_write[k]:g}"
    if name == "mfu":
        if sens.mfu:
            m = sens.mfu[k]
        else:
            from simgpu.perf import band_multipliers

            m = band_multipliers()[k]
        for j in c.jobs.values():
            j.mfu_scale *= m
        return f"x{m:.3g}"
    if name == "repair":
        m = sens.repair[k]
        for p in c.pools.values():
            rel = p.reliability
            _scale_duration(rel.repair, m)
            for cause in rel.causes.values():
                _scale_duration(cause.repair, m)
            for dom in rel.domains.values():
                _scale_duration(dom.duration, m)
        return f"x{m:g}"
    if name == "ramp":
        shift = sens.ramp_days[k]
        moved = False
        for p in c.pools.values():
            for pt in p.capacity:
                pt.at = _shift(pt.at, shift)
                moved = True
        return f"{shift:+g} days" if moved else None
    raise ValueError(f"unknown sensitivity input {name!r}")


def _shift(date: str, days: float) -> str:
    from datetime import timedelta

    return (S.parse_date(date) + timedelta(days=days)).isoformat()


def headline(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per tenant, the headline metrics of one point: ``{metric: {value, lower_bound}}``."""
    out = {}
    leases = summary.get("leases") or {}
    for name, t in (summary.get("tenants") or {}).items():
        nl = t.get("no_lease_delay_days") or {}
        last = ((t.get("counterfactuals") or {}).get("no_lease") or {}).get(
            "last_milestone_delay_days") or {}
        mine = [le for le in leases.values() if le["tenant"] == name]
        paid = sum(le["paid_usd"] for le in mine)
        deliv = sum(le["delivered_gpu_hours"]["p50"] or 0.0 for le in mine)
        out[name] = {
            "dependency_share": {"value": t["dependency_share"]["p50"], "lower_bound": False},
            "no_lease_delay_days": {"value": nl.get("p50"),
                                    "lower_bound": bool(nl.get("lower_bound"))},
            "last_milestone_no_lease_delay_days": {"value": last.get("p50"),
                                                   "lower_bound": bool(last.get("lower_bound"))},
            "control_index": {"value": t.get("control_index"),
                              "lower_bound": bool(t.get("control_index_lower_bound"))},
            "effective_usd_per_gpu_hour": {"value": paid / deliv if deliv > 0 else None,
                                           "lower_bound": False},
        }
    return out


def analyse(cfg: S.SimgpuConfig) -> dict[str, Any] | None:
    """Run every point and gather the headline metrics; None when disabled or when the
    scenario has no landlord lease to a tenant (nothing to be sensitive about)."""
    from simgpu import timeline as tl
    from simgpu.run import run

    sens = cfg.report.sensitivity
    if not sens.enabled or not tl.counterfactual_leases(cfg):
        return None
    pts = points(cfg)
    t0 = time.perf_counter()
    results = []
    quiet = logging.getLogger("simgpu")
    level = quiet.level
    runnable = [p for p in pts if p.config is not None]
    for i, p in enumerate(runnable):
        log.info("sensitivity %d/%d: %s %s (%s)", i + 1, len(runnable), p.input, p.end,
                 p.what)
        quiet.setLevel(logging.WARNING)
        try:
            res = run(p.config)
        finally:
            quiet.setLevel(level)
        results.append((p, headline(res.summary), len(res.plan.variants) * res.plan.n_steps))
    wall = time.perf_counter() - t0
    base = next(h for p, h, _ in results if p.end == "base")
    doc: dict[str, Any] = {
        "replicas": min(sens.replicas, cfg.sim.replicas_at_least),
        "step_hours": sens.step_hours,
        "runs": len(results),
        "variant_steps_per_replica": sum(n for _, _, n in results),
        "inputs": {},
        "tenants": {t: {"base": m, "inputs": {}} for t, m in base.items()},
    }
    for p in pts:
        if p.end == "base":
            continue
        doc["inputs"].setdefault(p.input, {"what": INPUT_TEXT.get(p.input, p.input)})
        doc["inputs"][p.input][p.end] = p.what
    for p, h, _ in results:
        if p.end == "base":
            continue
        for t, m in h.items():
            doc["tenants"][t]["inputs"].setdefault(p.input, {})[p.end] = m
    for p in pts:  # inputs that do not apply: null metrics, said so
        if p.config is None:
            for t in doc["tenants"]:
                doc["tenants"][t]["inputs"].setdefault(p.input, {})[p.end] = None
    log.info("sensitivity: %d runs of %d replicas in %.1f s", len(results), doc["replicas"],
             wall)
    return doc
