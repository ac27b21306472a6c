"""The ``simgpu-report`` console script: re-render the report of a saved run.

Usage: ``simgpu-report RUN_DIR [--formats png,pdf,markdown]``. A directory that holds no
run exits with code 2 and one message, and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simgpu.errors import SimgpuError

FORMATS = ("png", "pdf", "markdown")


def parse_formats(text: str, allow_none: bool = False) -> list[str] | None:
    """The formats of a ``--formats`` value (comma-separated names of :data:`FORMATS`;
    ``none``, the empty list, where ``allow_none``), or None when it names none or an
    unknown one."""
    fmts = [f.strip() for f in text.split(",") if f.strip()]
    if allow_none and fmts == ["none"]:
        return []
    if not fmts or any(f not in FORMATS for f in fmts):
        return None
    return fmts


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="simgpu-report",
        description="Re-render the figures, PDF and markdown report of a finished simgpu run "
                    "from its output directory (config.yaml, raw.npz, summary.json); "
                    "nothing is simulated.")
    ap.add_argument("run_dir", type=Path, help="output directory of a `simgpu` run")
    ap.add_argument("--formats", default=None,
                    help="comma-separated subset of png,pdf,markdown "
                         "(default: the run's report.formats)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns (and exits with) 0 on success, 2 on a user mistake."""
    args = _parse(argv)
    fmts = None
    if args.formats is not None:
        fmts = parse_formats(args.formats)
        if fmts is None:
            print(f"simgpu-report: --formats {args.formats!r}: choose from "
                  f"{', '.join(FORMATS)}", file=sys.stderr)
            sys.exit(2)
    from simgpu.report.data import is_run_dir
    from simgpu.report.render import render

    d = args.run_dir
    if not d.is_dir() or not any(is_run_dir(d, n) for n in _summary_names(d)):
        print(f"simgpu-report: {d} holds no simgpu run (expected config.yaml, raw.npz and "
              "summary.json from a finished `simgpu` run)", file=sys.stderr)
        sys.exit(2)
    try:
        written = render(d, fmts)
    except SimgpuError as exc:
        print(f"simgpu-report: {exc}", file=sys.stderr)
        sys.exit(2)
    for p in written:
        print(p)
    md = [p for p in written if p.name == "report.md"]
    if md:
        print(f"\nreport: {md[0]}")
    return 0


def _summary_names(d: Path) -> list[str]:
    """The summary file names a run in ``d`` may use: the default and the one its
    ``config.yaml`` names."""
    names = ["summary.json"]
    cfg = d / "config.yaml"
    if cfg.is_file():
        try:
            import yaml

            doc = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
            name = (doc.get("report") or {}).get("summary")
            if isinstance(name, str) and name:
                names.append(name)
        except Exception:  # noqa: BLE001 - a broken config is reported by render
            names.append("")
    return names


if __name__ == "__main__":
    sys.exit(main())
