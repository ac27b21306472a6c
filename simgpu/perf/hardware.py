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
    """Measured behaviour of one GPU architecture (not in the catalogue).

    Attributes
    ----------
    name : str
        Architecture label.
    gemm_fraction : float
        Achievable fraction of the dense BF16 peak for large GEMMs (the asymptote of the
        size curve in :class:`Calibration`), calibrated on published end-to-end runs.
    attention_fraction : float
        Fraction of peak that fused (flash) attention reaches on the FLOPs it executes.
    nvlink_domain : int
        GPUs joined by NVLink (one server, or one NVL72 rack).
    """

    name: str
    gemm_fraction: float
    attention_fraction: float
    nvlink_domain: int = 8


@dataclass(frozen=True)
class Calibration:
    """Architecture-independent constants of the step-time model.

    Each is a physical quantity with a plausible range; the values below were fitted
    once by :func:`simgpu.perf.validation.fit` on the calibration rows and then frozen.

    Attributes
    ----------
    gemm_half_width : float
        Size ``x0`` (elements) of the smallest sharded GEMM dimension at which a GEMM
        runs at half its asymptotic efficiency: ``eff(x) = frac * x / (x + x0)``.
    hbm_fraction : float
        Achievable fraction of HBM bandwidth for memory-bound (elementwise) kernels.
    nvlink_fraction : float
        Ring bus bandwidth of NCCL collectives over NVLink, fraction of the
        per-direction NVLink bandwidth (datasheet figure / 2).
    scaleout_fraction : float
        Same over the scale-out network, fraction of the per-GPU NIC line rate.
    overlap_cost : float
        Fraction of overlapped communication time that still slows computation
        (SMs and memory bandwidth taken by communication kernels).
    latency_s : float
        Fixed cost of one collective or point-to-point transfer, seconds.
    """

    gemm_half_width: float = 73.4  # fitted
    hbm_fraction: float = 0.803  # fitted
    nvlink_fraction: float = 0.78  # NCCL busbw ~235 of 300 GB/s (A100), ~350 of 450 (H100)
    scaleout_fraction: float = 0.80  # NCCL busbw ~20 of 25 GB/s per 200G HDR NIC
    overlap_cost: float = 0.594  # fitted
    latency_s: float = 20e-6  # NCCL ring setup + launch, order of 10-30 us


#: Per-architecture constants. Ampere and Hopper are calibrated on published runs
#: (docs/perf.md); Blackwell has no published run with a full parallel layout, so it
#: takes Hopper's fractions (an assumption, flagged in docs/perf.md).
ARCHITECTURES: dict[str, Arch] = {
    # gemm_fraction fitted; attention_fraction not fitted: FlashAttention-2 reports
    # 50-70 % of A100 peak forward+backward (Dao 2023, arXiv:2307.08691), 0.5 taken
    "ampere": Arch("ampere", gemm_fraction=0.744, attention_fraction=0.50),
    # both fitted (Llama 3 405B, Table 4)
    "hopper": Arch("hopper", gemm_fraction=0.617, attention_fraction=0.253),
    "blackwell": Arch("blackwell", gemm_fraction=0.617, attention_fraction=0.253),
    "blackwell-nvl72": Arch("blackwell-nvl72", gemm_fraction=0.617,
                            attention_fraction=0.253, nvlink_domain=72),
}

#: Catalogue names to architectures.
ARCH_OF = {"a100": "ampere", "h100": "hopper", "h200": "hopper", "b200": "blackwell",
           "gb200": "blackwell-nvl72"}

CALIBRATION = Calibration()


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
