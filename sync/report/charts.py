"""The report's charts, drawn with matplotlib and embedded as inline SVG (no network at view time).

Text stays text in the SVG (``svg.fonttype = none``), so the page's fonts render it and it
prints sharply; the account maps rasterise their dots inside the SVG, so a 100,000-account
book stays a small file that opens fast. Maps use a plain equirectangular projection with the
longitude axis scaled by the cosine of the mean latitude; no tiles, no outlines.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from territory.rules import health

FLAG_COLOURS = {"ok": "#2e7d32", "warn": "#ef8f00", "bad": "#c62828", "none": "#9e9e9e"}
BEFORE, AFTER = "#90a4ae", "#1565c0"
MAX_BARS = 40
STYLE = {
    "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
    "axes.edgecolor": "#888888", "axes.titlesize": 10, "axes.titleweight": "bold",
}


def _svg(fig: Figure, salt: str) -> str:
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": salt, **STYLE}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", dpi=110)
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.find("<svg"):]


def _largest(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[dict[str, Any]], str]:
    """At most MAX_BARS rows (largest |key| first when cut), sorted by name; and a note."""
    chosen = list(rows)
    note = ""
    if len(chosen) > MAX_BARS:
        chosen = sorted(chosen, key=lambda r: -abs(r.get(key) or 0))[:MAX_BARS]
        note = f" (the {MAX_BARS} largest of {len(rows)})"
    return sorted(chosen, key=lambda r: r["name"]), note


def balance_chart(rows: Sequence[dict[str, Any]]) -> str:
    """Per rep: potential and workload deviation from the team mean, and capacity used."""
    active = [r for r in rows if r["active"]]
    chosen, note = _largest(active, "potential_deviation")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(11, 0.9 + 0.24 * max(4, len(chosen))), sharey=True)
        names = [r["name"] for r in chosen]
        y = np.arange(len(chosen))
        for ax, key, title in ((axes[0], "potential", "Potential vs team mean"),
                               (axes[1], "workload", "Workload vs team mean")):
            values = [100 * (r[f"{key}_deviation"] or 0) for r in chosen]
            colours = [FLAG_COLOURS[r["flags"][f"{key}_balance"]] for r in chosen]
            ax.barh(y, values, color=colours, height=0.7)
            for edge, style in ((100 * health.BALANCE_TARGET, ":"), (100 * health.BALANCE_CEILING, "--")):
                ax.axvline(edge, color="#555555", linestyle=style, linewidth=0.8)
                ax.axvline(-edge, color="#555555", linestyle=style, linewidth=0.8)
            ax.axvline(0, color="#333333", linewidth=0.8)
            ax.set_title(title + note)
            ax.set_xlabel("deviation, % (target ±5%, ceiling ±20%)")
        used = [100 * (r["utilisation"] or 0) for r in chosen]
        axes[2].barh(y, used, color=[FLAG_COLOURS[r["flags"]["utilisation"]] for r in chosen], height=0.7)
        axes[2].axvline(100, color="#333333", linestyle="--", linewidth=0.8)
        axes[2].set_title("Workload / capacity")
        axes[2].set_xlabel("% of capacity (touches per quarter)")
        axes[0].set_yticks(y, names)
        axes[0].invert_yaxis()
        fig.tight_layout()
    return _svg(fig, "balance")


def segment_chart(by_segment: Sequence[dict[str, Any]]) -> str:
    """Win rate and median days to close per size segment."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(8, 2.4))
        names = [s["segment"] for s in by_segment]
        rates = [100 * (s["win_rate"] or 0) for s in by_segment]
        days = [s["median_days_to_close"] or 0 for s in by_segment]
        axes[0].bar(names, rates, color=AFTER)
        axes[0].set_title("Win rate, last four quarters (%)")
        axes[0].bar_label(axes[0].containers[0], fmt="%.0f%%")
        axes[1].bar(names, days, color=BEFORE)
        axes[1].set_title("Median days from create to close (won)")
        axes[1].bar_label(axes[1].containers[0], fmt="%.0f")
        fig.tight_layout()
    return _svg(fig, "segments")


