"""One step of job progress in closed form: compute, checkpoints, rollbacks, restarts.

Used by the NumPy engine for every (history, job) at once; the CUDA kernel mirrors it.

A job that holds GPUs during a step of ``dt`` hours, with its failure hits at sorted
times ``t_1 < ... < t_n`` in the step, runs through ``n + 1`` *segments*
``[0, t_1), [t_1, t_2), ..., [t_n, dt)``. Segment ``m`` begins with a restart (the
job's remaining restart time for ``m = 0``, its full restart time after a hit), then
computes. Compute time within a checkpoint cycle of ``cyc = tau + w`` hours (``tau``
computing, ``w`` writing) is ``C(s) = floor(s / cyc) tau + min(s mod cyc, tau)``; each
completed cycle commits its work. A hit loses the uncommitted work (a graceful one, planned
maintenance, keeps it: the job checkpoints first), resets the cycle and starts a restart
(plus the detection time of the hit's cause). A job that reaches its FLOPs stops at that
exact time, and later hits in the step do not touch it.
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
    restarted: np.ndarray  # hours of the step spent restarting (detection included)


def advance(dt: float, alloc: np.ndarray, rate: np.ndarray, flops: np.ndarray,
            total: np.ndarray, uncommitted: np.ndarray, since: np.ndarray,
            restart_left: np.ndarray, restart: np.ndarray, tau: np.ndarray,
            cyc: np.ndarray, hits: np.ndarray, extra: np.ndarray | None = None,
            graceful: np.ndarray | None = None) -> StepOutcome:
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
    extra : ndarray of float64, shape (N, M), optional
        Hours added to the restart that follows each hit (the time its cause takes to be
        detected); the restart after hit ``i`` is ``restart + extra[:, i]``. None: 0.
    graceful : ndarray of bool, shape (N, M), optional
        Hits that checkpoint first (planned maintenance): the work since the last
        checkpoint is kept, not lost. None: none.

    Returns
    -------
    StepOutcome
    """
    n, m_max = hits.shape
    finite = np.isfinite(hits)
    n_hits = np.where(alloc, finite.sum(axis=1), 0)
    # the segments of the jobs that hold GPUs, laid end to end: job g has n_hits[g] + 1 of
    # them, segment m of job g at flat index first[g] + m (and at m * N + g in an
    # (m_max + 1, N) grid); the hits, sorted in each row, end segment m and begin m + 1
    every = bool(alloc.all())
    rows = np.arange(n) if every else np.flatnonzero(alloc)

    def mine(a: np.ndarray) -> np.ndarray:  # the values of the jobs that hold GPUs
        return a if every else a[rows]

    nseg = mine(n_hits) + 1
    first = np.cumsum(nseg) - nseg
    g = np.repeat(np.arange(rows.size), nseg)  # the job (among rows) of each segment
    m = np.arange(g.size) - first[g]  # the segment's rank in its job
    grid = m * rows.size + g
    hit_at = mine(finite).ravel().nonzero()[0]
    # the segment that a hit ends: its rank among all hits plus its row's rank
    h_seg = np.arange(hit_at.size) + hit_at // max(m_max, 1)
    when = mine(hits).ravel()[hit_at]
    begin = np.zeros(g.size)
    begin[h_seg + 1] = when
    end = np.full(g.size, float(dt))
    end[h_seg] = when
    last = first + nseg - 1
    is_first = m == 0
    ends_in_hit = np.ones(g.size, bool)
    ends_in_hit[last] = False
    tau_r, cyc_r, rate_r, total_r = mine(tau), mine(cyc), mine(rate), mine(total)
    tau_g, cyc_g, rate_g = tau_r[g], cyc_r[g], rate_r[g]
    after = mine(restart)[g]
    if extra is not None and hit_at.size:  # the restart after a hit: plus its detection
        ex = np.zeros(g.size)
        ex[h_seg + 1] = mine(extra).ravel()[hit_at]
        after = after + ex
    r = np.where(is_first, mine(restart_left)[g], after)
    sigma = np.where(is_first, mine(since)[g], 0.0)
    w_b = np.where(is_first, mine(uncommitted)[g], 0.0)
    length = end - begin
    run = np.maximum(length - r, 0.0)
    c_sigma = compute_time(sigma, tau_g, cyc_g)
    s_end = sigma + run
    k = np.floor(s_end / cyc_g)
    gross = rate_g * ((k * tau_g + np.minimum(s_end - k * cyc_g, tau_g)) - c_sigma)
    committed = k >= 1.0
    kept = rate_g * (k * tau_g - c_sigma)  # work committed before the hit
    kept_all = np.zeros(g.size, bool)  # segments that end in a graceful hit
    if graceful is not None and hit_at.size:
        kept_all[h_seg] = mine(graceful).ravel()[hit_at]
    delta = np.where(ends_in_hit, np.where(kept_all, gross, np.where(committed, kept, -w_b)),
                     gross)
    # sums accumulate left to right, as the scalar loop of the CUDA twin does: along each
    # job's segments padded with zeros to m_max + 1
    cum = _grid_cumsum(delta, grid, rows.size, m_max)
    before = total_r[g] + cum.ravel()[grid] - delta
    fin_seg = (rate_g > 0) & (before + gross >= mine(flops)[g])
    fs = fin_seg.nonzero()[0]
    gf = g[fs]
    lead = np.ones(fs.size, bool)
    lead[1:] = gf[1:] != gf[:-1]
    fin_row, f = gf[lead], fs[lead]  # each finishing job and the segment where it finishes
    finishes = np.zeros(rows.size, bool)
    finishes[fin_row] = True
    f_m = np.full(rows.size, m_max + 1)
    f_m[fin_row] = m[f]
    need = mine(flops)[fin_row] - before[f]
    safe_rate = np.where(rate_g[f] > 0, rate_g[f], 1.0)
    c_fin = c_sigma[f] + need / safe_rate
    wall = wall_time(c_fin, tau_g[f], cyc_g[f]) - sigma[f]
    fin_off = np.full(n, np.inf)
    fin_off[rows[fin_row]] = np.minimum(begin[f] + r[f] + np.maximum(wall, 0.0), dt)
    # losses at the hits that happened (before finishing)
    counted = ends_in_hit & (m < f_m[g]) & ~kept_all
    lost_seg = np.where(counted, w_b + gross - np.where(committed, w_b + kept, 0.0), 0.0)
    lost = np.zeros(n)
    lost[rows] = _grid_cumsum(lost_seg, grid, rows.size, m_max)[-1]
    # hours spent restarting, in the segments up to the one where it finishes
    served = np.where(m <= f_m[g], np.minimum(r, length), 0.0)
    restarted = np.zeros(n)
    restarted[rows] = _grid_cumsum(served, grid, rows.size, m_max)[-1]
    # the hits counted are the first ones of each job: all, or those before it finished
    interruptions = np.zeros(n, np.int64)
    interruptions[rows] = np.minimum(mine(n_hits), f_m)  # graceful hits included
    interrupted_by = np.arange(m_max) < interruptions[:, None]
    # state after the last segment (for jobs that did not finish)
    k_l, s_l, w_l = k[last], s_end[last], w_b[last]
    rem = s_l - k_l * cyc_r
    new_unc = np.where(k_l >= 1.0, rate_r * np.minimum(rem, tau_r), w_l + gross[last])
    new_since = np.where(k_l >= 1.0, rem, s_l)
    new_restart = np.maximum(r[last] - length[last], 0.0)
    end_total = total_r + cum[-1]
    out = {"total": np.where(finishes, mine(flops), end_total),
           "uncommitted": np.where(finishes, 0.0, new_unc),
           "since": np.where(finishes, 0.0, new_since),
           "restart_left": np.where(finishes, 0.0, new_restart),
           "gained": np.where(finishes, mine(flops) - total_r, end_total - total_r)}
    if not every:  # the jobs that hold no GPUs keep their state and gain nothing
        for name, old in (("total", total), ("uncommitted", uncommitted), ("since", since),
                          ("restart_left", restart_left), ("gained", np.zeros(n))):
            full = old.copy()
            full[rows] = out[name]
            out[name] = full
    return StepOutcome(lost=lost, interruptions=interruptions, interrupted_by=interrupted_by,
                       finish_offset=fin_off, restarted=restarted, **out)


def _grid_cumsum(x: np.ndarray, grid: np.ndarray, n: int, m_max: int) -> np.ndarray:
    """Running sums of the segment values ``x`` along each job's segments, shape
    (m_max + 1, n): ``x`` placed in zeros at the flat positions ``grid`` (segment m of job
    g at m * n + g), summed down the segments one after the other (as ``cumsum`` and the
    scalar loop of the CUDA twin do, so every entry is bit-identical to them)."""
    pad = np.zeros((m_max + 1, n))
    pad.ravel()[grid] = x
    for m in range(1, m_max + 1):
        pad[m] += pad[m - 1]
    return pad
