"""Philox4x32-10 counter-based generator and the simgpu key/counter layout.

Every random number in simgpu is a pure function of *where* it is used, never
of how many numbers were drawn before it.  The NumPy engine and the CUDA/CuPy
twin both evaluate the same function below, so they agree bit for bit
regardless of how the work is split across threads, chunks or devices.

Generator
---------
Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
as 1, 2, 3", SC11, 2011; the Random123 library).  A 128-bit counter
``(c0, c1, c2, c3)`` and a 64-bit key ``(k0, k1)`` are mapped to four 32-bit
words ``(r0, r1, r2, r3)`` by ten rounds of::

    (hi0, lo0) = 0xD2511F53 * c0          # full 64-bit product
    (hi1, lo1) = 0xCD9E8D57 * c2
    (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)

with the key bumped *between* rounds (before rounds 2..10) by the Weyl
constants: ``k0 += 0x9E3779B9``, ``k1 += 0xBB67AE85`` (mod 2**32).

Key / counter layout (normative; the CUDA twin follows it exactly)
------------------------------------------------------------------
``bits(seed, replica, stream, step, index, sub)`` evaluates Philox4x32-10 at

======  ==========================================  =====================
word    value                                       range
======  ==========================================  =====================
``k0``  ``seed & 0xFFFFFFFF``                       seed in [0, 2**64)
``k1``  ``(seed >> 32) & 0xFFFFFFFF``
``c0``  ``index``                                   [0, 2**32)
``c1``  ``step``                                    [0, 2**32)
``c2``  ``(stream & 0xFFFF) | ((sub & 0xFFFF) << 16)``  stream, sub in [0, 65535]
``c3``  ``replica``                                 [0, 2**32)
======  ==========================================  =====================

* ``seed``    -- the experiment seed (one per run / configuration).
* ``replica`` -- the Monte-Carlo replica (independent simulated world).
* ``stream``  -- what the number is *for* (failure times, job sizes, ...).
  Each consumer owns one stream id; two consumers must never share one.
* ``step``    -- the simulation step / event epoch.
* ``index``   -- the entity (GPU, node, job, ...) within the step.
* ``sub``     -- the draw number within one (stream, step, index) cell, for
  consumers needing more than one Philox block (e.g. rejection sampling; the
  Poisson sampler owns all ``sub`` values of its cell).

Out-of-range arguments raise ``ValueError``; they are never wrapped silently,
because wrapping would alias two different draws onto the same counter.

Uniform doubles
---------------
``uniform(..., word)`` turns two 32-bit words ``(a, b)`` -- ``(r0, r1)`` for
``word=0``, ``(r2, r3)`` for ``word=1`` -- into a double in the *open* interval
(0, 1) on the 2**52-point mid-point grid (Random123's ``u01fixedpt`` open-open
convention for 52 bits)::

    u = ((a >> 6) * 67108864.0 + (b >> 6) + 0.5) * 2**-52

evaluated in float64 in exactly this order.  Every intermediate is an integer
or half-integer below 2**53, hence exact: the result is ``(j + 0.5) / 2**52``
with ``j`` the 52-bit integer ``((a >> 6) << 26) | (b >> 6)``, so
``2**-53 <= u <= 1 - 2**-53`` and ``1 - u`` lies on the same grid.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "PHILOX_M0",
    "PHILOX_M1",
    "PHILOX_W0",
    "PHILOX_W1",
    "bits",
    "philox4x32_10",
    "uniform",
    "uniform_from_words",
    "uniform_pair",
]

PHILOX_M0 = 0xD2511F53
"""Philox4x32 round multiplier applied to counter word 0."""
PHILOX_M1 = 0xCD9E8D57
"""Philox4x32 round multiplier applied to counter word 2."""
PHILOX_W0 = 0x9E3779B9
"""Weyl increment of key word 0 (golden ratio)."""
PHILOX_W1 = 0xBB67AE85
"""Weyl increment of key word 1 (sqrt(3) - 1)."""
PHILOX_ROUNDS = 10

_U32_MAX = 0xFFFFFFFF
_U16_MAX = 0xFFFF
_U64_LIMIT = 1 << 64

_MASK32 = np.uint64(_U32_MAX)
_M0 = np.uint64(PHILOX_M0)
_M1 = np.uint64(PHILOX_M1)
_SHIFT32 = np.uint64(32)
_SHIFT16 = np.uint64(16)
_SHIFT6 = np.uint64(6)

_TWO26 = 67108864.0  # 2**26
_TWO_M52 = 2.0**-52

# Elements processed per Philox pass; keeps the working set in cache.
_CHUNK = 1 << 15


# ---------------------------------------------------------------------------
# argument conversion / validation
# ---------------------------------------------------------------------------
def _as_uint64(name: str, value: ArrayLike, upper: int) -> NDArray[np.uint64]:
    """Validate integers in ``[0, upper]`` and return them as a uint64 array.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    value : array_like of int
        Python ints, NumPy integer (or bool) scalars or arrays, any shape.
    upper : int
        Largest allowed value (inclusive), at most ``2**64 - 1``.

    Returns
    -------
    numpy.ndarray of uint64
        Same shape as ``value``.  Not necessarily a copy.

    Raises
    ------
    ValueError
        If any value is negative or above ``upper``.
    TypeError
        If ``value`` is not integral.
    """
    arr = np.asarray(value)
    kind = arr.dtype.kind
    if kind == "O":
        # Python ints too large for int64/uint64 (or mixed-sign lists).
        flat = arr.ravel().tolist()
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in flat):
            raise TypeError(f"{name} must be integer-valued, got dtype object")
        if any(int(v) < 0 or int(v) > upper for v in flat):
            raise ValueError(f"{name} must lie in [0, {upper}]")
        return np.array([int(v) for v in flat], dtype=np.uint64).reshape(arr.shape)
    if kind not in "uib":
        raise TypeError(f"{name} must be integer-valued, got dtype {arr.dtype}")
    if kind == "u" and (arr.dtype.itemsize < 8 and (1 << (8 * arr.dtype.itemsize)) - 1 <= upper):
        return arr.astype(np.uint64, copy=False)
    if arr.size:
        lo = int(arr.min())
        hi = int(arr.max())
        if lo < 0 or hi > upper:
            raise ValueError(f"{name} must lie in [0, {upper}], got values in [{lo}, {hi}]")
    return arr.astype(np.uint64, copy=False)


def _key_words(seed: ArrayLike) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """Split a 64-bit seed into the Philox key ``(k0, k1)``.

    Parameters
    ----------
    seed : int or array_like of int
        Seed(s) in ``[0, 2**64)``.

    Returns
    -------
    k0, k1 : numpy.ndarray of uint64
        Low and high 32-bit halves, shape of ``seed``.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        s = int(seed)
        if not 0 <= s < _U64_LIMIT:
            raise ValueError(f"seed must lie in [0, 2**64), got {s}")
        return np.asarray(np.uint64(s & _U32_MAX)), np.asarray(np.uint64(s >> 32))
    s = _as_uint64("seed", seed, _U64_LIMIT - 1)
    return s & _MASK32, s >> _SHIFT32


