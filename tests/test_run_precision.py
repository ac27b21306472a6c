"""``sim.replicas: auto`` end to end on the tiny default: where it stops, and why, and
that its replicas are a fixed run's."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from tiny_config import TINY_OVERRIDES

import simgpu
from simgpu import cases
from simgpu.analysis import precision as pm
from simgpu.engine.numpy_engine import RawResults
from simgpu.report import render
from simgpu.report.text import precision_text
from simgpu.run import run

BASE = [o for o in TINY_OVERRIDES if not o.startswith("sim.replicas=")]
#: rounds of 6, then 4 more, up to 30; a memory chunk of 4 splits every round
AUTO = ["sim.replicas=auto", "sim.precision.min_replicas=6", "sim.precision.step_replicas=4",
        "sim.precision.max_replicas=30", "sim.precision.dependency_share=null",
        "sim.chunk_replicas=4"]
CHECKS = [6, 10, 14, 18, 22, 26, 30]


@pytest.fixture(scope="module")
def fixed30():
    return run(simgpu.compose([*BASE, "sim.replicas=30"]))


def _widest(res, n: int, prec) -> float:
    found = pm.metrics(res.plan, res.raw.head(n), prec)
    widths = [m.assess(prec.ci_level)["half_width"] for m in found]
    assert widths and all(w is not None for w in widths)
    return max(widths)


def _auto(*extra: str):
    return run(simgpu.compose([*BASE, *AUTO, *extra]))


def _dumps(summary: dict) -> str:
    return json.dumps(summary, sort_keys=True)


@pytest.fixture(scope="module")
def stop_at_target(fixed30):
    """A delay target that the first 18 replicas meet and no fewer do, read off the
    fixed run of 30: the auto run must stop at 18."""
    prec = simgpu.config.load(simgpu.compose([*BASE, *AUTO])).sim.precision
    widest = {n: _widest(fixed30, n, prec) for n in CHECKS}
    assert widest[18] < min(widest[n] for n in (6, 10, 14)), widest
    return widest[18]


def test_auto_stops_at_the_first_check_that_meets_the_target(stop_at_target, caplog):
    with caplog.at_level(logging.INFO, logger="simgpu.run"):
        res = _auto(f"sim.precision.delay_days={stop_at_target!r}")
    p = res.summary["precision"]
    assert p["stop_reason"] == "target_reached"
    assert p["replicas_run"] == res.summary["replicas"] == 18
    assert p["checks"] == [6, 10, 14, 18]
    assert all(m["reached"] for m in p["metrics"].values())
    assert max(m["half_width"] for m in p["metrics"].values()) == stop_at_target
    assert res.raw.job_finish_h.shape[1] == 18
    log = caplog.text
    assert "after 14 replicas" in log and "continuing to 18" in log
    assert "after 18 replicas" in log and "stopping (target_reached)" in log
    assert precision_text(res.summary).startswith(
        "The number of histories was set by precision (sim.replicas: auto): it stopped after "
        "18 histories because every targeted median reached its target (P50 roadmap delays "
        f"within ±{stop_at_target:g} days, 95 % confidence); the widest interval: ")


def test_the_report_states_the_precision_and_re_renders_from_the_saved_run(tmp_path):
    res = _auto("sim.precision.delay_days=1e-9")
    res.write(tmp_path)
    (md,) = [p for p in render(tmp_path, ["markdown"]) if p.suffix == ".md"]
    text = md.read_text()
    assert "it stopped after 30 histories because it reached the cap of 30" in text
    assert "(target ±1e-09)" in text
    assert "replicas: auto" in (tmp_path / "config.yaml").read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["precision"]["replicas_run"] == 30
    assert precision_text(run(simgpu.compose([*BASE, "sim.replicas=2"])).summary) is None


def test_an_auto_runs_replicas_are_a_fixed_runs_first_ones(stop_at_target, fixed30):
    auto = _auto(f"sim.precision.delay_days={stop_at_target!r}")
    head = fixed30.raw.head(18)
    for name in RawResults.__dataclass_fields__:
        a, b = getattr(auto.raw, name), getattr(head, name)
        if a is None:
            assert b is None, name
            continue
        assert np.array_equal(a, b), name
    fixed18 = run(simgpu.compose([*BASE, "sim.replicas=18"]))
    rest = {k: v for k, v in auto.summary.items() if k != "precision"}
    assert _dumps(rest) == _dumps(fixed18.summary)
    again = _auto(f"sim.precision.delay_days={stop_at_target!r}")
    assert _dumps(again.summary) == _dumps(auto.summary)  # deterministic, precision block too


def test_the_cap_stops_it_and_says_so(fixed30):
    res = _auto("sim.precision.delay_days=1e-9")
    p = res.summary["precision"]
    assert p["stop_reason"] == "max_replicas"
    assert p["replicas_run"] == 30 and p["checks"] == CHECKS
    assert not all(m["reached"] for m in p["metrics"].values())
    assert p["machine_dependent"] is False
    assert np.array_equal(res.raw.job_finish_h, fixed30.raw.job_finish_h)


def test_the_time_budget_stops_it_says_so_and_marks_the_result_machine_dependent(caplog):
    with caplog.at_level(logging.INFO, logger="simgpu.run"):
        res = _auto("sim.precision.delay_days=1e-9", "sim.precision.time_budget_s=1e-6")
    p = res.summary["precision"]
    assert p["stop_reason"] == "time_budget"
    assert p["replicas_run"] == 6 and p["checks"] == [6]  # the first round always runs
    assert p["machine_dependent"] is True and p["time_budget_s"] == 1e-6
    assert "depends on this machine's speed" in caplog.text
    assert "depends on the machine that ran it" in precision_text(res.summary)


def test_dependency_share_targets_are_checked_in_points():
    res = _auto("sim.precision.delay_days=null", "sim.precision.dependency_share=0.5")
    p = res.summary["precision"]
    assert list(p["metrics"]) == ["tenants.anthropic.dependency_share.p50"]
    m = p["metrics"]["tenants.anthropic.dependency_share.p50"]
    assert m["estimate"] == res.summary["tenants"]["anthropic"]["dependency_share"]["p50"]
    assert p["stop_reason"] == "target_reached" and p["replicas_run"] == 6


def test_without_randomness_every_interval_is_exact_and_auto_stops_at_once():
    """Two landlords, no failures: every history is the same (delays worked out by hand
    in simgpu.cases.two_landlords), so every interval has width 0 and the run stops after
    its first round; each targeted median is the summary's value at its path, the
    dependency share on each landlord included."""
    cfg = cases.two_landlords()
    cfg["sim"].update(replicas="auto", progress=False,
                      precision={"min_replicas": 6, "step_replicas": 4, "max_replicas": 30})
    res = run(cfg)
    p = res.summary["precision"]
    assert (p["stop_reason"], p["replicas_run"], p["checks"]) == ("target_reached", 6, [6])
    assert {"tenants.tn.by_landlord.l1.dependency_share.p50",
            "tenants.tn.by_landlord.l2.dependency_share.p50",
            "tenants.tn.counterfactuals.no_lease@l1.roadmap_delay_days.p50"} <= set(p["metrics"])
    for path, m in p["metrics"].items():
        node = res.summary
        for key in path.split("."):
            node = node[key]
        assert m["estimate"] == node, path
        assert m["half_width"] == 0.0 and m["lower"] == m["upper"] == node, path
