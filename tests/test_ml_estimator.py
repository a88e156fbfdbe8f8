"""The ML wrappers as scikit-learn estimators (issue 16, item 2): get_params/set_params,
clone, Pipeline, GridSearchCV with PSU folds, and the scikit-learn estimator checks that
apply to an estimator whose X is a household DataFrame selected by a formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_regressor
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold, PredefinedSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks as ec
from threadpoolctl import threadpool_limits

import pmt
from pmt import ArtifactError, ModelError
from pmt.models.ml import (
    PMTGradientBoosting,
    PMTRandomForest,
    SklearnModel,
    gradient_boosting,
    random_forest,
)

FORMULA = "log_pcc ~ rooms + car + C(region) + noise"


def simulate(n=1500, seed=11):
    """Non-linear truth (a kink in rooms, car matters in big dwellings), 60 PSUs."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 7, n).astype(float)
    car = (rng.random(n) < 0.4).astype(float)
    region = rng.integers(1, 4, n)
    y = (10 + 0.3 * np.minimum(rooms, 3) + 0.6 * car * (rooms >= 4)
         + np.where(region == 2, 0.3, 0.0) + rng.normal(0, 0.25, n))
    return pd.DataFrame({
        "log_pcc": y, "rooms": rooms, "car": car, "region": region,
        "noise": rng.normal(size=n), "weight": rng.uniform(0.5, 2.0, n),
        "psu": rng.integers(0, 60, n),
    })


def design(df):
    """The design matrix built by hand (region 1 the base level, no intercept)."""
    return np.column_stack([
        df["rooms"], df["car"], (df["region"] == 2).astype(float),
        (df["region"] == 3).astype(float), df["noise"],
    ])


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with threadpool_limits(limits=1):  # OpenMP threads crawl on a shared 2-core machine
        yield


@pytest.fixture(scope="module")
def data():
    d = simulate()
    return d.iloc[:1000], d.iloc[1000:]


def test_estimator_protocol_and_params():
    gb = PMTGradientBoosting(FORMULA, max_iter=40)
    assert is_regressor(gb) and is_regressor(PMTRandomForest()) and is_regressor(SklearnModel())
    assert gb.get_params()["max_iter"] == 40 and gb.get_params()["formula"] == FORMULA
    # the parameters are those of the scikit-learn class plus formula and n_threads, with its
    # defaults except random_state=0 (pmt's seed default)
    for cls, inner in [(PMTGradientBoosting, HistGradientBoostingRegressor),
                       (PMTRandomForest, RandomForestRegressor)]:
        ours, theirs = cls().get_params(), inner().get_params()
        assert set(ours) == set(theirs) | {"formula", "n_threads"}
        assert {k: v for k, v in ours.items() if k in theirs} == {**theirs, "random_state": 0}
    assert gb.set_params(max_iter=7, learning_rate=0.2) is gb
    assert (gb.max_iter, gb.learning_rate) == (7, 0.2)
    c = clone(gb)
    assert c is not gb and c.get_params() == gb.get_params()
    sk = SklearnModel(LinearRegression(), FORMULA)
    assert sk.set_params(estimator__fit_intercept=False).estimator.fit_intercept is False


def test_no_coefficients_is_an_attribute_error(data):
    train, _ = data
    m = gradient_boosting(FORMULA, train, max_iter=10)
    assert m.model_type == "sklearn"
    assert not hasattr(m, "params") and not hasattr(m, "bse")
    for attr in ("params", "bse"):
        with pytest.raises(AttributeError, match="cannot become scorecards"):
            getattr(m, attr)
        with pytest.raises(ModelError):
            getattr(m, attr)
    assert getattr(m, "higher_is_poorer", None) is None  # evaluation's default orientation
    with pytest.raises(ArtifactError, match="pickle"):
        pmt.save_model(m, "never_written.json")
    unfitted = PMTRandomForest(FORMULA)
    assert not hasattr(unfitted, "design") and not hasattr(unfitted, "estimator_")
    for exc in (NotFittedError, ModelError):
        with pytest.raises(exc, match="not fitted"):
            unfitted.predict(train)


