"""One covariance vocabulary and one cluster "meat" for every pmt model.

Every model takes ``cov_type=`` from one vocabulary (:data:`pmt._literals.CovType`) and
reports the one it used in ``result.cov_type``; every sandwich covariance is built by
:func:`robust_cov` from per-observation scores, with the meat of :func:`cluster_meat` and
the small-sample factor of :func:`small_sample_factor`.

Vocabulary
----------
``"nonrobust"``
    Model-based. OLS: ``sigma^2 (X'WX)^-1``. Maximum likelihood (probit/logit, Heckman
    ML): the inverse observed information (Stata's ``vce(oim)``). Heckman two-step:
    Heckman's corrected covariance (Greene 2003, eq. 22-22).
``"HC0"``
    Sandwich ``H^-1 (sum_i s_i s_i') H^-1`` with each observation its own cluster and no
    small-sample factor (the pseudo-likelihood covariance of weighted ML models).
``"HC1"``
    The same for OLS with the factor ``N/(N-K)`` (Stata's ``regress ..., robust``).
``"cluster"``
    Cluster (PSU) sandwich ``H^-1 (sum_g s_g s_g') H^-1``, ``s_g`` the sum of the scores
    of cluster g, times the model's small-sample factor (below).
``"kernel"``
    Quantile regression: Powell's kernel sandwich (R ``summary.rq(se="ker")``).
``"bootstrap"``
    Quantile regression: Rao-Wu bootstrap of the PSUs within strata.
``"none"``
    Quantile regression: no standard errors (NaN).

Which model takes which (the default first; "cluster" is the default whenever
``cluster=`` is given):

================================  =========================================================
model                             ``cov_type``
================================  =========================================================
``ols``, ``truncated_ols``,       ``"HC1"``, ``"cluster"``, ``"nonrobust"``
``stepwise``, ``lasso_select``
``probit``, ``logit``             ``"HC0"``, ``"cluster"``, ``"nonrobust"``
``quantreg``                      ``"kernel"``, ``"cluster"`` (kernel sandwich with the
                                  cluster meat), ``"bootstrap"``, ``"none"``
``heckman`` (both methods)        ``"nonrobust"`` (``"HC0"`` with weights), ``"HC0"``,
                                  ``"cluster"``
================================  =========================================================

Deprecated spellings, accepted for one release with a ``FutureWarning``: Heckman
two-step ``"corrected"`` -> ``"nonrobust"`` and ``"robust"`` -> ``"HC0"``; Heckman ML
``"oim"`` -> ``"nonrobust"`` and ``"robust"`` -> ``"HC0"``; quantile regression's
``se=`` argument -> ``cov_type=`` (``se="kernel"`` with a cluster -> ``"cluster"``).
Results saved under the old names (``"robust"``, ``"corrected"``, ``"oim"``,
``"kernel-cluster"``, ``"bootstrap-cluster"``) load under the new ones
(:func:`canonical_cov_type`).

Small-sample factors
--------------------
With N observations, K parameters and G clusters (:func:`small_sample_factor`):

``"linear"``
    ``G/(G-1) * (N-1)/(N-K)`` with clusters (CR1), ``N/(N-K)`` without (HC1). This is
    Stata's ``regress ..., vce(cluster)`` ([R] regress, Methods and formulas) and
    statsmodels' ``sandwich_covariance.cov_cluster(..., use_correction=True)``, which
    statsmodels applies to every model, ``Probit``/``Logit``/``GLM`` included. Used by
    OLS (and stepwise) and, so that their numbers equal statsmodels', by probit/logit.
``"ml"``
    ``G/(G-1)`` with clusters, ``N/(N-1)`` without: Stata's maximum-likelihood commands
    (``probit``, ``heckman``; [P] _robust, [U] 20.22). Used by Heckman's cluster
    covariances.
``"none"``
    1 (CR0, HC0). Used by the HC0 covariances and by quantile regression's cluster meat
    (Parente and Santos Silva 2016).

Tests with a cluster covariance use Student's t on G-1 degrees of freedom for OLS (as
Stata) and the normal for the ML models and quantile regression.

With ``strata=`` the meat is the design-based one of Stata's ``svy`` linearisation
([SVY] Variance estimation): cluster score sums are centred on their stratum mean and
stratum h's part multiplied by ``m_h/(m_h-1)`` (m_h its clusters), which then replaces
the ``G/(G-1)`` of the factor. With one stratum this equals the uncentred cluster meat
times ``G/(G-1)`` whenever the scores sum to zero (at an estimate).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, get_args

import numpy as np
import pandas as pd

from pmt._literals import CovType, SmallSample
from pmt._validation import check_option
from pmt.errors import ModelError

__all__ = [
    "COV_TYPES",
    "LEGACY_COV_TYPES",
    "canonical_cov_type",
    "cluster_codes",
    "cluster_meat",
    "cluster_sums",
    "correction_text",
    "resolve_cov_type",
    "robust_cov",
    "sandwich",
    "small_sample_factor",
]

#: Every ``cov_type`` a pmt model may report.
COV_TYPES: tuple[str, ...] = get_args(CovType)

#: Names stored by earlier versions -> their name in the vocabulary (artifacts load them).
LEGACY_COV_TYPES: dict[str, str] = {
    "robust": "HC0",
    "corrected": "nonrobust",
    "oim": "nonrobust",
    "kernel-cluster": "cluster",
    "bootstrap-cluster": "bootstrap",
}

_FACTOR_TEXT = {
    ("linear", True): "G/(G-1)*(N-1)/(N-K)",
    ("linear", False): "N/(N-K)",
    ("ml", True): "G/(G-1)",
    ("ml", False): "N/(N-1)",
    ("none", True): "none",
    ("none", False): "none",
}


# --- vocabulary --------------------------------------------------------------------------
def canonical_cov_type(name: str) -> str:
    """The vocabulary's name of a ``cov_type`` stored by an earlier version.

    Names already in the vocabulary, and names this module does not know, come back
    unchanged; no warning (used when loading saved results).
    """
    return LEGACY_COV_TYPES.get(name, name) if isinstance(name, str) else name


def resolve_cov_type(
    cov_type: str | None,
    allowed: Any,
    *,
    default: str,
    has_cluster: bool,
    deprecated: Mapping[str, str] | None = None,
    model: str = "this model",
    stacklevel: int = 3,
) -> str:
    """Check a model's ``cov_type=`` argument and return the name to use.

    Parameters
    ----------
    cov_type : str or None
        As passed by the user; None takes ``default``.
    allowed : typing.Literal alias or tuple
        The model's options, e.g. :data:`pmt._literals.OLSCovType`.
    default : str
        The model's default (usually depending on whether a cluster is given).
    has_cluster : bool
        Whether ``cluster=`` was given: ``"cluster"`` needs it.
    deprecated : mapping, optional
        Old spelling -> new name, accepted with a ``FutureWarning`` for one release.
    model : str
        The model's name for messages.
    stacklevel : int
        Of the warning, counted from the caller of this function (3: the user's call of a
        model function that calls this directly).

    Returns
    -------
    str
        A name of ``allowed``.

    Raises
    ------
    pmt.errors.OptionError
        A name outside ``allowed`` (and not a deprecated spelling), listing the options.
    pmt.errors.ModelError
        ``"cluster"`` without a cluster.
    """
    if cov_type is None:
        return default
    if deprecated and isinstance(cov_type, str) and cov_type in deprecated:
        new = deprecated[cov_type]
        warnings.warn(
            f"cov_type={cov_type!r} of {model} is deprecated and will be removed in the next "
            f"release: it is now called cov_type={new!r} (the same covariance).",
            FutureWarning,
            stacklevel=stacklevel,
        )
        cov_type = new
    check_option(cov_type, allowed, name="cov_type")
    if cov_type == "cluster" and not has_cluster:
        raise ModelError("cov_type='cluster' needs `cluster=` (a column of PSU ids).")
    return cov_type


def correction_text(small_sample: SmallSample, clustered: bool, tests: str) -> str:
    """How a covariance was corrected, for summaries: e.g. ``"G/(G-1); z tests"``."""
    return f"{_FACTOR_TEXT[(small_sample, bool(clustered))]}; {tests}"


# --- clusters ----------------------------------------------------------------------------
def cluster_codes(groups) -> tuple[np.ndarray, int]:
    """Integer codes 0..G-1 of cluster labels, and G.

    Integer arrays are used as codes when they already are 0..G-1 with every code present
    (as :func:`pmt.models.base.prepare` returns them); any other labels are factorised.
    Missing labels are not allowed (models drop those rows first).
    """
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ModelError(f"cluster ids must be one-dimensional; got shape {g.shape}.")
    if g.dtype.kind in "iu" and g.size and g.min() >= 0:
        counts = np.bincount(g)
        if counts.all():
            return g.astype(np.intp, copy=False), int(counts.size)
    codes, uniques = pd.factorize(pd.Series(g, copy=False))
    if (codes < 0).any():
        raise ModelError("cluster ids have missing values; drop those rows first.")
    return codes.astype(np.intp, copy=False), len(uniques)


def _check_clusters(n_clusters: int) -> None:
    if n_clusters < 2:
        raise ModelError(
            f"cluster-robust covariance needs at least 2 clusters; the estimation sample has "
            f"{n_clusters}. Pass a PSU column with more clusters, or another cov_type."
        )


def cluster_sums(scores: np.ndarray, groups) -> np.ndarray:
    """Sums of the rows of ``scores`` (n x k) by cluster: a G x k array, clusters in code
    order (the sums of statsmodels' ``group_sums``, bit for bit: a sparse cluster-indicator
    matrix times the scores adds each cluster's rows in row order, as one ``bincount`` per
    column would, at half the time; one ``np.add.reduceat`` when the rows are sorted by
    cluster, which callers summing many score matrices of the same rows, as stepwise
    selection, arrange once).
    """
    S = np.asarray(scores, dtype=float)
    codes, G = cluster_codes(groups)
    if S.ndim == 1:
        S = S[:, None]
    if len(codes) != S.shape[0]:
        raise ModelError(
            f"cluster ids ({len(codes)}) and scores ({S.shape[0]} rows) differ in length."
        )
    steps = np.diff(codes)
    if (steps >= 0).all():
        return np.add.reduceat(S, np.flatnonzero(np.r_[True, steps != 0]), axis=0)
    from scipy import sparse

    n = len(codes)
    indicator = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(G, n))
    return np.asarray(indicator @ S)


def cluster_meat(scores: np.ndarray, groups=None, strata=None) -> np.ndarray:
    """The "meat" of a sandwich: the outer products of cluster sums of scores.

    Parameters
    ----------
    scores : ndarray (n, k)
        Per-observation scores (estimating-equation contributions), weights included,
        e.g. ``w_i e_i x_i`` for weighted least squares.
    groups : array-like (n,), optional
        Cluster (PSU) ids. None: every observation its own cluster, ``S'S``.
    strata : array-like (n,), optional
        Stratum of each observation (clusters must be nested in strata): the design-based
        meat ``sum_h m_h/(m_h-1) sum_{g in h} (s_g - sbar_h)(s_g - sbar_h)'`` of Stata's
        ``svy`` linearisation (module docstring). Needs ``groups``.

    Returns
    -------
    ndarray (k, k)
        ``sum_g s_g s_g'`` with ``s_g`` the sum of the scores of cluster g (no
        small-sample factor: see :func:`small_sample_factor`), or the stratified form.

    Raises
    ------
    ModelError
        Fewer than 2 clusters; strata with clusters split across strata or with a single
        cluster.
    """
    S = np.asarray(scores, dtype=float)
    if S.ndim == 1:
        S = S[:, None]
    if groups is None:
        if strata is not None:
            raise ModelError("a stratified meat needs the clusters (PSUs) as well: pass groups=.")
        return S.T @ S
    codes, G = cluster_codes(groups)
    _check_clusters(G)
    Sg = cluster_sums(S, codes)
    if strata is None:
        return Sg.T @ Sg
    h_codes, H = cluster_codes(strata)
    if len(h_codes) != len(codes):
        raise ModelError(f"strata ({len(h_codes)}) and clusters ({len(codes)}) differ in length.")
    h_of_g = np.full(G, -1)
    h_of_g[codes] = h_codes
    if not np.array_equal(h_of_g[codes], h_codes):
        raise ModelError(
            "clusters are not nested in strata: a PSU id appears in more than one stratum. "
            "Make PSU ids unique across strata (e.g. stratum * 1000 + psu)."
        )
    m = np.bincount(h_of_g, minlength=H)
    if (m < 2).any():
        raise ModelError(
            f"{int((m < 2).sum())} strata have a single cluster (PSU), so their variance "
            "cannot be estimated; merge them with neighbouring strata."
        )
    means = np.zeros((H, Sg.shape[1]))
    for j in range(Sg.shape[1]):
        means[:, j] = np.bincount(h_of_g, weights=Sg[:, j], minlength=H)
    means /= m[:, None]
    D = (Sg - means[h_of_g]) * np.sqrt(m / (m - 1.0))[h_of_g][:, None]
    return D.T @ D


def small_sample_factor(
    kind: SmallSample,
    nobs: int,
    n_params: int,
    n_clusters: int | None = None,
    stratified: bool = False,
) -> float:
    """The scalar multiplying a sandwich (module docstring).

    Parameters
    ----------
    kind : {"linear", "ml", "none"}
        ``"linear"``: ``G/(G-1) * (N-1)/(N-K)`` (``N/(N-K)`` without clusters);
        ``"ml"``: ``G/(G-1)`` (``N/(N-1)``); ``"none"``: 1.
    nobs, n_params : int
        N and K.
    n_clusters : int, optional
        G; None when every observation is its own cluster.
    stratified : bool
        The meat is stratified (:func:`cluster_meat` with ``strata``): its per-stratum
        ``m_h/(m_h-1)`` replaces ``G/(G-1)``.
    """
    check_option(kind, SmallSample, name="small_sample")
    if kind == "none":
        return 1.0
    n = float(nobs)
    g = n if n_clusters is None else float(n_clusters)
    groups = 1.0 if stratified else g / (g - 1.0)
    if kind == "ml":
        return groups
    return groups * ((n - 1.0) / (n - float(n_params)))


def sandwich(bread: np.ndarray, meat: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``factor * bread @ meat @ bread'``, symmetrised.

    ``bread`` is the inverse of minus the Hessian of the objective (ML), ``(X'WX)^-1``
    (least squares), or the inverse Jacobian of stacked estimating equations (two-step
    estimators; then not symmetric).
    """
    B = np.asarray(bread, dtype=float)
    V = B @ np.asarray(meat, dtype=float) @ B.T
    if factor != 1.0:
        V = V * factor
    return (V + V.T) / 2


