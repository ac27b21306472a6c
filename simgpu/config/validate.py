"""Cross-group checks (validation layer 3): references, cycles, fits and over-commitment.

Validation only checks: what the configuration means over time (dates, capacity, the
leases under each variant, the jobs' MFU) is defined once in :mod:`simgpu.timeline`.
"""

from __future__ import annotations

import re

from simgpu import timeline as tl
from simgpu.config import schema as S
from simgpu.errors import Problem

#: Scenario names become directory names (outputs/<name>/...): no separators, no '..'.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def cross_check(cfg: S.SimgpuConfig) -> list[Problem]:
    """Every cross-group problem of a typed config.

    Parameters
    ----------
    cfg : SimgpuConfig
        A tree that passed the type and range layers.

    Returns
    -------
    list of Problem
        Empty when the configuration is consistent.
    """
    p: list[Problem] = []
    parties, pools, gpus, leases, jobs = cfg.parties, cfg.pools, cfg.gpus, cfg.leases, cfg.jobs

    def ref(key: str, value: str, table: dict, what: str) -> bool:
        if value in table:
            return True
        known = ", ".join(sorted(table)) or "none defined"
        p.append(Problem(key, value, f"unknown {what} (known: {known})"))
        return False

    if not SAFE_NAME.fullmatch(str(cfg.name)) or ".." in str(cfg.name):
        p.append(Problem("name", cfg.name, "must be a plain name (letters, digits, '_', '-', "
                         "'.'): it names the output directory"))
    if not parties:
        p.append(Problem("parties", {}, "define at least one party"))
    if not pools:
        p.append(Problem("pools", {}, "define at least one pool"))
    if not jobs:
        p.append(Problem("jobs", {}, "define at least one job"))

    good_pools = set()
    for name, pool in pools.items():
        key = f"pools.{name}"
        ok = ref(f"{key}.owner", pool.owner, parties, "party")
        ok &= ref(f"{key}.gpu", pool.gpu, gpus, "gpu type")
        if not ok:
            continue
        good_pools.add(name)
        last = None
        for i, pt in enumerate(pool.capacity):
            n = tl.capacity_point_nodes(cfg, pool, pt)
            if n > pool.nodes:
                what = "nodes" if pt.nodes is not None else "mw"
                val = pt.nodes if pt.nodes is not None else pt.mw
                p.append(Problem(f"{key}.capacity[{i}].{what}", val,
                                 f"gives {n} nodes, more than the pool's installed nodes "
                                 f"({pool.nodes})"))
            t = S.parse_date(pt.at)
            if last is not None and t <= last:
                p.append(Problem(f"{key}.capacity[{i}].at", pt.at,
                                 "schedule points must be in increasing date order"))
            last = t
        for dname, dom in pool.reliability.domains.items():
            if dom.kind != S.DomainKind.facility and dom.nodes > pool.nodes:
                p.append(Problem(f"{key}.reliability.domains.{dname}.nodes", dom.nodes,
                                 f"is larger than the pool ({pool.nodes} nodes)"))

    # leases: references, landlord != tenant, over-commitment of a pool over time
    spans: dict[str, list[tuple[float, float, float, str]]] = {}
    for name, lease in leases.items():
        key = f"leases.{name}"
        okp = ref(f"{key}.pool", lease.pool, pools, "pool")
        okt = ref(f"{key}.tenant", lease.tenant, parties, "party")
        if not (okp and okt and lease.pool in good_pools):
            continue
        pool = pools[lease.pool]
        if lease.tenant == pool.owner:
            p.append(Problem(f"{key}.tenant", lease.tenant,
                             f"is the owner of pool {lease.pool}; a lease needs another party"))
        pool_gpus = pool.nodes * pool.gpus_per_node
        if lease.gpus is not None and lease.gpus > pool_gpus:
            p.append(Problem(f"{key}.gpus", lease.gpus,
                             f"exceeds pool {lease.pool}'s {pool_gpus} installed GPUs"))
        frac = lease.share if lease.share is not None else (lease.gpus or 0) / max(pool_gpus, 1)
        s, _e, e_all = tl.lease_span_hours(cfg, lease)
        spans.setdefault(lease.pool, []).append((s, e_all, frac, name))
    for pool_name, items in spans.items():
        for s, _e, _f, name in items:
            total = sum(f for s2, e2, f, _ in items if s2 <= s < e2)
            if total > 1.0 + 1e-9:
                others = sorted(n for s2, e2, _, n in items if s2 <= s < e2)
                p.append(Problem(f"leases.{name}.share", round(total, 6),
                                 f"leases {others} together commit more than all of pool "
                                 f"{pool_name} at {name}'s start"))
                break

    # jobs: references, fit, access, dependencies
    access: dict[str, set[str]] = {n: set() for n in parties}
    for name, pool in pools.items():
        access.setdefault(pool.owner, set()).add(name)
    for lease in leases.values():
        access.setdefault(lease.tenant, set()).add(lease.pool)
    for name, job in jobs.items():
        key = f"jobs.{name}"
        if not ref(f"{key}.party", job.party, parties, "party"):
            continue
        fits = False
        for i, pname in enumerate(job.pools):
            if not ref(f"{key}.pools[{i}]", pname, pools, "pool") or pname not in good_pools:
                continue
            pool = pools[pname]
            cap = tl.pool_max_nodes(cfg, pname) * pool.gpus_per_node
            if cap >= job.min_gpus:
                fits = True
        known = [q for q in job.pools if q in good_pools]
        if known and not fits:
            best = max(tl.pool_max_nodes(cfg, q) * pools[q].gpus_per_node for q in known)
            p.append(Problem(f"{key}.min_gpus", job.min_gpus,
                             f"can never fit: the largest allowed pool has at most {best} GPUs"))
        if known and not (set(known) & access.get(job.party, set())):
            p.append(Problem(f"{key}.pools", list(job.pools),
                             f"party {job.party} neither owns nor leases any of these pools"))
        if job.deadline is not None:
            start = job.earliest_start or cfg.sim.start
            if S.parse_date(job.deadline) <= max(S.parse_date(start),
                                                  S.parse_date(cfg.sim.start)):
                p.append(Problem(f"{key}.deadline", job.deadline,
                                 f"must be after the job can start ({max(start, cfg.sim.start)})"))
        for i, dep in enumerate(job.after):
            if dep == name:
                p.append(Problem(f"{key}.after[{i}]", dep, "a job cannot depend on itself"))
            else:
                ref(f"{key}.after[{i}]", dep, jobs, "job")
    p.extend(_cycles(jobs))
    if not p:
        p.extend(tl.job_mfu_table(cfg)[1])

    for i, act in enumerate(cfg.scenario.actions):
        ref(f"scenario.actions[{i}].lease", act.lease, leases, "lease")
    # chains among the sound leases only: a dangling pool or tenant, or a lease to the pool's
    # own owner, is reported above and would make a chain that is not there
    lf = {n for n in tl.landlord_first_leases(cfg) if leases[n].pool in good_pools
          and leases[n].tenant in parties and leases[n].tenant != pools[leases[n].pool].owner}
    lf_tenants = {leases[n].tenant for n in lf  # (a lease to the pool's owner is its own error)
                  if leases[n].pool not in pools or leases[n].tenant != pools[leases[n].pool].owner}
    for n in sorted(lf):
        owner = pools[leases[n].pool].owner
        if owner in lf_tenants:
            p.append(Problem(f"leases.{n}", n, f"landlord-first chain: {owner} takes GPUs "
                             f"first under this lease and is itself the tenant of a "
                             "landlord-first lease; simgpu allocates one level of "
                             "landlord-first (turn landlord_priority, landlord_first actions "
                             "or scenario.counterfactuals.landlord_first off on one of them)"))
    every = tl.landlords_of(cfg)
    for i, name in enumerate(cfg.scenario.counterfactuals.landlords):
        if name not in every:
            p.append(Problem(f"scenario.counterfactuals.landlords[{i}]", name,
                             "is not the landlord of a lease to a tenant (landlords with "
                             f"such leases: {', '.join(every) or 'none'})"))
    for sname, sw in cfg.scenario.sweeps.items():
        key = f"scenario.sweeps.{sname}"
        for i, ln in enumerate(sw.leases):
            ref(f"{key}.leases[{i}]", ln, leases, "lease")
        if not sw.values:
            p.append(Problem(f"{key}.values", list(sw.values), "must list at least one value"))
        if sw.lever == S.Lever.terminate:
            for ln in tl.sweep_leases(cfg, sw):
                if leases[ln].termination_notice_days is None:
                    p.append(Problem(f"{key}.leases", ln, "a terminate sweep needs leases with "
                                     "a termination right: set leases."
                                     f"{ln}.termination_notice_days"))
        if not sw.leases and not tl.sweep_leases(cfg, sw):
            p.append(Problem(f"{key}.leases", [], "no lease to sweep: name leases, or add a "
                             "lease from a landlord to a tenant"))
    return p


