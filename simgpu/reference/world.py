"""The reference's own reading of a configuration, in continuous time.

Everything the discrete-event reference (:mod:`simgpu.reference.des`) simulates is derived
here from the validated configuration (:class:`simgpu.config.schema.SimgpuConfig`) alone,
following the model's description (docs/model.md), never from the stepped engine's plan or
helpers: a bug in the plan cannot hide from the reference. What is derived:

* dates to hours since ``sim.start``;
* each pool's nodes online over time, as change points in continuous time (nodes or MW
  through the GPU type's all-in ``facility_kw``; step, or linear with a change at every
  whole node), and its lemon split ``floor(online x lemon_fraction + 0.5)``, or, with
  ``lemon_removal_days``, each capacity tranche's lemons decaying as ``exp(-age /
  lemon_removal_days)`` (lemons found and replaced by sound nodes), with a change at
  every whole lemon; then ``maintenance_fraction`` of each class is out for planned
  maintenance (``floor(class x (1 - fraction))`` available): the nodes "online" here and
  everywhere in the reference are the available ones (:func:`_available`);
* failure rates per node class (lemons at ``lemon_factor`` times the rate), failure causes
  with their repair-time distributions, correlated-outage domains;
* each lease's contract (share or GPUs), failure burden and, per variant, its delivered
  fraction and landlord-first flag over time (term and renewals, notice, the scenario's
  withhold / landlord-first / non-renew / price actions, the counterfactual levers and the
  in-batch sweeps), and its payment rate;
* the jobs in allocation order (parties that lease pools out first, except the tenants of
  landlord-first leases; then priority; then roadmap order), their sizes in nodes per
  allowed pool, FLOPs, MFU per pool (a measured ``mfu``, or :func:`simgpu.perf.mfu_for`
  for a model shape and parallelism: the throughput model is an independent library),
  dependencies, earliest starts and checkpointing (Young/Daly from the published formulas,
  :func:`daly_interval`), whether a job migrates at a checkpoint, and the band of its MFU
  multiplier (:func:`mfu_multipliers`: per replica and job, lognormal through the
  configured ``[p10, p90]`` or the throughput model's own band).

Where the stepped engine samples a quantity at step starts (schedules, lease windows), the
reference uses the exact instant; the two agree as the step shrinks.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from simgpu.config import schema as S

__all__ = ["Duration", "JobSpec", "LeaseSpec", "PoolSpec", "VariantSpec", "World",
           "build_world", "daly_interval", "mfu_multipliers", "young_interval"]

#: Hours in a year of 365.25 days (rates per year and annual prices).
HOURS_PER_YEAR = 365.25 * 24.0
#: Bounds of an automatic checkpoint interval, hours (a free write would give 0, no
#: failures an infinite interval).
TAU_MIN_H, TAU_MAX_H = 1e-3, 1e6
#: Tolerance of the floors of node counts (share x nodes, MW to nodes, interpolation).
_EPS = 1e-9
#: The standard normal's 90th percentile: a lognormal through ``[p10, p90]`` has
#: ``sigma = ln(p90 / p10) / (2 Z90)``.
Z90 = 1.2815515655446004
#: Stream, step and index of the MFU multiplier's standard normal in :mod:`simgpu.rng`
#: (docs/model.md, "Progress": stream 5, step 0, index the job).
MFU_STREAM = 5


# ------------------------------------------------------------------- checkpointing


def young_interval(write_h: float, mtbf_h: float) -> float:
    """Young's (1974) first-order optimum checkpoint interval ``sqrt(2 delta M)``, hours."""
    return math.sqrt(2.0 * write_h * mtbf_h)


def daly_interval(write_h: float, mtbf_h: float) -> float:
    """Daly's (2006, FGCS 22:303, eq. 37) higher-order optimum interval, hours.

    ``tau = sqrt(2 delta M) [1 + sqrt(delta / 2M) / 3 + (delta / 2M) / 9] - delta`` for
    ``delta < 2M``, else ``M``; clipped to ``[1e-3, 1e6]`` h (``M = inf``: the upper bound).
    """
    if not math.isfinite(mtbf_h):
        return TAU_MAX_H
    if write_h < 2.0 * mtbf_h:
        x = write_h / (2.0 * mtbf_h)
        tau = math.sqrt(2.0 * write_h * mtbf_h) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) \
            - write_h
    else:
        tau = mtbf_h
    return min(max(tau, TAU_MIN_H), TAU_MAX_H)


# ------------------------------------------------------------------------ pieces


@dataclass(frozen=True)
class Duration:
    """A random duration: ``kind`` fixed, exponential or lognormal with this mean (hours)
    and coefficient of variation, every draw capped at ``cap`` hours."""

    kind: str
    mean: float
    cv: float
    cap: float

    @classmethod
    def of(cls, d: S.DurationConfig) -> Duration:
        kind = d.distribution.value if isinstance(d.distribution, S.Distribution) \
            else str(d.distribution)
        return cls(kind, float(d.mean_hours), float(d.cv or 0.0), float(d.max_hours))

    def sample(self, exp1: Callable[[], float], normal: Callable[[], float]) -> float:
        """One draw, from a standard exponential and a standard normal source."""
        if self.kind == "fixed":
            d = self.mean
        elif self.kind == "exponential":
            d = self.mean * exp1()
        else:  # lognormal with this mean and cv: sigma^2 = log(1 + cv^2)
            s2 = math.log1p(self.cv * self.cv)
            d = math.exp(math.log(self.mean) - s2 / 2.0 + math.sqrt(s2) * normal())
        return min(d, self.cap)


