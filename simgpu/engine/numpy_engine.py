"""The NumPy stepped engine: the specification of simgpu's semantics and the CPU fallback.

Vectorised over (variant V, replica R); loops over steps. The physical process of a
replica (capacity, failures, repairs, outages) does not depend on the variant, so it is
simulated once per replica with shape ``(R, ...)`` and broadcast over variants; contracts,
allocation and progress have shape ``(V, R, ...)``. Every random draw is keyed by
``(seed, replica, stream, step, index)`` (:mod:`simgpu.rng`), so variants share their
replica's random numbers (common random numbers) and the result does not depend on how
replicas are chunked.

One step of ``dt`` hours starting at hour ``h = t * dt`` (docs/model.md has the full text):

1. *capacity*: nodes online per pool from the schedule; repaired nodes return;
   healthy = online - down, per class (normal, lemon);
2. *contracts*: each lease's entitlement from the pool's healthy nodes (failure burden,
   withholding); the owner keeps the rest;
3. *allocation*: jobs in plan order (lessors first, then priority, then roadmap order)
   take nodes from their party's entitlement: a running job keeps its pool and size,
   a starting or restarting one takes up to its target in its current pool or the
   first allowed pool where its minimum fits; any (re)start, pool move or shrink costs
   the job's restart time; a stop forced by capacity checkpoints first (no loss);
4. *failures during the step*: node failures (Poisson per class) and domain outages
   (Poisson per domain kind) at uniform times in the step; each failed node sits at a
   uniform position of the pool's healthy-node layout, in which jobs hold contiguous
   ranges, so a failure hits a job with probability (its nodes / healthy nodes), and an
   outage of k nodes hits every job whose range meets a block of k nodes; failed nodes
   are down from the next step until their repair time has passed;
5. *progress* (:mod:`simgpu.engine.progress`): a job computes at ``gpus * peak * mfu``
   after its restart, checkpointing every ``checkpoint_interval_hours`` of compute with
   a blocking write; every hit rolls it back to its last checkpoint and restarts it;
6. *records*: start and finish hours, interruptions, lost work, GPU-hours by owner,
   lease deliveries.

How the work is ordered (the values are those of the steps above, bit for bit, whatever
the block length, :func:`block_steps`): the steps run in blocks of up to 256. For each
block, the physical process of steps 1 and 4 runs first for all its steps
(:class:`~simgpu.engine.physical.PhysicalProcess`: it needs nothing from the jobs) and
hands over the healthy nodes and the failure events, in time order; the contracts of
step 2, which depend only on the healthy nodes, are computed for the whole block
(:func:`_contracts`); then each step of the block allocates the jobs (3), finds the job
each event hits (:func:`_hits`) and advances the jobs that hold GPUs (5). Records that do
not depend on the jobs' progress are summed step after step at the end of the block.
With ``check=True`` the blocks are one step long, so that the invariants see the state
after each step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simgpu.engine.checkpoint import daly_interval
from simgpu.engine.physical import (  # noqa: F401  (re-exported: the streams and draws)
    STREAM_COUNT,
    STREAM_DOM_EVENT,
    STREAM_FAIL_EVENT,
    STREAM_JOB_EVENT,
    PhysicalBlock,
    PhysicalProcess,
    event_draws,
)
from simgpu.engine.plan import Plan
from simgpu.engine.progress import advance

log = logging.getLogger(__name__)

INF = np.inf
#: The most interruptions of its own (fabric, planned) a job can have in one step (the
#: draw index is the generator's 16-bit ``sub``).
JOB_EVENT_MAX = 0xFFFF
#: Steps simulated per block: the physical process and the contracts of a block are
#: computed before its step loop (no effect on values). At most this many ...
BLOCK_STEPS = 256
#: ... at most about this many history-steps per block, and about this many failure
#: events (expected, at full health): together they bound the block's memory
#: (:func:`bytes_per_replica`).
BLOCK_HISTORY_STEPS = 1 << 16
BLOCK_EVENTS = 1 << 18
BLOCK_MIN_STEPS = 8


@dataclass
class RawResults:
    """Per-replica records of one run; shapes (V variants, R replicas, J jobs, P pools,
    A parties, L leases, D days). Hours since ``sim.start``; ``inf`` means never."""

    job_start_h: np.ndarray  # (V, R, J) float64
    job_finish_h: np.ndarray  # (V, R, J) float64
    job_interruptions: np.ndarray  # (V, R, J) int64 failure hits
    job_interruptions_by_cause: np.ndarray  # (V, R, J, C) int64, causes as plan.cause_names
    job_preemptions: np.ndarray  # (V, R, J) int64 stops or shrinks forced by capacity
    job_migrations: np.ndarray  # (V, R, J) int64 moves or growths at a checkpoint
    job_lost_flops: np.ndarray  # (V, R, J) float64 work rolled back
    job_lost_gpu_h: np.ndarray  # (V, R, J) float64 compute GPU-hours rolled back
    job_useful_gpu_h: np.ndarray  # (V, R, J) float64 compute GPU-hours kept
    job_lost_gpu_h_pool: np.ndarray  # (V, R, J, P) float64 ... rolled back, by pool
    job_useful_gpu_h_pool: np.ndarray  # (V, R, J, P) float64 ... kept, by pool
    job_restart_gpu_h_pool: np.ndarray  # (V, R, J, P) float64 held while restarting, by pool
    job_alloc_gpu_h: np.ndarray  # (V, R, J) float64 GPU-hours held
    job_flops_pool: np.ndarray  # (V, R, J, P) float64 kept FLOPs by pool
    party_cap_gpu_h: np.ndarray  # (V, R, A, P) float64 usable GPU-hours
    party_wait_gpu_h: np.ndarray  # (V, R, A, P) float64 usable, unheld, while a run waits
    job_alloc_gpu_h_pool: np.ndarray  # (V, R, J, P) float64 GPU-hours held, by pool
    lease_delivered_gpu_h: np.ndarray  # (V, R, L) float64 healthy GPU-hours delivered
    lease_paid_usd: np.ndarray  # (V, L) float64 payments (deterministic)
    pool_failures: np.ndarray  # (R, P) int64 node failures
    pool_failures_by_cause: np.ndarray  # (R, P, C) int64 node failures by node cause
    pool_outages: np.ndarray  # (R, P) int64 domain outages
    pool_online_gpu_h: np.ndarray  # (R, P) float64 installed-and-online GPU-hours
    pool_healthy_gpu_h: np.ndarray  # (R, P) float64 healthy GPU-hours
    cap_daily: np.ndarray | None  # (V, R, D, A, A) float32 mean usable GPUs by owner

    @staticmethod
    def allocate_like(part: RawResults, n_replicas: int, n_daily: int) -> RawResults:
        """Empty results for ``n_replicas`` replicas shaped like ``part`` (the per-day
        series for the first ``n_daily`` of them), to be filled by :meth:`put`."""
        out = {}
        for name in RawResults.__dataclass_fields__:
            a = getattr(part, name)
            if a is None or name == "lease_paid_usd":
                out[name] = a if a is None else a.copy()
            elif name.startswith("pool_"):
                out[name] = np.zeros((n_replicas,) + a.shape[1:], a.dtype)
            else:
                n = n_daily if name == "cap_daily" else n_replicas
                out[name] = np.zeros(a.shape[:1] + (n,) + a.shape[2:], a.dtype)
        return RawResults(**out)

    def put(self, part: RawResults, offset: int) -> None:
        """Copy the results of replicas ``offset ...`` in place (see :meth:`allocate_like`)."""
        for name in RawResults.__dataclass_fields__:
            a = getattr(part, name)
            if a is None or name == "lease_paid_usd":
                continue
            dst = getattr(self, name)
            n = a.shape[0] if name.startswith("pool_") else a.shape[1]
            if name.startswith("pool_"):
                dst[offset:offset + n] = a
            else:
                dst[:, offset:offset + n] = a

    def head(self, n: int, copy: bool = False) -> RawResults:
        """The results of the first ``n`` replicas (views, or contiguous copies when
        ``copy``); the per-day series of those among them that have one."""
        out = {}
        for name in RawResults.__dataclass_fields__:
            a = getattr(self, name)
            if a is not None and name != "lease_paid_usd":
                a = a[:n] if name.startswith("pool_") else a[:, :n]
            out[name] = np.ascontiguousarray(a) if copy and a is not None else a
        return RawResults(**out)

    @staticmethod
    def bytes_per_replica(plan: Plan, daily: bool) -> int:
        """Host memory of the results of one replica, bytes (per-day series included when
        ``daily``)."""
        V, J, P = len(plan.variants), len(plan.job_names), len(plan.pool_names)
        A, L, NCT = len(plan.party_names), len(plan.lease_names), len(plan.cause_names)
        n = V * (J * (10 + NCT + 5 * P) + 2 * A * P + L) * 8 + P * (5 + plan.n_node_causes) * 8
        if daily:
            n += V * plan.n_days * A * A * 4
        return n

    @staticmethod
    def concat(parts: list[RawResults]) -> RawResults:
        """Join chunks along the replica axis."""
        out = {}
        for name in RawResults.__dataclass_fields__:
            arrs = [getattr(p, name) for p in parts]
            if arrs[0] is None:
                out[name] = None
            elif name == "lease_paid_usd":
                out[name] = arrs[0]
            elif name.startswith("pool_"):
                out[name] = np.concatenate(arrs, axis=0)
            else:
                out[name] = np.concatenate(arrs, axis=1)
        return RawResults(**out)


def bytes_per_replica(plan: Plan, daily: bool) -> int:
    """Upper bound of the engine's working memory per replica, bytes.

    The state and records, plus a replica's share of a block of steps when blocks are
    shortest (``BLOCK_MIN_STEPS``, many replicas). Blocks of fewer replicas are longer but
    hold at most about ``BLOCK_HISTORY_STEPS`` history-steps and ``BLOCK_EVENTS`` events in
    all (some tens of MB for the shipped presets), which this bound does not count.
    """
    V, J, P = len(plan.variants), len(plan.job_names), len(plan.pool_names)
    A, L = len(plan.party_names), len(plan.lease_names)
    n = P * 2 * plan.ring * 8 + V * J * (30 + P) * 8 + V * (A * P * 4 + L * 3) * 8
    # a block: the contracts and the daily sums per history-step, the node counts per
    # replica-step, ~15 words per failure event
    per_step = V * (2 * A * P + 2 * P + 3 * L + (2 * A * A if daily else 0)) + 8 * P
    n += BLOCK_MIN_STEPS * (per_step * 8 + int(_events_per_step(plan) * 15 * 8))
    if daily:
        n += V * plan.n_days * A * A * 4
    return int(n * 1.5)


def _overlap(off: np.ndarray, n: np.ndarray, x: np.ndarray, k: np.ndarray,
             h: np.ndarray) -> np.ndarray:
    """Whether node ranges [off, off+n) and the circular block [x, x+k) mod h intersect
    (empty ranges and empty blocks intersect nothing)."""
    direct = (off < x + k) & (x < off + n)
    wrap = (x + k > h) & (off < x + k - h)
    return (n > 0) & (k > 0) & (direct | wrap)


def block_steps(plan: Plan, n_replicas: int) -> int:
    """Steps per block for ``n_replicas`` replicas of ``plan``'s variants: at most
    ``BLOCK_STEPS``, about ``BLOCK_HISTORY_STEPS`` history-steps and ``BLOCK_EVENTS``
    expected failure events, at least ``BLOCK_MIN_STEPS``."""
    B = max(1, len(plan.variants) * n_replicas)
    n = min(BLOCK_STEPS, BLOCK_HISTORY_STEPS // B,
            int(BLOCK_EVENTS / (n_replicas * max(_events_per_step(plan), 1.0))))
    return max(BLOCK_MIN_STEPS, n)


def _events_per_step(plan: Plan) -> float:
    """The most node failures a replica expects in a step (every node healthy)."""
    if not len(plan.pool_names):
        return 0.0
    lam = ((plan.fail_rate_normal[:, None] * plan.online_normal
            + plan.fail_rate_lemon[:, None] * plan.online_lemon) * plan.fail_mult
           ).sum(axis=0) * plan.dt
    return float(lam.max(initial=0.0))


def simulate(plan: Plan, replica_offset: int, n_replicas: int, daily: bool = True,
             progress: Callable[[int, int], None] | None = None, *,
             check: bool = False) -> RawResults:
    """Run ``n_replicas`` replicas (ids ``replica_offset ...``) of every variant.

    The steps are simulated in blocks: for each block, the physical process of the
    replicas (:class:`~simgpu.engine.physical.PhysicalProcess`) and the contracts, which
    depend only on it, are computed first; then each step of the block allocates the jobs,
    finds the failure events that hit them and advances their progress. The results do not
    depend on the block length.

    Parameters
    ----------
    plan : Plan
        Compiled configuration.
    replica_offset : int
        Global id of the first replica (keys the random numbers).
    n_replicas : int
        Replicas in this batch.
    daily : bool
        Record the per-day usable-capacity series.
    progress : callable, optional
        Called as ``progress(step, n_steps)`` about twenty times per run.
    check : bool
        Check the step invariants after every step (:func:`check_step`) and raise
        :class:`~simgpu.errors.InvariantError` at the first violation; for tests. The
        results are the same either way.

    Returns
    -------
    RawResults
    """
    V, R = len(plan.variants), n_replicas
    B = V * R  # histories: variant-major, b = v * R + r
    J, P, A, L = len(plan.job_names), len(plan.pool_names), len(plan.party_names), \
        len(plan.lease_names)
    T, dt = plan.n_steps, plan.dt
    rb = np.tile(np.arange(R), V)  # (B,) replica of each history
    vb = np.repeat(np.arange(V), R)  # (B,) variant of each history
    ar_b = np.arange(B)
    ar_j = np.arange(J)
    phys = PhysicalProcess(plan, replica_offset + np.arange(R, dtype=np.int64))
    n_block = 1 if check else block_steps(plan, R)  # check: the state after each step

    # job state, per history
    pool_j = np.full((B, J), -1, np.int64)
    nodes_j = np.zeros((B, J), np.int64)
    restart_left = np.zeros((B, J))
    hit_last = np.zeros((B, J), bool)  # interrupted during the previous step
    total = np.zeros((B, J))
    unc = np.zeros((B, J))  # uncheckpointed FLOPs
    since = np.zeros((B, J))  # hours into the current checkpoint cycle
    start_h = np.full((B, J), INF)
    fin_h = np.full((B, J), INF)
    n_int = np.zeros((B, J), np.int64)
    NCT = len(plan.cause_names)
    int_cause = np.zeros((B, J, NCT), np.int64)
    n_pre = np.zeros((B, J), np.int64)
    n_mig = np.zeros((B, J), np.int64)
    lost_f = np.zeros((B, J))
    lost_gh = np.zeros((B, J, P))
    useful_gh = np.zeros((B, J, P))
    restart_gh = np.zeros((B, J, P))
    wait_gh = np.zeros((B, A, P))
    flops_pool = np.zeros((B, J, P))
    alloc_pool_gh = np.zeros((B, J, P))
    cap_gh = np.zeros((B, A, P))
    deliv_gh = np.zeros((B, L))
    cap_daily = np.zeros((B, plan.n_days, A, A), np.float32) if daily else None

    gpn = plan.pool_gpn.astype(np.float64)
    tau = np.broadcast_to(plan.job_tau, (B, J)).copy()  # nan until an auto job is placed
    auto = np.isnan(plan.job_tau)
    intervals = _CheckpointIntervals(plan)
    # each job's full restart time on its current allocation (it grows with the GPUs),
    # set when the allocation changes; the detection time of each hit's cause adds to it
    rst = np.zeros((B, J))
    detect = plan.hit_detect_hours()  # (P, NCT)
    detect_any = bool((detect > 0).any())
    job_events = bool((plan.fabric_rate > 0).any() or (plan.planned_rate > 0).any())
    n_rank0 = int((plan.party_rank[plan.job_party] == 0).sum()) if J else 0
    dep_pairs = [(j, d) for j in range(J) for d in np.flatnonzero(plan.job_deps[j])]
    # the leases of each pool that may give the landlord the first take
    lf_by_pool = [[li for li in range(L) if plan.lease_pool[li] == p
                   and plan.lease_lf[:, li].any()] for p in range(P)]
    step_report = max(1, T // 20)
    online_all = plan.online_normal + plan.online_lemon  # (P, T)
    step_day, day_w = plan.day_steps()  # a partial last day is averaged over its own hours
    # per job and pool: nodes wanted and the fewest accepted (at least 1: a job that
    # holds no node is not running); the pool of preference k of each job
    tgt, mn1 = plan.job_tgt_nodes, np.maximum(plan.job_min_nodes, 1)
    prefs = [[int(p) for p in plan.job_pref[j] if p >= 0] for j in range(J)]
    vR = np.arange(V)[:, None] * R  # first history of each variant
    # flat indices: (job, pool) into the (J, P) tables, (history, pool) into (B, P)
    BP = B * P
    jP = (ar_j * P)[None, :]
    bP = ar_b * P
    tgt_f, mn1_f, mfu_f = tgt.ravel(), mn1.ravel(), plan.job_mfu.ravel()
    peak = plan.pool_peak_flop_h
    gpn_lease = gpn[plan.lease_pool]
    auto_any = bool(auto.any())
    party_jobs = [np.flatnonzero(plan.job_party == a) for a in range(A)]
    allowed = (tgt > 0).astype(np.int64)  # (J, P) the pools each job may use
    # each replica's MFU multiplier of each job (1 without a band), per history
    mult = plan.mfu_multipliers(replica_offset + np.arange(R))[rb]  # (B, J)
    mult_f = mult.ravel()
    # migration at a checkpoint: each job's rank of every pool in its preference order
    # (K where it is not allowed)
    K = plan.job_pref.shape[1]
    pref_rank = np.full((J, P), K, np.int64)
    for j in range(J):
        pref_rank[j, prefs[j]] = np.arange(len(prefs[j]))

    for t0 in range(0, T, n_block):
        n = min(n_block, T - t0)
        blk = phys.run(t0, n)  # 1. capacity, repairs and 4. the failures, for the block
        con = _contracts(plan, blk.H, t0, rb, vb)  # 2. contracts, for the block
        for i in range(n):
            t = t0 + i
            h = t * dt
            avail, cap_nodes, deliv = con.avail[i], con.cap[i], con.deliv[i]
            lf_now = con.lf_any[i]

            # ---- 3. allocation, jobs in plan order
            run = np.isinf(fin_h) & (h >= plan.job_earliest_h)  # (B, J) runnable
            for j, d in dep_pairs:
                run[:, j] &= fin_h[:, d] <= h
            cur, held = pool_j, nodes_j
            # a job sizes itself when it (re)starts: after a hit it restarts on the nodes
            # left, so a shrink then costs no second restart
            resize = (restart_left > 0) | (held == 0) | hit_last
            curc = np.maximum(cur, 0)
            jp = jP + curc  # (B, J) flat (job, current pool)
            want = np.where(resize, tgt_f[jp], held)
            keep_ok = run & (cur >= 0)
            mn_cur = mn1_f[jp]
            bp = bP[:, None] + curc  # (B, J) flat (history, current pool)
            new_pool = np.full((B, J), -1, np.int64)
            new_n = np.zeros((B, J), np.int64)
            mig = np.zeros((B, J), bool)  # moves or grows at a checkpoint
            busy = (run | (cur >= 0)).any(axis=0)  # jobs waiting or done everywhere: skip
            for j in range(J):
                if j == n_rank0 and lf_now:
                    _landlord_first_take(plan, avail, con.owner_start[i], con.own[i],
                                         con.lf_ent[i], deliv, cap_nodes, lf_by_pool)
                if not busy[j]:
                    continue
                av = avail[plan.job_party[j]]  # (B, P) view of the party's nodes
                av_f = av.ravel()
                got = np.minimum(want[:, j], av_f[bp[:, j]])
                stay = keep_ok[:, j] & (got >= mn_cur[:, j])
                # else the first allowed pool where its minimum fits
                np_j, nn_j = _first_fit(prefs[j], av, mn1[j], tgt[j], run[:, j] & ~stay)
                np_j[stay] = cur[stay, j]
                nn_j[stay] = got[stay]
                if plan.job_migrate[j]:
                    mig[:, j] = _migrate(plan, j, prefs[j], pref_rank[j], av, stay,
                                         cur[:, j], got, held[:, j], resize[:, j],
                                         total[:, j], restart_left[:, j], mult[:, j],
                                         np_j, nn_j, t)
                av_f[bP + np.maximum(np_j, 0)] -= nn_j
                new_pool[:, j] = np_j
                new_n[:, j] = nn_j
            if n_rank0 == J and lf_now:
                _landlord_first_take(plan, avail, con.owner_start[i], con.own[i],
                                     con.lf_ent[i], deliv, cap_nodes, lf_by_pool)
            moved = new_pool != cur
            shrink = ~moved & (new_n < held) & ~resize
            # a stop forced by capacity checkpoints first: the work is kept
            stop = (cur >= 0) & (moved | shrink) & run
            if stop.any():  # (a migration checkpoints too, but is not a preemption)
                unc[stop] = 0.0
                since[stop] = 0.0
                n_pre += stop & ~mig
            if mig.any():
                unc[mig] = 0.0
                since[mig] = 0.0
                n_mig += mig
            restart = (new_pool >= 0) & (moved | shrink | mig)
            ch = ((new_pool >= 0) & (moved | (new_n != held))).ravel().nonzero()[0]
            if ch.size:  # the restart time on a new allocation: its GPUs
                cp = new_pool.ravel()[ch]
                rst.ravel()[ch] = plan.restart_hours(ch % J, new_n.ravel()[ch] * gpn[cp])
            restart_left = np.where(restart, rst, np.where(new_pool < 0, 0.0, restart_left))
            if auto_any:  # the Daly interval for the failure rate of a new allocation
                ch = ((new_pool >= 0) & (moved | (new_n != held)) & auto).ravel().nonzero()[0]
                if ch.size:
                    tau.ravel()[ch] = intervals.get(ch % J, new_pool.ravel()[ch],
                                                    new_n.ravel()[ch], t)
            pool_j, nodes_j = new_pool, new_n
            start_h = np.where(np.isinf(start_h) & (new_n > 0), h, start_h)
            waiting = run & (new_pool < 0)  # runnable, but its gang fits nowhere
            if waiting.any():
                _wait_records(plan, waiting, new_pool, new_n, cap_nodes, party_jobs,
                              allowed, gpn, dt, wait_gh)

            # node layout: in each pool, jobs hold contiguous ranges in plan order; ends[j]
            # (J, B P): the nodes of each (history, pool) held by jobs 0 ... j
            act = nodes_j.ravel().nonzero()[0]  # the jobs that hold GPUs; only they move
            N = act.size
            b_act = act // J
            j_act = act - b_act * J
            p_act = pool_j.ravel()[act]
            n_act = nodes_j.ravel()[act]
            at = j_act * BP + b_act * P + p_act
            ends = np.zeros((J, BP), np.int64)
            ends.ravel()[at] = n_act
            for j in range(1, J):
                ends[j] += ends[j - 1]
            offs = ends.ravel()[at] - n_act  # (N,) first node of each active job's range

            # ---- 4. the failure events of the step (in time order) that hit a job
            s0, s1 = blk.start[i], blk.start[i + 1]
            if s1 > s0 and N:
                rows, ev = _hits(blk, s0, s1, vR, ends, pool_j, nodes_j, act, offs)
                # by job, each job's hits in time order (the keys are distinct)
                key = np.sort(rows * (s1 - s0) + ev, kind="heapsort")
                rows = key // (s1 - s0)
                ev = s0 + key - rows * (s1 - s0)
                slot = np.empty(B * J, np.int64)
                slot[act] = np.arange(N)
                hrow = slot[rows]  # the hit's job among the active ones
                cause_hit = blk.cause[ev]
                n_hits = np.bincount(hrow, minlength=N)
                rank = np.arange(hrow.size) - (np.cumsum(n_hits) - n_hits)[hrow]
                width = int(n_hits.max(initial=0))
                times = np.full((N, width), INF)
                times.ravel()[hrow * width + rank] = blk.time[ev]
                extra = None
                if detect_any:  # the restart after each hit waits for its detection
                    extra = np.zeros((N, width))
                    extra.ravel()[hrow * width + rank] = detect[p_act[hrow], cause_hit]
            else:
                hrow = rank = cause_hit = np.zeros(0, np.int64)
                times = np.zeros((N, 0))
                extra = None
            graceful = None
            if job_events and N:  # fabric and planned interruptions of the jobs
                hrow, rank, cause_hit, times, extra, graceful = _with_job_events(
                    plan, t, replica_offset + rb[b_act], j_act, p_act, n_act, hrow, rank,
                    cause_hit, times, extra, detect)

            # ---- 5. progress
            gpus = n_act * gpn[p_act]
            rate = gpus * peak[p_act] * mfu_f[j_act * P + p_act] * mult_f[act]
            tau_act = tau.ravel()[act]
            out = advance(dt, np.ones(N, bool), rate, plan.job_flops[j_act],
                          total.ravel()[act], unc.ravel()[act], since.ravel()[act],
                          restart_left.ravel()[act], rst.ravel()[act], tau_act,
                          tau_act + plan.job_write[j_act], times, extra, graceful)
            for name, arr in (("total", total), ("uncommitted", unc), ("since", since),
                              ("restart_left", restart_left)):
                arr.ravel()[act] = getattr(out, name)
            if hrow.size:  # interruptions by cause: the first `interruptions` hits of each job
                counted = (rank < out.interruptions[hrow]).nonzero()[0]
                np.add.at(int_cause.ravel(), act[hrow[counted]] * NCT + cause_hit[counted], 1)
            n_int.ravel()[act] += out.interruptions
            hit_last = np.zeros((B, J), bool)
            hit_last.ravel()[act] = out.interruptions > 0
            safe_rate = np.where(rate > 0, rate, 1.0)
            lost_f.ravel()[act] += out.lost
            at_pool = act * P + p_act
            lost_gh.ravel()[at_pool] += out.lost / safe_rate * gpus
            useful_gh.ravel()[at_pool] += out.gained / safe_rate * gpus
            restart_gh.ravel()[at_pool] += out.restarted * gpus
            flops_pool.ravel()[at_pool] += out.gained
            finished = np.isfinite(out.finish_offset)
            if finished.any():
                fin_h.ravel()[act] = np.where(finished, h + out.finish_offset,
                                              fin_h.ravel()[act])
            alloc_pool_gh.ravel()[at_pool] += gpus * np.where(finished, out.finish_offset, dt)
            if check:
                full = {}
                for name, vals in (("rate", rate), ("gained", out.gained), ("lost", out.lost)):
                    full[name] = np.zeros((B, J))
                    full[name].ravel()[act] = vals
                check_step(plan, t, replica_offset, R, blk.H[i], online_all[:, t], blk.hn[i],
                           blk.hl[i], blk.kn[i], blk.kl[i], blk.hn_left[i], blk.hl_left[i],
                           phys.down, phys.ring, pool_j, nodes_j, cap_nodes, con.ent[i],
                           deliv, fin_h, full["rate"], full["gained"], full["lost"], total,
                           unc)
            if progress is not None and (t % step_report == 0 or t == T - 1):
                progress(t + 1, T)
        # 6. records of the block that do not depend on the jobs' progress: usable
        # GPU-hours by party and pool, the leases' deliveries, summed step after step, and
        # the mean usable GPUs of each day by owner
        for i in range(n):
            cap_gh += con.cap[i].transpose(1, 0, 2) * gpn * dt
            deliv_gh += con.deliv[i] * gpn_lease * dt
        if cap_daily is not None:
            owned = con.cap * gpn  # (n, A, B, P) usable GPUs; whole numbers: sums are exact
            by_owner = np.zeros((n, A, B, A))
            for p in range(P):
                by_owner[..., plan.pool_owner[p]] += owned[..., p]
            day = step_day[t0:t0 + n]
            mean = (by_owner.transpose(0, 2, 1, 3) * day_w[t0:t0 + n, None, None, None]
                    ).astype(np.float32)
            for i in range(n):
                cap_daily[:, day[i]] += mean[i]

    def vr(a: np.ndarray) -> np.ndarray:
        return a.reshape((V, R) + a.shape[1:])

    return RawResults(
        job_start_h=vr(start_h), job_finish_h=vr(fin_h), job_interruptions=vr(n_int),
        job_interruptions_by_cause=vr(int_cause), pool_failures_by_cause=phys.failures_by_cause,
        job_preemptions=vr(n_pre), job_migrations=vr(n_mig), job_lost_flops=vr(lost_f),
        job_lost_gpu_h=vr(lost_gh.sum(axis=2)), job_useful_gpu_h=vr(useful_gh.sum(axis=2)),
        job_lost_gpu_h_pool=vr(lost_gh), job_useful_gpu_h_pool=vr(useful_gh),
        job_restart_gpu_h_pool=vr(restart_gh),
        party_wait_gpu_h=vr(wait_gh), job_alloc_gpu_h=vr(alloc_pool_gh.sum(axis=2)),
        job_flops_pool=vr(flops_pool), job_alloc_gpu_h_pool=vr(alloc_pool_gh),
        party_cap_gpu_h=vr(cap_gh), lease_delivered_gpu_h=vr(deliv_gh),
        lease_paid_usd=plan.lease_usd_h.sum(axis=2) * dt,
        pool_failures=phys.failures, pool_outages=phys.outages,
        pool_online_gpu_h=phys.online_gpu_h, pool_healthy_gpu_h=phys.healthy_gpu_h,
        cap_daily=None if cap_daily is None else vr(cap_daily),
    )


class _CheckpointIntervals:
    """The Daly intervals of the automatic-checkpoint jobs (:mod:`simgpu.engine.checkpoint`)
    by (job, pool, nodes), each computed once: ``daly_interval(write, job_mtbf_hours(pool,
    nodes, t))`` depends on the step only through the domains online in the pool and the
    multiplier of its nodes' ages, so the table is cleared when those change (never with
    facility domains only and mature nodes)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        size = np.where(np.isnan(plan.job_tau)[:, None], plan.job_tgt_nodes + 1, 0)  # (J, P)
        self.tgt = plan.job_tgt_nodes
        self.offset = (np.cumsum(size.ravel()) - size.ravel()).reshape(size.shape)
        self.table = np.full(int(size.sum()), np.nan)
        self.vary = np.flatnonzero(plan.dom_nodes > 0)  # domains counted per node range
        self.units = None
        self.mult = None

    def get(self, job: np.ndarray, pool: np.ndarray, nodes: np.ndarray, t: int) -> np.ndarray:
        """Intervals, hours of compute, for jobs ``job`` holding ``nodes`` of ``pool``."""
        plan = self.plan
        if self.vary.size:
            units = plan.dom_units[self.vary, t]
            if self.units is None or (units != self.units).any():
                self.table[:] = np.nan
                self.units = units.copy()
        mult = plan.fail_mult[:, t]
        if self.mult is None or (mult != self.mult).any():
            self.table[:] = np.nan
            self.mult = mult.copy()
        jp = job * self.tgt.shape[1] + pool
        fits = nodes <= self.tgt.ravel()[jp]  # always: a job holds at most its target
        key = np.where(fits, self.offset.ravel()[jp] + nodes, 0)
        tau = np.where(fits, self.table[key], np.nan)
        miss = np.flatnonzero(np.isnan(tau))
        if miss.size:
            tau[miss] = daly_interval(plan.job_write[job[miss]],
                                      plan.job_mtbf_hours(pool[miss], nodes[miss], t))
            keep = miss[fits[miss]]
            self.table[key[keep]] = tau[keep]
        return tau


