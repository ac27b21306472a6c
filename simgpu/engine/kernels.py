"""The CUDA kernels: their registry, and their builds for the GPU and for the host.

Every kernel lives in a ``.cu`` source beside its NumPy twin and is registered here with
that twin. The same source is built three ways:

* **NVRTC** through CuPy (:func:`cupy_module`, used by the CuPy engine on a GPU);
* **nvcc -ptx** for given architectures (:func:`compile_ptx`), a CPU-side check that the
  GPU build compiles, run by the test suite wherever ``nvcc`` is on the PATH;
* **host C++** (:func:`host_library`): the kernel bodies compiled by the system's C++
  compiler with ``-DSIMGPU_HOST``, loaded with :mod:`ctypes`; the CPU test suite runs
  them against the NumPy engine, so the kernel logic is tested on every run, GPU or not.

Both compiled builds forbid fused multiply-adds (``-fmad=false``; ``-ffp-contract=off``),
which keeps every floating-point operation rounding as NumPy's does.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the simgpu package directory
#: Directories searched for ``#include "..."`` by every build.
INCLUDE_DIRS = (PACKAGE / "rng", PACKAGE / "engine")
#: Flags of the GPU builds (NVRTC and nvcc).
GPU_FLAGS = ("-fmad=false", "--std=c++14")
#: Flags of the host build.
HOST_FLAGS = ("-O2", "-std=c++14", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared",
              "-DSIMGPU_HOST")


@dataclass(frozen=True)
class Kernel:
    """One ``extern "C"`` kernel: its symbol, its source and its NumPy twin."""

    name: str  # symbol in the source
    source: str  # path relative to the simgpu package
    twin: str  # dotted path of the NumPy function it must reproduce
    doc: str

    @property
    def path(self) -> Path:
        return PACKAGE / self.source


#: Every kernel of simgpu. The parity tests walk this list: each entry must have a parity
#: case against its twin (tests/engine/test_kernels.py fails on one that has none).
KERNELS: tuple[Kernel, ...] = (
    Kernel("sg_philox_bits", "rng/rng_kernels.cu", "simgpu.rng.philox.bits",
           "Philox4x32-10 words of (seed, replica, stream, step, index, sub)"),
    Kernel("sg_uniform", "rng/rng_kernels.cu", "simgpu.rng.philox.uniform",
           "uniform doubles on the open 52-bit grid"),
    Kernel("sg_detmath", "rng/rng_kernels.cu", "simgpu.rng.detmath.log / exp",
           "the fdlibm log and exp built from IEEE basic operations"),
    Kernel("sg_normal_ppf", "rng/rng_kernels.cu", "simgpu.rng.distributions.normal_ppf",
           "Wichura's AS 241"),
    Kernel("sg_durations", "rng/rng_kernels.cu", "simgpu.engine.numpy_engine.draw_duration",
           "fixed, exponential and lognormal durations from uniforms, capped"),
    Kernel("sg_poisson", "rng/rng_kernels.cu", "simgpu.rng.distributions.poisson",
           "inversion below lam = 10, Hoermann's PTRS above"),
    Kernel("sg_advance", "engine/engine.cu", "simgpu.engine.progress.advance",
           "one step of job progress in closed form"),
    Kernel("sg_engine_run", "engine/engine.cu", "simgpu.engine.numpy_engine.simulate",
           "the fused step loop: capacity, contracts, allocation, failures, progress, records"),
)

#: The translation units (each compiled once per build).
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(k.source for k in KERNELS))


class BuildError(RuntimeError):
    """A kernel source failed to compile; the message carries the compiler's output."""


def source_text(source: str) -> str:
    """The text of a ``.cu`` source (relative to the package)."""
    return (PACKAGE / source).read_text(encoding="utf-8")


def _all_kernel_files() -> list[Path]:
    return sorted({p for d in INCLUDE_DIRS for p in d.iterdir() if p.suffix in (".cu", ".cuh")})


