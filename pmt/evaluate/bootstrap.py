"""Design-based uncertainty for targeting metrics and table cells: a vectorised bootstrap.

Every targeting metric, incidence-table cell and overlap share is a ratio of weighted
totals (see :mod:`pmt.evaluate.metrics`). With the PSU-level Rao-Wu rescaling factors of
:meth:`pmt.Survey.replicate_factors` (shape (n_psu, R); household replicate weight
w * factor[psu]) a replicate total is ``sum_psu factor[psu, r] * T[psu]`` where T are the
PSU totals of the household contributions. So the whole bootstrap is

1. aggregate the contributions of every model, metric and subgroup to PSU totals once
   (a sparse indicator product), giving P of shape (n_psu, C);
2. one matrix product ``factors.T @ P`` (R, C), in chunks of replicates, optionally in
   parallel (joblib or a Dask client);
3. the metric formulas applied to whole arrays of replicate totals.

No DataFrame is copied or resampled. The same factor matrix serves every model, metric and
subgroup, so differences between models come with paired intervals (the covariance
between models is kept), and passing the same ``seed`` (or the same ``factors``) to
separate calls reuses the same replicates.

What is held fixed: the classification of each household (poor, selected, quantile group)
is taken from the full sample. With absolute lines and fixed score cut-offs this is the
design-based bootstrap itself. With relative lines ("poorest 20 %"), rate selection or
quantile groups the cut-offs are estimates that move with the sample, and holding them
fixed gives the variance conditional on them, which can be far from the unconditional one
(in our simulation it overstated the s.e. of coverage_poor by 40 %): use
:func:`pmt.evaluate.bootstrap_targeting` and :func:`pmt.evaluate.bootstrap_overlap`, which
re-estimate the cut-offs in every replicate.

Intervals are percentile intervals of the replicates; ``se`` is their standard deviation.
Replicates in which a metric is undefined (0/0, e.g. no poor household drawn in a small
subgroup) are left out and counted (``n_valid``).

We write this ourselves: statsmodels and scikit-learn have no survey bootstrap, and
resampling DataFrames is two orders of magnitude slower (see benchmarks/evaluate.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from pmt._deprecation import renamed_arguments
from pmt._validation import column_or_array
from pmt.errors import DataError
from pmt.evaluate._parallel import run_tasks
from pmt.evaluate.metrics import (
    BENEFIT_METRICS,
    METRICS,
    Unit,
    metrics_from_totals,
    totals,
)
from pmt.evaluate.subgroups import group_blocks
from pmt.evaluate.tables import TABLE_COLUMNS, table_contributions, table_from_totals
from pmt.survey import Survey, quantile_groups


# --- building blocks ----------------------------------------------------------------------
def psu_totals(survey: Survey, contrib: np.ndarray, codes=None, n_codes: int = 1) -> np.ndarray:
    """PSU totals of household contributions, shape (n_psu, n_codes * K).

    With ``codes`` (0..n_codes-1 per household, e.g. subgroups or deciles) the totals are
    taken per PSU and code; column ``code * K + k`` holds contribution k of that code.
    """
    contrib = np.asarray(contrib, dtype=float)
    if contrib.ndim == 1:
        contrib = contrib[:, None]
    n, k = contrib.shape
    psu = survey.psu_codes
    if codes is None:
        codes = np.zeros(n, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    rows = psu * n_codes + codes
    ind = sparse.csr_matrix(
        (np.ones(n), (rows, np.arange(n))), shape=(survey.n_psu * n_codes, n)
    )
    out = np.asarray(ind @ contrib).reshape(survey.n_psu, n_codes * k)
    return out


def _replicate_chunk(task) -> np.ndarray:
    P, F = task
    return F.T @ P


def replicate_totals(
    P: np.ndarray, factors: np.ndarray, n_jobs: int = 1, client=None, chunk_size: int = 250
) -> np.ndarray:
    """Replicate totals ``factors.T @ P`` (R, C), in chunks of replicates (optionally parallel).

    Chunks are fixed slices of the factor columns, so the result does not depend on
    ``n_jobs`` or on the client.
    """
    tasks = [(P, f) for f in factor_chunks(factors, chunk_size)]
    return np.vstack(run_tasks(_replicate_chunk, tasks, n_jobs, client, desc="bootstrap chunks"))


def factor_chunks(factors: np.ndarray, chunk_size) -> list[np.ndarray]:
    """The factor matrix cut into fixed slices of ``chunk_size`` replicate columns."""
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise DataError(f"`chunk_size` must be a positive integer; got {chunk_size!r}.")
    c = int(chunk_size)
    return [factors[:, a:a + c] for a in range(0, factors.shape[1], c)]


def get_factors(survey: Survey, factors, n_replicates: int, seed) -> np.ndarray:
    """The replicate factor matrix: ``factors`` if given (checked), else generated."""
    if factors is None:
        return survey.replicate_factors(n_replicates, seed)
    f = np.asarray(factors, dtype=float)
    if f.ndim != 2 or f.shape[0] != survey.n_psu:
        raise DataError(
            f"`factors` must have shape (n_psu={survey.n_psu}, n_replicates); got {f.shape}. "
            "Create them with survey.replicate_factors(R, seed)."
        )
    return f


def summarise(estimate, reps, level: float) -> dict[str, np.ndarray]:
    """Standard error, percentile interval and count of defined replicates (axis 0)."""
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1), e.g. 0.9; got {level!r}.")
    reps = np.asarray(reps, dtype=float)
    valid = ~np.isnan(reps)
    n_valid = valid.sum(axis=0)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(reps, axis=0) / n_valid
        dev = np.where(valid, reps - mean, 0.0)
        se = np.sqrt((dev**2).sum(axis=0) / (n_valid - 1))
    se = np.where(n_valid > 1, se, np.nan)
    lower = np.full(reps.shape[1:], np.nan)
    upper = np.full(reps.shape[1:], np.nan)
    full = n_valid == reps.shape[0]
    if full.any():  # np.quantile is much faster than nanquantile where nothing is missing
        q = np.quantile(reps[:, full], [lo_q, hi_q], axis=0)
        lower[full], upper[full] = q[0], q[1]
    part = (n_valid > 0) & ~full
    if part.any():
        q = np.nanquantile(reps[:, part], [lo_q, hi_q], axis=0)
        lower[part], upper[part] = q[0], q[1]
    return {
        "estimate": np.asarray(estimate, dtype=float),
        "se": se,
        "lower": lower,
        "upper": upper,
        "n_valid": n_valid,
    }


def _named(x, default: str) -> dict:
    if isinstance(x, Mapping):
        if not x:
            raise DataError("`selected` is an empty mapping: give at least one model.")
        return {str(k): v for k, v in x.items()}
    if isinstance(x, pd.DataFrame):
        return {str(c): x[c] for c in x.columns}
    if isinstance(x, str):
        return {x: x}
    return {default: x}


# --- metrics --------------------------------------------------------------------------------
def bootstrap_metrics(
    survey: Survey,
    poor,
    selected,
    benefits=None,
    *,
    groups=None,
    unit: Unit = "person",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    reference: str | None = None,
    factors: np.ndarray | None = None,
    n_jobs: int = 1,
    client=None,
    chunk_size: int = 250,
    return_replicates: bool = False,
):
    """Bootstrap standard errors and percentile intervals of the targeting metrics.

    Parameters
    ----------
    survey : pmt.Survey
        Data with weights, sizes, strata and PSUs. Person weights are w_h * n_h.
    poor : str or array-like of 0/1
        Column name of ``survey.data`` or one value per household.
    selected : str, array-like, mapping or DataFrame
        Selection of one model, or several models as {name: column or array} (or DataFrame
        columns): all use the same replicates.
    benefits : str, array-like or mapping, optional
        Benefit per person (household amount / size); a mapping gives one per model.
    groups : str, Series, DataFrame or mapping, optional
        Grouping variables (column names of ``survey.data`` are accepted): metrics are also
        given within each level, as in :func:`subgroup_metrics`.
    unit : {"person", "household"}
        Population shares over persons (default) or households.
    n_replicates, seed : int
        Number of bootstrap replicates and the seed of
        :meth:`Survey.replicate_factors`; ignored when ``factors`` is given.
    level : float
        Coverage of the percentile intervals (default 0.95: 2.5th and 97.5th percentiles;
        0.9 -> 5th and 95th).
    reference : str, optional
        Name of a model: rows "<model> - <reference>" with paired intervals for the
        difference are added for every other model.
    factors : ndarray, optional
        A (n_psu, R) factor matrix to reuse across calls.
    n_jobs, client, chunk_size
        Parallel execution of replicate chunks (joblib processes, or a dask.distributed
        client). Results are identical for any of them.
    return_replicates : bool
        Also return the replicate values as a DataFrame (rows = replicates).

    Returns
    -------
    pandas.DataFrame
        Tidy: columns ``model`` (``block``, ``group`` with groups), ``metric``,
        ``estimate`` (full sample), ``se``, ``lower``, ``upper``, ``n_valid`` (replicates
        in which the metric is defined). With ``return_replicates`` a tuple (table,
        replicates).
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data with weights, strata and PSUs).")
    p = column_or_array(poor, survey, name="poor", binary=True, align=True)
    v = survey.weights(unit)
    pw = survey.person_weight
    models = _named(selected, "model")
    if isinstance(benefits, Mapping):
        missing = set(models) - set(map(str, benefits))
        if missing:
            raise DataError(f"`benefits` has no entry for models {sorted(missing)}.")
        bmap = {str(k): b for k, b in benefits.items()}
    else:
        bmap = dict.fromkeys(models, benefits)
    has_b = benefits is not None
    names = BENEFIT_METRICS if has_b else METRICS
    if reference is not None and reference not in models:
        raise DataError(f"`reference` '{reference}' is not one of the models {list(models)}.")

    keyed: list[tuple[str, np.ndarray, pd.Index]] = [
        ("Total", np.zeros(survey.n_households, dtype=np.int64), pd.Index(["All"]))
    ]
    if groups is not None:
        g = groups
        if isinstance(g, str):
            g = survey.data[[g]] if g in survey.data.columns else None
        elif isinstance(g, list | tuple) and all(isinstance(c, str) for c in g):
            absent = [c for c in g if c not in survey.data.columns]
            if absent:
                raise DataError(f"`groups` columns {absent} are not in the survey data.")
            g = survey.data[list(g)]
        if g is None:
            raise DataError(f"`groups` column '{groups}' is not in the survey data.")
        if isinstance(g, pd.Series | pd.DataFrame) and not g.index.equals(survey.data.index):
            raise DataError(
                "`groups` has an index different from the survey data's; reindex it to the "
                "survey rows or pass column names."
            )
        for block, (codes, levels) in group_blocks(g, survey.n_households).items():
            keyed.append((block, codes, levels))

    blocks_P, layout = [], []
    for model, sel in models.items():
        s = column_or_array(sel, survey, name=f"selected[{model!r}]", binary=True, align=True)
        bw = None
        if has_b:
            b = column_or_array(bmap[model], survey, name=f"benefits[{model!r}]", align=True)
            if (b < 0).any():
                raise DataError(f"`benefits` for model {model!r} has negative amounts.")
            bw = pw * b
        contrib = totals(p, s, v, bw)
        for block, codes, levels in keyed:
            blocks_P.append(psu_totals(survey, contrib, codes, levels.size))
            layout.append((model, block, levels))
    P = np.hstack(blocks_P)
    F = get_factors(survey, factors, n_replicates, seed)
    reps_all = replicate_totals(P, F, n_jobs, client, chunk_size)
    est_all = P.sum(axis=0)

    rows, rep_cols, rep_data = [], [], []
    results = {}
    col = 0
    for model, block, levels in layout:
        G = levels.size
        sl = slice(col, col + 6 * G)
        col += 6 * G
        est = metrics_from_totals(est_all[sl].reshape(G, 6), has_b)
        rep = metrics_from_totals(reps_all[:, sl].reshape(-1, G, 6), has_b)
        results[(model, block)] = (est, rep, levels)
    diffs = []
    if reference is not None:
        for model in models:
            if model == reference:
                continue
            for block, _, levels in keyed:
                e1, r1, _ = results[(model, block)]
                e0, r0, _ = results[(reference, block)]
                est = {k: e1[k] - e0[k] for k in names}
                rep = {k: r1[k] - r0[k] for k in names}
                diffs.append(((f"{model} - {reference}", block), (est, rep, levels)))
    for (model, block), (est, rep, levels) in [*results.items(), *diffs]:
        for metric in names:
            summ = summarise(est[metric], rep[metric], level)
            for j, lev in enumerate(levels):
                rows.append(
                    {"model": model, "block": block, "group": lev, "metric": metric,
                     **{k: summ[k][j] for k in summ}}
                )
                if return_replicates:
                    rep_cols.append((model, block, lev, metric))
                    rep_data.append(rep[metric][:, j])
    out = pd.DataFrame(rows)
    out["n_valid"] = out["n_valid"].astype(np.int64)
    if groups is None:
        out = out.drop(columns=["block", "group"])
    out.attrs.update(n_replicates=int(F.shape[1]), level=level, unit=unit)
    if not return_replicates:
        return out
    cols = pd.MultiIndex.from_tuples(rep_cols, names=["model", "block", "group", "metric"])
    if groups is None:
        cols = cols.droplevel(["block", "group"])
    replicates = pd.DataFrame(np.column_stack(rep_data), columns=cols)
    replicates.index.name = "replicate"
    return out, replicates


