"""Bootstrap of targeting metrics that re-estimates relative lines and rate cut-offs.

:func:`pmt.evaluate.bootstrap_metrics` holds every household's classification fixed. That
is exact for absolute lines and fixed score cut-offs, but with a relative line ("the
poorest 20 %") or the "rate" rule (select the poorest share of scores equal to the poverty
rate) the cut-offs are themselves estimates that move from sample to sample. Here, in
every replicate r with weights v_i * f[psu_i, r]:

* a relative line is the replicate's weighted quantile of welfare at the share q, and the
  poor are y <= that quantile (DESIGN.md section 4);
* the "rate" rule selects score <= the replicate's weighted quantile of the score at the
  replicate's poverty rate (ties never split, as in :func:`select_by`);
* the "line" rule selects score < z (absolute line), score <= the replicate's relative
  line, or P(poor) >= ``probability_cutoff`` for need scores;
* the "budget" rule (with ``benefits``, a benefit per person) selects households in order
  of the score, poorest first, until the replicate's budget is spent: score <= the
  replicate's weighted quantile of the score under the cost weights (person weight x
  benefit per person) at the share budget / cost of paying everybody. The budget is a
  fixed total, or by default the replicate's cost of paying exactly the poor (what
  perfect targeting would spend). As in the "rate" rule, the tie group (usually one
  household) that crosses the budget is included, so a model spends the budget plus at
  most that household's benefit. With the same benefit per person for everybody and the
  default budget, the "budget" rule is the "rate" rule.

Weighted quantiles of all replicates of a chunk come from one sort of the variable and a
cumulative sum of the (n, chunk) replicate-weight matrix, so the work is vectorised over
replicates; chunks run in parallel like :func:`bootstrap_metrics`. The replicate factors
are those of :meth:`pmt.Survey.replicate_factors` (same seed, same replicates as the other
bootstrap functions, so results can be paired across them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._literals import CutoffRule, Cutoffs
from pmt._validation import check_option, column_or_array
from pmt.errors import DataError
from pmt.evaluate._parallel import run_tasks
from pmt.evaluate.bootstrap import (
    _named,
    factor_chunks,
    get_factors,
    psu_totals,
    replicate_totals,
    summarise,
)
from pmt.evaluate.metrics import BENEFIT_METRICS, METRICS, Unit, metrics_from_totals
from pmt.evaluate.overlap import overlap_counts, overlap_from_table
from pmt.survey import Survey, quantile_groups

_RTOL = 1e-12  # as pmt.survey.weighted_quantile


def _column_quantiles(x_sorted: np.ndarray, cum: np.ndarray, q) -> np.ndarray:
    """Weighted quantile per replicate row of ``cum`` (c, n): the smallest x whose
    cumulative weight share is >= q (q scalar or one per row).
    """
    c = cum.shape[0]
    target = np.broadcast_to(np.asarray(q, dtype=float), (c,)) * cum[:, -1] * (1 - _RTOL)
    idx = np.array([np.searchsorted(cum[r], target[r], side="left") for r in range(c)])
    return x_sorted[np.minimum(idx, x_sorted.size - 1)]


def _sorted_sum(cum: np.ndarray, x_sorted: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Per row r: sum of the weights of households with x <= cut[r], from cumulative sums
    (c, n) in x order (whole tie groups, as x <= cut).
    """
    k = np.searchsorted(x_sorted, cut, side="right")
    rows = np.arange(cum.shape[0])
    return np.where(k > 0, cum[rows, np.maximum(k - 1, 0)], 0.0)


def _need_flags(higher_is_poorer, names) -> dict[str, bool]:
    """{name: whether that model's score rises with need} from a bool or a mapping."""
    if isinstance(higher_is_poorer, Mapping):
        return {n: bool(higher_is_poorer.get(n, False)) for n in names}
    return dict.fromkeys(names, bool(higher_is_poorer))


def _positive(x, name: str) -> float:
    try:
        val = float(x)
    except (TypeError, ValueError):
        raise DataError(f"`{name}` must be a positive number; got {x!r}.") from None
    if not np.isfinite(val) or val <= 0:
        raise DataError(f"`{name}` must be a positive number; got {x!r}.")
    return val


