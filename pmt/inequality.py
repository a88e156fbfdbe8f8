"""Inequality, concentration and progressivity, with design-based standard errors.

Definitions (y welfare per person, v person weights w_h n_h, or w_h with
``unit="household"``; sums run over households; N = sum v, mu = sum v y / N):

==================  =========================================================================
``gini``            1 - sum_k (S_{k-1} + S_k) p_k over the steps of the Lorenz curve: households
                    sorted by y, households with equal y forming one step, p_k the step's
                    weight share and S_k the cumulative welfare share. It equals the mean
                    absolute difference sum_ij v_i v_j |y_i - y_j| / (2 N^2 mu).
``ge0``             mean log deviation  -(1/N) sum v ln(y / mu)  (GE(0))
``ge1``             Theil index  (1/N) sum v (y / mu) ln(y / mu)  (GE(1))
``ge2``             (1/N) sum v ((y / mu)^2 - 1) / 2, half the squared coefficient of variation
                    (GE(a) = (1/N) sum v ((y / mu)^a - 1) / (a (a - 1)) for a != 0, 1)
``atkinson_e``      1 - EDE / mu with the equally distributed equivalent
                    EDE = [(1/N) sum v y^(1-e)]^(1/(1-e)), and for e = 1 the geometric mean
                    exp((1/N) sum v ln y); e = 0.5, 1, 2 are reported
``p90_p10``         q(0.9) / q(0.1), q the weighted quantile of DESIGN.md section 4 (inverse
                    CDF, no interpolation); ``p80_p20`` likewise
``palma``           welfare share of the richest 10 % over that of the poorest 40 %: sum v y
                    over y > q(0.9) divided by sum v y over y <= q(0.4), i.e. decile 10 over
                    deciles 1-4 of :func:`pmt.quantile_groups` (households never split)
==================  =========================================================================

The **concentration index** of x ranked by r is 1 - sum_k (S_{k-1} + S_k) p_k with S now
the cumulative share of sum v x, households sorted by r and households with equal r
forming one step (so the index does not depend on their order); with x = r it is the
Gini coefficient. It lies in [-1, 1] for non-negative x: negative when x is concentrated
among those with low r.

Non-positive welfare. GE(0), GE(1) and Atkinson(e >= 1) take logarithms or inverse
powers of y, and p90/p10, p80/p20 and the Palma ratio divide by low quantiles or shares:
they are undefined when some y <= 0. :func:`inequality_measures` therefore needs positive
welfare: by default (``nonpositive="error"``) it raises :class:`pmt.DataError` naming the
rows; with ``nonpositive="drop"`` it leaves those households out of **every** measure (so
all measures describe the same population), counts them in ``attrs["n_dropped"]`` (and a
column ``n_dropped`` for survey estimates) and warns. :func:`gini` and
:func:`concentration_index` accept zero and negative values (a Gini can then exceed 1);
they need a positive total.

Standard errors (``se="linearized"``) are Taylor / influence-function linearisations
(Deville 1999; for the Gini the Binder-Kovacevic form, for GE and Atkinson Biewen and
Jenkins 2006, as R's ``convey`` package): each measure theta is a function of the weights,
its linearised variable z_k = d theta / d v_k is computed exactly, and
var(theta) = V(sum_h w_h u_h z_h) with V the PSU-level, strata-aware variance of a total
(:meth:`pmt.Survey.total_variance`, u_h = n_h for person measures). For the Gini and the
concentration index z_k = [x_k (2 R_k - N) + X_{>k} - X_{<k} - C (X + N x_k)] / (N X), with
R_k the mid-rank weight (weight below plus half the weight tied with k) and X_{<k}, X_{>k}
the totals of v x below and above k in the ranking. Quantiles are linearised with the
Bahadur representation, dividing by a Gaussian kernel density of ln y at the quantile
(Silverman's bandwidth); the Palma ratio's shares need no density
(d/dv_k sum v y 1[y <= q_p] = y_k 1[y_k <= q_p] + q_p (F(q_p) - 1[y_k <= q_p])).
``se="bootstrap"`` recomputes every measure on Rao-Wu PSU bootstrap replicate weights
(:meth:`pmt.Survey.replicate_factors`) and reports their standard deviation. Changes
between two welfare vectors on the same households (:func:`with_without`,
:func:`progressivity`) are paired: the difference of the linearised variables, or the
difference on the same replicates.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from pmt._literals import SE, Nonpositive, Ranking, Unit
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, example_rows
from pmt.survey import Survey
from pmt.welfare import fgt_terms

__all__ = [
    "MEASURES",
    "TABLE8_MEASURES",
    "gini",
    "inequality_measures",
    "concentration_index",
    "concentration_curve",
    "lorenz_curve",
    "kakwani",
    "with_without",
    "progressivity",
    "classify_progressivity",
    "classify_q1_share",
]

#: Names of :func:`inequality_measures`, in order.
MEASURES = ("gini", "ge0", "ge1", "ge2", "atkinson_0.5", "atkinson_1", "atkinson_2",
            "p90_p10", "p80_p20", "palma")
#: The columns of the Belarus 2011 Table 8 (poverty and inequality with and without each
#: transfer): the default of :func:`with_without`.
TABLE8_MEASURES = ("FGT0", "FGT1", "FGT2", "gini", "ge0", "ge1", "ge2")
#: Measures that need positive welfare.
POSITIVE_ONLY = frozenset(MEASURES) - {"gini", "ge2"}

# same tolerance as pmt.survey.weighted_quantile: 2/10 summed is not judged below 0.2
_SHARE_RTOL = 1e-12
_CHUNK = 128  # bootstrap replicates evaluated at once



# --- input helpers ------------------------------------------------------------------------
def _labels(x, n: int) -> pd.Index:
    return x.index if isinstance(x, pd.Series) else pd.RangeIndex(n)


def _check_measures(measures, allowed: Sequence[str]) -> list[str]:
    if isinstance(measures, str):
        measures = [measures]
    out = list(measures)
    unknown = [m for m in out if m not in allowed]
    if unknown or not out:
        raise DataError(
            f"unknown measure(s) {unknown or '(none given)'}: choose from {', '.join(allowed)}."
        )
    return out


def _nonpositive_mask(y: np.ndarray, keep: np.ndarray, labels: pd.Index, nonpositive: str,
                      what: str, needed_by: Sequence[str], stacklevel: int = 4
                      ) -> tuple[np.ndarray, int]:
    """Rows kept after handling y <= 0 for measures that need positive welfare."""
    check_option(nonpositive, Nonpositive, name="nonpositive")
    bad = keep & (y <= 0)
    if not bad.any():
        return keep, 0
    n_bad = int(bad.sum())
    if nonpositive == "error":
        raise DataError(
            f"{what} is zero or negative for {n_bad} households at "
            f"{example_rows(labels[bad])}; {', '.join(needed_by)} need positive welfare "
            "(logarithms, inverse powers or ratios of low quantiles). Check those "
            "households' welfare, or pass nonpositive='drop' to leave them out of the "
            "inequality measures (their number is reported)."
        )
    warnings.warn(
        f"{n_bad} households with {what} <= 0 left out of the inequality measures "
        f"(nonpositive='drop'), e.g. {example_rows(labels[bad])}.", stacklevel=stacklevel)
    return keep & ~bad, n_bad


# --- sorted-distribution building blocks ----------------------------------------------------
class _Ranking:
    """Order of a ranking variable and its tie groups (households with equal rank)."""

    def __init__(self, r: np.ndarray):
        self.order = np.argsort(r, kind="stable")
        rs = r[self.order]
        self.sorted = rs
        new = np.r_[True, rs[1:] != rs[:-1]]
        self.starts = np.flatnonzero(new)
        self.group = np.cumsum(new) - 1  # tie group of each sorted row


def _conc_values(x: np.ndarray, rank: _Ranking, V: np.ndarray) -> np.ndarray:
    """Concentration index of x ranked by ``rank`` for each weight column of V (n, R)."""
    Vs = V[rank.order]
    xs = x[rank.order]
    Ng = np.add.reduceat(Vs, rank.starts, axis=0)
    Xg = np.add.reduceat(Vs * xs[:, None], rank.starts, axis=0)
    N = Ng.sum(axis=0)
    X = Xg.sum(axis=0)
    before = np.cumsum(Ng, axis=0) - Ng
    A = np.sum(Xg * (2 * before + Ng - N), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return A / (N * X)


def _conc_lin(x: np.ndarray, rank: _Ranking, v: np.ndarray) -> tuple[float, np.ndarray]:
    """Concentration index and its linearised variable z_k = dC / dv_k."""
    xs = x[rank.order]
    vs = v[rank.order]
    Ng = np.add.reduceat(vs, rank.starts)
    Xg = np.add.reduceat(vs * xs, rank.starts)
    N, X = Ng.sum(), Xg.sum()
    n_below = (np.cumsum(Ng) - Ng)[rank.group]
    x_below = (np.cumsum(Xg) - Xg)[rank.group]
    n_tied, x_tied = Ng[rank.group], Xg[rank.group]
    mid = n_below + n_tied / 2
    A = float(np.sum(vs * xs * (2 * mid - N)))
    C = A / (N * X)
    x_above = X - x_below - x_tied
    dA = xs * (2 * mid - N) + x_above - x_below
    zs = (dA - C * (X + N * xs)) / (N * X)
    z = np.empty_like(zs)
    z[rank.order] = zs
    return float(C), z


def _quantile_index(cum: np.ndarray, total: np.ndarray, p: float) -> np.ndarray:
    """First sorted row whose cumulative weight reaches p * total (per column)."""
    target = p * total * (1 - _SHARE_RTOL)
    idx = np.sum(cum < target, axis=0)
    return np.minimum(idx, cum.shape[0] - 1)


# --- measures from weighted totals --------------------------------------------------------------
def _g(key: str, y: np.ndarray, line: np.ndarray | None = None) -> np.ndarray:
    """Per-household function whose weighted total enters a measure."""
    if key == "n":
        return np.ones_like(y)
    if key == "y":
        return y
    if key == "y2":
        return y * y
    if key == "sqrt":
        return np.sqrt(y)
    if key == "inv":
        return 1.0 / y
    if key == "ln":
        return np.log(y)
    if key == "ylny":
        return y * np.log(y)
    if key.startswith("FGT"):
        assert line is not None  # _Dist gets the poverty line whenever FGT measures are asked
        return fgt_terms(y, line, float(key[3:]))
    raise KeyError(key)


_TOTALS = {
    "ge0": ("n", "y", "ln"),
    "ge1": ("n", "y", "ylny"),
    "ge2": ("n", "y", "y2"),
    "atkinson_0.5": ("n", "y", "sqrt"),
    "atkinson_1": ("n", "y", "ln"),
    "atkinson_2": ("n", "y", "inv"),
}


def _from_totals(m: str, U: dict) -> tuple[np.ndarray, dict]:
    """Measure m from weighted totals U (arrays over replicates) and its gradient dm/dU."""
    U0 = U["n"]
    if m.startswith("FGT"):
        F = U[m]
        val = F / U0
        return val, {m: 1 / U0, "n": -val / U0}
    U1 = U["y"]
    if m == "ge0":
        T0 = U["ln"]
        return (np.log(U1 / U0) - T0 / U0,
                {"y": 1 / U1, "n": -1 / U0 + T0 / U0**2, "ln": -1 / U0})
    if m == "ge1":
        T1 = U["ylny"]
        return (T1 / U1 - np.log(U1 / U0),
                {"ylny": 1 / U1, "y": -T1 / U1**2 - 1 / U1, "n": 1 / U0})
    if m == "ge2":
        U2 = U["y2"]
        return ((U0 * U2 / U1**2 - 1) / 2,
                {"n": U2 / (2 * U1**2), "y": -U0 * U2 / U1**3, "y2": U0 / (2 * U1**2)})
    if m == "atkinson_1":
        T0 = U["ln"]
        E = np.exp(T0 / U0) * U0 / U1  # EDE / mean
        dlog = {"ln": 1 / U0, "n": -T0 / U0**2 + 1 / U0, "y": -1 / U1}
        return 1 - E, {k: -E * d for k, d in dlog.items()}
    if m in ("atkinson_0.5", "atkinson_2"):
        beta, key = (0.5, "sqrt") if m == "atkinson_0.5" else (-1.0, "inv")
        Ub = U[key]
        E = (Ub / U0) ** (1 / beta) * U0 / U1
        dlog = {key: 1 / (beta * Ub), "n": (1 - 1 / beta) / U0, "y": -1 / U1}
        return 1 - E, {k: -E * d for k, d in dlog.items()}
    raise KeyError(m)


def _keys(m: str) -> tuple[str, ...]:
    return ("n", m) if m.startswith("FGT") else _TOTALS[m]


# --- all measures of one welfare vector ----------------------------------------------------------
class _Dist:
    """One welfare vector (rows of a domain) and the measures asked of it."""

    def __init__(self, y: np.ndarray, measures: Sequence[str], line: np.ndarray | None = None):
        self.y = y
        self.measures = list(measures)
        self.line = line
        self.rank = _Ranking(y) if any(m not in _TOTALS and not m.startswith("FGT")
                                       for m in self.measures) else None
        keys = sorted({k for m in self.measures if m in _TOTALS or m.startswith("FGT")
                       for k in _keys(m)})
        self.G = {k: _g(k, y, line) for k in keys}

    # values for a weight matrix (n, R)
    def values(self, V: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        U = {k: g @ V for k, g in self.G.items()}
        quant = None
        for m in self.measures:
            if m in _TOTALS or m.startswith("FGT"):
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[m] = _from_totals(m, U)[0]
            elif m == "gini":
                assert self.rank is not None  # ranked whenever a non-total measure is asked
                out[m] = _conc_values(self.y, self.rank, V)
            else:
                if quant is None:
                    quant = self._quantile_parts(V)
                out[m] = quant(m)
        return out

    def _quantile_parts(self, V: np.ndarray) -> Callable[[str], np.ndarray]:
        rank = self.rank
        assert rank is not None  # ranked whenever a quantile measure is asked
        ys = rank.sorted
        Vs = V[rank.order]
        cum = np.cumsum(Vs, axis=0)
        cumy = np.cumsum(Vs * ys[:, None], axis=0)
        N, Y = cum[-1], cumy[-1]
        cols = np.arange(V.shape[1])

        def q(p):
            return ys[_quantile_index(cum, N, p)]

        def below(p):  # sum v y over y <= q(p): through the end of q's tie group
            last = np.searchsorted(ys, q(p), side="right") - 1
            return cumy[last, cols]

        def measure(m):
            with np.errstate(invalid="ignore", divide="ignore"):
                if m == "p90_p10":
                    return q(0.9) / q(0.1)
                if m == "p80_p20":
                    return q(0.8) / q(0.2)
                if m == "palma":
                    return (Y - below(0.9)) / below(0.4)
            raise KeyError(m)

        return measure

    # estimates and linearised variables for one weight vector
    def linearised(self, v: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
        out = {}
        U = {k: float(g @ v) for k, g in self.G.items()}
        for m in self.measures:
            if m in _TOTALS or m.startswith("FGT"):
                val, grad = _from_totals(m, U)
                z = sum(d * self.G[k] for k, d in grad.items())
                out[m] = (float(val), np.asarray(z, dtype=float))
            elif m == "gini":
                assert self.rank is not None  # ranked whenever a non-total measure is asked
                out[m] = _conc_lin(self.y, self.rank, v)
            else:
                out[m] = self._quantile_lin(m, v)
        return out

    def _quantile_lin(self, m: str, v: np.ndarray) -> tuple[float, np.ndarray]:
        y = self.y
        rank = self.rank
        assert rank is not None  # ranked whenever a quantile measure is asked
        ys = rank.sorted
        cum = np.cumsum(v[rank.order])
        N = cum[-1]

        def q(p):
            return float(ys[_quantile_index(cum[:, None], np.array([N]), p)[0]])

        def share_below(qv):
            return float(v[y <= qv].sum() / N)

        if m == "palma":
            Y = float(v @ y)

            def part(p):  # sum v y 1[y <= q_p] and its linearised variable
                qv = q(p)
                ind = (y <= qv).astype(float)
                return float(v @ (y * ind)), y * ind + qv * (share_below(qv) - ind)

            L9, z9 = part(0.9)
            L4, z4 = part(0.4)
            P = (Y - L9) / L4
            return float(P), ((y - z9) - P * z4) / L4
        pa, pb = (0.9, 0.1) if m == "p90_p10" else (0.8, 0.2)
        dens = _log_density(y, v)

        def quant(p):
            qv = q(p)
            ind = (y <= qv).astype(float)
            return qv, (share_below(qv) - ind) / (N * dens(qv))

        qa, za = quant(pa)
        qb, zb = quant(pb)
        ratio = qa / qb
        return float(ratio), (za - ratio * zb) / qb


def _log_density(y: np.ndarray, v: np.ndarray) -> Callable[[float], float]:
    """Weighted Gaussian kernel density of y at q, estimated on ln y (y > 0).

    Silverman's rule on ln y: h = 0.9 min(sd, IQR / 1.34) n^(-1/5), n the number of
    households; f_y(q) = f_ln(ln q) / q.
    """
    ly = np.log(y)
    p = v / v.sum()
    mean = float(p @ ly)
    sd = float(np.sqrt(p @ (ly - mean) ** 2))
    order = np.argsort(ly)
    cum = np.cumsum(p[order])
    q25, q75 = ly[order][np.searchsorted(cum, [0.25, 0.75])]
    spread = min(sd, (q75 - q25) / 1.34) if q75 > q25 else sd
    n = int(np.count_nonzero(v))
    h = 0.9 * spread * n ** (-0.2)
    if not h > 0:  # all welfare equal: no density, the standard error is NaN
        return lambda q: float("nan")

    def f(q: float) -> float:
        u = (np.log(q) - ly) / h
        return float(p @ np.exp(-u * u / 2) / (h * np.sqrt(2 * np.pi)) / q)

    return f


# --- estimates without a design ---------------------------------------------------------------------
def gini(y, weights=None) -> float:
    """Gini coefficient of welfare.

    G = 1 - sum_k (S_{k-1} + S_k) p_k over households sorted by welfare (households with
    equal welfare form one step), p_k the weight share of step k and S_k the cumulative
    share of total welfare; equal to the mean absolute difference
    sum_ij v_i v_j |y_i - y_j| / (2 N^2 mean).

    Parameters
    ----------
    y : array-like or pmt.Survey
        Welfare per person (e.g. per-capita consumption, currency per person), one value
        per household; no missing values. Zero and negative values are allowed (the Gini
        may then exceed 1) as long as the weighted total is positive. A
        :class:`pmt.Survey` may be passed instead, with the welfare column as the second
        argument: ``gini(survey, "pcc")`` is person-weighted.
    weights : array-like or str, optional
        Person weights (household weight x size) for a population Gini; equal if None.
        With integer weights the result equals the Gini of the data with each household
        repeated that many times. With a Survey: the welfare column (or array).

    Returns
    -------
    float
        The Gini coefficient, in [0, 1) for non-negative welfare (0: everyone equal).
        Design-based standard errors: :func:`inequality_measures`.
    """
    if isinstance(y, Survey):
        yv, v, _ = _survey_inputs(y, weights, "person")
    else:
        yv = column_or_array(y, name="y")
        v = check_weights(weights, yv.size)
    keep = v > 0
    yv, v = yv[keep], v[keep]
    if not float(v @ yv) > 0:
        raise DataError("the weighted total of `y` is not positive: the Gini coefficient "
                        "(a share of total welfare) is undefined.")
    return float(_conc_values(yv, _Ranking(yv), v[:, None])[0])


def concentration_index(x, rank_by, weights=None) -> float:
    """Concentration index of ``x`` with people ranked by ``rank_by``.

    C = 1 - sum_k (S_{k-1} + S_k) p_k, households sorted by ``rank_by`` (households with
    equal ``rank_by`` form one step, so the index does not depend on their order), p_k the
    weight share of step k and S_k the cumulative share of sum v x. With
    ``x = rank_by`` it is the Gini coefficient.

    Parameters
    ----------
    x : array-like
        The amount whose distribution is measured, per person (e.g. a transfer per
        person: household amount / size), one value per household.
    rank_by : array-like
        The ranking variable (e.g. welfare per person before the transfer).
    weights : array-like, optional
        Person weights (w_h n_h); equal if None.

    Returns
    -------
    float
        In [-1, 1] for non-negative x: negative when x goes mostly to those ranked low
        (the poor), 0 when every person gets the same amount, positive when it goes
        mostly to those ranked high. Compare it with the Gini of ``rank_by``
        (:func:`kakwani`).
    """
    xv = column_or_array(x, name="x")
    r = column_or_array(rank_by, name="rank_by", n=xv.size)
    v = check_weights(weights, xv.size)
    keep = v > 0
    xv, r, v = xv[keep], r[keep], v[keep]
    if float(v @ xv) == 0:
        raise DataError("the weighted total of `x` is zero: its concentration index "
                        "(a share of the total) is undefined.")
    return float(_conc_values(xv, _Ranking(r), v[:, None])[0])


def kakwani(x, rank_by, weights=None) -> float:
    """Kakwani progressivity index: concentration index of ``x`` ranked by ``rank_by``
    minus the Gini of ``rank_by``.

    K = C_x - G. For a transfer ranked by pre-transfer welfare, K < 0 means the transfer
    is more equally distributed than welfare (progressive relative to welfare: it reduces
    relative inequality). Arguments as :func:`concentration_index`.
    """
    return concentration_index(x, rank_by, weights) - gini(rank_by, weights)


def concentration_curve(x, rank_by, weights=None) -> pd.DataFrame:
    """Points of the concentration curve of ``x`` ranked by ``rank_by``.

    Parameters
    ----------
    x, rank_by, weights
        As :func:`concentration_index`.

    Returns
    -------
    pandas.DataFrame
        Columns ``population_share`` (cumulative weight share P_k) and
        ``cumulative_share`` (cumulative share of sum v x, S_k), one row per step
        (households with equal ``rank_by`` form one step), starting at (0, 0) and ending at
        (1, 1). ``attrs["index"]`` is the concentration index
        1 - sum_k (S_{k-1} + S_k)(P_k - P_{k-1}).
    """
    xv = column_or_array(x, name="x")
    r = column_or_array(rank_by, name="rank_by", n=xv.size)
    v = check_weights(weights, xv.size)
    total = float(v @ xv)
    if total == 0:
        raise DataError("the weighted total of `x` is zero: no curve of shares.")
    rank = _Ranking(r)
    last = np.r_[rank.starts[1:] - 1, r.size - 1]
    p = np.r_[0.0, np.cumsum(v[rank.order])[last] / v.sum()]
    s = np.r_[0.0, np.cumsum((v * xv)[rank.order])[last] / total]
    out = pd.DataFrame({"population_share": p, "cumulative_share": s})
    out.attrs["index"] = float(1 - np.sum((s[:-1] + s[1:]) * np.diff(p)))
    return out


def lorenz_curve(y, weights=None) -> pd.DataFrame:
    """Points of the Lorenz curve of ``y``: :func:`concentration_curve` of y ranked by
    itself; ``attrs["index"]`` is the Gini coefficient.
    """
    return concentration_curve(y, y, weights)


# --- survey helpers ----------------------------------------------------------------------------------
def _survey_inputs(survey: Survey, welfare, unit: str) -> tuple[np.ndarray, np.ndarray, str]:
    check_option(unit, Unit, name="unit")
    if welfare is None:
        raise DataError("with a Survey, pass the welfare column as the second argument, "
                        "e.g. inequality_measures(survey, 'pcc').")
    name = welfare if isinstance(welfare, str) else getattr(welfare, "name", None) or "welfare"
    y = _survey_column(survey, welfare, "welfare")
    # unit was checked against Unit above
    return y, survey.weights(cast(Unit, unit)), str(name)


def _survey_column(survey: Survey, x, what: str) -> np.ndarray:
    """A column name or one value per household (a Series aligned on the survey index)."""
    labels = survey.data.index
    arr = column_or_array(x, survey, name=what, allow_nan=True, align=True)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataError(
            f"{what} is missing or infinite for {int(bad.sum())} households at "
            f"{example_rows(labels[bad])}: impute them, or estimate on survey.subset(...) "
            "and report the exclusion."
        )
    return arr


def _check_se(se, level) -> None:
    check_option(se, SE, name="se")
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1), e.g. 0.95; got {level!r}.")


class _Estimates:
    """Point estimates with either household-level linearised contributions or replicates.

    ``lin[key]`` is a length-n_households vector  u_h z_h  (zero outside the domain);
    ``reps[key]`` a length-R vector of replicate estimates.
    """

    def __init__(self, survey: Survey, se: str, factors: np.ndarray | None):
        self.survey = survey
        self.se = se
        self.factors = factors
        self.est: dict = {}
        self.lin: dict = {}
        self.reps: dict = {}

    def add(self, key_of: Callable[..., object], dist_rows: np.ndarray, u: np.ndarray,
            v: np.ndarray, evaluate: Callable, linearise: Callable) -> None:
        """Evaluate statistics on rows ``dist_rows`` (bool mask) with weights v = w u.

        ``evaluate(V)`` returns {name: (R,) values} for a weight matrix of the rows,
        ``linearise(v)`` {name: (estimate, z)} with z = d estimate / d v on the rows.
        """
        rows = np.flatnonzero(dist_rows)
        res = linearise(v[rows]) if self.se == "linearized" else None
        if res is None:
            point = evaluate(v[rows][:, None])
            res = {m: (float(val[0]), None) for m, val in point.items()}
        for m, (est, z) in res.items():
            key = key_of(m)
            self.est[key] = est
            if z is not None:
                full = np.zeros(self.survey.n_households)
                full[rows] = u[rows] * z
                self.lin[key] = full
        if self.se == "bootstrap":
            F = self.factors
            assert F is not None  # callers pass replicate factors whenever se == "bootstrap"
            psu = self.survey.psu_codes[rows]
            chunks: dict = {}
            for a in range(0, F.shape[1], _CHUNK):
                Vc = v[rows][:, None] * F[psu, a:a + _CHUNK]
                for m, val in evaluate(Vc).items():
                    chunks.setdefault(m, []).append(val)
            for m, parts in chunks.items():
                self.reps[key_of(m)] = np.concatenate(parts)

    def se_of(self, key=None, minus=None) -> float:
        """Standard error of est[key] (or of est[key] - est[minus], paired)."""
        if self.se == "linearized":
            z = self.lin[key] - (self.lin[minus] if minus is not None else 0.0)
            return float(np.sqrt(self.survey.total_variance(z)))
        reps = self.reps[key] - (self.reps[minus] if minus is not None else 0.0)
        reps = reps[np.isfinite(reps)]
        return float(np.std(reps, ddof=1)) if reps.size > 1 else float("nan")


def _zcrit(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


# --- inequality measures -----------------------------------------------------------------------------
def inequality_measures(
    y,
    weights=None,
    *,
    by=None,
    unit: Unit = "person",
    se: SE = "linearized",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    nonpositive: Nonpositive = "error",
):
    """Inequality measures of welfare: Gini, GE(0, 1, 2), Atkinson(0.5, 1, 2), p90/p10,
    p80/p20 and the Palma ratio (definitions in the module docstring).

    Parameters
    ----------
    y : array-like or pmt.Survey
        Welfare per person, one value per household (positive; see ``nonpositive``). Or a
        :class:`pmt.Survey`, with the welfare column as the second argument
        (``inequality_measures(survey, "pcc")``) for design-based standard errors.
    weights : array-like or str, optional
        Person weights (household weight x size) for population measures, equal if None.
        With a Survey: the welfare column name (or one value per household).
    by : array-like or str, optional
        Group of each household (a column name with a Survey): measures within each group.
    unit : {"person", "household"}
        With a Survey: person-weighted (w_h n_h, default) or household-weighted.
    se : {"linearized", "bootstrap"}
        With a Survey: linearised standard errors (module docstring), or the standard
        deviation over ``n_replicates`` Rao-Wu PSU bootstrap replicates seeded by ``seed``.
    level : float
        Confidence level of the normal-approximation interval (Survey only).
    nonpositive : {"error", "drop"}
        Households with welfare <= 0: raise DataError naming them (default), or leave
        them out of every measure, with their number in ``attrs["n_dropped"]`` (and a
        column ``n_dropped`` with a Survey) and a warning.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Arrays without ``by``: a Series indexed by ``measure`` with the names of
        :data:`MEASURES`. Arrays with ``by``: a DataFrame with one row per group and one
        column per measure. A Survey: a DataFrame indexed by ``measure`` (or (``by``,
        ``measure``)) with columns ``estimate``, ``se``, ``ci_lower``, ``ci_upper``,
        ``n_households`` (sample), ``population`` (sum of weights) and ``n_dropped``;
        ``result["estimate"].unstack()`` gives one row per group.
        The measures are unit-free (ratios and indices).
    """
    if isinstance(y, Survey):
        return _survey_inequality(y, weights, by=by, unit=unit, se=se,
                                  n_replicates=n_replicates, seed=seed, level=level,
                                  nonpositive=nonpositive)
    yv = column_or_array(y, name="y")
    v = check_weights(weights, yv.size)
    labels = _labels(y, yv.size)
    name = getattr(y, "name", None)
    keep, n_dropped = _nonpositive_mask(yv, v > 0, labels, nonpositive, "welfare `y`",
                                        [m for m in MEASURES if m in POSITIVE_ONLY], 3)
    if by is None:
        vals = _point(yv[keep], v[keep], MEASURES)
        out = pd.Series(vals, index=pd.Index(MEASURES, name="measure"), name=name)
        out.attrs["n_dropped"] = n_dropped
        return out
    g = np.asarray(by, dtype=object).ravel() if not isinstance(by, pd.Series) else \
        by.to_numpy(dtype=object)
    if g.size != yv.size:
        raise DataError(f"`by` has {g.size} values but `y` has {yv.size}: one per household.")
    if pd.isna(g).any():
        raise DataError(f"`by` is missing at {example_rows(labels[pd.isna(g)])}: give every "
                        "household a group.")
    rows = {}
    for lev in _levels(g):
        d = keep & (g == lev)
        if not d.any():
            continue
        rows[lev] = _point(yv[d], v[d], MEASURES)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(MEASURES))
    out.index.name = by.name if isinstance(by, pd.Series) and by.name else "group"
    out.columns.name = "measure"
    out.attrs["n_dropped"] = n_dropped
    return out


def _levels(g: np.ndarray) -> list:
    levels = list(pd.unique(g))
    try:
        return sorted(levels)
    except TypeError:
        return levels


def _point(y: np.ndarray, v: np.ndarray, measures) -> list[float]:
    if y.size == 0:
        raise DataError("no households left to measure inequality on.")
    vals = _Dist(y, measures).values(v[:, None])
    return [float(vals[m][0]) for m in measures]


def _survey_inequality(survey, welfare, *, by, unit, se, n_replicates, seed, level,
                       nonpositive) -> pd.DataFrame:
    _check_se(se, level)
    y, v, name = _survey_inputs(survey, welfare, unit)
    labels = survey.data.index
    u = survey.household_size if unit == "person" else np.ones(y.size)
    keep, n_dropped = _nonpositive_mask(y, np.ones(y.size, dtype=bool), labels, nonpositive,
                                        f"welfare '{name}'", sorted(POSITIVE_ONLY))
    if by is None:
        domains = [(None, keep)]
    else:
        if not isinstance(by, str) or by not in survey.data.columns:
            raise DataError(f"`by` must be a column of the survey data; got {by!r}.")
        g = survey.data[by]
        if g.isna().any():
            raise DataError(f"`by` column '{by}' is missing at "
                            f"{example_rows(labels[g.isna().to_numpy()])}.")
        gv = g.to_numpy()
        domains = [(lev, keep & (gv == lev)) for lev in _levels(gv)]
    factors = survey.replicate_factors(n_replicates, seed) if se == "bootstrap" else None
    est = _Estimates(survey, se, factors)
    zc = _zcrit(level)
    rows = []
    for lev, d in domains:
        if not d.any():
            continue
        dist = _Dist(y[d], MEASURES)
        est.add(lambda m, lev=lev: (lev, m), d, u, v, dist.values, dist.linearised)
        in_group = np.ones(y.size, dtype=bool) if by is None else gv == lev
        dropped = int(np.sum(~keep & in_group))
        for m in MEASURES:
            e, s = est.est[(lev, m)], est.se_of((lev, m))
            row = {"measure": m, "estimate": e, "se": s, "ci_lower": e - zc * s,
                   "ci_upper": e + zc * s, "n_households": int(d.sum()),
                   "population": float(v[d].sum()), "n_dropped": dropped}
            if by is not None:
                row[by] = lev
            rows.append(row)
    out = pd.DataFrame(rows)
    out["measure"] = pd.Categorical(out["measure"], categories=list(MEASURES))
    out = out.set_index([by, "measure"] if by is not None else "measure")
    out.attrs.update({"unit": unit, "se_method": se, "welfare": name, "level": level,
                      "n_dropped": n_dropped})
    if se == "bootstrap":
        out.attrs.update({"n_replicates": int(n_replicates), "seed": seed})
    return out


# --- with and without each transfer ---------------------------------------------------------------------
def _transfers(survey: Survey, transfers) -> dict[str, np.ndarray]:
    if isinstance(transfers, str):
        transfers = [transfers]
    if isinstance(transfers, pd.DataFrame):
        transfers = {str(c): transfers[c] for c in transfers.columns}
    elif not isinstance(transfers, Mapping):
        try:
            transfers = {str(c): c for c in transfers}
        except TypeError:
            raise DataError("`transfers` must be a mapping {name: column or per-person "
                            "amounts}, a list of column names or a DataFrame.") from None
    if not transfers:
        raise DataError("`transfers` is empty: name at least one transfer.")
    return {str(k): _survey_column(survey, t, f"transfer '{k}'") for k, t in transfers.items()}


def _line_vector(survey: Survey, line) -> np.ndarray:
    if isinstance(line, str | pd.Series) or np.ndim(line) > 0:
        z = _survey_column(survey, line, "poverty line")
    else:
        try:
            z = np.full(survey.n_households, float(line))
        except (TypeError, ValueError):
            raise DataError(f"poverty line `line` must be a number or a column; got {line!r}."
                            ) from None
    if np.any(~np.isfinite(z) | (z <= 0)):
        raise DataError(f"the poverty line must be positive and finite; got {line!r}.")
    return z


def with_without(
    survey: Survey,
    welfare,
    transfers,
    line,
    *,
    measures: Sequence[str] = TABLE8_MEASURES,
    without_all: bool = True,
    unit: Unit = "person",
    se: SE = "linearized",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    nonpositive: Nonpositive = "error",
) -> pd.DataFrame:
    """Poverty and inequality with all transfers and without each one (Belarus 2011
    Table 8), with paired standard errors of the changes.

    Welfare without transfer k is ``welfare - transfer_k``: in the absence of the transfer
    the household's welfare falls by its full value (no behavioural response; the Belarus
    2011 counterfactual). For a partial response use
    :func:`pmt.simulate.pre_transfer_welfare` first.

    Parameters
    ----------
    survey : pmt.Survey
        Data and design.
    welfare : str or array-like
        Observed welfare per person (with every transfer), a column or one value per
        household.
    transfers : mapping, list of str or DataFrame
        ``{name: column or array}`` of transfers **per person** (household amount / size),
        in the units of welfare; a list of column names uses the names as labels.
    line : float, str or array-like
        Poverty line, same units as welfare (scalar, column or one per household).
    measures : sequence of str
        Among ``FGT0``, ``FGT1``, ``FGT2`` (headcount, poverty gap / depth, severity) and
        the names of :data:`MEASURES`. Default: the Table 8 columns.
    without_all : bool
        Add a row without all the transfers together (when there are two or more). The
        effects of single transfers do not add up to it.
    unit, se, n_replicates, seed, level
        As :func:`inequality_measures`; every scenario uses the same replicates.
    nonpositive : {"error", "drop"}
        Welfare <= 0 in some scenario (common once a large transfer is removed) makes
        GE(0), GE(1), Atkinson and the quantile ratios undefined: raise naming the
        households (default), or compute the inequality measures of that scenario over the
        households with positive welfare (counted in ``n_dropped``). Poverty measures
        always use every household. To keep everyone, floor welfare first (e.g.
        ``np.maximum(welfare - transfer, floor)``) and pass the results as scenarios.

    Returns
    -------
    pandas.DataFrame
        Index (``scenario``, ``measure``), scenarios ``"actual"``, ``"without <name>"``
        for each transfer and ``"without all"``. Columns ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``change`` (scenario - actual: the impact of the
        transfer is minus the change), ``se_change`` (paired: same households, same
        replicates), ``change_lower``, ``change_upper``, ``p_change`` (two-sided, normal)
        and ``n_dropped``. ``result["estimate"].unstack()`` is Table 8 (scenarios as
        rows, in the order given). Levels are shares (FGT) or unit-free indices.
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data plus weights, size, strata, psu).")
    _check_se(se, level)
    y, v, name = _survey_inputs(survey, welfare, unit)
    mlist = _check_measures(measures, ("FGT0", "FGT1", "FGT2", *MEASURES))
    tr = _transfers(survey, transfers)
    z = _line_vector(survey, line)
    if without_all and len(tr) > 1 and "all" in tr:
        raise DataError("a transfer is named 'all', which is the label of the row without "
                        "all transfers: rename it, or pass without_all=False.")
    scenarios: dict[str, np.ndarray] = {"actual": y}
    for k, t in tr.items():
        scenarios[f"without {k}"] = y - t
    if without_all and len(tr) > 1:
        scenarios["without all"] = y - np.sum(list(tr.values()), axis=0)
    return _scenario_table(survey, scenarios, z, mlist, unit, se, n_replicates, seed, level,
                           nonpositive, name)


