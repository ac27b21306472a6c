"""Compute backend selection; the only module that imports CuPy, and only lazily.

``sim.backend`` is ``auto``, ``numpy`` or ``cupy``. ``auto`` takes the GPU when a CuPy
engine can run on a usable device, else NumPy, and logs its choice once. An explicit
``cupy`` that cannot be honoured is a :class:`~simgpu.errors.BackendUnavailable` that
quotes the probe's reason and names ``sim.backend=numpy``: never a silent fallback.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from simgpu.config.schema import Backend
from simgpu.errors import BackendUnavailable

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Probe:
    """Outcome of probing for a usable CUDA device."""

    ok: bool
    reason: str  # why not, or the device's description
    device: str = "cpu"


@functools.lru_cache(maxsize=8)
def probe_cuda(device_id: int = 0) -> Probe:
    """Check that CuPy imports, a driver answers and device ``device_id`` exists."""
    try:
        import cupy  # noqa: PLC0415  (the only CuPy import in simgpu)
    except Exception as exc:  # ImportError, or a broken CUDA install raising on import
        return Probe(False, f"CuPy is not installed or fails to import ({exc.__class__.__name__}: "
                            f"{exc}); install simgpu[cuda12] or simgpu[cuda13]")
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return Probe(False, f"no usable CUDA driver ({exc})")
    if n == 0:
        return Probe(False, "CUDA reports no device")
    if not 0 <= device_id < n:
        return Probe(False, f"device {device_id} does not exist (found {n}: 0..{n - 1})")
    props = cupy.cuda.runtime.getDeviceProperties(device_id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return Probe(True, name, device=f"cuda:{device_id} {name}")


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
        ``("numpy", "cpu")`` or ``("cupy", "cuda:N <name>")``.

    Raises
    ------
    BackendUnavailable
        ``cupy`` was asked for and cannot run; the message says why.
    """
    if backend == Backend.numpy:
        return "numpy", "cpu"
    p = probe_cuda(device_id)
    if backend == Backend.cupy:
        if not p.ok:
            raise BackendUnavailable(
                f"sim.backend=cupy cannot run: {p.reason}. Use sim.backend=numpy (or auto).")
        return "cupy", p.device
    if p.ok:
        log.info("backend auto: using CuPy on %s", p.device)
        return "cupy", p.device
    log.info("backend auto: using NumPy (%s)", p.reason)
    return "numpy", "cpu"


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
