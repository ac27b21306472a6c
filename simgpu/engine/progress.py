"""One step of job progress in closed form: compute, checkpoints, rollbacks, restarts.

Used by the NumPy engine for every (history, job) at once; the CUDA kernel mirrors it.

A job that holds GPUs during a step of ``dt`` hours, with its failure hits at sorted
times ``t_1 < ... < t_n`` in the step, runs through ``n + 1`` *segments*
``[0, t_1), [t_1, t_2), ..., [t_n, dt)``. Segment ``m`` begins with a restart (the
job's remaining restart time for ``m = 0``, its full restart time after a hit), then
computes. Compute time within a checkpoint cycle of ``cyc = tau + w`` hours (``tau``
computing, ``w`` writing) is ``C(s) = floor(s / cyc) tau + min(s mod cyc, tau)``; each
completed cycle commits its work. A hit loses the uncommitted work, resets the cycle and
starts a restart. A job that reaches its FLOPs stops at that exact time, and later hits
in the step do not touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def compute_time(s: np.ndarray, tau: np.ndarray, cyc: np.ndarray) -> np.ndarray:
    """Compute hours in the first ``s`` hours of checkpoint cycles: ``C(s)``."""
    k = np.floor(s / cyc)
    return k * tau + np.minimum(s - k * cyc, tau)


def wall_time(c: np.ndarray, tau: np.ndarray, cyc: np.ndarray) -> np.ndarray:
    """Earliest wall hours ``s`` with ``C(s) = c`` (the inverse of :func:`compute_time`)."""
    k = np.maximum(np.ceil(c / tau) - 1.0, 0.0)
    return k * cyc + (c - k * tau)


@dataclass
class StepOutcome:
    """What one step did to each job; every array has the shape of the inputs' batch."""

    total: np.ndarray  # FLOPs done and not lost, at the end of the step
    uncommitted: np.ndarray  # FLOPs since the last checkpoint
    since: np.ndarray  # hours into the current checkpoint cycle
    restart_left: np.ndarray  # restart hours still to go
    gained: np.ndarray  # change of ``total`` in the step, FLOPs
    lost: np.ndarray  # FLOPs rolled back in the step
    interruptions: np.ndarray  # hits that interrupted the job (before it finished)
    interrupted_by: np.ndarray  # (N, M) bool: which of the sorted hits interrupted it
    finish_offset: np.ndarray  # hours into the step when it finished, inf if it did not


