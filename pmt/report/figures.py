"""Matplotlib figures for targeting reports, readable in print (labels, units, source note).

Every function returns a :class:`matplotlib.figure.Figure`; nothing is shown on screen.
Conventions shared by all figures:

* **Width.** Figures are at most :data:`A4_WIDTH` inches wide (the 16 cm text width of an
  A4 page with 2.5 cm margins), with fonts of 7.5-10 pt, so they print at 100 % without
  shrinking.
* **Colours.** The Okabe-Ito palette (:data:`PALETTE`), distinguishable with the common
  colour-vision deficiencies; lines also differ by dash pattern, so they survive a
  black-and-white printer.
* **Units.** Every axis names its unit: percentages say "%", log welfare says "natural
  log", money says the currency passed as ``currency`` (e.g. ``"KZT per person per
  month"``).
* **Labels.** Category tick labels are text, never Python tuples: a MultiIndex such as
  ``("region", 1)`` renders as ``"region: 1"`` (:func:`tick_labels`); value labels can
  replace codes (``value_labels=``). Long or many labels (14 regions) are wrapped or
  rotated so that they do not overlap.
* **Source.** ``source=`` adds a source note at the bottom left (``None`` for none).
* **Shares.** Inputs that are shares (coverage, errors, incidence) are in [0, 1] and are
  plotted in percent.
"""

from __future__ import annotations

import functools
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from cycler import cycler  # noqa: E402

from pmt._validation import check_weights, column_or_array
from pmt.errors import DataError  # noqa: E402

SOURCE = "Source: pmt"

#: Okabe-Ito colour-blind-safe palette (blue, orange, bluish green, vermillion, reddish
#: purple, sky blue, black, yellow); yellow comes last because it is faint on white paper.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442")
#: Dash patterns cycled with the colours, so that lines differ in black-and-white print.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 1)),
              (0, (3, 1, 3, 3)))
#: Text width of an A4 page with 2.5 cm margins, in inches (16 cm).
A4_WIDTH = 6.3
LINE_COLOR = "#D55E00"  # poverty lines and thresholds drawn across a scatter
_THRESHOLD_DASHES = ((0, (5, 2)), (0, (2, 2)), (0, (7, 2, 1, 2)), (0, (1, 1)), (0, (10, 3)))

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.prop_cycle": cycler(color=PALETTE),
    "figure.dpi": 100,
}

Scale = Literal["log", "level"]


