"""Closed-form pieces of simgpu.perf, checked by hand on tiny numbers."""

from __future__ import annotations

import pytest

from simgpu import perf
from simgpu.perf import bubble_fraction, hardware_flops, model_flops, ring_allreduce_seconds

#: l=2, h=4, a=2 heads, V=8, s=3, f=4h=16, GeLU: small enough to count by hand.
TINY = {"layers": 2, "hidden": 4, "heads": 2, "vocab": 8, "seq_len": 3}


def test_model_flops_by_hand():
    # per token per layer, forward: QKV 2*4*12 = 96, output 2*4*4 = 32,
    # MLP 2*(2*4*16) = 256, scores and values 4*s*h = 48  -> 432;
    # 2 layers = 864, logits 2*4*8 = 64 -> 928 per token; x 3 tokens x 3 (fwd+bwd)
    assert model_flops(TINY, global_batch=1) == 3 * 3 * 928 == 8352
    assert model_flops(TINY, global_batch=5) == 5 * 8352


def test_model_flops_is_megatrons_72_formula():
    b, s, n, h, v = 1, 3, 2, 4, 8
    assert model_flops(TINY, 1) == pytest.approx(
        72 * b * s * n * h**2 * (1 + s / (6 * h) + v / (12 * n * h)))


def test_hardware_flops_with_full_recompute_is_megatrons_96_formula():
    # one more forward of the layers (3 tokens x 864), logits not recomputed
    assert hardware_flops(TINY, 1, "full") == 8352 + 3 * 864 == 10944
    b, s, n, h, v = 1, 3, 2, 4, 8
    assert hardware_flops(TINY, 1, "full") == pytest.approx(
        96 * b * s * n * h**2 * (1 + s / (6 * h) + v / (16 * n * h)))


def test_hardware_flops_selective_and_none():
    # selective: attention core again, 4*s*h = 48 per token per layer
    assert hardware_flops(TINY, 1, "selective") == 8352 + 3 * 2 * 48
    assert hardware_flops(TINY, 1, "none") == 8352
    with pytest.raises(ValueError):
        hardware_flops(TINY, 1, "some")


def test_gqa_and_swiglu_generalisation_by_hand():
    m = {**TINY, "kv_heads": 1, "ffn_hidden": 6, "activation": "swiglu"}
    # d_h = 2; QKV 2*4*(4 + 2*2) = 64, output 2*4*4 = 32, MLP 3*(2*4*6) = 144,
    # attention 4*3*4 = 48 -> 288 per layer; 2 layers + logits 64 = 640 per token
    assert model_flops(m, 1) == 3 * 3 * 640


def test_gpt3_175b_flops_match_megatron_table_arithmetic():
    # Megatron-LM 2021 eq. (3) for the 1T row: 163 TFLOP/s x 3072 GPUs = 502 PFLOP/s
    m = {"layers": 128, "hidden": 25600, "heads": 160, "vocab": 51200, "seq_len": 2048}
    f = hardware_flops(m, 3072, "full")
    b, s, n, h, v = 3072, 2048, 128, 25600, 51200
    assert f == pytest.approx(96 * b * s * n * h * h * (1 + s / (6 * h) + v / (16 * n * h)))


def test_bubble_fraction_by_hand():
    assert bubble_fraction(pp=4, microbatches=6) == pytest.approx(3 / 6)
    assert bubble_fraction(pp=4, microbatches=6, virtual_stages=2) == pytest.approx(0.25)
    assert bubble_fraction(pp=1, microbatches=1) == 0.0


def test_ring_allreduce_by_hand():
    # 8 ranks, 1 GB, 100 GB/s: 2 * 7/8 * 1e9 / 1e11 = 17.5 ms
    assert ring_allreduce_seconds(1e9, 8, 1e11) == pytest.approx(0.0175)
    assert ring_allreduce_seconds(1e9, 2, 1e11, latency=1e-3) == pytest.approx(0.011)
    assert ring_allreduce_seconds(1e9, 1, 1e11) == 0.0
    assert perf.ring_allgather_seconds(1e9, 4, 1e11) == pytest.approx(0.0075)


def test_params_of_gpt3_175b():
    m = perf.model_spec({"layers": 96, "hidden": 12288, "heads": 96, "vocab": 51200,
                         "seq_len": 2048, "tied_embeddings": True})
    assert m.params == pytest.approx(175e9, rel=0.01)
