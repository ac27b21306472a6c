"""Inputs of the throughput model: model shape and parallel layout, checked together.

:class:`ModelSpec` and :class:`ParallelSpec` are plain dataclasses; :func:`model_spec`
and :func:`parallel_spec` accept a mapping, a dataclass (any object with the fields) or
an instance and return a checked instance. Every problem found is reported at once as
one :class:`~simgpu.errors.ConfigError`, each with its dotted key and offending value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from simgpu.errors import ConfigError, Problem

#: Activation recomputation policies (Korthikanti et al. 2022, arXiv:2205.05198).
RECOMPUTE = ("none", "selective", "full")
#: MLP activations and their weight matrices: plain ones (``gelu``, ``relu``,
#: ``squared_relu`` of Nemotron-4 (arXiv:2402.16819), ``silu``) have two (h->f, f->h);
#: gated ones (``swiglu`` of Llama, ``geglu``, ``reglu``; Shazeer 2020, arXiv:2002.05202)
#: three (gate, up, down).
ACTIVATIONS = {"gelu": 2, "relu": 2, "squared_relu": 2, "silu": 2,
               "swiglu": 3, "geglu": 3, "reglu": 3}
#: Aliases accepted for the activation names (as frameworks spell them).
ACTIVATION_ALIASES = {"squared-relu": "squared_relu", "relu2": "squared_relu",
                      "swish": "silu", "fast-swiglu": "swiglu", "gelu_new": "gelu"}
#: Number formats of optimizer moments.
DTYPES = ("fp32", "bf16")
#: Number formats of the gradient buffer and its reduction: also ``fp16`` (FP16 mixed
#: precision, Megatron-LM ``--fp16`` without ``--accumulate-allreduce-grads-in-fp32``).
GRAD_DTYPES = ("fp32", "bf16", "fp16")
#: When data-parallel gradients are reduced: once per optimizer step (DDP with gradient
#: accumulation, Megatron's distributed optimizer) or after every micro-batch (ZeRO-2/3,
#: PyTorch FSDP without ``no_sync``).
DP_SYNC = ("step", "microbatch")
#: Generations of fused (flash) attention kernels: FlashAttention-2 class (FA2, cuDNN,
#: Transformer Engine, PyTorch SDPA) and FlashAttention v1 class (FA1, its Triton port).
ATTENTION_KERNELS = ("flash2", "flash1")


@dataclass(frozen=True)
class ModelSpec:
    """Shape of a dense decoder-only transformer (one model, not its parallel layout).

    Attributes
    ----------
    layers, hidden, heads : int
        Transformer layers ``l``, hidden size ``h`` and attention (query) heads ``a``.
    vocab, seq_len : int
        Vocabulary size ``V`` and training sequence length ``s`` in tokens.
    kv_heads : int or None
        Key/value heads ``k`` (grouped-query attention); ``None`` = ``heads`` (MHA).
    ffn_hidden : int or None
        MLP inner size ``f``; ``None`` = ``4 * hidden``.
    head_dim : int or None
        Size of one head ``d_h``; ``None`` = ``hidden // heads``.
    activation : str
        One of :data:`ACTIVATIONS`: plain (``gelu``, ``relu``, ``squared_relu``, ``silu``;
        2 MLP matrices) or gated (``swiglu``, ``geglu``, ``reglu``; 3 matrices).
    dropout : bool
        Dropout layers present (GPT-3-era models); adds memory traffic and masks.
    parallel_block : bool
        Attention and MLP in parallel from one input (GPT-J, PaLM, MegaScale "PTB"):
        halves the tensor-parallel collectives per layer.
    tied_embeddings : bool
        Input and output embeddings share weights (parameter count only).
    name : str
        Label for reports.
    """

    layers: int
    hidden: int
    heads: int
    vocab: int
    seq_len: int
    kv_heads: int | None = None
    ffn_hidden: int | None = None
    head_dim: int | None = None
    activation: str = "gelu"
    dropout: bool = False
    parallel_block: bool = False
    tied_embeddings: bool = False
    name: str = ""

    @property
    def k(self) -> int:
        """Key/value heads (``heads`` when not grouped)."""
        return self.kv_heads or self.heads

    @property
    def f(self) -> int:
        """MLP inner size."""
        return self.ffn_hidden or 4 * self.hidden

    @property
    def dh(self) -> int:
        """Head dimension."""
        return self.head_dim or self.hidden // self.heads

    @property
    def mlp_matrices(self) -> int:
        """Weight matrices in the MLP: 2 (plain activation) or 3 (gated)."""
        return ACTIVATIONS[self.activation]

    @property
    def gated(self) -> bool:
        """Gated MLP (SwiGLU, GeGLU, ReGLU)."""
        return self.mlp_matrices == 3

    @property
    def params_per_layer(self) -> float:
        """Weights of one layer: attention, MLP and two norms (biases neglected)."""
        h, q, kv = self.hidden, self.heads * self.dh, self.k * self.dh
        return h * (q + 2 * kv) + q * h + self.mlp_matrices * h * self.f + 4 * h

    @property
    def params(self) -> float:
        """Total weights: layers plus embeddings (two matrices unless tied)."""
        emb = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return self.layers * self.params_per_layer + emb


@dataclass(frozen=True)
class ParallelSpec:
    """Parallel layout and training-step settings.

    Attributes
    ----------
    tp, pp, cp : int
        Tensor-, pipeline- and context-parallel degrees.
    dp : int or None
        Data-parallel degree; ``None`` = ``gpus // (tp * pp * cp)``.
    gpus : int or None
        GPUs of the job; when given, ``tp * pp * cp * dp`` must equal it.
    global_batch : int
        Sequences per optimizer step (all data-parallel replicas together).
    micro_batch : int or None
        Sequences per micro-batch per replica; ``None`` = chosen as a practitioner
        would (1 with pipeline parallelism, else the largest of 4, 2, 1 that fits).
    recompute : str
        ``none``, ``selective`` (attention core) or ``full`` (whole layer).
    virtual_stages : int
        Interleaved pipeline chunks per GPU ``v`` (1 = plain 1F1B).
    sequence_parallel : bool or None
        Megatron sequence parallelism; ``None`` = on whenever ``tp > 1``.
    flash_attention : bool
        Fused attention (no score matrix in memory, causal half skipped).
    zero_stage : int
        Sharding over data-parallel ranks: 0 none, 1 optimizer states (Megatron
        distributed optimizer), 2 also gradients, 3 also weights (FSDP full shard).
    tp_overlap, dp_overlap, pp_overlap, cp_overlap : bool
        Whether that communication is overlapped with computation.
    uneven_pipeline : bool
        Allow ``pp * virtual_stages`` not dividing ``layers``: the busiest stage holds
        the ceiling (Llama 3 405B: 126 layers on 16 stages).
    grad_dtype : str
        Format of the gradient buffer and of its data-parallel reduction: ``fp32``
        (Megatron-LM's default for BF16 training, FSDP ``reduce_dtype=float32``),
        ``bf16`` (NeMo ``grad_sync_dtype: bf16``, Megatron ``--grad-reduce-in-bf16``,
        FSDP pure BF16) or ``fp16`` (FP16 mixed precision with the gradients kept and
        all-reduced in FP16: Megatron-LM ``--fp16``, its default until BF16 training).
    optimizer_dtype : str
        Format of the Adam moments: ``fp32`` (default) or ``bf16`` (NeMo's distributed
        fused Adam with ``dtype: bf16``). The master weights are FP32 either way.
    dp_sync : str or None
        ``step``: gradients reduced (and, when sharded, weights gathered) once per
        optimizer step; ``microbatch``: after every micro-batch, as ZeRO-2/3 and PyTorch
        FSDP do. ``None`` = ``microbatch`` for ``zero_stage >= 2``, else ``step``.
    defer_output_wgrad : bool
        The output layer's weight-gradient GEMM deferred off the last pipeline stage's
        critical path into the pipeline flush (NeMo/Megatron-core
        ``defer_embedding_wgrad_compute``).
    pp_scatter_gather : bool
        Pipeline boundary activations split over the tensor-parallel ranks before the
        point-to-point transfer (Megatron-LM's scatter/gather optimisation,
        arXiv:2104.04473 section 4.1); DeepSpeed's pipeline engine sends them whole.
    attention_kernel : str
        Generation of the fused-attention kernel (with ``flash_attention``):
        ``flash2`` (FlashAttention-2, cuDNN/Transformer Engine fused attention, PyTorch
        SDPA flash; the default) or ``flash1`` (FlashAttention v1 or its Triton port,
        e.g. LLM Foundry's ``attn_impl: triton``), about half as fast
        (:data:`simgpu.perf.model.FLASH1_SLOWDOWN`).
    grad_accum_fusion : bool
        The weight-gradient GEMMs accumulate into the gradient buffer in their epilogue
        (Megatron-LM ``--gradient-accumulation-fusion``, since 2022 and on by default in
        Megatron-core and NeMo); off, every micro-batch's gradients are added to the
        buffer by a separate memory-bound kernel (Megatron-LM 2021's DDP hook, DeepSpeed
        and PyTorch autograd accumulation).
    fused_kernels : bool
        Memory-bound operations fused (Megatron-LM's fused kernels, Transformer Engine,
        ``torch.compile``) rather than run as separate eager PyTorch kernels, which move
        each tensor several times.
    """

    tp: int = 1
    pp: int = 1
    dp: int | None = None
    cp: int = 1
    gpus: int | None = None
    global_batch: int = 0
    micro_batch: int | None = None
    recompute: str = "none"
    virtual_stages: int = 1
    sequence_parallel: bool | None = None
    flash_attention: bool = True
    zero_stage: int = 1
    tp_overlap: bool = False
    dp_overlap: bool = True
    pp_overlap: bool = True
    cp_overlap: bool = False
    uneven_pipeline: bool = False
    grad_dtype: str = "fp32"
    optimizer_dtype: str = "fp32"
    dp_sync: str | None = None
    pp_scatter_gather: bool = True
    fused_kernels: bool = True
    defer_output_wgrad: bool = False
    attention_kernel: str = "flash2"
    grad_accum_fusion: bool = True

    @property
    def sp(self) -> bool:
        """Sequence parallelism in effect."""
        if self.sequence_parallel is None:
            return self.tp > 1
        return bool(self.sequence_parallel) and self.tp > 1

    @property
    def sync(self) -> str:
        """When data-parallel communication happens: ``step`` or ``microbatch``."""
        if self.dp_sync is None:
            return "microbatch" if self.zero_stage >= 2 else "step"
        return self.dp_sync

    @property
    def world(self) -> int:
        """GPUs of the job, ``tp * pp * cp * dp``."""
        return self.tp * self.pp * self.cp * (self.dp or 1)

    @property
    def microbatches(self) -> int:
        """Micro-batches per replica per step ``m``."""
        return self.global_batch // ((self.dp or 1) * (self.micro_batch or 1))


_INT_MODEL = ("layers", "hidden", "heads", "vocab", "seq_len")
_OPT_INT_MODEL = ("kv_heads", "ffn_hidden", "head_dim")
_INT_PAR = ("tp", "pp", "cp", "global_batch", "virtual_stages")
_OPT_INT_PAR = ("dp", "gpus", "micro_batch")
_BOOL_PAR = ("flash_attention", "tp_overlap", "dp_overlap", "pp_overlap", "cp_overlap",
             "uneven_pipeline", "fused_kernels", "pp_scatter_gather", "defer_output_wgrad",
             "grad_accum_fusion")


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in fields(obj)}
    if hasattr(obj, "items"):  # OmegaConf DictConfig and friends
        return dict(obj.items())
    raise TypeError(f"expected a mapping or a dataclass, got {type(obj).__name__}")


def _unknown(raw: dict, cls: type, where: str, out: list[Problem]) -> None:
    names = {f.name for f in fields(cls)}
    for k in raw:
        if k not in names:
            out.append(Problem(f"{where}.{k}", raw[k],
                               f"unknown key; expected one of {', '.join(sorted(names))}"))


def _int(raw: dict, key: str, where: str, out: list[Problem], *, optional: bool,
         minimum: int = 1) -> int | None:
    v = raw.get(key)
    if v is None:
        if not optional:
            out.append(Problem(f"{where}.{key}", v, "is required"))
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
        out.append(Problem(f"{where}.{key}", v, "must be an integer"))
        return None
    if v < minimum:
        out.append(Problem(f"{where}.{key}", v, f"must be >= {minimum}"))
        return None
    return int(v)


def model_spec(model: Any, where: str = "model") -> ModelSpec:
    """A checked :class:`ModelSpec` from a mapping, a dataclass or an instance.

    Parameters
    ----------
    model : mapping, dataclass or ModelSpec
        Needs ``layers, hidden, heads, vocab, seq_len``; optional ``kv_heads,
        ffn_hidden, head_dim, activation, dropout, parallel_block, tied_embeddings``.
    where : str
        Dotted prefix of the keys in error messages.

    Raises
    ------
    ConfigError
        Every missing, unknown or out-of-range field, and heads not divisible by kv_heads.
    """
    if isinstance(model, ModelSpec):
        raw = _as_dict(model)
    else:
        raw = _as_dict(model)
    out: list[Problem] = []
    _unknown(raw, ModelSpec, where, out)
    vals: dict[str, Any] = {}
    for k in _INT_MODEL:
        vals[k] = _int(raw, k, where, out, optional=False)
    for k in _OPT_INT_MODEL:
        vals[k] = _int(raw, k, where, out, optional=True)
    act = str(raw.get("activation", "gelu")).lower()
    act = ACTIVATION_ALIASES.get(act, act)
    if act not in ACTIVATIONS:
        out.append(Problem(f"{where}.activation", raw.get("activation"),
                           f"must be one of {', '.join(ACTIVATIONS)}"))
    vals["activation"] = act
    for k in ("dropout", "parallel_block", "tied_embeddings"):
        vals[k] = bool(raw.get(k, False))
    vals["name"] = str(raw.get("name", "") or "")
    a, kvh = vals["heads"], vals["kv_heads"]
    if a and kvh and a % kvh:
        out.append(Problem(f"{where}.kv_heads", kvh,
                           f"must divide heads ({a}) for grouped-query attention"))
    if a and vals["hidden"] and vals["head_dim"] is None and vals["hidden"] % a:
        out.append(Problem(f"{where}.heads", a,
                           f"must divide hidden ({vals['hidden']}) unless head_dim is given"))
    if out:
        raise ConfigError(out)
    return ModelSpec(**vals)


def parallel_spec(parallel: Any, where: str = "parallel") -> ParallelSpec:
    """A :class:`ParallelSpec` with types and ranges checked (not yet against a model).

    Parameters
    ----------
    parallel : mapping, dataclass or ParallelSpec
        Keys as in :class:`ParallelSpec`; ``global_batch`` is required.
    where : str
        Dotted prefix of the keys in error messages.

    Raises
    ------
    ConfigError
        Every missing, unknown or out-of-range field.
    """
    raw = _as_dict(parallel)
    out: list[Problem] = []
    _unknown(raw, ParallelSpec, where, out)
    vals: dict[str, Any] = {}
    defaults = {f.name: f.default for f in fields(ParallelSpec)}
    for k in _INT_PAR:
        vals[k] = _int(raw, k, where, out, optional=k != "global_batch") or defaults[k]
    for k in _OPT_INT_PAR:
        vals[k] = _int(raw, k, where, out, optional=True)
    rec = str(raw.get("recompute", "none")).lower()
    if rec not in RECOMPUTE:
        out.append(Problem(f"{where}.recompute", raw.get("recompute"),
                           f"must be one of {', '.join(RECOMPUTE)}"))
    vals["recompute"] = rec
    sp = raw.get("sequence_parallel")
    vals["sequence_parallel"] = None if sp is None else bool(sp)
    for k in _BOOL_PAR:
        vals[k] = bool(raw.get(k, defaults[k]))
    zero = _int(raw, "zero_stage", where, out, optional=True, minimum=0)
    if zero is not None and zero > 3:
        out.append(Problem(f"{where}.zero_stage", zero, "must be 0, 1, 2 or 3"))
    vals["zero_stage"] = defaults["zero_stage"] if zero is None else zero
    for key, allowed in (("grad_dtype", GRAD_DTYPES), ("optimizer_dtype", DTYPES),
                         ("dp_sync", DP_SYNC), ("attention_kernel", ATTENTION_KERNELS)):
        v = raw.get(key, defaults[key])
        if v is None:
            vals[key] = None
            continue
        v = str(v).lower()
        if v not in allowed:
            out.append(Problem(f"{where}.{key}", raw.get(key),
                               f"must be one of {', '.join(allowed)}"))
        vals[key] = v
    if out:
        raise ConfigError(out)
    return ParallelSpec(**vals)


def check_layout(m: ModelSpec, p: ParallelSpec, where: str = "parallel",
                 model_where: str = "model") -> ParallelSpec:
    """Check a layout against a model and resolve ``dp``; micro-batch stays as given.

    Rules: ``tp*pp*cp*dp`` equals ``gpus`` (or ``dp`` follows from it); ``pp`` (times
    ``virtual_stages``) divides ``layers`` unless ``uneven_pipeline``; ``tp`` divides
    heads and kv_heads (or kv_heads divides tp); ``cp`` divides ``seq_len``; ``dp``
    divides ``global_batch``; ``micro_batch`` divides the per-replica batch; interleaving
    needs the micro-batch count to be a multiple of ``pp``.

    Returns
    -------
    ParallelSpec
        With ``dp`` and ``gpus`` filled in.

    Raises
    ------
    ConfigError
        Every violated rule, with its key, value and the numbers involved.
    """
    out: list[Problem] = []
    tpc = p.tp * p.pp * p.cp
    dp = p.dp
    if p.gpus is not None:
        if dp is None:
            if p.gpus % tpc:
                out.append(Problem(f"{where}.gpus", p.gpus,
                                   f"is not divisible by tp*pp*cp = {p.tp}*{p.pp}*{p.cp} = "
                                   f"{tpc}"))
            else:
                dp = p.gpus // tpc
        elif tpc * dp != p.gpus:
            out.append(Problem(f"{where}.gpus", p.gpus,
                               f"!= tp*pp*cp*dp = {p.tp}*{p.pp}*{p.cp}*{dp} = {tpc * dp}"))
    if dp is None and p.gpus is None:
        dp = 1
    stages = p.pp * p.virtual_stages
    if p.virtual_stages > 1 and p.pp == 1:
        out.append(Problem(f"{where}.virtual_stages", p.virtual_stages,
                           "interleaving needs pipeline parallelism (pp > 1)"))
    elif p.pp > m.layers:
        out.append(Problem(f"{where}.pp", p.pp, f"exceeds the model's {m.layers} layers"))
    elif m.layers % stages and not p.uneven_pipeline:
        what = "pp" if p.virtual_stages == 1 else "pp*virtual_stages"
        out.append(Problem(f"{where}.pp", p.pp,
                           f"{what} = {stages} does not divide layers = {m.layers} "
                           f"({m.layers} % {stages} = {m.layers % stages}); set "
                           "uneven_pipeline=true to allow unequal stages"))
    elif stages > m.layers:
        out.append(Problem(f"{where}.virtual_stages", p.virtual_stages,
                           f"pp*virtual_stages = {stages} exceeds layers = {m.layers}"))
    if m.heads % p.tp:
        out.append(Problem(f"{where}.tp", p.tp,
                           f"does not divide heads = {m.heads} ({m.heads} % {p.tp} = "
                           f"{m.heads % p.tp})"))
    elif m.k % p.tp and p.tp % m.k:
        out.append(Problem(f"{where}.tp", p.tp,
                           f"and kv_heads = {m.k} must divide one another"))
    if m.f % p.tp:
        out.append(Problem(f"{where}.tp", p.tp, f"does not divide ffn_hidden = {m.f}"))
    if m.seq_len % p.cp:
        out.append(Problem(f"{where}.cp", p.cp, f"does not divide seq_len = {m.seq_len}"))
    if dp is not None and not out:
        if p.global_batch % dp:
            out.append(Problem(f"{where}.global_batch", p.global_batch,
                               f"is not divisible by dp = {dp} "
                               f"({p.global_batch} % {dp} = {p.global_batch % dp})"))
        else:
            per_replica = p.global_batch // dp
            b = p.micro_batch
            if b is not None and per_replica % b:
                out.append(Problem(f"{where}.micro_batch", b,
                                   f"does not divide the per-replica batch global_batch/dp = "
                                   f"{p.global_batch}/{dp} = {per_replica}"))
            elif b is not None and p.virtual_stages > 1 and (per_replica // b) % p.pp:
                mb = per_replica // b
                out.append(Problem(f"{where}.virtual_stages", p.virtual_stages,
                                   f"interleaving needs micro-batches per replica ({mb}) to "
                                   f"be a multiple of pp = {p.pp}"))
    if out:
        raise ConfigError(out)
    return dataclasses.replace(p, dp=dp, gpus=tpc * dp)
