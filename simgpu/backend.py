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

#: The CuPy step-loop kernels are not part of this release yet; until they are, the probe
#: reports why ``cupy`` cannot run even where a GPU is present.
CUPY_ENGINE_AVAILABLE = False


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
    reason = p.reason if not p.ok else (
        f"found {p.device}, but the CuPy engine is not part of this version of simgpu")
    usable = p.ok and CUPY_ENGINE_AVAILABLE
    if backend == Backend.cupy:
        if not usable:
            raise BackendUnavailable(
                f"sim.backend=cupy cannot run: {reason}. Use sim.backend=numpy (or auto).")
        return "cupy", p.device
    if usable:
        log.info("backend auto: using CuPy on %s", p.device)
        return "cupy", p.device
    log.info("backend auto: using NumPy (%s)", reason)
    return "numpy", "cpu"
