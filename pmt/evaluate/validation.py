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

Folds hold **whole PSUs** and are balanced within strata: in every stratum the PSUs are
shuffled and dealt to the folds in turn from a random starting fold, so each fold gets
floor or ceil(n_h / k) of the stratum's PSUs. (scikit-learn's StratifiedGroupKFold
stratifies by a class label per row and balances household counts, not PSUs per stratum,
so we deal the PSUs ourselves.) Repeats use seeds derived from ``seed`` and the repeat
number only, so results do not depend on ``n_jobs`` or the Dask client.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from pmt.errors import DataError, ModelError, example_rows
from pmt.evaluate._parallel import run_tasks
from pmt.evaluate.bootstrap_cutoffs import _need_flags, bootstrap_overlap, bootstrap_targeting
from pmt.evaluate.classify import rate_cutoff
from pmt.evaluate.metrics import Unit, metrics_from_totals, totals
from pmt.survey import Survey, weighted_quantile

Rule = Literal["line", "rate"]


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


def _evaluate(y, score, v, lines, rule: str, need: bool, prob_cut: float) -> dict:
    """Metrics (and AUC) for each line; ``lines`` = [(label, threshold on y)] with y < z
    (absolute) or y <= c (relative) encoded by the label kind."""
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
        m = metrics_from_totals(totals(poor, sel, v).sum(axis=0))
        m["auc"] = _auc(poor, s_score, v)
        out[label] = {k: float(val) for k, val in m.items()}
    return out


def _auc(poor: np.ndarray, score: np.ndarray, v: np.ndarray) -> float:
    """Weighted ROC AUC of classifying the poor by a low score (ties count one half)."""
    if poor.all() or not poor.any():
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(poor, -score, sample_weight=v))


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
    specs = []
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


def _rules(rule) -> list[str]:
    rules = [rule] if isinstance(rule, str) else list(rule)
    bad = [r for r in rules if r not in ("line", "rate")]
    if bad or not rules:
        raise DataError(f"`rule` must be 'line', 'rate' or both; got {rule!r}.")
    return rules


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
    level: float = 0.9,
    n_jobs: int = 1,
    client=None,
    return_splits: bool = False,
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
        Predicted-poor rule(s) (module docstring).
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
    level : float
        Coverage of the interval over splits (percentiles of the split values).
    n_jobs, client
        Fit the splits in parallel (joblib processes or a dask.distributed client).
    return_splits : bool
        Also return the metric of every split (model, line, rule, metric, repeat, fold).

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per model x line x rule x metric (the section-4 metrics and ``auc``):
        ``in_sample`` (fitted and evaluated on all data), ``oos_mean`` (mean over the test
        folds of all repeats), ``oos_sd``, ``oos_lower``/``oos_upper`` (percentile interval
        over splits at ``level``), ``n_splits``, ``n_missing`` (test predictions that were
        NaN, e.g. for missing covariates; those households are left out of that split's
        metrics and counted here, with a warning).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError("`data` must be a pandas DataFrame.")
    if welfare not in data.columns:
        raise DataError(f"welfare column '{welfare}' is not in the data.")
    fits = _models(models)
    sv = _survey(data, survey, weight, size, strata, psu)
    y = pd.to_numeric(data[welfare], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any():
        rows = data.index[np.isnan(y)]
        raise DataError(
            f"welfare column '{welfare}' has {int(np.isnan(y).sum())} missing values at "
            f"{example_rows(rows)}: drop those households before validating."
        )
    v = sv.weights(unit)
    specs = _line_specs(y, v, lines, shares)
    rules = _rules(rule)
    need = _need_flags(higher_is_poorer, fits)
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1); got {level!r}.")

    # splits: (repeat, fold label, test mask)
    splits: list[tuple[int, str, np.ndarray]] = []
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

    tasks = [(name, fit, data, data) for name, fit in fits.items()]
    tasks += [
        (name, fit, data.loc[~mask], data.loc[mask]) for _, _, mask in splits
        for name, fit in fits.items()
    ]
    results = run_tasks(_fit_predict, tasks, n_jobs, client, desc="cross-validation fits")

    records = []
    n_models, n_rows = len(fits), len(data)
    for i, name in enumerate(fits):
        pred, flag = results[i]
        is_need = need[name] if flag is None else bool(flag)
        evals = [(None, "in-sample", pred, np.ones(n_rows, dtype=bool))]
        for j, (r, fold, mask) in enumerate(splits):
            evals.append((r, fold, results[n_models * (1 + j) + i][0], mask))
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
    lo, hi = (1 - level) / 2, (1 + level) / 2
    g = oos.groupby(keys, sort=False)["value"]
    summary = pd.DataFrame(
        {
            "oos_mean": g.mean(),
            "oos_sd": g.std(ddof=1),
            "oos_lower": g.quantile(lo),
            "oos_upper": g.quantile(hi),
            "n_splits": g.count(),
        }
    )
    summary["n_missing"] = oos.groupby(keys, sort=False)["n_missing"].sum()
    out = ins.to_frame().join(summary).reset_index()
    out.attrs.update(
        welfare=welfare,
        n_folds=None if holdout else int(n_folds),
        n_repeats=None if holdout else int(n_repeats),
        holdout=holdout,
        seed=seed,
        level=level,
    )
    if return_splits:
        return out, long[long["fold"] != "in-sample"].reset_index(drop=True)
    return out