def sources_digest(extra: tuple[str, ...] = ()) -> str:
    """A hash of every kernel source and header and the given flags (a build cache key)."""
    h = hashlib.sha256()
    for p in _all_kernel_files():
        h.update(p.name.encode())
        h.update(p.read_bytes())
    for f in extra:
        h.update(f.encode())
    return h.hexdigest()[:16]


def _include_flags() -> list[str]:
    return [f"-I{d}" for d in INCLUDE_DIRS]


def find_host_compiler() -> str | None:
    """The host C++ compiler (``$CXX``, else ``c++``/``g++``/``clang++`` on the PATH)."""
    for c in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if c and shutil.which(c):
            return shutil.which(c)
    return None


def _cache_dir() -> Path:
    base = os.environ.get("SIMGPU_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "simgpu")
    try:
        Path(base).mkdir(parents=True, exist_ok=True)
        probe = Path(base) / ".w"
        probe.touch()
        probe.unlink()
        return Path(base)
    except OSError:  # read-only home: a private temporary directory
        d = Path(tempfile.gettempdir()) / f"simgpu-cache-{os.getuid()}"
        d.mkdir(parents=True, exist_ok=True)
        return d


_HOST_LIBS: dict[tuple[str, ...], ctypes.CDLL] = {}


def host_library(defines: tuple[str, ...] = ()) -> ctypes.CDLL:
    """Compile every kernel source for the host (once per source digest) and load it.

    Parameters
    ----------
    defines : tuple of str
        Extra ``-D`` flags (e.g. ``("SG_MAXJ=4",)``).

    Raises
    ------
    BuildError
        No C++ compiler, or the sources do not compile.
    """
    key = tuple(defines)
    if key in _HOST_LIBS:
        return _HOST_LIBS[key]
    cxx = find_host_compiler()
    if cxx is None:
        raise BuildError("no C++ compiler found (set $CXX or install g++)")
    flags = list(HOST_FLAGS) + [f"-D{d}" for d in defines]
    digest = sources_digest(tuple(flags) + (cxx,))
    lib = _cache_dir() / f"simgpu_kernels_{digest}.so"
    if not lib.exists():
        tmp = lib.with_name(f"{lib.name}.{os.getpid()}.tmp")
        srcs = [str(PACKAGE / s) for s in SOURCES]
        cmd = [cxx, *flags, *_include_flags(), "-x", "c++", *srcs, "-o", str(tmp)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BuildError(f"host build failed ({' '.join(cmd)}):\n{res.stderr}")
        os.replace(tmp, lib)
    out = ctypes.CDLL(str(lib))
    _HOST_LIBS[key] = out
    return out


def compile_ptx(source: str, arch: str, defines: tuple[str, ...] = ()) -> str:
    """Compile one source with ``nvcc -ptx`` for ``arch`` (e.g. ``sm_90``); the PTX text.

    Raises
    ------
    BuildError
        ``nvcc`` is missing or the source does not compile.
    """
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise BuildError("nvcc is not on the PATH")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "k.ptx"
        cmd = [nvcc, "-ptx", f"-arch={arch}", *GPU_FLAGS, *_include_flags(),
               *[f"-D{x}" for x in defines], str(PACKAGE / source), "-o", str(out)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise BuildError(f"nvcc failed ({' '.join(cmd)}):\n{res.stderr}")
        return out.read_text()


def nvrtc_options(defines: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Options for CuPy's ``RawModule`` (NVRTC)."""
    return (*GPU_FLAGS, *_include_flags(), *[f"-D{d}" for d in defines])


def cupy_module(cupy, source: str, defines: tuple[str, ...] = ()):
    """A compiled ``cupy.RawModule`` of one source (CuPy caches it by source and options).

    ``cupy`` is the module object handed over by :mod:`simgpu.backend`, the only module
    that imports CuPy.
    """
    return cupy.RawModule(code=source_text(source), options=nvrtc_options(defines))
