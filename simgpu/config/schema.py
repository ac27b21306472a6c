"""Structured config schemas (OmegaConf dataclasses) for every config group.

Every field carries its unit in its name or in its one-line comment. Dates are ISO
strings (``2026-07-01`` or ``2026-07-01T12:00``); the engine converts them to hours
since ``sim.start``.

Validation layer 2 lives here: each dataclass's ``__post_init__`` checks its own ranges
and reports through :func:`_report`, which either raises :class:`~simgpu.errors.ConfigError`
at once (a dataclass built by hand) or, while :func:`collecting` is active, records the
problem so that the loader can report every problem together with its dotted key.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from simgpu.errors import ConfigError, Problem

# --------------------------------------------------------------------------- enums


class Role(Enum):
    """What a party is in the landlord/tenant story."""

    landlord = "landlord"
    tenant = "tenant"
    other = "other"


class Interpolation(Enum):
    """How a capacity schedule goes between its points."""

    step = "step"
    linear = "linear"


class Distribution(Enum):
    """Shape of a duration distribution, parameterised by mean and coefficient of variation."""

    fixed = "fixed"
    exponential = "exponential"
    lognormal = "lognormal"


class DomainKind(Enum):
    """A correlated-failure domain: every node in it goes down together."""

    rack = "rack"
    switch = "switch"
    power = "power"
    facility = "facility"


class FailureBurden(Enum):
    """Who absorbs node failures on leased capacity.

    ``delivered``: the tenant receives its share of the pool's *healthy* GPUs, so it loses
    capacity in proportion to failures. ``replaced``: the landlord backfills failed leased
    nodes from its own healthy nodes while it has any, so the tenant keeps its contracted
    count until the whole pool runs short.
    """

    delivered = "delivered"
    replaced = "replaced"


class Migrate(Enum):
    """When a running job moves to a more preferred pool, or grows towards its target.

    ``at_checkpoint``: when room appears and the move makes the job finish sooner by more
    than the restart it costs (docs/model.md, "Allocation"); ``never``: it stays where it
    is until a failure or a capacity change moves it.
    """

    at_checkpoint = "at_checkpoint"
    never = "never"


class ActionKind(Enum):
    """A landlord action in a scenario."""

    withhold = "withhold"
    landlord_first = "landlord_first"
    non_renew = "non_renew"
    price_change = "price_change"


class Lever(Enum):
    """A scenario lever swept inside one batch (scenario.sweeps)."""

    share = "share"  # the leases' share of their pool
    withhold = "withhold"  # fraction withheld, from `start` for `days`
    price = "price"  # multiplier on the lease price
    start_days = "start_days"  # the leases start (and end) this many days later
    withhold_start = "withhold_start"  # day (from sim.start) withholding `fraction` starts
    terminate = "terminate"  # day (from sim.start) the landlord gives termination notice


class CheckpointMode(Enum):
    """How a checkpoint blocks training."""

    sync = "sync"  # training waits until the checkpoint is on storage
    asynchronous = "asynchronous"  # training waits for the copy to host memory only


class Backend(Enum):
    """Compute backend of the engine."""

    auto = "auto"  # cupy if usable, else cpu if a C++ compiler builds it, else numpy
    numpy = "numpy"
    cupy = "cupy"
    cpu = "cpu"  # the kernel engine compiled for the CPU


class ReportFormat(Enum):
    """Output formats of the report."""

    png = "png"
    pdf = "pdf"
    markdown = "markdown"


#: Largest integer a config may hold: the engine keeps counts in int64.
INT_MAX = 2**63 - 1

# ------------------------------------------------------------ problem collection

_COLLECTOR: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "simgpu_config_problems", default=None
)


@contextlib.contextmanager
def collecting() -> Iterator[list[tuple[int, str, Any, str]]]:
    """Collect range-check problems instead of raising them.

    Yields a list that receives ``(id(obj), field, value, message)`` tuples; the loader
    maps ``id(obj)`` back to the object's dotted path.
    """
    found: list[tuple[int, str, Any, str]] = []
    token = _COLLECTOR.set(found)
    try:
        yield found
    finally:
        _COLLECTOR.reset(token)


def _report(obj: object, problems: list[tuple[str, Any, str]]) -> None:
    if not problems:
        return
    sink = _COLLECTOR.get()
    if sink is None:
        raise ConfigError([Problem(k, v, m) for k, v, m in problems])
    sink.extend((id(obj), k, v, m) for k, v, m in problems)


class _Checks:
    """Tiny helper that accumulates ``(field, value, message)`` triples."""

    def __init__(self, obj: object):
        self.obj = obj
        self.out: list[tuple[str, Any, str]] = []

    def add(self, key: str, message: str) -> None:
        self.out.append((key, getattr(self.obj, key.split(".")[0], None), message))

    def add_value(self, key: str, value: Any, message: str) -> None:
        self.out.append((key, value, message))

    def positive(self, *keys: str, allow_zero: bool = False) -> None:
        for k in keys:
            v = getattr(self.obj, k)
            if v is None:
                continue
            if isinstance(v, int) and abs(v) > INT_MAX:  # the engine holds it in int64
                self.add(k, f"is too large in magnitude (at most {INT_MAX})")
                continue
            bad = not math.isfinite(v) or (v < 0 if allow_zero else v <= 0)
            if bad:
                self.add(k, "must be >= 0" if allow_zero else "must be > 0")

    def fraction(self, *keys: str) -> None:
        for k in keys:
            v = getattr(self.obj, k)
            if v is not None and not (0.0 <= v <= 1.0):
                self.add(k, "must be a fraction in [0, 1]")

    def date(self, *keys: str) -> None:
        for k in keys:
            v = getattr(self.obj, k)
            if v is not None and parse_date(v) is None:
                self.add(k, "must be an ISO date such as 2026-07-01 or 2026-07-01T06:00 "
                         "(no time zone)")

    def done(self) -> None:
        _report(self.obj, self.out)


def parse_date(value: str) -> datetime | None:
    """Parse an ISO date or datetime string; ``None`` when it is not one, or when it has a
    time zone (every date of a config is in the same, implicit, time zone)."""
    try:
        d = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return d if d.tzinfo is None else None


# --------------------------------------------------------------------------- gpu


@dataclass
class GpuConfig:
    """One accelerator type of the catalogue (``gpus.<name>``)."""

    peak_tflops: float = 989.0  # dense BF16 peak, TFLOP/s per GPU (H100 SXM datasheet)
    hbm_gib: float = 80.0  # HBM capacity, GiB per GPU
    hbm_tb_s: float = 3.35  # HBM bandwidth, TB/s per GPU
    nvlink_gb_s: float = 900.0  # NVLink bandwidth, GB/s per GPU (bidirectional)
    scaleout_gbit_s: float = 400.0  # scale-out network, Gb/s per GPU
    tdp_w: float = 700.0  # board power, W per GPU
    facility_kw: float = 1.6  # all-in facility power, kW per GPU (server+network+cooling)

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.positive("peak_tflops", "hbm_gib", "hbm_tb_s", "nvlink_gb_s", "scaleout_gbit_s")
        c.positive("tdp_w", "facility_kw")
        c.done()


# ------------------------------------------------------------------------- party


@dataclass
class PartyConfig:
    """A company (``parties.<name>``)."""

    role: Role = Role.other  # landlord, tenant or other
    label: str = ""  # display name in reports; the key when empty


# ------------------------------------------------------------------------ cluster


@dataclass
class DurationConfig:
    """A random duration, given by its mean and coefficient of variation."""

    distribution: Distribution = Distribution.lognormal  # fixed, exponential or lognormal
    mean_hours: float = 24.0  # mean duration, hours
    cv: float = 1.0  # coefficient of variation (std/mean); lognormal only
    max_hours: float = 720.0  # hard cap on one draw, hours (bounds the engine's repair ring)

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.positive("mean_hours", "max_hours")
        c.positive("cv", allow_zero=True)
        if self.max_hours is not None and self.mean_hours is not None:
            if 0 < self.max_hours < self.mean_hours:
                c.add("max_hours", f"must be >= mean_hours ({self.mean_hours})")
        c.done()


@dataclass
class DomainConfig:
    """A kind of correlated outage: a whole domain of nodes goes down at once."""

    kind: DomainKind = DomainKind.rack  # rack, switch, power or facility
    nodes: int = 4  # nodes per domain (ignored for facility: the whole pool)
    outages_per_domain_year: float = 0.0  # rate of outages of one domain, 1/year
    duration: DurationConfig = field(default_factory=DurationConfig)  # outage length

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.positive("nodes")
        c.positive("outages_per_domain_year", allow_zero=True)
        c.done()


@dataclass
class CauseConfig:
    """One cause of node failures: its share of the pool's failures and its repair time."""

    share: float = 1.0  # fraction of the pool's node failures with this cause
    repair: DurationConfig = field(default_factory=DurationConfig)  # node down time
    # extra stall before a hit job restarts, hours: a hang (network, NCCL watchdog) is
    # found by a timeout, a crash at once (docs/model.md, "Restart and detection")
    detect_hours: float = 0.0

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.fraction("share")
        c.positive("detect_hours", allow_zero=True)
        c.done()


