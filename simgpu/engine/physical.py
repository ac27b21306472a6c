"""The physical process of the replicas: capacity, node failures, repairs, domain outages.

What happens to the nodes of a pool depends only on the replica's random numbers and on
the pool's own past (its healthy nodes), never on the variant, the contracts or the jobs.
The NumPy engine therefore runs this process ahead of its contract, allocation and
progress loop, a block of steps at a time, with shape ``(R, P)``, and hands that loop a
:class:`PhysicalBlock`: the healthy nodes of every step and the failure events with their
node positions, times in the step and causes. The values are those of steps 1 and 4 of
:mod:`simgpu.engine.numpy_engine` (docs/model.md), bit for bit; only the order of the
work differs:

* the uniforms of the failure counts are drawn for the whole block at once (they are
  keyed by step);
* the counts of node failures come from the inversion of those uniforms with the mean
  ``rate x healthy x dt``; the cumulative Poisson probabilities depend only on the pool,
  the node class and the number of healthy nodes, so they are computed once per value
  met (:class:`_PoissonTables`) instead of once per step;
* the draws of each failure (repair time, position, time in the step, cause) are keyed by
  ``(step, i * P + pool)``, not by state, so they are drawn for the whole block before its
  step loop, for every failure the block could have: ``i`` below the count at full health
  (an upper bound of the count, the inversion being monotone in the mean); a count above
  it (possible with Hormann's PTRS above a mean of 10) draws the rest in its step;
* the position ``(r2 * healthy) >> 32`` needs the healthy nodes of the step, known only in
  the step loop: it is formed at the end of the block.

The step loop itself then only counts nodes: returns from the repair ring, healthy nodes,
counts, the repair slot of each failed node and the (rare) domain outages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgpu.engine.plan import Plan
from simgpu.rng import bits, uniform, uniform_from_words
from simgpu.rng.distributions import (
    POISSON_PTRS_MIN_LAM,
    draw_duration,
    poisson,
    poisson_inversion_cdf,
    poisson_small_from_uniform,
)

#: Stream ids of the counter-based generator (shared with the CUDA kernels).
STREAM_COUNT = 1  # index: pool (normal nodes), P + pool (lemon nodes), 2P + domain kind
STREAM_FAIL_EVENT = 2  # index: i * P + pool, i-th failed node of the step; sub 0, 1
STREAM_DOM_EVENT = 3  # index: i * D + domain kind, i-th outage of the step (event_draws)
STREAM_JOB_EVENT = 4  # index: job; sub: i-th fabric or planned interruption of the step


def event_words(seed: int, replica: np.ndarray, stream: int, step: np.ndarray | int,
                index: np.ndarray, cause: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The draws of failure events that do not depend on the state (see :func:`event_draws`).

    Returns
    -------
    u : ndarray of float64
        The repair-time uniform.
    r2 : ndarray of uint32
        The word that places the event among the healthy nodes.
    phase : ndarray of float64
        The time in the step as a fraction of it.
    u_cause : ndarray of float64, or None
        The uniform that picks the cause (only with ``cause``).
    """
    sub = np.array([0, 1])[:, None] if cause else 0
    r0, r1, r2, r3 = bits(seed, replica, stream, step, index, sub)
    u = uniform_from_words(r0, r1)
    u_cause = u[1] if cause else None
    if cause:
        u, r2, r3 = u[0], r2[0], r3[0]
    phase = (r3.astype(np.float64) + 0.5) * 2.0**-32
    return u, r2, phase, u_cause


def event_position(r2: np.ndarray, healthy: np.ndarray) -> np.ndarray:
    """``(r2 * healthy) >> 32``: a uniform node position in ``[0, healthy)``, int64."""
    pos = (np.asarray(r2).astype(np.uint64) * np.asarray(healthy).astype(np.uint64)
           ) >> np.uint64(32)
    return pos.astype(np.int64)


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
    u, r2, phase, u_cause = event_words(seed, replica, stream, step, index, cause)
    return u, event_position(r2, healthy), phase, u_cause


def repair_steps(phase: np.ndarray, duration: np.ndarray, dt: float) -> np.ndarray:
    """Steps until a node that fails at ``phase`` of a step, down for ``duration`` hours,
    is back: ``max(1, ceil((phase dt + duration) / dt - 1e-9))``, int64."""
    return np.maximum(1, np.ceil((phase * dt + duration) / dt - 1e-9)).astype(np.int64)


