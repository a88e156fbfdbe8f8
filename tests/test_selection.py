"""Tests of pmt.models.selection: stepwise by cluster-robust Wald tests and lasso selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pmt import ModelError
from pmt.models.ols import ols
from pmt.models.selection import LassoResult, StepwiseResult, lasso_select, stepwise

TRUE_VARS = ["rooms", "car", "C(region)", "land"]
NOISE = [f"noise{i}" for i in range(6)]
FULL = "log_pcc ~ " + " + ".join(TRUE_VARS + NOISE)


def simulate(n=3000, seed=2, n_psu=150):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_psu, n)
    region = rng.integers(1, 5, n)
    d = pd.DataFrame(
        {
            "rooms": rng.integers(1, 6, n).astype(float),
            "car": (rng.random(n) < 0.3).astype(float),
            "region": region,
            "land": rng.exponential(2.0, n),
            "psu": psu,
            "weight": rng.uniform(0.5, 2.0, n),
        }
    )
    for v in NOISE:
        d[v] = rng.normal(size=n)
    d["log_pcc"] = (
        10
        + 0.12 * d["rooms"]
        + 0.3 * d["car"]
        + np.select([region == 2, region == 3, region == 4], [0.2, -0.15, 0.1], 0.0)
        + 0.04 * d["land"]
        + rng.normal(0, 0.1, n_psu)[psu]
        + rng.normal(0, 0.4, n)
    )
    return d


@pytest.fixture(scope="module")
def df():
    return simulate()


def test_forward_picks_true_variables(df):
    s = stepwise(FULL, df, weights="weight", cluster="psu", p_enter=0.01, p_remove=0.05)
    assert isinstance(s, StepwiseResult)
    assert set(s.selected) == {"rooms", "car", "region", "land"}
    assert list(s.path.columns) == [
        "step", "action", "variable", "p_value", "rsquared", "n_terms", "n_columns"
    ]
    assert list(s.path["action"]) == ["start"] + ["enter"] * 4
    assert s.path["rsquared"].is_monotonic_increasing
    assert s.path["n_columns"].iloc[-1] == 1 + 1 + 1 + 3 + 1  # intercept, rooms, car, 3 dummies, land
    # the final model is OLS of the chosen formula on the same rows
    ref = ols(s.formula, df, weights="weight", cluster="psu")
    assert np.allclose(s.model.params[ref.params.index], ref.params, rtol=1e-12)
    assert s.model.rsquared == pytest.approx(s.path["rsquared"].iloc[-1], rel=1e-12)
    assert "C(region)" in s.formula and "noise" not in s.formula


def test_block_p_value_is_joint_cluster_wald(df):
    """The p-value recorded when C(region) enters equals a hand-computed cluster Wald F."""
    s = stepwise(FULL, df, weights="weight", cluster="psu", p_enter=0.01)
    row = s.path[s.path["variable"] == "region"].iloc[0]
    before = list(s.path["variable"].iloc[1 : int(row["step"])])
    X = pd.DataFrame({"Intercept": 1.0}, index=df.index)
    for v in before:
        X[v] = df[v]
    dummies = [(df["region"] == k).astype(float).rename(f"r{k}") for k in (2, 3, 4)]
    X = pd.concat([X, *dummies], axis=1)
    res = sm.WLS(df["log_pcc"], X, weights=df["weight"]).fit(
        cov_type="cluster", cov_kwds={"groups": df["psu"].to_numpy()}
    )
    b = res.params[["r2", "r3", "r4"]].to_numpy()
    V = res.cov_params().loc[["r2", "r3", "r4"], ["r2", "r3", "r4"]].to_numpy()
    F = b @ np.linalg.solve(V, b) / 3
    G = df["psu"].nunique()
    p = stats.f.sf(F, 3, G - 1)
    assert row["p_value"] == pytest.approx(p, rel=1e-8)


def test_backward_and_both(df):
    b = stepwise(FULL, df, direction="backward", weights="weight", cluster="psu", p_remove=0.01)
    assert set(b.selected) == {"rooms", "car", "region", "land"}
    assert (b.path["action"].iloc[1:] == "remove").all()
    assert set(b.path["variable"].iloc[1:]) == set(NOISE)
    assert (b.path["p_value"].iloc[1:] > 0.01).all()
    both = stepwise(FULL, df, direction="both", weights="weight", cluster="psu", p_enter=0.01)
    assert set(both.selected) == set(b.selected)


def test_force_max_terms_and_list_input(df):
    s = stepwise(
        ["rooms", "car", "C(region)", "land", *NOISE],
        df,
        response="log_pcc",
        force=["noise0"],
        max_terms=3,
        cluster="psu",
    )
    assert s.selected[0] == "noise0" and len(s.selected) == 3
    assert s.path["action"].iloc[0] == "start" and s.path["n_terms"].iloc[0] == 1
    with pytest.raises(ModelError, match="not among the candidates"):
        stepwise(FULL, df, force="hh_size")
    with pytest.raises(ModelError, match="direction"):
        stepwise(FULL, df, direction="sideways")
    with pytest.raises(ModelError, match="response="):
        stepwise(["rooms"], df)


def test_missing_rows_fixed_sample(df):
    d = df.copy()
    d.loc[d.index[:9], "noise3"] = np.nan
    with pytest.warns(UserWarning, match="9 of"):
        s = stepwise(FULL, d, cluster="psu", p_enter=0.01)
    assert s.n_dropped == 9
    assert s.model.nobs == len(d) - 9  # same rows as the selection, even without noise3


def test_lasso_keeps_true_variables(df):
    r = lasso_select(FULL, df, weights="weight", cluster="psu", cv=5, seed=0)
    assert isinstance(r, LassoResult)
    assert {"rooms", "car", "region", "land"} <= set(r.kept)
    assert r.cv_folds.startswith("5-fold GroupKFold")
    assert {"alpha", "cv_mse", "cv_se", "n_nonzero", "n_variables", "variables"} <= set(r.path)
    assert r.path["alpha"].is_monotonic_decreasing
    assert r.alpha == r.alpha_min
    # the chosen alpha has the smallest weighted CV error on the path
    assert r.path.loc[r.path["cv_mse"].idxmin(), "alpha"] == pytest.approx(r.alpha)
    ref = ols(r.formula, df, weights="weight", cluster="psu")
    assert np.allclose(r.model.params, ref.params, rtol=1e-12)
    # 1se rule is sparser or equal, with a larger penalty
    r1 = lasso_select(FULL, df, weights="weight", cluster="psu", cv=5, seed=0, rule="1se")
    assert r1.alpha >= r.alpha and len(r1.kept) <= len(r.kept)
    assert {"rooms", "car", "region", "land"} <= set(r1.kept)
    assert not set(r1.kept) & set(NOISE)
    # same seed, same answer
    r2 = lasso_select(FULL, df, weights="weight", cluster="psu", cv=5, seed=0)
    assert r2.alpha == r.alpha and r2.kept == r.kept


def test_lasso_coefficients_match_sklearn_on_standardised_design(df):
    """Lasso coefficients at the chosen alpha equal a direct weighted sklearn Lasso fit."""
    from sklearn.linear_model import Lasso

    r = lasso_select(FULL, df, cv=3, seed=1)
    assert r.cv_folds.startswith("3-fold KFold")
    X = pd.DataFrame({"rooms": df["rooms"], "car": df["car"]})
    for k in (2, 3, 4):
        X[f"C(region)[T.{k}]"] = (df["region"] == k).astype(float)
    X["land"] = df["land"]
    for v in NOISE:
        X[v] = df[v]
    Xs = (X - X.mean()) / X.std(ddof=0)
    ref = Lasso(alpha=r.alpha, max_iter=10_000, tol=1e-8).fit(Xs, df["log_pcc"])
    assert np.allclose(r.coef[X.columns], ref.coef_, atol=1e-5)


def test_lasso_errors(df):
    with pytest.raises(ModelError, match="cv must be"):
        lasso_select(FULL, df, cv=1)
    with pytest.raises(ModelError, match="clusters"):
        lasso_select(FULL, df, cluster=np.arange(len(df)) % 3, cv=5)
    d = df.copy()
    d["zero"] = 0.0
    with pytest.raises(ModelError, match="constant"):
        lasso_select("log_pcc ~ rooms + zero", d)
