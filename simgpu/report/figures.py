"""The report's figures, one function each, drawn with matplotlib's object-oriented API.

Figures are built as :class:`matplotlib.figure.Figure` objects with an Agg canvas, never
through ``matplotlib.pyplot``: no global figure registry, no GUI backend, nothing to
close. Every function takes a :class:`~simgpu.report.data.ReportData` and returns the
Figure, or ``None`` when the run holds no data for it (e.g. no daily series).

Conventions shared by every figure (docs/report.md):

- each landlord has its own colour (:func:`landlord_colours`, keyed by name); the tenant's
  own hardware and other owners' are drawn in neutral greys, every landlord together in
  near-black;
- a statistic that is a lower bound (some histories had not finished by the horizon) is a
  hollow marker with an upward arrow (:func:`lower_bounds`), never a filled one; one that
  cannot be measured is a grey cross at the foot of the axis (:func:`na_marks`), never 0;
- shares are drawn in percent on 0-100 %; days, prices and indices on axes that include 0.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from matplotlib.transforms import blended_transform_factory

from simgpu.analysis import fmt
from simgpu.analysis.summary import GPU_HOURS_PARTS, HELD_PARTS, LEASE_HOURS_PARTS
from simgpu.report.data import (
    SENS_METRICS,
    ReportData,
    quantiles,
    sens_null_reason,
    sens_rows,
    sens_text,
    sens_unmeasured,
    sens_value,
    spread,
    swing_text,
)

#: Font sizes shared by every figure.
RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
      "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13}
#: Landlord colours, given out in the order of the landlords' sorted names.
LANDLORD_PALETTE = ("#d62728", "#2ca02c", "#8c564b", "#e377c2", "#bcbd22", "#393b79",
                    "#ad494a", "#637939")
#: The tenant's own hardware, other owners' hardware, every landlord together, n/a marks.
OWN_C, OTHER_C, ALL_C, NA_C = "#6b7b8c", "#c7c7c7", "#222222", "#8a8a8a"
VARIANT_STYLE = {  # kind: (colour, line style); no landlord's colour is reused here
    "baseline": ("#000000", "-"),
    "no_lease": ("#1f77b4", "--"),
    "withhold": ("#ff7f0e", "-."),
    "landlord_first": ("#9467bd", ":"),
    "non_renew": ("#17becf", (0, (5, 1, 1, 1))),
}
KIND_ORDER = ("baseline", "no_lease", "withhold", "landlord_first", "non_renew")
VARIANT_TEXT = {
    "baseline": "baseline (the configured story)",
    "no_lease": "no lease at all",
    "landlord_first": "landlord's own jobs first",
    "non_renew": "lease not renewed",
}
#: Markers of tenants in figures that show several (colours belong to landlords).
TENANT_MARKERS = ("o", "s", "D", "^", "v", "P")
LEVER_WORDS = {
    "share": "share of the pool leased",
    "withhold": "share of the leased GPUs withheld",
    "price": "price factor on the lease",
    "start_days": "days the leases start later",
    "withhold_start": "date the withholding starts",
    "terminate": "date the landlord gives notice to end the lease",
}
#: Levers whose values are days since ``sim.start``: drawn, and written, as dates.
DATE_LEVERS = frozenset({"withhold_start", "terminate"})
BOUND_TEXT = "at least this (↑): some histories had not finished by the horizon"
NA_TEXT = "× cannot be measured within the horizon"


def landlord_colours(names: Iterable[str]) -> dict[str, str]:
    """A colour per landlord, keyed by its name: :data:`LANDLORD_PALETTE` in the order of the
    sorted names, so that a landlord keeps its colour in every figure of a run, and in runs
    and sweep aggregates with the same landlords."""
    srt = sorted(set(names))
    taken = set(LANDLORD_PALETTE) | {c for c, _ in VARIANT_STYLE.values()}
    more = [c for c in (mcolors.to_hex(matplotlib.colormaps["tab20b"](i)) for i in range(20))
            if c not in taken]
    pal = list(LANDLORD_PALETTE) + more
    return {name: pal[i % len(pal)] for i, name in enumerate(srt)}


def variant_text(kind: str, level: float = 0.0) -> str:
    """Plain-language name of a counterfactual variant on every landlord's leases."""
    if kind == "withhold":
        return f"{level:.0%} of the lease withheld"
    return VARIANT_TEXT.get(kind, kind)


def variant_label(data: ReportData, v: Any) -> str:
    """Plain-language name of variant ``v`` (a :class:`simgpu.timeline.Variant`), naming its
    landlord when it acts on one landlord's leases alone."""
    several = len(data.landlords) > 1
    if not v.landlord:
        if several and v.kind == "withhold":
            return f"{v.level:.0%} of every landlord's leases withheld"
        if several and v.kind in ("no_lease", "non_renew", "landlord_first"):
            return {"no_lease": "no landlord's lease at all",
                    "non_renew": "no lease renewed",
                    "landlord_first": "every landlord's own jobs first"}[v.kind]
        return variant_text(v.kind, v.level) if v.kind != "sweep" else v.name
    who = data.label(v.landlord)
    return {"no_lease": f"no lease from {who}",
            "withhold": f"{v.level:.0%} withheld by {who}",
            "landlord_first": f"{who}'s own jobs first",
            "non_renew": f"{who}'s leases not renewed"}.get(v.kind, v.name)


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _axes(fig: Figure, *args, **kw):
    return fig.subplots(*args, **kw)


class _TickLocator(ticker.AutoLocator):
    """matplotlib's default tick locator, keeping its ticks while the view and the room for
    ticks do not change (a figure asks a few dozen times per format)."""

    _memo: tuple[tuple, Any] | None = None

    def __call__(self):
        if self.axis is None:
            return super().__call__()
        key = (*self.axis.get_view_interval(), self.axis.get_tick_space())
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, super().__call__())
        return self._memo[1]


def memo_ticks(fig: Figure) -> Figure:
    """Give every axis that uses matplotlib's default locator a :class:`_TickLocator`
    (the same ticks, worked out once per view)."""
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_major_locator()) is ticker.AutoLocator:
                axis.set_major_locator(_TickLocator())
    return fig


def styled(func: Callable[[ReportData], Figure | None]) -> Callable[[ReportData], Figure | None]:
    """Draw ``func``'s figure under the report's font sizes (:data:`RC`)."""

    @functools.wraps(func)
    def wrapper(data: ReportData) -> Figure | None:
        with matplotlib.rc_context(RC):
            fig = func(data)
            return None if fig is None else memo_ticks(fig)

    return wrapper


class _DateLocator(mdates.AutoDateLocator):
    """:class:`~matplotlib.dates.AutoDateLocator` that keeps its ticks while the view does
    not change: a figure asks for them a few dozen times (layout passes, each format), and
    working them out from date rules was a sixth of drawing a figure with a date axis."""

    _memo: tuple[tuple[float, float], Any] | None = None

    def __call__(self):
        view = tuple(self.axis.get_view_interval()) if self.axis is not None else None
        if view is None or self._memo is None or self._memo[0] != view:
            self._memo = (view, super().__call__())
        return self._memo[1]


def _date_axis(ax, label: str = "date") -> None:
    loc = _DateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_xlabel(label)


def _thousands(ax, axis: str = "y") -> None:
    fmt_ = ticker.FuncFormatter(lambda x, _: f"{x / 1000:,.0f}k" if abs(x) >= 1000
                                else f"{x:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt_)


def _gpus(x: float) -> str:
    """``338``, ``1k``, ``27.5k``."""
    return f"{x / 1000:,.1f}".removesuffix(".0") + "k" if abs(x) >= 1000 else f"{x:,.0f}"


def _stride(n_days: int, max_points: int = 800) -> int:
    return max(1, int(np.ceil(n_days / max_points)))


def percent_axis(ax, axis: str = "y") -> None:
    """Shares on the honest range, 0-100 %, labelled in percent (values in percent)."""
    if axis == "y":
        ax.set_ylim(0, 102)
        ax.yaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
    else:
        ax.set_xlim(0, 102)
        ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))


