"""The scenario presets compose, validate and tell their stories.

Each story is checked on a short run (2 replicas, a shortened horizon, only the variants
the check needs) so that the whole file stays well under a minute on two CPU cores; the
full-length checks are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

import simgpu
from simgpu.config import compose, load
from simgpu.engine.plan import compile_plan
from simgpu.timeline import hours_since, landlords_of, variants

PRESETS = ["colossus_lease", "grok_priority", "saudi_500mw", "terafab_ramp",
           "colossus_termination", "anthropic_portfolio"]

#: Only the baseline variant: every counterfactual off.
NO_CF = ["scenario.counterfactuals.no_lease=false", "scenario.counterfactuals.withhold_levels=[]",
         "scenario.counterfactuals.landlord_first=false",
         "scenario.counterfactuals.non_renew=false"]


def short(name: str, days: float, *extra: str, step_hours: float = 1.0):
    """A 2-replica run of preset ``name`` over ``days`` days, without progress output."""
    over = [f"experiment={name}", "sim.replicas=2", f"sim.horizon_days={days}",
            f"sim.step_hours={step_hours}",
            "sim.progress=false", "report.sensitivity.enabled=false",
            *extra]  # backend auto: the compiled CPU engine where a compiler builds it
    return simgpu.run(compose(over))


@pytest.mark.parametrize("name", PRESETS)
def test_preset_composes_validates_and_is_described(name):
    cfg = load(compose([f"experiment={name}"]))
    assert cfg.name == name
    assert len(cfg.description) > 100
    assert cfg.parties["xai"].role.value == "landlord"
    assert cfg.parties["anthropic"].role.value == "tenant"
    # replica-variants, the engines' unit of work, within the budget that keeps a run under
    # a minute on two cores with the compiled CPU engine (the default: 200 x 7 = 1400;
    # docs/scenario-results.md has what each preset costs)
    assert cfg.sim.replicas * len(variants(cfg)) <= 1600


# ----------------------------------------------------------------- colossus_lease


def test_the_landlords_own_run_moves_back_to_colossus_2_under_every_lever():
    """Migration at a checkpoint (issue 14.8): with the lease gone, withheld or taken
    first, Grok's run may start on Colossus One's free GPUs; it moves to Colossus 2, which
    it prefers, once that is faster, so no lever delays it against the baseline. Without
    migration it stayed on Colossus One in some histories and finished about 300 days
    later (after this 470-day horizon)."""
    keep = ["scenario.counterfactuals.withhold_levels=[0.5]", "sim.replicas=4"]
    res = short("colossus_lease", 470, *keep)
    g = res.plan.job_names.index("grok_next")
    fin = res.raw.job_finish_h[:, :, g] / 24.0  # (V, R)
    assert np.isfinite(fin).all()
    assert np.abs(fin - fin[0]).max() < 3  # days, every lever, every history
    never = [f"jobs.{j}.migrate=never" for j in res.plan.job_names]
    stay = short("colossus_lease", 470, *keep, *never)
    assert (~np.isfinite(stay.raw.job_finish_h[1:, :, g])).any()


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


# ------------------------------------------------------------ colossus_termination


def test_colossus_termination_sweeps_the_notice_day_of_the_reported_right():
    cfg = load(compose(["experiment=colossus_termination"]))
    (sweep,) = cfg.scenario.sweeps.values()
    assert sweep.lever.value == "terminate" and len(sweep.values) >= 3
    assert cfg.leases["colossus_one"].termination_notice_days == 90
    # the rest is the default preset, with only the reference no-lease variant besides
    default = load(compose())
    assert cfg.leases == default.leases and cfg.pools == default.pools
    assert cfg.jobs == default.jobs
    names = [v.name for v in variants(cfg)]
    assert names[:2] == ["baseline", "no_lease"]
    assert len(names) == 2 + len(sweep.values)


def test_colossus_termination_ends_the_lease_its_notice_later():
    res = short("colossus_termination", 200, "scenario.sweeps.terminate.values=[0,90]",
                step_hours=4)
    pts = res.summary["sweeps"]["terminate"]["points"]
    annual = res.plan.cfg.leases["colossus_one"].annual_usd
    # notice on day 0 (or 90) ends the lease on day 90 (180): paid for that long only
    for pt, days in zip(pts, (90, 180), strict=True):
        assert pt["leases"]["colossus_one"]["paid_usd"] == pytest.approx(
            annual * days / 365.25, rel=1e-9)
    # frontier_2 runs on Colossus One over day 90: notice on day 0 pushes it out
    f2 = res.summary["jobs"]["frontier_2"]["by_variant"]
    assert f2["terminate=0"]["delay_days"]["p50"] > 5
    assert f2["terminate=0"]["delay_days"]["p50"] >= f2["terminate=90"]["delay_days"]["p50"]


# ------------------------------------------------------------- anthropic_portfolio

LANDLORDS = {"xai", "google", "amazon", "microsoft"}


@pytest.fixture(scope="module")
def portfolio():
    return load(compose(["experiment=anthropic_portfolio"]))


def test_portfolio_rents_from_four_landlords_and_owns_capacity(portfolio):
    cfg = portfolio
    roles = {n: p.role.value for n, p in cfg.parties.items()}
    assert {n for n, r in roles.items() if r == "landlord"} == LANDLORDS
    assert [n for n, r in roles.items() if r == "tenant"] == ["anthropic"]
    owners = {cfg.pools[le.pool].owner for le in cfg.leases.values()
              if le.tenant == "anthropic"}
    assert owners == LANDLORDS
    assert any(p.owner == "anthropic" for p in cfg.pools.values())
    assert set(landlords_of(cfg)) == LANDLORDS
    # every lever on each landlord alone: 1 + (levers) x (landlords + 1) variants
    assert len(variants(cfg)) == 1 + 1 * (len(LANDLORDS) + 1)
    # each line of runs prefers one platform and may fall back to others
    tenant_jobs = [j for j in cfg.jobs.values() if j.party == "anthropic"]
    assert all(len(j.pools) >= 2 for j in tenant_jobs)
    assert {j.pools[0] for j in tenant_jobs} == set(cfg.pools)


def test_portfolio_accelerators_come_from_the_catalogue_with_measured_mfu(portfolio):
    cfg = portfolio
    gpus = {p.gpu for p in cfg.pools.values()}
    assert {"tpu7x", "trn2"} <= gpus
    for name in ("tpu7x", "trn2", "trn3"):
        g = cfg.gpus[name]
        assert g.peak_tflops > 0 and g.hbm_gib > 0 and g.facility_kw * 1000 > g.tdp_w
    # simgpu.perf is calibrated on NVIDIA GPUs only: every job gives its MFU directly
    for job in cfg.jobs.values():
        assert job.mfu is not None and job.model is None


def test_portfolio_gigawatts_convert_to_the_reported_chip_counts(portfolio):
    cfg = portfolio
    plan = compile_plan(cfg)

    def chips_at(pool: str, date: str) -> int:
        i = plan.pool_names.index(pool)
        t = int(hours_since(date, cfg.sim.start) / plan.dt)
        return int((plan.online_normal[i, t] + plan.online_lemon[i, t]) * plan.pool_gpn[i])

    # "up to 1M TPUs ... well over a gigawatt": 1.2 GW of TPU7x at 1.2 kW is 1.0M chips
    assert chips_at("google_tpu", "2027-01-01") == pytest.approx(1_000_000, abs=4)
    # "more than 1M Trainium2": all online from the start
    assert chips_at("aws_trn2", cfg.sim.start) == 1_000_000
    # "up to 1 GW" of GB200 on Azure: 444,444 GPUs at 2.25 kW, from its ramp's last point
    assert chips_at("azure_gb200", "2027-07-01") == pytest.approx(1e6 / 2.25, abs=4)
    assert chips_at("azure_gb200", cfg.sim.start) == 0


def test_portfolio_accelerators_fail_at_one_rate_per_chip(portfolio):
    """Node sizes differ (4 TPU7x, 16 Trainium2, 8 Hopper): the per-node rates are scaled
    so that every chip fails at Hopper's rate (the preset's stated assumption); this fails
    when conf/reliability/hopper.yaml changes and the preset's scaled rates do not."""
    def per_chip(pool):
        r = pool.reliability
        avg = r.failures_per_1000_node_days * (1 + r.lemon_fraction * (r.lemon_factor - 1))
        return avg / pool.gpus_per_node

    hopper = load(compose()).pools["colossus1"]
    for name, pool in portfolio.pools.items():
        assert per_chip(pool) == pytest.approx(per_chip(hopper), rel=1e-6), name


