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

How (and why this way). A plain loop over replicates (or one dense (replicates x
households) weight matrix per chunk, sorted and cumulated per model) costs a gather and a
cumulative sum of every household per replicate and model. Here nothing of size
replicates x households is formed:

* **weighted quantiles.** With households sorted by a variable x, the replicate-r weight
  of the first k households is ``sum_p F[p, r] * A[p, k]``, A[p, k] the weight of PSU p
  among them. It is evaluated on a coarse grid only: block ends every 64 sorted
  households, from the sparse (blocks x PSU) totals times the factor matrix, one product
  for a whole chunk of replicates. Each replicate's target lies in one block, which is
  then cumulated household by household (a (replicates x 64) gather) to find the exact
  first position whose cumulative weight reaches the target: the same value as
  :func:`pmt.survey.weighted_quantile` (same tolerance), ties never split. The grid is
  first searched in a window of the sorted positions around the full-sample positions of
  the targets (2 % of the weight on each side); a replicate whose target lies outside the
  window is searched again over the whole grid, so the window saves time and changes
  nothing.
* **sums over "x <= cut-off".** Between the smallest and the largest cut-off of the
  replicates of a chunk there are few households (about 1 % of them for a 20 % line with
  1,000 replicates of a 50,000-household survey). Households below every cut-off are
  summed through their PSU totals (one product with the factors, as in
  :func:`bootstrap_metrics`); those above every cut-off add nothing; only the households in
  between are handled replicate by replicate. The same split serves the joint condition
  "poor (welfare <= its replicate line) and selected (score <= its replicate cut-off)".

Replicate values equal those of the dense computation to rounding (about 1e-14; the tests
compare with a plain per-replicate loop to 1e-12). For 1,000 replicates x 5 models on
50,000 households this took 0.2 s against 3.1 s for a plain numpy loop over replicates
and 6-11 s for the former dense chunks (benchmarks/evaluate.py). Chunks of replicates
run in parallel like :func:`bootstrap_metrics`. The replicate factors are those of
:meth:`pmt.Survey.replicate_factors` (same seed, same replicates as the other bootstrap
functions, so results can be paired across them). We write this ourselves: no library
computes survey-replicate weighted quantiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

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


# --- replicate quantiles and sums without dense (replicates x households) arrays ------------
_BLOCK = 64  # sorted households per block of the coarse cumulative grid
_WINDOW_MARGIN = 0.02  # full-sample share added on each side of the replicate targets


class _SortedAxis(NamedTuple):
    """A variable sorted once, with the PSU totals of one weight in blocks of that order.

    ``blocks[b, p]`` is the weight of the households of PSU p at sorted positions
    ``b * _BLOCK`` to ``(b + 1) * _BLOCK - 1``, so ``blocks @ F`` gives the replicate weight
    of every block for every replicate column of the factor matrix F.
    """

    values: np.ndarray  # the variable, ascending
    psu: np.ndarray  # PSU code at each sorted position
    weight: np.ndarray  # weight at each sorted position
    blocks: sparse.csr_matrix  # (n_blocks, n_psu)
    psu_total: np.ndarray  # (n_psu,) weight of each PSU
    share: np.ndarray  # full-sample cumulative weight share at each sorted position


def _sorted_axis(x: np.ndarray, weight: np.ndarray, psu: np.ndarray, n_psu: int) -> _SortedAxis:
    order = np.argsort(x, kind="stable")
    w, p = weight[order], psu[order]
    rows = np.arange(x.size) // _BLOCK
    blocks = sparse.csr_matrix((w, (rows, p)), shape=(int(rows[-1]) + 1, n_psu))
    cum = np.cumsum(w)
    return _SortedAxis(x[order], p, w, blocks, np.bincount(p, weights=w, minlength=n_psu),
                       cum / cum[-1])


