"""The discrete-event reference (simgpu.reference.des) against hand computation and the
stepped NumPy engine.

The configurations are composed on the default experiment (its GPU catalogue and
parties), with small pools, short horizons and high failure rates so that every history
has many interruptions; the engine runs with a step well below the jobs' restart time
so that its step discretisation stays far inside the statistical error bars. The
statistical comparisons here are small (a few seconds); ``python -m simgpu.validate``
runs them at the sizes that detect a 1-3 % bias (docs/validation.md, section 4).
"""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simgpu.cases import (
    LEASE,
    des_config,
    des_job,
    des_pool,
    des_reliability,
    landlord_tenant,
    roadmap,
    single_job,
)
from simgpu.config.load import load
from simgpu.engine.numpy_engine import simulate
from simgpu.engine.plan import Plan, compile_plan
from simgpu.reference.des import build_world, simulate_des, simulate_des_variants

REFERENCE = Path(__file__).resolve().parents[2] / "simgpu" / "reference"


def _assert_agree(what: str, engine: np.ndarray, ref: np.ndarray, names: list[str]) -> None:
    """Means per column agree within 3 combined standard errors."""
    engine = np.asarray(engine, np.float64)
    ref = np.asarray(ref, np.float64)
    m_e, m_d = engine.mean(axis=0), ref.mean(axis=0)
    se_e = engine.std(axis=0, ddof=1) / math.sqrt(len(engine))
    se_d = ref.std(axis=0, ddof=1) / math.sqrt(len(ref))
    se = np.sqrt(se_e**2 + se_d**2)
    for j, name in enumerate(names):
        diff = m_e[j] - m_d[j]
        assert abs(diff) <= 3.0 * se[j] + 1e-12, (
            f"{what} of {name}: engine {m_e[j]:.4f} +- {se_e[j]:.4f} (n={len(engine)}) vs "
            f"DES {m_d[j]:.4f} +- {se_d[j]:.4f} (n={len(ref)}); difference {diff:.4f} "
            f"exceeds 3 combined standard errors ({3.0 * se[j]:.4f})")


def _des_cols(plan: Plan, cfg, key: str, rec: dict) -> np.ndarray:
    """The DES's per-job records in the plan's job order (matched by name)."""
    names = build_world(cfg).job_names
    return rec[key][:, [names.index(n) for n in plan.job_names]]


def _compare(cfg, n_engine: int, n_des: int) -> None:
    plan = compile_plan(cfg)
    eng = simulate(plan, 0, n_engine, daily=False)
    ref = simulate_des(cfg, n_des)
    names = plan.job_names
    H = plan.horizon_hours
    hits = _des_cols(plan, cfg, "interruptions", ref)
    # every job must have been interrupted many times, or the test says little
    assert (hits.mean(axis=0) > 5).all(), hits.mean(axis=0)
    _assert_agree("interruptions", eng.job_interruptions[0], hits, names)
    _assert_agree("finish hour (capped at the horizon)", np.minimum(eng.job_finish_h[0], H),
                  np.minimum(_des_cols(plan, cfg, "finish_h", ref), H), names)
    _assert_agree("lost FLOPs (1e18)", eng.job_lost_flops[0] / 1e18,
                  _des_cols(plan, cfg, "lost_flops", ref) / 1e18, names)
    _assert_agree("preemptions", eng.job_preemptions[0],
                  _des_cols(plan, cfg, "preemptions", ref), names)
    _assert_agree("node failures", eng.pool_failures, ref["pool_failures"], plan.pool_names)
    _assert_agree("ETTR", _engine_ettr(eng), _des_cols(plan, cfg, "ettr", ref), names)


def _engine_ettr(raw) -> np.ndarray:
    held = raw.job_alloc_gpu_h[0]
    return raw.job_useful_gpu_h[0] / np.where(held > 0, held, np.nan)