# --- in-sample comparison with paired design-based intervals ----------------------------
def compare(
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
    higher_is_poorer: bool | Mapping[str, bool] = False,
    probability_cutoff: float = 0.5,
    reference: str | None = None,
    n_groups: int = 10,
    n_replicates: int = 1000,
    seed: int = 0,
    level: float = 0.9,
    n_jobs: int = 1,
    client=None,
) -> pd.DataFrame:
    """Fit every model on all data and compare their targeting with paired bootstrap intervals.

    Arguments as in :func:`cross_validate`; ``reference`` names the model the others are
    differenced against ("<model> - <reference>" rows), ``n_groups`` the quantile groups of
    the overlap measures. All models share one set of PSU bootstrap replicates, so the
    intervals of differences are paired; relative lines, rate cut-offs and quantile groups
    are re-estimated in every replicate (:func:`bootstrap_targeting`,
    :func:`bootstrap_overlap`).

    Returns
    -------
    pandas.DataFrame
        Tidy: ``model``, ``line``, ``rule``, ``metric``, ``estimate``, ``se``, ``lower``,
        ``upper``, ``n_valid``. Overlap measures (diagonal, within_one, overlap_k of
        ``n_groups`` groups) have line "(ranking)" and rule "-".
    """
    fits = _models(models)
    sv = _survey(data, survey, weight, size, strata, psu)
    if welfare not in data.columns:
        raise DataError(f"welfare column '{welfare}' is not in the data.")
    y = sv.column(welfare)
    v = sv.weights(unit)
    specs = _line_specs(y, v, lines, shares)
    rules = _rules(rule)
    need = _need_flags(higher_is_poorer, fits)
    if reference is not None and reference not in fits:
        raise DataError(f"`reference` '{reference}' is not one of the models {list(fits)}.")
    results = run_tasks(_fit_predict, [(n, f, data, data) for n, f in fits.items()], n_jobs,
                        client)
    scores = {}
    for (name, _), (pred, flag) in zip(fits.items(), results, strict=True):
        if np.isnan(pred).any():
            raise ModelError(
                f"model {name!r} predicts NaN for {int(np.isnan(pred).sum())} households "
                "(missing covariates?): drop or impute them before comparing."
            )
        scores[name] = (pred, need[name] if flag is None else bool(flag))
    factors = sv.replicate_factors(n_replicates, seed)
    flags = {name: nd for name, (_, nd) in scores.items()}
    preds = {name: sc for name, (sc, _) in scores.items()}
    common = dict(unit=unit, reference=reference, factors=factors, level=level, n_jobs=n_jobs,
                  client=client)
    frames = []
    for label, kind, z, q in specs:
        for rl in rules:
            t = bootstrap_targeting(
                sv, y, preds, line=z if kind == "line" else None, share=q, rule=rl,
                higher_is_poorer=flags, probability_cutoff=probability_cutoff, **common,
            )
            t.insert(1, "line", label)
            t.insert(2, "rule", rl)
            frames.append(t)
    ov = bootstrap_overlap(
        sv, y, preds, n=n_groups, higher_is_poorer=flags, **common
    ).rename(columns={"measure": "metric"})
    ov.insert(1, "line", "(ranking)")
    ov.insert(2, "rule", "-")
    frames.append(ov)
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(welfare=welfare, n_replicates=int(n_replicates), seed=seed, level=level)
    return out
