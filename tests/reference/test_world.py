"""The reference's own reading of a configuration (simgpu.reference.world), by hand.

The reference derives every input from the validated configuration, never from the
engine's plan; these tests check that derivation against hand computation, and that the
two independent derivations name the same jobs and variants in the same order.
"""

from __future__ import annotations

import math

import pytest

from simgpu.cases import kernel_mix, landlord_tenant, one_pool, random_config
from simgpu.config.load import load
from simgpu.engine.plan import compile_plan
from simgpu.reference.world import build_world, daly_interval, young_interval


def _world(cfg: dict):
    return build_world(load(cfg))


def test_mw_schedule_converts_through_the_facility_kw():
    cfg = one_pool(nodes=200)
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01", "mw": 1.2}]
    pool = _world(cfg).pools[0]
    # 1.2 MW / 1.5 kW per GPU / 8 GPUs per node = 100 nodes
    assert pool.online(0.0) == 100
    assert pool.online(40.0) == 100


def test_step_schedule_is_empty_before_its_first_point():
    cfg = one_pool(nodes=10)
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01T06:00", "nodes": 4},
                                     {"at": "2026-01-01T12:00", "nodes": 10}]
    pool = _world(cfg).pools[0]
    assert [pool.online(t) for t in (0.0, 5.99, 6.0, 11.5, 12.0, 47.0)] == [0, 0, 4, 4, 10, 10]


def test_linear_schedule_changes_at_every_whole_node():
    cfg = one_pool(nodes=10)
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01", "nodes": 0},
                                     {"at": "2026-01-01T10:00", "nodes": 10}]
    cfg["pools"]["p"]["interpolation"] = "linear"
    pool = _world(cfg).pools[0]
    assert pool.change_h[1:] == pytest.approx([float(k) for k in range(1, 11)], abs=1e-6)
    assert [pool.online(t) for t in (0.5, 1.0 + 1e-6, 9.5, 10.0, 30.0)] == [0, 1, 9, 10, 10]


def _aging_pool(horizon_days: float = 20.0, **rel) -> dict:
    cfg = one_pool(nodes=100, horizon_days=horizon_days, step_hours=0.5)
    cfg["pools"]["p"]["reliability"].update(rel)
    return cfg


def test_maintenance_keeps_a_fraction_of_each_class_out():
    """100 nodes, 20 lemons, 10 % in maintenance: floor(80 x 0.9) = 72 sound and
    floor(20 x 0.9) = 18 lemons available; 90 nodes are what the reference calls online
    (contracts, outages, payments)."""
    pool = _world(_aging_pool(lemon_fraction=0.2, maintenance_fraction=0.1)).pools[0]
    assert pool.online(0.0) == 90
    assert pool.classes(0.0) == (72, 18)
    assert pool.classes(400.0) == (72, 18)


def test_lemon_removal_decays_each_lemon_out():
    """100 nodes online from the start, brand new (age 0), 20 % lemons removed with a
    10-day time constant: floor(20 exp(-t / 240 h) + 0.5) lemons, the first replaced at
    240 ln(20 / 19.5) = 6.076 h, the last at 240 ln(20 / 0.5) = 885.3 h; sound nodes
    replace them (100 online throughout)."""
    pool = _world(_aging_pool(40.0, lemon_fraction=0.2, lemon_removal_days=10.0,
                              age_at_start_days=0.0)).pools[0]
    t1, t20 = 240.0 * math.log(20.0 / 19.5), 240.0 * math.log(20.0 / 0.5)
    assert pool.classes(0.0) == (80, 20)
    assert pool.classes(t1 - 1e-6) == (80, 20)
    assert pool.classes(t1 + 1e-6) == (81, 19)
    for t in (50.0, 200.0, 480.0):
        lem = math.floor(20.0 * math.exp(-t / 240.0) + 0.5)
        assert pool.classes(t) == (100 - lem, lem)
    assert pool.classes(t20 - 1e-6) == (99, 1)
    assert pool.classes(t20 + 1e-6) == (100, 0)
    assert pool.change_h[-1] == pytest.approx(t20)
    assert all(pool.online(t) == 100 for t in pool.change_h[1:])


