"""One negative test per validation rule: every problem names its dotted key and value.

Bad configurations are built by editing the plain dict of a composed (tiny) default and
calling :func:`simgpu.config.load`, or with Hydra overrides through :func:`compose`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from omegaconf import OmegaConf
from tiny_config import TINY_OVERRIDES

from simgpu.config import compose, load
from simgpu.config import schema as S
from simgpu.errors import ConfigError
from simgpu.run import prepare

DELETE = object()  # edit value: remove the key


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    """The tiny default as a plain dict (enums as strings)."""
    return OmegaConf.to_container(compose(TINY_OVERRIDES), resolve=True, enum_to_str=True)


def _parts(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        m = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", part)
        assert m, path
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def edit(data: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with ``{dotted.path[i]: value}`` applied in order."""
    d = copy.deepcopy(data)
    for path, value in edits.items():
        *head, last = _parts(path)
        node: Any = d
        for k in head:
            node = node[k]
        if value is DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return d


def problems_of(data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        load(data)
    return ei.value


def check(err: ConfigError, key: str, value: Any, fragment: str = "") -> None:
    """``key`` is among the problems, reported with ``value`` and ``fragment``."""
    text = str(err)
    keys = [p.key for p in err.problems]
    assert key in keys, f"{key} not in {keys}\n{text}"
    assert f"{key}={value!r}" in text, text
    if fragment:
        msgs = [p.message for p in err.problems if p.key == key]
        assert any(fragment in m for m in msgs), f"{fragment!r} not in {msgs}"


def test_base_is_valid(base):
    load(base)


# ------------------------------------------------- layer 1: keys, types, enums, required

LAYER1 = [
    ("misspelled-key", {"sim.replica": 2}, "sim.replica", 2, "did you mean 'replicas'?"),
    ("misspelled-pool-key", {"pools.colossus1.ownr": "xai"}, "pools.colossus1.ownr", "xai",
     "did you mean 'owner'?"),
    ("misspelled-group", {"lease": {}}, "lease", {}, "did you mean 'leases'?"),
    ("unknown-key-no-match", {"sim.zzzz": 1}, "sim.zzzz", 1, "known keys: backend"),
    ("wrong-type-int", {"sim.chunk_replicas": "many"}, "sim.chunk_replicas", "many",
     "must be of type int"),
    ("wrong-type-float", {"pools.colossus1.reliability.failures_per_1000_node_days": "often"},
     "pools.colossus1.reliability.failures_per_1000_node_days", "often",
     "must be of type float"),
    ("wrong-type-list", {"jobs.frontier_1.pools": 5}, "jobs.frontier_1.pools", 5,
     "must be of type list"),
    ("bad-enum-backend", {"sim.backend": "gpu"}, "sim.backend", "gpu",
     "must be one of: auto, numpy, cupy"),
    ("bad-enum-role", {"parties.xai.role": "owner"}, "parties.xai.role", "owner",
     "must be one of: landlord, tenant, other"),
    ("bad-enum-in-list", {"report.formats": ["png", "svg"]}, "report.formats", ["png", "svg"],
     "png, pdf, markdown"),
    ("group-not-mapping", {"sim": 5}, "sim", 5, "must be a mapping"),
    ("table-not-mapping", {"pools": 5}, "pools", 5, "must be a mapping of name -> entry"),
    ("entry-not-mapping", {"pools.colossus1": 5}, "pools.colossus1", 5, "must be a mapping"),
    ("list-not-list", {"scenario.actions": "none"}, "scenario.actions", "none",
     "must be a list"),
    ("missing-required", {"leases.colossus_one.pool": "???"}, "leases.colossus_one.pool",
     "???", "is required"),
    ("missing-required-deleted", {"leases.colossus_one.tenant": DELETE},
     "leases.colossus_one.tenant", "???", "is required"),
    ("missing-required-new-entry", {"pools.extra": {"nodes": 10}}, "pools.extra.owner", "???",
     "is required"),
]


@pytest.mark.parametrize(("edits", "key", "value", "fragment"),
                         [c[1:] for c in LAYER1], ids=[c[0] for c in LAYER1])
def test_layer1(base, edits, key, value, fragment):
    check(problems_of(edit(base, edits)), key, value, fragment)


# ----------------------------------------------------- layer 2: range checks (schema.py)

REPAIR = "pools.colossus1.reliability.repair"
DOMAIN = "pools.colossus1.reliability.domains.facility_power"
CAP = "pools.colossus2.capacity"
LEASE = "leases.colossus_one"
JOB = "jobs.frontier_1"
ACTION = {"kind": "withhold", "lease": "colossus_one", "at": "2026-07-05",
          "until": "2026-07-10", "fraction": 0.5}
CF = "scenario.counterfactuals"

LAYER2 = [
    # GpuConfig: every field > 0
    *[(f"gpu-{f}", {f"gpus.h100.{f}": v}, f"gpus.h100.{f}", v, "must be > 0")
      for f, v in [("peak_tflops", 0.0), ("hbm_gib", -80.0), ("hbm_tb_s", 0.0),
                   ("nvlink_gb_s", -1.0), ("scaleout_gbit_s", 0.0), ("tdp_w", -700.0),
                   ("facility_kw", 0.0)]],
    ("gpu-not-finite", {"gpus.h100.peak_tflops": float("inf")}, "gpus.h100.peak_tflops",
     float("inf"), "must be > 0"),
    # DurationConfig
    ("duration-mean", {f"{REPAIR}.mean_hours": 0.0}, f"{REPAIR}.mean_hours", 0.0,
     "must be > 0"),
    ("duration-max", {f"{REPAIR}.max_hours": -1.0}, f"{REPAIR}.max_hours", -1.0,
     "must be > 0"),
    ("duration-cv", {f"{REPAIR}.cv": -0.5}, f"{REPAIR}.cv", -0.5, "must be >= 0"),
    ("duration-max-below-mean", {f"{REPAIR}.max_hours": 10.0}, f"{REPAIR}.max_hours", 10.0,
     "must be >= mean_hours"),
    ("duration-in-domain", {f"{DOMAIN}.duration.mean_hours": -6.0},
     f"{DOMAIN}.duration.mean_hours", -6.0, "must be > 0"),
    # DomainConfig
    ("domain-nodes", {f"{DOMAIN}.nodes": 0}, f"{DOMAIN}.nodes", 0, "must be > 0"),
    ("domain-rate", {f"{DOMAIN}.outages_per_domain_year": -1.0},
     f"{DOMAIN}.outages_per_domain_year", -1.0, "must be >= 0"),
    # ReliabilityConfig
    ("failure-rate", {"pools.colossus1.reliability.failures_per_1000_node_days": -3.79},
     "pools.colossus1.reliability.failures_per_1000_node_days", -3.79, "must be >= 0"),
    ("cause-share", {"pools.colossus1.reliability.causes": {"gpu": {"share": 1.5}}},
     "pools.colossus1.reliability.causes.gpu.share", 1.5, "fraction in [0, 1]"),
    ("cause-shares-sum", {"pools.colossus1.reliability.causes": {
        "gpu": {"share": 0.5}, "net": {"share": 0.2}}},
     "pools.colossus1.reliability.causes", {"gpu": 0.5, "net": 0.2}, "must sum to 1"),
    ("lemon-fraction", {"pools.colossus1.reliability.lemon_fraction": 1.5},
     "pools.colossus1.reliability.lemon_fraction", 1.5, "fraction in [0, 1]"),
    ("lemon-factor", {"pools.colossus1.reliability.lemon_factor": 0.5},
     "pools.colossus1.reliability.lemon_factor", 0.5, "must be >= 1"),
    # CapacityPoint
    ("capacity-date", {CAP: [{"at": "July 2026", "nodes": 10}]}, f"{CAP}[0].at", "July 2026",
     "ISO date"),
    ("capacity-nodes-and-mw", {CAP: [{"at": "2026-07-01", "nodes": 10, "mw": 1.0}]},
     f"{CAP}[0].nodes", 10, "exactly one of nodes and mw"),
    ("capacity-neither", {CAP: [{"at": "2026-07-01"}]}, f"{CAP}[0].nodes", None,
     "exactly one of nodes and mw"),
    ("capacity-negative-nodes", {CAP: [{"at": "2026-07-01", "nodes": -1}]}, f"{CAP}[0].nodes",
     -1, "must be >= 0"),
    ("capacity-negative-mw", {CAP: [{"at": "2026-07-01", "mw": -1.0}]}, f"{CAP}[0].mw", -1.0,
     "must be >= 0"),
    # PoolConfig
    ("pool-nodes", {"pools.colossus1.nodes": -5}, "pools.colossus1.nodes", -5, "must be > 0"),
    ("pool-gpus-per-node", {"pools.colossus1.gpus_per_node": 0},
     "pools.colossus1.gpus_per_node", 0, "must be > 0"),
    # LeaseConfig
    ("lease-start-date", {f"{LEASE}.start": "2026-13-01"}, f"{LEASE}.start", "2026-13-01",
     "ISO date"),
    ("lease-end-date", {f"{LEASE}.end": "soon"}, f"{LEASE}.end", "soon", "ISO date"),
    ("lease-share-and-gpus", {f"{LEASE}.gpus": 800}, f"{LEASE}.share", 1.0,
     "exactly one of share and gpus"),
    ("lease-neither-share-nor-gpus", {f"{LEASE}.share": None}, f"{LEASE}.share", None,
     "exactly one of share and gpus"),
    ("lease-share-zero", {f"{LEASE}.share": 0.0}, f"{LEASE}.share", 0.0, "(0, 1]"),
    ("lease-share-above-one", {f"{LEASE}.share": 1.5}, f"{LEASE}.share", 1.5, "(0, 1]"),
    ("lease-gpus", {f"{LEASE}.share": None, f"{LEASE}.gpus": -8}, f"{LEASE}.gpus", -8,
     "must be > 0"),
    ("lease-both-prices", {f"{LEASE}.usd_per_gpu_hour": 2.0}, f"{LEASE}.annual_usd", 15e9,
     "exactly one of annual_usd and usd_per_gpu_hour"),
    ("lease-no-price", {f"{LEASE}.annual_usd": None}, f"{LEASE}.annual_usd", None,
     "exactly one of annual_usd and usd_per_gpu_hour"),
    ("lease-annual-usd", {f"{LEASE}.annual_usd": -1.0}, f"{LEASE}.annual_usd", -1.0,
     "must be >= 0"),
    ("lease-usd-per-gpu-hour", {f"{LEASE}.annual_usd": None, f"{LEASE}.usd_per_gpu_hour": -2.0},
     f"{LEASE}.usd_per_gpu_hour", -2.0, "must be >= 0"),
    ("lease-notice", {f"{LEASE}.notice_days": -30.0}, f"{LEASE}.notice_days", -30.0,
     "must be >= 0"),
    ("lease-renewals", {f"{LEASE}.renewals": -1}, f"{LEASE}.renewals", -1, "must be >= 0"),
    ("lease-end-before-start", {f"{LEASE}.end": "2026-06-01"}, f"{LEASE}.end", "2026-06-01",
     "must be after start"),
    # JobConfig
    ("job-flops-and-6nd", {f"{JOB}.params": 1e9, f"{JOB}.tokens": 1e12}, f"{JOB}.flops", 1e23,
     "not both"),
    ("job-no-flops", {f"{JOB}.flops": None}, f"{JOB}.flops", None, "give flops"),
    ("job-params-without-tokens", {f"{JOB}.flops": None, f"{JOB}.params": 1e9},
     f"{JOB}.params", 1e9, "give both params and tokens"),
    ("job-flops", {f"{JOB}.flops": -1e23}, f"{JOB}.flops", -1e23, "must be > 0"),
    ("job-params", {f"{JOB}.flops": None, f"{JOB}.params": 0.0, f"{JOB}.tokens": 1e12},
     f"{JOB}.params", 0.0, "must be > 0"),
    ("job-tokens", {f"{JOB}.flops": None, f"{JOB}.params": 1e9, f"{JOB}.tokens": -1.0},
     f"{JOB}.tokens", -1.0, "must be > 0"),
    ("job-target-gpus", {f"{JOB}.target_gpus": 0}, f"{JOB}.target_gpus", 0, "must be > 0"),
    ("job-min-gpus", {f"{JOB}.min_gpus": -8}, f"{JOB}.min_gpus", -8, "must be > 0"),
    ("job-mfu-zero", {f"{JOB}.mfu": 0.0}, f"{JOB}.mfu", 0.0, "(0, 1]"),
    ("job-mfu-above-one", {f"{JOB}.mfu": 40.0}, f"{JOB}.mfu", 40.0, "(0, 1]"),
    ("job-min-above-target", {f"{JOB}.min_gpus": 2000}, f"{JOB}.min_gpus", 2000,
     "must be <= target_gpus"),
    ("job-checkpoint-interval", {f"{JOB}.checkpoint.interval_hours": 0.0},
     f"{JOB}.checkpoint.interval_hours", 0.0, "must be 'auto' or a number of hours > 0"),
    ("job-checkpoint-interval-word", {f"{JOB}.checkpoint.interval_hours": "often"},
     f"{JOB}.checkpoint.interval_hours", "often", "must be 'auto' or a number of hours > 0"),
    ("job-checkpoint-write", {f"{JOB}.checkpoint.write_hours": -0.1},
     f"{JOB}.checkpoint.write_hours", -0.1, "must be >= 0"),
    ("job-restart", {f"{JOB}.restart_hours": -1.0}, f"{JOB}.restart_hours", -1.0,
     "must be >= 0"),
    ("job-earliest-start", {f"{JOB}.earliest_start": "next year"}, f"{JOB}.earliest_start",
     "next year", "ISO date"),
    ("job-deadline", {f"{JOB}.deadline": "2026/12/01"}, f"{JOB}.deadline", "2026/12/01",
     "ISO date"),
    ("job-no-pools", {f"{JOB}.pools": []}, f"{JOB}.pools", [], "at least one allowed pool"),
    # ActionConfig
    ("action-at", {"scenario.actions": [{**ACTION, "at": "someday"}]},
     "scenario.actions[0].at", "someday", "ISO date"),
    ("action-until", {"scenario.actions": [{**ACTION, "until": "later"}]},
     "scenario.actions[0].until", "later", "ISO date"),
    ("action-fraction", {"scenario.actions": [{**ACTION, "fraction": 1.25}]},
     "scenario.actions[0].fraction", 1.25, "fraction in [0, 1]"),
    ("action-price-factor", {"scenario.actions": [{**ACTION, "kind": "price_change",
                                                   "price_factor": -2.0}]},
     "scenario.actions[0].price_factor", -2.0, "must be >= 0"),
    ("action-until-before-at", {"scenario.actions": [{**ACTION, "until": "2026-07-01"}]},
     "scenario.actions[0].until", "2026-07-01", "must be after at"),
    # CounterfactualConfig
    ("withhold-level", {f"{CF}.withhold_levels": [0.5, 1.5]}, f"{CF}.withhold_levels[1]", 1.5,
     "fraction in [0, 1]"),
    ("withhold-start", {f"{CF}.withhold_start": "tomorrow"}, f"{CF}.withhold_start",
     "tomorrow", "ISO date"),
    ("withhold-days", {f"{CF}.withhold_days": 0.0}, f"{CF}.withhold_days", 0.0, "must be > 0"),
    # SweepConfig
    ("sweep-share", {"scenario.sweeps": {"s": {"lever": "share", "values": [0.5, 2.0]}}},
     "scenario.sweeps.s.values[1]", 2.0, "must be a fraction in [0, 1]"),
    ("sweep-price", {"scenario.sweeps": {"s": {"lever": "price", "values": [-1.0]}}},
     "scenario.sweeps.s.values[0]", -1.0, "must be >= 0"),
    ("sweep-start", {"scenario.sweeps": {"s": {"lever": "withhold", "values": [0.5],
                                               "start": "soon"}}},
     "scenario.sweeps.s.start", "soon", "must be an ISO date"),
    ("sweep-days", {"scenario.sweeps": {"s": {"lever": "withhold", "values": [0.5],
                                              "days": -2.0}}},
     "scenario.sweeps.s.days", -2.0, "must be > 0"),
    # SimConfig
    ("sim-start", {"sim.start": "1 July"}, "sim.start", "1 July", "ISO date"),
    ("sim-horizon", {"sim.horizon_days": -20.0}, "sim.horizon_days", -20.0, "must be > 0"),
    ("sim-horizon-nan", {"sim.horizon_days": float("nan")}, "sim.horizon_days", float("nan"),
     "must be > 0"),
    ("sim-step", {"sim.step_hours": 0.0}, "sim.step_hours", 0.0, "must be > 0"),
    ("sim-replicas", {"sim.replicas": 0}, "sim.replicas", 0, "must be > 0"),
    ("sim-replicas-word", {"sim.replicas": "many"}, "sim.replicas", "many", "or 'auto'"),
    ("sim-replicas-float", {"sim.replicas": 2.5}, "sim.replicas", 2.5, "or 'auto'"),
    ("sim-replicas-bool", {"sim.replicas": True}, "sim.replicas", True, "or 'auto'"),
    ("sim-replicas-auto-no-target", {"sim.replicas": "auto", "sim.precision.delay_days": None,
                                     "sim.precision.dependency_share": None},
     "sim.replicas", "auto", "needs a target"),
    ("precision-level", {"sim.precision.ci_level": 1.0}, "sim.precision.ci_level", 1.0,
     "[0.5, 1)"),
    ("precision-delay", {"sim.precision.delay_days": -1.0}, "sim.precision.delay_days", -1.0,
     "half-width > 0"),
    ("precision-share-points", {"sim.precision.dependency_share": 2.0},
     "sim.precision.dependency_share", 2.0, "must be < 1"),
    ("precision-min-replicas", {"sim.precision.min_replicas": 5},
     "sim.precision.min_replicas", 5, "must be >= 6"),
    ("precision-max-below-min", {"sim.precision.max_replicas": 50},
     "sim.precision.max_replicas", 50, "must be >= min_replicas (100)"),
    ("precision-step", {"sim.precision.step_replicas": 0}, "sim.precision.step_replicas", 0,
     "must be > 0"),
    ("precision-budget", {"sim.precision.time_budget_s": 0.0}, "sim.precision.time_budget_s",
     0.0, "must be > 0"),
    ("sim-max-memory", {"sim.max_memory_gb": -4.0}, "sim.max_memory_gb", -4.0, "must be > 0"),
    ("sim-device-id", {"sim.device_id": -2}, "sim.device_id", -2, "must be a device ordinal"),
    ("sim-chunk-replicas", {"sim.chunk_replicas": -1}, "sim.chunk_replicas", -1,
     "must be >= 0"),
    ("sim-seed-negative", {"sim.seed": -1}, "sim.seed", -1, "[0, 2**64)"),
    ("sim-seed-too-big", {"sim.seed": 2**64}, "sim.seed", 2**64, "[0, 2**64)"),
    ("horizon-shorter-than-step", {"sim.horizon_days": 0.01}, "sim.horizon_days", 0.01,
     "shorter than one step"),
    ("horizon-shorter-than-long-step", {"sim.horizon_days": 1.0, "sim.step_hours": 48.0},
     "sim.horizon_days", 1.0, "shorter than one step (48.0 h)"),
    # ReportConfig
    ("report-summary-path", {"report.summary": "../summary.json"}, "report.summary",
     "../summary.json", "plain file name"),
    ("report-summary-hidden", {"report.summary": ".summary.json"}, "report.summary",
     ".summary.json", "plain file name"),
    ("report-summary-empty", {"report.summary": ""}, "report.summary", "", "plain file name"),
    ("sensitivity-replicas", {"report.sensitivity.replicas": 0}, "report.sensitivity.replicas",
     0, "must be > 0"),
    ("sensitivity-band", {"report.sensitivity.repair": [2.0, 1.0]},
     "report.sensitivity.repair", [2.0, 1.0], "[low, high]"),
    ("mfu-scale", {f"{JOB}.mfu_scale": 0.0}, f"{JOB}.mfu_scale", 0.0, "must be > 0"),
]


@pytest.mark.parametrize(("edits", "key", "value", "fragment"),
                         [c[1:] for c in LAYER2], ids=[c[0] for c in LAYER2])
def test_layer2_range_checks(base, edits, key, value, fragment):
    err = problems_of(edit(base, edits))
    if isinstance(value, float) and value != value:  # nan: repr is 'nan'
        assert f"{key}=nan" in str(err)
        assert key in [p.key for p in err.problems]
    else:
        check(err, key, value, fragment)


def test_every_schema_post_init_is_exercised():
    """Each dataclass with a ``__post_init__`` range check appears in LAYER2."""
    checked = {name for name, cls in vars(S).items()
               if isinstance(cls, type) and "__post_init__" in vars(cls)}
    assert checked == {"GpuConfig", "DurationConfig", "DomainConfig", "ReliabilityConfig",
                       "CapacityPoint", "PoolConfig", "LeaseConfig", "JobConfig",
                       "CheckpointConfig", "CauseConfig", "ActionConfig", "CounterfactualConfig",
                       "SweepConfig", "SimConfig", "PrecisionConfig", "ReportConfig",
                       "SensitivityConfig"}


@pytest.mark.parametrize(("cls", "kwargs", "key"), [
    (S.SimConfig, {"replicas": 0}, "replicas"),
    (S.LeaseConfig, {"pool": "p", "tenant": "t", "share": 2.0, "start": "2026-01-01",
                     "end": "2027-01-01", "annual_usd": 1.0}, "share"),
    (S.JobConfig, {"party": "a", "flops": 1e20, "mfu": 0.4, "pools": []}, "pools"),
])
def test_dataclass_built_by_hand_raises_at_once(cls, kwargs, key):
    with pytest.raises(ConfigError) as ei:
        cls(**kwargs)
    assert [p.key for p in ei.value.problems] == [key]


# ---------------------------------------------------------- layer 3: cross-group checks

EXTRA_LEASE = {"pool": "colossus1", "tenant": "anthropic", "share": 0.5,
               "start": "2026-07-10", "end": "2027-07-10", "annual_usd": 1e9}

LAYER3 = [
    ("no-parties", {"parties": {}}, "parties", {}, "define at least one party"),
    ("no-pools", {"pools": {}, "leases": {}}, "pools", {}, "define at least one pool"),
    ("no-jobs", {"jobs": {}}, "jobs", {}, "define at least one job"),
    # unknown references in pools
    ("pool-unknown-owner", {"pools.colossus1.owner": "openai"}, "pools.colossus1.owner",
     "openai", "unknown party (known: anthropic, xai)"),
    ("pool-unknown-gpu", {"pools.colossus1.gpu": "tpu"}, "pools.colossus1.gpu", "tpu",
     "unknown gpu type"),
    # capacity schedules
    ("capacity-exceeds-nodes", {CAP: [{"at": "2026-07-01", "nodes": 101}]},
     f"{CAP}[0].nodes", 101, "more than the pool's installed nodes (100)"),
    ("capacity-mw-exceeds-nodes", {CAP: [{"at": "2026-07-01", "mw": 100.0}]},
     f"{CAP}[0].mw", 100.0, "more than the pool's installed nodes (100)"),
    ("capacity-out-of-order", {CAP: [{"at": "2026-08-01", "nodes": 50},
                                     {"at": "2026-07-01", "nodes": 100}]},
     f"{CAP}[1].at", "2026-07-01", "increasing date order"),
    ("capacity-same-date", {CAP: [{"at": "2026-08-01", "nodes": 50},
                                  {"at": "2026-08-01", "nodes": 100}]},
     f"{CAP}[1].at", "2026-08-01", "increasing date order"),
    ("domain-larger-than-pool",
     {"pools.colossus1.reliability.domains.rack": {"kind": "rack", "nodes": 201}},
     "pools.colossus1.reliability.domains.rack.nodes", 201, "larger than the pool"),
    # leases
    ("lease-unknown-pool", {f"{LEASE}.pool": "colossus9"}, f"{LEASE}.pool", "colossus9",
     "unknown pool"),
    ("lease-unknown-tenant", {f"{LEASE}.tenant": "openai"}, f"{LEASE}.tenant", "openai",
     "unknown party"),
    ("lease-tenant-is-owner", {f"{LEASE}.tenant": "xai"}, f"{LEASE}.tenant", "xai",
     "is the owner of pool colossus1"),
    ("lease-gpus-exceed-pool", {f"{LEASE}.share": None, f"{LEASE}.gpus": 1601},
     f"{LEASE}.gpus", 1601, "exceeds pool colossus1's 1600 installed GPUs"),
    ("lease-overcommit", {"leases.extra": EXTRA_LEASE}, "leases.extra.share", 1.5,
     "commit more than all of pool colossus1"),
    ("lease-overcommit-by-gpus", {f"{LEASE}.share": 0.75,
                                  "leases.extra": {**EXTRA_LEASE, "share": None, "gpus": 800}},
     "leases.extra.share", 1.25, "commit more than all of pool colossus1"),
    # jobs
    ("job-unknown-party", {f"{JOB}.party": "openai"}, f"{JOB}.party", "openai",
     "unknown party"),
    ("job-unknown-pool", {f"{JOB}.pools": ["colossus1", "colossus9"]}, f"{JOB}.pools[1]",
     "colossus9", "unknown pool (known: colossus1, colossus2, tenant_other)"),
    ("job-never-fits", {"jobs.grok_next.min_gpus": 1601, "jobs.grok_next.target_gpus": 3200},
     "jobs.grok_next.min_gpus", 1601, "can never fit: the largest allowed pool has at most "
     "1600 GPUs"),
    ("job-no-access", {"jobs.grok_next.pools": ["tenant_other"]}, "jobs.grok_next.pools",
     ["tenant_other"], "party xai neither owns nor leases any of these pools"),
    ("job-depends-on-itself", {"jobs.frontier_2.after": ["frontier_2"]},
     "jobs.frontier_2.after[0]", "frontier_2", "cannot depend on itself"),
    ("job-unknown-dependency", {"jobs.frontier_2.after": ["frontier_1", "frontier_9"]},
     "jobs.frontier_2.after[1]", "frontier_9", "unknown job"),
    # scenario actions
    ("action-unknown-lease", {"scenario.actions": [{**ACTION, "lease": "colossus_two"}]},
     "scenario.actions[0].lease", "colossus_two", "unknown lease (known: colossus_one)"),
]


@pytest.mark.parametrize(("edits", "key", "value", "fragment"),
                         [c[1:] for c in LAYER3], ids=[c[0] for c in LAYER3])
def test_layer3_cross_checks(base, edits, key, value, fragment):
    check(problems_of(edit(base, edits)), key, value, fragment)


def test_dependency_cycle_shows_the_cycle(base):
    err = problems_of(edit(base, {"jobs.frontier_1.after": ["frontier_3"]}))
    cyc = [p for p in err.problems if "dependency cycle" in p.message]
    assert len(cyc) == 1, str(err)
    p = cyc[0]
    assert p.key.startswith("jobs.frontier_") and p.key.endswith(".after")
    assert f"{p.key}={p.value!r}" in str(err)
    assert "frontier_1 -> frontier_3 -> frontier_2 -> frontier_1" in p.message


def test_two_job_cycle(base):
    err = problems_of(edit(base, {"jobs.frontier_1.after": ["product_1"],
                                  "jobs.product_1.after": ["frontier_1"]}))
    msgs = [p.message for p in err.problems if "dependency cycle" in p.message]
    assert msgs == ["dependency cycle: frontier_1 -> product_1 -> frontier_1"]


def test_cycle_through_compose_override(tiny_overrides):
    with pytest.raises(ConfigError) as ei:
        load(compose([*tiny_overrides, "jobs.frontier_1.after=[frontier_3]"]))
    assert "dependency cycle: frontier_1 -> frontier_3 -> frontier_2 -> frontier_1" in str(
        ei.value)


# -------------------------------------------------- sizing checks in prepare (simgpu.run)


def test_memory_bound_too_small(base):
    with pytest.raises(ConfigError) as ei:
        prepare(edit(base, {"sim.max_memory_gb": 1e-6}))
    check(ei.value, "sim.max_memory_gb", 1e-6, "too small: this run needs about")


def test_chunk_too_big(base):
    with pytest.raises(ConfigError) as ei:
        prepare(edit(base, {"sim.chunk_replicas": 10**9, "sim.max_memory_gb": 0.5}))
    check(ei.value, "sim.chunk_replicas", 10**9, "does not fit sim.max_memory_gb=0.5")


def test_prepare_accepts_the_base(base):
    p = prepare(base)
    assert p.engine in ("numpy", "cupy", "cpu")
    assert 1 <= p.chunk <= 2


# ------------------------------------------------- every problem reported in one error


def test_three_bad_keys_three_problems(base):
    err = problems_of(edit(base, {"sim.replica": 2, "pools.colossus1.ownr": "xai",
                                  "jobs.frontier_1.flop": 1e23}))
    assert sorted(p.key for p in err.problems) == [
        "jobs.frontier_1.flop", "pools.colossus1.ownr", "sim.replica"]
    assert str(err).startswith("invalid configuration: 3 problems")


def test_type_enum_and_unknown_key_together(base):
    err = problems_of(edit(base, {"sim.replicas": "many", "sim.backend": "gpu",
                                  "leases.colossus_one.shares": 0.5}))
    assert {p.key for p in err.problems} == {"sim.replicas", "sim.backend",
                                             "leases.colossus_one.shares"}


def test_range_problems_in_several_groups_together(base):
    err = problems_of(edit(base, {"pools.colossus1.nodes": -5, "sim.replicas": 0,
                                  "leases.colossus_one.share": 1.5, "jobs.frontier_1.mfu": 2.0}))
    assert {p.key for p in err.problems} == {"pools.colossus1.nodes", "sim.replicas",
                                             "leases.colossus_one.share",
                                             "jobs.frontier_1.mfu"}


def test_cross_problems_together(base):
    err = problems_of(edit(base, {"pools.colossus1.owner": "openai",
                                  "jobs.frontier_2.after": ["frontier_2"],
                                  "jobs.grok_next.party": "nobody"}))
    keys = {p.key for p in err.problems}
    assert {"pools.colossus1.owner", "jobs.frontier_2.after[0]",
            "jobs.grok_next.party"} <= keys


# ------------------------------------------------------ compose: overrides Hydra rejects

COMPOSE_BAD = [
    ("misspelled", "sim.replica=2", "sim.replica", "2", "did you mean 'replicas'?"),
    ("misspelled-nested", "pools.colossus1.ownr=xai", "pools.colossus1.ownr", "xai",
     "did you mean 'owner'?"),
    ("wrong-type", "sim.chunk_replicas=many", "sim.chunk_replicas", "many", "Integer"),
    ("bad-enum", "sim.backend=gpu", "sim.backend", "gpu", "auto, numpy, cupy"),
    ("unknown-experiment", "experiment=nope", "experiment", "nope", "colossus_lease"),
    ("unknown-group-option", "sim=fast", "sim", "fast", "default"),
    ("unknown-pool-entry", "pools.colossus9.nodes=3", "pools.colossus9.nodes", "3", ""),
    ("bad-syntax", "sim.replicas=[", "sim.replicas", "[", ""),
]


@pytest.mark.parametrize(("override", "key", "value", "fragment"),
                         [c[1:] for c in COMPOSE_BAD], ids=[c[0] for c in COMPOSE_BAD])
def test_compose_rejects_override(override, key, value, fragment):
    with pytest.raises(ConfigError) as ei:
        compose([override])
    check(ei.value, key, value, fragment)


def test_compose_reports_every_bad_override(tiny_overrides):
    bad = ["sim.replica=2", "sim.backend=gpu", "experiment=nope"]
    with pytest.raises(ConfigError) as ei:
        compose([*tiny_overrides[:3], bad[0], "sim.seed=3", *bad[1:]])
    err = ei.value
    assert [p.key for p in err.problems] == ["sim.replica", "sim.backend", "experiment"]
    assert str(err).startswith("invalid configuration: 3 problems")


def test_compose_passes_range_errors_to_load():
    cfg = compose(["pools.colossus1.nodes=-5"])  # Hydra accepts it: an int
    with pytest.raises(ConfigError) as ei:
        load(cfg)
    check(ei.value, "pools.colossus1.nodes", -5, "must be > 0")


def test_horizon_shorter_than_step_via_compose():
    with pytest.raises(ConfigError) as ei:
        load(compose(["sim.horizon_days=0.01"]))
    check(ei.value, "sim.horizon_days", 0.01, "shorter than one step")
