"""The ``simgpu-perf`` console script: throughput of one training configuration.

A thin ``@hydra.main`` (primary config ``conf/perf.yaml``, presets in ``conf/model/``)
over :func:`run`, which needs no Hydra. Before Hydra creates an output directory, a
pre-flight composes the same overrides and runs every check, so bad input exits with
code 2, one message on stderr, no traceback and nothing written::

    simgpu-perf                                   # Llama 3 405B on 16,384 H100
    simgpu-perf model=megatron_1t
    simgpu-perf model=gpt3_175b parallel.gpus=3072 gpu_type=h100
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from simgpu.cmdline import parse
from simgpu.config.schema import GpuConfig
from simgpu.errors import ConfigError, Problem, SimgpuError

log = logging.getLogger("simgpu.perf")

CONFIG_MODULE = "simgpu.conf"
CONFIG_PATH = "pkg://" + CONFIG_MODULE
CONFIG_NAME = "perf"
SCHEMA_NAME = "simgpu_perf_schema"



@dataclass
class PerfModelConf:
    """Model shape (see :class:`simgpu.perf.ModelSpec`)."""

    name: str = ""  # label in reports
    layers: int = MISSING  # transformer layers
    hidden: int = MISSING  # hidden size
    heads: int = MISSING  # attention (query) heads
    vocab: int = MISSING  # vocabulary size, tokens
    seq_len: int = MISSING  # training sequence length, tokens
    kv_heads: int | None = None  # key/value heads (GQA); none = heads
    ffn_hidden: int | None = None  # MLP inner size; none = 4 * hidden
    head_dim: int | None = None  # size of one head; none = hidden / heads
    activation: str = "gelu"  # gelu, relu, squared_relu, silu (2 MLP matrices); swiglu,
    # geglu, reglu (gated, 3)
    dropout: bool = False  # dropout layers present
    parallel_block: bool = False  # attention and MLP in parallel (halves TP collectives)
    tied_embeddings: bool = False  # input and output embeddings shared


@dataclass
class PerfParallelConf:
    """Parallel layout and step settings (see :class:`simgpu.perf.ParallelSpec`)."""

    tp: int = 1  # tensor-parallel degree
    pp: int = 1  # pipeline-parallel degree
    cp: int = 1  # context-parallel degree
    dp: int | None = None  # data-parallel degree; none = gpus / (tp pp cp)
    gpus: int | None = None  # GPUs of the job
    global_batch: int = MISSING  # sequences per optimizer step
    micro_batch: int | None = None  # sequences per micro-batch; none = chosen
    recompute: str = "none"  # none, selective or full
    virtual_stages: int = 1  # interleaved pipeline chunks per GPU
    sequence_parallel: bool | None = None  # none = on when tp > 1
    flash_attention: bool = True  # fused attention
    zero_stage: int = 1  # 0 none, 1 optimizer, 2 + gradients, 3 + weights sharded over dp
    tp_overlap: bool = False  # tensor-parallel communication overlapped
    dp_overlap: bool = True  # data-parallel communication overlapped
    pp_overlap: bool = True  # pipeline point-to-point overlapped
    cp_overlap: bool = False  # context-parallel communication overlapped
    uneven_pipeline: bool = False  # allow pp * virtual_stages not dividing layers
    grad_dtype: str = "fp32"  # gradient buffer and its reduction: fp32, bf16 or fp16
    optimizer_dtype: str = "fp32"  # Adam moments: fp32 or bf16 (master weights FP32)
    dp_sync: str | None = None  # step or microbatch; none = microbatch for zero_stage >= 2
    pp_scatter_gather: bool = True  # pipeline transfers split over tp ranks (Megatron)
    fused_kernels: bool = True  # memory-bound ops fused (Megatron/TE/torch.compile)
    defer_output_wgrad: bool = False  # output layer's weight gradient off the critical path
    attention_kernel: str = "flash2"  # fused attention: flash2 (FA2/cuDNN/TE/SDPA), flash1
    grad_accum_fusion: bool = True  # weight-gradient GEMMs accumulate into the grad buffer


@dataclass
class PerfConfig:
    """Root of ``conf/perf.yaml``."""

    model: PerfModelConf = field(default_factory=PerfModelConf)
    parallel: PerfParallelConf = field(default_factory=PerfParallelConf)
    gpu_type: str = "h100"  # key into gpus
    gpus: dict[str, GpuConfig] = field(default_factory=dict)  # GPU catalogue
    source: str = ""  # where the preset's numbers come from
    output: str = "perf.json"  # JSON file name, inside the run directory


def register() -> None:
    """Store the perf schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=PerfConfig)


