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

Threads
-------
``n_threads=None`` (the default) uses :func:`default_threads`: one thread when called
from a worker (a child process, e.g. joblib/loky or Dask workers of a cross-validation,
or a thread other than the main one), otherwise ``min(4, physical cores // 2)`` and at
least 1, never more than the current OpenMP limit (``OMP_NUM_THREADS``, an enclosing
``threadpoolctl.threadpool_limits``). HistGradientBoosting's OpenMP threads
synchronise thousands of times per fit and spin while waiting: when another process
competes for the cores, every barrier waits for a descheduled thread. On this project's
2-core machine, with other jobs running, the boosting wrapper with 2 threads (the
libraries' default, all cores) took 6 to 9 times as long as with one (``python -m
benchmarks ml_threads``), hence at most half the physical cores by default. The cap is
applied with ``threadpoolctl`` (OpenMP and BLAS) while fitting and predicting, and as
``n_jobs`` for random forests. Results do not depend on the thread count: scikit-learn's
histogram boosting is deterministic across threads, forest trees are grown from
per-tree seeds, and forest predictions are summed in tree order on one thread (the
threaded sum of scikit-learn adds trees in completion order and differs in the last
bits).
"""

from __future__ import annotations

import copy
import functools
import multiprocessing
import numbers
import threading
import warnings
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import clone, is_regressor
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.inspection import permutation_importance
from sklearn.utils.validation import has_fit_parameter
from threadpoolctl import ThreadpoolController

from pmt.errors import ModelError
from pmt.models.base import prediction_matrix, prepare

__all__ = ["SklearnModel", "default_threads", "gradient_boosting", "random_forest"]

#: Upper bound of the default thread count (:func:`default_threads`).
MAX_DEFAULT_THREADS = 4


@functools.cache
def physical_cores() -> int:
    """Physical cores available to this process (joblib: affinity and cgroup quotas)."""
    from joblib import cpu_count

    return max(1, int(cpu_count(only_physical_cores=True)))


_CONTROLLER: ThreadpoolController | None = None


def _controller(refresh: bool = False) -> ThreadpoolController:
    """threadpoolctl's view of the loaded OpenMP/BLAS runtimes.

    Scanning the loaded libraries takes milliseconds, so the view is kept; every fit
    refreshes it (an estimator may have loaded its own runtime), predictions reuse it.
    """
    global _CONTROLLER
    if refresh or _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _limit_threads(n: int):
    """Context manager capping OpenMP and BLAS threads at ``n``."""
    return _controller().limit(limits=n)


def in_worker() -> bool:
    """True in a child process (joblib/loky, multiprocessing, Dask nanny workers) or in a
    thread other than the main one (thread pools, Dask's threaded workers)."""
    if threading.current_thread() is not threading.main_thread():
        return True
    return multiprocessing.parent_process() is not None


def _openmp_limit() -> int | None:
    """Current OpenMP thread limit of the loaded runtimes (None if none is loaded)."""
    counts = [c.num_threads for c in _controller().select(user_api="openmp").lib_controllers]
    return min(counts) if counts else None


def default_threads() -> int:
    """Threads the ML wrappers use when ``n_threads=None``.

    1 inside a worker (:func:`in_worker`); otherwise ``min(MAX_DEFAULT_THREADS,
    physical_cores() // 2)``, at least 1 and at most the current OpenMP limit. See the
    module docstring for why: on a shared 2-core machine this is one thread.
    """
    if in_worker():
        return 1
    n = max(1, min(MAX_DEFAULT_THREADS, physical_cores() // 2))
    limit = _openmp_limit()
    return n if limit is None else max(1, min(n, limit))


def _check_threads(n_threads) -> int | None:
    if n_threads is None:
        return None
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, numbers.Integral)
        or n_threads < 1
    ):
        raise ModelError(
            f"n_threads must be a positive integer (or None for the default, "
            f"pmt.models.ml.default_threads()); got {n_threads!r}."
        )
    return int(n_threads)


def _sequential_predictor(est):
    """The fitted estimator, as a shallow copy predicting on one job for forests.

    scikit-learn forests add the trees' predictions from worker threads as they finish,
    so with ``n_jobs > 1`` the last bits depend on timing; one job adds them in order.
    """
    if isinstance(est, (RandomForestRegressor, ExtraTreesRegressor)) and est.n_jobs != 1:
        est = copy.copy(est)
        est.n_jobs = 1
    return est

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
        Cap on OpenMP/BLAS threads while fitting and predicting (threadpoolctl). None
        (default): :func:`default_threads`, resolved at each fit and prediction (one
        thread in workers; at most half the physical cores, up to 4, otherwise). On a
        shared machine HistGradientBoosting with all threads can be many times slower
        than with one. Results are the same whatever the count.

    Call :meth:`fit` before predicting. Attributes after fitting: ``design``, ``nobs``,
    ``n_dropped``, ``weighted_nobs``, ``rsquared`` (weighted, in-sample: optimistic for
    flexible models; compare out of sample), ``estimator_`` (the fitted clone),
    ``n_threads_`` (threads used by the fit).
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
        self.estimator = estimator
        self.formula_text = formula
        self.n_threads = _check_threads(n_threads)
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
        _controller(refresh=True)
        threads = self.threads()
        with _limit_threads(threads):
            est.fit(X, prep.y, **kwargs)
            fitted = np.asarray(_sequential_predictor(est).predict(X), dtype=float)
        self.estimator_ = est
        self.n_threads_ = threads
        w = np.ones(prep.nobs) if prep.weights is None else prep.weights
        self.nobs = prep.nobs
        self.n_dropped = prep.n_dropped
        self.weighted_nobs = float(w.sum())
        self.rsquared = _weighted_r2(prep.y, fitted, w)
        return self

    def threads(self) -> int:
        """Thread cap for the next fit or prediction (``n_threads`` or the default)."""
        return self.n_threads if self.n_threads is not None else default_threads()

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
            with _limit_threads(self.threads()):
                out[mask] = np.asarray(
                    _sequential_predictor(self.estimator_).predict(X), dtype=float
                )
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
        OpenMP thread cap; None (default) is :func:`default_threads` (see
        :class:`SklearnModel` and the module docstring). Same model whatever the count.
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
    """Random forest (scikit-learn ``RandomForestRegressor``).

    Parameters as :func:`gradient_boosting`; ``**params`` go to ``RandomForestRegressor``
    (e.g. ``n_estimators``, ``min_samples_leaf``, ``max_features``). Trees are grown on
    ``n_jobs = n_threads`` threads (default :func:`default_threads`; an explicit
    ``n_jobs=`` in ``**params`` wins); predictions add the trees in order on one thread,
    so the model and its predictions are the same whatever the count.
    """
    n_threads = _check_threads(n_threads)
    params.setdefault("n_jobs", n_threads if n_threads is not None else default_threads())
    return _fit_seeded(RandomForestRegressor, formula, data, weights, seed, n_threads, params)


def _fit_seeded(cls, formula, data, weights, seed, n_threads, params) -> SklearnModel:
    """Build ``cls(random_state=seed, **params)`` (ModelError naming a bad parameter), fit it."""
    try:
        est = cls(random_state=seed, **params)
    except TypeError as err:
        raise ModelError(f"bad {cls.__name__} parameter: {err}") from err
    return SklearnModel(est, formula, n_threads=n_threads).fit(data, weights=weights)
