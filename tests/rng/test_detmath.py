"""Tests of the portable log/exp in simgpu.rng.detmath."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from simgpu.rng import detmath, uniform

TINY = np.finfo(np.float64).tiny


def _bits(x: float) -> str:
    return struct.pack(">d", x).hex()


@pytest.mark.parametrize(
    ("name", "hexbits"),
    [
        ("LN2_HI", "3fe62e42fee00000"),
        ("LN2_LO", "3dea39ef35793c76"),
        ("LG1", "3fe5555555555593"),
        ("LG2", "3fd999999997fa04"),
        ("LG3", "3fd2492494229359"),
        ("LG4", "3fcc71c51d8e78af"),
        ("LG5", "3fc7466496cb03de"),
        ("LG6", "3fc39a09d078c69f"),
        ("LG7", "3fc2f112df3e5244"),
        ("SQRT_HALF", "3fe6a09e667f3bcd"),
        ("EXP_O_THRESHOLD", "40862e42fefa39ef"),
        ("EXP_U_THRESHOLD", "c0874910d52d3051"),
        ("INV_LN2", "3ff71547652b82fe"),
        ("P1", "3fc555555555553e"),
        ("P2", "bf66c16c16bebd93"),
        ("P3", "3f11566aaf25de2c"),
        ("P4", "bebbbd41c5d26bf1"),
        ("P5", "3e66376972bea4d0"),
    ],
)
def test_constants_match_fdlibm_bit_patterns(name, hexbits):
    assert _bits(getattr(detmath, name)) == hexbits


def _max_ulp(got, ref):
    ref = np.asarray(ref)
    return float(np.max(np.abs(got - ref) / np.spacing(np.abs(ref))))


def test_log_accuracy_wide_range():
    rng = np.random.default_rng(7)
    x = np.exp(rng.uniform(np.log(1e-300), np.log(1e300), 400_000))
    x = x[x != 1.0]
    assert _max_ulp(detmath.log(x), np.log(x)) <= 2.0


def test_log_accuracy_on_uniforms_and_near_one():
    u = uniform(3, 0, 0, 0, np.arange(300_000))
    assert _max_ulp(detmath.log(u), np.log(u)) <= 2.0
    rng = np.random.default_rng(8)
    x = 1.0 + rng.uniform(-0.3, 0.42, 200_000)
    x = x[x != 1.0]
    assert _max_ulp(detmath.log(x), np.log(x)) <= 2.0
    x = 1.0 + rng.uniform(-1e-9, 1e-9, 10_000)
    x = x[x != 1.0]
    assert _max_ulp(detmath.log(x), np.log(x)) <= 2.0


def test_log_extreme_and_subnormal_inputs():
    x = np.array([5e-324, 1e-310, TINY, np.finfo(np.float64).max, 2.0**-1074, 0.5, 2.0, 4.0])
    assert _max_ulp(detmath.log(x), np.log(x)) <= 2.0
    k = np.arange(-1074, 1024, dtype=np.float64)
    powers = np.ldexp(1.0, k.astype(np.int64))
    assert _max_ulp(detmath.log(powers[k != 0]), np.log(powers[k != 0])) <= 1.0
    assert detmath.log(1.0) == 0.0


def test_log_special_values_without_warnings():
    got = detmath.log(np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan]))
    assert got[0] == -np.inf and got[1] == -np.inf
    assert np.isnan(got[2]) and np.isnan(got[3])
    assert got[4] == np.inf
    assert np.isnan(got[5])


def test_exp_accuracy():
    rng = np.random.default_rng(9)
    x = np.concatenate(
        [
            rng.uniform(-708.0, 709.78, 400_000),
            rng.uniform(-1.0, 1.0, 100_000),
            rng.uniform(-1e-12, 1e-12, 1000),
            [0.0, -0.0, 709.78, detmath.EXP_O_THRESHOLD, -708.39],
        ]
    )
    got = detmath.exp(x)
    ref = np.exp(x)
    normal = ref >= TINY
    assert _max_ulp(got[normal], ref[normal]) <= 2.0
    assert np.isfinite(detmath.exp(detmath.EXP_O_THRESHOLD))


def test_exp_subnormal_range():
    x = np.linspace(-745.13, -708.4, 20_001)
    got = detmath.exp(x)
    ref = np.exp(x)
    # results below 2**-1022 are rounded once: at most 1 subnormal ulp apart
    assert np.max(np.abs(got - ref)) <= 2 * 5e-324
    assert np.all(got > 0.0)


def test_exp_overflow_underflow_special():
    got = detmath.exp(np.array([709.79, 710.0, 1e308, np.inf, -745.14, -746.0, -1e308, -np.inf]))
    assert np.all(got[:4] == np.inf)
    assert np.all(got[4:] == 0.0)
    assert np.isnan(detmath.exp(np.nan))
    assert detmath.exp(0.0) == 1.0


def test_exp_log_roundtrip():
    x = np.linspace(-700.0, 700.0, 10_001)
    assert np.max(np.abs(detmath.log(detmath.exp(x)) - x)) < 1e-12


def test_shapes_and_dtypes():
    for f in (detmath.log, detmath.exp):
        assert f(2.0).shape == ()
        assert f(np.ones((3, 4), dtype=np.float32)).shape == (3, 4)
        assert f(np.ones((3, 4))).dtype == np.float64
        assert f([1, 2, 3]).shape == (3,)


def test_golden_bit_patterns():
    # Regression values (also what a CUDA twin must reproduce).
    logs = {
        0.1: "-0x1.26bb1bbb55515p+1",
        2.5: "0x1.d5240f0e0e078p-1",
        1e-300: "-0x1.5963447f87fb5p+9",
        1e300: "0x1.5963447f87fb5p+9",
        0.7: "-0x1.6d3c324e13f50p-2",
        0.7071067811865476: "-0x1.62e42fefa39eep-2",
    }
    for x, h in logs.items():
        assert float(detmath.log(x)).hex() == h
    exps = {
        -700.5: "0x1.4ff475c68ca02p-1011",
        -1.0: "0x1.78b56362cef38p-2",
        0.5: "0x1.a61298e1e069cp+0",
        1.0: "0x1.5bf0a8b14576ap+1",
        300.25: "0x1.1fda3eaeb3d0ep+433",
        -740.0: "0x0.0000000000055p-1022",
    }
    for x, h in exps.items():
        assert float(detmath.exp(x)).hex() == h


def test_no_libm_transcendentals_used(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("libm transcendental used")

    x = np.linspace(0.01, 100.0, 1000)
    expected_log = detmath.log(x)
    expected_exp = detmath.exp(-x)
    for name in ("log", "exp", "log1p", "expm1", "log2", "log10", "exp2", "power"):
        monkeypatch.setattr(np, name, forbidden)
    assert np.array_equal(detmath.log(x), expected_log)
    assert np.array_equal(detmath.exp(-x), expected_exp)