@dataclass
class ReliabilityConfig:
    """Failure and repair process of a pool's nodes."""

    # Unexpected interruptions per 1000 node-days; 3.79 is derived from Llama 3 405B
    # (arXiv:2407.21783 s3.3.4: 419 unexpected interruptions, 2,048 nodes, 54 days).
    failures_per_1000_node_days: float = 3.79
    repair: DurationConfig = field(default_factory=DurationConfig)  # node repair time
    lemon_fraction: float = 0.0  # fraction of nodes that fail more often ("lemon" nodes)
    lemon_factor: float = 1.0  # failure-rate multiplier of a lemon node
    domains: dict[str, DomainConfig] = field(default_factory=dict)  # correlated outages
    # node failures by cause (shares summing to 1, each with its own repair time); empty:
    # one cause, "node", repaired as ``repair`` says
    causes: dict[str, CauseConfig] = field(default_factory=dict)
    # infant mortality: a node's failure rate is multiplied by
    # 1 + (infant_factor - 1) exp(-age / infant_days); age counts from when its capacity
    # tranche came online plus burn_in_days (nodes online at sim.start: age_at_start_days)
    infant_factor: float = 1.0  # 1 = no infant mortality
    infant_days: float = 90.0  # decay time of the infant excess, days
    burn_in_days: float = 0.0  # burn-in before a tranche is handed over, days
    age_at_start_days: float = 365.0  # age of the nodes already online at sim.start, days
    # lemon nodes are found and replaced by sound ones: the lemon fraction of a tranche
    # decays with this time constant, days; none = never
    lemon_removal_days: float | None = None
    # multi-node jobs are also interrupted by the scale-out fabric (links, NICs, switches,
    # NCCL timeouts) at this rate per node they hold, without a node going down
    fabric_per_1000_node_days: float = 0.0
    fabric_detect_hours: float = 0.0  # those are hangs: found by a timeout, hours
    # planned maintenance: this fraction of online nodes is out at any time, and running
    # jobs are interrupted gracefully (checkpoint first, no lost work; one restart) at
    # planned_per_1000_node_days per node held
    maintenance_fraction: float = 0.0
    planned_per_1000_node_days: float = 0.0

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.positive("failures_per_1000_node_days", allow_zero=True)
        c.fraction("lemon_fraction")
        if self.lemon_factor is not None and not (1.0 <= self.lemon_factor < math.inf):
            c.add("lemon_factor", "must be >= 1 and finite")
        if self.infant_factor is not None and not (1.0 <= self.infant_factor < math.inf):
            c.add("infant_factor", "must be >= 1 and finite (a hazard that falls with age)")
        c.positive("infant_days")
        c.positive("burn_in_days", "age_at_start_days", "fabric_per_1000_node_days",
                   "fabric_detect_hours", "planned_per_1000_node_days", allow_zero=True)
        c.positive("lemon_removal_days")
        if self.maintenance_fraction is not None and not (0.0 <= self.maintenance_fraction
                                                          < 1.0):
            c.add("maintenance_fraction", "must be a fraction in [0, 1)")
        if self.causes:
            total = sum(x.share for x in self.causes.values() if x.share is not None)
            if abs(total - 1.0) > 1e-6:
                c.add_value("causes", {k: x.share for k, x in self.causes.items()},
                            f"shares must sum to 1 (they sum to {total:.6g})")
        c.done()

    def cause_table(self) -> dict[str, tuple[float, DurationConfig]]:
        """``{cause: (share, repair)}``, with the single default cause when none is given."""
        if not self.causes:
            return {"node": (1.0, self.repair)}
        return {k: (x.share, x.repair) for k, x in self.causes.items()}


