"""Parity of the engine kernels with their NumPy twins, for any launcher (host or GPU).

``CASES[name](launcher)`` raises AssertionError naming the first mismatch. The tests run
every case on the host build in CPU CI and on CuPy where a GPU is usable;
:func:`run_parity` compares the kernel engine with the NumPy engine on one configuration
(the tests walk every shipped preset and randomly generated configurations).

Integer results must be identical; floating results agree within ``RTOL`` relative
(they are identical in practice: both engines round every operation in the same order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import numpy as np

from simgpu.engine import cuda_engine, numpy_engine
from simgpu.engine.plan import Plan
from simgpu.engine.progress import advance

RTOL = 1e-9


def compare_raw(want: numpy_engine.RawResults, got: numpy_engine.RawResults,
                rtol: float = RTOL) -> list[str]:
    """Every field of two RawResults that differs: integers exactly, floats within rtol."""
    bad = []
    for f in fields(want):
        a, b = getattr(want, f.name), getattr(got, f.name)
        if a is None or b is None:
            if (a is None) != (b is None):
                bad.append(f"{f.name}: present in one result only")
            continue
        if a.shape != b.shape:
            bad.append(f"{f.name}: shape {a.shape} vs {b.shape}")
            continue
        if np.issubdtype(a.dtype, np.integer):
            diff = a != b
        else:
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            same_inf = np.isinf(a64) == np.isinf(b64)
            fin = np.isfinite(a64) & np.isfinite(b64)
            with np.errstate(invalid="ignore"):
                close = np.abs(a64 - b64) <= rtol * np.maximum(np.abs(a64), np.abs(b64))
            diff = ~same_inf | (fin & ~close) | (np.isinf(a64) & (a64 != b64))
        if diff.any():
            idx = tuple(int(i) for i in np.argwhere(diff)[0])
            bad.append(f"{f.name}{list(idx)}: NumPy {a[idx]!r} vs kernel {b[idx]!r} "
                       f"({int(diff.sum())} of {diff.size} differ)")
    return bad


def run_parity(plan: Plan, launcher, n_replicas: int = 2, replica_offset: int = 0,
               daily: bool = True) -> None:
    """The kernel engine equals the NumPy engine on ``plan``; AssertionError otherwise."""
    want = numpy_engine.simulate(plan, replica_offset, n_replicas, daily=daily)
    got = cuda_engine.simulate(plan, replica_offset, n_replicas, daily=daily, launcher=launcher)
    bad = compare_raw(want, got)
    assert not bad, f"{plan.cfg.name}: kernel engine differs from NumPy:\n  " + "\n  ".join(bad)


def _advance_inputs(n: int, m: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Random job states and sorted hits covering finishing, rollbacks and restarts."""
    g = np.random.default_rng(seed)
    dt = 1.0
    tau = g.choice([0.05, 0.3, 1.0, 2.5], n)
    write = g.choice([0.0, 0.02, 0.1], n)
    hits = np.sort(np.where(g.random((n, m)) < 0.4, g.random((n, m)) * dt, np.inf), axis=1)
    rate = g.choice([0.0, 1e18, 3.3e20], n)
    flops = np.where(g.random(n) < 0.5, 1e30, g.random(n) * 5e20)
    total = np.minimum(g.random(n) * 1e20, flops * 0.9)
    return dict(dt=dt, rate=rate, flops=flops, total=total,
                unc=np.minimum(g.random(n) * 1e19, total), since=g.random(n) * (tau + write),
                rleft=g.choice([0.0, 0.1, 0.7, 1.5], n), restart=g.choice([0.0, 0.25, 1.2], n),
                tau=tau, cyc=tau + write, hits=hits,
                extra=np.where(g.random((n, m)) < 0.5, g.choice([0.05, 0.4, 1.3], (n, m)), 0.0),
                graceful=g.random((n, m)) < 0.3)


def case_advance(launcher) -> None:
    """``sg_advance`` vs :func:`simgpu.engine.progress.advance` on 4,000 random jobs."""
    n, m = 4000, 5
    x = _advance_inputs(n, m)
    want = advance(x["dt"], np.ones(n, bool), x["rate"], x["flops"], x["total"], x["unc"],
                   x["since"], x["rleft"], x["restart"], x["tau"], x["cyc"], x["hits"], x["extra"],
                   x["graceful"])
    out = {k: np.zeros(n) for k in ("total", "unc", "since", "rleft", "gained", "lost", "fin")}
    n_int = np.zeros(n, np.int64)
    flags = np.zeros((n, m), np.int64)
    launcher.run("sg_advance", n, np.float64(x["dt"]), *(np.ascontiguousarray(x[k]) for k in (
        "rate", "flops", "total", "unc", "since", "rleft", "restart", "tau", "cyc", "hits",
        "extra")), np.ascontiguousarray(x["graceful"].astype(np.int64)),
        np.int64(m), out["total"], out["unc"], out["since"], out["rleft"], out["gained"],
        out["lost"], n_int, flags, out["fin"])
    pairs = [("total", want.total), ("unc", want.uncommitted), ("since", want.since),
             ("rleft", want.restart_left), ("gained", want.gained), ("lost", want.lost),
             ("fin", want.finish_offset)]
    for name, w in pairs:
        g = out[name]
        same = (w == g) | (np.isnan(w) & np.isnan(g))
        assert same.all(), (f"sg_advance.{name}: first mismatch at {np.flatnonzero(~same)[0]}: "
                            f"NumPy {w[~same][0]!r} vs kernel {g[~same][0]!r}")
    assert (n_int == want.interruptions).all(), "sg_advance.interruptions differ"
    assert (flags.astype(bool) == want.interrupted_by).all(), "sg_advance.interrupted_by differ"


def case_engine(launcher) -> None:
    """``sg_engine_run`` vs the NumPy engine on a small landlord/tenant configuration with
    lemons, causes, domains and every counterfactual (simgpu.cases.kernel_mix)."""
    from simgpu.cases import kernel_mix
    from simgpu.config.load import load
    from simgpu.engine.plan import compile_plan

    run_parity(compile_plan(load(kernel_mix())), launcher, n_replicas=3, replica_offset=5)


CASES: dict[str, Callable[[object], None]] = {
    "sg_advance": case_advance,
    "sg_engine_run": case_engine,
}