def advance(dt: float, alloc: np.ndarray, rate: np.ndarray, flops: np.ndarray,
            total: np.ndarray, uncommitted: np.ndarray, since: np.ndarray,
            restart_left: np.ndarray, restart: np.ndarray, tau: np.ndarray,
            cyc: np.ndarray, hits: np.ndarray) -> StepOutcome:
    """Advance every job through one step.

    Parameters
    ----------
    dt : float
        Step, hours.
    alloc : ndarray of bool, shape (N,)
        The job holds GPUs this step.
    rate : ndarray of float64, shape (N,)
        FLOPs per hour while computing (GPUs x peak x MFU).
    flops : ndarray, shape (N,)
        FLOPs the job needs in all.
    total, uncommitted, since, restart_left : ndarray, shape (N,)
        State at the start of the step (FLOPs, FLOPs, hours, hours).
    restart, tau, cyc : ndarray, shape (N,)
        Restart time, checkpoint interval (compute hours) and cycle (``tau + write``), hours.
    hits : ndarray of float64, shape (N, M)
        Hit times in hours from the step start, sorted ascending, ``inf`` padded.

    Returns
    -------
    StepOutcome
    """
    n, m_max = hits.shape
    finite = np.isfinite(hits)
    n_hits = np.where(alloc, finite.sum(axis=1), 0)
    # the segments of the jobs that hold GPUs, laid end to end: job g has n_hits[g] + 1 of
    # them, segment m of job g at flat index first[g] + m; the hits (sorted in each row)
    # end segment m and begin segment m + 1
    rows = np.flatnonzero(alloc)
    nseg = n_hits[rows] + 1
    first = np.cumsum(nseg) - nseg
    g = np.repeat(np.arange(rows.size), nseg)  # the job (among rows) of each segment
    m = np.arange(g.size) - first[g]  # the segment's rank in its job
    hit_at = np.flatnonzero(finite[rows].ravel())
    h_row = hit_at // max(m_max, 1)
    h_seg = first[h_row] + hit_at % max(m_max, 1)  # the segment that a hit ends
    when = hits[rows].ravel()[hit_at]
    begin = np.zeros(g.size)
    begin[h_seg + 1] = when
    end = np.full(g.size, float(dt))
    end[h_seg] = when
    last = first + nseg - 1
    is_first = m == 0
    ends_in_hit = np.ones(g.size, bool)
    ends_in_hit[last] = False
    tau_g, cyc_g, rate_g = tau[rows][g], cyc[rows][g], rate[rows][g]
    r = np.where(is_first, restart_left[rows][g], restart[rows][g])
    sigma = np.where(is_first, since[rows][g], 0.0)
    w_b = np.where(is_first, uncommitted[rows][g], 0.0)
    length = end - begin
    run = np.maximum(length - r, 0.0)
    c_sigma = compute_time(sigma, tau_g, cyc_g)
    s_end = sigma + run
    k = np.floor(s_end / cyc_g)
    gross = rate_g * ((k * tau_g + np.minimum(s_end - k * cyc_g, tau_g)) - c_sigma)
    committed = k >= 1.0
    kept = rate_g * (k * tau_g - c_sigma)  # work committed before the hit
    delta = np.where(ends_in_hit, np.where(committed, kept, -w_b), gross)
    # sums accumulate left to right, as the scalar loop of the CUDA twin does: over each
    # job's segments padded with zeros to the widest (cumsum), as in an (N, M + 1) layout
    cum = _row_cumsum(delta, g, m, rows.size, m_max)
    total_g = total[rows][g]
    before = total_g + cum[g, m] - delta
    fin_seg = (rate_g > 0) & (before + gross >= flops[rows][g])
    fs = np.flatnonzero(fin_seg)
    fin_row, at = np.unique(g[fs], return_index=True)
    f = fs[at]  # the segment in which each finishing job finishes
    finishes = np.zeros(rows.size, bool)
    finishes[fin_row] = True
    f_m = np.full(rows.size, m_max + 1)
    f_m[fin_row] = m[f]
    need = flops[rows][fin_row] - before[f]
    safe_rate = np.where(rate_g[f] > 0, rate_g[f], 1.0)
    c_fin = c_sigma[f] + need / safe_rate
    wall = wall_time(c_fin, tau_g[f], cyc_g[f]) - sigma[f]
    fin_off = np.full(n, np.inf)
    fin_off[rows[fin_row]] = np.minimum(begin[f] + r[f] + np.maximum(wall, 0.0), dt)
    # losses at the hits that happened (before finishing)
    counted = ends_in_hit & (m < f_m[g])
    lost_seg = np.where(counted, w_b + gross - np.where(committed, w_b + kept, 0.0), 0.0)
    lost = np.zeros(n)
    lost[rows] = _row_cumsum(lost_seg, g, m, rows.size, m_max)[:, -1]
    interruptions = np.zeros(n, np.int64)
    interruptions[rows] = np.bincount(g[counted], minlength=rows.size)
    interrupted_by = np.zeros((n, m_max), bool)
    cm = np.flatnonzero(counted)
    interrupted_by[rows[g[cm]], m[cm]] = True
    # state after the last segment (for jobs that did not finish)
    k_l, s_l, w_l = k[last], s_end[last], w_b[last]
    rem = s_l - k_l * cyc[rows]
    new_unc = np.where(k_l >= 1.0, rate[rows] * np.minimum(rem, tau[rows]), w_l + gross[last])
    new_since = np.where(k_l >= 1.0, rem, s_l)
    new_restart = np.maximum(r[last] - length[last], 0.0)
    end_total = total[rows] + cum[:, -1]
    fin = finishes
    out_total, out_unc, out_since = total.copy(), uncommitted.copy(), since.copy()
    out_restart, gained = restart_left.copy(), np.zeros(n)
    out_total[rows] = np.where(fin, flops[rows], end_total)
    out_unc[rows] = np.where(fin, 0.0, new_unc)
    out_since[rows] = np.where(fin, 0.0, new_since)
    out_restart[rows] = np.where(fin, 0.0, new_restart)
    gained[rows] = np.where(fin, flops[rows] - total[rows], end_total - total[rows])
    return StepOutcome(
        total=out_total,
        uncommitted=out_unc,
        since=out_since,
        restart_left=out_restart,
        gained=gained,
        lost=lost,
        interruptions=interruptions,
        interrupted_by=interrupted_by,
        finish_offset=fin_off,
    )


def _row_cumsum(x: np.ndarray, g: np.ndarray, m: np.ndarray, n: int, m_max: int) -> np.ndarray:
    """Running sums of the segment values ``x`` along each job's segments: the (n, m_max + 1)
    cumsum of ``x`` placed at (job ``g``, segment ``m``) in zeros (left to right, so each
    entry is bit-identical to a scalar loop over the job's segments and padding)."""
    pad = np.zeros((n, m_max + 1))
    pad[g, m] = x
    return np.cumsum(pad, axis=1)