@dataclass
class CapacityPoint:
    """One point of a capacity schedule: from ``at`` on, this much is online."""

    at: str = "2026-01-01"  # ISO date
    nodes: int | None = None  # nodes online (give nodes or mw, not both)
    mw: float | None = None  # facility MW online, converted through gpus.<gpu>.facility_kw

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.date("at")
        if (self.nodes is None) == (self.mw is None):
            c.add_value("nodes", self.nodes, "give exactly one of nodes and mw")
        c.positive("nodes", allow_zero=True)
        c.positive("mw", allow_zero=True)
        c.done()


@dataclass
class PoolConfig:
    """A GPU pool (``pools.<name>``): one owner, one GPU type, nodes online over time."""

    owner: str = "???"  # party that owns the hardware
    gpu: str = "h100"  # key into gpus
    gpus_per_node: int = 8  # GPUs per node
    nodes: int = 0  # installed nodes when complete; cap on any schedule point
    capacity: list[CapacityPoint] = field(default_factory=list)  # online schedule; empty = all
    interpolation: Interpolation = Interpolation.step  # step or linear between points
    reliability: ReliabilityConfig = field(default_factory=ReliabilityConfig)

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.positive("gpus_per_node", "nodes")
        c.done()


# -------------------------------------------------------------------------- lease


