"""Backend selection: explicit choices are honoured or refused with the probe's reason."""

from __future__ import annotations

import sys
import types

import pytest

from simgpu import backend
from simgpu.config.schema import Backend
from simgpu.errors import BackendUnavailable


def test_numpy_is_always_available():
    assert backend.select(Backend.numpy) == ("numpy", "cpu")


def test_cupy_refused_with_reason_and_the_knob(monkeypatch):
    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(False, "CuPy is not installed"))
    with pytest.raises(BackendUnavailable) as err:
        backend.select(Backend.cupy, 0)
    msg = str(err.value)
    assert "CuPy is not installed" in msg and "sim.backend=numpy" in msg
    assert "sim.backend=cpu" in msg


def test_cpu_refused_with_reason_and_the_knob(monkeypatch):
    monkeypatch.setattr(backend, "probe_cpu",
                        lambda: backend.Probe(False, "no C++ compiler found"))
    with pytest.raises(BackendUnavailable) as err:
        backend.select(Backend.cpu, 0)
    msg = str(err.value)
    assert "sim.backend=cpu cannot run: no C++ compiler found" in msg
    assert "sim.backend=numpy" in msg


def test_auto_takes_the_compiled_cpu_engine_without_a_gpu_and_says_why(monkeypatch, caplog):
    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(False, "no usable CUDA driver"))
    monkeypatch.setattr(backend, "probe_cpu",
                        lambda: backend.Probe(True, "2 threads, g++ 12", "cpu (2 threads)"))
    with caplog.at_level("INFO", logger="simgpu.backend"):
        assert backend.select(Backend.auto, 0) == ("cpu", "cpu (2 threads)")
    assert "compiled CPU engine (2 threads, g++ 12)" in caplog.text
    assert "no usable CUDA driver" in caplog.text


def test_auto_falls_back_to_numpy_without_a_compiler(monkeypatch, caplog):
    from simgpu.engine import kernels

    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(False, "no usable CUDA driver"))
    monkeypatch.setattr(kernels, "find_host_compiler", lambda: None)
    backend.probe_cpu.cache_clear()
    try:
        with caplog.at_level("INFO", logger="simgpu.backend"):
            assert backend.select(Backend.auto, 0) == ("numpy", "cpu")
        assert "no compiled CPU engine: no C++ compiler found" in caplog.text
        with pytest.raises(BackendUnavailable, match="no C\\+\\+ compiler found"):
            backend.select(Backend.cpu, 0)
    finally:
        backend.probe_cpu.cache_clear()


def test_a_compiler_that_cannot_build_the_kernels_is_a_reason(monkeypatch, tmp_path):
    bad = tmp_path / "broken-c++"
    bad.write_text("#!/bin/sh\necho 'broken: cannot compile' >&2\nexit 1\n")
    bad.chmod(0o755)
    monkeypatch.setenv("CXX", str(bad))
    monkeypatch.setenv("SIMGPU_CACHE_DIR", str(tmp_path / "cache"))
    backend.probe_cpu.cache_clear()
    try:
        p = backend.probe_cpu()
    finally:
        backend.probe_cpu.cache_clear()
    assert not p.ok
    assert "did not build the kernels" in p.reason and "broken: cannot compile" in p.reason


def test_the_cpu_probe_builds_the_kernels_and_names_the_threads(monkeypatch):
    from simgpu.engine import kernels

    if kernels.find_host_compiler() is None:
        pytest.skip("no C++ compiler")
    monkeypatch.setenv("SIMGPU_CPU_THREADS", "3")
    backend.probe_cpu.cache_clear()
    try:
        p = backend.probe_cpu()
        assert p.ok and p.device == "cpu (3 threads)" and p.reason.startswith("3 threads")
        monkeypatch.setenv("SIMGPU_CPU_THREADS", "zero")
        backend.probe_cpu.cache_clear()
        p = backend.probe_cpu()
        assert not p.ok and "SIMGPU_CPU_THREADS='zero'" in p.reason
    finally:
        backend.probe_cpu.cache_clear()