def _scenario_table(survey, scenarios, z, mlist, unit, se, n_replicates, seed, level,
                    nonpositive, name) -> pd.DataFrame:
    labels = survey.data.index
    v = survey.weights(unit)
    u = survey.household_size if unit == "person" else np.ones(survey.n_households)
    poverty = [m for m in mlist if m.startswith("FGT")]
    ineq = [m for m in mlist if not m.startswith("FGT")]
    positive = [m for m in ineq if m in POSITIVE_ONLY]
    factors = survey.replicate_factors(n_replicates, seed) if se == "bootstrap" else None
    est = _Estimates(survey, se, factors)
    everyone = np.ones(survey.n_households, dtype=bool)
    dropped: dict[str, int] = {}
    for s, ys in scenarios.items():
        if poverty:
            dist = _Dist(ys, poverty, z)
            est.add(lambda m, s=s: (s, m), everyone, u, v, dist.values, dist.linearised)
        dropped[s] = 0
        if ineq:
            keep = everyone
            if positive:
                keep, dropped[s] = _nonpositive_mask(
                    ys, everyone, labels, nonpositive, f"welfare '{s}'", positive, 5)
            if not float(v[keep] @ ys[keep]) > 0:
                raise DataError(f"total welfare '{s}' is not positive: inequality measures "
                                "are undefined.")
            dist = _Dist(ys[keep], ineq)
            est.add(lambda m, s=s: (s, m), keep, u, v, dist.values, dist.linearised)
    zc = _zcrit(level)
    from scipy.stats import norm

    rows = []
    for s in scenarios:
        for m in mlist:
            e, sd = est.est[(s, m)], est.se_of((s, m))
            change = e - est.est[("actual", m)]
            sc = est.se_of((s, m), ("actual", m)) if s != "actual" else 0.0
            p = float(2 * norm.sf(abs(change) / sc)) if sc > 0 else float("nan")
            rows.append({"scenario": s, "measure": m, "estimate": e, "se": sd,
                         "ci_lower": e - zc * sd, "ci_upper": e + zc * sd, "change": change,
                         "se_change": sc, "change_lower": change - zc * sc,
                         "change_upper": change + zc * sc, "p_change": p,
                         "n_dropped": dropped[s] if m in ineq else 0})
    out = pd.DataFrame(rows)
    out["scenario"] = pd.Categorical(out["scenario"], categories=list(scenarios))
    out["measure"] = pd.Categorical(out["measure"], categories=mlist)
    out = out.set_index(["scenario", "measure"])
    out.attrs.update({"unit": unit, "se_method": se, "welfare": name, "level": level,
                      "counterfactual": "welfare minus the full transfer"})
    if se == "bootstrap":
        out.attrs.update({"n_replicates": int(n_replicates), "seed": seed})
    return out