@dataclass
class LeaseConfig:
    """A landlord-to-tenant contract on a pool (``leases.<name>``); the landlord is the owner."""

    pool: str = "???"  # key into pools
    tenant: str = "???"  # key into parties
    share: float | None = None  # fraction of the pool's online nodes (give share or gpus)
    gpus: int | None = None  # contracted GPUs (give share or gpus)
    start: str = "???"  # ISO date the lease starts
    end: str = "???"  # ISO date the initial term ends
    renewals: int = 0  # automatic renewals, each as long as the initial term
    # the price, one of: a fixed price per year for the lease whatever its share or GPUs,
    # or a price per contracted GPU-hour (payments follow the share or GPUs); withheld
    # GPUs are not paid for, failed ones are (docs/model.md, "Money")
    annual_usd: float | None = None  # $ per year, fixed
    usd_per_gpu_hour: float | None = None  # $ per contracted GPU-hour
    failure_burden: FailureBurden = FailureBurden.delivered  # who absorbs node failures
    notice_days: float = 0.0  # landlord actions take effect this long after announced
    # either side may end the lease on this much notice, days; none = no termination right
    termination_notice_days: float | None = None
    landlord_priority: bool = False  # contract lets the landlord's own jobs go first

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.date("start", "end")
        if (self.share is None) == (self.gpus is None):
            c.add_value("share", self.share, "give exactly one of share and gpus")
        if self.share is not None and not (0.0 < self.share <= 1.0):
            c.add("share", "must be a fraction in (0, 1]")
        c.positive("gpus")
        if (self.annual_usd is None) == (self.usd_per_gpu_hour is None):
            c.add_value("annual_usd", self.annual_usd, "give exactly one of annual_usd and "
                        "usd_per_gpu_hour")
        c.positive("annual_usd", "usd_per_gpu_hour", "notice_days", "renewals",
                   "termination_notice_days", allow_zero=True)
        s, e = parse_date(self.start), parse_date(self.end)
        if s is not None and e is not None and e <= s:
            c.add("end", f"must be after start ({self.start})")
        c.done()


# ---------------------------------------------------------------------------- job


@dataclass
class CheckpointConfig:
    """How a job checkpoints."""

    # compute hours between checkpoints, or "auto": the Daly (2006) higher-order optimum for
    # the job's expected failure rate on its current allocation, recomputed when it changes
    interval_hours: Any = "auto"
    # blocking checkpoint write, hours (none: 0.05, or from size_gb when given)
    write_hours: float | None = None
    # or its size, GB (about 14 bytes per parameter: bf16 weights, fp32 master and Adam
    # moments; BLOOM 176B wrote 2.3 TB), and the write follows from the storage and mode
    size_gb: float | None = None
    # storage write bandwidth, GB/s: 50-200 measured over 40 production runs (VAST Data,
    # secondary); Llama 3's storage sustained 2,000 (arXiv:2407.21783 s3.3.1)
    storage_gb_s: float = 100.0
    mode: CheckpointMode = CheckpointMode.sync  # with size_gb: sync or asynchronous

    def __post_init__(self) -> None:
        c = _Checks(self)
        if self.write_hours is not None and self.size_gb is not None:
            c.add_value("write_hours", self.write_hours,
                        "give write_hours or size_gb, not both")
        c.positive("size_gb", "storage_gb_s")
        v = self.interval_hours
        ok = v == "auto" or (isinstance(v, (int, float)) and not isinstance(v, bool)
                             and 0 < v < math.inf  # no math.isfinite: v may be a huge int
                             and not (isinstance(v, int) and v > INT_MAX))
        if not ok:
            c.add("interval_hours", "must be 'auto' or a number of hours > 0")
        c.positive("write_hours", allow_zero=True)
        c.done()

    @property
    def auto(self) -> bool:
        """Whether the interval is chosen by the engine."""
        return self.interval_hours == "auto"


