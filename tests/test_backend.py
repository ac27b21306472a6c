"""Backend selection: explicit choices are honoured or refused with the probe's reason."""

from __future__ import annotations

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


def test_auto_uses_the_gpu_when_the_engine_and_a_device_are_there(monkeypatch, caplog):
    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(True, "H100", "cuda:0 H100"))
    with caplog.at_level("INFO", logger="simgpu.backend"):
        assert backend.select(Backend.auto, 0) == ("cupy", "cuda:0 H100")
    assert "using CuPy" in caplog.text


def test_auto_logs_why_it_chose_numpy(monkeypatch, caplog):
    monkeypatch.setattr(backend, "probe_cuda",
                        lambda device_id=0: backend.Probe(False, "no usable CUDA driver"))
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
