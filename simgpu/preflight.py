"""Checks of a ``simgpu`` command line before Hydra writes anything.

A run is composed exactly as Hydra will compose it (the same overrides, the same config
directory), validated and sized (:func:`simgpu.run.prepare`), and its output directory is
resolved from Hydra's own configuration and refused if it holds a finished run, so a
refused run leaves every file on disk as it was. A multirun (``-m``) is checked before any
job starts: every value of every swept key (the base point, then each other value with the
rest at the base), the launcher's plugin, and a sweep directory holding another
experiment's results. Printing the config (``--cfg``) checks the composition only.

Every mistake is one :class:`~simgpu.errors.ConfigError` naming key and value; the
overrides to hand to Hydra are the normalised ones (:mod:`simgpu.config.compose`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from simgpu.cmdline import CommandLine, override_value, parse
from simgpu.config.compose import CONFIG_NAME, Composer
from simgpu.errors import ConfigError, OutputExists, Problem, SimgpuError

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
    "ray": ("hydra_plugins.hydra_ray_launcher", 'pip install "simgpu[ray]"'),
    "ray_aws": ("hydra_plugins.hydra_ray_launcher", 'pip install "simgpu[ray]"'),
    "ray_local": ("hydra_plugins.hydra_ray_launcher", 'pip install "simgpu[ray]"'),
    "ray_cluster": ("hydra_plugins.hydra_ray_launcher", 'pip install "simgpu[ray]"'),
}
#: Most configurations composed by one sweep pre-flight (the base point and one per value).
MAX_CHECKS = 64

def check_command_line(cl: CommandLine) -> list[str]:
    """Check what a command line would do; the normalised overrides to give Hydra.

    Raises
    ------
    SimgpuError
        ConfigError with every problem found; OutputExists for a run directory that
        holds a finished run.
    """
    mode = cl.mode
    if mode == "none":
        return cl.overrides
    composer = Composer(cl.options.get("config_name", CONFIG_NAME), cl.options.get("config_dir"))
    if mode == "print":
        return composer.resolve(cl.overrides)
    if mode == "sweep":
        check_sweep(cl)
        return cl.overrides
    overrides, prepared = check_run(composer, cl.overrides)
    run_dir = resolved_run_dir(composer, overrides, cl.hydra)
    report = prepared.config.report
    if run_dir and not report.overwrite and _holds_results(run_dir, report.summary):
        raise OutputExists(run_dir)
    return overrides


def check_run(composer: Composer, overrides: list[str]):
    """Compose, validate and size one run; ``(normalised overrides, Prepared)``.

    Overrides that cannot be composed are reported, and the rest of the configuration is
    still checked without them, so one run of the command shows every mistake.
    """
    from simgpu.run import prepare

    try:
        resolved = composer.resolve(overrides)
    except ConfigError as exc:
        bad = {p.key for p in exc.problems}
        good = [o for o in overrides if o.partition("=")[0].lstrip("+~") not in bad]
        problems = list(exc.problems)
        if len(good) < len(overrides):
            try:
                prepare(composer.compose(composer.resolve(good)))
            except ConfigError as more:
                problems += more.problems
            except SimgpuError:
                pass
        raise ConfigError(problems) from None
    return resolved, prepare(composer.compose(resolved))


def resolved_run_dir(composer: Composer, overrides: list[str], hydra: list[str]) -> str | None:
    """The output directory Hydra will use (``hydra.run.dir`` resolved), or None."""
    from omegaconf import OmegaConf

    try:
        cfg = composer.compose([*overrides, *hydra], return_hydra_config=True)
        return str(OmegaConf.select(cfg, "hydra.run.dir"))
    except Exception:  # an unusable hydra.* override: Hydra itself will say so
        return override_value(hydra, "hydra.run.dir")


def _holds_results(out: str, summary: str) -> bool:
    from simgpu.run import holds_results

    return holds_results(out, summary)


# ---------------------------------------------------------------------- multirun


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
    name = override_value(hydra_overrides, "hydra/launcher")
    if name not in LAUNCHERS:
        return []
    module, how = LAUNCHERS[name]
    if module and importlib.util.find_spec(module) is None:
        return [Problem("hydra/launcher", name, f"its plugin ({module}) is not installed: {how}")]
    return []


def check_sweep_dir(hydra_overrides: list[str], name: str) -> list[Problem]:
    """A problem when ``hydra.sweep.dir`` holds complete jobs of another experiment."""
    from simgpu.marker import read_marker

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


def check_sweep(cl: CommandLine | list[str]) -> None:
    """Check a multirun command line; ConfigError with every problem."""
    if not isinstance(cl, CommandLine):
        cl = parse(list(cl))
    composer = Composer(cl.options.get("config_name", CONFIG_NAME), cl.options.get("config_dir"))
    problems = check_launcher(cl.hydra)
    expanded = expand(cl.overrides)
    base = [vals[0] for _, vals in expanded]
    points = [base]
    for i, (_, vals) in enumerate(expanded):
        for v in vals[1:]:
            points.append(base[:i] + [v] + base[i + 1:])
    seen = set()
    for pt in points[:MAX_CHECKS]:
        try:
            check_run(composer, pt)
        except ConfigError as exc:
            for p in exc.problems:
                k = (p.key, repr(p.value), p.message)
                if k not in seen:
                    seen.add(k)
                    problems.append(p)
    if not problems:
        try:
            name = composer.compose(composer.resolve(base)).name
        except ConfigError:
            name = None
        if name is not None:
            problems += check_sweep_dir(cl.hydra, name)
    if problems:
        raise ConfigError(problems)