def compose(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """Compose ``conf/perf.yaml`` with overrides (for tests and notebooks).

    Raises
    ------
    ConfigError
        An override Hydra rejects, with its key and value.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    register()
    rejected = (HydraException, OmegaConfBaseException, ValueError)

    def _compose(ovr: list[str]) -> DictConfig:
        if GlobalHydra.instance().is_initialized():
            return hydra_compose(config_name=CONFIG_NAME, overrides=ovr)
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            return hydra_compose(config_name=CONFIG_NAME, overrides=ovr)

    def _message(exc: Exception) -> str:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__

    try:
        return _compose(list(overrides))
    except rejected as first:
        problems = []
        for ov in overrides:  # name every override that fails on its own
            try:
                _compose([ov])
            except rejected as exc:
                key, _, value = ov.partition("=")
                problems.append(Problem(key.lstrip("+~"), value, _message(exc)))
        if not problems:
            problems = [Problem("overrides", " ".join(overrides), _message(first))]
        raise ConfigError(problems) from None


def run(cfg: DictConfig | dict[str, Any]):
    """Estimate the configuration ``cfg`` describes (no Hydra needed).

    Returns
    -------
    simgpu.perf.Estimate

    Raises
    ------
    ConfigError
        Missing values, an unknown GPU type, or any rule of :func:`simgpu.perf.estimate`.
    """
    from simgpu.perf.model import estimate

    if isinstance(cfg, DictConfig):
        missing = sorted(k for k in _missing_keys(cfg))
        if missing:
            raise ConfigError([Problem(k, "???", "is required (choose a model preset with "
                                                 "model=<name> or set it)")
                               for k in missing])
        data = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    else:
        data = dict(cfg)
    gpu_type = str(data.get("gpu_type", ""))
    catalogue = data.get("gpus") or {}
    if catalogue and gpu_type.lower() not in catalogue:
        raise ConfigError([Problem("gpu_type", gpu_type, f"unknown GPU; gpus has "
                                                         f"{', '.join(sorted(catalogue))}")])
    gpu: Any = ({"name": gpu_type.lower(), **catalogue[gpu_type.lower()]} if catalogue
                else gpu_type)
    return estimate(data["model"], data["parallel"], gpu)


def _missing_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    out = []
    for key in cfg:
        path = f"{prefix}{key}"
        if OmegaConf.is_missing(cfg, key):
            out.append(path)
            continue
        node = cfg[key]
        if isinstance(node, DictConfig) and key != "gpus":
            out += _missing_keys(node, path + ".")
    return out


def report(est, source: str = "") -> str:
    """Human-readable summary of an estimate."""
    p, m, b = est.parallel, est.model, est.breakdown
    layout = (f"TP{p.tp} PP{p.pp} CP{p.cp} DP{p.dp}"
              + (f" v{p.virtual_stages}" if p.virtual_stages > 1 else ""))
    lines = [
        f"{m.name or 'model'} on {est.gpus} x {est.gpu} ({layout}, global batch "
        f"{p.global_batch} x {m.seq_len} tokens, micro-batch {est.micro_batch}, "
        f"{est.microbatches} micro-batches, recompute {p.recompute})",
    ]
    if source:
        lines.append(f"source: {source}")
    band = ""
    if est.mfu_p10 is not None and est.mfu_p90 is not None:
        band = (f"  (P10-P90 out of source {100 * est.mfu_p10:.1f}-"
                f"{100 * est.mfu_p90:.1f} %)")
    lines += [
        f"  step time               {est.step_seconds:10.3f} s",
        f"  model TFLOP/s per GPU   {est.model_tflops_per_gpu:10.1f}    MFU {100 * est.mfu:5.1f} %"
        + band,
        f"  hardware TFLOP/s per GPU{est.hardware_tflops_per_gpu:10.1f}    HFU "
        f"{100 * est.hfu:5.1f} %",
        f"  tokens per second       {est.tokens_per_second:10.4g}",
        "  step breakdown (s):",
    ]
    rows = (("compute (incl. recompute)", "compute"), ("  of which recompute", "recompute"),
            ("  of which grad accum.", "grad_accumulation"),
            ("  of which grad cast", "grad_cast"),
            ("pipeline bubble", "bubble"), ("TP comm exposed", "tp_comm_exposed"),
            ("TP comm overlapped", "tp_comm_overlapped"),
            ("CP comm exposed", "cp_comm_exposed"), ("CP comm overlapped", "cp_comm_overlapped"),
            ("PP comm exposed", "pp_comm_exposed"), ("PP comm overlapped", "pp_comm_overlapped"),
            ("DP comm exposed", "dp_comm_exposed"), ("DP comm overlapped", "dp_comm_overlapped"),
            ("overlap slowdown", "overlap_slowdown"), ("optimizer step", "optimizer"),
            ("stragglers", "straggler"))
    for label, key in rows:
        share = b[key] / est.step_seconds
        lines.append(f"    {label:27s}{b[key]:10.3f}  {100 * share:5.1f} %")
    mem = est.memory_gib
    lines.append(f"  memory per GPU (GiB): weights {mem['weights']:.1f}, gradients "
                 f"{mem['gradients']:.1f}, optimizer {mem['optimizer']:.1f}, activations "
                 f"{mem['activations']:.1f}, reserve {mem['reserve']:.1f}; total "
                 f"{mem['total']:.1f} of {mem['capacity']:.1f}")
    lines += [f"  warning: {w}" for w in est.warnings]
    return "\n".join(lines)


def preflight(argv: list[str]) -> int:
    """Compose and check the configuration the command line describes; 0 when it runs."""
    try:
        run(compose(parse(argv).overrides))
    except SimgpuError as exc:
        print(f"simgpu-perf: {exc}", file=sys.stderr)
        return 2
    return 0


def _hydra_main():
    import hydra

    @hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=CONFIG_NAME)
    def _main(cfg: DictConfig) -> None:
        from hydra.core.hydra_config import HydraConfig

        from simgpu.io import atomic_write_json

        try:
            est = run(cfg)
        except SimgpuError as exc:
            print(f"simgpu-perf: {exc}", file=sys.stderr)
            sys.exit(2)
        out = Path(HydraConfig.get().runtime.output_dir) / str(cfg.output)
        doc = {"schema": "simgpu.perf/1", "source": str(cfg.source), **est.to_dict()}
        atomic_write_json(out, doc)
        print(report(est, str(cfg.source)))
        print(f"\njson: {out}")

    return _main


def main() -> None:
    """Entry point of the ``simgpu-perf`` console script."""
    register()
    argv = sys.argv[1:]
    if parse(argv).mode == "run":
        code = preflight(argv)
        if code:
            sys.exit(code)
    _hydra_main()()


if __name__ == "__main__":
    main()
