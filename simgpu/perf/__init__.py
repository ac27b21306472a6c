"""Throughput model: step time, TFLOP/s per GPU and MFU of dense transformer training.

Usable alone::

    >>> from simgpu import perf
    >>> est = perf.estimate(
    ...     {"layers": 126, "hidden": 16384, "heads": 128, "kv_heads": 8,
    ...      "ffn_hidden": 53248, "vocab": 128256, "seq_len": 8192, "activation": "swiglu"},
    ...     {"tp": 8, "pp": 16, "dp": 128, "cp": 1, "global_batch": 2048,
    ...      "virtual_stages": 4, "uneven_pipeline": True, "zero_stage": 2},
    ...     "h100")
    >>> round(est.mfu, 2)
    0.39

:func:`estimate` returns an :class:`Estimate` (step time, model and hardware TFLOP/s per
GPU, MFU and HFU, a breakdown of the step, the memory per GPU, the MFU's out-of-source
prediction band and warnings where the configuration lies outside the calibrated
range); :func:`mfu_for` is the hook the simulator's config layer calls and
:func:`mfu_band_for` returns ``(p10, mfu, p90)``; :func:`validation_rows` compares the
model with every published run, in sample and out of source (leave-one-source-out
cross-validation, docs/perf.md). Bad input raises :class:`~simgpu.errors.ConfigError`
naming each key and value.
"""

from simgpu.perf.hardware import ARCHITECTURES, CALIBRATION, Arch, Calibration, resolve_gpu
from simgpu.perf.model import (
    Estimate,
    band_multipliers,
    bubble_fraction,
    estimate,
    hardware_flops,
    memory,
    mfu_band_for,
    mfu_for,
    model_flops,
    ring_allgather_seconds,
    ring_allreduce_seconds,
)
from simgpu.perf.published import PUBLISHED, PublishedRow
from simgpu.perf.spec import ModelSpec, ParallelSpec, model_spec, parallel_spec
from simgpu.perf.validation import (
    MEAN_GOAL,
    TOLERANCE,
    ValidationRow,
    crossvalidation_table,
    validation_rows,
    validation_table,
)

__all__ = [
    "ARCHITECTURES",
    "CALIBRATION",
    "MEAN_GOAL",
    "PUBLISHED",
    "TOLERANCE",
    "Arch",
    "Calibration",
    "Estimate",
    "ModelSpec",
    "ParallelSpec",
    "PublishedRow",
    "ValidationRow",
    "bubble_fraction",
    "crossvalidation_table",
    "estimate",
    "hardware_flops",
    "memory",
    "band_multipliers",
    "mfu_band_for",
    "mfu_for",
    "model_flops",
    "model_spec",
    "parallel_spec",
    "resolve_gpu",
    "ring_allgather_seconds",
    "ring_allreduce_seconds",
    "validation_rows",
    "validation_table",
]
