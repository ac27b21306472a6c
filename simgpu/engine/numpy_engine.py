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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simgpu.engine.checkpoint import daly_interval
from simgpu.engine.plan import DIST_EXPONENTIAL, DIST_LOGNORMAL, Plan
from simgpu.engine.progress import advance
from simgpu.rng import bits, uniform, uniform_from_words
from simgpu.rng.distributions import (
    POISSON_PTRS_MIN_LAM,
    exponential_from_uniform,
    lognormal_from_uniform,
    poisson,
    poisson_small_from_uniform,
)

log = logging.getLogger(__name__)

#: Stream ids of the counter-based generator (shared with the CUDA kernels).
STREAM_COUNT = 1  # index: pool (normal nodes), P + pool (lemon nodes), 2P + domain kind
STREAM_FAIL_EVENT = 2  # index: i * P + pool, i-th failed node of the step; sub 0, 1
STREAM_DOM_EVENT = 3  # index: i * D + domain kind, i-th outage of the step (event_draws)

INF = np.inf
BLOCK = 256  # steps whose count uniforms are drawn together (no effect on values)


@dataclass
class RawResults:
    """Per-replica records of one run; shapes (V variants, R replicas, J jobs, P pools,
    A parties, L leases, D days). Hours since ``sim.start``; ``inf`` means never."""

    job_start_h: np.ndarray  # (V, R, J) float64
    job_finish_h: np.ndarray  # (V, R, J) float64
    job_interruptions: np.ndarray  # (V, R, J) int64 failure hits
    job_interruptions_by_cause: np.ndarray  # (V, R, J, C) int64, causes as plan.cause_names
    job_preemptions: np.ndarray  # (V, R, J) int64 stops or shrinks forced by capacity
    job_lost_flops: np.ndarray  # (V, R, J) float64 work rolled back
    job_lost_gpu_h: np.ndarray  # (V, R, J) float64 compute GPU-hours rolled back
    job_useful_gpu_h: np.ndarray  # (V, R, J) float64 compute GPU-hours kept
    job_alloc_gpu_h: np.ndarray  # (V, R, J) float64 GPU-hours held
    job_flops_pool: np.ndarray  # (V, R, J, P) float64 kept FLOPs by pool
    party_cap_gpu_h: np.ndarray  # (V, R, A, P) float64 usable GPU-hours
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

    @staticmethod
    def bytes_per_replica(plan: Plan, daily: bool) -> int:
        """Host memory of the results of one replica, bytes (per-day series included when
        ``daily``)."""
        V, J, P = len(plan.variants), len(plan.job_names), len(plan.pool_names)
        A, L, NCT = len(plan.party_names), len(plan.lease_names), len(plan.cause_names)
        n = V * (J * (9 + NCT + 2 * P) + A * P + L) * 8 + P * (5 + plan.n_node_causes) * 8
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
    """Upper bound of the engine's working memory per replica, bytes."""
    V, J, P = len(plan.variants), len(plan.job_names), len(plan.pool_names)
    A, L = len(plan.party_names), len(plan.lease_names)
    n = P * 2 * plan.ring * 8 + V * J * (30 + P) * 8 + V * (A * P * 4 + L * 3) * 8
    if daily:
        n += V * plan.n_days * A * A * 4
    return int(n * 1.5)


def draw_duration(kind: np.ndarray, p1: np.ndarray, p2: np.ndarray, cap: np.ndarray,
                  u: np.ndarray) -> np.ndarray:
    """Duration in hours from one uniform ``u`` for distribution codes ``kind``.

    fixed: ``p1``; exponential: ``-p1 log u``; lognormal: ``exp(p1 + p2 Phi^-1(u))``;
    every draw capped at ``cap``. All arguments broadcast; float64.
    """
    kind = np.asarray(kind)
    d = np.broadcast_to(np.asarray(p1, np.float64), np.broadcast(kind, u).shape)
    if (kind == DIST_EXPONENTIAL).any():
        d = np.where(kind == DIST_EXPONENTIAL, exponential_from_uniform(u, p1), d)
    if (kind == DIST_LOGNORMAL).any():
        d = np.where(kind == DIST_LOGNORMAL, lognormal_from_uniform(u, p1, p2), d)
    return np.minimum(d, cap)


