"""The ``simgpu-aggregate`` console script: one table and the sweep figures of a multirun.

Usage: ``simgpu-aggregate SWEEP_DIR [--out DIR] [--metric PATH ...] [-v]``; ``SWEEP_DIR``
is a multirun directory or one run's output directory (its in-batch sweeps).
``simgpu-aggregate --merge SWEEP_DIR [--out DIR] [--formats LIST]`` merges the chunks of one
large run (``simgpu -m sim.replica_offset=0,100,200 sim.replicas=100``) into that run's
results and report (:mod:`simgpu.sweep.merge`; default ``SWEEP_DIR/merged``).

Exit codes: 0 when at least one job was complete (incomplete ones are skipped, warned
about and listed in ``aggregate.json``); 1 when job directories exist but none is
complete (only ``aggregate.json`` is written, listing them); 2 with a one-line message and
nothing written when ``SWEEP_DIR`` does not exist, holds neither a job directory nor a run,
or ``--metric`` names nothing in its summaries; with ``--merge``, 2 with a one-line message
and nothing written when the jobs are incomplete, are not chunks of one run or do not tile
their replicas. :mod:`simgpu.sweep.aggregate` documents the tables, columns and figures.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from simgpu.errors import SimgpuError

PROG = "simgpu-aggregate"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Collect every complete job's summary.json of a `simgpu -m` sweep (or "
                    "one run's, for its in-batch sweeps) into one table (runs.csv, "
                    "points.csv for in-batch sweeps; Parquet too when pyarrow is "
                    "installed) with the swept parameters as columns, and draw the sweep "
                    "figures (a metric against each lever with P10-P90 bands, averaged over "
                    "sim.seed, baselines marked, lower bounds hollow with an arrow; a "
                    "heatmap over two levers). Incomplete jobs are skipped and listed.")
    ap.add_argument("sweep_dir", type=Path,
                    help="a multirun directory written by `simgpu -m`, or one run's "
                         "output directory")
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default: SWEEP_DIR/aggregate)")
    ap.add_argument("--metric", action="append", default=None, metavar="PATH",
                    help="dotted metric to plot, relative to the first tenant "
                         "(final_milestone_day, dependency_share, delay_days...) or absolute "
                         "(jobs.frontier_1.finish_day, leases.colossus_one.paid_usd); "
                         "repeat for several (default: final_milestone_day, delay_days, "
                         "no_lease_delay_days, dependency_share, control_index and "
                         "effective_usd_per_gpu_hour)")
    ap.add_argument("--merge", action="store_true",
                    help="SWEEP_DIR's jobs are chunks of one run (the same configuration "
                         "but sim.replica_offset and sim.replicas, their replicas tiling "
                         "[0, N)): write that run's config.yaml, raw.npz, summary.json "
                         "(byte-identical to `simgpu sim.replicas=N`'s) and report into "
                         "--out (default: SWEEP_DIR/merged)")
    ap.add_argument("--formats", default=None,
                    help="with --merge: comma-separated subset of png,pdf,markdown for the "
                         "merged report, or 'none' (default: the run's report.formats)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    return ap.parse_args(argv)


def _fail(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 on success, exits 1 when no job is complete, 2 on a user
    mistake."""
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"{PROG}: %(levelname)s: %(message)s")
    if args.merge:
        return _merge(args)
    if args.formats is not None:
        _fail("--formats applies to --merge only")
    from simgpu.sweep.aggregate import collect, write

    if args.metric is not None:
        metrics = [m.strip() for m in args.metric if m.strip()]
        if not metrics:
            _fail("--metric: give a dotted metric path, e.g. final_milestone_day")
    else:
        metrics = None
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        _fail(f"--out {args.out} exists and is not a directory")
    try:
        agg = collect(args.sweep_dir)
        written = write(agg, args.out, metrics)  # checks --metric before writing anything
    except SimgpuError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the aggregation: {exc}")
    for p in written:
        print(p)
    n, m = len(agg.runs), len(agg.incomplete)
    skipped = f"; {m} incomplete, skipped: {', '.join(i['job'] for i in agg.incomplete)}" \
        if m else ""
    params = ", ".join(agg.params) or "none"
    print(f"\naggregated {n} of {agg.job_dirs} jobs ({len(agg.points)} in-batch sweep points; "
          f"swept: {params}){skipped}")
    if not agg.runs:
        print(f"{PROG}: no complete job in {args.sweep_dir}: only {written[-1].name} was "
              "written", file=sys.stderr)
        sys.exit(1)
    return 0


def _merge(args: argparse.Namespace) -> int:
    from simgpu.report.cli import FORMATS, parse_formats
    from simgpu.sweep.merge import OUT_NAME, merge, write_merged

    if args.metric is not None:
        _fail("--metric does not apply to --merge (aggregate the merged run's directory)")
    fmts = None
    if args.formats is not None:
        fmts = parse_formats(args.formats, allow_none=True)
        if fmts is None:
            _fail(f"--formats {args.formats!r}: choose from {', '.join(FORMATS)}, or none")
    out = args.out if args.out is not None else args.sweep_dir / OUT_NAME
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} exists and is not a directory")
    try:
        results, chunks = merge(args.sweep_dir)
        written = write_merged(results, out, fmts)
    except SimgpuError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the merged run: {exc}")
    for p in written:
        print(p)
    spans = ", ".join(f"{c.job}: [{c.offset}, {c.end})" for c in chunks)
    print(f"\nmerged {len(chunks)} jobs into one run of {results.summary['replicas']} "
          f"replicas ({spans}); sensitivity: {results.facts['sensitivity']}")
    print(f"summary: {out / results.config.report.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
