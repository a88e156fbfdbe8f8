"""Poverty impact of a transfer: FGT and Watts before and after, with design-based
standard errors of the levels and of the paired change, and incidence tables.

Levels use :func:`pmt.welfare.poverty_measures` (linearised, PSU-clustered and
stratified through :meth:`pmt.Survey.total_variance`). The change between two welfare
vectors observed on the same households is linearised as one ratio estimator,

    D = sum_h w_h n_h (g1_h - g0_h) / sum_h w_h n_h,
    var(D) = V( n_h (g1_h - g0_h - D) ) / (sum w n)^2,

with g the household's FGT or Watts contribution. Because both measures are computed on
the same sample, the PSU totals of g0 and g1 move together and the covariance cancels:
the paired standard error is smaller than the naive sqrt(se0^2 + se1^2) whenever the
reform's measure is positively correlated with the baseline one (the Kyrgyz 2011 report's
"no significant impact" rests on the naive comparison). The per-household contributions
are :func:`pmt.welfare.fgt_terms` and :func:`pmt.welfare.watts_terms`, so the definitions
are shared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from pmt.survey import Survey, quantile_groups
from pmt.welfare import fgt_terms, poverty_measures, watts_terms

MEASURES = ("FGT0", "FGT1", "FGT2", "Watts")


def _terms(y: np.ndarray, z: np.ndarray, labels: pd.Index, measure: str) -> np.ndarray:
    if measure == "Watts":
        return watts_terms(y, z, labels)
    return fgt_terms(y, z, float(measure[3:]))


def paired_change(
    survey: Survey,
    before: np.ndarray,
    after: np.ndarray,
    line,
    measures=MEASURES,
) -> pd.DataFrame:
    """Change in poverty measures between two welfare vectors on the same households.

    Parameters
    ----------
    survey : pmt.Survey
    before, after : array-like
        Welfare per member of each household without and with the reform (same units
        as the line).
    line : float or array-like
        Poverty line (scalar or one per household).
    measures : sequence of {"FGT0", "FGT1", "FGT2", "Watts"}

    Returns
    -------
    pandas.DataFrame
        Index ``measure``; columns ``before``, ``se_before``, ``after``, ``se_after``,
        ``change`` (after - before), ``se_change`` (paired, linearised on the design),
        ``se_naive`` (sqrt(se_before^2 + se_after^2), for comparison), ``t_change``,
        ``p_change`` (two-sided normal p-value of the paired change),
        ``relative_change`` ((after - before) / before).
    """
    y0 = np.asarray(before, dtype=float)
    y1 = np.asarray(after, dtype=float)
    z = np.broadcast_to(np.asarray(line, dtype=float), y0.shape)
    include_watts = "Watts" in measures
    alphas = [float(m[3:]) for m in measures if m != "Watts"]
    lev0 = poverty_measures(survey, y0, z, alphas=alphas, include_watts=include_watts)
    lev1 = poverty_measures(survey, y1, z, alphas=alphas, include_watts=include_watts)
    w, n = survey.household_weight, survey.household_size
    denom = float(np.sum(w * n))
    labels = survey.data.index
    rows = []
    for m in measures:
        g0, g1 = _terms(y0, z, labels, m), _terms(y1, z, labels, m)
        d = float(np.sum(w * n * (g1 - g0)) / denom)
        se_d = float(np.sqrt(survey.total_variance(n * (g1 - g0 - d))) / denom)
        b, sb = float(lev0.loc[m, "estimate"]), float(lev0.loc[m, "se"])
        a, sa = float(lev1.loc[m, "estimate"]), float(lev1.loc[m, "se"])
        rows.append(
            {
                "measure": m,
                "before": b,
                "se_before": sb,
                "after": a,
                "se_after": sa,
                "change": a - b,
                "se_change": se_d,
                "se_naive": float(np.hypot(sb, sa)),
                "t_change": (a - b) / se_d if se_d > 0 else np.nan,
                "p_change": float(2 * norm.sf(abs(a - b) / se_d)) if se_d > 0 else np.nan,
                "relative_change": (a - b) / b if b > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("measure")


def display_table(poverty: pd.DataFrame, scale: float = 100.0, digits: int = 1) -> pd.DataFrame:
    """Kyrgyz 2011 Table 11 layout: "estimate (se)" strings, in percent by default.

    Columns ``before``, ``after`` and ``change`` (with the paired s.e.), plus stars for
    the change's significance (*** 1 %, ** 5 %, * 10 %).
    """

    def cell(est, se):
        return f"{scale * est:.{digits}f} ({scale * se:.{digits}f})"

    rows = {}
    for m, r in poverty.iterrows():
        p = r.get("p_change", np.nan)
        stars = "" if not np.isfinite(p) else "***" if p < 0.01 else "**" if p < 0.05 else (
            "*" if p < 0.1 else ""
        )
        rows[m] = {
            "before": cell(r["before"], r["se_before"]),
            "after": cell(r["after"], r["se_after"]),
            "change": cell(r["change"], r["se_change"]) + stars,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "measure"
    return out


def money_gap(y: np.ndarray, z, person_weight: np.ndarray) -> float:
    """Aggregate poverty gap in money: sum_h w_h n_h max(z - y_h, 0) (per period of y)."""
    zz = np.broadcast_to(np.asarray(z, dtype=float), np.shape(y))
    return float(np.sum(person_weight * np.maximum(zz - np.asarray(y, dtype=float), 0.0)))


def incidence_table(
    rank: np.ndarray,
    person_weight: np.ndarray,
    household_weight: np.ndarray,
    recipient: np.ndarray,
    amount: np.ndarray,
    n_groups: int = 5,
    eligible: np.ndarray | None = None,
    consumption: np.ndarray | None = None,
    ranked_by: str = "pre-transfer welfare per member",
) -> pd.DataFrame:
    """Coverage and distribution of beneficiaries and benefits by quantile group.

    The core table is :func:`pmt.evaluate.group_table` (person-weighted quantile groups of
    ``rank``, group 1 poorest, households never split; population share, coverage,
    distribution of beneficiaries and of benefits, adequacy as ratio of totals and mean
    of ratios), with recipients = households with a positive recipient probability and
    benefits per person = amount / household size. Columns added for simulations:

    * ``eligible_coverage`` = sum_g v e / sum_g v (before take-up), when ``eligible``;
    * ``expected_coverage`` = sum_g v r / sum_g v with r the take-up probability (equals
      ``coverage`` under full or random take-up);
    * ``benefit_per_capita`` = sum_g w_h B_h / sum_g v (amount per person per period over
      everyone in the group, Kazakhstan 2017 Table 8).

    Parameters
    ----------
    rank : ranking variable (e.g. pre-transfer welfare per member).
    person_weight, household_weight : v = w_h n_h and w_h.
    recipient : take-up probability of each household's entitlement (0 if not entitled).
    amount : household benefit paid B_h per period of welfare.
    consumption : welfare per member after the transfer, for adequacy (default ``rank``).
    ranked_by : description of the ranking printed in the table's index name.
    """
    from pmt.evaluate import group_table

    v = np.asarray(person_weight, dtype=float)
    w = np.asarray(household_weight, dtype=float)
    size = v / w
    r = np.asarray(recipient, dtype=float)
    b = np.asarray(amount, dtype=float)
    out = group_table(
        np.asarray(rank, dtype=float),
        (r > 0).astype(int),
        weights=v,
        benefits=b / size,
        welfare=None if consumption is None else np.asarray(consumption, dtype=float),
        n_groups=n_groups,
        ranked_by=ranked_by,
    )
    groups = quantile_groups(np.asarray(rank, dtype=float), v, n_groups)

    def by_group(x):
        g = np.bincount(groups - 1, weights=x, minlength=n_groups)
        return np.r_[g, g.sum()]

    pop = by_group(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        if eligible is not None:
            out.insert(2, "eligible_coverage", by_group(v * np.asarray(eligible, float)) / pop)
        out["expected_coverage"] = by_group(v * r) / pop
        out["benefit_per_capita"] = by_group(w * b) / pop
    return out
