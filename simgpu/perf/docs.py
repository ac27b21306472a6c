"""Regenerate the fitted constants and the generated sections of docs/perf.md.

``python -m simgpu.perf.docs docs/perf.md`` rewrites the text between each pair of
markers (:func:`simgpu.perf.validation.begin` / ``end``) with the current tables, from
the frozen fit in :mod:`simgpu.perf._fitted` (fast; tests/perf checks it is current).

``python -m simgpu.perf.docs --refit docs/perf.md`` first refits: the constants on all
calibration rows, the leave-one-source-out folds and the prediction band, written to
``simgpu/perf/_fitted.py`` (needs SciPy; about a minute), then regenerates the tables
in a fresh interpreter so that the new constants are the ones imported.
"""

from __future__ import annotations

import math
import pprint
import subprocess
import sys
from pathlib import Path

from simgpu.io import atomic_write_text
from simgpu.perf import validation as V

FITTED_PATH = Path(__file__).with_name("_fitted.py")


def sections() -> dict[str, str]:
    """Every generated section of docs/perf.md, by marker name."""
    rows = V.validation_rows()
    return {"constants": V.constants_table(),
            "crossvalidation": V.crossvalidation_table(rows),
            "band": V.band_table(),
            "rows": V.validation_table(rows),
            "calculon": calculon_table(rows)}


#: Published configurations the issue quotes Calculon's error on (Calculon was not re-run
#: here): Megatron 1T (+13.7 %), GPT-3 175B (+15.3 %), Llama 3 405B (about -15 %).
CALCULON = (("Megatron 1T", "+13.7 %", ("korthikanti-1t-full", "korthikanti-1t-seqsel",
                                        "megatron21-1t")),
            ("GPT-3 175B", "+15.3 %", ("korthikanti-175b-full", "korthikanti-175b-seqsel",
                                       "megatron21-175b-384", "megatron21-175b-768",
                                       "megatron21-175b-1536")),
            ("Llama 3 405B", "about -15 %", ("llama3-405b-8k-8192", "llama3-405b-8k-16384",
                                             "llama3-405b-128k-16384")))


def calculon_table(rows: list[V.ValidationRow]) -> str:
    """simgpu's out-of-source errors on the configurations Calculon's error is quoted on."""
    by = {v.row.key: v for v in rows}
    lines = ["| configuration | Calculon (quoted) | simgpu out of source (rows) | "
             "largest \\|error\\| |", "| --- | ---: | --- | ---: |"]
    for name, calc, keys in CALCULON:
        vs = [by[k] for k in keys]
        errs = ", ".join(f"{100 * v.oos_error:+.1f} %" for v in vs)
        worst = max(abs(v.oos_error) for v in vs)
        lines.append(f"| {name} | {calc} | {errs} | {100 * worst:.1f} % |")
    return "\n".join(lines)


def update_docs(path: str | Path) -> bool:
    """Rewrite every generated section of ``path``; True if the file changed."""
    doc = Path(path).read_text()
    new = doc
    for name, body in sections().items():
        b, e = V.begin(name), V.end(name)
        if b not in new or e not in new:
            raise ValueError(f"{path}: no {name} markers")
        head, _, rest = new.partition(b)
        _, _, tail = rest.partition(e)
        new = f"{head}{b}\n{body}\n{e}{tail}"
    if new != doc:
        atomic_write_text(path, new)
    return new != doc


def refit() -> dict:
    """Fit on all calibration rows, the leave-one-source-out folds and the band; write
    them to :data:`FITTED_PATH`. Returns what was written."""
    shipped = V.fit()
    rms = shipped.pop("rms_log_error")
    folds = V.crossvalidate()
    for f in folds.values():
        f.pop("rms_log_error")
    # the band from the out-of-source residuals with these folds
    cal_all = V.calibration_of(shipped)
    vrows = []
    for r in V.PUBLISHED:
        v = V.predict(r, cal_all)
        w = V.predict(r, V.calibration_of(folds[r.group])) if (
            r.calibration and r.group in folds) else v
        vrows.append(V.ValidationRow(r, v, V._error(r, v), w, V._error(r, w)))
    band = V.band_stats(vrows)
    text = ('"""Frozen fit of the throughput model (``python -m simgpu.perf.docs --refit``).\n\n'
            "Generated; do not edit. ``SHIPPED``: the constants of\n"
            ":data:`simgpu.perf.hardware.FITTED` fitted on all calibration rows\n"
            "(:func:`simgpu.perf.validation.fit`); ``RMS_LOG_ERROR``: its weighted RMS log "
            "error.\n``FOLDS``: per source, the same fit without that source's rows\n"
            "(leave-one-source-out). ``BAND``: per architecture family, mean and standard\n"
            "deviation of the out-of-source log residuals ``log(predicted / published)`` "
            "of\nthroughput, and their number.\n"
            '"""\n\n'
            f"SHIPPED = {_literal(shipped)}\n\n"
            f"RMS_LOG_ERROR = {rms!r}\n\n"
            f"FOLDS = {_literal(folds)}\n\n"
            f"BAND = {_literal(band)}\n")
    atomic_write_text(FITTED_PATH, text)
    return {"SHIPPED": shipped, "FOLDS": folds, "BAND": band}


def _literal(obj) -> str:
    def clean(o):
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, float):
            return float(f"{o:.6g}") if math.isfinite(o) else o
        return o

    return pprint.pformat(clean(obj), width=88, sort_dicts=False)


def main(argv: list[str] | None = None) -> None:
    """Update every file named on the command line (``--refit`` first refits)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "--refit" in args:
        args.remove("--refit")
        refit()
        print(f"{FITTED_PATH}: refitted")
        if args:
            subprocess.run([sys.executable, "-m", "simgpu.perf.docs", *args], check=True)
        return
    for arg in args:
        print(f"{arg}: {'updated' if update_docs(arg) else 'up to date'}")


if __name__ == "__main__":
    main()
