"""What the console scripts share about their command lines: which arguments are Hydra
flags, which are overrides, and whether a command line runs a job.

The commands (``simgpu``, ``simgpu-perf``, ...) sit above the libraries; this module sits
below them all and imports nothing of simgpu, so a library never has to import a command.
"""

from __future__ import annotations

#: Hydra flags after which the pre-flight is skipped (help, info, config printing,
#: shell completion, multirun: a multirun has its own pre-flight).
SKIP_PREFLIGHT = ("-h", "--help", "--hydra-help", "-i", "--info", "-c", "--cfg",
                  "--resolve", "--shell-completion", "-sc", "-m", "--multirun",
                  "-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir",
                  "--version", "-p", "--package")
MULTIRUN = ("-m", "--multirun")


def wants_preflight(argv: list[str]) -> bool:
    """Whether a command line runs a job (not help, config printing or a multirun)."""
    return not any(a in SKIP_PREFLIGHT or a.split("=")[0] in SKIP_PREFLIGHT for a in argv)


def is_sweep(argv: list[str]) -> bool:
    """Whether a command line launches a multirun that the sweep pre-flight checks."""
    rest = [a for a in argv if a not in MULTIRUN]
    return len(rest) < len(argv) and wants_preflight(rest)


def config_overrides(argv: list[str]) -> list[str]:
    """The overrides of the configuration: not flags, not ``hydra.*`` / ``hydra/*``."""
    return [a for a in argv if not a.startswith("-") and not a.startswith("hydra.")
            and not a.startswith("hydra/")]


def override_value(argv: list[str], key: str) -> str | None:
    """The value a command line gives ``key`` (e.g. ``hydra.run.dir``), or None."""
    for a in argv:
        k, _, value = a.lstrip("+").partition("=")
        if k == key:
            return value
    return None
