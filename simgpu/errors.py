"""Exceptions that simgpu raises for user mistakes (no traceback at the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem found in a configuration.

    Attributes
    ----------
    key : str
        Dotted key of the offending value, e.g. ``leases.colossus_one.share``.
    value : Any
        The offending value as given.
    message : str
        What is wrong and what would be right.
    """

    key: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.key}={self.value!r}: {self.message}"


class SimgpuError(Exception):
    """Base class of the errors that the CLI reports without a traceback."""


class ConfigError(SimgpuError):
    """Every problem found in a configuration, reported together.

    Parameters
    ----------
    problems : list of Problem
        Each with its dotted key, offending value and message.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        lines = [f"invalid configuration: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class BackendUnavailable(SimgpuError):
    """The requested compute backend cannot be used; the message says why."""


class RunDirError(SimgpuError):
    """An output directory cannot be used (exists with results, holds no run, ...)."""