def _layout(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    sub: ArrayLike,
) -> tuple[NDArray[np.uint64], ...]:
    """Map the simgpu key arguments to Philox words (see module docstring).

    Returns
    -------
    tuple of numpy.ndarray of uint64
        ``(c0, c1, c2, c3, k0, k1)``, each with the (unbroadcast) shape of its
        source argument; values fit in 32 bits.
    """
    k0, k1 = _key_words(seed)
    c0 = _as_uint64("index", index, _U32_MAX)
    c1 = _as_uint64("step", step, _U32_MAX)
    st = _as_uint64("stream", stream, _U16_MAX)
    sb = _as_uint64("sub", sub, _U16_MAX)
    c2 = st | (sb << _SHIFT16)
    c3 = _as_uint64("replica", replica, _U32_MAX)
    return c0, c1, c2, c3, k0, k1


# ---------------------------------------------------------------------------
# Philox core
# ---------------------------------------------------------------------------
def _rounds_inplace(
    x0: NDArray[np.uint64],
    x1: NDArray[np.uint64],
    x2: NDArray[np.uint64],
    x3: NDArray[np.uint64],
    k0: NDArray[np.uint64],
    k1: NDArray[np.uint64],
) -> None:
    """Apply the ten Philox4x32 rounds in place to 1-D uint64 words.

    ``x0..x3`` are equal-length 1-D uint64 arrays holding 32-bit values;
    ``k0``/``k1`` broadcast against them.  32x32->64 products are formed in
    uint64 and split into high/low halves with shifts and masks.
    """
    p0 = np.empty_like(x0)
    p1 = np.empty_like(x0)
    for rnd in range(PHILOX_ROUNDS):
        if rnd:
            k0 = (k0 + np.uint64(PHILOX_W0)) & _MASK32
            k1 = (k1 + np.uint64(PHILOX_W1)) & _MASK32
        np.multiply(x0, _M0, out=p0)
        np.multiply(x2, _M1, out=p1)
        # x0' = hi(M1*x2) ^ x1 ^ k0 ; x1' = lo(M1*x2)
        np.right_shift(p1, _SHIFT32, out=x0)
        np.bitwise_xor(x0, x1, out=x0)
        np.bitwise_xor(x0, k0, out=x0)
        np.bitwise_and(p1, _MASK32, out=x1)
        # x2' = hi(M0*x0) ^ x3 ^ k1 ; x3' = lo(M0*x0)
        np.right_shift(p0, _SHIFT32, out=x2)
        np.bitwise_xor(x2, x3, out=x2)
        np.bitwise_xor(x2, k1, out=x2)
        np.bitwise_and(p0, _MASK32, out=x3)


