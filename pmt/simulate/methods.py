"""Targeting methods side by side: a gap-filling benefit simulated under several scores.

:func:`compare_methods`
    Belarus 2011, Table 13: a gap-filling minimum-income benefit simulated under several
    targeting scores (verifiable-income means test, PMT, HMT, perfect targeting on true
    income), at the same threshold and at the same budget.
:func:`budget_threshold`
    The threshold at which the gap-filling benefit of a score costs a budget, solved by
    :func:`pmt.simulate.solvers.solve_threshold` (pmt's one budget solver) on the policy
    "eligible if s < z, top-up z - s per person".
:func:`gap_benefit`
    The top-up per person at a threshold.

The simulation (Belarus 2011, section 5): with score s (per capita, monthly) and threshold
z, household h is eligible if ``s_h < z`` and receives ``z - s_h`` per person (the top-up is
computed from the score, not from true income); poverty after the transfer is measured on
``true income per capita + benefit``. Poor = true income per capita below the poverty
line (by default the threshold itself). Inclusion and exclusion errors follow DESIGN.md
section 4 (person-weighted).

This module was part of ``pmt.evaluate.methods``; it is a simulation, so it moved to
:mod:`pmt.simulate`. ``pmt.compare_methods`` is :func:`compare_methods`; the old paths
``pmt.evaluate.compare_methods`` and ``pmt.evaluate.methods.compare_methods`` still give
these functions, with a DeprecationWarning. The evaluation helpers that stayed in
``pmt.evaluate.methods`` (:func:`~pmt.evaluate.methods.prediction_validation`,
:func:`~pmt.evaluate.methods.inspection_table`,
:func:`~pmt.evaluate.methods.inspection_rule`) judge predictions, not programmes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pmt._validation import check_weights, column_or_array
from pmt.errors import DataError, PolicyError, example_rows
from pmt.evaluate.metrics import targeting_metrics
from pmt.simulate.benefits import TopUp
from pmt.simulate.policy import Policy
from pmt.simulate.rules import ScoreTest
from pmt.simulate.solvers import solve_threshold
from pmt.survey import Survey
from pmt.welfare import fgt

__all__ = ["budget_threshold", "compare_methods", "gap_benefit", "gap_policy"]

#: Relative distance below which a solved threshold is taken to be the score it rounds to.
_SNAP_RTOL = 1e-12


def _col(data: pd.DataFrame, x, name: str) -> np.ndarray:
    """A column name of ``data`` or one value per row, as floats (NaN kept: checked later)."""
    return column_or_array(x, data, name=name, allow_nan=True)


def gap_benefit(score, threshold: float) -> np.ndarray:
    """Top-up per person: ``threshold - score`` where ``score < threshold``, else 0.

    Parameters
    ----------
    score : array-like
        Per-capita score s_h.
    threshold : float
        Threshold z per capita (same units).

    Returns
    -------
    numpy.ndarray
        ``max(z - s_h, 0)`` per person, 0 where ``s_h >= z``.
    """
    s = np.asarray(score, dtype=float)
    return np.where(s < threshold, threshold - s, 0.0)


def gap_policy(threshold: float = 0.0, score: str = "score") -> Policy:
    """The gap-filling benefit of :func:`compare_methods` as a :class:`~pmt.simulate.Policy`.

    Eligible if ``score < threshold`` (a ``score_test``); benefit ``threshold - score`` per
    person (a ``top_up``); full take-up. The threshold is the parameter ``"threshold"``.
    Evaluate it on a survey of persons (household weight x size as the weight, size 1) with
    the per-capita score in column ``score``.

    Parameters
    ----------
    threshold : float
        Value of the ``threshold`` parameter.
    score : str
        Column holding the per-capita score.

    Returns
    -------
    pmt.simulate.Policy
    """
    return Policy(
        benefit=TopUp("threshold", income=score, per="capita"),
        eligibility=ScoreTest("threshold", score=score),
        name="gap-filling top-up",
        parameters={"threshold": float(threshold)},
    )


def budget_threshold(score, weights, size, budget: float) -> float:
    """Threshold z at which the gap-filling benefit costs exactly ``budget``.

    cost(z) = sum over households with s < z of w_h n_h (z - s_h), a continuous, increasing,
    piecewise-linear function of z. It is solved by :func:`pmt.simulate.solve_threshold`
    on :func:`gap_policy` (households with zero weight cost nothing and are left out); a
    solution within a relative 1e-12 of a household's score is taken to be that score, so
    that a rounding error never pays a household a benefit of ~1e-10.

    Parameters
    ----------
    score : array-like
        Per-capita score s_h (no missing values).
    weights, size : array-like
        Household weights w_h and sizes n_h.
    budget : float
        Total cost per period (same currency and period as the score), positive.

    Returns
    -------
    float
        The threshold z.

    Raises
    ------
    pmt.errors.PolicyError
        If ``budget`` is not a positive amount.
    """
    if not np.isfinite(budget) or budget <= 0:
        raise PolicyError(f"budget must be a positive amount; got {budget!r}.")
    s = column_or_array(score, name="score")
    v = check_weights(weights, s.size) * column_or_array(size, name="size", n=s.size)
    keep = v > 0
    persons = pd.DataFrame({"score": s[keep], "persons": v[keep]})
    survey = Survey(persons, weight="persons")
    z = solve_threshold(survey, gap_policy(), "threshold", budget=float(budget)).value
    # a threshold a rounding error away from a household's score: snap to the score
    scores = np.sort(s[keep])
    k = int(np.searchsorted(scores, z))
    for j in (k - 1, k):
        if 0 <= j < scores.size and np.isclose(z, scores[j], rtol=_SNAP_RTOL, atol=0):
            return float(scores[j])
    return float(z)


def _simulate(y_pc, score, z, line, w, n) -> dict:
    sel = score < z
    b = gap_benefit(score, z)
    v = w * n
    poor = y_pc < line
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
        Each method's threshold is solved by :func:`budget_threshold`.
    poverty_line : float, optional
        Line defining the truly poor and post-transfer poverty (default ``threshold``).
    gdp : float, optional
        Annual GDP in the same currency: adds ``cost_pct_gdp`` = 100 x cost x
        ``periods_per_year`` / gdp (the report's "% of GDP"; monthly data: 12 periods).
    periods_per_year : int
        Periods a year of the amounts (12 for monthly data), for ``cost_pct_gdp``.

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
