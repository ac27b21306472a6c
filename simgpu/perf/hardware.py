"""GPU entries for the throughput model and the calibrated efficiency constants.

A GPU is given as a catalogue name (``a100``, ``h100``, ``h200``, ``b200``, ``gb200``,
read from the shipped ``conf/gpu/catalog.yaml``), a mapping with the fields of
:class:`~simgpu.config.schema.GpuConfig`, or a ``GpuConfig``. The catalogue has no
field for the things only measurements give (how close large GEMMs come to the
datasheet peak, how fast fused attention runs, how many GPUs share one NVLink domain);
those live here, per GPU *architecture*, in :data:`ARCHITECTURES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from simgpu.config.schema import GpuConfig
from simgpu.errors import ConfigError, Problem


@dataclass(frozen=True)
class Arch:
    """One GPU architecture: what the catalogue does not say.

    Attributes
    ----------
    name : str
        Architecture label.
    family : str
        Whose calibrated efficiencies it uses (``ampere`` or ``hopper``, see
        :class:`Calibration`). Blackwell has no published dense BF16 run with a full
        layout and takes Hopper's (an assumption that :func:`simgpu.perf.estimate`
        reports as a warning).
    nvlink_domain : int
        GPUs joined by NVLink (one server, or one NVL72 rack).
    calibrated : bool
        Published runs on this architecture are among the calibration rows.
    """

    name: str
    family: str
    nvlink_domain: int = 8
    calibrated: bool = True

    @property
    def gemm_fraction(self) -> float:
        """Large-GEMM fraction of peak in the shipped calibration."""
        return CALIBRATION.fractions(self.family)[0]

    @property
    def attention_fraction(self) -> float:
        """Fused-attention fraction of peak in the shipped calibration."""
        return CALIBRATION.fractions(self.family)[1]


@dataclass(frozen=True)
class Calibration:
    """Constants of the step-time model.

    The fitted ones (:data:`FITTED`) are physical quantities with a plausible range,
    fitted by :func:`simgpu.perf.validation.fit` on the calibration rows and frozen in
    :mod:`simgpu.perf._fitted` (docs/perf.md, "Calibration"); the defaults below are
    the starting point of that fit, each a published or measured order of magnitude.
    The others are fixed physical values.

    Attributes
    ----------
    ampere_gemm_fraction, hopper_gemm_fraction : float
        Achievable fraction of the dense BF16 peak for large GEMMs inside a training
        step (the asymptote of the size curve ``frac * x / (x + x0)``).
    ampere_attention_fraction, hopper_attention_fraction : float
        Fraction of peak that fused (flash) attention reaches on the FLOPs it executes.
    gemm_half_width : float
        Size ``x0`` (elements) of the smallest sharded GEMM dimension at which a GEMM
        runs at half its asymptotic efficiency.
    hbm_fraction : float
        Achievable fraction of HBM bandwidth for memory-bound (elementwise) kernels.
    overlap_cost : float
        Fraction of overlapped communication time that still slows computation
        (SMs and memory bandwidth taken by the communication kernels).
    hop_latency_s : float
        Latency of one step of a ring collective that crosses the scale-out network,
        seconds: a ring over ``n`` ranks takes ``n - 1`` such steps per reduce-scatter
        or all-gather, so its cost grows with the group size even for small buffers.
    straggler : float
        Mean excess of one node's step time over the fastest possible, relative to the
        step, taken as exponential (heavy-tailed jitter: noisy neighbours, thermal
        throttling, slow links); a synchronous step waits for the slowest of ``N``
        nodes, ``1 + straggler * (H_N - 1)`` times the mean (the expected maximum of
        ``N`` exponential draws; ``H_N`` the harmonic number, about ``ln N + 0.58``).
    unfused_traffic : float
        Memory traffic of the memory-bound operations run as separate eager kernels
        (``fused_kernels=False``), as a multiple of the fused kernels' traffic.
    nvlink_fraction, hopper_nvlink_fraction : float
        Bus bandwidth of NCCL collectives over NVLink, fraction of the per-direction
        NVLink bandwidth (datasheet figure / 2): A100 rings (fixed), and Hopper's
        NVSwitch, whose in-switch reduction (NVLS, NCCL 2.17+) raises it (fitted).
    scaleout_fraction : float
        Same over the scale-out network, fraction of the per-GPU NIC line rate.
    latency_s : float
        Fixed cost of launching one collective or point-to-point transfer, seconds.
    bucket_params : float
        Parameters per data-parallel communication bucket (Megatron-LM's default
        gradient bucket of 40M parameters); sharded data parallelism communicates per
        layer instead.
    """

    ampere_gemm_fraction: float = 0.75  # start: ~230 of 312 TFLOP/s in large GEMMs
    ampere_attention_fraction: float = 0.50  # start: FlashAttention-2, arXiv:2307.08691
    hopper_gemm_fraction: float = 0.65  # start: ~640 of 989 TFLOP/s in large GEMMs
    hopper_attention_fraction: float = 0.40  # start: FlashAttention-2/cuDNN on H100
    gemm_half_width: float = 70.0  # start
    hbm_fraction: float = 0.80  # start: STREAM-like kernels reach 80-90 % of HBM
    overlap_cost: float = 0.5  # start
    hop_latency_s: float = 3e-6  # start: NCCL inter-node step latency, a few us
    straggler: float = 0.01  # start: 1 % node-to-node step-time spread
    unfused_traffic: float = 2.0  # start: each unfused pair reads and writes twice
    hopper_nvlink_fraction: float = 0.8  # start: NCCL busbw ~360 of 450 GB/s without NVLS
    nvlink_fraction: float = 0.78  # NCCL all-reduce busbw ~235 of 300 GB/s on A100
    scaleout_fraction: float = 0.80  # NCCL busbw ~20 of 25 GB/s per 200G HDR NIC
    latency_s: float = 20e-6  # NCCL launch + ring setup, order of 10-30 us
    bucket_params: float = 40e6  # Megatron-LM DistributedDataParallel default bucket

    def nvlink(self, family: str) -> float:
        """NVLink collective efficiency of an architecture family."""
        return self.nvlink_fraction if family == "ampere" else self.hopper_nvlink_fraction

    def fractions(self, family: str) -> tuple[float, float]:
        """(GEMM fraction, attention fraction) of an architecture family."""
        if family == "ampere":
            return self.ampere_gemm_fraction, self.ampere_attention_fraction
        return self.hopper_gemm_fraction, self.hopper_attention_fraction


#: The constants :func:`simgpu.perf.validation.fit` fits, with their bounds. The fused
#: attention's forward cannot beat the best published kernels: FlashAttention-2 reaches
#: "50-73% of the theoretical maximum FLOPs/s on A100" (arXiv:2307.08691, abstract) and
#: FlashAttention-3 "up to 75%" of the H100's (arXiv:2407.08608, abstract), hence 0.75.
FITTED: dict[str, tuple[float, float]] = {
    "ampere_gemm_fraction": (0.5, 0.95),
    "ampere_attention_fraction": (0.2, 0.75),
    "hopper_gemm_fraction": (0.4, 0.95),
    "hopper_attention_fraction": (0.15, 0.75),
    "gemm_half_width": (0.0, 400.0),
    "hbm_fraction": (0.4, 1.0),
    "overlap_cost": (0.0, 1.0),
    "hop_latency_s": (0.2e-6, 30e-6),
    "straggler": (0.0, 0.05),
    "unfused_traffic": (1.0, 5.0),
    "hopper_nvlink_fraction": (0.6, 1.1),
}


def _shipped() -> Calibration:
    """The frozen fit (``simgpu.perf._fitted.SHIPPED``) over the starting values."""
    try:
        from simgpu.perf._fitted import SHIPPED
    except ImportError:  # before the first fit
        return Calibration()
    known = {f.name for f in dataclasses.fields(Calibration)}
    # a constant no longer fitted is ignored here (and flagged by tests/perf) so that
    # ``--refit`` can still run after the model changed
    return dataclasses.replace(Calibration(), **{k: v for k, v in SHIPPED.items()
                                                 if k in known})


CALIBRATION = _shipped()

#: Per-architecture facts. Ampere and Hopper have calibration rows; Blackwell has no
#: published dense BF16 run with a full layout and takes Hopper's efficiencies.
ARCHITECTURES: dict[str, Arch] = {
    "ampere": Arch("ampere", "ampere"),
    "hopper": Arch("hopper", "hopper"),
    "blackwell": Arch("blackwell", "hopper", calibrated=False),
    "blackwell-nvl72": Arch("blackwell-nvl72", "hopper", nvlink_domain=72,
                            calibrated=False),
}

#: Catalogue names to architectures.
ARCH_OF = {"a100": "ampere", "h100": "hopper", "h200": "hopper", "b200": "blackwell",
           "gb200": "blackwell-nvl72"}


@dataclass(frozen=True)
class Gpu:
    """A resolved GPU: catalogue entry plus its architecture constants."""

    name: str
    entry: GpuConfig
    arch: Arch

    @property
    def peak_flops(self) -> float:
        """Dense BF16 peak, FLOP/s."""
        return self.entry.peak_tflops * 1e12

    @property
    def hbm_bytes(self) -> float:
        """HBM capacity, bytes."""
        return self.entry.hbm_gib * 2**30

    @property
    def hbm_bw(self) -> float:
        """HBM bandwidth, bytes/s."""
        return self.entry.hbm_tb_s * 1e12

    @property
    def nvlink_bw(self) -> float:
        """NVLink bandwidth per direction, bytes/s (the catalogue lists both directions)."""
        return self.entry.nvlink_gb_s * 1e9 / 2

    @property
    def scaleout_bw(self) -> float:
        """Scale-out NIC line rate per GPU and direction, bytes/s."""
        return self.entry.scaleout_gbit_s * 1e9 / 8


@lru_cache(maxsize=1)
def catalogue() -> dict[str, GpuConfig]:
    """The shipped GPU catalogue (``conf/gpu/catalog.yaml``), by name."""
    from importlib.resources import files

    import yaml

    text = files("simgpu.conf").joinpath("gpu", "catalog.yaml").read_text()
    return {k: GpuConfig(**v) for k, v in yaml.safe_load(text).items()}


def _arch_for(name: str, entry: GpuConfig) -> Arch:
    if name in ARCH_OF:
        return ARCHITECTURES[ARCH_OF[name]]
    # An entry that is not in the catalogue: the generation its peak suggests.
    if entry.peak_tflops < 500:
        return ARCHITECTURES["ampere"]
    if entry.peak_tflops < 1500:
        return ARCHITECTURES["hopper"]
    return ARCHITECTURES["blackwell"]


def resolve_gpu(gpu: Any, where: str = "gpu") -> Gpu:
    """A :class:`Gpu` from a catalogue name, a mapping or a ``GpuConfig``.

    Parameters
    ----------
    gpu : str, mapping or GpuConfig
        Catalogue name (case-insensitive) or entry; a mapping may carry ``name`` (used to
        pick the architecture) besides the ``GpuConfig`` fields.
    where : str
        Dotted key of the GPU in error messages.

    Raises
    ------
    ConfigError
        Unknown catalogue name, unknown keys, or out-of-range values.
    """
    if isinstance(gpu, Gpu):
        return gpu
    if isinstance(gpu, str):
        name = gpu.strip().lower()
        cat = catalogue()
        if name not in cat:
            raise ConfigError([Problem(where, gpu, f"unknown GPU; the catalogue has "
                                                   f"{', '.join(sorted(cat))}")])
        return Gpu(name, cat[name], _arch_for(name, cat[name]))
    if isinstance(gpu, GpuConfig):
        return Gpu("custom", gpu, _arch_for("custom", gpu))
    if isinstance(gpu, Mapping) or hasattr(gpu, "items"):
        raw = dict(gpu.items())
        name = str(raw.pop("name", "custom")).lower()
        known = {f.name for f in dataclasses.fields(GpuConfig)}
        bad = [Problem(f"{where}.{k}", v, f"unknown key; expected one of "
                                          f"{', '.join(sorted(known))}")
               for k, v in raw.items() if k not in known]
        if bad:
            raise ConfigError(bad)
        try:
            entry = GpuConfig(**raw)
        except ConfigError as exc:
            raise ConfigError([dataclasses.replace(p, key=f"{where}.{p.key}")
                               for p in exc.problems]) from None
        return Gpu(name, entry, _arch_for(name, entry))
    raise ConfigError([Problem(where, gpu, "must be a catalogue name or a GPU entry")])
