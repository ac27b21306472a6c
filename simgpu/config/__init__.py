"""Configuration: schemas, composition and validation (no output I/O, no Hydra at import)."""

from simgpu.config.compose import CONFIG_MODULE, CONFIG_NAME, CONFIG_PATH, compose
from simgpu.config.load import load
from simgpu.config.schema import SimgpuConfig

__all__ = ["CONFIG_MODULE", "CONFIG_NAME", "CONFIG_PATH", "SimgpuConfig", "compose", "load"]
