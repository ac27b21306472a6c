"""The physical history of one replica: nodes, failures, repairs and outages.

Nothing here depends on jobs, contracts or the variant: one history is drawn per replica
and replayed under every variant (:mod:`simgpu.reference.des`), so the variants of a
replica see the same failures (common random numbers), as the stepped engine's do.

The process
-----------
Every node of every pool is an entity with an id (never reused), a class (normal or lemon)
and a state (healthy, down, absent). A healthy node fails after an Exponential time of its
class's rate, its own clock; its cause is drawn by the pool's shares, and it is down for a
repair time drawn from that cause's distribution, then healthy again. Healthy nodes of a
class number ``max(online - down, 0)`` with ``online`` the pool's available nodes of that
class (:meth:`PoolSpec.classes <simgpu.reference.world.PoolSpec.classes>`: the schedule,
less maintenance, lemons removed over time): nodes are added (healthy) when it grows,
the highest-id healthy nodes of the class retire when it shrinks, and a repaired node
that it has no room for retires. A removed lemon is therefore a healthy lemon retired and
a new sound node added at that instant; the new node's age starts then (the engine gives
a replacement its tranche's age: a difference only with infant mortality too).

Each kind of correlated outage is a Poisson process of rate ``outages_per_domain_year``
times the number of domains online (``ceil(online / nodes)``; one for a facility),
piecewise constant between schedule changes. An outage takes down a block of ``min(nodes,
healthy)`` healthy nodes consecutive in id order from a uniform start (wrapping), or every
healthy node for a facility, for one drawn duration.

The history is a *tape*: time-ordered records ``(hour, kind, pool, node ids, cause)`` of
kinds :data:`DOWN` (a node failure or an outage took these healthy nodes down),
:data:`UP` (these nodes became healthy: added, or repaired), :data:`GONE` (these healthy
nodes retired) and :data:`SCHEDULE` (the pool's online count changed).

Extending it: a node-age or cluster-age hazard replaces the exponential clock in
:meth:`_History._arm` (inverse cumulative hazard, or thinning); planned maintenance is one
more record kind (nodes drained at a known time, which the replay can treat as a graceful
capacity change rather than a hit).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from simgpu.reference.world import World

__all__ = ["DOWN", "GONE", "SCHEDULE", "UP", "Tape", "physical_history"]

DOWN, UP, GONE, SCHEDULE = 0, 1, 2, 3
_ABSENT, _HEALTHY, _DOWN = 0, 1, 2
_FAIL, _REPAIR, _OUTAGE, _SCHED = 0, 1, 2, 3
_BUF = 4096


class _Draws:
    """Buffered scalar draws from one ``numpy.random.Generator``."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._exp: list[float] = []
        self._nrm: list[float] = []
        self._uni: list[float] = []

    def exp(self) -> float:
        if not self._exp:
            self._exp = self.rng.standard_exponential(_BUF).tolist()
        return self._exp.pop()

    def normal(self) -> float:
        if not self._nrm:
            self._nrm = self.rng.standard_normal(_BUF).tolist()
        return self._nrm.pop()

    def uniform(self) -> float:
        if not self._uni:
            self._uni = self.rng.random(_BUF).tolist()
        return self._uni.pop()


@dataclass
class Tape:
    """One replica's physical history (see the module docstring) and its counts."""

    time: list[float] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)
    ids: list[tuple[int, ...]] = field(default_factory=list)
    cause: list[int] = field(default_factory=list)  # DOWN: index into World.cause_names
    failures: list[int] = field(default_factory=list)  # node failures per pool
    failures_by_cause: list[list[int]] = field(default_factory=list)  # (pool, node cause)
    outages: list[int] = field(default_factory=list)  # outages per pool

    def put(self, t: float, kind: int, pool: int, ids: tuple[int, ...], cause: int = -1
            ) -> None:
        self.time.append(t)
        self.kind.append(kind)
        self.pool.append(pool)
        self.ids.append(ids)
        self.cause.append(cause)


class _Pool:
    def __init__(self):
        self.state = bytearray()
        self.cls = bytearray()
        self.gen: list[int] = []
        self.born: list[float] = []  # hour at which each node was of age 0
        self.healthy = [0, 0]
        self.down = [0, 0]
        self.on = [0, 0]


