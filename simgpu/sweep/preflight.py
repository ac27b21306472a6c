"""Checks of a multirun before any job starts: swept keys and values, launcher, directory.

``simgpu -m key=a,b other=x,y`` is checked by composing the base point (every sweep at its
first value) and, for each swept key, each of its other values with the rest at the base:
a key that does not exist or a value out of range is reported, with every other problem,
before Hydra launches anything. A launcher whose plugin is not installed names the extra
to install; a ``hydra.sweep.dir`` that holds another experiment's results is refused.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from simgpu.errors import ConfigError, Problem

#: Launcher names (Hydra's and simgpu's presets in conf/hydra/launcher) -> the plugin
#: module and how to install it.
LAUNCHERS = {
    "basic": (None, ""),
    "joblib": ("hydra_plugins.hydra_joblib_launcher", 'pip install "simgpu[joblib]"'),
    "gpu_box": ("hydra_plugins.hydra_joblib_launcher", 'pip install "simgpu[joblib]"'),
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", 'pip install "simgpu[slurm]"'),
    "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", 'pip install "simgpu[slurm]"'),
    "slurm_gpu": ("hydra_plugins.hydra_submitit_launcher", 'pip install "simgpu[slurm]"'),
    "local_check": ("hydra_plugins.hydra_submitit_launcher", 'pip install "simgpu[slurm]"'),
    "ray": ("hydra_plugins.hydra_ray_launcher", "pip install hydra-ray-launcher"),
    "ray_aws": ("hydra_plugins.hydra_ray_launcher", "pip install hydra-ray-launcher"),
}
#: Most configurations composed by one pre-flight (the base point and one per other value).
MAX_CHECKS = 64


def _is_hydra(arg: str) -> bool:
    return arg.lstrip("+~").startswith(("hydra.", "hydra/"))


def expand(overrides: list[str]) -> list[tuple[str, list[str]]]:
    """Each override as ``(key, [override strings, one per value])``; a plain override has
    one value. Raises ConfigError for overrides Hydra cannot parse or sweep."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    out = []
    for arg in overrides:
        try:
            (ov,) = parser.parse_overrides([arg])
            key = ov.get_key_element()
            if ov.is_sweep_override():
                vals = [f"{key}={v}" for v in ov.sweep_string_iterator()]
            else:
                vals = [arg]
        except (HydraException, ValueError, TypeError) as exc:
            raise ConfigError([Problem(arg.partition("=")[0], arg.partition("=")[2],
                                       f"cannot be swept: {exc}")]) from None
        out.append((key, vals))
    return out


def check_launcher(hydra_overrides: list[str]) -> list[Problem]:
    """A problem for a ``hydra/launcher=...`` whose plugin is not installed."""
    from simgpu.cmdline import override_value

    name = override_value(hydra_overrides, "hydra/launcher")
    if name not in LAUNCHERS:
        return []
    module, how = LAUNCHERS[name]
    if module and importlib.util.find_spec(module) is None:
        return [Problem("hydra/launcher", name, f"its plugin ({module}) is not installed: {how}")]
    return []


def check_sweep_dir(hydra_overrides: list[str], name: str) -> list[Problem]:
    """A problem when ``hydra.sweep.dir`` holds complete jobs of another experiment."""
    from simgpu.cmdline import override_value
    from simgpu.sweep.marker import read_marker

    value = override_value(hydra_overrides, "hydra.sweep.dir")
    if value is None or not Path(value).is_dir():
        return []
    for job in sorted(p for p in Path(value).iterdir() if p.is_dir()):
        m = read_marker(job)
        if m is not None and m.get("name") != name:
            return [Problem("hydra.sweep.dir", value,
                            f"holds results of experiment {m.get('name')!r} ({job.name}/), "
                            f"not {name!r}: choose another directory")]
    return []


def check_sweep(args: list[str]) -> None:
    """Check a multirun command line (without ``-m``); ConfigError with every problem."""
    from simgpu.cli import check
    from simgpu.config.load import compose

    hydra_args = [a for a in args if _is_hydra(a)]
    problems = check_launcher(hydra_args)
    expanded = expand([a for a in args if not a.startswith("-") and not _is_hydra(a)])
    base = [vals[0] for _, vals in expanded]
    points = [base]
    for i, (_, vals) in enumerate(expanded):
        for v in vals[1:]:
            points.append(base[:i] + [v] + base[i + 1:])
    seen = set()
    for pt in points[:MAX_CHECKS]:
        try:
            check(pt)
        except ConfigError as exc:
            for p in exc.problems:
                k = (p.key, repr(p.value), p.message)
                if k not in seen:
                    seen.add(k)
                    problems.append(p)
    if not problems:
        try:
            name = compose(base).name
        except ConfigError:
            name = None
        if name is not None:
            problems += check_sweep_dir(hydra_args, name)
    if problems:
        raise ConfigError(problems)
