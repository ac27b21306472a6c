"""Atomic file output: write to a temporary name in the same directory, then rename."""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole.

    The temporary file is named before it is created, so that a signal at any moment
    (once its name is known) leaves no temporary file behind; it gets the usual mode
    (0666 less the umask), as the final file would.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomic UTF-8 text write."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomic JSON write (sorted keys, 2-space indent, trailing newline, no NaN)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True,
                                              allow_nan=False) + "\n")


def atomic_savez(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Atomic compressed ``.npz`` write."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())
