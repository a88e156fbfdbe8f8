"""Targeting schemes judged by welfare at one budget, with paired bootstrap intervals.

Inclusion and exclusion errors count households; a programme is for reducing poverty.
Following Brown, Ravallion and van de Walle (2018), :func:`welfare_comparison` spends the
same budget through every scheme (the models' rankings and the baselines of
:mod:`pmt.evaluate.baselines`) with the same benefit design, and reports what each does to
poverty and social welfare, with intervals for the difference from a reference scheme.

Notation (DESIGN.md section 4): household i has person weight v_i = w_i n_i, welfare per
person y_i (before the transfer), poverty line z_i (one number, or one per household);
p_i = 1[y_i < z_i]. A scheme gives each household a selection probability pi_i in [0, 1]
(1 or 0 for a model's ranking except the tie group at the cut-off; a lottery for the
random baseline and rationed categories or areas) and a benefit per person b_i if
selected. After the transfer welfare is y_i + b_i if selected, y_i if not. Every measure is
a ratio of totals that are linear in the selection, so it is computed exactly in
expectation over the lotteries:

========================== ================================================================
coverage                   sum v pi / sum v
exclusion_error            sum v p (1 - pi) / sum v p
inclusion_error            sum v (1 - p) pi / sum v pi
budget_share_poor          sum v pi b p / sum v pi b: share of the budget reaching the poor
                           (1 - benefit_leakage)
weighted_exclusion_error   sum v p (1 - pi) g / sum v p g with g = (z - y) / z, the poverty
                           gap: the share of the aggregate poverty gap (FGT1 mass) held by
                           the poor left out; 0 perfect, 1 - c at random, = exclusion_error
                           if every poor household had the same gap
weighted_inclusion_error   sum v (1 - p) pi d / sum v (1 - p) d with d = (y - z) / z for the
                           non-poor, the distance above the line: the share of the non-poor's
                           aggregate excess over the line that the scheme reaches; 0 perfect,
                           c at random, 1 universal. It is normalised by the non-poor (the
                           weighted analogue of coverage_nonpoor), not by the selected as the
                           section-4 inclusion_error is, because d is unbounded and a ratio
                           to the selected would not be a share
FGT0, FGT1, FGT2           FGT(alpha) after the transfer, sum v [pi f(y + b) + (1 - pi) f(y)]
                           / sum v with f the FGT term ((z - y) / z)^alpha 1[y < z]
FGTa_change                FGT(alpha) after minus before (negative = poverty falls)
welfare_ede                equally-distributed-equivalent welfare with constant relative
                           risk aversion rho (Atkinson): W = [sum v y^(1-rho) / sum v]^(1/(1-rho)),
                           W = exp(sum v ln y / sum v) at rho = 1 (the geometric mean), the
                           mean at rho = 0; in the units of welfare, per person. After the
                           transfer the mean utility is the expected one,
                           sum v [pi u(y + b) + (1 - pi) u(y)] / sum v
welfare_ede_change         W after minus W before (positive = welfare gain)
========================== ================================================================

Benefit design (``benefit=``):

* ``"flat"``: every selected person gets the same amount, solved so the budget is spent
  exactly, b = budget / sum v pi. Model rankings select the poorest share ``share`` of
  their predicted welfare, the tie group at the cut-off rationed so that the coverage is
  exact (:func:`pmt.evaluate.baselines.ranked_selection`); the baselines select as
  documented there. Every targeted scheme then pays budget / (coverage x population) per
  person; the universal transfer budget / population.
* ``"topup"``: a model's selected households are topped up to a threshold t on their
  *predicted* welfare, b_i = max(t - yhat_i, 0) per person, t solved so that the budget
  is spent exactly (selected: yhat < t; coverage follows from the budget). Rankings must
  then be predicted welfare in levels, in the units of the line (a scale check guards
  against log predictions). Baselines have no predicted welfare: they keep the flat
  benefit at ``share``.

A top-up that lands within a relative 1e-12 below the line (rounding) counts as reaching it.

Uncertainty: percentile intervals over the PSU-clustered, strata-aware Rao-Wu bootstrap
replicates of :meth:`pmt.Survey.replicate_factors` (``seed``), one set of replicate weights
shared by every scheme, so each "<scheme> - <reference>" difference is paired. What is held
fixed and what is re-solved: the *policy* is fixed (the coverage c, the budget per person
of the population budget / sum v, the benefit design, an imported area table); everything
the data determine under that policy is re-solved in every replicate from its weights: the
cut-off of each ranking (so each scheme covers exactly c in every replicate), the flat
amount, the top-up threshold, the category shares, the survey's area poverty rates and
ranking. Holding the full-sample cut-offs fixed instead would give intervals conditional on
them (far too wide for "rate"-type cut-offs, see :mod:`pmt.evaluate.bootstrap_cutoffs`) and
would let the schemes' replicate coverages and spending drift apart, which is noise in
every paired difference. The budget is held per person rather than as a total because
Rao-Wu replicates rescale the weighted population and a fixed total would move the benefit
amount for that reason alone (in practice the population is known from the census).
The poverty line is fixed. Replicates in which a measure is undefined are left out and
counted (``n_valid``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._validation import check_weights, column_or_array
from pmt.errors import DataError, PolicyError, example_rows
from pmt.evaluate.baselines import (
    Baseline,
    RandomSelection,
    Universal,
    _Ranking,
    check_coverage,
)
from pmt.evaluate.bootstrap import factor_chunks, summarise
from pmt.survey import Survey, weighted_quantile
from pmt.welfare import fgt_terms

__all__ = [
    "MEASURES",
    "NO_TRANSFER",
    "crra_ede",
    "scheme_transfers",
    "welfare_comparison",
]

#: Measures reported for every scheme, in output order (module docstring).
MEASURES = (
    "coverage",
    "exclusion_error",
    "inclusion_error",
    "budget_share_poor",
    "weighted_exclusion_error",
    "weighted_inclusion_error",
    "FGT0",
    "FGT1",
    "FGT2",
    "FGT0_change",
    "FGT1_change",
    "FGT2_change",
    "welfare_ede",
    "welfare_ede_change",
)
#: Name of the no-transfer row (poverty and welfare before any transfer).
NO_TRANSFER = "No transfer"
_BEFORE_MEASURES = ("FGT0", "FGT1", "FGT2", "welfare_ede")
_ALPHAS = (0, 1, 2)
_LINE_RTOL = 1e-12

# Column positions of the weighted totals every measure is a ratio of.
(_TOT, _VP, _VS, _VPS, _F0, _F1, _F2, _B0, _B1, _B2, _U1, _U0, _BS, _BP, _GX, _GT, _DX,
 _DT) = range(18)
_N_TOTALS = 18


# --- social welfare ------------------------------------------------------------------------
def _check_rho(rho) -> float:
    try:
        r = float(rho)
    except (TypeError, ValueError):
        raise DataError(f"`rho` (inequality aversion) must be a number >= 0; got {rho!r}.") from None
    if not np.isfinite(r) or r < 0:
        raise DataError(
            f"`rho` (inequality aversion) must be a number >= 0, e.g. 2 (default), 1 for the "
            f"geometric mean, 0 for the mean; got {rho!r}."
        )
    return r


def _check_welfare_domain(y: np.ndarray, rho: float, labels: pd.Index, name: str) -> None:
    bad = (y <= 0) if rho >= 1 else (y < 0) if rho > 0 else np.zeros(y.size, dtype=bool)
    if bad.any():
        need = "positive" if rho >= 1 else "non-negative"
        raise DataError(
            f"CRRA welfare with rho = {rho:g} needs {need} `{name}`, but {int(bad.sum())} "
            f"values are not, at {example_rows(labels[bad])}: check those households' welfare "
            "aggregate, or choose rho < 1 (rho = 0 allows any sign)."
        )


def _utility(x: np.ndarray, rho: float) -> np.ndarray:
    """CRRA utility without constants: ln x at rho = 1, x^(1 - rho) otherwise."""
    if rho == 1:
        return np.log(x)
    if rho == 2:
        return 1.0 / x
    if rho == 0:
        return np.asarray(x, dtype=float)
    return np.power(x, 1.0 - rho)


def _inverse_utility(u, rho: float):
    u = np.asarray(u, dtype=float)
    if rho == 1:
        return np.exp(u)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.power(u, 1.0 / (1.0 - rho))


def crra_ede(y, weights=None, rho: float = 2.0) -> float:
    """Equally-distributed-equivalent welfare with constant relative risk aversion.

    W = [sum v y^(1-rho) / sum v]^(1/(1-rho)) for rho != 1, exp(sum v ln y / sum v) for
    rho = 1 (the geometric mean); rho = 0 gives the mean, rho = 2 the harmonic mean. W is
    the welfare level which, given to everybody, would be as good as the actual
    distribution; 1 - W / mean is Atkinson's inequality index.

    Parameters
    ----------
    y : array-like
        Welfare per person (e.g. consumption per person a month). Positive for rho >= 1,
        non-negative for 0 < rho < 1.
    weights : array-like, optional
        Person weights (household weight x size) for a population measure; equal if None.
    rho : float
        Inequality aversion, >= 0.

    Returns
    -------
    float
        W, in the units of ``y``.
    """
    r = _check_rho(rho)
    yv = column_or_array(y, name="y")
    if yv.size == 0:
        raise DataError("`y` is empty.")
    v = check_weights(weights, yv.size)
    labels = y.index if isinstance(y, pd.Series) else pd.RangeIndex(yv.size)
    _check_welfare_domain(yv, r, labels, "y")
    if r == 0:
        return float(np.sum(v * yv) / v.sum())
    scale = float(weighted_quantile(yv, v, 0.5)) or 1.0  # homogeneous of degree 1
    mean_u = np.sum(v * _utility(yv / scale, r)) / v.sum()
    return float(scale * _inverse_utility(mean_u, r))


# --- inputs ----------------------------------------------------------------------------------
def _survey_values(survey: Survey, x, name: str) -> np.ndarray:
    """A column name, an aligned Series or one value per household, validated as numbers."""
    return column_or_array(x, survey, name=name, align=True)


def _line_values(survey: Survey, line) -> np.ndarray:
    if isinstance(line, str) or np.ndim(line) > 0:
        z = _survey_values(survey, line, "line")
    else:
        try:
            z = np.full(survey.n_households, float(line))
        except (TypeError, ValueError):
            raise DataError(
                f"`line` must be the poverty line (a number, a column name or one value per "
                f"household); got {line!r}."
            ) from None
    bad = ~np.isfinite(z) | (z <= 0)
    if bad.any():
        raise DataError(
            f"the poverty line `line` must be positive and finite; bad at "
            f"{example_rows(survey.data.index[bad])}."
        )
    return z


@dataclass
class _Context:
    v: np.ndarray  # person weights
    y: np.ndarray
    z: np.ndarray
    p: np.ndarray  # 1.0 poor
    g: np.ndarray  # poverty gap (z - y) / z of the poor, 0 otherwise
    d: np.ndarray  # distance above the line (y - z) / z of the non-poor, 0 otherwise
    f0: np.ndarray  # (3, n) FGT terms before the transfer
    u0: np.ndarray  # utility before (of y / scale)
    scale: float
    rho: float
    per_capita_budget: float
    coverage: float


@dataclass
class _Scheme:
    name: str
    kind: str  # "model", "baseline" or "no transfer"
    mode: str  # "flat", "topup" or "none"
    prob: Callable[..., Any] | None = None  # flat: function (V, coverage) -> pi
    score: np.ndarray | None = None  # topup: predicted welfare
    order: np.ndarray | None = None

    def transfer(self, V: np.ndarray, ctx: _Context):
        """Selection probabilities pi (c, n), benefit per person if selected b ((c, 1) or
        (c, n)) and the amount (c,): the flat amount per person, or the top-up threshold.
        """
        c = V.shape[0]
        if self.mode == "none":
            return np.zeros(V.shape), np.zeros((c, 1)), np.zeros(c)
        budget = ctx.per_capita_budget * V.sum(axis=1)
        if self.mode == "flat":
            assert self.prob is not None  # flat schemes are built with their rule
            pi = self.prob(V, ctx.coverage)
            reached = (V * pi).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.where(reached > 0, budget / reached, np.nan)
            return pi, b[:, None], b
        # top-up to t on the predicted welfare, t spending the budget (piecewise linear)
        assert self.score is not None  # top-up schemes are built with score and order
        s = self.score[self.order]
        Vs = V[:, self.order]
        W = np.cumsum(Vs, axis=1)
        S = np.cumsum(Vs * s, axis=1)
        nxt = np.append(s[1:], np.inf)
        with np.errstate(invalid="ignore"):
            cost_next = nxt * W - S  # cost of topping up to the next score
        k = np.minimum((cost_next < budget[:, None]).sum(axis=1), s.size - 1)
        rows = np.arange(c)
        t = (budget + S[rows, k]) / W[rows, k]
        b = np.maximum(t[:, None] - self.score[None, :], 0.0)
        pi = (self.score[None, :] < t[:, None]).astype(float)
        return pi, b, t


def _totals(V: np.ndarray, scheme: _Scheme, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """The weighted totals (c, 18) of one scheme under weights V (c, n), and the amount.

    Sums over the transfer's effect, sum V pi (f(y + b) - f(y)), are taken only over the
    households selected with positive probability in some row (a fifth of the sample for
    a targeted scheme), which is where most of the time goes.
    """
    pi, b, amount = scheme.transfer(V, ctx)
    bad_rows = ~np.all(np.isfinite(b), axis=1)
    b = np.where(np.isfinite(b), b, 0.0)
    out = np.empty((V.shape[0], _N_TOTALS))
    out[:, _TOT] = V.sum(axis=1)
    out[:, _VP] = V @ ctx.p
    for j in range(len(_ALPHAS)):
        out[:, _B0 + j] = V @ ctx.f0[j]
    out[:, _U0] = V @ ctx.u0
    out[:, _GT] = V @ ctx.g
    out[:, _DT] = V @ ctx.d

    cols = np.flatnonzero(pi.any(axis=0))
    Vpi = V[:, cols] * pi[:, cols]
    bs = b if b.shape[1] == 1 else b[:, cols]
    y, z = ctx.y[cols], ctx.z[cols]
    y1 = y + bs
    if scheme.mode == "topup":  # a top-up that lands on the line up to rounding reaches it
        y1 = np.where((bs > 0) & (y1 < z) & (y1 >= z * (1 - _LINE_RTOL)), z, y1)

    def effect(after: np.ndarray, before: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", Vpi, after) - Vpi @ before

    out[:, _VS] = Vpi.sum(axis=1)
    out[:, _VPS] = Vpi @ ctx.p[cols]
    for j, a in enumerate(_ALPHAS):
        out[:, _F0 + j] = out[:, _B0 + j] + effect(fgt_terms(y1, z, a), ctx.f0[j][cols])
    out[:, _U1] = out[:, _U0] + effect(_utility(y1 / ctx.scale, ctx.rho), ctx.u0[cols])
    if bs.shape[1] == 1:
        out[:, _BS] = out[:, _VS] * bs[:, 0]
        out[:, _BP] = out[:, _VPS] * bs[:, 0]
    else:
        Vpib = Vpi * bs
        out[:, _BS] = Vpib.sum(axis=1)
        out[:, _BP] = Vpib @ ctx.p[cols]
    out[:, _GX] = out[:, _GT] - Vpi @ ctx.g[cols]
    out[:, _DX] = Vpi @ ctx.d[cols]
    out[bad_rows] = np.nan
    return out, amount


def _ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def _measures(t: np.ndarray, ctx: _Context) -> np.ndarray:
    """All :data:`MEASURES` from totals (..., 18), shape (..., len(MEASURES))."""
    tot = t[..., _TOT]
    ede_after = ctx.scale * _inverse_utility(_ratio(t[..., _U1], tot), ctx.rho)
    ede_before = ctx.scale * _inverse_utility(_ratio(t[..., _U0], tot), ctx.rho)
    values = {
        "coverage": _ratio(t[..., _VS], tot),
        "exclusion_error": 1.0 - _ratio(t[..., _VPS], t[..., _VP]),
        "inclusion_error": _ratio(t[..., _VS] - t[..., _VPS], t[..., _VS]),
        "budget_share_poor": _ratio(t[..., _BP], t[..., _BS]),
        "weighted_exclusion_error": _ratio(t[..., _GX], t[..., _GT]),
        "weighted_inclusion_error": _ratio(t[..., _DX], t[..., _DT]),
        "welfare_ede": ede_after,
        "welfare_ede_change": ede_after - ede_before,
    }
    for j in range(len(_ALPHAS)):
        after = _ratio(t[..., _F0 + j], tot)
        values[f"FGT{j}"] = after
        values[f"FGT{j}_change"] = after - _ratio(t[..., _B0 + j], tot)
    return np.stack([values[m] for m in MEASURES], axis=-1)


def _named_rankings(rankings) -> dict:
    if rankings is None:
        return {}
    if isinstance(rankings, pd.DataFrame):
        return {str(c): rankings[c] for c in rankings.columns}
    if not isinstance(rankings, Mapping):
        raise DataError(
            "`rankings` must be a mapping {name: predicted welfare} (column names, arrays or "
            "Series, lower = poorer), e.g. {'OLS': df['pred_ols']}, or a DataFrame of them."
        )
    return {str(k): v for k, v in rankings.items()}


def _named_baselines(baselines) -> dict[str, Baseline]:
    if baselines is None:
        baselines = [RandomSelection(), Universal()]
    if isinstance(baselines, Baseline):
        baselines = [baselines]
    if isinstance(baselines, Mapping):
        items = [(str(k), b) for k, b in baselines.items()]
    elif isinstance(baselines, Sequence) and not isinstance(baselines, str):
        # a non-baseline (no label) is rejected below
        items = [(cast(str, getattr(b, "label", None)), b) for b in baselines]
    else:
        raise PolicyError(
            "`baselines` must be a mapping {name: baseline} or a list of baselines from "
            "pmt.evaluate.baselines (RandomSelection(), Universal(), Categorical(...), "
            "Geographic(...)), or None for random and universal."
        )
    out: dict[str, Baseline] = {}
    for name, b in items:
        if not isinstance(b, Baseline):
            raise PolicyError(
                f"baseline {name!r} is a {type(b).__name__}, not a baseline: use "
                "RandomSelection(), Universal(), Categorical(column) or Geographic(area) from "
                "pmt.evaluate.baselines."
            )
        if name in out:
            raise PolicyError(f"two baselines are named {name!r}: pass a mapping with distinct names.")
        out[name] = b
    return out


def _prepare(rankings, survey, welfare, line, coverage, budget, benefit, baselines, rho,
             higher_is_poorer):
    """Validate the inputs; the context and the schemes (no transfer first)."""
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data with weights, sizes, strata, PSUs).")
    if benefit not in ("flat", "topup"):
        raise PolicyError(
            f"`benefit` must be 'flat' (the same amount per selected person) or 'topup' (to a "
            f"threshold on predicted welfare); got {benefit!r}."
        )
    r = _check_rho(rho)
    labels = survey.data.index
    y = _survey_values(survey, welfare, "welfare")
    _check_welfare_domain(y, r, labels, "welfare")
    z = _line_values(survey, line)
    v = survey.person_weight
    pop = v.sum()
    f0 = np.stack([fgt_terms(y, z, a) for a in _ALPHAS])  # poor, gap, squared gap
    p = f0[0]
    if coverage is None:
        coverage = float(v @ p / pop)
        if coverage <= 0:
            raise PolicyError(
                "nobody is poor at this line, so the default coverage (the poverty rate) is 0: "
                "pass `share`."
            )
    c = check_coverage(coverage, "share")
    if budget is None:
        budget = float(v @ np.maximum(z - y, 0.0))
        if budget <= 0:
            raise PolicyError(
                "the default budget (the aggregate poverty gap) is 0 because nobody is poor: "
                "pass `budget`."
            )
    try:
        budget_f = float(budget)
    except (TypeError, ValueError):
        raise PolicyError(f"`budget` must be a positive amount; got {budget!r}.") from None
    if not np.isfinite(budget_f) or budget_f <= 0:
        raise PolicyError(
            f"`budget` must be a positive amount (sum over households of weight x size x "
            f"benefit per person, per period); got {budget!r}."
        )
    scale = float(weighted_quantile(y, v, 0.5))
    if not scale > 0:
        scale = float(np.max(np.abs(y))) or 1.0
    ctx = _Context(
        v=v, y=y, z=z, p=p,
        g=f0[1],
        d=np.where(p > 0, 0.0, (y - z) / z),
        f0=f0,
        u0=_utility(y / scale, r),
        scale=scale, rho=r, per_capita_budget=budget_f / pop, coverage=c,
    )

    named = _named_rankings(rankings)
    base = _named_baselines(baselines)
    if not named and not base:
        raise DataError("nothing to compare: give `rankings` and/or `baselines`.")
    clash = set(named) & set(base)
    if clash:
        raise DataError(
            f"{sorted(clash)} name both a ranking and a baseline: give them distinct names."
        )
    if NO_TRANSFER in named or NO_TRANSFER in base:
        raise DataError(f"{NO_TRANSFER!r} is reserved for the row before any transfer: rename it.")
    if higher_is_poorer is None:  # a cross_fit DataFrame records each model's orientation
        higher_is_poorer = False
        if isinstance(rankings, pd.DataFrame):
            recorded = rankings.attrs.get("higher_is_poorer") or {}
            higher_is_poorer = {str(k): f for k, f in recorded.items() if str(k) in named}
    if isinstance(higher_is_poorer, Mapping):
        unknown = set(map(str, higher_is_poorer)) - set(named)
        if unknown:
            raise DataError(
                f"`higher_is_poorer` names {sorted(unknown)}, which are not rankings "
                f"({list(named)})."
            )
        need = {k: bool(higher_is_poorer.get(k, False)) for k in named}
    else:
        need = dict.fromkeys(named, bool(higher_is_poorer))

    schemes = [_Scheme(NO_TRANSFER, "no transfer", "none")]
    med_y = weighted_quantile(y, v, 0.5)
    for name, x in named.items():
        s = _survey_values(survey, x, f"rankings[{name!r}]")
        if benefit == "topup":
            if need[name]:
                raise PolicyError(
                    f"ranking {name!r} rises with need (higher_is_poorer): a top-up needs "
                    "predicted welfare in levels; use benefit='flat' for need scores."
                )
            med_s = weighted_quantile(s, v, 0.5)
            if not (med_s > 0 and 0.05 < med_s / med_y < 20):
                raise PolicyError(
                    f"ranking {name!r} (median {med_s:,.4g}) is not on the scale of welfare "
                    f"(median {med_y:,.4g}): benefit='topup' tops up predicted welfare to a "
                    "threshold, so pass predicted welfare per person in levels (e.g. "
                    "model.predict(df, scale='level')), or use benefit='flat'."
                )
            schemes.append(_Scheme(name, "model", "topup", score=s,
                                   order=np.argsort(s, kind="stable")))
        else:
            schemes.append(_Scheme(name, "model", "flat", prob=_Ranking(-s if need[name] else s)))
    for name, b in base.items():
        schemes.append(_Scheme(name, "baseline", "flat",
                               prob=b.bind(survey, p if b.needs_poverty else None)))
    return ctx, schemes


@renamed_arguments(positional=("share", "budget", "benefit", "baselines", "rho"),
                   coverage="share")
def scheme_transfers(
    rankings: Mapping | pd.DataFrame | None,
    survey: Survey,
    welfare,
    line,
    *,
    share: float | None = None,
    budget: float | None = None,
    benefit: Literal["flat", "topup"] = "flat",
    baselines: Mapping[str, Baseline] | Sequence[Baseline] | None = None,
    rho: float = 2.0,
    higher_is_poorer: bool | Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Who gets what under every scheme of :func:`welfare_comparison` (full sample).

    Arguments are those of :func:`welfare_comparison` (``share``, formerly ``coverage``,
    and the following ones keyword-only).

    Returns
    -------
    pandas.DataFrame
        Index: the survey's rows. Columns: a MultiIndex (scheme, field) with fields
        ``probability`` (pi_i, the selection probability), ``benefit`` (amount per person
        if selected, currency per period; 0 where pi = 0) and ``expected_benefit``
        (pi x benefit). sum v x expected_benefit equals the budget for every scheme.
        ``attrs`` holds ``coverage`` and ``budget``.
    """
    ctx, schemes = _prepare(rankings, survey, welfare, line, share, budget, benefit,
                            baselines, rho, higher_is_poorer)
    V = ctx.v[None, :]
    cols = {}
    for sch in schemes[1:]:
        pi, b, _ = sch.transfer(V, ctx)
        pi = pi[0]
        b = np.broadcast_to(b, V.shape)[0]
        b = np.where(pi > 0, np.nan_to_num(b), 0.0)
        cols[(sch.name, "probability")] = pi
        cols[(sch.name, "benefit")] = b
        cols[(sch.name, "expected_benefit")] = pi * b
    out = pd.DataFrame(cols, index=survey.data.index)
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["scheme", "field"])
    out.attrs.update(coverage=ctx.coverage, budget=ctx.per_capita_budget * ctx.v.sum())
    return out


