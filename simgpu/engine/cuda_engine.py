"""The kernel engine: the fused step loop of ``engine.cu`` on a GPU (CuPy) or on the host.

:func:`simulate` has the signature and the results of
:func:`simgpu.engine.numpy_engine.simulate` (the specification). It packs the plan into
two parameter blocks (int64 ``I``, float64 ``F``), allocates the state blocks (``SI``,
``SF``, and the daily series) on the device, launches ``sg_engine_run`` a few times over
the steps (about twenty launches, for progress reports; no synchronisation inside the
step loop) and brings the results back through one :meth:`to_numpy` boundary.

The same code drives the host build of the kernel (:class:`~simgpu.engine.launch.HostLauncher`),
which is how the CPU test suite checks the kernel against the NumPy engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from simgpu.engine import kernels
from simgpu.engine.numpy_engine import RawResults
from simgpu.engine.plan import Plan

#: The parameter block's fields, in the order of the enum in engine.cu (checked by a test).
DIMS = ("B", "R", "V", "J", "P", "A", "L", "D", "NC", "NCT", "T", "G", "K", "NDAYS", "NRANK0",
        "REPOFF", "DAILY")
INT_ARRAYS = ("ONLINE_N", "ONLINE_L", "DOM_UNITS", "POOL_OWNER", "POOL_GPN", "REPAIR_KIND",
              "DOM_POOL", "DOM_CAUSE", "DOM_NODES", "DOM_KIND", "LEASE_POOL", "LEASE_TENANT",
              "LEASE_OWNER", "LEASE_GPUS", "LEASE_REPLACED", "LEASE_LF", "JOB_PARTY", "JOB_PREF",
              "JOB_TGT", "JOB_MIN", "JOB_DEPS", "JOB_AUTO", "STEP_DAY")
FLOAT_ARRAYS = ("FAIL_N", "FAIL_L", "CAUSE_CUM", "REPAIR_P1", "REPAIR_P2", "REPAIR_MAX",
                "DOM_RATE", "DOM_P1", "DOM_P2", "DOM_MAX", "LEASE_SHARE", "LEASE_FRAC", "PEAK",
                "JOB_FLOPS", "JOB_MFU", "JOB_EARLIEST", "JOB_WRITE", "JOB_RESTART", "NODE_RATE",
                "DAY_W")
INT_STATE = ("RING", "DOWN", "POOLJ", "NODES", "HITLAST", "NINT", "INTCAUSE", "NPRE", "FAILS",
             "FAILSCAUSE", "OUTAGES")
FLOAT_STATE = ("RLEFT", "TOTAL", "UNC", "SINCE", "START", "FIN", "TAU", "LOSTF", "LOSTGH",
               "USEFULGH", "FLOPSPOOL", "ALLOCPOOL", "CAPGH", "DELIVGH", "ONLINEGH", "HEALTHYGH")
PARAMS = (tuple(f"I_{n}" for n in DIMS + INT_ARRAYS) + tuple(f"F_{n}" for n in FLOAT_ARRAYS)
          + tuple(f"S_{n}" for n in INT_STATE + FLOAT_STATE))

#: The host build's bounds on the per-thread scratch arrays (the GPU build uses exact sizes).
HOST_MAX = {"P": 16, "A": 8, "L": 32, "D": 32, "J": 64}

#: Launches per run: progress is reported after each.
LAUNCHES = 20


def source_params() -> tuple[str, ...]:
    """The enum of parameter fields as written in engine.cu."""
    src = kernels.source_text("engine/engine.cu")
    body = src[src.index("enum {"):src.index("N_PARAMS")]
    body = re.sub(r"//[^\n]*", "", body[len("enum {"):])
    return tuple(x.strip() for x in body.split(",") if x.strip())


def _sizes(plan: Plan, n_replicas: int, daily: bool) -> dict[str, int]:
    return dict(
        B=len(plan.variants) * n_replicas, R=n_replicas, V=len(plan.variants),
        J=len(plan.job_names), P=len(plan.pool_names), A=len(plan.party_names),
        L=len(plan.lease_names), D=len(plan.dom_pool), NC=plan.n_node_causes,
        NCT=len(plan.cause_names), T=plan.n_steps, G=plan.ring, K=plan.job_pref.shape[1],
        NDAYS=plan.n_days if daily else 0,
        NRANK0=int((plan.party_rank[plan.job_party] == 0).sum()) if len(plan.job_names) else 0,
        DAILY=int(daily))


def _state_lengths(s: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Elements per history of each state field."""
    J, P, A, L, NC, NCT, G = s["J"], s["P"], s["A"], s["L"], s["NC"], s["NCT"], s["G"]
    ints = dict(RING=P * 2 * G, DOWN=P * 2, POOLJ=J, NODES=J, HITLAST=J, NINT=J, INTCAUSE=J * NCT,
                NPRE=J, FAILS=P, FAILSCAUSE=P * NC, OUTAGES=P)
    floats = dict(RLEFT=J, TOTAL=J, UNC=J, SINCE=J, START=J, FIN=J, TAU=J, LOSTF=J, LOSTGH=J,
                  USEFULGH=J, FLOPSPOOL=J * P, ALLOCPOOL=J * P, CAPGH=A * P, DELIVGH=L,
                  ONLINEGH=P, HEALTHYGH=P)
    return ints, floats


