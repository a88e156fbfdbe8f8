"""Tests of pmt.models.variable_selection: stepwise by cluster-robust Wald tests and lasso selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pmt import ModelError
from pmt.models.base import prepare
from pmt.models.ols import ols
from pmt.models.variable_selection import (
    LassoResult,
    StepwiseResult,
    _Stepper,
    lasso_select,
    stepwise,
)

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


@pytest.mark.parametrize("cov", ["cluster", "HC1", "nonrobust"])
def test_fast_engine_matches_statsmodels(df, cov):
    """The Gram-matrix engine used for candidate fits reproduces statsmodels WLS."""
    prep = prepare(FULL, df, weights="weight", cluster="psu")
    eng = _Stepper(prep, cov)
    fit, cols = eng.fit(["rooms", "region", "noise1"])
    X = prep.X[:, cols]
    kw = {"cov_kwds": {"groups": prep.cluster}} if cov == "cluster" else {}
    ref = sm.WLS(prep.y, X, weights=prep.weights).fit(cov_type=cov, use_t=True, **kw)
    assert np.allclose(fit.params, ref.params, rtol=1e-9, atol=0)
    assert np.allclose(fit.cov, ref.cov_params(), rtol=1e-8, atol=0)
    assert fit.rsquared == pytest.approx(ref.rsquared, rel=1e-10)
    assert fit.df_inference == (ref.df_resid_inference if cov == "cluster" else ref.df_resid)
    # joint test of the region block equals statsmodels' wald_test
    R = np.zeros((3, len(cols)))
    R[[0, 1, 2], [2, 3, 4]] = 1.0
    ref_p = ref.wald_test(R, use_f=True, scalar=True).pvalue
    assert eng.block_p(fit, cols, "region") == pytest.approx(float(ref_p), rel=1e-7)
    d = df.copy()
    d["rooms_again"] = d["rooms"] * 2.0
    prep2 = prepare("log_pcc ~ rooms + rooms_again", d, check_rank=False)
    assert _Stepper(prep2, "HC1").fit(["rooms", "rooms_again"])[0] is None


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
    assert s.model.rsquared == pytest.approx(s.path["rsquared"].iloc[-1], rel=1e-10)
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


def test_rsquared_criterion_enters_largest_gain(df):
    s = stepwise(FULL, df, cluster="psu", p_enter=0.01, criterion="rsquared")
    assert set(s.selected) == {"rooms", "car", "region", "land"}
    # the first variable to enter is the one with the largest single-variable R^2
    single = {v: ols(f"log_pcc ~ {t}", df).rsquared for v, t in zip(
        ["rooms", "car", "region", "land"], ["rooms", "car", "C(region)", "land"], strict=True
    )}
    assert s.path["variable"].iloc[1] == max(single, key=single.get)
    assert s.path["rsquared"].iloc[1] == pytest.approx(max(single.values()), rel=1e-9)
    with pytest.raises(ModelError, match="criterion"):
        stepwise(FULL, df, criterion="aic")


def test_backward_and_both(df):
    b = stepwise(FULL, df, direction="backward", weights="weight", cluster="psu", p_remove=0.01)
    assert set(b.selected) == {"rooms", "car", "region", "land"}
    assert (b.path["action"].iloc[1:] == "remove").all()
    assert set(b.path["variable"].iloc[1:]) == set(NOISE)
    assert (b.path["p_value"].iloc[1:] > 0.01).all()
    both = stepwise(FULL, df, direction="both", weights="weight", cluster="psu", p_enter=0.01)
    assert set(both.selected) == set(b.selected)


def test_both_removes_a_proxy_made_redundant():
    """x1 = x2 + x3 + noise enters first; once x2 and x3 are in it is insignificant and
    'both' removes it, while pure forward keeps it."""
    rng = np.random.default_rng(0)
    n = 2000
    x2, x3 = rng.normal(size=n), rng.normal(size=n)
    d = pd.DataFrame({"x1": x2 + x3 + rng.normal(0, 0.7, n), "x2": x2, "x3": x3})
    d["y"] = x2 + x3 + rng.normal(0, 1, n)
    both = stepwise("y ~ x1 + x2 + x3", d, direction="both")
    assert list(both.path["action"]) == ["start", "enter", "enter", "enter", "remove"]
    assert both.path["variable"].iloc[1] == "x1" and both.path["variable"].iloc[4] == "x1"
    assert both.path["p_value"].iloc[4] > 0.10
    assert set(both.selected) == {"x2", "x3"}
    assert "x1" in stepwise("y ~ x1 + x2 + x3", d, direction="forward").selected


def test_survey_argument(df):
    from pmt import Survey

    sv = Survey(df, weight="weight", psu="psu")
    a = stepwise(FULL, df, survey=sv, p_enter=0.01)
    b = stepwise(FULL, df, weights="weight", cluster="psu", p_enter=0.01)
    pd.testing.assert_frame_equal(a.path, b.path)


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
    # the path (one lasso_path call on transformed rows) agrees with direct fits
    row = r.path_coef.iloc[30]
    ref30 = Lasso(alpha=row.name, max_iter=10_000, tol=1e-8).fit(Xs, df["log_pcc"])
    assert np.allclose(row[X.columns], ref30.coef_, atol=1e-5)


def test_weighted_lasso_path_matches_weighted_sklearn_fit(df):
    from sklearn.linear_model import Lasso

    r = lasso_select(FULL, df, weights="weight", cv=3, seed=1)
    X = r.path_coef.columns
    assert r.path["n_nonzero"].iloc[-1] >= r.path["n_nonzero"].iloc[0]
    prep = prepare(FULL, df, weights="weight")
    Xd = prep.X[:, 1:]
    w = prep.weights
    mu = np.average(Xd, axis=0, weights=w)
    sd = np.sqrt(np.average((Xd - mu) ** 2, axis=0, weights=w))
    Xs = (Xd - mu) / sd
    for i in (10, 40, 70):
        alpha = r.path_coef.index[i]
        ref = Lasso(alpha=alpha, max_iter=10_000, tol=1e-8).fit(Xs, prep.y, sample_weight=w)
        assert np.allclose(r.path_coef.iloc[i][X], ref.coef_, atol=1e-5)
        nz = int((ref.coef_ != 0).sum())
        assert abs(r.path["n_nonzero"].iloc[i] - nz) <= 1  # tolerance-level ties at the margin


def test_lasso_errors(df):
    with pytest.raises(ModelError, match="cv must be"):
        lasso_select(FULL, df, cv=1)
    with pytest.raises(ModelError, match="clusters"):
        lasso_select(FULL, df, cluster=np.arange(len(df)) % 3, cv=5)
    d = df.copy()
    d["zero"] = 0.0
    with pytest.raises(ModelError, match="constant"):
        lasso_select("log_pcc ~ rooms + zero", d)


@pytest.mark.slow
def test_selection_on_synthetic_hbs_finds_generating_proxies():
    """On the embedded survey, with 10 pure-noise candidates added to PMT_FORMULA:
    forward and backward stepwise (p 0.01) keep all 29 generating variables and at most 2
    noise ones; the lasso keeps all generating variables and, with the 1se rule, drops at
    least half of the noise."""
    from threadpoolctl import threadpool_limits

    from pmt.datasets import PMT_FORMULA, synthetic_hbs
    from pmt.models.formula import parse_formula

    hbs = synthetic_hbs(n_households=20_000, seed=0)
    rng = np.random.default_rng(0)
    noise = [f"noise{i}" for i in range(10)]
    for v in noise:
        hbs[v] = rng.normal(size=len(hbs))
    true_vars = set(parse_formula(PMT_FORMULA).variables) - {"log_pcc"}
    formula = PMT_FORMULA + " + " + " + ".join(noise)
    with threadpool_limits(limits=1):
        for kw in ({"direction": "forward", "p_enter": 0.01}, {"direction": "backward", "p_remove": 0.01}):
            s = stepwise(formula, hbs, weights="weight", cluster="psu", **kw)
            assert true_vars <= set(s.selected), kw
            assert len(set(s.selected) & set(noise)) <= 2, kw
        lmin = lasso_select(formula, hbs, weights="weight", cluster="psu", seed=0)
        l1 = lasso_select(formula, hbs, weights="weight", cluster="psu", seed=0, rule="1se")
    assert true_vars <= set(lmin.kept) and true_vars <= set(l1.kept)
    assert len(set(l1.dropped) & set(noise)) >= 5
