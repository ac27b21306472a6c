"""The kernel engine: the fused step loop of ``engine.cu`` on a GPU (CuPy) or on the CPU.

:func:`simulate` has the signature and the results of
:func:`simgpu.engine.numpy_engine.simulate` (the specification). It packs the plan into
two blocks (int32 ``I``, float64 ``F``), allocates one state record per replica (``SI``
int32, ``SC`` int64 counters, ``SF`` float64), the repair ring and the workspaces on the
launcher's device, launches ``sg_engine_run`` a few times over the steps (about twenty
launches, for progress reports; no synchronisation inside the step loop) and brings the
records back through one :meth:`to_numpy` boundary. The ring and the workspaces never
leave the device.

The launcher is a :class:`~simgpu.engine.launch.CupyLauncher` (one warp per replica on a
GPU) or a :class:`~simgpu.engine.launch.HostLauncher` (the same source compiled for the
CPU, replicas spread over threads): ``sim.backend=cupy`` and ``sim.backend=cpu``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simgpu.engine import kernels
from simgpu.engine.numpy_engine import RawResults
from simgpu.engine.plan import Plan

log = logging.getLogger(__name__)

#: The fields of ``struct SgArgs`` in engine.cu, in order, with their NumPy types (a test
#: checks the two against each other and the structure's size on the host build).
ARG_POINTERS = ("I", "F", "SI", "SC", "SF", "RING", "WS", "DAILY", "FLAG")
ARG_WIDE = (("seed", "u8"), ("dt", "f8"))
ARG_INTS = (
    "R", "V", "J", "P", "A", "L", "D", "NC", "NCT", "T", "G", "K", "NRANK0", "NDAYS",
    "DAILY_ON", "CAP", "REPOFF",
    "t0", "t1", "r0", "r1", "STAGE", "WS_SHARED", "WS_BYTES", "NSI", "NSC", "NSF",
    "i_online_n", "i_online_l", "i_dom_units", "i_pool_owner", "i_pool_gpn", "i_repair_kind",
    "i_dom_pool", "i_dom_cause", "i_dom_nodes", "i_dom_kind", "i_lease_pool", "i_lease_tenant",
    "i_lease_owner", "i_lease_contract", "i_lease_replaced", "i_lease_lf", "i_job_party",
    "i_job_pref", "i_job_tgt", "i_job_min", "i_dep_start", "i_dep_list", "i_job_auto",
    "i_step_day", "i_job_causes", "i_job_migrate",
    "f_fail_n", "f_fail_l", "f_cause_cum", "f_repair_p1", "f_repair_p2", "f_repair_max",
    "f_dom_lam", "f_dom_rate", "f_dom_p1", "f_dom_p2", "f_dom_max", "f_lease_frac", "f_peak",
    "f_job_flops", "f_job_mfu", "f_job_earliest", "f_job_write", "f_job_restart",
    "f_node_rate", "f_day_w", "f_job_s16k", "f_job_rexp", "f_cause_detect", "f_fabric_rate",
    "f_planned_rate", "f_fail_mult",
    "r_down", "r_poolj", "r_nodes", "r_hitlast",
    "r_fails", "r_failscause", "r_outages", "r_nint", "r_intcause", "r_npre", "r_nmig",
    "r_onlinegh", "r_healthygh", "r_rleft", "r_total", "r_unc", "r_since", "r_start", "r_fin",
    "r_tau", "r_lostf", "r_lostgh", "r_usefulgh", "r_flopspool", "r_allocpool", "r_capgh",
    "r_delivgh", "r_rst", "r_mfum", "r_waitgh", "r_waitj", "r_restartgh",
    "w_sf", "w_sc", "w_si", "w_phd", "w_ph", "w_lane", "w_ev", "w_order", "w_offs",
)
ARGS_DTYPE = np.dtype({"names": [*ARG_POINTERS, *(n for n, _ in ARG_WIDE), *ARG_INTS],
                       "formats": (["u8"] * len(ARG_POINTERS) + [f for _, f in ARG_WIDE]
                                   + ["i4"] * len(ARG_INTS))}, align=True)

#: Bytes of one event in the workspace (``struct SgEv``).
EVENT_BYTES = 24
#: Replicas per GPU block (the kernel's SG_ENGINE_THREADS / 32).
WARPS_PER_BLOCK = 4
#: Launches per run: progress is reported after each.
LAUNCHES = 20
#: Largest node count of a pool that the kernel engine holds (int32 arithmetic inside).
MAX_NODES = 2**30
_INT32_MAX = 2**31 - 1

#: The record's fields per replica: (name, block, elements as a function of the sizes,
#: per variant). Blocks: SI int32, SC int64, SF float64.
_RECORD = (
    ("down", "SI", lambda s: 2 * s["P"], False),
    ("poolj", "SI", lambda s: s["J"], True),
    ("nodes", "SI", lambda s: s["J"], True),
    ("hitlast", "SI", lambda s: s["J"], True),
    ("fails", "SC", lambda s: s["P"], False),
    ("failscause", "SC", lambda s: s["P"] * s["NC"], False),
    ("outages", "SC", lambda s: s["P"], False),
    ("nint", "SC", lambda s: s["J"], True),
    ("intcause", "SC", lambda s: s["J"] * s["NCT"], True),
    ("npre", "SC", lambda s: s["J"], True),
    ("nmig", "SC", lambda s: s["J"], True),
    ("onlinegh", "SF", lambda s: s["P"], False),
    ("healthygh", "SF", lambda s: s["P"], False),
    ("rleft", "SF", lambda s: s["J"], True),
    ("total", "SF", lambda s: s["J"], True),
    ("unc", "SF", lambda s: s["J"], True),
    ("since", "SF", lambda s: s["J"], True),
    ("start", "SF", lambda s: s["J"], True),
    ("fin", "SF", lambda s: s["J"], True),
    ("tau", "SF", lambda s: s["J"], True),
    ("lostf", "SF", lambda s: s["J"], True),
    ("lostgh", "SF", lambda s: s["J"] * s["P"], True),
    ("usefulgh", "SF", lambda s: s["J"] * s["P"], True),
    ("flopspool", "SF", lambda s: s["J"] * s["P"], True),
    ("allocpool", "SF", lambda s: s["J"] * s["P"], True),
    ("capgh", "SF", lambda s: s["A"] * s["P"], True),
    ("delivgh", "SF", lambda s: s["L"], True),
    ("rst", "SF", lambda s: s["J"], True),
    ("mfum", "SF", lambda s: s["J"], False),  # the replica's MFU multipliers (Plan.mfu_multipliers)
    ("waitgh", "SF", lambda s: s["A"] * s["P"], True),
    ("waitj", "SI", lambda s: s["J"], True),  # runnable but placed nowhere, this step
    ("restartgh", "SF", lambda s: s["J"] * s["P"], True),
)
_BLOCK_DTYPE = {"SI": np.int32, "SC": np.int64, "SF": np.float64}


def source_args() -> tuple[str, ...]:
    """The field names of ``struct SgArgs`` as written in engine.cu."""
    src = kernels.source_text("engine/engine.cu")
    body = src[src.index("struct SgArgs {") + len("struct SgArgs {"):]
    body = body[:body.index("};")]
    names = []
    for decl in re.sub(r"//[^\n]*", "", body).split(";"):
        decl = decl.strip()
        if not decl:
            continue
        first, *others = decl.split(",")
        names.append(re.findall(r"\w+", first)[-1])  # the type's words come first
        names += [n.strip().lstrip("*") for n in others]
    return tuple(names)


def sizes(plan: Plan, n_replicas: int, daily: bool) -> dict[str, int]:
    """The batch's dimensions."""
    J = len(plan.job_names)
    return dict(
        R=n_replicas, V=len(plan.variants), J=J, P=len(plan.pool_names),
        A=len(plan.party_names), L=len(plan.lease_names), D=len(plan.dom_pool),
        NC=plan.n_node_causes, NCT=len(plan.cause_names), T=plan.n_steps, G=plan.ring,
        K=plan.job_pref.shape[1], NDAYS=plan.n_days if daily else 0,
        NRANK0=int((plan.party_rank[plan.job_party] == 0).sum()) if J else 0,
        DAILY_ON=int(daily))


