"""The kernels of ``rng/rng_kernels.cu`` reproduce the NumPy random-number code bit for bit.

The parity cases (:mod:`simgpu.rng.kernel_parity`) run on the host build of the kernels on
every machine with a C++ compiler, and through CuPy on a GPU (``gpu`` tests).
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from simgpu.engine import kernels
from simgpu.engine.launch import CupyLauncher, HostLauncher
from simgpu.rng import detmath, philox
from simgpu.rng import distributions as D
from simgpu.rng.kernel_parity import CASES

RNG_SOURCE = "rng/rng_kernels.cu"


@pytest.fixture(scope="module")
def host_launcher() -> HostLauncher:
    if kernels.find_host_compiler() is None:
        pytest.skip("no C++ compiler found (set $CXX or install g++)")
    return HostLauncher()


@pytest.mark.parametrize("name", sorted(CASES))
def test_host_kernel_matches_numpy(name: str, host_launcher: HostLauncher) -> None:
    assert CASES[name](host_launcher) > 0


def test_every_rng_kernel_has_a_case() -> None:
    registered = {k.name for k in kernels.KERNELS if k.source == RNG_SOURCE}
    assert registered, f"no kernel registered from {RNG_SOURCE}"
    assert registered - set(CASES) == set(), "registered kernels without a parity case"
    assert set(CASES) - registered == set(), "parity cases of unregistered kernels"


# A last-bit error in a small polynomial coefficient changes too few results for the parity
# cases to notice, so the constants of the headers are also checked against the Python ones.
def test_detmath_cuh_constants_are_the_python_ones() -> None:
    text = kernels.source_text("rng/detmath.cuh")
    found = dict(re.findall(r"#define SG_(\w+) sg_f64\((0x[0-9A-F]{16})ull\)", text))
    assert len(found) == 20
    for name, bits in found.items():
        assert np.float64(getattr(detmath, name)).view(np.uint64) == int(bits, 16), name


def test_philox_cuh_constants_are_the_python_ones() -> None:
    text = kernels.source_text("rng/philox.cuh")
    found = dict(re.findall(r"#define SG_(PHILOX_\w\d) (0x[0-9A-F]{8})u", text))
    assert {k: int(v, 16) for k, v in found.items()} == {
        k: getattr(philox, k) for k in ("PHILOX_M0", "PHILOX_M1", "PHILOX_W0", "PHILOX_W1")}


def test_distributions_cuh_has_every_python_coefficient() -> None:
    text = kernels.source_text("rng/distributions.cuh")
    literals = {float(x) for x in re.findall(r"(?<![\w.])\d+\.\d*(?:e[-+]?\d+)?", text)}
    literals |= {-x for x in literals}
    wanted = [*D._A, *D._B, *D._C, *D._D, *D._E, *D._F, *D._LOGFACT.tolist(),
              D._S1, D._S2, D._S3, D._S4, D._S5, D._S6, D._S7, D._HALF_LOG_2PI]
    assert [c for c in wanted if c not in literals] == []


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_rng_kernels_compile_with_nvcc(arch: str) -> None:
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on the PATH")
    ptx = kernels.compile_ptx(RNG_SOURCE, arch)
    for name in CASES:
        assert f".entry {name}(" in ptx
    assert "fma" not in ptx  # -fmad=false: no contraction into fused multiply-adds


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(CASES))
def test_gpu_kernel_matches_numpy(name: str) -> None:
    cupy = pytest.importorskip("cupy")
    assert CASES[name](CupyLauncher(cupy)) > 0
