"""Checkpoint intervals and the expected effective training time, in closed form.

With failures arriving as a Poisson process of mean time between failures ``M`` (hours,
for the job on its allocation), a checkpoint every ``tau`` hours of compute taking
``delta`` hours to write, and a restart of ``R`` hours after each failure (itself
restarted by a failure during it), the expected wall time to complete one cycle of work
is (Daly 2006, eq. 11, "A higher order estimate of the optimum checkpoint interval for
restart dumps", FGCS 22:303-312)::

    T(tau) = M exp(R / M) (exp((tau + delta) / M) - 1)

so the effective training time ratio (useful compute over time held) is
``ETTR = tau / T(tau)``. Its maximiser is approximated to higher order by Daly's

    tau* = sqrt(2 delta M) [1 + sqrt(delta / 2M) / 3 + (delta / 2M) / 9] - delta   (delta < 2M)
    tau* = M                                                                       (otherwise)

and to first order by Young (1974), ``tau* = sqrt(2 delta M)``.
"""

from __future__ import annotations

import numpy as np

#: Bounds on an automatic interval, hours: a free checkpoint write would otherwise give 0,
#: and no failures an infinite interval.
TAU_MIN_HOURS = 1e-3
TAU_MAX_HOURS = 1e6


def young_interval(write_h: np.ndarray, mtbf_h: np.ndarray) -> np.ndarray:
    """Young's first-order optimum ``sqrt(2 delta M)``, hours."""
    return np.sqrt(2.0 * np.asarray(write_h, float) * np.asarray(mtbf_h, float))


def daly_interval(write_h: np.ndarray, mtbf_h: np.ndarray) -> np.ndarray:
    """Daly's higher-order optimum interval of compute between checkpoints, hours.

    Parameters
    ----------
    write_h : array_like
        Checkpoint write time ``delta``, hours.
    mtbf_h : array_like
        Mean time between failures of the job, hours (``inf`` for none).

    Returns
    -------
    ndarray
        Interval clipped to ``[TAU_MIN_HOURS, TAU_MAX_HOURS]``.
    """
    d = np.asarray(write_h, float)
    m = np.asarray(mtbf_h, float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        x = d / (2.0 * m)
        tau = np.where(d < 2.0 * m,
                       np.sqrt(2.0 * d * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - d, m)
        tau = np.where(np.isfinite(m), tau, TAU_MAX_HOURS)
    return np.clip(tau, TAU_MIN_HOURS, TAU_MAX_HOURS)


def expected_ettr(tau_h, write_h, restart_h, mtbf_h) -> np.ndarray:
    """Expected effective training time ratio ``tau / T(tau)`` (Daly 2006, eq. 11).

    All arguments in hours, broadcast together; ``mtbf_h = inf`` gives
    ``tau / (tau + delta)``.
    """
    tau, d, r, m = (np.asarray(a, float) for a in (tau_h, write_h, restart_h, mtbf_h))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        t = m * np.exp(r / m) * np.expm1((tau + d) / m)
        t = np.where(np.isfinite(m), t, tau + d)
    return tau / t
