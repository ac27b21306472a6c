"""Migration at a checkpoint and the MFU band, in the discrete-event reference, against
hand computation (docs/model.md, "Allocation" and "Progress").

Every world here is failure-free, so each has one history whose hours follow from the
rules by arithmetic. Units: a node of the ``round`` GPU (8 GPUs, 1,000 TFLOP/s dense peak,
MFU 0.5) computes ``NODE_FLOP_H`` FLOP per hour; job sizes are written in node-hours of
that node. Restarts are a fixed 0.25 h; checkpoints are written every 1,000 compute hours
(never, here) at no cost unless a test says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import ROUND_GPU
from simgpu.config.load import load
from simgpu.reference.des import build_world, simulate_des
from simgpu.reference.world import Z90, mfu_multipliers
from simgpu.rng.distributions import normal

NODE_FLOP_H = 8 * ROUND_GPU["peak_tflops"] * 1e12 * 3600.0 * 0.5
RESTART = 0.25
NO_CKPT = {"interval_hours": 1000.0, "write_hours": 0.0}


def _job(pools: list[str], node_h: float, nodes: int, min_nodes: int, **kw) -> dict:
    j = {"party": "lab", "pools": pools, "flops": node_h * NODE_FLOP_H, "mfu": 0.5,
         "target_gpus": 8 * nodes, "min_gpus": 8 * min_nodes, "checkpoint": dict(NO_CKPT),
         "restart_hours": RESTART, "restart_seconds_at_16k": 0.0}
    j.update(kw)
    return j


def _pool(nodes: int, capacity: list | None = None) -> dict:
    return {"owner": "lab", "gpu": "round", "gpus_per_node": 8, "nodes": nodes,
            "capacity": capacity or [],
            "reliability": {"failures_per_1000_node_days": 0.0}}


def _world(pools: dict, jobs: dict, replicas: int = 1, horizon_days: float = 3.0,
           gpus: dict | None = None) -> dict:
    return {
        "name": "migration",
        "gpus": gpus or {"round": dict(ROUND_GPU)},
        "parties": {"lab": {"role": "other"}},
        "pools": pools, "jobs": jobs,
        "sim": {"seed": 7, "start": "2026-01-01", "horizon_days": horizon_days,
                "replicas": replicas, "progress": False},
        "report": {"daily_series": False, "sensitivity": {"enabled": False}},
    }


def _late_preferred(online_at: str, p1_nodes: int, migrate: str = "at_checkpoint",
                    **job) -> dict:
    """Job ``a`` (150 node-hours, 5 to 10 nodes) prefers pool ``p1``, which has no node
    online before ``online_at`` and ``p1_nodes`` from then; ``p2`` has 5 nodes from the
    start, so ``a`` starts there on 5 nodes at hour 0."""
    return _world({"p1": _pool(10, [{"at": online_at, "nodes": p1_nodes}]), "p2": _pool(5)},
                  {"a": _job(["p1", "p2"], 150.0, 10, 3, migrate=migrate, **job)})


def _run(cfg: dict, replicas: int = 1) -> dict:
    return simulate_des(load(cfg), replicas)


def _assert_clean(rec: dict) -> None:
    """No failure, no lost work, no capacity preemption."""
    np.testing.assert_array_equal(rec["interruptions"], 0)
    np.testing.assert_array_equal(rec["lost_flops"], 0.0)
    np.testing.assert_array_equal(rec["preemptions"], 0)


# ------------------------------------------------------------------ (a) a better pool


def test_moves_to_the_preferred_pool_when_it_comes_online():
    """From hour 0 on 5 nodes of p2 (restart to 0.25); p1's 10 nodes come online at hour
    10: 48.75 node-h done, 101.25 to do: staying takes 20.25 h, moving 10.125 h plus a
    0.25 h restart, so it moves and finishes at 10 + 0.25 + 10.125 = 20.375 h."""
    rec = _run(_late_preferred("2026-01-01T10:00", 10))
    _assert_clean(rec)
    assert rec["start_h"][0, 0] == 0.0
    assert rec["finish_h"][0, 0] == pytest.approx(20.375, abs=1e-9)
    assert rec["migrations"][0, 0] == 1
    assert rec["migrations"].dtype == np.int64 and rec["migrations"].shape == (1, 1)
    # the work is split between the pools: 48.75 node-h on p2, the rest on p1
    np.testing.assert_allclose(rec["flops_pool"][0, 0] / NODE_FLOP_H, [101.25, 48.75],
                               rtol=1e-12)


def test_never_stays_on_its_pool():
    """``migrate: never``: 150 node-h on 5 nodes after the 0.25 h restart: 30.25 h."""
    rec = _run(_late_preferred("2026-01-01T10:00", 10, migrate="never"))
    _assert_clean(rec)
    assert rec["finish_h"][0, 0] == pytest.approx(30.25, abs=1e-9)
    assert rec["migrations"][0, 0] == 0
    np.testing.assert_allclose(rec["flops_pool"][0, 0] / NODE_FLOP_H, [0.0, 150.0])


def test_migration_keeps_uncommitted_work():
    """With 1 h checkpoints written in 0.1 h: by hour 10 the job has computed 8 cycles
    (8.8 h) and 0.95 h of the ninth, 8.95 h x 5 = 44.75 node-h, 4.75 of them not yet
    written. The move checkpoints first, so 105.25 node-h remain: 10.525 compute hours on
    10 nodes, 10 cycles and 0.525 h, 11.525 h after the 0.25 h restart: 21.775 h. (Losing
    the uncommitted work would finish 0.475 h later.) Staying: 30 compute hours on 5
    nodes, 29 cycles and 1 h (no final write): 0.25 + 32.9 = 33.15 h."""
    ck = {"checkpoint": {"interval_hours": 1.0, "write_hours": 0.1}}
    rec = _run(_late_preferred("2026-01-01T10:00", 10, **ck))
    _assert_clean(rec)
    assert rec["finish_h"][0, 0] == pytest.approx(21.775, abs=1e-9)
    assert rec["migrations"][0, 0] == 1
    rec = _run(_late_preferred("2026-01-01T10:00", 10, migrate="never", **ck))
    assert rec["finish_h"][0, 0] == pytest.approx(33.15, abs=1e-9)
    assert rec["migrations"][0, 0] == 0


# ------------------------------------------------------------------ (b) break-even


def test_a_preferred_but_slower_pool_is_not_taken():
    """p1 comes online with 4 nodes (its minimum, 3, fits) while the job runs on 5 in
    p2: moving would make it slower; it stays and finishes at 0.25 + 150 / 5 = 30.25 h."""
    rec = _run(_late_preferred("2026-01-01T10:00", 4))
    _assert_clean(rec)
    assert rec["finish_h"][0, 0] == pytest.approx(30.25, abs=1e-9)
    assert rec["migrations"][0, 0] == 0


@pytest.mark.parametrize(("online_h", "moves", "finish"), [
    # at 28.5 h: 8.75 node-h left, 8.75 (1/5 - 1/6) = 0.2917 h > 0.25 h of restart:
    # it moves and finishes at 28.5 + 0.25 + 8.75 / 6 = 30.2083 h
    (28.5, True, 28.75 + 8.75 / 6.0),
    # at 29 h: 6.25 node-h left, a gain of 0.2083 h < 0.25 h: it stays (30.25 h)
    (29.0, False, 30.25),
])
def test_a_gain_smaller_than_the_restart_is_not_taken(online_h, moves, finish):
    """p1 comes online late with 6 nodes, one more than the job holds in p2; the move is
    worth it only while the work left times (1/5 - 1/6) node-h^-1 exceeds the restart."""
    at = f"2026-01-02T{int(online_h) - 24:02d}:{int(round(60 * (online_h % 1))):02d}"
    rec = _run(_late_preferred(at, 6))
    _assert_clean(rec)
    assert rec["finish_h"][0, 0] == pytest.approx(finish, abs=1e-9)
    assert rec["migrations"][0, 0] == int(moves)


# ------------------------------------------------------------------ (c) growth


def _growth(a_node_h: float, migrate: str = "at_checkpoint") -> dict:
    """One 10-node pool; ``b`` (priority 1, 6 nodes, 30 node-h) goes first and finishes at
    0.25 + 5 = 5.25 h; ``a`` (2 to 10 nodes) runs on the 4 left from hour 0.25."""
    return _world({"p": _pool(10)},
                  {"b": _job(["p"], 30.0, 6, 6, priority=1),
                   "a": _job(["p"], a_node_h, 10, 2, migrate=migrate)})


@pytest.mark.parametrize(("node_h", "migrate", "grows", "finish"), [
    # by 5.25 h, 20 node-h done, 40 left: 40 (1/4 - 1/10) = 6 h > 0.25 h: it grows to
    # 10 nodes and finishes at 5.25 + 0.25 + 4 = 9.5 h
    (60.0, "at_checkpoint", True, 9.5),
    (60.0, "never", False, 0.25 + 60.0 / 4.0),
    # 1 node-h left: 0.15 h < 0.25 h: it stays on 4 nodes, 0.25 + 21 / 4 = 5.5 h
    (21.0, "at_checkpoint", False, 5.5),
])
def test_a_running_job_grows_when_nodes_free_up_iff_worth_it(node_h, migrate, grows,
                                                            finish):
    rec = _run(_growth(node_h, migrate))
    _assert_clean(rec)
    names = build_world(load(_growth(node_h))).job_names
    a, b = names.index("a"), names.index("b")
    assert rec["finish_h"][0, b] == pytest.approx(5.25, abs=1e-9)
    assert rec["finish_h"][0, a] == pytest.approx(finish, abs=1e-9)
    assert rec["migrations"][0, a] == int(grows)
    assert rec["migrations"][0, b] == 0
    held = 4 * finish + (6 * (finish - 5.25) if grows else 0.0)  # nodes x hours held
    assert rec["held_gpu_h"][0, a] == pytest.approx(8 * held, rel=1e-12)


def test_a_restarting_job_does_not_grow_past_its_restart():
    """Growth is only for a running job: a job restarting takes ``min(target,
    available)`` anyway. Here ``a`` asks for 10 nodes and gets all 10 at its start (no
    other job), so it never migrates."""
    rec = _run(_world({"p": _pool(10)}, {"a": _job(["p"], 100.0, 10, 2)}))
    _assert_clean(rec)
    assert rec["finish_h"][0, 0] == pytest.approx(RESTART + 10.0, abs=1e-9)
    assert rec["migrations"][0, 0] == 0


# ------------------------------------------------------------------ (d) the MFU band


def _band_job(band, replicas: int) -> dict:
    cfg = _world({"p": _pool(10)}, {"a": _job(["p"], 100.0, 10, 10, mfu_band=band)},
                 replicas=replicas, horizon_days=30.0)
    if band is None:
        del cfg["jobs"]["a"]["mfu_band"]
    return cfg


def test_mfu_band_spreads_finish_hours_lognormally():
    """Band [0.8, 1.25]: the multiplier implied by each replica's finish hour, ``m = 10 h
    / (finish - restart)``, is the recorded one and the model's draw (stream 5, step 0,
    index the job), and its 10th and 90th percentiles over 400 replicas are the band's
    within four standard errors of a sample quantile (0.015 in log)."""
    n, lo, hi = 400, 0.8, 1.25
    rec = _run(_band_job([lo, hi], n), n)
    _assert_clean(rec)
    m = 10.0 / (rec["finish_h"][:, 0] - RESTART)
    np.testing.assert_allclose(m, rec["mfu_multiplier"][:, 0], rtol=1e-12)
    mu, sigma = 0.5 * (math.log(lo) + math.log(hi)), math.log(hi / lo) / (2 * Z90)
    z = normal(7, np.arange(n), 5, 0, 0)
    np.testing.assert_allclose(m, np.exp(mu + sigma * z), rtol=1e-12)
    # the sample quantile's standard error, in log: sqrt(0.09 / n) / phi(Z90) x sigma
    se = math.sqrt(0.09 / n) / (math.exp(-Z90**2 / 2) / math.sqrt(2 * math.pi)) * sigma
    q10, q90 = np.quantile(np.log(m), [0.1, 0.9])
    assert abs(q10 - math.log(lo)) < 4 * se, (math.exp(q10), lo)
    assert abs(q90 - math.log(hi)) < 4 * se, (math.exp(q90), hi)
    assert m.std() > 0.1
    # every variant of a replica and every replica id shares the draw: replicas 400..409
    # (seed_offset) get the model's numbers for those ids
    off = simulate_des(load(_band_job([lo, hi], 10)), 10, seed_offset=n)
    np.testing.assert_allclose(off["mfu_multiplier"][:, 0],
                               np.exp(mu + sigma * normal(7, np.arange(n, n + 10), 5, 0, 0)),
                               rtol=1e-12)


def test_unit_band_is_no_band():
    """[1, 1] gives m = 1 exactly: every record as without a band."""
    a = _run(_band_job([1.0, 1.0], 5), 5)
    b = _run(_band_job(None, 5), 5)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    np.testing.assert_array_equal(a["mfu_multiplier"], 1.0)
    np.testing.assert_allclose(a["finish_h"], RESTART + 10.0, rtol=0, atol=1e-9)


def test_migration_uses_the_replicas_rate():
    """With a band the rates of progress and of the migration rule carry m: the move of
    ``test_moves_to_the_preferred_pool_when_it_comes_online`` (worth it for any m in the
    band) happens at hour 10 with 48.75 m node-h done: finish 10.25 + (150 - 48.75 m) /
    (10 m)."""
    cfg = _late_preferred("2026-01-01T10:00", 10, mfu_band=[0.8, 1.25])
    cfg["sim"]["replicas"] = 20
    rec = _run(cfg, 20)
    m = rec["mfu_multiplier"][:, 0]
    assert m.min() < 0.95 and m.max() > 1.05
    np.testing.assert_array_equal(rec["migrations"][:, 0], 1)
    np.testing.assert_allclose(rec["finish_h"][:, 0], 10.25 + (150.0 - 48.75 * m) / (10 * m),
                               rtol=1e-12)


def test_model_band_is_the_throughput_models():
    """``mfu_band: model``: the band of the pools' architecture family (Hopper for an
    H100 pool), the pooled band for a GPU outside the catalogue or mixed families."""
    from simgpu.perf import band_multipliers

    gpus = {"h100": dict(ROUND_GPU), "a100": dict(ROUND_GPU), "round": dict(ROUND_GPU)}
    pools = {"h": {**_pool(10), "gpu": "h100"}, "a": {**_pool(10), "gpu": "a100"},
             "r": _pool(10)}
    jobs = {"on_h": _job(["h"], 10.0, 2, 1, mfu_band="model"),
            "on_r": _job(["r"], 10.0, 2, 1, mfu_band="model"),
            "mixed": _job(["h", "a"], 10.0, 2, 1, mfu_band="model"),
            "given": _job(["h"], 10.0, 2, 1, mfu_band=[0.9, 1.1]),
            "none": _job(["h"], 10.0, 2, 1)}
    w = build_world(load(_world(pools, jobs, gpus=gpus)))
    band = {j.name: j.mfu_band for j in w.jobs}
    assert band["on_h"] == pytest.approx(band_multipliers("hopper"))
    assert band["on_r"] == pytest.approx(band_multipliers(None))
    assert band["mixed"] == pytest.approx(band_multipliers(None))
    assert band["given"] == (0.9, 1.1)
    assert band["none"] is None
    assert band_multipliers("hopper") != band_multipliers(None)
    m = mfu_multipliers(w, np.arange(3))
    assert m.shape == (3, len(w.jobs))
    np.testing.assert_array_equal(m[:, w.job_names.index("none")], 1.0)


def test_a_migrating_job_takes_the_nodes_of_a_lower_job_of_its_party():
    """``a`` (priority 1, 6 to 10 nodes, 120 node-h) starts on p2's 6 nodes because p1
    has only 5, which ``b`` (priority 0, p1 only, 5 nodes, 100 node-h) takes. At hour 10
    p1 grows to 10 nodes: ``a`` has 58.5 node-h done, 61.5 left, 10.25 h staying against
    6.15 h + 0.25 h moving: it migrates, takes all of p1 and finishes at 16.4 h; ``b``,
    after it in allocation order, is stopped gracefully at hour 10 (48.75 node-h kept: a
    preemption, not a migration) and resumes on 5 nodes when ``a`` is done: 16.4 + 0.25 +
    51.25 / 5 = 26.9 h."""
    cfg = _world({"p1": _pool(10, [{"at": "2026-01-01", "nodes": 5},
                                   {"at": "2026-01-01T10:00", "nodes": 10}]),
                  "p2": _pool(6)},
                 {"a": _job(["p1", "p2"], 120.0, 10, 6, priority=1),
                  "b": _job(["p1"], 100.0, 5, 1)})
    rec = _run(cfg)
    names = build_world(load(cfg)).job_names
    a, b = names.index("a"), names.index("b")
    np.testing.assert_array_equal(rec["interruptions"], 0)
    np.testing.assert_array_equal(rec["lost_flops"], 0.0)
    assert rec["finish_h"][0, a] == pytest.approx(16.4, abs=1e-9)
    assert rec["finish_h"][0, b] == pytest.approx(26.9, abs=1e-9)
    assert (rec["migrations"][0, a], rec["preemptions"][0, a]) == (1, 0)
    assert (rec["migrations"][0, b], rec["preemptions"][0, b]) == (0, 1)


@pytest.mark.parametrize(("mtbf_h", "moves"), [(0.4, False), (0.6, True), (math.inf, True)])
def test_the_gain_counts_only_until_the_next_hit(mtbf_h, moves):
    """The rule itself (docs/model.md): ``W (1 - r_stay / r_alt) > max(0, R_alt - rho)``
    with ``W = min(rem / r_stay, MTBF)``. On 5 nodes of p2 with 10 free in p1 and 100
    node-h left (20 h), moving halves the rate's inverse: worth it iff ``W / 2 > 0.25``,
    i.e. iff the 5-node MTBF on p2 (here set by its node failure rate) exceeds 0.5 h.
    A restarting job (rho = 0.2 h) pays only 0.05 h: it moves at MTBF 0.4 h too."""
    from simgpu.reference.des import _Replay
    from simgpu.reference.physical import Tape

    cfg = _late_preferred("2026-01-01T10:00", 10)
    per_node_h = 0.0 if math.isinf(mtbf_h) else 1.0 / (5 * mtbf_h)
    cfg["pools"]["p2"]["reliability"]["failures_per_1000_node_days"] = per_node_h * 24000.0
    w = build_world(load(cfg))
    assert w.pools[1].mtbf_hours(5, 10.0) == pytest.approx(mtbf_h)
    rep = _Replay(w, 0, Tape(), np.random.default_rng(0))
    rep.now, rep.jpool[0], rep.jn[0], rep.total[0] = 10.0, 1, 5, 50.0 * NODE_FLOP_H
    assert rep._migration(0, [10, 5], 5) == ((0, 10) if moves else None)
    rep.restart_left[0] = 0.2
    assert rep._migration(0, [10, 5], 5) == (0, 10)


# ------------------------------------------------------------------ against the engine


def test_migrations_agree_with_the_engine_with_failures():
    """The roadmap case (failures, outages, a growing then shrinking pool, pool moves)
    at a 0.1 h step: mean migrations per job within 3 combined standard errors."""
    from simgpu.cases import roadmap
    from simgpu.engine.numpy_engine import simulate
    from simgpu.engine.plan import compile_plan

    n = 150
    cfg = roadmap(0.1)
    plan = compile_plan(cfg)
    e = simulate(plan, 0, n, daily=False).job_migrations[0].astype(float)
    rec = simulate_des(cfg, n)
    d = rec["migrations"][:, [build_world(cfg).job_names.index(x)
                              for x in plan.job_names]].astype(float)
    assert d.sum(axis=0).max() > 100
    se = np.sqrt(e.var(axis=0, ddof=1) / n + d.var(axis=0, ddof=1) / n)
    assert (np.abs(e.mean(axis=0) - d.mean(axis=0)) <= 3 * se + 1e-12).all(), (
        e.mean(axis=0), d.mean(axis=0), se)
