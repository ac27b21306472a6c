"""Jobs that give a model shape and parallelism get their MFU from simgpu.perf, per pool."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simgpu import perf
from simgpu.config import load
from simgpu.engine import compile_plan
from simgpu.errors import ConfigError

LLAMA3_70B = {"layers": 80, "hidden": 8192, "heads": 64, "kv_heads": 8,
              "ffn_hidden": 28672, "vocab": 128256, "seq_len": 8192, "activation": "swiglu"}
LAYOUT = {"tp": 8, "pp": 4, "cp": 1, "global_batch": 2048, "micro_batch": 1,
          "recompute": "none", "virtual_stages": 5}


def config(**job):
    j = {"party": "lab", "flops": 1e24, "target_gpus": 8192, "min_gpus": 4096,
         "pools": ["hopper", "ampere"], "model": LLAMA3_70B, "parallel": LAYOUT}
    j.update(job)
    gpus = {"h100": {"peak_tflops": 989.0, "hbm_gib": 80.0, "hbm_tb_s": 3.35,
                     "nvlink_gb_s": 900.0, "scaleout_gbit_s": 400.0},
            "a100": {"peak_tflops": 312.0, "hbm_gib": 80.0, "hbm_tb_s": 2.039,
                     "nvlink_gb_s": 600.0, "scaleout_gbit_s": 200.0}}
    return {
        "gpus": gpus, "parties": {"lab": {"role": "other"}},
        "pools": {"hopper": {"owner": "lab", "gpu": "h100", "nodes": 1024},
                  "ampere": {"owner": "lab", "gpu": "a100", "nodes": 1024}},
        "jobs": {"m": j},
        "sim": {"horizon_days": 1, "replicas": 1, "progress": False},
    }


def test_mfu_comes_from_the_throughput_model_for_each_pools_gpu():
    cfg = load(config())
    plan = compile_plan(cfg)
    p_h, p_a = plan.pool_names.index("hopper"), plan.pool_names.index("ampere")
    for p, name in ((p_h, "h100"), (p_a, "a100")):
        expected = perf.mfu_for(LLAMA3_70B, LAYOUT, cfg.gpus[name], gpus=8192)
        assert plan.job_mfu[0, p] == pytest.approx(expected)
        assert 0.2 < expected < 0.7
    assert plan.job_mfu[0, p_h] != plan.job_mfu[0, p_a]


def test_measured_mfu_is_used_as_it_is():
    plan = compile_plan(load(config(model=None, parallel=None, mfu=0.37)))
    np.testing.assert_array_equal(plan.job_mfu, 0.37)


@pytest.mark.parametrize(("job", "key"), [
    ({"mfu": 0.4}, "jobs.m.mfu"),  # both
    ({"model": None, "parallel": None}, "jobs.m.mfu"),  # neither
    ({"parallel": None}, "jobs.m.parallel"),  # half
    ({"model": 5}, "jobs.m.model"),  # not a mapping
])
def test_mfu_or_model_and_parallel(job, key):
    with pytest.raises(ConfigError) as err:
        load(config(**job))
    assert key in [p.key for p in err.value.problems], str(err.value)


def test_bad_parallelism_is_reported_with_the_jobs_key():
    bad = copy.deepcopy(LAYOUT)
    bad["tp"] = 7  # does not divide 64 heads
    with pytest.raises(ConfigError) as err:
        load(config(parallel=bad))
    keys = [p.key for p in err.value.problems]
    assert any(k.startswith("jobs.m.parallel") for k in keys), str(err.value)
    assert "7" in str(err.value)
