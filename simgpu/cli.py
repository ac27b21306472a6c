"""The ``simgpu`` console script: a thin ``@hydra.main`` over :func:`simgpu.run.run`.

Before Hydra creates an output directory, the pre-flight (:mod:`simgpu.preflight`)
composes the same overrides and runs every check, so bad input exits with code 2, one
clear message and nothing written or changed on disk; Hydra then gets the overrides the
pre-flight normalised. A multirun (``-m``) is checked the same way before any job starts.
Each job writes a completion marker (``COMPLETE``) last; a job whose directory already
holds one for the same overrides is skipped, so re-running a sweep into the same directory
resumes it. Results go to standard output; logs to standard error and the run's log file.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from simgpu.config.compose import CONFIG_NAME, CONFIG_PATH
from simgpu.config.store import register
from simgpu.errors import SimgpuError

log = logging.getLogger("simgpu")


# ------------------------------------------------------------------ stopping cleanly

#: What the run is doing, for the message when a signal stops it.
_STATE = {"phase": "starting", "out": None}


def _on_signal(signum, _frame):
    _STATE["signal"] = signum
    raise KeyboardInterrupt


@contextmanager
def _signal_stops_it():
    """Any error after a signal is the signal's doing: a ``KeyboardInterrupt`` raised
    inside a library (OmegaConf, zipfile) can leave its state half-changed, and the
    library's clean-up then raises another error in its place (OmegaConf's
    ``ConfigKeyError``, ``AttributeError``). Turned back into ``KeyboardInterrupt`` here,
    before Hydra would report it with a traceback and exit code 1."""
    try:
        yield
    except Exception:
        if "signal" in _STATE:
            raise KeyboardInterrupt from None
        raise


def _stopped_message(signum: int) -> str:
    import signal

    name = signal.Signals(signum).name if signum else "an interrupt"
    out, phase = _STATE["out"], _STATE["phase"]
    where = f" in {out}" if out else ""
    return (f"simgpu: stopped by {name} while {phase}{where}: no summary.json or COMPLETE "
            "was written for it (every file is written whole or not at all); run it again")


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=CONFIG_NAME)
def _main(cfg: DictConfig) -> None:
    with _signal_stops_it():
        _job(cfg)


def _job(cfg: DictConfig) -> None:
    from hydra.types import RunMode

    from simgpu.analysis.table import format_table
    from simgpu.backend import resolve_device
    from simgpu.errors import OutputExists
    from simgpu.marker import read_marker, write_marker
    from simgpu.run import holds_results, run

    hc = HydraConfig.get()
    out = hc.runtime.output_dir
    _STATE.update(out=out, phase="simulating")
    overrides = list(hc.overrides.task)
    sweep = hc.mode == RunMode.MULTIRUN
    if sweep:
        done = read_marker(out)
        if done is not None and done.get("overrides") == overrides:
            log.info("job %s already complete in %s: skipped", hc.job.num, out)
            return
        if cfg.sim.device_id < 0:  # one device per job on a multi-GPU box
            cfg.sim.device_id = resolve_device(cfg.sim.device_id, int(hc.job.num))
    elif not cfg.report.overwrite and holds_results(out, cfg.report.summary):
        log.error("%s", OutputExists(out))
        sys.exit(2)
    try:
        results = run(cfg)
    except SimgpuError as exc:
        if "signal" in _STATE:
            raise KeyboardInterrupt from None
        log.error("%s", exc)
        sys.exit(2)
    written = []
    if results.config.report.formats:  # before the summary, which marks a complete run
        from simgpu.report import render_results

        _STATE["phase"] = "writing the report"
        written = render_results(results, out)
    _STATE["phase"] = "writing the results"
    # a sweep job re-run after it was cut off replaces what it had left
    path = results.write(out, overwrite=True if sweep else None)
    write_marker(out, results.config.name, overrides)
    _STATE["phase"] = "done"
    print(format_table(results.summary, results.facts))
    print(f"\nsummary: {path}")
    md = [p for p in written if p.name == "report.md"]
    if md or written:
        print(f"report: {md[0] if md else written[0].parent}")


def main() -> None:
    """Entry point of the ``simgpu`` console script."""
    import signal

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:  # a signal while starting stops the run as one while simulating does
        register()
        from simgpu.preflight import check_command_line, parse

        cl = parse(sys.argv[1:])
        try:
            with _signal_stops_it():
                overrides = check_command_line(cl)
        except SimgpuError as exc:
            print(f"simgpu: {exc}", file=sys.stderr)
            sys.exit(2)
        sys.argv = [sys.argv[0], *cl.argv(overrides)]
        _main()
    except KeyboardInterrupt:
        signum = _STATE.get("signal", signal.SIGINT)
        log.error("%s", _stopped_message(signum).removeprefix("simgpu: "))
        print(_stopped_message(signum), file=sys.stderr)
        sys.exit(128 + int(signum))


if __name__ == "__main__":
    main()
