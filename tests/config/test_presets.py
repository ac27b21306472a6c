"""The seed scenario presets compose, validate and tell their stories.

Each story is checked on a short run (2 replicas, a shortened horizon, only the variants
the check needs) so that the whole file stays well under a minute on two CPU cores.
"""

from __future__ import annotations

import numpy as np
import pytest

import simgpu
from simgpu.config import compose, load
from simgpu.engine.plan import compile_plan
from simgpu.timeline import hours_since

PRESETS = ["colossus_lease", "grok_priority", "saudi_500mw", "terafab_ramp"]

#: Only the baseline variant: every counterfactual off.
NO_CF = ["scenario.counterfactuals.no_lease=false", "scenario.counterfactuals.withhold_levels=[]",
         "scenario.counterfactuals.landlord_first=false",
         "scenario.counterfactuals.non_renew=false"]


def short(name: str, days: float, *extra: str, step_hours: float = 1.0):
    """A 2-replica run of preset ``name`` over ``days`` days, without progress output."""
    over = [f"experiment={name}", "sim.replicas=2", f"sim.horizon_days={days}",
            f"sim.step_hours={step_hours}",
            "sim.progress=false", "sim.backend=numpy", *extra]
    return simgpu.run(compose(over))


@pytest.mark.parametrize("name", PRESETS)
def test_preset_composes_validates_and_is_described(name):
    cfg = load(compose([f"experiment={name}"]))
    assert cfg.name == name
    assert len(cfg.description) > 100
    assert cfg.parties["xai"].role.value == "landlord"
    assert cfg.parties["anthropic"].role.value == "tenant"
    # small enough to finish in about a minute on two cores (the default: 20 replicas)
    assert cfg.sim.replicas <= 24


# ------------------------------------------------------------------ grok_priority


def test_grok_priority_landlord_first_delays_the_tenant():
    cfg = load(compose(["experiment=grok_priority"]))
    grok = [j for j in cfg.jobs.values() if j.party == "xai"]
    assert len(grok) >= 3
    # the first Grok run needs more GPUs than Colossus 2's first phase
    c2 = cfg.pools["colossus2"]
    assert grok[0].min_gpus > c2.capacity[0].nodes * c2.gpus_per_node
    assert cfg.scenario.counterfactuals.landlord_first

    over = ["scenario.counterfactuals.no_lease=false",
            "scenario.counterfactuals.withhold_levels=[]",
            "scenario.counterfactuals.non_renew=false"]
    res = short("grok_priority", 120, *over)
    s = res.summary
    assert set(s["variants"]) == {"baseline", "landlord_first"}
    f1 = s["jobs"]["frontier_1"]
    # Grok takes Colossus One first: the tenant's first run finishes weeks later...
    assert f1["by_variant"]["landlord_first"]["delay_days"]["p50"] > 20
    # ...while the landlord's own first run starts at once instead of waiting for Colossus 2
    g = res.plan.job_names.index("grok_next")
    lf = [v.name for v in res.plan.variants].index("landlord_first")
    start_day = res.raw.job_start_h[:, :, g] / 24.0  # (V, R)
    assert np.all(start_day[lf] < 1) and np.all(start_day[0] > 20)


def test_grok_priority_right_in_the_contract_delays_the_baseline():
    off = short("grok_priority", 120, *NO_CF, step_hours=4).summary
    on = short("grok_priority", 120, *NO_CF, "leases.colossus_one.landlord_priority=true",
               step_hours=4).summary
    assert (on["jobs"]["frontier_1"]["finish_day"]["p50"]
            > off["jobs"]["frontier_1"]["finish_day"]["p50"] + 20)


# -------------------------------------------------------------------- saudi_500mw


def test_saudi_500mw_ramp_converts_mw_through_facility_kw():
    cfg = load(compose(["experiment=saudi_500mw"]))
    pool = cfg.pools["saudi"]
    kw = cfg.gpus[pool.gpu].facility_kw
    plan = compile_plan(cfg)
    i = plan.pool_names.index("saudi")
    online_gpus = (plan.online_normal[i] + plan.online_lemon[i]) * plan.pool_gpn[i]
    mws = [pt.mw for pt in pool.capacity]
    assert mws[0] == 50 and mws[-1] == 500  # announced: 50 MW first phase of a 500 MW site
    assert online_gpus[0] == 0  # nothing before the first phase
    for pt in pool.capacity:
        t = int(hours_since(pt.at, cfg.sim.start) / plan.dt)
        want = pt.mw * 1000.0 / kw
        # whole nodes: at most one node short of MW x 1000 / kW per GPU
        assert want - pool.gpus_per_node < online_gpus[t] <= want
    assert online_gpus[-1] == pytest.approx(500_000 / kw, abs=pool.gpus_per_node)
    # leased to the tenant from when it comes online
    lease = cfg.leases["saudi_humain"]
    assert lease.tenant == "anthropic" and lease.pool == "saudi"
    assert lease.start == pool.capacity[0].at


