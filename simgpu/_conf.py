"""``simgpu.conf`` in a source checkout: ``conf/`` beside the package, under that name.

An install maps ``conf/`` (at the repository root) into the package as ``simgpu.conf``.
A script, notebook or ``python -m simgpu...`` started at the repository root imports the
source tree's ``simgpu/`` instead of the installed one, and that has no ``conf``
subpackage; importing this module registers ``conf/`` beside it under that name (only when
nothing else provides it, and only when it is simgpu's: it holds ``config.yaml``).
"""

import importlib.util as _ilu
import sys as _sys
from pathlib import Path as _Path

_PACKAGE = "simgpu"


def register_source_conf() -> None:
    """Register ``<repository>/conf`` as ``simgpu.conf`` where the package lacks one."""
    here = _Path(__file__).resolve().parent
    root = here.parent / "conf"
    if (here / "conf").is_dir() or not (root / "__init__.py").is_file() or \
            not (root / "config.yaml").is_file():
        return
    if _ilu.find_spec(_PACKAGE + ".conf") is not None:  # an editable install's finder
        return
    spec = _ilu.spec_from_file_location(_PACKAGE + ".conf", root / "__init__.py",
                                         submodule_search_locations=[str(root)])
    module = _ilu.module_from_spec(spec)
    _sys.modules[spec.name] = module
    spec.loader.exec_module(module)


register_source_conf()