def test_available_nodes_agree_with_the_engine_plan():
    """Two independent derivations of the nodes available per class (tranches with their
    own ages, a retirement in proportion, lemon removal, maintenance): the reference at
    the engine's step starts equals the plan's counts at every step (a step schedule: the
    tranches arrive at the same hours)."""
    cfg = _aging_pool(lemon_fraction=0.3, lemon_factor=4.0, lemon_removal_days=3.0,
                      maintenance_fraction=0.1, age_at_start_days=1.0, burn_in_days=0.5)
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01", "nodes": 40},
                                     {"at": "2026-01-04", "nodes": 100},
                                     {"at": "2026-01-10", "nodes": 70}]
    c = load(cfg)
    plan = compile_plan(c)
    pool = build_world(c).pools[0]
    got = [pool.classes(t * plan.dt) for t in range(plan.n_steps)]
    assert [g[0] for g in got] == plan.online_normal[0].tolist()
    assert [g[1] for g in got] == plan.online_lemon[0].tolist()
    assert len(set(got)) > 20  # the lemons fall many times, the schedule changes


def test_lemon_split_rounds_to_the_nearest_node():
    cfg = one_pool(nodes=10)
    cfg["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": 24.0,
                                        "lemon_fraction": 0.25, "lemon_factor": 4.0}
    pool = _world(cfg).pools[0]
    assert pool.split(10) == (7, 3)  # floor(2.5 + 0.5) lemons
    assert pool.rate == pytest.approx((0.001, 0.004))  # per node-hour
    assert pool.node_rate == pytest.approx(0.001 * (1 + 0.25 * 3))


def test_contracts_by_share_and_by_gpus():
    w = _world(landlord_tenant(share=0.35, nodes=10))
    assert w.leases[0].contracted(0, 10, 8) == 3
    cfg = landlord_tenant(nodes=10)
    del cfg["leases"]["l"]["share"]
    cfg["leases"]["l"]["gpus"] = 20
    assert _world(cfg).leases[0].contracted(0, 10, 8) == 2  # whole nodes


def test_renewals_non_renewal_and_no_lease():
    cfg = landlord_tenant(share=0.5, nodes=10, start="2026-01-01", end="2026-01-01T12:00",
                          renewals=2)
    cfg["sim"]["horizon_days"] = 2.0
    w = _world(cfg)
    le = w.leases[0]
    base, no, nr = (w.variant_index(n) for n in ("baseline", "no_lease", "non_renew"))
    assert [le.frac[base].at(t) for t in (0.0, 35.9, 36.0)] == [1.0, 1.0, 0.0]
    assert [le.frac[nr].at(t) for t in (11.9, 12.0)] == [1.0, 0.0]
    assert all(le.frac[no].at(t) == 0.0 for t in (0.0, 10.0, 40.0))


def test_non_renewal_action_ends_the_term_in_progress():
    cfg = landlord_tenant(share=0.5, nodes=10, start="2026-01-01", end="2026-01-01T12:00",
                          renewals=2, notice_days=0.25)
    cfg["sim"]["horizon_days"] = 2.0
    cfg["scenario"] = {"actions": [{"kind": "non_renew", "lease": "l",
                                    "at": "2026-01-01T08:00"}]}
    le = _world(cfg).leases[0]
    # effective at 14:00 (8:00 + 6 h notice), in the second term: ends at 24:00
    assert [le.frac[0].at(t) for t in (23.9, 24.0)] == [1.0, 0.0]


def test_actions_after_notice_and_payments():
    """The engine's hand case (tests/engine/test_engine.py), derived independently."""
    cfg = landlord_tenant(share=0.5, nodes=10, notice_days=0.25)
    cfg["scenario"] = {"actions": [
        {"kind": "withhold", "lease": "l", "at": "2026-01-01T04:00", "until":
         "2026-01-01T14:00", "fraction": 0.6},
        {"kind": "price_change", "lease": "l", "at": "2026-01-01T18:00",
         "price_factor": 2.0}]}
    w = _world(cfg)
    le = w.leases[0]
    # withheld from 10:00 (04:00 + 6 h notice) until 14:00 (until: the date it stops)
    assert [le.frac[0].at(t) for t in (9.9, 10.0, 13.9, 14.0)] == pytest.approx(
        [1.0, 0.4, 0.4, 1.0])
    # $8.766M a year = $1000/h; 40 % while withheld; doubled from 24:00
    assert [le.usd_h[0](t) for t in (0.0, 12.0, 23.0, 30.0)] == pytest.approx(
        [1000.0, 400.0, 1000.0, 2000.0])
    from simgpu.reference.des import simulate_des

    paid = simulate_des(load(cfg), 1)["lease_paid_usd"][0]
    assert paid == pytest.approx(1000.0 * (10.0 + 0.4 * 4.0 + 10.0) + 2000.0 * 24.0)


