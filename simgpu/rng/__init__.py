"""Counter-based, bit-reproducible random numbers for simgpu.

Every variate is a pure function of ``(seed, replica, stream, step, index)``
(plus ``sub``/``word`` for multi-draw consumers) through Philox4x32-10; see
:mod:`simgpu.rng.philox` for the normative key/counter layout that the CUDA
twin follows, and :mod:`simgpu.rng.detmath` for the portable ``log``/``exp``.
"""

from . import detmath
from .distributions import (
    exponential,
    lognormal,
    normal,
    normal_ppf,
    poisson,
    weibull,
)
from .philox import bits, philox4x32_10, uniform, uniform_from_words, uniform_pair

__all__ = [
    "bits",
    "detmath",
    "exponential",
    "lognormal",
    "normal",
    "normal_ppf",
    "philox4x32_10",
    "poisson",
    "uniform",
    "uniform_from_words",
    "uniform_pair",
    "weibull",
]
