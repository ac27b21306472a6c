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
