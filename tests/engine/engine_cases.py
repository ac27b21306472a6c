"""Small hand-checkable configurations for engine tests (plain dicts, no Hydra)."""

from __future__ import annotations

import copy
from typing import Any

from simgpu.cases import RATE_PER_GPU_HOUR, ROUND_GPU, one_pool

__all__ = ["RATE_PER_GPU_HOUR", "ROUND_GPU", "landlord_tenant", "one_pool", "with_"]


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
