"""Landlord-control metrics over replicas and the ``summary.json`` document."""

from simgpu.analysis.metrics import control_index, dist, interval_dist
from simgpu.analysis.summary import SCHEMA, summarize

__all__ = ["SCHEMA", "control_index", "dist", "interval_dist", "summarize"]
