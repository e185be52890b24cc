"""Figures of the status report (matplotlib, Agg): target series, regions side by side, funnel plot.

Every function here draws from tables that already passed disclosure control (hidden values are
null and are simply not drawn), writes PNG and SVG next to each other, closes its figure, and
returns the paths written. Nothing here reads the warehouse or decides what to suppress.
`draw` runs one figure by name, so that the report can hand figures to a worker process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

# Normal quantiles of the funnel plot's control limits (95 % and 99.8 %).
FUNNEL_LIMITS = ((1.959964, "95 %"), (3.090232, "99.8 %"))
BREAK_STYLE = {"color": "0.45", "linestyle": ":", "linewidth": 1.0}


def save_figure(fig: plt.Figure, base: Path, footer: str | None = None,
                formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write `base`.png and `base`.svg (or the `formats` asked) and close the figure (also when saving fails)."""
    try:
        if footer:
            # below the axes (negative y): the tight bounding box grows to include it
            fig.text(0.01, -0.02, footer, fontsize=6.5, color="0.35", ha="left", va="top")
        base.parent.mkdir(parents=True, exist_ok=True)
        unknown = set(formats) - {"png", "svg"}
        if unknown or not formats:
            raise ValueError(f"figure formats must be png and/or svg, not {sorted(unknown) or 'none'}")
        paths = [base.with_suffix("." + f) for f in formats]
        # the tight box once for both formats ("tight" per save draws the whole figure an extra time)
        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
        for path in paths:
            if path.suffix == ".png":
                fig.savefig(path, dpi=110, bbox_inches=box)
            else:
                with plt.rc_context({"svg.fonttype": "none"}):  # text as text: smaller, faster, searchable
                    fig.savefig(path, bbox_inches=box)
        return paths
    finally:
        plt.close(fig)


def _mark_breaks(ax: plt.Axes, breaks: Mapping[int, Sequence[str]]) -> None:
    for year, names in sorted(breaks.items()):
        ax.axvline(year - 0.5, **BREAK_STYLE)
        ax.annotate(", ".join(names), (year - 0.5, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                    fontsize=7, color="0.35", ha="right", va="top")


def target_figure(
    series: pl.DataFrame,
    target: Mapping[str, object],
    title: str,
    unit: str,
    breaks: Mapping[int, Sequence[str]],
    base: Path,
    footer: str | None = None,
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """National series with CI band, baseline, target line and linear projection to the target year.

    `series`: year, value, ci_low, ci_high (suppressed values null). `target`: a row of
    `marts.target_progress` (after suppression). `formats`: what to write (the asset's figure: PNG only).
    """
    s = series.sort("year")
    years, values = s.get_column("year").to_list(), s.get_column("value").to_list()
    lo, hi = s.get_column("ci_low").to_list(), s.get_column("ci_high").to_list()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    band = [(y, a, b) for y, a, b in zip(years, lo, hi, strict=True) if a is not None and b is not None]
    if band:
        ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band], alpha=0.25,
                        color="tab:blue", label="95 % CI", linewidth=0)
    ax.plot(years, [math.nan if v is None else v for v in values], marker="o", color="tab:blue", label="value")
    baseline = target.get("baseline_published") or target.get("baseline_computed")
    if baseline is not None and target.get("baseline_year") is not None:
        ax.axhline(float(baseline), color="0.3", linestyle="--", linewidth=1, label=f"baseline {target['baseline_year']}")
    if target.get("target_value") is not None:
        ax.axhline(float(target["target_value"]), color="tab:green", linewidth=1.5, label=f"target {target.get('target_year')}")
    if target.get("projection_value") is not None and target.get("latest_value") is not None:
        ax.plot([target["latest_year"], target["target_year"]], [target["latest_value"], target["projection_value"]],
                color="tab:orange", linestyle="-.", label="projection")
    _mark_breaks(ax, breaks)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return save_figure(fig, base, footer, formats)


