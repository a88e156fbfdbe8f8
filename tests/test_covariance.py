"""One covariance vocabulary and one cluster meat (pmt.models.covariance), one probit engine
and one separation check (pmt.models._probit), checked against statsmodels."""

from __future__ import annotations

import json
import warnings
from typing import get_args

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats import sandwich_covariance as sw

import pmt
from pmt._literals import CovType
from pmt.errors import ModelError, OptionError
from pmt.models import _probit, covariance
from pmt.models.base import MODEL_TYPES
from pmt.models.covariance import (
    cluster_meat,
    cluster_sums,
    robust_cov,
    sandwich,
    small_sample_factor,
)


def simulate(n=1500, seed=4, n_psu=60):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.uniform(0, 2, size=n),
        "region": rng.choice(["a", "b", "c"], size=n),
        "psu": rng.choice([f"p{i:03d}" for i in range(n_psu)], size=n),  # text, unsorted
        "w": rng.uniform(0.5, 3.0, size=n),
    })
    shock = pd.Series(rng.normal(size=n_psu) * 0.5, index=[f"p{i:03d}" for i in range(n_psu)])
    eff = df.region.map({"a": 0.0, "b": 0.3, "c": -0.2}).to_numpy()
    df["y"] = (1 + 0.5 * df.x1 - 0.4 * df.x2 + eff + shock[df.psu].to_numpy()
               + rng.normal(size=n) * (1 + 0.3 * df.x2))
    df["poor"] = (df.y < 0.8).astype(int)
    u = rng.normal(size=n)
    df["d"] = (0.2 + 0.6 * df.x1 - 0.8 * df.x2 + u > 0).astype(int)
    df["ys"] = np.where(df.d == 1, 1 + 0.5 * df.x1 + 0.8 * (0.5 * u + 0.8 * rng.normal(size=n)),
                        np.nan)
    return df


@pytest.fixture(scope="module")
def df():
    return simulate()


def design(df, region=True):
    X = pd.DataFrame({"Intercept": 1.0, "x1": df.x1, "x2": df.x2}, index=df.index)
    if region:
        for lev in ("b", "c"):
            X[f"C(region)[T.{lev}]"] = (df.region == lev).astype(float)
    return X


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --- the helpers against statsmodels -----------------------------------------------------
def test_cluster_meat_and_sandwich_equal_statsmodels_cov_cluster(df):
    X = design(df)
    res = sm.WLS(df.y, X, weights=df.w).fit()
    groups = df.psu.to_numpy()
    ref = sw.cov_cluster(res, groups)  # CR1: G/(G-1) (N-1)/(N-K)
    scores = res.model.wexog * np.asarray(res.wresid)[:, None]  # w_i e_i x_i
    got = robust_cov(res.normalized_cov_params, scores, groups=groups, small_sample="linear")
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=0)
    # by hand: meat = sum_g s_g s_g', factor, bread both sides
    codes = pd.factorize(groups)[0]
    S = pd.DataFrame(scores).groupby(codes).sum().to_numpy()
    np.testing.assert_allclose(cluster_meat(scores, groups), S.T @ S, rtol=1e-12)
    np.testing.assert_allclose(cluster_sums(scores, codes), S, rtol=1e-12, atol=1e-12)
    n, k, G = len(df), X.shape[1], len(S)
    assert small_sample_factor("linear", n, k, G) == pytest.approx(
        G / (G - 1) * (n - 1) / (n - k), rel=1e-15)
    B = res.normalized_cov_params
    np.testing.assert_allclose(sandwich(B, S.T @ S, small_sample_factor("linear", n, k, G)),
                               ref, rtol=1e-10)
    # CR0 is statsmodels' use_correction=False
    np.testing.assert_allclose(robust_cov(B, scores, groups=groups),
                               sw.cov_cluster(res, groups, use_correction=False), rtol=1e-10)


def test_robust_cov_equals_statsmodels_wls_fit_cov_types(df):
    X = design(df)
    codes = pd.factorize(df.psu)[0]
    res = sm.WLS(df.y, X, weights=df.w).fit()
    scores = X.to_numpy() * (df.w * res.resid).to_numpy()[:, None]
    for cov_type, kw, groups in (("cluster", {"cov_kwds": {"groups": codes}}, df.psu),
                                 ("HC1", {}, None)):
        ref = sm.WLS(df.y, X, weights=df.w).fit(cov_type=cov_type, **kw)
        got = robust_cov(res.normalized_cov_params, scores, groups=groups, small_sample="linear")
        np.testing.assert_allclose(got, ref.cov_params(), rtol=1e-10)
    ref = sm.WLS(df.y, X, weights=df.w).fit(cov_type="HC0")
    np.testing.assert_allclose(robust_cov(res.normalized_cov_params, scores), ref.cov_params(),
                               rtol=1e-10)


