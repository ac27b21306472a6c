"""The stepped engine: plan compiler, NumPy engine (the specification), per-step progress."""

from simgpu.engine.numpy_engine import RawResults, simulate
from simgpu.engine.plan import Plan, compile_plan

__all__ = ["Plan", "RawResults", "compile_plan", "simulate"]
