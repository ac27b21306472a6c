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
             "dp_comm_exposed", "overlap_slowdown", "optimizer", "straggler")
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


# ------------------------------------------------------------- band and warnings


def test_band_brackets_the_estimate_and_mfu_band_for_matches():
    e = perf.estimate(GPT, PAR, "a100")
    assert e.mfu_p10 < e.mfu < e.mfu_p90
    assert e.mfu_band == (e.mfu_p10, e.mfu, e.mfu_p90)
    assert perf.mfu_band_for(GPT, PAR, "a100") == e.mfu_band
    assert perf.mfu_band_for(GPT, PAR, "a100")[1] == perf.mfu_for(GPT, PAR, "a100")
    d = e.to_dict()
    assert d["mfu_p10"] == e.mfu_p10 and d["warnings"] == []


def test_band_is_derived_from_the_frozen_residuals():
    import math

    from simgpu.perf._fitted import BAND
    from simgpu.perf.model import Z90

    e = perf.estimate(GPT, PAR, "h100")
    s = BAND["hopper"]
    assert e.mfu_p10 == pytest.approx(e.mfu * math.exp(-(s["mean"] + Z90 * s["sd"])))
    assert e.mfu_p90 == pytest.approx(e.mfu * math.exp(-(s["mean"] - Z90 * s["sd"])))


def test_custom_calibration_has_no_band():
    e = perf.estimate(GPT, PAR, "a100", calibration=perf.Calibration())
    assert e.mfu_p10 is None and e.mfu_band is None


def test_calibrated_configuration_has_no_warning():
    assert perf.estimate(GPT, PAR, "a100").warnings == ()


def test_blackwell_is_flagged_as_extrapolation_with_the_pooled_band():
    from simgpu.perf._fitted import BAND

    e = perf.estimate(GPT, PAR, "b200")
    text = " ".join(e.warnings)
    assert "no calibration rows on the blackwell" in text
    assert "pooled" in text
    lo = perf.estimate(GPT, PAR, "b200").mfu_p10 / e.mfu
    import math

    from simgpu.perf.model import Z90
    assert lo == pytest.approx(math.exp(-(BAND["all"]["mean"] + Z90 * BAND["all"]["sd"])))


def test_scale_size_and_sequence_beyond_the_rows_are_flagged():
    from simgpu.perf.published import calibrated_ranges

    hi = calibrated_ranges()["ampere"]["GPU count"][1]
    e = perf.estimate(GPT, {**PAR, "gpus": 64 * 1024, "global_batch": 8 * 8192}, "a100")
    assert any("GPU count" in w for w in e.warnings), (hi, e.warnings)
    small = {"layers": 2, "hidden": 256, "heads": 4, "vocab": 1000, "seq_len": 2048}
    e = perf.estimate(small, {"tp": 1, "gpus": 8, "global_batch": 64}, "a100")
    assert any("model size" in w for w in e.warnings)
    long = {**LLAMA3_405B, "seq_len": 1048576}
    e = perf.estimate(long, {"tp": 8, "pp": 16, "cp": 128, "gpus": 16384, "global_batch": 8,
                             "micro_batch": 1, **LLAMA3}, "h100", check_memory=False)
    assert any("sequence length" in w for w in e.warnings)


# ------------------------------------------------------------- software settings


def test_activations_of_current_dense_models():
    for act, n in (("gelu", 2), ("relu", 2), ("squared_relu", 2), ("silu", 2),
                   ("swiglu", 3), ("geglu", 3), ("reglu", 3)):
        assert perf.model_spec({**GPT, "activation": act}).mlp_matrices == n
    assert perf.model_spec({**GPT, "activation": "squared-relu"}).activation == "squared_relu"
    assert perf.model_spec({**GPT, "activation": "fast-swiglu"}).activation == "swiglu"
    # a squared-ReLU MLP costs what a GeLU MLP costs in FLOPs
    assert perf.model_flops({**GPT, "activation": "squared_relu"}, 8) == perf.model_flops(
        GPT, 8)


def test_bf16_gradients_and_moments_halve_their_memory():
    base = perf.estimate(GPT, PAR, "h100").memory_gib
    bf16 = perf.estimate(GPT, {**PAR, "grad_dtype": "bf16", "optimizer_dtype": "bf16"},
                         "h100").memory_gib
    assert bf16["gradients"] == pytest.approx(base["gradients"] / 2)
    # master weights (4 bytes) + moments (8 -> 4) sharded: 12 -> 8 bytes per parameter
    assert bf16["optimizer"] == pytest.approx(base["optimizer"] * 8 / 12)