def test_engine_converges_as_the_step_shrinks() -> None:
    """1 h and 0.1 h steps agree on interruptions, ETTR and finish within 3 standard errors
    (independent samples: the step changes every counter)."""
    runs = {}
    for dt in (1.0, 0.1):
        plan = compile_plan(single_job(dt))
        runs[dt] = (plan, simulate(plan, 0, 150, daily=False))
    (p1, a), (_, b) = runs[1.0], runs[0.1]
    names = p1.job_names
    H = p1.horizon_hours
    assert (a.job_interruptions[0].mean(axis=0) > 5).all()
    _assert_agree("interruptions (1 h vs 0.1 h)", a.job_interruptions[0],
                  b.job_interruptions[0], names)
    _assert_agree("ETTR (1 h vs 0.1 h)", _engine_ettr(a), _engine_ettr(b), names)
    _assert_agree("finish hour (1 h vs 0.1 h)", np.minimum(a.job_finish_h[0], H),
                  np.minimum(b.job_finish_h[0], H), names)


@pytest.mark.parametrize("compute_hours", [10.3, 10.0])
def test_single_job_closed_form(compute_hours: float) -> None:
    """Alone in its pool without failures, a job finishes at restart + compute + the
    checkpoint writes of its completed cycles (no write after the last compute)."""
    nodes, tau, write, restart = 4, 0.5, 0.01, 0.25
    cfg = des_config(
        ["sim.horizon_days=1", "sim.step_hours=0.25"],
        {"c1": des_pool("anthropic", nodes, des_reliability(0.0, 3.0))},
        {"a1": des_job("anthropic", ["c1"], nodes, nodes, compute_hours,
                       checkpoint={"interval_hours": tau, "write_hours": write},
                       restart_hours=restart)},
    )
    # 10.3 h of compute: 20 full cycles (10 h + 20 writes), then 0.3 h; 10.0 h: 19 full
    # cycles, then the 20th cycle's 0.5 h of compute, whose write is not needed
    writes = {10.3: 20, 10.0: 19}[compute_hours]
    expected = restart + compute_hours + writes * write
    ref = simulate_des(cfg, 3)
    np.testing.assert_allclose(ref["finish_h"], expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ref["start_h"], 0.0)
    np.testing.assert_array_equal(ref["interruptions"], 0)
    np.testing.assert_array_equal(ref["lost_flops"], 0.0)
    np.testing.assert_array_equal(ref["pool_failures"], 0)
    np.testing.assert_allclose(ref["ettr"], compute_hours / expected, rtol=1e-12)
    # the stepped engine's closed form gives the same hour
    eng = simulate(compile_plan(cfg), 0, 1, daily=False)
    np.testing.assert_allclose(eng.job_finish_h[0, 0, 0], expected, rtol=0, atol=1e-9)


def test_agrees_with_engine_single_job() -> None:
    """Node failures and repairs only: interruptions, finish hour, lost work, failures."""
    _compare(single_job(0.1), n_engine=150, n_des=150)


def test_lemon_failures_agree_with_engine() -> None:
    """Lemon nodes fail at their own rate: node-failure counts agree. Interruptions are
    only bounded: jobs in the DES hold actual nodes, and since lemons fail (and come back
    free) more often, the free nodes are enriched in lemons and the held ones depleted,
    so the DES's jobs are hit less often than under the engine's uniform failure
    positions (a documented model difference, not discretisation)."""
    cfg = single_job(0.25, nodes=64, share=1.0, failures_per_1000_node_days=300.0,
                     lemon_fraction=0.2, lemon_factor=6.0)
    plan = compile_plan(cfg)
    eng = simulate(plan, 0, 100, daily=False)
    ref = simulate_des(cfg, 100)
    _assert_agree("node failures", eng.pool_failures, ref["pool_failures"], plan.pool_names)
    n_e = eng.job_interruptions[0, :, 0].astype(float)
    n_d = ref["interruptions"][:, 0].astype(float)
    se = math.sqrt(n_e.var(ddof=1) / n_e.size + n_d.var(ddof=1) / n_d.size)
    assert n_d.mean() <= n_e.mean() + 3.0 * se, (
        f"DES interruptions {n_d.mean():.2f} above the engine's {n_e.mean():.2f} by more "
        f"than 3 combined standard errors ({3.0 * se:.2f})")


def test_agrees_with_engine_roadmap() -> None:
    """Several parties and pools, a lease, dependencies, an earliest start, pool moves,
    schedule changes, facility and rack outages."""
    _compare(roadmap(0.1), n_engine=150, n_des=150)


