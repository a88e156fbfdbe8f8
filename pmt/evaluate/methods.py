"""Targeting methods side by side, prediction validation and inspection targeting.

:func:`compare_methods`
    Belarus 2011, Table 13: a gap-filling minimum-income benefit simulated under several
    targeting scores (verifiable-income means test, PMT, HMT, perfect targeting on true
    income), at the same threshold and at the same budget.
:func:`prediction_validation`
    Belarus 2011, Figure 7a and Table 12: correlation of predicted and actual income and the
    decile-by-decile cross-tab with its diagonal and within-one shares.
:func:`inspection_table`, :func:`inspection_rule`
    Belarus 2011, section 6 ("client profiling"): inspect the recipients whose declared
    income falls furthest below their predicted income, and count the erroneous payments
    found per 100 inspections against random inspection, for any inspection budget.

The simulation (Belarus 2011, section 5): with score s (per capita, monthly) and threshold
z, household h is eligible if ``s_h < z`` and receives ``z - s_h`` per person (the top-up is
computed from the score, not from true income); poverty after the transfer is measured on
``true income per capita + benefit``. Poor = true income per capita below the poverty
line (by default the threshold itself). Inclusion and exclusion errors follow DESIGN.md
section 4 (person-weighted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pmt._literals import GapKind
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, PolicyError, example_rows
from pmt.evaluate.metrics import targeting_metrics
from pmt.evaluate.overlap import decile_overlap, overlap_shares
from pmt.welfare import fgt

__all__ = [
    "budget_threshold",
    "compare_methods",
    "gap_benefit",
    "inspection_rule",
    "inspection_table",
    "prediction_validation",
]


def _col(data: pd.DataFrame, x, name: str) -> np.ndarray:
    """A column name of ``data`` or one value per row, as floats (NaN kept: checked later)."""
    return column_or_array(x, data, name=name, allow_nan=True)


def gap_benefit(score, threshold: float) -> np.ndarray:
    """Top-up per person: ``threshold - score`` where ``score < threshold``, else 0."""
    s = np.asarray(score, dtype=float)
    return np.where(s < threshold, threshold - s, 0.0)


def budget_threshold(score, weights, size, budget: float) -> float:
    """Threshold z at which the gap-filling benefit costs exactly ``budget``.

    cost(z) = sum over households with s < z of w_h n_h (z - s_h), a continuous, increasing,
    piecewise-linear function of z; it is inverted exactly after one sort.

    Parameters
    ----------
    score : array-like
        Per-capita score s_h (no missing values).
    weights, size : array-like
        Household weights w_h and sizes n_h.
    budget : float
        Total cost per period (same currency and period as the score), positive.
    """
    if not np.isfinite(budget) or budget <= 0:
        raise PolicyError(f"budget must be a positive amount; got {budget!r}.")
    s = column_or_array(score, name="score")
    v = check_weights(weights, s.size) * column_or_array(size, name="size", n=s.size)
    order = np.argsort(s, kind="stable")
    s, v = s[order], v[order]
    W = np.cumsum(v)
    S = np.cumsum(v * s)
    # cost just at each next score: cost(s_{k+1}) = s_{k+1} W_k - S_k
    nxt = np.append(s[1:], np.inf)
    cost_next = nxt * W - S
    k = int(np.searchsorted(cost_next, budget, side="left"))
    k = min(k, s.size - 1)
    z = (budget + S[k]) / W[k]
    # a threshold a rounding error above a household's score would pay it a benefit of
    # ~1e-10: snap to the score
    return float(s[k]) if np.isclose(z, s[k], rtol=1e-12, atol=0) else float(z)


def _simulate(y_pc, score, z, line, w, n) -> dict:
    sel = score < z
    b = gap_benefit(score, z)
    poor = y_pc < line
    v = w * n
    m = targeting_metrics(poor, sel, weights=w, size=n, benefits=b)
    after = y_pc + b
    # a top-up to the line lands on it up to rounding: count it as reaching the line
    after = np.where((after < line) & (after >= line * (1 - 1e-12)), line, after)
    return {
        "threshold": z,
        "beneficiaries": float(np.sum(v * sel)),
        "coverage": float(np.sum(v * sel) / v.sum()),
        "inclusion_error": float(m["inclusion_error"]),
        "exclusion_error": float(m["exclusion_error"]),
        "cost": float(np.sum(v * b)),
        "benefit_leakage": float(m["benefit_leakage"]),
        "fgt0_after": fgt(after, line, v, alpha=0),
        "fgt1_after": fgt(after, line, v, alpha=1),
    }


def compare_methods(
    data: pd.DataFrame,
    threshold: float,
    *,
    income: str = "income",
    verifiable: str | Sequence[str] = "inc_verifiable",
    size: str = "hh_size",
    weight: str = "weight",
    pmt=None,
    hmt=None,
    scores: Mapping[str, object] | None = None,
    budget: float | str | None = "perfect",
    poverty_line: float | None = None,
    gdp: float | None = None,
    periods_per_year: int = 12,
) -> pd.DataFrame:
    """Belarus Table 13: targeting methods at the same threshold and at the same budget.

    Parameters
    ----------
    data : pandas.DataFrame
        Survey households with true income, verifiable income, size and weight.
    threshold : float
        Eligibility threshold per capita per period (the report's MSB), same units as
        income per capita.
    income : str
        True total household income (the "actual" welfare; per capita = income / size).
    verifiable : str or list of str
        Verifiable household income column(s), summed: the VMT score is verifiable / size.
    size, weight : str
        Household size and household weight columns (person weight = weight x size).
    pmt : fitted model, optional
        A PMT model with ``predict(data, scale="level")`` giving per-capita welfare in
        levels (e.g. ``pmt.ols("log_pcc ~ ...")``; its retransformation is used).
    hmt : HybridMeansTest, optional
        A fitted hybrid means test; its score is ``hmt.predict(data)``.
    scores : dict, optional
        More methods: name -> per-capita score (column name or values).
    budget : float, "perfect" or None
        Budget for the same-budget comparison: an amount, "perfect" (default: the cost of
        perfect targeting at ``threshold``, i.e. the total poverty gap), or None to skip.
    poverty_line : float, optional
        Line defining the truly poor and post-transfer poverty (default ``threshold``).
    gdp : float, optional
        Annual GDP in the same currency: adds ``cost_pct_gdp`` = 100 x cost x
        ``periods_per_year`` / gdp (the report's "% of GDP"; monthly data: 12 periods).

    Returns
    -------
    pandas.DataFrame
        Index (comparison, method) with comparison "same threshold" / "same budget" and
        methods "No programme", "VMT", "PMT", "HMT", "Perfect" and any extra ``scores``.
        Columns: threshold, beneficiaries (people), coverage (share of population),
        inclusion_error, exclusion_error, cost (total per period), benefit_leakage,
        fgt0_after, fgt1_after (poverty headcount and gap after the transfer).
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise PolicyError(f"threshold must be a positive amount per capita; got {threshold!r}.")
    line = float(threshold if poverty_line is None else poverty_line)
    n = _col(data, size, "size")
    w = check_weights(weight, data=data, name="weight")
    y = _col(data, income, "income")
    if np.any(~(n >= 1)):
        raise DataError(f"household size must be >= 1; bad at {example_rows(data.index[~(n >= 1)])}.")
    y_pc = y / n
    ver_cols = [verifiable] if isinstance(verifiable, str) else list(verifiable)
    ver = np.zeros(len(data))
    for c in ver_cols:
        ver = ver + _col(data, c, "verifiable income")
    methods: dict[str, np.ndarray] = {"VMT": ver / n}
    if pmt is not None:
        methods["PMT"] = np.asarray(pmt.predict(data, scale="level"), dtype=float)
    if hmt is not None:
        methods["HMT"] = np.asarray(hmt.predict(data), dtype=float)
    for name, sc in (scores or {}).items():
        methods[name] = _col(data, sc, f"score '{name}'")
    methods["Perfect"] = y_pc
    for name, s in methods.items():
        bad = np.isnan(s)
        if bad.any():
            raise DataError(
                f"the {name} score is missing for {int(bad.sum())} households "
                f"({example_rows(data.index[bad])}); complete or drop them before comparing."
            )
    if np.isnan(y_pc).any():
        raise DataError("income has missing values; complete or drop those households.")
    v = w * n
    none_row = {
        "threshold": np.nan, "beneficiaries": 0.0, "coverage": 0.0, "inclusion_error": np.nan,
        "exclusion_error": 1.0, "cost": 0.0, "benefit_leakage": np.nan,
        "fgt0_after": fgt(y_pc, line, v, alpha=0),
        "fgt1_after": fgt(y_pc, line, v, alpha=1),
    }
    rows = {("same threshold", "No programme"): none_row}
    for name, s in methods.items():
        rows[("same threshold", name)] = _simulate(y_pc, s, threshold, line, w, n)
    if budget is not None:
        if isinstance(budget, str):
            if budget != "perfect":
                raise PolicyError(f"budget must be an amount, 'perfect' or None; got {budget!r}.")
            amount = rows[("same threshold", "Perfect")]["cost"]
        else:
            amount = float(budget)
        rows[("same budget", "No programme")] = none_row
        for name, s in methods.items():
            z = budget_threshold(s, w, n, amount)
            rows[("same budget", name)] = _simulate(y_pc, s, z, line, w, n)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["comparison", "method"])
    if gdp is not None:
        if not np.isfinite(gdp) or gdp <= 0:
            raise PolicyError(f"gdp must be a positive annual amount; got {gdp!r}.")
        out["cost_pct_gdp"] = 100 * out["cost"] * periods_per_year / gdp
    return out


def prediction_validation(
    actual,
    predicted,
    weights=None,
    *,
    size=None,
    n: int = 10,
) -> tuple[pd.Series, pd.DataFrame]:
    """Correlation and decile cross-tab of predicted vs actual income (Belarus Table 12).

    Parameters
    ----------
    actual, predicted : array-like
        Actual and predicted per-capita income (levels).
    weights : array-like, optional
        Household weights with ``size`` (person weights = w x n), or person weights.
    n : int
        Number of quantile groups (10: deciles).

    Returns
    -------
    summary : pandas.Series
        ``correlation`` (weighted Pearson, levels), ``correlation_log`` (of logs, over
        positive values; Belarus plots logs: r = 0.90), ``diagonal`` and ``within_one``
        (Belarus: 52.3 % and 90.4 %), ``n_used``.
    table : pandas.DataFrame
        The n x n overlap table (population shares; rows actual, columns predicted).
    """
    a = column_or_array(actual, name="actual")
    p = column_or_array(predicted, name="predicted", n=a.size)
    w = check_weights(weights, a.size)
    if size is not None:
        w = w * column_or_array(size, name="size", n=a.size)

    def wcorr(x, y, ww):
        mx, my = np.average(x, weights=ww), np.average(y, weights=ww)
        cov = np.average((x - mx) * (y - my), weights=ww)
        return float(cov / np.sqrt(np.average((x - mx) ** 2, weights=ww) * np.average((y - my) ** 2, weights=ww)))

    pos = (a > 0) & (p > 0)
    table = decile_overlap(a, p, weights=w, n=n)
    shares = overlap_shares(table)
    summary = pd.Series(
        {
            "correlation": wcorr(a, p, w),
            "correlation_log": wcorr(np.log(a[pos]), np.log(p[pos]), w[pos]) if pos.sum() > 2 else np.nan,
            "diagonal": float(shares["diagonal"]),
            "within_one": float(shares["within_one"]),
            "n_used": int(a.size),
        },
        name="validation",
    )
    return summary, table


def inspection_table(
    declared,
    predicted,
    erroneous,
    budgets: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0),
    weights=None,
    gap: str = "difference",
) -> pd.DataFrame:
    """Erroneous payments found per 100 inspections: flagged vs random inspection.

    Recipients are ranked by how far predicted income exceeds declared income
    (``gap="difference"``: predicted - declared; ``"ratio"``: predicted / declared) and
    the top share ``budget`` of them (by household weight; whole households) is inspected.
    Random inspection of the same number finds, in expectation, the overall error rate.

    Parameters
    ----------
    declared, predicted : array-like
        Declared and predicted (e.g. HMT) income of the recipients, same units.
    erroneous : array-like of 0/1 or bool
        1 if the payment is erroneous (e.g. true income above the threshold).
    budgets : sequence of float
        Shares of recipients inspected, in (0, 1].
    weights : array-like, optional
        Household weights (inspections count households).

    Returns
    -------
    pandas.DataFrame
        One row per budget: ``inspected`` (weighted count), ``share_inspected``,
        ``found_flagged`` and ``found_random`` (erroneous payments found per 100
        inspections; Belarus: about 71 vs 26), ``share_of_errors_found_flagged`` and
        ``..._random`` (recall), and ``lift`` (flagged / random).
    """
    d = column_or_array(declared, name="declared")
    p = column_or_array(predicted, name="predicted", n=d.size)
    e = column_or_array(erroneous, name="erroneous", n=d.size, binary=True)
    w = check_weights(weights, d.size)
    if check_option(gap, GapKind, name="gap") == "difference":
        g = p - d
    else:
        g = p / np.maximum(d, np.finfo(float).tiny)
    order = np.argsort(-g, kind="stable")
    wc = np.cumsum(w[order])
    ec = np.cumsum((w * e)[order])
    total_w, total_e = wc[-1], ec[-1]
    rate = total_e / total_w
    rows = []
    for b in budgets:
        if not 0 < b <= 1:
            raise PolicyError(f"inspection budget shares must lie in (0, 1]; got {b}.")
        k = int(np.searchsorted(wc, b * total_w * (1 - 1e-12), side="left"))
        insp, found = wc[k], ec[k]
        rows.append(
            {
                "budget": b,
                "inspected": insp,
                "share_inspected": insp / total_w,
                "found_flagged": 100 * found / insp,
                "found_random": 100 * rate,
                "share_of_errors_found_flagged": found / total_e if total_e > 0 else np.nan,
                "share_of_errors_found_random": insp / total_w,
                "lift": (found / insp) / rate if rate > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("budget")


def inspection_rule(erroneous, flagged, weights=None) -> tuple[pd.Series, pd.DataFrame]:
    """Hit rates of a fixed flagging rule against random inspection (Belarus Table 15).

    Belarus 2011 flags recipients whose HMT-predicted income is *not* in the predicted
    poorest quintile; ``flagged`` is any such 0/1 rule and ``erroneous`` marks payments
    that a full recertification would stop (e.g. true income not in the poorest quintile).

    Returns
    -------
    summary : pandas.Series
        ``share_flagged``, ``found_flagged`` (erroneous per 100 flagged inspections;
        Belarus: 71), ``found_random`` (per 100 random inspections: the error rate;
        Belarus: 26), ``share_of_errors_found`` and ``lift``.
    table : pandas.DataFrame
        2 x 2 shares of recipients: rows erroneous (False/True), columns flagged
        (False/True), with totals.
    """
    e = column_or_array(erroneous, name="erroneous", binary=True).astype(bool)
    f = column_or_array(flagged, name="flagged", n=e.size, binary=True).astype(bool)
    w = check_weights(weights, e.size)
    total = w.sum()
    wf, we, wfe = w[f].sum(), w[e].sum(), w[f & e].sum()
    rate = we / total
    summary = pd.Series(
        {
            "share_flagged": wf / total,
            "found_flagged": 100 * wfe / wf if wf > 0 else np.nan,
            "found_random": 100 * rate,
            "share_of_errors_found": wfe / we if we > 0 else np.nan,
            "lift": (wfe / wf) / rate if wf > 0 and rate > 0 else np.nan,
        },
        name="inspection_rule",
    )
    cells = np.array([[w[~e & ~f].sum(), w[~e & f].sum()], [w[e & ~f].sum(), w[e & f].sum()]]) / total
    table = pd.DataFrame(
        cells,
        index=pd.Index([False, True], name="erroneous"),
        columns=pd.Index([False, True], name="flagged"),
    )
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return summary, table
