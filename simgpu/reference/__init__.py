"""Reference implementations used to check the engines: an independent, per-node,
continuous-time discrete-event simulation (:mod:`simgpu.reference.des`, needs SimPy).

``simulate_des`` is imported lazily so that importing this package does not need SimPy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["simulate_des"]


def __getattr__(name: str) -> Any:
    if name == "simulate_des":
        from simgpu.reference.des import simulate_des

        return simulate_des
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
