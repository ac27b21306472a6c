"""Step time, MFU and memory of dense transformer training.

One training step of a model on a ``tp x pp x cp x dp`` layout is priced from first
principles, per GPU of the busiest pipeline stage:

* **compute**: matmul FLOPs per layer at an efficiency that rises with the size of the
  sharded GEMMs (``frac * x / (x + x0)``, ``x = hidden / tp``); attention core either
  fused (flash: causal half skipped) or as batched GEMMs plus the memory traffic of the
  score matrix; norms, residuals, dropout and activation functions at HBM bandwidth;
* **recomputation**: none, selective (attention core) or full (the whole forward again);
* **tensor parallelism**: ring all-reduces (or reduce-scatter + all-gather under sequence
  parallelism, same bytes) of the activations, 2 per layer forward and 2 backward (one
  each with a parallel block), ``2 (t-1)/t * bytes / bandwidth`` on NVLink;
* **context parallelism**: all-gather of keys and values forward, reduce-scatter of
  their gradients backward (Llama 3's scheme);
* **pipeline**: 1F1B with bubble ``(p-1)/(v m)`` of the stage time, point-to-point
  transfers of boundary activations, the busiest stage (most layers, or the output
  layer and loss) sets the pace;
* **data parallelism**: gradient reduce-scatter (all-reduce without a distributed
  optimizer) and parameter all-gather over the data- and context-parallel ranks,
  hierarchical (NVLink inside a domain, one rail-optimised scale-out ring across), once
  per step or after every micro-batch (ZeRO-2/3, FSDP), in buckets; each ring step
  across the network costs a hop latency, so small buffers over many ranks are
  latency-bound; overlapped with backward/forward when enabled, except the last bucket;
* **optimizer step**: memory-bound Adam update of the GPU's shard;
* **stragglers**: a synchronous step waits for the slowest node; with each node's excess
  over the fastest exponential, of mean ``straggler`` times the step, the slowest of
  ``N`` is ``1 + straggler * (H_N - 1)`` times the mean (``H_N`` the harmonic number,
  about ``ln N + 0.58``).

FLOP conventions (Megatron-LM / PaLM): *model* FLOPs count every matmul of forward and
backward once, attention scores over the full ``s x s`` matrix (no causal discount);
*hardware* FLOPs add what recomputation executes again. For a GPT with ``f = 4h`` the
two reduce to ``72 B s l h^2 (1 + s/6h + V/12lh)`` and, with full recomputation,
Megatron's ``96 B s l h^2 (1 + s/6h + V/16lh)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from simgpu.errors import ConfigError, Problem
from simgpu.perf.hardware import CALIBRATION, Calibration, Gpu, resolve_gpu
from simgpu.perf.spec import ModelSpec, ParallelSpec, check_layout, model_spec, parallel_spec

#: Bytes per parameter of mixed-precision Adam: BF16 weight, FP32 main gradient, FP32
#: master weight, first and second moment (Megatron-LM with FP32 gradients: 18 bytes;
#: the gradient and moment formats are settings, see :class:`ParallelSpec`).
WEIGHT_BYTES, GRAD_BYTES, OPTIMIZER_BYTES = 2.0, 4.0, 12.0
#: Bytes per value of each number format.
DTYPE_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0}
#: GPUs per host, for the straggler term (DGX/HGX servers; a GB200 NVL72 rack counts
#: as 9 such hosts of 8 GPUs for this purpose).
GPUS_PER_NODE = 8
#: Time of fused attention's backward over its forward: twice the FLOPs at a lower
#: efficiency (FlashAttention-2, arXiv:2307.08691 Figs. 5-6: forward up to ~70 % of A100
#: peak, backward ~50-55 %, i.e. a ratio of about 2 x 70/55 = 2.5).
FLASH_BWD_RATIO = 2.5
#: Time of a FlashAttention-v1-class kernel (FlashAttention, or its Triton port) over a
#: FlashAttention-2-class one on the same work: FlashAttention-2 is 1.7-3.0 times as
#: fast as FlashAttention and 1.3-2.5 times as fast as its Triton implementation (Dao
#: 2023, arXiv:2307.08691, section 4.1); the geometric middle of the Triton range.
FLASH1_SLOWDOWN = 1.8
#: z-score of the 90th percentile of a normal distribution (the prediction band).
Z90 = 1.2815515655446004
#: Bytes moved per parameter by the Adam update (FP32 master, moments and gradient read
#: and written, BF16 weight written).
ADAM_TRAFFIC_BYTES = 32.0
#: HBM reserved for the CUDA context, NCCL buffers and allocator fragmentation, bytes.
MEMORY_RESERVE_BYTES = 3.0 * 2**30


# ------------------------------------------------------------------ closed forms


def model_flops(model: Any, global_batch: int) -> float:
    """Model FLOPs of one step (forward + backward, no recomputation).

    ``F = 3 B s [ l (2h(q + 2kv) + 2qh + 2 n h f + 4 s q) + 2 h V ]`` with ``q = a d_h``
    query width, ``kv = k d_h`` key/value width and ``n`` MLP matrices (2 GeLU, 3
    SwiGLU); attention scores count the full ``s x s`` matrix. For ``k = a``,
    ``d_h = h/a``, ``f = 4h``, ``n = 2`` this is ``72 B s l h^2 (1 + s/6h + V/12lh)``.

    Parameters
    ----------
    model : mapping, dataclass or ModelSpec
        Model shape (see :class:`~simgpu.perf.spec.ModelSpec`).
    global_batch : int
        Sequences per step ``B``.

    Returns
    -------
    float
        FLOPs per step.
    """
    m = model_spec(model)
    return 3.0 * global_batch * m.seq_len * (m.layers * _layer_fwd_flops(m)
                                              + 2.0 * m.hidden * m.vocab)


def hardware_flops(model: Any, global_batch: int, recompute: str = "full") -> float:
    """FLOPs executed per step including recomputation (Megatron's convention).

    ``full`` adds one more forward of every layer (Megatron's
    ``96 B s l h^2 (1 + s/6h + V/16lh)`` for a standard GPT); ``selective`` adds the
    attention core ``4 B s^2 l q``; ``none`` equals :func:`model_flops`.
    """
    m = model_spec(model)
    base = model_flops(m, global_batch)
    bs = global_batch * m.seq_len
    if recompute == "full":
        return base + bs * m.layers * _layer_fwd_flops(m)
    if recompute == "selective":
        return base + bs * m.layers * 4.0 * m.seq_len * m.heads * m.dh
    if recompute == "none":
        return base
    raise ValueError(f"recompute must be none, selective or full, not {recompute!r}")


def bubble_fraction(pp: int, microbatches: int, virtual_stages: int = 1) -> float:
    """Pipeline bubble as a fraction of the ideal compute time: ``(p-1) / (v m)``."""
    return (pp - 1) / (virtual_stages * microbatches)


def ring_allreduce_seconds(nbytes: float, ranks: int, bandwidth: float,
                           latency: float = 0.0) -> float:
    """Ring all-reduce: ``2 (n-1)/n * bytes / bandwidth + latency`` (0 for one rank).

    Parameters
    ----------
    nbytes : float
        Size of the buffer each rank holds, bytes.
    ranks : int
        Ranks in the ring.
    bandwidth : float
        Achieved per-rank bandwidth in one direction, bytes/s.
    latency : float
        Fixed cost, seconds.
    """
    if ranks <= 1:
        return 0.0
    return 2.0 * (ranks - 1) / ranks * nbytes / bandwidth + latency


def ring_allgather_seconds(nbytes: float, ranks: int, bandwidth: float,
                           latency: float = 0.0) -> float:
    """Ring all-gather or reduce-scatter of a buffer of ``nbytes`` in total:
    ``(n-1)/n * bytes / bandwidth + latency`` (0 for one rank)."""
    if ranks <= 1:
        return 0.0
    return (ranks - 1) / ranks * nbytes / bandwidth + latency


def _layer_fwd_flops(m: ModelSpec) -> float:
    """Forward FLOPs of one layer per token (GEMMs and attention core)."""
    return _gemm_fwd_flops(m) + 4.0 * m.seq_len * m.heads * m.dh


def _gemm_fwd_flops(m: ModelSpec) -> float:
    """Forward FLOPs of one layer's weight GEMMs per token."""
    h, q, kv = m.hidden, m.heads * m.dh, m.k * m.dh
    return 2.0 * (h * (q + 2 * kv) + q * h + m.mlp_matrices * h * m.f)


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class Estimate:
    """Throughput of one configuration.

    Attributes
    ----------
    step_seconds : float
        Wall time of one optimizer step, s.
    model_tflops_per_gpu, hardware_tflops_per_gpu : float
        Model FLOPs (no recomputation) and hardware FLOPs (with recomputation) per
        second per GPU, TFLOP/s.
    mfu, hfu : float
        The same as fractions of the GPU's dense BF16 peak.
    tokens_per_second : float
        Training tokens per second, whole job.
    gpus, microbatches, micro_batch : int
        Job size, micro-batches per replica per step, sequences per micro-batch.
    breakdown : dict of str to float
        Seconds per step: ``compute`` (of which ``recompute``, ``grad_accumulation``
        and ``grad_cast``), ``bubble``,
        ``tp_comm_exposed``/``tp_comm_overlapped``, ``cp_comm_*``, ``pp_comm_*``,
        ``dp_comm_*``, ``overlap_slowdown``, ``optimizer``, ``straggler``. The exposed
        parts, compute, bubble, slowdown, optimizer and straggler add up to
        ``step_seconds``.
    memory_gib : dict of str to float
        Peak memory per GPU on the fullest stage: ``weights``, ``gradients``,
        ``optimizer``, ``activations``, ``reserve``, ``total``, ``capacity``.
    model, parallel : ModelSpec, ParallelSpec
        The resolved inputs (``dp``, ``gpus`` and ``micro_batch`` filled in).
    gpu : str
        GPU name.
    mfu_p10, mfu_p90 : float or None
        Prediction band of the MFU: the 10th and 90th percentiles implied by the
        leave-one-source-out residuals of the GPU's architecture family (pooled over
        all rows where the family has too few), see docs/perf.md. ``None`` with a
        custom calibration.
    warnings : tuple of str
        Where the configuration lies outside what the model was calibrated on (an
        architecture without calibration rows, a GPU count, model size or sequence
        length beyond the calibration rows' range) or fits in memory only by eating
        into the reserve. Empty when the estimate interpolates.
    """

    step_seconds: float
    model_tflops_per_gpu: float
    hardware_tflops_per_gpu: float
    mfu: float
    hfu: float
    tokens_per_second: float
    gpus: int
    microbatches: int
    micro_batch: int
    breakdown: dict[str, float] = field(default_factory=dict)
    memory_gib: dict[str, float] = field(default_factory=dict)
    model: ModelSpec | None = None
    parallel: ParallelSpec | None = None
    gpu: str = ""
    mfu_p10: float | None = None
    mfu_p90: float | None = None
    warnings: tuple[str, ...] = ()

    @property
    def tokens_per_second_per_gpu(self) -> float:
        """Training tokens per second per GPU."""
        return self.tokens_per_second / self.gpus

    @property
    def mfu_band(self) -> tuple[float, float, float] | None:
        """``(p10, mfu, p90)``, or ``None`` without a band."""
        if self.mfu_p10 is None or self.mfu_p90 is None:
            return None
        return self.mfu_p10, self.mfu, self.mfu_p90

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of every field."""
        out = {k: getattr(self, k) for k in (
            "step_seconds", "model_tflops_per_gpu", "hardware_tflops_per_gpu", "mfu", "hfu",
            "tokens_per_second", "gpus", "microbatches", "micro_batch", "gpu", "mfu_p10",
            "mfu_p90")}
        out["warnings"] = list(self.warnings)
        out["breakdown_seconds"] = dict(self.breakdown)
        out["memory_gib"] = dict(self.memory_gib)
        out["model"] = dataclasses.asdict(self.model) if self.model else None
        out["parallel"] = dataclasses.asdict(self.parallel) if self.parallel else None
        return out


# ------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _Stages:
    """Layers per pipeline stage: the busiest (``mid``), ``first`` and ``last``."""

    mid: int
    first: int
    last: int

    @classmethod
    def of(cls, layers: int, pp: int) -> _Stages:
        if pp == 1:
            return cls(layers, layers, layers)
        mid = math.ceil(layers / pp)
        rest = layers - (pp - 2) * mid
        if layers % pp == 0 or rest < 0:
            # even split, or the plain remainder split: first stages take the ceiling
            return cls(mid, mid, layers // pp)
        # Llama 3's balance: the remainder is taken out of the first and last stages
        return cls(mid, rest // 2, rest - rest // 2)


def _stage_params(m: ModelSpec, p: ParallelSpec, st: _Stages) -> float:
    """Weights on one GPU of the fullest stage (embedding and output included)."""
    pl, emb = m.params_per_layer, m.vocab * m.hidden
    if p.pp == 1:
        total = m.layers * pl + emb * (1 if m.tied_embeddings else 2)
    else:
        total = max(st.first * pl + emb, st.mid * pl, st.last * pl + emb)
    return total / p.tp


def _activation_bytes(m: ModelSpec, p: ParallelSpec, b: int) -> float:
    """Activation memory of one layer for one micro-batch on one GPU, bytes.

    Korthikanti et al. 2022 (arXiv:2205.05198) eq. 1-5, generalised: per token, the
    TP-replicated part ``(10h)`` (norm, attention and MLP inputs, dropout masks) is split
    by ``tp`` only under sequence parallelism; queries, keys, values, attention output
    and MLP intermediates (``4f`` GeLU, ``6f`` SwiGLU) are split by ``tp``; the score
    matrix (``5 a s`` bytes with dropout) exists only without fused attention and
    without selective/full recomputation. Full recomputation keeps the layer input.
    """
    h, t = m.hidden, p.tp
    tokens = b * m.seq_len / p.cp
    if p.recompute == "full":
        return tokens * 2.0 * h / (t if p.sp else 1)
    rep = (8.0 + (2.0 if m.dropout else 0.0)) * h
    q, kv = m.heads * m.dh, m.k * m.dh
    split = 4.0 * q + 4.0 * max(kv, t * m.dh) + 4.0 * m.f
    scores = 0.0
    if not p.flash_attention and p.recompute == "none":
        scores = (5.0 if m.dropout else 4.0) * m.heads * m.seq_len
    return tokens * (rep / (t if p.sp else 1) + split / t + scores / t)


def _rank_layers(st: _Stages, pp: int, i: int) -> int:
    if pp == 1:
        return st.mid
    return st.first if i == 0 else st.last if i == pp - 1 else st.mid


def _inflight_layers(p: ParallelSpec, i: int, layers: int) -> float:
    """Layer-activations (one layer, one micro-batch) rank ``i`` holds at its peak.

    1F1B: rank ``i`` has ``min(p - i, m)`` micro-batches in flight. Interleaved (Megatron
    schedule): ``2 (p - i - 1) + (v - 1) p + 1`` model chunks of ``layers / v`` layers.
    """
    pp, v, mb = p.pp, p.virtual_stages, p.microbatches
    if pp == 1:
        return float(layers)
    if v == 1:
        return float(min(pp - i, mb) * layers)
    chunks = min(2 * (pp - i - 1) + (v - 1) * pp + 1, mb * v)
    return chunks * layers / v


def _shard(p: ParallelSpec) -> int:
    """Ranks that hold the same weights: data- times context-parallel ranks."""
    return (p.dp or 1) * p.cp


def memory(m: ModelSpec, p: ParallelSpec, g: Gpu) -> dict[str, float]:
    """Peak memory per GPU on the fullest pipeline rank, bytes.

    Per rank, as the frameworks allocate it: BF16 weights; the gradient buffer in
    ``grad_dtype`` (FP32 or BF16); FP32 master weights and the two Adam moments in
    ``optimizer_dtype``. ``zero_stage`` 1 (Megatron's distributed optimizer) shards the
    master weights and moments over the data- and context-parallel ranks, 2 also the
    gradients, 3 also the weights (plus two gathered layers in flight). Activations of
    the micro-batches the rank holds in flight (:func:`_inflight_layers`) times the
    per-layer size (:func:`_activation_bytes`); one layer's full activations while it is
    recomputed; FP32 logits and their gradient on the last rank; a reserve for the CUDA
    context, NCCL buffers and fragmentation. Returns the parts of the fullest rank.
    """
    st = _Stages.of(m.layers, p.pp)
    pl, emb = m.params_per_layer, m.vocab * m.hidden
    d = _shard(p)
    b = p.micro_batch or 1
    per_layer = _activation_bytes(m, p, b)
    work = (_activation_bytes(m, dataclasses.replace(p, recompute="none"), b)
            if p.recompute != "none" else 0.0)
    logits = b * m.seq_len / p.cp * m.vocab / p.tp * 4.0 * 2
    g_bytes = DTYPE_BYTES[p.grad_dtype]
    o_bytes = 4.0 + 2.0 * DTYPE_BYTES[p.optimizer_dtype]
    best: dict[str, float] = {}
    for i in range(p.pp):
        layers = _rank_layers(st, p.pp, i)
        params = layers * pl
        if i == 0:
            params += emb
        if i == p.pp - 1 and (p.pp > 1 or not m.tied_embeddings):
            params += emb
        params /= p.tp
        w = params * WEIGHT_BYTES / (d if p.zero_stage >= 3 else 1)
        if p.zero_stage >= 3 and d > 1:
            w += 2.0 * pl / p.tp * WEIGHT_BYTES  # layers gathered for compute
        gr = params * g_bytes / (d if p.zero_stage >= 2 else 1)
        opt = params * o_bytes / (d if p.zero_stage >= 1 else 1)
        act = per_layer * _inflight_layers(p, i, layers) + work
        if i == p.pp - 1:
            act += logits
        total = w + gr + opt + act + MEMORY_RESERVE_BYTES
        if total > best.get("total", -1.0):
            best = {"weights": w, "gradients": gr, "optimizer": opt, "activations": act,
                    "reserve": MEMORY_RESERVE_BYTES, "total": total}
    best["capacity"] = g.hbm_bytes
    return best


#: The Euler-Mascheroni constant (:func:`straggler_factor`'s asymptotic expansion).
EULER_GAMMA = 0.5772156649015329


def straggler_factor(nodes: int) -> float:
    """Expected excess of the slowest of ``nodes`` over their mean, in units of one
    node's mean excess, when each node's excess over the fastest possible step is
    exponential: ``H_N - 1`` (the maximum of ``N`` exponential draws has mean ``H_N``
    times theirs, the harmonic number; Renyi's representation of exponential order
    statistics). It grows like ``ln N``, faster at scale than the ``sqrt(2 ln N)`` of
    normal draws, which the published weak-scaling series reject (docs/perf.md).
    """
    n = max(1, int(nodes))
    if n <= 64:
        return sum(1.0 / k for k in range(2, n + 1))
    # asymptotic expansion (error below 1e-9 from here on)
    return math.log(n) + EULER_GAMMA + 1.0 / (2 * n) - 1.0 / (12 * n * n) - 1.0



def _gemm_eff(g: Gpu, cal: Calibration, width: float) -> float:
    frac = cal.fractions(g.arch.family)[0]
    return frac * width / (width + cal.gemm_half_width)


def _overlap(comm: float, window: float, cal: Calibration,
             tail: float = 0.0) -> tuple[float, float, float]:
    """Split ``comm`` seconds into (exposed, overlapped, slowdown) given a compute window.

    ``tail`` seconds of it cannot overlap at all (the first all-gather bucket before
    the compute it feeds, the last reduce-scatter bucket after the compute it follows).
    """
    hidden = max(0.0, min(comm - tail, window))
    return comm - hidden, hidden, cal.overlap_cost * hidden


def _ring_steps_latency(ranks: int, spans_network: bool, allreduce: bool,
                        cal: Calibration) -> float:
    """Latency of one collective over ``ranks``: launch plus its ring (or tree) steps.

    A ring reduce-scatter or all-gather takes ``n - 1`` steps, an all-reduce ``2(n-1)``;
    for all-reduce NCCL switches to a double binary tree (``2 log2 n`` steps) when that
    is shorter. Only steps that cross the scale-out network pay the hop latency.
    """
    if ranks <= 1:
        return 0.0
    steps = float(ranks - 1)
    if allreduce:
        steps = min(2.0 * steps, 2.0 * math.ceil(math.log2(ranks)))
    return cal.latency_s + (steps * cal.hop_latency_s if spans_network else 0.0)


def _hier_seconds(nbytes: float, d_in: int, d_out: int, nv_bw: float, net_bw: float,
                  allreduce: bool) -> float:
    """Bandwidth time of a hierarchical (rail-optimised) collective of ``nbytes``.

    Inside an NVLink domain the ``d_in`` ranks ring over NVLink; across domains each of
    them rings its ``1/d_in`` share with its peers over its own NIC (one rail each).
    """
    k = 2.0 if allreduce else 1.0
    intra = k * (d_in - 1) / d_in * nbytes / nv_bw if d_in > 1 else 0.0
    inter = k * (d_out - 1) / d_out * nbytes / d_in / net_bw if d_out > 1 else 0.0
    return intra + inter


def _step(m: ModelSpec, p: ParallelSpec, g: Gpu, cal: Calibration) -> dict[str, float]:
    """Seconds per step and its parts for a fully resolved layout."""
    h, t, c, s = m.hidden, p.tp, p.cp, m.seq_len
    b = p.micro_batch or 1
    mb = p.microbatches
    v = p.virtual_stages
    attn_frac = cal.fractions(g.arch.family)[1]
    peak, mem_bw = g.peak_flops, g.hbm_bw * cal.hbm_fraction
    traffic = 1.0 if p.fused_kernels else cal.unfused_traffic
    domain = g.arch.nvlink_domain
    nv_bw = g.nvlink_bw * cal.nvlink(g.arch.family)
    net_bw = g.scaleout_bw * cal.scaleout_fraction
    lat = cal.latency_s
    tokens = b * s / c  # query tokens per GPU per micro-batch
    q = m.heads * m.dh

    # --- one layer, one micro-batch, forward pass (compute) -----------------------
    gemm_f = tokens * _gemm_fwd_flops(m) / t / (peak * _gemm_eff(g, cal, h / t))
    attn_counted = tokens * 4.0 * s * q / t
    rep_bytes = (20.0 + (2.0 if m.dropout else 0.0)) * h / (t if p.sp else 1)
    act_bytes = (6.0 if m.gated else 4.0) * m.f / t
    if p.flash_attention:
        attn_f = 0.5 * attn_counted / (peak * attn_frac)
        if p.attention_kernel == "flash1":
            attn_f *= FLASH1_SLOWDOWN
        score_f = 0.0
    else:
        attn_f = attn_counted / (peak * _gemm_eff(g, cal, m.dh))
        score_bytes = (13.0 if m.dropout else 8.0) * m.heads * s / t
        score_f = tokens * score_bytes * traffic / mem_bw
    elem_f = tokens * (rep_bytes + act_bytes) * traffic / mem_bw
    fwd = gemm_f + attn_f + score_f + elem_f
    # backward: twice the matmul FLOPs (fused attention: FLASH_BWD_RATIO times its
    # forward); memory-bound kernels move about as many bytes as forward (LayerNorm and
    # activation backward read more, dropout-add less)
    attn_b = (FLASH_BWD_RATIO if p.flash_attention else 2.0) * attn_f
    bwd = 2.0 * gemm_f + attn_b + score_f + elem_f
    if p.recompute == "full":
        recomp = fwd
    elif p.recompute == "selective":
        recomp = attn_f + score_f
    else:
        recomp = 0.0
    layer_compute = fwd + bwd + recomp
    gemm_window = 3.0 * gemm_f + (gemm_f if p.recompute == "full" else 0.0)

    # --- tensor-parallel collectives, per layer per micro-batch --------------------
    coll = 1.0 if m.parallel_block else 2.0
    n_ar = 2.0 * coll + (coll if p.recompute == "full" else 0.0)
    if p.recompute == "selective" and p.sp:
        n_ar += 0.5 * coll  # all-gathers redone in backward instead of stored
    tp_net = t > domain
    tp_bw = net_bw if tp_net else nv_bw
    tp_comm = n_ar * (ring_allreduce_seconds(tokens * h * 2.0, t, tp_bw)
                      + _ring_steps_latency(t, tp_net, True, cal))
    if p.tp_overlap:
        tp_exp, tp_hid, tp_slow = _overlap(tp_comm, gemm_window, cal)
    else:
        tp_exp, tp_hid, tp_slow = tp_comm, 0.0, 0.0

    # --- context-parallel K/V all-gather and dK/dV reduce-scatter ------------------
    kv_local = max(m.k * m.dh / t, m.dh)
    kv_bytes = b * s * 2.0 * kv_local * 2.0  # K and V of the whole sequence, BF16
    cp_net = t * c > domain
    cp_bw = net_bw if cp_net else nv_bw
    n_cp = 2.0 + (1.0 if p.recompute == "full" else 0.0)
    cp_comm = n_cp * (ring_allgather_seconds(kv_bytes, c, cp_bw)
                      + _ring_steps_latency(c, cp_net, False, cal))
    if p.cp_overlap:
        cp_exp, cp_hid, cp_slow = _overlap(cp_comm, attn_f + attn_b, cal)
    else:
        cp_exp, cp_hid, cp_slow = cp_comm, 0.0, 0.0

    layer_total = layer_compute + tp_exp + tp_slow + cp_exp + cp_slow

    # --- output layer and loss (last stage) ---------------------------------------
    # forward, input-gradient and weight-gradient GEMMs; with the weight gradient
    # deferred (NeMo's defer_embedding_wgrad_compute) the last one runs in the bubble
    n_logit = 2.0 if p.defer_output_wgrad else 3.0
    logit_gemm = n_logit * tokens * 2.0 * h * m.vocab / t / (peak * _gemm_eff(g, cal, h))
    logit_mem = tokens * 40.0 * m.vocab / t * traffic / mem_bw
    logits = logit_gemm + logit_mem

    st = _Stages.of(m.layers, p.pp)
    if p.pp == 1:
        stage_layers, stage_extra = m.layers, logits
    elif st.last * layer_total + logits >= st.mid * layer_total:
        stage_layers, stage_extra = st.last, logits
    else:
        stage_layers, stage_extra = st.mid, 0.0

    # --- pipeline point-to-point (boundary activations, sequence-sharded) ----------
    if p.pp > 1:
        pp_bw = nv_bw if t * c * p.pp <= domain else net_bw
        # Megatron's scatter/gather sends 1/tp of the boundary activations per rank
        msg = tokens * h * 2.0 / (t if p.pp_scatter_gather else 1)
        pp_comm = 2.0 * v * (msg / pp_bw + lat)
    else:
        pp_comm = 0.0
    if p.pp_overlap:
        pp_exp, pp_hid, pp_slow = 0.0, pp_comm, cal.overlap_cost * pp_comm
    else:
        pp_exp, pp_hid, pp_slow = pp_comm, 0.0, 0.0

    # --- data parallelism (over the data- and context-parallel ranks) -------------
    d = _shard(p)
    params = _stage_params(m, p, st)
    w_bytes = params * WEIGHT_BYTES  # BF16 weights on the wire
    g_bytes = params * DTYPE_BYTES[p.grad_dtype]
    stride = t  # data-parallel peers are tp ranks apart (context ranks are adjacent)
    d_in = min(d, max(1, domain // stride)) if stride < domain else 1
    while d % d_in:
        d_in -= 1
    d_out = d // d_in
    per_mb = p.sync == "microbatch"
    n_units = max(1, stage_layers) if (per_mb or p.zero_stage >= 3) else max(
        1, math.ceil(params / cal.bucket_params))

    def coll_seconds(nbytes: float, allreduce: bool, units: int) -> float:
        if d <= 1:
            return 0.0
        return (_hier_seconds(nbytes, d_in, d_out, nv_bw, net_bw, allreduce)
                + units * _ring_steps_latency(d, d_out > 1, allreduce, cal))

    bwd_window = stage_layers * (bwd + recomp)
    fwd_window = stage_layers * fwd
    # once-per-step communication of an interleaved pipeline (Megatron-core: each model
    # chunk's gradients are reduced after the chunk's last backward, its weights
    # gathered before its first forward): the v chunks finish p chunk-backwards apart in
    # the cool-down (start p chunk-forwards apart in the warm-up), so the communication
    # of all but the last chunk overlaps those chunk-passes as well
    step_widen = (1.0 + (v - 1) * p.pp) / v if v > 1 else 1.0
    # (seconds, compute window, buckets, per micro-batch?) of each collective
    parts: list[tuple[float, float, int, bool]] = []
    if p.zero_stage == 0:
        parts.append((coll_seconds(g_bytes, True, n_units),
                      bwd_window * (1.0 if per_mb else step_widen), n_units, per_mb))
    else:
        parts.append((coll_seconds(g_bytes, False, n_units),
                      bwd_window * (1.0 if per_mb else step_widen), n_units, per_mb))
        if p.zero_stage >= 3:
            n_l = max(1, stage_layers)
            parts.append((coll_seconds(w_bytes, False, n_l), fwd_window, n_l, True))
            parts.append((coll_seconds(w_bytes, False, n_l), bwd_window, n_l, True))
        elif p.zero_stage == 2 and per_mb:
            parts.append((coll_seconds(w_bytes, False, n_units), fwd_window, n_units, True))
        else:
            parts.append((coll_seconds(w_bytes, False, n_units), fwd_window * step_widen,
                          n_units, False))
    # collectives that overlap the same computation share one communication stream
    # (one NCCL communicator: PyTorch FSDP's backward all-gather of the next layer and
    # reduce-scatter of the last one run one after the other), so they are summed
    # before being set against that computation
    shared: dict[tuple[float, bool], list[float]] = {}
    for comm, window, units, each_mb in parts:
        acc = shared.setdefault((window, each_mb), [0.0, 0.0])
        acc[0] += comm
        acc[1] += comm / units
    mb_dp_exp = mb_dp_hid = mb_dp_slow = 0.0  # per micro-batch
    dp_exp = dp_hid = dp_slow = 0.0  # per step
    for (window, each_mb), (comm, tail) in shared.items():
        if p.dp_overlap:
            e, hdn, sl = _overlap(comm, window, cal, tail=tail)
        else:
            e, hdn, sl = comm, 0.0, 0.0
        if each_mb:
            mb_dp_exp, mb_dp_hid, mb_dp_slow = mb_dp_exp + e, mb_dp_hid + hdn, mb_dp_slow + sl
        else:
            dp_exp, dp_hid, dp_slow = dp_exp + e, dp_hid + hdn, dp_slow + sl

    # --- gradient accumulation -------------------------------------------------------
    # without gradient-accumulation fusion every micro-batch's weight gradients are
    # added to the gradient buffer by a separate kernel (read the new gradient, read and
    # write the buffer); fused, the weight-gradient GEMM accumulates in its epilogue
    accum = 0.0
    if not p.grad_accum_fusion:
        accum_params = params / (d if p.zero_stage >= 2 and per_mb else 1)
        accum = accum_params * (2.0 + 2.0 * DTYPE_BYTES[p.grad_dtype]) / mem_bw

    # --- gradient cast ---------------------------------------------------------------
    # sharded data parallelism that reduces every micro-batch's gradients (PyTorch FSDP,
    # DeepSpeed ZeRO-2/3) in a wider format than the BF16 gradients autograd produces
    # casts them first: FSDP's post-backward hook runs ``flat_param.grad.to(reduce_dtype)``
    # over the unsharded gradient before the reduce-scatter (PyTorch
    # torch/distributed/fsdp/_runtime_utils.py, 2.0-2.5), a pass reading 2 and writing 4
    # bytes per parameter of the stage; memory-bound, it takes HBM bandwidth from the
    # backward it runs beside (counted on the critical path)
    cast = 0.0
    if p.zero_stage >= 2 and per_mb and DTYPE_BYTES[p.grad_dtype] > WEIGHT_BYTES:
        cast = params * (WEIGHT_BYTES + DTYPE_BYTES[p.grad_dtype]) / mem_bw

    mb_compute = stage_layers * layer_compute + stage_extra + accum + cast
    t_mb = (stage_layers * layer_total + stage_extra + accum + cast + pp_exp + pp_slow
            + mb_dp_exp + mb_dp_slow)
    bubble = (p.pp - 1) / v * t_mb

    # --- optimizer ---------------------------------------------------------------
    shard = d if p.zero_stage >= 1 else 1
    optimizer = ADAM_TRAFFIC_BYTES * params / shard / mem_bw

    recompute_s = mb * stage_layers * recomp
    out = {
        "compute": mb * mb_compute,
        "recompute": recompute_s,
        "grad_accumulation": mb * accum,
        "grad_cast": mb * cast,
        "bubble": bubble,
        "tp_comm_exposed": mb * stage_layers * tp_exp,
        "tp_comm_overlapped": mb * stage_layers * tp_hid,
        "cp_comm_exposed": mb * stage_layers * cp_exp,
        "cp_comm_overlapped": mb * stage_layers * cp_hid,
        "pp_comm_exposed": mb * pp_exp,
        "pp_comm_overlapped": mb * pp_hid,
        "dp_comm_exposed": dp_exp + mb * mb_dp_exp,
        "dp_comm_overlapped": dp_hid + mb * mb_dp_hid,
        "overlap_slowdown": (mb * (stage_layers * (tp_slow + cp_slow) + pp_slow + mb_dp_slow)
                             + dp_slow),
        "optimizer": optimizer,
    }
    nodes = max(1, math.ceil(p.world / GPUS_PER_NODE))
    base = sum(out[k] for k in _SUMMED if k != "straggler")
    out["straggler"] = base * cal.straggler * straggler_factor(nodes)
    return out


_SUMMED = ("compute", "bubble", "tp_comm_exposed", "cp_comm_exposed", "pp_comm_exposed",
           "dp_comm_exposed", "overlap_slowdown", "optimizer", "straggler")


def _fits(m: ModelSpec, p: ParallelSpec, g: Gpu) -> bool:
    """Whether the layout can fit: refused only when it needs more than the capacity
    even without the reserve (the reserve is the estimate's margin, not a certainty)."""
    mem = memory(m, p, g)
    return mem["total"] - mem["reserve"] <= mem["capacity"]


def _memory_problem(m: ModelSpec, p: ParallelSpec, g: Gpu, where: str) -> Problem:
    mem = memory(m, p, g)
    gib = {k: v / 2**30 for k, v in mem.items()}
    layout = (f"tp={p.tp} pp={p.pp} cp={p.cp} dp={p.dp} micro_batch={p.micro_batch} "
              f"recompute={p.recompute} zero_stage={p.zero_stage}")
    hints = []
    if p.recompute != "full":
        hints.append("recompute=full")
    if p.zero_stage < 1 and (p.dp or 1) > 1:
        hints.append("zero_stage=1")
    if (p.micro_batch or 1) > 1:
        hints.append("a smaller micro_batch")
    hints.append("more tp or pp")
    return Problem(where, layout,
                   f"does not fit in {g.name} memory: needs {gib['total']:.1f} GiB per GPU "
                   f"(weights {gib['weights']:.1f}, gradients {gib['gradients']:.1f}, "
                   f"optimizer {gib['optimizer']:.1f}, activations {gib['activations']:.1f}, "
                   f"reserve {gib['reserve']:.1f}) but has {gib['capacity']:.1f} GiB, "
                   f"{gib['total'] - gib['reserve'] - gib['capacity']:.1f} GiB short even "
                   f"without the reserve; "
                   f"try {', '.join(hints)}")


def resolve(model: Any, parallel: Any, gpu: Any, *, gpus: int | None = None,
            check_memory: bool = True, prefix: str = "") -> tuple[ModelSpec, ParallelSpec,
                                                                   Gpu]:
    """Check the inputs and fill in ``dp``, ``gpus`` and ``micro_batch``.

    Raises
    ------
    ConfigError
        Every problem, each with its dotted key (after ``prefix``) and value.
    """
    problems: list[Problem] = []
    m = p = g = None
    for fn in (lambda: model_spec(model, f"{prefix}model"),
               lambda: parallel_spec(parallel, f"{prefix}parallel"),
               lambda: resolve_gpu(gpu, f"{prefix}gpu")):
        try:
            r = fn()
        except ConfigError as exc:
            problems += exc.problems
            continue
        if isinstance(r, ModelSpec):
            m = r
        elif isinstance(r, ParallelSpec):
            p = r
        else:
            g = r
    if problems:
        raise ConfigError(problems)
    assert m is not None and p is not None and g is not None
    if gpus is not None:
        p = dataclasses.replace(p, gpus=int(gpus), dp=None)
    p = check_layout(m, p, f"{prefix}parallel", f"{prefix}model")
    where = f"{prefix}parallel"
    if p.micro_batch is None:
        per_replica = p.global_batch // (p.dp or 1)
        choices = [1] if p.pp > 1 else [4, 2, 1]
        choices = [b for b in choices if per_replica % b == 0
                   and (p.virtual_stages == 1 or (per_replica // b) % p.pp == 0)] or [1]
        trial = [dataclasses.replace(p, micro_batch=b) for b in choices]
        fitting = [x for x in trial if _fits(m, x, g)]
        p = fitting[0] if fitting else trial[-1]
        if check_memory and not fitting:
            raise ConfigError([_memory_problem(m, p, g, where)])
    elif check_memory and not _fits(m, p, g):
        raise ConfigError([_memory_problem(m, p, g, where)])
    return m, p, g


def estimate(model: Any, parallel: Any, gpu: Any, *, gpus: int | None = None,
             calibration: Calibration | None = None, check_memory: bool = True,
             prefix: str = "") -> Estimate:
    """Step time, TFLOP/s per GPU, MFU and HFU of one training configuration.

    Parameters
    ----------
    model : mapping, dataclass or ModelSpec
        ``layers, hidden, heads, kv_heads, ffn_hidden, vocab, seq_len`` (and optional
        ``activation``, ``dropout``, ``parallel_block``, ...).
    parallel : mapping, dataclass or ParallelSpec
        ``tp, pp, dp, cp, micro_batch, global_batch`` (sequences), ``recompute`` and
        optional software settings (see :class:`~simgpu.perf.spec.ParallelSpec`).
    gpu : str, mapping or GpuConfig
        Catalogue name (``a100``, ``h100``, ``h200``, ``b200``, ``gb200``) or entry.
    gpus : int, optional
        Job size; overrides ``parallel.gpus`` and derives ``dp`` from it.
    calibration : Calibration, optional
        Model constants; the shipped calibration by default (then the estimate carries
        the prediction band; with another calibration it does not).
    check_memory : bool
        Raise when the configuration clearly does not fit in GPU memory.
    prefix : str
        Prefix of the dotted keys in errors (e.g. ``"jobs.llama."``).

    Returns
    -------
    Estimate
        With ``mfu_p10``/``mfu_p90`` (the out-of-source prediction band) and
        ``warnings`` (what lies outside the calibrated range).

    Raises
    ------
    ConfigError
        Bad or inconsistent input (parallel degrees that do not divide the GPU count,
        the layers or the heads; a micro-batch that does not divide the per-replica
        batch; a model that clearly does not fit in memory ...), every problem at once.
    """
    cal = calibration or CALIBRATION
    m, p, g = resolve(model, parallel, gpu, gpus=gpus, check_memory=check_memory,
                      prefix=prefix)
    parts = _step(m, p, g, cal)
    step = sum(parts[k] for k in _SUMMED)
    n = p.gpus or p.world
    mf = model_flops(m, p.global_batch)
    hf = hardware_flops(m, p.global_batch, p.recompute)
    raw_mem = memory(m, p, g)
    mem = {k: v / 2**30 for k, v in raw_mem.items()}
    mfu = mf / n / step / g.peak_flops
    p10 = p90 = None
    notes = list(_extrapolation(m, p, g))
    if raw_mem["total"] > raw_mem["capacity"]:
        notes.append(f"memory: needs {mem['total']:.1f} GiB with the "
                     f"{mem['reserve']:.0f} GiB reserve, more than the "
                     f"{mem['capacity']:.0f} GiB of the {g.name}; it fits only if the "
                     "framework needs less than the reserve")
    if calibration is None:
        lo, hi, band_note = _band(g)
        p10, p90 = mfu * lo, mfu * hi
        if band_note:
            notes.append(band_note)
    return Estimate(
        step_seconds=step,
        model_tflops_per_gpu=mf / n / step / 1e12,
        hardware_tflops_per_gpu=hf / n / step / 1e12,
        mfu=mfu,
        hfu=hf / n / step / g.peak_flops,
        tokens_per_second=p.global_batch * m.seq_len / step,
        gpus=n,
        microbatches=p.microbatches,
        micro_batch=p.micro_batch or 1,
        breakdown=parts,
        memory_gib=mem,
        model=m,
        parallel=p,
        gpu=g.name,
        mfu_p10=p10,
        mfu_p90=p90,
        warnings=tuple(notes),
    )


def _band(g: Gpu) -> tuple[float, float, str]:
    """Multipliers of the P10 and P90 MFU for the GPU's family, and a note if pooled.

    From the leave-one-source-out log residuals ``e = log(predicted / published)``
    frozen in :mod:`simgpu.perf._fitted`: the published value is the prediction times
    ``exp(-e)``, so P10 = ``exp(-(mean + z90 sd))`` and P90 = ``exp(-(mean - z90 sd))``.
    """
    from simgpu.perf._fitted import BAND

    fam = g.arch.family if g.arch.calibrated else None
    stats = BAND.get(fam) if fam else None
    note = ""
    if stats is None:
        stats = BAND["all"]
        note = (f"band: no calibration rows of its own for the {g.arch.name} "
                f"architecture; the band is the one pooled over all rows and does not "
                f"cover the generation change")
    mu, sd = stats["mean"], stats["sd"]
    return math.exp(-(mu + Z90 * sd)), math.exp(-(mu - Z90 * sd)), note


def band_multipliers(family: str | None = None) -> tuple[float, float]:
    """``(p10, p90)`` multipliers of an MFU for the out-of-source prediction band of an
    architecture family (``ampere``, ``hopper``; pooled over all rows when None or when
    the family has no rows of its own): docs/perf.md, leave-one-source-out residuals."""
    from simgpu.perf._fitted import BAND

    stats = BAND.get(family) if family else None
    mu, sd = (stats or BAND["all"])["mean"], (stats or BAND["all"])["sd"]
    return math.exp(-(mu + Z90 * sd)), math.exp(-(mu - Z90 * sd))


def _extrapolation(m: ModelSpec, p: ParallelSpec, g: Gpu) -> list[str]:
    """What lies outside the calibration rows' range, in words (empty if nothing)."""
    from simgpu.perf.published import calibrated_ranges

    out = []
    if not g.arch.calibrated:
        out.append(f"extrapolation: no calibration rows on the {g.arch.name} "
                   f"architecture; it takes the {g.arch.family} efficiencies")
    ranges = calibrated_ranges().get(g.arch.family)
    if ranges is None:
        return out
    n = p.gpus or p.world
    for what, value, fmt in (("GPU count", n, "{:,.0f}"),
                             ("model size", m.params, "{:.3g} parameters"),
                             ("sequence length", m.seq_len, "{:,.0f} tokens")):
        lo, hi = ranges[what]
        if not lo <= value <= hi:
            out.append(f"extrapolation: {what} {fmt.format(value)} outside the "
                       f"{g.arch.family} calibration rows' {fmt.format(lo)} to "
                       f"{fmt.format(hi)}")
    return out


def mfu_for(model: Any, parallel: Any, gpu: Any, *, gpus: int | None = None,
            prefix: str = "") -> float:
    """Model FLOPs utilisation (fraction of dense peak) for the simulator's progress.

    The hook the config layer calls for jobs that give a model shape and parallelism:
    ``progress = GPUs x peak x mfu_for(...) x step``.

    Parameters
    ----------
    model, parallel, gpu
        As for :func:`estimate`.
    gpus : int, optional
        GPUs the job runs on; ``dp`` follows as ``gpus / (tp pp cp)``.
    prefix : str
        Prefix of dotted keys in errors, e.g. ``"jobs.next_model."``.

    Returns
    -------
    float
        MFU in (0, 1).

    Raises
    ------
    ConfigError
        As :func:`estimate`.
    """
    return estimate(model, parallel, gpu, gpus=gpus, prefix=prefix).mfu


def mfu_band_for(model: Any, parallel: Any, gpu: Any, *, gpus: int | None = None,
                 prefix: str = "") -> tuple[float, float, float]:
    """``(p10, mfu, p90)``: the MFU and its out-of-source prediction band.

    Same inputs and errors as :func:`mfu_for`; the band is the 10th to 90th percentile
    of the MFU implied by the leave-one-source-out residuals of the GPU's architecture
    family (docs/perf.md), for a job to carry into the simulation.
    """
    est = estimate(model, parallel, gpu, gpus=gpus, prefix=prefix)
    assert est.mfu_p10 is not None and est.mfu_p90 is not None
    return est.mfu_p10, est.mfu, est.mfu_p90
