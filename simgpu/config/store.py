"""Register the root schema in Hydra's ConfigStore.

``simgpu_schema`` heads ``conf/config.yaml``'s defaults list, so Hydra checks the type
and enum of every override against :class:`~simgpu.config.schema.SimgpuConfig` at
compose time. Imported only by composition and the CLI: running a config needs no Hydra.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from simgpu.config.schema import SimgpuConfig

SCHEMA_NAME = "simgpu_schema"


def register() -> None:
    """Store the root schema (idempotent)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=SimgpuConfig)
