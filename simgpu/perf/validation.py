"""simgpu.perf against published runs: per-row errors, the docs table, and the fit.

:func:`validation_rows` evaluates every row of :data:`~simgpu.perf.published.PUBLISHED`
with the shipped calibration; :func:`validation_table` renders them as the markdown
table of docs/perf.md; :func:`fit` re-derives the calibrated constants from the rows
flagged ``calibration=True`` (needs SciPy; used once, its result is frozen in
:mod:`simgpu.perf.hardware`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from simgpu.perf import hardware
from simgpu.perf.hardware import ARCHITECTURES, CALIBRATION, Calibration
from simgpu.perf.model import estimate
from simgpu.perf.published import PUBLISHED, PublishedRow

#: The goal: every published row within this relative throughput error.
TOLERANCE = 0.10


@dataclass(frozen=True)
class ValidationRow:
    """One published row next to simgpu's estimate.

    Attributes
    ----------
    row : PublishedRow
        The published measurement and configuration.
    simgpu : float
        simgpu's value of the same metric.
    error : float
        Relative *throughput* error: simgpu's throughput over the published one, minus
        one (for step-time rows, published time over simgpu's). Positive = optimistic.
    """

    row: PublishedRow
    simgpu: float
    error: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON or tables."""
        r = self.row
        return {"key": r.key, "source": r.source, "config": r.config, "metric": r.metric,
                "unit": r.unit, "published": r.published, "simgpu": self.simgpu,
                "error": self.error, "calibration": r.calibration, "assumed": r.assumed}


def _error(row: PublishedRow, value: float) -> float:
    if row.metric == "step_seconds":
        return row.published / value - 1.0
    return value / row.published - 1.0


def evaluate(row: PublishedRow, calibration: Calibration | None = None) -> ValidationRow:
    """simgpu's estimate for one published row (memory check on, as for users)."""
    est = estimate(row.model, row.parallel, row.gpu, calibration=calibration)
    value = float(getattr(est, row.metric))
    return ValidationRow(row, value, _error(row, value))


def validation_rows(calibration: Calibration | None = None) -> list[ValidationRow]:
    """Every published row with simgpu's estimate and error (shipped calibration)."""
    return [evaluate(r, calibration) for r in PUBLISHED]


def _fmt(metric: str, x: float) -> str:
    if metric == "mfu":
        return f"{100 * x:.1f} %"
    if metric == "step_seconds":
        return f"{x:.2f} s"
    return f"{x:.0f}"


def validation_table(rows: list[ValidationRow] | None = None) -> str:
    """The per-row error table of docs/perf.md, as markdown (deterministic)."""
    rows = validation_rows() if rows is None else rows
    lines = ["| source | config | metric | published | simgpu | error | fit |",
             "| --- | --- | --- | ---: | ---: | ---: | :---: |"]
    for v in rows:
        r = v.row
        lines.append(f"| {r.source} | {r.config} | {r.unit} | {_fmt(r.metric, r.published)} "
                     f"| {_fmt(r.metric, v.simgpu)} | {100 * v.error:+.1f} % "
                     f"| {'yes' if r.calibration else ''} |")
    errs = [abs(v.error) for v in rows]
    held = [abs(v.error) for v in rows if not v.row.calibration]
    lines.append("")
    lines.append(f"{len(rows)} rows; largest error {100 * max(errs):.1f} %, mean absolute "
                 f"error {100 * sum(errs) / len(errs):.1f} %; on the {len(held)} rows not "
                 f"used for the fit: largest {100 * max(held):.1f} %, mean "
                 f"{100 * sum(held) / len(held):.1f} %.")
    return "\n".join(lines)


#: Fitted constants: (owner, attribute, lower bound, upper bound).
FIT_PARAMETERS = (
    ("ampere", "gemm_fraction", 0.6, 0.95),
    ("hopper", "gemm_fraction", 0.5, 0.9),
    ("hopper", "attention_fraction", 0.15, 0.8),
    ("calibration", "gemm_half_width", 0.0, 400.0),
    ("calibration", "hbm_fraction", 0.4, 1.2),
    ("calibration", "overlap_cost", 0.0, 1.0),
)


def _apply(x: list[float]) -> Calibration:
    """Install fitted values (architectures in place) and return the calibration."""
    cal = CALIBRATION
    for (owner, attr, _lo, _hi), val in zip(FIT_PARAMETERS, x, strict=True):
        if owner == "calibration":
            cal = dataclasses.replace(cal, **{attr: float(val)})
        else:
            ARCHITECTURES[owner] = dataclasses.replace(ARCHITECTURES[owner],
                                                       **{attr: float(val)})
    for name in ("blackwell", "blackwell-nvl72"):  # no data: Hopper's fractions
        ARCHITECTURES[name] = dataclasses.replace(
            ARCHITECTURES[name], gemm_fraction=ARCHITECTURES["hopper"].gemm_fraction,
            attention_fraction=ARCHITECTURES["hopper"].attention_fraction)
    return cal


def fit(rows: tuple[PublishedRow, ...] | None = None) -> dict[str, float]:
    """Least-squares fit of :data:`FIT_PARAMETERS` to the calibration rows.

    Minimises the sum of squared log throughput errors. Restores the shipped constants
    before returning.

    Returns
    -------
    dict
        ``"owner.attribute"`` to fitted value, plus ``rms_log_error``.
    """
    from scipy.optimize import least_squares

    rows = tuple(r for r in (rows or PUBLISHED) if r.calibration)
    saved = dict(ARCHITECTURES)
    x0 = [getattr(CALIBRATION if o == "calibration" else ARCHITECTURES[o], a)
          for o, a, _lo, _hi in FIT_PARAMETERS]
    lo = [p[2] for p in FIT_PARAMETERS]
    hi = [p[3] for p in FIT_PARAMETERS]

    def residuals(x):
        cal = _apply(list(x))
        return [math.log1p(evaluate(r, cal).error) for r in rows]

    try:
        res = least_squares(residuals, x0, bounds=(lo, hi), diff_step=1e-3)
        out = {f"{o}.{a}": float(v) for (o, a, _l, _h), v in zip(FIT_PARAMETERS, res.x,
                                                                  strict=True)}
        out["rms_log_error"] = float(math.sqrt(sum(r * r for r in res.fun) / len(rows)))
    finally:
        ARCHITECTURES.clear()
        ARCHITECTURES.update(saved)
        hardware.CALIBRATION = CALIBRATION
    return out


#: Markers around the generated table in docs/perf.md.
TABLE_BEGIN = "<!-- validation-table: generated by simgpu.perf.validation, do not edit -->"
TABLE_END = "<!-- end of validation-table -->"

