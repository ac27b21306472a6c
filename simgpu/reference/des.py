"""Independent discrete-event reference simulator, node by node, in continuous time.

This module re-implements simgpu's model from its description (docs/model.md), not from
the stepped engine's code, so that the two can be checked against each other
statistically. It reads the validated configuration alone: :mod:`simgpu.reference.world`
derives every input from it (dates, schedules, rates, leases and their variants, job
order, sizes, MFU, checkpoint intervals), :mod:`simgpu.reference.physical` draws each
replica's physical history (failures, repairs, outages, schedule changes) and this module
replays that history under each variant: contracts, allocation and job progress. It never
imports :mod:`simgpu.engine` (a test checks it) and draws its own random numbers from
``numpy.random.Generator(numpy.random.Philox(...))``, one stream per replica; the one
exception is the per-replica MFU multiplier, a model input that docs/model.md keys in
:mod:`simgpu.rng` (stream 5), drawn here with that key.

Because the physical history does not depend on the variant, every variant of a replica
sees the same failures (common random numbers): differences between variants of the DES
are the lever's effect, like the engine's, and can be compared with the engine's at a
small Monte-Carlo error.

The model, as simulated here
----------------------------
*Nodes* (:mod:`simgpu.reference.physical`): every node has its own failure clock and
repair; outages take blocks of nodes consecutive in id order.

*Contracts.* At any time, with ``H`` healthy and ``online`` online nodes in the lease's
pool: contracted nodes ``floor(share x online)`` or ``min(gpus // gpus_per_node, online)``;
``delivered`` burden: ``floor(contracted x H / online)``; ``replaced``: ``min(contracted,
H)``; times the variant's delivered fraction at that time, floored, and never more than
the owner still has (leases in configuration order). The owner keeps the rest.
Under landlord-first priority the owner's jobs may also use the lease's nodes; after the
jobs allocated before the take-back (the parties that lease pools out, except the tenants
of landlord-first leases), whatever the owner used beyond its own nodes is taken from its
landlord-first leases in that pool, in lease order.

*Allocation* is re-evaluated, once per instant, after anything changes (a failure, a
repair, an outage, its end, a job finishing, a schedule or lease change, an earliest
start). Jobs go in allocation order and take nodes from their party's entitlement: a
runnable job that already holds nodes keeps its pool and asks for its current size (its
target while it is restarting), and stays if what it gets is at least its minimum;
otherwise it takes ``min(target, available)`` in the first allowed pool, in preference
order, where its minimum fits, or waits. Any (re)start, pool move or shrink of a
computing job costs its restart time without progress; a stop or shrink forced by
capacity keeps all work (graceful checkpoint) and counts as a preemption. A job that keeps
its pool and may migrate (``jobs.<n>.migrate: at_checkpoint``) considers one alternative,
``min(target, available)`` nodes in the first allowed pool before its own where its
minimum fits, else (running, not restarting) that many of its own pool if more than it
holds, and takes it iff the time it gains before it would finish or be hit (its MTBF)
where it is exceeds the restart it adds (:meth:`_Replay._migration`); a migration checkpoints
first, restarts, and counts in ``migrations``, not as a preemption. Jobs hold
specific nodes: they release their highest ids first and take the lowest free healthy
ids. With an automatic interval a job checkpoints at Daly's optimum for its mean time
between failures on its allocation, recomputed whenever its pool or size changes.

*Failures hit jobs.* A failing node held by a job hits that job; an outage hits each job
that holds one of its nodes once. A hit loses the work since the last completed
checkpoint and restarts the job (a hit during a restart restarts it again).

*Progress.* A job holding ``n`` nodes of pool ``p`` computes at ``n x gpus_per_node x
peak x mfu x m`` FLOP/h after its restart (``m`` the replica's MFU multiplier, lognormal
through the job's ``mfu_band``, 1 without one:
:func:`simgpu.reference.world.mfu_multipliers`), in checkpoint cycles of ``tau`` compute
hours followed by a blocking write of ``write`` hours; work is committed when a write
completes. It finishes the moment its total reaches its FLOPs (no final write) and frees
its nodes at once. A job is runnable from its earliest start once every job it waits for
has finished.

Where this differs from the stepped engine
------------------------------------------
The engine (``simgpu.engine.numpy_engine``) resolves the same process on a grid of
``dt`` hours. These differences vanish as ``dt -> 0``:

1. *Allocation timing.* The engine allocates only at step boundaries; here allocation
   follows every event at once. A job freed by its dependencies, by capacity or by its
   earliest start starts at that instant (engine: at the next boundary); a finished job
   frees its nodes at once. The engine sees a step's capacity changes at its end, netted:
   the failures of the step against the repairs due at the boundary, and a job hit during
   the step re-sizes there for free as part of the hit's restart. Here a running job is
   shrunk (a preemption, with a restart) the moment its party's entitlement falls below
   what it holds, even if a repair would have made up for it a moment later. Where a job
   holds everything its party may use and capacity events come faster than the step, the
   engine therefore counts far fewer preemptions (and restarts) than this reference
   (docs/validation.md, section 4).
2. *Down time.* Here a node is down from the instant it fails until exactly the repair
   time has passed; in the engine it stays healthy until the end of its step and comes
   back at the first boundary after ``failure + repair``.
3. *Schedules and lease windows* change at their exact instants here; the engine samples
   them at step starts. So do the lemons removed (``lemon_removal_days``: here each at the
   instant its tranche's decaying count passes a half node) and the tranches of a linear
   ramp (here one per whole node, the engine's one per step).

These remain at any step:

4. *Which nodes a job holds.* The engine draws a failed node's position uniformly in a
   layout where jobs hold contiguous ranges; here jobs hold actual node ids. For node
   failures without lemons the hit probability is the same (held / healthy). With lemon
   nodes it is not: since lemons fail (and come back free after repair) more often, the
   free nodes are enriched in lemons and long-lived holdings in normal nodes, so jobs here
   are hit less often than under the engine's uniform positions (a few per cent fewer hits
   for a job on all of a pool with 20 % lemons failing six times as often). Infant
   mortality likewise: here each node fails by its own age and a job keeps the older
   nodes it holds while a new tranche is young; the engine gives every healthy node of a
   pool the tranches' mean multiplier (tests/reference/test_des.py). For block
   outages the hit probability depends on how fragmented a job's ids are.
5. *The horizon* is ``sim.horizon_days`` exactly; the engine's is a whole number of steps.

Only records that can be compared with the engine's are produced (see
:func:`simulate_des_variants`).

Extending it
------------
Physical processes (node- or cluster-age hazards, planned maintenance) belong to
:mod:`simgpu.reference.physical`, which emits them as tape records; anything derived from
the configuration to :mod:`simgpu.reference.world` (a restart time that grows with the
job's size is :meth:`JobSpec.restart_hours <simgpu.reference.world.JobSpec.restart_hours>`,
called at every restart here); decisions to :class:`_Replay`. Migration needs no event
of its own: the model moves a job as if at a checkpoint boundary when the allocation is
evaluated, and an alternative not worth taking at one event cannot become worth it before
the next (:meth:`_Replay._migration`).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simgpu.config import schema as S
from simgpu.reference.physical import DOWN, GONE, SCHEDULE, UP, Tape, physical_history
from simgpu.reference.world import World, build_world, daly_interval, mfu_multipliers

__all__ = ["DesRun", "build_world", "simulate_des", "simulate_des_variants"]

#: Stream tag mixed into the seed, so that the DES never shares numbers with the engine.
_STREAM_TAG = 0x5EED_DE5
_INF = math.inf
_FINISH, _WAKE, _ALLOCATE, _JOBEV = 0, 1, 2, 3


class _Replay:
    """One variant of one replica: contracts, allocation and progress over a tape."""

    def __init__(self, world: World, v: int, tape: Tape,
                 rng: np.random.Generator | None = None, mfu_mult: Any = None):
        self.w, self.v, self.tape = world, v, tape
        self.rng = rng  # the jobs' own interruptions (fabric, planned)
        self.job_ev = any(p.fabric_h > 0 or p.planned_h > 0 for p in world.pools)
        self.now = 0.0
        P, J, L, A = len(world.pools), len(world.jobs), len(world.leases), \
            len(world.party_names)
        self.P, self.J, self.L, self.A = P, J, L, A
        self.gpn = [p.gpn for p in world.pools]
        self.owner = [p.owner for p in world.pools]
        # physical state as seen here
        self.H = [0] * P
        self.online = [0] * P
        self.free: list[set[int]] = [set() for _ in range(P)]
        self.free_heap: list[list[int]] = [[] for _ in range(P)]
        self.holder: list[dict[int, int]] = [{} for _ in range(P)]
        # jobs
        jobs = world.jobs
        # FLOPs per node-hour of each job in each pool: the configured MFU times the
        # replica's MFU multiplier (1 without a band; shared by every variant and pool)
        mult = [1.0] * J if mfu_mult is None else [float(x) for x in mfu_mult]
        self.fnh = [[r * m for r in j.flop_node_h] for j, m in zip(jobs, mult, strict=True)]
        self.tau = [j.tau_h if j.tau_h is not None else math.nan for j in jobs]
        self.cyc = [t + j.write_h for t, j in zip(self.tau, jobs, strict=True)]
        self.jpool = [-1] * J
        self.jn = [0] * J
        self.jnodes: list[set[int]] = [set() for _ in range(J)]
        self.t_u = [0.0] * J
        self.total = [0.0] * J
        self.unc = [0.0] * J
        self.since = [0.0] * J
        self.restart_left = [0.0] * J
        self.version = [0] * J
        self.ev_version = [0] * J
        self.touched = [False] * J
        # records
        self.start_h = [_INF] * J
        self.fin_h = [_INF] * J
        self.n_int = [0] * J
        self.int_cause = [[0] * len(world.cause_names) for _ in range(J)]
        self.n_pre = [0] * J
        self.n_mig = [0] * J
        self.lost = [0.0] * J
        self.held_gh = [0.0] * J
        self.useful_gh = [0.0] * J
        self.restart_gh = [0.0] * J
        self.flops_pool = [[0.0] * P for _ in range(J)]
        self.cap_gh = [[0.0] * P for _ in range(A)]
        self.wait_gh = [[0.0] * P for _ in range(A)]
        self.deliv_gh = [0.0] * L
        self._cap_now = [[0] * P for _ in range(A)]
        self._wait_now = [[0] * P for _ in range(A)]
        self._deliv_now = [0] * L
        self._t_cap = 0.0
        # events
        self.heap: list[tuple[float, int, int, int, Any]] = []
        self.seq = 0
        self.pending = False

    # ------------------------------------------------------------------ scheduling
    def _push(self, t: float, kind: int, data: Any = None) -> None:
        if t < self.w.horizon_h:
            self.seq += 1
            heapq.heappush(self.heap, (t, 1 if kind == _ALLOCATE else 0, self.seq, kind, data))

    def _mark(self) -> None:
        if not self.pending:
            self.pending = True
            self._push(self.now, _ALLOCATE)

    # ------------------------------------------------------------------ tape
    def _apply(self, k: int) -> None:
        tape = self.tape
        kind, p, ids = tape.kind[k], tape.pool[k], tape.ids[k]
        free, holder = self.free[p], self.holder[p]
        if kind == DOWN:
            self.H[p] -= len(ids)
            hit: set[int] = set()
            for i in ids:
                j = holder.pop(i, -1)
                if j >= 0:
                    self.jnodes[j].discard(i)
                    hit.add(j)
                else:
                    free.discard(i)
            for j in sorted(hit):
                self._hit(j, tape.cause[k])
        elif kind == UP:
            self.H[p] += len(ids)
            free.update(ids)
            heap = self.free_heap[p]
            for i in ids:
                heapq.heappush(heap, i)
        elif kind == GONE:  # retired by the schedule: a graceful capacity change
            self.H[p] -= len(ids)
            for i in ids:
                j = holder.pop(i, -1)
                if j >= 0:
                    self.jnodes[j].discard(i)
                else:
                    free.discard(i)
        elif kind == SCHEDULE:
            self.online[p] = self.w.pools[p].online(self.now)
        self._mark()

    # ------------------------------------------------------------------ progress
    def _advance(self, j: int, now: float) -> None:
        """Bring job ``j``'s progress from ``t_u`` to ``now`` (no hits in between)."""
        dtt = now - self.t_u[j]
        self.t_u[j] = now
        if dtt <= 0.0 or self.jn[j] == 0:
            return
        p = self.jpool[j]
        gpus = self.jn[j] * self.gpn[p]
        self.held_gh[j] += dtt * gpus
        r = self.restart_left[j]
        if r > 0.0:
            self.restart_gh[j] += min(dtt, r) * gpus
            if dtt <= r:
                self.restart_left[j] = r - dtt
                return
            dtt -= r
            self.restart_left[j] = 0.0
        tau, cyc = self.tau[j], self.cyc[j]
        rate = self.jn[j] * self.fnh[j][p]
        s0 = self.since[j]
        s1 = s0 + dtt
        k0 = math.floor(s0 / cyc)
        k1 = math.floor(s1 / cyc)
        c0 = k0 * tau + min(s0 - k0 * cyc, tau)
        c1 = k1 * tau + min(s1 - k1 * cyc, tau)
        gain = rate * (c1 - c0)
        self.total[j] += gain
        self.flops_pool[j][p] += gain
        self.useful_gh[j] += (c1 - c0) * gpus
        if k1 >= 1:  # a checkpoint write completed: commit, keep only the current cycle
            rem = s1 - k1 * cyc
            self.unc[j] = rate * min(rem, tau)
            self.since[j] = rem
        else:
            self.unc[j] += gain
            self.since[j] = s1

    def _flop_per_gpu_h(self, j: int) -> float:
        p = self.jpool[j]
        return self.fnh[j][p] / self.gpn[p]

    def _hit(self, j: int, cause: int) -> None:
        """A failure hit job ``j``: roll back to the last checkpoint and restart."""
        self._advance(j, self.now)
        u = self.unc[j]
        self.useful_gh[j] -= u / self._flop_per_gpu_h(j)
        self.lost[j] += u
        self.total[j] -= u
        self.flops_pool[j][self.jpool[j]] -= u
        self.unc[j] = 0.0
        self.since[j] = 0.0
        p = self.jpool[j]
        self.restart_left[j] = (self.w.jobs[j].restart_hours(p, self.jn[j])
                                + self.w.pools[p].detect_hours(cause))
        self.n_int[j] += 1
        self.int_cause[j][cause] += 1
        self.version[j] += 1
        self.touched[j] = True

    def _job_rates(self, p: int, n: int) -> tuple[float, float]:
        """Fabric and planned interruptions per hour of a job on ``n`` nodes of pool ``p``."""
        spec = self.w.pools[p]
        return (spec.fabric_h * n if n > 1 else 0.0), spec.planned_h * n

    def _arm_job_event(self, j: int, p: int, n: int) -> None:
        """Draw job ``j``'s next own interruption (memoryless: again at every change)."""
        self.ev_version[j] += 1
        if p < 0 or n <= 0:
            return
        rate = sum(self._job_rates(p, n))
        if rate > 0.0:
            self._push(self.now + self.rng.standard_exponential() / rate, _JOBEV,
                       (j, self.ev_version[j]))

    def _on_job_event(self, data: tuple[int, int]) -> None:
        """A fabric hang (the work since the last checkpoint is lost; restart after its
        detection) or a planned interruption (graceful: checkpoint first; restart)."""
        j, ver = data
        p, n = self.jpool[j], self.jn[j]
        if ver != self.ev_version[j] or p < 0 or n <= 0:
            return
        rf, rg = self._job_rates(p, n)
        if self.rng.random() * (rf + rg) < rf:
            self._hit(j, self.w.cause_fabric)
        else:
            self._advance(j, self.now)
            self.unc[j] = 0.0  # checkpointed: the work is kept
            self.since[j] = 0.0
            self.restart_left[j] = self.w.jobs[j].restart_hours(p, n)
            self.n_int[j] += 1
            self.int_cause[j][self.w.cause_planned] += 1
            self.version[j] += 1
            self.touched[j] = True
        self._arm_job_event(j, p, n)
        self._mark()

    def _predict_finish(self, j: int) -> None:
        """Schedule the finish of job ``j`` if nothing interrupts it."""
        self.version[j] += 1
        if self.jn[j] == 0:
            return
        rate = self.jn[j] * self.fnh[j][self.jpool[j]]
        tau, cyc = self.tau[j], self.cyc[j]
        s0 = self.since[j]
        k0 = math.floor(s0 / cyc)
        c_target = k0 * tau + min(s0 - k0 * cyc, tau) + max(
            self.w.jobs[j].flops - self.total[j], 0.0) / rate
        k = max(math.ceil(c_target / tau) - 1, 0)  # earliest wall time with C(s) = c_target
        s_fin = k * cyc + (c_target - k * tau)
        delay = self.restart_left[j] + max(s_fin - s0, 0.0)
        self._push(self.now + delay, _FINISH, (j, self.version[j]))

    def _on_finish(self, data: tuple[int, int]) -> None:
        j, ver = data
        if ver != self.version[j]:
            return
        now = self.now
        self._advance(j, now)
        p = self.jpool[j]
        rest = self.w.jobs[j].flops - self.total[j]
        self.useful_gh[j] += rest / self._flop_per_gpu_h(j)
        self.flops_pool[j][p] += rest
        self.total[j] = self.w.jobs[j].flops
        self.unc[j] = 0.0
        self.fin_h[j] = now
        self._release(j, p, list(self.jnodes[j]))
        self.jpool[j] = -1
        self.jn[j] = 0
        self.restart_left[j] = 0.0
        self.version[j] += 1
        self._mark()

    # ------------------------------------------------------------------ allocation
    def _release(self, j: int, p: int, ids: list[int]) -> None:
        free, heap, holder = self.free[p], self.free_heap[p], self.holder[p]
        nodes = self.jnodes[j]
        for i in ids:
            nodes.discard(i)
            del holder[i]
            free.add(i)
            heapq.heappush(heap, i)

    def _take(self, j: int, p: int, k: int) -> None:
        free, heap, holder = self.free[p], self.free_heap[p], self.holder[p]
        nodes = self.jnodes[j]
        for _ in range(k):
            while True:
                i = heapq.heappop(heap)
                if i in free:
                    break
            free.remove(i)
            holder[i] = j
            nodes.add(i)

    def _integrate(self, now: float) -> None:
        """Usable GPU-hours by party and pool, and lease deliveries, since the last pass."""
        dt = now - self._t_cap
        self._t_cap = now
        if dt <= 0.0:
            return
        for a in range(self.A):
            row, acc = self._cap_now[a], self.cap_gh[a]
            wrow, wacc = self._wait_now[a], self.wait_gh[a]
            for p in range(self.P):
                if row[p]:
                    acc[p] += dt * row[p] * self.gpn[p]
                if wrow[p]:
                    wacc[p] += dt * wrow[p] * self.gpn[p]
        for li, le in enumerate(self.w.leases):
            if self._deliv_now[li]:
                self.deliv_gh[li] += dt * self._deliv_now[li] * self.gpn[le.pool]

    def _entitlements(self):
        """Usable nodes per party and pool now (with landlord-first additions), each
        lease's entitlement and its landlord-first part, and the owners' remainders."""
        w, v, now, H = self.w, self.v, self.now, self.H
        remaining = list(H)
        ent = [0] * self.L
        lf_ent = [0] * self.L
        for li, le in enumerate(w.leases):
            p = le.pool
            on = self.online[p]
            if on <= 0:
                continue
            contracted = le.contracted(v, on, self.gpn[p])
            deliv = min(contracted, H[p]) if le.replaced else contracted * H[p] // on
            e = min(int(math.floor(deliv * le.frac[v].at(now) + 1e-9)), remaining[p])
            remaining[p] -= e
            ent[li] = e
            if le.landlord_first[v].at(now):
                lf_ent[li] = e
        avail = [[0] * self.P for _ in range(self.A)]
        for p in range(self.P):
            avail[self.owner[p]][p] += remaining[p]
        for li, le in enumerate(w.leases):
            avail[le.tenant][le.pool] += ent[li]
        return avail, ent, lf_ent, remaining

    def _take_back(self, avail, cap, deliv, lf_ent, owner_start, remaining) -> None:
        """Charge what each owner's jobs used beyond its own nodes to its landlord-first
        leases of that pool, in lease order."""
        w = self.w
        for p in range(self.P):
            ow = self.owner[p]
            over = max(owner_start[p] - avail[ow][p] - remaining[p], 0)
            for li in w.leases_of_pool[p]:
                if over <= 0:
                    break
                take = min(over, lf_ent[li])
                tn = w.leases[li].tenant
                avail[tn][p] -= take
                cap[tn][p] -= take
                cap[ow][p] += take
                deliv[li] -= take
                over -= take

    def _migration(self, j: int, av: list[int], stay_n: int) -> tuple[int, int] | None:
        """The placement job ``j`` migrates to instead of staying on ``stay_n`` nodes of
        its pool, or None (docs/model.md, "Allocation", migration at a checkpoint).

        The one alternative: ``min(target, available)`` nodes in the first allowed pool
        before its current one (preference order) where its minimum fits; else, when it
        is running (not restarting), ``min(target, available)`` nodes of its current pool
        if that is more than it holds. It is taken iff ``W (1 - r_stay / r_alt) >
        max(0, R_alt - rho)``: ``r`` the FLOP/h of each placement (nodes x FLOP per
        node-hour x the replica's MFU multiplier), ``W = min(rem / r_stay, MTBF)`` the
        hours the job would run where it is before it finishes (``rem``: the FLOPs still
        to do, uncommitted work included, as the move checkpoints first) or is next hit
        (its mean time between failures on the stay placement,
        :meth:`PoolSpec.mtbf_hours <simgpu.reference.world.PoolSpec.mtbf_hours>`, as for
        the automatic checkpoint interval: after a hit it re-sizes without an extra
        restart), ``R_alt`` the alternative's restart (no detection) and ``rho`` the
        restart the job still has to serve; hours throughout.

        Allocation runs here at every event, not at every step start as in the engine;
        no opportunity is missed that way. Between two events the entitlements, hence
        both placements, and the MTBF (it changes with the schedule only) are fixed,
        while ``rem`` can only fall (compute) and ``rho`` only fall (a restart being
        served): the gain never grows and the cost never falls, so an alternative not
        worth taking at an event stays so until the next one (anything that raises
        ``rem`` or ``rho``, a hit, is an event). The DES moves at the event's instant; the
        engine at the next step start, with slightly less work left (the
        allocation-timing difference of the module docstring).
        """
        job, cur, held = self.w.jobs[j], self.jpool[j], self.jn[j]
        rho = self.restart_left[j]
        alt_p, alt_n = -1, 0
        for p in job.pools:
            if p == cur:
                break
            if av[p] >= job.minimum[p]:
                alt_p, alt_n = p, min(job.target[p], av[p])
                break
        if alt_p < 0 and rho <= 0.0:
            n = min(job.target[cur], av[cur])
            if n > held:
                alt_p, alt_n = cur, n
        if alt_p < 0:
            return None
        rem = max(job.flops - self.total[j], 0.0)
        r_stay = stay_n * self.fnh[j][cur]
        r_alt = alt_n * self.fnh[j][alt_p]
        window = min(rem / r_stay, self.w.pools[cur].mtbf_hours(stay_n, self.now))
        cost = max(0.0, job.restart_hours(alt_p, alt_n) - rho)
        if window * (1.0 - r_stay / r_alt) > cost:
            return alt_p, alt_n
        return None

    def _allocate(self) -> None:
        self.pending = False
        now, w = self.now, self.w
        for j in range(self.J):
            self._advance(j, now)
        self._integrate(now)
        avail, ent, lf_ent, remaining = self._entitlements()
        cap = [row[:] for row in avail]
        deliv = list(ent)
        any_lf = any(lf_ent)
        for li, le in enumerate(w.leases):
            if lf_ent[li]:
                avail[le.owner][le.pool] += lf_ent[li]
        owner_start = [avail[self.owner[p]][p] for p in range(self.P)]
        taken = not any_lf
        old_pool = list(self.jpool)
        waiting = []  # runnable jobs placed nowhere
        for j, job in enumerate(w.jobs):
            if not taken and job.rank == 1:
                self._take_back(avail, cap, deliv, lf_ent, owner_start, remaining)
                taken = True
            cur, held = self.jpool[j], self.jn[j]
            run = (self.fin_h[j] == _INF and now >= job.earliest_h
                   and all(self.fin_h[d] <= now for d in job.deps))
            if not run and cur < 0:
                continue
            av = avail[job.party]
            resize = self.restart_left[j] > 0.0 or held == 0
            new_pool, new_n = -1, 0
            if run and cur >= 0:
                got = min(job.target[cur] if resize else held, av[cur])
                if got >= job.minimum[cur] and got > 0:
                    new_pool, new_n = cur, got
            if run and new_pool < 0:
                for p in job.pools:
                    if av[p] >= job.minimum[p]:
                        new_pool, new_n = p, min(job.target[p], av[p])
                        break
            migrated = False
            if job.migrate and new_pool >= 0 and new_pool == cur:
                alt = self._migration(j, av, new_n)
                if alt is not None:
                    new_pool, new_n = alt
                    migrated = True
            if new_pool >= 0:
                av[new_pool] -= new_n
            moved = new_pool != cur
            shrink = new_pool == cur and new_n < held and not resize
            if migrated:
                # a migration checkpoints first (the work is kept); not a preemption
                self.unc[j] = 0.0
                self.since[j] = 0.0
                self.n_mig[j] += 1
            elif cur >= 0 and (moved or shrink) and run:
                # a stop or shrink forced by capacity checkpoints first: the work is kept
                self.unc[j] = 0.0
                self.since[j] = 0.0
                self.n_pre[j] += 1
            if new_pool >= 0 and (moved or shrink or migrated):
                self.restart_left[j] = job.restart_hours(new_pool, new_n)
            elif new_pool < 0:
                self.restart_left[j] = 0.0
            if moved or new_n != held:
                self.touched[j] = True
                if self.job_ev:
                    self._arm_job_event(j, new_pool, new_n)
                if new_pool >= 0 and job.tau_h is None:  # auto: Daly's optimum
                    mtbf = w.pools[new_pool].mtbf_hours(new_n, now)
                    self.tau[j] = daly_interval(job.write_h, mtbf)
                    self.cyc[j] = self.tau[j] + job.write_h
            self.jpool[j], self.jn[j] = new_pool, new_n
            if new_n > 0 and self.start_h[j] == _INF:
                self.start_h[j] = now
            if run and new_pool < 0:
                waiting.append(j)
        if not taken:
            self._take_back(avail, cap, deliv, lf_ent, owner_start, remaining)
        self._cap_now, self._deliv_now = cap, deliv
        # waiting for a gang: a party's usable nodes none of its jobs holds, in the pools
        # where one of its waiting jobs may run
        self._wait_now = [[0] * self.P for _ in range(self.A)]
        for j in waiting:
            job = w.jobs[j]
            for p in job.pools:
                a = job.party
                if not self._wait_now[a][p]:
                    held = sum(self.jn[k] for k, jk in enumerate(w.jobs)
                               if jk.party == a and self.jpool[k] == p)
                    self._wait_now[a][p] = cap[a][p] - held
        # node ids: releases first (highest ids), then takes (lowest free ids)
        for j in range(self.J):
            nodes = self.jnodes[j]
            if not nodes:
                continue
            if self.jpool[j] != old_pool[j]:
                self._release(j, old_pool[j], list(nodes))
            elif len(nodes) > self.jn[j]:
                self._release(j, old_pool[j], sorted(nodes)[self.jn[j]:])
        for j in range(self.J):
            need = self.jn[j] - len(self.jnodes[j])
            if need > 0:
                self._take(j, self.jpool[j], need)
        for j in range(self.J):
            if self.touched[j]:
                self.touched[j] = False
                self._predict_finish(j)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        w, tape = self.w, self.tape
        times = sorted({t for le in w.leases for tl in (le.frac[self.v],
                                                        le.landlord_first[self.v])
                        for t in tl.times if 0.0 < t < w.horizon_h}
                       | {j.earliest_h for j in w.jobs if 0.0 < j.earliest_h < w.horizon_h})
        for t in times:
            self._push(t, _WAKE)
        n, k = len(tape.time), 0
        H = w.horizon_h
        heap = self.heap
        while True:
            t_tape = tape.time[k] if k < n else _INF
            if heap and (heap[0][0], heap[0][1]) < (t_tape, 0):
                t, _, _, kind, data = heapq.heappop(heap)
                if t >= H:
                    break
                self.now = t
                if kind == _ALLOCATE:
                    self._allocate()
                elif kind == _FINISH:
                    self._on_finish(data)
                elif kind == _JOBEV:
                    self._on_job_event(data)
                else:
                    self._mark()
            elif t_tape < H:
                self.now = t_tape
                self._apply(k)
                k += 1
            else:
                break
        self.now = H
        for j in range(self.J):  # account for the time since each job's last event
            self._advance(j, H)
        self._integrate(H)


