"""Out-of-sample validation and side-by-side comparison of targeting models.

A model is given as a **fit callable**: ``fit(train_df) -> fitted`` where ``fitted`` has
``.predict(test_df)`` returning one score per row. Every pmt model fits this
(``lambda d: pmt.ols(formula, d, weights="weight")``), so do quantile regression, probit,
Heckman and hybrid means tests, and scikit-learn estimators through :func:`sklearn_fit`.

Scores are predicted welfare on the scale of the ``welfare`` column (lower = poorer): for a
model of log per-capita consumption pass ``welfare="log_pcc"`` and absolute lines in logs
(poverty status is unchanged by the monotone log). Models whose score rises with need, such
as a probit of being poor, say so with ``higher_is_poorer`` (an argument, or an attribute
``higher_is_poorer = True`` on the fitted object).

Poverty lines are absolute (``lines``: poor if y < z) or relative (``shares``: poor if
y <= the weighted quantile of y at q in the **whole** sample, so a household's status does
not depend on the fold it falls in). Predicted poor follow the "line" rule (score below
the line; for need scores, probability >= ``probability_cutoff``) or the "rate" rule
(Brown, Ravallion and van de Walle 2018: in each evaluation sample the poorest share of
scores equal to that sample's weighted poverty rate; tie groups are not split).

**Cross-fitting** (:func:`cross_fit`) scores every household with the model fitted
without its fold, so each household gets one out-of-sample prediction per model.
:func:`compare` evaluates models on these cross-fitted predictions by default and
bootstraps them over PSUs with one set of replicates shared by all models, giving every
model and every model difference an out-of-sample estimate with a paired design-based
interval (the fold models are held fixed across replicates: see :func:`compare`).
:func:`cross_validate` reports the spread of per-fold results as ``fold_min``/``fold_max``
(a handful of values, not a confidence interval) and, with ``interval="bootstrap"``, the
same design-based interval as :func:`compare`.

Folds hold **whole PSUs** and are balanced within strata: in every stratum the PSUs are
shuffled and dealt to the folds in turn from a random starting fold, so each fold gets
floor or ceil(n_h / k) of the stratum's PSUs. (scikit-learn's StratifiedGroupKFold
stratifies by a class label per row and balances household counts, not PSUs per stratum,
so we deal the PSUs ourselves.) Repeats use seeds derived from ``seed`` and the repeat
number only, so results do not depend on ``n_jobs`` or the Dask client.

This module was ``pmt.evaluate.validation``; it was renamed because "validate" elsewhere in
pmt means checking inputs (:mod:`pmt._validation`). The old path still imports (a shim).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from pmt._validation import column_or_array
from pmt.errors import DataError, ModelError, example_rows
from pmt.evaluate._parallel import run_tasks
from pmt.evaluate.bootstrap_cutoffs import (
    _need_flags,
    benefit_costs,
    bootstrap_overlap,
    bootstrap_targeting,
)
from pmt.evaluate.classify import rate_cutoff
from pmt.evaluate.curves import _roc_auc_arrays
from pmt.evaluate.metrics import Unit, metrics_from_totals, totals
from pmt.progress import Progress
from pmt.survey import Survey, weighted_quantile

Rule = Literal["line", "rate"]

__all__ = ["Rule", "compare", "cross_fit", "cross_validate", "psu_folds", "sklearn_fit"]


# --- folds ------------------------------------------------------------------------------
def psu_folds(survey: Survey, n_folds: int = 5, seed=0) -> np.ndarray:
    """Fold number (0..n_folds-1) of every household; whole PSUs, balanced within strata.

    Parameters
    ----------
    survey : pmt.Survey
        Supplies the strata and PSU codes (every household is its own PSU without a psu
        column).
    n_folds : int
        Number of folds (>= 2, at most the number of PSUs).
    seed : int or sequence of int
        Seed of the numpy Generator.
    """
    if int(n_folds) != n_folds or n_folds < 2:
        raise DataError(f"`n_folds` must be an integer >= 2; got {n_folds!r}.")
    if survey.n_psu < n_folds:
        raise DataError(
            f"{survey.n_psu} PSUs cannot be split into {n_folds} folds of whole PSUs: "
            "use fewer folds."
        )
    rng = np.random.default_rng(seed)
    psu_stratum = np.zeros(survey.n_psu, dtype=np.int64)
    psu_stratum[survey.psu_codes] = survey.strata_codes
    fold_of_psu = np.empty(survey.n_psu, dtype=np.int64)
    for h in range(int(psu_stratum.max()) + 1):
        members = np.flatnonzero(psu_stratum == h)
        if members.size == 0:
            continue
        order = rng.permutation(members)
        start = rng.integers(n_folds)
        fold_of_psu[order] = (start + np.arange(order.size)) % n_folds
    return fold_of_psu[survey.psu_codes]


def sklearn_fit(estimator, formula: str, weights=None) -> Callable:
    """Fit callable for a scikit-learn regressor on a pmt formula's design matrix.

    Uses :class:`pmt.models.ml.SklearnModel` (the estimator is cloned at every fit), so
    ``cross_validate({"gbm": sklearn_fit(HistGradientBoostingRegressor(), f, "weight")})``
    works like any pmt model.
    """

    def fit(train: pd.DataFrame):
        from pmt.models.ml import SklearnModel

        return SklearnModel(estimator, formula).fit(train, weights=weights)

    return fit


# --- one evaluation ---------------------------------------------------------------------
def _predict(fitted, test: pd.DataFrame, name: str) -> np.ndarray:
    if not hasattr(fitted, "predict"):
        raise ModelError(
            f"model {name!r}: the fit callable returned {type(fitted).__name__}, which has no "
            ".predict(df); return a fitted model."
        )
    pred = fitted.predict(test)
    arr = np.asarray(pred, dtype=float).ravel()
    if arr.shape[0] != len(test):
        raise ModelError(
            f"model {name!r} predicted {arr.shape[0]} values for {len(test)} rows."
        )
    return arr


def _fit_predict(task) -> tuple[np.ndarray, bool | None]:
    name, fit, train, test = task
    fitted = fit(train)
    return _predict(fitted, test, name), getattr(fitted, "higher_is_poorer", None)


def _fit_predict_splits(fits: dict, data: pd.DataFrame, test_masks: list, n_jobs, client,
                        desc: str) -> list[tuple[np.ndarray, bool | None]]:
    """``_fit_predict`` of every model on every split, split by split, models fastest.

    A mask selects a split's test rows (trained on the others); None fits and predicts
    all of ``data``. Each split's (train, test) frames are sliced once and shared by all
    models (a fit callable must not modify its training frame, as for ``data`` itself).
    Run here, one split's frames are alive at a time; in parallel every task is pickled
    for its worker anyway, so the frames are sliced up front.
    """
    def frames(mask):
        return (data, data) if mask is None else (data.loc[~mask], data.loc[mask])

    if client is not None or n_jobs != 1:
        split_frames = [frames(m) for m in test_masks]
        tasks = [(name, fit, train, test) for train, test in split_frames
                 for name, fit in fits.items()]
        return run_tasks(_fit_predict, tasks, n_jobs, client, desc=desc)
    results = []
    with Progress(desc, total=len(test_masks) * len(fits)) as bar:
        for mask in test_masks:
            train, test = frames(mask)
            for name, fit in fits.items():
                results.append(_fit_predict((name, fit, train, test)))
                bar.update()
            del train, test  # release this split's frames before slicing the next
    return results


def _evaluate(y, score, v, lines, rule: str, need: bool, prob_cut: float) -> dict:
    """Metrics (and AUC) for each line; ``lines`` = [(label, threshold on y)] with y < z
    (absolute) or y <= c (relative) encoded by the label kind.
    """
    out = {}
    s_score = -score if need else score
    for label, kind, z, _ in lines:
        poor = (y < z) if kind == "line" else (y <= z)
        if rule == "line":
            if need:
                sel = score >= prob_cut
            else:
                sel = score < z if kind == "line" else score <= z
        else:
            rate = v[poor].sum() / v.sum()
            if rate <= 0:
                sel = np.zeros_like(poor)
            elif rate >= 1:
                sel = np.ones_like(poor)
            else:
                sel = s_score <= rate_cutoff(s_score, v, rate)
        m: dict[str, Any] = metrics_from_totals(totals(poor, sel, v).sum(axis=0))
        m["auc"] = _auc(poor, s_score, v)
        out[label] = {k: float(val) for k, val in m.items()}
    return out


def _auc(poor: np.ndarray, score: np.ndarray, v: np.ndarray) -> float:
    """Weighted ROC AUC of classifying the poor by a low score (ties count one half).

    pmt's one AUC, :func:`pmt.evaluate.roc_auc` (its array form).
    """
    return _roc_auc_arrays(poor, score, v)


def _models(models) -> dict[str, Callable]:
    if callable(models):
        return {"model": models}
    if isinstance(models, Mapping) and models:
        bad = [k for k, f in models.items() if not callable(f)]
        if bad:
            raise ModelError(
                f"models {bad} are not callables; pass fit functions train_df -> fitted model."
            )
        return {str(k): f for k, f in models.items()}
    raise ModelError("`models` must be a fit callable or a non-empty {name: fit callable}.")


def _survey(data, survey, weight, size, strata, psu) -> Survey:
    if survey is not None:
        if not isinstance(survey, Survey):
            raise DataError("`survey` must be a pmt.Survey.")
        if survey.data is not data and not survey.data.index.equals(data.index):
            raise DataError("`survey` was built on other data than `data`.")
        return survey
    return Survey(data, weight, size, strata, psu)


def _line_specs(y: np.ndarray, v: np.ndarray, lines, shares) -> list[tuple]:
    """[(label, "line" or "share", threshold on y, share or None)]."""
    specs: list[tuple] = []
    for z in np.atleast_1d(lines if lines is not None else []):
        z = float(z)
        if not np.isfinite(z):
            raise DataError(f"`lines` must be finite numbers; got {z!r}.")
        specs.append((f"line={z:g}", "line", z, None))
    for q in np.atleast_1d(shares if shares is not None else []):
        q = float(q)
        if not 0 < q < 1:
            raise DataError(f"`shares` must lie in (0, 1), e.g. 0.2 and 0.4; got {q!r}.")
        specs.append((f"poorest {100 * q:g}%", "share", weighted_quantile(y, v, q), q))
    if not specs:
        raise DataError("give poverty lines: `lines` (absolute) and/or `shares` (e.g. [0.2, 0.4]).")
    return specs


def _rules(rule, allowed=("line", "rate")) -> list[str]:
    rules = [rule] if isinstance(rule, str) else list(rule)
    bad = [r for r in rules if r not in allowed]
    if bad or not rules:
        names = ", ".join(repr(a) for a in allowed)
        raise DataError(f"`rule` must be one or several of {names}; got {rule!r}.")
    return list(dict.fromkeys(rules))


# --- cross-fitting ----------------------------------------------------------------------
def _fold_labels(data: pd.DataFrame, sv: Survey | None, n_folds, seed, folds):
    """(labels in hold-out order, label per household) of the cross-fitting folds."""
    if folds is None:
        assert sv is not None  # both callers build the survey whenever folds is None
        codes = psu_folds(sv, n_folds, np.random.SeedSequence([seed, 0]))
        return list(range(int(n_folds))), codes
    if isinstance(folds, str):
        if folds not in data.columns:
            raise DataError(f"`folds` column '{folds}' is not in the data.")
        lab = data[folds]
    else:
        lab = pd.Series(np.asarray(folds), index=data.index) if not isinstance(
            folds, pd.Series) else folds
        if len(lab) != len(data):
            raise DataError(
                f"`folds` has {len(lab)} values for {len(data)} households: pass one fold "
                "label per household or a column name."
            )
        if isinstance(folds, pd.Series) and not folds.index.equals(data.index):
            raise DataError("`folds` is a Series whose index differs from the data's.")
    if lab.isna().any():
        raise DataError(
            f"`folds` has {int(lab.isna().sum())} missing labels at "
            f"{example_rows(data.index[lab.isna().to_numpy()])}."
        )
    levels = sorted(pd.unique(lab), key=str)
    if len(levels) < 2:
        raise DataError("`folds` has a single label: cross-fitting needs at least two folds.")
    return levels, lab.to_numpy()


def _cross_fit(fits: dict, data: pd.DataFrame, levels, labels, need: dict, n_jobs, client):
    """Cross-fitted predictions {name: array} and orientation {name: bool}."""
    masks = [labels == lev for lev in levels]
    results = _fit_predict_splits(fits, data, masks, n_jobs, client, desc="cross-fitting")
    preds = {name: np.full(len(data), np.nan) for name in fits}
    flags: dict[str, set] = {name: set() for name in fits}
    for j, m in enumerate(masks):
        for i, name in enumerate(fits):
            pred, flag = results[j * len(fits) + i]
            preds[name][m] = pred
            flags[name].add(need[name] if flag is None else bool(flag))
    orient = {}
    for name, fl in flags.items():
        if len(fl) > 1:
            raise ModelError(
                f"model {name!r}: the fold fits disagree about `higher_is_poorer`; make the "
                "fit callable return models of one orientation."
            )
        orient[name] = fl.pop()
    return preds, orient


def cross_fit(
    models,
    data: pd.DataFrame,
    *,
    n_folds: int = 5,
    seed=0,
    folds=None,
    survey: Survey | None = None,
    weight: str | None = None,
    size: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
    higher_is_poorer: bool | Mapping[str, bool] = False,
    n_jobs: int = 1,
    client=None,
) -> pd.DataFrame:
    """Cross-fitted (out-of-sample) predictions: each household scored by a model fitted
    without its fold.

    The sample is split into folds of whole PSUs, balanced within strata (the folds of
    :func:`psu_folds`, exactly those of the first repeat of :func:`cross_validate` with the
    same ``seed``: ``psu_folds(survey, n_folds, np.random.SeedSequence([seed, 0]))``).
    Every model is fitted ``n_folds`` times, each time on all folds but one, and predicts
    the held-out fold. Every household thus gets one score per model from a model that
    never saw it, so the predictions can be evaluated on the whole sample as if they came
    from new data; pass the result to :func:`compare` (as ``models``) to reuse one set of
    cross-fitted predictions for several tables.

    Parameters
    ----------
    models : callable or mapping
        ``fit(train_df) -> fitted`` with ``fitted.predict(test_df)``, or {name: fit}.
    data : pandas.DataFrame
        One row per household with the models' variables.
    n_folds : int
        Number of folds (>= 2, at most the number of PSUs).
    seed : int
        Seed of the fold assignment.
    folds : str or array-like, optional
        A column of ``data`` (or one label per household) whose levels are the folds, e.g.
        survey rounds; replaces ``n_folds``/``seed`` and the PSU folds. Keep PSUs whole
        in it.
    survey : pmt.Survey, optional
        Design of ``data`` (strata and PSUs of the folds); otherwise built from
        ``weight``, ``size``, ``strata``, ``psu``.
    higher_is_poorer : bool or {name: bool}
        Score orientation per model; a fitted model's own ``higher_is_poorer`` attribute
        (probit/logit results have one) takes precedence, as in :func:`cross_validate`.
    n_jobs, client
        Fit in parallel (joblib processes or a dask.distributed client); the result does
        not depend on them.

    Returns
    -------
    pandas.DataFrame
        On the index of ``data``, one column of predictions per model, on the model's own
        scale and orientation (need scores are not negated). ``attrs``: ``basis``
        ("out_of_sample"), ``higher_is_poorer`` ({name: bool}, read by :func:`compare`),
        ``n_folds``, ``seed``, ``folds`` (the column name, "psu" for PSU folds).
        Households whose covariates a model cannot use get NaN (a RuntimeWarning counts
        them).

    Examples
    --------
    >>> fits = {"ols": lambda d: pmt.ols(formula, d, weights="weight"),
    ...         "gbm": lambda d: pmt.gradient_boosting(formula, d, weights="weight")}
    >>> cf = pmt.evaluate.cross_fit(fits, df, survey=sv)            # doctest: +SKIP
    >>> pmt.compare(cf, df, "log_pcc", shares=0.2, survey=sv, reference="ols")  # doctest: +SKIP
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError("`data` must be a pandas DataFrame.")
    fits = _models(models)
    need = _need_flags(higher_is_poorer, fits)
    sv = _survey(data, survey, weight, size, strata, psu) if folds is None else None
    levels, labels = _fold_labels(data, sv, n_folds, seed, folds)
    preds, orient = _cross_fit(fits, data, levels, labels, need, n_jobs, client)
    out = pd.DataFrame(preds, index=data.index)
    n_nan = {k: int(np.isnan(v).sum()) for k, v in preds.items() if np.isnan(v).any()}
    if n_nan:
        warnings.warn(
            f"cross-fitted predictions are NaN (missing covariates?) for {n_nan} households "
            "per model; drop or impute them before comparing.",
            RuntimeWarning,
            stacklevel=2,
        )
    out.attrs.update(
        basis="out_of_sample",
        higher_is_poorer=orient,
        n_folds=len(levels),
        seed=seed if folds is None else None,
        folds="psu" if folds is None else (folds if isinstance(folds, str) else "given"),
    )
    return out


