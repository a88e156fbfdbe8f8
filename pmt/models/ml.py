"""Machine-learning benchmarks for PMT models: gradient boosting, random forests and any
scikit-learn regressor, on the same design matrix as the linear models.

These models are for *comparison* (how much ranking accuracy do flexible models add?).
They have no coefficients: ``.params`` and ``.bse`` raise :class:`NoCoefficientsError` (a
ModelError that is also an AttributeError, so ``hasattr(m, "params")`` is False) and
``.to_dict()`` raises ModelError, because they cannot become scorecards, and they cannot
be saved as JSON artifacts (pmt never pickles models). Everything else follows the common
model interface: ``predict(df)`` on the formula's scale, ``nobs``, ``n_dropped``,
``summary()``, ``terms``, ``model_type == "sklearn"``.

scikit-learn estimators
-----------------------
:class:`PMTGradientBoosting`, :class:`PMTRandomForest` and :class:`SklearnModel` (any
regressor) derive from ``BaseEstimator`` and ``RegressorMixin``: ``get_params`` /
``set_params``, ``clone``, ``Pipeline``, ``GridSearchCV``. ``X`` is the household
DataFrame (the formula selects and codes its columns); ``fit(X, y=None,
sample_weight=None)`` reads ``y`` from the formula's left side unless given; ``predict(X)``
returns a Series on ``X``'s index; ``score`` is the (weighted) R^2 of the left side.
:func:`gradient_boosting` and :func:`random_forest` return fitted estimators of these
classes. The scikit-learn estimator checks that feed numpy arrays as ``X`` do not apply
(arrays are refused with a ModelError); ``tests/test_ml_estimator.py`` runs those that do.

The design matrix comes from pmt's :class:`~pmt.models.formula.Design` (the same
columns, dummies and base levels as ``pmt.ols`` with the same formula), so the
comparison is on equal information. Randomness: scikit-learn takes an integer
``random_state``; ``seed=`` is passed there (same seed, same model).

Threads
-------
``n_threads=None`` (the default) is one thread (:func:`default_threads`); pass an
integer to ask for more, e.g. ``n_threads=os.cpu_count()`` on an otherwise idle machine.
The count is applied with ``threadpoolctl`` (OpenMP and BLAS) while fitting and
predicting, and as ``n_jobs`` for random forests (an explicit ``n_jobs`` wins). Why one:
HistGradientBoosting's OpenMP threads synchronise thousands of times per fit and spin
while waiting, so when anything else competes for the cores every barrier waits for a
descheduled thread. On this project's shared 2-core machine the boosting wrapper with
both cores took 1.9 to 9 times as long in wall time as with one (issues 12 and 18,
``python -m benchmarks ml_threads``), and a fit inside a cross-validation worker or a
report pipeline always competes with something. Results do not depend on the thread
count: scikit-learn's histogram boosting is deterministic across threads, forest trees
are grown from per-tree seeds, and forest predictions are summed in tree order on one
thread (the threaded sum of scikit-learn adds trees in completion order and differs in
the last bits).
"""

from __future__ import annotations

import copy
import numbers
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone, is_regressor
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.exceptions import NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.utils.validation import has_fit_parameter
from threadpoolctl import ThreadpoolController

from pmt._deprecation import renamed_arguments
from pmt.errors import ModelError
from pmt.models.base import prediction_matrix, prepare
from pmt.models.formula import parse_formula

__all__ = [
    "NoCoefficientsError",
    "PMTGradientBoosting",
    "PMTRandomForest",
    "SklearnModel",
    "default_threads",
    "gradient_boosting",
    "random_forest",
]

#: Threads of the ML wrappers when ``n_threads=None`` (:func:`default_threads`).
DEFAULT_THREADS = 1


_CONTROLLER: ThreadpoolController | None = None