def from_zero(ax, values: Iterable[float], axis: str = "y", top: float = 1.0) -> None:
    """An axis from 0 (or the lowest negative value) to above the largest value (at least
    ``top``), with a margin."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
    lo = min(0.0, float(v.min())) if v.size else 0.0
    hi = max(float(v.max()) if v.size else 0.0, top)
    if hi <= lo:  # nothing but zeros: a unit range, not a singular one
        hi = lo + 1.0
    pad = 0.08 * (hi - lo)
    (ax.set_ylim if axis == "y" else ax.set_xlim)(lo - (pad if lo < 0 else 0.0), hi + pad)


def lower_bounds(ax, x: Sequence[float], y: Sequence[float], colour: str, ms: float = 8,
                 zorder: float = 4) -> None:
    """Lower bounds: hollow markers with an arrow pointing up (the value is at least this)."""
    x = np.atleast_1d(np.asarray(x, np.float64))
    y = np.atleast_1d(np.asarray(y, np.float64))
    if not x.size:
        return
    ax.plot(x, y, "o", mfc="white", mec=colour, mew=1.8, ms=ms, ls="none", zorder=zorder)
    for xi, yi in zip(x, y, strict=True):
        ax.annotate("", xy=(xi, yi), xytext=(0, 17), textcoords="offset points",
                    arrowprops={"arrowstyle": "<|-", "color": colour, "lw": 1.5,
                                "shrinkA": 0, "shrinkB": ms * 0.55},
                    annotation_clip=False, zorder=zorder)


def na_marks(ax, x: Sequence[float], colour: str = NA_C) -> None:
    """Statistics that cannot be measured: a cross at the foot of the axis, never a 0."""
    x = np.atleast_1d(np.asarray(x, np.float64))
    if not x.size:
        return
    tr = blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(x, np.full(x.size, 0.035), "x", color=colour, ms=9, mew=2.2, ls="none",
            transform=tr, clip_on=False, zorder=5)


def bound_handles(colour: str = ALL_C, na: bool = True) -> list[Line2D]:
    """Legend entries for :func:`lower_bounds` and :func:`na_marks`."""
    out = [Line2D([], [], marker="o", mfc="white", mec=colour, mew=1.8, ms=8, ls="none",
                  label=BOUND_TEXT)]
    if na:
        out.append(Line2D([], [], marker="x", color=NA_C, ms=8, mew=2, ls="none",
                          label=NA_TEXT))
    return out


def _legend(ax, **kw) -> None:
    """The axes' legend, when anything in it is labelled (e.g. no ETTR at all: none)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _stat(d: dict | None, key: str) -> float:
    v = None if not d else d.get(key)
    return np.nan if v is None else float(v)


def draw_series(ax, x: Sequence[float], dists: Sequence[dict | None], colour: str,
                label: str | None, scale: float = 1.0, band: bool = True, lw: float = 2.0,
                marker: str = "o", errorbars: bool = False, zorder: float = 3,
                ls: Any = "-", ms: float = 7) -> dict[str, bool]:
    """A distribution per ``x`` (``{p10, p50, p90, lower_bound}`` of the summary): the P50
    as a line with markers, its P10-P90 as a band (or error bars), lower bounds hollow with
    an arrow, values that cannot be measured as crosses at the foot of the axis.

    Returns which kinds of marks were drawn (``bound``, ``na``), for the legend.
    """
    x = np.asarray(x, np.float64)
    mid = np.array([_stat(d, "p50") for d in dists]) * scale
    lo = np.array([_stat(d, "p10") for d in dists]) * scale
    hi = np.array([_stat(d, "p90") for d in dists]) * scale
    lb = np.array([bool(d and d.get("lower_bound")) for d in dists], bool)
    ok = np.isfinite(mid)
    if band and ok.any():
        both = ok & np.isfinite(lo) & np.isfinite(hi)
        if errorbars:
            ax.errorbar(x[both], mid[both], yerr=[mid[both] - lo[both], hi[both] - mid[both]],
                        fmt="none", ecolor=colour, elinewidth=1.2, capsize=3, zorder=zorder)
        else:
            ax.fill_between(x[both], lo[both], hi[both], color=colour, alpha=0.18, lw=0)
    ax.plot(x[ok], mid[ok], color=colour, lw=lw, ls=ls, label=label, zorder=zorder)
    exact = ok & ~lb
    ax.plot(x[exact], mid[exact], marker, color=colour, ms=ms, ls="none", zorder=zorder + 1)
    lower_bounds(ax, x[ok & lb], mid[ok & lb], colour, ms=ms + 1, zorder=zorder + 1)
    na_marks(ax, x[~ok], colour)
    return {"bound": bool((ok & lb).any()), "na": bool((~ok).any())}


def _delay_tag(d: dict | None) -> str:
    """A delay as a short tag: ``+103 d``, ``≥ +400 d``, ``-5 d``, ``n/a``."""
    if not d or d.get("p50") is None:
        return "n/a"
    x = d["p50"]
    ge = fmt.bound(d)
    if abs(x) < 0.5 and not ge:
        return "±0 d"
    return f"{ge}{'+' if x >= 0 else '-'}{abs(x):,.0f} d"


# --------------------------------------------------------------------------- (a)


@styled
def capacity(data: ReportData) -> Figure | None:
    """(a) Each tenant's usable GPUs over time, stacked by who owns them.

    Median over replicas of the daily mean usable GPUs on each landlord's pools (one band
    per landlord, in its colour), on the tenant's own pools and on others' (greys),
    stacked; the P10-P90 band of the total, and below it, on its own axis, how far P10 and
    P90 lie from the median (the band is often too narrow to see at full scale); the
    totals without every landlord's leases, and without each landlord's, as dashed lines.
    ``None`` without daily series.
    """
    cd = data.raw.cap_daily
    tenants = data.parties("tenant")
    if cd is None or not tenants:
        return None
    plan = data.plan
    land = data.parties("landlord")
    colours = landlord_colours(data.landlords)
    D = cd.shape[2]
    s = _stride(D)
    days = np.arange(0, D, s) + 0.5
    x = data.date(days)
    no_lease = [(i, v) for i, v in enumerate(plan.variants) if v.kind == "no_lease"]
    fig = _figure(12.5, 4.9 * len(tenants) + 0.6)
    gs = fig.add_gridspec(2 * len(tenants), 1, height_ratios=[4, 1.5] * len(tenants))
    for k, t in enumerate(tenants):
        ax = fig.add_subplot(gs[2 * k])
        axb = fig.add_subplot(gs[2 * k + 1], sharex=ax)
        T = data.label(t)
        series = cd[0, :, ::s, t, :].astype(np.float64)  # (R, D', owner)
        groups = [(f"on {data.label(a)}'s hardware (landlord)", [a],
                   colours[plan.party_names[a]]) for a in land if a != t]
        groups.append((f"on {T}'s own hardware", [t], OWN_C))
        rest = [a for a in range(len(plan.party_names)) if a not in land and a != t]
        groups.append(("on other owners' hardware", rest, OTHER_C))
        groups = [g for g in groups if g[1] and series[:, :, g[1]].sum() > 0]
        meds = [np.median(series[:, :, g[1]].sum(axis=2), axis=0) for g in groups]
        if meds:
            ax.stackplot(x, *meds, labels=[f"{g[0]} (median)" for g in groups],
                         colors=[g[2] for g in groups], alpha=0.8, linewidth=0)
        total = series.sum(axis=2)
        p10, p50, p90 = np.percentile(total, [10, 50, 90], axis=0)
        width = p90 - p10
        ax.fill_between(x, p10, p90, color="black", alpha=0.35, lw=0.6,
                        label="total, P10-P90 over histories: " + (
                            f"typically\n{_gpus(float(np.median(width)))} GPUs wide, at "
                            f"most {_gpus(float(width.max()))} (panel below)"
                            if width.any() else "no spread"))
        ax.plot(x, p50, color="black", lw=1.2, label="total (median)")
        per = [v for _, v in no_lease if v.landlord]
        for vi, v in no_lease:
            col = colours.get(v.landlord, "black") if v.landlord else "black"
            tot = np.median(cd[vi, :, ::s, t, :].astype(np.float64).sum(axis=2), axis=0)
            what = f"without {data.label(v.landlord)}'s leases" if v.landlord else (
                "if no landlord's lease existed" if len(land) > 1 else
                "if the lease never existed")
            # per-landlord lines interleave their dashes, so equal totals stay visible
            ls = (5 * per.index(v), (5, 5 * (len(per) - 1) or 5)) if v.landlord else "--"
            ax.plot(x, tot, color=col, ls=ls, lw=1.6, label=f"total {what} (median)",
                    path_effects=[withStroke(linewidth=3.2, foreground="white")])
        ax.set_ylabel("usable GPUs (daily mean)")
        _thousands(ax)
        ax.set_ylim(bottom=0)
        ax.margins(x=0)
        ax.tick_params(labelbottom=False)
        ax.set_title(f"GPUs {T} can train on, by who owns them")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(True, axis="y", alpha=0.3)
        axb.fill_between(x, p10 - p50, p90 - p50, color="black", alpha=0.35, lw=0.6)
        axb.axhline(0.0, color="black", lw=0.8)
        typical, widest = float(np.median(width)), float(width.max())
        if widest > 20 * max(typical, 1.0):  # rare dips would hide the usual spread
            lin = 10 ** np.ceil(np.log10(max(typical, 1.0)))
            axb.set_yscale("symlog", linthresh=lin, linscale=1.5)
            down, up = -float((p10 - p50).min()), float((p90 - p50).max())
            ticks = [0.0, -lin, lin]  # and each further decade the spread reaches
            ticks += [-lin * 10 ** k for k in range(1, 8) if lin * 10 ** k <= down]
            ticks += [lin * 10 ** k for k in range(1, 8) if lin * 10 ** k <= up]
            axb.set_yticks(sorted(ticks))
            axb.set_ylabel(f"P10, P90 of the\ntotal minus its\nmedian (GPUs; log\nbeyond "
                           f"±{_gpus(lin)})", fontsize=8)
        else:
            axb.set_ylabel("P10, P90 of the\ntotal minus its\nmedian (GPUs)", fontsize=9)
        _thousands(axb)
        axb.margins(x=0)
        axb.grid(True, axis="y", alpha=0.3)
        if not np.any(width):
            axb.set_ylim(-1, 1)
            axb.set_yticks([0])
            axb.text(0.5, 0.7, "every history has the same total", transform=axb.transAxes,
                     ha="center", va="center", fontsize=9)
        _date_axis(axb)
    fig.suptitle(f"Usable GPUs over time ({cd.shape[1]} simulated "
                 f"histor{'y' if cd.shape[1] == 1 else 'ies'})")
    return fig