def test_counterfactual_withholding_window_and_sweeps():
    cfg = landlord_tenant(share=0.5, nodes=10)
    cfg["scenario"] = {
        "counterfactuals": {"no_lease": False, "withhold_levels": [0.5],
                            "withhold_start": "2026-01-01T06:00", "withhold_days": 0.5,
                            "landlord_first": False, "non_renew": False},
        "sweeps": {"late": {"lever": "start_days", "values": [0.5]},
                   "half": {"lever": "share", "values": [0.25]}}}
    w = _world(cfg)
    le = w.leases[0]
    v = w.variant_index("withhold_50")
    assert [le.frac[v].at(t) for t in (5.9, 6.0, 17.9, 18.0)] == [1.0, 0.5, 0.5, 1.0]
    late = w.variant_index("late=0.5")
    assert [le.frac[late].at(t) for t in (11.9, 12.0)] == [0.0, 1.0]
    half = w.variant_index("half=0.25")
    assert le.contracted(half, 10, 8) == 2
    # a fixed yearly price stays fixed whatever the share; a price per GPU-hour follows it
    assert le.usd_h[half](1.0) == pytest.approx(le.usd_h[0](1.0))
    lease = cfg["leases"]["l"]
    lease["usd_per_gpu_hour"] = lease.pop("annual_usd") / (365.25 * 24 * 40)
    le = _world(cfg).leases[0]
    assert le.usd_h[half](1.0) == pytest.approx(0.5 * le.usd_h[0](1.0))


def test_job_order_lessors_first_then_priority_then_roadmap():
    cfg = landlord_tenant(share=0.5, nodes=10)
    j = cfg["jobs"]
    cfg["jobs"] = {"rent": j["rent"], "rent_hi": {**j["rent"], "priority": 3},
                   "rent_after": {**j["rent"], "after": ["rent"]}, "own": j["own"]}
    w = _world(cfg)
    assert w.job_names == ["own", "rent_hi", "rent", "rent_after"]
    assert [job.rank for job in w.jobs] == [0, 1, 1, 1]


def test_tenant_of_a_landlord_first_lease_comes_after_the_take_back():
    cfg = kernel_mix()
    w = _world(cfg)
    rank = {job.name: job.rank for job in w.jobs}
    # "lord" leases pools out with landlord priority: its jobs go first; "ten" and "third"
    # are tenants
    assert rank["l1"] == rank["l2"] == 0
    assert rank["t1"] == rank["x1"] == 1


def test_checkpoint_intervals_by_hand():
    assert young_interval(0.05, 2.0) == pytest.approx(math.sqrt(0.2))
    x = 0.05 / 4.0
    assert daly_interval(0.05, 2.0) == pytest.approx(
        math.sqrt(0.2) * (1 + math.sqrt(x) / 3 + x / 9) - 0.05)
    assert daly_interval(5.0, 2.0) == pytest.approx(2.0)
    assert daly_interval(0.05, math.inf) == 1e6
    assert daly_interval(0.0, 2.0) == 1e-3


def test_job_mtbf_counts_the_domains_a_range_meets():
    cfg = one_pool(nodes=40)
    cfg["pools"]["p"]["reliability"] = {
        "failures_per_1000_node_days": 24.0,
        "domains": {"rack": {"kind": "rack", "nodes": 4, "outages_per_domain_year": 8766.0},
                    "site": {"kind": "facility", "nodes": 1,
                             "outages_per_domain_year": 876.6}}}
    pool = _world(cfg).pools[0]
    # 10 nodes x 0.001 + 1 per rack-hour x (10 + 3) / 4 racks + 0.1 per hour (facility)
    assert pool.mtbf_hours(10, 0.0) == pytest.approx(1.0 / (0.01 + 3.25 + 0.1))
    # a range of 40 nodes meets at most the 10 racks online
    assert pool.mtbf_hours(40, 0.0) == pytest.approx(1.0 / (0.04 + 10.0 + 0.1))


@pytest.mark.parametrize("case", ["kernel_mix", 0, 1, 2, 3])
def test_same_jobs_and_variants_as_the_engine(case):
    """Two independent derivations of the allocation order and the variant list agree."""
    c = load(kernel_mix() if case == "kernel_mix" else random_config(case))
    plan, w = compile_plan(c), build_world(c)
    assert w.job_names == plan.job_names
    assert w.variant_names == [v.name for v in plan.variants]
    assert w.pool_names == plan.pool_names and w.lease_names == plan.lease_names