@dataclass
class JobConfig:
    """A training run of a roadmap (``jobs.<name>``)."""

    party: str = "???"  # who trains it
    flops: float | None = None  # total training FLOPs (or give params and tokens)
    params: float | None = None  # parameters N, for FLOPs = 6 N D
    tokens: float | None = None  # training tokens D, for FLOPs = 6 N D
    # model FLOPs utilisation (fraction of dense peak) as measured, or leave it out and give
    # model and parallel: simgpu.perf then estimates it for each allowed pool's GPU type
    mfu: float | None = None
    mfu_scale: float = 1.0  # multiplier on the job's MFU (sensitivity; software not modelled)
    model: Any = None  # shape: layers, hidden, heads, kv_heads, ffn_hidden, vocab, seq_len...
    parallel: Any = None  # tp, pp, cp, global_batch (sequences), micro_batch, recompute...
    target_gpus: int = 8  # GPUs the run asks for
    min_gpus: int = 8  # fewest GPUs it runs on (gang scheduling)
    pools: list[str] = field(default_factory=list)  # allowed pools, in order of preference
    earliest_start: str | None = None  # ISO date; none = sim.start
    deadline: str | None = None  # ISO date, recorded as met or missed
    priority: int = 0  # higher runs first within its party
    after: list[str] = field(default_factory=list)  # jobs that must finish first
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    # (re)start: detection, drain, swap in a spare, launch, hours (5 min: the lower end of
    # Meta RSC's 5-20 min, Kokolis et al., arXiv:2410.21680, secondary), plus
    # communicator set-up growing with the job: restart_seconds_at_16k x (GPUs / 16,384) ^
    # restart_exponent (17 s at 16K and 200 s at 98K GPUs, Meta's NCCL start-up as
    # reported for arXiv:2602.00277, secondary; fitted exponent 1.38)
    restart_hours: float = 5.0 / 60.0
    restart_seconds_at_16k: float = 17.0
    restart_exponent: float = 1.38
    # the MFU's uncertainty carried into the simulation, drawn per replica (common random
    # numbers): [p10, p90] multipliers, or "model" (simgpu.perf's out-of-source band);
    # none = the MFU as given
    mfu_band: Any = None
    # a running job moves to a more preferred pool, or grows to its target, at a checkpoint
    # when that makes it finish sooner by more than the restart (docs/model.md); or never
    migrate: Migrate = Migrate.at_checkpoint

    def __post_init__(self) -> None:
        c = _Checks(self)
        has_flops = self.flops is not None
        has_nd = self.params is not None or self.tokens is not None
        if has_flops == has_nd:
            c.add_value("flops", self.flops, "give flops, or params and tokens (6ND), not both")
        elif has_nd and (self.params is None or self.tokens is None):
            c.add_value("params", self.params, "give both params and tokens")
        c.positive("flops", "params", "tokens", "target_gpus", "min_gpus")
        if self.mfu is not None and not (0.0 < self.mfu <= 1.0):
            c.add("mfu", "must be a fraction in (0, 1]")
        c.positive("mfu_scale")
        shaped = self.model is not None or self.parallel is not None
        if (self.mfu is None) == (not shaped):
            c.add_value("mfu", self.mfu, "give mfu, or model and parallel (not both)")
        elif shaped and (self.model is None or self.parallel is None):
            c.add_value("model" if self.model is None else "parallel", None,
                        "give both model and parallel")
        for key in ("model", "parallel"):
            v = getattr(self, key)
            if v is not None and not isinstance(v, dict):
                c.add(key, "must be a mapping of settings")
        if (self.min_gpus or 0) > 0 and (self.target_gpus or 0) > 0:
            if self.min_gpus > self.target_gpus:
                c.add("min_gpus", f"must be <= target_gpus ({self.target_gpus})")
        c.positive("restart_hours", "restart_seconds_at_16k", "restart_exponent",
                   allow_zero=True)
        band = self.mfu_band
        if band is not None and band != "model":
            if not (isinstance(band, (list, tuple)) and len(band) == 2
                    and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                            and math.isfinite(x) for x in band)
                    and 0 < band[0] <= 1 <= band[1]):
                c.add_value("mfu_band", band, "must be \"model\" or [p10, p90] multipliers "
                            "of the MFU with 0 < p10 <= 1 <= p90")
        c.date("earliest_start", "deadline")
        if not self.pools:
            c.add("pools", "must list at least one allowed pool")
        c.done()

    @property
    def total_flops(self) -> float:
        """Training FLOPs: ``flops``, or ``6 * params * tokens``."""
        if self.flops is not None:
            return float(self.flops)
        return 6.0 * float(self.params) * float(self.tokens)


# ----------------------------------------------------------------------- scenario


@dataclass
class ActionConfig:
    """A landlord action on one lease, part of the scenario's story (all variants)."""

    kind: ActionKind = ActionKind.withhold  # withhold, landlord_first, non_renew, price_change
    lease: str = "???"  # key into leases
    at: str = "???"  # ISO date announced; effective after the lease's notice_days
    # ISO date it stops (the notice period delays its start only); none = for good
    until: str | None = None
    fraction: float = 0.0  # withhold: fraction of the lease withheld
    price_factor: float = 1.0  # price_change: multiplier on the lease price

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.date("at", "until")
        c.fraction("fraction")
        c.positive("price_factor", allow_zero=True)
        a, u = parse_date(self.at), parse_date(self.until) if self.until else None
        if a is not None and u is not None and u <= a:
            c.add("until", f"must be after at ({self.at})")
        c.done()


@dataclass
class CounterfactualConfig:
    """Which counterfactual variants run beside the baseline, with common random numbers."""

    no_lease: bool = True  # the tenant never had the landlord's leases
    withhold_levels: list[float] = field(  # leverage curve: fractions withheld
        default_factory=lambda: [0.25, 0.5, 0.75, 1.0]
    )
    withhold_start: str | None = None  # ISO date withholding starts; none = lease start
    withhold_days: float | None = None  # how long it lasts, days; none = to lease end
    landlord_first: bool = True  # the landlord's own jobs take leased GPUs first
    non_renew: bool = True  # leases are not renewed at the end of their term
    # with several landlords, every lever also acts on each landlord's leases alone
    per_landlord: bool = True
    landlords: list[str] = field(default_factory=list)  # those landlords; empty = every one

    def __post_init__(self) -> None:
        c = _Checks(self)
        for i, w in enumerate(self.withhold_levels or []):
            if not (0.0 <= w <= 1.0):
                c.add_value(f"withhold_levels[{i}]", w, "must be a fraction in [0, 1]")
        c.date("withhold_start")
        c.positive("withhold_days")
        c.done()


