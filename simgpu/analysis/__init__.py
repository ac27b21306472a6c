"""Landlord-control metrics and the summary document."""

from simgpu.analysis.summary import SCHEMA, control_index, dist, summarize

__all__ = ["SCHEMA", "control_index", "dist", "summarize"]
