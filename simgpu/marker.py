"""The completion marker of a run directory: ``COMPLETE``, written last and atomically.

A sweep job's directory is complete exactly when it holds this marker; the marker records
the experiment's name and the job's overrides, so a re-run of the same sweep into the same
directory skips the job (:mod:`simgpu.cli`) and ``simgpu-aggregate`` reads only complete
jobs (:mod:`simgpu.sweep.aggregate`).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from simgpu.io import atomic_write_json

MARKER = "COMPLETE"


def write_marker(out_dir: str | Path, name: str, overrides: list[str]) -> Path:
    """Mark ``out_dir`` complete: ``{"name", "overrides", "finished"}`` as JSON."""
    doc = {"name": name, "overrides": list(overrides),
           "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    return atomic_write_json(Path(out_dir) / MARKER, doc)


def read_marker(out_dir: str | Path) -> dict[str, Any] | None:
    """The marker of ``out_dir``, or None when it has none (or an unreadable one)."""
    try:
        with open(Path(out_dir) / MARKER, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