def test_distributed_optimizer_shards_over_data_and_context_ranks():
    m = {**LLAMA3_405B, "seq_len": 16384}
    p = {"tp": 8, "pp": 16, "gpus": 4096, "global_batch": 512, "micro_batch": 1,
         "virtual_stages": 4, **{**LLAMA3, "zero_stage": 1}}
    one = perf.estimate(m, {**p, "cp": 1}, "h100", check_memory=False).memory_gib
    two = perf.estimate(m, {**p, "cp": 2}, "h100", check_memory=False).memory_gib
    # at a fixed GPU count cp=2 halves dp, so the shard dp*cp and the states stay the same
    assert two["optimizer"] == pytest.approx(one["optimizer"])
    assert two["activations"] < one["activations"]


def test_unfused_kernels_are_slower():
    fused = perf.estimate(GPT, PAR, "a100").step_seconds
    eager = perf.estimate(GPT, {**PAR, "fused_kernels": False}, "a100").step_seconds
    assert eager > fused


def test_deferring_the_output_wgrad_helps_a_last_stage_bound_pipeline():
    m = {**LLAMA3_405B, "vocab": 256000, "layers": 32}
    p = {"tp": 8, "pp": 8, "gpus": 512, "global_batch": 512, "micro_batch": 1, **LLAMA3,
         "uneven_pipeline": False}
    plain = perf.estimate(m, p, "h100").step_seconds
    defer = perf.estimate(m, {**p, "defer_output_wgrad": True}, "h100").step_seconds
    assert defer < plain


def test_microbatch_sync_communicates_more_than_step_sync():
    small = {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 50368, "seq_len": 2048}
    p = {"tp": 1, "gpus": 512, "global_batch": 512 * 8, "micro_batch": 2, "zero_stage": 2}
    step = perf.estimate(small, {**p, "dp_sync": "step"}, "h100").breakdown
    each = perf.estimate(small, {**p, "dp_sync": "microbatch"}, "h100").breakdown
    total = ("dp_comm_exposed", "dp_comm_overlapped")
    assert sum(each[k] for k in total) > 3 * sum(step[k] for k in total)


def test_dp_collectives_cost_more_with_more_ranks_and_hop_latency():
    """Group size and topology enter the collective's cost, not only its bytes."""
    import dataclasses

    cal = dataclasses.replace(perf.CALIBRATION, hop_latency_s=5e-6, straggler=0.0)
    small = {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 50368, "seq_len": 2048}
    comm = []
    for n in (8, 64, 512):
        e = perf.estimate(small, {"tp": 1, "gpus": n, "global_batch": 12 * n,
                                  "micro_batch": 12, "zero_stage": 3}, "h100",
                          calibration=cal)
        comm.append(e.breakdown["dp_comm_exposed"] + e.breakdown["dp_comm_overlapped"])
    assert comm[0] < comm[1] < comm[2]


def test_ring_and_tree_latency_by_hand():
    from simgpu.perf.hardware import Calibration
    from simgpu.perf.model import _ring_steps_latency

    cal = Calibration(latency_s=10e-6, hop_latency_s=2e-6)
    # ring reduce-scatter over 64 ranks across nodes: 63 steps
    assert _ring_steps_latency(64, True, False, cal) == pytest.approx(10e-6 + 63 * 2e-6)
    # all-reduce: tree 2*log2(64) = 12 steps beats the ring's 126
    assert _ring_steps_latency(64, True, True, cal) == pytest.approx(10e-6 + 12 * 2e-6)
    # inside one NVLink domain only the launch latency
    assert _ring_steps_latency(8, False, False, cal) == pytest.approx(10e-6)
    assert _ring_steps_latency(1, True, True, cal) == 0.0


def test_straggler_term_grows_with_nodes():
    small = {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 50368, "seq_len": 2048}
    share = []
    for n in (8, 128, 2048):
        e = perf.estimate(small, {"tp": 1, "gpus": n, "global_batch": 8 * n,
                                  "micro_batch": 8}, "h100")
        share.append(e.breakdown["straggler"] / e.step_seconds)
    assert share[0] == 0.0 and share[0] < share[1] < share[2]


