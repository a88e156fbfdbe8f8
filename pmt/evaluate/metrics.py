"""Targeting metrics: coverage, exclusion and inclusion errors, targeting differential, CGH.

Definitions are the contract of DESIGN.md section 4. With ``p_i`` = 1 if household i is
poor, ``s_i`` = 1 if it is selected and ``v_i`` its weight (person weight ``w_h * n_h`` by
default, household weight ``w_h`` with ``unit="household"``), sums over households:

=========================  ===================================================
coverage                   sum v s / sum v
coverage_poor              sum v p s / sum v p
coverage_nonpoor           sum v (1-p) s / sum v (1-p)
exclusion_error            1 - coverage_poor
inclusion_error            sum v (1-p) s / sum v s
targeting_differential     coverage_poor - coverage_nonpoor (Ravallion)
cgh                        (share of benefits, or of beneficiaries without amounts,
                           going to the poor) / (population share of the poor)
benefit_leakage            share of benefit amounts going to the non-poor
=========================  ===================================================

Every metric is a ratio of six weighted totals (poor/non-poor x all/selected/benefit
amounts). :func:`metrics_from_totals` computes all of them from those totals for arrays of
any shape, which is what makes the bootstrap (replicate totals as a matrix product) and the
error curve (cumulative totals over one sort) cheap. We write this ourselves because no
library in the ecosystem implements the targeting definitions of section 4.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pmt._literals import Unit
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, example_rows

METRICS = (
    "coverage",
    "coverage_poor",
    "coverage_nonpoor",
    "exclusion_error",
    "inclusion_error",
    "targeting_differential",
    "cgh",
)
BENEFIT_METRICS = (*METRICS, "benefit_leakage")

# Weighted totals every metric is built from: poor (p) / non-poor (n) x population (v),
# selected (s), benefit amounts (b).
TOTALS = ("vp", "vn", "vps", "vns", "vbp", "vbn")

_WHY_UNDEFINED = {
    "coverage": "the total weight is zero",
    "coverage_poor": "nobody is poor",
    "exclusion_error": "nobody is poor",
    "coverage_nonpoor": "everybody is poor",
    "targeting_differential": "nobody or everybody is poor",
    "inclusion_error": "nobody is selected",
    "cgh": "nobody is selected (or receives benefits) or nobody is poor",
    "benefit_leakage": "no benefits are paid",
}


# --- input checks shared by the evaluate modules ----------------------------------------
# Vectors and weights are checked by pmt._validation (column_or_array, check_weights).


def check_aligned(**series) -> pd.Index | None:
    """The common index of the pandas Series among the arguments (None if none is a Series).

    Raises DataError if two Series have different indexes: positional matching would pair
    the wrong households.
    """
    index = None
    first = None
    for name, value in series.items():
        if isinstance(value, pd.Series):
            if index is None:
                index, first = value.index, name
            elif not value.index.equals(index):
                raise DataError(
                    f"`{first}` and `{name}` are pandas Series with different indexes; align "
                    f"them (e.g. `{name}.reindex({first}.index)`) or pass arrays in the same order."
                )
    return index


def resolve_weights(weights, n: int, size=None, unit: Unit = "person",
                    allow_zero_sum: bool = True) -> np.ndarray:
    """Population weights v: weights x size for persons, weights for households.

    ``weights`` are household weights when ``size`` is given, otherwise they are taken as
    the final weights v (person weights if the caller already multiplied by size). They
    must be non-negative; all zero is allowed unless ``allow_zero_sum=False`` (the metrics
    are then undefined, NaN). Bad weights raise :class:`~pmt.errors.WeightError`.
    """
    check_option(unit, Unit, name="unit")
    w = check_weights(weights, n, kind="nonnegative", allow_zero_sum=allow_zero_sum)
    if size is not None:
        sz = column_or_array(size, name="size", n=n)
        if (sz < 1).any():
            raise DataError(
                f"`size` must be >= 1 (household members); bad at "
                f"{example_rows(np.flatnonzero(sz < 1))}."
            )
        if unit == "person":
            w = w * sz
    return w


# --- the engine -------------------------------------------------------------------------
def totals(
    poor: np.ndarray,
    selected: np.ndarray,
    v: np.ndarray,
    benefit_weight: np.ndarray | None = None,
) -> np.ndarray:
    """The per-household contributions to the six totals of :data:`TOTALS`, shape (n, 6).

    ``benefit_weight`` is the benefit amount times its weight (person weight x per-person
    benefit); when omitted the benefit columns are zero.
    """
    p = poor.astype(float)
    q = 1.0 - p
    s = selected.astype(float)
    b = np.zeros_like(v) if benefit_weight is None else benefit_weight
    return np.column_stack([v * p, v * q, v * p * s, v * q * s, b * p, b * q])


def metrics_from_totals(t, benefits: bool = False) -> dict[str, np.ndarray]:
    """All section-4 metrics from the totals ``t`` (last axis of size 6, order TOTALS).

    Works on arrays of any leading shape (replicates, cut-offs, groups); undefined ratios
    (0/0) are NaN without warnings.
    """
    t = np.asarray(t, dtype=float)
    vp, vn, vps, vns, vbp, vbn = (t[..., k] for k in range(6))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = vp + vn
        vs = vps + vns
        out = {
            "coverage": _ratio(vs, v),
            "coverage_poor": _ratio(vps, vp),
            "coverage_nonpoor": _ratio(vns, vn),
        }
        out["exclusion_error"] = 1.0 - out["coverage_poor"]
        out["inclusion_error"] = _ratio(vns, vs)
        out["targeting_differential"] = out["coverage_poor"] - out["coverage_nonpoor"]
        headcount = _ratio(vp, v)
        if benefits:
            vb = vbp + vbn
            out["cgh"] = _ratio(_ratio(vbp, vb), headcount)
            out["benefit_leakage"] = _ratio(vbn, vb)
        else:
            out["cgh"] = _ratio(_ratio(vps, vs), headcount)
    return out


def _ratio(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
    return r


def warn_undefined(values: Mapping[str, float], context: str = "", stacklevel: int = 3) -> None:
    """Warn once naming every metric that is NaN (undefined) and why."""
    missing = [k for k, val in values.items() if k in _WHY_UNDEFINED and np.isnan(val)]
    if not missing:
        return
    reasons = sorted({_WHY_UNDEFINED[k] for k in missing})
    where = f" {context}" if context else ""
    warnings.warn(
        f"undefined targeting metrics{where} set to NaN: {', '.join(missing)} "
        f"({'; '.join(reasons)}).",
        RuntimeWarning,
        stacklevel=stacklevel,
    )


def targeting_metrics(
    poor,
    selected,
    weights=None,
    benefits=None,
    *,
    size=None,
    unit: Unit = "person",
) -> pd.Series:
    """Targeting performance of a selection rule against true poverty status.

    Parameters
    ----------
    poor : array-like or pandas.Series of 0/1 or bool
        True poverty status p_i of each household (e.g. from :func:`classify_poor`).
    selected : array-like or pandas.Series of 0/1 or bool
        Selection s_i: eligible, predicted poor, or beneficiary.
    weights : array-like, optional
        Weights v_i. Without ``size`` they are used as given, so pass person weights
        (household weight x household size) for population shares, as DESIGN.md
        section 3 asks. With ``size`` they are household weights w_h. Equal if omitted.
    benefits : array-like, optional
        Benefit amount **per person** (household benefit / household size) in any currency
        unit per period. When given, ``cgh`` is computed on benefit amounts and
        ``benefit_leakage`` is added.
    size : array-like, optional
        Household size n_h; with it ``weights`` are household weights and the person weight
        is w_h * n_h.
    unit : {"person", "household"}
        Population shares over persons (default; needs ``size`` to differ from the weights
        given) or households. Benefit shares always use the amount paid: sum of
        w_h * n_h * b with ``size``, else sum of weights * b.

    Returns
    -------
    pandas.Series
        ``coverage, coverage_poor, coverage_nonpoor, exclusion_error, inclusion_error,
        targeting_differential, cgh`` (shares in [0, 1]; ``cgh`` is a ratio, 1 = neutral
        targeting), plus ``benefit_leakage`` when ``benefits`` is given. Metrics that are
        undefined (nobody poor, nobody selected, everybody poor) are NaN and a
        RuntimeWarning names them.

    Raises
    ------
    pmt.DataError
        Mismatched lengths or indexes, missing or non-binary values, negative weights or
        benefits; the message names the argument and rows.
    """
    check_aligned(poor=poor, selected=selected, weights=weights, benefits=benefits, size=size)
    p = column_or_array(poor, name="poor", binary=True)
    n = p.shape[0]
    if n == 0:
        raise DataError("`poor` is empty: pass one value per household.")
    s = column_or_array(selected, name="selected", n=n, binary=True)
    v = resolve_weights(weights, n, size, unit)
    bw = None
    if benefits is not None:
        b = column_or_array(benefits, name="benefits", n=n, nonnegative=True)
        base = resolve_weights(weights, n, size, "person") if size is not None else v
        bw = base * b
    t = totals(p, s, v, bw).sum(axis=0)
    values = {k: float(val) for k, val in metrics_from_totals(t, benefits is not None).items()}
    warn_undefined(values)
    names = BENEFIT_METRICS if benefits is not None else METRICS
    return pd.Series([values[k] for k in names], index=pd.Index(names, name="metric"),
                     name="value")