def test_fit_signature_y_and_sample_weight(data):
    train, test = data
    kw = dict(max_iter=30, random_state=2)
    base = PMTGradientBoosting(FORMULA, **kw).fit(train, weights="weight")
    ref = HistGradientBoostingRegressor(**kw).fit(
        design(train), train["log_pcc"], sample_weight=train["weight"])
    p = base.predict(test)
    assert isinstance(p, pd.Series) and p.index.equals(test.index)
    np.testing.assert_array_equal(p.to_numpy(), ref.predict(design(test)))
    same = [
        PMTGradientBoosting(FORMULA, **kw).fit(train, sample_weight=train["weight"].to_numpy()),
        PMTGradientBoosting(FORMULA, **kw).fit(train, train["log_pcc"], "weight"),
        # a right side only: y given separately, as scikit-learn passes it
        PMTGradientBoosting("~ rooms + car + C(region) + noise", **kw).fit(
            train.drop(columns="log_pcc"), train["log_pcc"].to_numpy(),
            sample_weight=train["weight"]),
        gradient_boosting(FORMULA, train, weights="weight", seed=2, max_iter=30),
    ]
    for m in same:
        np.testing.assert_array_equal(m.predict(test).to_numpy(), p.to_numpy())
    # y replaces the left side
    shifted = PMTGradientBoosting(FORMULA, **kw).fit(train, train["log_pcc"] + 1.0, "weight")
    np.testing.assert_allclose(shifted.predict(test), p + 1.0, rtol=1e-12)
    with pytest.raises(ModelError, match="not both"):
        PMTGradientBoosting(FORMULA).fit(train, sample_weight="weight", weights="weight")
    with pytest.raises(ModelError, match="household DataFrame"):
        PMTGradientBoosting(FORMULA).fit(design(train), train["log_pcc"])
    with pytest.raises(ModelError, match="needs formula="):
        PMTGradientBoosting().fit(train)
    with pytest.raises(ModelError, match="999 values for 1000 rows"):
        PMTGradientBoosting(FORMULA).fit(train, np.zeros(999))


def test_random_forest_class_matches_direct_fit(data):
    train, test = data
    m = random_forest(FORMULA, train, weights="weight", seed=4, n_estimators=30, n_threads=1)
    assert isinstance(m, PMTRandomForest) and m.estimator_.n_jobs == 1
    ref = RandomForestRegressor(n_estimators=30, random_state=4, n_jobs=1).fit(
        design(train), train["log_pcc"], sample_weight=train["weight"])
    np.testing.assert_array_equal(m.predict(test).to_numpy(), ref.predict(design(test)))
    again = clone(m).fit(train, sample_weight=train["weight"])  # clone: unfitted, same params
    np.testing.assert_array_equal(again.predict(test).to_numpy(), m.predict(test).to_numpy())


def test_grid_search_over_max_iter_with_psu_folds(data):
    """GridSearchCV with GroupKFold by PSU equals a hand-written loop over the same folds
    with scikit-learn's regressor on a hand-built design."""
    df = pd.concat(data)
    grid = [5, 40]
    cv = GroupKFold(n_splits=3)
    search = GridSearchCV(PMTGradientBoosting(FORMULA, random_state=0),
                          {"max_iter": grid}, cv=cv)
    search.fit(df, groups=df["psu"])
    expected = []
    for it in grid:
        scores = []
        for tr, te in cv.split(df, groups=df["psu"]):
            a, b = df.iloc[tr], df.iloc[te]
            assert not set(a["psu"]) & set(b["psu"])  # households of a PSU stay together
            est = HistGradientBoostingRegressor(max_iter=it, random_state=0)
            est.fit(design(a), a["log_pcc"])
            scores.append(r2_score(b["log_pcc"], est.predict(design(b))))
        expected.append(np.mean(scores))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], expected, rtol=1e-12)
    assert search.best_params_ == {"max_iter": grid[int(np.argmax(expected))]}
    assert isinstance(search.best_estimator_, PMTGradientBoosting)
    assert search.best_estimator_.nobs == len(df)
    # a predefined split by PSU (test fold = psu mod 2), y passed the scikit-learn way and
    # weights routed to fit
    ps = PredefinedSplit(df["psu"].to_numpy() % 2)
    s2 = GridSearchCV(PMTRandomForest(FORMULA, n_estimators=10, n_threads=1),
                      {"min_samples_leaf": [1, 20]}, cv=ps)
    s2.fit(df, df["log_pcc"], sample_weight=df["weight"].to_numpy())
    assert s2.best_params_["min_samples_leaf"] in (1, 20)
    assert np.all(np.isfinite(s2.cv_results_["mean_test_score"]))


