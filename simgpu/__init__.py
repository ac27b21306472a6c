"""simgpu: Monte-Carlo simulator of leased AI training clusters."""

__version__ = "0.1.0"