def _cycles(jobs: dict[str, S.JobConfig]) -> list[Problem]:
    """One problem per dependency cycle among ``after:`` edges."""
    state: dict[str, int] = {}
    out: list[Problem] = []
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in jobs[n].after:
            if d not in jobs or d == n:
                continue
            if state.get(d) == 1:
                cyc = stack[stack.index(d):] + [d]
                out.append(Problem(f"jobs.{n}.after", list(jobs[n].after),
                                   "dependency cycle: " + " -> ".join(cyc)))
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in jobs:
        if n not in state:
            visit(n)
    return out


def warnings(cfg: S.SimgpuConfig) -> list[Problem]:
    """What a valid configuration probably did not mean: a lease too small for every job
    of its tenant that may use it, a job listing a pool it can never fit in."""
    out: list[Problem] = []
    pool_gpus = {n: tl.pool_max_nodes(cfg, n) * p.gpus_per_node for n, p in cfg.pools.items()}
    # the most GPUs each tenant may hold in each pool through its leases
    leased: dict[tuple[str, str], int] = {}
    for lease in cfg.leases.values():
        pool = cfg.pools[lease.pool]
        n = (int(lease.share * tl.pool_max_nodes(cfg, lease.pool) + 1e-9) if lease.share
             is not None else min(lease.gpus // pool.gpus_per_node,
                                  tl.pool_max_nodes(cfg, lease.pool)))
        k = (lease.tenant, lease.pool)
        leased[k] = leased.get(k, 0) + n * pool.gpus_per_node
    for name, lease in cfg.leases.items():
        mins = [j.min_gpus for j in cfg.jobs.values()
                if j.party == lease.tenant and lease.pool in j.pools]
        have = leased[(lease.tenant, lease.pool)]
        if mins and have < min(mins):
            out.append(Problem(f"leases.{name}", lease.pool, f"gives {lease.tenant} at most "
                               f"{have} GPUs of pool {lease.pool}, fewer than the min_gpus of "
                               f"every job of {lease.tenant} that may use it (smallest "
                               f"{min(mins)}): no such job can ever run on it"))
    for name, job in cfg.jobs.items():
        fits = [q for q in job.pools if pool_gpus[q] >= job.min_gpus]
        for i, q in enumerate(job.pools):
            if q not in fits and fits:
                out.append(Problem(f"jobs.{name}.pools[{i}]", q, f"can never hold the job: at "
                                   f"most {pool_gpus[q]} GPUs, fewer than its min_gpus "
                                   f"({job.min_gpus})"))
    return out
