"""A tiny version of the default experiment that runs in about a second."""

from __future__ import annotations

#: Hydra overrides that shrink the default experiment (``colossus_lease``) to 2 replicas
#: of 20 days on pools of a few hundred nodes, with every job scaled to fit them and
#: small enough that the whole roadmap finishes within the horizon in the baseline.
TINY_OVERRIDES: tuple[str, ...] = (
    "sim.replicas=2",
    "sim.horizon_days=20",
    "sim.progress=false",
    "report.daily_series=false",
    "report.sensitivity.enabled=false",
    "pools.colossus1.nodes=200",  # 1,600 H100
    "pools.colossus2.nodes=100",  # 400 GB200
    "pools.colossus2.capacity=[]",
    "pools.tenant_other.nodes=150",  # 1,200 H100
    "pools.tenant_other.capacity=[]",
    "jobs.frontier_1.target_gpus=1600",
    "jobs.frontier_1.min_gpus=800",
    "jobs.frontier_1.flops=1e23",
    "jobs.frontier_2.target_gpus=1600",
    "jobs.frontier_2.min_gpus=800",
    "jobs.frontier_2.flops=2e23",
    "jobs.frontier_3.target_gpus=1600",
    "jobs.frontier_3.min_gpus=800",
    "jobs.frontier_3.flops=4e23",
    "jobs.product_1.target_gpus=512",
    "jobs.product_1.min_gpus=256",
    "jobs.product_1.flops=5e22",
    "jobs.product_1.earliest_start=null",
    "jobs.grok_next.target_gpus=400",
    "jobs.grok_next.min_gpus=200",
    "jobs.grok_next.flops=2e23",
)
