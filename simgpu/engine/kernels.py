"""The CUDA kernels: their registry, and their builds for the GPU and for the host.

Every kernel lives in a ``.cu`` source beside its NumPy twin and is registered here with
that twin. The same source is built three ways:

* **NVRTC** through CuPy (:func:`cupy_module`, used by the CuPy engine on a GPU). The
  source is rendered with its headers inlined (:func:`render_source`) and a digest of the
  result defined in it, because CuPy's kernel cache is keyed by the source text and the
  options only: an edited header must change the key;
* **nvcc -ptx** for given architectures (:func:`compile_ptx`), and **ptxas -v** on that
  PTX (:func:`ptxas_usage`): a CPU-side check of the GPU build (registers, spills, stack),
  run by the test suite wherever the CUDA toolkit is on the PATH; :func:`nvrtc_compile`
  compiles with NVRTC itself (the library CuPy uses, e.g. from the ``nvidia-cuda-nvrtc``
  wheel) with the options CuPy passes;
* **host C++** (:func:`host_library`): the kernel bodies compiled by the system's C++
  compiler with ``-DSIMGPU_HOST``, loaded with :mod:`ctypes`: the CPU engine
  (``sim.backend=cpu``), and how the CPU test suite runs the kernels against the NumPy
  engine. Builds are cached in ``$SIMGPU_CACHE_DIR`` (default ``$XDG_CACHE_HOME/simgpu``)
  under a digest of the sources, headers, flags and compiler, written to a temporary name
  and renamed into place, so concurrent processes never load a partial build.

Both compiled builds forbid fused multiply-adds (``-fmad=false``; ``-ffp-contract=off``),
which keeps every floating-point operation rounding as NumPy's does.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the simgpu package directory
#: Directories searched for ``#include "..."`` by every build.
INCLUDE_DIRS = (PACKAGE / "rng", PACKAGE / "engine")
#: Flags of the GPU builds (NVRTC and nvcc).
GPU_FLAGS = ("-fmad=false", "--std=c++14")
#: Options CuPy adds to ours for NVRTC (cupy/cuda/compiler.py and cupy/_core/core.pyx):
#: ``-ftz=true``, the architecture, and include directories of its own and of CUDA's
#: headers (none of which our sources include; they are rendered with their headers).
CUPY_NVRTC_OPTIONS = ("-ftz=true",)
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
    Kernel("sg_durations", "rng/rng_kernels.cu", "simgpu.rng.distributions.draw_duration",
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


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"[^\n]*$', re.MULTILINE)


def _find_header(name: str) -> Path:
    for d in INCLUDE_DIRS:
        if (d / name).is_file():
            return d / name
    raise BuildError(f'#include "{name}": not found in {[str(d) for d in INCLUDE_DIRS]}')


def render_source(source: str) -> str:
    """``source`` with every ``#include "..."`` of simgpu's headers inlined (each once),
    opened by a comment and a define carrying the digest of the rendered text: what CuPy
    compiles, so that its cache key (the text) changes whenever any header does."""
    seen: set[str] = set()

    def expand(text: str) -> str:
        def one(m: re.Match) -> str:
            name = m.group(1)
            if name in seen:
                return f"// {name}: already included"
            seen.add(name)
            return f"// ---- {name}\n" + expand(_find_header(name).read_text(encoding="utf-8"))
        return _INCLUDE.sub(one, text)

    body = expand(source_text(source))
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return (f"// simgpu {source}, headers inlined; digest {digest}\n"
            f"#define SIMGPU_SOURCE_DIGEST 0x{digest}ull\n{body}")


def _include_flags() -> list[str]:
    return [f"-I{d}" for d in INCLUDE_DIRS]


def find_host_compiler() -> str | None:
    """The host C++ compiler (``$CXX``, else ``c++``/``g++``/``clang++`` on the PATH)."""
    for c in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if c and shutil.which(c):
            return shutil.which(c)
    return None


def _compiler_id(cxx: str) -> str:
    """The compiler's version banner (part of the build cache key)."""
    try:
        res = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30)
        return res.stdout.strip().splitlines()[0] if res.stdout.strip() else cxx
    except (OSError, subprocess.SubprocessError):
        return cxx


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$SIMGPU_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/simgpu`` (``~/.cache/simgpu``), else a private temporary directory."""
    base = os.environ.get("SIMGPU_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "simgpu")
    try:
        Path(base).mkdir(parents=True, exist_ok=True)
        probe = Path(base) / f".w{os.getpid()}.{uuid.uuid4().hex}"
        probe.touch()
        probe.unlink()
        return Path(base)
    except OSError:  # read-only home: a private temporary directory
        d = Path(tempfile.gettempdir()) / f"simgpu-cache-{os.getuid()}"
        d.mkdir(parents=True, exist_ok=True)
        return d


_HOST_LIBS: dict[tuple[str, ...], ctypes.CDLL] = {}


def host_library_path(defines: tuple[str, ...] = ()) -> Path:
    """Compile every kernel source for the host, once per digest of the sources, headers,
    flags and compiler, into the cache; the shared library's path.

    Raises
    ------
    BuildError
        No C++ compiler, or the sources do not compile.
    """
    cxx = find_host_compiler()
    if cxx is None:
        raise BuildError("no C++ compiler found (set $CXX or install g++)")
    flags = list(HOST_FLAGS) + [f"-D{d}" for d in defines]
    digest = sources_digest(tuple(flags) + (cxx, _compiler_id(cxx)))
    lib = cache_dir() / f"simgpu_kernels_{digest}.so"
    if not lib.exists():
        tmp = lib.with_name(f"{lib.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        srcs = [str(PACKAGE / s) for s in SOURCES]
        cmd = [cxx, *flags, *_include_flags(), "-x", "c++", *srcs, "-o", str(tmp)]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as exc:
            raise BuildError(f"host build failed: {exc} (command: {' '.join(cmd)})") from exc
        if res.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BuildError(f"host build failed: {res.stderr.strip()}\n(command: {' '.join(cmd)})")
        os.replace(tmp, lib)  # atomic: another process sees the old state or the whole file
    return lib


def host_library(defines: tuple[str, ...] = ()) -> ctypes.CDLL:
    """The host build (:func:`host_library_path`), loaded once per process and defines.

    Parameters
    ----------
    defines : tuple of str
        Extra ``-D`` flags (e.g. ``("SG_RANK_SORT",)``).

    Raises
    ------
    BuildError
        No C++ compiler, or the sources do not compile.
    """
    key = tuple(defines)
    if key not in _HOST_LIBS:
        _HOST_LIBS[key] = ctypes.CDLL(str(host_library_path(key)))
    return _HOST_LIBS[key]


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


@dataclass(frozen=True)
class Usage:
    """Resources of one compiled kernel, as ``ptxas -v`` reports them."""

    registers: int
    spill_stores: int  # bytes
    spill_loads: int  # bytes
    stack: int  # bytes of stack frame per thread
    shared: int  # bytes of static shared memory
    text: str  # the report's lines for the kernel


_USAGE_FN = re.compile(r"Compiling entry function '(\w+)'")


def parse_ptxas(log: str) -> dict[str, Usage]:
    """Per-kernel resources from a ``ptxas -v`` (or NVRTC ``-Xptxas -v``) log."""
    out: dict[str, Usage] = {}
    cur, lines = None, []

    def flush():
        if cur is None:
            return
        text = "\n".join(lines)

        def num(pattern: str) -> int:
            m = re.search(pattern, text)
            return int(m.group(1)) if m else 0

        out[cur] = Usage(num(r"Used (\d+) registers"), num(r"(\d+) bytes spill stores"),
                         num(r"(\d+) bytes spill loads"), num(r"(\d+) bytes stack frame"),
                         num(r"(\d+) bytes smem"), text)

    for line in log.splitlines():
        m = _USAGE_FN.search(line)
        if m:
            flush()
            cur, lines = m.group(1), [line]
        elif cur is not None:
            lines.append(line)
    flush()
    return out


def ptxas_usage(ptx: str, arch: str) -> dict[str, Usage]:
    """``ptxas -v`` on a PTX text for ``arch``: each kernel's registers, spills, stack.

    Raises
    ------
    BuildError
        ``ptxas`` is missing or fails.
    """
    ptxas = shutil.which("ptxas")
    if ptxas is None:
        raise BuildError("ptxas is not on the PATH")
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "k.ptx"
        src.write_text(ptx)
        cmd = [ptxas, "-v", f"-arch={arch}", str(src), "-o", str(Path(d) / "k.cubin")]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise BuildError(f"ptxas failed ({' '.join(cmd)}):\n{res.stderr}")
        return parse_ptxas(res.stdout + res.stderr)


def nvrtc_options(defines: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Options for CuPy's ``RawModule`` (NVRTC); the source is rendered, so no ``-I``."""
    return (*GPU_FLAGS, *[f"-D{d}" for d in defines])


