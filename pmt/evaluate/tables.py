"""Incidence tables by quantile group: coverage, beneficiaries, benefits, adequacy.

The classic safety-net tables (Kyrgyz Republic 2011, Tables 7-10; Uzbekistan 2019,
Table 2 and Figure 3) by deciles or quintiles of a ranking variable. Every cell is a ratio
of weighted totals within a group (v = person weight, s = recipient, b = benefit per
person, y = welfare per person):

=============================  ===============================================
population_share               sum_g v / sum v
coverage                       sum_g v s / sum_g v
beneficiaries_share            sum_g v s / sum v s   (distribution of beneficiaries)
benefits_share                 sum_g v b / sum v b   (distribution of benefits)
adequacy_all                   sum_g v b / sum_g v y (all households of the group)
adequacy_recipients            sum_g v s b / sum_g v s y  (ratio of totals)
adequacy_recipients_mean       sum_g v s (b / y) / sum_g v s  (mean of ratios)
=============================  ===============================================

The Kyrgyz report does not say whether adequacy is a ratio of totals or a mean of ratios,
so both are given and named. Which variable the groups rank by, and whether it is before
or after the transfer, must be stated (``ranked_by``): the same report mixes pre- and
post-transfer quintiles between tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._validation import column_or_array
from pmt.errors import DataError, example_rows
from pmt.evaluate.metrics import Unit, check_aligned, resolve_weights
from pmt.survey import quantile_groups

# household contributions whose group totals make every cell
TABLE_TOTALS = ("v", "vs", "vb", "vy", "vsb", "vsy", "vs_ratio")
TABLE_COLUMNS = (
    "population_share",
    "coverage",
    "beneficiaries_share",
    "benefits_share",
    "adequacy_all",
    "adequacy_recipients",
    "adequacy_recipients_mean",
)

_GROUP_WORD = {4: "quartile", 5: "quintile", 10: "decile", 20: "vingtile", 100: "percentile"}


def table_contributions(s, v, b=None, y=None) -> np.ndarray:
    """Per-household contributions (n, 7) in the order of :data:`TABLE_TOTALS`."""
    zeros = np.zeros_like(v)
    b = zeros if b is None else b
    y_ = zeros if y is None else y
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s > 0, b / np.where(y_ > 0, y_, np.nan), 0.0) if y is not None else zeros
    return np.column_stack([v, v * s, v * b, v * y_, v * s * b, v * s * y_, v * s * ratio])


def table_from_totals(t, benefits: bool = True, welfare: bool = True) -> dict[str, np.ndarray]:
    """Table cells from group totals ``t`` of shape (..., n_groups, 7)."""
    t = np.asarray(t, dtype=float)
    tot = t.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "population_share": t[..., 0] / tot[..., 0],
            "coverage": t[..., 1] / t[..., 0],
            "beneficiaries_share": t[..., 1] / tot[..., 1],
        }
        if benefits:
            out["benefits_share"] = t[..., 2] / tot[..., 2]
            if welfare:
                out["adequacy_all"] = t[..., 2] / t[..., 3]
                out["adequacy_recipients"] = t[..., 4] / t[..., 5]
                out["adequacy_recipients_mean"] = t[..., 6] / t[..., 1]
    return out


@renamed_arguments(n="n_groups")
def group_table(
    rank,
    selected=None,
    weights=None,
    benefits=None,
    welfare=None,
    *,
    n_groups: int = 5,
    ranked_by: str,
    size=None,
    unit: Unit = "person",
) -> pd.DataFrame:
    """Coverage, incidence and adequacy by quantile group of a ranking variable.

    Parameters
    ----------
    rank : array-like or pandas.Series
        Ranking variable, e.g. per-capita consumption before transfers. Groups are
        :func:`pmt.quantile_groups` (person-weighted, 1 = poorest).
    selected : array-like of 0/1, optional
        Recipients (or eligible). Defaults to ``benefits > 0`` when benefits are given.
    weights, size, unit
        As in :func:`targeting_metrics` (person weights by default).
    benefits : array-like, optional
        Benefit **per person** (household amount / size), in the units of ``welfare``.
    welfare : array-like, optional
        Welfare per person for adequacy (e.g. post-transfer consumption per capita);
        defaults to ``rank``. Adequacy needs welfare > 0 for recipients.
    n_groups : int
        Number of groups (5 quintiles, 10 deciles, ...). Was ``n`` (deprecated: still
        accepted, with a FutureWarning).
    ranked_by : str
        Required description of the ranking, printed in the table: say whether it is pre-
        or post-transfer welfare, e.g. ``"pre-transfer per-capita consumption"``.

    Returns
    -------
    pandas.DataFrame
        Rows 1..n and "Total"; columns ``n_households`` (unweighted) and the cells of the
        module table (benefit and adequacy columns only with ``benefits``). Shares are in
        [0, 1]. The index name says the grouping and ``attrs["ranked_by"]`` keeps
        ``ranked_by``.
    """
    if not isinstance(ranked_by, str) or not ranked_by.strip():
        raise DataError(
            "`ranked_by` must describe the ranking variable, e.g. 'pre-transfer per-capita "
            "consumption': tables must say whether groups are before or after transfers."
        )
    check_aligned(rank=rank, selected=selected, weights=weights, benefits=benefits,
                  welfare=welfare, size=size)
    r = column_or_array(rank, name="rank")
    m = r.shape[0]
    v = resolve_weights(weights, m, size, unit)
    b = None
    if benefits is not None:
        b = column_or_array(benefits, name="benefits", n=m, nonnegative=True)
    if selected is None:
        if b is None:
            raise DataError("pass `selected` (recipients) or `benefits` (recipients = b > 0).")
        s = (b > 0).astype(float)
    else:
        s = column_or_array(selected, name="selected", n=m, binary=True)
    y = None
    if b is not None:
        y = r if welfare is None else column_or_array(welfare, name="welfare", n=m)
        bad = (s > 0) & (y <= 0)
        if bad.any() and welfare is None:
            y = None  # adequacy was not asked for: leave it out rather than refuse the table
        elif bad.any():
            raise DataError(
                f"adequacy needs positive welfare for recipients; `welfare` <= 0 at "
                f"{example_rows(np.flatnonzero(bad))}. Pass a positive welfare measure."
            )
    n = n_groups
    groups = quantile_groups(r, v, n)
    contrib = table_contributions(s, v, b, y)
    t = np.stack([np.bincount(groups - 1, weights=c, minlength=n) for c in contrib.T], axis=-1)
    cells = table_from_totals(t, benefits=b is not None, welfare=y is not None)
    total = table_from_totals(t.sum(axis=0, keepdims=True), benefits=b is not None,
                              welfare=y is not None)
    word = _GROUP_WORD.get(int(n), f"{int(n)}-quantile group")
    name = getattr(rank, "name", None) or "rank"
    index = pd.Index([*range(1, n + 1), "Total"], name=f"{word} of {name} ({ranked_by})")
    counts = np.bincount(groups - 1, minlength=n)
    out = pd.DataFrame({"n_households": np.r_[counts, m]}, index=index)
    for col in TABLE_COLUMNS:
        if col in cells:
            out[col] = np.r_[cells[col], total[col]]
    out.attrs["ranked_by"] = ranked_by
    out.attrs["n_groups"] = int(n)
    return out
