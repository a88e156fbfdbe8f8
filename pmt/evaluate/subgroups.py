"""Targeting metrics by subgroup (region, urban/rural, household type), with sizes.

For every level g of each grouping variable ("block") the section-4 metrics are computed
within the group, next to the group's size: unweighted number of households, its share of
the population and its share of the poor, and a ``too_small`` flag when fewer than
``min_n`` households stand behind it (its metrics are noisy).

``layout="table6"`` gives the Uzbekistan 2019 Table 6 layout (reference notes, section
2.9): ``overlap`` = share of the group's poor who are selected (the coverage of the poor,
where "poor" is the poorest national quintile and "selected" the national bottom 20 % of
the PMT score), the group's share of the poor ("% of Q1") and of the population.

A grouping variable with a single level would only repeat the total; it raises a
DataError naming the column rather than printing a block that looks like a breakdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from pmt._literals import SubgroupLayout
from pmt._validation import check_option, column_or_array
from pmt.errors import DataError, example_rows
from pmt.evaluate.metrics import (
    BENEFIT_METRICS,
    METRICS,
    Unit,
    check_aligned,
    metrics_from_totals,
    resolve_weights,
    totals,
)


def group_blocks(groups, n: int) -> dict[str, tuple[np.ndarray, pd.Index]]:
    """Normalise ``groups`` to {block name: (integer codes 0..G-1, level labels)}."""
    if isinstance(groups, pd.Series):
        blocks = {str(groups.name or "group"): groups}
    elif isinstance(groups, pd.DataFrame):
        blocks = {str(c): groups[c] for c in groups.columns}
    elif isinstance(groups, Mapping):
        blocks = {str(k): pd.Series(np.asarray(v)) for k, v in groups.items()}
    else:
        blocks = {"group": pd.Series(np.asarray(groups))}
    if not blocks:
        raise DataError("`groups` has no columns: pass at least one grouping variable.")
    out = {}
    for name, col in blocks.items():
        if len(col) != n:
            raise DataError(
                f"grouping variable '{name}' has {len(col)} values but there are {n} households."
            )
        missing = col.isna().to_numpy()
        if missing.any():
            labels = col.index[missing]
            raise DataError(
                f"grouping variable '{name}' has {int(missing.sum())} missing values at "
                f"{example_rows(labels)}: give them a level (e.g. 'unknown') or drop them."
            )
        codes, levels = pd.factorize(col, sort=True)
        if levels.size < 2:
            raise DataError(
                f"grouping variable '{name}' has a single level ({levels[0]!r}), so its "
                "subgroup equals the total: drop it from `groups`."
            )
        out[name] = (codes.astype(np.int64), pd.Index(levels))
    return out


def subgroup_metrics(
    poor,
    selected,
    groups,
    weights=None,
    *,
    benefits=None,
    size=None,
    unit: Unit = "person",
    min_n: int = 30,
    layout: Literal["metrics", "table6"] = "metrics",
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Targeting metrics within subgroups, with subgroup sizes.

    Parameters
    ----------
    poor, selected, weights, benefits, size, unit
        As in :func:`targeting_metrics`.
    groups : pandas.Series, pandas.DataFrame, mapping or array
        One grouping variable, or several (each DataFrame column / mapping entry is a
        block: e.g. ``df[["urban", "region", "hh_type"]]``). Missing labels and
        single-level variables raise DataError.
    min_n : int
        Groups with fewer households (unweighted) are flagged ``too_small``.
    layout : {"metrics", "table6"}
        "metrics": every section-4 metric (or those in ``metrics``); "table6": the
        Uzbekistan Table 6 columns ``overlap``, ``share_of_poor``, ``share_of_population``.
    metrics : sequence of str, optional
        Subset of metric names for ``layout="metrics"``.

    Returns
    -------
    pandas.DataFrame
        Index (block, group) starting with ("Total", "All"); columns ``n_households``,
        ``population_share``, ``share_of_poor``, the metrics, ``too_small``. Metrics
        undefined in a group (e.g. no poor) are NaN; a RuntimeWarning is not raised per
        group, the NaN speaks for itself.
    """
    ref = check_aligned(poor=poor, selected=selected, weights=weights, benefits=benefits,
                        size=size)
    if (
        ref is not None
        and isinstance(groups, pd.Series | pd.DataFrame)
        and not groups.index.equals(ref)
    ):
        raise DataError(
            "`groups` has an index different from `poor`/`selected`; align them (e.g. "
            "`groups.reindex(poor.index)`) or pass arrays in the same order."
        )
    p = column_or_array(poor, name="poor", binary=True)
    m = p.shape[0]
    s = column_or_array(selected, name="selected", n=m, binary=True)
    v = resolve_weights(weights, m, size, unit)
    bw = None
    if benefits is not None:
        b = column_or_array(benefits, name="benefits", n=m)
        base = resolve_weights(weights, m, size, "person") if size is not None else v
        bw = base * b
    names: tuple[str, ...] = BENEFIT_METRICS if benefits is not None else METRICS
    if metrics is not None:
        unknown = [k for k in metrics if k not in names]
        if unknown:
            raise DataError(f"unknown metrics {unknown}; choose from {', '.join(names)}.")
        names = tuple(metrics)
    if int(min_n) != min_n or min_n < 1:
        raise DataError(f"`min_n` must be a positive integer; got {min_n!r}.")
    check_option(layout, SubgroupLayout, name="layout")
    blocks = group_blocks(groups, m)
    contrib = totals(p, s, v, bw)
    rows, keys, counts = [], [("Total", "All")], [m]
    all_t = contrib.sum(axis=0)
    rows.append(all_t)
    for block, (codes, levels) in blocks.items():
        g = levels.size
        t = np.stack(
            [np.bincount(codes, weights=c, minlength=g) for c in contrib.T], axis=-1
        )
        rows.extend(t)
        keys.extend((block, lev) for lev in levels)
        counts.extend(np.bincount(codes, minlength=g))
    t = np.vstack(rows)
    vals = metrics_from_totals(t, benefits is not None)
    pop = t[:, 0] + t[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        pop_share = pop / (all_t[0] + all_t[1])
        poor_share = t[:, 0] / all_t[0] if all_t[0] > 0 else np.full(len(t), np.nan)
    index = pd.MultiIndex.from_tuples(keys, names=["block", "group"])
    out = pd.DataFrame({"n_households": np.asarray(counts, dtype=np.int64)}, index=index)
    if layout == "table6":
        out["overlap"] = vals["coverage_poor"]
        out["share_of_poor"] = poor_share
        out["share_of_population"] = pop_share
    else:
        out["population_share"] = pop_share
        out["share_of_poor"] = poor_share
        for k in names:
            out[k] = vals[k]
    out["too_small"] = out["n_households"] < min_n
    return out
