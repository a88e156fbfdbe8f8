"""Weighted linear quantile regression: exact fit, kernel and bootstrap standard errors.

``pmt.quantreg`` fits ``Q_q(y | x) = x'b`` by minimising the weighted check-function loss
``sum_i w_i rho_q(y_i - x_i'b)``, ``rho_q(r) = r (q - 1[r < 0])``, exactly (the LP optimum,
not an approximation): see :mod:`pmt.models._interior_point` for the Frisch-Newton
interior point, the exact vertex and the Portnoy-Koenker preprocessing, and why we wrote
our own rather than use statsmodels' ``QuantReg`` (IRLS: slow and inexact, no weights).

Standard errors (``cov_type``)
------------------------------
The names are those of every pmt model (:mod:`pmt.models.covariance`); the argument
``se=`` of earlier versions is a deprecated alias of ``cov_type=`` for one release
(``se="kernel"`` with a cluster is ``cov_type="cluster"``).

``cov_type="kernel"`` (the default without a cluster) is the Powell / Hendricks-Koenker
sandwich of R ``summary.rq(se="ker")``::

    cov = A^{-1} B A^{-1},   A = sum_i w_i f_i x_i x_i',   f_i = phi(u_i / h) / h

with residuals ``u_i``, the Gaussian kernel ``phi`` and the bandwidth (R ``bandwidth.rq``,
Hall and Sheather 1988, alpha = 0.05)::

    h_q = n^(-1/3) z_{0.975}^(2/3) (1.5 phi(z_q)^2 / (2 z_q^2 + 1))^(1/3)   (halved while
          q - h_q < 0 or q + h_q > 1)
    h   = (Phi^{-1}(q + h_q) - Phi^{-1}(q - h_q)) min(sd(u), IQR(u) / 1.34)

The "meat" ``B`` is the variance of the estimating equation ``sum_i w_i psi_i x_i``,
``psi_i = q - 1[u_i < 0]`` (the check function's score; ``psi_i = q`` at the ``p`` zero
residuals of the exact fit):

* unweighted, no clusters: ``B = q (1 - q) sum_i x_i x_i'``, exactly R's "ker" (sd with
  n - 1, IQR by R's default type-7 quantiles). It uses ``E[psi_i^2 | x_i] = q (1 - q)``,
  which holds when the linear quantile model is correctly specified.
* weighted, no clusters: the empirical ``B = sum_i w_i^2 psi_i^2 x_i x_i'`` (Koenker 2005,
  section 3.4: ``J = E[psi^2 x x']``; statsmodels ``QuantReg(vcov="robust")`` uses the
  same meat with a single density in the bread). The kernel meat
  ``q (1 - q) sum_i w_i^2 x_i x_i'`` used before (and by R, which multiplies the rows by
  the weights) assumes the weights unrelated to the residual given x; with informative
  weights (inclusion or response depending on welfare) it is wrong: in
  ``tests/test_quantreg_sandwich.py`` (inclusion increasing in welfare) its 95 % intervals
  covered 90 % at q = 0.2 and 98.7 % at q = 0.8 (s.e. 16 % too small, 24 % too large),
  against 94.8 % and 96.2 % with the empirical meat. With non-informative weights both
  estimate the same matrix.
* ``cov_type="cluster"`` (the default with ``cluster=``): the cluster-robust
  ``B = sum_g s_g s_g'``, ``s_g = sum_{i in g} w_i psi_i x_i`` (Parente and Santos Silva
  2016; :func:`pmt.models.covariance.cluster_meat`, no small-sample factor); with one
  row per cluster this is the weighted empirical meat.

With weights, sd and IQR of the bandwidth are weighted (IQR by the inverse-CDF weighted
quantile of DESIGN section 4) and the weights enter as sampling weights.
``info["meat"]`` records which meat was used ("q(1-q)", "empirical" or "cluster").

``cov_type="bootstrap"`` refits the model on ``n_boot`` Rao-Wu rescaling bootstrap replicates
of the PSUs within strata (:meth:`pmt.Survey.replicate_factors`; every row is its own PSU
when ``cluster`` is not given) and reports the standard deviation of the replicate
coefficients. Each replicate is solved exactly, warm-started from the full-sample fit.

``cov_type="none"`` skips the standard errors (NaN).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Literal, cast

import numpy as np
import pandas as pd
from scipy import linalg, stats

from pmt._deprecation import renamed_arguments
from pmt._literals import QuantRegCovType
from pmt._validation import check_option
from pmt.errors import ModelError, example_rows
from pmt.models import _interior_point as ip
from pmt.models.base import (
    ModelResult,
    attach_profile,
    blas_threads,
    prepare,
    register_model,
    resolve_column,
)
from pmt.models.covariance import cluster_meat, resolve_cov_type, sandwich
from pmt.survey import Survey, weighted_quantile

#: The values of the deprecated ``se=`` argument.
SE_METHODS = ("kernel", "bootstrap", "none")

# BLAS threads used while fitting. The solver's dense work is p x p normal equations,
# which gain little from threads, while OpenBLAS threads competing with other processes
# (joblib or dask workers, a shared server) slow it down by an order of magnitude: we
# measured 12 s with 2 threads against 1 s with one on a loaded 2-core machine (n = 50,000,
# p = 80). Set to None to keep the process-wide setting.
BLAS_THREADS: int | None = 1


@register_model
class QuantRegResult(ModelResult):
    """Result of :func:`quantreg` (``model_type = "quantreg"``).

    Besides the attributes of :class:`pmt.models.base.ModelResult`:

    q : float
        The quantile fitted.
    objective : float
        Weighted check-function loss at the optimum, ``sum_i w_i rho_q(y_i - x_i'b)``,
        in the units of the left side times the weights.
    info : dict
        Also ``meat`` (of the kernel sandwich), ``bandwidth`` (h_q and h of the kernel), ``n_boot``,
        ``seed``, ``n_clusters`` and the solver's statistics under ``solver``.

    Predictions in levels default to ``retransform="none"``: by the equivariance of
    quantiles to monotone maps, exp of the predicted quantile of log welfare is the
    predicted quantile of welfare.
    """

    model_type = "quantreg"

    @property
    def q(self) -> float:
        """The quantile fitted, in (0, 1)."""
        return float(self.info["q"])

    @property
    def objective(self) -> float:
        """Weighted check-function loss at the optimum, ``sum_i w_i rho_q(y_i - x_i'b)``."""
        return float(self.info["objective"])

    def _summary_stats(self) -> dict:
        return {"q": self.q, "objective": self.objective}


def _check_q(q) -> list[float]:
    values = [q] if isinstance(q, numbers.Real) and not isinstance(q, bool) else q
    if not isinstance(values, (Sequence, np.ndarray)) or isinstance(values, str):
        raise ModelError(f"q must be a number in (0, 1) or a list of them; got {q!r}.")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 < float(v) < 1.0:
            raise ModelError(
                f"q must lie strictly between 0 and 1 (e.g. 0.2 for the 20th percentile); "
                f"got {v!r}."
            )
        out.append(float(v))
    if not out:
        raise ModelError("q is an empty list: pass at least one quantile.")
    if len(set(out)) != len(out):
        raise ModelError(f"q lists the same quantile twice: {out}.")
    return out


def hall_sheather(n: int, q: float, alpha: float = 0.05) -> float:
    """Hall-Sheather bandwidth on the quantile scale (R ``quantreg::bandwidth.rq``)."""
    x0 = stats.norm.ppf(q)
    f0 = stats.norm.pdf(x0)
    return float(
        n ** (-1 / 3) * stats.norm.ppf(1 - alpha / 2) ** (2 / 3)
        * ((1.5 * f0**2) / (2 * x0**2 + 1)) ** (1 / 3)
    )


def kernel_cov(
    X: np.ndarray,
    u: np.ndarray,
    q: float,
    weights: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """Powell kernel sandwich covariance of quantile regression coefficients.

    See the module docstring for the formulas: Powell kernel bread, and as meat
    ``q(1-q) X'X`` unweighted, ``sum_i w_i^2 psi_i^2 x_i x_i'`` with weights and the sum of
    cluster score outer products with ``cluster``
    (:func:`pmt.models.covariance.cluster_meat`). Returns the covariance and a dict with
    the bandwidths ``hq``, ``h`` and the ``meat`` used.
    """
    n = X.shape[0]
    hq = hall_sheather(n, q)
    while q - hq < 0 or q + hq > 1:
        hq /= 2
    if weights is None:
        sd = float(np.std(u, ddof=1))
        iqr = float(np.subtract(*np.quantile(u, [0.75, 0.25])))
        w = np.ones(n)
    else:
        w = weights
        mean = np.average(u, weights=w)
        sd = float(np.sqrt(np.average((u - mean) ** 2, weights=w) * n / (n - 1)))
        lo, hi = weighted_quantile(u, w, [0.25, 0.75])
        iqr = float(hi - lo)
    spread = min(sd, iqr / 1.34)
    h = (stats.norm.ppf(q + hq) - stats.norm.ppf(q - hq)) * spread
    if not h > 0:
        raise ModelError(
            f"the kernel standard errors need residual spread, but the residuals' IQR is "
            f"{iqr:g} (more than half the fitted values are exact). Use cov_type='bootstrap'."
        )
    f = stats.norm.pdf(u / h) / h
    Amat = (X * (w * f)[:, None]).T @ X
    psi = q - (u < 0)
    if cluster is not None or weights is not None:
        # Informative weights: E[w^2 psi^2 | x] != q(1-q) E[w^2 | x], so no shortcut.
        Bmat = cluster_meat(X * (w * psi)[:, None], cluster)
        meat = "empirical" if cluster is None else "cluster"
    else:
        Bmat = q * (1 - q) * (X.T @ X)
        meat = "q(1-q)"
    try:
        Ainv = linalg.inv(Amat)
    except linalg.LinAlgError as exc:
        raise ModelError(
            "the kernel density-weighted design is singular (too few residuals near zero "
            "for some terms). Use cov_type='bootstrap'."
        ) from exc
    return sandwich(Ainv, Bmat), {"hq": hq, "h": float(h), "meat": meat}


def _fit_arrays(A, c, w, q, preprocess, seed, start=None) -> ip.Solution:
    try:
        return ip.solve(
            A, c, q, w=w, preprocess=preprocess, rng=np.random.default_rng(seed), start=start
        )
    except ip.SolverError as exc:
        raise ModelError(f"quantile regression at q={q} could not be solved: {exc}.") from exc


@renamed_arguments(
    positional=("q", "weights", "cluster", "cov_type", "n_boot", "seed", "preprocess", "strata", "se"),
)
def quantreg(
    formula: str,
    data: pd.DataFrame,
    *,
    q: float | Sequence[float] = 0.5,
    weights=None,
    cluster=None,
    cov_type: QuantRegCovType | None = None,
    n_boot: int = 200,
    seed: int = 0,
    preprocess: bool | Literal["auto"] = "auto",
    strata=None,
    se: Literal["kernel", "bootstrap", "none"] | None = None,
) -> QuantRegResult | dict[float, QuantRegResult]:
    """Weighted linear quantile regression, solved exactly.

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + C(region)"`` (see :mod:`pmt.models.formula`).
    data : pandas.DataFrame
        Estimation data; rows with missing model variables, weights or clusters are
        dropped with a warning and counted in ``n_dropped``.
    q : float or list of float
        Quantile(s) in (0, 1). A list returns ``{q: result}``; the quantiles share the
        design, the bootstrap replicates (same seed) and warm starts.
    weights : str or array, optional
        Sampling weights (> 0), a column name or one value per row. With weights the
        kernel standard errors use the empirical meat ``sum_i w_i^2 psi_i^2 x_i x_i'``,
        valid when the weights are informative (depend on welfare); unweighted fits keep
        R's ``q(1-q) X'X``.
    cluster : str or array, optional
        PSU / cluster ids: cluster-robust kernel covariance (the default ``cov_type`` with
        a cluster), and the resampling unit of the bootstrap.
    cov_type : {"kernel", "cluster", "bootstrap", "none"}, optional
        Standard errors (module docstring): the kernel sandwich, the kernel sandwich with
        the cluster meat (default with ``cluster=``, else "kernel"), the bootstrap, or
        none (NaN standard errors).
    n_boot : int
        Bootstrap replicates (``cov_type="bootstrap"``).
    seed : int
        Seed of the bootstrap and of the preprocessing subsamples (results are exact
        whatever the seed; only the bootstrap standard errors depend on it).
    preprocess : {"auto", True, False}
        Portnoy-Koenker preprocessing for large samples; "auto" uses it when the subsample
        ``n^(2/3) p^(1/2)`` is below a third of n and n >= 5000.
    strata : str or array, optional
        Sampling strata for the bootstrap (PSUs are resampled within strata).
    se : {"kernel", "bootstrap", "none"}, optional
        Deprecated name of ``cov_type`` (a ``FutureWarning``; removed in the next release).
        ``se="kernel"`` is ``cov_type="cluster"`` when ``cluster`` is given, as before.

    Returns
    -------
    QuantRegResult or dict of float to QuantRegResult
        ``params`` and ``bse`` by term, ``objective`` (the weighted check loss), ``q``.
    """
    qs = _check_q(q)
    cov_type = _cov_type_from_se(cov_type, se, cluster is not None)
    if preprocess not in ("auto", True, False):
        raise ModelError(f"preprocess must be 'auto', True or False; got {preprocess!r}.")
    if cov_type == "bootstrap" and (
        isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 2
    ):
        raise ModelError(
            f"n_boot must be an integer >= 2 for cov_type='bootstrap'; got {n_boot!r}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ModelError(f"seed must be an integer; got {seed!r}.")
    strata_col = resolve_column(data, strata, "strata") if isinstance(data, pd.DataFrame) else None
    with blas_threads(BLAS_THREADS):
        prep = prepare(formula, data, weights=weights, cluster=cluster)
    X, y = prep.X, prep.y
    n, p = X.shape
    # A finite sum proves every value finite without a boolean copy of X (the full
    # check only when the sum is not finite, e.g. for huge finite values).
    if not (np.isfinite(X.sum()) or np.isfinite(X).all()) or not np.all(np.isfinite(y)):
        raise ModelError(
            f"the model's variables contain infinite values (formula {formula!r}); "
            "replace them before fitting."
        )
    if strata_col is not None:
        strata_col = strata_col[prep.mask]
        missing = pd.isna(strata_col)
        if missing.any():
            raise ModelError(
                f"strata has missing values at {example_rows(prep.index[missing])}; every "
                "row of the estimation sample needs its stratum."
            )
    w = prep.weights
    wv = np.ones(n) if w is None else w
    A = X * wv[:, None] if w is not None else X
    c = y * wv
    # Bootstrap replicate factors are shared by all quantiles (joint inference).
    row_factors = None
    if cov_type == "bootstrap":
        # Raw labels, so that the replicates are those of pmt.Survey(data, weight, strata=,
        # psu=).replicate_factors(n_boot, seed) on the estimation sample.
        cluster_col = resolve_column(data, cluster, "cluster")
        design = pd.DataFrame(
            {
                "_w": wv,
                "_strata": 0 if strata_col is None else strata_col,
                "_psu": np.arange(n) if cluster_col is None else cluster_col[prep.mask],
            },
            index=prep.index,
        )
        sv = Survey(design, weight="_w", strata="_strata", psu="_psu")
        psu_factors = sv.replicate_factors(int(n_boot), seed=int(seed))
        row_factors = (psu_factors, sv.psu_codes)

    results: dict[float, QuantRegResult] = {}
    previous: np.ndarray | None = None
    profile = None
    with blas_threads(BLAS_THREADS):
        for qq in qs:
            # Warm start: the band of the previous quantile's fit replaces the subsample fit.
            sol = _fit_arrays(A, c, wv, qq, preprocess, seed, start=previous)
            previous = sol.coef
            res = _result(prep, X, y, w, qq, sol, cov_type, row_factors, preprocess, seed,
                          n_boot)
            if profile is None:  # every quantile has the same sample: profile it once
                profile = attach_profile(res, data, prep)
            else:
                res._profile_source = profile._profile_source  # the same rows, never mutated
            results[qq] = res
    return results if _is_list(q) else results[qs[0]]


def _cov_type_from_se(cov_type, se, has_cluster: bool) -> QuantRegCovType:
    """``cov_type`` of a fit, from ``cov_type=`` or the deprecated ``se=``."""
    if se is not None:
        if cov_type is not None:
            raise ModelError(
                "pass cov_type= only: se= is its deprecated old name (e.g. cov_type='kernel')."
            )
        check_option(se, SE_METHODS, name="se")
        cov_type = "cluster" if se == "kernel" and has_cluster else se
        warnings.warn(
            f"quantreg(se={se!r}) is deprecated and will be removed in the next release: "
            f"pass cov_type={cov_type!r} (the same standard errors).",
            FutureWarning,
            stacklevel=3,
        )
    # resolve_cov_type checks the name against QuantRegCovType
    return cast(QuantRegCovType, resolve_cov_type(cov_type, QuantRegCovType,
                                                  default="cluster" if has_cluster else "kernel",
                                                  has_cluster=has_cluster, model="quantreg"))


def _is_list(q) -> bool:
    return not isinstance(q, numbers.Real)


def _result(prep, X, y, w, q, sol, cov_type, row_factors, preprocess, seed,
            n_boot) -> QuantRegResult:
    n, p = X.shape
    b = sol.coef
    fitted = X @ b
    u = y - fitted
    wv = np.ones(n) if w is None else w
    info: dict = {
        "q": q,
        "objective": float(sol.objective),
        "certified_optimal": bool(sol.certified),
        "solver": {k: _json_safe(v) for k, v in sol.stats.items()},
        "seed": int(seed),
    }
    if prep.cluster is not None:
        info["n_clusters"] = int(prep.cluster.max()) + 1
    cov = None
    if cov_type in ("kernel", "cluster"):
        cov, bw = kernel_cov(X, u, q, weights=w,
                             cluster=prep.cluster if cov_type == "cluster" else None)
        info["meat"] = bw.pop("meat")
        info["bandwidth"] = bw
    elif cov_type == "bootstrap":
        psu_factors, psu_codes = row_factors
        reps = np.full((psu_factors.shape[1], p), np.nan)
        names = prep.design.term_names
        failed: list[str] = []
        for r in range(psu_factors.shape[1]):
            f = psu_factors[psu_codes, r]
            keep = f > 0
            Xr = X[keep]
            empty = ~np.any(Xr != 0, axis=0)
            if empty.any():
                # A resample without any row of a rare category: the term is not identified.
                failed.append(names[int(np.flatnonzero(empty)[0])])
                continue
            wr = wv[keep] * f[keep]
            try:
                sol_r = _fit_arrays(
                    Xr * wr[:, None], y[keep] * wr, wr, q, preprocess, seed + 1 + r, start=b
                )
            except ModelError:
                failed.append("singular design")
                continue
            reps[r] = sol_r.coef
        ok = ~np.isnan(reps[:, 0])
        if ok.sum() < max(2, 0.9 * len(reps)):
            raise ModelError(
                f"{len(failed)} of {len(reps)} bootstrap replicates cannot be fitted at q={q} "
                f"(e.g. no observations for {failed[0]}). Merge rare categories or use "
                "cov_type='kernel'."
            )
        if failed:
            warnings.warn(
                f"{len(failed)} of {len(reps)} bootstrap replicates at q={q} were skipped "
                f"because a term is not identified in them (e.g. {failed[0]}); the standard "
                "errors use the other replicates.",
                stacklevel=3,
            )
        cov = np.cov(reps[ok], rowvar=False, ddof=1)
        info["n_boot"] = int(n_boot)
        info["n_boot_failed"] = len(failed)
    bse = np.sqrt(np.diag(cov)) if cov is not None else np.full(p, np.nan)
    with np.errstate(over="ignore"):
        smear = float(np.average(np.exp(u), weights=wv))
    sigma2 = float(np.average((u - np.average(u, weights=wv)) ** 2, weights=wv))
    result = QuantRegResult(
        prep.design,
        b,
        bse,
        cov=cov,
        nobs=n,
        n_dropped=prep.n_dropped,
        weighted_nobs=float(wv.sum()),
        df_resid=float(n - p),
        cov_type=cov_type,
        retransform="none",
        sigma2=sigma2,
        smearing_factor=smear if math.isfinite(smear) else None,
        info=info,
    )
    result._set_sample(prep.index, y, fitted)
    return result


def _json_safe(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v) if math.isfinite(float(v)) else None
    return v