# --- progressivity and cost-benefit ---------------------------------------------------------------------
#: Labels of :func:`classify_progressivity`.
PROGRESSIVITY_CLASSES = ("highly progressive", "mildly progressive", "regressive")


def classify_progressivity(concentration, gini_pre) -> str:
    """Progressivity class of a transfer from its concentration index.

    * ``"highly progressive"``: C < 0, per-person amounts fall as welfare rises (the
      poorest x % of people get more than x % of the transfer: absolute progressivity);
    * ``"mildly progressive"``: 0 <= C < G, the transfer is more equally distributed than
      welfare (Kakwani K = C - G < 0: progressive relative to welfare, it reduces
      relative inequality) but richer people get more per person;
    * ``"regressive"``: C >= G, distributed at least as unequally as welfare.

    ``C`` is the concentration index of the transfer and ``G`` the Gini of the welfare
    that ranks people (pre-transfer). The same three words in the Kyrgyz 2011 report
    (Table 9, after Tesliuc 2004) compare the poorest quintile's share of the transfer
    with its population share (20 %) and with its share of total consumption: the
    quintile version of the same two benchmarks (the diagonal and the Lorenz curve), given
    by :func:`classify_q1_share` and :func:`progressivity` as ``progressivity_q1``.
    """
    c, g = float(concentration), float(gini_pre)
    if not (np.isfinite(c) and np.isfinite(g)):
        return "undefined"
    if c < 0:
        return "highly progressive"
    if c < g:
        return "mildly progressive"
    return "regressive"


