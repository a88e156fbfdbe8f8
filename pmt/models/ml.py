"""Machine-learning benchmarks for PMT models: gradient boosting, random forests and any
scikit-learn regressor, on the same design matrix as the linear models.

These models are for *comparison* (how much ranking accuracy do flexible models add?).
They have no coefficients: ``.params``, ``.bse`` and ``.to_dict()`` raise ModelError,
because they cannot become scorecards, and they cannot be saved as JSON artifacts (pmt
never pickles models). Everything else follows the common model interface:
``predict(df)`` on the formula's scale, ``nobs``, ``n_dropped``, ``summary()``, ``terms``.

The design matrix comes from pmt's :class:`~pmt.models.formula.Design` (the same
columns, dummies and base levels as ``pmt.ols`` with the same formula), so the
comparison is on equal information. Randomness: scikit-learn takes an integer
``random_state``; ``seed=`` is passed there (same seed, same model).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import clone, is_regressor
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.utils.validation import has_fit_parameter
from threadpoolctl import threadpool_limits

from pmt.errors import ModelError
from pmt.models.base import prediction_matrix, prepare

__all__ = ["SklearnModel", "gradient_boosting", "random_forest"]

_NO_COEF = (
    "{kind} has no coefficients: machine-learning models cannot become scorecards or JSON "
    "artifacts. Use them to compare predictive accuracy; use pmt.ols/pmt.quantreg for the PMT."
)


class SklearnModel:
    """A scikit-learn regressor fitted on a pmt formula's design matrix.

    Parameters
    ----------
    estimator : scikit-learn regressor
        Any regressor (``HistGradientBoostingRegressor()``, ``RandomForestRegressor()``,
        a Pipeline...). It is cloned, so the instance passed in is left untouched.
    formula : str
        ``"log_pcc ~ rooms + car + C(region)"``; the design columns are those pmt.ols
        builds (the intercept column is left out: regressors fit their own constant).
    n_threads : int, optional
        Cap on OpenMP/BLAS threads while fitting and predicting (threadpoolctl). On a
        shared machine HistGradientBoosting with all threads can be tens of times slower
        than with one; None leaves the libraries' defaults.

    Call :meth:`fit` before predicting. Attributes after fitting: ``design``, ``nobs``,
    ``n_dropped``, ``weighted_nobs``, ``rsquared`` (weighted, in-sample: optimistic for
    flexible models; compare out of sample), ``estimator_`` (the fitted clone).
    """

    model_type = "sklearn"

    def __init__(self, estimator, formula: str, n_threads: int | None = None):
        if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
            raise ModelError(
                f"estimator {estimator!r} is not a scikit-learn estimator (needs fit/predict)."
            )
        if not is_regressor(estimator):
            warnings.warn(
                f"{type(estimator).__name__} is not tagged as a regressor; predictions are "
                "used as they come.",
                stacklevel=2,
            )
        if n_threads is not None and (int(n_threads) != n_threads or n_threads < 1):
            raise ModelError(f"n_threads must be a positive integer; got {n_threads!r}.")
        self.estimator = estimator
        self.formula_text = formula
        self.n_threads = n_threads
        self.estimator_ = None
        self.design = None

    # --- fitting ------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, weights=None) -> SklearnModel:
        """Fit on ``data`` (rows with missing values are dropped, counted and warned about).

        ``weights`` (column name or array) are passed as ``sample_weight``; estimators
        whose ``fit`` has no ``sample_weight`` raise ModelError when weights are given.
        """
        prep = prepare(self.formula_text, data, weights=weights)
        self.design = prep.design
        self._cols = [j for j, t in enumerate(prep.design.terms) if t.kind != "intercept"]
        if not self._cols:
            raise ModelError(f"formula {self.formula_text!r} has no proxies to learn from.")
        X = prep.X[:, self._cols]
        est = clone(self.estimator)
        kwargs = {}
        if prep.weights is not None:
            if not has_fit_parameter(est, "sample_weight"):
                raise ModelError(
                    f"{type(est).__name__}.fit does not take sample_weight; fit it without "
                    "weights= or choose an estimator that supports weights."
                )
            kwargs["sample_weight"] = prep.weights
        with threadpool_limits(limits=self.n_threads):
            est.fit(X, prep.y, **kwargs)
            fitted = np.asarray(est.predict(X), dtype=float)
        self.estimator_ = est
        w = np.ones(prep.nobs) if prep.weights is None else prep.weights
        self.nobs = prep.nobs
        self.n_dropped = prep.n_dropped
        self.weighted_nobs = float(w.sum())
        self.rsquared = _weighted_r2(prep.y, fitted, w)
        return self

    def _check_fitted(self):
        if self.estimator_ is None:
            raise ModelError("this SklearnModel is not fitted yet: call .fit(data) first.")

    # --- the common interface ---------------------------------------------------------
    @property
    def formula(self) -> str:
        return self.formula_text

    @property
    def feature_names(self) -> list[str]:
        """Design columns the estimator sees (term names as in pmt.ols, no intercept)."""
        self._check_fitted()
        return [self.design.term_names[j] for j in self._cols]

    @property
    def terms(self) -> pd.DataFrame:
        self._check_fitted()
        return self.design.terms_table().loc[self.feature_names]

    @property
    def params(self):
        raise ModelError(_NO_COEF.format(kind=type(self.estimator).__name__))

    @property
    def bse(self):
        raise ModelError(_NO_COEF.format(kind=type(self.estimator).__name__))

    def coef_table(self, labels=None):
        raise ModelError(_NO_COEF.format(kind=type(self.estimator).__name__))

    def to_dict(self):
        raise ModelError(_NO_COEF.format(kind=type(self.estimator).__name__))

    def matrix(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix of complete rows and the mask of those rows."""
        self._check_fitted()
        X, mask = prediction_matrix(self.design, data, stacklevel=3)
        return X[:, self._cols], mask

    def predict(
        self,
        data: pd.DataFrame,
        scale: Literal["model", "level"] = "model",
        retransform: str | None = None,
    ) -> pd.Series:
        """Predict on the formula's scale; ``scale="level"`` is exp of it (``"none"`` only).

        A smearing or normal retransformation from in-sample residuals would be biased
        for flexible models that fit the training data closely, so only the plain exp is
        offered.
        """
        X, mask = self.matrix(data)
        out = np.full(len(data), np.nan)
        if X.shape[0]:
            with threadpool_limits(limits=self.n_threads):
                out[mask] = np.asarray(self.estimator_.predict(X), dtype=float)
        pred = pd.Series(out, index=data.index, name=f"pred_{self.design.lhs}")
        if scale == "model":
            return pred
        if scale != "level":
            raise ModelError(f"scale must be 'model' or 'level'; got {scale!r}.")
        if retransform not in (None, "none"):
            raise ModelError(
                f"retransform={retransform!r} is not available for {type(self.estimator).__name__}:"
                " only 'none' (in-sample residuals of a flexible model understate the error)."
            )
        return np.exp(pred).rename("pred_level_none")

    def linear_predictor(self, data: pd.DataFrame) -> pd.Series:
        """Same as ``predict(data)`` (no linear index exists; kept for a uniform interface)."""
        return self.predict(data)

    def score(self, X: pd.DataFrame, y, sample_weight=None) -> float:
        """Weighted R^2 of predictions for the rows of ``X`` (scikit-learn scorer protocol)."""
        pred = self.predict(X).to_numpy()
        y = np.asarray(y, dtype=float)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        ok = np.isfinite(pred)
        return _weighted_r2(y[ok], pred[ok], w[ok])

    # --- importances --------------------------------------------------------------------
    @property
    def feature_importances(self) -> pd.DataFrame:
        """Impurity-based importances by design column, with the source variable.

        Available for tree ensembles that expose ``feature_importances_`` (random
        forests); HistGradientBoosting has none: use :meth:`permutation_importance`.
        """
        self._check_fitted()
        imp = getattr(self.estimator_, "feature_importances_", None)
        if imp is None:
            raise ModelError(
                f"{type(self.estimator_).__name__} has no impurity importances; use "
                ".permutation_importance(data)."
            )
        table = self.terms[["variable", "level"]].copy()
        table["importance"] = np.asarray(imp, dtype=float)
        return table.sort_values("importance", ascending=False)

    def permutation_importance(
        self, data: pd.DataFrame, weights=None, n_repeats: int = 5, seed: int = 0
    ) -> pd.DataFrame:
        """Drop in weighted R^2 when a source variable is shuffled (scikit-learn's
        ``permutation_importance`` on the raw columns, so a categorical is permuted whole).

        Returns a DataFrame by variable: importance_mean, importance_sd, sorted.
        """
        self._check_fitted()
        variables = self.design.variables
        prep = prepare(self.formula_text, data, weights=weights, design=self.design)
        X = data.loc[prep.mask, variables].reset_index(drop=True)
        res = permutation_importance(
            self,
            X,
            prep.y,
            n_repeats=int(n_repeats),
            random_state=seed,
            sample_weight=prep.weights,
        )
        out = pd.DataFrame(
            {"importance_mean": res.importances_mean, "importance_sd": res.importances_std},
            index=pd.Index(variables, name="variable"),
        )
        return out.sort_values("importance_mean", ascending=False)

    def summary(self) -> str:
        self._check_fitted()
        lines = [
            f"{type(self.estimator_).__name__} on: {self.formula}",
            f"N = {self.nobs:,}" + (f" (excluded {self.n_dropped:,})" if self.n_dropped else ""),
            f"in-sample weighted R2 = {self.rsquared:.4f} (optimistic; compare out of sample)",
            "no coefficients: cannot become a scorecard or a JSON artifact",
        ]
        imp = getattr(self.estimator_, "feature_importances_", None)
        if imp is not None:
            lines.append("impurity importances (top 10):")
            fi = self.feature_importances.head(10)
            lines += [f"  {t:<30} {v:.4f}" for t, v in fi["importance"].items()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = f"N={self.nobs}" if self.estimator_ is not None else "unfitted"
        return f"<SklearnModel {type(self.estimator).__name__} {self.formula_text!r} {state}>"


def _weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    ybar = np.sum(w * y) / w.sum()
    return float(1 - np.sum(w * (y - pred) ** 2) / np.sum(w * (y - ybar) ** 2))


def gradient_boosting(
    formula: str,
    data: pd.DataFrame,
    weights=None,
    seed: int = 0,
    n_threads: int | None = None,
    **params,
) -> SklearnModel:
    """Histogram gradient boosting (scikit-learn ``HistGradientBoostingRegressor``).

    Parameters
    ----------
    formula, data, weights
        As in :func:`pmt.ols` (weights are sample weights).
    seed : int
        ``random_state`` (early-stopping split and binning subsample).
    n_threads : int, optional
        Thread cap (see :class:`SklearnModel`).
    **params
        Passed to ``HistGradientBoostingRegressor`` (e.g. ``max_iter``, ``learning_rate``,
        ``max_leaf_nodes``).

    Returns
    -------
    SklearnModel
        ``predict(df)`` on the formula's scale; no params/bse (see the module docstring).
    """
    return _fit_seeded(HistGradientBoostingRegressor, formula, data, weights, seed, n_threads, params)


def random_forest(
    formula: str,
    data: pd.DataFrame,
    weights=None,
    seed: int = 0,
    n_threads: int | None = None,
    **params,
) -> SklearnModel:
    """Random forest (scikit-learn ``RandomForestRegressor``; ``n_jobs=1`` unless given).

    Parameters as :func:`gradient_boosting`; ``**params`` go to ``RandomForestRegressor``
    (e.g. ``n_estimators``, ``min_samples_leaf``, ``max_features``).
    """
    params.setdefault("n_jobs", 1)
    return _fit_seeded(RandomForestRegressor, formula, data, weights, seed, n_threads, params)


def _fit_seeded(cls, formula, data, weights, seed, n_threads, params) -> SklearnModel:
    """Build ``cls(random_state=seed, **params)`` (ModelError naming a bad parameter), fit it."""
    try:
        est = cls(random_state=seed, **params)
    except TypeError as err:
        raise ModelError(f"bad {cls.__name__} parameter: {err}") from err
    return SklearnModel(est, formula, n_threads=n_threads).fit(data, weights=weights)