def _controller(refresh: bool = False) -> ThreadpoolController:
    """The threadpoolctl view of the loaded OpenMP/BLAS runtimes.

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


def default_threads() -> int:
    """Threads the ML wrappers use when ``n_threads=None``: :data:`DEFAULT_THREADS` (1).

    One thread is the fastest wall time whenever another process competes for the cores
    (see the module docstring); ask for more with ``n_threads=``.
    """
    return DEFAULT_THREADS


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


class NoCoefficientsError(ModelError, AttributeError):
    """``.params``/``.bse`` of a machine-learning model: a ModelError that is also an
    AttributeError, so ``hasattr(model, "params")`` is False (as for any scikit-learn
    estimator) while the message still says why.
    """


class NotFittedModelError(ModelError, NotFittedError):
    """A pmt ML estimator used before ``fit``: a ModelError and scikit-learn's
    NotFittedError (hence also an AttributeError).
    """


class _FormulaRegressor(RegressorMixin, BaseEstimator):
    """Shared machinery of the formula-based scikit-learn estimators of pmt.

    ``X`` is the household DataFrame; the formula selects and codes its columns (pmt's
    :class:`~pmt.models.formula.Design`: the columns, dummies and base levels of
    ``pmt.ols`` with the same formula, without the intercept). ``y`` defaults to the
    formula's left side. Subclasses define ``_make_estimator(threads)`` (a fresh, unfitted
    scikit-learn regressor built from the parameters) and ``_inner_name()``.
    """

    model_type = "sklearn"

    # --- scikit-learn protocol ----------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False  # y comes from the formula's left side
        return tags

    def _make_estimator(self, threads: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _inner_name(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- fitting ------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y=None, sample_weight=None, *, weights=None):
        """Fit on the household DataFrame ``X`` (rows with missing values are dropped,
        counted and warned about).

        ``y`` (optional, one value per row of ``X``) replaces the formula's left side;
        by default the left side is read from ``X``. ``sample_weight`` (scikit-learn's
        name) or ``weights`` (pmt's): a column name of ``X`` or an array of its length,
        passed to the estimator as ``sample_weight``; estimators whose ``fit`` has no
        ``sample_weight`` raise ModelError when weights are given.
        """
        if not isinstance(self.formula, str) or "~" not in self.formula:
            raise ModelError(
                f"{type(self).__name__} needs formula= (e.g. \"log_pcc ~ rooms + car + "
                f"C(region)\"); got {self.formula!r}."
            )
        if weights is not None and sample_weight is not None:
            raise ModelError("give weights= or sample_weight=, not both (they are the same).")
        w = weights if weights is not None else sample_weight
        if isinstance(w, pd.Series):
            w = w.to_numpy()  # positional: a fold's Series keeps its own index
        threads = self.threads()
        data, formula = _with_target(X, y, self.formula)
        prep = prepare(formula, data, weights=w)
        assert prep.y is not None  # prepare() requires a left-hand side by default, so y is set
        cols = [j for j, t in enumerate(prep.design.terms) if t.kind != "intercept"]
        if not cols:
            raise ModelError(f"formula {self.formula!r} has no proxies to learn from.")
        Xm = prep.X[:, cols]
        est = self._make_estimator(threads)
        kwargs = {}
        if prep.weights is not None:
            if not has_fit_parameter(est, "sample_weight"):
                raise ModelError(
                    f"{type(est).__name__}.fit does not take sample_weight; fit it without "
                    "weights= or choose an estimator that supports weights."
                )
            kwargs["sample_weight"] = prep.weights
        _controller(refresh=True)
        with _limit_threads(threads):
            est.fit(Xm, prep.y, **kwargs)
        wts = np.ones(prep.nobs) if prep.weights is None else prep.weights
        self.design_ = prep.design
        self.feature_columns_ = cols
        self.estimator_ = est
        self.n_threads_ = threads
        self.nobs_ = prep.nobs
        self.n_dropped_ = prep.n_dropped
        self.weighted_nobs_ = float(wts.sum())
        # the in-sample R^2 needs a prediction of the training rows, as long as a tenth of
        # the fit; cross-validation never asks for it, so it is computed on first use
        self.rsquared_: float | None = None
        self._training_rows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = (
            Xm, prep.y, wts)
        return self

    def _in_sample_r2(self) -> float:
        """The weighted in-sample R^2, computed once on first use (see :meth:`fit`)."""
        self._check_fitted()
        if self.rsquared_ is None:
            assert self._training_rows is not None  # set by fit with rsquared_ = None
            Xm, y, wts = self._training_rows
            with _limit_threads(self.threads()):
                fitted = np.asarray(_sequential_predictor(self.estimator_).predict(Xm),
                                    dtype=float)
            self.rsquared_ = _weighted_r2(y, fitted, wts)
            self._training_rows = None
        return self.rsquared_

    def threads(self) -> int:
        """Thread cap for the next fit or prediction (``n_threads`` or the default)."""
        n = _check_threads(self.n_threads)
        return n if n is not None else default_threads()

    def _check_fitted(self):
        if getattr(self, "estimator_", None) is None:
            raise NotFittedModelError(
                f"this {type(self).__name__} is not fitted yet: call .fit(data) first."
            )

    def _fitted(self, name: str):
        self._check_fitted()
        return getattr(self, name)

    # --- the common pmt model interface -------------------------------------------------
    design = property(lambda self: self._fitted("design_"), doc="pmt Design of the fit.")
    nobs = property(lambda self: self._fitted("nobs_"), doc="Rows used by the fit.")
    n_dropped = property(lambda self: self._fitted("n_dropped_"), doc="Rows left out.")
    weighted_nobs = property(lambda self: self._fitted("weighted_nobs_"), doc="Sum of weights.")
    rsquared = property(
        lambda self: self._in_sample_r2(),
        doc="Weighted in-sample R^2 (optimistic for flexible models; compare out of sample).",
    )

    @property
    def formula_text(self) -> str:
        return self.formula

    @property
    def feature_names(self) -> list[str]:
        """Design columns the estimator sees (term names as in pmt.ols, no intercept)."""
        self._check_fitted()
        return [self.design_.term_names[j] for j in self.feature_columns_]

    @property
    def terms(self) -> pd.DataFrame:
        self._check_fitted()
        return self.design_.terms_table().loc[self.feature_names]

    @property
    def params(self):
        raise NoCoefficientsError(_NO_COEF.format(kind=self._inner_name()))

    @property
    def bse(self):
        raise NoCoefficientsError(_NO_COEF.format(kind=self._inner_name()))

    def coef_table(self, labels=None):
        raise ModelError(_NO_COEF.format(kind=self._inner_name()))

    def to_dict(self):
        raise ModelError(_NO_COEF.format(kind=self._inner_name()))

    def matrix(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix of complete rows and the mask of those rows."""
        self._check_fitted()
        if not isinstance(data, pd.DataFrame):
            raise ModelError(_NOT_A_FRAME.format(kind=type(self).__name__, got=type(data).__name__))
        X, mask = prediction_matrix(self.design_, data, stacklevel=3)
        return X[:, self.feature_columns_], mask

    def predict(
        self,
        X: pd.DataFrame,
        scale: Literal["model", "level"] = "model",
        retransform: str | None = None,
    ) -> pd.Series:
        """Predict on the formula's scale; ``scale="level"`` is exp of it (``"none"`` only).

        Returns a Series on ``X``'s index (NaN where a proxy is missing). A smearing or
        normal retransformation from in-sample residuals would be biased for flexible
        models that fit the training data closely, so only the plain exp is offered.
        """
        Xm, mask = self.matrix(X)
        out = np.full(len(X), np.nan)
        if Xm.shape[0]:
            with _limit_threads(self.threads()):
                out[mask] = np.asarray(
                    _sequential_predictor(self.estimator_).predict(Xm), dtype=float
                )
        pred = pd.Series(out, index=X.index, name=f"pred_{self.design_.lhs}")
        if scale == "model":
            return pred
        if scale != "level":
            raise ModelError(f"scale must be 'model' or 'level'; got {scale!r}.")
        if retransform not in (None, "none"):
            raise ModelError(
                f"retransform={retransform!r} is not available for {self._inner_name()}:"
                " only 'none' (in-sample residuals of a flexible model understate the error)."
            )
        return np.exp(pred).rename("pred_level_none")

    def linear_predictor(self, data: pd.DataFrame) -> pd.Series:
        """Same as ``predict(data)`` (no linear index exists; kept for a uniform interface)."""
        return self.predict(data)

    def score(self, X: pd.DataFrame, y=None, sample_weight=None) -> float:
        """Weighted R^2 of predictions for the rows of ``X`` (scikit-learn scorer protocol).

        ``y`` defaults to the formula's left side in ``X``; ``sample_weight`` is an array
        or a column name of ``X``. Rows without a prediction or outcome are left out.
        """
        pred = self.predict(X).to_numpy()
        if y is None:
            y = X[self.design_.lhs]
        y = np.asarray(y, dtype=float).ravel()
        if isinstance(sample_weight, str):
            sample_weight = X[sample_weight]
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        ok = np.isfinite(pred) & np.isfinite(y)
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
        variables = self.design_.variables
        prep = prepare(self.formula, data, weights=weights, design=self.design_)
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


_NOT_A_FRAME = (
    "{kind} takes the household DataFrame as X (the formula selects its columns); got "
    "{got}. For plain arrays use the scikit-learn estimator itself."
)
_TARGET = "_pmt_target"


def _with_target(X, y, formula: str) -> tuple[pd.DataFrame, str]:
    """``X`` (a DataFrame) and the formula, with ``y`` (if given) as the left side."""
    if not isinstance(X, pd.DataFrame):
        raise ModelError(_NOT_A_FRAME.format(kind="a pmt ML estimator", got=type(X).__name__))
    if y is None:
        return X, formula
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != len(X):
        raise ModelError(f"y has {y.shape[0]} values for {len(X)} rows of X; give one per row.")
    lhs = parse_formula(formula, require_lhs=False).lhs
    if lhs is None:
        lhs, formula = _TARGET, f"{_TARGET} {formula.strip()}"
    return X.assign(**{lhs: y}), formula


class SklearnModel(_FormulaRegressor):
    """Any scikit-learn regressor fitted on a pmt formula's design matrix; itself a
    scikit-learn estimator (``get_params``/``set_params``, ``clone``, ``Pipeline``,
    ``GridSearchCV`` with ``estimator__<param>`` grids).

    Parameters
    ----------
    estimator : scikit-learn regressor
        Any regressor (``HistGradientBoostingRegressor()``, ``RandomForestRegressor()``,
        a Pipeline...). It is cloned at each fit, so the instance passed in is left
        untouched.
    formula : str
        ``"log_pcc ~ rooms + car + C(region)"``; the design columns are those pmt.ols
        builds (the intercept column is left out: regressors fit their own constant).
    n_threads : int, optional
        Cap on OpenMP/BLAS threads while fitting and predicting (threadpoolctl). None
        (default): one thread (:func:`default_threads`); give a larger count to ask for
        more. On a shared machine HistGradientBoosting with all threads can be many
        times slower than with one. Results are the same whatever the count.

    Call :meth:`fit` (``fit(df)``, ``fit(df, weights="weight")`` or scikit-learn's
    ``fit(X, y=None, sample_weight=None)``) before predicting. After fitting:
    ``estimator_`` (the fitted clone), ``design``, ``nobs``, ``n_dropped``,
    ``weighted_nobs``, ``rsquared`` (weighted, in-sample: optimistic for flexible models;
    compare out of sample), ``n_threads_`` (threads used by the fit).
    """

    def __init__(self, estimator=None, formula: str | None = None, n_threads: int | None = None):
        if estimator is not None:
            if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
                raise ModelError(
                    f"estimator {estimator!r} is not a scikit-learn estimator (needs "
                    "fit/predict)."
                )
            if not is_regressor(estimator):
                warnings.warn(
                    f"{type(estimator).__name__} is not tagged as a regressor; predictions "
                    "are used as they come.",
                    stacklevel=2,
                )
        _check_threads(n_threads)
        self.estimator = estimator
        self.formula = formula
        self.n_threads = n_threads

    def _inner_name(self) -> str:
        return type(self.estimator).__name__

    def _make_estimator(self, threads: int):
        if self.estimator is None:
            raise ModelError(
                "SklearnModel needs estimator= (a scikit-learn regressor, e.g. "
                "HistGradientBoostingRegressor())."
            )
        return clone(self.estimator)


class _Ensemble(_FormulaRegressor):
    """A formula estimator whose parameters are those of one scikit-learn class ``_inner``
    (plus ``formula`` and ``n_threads``); each fit builds a fresh ``_inner``.
    """

    _inner: type[Any]  # an sklearn estimator class

    def _inner_name(self) -> str:
        return self._inner.__name__

    def _inner_params(self) -> dict:
        return {k: getattr(self, k) for k in self._inner._get_param_names()}

    def _make_estimator(self, threads: int):
        return self._inner(**self._inner_params())


class PMTGradientBoosting(_Ensemble):
    """Histogram gradient boosting on a pmt formula: a scikit-learn estimator.

    ``formula`` selects and codes the columns of the household DataFrame; every other
    parameter is ``HistGradientBoostingRegressor``'s, with the same default except
    ``random_state=0`` (pmt's seed default; same seed, same model). ``n_threads`` as in
    :class:`SklearnModel`. Each fit builds a fresh regressor, so ``warm_start`` has no
    effect across fits. ``GridSearchCV(PMTGradientBoosting(f), {"max_iter": [50, 100]},
    cv=GroupKFold(5)).fit(df, groups=df["psu"])`` tunes it with PSU folds (default
    scoring: weighted R^2 of the formula's left side, see :meth:`score`).
    """

    _inner = HistGradientBoostingRegressor

    def __init__(
        self,
        formula: str | None = None,
        *,
        loss="squared_error",
        quantile=None,
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=31,
        max_depth=None,
        min_samples_leaf=20,
        l2_regularization=0.0,
        max_features=1.0,
        max_bins=255,
        categorical_features="from_dtype",
        monotonic_cst=None,
        interaction_cst=None,
        warm_start=False,
        early_stopping="auto",
        scoring="loss",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-7,
        verbose=0,
        random_state=0,
        n_threads: int | None = None,
    ):
        self.formula = formula
        self.loss = loss
        self.quantile = quantile
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.max_bins = max_bins
        self.categorical_features = categorical_features
        self.monotonic_cst = monotonic_cst
        self.interaction_cst = interaction_cst
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.n_threads = n_threads



class PMTRandomForest(_Ensemble):
    """Random forest on a pmt formula: a scikit-learn estimator.

    Parameters are ``RandomForestRegressor``'s (same defaults) plus ``formula`` and
    ``n_threads``, except ``random_state=0`` and ``n_jobs=None``, which here means
    ``n_threads`` (default one, :func:`default_threads`); an explicit ``n_jobs``
    wins. Trees are grown from per-tree seeds and predictions add them in
    order on one thread, so the model and its predictions do not depend on the count.
    """

    _inner = RandomForestRegressor

    def __init__(
        self,
        formula: str | None = None,
        *,
        n_estimators=100,
        criterion="squared_error",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features=1.0,
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=0,
        verbose=0,
        warm_start=False,
        ccp_alpha=0.0,
        max_samples=None,
        monotonic_cst=None,
        n_threads: int | None = None,
    ):
        self.formula = formula
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples
        self.monotonic_cst = monotonic_cst
        self.n_threads = n_threads

    def _make_estimator(self, threads: int):
        params = self._inner_params()
        if params["n_jobs"] is None:
            params["n_jobs"] = threads
        return self._inner(**params)


def _weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    ybar = np.sum(w * y) / w.sum()
    return float(1 - np.sum(w * (y - pred) ** 2) / np.sum(w * (y - ybar) ** 2))


@renamed_arguments(
    positional=("weights", "seed", "n_threads"),
)
def gradient_boosting(
    formula: str,
    data: pd.DataFrame,
    *,
    weights=None,
    seed: int = 0,
    n_threads: int | None = None,
    **params,
) -> PMTGradientBoosting:
    """Histogram gradient boosting (scikit-learn ``HistGradientBoostingRegressor``).

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters
    ----------
    formula, data, weights
        As in :func:`pmt.ols` (weights are sample weights).
    seed : int
        ``random_state`` (early-stopping split and binning subsample).
    n_threads : int, optional
        OpenMP thread cap; None (default) is one thread (:func:`default_threads`, see
        the module docstring); ask for more with an integer. Same model whatever the
        count.
    **params
        Passed to ``HistGradientBoostingRegressor`` (e.g. ``max_iter``, ``learning_rate``,
        ``max_leaf_nodes``).

    Returns
    -------
    PMTGradientBoosting
        A fitted scikit-learn estimator: ``predict(df)`` on the formula's scale; no
        params/bse (see the module docstring); ``clone`` it to refit.
    """
    return _fit_seeded(PMTGradientBoosting, formula, data, weights, seed, n_threads, params)


@renamed_arguments(
    positional=("weights", "seed", "n_threads"),
)
def random_forest(
    formula: str,
    data: pd.DataFrame,
    *,
    weights=None,
    seed: int = 0,
    n_threads: int | None = None,
    **params,
) -> PMTRandomForest:
    """Random forest (scikit-learn ``RandomForestRegressor``).

    Arguments after ``data`` are keyword-only (passing them by position still works for
    one release, with a FutureWarning).

    Parameters as :func:`gradient_boosting`; ``**params`` go to ``RandomForestRegressor``
    (e.g. ``n_estimators``, ``min_samples_leaf``, ``max_features``). Trees are grown on
    ``n_jobs = n_threads`` threads (default one, :func:`default_threads`; an explicit
    ``n_jobs=`` in ``**params`` wins); predictions add the trees in order on one thread,
    so the model and its predictions are the same whatever the count. Returns a fitted
    :class:`PMTRandomForest`.
    """
    return _fit_seeded(PMTRandomForest, formula, data, weights, seed, n_threads, params)


def _fit_seeded(cls, formula, data, weights, seed, n_threads, params):
    """Build ``cls(formula, random_state=seed, **params)`` (ModelError naming a bad
    parameter) and fit it.
    """
    try:
        model = cls(formula, random_state=seed, n_threads=n_threads, **params)
    except TypeError as err:
        raise ModelError(f"bad {cls._inner.__name__} parameter: {err}") from err
    return model.fit(data, weights=weights)