def classify_q1_share(benefit_share: float, welfare_share: float,
                      population_share: float = 0.2) -> str:
    """Progressivity class from the poorest quintile's share of a transfer (Kyrgyz 2011
    Table 9, after Tesliuc 2004).

    * ``"highly progressive"``: the poorest quintile's share of the transfer exceeds its
      population share (20 %);
    * ``"mildly progressive"``: the share lies between the quintile's share of total
      welfare (consumption) and its population share;
    * ``"regressive"``: the share is below the quintile's welfare share.

    Parameters
    ----------
    benefit_share : float
        Share (0-1) of the transfer's total amount received by the poorest group.
    welfare_share : float
        That group's share of total welfare (the Kyrgyz report's "Total consumption" row:
        0.098 in 2008).
    population_share : float
        That group's population share (0.2 for a quintile; :func:`progressivity` passes the
        realised share, as households are never split).
    """
    if not np.isfinite(benefit_share):
        return "undefined"
    if benefit_share > population_share:
        return "highly progressive"
    if benefit_share >= welfare_share:
        return "mildly progressive"
    return "regressive"


def progressivity(
    survey: Survey,
    welfare,
    transfers,
    line,
    *,
    ranking: Ranking = "without",
    se: SE = "linearized",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    n_groups: int = 5,
    periods: float = 1.0,
    gdp: float | None = None,
) -> pd.DataFrame:
    """Concentration, Kakwani progressivity and cost-benefit ratio of each transfer.

    For each transfer t (per person) and the welfare r that ranks people (by default
    welfare without that transfer, ``welfare - t``: Belarus 2011 ranks by "income net of
    each transfer"):

    * ``concentration``: concentration index C of t ranked by r;
    * ``gini_pre``: Gini G of r; ``kakwani``: K = C - G;
    * ``progressivity``: :func:`classify_progressivity` of (C, G);
    * ``q1_benefit_share``: share of the transfer going to the poorest of ``n_groups``
      quantile groups of r (quintile 1, households never split), ``q1_population_share``
      its realised population share and ``q1_welfare_share`` its share of total r;
      ``progressivity_q1`` the Kyrgyz 2011 / Tesliuc classification: "highly progressive"
      if the benefit share exceeds the population share, "mildly progressive" if it lies
      between the welfare share and the population share, "regressive" below the welfare
      share;
    * cost-benefit (Belarus 2011 Figure 2): ``pg_without`` = sum v max(z - (y - t), 0)
      and ``pg_with`` = sum v max(z - y, 0), the money-metric poverty gaps (totals, times
      ``periods``), ``d_pg`` their difference, ``spending`` = sum v t (times ``periods``)
      and ``cost_benefit`` = d_pg / spending, the poverty-gap reduction per unit spent
      (administrative costs not counted). ``share_of_gdp`` = spending / ``gdp`` if given.

    Parameters
    ----------
    survey : pmt.Survey
    welfare : str or array-like
        Observed welfare per person (with every transfer).
    transfers : mapping, list of str or DataFrame
        Transfers per person, as :func:`with_without`.
    line : float, str or array-like
        Poverty line in the units of welfare.
    ranking : {"without", "without_all", "with"}
        Rank people by welfare without that transfer (default), without all the listed
        transfers, or by observed welfare.
    se, n_replicates, seed, level
        Standard errors of ``concentration``, ``kakwani`` and ``cost_benefit``
        (linearised, or PSU bootstrap), with normal intervals.
    n_groups : int
        Quantile groups for the poorest-group shares (5: quintiles).
    periods : float
        Multiplies the money totals (poverty gaps, spending): e.g. 12 to turn monthly
        amounts into annual ones. The ratios do not change.
    gdp : float, optional
        GDP in the same currency and period as the (scaled) totals.

    Returns
    -------
    pandas.DataFrame
        One row per transfer (index ``transfer``).
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data plus weights, size, strata, psu).")
    _check_se(se, level)
    check_option(ranking, Ranking, name="ranking")
    if int(n_groups) != n_groups or n_groups < 2:
        raise DataError(f"`n_groups` must be an integer >= 2; got {n_groups!r}.")
    if not (np.isfinite(periods) and periods > 0):
        raise DataError(f"`periods` must be a positive number; got {periods!r}.")
    if gdp is not None and not (np.isfinite(gdp) and gdp > 0):
        raise DataError(f"`gdp` must be a positive number; got {gdp!r}.")
    y, v, name = _survey_inputs(survey, welfare, "person")
    tr = _transfers(survey, transfers)
    z = _line_vector(survey, line)
    u = survey.household_size
    every = np.ones(y.size, dtype=bool)
    all_out = y - np.sum(list(tr.values()), axis=0)
    factors = survey.replicate_factors(n_replicates, seed) if se == "bootstrap" else None
    est = _Estimates(survey, se, factors)
    zc = _zcrit(level)
    from pmt.survey import quantile_groups

    rows = []
    for k, t in tr.items():
        r = {"without": y - t, "without_all": all_out, "with": y}[ranking]
        if not float(v @ t) != 0:
            raise DataError(f"transfer '{k}' is zero for everyone: nothing to measure.")
        if not float(v @ r) > 0:
            raise DataError(f"total ranking welfare for '{k}' is not positive.")
        rank = _Ranking(r)
        gap0 = np.maximum(z - (y - t), 0.0)
        gap1 = np.maximum(z - y, 0.0)

        def evaluate(V, t=t, r=r, rank=rank, gap0=gap0, gap1=gap1):
            C = _conc_values(t, rank, V)
            G = _conc_values(r, rank, V)
            with np.errstate(invalid="ignore", divide="ignore"):
                cb = ((gap0 - gap1) @ V) / (t @ V)
            return {"concentration": C, "gini_pre": G, "kakwani": C - G, "cost_benefit": cb}

        def linearise(vv, t=t, r=r, rank=rank, gap0=gap0, gap1=gap1):
            C, zC = _conc_lin(t, rank, vv)
            G, zG = _conc_lin(r, rank, vv)
            X = float(t @ vv)
            cb = float((gap0 - gap1) @ vv) / X
            return {"concentration": (C, zC), "gini_pre": (G, zG),
                    "kakwani": (C - G, zC - zG),
                    "cost_benefit": (cb, (gap0 - gap1 - cb * t) / X)}

        est.add(lambda m, k=k: (k, m), every, u, v, evaluate, linearise)
        groups = quantile_groups(r, v, int(n_groups))
        q1 = groups == 1
        b_share = float(v[q1] @ t[q1] / (v @ t))
        p_share = float(v[q1].sum() / v.sum())
        w_share = float(v[q1] @ r[q1] / (v @ r))
        pg0, pg1 = periods * float(v @ gap0), periods * float(v @ gap1)
        spend = periods * float(v @ t)
        row: dict[str, Any] = {"transfer": k}
        for m in ("concentration", "kakwani", "cost_benefit"):
            e, s = est.est[(k, m)], est.se_of((k, m))
            row.update({m: e, f"se_{m}": s, f"{m}_lower": e - zc * s, f"{m}_upper": e + zc * s})
            if m == "concentration":
                row["gini_pre"] = est.est[(k, "gini_pre")]
        row["progressivity"] = classify_progressivity(row["concentration"], row["gini_pre"])
        row.update({"q1_benefit_share": b_share, "q1_population_share": p_share,
                    "q1_welfare_share": w_share,
                    "progressivity_q1": classify_q1_share(b_share, w_share, p_share),
                    "pg_without": pg0, "pg_with": pg1, "d_pg": pg0 - pg1, "spending": spend})
        if gdp is not None:
            row["share_of_gdp"] = spend / gdp
        rows.append(row)
    out = pd.DataFrame(rows).set_index("transfer")
    order = ["concentration", "se_concentration", "concentration_lower", "concentration_upper",
             "gini_pre", "kakwani", "se_kakwani", "kakwani_lower", "kakwani_upper",
             "progressivity", "q1_benefit_share", "q1_population_share", "q1_welfare_share",
             "progressivity_q1", "pg_without", "pg_with", "d_pg", "spending", "cost_benefit",
             "se_cost_benefit", "cost_benefit_lower", "cost_benefit_upper"]
    if gdp is not None:
        order.append("share_of_gdp")
    out = out[order]
    out.attrs.update({"unit": "person", "se_method": se, "welfare": name, "level": level,
                      "ranking": ranking, "periods": periods})
    if se == "bootstrap":
        out.attrs.update({"n_replicates": int(n_replicates), "seed": seed})
    return out
