"""Compute backend selection; the only module that imports CuPy, and only lazily.

``sim.backend`` is one of

* ``cupy``: the kernel engine on an NVIDIA GPU (CuPy, kernels compiled by NVRTC);
* ``cpu``: the same kernel source compiled for the CPU by the system's C++ compiler and run
  on every usable core (``$SIMGPU_CPU_THREADS`` to change);
* ``numpy``: the NumPy engine (the specification; needs nothing but NumPy);
* ``auto``: the first of cupy, cpu, numpy that can run here, logging which and why.

A probe decides whether an engine can run: for ``cupy`` that CuPy imports, a driver and
the device answer, NVRTC loads, and a tiny kernel compiles and runs on the device; for
``cpu`` that a C++ compiler is present and builds the kernels (cached by a digest of
their sources). An explicit choice that cannot be honoured is a
:class:`~simgpu.errors.BackendUnavailable` that quotes the probe's reason and names the
alternatives: never a silent fallback.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from simgpu.config.schema import Backend
from simgpu.errors import BackendUnavailable

log = logging.getLogger(__name__)

#: The tiny kernel that the CUDA probe compiles with NVRTC and runs on the device.
PROBE_KERNEL = """
extern "C" __global__ void sg_probe(int* out) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  out[i] = 3 * i + 1;
}
"""


@dataclass(frozen=True)
class Probe:
    """Outcome of probing an engine: whether it can run, and why not or on what."""

    ok: bool
    reason: str  # why not, or the device's description
    device: str = "cpu"


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


@functools.lru_cache(maxsize=8)
def probe_cuda(device_id: int = 0) -> Probe:
    """Check that CuPy imports, a driver answers, device ``device_id`` exists, NVRTC
    loads, and a tiny kernel compiles (with the options of simgpu's builds) and runs."""
    try:
        import cupy  # noqa: PLC0415  (the only CuPy import in simgpu)
    except Exception as exc:  # ImportError, or a broken CUDA install raising on import
        return Probe(False, f"CuPy is not installed or fails to import ({_first_line(exc)}); "
                            "install simgpu[cuda12] or simgpu[cuda13]")
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return Probe(False, f"no usable CUDA driver ({_first_line(exc)})")
    if n == 0:
        return Probe(False, "CUDA reports no device")
    if not 0 <= device_id < n:
        return Probe(False, f"device {device_id} does not exist (found {n}: 0..{n - 1})")
    props = cupy.cuda.runtime.getDeviceProperties(device_id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    try:
        ver = cupy.cuda.nvrtc.getVersion()
    except Exception as exc:
        return Probe(False, f"NVRTC, which compiles the kernels, cannot be loaded "
                            f"({_first_line(exc)}); install simgpu[cuda12] or simgpu[cuda13], "
                            "which bring it, or a CUDA toolkit")
    try:
        from simgpu.engine.kernels import nvrtc_options  # noqa: PLC0415

        with cupy.cuda.Device(device_id):
            fn = cupy.RawKernel(PROBE_KERNEL, "sg_probe", options=nvrtc_options())
            out = cupy.zeros(64, dtype=cupy.int32)
            fn((2,), (32,), (out,))
            got = cupy.asnumpy(out).tolist()
        if got != [3 * i + 1 for i in range(64)]:
            return Probe(False, f"a test kernel gave wrong results on {name}")
    except Exception as exc:  # CompileException, missing CUDA headers, launch failures
        return Probe(False, f"NVRTC {ver[0]}.{ver[1]} could not compile or run a test kernel "
                            f"on {name} ({_first_line(exc)}); install simgpu[cuda12] or "
                            "simgpu[cuda13] (NVRTC and the CUDA headers CuPy needs)")
    return Probe(True, name, device=f"cuda:{device_id} {name}")


@functools.lru_cache(maxsize=1)
def probe_cpu() -> Probe:
    """Check that a C++ compiler is present and builds the kernels for the host (the
    build is cached, so this is quick after the first time)."""
    from simgpu.engine import kernels, launch  # noqa: PLC0415

    cxx = kernels.find_host_compiler()
    if cxx is None:
        return Probe(False, "no C++ compiler found (set $CXX or install g++)")
    try:
        threads = launch.cpu_threads()
    except ValueError as exc:
        return Probe(False, str(exc))
    try:
        kernels.host_library_path()  # this compiler's build: cached, or compiled now
        kernels.host_library()
    except (kernels.BuildError, OSError) as exc:
        return Probe(False, f"the C++ compiler {cxx} did not build the kernels "
                            f"({_first_line(exc, 600)})")
    desc = f"{threads} thread{'s' if threads != 1 else ''}, {kernels._compiler_id(cxx)}"
    return Probe(True, desc, device=f"cpu ({threads} thread{'s' if threads != 1 else ''})")


def select(backend: Backend, device_id: int = 0) -> tuple[str, str]:
    """Resolve ``sim.backend`` to an engine.

    Parameters
    ----------
    backend : Backend
        The configured choice.
    device_id : int
        CUDA device ordinal for ``cupy``.

    Returns
    -------
    (engine, device) : tuple of str
        ``("numpy", "cpu")``, ``("cpu", "cpu (N threads)")`` or ``("cupy", "cuda:N <name>")``.

    Raises
    ------
    BackendUnavailable
        ``cupy`` or ``cpu`` was asked for and cannot run; the message says why.
    """
    if backend == Backend.numpy:
        return "numpy", "cpu"
    if backend == Backend.cupy:
        p = probe_cuda(device_id)
        if not p.ok:
            raise BackendUnavailable(
                f"sim.backend=cupy cannot run: {p.reason}. Use sim.backend=cpu or "
                "sim.backend=numpy (or auto).")
        return "cupy", p.device
    if backend == Backend.cpu:
        p = probe_cpu()
        if not p.ok:
            raise BackendUnavailable(
                f"sim.backend=cpu cannot run: {p.reason}. Use sim.backend=numpy (or auto).")
        return "cpu", p.device
    gpu = probe_cuda(device_id)
    if gpu.ok:
        log.info("backend auto: using CuPy on %s", gpu.device)
        return "cupy", gpu.device
    cpu = probe_cpu()
    if cpu.ok:
        log.info("backend auto: using the compiled CPU engine (%s); no GPU: %s", cpu.reason,
                 gpu.reason)
        return "cpu", cpu.device
    log.info("backend auto: using NumPy; no GPU: %s; no compiled CPU engine: %s", gpu.reason,
             cpu.reason)
    return "numpy", "cpu"


def fallback_for_plan(backend: Backend, engine: str, device: str, why: str | None
                      ) -> tuple[str, str]:
    """The engine for a plan that the kernel engines cannot hold (``why``, from
    :func:`simgpu.engine.cuda_engine.unsupported`): NumPy under ``auto`` (logged), a
    :class:`BackendUnavailable` for an explicit ``cupy`` or ``cpu``."""
    if why is None or engine == "numpy":
        return engine, device
    if backend == Backend.auto:
        log.info("backend auto: using NumPy: %s", why)
        return "numpy", "cpu"
    raise BackendUnavailable(f"sim.backend={backend.value} cannot run this configuration: {why}")


def device_count() -> int:
    """Visible CUDA devices (0 without CuPy or a driver)."""
    try:
        import cupy  # noqa: PLC0415

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def resolve_device(device_id: int, job_num: int = 0) -> int:
    """``sim.device_id``, with -1 meaning one device per sweep job: job number modulo the
    visible devices (device 0 for a single run, or where none is visible)."""
    if device_id >= 0:
        return device_id
    n = device_count()
    return job_num % n if n else 0


def cupy_on(device_id: int = 0):
    """The CuPy module with device ``device_id`` made current (after a successful probe).

    The kernel engine receives CuPy from here, so no other module imports it.
    """
    import cupy  # noqa: PLC0415

    cupy.cuda.Device(device_id).use()
    return cupy


def device_free_bytes(device_id: int = 0) -> int:
    """Free memory on CUDA device ``device_id``, bytes."""
    cupy = cupy_on(device_id)
    free, _total = cupy.cuda.runtime.memGetInfo()
    return int(free)
