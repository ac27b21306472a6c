"""Random variates as pure functions of the simgpu key space.

Every sampler takes the key arguments ``(seed, replica, stream, step,
index)`` of :func:`simgpu.rng.philox.bits` followed by its parameters; all of
them broadcast together and the result has the broadcast shape.  The
continuous samplers consume exactly one uniform, ``uniform(..., sub, word)``
(keyword-only ``sub=0, word=0`` by default), so two independent variates can
be taken from one Philox block with ``word=0`` and ``word=1``.  The Poisson
sampler owns *all* ``sub`` values of its cell.

All floating-point work uses IEEE basic operations in the order written in
the Notes sections (explicit parenthesisation) plus :mod:`simgpu.rng.detmath`
``log``/``exp`` and ``sqrt``, so a CUDA port compiled with ``-fmad=false``
reproduces every draw bit for bit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import detmath
from .philox import _layout, _philox_u64, _u01, uniform

__all__ = [
    "POISSON_LAM_MAX",
    "POISSON_MAX_ATTEMPTS",
    "POISSON_PTRS_MIN_LAM",
    "exponential",
    "exponential_from_uniform",
    "lognormal",
    "lognormal_from_uniform",
    "normal",
    "normal_ppf",
    "poisson",
    "poisson_inversion_cdf",
    "poisson_small_from_uniform",
    "uniform",
    "weibull",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _param(name: str, value: ArrayLike, *, positive: bool = False, nonneg: bool = False):
    """Convert a distribution parameter to float64 and validate it.

    Parameters
    ----------
    name : str
        Parameter name for error messages.
    value : array_like of float
        Parameter values, any shape.
    positive, nonneg : bool
        Require ``value > 0`` / ``value >= 0``.

    Returns
    -------
    numpy.ndarray of float64
        Same shape as ``value``.

    Raises
    ------
    ValueError
        If a value is not finite or violates the sign requirement.
    """
    arr = np.asarray(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    if positive and not (arr > 0.0).all():
        raise ValueError(f"{name} must be > 0")
    if nonneg and not (arr >= 0.0).all():
        raise ValueError(f"{name} must be >= 0")
    return arr


def _broadcast_result(y: NDArray, *params: NDArray) -> NDArray:
    """Broadcast ``y`` against the parameter arrays (returns a new array)."""
    shape = np.broadcast_shapes(y.shape, *(p.shape for p in params))
    return np.array(np.broadcast_to(y, shape))


# ---------------------------------------------------------------------------
# continuous distributions
# ---------------------------------------------------------------------------
def exponential(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    mean: ArrayLike,
    *,
    sub: ArrayLike = 0,
    word: int = 0,
) -> NDArray[np.float64]:
    """Exponential variates with the given mean.

    Parameters
    ----------
    seed, replica, stream, step, index : array_like of int
        Key arguments (see :func:`simgpu.rng.philox.bits`).
    mean : array_like of float
        Mean ``1 / rate``, finite and ``>= 0``.
    sub : array_like of int, optional
        Sub-draw of the uniform, keyword-only.
    word : {0, 1}, optional
        Word pair of the uniform, keyword-only.

    Returns
    -------
    numpy.ndarray of float64
        Broadcast shape of keys and ``mean``; values ``>= 0``.

    Notes
    -----
    Inversion of the CDF ``F(x) = 1 - exp(-x / mean)`` with ``u`` in (0, 1)
    (``1 - u`` and ``u`` are equal in law)::

        x = (-mean) * log(u)        # detmath.log; u never 0 or 1
    """
    mean_ = _param("mean", mean, nonneg=True)
    return exponential_from_uniform(uniform(seed, replica, stream, step, index, sub, word), mean_)


def exponential_from_uniform(u: ArrayLike, mean: ArrayLike) -> NDArray[np.float64]:
    """The transform of :func:`exponential`: ``(-mean) * log(u)`` for uniforms in (0, 1)."""
    return (-np.asarray(mean, dtype=np.float64)) * detmath.log(u)


def lognormal_from_uniform(u: ArrayLike, mu: ArrayLike, sigma: ArrayLike
                           ) -> NDArray[np.float64]:
    """The transform of :func:`lognormal`: ``exp(mu + (sigma * normal_ppf(u)))``."""
    mu_ = np.asarray(mu, dtype=np.float64)
    return detmath.exp(mu_ + (np.asarray(sigma, dtype=np.float64) * normal_ppf(u)))


# Wichura (1988), Algorithm AS 241 PPND16, Appl. Statist. 37(3), 477-484.
_AS241_SPLIT1 = 0.425
_AS241_SPLIT2 = 5.0
_AS241_CONST1 = 0.180625
_AS241_CONST2 = 1.6
#: Duration distribution codes, shared with the CUDA kernels (engine.cu).
DIST_FIXED, DIST_EXPONENTIAL, DIST_LOGNORMAL = 0, 1, 2


_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


def _horner7(r: NDArray[np.float64], c: tuple[float, ...]) -> NDArray[np.float64]:
    """Evaluate ``c[0] + c[1] r + ... + c[7] r^7`` in Horner order.

    The order is ``(((((((c7*r + c6)*r + c5)*r + c4)*r + c3)*r + c2)*r + c1)*r + c0)``,
    exactly as in AS 241 (one multiply then one add per step, no FMA).
    """
    acc = c[7] * r
    for coef in c[6:0:-1]:
        acc = (acc + coef) * r
    return acc + c[0]


def normal_ppf(p: ArrayLike) -> NDArray[np.float64]:
    """Standard normal quantile function (Wichura's AS 241, PPND16).

    Parameters
    ----------
    p : array_like of float
        Probabilities in the open interval (0, 1), any shape.

    Returns
    -------
    numpy.ndarray of float64
        ``Phi^{-1}(p)``, same shape as ``p``; relative accuracy about 1e-16.

    Raises
    ------
    ValueError
        If any ``p`` is not in (0, 1).

    Notes
    -----
    With ``q = p - 0.5``::

        if |q| <= 0.425:                       # central region
            r = 0.180625 - (q * q)
            z = (q * A(r)) / B(r)
        else:                                  # tails
            r = p if q < 0 else (1.0 - p)      # exact for p on the uniform grid
            r = sqrt(-log(r))                  # detmath.log, IEEE sqrt
            if r <= 5.0: r = r - 1.6; z = C(r) / D(r)
            else:        r = r - 5.0; z = E(r) / F(r)
            if q < 0: z = -z

    ``A..F`` are degree-7 polynomials evaluated by :func:`_horner7`.
    """
    pa = np.asarray(p, dtype=np.float64)
    if not ((pa > 0.0) & (pa < 1.0)).all():
        raise ValueError("normal_ppf requires 0 < p < 1")
    q = pa - 0.5
    central = np.abs(q) <= _AS241_SPLIT1
    z = np.empty_like(pa)
    # central region
    qc = q[central]
    rc = _AS241_CONST1 - (qc * qc)
    z[central] = (qc * _horner7(rc, _A)) / _horner7(rc, _B)
    # tails
    tail = ~central
    qt = q[tail]
    pt = pa[tail]
    rt = np.where(qt < 0.0, pt, 1.0 - pt)
    rt = np.sqrt(-detmath.log(rt))
    near = rt <= _AS241_SPLIT2
    rn = rt - _AS241_CONST2
    rf = rt - _AS241_SPLIT2
    zt = np.where(near, _horner7(rn, _C) / _horner7(rn, _D), _horner7(rf, _E) / _horner7(rf, _F))
    z[tail] = np.where(qt < 0.0, -zt, zt)
    return z


def normal(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    loc: ArrayLike = 0.0,
    scale: ArrayLike = 1.0,
    *,
    sub: ArrayLike = 0,
    word: int = 0,
) -> NDArray[np.float64]:
    """Normal variates by inversion of one uniform.

    Parameters
    ----------
    seed, replica, stream, step, index : array_like of int
        Key arguments (see :func:`simgpu.rng.philox.bits`).
    loc : array_like of float, optional
        Mean, finite (default 0).
    scale : array_like of float, optional
        Standard deviation, finite and ``>= 0`` (default 1).
    sub : array_like of int, optional
        Sub-draw of the uniform, keyword-only.
    word : {0, 1}, optional
        Word pair of the uniform, keyword-only.

    Returns
    -------
    numpy.ndarray of float64
        Broadcast shape of keys and parameters.

    Notes
    -----
    ``x = loc + (scale * z)`` with ``z = normal_ppf(u)`` (AS 241).  The
    uniform grid ``(j + 0.5) / 2**52`` bounds ``|z| <= 8.29``.  When
    ``loc == 0`` and ``scale == 1`` the result is ``z`` itself.
    """
    loc_ = _param("loc", loc)
    scale_ = _param("scale", scale, nonneg=True)
    z = normal_ppf(uniform(seed, replica, stream, step, index, sub, word))
    return loc_ + (scale_ * z)


def lognormal(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    mu: ArrayLike,
    sigma: ArrayLike,
    *,
    sub: ArrayLike = 0,
    word: int = 0,
) -> NDArray[np.float64]:
    """Log-normal variates, ``exp(mu + sigma * Z)``.

    Parameters
    ----------
    seed, replica, stream, step, index : array_like of int
        Key arguments (see :func:`simgpu.rng.philox.bits`).
    mu : array_like of float
        Mean of ``log(X)``, finite.
    sigma : array_like of float
        Standard deviation of ``log(X)``, finite and ``>= 0``.
    sub : array_like of int, optional
        Sub-draw of the uniform, keyword-only.
    word : {0, 1}, optional
        Word pair of the uniform, keyword-only.

    Returns
    -------
    numpy.ndarray of float64
        Broadcast shape of keys and parameters; values ``> 0`` (``inf`` or
        ``0`` only on overflow / underflow of ``exp``).

    Notes
    -----
    ``x = exp(mu + (sigma * z))`` with ``z = normal_ppf(u)`` and
    ``detmath.exp``.
    """
    mu_ = _param("mu", mu)
    sigma_ = _param("sigma", sigma, nonneg=True)
    return lognormal_from_uniform(uniform(seed, replica, stream, step, index, sub, word), mu_,
                                  sigma_)


def weibull(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    scale: ArrayLike,
    shape: ArrayLike,
    *,
    sub: ArrayLike = 0,
    word: int = 0,
) -> NDArray[np.float64]:
    """Weibull variates with scale ``lambda`` and shape ``k``.

    Parameters
    ----------
    seed, replica, stream, step, index : array_like of int
        Key arguments (see :func:`simgpu.rng.philox.bits`).
    scale : array_like of float
        Scale ``lambda``, finite and ``>= 0``.
    shape : array_like of float
        Shape ``k``, finite and ``> 0``.
    sub : array_like of int, optional
        Sub-draw of the uniform, keyword-only.
    word : {0, 1}, optional
        Word pair of the uniform, keyword-only.

    Returns
    -------
    numpy.ndarray of float64
        Broadcast shape of keys and parameters; values ``>= 0``.

    Notes
    -----
    Inversion of ``F(x) = 1 - exp(-(x / lambda)^k)``::

        x = scale * exp(log(-log(u)) / shape)   # detmath.log / detmath.exp

    ``-log(u) >= 1.1e-16 > 0`` on the uniform grid, so the outer ``log`` is
    finite.  Very small ``shape`` may overflow to ``inf`` (no warning).
    """
    scale_ = _param("scale", scale, nonneg=True)
    shape_ = _param("shape", shape, positive=True)
    u = uniform(seed, replica, stream, step, index, sub, word)
    e = -detmath.log(u)
    return scale_ * detmath.exp(detmath.log(e) / shape_)


# ---------------------------------------------------------------------------
# Poisson
# ---------------------------------------------------------------------------
POISSON_PTRS_MIN_LAM = 10.0
"""``lam`` at and above which PTRS is used; below it, sequential inversion."""
POISSON_INV_KMAX = 50
"""Cap of the inversion loop (``k <= 10 + 40``); P(X > 50 | lam < 10) < 1e-18."""
POISSON_MAX_ATTEMPTS = 1000
"""PTRS attempts (sub-streams 0..999) before a RuntimeError; never reached."""
POISSON_LAM_MAX = 2.0**52
"""Largest accepted ``lam``: keeps every candidate integer exact in float64."""

# log(k!) for k = 0..9, correctly rounded.
_LOGFACT = np.array(
    [
        0.0,
        0.0,
        0.6931471805599453,
        1.791759469228055,
        3.1780538303479458,
        4.787491742782046,
        6.579251212010101,
        8.525161361065415,
        10.60460290274525,
        12.801827480081469,
    ]
)
_HALF_LOG_2PI = 0.9189385332046728  # 0.5 * log(2 pi), correctly rounded
# Stirling series coefficients B_2j / (2j (2j - 1)), j = 1..7, correctly rounded.
_S1 = 0.08333333333333333  # 1/12
_S2 = -0.002777777777777778  # -1/360
_S3 = 0.0007936507936507937  # 1/1260
_S4 = -0.0005952380952380953  # -1/1680
_S5 = 0.0008417508417508417  # 1/1188
_S6 = -0.0019175269175269176  # -691/360360
_S7 = 0.00641025641025641  # 1/156


def _log_factorial(k: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(k!)`` for integer-valued float64 ``k >= 0``.

    Parameters
    ----------
    k : numpy.ndarray of float64
        Non-negative integers stored as float64, any shape.

    Returns
    -------
    numpy.ndarray of float64
        Same shape.  Table lookup for ``k < 10``; otherwise the Stirling
        series (absolute error < 1e-16 for ``k >= 10``)::

            rk = 1.0 / k ; r2 = rk * rk
            s  = rk * (S1 + (r2 * (S2 + (r2 * (S3 + (r2 * (S4 + (r2 * (S5
                 + (r2 * (S6 + (r2 * S7)))))))))))
            log(k!) = ((((k + 0.5) * log(k)) - k) + HALF_LOG_2PI) + s
    """
    small = k < 10.0
    kk = np.where(small, 10.0, k)
    rk = 1.0 / kk
    r2 = rk * rk
    s = rk * (
        _S1 + (r2 * (_S2 + (r2 * (_S3 + (r2 * (_S4 + (r2 * (_S5 + (r2 * (_S6 + (r2 * _S7)))))))))))
    )
    big = ((((kk + 0.5) * detmath.log(kk)) - kk) + _HALF_LOG_2PI) + s
    idx = np.where(small, k, 0.0).astype(np.intp)
    return np.where(small, _LOGFACT[idx], big)


def _poisson_inversion(u: NDArray[np.float64], lam: NDArray[np.float64]) -> NDArray[np.int64]:
    """Sequential-search inversion for ``0 <= lam < 10`` (one uniform).

    Parameters
    ----------
    u : numpy.ndarray of float64
        Uniforms in (0, 1), 1-D.
    lam : numpy.ndarray of float64
        Means, same shape as ``u``.

    Returns
    -------
    numpy.ndarray of int64
        Same shape.  Scalar equivalent::

            p = exp(-lam); cdf = p; k = 0
            while (u > cdf) and (k < 50):
                k = k + 1
                p = p * (lam / k)
                cdf = cdf + p
    """
    # The loop stops at the first k with u <= cdf_k, i.e. k = #{k < KMAX : u > cdf_k}.
    if u.size == 0:
        return np.zeros(u.shape, dtype=np.int64)
    cdf = poisson_inversion_cdf(lam)
    return (u[..., None] > cdf).sum(axis=-1).astype(np.int64)


def poisson_inversion_cdf(lam: ArrayLike) -> NDArray[np.float64]:
    """The cumulative probabilities ``cdf_0 ... cdf_{KMAX-1}`` that :func:`_poisson_inversion`
    compares its uniform with, for means ``0 <= lam < POISSON_PTRS_MIN_LAM``.

    Returns an array of shape ``lam.shape + (POISSON_INV_KMAX,)``. The count of a uniform
    ``u`` is ``(u > cdf).sum(-1)``, so a caller that meets the same mean many times may
    keep its row. The same sequential products and sums as the scalar loop, evaluated for
    every k at once: cumprod and cumsum accumulate left to right, so ``p_k`` and ``cdf_k``
    are bit-identical to it (and a row does not depend on the other means in the call).
    """
    lam = np.asarray(lam, dtype=np.float64)
    factors = np.empty(lam.shape + (POISSON_INV_KMAX + 1,))
    factors[..., 0] = detmath.exp(-lam)
    factors[..., 1:] = lam[..., None] / np.arange(1, POISSON_INV_KMAX + 1, dtype=np.float64)
    cdf = np.cumsum(np.cumprod(factors, axis=-1), axis=-1)
    return cdf[..., :POISSON_INV_KMAX]


def _poisson_ptrs(
    keys: tuple[NDArray[np.uint64], ...],
    lam: NDArray[np.float64],
    u0: NDArray[np.float64],
    v0: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Hörmann's PTRS transformed rejection for ``lam >= 10``.

    Parameters
    ----------
    keys : tuple of 6 numpy.ndarray of uint64
        Philox words ``(c0, c1, c2, c3, k0, k1)`` of these elements with
        ``sub = 0``; each 0-d or 1-D of the same length as ``lam``.
    lam : numpy.ndarray of float64
        Means ``>= 10``, 1-D.
    u0, v0 : numpy.ndarray of float64
        Words 0 and 1 of ``sub = 0`` (the first attempt), same shape.

    Returns
    -------
    numpy.ndarray of int64
        Same shape as ``lam``.

    Notes
    -----
    Hörmann (1993), "The transformed rejection method for generating Poisson
    random variables", Insurance: Mathematics and Economics 12, 39-45.
    Setup and attempt ``a`` (uniforms ``U, V`` from ``sub = a``, words 0, 1)::

        slam = sqrt(lam); loglam = log(lam)
        b = 0.931 + (2.53 * slam)
        a = -0.059 + (0.02483 * b)
        invalpha = 1.1239 + (1.1328 / (b - 3.4))
        vr = 0.9277 - (3.6224 / (b - 2.0))

        U = u - 0.5 ; V = v ; us = 0.5 - |U|
        k = floor((((((2.0 * a) / us) + b) * U) + lam) + 0.43)
        if (us >= 0.07) and (V <= vr):              accept k
        elif (k < 0) or ((us < 0.013) and (V > us)): reject
        elif ((log(V) + log(invalpha)) - log((a / (us * us)) + b))
                <= ((-lam + (k * loglam)) - log_factorial(k)):  accept k
        else: reject
    """
    n = lam.shape[0]
    slam = np.sqrt(lam)
    b = 0.931 + (2.53 * slam)
    a = -0.059 + (0.02483 * b)
    vr = 0.9277 - (3.6224 / (b - 2.0))
    # log(lam) and log(invalpha) are only needed on the (rare) slow path and
    # are evaluated there, element by element, with the same formulas.

    out = np.zeros(n, dtype=np.int64)
    pend = np.arange(n)
    u, v = u0, v0
    c0, c1, c2, c3, k0, k1 = keys

    def sel(arr: NDArray, idx: NDArray) -> NDArray:
        return arr if arr.ndim == 0 else arr[idx]

    for attempt in range(POISSON_MAX_ATTEMPTS):
        if attempt:
            r0, r1, r2, r3 = _philox_u64(
                sel(c0, pend),
                sel(c1, pend),
                sel(c2, pend) | (np.uint64(attempt) << np.uint64(16)),
                sel(c3, pend),
                sel(k0, pend),
                sel(k1, pend),
            )
            r0, r1, r2, r3 = (np.broadcast_to(r, pend.shape) for r in (r0, r1, r2, r3))
            u = _u01(r0, r1)
            v = _u01(r2, r3)
        lam_p = lam[pend]
        a_p = a[pend]
        b_p = b[pend]
        uu = u - 0.5
        us = 0.5 - np.abs(uu)
        k = np.floor((((((2.0 * a_p) / us) + b_p) * uu) + lam_p) + 0.43)
        fast = (us >= 0.07) & (v <= vr[pend])
        rej = (k < 0.0) | ((us < 0.013) & (v > us))
        slow = np.flatnonzero(~fast & ~rej)
        acc = fast
        if slow.size:
            ps = pend[slow]
            uss = us[slow]
            ks = k[slow]
            lam_s = lam[ps]
            b_s = b[ps]
            invalpha = 1.1239 + (1.1328 / (b_s - 3.4))
            lhs = (detmath.log(v[slow]) + detmath.log(invalpha)) - detmath.log(
                (a[ps] / (uss * uss)) + b_s
            )
            rhs = (-lam_s + (ks * detmath.log(lam_s))) - _log_factorial(ks)
            acc = acc.copy()
            acc[slow] = lhs <= rhs
        out[pend[acc]] = k[acc].astype(np.int64)
        keep = ~acc
        pend = pend[keep]
        if not pend.size:
            return out
    raise RuntimeError(
        f"poisson: PTRS did not accept within {POISSON_MAX_ATTEMPTS} attempts "
        f"for {pend.size} element(s); this indicates a bug"
    )


def poisson_small_from_uniform(u: ArrayLike, lam: ArrayLike) -> NDArray[np.int64]:
    """The ``lam < POISSON_PTRS_MIN_LAM`` branch of :func:`poisson` from a uniform already
    drawn as ``uniform(..., sub=0, word=0)`` of the same cell: bit-identical to
    :func:`poisson` there, so callers may draw uniforms for many steps at once.

    ``lam`` must be finite and in ``[0, POISSON_PTRS_MIN_LAM)``; ``lam == 0`` gives 0.
    """
    u_ = np.asarray(u, dtype=np.float64)
    lam_ = np.asarray(lam, dtype=np.float64)
    if not ((lam_ >= 0.0) & (lam_ < POISSON_PTRS_MIN_LAM)).all():
        raise ValueError(f"lam must lie in [0, {POISSON_PTRS_MIN_LAM:g})")
    shape = np.broadcast_shapes(u_.shape, lam_.shape)
    u_b = np.broadcast_to(u_, shape).reshape(-1)
    lam_b = np.broadcast_to(lam_, shape).reshape(-1)
    out = np.zeros(u_b.shape, np.int64)
    # the count is 0 where u <= cdf_0 = exp(-lam) (the cdf never decreases): the inversion
    # is needed only for the others, which are few when lam is small
    draw = np.flatnonzero(lam_b > 0.0)
    draw = draw[u_b[draw] > detmath.exp(-lam_b[draw])]
    out[draw] = _poisson_inversion(u_b[draw], lam_b[draw])
    return out.reshape(shape)


def poisson(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    lam: ArrayLike,
) -> NDArray[np.int64]:
    """Poisson variates with mean ``lam``.

    Parameters
    ----------
    seed, replica, stream, step, index : array_like of int
        Key arguments (see :func:`simgpu.rng.philox.bits`).  The sampler
        owns every ``sub`` of each (stream, step, index) cell it is used on.
    lam : array_like of float
        Means, finite, ``0 <= lam <= POISSON_LAM_MAX`` (2**52).

    Returns
    -------
    numpy.ndarray of int64
        Broadcast shape of keys and ``lam``.

    Raises
    ------
    ValueError
        If ``lam`` is negative, non-finite or above ``POISSON_LAM_MAX``, or a
        key argument is out of range.
    RuntimeError
        If PTRS fails to accept within ``POISSON_MAX_ATTEMPTS`` attempts
        (probability far below 1e-1000; indicates a bug).

    Notes
    -----
    * ``lam == 0``: returns 0 (no draw is needed).
    * ``0 < lam < 10``: sequential inversion with one uniform,
      ``uniform(..., sub=0, word=0)``; see :func:`_poisson_inversion`.
    * ``lam >= 10``: Hörmann's PTRS; attempt ``a = 0, 1, ...`` uses
      ``U = uniform(..., sub=a, word=0)`` and ``V = uniform(..., sub=a,
      word=1)``; see :func:`_poisson_ptrs`.  Acceptance rate per attempt is
      above 0.88, so a handful of attempts suffice.
    """
    lam_ = np.asarray(lam, dtype=np.float64)
    if not np.isfinite(lam_).all():
        raise ValueError("lam must be finite")
    if not (lam_ >= 0.0).all():
        raise ValueError("lam must be >= 0")
    if not (lam_ <= POISSON_LAM_MAX).all():
        raise ValueError(f"lam must be <= {POISSON_LAM_MAX:g}")
    words = _layout(seed, replica, stream, step, index, 0)
    shape = np.broadcast_shapes(lam_.shape, *(w.shape for w in words))
    n = int(np.prod(shape, dtype=np.int64))
    lam_f = np.broadcast_to(lam_, shape).reshape(-1)
    flat = tuple(
        w.reshape(()) if w.size == 1 else np.broadcast_to(w, shape).reshape(-1) for w in words
    )
    out = np.zeros(n, dtype=np.int64)

    def sel(arr: NDArray, idx: NDArray) -> NDArray:
        return arr if arr.ndim == 0 else arr[idx]

    draw = np.flatnonzero(lam_f > 0.0)
    if draw.size:
        sub_keys = tuple(sel(w, draw) for w in flat)
        r0, r1, r2, r3 = _philox_u64(*sub_keys)
        r0, r1, r2, r3 = (np.broadcast_to(r, draw.shape) for r in (r0, r1, r2, r3))
        lam_d = lam_f[draw]
        small = lam_d < POISSON_PTRS_MIN_LAM
        if small.any():
            out[draw[small]] = _poisson_inversion(_u01(r0[small], r1[small]), lam_d[small])
        large = ~small
        if large.any():
            big_keys = tuple(sel(w, large) for w in sub_keys)
            out[draw[large]] = _poisson_ptrs(
                big_keys,
                lam_d[large],
                _u01(r0[large], r1[large]),
                _u01(r2[large], r3[large]),
            )
    return out.reshape(shape)


def draw_duration(kind: np.ndarray, p1: np.ndarray, p2: np.ndarray, cap: np.ndarray,
                  u: np.ndarray) -> np.ndarray:
    """Duration in hours from one uniform ``u`` for distribution codes ``kind``.

    fixed: ``p1``; exponential: ``-p1 log u``; lognormal: ``exp(p1 + p2 Phi^-1(u))``;
    every draw capped at ``cap``. All arguments broadcast; float64; element by element (a
    draw does not depend on the others in the call).
    """
    kind = np.asarray(kind)
    d = np.broadcast_to(np.asarray(p1, np.float64), np.broadcast(kind, u).shape)
    if (kind == DIST_EXPONENTIAL).any():
        d = np.where(kind == DIST_EXPONENTIAL, exponential_from_uniform(u, p1), d)
    if (kind == DIST_LOGNORMAL).any():
        d = np.where(kind == DIST_LOGNORMAL, lognormal_from_uniform(u, p1, p2), d)
    return np.minimum(d, cap)
