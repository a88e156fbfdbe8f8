"""Tests of pmt.models.ml: scikit-learn regressors on the pmt design matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from threadpoolctl import threadpool_limits

from pmt import ModelError
from pmt.models.ml import SklearnModel, gradient_boosting, random_forest
from pmt.models.ols import ols

FORMULA = "log_pcc ~ rooms + car + C(region) + noise"


def simulate(n=2000, seed=4):
    """A non-linear truth: the car effect depends on rooms, rooms enter with a kink."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 7, n).astype(float)
    car = (rng.random(n) < 0.4).astype(float)
    region = rng.integers(1, 4, n)
    y = (
        10
        + 0.3 * np.minimum(rooms, 3)
        + 0.6 * car * (rooms >= 4)
        + np.where(region == 2, 0.3, 0.0)
        + rng.normal(0, 0.25, n)
    )
    return pd.DataFrame(
        {
            "log_pcc": y,
            "rooms": rooms,
            "car": car,
            "region": region,
            "noise": rng.normal(size=n),
            "weight": rng.uniform(0.5, 2.0, n),
        }
    )


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # HistGradientBoosting's OpenMP threads crawl on a shared, loaded 2-core machine.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    d = simulate(3000)
    return d.iloc[:2000], d.iloc[2000:]


def design(df):
    X = pd.DataFrame({"rooms": df["rooms"], "car": df["car"]})
    X["r2"] = (df["region"] == 2).astype(float)
    X["r3"] = (df["region"] == 3).astype(float)
    X["noise"] = df["noise"]
    return X.to_numpy()


def test_same_design_as_direct_sklearn_fit(data):
    train, test = data
    m = gradient_boosting(FORMULA, train, weights="weight", seed=3, max_iter=50)
    ref = HistGradientBoostingRegressor(random_state=3, max_iter=50).fit(
        design(train), train["log_pcc"], sample_weight=train["weight"]
    )
    assert np.array_equal(m.predict(test).to_numpy(), ref.predict(design(test)))
    assert m.feature_names == ["rooms", "car", "C(region)[T.2]", "C(region)[T.3]", "noise"]
    assert m.nobs == 2000 and m.n_dropped == 0
    assert m.weighted_nobs == pytest.approx(train["weight"].sum())
    lev = m.predict(test, scale="level")
    assert np.allclose(lev, np.exp(ref.predict(design(test))))


def test_linear_estimator_reproduces_ols(data):
    """Any regressor works; LinearRegression on the same columns equals weighted pmt.ols."""
    train, test = data
    m = SklearnModel(LinearRegression(), FORMULA).fit(train, weights="weight")
    r = ols(FORMULA, train, weights="weight")
    assert np.allclose(m.predict(test), r.predict(test), rtol=1e-10)
    assert m.rsquared == pytest.approx(r.rsquared, rel=1e-10)


def test_flexible_models_beat_ols_out_of_sample_on_nonlinear_truth(data):
    train, test = data
    r2 = {}
    for name, model in {
        "ols": ols(FORMULA, train),
        "gb": gradient_boosting(FORMULA, train, seed=0, max_iter=100),
        "rf": random_forest(FORMULA, train, seed=0, n_estimators=100, min_samples_leaf=10),
    }.items():
        e = test["log_pcc"] - model.predict(test)
        r2[name] = 1 - (e**2).sum() / ((test["log_pcc"] - test["log_pcc"].mean()) ** 2).sum()
    assert r2["gb"] > r2["ols"] + 0.02
    assert r2["rf"] > r2["ols"] + 0.02


def test_thread_cap_gives_same_model(data):
    train, test = data
    a = gradient_boosting(FORMULA, train, seed=1, max_iter=30, n_threads=1)
    b = gradient_boosting(FORMULA, train, seed=1, max_iter=30)
    assert np.allclose(a.predict(test), b.predict(test), rtol=1e-12)
    with pytest.raises(ModelError, match="n_threads"):
        SklearnModel(LinearRegression(), FORMULA, n_threads=0)


def test_same_seed_same_model(data):
    train, test = data
    a = random_forest(FORMULA, train, seed=7, n_estimators=20)
    b = random_forest(FORMULA, train, seed=7, n_estimators=20)
    c = random_forest(FORMULA, train, seed=8, n_estimators=20)
    assert np.array_equal(a.predict(test), b.predict(test))
    assert not np.array_equal(a.predict(test), c.predict(test))


def test_no_coefficients_no_artifacts(data):
    train, _ = data
    m = gradient_boosting(FORMULA, train, max_iter=20)
    for attr in ("params", "bse"):
        with pytest.raises(ModelError, match="cannot become scorecards"):
            getattr(m, attr)
    with pytest.raises(ModelError, match="JSON"):
        m.to_dict()
    with pytest.raises(ModelError, match="no impurity importances"):
        _ = m.feature_importances
    with pytest.raises(ModelError, match="only 'none'"):
        m.predict(train, scale="level", retransform="smearing")
    assert "no coefficients" in m.summary()


def test_importances(data):
    train, test = data
    rf = random_forest(FORMULA, train, seed=0, n_estimators=50, min_samples_leaf=5)
    fi = rf.feature_importances
    assert fi["importance"].sum() == pytest.approx(1.0)
    assert fi.index[0] in ("rooms", "car")
    assert fi.loc["noise", "importance"] < fi.loc["rooms", "importance"]
    gb = gradient_boosting(FORMULA, train, seed=0, max_iter=50)
    pi = gb.permutation_importance(test, weights="weight", n_repeats=3, seed=0)  # held out
    assert list(pi.index.names) == ["variable"]
    assert set(pi.index) == {"rooms", "car", "region", "noise"}  # the category is permuted whole
    assert pi.index[0] in ("rooms", "car")
    assert pi.loc["noise", "importance_mean"] < 0.01
    assert pi.loc["region", "importance_mean"] > 0.05
    assert "impurity importances" in rf.summary()


def test_errors_and_missing(data):
    train, test = data
    with pytest.raises(ModelError, match="sample_weight"):
        SklearnModel(KNeighborsRegressor(), FORMULA).fit(train, weights="weight")
    with pytest.raises(ModelError, match="not fitted"):
        SklearnModel(RandomForestRegressor(), FORMULA).predict(test)
    with pytest.raises(ModelError, match="not a scikit-learn estimator"):
        SklearnModel(object(), FORMULA)
    with pytest.raises(ModelError, match="missing_col"):
        gradient_boosting("log_pcc ~ rooms + missing_col", train)
    with pytest.raises(ModelError, match="bad HistGradientBoostingRegressor"):
        gradient_boosting(FORMULA, train, not_a_param=1)
    with pytest.raises(ModelError, match="bad RandomForestRegressor"):
        random_forest(FORMULA, train, not_a_param=1)
    m = SklearnModel(LinearRegression(), FORMULA).fit(train)
    t = test.copy()
    t.loc[t.index[:3], "rooms"] = np.nan
    with pytest.warns(UserWarning, match="3 rows have missing proxies") as rec:
        p = m.predict(t)
    assert rec[0].filename == __file__  # warned at the caller of predict
    assert p.isna().sum() == 3 and p.index.equals(t.index)
