"""Survey-weighted least squares PMT models: ``ols``, per-group ``ols(by=...)`` and the
poor-focused ``truncated_ols`` of Brown, Ravallion and van de Walle (2018).

Estimation is a Cholesky solve of the equilibrated normal equations (:func:`solve_wls`),
equal to statsmodels' ``WLS`` to rounding and several times faster on survey-sized
designs; this module also prepares the design (pmt's own formula parser, so that the model
can be re-applied after a JSON round trip), picks the covariance and records what the
retransformations to levels need.

Covariance (``cov_type``)
-------------------------
The vocabulary and the sandwich are those of every pmt model
(:mod:`pmt.models.covariance`); the numbers equal statsmodels' ``WLS(...).fit(cov_type=...)``.

``"cluster"`` (the default when a cluster is given)
    Cluster-robust sandwich with the linear-model small-sample correction
    ``G/(G-1) * (N-1)/(N-K)`` (G clusters, N observations, K terms; Stata's
    ``regress ..., vce(cluster)`` and statsmodels' default); t tests use G-1 degrees of
    freedom.
``"HC1"`` (the default otherwise)
    Heteroskedasticity-robust sandwich with the ``N/(N-K)`` correction (Stata's
    ``robust``); t tests with N-K degrees of freedom.
``"nonrobust"``
    Classical ``sigma^2 (X'WX)^-1``.

With survey weights w the estimator minimises sum w_i e_i^2; the sandwich uses the
weighted scores w_i e_i x_i, so it is the design-consistent (pseudo-ML) covariance.
The covariance is invariant to rescaling the weights. Strata are not used by the
cluster sandwich (conservative when strata explain variance).

Retransformation to levels
--------------------------
``sigma2`` = sum w e^2 / sum w * N/(N-K) (weighted residual variance, invariant to the
weight scale) for ``"normal"``: exp(xb + sigma2/2); ``smearing_factor`` = sum w exp(e) /
sum w (Duan's smearing estimate, weighted) for ``"smearing"``: exp(xb) * factor.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar, cast

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._literals import OLSCovType, Retransform
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import ModelError, example_rows
from pmt.models.base import (
    ModelResult,
    Prepared,
    attach_profile,
    blas_threads,
    prepare,
    register_model,
    resolve_column,
    survey_inputs,
)
from pmt.models.covariance import (
    cluster_codes,
    correction_text,
    resolve_cov_type,
    robust_cov,
)
from pmt.models.formula import level_label
from pmt.models.summary import Summary
from pmt.survey import Survey, weighted_quantile

__all__ = ["ols", "truncated_ols", "OLSResult", "TruncatedOLSResult", "GroupedOLSResult"]


@dataclass(frozen=True)
class WLSFit:
    """Estimates of a weighted least-squares fit (what :func:`fit_wls` returns first).

    ``params`` (K), ``normalized_cov_params`` = ``(X'WX)^-1``, ``resid``, ``df_resid``
    = N - K, ``rsquared`` and ``rsquared_adj`` as statsmodels' ``WLS`` defines them
    (weighted and centred when the design has a constant column, uncentred otherwise).
    """

    params: np.ndarray
    normalized_cov_params: np.ndarray
    resid: np.ndarray
    df_resid: float
    rsquared: float
    rsquared_adj: float


def solve_wls(X: np.ndarray, y: np.ndarray, w: np.ndarray,
              check_rank: Callable[[np.ndarray], None] | None = None,
              has_constant: bool | None = None) -> WLSFit:
    """Weighted least squares by a Cholesky solve of the equilibrated normal equations.

    statsmodels' ``WLS.fit`` takes the pseudo-inverse of the whitened X by SVD, several
    times slower on survey-sized designs (n = 50,000, K = 80) and needless once the
    design is known to have full column rank. The Gram matrix ``X'WX`` is scaled to a
    unit diagonal; when its condition number is below 1e8 it is positive definite (full
    rank proven) and a Cholesky solve gives the estimates. Otherwise ``check_rank`` (the
    design's pivoted-QR check, which names collinear terms) is called if given, and the
    estimates come from the SVD of the whitened, scaled X (statsmodels' own route). Either
    way they equal statsmodels' to rounding (about 1e-14 relative on well-posed designs).
    ``has_constant`` (whether a column is constant, for R-squared; looked for when None)
    saves a pass over X when the design says so.
    """
    from scipy.linalg import cho_factor, cho_solve

    n, k = X.shape
    Xw = X * w[:, None]
    gram = Xw.T @ X
    d = np.sqrt(np.diag(gram))
    d[d == 0] = 1.0
    scaled = gram / np.outer(d, d)
    with np.errstate(all="ignore"):
        try:
            ev = np.linalg.eigvalsh(scaled)
        except np.linalg.LinAlgError:  # non-finite values: the rank check reports them
            ev = np.zeros(1)
    if ev[0] > 1e-8 * ev[-1]:
        factor = cho_factor(scaled, lower=False, check_finite=False)
        params = cho_solve(factor, (Xw.T @ y) / d, check_finite=False) / d
        inv = cho_solve(factor, np.eye(k), check_finite=False) / np.outer(d, d)
    else:
        if check_rank is not None:
            check_rank(X)
        sw = np.sqrt(w)
        u, sing, vt = np.linalg.svd((X * sw[:, None]) / d, full_matrices=False)
        params = (vt.T @ ((u.T @ (y * sw)) / sing)) / d
        inv = ((vt.T / sing**2) @ vt) / np.outer(d, d)
    resid = y - X @ params
    ssr = float(np.sum(w * resid**2))
    if has_constant is None:
        has_constant = bool(np.any(np.all(X == X[0], axis=0) & (X[0] != 0)))
    if has_constant:
        tss = float(np.sum(w * (y - np.average(y, weights=w)) ** 2))
    else:  # statsmodels' uncentred total sum of squares without a constant
        tss = float(np.sum(w * y**2))
    rsquared = 1 - ssr / tss
    df_resid = float(n - k)
    rsquared_adj = 1 - (n - int(has_constant)) / df_resid * (1 - rsquared)
    return WLSFit(params, inv, resid, df_resid, rsquared, rsquared_adj)


def fit_wls(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    cluster: np.ndarray | None,
    cov_type: OLSCovType,
    check_rank: Callable[[np.ndarray], None] | None = None,
    has_constant: bool | None = None,
) -> tuple[WLSFit, np.ndarray, float]:
    """Fit WLS (OLS when unweighted) and the requested covariance.

    Returns ``(fit, cov, df_inference)``: the estimates (:class:`WLSFit`, from
    :func:`solve_wls`), the covariance of the coefficients and the degrees of freedom of t
    tests. ``"nonrobust"`` is statsmodels' ``sigma^2 (X'WX)^-1``; ``"HC1"`` and
    ``"cluster"`` are :func:`pmt.models.covariance.robust_cov` of the weighted scores
    ``w_i e_i x_i`` with the linear-model factor (``N/(N-K)``; ``G/(G-1)(N-1)/(N-K)``),
    equal to statsmodels' ``WLS(...).fit(cov_type=...)``. Inference uses t (and F)
    distributions with the residual degrees of freedom (G-1 for clusters), as Stata does;
    statsmodels' default for robust covariances would be the normal.
    """
    w = np.ones(len(y)) if weights is None else weights
    res = solve_wls(X, y, w, check_rank, has_constant)
    if cov_type == "nonrobust":
        sigma2 = float(np.sum(w * res.resid**2)) / res.df_resid
        return res, sigma2 * res.normalized_cov_params, res.df_resid
    groups = None
    df_inference = res.df_resid
    if cov_type == "cluster":
        if cluster is None:
            raise ModelError("cov_type='cluster' needs `cluster=` (a column of PSU ids).")
        groups = np.asarray(cluster)
        df_inference = float(cluster_codes(groups)[1] - 1)
    scores = X * (w * res.resid)[:, None]
    cov = robust_cov(res.normalized_cov_params, scores, groups=groups, small_sample="linear")
    return res, cov, df_inference


def _resolve_cov_type(cov_type: OLSCovType | None, has_cluster: bool) -> OLSCovType:
    """``cov_type`` of an OLS fit: default "cluster" with a cluster, else "HC1"."""
    # resolve_cov_type checks the name against OLSCovType
    return cast(OLSCovType, resolve_cov_type(
        cov_type, OLSCovType, default="cluster" if has_cluster else "HC1",
        has_cluster=has_cluster, model="ols", stacklevel=4))


def _min_obs(prep: Prepared, what: str) -> None:
    k = prep.X.shape[1]
    if prep.nobs <= k:
        raise ModelError(
            f"too few observations for {what}: {prep.nobs} complete rows for {k} terms "
            f"(formula {prep.design.formula!r}). Use fewer terms or more data."
        )


def _ols_parts(prep: Prepared, cov_type: OLSCovType) -> dict:
    """Fit WLS on prepared arrays; return keyword arguments for an OLS result."""
    assert prep.y is not None  # prepare() requires a left-hand side by default, so y is set
    # prepare(check_rank=False): the solver proves full rank from the Gram it needs anyway
    with blas_threads(1):  # thin designs gain nothing from BLAS threads, and contend
        intercept = any(t.kind == "intercept" for t in prep.design.terms)
        res, cov, df_resid = fit_wls(prep.X, prep.y, prep.weights, prep.cluster, cov_type,
                                     check_rank=prep.design.check_rank,
                                     has_constant=True if intercept else None)
    w = np.ones(prep.nobs) if prep.weights is None else prep.weights
    n, k = prep.X.shape
    resid = res.resid
    sw = float(w.sum())
    sigma2 = float(np.sum(w * resid**2) / sw * n / (n - k))
    smearing: float | None
    with np.errstate(over="ignore"):
        smearing = float(np.sum(w * np.exp(resid)) / sw)
    if not np.isfinite(smearing):
        # residuals far too large for a log-scale model (e.g. welfare in levels on the left):
        # no smearing factor, so scale="level" with "smearing" raises a ModelError
        smearing = None
    info = {
        "rsquared": float(res.rsquared),
        "rsquared_adj": float(res.rsquared_adj),
        "weighted": prep.weights is not None,
        "n_clusters": None if prep.cluster is None else int(np.unique(prep.cluster).size),
        "small_sample_correction": {
            "cluster": correction_text("linear", True, "t with G-1 df"),
            "HC1": correction_text("linear", False, "t with N-K df"),
            "nonrobust": "sigma^2 = sum w e^2/(N-K); t with N-K df",
        }[cov_type],
    }
    return {
        "design": prep.design,
        "params": np.asarray(res.params),
        "bse": np.sqrt(np.diag(cov)),
        "cov": cov,
        "nobs": prep.nobs,
        "n_dropped": prep.n_dropped,
        "weighted_nobs": sw,
        "df_resid": df_resid,
        "cov_type": cov_type,
        "sigma2": sigma2,
        "smearing_factor": smearing,
        "info": info,
    }


@register_model
class OLSResult(ModelResult):
    """A fitted (weighted) least-squares model of a welfare measure.

    Besides the common :class:`~pmt.models.base.ModelResult` interface: ``rsquared``
    (weighted, centred), ``rsquared_adj``, ``weighted_nobs`` (sum of weights),
    ``n_clusters``, ``sigma2`` and ``smearing_factor`` (see the module docstring).
    """

    model_type = "ols"

    @property
    def rsquared(self) -> float:
        """Weighted, centred R^2."""
        return float(self.info["rsquared"])

    @property
    def rsquared_adj(self) -> float:
        """Adjusted R^2."""
        return float(self.info["rsquared_adj"])

    @property
    def n_clusters(self) -> int | None:
        """Number of PSU clusters, or None when not clustered."""
        return self.info.get("n_clusters")

    def _summary_stats(self) -> dict:
        out: dict = {"R2": self.rsquared, "adj. R2": self.rsquared_adj}
        if self.info.get("weighted"):
            out["sum of weights"] = self.weighted_nobs
        if self.n_clusters:
            out["clusters"] = self.n_clusters
        if "small_sample_correction" in self.info:
            out["s.e. correction"] = self.info["small_sample_correction"]
        out["sigma2"] = self.sigma2
        out["smearing factor"] = self.smearing_factor
        return out


_SHARE_LABEL: dict[str | None, str] = {
    "person": "person share used",
    "household": "household share used",
    "cut_weights": "share used (cut weights)",
}


@register_model
class TruncatedOLSResult(OLSResult):
    """OLS fitted only on households at or below a weighted percentile of actual welfare.

    ``info`` records ``quantile``, the welfare column ``welfare``, the cut ``cut`` (welfare
    value), ``n_used``/``n_eligible`` (households used / with complete data),
    ``share_used`` (weighted share of the complete-data sample at or below the cut, with
    the cut weights) and ``unit``: ``"person"`` (cut weights w_h * n_h, population
    shares), ``"household"`` (household weights) or ``"cut_weights"`` (as passed).
    """

    model_type = "truncated_ols"

    @property
    def cut(self) -> float:
        """Welfare value at the truncation quantile (the cut)."""
        return float(self.info["cut"])

    @property
    def share_used(self) -> float:
        """Weighted share of the complete-data sample at or below the cut."""
        return float(self.info["share_used"])

    def _summary_stats(self) -> dict:
        out = {
            "truncation quantile": self.info["quantile"],
            f"cut ({self.info['welfare']})": self.cut,
            _SHARE_LABEL.get(self.info.get("unit"), "weighted share used"): self.share_used,
        }
        out.update(super()._summary_stats())
        return out


@renamed_arguments(
    positional=("weights", "cluster", "cov_type", "by", "survey", "retransform"),
)
def ols(
    formula: str,
    data: pd.DataFrame,
    *,
    weights=None,
    cluster=None,
    cov_type: OLSCovType | None = None,
    by: str | None = None,
    survey: Survey | None = None,
    retransform: str = "smearing",
) -> OLSResult | GroupedOLSResult:
    """Survey-weighted least squares of a welfare measure on proxies (the PMT model).

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters
    ----------
    formula : str
        ``"log_pcc ~ rooms + car + C(region)"``: left side the welfare measure (usually
        log per-capita consumption, monthly), right side plain columns and ``C(name)``.
    data : pandas.DataFrame
        One row per household.
    weights : str or array-like, optional
        Column name of (household) sampling weights, or one weight per row.
    cluster : str or array-like, optional
        Column name of the PSU (cluster) ids, or one id per row.
    cov_type : {"cluster", "HC1", "nonrobust"}, optional
        Default "cluster" when a cluster is given, else "HC1" (see the module docstring for
        the small-sample corrections, which match statsmodels/Stata).
    by : str, optional
        Column of groups (e.g. ``"urban"``): fit one model per group and predict each row
        with its own group's model; returns a :class:`GroupedOLSResult`.
    survey : pmt.Survey, optional
        Take the weights and clusters from a Survey built on ``data``: the **household**
        sampling weight w_h (as in the Uzbek 2019 PMT; each household is one observation of
        its per-capita welfare) and the PSU as cluster. Not combinable with weights=/cluster=.
    retransform : {"smearing", "normal", "none"}
        Default retransformation for ``predict(df, scale="level")``.

    Returns
    -------
    OLSResult or GroupedOLSResult
        ``params``/``bse`` by term ("Intercept" for the constant), ``rsquared``,
        ``nobs``, ``n_dropped`` (rows excluded for missing values, with a warning),
        ``weighted_nobs``, ``sigma2``, ``smearing_factor``; ``predict(df)`` on the
        formula's scale and ``predict(df, scale="level")`` in levels.

    Raises
    ------
    ModelError
        Missing columns, a single-level category, collinear terms (named), too few rows,
        non-positive weights, fewer than 2 clusters.
    """
    weights, cluster = survey_inputs(data, survey, weights, cluster)
    check_option(retransform, Retransform, name="retransform")
    if by is not None:
        return _ols_by(formula, data, weights, cluster, cov_type, by, retransform)
    prep = prepare(formula, data, weights=weights, cluster=cluster, check_rank=False)
    _min_obs(prep, "OLS")
    parts = _ols_parts(prep, _resolve_cov_type(cov_type, prep.cluster is not None))
    # retransform was checked against Retransform above
    result = _with_sample(OLSResult(retransform=cast(Retransform, retransform), **parts), prep)
    return attach_profile(result, data, prep)


@renamed_arguments(
    positional=("share", "welfare", "weights", "cluster", "cut_weights", "cov_type", "survey",
                "retransform", "size", "unit"),
    quantile="share",
)
def truncated_ols(
    formula: str,
    data: pd.DataFrame,
    *,
    share: float = 0.4,
    welfare=None,
    weights=None,
    cluster=None,
    cut_weights=None,
    cov_type: OLSCovType | None = None,
    survey: Survey | None = None,
    retransform: str = "smearing",
    size=None,
    unit: Literal["person", "household"] = "person",
) -> TruncatedOLSResult:
    """Poor-focused OLS: fit only on households at or below a weighted welfare percentile.

    Brown, Ravallion and van de Walle (2018, "A poor means test?") fit the PMT on the
    poorer part of the population so that the model predicts well where eligibility is
    decided. Households with complete data and actual welfare ``<=`` the weighted
    quantile at ``share`` (DESIGN.md section 4: the smallest welfare whose cumulative
    weight share is at least ``share``) are kept and OLS is fitted on them.

    The cut is a share of **people** (DESIGN.md section 3): its weights are the person
    weights ``w_h * n_h``, household weight times household size, so ``share=0.4``
    keeps the households of the poorest 40 % of the population. Poor households are
    larger, so this is more households than "the poorest 40 % of households" (on the
    synthetic survey, the poorest 40 % of households hold 44 % of the people). Households
    are never split: the person share kept is at least ``share`` and exceeds it by less
    than the person weight of the household at the cut.

    Parameters
    ----------
    formula, data, weights, cluster, cov_type, retransform
        As in :func:`ols`. The regression itself uses the household weights ``weights``
        (each household is one observation of its per-capita welfare, as in :func:`ols`).
    share : float
        Share (0 < share <= 1) of the population to keep, e.g. 0.4 for the poorest 40 %.
        Was ``quantile`` (deprecated: still accepted, with a FutureWarning). All arguments
        after ``data`` are keyword-only (by position: deprecated, still accepted).
    welfare : str or array-like, optional
        Welfare ranking the households (default: the formula's left side; logs rank the
        same as levels).
    cut_weights : str or array-like, optional
        Weights for the percentile, used as given (e.g. person weights you computed).
        Default: ``weights * size`` (``unit="person"``) or ``weights``
        (``unit="household"``). Not combinable with ``size``.
    survey : pmt.Survey, optional
        Household weights and PSUs for the regression; its ``size`` column (if the Survey
        has one) gives the household sizes for the cut.
    size : str or array-like, optional
        Household size n_h (column name or one value per row, whole numbers >= 1), e.g.
        ``size="hh_size"``. Needed for a cut in person shares when there is no ``survey=``
        with a size; without any size the cut falls back to household shares with a
        warning.
    unit : {"person", "household"}
        ``"person"`` (default) cuts in population shares; ``"household"`` cuts in shares of
        (weighted) households, ignores sizes and does not warn.

    Returns
    -------
    TruncatedOLSResult
        ``cut``, ``share_used`` (person share kept, or household share with
        ``unit="household"`` or no size), ``unit`` and the counts are in ``info``;
        predictions apply to every household (the model is meant to rank all of them).

    Warns
    -----
    UserWarning
        When no household size is known (no ``size=``, no Survey size, no
        ``cut_weights``) and ``unit="person"``: the cut is then in household shares.
    """
    if not (isinstance(share, int | float) and 0 < share <= 1):
        raise ModelError(f"`share` must be a share in (0, 1]; got {share!r}.")
    if unit not in ("person", "household"):
        raise ModelError(
            f"unit must be 'person' (cut in population shares, the default) or 'household'; "
            f"got {unit!r}."
        )
    if cut_weights is not None and size is not None:
        raise ModelError(
            "pass either cut_weights= (used as given) or size= (cut weights = weights * size), "
            "not both."
        )
    survey_size = None
    if isinstance(survey, Survey) and survey.size is not None:
        if size is not None:
            raise ModelError(
                f"the Survey already has a size column ('{survey.size}'); drop size= or build "
                "the Survey without size."
            )
        survey_size = survey.household_size
    weights, cluster = survey_inputs(data, survey, weights, cluster)
    check_option(retransform, Retransform, name="retransform")
    full = prepare(formula, data, weights=weights, cluster=cluster, check_rank=False)
    if welfare is None:
        wel_name = full.design.lhs
        wel = data[wel_name].to_numpy(dtype=float)
    else:
        wel_name = welfare if isinstance(welfare, str) else "welfare"
        wel = column_or_array(welfare, data, name="welfare", allow_nan=True)
    n_size = survey_size if survey_size is not None else _household_size(data, size)
    if cut_weights is not None:
        cut_w = check_weights(cut_weights, data=data, name="cut_weights", allow_nan=True,
                              allow_zero_sum=True, subset=full.mask & np.isfinite(wel))
        cut_unit = "cut_weights"
    else:
        hh_w = np.ones(len(data)) if weights is None else column_or_array(
            weights, data, name="weights", allow_nan=True)
        if unit == "household":
            cut_w, cut_unit = hh_w, "household"
        elif n_size is None:
            cut_w, cut_unit = hh_w, "household"
            warnings.warn(
                f"truncated_ols cuts at the poorest {share:.0%} of households, not of people: "
                "no household size is known. Poorer households are usually larger, so this keeps "
                "fewer people than the population share asked for. Pass size='<household size "
                "column>' (or survey=pmt.Survey(..., size=...)) to cut in person shares, or "
                "unit='household' to keep household shares without this warning.",
                stacklevel=2,
            )
        else:
            cut_w, cut_unit = hh_w * n_size, "person"
    usable = full.mask & np.isfinite(wel) & np.isfinite(cut_w)
    n_missing_welfare = int((full.mask & ~usable).sum())
    if n_missing_welfare:
        warnings.warn(
            f"{n_missing_welfare} rows have complete proxies but missing welfare '{wel_name}', "
            "cut weights or household size, and are excluded "
            f"({example_rows(data.index[full.mask & ~usable])}).",
            stacklevel=2,
        )
    if not usable.any():
        raise ModelError("no rows with complete data remain for truncated OLS.")
    cut = float(weighted_quantile(wel[usable], cut_w[usable], share))
    keep = usable & (wel <= cut)
    share_used = float(cut_w[keep].sum() / cut_w[usable].sum())
    sub = data.loc[keep]
    w_sub = None if weights is None else _subset(data, weights, keep)
    c_sub = None if cluster is None else _subset(data, cluster, keep)
    prep = prepare(formula, sub, weights=w_sub, cluster=c_sub, check_rank=False)
    _min_obs(prep, f"truncated OLS at share {share}")
    parts = _ols_parts(prep, _resolve_cov_type(cov_type, prep.cluster is not None))
    parts["n_dropped"] = int(len(data) - usable.sum())
    parts["info"].update(
        {
            "quantile": float(share),
            "welfare": wel_name,
            "cut": cut,
            "share_used": share_used,
            "unit": cut_unit,
            "n_used": int(keep.sum()),
            "n_eligible": int(usable.sum()),
        }
    )
    # the profile is of the whole population the scorecard will score, not the truncated fit
    # retransform was checked against Retransform above
    result = _with_sample(TruncatedOLSResult(retransform=cast(Retransform, retransform), **parts),
                          prep)
    return attach_profile(result, data, full)


_OLS = TypeVar("_OLS", bound="OLSResult")


def _with_sample(result: _OLS, prep: Prepared) -> _OLS:
    """Keep y and x'b of the estimation sample for ``fittedvalues`` and ``resid``."""
    result._set_sample(prep.index, prep.y, prep.X @ result.params.to_numpy())
    return result


def _household_size(data: pd.DataFrame, size) -> np.ndarray | None:
    """Household sizes from ``size=`` (column or array): NaN where missing, else whole >= 1."""
    if size is None:
        return None
    n = column_or_array(size, data, name="size", allow_nan=True)
    ok = np.isfinite(n)
    bad = ok & ((n < 1) | (n != np.floor(n)))
    if bad.any():
        name = f"'{size}'" if isinstance(size, str) else "size"
        raise ModelError(
            f"household size {name} must be a whole number >= 1; {int(bad.sum())} bad values "
            f"at {example_rows(data.index[bad])}. Pass the number of household members "
            "(not an adult-equivalence scale)."
        )
    return n


def _subset(data: pd.DataFrame, value, keep: np.ndarray):
    """A column name stays a name; an array is cut to the kept rows."""
    if isinstance(value, str):
        return value
    return np.asarray(value)[keep]


# --- one model per group -----------------------------------------------------------------
def _group_labels(col: pd.Series) -> np.ndarray:
    """Group label (text, :func:`level_label`) of every row; missing stays missing."""
    mapping = {u: level_label(u) for u in pd.unique(col.dropna())}
    return col.map(mapping).astype(object).to_numpy()


@register_model
class GroupedOLSResult:
    """One OLS model per group of a column (e.g. urban and rural PMTs).

    Attributes
    ----------
    by : str
        The grouping column.
    results : dict
        Group label (text, as in :func:`pmt.models.formula.level_label`) -> OLSResult.
    params, bse : pandas.Series
        MultiIndex (group, term) Series of all groups' coefficients and standard errors.
    nobs, n_dropped : int
        Totals over groups (rows with a missing group count as dropped).

    ``predict(df)`` predicts every row with the model of its own group; rows of a group
    without a model raise ModelError naming them.
    """

    model_type = "ols_by"

    def __init__(self, by: str, results: Mapping[str, OLSResult], n_dropped_by: int = 0):
        if not results:
            raise ModelError("a grouped model needs at least one group.")
        self.by = by
        self.results = dict(results)
        self.n_dropped_by = int(n_dropped_by)

    @property
    def groups(self) -> list[str]:
        """Group labels, one model each."""
        return list(self.results)

    def _stack(self, attr: str) -> pd.Series:
        parts = {g: getattr(r, attr) for g, r in self.results.items()}
        out = pd.concat(parts, names=[self.by, "term"])
        return out.rename(attr if attr != "params" else "coef")

    @property
    def params(self) -> pd.Series:
        """Coefficients of every group, indexed by (group, term)."""
        return self._stack("params")

    @property
    def bse(self) -> pd.Series:
        """Standard errors of every group, indexed by (group, term)."""
        return self._stack("bse").rename("se")

    @property
    def pvalues(self) -> pd.Series:
        """p-values of every group, indexed by (group, term)."""
        return self._stack("pvalues").rename("p")

    @property
    def tvalues(self) -> pd.Series:
        """Test statistics (t) of every group, indexed by (group, term)."""
        return self._stack("tvalues").rename("t")

    @property
    def df_resid(self) -> pd.Series:
        """Degrees of freedom of each group's t tests (groups are fitted separately)."""
        return pd.Series(
            {g: r.df_resid for g, r in self.results.items()}, name="df_resid"
        ).rename_axis(self.by)

    def conf_int(self, level: float = 0.95, alpha: float | None = None) -> pd.DataFrame:
        """Each group's :meth:`ModelResult.conf_int`, stacked with a (group, term) index."""
        return pd.concat(
            {g: r.conf_int(level, alpha=alpha) for g, r in self.results.items()},
            names=[self.by, "term"],
        )

    def cov_params(self) -> pd.DataFrame:
        """Block-diagonal covariance with a (group, term) index: the groups are fitted
        separately, so the covariances across groups are zero by construction (they are
        not estimated).
        """
        from scipy.linalg import block_diag

        blocks = [r.cov_params() for r in self.results.values()]
        index = self.params.index
        return pd.DataFrame(block_diag(*[b.to_numpy() for b in blocks]), index=index,
                            columns=index)

    @property
    def fittedvalues(self) -> pd.Series:
        """Fitted values of every group's estimation sample (group by group)."""
        return pd.concat([r.fittedvalues for r in self.results.values()])

    @property
    def resid(self) -> pd.Series:
        """Residuals of every group's estimation sample (group by group)."""
        return pd.concat([r.resid for r in self.results.values()])

    @property
    def nobs(self) -> int:
        """Rows used, summed over groups."""
        return sum(r.nobs for r in self.results.values())

    @property
    def n_dropped(self) -> int:
        """Rows dropped: those with a missing group plus each group's missing values."""
        return self.n_dropped_by + sum(r.n_dropped for r in self.results.values())

    @property
    def weighted_nobs(self) -> float:
        """Sum of weights over the groups' estimation samples."""
        return float(sum(r.weighted_nobs or 0.0 for r in self.results.values()))

    @property
    def cov_type(self) -> str:
        """Covariance type of the groups' models (the first group's)."""
        return next(iter(self.results.values())).cov_type

    @property
    def retransform(self) -> str:
        """Retransformation to levels of the groups' models (the first group's)."""
        return next(iter(self.results.values())).retransform

    @property
    def rsquared(self) -> pd.Series:
        """R^2 of each group's model (there is no single pooled R^2)."""
        return pd.Series(
            {g: r.rsquared for g, r in self.results.items()}, name="rsquared"
        ).rename_axis(self.by)

    @property
    def formula(self) -> str:
        """Formula of the groups' models (the first group's)."""
        return next(iter(self.results.values())).formula

    @property
    def terms(self) -> pd.DataFrame:
        """Every group's terms table, indexed by (group, term)."""
        return pd.concat({g: r.terms for g, r in self.results.items()}, names=[self.by, "term"])

    def _group_labels(self, data: pd.DataFrame) -> np.ndarray:
        if self.by not in data.columns:
            raise ModelError(f"the data lack the grouping column '{self.by}' of this model.")
        return _group_labels(data[self.by])

    def _apply(self, data: pd.DataFrame, method: str, **kwargs) -> pd.Series:
        labels = self._group_labels(data)
        out = pd.Series(np.nan, index=data.index, dtype=float)
        missing = pd.isna(labels)
        unknown = ~missing & ~np.isin(labels.astype(str), self.groups)
        if unknown.any():
            bad = sorted({str(v) for v in labels[unknown]})
            raise ModelError(
                f"'{self.by}' has group(s) {', '.join(bad[:10])} without a model (models: "
                f"{', '.join(self.groups)}) at {example_rows(data.index[unknown])}."
            )
        if missing.any():
            warnings.warn(
                f"{int(missing.sum())} rows have a missing '{self.by}' and get no prediction "
                f"({example_rows(data.index[missing])}).",
                stacklevel=3,
            )
        name = None
        for g, r in self.results.items():
            m = ~missing & (labels == g)
            if m.any():
                pred = getattr(r, method)(data.loc[m], **kwargs)
                out.iloc[np.flatnonzero(m)] = pred.to_numpy()
                name = pred.name
        return out.rename(name or method)

    def linear_predictor(self, data: pd.DataFrame) -> pd.Series:
        """Linear predictor x'b of each row with its own group's coefficients."""
        return self._apply(data, "linear_predictor")

    def predict(
        self,
        data: pd.DataFrame,
        scale: Literal["model", "level"] = "model",
        retransform: str | None = None,
    ) -> pd.Series:
        """Predict each row with its own group's model (see ModelResult.predict).

        In levels each group uses its own sigma2 / smearing factor.
        """
        return self._apply(data, "predict", scale=scale, retransform=retransform)

    def coef_table(self, labels=None) -> pd.DataFrame:
        """Coefficient tables of all groups stacked with a (group, term) index."""
        return pd.concat(
            {g: r.coef_table(labels) for g, r in self.results.items()}, names=[self.by, "term"]
        )

    def summary(self) -> Summary:
        """Every group's summary (text and HTML), see :class:`pmt.models.summary.Summary`."""
        parts = [f"OLS by '{self.by}': {len(self.results)} groups, N = {self.nobs:,}"]
        if self.n_dropped_by:
            parts.append(f"({self.n_dropped_by} rows with missing '{self.by}' excluded)")
        sections = []
        for g, r in self.results.items():
            s = r.summary()
            for sec in s.sections:
                sec.title = f"{self.by} = {g}: {sec.title}"
            sections += s.sections
            parts.append(f"\n=== {self.by} = {g} ===\n" + s.as_text())
        return Summary("\n".join(parts), sections)

    def to_dict(self) -> dict:
        """JSON-safe dict of every group's model (see pmt.artifacts)."""
        return {
            "model_type": self.model_type,
            "by": self.by,
            "n_dropped_by": self.n_dropped_by,
            "groups": [{"group": g, "model": r.to_dict()} for g, r in self.results.items()],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> GroupedOLSResult:
        """Rebuild a grouped result from :meth:`to_dict` output (no code is evaluated)."""
        from pmt.models.base import MODEL_TYPES

        results = {}
        for item in d["groups"]:
            sub = item["model"]
            kind = MODEL_TYPES.get(sub.get("model_type"))
            if kind is None or not issubclass(kind, ModelResult):
                raise ModelError(f"unknown per-group model type {sub.get('model_type')!r}.")
            # the groups of a grouped OLS result are OLS results
            results[str(item["group"])] = cast(OLSResult, kind.from_dict(sub))
        return cls(d["by"], results, d.get("n_dropped_by", 0))

    def __repr__(self) -> str:
        return f"<GroupedOLSResult by={self.by!r} groups={self.groups} N={self.nobs}>"


def _ols_by(formula, data, weights, cluster, cov_type, by, retransform) -> GroupedOLSResult:
    if not isinstance(data, pd.DataFrame):
        raise ModelError("`data` must be a pandas DataFrame.")
    if not isinstance(by, str) or by not in data.columns:
        raise ModelError(f"`by` must name a column of the data; got {by!r}.")
    w_all = resolve_column(data, weights, "weights")
    c_all = resolve_column(data, cluster, "cluster")
    col = data[by]
    missing = col.isna().to_numpy()
    if missing.any():
        warnings.warn(
            f"{int(missing.sum())} rows have a missing '{by}' and are excluded "
            f"({example_rows(data.index[missing])}).",
            stacklevel=3,
        )
    labels = _group_labels(col)
    try:
        order = sorted(pd.unique(col.dropna()))
    except TypeError:
        order = sorted(pd.unique(col.dropna()), key=str)
    results: dict[str, OLSResult] = {}
    for value in order:
        g = level_label(value)
        m = ~missing & (labels == g)
        try:
            results[g] = cast(OLSResult, ols(  # no by=: a single OLSResult
                formula,
                data.loc[m],
                weights=None if w_all is None else w_all[m],
                cluster=None if c_all is None else c_all[m],
                cov_type=cov_type,
                retransform=retransform,
            ))
        except ModelError as err:  # keep the class (a WeightError stays one)
            raise type(err)(f"group {by} = {g}: {err}") from err
    return GroupedOLSResult(by, results, int(missing.sum()))