@dataclass
class SweepConfig:
    """An in-batch sweep: one extra variant per value of a lever, simulated in the same
    batch as the baseline on common random numbers (no process per point)."""

    lever: Lever = Lever.share  # share, withhold, price, start_days, withhold_start, terminate
    values: list[float] = field(default_factory=list)  # one variant per value
    leases: list[str] = field(default_factory=list)  # default: the landlord->tenant leases
    start: str | None = None  # withhold: ISO date it starts; none = each lease's start
    # withhold, withhold_start: how long, days; none = to the lease's end
    days: float | None = None
    fraction: float = 1.0  # withhold_start: the fraction withheld

    def __post_init__(self) -> None:
        c = _Checks(self)
        lever = self.lever.value if isinstance(self.lever, Lever) else str(self.lever)
        for i, v in enumerate(self.values or []):
            ok = math.isfinite(v)
            if lever in ("share", "withhold"):
                ok = ok and 0.0 <= v <= 1.0
                msg = "must be a fraction in [0, 1]"
            elif lever == "price":
                ok = ok and v >= 0.0
                msg = "must be >= 0"
            elif lever in ("withhold_start", "terminate"):
                ok = ok and v >= 0.0
                msg = "must be a day >= 0 (days from sim.start)"
            else:
                msg = "must be a finite number of days"
            if not ok:
                c.add_value(f"values[{i}]", v, msg)
        c.date("start")
        c.positive("days")
        c.fraction("fraction")
        c.done()


@dataclass
class ScenarioConfig:
    """The story (landlord actions), the counterfactual set to compare and the in-batch
    lever sweeps."""

    actions: list[ActionConfig] = field(default_factory=list)
    counterfactuals: CounterfactualConfig = field(default_factory=CounterfactualConfig)
    sweeps: dict[str, SweepConfig] = field(default_factory=dict)


# ---------------------------------------------------------------------------- sim


#: Stop reasons of ``sim.replicas: auto`` (docs/model.md, "How many replicas").
STOP_REASONS = ("target_reached", "max_replicas", "time_budget", "nothing_measurable")


@dataclass
class PrecisionConfig:
    """When ``sim.replicas: auto`` stops adding replicas (docs/model.md, "How many
    replicas"): once the confidence interval of every targeted headline median is at most
    its target half-width, or ``max_replicas`` or ``time_budget_s`` is spent."""

    ci_level: float = 0.95  # confidence level of each interval (the conventional 95 %)
    # target half-width of each tenant's P50 roadmap delay under every counterfactual,
    # days; null = not a target (illustrative assumption: finer than the month-scale
    # delays a roadmap decision turns on, coarse enough to need hundreds of histories)
    delay_days: float | None = 5.0
    # target half-width of each tenant's P50 dependency share (all landlords, and each
    # landlord's), as a fraction: 0.02 = +-2 points; null = not a target (illustrative)
    dependency_share: float | None = 0.02
    # replicas always run before the first check (illustrative assumption: checking a
    # small sample invites stopping on a lucky interval; docs/model.md)
    min_replicas: int = 100
    max_replicas: int = 5000  # cap on replicas (illustrative: ~1 h of a 3-year preset)
    step_replicas: int = 100  # replicas added between checks (illustrative)
    # wall-clock budget, seconds: no round is started that would end past it; null = none.
    # Makes the replica count, and so summary.json, depend on the machine
    time_budget_s: float | None = None

    def __post_init__(self) -> None:
        c = _Checks(self)
        lv = self.ci_level
        if lv is not None and not (0.5 <= lv < 1.0):
            c.add("ci_level", "must be in [0.5, 1), e.g. 0.95")
        for key in ("delay_days", "dependency_share"):
            v = getattr(self, key)
            if v is not None and not (math.isfinite(v) and v > 0):
                c.add(key, "must be a half-width > 0, or null for no target")
        if self.dependency_share is not None and self.dependency_share >= 1:
            c.add("dependency_share", "is a fraction (0.02 = +-2 points): must be < 1")
        c.positive("min_replicas", "max_replicas", "step_replicas", "time_budget_s")
        if lv is not None and 0.5 <= lv < 1.0 and self.min_replicas is not None:
            least = median_ci_min_n(lv)
            if 0 < self.min_replicas < least:
                c.add("min_replicas", f"must be >= {least}: fewer replicas have no "
                      f"{lv:g} confidence interval of a median")
        mn, mx = self.min_replicas, self.max_replicas
        if mn is not None and mx is not None and 0 < mx < mn:
            c.add("max_replicas", f"must be >= min_replicas ({mn})")
        c.done()