@dataclass
class DesRun:
    """Results of :func:`simulate_des_variants`.

    Attributes
    ----------
    world : World
        The reference's reading of the configuration: names (``job_names``,
        ``pool_names``, ``party_names``, ``lease_names``, ``cause_names``) and the variants.
    variants : dict of str to dict of str to ndarray
        Per variant name, the records of every replica (see :func:`simulate_des_variants`).
    """

    world: World
    variants: dict[str, dict[str, np.ndarray]]


def _config(config: Any) -> S.SimgpuConfig:
    """The validated configuration: ``config`` itself, or the ``cfg`` it carries (a
    compiled plan is accepted for convenience; only its configuration is read)."""
    if isinstance(config, S.SimgpuConfig):
        return config
    cfg = getattr(config, "cfg", None)
    if isinstance(cfg, S.SimgpuConfig):
        return cfg
    raise TypeError("simulate_des needs a validated configuration (simgpu.config.load.load)")


def _paid(world: World, v: int) -> np.ndarray:
    """Lease payments of variant ``v`` over the horizon, $ (deterministic)."""
    H = world.horizon_h
    out = np.zeros(len(world.leases))
    for li, le in enumerate(world.leases):
        edges = sorted({0.0, H} | {t for t in le.usd_changes[v] if 0.0 < t < H})
        out[li] = sum(le.usd_h[v](a) * (b - a) for a, b in zip(edges[:-1], edges[1:],
                                                                strict=True))
    return out