def record_layout(s: dict[str, int]) -> tuple[dict[str, tuple[str, int, int, bool]],
                                               dict[str, int]]:
    """Each record field's ``(block, offset, elements, per_variant)`` (offsets and elements
    in words of its block, per variant fields counting ``elements * V`` words), and each
    block's words per replica."""
    out, used = {}, {"SI": 0, "SC": 0, "SF": 0}
    for name, block, n_of, per_v in _RECORD:
        n = n_of(s)
        out[name] = (block, used[block], n, per_v)
        used[block] += n * (s["V"] if per_v else 1)
    return out, {k: max(v, 1) for k, v in used.items()}


def _ph_ints(P: int, D: int) -> int:
    """Ints of the physical step's scratch (engine.cu SG_PH_INTS)."""
    return 12 * P + 4 * D + 3


def _lane_ints(P: int, A: int, L: int, J: int) -> int:
    """Ints of one variant's step scratch (engine.cu SG_LN_INTS)."""
    del J
    return 3 * P + 2 * A * P + 3 * L


def _align(n: int, to: int = 16) -> int:
    return -(-n // to) * to


def workspace_layout(s: dict[str, int], words: dict[str, int], lanes: int, stage: bool,
                     cap: int) -> dict[str, int]:
    """Byte offsets of a replica's workspace regions (``w_*``) and its size (``bytes``).

    ``lanes`` is 32 on a GPU (one scratch column per lane), 1 on the host; ``stage`` puts
    a copy of the record in front; ``cap`` is the number of events it holds per step.
    """
    off = 0
    out = {}
    for name, nbytes in (
            ("w_sf", 8 * words["SF"] if stage else 0),
            ("w_sc", 8 * words["SC"] if stage else 0),
            ("w_si", 4 * words["SI"] if stage else 0),
            ("w_phd", 8 * 2 * (2 * s["P"] + s["D"])),
            ("w_ph", 4 * _ph_ints(s["P"], s["D"])),
            ("w_lane", 4 * lanes * _lane_ints(s["P"], s["A"], s["L"], s["J"])),
            ("w_ev", EVENT_BYTES * cap),
            ("w_order", 4 * cap),
            ("w_offs", 4 * s["J"] * s["V"])):
        out[name] = off
        off = _align(off + nbytes)
    out["bytes"] = max(off, 16)
    return out


def event_capacity(plan: Plan) -> int:
    """Events a replica's workspace holds per step: the largest expected count of a step,
    plus ten standard deviations and a margin (a step with more makes the kernel stop and
    :func:`simulate` run the batch again with room for it)."""
    dt = plan.dt
    lam = ((plan.fail_rate_normal[:, None] * plan.online_normal
            + plan.fail_rate_lemon[:, None] * plan.online_lemon) * plan.fail_mult * dt
           ).sum(axis=0)
    if len(plan.dom_pool):
        lam = lam + (plan.dom_rate[:, None] * plan.dom_units * dt).sum(axis=0)
    top = float(lam.max(initial=0.0))
    return int(math.ceil(top + 10.0 * math.sqrt(top) + 32.0))


@dataclass
class PlanBlocks:
    """The plan's arrays as the kernel reads them: ``ints`` (the kernel's ``I``, int32),
    ``floats`` (``F``, float64) and the
    offset of each array (the ``i_*`` and ``f_*`` fields of the arguments)."""

    ints: np.ndarray
    floats: np.ndarray
    offsets: dict[str, int]


def unsupported(plan: Plan) -> str | None:
    """Why the kernel engine cannot hold ``plan`` (its integers are 32-bit), or None."""
    online = plan.online_normal + plan.online_lemon
    if online.size and int(online.max()) > MAX_NODES:
        return (f"a pool has {int(online.max()):,} nodes online; the kernel engine holds "
                f"at most {MAX_NODES:,} per pool (use sim.backend=numpy)")
    V, L, T = len(plan.variants), len(plan.lease_names), plan.n_steps
    big = max(V * L * T, len(plan.pool_names) * T, len(plan.dom_pool) * T)
    if big > _INT32_MAX // 2 or T >= _INT32_MAX // 2:
        return (f"the plan's arrays have {big:,} entries; the kernel engine indexes at most "
                f"{_INT32_MAX // 2:,} (use sim.backend=numpy, or fewer steps)")
    return None


def plan_blocks(plan: Plan) -> PlanBlocks:
    """Pack the plan (and what the kernel derives from it once per run) into two blocks.

    Derived here, with the NumPy engine's expressions element for element: the lease's
    contracted nodes per variant and step, the outage means per domain and step, and the
    dependency lists.
    """
    J = len(plan.job_names)
    online = plan.online_normal + plan.online_lemon  # (P, T)
    # numpy_engine step 2: where(isnan(share), min(gpus // gpn, on_p), floor(share on_p + 1e-9))
    gpn_l = plan.pool_gpn[plan.lease_pool]  # (L,)
    on_l = online[plan.lease_pool]  # (L, T)
    share = plan.lease_share[:, :, None]  # (V, L, 1)
    by_share = np.floor(np.where(np.isnan(share), 0.0, share) * on_l[None] + 1e-9)
    by_gpus = np.minimum((plan.lease_gpus // np.maximum(gpn_l, 1)[None, :])[:, :, None],
                         on_l[None])
    contract = np.where(np.isnan(share), by_gpus, by_share.astype(np.int64))
    # numpy_engine step 4: the outage means plan.dom_rate * dom_units[:, t] * dt
    dom_lam = plan.dom_rate[:, None] * plan.dom_units * plan.dt
    dep_lists = [np.flatnonzero(plan.job_deps[j]) for j in range(J)]
    dep_start = np.concatenate([[0], np.cumsum([len(d) for d in dep_lists])]).astype(np.int64)
    dep_list = np.concatenate(dep_lists + [np.zeros(0, np.int64)]).astype(np.int64)
    step_day, day_w = plan.day_steps()
    ints = dict(
        online_n=plan.online_normal, online_l=plan.online_lemon, dom_units=plan.dom_units,
        pool_owner=plan.pool_owner, pool_gpn=plan.pool_gpn, repair_kind=plan.repair_kind,
        dom_pool=plan.dom_pool, dom_cause=plan.dom_cause, dom_nodes=plan.dom_nodes,
        dom_kind=plan.dom_kind, lease_pool=plan.lease_pool, lease_tenant=plan.lease_tenant,
        lease_owner=plan.lease_owner, lease_contract=contract,
        lease_replaced=plan.lease_replaced, lease_lf=plan.lease_lf, job_party=plan.job_party,
        job_pref=plan.job_pref, job_tgt=plan.job_tgt_nodes, job_min=plan.job_min_nodes,
        dep_start=dep_start, dep_list=dep_list, job_auto=np.isnan(plan.job_tau),
        step_day=step_day, job_causes=np.array([plan.cause_fabric, plan.cause_planned]),
        job_migrate=plan.job_migrate)
    floats = dict(
        # the rates of each step: the mature rates x the multiplier of the nodes' ages
        fail_n=plan.fail_rate_normal[:, None] * plan.fail_mult,
        fail_l=plan.fail_rate_lemon[:, None] * plan.fail_mult, cause_cum=plan.cause_cum,
        repair_p1=plan.repair_p1, repair_p2=plan.repair_p2, repair_max=plan.repair_max,
        dom_lam=dom_lam, dom_rate=plan.dom_rate, dom_p1=plan.dom_p1, dom_p2=plan.dom_p2,
        dom_max=plan.dom_max, lease_frac=plan.lease_frac, peak=plan.pool_peak_flop_h,
        job_flops=plan.job_flops, job_mfu=plan.job_mfu, job_earliest=plan.job_earliest_h,
        job_write=plan.job_write, job_restart=plan.job_restart, node_rate=plan.pool_node_rate,
        day_w=day_w, job_s16k=plan.job_restart_s16k, job_rexp=plan.job_restart_exp,
        cause_detect=plan.hit_detect_hours(), fabric_rate=plan.fabric_rate,
        planned_rate=plan.planned_rate, fail_mult=plan.fail_mult)
    offsets: dict[str, int] = {}
    ichunks, off = [], 0
    for k, arr in ints.items():
        a = np.ascontiguousarray(arr).ravel().astype(np.int64)
        if a.size and (a.max() > _INT32_MAX or a.min() < -_INT32_MAX):
            raise ValueError(f"plan array {k} does not fit the kernel engine's int32")
        offsets[f"i_{k}"] = off
        ichunks.append(a.astype(np.int32))
        off += a.size
    fchunks, foff = [], 0
    for k, arr in floats.items():
        a = np.ascontiguousarray(arr, dtype=np.float64).ravel()
        offsets[f"f_{k}"] = foff
        fchunks.append(a)
        foff += a.size
    return PlanBlocks(np.concatenate(ichunks + [np.zeros(1, np.int32)]),
                      np.concatenate(fchunks + [np.zeros(1)]), offsets)


def _initial_record(plan: Plan, s: dict[str, int], layout, words) -> dict[str, np.ndarray]:
    """One replica's record at the start of a run (every replica starts the same)."""
    rec = {b: np.zeros(words[b], _BLOCK_DTYPE[b]) for b in words}
    V = s["V"]

    def put(name, values):
        block, off, n, per_v = layout[name]
        w = n * (V if per_v else 1)
        vals = np.broadcast_to(np.asarray(values, _BLOCK_DTYPE[block])[:, None], (n, V))
        rec[block][off:off + w] = vals.ravel()

    put("poolj", np.full(s["J"], -1))
    put("start", np.full(s["J"], np.inf))
    put("fin", np.full(s["J"], np.inf))
    put("tau", plan.job_tau)  # nan until an auto job is placed
    return rec


def device_bytes_per_replica(plan: Plan, daily: bool, gpu: bool = True) -> int:
    """Memory per replica of the kernel engine on its device (GPU or host), bytes: the
    record, the repair ring, the workspace (in global memory on the host, and on a GPU
    where it does not fit shared memory) and the per-day series."""
    s = sizes(plan, 1, daily)
    _, words = record_layout(s)
    ws = workspace_layout(s, words, 32 if gpu else 1, False, event_capacity(plan))
    n = 4 * words["SI"] + 8 * words["SC"] + 8 * words["SF"] + 4 * 2 * s["P"] * s["G"] + 4
    n += ws["bytes"]
    if daily:
        n += 4 * plan.n_days * s["A"] ** 2 * s["V"]
    return n


def host_bytes_per_replica(plan: Plan, daily: bool) -> int:
    """Host memory per replica of a chunk beyond its results: the records copied back and
    the results cut from them (on the CPU engine also the device memory above)."""
    s = sizes(plan, 1, daily)
    _, words = record_layout(s)
    n = 2 * (4 * words["SI"] + 8 * words["SC"] + 8 * words["SF"])
    if daily:
        n += 2 * 4 * plan.n_days * s["A"] ** 2 * s["V"]
    return n


def gpu_reserved_bytes(device_id: int = 0) -> int:
    """Device memory the driver reserves for the step loop's local memory (its bytes per
    thread times the threads the device holds; 0 while the kernel uses no stack)."""
    from simgpu.backend import cupy_on
    from simgpu.engine.launch import CupyLauncher

    return CupyLauncher(cupy_on(device_id)).local_memory_bytes()


def gpu_defines(plan: Plan) -> tuple[str, ...]:
    """Extra ``-D`` flags of the GPU build for ``plan`` (none: every size is a launch
    argument, so one build serves every plan)."""
    del plan
    return ()


def simulate(plan: Plan, replica_offset: int, n_replicas: int, daily: bool = True,
             progress: Callable[[int, int], None] | None = None, launcher=None,
             event_capacity_: int | None = None) -> RawResults:
    """Run ``n_replicas`` replicas of every variant with the kernel engine.

    Parameters are those of :func:`simgpu.engine.numpy_engine.simulate`; ``launcher`` is a
    :class:`~simgpu.engine.launch.CupyLauncher` (GPU) or
    :class:`~simgpu.engine.launch.HostLauncher` (the CPU; the default).
    ``event_capacity_`` overrides the events per step that a workspace holds (tests).

    Raises
    ------
    ValueError
        The plan does not fit the kernel engine's 32-bit integers (:func:`unsupported`).
    """
    why = unsupported(plan)
    if why:
        raise ValueError(why)
    if launcher is None:
        from simgpu.engine.launch import HostLauncher

        launcher = HostLauncher()
    cap = event_capacity_ if event_capacity_ is not None else event_capacity(plan)
    blocks = plan_blocks(plan)
    while True:
        batch = Batch(plan, replica_offset, n_replicas, daily, launcher, blocks, cap)
        need = batch.run(progress)
        if not need:
            return batch.results()
        log.info("a step had %d failure events, more than the workspace's %d: running the "
                 "batch again with room for them", need, cap)
        cap = max(2 * cap, need + need // 4 + 16)


class Batch:
    """One batch of replicas on a launcher's device: the plan's blocks, the records, the
    ring and the workspaces, allocated and set to the start of a run.

    :meth:`run` launches the step loop over every step (the kernel-only part that the
    benchmarks time), :meth:`results` brings the records back and cuts them into
    :class:`~simgpu.engine.numpy_engine.RawResults`; :meth:`reset` sets the state back to
    the start (for repeated timings).
    """

    def __init__(self, plan: Plan, replica_offset: int, n_replicas: int, daily: bool,
                 launcher, blocks: PlanBlocks | None = None, cap: int | None = None) -> None:
        self.plan, self.launcher, self.daily = plan, launcher, daily
        xp = launcher.xp
        blocks = blocks if blocks is not None else plan_blocks(plan)
        self.cap = cap if cap is not None else event_capacity(plan)
        s = self.s = sizes(plan, n_replicas, daily)
        R, P, A, V = s["R"], s["P"], s["A"], s["V"]
        layout, words = self.layout, self.words = record_layout(s)
        ws_global = workspace_layout(s, words, launcher.lanes, False, self.cap)
        ws_staged = workspace_layout(s, words, launcher.lanes, True, self.cap)
        stage = launcher.stages(ws_staged["bytes"])
        ws = self.ws = ws_staged if stage else ws_global
        self.shared = bool(stage and launcher.lanes > 1)
        self.rec0 = _initial_record(plan, s, layout, words)
        self.mult = plan.mfu_multipliers(replica_offset + np.arange(R))  # (R, J)
        self.d_I, self.d_F = xp.asarray(blocks.ints), xp.asarray(blocks.floats)
        self.d_rec = {b: xp.empty((R, words[b]), _BLOCK_DTYPE[b]) for b in ("SI", "SC", "SF")}
        self.d_ring = xp.zeros((R, 2 * P * s["G"]), np.int32)  # device-only
        self.d_ws = xp.zeros((1, 16) if self.shared else (R, ws["bytes"]), np.uint8)
        self.n_daily = s["NDAYS"] * A * A * V
        self.d_daily = xp.zeros((R, max(self.n_daily, 1)), np.float32)
        self.d_flag = xp.zeros(R, np.int32)
        self.reset()

        args = self.args = np.zeros(1, ARGS_DTYPE)
        for name, arr in (("I", self.d_I), ("F", self.d_F), ("SI", self.d_rec["SI"]),
                          ("SC", self.d_rec["SC"]), ("SF", self.d_rec["SF"]),
                          ("RING", self.d_ring), ("WS", self.d_ws), ("DAILY", self.d_daily),
                          ("FLAG", self.d_flag)):
            args[name] = launcher.pointer(arr)
        args["seed"] = np.uint64(plan.seed)
        args["dt"] = plan.dt
        for k in ("R", "V", "J", "P", "A", "L", "D", "NC", "NCT", "T", "G", "K", "NRANK0",
                  "NDAYS", "DAILY_ON"):
            args[k] = s[k]
        args["CAP"] = self.cap
        args["REPOFF"] = np.int32(np.uint32(replica_offset).view(np.int32))
        args["r0"], args["r1"] = 0, R
        args["STAGE"], args["WS_SHARED"] = int(stage), int(self.shared)
        args["WS_BYTES"] = ws["bytes"]
        args["NSI"], args["NSC"], args["NSF"] = words["SI"], words["SC"], words["SF"]
        for k, v in blocks.offsets.items():
            args[k] = v
        for name, (_block, off, _n, _pv) in layout.items():
            args[f"r_{name}"] = off
        for k, v in ws.items():
            if k != "bytes":
                args[k] = v

    def reset(self) -> None:
        """Every replica back at the start of the run (on the device)."""
        xp = self.launcher.xp
        for b, d in self.d_rec.items():  # every replica starts from the same record
            d[...] = xp.asarray(self.rec0[b])[None, :]
        _block, off, n, _pv = self.layout["mfum"]  # ... but for its MFU multipliers
        self.d_rec["SF"][:, off:off + n] = xp.asarray(self.mult)
        for d in (self.d_ring, self.d_ws, self.d_daily, self.d_flag):
            d[...] = 0

    def device_bytes(self) -> int:
        """Bytes this batch holds on its device."""
        return int(sum(int(a.nbytes) for a in (self.d_I, self.d_F, *self.d_rec.values(),
                                                self.d_ring, self.d_ws, self.d_daily,
                                                self.d_flag)))

    def run(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Launch the step loop over every step (:data:`LAUNCHES` launches, synchronised
        only for progress reports). Returns 0, or the events a step needed beyond the
        workspace (the batch must then be run again with a larger ``cap``)."""
        T, args = self.s["T"], self.args
        bounds = np.linspace(0, T, min(LAUNCHES, max(T, 1)) + 1).astype(np.int64)
        for t0, t1 in zip(bounds[:-1], bounds[1:], strict=True):
            if t1 <= t0:
                continue
            args["t0"], args["t1"] = t0, t1
            self.launcher.engine(args, self.s["R"], self.ws["bytes"] if self.shared else 0)
            if progress is not None:
                self.launcher.synchronize()
                progress(int(t1), T)
        return int(self.launcher.to_numpy(self.d_flag).max(initial=0))

    def results(self) -> RawResults:
        """The records brought to the host (the one device -> host boundary), as results."""
        s, plan, layout, launcher = self.s, self.plan, self.layout, self.launcher
        R, V, J, P = s["R"], s["V"], s["J"], s["P"]
        A, L, NC, NCT = s["A"], s["L"], s["NC"], s["NCT"]
        blocks_h = {b: launcher.to_numpy(d) for b, d in self.d_rec.items()}

        def field(name, shape):
            block, off, n, per_v = layout[name]
            a = blocks_h[block][:, off:off + n * (V if per_v else 1)]
            if not per_v:
                return np.ascontiguousarray(a.reshape((R,) + shape))
            a = a.reshape(R, n, V).transpose(2, 0, 1)  # (V, R, n)
            return np.ascontiguousarray(a.reshape((V, R) + shape))

        flops_pool = field("flopspool", (J, P))
        alloc_pool = field("allocpool", (J, P))
        lost_pool = field("lostgh", (J, P))
        useful_pool = field("usefulgh", (J, P))
        cap_daily = None
        if self.daily:
            DD = launcher.to_numpy(self.d_daily)
            cap_daily = np.ascontiguousarray(
                DD[:, :self.n_daily].reshape(R, s["NDAYS"], A, A, V).transpose(4, 0, 1, 2, 3))
        return RawResults(
            job_start_h=field("start", (J,)), job_finish_h=field("fin", (J,)),
            job_interruptions=field("nint", (J,)),
            job_interruptions_by_cause=field("intcause", (J, NCT)),
            job_preemptions=field("npre", (J,)), job_migrations=field("nmig", (J,)),
            job_lost_flops=field("lostf", (J,)),
            job_lost_gpu_h=lost_pool.sum(axis=3), job_useful_gpu_h=useful_pool.sum(axis=3),
            job_lost_gpu_h_pool=lost_pool, job_useful_gpu_h_pool=useful_pool,
            job_restart_gpu_h_pool=field("restartgh", (J, P)),
            party_wait_gpu_h=field("waitgh", (A, P)),
            job_alloc_gpu_h=alloc_pool.sum(axis=3), job_flops_pool=flops_pool,
            party_cap_gpu_h=field("capgh", (A, P)),
            job_alloc_gpu_h_pool=alloc_pool, lease_delivered_gpu_h=field("delivgh", (L,)),
            lease_paid_usd=plan.lease_usd_h.sum(axis=2) * plan.dt,
            pool_failures=field("fails", (P,)),
            pool_failures_by_cause=field("failscause", (P, NC)),
            pool_outages=field("outages", (P,)),
            pool_online_gpu_h=field("onlinegh", (P,)),
            pool_healthy_gpu_h=field("healthygh", (P,)),
            cap_daily=cap_daily,
        )
