"""The report: figures (matplotlib, the package's only plotting import), a multi-page PDF
and a markdown summary, rendered from a run in memory or re-rendered from its directory.

Import this package only where a report is drawn: it imports matplotlib (never
``matplotlib.pyplot``; figures use the Agg canvas directly).
"""

from simgpu.report.data import ReportData, load_run
from simgpu.report.render import render, render_data, render_results

__all__ = ["ReportData", "load_run", "render", "render_data", "render_results"]
