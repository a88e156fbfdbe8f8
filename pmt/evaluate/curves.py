"""Error trade-off curves: every targeting metric at every possible cut-off, from one sort.

Selecting the households whose score is at or below a cut-off c, the totals behind every
metric of DESIGN.md section 4 are cumulative sums over the households sorted by score.
Households with equal scores are collapsed into one step (a cut-off cannot separate them),
so the curve has one row per distinct score plus a first row where nobody is selected.
The ROC curve for classifying the poor is (coverage_nonpoor, coverage_poor) along the
same path; its area is computed by the trapezoidal rule, which matches
``sklearn.metrics.roc_auc_score(poor, -score, sample_weight=v)`` (ties give the same
diagonal segments).

This module holds pmt's one ROC AUC: :func:`roc_auc` (and ``attrs["auc"]`` of
:func:`error_curve`, and the ``auc`` rows of :func:`pmt.evaluate.cross_validate` and
:func:`pmt.evaluate.compare`) all come from :func:`_roc_auc_arrays`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._validation import column_or_array
from pmt.errors import DataError
from pmt.evaluate.metrics import (
    METRICS,
    Unit,
    check_aligned,
    metrics_from_totals,
    resolve_weights,
)


def _curve_arrays(p: np.ndarray, x: np.ndarray, v: np.ndarray):
    order = np.argsort(x, kind="stable")
    xs = x[order]
    vp = v[order] * p[order]
    vn = v[order] - vp
    last = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True])  # last row of each tie group
    cum_p = np.r_[0.0, np.cumsum(vp)[last]]
    cum_n = np.r_[0.0, np.cumsum(vn)[last]]
    counts = np.r_[0, last + 1]
    tp, tn = vp.sum(), vn.sum()
    k = cum_p.shape[0]
    t = np.column_stack([np.full(k, tp), np.full(k, tn), cum_p, cum_n, np.zeros(k), np.zeros(k)])
    cut = np.r_[-np.inf, xs[last]]
    return cut, t, counts


def error_curve(
    poor,
    score,
    weights=None,
    *,
    size=None,
    unit: Unit = "person",
    higher_is_poorer: bool = False,
) -> pd.DataFrame:
    """Targeting metrics at every cut-off of a score (select score <= cut-off).

    Parameters
    ----------
    poor : array-like of 0/1 or bool
        True poverty status.
    score : array-like
        Predicted welfare (lower = poorer); with ``higher_is_poorer=True`` a need score such
        as P(poor), in which case households with score >= cut-off are selected.
    weights, size, unit
        As in :func:`targeting_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per distinct score plus a first row (cut-off -inf, or +inf when
        ``higher_is_poorer``) where nobody is selected. Columns: ``cutoff``,
        ``n_selected`` (households), the section-4 metrics (``inclusion_error`` and ``cgh``
        are NaN on the first row). ``attrs["auc"]`` holds the weighted ROC AUC for
        classifying the poor (the probability that a random poor person has a lower score
        than a random non-poor one, ties counting one half).
    """
    check_aligned(poor=poor, score=score, weights=weights, size=size)
    p = column_or_array(poor, name="poor", binary=True)
    x = column_or_array(score, name="score", n=p.shape[0])
    v = resolve_weights(weights, p.shape[0], size, unit)
    sign = -1.0 if higher_is_poorer else 1.0
    cut, t, counts = _curve_arrays(p, sign * x, v)
    m = metrics_from_totals(t)
    out = pd.DataFrame({"cutoff": sign * cut, "n_selected": counts})
    for name in METRICS:
        out[name] = m[name]
    out.attrs["auc"] = _area(t)
    out.attrs["higher_is_poorer"] = higher_is_poorer
    return out


def _area(t: np.ndarray) -> float:
    """Area under the ROC curve from the cumulative totals of :func:`_curve_arrays`.

    The curve runs through (cum_nonpoor / total_nonpoor, cum_poor / total_poor), one point
    per tie group plus the origin; the area is the trapezoidal sum over those points, so a
    tie group mixing poor and non-poor households contributes a diagonal segment (its pairs
    count one half). NaN when nobody (by weight) is poor or nobody is non-poor.
    """
    tp, tn = t[0, 0], t[0, 1]
    if not (tp > 0 and tn > 0):
        return float("nan")  # nobody poor or nobody non-poor: AUC undefined
    return _trapezoid_area(t[:, 2] / tp, t[:, 3] / tn)


def _trapezoid_area(tpr: np.ndarray, fpr: np.ndarray) -> float:
    """Trapezoidal area under (fpr, tpr); NaN when a rate is undefined."""
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float("nan")
    return float(np.trapezoid(tpr, fpr))


def _roc_auc_arrays(p: np.ndarray, x: np.ndarray, v: np.ndarray) -> float:
    """Weighted ROC AUC of classifying the poor by a low score, on validated arrays.

    Parameters
    ----------
    p : numpy.ndarray
        1 (or True) for the poor, 0 otherwise.
    x : numpy.ndarray
        Score, lower = poorer (negate a need score first).
    v : numpy.ndarray
        Non-negative weights.

    Returns
    -------
    float
        The probability that a random poor unit (drawn with weights ``v``) has a lower score
        than a random non-poor one, ties counting one half; NaN without poor or non-poor.
    """
    p = np.asarray(p, dtype=float)
    x = np.asarray(x, dtype=float)
    v = np.asarray(v, dtype=float)
    return _area(_curve_arrays(p, x, v)[1])


def auc_from_curve(curve: pd.DataFrame) -> float:
    """Area under the ROC curve of an :func:`error_curve` (its ``attrs["auc"]``).

    Parameters
    ----------
    curve : pandas.DataFrame
        The DataFrame returned by :func:`error_curve` (or any frame with columns
        ``coverage_nonpoor`` and ``coverage_poor`` along increasing cut-offs, first row
        nobody selected).

    Returns
    -------
    float
        The trapezoidal area under (coverage_nonpoor, coverage_poor); NaN when either
        column is undefined (nobody poor or nobody non-poor).
    """
    return _trapezoid_area(curve["coverage_poor"].to_numpy(dtype=float),
                           curve["coverage_nonpoor"].to_numpy(dtype=float))


def roc_auc(poor, score, weights=None, *, size=None, unit: Unit = "person",
            higher_is_poorer: bool = False) -> float:
    """Weighted ROC AUC of a score for classifying the poor.

    Parameters
    ----------
    poor : array-like of 0/1 or bool
        True poverty status.
    score : array-like
        Predicted welfare (lower = poorer); with ``higher_is_poorer=True`` a need score such
        as P(poor).
    weights, size, unit
        As in :func:`pmt.evaluate.targeting_metrics` (person weights ``w x n`` by default).

    Returns
    -------
    float
        The probability that a randomly drawn poor person has a lower score (a higher one
        with ``higher_is_poorer``) than a randomly drawn non-poor person, persons drawn with
        their weights and ties counting one half; the area under the weighted ROC curve
        (coverage_nonpoor, coverage_poor) by the trapezoidal rule. Equal (to rounding) to
        ``sklearn.metrics.roc_auc_score(poor, -score, sample_weight=v)``. NaN when nobody
        is poor or nobody is non-poor.

    Notes
    -----
    One sort, O(n log n). Households with equal scores form one step of the curve, so the
    result does not depend on their order.
    """
    check_aligned(poor=poor, score=score, weights=weights, size=size)
    p = column_or_array(poor, name="poor", binary=True)
    x = column_or_array(score, name="score", n=p.shape[0])
    v = resolve_weights(weights, p.shape[0], size, unit)
    return _roc_auc_arrays(p, -x if higher_is_poorer else x, v)


@renamed_arguments(positional=("share", "error_weights", "maximize"), coverage="share")
def best_cutoff(
    curve: pd.DataFrame,
    *,
    share: float | None = None,
    error_weights: Sequence[float] | None = None,
    maximize: str | None = None,
) -> pd.Series:
    """Pick one row of an :func:`error_curve`.

    Exactly one criterion:

    * ``share``: the cut-off with the largest coverage not above this target share of
      the population (a budget that must not be exceeded); the first row (nobody) if even
      the first tie group is larger. Was ``coverage`` (deprecated: still accepted, with a
      FutureWarning);
    * ``error_weights=(a, b)``: minimise a x exclusion_error + b x inclusion_error over the
      cut-offs where both are defined (a = b weighs the two errors equally);
    * ``maximize``: a column to maximise, e.g. ``"targeting_differential"``.

    Ties between rows are broken by the lowest cut-off (least coverage). The criteria are
    keyword-only (by position: deprecated, still accepted with a FutureWarning).

    Parameters
    ----------
    curve : pandas.DataFrame
        The table returned by :func:`error_curve`.
    share : float, optional
        Target population share to select, in [0, 1].
    error_weights : (float, float), optional
        Weights on the exclusion and the inclusion error.
    maximize : str, optional
        A column of ``curve`` to maximise.

    Returns
    -------
    pandas.Series
        The chosen row (``cutoff``, ``n_selected`` and the metrics).
    """
    if not isinstance(curve, pd.DataFrame) or "coverage" not in curve.columns:
        raise DataError("`curve` must be the DataFrame returned by error_curve().")
    given = sum(c is not None for c in (share, error_weights, maximize))
    if given != 1:
        raise DataError("pass exactly one of `share`, `error_weights` and `maximize`.")
    if share is not None:
        if not 0 <= share <= 1:
            raise DataError(f"`share` must be a share in [0, 1]; got {share!r}.")
        ok = np.flatnonzero(curve["coverage"].to_numpy() <= share * (1 + 1e-12))
        return curve.iloc[ok[-1]]
    if error_weights is not None:
        if len(error_weights) != 2 or min(error_weights) < 0:
            raise DataError(
                "`error_weights` must be two non-negative numbers: (weight on exclusion error, "
                f"weight on inclusion error); got {error_weights!r}."
            )
        a, b = error_weights
        loss = a * curve["exclusion_error"].to_numpy() + b * curve["inclusion_error"].to_numpy()
        if np.isnan(loss).all():
            raise DataError("no cut-off has both errors defined (nobody poor?).")
        return curve.iloc[int(np.nanargmin(loss))]
    if maximize not in curve.columns:
        raise DataError(
            f"`maximize` must be a column of the curve ({', '.join(curve.columns)}); "
            f"got {maximize!r}."
        )
    values = curve[maximize].to_numpy(dtype=float)
    if np.isnan(values).all():
        raise DataError(f"`{maximize}` is undefined at every cut-off.")
    return curve.iloc[int(np.nanargmax(values))]
