"""Property: a configuration broken in 1-3 places gives one ConfigError that names every
broken key, and never another exception.

:func:`invalid_configs` draws a valid configuration (config_strategies.valid_configs) and
applies 1-3 mutations from :data:`CATALOGUE`: wrong types, unknown keys, missing required
values, out-of-range values, bad dates, dangling references, dependency cycles, leases
that over-commit a pool, jobs that can never fit or cannot reach their pools... Each
:class:`Mutation` knows the dotted key(s) where the loader reports it and its validation
layer, for the loader reports in layers (simgpu.config.load):

* ``type`` (types, enums, unknown keys) and ``range`` (each dataclass's own checks) are
  reported together, unless a required value is missing (``missing``: then only the type
  and missing problems, since range checks need every required value);
* ``cross`` (references, cycles, fit, over-commitment) only when nothing else is wrong.

So the expected keys are those of the mutations of the first layer group present, and every
problem reported must lie within the scope of one of them (no spurious problems). The
mutations are drawn with disjoint footprints (what each touches or relies on), so that no
mutation hides another.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from config_strategies import day, pool_max_nodes, valid_configs
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simgpu.config.load import load
from simgpu.errors import ConfigError

THOROUGH = settings.get_profile("thorough")  # registered by tests/property/conftest.py
ANY = object()  # a mutation whose reported value is not checked
HUGE = 2**63  # one more than the largest int64
BAD_DATES = ["soon", "2026-13-01", "2026-02-30", "2026-01-01T00:00+02:00", "2026-01-01Z"]


@dataclass
class Mutation:
    """One deliberate mistake in a configuration."""

    name: str  # catalogue entry
    layer: str  # type, missing, range or cross
    keys: tuple[str, ...]  # reported at (or under) at least one of these keys
    footprint: tuple[str, ...]  # config paths it changes or relies on
    value: Any = ANY  # the value reported at that key
    extra: tuple[str, ...] = ()  # other paths where it may cause problems as well
    writes: tuple[str, ...] = ()  # the paths it changed (set by the entry)

    @property
    def scope(self) -> tuple[str, ...]:
        return self.footprint + self.keys + self.extra


def under(key: str, prefix: str) -> bool:
    """``key`` is ``prefix`` or below it."""
    return key == prefix or key.startswith((prefix + ".", prefix + "["))


def overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return any(under(x, y) or under(y, x) for x in a for y in b)


def same(a: Any, b: Any) -> bool:
    """Equal values (nan equals nan; a bool equals only itself, not 1 or 1.0)."""
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return not isinstance(a, bool) and not isinstance(b, bool) and a == b


# ---------------------------------------------------------------------------- helpers


def leases_on(cfg: dict, pool: str) -> list[str]:
    return [n for n, le in cfg["leases"].items() if le["pool"] == pool]


def jobs_using(cfg: dict, pool: str) -> list[str]:
    return [n for n, j in cfg["jobs"].items() if pool in j["pools"]]


def lease_footprint(cfg: dict, lname: str) -> tuple[str, ...]:
    """A lease and what leans on it: its pool (over-commitment), its tenant's jobs on that
    pool (access)."""
    le = cfg["leases"][lname]
    return (f"leases.{lname}", f"pools.{le['pool']}",
            *(f"jobs.{j}" for j in jobs_using(cfg, le["pool"])
              if cfg["jobs"][j]["party"] == le["tenant"]))


def pool_footprint(cfg: dict, pname: str) -> tuple[str, ...]:
    return (f"pools.{pname}", *(f"leases.{n}" for n in leases_on(cfg, pname)),
            *(f"jobs.{j}" for j in jobs_using(cfg, pname)))


def numeric_fields(cfg: dict) -> list[tuple[str, str, bool]]:
    """``(path, int|float, optional)`` of numeric fields set in ``cfg``."""
    out = [("sim.replicas", "int", False), ("sim.horizon_days", "float", False),
           ("sim.step_hours", "float", False), ("sim.seed", "int", False),
           ("sim.max_memory_gb", "float", False), ("gpus.g0.peak_tflops", "float", False),
           ("gpus.g0.facility_kw", "float", False)]
    for p in cfg["pools"]:
        b = f"pools.{p}"
        out += [(f"{b}.nodes", "int", False), (f"{b}.gpus_per_node", "int", False),
                (f"{b}.reliability.failures_per_1000_node_days", "float", False),
                (f"{b}.reliability.lemon_factor", "float", False),
                (f"{b}.reliability.repair.mean_hours", "float", False)]
    for n, le in cfg["leases"].items():
        b = f"leases.{n}"
        out += [(f"{b}.renewals", "int", False), (f"{b}.notice_days", "float", False),
                (f"{b}.share", "float", True) if "share" in le else (f"{b}.gpus", "int", True)]
    for n, _j in cfg["jobs"].items():
        b = f"jobs.{n}"
        out += [(f"{b}.target_gpus", "int", False), (f"{b}.min_gpus", "int", False),
                (f"{b}.mfu", "float", True), (f"{b}.priority", "int", False),
                (f"{b}.restart_hours", "float", False),
                (f"{b}.checkpoint.write_hours", "float", True)]
    for i, _a in enumerate(cfg["scenario"]["actions"]):
        out += [(f"scenario.actions[{i}].fraction", "float", False)]
    out += [("scenario.counterfactuals.withhold_days", "float", True)]
    return out


def parts(path: str) -> list[str | int]:
    out: list[str | int] = []
    for piece in path.split("."):
        name, *idx = piece.replace("]", "").split("[")
        out.append(name)
        out.extend(int(i) for i in idx)
    return out


def parent(cfg: dict, path: str) -> tuple[Any, str | int]:
    """The node that holds ``path``, and its last key."""
    *head, last = parts(path)
    node: Any = cfg
    for k in head:
        node = node[k]
    return node, last


def put(cfg: dict, path: str, value: Any) -> None:
    node, last = parent(cfg, path)
    node[last] = value


def get(cfg: dict, path: str) -> Any:
    node: Any = cfg
    for k in parts(path):
        node = node[k]
    return node


def entity(path: str) -> str:
    """The dataclass instance a field belongs to: ``jobs.j0.mfu`` -> ``jobs.j0``."""
    return path.rsplit(".", 1)[0] if "." in path else path


# -------------------------------------------------------------------------- catalogue
# Each entry: (draw, cfg) -> Mutation or None. It draws a target in ``cfg`` (a scratch
# copy of the valid configuration), returns None when none fits, and otherwise edits ``cfg``
# in place and lists the paths it changed in ``Mutation.writes``; invalid_configs copies
# them into the configuration under construction when the footprint is free.

Draw = Callable[[st.SearchStrategy], Any]
Entry = Callable[[Draw, dict], "Mutation | None"]
CATALOGUE: list[Entry] = []
LOCAL: list[Entry] = []  # layers type, missing and range: checks within one entry
CROSS: list[Entry] = []  # layer cross: checks between entries


def entry(layer: str) -> Callable[[Entry], Entry]:
    def add(f: Entry) -> Entry:
        CATALOGUE.append(f)
        (CROSS if layer == "cross" else LOCAL).append(f)
        return f
    return add


def _set(cfg: dict, m: Mutation, path: str, value: Any) -> Mutation:
    put(cfg, path, value)
    m.writes = (path,)
    return m


@entry("local")
def wrong_type_number(draw, cfg):
    path, kind, optional = draw(st.sampled_from(numeric_fields(cfg)))
    bad = ["lots", [1], {"a": 1}, True] + ([] if optional else [None])
    bad += [2.5, float("inf")] if kind == "int" else [10**400]
    v = draw(st.sampled_from(bad))
    return _set(cfg, Mutation("wrong_type_number", "type", (path,), (entity(path),), v),
                path, v)


@entry("local")
def wrong_type_bool(draw, cfg):
    paths = ["sim.progress", "report.daily_series", "scenario.counterfactuals.no_lease",
             *(f"leases.{n}.landlord_priority" for n in cfg["leases"])]
    path = draw(st.sampled_from(paths))
    v = draw(st.sampled_from(["maybe", [1], {"a": 1}, 2.5]))
    return _set(cfg, Mutation("wrong_type_bool", "type", (path,), (entity(path),), v),
                path, v)


@entry("local")
def wrong_type_list(draw, cfg):
    paths = ["scenario.counterfactuals.withhold_levels", "report.formats",
             *(f"jobs.{n}.{k}" for n in cfg["jobs"] for k in ("pools", "after")),
             *(f"scenario.sweeps.{s}.values" for s in cfg["scenario"]["sweeps"])]
    path = draw(st.sampled_from(paths))
    v = draw(st.sampled_from([5, "half", {"a": 1}, [[1]], [{"a": 1}]]))
    return _set(cfg, Mutation("wrong_type_list", "type", (path,), (entity(path),), v),
                path, v)


@entry("local")
def bad_enum(draw, cfg):
    opts = [("sim.backend", "tpu"), ("report.formats", ["png", "svg"])]
    for p in cfg["pools"]:
        opts += [(f"pools.{p}.interpolation", "cubic"),
                 (f"pools.{p}.reliability.repair.distribution", "gamma")]
        opts += [(f"pools.{p}.reliability.domains.{d}.kind", "planet")
                 for d in cfg["pools"][p]["reliability"]["domains"]]
    opts += [(f"parties.{n}.role", "owner") for n in cfg["parties"]]
    opts += [(f"leases.{n}.failure_burden", "nobody") for n in cfg["leases"]]
    opts += [(f"scenario.actions[{i}].kind", "evict")
             for i in range(len(cfg["scenario"]["actions"]))]
    opts += [(f"scenario.sweeps.{s}.lever", 3) for s in cfg["scenario"]["sweeps"]]
    path, v = draw(st.sampled_from(opts))
    return _set(cfg, Mutation("bad_enum", "type", (path,), (entity(path),), v),
                path, v)


@entry("local")
def unknown_key(draw, cfg):
    places = ["", "sim", "report", "scenario", "scenario.counterfactuals", "gpus.g0",
              *(f"pools.{p}" for p in cfg["pools"]),
              *(f"pools.{p}.reliability" for p in cfg["pools"]),
              *(f"leases.{n}" for n in cfg["leases"]),
              *(f"parties.{n}" for n in cfg["parties"]),
              *(f"jobs.{n}" for n in cfg["jobs"]),
              *(f"jobs.{n}.checkpoint" for n in cfg["jobs"]),
              *(f"scenario.actions[{i}]" for i in range(len(cfg["scenario"]["actions"]))),
              *(f"scenario.sweeps.{s}" for s in cfg["scenario"]["sweeps"])]
    place = draw(st.sampled_from(places))
    name = draw(st.sampled_from(["zzz_bogus", "nodez", "replica", "owner_", 5]))
    if not place:
        name = str(name)
        return _set(cfg, Mutation("unknown_key", "type", (name,), (name,), 1), name, 1)
    get(cfg, place)[name] = 1  # an int key too, as YAML gives for `5: 1`
    key = f"{place}.{name}"
    return Mutation("unknown_key", "type", (key,), (key,), 1, writes=(place,))


@entry("local")
def not_a_mapping(draw, cfg):
    """An entry or a group that is not a mapping (no required field inside)."""
    paths = ["sim", "report", "scenario.counterfactuals", "gpus", "parties", "pools",
             "leases", "jobs", "scenario.sweeps", "gpus.g0",
             *(f"parties.{n}" for n in cfg["parties"])]
    path = draw(st.sampled_from(paths))
    v = draw(st.sampled_from([5, "text", [1]]))
    return _set(cfg, Mutation("not_a_mapping", "type", (path,), (path,), v), path, v)


@entry("local")
def actions_not_a_list(draw, cfg):
    v = draw(st.sampled_from([5, "none", {"a": 1}]))
    m = Mutation("actions_not_a_list", "type", ("scenario.actions",), ("scenario.actions",), v)
    return _set(cfg, m, "scenario.actions", v)


@entry("local")
def missing_required(draw, cfg):
    paths = [*(f"pools.{p}.owner" for p in cfg["pools"]),
             *(f"jobs.{n}.party" for n in cfg["jobs"]),
             *(f"leases.{n}.{k}" for n in cfg["leases"] for k in ("pool", "tenant", "start",
                                                                   "end")),
             *(f"scenario.actions[{i}].{k}" for i in range(len(cfg["scenario"]["actions"]))
               for k in ("lease", "at"))]
    path = draw(st.sampled_from(paths))
    m = Mutation("missing_required", "missing", (path,), (entity(path),), "???")
    how = draw(st.sampled_from(["delete", "???", None, [1], {"a": 1}]))
    if how == "delete":
        node, last = parent(cfg, path)
        del node[last]
    else:
        put(cfg, path, how)
    m.writes = (path,)
    return m


@entry("local")
def entry_not_a_mapping(draw, cfg):
    """An entry with required fields that is not a mapping: its fields are then missing."""
    paths = [*(f"pools.{p}" for p in cfg["pools"]), *(f"jobs.{n}" for n in cfg["jobs"]),
             *(f"leases.{n}" for n in cfg["leases"]),
             *(f"scenario.actions[{i}]" for i in range(len(cfg["scenario"]["actions"])))]
    path = draw(st.sampled_from(paths))
    v = draw(st.sampled_from([5, "text", [1], None]))
    return _set(cfg, Mutation("entry_not_a_mapping", "missing", (path,), (path,)),
                path, v)


def _range_options(cfg: dict) -> list[tuple[str, list]]:
    nan, inf = float("nan"), float("inf")
    opts: list[tuple[str, list]] = [
        ("gpus.g0.peak_tflops", [0.0, -1.0, inf, nan]), ("gpus.g0.facility_kw", [0.0, -2.0]),
        ("sim.horizon_days", [0.0, -1.0, nan, 0.01]), ("sim.step_hours", [0.0, -6.0, inf]),
        ("sim.replicas", [0, -1, HUGE]), ("sim.seed", [-1, 2**64]),
        ("sim.max_memory_gb", [0.0, -1.0]), ("sim.chunk_replicas", [-1, HUGE]),
        ("sim.device_id", [-2]), ("scenario.counterfactuals.withhold_days", [0.0, -1.0]),
    ]
    for p, pool in cfg["pools"].items():
        b, rel = f"pools.{p}", f"pools.{p}.reliability"
        opts += [(f"{b}.nodes", [0, -3, HUGE]), (f"{b}.gpus_per_node", [0, -8, HUGE]),
                 (f"{rel}.failures_per_1000_node_days", [-1.0, inf, nan]),
                 (f"{rel}.lemon_fraction", [-0.1, 1.5, nan]),
                 (f"{rel}.lemon_factor", [0.5, inf, nan]),
                 (f"{rel}.repair.mean_hours", [0.0, -1.0, inf]),
                 (f"{rel}.repair.cv", [-1.0, inf]), (f"{rel}.repair.max_hours", [0.0, -1.0])]
        for d in pool["reliability"]["domains"]:
            opts += [(f"{rel}.domains.{d}.nodes", [0, -1, HUGE]),
                     (f"{rel}.domains.{d}.outages_per_domain_year", [-1.0, inf]),
                     (f"{rel}.domains.{d}.duration.mean_hours", [0.0, nan])]
        for c in pool["reliability"].get("causes", {}):
            opts += [(f"{rel}.causes.{c}.share", [1.5, -0.5])]
        for i, pt in enumerate(pool.get("capacity", [])):
            k = "nodes" if "nodes" in pt else "mw"
            opts += [(f"{b}.capacity[{i}].{k}", [-1] if k == "nodes" else [-1.0, inf])]
    for n, le in cfg["leases"].items():
        b = f"leases.{n}"
        opts += [(f"{b}.renewals", [-1, HUGE]), (f"{b}.notice_days", [-1.0, inf])]
        opts += [(f"{b}.share", [0.0, 1.5, -0.5, nan])] if "share" in le else \
            [(f"{b}.gpus", [0, -8, HUGE])]
        price = "annual_usd" if "annual_usd" in le else "usd_per_gpu_hour"
        opts += [(f"{b}.{price}", [-1.0, inf])]
    for n, j in cfg["jobs"].items():
        b = f"jobs.{n}"
        opts += [(f"{b}.mfu", [0.0, 1.5, nan]), (f"{b}.min_gpus", [0, -8, HUGE]),
                 (f"{b}.restart_hours", [-1.0, inf]),
                 (f"{b}.checkpoint.interval_hours", [0.0, -1.0, "often", float("inf"), True,
                                                     10**400]),
                 (f"{b}.checkpoint.write_hours", [-1.0, nan])]
        opts += [(f"{b}.flops", [0.0, -1e20, inf])] if "flops" in j else \
            [(f"{b}.params", [0.0, -1.0])]
    for i, _a in enumerate(cfg["scenario"]["actions"]):
        opts += [(f"scenario.actions[{i}].fraction", [1.5, -0.1]),
                 (f"scenario.actions[{i}].price_factor", [-1.0, inf])]
    for s, _sw in cfg["scenario"]["sweeps"].items():
        opts += [(f"scenario.sweeps.{s}.days", [0.0, -1.0])]
    return opts


@entry("local")
def out_of_range(draw, cfg):
    path, values = draw(st.sampled_from(_range_options(cfg)))
    v = draw(st.sampled_from(values))
    scope = entity(path)
    if ".causes." in path:
        scope = entity(entity(path))  # the shares' sum is reported at ...causes
    return _set(cfg, Mutation("out_of_range", "range", (path,), (scope,), v), path, v)


@entry("local")
def out_of_range_in_list(draw, cfg):
    """A bad element of a list of numbers: the key names its index."""
    opts = [("scenario.counterfactuals.withhold_levels", [1.5, -0.5, float("nan")])]
    bad = {"share": [1.5, -0.1], "withhold": [2.0], "price": [-1.0],
           "start_days": [float("inf"), float("nan")]}
    opts += [(f"scenario.sweeps.{s}.values", bad[sw["lever"]])
             for s, sw in cfg["scenario"]["sweeps"].items()]
    path, values = draw(st.sampled_from(opts))
    v = draw(st.sampled_from(values))
    lst = list(get(cfg, path))
    i = draw(st.integers(0, len(lst)))
    lst.insert(i, v)
    m = Mutation("out_of_range_in_list", "range", (f"{path}[{i}]",), (entity(path),), v)
    return _set(cfg, m, path, lst)


@entry("local")
def bad_date(draw, cfg):
    paths = ["sim.start", *(f"leases.{n}.{k}" for n in cfg["leases"] for k in ("start", "end")),
             *(f"jobs.{n}.{k}" for n, j in cfg["jobs"].items()
               for k in ("earliest_start", "deadline")),
             *(f"scenario.actions[{i}].at" for i in range(len(cfg["scenario"]["actions"]))),
             "scenario.counterfactuals.withhold_start",
             *(f"scenario.sweeps.{s}.start" for s in cfg["scenario"]["sweeps"]),
             *(f"pools.{p}.capacity[{i}].at" for p, pool in cfg["pools"].items()
               for i in range(len(pool.get("capacity", []))))]
    path = draw(st.sampled_from(paths))
    v = draw(st.sampled_from(BAD_DATES))
    return _set(cfg, Mutation("bad_date", "range", (path,), (entity(path),), v),
                path, v)


@entry("local")
def min_above_target(draw, cfg):
    n = draw(st.sampled_from(sorted(cfg["jobs"])))
    v = cfg["jobs"][n]["target_gpus"] + draw(st.integers(1, 8))
    m = Mutation("min_above_target", "range", (f"jobs.{n}.min_gpus",), (f"jobs.{n}",), v)
    return _set(cfg, m, f"jobs.{n}.min_gpus", v)


@entry("local")
def end_not_after_start(draw, cfg):
    opts = [(f"leases.{n}", "start", "end") for n in cfg["leases"]]
    opts += [(f"scenario.actions[{i}]", "at", "until")
             for i in range(len(cfg["scenario"]["actions"]))]
    if not opts:
        return None
    base, a, b = draw(st.sampled_from(opts))
    t = _dt.datetime.fromisoformat(get(cfg, f"{base}.{a}"))
    v = (t - _dt.timedelta(hours=draw(st.integers(0, 48)))).strftime("%Y-%m-%dT%H:%M")
    return _set(cfg, Mutation("end_not_after_start", "range", (f"{base}.{b}",),
                                     (base,), v), f"{base}.{b}", v)


@entry("local")
def one_of_two(draw, cfg):
    """Both or neither of two exclusive fields."""
    opts = []
    for n, _le in cfg["leases"].items():
        opts += [(f"leases.{n}", "share", "gpus", 0.5, 8, "share"),
                 (f"leases.{n}", "annual_usd", "usd_per_gpu_hour", 1e6, 2.0, "annual_usd")]
    for n in cfg["jobs"]:
        opts += [(f"jobs.{n}", "flops", "params", 1e20, 1e9, "flops")]
    for p, pool in cfg["pools"].items():
        for i in range(len(pool.get("capacity", []))):
            opts += [(f"pools.{p}.capacity[{i}]", "nodes", "mw", 1, 0.01, "nodes")]
    base, a, b, va, vb, key = draw(st.sampled_from(opts))
    m = Mutation("one_of_two", "range", (f"{base}.{key}",), (base,), writes=(base,))
    node = get(cfg, base)
    if draw(st.booleans()):  # both
        node.setdefault(a, va)
        node.setdefault(b, vb)
        if base.startswith("jobs."):
            node.setdefault("tokens", 1e12)
    else:  # neither
        for k in (a, b, "tokens"):
            node.pop(k, None)
    return m


# ---- cross-group (layer 3)


@entry("cross")
def dangling_job_ref(draw, cfg):
    n = draw(st.sampled_from(sorted(cfg["jobs"])))
    job = cfg["jobs"][n]
    what = draw(st.sampled_from(["party", "pool", "after", "self"]))
    m = Mutation("dangling_job_ref", "cross", (), (f"jobs.{n}",), writes=(f"jobs.{n}",))
    if what == "party":
        job["party"] = "nobody"
        m.keys, m.value = (f"jobs.{n}.party",), "nobody"
        return m
    key = "pools" if what == "pool" else "after"
    lst = list(job.get(key, []))
    i = draw(st.integers(0, len(lst)))
    v = {"pool": "nowhere", "after": "ghost", "self": n}[what]
    lst.insert(i, v)
    job[key] = lst
    m.keys, m.value = (f"jobs.{n}.{key}[{i}]",), v
    return m


def _reach(jobs: dict, a: str) -> set[str]:
    seen, todo = set(), [a]
    while todo:
        x = todo.pop()
        for d in jobs[x].get("after", []):
            if d in jobs and d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


@entry("cross")
def dependency_cycle(draw, cfg):
    names = sorted(cfg["jobs"])
    if len(names) < 2:
        return None
    a, b = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
    m = Mutation("dependency_cycle", "cross", (), (f"jobs.{a}", f"jobs.{b}", "@cycle"),
                 writes=(f"jobs.{a}", f"jobs.{b}"))
    for x, y in ((a, b), (b, a)):
        after = cfg["jobs"][x].setdefault("after", [])
        if y not in after:
            after.append(y)
    jobs = cfg["jobs"]
    scc = [x for x in jobs if a in _reach(jobs, x) and x in _reach(jobs, a)]
    m.keys = tuple(f"jobs.{x}.after" for x in scc)
    return m


@entry("cross")
def dangling_lease_ref(draw, cfg):
    if not cfg["leases"]:
        return None
    n = draw(st.sampled_from(sorted(cfg["leases"])))
    le = cfg["leases"][n]
    what = draw(st.sampled_from(["pool", "tenant", "owner"]))
    key = f"leases.{n}.pool" if what == "pool" else f"leases.{n}.tenant"
    m = Mutation("dangling_lease_ref", "cross", (key,), lease_footprint(cfg, n),
                 extra=("scenario.sweeps",), writes=(key,))
    if what == "pool":
        m.value = le["pool"] = "nowhere"
    elif what == "tenant":
        m.value = le["tenant"] = "nobody"
    else:  # the pool's own owner as tenant
        m.value = le["tenant"] = cfg["pools"][le["pool"]]["owner"]
    return m


@entry("cross")
def lease_gpus_exceed_pool(draw, cfg):
    if not cfg["leases"]:
        return None
    n = draw(st.sampled_from(sorted(cfg["leases"])))
    le = cfg["leases"][n]
    p = le["pool"]
    pool = cfg["pools"][p]
    v = pool["nodes"] * pool["gpus_per_node"] + draw(st.integers(1, 16))
    others = tuple(f"leases.{x}.share" for x in leases_on(cfg, p))
    m = Mutation("lease_gpus_exceed_pool", "cross", (f"leases.{n}.gpus",),
                 (f"pools.{p}", *(f"leases.{x}" for x in leases_on(cfg, p))), v, others,
                 (f"leases.{n}",))
    le.pop("share", None)
    le["gpus"] = v
    return m


@entry("cross")
def over_commit(draw, cfg):
    p = draw(st.sampled_from(sorted(cfg["pools"])))
    owner = cfg["pools"][p]["owner"]
    tenants = [x for x in cfg["parties"] if x != owner]
    if not tenants:
        return None
    existing = leases_on(cfg, p)
    new = ["zz_over1"] if existing else ["zz_over1", "zz_over2"]
    on_pool = existing + new
    m = Mutation("over_commit", "cross", tuple(f"leases.{x}.share" for x in on_pool),
                 (f"pools.{p}", *(f"leases.{x}" for x in on_pool)),
                 writes=tuple(f"leases.{x}" for x in new))
    start = (cfg["leases"][draw(st.sampled_from(existing))]["start"] if existing
             else day(draw(st.integers(-24, 48))))
    for x in new:
        cfg["leases"][x] = {"pool": p, "tenant": draw(st.sampled_from(tenants)),
                            "share": 1.0 if existing else 0.6, "start": start,
                            "end": "2030-01-01", "annual_usd": 1.0}
    return m


@entry("cross")
def never_fits(draw, cfg):
    n = draw(st.sampled_from(sorted(cfg["jobs"])))
    job = cfg["jobs"][n]
    pools = [p for p in job["pools"] if p in cfg["pools"]]
    m = Mutation("never_fits", "cross", (f"jobs.{n}.min_gpus",),
                 (f"jobs.{n}", *(f"pools.{p}" for p in pools)), writes=(f"jobs.{n}",))
    cap = max(pool_max_nodes(cfg["pools"][p], cfg["gpus"]) * cfg["pools"][p]["gpus_per_node"]
              for p in pools)
    m.value = job["min_gpus"] = job["target_gpus"] = cap + draw(st.integers(1, 8))
    return m


@entry("cross")
def no_access(draw, cfg):
    n = draw(st.sampled_from(sorted(cfg["jobs"])))
    job = cfg["jobs"][n]
    party = job["party"]
    reach = {p for p, pool in cfg["pools"].items() if pool["owner"] == party}
    reach |= {le["pool"] for le in cfg["leases"].values() if le["tenant"] == party}
    out = sorted(set(cfg["pools"]) - reach)
    if not out:
        return None
    pools = draw(st.lists(st.sampled_from(out), min_size=1, max_size=2, unique=True))
    m = Mutation("no_access", "cross", (f"jobs.{n}.pools",),
                 (f"jobs.{n}", *(f"pools.{p}" for p in pools)), pools)
    return _set(cfg, m, f"jobs.{n}.pools", pools)


@entry("cross")
def dangling_scenario_ref(draw, cfg):
    opts = [f"scenario.actions[{i}].lease" for i in range(len(cfg["scenario"]["actions"]))]
    opts += [f"scenario.sweeps.{s}.leases" for s in cfg["scenario"]["sweeps"]]
    if not opts:
        return None
    path = draw(st.sampled_from(opts))
    if path.endswith(".leases"):
        m = Mutation("dangling_scenario_ref", "cross", (f"{path}[0]",), (entity(path),),
                     "ghost")
        return _set(cfg, m, path, ["ghost"])
    m = Mutation("dangling_scenario_ref", "cross", (path,), (entity(path),), "ghost")
    return _set(cfg, m, path, "ghost")


@entry("cross")
def dangling_pool_ref(draw, cfg):
    p = draw(st.sampled_from(sorted(cfg["pools"])))
    what = draw(st.sampled_from(["owner", "gpu"]))
    users = jobs_using(cfg, p)
    extra = tuple(f"jobs.{j}.{k}" for j in users for k in ("pools", "min_gpus"))
    v = "nobody" if what == "owner" else "tpu"
    m = Mutation("dangling_pool_ref", "cross", (f"pools.{p}.{what}",), pool_footprint(cfg, p),
                 v, extra + ("scenario.sweeps",))
    return _set(cfg, m, f"pools.{p}.{what}", v)


@entry("cross")
def schedule_mistake(draw, cfg):
    p = draw(st.sampled_from(sorted(cfg["pools"])))
    pool = cfg["pools"][p]
    m = Mutation("schedule_mistake", "cross", (), (f"pools.{p}",), writes=(f"pools.{p}",))
    cap = pool.setdefault("capacity", [])
    what = draw(st.sampled_from(["exceeds", "order", "domain"]))
    if what == "exceeds":  # a point with more nodes than installed
        n = pool["nodes"] + draw(st.integers(1, 5))
        if not cap:
            cap.append({"at": day(0), "nodes": n})
        i = draw(st.integers(0, len(cap) - 1))
        if "nodes" in cap[i]:
            cap[i]["nodes"] = n
            m.keys, m.value = (f"pools.{p}.capacity[{i}].nodes",), n
        else:  # a little more power than installed, or so much that it overflows
            kw = cfg["gpus"][pool["gpu"]]["facility_kw"]
            cap[i]["mw"] = draw(st.sampled_from([n * pool["gpus_per_node"] * kw / 1000.0,
                                                 1e306]))
            m.keys, m.value = (f"pools.{p}.capacity[{i}].mw",), cap[i]["mw"]
    elif what == "order":  # a last point no later than the one before
        if not cap:
            cap.append({"at": day(0), "nodes": 1})
        i = len(cap)
        cap.append({"at": cap[-1]["at"] if draw(st.booleans()) else day(-200),
                    "nodes": pool["nodes"]})
        m.keys, m.value = (f"pools.{p}.capacity[{i}].at",), cap[i]["at"]
    else:  # a rack larger than the pool
        v = pool["nodes"] + draw(st.integers(1, 5))
        pool["reliability"]["domains"]["zz_big"] = {"kind": "rack", "nodes": v}
        m.keys, m.value = (f"pools.{p}.reliability.domains.zz_big.nodes",), v
    return m


@entry("cross")
def empty_group(draw, cfg):
    what = draw(st.sampled_from(["parties", "jobs"]))
    if what == "jobs":
        m = Mutation("empty_group", "cross", ("jobs",), ("jobs", "@cycle"), {})
        return _set(cfg, m, "jobs", {})
    m = Mutation("empty_group", "cross", ("parties",),
                 ("parties", "pools", "leases", "jobs", "@cycle"), {}, ("scenario.sweeps",))
    return _set(cfg, m, "parties", {})


# ---------------------------------------------------------------------------- strategy


@st.composite
def invalid_configs(draw) -> tuple[dict, list[Mutation]]:
    """A valid configuration with 1-3 mutations of disjoint footprints: all cross-group,
    all local (type, missing, range) or any mix, a third of the examples each."""
    valid = draw(valid_configs())
    cfg = copy.deepcopy(valid)
    muts: list[Mutation] = []
    want = draw(st.integers(1, 3))
    entries = draw(st.sampled_from([CROSS, LOCAL, CATALOGUE]))  # cross alone is reported alone
    for _ in range(3 * want):
        if len(muts) == want:
            break
        scratch = copy.deepcopy(valid)
        m = draw(st.sampled_from(entries))(draw, scratch)
        if m is None or overlaps(m.footprint + m.writes,
                                 tuple(x for k in muts for x in k.footprint + k.writes)):
            continue
        for path in m.writes:  # copy the mutated paths over
            node, last = parent(cfg, path)
            try:
                node[last] = copy.deepcopy(get(scratch, path))
            except (KeyError, IndexError):  # deleted
                del node[last]
        muts.append(m)
    assume(muts)
    return cfg, muts


def expected(muts: list[Mutation]) -> list[Mutation]:
    """The mutations the loader reports: the first layer group present."""
    layers = {m.layer for m in muts}
    if "missing" in layers:
        return [m for m in muts if m.layer in ("type", "missing")]
    if layers & {"type", "range"}:
        return [m for m in muts if m.layer in ("type", "range")]
    return muts


def check_invalid(cfg: dict, muts: list[Mutation]) -> None:
    with pytest.raises(ConfigError) as ei:  # any other exception fails the test
        load(cfg)
    problems = ei.value.problems
    text = "\n".join(f"  {m}" for m in muts) + "\n" + str(ei.value)
    shown = expected(muts)
    for m in shown:
        at = [p for p in problems if any(under(p.key, k) for k in m.keys)]
        assert at, f"{m.name}: no problem at {m.keys}\n{text}"
        if m.value is not ANY:
            assert any(same(p.value, m.value) for p in at), f"{m.name}: value\n{text}"
    for p in problems:  # nothing reported outside the mutations' scopes
        assert any(under(p.key, s) for m in shown for s in m.scope), \
            f"unexpected problem {p}\n{text}"
        assert p.message and p.key, text
    keyed = [(p.key, p.message) for p in problems]
    assert len(set(keyed)) == len(keyed), f"duplicate problems\n{text}"


@given(invalid_configs())
def test_invalid_configs_name_every_bad_key(case):
    check_invalid(*case)


@pytest.mark.slow
@settings(THOROUGH)
@given(invalid_configs())
def test_invalid_configs_name_every_bad_key_thorough(case):
    check_invalid(*case)


@pytest.mark.parametrize("entry_", CATALOGUE, ids=[f.__name__ for f in CATALOGUE])
@settings(max_examples=6)  # per catalogue entry: every entry alone, on fresh configurations
@given(data=st.data())
def test_each_mutation_alone(entry_, data):
    """Every catalogue entry, alone, on a fresh valid configuration."""
    cfg = copy.deepcopy(data.draw(valid_configs()))
    m = entry_(data.draw, cfg)
    assume(m is not None)
    check_invalid(cfg, [m])


# ------------------------------------------------- what these properties found (fixed)

REGRESSIONS = [  # (edit of kernel_mix, key): each was a traceback or was accepted before
    ("leases.share.start", "2026-01-02T00:00+05:00", "leases.share.start"),  # TypeError
    ("sim.start", "2026-01-01T00:00Z", "sim.start"),  # TypeError in the cross checks
    ("jobs.t3.earliest_start", "2026-01-02T00:00+05:00", "jobs.t3.earliest_start"),  # accepted
    ("pools.big.reliability.lemon_factor", float("inf"), "pools.big.reliability.lemon_factor"),
    ("pools.ramp.capacity[0]", {"at": "2026-01-03", "mw": 1e306},
     "pools.ramp.capacity[0].mw"),  # OverflowError
    ("jobs.t1.restart_hours", 10**400, "jobs.t1.restart_hours"),  # OverflowError
    ("jobs.t1.checkpoint.interval_hours", 10**400, "jobs.t1.checkpoint.interval_hours"),
    ("pools.big.nodes", 2**63, "pools.big.nodes"),  # accepted, overflows int64 in the plan
    ("pools.big.5", 1, "pools.big.5"),  # was reported as pools.big[5]
]


@pytest.mark.parametrize(("path", "value", "key"), REGRESSIONS,
                         ids=[r[0] for r in REGRESSIONS])
def test_found_by_the_properties(path, value, key):
    from simgpu.cases import kernel_mix

    cfg = kernel_mix(5.0)
    if path.endswith(".5"):
        cfg["pools"]["big"][5] = value
    else:
        put(cfg, path, value)
    with pytest.raises(ConfigError) as ei:
        load(cfg)
    assert key in [p.key for p in ei.value.problems], str(ei.value)


def test_a_lease_to_its_own_pool_owner_is_no_landlord_first_chain():
    """Found by test_each_mutation_alone[dangling_lease_ref] (thorough): a lease whose tenant
    is the pool's owner made the owner look like the tenant of a landlord-first lease, and
    every landlord-first lease of that owner was reported as a chain."""
    from simgpu.cases import landlord_tenant

    cfg = landlord_tenant(share=0.3, landlord_priority=True)
    cfg["parties"]["oth"] = {"role": "tenant"}
    cfg["leases"]["l2"] = {**cfg["leases"]["l"], "tenant": "oth"}
    cfg["leases"]["l"]["tenant"] = "ll"  # the owner of pool p
    with pytest.raises(ConfigError) as ei:
        load(cfg)
    assert [p.key for p in ei.value.problems] == ["leases.l.tenant", "jobs.rent.pools"]