def test_variant_selection_and_landlord_first() -> None:
    """A counterfactual variant changes the lease: with all of it withheld the tenant's
    job never starts; the baseline starts it at once; under landlord-first the landlord's
    job (which wants more than the landlord keeps) takes leased nodes."""
    cfg = single_job(0.5, counterfactuals=True)
    w = build_world(cfg)
    full = simulate_des(cfg, 2, variant="withhold_100")
    assert np.isinf(full["start_h"]).all()
    np.testing.assert_array_equal(full["interruptions"], 0)
    base = simulate_des(cfg, 2, variant=0)
    np.testing.assert_array_equal(base["start_h"], 0.0)
    with pytest.raises(ValueError, match="variant"):
        simulate_des(cfg, 1, variant=len(w.variants))
    with pytest.raises(ValueError, match="unknown variant"):
        simulate_des(cfg, 1, variant="withhold_33")
    # landlord-first by hand (failure-free): the landlord's job takes the leased half
    lt = load(landlord_tenant(share=0.5, nodes=10))
    run = simulate_des_variants(lt, 1)
    tn, ll = run.world.party_names.index("tn"), run.world.party_names.index("ll")
    assert run.variants["baseline"]["party_cap_gpu_h"][0, tn, 0] == pytest.approx(5 * 8 * 48)
    lf = run.variants["landlord_first"]
    assert lf["party_cap_gpu_h"][0, tn, 0] == 0.0
    assert lf["party_cap_gpu_h"][0, ll, 0] == pytest.approx(10 * 8 * 48)
    assert lf["lease_delivered_gpu_h"][0, 0] == 0.0
    assert np.isinf(lf["start_h"][0, run.world.job_names.index("rent")])


def test_variants_share_the_physical_history() -> None:
    """Every variant of a replica sees the same failures (common random numbers), and a
    lever that changes nothing gives the baseline's records exactly."""
    cfg = des_config(
        ["sim.horizon_days=3", "sim.step_hours=0.5"],
        {"c1": des_pool("xai", 32, des_reliability(1000.0, 3.0))},
        {"a1": des_job("anthropic", ["c1"], 8, 4, 30.0)},
        {"l1": {"start": "2026-01-01", "end": "2027-01-01", "annual_usd": 1e6, "pool": "c1",
                "tenant": "anthropic", "share": 0.5}},
        counterfactuals=True,
        scenario={"sweeps": {"same": {"lever": "share", "values": [0.5]}}})
    run = simulate_des_variants(cfg, 4)
    base = run.variants["baseline"]
    for name, rec in run.variants.items():
        np.testing.assert_array_equal(rec["pool_failures"], base["pool_failures"], name)
    same = run.variants["same=0.5"]
    for key in ("finish_h", "interruptions", "lost_flops", "preemptions", "party_cap_gpu_h"):
        np.testing.assert_array_equal(same[key], base[key], key)
    assert not np.array_equal(run.variants["withhold_50"]["finish_h"], base["finish_h"])


