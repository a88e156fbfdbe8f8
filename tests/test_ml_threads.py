"""Thread defaults of the ML wrappers (issue 12 item 7, issue 18): one thread unless
asked, applied through threadpoolctl and n_jobs, same results whatever the thread count."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from threadpoolctl import threadpool_info, threadpool_limits

from pmt import ModelError
from pmt.models.ml import (
    SklearnModel,
    default_threads,
    gradient_boosting,
    random_forest,
)

FORMULA = "y ~ x1 + x2 + x3 + car + C(region)"


def simulate(n=12_000, seed=3):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(0, 3, n),
            "x3": rng.integers(1, 8, n).astype(float),
            "car": (rng.random(n) < 0.3).astype(float),
            "region": rng.integers(1, 6, n),
            "w": rng.uniform(0.5, 3.0, n),
        }
    )
    d["y"] = (
        np.sin(d["x1"]) + 0.4 * np.minimum(d["x2"], 1.5) + 0.5 * d["car"] * (d["x3"] > 4)
        + 0.1 * d["region"] + rng.normal(0, 0.3, n)
    )
    return d


@pytest.fixture(scope="module")
def data():
    return simulate()


def openmp_threads() -> int:
    return min(i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp")


class ThreadRecorder(RegressorMixin, BaseEstimator):
    """A weighted-mean regressor that records the OpenMP thread limit it runs under."""

    def fit(self, X, y, sample_weight=None):
        self.fit_threads_ = openmp_threads()
        self.mean_ = np.average(y, weights=sample_weight)
        return self

    def predict(self, X):
        self.predict_threads_ = openmp_threads()
        return np.full(len(X), self.mean_)


@pytest.mark.parametrize("n", [1, 2])
def test_thread_cap_is_applied_in_fit_and_predict(data, n):
    if n > (os.cpu_count() or 1):
        pytest.skip("needs 2 CPUs")
    m = SklearnModel(ThreadRecorder(), FORMULA, n_threads=n).fit(data, weights="w")
    assert m.estimator_.fit_threads_ == n and m.n_threads_ == n
    m.predict(data.head(10))
    assert m.estimator_.predict_threads_ == n


def test_default_is_one_thread_even_where_openmp_allows_more(data):
    assert default_threads() == 1
    with threadpool_limits(limits=2, user_api="openmp"):
        assert openmp_threads() == 2
        d = SklearnModel(ThreadRecorder(), FORMULA).fit(data)
        assert d.estimator_.fit_threads_ == 1 == d.n_threads_
        d.predict(data.head(10))
        assert d.estimator_.predict_threads_ == 1
        # the enclosing limit is restored after the fit and the prediction
        assert openmp_threads() == 2
    assert random_forest(FORMULA, data, n_estimators=5).estimator_.n_jobs == 1


def test_boosting_same_predictions_with_1_and_2_threads(data):
    # early stopping (validation split and scoring) on, as by default for n > 10,000; the
    # 2-thread fit is kept small: on a loaded 2-core machine it is many times slower
    d = data.iloc[:4000]
    kw = dict(weights="w", seed=5, max_iter=30, early_stopping=True)
    one = gradient_boosting(FORMULA, d, n_threads=1, **kw)
    two = gradient_boosting(FORMULA, d, n_threads=2, **kw)
    default = gradient_boosting(FORMULA, d, **kw)
    assert one.estimator_.do_early_stopping_
    assert one.estimator_.n_iter_ == two.estimator_.n_iter_
    p1 = one.predict(data).to_numpy()
    np.testing.assert_array_equal(p1, two.predict(data).to_numpy())
    np.testing.assert_array_equal(p1, default.predict(data).to_numpy())
    # predictions do not depend on the prediction threads either
    one.n_threads = 2
    np.testing.assert_array_equal(p1, one.predict(data).to_numpy())


def test_forest_same_predictions_with_1_and_2_threads(data):
    kw = dict(weights="w", seed=2, n_estimators=60, min_samples_leaf=5)
    one = random_forest(FORMULA, data, n_threads=1, **kw)
    two = random_forest(FORMULA, data, n_threads=2, **kw)
    assert one.estimator_.n_jobs == 1 and two.estimator_.n_jobs == 2
    p1 = one.predict(data).to_numpy()
    for _ in range(3):  # scikit-learn's threaded sum of trees would differ between calls
        np.testing.assert_array_equal(p1, two.predict(data).to_numpy())
    # independent reference: the mean of the trees' predictions, added in tree order
    X, _ = one.matrix(data)
    trees = np.zeros(len(X))
    for tree in two.estimator_.estimators_:
        trees += tree.predict(X)
    np.testing.assert_allclose(p1, trees / len(two.estimator_.estimators_), rtol=1e-13)
    assert random_forest(FORMULA, data, n_estimators=5, n_jobs=2).estimator_.n_jobs == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_n_threads(data, bad):
    with pytest.raises(ModelError, match="n_threads must be a positive integer"):
        gradient_boosting(FORMULA, data, n_threads=bad, max_iter=5)
    with pytest.raises(ModelError, match="n_threads"):
        random_forest(FORMULA, data, n_threads=bad, n_estimators=5)
