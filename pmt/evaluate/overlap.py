"""Decile (quantile-group) overlap between actual and predicted welfare.

DESIGN.md section 4: the n x n table of population shares, rows = quantile group of actual
welfare, columns = quantile group of predicted welfare (groups by
:func:`pmt.quantile_groups`, person-weighted, group 1 the poorest), all cells summing to 1.
:func:`overlap_shares` summarises it by the share on the diagonal, the share within one
group (Belarus 2011, Table 12) and the Uzbek Overlap(k) (Uzbekistan 2019, section 4.4):
the share of people in the bottom k actual groups who are also in the bottom k predicted
groups.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._literals import Normalize
from pmt._validation import check_option, column_or_array
from pmt.errors import DataError
from pmt.evaluate.metrics import check_aligned, resolve_weights
from pmt.survey import quantile_groups


def overlap_counts(g_actual: np.ndarray, g_pred: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Weighted n x n cross-tabulation of two group vectors (values 1..n)."""
    cell = (g_actual - 1) * n + (g_pred - 1)
    return np.bincount(cell, weights=v, minlength=n * n).reshape(n, n)


@renamed_arguments(positional=("n_groups",), n="n_groups")
def decile_overlap(
    actual,
    predicted,
    weights=None,
    *,
    n_groups: int = 10,
    size=None,
    normalize: Literal["all", "row", "column"] = "all",
    higher_is_poorer: bool = False,
) -> pd.DataFrame:
    """Cross-tabulate quantile groups of actual and predicted welfare.

    Parameters
    ----------
    actual, predicted : array-like or pandas.Series
        Actual welfare (e.g. per-capita consumption) and predicted welfare (PMT score, on
        any monotone scale: groups only depend on ranks).
    weights : array-like, optional
        Person weights, or household weights with ``size``. Equal if omitted.
    n_groups : int
        Number of groups n (10 deciles, 5 quintiles, any n >= 2). Was ``n`` (deprecated:
        still accepted, with a FutureWarning).
    size : array-like, optional
        Household size (person weight = weights x size).
    normalize : {"all", "row", "column"}
        "all" (default, DESIGN.md): cells are population shares summing to 1; "row": shares
        of each actual group (rows sum to 1); "column": shares of each predicted group.
    higher_is_poorer : bool
        Set for scores that rise with need (e.g. P(poor)); group 1 is then the highest
        score.

    Returns
    -------
    pandas.DataFrame
        n x n, index "actual" 1..n, columns "predicted" 1..n. ``attrs["normalize"]`` records
        the normalisation. Empty groups (possible with heavy ties) give zero rows/columns.
    """
    check_aligned(actual=actual, predicted=predicted, weights=weights, size=size)
    y = column_or_array(actual, name="actual")
    m = y.shape[0]
    yhat = column_or_array(predicted, name="predicted", n=m)
    if higher_is_poorer:
        yhat = -yhat
    if int(n_groups) != n_groups or n_groups < 2:
        raise DataError(
            f"`n_groups` must be an integer >= 2 (number of groups); got {n_groups!r}.")
    n = int(n_groups)
    check_option(normalize, Normalize, name="normalize")
    v = resolve_weights(weights, m, size, allow_zero_sum=False)
    table = overlap_counts(quantile_groups(y, v, n), quantile_groups(yhat, v, n), v, n)
    if normalize == "all":
        table = table / table.sum()
    elif normalize == "row":
        with np.errstate(invalid="ignore", divide="ignore"):
            table = table / table.sum(axis=1, keepdims=True)
    else:  # "column"
        with np.errstate(invalid="ignore", divide="ignore"):
            table = table / table.sum(axis=0, keepdims=True)
    labels = np.arange(1, n + 1)
    out = pd.DataFrame(
        table,
        index=pd.Index(labels, name="actual"),
        columns=pd.Index(labels, name="predicted"),
    )
    out.attrs["normalize"] = normalize
    return out


def overlap_from_table(table: np.ndarray) -> dict[str, np.ndarray]:
    """Diagonal, within-one and Overlap(k) shares from (stacks of) n x n weighted tables.

    ``table`` has shape (..., n, n) with any positive normalisation; returns arrays of the
    leading shape.
    """
    t = np.asarray(table, dtype=float)
    n = t.shape[-1]
    total = t.sum(axis=(-2, -1))
    idx = np.arange(n)
    diag = t[..., idx, idx].sum(axis=-1)
    near = np.abs(idx[:, None] - idx[None, :]) <= 1
    within = (t * near).sum(axis=(-2, -1))
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["diagonal"] = diag / total
        out["within_one"] = within / total
        row_cum = np.cumsum(t.sum(axis=-1), axis=-1)  # people in bottom-k actual groups
        for k in range(1, n):
            both = t[..., :k, :k].sum(axis=(-2, -1))
            out[f"overlap_{k}"] = both / row_cum[..., k - 1]
    return out


def overlap_shares(table: pd.DataFrame) -> pd.Series:
    """Summaries of a :func:`decile_overlap` table.

    Parameters
    ----------
    table : pandas.DataFrame
        A square table from :func:`decile_overlap` with ``normalize="all"`` (or raw weighted
        counts); row- or column-normalised tables are rejected because their cells are not
        population shares.

    Returns
    -------
    pandas.Series
        ``diagonal`` (share of people in the same group), ``within_one`` (same or adjacent
        group), and ``overlap_1 .. overlap_{n-1}``: Overlap(k), the share of people in the
        bottom k actual groups who are also in the bottom k predicted groups (Uzbekistan
        2019: Overlap(decile 1) = 43 %, Overlap(quintile 1) = 52.5 %). With matched
        quantile cut-offs Overlap(k) is the coverage of the bottom-k poor, 1 - exclusion
        error.
    """
    if not isinstance(table, pd.DataFrame) or table.shape[0] != table.shape[1]:
        raise DataError("`table` must be the square DataFrame returned by decile_overlap().")
    norm = table.attrs.get("normalize", "all")
    if norm != "all":
        raise DataError(
            f"`table` is normalised by {norm}; overlap shares need population shares: call "
            "decile_overlap(..., normalize='all')."
        )
    t = table.to_numpy(dtype=float)
    if np.isnan(t).any() or (t < 0).any() or t.sum() <= 0:
        raise DataError("`table` must hold non-negative shares or weighted counts, not NaN.")
    values = overlap_from_table(t)
    return pd.Series(
        {k: float(v) for k, v in values.items()}, name="share"
    ).rename_axis("measure")
