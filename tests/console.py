"""Running the installed console scripts in a subprocess (shared by the CLI tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def script(name: str) -> str | None:
    """The console script ``name`` of this interpreter's environment (else the PATH's)."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


SIMGPU = script("simgpu")
needs_simgpu = pytest.mark.skipif(SIMGPU is None, reason="simgpu console script not installed")


def simgpu(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess[str]:
    """``simgpu *args`` in ``cwd`` with Hydra's short error reports; output captured."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([SIMGPU, *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600, check=False, **kw)


#: Python that imports simgpu, composes the default and runs the throughput model: prints
#: ``2`` and ``True`` (where the package and its configs are found is what is tested).
IMPORT_CHECK = (
    "import simgpu, simgpu.conf, simgpu.perf; "
    "print(simgpu.compose(['sim.replicas=2']).sim.replicas); "
    "m = dict(layers=32, hidden=4096, heads=32, ffn_hidden=14336, vocab=128256, "
    "seq_len=8192); p = dict(tp=8, pp=1, global_batch=64, micro_batch=1, "
    "recompute='full'); print(simgpu.perf.estimate(m, p, 'h100', gpus=8).mfu > 0)")
