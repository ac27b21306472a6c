"""Published training throughputs with their full configurations, and simgpu's error.

Every row names its source (paper, table), the configuration as published and the
metric the source reports. Settings the source does not state are marked in ``assumed``
and explained in docs/perf.md. Rows flagged ``calibration=True`` were used to fit the
constants in :mod:`simgpu.perf.hardware`; the others were predicted, not fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: GPT shapes as published: Megatron-LM 2021 Table 1 (arXiv:2104.04473), heads, hidden,
#: layers; vocabulary 51,200 and sequence 2,048 for all (ibid., section 5.1).
_GPT = {"vocab": 51200, "seq_len": 2048, "activation": "gelu", "dropout": True,
        "tied_embeddings": True}
GPT_1_7B = {**_GPT, "name": "GPT 1.7B", "heads": 24, "hidden": 2304, "layers": 24}
GPT_3_6B = {**_GPT, "name": "GPT 3.6B", "heads": 32, "hidden": 3072, "layers": 30}
GPT_7_5B = {**_GPT, "name": "GPT 7.5B", "heads": 32, "hidden": 4096, "layers": 36}
GPT_18B = {**_GPT, "name": "GPT 18.4B", "heads": 48, "hidden": 6144, "layers": 40}
GPT_22B = {**_GPT, "name": "GPT 22B", "heads": 64, "hidden": 6144, "layers": 48}
GPT_39B = {**_GPT, "name": "GPT 39.1B", "heads": 64, "hidden": 8192, "layers": 48}
GPT_76B = {**_GPT, "name": "GPT 76.1B", "heads": 80, "hidden": 10240, "layers": 60}
GPT_146B = {**_GPT, "name": "GPT 145.6B", "heads": 96, "hidden": 12288, "layers": 80}
GPT_175B = {**_GPT, "name": "GPT-3 175B", "heads": 96, "hidden": 12288, "layers": 96}
GPT_310B = {**_GPT, "name": "GPT 310.1B", "heads": 128, "hidden": 16384, "layers": 96}
GPT_530B = {**_GPT, "name": "GPT 529.6B", "heads": 128, "hidden": 20480, "layers": 105}
GPT_1T = {**_GPT, "name": "GPT 1T", "heads": 160, "hidden": 25600, "layers": 128}
#: MegaScale's 175B (arXiv:2402.15627 Table 1: 128 heads), parallel transformer block.
MEGASCALE_175B = {**_GPT, "name": "MegaScale 175B", "heads": 128, "hidden": 12288,
                  "layers": 96}
#: Llama 3 405B (arXiv:2407.21783 Table 3).
LLAMA3_405B = {"name": "Llama 3 405B", "layers": 126, "hidden": 16384, "heads": 128,
               "kv_heads": 8, "ffn_hidden": 53248, "vocab": 128256, "seq_len": 8192,
               "activation": "swiglu"}

#: Megatron-LM as of 2021 (arXiv:2104.04473 section 5): full recomputation, no sequence
#: parallelism, unfused attention, no distributed optimizer, blocking communication.
MEGATRON_2021 = {"recompute": "full", "sequence_parallel": False, "flash_attention": False,
                 "zero_stage": 0, "dp_overlap": False, "pp_overlap": False,
                 "tp_overlap": False}
#: Megatron-LM as of 2022 (arXiv:2205.05198): "full" = full recomputation, no sequence
#: parallelism; "seqsel" = sequence parallelism + selective recomputation.
MEGATRON_2022_FULL = {**MEGATRON_2021}
MEGATRON_2022_SEQSEL = {**MEGATRON_2021, "recompute": "selective",
                        "sequence_parallel": True}
#: Megatron-LM baseline of MegaScale (arXiv:2402.15627 section 6.1, commit 285068c8):
#: sequence parallelism, selective recomputation, distributed optimizer.
MEGATRON_2023 = {**MEGATRON_2022_SEQSEL, "zero_stage": 1}
#: MegaScale (ibid. section 3): flash attention 2, TP/PP/DP communication overlapped.
MEGASCALE = {"recompute": "none", "sequence_parallel": True, "flash_attention": True,
             "zero_stage": 1, "dp_overlap": True, "pp_overlap": True, "tp_overlap": True}
#: Llama 3 405B (arXiv:2407.21783 section 3.3.2): FSDP-style sharding of gradients and
#: optimizer (weights not resharded after forward), no activation checkpointing at 8K,
#: interleaved 1F1B with one layer less on the first and last stages.
LLAMA3 = {"recompute": "none", "sequence_parallel": True, "flash_attention": True,
          "zero_stage": 2, "dp_overlap": True, "pp_overlap": True, "tp_overlap": False,
          "uneven_pipeline": True}


@dataclass(frozen=True)
class PublishedRow:
    """One published measurement and the configuration that produced it.

    Attributes
    ----------
    key : str
        Short unique id.
    source : str
        Citation (paper, table).
    model, parallel : dict
        Inputs to :func:`simgpu.perf.estimate`.
    gpu : str
        Catalogue name.
    metric : str
        Attribute of :class:`~simgpu.perf.model.Estimate` the source reports:
        ``hardware_tflops_per_gpu``, ``model_tflops_per_gpu``, ``mfu`` or
        ``step_seconds``.
    published : float
        The published value, in the metric's unit.
    calibration : bool
        Used to fit the constants (else predicted out of sample).
    assumed : str
        Settings not stated by the source.
    """

    key: str
    source: str
    model: dict[str, Any]
    parallel: dict[str, Any]
    gpu: str
    metric: str
    published: float
    calibration: bool = False
    assumed: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> str:
        """Short description of the configuration."""
        p = self.parallel
        dp = p.get("dp") or p["gpus"] // (p.get("tp", 1) * p.get("pp", 1) * p.get("cp", 1))
        parts = [self.model["name"], f"{p['gpus']} {self.gpu.upper()}",
                 f"TP{p.get('tp', 1)} PP{p.get('pp', 1)}"]
        if p.get("cp", 1) > 1:
            parts.append(f"CP{p['cp']}")
        parts.append(f"DP{dp}")
        if p.get("virtual_stages", 1) > 1:
            parts.append(f"v{p['virtual_stages']}")
        parts.append(f"B{p['global_batch']}")
        if self.model.get("seq_len", 2048) != 2048:
            parts.append(f"s{self.model['seq_len']}")
        rec = p.get("recompute", "none")
        parts.append("no recompute" if rec == "none" else f"{rec} recompute")
        return ", ".join(parts)

    @property
    def unit(self) -> str:
        """Unit of the metric."""
        return {"hardware_tflops_per_gpu": "TFLOP/s/GPU (HFU)",
                "model_tflops_per_gpu": "TFLOP/s/GPU (MFU)",
                "mfu": "MFU", "step_seconds": "s/step"}[self.metric]


def _row(key, source, model, gpus, tp, pp, batch, metric, value, settings, *, cp=1,
         micro=None, v=1, calibration=False, assumed="", seq_len=None, gpu="a100"):
    m = dict(model)
    if seq_len:
        m["seq_len"] = seq_len
    par = {"tp": tp, "pp": pp, "cp": cp, "gpus": gpus, "global_batch": batch,
           "micro_batch": micro, "virtual_stages": v, **settings}
    return PublishedRow(key, source, m, par, gpu, metric, value, calibration, assumed)


_T1 = "Megatron-LM 2021, arXiv:2104.04473 Table 1"
_T2 = "Megatron-LM 2021, arXiv:2104.04473 Table 2 (PTD-P)"
_K5 = "Korthikanti 2022, arXiv:2205.05198 Table 5"
_KA = "Korthikanti 2022, arXiv:2205.05198 abstract"
_MS = "MegaScale 2024, arXiv:2402.15627 Table 2"
_MS_BASE = _MS + " (Megatron-LM baseline)"
_L3 = "Llama 3 2024, arXiv:2407.21783 Table 4"
_HF = "hardware_tflops_per_gpu"
_T1_NOTE = ("micro-batch not published (chosen by simgpu); non-interleaved schedule "
            "(what Table 2's scaling implies)")

#: Every published row simgpu is checked against (docs/perf.md, tests/perf).
PUBLISHED: tuple[PublishedRow, ...] = (
    # Megatron-LM 2021 Table 1: A100 80GB, TF/s per GPU by eq. (3) (with recomputation).
    _row("megatron21-1.7b", _T1, GPT_1_7B, 32, 1, 1, 512, _HF, 137, MEGATRON_2021,
         calibration=True, assumed=_T1_NOTE),
    _row("megatron21-3.6b", _T1, GPT_3_6B, 64, 2, 1, 512, _HF, 138, MEGATRON_2021,
         assumed=_T1_NOTE),
    _row("megatron21-7.5b", _T1, GPT_7_5B, 128, 4, 1, 512, _HF, 142, MEGATRON_2021,
         calibration=True, assumed=_T1_NOTE),
    _row("megatron21-18.4b", _T1, GPT_18B, 256, 8, 1, 1024, _HF, 135, MEGATRON_2021,
         assumed=_T1_NOTE),
    _row("megatron21-39.1b", _T1, GPT_39B, 512, 8, 2, 1536, _HF, 138, MEGATRON_2021,
         calibration=True, assumed=_T1_NOTE),
    _row("megatron21-76.1b", _T1, GPT_76B, 1024, 8, 4, 1792, _HF, 140, MEGATRON_2021,
         assumed=_T1_NOTE),
    _row("megatron21-145.6b", _T1, GPT_146B, 1536, 8, 8, 2304, _HF, 148, MEGATRON_2021,
         calibration=True, assumed=_T1_NOTE),
    _row("megatron21-310.1b", _T1, GPT_310B, 1920, 8, 16, 2160, _HF, 155, MEGATRON_2021,
         assumed=_T1_NOTE),
    _row("megatron21-529.6b", _T1, GPT_530B, 2520, 8, 35, 2520, _HF, 163, MEGATRON_2021,
         calibration=True, assumed=_T1_NOTE),
    _row("megatron21-1t", _T1, GPT_1T, 3072, 8, 64, 3072, _HF, 163, MEGATRON_2021,
         calibration=True, assumed=_T1_NOTE),
    # Megatron-LM 2021 Table 2, PTD-P rows: micro-batch 1, model-parallel size 96 / 280.
    _row("megatron21-175b-384", _T2, GPT_175B, 384, 8, 12, 1536, _HF, 153, MEGATRON_2021,
         micro=1),
    _row("megatron21-175b-768", _T2, GPT_175B, 768, 8, 12, 1536, _HF, 149, MEGATRON_2021,
         micro=1),
    _row("megatron21-175b-1536", _T2, GPT_175B, 1536, 8, 12, 1536, _HF, 141, MEGATRON_2021,
         micro=1),
    _row("megatron21-530b-560", _T2, GPT_530B, 560, 8, 35, 2240, _HF, 171, MEGATRON_2021,
         micro=1),
    _row("megatron21-530b-1120", _T2, GPT_530B, 1120, 8, 35, 2240, _HF, 167, MEGATRON_2021,
         micro=1),
    _row("megatron21-530b-2240", _T2, GPT_530B, 2240, 8, 35, 2240, _HF, 159, MEGATRON_2021,
         micro=1),
    # Korthikanti et al. 2022 Table 5: iteration time, s (configurations of their
    # Table 3; interleaving as in Calculon's validation inputs for the same runs).
    _row("korthikanti-22b-full", _K5, GPT_22B, 8, 8, 1, 4, "step_seconds", 1.42,
         MEGATRON_2022_FULL, micro=4),
    _row("korthikanti-22b-seqsel", _K5, GPT_22B, 8, 8, 1, 4, "step_seconds", 1.10,
         MEGATRON_2022_SEQSEL, micro=4, calibration=True),
    _row("korthikanti-175b-full", _K5, GPT_175B, 64, 8, 8, 64, "step_seconds", 18.13,
         MEGATRON_2022_FULL, micro=1, v=3, assumed="3 virtual stages (not in the paper)"),
    _row("korthikanti-175b-seqsel", _K5, GPT_175B, 64, 8, 8, 64, "step_seconds", 13.75,
         MEGATRON_2022_SEQSEL, micro=1, v=3, calibration=True,
         assumed="3 virtual stages (not in the paper)"),
    _row("korthikanti-530b-full", _K5, GPT_530B, 280, 8, 35, 280, "step_seconds", 49.05,
         MEGATRON_2022_FULL, micro=1, v=3, assumed="3 virtual stages (not in the paper)"),
    _row("korthikanti-530b-seqsel", _K5, GPT_530B, 280, 8, 35, 280, "step_seconds", 37.83,
         MEGATRON_2022_SEQSEL, micro=1, v=3, assumed="3 virtual stages (not in the paper)"),
    _row("korthikanti-1t-full", _K5, GPT_1T, 512, 8, 64, 512, "step_seconds", 94.42,
         MEGATRON_2022_FULL, micro=1),
    _row("korthikanti-1t-seqsel", _K5, GPT_1T, 512, 8, 64, 512, "step_seconds", 71.49,
         MEGATRON_2022_SEQSEL, micro=1, calibration=True),
    _row("korthikanti-530b-2240-full", _KA, GPT_530B, 2240, 8, 35, 2240, "mfu", 0.421,
         MEGATRON_2022_FULL, micro=1, v=3,
         assumed="global batch 2240 (280 per replica, as at 280 GPUs); 3 virtual stages"),
    _row("korthikanti-530b-2240-seqsel", _KA, GPT_530B, 2240, 8, 35, 2240, "mfu", 0.542,
         MEGATRON_2022_SEQSEL, micro=1, v=3,
         assumed="global batch 2240 (280 per replica, as at 280 GPUs); 3 virtual stages"),
    # MegaScale 2024 Table 2: 175B on Ampere GPUs, TP8 PP8; MFU.
    *(_row(f"megascale-megatron-{n}", _MS_BASE, MEGASCALE_175B, n, 8, 8, b, "mfu", mfu,
           MEGATRON_2023, micro=1, assumed="recomputation, flash attention, vocabulary and "
           "schedule of the baseline not published (selective, unfused, 51,200, "
           "non-interleaved)")
      for n, b, mfu in ((256, 768, 0.530), (512, 768, 0.499), (768, 768, 0.467),
                        (1024, 768, 0.447), (3072, 6144, 0.487), (6144, 6144, 0.478),
                        (8192, 6144, 0.433), (12288, 6144, 0.412))),
    *(_row(f"megascale-{n}", _MS, {**MEGASCALE_175B, "parallel_block": True}, n, 8, 8, b,
           "mfu", mfu, MEGASCALE, micro=1, v=2, calibration=n == 12288,
           assumed="vocabulary 51,200, 2 virtual stages, no recomputation (not published)")
      for n, b, mfu in ((256, 768, 0.653), (512, 768, 0.635), (768, 768, 0.613),
                        (1024, 768, 0.590), (3072, 6144, 0.591), (6144, 6144, 0.573),
                        (8192, 6144, 0.549), (12288, 6144, 0.552))),
    # Llama 3 405B Table 4: H100, TFLOPs/GPU (BF16 MFU 43 / 41 / 38 %).
    _row("llama3-405b-8k-8192", _L3, LLAMA3_405B, 8192, 8, 16, 2048,
         "model_tflops_per_gpu", 430, LLAMA3, micro=1, v=4, calibration=True, gpu="h100",
         assumed="4 virtual stages (interleaving degree not published)"),
    _row("llama3-405b-8k-16384", _L3, LLAMA3_405B, 16384, 8, 16, 2048,
         "model_tflops_per_gpu", 400, LLAMA3, micro=1, v=4, gpu="h100",
         assumed="4 virtual stages (interleaving degree not published)"),
    _row("llama3-405b-128k-16384", _L3, LLAMA3_405B, 16384, 8, 16, 128,
         "model_tflops_per_gpu", 380, LLAMA3, cp=16, micro=1, v=4, seq_len=131072,
         calibration=True, gpu="h100",
         assumed="4 virtual stages (interleaving degree not published)"),
)
