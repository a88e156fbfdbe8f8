"""Weighted probit and logit models of being poor (or of having an income source).

Estimation is pmt's binary-choice engine (:mod:`pmt.models._probit`, shared with the
selection equation of :func:`pmt.heckman`): Newton-Raphson on the weighted
(pseudo-)log-likelihood ``sum_i w_i log F(q_i x_i'b)``, after a check that no term on its
own separates the outcome. With sampling weights the estimates are pseudo-maximum
likelihood: the point estimates maximise sum w_i l_i, and the valid covariance is the
sandwich ``H^-1 (sum_g s_g s_g') H^-1`` with H the weighted observed Hessian and s_g the
weighted scores summed by cluster (:func:`pmt.models.covariance.robust_cov`):

``"cluster"`` (default with a cluster)
    Cluster sandwich with statsmodels' small-sample factor ``G/(G-1) * (N-1)/(N-K)``
    (statsmodels' ``cov_cluster``, which it applies to ``Probit``, ``Logit`` and ``GLM``
    alike, so that the numbers equal statsmodels'); z tests (normal).
``"HC0"`` (default otherwise)
    Sandwich with each household its own cluster, no small-sample factor.
``"nonrobust"``
    Inverse observed Hessian (weights normalised to mean 1); valid only without weights
    (sampling weights need the sandwich).

The log-likelihoods ``llf`` and ``llnull`` are computed with the weights normalised to
mean 1, as statsmodels' ``GLM(..., var_weights=w / mean(w))``, so that they are on the
scale of the sample.

The parameters stay on the **index** scale (x'b), so that the model can later become a
scorecard. The "model scale" of a binary model is the **probability**: ``predict(df)``
returns P(y=1|x) = F(x'b) (F the normal or logistic CDF); ``linear_predictor(df)`` (or
``predict(df, scale="index")``) returns x'b.
"""

from __future__ import annotations

from typing import Literal, TypeVar, cast

import numpy as np
import pandas as pd
from scipy import stats

from pmt._deprecation import renamed_arguments
from pmt._literals import BinaryCovType
from pmt.errors import ModelError, example_rows
from pmt.models import _probit
from pmt.models.base import (
    ModelResult,
    Prepared,
    attach_profile,
    prepare,
    register_model,
    survey_inputs,
)
from pmt.models.covariance import correction_text, resolve_cov_type, robust_cov
from pmt.survey import Survey

__all__ = ["probit", "logit", "ProbitResult", "LogitResult", "BinaryResult"]


