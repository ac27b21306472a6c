"""``sim.replica_offset``: a run of replicas [offset, offset + n) is that slice of the run
of replicas [0, N), on every engine, per-day series included."""

from __future__ import annotations

import copy
import dataclasses
import functools

import numpy as np
import pytest
from tiny_config import TINY_OVERRIDES

import simgpu
from simgpu.config import load
from simgpu.config.schema import SimgpuConfig
from simgpu.engine import kernels
from simgpu.engine.numpy_engine import RawResults
from simgpu.errors import ConfigError

#: Two chunks of a 5-replica run; the per-day series belong to replicas 0-2 (the first
#: chunk holds two of them, the second one).
CHUNKS = [(0, 2), (2, 3)]
DAILY = ["report.daily_series=true", "report.daily_replicas=3", "sim.horizon_days=6"]


@functools.cache
def _config() -> SimgpuConfig:
    return load(simgpu.compose([*TINY_OVERRIDES, *DAILY]))


def _run(backend: str, replicas: int, offset: int = 0) -> simgpu.Results:
    cfg = copy.deepcopy(_config())
    cfg.sim = dataclasses.replace(cfg.sim, backend=backend, replicas=replicas,
                                  replica_offset=offset)
    return simgpu.run(cfg)


@pytest.mark.parametrize("backend", [
    "numpy",
    pytest.param("cpu", marks=pytest.mark.skipif(
        kernels.find_host_compiler() is None,
        reason="no C++ compiler for the host build of the kernels")),
    pytest.param("cupy", marks=pytest.mark.gpu),
])
def test_chunks_are_slices_of_the_whole_run(backend):
    whole = _run(backend, 5).raw
    parts = [_run(backend, n, off).raw for off, n in CHUNKS]
    assert [p.job_finish_h.shape[1] for p in parts] == [2, 3]
    # replica 2 is the only daily one of the second chunk; the first chunk holds 0 and 1
    assert [p.cap_daily.shape[1] for p in parts] == [2, 1]
    joined = RawResults.concat([_without_daily(p) for p in parts])
    for name in RawResults.__dataclass_fields__:
        if name == "cap_daily":
            got = np.concatenate([p.cap_daily for p in parts], axis=1)
        else:
            got = getattr(joined, name)
        assert np.array_equal(getattr(whole, name), got, equal_nan=True), name
    # and the chunks differ from each other: the offset does move the random numbers
    assert not np.array_equal(parts[0].job_finish_h, parts[1].job_finish_h[:, :2])


def _without_daily(raw: RawResults) -> RawResults:
    return RawResults(**{**vars(raw), "cap_daily": None})


def test_a_chunk_past_the_daily_replicas_records_no_daily_series():
    raw = _run("numpy", 2, offset=3).raw
    assert raw.cap_daily is None


@pytest.mark.parametrize(("overrides", "value", "fragment"), [
    (["sim.replica_offset=-1"], -1, "[0, 2**32)"),
    (["sim.replica_offset=4294967295", "sim.replicas=2"], 4294967295, "at most 2**32"),
])
def test_a_bad_offset_names_key_and_value(overrides, value, fragment):
    with pytest.raises(ConfigError) as err:
        simgpu.run(simgpu.compose([*TINY_OVERRIDES, *overrides]))
    msg = str(err.value)
    assert "sim.replica_offset" in msg and str(value) in msg and fragment in msg, msg