def _fake_cupy(nvrtc_ok: bool = True, compile_error: str | None = None, wrong: bool = False):
    """A stand-in for CuPy with one device, to test the probe's NVRTC checks on a CPU."""
    import numpy as np

    class Device:
        def __init__(self, i=0):
            self.id = i

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def get_version():
        if not nvrtc_ok:
            raise OSError("libnvrtc.so.12: cannot open shared object file")
        return (12, 9)

    class RawKernel:
        def __init__(self, code, name, options=()):
            if compile_error:
                raise RuntimeError(compile_error)
            assert "-fmad=false" in options and name == "sg_probe" and name in code

        def __call__(self, grid, block, args):
            (out,) = args
            out[:] = np.arange(out.size) * 3 + (2 if wrong else 1)

    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1,
                                    getDeviceProperties=lambda i: {"name": b"Fake H100"})
    cuda = types.SimpleNamespace(runtime=runtime, nvrtc=types.SimpleNamespace(
        getVersion=get_version), Device=Device)
    return types.SimpleNamespace(cuda=cuda, RawKernel=RawKernel, int32=np.int32,
                                 zeros=lambda n, dtype: np.zeros(n, dtype),
                                 asnumpy=lambda a: a)


@pytest.mark.parametrize(("kind", "expect"), [
    ("ok", None),
    ("no_nvrtc", "NVRTC, which compiles the kernels, cannot be loaded"),
    ("no_headers", "could not compile or run a test kernel"),
    ("wrong", "a test kernel gave wrong results"),
])
def test_the_cuda_probe_checks_nvrtc_and_compiles_a_tiny_kernel(monkeypatch, kind, expect):
    fake = _fake_cupy(nvrtc_ok=kind != "no_nvrtc",
                      compile_error="Failed to find CUDA headers" if kind == "no_headers" else None,
                      wrong=kind == "wrong")
    monkeypatch.setitem(sys.modules, "cupy", fake)
    backend.probe_cuda.cache_clear()
    try:
        p = backend.probe_cuda(0)
    finally:
        backend.probe_cuda.cache_clear()
    if expect is None:
        assert p.ok and p.device == "cuda:0 Fake H100"
    else:
        assert not p.ok and expect in p.reason
        assert "simgpu[cuda12]" in p.reason or "wrong results" in p.reason


def test_a_plan_beyond_the_kernel_engines_falls_back_under_auto_only(caplog):
    why = "a pool has 2,000,000,000 nodes online"
    assert backend.fallback_for_plan(Backend.cpu, "cpu", "cpu (2 threads)", None) == (
        "cpu", "cpu (2 threads)")
    with caplog.at_level("INFO", logger="simgpu.backend"):
        assert backend.fallback_for_plan(Backend.auto, "cpu", "cpu (2)", why) == ("numpy", "cpu")
    assert why in caplog.text
    with pytest.raises(BackendUnavailable, match="sim.backend=cupy cannot run this"):
        backend.fallback_for_plan(Backend.cupy, "cupy", "cuda:0", why)


def test_auto_uses_the_gpu_when_the_engine_and_a_device_are_there(monkeypatch, caplog):
    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(True, "H100", "cuda:0 H100"))
    with caplog.at_level("INFO", logger="simgpu.backend"):
        assert backend.select(Backend.auto, 0) == ("cupy", "cuda:0 H100")
    assert "using CuPy" in caplog.text


def test_auto_logs_why_it_chose_numpy(monkeypatch, caplog):
    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(False, "no usable CUDA driver"))
    monkeypatch.setattr(backend, "probe_cpu",
                        lambda: backend.Probe(False, "no C++ compiler found"))
    with caplog.at_level("INFO", logger="simgpu.backend"):
        assert backend.select(Backend.auto, 0) == ("numpy", "cpu")
    assert "no usable CUDA driver" in caplog.text


def test_probe_names_a_missing_device_on_this_machine():
    p = backend.probe_cuda(10_000)
    assert not p.ok and p.reason


@pytest.mark.gpu
def test_probe_finds_the_gpu():
    p = backend.probe_cuda(0)
    assert p.ok, p.reason
    assert p.device.startswith("cuda:0")