def event_draws(seed: int, replica: np.ndarray, stream: int, step: int, index: np.ndarray,
                healthy: np.ndarray, cause: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The draws of one failure event: one Philox block, two when it has a cause to draw.

    Block ``sub=0``: words ``(r0, r1)`` give the repair-time uniform ``u`` on the 52-bit
    grid (:func:`simgpu.rng.uniform`); ``r2`` the failed node's position
    ``(r2 * healthy) >> 32`` in ``[0, healthy)``; ``r3`` the time in the step as a fraction
    ``(r3 + 0.5) / 2**32``. Block ``sub=1`` (only with ``cause``): words ``(r0, r1)`` give
    the uniform that picks the failure's cause. All exact in integer or float64 arithmetic.

    Returns
    -------
    u : ndarray of float64
    position : ndarray of int64
    phase : ndarray of float64
    u_cause : ndarray of float64, or None
    """
    sub = np.array([0, 1])[:, None] if cause else 0
    r0, r1, r2, r3 = bits(seed, replica, stream, step, index, sub)
    u = uniform_from_words(r0, r1)
    u_cause = u[1] if cause else None
    if cause:
        u, r2, r3 = u[0], r2[0], r3[0]
    pos = ((r2.astype(np.uint64) * np.asarray(healthy).astype(np.uint64)) >> np.uint64(32))
    phase = (r3.astype(np.float64) + 0.5) * 2.0**-32
    return u, pos.astype(np.int64), phase, u_cause


def _overlap(off: np.ndarray, n: np.ndarray, x: np.ndarray, k: np.ndarray,
             h: np.ndarray) -> np.ndarray:
    """Whether node ranges [off, off+n) and the circular block [x, x+k) mod h intersect
    (empty ranges and empty blocks intersect nothing)."""
    direct = (off < x + k) & (x < off + n)
    wrap = (x + k > h) & (off < x + k - h)
    return (n > 0) & (k > 0) & (direct | wrap)


def simulate(plan: Plan, replica_offset: int, n_replicas: int, daily: bool = True,
             progress: Callable[[int, int], None] | None = None, *,
             check: bool = False) -> RawResults:
    """Run ``n_replicas`` replicas (ids ``replica_offset ...``) of every variant.

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
    T, dt, G, seed = plan.n_steps, plan.dt, plan.ring, plan.seed
    ND = len(plan.dom_pool)
    rep = (replica_offset + np.arange(R, dtype=np.int64))[:, None]  # (R, 1) global ids
    rb = np.tile(np.arange(R), V)  # (B,) replica of each history
    vb = np.repeat(np.arange(V), R)  # (B,) variant of each history
    ar_b = np.arange(B)
    ar_p = np.arange(P)
    ar_j = np.arange(J)
    ar_p[None, :]

    # physical state, per replica
    ring = np.zeros((R, P, 2, G), np.int64)  # nodes returning at step slot, by class
    down = np.zeros((R, P, 2), np.int64)
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
    NC, NCT = plan.n_node_causes, len(plan.cause_names)
    int_cause = np.zeros((B, J, NCT), np.int64)
    fails_cause = np.zeros((R, P, NC), np.int64)
    n_pre = np.zeros((B, J), np.int64)
    lost_f = np.zeros((B, J))
    lost_gh = np.zeros((B, J))
    useful_gh = np.zeros((B, J))
    flops_pool = np.zeros((B, J, P))
    alloc_pool_gh = np.zeros((B, J, P))
    cap_gh = np.zeros((B, A, P))
    deliv_gh = np.zeros((B, L))
    fails = np.zeros((R, P), np.int64)
    outages = np.zeros((R, P), np.int64)
    online_gh = np.zeros((R, P))
    healthy_gh = np.zeros((R, P))
    cap_daily = np.zeros((B, plan.n_days, A, A), np.float32) if daily else None
    owner_onehot = np.zeros((P, A))
    owner_onehot[ar_p, plan.pool_owner] = 1.0

    gpn = plan.pool_gpn.astype(np.float64)
    tau = np.broadcast_to(plan.job_tau, (B, J)).copy()  # nan until an auto job is placed
    write = np.broadcast_to(plan.job_write, (B, J))
    auto = np.isnan(plan.job_tau)
    rst = np.broadcast_to(plan.job_restart, (B, J)).ravel()
    flops_bj = np.broadcast_to(plan.job_flops, (B, J)).ravel()
    n_rank0 = int((plan.party_rank[plan.job_party] == 0).sum()) if J else 0
    dep_lists = [np.flatnonzero(plan.job_deps[j]) for j in range(J)]
    lf_by_pool = [[li for li in range(L) if plan.lease_pool[li] == p] for p in range(P)]
    earlier_same = np.tril(np.ones((J, J), bool), k=-1)  # [j, k]: k before j
    step_report = max(1, T // 20)
    count_idx = np.arange(2 * P + ND, dtype=np.int64)[None, :]
    online_all = plan.online_normal + plan.online_lemon  # (P, T)
    dom_units = plan.dom_units  # (D, T)
    step_day, day_w = plan.day_steps()  # a partial last day is averaged over its own hours

    for t in range(T):
        h = t * dt
        # ---- 1. capacity and repairs
        slot = t % G
        down -= ring[:, :, :, slot]
        ring[:, :, :, slot] = 0
        on_n = plan.online_normal[:, t]
        on_l = plan.online_lemon[:, t]
        online = online_all[:, t]
        hn = np.maximum(on_n[None, :] - down[:, :, 0], 0)
        hl = np.maximum(on_l[None, :] - down[:, :, 1], 0)
        H = hn + hl  # (R, P) healthy nodes
        online_gh += online * gpn * dt
        healthy_gh += H * gpn * dt

        # ---- 2. contracts
        remaining = H[rb].copy()  # (B, P)
        ent = np.zeros((B, L), np.int64)
        for li in range(L):
            p = plan.lease_pool[li]
            on_p = online[p]
            if on_p <= 0:
                continue
            share = plan.lease_share[:, li]  # (V,) the contract of each variant
            contracted = np.where(np.isnan(share),
                                  np.minimum(plan.lease_gpus[:, li] // plan.pool_gpn[p], on_p),
                                  np.floor(share * on_p + 1e-9)).astype(np.int64)[vb]
            if plan.lease_replaced[li]:
                deliv_r = np.minimum(contracted, H[rb, p])
            else:
                deliv_r = (contracted * H[rb, p]) // on_p
            e = np.floor(deliv_r * plan.lease_frac[vb, li, t] + 1e-9).astype(np.int64)
            e = np.minimum(e, remaining[:, p])
            remaining[:, p] -= e
            ent[:, li] = e
        avail = np.zeros((A, B, P), np.int64)
        avail[plan.pool_owner, :, ar_p] += remaining.T
        for li in range(L):
            avail[plan.lease_tenant[li], :, plan.lease_pool[li]] += ent[:, li]
        cap_nodes = avail.copy()  # usable nodes by party, for the records
        lf_now = plan.lease_lf[:, :, t]  # (V, L)
        lf_ent = ent * lf_now[vb]
        if lf_now.any():  # the landlord may also allocate its landlord-first leases
            for li in range(L):
                avail[plan.lease_owner[li], :, plan.lease_pool[li]] += lf_ent[:, li]
        owner_start = avail[plan.pool_owner, :, ar_p].T.copy()  # (B, P)
        deliv = ent.copy()

        # ---- 3. allocation, jobs in plan order
        for j in range(J):
            if j == n_rank0 and lf_now.any():
                _landlord_first_take(plan, avail, owner_start, remaining, lf_ent, deliv,
                                     cap_nodes, lf_by_pool)
            av = avail[plan.job_party[j]]  # (B, P) view
            run = np.isinf(fin_h[:, j]) & (h >= plan.job_earliest_h[j])
            for d in dep_lists[j]:
                run &= fin_h[:, d] <= h
            cur = pool_j[:, j]
            if not run.any() and not (cur >= 0).any():
                continue  # waiting or finished in every history
            held = nodes_j[:, j]
            # a job sizes itself when it (re)starts: after a hit it restarts on the nodes
            # left, so a shrink then costs no second restart
            resize = (restart_left[:, j] > 0) | (held == 0) | hit_last[:, j]
            curc = np.maximum(cur, 0)
            want = np.where(resize, plan.job_tgt_nodes[j, curc], held)
            got = np.minimum(want, av[ar_b, curc])
            stay = run & (cur >= 0) & (got >= plan.job_min_nodes[j, curc]) & (got > 0)
            new_pool = np.where(stay, cur, -1)
            new_n = np.where(stay, got, 0)
            need = run & ~stay
            for k in range(plan.job_pref.shape[1]):
                p = plan.job_pref[j, k]
                if p < 0 or not need.any():
                    break
                ok = need & (av[:, p] >= plan.job_min_nodes[j, p])
                new_pool = np.where(ok, p, new_pool)
                new_n = np.where(ok, np.minimum(plan.job_tgt_nodes[j, p], av[:, p]), new_n)
                need &= ~ok
            av[ar_b, np.maximum(new_pool, 0)] -= new_n
            was = cur >= 0
            moved = new_pool != cur
            shrink = (new_pool == cur) & (new_n < held) & ~resize
            stop = was & (moved | shrink) & run
            # a stop forced by capacity checkpoints first: the work is kept
            unc[:, j] = np.where(stop, 0.0, unc[:, j])
            since[:, j] = np.where(stop, 0.0, since[:, j])
            n_pre[:, j] += stop
            restart = (new_pool >= 0) & (moved | shrink)
            restart_left[:, j] = np.where(restart, plan.job_restart[j],
                                          np.where(new_pool < 0, 0.0, restart_left[:, j]))
            if auto[j]:  # the Daly interval for the failure rate of the new allocation
                ch = np.flatnonzero((new_pool >= 0) & ((new_pool != cur) | (new_n != held)))
                if ch.size:
                    mtbf = plan.job_mtbf_hours(new_pool[ch], new_n[ch], t)
                    tau[ch, j] = daly_interval(plan.job_write[j], mtbf)
            pool_j[:, j] = new_pool
            nodes_j[:, j] = new_n
            start_h[:, j] = np.where(np.isinf(start_h[:, j]) & (new_n > 0), h, start_h[:, j])
        if n_rank0 == J and lf_now.any():
            _landlord_first_take(plan, avail, owner_start, remaining, lf_ent, deliv,
                                 cap_nodes, lf_by_pool)
        cap_gh += cap_nodes.transpose(1, 0, 2) * gpn * dt
        deliv_gh += deliv * gpn[plan.lease_pool] * dt

        # node layout: in each pool, jobs hold contiguous ranges in plan order
        has = nodes_j > 0
        pjc = np.maximum(pool_j, 0)
        same = (pool_j[:, :, None] == pool_j[:, None, :]) & earlier_same[None]
        offs = (same * nodes_j[:, None, :]).sum(axis=2)  # (B, J)
        ends = offs + nodes_j

        # ---- 4. failures during the step
        hits: list[np.ndarray] = []  # (B, J, M) hit times as fractions of the step, or inf
        hit_cause: list[np.ndarray] = []  # (B, J, M) the cause of each
        lam = np.concatenate([plan.fail_rate_normal * hn * dt, plan.fail_rate_lemon * hl * dt,
                              np.broadcast_to(plan.dom_rate * dom_units[:, t] * dt, (R, ND))],
                             axis=1)
        if t % BLOCK == 0:  # the counts' uniforms for a block of steps, in one call
            u_count = uniform(seed, rep[:, :, None], STREAM_COUNT,
                              t + np.arange(min(BLOCK, T - t))[None, :, None],
                              count_idx[:, None, :])
        small = lam < POISSON_PTRS_MIN_LAM
        counts = poisson_small_from_uniform(u_count[:, t % BLOCK], np.where(small, lam, 0.0))
        if not small.all():  # identical to poisson(...) on the whole array
            big = poisson(seed, rep, STREAM_COUNT, t, count_idx, np.where(small, 0.0, lam))
            counts = np.where(small, counts, big)
        kn = np.minimum(counts[:, :P], hn)
        kl = np.minimum(counts[:, P:2 * P], hl)
        kall = kn + kl
        fails += kall
        down[:, :, 0] += kn
        down[:, :, 1] += kl
        m_ev = int(kall.max(initial=0))
        if m_ev:
            live = np.arange(m_ev)[None, None, :] < kall[..., None]  # (R, P, M)
            rr, pp, mm = np.nonzero(live)  # one entry per failed node
            ur, pos, phi, uc = event_draws(seed, rep[rr, 0], STREAM_FAIL_EVENT, t,
                                           mm * P + pp, H[rr, pp], cause=NC > 1)
            if NC > 1:  # the failure's cause, by its pool's shares
                cz_ev = (uc[:, None] > plan.cause_cum[pp, :-1]).sum(axis=1)
            else:
                cz_ev = np.zeros(rr.size, np.int64)
            np.add.at(fails_cause, (rr, pp, cz_ev), 1)
            d = draw_duration(plan.repair_kind[pp, cz_ev], plan.repair_p1[pp, cz_ev],
                              plan.repair_p2[pp, cz_ev], plan.repair_max[pp, cz_ev], ur)
            back = np.maximum(1, np.ceil((phi * dt + d) / dt - 1e-9)).astype(np.int64)
            cls = (mm >= kn[rr, pp]).astype(np.int64)
            np.add.at(ring, (rr, pp, cls, (t + back) % G), 1)
            x = np.full((R, P, m_ev), -1, np.int64)  # failed node's position; -1: none
            x[rr, pp, mm] = pos
            ph = np.full((R, P, m_ev), INF)
            ph[rr, pp, mm] = phi
            cz = np.zeros((R, P, m_ev), np.int64)
            cz[rr, pp, mm] = cz_ev
            xj = x[rb[:, None], pjc]  # (B, J, M)
            hit = has[..., None] & (offs[..., None] <= xj) & (xj < ends[..., None])
            hits.append(np.where(hit, ph[rb[:, None], pjc], INF))
            hit_cause.append(cz[rb[:, None], pjc])
        hn_left = hn - kn
        hl_left = hl - kl
        for di in range(ND):
            kd = np.where(H[:, plan.dom_pool[di]] > 0, counts[:, 2 * P + di], 0)
            if kd.any():
                hits.append(_domain_outages(plan, di, kd, t, rep[:, 0], H, hn_left, hl_left,
                                            ring, down, outages, pool_j, offs, nodes_j, rb))
                hit_cause.append(np.full(hits[-1].shape, plan.dom_cause[di], np.int64))

        # ---- 5. progress
        gpus = nodes_j * gpn[pjc]
        rate = gpus * plan.pool_peak_flop_h[pjc] * plan.job_mfu[ar_j, pjc]
        if hits:
            times = np.concatenate(hits, axis=-1) * dt
            causes = np.concatenate(hit_cause, axis=-1)
            if times.shape[-1] > 1:
                order = np.argsort(times, axis=-1, kind="stable")
                times = np.take_along_axis(times, order, axis=-1)
                causes = np.take_along_axis(causes, order, axis=-1)
        else:
            times = np.zeros((B, J, 0))
            causes = np.zeros((B, J, 0), np.int64)
        # only the jobs that hold GPUs move; the others keep their state
        act = np.flatnonzero(has.ravel())
        n_max = int(np.isfinite(times.reshape(B * J, -1)[act]).sum(1).max(initial=0))
        hits_act = times.reshape(B * J, -1)[act, :n_max]
        out = advance(dt, np.ones(act.size, bool), rate.ravel()[act], flops_bj[act],
                      total.ravel()[act], unc.ravel()[act], since.ravel()[act],
                      restart_left.ravel()[act], rst[act], tau.ravel()[act],
                      (tau + write).ravel()[act], hits_act)
        for name, arr in (("total", total), ("uncommitted", unc), ("since", since),
                          ("restart_left", restart_left)):
            arr.ravel()[act] = getattr(out, name)
        gained, lost = np.zeros((B, J)), np.zeros((B, J))
        fin_off = np.full((B, J), INF)
        gained.ravel()[act] = out.gained
        lost.ravel()[act] = out.lost
        fin_off.ravel()[act] = out.finish_offset
        if n_max:  # interruptions by cause
            ib, im = np.nonzero(out.interrupted_by)
            flat = act[ib]
            np.add.at(int_cause.reshape(B * J, NCT), (flat, causes.reshape(B * J, -1)[flat, im]),
                      1)
        n_int.ravel()[act] += out.interruptions
        hit_last[:] = False
        hit_last.ravel()[act] = out.interruptions > 0
        safe_rate = np.where(rate > 0, rate, 1.0)
        lost_f += lost
        lost_gh += lost / safe_rate * gpus
        useful_gh += gained / safe_rate * gpus
        bb, jj = np.nonzero(has)
        pj = pjc[bb, jj]
        flops_pool[bb, jj, pj] += gained[bb, jj]
        finished = np.isfinite(fin_off)
        fin_h = np.where(finished, h + fin_off, fin_h)
        held = gpus * np.where(finished, fin_off, dt)
        alloc_pool_gh[bb, jj, pj] += held[bb, jj]
        if check:
            check_step(plan, t, replica_offset, R, H, online, hn, hl, kn, kl, hn_left,
                       hl_left, down, ring, pool_j, nodes_j, cap_nodes, ent, deliv, fin_h,
                       rate, gained, lost, total, unc)
        if cap_daily is not None:
            owned = cap_nodes.transpose(1, 0, 2) * gpn  # (B, A, P) usable GPUs
            cap_daily[:, step_day[t]] += (owned @ owner_onehot * day_w[t]).astype(np.float32)
        if progress is not None and (t % step_report == 0 or t == T - 1):
            progress(t + 1, T)

    def vr(a: np.ndarray) -> np.ndarray:
        return a.reshape((V, R) + a.shape[1:])

    return RawResults(
        job_start_h=vr(start_h), job_finish_h=vr(fin_h), job_interruptions=vr(n_int),
        job_interruptions_by_cause=vr(int_cause), pool_failures_by_cause=fails_cause,
        job_preemptions=vr(n_pre), job_lost_flops=vr(lost_f), job_lost_gpu_h=vr(lost_gh),
        job_useful_gpu_h=vr(useful_gh), job_alloc_gpu_h=vr(alloc_pool_gh.sum(axis=2)),
        job_flops_pool=vr(flops_pool), job_alloc_gpu_h_pool=vr(alloc_pool_gh),
        party_cap_gpu_h=vr(cap_gh), lease_delivered_gpu_h=vr(deliv_gh),
        lease_paid_usd=plan.lease_usd_h.sum(axis=2) * dt,
        pool_failures=fails, pool_outages=outages, pool_online_gpu_h=online_gh,
        pool_healthy_gpu_h=healthy_gh, cap_daily=None if cap_daily is None else vr(cap_daily),
    )


def _domain_outages(plan: Plan, di: int, kd: np.ndarray, t: int, rep: np.ndarray,
                    H: np.ndarray, hn_left: np.ndarray, hl_left: np.ndarray, ring: np.ndarray,
                    down: np.ndarray, outages: np.ndarray, pool_j: np.ndarray,
                    offs: np.ndarray, nodes_j: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Outages of failure domain ``di`` in step ``t``; updates the physical state in place
    and returns the hit times, shape (B, J, M), as fractions of the step (inf: no hit)."""
    R, ND, G, dt, seed = len(rep), len(plan.dom_pool), plan.ring, plan.dt, plan.seed
    p = plan.dom_pool[di]
    Hp = H[:, p]
    size = Hp if plan.dom_nodes[di] == 0 else np.minimum(plan.dom_nodes[di], Hp)
    xs, phis, sizes = [], [], []
    for i in range(int(kd.max())):  # outages of one domain kind in one step: rarely > 1
        idx = i * ND + di
        ur, pos, phi, _ = event_draws(seed, rep, STREAM_DOM_EVENT, t, idx, Hp)
        d = draw_duration(plan.dom_kind[di], plan.dom_p1[di], plan.dom_p2[di],
                          plan.dom_max[di], ur)
        back = np.maximum(1, np.ceil((phi * dt + d) / dt - 1e-9)).astype(np.int64)
        live = i < kd
        left = hn_left[:, p] + hl_left[:, p]
        k = np.where(live, np.minimum(size, left), 0)
        k_l = np.minimum(np.where(left > 0, (k * hl_left[:, p] + left // 2) //
                                  np.maximum(left, 1), 0), hl_left[:, p])
        k_n = np.minimum(k - k_l, hn_left[:, p])
        hn_left[:, p] -= k_n
        hl_left[:, p] -= k_l
        s_idx = (t + back) % G
        ring[np.arange(R), p, 0, s_idx] += k_n
        ring[np.arange(R), p, 1, s_idx] += k_l
        down[:, p, 0] += k_n
        down[:, p, 1] += k_l
        outages[:, p] += live
        xs.append(pos)
        phis.append(phi)
        sizes.append(np.where(live, size, 0))
    x = np.stack(xs, -1)[rb][:, None, :]  # (B, 1, M)
    blk = np.stack(sizes, -1)[rb][:, None, :]
    hit = (pool_j == p)[..., None] & _overlap(offs[..., None], nodes_j[..., None], x, blk,
                                               Hp[rb][:, None, None])
    return np.where(hit, np.stack(phis, -1)[rb][:, None, :], INF)


def _landlord_first_take(plan: Plan, avail: np.ndarray, owner_start: np.ndarray,
                         own: np.ndarray, lf_ent: np.ndarray, deliv: np.ndarray,
                         cap_nodes: np.ndarray, lf_by_pool: list[list[int]]) -> None:
    """After the lessors' jobs took their nodes, charge what they used beyond their own
    nodes to the landlord-first leases of that pool, in lease order; in place.

    ``avail`` and ``cap_nodes`` are (A, B, P); ``owner_start`` and ``own`` (B, P);
    ``lf_ent`` and ``deliv`` (B, L).
    """
    P = len(plan.pool_names)
    owner_now = avail[plan.pool_owner, :, np.arange(P)].T  # (B, P)
    over = np.maximum(owner_start - owner_now - own, 0)
    for p in range(P):
        ow = plan.pool_owner[p]
        for li in lf_by_pool[p]:
            take = np.minimum(over[:, p], lf_ent[:, li])
            tn = plan.lease_tenant[li]
            avail[tn, :, p] -= take
            cap_nodes[tn, :, p] -= take
            cap_nodes[ow, :, p] += take
            deliv[:, li] -= take
            over[:, p] -= take


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
