"""Tests of the Philox4x32-10 block function, key layout and uniforms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simgpu.rng import bits, philox4x32_10, uniform
from simgpu.rng.philox import _u01

M32 = 0xFFFFFFFF

# Random123 tests/kat_vectors, "philox4x32 10" lines: counter[4] key[2] -> out[4].
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((M32, M32, M32, M32), (M32, M32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def ref_philox(ctr, key):
    """Scalar Python-int Philox4x32-10 written from the paper (independent)."""
    c = list(ctr)
    k0, k1 = key
    for rnd in range(10):
        if rnd:
            k0 = (k0 + 0x9E3779B9) & M32
            k1 = (k1 + 0xBB67AE85) & M32
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
    return tuple(c)


@pytest.mark.parametrize(("ctr", "key", "expected"), KAT)
def test_known_answers(ctr, key, expected):
    got = philox4x32_10(*ctr, *key)
    assert tuple(int(g) for g in got) == expected
    assert all(g.dtype == np.uint32 for g in got)
    # same with explicit uint32 arrays
    got = philox4x32_10(*(np.array([v], dtype=np.uint32) for v in (*ctr, *key)))
    assert tuple(int(g[0]) for g in got) == expected
    assert ref_philox(ctr, key) == expected


def test_kat_detects_wrong_round_count():
    # The KAT is sensitive: a 9-round variant (a plausible bug) disagrees.
    def nine_rounds(ctr, key):
        c = list(ctr)
        k0, k1 = key
        for rnd in range(9):
            if rnd:
                k0 = (k0 + 0x9E3779B9) & M32
                k1 = (k1 + 0xBB67AE85) & M32
            p0 = 0xD2511F53 * c[0]
            p1 = 0xCD9E8D57 * c[2]
            c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
        return tuple(c)

    for ctr, key, expected in KAT:
        assert nine_rounds(ctr, key) != expected


def test_vectorised_matches_elementwise():
    rng = np.random.default_rng(1234)
    n = 300
    words = [rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32) for _ in range(6)]
    batch = philox4x32_10(*words)
    for i in range(0, n, 7):
        single = philox4x32_10(*(int(w[i]) for w in words))
        assert tuple(int(s) for s in single) == tuple(int(b[i]) for b in batch)
        assert ref_philox([int(w[i]) for w in words[:4]], [int(w[i]) for w in words[4:]]) == tuple(
            int(b[i]) for b in batch
        )


def test_vectorised_large_batch_crosses_chunks():
    # More elements than one internal chunk; compare against the scalar reference.
    n = 100_003
    c0 = np.arange(n, dtype=np.uint32)
    out = philox4x32_10(c0, 5, 6, 7, 8, 9)
    for i in (0, 1, 32767, 32768, 65536, n - 1):
        assert tuple(int(o[i]) for o in out) == ref_philox((i, 5, 6, 7), (8, 9))


def test_philox_broadcasting():
    c0 = np.arange(5, dtype=np.uint32).reshape(5, 1)
    k0 = np.array([1, 2, 3], dtype=np.uint32)
    out = philox4x32_10(c0, 0, 0, 0, k0, 0)
    assert all(o.shape == (5, 3) for o in out)
    assert int(out[2][4, 1]) == ref_philox((4, 0, 0, 0), (2, 0))[2]


def test_philox_rejects_out_of_range():
    with pytest.raises(ValueError):
        philox4x32_10(-1, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError):
        philox4x32_10(0, 0, 0, 2**32, 0, 0)
    with pytest.raises(TypeError):
        philox4x32_10(0.5, 0, 0, 0, 0, 0)


# ---------------------------------------------------------------------------
# key / counter layout
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 0x0123456789ABCDEF, 2**64 - 1, np.uint64(2**63 + 5)])
def test_bits_layout(seed):
    replica, stream, step, index, sub = 0xDEADBEEF, 0x1234, 0xCAFEBABE, 0x7FFFFFFF, 0xABCD
    got = bits(seed, replica, stream, step, index, sub)
    s = int(seed)
    expected = ref_philox((index, step, stream | (sub << 16), replica), (s & M32, (s >> 32) & M32))
    assert tuple(int(g) for g in got) == expected


def test_bits_extreme_matches_all_ones_kat():
    got = bits(2**64 - 1, M32, 0xFFFF, M32, M32, 0xFFFF)
    assert tuple(int(g) for g in got) == KAT[1][2]


def test_bits_default_sub_is_zero():
    a = bits(7, 1, 2, 3, 4)
    b = bits(7, 1, 2, 3, 4, 0)
    assert all(int(x) == int(y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"seed": np.array([1, -2])}, "seed"),
        ({"stream": 65536}, "stream"),
        ({"stream": -1}, "stream"),
        ({"sub": 65536}, "sub"),
        ({"sub": np.array([0, 70000])}, "sub"),
        ({"index": 2**32}, "index"),
        ({"index": -1}, "index"),
        ({"step": 2**32}, "step"),
        ({"replica": -5}, "replica"),
    ],
)
def test_bits_validation(kwargs, match):
    args = {"seed": 1, "replica": 0, "stream": 0, "step": 0, "index": 0, "sub": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bits(**args)


def test_bits_rejects_float_keys():
    with pytest.raises(TypeError):
        bits(1, 0, 0, 0, np.array([0.5]))


def test_bits_broadcast_shapes():
    out = bits(3, np.arange(2).reshape(2, 1, 1), 1, np.arange(3).reshape(1, 3, 1), np.arange(4))
    assert all(o.shape == (2, 3, 4) and o.dtype == np.uint32 for o in out)
    # each element equals the scalar call
    assert int(out[1][1, 2, 3]) == int(bits(3, 1, 1, 2, 3)[1])
    scalar = bits(3, 0, 0, 0, 0)
    assert all(o.shape == () for o in scalar)


def test_seed_array_broadcast():
    seeds = np.array([0, 2**40 + 3, 2**64 - 1], dtype=np.uint64)
    out = bits(seeds, 1, 2, 3, 4)
    for i, s in enumerate(seeds.tolist()):
        assert tuple(int(o[i]) for o in out) == tuple(int(v) for v in bits(s, 1, 2, 3, 4))


# ---------------------------------------------------------------------------
# uniforms
# ---------------------------------------------------------------------------
def test_u01_extremes_are_strictly_inside():
    lo = _u01(np.array([0], dtype=np.uint64), np.array([0], dtype=np.uint64))
    hi = _u01(np.array([M32], dtype=np.uint64), np.array([M32], dtype=np.uint64))
    assert lo[0] == 2.0**-53
    assert hi[0] == 1.0 - 2.0**-53
    assert 0.0 < lo[0] < hi[0] < 1.0


def test_naive_53bit_formula_would_hit_one():
    # Why the grid has 52 bits: with 53 bits, N + 0.5 is not representable
    # for N >= 2**52 and rounds to even, so the largest word pair gives 1.0.
    n = (2**27 - 1) * 67108864.0 + (2**26 - 1)
    assert (n + 0.5) * 2.0**-53 == 1.0


def test_uniform_open_interval_and_grid():
    u = uniform(99, 0, 1, 2, np.arange(200_000))
    assert u.dtype == np.float64
    assert np.all(u > 0.0) and np.all(u < 1.0)
    j = u * 2.0**52 - 0.5  # exact
    assert np.array_equal(j, np.floor(j))


def test_uniform_formula():
    r0, r1, r2, r3 = (o.astype(np.uint64) for o in bits(5, 6, 7, 8, np.arange(100), 9))
    for word, (a, b) in ((0, (r0, r1)), (1, (r2, r3))):
        expected = ((a >> 6).astype(np.float64) * 67108864.0 + (b >> 6) + 0.5) * 2.0**-52
        got = uniform(5, 6, 7, 8, np.arange(100), 9, word=word)
        assert np.array_equal(got, expected)


def test_uniform_word_validation():
    with pytest.raises(ValueError, match="word"):
        uniform(1, 0, 0, 0, 0, word=2)


def test_uniform_golden_values():
    # Regression values: any change of layout or conversion breaks the CUDA twin.
    got = uniform(20240601, 7, 3, 11, np.arange(4))
    expected = [
        "0x1.fca45f5761b4fp-1",
        "0x1.c5d48bb19efeep-2",
        "0x1.766b23e138608p-4",
        "0x1.947096f3b2cc0p-7",
    ]
    assert [float(x).hex() for x in got] == expected
    got = uniform(20240601, 7, 3, 11, np.arange(4), sub=5, word=1)
    expected = [
        "0x1.6141695f4dba7p-1",
        "0x1.f51fe06652d6cp-3",
        "0x1.50c55200f7ea4p-3",
        "0x1.220150f86b125p-1",
    ]
    assert [float(x).hex() for x in got] == expected


def test_uniform_determinism():
    idx = np.arange(1000)
    a = uniform(11, 2, 3, 4, idx)
    b = uniform(11, 2, 3, 4, idx)
    assert np.array_equal(a, b)
    # element i does not depend on the batch it is computed in
    assert np.array_equal(a[::-1], uniform(11, 2, 3, 4, idx[::-1]))
    assert a[123] == uniform(11, 2, 3, 4, 123)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 12},
        {"seed": 11 + 2**32},
        {"replica": 3},
        {"stream": 4},
        {"step": 5},
        {"sub": 1},
        {"word": 1},
    ],
)
def test_uniform_changes_with_every_key(change):
    idx = np.arange(1000)
    base = {"seed": 11, "replica": 2, "stream": 3, "step": 4, "sub": 0, "word": 0}
    other = dict(base, **change)
    a = uniform(index=idx, **base)
    b = uniform(index=idx, **other)
    assert np.count_nonzero(a == b) == 0


def test_uniform_index_neighbours_differ():
    a = uniform(11, 2, 3, 4, np.arange(1000))
    assert np.unique(a).size == a.size


def test_uniform_ks_and_power():
    u = uniform(2024, 1, 1, 0, np.arange(50_000))
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # a detectably wrong generator (u**1.05) is rejected on the same sample
    assert stats.kstest(u**1.05, "uniform").pvalue < 1e-6
    # words 0 and 1 of one block, and neighbouring indices, are uncorrelated
    v = uniform(2024, 1, 1, 0, np.arange(50_000), word=1)
    assert abs(np.corrcoef(u, v)[0, 1]) < 4.0 / np.sqrt(u.size)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4.0 / np.sqrt(u.size)


def test_uniform_moments_across_keys():
    # Uniformity across the replica axis (counter word 3) and the seed.
    u = uniform(np.arange(200, dtype=np.uint64), np.arange(100).reshape(100, 1), 0, 0, 0)
    assert u.shape == (100, 200)
    se = np.sqrt(1.0 / 12.0 / u.size)
    assert abs(u.mean() - 0.5) < 4 * se
    assert stats.kstest(u.ravel(), "uniform").pvalue > 1e-3


def test_uniform_pair_is_both_words():
    from simgpu.rng import uniform, uniform_pair

    idx = np.arange(64)
    u0, u1 = uniform_pair(7, 3, 5, 11, idx)
    np.testing.assert_array_equal(u0, uniform(7, 3, 5, 11, idx, word=0))
    np.testing.assert_array_equal(u1, uniform(7, 3, 5, 11, idx, word=1))