def _styled(func):
    """Run a figure function with the print style (fonts, palette)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.rc_context(cast(Any, _RC)):
            return func(*args, **kwargs)

    return wrapper


def _finish(fig, source: str | None) -> plt.Figure:
    bottom = 0.0
    if source:
        text = "\n".join(textwrap.wrap(str(source), width=int(16 * fig.get_figwidth()))
                         or [""])
        fig.text(0.01, 0.005, text, fontsize=7.5, color="#444", ha="left", va="bottom")
        lines = text.count("\n") + 1
        bottom = min(0.25, (0.14 * lines + 0.05) / fig.get_figheight())
    fig.tight_layout(rect=(0, bottom, 1, 1))
    return fig


# --------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------
def _fmt_value(value: Any) -> str:
    """Text of one index value: integral floats without '.0', tuples joined by ': '."""
    if isinstance(value, tuple):
        return ": ".join(_fmt_value(v) for v in value)
    if isinstance(value, float | np.floating):
        if np.isfinite(value) and float(value).is_integer():
            return str(int(value))
        return f"{float(value):g}"
    if isinstance(value, np.integer | np.bool_):
        return str(value.item())
    return str(value)


def _is_total(key: tuple) -> bool:
    return str(key[0]) == "Total" and all(str(k) in ("All", "Total", "") for k in key[1:])


def tick_labels(index, *, value_labels: Mapping[Any, Mapping[Any, Any]] | None = None,
                names: Mapping[Any, str] | None = None) -> list[str]:
    """Text labels for the entries of an index (categories of a bar chart, legend entries).

    Parameters
    ----------
    index : pandas.Index, pandas.MultiIndex or sequence
        The categories.
    value_labels : mapping, optional
        ``{variable: {code: label}}``: replaces codes by labels (e.g. ``{"region": {1:
        "Almaty"}}``). For a plain index the variable is ``index.name``.
    names : mapping, optional
        ``{variable: display name}`` for the "level" part of MultiIndex labels (e.g.
        ``{"region": "Region"}``).

    Returns
    -------
    list of str
        One label per entry; never a Python tuple:

        * plain index: the value (``1.0`` shows as ``"1"``);
        * two-level (block, group) index as returned by :func:`pmt.evaluate.subgroup_metrics`,
          or any MultiIndex with unnamed levels: ``"block: group"`` (``("region", 1)`` ->
          ``"region: 1"``); the ``("Total", "All")`` row is ``"Total"``;
        * a MultiIndex whose levels are all named otherwise (e.g. ``["region", "urban"]``):
          ``"region: 1, urban: 0"``.
    """
    value_labels = value_labels or {}
    names = names or {}

    def value(var, v) -> str:
        mapping = value_labels.get(var) if var is not None else None
        if mapping is not None and v in mapping:
            return str(mapping[v])
        return _fmt_value(v)

    def name(var) -> str:
        return str(names.get(var, _fmt_value(var)))

    if not isinstance(index, pd.Index):
        index = pd.Index(list(index), tupleize_cols=True)
    if isinstance(index, pd.MultiIndex):
        levels = list(index.names)
        named = all(n is not None for n in levels) and levels != ["block", "group"]
        out = []
        for key in index:
            if _is_total(key):
                out.append("Total")
            elif named:
                out.append(", ".join(f"{name(n)}: {value(n, v)}" for n, v in zip(levels, key,
                                                                                   strict=True)))
            else:
                var, *rest = key
                out.append(f"{name(var)}: " + ", ".join(value(var, v) for v in rest))
        return out
    return [value(index.name, v) for v in index]


def _category_ticks(ax, x, labels: Sequence[str], fig_width: float) -> None:
    """Put category labels on the x axis so that they do not overlap.

    Labels are kept horizontal when they fit the width of a category, wrapped onto at most
    two lines when that is enough, and otherwise rotated by 45 degrees (wrapped onto two
    lines only when the rotated lines still fit) or, with very many categories, 90 degrees.
    """
    n = max(len(labels), 1)
    size = 8.0 if n <= 16 else 7.0
    char = 0.55 * size  # average glyph width in points
    line = 1.3 * size  # line height in points
    slot = 0.8 * fig_width * 72 / n  # points of axis per category
    fits = max(1, int(slot / char) - 1)
    longest = max((len(s) for s in labels), default=0)
    if longest <= fits:
        ax.set_xticks(x, labels, fontsize=size)
        return
    wrapped = [textwrap.fill(s, width=fits, break_long_words=False) for s in labels]
    if max(w.count("\n") for w in wrapped) <= 1 and all(
            len(part) <= fits for w in wrapped for part in w.split("\n")):
        ax.set_xticks(x, wrapped, fontsize=size)
        return
    across = slot * 0.7071  # distance between neighbouring 45-degree labels
    if across >= 2 * line:
        rotated = [textwrap.fill(s, width=24, break_long_words=False) for s in labels]
        rotated = [r if r.count("\n") <= 1 else s for r, s in zip(rotated, labels, strict=True)]
    else:
        rotated = list(labels)
    if across >= line:
        ax.set_xticks(x, rotated, fontsize=size, rotation=45, ha="right",
                      rotation_mode="anchor")
    else:
        ax.set_xticks(x, labels, fontsize=min(size, max(5.0, slot / 1.3)), rotation=90)


def _with_unit(label: str, unit: str = "%") -> str:
    return label if unit in label else f"{label} ({unit})"


def _log_unit(currency: str | None) -> str:
    return f"natural log of {currency}" if currency else "natural log"


def _axis_label(what: str, scale: Scale, currency: str | None) -> str:
    if scale == "log":
        return f"{what} ({_log_unit(currency)})"
    return f"{what} ({currency or 'currency units'})"


def _check_scale(scale) -> None:
    if scale not in ("log", "level"):
        raise DataError(f"`scale` must be 'log' (natural logs) or 'level' (money); got "
                        f"{scale!r}.")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------------------
# bars
# --------------------------------------------------------------------------------------
def _grouped_bars(ax, values: pd.DataFrame, lower, upper, scale: float,
                  labels: Sequence[str] | None = None) -> np.ndarray:
    """Draw one bar series per column, side by side; error bars from ``lower``/``upper``."""
    if (lower is None) != (upper is None):
        raise DataError("pass both `lower` and `upper` (interval bounds), or neither.")
    k = values.shape[1]
    width = 0.8 / max(k, 1)
    x = np.arange(len(values))
    labels = list(labels) if labels is not None else tick_labels(values.columns)
    for j, col in enumerate(values.columns):
        y = scale * values[col].to_numpy(dtype=float)
        err = None
        if lower is not None:
            lo = scale * pd.DataFrame(lower).reindex_like(values)[col].to_numpy(dtype=float)
            hi = scale * pd.DataFrame(upper).reindex_like(values)[col].to_numpy(dtype=float)
            err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
        ax.bar(x + (j - (k - 1) / 2) * width, y, width, label=labels[j],
               color=PALETTE[j % len(PALETTE)], yerr=err,
               capsize=3 if err is not None else 0,
               error_kw={"elinewidth": 1, "ecolor": "#222"})
    return x


def _bar_headroom(ax) -> None:
    lo, hi = ax.get_ylim()
    if hi > 0:
        ax.set_ylim(min(lo, 0), hi * 1.12)


def _interval_legend(ax, interval: str | None, k: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if interval:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="#222", marker="|", markersize=9, lw=1))
        labels.append(f"Whiskers: {interval}")
    if k > 1 or interval:
        ax.legend(handles, labels, loc="best", framealpha=0.9)


@_styled
def overlap_heatmap(table: pd.DataFrame, title: str, source: str | None = SOURCE) -> plt.Figure:
    """Heatmap of a decile-overlap table (rows actual, columns predicted groups, in %).

    Parameters
    ----------
    table : pandas.DataFrame
        n x n shares (e.g. :func:`pmt.decile_overlap`), all cells summing to 1.
    title : str
        Figure title.
    source : str, optional
        Source note.
    """
    values = 100 * table.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(A4_WIDTH * 0.9, 5.0))
    im = ax.imshow(values, cmap="Blues", origin="upper")
    n_rows, n_cols = values.shape
    ax.set_xticks(range(n_cols), tick_labels(table.columns))
    ax.set_yticks(range(n_rows), tick_labels(table.index))
    ax.set_xlabel("Group of predicted welfare (1 = poorest)")
    ax.set_ylabel("Group of actual welfare (1 = poorest)")
    ax.set_title(title)
    top = np.nanmax(values) if values.size else 0.0
    for i in range(n_rows):
        for j in range(n_cols):
            ax.text(j, i, f"{values[i, j]:.1f}", ha="center", va="center",
                    fontsize=7 if max(n_rows, n_cols) <= 10 else 5.5,
                    color="white" if values[i, j] > top * 0.6 else "black")
    fig.colorbar(im, ax=ax, label="% of population")
    return _finish(fig, source)


@_styled
def coverage_by_group(coverage: pd.DataFrame, title: str,
                      ylabel: str = "Coverage (% of people in group)",
                      xlabel: str = "Decile of actual welfare (1 = poorest)",
                      source: str | None = SOURCE, *, lower: pd.DataFrame | None = None,
                      upper: pd.DataFrame | None = None, interval: str | None = None,
                      value_labels: Mapping | None = None,
                      names: Mapping | None = None) -> plt.Figure:
    """Grouped bars of coverage: rows are groups (deciles, regions), columns are models.

    Parameters
    ----------
    coverage : pandas.DataFrame
        Shares in [0, 1] (plotted in %); rows are groups, columns are series (models,
        programmes). A MultiIndex renders as "level: value" labels.
    title : str
        Figure title.
    ylabel, xlabel : str
        Axis labels; "(%)" is appended to ``ylabel`` if it names no percent unit.
    source : str, optional
        Source note.
    lower, upper : pandas.DataFrame, optional
        Interval bounds with the index and columns of ``coverage`` (shares), drawn as error
        bars. Say in the caption what they are (e.g. "95 % bootstrap confidence interval").
    interval : str, optional
        Legend text for the whiskers, e.g. ``"95% confidence interval"``.
    value_labels, names : mapping, optional
        Code labels for the groups; see :func:`tick_labels`.
    """
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 3.8))
    k = coverage.shape[1]
    x = _grouped_bars(ax, coverage, lower, upper, 100.0)
    _category_ticks(ax, x, tick_labels(coverage.index, value_labels=value_labels, names=names),
                    A4_WIDTH)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_with_unit(ylabel))
    ax.set_title(title)
    _bar_headroom(ax)
    _interval_legend(ax, interval, max(k, 2))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _finish(fig, source)


@_styled
def decay_chart(tables: Mapping[str, pd.DataFrame], metric: str = "exclusion_error", *,
                title: str | None = None, interval: str | None = None,
                source: str | None = SOURCE) -> plt.Figure:
    """A metric of each model over survey rounds, with its confidence interval.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        :func:`pmt.evaluate.decay_table` output by model name (columns ``round``,
        ``metric``, ``estimate``, ``lower``, ``upper``).
    metric : str
        The section-4 metric drawn (a share, plotted in percent).
    title, interval, source : str, optional
        Title, legend text of the whiskers (e.g. "90% confidence interval") and source.
    """
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 3.4))
    rounds: list = []
    for k, (name, table) in enumerate(tables.items()):
        rows = table[table["metric"] == metric]
        x = np.arange(len(rows)) + (k - (len(tables) - 1) / 2) * 0.06
        y = 100 * rows["estimate"].to_numpy(dtype=float)
        err = 100 * np.vstack([rows["estimate"] - rows["lower"],
                               rows["upper"] - rows["estimate"]]).astype(float)
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=name)
        rounds = list(rows["round"])
    ax.set_xticks(np.arange(len(rounds)), [str(r) for r in rounds])
    ax.set_xlabel("Survey round (the model is fitted on the first)")
    ax.set_ylabel(_with_unit(_capital(metric.replace("_", " "))))
    ax.set_title(title or f"{_capital(metric.replace('_', ' '))} over survey rounds")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    if interval:
        labels = [*labels[:-1], f"{labels[-1]} (bars: {interval})"] if labels else labels
    ax.legend(handles, labels, loc="best")
    return _finish(fig, source)


@_styled
def bar_chart(values: pd.DataFrame, title: str, ylabel: str, xlabel: str = "",
              percent: bool = True, source: str | None = SOURCE,
              lower: pd.DataFrame | None = None, upper: pd.DataFrame | None = None, *,
              interval: str | None = None, value_labels: Mapping | None = None,
              names: Mapping | None = None) -> plt.Figure:
    """Grouped bars for subgroup or scenario tables (rows are categories, columns series).

    Parameters
    ----------
    values : pandas.DataFrame or pandas.Series
        Rows are categories (a MultiIndex such as (block, group) renders as "block:
        group"), columns are series.
    title : str
        Figure title.
    ylabel : str
        What the bars are; with ``percent`` "(%)" is appended unless it names a percent.
    xlabel : str
        Axis label of the categories.
    percent : bool
        ``values`` are shares in [0, 1] plotted in percent.
    source : str, optional
        Source note.
    lower, upper : pandas.DataFrame, optional
        Same shape as ``values``: confidence intervals drawn as error bars; say in the
        caption what they are.
    interval : str, optional
        Legend text for the whiskers, e.g. ``"95% confidence interval"``.
    value_labels, names : mapping, optional
        Code labels for the categories; see :func:`tick_labels`.
    """
    if isinstance(values, pd.Series):
        values = values.to_frame(values.name if values.name is not None else "value")
        lower = lower.to_frame(values.columns[0]) if isinstance(lower, pd.Series) else lower
        upper = upper.to_frame(values.columns[0]) if isinstance(upper, pd.Series) else upper
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 3.8))
    k = values.shape[1]
    x = _grouped_bars(ax, values, lower, upper, 100.0 if percent else 1.0)
    _category_ticks(ax, x, tick_labels(values.index, value_labels=value_labels, names=names),
                    A4_WIDTH)
    ax.set_ylabel(_with_unit(ylabel) if percent else ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_title(title)
    _bar_headroom(ax)
    _interval_legend(ax, interval, k)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _finish(fig, source)


@_styled
def coverage_incidence_by_decile(table: pd.DataFrame,
                                 title: str = "Coverage and incidence by decile", *,
                                 incidence: str | None = None,
                                 lower: pd.DataFrame | None = None,
                                 upper: pd.DataFrame | None = None,
                                 interval: str | None = None, xlabel: str | None = None,
                                 equal_share: bool = True,
                                 source: str | None = SOURCE) -> plt.Figure:
    """Coverage and incidence by quantile group as paired bars (Uzbekistan 2019 Figure 3).

    Parameters
    ----------
    table : pandas.DataFrame
        A group table from :func:`pmt.evaluate.group_table`: rows 1..n (a "Total" row is
        dropped), columns ``coverage`` and ``beneficiaries_share`` and, with benefits,
        ``benefits_share`` (shares in [0, 1]).
    title : str
        Figure title.
    incidence : str, optional
        The incidence column: ``"benefits_share"`` (share of all benefit amounts going to
        the group; the default when present) or ``"beneficiaries_share"`` (share of all
        recipients).
    lower, upper : pandas.DataFrame, optional
        Interval bounds with the index and the two plotted columns of ``table`` (shares).
    interval : str, optional
        Legend text for the whiskers, e.g. ``"95% confidence interval"``.
    xlabel : str, optional
        Defaults to the table's index name (which says the ranking variable) plus "(1 =
        poorest)".
    equal_share : bool
        Draw the incidence every group would get with equal shares (100/n %).
    source : str, optional
        Source note.

    Notes
    -----
    Coverage is the share of the people of the group who receive (sum_g v s / sum_g v);
    incidence the share of all benefits (or recipients) that goes to the group. Both are
    plotted in percent on one axis.
    """
    if "coverage" not in table.columns:
        raise DataError("`table` must have a `coverage` column (pmt.evaluate.group_table).")
    if incidence is None:
        incidence = ("benefits_share" if "benefits_share" in table.columns
                     and table["benefits_share"].notna().any() else "beneficiaries_share")
    if incidence not in table.columns:
        raise DataError(f"`table` has no column {incidence!r}; pass `incidence=` one of "
                        f"{', '.join(map(str, table.columns))}.")
    keep = [i for i in table.index if str(i) != "Total"]
    what = "benefits" if incidence == "benefits_share" else "recipients"
    cols = ["coverage", incidence]
    frame = table.loc[keep, cols].astype(float)
    lo = hi = None
    if lower is not None or upper is not None:
        if lower is None or upper is None:
            raise DataError("pass both `lower` and `upper` (interval bounds), or neither.")
        lo = pd.DataFrame(lower).reindex(index=keep, columns=cols)
        hi = pd.DataFrame(upper).reindex(index=keep, columns=cols)
    labels = ["Coverage (% of the group's people who receive)",
              f"Incidence (% of all {what} going to the group)"]
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 3.8))
    x = _grouped_bars(ax, frame, lo, hi, 100.0, labels=labels)
    _category_ticks(ax, x, tick_labels(frame.index), A4_WIDTH)
    if equal_share and len(keep):
        ax.axhline(100 / len(keep), color="#222", lw=1, ls=":",
                   label=f"Equal incidence ({100 / len(keep):.0f}% per group)")
    if xlabel is None:
        name = table.index.name
        xlabel = f"{_capital(str(name))} (1 = poorest)" if name else "Group (1 = poorest)"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Coverage and incidence (%)")
    ax.set_title(title)
    _bar_headroom(ax)
    _interval_legend(ax, interval, 2)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _finish(fig, source)


# --------------------------------------------------------------------------------------
# scatter of predictions
# --------------------------------------------------------------------------------------
def _subsample(max_points: int, seed: int, *arrays):
    n = arrays[0].size
    if n > max_points:
        idx = np.random.default_rng(seed).choice(n, max_points, replace=False)
        return tuple(a[idx] for a in arrays)
    return arrays


@_styled
def predicted_vs_actual(actual, predicted, line: float, title: str, max_points: int = 4000,
                        seed: int = 0, source: str | None = SOURCE,
                        welfare: str = "welfare per person", *, scale: Scale = "log",
                        currency: str | None = None, diagonal: bool = True) -> plt.Figure:
    """Scatter of predicted vs actual welfare with the poverty line on both axes.

    The four quadrants are labelled: correctly included (both below the line), inclusion
    error (predicted poor, actually not), exclusion error (actually poor, predicted not) and
    correctly excluded. A seeded random subsample keeps the file small.

    Parameters
    ----------
    actual, predicted : array-like
        Welfare per person, on the scale named by ``scale``.
    line : float
        Poverty line on the same scale (its natural log with ``scale="log"``).
    title : str
        Figure title.
    max_points : int
        Largest number of points drawn (a random subsample beyond it).
    seed : int
        Seed of the subsample.
    source : str, optional
        Source note.
    welfare : str
        Name of the welfare measure in the axis labels.
    scale : {"log", "level"}
        ``"log"``: the values are natural logs and the axes say so; ``"level"``: money
        amounts (e.g. ``predict(df, scale="level")``) and the axes show ``currency``.
    currency : str, optional
        Money unit, e.g. ``"KZT per person per month"``.
    diagonal : bool
        Draw the 45-degree line where predictions equal actual welfare.
    """
    _check_scale(scale)
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    ok = np.isfinite(a) & np.isfinite(p)
    a, p = _subsample(max_points, seed, a[ok], p[ok])
    fig, ax = plt.subplots(figsize=(A4_WIDTH * 0.85, 5.2))
    ax.scatter(a, p, s=4, alpha=0.35, color=PALETTE[0], linewidths=0)
    lo, hi = np.percentile(np.r_[a, p], [0.5, 99.5]) if a.size else (line - 1, line + 1)
    lo, hi = min(lo, line), max(hi, line)
    pad = 0.03 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    if scale == "level" and np.nanmin(np.r_[a, p, line]) >= 0:
        lo = max(lo, 0.0)
    if diagonal:
        ax.plot([lo, hi], [lo, hi], color="#555", lw=0.8, ls="--",
                label="Prediction = actual")
    ax.axvline(line, color=LINE_COLOR, lw=1.2, label="Poverty line")
    ax.axhline(line, color=LINE_COLOR, lw=1.2)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    kw: dict[str, Any] = dict(fontsize=8, color="#222",
                              bbox=dict(facecolor="white", alpha=0.85, lw=0))
    d = hi - lo
    ax.text(lo + 0.02 * d, lo + 0.02 * d, "correctly included", **kw)
    ax.text(hi - 0.02 * d, lo + 0.02 * d, "inclusion error", ha="right", **kw)
    ax.text(lo + 0.02 * d, hi - 0.05 * d, "exclusion error", **kw)
    ax.text(hi - 0.02 * d, hi - 0.05 * d, "correctly excluded", ha="right", **kw)
    ax.set_xlabel(_axis_label(f"Actual {welfare}", scale, currency))
    ax.set_ylabel(_axis_label(f"Predicted {welfare}", scale, currency))
    if scale == "level":
        _money_axis(ax, "x", f"Actual {welfare}", currency)
        _money_axis(ax, "y", f"Predicted {welfare}", currency)
    ax.set_title(title)
    _legend_below(ax, 2)
    return _finish(fig, source)


@_styled
def residuals_vs_actual(actual, predicted, title: str, max_points: int = 4000, seed: int = 0,
                        source: str | None = SOURCE,
                        welfare: str = "welfare per person", *, scale: Scale = "log",
                        currency: str | None = None) -> plt.Figure:
    """Residual (actual - predicted) against actual welfare: PMTs over-predict the poor.

    Parameters
    ----------
    actual, predicted : array-like
        Welfare per person on the scale named by ``scale``.
    title : str
        Figure title.
    max_points, seed : int
        Largest number of points drawn and the seed of the random subsample.
    source : str, optional
        Source note.
    welfare : str
        Name of the welfare measure in the axis labels.
    scale : {"log", "level"}
        ``"log"``: natural logs, residuals in log points; ``"level"``: money, residuals in
        ``currency``.
    currency : str, optional
        Money unit, e.g. ``"KZT per person per month"``.
    """
    _check_scale(scale)
    a = np.asarray(actual, dtype=float)
    r = a - np.asarray(predicted, dtype=float)
    ok = np.isfinite(r)
    a, r = _subsample(max_points, seed, a[ok], r[ok])
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 4.0))
    ax.scatter(a, r, s=4, alpha=0.35, color=PALETTE[0], linewidths=0)
    ax.axhline(0, color="#222", lw=0.8)
    ax.set_xlabel(_axis_label(f"Actual {welfare}", scale, currency))
    unit = "natural log points" if scale == "log" else (currency or "currency units")
    ax.set_ylabel(f"Residual, actual - predicted ({unit})")
    if scale == "level":
        _money_axis(ax, "x", f"Actual {welfare}", currency)
        _money_axis(ax, "y", "Residual, actual - predicted", currency)
    ax.set_title(title)
    return _finish(fig, source)


# --------------------------------------------------------------------------------------
# trade-off curves
# --------------------------------------------------------------------------------------
METRIC_LABELS = {
    "exclusion_error": "Exclusion error (% of the poor not selected)",
    "inclusion_error": "Inclusion error (% of the selected who are not poor)",
    "coverage": "Coverage (% of the population selected)",
    "coverage_poor": "Coverage of the poor (% of the poor selected)",
    "coverage_nonpoor": "Coverage of the non-poor (% of the non-poor selected)",
    "targeting_differential": "Targeting differential (percentage points)",
    "benefit_leakage": "Benefit leakage (% of benefits going to the non-poor)",
}


def _place_labels(ax, points, texts, colors) -> None:
    """Annotate points, choosing for each the first offset whose text box overlaps none of
    the labels placed before it (or the other markers).
    """
    from matplotlib.text import Text

    renderer = ax.figure.canvas.get_renderer()
    offsets = [(7, 7), (7, -13), (-7, 7), (-7, -13), (10, 20), (10, -26), (-10, 20),
               (-10, -26), (14, 33), (14, -39)]
    placed: list[Any] = []  # matplotlib Bboxes of the labels placed so far
    for (px, py), text, color in zip(points, texts, colors, strict=True):
        best = None
        for dx, dy in offsets:
            ann = ax.annotate(text, (px, py), xytext=(dx, dy), textcoords="offset points",
                              ha="left" if dx > 0 else "right", va="bottom", fontsize=7.5,
                              color=color,
                              bbox=dict(facecolor="white", alpha=0.8, lw=0, pad=1),
                              arrowprops=dict(arrowstyle="-", color=color, lw=0.6))
            ann.update_positions(renderer)
            box = Text.get_window_extent(ann, renderer)  # the text, without its leader
            frame = ax.get_window_extent(renderer)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(b) for b in placed):
                best = ann
                break
            ann.remove()
        if best is None:
            dx, dy = offsets[0]
            best = ax.annotate(text, (px, py), xytext=(dx, dy), textcoords="offset points",
                               fontsize=7.5, color=color,
                               bbox=dict(facecolor="white", alpha=0.8, lw=0, pad=1))
        best.update_positions(renderer)
        placed.append(Text.get_window_extent(best, renderer))


@_styled
def tradeoff_curves(curves: Mapping[str, pd.DataFrame], title: str, x: str = "exclusion_error",
                    y: str = "inclusion_error", source: str | None = SOURCE, *,
                    operating_points: Mapping[str, tuple[float, float]] | None = None,
                    coverage: float | Mapping[str, float] | None = None,
                    xlabel: str | None = None, ylabel: str | None = None) -> plt.Figure:
    """Inclusion vs exclusion error over all cut-offs, one line per model, in percent.

    Parameters
    ----------
    curves : mapping of str to pandas.DataFrame
        Model name to :func:`pmt.evaluate.error_curve` (shares in [0, 1]).
    title : str
        Figure title.
    x, y : str
        Curve columns on the axes (defaults: exclusion error, inclusion error).
    source : str, optional
        Source note.
    operating_points : mapping of str to (float, float), optional
        Model name to its (x, y) errors at the programme's cut-off, as shares in [0, 1];
        each is marked with the model's colour and labelled with its values.
    coverage : float or mapping of str to float, optional
        Instead of ``operating_points``: the programme's coverage (share of the population
        selected). Each model's point is the cut-off of its curve with the largest
        coverage not above it (:func:`pmt.evaluate.best_cutoff`).
    xlabel, ylabel : str, optional
        Axis labels; default to the metric's name with its unit.
    """
    if operating_points is not None and coverage is not None:
        raise DataError("pass `operating_points` or `coverage`, not both.")
    points: dict[str, tuple[float, float]] = {}
    if coverage is not None:
        from pmt.evaluate.curves import best_cutoff

        for name, curve in curves.items():
            target = coverage.get(name) if isinstance(coverage, Mapping) else coverage
            if target is None:
                continue
            row = best_cutoff(curve, share=float(target))
            points[name] = (float(row[x]), float(row[y]))
    elif operating_points is not None:
        unknown = [k for k in operating_points if k not in curves]
        if unknown:
            raise DataError(f"`operating_points` names models without a curve: {unknown}; "
                            f"curves: {', '.join(map(str, curves))}.")
        for name, xy in operating_points.items():
            px, py = (float(v) for v in xy)
            if not (0 <= px <= 1 and 0 <= py <= 1):
                raise DataError(f"operating point of {name!r} must be shares in [0, 1] "
                                f"(like the curves); got {xy!r}.")
            points[name] = (px, py)
    undefined = [n for n, (px, py) in points.items() if not (np.isfinite(px) and np.isfinite(py))]
    if undefined:
        warnings.warn(f"no operating point for {', '.join(map(str, undefined))}: an error is "
                      "undefined there (nobody selected at that coverage?).", UserWarning,
                      stacklevel=3)
        points = {n: xy for n, xy in points.items() if n not in undefined}
    fig, ax = plt.subplots(figsize=(A4_WIDTH * 0.85, 5.0))
    colors = {}
    for i, (name, curve) in enumerate(curves.items()):
        (ln,) = ax.plot(100 * curve[x].to_numpy(dtype=float),
                        100 * curve[y].to_numpy(dtype=float), lw=1.5,
                        color=PALETTE[i % len(PALETTE)], ls=LINESTYLES[i % len(LINESTYLES)],
                        label=str(name))
        colors[name] = ln.get_color()
    ax.set_xlabel(xlabel or METRIC_LABELS.get(x, _with_unit(x.replace("_", " ").capitalize())))
    ax.set_ylabel(ylabel or METRIC_LABELS.get(y, _with_unit(y.replace("_", " ").capitalize())))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    if points:
        names = list(points)
        xy_pct = [(100 * points[n][0], 100 * points[n][1]) for n in names]
        for n, (px, py) in zip(names, xy_pct, strict=True):
            ax.plot([px], [py], ls="none", marker="o", markersize=6, color=colors[n],
                    markeredgecolor="black", markeredgewidth=0.8, zorder=5, gid="operating")
        ax.plot([], [], ls="none", marker="o", color="white", markeredgecolor="black",
                label="Operating point" + (f" ({coverage:.0%} coverage)"
                                           if isinstance(coverage, float | int) else ""))
    ax.legend(loc="best", framealpha=0.9)
    ax.set_title(title)
    _finish(fig, source)
    if points:  # labels placed once the layout is final, so their spacing holds
        _place_labels(ax, xy_pct, [f"{n}: {px:.0f}%, {py:.0f}%" for n, (px, py) in
                                   zip(names, xy_pct, strict=True)], [colors[n] for n in names])
    return fig


# --------------------------------------------------------------------------------------
# distributions
# --------------------------------------------------------------------------------------
def _series(first, first_name: str, first_label: str, others, others_label: str,
            weights) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``first`` then ``others`` (one array, or a mapping of name -> array), each as its
    finite values with their weights.
    """
    f = column_or_array(first, name=first_name, allow_nan=True)
    w = check_weights(weights, f.size)
    named = {first_label: f}
    named.update(others if isinstance(others, Mapping) else {others_label: others})
    out = {}
    for name, values in named.items():
        x = column_or_array(values, name=str(name), n=w.size, allow_nan=True)
        ok = np.isfinite(x)
        if not ok.all():
            warnings.warn(f"{name}: {int((~ok).sum())} non-finite values (e.g. the log of "
                          "zero) left out of the figure.", UserWarning, stacklevel=4)
        out[str(name)] = (x[ok], w[ok])
    return out


