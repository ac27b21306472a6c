"""Launch a registered kernel on the host build or on a GPU, with one calling convention.

``launcher.run(name, n_threads, *args)`` calls an element-wise kernel ``name`` for
``n_threads`` logical threads. ``args`` are arrays of the launcher's array module (NumPy for
:class:`HostLauncher`, CuPy for :class:`CupyLauncher`; NumPy arrays given to the CuPy
launcher are copied to the device and back) and NumPy scalars (``np.int64``, ``np.uint64``,
``np.float64``), in the order of the kernel's C signature. Outputs are written into the
arrays given.

``launcher.engine(args, n_replicas, shared_bytes)`` launches the step loop
``sg_engine_run`` with its argument structure (a one-element array of
:data:`simgpu.engine.cuda_engine.ARGS_DTYPE`) for replicas ``[0, n_replicas)``: on the GPU
one warp per replica, on the host the replicas spread over threads (each thread one call
of the compiled function on its own range; ctypes releases the GIL during the call).

Parity cases (:mod:`simgpu.engine.kernel_parity`, :mod:`simgpu.rng.kernel_parity`) are
written against this interface, so the same case runs on the host in CPU CI and on a GPU.
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from simgpu.engine import kernels

THREADS_PER_BLOCK = 128
#: Environment variable that sets the CPU engine's threads (default: the usable CPUs).
THREADS_ENV = "SIMGPU_CPU_THREADS"

_CTYPE = {np.dtype(np.int64): ctypes.c_longlong, np.dtype(np.uint64): ctypes.c_ulonglong,
          np.dtype(np.float64): ctypes.c_double, np.dtype(np.int32): ctypes.c_int}
_FIELD_CTYPE = {"u8": ctypes.c_uint64, "f8": ctypes.c_double, "i4": ctypes.c_int32}


def _source_of(name: str) -> str:
    for k in kernels.KERNELS:
        if k.name == name:
            return k.source
    raise KeyError(f"no registered kernel named {name!r}")


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def cpu_threads() -> int:
    """Threads of the CPU engine: ``$SIMGPU_CPU_THREADS``, else the usable CPUs."""
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"{THREADS_ENV}={env!r}: expected a positive integer") from None
        if n < 1:
            raise ValueError(f"{THREADS_ENV}={env!r}: expected a positive integer")
        return n
    return usable_cpus()


_STRUCTS: dict[np.dtype, type[ctypes.Structure]] = {}


def _args_struct(dtype: np.dtype) -> type[ctypes.Structure]:
    """A ctypes structure with the fields of ``dtype`` (C layout, as NumPy's aligned one);
    one class per dtype, shared by every launcher (they share the loaded library)."""
    if dtype not in _STRUCTS:
        fields = [(name, _FIELD_CTYPE[dtype.fields[name][0].str[1:]]) for name in dtype.names]
        _STRUCTS[dtype] = type("SgArgs", (ctypes.Structure,), {"_fields_": fields})
    return _STRUCTS[dtype]


class HostLauncher:
    """Runs the kernels compiled for the host (:func:`kernels.host_library`).

    Parameters
    ----------
    defines : tuple of str
        Extra ``-D`` flags of the build.
    threads : int, optional
        Threads of :meth:`engine` (default :func:`cpu_threads`).
    stage : bool
        Stage each replica's record in its workspace for a launch, as the GPU does in
        shared memory (a test of that path; slower on the host).
    """

    kind = "host"
    xp = np
    lanes = 1

    def __init__(self, defines: tuple[str, ...] = (), threads: int | None = None,
                 stage: bool = False) -> None:
        self.lib = kernels.host_library(defines)
        self.threads = int(threads) if threads is not None else cpu_threads()
        self.stage = bool(stage)
        self._pool: ThreadPoolExecutor | None = None
        self._struct: type[ctypes.Structure] | None = None

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

    @staticmethod
    def pointer(a: np.ndarray) -> int:
        if not a.flags.c_contiguous:
            raise ValueError("arrays given to the engine must be C-contiguous")
        return int(a.ctypes.data)

    def stages(self, ws_bytes: int) -> bool:
        """Whether the records are staged in the workspaces (see ``stage``)."""
        del ws_bytes
        return self.stage

    def engine(self, args: np.ndarray, n_replicas: int, shared_bytes: int = 0) -> None:
        """``sg_engine_run`` for replicas ``[0, n_replicas)`` on :attr:`threads` threads."""
        del shared_bytes
        fn = self.lib.sg_engine_run
        self._struct = _args_struct(args.dtype)
        fn.argtypes = [self._struct]
        fn.restype = None
        n = int(n_replicas)
        workers = max(1, min(self.threads, n))
        # a few slices per thread, so that a slow slice does not hold the others up
        edges = np.linspace(0, n, min(n, 4 * workers) + 1).astype(int) if n else [0, 0]
        calls = []
        for r0, r1 in zip(edges[:-1], edges[1:], strict=True):
            if r1 > r0:
                a = args.copy()
                a["r0"], a["r1"] = r0, r1
                calls.append(self._struct.from_buffer_copy(a.tobytes()))
        if workers == 1 or len(calls) == 1:
            for c in calls:
                fn(c)
            return
        if self._pool is None or self._pool._max_workers != workers:
            self._pool = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="simgpu-cpu")
        for f in [self._pool.submit(fn, c) for c in calls]:
            f.result()

    def to_numpy(self, a):
        return a

    def synchronize(self) -> None:
        pass

    def describe(self) -> str:
        return f"{self.threads} CPU thread{'s' if self.threads != 1 else ''}"


class CupyLauncher:
    """Runs the kernels through NVRTC on the current CUDA device."""

    kind = "cupy"
    lanes = 32
    #: Dynamic shared memory a block may use for the staged workspaces (two blocks per SM
    #: still fit in an H100's 228 KB).
    SHARED_LIMIT = 96 * 1024

    def __init__(self, cupy, defines: tuple[str, ...] = ()) -> None:
        self.cp = cupy
        self.xp = cupy
        self.defines = tuple(defines)
        self._modules: dict[str, object] = {}
        self._shared_set = 0

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

    @staticmethod
    def pointer(a) -> int:
        return int(a.data.ptr)

    def _shared_limit(self) -> int:
        dev = self.cp.cuda.Device()
        optin = int(self.cp.cuda.runtime.getDeviceProperties(dev.id).get(
            "sharedMemPerBlockOptin", 48 * 1024))
        return min(optin, self.SHARED_LIMIT)

    def stages(self, ws_bytes: int) -> bool:
        """Whether a block's workspaces fit shared memory (then the records are staged)."""
        from simgpu.engine.cuda_engine import WARPS_PER_BLOCK

        return WARPS_PER_BLOCK * int(ws_bytes) <= self._shared_limit()

    def engine(self, args: np.ndarray, n_replicas: int, shared_bytes: int = 0) -> None:
        """``sg_engine_run``: one warp per replica, the workspaces in shared memory when
        ``shared_bytes`` (per replica) is not 0."""
        from simgpu.engine.cuda_engine import WARPS_PER_BLOCK

        fn = self._fn("sg_engine_run")
        smem = WARPS_PER_BLOCK * int(shared_bytes)
        if smem > 48 * 1024 and smem > self._shared_set:
            fn.max_dynamic_shared_size_bytes = smem  # opt in beyond the default 48 KB
            self._shared_set = smem
        blocks = max(1, -(-int(n_replicas) // WARPS_PER_BLOCK))
        fn((blocks,), (WARPS_PER_BLOCK * 32,), (args,), shared_mem=smem)

    def local_memory_bytes(self) -> int:
        """Local memory the driver reserves for the step loop on this device: its bytes
        per thread times the threads the device can hold at once."""
        fn = self._fn("sg_engine_run")
        per_thread = int(getattr(fn, "local_size_bytes", 0) or 0)
        props = self.cp.cuda.runtime.getDeviceProperties(self.cp.cuda.Device().id)
        return per_thread * int(props.get("multiProcessorCount", 0)) * int(
            props.get("maxThreadsPerMultiProcessor", 2048))

    def to_numpy(self, a):
        return self.cp.asnumpy(a)

    def synchronize(self) -> None:
        self.cp.cuda.get_current_stream().synchronize()

    def describe(self) -> str:
        return "CUDA (NVRTC via CuPy)"
