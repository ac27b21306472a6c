"""Published training throughputs with their full configurations.

Every row names its source (paper and table, or repository, commit and file), the
configuration as published, the software settings the source ran with, and the metric
the source reports (simgpu computes the same metric with its own FLOP count, so a
source's FLOP convention never enters: a step time or a token rate is compared as
such, a TFLOP/s or MFU figure with simgpu's count of the same convention). Settings the
source does not state are marked in ``assumed`` and explained in docs/perf.md.

``group`` is the independent source a row belongs to: leave-one-source-out
cross-validation (:mod:`simgpu.perf.validation`) predicts each group with constants
fitted without it. Rows with ``calibration=False`` are never fitted on (held out
entirely: figures the source qualifies as approximate or maxima, or hardware whose
peak the source does not know).
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

# ---- models of the 2024 NVIDIA DGX Cloud benchmarking recipes (NVIDIA/dgxc-benchmarking
# commit 35a9aec, the NeMo configuration files next to each README) ------------------
_DGXC = "NVIDIA/dgxc-benchmarking@35a9aec"
#: GPT-3 175B as NeMo runs it (nemo_megatron/gpt3_175b_hydra.yaml): dropout 0.1, GPT-2
#: BPE padded to a multiple of 128 x TP4 (50,688), shared embeddings.
NEMO_GPT3_175B = {**GPT_175B, "name": "GPT-3 175B (NeMo)", "ffn_hidden": 49152,
                  "vocab": 50688}
#: Nemotron-4 340B (nemotron/nemotron4-340b-synth.yaml; arXiv:2406.11704): GQA 8,
#: squared ReLU, no bias or dropout, 256k SentencePiece vocabulary, untied embeddings.
NEMOTRON4_340B = {"name": "Nemotron-4 340B", "layers": 96, "hidden": 18432, "heads": 96,
                  "kv_heads": 8, "ffn_hidden": 73728, "vocab": 256000, "seq_len": 4096,
                  "activation": "squared_relu"}
#: Nemotron-4 15B (nemotron/nemotron4-15b-synth.yaml; arXiv:2402.16819).
NEMOTRON4_15B = {"name": "Nemotron-4 15B", "layers": 32, "hidden": 6144, "heads": 48,
                 "kv_heads": 8, "ffn_hidden": 24576, "vocab": 256000, "seq_len": 4096,
                 "activation": "squared_relu"}
#: Llama 3.1 8B and 70B as the recipes run them (llama3.1/llama3.1_{8b,70b}.yaml: the
#: Llama 3 tokenizer, 128,256).
LLAMA31_8B = {"name": "Llama 3.1 8B", "layers": 32, "hidden": 4096, "heads": 32,
              "kv_heads": 8, "ffn_hidden": 14336, "vocab": 128256, "seq_len": 8192,
              "activation": "swiglu"}
LLAMA31_70B = {"name": "Llama 3.1 70B", "layers": 80, "hidden": 8192, "heads": 64,
               "kv_heads": 8, "ffn_hidden": 28672, "vocab": 128256, "seq_len": 8192,
               "activation": "swiglu"}
#: Llama 3.1 405B as the recipe runs it (llama3.1/llama3.1_405b.yaml): 16 query groups
#: (not Meta's 8) and the GPT-2 BPE tokenizer padded to a multiple of 128 x TP8 (51,200).
NEMO_LLAMA31_405B = {**LLAMA3_405B, "name": "Llama 3.1 405B (NeMo)", "kv_heads": 16,
                     "vocab": 51200}

# ---- MPT models of LLM Foundry's benchmark table (mosaicml/llm-foundry commit
# 5e85bd62d, scripts/train/yamls/pretrain/mpt-*.yaml): GeLU MLP of 4h, vocabulary 50,368,
# output layer tied to the input embedding, no dropout -----------------------------------
_MPT = {"vocab": 50368, "activation": "gelu", "tied_embeddings": True}
MPT = {
    "1b": {**_MPT, "name": "MPT 1B", "layers": 24, "hidden": 2048, "heads": 16},
    "7b": {**_MPT, "name": "MPT 7B", "layers": 32, "hidden": 4096, "heads": 32},
    "13b": {**_MPT, "name": "MPT 13B", "layers": 40, "hidden": 5120, "heads": 40},
    "30b": {**_MPT, "name": "MPT 30B", "layers": 48, "hidden": 7168, "heads": 56},
    "70b": {**_MPT, "name": "MPT 70B", "layers": 80, "hidden": 8192, "heads": 64},
}

# ---- torchtitan models (pytorch/torchtitan torchtitan/models/llama/__init__.py) ------
LLAMA2_13B = {"name": "Llama 2 13B", "layers": 40, "hidden": 5120, "heads": 40,
              "ffn_hidden": 13824, "vocab": 32000, "seq_len": 4096, "activation": "swiglu"}
LLAMA3_70B = {**LLAMA31_70B, "name": "Llama 3 70B"}
LLAMA31_8B_TT = {**LLAMA31_8B, "name": "Llama 3.1 8B"}

# ---- 2021-22 runs with frameworks other than Megatron-LM ------------------------------
#: MT-NLG 530B (arXiv:2201.11990 section 2): Megatron GPT shape of 105 layers, 20,480
#: hidden, 128 heads; GPT-2 BPE padded to 51,200 as Megatron-LM does for TP8.
MTNLG_530B = {**GPT_530B, "name": "MT-NLG 530B"}
#: OPT-175B (arXiv:2205.01068 Table 1): 96 layers, 96 heads, 12,288 hidden, ReLU MLP,
#: dropout 0.1, vocabulary 50,272, tied embeddings.
OPT_175B = {**GPT_175B, "name": "OPT-175B", "vocab": 50272, "activation": "relu"}
#: BLOOM (arXiv:2211.05100 Table 3): 70 layers, 14,336 hidden, 112 heads, vocabulary
#: 250,680 padded to 250,880, no dropout, tied embeddings, GeLU.
BLOOM_176B = {"name": "BLOOM 176B", "layers": 70, "hidden": 14336, "heads": 112,
              "vocab": 250880, "seq_len": 2048, "activation": "gelu",
              "tied_embeddings": True}

#: Megatron-LM as of 2021 (arXiv:2104.04473 section 5): full recomputation, no sequence
#: parallelism, unfused attention, no distributed optimizer, blocking communication.
MEGATRON_2021 = {"recompute": "full", "sequence_parallel": False, "flash_attention": False,
                 "zero_stage": 0, "dp_overlap": False, "pp_overlap": False,
                 "tp_overlap": False}
#: The same as the paper's runs were launched (NVIDIA/Megatron-LM
#: examples/academic_paper_scripts/sc21/CONFIG.sh, commit 6985e58 named in its README):
#: ``--fp16`` without ``--accumulate-allreduce-grads-in-fp32``, so gradients are kept and
#: all-reduced in FP16; ``--DDP-impl local`` (Megatron's DDP: all-reduce after the
#: backward pass). ``run_table_1.sh`` runs the four smallest Table 1 models with
#: ``--DDP-impl torch`` (PyTorch DDP: bucketed all-reduce overlapped with the backward).
MEGATRON_2021_SC21 = {**MEGATRON_2021, "grad_dtype": "fp16", "grad_accum_fusion": False}
MEGATRON_2021_SC21_TORCH_DDP = {**MEGATRON_2021_SC21, "dp_overlap": True}
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
          "uneven_pipeline": True, "dp_sync": "step", "grad_dtype": "fp32"}
#: NeMo 24.09/24.11 (the DGX Cloud recipes' YAML): Megatron-core with Transformer Engine
#: (fused kernels and attention), sequence parallelism, distributed fused Adam (ZeRO-1)
#: with ``grad_sync_dtype: bf16`` and overlapped gradient reduce-scatter and parameter
#: all-gather, no recomputation unless stated. TP and PP overlap per recipe.
NEMO_2024 = {"recompute": "none", "sequence_parallel": True, "flash_attention": True,
             "zero_stage": 1, "grad_dtype": "bf16", "dp_overlap": True, "cp_overlap": True,
             "fused_kernels": True}
#: LLM Foundry / Composer on PyTorch 2.1 (the table's columns): FSDP (``FULL_SHARD`` =
#: ZeRO-3, ``SHARD_GRAD_OP`` = ZeRO-2), communication after every micro-batch, gradient
#: reduction in FP32 (mixed precision ``DEFAULT``) or BF16 (``PURE``), fused attention
#: (``attn_impl: triton``: the Triton port of FlashAttention v1, run on the pre-MLIR Triton
#: compiler ``triton-pre-mlir`` that llm-foundry's MPT attention module requires, hence
#: ``attention_kernel: flash1``), eager PyTorch for the rest (no kernel fusion).
FOUNDRY = {"tp": 1, "pp": 1, "flash_attention": True, "attention_kernel": "flash1",
           "dp_sync": "microbatch",
           "grad_dtype": "fp32", "dp_overlap": True, "fused_kernels": False}
#: torchtitan (pytorch/torchtitan): FSDP2 (ZeRO-3), reduction in FP32
#: (``mixed_precision_reduce`` default), SDPA flash attention, eager unless compiled.
TORCHTITAN = {"tp": 1, "pp": 1, "zero_stage": 3, "dp_sync": "microbatch",
              "grad_dtype": "fp32", "flash_attention": True, "dp_overlap": True,
              "fused_kernels": False}
#: DeepSpeed's pipeline engine with Megatron-LM layers (MT-NLG, BLOOM): 1F1B without
#: interleaving, blocking point-to-point, gradient reduction after the pipeline flush,
#: Megatron's fused kernels, unfused attention, full recomputation.
DEEPSPEED_PIPE = {**MEGATRON_2021, "pp_scatter_gather": False, "grad_accum_fusion": False}


def _gpu(name: str, **change: float) -> dict[str, Any]:
    """A catalogue entry with some values changed (a cluster other than the reference).

    The catalogue values are read when the row is evaluated, so a catalogue edit
    reaches every row that does not override that value.
    """
    return {"name": name, "__catalogue__": name, **change}


#: BLOOM's Jean Zay nodes: 4 Omni-Path 100 Gb/s links per 8-GPU node (arXiv:2211.05100
#: section 3.5.1), i.e. 50 Gb/s per GPU.
JEAN_ZAY_A100 = _gpu("a100", scaleout_gbit_s=50.0)
#: torchtitan's Grand Teton H100 (docs/performance.md): 96 GB HBM2e at 2.4 TB/s, 400 Gb/s
#: per GPU, 500 W power limit; the source says the dense peak lies between the SXM
#: (989) and NVL (835) figures and reports MFU against 989, which is kept here.
GRAND_TETON_H100 = _gpu("h100", hbm_gib=96.0, hbm_tb_s=2.4, tdp_w=500.0)


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
    gpu : str or dict
        Catalogue name, or a catalogue entry with values changed (:func:`gpu_entry`).
    metric : str
        Attribute of :class:`~simgpu.perf.model.Estimate` the source reports:
        ``hardware_tflops_per_gpu``, ``model_tflops_per_gpu``, ``mfu``,
        ``step_seconds`` or ``tokens_per_second_per_gpu``.
    published : float
        The published value, in the metric's unit.
    calibration : bool
        Fitted on (else held out entirely, only predicted).
    assumed : str
        Settings not stated by the source.
    group : str
        Independent source (leave-one-source-out cross-validation unit).
    """

    key: str
    source: str
    model: dict[str, Any]
    parallel: dict[str, Any]
    gpu: Any
    metric: str
    published: float
    calibration: bool = True
    assumed: str = ""
    group: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gpu_name(self) -> str:
        """Catalogue name of the GPU."""
        return self.gpu if isinstance(self.gpu, str) else self.gpu["name"]

    @property
    def gpu_input(self) -> Any:
        """The GPU as :func:`simgpu.perf.estimate` takes it."""
        return gpu_entry(self.gpu)

    @property
    def config(self) -> str:
        """Short description of the configuration."""
        p = self.parallel
        dp = p.get("dp") or p["gpus"] // (p.get("tp", 1) * p.get("pp", 1) * p.get("cp", 1))
        gpu = self.gpu_name.upper() + ("*" if not isinstance(self.gpu, str) else "")
        parts = [self.model["name"], f"{p['gpus']} {gpu}",
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
        if p.get("zero_stage", 1) >= 2 and p.get("pp", 1) == 1 and p.get("tp", 1) == 1:
            parts.append(f"FSDP/ZeRO-{p['zero_stage']}")
        if p.get("micro_batch"):
            parts.append(f"mb{p['micro_batch']}")
        return ", ".join(parts)

    @property
    def unit(self) -> str:
        """Unit of the metric."""
        return {"hardware_tflops_per_gpu": "TFLOP/s/GPU (HFU)",
                "model_tflops_per_gpu": "TFLOP/s/GPU (MFU)",
                "mfu": "MFU", "step_seconds": "s/step",
                "tokens_per_second_per_gpu": "tokens/s/GPU"}[self.metric]


def gpu_entry(gpu: Any) -> Any:
    """A row's GPU as :func:`simgpu.perf.estimate` takes it (catalogue values filled in)."""
    if isinstance(gpu, str):
        return gpu
    import dataclasses

    from simgpu.perf.hardware import catalogue

    base = dict(gpu)
    name = base.pop("__catalogue__")
    return {**dataclasses.asdict(catalogue()[name]), **base}


def _row(key, source, model, gpus, tp, pp, batch, metric, value, settings, *, cp=1,
         micro=None, v=1, calibration=True, assumed="", seq_len=None, gpu="a100",
         group=""):
    m = dict(model)
    if seq_len:
        m["seq_len"] = seq_len
    par = {"tp": tp, "pp": pp, "cp": cp, "gpus": gpus, "global_batch": batch,
           "micro_batch": micro, "virtual_stages": v, **settings}
    return PublishedRow(key, source, m, par, gpu, metric, value, calibration, assumed,
                        group or source.split(",")[0])


_T1 = "Megatron-LM 2021, arXiv:2104.04473 Table 1"
_T2 = "Megatron-LM 2021, arXiv:2104.04473 Table 2 (PTD-P)"
_K5 = "Korthikanti 2022, arXiv:2205.05198 Table 5"
_KA = "Korthikanti 2022, arXiv:2205.05198 abstract"
_MS = "MegaScale 2024, arXiv:2402.15627 Table 2"
_MS_BASE = _MS + " (Megatron-LM baseline)"
_L3 = "Llama 3 2024, arXiv:2407.21783 Table 4"
_HF = "hardware_tflops_per_gpu"
_T1_NOTE = ("micro-batch, interleaving and DDP implementation not in the paper: from its "
            "reproduction script (Megatron-LM examples/academic_paper_scripts/sc21/"
            "run_table_1.sh)")
_G_NAR, _G_KOR, _G_MS, _G_L3 = ("Narayanan 2021", "Korthikanti 2022", "MegaScale 2024",
                                "Llama 3 2024")
_G_DGXC, _G_LF, _G_TT = ("NVIDIA DGX Cloud 2024", "LLM Foundry 2024", "torchtitan 2024")
_G_MTNLG, _G_OPT, _G_BLOOM = "MT-NLG 2022", "OPT 2022", "BLOOM 2022"

_D175 = f"NVIDIA DGX Cloud benchmarking, {_DGXC} nemo_megatron/README_175b.md"
_D340 = f"NVIDIA DGX Cloud benchmarking, {_DGXC} nemotron/README_340b.md (NeMo 24.11)"
_D15 = f"NVIDIA DGX Cloud benchmarking, {_DGXC} nemotron/README_15b.md (NeMo 24.11)"
_D8 = f"NVIDIA DGX Cloud benchmarking, {_DGXC} llama3.1/README_8b.md (NeMo 24.09)"
_D70 = f"NVIDIA DGX Cloud benchmarking, {_DGXC} llama3.1/README_70b.md (NeMo 24.09)"
_D405 = f"NVIDIA DGX Cloud benchmarking, {_DGXC} llama3.1/README_405b.md (NeMo 24.09)"
_LF = ("LLM Foundry benchmarks, mosaicml/llm-foundry@5e85bd62d "
       "scripts/train/benchmarking/README.md")
_LF_H100 = _LF + " (H100 80GB BF16)"
_LF_H100L = _LF + " (H100 80GB BF16, large scale)"
_LF_A100 = _LF + " (A100 80GB, 1600 Gbps RoCE)"
_TT_A100 = "torchtitan, pytorch/torchtitan@3faaa1a0d docs/performance.md (Llama 3 on A100)"
_TT_H100 = "torchtitan, pytorch/torchtitan@d4c86e375 docs/performance.md Tables 1 and 3"
_MTNLG = "MT-NLG 2022, arXiv:2201.11990 section 2.4"
_OPT = "OPT 2022, arXiv:2205.01068 section 2.4"
_BLOOM = "BLOOM 2022, bigscience.notion.site BigScience-176B-Model (training summary)"
_TPS = "tokens_per_second_per_gpu"
_STEP = "step_seconds"


def _foundry(size, gpus, seq, micro, accum, tps, *, ac, shard=3, pure=False, gpu="h100",
             source=_LF_H100):
    """One row of LLM Foundry's table: model, GPUs, sequence length, micro-batch,
    gradient accumulation, tokens/s/GPU, activation checkpointing, sharding."""
    settings = {**FOUNDRY, "zero_stage": shard, "recompute": "full" if ac else "none",
                "grad_dtype": "bf16" if pure else "fp32"}
    return _row(f"foundry-{size}-{gpu}-{gpus}-s{seq}", source, MPT[size], gpus, 1, 1,
                gpus * micro * accum, _TPS, tps, settings, micro=micro, seq_len=seq, gpu=gpu,
                group=_G_LF, assumed="network: the catalogue's per-GPU NIC rate "
                "(H100 400 Gb/s; A100 200 Gb/s as the table states); learned position "
                "embeddings omitted (no matmul)")


#: Every published row simgpu is checked against (docs/perf.md, tests/perf).
PUBLISHED: tuple[PublishedRow, ...] = (
    # Megatron-LM 2021 Table 1: A100 80GB, TF/s per GPU by eq. (3) (with recomputation).
    # Micro-batch, interleaving (layers per virtual stage) and DDP implementation as in
    # the paper's reproduction script (NVIDIA/Megatron-LM
    # examples/academic_paper_scripts/sc21/run_table_1.sh).
    *(_row(f"megatron21-{k}", _T1, shape, n, tp, pp, b, _HF, val,
           MEGATRON_2021_SC21_TORCH_DDP if ddp == "torch" else MEGATRON_2021_SC21,
           micro=mbs, v=v, assumed=_T1_NOTE, group=_G_NAR)
      for k, shape, n, tp, pp, b, val, mbs, v, ddp in (
          ("1.7b", GPT_1_7B, 32, 1, 1, 512, 137, 16, 1, "torch"),
          ("3.6b", GPT_3_6B, 64, 2, 1, 512, 138, 16, 1, "torch"),
          ("7.5b", GPT_7_5B, 128, 4, 1, 512, 142, 16, 1, "torch"),
          ("18.4b", GPT_18B, 256, 8, 1, 1024, 135, 8, 1, "torch"),
          ("39.1b", GPT_39B, 512, 8, 2, 1536, 138, 4, 1, "local"),
          ("76.1b", GPT_76B, 1024, 8, 4, 1792, 140, 2, 3, "local"),
          ("145.6b", GPT_146B, 1536, 8, 8, 2304, 148, 2, 2, "local"),
          ("310.1b", GPT_310B, 1920, 8, 16, 2160, 155, 1, 2, "local"),
          ("529.6b", GPT_530B, 2520, 8, 35, 2520, 163, 1, 3, "local"),
          ("1t", GPT_1T, 3072, 8, 64, 3072, 163, 1, 1, "local"))),
    # Megatron-LM 2021 Table 2, PTD-P rows: micro-batch 1, model-parallel size 96 / 280.
    *(_row(f"megatron21-{k}", _T2, shape, n, 8, pp, b, _HF, val, MEGATRON_2021_SC21,
           micro=1, group=_G_NAR)
      for k, shape, n, pp, b, val in (
          ("175b-384", GPT_175B, 384, 12, 1536, 153), ("175b-768", GPT_175B, 768, 12, 1536, 149),
          ("175b-1536", GPT_175B, 1536, 12, 1536, 141),
          ("530b-560", GPT_530B, 560, 35, 2240, 171), ("530b-1120", GPT_530B, 1120, 35, 2240, 167),
          ("530b-2240", GPT_530B, 2240, 35, 2240, 159))),
    # Korthikanti et al. 2022 Table 5: iteration time, s (configurations of their
    # Table 3; interleaving as in Calculon's validation inputs for the same runs).
    _row("korthikanti-22b-full", _K5, GPT_22B, 8, 8, 1, 4, _STEP, 1.42,
         MEGATRON_2022_FULL, micro=4, group=_G_KOR),
    _row("korthikanti-22b-seqsel", _K5, GPT_22B, 8, 8, 1, 4, _STEP, 1.10,
         MEGATRON_2022_SEQSEL, micro=4, group=_G_KOR),
    _row("korthikanti-175b-full", _K5, GPT_175B, 64, 8, 8, 64, _STEP, 18.13,
         MEGATRON_2022_FULL, micro=1, v=3, assumed="3 virtual stages (not in the paper)",
         group=_G_KOR),
    _row("korthikanti-175b-seqsel", _K5, GPT_175B, 64, 8, 8, 64, _STEP, 13.75,
         MEGATRON_2022_SEQSEL, micro=1, v=3, assumed="3 virtual stages (not in the paper)",
         group=_G_KOR),
    _row("korthikanti-530b-full", _K5, GPT_530B, 280, 8, 35, 280, _STEP, 49.05,
         MEGATRON_2022_FULL, micro=1, v=3, assumed="3 virtual stages (not in the paper)",
         group=_G_KOR),
    _row("korthikanti-530b-seqsel", _K5, GPT_530B, 280, 8, 35, 280, _STEP, 37.83,
         MEGATRON_2022_SEQSEL, micro=1, v=3, assumed="3 virtual stages (not in the paper)",
         group=_G_KOR),
    _row("korthikanti-1t-full", _K5, GPT_1T, 512, 8, 64, 512, _STEP, 94.42,
         MEGATRON_2022_FULL, micro=1, group=_G_KOR),
    _row("korthikanti-1t-seqsel", _K5, GPT_1T, 512, 8, 64, 512, _STEP, 71.49,
         MEGATRON_2022_SEQSEL, micro=1, group=_G_KOR),
    _row("korthikanti-530b-2240-full", _KA, GPT_530B, 2240, 8, 35, 2240, "mfu", 0.421,
         MEGATRON_2022_FULL, micro=1, v=3, group=_G_KOR,
         assumed="global batch 2240 (280 per replica, as at 280 GPUs); 3 virtual stages"),
    _row("korthikanti-530b-2240-seqsel", _KA, GPT_530B, 2240, 8, 35, 2240, "mfu", 0.542,
         MEGATRON_2022_SEQSEL, micro=1, v=3, group=_G_KOR,
         assumed="global batch 2240 (280 per replica, as at 280 GPUs); 3 virtual stages"),
    # MegaScale 2024 Table 2: 175B on Ampere GPUs, TP8 PP8; MFU.
    *(_row(f"megascale-megatron-{n}", _MS_BASE, MEGASCALE_175B, n, 8, 8, b, "mfu", mfu,
           MEGATRON_2023, micro=1, group=_G_MS, assumed="recomputation, flash attention, "
           "vocabulary and schedule of the baseline not published (selective, unfused, "
           "51,200, non-interleaved)")
      for n, b, mfu in ((256, 768, 0.530), (512, 768, 0.499), (768, 768, 0.467),
                        (1024, 768, 0.447), (3072, 6144, 0.487), (6144, 6144, 0.478),
                        (8192, 6144, 0.433), (12288, 6144, 0.412))),
    *(_row(f"megascale-{n}", _MS, {**MEGASCALE_175B, "parallel_block": True}, n, 8, 8, b,
           "mfu", mfu, MEGASCALE, micro=1, v=2, group=_G_MS,
           assumed="vocabulary 51,200, 2 virtual stages, no recomputation (not published)")
      for n, b, mfu in ((256, 768, 0.653), (512, 768, 0.635), (768, 768, 0.613),
                        (1024, 768, 0.590), (3072, 6144, 0.591), (6144, 6144, 0.573),
                        (8192, 6144, 0.549), (12288, 6144, 0.552))),
    # Llama 3 405B Table 4: H100, TFLOPs/GPU (BF16 MFU 43 / 41 / 38 %).
    _row("llama3-405b-8k-8192", _L3, LLAMA3_405B, 8192, 8, 16, 2048,
         "model_tflops_per_gpu", 430, LLAMA3, micro=1, v=4, gpu="h100", group=_G_L3,
         assumed="4 virtual stages (interleaving degree not published); weights gathered "
         "and gradients reduce-scattered once per step"),
    _row("llama3-405b-8k-16384", _L3, LLAMA3_405B, 16384, 8, 16, 2048,
         "model_tflops_per_gpu", 400, LLAMA3, micro=1, v=4, gpu="h100", group=_G_L3,
         assumed="4 virtual stages (interleaving degree not published); weights gathered "
         "and gradients reduce-scattered once per step"),
    _row("llama3-405b-128k-16384", _L3, LLAMA3_405B, 16384, 8, 16, 128,
         "model_tflops_per_gpu", 380, LLAMA3, cp=16, micro=1, v=4, seq_len=131072,
         gpu="h100", group=_G_L3,
         assumed="4 virtual stages (interleaving degree not published); weights gathered "
         "and gradients reduce-scattered once per step"),
    # NVIDIA DGX Cloud benchmarking recipes, DGX H100: BF16 training step time, s (the
    # README's "Training step time"; its MFU column uses a FLOP count that treats GQA as
    # full attention, so the step time is compared). Weak scaling: GBS grows with GPUs.
    *(_row(f"dgxc-gpt3-175b-{n}", _D175, NEMO_GPT3_175B, n, 4, 8, n * 2, _STEP, t,
           {**NEMO_2024, "tp_overlap": True, "pp_overlap": True}, micro=1, v=12,
           gpu="h100", group=_G_DGXC)
      for n, t in ((128, 8.309), (256, 8.408), (512, 8.42), (1024, 8.453), (2048, 8.49))),
    *(_row(f"dgxc-nemotron4-340b-{n}", _D340, NEMOTRON4_340B, n, 8, 8, n // 4, _STEP, t,
           {**NEMO_2024, "recompute": "selective", "optimizer_dtype": "bf16",
            "tp_overlap": False, "pp_overlap": False, "defer_output_wgrad": True}, micro=1,
           v=12, gpu="h100",
           group=_G_DGXC)
      for n, t in ((128, 4.61), (256, 4.67), (512, 4.7), (1024, 4.73), (2048, 4.84))),
    *(_row(f"dgxc-nemotron4-15b-{n}", _D15, NEMOTRON4_15B, n, 4, 1, n * 4, _STEP, t,
           {**NEMO_2024, "tp_overlap": True}, micro=4, gpu="h100", group=_G_DGXC)
      for n, t in ((16, 2.83), (32, 2.86), (64, 2.86), (128, 2.89), (256, 2.88),
                   (512, 2.92), (1024, 2.92), (2048, 2.96))),
    *(_row(f"dgxc-llama31-8b-{n}", _D8, LLAMA31_8B, n, 1, 1, n * 16, _STEP, t,
           {**NEMO_2024, "sequence_parallel": False}, cp=2, micro=1, gpu="h100",
           group=_G_DGXC)
      for n, t in ((8, 12.91), (32, 13.05), (128, 13.10))),
    *(_row(f"dgxc-llama31-70b-{n}", _D70, LLAMA31_70B, n, 4, 4, n * 2, _STEP, t,
           {**NEMO_2024, "tp_overlap": True, "pp_overlap": True, "defer_output_wgrad": True},
           cp=2, micro=1, v=5,
           gpu="h100", group=_G_DGXC)
      for n, t in ((64, 14.72), (512, 14.89), (2048, 14.98))),
    *(_row(f"dgxc-llama31-405b-{n}", _D405, NEMO_LLAMA31_405B, n, 8, 9, b, _STEP, t,
           {**NEMO_2024, "tp_overlap": True, "pp_overlap": True, "defer_output_wgrad": True},
           cp=2, micro=1, v=7,
           gpu="h100", group=_G_DGXC)
      for n, b, t in ((576, 252, 17.20), (1152, 504, 17.52), (2304, 1008, 17.62))),
    # LLM Foundry (MosaicML/Databricks, January 2024): MPT with Composer FSDP; the
    # table's "Throughput (T/s/GPU)".
    _foundry("1b", 128, 2048, 12, 1, 44123, ac=False, shard=2, source=_LF_H100L),
    _foundry("1b", 256, 2048, 12, 1, 42555, ac=False, shard=2, source=_LF_H100L),
    _foundry("1b", 512, 2048, 12, 1, 39837, ac=False, shard=2, source=_LF_H100L),
    _foundry("7b", 128, 2048, 6, 1, 10475, ac=False, source=_LF_H100L),
    _foundry("7b", 256, 2048, 6, 1, 10119, ac=False, source=_LF_H100L),
    _foundry("7b", 512, 2048, 6, 1, 9670, ac=False, source=_LF_H100L),
    _foundry("13b", 128, 2048, 16, 1, 5080, ac=True, source=_LF_H100L),
    _foundry("13b", 512, 2048, 16, 1, 4952, ac=True, source=_LF_H100L),
    _foundry("70b", 128, 2048, 8, 1, 1058, ac=True, source=_LF_H100L),
    _foundry("70b", 512, 2048, 8, 1, 1007, ac=True, source=_LF_H100L),
    _foundry("1b", 8, 2048, 14, 1, 45455, ac=False),
    _foundry("7b", 8, 2048, 6, 1, 10643, ac=False),
    _foundry("13b", 8, 2048, 2, 1, 4792, ac=False),
    _foundry("30b", 8, 2048, 3, 21, 2002, ac=True),
    _foundry("70b", 64, 2048, 8, 4, 1039, ac=True),
    _foundry("7b", 8, 8192, 8, 2, 6935, ac=True),
    _foundry("7b", 8, 32768, 2, 2, 3318, ac=True),
    _foundry("1b", 8, 2048, 14, 4, 20513, ac=False, gpu="a100", source=_LF_A100),
    _foundry("7b", 8, 2048, 6, 2, 4641, ac=False, gpu="a100", source=_LF_A100),
    _foundry("13b", 8, 2048, 2, 3, 2262, ac=False, gpu="a100", source=_LF_A100),
    _foundry("30b", 8, 2048, 3, 21, 916, ac=True, gpu="a100", source=_LF_A100),
    _foundry("70b", 64, 2048, 8, 4, 410, ac=True, pure=True, gpu="a100", source=_LF_A100),
    _foundry("7b", 8, 8192, 8, 2, 3206, ac=True, gpu="a100", source=_LF_A100),
    _foundry("7b", 8, 32768, 2, 2, 1672, ac=True, gpu="a100", source=_LF_A100),
    # torchtitan: FSDP2 on 64 A100 80GB, words (tokens) per second per GPU.
    _row("torchtitan-llama2-13b-a100", _TT_A100, LLAMA2_13B, 64, 1, 1, 128, _TPS, 2162,
         {**TORCHTITAN, "recompute": "none"}, micro=2, group=_G_TT,
         assumed="network: the catalogue's 200 Gb/s per GPU (not published)"),
    _row("torchtitan-llama3-70b-a100", _TT_A100, LLAMA3_70B, 64, 1, 1, 64, _TPS, 331,
         {**TORCHTITAN, "recompute": "full"}, micro=1, group=_G_TT,
         assumed="network: the catalogue's 200 Gb/s per GPU (not published)"),
    # torchtitan on power-capped H100 (held out: peak unknown to the source), Llama 3.1 8B,
    # local batch 2, selective (per-op) activation checkpointing, eager and compiled.
    *(_row(f"torchtitan-llama31-8b-{n}{'-compile' if c else ''}", _TT_H100, LLAMA31_8B_TT,
           n, 1, 1, 2 * n, _TPS, tps, {**TORCHTITAN, "recompute": "selective",
                                       "fused_kernels": c}, micro=2, gpu=GRAND_TETON_H100,
           calibration=False, group=_G_TT, assumed="power-capped H100 taken at the SXM peak "
           "(the source: the true peak lies between 835 and 989 TFLOP/s); torchtitan's "
           "per-op selective checkpointing taken as selective recomputation")
      for n, c, tps in ((8, False, 5762), (8, True, 6667), (128, False, 5605),
                        (128, True, 6514))),
    # MT-NLG 530B on Selene (DGX A100 80GB, HDR 200 Gb/s per GPU): iteration time at
    # global batch 1920, 280/350/420 nodes; DeepSpeed pipeline engine with Megatron-LM.
    *(_row(f"mtnlg-530b-{n}", _MTNLG, MTNLG_530B, n, 8, 35, 1920, _STEP, t, DEEPSPEED_PIPE,
           micro=1, group=_G_MTNLG, assumed="micro-batch 1, full recomputation, gradient "
           "all-reduce after the flush (DeepSpeed pipeline engine of 2021)")
      for n, t in ((2240, 60.1), (2800, 50.2), (3360, 44.4))),
    # OPT-175B: "utilization of up to 147 TFLOP/s per GPU" on 992 A100 80GB (held out:
    # a maximum, not a sustained figure; layout partly assumed).
    _row("opt-175b-992", _OPT, OPT_175B, 992, 8, 1, 992, _HF, 147,
         {**MEGATRON_2021, "zero_stage": 3, "dp_sync": "microbatch", "dp_overlap": True},
         micro=8, calibration=False, group=_G_OPT,
         assumed="FSDP (ZeRO-3) over 124 replicas with Megatron TP8; 8 sequences per "
         "replica (2M tokens), one micro-batch; full recomputation; TFLOP/s counted with "
         "recomputation (Megatron's eq. 3); FP16 (same peak as BF16 on A100)"),
    # BLOOM 176B on Jean Zay: "training throughput: about 150 TFLOPs" (held out: approximate).
    _row("bloom-176b-384", _BLOOM, BLOOM_176B, 384, 4, 12, 2048, _HF, 150,
         {**DEEPSPEED_PIPE, "zero_stage": 1, "uneven_pipeline": True}, micro=2,
         gpu=JEAN_ZAY_A100, calibration=False,
         group=_G_BLOOM, assumed="TP4 PP12 DP8, micro-batch 2, ZeRO-1, full recomputation "
         "(Megatron-DeepSpeed tr11 configuration); 70 layers on 12 stages, the busiest with 6; "
         "TFLOP/s with recomputation"),
)


def calibrated_ranges() -> dict[str, dict[str, tuple[float, float]]]:
    """Per architecture family, the (min, max) GPU count, parameters and sequence length
    of the calibration rows: the range simgpu interpolates in."""
    return _ranges()


def _ranges() -> dict[str, dict[str, tuple[float, float]]]:
    from simgpu.perf.hardware import resolve_gpu
    from simgpu.perf.spec import model_spec

    global _RANGES
    if _RANGES is not None:
        return _RANGES
    acc: dict[str, dict[str, list[float]]] = {}
    for r in PUBLISHED:
        if not r.calibration:
            continue
        fam = resolve_gpu(r.gpu_input).arch.family
        d = acc.setdefault(fam, {"GPU count": [], "model size": [], "sequence length": []})
        d["GPU count"].append(r.parallel["gpus"])
        d["model size"].append(model_spec(r.model).params)
        d["sequence length"].append(r.model["seq_len"])
    _RANGES = {f: {k: (min(v), max(v)) for k, v in d.items()} for f, d in acc.items()}
    return _RANGES


_RANGES: dict[str, dict[str, tuple[float, float]]] | None = None