def test_straggler_factor_is_the_expected_maximum_of_exponential_draws():
    import math

    from simgpu.perf.model import straggler_factor

    # H_N - 1 by hand: 1 node waits for nobody; 2 nodes 1/2; 4 nodes 1/2 + 1/3 + 1/4
    assert straggler_factor(1) == 0.0
    assert straggler_factor(2) == pytest.approx(0.5)
    assert straggler_factor(4) == pytest.approx(13 / 12)
    # the asymptotic branch joins the exact sum
    for n in (64, 65, 1000, 25_000):
        exact = math.fsum(1.0 / k for k in range(2, n + 1))
        assert straggler_factor(n) == pytest.approx(exact, abs=1e-9)
    # Monte-Carlo check of the premise: the mean of the maximum of N exponential draws
    # of mean 1 exceeds their mean by H_N - 1
    import numpy as np

    rng = np.random.default_rng(7)
    draws = rng.exponential(1.0, size=(20_000, 16))
    excess = draws.max(axis=1).mean() - 1.0
    assert excess == pytest.approx(straggler_factor(16), abs=0.03)


def test_straggler_share_of_a_step_is_the_constant_times_the_factor():
    from simgpu.perf.model import straggler_factor

    small = {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 50368, "seq_len": 2048}
    e = perf.estimate(small, {"tp": 1, "gpus": 1024, "global_batch": 8192, "micro_batch": 8},
                      "h100")
    b = e.breakdown
    assert b["straggler"] == pytest.approx(
        (e.step_seconds - b["straggler"]) * perf.CALIBRATION.straggler * straggler_factor(128))


def test_fsdp_casts_each_microbatch_gradient_to_a_wider_reduction_format():
    from simgpu.perf.hardware import resolve_gpu

    small = {"layers": 24, "hidden": 2048, "heads": 16, "vocab": 50368, "seq_len": 2048}
    fsdp = {"tp": 1, "gpus": 8, "global_batch": 64, "micro_batch": 2, "zero_stage": 3,
            "dp_sync": "microbatch", "flash_attention": True}
    wide = perf.estimate(small, {**fsdp, "grad_dtype": "fp32"}, "h100")
    # per micro-batch: read the BF16 gradient, write the FP32 copy (6 bytes per parameter
    # of the unsharded model) at the fitted HBM bandwidth; 4 micro-batches per step
    g = resolve_gpu("h100")
    params = 24 * wide.model.params_per_layer + 2 * 50368 * 2048
    per_mb = params * 6.0 / (g.hbm_bw * perf.CALIBRATION.hbm_fraction)
    assert wide.breakdown["grad_cast"] == pytest.approx(4 * per_mb, rel=1e-9)
    # no cast when reducing in BF16, nor when reducing once per step (ZeRO-1)
    assert perf.estimate(small, {**fsdp, "grad_dtype": "bf16"}, "h100").breakdown[
        "grad_cast"] == 0.0
    assert perf.estimate(small, {**fsdp, "grad_dtype": "fp32", "zero_stage": 1,
                                 "dp_sync": "step"}, "h100").breakdown["grad_cast"] == 0.0


def test_fp16_gradients_are_two_bytes_on_the_wire_and_in_memory():
    p = {**PAR, "recompute": "full", "sequence_parallel": False}
    fp32 = perf.estimate(GPT, p, "a100")
    fp16 = perf.estimate(GPT, {**p, "grad_dtype": "fp16"}, "a100")
    bf16 = perf.estimate(GPT, {**p, "grad_dtype": "bf16"}, "a100")
    assert fp16.memory_gib["gradients"] == pytest.approx(fp32.memory_gib["gradients"] / 2)
    assert fp16.step_seconds == pytest.approx(bf16.step_seconds)
    # the blocking gradient all-reduce (zero_stage 0, no overlap) moves half the bytes
    assert fp16.breakdown["dp_comm_exposed"] < 0.6 * fp32.breakdown["dp_comm_exposed"]


