"""Render a run's report: PNG per figure, one multi-page PDF, ``report.md``.

Everything is drawn in memory first and written afterwards, each file atomically (a
temporary name in the same directory, then ``os.replace``), so a failure leaves no
partial report file behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simgpu.io import atomic_write_bytes, atomic_write_text
from simgpu.report.data import ReportData, load_run
from simgpu.report.figures import FIGURES, OPTIONAL
from simgpu.report.text import report_markdown

FORMATS = ("png", "pdf", "markdown")
PDF_NAME = "report.pdf"
MD_NAME = "report.md"
PNG_DPI = 110
#: zlib level of the PNGs: 1 writes them faster than the default 6, about 5 % larger
PNG_COMPRESSION = 1


def _formats(formats: Iterable[Any] | None, default: Iterable[Any]) -> list[str]:
    vals = [getattr(f, "value", f) for f in (default if formats is None else formats)]
    bad = [f for f in vals if f not in FORMATS]
    if bad:
        from simgpu.errors import SimgpuError

        raise SimgpuError(f"unknown report format(s) {', '.join(map(str, bad))}; "
                          f"choose from {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in vals]


def render_data(data: ReportData, out_dir: str | Path,
                formats: Iterable[str] = FORMATS) -> list[Path]:
    """Draw every figure of ``data`` and write the requested formats into ``out_dir``.

    Parameters
    ----------
    data : ReportData
    out_dir : str or Path
    formats : iterable of {"png", "pdf", "markdown"}

    Returns
    -------
    list of Path
        Files written, PNGs in figure order, then the PDF, then ``report.md``.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    fmts = set(formats)
    out = Path(out_dir)
    blobs: dict[str, bytes] = {}
    listed: list[tuple[str, str, str | None]] = []
    pdf_buf = io.BytesIO() if "pdf" in fmts else None
    pdf = PdfPages(pdf_buf, metadata={"CreationDate": None, "Title": "simgpu report"}) \
        if pdf_buf is not None else None
    try:
        for stem, caption, func in FIGURES:
            fig = func(data)
            if fig is None:
                if stem not in OPTIONAL:  # e.g. the sweeps figure of a run without sweeps
                    listed.append((stem, caption, None))
                continue
            if "png" in fmts:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=PNG_DPI,
                            pil_kwargs={"compress_level": PNG_COMPRESSION})
                blobs[f"{stem}.png"] = buf.getvalue()
                # the layout is done (in inches and points: the same for the PDF); keep it
                # rather than solve it again, a third of a figure's drawing time
                fig.set_layout_engine("none")
            if pdf is not None:
                pdf.savefig(fig)
            listed.append((stem, caption, f"{stem}.png" if "png" in fmts else ""))
    finally:
        if pdf is not None:
            pdf.close()
    if pdf_buf is not None:
        blobs[PDF_NAME] = pdf_buf.getvalue()
    written = [atomic_write_bytes(out / name, b) for name, b in blobs.items()]
    if "markdown" in fmts:
        md = report_markdown(data, listed, PDF_NAME if "pdf" in fmts else None)
        written.append(atomic_write_text(out / MD_NAME, md))
    return written


def render_results(results: Any, out_dir: str | Path,
                   formats: Iterable[str] | None = None) -> list[Path]:
    """Render the report of a :class:`simgpu.run.Results` held in memory.

    Parameters
    ----------
    results : simgpu.run.Results
    out_dir : str or Path
        Usually the directory :meth:`Results.write` wrote to.
    formats : iterable of str, optional
        Default: ``results.config.report.formats``.

    Returns
    -------
    list of Path
        Files written.
    """
    fmts = _formats(formats, results.config.report.formats)
    data = ReportData(results.plan, results.raw, results.summary)
    return render_data(data, out_dir, fmts)


def render(run_dir: str | Path, formats: Iterable[str] | None = None) -> list[Path]:
    """Re-render the report of a saved run, without simulating.

    Parameters
    ----------
    run_dir : str or Path
        Output directory of a ``simgpu`` run (``config.yaml``, ``raw.npz``, summary).
    formats : iterable of str, optional
        Default: the run's ``report.formats``.

    Returns
    -------
    list of Path
        Files written into ``run_dir``.

    Raises
    ------
    RunDirError
        ``run_dir`` holds no complete run.
    """
    data = load_run(run_dir)
    return render_data(data, run_dir, _formats(formats, data.plan.cfg.report.formats))
