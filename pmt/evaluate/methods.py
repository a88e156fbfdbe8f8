"""Judging income predictions: prediction validation and inspection targeting.

:func:`prediction_validation`
    Belarus 2011, Figure 7a and Table 12: correlation of predicted and actual income and the
    decile-by-decile cross-tab with its diagonal and within-one shares.
:func:`inspection_table`, :func:`inspection_rule`
    Belarus 2011, section 6 ("client profiling"): inspect the recipients whose declared
    income falls furthest below their predicted income, and count the erroneous payments
    found per 100 inspections against random inspection, for any inspection budget.

The four-method comparison of Belarus 2011, Table 13 (:func:`compare_methods`, with
:func:`budget_threshold` and :func:`gap_benefit`) is a simulation of a programme and moved
to :mod:`pmt.simulate.methods`, where its budget is solved by
:func:`pmt.simulate.solve_threshold`. ``pmt.compare_methods`` is the moved function; the
old names ``pmt.evaluate.methods.compare_methods`` (and ``budget_threshold``,
``gap_benefit``) still give it, with a DeprecationWarning, imported only on that access
because :mod:`pmt.evaluate` sits left of :mod:`pmt.simulate` in the layering.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._literals import GapKind
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import PolicyError
from pmt.evaluate.overlap import decile_overlap, overlap_shares

__all__ = [
    "inspection_rule",
    "inspection_table",
    "prediction_validation",
]

#: Names that moved to pmt.simulate.methods, still served here with a DeprecationWarning.
MOVED_TO_SIMULATE = ("budget_threshold", "compare_methods", "gap_benefit")


def moved_to_simulate(name: str, where: str):
    """A function of :mod:`pmt.simulate.methods` asked for by its old name in ``where``.

    Parameters
    ----------
    name : str
        One of :data:`MOVED_TO_SIMULATE`.
    where : str
        The old module, for the warning (``"pmt.evaluate"``, ``"pmt.evaluate.methods"``).

    Returns
    -------
    callable
        The function, after a DeprecationWarning naming its new home.
    """
    warnings.warn(
        f"{where}.{name} moved to pmt.simulate.methods (the four-method comparison is a "
        f"simulation): write `from pmt.simulate.methods import {name}`"
        + (" or pmt.compare_methods" if name == "compare_methods" else "")
        + " (the old path will be removed).",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module("pmt.simulate.methods"), name)


def __getattr__(name: str):
    """The functions that moved to :mod:`pmt.simulate.methods` (DeprecationWarning)."""
    if name in MOVED_TO_SIMULATE:
        return moved_to_simulate(name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@renamed_arguments(n="n_groups")
def prediction_validation(
    actual,
    predicted,
    weights=None,
    *,
    size=None,
    n_groups: int = 10,
) -> tuple[pd.Series, pd.DataFrame]:
    """Correlation and decile cross-tab of predicted vs actual income (Belarus Table 12).

    Parameters
    ----------
    actual, predicted : array-like
        Actual and predicted per-capita income (levels).
    weights : array-like, optional
        Household weights with ``size`` (person weights = w x n), or person weights.
    n_groups : int
        Number of quantile groups (10: deciles). Was ``n`` (deprecated: still accepted,
        with a FutureWarning).

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
    table = decile_overlap(a, p, weights=w, n_groups=n_groups)
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
