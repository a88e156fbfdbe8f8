"""Who is poor and who is selected: absolute and relative lines, "line" and "rate" rules.

DESIGN.md section 4:

* **poor** with an absolute line z: y < z; with a relative line "the poorest share q":
  y <= weighted quantile of y at q, so the poor are exactly the bottom quantile groups;
* **"line" vs "rate"** (Brown, Ravallion and van de Walle 2018): predicted poor are those
  whose predicted welfare is below the line ("line"), or the poorest share of predicted
  welfare equal to a target coverage, usually the true poverty rate ("rate").

Ties in the "rate" rule are resolved deterministically by whole tie groups: households with
equal scores are always all selected or all left out (the same rule as quantile groups, so
no household is split and the result does not depend on row order). With
``ties="include"`` (default) the tie group that straddles the target is selected, so the
achieved coverage is the smallest attainable coverage >= target; with ``ties="exclude"``
it is left out, giving the largest attainable coverage <= target.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._literals import ClassifyMethod, Ties
from pmt._validation import check_option, column_or_array
from pmt.errors import DataError
from pmt.evaluate.metrics import check_aligned, resolve_weights
from pmt.survey import weighted_quantile

_SHARE_RTOL = 1e-12


def _wrap(values: np.ndarray, like, name: str) -> pd.Series:
    index = like.index if isinstance(like, pd.Series) else pd.RangeIndex(values.shape[0])
    return pd.Series(values, index=index, name=name)


def _check_share(share, name: str) -> float:
    try:
        q = float(share)
    except (TypeError, ValueError):
        raise DataError(f"`{name}` must be a number in (0, 1); got {share!r}.") from None
    if not 0 < q < 1:
        raise DataError(
            f"`{name}` must be a share strictly between 0 and 1 (e.g. 0.2 for the poorest "
            f"20 %); got {share!r}."
        )
    return q


@renamed_arguments(positional=("line", "share", "weights"))
def classify_poor(welfare, *, line=None, share=None, weights=None, size=None) -> pd.Series:
    """Poverty status from an absolute line or a relative one (poorest share).

    Parameters
    ----------
    welfare : array-like or pandas.Series
        Welfare per person (e.g. per-capita consumption), in the same units as ``line``.
    line : float, optional
        Absolute poverty line z: poor if welfare < z.
    share : float, optional
        Relative line: poor if welfare <= the weighted quantile of welfare at ``share``
        (e.g. 0.2 for the poorest 20 %). Exactly one of ``line`` and ``share``.
    weights : array-like, optional
        Person weights (or household weights with ``size``) for the quantile.
    size : array-like, optional
        Household size; with it the quantile is person-weighted by weights x size.

    All arguments after ``welfare`` are keyword-only; passing them by position still works
    for one release, with a FutureWarning.

    Returns
    -------
    pandas.Series of bool named "poor", on the index of ``welfare`` when it is a Series.
    """
    check_aligned(welfare=welfare, weights=weights, size=size)
    y = column_or_array(welfare, name="welfare")
    if (line is None) == (share is None):
        raise DataError(
            "pass exactly one of `line` (absolute poverty line, poor if welfare < line) and "
            "`share` (relative line, e.g. share=0.2 for the poorest 20 %)."
        )
    if line is not None:
        z = float(line)
        if not np.isfinite(z):
            raise DataError(f"`line` must be a finite number; got {line!r}.")
        return _wrap(y < z, welfare, "poor")
    q = _check_share(share, "share")
    v = resolve_weights(weights, y.shape[0], size)
    return _wrap(y <= weighted_quantile(y, v, q), welfare, "poor")


def rate_cutoff(
    score: np.ndarray, v: np.ndarray, coverage: float, ties: str = "include"
) -> float:
    """Score cut-off c such that selecting score <= c gives the target coverage.

    ``ties="include"``: c is the weighted quantile of the score at ``coverage`` (coverage
    achieved >= target). ``ties="exclude"``: c is the largest score whose cumulative weight
    share is <= target (coverage achieved <= target; -inf if even the first tie group
    exceeds it).
    """
    if check_option(ties, Ties, name="ties") == "include":
        return weighted_quantile(score, v, coverage)
    order = np.argsort(score, kind="stable")
    xs = score[order]
    cum = np.cumsum(v[order])
    last = np.r_[xs[1:] != xs[:-1], True]  # last member of each tie group
    ok = last & (cum <= coverage * cum[-1] * (1 + _SHARE_RTOL))
    if not ok.any():
        return -np.inf
    return float(xs[np.flatnonzero(ok)[-1]])


@renamed_arguments(positional=("line", "share", "weights", "rule"), coverage="share",
                   method="rule")
def select_by(
    score,
    *,
    line=None,
    share=None,
    weights=None,
    rule: Literal["line", "rate"] = "line",
    size=None,
    higher_is_poorer: bool = False,
    ties: Literal["include", "exclude"] = "include",
) -> pd.Series:
    """Select households by a predicted-welfare score.

    Parameters
    ----------
    score : array-like or pandas.Series
        Predicted welfare (lower = poorer), or with ``higher_is_poorer=True`` a score that
        rises with need, such as a probit's P(poor).
    line : float, optional
        ``rule="line"``: select score < line (score > line if ``higher_is_poorer``). Must
        be on the scale of the score (e.g. log of the poverty line for a log model).
    share : float, optional
        ``rule="rate"``: target share of the (person-weighted) population to select,
        usually the true poverty rate; the poorest scores are selected. Was ``coverage``
        (deprecated: still accepted, with a FutureWarning).
    weights, size : array-like, optional
        As in :func:`targeting_metrics`: person weights, or household weights plus size.
    rule : {"line", "rate"}
        Brown, Ravallion and van de Walle (2018) rules, the ``rule`` of
        :func:`cross_validate` and :func:`bootstrap_targeting`. Was ``method``
        (deprecated: still accepted, with a FutureWarning).

    All arguments after ``score`` are keyword-only; passing them by position still works
    for one release, with a FutureWarning.
    higher_is_poorer : bool
        Score orientation.
    ties : {"include", "exclude"}
        ``"rate"`` only: whether the tie group straddling the target is selected (see the
        module docstring). Tie groups are never split.

    Returns
    -------
    pandas.Series of bool named "selected".
    """
    check_aligned(score=score, weights=weights, size=size)
    x = column_or_array(score, name="score")
    if higher_is_poorer:
        x = -x
    if check_option(rule, ClassifyMethod, name="rule") == "line":
        if line is None or share is not None:
            raise DataError("rule='line' needs `line` (and no `share`).")
        z = float(line)
        if not np.isfinite(z):
            raise DataError(f"`line` must be a finite number; got {line!r}.")
        return _wrap(x < (-z if higher_is_poorer else z), score, "selected")
    if share is None or line is not None:
        raise DataError(
            "rule='rate' needs `share` (the share to select, e.g. the poverty rate) and "
            "no `line`."
        )
    q = _check_share(share, "share")
    v = resolve_weights(weights, x.shape[0], size)
    c = rate_cutoff(x, v, q, ties)
    return _wrap(x <= c, score, "selected")