def benefit_costs(survey: Survey, benefits) -> np.ndarray | None:
    """Amount paid to each household if selected: person weight x benefit per person.

    ``benefits`` is one number for everybody, a column of ``survey.data`` or one value per
    household (non-negative, not all zero); None gives None.
    """
    if benefits is None:
        return None
    if np.ndim(benefits) == 0 and not isinstance(benefits, str):
        b = np.full(survey.n_households, _positive(benefits, "benefits"))
    else:
        b = column_or_array(benefits, survey, name="benefits", align=True)
        if (b < 0).any():
            raise DataError("`benefits` has negative amounts: pass benefits per person >= 0.")
        if not (b > 0).any():
            raise DataError("`benefits` is zero for every household: nothing would be paid.")
    return survey.person_weight * b


def _check_reference(reference, names) -> None:
    if reference is not None and reference not in names:
        raise DataError(f"`reference` '{reference}' is not one of the models {list(names)}.")


def _paired_summary(est: dict, rep: dict, keys, reference, level: float, label: str):
    """Tidy statistics of every model and "<model> - <reference>" paired differences.

    ``est[model][key]`` is a full-sample value and ``rep[model][key]`` its replicates;
    difference entries are added to both. Returns the table (columns ``model``, ``label``
    and :func:`summarise`'s) and the replicate columns and values in the same order.
    """
    if reference is not None:
        for m in list(est):
            if m != reference:
                key = f"{m} - {reference}"
                est[key] = {k: est[m][k] - est[reference][k] for k in keys}
                rep[key] = {k: rep[m][k] - rep[reference][k] for k in keys}
    rows, rep_cols, rep_data = [], [], []
    for model in est:
        for k in keys:
            summ = summarise(np.atleast_1d(est[model][k]), rep[model][k][:, None], level)
            rows.append({"model": model, label: k, **{s: summ[s][0] for s in summ}})
            rep_cols.append((model, k))
            rep_data.append(rep[model][k])
    out = pd.DataFrame(rows)
    out["n_valid"] = out["n_valid"].astype(np.int64)
    return out, rep_cols, rep_data


