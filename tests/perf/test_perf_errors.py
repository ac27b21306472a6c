"""Every bad-input rule raises ConfigError naming the key and the value."""

from __future__ import annotations

import pytest

from simgpu import perf
from simgpu.errors import ConfigError
from simgpu.perf.published import GPT_175B, LLAMA3, LLAMA3_405B

GPT = dict(GPT_175B)
PAR = {"tp": 8, "pp": 8, "gpus": 512, "global_batch": 512, "micro_batch": 1}


def problems(model=GPT, parallel=PAR, gpu="a100", **kw):
    with pytest.raises(ConfigError) as info:
        perf.estimate(model, parallel, gpu, **kw)
    found: dict[tuple, str] = {}
    for p in info.value.problems:
        found[(p.key, p.value)] = (found.get((p.key, p.value), "") + " " + p.message).strip()
    return found


@pytest.mark.parametrize(("change", "key", "value", "words"), [
    ({"gpus": 500}, "parallel.gpus", 500, "not divisible by tp*pp*cp"),
    ({"dp": 4}, "parallel.gpus", 512, "!= tp*pp*cp*dp"),
    ({"pp": 7, "gpus": 448}, "parallel.pp", 7, "does not divide layers = 96"),
    ({"pp": 8, "virtual_stages": 5}, "parallel.pp", 8, "does not divide layers"),
    ({"tp": 5, "gpus": 320}, "parallel.tp", 5, "does not divide heads = 96"),
    ({"micro_batch": 3}, "parallel.micro_batch", 3, "does not divide the per-replica batch"),
    ({"global_batch": 100}, "parallel.global_batch", 100, "not divisible by dp = 8"),
    ({"cp": 3, "gpus": 1536}, "parallel.cp", 3, "does not divide seq_len"),
    ({"virtual_stages": 3, "global_batch": 64 * 8 + 32}, "parallel.virtual_stages", 3,
     "multiple of pp"),
    ({"pp": 1, "gpus": 64, "virtual_stages": 2}, "parallel.virtual_stages", 2,
     "needs pipeline parallelism"),
    ({"recompute": "most"}, "parallel.recompute", "most", "must be one of"),
    ({"tp": 0}, "parallel.tp", 0, "must be >= 1"),
    ({"zero_stage": 4}, "parallel.zero_stage", 4, "0, 1, 2 or 3"),
    ({"colour": "red"}, "parallel.colour", "red", "unknown key"),
    ({"grad_dtype": "fp8"}, "parallel.grad_dtype", "fp8", "fp32, bf16, fp16"),
    ({"optimizer_dtype": "int8"}, "parallel.optimizer_dtype", "int8", "fp32, bf16"),
    ({"dp_sync": "sometimes"}, "parallel.dp_sync", "sometimes", "step, microbatch"),
    ({"attention_kernel": "flash3"}, "parallel.attention_kernel", "flash3",
     "flash2, flash1"),
])
def test_parallel_rules(change, key, value, words):
    found = problems(parallel={**PAR, **change})
    assert (key, value) in found, found
    assert words in found[(key, value)]


@pytest.mark.parametrize(("change", "key", "value", "words"), [
    ({"layers": None}, "model.layers", None, "is required"),
    ({"hidden": 12288.5}, "model.hidden", 12288.5, "integer"),
    ({"kv_heads": 7}, "model.kv_heads", 7, "must divide heads"),
    ({"activation": "tanh"}, "model.activation", "tanh", "gelu, relu, squared_relu"),
    ({"width": 3}, "model.width", 3, "unknown key"),
])
def test_model_rules(change, key, value, words):
    found = problems(model={**GPT, **change})
    assert (key, value) in found, found
    assert words in found[(key, value)]


def test_unknown_gpu():
    found = problems(gpu="tpu-v9")
    assert ("gpu", "tpu-v9") in found
    found = problems(gpu={"peak_tflops": -1.0})
    assert ("gpu.peak_tflops", -1.0) in found


def test_model_that_does_not_fit_names_the_numbers():
    found = problems(model=LLAMA3_405B,
                     parallel={"tp": 8, "pp": 2, "gpus": 1024, "global_batch": 1024,
                               "micro_batch": 1, **{**LLAMA3, "uneven_pipeline": False}},
                     gpu="h100")
    (key, value), msg = next(iter(found.items()))
    assert key == "parallel" and "tp=8 pp=2" in value
    assert "does not fit in h100 memory" in msg and "GiB" in msg and "80.0" in msg
    assert "short even without the reserve" in msg


def test_no_micro_batch_fits_is_reported():
    found = problems(model=LLAMA3_405B,
                     parallel={"tp": 1, "pp": 1, "gpus": 64, "global_batch": 64,
                               "recompute": "full"}, gpu="h100")
    assert any("does not fit" in m for m in found.values())


def test_every_problem_reported_together_with_a_prefix():
    with pytest.raises(ConfigError) as info:
        perf.estimate(GPT, {**PAR, "tp": 5, "pp": 7}, "a100", prefix="jobs.gpt.")
    keys = {p.key for p in info.value.problems}
    assert {"jobs.gpt.parallel.tp", "jobs.gpt.parallel.pp", "jobs.gpt.parallel.gpus"} <= keys


def test_memory_check_can_be_skipped():
    e = perf.estimate(LLAMA3_405B, {"tp": 8, "pp": 2, "gpus": 1024, "global_batch": 1024,
                                     "micro_batch": 1, **{**LLAMA3, "uneven_pipeline": False}},
                      "h100", check_memory=False)
    assert e.memory_gib["total"] > e.memory_gib["capacity"]
