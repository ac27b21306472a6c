"""Sweeps: collect the jobs of a Hydra multirun (``simgpu -m``) into one table and draw the
sweep figures (``simgpu-aggregate SWEEP_DIR``), and merge the chunks of one large run
(``sim.replica_offset``) into that run (``simgpu-aggregate --merge SWEEP_DIR``,
:mod:`simgpu.sweep.merge`).

Import this package only where a sweep is aggregated: writing its figures imports
matplotlib (never ``matplotlib.pyplot``; figures use the Agg canvas directly).
"""

from simgpu.sweep.aggregate import Aggregate, SweepDirError, collect, write

__all__ = ["Aggregate", "SweepDirError", "collect", "write"]