def test_portfolio_colossus_one_is_the_default_presets(portfolio):
    default = load(compose())
    assert portfolio.pools["colossus1"] == default.pools["colossus1"]
    mine, theirs = portfolio.leases["colossus_one"], default.leases["colossus_one"]
    # the same contract; only its training share is the tenant's here
    assert mine.share == 0.5
    mine.share = theirs.share
    assert mine == theirs


def test_portfolio_tells_its_story_on_a_short_run():
    res = short("anthropic_portfolio", 250, step_hours=4)
    s = res.summary
    t = s["tenants"]["anthropic"]
    assert set(t["by_landlord"]) == LANDLORDS
    assert {v["landlord"] for v in s["variants"].values()} == LANDLORDS | {None}
    for name, e in t["by_landlord"].items():
        d = e["no_lease_delay_days"]
        # finite, or a lower bound where the horizon cut a history off; never missing
        assert d["p50"] is not None and (d["p50"] >= 0 or d["lower_bound"]), name
        assert 0 <= e["dependency_share"]["p50"] <= 1, name
    conc = t["concentration"]
    assert conc["largest_landlord"] in LANDLORDS
    assert 0 < conc["largest_landlord_share"] <= 1
    assert 1 / len(LANDLORDS) <= conc["herfindahl"] <= 1
    assert t["most_leverage_landlord"]["landlord"] in LANDLORDS
    # each line depends on its own platform: without Google's leases the TPU-first run is
    # late, without xAI's only the Colossus-first line is
    jobs = s["jobs"]

    def delay(job, variant):
        return jobs[job]["by_variant"][variant]["delay_days"]["p50"]

    assert delay("frontier_1", "no_lease@google") > 10
    assert delay("trainium_1", "no_lease@amazon") > 10
    assert delay("colossus_1", "no_lease@xai") > 5
    assert delay("frontier_1", "no_lease@xai") == 0
    assert delay("trainium_1", "no_lease@xai") == 0


@pytest.mark.slow
def test_portfolio_full_length_delays_are_measured():
    """Over the preset's three years every single landlord's no-lease delay is measured
    (the baseline roadmap ends early enough), Google hosts the most compute, and losing
    every landlord costs at least as much as losing any one."""
    res = simgpu.run(compose(["experiment=anthropic_portfolio", "sim.replicas=4",
                              "sim.progress=false", "sim.backend=numpy"]))
    t = res.summary["tenants"]["anthropic"]
    assert t["final_milestone_day"]["p90"] < 0.75 * res.summary["horizon_days"]
    every = t["no_lease_delay_days"]["p50"]
    for name, e in t["by_landlord"].items():
        d = e["no_lease_delay_days"]
        assert d["censored_fraction"] == 0 and not d["lower_bound"], name
        assert d["p50"] <= every, name
    assert t["concentration"]["largest_landlord"] == "google"