def test_pipeline_with_a_dataframe_step(data):
    train, test = data

    def add_big(d):
        return d.assign(big=(d["rooms"] >= 4).astype(float))

    f = "log_pcc ~ rooms + big + car + C(region)"
    pipe = Pipeline([("features", FunctionTransformer(add_big)),
                     ("rf", PMTRandomForest(f, n_estimators=15, n_threads=1))])
    pipe.fit(train, rf__sample_weight=train["weight"])
    direct = PMTRandomForest(f, n_estimators=15, n_threads=1).fit(add_big(train), weights="weight")
    np.testing.assert_array_equal(np.asarray(pipe.predict(test)),
                                  direct.predict(add_big(test)).to_numpy())
    assert pipe.get_params()["rf__n_estimators"] == 15


def test_evaluation_still_takes_them(data):
    """pmt.cross_fit with the wrapper equals fitting it by hand on each PSU fold."""
    train, _ = data
    folds = (train["psu"] % 3).to_numpy()
    fits = {"gb": lambda d: pmt.gradient_boosting(FORMULA, d, weights="weight", max_iter=20),
            "est": lambda d: PMTRandomForest(FORMULA, n_estimators=10).fit(d, weights="weight")}
    cf = pmt.cross_fit(fits, train, folds=folds)
    assert cf.attrs["higher_is_poorer"] == {"gb": False, "est": False}
    for k in range(3):
        tr, te = train[folds != k], train[folds == k]
        ref = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(
            design(tr), tr["log_pcc"], sample_weight=tr["weight"])
        np.testing.assert_array_equal(cf["gb"].to_numpy()[folds == k], ref.predict(design(te)))
    with pytest.raises(ModelError, match="linear-index model"):
        pmt.Scorecard.from_model(gradient_boosting(FORMULA, train, max_iter=5))


# scikit-learn's estimator checks that apply. The others feed numpy arrays as X (fit on
# arrays, sparse matrices, 1-sample arrays, NaN/inf arrays, pickling after an array fit...):
# these estimators take the household DataFrame and select its columns by formula, so they
# refuse arrays with a ModelError naming the DataFrame. SklearnModel also validates its
# `estimator` at construction (a ModelError naming it, kept from the earlier API), so
# check_do_not_raise_errors_in_init_or_set_params applies only to the two ensemble classes.
CHECKS = [
    ec.check_parameters_default_constructible,
    ec.check_no_attributes_set_in_init,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_mixin_order,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_estimators_unfitted,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("make", [lambda: PMTGradientBoosting(FORMULA),
                                  lambda: PMTRandomForest(FORMULA),
                                  lambda: SklearnModel(LinearRegression(), FORMULA)],
                         ids=["gb", "rf", "sklearn_model"])
def test_sklearn_estimator_checks(check, make):
    est = make()
    check(type(est).__name__, est)


@pytest.mark.parametrize("cls", [PMTGradientBoosting, PMTRandomForest])
def test_sklearn_init_and_set_params_do_not_raise(cls):
    ec.check_do_not_raise_errors_in_init_or_set_params(cls.__name__, cls(FORMULA))
