"""Matplotlib figures for targeting reports, readable in print (labels, units, source note).

Every function returns a :class:`matplotlib.figure.Figure`; nothing is shown on screen.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SOURCE = "Source: pmt"


def _finish(fig, source: str | None) -> plt.Figure:
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="#555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def overlap_heatmap(table: pd.DataFrame, title: str, source: str | None = SOURCE) -> plt.Figure:
    """Heatmap of a decile-overlap table (rows actual, columns predicted groups, in %)."""
    values = 100 * table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    im = ax.imshow(values, cmap="Blues", origin="upper")
    n = values.shape[0]
    ax.set_xticks(range(n), [str(c) for c in table.columns])
    ax.set_yticks(range(n), [str(i) for i in table.index])
    ax.set_xlabel("Group of predicted welfare (1 = poorest)")
    ax.set_ylabel("Group of actual welfare (1 = poorest)")
    ax.set_title(title, fontsize=10)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center", fontsize=6,
                    color="white" if values[i, j] > values.max() * 0.6 else "black")
    fig.colorbar(im, ax=ax, label="% of population")
    return _finish(fig, source)


def coverage_by_group(coverage: pd.DataFrame, title: str, ylabel: str = "Coverage (% of people in group)",
                      xlabel: str = "Decile of actual welfare (1 = poorest)",
                      source: str | None = SOURCE) -> plt.Figure:
    """Grouped bars: rows are quantile groups, columns are models (shares 0-1)."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    k = coverage.shape[1]
    width = 0.8 / max(k, 1)
    x = np.arange(len(coverage))
    for j, col in enumerate(coverage.columns):
        ax.bar(x + (j - (k - 1) / 2) * width, 100 * coverage[col].to_numpy(dtype=float), width, label=str(col))
    ax.set_xticks(x, [str(i) for i in coverage.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, ncol=min(k, 3))
    ax.grid(axis="y", alpha=0.3)
    return _finish(fig, source)


def predicted_vs_actual(actual, predicted, line: float, title: str, max_points: int = 4000,
                        seed: int = 0, source: str | None = SOURCE,
                        welfare: str = "welfare per person") -> plt.Figure:
    """Scatter of predicted vs actual log welfare with the poverty line on both axes.

    The four quadrants are labelled: correctly included (both below the line), inclusion
    error (predicted poor, actually not), exclusion error (actually poor, predicted not) and
    correctly excluded. A seeded random subsample keeps the file small.
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    ok = np.isfinite(a) & np.isfinite(p)
    a, p = a[ok], p[ok]
    if a.size > max_points:
        idx = np.random.default_rng(seed).choice(a.size, max_points, replace=False)
        a, p = a[idx], p[idx]
    fig, ax = plt.subplots(figsize=(6.2, 6))
    ax.scatter(a, p, s=4, alpha=0.35, color="#1f4e79", linewidths=0)
    ax.axvline(line, color="#c00000", lw=1)
    ax.axhline(line, color="#c00000", lw=1)
    lo, hi = np.percentile(np.r_[a, p], [0.5, 99.5])
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    kw = dict(fontsize=8, color="#333", bbox=dict(facecolor="white", alpha=0.8, lw=0))
    ax.text(lo + 0.02 * (hi - lo), lo + 0.02 * (hi - lo), "correctly included", **kw)
    ax.text(hi - 0.02 * (hi - lo), lo + 0.02 * (hi - lo), "inclusion error", ha="right", **kw)
    ax.text(lo + 0.02 * (hi - lo), hi - 0.05 * (hi - lo), "exclusion error", **kw)
    ax.text(hi - 0.02 * (hi - lo), hi - 0.05 * (hi - lo), "correctly excluded", ha="right", **kw)
    ax.set_xlabel(f"Actual log {welfare}")
    ax.set_ylabel(f"Predicted log {welfare}")
    ax.set_title(title, fontsize=10)
    return _finish(fig, source)


def residuals_vs_actual(actual, predicted, title: str, max_points: int = 4000, seed: int = 0,
                        source: str | None = SOURCE,
                        welfare: str = "welfare per person") -> plt.Figure:
    """Residual (actual - predicted) against actual log welfare: PMTs over-predict the poor."""
    a = np.asarray(actual, dtype=float)
    r = a - np.asarray(predicted, dtype=float)
    ok = np.isfinite(r)
    a, r = a[ok], r[ok]
    if a.size > max_points:
        idx = np.random.default_rng(seed).choice(a.size, max_points, replace=False)
        a, r = a[idx], r[idx]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.scatter(a, r, s=4, alpha=0.35, color="#1f4e79", linewidths=0)
    ax.axhline(0, color="#333", lw=0.8)
    ax.set_xlabel(f"Actual log {welfare}")
    ax.set_ylabel("Residual (actual - predicted, log points)")
    ax.set_title(title, fontsize=10)
    return _finish(fig, source)


def tradeoff_curves(curves: Mapping[str, pd.DataFrame], title: str, x: str = "exclusion_error",
                    y: str = "inclusion_error", source: str | None = SOURCE) -> plt.Figure:
    """Inclusion vs exclusion error over all cut-offs, one line per model."""
    fig, ax = plt.subplots(figsize=(6.2, 5))
    for name, curve in curves.items():
        ax.plot(100 * curve[x].to_numpy(dtype=float), 100 * curve[y].to_numpy(dtype=float), lw=1.4, label=name)
    ax.set_xlabel("Exclusion error (% of the poor not selected)")
    ax.set_ylabel("Inclusion error (% of the selected who are not poor)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _finish(fig, source)


def bar_chart(values: pd.DataFrame, title: str, ylabel: str, xlabel: str = "",
              percent: bool = True, source: str | None = SOURCE,
              lower: pd.DataFrame | None = None, upper: pd.DataFrame | None = None
              ) -> plt.Figure:
    """Grouped horizontal-label bars for subgroup or scenario tables (rows x series).

    ``lower``/``upper`` (same shape as ``values``) draw confidence intervals as error bars;
    say in the caption what they are.
    """
    fig, ax = plt.subplots(figsize=(8, 4.2))
    k = values.shape[1]
    width = 0.8 / max(k, 1)
    x = np.arange(len(values))
    scale = 100 if percent else 1
    for j, col in enumerate(values.columns):
        y = scale * values[col].to_numpy(dtype=float)
        err = None
        if lower is not None and upper is not None:
            lo = scale * lower.reindex_like(values)[col].to_numpy(dtype=float)
            hi = scale * upper.reindex_like(values)[col].to_numpy(dtype=float)
            err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
        ax.bar(x + (j - (k - 1) / 2) * width, y, width, label=str(col), yerr=err,
               capsize=3 if err is not None else 0, error_kw={"elinewidth": 1})
    ax.set_xticks(x, [str(i) for i in values.index], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    if k > 1:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _finish(fig, source)