def _hits(blk: PhysicalBlock, s0: int, s1: int, vR: np.ndarray, ends: np.ndarray,
          pool_j: np.ndarray, nodes_j: np.ndarray, act: np.ndarray, offs: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """The (job, event) pairs of the events ``s0:s1`` of a block: which job of which history
    each event hits, in every variant of its replica.

    ``ends`` (J, B P) holds, for each (history, pool), the nodes held by jobs 0 ... j (the
    jobs' ranges lie end to end in plan order); ``offs`` the first node of each active
    job's range (``act``, flat history x J + job). Returns ``rows`` (history x J + job) and
    ``ev`` (the event's index from ``s0``), one entry per hit. A node failure at node x
    hits job ``#{j : ends[j] <= x}`` of its (history, pool) when that is a job (x below
    all the jobs' ends); a domain outage (a circular block of nodes) hits every job whose
    range meets it.
    """
    J, BP = ends.shape
    B = pool_j.shape[0]
    P, E = BP // B, s1 - s0
    e_r, e_x = blk.replica[s0:s1], blk.first[s0:s1]
    cell = (vR + e_r) * P + blk.pool[s0:s1]  # (V, E) (history, pool) in every variant
    held = np.zeros(cell.shape, np.int64)  # jobs whose ranges end at or before the node
    for j in range(J):
        held += ends[j][cell] <= e_x
    one = blk.size[s0:s1] == 1
    at = ((held < J) & one).ravel().nonzero()[0]
    v, ev = np.divmod(at, E)
    rows = (vR.ravel()[v] + e_r[ev]) * J + held.ravel()[at]
    if not one.all():  # domain outages: blocks of nodes, circular
        full = np.zeros(B * J, np.int64)
        full[act] = offs
        full = full.reshape(B, J)
        eo = np.flatnonzero(~one)
        ob = vR + e_r[eo]  # (V, Eo)
        hit = (pool_j[ob] == blk.pool[s0 + eo, None]) & _overlap(
            full[ob], nodes_j[ob], blk.first[s0 + eo, None], blk.size[s0 + eo, None],
            blk.healthy[s0 + eo, None])
        ov, oe, oj = np.nonzero(hit)
        rows = np.concatenate([rows, ob[ov, oe] * J + oj])
        ev = np.concatenate([ev, eo[oe]])
    return rows, ev


def job_events(plan: Plan, t: int, replica: np.ndarray, job: np.ndarray, pool: np.ndarray,
               nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The interruptions in step ``t`` of jobs that take no node down: fabric hangs of
    multi-node jobs and planned maintenance, for jobs ``job`` holding ``nodes`` nodes of
    ``pool`` (one entry per job, global ``replica`` ids).

    Together they are one Poisson process of ``r = rf + rg`` per hour, ``rf = fabric_rate
    x nodes`` (0 on one node) and ``rg = planned_rate x nodes``, drawn in time order: event
    ``i`` comes ``-log(u_i) / r`` hours after the one before (the first after the step
    start), and is a fabric one when ``v_i < rf / r``; ``(u_i, v_i)`` are the uniforms of
    words (0, 1) and (2, 3) of ``(replica, STREAM_JOB_EVENT, t, job, sub=i)``, until the
    step ends (at most ``JOB_EVENT_MAX`` per job and step). The same job in every variant
    uses the same uniforms (common random numbers).

    Returns ``(entry, time, fabric, i)``: the job entry, hours into the step, whether it
    is a fabric event and the draw's index, of every event.
    """
    from simgpu.rng import bits, detmath, uniform_from_words

    n = nodes.astype(np.float64)
    rf = np.where(nodes > 1, plan.fabric_rate[pool] * n, 0.0)
    rj = rf + plan.planned_rate[pool] * n
    rows = np.flatnonzero(rj > 0.0)
    share = rf[rows] / rj[rows]
    cur = np.zeros(rows.size)
    out: list[tuple[np.ndarray, ...]] = []
    i = 0
    while rows.size and i < JOB_EVENT_MAX:
        r0, r1, r2, r3 = bits(plan.seed, replica[rows], STREAM_JOB_EVENT, t, job[rows], i)
        cur = cur + (-detmath.log(uniform_from_words(r0, r1))) / rj[rows]
        fab = uniform_from_words(r2, r3) < share
        live = cur < plan.dt
        rows, cur, share = rows[live], cur[live], share[live]
        out.append((rows, cur, fab[live], np.full(rows.size, i)))
        i += 1
    if not out:
        z = np.zeros(0, np.int64)
        return z, np.zeros(0), np.zeros(0, bool), z
    return tuple(np.concatenate([o[k] for o in out]) for k in range(4))


def _with_job_events(plan: Plan, t: int, replica: np.ndarray, j_act: np.ndarray,
                     p_act: np.ndarray, n_act: np.ndarray, hrow: np.ndarray,
                     rank: np.ndarray, cause_hit: np.ndarray, times: np.ndarray,
                     extra: np.ndarray | None, detect: np.ndarray):
    """The pool events that hit the active jobs (``hrow``, ``rank``, ``cause_hit``, their
    ``times`` and ``extra`` restart hours as (N, width) rows) merged with the jobs' own
    interruptions (:func:`job_events`), in time order (pool events first at equal times).
    Each adds its cause's detection (``detect``, (P, NCT)) to the restart after it;
    planned ones are graceful. Returns the same arrays and ``graceful``."""
    jr, jt, jf, ji = job_events(plan, t, replica, j_act, p_act, n_act)
    if not jr.size:
        return hrow, rank, cause_hit, times, extra, None
    N, width = times.shape
    at = hrow * width + rank
    p_ex = extra.ravel()[at] if extra is not None else np.zeros(hrow.size)
    j_cause = np.where(jf, plan.cause_fabric, plan.cause_planned)
    row = np.concatenate([hrow, jr])
    when = np.concatenate([times.ravel()[at], jt])
    kind = np.concatenate([np.zeros(hrow.size, np.int64), np.where(jf, 1, 2)])
    seq = np.concatenate([rank, ji])
    cause = np.concatenate([cause_hit, j_cause])
    ex = np.concatenate([p_ex, detect[p_act[jr], j_cause]])
    # pool events first at equal times; the job's own events in draw order
    order = np.lexsort((seq, kind > 0, when, row))
    row, when, kind, cause, ex = row[order], when[order], kind[order], cause[order], ex[order]
    n_hits = np.bincount(row, minlength=N)
    rank = np.arange(row.size) - (np.cumsum(n_hits) - n_hits)[row]
    width = int(n_hits.max(initial=0))
    at = row * width + rank
    times = np.full((N, width), INF)
    times.ravel()[at] = when
    extra = np.zeros((N, width))
    extra.ravel()[at] = ex
    graceful = np.zeros((N, width), bool)
    graceful.ravel()[at] = kind == 2
    return row, rank, cause, times, extra, graceful


def _wait_records(plan: Plan, waiting: np.ndarray, pool_j: np.ndarray, nodes_j: np.ndarray,
                  cap_nodes: np.ndarray, party_jobs: list[np.ndarray], allowed: np.ndarray,
                  gpn: np.ndarray, dt: float, wait_gh: np.ndarray) -> None:
    """Step 6, waiting for a gang: each party's usable nodes that none of its jobs holds,
    in the pools where one of its ``waiting`` jobs (runnable, placed nowhere) may run, as
    GPU-hours added to ``wait_gh`` (B, A, P) in place. ``cap_nodes`` (A, B, P)."""
    B = waiting.shape[0]
    ar_b = np.arange(B)
    for a, js in enumerate(party_jobs):
        if not js.size or not waiting[:, js].any():
            continue
        wp = (waiting[:, js].astype(np.int64) @ allowed[js]) > 0  # (B, P)
        held = np.zeros(wp.shape, np.int64)
        for j in js:
            held[ar_b, np.maximum(pool_j[:, j], 0)] += nodes_j[:, j]
        wait_gh[:, a] += np.where(wp, cap_nodes[a] - held, 0) * gpn * dt


def _first_fit(prefs: list[int], av: np.ndarray, minimum: np.ndarray, target: np.ndarray,
               need: np.ndarray, before: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Where the histories in ``need`` place a job: the first pool of ``prefs`` (its
    preference order) where its ``minimum`` (P,) fits in the nodes ``av`` (B, P), on
    ``min(target, available)`` nodes; with ``before`` (B,), only the pools ranked before
    it. Returns (pool, nodes), each (B,): -1 and 0 where none fits or not ``need``."""
    pool = np.full(need.shape, -1, np.int64)
    nodes = np.zeros(need.shape, np.int64)
    need = need.copy()
    for k, p in enumerate(prefs):
        if before is not None:
            need &= before > k
        if not need.any():
            break
        ok = need & (av[:, p] >= minimum[p])
        pool[ok] = p
        nodes[ok] = np.minimum(target[p], av[ok, p])
        need &= ~ok
    return pool, nodes


def _migrate(plan: Plan, j: int, prefs: list[int], rank: np.ndarray, av: np.ndarray,
             stay: np.ndarray, cur: np.ndarray, got: np.ndarray, held: np.ndarray,
             resize: np.ndarray, total: np.ndarray, rleft: np.ndarray, mult: np.ndarray,
             np_j: np.ndarray, nn_j: np.ndarray, t: int) -> np.ndarray:
    """Migration at a checkpoint of job ``j`` (docs/model.md, "Allocation"), in every
    history: where it keeps its pool (``stay``, on ``got`` nodes of ``cur``), its one
    alternative is the first pool before ``cur`` in its preference order where its minimum
    fits in its party's nodes ``av`` (B, P), else, when it is running (not ``resize``),
    ``min(target, available)`` nodes of ``cur`` if that is more than it ``held``. It takes
    the alternative when ``W x (1 - r_stay / r_alt) > max(0, R_alt - rho)``, ``W`` the
    hours it would still run before finishing or its next hit (its MTBF) at step ``t``;
    ``np_j`` and ``nn_j`` (its placement) are updated in place. Returns where it migrates
    (B,)."""
    B = stay.size
    gpn = plan.pool_gpn
    curc = np.maximum(cur, 0)
    alt, alt_n = _first_fit(prefs, av, plan.job_min_nodes[j], plan.job_tgt_nodes[j],
                            stay, before=rank[curc])
    grow_n = np.minimum(plan.job_tgt_nodes[j, curc], av[np.arange(B), curc])
    grow = stay & (alt < 0) & ~resize & (grow_n > held)
    alt[grow] = cur[grow]
    alt_n[grow] = grow_n[grow]
    rows = np.flatnonzero(alt >= 0)
    if not rows.size:
        return np.zeros(B, bool)
    peak, mfu = plan.pool_peak_flop_h, plan.job_mfu[j]
    c, a = cur[rows], alt[rows]
    r_stay = (got[rows] * gpn[c]).astype(np.float64) * peak[c] * mfu[c] * mult[rows]
    r_alt = (alt_n[rows] * gpn[a]).astype(np.float64) * peak[a] * mfu[a] * mult[rows]
    # the gain lasts until the job would finish or restart anyway (after its next hit,
    # when it resizes for free): the hours of staying it covers, at most its MTBF there
    window = np.minimum((plan.job_flops[j] - total[rows]) / r_stay,
                        plan.job_mtbf_hours(c, got[rows], t))
    cost = np.maximum(plan.restart_hours(j, (alt_n[rows] * gpn[a]).astype(np.float64))
                      - rleft[rows], 0.0)
    go = (window * (1.0 - (r_stay / r_alt))) > cost
    mig = np.zeros(B, bool)
    mig[rows[go]] = True
    np_j[mig] = alt[mig]
    nn_j[mig] = alt_n[mig]
    return mig


def _accumulate(acc: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """``acc + terms[0] + terms[1] + ...`` added left to right (as step after step)."""
    return np.cumsum(np.concatenate([acc[None], terms]), axis=0)[-1]


@dataclass
class _Contracts:
    """The contracts of a block of n steps: nodes by party before allocation. Shapes
    (n, A, B, P) for ``avail`` (what each party may allocate) and ``cap`` (what it may use,
    for the records), (n, B, P) for ``own`` (the owner's nodes not leased out) and
    ``owner_start`` (what the owner may allocate, landlord-first leases included),
    (n, B, L) for ``ent`` (entitlements), ``lf_ent`` (the part under landlord-first) and
    ``deliv`` (delivered so far); ``lf_any`` (n,) whether landlord-first acts in the step."""

    avail: np.ndarray
    cap: np.ndarray
    own: np.ndarray
    owner_start: np.ndarray
    ent: np.ndarray
    lf_ent: np.ndarray
    deliv: np.ndarray
    lf_any: np.ndarray


def _contracts(plan: Plan, H: np.ndarray, t0: int, rb: np.ndarray, vb: np.ndarray
               ) -> _Contracts:
    """Step 2 for the steps ``t0 ...`` of a block, from their healthy nodes ``H`` (n, R, P):
    each lease's entitlement from its pool's healthy nodes (failure burden, withholding);
    the owner keeps the rest; landlord-first leases also go to the landlord's allocation."""
    n, P = H.shape[0], H.shape[2]
    A, L, B = len(plan.party_names), len(plan.lease_names), rb.size
    online = (plan.online_normal + plan.online_lemon)[:, t0:t0 + n]  # (P, n)
    Hb = H[:, rb]  # (n, B, P)
    own = Hb.copy()
    ent = np.zeros((n, B, L), np.int64)
    for li in range(L):
        p = plan.lease_pool[li]
        on_p = online[p]  # (n,)
        live = on_p > 0  # a lease on a pool with nothing online delivers nothing
        if not live.any():
            continue
        share = plan.lease_share[:, li, None]  # (V, 1) the contract of each variant
        contracted = np.where(np.isnan(share),
                              np.minimum(plan.lease_gpus[:, li, None] // plan.pool_gpn[p], on_p),
                              np.floor(share * on_p + 1e-9)).astype(np.int64)[vb].T  # (n, B)
        if plan.lease_replaced[li]:
            deliv_r = np.minimum(contracted, Hb[:, :, p])
        else:
            deliv_r = (contracted * Hb[:, :, p]) // np.where(live, on_p, 1)[:, None]
        e = np.floor(deliv_r * plan.lease_frac[vb, li, t0:t0 + n].T + 1e-9).astype(np.int64)
        e = np.where(live[:, None], np.minimum(e, own[:, :, p]), 0)
        own[:, :, p] -= e
        ent[:, :, li] = e
    avail = np.zeros((n, A, B, P), np.int64)
    for p in range(P):
        avail[:, plan.pool_owner[p], :, p] += own[:, :, p]
    for li in range(L):
        avail[:, plan.lease_tenant[li], :, plan.lease_pool[li]] += ent[:, :, li]
    cap = avail.copy()  # usable nodes by party, for the records
    lf_now = plan.lease_lf[:, :, t0:t0 + n]  # (V, L, n)
    lf_ent = ent * lf_now[vb].transpose(2, 0, 1)
    for li in range(L):  # the landlord may also allocate its landlord-first leases
        avail[:, plan.lease_owner[li], :, plan.lease_pool[li]] += lf_ent[:, :, li]
    owner_start = np.stack([avail[:, plan.pool_owner[p], :, p] for p in range(P)], axis=-1) \
        if P else np.zeros((n, B, 0), np.int64)
    return _Contracts(avail=avail, cap=cap, own=own, owner_start=owner_start, ent=ent,
                      lf_ent=lf_ent, deliv=ent.copy(), lf_any=lf_now.any(axis=(0, 1)))


def _landlord_first_take(plan: Plan, avail: np.ndarray, owner_start: np.ndarray,
                         own: np.ndarray, lf_ent: np.ndarray, deliv: np.ndarray,
                         cap_nodes: np.ndarray, lf_by_pool: list[list[int]]) -> None:
    """After the lessors' jobs took their nodes, charge what they used beyond their own
    nodes to the landlord-first leases of that pool, in lease order; in place.

    ``avail`` and ``cap_nodes`` are (A, B, P); ``owner_start`` and ``own`` (B, P);
    ``lf_ent`` and ``deliv`` (B, L); ``lf_by_pool`` the leases of each pool (those that
    never give landlord-first may be left out: their take is 0).
    """
    for p, leases in enumerate(lf_by_pool):
        if not leases:
            continue
        ow = plan.pool_owner[p]
        over = np.maximum(owner_start[:, p] - avail[ow, :, p] - own[:, p], 0)
        for li in leases:
            take = np.minimum(over, lf_ent[:, li])
            tn = plan.lease_tenant[li]
            avail[tn, :, p] -= take
            cap_nodes[tn, :, p] -= take
            cap_nodes[ow, :, p] += take
            deliv[:, li] -= take
            over -= take


# ------------------------------------------------------------------- step invariants

_AXIS_NAMES = {"pool": "pool_names", "party": "party_names", "job": "job_names",
               "lease": "lease_names"}


def _require(ok: np.ndarray, plan: Plan, t: int, offset: int, R: int, quantity: str,
             axes: tuple[str, ...], lhs: np.ndarray, rhs: np.ndarray) -> None:
    """Raise :class:`InvariantError` at the first ``False`` of ``ok`` (axes named by
    ``axes``: history, replica, pool, party, job, lease, class), showing ``lhs`` and
    ``rhs`` there."""
    if ok.all():
        return
    from simgpu.errors import InvariantError

    idx = tuple(int(i) for i in np.argwhere(~ok)[0])
    where, history = [], None
    for axis, i in zip(axes, idx, strict=True):
        if axis == "history":
            history = i
            where.append(f"history {i} (variant {plan.variants[i // R].name}, "
                         f"replica {offset + i % R})")
        elif axis == "replica":
            where.append(f"replica {offset + i} (every variant)")
        elif axis == "class":
            where.append(("normal", "lemon")[i] + " nodes")
        else:
            where.append(f"{axis} {getattr(plan, _AXIS_NAMES[axis])[i]}")
    a = np.broadcast_to(lhs, ok.shape)[idx].item()
    b = np.broadcast_to(rhs, ok.shape)[idx].item()
    raise InvariantError(t, t * plan.dt, history, quantity,
                         f"{', '.join(where)}: {a!r} vs {b!r}")


def check_step(plan: Plan, t: int, offset: int, R: int, H: np.ndarray, online: np.ndarray,
               hn: np.ndarray, hl: np.ndarray, kn: np.ndarray, kl: np.ndarray,
               hn_left: np.ndarray, hl_left: np.ndarray, down: np.ndarray,
               ring: np.ndarray, pool_j: np.ndarray, nodes_j: np.ndarray,
               cap_nodes: np.ndarray, ent: np.ndarray, deliv: np.ndarray,
               fin_h: np.ndarray, rate: np.ndarray, gained: np.ndarray, lost: np.ndarray,
               total: np.ndarray, unc: np.ndarray) -> None:
    """The invariants of step ``t`` of :func:`simulate` (``check=True``), in every history.

    After allocation: jobs' nodes in a pool <= its healthy nodes <= its online nodes; each
    job holds between its minimum and target nodes of an allowed pool, only after its
    dependencies finished and from its earliest start; the parties' usable nodes of a pool
    (the owner's remainder plus leases in, minus what landlord-first takes back) are >= 0
    and sum to its healthy nodes (conservation); no party allocates more than it may use;
    each lease delivers between 0 and its entitlement, within its tenant's usable nodes.
    After failures: no more nodes fail than are healthy, and every down node has exactly
    one return slot in the repair ring. After progress: FLOPs gained in the step <= GPUs x
    peak x MFU x dt, and 0 <= uncommitted <= done <= the job's FLOPs, losses >= 0.

    Shapes as in :func:`simulate`: ``H``, ``hn``, ``hl``, ``kn``, ``kl`` and the ``*_left``
    (R, P); ``down`` (R, P, 2); ``ring`` (R, P, 2, G); ``cap_nodes`` (A, B, P); ``ent`` and
    ``deliv`` (B, L); the job arrays (B, J).

    Raises
    ------
    InvariantError
        At the first violation, naming the step, the history and the quantity.
    """
    B, J = nodes_j.shape
    A, P = len(plan.party_names), len(plan.pool_names)
    h, dt = t * plan.dt, plan.dt
    rb = np.tile(np.arange(R), B // R)

    def req(ok, quantity, axes, lhs, rhs):
        _require(ok, plan, t, offset, R, quantity, axes, lhs, rhs)

    # ---- after allocation
    req(H <= online[None, :], "healthy nodes <= online nodes", ("replica", "pool"), H,
        online[None, :])
    req(H >= 0, "healthy nodes >= 0", ("replica", "pool"), H, 0)
    held = nodes_j > 0
    req((nodes_j >= 0) & (~held | (pool_j >= 0)), "a job holds >= 0 nodes, in a pool",
        ("history", "job"), nodes_j, pool_j)
    pjc = np.maximum(pool_j, 0)
    ar_j = np.arange(J)
    mn = plan.job_min_nodes[ar_j, pjc]
    tg = plan.job_tgt_nodes[ar_j, pjc]
    req(~held | ((tg > 0) & (nodes_j <= tg)),
        "a job holds at most its target nodes, of an allowed pool", ("history", "job"),
        nodes_j, tg)
    req(~held | (nodes_j >= mn), "a job holds at least its minimum nodes",
        ("history", "job"), nodes_j, mn)
    blocked = (fin_h > h).astype(np.int64) @ plan.job_deps.T.astype(np.int64) > 0
    req(~held | ~blocked, "a job holds nodes only after its dependencies finished",
        ("history", "job"), held, blocked)
    req(~held | (h >= plan.job_earliest_h[None, :]),
        "a job holds nodes only from its earliest start", ("history", "job"), h,
        plan.job_earliest_h[None, :])
    bb, jj = np.nonzero(held)
    alloc_party = np.zeros((A, B, P), np.int64)
    np.add.at(alloc_party, (plan.job_party[jj], bb, pool_j[bb, jj]), nodes_j[bb, jj])
    usable = cap_nodes.sum(axis=0)
    req(usable == H[rb], "the parties' usable nodes sum to the pool's healthy nodes",
        ("history", "pool"), usable, H[rb])
    req(cap_nodes >= 0, "usable nodes >= 0", ("party", "history", "pool"), cap_nodes, 0)
    req(alloc_party <= cap_nodes,
        "a party's allocated nodes <= its usable nodes (owned + leased in - leased out)",
        ("party", "history", "pool"), alloc_party, cap_nodes)
    alloc_pool = alloc_party.sum(axis=0)
    req(alloc_pool <= H[rb], "allocated nodes <= healthy nodes", ("history", "pool"),
        alloc_pool, H[rb])
    if ent.shape[1]:
        req((deliv >= 0) & (deliv <= ent), "0 <= a lease's delivered nodes <= entitlement",
            ("history", "lease"), deliv, ent)
        tcap = cap_nodes[plan.lease_tenant[None, :], np.arange(B)[:, None],
                         plan.lease_pool[None, :]]
        req(deliv <= tcap, "a lease's delivered nodes <= its tenant's usable nodes",
            ("history", "lease"), deliv, tcap)

    # ---- after failures
    req((kn <= hn) & (kl <= hl) & (hn_left >= 0) & (hl_left >= 0),
        "failed nodes <= healthy nodes", ("replica", "pool"), hn_left + hl_left, 0)
    in_ring = ring.sum(axis=-1)
    req((down >= 0) & (in_ring == down), "down nodes == nodes awaiting repair",
        ("replica", "pool", "class"), down, in_ring)

    # ---- after progress
    flops = plan.job_flops[None, :]
    cap = rate * dt
    slack = 1e-9 * cap + 1e-12 * np.maximum(flops, np.abs(total))
    req(gained <= cap + slack, "FLOPs gained in a step <= GPUs x peak x MFU x dt",
        ("history", "job"), gained, cap)
    tol = 1e-9 * np.maximum(flops, 1.0)  # rounding of sums of terms up to the job's FLOPs
    req((total >= -tol) & (total <= flops * (1 + 1e-12)), "0 <= FLOPs done <= job FLOPs",
        ("history", "job"), total, flops)
    req((unc >= -tol) & (unc <= total + tol), "0 <= uncommitted FLOPs <= FLOPs done",
        ("history", "job"), unc, total)
    req(lost >= 0, "FLOPs lost >= 0", ("history", "job"), lost, 0)