class BinaryResult(ModelResult):
    """A fitted weighted binary-choice model (probit or logit).

    ``params``/``bse`` are index coefficients (z tests and normal intervals: ``df_resid``
    is None); ``fittedvalues`` are the predicted probabilities F(x'b) on the estimation
    sample and ``resid`` = y - F(x'b) (response residuals); ``info`` holds the weighted
    log-likelihood ``llf``, null log-likelihood ``llnull``, McFadden pseudo R^2
    ``prsquared`` and the weighted share of ones ``mean_y``.

    ``higher_is_poorer`` is True: these models are fitted to the probability of being
    poor, so evaluation (``pmt.cross_validate``, ``pmt.compare``) selects the highest
    predictions. Set it to False on a result whose outcome marks the better-off.
    """

    model_type = "binary"
    link = "none"
    higher_is_poorer = True

    @staticmethod
    def cdf(xb: np.ndarray, /) -> np.ndarray:  # pragma: no cover - overridden
        """Inverse link F(x'b): probability of the outcome (normal or logistic CDF)."""
        raise NotImplementedError

    @staticmethod
    def pdf(xb: np.ndarray, /) -> np.ndarray:  # pragma: no cover - overridden
        """Density f = dF/d(x'b) of the inverse link at x'b."""
        raise NotImplementedError

    @staticmethod
    def dpdf(xb: np.ndarray, /) -> np.ndarray:  # pragma: no cover - overridden
        """Derivative df/d(x'b) of the density (for the marginal effects' standard errors)."""
        raise NotImplementedError

    def marginal_effects(self, data: pd.DataFrame, weights=None) -> pd.DataFrame:
        """Average marginal effects on the probability, with delta-method standard errors.

        For a numeric term the effect is the (weighted) mean of dP/dx = f(x'b) b_j; for a
        0/1 term and for each level of a ``C()`` variable it is the mean discrete change
        P(term = 1) - P(term = 0), the categorical being moved from its base level to the
        level (other levels' dummies set to 0). Standard errors: delta method with the
        model's covariance (so cluster-robust when the model is). Unweighted and with only
        numeric and 0/1 terms this is statsmodels' ``get_margeff(at="overall",
        dummy=True)``; it is written here because statsmodels has no margins for GLM and
        treats each dummy of a categorical separately.

        Parameters
        ----------
        data : pandas.DataFrame
            Rows to average over (usually the estimation sample); rows with missing
            proxies are dropped with a warning.
        weights : str or array-like, optional
            Weights of the average (e.g. the survey weights).

        Returns
        -------
        pandas.DataFrame
            By term: ``dydx`` (change in probability), ``se``, ``z``, ``p`` and ``kind``
            ("derivative" or "discrete").
        """
        if self.cov is None:
            raise ModelError("this model has no covariance matrix for marginal effects.")
        prep = prepare(
            self.formula, data, weights=weights, require_lhs=False, check_rank=False,
            design=self.design,
        )
        X = prep.X
        w = np.ones(len(X)) if prep.weights is None else prep.weights
        w = w / w.sum()
        b = self.params.to_numpy()
        V = self.cov.to_numpy()
        xb = X @ b
        # of every derivative term: mean density and its gradient in b (the same for all)
        mean_f = float(w @ self.pdf(xb))
        dmean_f = (w * self.dpdf(xb)) @ X
        rows = {}
        terms = self.design.terms
        for j, t in enumerate(terms):
            if t.kind == "intercept":
                continue
            binary = t.kind == "level" or np.isin(X[:, j], (0.0, 1.0)).all()
            if not binary:
                ame = mean_f * b[j]
                grad = mean_f * np.eye(len(b))[j] + b[j] * dmean_f
                kind = "derivative"
            else:
                X1, X0 = X.copy(), X.copy()
                if t.kind == "level":
                    same = [i for i, u in enumerate(terms) if u.variable == t.variable]
                    X1[:, same] = 0.0
                    X0[:, same] = 0.0
                X1[:, j], X0[:, j] = 1.0, 0.0
                xb1, xb0 = X1 @ b, X0 @ b
                ame = float(w @ (self.cdf(xb1) - self.cdf(xb0)))
                grad = (w * self.pdf(xb1)) @ X1 - (w * self.pdf(xb0)) @ X0
                kind = "discrete"
            se = float(np.sqrt(grad @ V @ grad))
            rows[t.name] = {"dydx": ame, "se": se, "kind": kind}
        out = pd.DataFrame(rows).T
        out["dydx"] = out["dydx"].astype(float)
        out["se"] = out["se"].astype(float)
        out["z"] = out["dydx"] / out["se"]
        out["p"] = 2 * stats.norm.sf(np.abs(out["z"]))
        out.index.name = "term"
        return out[["dydx", "se", "z", "p", "kind"]]

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo R^2 = 1 - llf/llnull (weighted log-likelihoods)."""
        return float(self.info["prsquared"])

    @property
    def llf(self) -> float:
        """Maximised log-likelihood, weights normalised to mean 1."""
        return float(self.info["llf"])

    def predict(
        self,
        data: pd.DataFrame,
        scale: Literal["model", "probability", "index", "level"] = "model",
        retransform=None,
    ) -> pd.Series:
        """Predicted probability P(y=1|x) (scale "model" or "probability"), or x'b ("index").

        Binary models have no level scale: "level" raises ModelError.
        """
        xb = self.linear_predictor(data)
        if scale == "index":
            return xb
        if scale in ("model", "probability"):
            return pd.Series(self.cdf(xb.to_numpy()), index=data.index, name=f"p_{self.design.lhs}")
        raise ModelError(
            f"scale must be 'model' (= 'probability') or 'index' for a {self.model_type} model; "
            f"got {scale!r}. Binary models predict probabilities, not levels."
        )

    def _summary_stats(self) -> dict:
        out = {
            "pseudo R2 (McFadden)": self.prsquared,
            "log-likelihood (weighted)": self.llf,
            f"weighted share {self.design.lhs}=1": self.info["mean_y"],
        }
        if self.info.get("n_clusters"):
            out["clusters"] = self.info["n_clusters"]
        out["s.e. correction"] = self.info.get("small_sample_correction", "")
        return out


@register_model
class ProbitResult(BinaryResult):
    """Weighted probit; P(y=1|x) = Phi(x'b)."""

    model_type = "probit"
    link = "probit"

    cdf = staticmethod(_probit.PROBIT.cdf)
    pdf = staticmethod(_probit.PROBIT.pdf)
    dpdf = staticmethod(_probit.PROBIT.dpdf)


@register_model
class LogitResult(BinaryResult):
    """Weighted logit; P(y=1|x) = 1/(1+exp(-x'b))."""

    model_type = "logit"
    link = "logit"

    cdf = staticmethod(_probit.LOGIT.cdf)
    pdf = staticmethod(_probit.LOGIT.pdf)
    dpdf = staticmethod(_probit.LOGIT.dpdf)


def _check_binary(prep: Prepared) -> None:
    y = prep.y
    assert y is not None  # prepare() requires a left-hand side by default, so y is set
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise ModelError(
            f"left-side column '{prep.design.lhs}' must be 0/1 for a binary model; "
            f"{int(bad.sum())} other values at {example_rows(prep.index[bad])} "
            f"(e.g. {y[bad][0]!r}). Recode it, e.g. poor = (pcc < line)."
        )
    if y.min() == y.max():
        raise ModelError(
            f"left-side column '{prep.design.lhs}' is always {int(y[0])} in the estimation "
            "sample: nothing to explain."
        )


_Binary = TypeVar("_Binary", bound="BinaryResult")


def _fit_binary(
    formula: str,
    data: pd.DataFrame,
    weights,
    cluster,
    cov_type: BinaryCovType | None,
    link: str,
    result_cls: type[_Binary],
) -> _Binary:
    prep = prepare(formula, data, weights=weights, cluster=cluster)
    # prepare() requires a left-hand side by default, so y and lhs are set
    assert prep.y is not None and prep.design.lhs is not None
    _check_binary(prep)
    has_cluster = prep.cluster is not None
    # resolve_cov_type checks the name against BinaryCovType
    cov_type = cast(BinaryCovType, resolve_cov_type(
        cov_type, BinaryCovType, default="cluster" if has_cluster else "HC0",
        has_cluster=has_cluster, model=link))
    w = np.ones(prep.nobs) if prep.weights is None else prep.weights
    # the log-likelihood scales with the weights; normalise them to mean 1 so that llf is on
    # the scale of the sample (estimates and sandwich covariances do not depend on it)
    wn = w / w.mean()
    lk = _probit.get_link(link)
    res = _probit.fit(prep.X, prep.y, wn, prep.design.term_names, lk,
                      outcome=prep.design.lhs, where=f" in {formula!r}")
    params = res.params
    bread = np.linalg.inv(-res.hessian)
    if cov_type == "nonrobust":
        # the inverse observed information, as statsmodels' Probit/Logit and Stata's probit
        cov = (bread + bread.T) / 2
    else:
        scores = _probit.score_obs(params, prep.X, prep.y, lk) * wn[:, None]
        cov = robust_cov(bread, scores, groups=prep.cluster if cov_type == "cluster" else None,
                         small_sample="linear" if cov_type == "cluster" else "none")
    bse = np.sqrt(np.diag(cov))
    if not np.all(np.isfinite(bse)):
        raise ModelError(
            f"{link} standard errors are not finite in {formula!r}: a combination of terms "
            "nearly predicts the outcome perfectly; drop or merge them."
        )
    pbar = float(np.sum(wn * prep.y) / wn.sum())
    llf = res.loglike
    llnull = float(np.sum(wn * np.where(prep.y == 1, np.log(pbar), np.log1p(-pbar))))
    info = {
        "llf": llf,
        "llnull": llnull,
        "prsquared": 1.0 - llf / llnull,
        "mean_y": float(np.sum(w * prep.y) / w.sum()),
        "weighted": prep.weights is not None,
        "n_clusters": None if prep.cluster is None else int(np.unique(prep.cluster).size),
        "small_sample_correction": correction_text(
            "linear" if cov_type == "cluster" else "none", cov_type == "cluster", "z tests"),
    }
    result = result_cls(
        prep.design,
        params,
        bse,
        cov=cov,
        nobs=prep.nobs,
        n_dropped=prep.n_dropped,
        weighted_nobs=float(w.sum()),
        df_resid=None,
        cov_type=cov_type,
        retransform="none",
        info=info,
    )
    # fitted values are probabilities F(x'b); resid = y - F(x'b) (statsmodels' resid_response)
    result._set_sample(prep.index, prep.y, result.cdf(prep.X @ params))
    return attach_profile(result, data, prep)


@renamed_arguments(
    positional=("weights", "cluster", "cov_type", "survey"),
)
def probit(
    formula: str,
    data: pd.DataFrame,
    *,
    weights=None,
    cluster=None,
    cov_type: BinaryCovType | None = None,
    survey: Survey | None = None,
) -> ProbitResult:
    """Weighted probit of a 0/1 outcome (e.g. ``poor``) on proxies.

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters
    ----------
    formula : str
        ``"poor ~ rooms + car + C(region)"``; the left side must be 0/1.
    data : pandas.DataFrame
        One row per household.
    weights : str or array-like, optional
        Sampling weights (column name or one value per row). Pseudo-ML.
    cluster : str or array-like, optional
        PSU ids for the cluster sandwich.
    cov_type : {"cluster", "HC0", "nonrobust"}, optional
        Default "cluster" with a cluster, else "HC0" (module docstring).
    survey : pmt.Survey, optional
        Household weights and PSU clusters from a Survey built on ``data`` (as in
        :func:`pmt.ols`); not combinable with weights=/cluster=.

    Returns
    -------
    ProbitResult
        ``params``/``bse`` on the index scale; ``predict(df)`` is the probability,
        ``linear_predictor(df)`` the index; ``prsquared``, ``llf``.

    Raises
    ------
    ModelError
        Non-0/1 outcome, constant outcome, perfect separation (naming the term), and the
        common design problems (missing column, collinear terms, single-level category).
    """
    weights, cluster = survey_inputs(data, survey, weights, cluster)
    return _fit_binary(formula, data, weights, cluster, cov_type, "probit", ProbitResult)


@renamed_arguments(
    positional=("weights", "cluster", "cov_type", "survey"),
)
def logit(
    formula: str,
    data: pd.DataFrame,
    *,
    weights=None,
    cluster=None,
    cov_type: BinaryCovType | None = None,
    survey: Survey | None = None,
) -> LogitResult:
    """Weighted logit of a 0/1 outcome; arguments and results as :func:`probit`."""
    weights, cluster = survey_inputs(data, survey, weights, cluster)
    return _fit_binary(formula, data, weights, cluster, cov_type, "logit", LogitResult)
