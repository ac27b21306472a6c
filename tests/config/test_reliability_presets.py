"""The reliability presets span the published range (conf/reliability/): the flagship
(``hopper``, Llama 3 405B's run) fails least, a typical mature cluster
(``hopper_typical``) more, a new build (``hopper_new_build``) most in its first months,
decaying to the typical cluster as its nodes age; each composes into the default scenario
and into a pool that comes online in tranches."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from simgpu.config import compose, load
from simgpu.engine.plan import compile_plan

FLAGSHIP, TYPICAL, NEW_BUILD = "hopper", "hopper_typical", "hopper_new_build"
PRESETS = [FLAGSHIP, TYPICAL, NEW_BUILD]


@functools.cache  # a plan is read, never changed, by these tests
def _plan(preset: str, pool: str = "colossus1"):
    cfg = load(compose(["experiment=colossus_lease",
                        f"reliability@pools.{pool}.reliability={preset}"]))
    plan = compile_plan(cfg)
    return cfg, plan, plan.pool_names.index(pool)


def _rate_per_1000_node_days(plan, p: int) -> np.ndarray:
    """The pool's expected failures per 1000 node-days, step by step (lemons and node
    age included), as the engine draws them."""
    return float(plan.pool_node_rate[p]) * 24000.0 * plan.fail_mult[p]


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_into_the_default_scenario(preset):
    cfg, plan, p = _plan(preset)
    rel = cfg.pools["colossus1"].reliability
    assert set(rel.causes) == {"gpu", "software", "host", "network", "unknown"}
    assert sum(c.share for c in rel.causes.values()) == pytest.approx(1.0)
    assert plan.fail_mult.shape[1] == plan.n_steps


def test_rates_span_the_published_range_in_order():
    rates = {}
    for preset in PRESETS:
        _, plan, p = _plan(preset)
        rates[preset] = _rate_per_1000_node_days(plan, p)
    steps_per_day = round(24.0 / _plan(FLAGSHIP)[1].dt)
    first_3_months = slice(0, 90 * steps_per_day)
    for window in (slice(0, 1), first_3_months):
        f, t, n = (float(rates[k][window].mean()) for k in PRESETS)
        assert f < t < n, (window, f, t, n)
    # the sourced values: Llama 3 405B's 3.79, RSC-1's 6.50 (averages over the nodes)
    assert rates[FLAGSHIP][0] == pytest.approx(3.79, abs=0.01)
    assert rates[TYPICAL][0] == pytest.approx(6.50, abs=0.01)
    # a new build handed over after 14 days of burn-in: 1 + 2 exp(-14 / 90)
    assert rates[NEW_BUILD][0] / rates[TYPICAL][0] == pytest.approx(
        1.0 + 2.0 * np.exp(-14.0 / 90.0), rel=1e-3)
    assert np.all(rates[FLAGSHIP] == rates[FLAGSHIP][0])  # no ageing: constant
    assert np.all(rates[TYPICAL] == rates[TYPICAL][0])


def test_new_build_hazard_decays_to_the_typical_cluster():
    _, plan_t, pt = _plan(TYPICAL)
    _, plan_n, pn = _plan(NEW_BUILD)
    typical = _rate_per_1000_node_days(plan_t, pt)
    new = _rate_per_1000_node_days(plan_n, pn)
    assert np.all(np.diff(new) <= 1e-12)  # never rises: no tranche arrives in colossus1
    day = round(24.0 / plan_n.dt)
    assert new[30 * day] / typical[30 * day] == pytest.approx(
        1.0 + 2.0 * np.exp(-44.0 / 90.0), rel=1e-3)
    assert 1.0 < new[365 * day] / typical[365 * day] < 1.05
    assert new[-1] == pytest.approx(typical[-1], rel=1e-3)  # after three years
    # mature, the two presets are the same cluster
    assert plan_n.pool_node_rate[pn] == plan_t.pool_node_rate[pt]


def test_new_build_ages_each_tranche_from_its_own_hand_over():
    """Colossus 2 comes online in three tranches: each arrives 14 days old (burn-in) and
    raises the pool's multiplier, which then decays again."""
    cfg, plan, p = _plan(NEW_BUILD, "colossus2")
    start = np.datetime64(cfg.sim.start)
    for point in cfg.pools["colossus2"].capacity[1:]:
        k = int((np.datetime64(point.at) - start) / np.timedelta64(1, "h") / plan.dt)
        assert plan.fail_mult[p, k] > plan.fail_mult[p, k - 1] + 0.1, point.at
    assert plan.fail_mult[p, 0] == pytest.approx(1.0 + 2.0 * np.exp(-14.0 / 90.0), rel=1e-6)


def test_typical_cluster_finds_hangs_by_the_default_watchdog():
    """A typical operator's hangs (network, NCCL watchdog) wait for PyTorch's 10-minute
    collective time-out; the flagship's tuned detection charges none."""
    for preset, want in ((FLAGSHIP, 0.0), (TYPICAL, 10.0), (NEW_BUILD, 10.0)):
        _, plan, p = _plan(preset)
        names = plan.cause_names[:plan.n_node_causes]
        detect_min = dict(zip(names, 60.0 * plan.cause_detect[p, :plan.n_node_causes],
                              strict=True))
        assert detect_min["network"] == pytest.approx(want, abs=1e-3), preset
        assert detect_min["unknown"] == pytest.approx(want, abs=1e-3), preset
        assert detect_min["gpu"] == 0.0 and detect_min["host"] == 0.0