# --------------------------------------------------------------------------- (b)


def gantt_variants(data: ReportData) -> list[int]:
    """Variants shown in the roadmap chart: every lever on all landlords' leases except
    withholding, the withholding level nearest 50 %, in :data:`KIND_ORDER`; then each
    landlord's own no-lease variant."""
    vs = data.plan.variants
    out = [i for i, v in enumerate(vs) if v.kind not in ("withhold", "sweep") and not v.landlord]
    wh = [i for i, v in enumerate(vs) if v.kind == "withhold" and not v.landlord]
    if wh:
        out.append(min(wh, key=lambda i: (abs(vs[i].level - 0.5), vs[i].level)))
    rank = {k: n for n, k in enumerate(KIND_ORDER)}
    out = sorted(out, key=lambda i: (rank.get(vs[i].kind, len(rank)), i))
    return out + [i for i, v in enumerate(vs) if v.kind == "no_lease" and v.landlord]


def _variant_colour(data: ReportData, v: Any, colours: dict[str, str]) -> str:
    if v.landlord:
        return colours.get(v.landlord, "#2ca02c")
    return VARIANT_STYLE.get(v.kind, ("#2ca02c",))[0]


@styled
def roadmap(data: ReportData) -> Figure:
    """(b) Every job's start to P50 finish, per variant, with the P10-P90 finish range.

    Tenant jobs first, then landlord and other jobs. Each counterfactual's bar carries the
    job's delay against the baseline (the P50 over histories of the per-history delay,
    ``jobs.<j>.by_variant.<v>.delay_days``; "≥" for a lower bound, "n/a" when it cannot be
    measured). A hatched bar reaching the horizon with an arrow had not finished in at
    least half of the histories; an arrow alone: in at least one tenth. Deadlines are
    diamonds.
    """
    plan, raw = data.plan, data.raw
    H = data.horizon_days
    jobs = data.summary.get("jobs") or {}
    colours = landlord_colours(data.landlords)
    order = sorted(range(len(plan.job_names)),
                   key=lambda j: ({"tenant": 0, "landlord": 1}.get(
                       plan.party_role[plan.job_party[j]], 2), j))
    vsel = gantt_variants(data)
    nv = len(vsel)
    fig = _figure(12.5, 1.9 + 0.26 * nv * len(order))
    ax = _axes(fig)
    band = 0.8 / nv
    yticks, ylabels = [], []
    overrun = deadline = False
    for row, j in enumerate(order):
        name = plan.job_names[j]
        yticks.append(row)
        ylabels.append(f"{name}\n({data.label(int(plan.job_party[j]))})")
        by = (jobs.get(name) or {}).get("by_variant") or {}
        for k, vi in enumerate(vsel):
            v = plan.variants[vi]
            col = _variant_colour(data, v, colours)
            y = row - 0.4 + band * (k + 0.5)
            (s10, s50, s90), _ = quantiles(raw.job_start_h[vi, :, j] / 24.0, H)
            (f10, f50, f90), (_, c50, c90) = quantiles(raw.job_finish_h[vi, :, j] / 24.0, H)
            left = data.date(s50)
            ax.barh(y, data.date(f50) - left, left=left, height=band * 0.85, color=col,
                    alpha=0.5 if c50 else 0.9, hatch="//" if c50 else None,
                    edgecolor=col, linewidth=0.5)
            if f90 > f10:
                ax.plot([data.date(f10), data.date(f90)], [y, y], color="black", lw=1.2)
                ax.plot([data.date(f10), data.date(f90)], [y, y], "|", color="black",
                        ms=band * 18)
            if s50 >= H * (1 - 1e-9):
                ax.text(data.date(H), y, "not started by the horizon ", ha="right",
                        va="center", fontsize=8, color=col)
            if c50 or c90:
                overrun = True
                ax.plot([data.date(H)], [y], ">", color=col if c50 else "black",
                        ms=7, clip_on=False)
            if vi != 0:
                tag = _delay_tag((by.get(v.name) or {}).get("delay_days"))
                ax.annotate(tag, (data.date(max(f50, f90)), y), xytext=(9 if c90 else 4, 0),
                            textcoords="offset points", va="center", ha="left", fontsize=7,
                            color="black", annotation_clip=False)
        if np.isfinite(plan.job_deadline_h[j]):
            deadline = True
            dd = data.date(plan.job_deadline_h[j] / 24.0)
            ax.plot([dd, dd], [row - 0.45, row + 0.45], color="black", ls=":", lw=1.2)
            ax.plot([dd], [row - 0.45], "D", color="black", ms=5)
    ax.axvline(data.date(H), color="black", lw=1, ls="--")
    ax.annotate("horizon", (data.date(H), 1.0), xycoords=("data", "axes fraction"),
                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                fontsize=9)
    ax.set_yticks(yticks, ylabels)
    ax.set_ylim(len(order) - 0.5, -0.5)
    _date_axis(ax)
    ax.grid(True, axis="x", alpha=0.3)
    handles: list[Any] = [Patch(color=_variant_colour(data, plan.variants[vi], colours),
                                label=variant_label(data, plan.variants[vi])) for vi in vsel]
    handles.append(Line2D([], [], color="black", marker="|", ms=8,
                          label="finish, P10-P90 over histories"))
    if overrun:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="unfinished at the horizon (P50):\nits delay is a "
                                   "lower bound (≥)"))
        handles.append(Line2D([], [], color="black", marker=">", ls="none",
                              label="still running at the horizon"))
    if deadline:
        handles.append(Line2D([], [], color="black", marker="D", ms=5, ls=":",
                              label="deadline"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(f"Roadmap: when each training run starts and finishes "
                 f"({data.replicas} histories)\nbar: P50 start to P50 finish; tag: the run's "
                 "delay against the baseline in the same history, P50", fontsize=11)
    return fig


# --------------------------------------------------------------------------- (c)


def _ci_text(doc: dict) -> str:
    ci = doc.get("control_index")
    return fmt.index(ci, bool(doc.get("control_index_lower_bound")))


def _curve_dists(curve: Sequence[dict]) -> tuple[np.ndarray, list[dict]]:
    """A leverage curve of the summary as (withheld %, distributions)."""
    w = np.array([100.0 * c["withheld"] for c in curve], np.float64)
    ds = [{"p10": c.get("delay_days_p10"), "p50": c.get("delay_days_p50"),
           "p90": c.get("delay_days_p90"), "lower_bound": c.get("lower_bound", False)}
          for c in curve]
    return w, ds


@styled
def leverage(data: ReportData) -> Figure | None:
    """(c) Delay against the withheld share of the leases, per tenant.

    Left: the roadmap's delay (the largest delay of any milestone, per history), P50 with
    the P10-P90 band, for every landlord together and (with several) for each landlord
    alone in its colour; the no-lease delays as dashed lines; control indices in the
    legend. Right: the same for each milestone (every landlord together). Lower bounds
    are hollow with an arrow; delays that cannot be measured are crosses at the foot.
    """
    tenants = data.summary.get("tenants") or {}
    if not tenants:
        return None
    colours = landlord_colours(data.landlords)
    fig = _figure(12.5, 6.0 * len(tenants) + 0.9)
    axs = _axes(fig, len(tenants), 2, squeeze=False)
    for (ax, axm), (name, t) in zip(axs, tenants.items(), strict=True):
        by = t.get("by_landlord") or {}
        T = data.label(name)
        if len(by) > 1:
            curves = [(f"every landlord together (control index {_ci_text(t)})", t, ALL_C,
                       "no landlord's lease")]
            curves += [(f"{data.label(ln)} alone (control index {_ci_text(e)})", e,
                        colours.get(ln, ALL_C), f"no lease from {data.label(ln)}")
                       for ln, e in by.items() if len(e.get("leverage_curve") or []) > 1]
        else:
            ln = next(iter(by), data.landlords[0] if data.landlords else "")
            curves = [(f"{data.label(ln) if ln else 'the landlord'} withholds "
                       f"(control index {_ci_text(t)})", t, colours.get(ln, ALL_C),
                       "no lease at all")]
        marks = {"bound": False, "na": False}
        ys: list[float] = [0.0]
        n = len(curves) - 1  # curves of one landlord each, after the first
        for k, (label, doc, col, who) in enumerate(curves):
            w, ds = _curve_dists(doc.get("leverage_curve") or [])
            # one landlord's curves interleave their dashes and nest their markers, so
            # that equal curves stay visible
            got = draw_series(ax, w, ds, col, label, band=k == 0,
                              lw=2.4 if k == 0 else 1.8,
                              ls="-" if k == 0 else (5 * (k - 1), (5, 5 * (n - 1) or 5)),
                              ms=7 if k == 0 else 6 + 3.5 * (n - k), zorder=3 + 0.1 * k)
            marks = {m: marks[m] or got[m] for m in marks}
            ys += [d[q] for d in ds for q in ("p50", "p90") if d[q] is not None]
            nl = doc.get("no_lease_delay_days")
            if nl and nl.get("p50") is not None:
                ax.axhline(nl["p50"], color=col, lw=1.1,
                           ls="--" if k == 0 else (2 * (k - 1), (2, 2 * (n - 1) or 2)),
                           label=f"{who} (P50): {_delay_tag(nl)}")
                ys.append(nl["p50"])
        _leverage_axes(ax, ys, "roadmap delay (days): the largest delay of any\n"
                       "milestone in each history, P50 and P10-P90")
        if t.get("control_index") is None and t.get("control_index_null_reason"):
            ax.text(0.5, 0.5, textwrap.fill("control index n/a: "
                                            + t["control_index_null_reason"], 48),
                    transform=ax.transAxes, ha="center", va="center", fontsize=9,
                    bbox={"facecolor": "white", "edgecolor": "0.7"})
        handles, labels = ax.get_legend_handles_labels()
        extra = bound_handles(ALL_C, marks["na"]) if marks["bound"] or marks["na"] else []
        if extra and not marks["bound"]:
            extra = extra[1:]
        ax.legend(handles + [Patch(color=curves[0][2], alpha=0.18)] + extra,
                  labels + ["P10-P90 over histories"] + [h.get_label() for h in extra],
                  loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, frameon=False,
                  fontsize=8)
        ax.set_title(f"{T}'s roadmap (0 = no hold; control index 1 = a delay as long as "
                     "the roadmap)", fontsize=10)
        # every milestone, all landlords together
        lbm = t.get("leverage_by_milestone") or {}
        cmap = matplotlib.colormaps["viridis"]
        marks = {"bound": False, "na": False}
        ys = [0.0]
        for k, (job, pts) in enumerate(lbm.items()):
            w, ds = _curve_dists(pts)
            got = draw_series(axm, w, ds, cmap(0.85 * k / max(len(lbm) - 1, 1)), job,
                              band=False, lw=1.6)
            marks = {m: marks[m] or got[m] for m in marks}
            ys += [d["p50"] for d in ds if d["p50"] is not None]
        w, ds = _curve_dists(t.get("leverage_curve") or [])
        axm.plot(w, [np.nan if d["p50"] is None else d["p50"] for d in ds], color="black",
                 lw=3, alpha=0.25, label="roadmap (left)", zorder=1)
        _leverage_axes(axm, ys, "delay of each milestone (days, P50)")
        handles, labels = axm.get_legend_handles_labels()
        extra = bound_handles(ALL_C, marks["na"])
        extra = [h for h, on in zip(extra, (marks["bound"], marks["na"]), strict=False) if on]
        axm.legend(handles + extra, labels + [h.get_label() for h in extra],
                   loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3, frameon=False,
                   fontsize=8)
        axm.set_title(f"{T}: every milestone" + (" (every landlord together)"
                                                   if len(by) > 1 else ""), fontsize=10)
    who = "the landlords withhold" if len(data.landlords) > 1 else "the landlord withholds"
    fig.suptitle(f"Leverage: how much later the roadmap ends\nwhen {who} a share of the "
                 "leased GPUs")
    return fig


def _leverage_axes(ax, ys: list[float], ylabel: str) -> None:
    ax.set_xlabel("share of the leased GPUs withheld (%)")
    ax.set_ylabel(ylabel)
    ax.set_xlim(-3, 103)
    from_zero(ax, ys)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
    ax.grid(True, alpha=0.3)


# --------------------------------------------------------------------------- (d)


@styled
def dependency(data: ReportData) -> Figure | None:
    """(d) Per tenant job, per landlord: the share of its FLOPs on that landlord's hardware
    (P50, P10-P90) and the share of histories in which it used that hardware at all; the
    tenant's whole roadmap last (the summary's ``by_landlord`` shares). With several
    landlords, every landlord together as a dark bar."""
    plan = data.plan
    tenants = data.parties("tenant")
    if not tenants:
        return None
    colours = landlord_colours(data.landlords)
    summ = data.summary.get("tenants") or {}
    rows: list[tuple[str, list[tuple[str, Any, Any]]]] = []  # label, [(colour, dep, vis)]
    totals: list[int] = []
    scope_handles: dict[str, str] = {}
    for t in tenants:
        tname = plan.party_names[t]
        lls = data.tenant_landlords(t)
        scopes = [(colours.get(ln, ALL_C), [ln], ln) for ln in lls]
        if len(lls) > 1:
            scopes.append((ALL_C, lls, ""))
        for col, _owners, ln in scopes:
            scope_handles.setdefault(col, f"{data.label(ln)}'s hardware" if ln
                                     else "every landlord's hardware together")
        for j in np.flatnonzero(plan.job_party == t):
            rows.append((plan.job_names[j], [
                (col, spread(data.flops_share([j], owners)),
                 (float(data.touched(int(j), owners).mean()), None))
                for col, owners, _ in scopes]))
        tdoc = summ.get(tname) or {}
        by = tdoc.get("by_landlord") or {}
        entries = []
        for col, _owners, ln in scopes:
            doc = tdoc if not ln or len(lls) == 1 else by.get(ln, {})
            dep = doc.get("dependency_share") or {}
            vis = (doc.get("visibility") or {}).get("flops_share") or {}
            entries.append((col, None if dep.get("p50") is None else
                            (_stat(dep, "p10"), dep["p50"], _stat(dep, "p90")),
                            (vis.get("p50"), (_stat(vis, "p10"), _stat(vis, "p90")))))
        totals.append(len(rows))
        rows.append((f"{data.label(t)}'s whole roadmap", entries))
    n = len(rows)
    fig = _figure(12, 1.6 + 0.5 * n * max(1, len(rows[0][1]) * 0.6))
    ax1, ax2 = _axes(fig, 1, 2, sharey=True)
    na = False
    for r, (_label, entries) in enumerate(rows):
        h = 0.8 / len(entries)
        for k, (col, dep, (vis, vis_rng)) in enumerate(entries):
            y = r - 0.4 + h * (k + 0.5)
            if dep is None:
                na = True
                ax1.text(1, y, "n/a", va="center", fontsize=8, color=NA_C)
            else:
                lo, mid, hi = (100 * v for v in dep)
                ax1.barh(y, mid, height=h * 0.9, color=col, alpha=0.9,
                         xerr=[[max(mid - lo, 0)], [max(hi - mid, 0)]] if np.isfinite(lo)
                         else None, capsize=3, error_kw={"elinewidth": 1.1})
                ax1.annotate(f"{mid:.0f} %", (max(mid, hi) if np.isfinite(hi) else mid, y),
                             xytext=(4, 0), fontsize=7, textcoords="offset points",
                             va="center")
            if vis is None:
                na = True
                ax2.text(1, y, "n/a", va="center", fontsize=8, color=NA_C)
            else:
                err = None
                if vis_rng is not None and np.isfinite(vis_rng).all():
                    err = [[max(100 * (vis - vis_rng[0]), 0)], [max(100 * (vis_rng[1] - vis), 0)]]
                ax2.barh(y, 100 * vis, height=h * 0.9, color=col, alpha=0.9, xerr=err,
                         capsize=3, error_kw={"elinewidth": 1.1})
                right = 100 * vis + (err[1][0] if err else 0.0)
                ax2.annotate(f"{100 * vis:.0f} %", (right, y), xytext=(4, 0),
                             fontsize=7, textcoords="offset points", va="center")
    for r in totals:
        for ax in (ax1, ax2):
            ax.axhline(r - 0.5, color="0.5", lw=0.8)
    ax1.set_xlabel("share of training FLOPs computed on the landlord's\n"
                   "hardware (%; P50 over histories, bar: P10-P90)")
    ax1.set_title("Dependency: where the compute ran")
    ax2.set_xlabel("a run: histories in which it used the landlord's hardware (%)\n"
                   "whole roadmap: its FLOPs in runs the landlord hosted\n"
                   "(%; P50 over histories, bar: P10-P90)")
    ax2.set_title("Visibility: what the landlord can observe")
    for ax in (ax1, ax2):
        percent_axis(ax, "x")
        ax.set_xlim(0, 110)
        ax.grid(True, axis="x", alpha=0.3)
    ax1.set_yticks(np.arange(n), [r[0] for r in rows])
    ax1.set_ylim(n - 0.5, -0.5)
    handles = [Patch(color=c, label=lbl) for c, lbl in scope_handles.items()]
    if na:
        handles.append(Patch(color="white", label="n/a: the run trained nothing"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4),
               frameon=False)
    fig.suptitle(f"How much of the tenant's training each landlord hosts and sees "
                 f"({data.replicas} histories)")
    return fig


# --------------------------------------------------------------------------- (e)


@styled
def reliability(data: ReportData) -> Figure:
    """(e) Interruptions per job (mean, stacked by cause when recorded) and ETTR per job
    (P50 with P10-P90, on 0-100 %)."""
    plan = data.plan
    jobs = data.summary["jobs"]
    names = list(plan.job_names)
    y = np.arange(len(names))
    fig = _figure(11, 1.6 + 0.5 * len(names))
    ax1, ax2 = _axes(fig, 1, 2, sharey=True)
    by = [jobs[n].get("interruptions_by_cause") or {} for n in names]
    causes = list(dict.fromkeys(c for b in by for c in b))
    cmap = ["#8c564b", "#e377c2", "#bcbd22", "#17becf", "#9467bd", "#2ca02c", "#ff7f0e"]
    left = np.zeros(len(names))
    drawn = False
    for ci, c in enumerate(causes):
        vals = np.array([(b.get(c) or {}).get("mean") or 0.0 for b in by])
        if not vals.any():
            continue
        ax1.barh(y, vals, left=left, color=cmap[ci % len(cmap)],
                 label=f"outage: {c[7:]}" if c.startswith("outage:") else f"node: {c}")
        left += vals
        drawn = True
    tot = np.array([_stat(jobs[n]["interruptions"], "mean") for n in names])
    if not drawn:
        ax1.barh(y, np.nan_to_num(tot), color="#8c564b", label="all causes")
    lo = np.array([_stat(jobs[n]["interruptions"], "p10") for n in names])
    hi = np.array([_stat(jobs[n]["interruptions"], "p90") for n in names])
    ok = np.isfinite(tot) & np.isfinite(lo) & np.isfinite(hi)
    ax1.errorbar(tot[ok], y[ok], xerr=[np.maximum(tot - lo, 0)[ok], np.maximum(hi - tot, 0)[ok]],
                 fmt="none", ecolor="black", capsize=3, label="total: P10-P90 over histories")
    ax1.set_xlabel("interruptions by failures per run (count, mean)")
    ax1.set_xlim(left=0)
    ax1.set_title("Interruptions")
    fig.legend(*ax1.get_legend_handles_labels(), loc="outside lower left", ncols=4,
               frameon=False, title="interruptions by cause (left panel)")
    for k, n in enumerate(names):
        e = jobs[n]["ettr"]
        if e.get("p50") is None:
            ax2.text(1, k, "n/a: held no GPUs", va="center", fontsize=8, color=NA_C)
            continue
        mid = 100 * e["p50"]
        err = None
        if e.get("p10") is not None and e.get("p90") is not None:
            err = [[max(mid - 100 * e["p10"], 0)], [max(100 * e["p90"] - mid, 0)]]
        ax2.barh(k, mid, color="#2ca02c", alpha=0.85, xerr=err, capsize=3,
                 label="P50, bar: P10-P90" if k == 0 else None)
        ax2.annotate(f"{mid:.1f} %", (mid + (err[1][0] if err else 0.0), k), xytext=(4, 0),
                     textcoords="offset points", va="center", fontsize=8)
    ax2.set_xlabel("effective training time ratio, ETTR (%)\n"
                   "(useful GPU-hours / GPU-hours held)")
    ax2.set_title("Useful share of the GPU time held")
    percent_axis(ax2, "x")
    ax2.set_xlim(0, 112)
    _legend(ax2, loc="lower left", frameon=True, framealpha=0.9)
    for ax in (ax1, ax2):
        ax.grid(True, axis="x", alpha=0.3)
    ax1.set_yticks(y, [f"{n}\n({data.label(int(plan.job_party[j]))})"
                       for j, n in enumerate(names)])
    ax1.set_ylim(len(names) - 0.5, -0.5)
    fig.suptitle(f"Reliability of each training run ({data.replicas} histories)")
    return fig


# ---------------------------------------------------------------------- GPU-hours

#: Colours and words of the parts of ``tenants.<t>.gpu_hours`` and ``leases.<l>.gpu_hours``
#: (hatched: hours the tenant could not use).
GPU_HOURS_STYLE = {
    "kept": ("#2ca02c", "training progress kept"),
    "lost": ("#d62728", "work lost to failures (rolled back)"),
    "restarts": ("#ff7f0e", "restarts after failures or moves (detection included)"),
    "checkpoint_writes": ("#ffbb78", "checkpoint writes"),
    "gang_wait": ("#9467bd", "usable, none held: a run waiting for its gang to fit"),
    "idle": ("#c7c7c7", "usable, none held, no run waiting (between runs, after the roadmap)"),
    "not_delivered": ("hatch:xx", "paid, not delivered healthy (failed nodes, landlord-first)"),
    "withheld": ("hatch://", "taken away by the lever (the baseline's hours)"),
}


def _hours_panel(ax, data: ReportData, doc: dict, parts: tuple[str, ...], total: str,
                 seen: set[str]) -> None:
    """One stacked panel of :func:`gpu_hours`: a bar per variant of ``doc`` (variant ->
    parts), annotated with the share of the variant's ``total`` (usable or paid hours)
    its runs held."""
    variants = {v.name: v for v in data.plan.variants}
    names = list(doc)
    y = np.arange(len(names))
    left = np.zeros(len(names))
    for part in parts:
        colour, words = GPU_HOURS_STYLE[part]
        vals = np.array([doc[n][part] for n in names]) / 1e9
        label = None if part in seen else words
        seen.add(part)
        if colour.startswith("hatch:"):
            ax.barh(y, vals, left=left, color="none", edgecolor="#555555",
                    hatch=colour[len("hatch:"):], linewidth=0.6, label=label)
        else:
            ax.barh(y, vals, left=left, color=colour, label=label)
        left += vals
    for k, n in enumerate(names):
        d = doc[n]
        used = sum(d[k] for k in HELD_PARTS)
        ax.annotate(f"runs held {100 * used / d[total]:.0f} % of {total}" if d[total]
                    else f"nothing {total}", (left[k], k), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(y, ["as configured (baseline)" if n == "baseline"
                      else variant_label(data, variants[n]) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, 1.22 * max(left.max(), max(doc[n][total] for n in names) / 1e9, 1e-9))
    ax.set_xlabel("GPU-hours over the simulated horizon (billions, mean over histories)")
    ax.grid(True, axis="x", alpha=0.3)


@styled
def gpu_hours(data: ReportData) -> Figure | None:
    """Where each tenant's usable GPU-hours, and each lease's contracted GPU-hours, went
    over the horizon, per counterfactual (means over histories, stacked;
    ``tenants.<t>.gpu_hours``, ``leases.<l>.gpu_hours``)."""
    panels = []
    for t, d in (data.summary.get("tenants") or {}).items():
        if d.get("gpu_hours"):
            panels.append((f"{data.label(t)}: where its usable GPU-hours went",
                           d["gpu_hours"], GPU_HOURS_PARTS, "usable"))
    for ln, d in (data.summary.get("leases") or {}).items():
        if d.get("gpu_hours"):
            panels.append((f"lease {data.label(ln)} ({data.label(d['landlord'])} to "
                           f"{data.label(d['tenant'])}): where its paid GPU-hours went",
                           d["gpu_hours"], LEASE_HOURS_PARTS, "paid"))
    if not panels:
        return None
    rows = sum(len(p[1]) for p in panels)
    fig = _figure(11, 1.4 + 0.42 * rows + 0.5 * len(panels) + 0.9)
    axes = np.atleast_1d(_axes(fig, len(panels), 1, squeeze=False)[:, 0])
    seen: set[str] = set()
    for ax, (title, doc, parts, total) in zip(axes, panels, strict=True):
        _hours_panel(ax, data, doc, parts, total, seen)
        ax.set_title(title)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.append(h)
            labels.append(lab)
    fig.legend(handles, labels, loc="outside lower left", ncols=2, frameon=False)
    fig.suptitle(f"GPU-hours by use, per counterfactual ({data.replicas} histories)")
    return fig


# --------------------------------------------------------------------------- (f)


def _usd_axis(ax, values: Iterable[float]) -> None:
    from_zero(ax, values, top=0.0)
    top = ax.get_ylim()[1]
    dec = 2 if top < 100 else 0
    ax.yaxis.set_major_formatter(ticker.StrMethodFormatter(f"${{x:,.{dec}f}}"))


@styled
def money(data: ReportData) -> Figure | None:
    """(f) Left: cumulative lease payments of the baseline, stacked by landlord (its colour),
    and the total under each counterfactual on every landlord's leases (deterministic,
    from the plan; identical curves are marked "="). Right: per lease, in its landlord's
    colour, one point per history: payments per healthy GPU-hour delivered (filled) and
    per GPU-hour the tenant's training used (hollow), on an axis from $0."""
    plan = data.plan
    if not plan.lease_names:
        return None
    colours = landlord_colours(data.landlords)

    def owner_colour(li: int) -> str:
        return colours.get(plan.party_names[plan.lease_owner[li]], OTHER_C)

    fig = _figure(12.5, 5.0)
    ax1, ax2 = _axes(fig, 1, 2, width_ratios=[1.5, 1])
    T = plan.n_steps
    s = max(1, int(round(24.0 / plan.dt)))
    steps = np.arange(0, T, s)
    x = data.date((steps + 1) * plan.dt / 24.0)
    usd = plan.lease_usd_h  # (V, L, T) $ per hour
    owners = list(dict.fromkeys(int(o) for o in plan.lease_owner))
    top = float(np.cumsum(usd.sum(axis=1) * plan.dt, axis=1)[:, -1].max()) if T else 0.0
    scale, unit = next(((f, u) for f, u in ((1e9, "billion US$"), (1e6, "million US$"),
                                             (1e3, "thousand US$")) if top >= f),
                       (1.0, "US$"))
    stack = [np.cumsum(usd[0][plan.lease_owner == o].sum(axis=0) * plan.dt)[steps] / scale
             for o in owners]
    ax1.stackplot(x, *stack, colors=[colours.get(plan.party_names[o], OTHER_C)
                                     for o in owners],
                  labels=[f"paid to {data.label(o)} (baseline)" for o in owners],
                  alpha=0.35, linewidth=0)
    seen: dict[tuple, str] = {}
    for vi, v in enumerate(plan.variants):
        if v.kind == "sweep" or v.landlord:  # sweeps: the sweeps figure; one landlord: below
            continue
        col, ls = VARIANT_STYLE.get(v.kind, ("#2ca02c", "-"))
        if v.kind == "withhold":
            col = matplotlib.colormaps["Oranges"](0.35 + 0.6 * v.level)
        cum = np.cumsum(usd[vi].sum(axis=0) * plan.dt)
        key = (round(float(cum[-1]), -3), round(float(cum[T // 2]), -3))
        label = variant_label(data, v)
        if key in seen:
            label += f" (= {seen[key]})"
        else:
            seen[key] = variant_label(data, v)
        ax1.plot(x, cum[steps] / scale, color=col, ls=ls, lw=2.2 if vi == 0 else 1.5,
                 label=label, zorder=3 if vi == 0 else 2)
    ax1.set_ylabel(f"cumulative lease payments ({unit})")
    _date_axis(ax1)
    ax1.set_ylim(bottom=0)
    ax1.margins(x=0)
    ax1.grid(True, alpha=0.3)
    ax1.legend(loc="upper left", frameon=True, framealpha=0.9, fontsize=8)
    ax1.set_title("What the tenants pay, per counterfactual")
    prices = data.lease_prices()
    allv: list[float] = []
    for li, (deliv, used) in enumerate(prices):
        col = owner_colour(li)
        for dx, vals, filled in ((-0.17, deliv, True), (0.17, used, False)):
            ok = vals[np.isfinite(vals)]
            if not ok.size:
                ax2.annotate("n/a", (li + dx, 0), xytext=(0, 4), textcoords="offset points",
                             ha="center", fontsize=8, color=NA_C)
                continue
            jit = (np.arange(ok.size) - (ok.size - 1) / 2) * (0.18 / max(ok.size, 1))
            ax2.plot(li + dx + jit, ok, "o", ms=4, ls="none", alpha=0.7,
                     mfc=col if filled else "white", mec=col)
            med = float(np.median(ok))
            ax2.plot([li + dx - 0.12, li + dx + 0.12], [med, med], color="black", lw=1.5)
            ax2.annotate(f"${med:,.2f}", (li + dx + (0.13 if dx > 0 else -0.13), med),
                         xytext=(3 if dx > 0 else -3, 0), textcoords="offset points",
                         ha="left" if dx > 0 else "right", va="center", fontsize=8)
            allv += [float(ok.max())]
    ax2.set_xticks(np.arange(len(plan.lease_names)),
                   [f"{n}\n({data.label(int(plan.lease_owner[i]))} to "
                    f"{data.label(int(plan.lease_tenant[i]))})"
                    for i, n in enumerate(plan.lease_names)], fontsize=9)
    ax2.set_xlim(-0.75, len(plan.lease_names) - 0.25)
    ax2.set_ylabel("US$ per GPU-hour")
    _usd_axis(ax2, allv)
    ax2.set_ylim(top=ax2.get_ylim()[1] * 1.08)
    ax2.grid(True, axis="y", alpha=0.3)
    ax2.set_title("Price per GPU-hour, per lease")
    grey = "#555555"
    ax2.legend(handles=[
        Line2D([], [], marker="o", color=grey, ls="none", label="per GPU-hour delivered in "
               "working order\n(one point per history)"),
        Line2D([], [], marker="o", mfc="white", mec=grey, ls="none",
               label="per GPU-hour the tenant's\ntraining used"),
        Line2D([], [], color="black", lw=1.5, label="median (value beside it)")],
        loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, frameon=False, fontsize=8)
    fig.suptitle("Money: lease payments and what a GPU-hour effectively costs")
    return fig


# --------------------------------------------------------------------------- (g)


def lever_axis(ax, lever: str) -> float:
    """Label the x axis for an in-batch lever; returns the factor values are drawn at
    (100 for shares, drawn in percent)."""
    ax.set_xlabel(LEVER_WORDS.get(lever, lever) + (" (%)" if lever in ("share", "withhold")
                                                    else " (×)" if lever == "price"
                                                    else ""))
    if lever in ("share", "withhold"):
        ax.set_xlim(-3, 103)
        ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
        return 100.0
    return 1.0


def date_lever_words(data: ReportData, sweep: str) -> str:
    """What the date of a date lever (:data:`DATE_LEVERS`) means, in words: ``"date xAI
    gives notice (the lease ends 90 days later)"``, ``"date xAI starts withholding 100 % of
    the leased GPUs (for 60 days)"``."""
    d = data.date_lever(sweep)
    if d is None:
        return "date"
    who = " and ".join(d["landlords"]) or "the landlord"
    s = "" if len(d["landlords"]) > 1 else "s"
    if d["lever"] == "terminate":
        ends = ("the lease ends " + " or ".join(f"{n:g}" for n in d["notice_days"])
                + (" day" if d["notice_days"] == [1.0] else " days") + " later"
                if d["notice_days"] else
                "no swept lease has a termination right")
        return f"date {who} give{s} notice ({ends})"
    how = ("to the lease's end" if d["days"] is None else
           f"for {d['days']:g} day{'' if d['days'] == 1 else 's'}")
    return f"date {who} start{s} withholding {d['fraction']:.0%} of the leased GPUs ({how})"


def _date_lever_axis(ax, when: np.ndarray, xs: np.ndarray, words: str) -> None:
    """A date lever's axis: each swept date written out at its point (``1 Jul 2026``)
    when there are few, else matplotlib's date ticks; the lever in words below."""
    if len(xs) <= 8:
        ax.set_xticks(xs, [str(np.datetime64(w, "D").item().strftime("%-d %b %Y"))
                           for w in when], rotation=25, ha="right", fontsize=8.5)
        pad = 0.06 * max(float(np.ptp(xs)), 1.0)
        ax.set_xlim(float(xs.min()) - pad, float(xs.max()) + pad)
        ax.set_xlabel(textwrap.fill(words, 46), fontsize=9)
    else:
        _date_axis(ax, textwrap.fill(words, 46))
        ax.xaxis.label.set_fontsize(9)


def _and_words(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] \
        if items else ""


@styled
def sweeps(data: ReportData) -> Figure | None:
    """(g) The summary's in-batch sweeps (``sweeps``): per sweep, the lever's value against
    each tenant's roadmap delay (days), its dependency share (%) and each swept lease's
    price per GPU-hour delivered (in its landlord's colour); P50 with P10-P90 bars, the
    baseline as a star, bounds and values that cannot be measured marked as such. ``None``
    without in-batch sweeps."""
    sw = data.summary.get("sweeps") or {}
    if not sw:
        return None
    summ = data.summary
    tenants = list(summ.get("tenants") or {})
    leases = summ.get("leases") or {}
    colours = landlord_colours(data.landlords)
    fig = _figure(15, 4.4 * len(sw) + 1.2)
    axs = _axes(fig, len(sw), 3, squeeze=False)
    marks = {"bound": False, "na": False}
    star: set[str] = set()
    for (a1, a2, a3), (name, spec) in zip(axs, sw.items(), strict=True):
        lever = spec.get("lever", "")
        pts = sorted(spec.get("points") or [], key=lambda p: p["value"])
        if lever in DATE_LEVERS:  # days since sim.start: dates on the axis
            scale = 1.0
            when = data.date(np.array([p["value"] for p in pts], np.float64))
            xs = mdates.date2num(when)
            for ax in (a1, a2, a3):
                _date_lever_axis(ax, when, xs, date_lever_words(data, name))
        else:
            scale = lever_axis(a1, lever)
            for ax in (a2, a3):
                lever_axis(ax, lever)
            xs = np.array([p["value"] for p in pts], np.float64) * scale
        base = data.sweep_base(name)
        ys1: list[float] = [0.0]
        ys3: list[float] = []
        for k, tn in enumerate(tenants):
            m = TENANT_MARKERS[k % len(TENANT_MARKERS)]
            T = data.label(tn)
            d = [(p.get("tenants") or {}).get(tn, {}).get("delay_days") for p in pts]
            got = draw_series(a1, xs, d, ALL_C, T, marker=m, errorbars=True)
            marks = {q: marks[q] or got[q] for q in marks}
            ys1 += [v for dd in d if dd for v in (dd.get("p50"), dd.get("p90"))
                    if v is not None]
            dep = [(p.get("tenants") or {}).get(tn, {}).get("dependency_share") for p in pts]
            got = draw_series(a2, xs, dep, ALL_C, T, scale=100.0, marker=m, errorbars=True)
            marks = {q: marks[q] or got[q] for q in marks}
            star.add(_baseline(a1, base, scale, 0.0))
            star.add(_baseline(a2, base, scale,
                               _stat((summ["tenants"][tn] or {}).get("dependency_share"),
                                     "p50") * 100))
        for ln in spec.get("leases") or []:
            col = colours.get((leases.get(ln) or {}).get("landlord", ""), OTHER_C)
            d = [(p.get("leases") or {}).get(ln, {}).get("effective_usd_per_gpu_hour")
                 for p in pts]
            got = draw_series(a3, xs, d, col, ln, errorbars=True)
            marks = {q: marks[q] or got[q] for q in marks}
            ys3 += [v for dd in d if dd for v in (dd.get("p50"), dd.get("p90"))
                    if v is not None]
            b = _stat((leases.get(ln) or {}).get("effective_usd_per_gpu_hour"), "p50")
            star.add(_baseline(a3, base, scale, b, col))
            ys3.append(b)
        from_zero(a1, ys1)
        percent_axis(a2)
        _usd_axis(a3, ys3)
        a1.set_ylabel("roadmap delay (days; the largest\ndelay of any milestone)")
        a2.set_ylabel("training compute on\nlandlord hardware (%)")
        a3.set_ylabel("US$ per GPU-hour delivered\nin working order")
        a1.set_title(f"sweep {name}: how much later", fontsize=10)
        a2.set_title(f"sweep {name}: dependency", fontsize=10)
        a3.set_title(f"sweep {name}: price per lease", fontsize=10)
        for ax in (a1, a2, a3):
            ax.grid(True, alpha=0.3)
            _legend(ax, loc="best", frameon=True, framealpha=0.9, fontsize=8)
    handles = [Line2D([], [], color=ALL_C, marker="o", label="P50 over histories, "
                      "bar: P10-P90")]
    if "star" in star:
        handles.append(Line2D([], [], marker="*", color="black", ms=13, ls="none",
                              label="baseline (as configured)"))
    if "line" in star:
        dated = all(spec.get("lever") in DATE_LEVERS or data.sweep_base(n) is not None
                    for n, spec in sw.items())
        handles.append(Line2D([], [], color="black", ls=":", lw=1.2, label=(
            "baseline (as configured, without the swept move)" if dated else
            "baseline (as configured; no single value of the lever)")))
    handles += bound_handles(ALL_C, marks["na"])[0 if marks["bound"] else 1:]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
               frameon=False)
    fig.suptitle("In-batch sweeps: each lever's value against delay, dependency and price "
                 f"({data.replicas} histories per point, common random numbers)")
    return fig


def _baseline(ax, base: float | None, scale: float, y: float, colour: str = "black") -> str:
    """The baseline point: a star at the lever's configured value, or a dotted line when
    the baseline has no single value of the lever. Returns what was drawn: ``"star"``,
    ``"line"`` or ``""``."""
    if not np.isfinite(y):
        return ""
    if base is None:
        ax.axhline(y, color=colour, ls=":", lw=1.2)
        return "line"
    ax.plot([base * scale], [y], "*", color=colour, mec="black", ms=14, ls="none", zorder=6)
    return "star"


# --------------------------------------------------------------------------- (h)

#: Tornado bars: the input at the low end of its range (light), at the high end (dark).
SENS_LOW_C, SENS_HIGH_C = "#9ecae1", "#2b5d8a"


def _sens_end(ax, y: float, base: float, m: dict | None, metric: str, colour: str,
              h: float) -> str:
    """One end of a tornado row: a bar from the base value to the end's value (hatched with
    an arrow to the right when the value is a lower bound), or a cross on the base line
    when it cannot be measured. Returns what was drawn: ``bar``, ``bound`` or ``na``."""
    x = sens_value(metric, m)
    if x is None:
        ax.plot([base if np.isfinite(base) else 0.0], [y], "x", color=NA_C, ms=8, mew=2,
                zorder=5)
        return "na"
    left = base if np.isfinite(base) else 0.0
    lb = bool(m.get("lower_bound"))
    ax.barh(y, x - left, left=left, height=h, color=colour, edgecolor=colour,
            hatch="///" if lb else None, alpha=0.55 if lb else 1.0, zorder=3, lw=0.8)
    if lb:
        ax.annotate("", xy=(x, y), xytext=(16, 0), textcoords="offset points",
                    arrowprops={"arrowstyle": "<|-", "color": colour, "lw": 1.5,
                                "shrinkA": 0, "shrinkB": 0},
                    annotation_clip=False, zorder=4)
    return "bound" if lb else "bar"


def _no_math(s: str) -> str:
    """Text with its dollar signs escaped (two of them would start mathtext)."""
    return s.replace("$", r"\$")


@styled
def tornado(data: ReportData) -> Figure | None:
    """(h) The sensitivity analysis (``summary["sensitivity"]``) as tornado charts: per
    tenant and headline metric, one row per uncertain input, sorted by swing (largest on
    top), with a bar from the base value to the metric's value at the input's low end
    (light) and one to its high end (dark); lower bounds hatched with an arrow to the
    right, values that cannot be measured as a cross on the base line and named, inputs
    that do not apply listed last. ``None`` without a sensitivity analysis."""
    doc = data.summary.get("sensitivity")
    if not doc or not doc.get("tenants") or not doc.get("inputs"):
        return None
    tenants = list(doc["tenants"])
    gone = {m: [tn for tn in tenants if m in sens_unmeasured(doc, tn)] for m in SENS_METRICS}
    metrics = [k for k in SENS_METRICS if any(k in (t.get("base") or {})
                                              for t in doc["tenants"].values())
               and len(gone[k]) < len(tenants)]  # not a panel of crosses
    if not metrics:
        return None
    n_in = len(doc["inputs"])
    panel_h = 0.62 * n_in + 1.05
    fig = _figure(13.0, panel_h * len(metrics) * len(tenants) + 1.3)
    axs = _axes(fig, len(metrics) * len(tenants), 1, squeeze=False)[:, 0]
    drawn: set[str] = set()
    base_bound = False
    k = 0
    for tn in tenants:
        T = data.label(tn)
        base_doc = doc["tenants"][tn].get("base") or {}
        for metric in metrics:
            ax = axs[k]
            k += 1
            words, unit, _ = SENS_METRICS[metric]
            rows = sens_rows(doc, tn, metric)
            bm = base_doc.get(metric)
            b = sens_value(metric, bm)
            base = np.nan if b is None else b
            xs = [] if b is None else [b]
            labels = []
            for i, r in enumerate(rows):
                y = float(i)
                labels.append(f"{r.words}\n{textwrap.shorten(r.range, 58, placeholder='…')}")
                if not r.applies:
                    ax.text(0.02, y, "does not apply to this scenario (not run)",
                            transform=blended_transform_factory(ax.transAxes, ax.transData),
                            va="center", ha="left", fontsize=8.5, color=NA_C, style="italic",
                            bbox={"fc": "white", "ec": "none", "pad": 1.0}, zorder=6)
                    continue
                drawn.add(_sens_end(ax, y - 0.19, base, r.low, metric, SENS_LOW_C, 0.36))
                drawn.add(_sens_end(ax, y + 0.19, base, r.high, metric, SENS_HIGH_C, 0.36))
                xs += [v for v in (sens_value(metric, r.low), sens_value(metric, r.high))
                       if v is not None]
                swing = swing_text(metric, r)
                ax.text(1.01, y, _no_math(f"low end: {sens_text(metric, r.low)}\n"
                                          f"high end: {sens_text(metric, r.high)}\n"
                                          f"swing {swing}"),
                        transform=blended_transform_factory(ax.transAxes, ax.transData),
                        va="center", ha="left", fontsize=8.5, clip_on=False)
            ax.set_yticks(range(len(rows)), labels, fontsize=8.5)
            ax.set_ylim(len(rows) - 0.45, -0.55)  # largest swing on top
            if unit == "%":
                percent_axis(ax, "x")
            else:
                from_zero(ax, xs, axis="x", top=0.0 if xs else 1.0)
                if unit == "US$":
                    ax.xaxis.set_major_formatter(
                        ticker.FuncFormatter(lambda v, _: f"${v:,.0f}" if abs(v) >= 10 or v == 0
                                             else f"${v:,.2f}"))
            if b is not None:
                lb = bool(bm.get("lower_bound"))
                base_bound |= lb
                ax.axvline(b, color="black", lw=1.4, ls="--" if lb else "-", zorder=4)
                btxt = f"base point: {sens_text(metric, bm)}"
            else:
                btxt = "base point: not measurable"
            ax.set_title(_no_math(f"{T}: {words} — {btxt}"), fontsize=10, loc="left")
            ax.set_xlabel({"days": "days", "%": "%", "US$": "US$ per GPU-hour",
                           "index": "control index (0 = no hold)"}.get(unit, unit),
                          fontsize=9)
            ax.grid(True, axis="x", alpha=0.3)
    handles = [Patch(color=SENS_LOW_C, label="input at the low end of its range"),
               Patch(color=SENS_HIGH_C, label="input at the high end of its range"),
               Line2D([], [], color="black", lw=1.4,
                      label="base point (as configured" + ("; dashed: a lower bound)"
                                                           if base_bound else ")"))]
    if "bound" in drawn:
        handles.append(Patch(facecolor="white", edgecolor=SENS_HIGH_C, hatch="///",
                             label="at least this (→): some histories had not finished "
                                   "by the horizon"))
    if "na" in drawn:
        handles.append(Line2D([], [], marker="x", color=NA_C, ms=8, mew=2, ls="none",
                              label="× not measurable at that end"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)),
               frameon=False, fontsize=9)
    notes = []
    for m, who in gone.items():
        if who and len(who) == len(tenants):
            why = sens_null_reason(data.summary, who[0], m)
            notes.append(f"Not drawn: the {SENS_METRICS[m][0]}, not measurable at any "
                         f"point" + (f" ({why})" if why else ""))
    fig.suptitle(f"Sensitivity: each uncertain input at the low and the high end of its "
                 f"range, one at a time, sorted by swing\n({doc.get('replicas')} histories "
                 f"per point at {doc.get('step_hours'):g}-hour steps, the main run's random "
                 "numbers: compare with the base point, not with the main run)"
                 + ("\n" + _no_math(textwrap.fill("; ".join(notes) + ".", 120))
                    if notes else ""))
    return fig


#: Figures in report order: (file stem, caption, function).
FIGURES = (
    ("capacity", "Usable GPUs over time, by owner", capacity),
    ("roadmap", "Roadmap: start and finish of each training run, per counterfactual", roadmap),
    ("leverage", "Leverage: delay against the share of the leases withheld, per landlord "
                 "and per milestone", leverage),
    ("dependency", "Dependency share and visibility per run and per landlord", dependency),
    ("reliability", "Interruptions and effective training time per run", reliability),
    ("money", "Lease payments and price per GPU-hour, per landlord", money),
    ("gpu_hours", "Where each tenant's and each lease's GPU-hours went, per counterfactual",
     gpu_hours),
    ("sweeps", "In-batch sweeps: delay, dependency and price against each lever", sweeps),
    ("tornado", "Sensitivity: the headline numbers at the low and high end of each uncertain "
                "input", tornado),
)
#: Figures left out of the report (not listed as "not drawn") when the run has no data
#: for them.
OPTIONAL = frozenset({"sweeps", "tornado", "gpu_hours"})