@renamed_arguments(
    positional=("share", "budget", "benefit", "baselines", "reference", "rho", "n_replicates",
                "level", "seed"),
    coverage="share",
)
def welfare_comparison(
    rankings: Mapping | pd.DataFrame | None,
    survey: Survey,
    welfare,
    line,
    *,
    share: float | None = None,
    budget: float | None = None,
    benefit: Literal["flat", "topup"] = "flat",
    baselines: Mapping[str, Baseline] | Sequence[Baseline] | None = None,
    reference: str | None = None,
    rho: float = 2.0,
    n_replicates: int = 200,
    level: float = 0.95,
    seed: int = 0,
    higher_is_poorer: bool | Mapping[str, bool] | None = None,
    factors: np.ndarray | None = None,
    chunk_size: int = 25,
    return_replicates: bool = False,
):
    """Poverty and social welfare after spending one budget through each scheme.

    Definitions, the benefit designs and the bootstrap are in the module docstring.

    Parameters
    ----------
    rankings : mapping or DataFrame
        {name: predicted welfare per person} of the models to compare (column names of
        ``survey.data``, arrays or Series on the survey index); lower = poorer. Use
        out-of-sample predictions (:func:`pmt.evaluate.cross_fit`) for an honest
        comparison. Pass the true welfare as a ranking (e.g. ``{"Perfect": "pcc"}``) to
        add perfect targeting. May be empty (``{}`` or None) to compare baselines only.
    survey : pmt.Survey
        Data and design; all measures are person-weighted (w_h x n_h).
    welfare : str or array-like
        True welfare per person before the transfer, in the units of ``line`` and of the
        benefits (e.g. consumption per person a month).
    line : float, str or array-like
        Poverty line z (a number, a column, or one value per household); poor if y < z.
    share : float, optional
        Population share selected by the targeted schemes, in (0, 1]. Default: the
        poverty headcount at ``line`` (the "rate" rule of Brown, Ravallion and van de Walle
        2018). Held fixed across bootstrap replicates (``attrs["coverage"]``). Was
        ``coverage`` (deprecated: still accepted, with a FutureWarning). This and the
        following arguments are keyword-only (by position: deprecated, still accepted).
    budget : float, optional
        Total paid per period, sum v b over beneficiaries (household weight x size x
        benefit per person). Default: the aggregate poverty gap sum v max(z - y, 0), which
        would end poverty under perfect targeting with a top-up.
    benefit : {"flat", "topup"}
        Benefit design (module docstring).
    baselines : mapping or list, optional
        Baselines of :mod:`pmt.evaluate.baselines` ({name: baseline}, or a list named by
        their labels). Default: ``[RandomSelection(), Universal()]``; ``{}`` for none.
    reference : str, optional
        Scheme the others are compared with ("<scheme> - <reference>" rows, paired).
        Default: the ranking named "OLS" (any case) if there is one, else the first ranking
        (else the first baseline).
    rho : float
        Inequality aversion of the CRRA social welfare (default 2; 1 = geometric mean).
    n_replicates : int
        Bootstrap replicates (0: estimates only, no intervals).
    level : float
        Coverage of the percentile intervals (default 0.95: 2.5th to 97.5th percentile; 0.9:
        5th to 95th).
    seed : int
        Seed of :meth:`pmt.Survey.replicate_factors`: the same seed gives bit-identical
        results and the same replicates as the other bootstrap functions of pmt.
    higher_is_poorer : bool or {name: bool}, optional
        Rankings that rise with need (e.g. P(poor)); flat benefit only. Default: as
        recorded by :func:`pmt.evaluate.cross_fit` in ``rankings.attrs`` when rankings is
        its DataFrame, else False.
    factors : ndarray, optional
        A (n_psu, R) replicate factor matrix to reuse (overrides n_replicates and seed).
    chunk_size : int
        Replicates evaluated at once (memory about 10 x 8 x n_households x chunk_size
        bytes).
    return_replicates : bool
        Also return the replicate values: a DataFrame with one row per replicate and
        columns (scheme, measure), differences included.

    Returns
    -------
    pandas.DataFrame
        Tidy rows: ``scheme``, ``kind`` ("no transfer", "model", "baseline",
        "difference"), ``measure`` (:data:`MEASURES`; the "No transfer" row has FGT0-2
        and welfare_ede), ``estimate`` (full sample), ``se``, ``lower``, ``upper``
        (percentile interval), ``n_valid`` (replicates where the measure is defined).
        Differences are scheme "<scheme> - <reference>". ``attrs``: coverage, budget,
        benefit, rho, level, n_replicates, seed, reference, ``basis`` (the rankings'
        ``attrs["basis"]``, e.g. "out_of_sample" from cross_fit, else None) and
        ``schemes`` {name: {kind,
        coverage, amount, amount_is}} with the flat amount per person (or the top-up
        threshold). With ``return_replicates`` a tuple (table, replicates).

    Raises
    ------
    pmt.DataError, pmt.PolicyError
        Naming the argument at fault and the fix.
    """
    ctx, schemes = _prepare(rankings, survey, welfare, line, share, budget, benefit,
                            baselines, rho, higher_is_poorer)
    names = [s.name for s in schemes]
    models = [s.name for s in schemes if s.kind == "model"]
    if reference is None:
        lowered = [m for m in models if m.lower() == "ols"]
        reference = lowered[0] if lowered else (models[0] if models else names[1])
    elif reference not in names[1:]:
        raise DataError(
            f"`reference` {reference!r} is not one of the schemes {names[1:]}: name one of them."
        )
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1), e.g. 0.9; got {level!r}.")
    if factors is None:
        if int(n_replicates) != n_replicates or n_replicates < 0:
            raise DataError(
                f"`n_replicates` must be a whole number >= 0 (e.g. 200); got {n_replicates!r}."
            )
        F = survey.replicate_factors(int(n_replicates), seed) if n_replicates > 0 else None
    else:
        F = np.asarray(factors, dtype=float)
        if F.ndim != 2 or F.shape[0] != survey.n_psu:
            raise DataError(
                f"`factors` must have shape (n_psu={survey.n_psu}, n_replicates); got "
                f"{F.shape}. Create them with survey.replicate_factors(R, seed)."
            )

    V_full = ctx.v[None, :]
    est = np.empty((len(schemes), len(MEASURES)))
    info = {}
    for j, sch in enumerate(schemes):
        t, amount = _totals(V_full, sch, ctx)
        est[j] = _measures(t, ctx)[0]
        if sch.kind != "no transfer":
            info[sch.name] = {
                "kind": sch.kind,
                "coverage": float(est[j, MEASURES.index("coverage")]),
                "amount": float(amount[0]),
                "amount_is": "threshold" if sch.mode == "topup" else "per person",
            }
    reps = None
    if F is not None:
        chunks = []
        psu = survey.psu_codes
        for f in factor_chunks(F, chunk_size):
            V = np.ascontiguousarray(f.T)[:, psu] * ctx.v
            chunks.append(np.stack([_measures(_totals(V, sch, ctx)[0], ctx) for sch in schemes],
                                   axis=1))
        reps = np.concatenate(chunks, axis=0)  # (R, schemes, measures)

    ref = names.index(reference)
    blocks = []  # (name, kind, estimate (M,), replicates (R, M) or None, measures)
    for j, sch in enumerate(schemes):
        keep = _BEFORE_MEASURES if sch.kind == "no transfer" else MEASURES
        blocks.append((sch.name, sch.kind, est[j], None if reps is None else reps[:, j], keep))
    for j, sch in enumerate(schemes):
        if sch.kind == "no transfer" or j == ref:
            continue
        blocks.append((f"{sch.name} - {reference}", "difference", est[j] - est[ref],
                       None if reps is None else reps[:, j] - reps[:, ref], MEASURES))
    rows, rep_cols, rep_data = [], [], []
    for name, kind, e, r, keep in blocks:
        idx = [MEASURES.index(m) for m in keep]
        if r is None:
            summ = {"estimate": e[idx], "se": np.full(len(idx), np.nan),
                    "lower": np.full(len(idx), np.nan), "upper": np.full(len(idx), np.nan),
                    "n_valid": np.zeros(len(idx), dtype=np.int64)}
        else:
            summ = summarise(e[idx], r[:, idx], level)
        for k, m in enumerate(keep):
            rows.append({"scheme": name, "kind": kind, "measure": m,
                         **{s: summ[s][k] for s in ("estimate", "se", "lower", "upper",
                                                    "n_valid")}})
            if r is not None:
                rep_cols.append((name, m))
                rep_data.append(r[:, idx[k]])
    out = pd.DataFrame(rows)
    out["n_valid"] = out["n_valid"].astype(np.int64)
    out.attrs.update(
        coverage=ctx.coverage, budget=ctx.per_capita_budget * ctx.v.sum(), benefit=benefit,
        rho=ctx.rho, level=level, n_replicates=0 if F is None else int(F.shape[1]),
        seed=seed, reference=reference, schemes=info,
        basis=rankings.attrs.get("basis") if isinstance(rankings, pd.DataFrame) else None,
    )
    if not return_replicates:
        return out
    columns = pd.MultiIndex.from_tuples(rep_cols, names=["scheme", "measure"])
    data = np.column_stack(rep_data) if rep_data else np.empty((0, 0))
    replicates = pd.DataFrame(data, columns=columns)
    replicates.index.name = "replicate"
    return out, replicates
