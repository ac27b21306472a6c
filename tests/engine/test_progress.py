"""Golden cases for the per-step progress semantics, computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from simgpu.engine.progress import advance, compute_time, wall_time

RATE = 100.0  # FLOPs per hour, round numbers
TAU, WRITE, RESTART = 1.0, 0.1, 0.25
CYC = TAU + WRITE


def _one(hits=(), total=0.0, unc=0.0, since=0.0, restart_left=0.0, flops=1e9, dt=1.0,
         alloc=True):
    h = np.array([list(hits)], dtype=np.float64).reshape(1, -1)
    a = lambda x: np.array([x], dtype=np.float64)  # noqa: E731
    return advance(dt, np.array([alloc]), a(RATE), a(flops), a(total), a(unc), a(since),
                   a(restart_left), a(RESTART), a(TAU), a(CYC), h)


def test_compute_time_and_its_inverse():
    s = np.array([0.0, 0.5, 1.0, 1.05, 1.1, 2.15, 3.3])
    c = compute_time(s, TAU, CYC)
    np.testing.assert_allclose(c, [0.0, 0.5, 1.0, 1.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(wall_time(np.array([0.5, 1.0, 2.0, 2.5]), TAU, CYC),
                               [0.5, 1.0, 2.1, 2.7])


def test_no_hit_full_step_accumulates_uncommitted_work():
    out = _one()
    assert out.total[0] == pytest.approx(RATE * 1.0)
    assert out.uncommitted[0] == pytest.approx(RATE * 1.0)  # the write starts at 1.0 h
    assert out.since[0] == pytest.approx(1.0)
    assert out.interruptions[0] == 0 and out.lost[0] == 0.0


def test_checkpoint_commits_after_the_write():
    out = _one(total=50.0, unc=50.0, since=0.5)  # 0.5 h into a cycle
    # 0.5 h more compute reaches tau at 1.0, the write ends at 1.1, then 0.4 h compute
    assert out.total[0] == pytest.approx(50.0 + RATE * 0.5 + RATE * 0.4)
    assert out.uncommitted[0] == pytest.approx(RATE * 0.4)
    assert out.since[0] == pytest.approx(0.4)


def test_injected_hit_rolls_back_to_checkpoint_then_restarts():
    # since 0.5 -> the cycle commits at 0.6 into the step; the hit at 0.7 loses 0.1 h of
    # work; restart 0.25 h until 0.95; then 0.05 h of compute to the end of the step.
    out = _one(hits=[0.7], total=50.0, unc=50.0, since=0.5)
    assert out.lost[0] == pytest.approx(RATE * 0.1)
    assert out.interruptions[0] == 1
    assert out.total[0] == pytest.approx(50.0 + RATE * 0.5 + RATE * 0.05)
    assert out.uncommitted[0] == pytest.approx(RATE * 0.05)
    assert out.since[0] == pytest.approx(0.05)
    assert out.restart_left[0] == 0.0


def test_hit_before_any_checkpoint_loses_all_uncommitted_work():
    out = _one(hits=[0.3], total=80.0, unc=30.0, since=0.3)
    assert out.lost[0] == pytest.approx(30.0 + RATE * 0.3)
    assert out.total[0] == pytest.approx(50.0 + RATE * 0.45)  # restart 0.3->0.55, run 0.45
    assert out.gained[0] == pytest.approx(out.total[0] - 80.0)


def test_hit_during_restart_restarts_the_restart():
    out = _one(hits=[0.2], restart_left=0.3)
    # restart until 0.3 is cut at 0.2; a new 0.25 h restart runs to 0.45; 0.55 h compute
    assert out.interruptions[0] == 1 and out.lost[0] == 0.0
    assert out.total[0] == pytest.approx(RATE * 0.55)
    assert out.restart_left[0] == 0.0


def test_restart_longer_than_the_rest_of_the_step_carries_over():
    out = _one(hits=[0.9])
    assert out.restart_left[0] == pytest.approx(RESTART - 0.1)
    assert out.total[0] == pytest.approx(0.0)  # 0.9 h of work, never checkpointed, lost
    assert out.lost[0] == pytest.approx(RATE * 0.9)


def test_two_hits_in_one_step_are_processed_in_order():
    out = _one(hits=[0.2, 0.6])
    assert out.interruptions[0] == 2
    # 0.2 h lost; restart 0.2->0.45; 0.15 h lost at 0.6; restart to 0.85; 0.15 h kept
    assert out.lost[0] == pytest.approx(RATE * 0.35)
    assert out.total[0] == pytest.approx(RATE * 0.15)


def test_finish_inside_a_step_at_the_exact_hour_and_later_hits_ignored():
    out = _one(hits=[0.8], total=970.0, unc=0.0, since=0.0, flops=1000.0)
    # needs 30 FLOPs = 0.3 h of compute; finishes at 0.3 h, before the hit
    assert out.finish_offset[0] == pytest.approx(0.3)
    assert out.interruptions[0] == 0
    assert out.total[0] == 1000.0


def test_finish_across_a_checkpoint_write():
    out = _one(total=900.0, since=0.8, unc=80.0, flops=1050.0)
    # 0.2 h compute to tau (0.8->1.0), write to 1.1 h (0.3 into the step), then 1.3 h more
    # would be needed: 150 FLOPs = 1.5 h compute > what the step holds -> no finish
    assert np.isinf(out.finish_offset[0])
    out = _one(total=900.0, since=0.8, unc=80.0, flops=960.0)
    # 60 FLOPs = 0.6 h compute: 0.2 h, the 0.1 h write, then 0.4 h -> 0.7 h into the step
    assert out.finish_offset[0] == pytest.approx(0.7)


def test_idle_job_is_untouched():
    out = _one(hits=[0.5], total=5.0, unc=5.0, since=0.2, restart_left=0.1, alloc=False)
    assert out.total[0] == 5.0 and out.uncommitted[0] == 5.0 and out.since[0] == 0.2
    assert out.interruptions[0] == 0 and np.isinf(out.finish_offset[0])
