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
        if self.value is NO_VALUE:  # a place (a file and line), not a key with a value
            return f"{self.key}: {self.message}"
        return f"{self.key}={self.value!r}: {self.message}"


class _NoValue:
    def __repr__(self) -> str:
        return "NO_VALUE"


#: The ``value`` of a :class:`Problem` that names a place rather than a key's value.
NO_VALUE = _NoValue()


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


class OutputExists(RunDirError):
    """The output directory already holds the results of a run."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        super().__init__(f"{out_dir} already holds the results of a run: choose another "
                         "hydra.run.dir, or set report.overwrite=true to replace them")


class Interrupted(SimgpuError):
    """The run was stopped by a signal (Ctrl-C, SIGTERM); nothing half-written remains."""


class InvariantError(AssertionError):
    """A step invariant of the engine failed (``simulate(..., check=True)``): a bug in
    simgpu, not a user mistake, hence an ``AssertionError`` with its traceback rather than
    a :class:`SimgpuError`.

    Attributes
    ----------
    step : int
        The step, from 0.
    hour : float
        Its start, hours since ``sim.start``.
    history : int or None
        The history (``variant * n_replicas + replica`` of the batch); ``None`` when the
        quantity is physical (per replica, shared by every variant).
    quantity : str
        The invariant that failed.
    """

    def __init__(self, step: int, hour: float, history: int | None, quantity: str,
                 detail: str):
        self.step, self.hour, self.history, self.quantity = step, hour, history, quantity
        super().__init__(f"step {step} (hour {hour:g}): {quantity} fails at {detail}")