def _chunk(task) -> np.ndarray:
    """Totals (chunk, n_models, 6) for one chunk of replicate factors.

    Works on (replicates, households) arrays so that cumulative sums run along contiguous
    memory; weighted quantiles are read off the cumulative sums with one searchsorted per
    replicate, and sums over "x <= cut" are read off them too. ``cost`` (person weight x
    benefit per person, or None) gives the benefit totals and the "budget" rule.
    """
    F, psu, v, y, y_order, kind, z, share, models, prob_cut, cost, budget = task
    Ft = np.ascontiguousarray(F.T)[:, psu]  # (c, n) replicate factor of every household
    Vt = Ft * v  # replicate weights
    vtot = Vt.sum(axis=1)
    if kind == "line":
        poor = (y < z)[None, :]
        cut_y = None
    else:
        ys = y[y_order]
        cut_y = _column_quantiles(ys, np.cumsum(Vt[:, y_order], axis=1), share)
        poor = y[None, :] <= cut_y[:, None]
    Vp = Vt * poor
    vp = Vp.sum(axis=1)
    if cost is not None:
        Ct = Ft * cost  # replicate amounts paid if selected
        Cp = Ct * poor
        ctot = Ct.sum(axis=1)
        target = Cp.sum(axis=1) if budget is None else np.full(Ct.shape[0], float(budget))
    out = np.zeros((F.shape[1], len(models), 6))
    for j, (mode, s, s_order) in enumerate(models):
        if mode in ("fixed", "need_line"):
            sel = (s > 0) if mode == "fixed" else (s >= prob_cut)
            sel = sel.astype(float)
            vs, vps = Vt @ sel, Vp @ sel
            if cost is not None:
                vb, vbp = Ct @ sel, Cp @ sel
        else:
            ss = s[s_order]
            cum = np.cumsum(Vt[:, s_order], axis=1)
            cum_c = None if cost is None else np.cumsum(Ct[:, s_order], axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                if mode == "relative_line":
                    assert cut_y is not None  # a relative line is used only when kind == "share"
                    cut_s = cut_y
                elif mode == "rate":  # poorest share of scores equal to the poverty rate
                    cut_s = _column_quantiles(ss, cum, vp / vtot)
                else:  # budget: poorest scores until the budget is spent
                    assert cum_c is not None  # rule="budget" needs benefits (checked before)
                    cut_s = _column_quantiles(ss, cum_c, target / ctot)
            vs = _sorted_sum(cum, ss, cut_s)
            vps = _sorted_sum(np.cumsum(Vp[:, s_order], axis=1), ss, cut_s)
            if cost is not None:
                assert cum_c is not None  # set whenever cost is given
                vb = _sorted_sum(cum_c, ss, cut_s)
                vbp = _sorted_sum(np.cumsum(Cp[:, s_order], axis=1), ss, cut_s)
        out[:, j, 0] = vp
        out[:, j, 1] = vtot - vp
        out[:, j, 2] = vps
        out[:, j, 3] = vs - vps
        if cost is not None:
            out[:, j, 4] = vbp
            out[:, j, 5] = vb - vbp
    return out


def bootstrap_targeting(
    survey: Survey,
    welfare,
    scores,
    *,
    line: float | None = None,
    share: float | None = None,
    rule: Literal["line", "rate", "budget"] = "rate",
    higher_is_poorer: bool | Mapping[str, bool] = False,
    probability_cutoff: float = 0.5,
    benefits=None,
    budget: float | None = None,
    unit: Unit = "person",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    reference: str | None = None,
    factors: np.ndarray | None = None,
    chunk_size: int = 25,
    n_jobs: int = 1,
    client=None,
    return_replicates: bool = False,
):
    """Bootstrap targeting metrics re-estimating relative lines and rate cut-offs.

    Parameters
    ----------
    survey : pmt.Survey
        Data and design.
    welfare : str or array-like
        True welfare per person (same scale as ``line`` and as the scores for the "line"
        rule).
    scores : str, array-like, mapping or DataFrame
        Predicted welfare of one or several models ({name: column or array}); lower =
        poorer unless ``higher_is_poorer``.
    line, share : float
        Exactly one: absolute line (poor if y < line) or poorest share (poor if y <= the
        replicate's weighted quantile at ``share``).
    rule : {"line", "rate", "budget"}
        Predicted-poor rule (module docstring); "budget" needs ``benefits``.
    higher_is_poorer : bool or {name: bool}
        Need scores such as P(poor): "rate" and "budget" select the highest scores, "line"
        selects score >= ``probability_cutoff``.
    benefits : float, str or array-like, optional
        Benefit **per person** paid to a selected household (DESIGN.md section 4): one
        amount for everybody, a column of ``survey.data`` or one value per household; the
        same schedule for every model. With it ``cgh`` is computed on amounts and
        ``benefit_leakage`` is added, and the "budget" rule can be used.
    budget : float, optional
        "budget" rule: the total to spend (sum over households of household weight x size
        x benefit per person, i.e. the amount paid). Default: in every replicate, the cost
        of paying exactly the poor.
    unit, n_replicates, seed, level, reference, factors, n_jobs, client, return_replicates
        As in :func:`bootstrap_metrics`. ``chunk_size`` replicates are processed at once
        (memory about 3 x 8 x n_households x chunk_size bytes, 6 x with ``benefits``).

    Returns
    -------
    pandas.DataFrame
        Tidy: ``model``, ``metric`` (the section-4 metrics; ``benefit_leakage`` too with
        ``benefits``), ``estimate`` (full sample: identical to :func:`targeting_metrics`
        on :func:`classify_poor` / :func:`select_by`), ``se``, ``lower``, ``upper``,
        ``n_valid``; "<model> - <reference>" rows with paired intervals when
        ``reference`` is given.
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey.")
    if (line is None) == (share is None):
        raise DataError("pass exactly one of `line` (absolute) and `share` (poorest share).")
    if share is not None and not 0 < share < 1:
        raise DataError(f"`share` must lie in (0, 1); got {share!r}.")
    check_option(rule, CutoffRule, name="rule")
    y = column_or_array(welfare, survey, name="welfare", align=True)
    v = survey.weights(unit)
    cost = benefit_costs(survey, benefits)
    if rule == "budget" and cost is None:
        raise DataError(
            "rule='budget' needs `benefits` (the benefit per person paid to a selected "
            "household), e.g. benefits=30_000."
        )
    if budget is not None:
        if rule != "budget":
            raise DataError(f"`budget` is used by rule='budget' only; got rule={rule!r}.")
        budget = _positive(budget, "budget")
    named = _named(scores, "model")
    _check_reference(reference, named)
    needs = _need_flags(higher_is_poorer, named)
    models: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    for name, sc in named.items():
        s = column_or_array(sc, survey, name=f"scores[{name!r}]", align=True)
        need = needs[name]
        if rule in ("rate", "budget"):
            s_or = -s if need else s
            models.append((rule, s_or, np.argsort(s_or, kind="stable")))
        elif need:
            models.append(("need_line", s, None))
        elif line is not None:
            models.append(("fixed", (s < line).astype(float), None))
        else:
            models.append(("relative_line", s, np.argsort(s, kind="stable")))
    kind = "line" if line is not None else "share"
    y_order = np.argsort(y, kind="stable")
    F = get_factors(survey, factors, n_replicates, seed)
    psu = survey.psu_codes
    common = (psu, v, y, y_order, kind, line, share, models, probability_cutoff, cost, budget)
    full = _chunk((np.ones((survey.n_psu, 1)), *common))[0]
    tasks = [(f, *common) for f in factor_chunks(F, chunk_size)]
    reps = np.concatenate(run_tasks(_chunk, tasks, n_jobs, client, desc="bootstrap chunks"),
                          axis=0)

    names = list(named)
    has_b = cost is not None
    est = {m: metrics_from_totals(full[j], has_b) for j, m in enumerate(names)}
    rep = {m: metrics_from_totals(reps[:, j], has_b) for j, m in enumerate(names)}
    keys = BENEFIT_METRICS if has_b else METRICS
    out, rep_cols, rep_data = _paired_summary(est, rep, keys, reference, level, "metric")
    out.attrs.update(n_replicates=int(F.shape[1]), level=level, unit=unit, rule=rule,
                     line=line, share=share, budget=budget)
    if not return_replicates:
        return out
    replicates = pd.DataFrame(
        np.column_stack(rep_data),
        columns=pd.MultiIndex.from_tuples(rep_cols, names=["model", "metric"]),
    )
    replicates.index.name = "replicate"
    return out, replicates


# --- decile overlap -------------------------------------------------------------------------
def _replicate_groups(x: np.ndarray, order: np.ndarray, Vt: np.ndarray, n: int) -> np.ndarray:
    """Quantile groups 0..n-1 of x under every replicate weight row of Vt, shape (c, n_hh)."""
    cum = np.cumsum(Vt[:, order], axis=1)
    xs = x[order]
    groups = np.zeros(Vt.shape, dtype=np.int64)
    for k in range(1, n):
        groups += x[None, :] > _column_quantiles(xs, cum, k / n)[:, None]
    return groups


def _overlap_chunk(task) -> np.ndarray:
    """Weighted n x n overlap tables (c, n, n) for one chunk, groups re-estimated."""
    F, psu, v, y, y_order, s, s_order, n = task
    Vt = np.ascontiguousarray(F.T)[:, psu] * v
    c = Vt.shape[0]
    cell = _replicate_groups(y, y_order, Vt, n) * n + _replicate_groups(s, s_order, Vt, n)
    cell += np.arange(c)[:, None] * n * n
    return np.bincount(cell.ravel(), weights=Vt.ravel(), minlength=c * n * n).reshape(c, n, n)


@renamed_arguments(n="n_groups")
def bootstrap_overlap(
    survey: Survey,
    actual,
    predicted,
    *,
    n_groups: int = 10,
    cutoffs: Literal["replicate", "fixed"] = "replicate",
    higher_is_poorer: bool | Mapping[str, bool] = False,
    unit: Unit = "person",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    reference: str | None = None,
    factors: np.ndarray | None = None,
    chunk_size: int = 25,
    n_jobs: int = 1,
    client=None,
    cells: bool = False,
):
    """Bootstrap the decile-overlap summaries (diagonal, within one, Overlap(k)).

    Parameters
    ----------
    survey : pmt.Survey
    actual : str or array-like
        Actual welfare.
    predicted : str, array-like, mapping or DataFrame
        Predicted welfare of one or several models ({name: column or array}).
    n_groups : int
        Number of quantile groups (was ``n``, deprecated: still accepted, with a
        FutureWarning).
    cutoffs : {"replicate", "fixed"}
        "replicate" (default): the quantile cut-points of both variables are re-estimated
        in every replicate, as the definition requires; "fixed": households keep their
        full-sample groups and only the weights vary (cheaper: one matrix product).
    higher_is_poorer : bool or {name: bool}
        Need scores: group 1 is the highest score.
    unit, n_replicates, seed, level, reference, factors, chunk_size, n_jobs, client
        As in :func:`bootstrap_targeting`.
    cells : bool
        Also return every cell of the n x n table (population shares, summing to 1 in
        each replicate) with its interval.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``model``, ``measure``, ``estimate`` (equal to :func:`overlap_shares` of
        :func:`decile_overlap`), ``se``, ``lower``, ``upper``, ``n_valid``; paired
        "<model> - <reference>" rows with ``reference``. With ``cells=True`` a tuple
        (summaries, cells) where cells has ``model``, ``actual``, ``predicted`` and the
        same statistic columns.
    """
    check_option(cutoffs, Cutoffs, name="cutoffs")
    if int(n_groups) != n_groups or n_groups < 2:
        raise DataError(f"`n_groups` must be an integer >= 2; got {n_groups!r}.")
    n = int(n_groups)
    y = column_or_array(actual, survey, name="actual", align=True)
    v = survey.weights(unit)
    named = _named(predicted, "model")
    _check_reference(reference, named)
    needs = _need_flags(higher_is_poorer, named)
    F = get_factors(survey, factors, n_replicates, seed)
    y_order = np.argsort(y, kind="stable")
    ga = quantile_groups(y, v, n)
    est, rep, cell_rows = {}, {}, []
    for model, pred in named.items():
        s = column_or_array(pred, survey, name=f"predicted[{model!r}]", align=True)
        if needs[model]:
            s = -s
        gp = quantile_groups(s, v, n)
        counts = overlap_counts(ga, gp, v, n)
        est[model] = overlap_from_table(counts)
        if cutoffs == "fixed":
            cell = (ga - 1) * n + (gp - 1)
            P = psu_totals(survey, v, cell, n * n)
            tables = replicate_totals(P, F, n_jobs, client, chunk_size).reshape(-1, n, n)
        else:
            s_order = np.argsort(s, kind="stable")
            tasks = [(f, survey.psu_codes, v, y, y_order, s, s_order, n)
                     for f in factor_chunks(F, chunk_size)]
            tables = np.concatenate(
                run_tasks(_overlap_chunk, tasks, n_jobs, client, desc="bootstrap overlap"), axis=0)
        rep[model] = overlap_from_table(tables)
        if cells:
            full_t = counts.ravel() / v.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                rep_t = tables.reshape(-1, n * n) / tables.sum(axis=(1, 2))[:, None]
            summ = summarise(full_t, rep_t, level)
            for j in range(n * n):
                cell_rows.append({"model": model, "actual": j // n + 1,
                                  "predicted": j % n + 1, **{k: summ[k][j] for k in summ}})
    measures = list(next(iter(est.values())))
    out = _paired_summary(est, rep, measures, reference, level, "measure")[0]
    out.attrs.update(n_replicates=int(F.shape[1]), level=level, cutoffs=cutoffs, n_groups=n)
    if not cells:
        return out
    table = pd.DataFrame(cell_rows)
    table["n_valid"] = table["n_valid"].astype(np.int64)
    return out, table
