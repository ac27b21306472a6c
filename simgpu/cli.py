"""The ``simgpu`` console script: a thin ``@hydra.main`` over :func:`simgpu.run.run`.

Before Hydra creates an output directory, a pre-flight composes the same overrides and
runs every check (:func:`simgpu.run.prepare`), so bad input exits with code 2, one clear
message and nothing written. A multirun (``-m``) is checked the same way before any job
starts (:mod:`simgpu.sweep.preflight`): every value of every swept key, the launcher, and
the sweep directory. Each job writes a completion marker (``COMPLETE``) last; a job whose
directory already holds one for the same overrides is skipped, so re-running a sweep into
the same directory resumes it.
"""

from __future__ import annotations

import logging
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from simgpu.cmdline import (
    MULTIRUN,
    config_overrides,
    is_sweep,
    override_value,
    wants_preflight,
)
from simgpu.config.load import CONFIG_NAME, CONFIG_PATH, compose
from simgpu.config.store import register
from simgpu.errors import ConfigError, SimgpuError

log = logging.getLogger("simgpu")

def check(overrides: list[str]) -> None:
    """Every problem of the configuration the overrides describe, raised together.

    Overrides that Hydra rejects are reported, and the rest of the configuration is
    still checked without them, so one run of the command shows every mistake.
    """
    from simgpu.run import prepare

    try:
        cfg = compose(overrides)
    except ConfigError as exc:
        bad = {p.key for p in exc.problems}
        good = [o for o in overrides if o.partition("=")[0].lstrip("+~") not in bad]
        problems = list(exc.problems)
        try:
            prepare(compose(good))
        except ConfigError as more:
            problems += more.problems
        except SimgpuError:
            pass
        raise ConfigError(problems) from None
    return prepare(cfg)


def preflight(argv: list[str]) -> int:
    """Check the configuration the command line describes; 0 when it can run."""
    from simgpu.errors import OutputExists
    from simgpu.run import holds_results

    try:
        prepared = check(config_overrides(argv))
        run_dir = override_value(argv, "hydra.run.dir")
        report = prepared.config.report
        if run_dir and not report.overwrite and holds_results(run_dir, report.summary):
            raise OutputExists(run_dir)
    except SimgpuError as exc:
        print(f"simgpu: {exc}", file=sys.stderr)
        return 2
    return 0


# ------------------------------------------------------------------ stopping cleanly

#: What the run is doing, for the message when a signal stops it.
_STATE = {"phase": "starting", "out": None}


def _on_signal(signum, _frame):
    _STATE["signal"] = signum
    raise KeyboardInterrupt


def _stopped_message(signum: int) -> str:
    import signal

    name = signal.Signals(signum).name if signum else "an interrupt"
    out, phase = _STATE["out"], _STATE["phase"]
    where = f" in {out}" if out else ""
    return (f"simgpu: stopped by {name} while {phase}{where}: no summary.json or COMPLETE "
            "was written for it (every file is written whole or not at all); run it again")


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=CONFIG_NAME)
def _main(cfg: DictConfig) -> None:
    from hydra.types import RunMode

    from simgpu.analysis.table import format_table
    from simgpu.backend import resolve_device
    from simgpu.errors import OutputExists
    from simgpu.run import holds_results, run
    from simgpu.sweep.marker import read_marker, write_marker

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

    register()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    argv = sys.argv[1:]
    if wants_preflight(argv):
        code = preflight(argv)
        if code:
            sys.exit(code)
    elif is_sweep(argv):
        from simgpu.sweep.preflight import check_sweep

        try:
            check_sweep([a for a in argv if a not in MULTIRUN])
        except SimgpuError as exc:
            print(f"simgpu: {exc}", file=sys.stderr)
            sys.exit(2)
    try:
        _main()
    except KeyboardInterrupt:
        signum = _STATE.get("signal", signal.SIGINT)
        log.error("%s", _stopped_message(signum).removeprefix("simgpu: "))
        print(_stopped_message(signum), file=sys.stderr)
        sys.exit(128 + int(signum))


if __name__ == "__main__":
    main()
