"""Behaviour of simgpu.perf.estimate: sanity, monotonicity, inputs, the simulator hook."""

from __future__ import annotations

import dataclasses

import pytest

from simgpu import perf
from simgpu.config.schema import GpuConfig
from simgpu.perf.published import GPT_175B, LLAMA3, LLAMA3_405B, MEGATRON_2022_SEQSEL

GPT = {k: v for k, v in GPT_175B.items()}
PAR = {"tp": 8, "pp": 8, "gpus": 512, "global_batch": 512, "micro_batch": 1,
       **MEGATRON_2022_SEQSEL}


def test_estimate_fields_and_breakdown_add_up():
    e = perf.estimate(GPT, PAR, "a100")
    assert e.gpus == 512 and e.parallel.dp == 8 and e.microbatches == 64
    assert 0 < e.mfu < e.hfu < 1
    assert e.model_tflops_per_gpu == pytest.approx(e.mfu * 312)
    b = e.breakdown
    parts = ("compute", "bubble", "tp_comm_exposed", "cp_comm_exposed", "pp_comm_exposed",
             "dp_comm_exposed", "overlap_slowdown", "optimizer")
    assert sum(b[k] for k in parts) == pytest.approx(e.step_seconds)
    assert {"tp_comm_overlapped", "dp_comm_overlapped", "recompute"} <= set(b)
    assert e.tokens_per_second == pytest.approx(512 * 2048 / e.step_seconds)
    d = e.to_dict()
    assert d["parallel"]["dp"] == 8 and d["memory_gib"]["total"] < d["memory_gib"]["capacity"]


def test_more_tp_means_more_tp_communication():
    comm = []
    for tp in (2, 4, 8):
        e = perf.estimate(GPT, {**PAR, "tp": tp, "pp": 32, "gpus": 1024, "recompute": "full"},
                          "h100")
        comm.append(e.breakdown["tp_comm_exposed"])
    assert comm[0] < comm[1] < comm[2]


def test_more_microbatches_mean_a_smaller_bubble():
    fractions = []
    for batch in (64, 128, 256, 512):
        e = perf.estimate(GPT, {**PAR, "global_batch": batch}, "a100")
        fractions.append(e.breakdown["bubble"] / e.breakdown["compute"])
        assert e.breakdown["bubble"] / e.breakdown["compute"] == pytest.approx(
            perf.bubble_fraction(8, e.microbatches), rel=0.2)
    assert fractions == sorted(fractions, reverse=True)


def test_interleaving_shrinks_the_bubble_by_v():
    e1 = perf.estimate(GPT, {**PAR, "virtual_stages": 1}, "a100")
    e3 = perf.estimate(GPT, {**PAR, "virtual_stages": 3}, "a100")
    assert e3.breakdown["bubble"] / e3.breakdown["compute"] == pytest.approx(
        e1.breakdown["bubble"] / e1.breakdown["compute"] / 3, rel=0.05)


def test_overlap_hides_communication():
    plain = perf.estimate(GPT, {**PAR, "tp_overlap": False}, "a100")
    hidden = perf.estimate(GPT, {**PAR, "tp_overlap": True}, "a100")
    assert hidden.breakdown["tp_comm_exposed"] < plain.breakdown["tp_comm_exposed"]
    assert hidden.breakdown["tp_comm_overlapped"] > 0
    assert hidden.step_seconds < plain.step_seconds


def test_recompute_costs_time_and_saves_memory():
    full = perf.estimate(GPT, {**PAR, "recompute": "full", "sequence_parallel": False},
                         "a100")
    sel = perf.estimate(GPT, PAR, "a100")
    assert full.step_seconds > sel.step_seconds
    assert full.hfu > full.mfu
    assert full.memory_gib["activations"] < perf.estimate(
        GPT, {**PAR, "recompute": "none", "flash_attention": False}, "a100",
        check_memory=False).memory_gib["activations"]


def test_faster_gpu_is_faster():
    a = perf.estimate(GPT, PAR, "a100").step_seconds
    h = perf.estimate(GPT, PAR, "h100").step_seconds
    b = perf.estimate(GPT, PAR, "b200").step_seconds
    assert a > h > b


def test_gpu_as_name_mapping_or_entry_agree():
    by_name = perf.estimate(GPT, PAR, "h100").step_seconds
    entry = perf.resolve_gpu("h100").entry
    assert perf.estimate(GPT, PAR, entry).step_seconds == pytest.approx(by_name)
    as_map = {"name": "h100", **dataclasses.asdict(entry)}
    assert perf.estimate(GPT, PAR, as_map).step_seconds == pytest.approx(by_name)
    assert perf.estimate(GPT, PAR, "H100").step_seconds == pytest.approx(by_name)


def test_model_and_parallel_as_dataclasses():
    m = perf.model_spec(GPT)
    p = perf.parallel_spec(PAR)
    assert perf.estimate(m, p, "a100").step_seconds == pytest.approx(
        perf.estimate(GPT, PAR, "a100").step_seconds)

    @dataclasses.dataclass
    class Shape:
        layers: int = 96
        hidden: int = 12288
        heads: int = 96
        kv_heads: int | None = None
        ffn_hidden: int | None = None
        vocab: int = 51200
        seq_len: int = 2048

    assert perf.estimate(Shape(), PAR, "a100").mfu > 0


def test_micro_batch_chosen_when_omitted():
    with_pp = perf.estimate(GPT, {**PAR, "micro_batch": None}, "a100")
    assert with_pp.micro_batch == 1
    small = {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 51200, "seq_len": 2048}
    no_pp = perf.estimate(small, {"tp": 1, "gpus": 8, "global_batch": 64}, "a100")
    assert no_pp.micro_batch == 4 and no_pp.microbatches == 2


def test_mfu_for_is_the_estimates_mfu_and_takes_a_job_size():
    mfu = perf.mfu_for(GPT, PAR, "a100")
    assert isinstance(mfu, float) and 0 < mfu < 1
    assert mfu == perf.estimate(GPT, PAR, "a100").mfu
    par = {k: v for k, v in PAR.items() if k != "gpus"}
    e = perf.estimate(GPT, par, "a100", gpus=1024)
    assert e.parallel.dp == 16 and e.gpus == 1024
    assert perf.mfu_for(GPT, par, "a100", gpus=1024) == e.mfu


def test_llama3_context_parallel_runs_and_costs_cp_communication():
    m = {**LLAMA3_405B, "seq_len": 131072}
    p = {"tp": 8, "pp": 16, "cp": 16, "gpus": 16384, "global_batch": 128, "micro_batch": 1,
         "virtual_stages": 4, **LLAMA3}
    e = perf.estimate(m, p, "h100")
    assert e.breakdown["cp_comm_exposed"] > 0
    assert 0.3 < e.mfu < 0.45


def test_custom_gpu_entry_picks_an_architecture_by_peak():
    e = perf.estimate(GPT, PAR, GpuConfig(peak_tflops=1200.0, hbm_gib=96.0))
    assert e.gpu == "custom" and e.mfu > 0


def test_import_perf_loads_no_hydra():
    import json
    import subprocess
    import sys

    code = ("import json, sys\nimport simgpu.perf\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('hydra', 'cupy', 'scipy', 'matplotlib'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