def _crossing(axis: _SortedAxis, F: np.ndarray, target: np.ndarray, first: int,
              stop: int) -> tuple[np.ndarray, np.ndarray]:
    """First sorted position whose cumulative replicate weight reaches ``target`` (one per
    column of F), searched in blocks ``first`` to ``stop - 1``; and whether it lies there.

    The cumulative weight is exact at block ends from the PSU totals before the window and
    ``blocks @ F`` (sparse: one pass over the window's households for all replicates); the
    block where a replicate crosses its target is then cumulated household by household (a
    (c, _BLOCK) gather).
    """
    n, c = axis.values.size, F.shape[1]
    n_blocks = axis.blocks.shape[0]
    cols = np.arange(c)
    start = first * _BLOCK
    before_window = F.T @ np.bincount(axis.psu[:start], weights=axis.weight[:start],
                                      minlength=F.shape[0]).astype(float)
    at_end = before_window + np.cumsum(np.asarray(axis.blocks[first:stop] @ F), axis=0)
    below = (at_end < target).sum(axis=0)  # whole window blocks below the target
    inside_window = ((below < stop - first) | (stop == n_blocks)) & (
        (start == 0) | (target > before_window))
    block = np.minimum(below, stop - first - 1)
    before = np.where(block > 0, at_end[np.maximum(block - 1, 0), cols], before_window)
    pos = (first + block)[:, None] * _BLOCK + np.arange(_BLOCK)
    valid = pos < n
    pos = np.minimum(pos, n - 1)
    w = axis.weight[pos] * F[axis.psu[pos], cols[:, None]] * valid
    reached = before[:, None] + np.cumsum(w, axis=1) >= target[:, None]
    # rounding can leave the block's running sum a hair below a target its end reached
    offset = np.where(reached.any(axis=1), reached.argmax(axis=1), valid.sum(axis=1) - 1)
    idx = np.where(below >= stop - first, n - 1, pos[cols, offset])
    return idx, inside_window


def _replicate_quantiles(axis: _SortedAxis, F: np.ndarray, q) -> np.ndarray:
    """Weighted quantile of ``axis`` at q (scalar or one per replicate) in every replicate
    column of F (n_psu, c): the smallest x whose cumulative replicate-weight share is >= q,
    with the tolerance and clipping of :func:`pmt.survey.weighted_quantile`.

    The search starts in a window of sorted positions around the full-sample positions of
    the targets (``_WINDOW_MARGIN`` of the weight on each side); replicates whose crossing
    lies outside it are searched again over all positions, so the window only saves time.
    """
    n, c = axis.values.size, F.shape[1]
    n_blocks = axis.blocks.shape[0]
    q = np.broadcast_to(np.asarray(q, dtype=float), (c,))
    target = q * (F.T @ axis.psu_total) * (1 - _RTOL)
    idx = np.full(c, n - 1)  # a NaN target (no weight) gives the largest value
    todo = np.flatnonzero(~np.isnan(target))
    if todo.size:
        lo = np.searchsorted(axis.share, q[todo].min() - _WINDOW_MARGIN, side="left")
        hi = np.searchsorted(axis.share, q[todo].max() + _WINDOW_MARGIN, side="left")
        first, stop = lo // _BLOCK, min(hi // _BLOCK + 1, n_blocks)
        F_todo = F if todo.size == c else F[:, todo]
        found, inside = _crossing(axis, F_todo, target[todo], first, stop)
        idx[todo] = found
        redo = todo[~inside]
        if redo.size:
            idx[redo] = _crossing(axis, F[:, redo], target[redo], 0, n_blocks)[0]
    return axis.values[idx]


def _replicate_sums(F: np.ndarray, psu: np.ndarray, weights: np.ndarray,
                    conditions=()) -> np.ndarray:
    """``sum_i weights[i, k] * F[psu_i, r] * prod_j [x_j[i] <= cut_j[r]]``, shape (c, K).

    ``conditions`` are pairs (x_j one value per household, cut_j one per replicate column
    of F). Households on the same side of every cut-off in all replicates of the chunk
    enter through their PSU totals (one product with F); only those between the smallest
    and the largest cut-off of a condition are summed one by one.
    """
    always = np.ones(psu.size, dtype=bool)
    never = np.zeros(psu.size, dtype=bool)
    for x, cut in conditions:
        always &= x <= cut.min()
        never |= x > cut.max()
    n_psu = F.shape[0]
    fixed = np.column_stack([np.bincount(psu[always], weights=weights[always, k],
                                         minlength=n_psu) for k in range(weights.shape[1])])
    out = F.T @ fixed
    moving = np.flatnonzero(~(always | never))
    if moving.size:
        factor = F[psu[moving]]  # (moving, c)
        for x, cut in conditions:
            factor *= x[moving, None] <= cut
        out += (weights[moving].T @ factor).T
    return out


class _Model(NamedTuple):
    mode: str  # "fixed", "need_line", "relative_line", "rate" or "budget"
    score: np.ndarray  # lower = poorer; the (bool) selection for "fixed" and "need_line"
    axis: _SortedAxis | None  # "rate": score sorted, weight v; "budget": weight = cost


