"""Shared fixtures: a tiny version of the default experiment that runs in about a second."""

from __future__ import annotations

import pytest
from tiny_config import TINY_OVERRIDES


@pytest.fixture
def tiny_overrides() -> list[str]:
    """Overrides that make the default experiment run in about a second (a fresh list)."""
    return list(TINY_OVERRIDES)


# ----------------------------------------------------------------------------- GPU tests


@pytest.hookimpl(tryfirst=True)  # before `-m 'not slow'` deselects
def pytest_collection_modifyitems(config, items):
    """Notebooks (nbmake items) are ``slow``: executing one takes most of a minute.

    Skip ``gpu`` tests with the probe's reason where no GPU is usable; with
    ``SIMGPU_REQUIRE_GPU=1`` they run anyway, and fail instead of being skipped."""
    import os

    for it in items:
        if it.path.suffix == ".ipynb":
            it.add_marker(pytest.mark.slow)
    gpu_items = [it for it in items if it.get_closest_marker("gpu")]
    if not gpu_items or os.environ.get("SIMGPU_REQUIRE_GPU") == "1":
        return
    from simgpu.backend import probe_cuda

    probe = probe_cuda(0)
    if probe.ok:
        return
    skip = pytest.mark.skip(reason=f"no usable GPU: {probe.reason} "
                                   "(SIMGPU_REQUIRE_GPU=1 makes this a failure)")
    for it in gpu_items:
        it.add_marker(skip)
