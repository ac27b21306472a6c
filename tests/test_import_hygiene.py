"""``import simgpu`` is light: no CuPy, no pyplot, no Hydra; ``simgpu.run`` is the function."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import simgpu

HEAVY = ("cupy", "matplotlib.pyplot", "hydra")


def test_import_simgpu_loads_no_heavy_modules():
    code = (
        "import json, sys\n"
        "import simgpu\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "                        if any(m == h or m.startswith(h + '.') for h in heavy))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == []


def test_simgpu_run_is_the_function():
    from simgpu.run import run as run_fn

    assert callable(simgpu.run)
    assert simgpu.run is run_fn
    assert not isinstance(simgpu.run, type(sys))  # not the module
    assert callable(simgpu.compose)


def test_run_module_does_not_import_hydra():
    src = Path(sys.modules["simgpu.run"].__file__).read_text()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        assert not any(n == "hydra" or n.startswith("hydra.") for n in names), names
