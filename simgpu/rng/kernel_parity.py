"""Parity cases: the kernels of ``rng/rng_kernels.cu`` against their NumPy twins, bit for bit.

``CASES[name](launcher)`` builds deterministic inputs with NumPy (edge cases first, then
many random ones), runs kernel ``name`` through ``launcher`` (a
:class:`simgpu.engine.launch.HostLauncher` on any machine with a C++ compiler, or a
:class:`~simgpu.engine.launch.CupyLauncher` on a GPU) and asserts that every output equals
the NumPy twin's bit for bit: floats are compared as their IEEE-754 bit patterns, so a
NaN's payload and the sign of zero count. A mismatch raises ``AssertionError`` naming the
first mismatching element and its inputs.

Inputs are NumPy arrays, which both launchers accept (the CuPy launcher copies them to
the device and the outputs back).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simgpu.rng import detmath, philox
from simgpu.rng.distributions import (
    DIST_EXPONENTIAL,
    DIST_FIXED,
    DIST_LOGNORMAL,
    POISSON_LAM_MAX,
    POISSON_PTRS_MIN_LAM,
    draw_duration,
    normal_ppf,
    poisson,
)

__all__ = ["CASES"]

_U32_MAX = 2**32 - 1
_U16_MAX = 2**16 - 1
#: Seeds of the key-space cases: the ends of [0, 2**64), the 32-bit boundary, and others.
SEEDS = (0, 1, 2**32 - 1, 2**32, 0x0123456789ABCDEF, 2**63, 2**64 - 2, 2**64 - 1)


# ----------------------------------------------------------------------------- helpers
def _bits_of(a: np.ndarray) -> np.ndarray:
    """The array as integers for a bitwise comparison (floats by their IEEE bit patterns)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint64) if a.dtype == np.float64 else a


