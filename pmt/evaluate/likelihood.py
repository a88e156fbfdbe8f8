"""Poverty-likelihood tables: score bands to the probability of being poor, as the PPI.

The Poverty Probability Index (PPI; Schreiner for Innovations for Poverty Action) turns a
scorecard into poverty rates: each score band gets the share of the survey's households
in that band who are poor at each poverty line (the band's *poverty likelihood*); a
programme's poverty rate is the average likelihood of its households' scores. Two steps:

:func:`poverty_likelihood`
    The table: one row per score band, one block of columns per line (likelihood and
    bootstrap interval), weighted.
:func:`likelihood_accuracy`
    How well averaged likelihoods estimate a poverty rate on held-out households: the
    bias (estimated minus true rate) and its precision over bootstrap samples, as the PPI
    documentation reports them.

Intervals come from the design-based bootstrap of :mod:`pmt.evaluate.bootstrap` (Rao-Wu
rescaling by PSU within strata when a :class:`pmt.Survey` is given; every household its
own PSU otherwise): a likelihood is a ratio of weighted totals, so its replicates are
ratios of replicate PSU totals. Band edges (and quantile cut-points) are held fixed across
replicates.

References
----------
Schreiner, M. (2015). Simple Poverty Scorecard Poverty-Assessment Tool: Philippines (and
the other country PPI documents): "Estimates of households' poverty likelihoods" and
"Accuracy of estimates of poverty rates" (bias and precision at 90 % confidence from
1 000 bootstrap samples of the validation sample).
Innovations for Poverty Action (2018). Poverty Probability Index (PPI): design
documentation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pmt._literals import Unit
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, example_rows
from pmt.evaluate.bootstrap import get_factors, psu_totals, replicate_totals, summarise
from pmt.survey import Survey, quantile_cutpoints

__all__ = ["likelihood_accuracy", "poverty_likelihood"]

#: Column block of the table that describes the bands.
BAND = "band"


def _design(survey: Survey | None, n: int, weights, unit: Unit, name: str):
    """(survey used for the bootstrap, weights of the estimates)."""
    if survey is not None:
        if not isinstance(survey, Survey):
            raise DataError(f"`survey` must be a pmt.Survey; got {type(survey).__name__}.")
        if survey.n_households != n:
            raise DataError(f"`survey` has {survey.n_households} households but {n} scores were "
                            "given: pass one score per household of the survey, in its order.")
        if weights is None:
            return survey, survey.weights(unit)
        return survey, check_weights(weights, n, name=name, data=survey.data, kind="positive")
    w = check_weights(weights, n, name=name, kind="positive")
    frame = pd.DataFrame({"_w": w})
    return Survey(frame, weight="_w"), w


def _lines(lines, data, n: int) -> dict[str, np.ndarray]:
    """Poverty lines by name, each one value per household."""
    if isinstance(lines, Mapping):
        items = list(lines.items())
    elif isinstance(lines, str | int | float | np.number):
        items = [(lines, lines)]
    elif isinstance(lines, Sequence | np.ndarray) and not isinstance(lines, str):
        items = [(v, v) for v in lines]
        if not all(isinstance(v, int | float | np.number) for v, _ in items):
            raise DataError("`lines` as a list must hold numbers (one per line); give lines "
                            "that vary by household as a mapping {name: column or array}.")
    else:
        raise DataError("`lines` must be a number, a list of numbers or a mapping "
                        f"{{name: line}}; got {type(lines).__name__}.")
    if not items:
        raise DataError("`lines` is empty: give at least one poverty line.")
    out = {}
    for key, value in items:
        name = format(key, "g") if isinstance(key, int | float | np.number) else str(key)
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            v = np.full(n, float(value))
            if not np.isfinite(v[0]):
                raise DataError(f"poverty line {name!r} must be a finite number; got {value!r}.")
        else:
            v = column_or_array(value, data, name=f"lines[{name!r}]", n=n)
        out[name] = v
    if len(out) != len(items):
        raise DataError("`lines` has two lines with the same name: name them with a mapping.")
    return out


def _band_edges(scores: np.ndarray, w: np.ndarray, bands) -> tuple[np.ndarray, str]:
    """Band edges and which end of a band is closed."""
    if bands is None:
        bands = 10
    if isinstance(bands, int | np.integer) and not isinstance(bands, bool):
        if bands < 2:
            raise DataError(f"`bands` must be at least 2 quantile bands; got {bands}.")
        cuts = np.unique(quantile_cutpoints(scores, w, int(bands)))
        return np.r_[-np.inf, cuts, np.inf], "right"
    edges = column_or_array(bands, name="bands")
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise DataError(f"`bands` must be increasing band edges (at least two); got {list(edges)}."
                        " Or pass an integer for quantile bands.")
    return edges, "left"


def _assign(scores: np.ndarray, edges: np.ndarray, closed: str, labels: pd.Index,
            what: str) -> np.ndarray:
    """Band index (0-based) of each score; scores outside the bands raise."""
    inner = edges[1:-1]
    if closed == "right":   # (c_{k-1}, c_k]: DESIGN.md's quantile groups
        codes = np.searchsorted(inner, scores, side="left")
        outside = np.zeros(scores.size, dtype=bool)
    else:                   # [e_{k-1}, e_k), the last band closed at the top
        codes = np.searchsorted(inner, scores, side="right")
        outside = (scores < edges[0]) | (scores > edges[-1])
    if outside.any():
        raise DataError(
            f"{what} has {int(outside.sum())} score(s) outside the bands [{edges[0]:g}, "
            f"{edges[-1]:g}] at {example_rows(labels[outside])}: widen the first or last "
            "band edge (e.g. to -inf / inf)."
        )
    return codes.astype(np.int64)


def _band_labels(edges: np.ndarray, closed: str) -> list[str]:
    k = edges.size - 1
    out = []
    for j in range(k):
        a, b = edges[j], edges[j + 1]
        if closed == "right":
            out.append(f"({a:g}, {b:g}]" if np.isfinite(b) else f"({a:g}, inf)")
        else:
            out.append(f"[{a:g}, {b:g}" + ("]" if j == k - 1 else ")"))
    return out


def poverty_likelihood(
    scores,
    welfare,
    lines,
    *,
    weights=None,
    bands=None,
    n_replicates: int = 1000,
    seed: int = 0,
    survey: Survey | None = None,
    level: float = 0.95,
    unit: Unit = "person",
) -> pd.DataFrame:
    """Poverty likelihood by score band: the share of households in each band who are poor.

    Parameters
    ----------
    scores : str or array-like
        Score of each survey household (scorecard points or predicted welfare); a column
        name of ``survey.data`` when ``survey`` is given.
    welfare : str or array-like
        Welfare (e.g. consumption per person) of each household.
    lines : float, list of floats, or mapping {name: line}
        Poverty lines, in welfare units. A household is poor at a line if
        ``welfare < line`` (DESIGN.md section 4). In a mapping a line may also be a column
        name or one value per household (e.g. regional lines). Unnamed lines are named
        ``format(line, "g")``.
    weights : str or array-like, optional
        Weights of the estimates. Default: the survey's person weights (``unit``), or
        equal weights without a survey.
    bands : int or sequence of float, optional
        An integer k: k weighted quantile bands of the score (cut-points held fixed in the
        bootstrap; bands right-closed as DESIGN.md's quantile groups; tied cut-points
        merge bands). A sequence: band edges, bands ``[e0, e1), [e1, e2), ..., [e_k-1, e_k]``
        (use -inf / inf for open ends), as the PPI's score ranges 0-4, 5-9, ...
        Default: 10 quantile bands.
    n_replicates, seed : int
        Bootstrap replicates and their seed (same seed, same bits).
    survey : pmt.Survey, optional
        The survey design: a PSU-clustered, stratified (Rao-Wu) bootstrap. Without it each
        household is resampled on its own. Memory: the factor matrix holds
        n_psu x n_replicates floats.
    level : float
        Coverage of the percentile intervals (0.95).
    unit : {"person", "household"}
        Whose share with a survey and no ``weights``: persons (household weight x size,
        default) or households.

    Returns
    -------
    pandas.DataFrame
        Index ``band`` (the score range as text). Columns (a MultiIndex ``line`` x
        ``statistic``): block ``"band"`` with ``score_from``, ``score_to``, ``n``
        (households) and ``share`` (weighted population share of the band); then for each
        line ``likelihood`` (proportion poor, 0-1; the PPI prints percentages), ``se``,
        ``lower``, ``upper`` (percentile interval) and ``n_valid`` (replicates in which
        the band was drawn). ``attrs``: ``edges``, ``closed``, ``lines``,
        ``n_replicates``, ``level``. Empty quantile bands are dropped.

    Notes
    -----
    A likelihood is the ratio sum(w * poor * in band) / sum(w * in band), so its
    bootstrap replicates come from :func:`pmt.evaluate.bootstrap.replicate_totals` on PSU
    totals; no second bootstrap is written here.

    Percentile intervals of a proportion undercover when a band holds few poor (or few
    non-poor) households: in our simulation 95 % intervals held the true likelihood about
    95 % of the time in bands with at least 10 expected poor and non-poor households, but
    71 % of the time in a band with about one poor household expected. Use wider bands
    at the ends of the score range.
    """
    unit = check_option(unit, Unit, name="unit")
    data = survey
    s = column_or_array(scores, data, name="scores", align=True)
    y = column_or_array(welfare, data, name="welfare", align=True, n=s.size)
    design, w = _design(survey, s.size, weights, unit, "weights")
    line_values = _lines(lines, data, s.size)
    edges, closed = _band_edges(s, w, bands)
    labels = survey.data.index if survey is not None else (
        scores.index if isinstance(scores, pd.Series) else pd.RangeIndex(s.size))
    codes = _assign(s, edges, closed, labels, "`scores`")
    k = edges.size - 1
    poor = np.column_stack([(y < z).astype(float) for z in line_values.values()])
    contrib = np.column_stack([w[:, None] * poor, w])          # (n, L + 1)
    n_lines = poor.shape[1]
    P = psu_totals(design, contrib, codes, k)                    # (n_psu, k * (L + 1))
    factors = get_factors(design, None, n_replicates, seed)
    reps = replicate_totals(P, factors).reshape(-1, k, n_lines + 1)
    est = P.sum(axis=0).reshape(k, n_lines + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        est_lik = est[:, :n_lines] / est[:, [n_lines]]
        rep_lik = reps[:, :, :n_lines] / reps[:, :, [n_lines]]
    counts = np.bincount(codes, minlength=k)

    columns: dict[tuple[str, str], np.ndarray] = {
        (BAND, "score_from"): edges[:-1],
        (BAND, "score_to"): edges[1:],
        (BAND, "n"): counts,
        (BAND, "share"): est[:, n_lines] / est[:, n_lines].sum(),
    }
    for j, name in enumerate(line_values):
        summ = summarise(est_lik[:, j], rep_lik[:, :, j], level)
        columns[(name, "likelihood")] = summ["estimate"]
        for stat in ("se", "lower", "upper", "n_valid"):
            columns[(name, stat)] = summ[stat]
    table = pd.DataFrame(columns, index=pd.Index(_band_labels(edges, closed), name="band"))
    table.columns = pd.MultiIndex.from_tuples(list(columns), names=["line", "statistic"])
    table[(BAND, "n")] = table[(BAND, "n")].astype(np.int64)
    for name in line_values:
        table[(name, "n_valid")] = table[(name, "n_valid")].astype(np.int64)
    if closed == "right":
        table = table[counts > 0]
    table.attrs.update(edges=[float(e) for e in edges], closed=closed,
                       lines=list(line_values), n_replicates=int(factors.shape[1]), level=level)
    return table


def _table_parts(table: pd.DataFrame, lines: list[str]) -> tuple[np.ndarray, str, np.ndarray]:
    """Edges, closed end and likelihoods (bands x lines) of a poverty_likelihood table."""
    edges = table.attrs.get("edges")
    closed = table.attrs.get("closed")
    if edges is None or closed not in ("left", "right") or not isinstance(
            table.columns, pd.MultiIndex):
        raise DataError("`table` must be a table from pmt.evaluate.likelihood."
                        "poverty_likelihood (it carries its band edges in `attrs`).")
    missing = [name for name in lines if (name, "likelihood") not in table.columns]
    if missing:
        have = [c for c in table.columns.get_level_values(0).unique() if c != BAND]
        raise DataError(f"`table` has no likelihoods for lines {missing}; it has {have}.")
    e = np.asarray(edges, dtype=float)
    # empty quantile bands were dropped: rebuild the full band list with NaN there
    lik = np.full((e.size - 1, len(lines)), np.nan)
    starts = table[(BAND, "score_from")].to_numpy(dtype=float)
    rows = np.searchsorted(e[:-1], starts)
    for j, name in enumerate(lines):
        lik[rows, j] = table[(name, "likelihood")].to_numpy(dtype=float)
    return e, closed, lik


def likelihood_accuracy(
    table: pd.DataFrame,
    scores_test,
    welfare_test,
    lines,
    weights_test=None,
    *,
    n_replicates: int = 1000,
    seed: int = 0,
    survey: Survey | None = None,
    level: float = 0.90,
    unit: Unit = "person",
) -> pd.DataFrame:
    """Bias and precision of poverty rates estimated from a poverty-likelihood table.

    Each held-out household gets the likelihood of its score band; the estimated poverty
    rate is their weighted mean, the true rate the weighted share with
    ``welfare < line``. Following the PPI documentation (Schreiner), the difference
    estimated - true is bootstrapped over the held-out households (PSUs with a survey):
    its mean is the bias and the half-width of its ``level`` (90 %) interval the
    precision.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`poverty_likelihood` (fitted on other households).
    scores_test, welfare_test : str or array-like
        Scores and welfare of the held-out households (column names of ``survey.data``).
    lines : float, list or mapping
        Poverty lines; their names must match the table's (as in
        :func:`poverty_likelihood`: a number is named by ``format(line, "g")``).
    weights_test : str or array-like, optional
        Weights of the held-out households (default: the survey's ``unit`` weights, or
        equal).
    n_replicates, seed, survey, unit
        As in :func:`poverty_likelihood`.
    level : float
        Coverage of the interval of the difference (0.90, as the PPI).

    Returns
    -------
    pandas.DataFrame
        Index ``line``; columns ``estimated`` (mean likelihood), ``true`` (poverty rate),
        ``difference`` (estimated - true, full held-out sample), ``bias`` (mean of the
        bootstrap differences, the PPI's figure), ``se`` (their standard deviation),
        ``lower``, ``upper`` (percentile interval of the difference) and ``precision``
        ((upper - lower) / 2). All as proportions (the PPI prints percentage points).
    """
    unit = check_option(unit, Unit, name="unit")
    data = survey
    s = column_or_array(scores_test, data, name="scores_test", align=True)
    y = column_or_array(welfare_test, data, name="welfare_test", align=True, n=s.size)
    design, w = _design(survey, s.size, weights_test, unit, "weights_test")
    line_values = _lines(lines, data, s.size)
    edges, closed, lik = _table_parts(table, list(line_values))
    labels = survey.data.index if survey is not None else (
        scores_test.index if isinstance(scores_test, pd.Series) else pd.RangeIndex(s.size))
    codes = _assign(s, edges, closed, labels, "`scores_test`")
    hh_lik = lik[codes]                                          # (n, L)
    empty = np.isnan(hh_lik).any(axis=1)
    if empty.any():
        raise DataError(
            f"{int(empty.sum())} held-out household(s) at {example_rows(labels[empty])} fall "
            "in a score band with no training households (no likelihood): use wider bands."
        )
    poor = np.column_stack([(y < z).astype(float) for z in line_values.values()])
    n_lines = poor.shape[1]
    contrib = np.column_stack([w[:, None] * hh_lik, w[:, None] * poor, w])
    P = psu_totals(design, contrib)
    factors = get_factors(design, None, n_replicates, seed)
    reps = replicate_totals(P, factors)
    est = P.sum(axis=0)
    estimated = est[:n_lines] / est[-1]
    true = est[n_lines:2 * n_lines] / est[-1]
    rep_diff = (reps[:, :n_lines] - reps[:, n_lines:2 * n_lines]) / reps[:, [-1]]
    summ = summarise(estimated - true, rep_diff, level)
    out = pd.DataFrame({
        "estimated": estimated,
        "true": true,
        "difference": estimated - true,
        "bias": np.nanmean(rep_diff, axis=0),
        "se": summ["se"],
        "lower": summ["lower"],
        "upper": summ["upper"],
        "precision": (summ["upper"] - summ["lower"]) / 2,
    }, index=pd.Index(list(line_values), name="line"))
    out.attrs.update(n_replicates=int(factors.shape[1]), level=level, n_households=int(s.size))
    return out
