"""Atomic writes: whole files with the usual permissions, no temporary left behind."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from simgpu.io import atomic_savez, atomic_write_json, atomic_write_text


def test_atomic_text_and_json(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "hello")
    assert p.read_text() == "hello"
    q = atomic_write_json(tmp_path / "sub" / "b.json", {"x": [1, 2]})
    assert json.loads(q.read_text()) == {"x": [1, 2]}
    mode = stat.S_IMODE(os.stat(q).st_mode)
    assert mode & 0o044, oct(mode)  # readable by others, like a normal file
    assert sorted(x.name for x in tmp_path.rglob("*")) == ["a.txt", "b.json", "sub"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    p = atomic_write_json(tmp_path / "s.json", {"ok": 1})
    with pytest.raises(ValueError):
        atomic_write_json(p, {"bad": float("nan")})  # NaN is refused before writing
    assert json.loads(p.read_text()) == {"ok": 1}
    assert [x.name for x in tmp_path.iterdir()] == ["s.json"]


def test_savez_round_trip(tmp_path):
    p = atomic_savez(tmp_path / "r.npz", a=np.arange(3), b=np.ones((2, 2)))
    with np.load(p) as z:
        np.testing.assert_array_equal(z["a"], np.arange(3))