def _show(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v)!r} ({np.float64(v).view(np.uint64):#018x})"
    return repr(v.item() if hasattr(v, "item") else v)


def _check(kernel: str, got: np.ndarray, want: np.ndarray, **inputs) -> int:
    """Assert ``got`` equals ``want`` bitwise; returns the number of values compared.

    ``inputs`` are per-element arrays (first axis aligned with ``got``) or scalars; the
    message shows them at the first mismatching element.
    """
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{kernel}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{kernel}: dtype {got.dtype} != {want.dtype}"
    diff = _bits_of(got) != _bits_of(want)
    if diff.ndim > 1:
        diff = diff.reshape(diff.shape[0], -1).any(axis=1)
    bad = np.flatnonzero(diff)
    if bad.size:
        i = int(bad[0])
        where = ", ".join(
            f"{k}={_show(v[i] if isinstance(v, np.ndarray) and v.ndim else v)}"
            for k, v in inputs.items())
        g = got[i].tolist() if got.ndim > 1 else _show(got[i])
        w = want[i].tolist() if want.ndim > 1 else _show(want[i])
        raise AssertionError(
            f"{kernel}: {bad.size} of {diff.size} elements differ from the NumPy twin; "
            f"first at element {i}: {where}: kernel gave {g}, NumPy gives {w}")
    return int(got.size)


def _ulps(x, k: int) -> np.ndarray:
    """Each finite ``x`` and its ``k`` neighbouring doubles on either side (same sign)."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    mag = np.abs(x).view(np.int64)[:, None] + np.arange(-k, k + 1, dtype=np.int64)
    mag = np.clip(mag, 0, np.float64(np.finfo(np.float64).max).view(np.int64))
    return (mag.view(np.float64) * np.where(np.signbit(x), -1.0, 1.0)[:, None]).ravel()


def _grid_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random points of the uniform grid ``(j + 0.5) / 2**52``."""
    return (rng.integers(0, 2**52, size=n, dtype=np.int64).astype(np.float64) + 0.5) * 2.0**-52


_GRID_EDGES = np.array([2.0**-53, 2.0**-52 + 2.0**-53, 0.5 - 2.0**-53, 0.5 + 2.0**-53,
                        1.0 - 2.0**-52 - 2.0**-53, 1.0 - 2.0**-53])


def _keys(rng: np.random.Generator, n_random: int) -> dict[str, np.ndarray]:
    """Key arrays (int64): every combination of each field's ends, then random keys
    mixing full-range values with the range ends."""
    tops = {"replica": _U32_MAX, "stream": _U16_MAX, "step": _U32_MAX, "index": _U32_MAX,
            "sub": _U16_MAX}
    names = list(tops)
    corners = np.array(np.meshgrid(*[[0, tops[k]] for k in names], indexing="ij"))
    corners = corners.reshape(len(names), -1)
    out = {}
    for j, k in enumerate(names):
        hi = tops[k]
        vals = rng.integers(0, hi + 1, size=n_random, dtype=np.int64)
        ends = rng.choice(np.array([0, 1, hi - 1, hi], dtype=np.int64), size=n_random)
        vals = np.where(rng.random(n_random) < 0.2, ends, vals)
        out[k] = np.ascontiguousarray(np.concatenate([corners[j], vals]).astype(np.int64))
    return out


# ----------------------------------------------------------------------------- cases
def case_philox_bits(launcher) -> int:
    """``sg_philox_bits`` against :func:`simgpu.rng.philox.bits`."""
    rng = np.random.default_rng(0x5EED0001)
    compared = 0
    for seed in SEEDS:
        k = _keys(rng, 4000)
        n = k["replica"].size
        out = np.zeros(4 * n, dtype=np.uint32)
        launcher.run("sg_philox_bits", n, np.uint64(seed), k["replica"], k["stream"],
                     k["step"], k["index"], k["sub"], out)
        want = np.stack(philox.bits(seed, k["replica"], k["stream"], k["step"], k["index"],
                                    k["sub"]), axis=1)
        compared += _check("sg_philox_bits", out.reshape(n, 4), want, seed=seed, **k)
    return compared


def case_uniform(launcher) -> int:
    """``sg_uniform`` against :func:`simgpu.rng.philox.uniform` (both words)."""
    rng = np.random.default_rng(0x5EED0002)
    compared = 0
    for seed in SEEDS:
        k = _keys(rng, 4000)
        n = k["replica"].size
        word = np.ascontiguousarray(rng.integers(0, 2, size=n, dtype=np.int64))
        out = np.zeros(n)
        launcher.run("sg_uniform", n, np.uint64(seed), k["replica"], k["stream"], k["step"],
                     k["index"], k["sub"], word, out)
        args = (seed, k["replica"], k["stream"], k["step"], k["index"], k["sub"])
        want = np.where(word == 0, philox.uniform(*args, word=0), philox.uniform(*args, word=1))
        compared += _check("sg_uniform", out, want, seed=seed, word=word, **k)
    return compared


def _detmath_inputs() -> np.ndarray:
    rng = np.random.default_rng(0x5EED0003)
    fmax = np.finfo(np.float64).max
    tiny = np.finfo(np.float64).tiny  # smallest normal
    nan_payloads = np.array([0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000001,
                             0x7FF0000000000001, 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
    specials = np.concatenate([
        [0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, tiny, tiny - 5e-324, fmax, -fmax,
         1.0, -1.0, 2.0, 0.5, np.e],
        nan_payloads.view(np.float64),
    ])
    mags = np.logspace(-323.6, 308.2, 40001)
    exps = np.arange(-1074, 1024)
    parts = [
        specials,
        # random bit patterns: every exponent, both signs, subnormals, inf, NaN payloads
        rng.integers(0, 2**64 - 1, size=60000, dtype=np.uint64, endpoint=True).view(np.float64),
        mags, -mags,
        np.ldexp(1.0, exps),  # powers of two, subnormal ones included
        _ulps(1.0, 3000),  # log near 1
        # mantissa windows of log (hfsq form [0.69, 0.71]; the sqrt(1/2) fold) at many scales
        _ulps(np.ldexp(np.array([0.69, 0.71, detmath.SQRT_HALF])[:, None],
                       np.array([-1073, -1022, -60, -1, 0, 1, 2, 60, 1023])).ravel(), 4),
        _grid_uniforms(rng, 20000), _GRID_EDGES,
        # exp: the whole finite range, the subnormal-result range, and around the thresholds
        np.linspace(-746.0, 710.0, 100001),
        np.linspace(-745.2, -707.0, 40001),
        _ulps([detmath.EXP_O_THRESHOLD, detmath.EXP_U_THRESHOLD], 64),
        _ulps([-708.3964185322641, -708.0, 709.0], 16),  # near the normal/subnormal boundary
        # exp: the rounding boundaries of kf = round(x / ln2)
        _ulps((np.arange(-1075, 1025) + 0.5) * np.log(2.0), 2),
        rng.standard_normal(20000) * 30.0,
        rng.standard_normal(20000) * 1e-8,
    ]
    return np.ascontiguousarray(np.concatenate(parts).astype(np.float64))


def case_detmath(launcher) -> int:
    """``sg_detmath`` against :func:`simgpu.rng.detmath.log` and ``exp``."""
    x = _detmath_inputs()
    n = x.size
    log_out = np.zeros(n)
    exp_out = np.zeros(n)
    launcher.run("sg_detmath", n, x, log_out, exp_out)
    return (_check("sg_detmath(log)", log_out, detmath.log(x), x=x)
            + _check("sg_detmath(exp)", exp_out, detmath.exp(x), x=x))


def _ppf_inputs() -> np.ndarray:
    rng = np.random.default_rng(0x5EED0004)
    p5 = float(np.exp(-25.0))  # where r = sqrt(-log p) crosses 5.0 (the far-tail switch)
    parts = [
        _GRID_EDGES, [0.5, 5e-324, 1e-310, 1e-300, np.finfo(np.float64).tiny],
        _ulps([0.075, 0.925, 0.5], 200),  # |p - 0.5| = 0.425, the central/tail switch
        _ulps([p5], 2000), 1.0 - _ulps([p5], 50),
        np.logspace(-323.0, -0.31, 20001),  # lower tail, subnormal p included
        1.0 - np.logspace(-16.0, -0.31, 20001),  # upper tail
        _grid_uniforms(rng, 100000),
        rng.random(50000),
    ]
    p = np.concatenate(parts).astype(np.float64)
    return np.ascontiguousarray(p[(p > 0.0) & (p < 1.0)])


def case_normal_ppf(launcher) -> int:
    """``sg_normal_ppf`` against :func:`simgpu.rng.distributions.normal_ppf`."""
    p = _ppf_inputs()
    out = np.zeros(p.size)
    launcher.run("sg_normal_ppf", p.size, p, out)
    return _check("sg_normal_ppf", out, normal_ppf(p), p=p)


def case_durations(launcher) -> int:
    """``sg_durations`` against :func:`simgpu.rng.distributions.draw_duration`."""
    rng = np.random.default_rng(0x5EED0005)
    nan = np.nan
    inf = np.inf
    # hand-made rows: (kind, p1, p2, cap, u). NaN parameters only where the NaN reaches the
    # output by selection or through detmath.exp (which returns the canonical NaN): IEEE
    # leaves the payload of an arithmetic NaN result open, and x86 and GPUs differ there.
    edge = [
        (DIST_FIXED, 5.0, 0.0, inf, 0.5), (DIST_FIXED, 5.0, 0.0, 2.0, 0.5),
        (DIST_FIXED, -0.0, 0.0, 0.0, 0.5), (DIST_FIXED, 0.0, 0.0, -0.0, 0.5),
        (DIST_FIXED, nan, 0.0, 3.0, 0.5), (DIST_FIXED, 3.0, 0.0, nan, 0.5),
        (DIST_FIXED, 7.0, 1.0, 7.0, 0.5),
        (DIST_EXPONENTIAL, 0.0, 0.0, inf, 0.5), (DIST_EXPONENTIAL, 0.0, 0.0, -0.0, 0.5),
        (DIST_EXPONENTIAL, 24.0, 0.0, inf, 2.0**-53),
        (DIST_EXPONENTIAL, 24.0, 0.0, inf, 1.0 - 2.0**-53),
        (DIST_EXPONENTIAL, 1e300, 0.0, inf, 2.0**-53),
        (DIST_EXPONENTIAL, 24.0, 0.0, nan, 0.25),
        (DIST_LOGNORMAL, 0.0, 0.0, inf, 0.5), (DIST_LOGNORMAL, 1.0, 0.0, inf, 0.3),
        (DIST_LOGNORMAL, 2.0, 1.0, inf, 2.0**-53), (DIST_LOGNORMAL, 2.0, 1.0, inf, 1 - 2.0**-53),
        (DIST_LOGNORMAL, 700.0, 3.0, inf, 1.0 - 2.0**-53),  # exp overflows to inf
        (DIST_LOGNORMAL, 700.0, 3.0, 1e4, 1.0 - 2.0**-53),
        (DIST_LOGNORMAL, -700.0, 10.0, inf, 2.0**-53),  # exp underflows to 0
        (DIST_LOGNORMAL, -740.0, 1.0, inf, 0.3),  # subnormal result
        (DIST_LOGNORMAL, nan, 1.0, 2.0, 0.3), (DIST_LOGNORMAL, 1.0, nan, 2.0, 0.3),
        (DIST_LOGNORMAL, 1.0, 0.5, nan, 0.3),
        (3, 9.0, 1.0, inf, 0.3),  # an unknown code keeps p1, as np.where does
    ]
    kind_e, p1_e, p2_e, cap_e, u_e = (np.array(c) for c in zip(*edge, strict=True))
    n = 60000
    kind = rng.choice(np.array([DIST_FIXED, DIST_EXPONENTIAL, DIST_LOGNORMAL]), size=n)
    p1 = np.where(kind == DIST_LOGNORMAL, rng.uniform(-5.0, 8.0, n),
                  np.exp(rng.uniform(-4.0, 10.0, n)))
    p1 = np.where(rng.random(n) < 0.02, 0.0, p1)
    p2 = np.where(rng.random(n) < 0.05, 0.0, rng.uniform(0.0, 3.0, n))
    cap = np.where(rng.random(n) < 0.5, np.inf, np.exp(rng.uniform(-2.0, 10.0, n)))
    cap = np.where(rng.random(n) < 0.01, 0.0, cap)
    u = np.where(rng.random(n) < 0.01, rng.choice(_GRID_EDGES, n), _grid_uniforms(rng, n))
    args = [np.ascontiguousarray(np.concatenate([e, r]).astype(t))
            for e, r, t in ((kind_e, kind, np.int64), (p1_e, p1, np.float64),
                            (p2_e, p2, np.float64), (cap_e, cap, np.float64),
                            (u_e, u, np.float64))]
    kind, p1, p2, cap, u = args
    out = np.zeros(kind.size)
    launcher.run("sg_durations", kind.size, kind, p1, p2, cap, u, out)
    return _check("sg_durations", out, draw_duration(kind, p1, p2, cap, u),
                  kind=kind, p1=p1, p2=p2, cap=cap, u=u)


#: Means of the Poisson case: zero, inversion (tiny to just below 10), PTRS (10 to 2**52).
POISSON_LAMS = (0.0, 5e-324, 1e-300, 1e-10, 0.1, 0.5, 1.0, 2.5, 5.0, 9.5, 9.999999,
                float(np.nextafter(POISSON_PTRS_MIN_LAM, 0.0)), POISSON_PTRS_MIN_LAM,
                10.5, 11.0, 15.0, 37.0, 100.0, 1e3, 12345.678, 1e6, 1e9, 1e12, POISSON_LAM_MAX)


def _ptrs_first_attempt(keys: dict[str, np.ndarray], seed: int, lam: np.ndarray
                        ) -> tuple[int, int]:
    """How many PTRS elements (lam >= 10) go past the fast test on attempt 0, and how
    many of those are rejected outright there (so need two attempts or more)."""
    big = lam >= POISSON_PTRS_MIN_LAM
    u, v = philox.uniform_pair(seed, keys["replica"][big], keys["stream"][big],
                               keys["step"][big], keys["index"][big], 0)
    b = 0.931 + (2.53 * np.sqrt(lam[big]))
    a = -0.059 + (0.02483 * b)
    vr = 0.9277 - (3.6224 / (b - 2.0))
    uu = u - 0.5
    us = 0.5 - np.abs(uu)
    k = np.floor((((((2.0 * a) / us) + b) * uu) + lam[big]) + 0.43)
    past_fast = ~((us >= 0.07) & (v <= vr))
    rejected = past_fast & ((k < 0.0) | ((us < 0.013) & (v > us)))
    return int(past_fast.sum()), int(rejected.sum())


def case_poisson(launcher) -> int:
    """``sg_poisson`` against :func:`simgpu.rng.distributions.poisson`.

    Thousands of keys per mean, and random means below and above 10, so that the
    inversion loop, PTRS's slow (log-factorial) test and repeated attempts all occur;
    the case asserts that they do.
    """
    rng = np.random.default_rng(0x5EED0006)
    compared = past_fast = rejected = 0
    for seed in (0, 0x0123456789ABCDEF, 2**64 - 1):
        per = 1500
        lam = np.concatenate([np.repeat(np.array(POISSON_LAMS), per),
                              rng.uniform(0.0, 10.0, 20000),
                              np.exp(rng.uniform(np.log(10.0), np.log(1e7), 20000))])
        k = _keys(rng, lam.size - 32)
        k.pop("sub")  # the sampler owns every sub of its cell
        lam = np.ascontiguousarray(lam)
        out = np.zeros(lam.size, dtype=np.int64)
        launcher.run("sg_poisson", lam.size, np.uint64(seed), k["replica"], k["stream"],
                     k["step"], k["index"], lam, out)
        want = poisson(seed, k["replica"], k["stream"], k["step"], k["index"], lam)
        compared += _check("sg_poisson", out, want, seed=seed, lam=lam, **k)
        pf, rj = _ptrs_first_attempt(k, seed, lam)
        past_fast += pf
        rejected += rj
    assert past_fast > rejected > 100, (
        f"sg_poisson case: PTRS coverage too thin ({past_fast} past the fast test, "
        f"{rejected} rejected on the first attempt)")
    return compared


#: One parity case per kernel of ``rng/rng_kernels.cu``; each returns the number of
#: values it compared.
CASES: dict[str, Callable[[object], int]] = {
    "sg_philox_bits": case_philox_bits,
    "sg_uniform": case_uniform,
    "sg_detmath": case_detmath,
    "sg_normal_ppf": case_normal_ppf,
    "sg_durations": case_durations,
    "sg_poisson": case_poisson,
}