def test_saudi_500mw_deepens_the_tenants_dependency():
    # landlord-owned share of the tenant's contracted peak compute, first day vs last
    cfg = load(compose(["experiment=saudi_500mw"]))
    plan = compile_plan(cfg)
    a = plan.party_names.index("anthropic")
    peak = plan.pool_peak_flop_h * plan.pool_gpn  # per node
    online = (plan.online_normal + plan.online_lemon) * peak[:, None]  # (P, T)
    landlord_t = np.zeros(plan.n_steps)
    for li in range(len(plan.lease_names)):
        if plan.lease_tenant[li] == a:
            landlord_t += plan.cfg.leases[plan.lease_names[li]].share * online[
                plan.lease_pool[li]] * plan.lease_frac[0, li]
    own = online[plan.pool_owner == a].sum(axis=0)
    share = landlord_t / (landlord_t + own)
    assert share[-1] > share[0] + 0.05

    # simulated: over the first 200 days (the 50 MW phase from day 92) the tenant's usable
    # capacity is more landlord-owned with the Saudi lease than without it
    with_site = short("saudi_500mw", 200, *NO_CF, step_hours=4).summary
    without = short("saudi_500mw", 200, *NO_CF, "~leases.saudi_humain", step_hours=4).summary
    assert "saudi_humain" in with_site["leases"] and "saudi_humain" not in without["leases"]
    cs = with_site["tenants"]["anthropic"]["capacity_share"]["p50"]
    assert cs > without["tenants"]["anthropic"]["capacity_share"]["p50"] + 0.01
    assert with_site["leases"]["saudi_humain"]["delivered_gpu_hours"]["p50"] > 0


# ------------------------------------------------------------------- terafab_ramp


def test_terafab_ramp_capacity_grows_on_schedule():
    cfg = load(compose(["experiment=terafab_ramp"]))
    plan = compile_plan(cfg)
    i = plan.pool_names.index("terafab")
    assert plan.party_names[plan.pool_owner[i]] == "xai"
    online = plan.online_normal[i] + plan.online_lemon[i]
    pts = cfg.pools["terafab"].capacity
    assert online[0] == 0
    for pt in pts:
        t = int(hours_since(pt.at, cfg.sim.start) / plan.dt)
        assert online[t] == pt.nodes and online[t - 1] < pt.nodes
    # the landlord's action takes effect when its own chips arrive
    (act,) = cfg.scenario.actions
    notice_h = cfg.leases[act.lease].notice_days * 24.0
    assert hours_since(act.at, cfg.sim.start) + notice_h == hours_since(pts[0].at, cfg.sim.start)


def test_terafab_ramp_reclaim_delays_the_tenant():
    days = 300
    acted = short("terafab_ramp", days, *NO_CF, step_hours=4)
    quiet = short("terafab_ramp", days, *NO_CF, "scenario.actions=[]", step_hours=4)

    def tenant_flops(res):
        a = res.plan.party_names.index("anthropic")
        js = res.plan.job_party == a
        return res.raw.job_flops_pool[0][:, js].sum(axis=(1, 2))  # (R,)

    def landlord_cap(res):
        a = res.plan.party_names.index("xai")
        return res.raw.party_cap_gpu_h[0][:, a].sum(axis=1)  # (R,)

    # the tenant has done less of its roadmap by day 300, the landlord holds more GPUs
    assert np.all(tenant_flops(acted) < 0.95 * tenant_flops(quiet))
    assert np.all(landlord_cap(acted) > landlord_cap(quiet))
    # and pays less: withheld capacity is not paid for
    assert acted.summary["leases"]["colossus_one"]["paid_usd"] < \
        quiet.summary["leases"]["colossus_one"]["paid_usd"]
