"""Independent discrete-event reference simulator (SimPy), node by node, in continuous time.

This module re-implements simgpu's model from its description, not from the stepped
engine's code, so that the two can be checked against each other statistically. It
reads only resolved inputs from :class:`~simgpu.engine.plan.Plan` (capacity schedules,
failure rates, repair and outage distributions, lease fractions per step, the job
table); it never imports :mod:`simgpu.engine.numpy_engine` or
:mod:`simgpu.engine.progress`, and it draws its own random numbers from
``numpy.random.Generator(numpy.random.Philox(...))``, one stream per replica.

The model, as simulated here
----------------------------
*Nodes.* Every node of every pool is an entity with an id, a class (normal or lemon)
and a state (healthy or down). A healthy node fails after an Exponential time of rate
``fail_rate_normal`` (or ``fail_rate_lemon``) per hour, its own clock; it is then down
for a repair time drawn from the pool's distribution (fixed ``p1``; exponential of mean
``p1``; lognormal ``exp(p1 + p2 Z)``; every draw capped at ``repair_max``) and comes back
healthy. The number of healthy nodes of a class is ``max(online - down, 0)``, with
``online`` from the plan's per-step schedule: nodes are added (fresh and healthy) or
retired (healthy ones: free ones first, then held ones, highest ids first) when the
schedule changes, and a repaired node that the schedule no longer has room for retires.

*Domain outages.* Each failure domain is a Poisson process of rate ``dom_rate`` times its
number of domains (``ceil(online / dom_nodes)``, or 1 for a facility), piecewise constant
between schedule changes. An outage takes down a block of ``min(dom_nodes, healthy)``
healthy nodes that are consecutive in node-id order, starting at a uniform position
(wrapping around), or every healthy node of the pool for a facility, all for one drawn
duration. Every job that holds one of those nodes is hit once.

*Contracts.* At any time, with ``H`` healthy and ``online`` online nodes in the lease's
pool: contracted nodes ``floor(share * online)`` or ``min(gpus // gpn, online)``;
``delivered`` burden: ``floor(contracted * H / online)``; ``replaced``:
``min(contracted, H)``; times the variant's lease fraction at that time, floored, and
never more than the owner still has. The owner keeps the rest.

*Allocation* is re-evaluated, once per instant, after anything changes (a failure, a
repair, an outage, its end, a job finishing, a schedule or lease change, an earliest
start). Jobs go in plan order and take nodes from their party's entitlement: a runnable
job that already holds nodes keeps its pool and asks for its current size (its target
while it is restarting), and stays if what it gets is at least its minimum; otherwise
it takes ``min(target, available)`` in the first allowed pool, in preference order,
where its minimum fits, or waits. Any (re)start, pool move or shrink of a computing job
costs ``restart_hours`` without progress; a stop or shrink forced by capacity keeps all
work (graceful checkpoint). Jobs hold specific nodes: they release their highest ids
first and take the lowest free healthy ids, so a job's nodes stay nearly contiguous.

*Failures hit jobs.* A failing node held by a job hits that job: it loses the work since
its last completed checkpoint and restarts (a hit during a restart restarts it again).

*Progress.* A job holding ``n`` nodes of pool ``p`` computes at
``n * gpus_per_node * peak * mfu`` FLOP/h after its restart, in checkpoint cycles of
``tau`` compute hours followed by a blocking write of ``write`` hours; work is committed
when a write completes. It finishes the moment its total reaches its FLOPs (no final
write) and frees its nodes at once. A job is runnable from its earliest start once every
job it waits for has finished.

Where this differs from the stepped engine
------------------------------------------
The engine (``simgpu.engine.numpy_engine``) resolves the same process on a grid of
``dt`` hours; these are the known differences, all of which vanish or shrink as
``dt -> 0`` except the last two:

1. *Allocation timing.* The engine allocates only at step boundaries; here allocation
   follows every event at once. So a hit job here re-takes its target immediately
   (engine: it keeps its nodes until the step ends), a job freed by its dependencies,
   by capacity or by its earliest start starts at that instant (engine: at the next
   boundary, so engine start and finish hours of chained jobs are later by up to
   ``dt``), and a finished job frees its nodes at once (engine: at the step end).
   When ``restart_hours < dt`` this has a visible side effect in the engine: a hit job
   can finish its restart before the boundary, and the boundary then finds it holding
   more nodes than are healthy, so it is shrunk (a capacity preemption, with a free
   checkpoint and a second restart) for the very node that failed. Here that never
   happens; the engine's preemption counts then exceed the DES's by about one per hit
   that lands early in a step.
2. *Down time.* Here a node is down from the instant it fails until exactly the repair
   time has passed; in the engine it stays healthy until the end of its step and comes
   back at the first boundary after ``failure + repair``.
3. *Capacity changes* (failures shrinking a lease, schedule changes) act on other jobs at
   the instant they happen, not at the next boundary.
4. *Which nodes a job holds.* The engine draws a failed node's position uniformly in a
   layout where jobs hold contiguous ranges; here jobs hold actual node ids. For node
   failures without lemons the hit probability is the same (held / healthy). With
   lemon nodes it is not: a job here holds specific nodes, and since lemons fail (and
   come back free after repair) more often, the free nodes are enriched in lemons and
   long-lived holdings in normal nodes, so jobs here are hit less often than under the
   engine's uniform positions (e.g. about 10 % fewer hits for a job on half of a pool
   with 20 % lemons failing six times as often).
   For block outages the hit probability depends on how fragmented a job's ids are
   (lowest-id-first taking keeps them close to, not exactly, contiguous).
5. *Landlord-first* (``plan.lease_lf``) is not modelled: a variant in which it is
   active raises :class:`NotImplementedError`.

Only the per-job records are produced (start, finish, interruptions, lost FLOPs,
capacity preemptions) plus node-failure and outage counts per pool.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import simpy

from simgpu.engine.checkpoint import daly_interval
from simgpu.engine.plan import DIST_EXPONENTIAL, DIST_FIXED, DIST_LOGNORMAL, Plan

__all__ = ["simulate_des"]

#: Priority of the allocation pass: after every ordinary event (SimPy's NORMAL is 1) at
#: the same instant, so simultaneous changes are allocated together.
_LATE = 2
#: Stream tag mixed into the seed, so that the DES never shares numbers with the engine.
_STREAM_TAG = 0x5EED_DE5
_INF = math.inf
_ABSENT, _HEALTHY, _DOWN = 0, 1, 2
_BUF = 4096


class _Draws:
    """Buffered scalar draws from one ``Generator`` (Python floats, for speed)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._exp: list[float] = []
        self._nrm: list[float] = []
        self._uni: list[float] = []

    def exp(self) -> float:
        """One Exponential(1) draw."""
        if not self._exp:
            self._exp = self.rng.standard_exponential(_BUF).tolist()
        return self._exp.pop()

    def normal(self) -> float:
        """One standard normal draw."""
        if not self._nrm:
            self._nrm = self.rng.standard_normal(_BUF).tolist()
        return self._nrm.pop()

    def uniform(self) -> float:
        """One Uniform[0, 1) draw."""
        if not self._uni:
            self._uni = self.rng.random(_BUF).tolist()
        return self._uni.pop()

    def duration(self, kind: int, p1: float, p2: float, cap: float) -> float:
        """A repair or outage duration, hours (see the module docstring)."""
        if kind == DIST_FIXED:
            d = p1
        elif kind == DIST_EXPONENTIAL:
            d = p1 * self.exp()
        elif kind == DIST_LOGNORMAL:
            d = math.exp(p1 + p2 * self.normal())
        else:  # pragma: no cover - the plan only has the three codes
            raise ValueError(f"unknown distribution code {kind}")
        return min(d, cap)


