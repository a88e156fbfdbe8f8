"""Fairness of a targeting rule: errors by group against the whole population.

For each level g of each grouping variable the table gives the group's exclusion and
inclusion errors (DESIGN.md section 4, computed within the group), the same error for the
whole population, their **parity ratio** (group / total) and **difference** (group - total),
each with a percentile confidence interval from one PSU-clustered, strata-aware bootstrap
(:func:`pmt.evaluate.bootstrap_metrics`: the group and the total are computed on the same
replicates, so the difference is paired). A group is flagged ``worse`` (or ``better``) when
its error differs from the total's with an adjusted p-value below ``1 - level``.

The p-value of a difference is the two-sided bootstrap percentile p-value,
``2 * min(share of replicates <= 0, share >= 0)`` (capped at 1): the smallest
``1 - level`` at which the equal-tailed percentile interval of the difference would just
exclude zero, so with ``adjust="none"`` the flag agrees with the interval shown. Many
groups are tested at once; ``adjust="holm"`` (the default) controls the family-wise error
over all rows of the table (Holm 1979).

Judge a rule out of sample: pass the selection made from cross-fitted scores
(:func:`pmt.evaluate.cross_fit`), as the report does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from pmt._validation import check_option, column_or_array
from pmt.errors import DataError
from pmt.evaluate.bootstrap import bootstrap_metrics
from pmt.evaluate.subgroups import subgroup_metrics
from pmt.survey import Survey

__all__ = ["parity_table", "PARITY_METRICS"]

#: Errors compared across groups by default (lower is better for both).
PARITY_METRICS = ("exclusion_error", "inclusion_error")
_HIGHER_IS_WORSE = {"exclusion_error": True, "inclusion_error": True, "coverage_poor": False,
                    "coverage": False, "coverage_nonpoor": True, "targeting_differential": False,
                    "cgh": False}


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN left out of the family)."""
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if not len(ok):
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def _interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of the finite replicates (NaN when none is)."""
    finite = values[np.isfinite(values)]
    if not len(finite):  # e.g. a group with nobody selected: no inclusion error
        return np.nan, np.nan
    lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _percentile_p(d: np.ndarray) -> float:
    d = d[~np.isnan(d)]
    if not len(d):
        return np.nan
    return min(1.0, 2 * min(float(np.mean(d <= 0)), float(np.mean(d >= 0))))


def parity_table(
    survey: Survey,
    poor,
    selected,
    groups,
    *,
    metrics: Sequence[str] = PARITY_METRICS,
    unit: Literal["person", "household"] = "person",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    adjust: Literal["holm", "none"] = "holm",
    min_n: int = 30,
) -> pd.DataFrame:
    """Targeting errors by group, with parity ratios against the total and flags.

    Parameters
    ----------
    survey : pmt.Survey
        Data and design (weights, sizes, strata, PSUs) of the households judged.
    poor : str or array-like of 0/1
        Poverty status (column of ``survey.data`` or one value per household).
    selected : str or array-like of 0/1
        Selection by the rule judged (out of sample: from cross-fitted scores).
    groups : str, list of str, Series or DataFrame
        Grouping variables (columns of ``survey.data`` accepted): region, urban, sex of the
        head, household type, disability...
    metrics : sequence of str
        Section-4 metrics to compare (default exclusion and inclusion errors).
    unit : {"person", "household"}
        Population shares over persons (default) or households.
    n_replicates, seed : int
        PSU bootstrap replicates and their seed.
    level : float
        Confidence level of the intervals; rows are flagged at ``1 - level``.
    adjust : {"holm", "none"}
        Multiple-testing adjustment of the p-values over all rows.
    min_n : int
        Groups with fewer sample households are marked ``too_small``.

    Returns
    -------
    pandas.DataFrame
        One row per (block, group, metric): ``estimate`` with ``lower``/``upper``, the
        ``total`` for everyone, ``ratio`` = estimate / total with ``ratio_lower``/
        ``ratio_upper``, ``difference`` = estimate - total with ``difference_lower``/
        ``difference_upper``, ``p_value`` (bootstrap percentile, two-sided), ``p_adjusted``,
        ``flag`` ("worse", "better" or ""), ``n_households`` (sample), ``population_share``,
        ``share_of_poor`` and ``too_small``. ``attrs["note"]`` states the basis.

    Raises
    ------
    pmt.errors.DataError
        For a grouping variable that is missing, has missing values or a single level.
    pmt.errors.OptionError
        For an unknown metric or ``adjust``.
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data with weights, strata and PSUs).")
    for m in metrics:
        check_option(m, tuple(_HIGHER_IS_WORSE), name="metrics")
    check_option(adjust, ("holm", "none"), name="adjust")
    if isinstance(groups, str):
        groups = [groups]
    if isinstance(groups, list | tuple):
        missing = [g for g in groups if g not in survey.data.columns]
        if missing:
            raise DataError(f"grouping column(s) {missing} not in the data; the columns are "
                            f"{', '.join(map(str, survey.data.columns[:12]))} ...")
        groups = survey.data[list(groups)]
    p = column_or_array(poor, survey, name="poor", binary=True, align=True)
    s = column_or_array(selected, survey, name="selected", binary=True, align=True)
    sizes = subgroup_metrics(p, s, groups, weights=survey.weights(unit), min_n=min_n,
                             metrics=list(metrics))
    table, reps = bootstrap_metrics(survey, p, s, groups=groups, unit=unit,
                                    n_replicates=n_replicates, seed=seed, level=level,
                                    return_replicates=True)
    model = table["model"].iloc[0]
    alpha = 1 - level
    rows = []
    for metric in metrics:
        total_rep = reps[(model, "Total", "All", metric)].to_numpy(dtype=float)
        total = table[(table["block"] == "Total") & (table["metric"] == metric)].iloc[0]
        sub = table[(table["block"] != "Total") & (table["metric"] == metric)]
        for _, r in sub.iterrows():
            rep = reps[(model, r["block"], r["group"], metric)].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio_rep = rep / total_rep
            diff_rep = rep - total_rep
            lo, hi = _interval(ratio_rep, alpha)
            dlo, dhi = _interval(diff_rep, alpha)
            size = sizes.loc[(r["block"], r["group"])]
            rows.append({
                "block": r["block"], "group": r["group"], "metric": metric,
                "estimate": r["estimate"], "lower": r["lower"], "upper": r["upper"],
                "total": total["estimate"],
                "ratio": r["estimate"] / total["estimate"] if total["estimate"] else np.nan,
                "ratio_lower": lo, "ratio_upper": hi,
                "difference": r["estimate"] - total["estimate"],
                "difference_lower": dlo, "difference_upper": dhi,
                "p_value": _percentile_p(diff_rep),
                "n_households": int(size["n_households"]),
                "population_share": float(size["population_share"]),
                "share_of_poor": float(size["share_of_poor"]),
                "too_small": bool(size["too_small"]),
            })
    out = pd.DataFrame(rows)
    p = out["p_value"].to_numpy(dtype=float)
    out["p_adjusted"] = _holm(p) if adjust == "holm" else p
    worse_if_higher = out["metric"].map(_HIGHER_IS_WORSE).to_numpy(dtype=bool)
    significant = out["p_adjusted"].to_numpy() < alpha
    higher = out["difference"].to_numpy() > 0
    out["flag"] = np.where(~significant, "",
                           np.where(higher == worse_if_higher, "worse", "better"))
    cols = ["block", "group", "metric", "estimate", "lower", "upper", "total", "ratio",
            "ratio_lower", "ratio_upper", "difference", "difference_lower",
            "difference_upper", "p_value", "p_adjusted", "flag", "n_households",
            "population_share", "share_of_poor", "too_small"]
    out = out[cols]
    out.attrs["note"] = (
        f"Errors within each group against everyone; {level:.0%} percentile intervals from "
        f"{n_replicates} PSU-bootstrap replicates (group and total on the same replicates); "
        "p-values two-sided bootstrap percentile"
        + (", Holm-adjusted over all rows" if adjust == "holm" else "")
        + f"; flagged when below {alpha:.2g}.")
    return out
