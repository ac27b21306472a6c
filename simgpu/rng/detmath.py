"""Deterministic, portable ``log`` and ``exp`` for float64.

``np.log`` / ``np.exp`` (and CUDA's ``log`` / ``exp``) are not guaranteed to
return the same bits on every platform, library version or SIMD path.  The
random variates of simgpu must be reproduced bit for bit by the CUDA twin, so
these two functions are built *only* from operations whose IEEE-754 result is
fully specified:

* ``+``, ``-``, ``*``, ``/`` (round-to-nearest-even), comparisons;
* selection (``np.where`` here, ``?:`` in CUDA);
* exact bit-level operations: ``frexp`` (``np.frexp`` / CUDA ``frexp``),
  ``ldexp`` (``np.ldexp`` / CUDA ``ldexp``; exact unless the result is
  subnormal, then correctly rounded once) and ``trunc``.

The algorithms and coefficients are those of fdlibm 5.3 (Sun Microsystems,
``e_log.c`` and ``e_exp.c``), with the inessential fast paths dropped, so the
accuracy is fdlibm's (< 1 ulp).

**Porting contract.**  A CUDA twin must mirror every expression below *line
by line*, keeping the explicit parenthesisation (the evaluation order), the
same constants (given with their IEEE bit patterns) and compiling with
``-fmad=false`` (no fused multiply-add contraction; alternatively use
``__dmul_rn`` / ``__dadd_rn`` intrinsics).  No other floating-point
operation may be introduced or reassociated.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["exp", "log"]

# --- shared constants (fdlibm) -------------------------------------------
LN2_HI = 6.93147180369123816490e-01  # 0x3FE62E42_FEE00000 (21 trailing zero bits)
LN2_LO = 1.90821492927058770002e-10  # 0x3DEA39EF_35793C76
# --- log: fdlibm e_log.c ----------------------------------------------------
LG1 = 6.666666666666735130e-01  # 0x3FE55555_55555593
LG2 = 3.999999999940941908e-01  # 0x3FD99999_9997FA04
LG3 = 2.857142874366239149e-01  # 0x3FD24924_94229359
LG4 = 2.222219843214978396e-01  # 0x3FCC71C5_1D8E78AF
LG5 = 1.818357216161805012e-01  # 0x3FC74664_96CB03DE
LG6 = 1.531383769920937332e-01  # 0x3FC39A09_D078C69F
LG7 = 1.479819860511658591e-01  # 0x3FC2F112_DF3E5244
SQRT_HALF = 7.07106781186547524401e-01  # 0x3FE6A09E_667F3BCD, rounded sqrt(1/2)
# Mantissa window (of frexp's m in [0.5, 1)) in which fdlibm uses the
# "hfsq" form; it corresponds to fdlibm's 0x6147a < hx < 0x6b851 test.
LOG_HFSQ_LO = 0.69
LOG_HFSQ_HI = 0.71
# --- exp: fdlibm e_exp.c ----------------------------------------------------
EXP_O_THRESHOLD = 7.09782712893383973096e02  # 0x40862E42_FEFA39EF
EXP_U_THRESHOLD = -7.45133219101941108420e02  # 0xC0874910_D52D3051
INV_LN2 = 1.44269504088896338700e00  # 0x3FF71547_652B82FE
P1 = 1.66666666666666019037e-01  # 0x3FC55555_5555553E
P2 = -2.77777777770155933842e-03  # 0xBF66C16C_16BEBD93
P3 = 6.61375632143793436117e-05  # 0x3F11566A_AF25DE2C
P4 = -1.65339022054652515390e-06  # 0xBEBBBD41_C5D26BF1
P5 = 4.13813679705723846039e-08  # 0x3E663769_72BEA4D0


def log(x: ArrayLike) -> NDArray[np.float64]:
    """Natural logarithm, bit-reproducible (fdlibm ``e_log.c`` algorithm).

    Parameters
    ----------
    x : array_like of float
        Input, any shape; converted to float64.

    Returns
    -------
    numpy.ndarray of float64
        ``log(x)`` with the shape of ``x`` (a 0-d array for scalar input); error
        below 1 ulp.  ``log(0) = -inf``, ``log(inf) = inf``, ``log(x < 0)``
        and ``log(nan)`` are ``nan``.  No floating-point warnings are issued.

    Notes
    -----
    For finite ``x > 0`` (subnormals included)::

        m, e  = frexp(x)                       # x = m * 2**e, m in [0.5, 1)
        hfsq_form = (m >= 0.69) and (m <= 0.71)
        if m < SQRT_HALF: m = m + m; k = e - 1 # now m in [sqrt(1/2), sqrt(2))
        else:             k = e
        f  = m - 1.0                           # exact (Sterbenz)
        s  = f / (2.0 + f)
        dk = (double) k
        z  = s * s
        w  = z * z
        t1 = w * (LG2 + (w * (LG4 + (w * LG6))))
        t2 = z * (LG1 + (w * (LG3 + (w * (LG5 + (w * LG7))))))
        R  = t2 + t1
        if hfsq_form:
            hfsq = (0.5 * f) * f
            y = (dk * LN2_HI) - ((hfsq - ((s * (hfsq + R)) + (dk * LN2_LO))) - f)
        else:
            y = (dk * LN2_HI) - (((s * (f - R)) - (dk * LN2_LO)) - f)

    ``log(x) = k ln 2 + log(1 + f)`` with
    ``log(1 + f) = 2 atanh(s) = f - s (f - R)`` and ``R ~ 2 s^2/3 + 2 s^4/5 + ...``
    (Remez-fitted ``LG1..LG7``).  ``dk * LN2_HI`` is exact because ``LN2_HI``
    has 21 trailing zero bits and ``|k| <= 1074``.
    """
    xa = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        ok = (xa > 0.0) & (xa < np.inf)
        xs = np.where(ok, xa, 1.0)
        m, e = np.frexp(xs)
        hfsq_form = (m >= LOG_HFSQ_LO) & (m <= LOG_HFSQ_HI)
        low = m < SQRT_HALF
        m = np.where(low, m + m, m)
        k = e - low.astype(e.dtype)
        f = m - 1.0
        s = f / (2.0 + f)
        dk = k.astype(np.float64)
        z = s * s
        w = z * z
        t1 = w * (LG2 + (w * (LG4 + (w * LG6))))
        t2 = z * (LG1 + (w * (LG3 + (w * (LG5 + (w * LG7))))))
        r = t2 + t1
        hfsq = (0.5 * f) * f
        y_hfsq = (dk * LN2_HI) - ((hfsq - ((s * (hfsq + r)) + (dk * LN2_LO))) - f)
        y_plain = (dk * LN2_HI) - (((s * (f - r)) - (dk * LN2_LO)) - f)
        y = np.where(hfsq_form, y_hfsq, y_plain)
        if not ok.all():
            y = np.where(ok, y, np.nan)
            y = np.where(xa == 0.0, -np.inf, y)
            y = np.where(xa == np.inf, np.inf, y)
    return np.asarray(y, dtype=np.float64)


def exp(x: ArrayLike) -> NDArray[np.float64]:
    """Exponential, bit-reproducible (fdlibm ``e_exp.c`` algorithm).

    Parameters
    ----------
    x : array_like of float
        Input, any shape; converted to float64.

    Returns
    -------
    numpy.ndarray of float64
        ``exp(x)`` with the shape of ``x`` (a 0-d array for scalar input); error
        below 1 ulp for normal results.  ``x > 709.782712893384`` gives
        ``inf``, ``x < -745.1332191019411`` gives ``0.0``, results in
        between that are below ``2**-1022`` are subnormal (rounded once);
        ``nan`` propagates.  No floating-point warnings are issued.

    Notes
    -----
    For ``EXP_U_THRESHOLD <= x <= EXP_O_THRESHOLD``::

        kf = trunc((INV_LN2 * x) + (x < 0 ? -0.5 : 0.5))   # round(x / ln2)
        hi = x - (kf * LN2_HI)                             # exact
        lo = kf * LN2_LO
        r  = hi - lo                                       # |r| <= ln2 / 2
        t  = r * r
        c  = r - (t * (P1 + (t * (P2 + (t * (P3 + (t * (P4 + (t * P5)))))))))
        y  = 1.0 - ((lo - ((r * c) / (2.0 - c))) - hi)     # exp(r)
        result = ldexp(y, (int) kf)

    ``exp(r) = 1 + 2r / (R(r^2) - r)`` with the Remez polynomial ``P1..P5``.
    """
    xa = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        over = xa > EXP_O_THRESHOLD
        under = xa < EXP_U_THRESHOLD
        bad = over | under | np.isnan(xa)
        xs = np.where(bad, 0.0, xa)
        kf = np.trunc((INV_LN2 * xs) + np.where(xs < 0.0, -0.5, 0.5))
        hi = xs - (kf * LN2_HI)
        lo = kf * LN2_LO
        r = hi - lo
        t = r * r
        c = r - (t * (P1 + (t * (P2 + (t * (P3 + (t * (P4 + (t * P5)))))))))
        y = 1.0 - ((lo - ((r * c) / (2.0 - c))) - hi)
        y = np.ldexp(y, kf.astype(np.int32))
        if bad.any():
            y = np.where(over, np.inf, y)
            y = np.where(under, 0.0, y)
            y = np.where(np.isnan(xa), np.nan, y)
    return np.asarray(y, dtype=np.float64)
