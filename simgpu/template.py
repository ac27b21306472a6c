"""``simgpu-new``: write a commented scenario of one's own to start from.

::

    simgpu-new my_case                 # writes ./my_conf/experiment/my_case.yaml
    simgpu-new my_case --dir conf_dir  # into conf_dir/experiment/
    simgpu --config-dir my_conf experiment=my_case

The file is a complete experiment (``# @package _global_``): parties, pools, a lease, a
roadmap, the counterfactuals and the simulation settings, each key with its unit and
meaning; every number is an illustrative placeholder to replace with one's own. It runs
as written. An existing file is never overwritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = """\
# @package _global_
# {name}: a scenario of your own, written by simgpu-new. Run it with
#   simgpu --config-dir {config_dir} experiment={name}
# Every number below is an illustrative placeholder: replace it with your own, and say
# where each comes from in a comment (a public source, or "illustrative assumption").
# Keys and units: simgpu/config/schema.py; the model: docs/model.md.
name: {name}
description: >-
  A tenant training a chain of three models on its own cluster and on GPUs it rents
  from one landlord. How much of its roadmap does the landlord control?

# The GPU types (h100, h200, b200, gb200, a100, ...) come from simgpu's catalogue
# (gpus.<name>: peak TFLOP/s, memory, power); add one with gpus.<name>: {{...}}.

parties:                       # the companies: role landlord, tenant or other
  lab:
    role: tenant
    label: The Lab             # display name in reports
  cloud:
    role: landlord
    label: The Cloud

pools:                         # GPU clusters: one owner, one GPU type each
  cloud_h100:
    owner: cloud
    gpu: h100
    gpus_per_node: 8
    nodes: 4000                # 32,000 GPUs installed: illustrative placeholder
    capacity: []               # nodes online over time; empty = all, from the start
    reliability:               # or select a preset: reliability@pools.cloud_h100.reliability=hopper
      failures_per_1000_node_days: 3.79   # Llama 3 405B's rate (arXiv:2407.21783)
      repair: {{distribution: lognormal, mean_hours: 24.0, cv: 1.0, max_hours: 720.0}}
  lab_own:
    owner: lab
    gpu: h100
    gpus_per_node: 8
    nodes: 1000                # 8,000 GPUs when complete: illustrative placeholder
    capacity:                  # built out over time (step between points)
      - {{at: "2026-07-01", nodes: 500}}
      - {{at: "2027-01-01", nodes: 1000}}
    reliability:
      failures_per_1000_node_days: 3.79
      repair: {{distribution: lognormal, mean_hours: 24.0, cv: 1.0, max_hours: 720.0}}

leases:                        # landlord-to-tenant contracts (the landlord owns the pool)
  cloud_deal:
    pool: cloud_h100
    tenant: lab
    share: 0.75                # fraction of the pool's online nodes (or gpus: N)
    start: "2026-07-01"
    end: "2028-07-01"
    renewals: 0                # automatic renewals, each as long as the first term
    usd_per_gpu_hour: 2.35     # per contracted GPU-hour (or annual_usd: a fixed yearly price)
    failure_burden: delivered  # delivered: the lab gets what is healthy; replaced: backfilled
    notice_days: 30            # landlord actions take effect this long after announced
    termination_notice_days: null  # either side may end the lease on this notice; null = no right
    landlord_priority: false   # may the landlord's own jobs take the leased GPUs first?

jobs:                          # the roadmap: training runs, in order of dependency
  model_a:
    party: lab
    flops: 1.0e25              # total training FLOPs (or params and tokens: 6ND)
    mfu: 0.40                  # measured MFU, or give model and parallel (docs/perf.md)
    target_gpus: 16000
    min_gpus: 8000             # gang scheduling: it does not run on fewer
    pools: [cloud_h100, lab_own]   # allowed pools, most preferred first
    checkpoint: {{interval_hours: auto, write_hours: 0.05}}   # auto: Daly's optimum
    restart_hours: 0.25
  model_b:
    party: lab
    flops: 3.0e25
    mfu: 0.40
    target_gpus: 24000
    min_gpus: 8000
    pools: [cloud_h100, lab_own]
    after: [model_a]           # starts when model_a is done
    deadline: "2027-12-31"     # reported as met or missed per counterfactual
    checkpoint: {{interval_hours: auto, write_hours: 0.05}}
    restart_hours: 0.25
  model_c:
    party: lab
    flops: 6.0e25
    mfu: 0.40
    target_gpus: 24000
    min_gpus: 8000
    pools: [cloud_h100, lab_own]
    after: [model_b]
    checkpoint: {{interval_hours: auto, write_hours: 0.05}}
    restart_hours: 0.25

scenario:
  actions: []                  # the landlord's moves in the story, e.g.
  # - {{kind: withhold, lease: cloud_deal, at: "2027-01-01", until: "2027-07-01", fraction: 0.3}}
  counterfactuals:             # what-ifs run beside the story on the same random numbers
    no_lease: true
    withhold_levels: [0.25, 0.5, 0.75, 1.0]
    landlord_first: true
    non_renew: true

sim:
  start: "2026-07-01"
  horizon_days: 1095           # 3 years
  step_hours: 1.0
  replicas: 20                 # Monte-Carlo histories; more for tighter bands
"""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def write_template(name: str, config_dir: str | Path = "my_conf") -> Path:
    """Write ``config_dir/experiment/name.yaml``; FileExistsError if it exists."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"name={name!r}: use letters, digits, '_' and '-' (it names a file "
                         "and the output directory)")
    path = Path(config_dir) / "experiment" / f"{name}.yaml"
    if path.exists():
        raise FileExistsError(f"{path} exists: choose another name (nothing was written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.format(name=name, config_dir=config_dir)
    from simgpu.io import atomic_write_text

    atomic_write_text(path, text)
    return path


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``simgpu-new`` console script."""
    p = argparse.ArgumentParser(prog="simgpu-new", description="Write a commented scenario "
                                "of your own to start from.")
    p.add_argument("name", help="the experiment's name (letters, digits, '_', '-')")
    p.add_argument("--dir", default="my_conf",
                   help="your config directory (default: my_conf); the file goes to "
                        "DIR/experiment/NAME.yaml")
    args = p.parse_args(argv)
    try:
        path = write_template(args.name, args.dir)
    except (ValueError, FileExistsError) as exc:
        print(f"simgpu-new: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {path}\nrun it with:  simgpu --config-dir {args.dir} experiment={args.name}")


if __name__ == "__main__":
    main()
