"""The statsmodels-like result contract of DESIGN.md 5b: conf_int, cov_params, tvalues,
pvalues, resid, fittedvalues, df_resid and the Summary object, for every model result."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import pmt
from pmt import ModelError
from pmt.models.heckman import inverse_mills
from pmt.models.summary import Summary


def simulate(n=2000, seed=3, n_psu=80):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.uniform(0, 2, size=n),
        "region": rng.choice(["a", "b", "c"], size=n),
        "urban": rng.integers(0, 2, size=n),
        "psu": rng.integers(0, n_psu, size=n),
        "w": rng.uniform(0.5, 3.0, size=n),
    })
    eff = df.region.map({"a": 0.0, "b": 0.3, "c": -0.2}).to_numpy()
    df["y"] = 1 + 0.5 * df.x1 - 0.4 * df.x2 + eff + rng.normal(size=n) * (1 + 0.3 * df.x2)
    df["poor"] = (df.y < 0.8).astype(int)
    # Heckman: d selected, outcome observed for d = 1 only
    u = rng.normal(size=n)
    e = 0.8 * (0.5 * u + np.sqrt(0.75) * rng.normal(size=n))
    df["d"] = (0.2 + 0.6 * df.x1 - 0.8 * df.x2 + u > 0).astype(int)
    df["ys"] = np.where(df.d == 1, 1 + 0.5 * df.x1 + e, np.nan)
    df.index = pd.RangeIndex(100, 100 + n)  # labels differ from positions
    df.loc[df.index[:5], "x1"] = np.nan  # dropped rows
    return df


FORMULA = "y ~ x1 + x2 + C(region)"


@pytest.fixture(scope="module")
def df():
    return simulate()


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def results(df):
    return {
        "ols_cluster": _quiet(pmt.ols, FORMULA, df, weights="w", cluster="psu"),
        "ols_hc1": _quiet(pmt.ols, FORMULA, df),
        "truncated": _quiet(pmt.truncated_ols, FORMULA, df, quantile=0.5, unit="household"),
        "quantreg": _quiet(pmt.quantreg, FORMULA, df, q=0.3, weights="w"),
        "probit": _quiet(pmt.probit, "poor ~ x1 + x2 + C(region)", df, cov_type="nonrobust"),
        "logit": _quiet(pmt.logit, "poor ~ x1 + x2", df, weights="w", cluster="psu"),
        "heckman2": _quiet(pmt.heckman, "d ~ x1 + x2", "ys ~ x1", df),
        "heckman_ml": _quiet(pmt.heckman, "d ~ x1 + x2", "ys ~ x1", df, method="ml"),
    }


def _sm_design(df, cols=("x1", "x2")):
    sub = df.dropna(subset=list(cols))
    X = pd.DataFrame({"Intercept": 1.0}, index=sub.index)
    for c in cols:
        X[c] = sub[c]
    return sub, X


def test_ols_cluster_conf_int_matches_statsmodels(df, results):
    r = results["ols_cluster"]
    sub, X = _sm_design(df)
    for lev in ("b", "c"):
        X[f"C(region)[T.{lev}]"] = (sub.region == lev).astype(float)
    codes = pd.factorize(sub.psu)[0]
    ref = sm.WLS(sub.y, X, weights=sub.w).fit(
        cov_type="cluster", cov_kwds={"groups": codes, "use_correction": True,
                                      "df_correction": True}, use_t=True)
    G = sub.psu.nunique()
    assert r.df_resid == G - 1 == ref.df_resid_inference
    ci = r.conf_int().loc[X.columns]
    assert list(ci.columns) == [0, 1]
    np.testing.assert_allclose(ci.to_numpy(), ref.conf_int().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.conf_int(0.9).to_numpy(),
                               r.conf_int(alpha=0.1).to_numpy())
    np.testing.assert_allclose(r.conf_int(0.9).loc[X.columns].to_numpy(),
                               ref.conf_int(alpha=0.1).to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.cov_params().loc[X.columns, X.columns].to_numpy(),
                               ref.cov_params().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.tvalues[X.columns], ref.tvalues, rtol=1e-10)
    np.testing.assert_allclose(r.pvalues[X.columns], ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose(r.fittedvalues.loc[sub.index], ref.fittedvalues, rtol=1e-10)
    np.testing.assert_allclose(r.resid.loc[sub.index], ref.resid, rtol=1e-8, atol=1e-12)


def test_ols_hc1_conf_int_matches_statsmodels(df, results):
    r = results["ols_hc1"]
    sub, X = _sm_design(df)
    for lev in ("b", "c"):
        X[f"C(region)[T.{lev}]"] = (sub.region == lev).astype(float)
    ref = sm.OLS(sub.y, X).fit(cov_type="HC1", use_t=True)
    assert r.df_resid == ref.df_resid
    np.testing.assert_allclose(r.conf_int().loc[X.columns].to_numpy(),
                               ref.conf_int().to_numpy(), rtol=1e-10)


def test_probit_conf_int_matches_statsmodels_probit(df, results):
    r = results["probit"]
    sub, X = _sm_design(df)
    for lev in ("b", "c"):
        X[f"C(region)[T.{lev}]"] = (sub.region == lev).astype(float)
    ref = sm.Probit(sub.poor, X).fit(disp=0, tol=1e-12)
    assert r.df_resid is None  # z tests and normal intervals, as statsmodels' Probit
    np.testing.assert_allclose(r.params[X.columns], ref.params, rtol=1e-6)
    np.testing.assert_allclose(r.conf_int().loc[X.columns].to_numpy(),
                               ref.conf_int().to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(r.pvalues[X.columns], ref.pvalues, rtol=1e-4)
    # fitted values are probabilities; resid = y - p (statsmodels' resid_response)
    np.testing.assert_allclose(r.fittedvalues.loc[sub.index], ref.predict(), rtol=1e-6)
    np.testing.assert_allclose(r.resid.loc[sub.index], ref.resid_response, atol=1e-7)


@pytest.mark.parametrize("name", ["quantreg", "logit", "heckman2", "heckman_ml", "truncated"])
def test_conf_int_uses_the_distribution_of_the_pvalues(results, name):
    r = results[name]
    ci = r.conf_int(0.9)
    assert list(ci.index) == list(r.params.index)
    # at the interval's bound the p-value of "coef = bound" is 1 - level: same distribution
    t_at_bound = (r.params - ci[0]) / r.bse
    dist = stats.norm if r.df_resid is None else stats.t(r.df_resid)
    np.testing.assert_allclose(2 * dist.sf(t_at_bound), 0.1, rtol=1e-9)
    p_from_t = 2 * dist.sf(np.abs(r.tvalues))
    np.testing.assert_allclose(r.pvalues, p_from_t, rtol=1e-9)
    if name == "quantreg":
        assert r.df_resid == r.nobs - len(r.params)


@pytest.mark.parametrize("name", ["ols_cluster", "ols_hc1", "truncated", "quantreg",
                                  "probit", "logit", "heckman2", "heckman_ml"])
def test_cov_params_resid_fitted(df, results, name):
    r = results[name]
    cov = r.cov_params()
    pd.testing.assert_frame_equal(cov, r.cov)
    cov.iloc[0, 0] = -1.0
    assert r.cov.iloc[0, 0] != -1.0  # a copy
    np.testing.assert_allclose(np.sqrt(np.diag(r.cov_params())), r.bse, rtol=1e-12)
    fitted, resid = r.fittedvalues, r.resid
    assert fitted.index.equals(resid.index)
    lhs = r.design.lhs
    y = df.loc[fitted.index, lhs].astype(float)
    np.testing.assert_allclose(resid + fitted, y, rtol=1e-12, atol=1e-12)
    if name.startswith("heckman"):
        assert set(fitted.index) == set(df.index[(df.d == 1) & df.x1.notna()])
    elif name != "truncated":
        assert len(fitted) == r.nobs and fitted.index[0] == df.index[5]  # 5 rows dropped


def test_heckman_fitted_is_conditional_mean(df, results):
    for key in ("heckman2", "heckman_ml"):
        r = results[key]
        fitted = r.fittedvalues
        rows = df.loc[fitted.index]
        zg = r.selection_index(rows)
        xb = r.params["Intercept"] + r.params["x1"] * rows.x1
        np.testing.assert_allclose(fitted, xb + r.rho_sigma * inverse_mills(zg), rtol=1e-10)
        np.testing.assert_allclose(fitted, r.predict(rows), rtol=1e-10)
        sel = r.selection
        assert len(sel.fittedvalues) == r.nobs
        np.testing.assert_allclose(sel.fittedvalues, r.predict(df.loc[sel.fittedvalues.index],
                                                                what="probability"))


def test_loaded_artifact_keeps_inference_but_no_sample(df, results, tmp_path):
    for name, r in results.items():
        path = tmp_path / f"{name}.json"
        pmt.save_model(r, path)
        r2 = pmt.load_model(path)
        rows = df.dropna(subset=["x1"]).head(50)
        pd.testing.assert_series_equal(r2.predict(rows), r.predict(rows))
        pd.testing.assert_frame_equal(r2.conf_int(), r.conf_int())
        pd.testing.assert_frame_equal(r2.cov_params(), r.cov_params())
        with pytest.raises(ModelError, match="keeps no estimation sample"):
            r2.resid  # noqa: B018


@pytest.mark.parametrize("name", ["ols_cluster", "quantreg", "probit", "heckman2",
                                  "heckman_ml"])
def test_summary_object(results, name):
    r = results[name]
    s = r.summary()
    assert isinstance(s, Summary) and isinstance(s, str)
    text = s.as_text()
    assert type(text) is str and str(s) == text and repr(s) == text
    assert s == text and "coef" in s and (s + "x").endswith("x")
    html = s.as_html()
    assert s._repr_html_() == html and html.startswith("<div")
    for term in r.params.index:
        assert term in text, term
        assert term in html, term
    assert "0.975]" in html and "std err" in html
    if name.startswith("heckman"):
        assert "selection equation" in text and "selection equation" in html
        for term in r.selection.params.index:
            assert term in html


def test_summary_without_covariance(df):
    r = _quiet(pmt.quantreg, FORMULA, df, q=0.5, cov_type="none")
    assert r.cov_params().isna().all().all()
    assert r.conf_int().isna().all().all()
    assert "Intercept" in r.summary().as_html()


def test_grouped_ols_contract(df):
    g = _quiet(pmt.ols, "y ~ x1 + x2", df, weights="w", by="urban")
    ci = g.conf_int()
    assert ci.index.equals(g.params.index) and list(ci.columns) == [0, 1]
    for grp, r in g.results.items():
        np.testing.assert_allclose(ci.loc[grp].to_numpy(), r.conf_int().to_numpy())
        assert g.df_resid[grp] == r.df_resid
    cov = g.cov_params()
    assert cov.shape == (6, 6) and cov.loc["0", "1"].eq(0).all().all()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), g.bse)
    assert len(g.fittedvalues) == g.nobs
    y = df.loc[g.fittedvalues.index, "y"]
    np.testing.assert_allclose(g.resid + g.fittedvalues, y, rtol=1e-12)
    s = g.summary()
    assert "urban = 1" in s and "urban = 1" in s.as_html() and len(s.sections) == 2


def test_conf_int_level_checked(results):
    with pytest.raises(ModelError, match="level"):
        results["ols_hc1"].conf_int(95)
