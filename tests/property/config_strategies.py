"""Hypothesis strategies of valid simgpu configurations (plain dicts, as a YAML file gives).

:func:`valid_configs` mirrors :func:`simgpu.cases.random_config` as a strategy, with more
of the schema: 1-3 parties of any role, 1-2 GPU types, 1-3 pools with capacity schedules
(nodes or MW, step or linear), reliability with causes, lemons and correlated-failure
domains, leases by share or by GPUs that never over-commit their pool (overlapping ones
share the pool, sequential ones may each take all of it), jobs with dependencies (acyclic),
earliest starts, deadlines and automatic or fixed checkpoints, landlord actions,
counterfactuals and in-batch sweeps. Sizes are tiny (at most 12 nodes per pool, 1-10 days
of at most 60 steps of 1-6 h, 1-3 replicas) so that one example loads and runs in well
under 0.1 s; :func:`valid_configs` documents the one engine limitation it steers around.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from hypothesis import strategies as st

from simgpu.cases import ROUND_GPU

START = _dt.datetime(2026, 1, 1)
PARTY_NAMES = ("lord", "ten", "oth")
POOL_NAMES = ("pa", "pb", "pc")


def day(hours: float) -> str:
    """The ISO date ``hours`` after ``sim.start`` (whole minutes)."""
    return (START + _dt.timedelta(minutes=round(hours * 60))).strftime("%Y-%m-%dT%H:%M")


def pool_max_nodes(pool: dict[str, Any], gpus: dict[str, Any]) -> int:
    """Most nodes ``pool`` ever has online (simgpu.config.validate.pool_max_nodes)."""
    if not pool.get("capacity"):
        return pool["nodes"]
    kw = gpus[pool["gpu"]]["facility_kw"]
    out = 0
    for pt in pool["capacity"]:
        n = pt["nodes"] if "nodes" in pt else int(pt["mw"] * 1000.0 / kw / pool["gpus_per_node"]
                                                  + 1e-9)
        out = max(out, min(n, pool["nodes"]))
    return out


def counterfactual_leases(cfg: dict[str, Any]) -> list[str]:
    """Leases from a party with role landlord to one with role tenant."""
    roles = {n: p["role"] for n, p in cfg["parties"].items()}
    return [n for n, le in cfg["leases"].items()
            if roles[cfg["pools"][le["pool"]]["owner"]] == "landlord"
            and roles[le["tenant"]] == "tenant"]


@st.composite
def durations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixed", "exponential", "lognormal"]))
    mean = draw(st.sampled_from([0.1, 1.0, 3.0, 9.0, 30.0]))
    d = {"distribution": kind, "mean_hours": mean,
         "max_hours": mean * draw(st.sampled_from([1.0, 2.0, 10.0]))}
    if kind == "lognormal":
        d["cv"] = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    return d


@st.composite
def reliabilities(draw: st.DrawFn, nodes: int) -> dict[str, Any]:
    rel: dict[str, Any] = {
        "failures_per_1000_node_days": draw(st.sampled_from([0.0, 10.0, 200.0, 2000.0])),
        "repair": draw(durations()),
        "lemon_fraction": draw(st.sampled_from([0.0, 0.1, 0.5])),
        "lemon_factor": draw(st.sampled_from([1.0, 3.0, 10.0])),
    }
    if draw(st.booleans()):
        weights = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
        rel["causes"] = {f"c{i}": {"share": w / sum(weights), "repair": draw(durations())}
                         for i, w in enumerate(weights)}
    domains = {}
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["rack", "switch", "power", "facility"]))
        domains[f"d{i}"] = {
            "kind": kind, "nodes": draw(st.integers(1, nodes if kind != "facility" else 20)),
            "outages_per_domain_year": draw(st.sampled_from([0.0, 20.0, 500.0, 3000.0])),
            "duration": draw(durations())}
    rel["domains"] = domains
    return rel


@st.composite
def pools_of(draw: st.DrawFn, parties: list[str], gpus: dict[str, Any],
             horizon_h: float) -> dict[str, Any]:
    pools = {}
    for name in POOL_NAMES[: draw(st.integers(1, len(POOL_NAMES)))]:
        gpu = draw(st.sampled_from(sorted(gpus)))
        gpn = draw(st.sampled_from([1, 2, 4, 8]))
        nodes = draw(st.integers(1, 12))
        pool: dict[str, Any] = {"owner": draw(st.sampled_from(parties)), "gpu": gpu,
                                "gpus_per_node": gpn, "nodes": nodes,
                                "reliability": draw(reliabilities(nodes))}
        if draw(st.booleans()):
            hours = draw(st.lists(st.integers(-48, int(horizon_h) + 24), min_size=1,
                                  max_size=3, unique=True))
            counts = [draw(st.integers(0, nodes)) for _ in hours]
            if max(counts) == 0:
                counts[-1] = nodes
            kw = gpus[gpu]["facility_kw"]
            pool["capacity"] = [
                {"at": day(h), "mw": n * gpn * kw / 1000.0} if draw(st.booleans())
                else {"at": day(h), "nodes": n}
                for h, n in zip(sorted(hours), counts, strict=True)]
            pool["interpolation"] = draw(st.sampled_from(["step", "linear"]))
        pools[name] = pool
    return pools


@st.composite
def leases_of(draw: st.DrawFn, parties: list[str], pools: dict[str, Any],
              horizon_h: float) -> dict[str, Any]:
    leases = {}
    for pname, pool in pools.items():
        tenants = [p for p in parties if p != pool["owner"]]
        if not tenants:
            continue
        n = draw(st.integers(0, 2))
        pool_gpus = pool["nodes"] * pool["gpus_per_node"]
        sequential = draw(st.booleans())  # one after the other: each may take all the pool
        budget, t0 = pool_gpus, draw(st.integers(-72, int(horizon_h)))
        for k in range(n):
            if budget < 1:
                break
            g = draw(st.integers(1, budget))
            if not sequential:
                budget -= g
            term = draw(st.integers(1, 200))
            renewals = draw(st.integers(0, 2))
            le: dict[str, Any] = {
                "pool": pname, "tenant": draw(st.sampled_from(tenants)),
                "start": day(t0), "end": day(t0 + term), "renewals": renewals,
                "failure_burden": draw(st.sampled_from(["delivered", "replaced"])),
                "notice_days": draw(st.sampled_from([0.0, 0.25, 1.0])),
                "landlord_priority": draw(st.booleans())}
            if draw(st.booleans()):
                le["share"] = g / pool_gpus
            else:
                le["gpus"] = g
            if draw(st.booleans()):
                le["annual_usd"] = draw(st.sampled_from([0.0, 1.0e6, 3.0e8]))
            else:
                le["usd_per_gpu_hour"] = draw(st.sampled_from([0.0, 2.0]))
            leases[f"{pname}_l{k}"] = le
            t0 = (t0 + term * (1 + renewals) + draw(st.integers(0, 24)) if sequential
                  else draw(st.integers(-72, int(horizon_h))))
    return leases


@st.composite
def jobs_of(draw: st.DrawFn, parties: list[str], pools: dict[str, Any],
            leases: dict[str, Any], gpus: dict[str, Any], horizon_h: float) -> dict[str, Any]:
    access: dict[str, set[str]] = {p: set() for p in parties}
    for pname, pool in pools.items():
        access[pool["owner"]].add(pname)
    for le in leases.values():
        access[le["tenant"]].add(le["pool"])
    who = sorted(p for p in parties if access[p])
    jobs: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 4))):
        party = draw(st.sampled_from(who))
        first = draw(st.sampled_from(sorted(access[party])))
        extra = draw(st.lists(st.sampled_from(sorted(pools)), max_size=2, unique=True))
        allowed = [p for p in extra if p != first]
        allowed.insert(draw(st.integers(0, len(allowed))), first)
        cap = max(pool_max_nodes(pools[p], gpus) * pools[p]["gpus_per_node"] for p in allowed)
        mn = draw(st.integers(1, cap))
        tgt = mn + draw(st.integers(0, 2 * cap))
        mfu = draw(st.sampled_from([0.05, 0.4, 1.0]))
        peak = min(gpus[pools[p]["gpu"]]["peak_tflops"] for p in allowed) * 1e12 * 3600.0
        flops = tgt * peak * mfu * draw(st.sampled_from([0.5, 5.0, 50.0, 500.0]))
        j: dict[str, Any] = {
            "party": party, "pools": allowed, "target_gpus": tgt, "min_gpus": mn,
            "mfu": mfu, "priority": draw(st.integers(0, 3)),
            "restart_hours": draw(st.sampled_from([0.0, 0.25, 2.0])),
            "checkpoint": {"interval_hours": draw(st.sampled_from(["auto", 0.1, 1.0, 5.0])),
                           "write_hours": draw(st.sampled_from([0.0, 0.05, 0.5]))}}
        if draw(st.booleans()):
            j["flops"] = flops
        else:
            j["params"] = 1e9
            j["tokens"] = flops / 6e9
        if jobs:
            j["after"] = draw(st.lists(st.sampled_from(sorted(jobs)), max_size=2, unique=True))
        start_h = 0
        if draw(st.booleans()):
            start_h = draw(st.integers(-24, int(horizon_h) + 24))
            j["earliest_start"] = day(start_h)
        if draw(st.booleans()):  # after the job can start (validation refuses one before)
            j["deadline"] = day(draw(st.integers(max(start_h, 0) + 1, int(horizon_h) + 48)))
        jobs[f"j{i}"] = j
    return jobs


@st.composite
def scenarios_of(draw: st.DrawFn, leases: dict[str, Any], default_swept: list[str],
                 horizon_h: float) -> dict[str, Any]:
    when = st.integers(-24, int(horizon_h) + 24)
    actions = []
    for ln in sorted(leases):
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["withhold", "landlord_first", "non_renew",
                                         "price_change"]))
            at = draw(when)
            a: dict[str, Any] = {"kind": kind, "lease": ln, "at": day(at)}
            if draw(st.booleans()):
                a["until"] = day(at + draw(st.integers(1, 96)))
            if kind == "withhold":
                a["fraction"] = draw(st.sampled_from([0.0, 0.3, 1.0]))
            if kind == "price_change":
                a["price_factor"] = draw(st.sampled_from([0.0, 0.5, 2.0]))
            actions.append(a)
    cf: dict[str, Any] = {
        "no_lease": draw(st.booleans()),
        "withhold_levels": draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), max_size=2,
                                         unique=True)),
        "landlord_first": draw(st.booleans()), "non_renew": draw(st.booleans())}
    if draw(st.booleans()):
        cf["withhold_start"] = day(draw(when))
    if draw(st.booleans()):
        cf["withhold_days"] = draw(st.sampled_from([0.5, 2.0, 100.0]))
    sweeps: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 2)) if leases else 0):
        lever = draw(st.sampled_from(["share", "withhold", "price", "start_days"]))
        values = {"share": [0.0, 0.3, 1.0], "withhold": [0.0, 0.5, 1.0],
                  "price": [0.0, 0.5, 3.0], "start_days": [-2.0, 0.5, 3.0]}[lever]
        sw: dict[str, Any] = {"lever": lever, "values": draw(st.lists(
            st.sampled_from(values), min_size=1, max_size=2, unique=True))}
        if not default_swept or draw(st.booleans()):
            sw["leases"] = draw(st.lists(st.sampled_from(sorted(leases)), min_size=1,
                                         max_size=2, unique=True))
        if lever == "withhold" and draw(st.booleans()):
            sw["start"] = day(draw(when))
            sw["days"] = draw(st.sampled_from([0.5, 3.0]))
        sweeps[f"s{i}"] = sw
    return {"actions": actions, "counterfactuals": cf, "sweeps": sweeps}


def avoid_landlord_first_chains(cfg: dict[str, Any]) -> None:
    """Turn landlord-first off on leases whose landlord is itself the tenant of a
    landlord-first lease: such chains are refused by validation (simgpu allocates one level
    of landlord-first). A tenant that leases a pool out *without* landlord-first stays: the
    engine allocates it after the take-back (test_landlord_first_on_a_lessor_tenant)."""
    sc = cfg["scenario"]
    while True:
        lf = {n for n, le in cfg["leases"].items() if le.get("landlord_priority")}
        lf |= {a["lease"] for a in sc["actions"] if a["kind"] == "landlord_first"}
        if sc["counterfactuals"].get("landlord_first"):
            lf |= set(counterfactual_leases(cfg))
        lf_tenants = {cfg["leases"][n]["tenant"] for n in lf}
        chained = {n for n in lf if cfg["pools"][cfg["leases"][n]["pool"]]["owner"]
                   in lf_tenants}
        if not chained:
            return
        for n in chained:
            cfg["leases"][n]["landlord_priority"] = False
        sc["actions"] = [a for a in sc["actions"]
                         if not (a["kind"] == "landlord_first" and a["lease"] in chained)]
        if chained & set(counterfactual_leases(cfg)):
            sc["counterfactuals"]["landlord_first"] = False


@st.composite
def valid_configs(draw: st.DrawFn, avoid_known_bug: bool = True) -> dict[str, Any]:
    """A valid configuration as a plain dict (what :func:`simgpu.config.load` takes).

    ``avoid_known_bug`` applies :func:`avoid_landlord_first_chains`.
    """
    n_parties = draw(st.integers(1, 3))
    parties = {n: {"role": draw(st.sampled_from(["landlord", "tenant", "other"]))}
               for n in PARTY_NAMES[:n_parties]}
    gpus = {"g0": dict(ROUND_GPU)}
    if draw(st.booleans()):
        gpus["g1"] = {**ROUND_GPU, "peak_tflops": 2500.0, "facility_kw": 2.0}
    step = draw(st.sampled_from([1.0, 2.0, 3.0, 4.0, 6.0]))
    n_steps = draw(st.integers(int(-(-24 // step)), int(min(60, 240 // step))))
    horizon_h = n_steps * step - draw(st.sampled_from([0.0, step / 2]))
    names = list(parties)
    pools = draw(pools_of(names, gpus, horizon_h))
    leases = draw(leases_of(names, pools, horizon_h))
    jobs = draw(jobs_of(names, pools, leases, gpus, horizon_h))
    cfg: dict[str, Any] = {
        "name": "prop", "gpus": gpus, "parties": parties, "pools": pools, "leases": leases,
        "jobs": jobs,
        "sim": {"seed": draw(st.integers(0, 2**64 - 1)), "start": day(0),
                "horizon_days": horizon_h / 24.0, "step_hours": step,
                "replicas": draw(st.integers(1, 3)), "progress": False},
        "report": {"daily_series": draw(st.booleans())},
    }
    cfg["scenario"] = draw(scenarios_of(leases, counterfactual_leases(cfg), horizon_h))
    if avoid_known_bug:
        avoid_landlord_first_chains(cfg)
    return cfg