def _in_sample(fits: dict, data: pd.DataFrame, need: dict, n_jobs, client) -> pd.DataFrame:
    """Predictions of every model fitted on all of ``data`` (``attrs`` as cross_fit's)."""
    results = run_tasks(_fit_predict, [(n, f, data, data) for n, f in fits.items()], n_jobs,
                        client)
    out = pd.DataFrame({name: pred for name, (pred, _) in zip(fits, results, strict=True)},
                       index=data.index)
    orient = {name: need[name] if flag is None else bool(flag)
              for name, (_, flag) in zip(fits, results, strict=True)}
    out.attrs.update(basis="in_sample", higher_is_poorer=orient, n_folds=None, seed=None,
                     folds=None)
    return out


_LINE_WARNING = (
    "rule='line' compares models at different coverage: each model selects those it "
    "predicts below the line, so one model can have fewer exclusion errors simply by "
    "selecting more people (see the 'coverage' rows). Differences mix ranking with "
    "coverage; compare at the same coverage with rule='rate' (or the same budget with "
    "rule='budget')."
)
_NOTES = {
    "line": "coverage differs by model: differences mix ranking with coverage",
    "rate": "same coverage: every model selects the poverty rate's share",
    "budget": "same budget: every model selects its poorest until the budget is spent",
    "-": "ranking only",
}


