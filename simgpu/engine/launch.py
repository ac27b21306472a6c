"""Launch a registered kernel on the host build or on a GPU, with one calling convention.

``launcher.run(name, n_threads, *args)`` calls kernel ``name`` for ``n_threads`` logical
threads. ``args`` are arrays of the launcher's array module (NumPy for :class:`HostLauncher`,
CuPy for :class:`CupyLauncher`; NumPy arrays given to the CuPy launcher are copied to the
device and back) and NumPy scalars (``np.int64``, ``np.uint64``, ``np.float64``), in the
order of the kernel's C signature. Outputs are written into the arrays given.

Parity cases (:mod:`simgpu.engine.kernel_parity`, :mod:`simgpu.rng.kernel_parity`) are
written against this interface, so the same case runs on the host in CPU CI and on a GPU.
"""

from __future__ import annotations

import ctypes

import numpy as np

from simgpu.engine import kernels

THREADS_PER_BLOCK = 128

_CTYPE = {np.dtype(np.int64): ctypes.c_longlong, np.dtype(np.uint64): ctypes.c_ulonglong,
          np.dtype(np.float64): ctypes.c_double, np.dtype(np.int32): ctypes.c_int}


def _source_of(name: str) -> str:
    for k in kernels.KERNELS:
        if k.name == name:
            return k.source
    raise KeyError(f"no registered kernel named {name!r}")


class HostLauncher:
    """Runs the kernels compiled for the host (:func:`kernels.host_library`)."""

    kind = "host"
    xp = np

    def __init__(self, defines: tuple[str, ...] = ()) -> None:
        self.lib = kernels.host_library(defines)

    def run(self, name: str, n_threads: int, *args) -> None:
        _source_of(name)
        fn = getattr(self.lib, name)
        fn.restype = None
        c_args = [ctypes.c_longlong(int(n_threads))]
        for a in args:
            if isinstance(a, np.ndarray):
                if not a.flags.c_contiguous:
                    raise ValueError(f"{name}: arrays must be C-contiguous")
                c_args.append(ctypes.c_void_p(a.ctypes.data))
            else:
                c_args.append(_CTYPE[np.asarray(a).dtype](a.item() if hasattr(a, "item") else a))
        fn(*c_args)

    def to_numpy(self, a):
        return a

    def synchronize(self) -> None:
        pass


class CupyLauncher:
    """Runs the kernels through NVRTC on the current CUDA device."""

    kind = "cupy"

    def __init__(self, cupy, defines: tuple[str, ...] = ()) -> None:
        self.cp = cupy
        self.xp = cupy
        self.defines = tuple(defines)
        self._modules: dict[str, object] = {}

    def _fn(self, name: str):
        src = _source_of(name)
        if src not in self._modules:
            self._modules[src] = kernels.cupy_module(self.cp, src, self.defines)
        return self._modules[src].get_function(name)

    def run(self, name: str, n_threads: int, *args) -> None:
        cp = self.cp
        fn = self._fn(name)
        dev_args, back = [np.int64(n_threads)], []
        for a in args:
            if isinstance(a, np.ndarray):
                d = cp.asarray(a)
                back.append((a, d))
                dev_args.append(d)
            else:
                dev_args.append(a)
        blocks = max(1, -(-int(n_threads) // THREADS_PER_BLOCK))
        fn((blocks,), (THREADS_PER_BLOCK,), tuple(dev_args))
        for host, dev in back:
            host[...] = cp.asnumpy(dev)

    def to_numpy(self, a):
        return self.cp.asnumpy(a)

    def synchronize(self) -> None:
        self.cp.cuda.get_current_stream().synchronize()