def median_ci_min_n(level: float) -> int:
    """The fewest replicas with a distribution-free ``level`` interval of a median: the
    widest one, ``[x_(1), x_(n)]``, covers with probability ``1 - 2 * 0.5**n``."""
    return max(1, math.ceil(math.log2(2.0 / (1.0 - level)) - 1e-12))


@dataclass
class SimConfig:
    """How to simulate."""

    backend: Backend = Backend.auto  # auto, cupy, cpu or numpy
    device_id: int = -1  # CUDA device ordinal; -1 = job number mod visible GPUs (0 alone)
    seed: int = 0  # root seed of the counter-based generator, in [0, 2**64)
    start: str = "2026-07-01"  # ISO date of hour 0
    horizon_days: float = 1095.0  # simulated span, days
    step_hours: float = 1.0  # time step, hours
    # Monte-Carlo replicas, or "auto": add replicas until the headline medians are as
    # precise as sim.precision asks (OmegaConf has no int | str: typed Any; the loader
    # checks the type from the metadata, the range is checked below)
    replicas: Any = field(default=64, metadata={"int_or": "auto"})
    # id of the first replica: the run simulates replicas [replica_offset, replica_offset +
    # replicas) of the seed's histories, so that chunks of one large run over several jobs
    # merge into that run (`simgpu-aggregate --merge`, docs/sweeps.md)
    replica_offset: int = 0
    chunk_replicas: int = 0  # replicas per batch; 0 = as many as max_memory_gb allows
    max_memory_gb: float = 4.0  # bound on the engine's working memory, GB
    progress: bool = True  # log progress of long runs
    precision: PrecisionConfig = field(default_factory=PrecisionConfig)  # replicas: auto

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.date("start")
        c.positive("horizon_days", "step_hours", "max_memory_gb")
        r = self.replicas
        if not (r == "auto" or (isinstance(r, int) and not isinstance(r, bool)
                                and 0 < r <= INT_MAX)):
            c.add("replicas", "must be > 0 (a whole number of replicas) or 'auto' "
                  "(see sim.precision)")
        p = self.precision
        if r == "auto" and p is not None and p.delay_days is None \
                and p.dependency_share is None:
            c.add("replicas", "needs a target: set sim.precision.delay_days or "
                  "sim.precision.dependency_share (both are null)")
        c.positive("chunk_replicas", allow_zero=True)
        off, n = self.replica_offset, self.replicas
        if off is not None and not (0 <= off < 2**32):
            c.add("replica_offset", "must be a replica id in [0, 2**32)")
        elif off is not None and isinstance(n, int) and 0 < n and off + n > 2**32:
            c.add("replica_offset", f"+ sim.replicas ({n}) must be at most 2**32: "
                  "replica ids are 32-bit in the random-number key")
        if self.device_id < -1:
            c.add("device_id", "must be a device ordinal >= 0, or -1 for one per sweep job")
        if self.seed is not None and not (0 <= self.seed < 2**64):
            c.add("seed", "must be in [0, 2**64)")
        h, s = self.horizon_days, self.step_hours
        if h is not None and s is not None and h > 0 and s > 0 and h * 24.0 < s:
            c.add("horizon_days", f"is shorter than one step ({s} h)")
        c.done()

    @property
    def auto(self) -> bool:
        """Whether the replica count is chosen by precision (``replicas: auto``)."""
        return self.replicas == "auto"

    @property
    def replicas_at_most(self) -> int:
        """The most replicas the run can simulate: the count, or the auto run's cap."""
        return self.precision.max_replicas if self.auto else self.replicas

    @property
    def replicas_at_least(self) -> int:
        """The fewest replicas the run simulates: the count, or the auto run's first
        round (at most its cap)."""
        p = self.precision
        return min(p.min_replicas, p.max_replicas) if self.auto else self.replicas


# ------------------------------------------------------------------------- report


#: Failures per 1000 node-days, [low, high], per GPU generation: the published range
#: (docs/reliability.md, "Published rates"): Hopper from Llama 3 405B's 3.79
#: (arXiv:2407.21783, derived) to Crusoe's H200 cluster's ~8.5 (GTC 2025 talk, secondary,
#: derived); Ampere from Meta RSC-2's 2.34 to RSC-1's 6.50 (Kokolis et al.,
#: arXiv:2410.21680, secondary); Blackwell from a 504-GPU B200 run's 2.9 (GPU failures only,
#: arXiv:2605.09370, secondary) to twice the typical 6.5 (illustrative assumption).
SENSITIVITY_FAILURE_RATES = {"hopper": [3.79, 8.5], "ampere": [2.34, 6.5],
                             "blackwell": [2.9, 13.0]}


class SensitivityInput(Enum):
    """An uncertain input the sensitivity analysis varies."""

    failure_rate = "failure_rate"
    restart = "restart"
    checkpoint_write = "checkpoint_write"
    mfu = "mfu"
    repair = "repair"
    ramp = "ramp"