def cupy_module(cupy, source: str, defines: tuple[str, ...] = ()):
    """A compiled ``cupy.RawModule`` of one source (CuPy caches it by the rendered text,
    which carries every header and their digest, and by the options).

    ``cupy`` is the module object handed over by :mod:`simgpu.backend`, the only module
    that imports CuPy.
    """
    return cupy.RawModule(code=render_source(source), options=nvrtc_options(defines))


# ------------------------------------------------------------------------------ NVRTC


def find_nvrtc() -> str | None:
    """The NVRTC shared library: from a ``nvidia-cuda-nvrtc`` wheel in this environment,
    ``$CUDA_PATH``/``$CUDA_HOME``, or the loader's search path; None if there is none."""
    pats = []
    for base in sys.path:
        pats += [os.path.join(base, "nvidia", "cu*", "lib", "libnvrtc.so*"),
                 os.path.join(base, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so*")]
    for env in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(env):
            pats.append(os.path.join(os.environ[env], "lib64", "libnvrtc.so*"))
    for pat in pats:
        hits = sorted(h for h in glob.glob(pat) if "builtins" not in h and "alt" not in h)
        if hits:
            return hits[0]
    import ctypes.util

    return ctypes.util.find_library("nvrtc")


@dataclass(frozen=True)
class NvrtcResult:
    """What NVRTC made of a source: its version, options, log, and PTX or cubin bytes."""

    version: tuple[int, int]
    options: tuple[str, ...]
    log: str
    code: bytes


def nvrtc_compile(source: str, arch: str = "sm_90", defines: tuple[str, ...] = (),
                  extra: tuple[str, ...] = (), cubin: bool = True,
                  library: str | None = None) -> NvrtcResult:
    """Compile a rendered source with NVRTC (via ctypes; no GPU needed) as CuPy would:
    our options, then CuPy's (``-ftz=true``) and ``-arch=sm_XX`` (a cubin, as CuPy asks
    for on a device NVRTC knows) or ``-arch=compute_XX`` (PTX).

    Raises
    ------
    BuildError
        No NVRTC library, or the source does not compile (the log is in the message).
    """
    path = library or find_nvrtc()
    if path is None:
        raise BuildError("no NVRTC library found (pip install nvidia-cuda-nvrtc)")
    lib = ctypes.CDLL(path)
    major, minor = ctypes.c_int(), ctypes.c_int()
    lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    cc = arch.split("_")[1]
    opts = (*nvrtc_options(defines), *CUPY_NVRTC_OPTIONS,
            f"-arch={'sm' if cubin else 'compute'}_{cc}", *extra)
    prog = ctypes.c_void_p()
    text = render_source(source).encode()
    err = lib.nvrtcCreateProgram(ctypes.byref(prog), text, source.encode(), 0, None, None)
    if err:
        raise BuildError(f"nvrtcCreateProgram failed with code {err}")
    try:
        c_opts = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
        res = lib.nvrtcCompileProgram(prog, len(opts), c_opts)
        n = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
        buf = ctypes.create_string_buffer(n.value)
        lib.nvrtcGetProgramLog(prog, buf)
        log = buf.value.decode(errors="replace")
        if res:
            raise BuildError(f"NVRTC {major.value}.{minor.value} failed ({' '.join(opts)}):\n"
                             f"{log}")
        get_size, get = ((lib.nvrtcGetCUBINSize, lib.nvrtcGetCUBIN) if cubin
                         else (lib.nvrtcGetPTXSize, lib.nvrtcGetPTX))
        get_size(prog, ctypes.byref(n))
        code = ctypes.create_string_buffer(n.value)
        get(prog, code)
        return NvrtcResult((major.value, minor.value), opts, log, code.raw)
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))
