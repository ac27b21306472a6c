"""Hypothesis profiles of the property tests (tests/property).

Two profiles, registered here:

``ci`` (loaded by default)
    A few hundred examples per test, derandomized (the same examples on every run, so CI
    is reproducible): the whole of tests/property takes well under a minute on 2 cores.
``thorough``
    Thousands of examples per test, a fresh random seed on every run. The ``slow``
    twin of each property test (``*_thorough``) runs under it::

        pytest -m slow tests/property                       # the thorough twins only
        SIMGPU_HYPOTHESIS_PROFILE=thorough pytest tests/property   # every test, thorough

    A failure prints the falsifying example and a ``@reproduce_failure`` blob.

Neither profile keeps an example database (``database=None``), and Hypothesis's own
storage directory is a temporary one, so no ``.hypothesis/`` folder appears in the
repository. The helpers of these tests live in tests/property/config_strategies.py (this
folder is on ``sys.path`` like tests/, since there is no ``__init__.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

#: Examples per test of each profile: "ci" for the default selection (a few seconds per
#: test on 2 cores), "thorough" for the ``slow`` tests that CI also runs (a few minutes in
#: all); $SIMGPU_THOROUGH_EXAMPLES raises it for a long search (e.g. 3000 overnight).
CI_EXAMPLES = 40
THOROUGH_EXAMPLES = int(os.environ.get("SIMGPU_THOROUGH_EXAMPLES", "400"))

_HOME = tempfile.mkdtemp(prefix="simgpu-hypothesis-")
set_hypothesis_home_dir(_HOME)

_COMMON = dict(
    database=None,
    deadline=None,  # a simulation's run time varies with the example; no per-example limit
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=THOROUGH_EXAMPLES, derandomize=False,
                          **_COMMON)
settings.load_profile(os.environ.get("SIMGPU_HYPOTHESIS_PROFILE", "ci"))


def pytest_unconfigure(config):
    shutil.rmtree(_HOME, ignore_errors=True)