@dataclass
class PhysicalBlock:
    """What the physical process did in steps ``t0 ... t0 + n - 1``, for ``R`` replicas.

    Node counts are (n, R, P) int64. The events (node failures and domain outages) are
    listed step by step, each step's in the order in which a job meets them: by time, and
    at equal times node failures by (replica, pool, i) before outages by (domain kind, i,
    replica) (the engine's order). An event takes the block of ``size`` consecutive healthy
    nodes from ``first`` on, modulo ``healthy`` (a node failure is a block of one node,
    which never wraps).
    """

    t0: int
    n: int
    hn: np.ndarray  # healthy normal nodes at the step start (after repairs)
    hl: np.ndarray  # healthy lemon nodes
    H: np.ndarray  # healthy nodes, hn + hl
    kn: np.ndarray  # normal nodes failed in the step
    kl: np.ndarray  # lemon nodes failed in the step
    hn_left: np.ndarray  # normal nodes healthy after the step's failures and outages
    hl_left: np.ndarray  # lemon nodes healthy after them
    start: np.ndarray  # (n + 1,) int64: the events of step t0 + i are start[i]:start[i+1]
    replica: np.ndarray  # (E,) int64 replica index in the batch
    pool: np.ndarray  # (E,) int64
    first: np.ndarray  # (E,) int64 position of the first node of the event
    size: np.ndarray  # (E,) int64 nodes of the event (>= 1)
    healthy: np.ndarray  # (E,) int64 healthy nodes of the pool at the step start
    time: np.ndarray  # (E,) float64 hours into the step: phase x dt
    cause: np.ndarray  # (E,) int64 cause index (plan.cause_names)