def device_bytes_per_replica(plan: Plan, daily: bool) -> int:
    """Device memory per replica of the kernel engine's state, bytes."""
    s = _sizes(plan, 1, daily)
    ints, floats = _state_lengths(s)
    per_history = 8 * (sum(ints.values()) + sum(floats.values()))
    if daily:
        per_history += 4 * plan.n_days * s["A"] ** 2
    return per_history * s["V"]


def pack(plan: Plan, replica_offset: int, n_replicas: int, daily: bool
         ) -> tuple[np.ndarray, np.ndarray, dict[str, int], dict[str, tuple[int, int]]]:
    """The parameter blocks of one batch.

    Returns
    -------
    I : ndarray of int64
    F : ndarray of float64
    sizes : dict
    layout : dict
        ``name -> (offset, length)`` of every state field in its block (per history).
    """
    s = _sizes(plan, n_replicas, daily)
    s["REPOFF"] = int(replica_offset)
    step_day, day_w = plan.day_steps()
    int_arrays = dict(
        ONLINE_N=plan.online_normal, ONLINE_L=plan.online_lemon, DOM_UNITS=plan.dom_units,
        POOL_OWNER=plan.pool_owner, POOL_GPN=plan.pool_gpn, REPAIR_KIND=plan.repair_kind,
        DOM_POOL=plan.dom_pool, DOM_CAUSE=plan.dom_cause, DOM_NODES=plan.dom_nodes,
        DOM_KIND=plan.dom_kind, LEASE_POOL=plan.lease_pool, LEASE_TENANT=plan.lease_tenant,
        LEASE_OWNER=plan.lease_owner, LEASE_GPUS=plan.lease_gpus,
        LEASE_REPLACED=plan.lease_replaced, LEASE_LF=plan.lease_lf, JOB_PARTY=plan.job_party,
        JOB_PREF=plan.job_pref, JOB_TGT=plan.job_tgt_nodes, JOB_MIN=plan.job_min_nodes,
        JOB_DEPS=plan.job_deps, JOB_AUTO=np.isnan(plan.job_tau), STEP_DAY=step_day)
    float_arrays = dict(
        FAIL_N=plan.fail_rate_normal, FAIL_L=plan.fail_rate_lemon, CAUSE_CUM=plan.cause_cum,
        REPAIR_P1=plan.repair_p1, REPAIR_P2=plan.repair_p2, REPAIR_MAX=plan.repair_max,
        DOM_RATE=plan.dom_rate, DOM_P1=plan.dom_p1, DOM_P2=plan.dom_p2, DOM_MAX=plan.dom_max,
        LEASE_SHARE=plan.lease_share, LEASE_FRAC=plan.lease_frac, PEAK=plan.pool_peak_flop_h,
        JOB_FLOPS=plan.job_flops, JOB_MFU=plan.job_mfu, JOB_EARLIEST=plan.job_earliest_h,
        JOB_WRITE=plan.job_write, JOB_RESTART=plan.job_restart, NODE_RATE=plan.pool_node_rate,
        DAY_W=day_w)
    header = np.zeros(len(PARAMS), np.int64)
    pos = {name: i for i, name in enumerate(PARAMS)}
    for k in DIMS:
        header[pos[f"I_{k}"]] = s[k]
    ichunks, off = [], len(PARAMS)
    for k in INT_ARRAYS:
        a = np.ascontiguousarray(int_arrays[k], dtype=np.int64).ravel()
        header[pos[f"I_{k}"]] = off
        ichunks.append(a)
        off += a.size
    fchunks, foff = [], 0
    for k in FLOAT_ARRAYS:
        a = np.ascontiguousarray(float_arrays[k], dtype=np.float64).ravel()
        header[pos[f"F_{k}"]] = foff
        fchunks.append(a)
        foff += a.size
    ints, floats = _state_lengths(s)
    B = s["B"]
    layout = {}
    o = 0
    for k in INT_STATE:
        header[pos[f"S_{k}"]] = o * B
        layout[k] = (o, ints[k])
        o += ints[k]
    o = 0
    for k in FLOAT_STATE:
        header[pos[f"S_{k}"]] = o * B
        layout[k] = (o, floats[k])
        o += floats[k]
    Iblk = np.concatenate([header] + ichunks)
    Fblk = np.concatenate(fchunks + [np.zeros(1)])
    s["SI_LEN"] = sum(ints.values())
    s["SF_LEN"] = sum(floats.values())
    return Iblk, Fblk, s, layout


def _scratch_sizes(plan: Plan) -> dict[str, int]:
    """The sizes that bound the kernel's per-thread scratch arrays (SG_MAX<k>)."""
    return dict(P=len(plan.pool_names), A=len(plan.party_names), L=len(plan.lease_names),
                D=len(plan.dom_pool), J=len(plan.job_names))