@pytest.mark.parametrize("ref_cls,lk", [(sm.Probit, _probit.PROBIT), (sm.Logit, _probit.LOGIT)])
def test_robust_cov_equals_statsmodels_probit_and_logit(df, ref_cls, lk):
    X = design(df)
    model = ref_cls(df.poor, X)
    codes = pd.factorize(df.psu)[0]
    ref = model.fit(disp=0, tol=1e-12, cov_type="cluster", cov_kwds={"groups": codes})
    b = ref.params.to_numpy()
    H = _probit.hessian(b, X.to_numpy(), df.poor.to_numpy(), link=lk)
    bread = np.linalg.inv(-H)
    scores = _probit.score_obs(b, X.to_numpy(), df.poor.to_numpy(), lk)
    # the engine's analytic score and Hessian are statsmodels'
    np.testing.assert_allclose(scores, model.score_obs(b), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(H, model.hessian(b), rtol=1e-10, atol=1e-10)
    got = robust_cov(bread, scores, groups=df.psu, small_sample="linear")
    np.testing.assert_allclose(got, ref.cov_params(), rtol=1e-10)
    hc0 = model.fit(disp=0, tol=1e-12, cov_type="HC0")
    np.testing.assert_allclose(robust_cov(bread, scores), hc0.cov_params(), rtol=1e-10)


def test_models_equal_statsmodels(df):
    X = design(df)
    codes = pd.factorize(df.psu)[0]
    r = pmt.ols("y ~ x1 + x2 + C(region)", df, weights="w", cluster="psu")
    ref = sm.WLS(df.y, X, weights=df.w).fit(cov_type="cluster", cov_kwds={"groups": codes})
    np.testing.assert_allclose(r.cov_params().loc[X.columns, X.columns], ref.cov_params(),
                               rtol=1e-10)
    p = pmt.probit("poor ~ x1 + x2 + C(region)", df, cluster="psu")
    ref = sm.Probit(df.poor, X).fit(disp=0, tol=1e-12, cov_type="cluster",
                                    cov_kwds={"groups": codes})
    np.testing.assert_allclose(p.params[X.columns], ref.params, rtol=1e-10)
    np.testing.assert_allclose(p.cov_params().loc[X.columns, X.columns], ref.cov_params(),
                               rtol=1e-9)
    lg = pmt.logit("poor ~ x1 + x2 + C(region)", df, cov_type="nonrobust")
    ref = sm.Logit(df.poor, X).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(lg.params[X.columns], ref.params, rtol=1e-10)
    np.testing.assert_allclose(lg.bse[X.columns], ref.bse, rtol=1e-9)
    assert lg.llf == pytest.approx(ref.llf, rel=1e-12)
    assert lg.info["llnull"] == pytest.approx(ref.llnull, rel=1e-9)  # theirs: a numerical fit


def test_small_sample_factors():
    n, k, G = 1000, 5, 40
    assert small_sample_factor("linear", n, k) == pytest.approx(n / (n - k), rel=1e-15)
    assert small_sample_factor("ml", n, k, G) == G / (G - 1)
    assert small_sample_factor("ml", n, k) == n / (n - 1)
    assert small_sample_factor("none", n, k, G) == 1.0
    # HC1 is CR1 with every observation its own cluster
    assert small_sample_factor("linear", n, k, n) == pytest.approx(
        small_sample_factor("linear", n, k), rel=1e-15)
    assert small_sample_factor("linear", n, k, G, stratified=True) == (n - 1) / (n - k)
    with pytest.raises(OptionError, match="small_sample"):
        small_sample_factor("CR2", n, k, G)


def test_stratified_meat_is_svy_linearisation(df):
    rng = np.random.default_rng(0)
    S = rng.normal(size=(len(df), 3))
    S -= S.mean(axis=0)  # scores sum to zero at an estimate
    psu = df.psu.to_numpy()
    # one stratum: the centred meat times G/(G-1) is the uncentred one times G/(G-1)
    G = df.psu.nunique()
    np.testing.assert_allclose(cluster_meat(S, psu, strata=np.zeros(len(df))),
                               cluster_meat(S, psu) * G / (G - 1), rtol=1e-10)
    # two strata by hand: sum_h m_h/(m_h-1) sum_g (s_g - mean_h)(s_g - mean_h)'
    stratum = np.where(df.psu < "p030", "north", "south")
    sums = pd.DataFrame(S).groupby(psu).sum()
    h = pd.Series(stratum, index=psu).groupby(level=0).first()[sums.index]
    V = np.zeros((3, 3))
    for lev in ("north", "south"):
        block = sums[h.to_numpy() == lev].to_numpy()
        m = len(block)
        D = block - block.mean(axis=0)
        V += m / (m - 1) * D.T @ D
    np.testing.assert_allclose(cluster_meat(S, psu, strata=stratum), V, rtol=1e-10)
    with pytest.raises(ModelError, match="not nested"):
        cluster_meat(S, psu, strata=rng.integers(0, 2, len(df)))
    lonely = np.where(df.psu == "p000", "alone", "rest")
    with pytest.raises(ModelError, match="single cluster"):
        cluster_meat(S, psu, strata=lonely)
    with pytest.raises(ModelError, match="at least 2 clusters"):
        cluster_meat(S, np.zeros(len(df), dtype=int))


# --- one vocabulary -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def fits(df):
    f, bf = "y ~ x1 + x2 + C(region)", "poor ~ x1 + x2"
    out = {
        "ols": pmt.ols(f, df),
        "ols_cluster": pmt.ols(f, df, cluster="psu"),
        "ols_nonrobust": pmt.ols(f, df, cov_type="nonrobust"),
        "truncated": pmt.truncated_ols(f, df, share=0.5, unit="household", cluster="psu"),
        "probit": pmt.probit(bf, df),
        "probit_cluster": pmt.probit(bf, df, weights="w", cluster="psu"),
        "logit_nonrobust": pmt.logit(bf, df, cov_type="nonrobust"),
        "quantreg": pmt.quantreg(f, df, q=0.3),
        "quantreg_cluster": pmt.quantreg(f, df, q=0.3, cluster="psu"),
        "quantreg_bootstrap": pmt.quantreg(f, df, q=0.3, cluster="psu", cov_type="bootstrap",
                                           n_boot=10),
        "quantreg_none": pmt.quantreg(f, df, q=0.3, cov_type="none"),
        "stepwise": pmt.stepwise(f, df, cluster="psu").model,
        "lasso": pmt.lasso_select(f, df, cv=3).model,
    }
    for method in ("twostep", "ml"):
        for cov in ("nonrobust", "HC0", "cluster"):
            out[f"heckman_{method}_{cov}"] = _quiet(
                pmt.heckman, "d ~ x1 + x2", "ys ~ x1", df, method=method, cov_type=cov,
                cluster="psu" if cov == "cluster" else None)
    return out


def test_every_model_reports_cov_type_in_the_one_vocabulary(df, fits):
    vocabulary = set(get_args(CovType))
    assert set(covariance.COV_TYPES) == vocabulary
    expected = {
        "ols": "HC1", "ols_cluster": "cluster", "ols_nonrobust": "nonrobust",
        "truncated": "cluster", "probit": "HC0", "probit_cluster": "cluster",
        "logit_nonrobust": "nonrobust", "quantreg": "kernel", "quantreg_cluster": "cluster",
        "quantreg_bootstrap": "bootstrap", "quantreg_none": "none", "stepwise": "cluster",
        "lasso": "HC1",
    }
    for name, r in fits.items():
        assert r.cov_type in vocabulary, name
        if name in expected:
            assert r.cov_type == expected[name], name
        if name.startswith("heckman"):
            assert r.cov_type == name.rsplit("_", 1)[1]
            assert r.selection.cov_type == r.cov_type
        text = str(r.summary())
        assert f"covariance: {r.cov_type}" in text, name
    grouped = pmt.ols("y ~ x1 + x2", df.assign(g=df.x1 > 0), cluster="psu", by="g")
    assert grouped.cov_type == "cluster"
    table = pmt.regression_table({k: fits[k] for k in ("ols_cluster", "probit", "quantreg")})
    assert list(table.loc["se_type", ["ols_cluster", "probit", "quantreg"]]) == [
        "cluster", "HC0", "kernel"]


def test_defaults_and_numbers_of_the_heckman_vocabulary(df, fits):
    w = _quiet(pmt.heckman, "d ~ x1 + x2", "ys ~ x1", df, weights="w")
    assert w.cov_type == "HC0"
    assert _quiet(pmt.heckman, "d ~ x1 + x2", "ys ~ x1", df).cov_type == "nonrobust"
    assert _quiet(pmt.heckman, "d ~ x1 + x2", "ys ~ x1", df, cluster="psu").cov_type == "cluster"
    # cluster sandwich of Heckman: G/(G-1) (Stata's ML commands); singletons -> HC0 * n/(n-1)
    d1 = df.assign(one=np.arange(len(df)))
    n = len(df)
    for method in ("twostep", "ml"):
        hc0 = fits[f"heckman_{method}_HC0"]
        single = _quiet(pmt.heckman, "d ~ x1 + x2", "ys ~ x1", d1, method=method, cluster="one")
        np.testing.assert_allclose(single.bse, hc0.bse * np.sqrt(n / (n - 1)), rtol=1e-8)
        assert single.info["small_sample_correction"] == "G/(G-1); z tests"


@pytest.mark.parametrize("method,old,new", [
    ("twostep", "corrected", "nonrobust"), ("twostep", "robust", "HC0"),
    ("ml", "oim", "nonrobust"), ("ml", "robust", "HC0"),
])
def test_old_heckman_spellings_are_deprecated_aliases(df, fits, method, old, new):
    with pytest.warns(FutureWarning, match=f"cov_type='{old}'.*cov_type='{new}'"):
        r = pmt.heckman("d ~ x1 + x2", "ys ~ x1", df, method=method, cov_type=old)
    ref = fits[f"heckman_{method}_{new}"]
    assert r.cov_type == new
    np.testing.assert_array_equal(r.bse.to_numpy(), ref.bse.to_numpy())
    np.testing.assert_array_equal(r.selection.bse.to_numpy(), ref.selection.bse.to_numpy())


def test_old_spellings_of_other_methods_still_raise(df):
    with pytest.raises(ModelError, match="`cov_type` must be"):
        pmt.heckman("d ~ x1 + x2", "ys ~ x1", df, cov_type="oim")  # oim was ML-only
    with pytest.raises(OptionError, match="`cov_type` must be 'HC0', 'cluster' or 'nonrobust'"):
        pmt.probit("poor ~ x1", df, cov_type="HC1")
    with pytest.raises(OptionError, match="Did you mean 'HC1'"):
        pmt.ols("y ~ x1", df, cov_type="hc1")
    with pytest.raises(ModelError, match="needs `cluster=`"):
        pmt.quantreg("y ~ x1", df, cov_type="cluster")


def test_quantreg_se_is_a_deprecated_alias_of_cov_type(df, fits):
    f = "y ~ x1 + x2 + C(region)"
    with pytest.warns(FutureWarning, match="se='kernel'.*cov_type='cluster'"):
        old = pmt.quantreg(f, df, q=0.3, cluster="psu", se="kernel")
    new = fits["quantreg_cluster"]
    assert old.cov_type == "cluster" and old.info["meat"] == "cluster"
    np.testing.assert_array_equal(old.bse.to_numpy(), new.bse.to_numpy())
    with pytest.warns(FutureWarning, match="cov_type='kernel'"):
        assert pmt.quantreg(f, df, q=0.3, se="kernel").cov_type == "kernel"
    with pytest.warns(FutureWarning, match="cov_type='none'"):
        assert pmt.quantreg(f, df, q=0.3, se="none").cov_type == "none"
    with pytest.warns(FutureWarning, match="cov_type='bootstrap'"):
        b = pmt.quantreg(f, df, q=0.3, cluster="psu", se="bootstrap", n_boot=10)
    np.testing.assert_array_equal(b.bse.to_numpy(), fits["quantreg_bootstrap"].bse.to_numpy())
    # kernel with a cluster given but not asked for: the kernel meat without clusters
    k = pmt.quantreg(f, df, q=0.3, cluster="psu", cov_type="kernel")
    np.testing.assert_array_equal(k.bse.to_numpy(), fits["quantreg"].bse.to_numpy())
    with pytest.raises(ModelError, match="cov_type= only"):
        pmt.quantreg(f, df, se="kernel", cov_type="kernel")
    with pytest.raises(OptionError, match="`se` must be"):
        pmt.quantreg(f, df, se="robust")


@pytest.mark.parametrize("old,new", [("robust", "HC0"), ("oim", "nonrobust"),
                                     ("corrected", "nonrobust"), ("kernel-cluster", "cluster"),
                                     ("bootstrap-cluster", "bootstrap")])
def test_results_saved_under_old_names_load_under_new(fits, old, new):
    key = "heckman_ml_HC0" if old in ("robust", "oim", "corrected") else "quantreg_cluster"
    d = json.loads(json.dumps(fits[key].to_dict()))
    d["cov_type"] = old
    if "selection" in d:
        d["selection"]["cov_type"] = old
    r = MODEL_TYPES[d["model_type"]].from_dict(d)
    assert r.cov_type == new
    assert covariance.canonical_cov_type(old) == new
    assert covariance.canonical_cov_type("HC1") == "HC1"


# --- one probit engine and one separation check -----------------------------------------
def test_binary_and_heckman_share_the_engine():
    from pmt.models import binary, heckman

    assert heckman.inverse_mills is _probit.inverse_mills
    assert heckman.probit_fit is _probit.probit_fit
    assert binary.ProbitResult.cdf is _probit.PROBIT.cdf
    assert binary.LogitResult.pdf is _probit.LOGIT.pdf
    for module in (binary, heckman):
        for old in ("_separation", "_separating_terms", "_probit_loglike", "_probit_hessian",
                    "_probit_score_obs", "_meat"):
            assert not hasattr(module, old), (module.__name__, old)


def test_weighted_engine_equals_statsmodels_glm(df):
    X = design(df, region=False).to_numpy()
    y = df.poor.to_numpy()
    w = df.w.to_numpy()
    for lk, link in ((_probit.PROBIT, sm.families.links.Probit()),
                     (_probit.LOGIT, sm.families.links.Logit())):
        res = _probit.fit(X, y, w, link=lk)
        glm = sm.GLM(y, X, family=sm.families.Binomial(link), var_weights=w).fit(tol=1e-13)
        np.testing.assert_allclose(res.params, glm.params, rtol=1e-8)
        assert res.loglike == pytest.approx(glm.llf, rel=1e-11)
        np.testing.assert_allclose(res.hessian, glm.model.hessian(res.params, observed=True),
                                   rtol=1e-9)
        assert _probit.loglike(res.params, X, y, w, lk) == res.loglike


def test_one_separation_message_in_both_models(df):
    d = df.copy()
    d["flag"] = 0
    d.loc[d.index[:40], "flag"] = 1
    d.loc[d.index[:40], ["poor", "d"]] = 1
    d.loc[d.index[:40], "ys"] = 1.0
    with pytest.raises(ModelError, match=r"perfect separation.*'flag' = 1 only occurs with "
                                         r"poor = 1 \(40 rows\)\. Drop the term") as binary:
        pmt.probit("poor ~ x1 + flag", d)
    with pytest.raises(ModelError, match=r"perfect separation in the selection equation: "
                                         r"'flag' = 1 only occurs with d = 1 \(40 rows\)\. Drop "
                                         r"the term") as selection:
        _quiet(pmt.heckman, "d ~ x1 + x2 + flag", "ys ~ x1", d)
    assert str(binary.value).split(": ", 1)[1] == str(selection.value).split(": ", 1)[1].replace(
        "d = 1", "poor = 1")
    split = df.assign(poor=(df.x1 < 0.1).astype(int))
    with pytest.raises(ModelError, match="'x1' splits poor = 0 and 1 at a threshold"):
        pmt.logit("poor ~ x1 + x2", split)


def test_separation_by_a_combination_of_terms_in_both_models():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=500), rng.normal(size=500)
    d = (x1 + x2 > 0).astype(int)
    df = pd.DataFrame({"d": d, "x1": x1, "x2": x2, "y": np.where(d == 1, x1, np.nan)})
    for fit in (lambda: pmt.probit("d ~ x1 + x2", df), lambda: pmt.logit("d ~ x1 + x2", df),
                lambda: _quiet(pmt.heckman, "d ~ x1 + x2", "y ~ x1", df)):
        with pytest.raises(ModelError, match="does not converge: perfect or quasi-perfect "
                                             "separation by a combination of terms"):
            fit()


# --- variable selection under its new name ----------------------------------------------
def test_variable_selection_module_and_its_old_name():
    from pmt.models import selection, variable_selection

    for name in ("stepwise", "lasso_select", "StepwiseResult", "LassoResult"):
        assert getattr(selection, name) is getattr(variable_selection, name)
    assert pmt.stepwise is variable_selection.stepwise
    assert pmt.lasso_select is variable_selection.lasso_select
    assert "old name" in selection.__doc__.lower()
