"""Weighted probit and logit models of being poor (or of having an income source).

Estimation is statsmodels' ``GLM`` with a Binomial family (probit or logit link) and the
survey weights as ``var_weights``. With sampling weights the estimates are pseudo-maximum
likelihood: the point estimates maximise sum w_i l_i, and the only valid covariance is
the sandwich ``H^-1 (sum_g s_g s_g') H^-1`` with H the weighted Hessian and s_g the
weighted scores summed by cluster. statsmodels computes it:

``"cluster"`` (default with a cluster)
    statsmodels' cluster sandwich with its small-sample factor
    ``G/(G-1) * (N-1)/(N-K)``; z tests (normal), as statsmodels does for GLM.
``"HC0"`` (default otherwise)
    Sandwich with each household its own cluster, no small-sample factor.
``"nonrobust"``
    Inverse observed Hessian (weights normalised to mean 1); valid only without weights
    (sampling weights need the sandwich).

The parameters stay on the **index** scale (x'b), so that the model can later become a
scorecard. The "model scale" of a binary model is the **probability**: ``predict(df)``
returns P(y=1|x) = F(x'b) (F the normal or logistic CDF); ``linear_predictor(df)`` (or
``predict(df, scale="index")``) returns x'b.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from pmt.errors import ModelError, example_rows
from pmt.models.base import (
    ModelResult,
    Prepared,
    attach_profile,
    prepare,
    register_model,
    survey_inputs,
)
from pmt.survey import Survey

__all__ = ["probit", "logit", "ProbitResult", "LogitResult", "BinaryResult"]

COV_TYPES = ("nonrobust", "HC0", "cluster")


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
    def cdf(xb: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def pdf(xb: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def dpdf(xb: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
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
        return float(self.info["llf"])

    def predict(
        self,
        data: pd.DataFrame,
        scale: Literal["model", "probability", "index"] = "model",
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

    @staticmethod
    def cdf(xb):
        return special.ndtr(xb)

    @staticmethod
    def pdf(xb):
        return np.exp(-0.5 * xb**2) / np.sqrt(2 * np.pi)

    @staticmethod
    def dpdf(xb):
        return -xb * np.exp(-0.5 * xb**2) / np.sqrt(2 * np.pi)


@register_model
class LogitResult(BinaryResult):
    """Weighted logit; P(y=1|x) = 1/(1+exp(-x'b))."""

    model_type = "logit"
    link = "logit"

    @staticmethod
    def cdf(xb):
        return special.expit(xb)

    @staticmethod
    def pdf(xb):
        p = special.expit(xb)
        return p * (1 - p)

    @staticmethod
    def dpdf(xb):
        p = special.expit(xb)
        return p * (1 - p) * (1 - 2 * p)


def _check_binary(prep: Prepared) -> None:
    y = prep.y
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


def _separation(prep: Prepared) -> list[str]:
    """Terms that on their own separate y (quasi-)completely.

    A 0/1 term separates when all its ones (or all its zeros) share one outcome; any
    other term when a threshold splits the outcomes (max of one group <= min of the
    other). The coefficient of such a term has no finite maximum-likelihood value.
    """
    y = prep.y.astype(bool)
    out = []
    for j, term in enumerate(prep.design.terms):
        if term.kind == "intercept":
            continue
        x = prep.X[:, j]
        if np.isin(x, (0.0, 1.0)).all():
            for v in (0.0, 1.0):
                sel = x == v
                if sel.any() and (~sel).any() and y[sel].min() == y[sel].max():
                    out.append(
                        f"'{term.name}' = {int(v)} only occurs with {prep.design.lhs} = "
                        f"{int(y[sel][0])} ({int(sel.sum())} rows)"
                    )
                    break
        else:
            x0, x1 = x[~y], x[y]
            if x0.max() <= x1.min() or x1.max() <= x0.min():
                out.append(f"'{term.name}' splits {prep.design.lhs} = 0 and 1 at a threshold")
    return out


def _fit_binary(
    formula: str,
    data: pd.DataFrame,
    weights,
    cluster,
    cov_type: str | None,
    link: str,
    result_cls: type[BinaryResult],
) -> BinaryResult:
    prep = prepare(formula, data, weights=weights, cluster=cluster)
    _check_binary(prep)
    problems = _separation(prep)
    if problems:
        raise ModelError(
            "perfect separation: " + "; ".join(problems) + f" (formula {formula!r}). Drop the "
            "term, merge its rare levels, or widen the sample."
        )
    if cov_type is None:
        cov_type = "cluster" if prep.cluster is not None else "HC0"
    if cov_type not in COV_TYPES:
        raise ModelError(f"cov_type must be one of {COV_TYPES}; got {cov_type!r}.")
    w = np.ones(prep.nobs) if prep.weights is None else prep.weights
    # statsmodels' log-likelihood scales with the weights; normalise to mean 1 so that llf
    # is on the scale of the sample (estimates and covariances do not depend on it).
    wn = w / w.mean()
    links = {"probit": sm.families.links.Probit(), "logit": sm.families.links.Logit()}
    model = sm.GLM(prep.y, prep.X, family=sm.families.Binomial(link=links[link]), var_weights=wn)
    kwargs: dict = {}
    if cov_type == "cluster":
        if prep.cluster is None:
            raise ModelError("cov_type='cluster' needs `cluster=` (a column of PSU ids).")
        n_clusters = int(np.unique(prep.cluster).size)
        if n_clusters < 2:
            raise ModelError(f"cluster-robust covariance needs at least 2 clusters; got {n_clusters}.")
        kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": prep.cluster}}
    else:
        kwargs = {"cov_type": cov_type}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(maxiter=100, tol=1e-10, **kwargs)
        except Exception as err:  # statsmodels raises PerfectSeparationError in some versions
            raise ModelError(
                f"{link} did not converge ({type(err).__name__}: {err}); check for perfect "
                f"separation by a combination of terms in {formula!r}."
            ) from err
    params = np.asarray(res.params)
    sep = [c for c in caught if "separation" in str(c.message).lower()]
    converged = bool(getattr(res, "converged", True))
    if sep or not converged or not np.all(np.isfinite(res.bse)):
        sd = prep.X.std(axis=0)
        big = [
            prep.design.term_names[j]
            for j in np.argsort(-np.abs(params * sd))
            if prep.design.terms[j].kind != "intercept"
        ][:3]
        raise ModelError(
            f"{link} fit failed ({'perfect separation' if sep else 'no convergence'}); the "
            f"terms with the largest standardised coefficients are {', '.join(big)}. A "
            "combination of terms predicts the outcome perfectly: drop or merge them."
        )
    for c in caught:
        # statsmodels flags robust covariances with var_weights as "not fully supported";
        # for the Binomial GLM the sandwich it returns is the pseudo-ML one (observed
        # Hessian, weighted scores), which tests/test_binary.py checks by hand.
        if "not fully supported with var_weights" in str(c.message):
            continue
        warnings.warn(c.message, c.category, stacklevel=3)
    bse, cov = np.asarray(res.bse), np.asarray(res.cov_params())
    if cov_type == "nonrobust":
        # IRLS reports the inverse *expected* information; for the probit (a non-canonical
        # link) that differs from the observed information used by statsmodels' Probit and
        # Stata's ``probit``. Use the observed Hessian, from statsmodels, for consistency.
        cov = np.linalg.inv(-model.hessian(params, scale=1.0, observed=True))
        bse = np.sqrt(np.diag(cov))
    llf, llnull = float(res.llf), float(res.llnull)
    info = {
        "llf": llf,
        "llnull": llnull,
        "prsquared": 1.0 - llf / llnull,
        "mean_y": float(np.sum(w * prep.y) / w.sum()),
        "weighted": prep.weights is not None,
        "n_clusters": None if prep.cluster is None else int(np.unique(prep.cluster).size),
        "small_sample_correction": {
            "cluster": "G/(G-1)*(N-1)/(N-K); z tests",
            "HC0": "none; z tests",
            "nonrobust": "none; z tests",
        }[cov_type],
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


def probit(
    formula: str,
    data: pd.DataFrame,
    weights=None,
    cluster=None,
    cov_type: str | None = None,
    survey: Survey | None = None,
) -> ProbitResult:
    """Weighted probit of a 0/1 outcome (e.g. ``poor``) on proxies.

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


def logit(
    formula: str,
    data: pd.DataFrame,
    weights=None,
    cluster=None,
    cov_type: str | None = None,
    survey: Survey | None = None,
) -> LogitResult:
    """Weighted logit of a 0/1 outcome; arguments and results as :func:`probit`."""
    weights, cluster = survey_inputs(data, survey, weights, cluster)
    return _fit_binary(formula, data, weights, cluster, cov_type, "logit", LogitResult)