class _Pool:
    """The nodes of one pool: state, class, holder and clock generation per node id."""

    def __init__(self, index: int):
        self.index = index
        self.state = bytearray()  # _ABSENT, _HEALTHY or _DOWN
        self.cls = bytearray()  # 0 normal, 1 lemon
        self.holder: list[int] = []  # job index, or -1 when free (or not healthy)
        self.gen: list[int] = []  # bumped on every state change; stale clocks check it
        self.free: set[int] = set()  # healthy nodes held by no job
        self.free_heap: list[int] = []  # the same ids, lazily, for lowest-id-first taking
        self.retired: list[int] = []  # ids to reuse (heap)
        self.healthy = [0, 0]  # by class
        self.down = [0, 0]  # by class

    @property
    def n_healthy(self) -> int:
        return self.healthy[0] + self.healthy[1]

    def new_id(self) -> int:
        if self.retired:
            return heapq.heappop(self.retired)
        self.state.append(_ABSENT)
        self.cls.append(0)
        self.holder.append(-1)
        self.gen.append(0)
        return len(self.state) - 1

    def take_lowest(self) -> int:
        while True:
            i = heapq.heappop(self.free_heap)
            if i in self.free:
                self.free.remove(i)
                return i


class _Replica:
    """One history of the process for one variant."""

    def __init__(self, plan: Plan, variant: int, rng: np.random.Generator,
                 change_steps: list[int]):
        self.plan = plan
        self.v = variant
        self.draw = _Draws(rng)
        self.env = simpy.Environment()
        self.horizon = plan.horizon_hours
        self.change_steps = change_steps
        self.step = 0
        P, J = len(plan.pool_names), len(plan.job_names)
        self.P, self.J = P, J
        self.pools = [_Pool(p) for p in range(P)]
        self.on = [[int(plan.online_normal[p, 0]), int(plan.online_lemon[p, 0])]
                   for p in range(P)]
        self.rate = [[float(plan.fail_rate_normal[p]), float(plan.fail_rate_lemon[p])]
                     for p in range(P)]
        C = plan.n_node_causes  # repair time by (pool, cause); causes drawn by their shares
        self.rep = [[(int(plan.repair_kind[p, c]), float(plan.repair_p1[p, c]),
                      float(plan.repair_p2[p, c]), float(plan.repair_max[p, c]))
                     for c in range(C)] for p in range(P)]
        self.cause_cum = plan.cause_cum.tolist()
        self.failures = [0] * P
        self.outages = [0] * P
        # job table (plain lists: scalar access in the event loop)
        self.party = plan.job_party.tolist()
        self.flops = plan.job_flops.astype(float).tolist()
        self.tau = plan.job_tau.astype(float).tolist()  # nan: auto, set at each placement
        self.cyc = (plan.job_tau + plan.job_write).astype(float).tolist()
        self.write = plan.job_write.astype(float).tolist()
        self.rst = plan.job_restart.astype(float).tolist()
        self.earliest = plan.job_earliest_h.astype(float).tolist()
        self.deps = [np.flatnonzero(plan.job_deps[j]).tolist() for j in range(J)]
        self.pref = [[int(p) for p in plan.job_pref[j] if p >= 0] for j in range(J)]
        self.tgt = plan.job_tgt_nodes.tolist()
        self.mn = plan.job_min_nodes.tolist()
        self.flop_per_node_h = [
            [float(plan.pool_gpn[p] * plan.pool_peak_flop_h[p] * plan.job_mfu[j, p])
             for p in range(P)] for j in range(J)]
        # job state
        self.jpool = [-1] * J
        self.jn = [0] * J  # nodes allocated (the allocation's count)
        self.jnodes: list[set[int]] = [set() for _ in range(J)]  # node ids held
        self.t_u = [0.0] * J  # time the progress state below refers to
        self.total = [0.0] * J  # FLOPs done and not lost (committed + uncommitted)
        self.held_gh = [0.0] * J  # GPU-hours held (restarts and writes included)
        self.useful_gh = [0.0] * J  # GPU-hours of compute whose work was kept
        self.unc = [0.0] * J  # FLOPs since the last committed checkpoint
        self.since = [0.0] * J  # hours into the current checkpoint cycle
        self.restart_left = [0.0] * J
        self.version = [0] * J  # invalidates scheduled finish events
        self.start_h = [_INF] * J
        self.fin_h = [_INF] * J
        self.n_int = [0] * J
        self.n_pre = [0] * J
        self.lost = [0.0] * J
        self._pending = False
        self._touched = [False] * J
        # leases
        L = len(plan.lease_names)
        self.L = L
        self.lease_pool = plan.lease_pool.tolist()
        self.lease_tenant = plan.lease_tenant.tolist()
        self.lease_share = plan.lease_share[variant].tolist()
        self.lease_gpus = plan.lease_gpus[variant].tolist()
        self.lease_repl = plan.lease_replaced.tolist()
        self.pool_owner = plan.pool_owner.tolist()
        self.pool_gpn = plan.pool_gpn.tolist()
        self.n_parties = len(plan.party_names)

    # ------------------------------------------------------------------ scheduling
    def _at(self, delay: float, callback, value) -> None:
        """Run ``callback(value)`` after ``delay`` hours, if that is before the horizon."""
        if self.env.now + delay >= self.horizon:
            return
        ev = simpy.Timeout(self.env, delay, value)
        ev.callbacks.append(callback)

    def _mark(self) -> None:
        """Ask for one allocation pass after the other events of this instant."""
        if self._pending:
            return
        self._pending = True
        ev = simpy.Event(self.env)
        ev._ok = True
        ev._value = None
        ev.callbacks.append(self._allocate)
        self.env.schedule(ev, _LATE)

    # ------------------------------------------------------------------ nodes
    def _add_node(self, pool: _Pool, c: int) -> None:
        i = pool.new_id()
        pool.cls[i] = c
        pool.healthy[c] += 1
        self._make_healthy(pool, i)

    def _make_healthy(self, pool: _Pool, i: int) -> None:
        pool.state[i] = _HEALTHY
        pool.holder[i] = -1
        pool.gen[i] += 1
        pool.free.add(i)
        heapq.heappush(pool.free_heap, i)
        r = self.rate[pool.index][pool.cls[i]]
        if r > 0.0:
            self._at(self.draw.exp() / r, self._on_fail, (pool.index, i, pool.gen[i]))

    def _retire_healthy(self, pool: _Pool, c: int, k: int) -> None:
        """Retire ``k`` healthy nodes of class ``c``: free ones first, highest ids first."""
        free = sorted((i for i in pool.free if pool.cls[i] == c), reverse=True)
        victims = free[:k]
        if len(victims) < k:
            held = sorted((i for i in range(len(pool.state))
                           if pool.state[i] == _HEALTHY and pool.cls[i] == c
                           and pool.holder[i] >= 0), reverse=True)
            victims += held[:k - len(victims)]
        for i in victims:
            j = pool.holder[i]
            if j >= 0:
                self.jnodes[j].discard(i)  # the allocation pass shrinks the job gracefully
            else:
                pool.free.discard(i)
            pool.state[i] = _ABSENT
            pool.holder[i] = -1
            pool.gen[i] += 1
            pool.healthy[c] -= 1
            heapq.heappush(pool.retired, i)

    def _fit_capacity(self, pool: _Pool) -> None:
        """Bring healthy nodes of each class to ``max(online - down, 0)``."""
        for c in (0, 1):
            want = max(self.on[pool.index][c] - pool.down[c], 0)
            while pool.healthy[c] < want:
                self._add_node(pool, c)
            if pool.healthy[c] > want:
                self._retire_healthy(pool, c, pool.healthy[c] - want)

    def _take_down(self, pool: _Pool, i: int) -> int:
        """Mark healthy node ``i`` down; return the job that held it, or -1."""
        c = pool.cls[i]
        pool.state[i] = _DOWN
        pool.gen[i] += 1
        pool.healthy[c] -= 1
        pool.down[c] += 1
        j = pool.holder[i]
        if j >= 0:
            self.jnodes[j].discard(i)
            pool.holder[i] = -1
        else:
            pool.free.discard(i)
        return j

    def _on_fail(self, ev: simpy.Event) -> None:
        p, i, g = ev.value
        pool = self.pools[p]
        if pool.gen[i] != g or pool.state[i] != _HEALTHY:
            return  # stale clock: the node changed state since it was drawn
        self.failures[p] += 1
        j = self._take_down(pool, i)
        if j >= 0:
            self._hit(j)
        u = self.draw.uniform()
        cum = self.cause_cum[p]
        c = next((k for k, x in enumerate(cum) if u <= x), len(cum) - 1)
        self._at(self.draw.duration(*self.rep[p][c]), self._on_repair, (p, (i,)))
        self._mark()

    def _on_repair(self, ev: simpy.Event) -> None:
        p, ids = ev.value
        pool = self.pools[p]
        for i in ids:
            c = pool.cls[i]
            pool.down[c] -= 1
            if pool.healthy[c] < max(self.on[p][c] - pool.down[c], 0):
                pool.healthy[c] += 1
                self._make_healthy(pool, i)
            else:  # the schedule has no room for it any more
                pool.state[i] = _ABSENT
                pool.gen[i] += 1
                heapq.heappush(pool.retired, i)
        self._fit_capacity(pool)
        self._mark()

    def _on_outage(self, ev: simpy.Event) -> None:
        d = ev.value
        plan = self.plan
        p = int(plan.dom_pool[d])
        pool = self.pools[p]
        H = pool.n_healthy
        if H == 0:
            return
        self.outages[p] += 1
        ids = np.flatnonzero(np.frombuffer(pool.state, np.uint8) == _HEALTHY)
        size = int(plan.dom_nodes[d])
        if size == 0 or size >= H:
            block = ids.tolist()
        else:
            x = min(int(self.draw.uniform() * H), H - 1)
            block = np.take(ids, np.arange(x, x + size), mode="wrap").tolist()
        hit: set[int] = set()
        for i in block:
            j = self._take_down(pool, i)
            if j >= 0:
                hit.add(j)
        for j in sorted(hit):
            self._hit(j)
        dur = self.draw.duration(int(plan.dom_kind[d]), float(plan.dom_p1[d]),
                                 float(plan.dom_p2[d]), float(plan.dom_max[d]))
        self._at(dur, self._on_repair, (p, tuple(block)))
        self._mark()

    # ------------------------------------------------------------------ schedules
    def _schedule_proc(self):
        """Apply the plan's per-step schedules (online nodes, lease fractions) at the
        steps where they change."""
        plan, dt = self.plan, self.plan.dt
        for t in self.change_steps:
            delay = t * dt - self.env.now
            if delay > 0:
                yield self.env.timeout(delay)
            self.step = t
            for p, pool in enumerate(self.pools):
                self.on[p] = [int(plan.online_normal[p, t]), int(plan.online_lemon[p, t])]
                self._fit_capacity(pool)
            self._mark()

    def _outage_times(self, d: int) -> list[float]:
        """Times of the outages of domain kind ``d``: a Poisson process whose rate is
        ``dom_rate * number of domains``, piecewise constant between schedule steps."""
        plan = self.plan
        p = int(plan.dom_pool[d])
        online = plan.online_normal[p] + plan.online_lemon[p]
        k = int(plan.dom_nodes[d])
        units = np.ones_like(online) if k == 0 else -(-online // k)
        rate = float(plan.dom_rate[d]) * units
        edges = [*self.change_steps, plan.n_steps]
        out: list[float] = []
        need = self.draw.exp()  # cumulative hazard to the next outage
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            r = float(rate[a])
            t0, t1 = a * plan.dt, b * plan.dt
            while r > 0.0 and t0 + need / r < t1:
                t0 += need / r
                out.append(t0)
                need = self.draw.exp()
            if r > 0.0:
                need -= (t1 - t0) * r
        return out

    # ------------------------------------------------------------------ jobs
    def _advance(self, j: int, now: float) -> None:
        """Bring job ``j``'s progress from ``t_u`` to ``now`` (no hits in between)."""
        dtt = now - self.t_u[j]
        self.t_u[j] = now
        if dtt <= 0.0 or self.jn[j] == 0:
            return
        gpus = self.jn[j] * self.pool_gpn[self.jpool[j]]
        self.held_gh[j] += dtt * gpus
        r = self.restart_left[j]
        if r > 0.0:
            if dtt <= r:
                self.restart_left[j] = r - dtt
                return
            dtt -= r
            self.restart_left[j] = 0.0
        tau, cyc = self.tau[j], self.cyc[j]
        rate = self.jn[j] * self.flop_per_node_h[j][self.jpool[j]]
        s0 = self.since[j]
        s1 = s0 + dtt
        k0 = math.floor(s0 / cyc)
        k1 = math.floor(s1 / cyc)
        c0 = k0 * tau + min(s0 - k0 * cyc, tau)
        c1 = k1 * tau + min(s1 - k1 * cyc, tau)
        gain = rate * (c1 - c0)
        self.total[j] += gain
        self.useful_gh[j] += (c1 - c0) * gpus
        if k1 >= 1:  # a checkpoint write completed: commit, keep only the current cycle
            rem = s1 - k1 * cyc
            self.unc[j] = rate * min(rem, tau)
            self.since[j] = rem
        else:
            self.unc[j] += gain
            self.since[j] = s1

    def _hit(self, j: int) -> None:
        """A failure hit job ``j``: roll back to the last checkpoint and restart."""
        now = self.env.now
        self._advance(j, now)
        self.useful_gh[j] -= self.unc[j] / self._flop_per_gpu_h(j)
        self.lost[j] += self.unc[j]
        self.total[j] -= self.unc[j]
        self.unc[j] = 0.0
        self.since[j] = 0.0
        self.restart_left[j] = self.rst[j]
        self.n_int[j] += 1
        self.version[j] += 1
        self._touched[j] = True

    def _flop_per_gpu_h(self, j: int) -> float:
        p = self.jpool[j]
        return self.flop_per_node_h[j][p] / self.pool_gpn[p]

    def _predict_finish(self, j: int) -> None:
        """Schedule the finish of job ``j`` if nothing interrupts it."""
        self.version[j] += 1
        if self.jn[j] == 0:
            return
        rate = self.jn[j] * self.flop_per_node_h[j][self.jpool[j]]
        tau, cyc = self.tau[j], self.cyc[j]
        s0 = self.since[j]
        k0 = math.floor(s0 / cyc)
        c_target = k0 * tau + min(s0 - k0 * cyc, tau) + max(self.flops[j] - self.total[j],
                                                            0.0) / rate
        k = max(math.ceil(c_target / tau) - 1, 0)  # earliest wall time with C(s) = c_target
        s_fin = k * cyc + (c_target - k * tau)
        delay = self.restart_left[j] + max(s_fin - s0, 0.0)
        self._at(delay, self._on_finish, (j, self.version[j]))

    def _on_finish(self, ev: simpy.Event) -> None:
        j, ver = ev.value
        if ver != self.version[j]:
            return
        now = self.env.now
        self._advance(j, now)
        self.useful_gh[j] += (self.flops[j] - self.total[j]) / self._flop_per_gpu_h(j)
        self.total[j] = self.flops[j]
        self.unc[j] = 0.0
        self.fin_h[j] = now
        pool = self.pools[self.jpool[j]]
        for i in self.jnodes[j]:
            pool.holder[i] = -1
            pool.free.add(i)
            heapq.heappush(pool.free_heap, i)
        self.jnodes[j].clear()
        self.jpool[j] = -1
        self.jn[j] = 0
        self.restart_left[j] = 0.0
        self.version[j] += 1
        self._mark()

    def _on_wake(self, ev: simpy.Event) -> None:
        self._mark()

    # ------------------------------------------------------------------ allocation
    def _entitlements(self) -> list[list[int]]:
        """Nodes each party may allocate in each pool, now: ``avail[party][pool]``."""
        t = self.step
        H = [pool.n_healthy for pool in self.pools]
        remaining = list(H)
        avail = [[0] * self.P for _ in range(self.n_parties)]
        ent = [0] * self.L
        lease_frac = self.plan.lease_frac
        for li in range(self.L):
            p = self.lease_pool[li]
            on_p = self.on[p][0] + self.on[p][1]
            if on_p <= 0:
                continue
            share = self.lease_share[li]
            if math.isnan(share):
                contracted = min(self.lease_gpus[li] // self.pool_gpn[p], on_p)
            else:
                contracted = math.floor(share * on_p + 1e-9)
            if self.lease_repl[li]:
                deliv = min(contracted, H[p])
            else:
                deliv = contracted * H[p] // on_p
            e = math.floor(deliv * float(lease_frac[self.v, li, t]) + 1e-9)
            e = min(e, remaining[p])
            remaining[p] -= e
            ent[li] = e
        for p in range(self.P):
            avail[self.pool_owner[p]][p] += remaining[p]
        for li in range(self.L):
            avail[self.lease_tenant[li]][self.lease_pool[li]] += ent[li]
        return avail

    def _allocate(self, ev: simpy.Event) -> None:
        self._pending = False
        now = self.env.now
        for j in range(self.J):
            self._advance(j, now)
        avail = self._entitlements()
        old_pool = list(self.jpool)
        for j in range(self.J):
            cur, held = self.jpool[j], self.jn[j]
            run = (self.fin_h[j] == _INF and now >= self.earliest[j]
                   and all(self.fin_h[d] <= now for d in self.deps[j]))
            if not run and cur < 0:
                continue
            av = avail[self.party[j]]
            resize = self.restart_left[j] > 0.0 or held == 0
            new_pool, new_n = -1, 0
            if run and cur >= 0:
                got = min(self.tgt[j][cur] if resize else held, av[cur])
                if got >= self.mn[j][cur] and got > 0:
                    new_pool, new_n = cur, got
            if run and new_pool < 0:
                for p in self.pref[j]:
                    if av[p] >= self.mn[j][p]:
                        new_pool, new_n = p, min(self.tgt[j][p], av[p])
                        break
            if new_pool >= 0:
                av[new_pool] -= new_n
            moved = new_pool != cur
            shrink = new_pool == cur and new_n < held and not resize
            if cur >= 0 and (moved or shrink) and run:
                # a stop or shrink forced by capacity checkpoints first: the work is kept
                self.unc[j] = 0.0
                self.since[j] = 0.0
                self.n_pre[j] += 1
            if new_pool >= 0 and (moved or shrink):
                self.restart_left[j] = self.rst[j]
            elif new_pool < 0:
                self.restart_left[j] = 0.0
            if moved or new_n != held:
                self._touched[j] = True
                if new_pool >= 0 and math.isnan(self.plan.job_tau[j]):  # auto: Daly (2006)
                    step = min(int(now // self.plan.dt), self.plan.n_steps - 1)
                    mtbf = self.plan.job_mtbf_hours(np.array([new_pool]), np.array([new_n]),
                                                    step)
                    self.tau[j] = float(daly_interval(self.write[j], mtbf)[0])
                    self.cyc[j] = self.tau[j] + self.write[j]
            self.jpool[j], self.jn[j] = new_pool, new_n
            if new_n > 0 and self.start_h[j] == _INF:
                self.start_h[j] = now
        # node ids: releases first, then takes (the counts always fit the healthy nodes)
        for j in range(self.J):
            nodes = self.jnodes[j]
            if not nodes:
                continue
            pool = self.pools[old_pool[j]]
            if self.jpool[j] != old_pool[j]:
                give = list(nodes)
                nodes.clear()
            elif len(nodes) > self.jn[j]:
                give = sorted(nodes)[self.jn[j]:]
                nodes.difference_update(give)
            else:
                continue
            for i in give:
                pool.holder[i] = -1
                pool.free.add(i)
                heapq.heappush(pool.free_heap, i)
        for j in range(self.J):
            need = self.jn[j] - len(self.jnodes[j])
            if need <= 0:
                continue
            pool = self.pools[self.jpool[j]]
            nodes = self.jnodes[j]
            for _ in range(need):
                i = pool.take_lowest()
                pool.holder[i] = j
                nodes.add(i)
        for j in range(self.J):
            if self._touched[j]:
                self._touched[j] = False
                self._predict_finish(j)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        plan = self.plan
        rng = self.draw.rng
        for p, pool in enumerate(self.pools):  # initial nodes, lemons at random ids
            n, m = self.on[p]
            for c in rng.permutation(np.repeat([0, 1], [n, m])).tolist():
                self._add_node(pool, c)
        for d in range(len(plan.dom_pool)):
            for t in self._outage_times(d):
                self._at(t, self._on_outage, d)
        for j in range(self.J):
            if self.earliest[j] > 0.0:
                self._at(self.earliest[j], self._on_wake, j)
        self.env.process(self._schedule_proc())
        self.env.run(until=self.horizon)
        for j in range(self.J):  # account for the time since each job's last event
            self._advance(j, self.horizon)


def _change_steps(plan: Plan, variant: int) -> list[int]:
    """Steps at which the capacity schedule or the variant's lease fractions change."""
    sched = np.concatenate([plan.online_normal, plan.online_lemon,
                            plan.lease_frac[variant]], axis=0)
    if sched.shape[1] <= 1:
        return [0]
    diff = np.flatnonzero((sched[:, 1:] != sched[:, :-1]).any(axis=0)) + 1
    return [0, *diff.tolist()]


def simulate_des(plan: Plan, replicas: int, variant: int = 0,
                 seed_offset: int = 0) -> dict[str, np.ndarray]:
    """Simulate ``replicas`` independent histories of one variant, event by event.

    Parameters
    ----------
    plan : Plan
        Compiled configuration (:func:`simgpu.engine.plan.compile_plan`); only its
        resolved inputs are used. Its ``dt`` only sets when schedules and lease
        fractions change (they are piecewise constant on the step grid).
    replicas : int
        Number of histories.
    variant : int
        Index into ``plan.variants`` (0 = baseline).
    seed_offset : int
        Id of the first replica: replica ``r`` uses the stream
        ``Philox(SeedSequence([plan.seed, seed_offset + r, tag]))``.

    Returns
    -------
    dict of str to ndarray
        ``start_h``, ``finish_h`` (hours since ``sim.start``, ``inf`` = never),
        ``interruptions`` (failure hits), ``lost_flops`` (work rolled back) and
        ``preemptions`` (stops or shrinks forced by capacity) and ``ettr`` (compute
        GPU-hours whose work was kept over GPU-hours held; nan if never held), each shaped
        ``(replicas, J)`` in plan job order; ``pool_failures`` and ``pool_outages``,
        shaped ``(replicas, P)``.

    Raises
    ------
    NotImplementedError
        When landlord-first priority is active in the variant.
    ValueError
        For a bad variant index or replica count.
    """
    if not 0 <= variant < len(plan.variants):
        raise ValueError(f"variant {variant} not in [0, {len(plan.variants)})")
    if replicas < 0:
        raise ValueError("replicas must be >= 0")
    if plan.lease_lf.shape[1] and plan.lease_lf[variant].any():
        raise NotImplementedError(
            f"landlord-first priority (variant {plan.variants[variant].name!r}) is not "
            "modelled by the reference DES")
    J, P = len(plan.job_names), len(plan.pool_names)
    out = {
        "start_h": np.full((replicas, J), _INF),
        "finish_h": np.full((replicas, J), _INF),
        "interruptions": np.zeros((replicas, J), np.int64),
        "lost_flops": np.zeros((replicas, J)),
        "preemptions": np.zeros((replicas, J), np.int64),
        "pool_failures": np.zeros((replicas, P), np.int64),
        "pool_outages": np.zeros((replicas, P), np.int64),
        "ettr": np.full((replicas, J), np.nan),
    }
    steps = _change_steps(plan, variant)
    for r in range(replicas):
        ss = np.random.SeedSequence([int(plan.seed), int(seed_offset) + r, _STREAM_TAG])
        rng = np.random.Generator(np.random.Philox(ss))
        rep = _Replica(plan, variant, rng, steps)
        rep.run()
        out["start_h"][r] = rep.start_h
        out["finish_h"][r] = rep.fin_h
        out["interruptions"][r] = rep.n_int
        out["lost_flops"][r] = rep.lost
        out["preemptions"][r] = rep.n_pre
        out["pool_failures"][r] = rep.failures
        out["pool_outages"][r] = rep.outages
        held = np.asarray(rep.held_gh)
        out["ettr"][r] = np.where(held > 0, np.asarray(rep.useful_gh) / np.where(
            held > 0, held, 1.0), np.nan)
    return out