def _owner_colours(owner_ids: Sequence[str | None], code: dict[str, int]) -> np.ndarray:
    palette = plt.get_cmap("tab20").colors + plt.get_cmap("tab20b").colors  # type: ignore[attr-defined]
    grey = (0.75, 0.75, 0.75)
    return np.array([palette[code[o] % len(palette)] if o in code else grey for o in owner_ids])


def map_extent(lat: np.ndarray, lon: np.ndarray) -> tuple[tuple[float, float], tuple[float, float], int]:
    """(lon range, lat range, accounts outside): the central 98% of accounts, padded, so a few
    far-away accounts do not shrink the region where the book is."""
    known = ~(np.isnan(lat) | np.isnan(lon))
    if not known.any():
        return (-180.0, 180.0), (-90.0, 90.0), 0
    bounds = []
    for values in (lon[known], lat[known]):
        low, high = np.percentile(values, [1, 99])
        pad = max(0.5, 0.06 * float(high - low))
        bounds.append((float(low) - pad, float(high) + pad))
    (x0, x1), (y0, y1) = bounds
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return bounds[0], bounds[1], int((known & ~inside).sum())


def owner_maps(lat: np.ndarray, lon: np.ndarray, before: Sequence[str | None], after: Sequence[str | None]) -> str:
    """Accounts coloured by owner (one colour per owner in both), before and after, side by side."""
    known = ~(np.isnan(lat) | np.isnan(lon))
    code = {owner: i for i, owner in enumerate(sorted({o for o in (*before, *after) if o}))}
    (x0, x1), (y0, y1), outside = map_extent(lat, lon)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 5.4), sharex=True, sharey=True)
        size = 9.0 if known.sum() < 5000 else 3.0 if known.sum() < 30000 else 1.0
        mean_lat = (y0 + y1) / 2
        for ax, owners, title in ((axes[0], before, "Before: accounts by owner"),
                                  (axes[1], after, "After: accounts by owner")):
            colours = _owner_colours(owners, code)
            if known.any():
                ax.scatter(lon[known], lat[known], c=colours[known], s=size, linewidths=0, rasterized=True)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_aspect(1 / max(0.2, math.cos(math.radians(mean_lat))))
            ax.set_title(title)
            ax.set_xlabel("longitude" + (f" ({outside:,} accounts outside this area)" if outside else ""))
            ax.grid(color="#eeeeee", linewidth=0.6)
        axes[0].set_ylabel("latitude")
        fig.tight_layout()
    return _svg(fig, "maps")


def scenario_balance_chart(rows: Sequence[dict[str, Any]]) -> str:
    """Potential per rep before and after, as deviation from the team mean."""
    active = [r for r in rows if r["active"]]
    chosen, note = _largest(active, "potential_deviation_before")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.26 * max(4, len(chosen))))
        y = np.arange(len(chosen))
        ax.barh(y - 0.2, [100 * (r["potential_deviation_before"] or 0) for r in chosen], height=0.4,
                color=BEFORE, label="before")
        ax.barh(y + 0.2, [100 * (r["potential_deviation_after"] or 0) for r in chosen], height=0.4,
                color=AFTER, label="after")
        for edge in (health.BALANCE_TARGET, health.BALANCE_CEILING):
            ax.axvline(100 * edge, color="#555555", linestyle=":", linewidth=0.8)
            ax.axvline(-100 * edge, color="#555555", linestyle=":", linewidth=0.8)
        ax.set_yticks(y, [r["name"] for r in chosen])
        ax.invert_yaxis()
        ax.set_title("Potential vs team mean, before and after" + note)
        ax.set_xlabel("deviation, %")
        ax.legend(loc="lower right", frameon=False)
        fig.tight_layout()
    return _svg(fig, "scenario-balance")


def moves_chart(moves_by_reason: dict[str, int]) -> str:
    """Moves per reason category."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 0.8 + 0.35 * max(2, len(moves_by_reason))))
        names = list(moves_by_reason)
        ax.barh(names, list(moves_by_reason.values()), color=AFTER)
        ax.bar_label(ax.containers[0], fmt="%d")
        ax.invert_yaxis()
        ax.set_title("Moves by reason")
        fig.tight_layout()
    return _svg(fig, "moves")