class _Plan(NamedTuple):
    """Everything the replicate chunks share (built once per call)."""

    psu: np.ndarray
    weights: np.ndarray  # (n, 1): v; (n, 2): v and cost
    y: np.ndarray
    poor: np.ndarray | None  # absolute line: y < z; None with a relative line
    y_axis: _SortedAxis | None  # relative line: welfare sorted, weight v
    share: float | None
    models: list[_Model]
    budget: float | None


def _chunk(task) -> np.ndarray:
    """Totals (chunk, n_models, 6) for one chunk of replicate factors (module docstring)."""
    # The products here are small and memory-bound: BLAS threads gain nothing and, competing
    # with other processes on a loaded machine, made them up to ten times slower.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _chunk_totals(*task)


def _chunk_totals(F: np.ndarray, plan: _Plan) -> np.ndarray:
    F = np.ascontiguousarray(F, dtype=float)
    c = F.shape[1]
    W, psu, y = plan.weights, plan.psu, plan.y
    has_cost = W.shape[1] == 2

    def sums(rows, conditions=()):
        return _replicate_sums(F, psu[rows], W[rows], [(x[rows], cut) for x, cut in conditions])

    # poor_rows: households that can be poor (with a relative line everyone, and the
    # replicate's line decides through poor_conditions)
    everyone = np.ones(psu.size, dtype=bool)
    total = sums(everyone)  # v, cost
    if plan.y_axis is None:
        assert plan.poor is not None
        poor_rows, poor_conditions = plan.poor, []
    else:
        cut_y = _replicate_quantiles(plan.y_axis, F, plan.share)
        poor_rows, poor_conditions = everyone, [(y, cut_y)]
    poor = sums(poor_rows, poor_conditions)
    out = np.zeros((c, len(plan.models), 6))
    for j, model in enumerate(plan.models):
        if model.mode in ("fixed", "need_line"):
            sel = model.score
            selected = sums(sel)
            selected_poor = sums(sel & poor_rows, poor_conditions)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                if model.mode == "relative_line":
                    cut_s = cut_y
                elif model.mode == "rate":  # poorest share of scores equal to the poverty rate
                    assert model.axis is not None
                    cut_s = _replicate_quantiles(model.axis, F, poor[:, 0] / total[:, 0])
                else:  # budget: poorest scores until the budget is spent
                    assert model.axis is not None
                    spend = poor[:, 1] if plan.budget is None else np.full(c, plan.budget)
                    cut_s = _replicate_quantiles(model.axis, F, spend / total[:, 1])
            score_conditions = [(model.score, cut_s)]
            selected = sums(everyone, score_conditions)
            selected_poor = sums(poor_rows, score_conditions + poor_conditions)
        out[:, j, 0] = poor[:, 0]
        out[:, j, 1] = total[:, 0] - poor[:, 0]
        out[:, j, 2] = selected_poor[:, 0]
        out[:, j, 3] = selected[:, 0] - selected_poor[:, 0]
        if has_cost:
            out[:, j, 4] = selected_poor[:, 1]
            out[:, j, 5] = selected[:, 1] - selected_poor[:, 1]
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
    chunk_size: int = 250,
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
        (memory about 8 x chunk_size x (n_psu + the households between the smallest and
        largest cut-off of the chunk) bytes); results do not depend on it.

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
    psu = survey.psu_codes
    models: list[_Model] = []
    for name, sc in named.items():
        s = column_or_array(sc, survey, name=f"scores[{name!r}]", align=True)
        need = needs[name]
        if rule in ("rate", "budget"):
            s_or = -s if need else s
            by = v if rule == "rate" else cost
            assert by is not None  # rule="budget" needs benefits (checked above)
            models.append(_Model(rule, s_or, _sorted_axis(s_or, by, psu, survey.n_psu)))
        elif need:
            models.append(_Model("need_line", s >= probability_cutoff, None))
        elif line is not None:
            models.append(_Model("fixed", s < line, None))
        else:
            models.append(_Model("relative_line", s, None))
    plan = _Plan(
        psu=psu,
        weights=v[:, None] if cost is None else np.column_stack([v, cost]),
        y=y,
        poor=None if line is None else y < line,
        y_axis=None if share is None else _sorted_axis(y, v, psu, survey.n_psu),
        share=share,
        models=models,
        budget=budget,
    )
    F = get_factors(survey, factors, n_replicates, seed)
    full = _chunk((np.ones((survey.n_psu, 1)), plan))[0]
    tasks = [(f, plan) for f in factor_chunks(F, chunk_size)]
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