def check_host_limits(plan: Plan) -> None:
    """The host build's scratch bounds; raises ValueError naming the dimension."""
    got = _scratch_sizes(plan)
    for k, mx in HOST_MAX.items():
        if got[k] > mx:
            raise ValueError(f"the host build of the kernels supports at most {mx} of {k}; "
                             f"this plan has {got[k]}")


def gpu_defines(plan: Plan) -> tuple[str, ...]:
    """Exact scratch sizes for the GPU build (smaller local arrays)."""
    return tuple(f"SG_MAX{k}={max(1, v)}" for k, v in _scratch_sizes(plan).items())


def simulate(plan: Plan, replica_offset: int, n_replicas: int, daily: bool = True,
             progress: Callable[[int, int], None] | None = None, launcher=None) -> RawResults:
    """Run ``n_replicas`` replicas of every variant with the kernel engine.

    Parameters are those of :func:`simgpu.engine.numpy_engine.simulate`; ``launcher`` is a
    :class:`~simgpu.engine.launch.CupyLauncher` (GPU) or
    :class:`~simgpu.engine.launch.HostLauncher` (the host build; the default).
    """
    if launcher is None:
        from simgpu.engine.launch import HostLauncher

        check_host_limits(plan)
        launcher = HostLauncher()
    xp = launcher.xp
    Iblk, Fblk, s, layout = pack(plan, replica_offset, n_replicas, daily)
    B, J, P, T = s["B"], s["J"], s["P"], s["T"]
    V, R = s["V"], s["R"]
    A, L, NC, NCT = s["A"], s["L"], s["NC"], s["NCT"]
    si = np.zeros((s["SI_LEN"], B), np.int64)
    sf = np.zeros((s["SF_LEN"], B), np.float64)
    o, n = layout["POOLJ"]
    si[o:o + n] = -1
    for k in ("START", "FIN"):
        o, n = layout[k]
        sf[o:o + n] = np.inf
    o, n = layout["TAU"]
    sf[o:o + n] = plan.job_tau[:, None]
    n_daily = s["NDAYS"] * A * A
    d_I, d_F = xp.asarray(Iblk), xp.asarray(Fblk)
    d_SI, d_SF = xp.asarray(si), xp.asarray(sf)
    d_D = xp.zeros((max(n_daily, 1), B), np.float32)
    bounds = np.linspace(0, T, min(LAUNCHES, max(T, 1)) + 1).astype(np.int64)
    for t0, t1 in zip(bounds[:-1], bounds[1:], strict=True):
        if t1 <= t0:
            continue
        launcher.run("sg_engine_run", B, d_I, d_F, d_SI, d_SF, d_D, np.uint64(plan.seed),
                     np.float64(plan.dt), np.int64(t0), np.int64(t1))
        if progress is not None:
            launcher.synchronize()
            progress(int(t1), T)
    SI = launcher.to_numpy(d_SI)  # the one device -> host boundary
    SF = launcher.to_numpy(d_SF)
    DD = launcher.to_numpy(d_D) if daily else None

    def field(block, name, shape):
        o, n = layout[name]
        a = block[o:o + n].reshape(shape + (B,))
        a = np.moveaxis(a, -1, 0)  # (B, ...)
        return np.ascontiguousarray(a.reshape((V, R) + shape))

    def per_rep(block, name, shape):
        return field(block, name, shape)[0]

    flops_pool = field(SF, "FLOPSPOOL", (J, P))
    alloc_pool = field(SF, "ALLOCPOOL", (J, P))
    cap_daily = None
    if daily:
        cap_daily = np.ascontiguousarray(
            np.moveaxis(DD[:n_daily].reshape(s["NDAYS"], A, A, B), -1, 0).reshape(
                V, R, s["NDAYS"], A, A))
    return RawResults(
        job_start_h=field(SF, "START", (J,)), job_finish_h=field(SF, "FIN", (J,)),
        job_interruptions=field(SI, "NINT", (J,)),
        job_interruptions_by_cause=field(SI, "INTCAUSE", (J, NCT)),
        job_preemptions=field(SI, "NPRE", (J,)), job_lost_flops=field(SF, "LOSTF", (J,)),
        job_lost_gpu_h=field(SF, "LOSTGH", (J,)), job_useful_gpu_h=field(SF, "USEFULGH", (J,)),
        job_alloc_gpu_h=alloc_pool.sum(axis=3), job_flops_pool=flops_pool,
        party_cap_gpu_h=field(SF, "CAPGH", (A, P)),
        job_alloc_gpu_h_pool=alloc_pool, lease_delivered_gpu_h=field(SF, "DELIVGH", (L,)),
        lease_paid_usd=plan.lease_usd_h.sum(axis=2) * plan.dt,
        pool_failures=per_rep(SI, "FAILS", (P,)),
        pool_failures_by_cause=per_rep(SI, "FAILSCAUSE", (P, NC)),
        pool_outages=per_rep(SI, "OUTAGES", (P,)),
        pool_online_gpu_h=per_rep(SF, "ONLINEGH", (P,)),
        pool_healthy_gpu_h=per_rep(SF, "HEALTHYGH", (P,)),
        cap_daily=cap_daily,
    )