def robust_cov(
    bread: np.ndarray,
    scores: np.ndarray,
    *,
    groups=None,
    strata=None,
    small_sample: SmallSample = "none",
    n_params: int | None = None,
) -> np.ndarray:
    """Sandwich covariance from per-observation scores: the one every model calls.

    Parameters
    ----------
    bread : ndarray (k, k)
        See :func:`sandwich`.
    scores : ndarray (n, k)
        Per-observation scores, weights included.
    groups, strata : array-like, optional
        Clusters and strata for :func:`cluster_meat`.
    small_sample : {"linear", "ml", "none"}
        The factor of :func:`small_sample_factor`.
    n_params : int, optional
        K of the factor (default: the columns of ``scores``).

    Returns
    -------
    ndarray (k, k)

    Examples
    --------
    statsmodels' ``WLS(y, X, weights=w).fit(cov_type="cluster", cov_kwds={"groups": g})``
    is ``robust_cov(inv(X'WX), X * (w * e)[:, None], groups=g, small_sample="linear")``;
    ``Probit(y, X).fit(cov_type="cluster", ...)`` is ``robust_cov(inv(-H), score_obs,
    groups=g, small_sample="linear")``.
    """
    S = np.asarray(scores, dtype=float)
    if S.ndim == 1:
        S = S[:, None]
    G = None
    if groups is not None:
        groups, G = cluster_codes(groups)  # factorised once, for the meat and the factor
    meat = cluster_meat(S, groups, strata)
    k = S.shape[1] if n_params is None else int(n_params)
    factor = small_sample_factor(small_sample, S.shape[0], k, G, stratified=strata is not None)
    return sandwich(bread, meat, factor)