def test_interleaving_widens_the_window_of_once_per_step_dp_communication():
    """Megatron-core reduces each model chunk's gradients after its last backward and
    gathers its weights before its first forward: with v chunks the communication of
    all but the last chunk overlaps the other chunks' passes (docs/perf.md)."""
    import dataclasses

    from simgpu.perf.hardware import resolve_gpu
    from simgpu.perf.model import _step
    from simgpu.perf.spec import check_layout, model_spec, parallel_spec

    m = model_spec(GPT)
    g = resolve_gpu("h100")
    base = {"tp": 8, "pp": 8, "gpus": 1024, "global_batch": 256, "micro_batch": 1,
            "recompute": "none", "zero_stage": 1, "dp_overlap": True, "grad_dtype": "fp32"}
    # same per-GPU work and bytes, one vs four chunks per GPU
    exp = {}
    for v in (1, 4):
        p = check_layout(m, parallel_spec({**base, "virtual_stages": v}))
        b = _step(m, p, g, dataclasses.replace(perf.CALIBRATION, straggler=0.0))
        exp[v] = b["dp_comm_exposed"]
    assert exp[1] > 0.0
    assert exp[4] < exp[1]


def test_collectives_overlapping_the_same_pass_share_one_stream():
    """FSDP's backward all-gather and reduce-scatter run one after the other on one
    communicator: their sum, not each alone, is set against the backward pass."""
    from simgpu.perf.model import _overlap

    cal = perf.CALIBRATION
    # each alone would hide fully behind a window of 1.0; together they expose 0.2
    exposed, hidden, _ = _overlap(0.6 + 0.6, 1.0, cal)
    assert exposed == pytest.approx(0.2) and hidden == pytest.approx(1.0)
    # 13B-like layers on 8 A100, 1,024 tokens per micro-batch: each collective alone
    # hides behind its pass, their sum does not; the old separate accounting exposed
    # only the unavoidable tails (one layer's share of each collective)
    small = {"layers": 24, "hidden": 5120, "heads": 40, "vocab": 50368, "seq_len": 1024}
    e = perf.estimate(small, {"tp": 1, "gpus": 8, "global_batch": 8, "micro_batch": 1,
                              "zero_stage": 3, "grad_dtype": "fp32"}, "a100")
    b = e.breakdown
    tails = (b["dp_comm_exposed"] + b["dp_comm_overlapped"]) / 24
    assert b["dp_comm_exposed"] > 2.0 * tails


def test_flashattention_v1_kernels_are_slower_by_the_published_ratio():
    from simgpu.perf.model import FLASH1_SLOWDOWN

    m = {**LLAMA3_405B, "layers": 16, "seq_len": 32768}
    p = {"tp": 8, "pp": 1, "gpus": 8, "global_batch": 1, "micro_batch": 1,
         "recompute": "full"}
    fa2 = perf.estimate(m, p, "h100", check_memory=False)
    fa1 = perf.estimate(m, {**p, "attention_kernel": "flash1"}, "h100", check_memory=False)
    assert fa1.step_seconds > fa2.step_seconds
    assert 1.3 <= FLASH1_SLOWDOWN <= 2.5  # Dao 2023 (arXiv:2307.08691) section 4.1
    # without fused attention the setting has nothing to act on
    off = {**p, "flash_attention": False, "recompute": "full"}
    a = perf.estimate(m, off, "h100", check_memory=False).step_seconds
    b = perf.estimate(m, {**off, "attention_kernel": "flash1"}, "h100",
                      check_memory=False).step_seconds
    assert a == b


def test_unfused_gradient_accumulation_costs_a_pass_over_the_gradients_per_microbatch():
    from simgpu.perf.hardware import resolve_gpu

    p = {**PAR, "recompute": "full", "sequence_parallel": False, "grad_dtype": "fp16"}
    fused = perf.estimate(GPT, p, "a100")
    plain = perf.estimate(GPT, {**p, "grad_accum_fusion": False}, "a100")
    assert fused.breakdown["grad_accumulation"] == 0.0
    # per micro-batch: read the FP16 gradient, read and write the FP16 buffer (6 bytes per
    # parameter of the stage's shard) at the fitted HBM bandwidth
    g = resolve_gpu("a100")
    stage_params = (GPT["layers"] // 8 * plain.model.params_per_layer
                    + GPT["vocab"] * GPT["hidden"]) / 8
    per_mb = stage_params * 6.0 / (g.hbm_bw * perf.CALIBRATION.hbm_fraction)
    assert plain.breakdown["grad_accumulation"] == pytest.approx(64 * per_mb, rel=1e-9)
    assert plain.step_seconds > fused.step_seconds
