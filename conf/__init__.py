"""simgpu's shipped Hydra configs (installed as the package ``simgpu.conf``).

This directory, ``conf/`` at the repository root, is the only copy: pyproject.toml maps
it into the package, so ``pkg://simgpu.conf`` finds it after any install.
"""