class _PoissonTables:
    """The cumulative probabilities of the inversion Poisson sampler for the failure counts
    of every (class, pool) at each number of healthy nodes met, computed once each.

    The mean of a count is ``rate[c, p] * healthy * dt``, a function of the number of
    healthy nodes; the table row of that mean is
    :func:`simgpu.rng.distributions.poisson_inversion_cdf` of it, so the count
    ``#{k : u > cdf_k}`` is bit-identical to :func:`poisson` for means below
    ``POISSON_PTRS_MIN_LAM``. Means at or above it are marked and drawn with PTRS.
    """

    NARROW = 16  # columns compared first (see counts)
    BIG = -2  # row code: the mean is at or above POISSON_PTRS_MIN_LAM
    ZERO = -3  # row code: the mean is zero, the count is 0

    def __init__(self, rates: np.ndarray, max_nodes: np.ndarray, dt: float):
        # rates (2, P) per node-hour; max_nodes (2, P): the most nodes of each class online
        self.rates, self.dt = rates, dt
        size = max_nodes.ravel() + 1
        self.offset = np.concatenate([[0], np.cumsum(size)[:-1]]).reshape(max_nodes.shape)
        self.row = np.full(int(size.sum()), -1, np.int64)  # -1: not computed yet
        self.cdf = np.zeros((64, poisson_inversion_cdf(np.zeros(1)).shape[-1]))
        self.narrow = np.ascontiguousarray(self.cdf[:, :self.NARROW].T)
        self.n_rows = 0

    def rows(self, healthy: np.ndarray) -> np.ndarray:
        """Table rows for ``healthy`` of shape (..., 2, P) (class, pool), filling new ones."""
        key = self.offset + healthy
        row = self.row[key]
        if (row == -1).any():
            self._fill(key, healthy, np.flatnonzero(row == -1))
            row = self.row[key]
        return row

    def _fill(self, key: np.ndarray, healthy: np.ndarray, missing: np.ndarray) -> None:
        """Compute the rows of the keys at the flat positions ``missing``."""
        _, first = np.unique(key.ravel()[missing], return_index=True)
        at = missing[first]
        cls, pool = np.unravel_index(at, key.shape)[-2:]
        # the mean of each new key, as the engine forms it: rate * healthy * dt
        lam = self.rates[cls, pool] * healthy.ravel()[at] * self.dt
        code = np.where(lam >= POISSON_PTRS_MIN_LAM, self.BIG,
                        np.where(lam > 0.0, 0, self.ZERO))
        small = np.flatnonzero(code == 0)
        need = self.n_rows + small.size
        if need > self.cdf.shape[0]:
            grown = np.zeros((max(need, 2 * self.cdf.shape[0]), self.cdf.shape[1]))
            grown[:self.n_rows] = self.cdf[:self.n_rows]
            self.cdf = grown
        self.cdf[self.n_rows:need] = poisson_inversion_cdf(lam[small])
        self.narrow = np.ascontiguousarray(self.cdf[:, :self.NARROW].T)  # (NARROW, rows)
        code[small] = self.n_rows + np.arange(small.size)
        self.n_rows = need
        self.row[key.ravel()[at]] = code

    def counts(self, u: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Counts ``#{k : u > cdf_k}`` for uniforms ``u`` and table rows ``row`` (same
        shape); BIG and ZERO rows give 0.

        The cdf never decreases, so the count is below ``NARROW`` where ``u`` does not
        pass ``cdf_{NARROW-1}``: the first ``NARROW`` columns decide most counts, the full
        row the others."""
        r = np.maximum(row, 0).ravel()
        uf = u.ravel()
        k = (uf > np.take(self.narrow, r, axis=1)).sum(axis=0)
        wide = (k == self.NARROW).nonzero()[0]
        if wide.size:
            k[wide] = (uf[wide][:, None] > self.cdf[r[wide]]).sum(axis=-1)
        return np.where(row >= 0, k.reshape(row.shape), 0)


class PhysicalProcess:
    """The nodes of ``R`` replicas (global ids ``replicas``) of one plan, stepped by blocks.

    State: ``down`` (R, P, 2) nodes awaiting repair by class and ``ring`` (R, P, 2, G)
    nodes returning at each step slot. Records (the physical part of
    :class:`~simgpu.engine.numpy_engine.RawResults`): ``failures``, ``failures_by_cause``,
    ``outages``, ``online_gpu_h`` and ``healthy_gpu_h``.
    """

    def __init__(self, plan: Plan, replicas: np.ndarray):
        self.plan = plan
        self.rep = np.asarray(replicas, np.int64)
        R, P, G = self.rep.size, len(plan.pool_names), plan.ring
        self.R, self.P = R, P
        self.ND = len(plan.dom_pool)
        self.NC = plan.n_node_causes
        self.ring = np.zeros((R, P, 2, G), np.int64)
        self.down = np.zeros((R, P, 2), np.int64)
        self.failures = np.zeros((R, P), np.int64)
        self.failures_by_cause = np.zeros((R, P, self.NC), np.int64)
        self.outages = np.zeros((R, P), np.int64)
        self.online_gpu_h = np.zeros((R, P))
        self.healthy_gpu_h = np.zeros((R, P))
        self.count_idx = np.arange(2 * P + self.ND, dtype=np.int64)
        self.online = np.stack([plan.online_normal, plan.online_lemon])  # (2, P, T)
        self.rates = np.stack([plan.fail_rate_normal, plan.fail_rate_lemon])  # (2, P)
        self.max_nodes = self.online.max(axis=2, initial=0)
        self.tables = _PoissonTables(self.rates, self.max_nodes, plan.dt)
        # the failure-rate multiplier of the nodes' ages (infant mortality): the rates of
        # step t are rates x fail_mult[:, t] (the kernels' per-step rates, element for
        # element); one table per distinct multiplier vector, kept for the block
        self.aging = bool((plan.fail_mult != 1.0).any())
        self.rates_t = (np.stack([plan.fail_rate_normal[:, None] * plan.fail_mult,
                                  plan.fail_rate_lemon[:, None] * plan.fail_mult])
                        if self.aging else None)  # (2, P, T)
        self._aged: dict[bytes, _PoissonTables] = {}
        self.gpn = plan.pool_gpn.astype(np.float64)

    def _table(self, t: int) -> tuple[_PoissonTables, np.ndarray]:
        """The Poisson tables and the (2, P) rates of step ``t``."""
        if not self.aging:
            return self.tables, self.rates
        rates = self.rates_t[:, :, t]
        key = rates.tobytes()
        tab = self._aged.get(key)
        if tab is None:
            tab = self._aged[key] = _PoissonTables(rates, self.max_nodes, self.plan.dt)
        return tab, rates

    # ------------------------------------------------------------------ counts

    def _counts(self, u: np.ndarray, healthy: np.ndarray, step: np.ndarray | int,
                replica: np.ndarray, ptrs: bool = True, t: int | None = None) -> np.ndarray:
        """Node-failure counts, shape (..., 2, P) (class, pool), for uniforms ``u`` and
        healthy nodes ``healthy`` of that shape; ``step`` and ``replica`` (global ids)
        broadcast to it and key the PTRS draws of means of 10 or more; ``t``: the step
        whose rates apply (needed when they change with the nodes' ages).

        Bit-identical, element by element, to ``poisson(rate * healthy * dt)`` drawn from
        the uniform ``u`` of its cell, as the engine's step does (0 for means of 10 or more
        without ``ptrs``)."""
        tables, rates = self._table(t) if self.aging else (self.tables, self.rates)
        row = tables.rows(healthy)
        k = tables.counts(u, row)
        big = row == _PoissonTables.BIG
        if ptrs and big.any():
            i = np.nonzero(big)
            shape = healthy.shape
            cls, p = i[-2], i[-1]
            lam = rates[cls, p] * healthy[i] * self.plan.dt
            k[i] = poisson(self.plan.seed, np.broadcast_to(replica, shape)[i], STREAM_COUNT,
                           np.broadcast_to(step, shape)[i], cls * self.P + p, lam)
        return k

    def _bound(self, u_nodes: np.ndarray, online: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """How many failures of each (step, replica, pool) to draw before the step loop,
        shape (n, R, P): the counts at full health (the most a count can be, the inversion
        being monotone in its mean); 0 where a mean reaches 10 (PTRS: the failures are many
        and drawn in their step). Any value gives the same results: failures beyond it are
        drawn in their step."""
        n, R = u_nodes.shape[:2]
        full = np.broadcast_to(online[:, None], (n, R, 2, self.P))
        if self.aging:  # the rates change from step to step
            return np.stack([self._counts(u_nodes[i], full[i], steps[i], self.rep[:, None, None],
                                          ptrs=False, t=int(steps[i])).sum(axis=1)
                             for i in range(n)])
        return self._counts(u_nodes, full, steps[:, None, None, None],
                            self.rep[None, :, None, None], ptrs=False).sum(axis=2)

    # ------------------------------------------------------------------ one block

    def run(self, t0: int, n: int) -> PhysicalBlock:
        """Advance steps ``t0 ... t0 + n - 1`` (each one after the other, from where the
        last block ended) and return what they did."""
        plan, R, P, ND = self.plan, self.R, self.P, self.ND
        G, dt, seed = plan.ring, plan.dt, plan.seed
        steps = t0 + np.arange(n)
        if len(self._aged) > 2 * n:  # keep the tables of one block or so
            self._aged.clear()
        # the count uniforms of the block: (n, R, 2P + ND)
        u = uniform(seed, self.rep[None, :, None], STREAM_COUNT, steps[:, None, None],
                    self.count_idx[None, None, :])
        u_nodes = u[:, :, :2 * P].reshape(n, R, 2, P)
        online = self.online[:, :, t0:t0 + n].transpose(2, 0, 1)  # (n, 2, P)
        # domain outages: their means do not depend on the state
        dom = np.zeros((n, R, ND), np.int64)
        if ND:
            lam_d = np.broadcast_to((plan.dom_rate * plan.dom_units[:, t0:t0 + n].T * dt)[:, None],
                                    (n, R, ND))
            small = lam_d < POISSON_PTRS_MIN_LAM
            dom = poisson_small_from_uniform(u[:, :, 2 * P:], np.where(small, lam_d, 0.0))
            if not small.all():
                big = poisson(seed, self.rep[None, :, None], STREAM_COUNT, steps[:, None, None],
                              self.count_idx[None, None, 2 * P:], np.where(small, 0.0, lam_d))
                dom = np.where(small, dom, big)
        bound = self._bound(u_nodes, online, steps)
        pre = _Draws.prepare(self, t0, bound)

        hn_b = np.empty((n, R, P), np.int64)
        hl_b = np.empty((n, R, P), np.int64)
        kn_b = np.empty((n, R, P), np.int64)
        kl_b = np.empty((n, R, P), np.int64)
        hnl_b = np.empty((n, R, P), np.int64)
        hll_b = np.empty((n, R, P), np.int64)
        used = np.zeros(pre.n, bool)
        extra: list[tuple[np.ndarray, ...]] = []
        outage_ev: list[tuple[np.ndarray, ...]] = []
        down, ring = self.down, self.ring
        ring_f = ring.ravel()  # (replica, pool, class, slot)
        rep_col = self.rep[:, None, None]
        healthy = np.empty((R, 2, P), np.int64)
        for i in range(n):
            t = t0 + i
            slot = t % G
            down -= ring[:, :, :, slot]
            ring[:, :, :, slot] = 0
            np.maximum(online[i, 0] - down[:, :, 0], 0, out=hn_b[i])
            np.maximum(online[i, 1] - down[:, :, 1], 0, out=hl_b[i])
            hn, hl = hn_b[i], hl_b[i]
            healthy[:, 0], healthy[:, 1] = hn, hl
            counts = self._counts(u_nodes[i], healthy, t, rep_col, t=t)
            kn = np.minimum(counts[:, 0], hn, out=kn_b[i])
            kl = np.minimum(counts[:, 1], hl, out=kl_b[i])
            kall = kn + kl
            down[:, :, 0] += kn
            down[:, :, 1] += kl
            # the repair slot of every failed node
            s0, s1 = pre.start[i], pre.start[i + 1]
            if s1 > s0:
                rp, mm = pre.cell[s0:s1], pre.index[s0:s1]  # (replica, pool), i
                live = (mm < kall.ravel()[rp]).nonzero()[0]
                used[s0 + live] = True
                rp, mm = rp[live], mm[live]
                cls = mm >= kn.ravel()[rp]  # the first kn failed nodes are normal ones
                np.add.at(ring_f, ((rp * 2 + cls) * G + (t + pre.back[s0 + live]) % G), 1)
            over = kall > bound[i]
            if over.any():  # more failures than the block drew for: draw the rest now
                extra.append(self._extra_failures(t, i, over, bound[i], kall, kn))
            np.subtract(hn, kn, out=hnl_b[i])
            np.subtract(hl, kl, out=hll_b[i])
            if ND and dom[i].any():
                outage_ev.extend(self._outages(t, i, dom[i], hn + hl, hnl_b[i], hll_b[i]))

        H = hn_b + hl_b
        # records
        self.failures += (kn_b + kl_b).sum(axis=0)
        on_gh = (self.online[0, :, t0:t0 + n] + self.online[1, :, t0:t0 + n]).T * self.gpn * dt
        self.online_gpu_h = np.cumsum(np.concatenate(
            [self.online_gpu_h[None], np.broadcast_to(on_gh[:, None], (n, R, P))]), axis=0)[-1]
        self.healthy_gpu_h = np.cumsum(np.concatenate([self.healthy_gpu_h[None],
                                                       H * self.gpn * dt]), axis=0)[-1]
        return self._block(t0, n, pre, used, extra, outage_ev, hn_b, hl_b, H, kn_b, kl_b,
                           hnl_b, hll_b)

    # ------------------------------------------------------------------ rare paths

    def _extra_failures(self, t: int, i: int, over: np.ndarray, bound: np.ndarray,
                        kall: np.ndarray, kn: np.ndarray) -> tuple[np.ndarray, ...]:
        """Draw the failures of step ``t`` beyond the block's bound, and book their repairs."""
        plan, P = self.plan, self.P
        rc, pc = np.nonzero(over)
        lo, hi = bound[rc, pc], kall[rc, pc]
        cnt = hi - lo
        rr = np.repeat(rc, cnt)
        pp = np.repeat(pc, cnt)
        mm = np.repeat(lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        ur, r2, phi, uc = event_words(plan.seed, self.rep[rr], STREAM_FAIL_EVENT, t,
                                      mm * P + pp, cause=self.NC > 1)
        cz = self._cause(uc, pp)
        back = repair_steps(phi, draw_duration(plan.repair_kind[pp, cz], plan.repair_p1[pp, cz],
                                               plan.repair_p2[pp, cz], plan.repair_max[pp, cz],
                                               ur), plan.dt)
        cls = (mm >= kn[rr, pp]).astype(np.int64)
        np.add.at(self.ring, (rr, pp, cls, (t + back) % plan.ring), 1)
        return (np.full(rr.size, i), rr, pp, mm, r2, phi, cz)

    def _cause(self, uc: np.ndarray | None, pp: np.ndarray) -> np.ndarray:
        """The node-failure cause of each event from its cause uniform, by its pool's shares."""
        if self.NC > 1:
            return (uc[:, None] > self.plan.cause_cum[pp, :-1]).sum(axis=1)
        return np.zeros(pp.size, np.int64)

    def _outages(self, t: int, i: int, kd_all: np.ndarray, H: np.ndarray,
                 hn_left: np.ndarray, hl_left: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """The domain outages of step ``t`` (``kd_all`` (R, ND) counts), in domain order;
        updates the state and ``hn_left``/``hl_left`` in place; returns one event tuple
        ``(step, di, i, replica, pool, first, size, healthy, phase)`` per outage kind and i."""
        plan, R, ND, G, dt = self.plan, self.R, self.ND, self.plan.ring, self.plan.dt
        out = []
        ar_r = np.arange(R)
        for di in range(ND):
            p = plan.dom_pool[di]
            Hp = H[:, p]
            kd = np.where(Hp > 0, kd_all[:, di], 0)
            if not kd.any():
                continue
            size = Hp if plan.dom_nodes[di] == 0 else np.minimum(plan.dom_nodes[di], Hp)
            for ii in range(int(kd.max())):  # outages of one kind in one step: rarely > 1
                ur, pos, phi, _ = event_draws(plan.seed, self.rep, STREAM_DOM_EVENT, t,
                                              ii * ND + di, Hp)
                d = draw_duration(plan.dom_kind[di], plan.dom_p1[di], plan.dom_p2[di],
                                  plan.dom_max[di], ur)
                back = repair_steps(phi, d, dt)
                live = ii < kd
                left = hn_left[:, p] + hl_left[:, p]
                k = np.where(live, np.minimum(size, left), 0)
                k_l = np.minimum(np.where(left > 0, (k * hl_left[:, p] + left // 2) //
                                          np.maximum(left, 1), 0), hl_left[:, p])
                k_n = np.minimum(k - k_l, hn_left[:, p])
                hn_left[:, p] -= k_n
                hl_left[:, p] -= k_l
                s_idx = (t + back) % G
                self.ring[ar_r, p, 0, s_idx] += k_n
                self.ring[ar_r, p, 1, s_idx] += k_l
                self.down[:, p, 0] += k_n
                self.down[:, p, 1] += k_l
                self.outages[:, p] += live
                sz = np.where(live, size, 0)
                r = np.flatnonzero(sz > 0)  # an empty block hits nothing
                out.append((np.full(r.size, i), np.full(r.size, di), np.full(r.size, ii), r,
                            np.full(r.size, p), pos[r], sz[r], Hp[r], phi[r],
                            np.full(r.size, plan.dom_cause[di])))
        return out

    # ------------------------------------------------------------------ the block's events

    def _block(self, t0: int, n: int, pre: _Draws, used: np.ndarray, extra: list,
               outage_ev: list, hn_b: np.ndarray, hl_b: np.ndarray, H: np.ndarray,
               kn_b: np.ndarray, kl_b: np.ndarray, hnl_b: np.ndarray, hll_b: np.ndarray
               ) -> PhysicalBlock:
        """The block's events in hit order, with their positions; the cause records."""
        u = np.flatnonzero(used)
        cols = [pre.step[u], pre.replica[u], pre.pool[u], pre.index[u], pre.r2[u],
                pre.phase[u], pre.cause[u]]
        if extra:
            cols = [np.concatenate([c] + [e[k] for e in extra]) for k, c in enumerate(cols)]
        st, rr, pp, mm, r2, phi, cz = cols
        np.add.at(self.failures_by_cause, (rr, pp, cz), 1)
        hp = H[st, rr, pp]
        ev = [st, rr, pp, event_position(r2, hp), np.ones(st.size, np.int64), hp, phi, cz]
        # the order in which a job meets the events of a step that fall at the same time:
        # node failures by (replica, pool, i), then outages by (domain kind, i, replica)
        m_all = int(mm.max(initial=0)) + 1
        seq = (rr * self.P + pp) * m_all + mm
        if outage_ev:
            o = [np.concatenate([e[k] for e in outage_ev]) for k in range(10)]
            o_st, o_di, o_ii, o_r = o[:4]
            ev = [np.concatenate([a, b]) for a, b in zip(ev, [o_st] + o[3:], strict=True)]
            seq = np.concatenate([seq, self.R * self.P * m_all
                                  + (o_di * (o_ii.max() + 1) + o_ii) * self.R + o_r])
        order = time_order(ev[0], ev[6], seq, self.plan.dt, presorted=not (extra or outage_ev))
        ev = [a[order] for a in ev]
        time = ev[6] * self.plan.dt
        start = np.searchsorted(ev[0], np.arange(n + 1))
        return PhysicalBlock(t0=t0, n=n, hn=hn_b, hl=hl_b, H=H, kn=kn_b, kl=kl_b,
                             hn_left=hnl_b, hl_left=hll_b, start=start, replica=ev[1],
                             pool=ev[2], first=ev[3], size=ev[4], healthy=ev[5],
                             time=time, cause=ev[7])


def time_order(step: np.ndarray, phase: np.ndarray, seq: np.ndarray, dt: float,
               presorted: bool = False) -> np.ndarray:
    """The permutation that sorts events by (step, time ``phase x dt``, seq), that of
    ``np.lexsort((seq, phase * dt, step))``, from integer sorts (much faster).

    ``step`` in ``[0, 256)``, ``seq`` non-negative and distinct within a step, ``phase`` on
    the grid ``(r3 + 0.5) / 2**32``; ``presorted``: the events are already in (step, seq)
    order. The phase word ``r3`` orders the times (multiplying by ``dt > 0`` never swaps
    two of them); where rounding makes two different words the same time (possible only
    when ``dt`` has many significant bits), the lexsort decides.
    """
    n = step.size
    if not n:
        return np.zeros(0, np.int64)
    if presorted:
        by_seq = np.arange(n)
    else:
        by_seq = np.argsort((step << 54) | seq)  # distinct keys: any sort
    st = step[by_seq]
    if st[-1] >= 256 or seq.max() >= 2**54:
        return np.lexsort((seq, phase * dt, step))
    first = np.searchsorted(st, np.arange(int(st[-1]) + 1))  # each step's first event
    rank = np.arange(n) - first[st]  # the event's rank in its step by seq
    if rank.max() >= 2**23:
        return np.lexsort((seq, phase * dt, step))
    word = (phase[by_seq] * 2.0**32).astype(np.int64)  # r3: exact
    key = np.sort((st << 55) | (word << 23) | rank)
    st = key >> 55
    order = by_seq[first[st] + (key & (2**23 - 1))]
    t = phase[order] * dt
    w = (key >> 23) & (2**32 - 1)
    if ((st[1:] == st[:-1]) & (t[1:] == t[:-1]) & (w[1:] != w[:-1])).any():
        return np.lexsort((seq, phase * dt, step))
    return order


@dataclass
class _Draws:
    """The draws of the failures a block may have, by (step, replica, pool, i)."""

    n: int
    start: np.ndarray  # (n_steps + 1,) offsets by step
    step: np.ndarray  # step in the block
    replica: np.ndarray
    pool: np.ndarray
    cell: np.ndarray  # replica x P + pool
    index: np.ndarray  # i: the failure's rank in its (step, replica, pool)
    r2: np.ndarray
    phase: np.ndarray
    cause: np.ndarray
    back: np.ndarray  # steps until the node returns

    @staticmethod
    def prepare(proc: PhysicalProcess, t0: int, bound: np.ndarray) -> _Draws:
        plan, P = proc.plan, proc.P
        n = bound.shape[0]
        cnt = bound.ravel()
        cells = np.flatnonzero(cnt)
        c = cnt[cells]
        total = int(c.sum())
        cell = np.repeat(cells, c)
        mm = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
        st, rr, pp = np.unravel_index(cell, bound.shape)
        ur, r2, phi, uc = event_words(plan.seed, proc.rep[rr], STREAM_FAIL_EVENT, t0 + st,
                                      mm * P + pp, cause=proc.NC > 1)
        cz = proc._cause(uc, pp)
        d = draw_duration(plan.repair_kind[pp, cz], plan.repair_p1[pp, cz],
                          plan.repair_p2[pp, cz], plan.repair_max[pp, cz], ur)
        start = np.searchsorted(st, np.arange(n + 1))
        return _Draws(total, start, st, rr, pp, rr * P + pp, mm, r2, phi, cz,
                      repair_steps(phi, d, plan.dt))
