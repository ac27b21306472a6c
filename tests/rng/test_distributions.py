"""Tests of the samplers in simgpu.rng.distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

import simgpu.rng as rng
from simgpu.rng import detmath, distributions
from simgpu.rng.distributions import (
    exponential,
    lognormal,
    normal,
    normal_ppf,
    poisson,
    uniform,
    weibull,
)

N = 40_000
IDX = np.arange(N)
SEED = 0x5EED_0F_5147


def test_public_api_reexports():
    assert rng.uniform is uniform
    for name in ("exponential", "normal", "lognormal", "weibull", "poisson", "bits"):
        assert callable(getattr(rng, name))


# ---------------------------------------------------------------------------
# shapes / determinism
# ---------------------------------------------------------------------------
SAMPLERS = [
    (exponential, (2.0,)),
    (normal, (1.0, 3.0)),
    (lognormal, (0.2, 0.5)),
    (weibull, (2.0, 1.5)),
    (poisson, (4.0,)),
    (poisson, (40.0,)),
]


@pytest.mark.parametrize(("fn", "params"), SAMPLERS)
def test_broadcast_shapes(fn, params):
    rep = np.arange(2).reshape(2, 1, 1)
    step = np.arange(3).reshape(1, 3, 1)
    out = fn(SEED, rep, 5, step, np.arange(4), *params)
    assert out.shape == (2, 3, 4)
    # parameters broadcast too
    p = np.full((5, 1), params[0])
    out = fn(SEED, 0, 5, 0, np.arange(4), p, *params[1:])
    assert out.shape == (5, 4)
    # element-wise equal to the scalar call, and independent of the batch
    full = fn(SEED, rep, 5, step, np.arange(4), *params)
    assert full[1, 2, 3] == fn(SEED, 1, 5, 2, 3, *params)
    assert fn(SEED, 0, 5, 0, 0, *params).shape == ()


@pytest.mark.parametrize(("fn", "params"), SAMPLERS)
def test_determinism_and_key_sensitivity(fn, params):
    a = fn(SEED, 1, 2, 3, IDX[:2000], *params)
    assert np.array_equal(a, fn(SEED, 1, 2, 3, IDX[:2000], *params))
    for key in ({"seed": SEED + 1}, {"replica": 2}, {"stream": 3}, {"step": 4}):
        args = {"seed": SEED, "replica": 1, "stream": 2, "step": 3, **key}
        b = fn(args["seed"], args["replica"], args["stream"], args["step"], IDX[:2000], *params)
        assert not np.array_equal(a, b)


def test_dtypes():
    assert exponential(1, 0, 0, 0, IDX[:10], 1.0).dtype == np.float64
    assert poisson(1, 0, 0, 0, IDX[:10], 3.0).dtype == np.int64
    assert poisson(1, 0, 0, 0, IDX[:10], 300.0).dtype == np.int64


# ---------------------------------------------------------------------------
# continuous distributions: exact composition and KS tests
# ---------------------------------------------------------------------------
def test_compositions_are_exact():
    u = uniform(SEED, 0, 1, 0, IDX[:1000])
    assert np.array_equal(exponential(SEED, 0, 1, 0, IDX[:1000], 2.5), -2.5 * detmath.log(u))
    z = normal_ppf(u)
    assert np.array_equal(normal(SEED, 0, 1, 0, IDX[:1000]), z)
    assert np.array_equal(
        lognormal(SEED, 0, 1, 0, IDX[:1000], 0.1, 0.7), detmath.exp(0.1 + 0.7 * z)
    )
    w = 3.0 * detmath.exp(detmath.log(-detmath.log(u)) / 1.7)
    assert np.array_equal(weibull(SEED, 0, 1, 0, IDX[:1000], 3.0, 1.7), w)
    u1 = uniform(SEED, 0, 1, 0, IDX[:1000], sub=4, word=1)
    assert np.array_equal(
        exponential(SEED, 0, 1, 0, IDX[:1000], 1.0, sub=4, word=1), -detmath.log(u1)
    )


def test_normal_ppf_accuracy_and_symmetry():
    p = np.concatenate(
        [
            np.linspace(1e-6, 1 - 1e-6, 20_001),
            np.logspace(-16, -1, 500),
            [2.0**-53, 1 - 2.0**-53, 0.075, 0.925, 0.5 + 2.0**-52],
        ]
    )
    p = np.concatenate([p, 1.0 - np.logspace(-15, -1, 500)])
    z = normal_ppf(p)
    ref = special.ndtri(p)
    assert np.max(np.abs(z - ref) / np.maximum(np.abs(ref), 1.0)) < 1e-14
    u = uniform(1, 2, 3, 4, IDX[:5000])
    assert np.array_equal(normal_ppf(1.0 - u), -normal_ppf(u))
    with pytest.raises(ValueError):
        normal_ppf([0.0])
    with pytest.raises(ValueError):
        normal_ppf(1.0)


def test_normal_ppf_detects_wrong_coefficient(monkeypatch):
    # Sanity check of the accuracy test: corrupting one AS241 coefficient
    # (last digits of C3) is caught.
    c = list(distributions._C)
    c[3] *= 1.0 + 1e-9
    monkeypatch.setattr(distributions, "_C", tuple(c))
    p = np.linspace(0.001, 0.07, 1000)
    assert np.max(np.abs(normal_ppf(p) - special.ndtri(p))) > 1e-12


CONTINUOUS = [
    (
        "exponential",
        lambda: exponential(SEED, 0, 10, 0, IDX, 2.5),
        stats.expon(scale=2.5),
        stats.expon(scale=2.5 * 1.05),
    ),
    (
        "normal",
        lambda: normal(SEED, 0, 11, 0, IDX, 1.0, 3.0),
        stats.norm(1.0, 3.0),
        stats.norm(1.0 + 0.2, 3.0),
    ),
    (
        "lognormal",
        lambda: lognormal(SEED, 0, 12, 0, IDX, 0.3, 0.7),
        stats.lognorm(0.7, scale=np.exp(0.3)),
        stats.lognorm(0.7 * 1.1, scale=np.exp(0.3)),
    ),
    (
        "weibull",
        lambda: weibull(SEED, 0, 13, 0, IDX, 2.0, 1.5),
        stats.weibull_min(1.5, scale=2.0),
        stats.weibull_min(1.5 * 1.05, scale=2.0),
    ),
    (
        "weibull-heavy",
        lambda: weibull(SEED, 0, 14, 0, IDX, 0.5, 0.6),
        stats.weibull_min(0.6, scale=0.5),
        stats.weibull_min(0.6, scale=0.5 * 1.06),
    ),
]


@pytest.mark.parametrize(
    ("name", "sample", "dist", "wrong"), CONTINUOUS, ids=[c[0] for c in CONTINUOUS]
)
def test_continuous_ks(name, sample, dist, wrong):
    x = sample()
    assert x.shape == (N,)
    assert np.all(np.isfinite(x))
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3
    # power: a slightly wrong distribution is rejected on the same sample
    assert stats.kstest(x, wrong.cdf).pvalue < 1e-6
    # moments within 4 standard errors
    mean, var = dist.stats(moments="mv")
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / N)


def test_normal_word1_and_sub_are_independent_draws():
    z0 = normal(SEED, 0, 11, 0, IDX)
    z1 = normal(SEED, 0, 11, 0, IDX, word=1)
    z2 = normal(SEED, 0, 11, 0, IDX, sub=1)
    assert abs(np.corrcoef(z0, z1)[0, 1]) < 4 / np.sqrt(N)
    assert abs(np.corrcoef(z0, z2)[0, 1]) < 4 / np.sqrt(N)
    assert stats.kstest(z1, "norm").pvalue > 1e-3


def test_continuous_parameter_validation():
    with pytest.raises(ValueError, match="mean"):
        exponential(1, 0, 0, 0, 0, -1.0)
    with pytest.raises(ValueError, match="mean"):
        exponential(1, 0, 0, 0, 0, np.nan)
    with pytest.raises(ValueError, match="scale"):
        normal(1, 0, 0, 0, 0, 0.0, -1.0)
    with pytest.raises(ValueError, match="sigma"):
        lognormal(1, 0, 0, 0, 0, 0.0, -0.1)
    with pytest.raises(ValueError, match="mu"):
        lognormal(1, 0, 0, 0, 0, np.inf, 1.0)
    with pytest.raises(ValueError, match="shape"):
        weibull(1, 0, 0, 0, 0, 1.0, 0.0)
    with pytest.raises(ValueError, match="stream"):
        exponential(1, 0, 70000, 0, 0, 1.0)


def test_weibull_small_shape_overflows_quietly():
    x = weibull(SEED, 0, 1, 0, IDX[:1000], 1.0, 0.01)
    assert np.all(x >= 0.0)  # inf allowed, no warning (pytest turns warnings into errors)


# ---------------------------------------------------------------------------
# Poisson
# ---------------------------------------------------------------------------
def _chisquare_poisson(k: np.ndarray, lam: float) -> float:
    """Chi-square GOF p-value against Poisson(lam), pooling bins with E < 5."""
    n = k.size
    lo = int(stats.poisson.ppf(1e-9, lam))
    hi = int(stats.poisson.isf(1e-9, lam))
    edges = np.arange(lo, hi + 1)
    probs = stats.poisson.pmf(edges, lam)
    probs[0] += stats.poisson.cdf(lo - 1, lam)
    probs[-1] += stats.poisson.sf(hi, lam)
    counts = np.bincount(np.clip(k, lo, hi) - lo, minlength=edges.size).astype(float)
    # pool adjacent bins from both ends until every expected count is >= 5
    obs, exp_ = [], []
    acc_o = acc_e = 0.0
    for o, e in zip(counts, probs * n, strict=True):
        acc_o += o
        acc_e += e
        if acc_e >= 5.0:
            obs.append(acc_o)
            exp_.append(acc_e)
            acc_o = acc_e = 0.0
    if acc_e > 0.0:
        obs[-1] += acc_o
        exp_[-1] += acc_e
    obs, exp_ = np.array(obs), np.array(exp_)
    if obs.size < 2:
        return 1.0
    return float(stats.chisquare(obs, exp_ * obs.sum() / exp_.sum()).pvalue)


@pytest.mark.parametrize("lam", [0.3, 3.0, 9.99, 10.0, 50.0, 1000.0])
def test_poisson_goodness_of_fit(lam):
    k = poisson(SEED, 3, 20, 1, IDX, lam)
    assert k.min() >= 0
    assert _chisquare_poisson(k, lam) > 1e-3
    se_mean = np.sqrt(lam / N)
    se_var = np.sqrt((lam + 2 * lam**2) / N)
    assert abs(k.mean() - lam) < 4 * se_mean
    assert abs(k.var(ddof=1) - lam) < 4 * se_var


@pytest.mark.parametrize(
    ("lam", "wrong"), [(3.0, 3.1), (9.99, 10.3), (50.0, 51.0), (1000.0, 1015.0)]
)
def test_poisson_tests_have_power(lam, wrong):
    k = poisson(SEED, 3, 20, 1, IDX, lam)
    assert _chisquare_poisson(k, wrong) < 1e-4


def test_poisson_mixed_lambdas_are_batch_independent():
    r = np.random.default_rng(5)
    lam = np.where(r.random(5000) < 0.5, r.uniform(0, 10, 5000), r.uniform(10, 1e6, 5000))
    lam[::50] = 0.0
    lam[1::50] = 10.0
    idx = np.arange(5000)
    k = poisson(SEED, 0, 9, 2, idx, lam)
    assert np.all(k[::50] == 0)
    perm = r.permutation(5000)
    assert np.array_equal(k[perm], poisson(SEED, 0, 9, 2, idx[perm], lam[perm]))
    small = lam < 10
    assert np.array_equal(k[small], poisson(SEED, 0, 9, 2, idx[small], lam[small]))
    assert np.array_equal(k[~small], poisson(SEED, 0, 9, 2, idx[~small], lam[~small]))
    # large lam: relative deviation consistent with sqrt(lam) fluctuations
    zs = (k[~small] - lam[~small]) / np.sqrt(lam[~small])
    assert abs(zs.mean()) < 4 / np.sqrt(zs.size)
    assert abs(zs.std() - 1.0) < 0.1


def _ref_inversion(u: float, lam: float) -> int:
    p = float(detmath.exp(-lam))
    cdf = p
    k = 0
    while u > cdf and k < 50:
        k += 1
        p = p * (lam / k)
        cdf = cdf + p
    return k


def _ref_ptrs(seed, replica, stream, step, index, lam):
    """Scalar PTRS exactly as documented (the CUDA twin's loop body)."""

    def log(x):
        return float(detmath.log(x))

    slam = float(np.sqrt(lam))
    b = 0.931 + (2.53 * slam)
    a = -0.059 + (0.02483 * b)
    invalpha = 1.1239 + (1.1328 / (b - 3.4))
    vr = 0.9277 - (3.6224 / (b - 2.0))
    for attempt in range(1000):
        u = float(uniform(seed, replica, stream, step, index, sub=attempt, word=0))
        v = float(uniform(seed, replica, stream, step, index, sub=attempt, word=1))
        uu = u - 0.5
        us = 0.5 - abs(uu)
        k = float(np.floor((((((2.0 * a) / us) + b) * uu) + lam) + 0.43))
        if us >= 0.07 and v <= vr:
            return int(k), attempt
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        lhs = (log(v) + log(invalpha)) - log((a / (us * us)) + b)
        rhs = (-lam + (k * log(lam))) - float(distributions._log_factorial(np.array([k]))[0])
        if lhs <= rhs:
            return int(k), attempt
    raise AssertionError("no acceptance")


def test_poisson_matches_scalar_reference():
    idx = np.arange(400)
    lam_small = np.linspace(0.01, 9.99, 400)
    k = poisson(SEED, 1, 2, 3, idx, lam_small)
    u = uniform(SEED, 1, 2, 3, idx)
    assert [_ref_inversion(float(u[i]), float(lam_small[i])) for i in idx] == k.tolist()

    lam_big = np.geomspace(10.0, 1e7, 400)
    k = poisson(SEED, 1, 2, 3, idx, lam_big)
    ref = [_ref_ptrs(SEED, 1, 2, 3, int(i), float(lam_big[i])) for i in idx]
    assert [r[0] for r in ref] == k.tolist()
    # the multi-attempt path (sub >= 1) was exercised
    assert max(r[1] for r in ref) >= 1


def test_poisson_golden_values():
    lam = np.array([0.0, 0.3, 3.0, 9.99, 10.0, 50.0, 1000.0, 1e9])
    k = poisson(20240601, 7, 3, 11, np.arange(8), lam)
    assert k.tolist() == [0, 0, 1, 4, 8, 48, 1054, 999991373]


def test_poisson_extreme_lambda():
    k = poisson(SEED, 0, 0, 0, IDX[:2000], 2.0**52)
    z = (k - 2.0**52) / 2.0**26
    assert abs(z.mean()) < 4 / np.sqrt(k.size)
    assert abs(z.std() - 1.0) < 0.1


def test_poisson_log_factorial():
    k = np.arange(0, 3000, dtype=np.float64)
    got = distributions._log_factorial(k)
    ref = special.gammaln(k + 1.0)
    assert np.max(np.abs(got - ref) / np.maximum(ref, 1.0)) < 1e-15
    big = np.array([1e6, 1e9, 1e15])
    assert np.allclose(distributions._log_factorial(big), special.gammaln(big + 1.0), rtol=1e-15)


def test_poisson_validation():
    for bad in (-1.0, np.nan, np.inf, 2.0**53):
        with pytest.raises(ValueError, match="lam"):
            poisson(1, 0, 0, 0, 0, bad)
    with pytest.raises(ValueError, match="lam"):
        poisson(1, 0, 0, 0, np.arange(3), np.array([1.0, -0.5, 2.0]))


def test_poisson_attempt_cap(monkeypatch):
    monkeypatch.setattr(distributions, "POISSON_MAX_ATTEMPTS", 1)
    with pytest.raises(RuntimeError, match="PTRS"):
        poisson(SEED, 0, 0, 0, IDX[:5000], 30.0)


def test_poisson_small_from_uniform_matches_poisson():
    from simgpu.rng import poisson, uniform
    from simgpu.rng.distributions import poisson_small_from_uniform

    lam = np.linspace(0.0, 9.99, 500)
    idx = np.arange(lam.size)
    direct = poisson(11, 2, 9, 5, idx, lam)
    via_u = poisson_small_from_uniform(uniform(11, 2, 9, 5, idx), lam)
    np.testing.assert_array_equal(direct, via_u)
    with pytest.raises(ValueError):
        poisson_small_from_uniform(0.5, 10.0)


def test_poisson_inversion_cdf_rows_are_the_scalar_loops_cdf():
    """A row of the table depends on its own mean only (callers keep rows), and its count
    ``(u > row).sum()`` is the inversion's."""
    from simgpu.rng.distributions import POISSON_INV_KMAX, poisson_inversion_cdf

    lam = np.array([0.0, 1e-6, 0.3, 3.65, 9.99])
    table = poisson_inversion_cdf(lam)
    assert table.shape == (lam.size, POISSON_INV_KMAX)
    for i, x in enumerate(lam):
        np.testing.assert_array_equal(poisson_inversion_cdf(np.array([x]))[0], table[i])
        p = cdf = float(detmath.exp(-x))  # the scalar loop of _ref_inversion
        ref = [cdf]
        for k in range(1, POISSON_INV_KMAX):
            p = p * (x / k)
            cdf = cdf + p
            ref.append(cdf)
        assert table[i].tolist() == ref
    u = uniform(SEED, 0, 4, 1, np.arange(lam.size))
    np.testing.assert_array_equal((u[:, None] > table).sum(axis=1),
                                  poisson(SEED, 0, 4, 1, np.arange(lam.size), lam))
