"""Capacity preemptions: the engine's step artefact, against the reference.

A job that holds everything its party may use under a delivered-burden lease is shrunk
whenever a failure elsewhere in the pool lowers the entitlement below its size; in
continuous time each such fall, before a repair makes up for it, is a preemption with its
own restart. The engine checks capacity only at step boundaries, after netting the step's
failures against the repairs due at the boundary, and re-sizes a job hit during the step
for free as part of the hit's restart; where capacity events come faster than the step it
misses most of those preemptions and their restarts (docs/validation.md, section 4: the
finding, its numbers and a fix). The two ``xfail(strict=True)`` tests pass once the
engine orders capacity changes within a step: remove their marks then, and the entries of
``simgpu.validate.KNOWN_DISCREPANCIES``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgpu.cases import at_capacity_job
from simgpu.engine.numpy_engine import simulate
from simgpu.engine.plan import compile_plan
from simgpu.reference.des import simulate_des

N = 400
HORIZON_H = 120.0


@pytest.fixture(scope="module")
def des():
    return simulate_des(at_capacity_job(1.0), N)


def _engine(dt: float):
    return simulate(compile_plan(at_capacity_job(dt)), 0, N, daily=False)


def _z(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(N)
    return (a.mean() - b.mean()) / se


def test_the_case_is_hit_often_and_preempted_between_hits(des):
    hits = des["interruptions"][:, 0].mean()
    assert hits / HORIZON_H > 1.5  # hit more often than once per 1 h step
    assert des["preemptions"][:, 0].mean() > 10


def test_the_artefact_shrinks_with_the_step(des):
    """Engine preemptions rise toward the reference's as the step shrinks."""
    pre = [_engine(dt).job_preemptions[0, :, 0].mean() for dt in (1.0, 0.25)]
    ref = des["preemptions"][:, 0].mean()
    assert pre[0] < pre[1] < ref * 1.05, (pre, ref)


@pytest.mark.xfail(strict=True, reason="engine step artefact: capacity falls between a "
                   "step's failures and repairs are netted away at a 1 h step "
                   "(docs/validation.md, section 4)")
def test_finish_hour_at_the_default_step(des):
    eng = _engine(1.0)
    z = _z(np.minimum(eng.job_finish_h[0, :, 0], HORIZON_H),
           np.minimum(des["finish_h"][:, 0], HORIZON_H))
    assert abs(z) <= 3.0, z


@pytest.mark.xfail(strict=True, reason="engine step artefact: at 0.1 h the engine still "
                   "counts about a tenth fewer preemptions (docs/validation.md, section 4)")
def test_preemptions_at_a_small_step(des):
    eng = _engine(0.1)
    z = _z(eng.job_preemptions[0, :, 0], des["preemptions"][:, 0])
    assert abs(z) <= 3.0, z