@dataclass
class SensitivityConfig:
    """The headline metrics at a low and a high value of each uncertain input, one input
    at a time, on the main run's random numbers (docs/report.md, "Sensitivity")."""

    enabled: bool = True  # run it with every run that has landlord leases
    replicas: int = 8  # histories per point (the main run's first ones: common numbers)
    step_hours: float = 6.0  # step of the sensitivity runs, hours (coarser than the run's)
    inputs: list[SensitivityInput] = field(default_factory=lambda: list(SensitivityInput))
    # failures per 1000 node-days per GPU generation, [low, high]
    failure_rate: dict[str, list[float]] = field(
        default_factory=lambda: {k: list(v) for k, v in SENSITIVITY_FAILURE_RATES.items()})
    # multipliers of the configured rate for GPU types of other generations: illustrative
    failure_rate_factor: list[float] = field(default_factory=lambda: [0.6, 2.2])
    # restart after an interruption, hours: 150 s with purpose-built recovery at 4,800
    # devices (FlashRecovery, arXiv:2509.03047) to 20 min (the upper end Meta RSC reports,
    # Kokolis et al., arXiv:2410.21680, secondary)
    restart_hours: list[float] = field(default_factory=lambda: [150.0 / 3600.0, 1.0 / 3.0])
    # multipliers of the checkpoint write: illustrative (async writes block 0.01-6 s,
    # synchronous ones minutes: docs/reliability.md)
    checkpoint_write: list[float] = field(default_factory=lambda: [0.25, 4.0])
    # multipliers of the MFU; empty = simgpu.perf's out-of-source P10-P90 band (docs/perf.md)
    mfu: list[float] = field(default_factory=list)
    # multipliers of repair and outage durations: illustrative (per-cause repair times are
    # essentially unpublished for GPU clusters)
    repair: list[float] = field(default_factory=lambda: [0.5, 2.0])
    ramp_days: list[float] = field(default_factory=lambda: [-90.0, 90.0])  # schedule shift

    def __post_init__(self) -> None:
        c = _Checks(self)
        c.positive("replicas", "step_hours")
        for key in ("failure_rate_factor", "restart_hours", "checkpoint_write", "mfu",
                    "repair", "ramp_days"):
            _band(c, key, getattr(self, key), allow_empty=key == "mfu",
                  low=None if key == "ramp_days" else 0.0,
                  low_open=key not in ("ramp_days", "restart_hours"))
        for gen, band in (self.failure_rate or {}).items():
            _band(c, f"failure_rate.{gen}", band)
        c.done()


def _band(c: _Checks, key: str, band: Any, allow_empty: bool = False,
          low: float | None = 0.0, low_open: bool = True) -> None:
    """A ``[low, high]`` pair: two finite numbers, low <= high, and low above ``low``
    (``> low`` when ``low_open``, else ``>=``; no bound when None)."""
    if band is None or (allow_empty and len(band) == 0):
        return
    ok = (len(band) == 2 and all(isinstance(x, (int, float)) and math.isfinite(x)
                                 for x in band) and band[0] <= band[1])
    if ok and low is not None:
        ok = band[0] > low if low_open else band[0] >= low
    if not ok:
        bound = "" if low is None else f" and low {'>' if low_open else '>='} {low:g}"
        c.add_value(key, list(band), "must be a [low, high] pair of finite numbers with "
                    f"low <= high{bound}")


@dataclass
class ReportConfig:
    """What the run writes."""

    summary: str = "summary.json"  # file name of the summary, inside the run directory
    formats: list[ReportFormat] = field(
        default_factory=lambda: [ReportFormat.png, ReportFormat.pdf, ReportFormat.markdown]
    )
    daily_series: bool = True  # record per-day capacity series (for figures)
    daily_replicas: int = 1000  # record the per-day series for at most this many replicas
    overwrite: bool = False  # replace the results of an earlier run in the output directory
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)

    def __post_init__(self) -> None:
        c = _Checks(self)
        name = self.summary or ""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            c.add("summary", "must be a plain file name inside the run directory")
        if self.daily_replicas < 1:
            c.add("daily_replicas", "must be >= 1")
        c.done()


# ------------------------------------------------------------------------- root


@dataclass
class SimgpuConfig:
    """The composed configuration: one tree, addressed by dotted keys."""

    name: str = "custom"  # scenario name, shown in reports
    description: str = ""  # one paragraph: what the scenario tells
    gpus: dict[str, GpuConfig] = field(default_factory=dict)
    parties: dict[str, PartyConfig] = field(default_factory=dict)
    pools: dict[str, PoolConfig] = field(default_factory=dict)
    leases: dict[str, LeaseConfig] = field(default_factory=dict)
    jobs: dict[str, JobConfig] = field(default_factory=dict)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
