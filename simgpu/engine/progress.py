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
    seg = np.arange(m_max + 1)
    finite = np.isfinite(hits)
    n_hits = np.where(alloc, finite.sum(axis=1), 0)
    begin = np.concatenate([np.zeros((n, 1)), np.where(finite, hits, dt)], axis=1)
    end = np.concatenate([np.where(finite, hits, dt), np.full((n, 1), dt)], axis=1)
    valid = alloc[:, None] & (seg[None, :] <= n_hits[:, None])  # (N, M+1)
    first = seg[None, :] == 0
    r = np.where(first, restart_left[:, None], restart[:, None])
    sigma = np.where(first, since[:, None], 0.0)
    w_b = np.where(first, uncommitted[:, None], 0.0)
    length = np.where(valid, end - begin, 0.0)
    run = np.maximum(length - r, 0.0)
    tau2, cyc2, rate2 = tau[:, None], cyc[:, None], rate[:, None]
    c_sigma = compute_time(sigma, tau2, cyc2)
    s_end = sigma + run
    k = np.floor(s_end / cyc2)
    gross = rate2 * (compute_time(s_end, tau2, cyc2) - c_sigma)  # progress before the hit
    ends_in_hit = valid & (seg[None, :] < n_hits[:, None])
    committed = k >= 1.0
    delta = np.where(ends_in_hit,
                     np.where(committed, rate2 * (k * tau2 - c_sigma), -w_b),
                     np.where(valid, gross, 0.0))
    # sums accumulate left to right (cumsum), as the scalar loop of the CUDA twin does
    cum = np.cumsum(delta, axis=1)
    before = total[:, None] + cum - delta
    fin_seg = valid & (rate2 > 0) & (before + gross >= flops[:, None])
    finishes = fin_seg.any(axis=1)
    f = np.argmax(fin_seg, axis=1)
    rows = np.arange(n)
    # finishing: wall time inside segment f
    need = flops - before[rows, f]
    safe_rate = np.where(rate > 0, rate, 1.0)
    c_fin = c_sigma[rows, f] + need / safe_rate
    wall = wall_time(c_fin, tau, cyc) - sigma[rows, f]
    fin_off = np.where(finishes, np.minimum(begin[rows, f] + r[rows, f] + np.maximum(wall, 0.0),
                                            dt), np.inf)
    # losses at the hits that happened (before finishing)
    counted = ends_in_hit & (~finishes[:, None] | (seg[None, :] < f[:, None]))
    lost_seg = np.where(counted, w_b + gross - np.where(committed, w_b + rate2 *
                                                         (k * tau2 - c_sigma), 0.0), 0.0)
    lost = np.cumsum(lost_seg, axis=1)[:, -1]
    interruptions = counted.sum(axis=1)
    # state after the last segment (for jobs that did not finish)
    last = n_hits
    k_l, s_l, w_l = k[rows, last], s_end[rows, last], w_b[rows, last]
    rem = s_l - k_l * cyc
    new_unc = np.where(k_l >= 1.0, rate * np.minimum(rem, tau), w_l + gross[rows, last])
    new_since = np.where(k_l >= 1.0, rem, s_l)
    new_restart = np.maximum(r[rows, last] - length[rows, last], 0.0)
    end_total = total + cum[:, -1]
    return StepOutcome(
        total=np.where(finishes, flops, np.where(alloc, end_total, total)),
        uncommitted=np.where(finishes, 0.0, np.where(alloc, new_unc, uncommitted)),
        since=np.where(finishes, 0.0, np.where(alloc, new_since, since)),
        restart_left=np.where(finishes, 0.0, np.where(alloc, new_restart, restart_left)),
        gained=np.where(finishes, flops - total, np.where(alloc, end_total - total, 0.0)),
        lost=lost,
        interruptions=interruptions,
        interrupted_by=counted[:, :m_max],
        finish_offset=fin_off,
    )