def simulate_des_variants(config: Any, replicas: int, variants: list[int | str] | None = None,
                          seed_offset: int = 0) -> DesRun:
    """Simulate ``replicas`` histories of several variants on common random numbers.

    Parameters
    ----------
    config : SimgpuConfig
        Validated configuration (:func:`simgpu.config.load.load`). A compiled plan is
        accepted for convenience: only its ``cfg`` is read.
    replicas : int
        Number of histories.
    variants : list of int or str, optional
        Variants by index or name, in the order of the stepped engine's (baseline, the
        counterfactual levers, the sweep values); default: all.
    seed_offset : int
        Id of the first replica: replica ``r`` draws its physical history from
        ``Philox(SeedSequence([sim.seed, seed_offset + r, tag]))``, whatever the variants.

    Returns
    -------
    DesRun
        Per variant: ``start_h``, ``finish_h`` (hours since ``sim.start``; ``inf`` =
        never), ``interruptions`` (failure hits), ``preemptions`` (stops or shrinks forced
        by capacity), ``migrations`` (moves to a more preferred pool or growths taken at a
        checkpoint because they finish the job sooner; not preemptions),
        ``mfu_multiplier`` (the replica's multiplier of the job's MFU, 1 without an
        ``mfu_band``; the same in every variant), ``lost_flops`` (work rolled back),
        ``useful_gpu_h`` (compute GPU-hours whose work was kept), ``held_gpu_h``
        (GPU-hours held), ``restart_gpu_h`` (held while restarting) and ``ettr`` (their
        ratio; nan if never held), each
        (replicas, J); ``interruptions_by_cause`` (replicas, J, C); ``flops_pool``
        (replicas, J, P) kept FLOPs by pool; ``party_cap_gpu_h`` (replicas, A, P) usable
        GPU-hours by party and pool; ``party_wait_gpu_h`` (replicas, A, P) those none of
        the party's jobs held while one of its runnable jobs that may use the pool was
        placed nowhere (waiting for its gang); ``lease_delivered_gpu_h`` (replicas, L);
        ``lease_paid_usd`` (L,) payments; ``pool_failures``, ``pool_outages`` (replicas,
        P); ``pool_failures_by_cause`` (replicas, P, node causes). Jobs, pools, parties,
        leases and causes in the order of ``DesRun.world``.

    Raises
    ------
    ValueError
        For a bad variant or replica count.
    """
    world = build_world(_config(config))
    if replicas < 0:
        raise ValueError("replicas must be >= 0")
    idx = list(range(len(world.variants))) if variants is None else \
        [world.variant_index(v) for v in variants]
    J, P, A, L = len(world.jobs), len(world.pools), len(world.party_names), len(world.leases)
    C, NC = len(world.cause_names), world.n_node_causes
    R = replicas
    out: dict[str, dict[str, np.ndarray]] = {}
    for v in idx:
        out[world.variants[v].name] = {
            "start_h": np.full((R, J), _INF), "finish_h": np.full((R, J), _INF),
            "interruptions": np.zeros((R, J), np.int64),
            "interruptions_by_cause": np.zeros((R, J, C), np.int64),
            "preemptions": np.zeros((R, J), np.int64),
            "migrations": np.zeros((R, J), np.int64),
            "mfu_multiplier": np.ones((R, J)), "lost_flops": np.zeros((R, J)),
            "useful_gpu_h": np.zeros((R, J)), "held_gpu_h": np.zeros((R, J)),
            "restart_gpu_h": np.zeros((R, J)),
            "ettr": np.full((R, J), np.nan), "flops_pool": np.zeros((R, J, P)),
            "party_cap_gpu_h": np.zeros((R, A, P)), "lease_delivered_gpu_h": np.zeros((R, L)),
            "party_wait_gpu_h": np.zeros((R, A, P)), "lease_paid_usd": _paid(world, v),
            "pool_failures": np.zeros((R, P), np.int64),
            "pool_failures_by_cause": np.zeros((R, P, NC), np.int64),
            "pool_outages": np.zeros((R, P), np.int64),
        }
    mult = mfu_multipliers(world, np.arange(R, dtype=np.int64) + int(seed_offset))
    for r in range(R):
        ss = np.random.SeedSequence([world.seed, int(seed_offset) + r, _STREAM_TAG])
        tape = physical_history(world, np.random.Generator(np.random.Philox(ss)))
        for v in idx:
            rng = np.random.Generator(np.random.Philox(np.random.SeedSequence(
                [world.seed, int(seed_offset) + r, _STREAM_TAG, 1 + v])))
            rep = _Replay(world, v, tape, rng, mult[r])
            rep.run()
            o = out[world.variants[v].name]
            o["start_h"][r] = rep.start_h
            o["finish_h"][r] = rep.fin_h
            o["interruptions"][r] = rep.n_int
            o["interruptions_by_cause"][r] = rep.int_cause
            o["preemptions"][r] = rep.n_pre
            o["migrations"][r] = rep.n_mig
            o["mfu_multiplier"][r] = mult[r]
            o["lost_flops"][r] = rep.lost
            o["useful_gpu_h"][r] = rep.useful_gh
            o["held_gpu_h"][r] = rep.held_gh
            o["restart_gpu_h"][r] = rep.restart_gh
            held = np.asarray(rep.held_gh)
            o["ettr"][r] = np.where(held > 0, np.asarray(rep.useful_gh) /
                                    np.where(held > 0, held, 1.0), np.nan)
            o["flops_pool"][r] = rep.flops_pool
            o["party_cap_gpu_h"][r] = rep.cap_gh
            o["party_wait_gpu_h"][r] = rep.wait_gh
            o["lease_delivered_gpu_h"][r] = rep.deliv_gh
            o["pool_failures"][r] = tape.failures
            o["pool_failures_by_cause"][r] = tape.failures_by_cause
            o["pool_outages"][r] = tape.outages
    return DesRun(world, out)


def simulate_des(config: Any, replicas: int, variant: int | str = 0,
                 seed_offset: int = 0) -> dict[str, np.ndarray]:
    """Simulate ``replicas`` histories of one variant (see :func:`simulate_des_variants`,
    whose records of that variant this returns)."""
    run = simulate_des_variants(config, replicas, [variant], seed_offset)
    return next(iter(run.variants.values()))