def _region_panel(ax: plt.Axes, rows: pl.DataFrame, heading: str, unit: str) -> None:
    r = rows.sort("breakdown_key")
    names, values = r.get_column("area").to_list(), r.get_column("value").to_list()
    lo, hi = r.get_column("ci_low").to_list(), r.get_column("ci_high").to_list()
    ypos = list(range(len(names)))
    for y, v, a, b in zip(ypos, values, lo, hi, strict=True):
        if v is None:
            ax.annotate("[x]", (0, y), xycoords=("axes fraction", "data"), fontsize=8, va="center")
            continue
        err = [[v - a], [b - v]] if a is not None and b is not None else None
        ax.errorbar([v], [y], xerr=err, fmt="o", color="tab:blue", capsize=3)
    ax.set_yticks(ypos, names, fontsize=8)
    ax.invert_yaxis()  # first code on top, read like a table
    ax.set_title(heading, fontsize=9)
    ax.set_xlabel(unit)
    ax.grid(axis="x", alpha=0.3)


def regions_figure(
    regions: pl.DataFrame, regions2027: pl.DataFrame, title: str, unit: str, base: Path, footer: str | None = None
) -> list[Path]:
    """The 2007 regions and the 2027 regions side by side, each value with its CI (suppressed as [x]).

    Both tables: breakdown_key, area (display name), value, ci_low, ci_high.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    _region_panel(axes[0], regions, "Regions (2007-2026)", unit)
    _region_panel(axes[1], regions2027, "Regions (from 2027)", unit)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, base, footer)


def funnel_limits(p: float, n: float, z: float) -> tuple[float, float]:
    """Normal-approximation control limits of a proportion p (0..1) at denominator n."""
    half = z * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - half), min(1.0, p + half)


def funnel_figure(
    councils: pl.DataFrame, national: float, scale: float, title: str, base: Path, footer: str | None = None
) -> list[Path]:
    """Funnel plot: each health council's share against its denominator, with control limits around
    the national share. `councils`: denominator, value (suppressed rows null, left out); `scale` is
    100 for percent values, 1 for proportions."""
    shown = councils.filter(pl.col("value").is_not_null() & pl.col("denominator").is_not_null() & (pl.col("denominator") > 0))
    hidden = councils.height - shown.height
    fig, ax = plt.subplots(figsize=(7, 4.5))
    p = national / scale
    n_max = max([float(x) for x in shown.get_column("denominator").to_list()] + [10.0]) * 1.1
    n_min = 5.0  # below the disclosure threshold nothing is shown anyway
    grid = [n_min + (n_max - n_min) * i / 200 for i in range(201)]
    for z, label in FUNNEL_LIMITS:
        bounds = [funnel_limits(p, n, z) for n in grid]
        style = "--" if z < 3 else ":"
        ax.plot(grid, [b[0] * scale for b in bounds], color="0.4", linestyle=style, linewidth=1, label=label)
        ax.plot(grid, [b[1] * scale for b in bounds], color="0.4", linestyle=style, linewidth=1)
    ax.axhline(national, color="tab:green", linewidth=1, label="national")
    ax.scatter(shown.get_column("denominator").to_list(), shown.get_column("value").to_list(), color="tab:blue", zorder=3)
    ax.set_xlabel("denominator")
    ax.set_ylabel("percent" if scale == 100 else "share")
    ax.set_title(title + (f" ({hidden} council(s) hidden: [x])" if hidden else ""), fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, base, footer)


FIGURES = {"target_figure": target_figure, "regions_figure": regions_figure, "funnel_figure": funnel_figure}


def draw(name: str, args: tuple) -> list[Path]:
    """Draw one figure: `FIGURES[name](*args)` (what a report's worker process runs)."""
    return FIGURES[name](*args)


def warm() -> int:
    """Load what the first figure would (pyplot, fonts) in a fresh worker process; returns its pid."""
    import os

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_title("warm", fontsize=8)
    fig.canvas.draw()
    plt.close(fig)
    return os.getpid()
