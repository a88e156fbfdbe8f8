"""Design-based tests of differences between groups: paired bootstrap contrasts and the
Rao-Scott chi-square test.

The reference reports compare coverage, incidence and poverty across quintiles and regions
and mark which differences are significant (Kyrgyz Republic 2011, Tables 7, 8 and 12: "*
differences between groups are not significant at the 10 percent level (Chi-square
test)"). On survey data a plain chi-square or two-sample test ignores the clustering and
weighting and rejects far too often. This module gives the design-based versions.

**Differences between groups** (:func:`group_differences`). For each group g of a grouping
variable the statistic is a ratio of person-weighted totals (v = person weight, y the
values, d a denominator, default 1):

========== =====================================  =====================================
statistic  value of group g                       examples
========== =====================================  =====================================
``mean``   sum_g v y / sum_g v d                  coverage (y = selected), poverty rate
                                                  (y = poor), FGT1 (y = gap), coverage of
                                                  the poor (y = poor*selected, d = poor)
``share``  sum_g v y / sum v y                    incidence: distribution of
                                                  beneficiaries (y = selected) or of
                                                  benefits (y = benefit per person)
========== =====================================  =====================================

Every group's value and every difference between two groups is computed in each PSU
bootstrap replicate (:meth:`pmt.Survey.replicate_factors`, Rao-Wu rescaling within
strata) from the *same* replicate weights, so the difference's standard error keeps the
covariance between the groups (they share PSUs when the groups are quintiles). With
``se`` the standard deviation of the replicate differences, ``z = estimate / se`` and the
two-sided p-value is ``2 P(T > |z|)`` for T Student's t with the design degrees of
freedom (number of PSUs minus number of strata, as R's ``survey`` package uses for
design-based tests; ``df=None`` refers z to the normal). Intervals are percentile
intervals of the replicate differences. With many comparisons (all pairs of quintiles are
10) ``adjust="holm"`` or ``"bonferroni"`` controls the family-wise error within each
indicator; ``significant`` is ``p_adjusted < alpha``.

As in :mod:`pmt.evaluate.bootstrap`, group membership is held fixed: quintile groups keep
their full-sample cut-points, so the standard errors are conditional on the group
boundaries.

**Rao-Scott chi-square test** (:func:`rao_scott_test`) of "the distribution of x (e.g.
covered / not covered) is the same in every group", i.e. independence in the r x c table
of x by group. With p the vector of the rc estimated cell proportions (person-weighted),
n the number of sample households, and p_i., p_.j the margins:

* Pearson's statistic on the weighted table scaled to n households:
  X^2 = n sum_ij (p_ij - p_i. p_.j)^2 / (p_i. p_.j);
* V, the design covariance of p: linearised (PSU totals of the influence values
  v (z - p) / sum v within strata, with-replacement, n_h / (n_h - 1), as
  :meth:`pmt.Survey.total_variance`) or from the bootstrap replicates;
* C, a basis of the (r-1)(c-1) interaction contrasts: the interaction columns of the rc
  cells' saturated model, residualised on the main effects; D = diag(p);
* the generalised design-effect matrix Delta = (C' D^-1 C / n)^-1 (C' D^-1 V D^-1 C),
  whose eigenvalues are the generalised design effects (Rao and Scott 1981, 1984);
* first-order correction (``statistic="chisq"``): X^2_RS = X^2 / mean(diag(Delta)),
  referred to chi-square with (r-1)(c-1) degrees of freedom;
* second-order F (``statistic="F"``): F = X^2 / trace(Delta), referred to F with
  d0 = trace(Delta)^2 / trace(Delta^2) and d0 * nu degrees of freedom, nu = PSUs minus
  strata.

This is R's ``survey::svychisq(~x + group, design, statistic="Chisq")`` (and
``statistic="F"``, R's default) for a design with strata and PSUs, computed the same way.
Under simple random sampling with equal weights Delta = n / (n - 1) I exactly, so X^2_RS
is Pearson's X^2 times (n - 1) / n.

:func:`flag_significance` adds the differences against a reference group, their p-values
and stars to a group table (e.g. :func:`pmt.evaluate.group_table` output), and records a
Rao-Scott test of the column in the table's ``attrs``.

References: Rao, J. N. K. and Scott, A. J. (1981), JASA 76, 221-230; Rao and Scott (1984),
Annals of Statistics 12, 46-60; Lumley, T., ``survey`` package, ``svychisq``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from pmt._literals import Adjust, GroupStatistic, TestStatistic, Variance
from pmt._validation import check_option, column_or_array
from pmt.errors import DataError, example_rows
from pmt.evaluate.bootstrap import (
    get_factors,
    psu_totals,
    replicate_totals,
    summarise,
)
from pmt.evaluate.metrics import Unit
from pmt.evaluate.subgroups import group_blocks
from pmt.survey import Survey

__all__ = ["group_differences", "rao_scott_test", "flag_significance", "holm", "significance_stars"]



# --- small helpers --------------------------------------------------------------------------
def significance_stars(p, thresholds: Sequence[float] = (0.01, 0.05, 0.1)) -> np.ndarray:
    """Stars for p-values: one star per threshold passed ("***" p < 0.01, "**" < 0.05,
    "*" < 0.1 with the default thresholds); "" for larger or missing p-values.

    Parameters
    ----------
    p : float or array-like
        p-values.
    thresholds : sequence of float
        p-value levels (any order): the number of stars is the number of thresholds that
        p lies below.

    Returns
    -------
    numpy.ndarray of str
    """
    pa = np.atleast_1d(np.asarray(p, dtype=float))
    th = np.asarray(sorted(thresholds), dtype=float)
    if th.size == 0 or np.any((th <= 0) | (th >= 1)):
        raise DataError(f"`thresholds` must be p-value levels in (0, 1); got {thresholds!r}.")
    n = (pa[:, None] < th[None, :]).sum(axis=1)
    n = np.where(np.isfinite(pa), n, 0)
    return np.array(["*" * int(k) for k in n], dtype=object)


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    With the m p-values sorted, p_(1) <= ... <= p_(m), the adjusted value of p_(i) is
    max_{j <= i} min(1, (m - j + 1) p_(j)). Missing p-values are left out of the family
    and stay missing.
    """
    pa = np.asarray(p, dtype=float)
    out = np.full(pa.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(pa))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(pa[ok], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * pa[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def _adjust(p: np.ndarray, how: str) -> np.ndarray:
    if how == "none":
        return p.copy()
    if how == "holm":
        return holm(p)
    m = int(np.isfinite(p).sum())
    return np.minimum(1.0, p * m)


def _format_p(p: float) -> str:
    """"p = 0.032", or "p < 0.0001" for tiny p-values (never "p = 0")."""
    if not np.isfinite(p):
        return "p not defined"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"


def _check_alpha(alpha: float) -> float:
    if not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise DataError(f"`alpha` must be a significance level in (0, 1), e.g. 0.05; got {alpha!r}.")
    return float(alpha)


def _design_df(survey: Survey, df) -> float:
    """Degrees of freedom of the reference t distribution (inf = normal)."""
    if df is None:
        return np.inf
    if isinstance(df, str):
        if df != "design":
            raise DataError(f"`df` must be 'design', None (normal) or a number; got {df!r}.")
        n_strata = int(survey.strata_codes.max()) + 1
        d = survey.n_psu - n_strata
        if d < 1:
            raise DataError(
                f"the design has {survey.n_psu} PSUs in {n_strata} strata, so no design degrees "
                "of freedom are left (PSUs minus strata); pass df=None to use the normal "
                "distribution, or fewer strata."
            )
        return float(d)
    if isinstance(df, bool) or not isinstance(df, int | float) or not df > 0:
        raise DataError(f"`df` must be 'design', None (normal) or a positive number; got {df!r}.")
    return float(df)


def _named_values(survey: Survey, values, name: str) -> dict[str, object]:
    """{indicator name: column name or vector}."""
    if isinstance(values, Mapping):
        if not values:
            raise DataError(f"`{name}` is an empty mapping: give at least one indicator.")
        return {str(k): v for k, v in values.items()}
    if isinstance(values, pd.DataFrame):
        if values.shape[1] == 0:
            raise DataError(f"`{name}` has no columns.")
        return {str(c): values[c] for c in values.columns}
    if isinstance(values, str):
        return {values: values}
    if isinstance(values, list | tuple) and values and all(isinstance(v, str) for v in values):
        return {v: v for v in values}
    if isinstance(values, pd.Series) and values.name is not None:
        return {str(values.name): values}
    return {"value": values}


def _group_codes(survey: Survey, groups) -> tuple[str, np.ndarray, pd.Index]:
    """One grouping variable -> (name, codes 0..G-1, levels)."""
    if isinstance(groups, str):
        if groups not in survey.data.columns:
            raise DataError(
                f"`groups` column '{groups}' is not in the survey data; pass a column name or "
                "one label per household (e.g. sv.quantile_groups('pcc', 5))."
            )
        g = survey.data[groups]
    elif isinstance(groups, pd.DataFrame):
        if groups.shape[1] != 1:
            raise DataError(
                f"`groups` has {groups.shape[1]} columns; these tests take one grouping variable "
                "at a time: call once per variable."
            )
        g = groups.iloc[:, 0]
    elif isinstance(groups, pd.Series):
        g = groups
    else:
        g = pd.Series(np.asarray(groups), name="group")
    if isinstance(groups, pd.Series | pd.DataFrame) and len(g) == survey.n_households and (
        not g.index.equals(survey.data.index)
    ):
        raise DataError(
            "`groups` has an index different from the survey data's; reindex it to the survey "
            "rows or pass a column name."
        )
    if not isinstance(groups, pd.Series | pd.DataFrame | str) and len(g) == survey.n_households:
        g.index = survey.data.index  # row labels of the survey in messages
    if g.name is None:
        g = g.rename("group")
    (block, (codes, levels)), = group_blocks(g, survey.n_households).items()
    return block, codes, levels


def _match_level(levels: pd.Index, reference) -> int:
    for j, lev in enumerate(levels):
        if lev == reference:
            return j
    text = [str(lev) for lev in levels]
    if str(reference) in text:
        return text.index(str(reference))
    raise DataError(
        f"`reference` {reference!r} is not a level of `groups`; the levels are "
        f"{', '.join(text[:20])}{' ...' if len(text) > 20 else ''}. Pass one of them, or "
        "reference=None for all pairs."
    )


# --- differences between groups ---------------------------------------------------------------
def group_differences(
    survey: Survey,
    values,
    groups,
    *,
    denominator=None,
    statistic: Literal["mean", "share"] = "mean",
    reference=None,
    unit: Unit = "person",
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    alpha: float = 0.05,
    adjust: Literal["none", "holm", "bonferroni"] = "none",
    df="design",
    factors: np.ndarray | None = None,
    n_jobs: int = 1,
    client=None,
    chunk_size: int = 250,
) -> pd.DataFrame:
    """Differences between groups with paired PSU-bootstrap standard errors and p-values.

    Parameters
    ----------
    survey : pmt.Survey
        Data with weights, sizes, strata and PSUs.
    values : str, array-like, list of str, mapping or DataFrame
        What to compare, per household: a column name of ``survey.data`` or one value per
        household, e.g. ``selected`` (coverage), ``poor`` (poverty rate), the poverty gap
        ``max(0, (z - y) / z)`` (FGT1), benefit per person (benefit incidence). Several
        indicators (a mapping name -> column/vector, a list of column names or a DataFrame)
        are tested on the same replicates.
    groups : str, pandas.Series or array-like
        One grouping variable: a column name, or one label per household (e.g.
        ``sv.quantile_groups("pcc", 5)`` for quintiles, or a region column). Missing labels
        and single-level variables raise DataError.
    denominator : str, array-like or mapping, optional
        For ``statistic="mean"``: the group value is sum_g v y / sum_g v d (default d = 1).
        E.g. values = poor * selected and denominator = poor gives the coverage of the poor.
        A mapping gives one per indicator.
    statistic : {"mean", "share"}
        "mean": the group's (ratio) mean; "share": the group's share of the total of
        ``values`` over all groups (incidence: distribution of beneficiaries or benefits).
    reference : group label, optional
        None (default): every pair of groups (group minus the earlier group in level
        order). A level of ``groups``: every other group minus this one.
    unit : {"person", "household"}
        Person weights w * n (default) or household weights w.
    n_replicates, seed, factors
        Bootstrap replicates, as in :func:`pmt.evaluate.bootstrap_metrics`; pass the same
        ``seed`` (or ``factors``) as other calls to share their replicates.
    level : float
        Coverage of the percentile intervals ``lower``, ``upper`` of the differences.
    alpha : float
        Significance level of the ``significant`` column (two-sided).
    adjust : {"none", "holm", "bonferroni"}
        Multiple-comparison adjustment of ``p_adjusted`` within each indicator.
    df : "design", None or float
        Degrees of freedom of the reference t distribution: "design" = PSUs minus strata
        (default); None = normal.
    n_jobs, client, chunk_size
        Parallel execution of replicate chunks; results do not depend on them.

    Returns
    -------
    pandas.DataFrame
        One row per indicator and comparison: ``indicator``, ``group``, ``reference``,
        ``group_value``, ``reference_value``, ``estimate`` (group_value - reference_value),
        ``se``, ``z`` (estimate / se), ``df``, ``p_value`` (two-sided), ``p_adjusted``,
        ``significant`` (p_adjusted < alpha), ``lower``, ``upper`` (percentile interval at
        ``level``), ``n_valid`` (replicates in which both values are defined). ``attrs``
        record the settings (statistic, groups, alpha, adjust, level, n_replicates, unit).

    Raises
    ------
    pmt.DataError
        For a missing column, misaligned or missing values, an unknown reference level, a
        grouping variable with one level, or invalid options.
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data with weights, strata and PSUs).")
    check_option(statistic, GroupStatistic, name="statistic")
    check_option(adjust, Adjust, name="adjust")
    alpha = _check_alpha(alpha)
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1), e.g. 0.9; got {level!r}.")
    if statistic == "share" and denominator is not None:
        raise DataError(
            "`denominator` applies to statistic='mean' only: a share's denominator is the "
            "total of `values` over all groups. Drop `denominator`."
        )
    dof = _design_df(survey, df)
    gname, codes, levels = _group_codes(survey, groups)
    G = levels.size
    v = survey.weights(unit)
    named = _named_values(survey, values, "values")
    if isinstance(denominator, Mapping):
        missing = set(named) - set(map(str, denominator))
        if missing:
            raise DataError(f"`denominator` has no entry for indicator(s) {sorted(missing)}.")
        dens = {str(k): d for k, d in denominator.items()}
    else:
        dens = dict.fromkeys(named, denominator)

    blocks = []
    for name, x in named.items():
        y = column_or_array(x, survey, name=f"values[{name!r}]" if len(named) > 1 else "values",
                            align=True)
        if statistic == "share" and (y < 0).any():
            raise DataError(
                f"`values` ({name}) has negative values; shares need non-negative amounts."
            )
        dname = f"denominator[{name!r}]" if len(named) > 1 else "denominator"
        d = np.ones_like(y) if dens[name] is None else column_or_array(
            dens[name], survey, name=dname, align=True)
        blocks.append(psu_totals(survey, np.column_stack([v * y, v * d]), codes, G))
    P = np.hstack(blocks)  # (n_psu, K * G * 2)
    F = get_factors(survey, factors, n_replicates, seed)
    reps = replicate_totals(P, F, n_jobs, client, chunk_size)
    est = P.sum(axis=0)

    if reference is None:
        pairs = [(j, i) for i in range(G) for j in range(i + 1, G)]
    else:
        r = _match_level(levels, reference)
        pairs = [(j, r) for j in range(G) if j != r]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])

    rows = []
    for k, name in enumerate(named):
        sl = slice(k * G * 2, (k + 1) * G * 2)
        e = est[sl].reshape(G, 2)
        rr = reps[:, sl].reshape(-1, G, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            if statistic == "mean":
                ge = e[:, 0] / e[:, 1]
                gr = rr[..., 0] / rr[..., 1]
            else:
                ge = e[:, 0] / e[:, 0].sum()
                gr = rr[..., 0] / rr[..., 0].sum(axis=1, keepdims=True)
        diff_e = ge[a] - ge[b]
        diff_r = gr[:, a] - gr[:, b]
        summ = summarise(diff_e, diff_r, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = summ["estimate"] / summ["se"]
        p = 2 * stats.t.sf(np.abs(z), dof) if np.isfinite(dof) else 2 * stats.norm.sf(np.abs(z))
        p_adj = _adjust(p, adjust)
        for i in range(len(pairs)):
            rows.append({
                "indicator": name,
                "group": levels[a[i]],
                "reference": levels[b[i]],
                "group_value": ge[a[i]],
                "reference_value": ge[b[i]],
                "estimate": summ["estimate"][i],
                "se": summ["se"][i],
                "z": z[i],
                "df": dof,
                "p_value": p[i],
                "p_adjusted": p_adj[i],
                "significant": bool(p_adj[i] < alpha) if np.isfinite(p_adj[i]) else False,
                "lower": summ["lower"][i],
                "upper": summ["upper"][i],
                "n_valid": int(summ["n_valid"][i]),
            })
    out = pd.DataFrame(rows)
    out.attrs.update(
        statistic=statistic, groups=gname, alpha=alpha, adjust=adjust, level=level,
        n_replicates=int(F.shape[1]), unit=unit,
        comparisons="all pairs" if reference is None else f"versus {reference}",
        method="PSU bootstrap (Rao-Wu rescaling), paired across groups",
    )
    return out


# --- Rao-Scott test ----------------------------------------------------------------------------
def _row_variable(survey: Survey, x, name: str) -> tuple[np.ndarray, pd.Index]:
    """Values of the table's row variable -> (codes 0..r-1, levels)."""
    if isinstance(x, str):
        if x not in survey.data.columns:
            raise DataError(f"`x` column '{x}' is not in the survey data.")
        s = survey.data[x]
    elif isinstance(x, pd.Series):
        if len(x) == survey.n_households and not x.index.equals(survey.data.index):
            raise DataError(
                f"`x` ({name}) is a Series whose index differs from the survey data's; "
                "reindex it to the survey rows or pass a column name."
            )
        s = x
    else:
        s = pd.Series(np.asarray(x).ravel())
    if len(s) != survey.n_households:
        raise DataError(
            f"`x` ({name}) has {len(s)} values but the survey has {survey.n_households} "
            "households: pass one value per household."
        )
    miss = s.isna().to_numpy()
    if miss.any():
        raise DataError(
            f"`x` ({name}) has {int(miss.sum())} missing values at "
            f"{example_rows(survey.data.index[miss])}: drop those households (and count them) "
            "or give them a value."
        )
    codes, levels = pd.factorize(s.reset_index(drop=True), sort=True)
    if levels.size < 2:
        raise DataError(
            f"`x` ({name}) takes a single value ({levels[0]!r}) in the data, so there is "
            "nothing to test: every group has the same distribution."
        )
    return codes.astype(np.int64), pd.Index(levels)


def _interaction_basis(r: int, c: int) -> np.ndarray:
    """C: the (r-1)(c-1) interaction columns of the saturated model of an r x c table
    (cells ordered row fastest), residualised on the main effects (as R's svychisq).
    """
    rows = np.tile(np.arange(r), c)
    cols = np.repeat(np.arange(c), r)
    R = (rows[:, None] == np.arange(1, r)[None, :]).astype(float)
    K = (cols[:, None] == np.arange(1, c)[None, :]).astype(float)
    X1 = np.column_stack([np.ones(r * c), R, K])
    X12 = np.column_stack([R[:, i] * K[:, j] for j in range(c - 1) for i in range(r - 1)])
    beta, *_ = np.linalg.lstsq(X1, X12, rcond=None)
    return X12 - X1 @ beta


def _linearised_cov(survey: Survey, U: np.ndarray) -> np.ndarray:
    """Design covariance of sum_i U_i (rows = households) by linearisation: PSU totals,
    centred within strata, times n_h / (n_h - 1); lonely strata as ``survey.lonely_psu``
    (the matrix version of :meth:`pmt.Survey.total_variance`).
    """
    T = psu_totals(survey, U)  # (n_psu, K)
    h = np.zeros(survey.n_psu, dtype=np.int64)
    h[survey.psu_codes] = survey.strata_codes
    n_h = np.bincount(h).astype(float)
    mean_h = np.stack([np.bincount(h, weights=T[:, k]) for k in range(T.shape[1])], axis=1)
    mean_h = mean_h / n_h[:, None]
    dev = T - mean_h[h]
    lonely = n_h[h] == 1
    if lonely.any() and survey.lonely_psu == "adjust":
        dev[lonely] = T[lonely] - T.sum(axis=0) / T.shape[0]
    factor = np.where(n_h[h] > 1, n_h[h] / np.maximum(n_h[h] - 1, 1), 1.0)
    return (dev * factor[:, None]).T @ dev


def rao_scott_test(
    survey: Survey,
    x,
    groups,
    *,
    unit: Unit = "person",
    statistic: Literal["chisq", "F"] = "chisq",
    variance: Literal["linearization", "bootstrap"] = "linearization",
    alpha: float = 0.05,
    n_replicates: int = 1000,
    seed: int = 0,
    factors: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rao-Scott design-adjusted chi-square test that x is distributed alike in all groups.

    E.g. "coverage is equal across quintiles": x = recipient (0/1), groups = quintiles;
    the r x c table is x by group and the null hypothesis is independence. See the module
    docstring for the formulas (R's ``survey::svychisq``).

    Parameters
    ----------
    survey : pmt.Survey
        Data with weights, sizes, strata and PSUs.
    x : str, array-like, list of str, mapping or DataFrame
        The row variable (0/1 indicator or any categorical), as a column name or one value
        per household; several (mapping, list of column names, DataFrame) give one test
        each.
    groups : str, pandas.Series or array-like
        The column variable: a column name or one label per household (quintiles,
        regions).
    unit : {"person", "household"}
        Person-weighted (default) or household-weighted cell proportions.
    statistic : {"chisq", "F"}
        Which p-value fills ``p_value``: "chisq" the first-order correction X^2 / mean
        design effect on (r-1)(c-1) df (R: ``statistic="Chisq"``); "F" the second-order
        F (R's default). Both statistics are in the result.
    variance : {"linearization", "bootstrap"}
        How the covariance of the cell proportions is estimated: linearisation with PSUs
        within strata (as R), or the PSU bootstrap replicates (``n_replicates``, ``seed``,
        ``factors`` as in :func:`group_differences`).
    alpha : float
        Level of the ``significant`` column.

    Returns
    -------
    pandas.DataFrame
        Index ``indicator``; columns ``n`` (households), ``rows``, ``cols`` (table size),
        ``df`` ((r-1)(c-1)), ``chisq`` (Pearson X^2 on the weighted table scaled to n),
        ``p_pearson`` (the naive p-value, for comparison only), ``deff_mean`` (mean
        generalised design effect, mean(diag(Delta))), ``chisq_adjusted`` (X^2 /
        deff_mean), ``F``, ``ndf``, ``ddf`` (second-order F and its degrees of freedom),
        ``p_value`` (by ``statistic``) and ``significant`` (p_value < alpha).
    """
    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data with weights, strata and PSUs).")
    check_option(statistic, TestStatistic, name="statistic")
    check_option(variance, Variance, name="variance")
    alpha = _check_alpha(alpha)
    _, gcodes, glevels = _group_codes(survey, groups)
    c = glevels.size
    v = survey.weights(unit)
    n = survey.n_households
    nu = survey.n_psu - (int(survey.strata_codes.max()) + 1)
    F_rep = None
    if variance == "bootstrap":
        F_rep = get_factors(survey, factors, n_replicates, seed)
    rows = {}
    for name, xv in _named_values(survey, x, "x").items():
        xcodes, xlevels = _row_variable(survey, xv, name)
        r = xlevels.size
        cell = xcodes + r * gcodes  # row fastest, as R's interaction(rows, cols)
        Z = np.zeros((n, r * c))
        Z[np.arange(n), cell] = 1.0
        total = v.sum()
        p = (v @ Z) / total
        P2 = p.reshape(c, r).T  # r x c
        pr, pc = P2.sum(axis=1), P2.sum(axis=0)
        expected = np.outer(pr, pc)
        chisq = float(n * np.sum((P2 - expected) ** 2 / expected))
        if variance == "linearization":
            V = _linearised_cov(survey, v[:, None] * (Z - p[None, :]) / total)
        else:
            T = psu_totals(survey, np.column_stack([v[:, None] * Z, v]))
            assert F_rep is not None  # variance is "bootstrap" here (checked against Variance)
            reps = replicate_totals(T, F_rep)
            pr_rep = reps[:, :-1] / reps[:, -1:]
            V = np.cov(pr_rep, rowvar=False, ddof=1)
        C = _interaction_basis(r, c)
        iD = np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)
        denom = (C.T * iD) @ C / n
        numr = (C.T * iD) @ V @ (iD[:, None] * C)
        Delta = np.linalg.solve(denom, numr)
        tr = float(np.trace(Delta))
        k = (r - 1) * (c - 1)
        deff = tr / k
        with np.errstate(divide="ignore", invalid="ignore"):
            d0 = tr**2 / float(np.trace(Delta @ Delta))
            adj = chisq / deff
            f_stat = chisq / tr
        p_chisq = float(stats.chi2.sf(adj, k))
        p_f = float(stats.f.sf(f_stat, d0, d0 * nu)) if nu > 0 else np.nan
        p_value = p_chisq if statistic == "chisq" else p_f
        rows[name] = {
            "n": n, "rows": r, "cols": c, "df": k, "chisq": chisq,
            "p_pearson": float(stats.chi2.sf(chisq, k)), "deff_mean": deff,
            "chisq_adjusted": adj, "F": f_stat, "ndf": d0, "ddf": d0 * nu if nu > 0 else np.nan,
            "p_value": p_value,
            "significant": bool(p_value < alpha) if np.isfinite(p_value) else False,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "indicator"
    out.attrs.update(statistic=statistic, variance=variance, alpha=alpha, unit=unit,
                     method="Pearson's X^2 with Rao-Scott adjustment")
    return out


# --- flags on group tables ---------------------------------------------------------------------
def flag_significance(
    table: pd.DataFrame,
    differences: pd.DataFrame | None = None,
    *,
    column: str = "coverage",
    indicator: str | None = None,
    test: pd.DataFrame | pd.Series | None = None,
    thresholds: Sequence[float] = (0.01, 0.05, 0.1),
) -> pd.DataFrame:
    """Add the comparison with a reference group, p-values and stars to a group table.

    Parameters
    ----------
    table : pandas.DataFrame
        A table with one row per group in its index (e.g. :func:`pmt.evaluate.group_table`
        output: rows 1..n and "Total"; for a (block, group) MultiIndex the last level is
        matched). It is not changed.
    differences : pandas.DataFrame, optional
        :func:`group_differences` output computed with a ``reference`` group (one
        comparison per group). Adds ``<column>_diff`` (group minus reference),
        ``<column>_p`` (``p_adjusted``) and ``<column>_sig`` (stars by ``thresholds``;
        "ref" on the reference row; "" on rows without a comparison, e.g. "Total").
    column : str
        Name of the table column the comparison is about (used to name the new columns).
    indicator : str, optional
        Which indicator of ``differences`` to use when it holds several.
    test : pandas.DataFrame or Series, optional
        A :func:`rao_scott_test` result (one row, or the row for ``indicator``): recorded
        in ``attrs["significance"][column]`` with a ready note for the table's footer.
    thresholds : sequence of float
        p-value levels of one, two, three stars.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with the new columns (and ``attrs["significance"]``).
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError("`table` must be a DataFrame with one row per group (e.g. group_table output).")
    if differences is None and test is None:
        raise DataError("pass `differences` (group_differences output) and/or `test` "
                        "(rao_scott_test output).")
    out = table.copy()
    sig = dict(out.attrs.get("significance", {}))
    if differences is not None:
        need = {"indicator", "group", "reference", "estimate", "p_adjusted"}
        if not isinstance(differences, pd.DataFrame) or need - set(differences.columns):
            raise DataError("`differences` must be the DataFrame returned by group_differences.")
        d = differences
        inds = list(pd.unique(d["indicator"]))
        if indicator is None:
            if len(inds) > 1:
                raise DataError(
                    f"`differences` holds several indicators ({', '.join(map(str, inds))}); "
                    "say which with indicator=."
                )
        else:
            if indicator not in inds:
                raise DataError(
                    f"`indicator` {indicator!r} is not in `differences`; it holds "
                    f"{', '.join(map(str, inds))}."
                )
            d = d[d["indicator"] == indicator]
        refs = pd.unique(d["reference"])
        if len(refs) != 1 or d["group"].duplicated().any():
            raise DataError(
                "`differences` compares all pairs of groups; call group_differences with "
                "reference=<a group> so that each group has one comparison to show."
            )
        ref = refs[0]
        labels = out.index.get_level_values(-1) if isinstance(out.index, pd.MultiIndex) else out.index
        key = [str(lab) for lab in labels]
        by_group = {str(row.group): row for row in d.itertuples(index=False)}
        if not set(by_group) & set(key):
            raise DataError(
                f"none of the groups of `differences` ({', '.join(list(by_group)[:10])}) is in "
                f"the table's index ({', '.join(key[:10])}): pass the table of the same groups."
            )
        diff = [by_group[k].estimate if k in by_group else np.nan for k in key]
        pval = [by_group[k].p_adjusted if k in by_group else np.nan for k in key]
        stars = significance_stars(pval, thresholds)
        stars = np.where(np.array(key) == str(ref), "ref", stars)
        out[f"{column}_diff"] = diff
        out[f"{column}_p"] = pval
        out[f"{column}_sig"] = stars
        th = sorted(thresholds)
        sig[column] = {
            **sig.get(column, {}),
            "reference": ref if not isinstance(ref, np.generic) else ref.item(),
            "adjust": d.attrs.get("adjust", differences.attrs.get("adjust", "none")),
            "stars": ", ".join(f"{'*' * (len(th) - i)} p<{t:g}" for i, t in enumerate(th)),
        }
    if test is not None:
        row = test
        attrs = getattr(test, "attrs", {})
        level = attrs.get("alpha", 0.05)
        if isinstance(test, pd.DataFrame):
            if indicator is not None and indicator in test.index:
                row = test.loc[indicator]
            elif len(test) == 1:
                row = test.iloc[0]
            else:
                raise DataError("`test` holds several indicators; say which with indicator=.")
        need = {"chisq_adjusted", "df", "p_value"}
        if not isinstance(row, pd.Series) or need - set(row.index):
            raise DataError("`test` must be the DataFrame (or a row of it) returned by rao_scott_test.")
        if attrs.get("statistic") == "F" and "F" in row.index:
            stat = f"Rao-Scott F = {row['F']:.2f}, df = {row['ndf']:.1f}, {row['ddf']:.0f}"
        else:
            stat = f"Rao-Scott chi2 = {row['chisq_adjusted']:.2f}, df = {int(row['df'])}"
        note = (
            f"{column}: equal across groups "
            f"{'rejected' if row['p_value'] < level else 'not rejected'} at {level:.0%} "
            f"({stat}, {_format_p(row['p_value'])})"
        )
        sig[column] = {
            **sig.get(column, {}),
            "chisq_adjusted": float(row["chisq_adjusted"]),
            "df": int(row["df"]),
            "p_value": float(row["p_value"]),
            "note": note,
        }
    out.attrs["significance"] = sig
    return out
