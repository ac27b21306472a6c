"""Reference implementations used to check the engines: an independent, per-node,
continuous-time discrete-event simulation that reads the validated configuration itself.

* :mod:`simgpu.reference.world` derives every input from the configuration (never from the
  engine's plan): schedules, rates, leases and their variants, jobs, checkpoint intervals;
* :mod:`simgpu.reference.physical` draws a replica's physical history (node failures,
  repairs, outages, schedule changes), shared by all its variants;
* :mod:`simgpu.reference.des` replays it under each variant: contracts, allocation,
  progress (:func:`simulate_des_variants`, :func:`simulate_des`).

The functions are imported lazily, so that importing this package costs nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_world", "simulate_des", "simulate_des_variants"]


def __getattr__(name: str) -> Any:
    if name in ("simulate_des", "simulate_des_variants"):
        from simgpu.reference import des

        return getattr(des, name)
    if name == "build_world":
        from simgpu.reference.world import build_world

        return build_world
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