@dataclass(frozen=True)
class DomainSpec:
    """A kind of correlated outage in a pool."""

    name: str
    nodes: int  # nodes per domain; 0 = the whole pool (facility)
    rate_h: float  # outages per domain-hour
    duration: Duration
    cause: int  # index into World.cause_names


@dataclass
class PoolSpec:
    """A pool: owner, GPUs, schedule of nodes online, reliability."""

    name: str
    owner: int
    gpn: int
    peak_flop_h: float  # FLOP per GPU-hour at dense peak
    installed: int
    change_h: list[float]  # times the available nodes change (the first is -inf)
    online_at: list[int]  # nodes available (online, not in maintenance) from each change on
    lemon_fraction: float
    rate: tuple[float, float]  # failures per node-hour: normal, lemon
    causes: list[tuple[int, float, Duration]]  # (cause index, cumulative share, repair)
    domains: list[DomainSpec]
    detect_h: dict[int, float] = field(default_factory=dict)  # cause index -> detection, h
    # infant mortality: a node of age a hours fails 1 + (infant_factor - 1) exp(-a /
    # infant_h) times as often as a mature one; nodes online at the start are
    # age_at_start_h old, later ones burn_in_h old when they come online
    infant_factor: float = 1.0
    infant_h: float = 90.0 * 24.0
    burn_in_h: float = 0.0
    age_at_start_h: float = 365.0 * 24.0
    # interruptions of jobs that take no node down, per node held and hour: the fabric
    # (jobs on more than one node) and planned maintenance (graceful)
    fabric_h: float = 0.0
    planned_h: float = 0.0
    # lemons among the available nodes from each change on (empty: split(online))
    lemon_at: list[int] = field(default_factory=list)
    # mean_age_multiplier's table, built at first use
    _ages: tuple | None = field(default=None, repr=False, compare=False)

    def age_multiplier(self, age_h: float) -> float:
        """The failure-rate multiplier of a node ``age_h`` hours old."""
        return 1.0 + (self.infant_factor - 1.0) * math.exp(-age_h / self.infant_h)

    def detect_hours(self, cause: int) -> float:
        """Hours a hit of cause ``cause`` takes to be found (added to the restart after it)."""
        return self.detect_h.get(cause, 0.0)

    def online(self, t: float) -> int:
        """Nodes available at hour ``t``: online by the schedule, not in maintenance."""
        return self.online_at[bisect_right(self.change_h, t) - 1]

    def classes(self, t: float) -> tuple[int, int]:
        """(normal, lemon) nodes available at hour ``t``."""
        i = bisect_right(self.change_h, t) - 1
        if not self.lemon_at:
            return self.split(self.online_at[i])
        return self.online_at[i] - self.lemon_at[i], self.lemon_at[i]

    def split(self, online: int) -> tuple[int, int]:
        """(normal, lemon) nodes of ``online``."""
        lemons = int(math.floor(online * self.lemon_fraction + 0.5))
        return online - lemons, lemons

    @property
    def node_rate(self) -> float:
        """Expected failures per node-hour, lemons included."""
        return self.rate[0] * (1.0 + self.lemon_fraction * (self.rate[1] / self.rate[0] - 1.0)) \
            if self.rate[0] > 0 else 0.0

    def mean_age_multiplier(self, t: float) -> float:
        """The mean failure-rate multiplier of the nodes available at hour ``t``: each
        increase of the schedule is a tranche (the nodes at the start ``age_at_start_h``
        old, later ones ``burn_in_h`` old when they come), weighted by its nodes; a
        decrease retires every tranche in proportion. 1 without infant mortality."""
        if self.infant_factor == 1.0:
            return 1.0
        if self._ages is None:  # per segment: its start, nodes, and decayed sum there
            starts, tot, dec = [], [], []
            n_all, d_all, c_prev, prev = 0.0, 0.0, 0.0, 0
            for k, (ch, on) in enumerate(zip(self.change_h, self.online_at, strict=True)):
                c = 0.0 if k == 0 else ch
                d_all *= math.exp(-(c - c_prev) / self.infant_h)
                if on > prev:
                    age = self.age_at_start_h if k == 0 else self.burn_in_h
                    n_all += on - prev
                    d_all += (on - prev) * math.exp(-age / self.infant_h)
                elif on < prev:
                    n_all *= on / prev
                    d_all *= on / prev
                starts.append(c)
                tot.append(n_all)
                dec.append(d_all)
                c_prev, prev = c, on
            self._ages = (starts, tot, dec)
        starts, tot, dec = self._ages
        i = max(bisect_right(starts, t) - 1, 0)
        if tot[i] <= 0:
            return 1.0
        decayed = dec[i] * math.exp(-(t - starts[i]) / self.infant_h)
        return 1.0 + (self.infant_factor - 1.0) * decayed / tot[i]

    def mtbf_hours(self, nodes: int, t: float) -> float:
        """Mean time between failures of a job holding ``nodes`` nodes here at hour ``t``:
        node failures at the expected per-node rate times the mean multiplier of the
        nodes' ages (:meth:`mean_age_multiplier`), plus the outages of the domains that a
        contiguous range of ``nodes`` nodes meets (``(n + k - 1) / k`` domains of ``k``
        nodes, at most all of them; a facility outage hits every job)."""
        lam = nodes * (self.node_rate * self.mean_age_multiplier(t))
        online = self.online(t)
        for d in self.domains:
            if d.nodes == 0:
                lam += d.rate_h
            else:
                lam += d.rate_h * min(-(-online // d.nodes), (nodes + d.nodes - 1) / d.nodes)
        return 1.0 / lam if lam > 0 else math.inf


@dataclass
class Timeline:
    """A piecewise-constant value of time: ``values[i]`` from ``times[i]`` on (the first
    time is -inf)."""

    times: list[float]
    values: list

    def at(self, t: float):
        return self.values[bisect_right(self.times, t) - 1]


@dataclass
class LeaseSpec:
    """A lease, with its per-variant contract, delivered fraction, landlord-first flag and
    payment rate over time."""

    name: str
    pool: int
    tenant: int
    owner: int
    replaced: bool  # the landlord bears failures
    counterfactual: bool  # from a landlord to a tenant: the levers act on it
    share: list[float | None]  # per variant: fraction of the pool, or None (by GPUs)
    gpus: list[int]  # per variant: contracted GPUs when by GPUs
    frac: list[Timeline]  # per variant: fraction delivered (0 inactive, 1 - withheld)
    landlord_first: list[Timeline]  # per variant: the owner's jobs go first
    usd_h: list[Callable[[float], float]]  # per variant: payment rate at hour t, $/h
    usd_changes: list[list[float]]  # per variant: times the payment rate may change

    def contracted(self, v: int, online: int, gpn: int) -> int:
        """Contracted nodes of variant ``v`` with ``online`` nodes online."""
        share = self.share[v]
        if share is None:
            return min(self.gpus[v] // gpn, online)
        return int(math.floor(share * online + _EPS))


@dataclass
class JobSpec:
    """A training run."""

    name: str
    party: int
    rank: int  # 0: allocated before the landlord-first take-back
    flops: float
    flop_node_h: list[float]  # per pool: FLOPs per node-hour at its MFU (0 if not allowed)
    pools: list[int]  # allowed pools, in order of preference
    target: list[int]  # per pool: nodes wanted
    minimum: list[int]  # per pool: fewest nodes
    earliest_h: float
    deps: list[int]  # job indices it waits for
    tau_h: float | None  # checkpoint interval (compute hours); None = auto (Daly)
    write_h: float
    restart_h: float
    deadline_h: float
    gpn: list[int] = field(default_factory=list)  # per pool: GPUs per node
    restart_s16k: float = 0.0  # communicator set-up at 16,384 GPUs, seconds
    restart_exp: float = 0.0  # its growth exponent with the GPUs
    migrate: bool = True  # moves or grows at a checkpoint when that finishes it sooner
    mfu_band: tuple[float, float] | None = None  # (p10, p90) MFU multipliers; None: m = 1

    def restart_hours(self, pool: int, nodes: int) -> float:
        """Restart time of a (re)start on ``nodes`` nodes of ``pool``, hours: the fixed
        part plus ``s16k x (GPUs / 16384) ^ exp`` seconds (docs/model.md, "Restart")."""
        gpus = nodes * self.gpn[pool]
        return self.restart_h + self.restart_s16k * math.pow(gpus / 16384.0,
                                                             self.restart_exp) / 3600.0


@dataclass(frozen=True)
class VariantSpec:
    """One variant: the baseline, a counterfactual lever or an in-batch sweep value."""

    name: str
    kind: str  # baseline, no_lease, withhold, landlord_first, non_renew, sweep
    level: float = 0.0
    sweep: str = ""
    lever: str = ""
    landlord: str = ""  # a counterfactual on this landlord's leases alone; "" = all


@dataclass
class World:
    """A configuration as the reference simulates it."""

    cfg: S.SimgpuConfig
    horizon_h: float
    seed: int
    party_names: list[str]
    pools: list[PoolSpec]
    leases: list[LeaseSpec]
    jobs: list[JobSpec]
    variants: list[VariantSpec]
    cause_names: list[str]  # node causes first, then "outage:<domain>", then job causes
    n_node_causes: int
    leases_of_pool: list[list[int]] = field(default_factory=list)
    cause_fabric: int = -1  # cause index of fabric interruptions (-1: none)
    cause_planned: int = -1  # cause index of planned interruptions (-1: none)

    @property
    def pool_names(self) -> list[str]:
        return [p.name for p in self.pools]

    @property
    def lease_names(self) -> list[str]:
        return [le.name for le in self.leases]

    @property
    def job_names(self) -> list[str]:
        return [j.name for j in self.jobs]

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def variant_index(self, variant: int | str) -> int:
        """Index of a variant given by index or name."""
        if isinstance(variant, str):
            names = self.variant_names
            if variant not in names:
                raise ValueError(f"unknown variant {variant!r} (known: {', '.join(names)})")
            return names.index(variant)
        if not 0 <= int(variant) < len(self.variants):
            raise ValueError(f"variant {variant} not in [0, {len(self.variants)})")
        return int(variant)


# ---------------------------------------------------------------------- building


def _hours(date: str, start: datetime) -> float:
    return (datetime.fromisoformat(str(date)) - start).total_seconds() / 3600.0


def _point_nodes(cfg: S.SimgpuConfig, pool: S.PoolConfig, pt: S.CapacityPoint) -> int:
    if pt.nodes is not None:
        n = int(pt.nodes)
    else:  # MW to nodes through the GPU type's all-in facility kW per GPU
        kw = cfg.gpus[pool.gpu].facility_kw
        n = int(math.floor(pt.mw * 1000.0 / kw / pool.gpus_per_node + _EPS))
    return min(n, pool.nodes)


def _schedule(cfg: S.SimgpuConfig, pool: S.PoolConfig, start: datetime,
              horizon: float) -> tuple[list[float], list[int]]:
    """Change points of the nodes online: all installed nodes when there is no schedule;
    else none before the first point, then each point's nodes from its date (step), or
    the straight line between points, floored to whole nodes (linear)."""
    if not pool.capacity:
        return [-math.inf], [pool.nodes]
    at = [_hours(pt.at, start) for pt in pool.capacity]
    n = [_point_nodes(cfg, pool, pt) for pt in pool.capacity]
    times, values = [-math.inf], [0]

    def put(t: float, v: int) -> None:
        if v != values[-1]:
            if t <= times[-1]:
                values[-1] = v
            else:
                times.append(t)
                values.append(v)

    linear = pool.interpolation == S.Interpolation.linear
    for i in range(len(at)):
        put(at[i], n[i])
        if not linear or i + 1 == len(at) or at[i] >= horizon:
            continue
        a0, a1, n0, n1 = at[i], at[i + 1], float(n[i]), float(n[i + 1])

        def value(t: float, a0=a0, a1=a1, n0=n0, n1=n1) -> int:
            return int(math.floor(n0 + (n1 - n0) * (t - a0) / (a1 - a0) + _EPS))

        if n1 > n0:
            ks = range(int(math.floor(n0 + _EPS)) + 1, int(math.floor(n1 + _EPS)) + 1)
        else:
            ks = range(int(math.floor(n0 + _EPS)), int(math.floor(n1 + _EPS)), -1)
        for k in ks:  # the instant the floor reaches k (rising) or leaves k (falling)
            t = a0 + (k - _EPS - n0) / (n1 - n0) * (a1 - a0)
            t = min(max(t, a0), a1)
            v = value(t)
            while v == values[-1] and t < a1:  # rounding: the change is just after t
                t = math.nextafter(t, math.inf)
                v = value(t)
            if a0 <= t < a1 and t < horizon:
                put(t, v)
    return times, values


def _counterfactual_leases(cfg: S.SimgpuConfig) -> set[str]:
    """Leases from a party with role landlord to a party with role tenant."""
    out = set()
    for name, le in cfg.leases.items():
        owner = cfg.pools[le.pool].owner
        if cfg.parties[owner].role == S.Role.landlord and \
                cfg.parties[le.tenant].role == S.Role.tenant:
            out.add(name)
    return out


def _variants(cfg: S.SimgpuConfig, cf_names: set[str]) -> list[VariantSpec]:
    """The baseline; each counterfactual lever on every landlord's leases and, with two
    or more landlords (and per_landlord on), on each landlord's alone; the sweeps."""
    out = [VariantSpec("baseline", "baseline")]
    cf = cfg.scenario.counterfactuals
    if cf_names:
        owners = []
        for n in cfg.leases:  # landlords in the order of their leases
            o = cfg.pools[cfg.leases[n].pool].owner
            if n in cf_names and o not in owners:
                owners.append(o)
        scopes = [""]
        if cf.per_landlord and len(owners) > 1:
            scopes += [o for o in owners if not cf.landlords or o in cf.landlords]
        for o in scopes:
            suffix = f"@{o}" if o else ""
            if cf.no_lease:
                out.append(VariantSpec(f"no_lease{suffix}", "no_lease", landlord=o))
            for w in cf.withhold_levels:
                if w > 0:
                    out.append(VariantSpec(f"withhold_{round(w * 100):d}{suffix}", "withhold",
                                           float(w), landlord=o))
            if cf.landlord_first:
                out.append(VariantSpec(f"landlord_first{suffix}", "landlord_first",
                                       landlord=o))
            if cf.non_renew:
                out.append(VariantSpec(f"non_renew{suffix}", "non_renew", landlord=o))
    for name, sw in cfg.scenario.sweeps.items():
        lever = sw.lever.value if isinstance(sw.lever, S.Lever) else str(sw.lever)
        for x in sw.values:
            out.append(VariantSpec(f"{name}={float(x):g}", "sweep", float(x), name, lever))
    return out


def _piecewise(times: set[float], value: Callable[[float], object]) -> Timeline:
    """The timeline of ``value`` whose changes can only happen at ``times``."""
    ts = sorted(t for t in times if math.isfinite(t))
    out = Timeline([-math.inf], [value(-math.inf)])
    for t in ts:
        v = value(t)
        if v != out.values[-1]:
            out.times.append(t)
            out.values.append(v)
    return out


def _lease(cfg: S.SimgpuConfig, name: str, start: datetime, pools: list[PoolSpec],
           pool_index: dict[str, int], party_index: dict[str, int], cf_names: set[str],
           variants: list[VariantSpec]) -> LeaseSpec:
    le = cfg.leases[name]
    p = pool_index[le.pool]
    pool = pools[p]
    s, e = _hours(le.start, start), _hours(le.end, start)
    term = e - s
    notice = le.notice_days * 24.0
    acts = [a for a in cfg.scenario.actions if a.lease == name]

    def kind(a: S.ActionConfig) -> str:
        return a.kind.value if isinstance(a.kind, S.ActionKind) else str(a.kind)

    def window(a: S.ActionConfig) -> tuple[float, float]:
        """From its date plus the notice until its ``until`` (the date it stops)."""
        a0 = _hours(a.at, start) + notice
        return a0, (_hours(a.until, start) if a.until else math.inf)

    cf = cfg.scenario.counterfactuals
    owner = cfg.pools[le.pool].owner

    def contract_gpus(t: float, share: float | None, gpus: int) -> float:
        pool_gpus = pool.online(t) * pool.gpn
        return share * pool_gpus if share is not None else float(min(gpus, pool_gpus))

    shares, gpus_v, fracs, lfs, usd, usd_changes = [], [], [], [], [], []
    for v in variants:
        is_cf = name in cf_names and v.landlord in ("", owner)
        swept = v.kind == "sweep" and (name in cfg.scenario.sweeps[v.sweep].leases
                                       if cfg.scenario.sweeps[v.sweep].leases else
                                       name in cf_names)
        lever = v.lever if swept else ""
        renewals = le.renewals
        end_all = e + term * renewals
        for a in acts:  # not renewed at the first term end after the action takes effect
            if kind(a) == "non_renew":
                eff = window(a)[0]
                ends = [e + term * k for k in range(renewals + 1)]
                end_all = min(end_all, next((x for x in ends if x >= eff), ends[-1]))
        if v.kind == "non_renew" and is_cf:
            end_all = min(end_all, e)
        shift = v.level * 24.0 if lever == "start_days" else 0.0
        a_start, a_end = s + shift, end_all + shift
        if lever == "terminate" and le.termination_notice_days is not None:
            a_end = min(a_end, v.level * 24.0 + le.termination_notice_days * 24.0)
        if v.kind == "no_lease" and is_cf:
            a_start, a_end = math.inf, math.inf
        share = le.share
        gp = int(le.gpus or 0)
        if lever == "share":
            share, gp = v.level, 0
        windows: list[tuple[float, float, float]] = []  # (from, to, fraction withheld)
        lf_windows: list[tuple[float, float]] = []
        price_windows: list[tuple[float, float, float]] = []
        for a in acts:
            a0, a1 = window(a)
            if kind(a) == "withhold":
                windows.append((a0, a1, float(a.fraction)))
            elif kind(a) == "landlord_first":
                lf_windows.append((a0, a1))
            elif kind(a) == "price_change":
                price_windows.append((a0, a1, float(a.price_factor)))
        if v.kind == "withhold" and is_cf:
            w0 = _hours(cf.withhold_start, start) if cf.withhold_start else s
            w1 = w0 + cf.withhold_days * 24.0 if cf.withhold_days is not None else math.inf
            windows.append((w0, w1, v.level))
        if lever == "withhold":
            sw = cfg.scenario.sweeps[v.sweep]
            w0 = _hours(sw.start, start) if sw.start else s
            w1 = w0 + sw.days * 24.0 if sw.days is not None else math.inf
            windows.append((w0, w1, v.level))
        if lever == "withhold_start":
            sw = cfg.scenario.sweeps[v.sweep]
            w0 = v.level * 24.0
            windows.append((w0, w0 + sw.days * 24.0 if sw.days is not None else math.inf,
                            float(sw.fraction)))
        lf_always = bool(le.landlord_priority) or (v.kind == "landlord_first" and is_cf)
        if lever == "price":
            price_windows.append((-math.inf, math.inf, v.level))

        def frac(t, a_start=a_start, a_end=a_end, windows=windows) -> float:
            if not a_start <= t < a_end:
                return 0.0
            f = 1.0
            for w0, w1, x in windows:
                if w0 <= t < w1:
                    f *= 1.0 - x
            return f

        def lf(t, a_start=a_start, a_end=a_end, lf_windows=lf_windows,
               lf_always=lf_always) -> bool:
            if not a_start <= t < a_end:
                return False
            return lf_always or any(w0 <= t < w1 for w0, w1 in lf_windows)

        edges = {a_start, a_end} | {x for w in windows for x in w[:2]} \
            | {x for w in lf_windows for x in w}
        fracs.append(_piecewise(edges, frac))
        lfs.append(_piecewise(edges, lf))

        def rate(t, frac=frac, price_windows=price_windows, share=share, gp=gp,
                 lever=lever) -> float:
            f = frac(t)
            if f == 0.0:
                return 0.0
            if le.annual_usd is not None:  # a fixed yearly price, whatever the share
                r = le.annual_usd / HOURS_PER_YEAR
            else:  # per contracted GPU-hour: follows the share, however it was set
                r = le.usd_per_gpu_hour * contract_gpus(t, share, gp)
            for w0, w1, x in price_windows:
                if w0 <= t < w1:
                    r *= x
            return r * f

        usd.append(rate)
        usd_changes.append(sorted(edges | {x for w in price_windows for x in w[:2]}
                                  | set(pool.change_h)))
        shares.append(share)
        gpus_v.append(gp)
    return LeaseSpec(name=name, pool=p, tenant=party_index[le.tenant],
                     owner=pools[p].owner,
                     replaced=le.failure_burden == S.FailureBurden.replaced,
                     counterfactual=name in cf_names, share=shares, gpus=gpus_v, frac=fracs,
                     landlord_first=lfs, usd_h=usd, usd_changes=usd_changes)


def _write_hours(job: S.JobConfig) -> float:
    """A checkpoint's blocking time, hours (docs/reliability.md, "Checkpoint write"):
    given, or 5 s + size / min(storage, 25 GB/s per 8-GPU node) when synchronous, 1 s +
    each GPU's share at 25 GB/s to host memory when asynchronous; 0.05 h by default."""
    ck = job.checkpoint
    if ck.write_hours is not None:
        return float(ck.write_hours)
    if ck.size_gb is None:
        return 0.05
    if ck.mode == S.CheckpointMode.asynchronous:
        return (1.0 + ck.size_gb / max(1, job.target_gpus) / 25.0) / 3600.0
    nodes = max(1, job.target_gpus // 8)
    return (5.0 + ck.size_gb / min(ck.storage_gb_s, 25.0 * nodes)) / 3600.0


def _lemon_removal(rel: S.ReliabilityConfig, times: list[float], values: list[int],
                   horizon: float) -> list[tuple[float, int, int]]:
    """(time, online, lemons) change points when lemons are found and replaced.

    The nodes online at hour 0 are a tranche ``age_at_start_days`` old; every later
    increase of the schedule is a tranche ``burn_in_days`` old when it comes online. A
    tranche of ``n`` nodes of age ``a`` holds ``n x lemon_fraction x exp(-a / D)``
    lemons (``D`` = ``lemon_removal_days``); a decrease of the schedule retires every
    tranche in proportion (the sum scaled by online / nodes ever added). The pool's
    lemons are that sum rounded (``floor(x + 0.5)``, at most the nodes online); between
    schedule changes the sum is ``x(a) exp(-(t - a) / D)``, so the count falls by one at
    the instant it passes ``k - 0.5``: ``t = a + D ln(x(a) / (k - 0.5))``.
    """
    tau = 24.0 * float(rel.lemon_removal_days)
    lf = float(rel.lemon_fraction)
    on0 = values[bisect_right(times, 0.0) - 1]
    segs = [(0.0, on0)] + [(t, v) for t, v in zip(times, values, strict=True) if t > 0.0]
    # decayed = sum over tranches of nodes x exp(-age / D) at the segment's start, carried
    # from segment to segment (one tranche per node of a long linear ramp: no re-summing)
    decayed, added, prev, t_prev = 0.0, 0, 0, 0.0
    out: list[tuple[float, int, int]] = []
    for i, (a, v) in enumerate(segs):
        b = min(segs[i + 1][0] if i + 1 < len(segs) else horizon, horizon)
        decayed *= math.exp(-(a - t_prev) / tau)
        t_prev = a
        inc = v - prev
        if inc > 0:
            born = a - 24.0 * float(rel.burn_in_days) if i else \
                -24.0 * float(rel.age_at_start_days)
            decayed += inc * math.exp(-(a - born) / tau)
            added += inc
        prev = v
        x = (v / added if added else 0.0) * lf * decayed
        k = int(math.floor(x + 0.5))
        out.append((-math.inf if i == 0 else a, v, min(k, v)))
        while k >= 1:  # the count falls to k - 1 when x(t) passes k - 0.5
            t = a + tau * math.log(x / (k - 0.5))
            if t >= b:
                break
            out.append((max(t, math.nextafter(a, math.inf)), v, min(k - 1, v)))
            k -= 1
    return out


def _available(rel: S.ReliabilityConfig, times: list[float], values: list[int],
               horizon: float) -> tuple[list[float], list[int], list[int]]:
    """Change points of a pool's available nodes and of the lemons among them.

    From the schedule's nodes online (``times``, ``values``): lemons ``floor(online x
    lemon_fraction + 0.5)``, or decaying by tranche with ``lemon_removal_days``
    (:func:`_lemon_removal`); then ``maintenance_fraction`` of each class is out, the
    rest available: ``floor(normal x (1 - f))`` and ``floor(lemons x (1 - f))``
    (docs/model.md: "the capacity that maintenance keeps out is ``maintenance_fraction``
    of the online nodes"). Returns the change times (the first -inf), the nodes
    available and the lemons among them from each change on.
    """
    if rel.lemon_removal_days is None:
        lf = float(rel.lemon_fraction)
        raw = [(t, v, int(math.floor(v * lf + 0.5)))
               for t, v in zip(times, values, strict=True)]
    else:
        raw = _lemon_removal(rel, times, values, horizon)
    keep = 1.0 - float(rel.maintenance_fraction or 0.0)
    out_t: list[float] = []
    out_on: list[int] = []
    out_lem: list[int] = []
    for t, v, lem in raw:
        lem = min(lem, v)
        normal = v - lem
        if keep < 1.0:
            normal = int(math.floor(normal * keep + _EPS))
            lem = int(math.floor(lem * keep + _EPS))
        if out_t and (normal + lem, lem) == (out_on[-1], out_lem[-1]):
            continue
        out_t.append(t)
        out_on.append(normal + lem)
        out_lem.append(lem)
    return out_t, out_on, out_lem


def _roadmap_order(jobs: dict[str, S.JobConfig]) -> list[str]:
    """Every job after the jobs it waits for; configuration order breaks ties (depth
    first, dependencies in the order they are listed)."""
    out: list[str] = []
    seen: set[str] = set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for d in jobs[n].after:
            visit(d)
        out.append(n)

    for n in jobs:
        visit(n)
    return out


def _mfu(cfg: S.SimgpuConfig, name: str, job: S.JobConfig, pool: S.PoolConfig) -> float:
    if job.mfu is not None:
        return float(job.mfu)
    from simgpu.perf import mfu_for  # an independent library: the throughput model

    return float(mfu_for(job.model, job.parallel, cfg.gpus[pool.gpu], gpus=job.target_gpus,
                         prefix=f"jobs.{name}."))


def _mfu_band(cfg: S.SimgpuConfig, job: S.JobConfig) -> tuple[float, float] | None:
    """The job's ``mfu_band`` as (p10, p90) multipliers, or None without one.

    ``model`` is the throughput model's out-of-source band (docs/perf.md, "Prediction
    band") of the architecture family of the GPUs in the job's allowed pools, read from
    :mod:`simgpu.perf` (an independent library): the catalogue name's architecture, its
    family when that architecture is calibrated; the band pooled over all rows when the
    family is unknown (a GPU outside the catalogue), uncalibrated (Blackwell) or when the
    allowed pools mix families.
    """
    band = job.mfu_band
    if band is None:
        return None
    if band == "model":
        from simgpu.perf import band_multipliers
        from simgpu.perf.hardware import ARCH_OF, ARCHITECTURES

        fams = set()
        for pn in job.pools:
            arch = ARCHITECTURES.get(ARCH_OF.get(str(cfg.pools[pn].gpu).lower(), ""))
            fams.add(arch.family if arch is not None and arch.calibrated else None)
        lo, hi = band_multipliers(fams.pop() if len(fams) == 1 else None)
        return float(lo), float(hi)
    return float(band[0]), float(band[1])


def mfu_multipliers(world: World, replicas: np.ndarray) -> np.ndarray:
    """Each replica's MFU multiplier of every job, shape (len(replicas), J).

    ``m = exp(mu + sigma z)``, ``mu = (ln p10 + ln p90) / 2``, ``sigma = (ln p90 - ln p10)
    / (2 Z90)``: lognormal with the band's 10th and 90th percentiles (docs/model.md,
    "Progress"); ``m = 1`` exactly for a job without a band (and for ``[1, 1]``).

    ``z`` is the model's draw: :func:`simgpu.rng.distributions.normal` keyed (``sim.seed``,
    the global replica id, stream 5, step 0, index the job's position in allocation order,
    which is the order of ``world.jobs``: the same rule as the stepped engine's, derived
    here). Unlike the physical history, which the reference draws from its own streams,
    this one number per replica and job is a model input the spec keys explicitly;
    sharing it pairs the two simulators' replicas on the MFU but not on anything they
    simulate (statistical agreement is what the checks need either way).
    """
    from simgpu.rng.distributions import normal

    replicas = np.asarray(replicas, np.int64)
    out = np.ones((len(replicas), len(world.jobs)))
    for j, job in enumerate(world.jobs):
        if job.mfu_band is None or len(replicas) == 0:
            continue
        lo, hi = job.mfu_band
        mu = 0.5 * (math.log(lo) + math.log(hi))
        sigma = (math.log(hi) - math.log(lo)) / (2.0 * Z90)
        z = normal(world.seed, replicas, MFU_STREAM, 0, j)
        out[:, j] = np.exp(mu + sigma * z)
    return out


def build_world(cfg: S.SimgpuConfig) -> World:
    """The reference's reading of a validated configuration.

    Parameters
    ----------
    cfg : SimgpuConfig
        Output of :func:`simgpu.config.load.load`.

    Returns
    -------
    World
    """
    start = datetime.fromisoformat(str(cfg.sim.start))
    horizon = float(cfg.sim.horizon_days) * 24.0
    party_names = list(cfg.parties)
    party_index = {n: i for i, n in enumerate(party_names)}
    pool_names = list(cfg.pools)
    pool_index = {n: i for i, n in enumerate(pool_names)}

    tables = [cfg.pools[n].reliability.cause_table() for n in pool_names]
    node_causes = list(dict.fromkeys(c for tab in tables for c in tab))
    dom_names: list[str] = []
    for n in pool_names:
        for dname, d in cfg.pools[n].reliability.domains.items():
            if d.outages_per_domain_year > 0 and f"outage:{dname}" not in dom_names:
                dom_names.append(f"outage:{dname}")
    cause_names = node_causes + dom_names

    pools: list[PoolSpec] = []
    for n, tab in zip(pool_names, tables, strict=True):
        pc = cfg.pools[n]
        rel = pc.reliability
        per_node_h = rel.failures_per_1000_node_days / 1000.0 / 24.0
        total = sum(share for share, _ in tab.values()) or 1.0
        cum, causes = 0.0, []
        for c, (share, rep) in tab.items():
            cum += share / total
            causes.append((node_causes.index(c), cum, Duration.of(rep)))
        doms = [DomainSpec(dname, 0 if d.kind == S.DomainKind.facility else int(d.nodes),
                           d.outages_per_domain_year / HOURS_PER_YEAR, Duration.of(d.duration),
                           cause_names.index(f"outage:{dname}"))
                for dname, d in rel.domains.items() if d.outages_per_domain_year > 0]
        times, values, lemons = _available(rel, *_schedule(cfg, pc, start, horizon), horizon)
        pools.append(PoolSpec(
            name=n, owner=party_index[pc.owner], gpn=int(pc.gpus_per_node),
            peak_flop_h=cfg.gpus[pc.gpu].peak_tflops * 1e12 * 3600.0, installed=int(pc.nodes),
            change_h=times, online_at=values, lemon_fraction=float(rel.lemon_fraction),
            rate=(per_node_h, per_node_h * rel.lemon_factor), causes=causes, domains=doms,
            detect_h={node_causes.index(c): float(cc.detect_hours)
                      for c, cc in rel.causes.items() if cc.detect_hours},
            infant_factor=float(rel.infant_factor), infant_h=24.0 * float(rel.infant_days),
            burn_in_h=24.0 * float(rel.burn_in_days),
            age_at_start_h=24.0 * float(rel.age_at_start_days),
            fabric_h=float(rel.fabric_per_1000_node_days) / 24000.0,
            planned_h=float(rel.planned_per_1000_node_days) / 24000.0, lemon_at=lemons))
    # the jobs' own interruptions are causes too, after the node and domain causes
    cause_fabric = cause_planned = -1
    if any(p.fabric_h > 0 for p in pools):
        cause_names.append("fabric" if "fabric" not in cause_names else "job:fabric")
        cause_fabric = len(cause_names) - 1
        for p, n in zip(pools, pool_names, strict=True):
            p.detect_h[cause_fabric] = float(cfg.pools[n].reliability.fabric_detect_hours)
    if any(p.planned_h > 0 for p in pools):
        cause_names.append("planned" if "planned" not in cause_names else "job:planned")
        cause_planned = len(cause_names) - 1

    cf_names = _counterfactual_leases(cfg)
    variants = _variants(cfg, cf_names)
    leases = [_lease(cfg, n, start, pools, pool_index, party_index, cf_names, variants)
              for n in cfg.leases]

    # allocation order: lessors first, except the tenants of landlord-first leases (in any
    # variant); then priority, higher first; then roadmap order
    lf_leases = {n for n, le in cfg.leases.items() if le.landlord_priority}
    lf_leases |= {a.lease for a in cfg.scenario.actions
                  if (a.kind.value if isinstance(a.kind, S.ActionKind) else a.kind)
                  == "landlord_first"}
    if cfg.scenario.counterfactuals.landlord_first:
        lf_leases |= cf_names
    lessors = {cfg.pools[le.pool].owner for le in cfg.leases.values()}
    lf_tenants = {cfg.leases[n].tenant for n in lf_leases}
    rank = {p: 0 if p in lessors and p not in lf_tenants else 1 for p in party_names}
    order = _roadmap_order(cfg.jobs)
    names = sorted(order, key=lambda n: (rank[cfg.jobs[n].party], -cfg.jobs[n].priority,
                                         order.index(n)))
    job_index = {n: i for i, n in enumerate(names)}
    jobs: list[JobSpec] = []
    for n in names:
        jc = cfg.jobs[n]
        P = len(pools)
        target, minimum, rate = [0] * P, [0] * P, [0.0] * P
        for pn in jc.pools:
            p = pool_index[pn]
            g = pools[p].gpn
            minimum[p] = max(1, -(-jc.min_gpus // g))
            target[p] = max(minimum[p], jc.target_gpus // g)
            rate[p] = g * pools[p].peak_flop_h * _mfu(cfg, n, jc, cfg.pools[pn])
        ck = jc.checkpoint
        jobs.append(JobSpec(
            name=n, party=party_index[jc.party], rank=rank[jc.party], flops=jc.total_flops,
            flop_node_h=rate, pools=[pool_index[pn] for pn in jc.pools], target=target,
            minimum=minimum,
            earliest_h=max(0.0, _hours(jc.earliest_start, start)) if jc.earliest_start
            else 0.0,
            deps=[job_index[d] for d in jc.after],
            tau_h=None if ck.auto else float(ck.interval_hours), write_h=_write_hours(jc),
            restart_h=float(jc.restart_hours), gpn=[p.gpn for p in pools],
            restart_s16k=float(jc.restart_seconds_at_16k),
            restart_exp=float(jc.restart_exponent),
            migrate=jc.migrate != S.Migrate.never, mfu_band=_mfu_band(cfg, jc),
            deadline_h=_hours(jc.deadline, start) if jc.deadline else math.inf))
    return World(cfg=cfg, horizon_h=horizon, seed=int(cfg.sim.seed), party_names=party_names,
                 pools=pools, leases=leases, jobs=jobs, variants=variants,
                 cause_names=cause_names, n_node_causes=len(node_causes),
                 cause_fabric=cause_fabric, cause_planned=cause_planned,
                 leases_of_pool=[[li for li, le in enumerate(leases) if le.pool == p]
                                 for p in range(len(pools))])