def _philox_u64(
    c0: ArrayLike,
    c1: ArrayLike,
    c2: ArrayLike,
    c3: ArrayLike,
    k0: ArrayLike,
    k1: ArrayLike,
) -> tuple[NDArray[np.uint64], ...]:
    """Philox4x32-10 on pre-validated words held in uint64.

    Parameters
    ----------
    c0, c1, c2, c3, k0, k1 : array_like of uint64
        32-bit values (upper halves zero), mutually broadcastable.

    Returns
    -------
    tuple of 4 numpy.ndarray of uint64
        ``(r0, r1, r2, r3)`` with the broadcast shape; values < 2**32.
    """
    args = [np.asarray(a, dtype=np.uint64) for a in (c0, c1, c2, c3, k0, k1)]
    shape = np.broadcast_shapes(*(a.shape for a in args))
    n = int(np.prod(shape, dtype=np.int64))
    outs = [np.empty(n, dtype=np.uint64) for _ in range(4)]
    # Flatten: arrays spanning the full shape become 1-D, others stay small
    # and are broadcast per chunk.
    flat = []
    for a in args:
        if a.size == 1:
            flat.append(a.reshape(()))
        else:
            flat.append(np.broadcast_to(a, shape).reshape(-1))
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        xs = []
        for j in range(4):
            src = flat[j]
            dst = outs[j][start:stop]
            dst[...] = src if src.ndim == 0 else src[start:stop]
            xs.append(dst)
        ka = flat[4] if flat[4].ndim == 0 else flat[4][start:stop]
        kb = flat[5] if flat[5].ndim == 0 else flat[5][start:stop]
        _rounds_inplace(xs[0], xs[1], xs[2], xs[3], ka, kb)
    return tuple(o.reshape(shape) for o in outs)


def philox4x32_10(
    c0: ArrayLike,
    c1: ArrayLike,
    c2: ArrayLike,
    c3: ArrayLike,
    k0: ArrayLike,
    k1: ArrayLike,
) -> tuple[NDArray[np.uint32], NDArray[np.uint32], NDArray[np.uint32], NDArray[np.uint32]]:
    """Vectorised Philox4x32-10 block function.

    Parameters
    ----------
    c0, c1, c2, c3 : array_like of uint32
        The 128-bit counter, word 0 first.  Any mutually broadcastable shapes;
        integer values in ``[0, 2**32)``.
    k0, k1 : array_like of uint32
        The 64-bit key, word 0 first; broadcast with the counter.

    Returns
    -------
    r0, r1, r2, r3 : numpy.ndarray of uint32
        Output words, each with the broadcast shape of all six inputs.

    Raises
    ------
    ValueError
        If any input lies outside ``[0, 2**32)``.

    Notes
    -----
    Ten rounds of ``(hi0, lo0) = M0 * c0``, ``(hi1, lo1) = M1 * c2``,
    ``c <- (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)`` with
    ``M0 = 0xD2511F53``, ``M1 = 0xCD9E8D57``; the key is incremented by
    ``(0x9E3779B9, 0xBB67AE85)`` mod 2**32 before rounds 2..10.  Matches the
    Random123 known-answer vectors (``tests/kat_vectors``).
    """
    words = [
        _as_uint64(name, v, _U32_MAX)
        for name, v in zip(
            ("c0", "c1", "c2", "c3", "k0", "k1"), (c0, c1, c2, c3, k0, k1), strict=True
        )
    ]
    return tuple(r.astype(np.uint32) for r in _philox_u64(*words))  # type: ignore[return-value]