class _History:
    def __init__(self, world: World, rng: np.random.Generator):
        self.w = world
        self.draw = _Draws(rng)
        self.heap: list[tuple[float, int, int, object]] = []
        self.seq = 0
        self.pools = [_Pool() for _ in world.pools]
        P = len(world.pools)
        self.tape = Tape(failures=[0] * P, outages=[0] * P,
                         failures_by_cause=[[0] * world.n_node_causes for _ in range(P)])

    def _push(self, t: float, kind: int, data: object) -> None:
        if t < self.w.horizon_h:
            self.seq += 1
            heapq.heappush(self.heap, (t, kind, self.seq, data))

    # ------------------------------------------------------------------ nodes
    def _arm(self, p: int, i: int, now: float) -> None:
        """Start node ``i``'s failure clock (it just became healthy). With infant
        mortality the hazard falls with the node's age: thinning, with the hazard at the
        candidate's start as the bound (Lewis and Shedler 1979)."""
        pool = self.pools[p]
        spec = self.w.pools[p]
        r = spec.rate[pool.cls[i]]
        if r <= 0.0:
            return
        if spec.infant_factor <= 1.0:
            self._push(now + self.draw.exp() / r, _FAIL, (p, i, pool.gen[i]))
            return
        t, born = now, pool.born[i]
        while t < self.w.horizon_h:
            m0 = spec.age_multiplier(t - born)
            t += self.draw.exp() / (r * m0)
            if self.draw.uniform() * m0 <= spec.age_multiplier(t - born):
                self._push(t, _FAIL, (p, i, pool.gen[i]))
                return

    def _add(self, p: int, c: int, now: float) -> int:
        pool = self.pools[p]
        i = len(pool.state)
        pool.state.append(_HEALTHY)
        pool.cls.append(c)
        pool.gen.append(0)
        spec = self.w.pools[p]
        pool.born.append(now - spec.burn_in_h if now > 0.0 else -spec.age_at_start_h)
        pool.healthy[c] += 1
        self._arm(p, i, now)
        return i

    def _fit(self, p: int, now: float) -> None:
        """Bring the healthy nodes of each class to ``max(online - down, 0)``."""
        pool = self.pools[p]
        added, gone = [], []
        for c in (0, 1):
            want = max(pool.on[c] - pool.down[c], 0)
            while pool.healthy[c] < want:
                added.append(self._add(p, c, now))
            extra = pool.healthy[c] - want
            if extra > 0:
                for i in range(len(pool.state) - 1, -1, -1):
                    if pool.state[i] == _HEALTHY and pool.cls[i] == c:
                        pool.state[i] = _ABSENT
                        pool.gen[i] += 1
                        pool.healthy[c] -= 1
                        gone.append(i)
                        extra -= 1
                        if extra == 0:
                            break
        if gone:
            self.tape.put(now, GONE, p, tuple(sorted(gone)))
        if added:
            self.tape.put(now, UP, p, tuple(added))

    def _take_down(self, p: int, i: int) -> None:
        pool = self.pools[p]
        c = pool.cls[i]
        pool.state[i] = _DOWN
        pool.gen[i] += 1
        pool.healthy[c] -= 1
        pool.down[c] += 1

    # ------------------------------------------------------------------ events
    def _on_fail(self, now: float, data) -> None:
        p, i, g = data
        pool = self.pools[p]
        if pool.gen[i] != g or pool.state[i] != _HEALTHY:
            return  # a stale clock
        spec = self.w.pools[p]
        self._take_down(p, i)
        u = self.draw.uniform()
        cause, rep = spec.causes[-1][0], spec.causes[-1][2]
        for ci, cum, d in spec.causes:
            if u <= cum:
                cause, rep = ci, d
                break
        self.tape.failures[p] += 1
        self.tape.failures_by_cause[p][cause] += 1
        self.tape.put(now, DOWN, p, (i,), cause)
        self._push(now + rep.sample(self.draw.exp, self.draw.normal), _REPAIR, (p, (i,)))

    def _on_repair(self, now: float, data) -> None:
        p, ids = data
        pool = self.pools[p]
        back = []
        for i in ids:
            c = pool.cls[i]
            pool.down[c] -= 1
            if pool.healthy[c] < max(pool.on[c] - pool.down[c], 0):
                pool.state[i] = _HEALTHY
                pool.gen[i] += 1
                pool.healthy[c] += 1
                self._arm(p, i, now)
                back.append(i)
            else:  # the schedule has no room for it any more
                pool.state[i] = _ABSENT
                pool.gen[i] += 1
        if back:
            self.tape.put(now, UP, p, tuple(back))
        self._fit(p, now)

    def _on_outage(self, now: float, d: tuple[int, int]) -> None:
        p, k = d
        dom = self.w.pools[p].domains[k]
        pool = self.pools[p]
        ids = np.flatnonzero(np.frombuffer(bytes(pool.state), np.uint8) == _HEALTHY)
        H = ids.size
        if H == 0:
            return
        self.tape.outages[p] += 1
        if dom.nodes == 0 or dom.nodes >= H:
            block = ids.tolist()
        else:
            x = min(int(self.draw.uniform() * H), H - 1)
            block = np.take(ids, np.arange(x, x + dom.nodes), mode="wrap").tolist()
        for i in block:
            self._take_down(p, i)
        self.tape.put(now, DOWN, p, tuple(block), dom.cause)
        dur = dom.duration.sample(self.draw.exp, self.draw.normal)
        self._push(now + dur, _REPAIR, (p, tuple(block)))

    def _on_schedule(self, now: float, p: int) -> None:
        spec, pool = self.w.pools[p], self.pools[p]
        pool.on = list(spec.classes(now))
        self.tape.put(now, SCHEDULE, p, ())
        self._fit(p, now)

    # ------------------------------------------------------------------ outages
    def _outage_times(self, p: int, k: int) -> list[float]:
        """Times of the outages of domain kind ``k`` of pool ``p``: a Poisson process of
        rate ``rate x domains online``, piecewise constant between schedule changes."""
        spec = self.w.pools[p]
        dom = spec.domains[k]
        H = self.w.horizon_h
        edges = [max(t, 0.0) for t in spec.change_h] + [H]
        out: list[float] = []
        need = self.draw.exp()  # cumulative hazard to the next outage
        for i, n in enumerate(spec.online_at):
            t0, t1 = edges[i], min(edges[i + 1], H)
            if t1 <= t0:
                continue
            units = 1 if dom.nodes == 0 else -(-n // dom.nodes)
            r = dom.rate_h * units
            while r > 0.0 and t0 + need / r < t1:
                t0 += need / r
                out.append(t0)
                need = self.draw.exp()
            if r > 0.0:
                need -= (t1 - t0) * r
        return out

    # ------------------------------------------------------------------ run
    def run(self) -> Tape:
        w = self.w
        for p, spec in enumerate(w.pools):  # initial nodes, lemons at random ids
            pool = self.pools[p]
            pool.on = list(spec.classes(0.0))
            n, m = pool.on
            classes = self.draw.rng.permutation(np.repeat([0, 1], [n, m])).tolist()
            self.tape.put(0.0, SCHEDULE, p, ())
            self.tape.put(0.0, UP, p, tuple(self._add(p, c, 0.0) for c in classes))
        for p, spec in enumerate(w.pools):
            for t in spec.change_h[1:]:
                if 0.0 < t:
                    self._push(t, _SCHED, p)
            for k in range(len(spec.domains)):
                for t in self._outage_times(p, k):
                    self._push(t, _OUTAGE, (p, k))
        handlers = {_FAIL: self._on_fail, _REPAIR: self._on_repair, _OUTAGE: self._on_outage,
                    _SCHED: self._on_schedule}
        heap = self.heap
        while heap:
            t, kind, _, data = heapq.heappop(heap)
            handlers[kind](t, data)
        return self.tape


def physical_history(world: World, rng: np.random.Generator) -> Tape:
    """Draw one replica's physical history over the horizon (see the module docstring)."""
    return _History(world, rng).run()