def test_reproducible_and_replica_keyed() -> None:
    """Replica ``r`` depends only on (seed, seed_offset + r), whatever the variants."""
    cfg = single_job(0.5, counterfactuals=True)
    a = simulate_des(cfg, 3)
    b = simulate_des_variants(cfg, 2, ["no_lease", "baseline"], seed_offset=1)
    for key in ("finish_h", "interruptions", "lost_flops", "pool_failures", "ettr"):
        np.testing.assert_array_equal(a[key][1:], b.variants["baseline"][key])
    assert a["interruptions"][0, 0] != a["interruptions"][1, 0] or \
        a["finish_h"][0, 0] != a["finish_h"][1, 0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_independent_of_engine_code() -> None:
    """No module of the reference imports the stepped engine (its plan, progress or
    checkpoint helpers included), and importing and running it loads none of them."""
    modules = sorted(REFERENCE.glob("*.py"))
    assert {p.name for p in modules} >= {"des.py", "world.py", "physical.py"}
    for path in modules:
        bad = {m for m in _imports(path) if m == "simgpu.engine" or
               m.startswith("simgpu.engine.")}
        assert not bad, f"{path.name} imports {sorted(bad)}"
    # at run time: with every loaded simgpu.engine module poisoned (importing simgpu loads
    # the engine for simgpu.run), the reference still imports and runs
    code = """
import sys, types
import simgpu.cases
class Poison(types.ModuleType):
    def __getattr__(self, name):
        raise RuntimeError(f"the reference used {self.__name__}.{name}")
for m in [m for m in sys.modules if m == "simgpu.engine" or m.startswith("simgpu.engine.")]:
    sys.modules[m] = Poison(m)
from simgpu.reference.des import simulate_des_variants
run = simulate_des_variants(simgpu.cases.single_job(1.0, counterfactuals=True), 2)
print(len(run.variants), sorted(run.variants["baseline"]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("7 "), out.stdout


# ------------------------------------------------------------------ reliability features
# a restart that grows with the job's GPUs and detection per cause

_REPAIR = {"distribution": "lognormal", "mean_hours": 3.0, "cv": 1.0, "max_hours": 48.0}


def _restart_and_detect(step_hours: float, detect: bool = True):
    """One job on 32 of 64 failure-prone nodes for 5 days; 40 % of the failures are hangs
    found after 0.4 h; the restart grows to 0.25 h + 0.24 h on its 256 GPUs."""
    causes = {"crash": {"share": 0.6, "repair": _REPAIR},
              "hang": {"share": 0.4, "repair": _REPAIR,
                       "detect_hours": 0.4 if detect else 0.0}}
    return des_config(
        ["sim.horizon_days=5", f"sim.step_hours={step_hours}"],
        {"c1": des_pool("xai", 64, des_reliability(1000.0, 3.0, causes=causes))},
        {"a1": des_job("anthropic", ["c1"], 32, 16, 40.0,
                       restart_seconds_at_16k=55296.0, restart_exponent=1.0)},
        {"l1": {**LEASE, "pool": "c1", "tenant": "anthropic", "share": 0.75}})


def test_restart_growth_and_detection_agree_with_the_engine() -> None:
    cfg = _restart_and_detect(0.1)
    plan = compile_plan(cfg)
    # 55,296 s x 256 / 16,384 = 864 s = 0.24 h on the job's 32 nodes
    np.testing.assert_allclose(plan.restart_hours(np.array([0]), np.array([256.0])), 0.49)
    eng = simulate(plan, 0, 120, daily=False)
    ref = simulate_des(cfg, 120)
    names = plan.job_names
    H = plan.horizon_hours
    hits = _des_cols(plan, cfg, "interruptions", ref)
    assert (hits.mean(axis=0) > 5).all(), hits.mean(axis=0)
    _assert_agree("interruptions", eng.job_interruptions[0], hits, names)
    _assert_agree("ETTR", _engine_ettr(eng), _des_cols(plan, cfg, "ettr", ref), names)
    _assert_agree("finish hour (capped at the horizon)", np.minimum(eng.job_finish_h[0], H),
                  np.minimum(_des_cols(plan, cfg, "finish_h", ref), H), names)
    _assert_agree("lost FLOPs (1e18)", eng.job_lost_flops[0] / 1e18,
                  _des_cols(plan, cfg, "lost_flops", ref) / 1e18, names)
    # the features matter at this size: without detection the ETTR is clearly higher
    base = simulate(compile_plan(_restart_and_detect(0.1, detect=False)), 0, 120, daily=False)
    e1, e0 = _engine_ettr(eng)[:, 0], _engine_ettr(base)[:, 0]
    se = np.sqrt(e1.var(ddof=1) / e1.size + e0.var(ddof=1) / e0.size)
    assert e0.mean() - e1.mean() > 5 * se, (e0.mean(), e1.mean(), se)


def _infant(step_hours: float, factor: float = 4.0, grow: bool = True):
    """One job on 32 nodes of a pool of 64 nodes 0.25 d old at the start, failing
    ``factor`` times as often when new, the excess decaying over 1.5 d; with ``grow``,
    the pool starts with 24 nodes and gets 40 more on day 2, 0.5 d old (burn-in)."""
    rel = des_reliability(400.0, 3.0, infant_factor=factor, infant_days=1.5,
                          burn_in_days=0.5, age_at_start_days=0.25)
    cap = [{"at": "2026-01-01", "nodes": 24}, {"at": "2026-01-03", "nodes": 64}]
    pool = des_pool("xai", 64, rel, capacity=cap if grow else [])
    return des_config(
        ["sim.horizon_days=5", f"sim.step_hours={step_hours}"], {"c1": pool},
        {"a1": des_job("anthropic", ["c1"], 32, 8, 60.0)},
        {"l1": {**LEASE, "pool": "c1", "tenant": "anthropic", "share": 0.75}})


@pytest.mark.slow
def test_infant_mortality_of_tranches_agrees_with_the_engine() -> None:
    """The engine's pool multiplier (tranches weighted by their nodes online) against the
    DES's per-node hazard by age (thinning): node failures of a pool that grows. (Which
    nodes a job holds differs: here it keeps its older, sounder nodes, so it is hit less
    than under the engine's uniform positions; see simgpu.reference.des.)"""
    cfg = _infant(0.1)
    plan = compile_plan(cfg)
    eng = simulate(plan, 0, 100, daily=False)
    ref = simulate_des(cfg, 100)
    _assert_agree("node failures", eng.pool_failures, ref["pool_failures"], plan.pool_names)
    # the feature matters here: mature nodes fail clearly less often
    mature = simulate(compile_plan(_infant(0.1, factor=1.0)), 0, 100, daily=False)
    a, b = eng.pool_failures[:, 0], mature.pool_failures[:, 0]
    assert a.mean() > b.mean() + 5 * np.sqrt(a.var() / a.size + b.var() / b.size)


def test_infant_mortality_of_one_tranche_agrees_on_the_jobs() -> None:
    """Nodes of one age: interruptions, ETTR and node failures agree."""
    cfg = _infant(0.1, grow=False)
    plan = compile_plan(cfg)
    eng = simulate(plan, 0, 80, daily=False)
    ref = simulate_des(cfg, 80)
    names = plan.job_names
    _assert_agree("node failures", eng.pool_failures, ref["pool_failures"], plan.pool_names)
    hits = _des_cols(plan, cfg, "interruptions", ref)
    assert (hits.mean(axis=0) > 5).all(), hits.mean(axis=0)
    _assert_agree("interruptions", eng.job_interruptions[0], hits, names)
    _assert_agree("ETTR", _engine_ettr(eng), _des_cols(plan, cfg, "ettr", ref), names)


def _own_interruptions(step_hours: float):
    """One job on 32 of 64 failure-prone nodes for 5 days, also hit by fabric hangs (found
    after 0.3 h) and graceful planned interruptions, 6-8 of each."""
    rel = des_reliability(400.0, 3.0, fabric_per_1000_node_days=100.0,
                          fabric_detect_hours=0.3, planned_per_1000_node_days=100.0)
    return des_config(
        ["sim.horizon_days=5", f"sim.step_hours={step_hours}"],
        {"c1": des_pool("xai", 64, rel)},
        {"a1": des_job("anthropic", ["c1"], 32, 16, 40.0)},
        {"l1": {**LEASE, "pool": "c1", "tenant": "anthropic", "share": 0.75}})


@pytest.mark.slow
def test_fabric_and_planned_interruptions_agree_with_the_engine() -> None:
    cfg = _own_interruptions(0.1)
    plan = compile_plan(cfg)
    eng = simulate(plan, 0, 60, daily=False)
    ref = simulate_des(cfg, 60)
    names = plan.job_names
    world = build_world(cfg)
    assert world.cause_names == plan.cause_names
    for c in (plan.cause_fabric, plan.cause_planned):
        by_e = eng.job_interruptions_by_cause[0][:, :, c]
        by_d = ref["interruptions_by_cause"][:, :, c]
        assert by_d.mean() > 5, by_d.mean()
        _assert_agree(f"{plan.cause_names[c]} interruptions", by_e, by_d, names)
    _assert_agree("interruptions", eng.job_interruptions[0],
                  _des_cols(plan, cfg, "interruptions", ref), names)
    _assert_agree("ETTR", _engine_ettr(eng), _des_cols(plan, cfg, "ettr", ref), names)
    _assert_agree("lost FLOPs (1e18)", eng.job_lost_flops[0] / 1e18,
                  _des_cols(plan, cfg, "lost_flops", ref) / 1e18, names)
