"""How numbers from ``summary.json`` are written for people: the terminal table, the report
and the sweep tables share it, so a bound reads "≥" and a missing value "n/a" everywhere."""

from __future__ import annotations

from typing import Any

GE = "≥ "


def bound(d: dict[str, Any] | None, key: str = "p50") -> str:
    """``"≥ "`` when the statistic ``key`` of distribution ``d`` is a lower bound."""
    return GE if d and d.get("lower_bound") and d.get(key) is not None else ""


def pct(x: float | None, digits: int = 0) -> str:
    """``"83 %"``; ``"n/a"`` for None."""
    return "n/a" if x is None else f"{100.0 * x:.{digits}f} %"


def days(x: float | None) -> str:
    """``"183 days"``, ``"1 day"``; ``"n/a"`` for None."""
    if x is None:
        return "n/a"
    return f"{x:,.0f} day{'s' if round(abs(x)) != 1 else ''}"


def delay(d: dict[str, Any] | None, key: str = "p50", later: bool = True) -> str:
    """A delay statistic in words: ``"≥ 183 days later"``, ``"12 days earlier"``,
    ``"no change"``; ``"n/a"`` when it cannot be measured."""
    if not d or d.get(key) is None:
        return "n/a"
    x = d[key]
    if abs(x) < 0.5 and not bound(d, key):
        return "no change"
    if not later:
        return f"{bound(d, key)}{days(x)}"
    word = "later" if x >= 0 or bound(d, key) else "earlier"
    return f"{bound(d, key)}{days(abs(x) if word == 'earlier' else x)} {word}"


def index(x: float | None, lower: bool = False) -> str:
    """A control index: ``"0.27"``, ``"≥ 0.27"``, ``"n/a"``."""
    return "n/a" if x is None else f"{GE if lower else ''}{x:.2f}"
