"""Regenerate the validation table of docs/perf.md.

``python -m simgpu.perf.docs docs/perf.md`` rewrites the text between
:data:`~simgpu.perf.validation.TABLE_BEGIN` and :data:`~simgpu.perf.validation.TABLE_END`
with :func:`~simgpu.perf.validation.validation_table`; tests/perf checks it is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simgpu.io import atomic_write_text
from simgpu.perf.validation import TABLE_BEGIN, TABLE_END, validation_table


def update_docs(path: str | Path) -> bool:
    """Rewrite the generated table between the markers in ``path``; True if it changed."""
    doc = Path(path).read_text()
    if TABLE_BEGIN not in doc or TABLE_END not in doc:
        raise ValueError(f"{path}: no validation-table markers")
    head, _, rest = doc.partition(TABLE_BEGIN)
    _, _, tail = rest.partition(TABLE_END)
    new = f"{head}{TABLE_BEGIN}\n{validation_table()}\n{TABLE_END}{tail}"
    if new != doc:
        atomic_write_text(path, new)
    return new != doc


def main(argv: list[str] | None = None) -> None:
    """Update every file named on the command line."""
    for arg in sys.argv[1:] if argv is None else argv:
        print(f"{arg}: {'updated' if update_docs(arg) else 'up to date'}")


if __name__ == "__main__":
    main()
