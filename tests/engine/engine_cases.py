"""Small hand-checkable configurations for engine tests (plain dicts, no Hydra)."""

from __future__ import annotations

import copy
from typing import Any

# A made-up accelerator with round numbers: 1000 TFLOP/s dense peak.
ROUND_GPU = {"peak_tflops": 1000.0, "hbm_gib": 80.0, "hbm_tb_s": 3.0, "nvlink_gb_s": 900.0,
             "scaleout_gbit_s": 400.0, "tdp_w": 700.0, "facility_kw": 1.5}
NO_FAILURES = {"failures_per_1000_node_days": 0.0}


def one_pool(nodes: int = 10, horizon_days: float = 2.0, step_hours: float = 1.0,
             replicas: int = 2, **job: Any) -> dict[str, Any]:
    """One party, one pool of ``nodes`` x 8 round GPUs, one job (overridable fields)."""
    j = {"party": "lab", "flops": 1e21, "mfu": 0.5, "target_gpus": 80, "min_gpus": 8,
         "pools": ["p"], "checkpoint": {"interval_hours": 1.0, "write_hours": 0.1},
         "restart_hours": 0.25}
    ckpt = job.pop("checkpoint", {})
    j.update(job)
    j["checkpoint"] = {**j["checkpoint"], **ckpt}
    return {
        "name": "test",
        "gpus": {"round": dict(ROUND_GPU)},
        "parties": {"lab": {"role": "other"}},
        "pools": {"p": {"owner": "lab", "gpu": "round", "gpus_per_node": 8, "nodes": nodes,
                        "reliability": dict(NO_FAILURES)}},
        "jobs": {"a": j},
        "sim": {"seed": 1, "start": "2026-01-01", "horizon_days": horizon_days,
                "step_hours": step_hours, "replicas": replicas, "progress": False},
        "report": {"daily_series": True},
    }


def landlord_tenant(share: float = 0.35, nodes: int = 10, burden: str = "delivered",
                    failures: float = 0.0, **lease: Any) -> dict[str, Any]:
    """A landlord pool partly leased to a tenant; each party has one job on it."""
    cfg = one_pool(nodes=nodes)
    cfg["parties"] = {"ll": {"role": "landlord"}, "tn": {"role": "tenant"}}
    cfg["pools"]["p"]["owner"] = "ll"
    cfg["pools"]["p"]["reliability"] = {"failures_per_1000_node_days": failures,
                                        "repair": {"distribution": "fixed", "mean_hours": 5.0}}
    le = {"pool": "p", "tenant": "tn", "share": share, "start": "2026-01-01",
          "end": "2027-01-01", "annual_usd": 8.766e6, "failure_burden": burden}
    le.update(lease)
    cfg["leases"] = {"l": le}
    big = {"flops": 1e30, "target_gpus": 80, "min_gpus": 8, "pools": ["p"]}
    cfg["jobs"] = {"own": {**cfg["jobs"]["a"], **big, "party": "ll"},
                   "rent": {**cfg["jobs"]["a"], **big, "party": "tn"}}
    return cfg


def with_(cfg: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """Deep copy with top-level sections updated (dicts merged one level deep)."""
    out = copy.deepcopy(cfg)
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out

#: FLOPs per GPU-hour of a round GPU at the default MFU of these cases (0.5).
RATE_PER_GPU_HOUR = ROUND_GPU["peak_tflops"] * 1e12 * 0.5 * 3600.0
