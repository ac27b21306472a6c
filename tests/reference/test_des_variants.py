"""Counterfactual variants: the engine against the independent reference.

Failure-free worlds have one history, so the two simulators must agree to the engine's
step on every variant: start and finish hours, preemptions, migrations, usable GPU-hours
and GPU-hours waiting for a gang by party, lease deliveries and payments. With failures, the comparison is statistical
(``python -m simgpu.validate`` runs it at full size; a slow test here).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import kernel_mix, levers, non_renew_action_case, random_config
from simgpu.config.load import load
from simgpu.engine.numpy_engine import simulate
from simgpu.engine.plan import compile_plan
from simgpu.reference.des import simulate_des_variants


def _failure_free(cfg: dict, step_hours: float) -> dict:
    for p in cfg["pools"].values():
        p["reliability"]["failures_per_1000_node_days"] = 0.0
        p["reliability"]["domains"] = {}
    cfg["sim"]["step_hours"] = step_hours
    return cfg


def _both(cfg_dict: dict) -> tuple:
    """(plan, engine results, DES run) of one history of every variant."""
    cfg = load(cfg_dict)
    plan = compile_plan(cfg)
    return plan, simulate(plan, 0, 1, daily=False), simulate_des_variants(cfg, 1)


@pytest.fixture(scope="module")
def mix_both() -> tuple:
    """The kernel mix's failure-free world at a 0.1 h step, simulated once for the tests
    that compare it."""
    return _both(_failure_free(kernel_mix(horizon_days=12.0), 0.1))


def _assert_same_history(both: tuple, dt: float, links: int = 3) -> None:
    """Engine and DES agree on one failure-free history of every variant (``both``, from
    :func:`_both`): hours within ``links`` steps (the engine starts work at step
    boundaries, once per link of a chain), preemptions exactly, GPU-hours and payments to
    1 % (linear ramps sampled at step starts)."""
    plan, eng, run = both
    w = run.world
    jd = [w.job_names.index(n) for n in plan.job_names]
    ad = [w.party_names.index(n) for n in plan.party_names]
    ld = [w.lease_names.index(n) for n in plan.lease_names]
    H = plan.horizon_hours
    assert [v.name for v in plan.variants] == w.variant_names
    for vi, v in enumerate(plan.variants):
        rec = run.variants[v.name]
        for key, e in (("start_h", eng.job_start_h), ("finish_h", eng.job_finish_h)):
            np.testing.assert_allclose(np.minimum(e[vi, 0], H),
                                       np.minimum(rec[key][0, jd], H), rtol=0,
                                       atol=links * dt + 1e-9,
                                       err_msg=f"{key} in {v.name}")
        np.testing.assert_array_equal(eng.job_preemptions[vi, 0], rec["preemptions"][0, jd],
                                      err_msg=f"preemptions in {v.name}")
        np.testing.assert_allclose(eng.party_cap_gpu_h[vi, 0].sum(axis=1),
                                   rec["party_cap_gpu_h"][0, ad].sum(axis=1), rtol=1e-2,
                                   atol=1.0, err_msg=f"usable GPU-hours in {v.name}")
        np.testing.assert_allclose(eng.lease_delivered_gpu_h[vi, 0],
                                   rec["lease_delivered_gpu_h"][0, ld], rtol=1e-2, atol=1.0,
                                   err_msg=f"delivered GPU-hours in {v.name}")
        np.testing.assert_allclose(eng.lease_paid_usd[vi], rec["lease_paid_usd"][ld],
                                   rtol=1e-2, atol=1e-6, err_msg=f"payments in {v.name}")


def test_failure_free_world_with_every_contract_feature(mix_both):
    """Shares and GPU counts, both burdens, renewals, notice, withhold / price /
    landlord-first actions, every counterfactual, three sweeps, linear ramps."""
    _assert_same_history(mix_both, 0.1)


@pytest.mark.parametrize("seed", range(6))
def test_failure_free_random_worlds(seed: int):
    cfg = random_config(seed)
    cfg["sim"]["horizon_days"] = min(cfg["sim"]["horizon_days"], 10.0)
    _assert_same_history(_both(_failure_free(cfg, 0.25)), 0.25)


def test_non_renewal_action_by_the_reference():
    """Announced at 18:00, in the second 12 h term: the lease ends at 24:00."""
    run = simulate_des_variants(load(non_renew_action_case()), 1)
    rec = run.variants["baseline"]
    tn = run.world.party_names.index("tn")
    assert rec["party_cap_gpu_h"][0, tn, 0] == pytest.approx(5 * 8 * 24.0)
    assert rec["lease_paid_usd"][0] == pytest.approx(1000.0 * 24.0)


def test_non_renewal_action_engine_agrees():
    cfg = load(non_renew_action_case())
    plan = compile_plan(cfg)
    eng = simulate(plan, 0, 1, daily=False)
    tn = plan.party_names.index("tn")
    assert eng.party_cap_gpu_h[0, 0, tn, 0] == pytest.approx(5 * 8 * 24.0)


@pytest.mark.slow
def test_levers_agree_with_failures():
    """Every lever with failures (engine at a fine step): finish hours, delays against the
    baseline and lease deliveries of every variant within 3 combined standard errors."""
    n, dt = 300, 0.025
    plan = compile_plan(levers(dt))
    eng = simulate(plan, 0, n, daily=False)
    run = simulate_des_variants(levers(dt), n)
    jd = [run.world.job_names.index(x) for x in plan.job_names]
    H = plan.horizon_hours

    def z(a, b):
        se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(n)
        return 0.0 if se == 0 else (a.mean() - b.mean()) / se

    base_e = np.minimum(eng.job_finish_h[0], H)
    base_d = np.minimum(run.variants["baseline"]["finish_h"][:, jd], H)
    for vi, v in enumerate(plan.variants):
        rec = run.variants[v.name]
        fe, fd = np.minimum(eng.job_finish_h[vi], H), np.minimum(rec["finish_h"][:, jd], H)
        for j, name in enumerate(plan.job_names):
            assert abs(z(fe[:, j], fd[:, j])) <= 3, (v.name, name, "finish")
            assert abs(z(fe[:, j] - base_e[:, j], fd[:, j] - base_d[:, j])) <= 3, (
                v.name, name, "delay")
        assert abs(z(eng.lease_delivered_gpu_h[vi, :, 0],
                     rec["lease_delivered_gpu_h"][:, 0])) <= 3, (v.name, "delivered")


def test_migrations_agree_in_a_failure_free_world(mix_both):
    """One failure-free history of every variant of the kernel mix (a pool that ramps
    up, two pools per job, leases and levers): the same migrations per job."""
    plan, eng, run = mix_both
    jd = [run.world.job_names.index(n) for n in plan.job_names]
    assert sum(int(run.variants[v.name]["migrations"].sum()) for v in plan.variants) > 20
    for vi, v in enumerate(plan.variants):
        np.testing.assert_array_equal(eng.job_migrations[vi, 0],
                                      run.variants[v.name]["migrations"][0, jd],
                                      err_msg=v.name)


def test_gang_waiting_hours_agree_in_a_failure_free_world(mix_both):
    """The GPU-hours a party could use but none of its runs held while one waited for its
    gang: the engine (per step) and the DES (per event) on one failure-free history of
    every variant of the kernel mix, within the step's discretisation."""
    plan, eng, des = mix_both
    w = des.world
    ad = [w.party_names.index(a) for a in plan.party_names]
    pd = [w.pool_names.index(p) for p in plan.pool_names]
    total = 0.0
    for vi, v in enumerate(plan.variants):
        e = eng.party_wait_gpu_h[vi, 0]
        d = des.variants[v.name]["party_wait_gpu_h"][0][ad][:, pd]
        np.testing.assert_allclose(e, d, rtol=5e-3, atol=1e-6, err_msg=v.name)
        total += float(e.sum())
    assert total > 1000.0  # the mix does wait for gangs