# --- table cells ---------------------------------------------------------------------------
@renamed_arguments(n="n_groups")
def bootstrap_group_table(
    survey: Survey,
    rank,
    selected=None,
    benefits=None,
    welfare=None,
    *,
    n_groups: int = 5,
    ranked_by: str,
    unit: Unit = "person",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    factors: np.ndarray | None = None,
    n_jobs: int = 1,
    client=None,
    chunk_size: int = 250,
) -> pd.DataFrame:
    """Bootstrap every cell of :func:`group_table` (groups fixed at full-sample cut-points).

    The quantile groups are held at their full-sample cut-points (see the module
    docstring): the intervals are conditional on the group boundaries.

    Arguments are those of :func:`group_table` (column names of ``survey.data`` accepted;
    ``n_groups``, formerly ``n``, deprecated) plus the bootstrap options of
    :func:`bootstrap_metrics` (``level`` 0.95 by default).

    Returns
    -------
    pandas.DataFrame
        Tidy: ``group`` (1..n, "Total"), ``column``, ``estimate``, ``se``, ``lower``,
        ``upper``, ``n_valid``; ``attrs["ranked_by"]`` as given.
    """
    if not isinstance(ranked_by, str) or not ranked_by.strip():
        raise DataError("`ranked_by` must say what the groups rank by (pre- or post-transfer).")
    r = column_or_array(rank, survey, name="rank", align=True)
    v = survey.weights(unit)
    b = None if benefits is None else column_or_array(benefits, survey, name="benefits",
                                                      align=True)
    if selected is None:
        if b is None:
            raise DataError("pass `selected` (recipients) or `benefits` (recipients = b > 0).")
        s = (b > 0).astype(float)
    else:
        s = column_or_array(selected, survey, name="selected", binary=True, align=True)
    y = None
    if b is not None:
        y = r if welfare is None else column_or_array(welfare, survey, name="welfare",
                                                      align=True)
        if ((s > 0) & (y <= 0)).any():
            raise DataError("adequacy needs positive `welfare` for every recipient.")
    n = int(n_groups)
    codes = quantile_groups(r, v, n) - 1
    contrib = table_contributions(s, v, b, y)
    K = contrib.shape[1]
    P = psu_totals(survey, contrib, codes, n)
    F = get_factors(survey, factors, n_replicates, seed)
    reps = replicate_totals(P, F, n_jobs, client, chunk_size).reshape(-1, n, K)
    est = P.sum(axis=0).reshape(n, K)
    has_b = b is not None
    cells_e = table_from_totals(est, has_b)
    cells_r = table_from_totals(reps, has_b)
    tot_e = table_from_totals(est.sum(axis=0, keepdims=True), has_b)
    tot_r = table_from_totals(reps.sum(axis=1, keepdims=True), has_b)
    rows = []
    labels = [*range(1, n + 1), "Total"]
    for c in TABLE_COLUMNS:
        if c not in cells_e:
            continue
        e = np.r_[cells_e[c], tot_e[c]]
        rr = np.concatenate([cells_r[c], tot_r[c]], axis=1)
        summ = summarise(e, rr, level)
        for j, lab in enumerate(labels):
            rows.append({"group": lab, "column": c, **{k: summ[k][j] for k in summ}})
    out = pd.DataFrame(rows)
    out["n_valid"] = out["n_valid"].astype(np.int64)
    out.attrs.update(ranked_by=ranked_by, n_replicates=int(F.shape[1]), level=level)
    return out


__all__ = [
    "bootstrap_group_table",
    "bootstrap_metrics",
    "psu_totals",
    "replicate_totals",
]
