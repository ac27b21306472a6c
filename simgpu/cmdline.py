"""What the console scripts share about their command lines: Hydra's flags (with their
values), the configuration's overrides and Hydra's own overrides, taken apart as Hydra's
parser sees them.

The commands (``simgpu``, ``simgpu-perf``, ...) sit above the libraries; this module sits
below them all and imports nothing of simgpu, so a library never has to import a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MULTIRUN = ("-m", "--multirun")
#: Hydra flags that take a value (the next argument, or after '=').
_VALUE_FLAGS = {"-cp": "config_path", "--config-path": "config_path",
                "-cn": "config_name", "--config-name": "config_name",
                "-cd": "config_dir", "--config-dir": "config_dir",
                "-c": "cfg", "--cfg": "cfg", "-p": "package", "--package": "package",
                "--experimental-rerun": "rerun"}
_INFO_CHOICES = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
#: Flags after which nothing is run or checked: help, version, info, shell completion.
_NO_CHECK = ("-h", "--help", "--hydra-help", "--version", "-i", "--info", "-sc",
             "--shell-completion", "--experimental-rerun")


@dataclass
class CommandLine:
    """A ``simgpu`` command line, taken apart as Hydra's parser sees it."""

    flags: list[str] = field(default_factory=list)  # Hydra flags with their values
    overrides: list[str] = field(default_factory=list)  # of the configuration
    hydra: list[str] = field(default_factory=list)  # hydra.* and hydra/* overrides
    options: dict[str, str] = field(default_factory=dict)  # config_dir, cfg, ... -> value
    switches: set[str] = field(default_factory=set)  # flags without a value

    @property
    def multirun(self) -> bool:
        return bool(self.switches & set(MULTIRUN))

    @property
    def mode(self) -> str:
        """``none`` (help, info...), ``print`` (``--cfg``), ``sweep`` or ``run``."""
        if self.switches & set(_NO_CHECK) or "rerun" in self.options \
                or "config_path" in self.options:
            return "none"
        if "cfg" in self.options or "package" in self.options or "--resolve" in self.switches:
            return "print"
        return "sweep" if self.multirun else "run"

    def argv(self, overrides: list[str] | None = None) -> list[str]:
        """The command line for Hydra, with ``overrides`` (normalised) in place of ours."""
        return [*self.flags, *(self.overrides if overrides is None else overrides),
                *self.hydra]


def parse(argv: list[str]) -> CommandLine:
    """Take a command line apart: flags (with values), config and Hydra overrides."""
    cl = CommandLine()
    it = iter(range(len(argv)))
    for i in it:
        a = argv[i]
        if a.startswith("-"):
            name, eq, inline = a.partition("=")
            cl.flags.append(a)
            if name in _VALUE_FLAGS:
                if eq:
                    cl.options[_VALUE_FLAGS[name]] = inline
                elif i + 1 < len(argv):
                    cl.options[_VALUE_FLAGS[name]] = argv[i + 1]
                    cl.flags.append(argv[i + 1])
                    next(it, None)
            elif name in ("-i", "--info"):
                cl.switches.add(name)
                if not eq and i + 1 < len(argv) and argv[i + 1] in _INFO_CHOICES:
                    cl.flags.append(argv[i + 1])
                    next(it, None)
            else:
                cl.switches.add(name)
        elif a.lstrip("+~").startswith(("hydra.", "hydra/")):
            cl.hydra.append(a)
        else:
            cl.overrides.append(a)
    return cl




def override_value(argv: list[str], key: str) -> str | None:
    """The value a command line gives ``key`` (e.g. ``hydra.run.dir``), or None."""
    for a in argv:
        k, _, value = a.lstrip("+").partition("=")
        if k == key:
            return value
    return None
