"""Heckman sample-selection models for incomes that only some households have.

Model (Heckman 1979). For household i, a latent propensity ``d*_i = z_i'g + u_i`` decides
whether the income is observed (``d_i = 1[d*_i > 0]``, e.g. "has hard-to-verify income"),
and the outcome ``y_i = x_i'b + e_i`` (e.g. log of that income) is observed only when
``d_i = 1``. ``(u, e)`` are bivariate normal with ``Var(u) = 1``, ``Var(e) = sigma^2`` and
correlation ``rho``. Then

* ``P(d = 1 | z) = Phi(z'g)``;
* ``E[y | d = 1, x, z] = x'b + rho * sigma * lambda(z'g)`` with the inverse Mills ratio
  ``lambda(c) = phi(c) / Phi(c)``;
* for a log outcome, ``E[exp(y) | d = 1] = exp(x'b + sigma^2 / 2) * Phi(z'g + rho sigma) /
  Phi(z'g)`` (the selection-adjusted lognormal mean), and the unconditional
  ``E[d exp(y)] = exp(x'b + sigma^2 / 2) * Phi(z'g + rho sigma)``.

Two estimators are provided by :func:`heckman`:

``method="twostep"``
    Heckman's two-step (Heckit): a probit of ``d`` on ``z``, then OLS of ``y`` on ``x`` and
    ``lambda(z'g_hat)`` over the selected. ``sigma^2 = e'e / n1 + b_lambda^2 * mean(delta)``
    with ``delta = lambda (lambda + z'g)`` and ``rho = b_lambda / sigma`` (Greene 2003,
    eq. 22-21). Default covariance ("nonrobust", the corrected two-step covariance) is
    Greene's eq. 22-22, the formula of R
    ``sampleSelection::heckit``:
    ``sigma^2 (X*'X*)^-1 [X*'(I - rho^2 Delta) X* + rho^2 (X*'Delta Z) V_g (Z'Delta X*)]
    (X*'X*)^-1``. With survey weights or clusters the default is instead the sandwich of
    the stacked estimating equations of both steps (probit score and OLS normal equations,
    M-estimation / Murphy-Topel), which is the design-consistent pseudo-likelihood
    covariance; ``cov_type="nonrobust"`` with weights treats them as frequency weights
    (each ``X'X`` becomes ``X'WX``), which understates uncertainty for sampling weights.
``method="ml"``
    Full-information maximum likelihood, written here because statsmodels has no
    sample-selection model: analytic log-likelihood and gradient in
    ``(b, g, log sigma, atanh rho)``, started from the two-step estimates, maximised with
    scipy's trust-region Newton method (``trust-exact``; BFGS if it fails) on the analytic
    observed Hessian (the ``tobit2`` Hessian of Toomet and Henningsen 2008, derived in
    ``_HeckmanLL.hessian``) and polished with Newton steps.
    Covariance: the inverse Hessian ("nonrobust"),
    the sandwich ("HC0", default with weights) or its PSU-clustered version ("cluster").
    ``sigma`` and ``rho`` get delta-method standard errors.

The probit step is pmt's binary-choice engine (:mod:`pmt.models._probit`, shared with
:func:`pmt.probit`): a weighted Newton-Raphson fit (statsmodels' Probit takes no weights,
and GLM is slower and does not say which regressor separates the outcome) that computes
the inverse Mills ratio stably with ``scipy.special.log_ndtr`` and reports perfect
separation by term name; its estimates are tested against statsmodels. The sandwich
covariances use the one cluster meat of :mod:`pmt.models.covariance`.

Covariance names (``cov_type``) are those of every pmt model: ``"nonrobust"`` (two-step:
Heckman's corrected covariance; ML: the inverse Hessian), ``"HC0"`` (sandwich) and
``"cluster"`` (sandwich of PSU score sums times G/(G-1), as Stata's ML commands). The
spellings of earlier versions (``"corrected"``, ``"oim"``, ``"robust"``) are deprecated
aliases for one release.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import log_ndtr, ndtr

from pmt._deprecation import renamed_arguments
from pmt._literals import HeckmanCovType
from pmt._validation import check_option
from pmt.errors import ModelError, example_rows
from pmt.models import _probit
from pmt.models._probit import inverse_mills, inverse_mills_delta, probit_fit, score_obs
from pmt.models.base import (
    ModelResult,
    blas_threads,
    kept_weights_clusters,
    prediction_matrix,
    register_model,
    weight_cluster_columns,
)
from pmt.models.covariance import (
    correction_text,
    resolve_cov_type,
    robust_cov,
)
from pmt.models.formula import Design
from pmt.models.summary import Summary

__all__ = [
    "heckman",
    "HeckmanData",
    "HeckmanResult",
    "HeckmanSelection",
    "prepare_heckman",
    "probit_fit",
    "inverse_mills",
]

Method = Literal["twostep", "ml"]
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
# |atanh(rho)| beyond which ML is judged to sit on the boundary |rho| = 1.
_ATANH_RHO_MAX = 7.0  # |rho| > 0.999998


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@register_model
class HeckmanSelection(ModelResult):
    """The selection (probit) equation of a Heckman model.

    ``predict(df)`` gives the index z'g; ``predict(df, scale="level")`` (or
    ``what="probability"``) gives P(d = 1 | z) = Phi(z'g).
    """

    model_type = "heckman_selection"

    def predict(self, data, scale="model", retransform=None, what=None):  # noqa: D417
        """Selection index z'g (``scale="model"``) or Phi(z'g) (``scale="level"`` or ``what="probability"``)."""
        idx = self.linear_predictor(data)
        if what == "probability" or scale == "level":
            return pd.Series(ndtr(idx.to_numpy()), index=data.index, name="p_selected")
        if scale != "model":
            raise ModelError(f"scale must be 'model' or 'level'; got {scale!r}.")
        return idx.rename("selection_index")


@register_model
class HeckmanResult(ModelResult):
    """Fitted Heckman selection model (see the module docstring for the model).

    Attributes
    ----------
    params, bse : pandas.Series
        Outcome-equation coefficients; for ``method="twostep"`` also "lambda" (the inverse
        Mills ratio's coefficient, = rho * sigma), with corrected two-step s.e.
    cov : pandas.DataFrame
        Their covariance.
    selection : HeckmanSelection
        The probit: ``selection.params``, ``selection.bse``.
    sigma, rho : float
        Standard deviation of the outcome error and the error correlation;
        ``sigma_se``/``rho_se`` their standard errors where available (ML).
    method : {"twostep", "ml"}
    nobs : int
        Rows in the estimation sample (selected and not); ``n_selected`` those with d = 1.
    loglike : float or None
        Maximised (pseudo-)log-likelihood (ML only).
    fittedvalues, resid : pandas.Series
        On the selected rows of the estimation sample: E[y | d=1] = x'b + rho sigma
        lambda(z'g) and y minus it. ``selection.fittedvalues`` is Phi(z'g) on every row.
        Tests and intervals are normal-based (``df_resid`` None).
    exclusion_restrictions : list of str
        Selection-equation variables absent from the outcome equation.
    """

    model_type = "heckman"

    def __init__(
        self,
        outcome_design: Design,
        params: pd.Series,
        bse: pd.Series,
        cov: pd.DataFrame | None,
        selection: HeckmanSelection,
        sigma: float,
        rho: float,
        method: str,
        nobs: int,
        n_selected: int,
        n_dropped: int = 0,
        cov_type: str = "nonrobust",
        loglike: float | None = None,
        info: Mapping | None = None,
    ):
        k = len(outcome_design.term_names)
        super().__init__(
            outcome_design,
            np.asarray(params, dtype=float)[:k],
            np.asarray(bse, dtype=float)[:k],
            cov=None,
            nobs=nobs,
            n_dropped=n_dropped,
            df_resid=None,
            cov_type=cov_type,
            retransform="normal",
            sigma2=float(sigma) ** 2,
            info=info,
        )
        self.params = pd.Series(np.asarray(params, dtype=float), index=params.index, name="coef")
        self.bse = pd.Series(np.asarray(bse, dtype=float), index=bse.index, name="se")
        self.cov = cov
        self.selection = selection
        self.sigma = float(sigma)
        self.rho = float(rho)
        self.method = method
        self.n_selected = int(n_selected)
        self.loglike = loglike

    # --- structure --------------------------------------------------------------------
    @property
    def rho_sigma(self) -> float:
        """Coefficient of lambda in E[y | d=1]: b_lambda (two-step) or rho * sigma (ML)."""
        if "lambda" in self.params.index:
            return float(self.params["lambda"])
        return self.rho * self.sigma

    @property
    def exclusion_restrictions(self) -> list[str]:
        """Selection-equation variables absent from the outcome equation."""
        return list(self.info.get("exclusion_restrictions", []))

    @property
    def sigma_se(self) -> float | None:
        """Standard error of sigma (ML, delta method); None for the two-step estimator."""
        return self.info.get("sigma_se")

    @property
    def rho_se(self) -> float | None:
        """Standard error of rho (ML, delta method); None for the two-step estimator."""
        return self.info.get("rho_se")

    def coef_table(self, labels=None) -> pd.DataFrame:
        """Outcome-equation coefficient table (lambda labelled as the inverse Mills ratio)."""
        base = self.params.drop("lambda", errors="ignore")
        saved = self.params, self.bse
        try:
            self.params, self.bse = base, self.bse[base.index]
            table = super().coef_table(labels)
        finally:
            self.params, self.bse = saved
        if "lambda" in self.params.index:
            p = 2 * stats.norm.sf(abs(self.params["lambda"] / self.bse["lambda"]))
            row = pd.DataFrame(
                {
                    "coef": [self.params["lambda"]],
                    "se": [self.bse["lambda"]],
                    "p": [p],
                    "stars": [""],
                    "variable": [None],
                    "level": [None],
                    "label": ["Inverse Mills ratio (lambda)"],
                },
                index=pd.Index(["lambda"], name="term"),
            )
            from pmt.models.base import stars

            row["stars"] = [stars(p)]
            table = pd.concat([table, row])
        return table

    def selection_table(self, labels=None) -> pd.DataFrame:
        """Coefficient table of the probit (selection) equation."""
        return self.selection.coef_table(labels)

    def _summary_stats(self) -> dict:
        def with_se(v, se):
            return v if se is None else f"{v:.4f} (s.e. {se:.4f})"

        out = {
            "method": self.method,
            "selected": self.n_selected,
            "sigma": with_se(self.sigma, self.sigma_se),
            "rho": with_se(self.rho, self.rho_se),
        }
        if self.loglike is not None:
            out["loglike"] = self.loglike
        return out

    def summary(self) -> Summary:
        """Outcome and selection equations (text and HTML, see
        :class:`pmt.models.summary.Summary`).
        """
        text = super().summary()
        sel = self.selection.summary()
        excl = ", ".join(self.exclusion_restrictions) or "none (identified by functional form only)"
        sections = text.sections + sel.sections
        sections[0].title = f"outcome equation: {sections[0].title}"
        sections[0].notes.append(f"exclusion restrictions: {excl}")
        sections[-1].title = f"selection equation: {sections[-1].title}"
        return Summary(
            f"{text.as_text()}\nexclusion restrictions: {excl}\n\nselection equation\n"
            f"{sel.as_text()}",
            sections,
        )

    # --- prediction -------------------------------------------------------------------
    def linear_predictor(self, data: pd.DataFrame) -> pd.Series:
        """Outcome index x'b (latent mean, ignoring selection)."""
        X, mask = prediction_matrix(self.design, data, "outcome regressors", stacklevel=3)
        out = np.full(len(data), np.nan)
        out[mask] = X @ self.params[self.design.term_names].to_numpy()
        return pd.Series(out, index=data.index, name="xb")

    def selection_index(self, data: pd.DataFrame) -> pd.Series:
        """Selection index z'g."""
        Z, mask = prediction_matrix(
            self.selection.design, data, "selection regressors", stacklevel=3
        )
        out = np.full(len(data), np.nan)
        out[mask] = Z @ self.selection.params.to_numpy()
        return pd.Series(out, index=data.index, name="zg")

    def predict(
        self,
        data: pd.DataFrame,
        scale: Literal["model", "level"] = "model",
        retransform=None,
        what: Literal["conditional", "probability", "unconditional", "index"] = "conditional",
    ) -> pd.Series:
        """Predictions for ``data`` (rows need the regressors of the equations used).

        Parameters
        ----------
        what : {"conditional", "probability", "unconditional", "index"}
            "conditional": E[y | d=1, x, z] = x'b + rho sigma lambda(z'g) (default);
            "probability": P(d=1 | z) = Phi(z'g);
            "unconditional": E[d y | x, z] = P * E[y | d=1] (for a level outcome, the
            expected income including zeros of those without it);
            "index": x'b, the latent outcome mean ignoring selection.
        scale : {"model", "level"}
            "model": the outcome formula's left side as it is. "level": the outcome is
            taken to be a log and the selection-adjusted lognormal mean is returned:
            conditional exp(x'b + sigma^2/2) Phi(z'g + rho sigma) / Phi(z'g);
            unconditional exp(x'b + sigma^2/2) Phi(z'g + rho sigma); index
            exp(x'b + sigma^2/2). ``retransform`` must be None or "normal" (the only
            retransformation consistent with the model's normal errors).
        """
        if scale not in ("model", "level"):
            raise ModelError(f"scale must be 'model' or 'level'; got {scale!r}.")
        if retransform not in (None, "normal"):
            raise ModelError(
                f"retransform={retransform!r}: a Heckman model retransforms logs with its "
                "normal errors only; pass retransform=None or 'normal'."
            )
        whats = ("conditional", "probability", "unconditional", "index")
        if what not in whats:
            raise ModelError(f"what must be one of {whats}; got {what!r}.")
        lhs = self.design.lhs or "y"
        if what == "probability":
            zg = self.selection_index(data).to_numpy()
            return pd.Series(ndtr(zg), index=data.index, name=f"p_{lhs}")
        xb = self.linear_predictor(data).to_numpy()
        rs = self.rho_sigma
        if what == "index":
            val = xb if scale == "model" else np.exp(xb + self.sigma**2 / 2)
            return pd.Series(val, index=data.index, name=f"xb_{lhs}" if scale == "model" else f"level_xb_{lhs}")
        zg = self.selection_index(data).to_numpy()
        if scale == "model":
            cond = xb + rs * inverse_mills(zg)
            val = cond if what == "conditional" else ndtr(zg) * cond
        else:
            base = xb + self.sigma**2 / 2
            if what == "conditional":
                val = np.exp(base + log_ndtr(zg + rs) - log_ndtr(zg))
            else:
                val = np.exp(base + log_ndtr(zg + rs))
        name = f"{what}_{lhs}" if scale == "model" else f"{what}_level_{lhs}"
        return pd.Series(val, index=data.index, name=name)

    # --- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-safe dict of both equations, sigma and rho (see pmt.artifacts)."""
        def opt(v):
            return None if v is None else float(v)

        return {
            "model_type": self.model_type,
            "method": self.method,
            "design": self.design.to_dict(),
            "param_names": list(self.params.index),
            "params": [float(v) for v in self.params],
            "bse": [float(v) for v in self.bse],
            "cov": None if self.cov is None else self.cov.to_numpy().tolist(),
            "selection": self.selection.to_dict(),
            "sigma": float(self.sigma),
            "rho": float(self.rho),
            "nobs": self.nobs,
            "n_selected": self.n_selected,
            "n_dropped": self.n_dropped,
            "cov_type": self.cov_type,
            "loglike": opt(self.loglike),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> HeckmanResult:
        """Rebuild a result from :meth:`to_dict` output (no code is evaluated)."""
        names = list(d["param_names"])
        cov = d.get("cov")
        return cls(
            Design.from_dict(d["design"]),
            pd.Series(np.asarray(d["params"], dtype=float), index=names),
            pd.Series(np.asarray(d["bse"], dtype=float), index=names),
            None if cov is None else pd.DataFrame(np.asarray(cov, dtype=float), index=names, columns=names),
            cast(HeckmanSelection, HeckmanSelection.from_dict(d["selection"])),  # from_dict is cls(...)
            d["sigma"],
            d["rho"],
            d["method"],
            d.get("nobs", 0),
            d.get("n_selected", 0),
            n_dropped=d.get("n_dropped", 0),
            cov_type=d.get("cov_type", "nonrobust"),
            loglike=d.get("loglike"),
            info=d.get("info"),
        )


# --------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeckmanData:
    """Estimation sample of a Heckman model, built by :func:`prepare_heckman`.

    Attributes
    ----------
    sdesign, odesign : Design
        Selection and outcome designs.
    Z : ndarray (n, kz)
        Selection regressors of every row of the sample.
    d : ndarray of bool (n,)
        Selection indicator.
    X1 : ndarray (n1, kx)
        Outcome regressors of the selected rows.
    y1 : ndarray (n1,)
        Outcome of the selected rows.
    w : ndarray (n,) or None
        Weights (None: unweighted).
    codes : ndarray (n,) or None
        Integer cluster codes (None: no clusters, or a covariance that does not use them).
    n_dropped : int
        Rows of the data left out for missing values.
    index, index1 : pandas.Index
        Labels of the rows of the sample and of its selected rows.
    exclusion : list of str
        Selection variables absent from the outcome equation.
    """

    sdesign: Design
    odesign: Design
    Z: np.ndarray
    d: np.ndarray
    X1: np.ndarray
    y1: np.ndarray
    w: np.ndarray | None
    codes: np.ndarray | None
    n_dropped: int
    index: pd.Index
    index1: pd.Index
    exclusion: list[str]

    @property
    def n(self) -> int:
        """Rows in the estimation sample."""
        return int(self.d.size)

    @property
    def n1(self) -> int:
        """Selected rows (d = 1)."""
        return int(self.d.sum())

    @property
    def weights(self) -> np.ndarray:
        """The weights, ones when unweighted."""
        return np.ones(self.n) if self.w is None else self.w


def prepare_heckman(selection: str, outcome: str, data: pd.DataFrame, weights=None,
                    cluster=None) -> HeckmanData:
    """Parse both formulas, check the indicator and outcome, and build the sample.

    Rows are dropped (counted, with a warning) when a selection variable, the weight or
    the cluster is missing, or when a selected row misses an outcome variable. Raises
    ModelError for a non-0/1 indicator, nobody or everybody selected, infinite outcomes
    and singular designs; warns when there is no exclusion restriction.
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelError("`data` must be a pandas DataFrame.")
    if len(data) == 0:
        raise ModelError("`data` has no rows.")
    sdesign = Design.from_formula(selection, data)
    dname = sdesign.lhs
    dcol = data[dname]
    dnum = pd.to_numeric(dcol.astype("float64") if pd.api.types.is_bool_dtype(dcol) else dcol, errors="coerce")
    bad = dcol.notna().to_numpy() & ~dnum.isin([0, 1]).to_numpy()
    if bad.any():
        raise ModelError(
            f"selection indicator '{dname}' must be 0/1 (or True/False); other values at "
            f"{example_rows(data.index[bad])}. Build it as e.g. (income > 0)."
        )
    mask = np.array(sdesign.complete_rows(data, with_lhs=True), dtype=bool)
    w, cl = weight_cluster_columns(data, weights, cluster, mask)
    d_all = dnum.to_numpy(dtype=float) == 1
    # outcome design learned on rows that are selected and complete in the selection equation
    sel_rows = mask & d_all
    if not sel_rows.any():
        raise ModelError(
            f"no row has '{dname}' = 1 (with complete selection variables): nobody has the "
            "income, so its equation cannot be estimated."
        )
    odesign = Design.from_formula(outcome, data.loc[sel_rows])
    ocomplete = odesign.complete_rows(data, with_lhs=True)
    mask &= ~d_all | ocomplete
    n_dropped = int((~mask).sum())
    if n_dropped:
        warnings.warn(
            f"{n_dropped} of {len(data)} rows have missing selection variables, weights or "
            f"clusters, or are selected with missing outcome variables; they are excluded "
            f"({example_rows(data.index[~mask])}).",
            stacklevel=4,
        )
    sub = data.loc[mask]
    d = d_all[mask]
    n = int(mask.sum())
    n1 = int(d.sum())
    if n1 == n:
        raise ModelError(
            f"every row in the estimation sample has '{dname}' = 1: there is no selection to "
            "model. Fit pmt.ols on the outcome formula instead."
        )
    if n1 == 0:
        raise ModelError(f"no row in the estimation sample has '{dname}' = 1.")
    Z = sdesign.matrix(sub)
    sdesign.check_rank(Z)
    subsel = sub.loc[d]
    X1 = odesign.matrix(subsel)
    y1 = odesign.response(subsel)
    if not np.all(np.isfinite(y1)):
        badr = subsel.index[~np.isfinite(y1)]
        raise ModelError(
            f"outcome '{odesign.lhs}' is infinite for {len(badr)} selected rows "
            f"({example_rows(badr)}), e.g. the log of a zero income. Set '{dname}' = 0 where "
            "the income is zero, or model the level."
        )
    odesign.check_rank(X1)
    w, codes = kept_weights_clusters(w, cl, mask, sub.index)
    excl = [v for v in sdesign.variables if v not in odesign.variables]
    if not excl:
        warnings.warn(
            "the selection equation has no variable that is absent from the outcome equation "
            "(no exclusion restriction): the model is identified by the normality assumption "
            "(functional form) only and estimates may be fragile. Add to the selection formula "
            "a variable that affects having the income but not its amount.",
            stacklevel=4,
        )
    return HeckmanData(sdesign, odesign, Z, d, X1, y1, w, codes, n_dropped, sub.index,
                       subsel.index, excl)


def _selection_probit(p: HeckmanData):
    """The weighted probit of the selection equation: (g, H, loglike)."""
    assert p.sdesign.lhs is not None  # Design.from_formula requires a left-hand side by default
    res = _probit.fit(p.Z, p.d, p.weights, p.sdesign.term_names, _probit.PROBIT,
                      outcome=p.sdesign.lhs, where=" in the selection equation")
    return res.params, res.hessian, res.loglike


def _sandwich(bread: np.ndarray, scores: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """HC0 sandwich, or the cluster one times G/(G-1) (Stata's ML commands)."""
    return robust_cov(bread, scores, groups=codes,
                      small_sample="ml" if codes is not None else "none")


# --------------------------------------------------------------------------------------
# two-step
# --------------------------------------------------------------------------------------
def _twostep(p: HeckmanData, cov_type: str) -> dict:
    Z, d, X1, y1 = p.Z, p.d, p.X1, p.y1
    wa = p.weights
    g, H, ll_probit = _selection_probit(p)
    Vg = np.linalg.inv(-H)
    zg1 = Z[d] @ g
    lam = inverse_mills(zg1)
    delta = lam * (lam + zg1)
    Xs = np.column_stack([X1, lam])
    w1 = wa[d]
    XtWX = (Xs * w1[:, None]).T @ Xs
    XtWX_inv = np.linalg.inv(XtWX)
    b = XtWX_inv @ (Xs * w1[:, None]).T @ y1
    e = y1 - Xs @ b
    b_lam = b[-1]
    wsum = w1.sum()
    sigma2 = float(np.sum(w1 * e**2) / wsum + b_lam**2 * np.sum(w1 * delta) / wsum)
    sigma = np.sqrt(sigma2)
    rho = b_lam / sigma
    rho_c = rho
    if abs(rho) > 1:
        rho_c = float(np.sign(rho))
        warnings.warn(
            f"two-step rho = {rho:.3f} lies outside [-1, 1]; it is truncated to {rho_c:.0f} "
            "in the corrected covariance (as Stata does) and reported as sigma-scaled "
            "lambda coefficient. Consider method='ml' or better exclusion restrictions.",
            stacklevel=4,
        )
    if cov_type == "nonrobust":
        # Heckman's corrected covariance (Greene 2003, eq. 22-22)
        rho2 = rho_c**2
        mid = (Xs * (w1 * (1 - rho2 * delta))[:, None]).T @ Xs
        XDZ = (Xs * (w1 * delta)[:, None]).T @ Z[d]
        Q = rho2 * XDZ @ Vg @ XDZ.T
        cov = sigma2 * XtWX_inv @ (mid + Q) @ XtWX_inv
    else:
        # stacked M-estimator: psi = [w s(g); w d x* e]; A = d psi / d theta
        k1, k2 = Z.shape[1], Xs.shape[1]
        S1 = score_obs(g, Z, d) * wa[:, None]
        S2 = np.zeros((len(d), k2))
        S2[d] = Xs * (w1 * e)[:, None]
        A = np.zeros((k1 + k2, k1 + k2))
        A[:k1, :k1] = H
        # d(x* e)/dg' = -delta e * unit_lambda z' + b_lam delta x* z'
        A21 = b_lam * (Xs * (w1 * delta)[:, None]).T @ Z[d]
        A21[-1] -= (w1 * delta * e) @ Z[d]
        A[k1:, :k1] = A21
        A[k1:, k1:] = -XtWX
        full = _sandwich(np.linalg.inv(A), np.column_stack([S1, S2]), p.codes)
        cov = full[k1:, k1:]
    names = p.odesign.term_names + ["lambda"]
    params = pd.Series(b, index=names)
    bse = pd.Series(np.sqrt(np.diag(cov)), index=names)
    return {
        "params": params,
        "bse": bse,
        "cov": pd.DataFrame(cov, index=names, columns=names),
        "g": g,
        "Vg": Vg,
        "sigma": sigma,
        "rho": rho,
        "loglike": None,
        "probit_loglike": ll_probit,
        "H": H,
    }


# --------------------------------------------------------------------------------------
# maximum likelihood
# --------------------------------------------------------------------------------------
class _HeckmanLL:
    """Log-likelihood of the selection model in theta = (b, g, log sigma, atanh rho).

    For a selected row (d = 1), with ``u = (y - x'b) / sigma``, ``r = sqrt(1 - rho^2)`` and
    ``a = (z'g + rho u) / r``: ``l1 = log Phi(a) - log sigma - u^2 / 2 - log sqrt(2 pi)``;
    for the others ``l0 = log Phi(-z'g)``. The (pseudo-)log-likelihood is
    ``sum w1 l1 + sum w0 l0``. :meth:`gradient` and :meth:`hessian` are analytic; the
    central-difference Hessian of the gradient survives as :meth:`numerical_hessian`
    (the check of the analytic one, and the benchmark's reference).
    """

    def __init__(self, Z, d, X1, y1, w):
        self.Z0 = Z[~d]
        self.Z1 = Z[d]
        self.X1 = X1
        self.y1 = y1
        self.w0 = w[~d]
        self.w1 = w[d]
        self.kx = X1.shape[1]
        self.kz = Z.shape[1]
        self.d = d

    def split(self, theta):
        kx, kz = self.kx, self.kz
        return theta[:kx], theta[kx : kx + kz], theta[kx + kz], theta[kx + kz + 1]

    def _parts(self, theta):
        b, g, ls, at = self.split(theta)
        sigma = np.exp(ls)
        rho = np.tanh(at)
        r = np.sqrt(1.0 - rho * rho) if abs(rho) < 1 else 1e-300
        zg1 = self.Z1 @ g
        u = (self.y1 - self.X1 @ b) / sigma
        a = (zg1 + rho * u) / r
        zg0 = self.Z0 @ g
        return sigma, rho, r, zg1, u, a, zg0

    def loglike(self, theta) -> float:
        sigma, rho, r, zg1, u, a, zg0 = self._parts(theta)
        return self._loglike(sigma, u, log_ndtr(a), log_ndtr(-zg0))

    def _loglike(self, sigma, u, log_cdf1, log_cdf0) -> float:
        l1 = log_cdf1 - np.log(sigma) - 0.5 * u * u - _LOG_SQRT_2PI
        return float(self.w1 @ l1 + self.w0 @ log_cdf0)

    def scores(self, theta):
        """Unweighted per-row scores: (S1 for selected rows, S0 for the others)."""
        sigma, rho, r, zg1, u, a, zg0 = self._parts(theta)
        m = inverse_mills(a)
        gb = (-m * rho / r + u) / sigma
        S1 = np.column_stack(
            [
                self.X1 * gb[:, None],
                self.Z1 * (m / r)[:, None],
                -m * rho * u / r - 1 + u * u,
                m * (u + rho * zg1) / r,
            ]
        )
        m0 = inverse_mills(-zg0)
        S0 = np.zeros((len(zg0), S1.shape[1]))
        S0[:, self.kx : self.kx + self.kz] = self.Z0 * (-m0)[:, None]
        return S1, S0

    def gradient(self, theta) -> np.ndarray:
        """Analytic gradient of the weighted log-likelihood (same algebra as ``scores``)."""
        sigma, rho, r, zg1, u, a, zg0 = self._parts(theta)
        return self._gradient(sigma, rho, r, zg1, u, inverse_mills(a), inverse_mills(-zg0))

    def _gradient(self, sigma, rho, r, zg1, u, m, m0) -> np.ndarray:
        w1 = self.w1
        gb = w1 * (-m * rho / r + u) / sigma
        gg = self.Z1.T @ (w1 * m / r) - self.Z0.T @ (self.w0 * m0)
        gs = w1 @ (-m * rho * u / r - 1 + u * u)
        gr = w1 @ (m * (u + rho * zg1) / r)
        return np.concatenate([self.X1.T @ gb, gg, [gs, gr]])

    def loglike_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """Both at once (the optimiser asks for both at every point), sharing the indices
        and the log Phi of the inverse Mills ratios (the same operations as
        :func:`inverse_mills`, so the same bits as :meth:`loglike` and :meth:`gradient`).
        """
        sigma, rho, r, zg1, u, a, zg0 = self._parts(theta)
        c0 = -zg0
        log_cdf1, log_cdf0 = log_ndtr(a), log_ndtr(c0)
        m = np.exp(-0.5 * a * a - _LOG_SQRT_2PI - log_cdf1)
        m0 = np.exp(-0.5 * c0 * c0 - _LOG_SQRT_2PI - log_cdf0)
        return (self._loglike(sigma, u, log_cdf1, log_cdf0),
                self._gradient(sigma, rho, r, zg1, u, m, m0))

    def score_matrix(self, theta) -> np.ndarray:
        """Weighted per-row scores in the original row order (n x k)."""
        S1, S0 = self.scores(theta)
        S = np.empty((len(self.d), S1.shape[1]))
        S[self.d] = S1 * self.w1[:, None]
        S[~self.d] = S0 * self.w0[:, None]
        return S

    def hessian(self, theta) -> np.ndarray:
        r"""Analytic Hessian of the weighted log-likelihood in (b, g, log sigma, atanh rho).

        Derivation (the ``tobit2`` Hessian of Toomet and Henningsen 2008, R
        ``sampleSelection``, and Greene, Econometric Analysis, ch. 19, rewritten for
        theta = (b, g, s = log sigma, t = atanh rho)). With ``rho = tanh t``,
        ``r = sqrt(1 - rho^2) = sech t`` and ``c = rho / r = sinh t``, the selected rows'
        index is ``a = z'g cosh t + u sinh t = z'g / r + c u``, ``u = (y - x'b) e^-s``.
        Its first derivatives are ``a_b = -c x / sigma``, ``a_g = z / r``,
        ``a_s = -c u``, ``a_t = (u + rho z'g) / r``; the non-zero second derivatives
        ``a_bs = c x / sigma``, ``a_bt = -x / (r sigma)``, ``a_gt = c z``, ``a_ss = c u``,
        ``a_st = -u / r``, ``a_tt = a``. With ``m = lambda(a)`` and
        ``D = m (m + a) = -dm/da`` (:func:`pmt.models._probit.inverse_mills_delta`),
        ``d^2 log Phi(a) = -D a' a'^T + m a''`` and ``-u^2 / 2`` adds
        ``-x x' / sigma^2`` (bb), ``-2 u x / sigma`` (bs) and ``-2 u^2`` (ss). Per selected
        row:

        * bb: ``-(1 + D c^2) x x' / sigma^2``;  bg: ``D c x z' / (r sigma)``;
          gg: ``-D z z' / r^2``;
        * bs: ``(m c - D c^2 u - 2 u) x / sigma``;  bt: ``(D c a_t - m / r) x / sigma``;
        * gs: ``D c u z / r``;  gt: ``(m c - D a_t / r) z``;
        * ss: ``m c u - D c^2 u^2 - 2 u^2``;  st: ``D c u a_t - m u / r``;
          tt: ``m a - D a_t^2``.

        A row with d = 0 adds the probit term ``-D(-z'g) z z'`` to gg. Every ``lambda`` and
        ``D`` is computed on the log scale and, for ``D`` in the far left tail, from its
        continued fraction, so the Hessian stays accurate for indices far below zero.
        Checked against central differences of :meth:`gradient` and of :meth:`loglike`
        in ``tests/test_heckman_hessian.py``.
        """
        sigma, rho, r, zg1, u, a, zg0 = self._parts(theta)
        m = inverse_mills(a)
        D = inverse_mills_delta(a)
        c = rho / r
        a_t = (u + rho * zg1) / r
        w1, X1, Z1 = self.w1, self.X1, self.Z1
        kx, kz = self.kx, self.kz
        ib, ig = slice(0, kx), slice(kx, kx + kz)
        js, jt = kx + kz, kx + kz + 1
        H = np.empty((kx + kz + 2, kx + kz + 2))
        H[ib, ib] = X1.T @ (X1 * (w1 * -(1 + D * c * c) / sigma**2)[:, None])
        H[ib, ig] = X1.T @ (Z1 * (w1 * D * c / (r * sigma))[:, None])
        H[ig, ig] = Z1.T @ (Z1 * (w1 * -D / r**2)[:, None]) + self.Z0.T @ (
            self.Z0 * (self.w0 * -inverse_mills_delta(-zg0))[:, None]
        )
        H[ib, js] = X1.T @ (w1 * (m * c - D * c * c * u - 2 * u) / sigma)
        H[ib, jt] = X1.T @ (w1 * (D * c * a_t - m / r) / sigma)
        H[ig, js] = Z1.T @ (w1 * D * c * u / r)
        H[ig, jt] = Z1.T @ (w1 * (m * c - D * a_t / r))
        H[js, js] = w1 @ (m * c * u - D * c * c * u * u - 2 * u * u)
        H[js, jt] = w1 @ (D * c * u * a_t - m * u / r)
        H[jt, jt] = w1 @ (m * a - D * a_t * a_t)
        upper = np.triu_indices(kx + kz + 2, 1)
        H[upper[1], upper[0]] = H[upper]
        return H

    def numerical_hessian(self, theta) -> np.ndarray:
        """Central differences of the analytic gradient, symmetrised (2k gradients).

        The step of a coefficient is scaled by its regressor (1 / root mean square of the
        column) so that a badly scaled regressor, e.g. family income in dollars, still
        moves the index by ~1e-5 and not by orders of magnitude more. Kept as the
        reference of :meth:`hessian` (``heckman(..., _hessian="numerical")``).
        """
        k = theta.size
        H = np.empty((k, k))
        typical = np.ones(k)
        typical[: self.kx] = 1 / np.maximum(np.sqrt((self.X1**2).mean(axis=0)), 1e-300)
        zs = np.sqrt(np.concatenate([self.Z1**2, self.Z0**2]).mean(axis=0))
        typical[self.kx : self.kx + self.kz] = 1 / np.maximum(zs, 1e-300)
        for j in range(k):
            h = 1e-5 * max(typical[j], abs(theta[j]))
            tp, tm = theta.copy(), theta.copy()
            tp[j] += h
            tm[j] -= h
            H[:, j] = (self.gradient(tp) - self.gradient(tm)) / (2 * h)
        return (H + H.T) / 2


def _check_interior(theta: np.ndarray) -> None:
    if abs(theta[-1]) > _ATANH_RHO_MAX:
        raise ModelError(
            f"ML estimate of rho is at the boundary (rho = {np.tanh(theta[-1]):.6f}): the "
            "likelihood has no interior maximum. Use method='twostep', or add exclusion "
            "restrictions (variables in the selection formula only)."
        )


def _ml(p: HeckmanData, cov_type: str, maxiter: int,
        hessian: Literal["analytic", "numerical"] = "analytic") -> dict:
    with warnings.catch_warnings():
        # the two-step fit only supplies start values (rho is clipped to +-0.9 below)
        warnings.simplefilter("ignore")
        start = _twostep(p, "nonrobust")
    w = p.weights
    f = _HeckmanLL(p.Z, p.d, p.X1, p.y1, w)
    hess = f.hessian if hessian == "analytic" else f.numerical_hessian
    kx = f.kx
    rho0 = float(np.clip(start["rho"], -0.9, 0.9))
    theta0 = np.concatenate(
        [start["params"].to_numpy()[:kx], start["g"], [np.log(start["sigma"])], [np.arctanh(rho0)]]
    )
    scale = w.sum()

    def nll_and_grad(t):
        ll, grad = f.loglike_and_gradient(t)
        return -ll / scale, -grad / scale

    theta, iterations = None, 0
    if hessian == "analytic":
        # trust-region Newton on the exact Hessian: 3-5 iterations from the two-step start
        # where BFGS needs 20-50 with 4-5 line-search evaluations each; a run that fails
        # (e.g. drifting to |rho| = 1) falls back to the BFGS path of earlier versions
        try:
            with np.errstate(all="ignore"):
                res = optimize.minimize(
                    nll_and_grad, theta0, jac=True, hess=lambda t: -f.hessian(t) / scale,
                    method="trust-exact", options={"gtol": 1e-9, "maxiter": min(maxiter, 100)},
                )
            iterations = int(res.nit)
            if (np.all(np.isfinite(res.x)) and abs(res.x[-1]) <= _ATANH_RHO_MAX
                    and np.max(np.abs(f.gradient(res.x))) / scale < 1e-7):
                theta = res.x
        except (np.linalg.LinAlgError, ValueError):
            pass
    if theta is None:
        res = optimize.minimize(
            nll_and_grad, theta0, jac=True, method="BFGS",
            options={"gtol": 1e-9, "maxiter": maxiter},
        )
        theta, iterations = res.x, iterations + int(res.nit)
    _check_interior(theta)  # the Hessian is not finite at |rho| = 1
    # Newton polish on the observed Hessian; one or two steps suffice. The numerical
    # Hessian (2k gradients, 1.3 s at 100k rows) is reused after a step below 1e-6; the
    # analytic one (about 4 gradients, 50 ms) is always taken at the final estimate.
    converged = False
    H = hess(theta)
    for _ in range(5):
        grad = f.gradient(theta)
        if np.max(np.abs(grad)) / scale < 1e-11:
            converged = True
            break
        try:
            step = np.linalg.solve(-H, grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        ll0 = f.loglike(theta)
        while f.loglike(theta + t * step) < ll0 - 1e-10 * abs(ll0) and t > 1e-6:
            t /= 2
        theta = theta + t * step
        if hessian == "analytic" or np.max(np.abs(t * step)) > 1e-6:
            H = hess(theta)
    grad = f.gradient(theta)
    _check_interior(theta)
    if not converged and np.max(np.abs(grad)) / scale > 1e-7:
        raise ModelError(
            f"ML did not converge (max |gradient| per unit weight "
            f"{np.max(np.abs(grad)) / scale:.2e}); rescale regressors or use method='twostep'."
        )
    try:
        Hinv = np.linalg.inv(-H)
    except np.linalg.LinAlgError as exc:
        raise ModelError("ML Hessian is singular: the model is not identified.") from exc
    if not np.all(np.diag(Hinv) > 0):
        raise ModelError("ML Hessian is not negative definite at the optimum; not identified.")
    if cov_type == "nonrobust":
        V = Hinv
    else:
        V = _sandwich(Hinv, f.score_matrix(theta), p.codes)
    b, g, ls, at = f.split(theta)
    sigma, rho = float(np.exp(ls)), float(np.tanh(at))
    kz = f.kz
    onames = p.odesign.term_names
    params = pd.Series(b, index=onames)
    Vb = V[:kx, :kx]
    bse = pd.Series(np.sqrt(np.diag(Vb)), index=onames)
    sigma_se = sigma * np.sqrt(V[kx + kz, kx + kz])
    rho_se = (1 - rho**2) * np.sqrt(V[-1, -1])
    return {
        "params": params,
        "bse": bse,
        "cov": pd.DataFrame(Vb, index=onames, columns=onames),
        "g": g,
        "Vg": V[kx : kx + kz, kx : kx + kz],
        "sigma": sigma,
        "rho": rho,
        "loglike": f.loglike(theta),
        "sigma_se": float(sigma_se),
        "rho_se": float(rho_se),
        "theta": theta,
        "V_theta": V,
        "gradient": grad,
        "iterations": iterations,
    }


# --------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------
#: Spellings of ``cov_type`` before the one vocabulary, by method (deprecated).
_DEPRECATED_COV_TYPES = {
    "twostep": {"corrected": "nonrobust", "robust": "HC0"},
    "ml": {"oim": "nonrobust", "robust": "HC0"},
}


@renamed_arguments(
    positional=("method", "weights", "cluster", "cov_type", "maxiter"),
)
def heckman(
    selection: str,
    outcome: str,
    data: pd.DataFrame,
    *,
    method: Method = "twostep",
    weights=None,
    cluster=None,
    cov_type: HeckmanCovType | None = None,
    maxiter: int = 2000,
    _hessian: Literal["analytic", "numerical"] = "analytic",
) -> HeckmanResult:
    """Fit a Heckman sample-selection model (two-step or maximum likelihood).

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters
    ----------
    selection : str
        Probit formula whose left side is the 0/1 selection indicator, e.g.
        ``"has_htv ~ age + C(region) + land_sotka"``.
    outcome : str
        Outcome formula, e.g. ``"log_htv ~ n_adults + C(region)"``. Rows with indicator 0
        may have a missing outcome (and missing outcome regressors).
    data : pandas.DataFrame
        One row per household.
    method : {"twostep", "ml"}
        Heckman's two-step estimator or full-information maximum likelihood.
    weights : str or array-like, optional
        Survey weights (column name or values); both steps/the likelihood are weighted
        (pseudo-likelihood).
    cluster : str or array-like, optional
        Cluster (PSU) ids for cluster-robust standard errors.
    cov_type : {"nonrobust", "HC0", "cluster"}, optional
        "nonrobust" (default without weights and clusters): two-step, Heckman's corrected
        covariance (Greene); ML, the inverse Hessian. "HC0" (default with weights): the
        sandwich (two-step: of the stacked estimating equations of both steps). "cluster"
        (default with ``cluster``): the sandwich of PSU score sums, multiplied by G/(G-1)
        (G clusters) as Stata's ML commands do. Tests are z tests. The names of earlier
        versions are deprecated aliases for one release: two-step "corrected" and ML
        "oim" for "nonrobust", "robust" for "HC0" (:mod:`pmt.models.covariance`).
    maxiter : int
        Iteration limit of the ML optimiser.
    _hessian : {"analytic", "numerical"}
        Private (benchmarks and tests): "analytic" (default) maximises by trust-region
        Newton on the analytic Hessian; "numerical" is the method of earlier versions,
        BFGS then Newton steps on central differences of the analytic gradient (2k
        gradient evaluations per Hessian).

    Returns
    -------
    HeckmanResult

    Raises
    ------
    ModelError
        Nobody or everybody selected, a non-0/1 indicator, infinite outcomes (log of
        zero), perfect separation in the probit, singular designs, ML at |rho| = 1 or not
        converging.
    """
    if method not in ("twostep", "ml"):
        raise ModelError(f"method must be 'twostep' or 'ml'; got {method!r}.")
    check_option(_hessian, ("analytic", "numerical"), name="_hessian")
    default = "cluster" if cluster is not None else "HC0" if weights is not None else "nonrobust"
    # resolve_cov_type checks the name against HeckmanCovType
    cov_type = cast(HeckmanCovType, resolve_cov_type(
        cov_type, HeckmanCovType, default=default, has_cluster=cluster is not None,
        deprecated=_DEPRECATED_COV_TYPES[method], model=f"heckman(method={method!r})"))
    with blas_threads(1):  # tall, thin matrices (n x ~30)
        return _fit(selection, outcome, data, method, weights, cluster, cov_type, maxiter,
                    _hessian)


def _fit(selection, outcome, data, method, weights, cluster, cov_type, maxiter,
         hessian="analytic") -> HeckmanResult:
    p = prepare_heckman(selection, outcome, data, weights, cluster)
    if cov_type != "cluster":
        p = replace(p, codes=None)
    fit = _twostep(p, cov_type) if method == "twostep" else _ml(p, cov_type, maxiter, hessian)
    g = fit["g"]
    Vg = fit["Vg"]
    if method == "twostep" and cov_type != "nonrobust":
        # probit s.e. from the sandwich as well (pseudo-likelihood)
        Vg = _sandwich(np.linalg.inv(-fit["H"]), score_obs(g, p.Z, p.d) * p.weights[:, None],
                       p.codes)
    sel = HeckmanSelection(
        p.sdesign,
        g,
        np.sqrt(np.diag(Vg)),
        cov=Vg,
        nobs=p.n,
        n_dropped=p.n_dropped,
        cov_type=cov_type,
        retransform="none",
    )
    clustered = cov_type == "cluster"
    info = {
        "exclusion_restrictions": p.exclusion,
        "weighted": p.w is not None,
        "small_sample_correction": correction_text(
            "ml" if clustered else "none", clustered, "z tests"),
    }
    if method == "ml":
        info.update(
            sigma_se=fit["sigma_se"],
            rho_se=fit["rho_se"],
            max_abs_gradient=float(np.max(np.abs(fit["gradient"]))),
            iterations=fit["iterations"],
        )
    result = HeckmanResult(
        p.odesign,
        fit["params"],
        fit["bse"],
        fit["cov"],
        sel,
        fit["sigma"],
        fit["rho"],
        method,
        nobs=p.n,
        n_selected=p.n1,
        n_dropped=p.n_dropped,
        cov_type=cov_type,
        loglike=fit["loglike"],
        info=info,
    )
    # estimation samples: the probit on every row (fitted = Phi(z'g)) and the outcome on
    # the selected rows (fitted = E[y | d=1] = x'b + rho sigma lambda(z'g))
    sel._set_sample(p.index, p.d, ndtr(p.Z @ g))
    k = p.X1.shape[1]
    fitted = p.X1 @ result.params.to_numpy()[:k] + result.rho_sigma * inverse_mills(
        p.Z[p.d] @ g
    )
    result._set_sample(p.index1, p.y1, fitted)
    return result
