"""simgpu: Monte-Carlo simulator of leased AI training clusters.

How much of a tenant's training roadmap does the landlord of its GPUs control?
:func:`compose` builds a configuration from the shipped Hydra configs; :func:`run`
simulates it and returns :class:`Results`. Importing simgpu loads neither CuPy nor
matplotlib.pyplot, and Hydra only when :func:`compose` is called.
"""

from simgpu import _conf  # noqa: F401  (first: registers simgpu.conf in a source checkout)
from simgpu._version import __version__
from simgpu.config import compose
from simgpu.errors import BackendUnavailable, ConfigError
from simgpu.run import Results, run  # binds simgpu.run to the function, not the module

__all__ = ["BackendUnavailable", "ConfigError", "Results", "__version__", "compose", "run"]
