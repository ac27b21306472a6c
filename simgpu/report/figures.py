"""The report's figures, one function each, drawn with matplotlib's object-oriented API.

Figures are built as :class:`matplotlib.figure.Figure` objects with an Agg canvas, never
through ``matplotlib.pyplot``: no global figure registry, no GUI backend, nothing to
close. Every function takes a :class:`~simgpu.report.data.ReportData` and returns the
Figure, or ``None`` when the run holds no data for it (e.g. no daily series).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib
import numpy as np
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simgpu.report.data import ReportData, quantiles

#: Font sizes and colours shared by every figure.
RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
      "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13}
LANDLORD_C, OWN_C, OTHER_C = "#d62728", "#1f77b4", "#7f7f7f"
VARIANT_STYLE = {  # kind: (colour, line style)
    "baseline": ("#000000", "-"),
    "no_lease": ("#1f77b4", "--"),
    "withhold": ("#ff7f0e", "-."),
    "landlord_first": ("#d62728", ":"),
    "non_renew": ("#9467bd", (0, (5, 1, 1, 1))),
}
KIND_ORDER = ("baseline", "no_lease", "withhold", "landlord_first", "non_renew")
VARIANT_TEXT = {
    "baseline": "baseline (the configured story)",
    "no_lease": "no lease at all",
    "landlord_first": "landlord's own jobs first",
    "non_renew": "lease not renewed",
}


def variant_text(kind: str, level: float = 0.0) -> str:
    """Plain-language name of a counterfactual variant."""
    if kind == "withhold":
        return f"{level:.0%} of the lease withheld"
    return VARIANT_TEXT.get(kind, kind)


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _axes(fig: Figure, *args, **kw):
    return fig.subplots(*args, **kw)


def styled(func: Callable[[ReportData], Figure | None]) -> Callable[[ReportData], Figure | None]:
    """Draw ``func``'s figure under the report's font sizes (:data:`RC`)."""

    @functools.wraps(func)
    def wrapper(data: ReportData) -> Figure | None:
        with matplotlib.rc_context(RC):
            return func(data)

    return wrapper


def _date_axis(ax, label: str = "date") -> None:
    loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_xlabel(label)


def _thousands(ax, axis: str = "y") -> None:
    fmt = ticker.FuncFormatter(lambda x, _: f"{x / 1000:,.0f}k" if abs(x) >= 1000
                               else f"{x:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _stride(n_days: int, max_points: int = 800) -> int:
    return max(1, int(np.ceil(n_days / max_points)))


# --------------------------------------------------------------------------- (a)


@styled
def capacity(data: ReportData) -> Figure | None:
    """(a) Each tenant's usable GPUs over time, stacked by who owns them.

    Median over replicas of the daily mean usable GPUs on landlord-owned pools, on the
    tenant's own pools and on others', stacked; the P10-P90 band of the total; the
    no-lease variant's median total as a dashed line. ``None`` without daily series.
    """
    cd = data.raw.cap_daily
    tenants = data.parties("tenant")
    if cd is None or not tenants:
        return None
    plan = data.plan
    land = data.parties("landlord")
    D = cd.shape[2]
    s = _stride(D)
    days = np.arange(0, D, s) + 0.5
    x = data.date(days)
    nl = data.variant("no_lease")
    fig = _figure(12, 3.8 * len(tenants) + 0.6)
    axs = np.atleast_1d(_axes(fig, len(tenants), 1, squeeze=False)[:, 0])
    for ax, t in zip(axs, tenants, strict=True):
        series = cd[0, :, ::s, t, :].astype(np.float64)  # (R, D', A owner)
        groups = [(f"on {data.label(a)} hardware (landlord)", [a], LANDLORD_C)
                  for a in land]
        groups.append(("on its own hardware", [t], OWN_C))
        rest = [a for a in range(len(plan.party_names)) if a not in land and a != t]
        groups.append(("on other owners' hardware", rest, OTHER_C))
        groups = [g for g in groups if g[1] and series[:, :, g[1]].sum() > 0]
        meds = [np.median(series[:, :, g[1]].sum(axis=2), axis=0) for g in groups]
        if meds:
            ax.stackplot(x, *meds, labels=[f"{g[0]} (median)" for g in groups],
                         colors=[g[2] for g in groups], alpha=0.75, linewidth=0)
        total = series.sum(axis=2)
        p10, p90 = np.percentile(total, [10, 90], axis=0)
        ax.fill_between(x, p10, p90, facecolor="none", edgecolor="black", hatch="////",
                        linewidth=0, alpha=0.5, label="total, P10-P90 over histories")
        ax.plot(x, np.median(total, axis=0), color="black", lw=1.2, label="total (median)")
        if nl is not None:
            tot_nl = cd[nl, :, ::s, t, :].astype(np.float64).sum(axis=2)
            ax.plot(x, np.median(tot_nl, axis=0), color="black", ls="--", lw=1.5,
                    label="total if the lease never existed (median)")
        ax.set_ylabel("usable GPUs (daily mean)")
        _thousands(ax)
        _date_axis(ax)
        ax.set_ylim(bottom=0)
        ax.margins(x=0)
        ax.set_title(f"GPUs {data.label(t)} can train on, by who owns them")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"Usable GPUs over time ({data.replicas} simulated "
                 f"histor{'y' if data.replicas == 1 else 'ies'})")
    return fig


# --------------------------------------------------------------------------- (b)


def gantt_variants(data: ReportData) -> list[int]:
    """Variants shown in the roadmap chart: every non-withholding lever and the
    withholding level nearest 50 %, in :data:`KIND_ORDER`."""
    vs = data.plan.variants
    out = [i for i, v in enumerate(vs) if v.kind not in ("withhold", "sweep")]
    wh = [i for i, v in enumerate(vs) if v.kind == "withhold"]
    if wh:
        out.append(min(wh, key=lambda i: (abs(vs[i].level - 0.5), vs[i].level)))
    rank = {k: n for n, k in enumerate(KIND_ORDER)}
    return sorted(out, key=lambda i: (rank.get(vs[i].kind, len(rank)), i))


@styled
def roadmap(data: ReportData) -> Figure:
    """(b) Every job's start to P50 finish, per variant, with the P10-P90 finish range.

    Tenant jobs first, then landlord and other jobs. A bar that reaches the horizon with
    an arrow did not finish within it in at least half of the histories.
    """
    plan, raw = data.plan, data.raw
    H = data.horizon_days
    order = sorted(range(len(plan.job_names)),
                   key=lambda j: ({"tenant": 0, "landlord": 1}.get(
                       plan.party_role[plan.job_party[j]], 2), j))
    vsel = gantt_variants(data)
    nv = len(vsel)
    fig = _figure(12, 1.8 + 0.24 * nv * len(order))
    ax = _axes(fig)
    band = 0.8 / nv
    yticks, ylabels = [], []
    overrun = False
    for row, j in enumerate(order):
        y0 = row
        yticks.append(y0)
        ylabels.append(f"{plan.job_names[j]}\n({data.label(int(plan.job_party[j]))})")
        for k, vi in enumerate(vsel):
            v = plan.variants[vi]
            col, _ = VARIANT_STYLE.get(v.kind, ("#2ca02c", "-"))
            y = y0 - 0.4 + band * (k + 0.5)
            (s10, s50, s90), _ = quantiles(raw.job_start_h[vi, :, j] / 24.0, H)
            (f10, f50, f90), (_, c50, c90) = quantiles(raw.job_finish_h[vi, :, j] / 24.0, H)
            left = data.date(s50)
            width = data.date(f50) - left
            ax.barh(y, width, left=left, height=band * 0.85, color=col,
                    alpha=0.55 if c50 else 0.9, hatch="//" if c50 else None,
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
    ax.axvline(data.date(H), color="black", lw=1, ls="--")
    ax.annotate("horizon", (data.date(H), 1.0), xycoords=("data", "axes fraction"),
                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                fontsize=9)
    ax.set_yticks(yticks, ylabels)
    ax.invert_yaxis()
    ax.set_ylim(len(order) - 0.5, -0.5)
    _date_axis(ax, "date (bar: P50 start to P50 finish)")
    ax.grid(True, axis="x", alpha=0.3)
    handles = [Patch(color=VARIANT_STYLE.get(plan.variants[vi].kind, ("#2ca02c",))[0],
                     label=variant_text(plan.variants[vi].kind, plan.variants[vi].level))
               for vi in vsel]
    handles.append(Line2D([], [], color="black", marker="|", ms=8,
                          label="finish, P10-P90 over histories"))
    if overrun:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="unfinished at the horizon (P50)"))
        handles.append(Line2D([], [], color="black", marker=">", ls="none",
                              label="still running at the horizon"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(f"Roadmap: when each training run starts and finishes "
                 f"({data.replicas} histories)")
    return fig


# --------------------------------------------------------------------------- (c)


@styled
def leverage(data: ReportData) -> Figure | None:
    """(c) Final-milestone delay against the withheld share of the lease, per tenant.

    P50 line with the P10-P90 band; hollow markers where some histories had not finished
    by the horizon (the delay is then a lower bound); the control index in the title.
    """
    tenants = data.summary.get("tenants") or {}
    if not tenants:
        return None
    fig = _figure(max(8.0, 6.5 * len(tenants)), 5.2)
    axs = np.atleast_1d(_axes(fig, 1, len(tenants), squeeze=False)[0])
    for ax, (name, t) in zip(axs, tenants.items(), strict=True):
        curve = [c for c in t.get("leverage_curve", []) if c.get("delay_days_p50") is not None]
        w = np.array([100.0 * c["withheld"] for c in curve])
        p50 = np.array([c["delay_days_p50"] for c in curve], float)
        p10 = np.array([np.nan if c.get("delay_days_p10") is None else c["delay_days_p10"]
                        for c in curve], float)
        p90 = np.array([np.nan if c.get("delay_days_p90") is None else c["delay_days_p90"]
                        for c in curve], float)
        cens = np.array([c.get("censored_fraction", 0.0) > 0 for c in curve], bool)
        ax.fill_between(w, p10, p90, color="#ff7f0e", alpha=0.25,
                        label="P10-P90 over histories")
        ax.plot(w, p50, color="#ff7f0e", lw=2, label="median (P50)")
        ax.plot(w[~cens], p50[~cens], "o", color="#ff7f0e", ms=7,
                label="every history finished")
        if cens.any():
            ax.plot(w[cens], p50[cens], "o", mfc="white", mec="#ff7f0e", mew=1.8, ms=8,
                    label="some unfinished at the horizon:\nat least this delay")
        nl = t.get("no_lease_delay_days")
        if nl and nl.get("p50") is not None:
            ax.axhline(nl["p50"], color=VARIANT_STYLE["no_lease"][0], ls="--", lw=1.2,
                       label=f"no lease at all (P50): {nl['p50']:.0f} d")
        ax.set_xlabel("share of leased GPUs withheld by the landlord (%)")
        ax.set_ylabel("delay of the last roadmap milestone (days)")
        ax.set_xlim(-2, 102)
        lo = min(0.0, float(np.nanmin(p10)) if np.isfinite(p10).any() else 0.0)
        hi = max(float(np.nanmax(np.r_[p90, p50, 0.0])), 1.0)
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
        if len(w) > 1 and cens[w > 0].all() and hi <= 1.0:
            ax.text(50, (hi + lo) / 2, "The last milestone did not finish within the\n"
                    "horizon even without withholding:\nno delay can be measured here "
                    "(simulate longer).", ha="center", va="center", fontsize=10,
                    bbox={"facecolor": "white", "edgecolor": "0.7"})
        ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
        ax.grid(True, alpha=0.3)
        ci = t.get("control_index")
        ci_text = "n/a" if ci is None else f"{ci:.2f}"
        ax.set_title(f"{data.label(name)}: control index {ci_text} "
                     "(0 = no hold, 1 = delay as long as the roadmap)", fontsize=10)
        ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    fig.suptitle("Leverage: how much later the roadmap ends\n"
                 "when the landlord withholds leased GPUs")
    return fig


# --------------------------------------------------------------------------- (d)


def _err(d: dict) -> tuple[float, float, float]:
    mid = d.get("p50")
    mid = 0.0 if mid is None else mid
    lo = mid if d.get("p10") is None else d["p10"]
    hi = mid if d.get("p90") is None else d["p90"]
    return mid, max(mid - lo, 0.0), max(hi - mid, 0.0)


@styled
def dependency(data: ReportData) -> Figure | None:
    """(d) Per tenant job: share of its FLOPs on landlord hardware, and how often the
    landlord sees it run; the tenant's totals as the last bars."""
    plan, raw = data.plan, data.raw
    tenants = data.parties("tenant")
    if not tenants:
        return None
    land_pool = np.isin(plan.pool_owner, data.parties("landlord"))
    jobs_doc = data.summary["jobs"]
    labels, share, seen, colors = [], [], [], []
    for t in tenants:
        tdoc = data.summary["tenants"][plan.party_names[t]]
        for j in np.flatnonzero(plan.job_party == t):
            name = plan.job_names[j]
            labels.append(name)
            share.append(_err(jobs_doc[name]["landlord_flops_share"]))
            gh = raw.job_alloc_gpu_h_pool[0, :, j]  # (R, P)
            seen.append(float((gh[:, land_pool].sum(axis=1) > 0).mean()))
            colors.append(OWN_C)
        labels.append(f"all of {data.label(t)}")
        share.append(_err(tdoc["dependency_share"]))
        seen.append(tdoc["visibility"]["flops_share"]["p50"] or 0.0)
        colors.append(LANDLORD_C)
    y = np.arange(len(labels))
    fig = _figure(11, 1.4 + 0.45 * len(labels))
    ax1, ax2 = _axes(fig, 1, 2, sharey=True)
    mid = np.array([s[0] for s in share]) * 100
    err = np.array([[s[1] for s in share], [s[2] for s in share]]) * 100
    ax1.barh(y, mid, color=colors, alpha=0.85, xerr=err, capsize=4,
             error_kw={"elinewidth": 1.2})
    ax1.set_xlabel("training FLOPs computed on landlord hardware (%)")
    ax1.set_title("Dependency: where the compute ran")
    ax2.barh(y, np.array(seen) * 100, color=colors, alpha=0.85)
    ax2.set_xlabel("histories in which the run used landlord hardware (%)\n"
                   "(last bar: share of all FLOPs in such runs, P50)")
    ax2.set_title("Visibility: runs the landlord can observe")
    for ax in (ax1, ax2):
        ax.set_xlim(0, 105)
        ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
        ax.grid(True, axis="x", alpha=0.3)
    ax1.set_yticks(y, labels)
    ax1.invert_yaxis()
    handles = [Patch(color=OWN_C, label="one training run (P50, bar: P10-P90)"),
               Patch(color=LANDLORD_C, label="the tenant's whole roadmap")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(f"How much of the tenant's training the landlord hosts and sees "
                 f"({data.replicas} histories)")
    return fig


# --------------------------------------------------------------------------- (e)


@styled
def reliability(data: ReportData) -> Figure:
    """(e) Interruptions per job (mean, stacked by cause when recorded) and ETTR per job
    (P50 with P10-P90)."""
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
    tot = np.array([jobs[n]["interruptions"]["mean"] or 0.0 for n in names])
    if not drawn:
        ax1.barh(y, tot, color="#8c564b", label="all causes")
    lo = np.array([jobs[n]["interruptions"]["p10"] or 0.0 for n in names])
    hi = np.array([jobs[n]["interruptions"]["p90"] or 0.0 for n in names])
    ax1.errorbar(tot, y, xerr=[np.maximum(tot - lo, 0), np.maximum(hi - tot, 0)], fmt="none",
                 ecolor="black", capsize=3, label="total: P10-P90 over histories")
    ax1.set_xlabel("interruptions by failures per run (count, mean)")
    ax1.set_title("Interruptions")
    fig.legend(*ax1.get_legend_handles_labels(), loc="outside lower left", ncols=4,
               frameon=False, title="interruptions by cause (left panel)")
    ettr = [_err(jobs[n]["ettr"]) for n in names]
    mid = np.array([e[0] for e in ettr]) * 100
    ax2.barh(y, mid, color="#2ca02c", alpha=0.85,
             xerr=np.array([[e[1] for e in ettr], [e[2] for e in ettr]]) * 100, capsize=3,
             label="P50, bar: P10-P90")
    ax2.set_xlabel("effective training time ratio, ETTR (%)\n(useful GPU-hours / GPU-hours held)")
    ax2.set_title("Useful share of the GPU time held")
    ax2.set_xlim(max(0.0, float(np.nanmin(mid)) - 10 if len(mid) else 0.0), 100.5)
    ax2.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
    ax2.legend(loc="lower left", frameon=True, framealpha=0.9)
    for ax in (ax1, ax2):
        ax.grid(True, axis="x", alpha=0.3)
    ax1.set_yticks(y, [f"{n}\n({data.label(int(plan.job_party[j]))})"
                       for j, n in enumerate(names)])
    ax1.invert_yaxis()
    fig.suptitle(f"Reliability of each training run ({data.replicas} histories)")
    return fig


# --------------------------------------------------------------------------- (f)


@styled
def money(data: ReportData) -> Figure | None:
    """(f) Cumulative lease payments over time per variant (deterministic, from the plan),
    and the effective price per healthy GPU-hour delivered, per lease, over histories."""
    plan, raw = data.plan, data.raw
    if not plan.lease_names:
        return None
    fig = _figure(12, 4.8)
    ax1, ax2 = _axes(fig, 1, 2, width_ratios=[1.6, 1])
    T = plan.n_steps
    s = max(1, int(round(24.0 / plan.dt)))
    steps = np.arange(0, T, s)
    cum = np.cumsum(plan.lease_usd_h.sum(axis=1) * plan.dt, axis=1)  # (V, T) USD
    x = data.date((steps + 1) * plan.dt / 24.0)
    seen: dict[tuple, str] = {}
    for vi, v in enumerate(plan.variants):
        if v.kind == "sweep":  # in-batch sweeps are drawn by simgpu-aggregate
            continue
        col, ls = VARIANT_STYLE.get(v.kind, ("#2ca02c", "-"))
        if v.kind == "withhold":
            col = matplotlib.colormaps["Oranges"](0.35 + 0.6 * v.level)
        y = cum[vi, steps] / 1e9
        key = (round(float(cum[vi, -1]), -3), round(float(cum[vi, T // 2]), -3))
        label = variant_text(v.kind, v.level)
        if key in seen:
            label += f" (= {seen[key]})"
        else:
            seen[key] = variant_text(v.kind, v.level)
        ax1.plot(x, y, color=col, ls=ls, lw=2.2 if vi == 0 else 1.5, label=label,
                 zorder=3 if vi == 0 else 2)
    ax1.set_ylabel("cumulative lease payments (billion US$)")
    _date_axis(ax1)
    ax1.set_ylim(bottom=0)
    ax1.margins(x=0)
    ax1.grid(True, alpha=0.3)
    ax1.legend(loc="upper left", frameon=True, framealpha=0.9)
    ax1.set_title("What the tenant pays, per counterfactual")
    paid = raw.lease_paid_usd[0]  # (L,)
    deliv = raw.lease_delivered_gpu_h[0]  # (R, L)
    eff = [paid[li] / deliv[:, li][deliv[:, li] > 0] for li in range(len(plan.lease_names))]
    pos = np.arange(len(eff))
    ok = [e for e in eff if e.size]
    if ok:
        ax2.boxplot([e if e.size else [np.nan] for e in eff], positions=pos, widths=0.5,
                    showfliers=False, medianprops={"color": "black"})
        for li, e in enumerate(eff):
            jit = (np.arange(e.size) - (e.size - 1) / 2) * (0.3 / max(e.size, 1))
            ax2.plot(li + jit, e, "o", color=LANDLORD_C, alpha=0.6, ms=4,
                     label="one history" if li == 0 else None)
    ax2.set_xticks(pos, [f"{n}\n({data.label(int(plan.lease_owner[i]))} to "
                         f"{data.label(int(plan.lease_tenant[i]))})"
                         for i, n in enumerate(plan.lease_names)])
    ax2.set_ylabel("effective price (US$ per healthy GPU-hour delivered)")
    allv = np.concatenate(ok) if ok else np.zeros(1)
    span = float(allv.max() - allv.min())
    dec = 2 if span <= 0 else int(min(6, max(2, np.ceil(-np.log10(span)) + 1)))
    ax2.yaxis.set_major_formatter(ticker.StrMethodFormatter(f"${{x:,.{dec}f}}"))
    ax2.grid(True, axis="y", alpha=0.3)
    ax2.set_title("Price per GPU-hour actually delivered")
    if ok:
        ax2.legend(loc="best", frameon=True, framealpha=0.9)
    fig.suptitle("Money: lease payments and the effective price of delivered compute")
    return fig


#: Figures in report order: (file stem, caption, function).
FIGURES = (
    ("capacity", "Usable GPUs over time, by owner", capacity),
    ("roadmap", "Roadmap: start and finish of each training run, per counterfactual", roadmap),
    ("leverage", "Leverage curve: delay against the share of the lease withheld", leverage),
    ("dependency", "Dependency share and visibility per run", dependency),
    ("reliability", "Interruptions and effective training time per run", reliability),
    ("money", "Lease payments and effective price per GPU-hour", money),
)