def _warn_line(rules, n_models: int, stacklevel: int = 3) -> None:
    if "line" in rules and n_models > 1:
        warnings.warn(_LINE_WARNING, UserWarning, stacklevel=stacklevel)


# --- cross-validation -------------------------------------------------------------------
def cross_validate(
    models,
    data: pd.DataFrame,
    welfare: str,
    *,
    lines: float | Sequence[float] | None = None,
    shares: float | Sequence[float] | None = None,
    rule: Rule | Sequence[Rule] = "rate",
    survey: Survey | None = None,
    weight: str | None = None,
    size: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
    unit: Unit = "person",
    n_folds: int = 5,
    n_repeats: int = 1,
    seed: int = 0,
    holdout: str | None = None,
    higher_is_poorer: bool | Mapping[str, bool] = False,
    probability_cutoff: float = 0.5,
    interval: Literal["bootstrap"] | None = None,
    n_replicates: int = 1000,
    level: float = 0.95,
    n_jobs: int = 1,
    client=None,
    return_splits: bool = False,
    return_predictions: bool = False,
    in_sample: pd.DataFrame | None = None,
):
    """In-sample and out-of-sample targeting performance of one or more models.

    Parameters
    ----------
    models : callable or mapping
        ``fit(train_df) -> fitted`` with ``fitted.predict(test_df)``, or {name: fit}.
    data : pandas.DataFrame
        One row per household with the welfare column and the model's variables.
    welfare : str
        Column of true welfare on the scale of the predictions (e.g. ``"log_pcc"``).
    lines : float or sequence, optional
        Absolute poverty lines on the welfare scale (poor if y < z).
    shares : float or sequence, optional
        Relative lines as poorest population shares, e.g. ``[0.2, 0.4]``.
    rule : {"line", "rate"} or both
        Predicted-poor rule(s) (module docstring). With several models, "line" warns
        (UserWarning): the models then select different shares of the population, so
        their error differences mix ranking with coverage (read the ``coverage`` rows).
    survey : pmt.Survey, optional
        Design of ``data``; otherwise built from ``weight``, ``size``, ``strata``, ``psu``.
    unit : {"person", "household"}
        Population shares over persons (default) or households.
    n_folds, n_repeats, seed : int
        K-fold cross-validation with whole PSUs per fold, repeated with new random splits.
    holdout : str, optional
        Column of survey rounds (years): each round is held out in turn and the model is
        trained on the others (folds and repeats are then not used).
    higher_is_poorer : bool or {name: bool}
        Score orientation per model (see the module docstring).
    probability_cutoff : float
        "line" rule for need scores: select P(poor) >= this.
    interval : {None, "bootstrap"}
        ``"bootstrap"`` adds a design-based confidence interval of out-of-sample
        performance: the test-fold predictions of the first repeat (or of the hold-out
        rounds) form one cross-fitted score per household (:func:`cross_fit`), whose
        metrics on the whole sample are bootstrapped over PSUs within strata with the
        fold models held fixed, exactly as in :func:`compare` (see there for what the
        interval covers). No model is fitted again.
    n_replicates : int
        Bootstrap replicates of ``interval="bootstrap"`` (replicate seed: ``seed``).
    level : float
        Confidence level of ``interval="bootstrap"``.
    n_jobs, client
        Fit the splits in parallel (joblib processes or a dask.distributed client).
    return_splits : bool
        Also return the metric of every split (model, line, rule, metric, repeat, fold).
    return_predictions : bool
        Also return the cross-fitted predictions of the first repeat (or of the hold-out
        rounds): exactly what :func:`cross_fit` with the same ``seed`` and ``n_folds``
        returns (same folds, same fits), so a caller that needs both fits every fold once.
    in_sample : pandas.DataFrame, optional
        Predictions of the models fitted on all of ``data``, one column per model on its
        index (e.g. of models already fitted): used for the ``in_sample`` column instead
        of fitting every model once more.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per model x line x rule x metric (the section-4 metrics and ``auc``):
        ``in_sample`` (fitted and evaluated on all data), ``oos_mean`` (mean over the test
        folds of all repeats), ``oos_sd`` (their standard deviation), ``fold_min`` and
        ``fold_max`` (the lowest and highest test-fold value: the spread of a handful of
        fold results, **not** a confidence interval), ``n_splits``, ``n_missing`` (test
        predictions that were NaN, e.g. for missing covariates; those households are left
        out of that split's metrics and counted here, with a warning).

        With ``interval="bootstrap"`` also ``oos_estimate`` (the metric of the pooled
        cross-fitted predictions on the whole sample; the "rate" rule then uses the whole
        sample's poverty rate, where ``oos_mean`` averages per-fold rates), ``oos_se``,
        ``oos_lower``/``oos_upper`` (the design-based percentile interval at ``level``)
        and ``level``. For ``auc`` only ``oos_estimate`` is given.

        With ``return_splits`` and/or ``return_predictions`` a tuple: the table, then the
        split metrics, then the predictions (a DataFrame as :func:`cross_fit` returns).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError("`data` must be a pandas DataFrame.")
    y = column_or_array(welfare, data, name="welfare")
    fits = _models(models)
    sv = _survey(data, survey, weight, size, strata, psu)
    v = sv.weights(unit)
    specs = _line_specs(y, v, lines, shares)
    rules = _rules(rule)
    need = _need_flags(higher_is_poorer, fits)
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1); got {level!r}.")
    if interval not in (None, "bootstrap"):
        raise DataError(
            f"`interval` must be None or 'bootstrap' (a design-based confidence interval of "
            f"out-of-sample performance); got {interval!r}."
        )
    _warn_line(rules, len(fits))

    # splits: (repeat, fold label, test mask)
    splits: list[tuple[int, str, np.ndarray]] = []
    r: int | None  # repeat of a split; None for the in-sample fit (below)
    if holdout is not None:
        if holdout not in data.columns:
            raise DataError(f"holdout column '{holdout}' is not in the data.")
        rounds = data[holdout]
        if rounds.isna().any():
            raise DataError(f"holdout column '{holdout}' has missing values.")
        levels = pd.unique(rounds)
        if levels.size < 2:
            raise DataError(
                f"holdout column '{holdout}' has a single round ({levels[0]!r}); hold-out by "
                "round needs at least two."
            )
        for lev in sorted(levels, key=str):
            splits.append((0, str(lev), (rounds == lev).to_numpy()))
    else:
        if int(n_repeats) != n_repeats or n_repeats < 1:
            raise DataError(f"`n_repeats` must be a positive integer; got {n_repeats!r}.")
        for r in range(int(n_repeats)):
            folds = psu_folds(sv, n_folds, np.random.SeedSequence([seed, r]))
            for k in range(int(n_folds)):
                splits.append((r, str(k), folds == k))

    if in_sample is not None:
        if not isinstance(in_sample, pd.DataFrame) or not in_sample.index.equals(
                data.index) or set(fits) - set(in_sample.columns):
            raise DataError("`in_sample` must hold one column of whole-sample predictions "
                            f"per model ({', '.join(fits)}) on the index of `data`.")
        split_results = _fit_predict_splits(fits, data, [mask for _, _, mask in splits],
                                            n_jobs, client, desc="cross-validation fits")
        # orientation as the fold fits of the same model declare it (probit: P(poor))
        results = [(in_sample[name].to_numpy(dtype=float), split_results[i][1])
                   for i, name in enumerate(fits)] + split_results
    else:
        results = _fit_predict_splits(fits, data, [None] + [mask for _, _, mask in splits],
                                      n_jobs, client, desc="cross-validation fits")

    records = []
    n_models, n_rows = len(fits), len(data)
    orient, pooled = {}, {}
    for i, name in enumerate(fits):
        pred, flag = results[i]
        is_need = need[name] if flag is None else bool(flag)
        orient[name] = is_need
        evals: list[tuple[int | None, str, Any, np.ndarray]] = [
            (None, "in-sample", pred, np.ones(n_rows, dtype=bool))]
        pooled[name] = np.full(n_rows, np.nan)
        for j, (r, fold, mask) in enumerate(splits):
            score = results[n_models * (1 + j) + i][0]
            evals.append((r, fold, score, mask))
            if r == 0:
                pooled[name][mask] = score
        for r, fold, score, rows in evals:
            ok = ~np.isnan(score)
            n_missing = int((~ok).sum())
            if not ok.any():
                raise ModelError(f"model {name!r} predicted only NaN in split {fold!r}.")
            yy, vv, ss = y[rows][ok], v[rows][ok], score[ok]
            for rl in rules:
                vals = _evaluate(yy, ss, vv, specs, rl, is_need, probability_cutoff)
                for label, metrics in vals.items():
                    for metric, value in metrics.items():
                        records.append((name, label, rl, metric, r, fold, value, n_missing))
    long = pd.DataFrame(
        records,
        columns=["model", "line", "rule", "metric", "repeat", "fold", "value", "n_missing"],
    )
    missing_total = long.groupby("model")["n_missing"].max()
    if (missing_total > 0).any():
        warnings.warn(
            "some test predictions were NaN (missing covariates?) and were left out of the "
            f"split metrics: {missing_total[missing_total > 0].to_dict()} (see n_missing).",
            RuntimeWarning,
            stacklevel=2,
        )
    keys = ["model", "line", "rule", "metric"]
    ins = long[long["fold"] == "in-sample"].set_index(keys)["value"].rename("in_sample")
    oos = long[long["fold"] != "in-sample"]
    g = oos.groupby(keys, sort=False)["value"]
    summary = pd.DataFrame(
        {
            "oos_mean": g.mean(),
            "oos_sd": g.std(ddof=1),
            "fold_min": g.min(),
            "fold_max": g.max(),
            "n_splits": g.count(),
        }
    )
    summary["n_missing"] = oos.groupby(keys, sort=False)["n_missing"].sum()
    out = ins.to_frame().join(summary).reset_index()
    note = ("fold_min/fold_max: the range of the test-fold results, not a confidence "
            "interval")
    if interval == "bootstrap":
        boot = _pooled_interval(sv, y, v, pooled, orient, specs, rules, unit,
                                probability_cutoff, n_replicates, seed, level, n_jobs, client)
        out = out.merge(boot, on=keys, how="left")
        note += (f"; oos_lower/oos_upper: {level:.0%} design-based confidence interval of "
                 "the cross-fitted estimate oos_estimate (PSU bootstrap, fold models fixed)")
    out.attrs.update(
        welfare=welfare,
        n_folds=None if holdout else int(n_folds),
        n_repeats=None if holdout else int(n_repeats),
        holdout=holdout,
        seed=seed,
        level=level,
        interval=interval,
        n_replicates=int(n_replicates) if interval else None,
        note=note,
    )
    extra: list = []
    if return_splits:
        extra.append(long[long["fold"] != "in-sample"].reset_index(drop=True))
    if return_predictions:
        predictions = pd.DataFrame(pooled, index=data.index)
        predictions.attrs.update(
            basis="out_of_sample", higher_is_poorer=orient,
            n_folds=len(splits) if holdout is not None else int(n_folds),
            seed=None if holdout is not None else seed,
            folds=holdout if holdout is not None else "psu")
        extra.append(predictions)
    return (out, *extra) if extra else out


def _pooled_interval(sv, y, v, pooled, orient, specs, rules, unit, prob_cut, n_replicates,
                     seed, level, n_jobs, client) -> pd.DataFrame:
    """oos_estimate/oos_se/oos_lower/oos_upper/level rows of the cross-fitted predictions."""
    bad = {k: int(np.isnan(p).sum()) for k, p in pooled.items() if np.isnan(p).any()}
    if bad:
        raise ModelError(
            f"interval='bootstrap' needs a prediction for every household; NaN predictions "
            f"per model: {bad} (missing covariates?). Drop or impute those households."
        )
    factors = sv.replicate_factors(n_replicates, seed)
    frames = []
    for label, kind, z, q in specs:
        for rl in rules:
            t = bootstrap_targeting(
                sv, y, pooled, line=z if kind == "line" else None, share=q, rule=rl,
                higher_is_poorer=orient, probability_cutoff=prob_cut, unit=unit,
                factors=factors, level=level, n_jobs=n_jobs, client=client,
            )
            t = t[["model", "metric", "estimate", "se", "lower", "upper"]]
            poor = (y < z) if kind == "line" else (y <= z)
            auc = [{"model": m, "metric": "auc",
                    "estimate": _auc(poor, -p if orient[m] else p, v)}
                   for m, p in pooled.items()]
            t = pd.concat([t, pd.DataFrame(auc)], ignore_index=True)
            t.insert(1, "line", label)
            t.insert(2, "rule", rl)
            frames.append(t)
    out = pd.concat(frames, ignore_index=True).rename(
        columns={"estimate": "oos_estimate", "se": "oos_se", "lower": "oos_lower",
                 "upper": "oos_upper"})
    out["level"] = level
    return out


# --- comparison with paired design-based intervals --------------------------------------
def _given_predictions(
    preds: pd.DataFrame, data: pd.DataFrame, basis
) -> tuple[Literal["out_of_sample", "in_sample"], dict]:
    """Check a DataFrame of predictions passed as ``models``; return its basis."""
    if not preds.index.equals(data.index):
        raise DataError(
            "the predictions passed as `models` have an index different from `data`'s; "
            "pass the DataFrame returned by cross_fit(models, data) for this `data`."
        )
    if preds.shape[1] == 0:
        raise ModelError("the predictions passed as `models` have no columns (models).")
    stored = preds.attrs.get("basis")
    if basis is None:
        if stored is None:
            raise DataError(
                "say how these predictions were made: basis='out_of_sample' (cross-fitted, "
                "e.g. by pmt.evaluate.cross_fit) or basis='in_sample' (models fitted on all "
                "of `data`)."
            )
        basis = stored
    elif stored is not None and stored != basis:
        raise DataError(
            f"basis={basis!r}, but these predictions are {stored!r} (attrs['basis'])."
        )
    # basis= is checked by the caller; attrs["basis"] is written by pmt's cross-fitting
    return cast(Literal["out_of_sample", "in_sample"], basis), dict(
        preds.attrs.get("higher_is_poorer") or {})


def compare(
    models,
    data: pd.DataFrame,
    welfare: str,
    *,
    lines: float | Sequence[float] | None = None,
    shares: float | Sequence[float] | None = None,
    rule: str | Sequence[str] | None = None,
    survey: Survey | None = None,
    weight: str | None = None,
    size: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
    unit: Unit = "person",
    higher_is_poorer: bool | Mapping[str, bool] = False,
    probability_cutoff: float = 0.5,
    reference: str | None = None,
    n_groups: int = 10,
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    basis: Literal["out_of_sample", "in_sample"] | None = None,
    n_folds: int = 5,
    fold_seed: int | None = None,
    benefits=None,
    budget: float | None = None,
    n_jobs: int = 1,
    client=None,
) -> pd.DataFrame:
    """Compare models' targeting, out of sample, with paired design-based intervals.

    By default every household is scored by a model fitted without it
    (:func:`cross_fit`: ``n_folds`` folds of whole PSUs, balanced within strata), and the
    targeting metrics of these cross-fitted scores are bootstrapped over PSUs within
    strata. All models share one set of replicates, so every "<model> - <reference>"
    difference has a **paired** interval. Relative lines, rate cut-offs, budgets and
    quantile groups are re-estimated in every replicate (:func:`bootstrap_targeting`,
    :func:`bootstrap_overlap`). ``basis="in_sample"`` instead fits every model on all the
    data and evaluates it on the same data, which flatters flexible models (a gradient
    boosting that memorises its training households looks far better than it is).

    **What the out-of-sample interval covers.** The fold models are fitted once and held
    fixed across replicates; the bootstrap redraws the households (whole PSUs within
    strata). The interval is therefore for the population performance of the fitted fold
    models, i.e. of models estimated from this sample: how they would target if applied
    to the whole population. It reflects the sampling of the households they are judged
    on, not the variability of re-estimating the models on another sample, and the fold
    models, fitted on (K-1)/K of the sample, are slightly weaker than a model fitted on
    all of it. In our simulation (tests/test_crossfit_compare.py: repeated two-stage
    samples of 1,440 households; estimand: the exclusion-error difference of the two
    models fitted on the whole sample when they target the population at its poorest
    20 %, rate rule) the 90 % out-of-sample interval of the difference between an
    over-fitting random forest and OLS covered the population difference in 91 % of
    samples (95 % for the fold models' own difference); the in-sample interval, which
    showed the forest 25 points better where it was 4 points worse, never did.

    Parameters
    ----------
    models : callable, mapping or pandas.DataFrame
        ``fit(train_df) -> fitted`` with ``fitted.predict(test_df)``, or {name: fit}; or
        the predictions themselves, one column per model on the index of ``data`` (the
        output of :func:`cross_fit`, whose ``attrs`` give the basis and orientation), so
        that one set of cross-fitted predictions serves several tables.
    data, welfare, lines, shares, survey, weight, size, strata, psu, unit
        As in :func:`cross_validate`.
    rule : {"rate", "budget", "line"} or a sequence of them, optional
        How each model selects households. "rate" (the default): every model selects
        the same share of the population, the poverty rate (matched coverage). "budget"
        (the default too when ``benefits`` is given): every model selects households,
        poorest score first, until the same budget is spent (matched budget; see
        :func:`bootstrap_targeting`). "line": every model selects those it predicts below
        the line; coverage then differs by model, so a ``UserWarning`` is raised with
        several models and the ``note`` column says so: read the ``coverage`` rows beside
        the errors.
    higher_is_poorer, probability_cutoff
        As in :func:`cross_validate`.
    reference : str, optional
        Model the others are differenced against ("<model> - <reference>" rows).
    n_groups : int
        Quantile groups of the overlap measures.
    n_replicates, seed, level
        Bootstrap replicates (:meth:`pmt.Survey.replicate_factors` with ``seed``) and the
        level of the percentile intervals.
    basis : {"out_of_sample", "in_sample"}, optional
        Default "out_of_sample" (cross-fitted); for a DataFrame of predictions, its
        ``attrs["basis"]``.
    n_folds, fold_seed : int
        Folds of the cross-fitting; ``fold_seed`` defaults to ``seed`` (the folds are then
        those of :func:`cross_validate` with the same seed, first repeat).
    benefits : float, str or array-like, optional
        Benefit **per person** paid to a selected household (one amount, a column of
        ``data`` or one value per household). Adds the "budget" rule (unless ``rule``
        is given) and benefit-based ``cgh`` and ``benefit_leakage`` to every rule.
    budget : float, optional
        Total to spend under the "budget" rule (sum of household weight x size x benefit
        per person over the selected). Default: the cost of paying exactly the poor, in
        every replicate (with one benefit per person for all, the "budget" rule then
        equals the "rate" rule).
    n_jobs, client
        Parallel fits and bootstrap chunks (joblib processes or a dask.distributed
        client); results do not depend on them.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``model``, ``line``, ``rule``, ``basis`` ("out_of_sample" or "in_sample"),
        ``metric``, ``estimate``, ``se``, ``lower``, ``upper``, ``n_valid``, ``note``
        (what is matched across models). Overlap measures (diagonal, within_one,
        overlap_k of ``n_groups`` groups) have line "(ranking)" and rule "-". ``attrs``:
        ``basis``, ``note`` (with the warning text for "line" comparisons), ``n_folds``,
        ``fold_seed``, ``n_replicates``, ``seed``, ``level``, ``welfare``.
    """
    sv = _survey(data, survey, weight, size, strata, psu)
    if welfare not in data.columns:
        raise DataError(f"welfare column '{welfare}' is not in the data.")
    if basis not in (None, "out_of_sample", "in_sample"):
        raise DataError(
            f"`basis` must be 'out_of_sample' (cross-fitted, the default) or 'in_sample'; "
            f"got {basis!r}."
        )
    y = sv.column(welfare)
    v = sv.weights(unit)
    specs = _line_specs(y, v, lines, shares)
    if rule is None:
        rules = ["rate", "budget"] if benefits is not None else ["rate"]
    else:
        rules = _rules(rule, allowed=("line", "rate", "budget"))
    if "budget" in rules and benefits is None:
        raise DataError(
            "rule='budget' needs `benefits` (benefit per person of a selected household)."
        )
    if budget is not None and "budget" not in rules:
        raise DataError("`budget` is used by the 'budget' rule only; add it to `rule`.")
    benefit_costs(sv, benefits)  # validates the benefits before any model is fitted

    if isinstance(models, pd.DataFrame):
        basis, stored = _given_predictions(models, data, basis)
        names = [str(c) for c in models.columns]
        flags = {**_need_flags(higher_is_poorer, names), **stored}
        preds = {str(c): column_or_array(models[c], name=f"models[{str(c)!r}]",
                                         allow_nan=True)
                 for c in models.columns}
        n_folds_used = models.attrs.get("n_folds")
        fold_seed = models.attrs.get("seed")
    else:
        basis = basis or "out_of_sample"
        fits = _models(models)
        names = list(fits)
        need = _need_flags(higher_is_poorer, fits)
        if basis == "out_of_sample":
            fold_seed = seed if fold_seed is None else fold_seed
            levels, labels = _fold_labels(data, sv, n_folds, fold_seed, None)
            preds, flags = _cross_fit(fits, data, levels, labels, need, n_jobs, client)
            n_folds_used = int(n_folds)
        else:
            frame = _in_sample(fits, data, need, n_jobs, client)
            preds = {k: frame[k].to_numpy() for k in frame.columns}
            flags = frame.attrs["higher_is_poorer"]
            n_folds_used = fold_seed = None
    if reference is not None and reference not in names:
        raise DataError(f"`reference` '{reference}' is not one of the models {names}.")
    for name, pred in preds.items():
        if np.isnan(pred).any():
            raise ModelError(
                f"model {name!r} predicts NaN for {int(np.isnan(pred).sum())} households "
                "(missing covariates?): drop or impute them before comparing."
            )
    _warn_line(rules, len(names))
    factors = sv.replicate_factors(n_replicates, seed)
    common = dict(unit=unit, reference=reference, factors=factors, level=level, n_jobs=n_jobs,
                  client=client)
    frames = []
    for label, kind, z, q in specs:
        for rl in rules:
            t = bootstrap_targeting(
                # rl is one of _rules(..., allowed=CutoffRule's names)
                sv, y, preds, line=z if kind == "line" else None, share=q,
                rule=cast(Literal["line", "rate", "budget"], rl),
                higher_is_poorer=flags, probability_cutoff=probability_cutoff,
                benefits=benefits,
                budget=budget if rl == "budget" else None, **common,
            )
            t.insert(1, "line", label)
            t.insert(2, "rule", rl)
            frames.append(t)
    ov = bootstrap_overlap(
        sv, y, preds, n_groups=n_groups, higher_is_poorer=flags, **common
    ).rename(columns={"measure": "metric"})
    ov.insert(1, "line", "(ranking)")
    ov.insert(2, "rule", "-")
    frames.append(ov)
    out = pd.concat(frames, ignore_index=True)
    out.insert(3, "basis", basis)
    out["note"] = out["rule"].map(_NOTES)
    note = ("Out of sample: each household scored by the model fitted without its fold"
            if basis == "out_of_sample"
            else "In sample: models fitted and evaluated on the same data (optimistic)")
    if "line" in rules:
        note += "; " + _LINE_WARNING
    out.attrs.update(welfare=welfare, n_replicates=int(n_replicates), seed=seed, level=level,
                     basis=basis, n_folds=n_folds_used, fold_seed=fold_seed,
                     note=note)
    return out
