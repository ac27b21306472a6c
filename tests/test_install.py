"""simgpu installed for real, regular and editable, used from the repository root (where
the source tree shadows the installed package) and from elsewhere (slow: builds twice)."""

from __future__ import annotations

import os
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest
from console import IMPORT_CHECK

REPO = Path(__file__).resolve().parents[1]


def _env_with_our_dependencies(tmp: Path) -> Path:
    """A fresh venv that sees this environment's packages (numpy, Hydra, ...) but not
    simgpu, through a ``.pth`` file naming a folder of links to them: so installing
    simgpu with ``--no-deps`` is quick and needs no network."""
    target = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    py = target / "bin" / "python"
    links = tmp / "deps"
    links.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("simgpu", "__editable__", "_simgpu")) and \
                not entry.name.endswith(".pth"):
            (links / entry.name).symlink_to(entry)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "_simgpu_test_deps.pth").write_text(f"{links}\n")
    return py


@pytest.mark.slow
@pytest.mark.parametrize("editable", [False, True], ids=["regular", "editable"])
def test_an_install_works_from_the_repository_root_and_elsewhere(tmp_path, editable):
    py = _env_with_our_dependencies(tmp_path)
    assert subprocess.run([str(py), "-c", "import simgpu"], cwd=tmp_path,
                          capture_output=True, check=False).returncode != 0
    args = [str(py), "-m", "pip", "install", "--quiet", "--no-deps",
            *(["-e"] if editable else []), str(REPO)]
    subprocess.run(args, check=True, timeout=600, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for cwd in (REPO, tmp_path):
        proc = subprocess.run([str(py), "-c", IMPORT_CHECK], cwd=cwd, capture_output=True,
                              text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, (cwd, proc.stderr)
        assert proc.stdout.split() == ["2", "True"], (cwd, proc.stdout)