def bits(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    sub: ArrayLike = 0,
) -> tuple[NDArray[np.uint32], NDArray[np.uint32], NDArray[np.uint32], NDArray[np.uint32]]:
    """Four raw 32-bit words for one cell of the simgpu key space.

    Parameters
    ----------
    seed : int or array_like of int
        Experiment seed in ``[0, 2**64)``; becomes the Philox key.
    replica : array_like of int
        Replica id in ``[0, 2**32)`` (counter word 3).
    stream : array_like of int
        Stream id in ``[0, 65535]`` (low half of counter word 2).
    step : array_like of int
        Step in ``[0, 2**32)`` (counter word 1).
    index : array_like of int
        Entity index in ``[0, 2**32)`` (counter word 0).
    sub : array_like of int, optional
        Sub-draw number in ``[0, 65535]`` (high half of counter word 2).

    Returns
    -------
    r0, r1, r2, r3 : numpy.ndarray of uint32
        Philox4x32-10 output, each with the broadcast shape of the arguments
        (0-d when all arguments are scalars).

    Raises
    ------
    ValueError
        If an argument is out of range (e.g. negative seed, ``seed >= 2**64``,
        ``stream`` or ``sub`` outside ``[0, 65535]``).

    See Also
    --------
    uniform : doubles in (0, 1) built from these words.
    """
    words = _layout(seed, replica, stream, step, index, sub)
    return tuple(r.astype(np.uint32) for r in _philox_u64(*words))  # type: ignore[return-value]


def uniform_from_words(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """The uniform of :func:`uniform` from two words already drawn with :func:`bits`."""
    return _u01(np.asarray(a), np.asarray(b))


def _u01(a: NDArray[np.uint64], b: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Map two 32-bit words to a double on the open 52-bit mid-point grid.

    Parameters
    ----------
    a, b : numpy.ndarray of uint64 (or uint32)
        Words holding 32-bit values, same shape.

    Returns
    -------
    numpy.ndarray of float64
        ``((a >> 6) * 2**26 + (b >> 6) + 0.5) * 2**-52``, exact, in
        ``[2**-53, 1 - 2**-53]``.
    """
    hi = (np.asarray(a, dtype=np.uint64) >> _SHIFT6).astype(np.float64)
    lo = (np.asarray(b, dtype=np.uint64) >> _SHIFT6).astype(np.float64)
    u = hi * _TWO26
    u += lo
    u += 0.5
    u *= _TWO_M52
    return u


def uniform(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    sub: ArrayLike = 0,
    word: int = 0,
) -> NDArray[np.float64]:
    """Uniform doubles in the open interval (0, 1).

    Parameters
    ----------
    seed, replica, stream, step, index, sub : array_like of int
        Key arguments, see :func:`bits`; mutually broadcastable.
    word : {0, 1}, optional
        Which half of the Philox block to use: ``(r0, r1)`` for 0,
        ``(r2, r3)`` for 1.  The two words of one block are independent.

    Returns
    -------
    numpy.ndarray of float64
        Broadcast shape of the key arguments.  Values are
        ``u = ((a >> 6) * 67108864.0 + (b >> 6) + 0.5) * 2**-52`` with
        ``(a, b)`` the selected word pair, i.e. ``(j + 0.5) / 2**52`` for a
        uniformly distributed 52-bit integer ``j``; hence
        ``2**-53 <= u <= 1 - 2**-53`` exactly.

    Raises
    ------
    ValueError
        On out-of-range key arguments or ``word`` not in {0, 1}.
    """
    if word not in (0, 1):
        raise ValueError(f"word must be 0 or 1, got {word!r}")
    r0, r1, r2, r3 = _philox_u64(*_layout(seed, replica, stream, step, index, sub))
    return _u01(r0, r1) if word == 0 else _u01(r2, r3)


def uniform_pair(
    seed: ArrayLike,
    replica: ArrayLike,
    stream: ArrayLike,
    step: ArrayLike,
    index: ArrayLike,
    sub: ArrayLike = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both uniforms of one Philox block: ``(uniform(..., word=0), uniform(..., word=1))``.

    One generator evaluation instead of two; same values, same layout.
    """
    r0, r1, r2, r3 = _philox_u64(*_layout(seed, replica, stream, step, index, sub))
    return _u01(r0, r1), _u01(r2, r3)