def weighted_ecdf(x, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted empirical CDF: distinct values and the weight share at or below each.

    Parameters
    ----------
    x : array-like
        Values (finite).
    weights : array-like, optional
        Non-negative weights (person weights for shares of people).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Sorted distinct values and F(value) = sum of weights of x <= value / total, in [0, 1].
    """
    xv = column_or_array(x, name="x", allow_nan=True)
    w = check_weights(weights, xv.size)
    order = np.argsort(xv, kind="stable")
    xs, cum = xv[order], np.cumsum(w[order])
    last = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True])
    return xs[last], cum[last] / cum[-1]


def _silverman(x: np.ndarray, w: np.ndarray) -> float:
    wn = w / w.sum()
    mu = np.sum(wn * x)
    sd = np.sqrt(np.sum(wn * (x - mu) ** 2))
    xs, cdf = weighted_ecdf(x, w)
    q25 = xs[np.searchsorted(cdf, 0.25)]
    q75 = xs[min(int(np.searchsorted(cdf, 0.75)), xs.size - 1)]
    spread = min(sd, (q75 - q25) / 1.349) if q75 > q25 else sd
    n_eff = w.sum() ** 2 / np.sum(w**2)
    h = 0.9 * spread * n_eff ** (-0.2)
    return float(h) if h > 0 else 1.0


def weighted_kde(x, weights, grid, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density of weighted data on a grid.

    Parameters
    ----------
    x : array-like
        Values (finite).
    weights : array-like or None
        Non-negative weights (None: equal).
    grid : array-like
        Points where the density is evaluated.
    bandwidth : float, optional
        Kernel standard deviation in the units of ``x``. Default: Silverman's rule with the
        weighted standard deviation and interquartile range and Kish's effective sample
        size, 0.9 min(sd, IQR/1.349) n_eff^(-1/5).

    Returns
    -------
    numpy.ndarray
        f(g) = sum_i w_i phi((g - x_i)/h) / (h sum_i w_i) at each grid point (per unit of x).
    """
    xv = column_or_array(x, name="x", allow_nan=True)
    w = check_weights(weights, xv.size)
    h = _silverman(xv, w) if bandwidth is None else float(bandwidth)
    if not h > 0:
        raise DataError(f"`bandwidth` must be positive; got {bandwidth!r}.")
    g = column_or_array(grid, name="grid", allow_nan=True)
    out = np.zeros(g.size)
    step = max(1, 2_000_000 // max(g.size, 1))
    for start in range(0, xv.size, step):
        z = (g[:, None] - xv[None, start:start + step]) / h
        out += np.exp(-0.5 * z * z) @ w[start:start + step]
    return out / (h * np.sqrt(2 * np.pi) * w.sum())


def _view(series, lines: Sequence[float], scale: Scale, xlim) -> tuple[float, float]:
    if xlim is not None:
        return float(xlim[0]), float(xlim[1])
    x = np.concatenate([s[0] for s in series.values()])
    w = np.concatenate([s[1] for s in series.values()])
    xs, cdf = weighted_ecdf(x, w)
    lo = xs[np.searchsorted(cdf, 0.005)]
    hi = xs[min(int(np.searchsorted(cdf, 0.995 if scale == "log" else 0.99)), xs.size - 1)]
    if lines:
        lo, hi = min(lo, min(lines)), max(hi, max(lines))
    pad = 0.04 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    if scale == "level" and x.min() >= 0:
        lo = max(lo, 0.0)
    return float(lo), float(hi)


def _draw_distributions(ax, series, kind: str, view, bandwidth, bins: int,
                        population: str, legend_suffix: Mapping[str, str]) -> None:
    lo, hi = view
    if kind == "kde":
        grid = np.linspace(lo, hi, 512)
    elif kind == "hist":
        edges = np.linspace(lo, hi, int(bins) + 1)
    for i, (name, (x, w)) in enumerate(series.items()):
        style = dict(color=PALETTE[i % len(PALETTE)], ls=LINESTYLES[i % len(LINESTYLES)],
                     lw=1.6, label=name + legend_suffix.get(name, ""))
        if kind == "kde":
            ax.plot(grid, weighted_kde(x, w, grid, bandwidth), **style)
        elif kind == "hist":
            counts, _ = np.histogram(x, bins=edges, weights=w)
            density = counts / (w.sum() * np.diff(edges))  # share of all weight per unit
            ax.stairs(density, edges, **style)
        else:
            xs, cdf = weighted_ecdf(x, w)
            ax.step(np.r_[xs[0], xs], 100 * np.r_[0.0, cdf], where="post", **style)
    if kind == "cdf":
        ax.set_ylabel(f"Cumulative share of {population} (%)")
        ax.set_ylim(0, 101)
    else:
        ax.set_ylabel(f"Density (share of {population} per unit of the x axis)")
        ax.set_ylim(bottom=0)
    ax.set_xlim(lo, hi)
    ax.grid(alpha=0.3)


def _check_kind(kind) -> None:
    if kind not in ("kde", "hist", "cdf"):
        raise DataError(f"`kind` must be 'kde' (weighted kernel density), 'hist' or 'cdf'; "
                        f"got {kind!r}.")


def _share_below(x: np.ndarray, w: np.ndarray, z: float) -> float:
    return float(w[x < z].sum() / w.sum())


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.4g}"


def _money(value: float, scale: Scale) -> str:
    """A line's value for a legend (the axis says the unit); logs also in money."""
    if scale == "log":
        return f"log {value:.2f} = {_amount(float(np.exp(value)))}"
    return _amount(value)


def _money_axis(ax, which: str, what: str, currency: str | None) -> None:
    """Label a money axis and write its ticks with thousands separators; beyond 100,000 in
    thousands (beyond 100 million in millions), said in the label, so ticks stay short.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    top = max(abs(lo), abs(hi))
    factor, word = (1e6, "million ") if top >= 1e8 else (1e3, "thousand ") if top >= 1e5 \
        else (1.0, "")
    axis.set_major_locator(MaxNLocator(nbins=6))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _amount(v / factor) if v else "0"))
    unit = f"{word}{currency or 'currency units'}"
    (ax.set_xlabel if which == "x" else ax.set_ylabel)(f"{what} ({unit})")


def _legend_below(ax, n_entries: int) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), framealpha=0.9,
              ncol=1 if n_entries > 3 else n_entries, fontsize=7.5)


@_styled
def welfare_distribution(actual, predicted, weights=None, line: float | None = None, *,
                         kind: Literal["kde", "hist", "cdf"] = "kde", scale: Scale = "log",
                         title: str = "Distribution of actual and predicted welfare",
                         welfare: str = "welfare per person", currency: str | None = None,
                         actual_label: str = "Actual", predicted_label: str = "Predicted",
                         bandwidth: float | None = None, bins: int = 40,
                         xlim: tuple[float, float] | None = None, population: str = "people",
                         source: str | None = SOURCE) -> plt.Figure:
    """Distributions of actual and predicted welfare with the poverty line (Belarus 2011,
    Fig. 7b): weighted kernel densities, histograms or cumulative distributions.

    A PMT's predictions are compressed towards the mean, so at a low absolute line they
    select fewer people than are poor; the legend gives each distribution's share below
    the line.

    Parameters
    ----------
    actual : array-like
        Actual welfare per person, one value per household.
    predicted : array-like or mapping of str to array-like
        Predicted welfare for the same households; a mapping draws several (e.g.
        ``{"PMT": ..., "HMT": ...}``).
    weights : array-like, optional
        Person weights (w_h n_h) for shares of people; household weights with
        ``population="households"``. Equal weights if omitted.
    line : float, optional
        Poverty line on the scale of the values.
    kind : {"kde", "hist", "cdf"}
        Weighted Gaussian kernel density (:func:`weighted_kde`), weighted histogram (share
        of all weight per unit of x, with ``bins`` equal bins over the visible range) or
        weighted cumulative distribution (:func:`weighted_ecdf`, in %).
    scale : {"log", "level"}
        ``"log"``: the values and the line are natural logs; ``"level"``: money.
    title : str
        Figure title.
    welfare : str
        Name of the welfare measure in the x label.
    currency : str, optional
        Money unit, e.g. ``"BYR per person per month"``.
    actual_label, predicted_label : str
        Legend names (``predicted_label`` only when ``predicted`` is not a mapping).
    bandwidth : float, optional
        KDE bandwidth in x units; Silverman's rule per series by default.
    bins : int
        Histogram bins.
    xlim : (float, float), optional
        Visible range; default the 0.5-99.5 % (levels: 0.5-99 %) weighted quantiles of all
        series, widened to show the line.
    population : str
        What the weights count, in the y label.
    source : str, optional
        Source note.

    Notes
    -----
    Non-finite values (e.g. the log of zero) are left out with a warning giving their
    number. Shares below the line are sum w 1[y < line] / sum w.
    """
    _check_kind(kind)
    _check_scale(scale)
    series = _series(actual, "actual", actual_label, predicted, predicted_label, weights)
    lines = [] if line is None else [float(line)]
    suffix = {}
    if line is not None:
        suffix = {n: f" ({100 * _share_below(x, ww, line):.1f}% below the line)"
                  for n, (x, ww) in series.items()}
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 4.2))
    _draw_distributions(ax, series, kind, _view(series, lines, scale, xlim), bandwidth, bins,
                        population, suffix)
    if line is not None:
        ax.axvline(line, color="black", lw=1.1, ls=_THRESHOLD_DASHES[0],
                   label=f"Poverty line ({_money(line, scale)})")
    ax.set_xlabel(_axis_label(_capital(welfare), scale, currency))
    if scale == "level":
        _money_axis(ax, "x", _capital(welfare), currency)
    ax.set_title(title)
    _legend_below(ax, len(series) + (line is not None))
    return _finish(fig, source)


@_styled
def welfare_under_reform(baseline, reform, weights=None,
                         thresholds: Mapping[str, float] | Sequence[float] | float | None = None,
                         *, kind: Literal["kde", "hist", "cdf"] = "cdf", scale: Scale = "level",
                         title: str = "Welfare without and with the reform",
                         welfare: str = "welfare per person", currency: str | None = None,
                         baseline_label: str = "Baseline", reform_label: str = "Reform",
                         bandwidth: float | None = None, bins: int = 40,
                         xlim: tuple[float, float] | None = None, population: str = "people",
                         source: str | None = SOURCE) -> plt.Figure:
    """Distributions of welfare under the baseline and under the reform, with the
    eligibility thresholds (Kazakhstan 2017, Figs 7-8): by default weighted cumulative
    distributions in money, so first-order dominance can be read off.

    Parameters
    ----------
    baseline : array-like
        Welfare per person without the reform (e.g. post-transfer income with today's
        benefits), one value per household.
    reform : array-like or mapping of str to array-like
        Welfare per person under the reform for the same households; a mapping draws
        several scenarios.
    weights : array-like, optional
        Person weights (w_h n_h); equal if omitted.
    thresholds : mapping of str to float, sequence of float or float, optional
        Thresholds on the scale of the values, e.g. ``{"50% of the new SML": 10_500,
        "New SML": 21_000}``; each is a vertical line whose legend entry gives the share
        of ``population`` below it in every distribution.
    kind : {"cdf", "kde", "hist"}
        As in :func:`welfare_distribution`.
    scale : {"level", "log"}
        ``"level"``: money (default); ``"log"``: natural logs.
    title, welfare, currency, bandwidth, bins, xlim, population, source
        As in :func:`welfare_distribution`.
    baseline_label, reform_label : str
        Legend names (``reform_label`` only when ``reform`` is not a mapping).
    """
    _check_kind(kind)
    _check_scale(scale)
    series = _series(baseline, "baseline", baseline_label, reform, reform_label, weights)
    if thresholds is None:
        marks: dict[str, float] = {}
    elif isinstance(thresholds, Mapping):
        marks = {str(k): float(v) for k, v in thresholds.items()}
    else:
        values = np.atleast_1d(np.asarray(thresholds, dtype=float))
        marks = {("Threshold" if values.size == 1 else f"Threshold {i + 1}"): float(v)
                 for i, v in enumerate(values)}
    fig, ax = plt.subplots(figsize=(A4_WIDTH, 4.8))
    _draw_distributions(ax, series, kind, _view(series, list(marks.values()), scale, xlim),
                        bandwidth, bins, population, {})
    for i, (label, z) in enumerate(marks.items()):
        shares = ", ".join(f"{n} {100 * _share_below(x, ww, z):.1f}%"
                           for n, (x, ww) in series.items())
        ax.axvline(z, color="#222", lw=1.1, ls=_THRESHOLD_DASHES[i % len(_THRESHOLD_DASHES)],
                   label=f"{label} ({_money(z, scale)}); below it: {shares}")
    ax.set_xlabel(_axis_label(_capital(welfare), scale, currency))
    if scale == "level":
        _money_axis(ax, "x", _capital(welfare), currency)
    ax.set_title(title)
    _legend_below(ax, len(series) + len(marks))
    return _finish(fig, source)


# --------------------------------------------------------------------------------------
# Lorenz and concentration curves
# --------------------------------------------------------------------------------------
def concentration_points(values, rank_by, weights=None) -> pd.DataFrame:
    """Points of the concentration curve of ``values`` ranked by ``rank_by``.

    Households are sorted by ``rank_by`` (poorest first); households with equal
    ``rank_by`` form one step, so the curve does not depend on their order. With
    ``values = rank_by`` this is the Lorenz curve.

    Parameters
    ----------
    values : array-like
        Per-person amounts (welfare, benefits per person), one per household.
    rank_by : array-like
        Ranking variable (welfare per person).
    weights : array-like, optional
        Person weights (w_h n_h); equal if omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``population_share`` (cumulative share of weight, P_k) and
        ``cumulative_share`` (cumulative share of sum w x, S_k), both starting at 0 and
        ending at 1. ``attrs["index"]`` is 1 - sum_k (S_{k-1} + S_k)(P_k - P_{k-1}): the
        Gini coefficient for a Lorenz curve, the concentration index otherwise.
    """
    x = column_or_array(values, name="values", allow_nan=True)
    r = column_or_array(rank_by, name="rank_by", n=x.size, allow_nan=True)
    w = check_weights(weights, x.size)
    if not (np.isfinite(x).all() and np.isfinite(r).all()):
        raise DataError("`values` and `rank_by` must be finite: drop or impute missing values "
                        "first.")
    total = np.sum(w * x)
    if total == 0:
        raise DataError("the weighted total of `values` is zero: no curve of shares.")
    order = np.argsort(r, kind="stable")
    rs = r[order]
    last = np.flatnonzero(np.r_[rs[1:] != rs[:-1], True])
    p = np.r_[0.0, np.cumsum(w[order])[last] / w.sum()]
    s = np.r_[0.0, np.cumsum((w * x)[order])[last] / total]
    out = pd.DataFrame({"population_share": p, "cumulative_share": s})
    out.attrs["index"] = float(1 - np.sum((s[:-1] + s[1:]) * np.diff(p)))
    return out


@_styled
def lorenz_concentration(welfare, benefits, weights=None, *,
                         title: str = "Lorenz curve of welfare and concentration curve of "
                                      "benefits",
                         welfare_label: str = "welfare", benefits_label: str = "benefits",
                         population: str = "people",
                         source: str | None = SOURCE) -> plt.Figure:
    """The Lorenz curve of welfare and the concentration curve of benefits, with the line
    of equality.

    Both curves rank people by ``welfare`` (poorest first). Above the 45-degree line the
    benefits are progressive in absolute terms (the poorest x % get more than x % of them);
    between the diagonal and the Lorenz curve they are progressive relative to welfare.

    Parameters
    ----------
    welfare : array-like
        Welfare per person (the ranking variable, e.g. pre-transfer consumption), one value
        per household.
    benefits : array-like or mapping of str to array-like
        Benefit per person (household amount / size) for the same households; a mapping
        draws one concentration curve per programme or scenario.
    weights : array-like, optional
        Person weights (w_h n_h); equal if omitted.
    title : str
        Figure title.
    welfare_label, benefits_label : str
        Names in the legend and axis labels (``benefits_label`` only when ``benefits`` is
        not a mapping).
    population : str
        What the weights count, in the x label.
    source : str, optional
        Source note.

    Notes
    -----
    Points and indices are :func:`concentration_points`; the legend gives the Gini
    coefficient of welfare and the concentration index of each benefit (negative: the
    benefit goes mostly to the poor).
    """
    y = column_or_array(welfare, name="welfare", allow_nan=True)
    w = check_weights(weights, y.size)
    named = dict(benefits) if isinstance(benefits, Mapping) else {benefits_label: benefits}
    fig, ax = plt.subplots(figsize=(A4_WIDTH * 0.8, 6.4))
    ax.plot([0, 100], [0, 100], color="#555", lw=0.9, ls=":", label="Line of equality (45°)")
    lorenz = concentration_points(y, y, w)
    ax.plot(100 * lorenz["population_share"], 100 * lorenz["cumulative_share"],
            color=PALETTE[0], lw=1.6, ls=LINESTYLES[0],
            label=f"Lorenz curve of {welfare_label} (Gini {_index(lorenz.attrs['index'])})")
    for i, (name, b) in enumerate(named.items(), start=1):
        curve = concentration_points(
            column_or_array(b, name=str(name), n=y.size, allow_nan=True), y, w)
        ax.plot(100 * curve["population_share"], 100 * curve["cumulative_share"],
                color=PALETTE[i % len(PALETTE)], lw=1.6, ls=LINESTYLES[i % len(LINESTYLES)],
                label=f"Concentration curve of {name} (index {_index(curve.attrs['index'])})")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_aspect("equal")
    ax.set_xlabel(f"Cumulative share of {population} (%),\nranked by {welfare_label} from "
                  "the poorest")
    what = welfare_label if not named else f"{welfare_label} or " + (
        benefits_label if not isinstance(benefits, Mapping) else "benefits")
    ax.set_ylabel(f"Cumulative share of {what} (%)")
    ax.grid(alpha=0.3)
    _legend_below(ax, 4)
    ax.set_title(title)
    return _finish(fig, source)


def _index(value: float) -> str:
    return f"{round(value, 3) + 0.0:.3f}"  # no "-0.000"
