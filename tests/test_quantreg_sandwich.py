"""Kernel sandwich of pmt.quantreg with informative sampling weights (issue 12, item 7).

With weights the meat of the sandwich is the empirical ``sum_i w_i^2 psi_i^2 x_i x_i'``,
``psi_i = q - 1[u_i < 0]``. The kernel meat ``q(1-q) sum_i w_i^2 x_i x_i'`` (pmt before,
and R's ``summary.rq(se="ker")`` with weights) assumes the weights unrelated to the
residual given x. When inclusion depends on welfare it is wrong: in the Monte Carlo
below (Poisson sampling from a simulated population, inclusion probability increasing in
y, weights 1/pi, 1000 samples of about 2,000) 95 % intervals for the slope cover the
population quantile regression slope

    q     empirical meat (pmt now)    kernel meat (pmt before)
    0.2   0.948 (mean s.e. / MC sd 1.01)   0.900 (0.84: s.e. 16 % too small)
    0.8   0.962 (1.02)                     0.987 (1.24: s.e. 24 % too large)

The old covariance is computed here from an independent transcription of the formula,
not by pmt.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pmt.models.quantile import quantreg


def weighted_quantile_inverse_cdf(x, w, q):
    """Smallest x whose cumulative weight share is >= q (DESIGN.md section 4)."""
    order = np.argsort(x, kind="stable")
    share = np.cumsum(w[order]) / w.sum()
    return x[order][np.searchsorted(share, q - 1e-12)]


def sandwich(X, y, b, q, w, meat):
    """Powell kernel sandwich with the Hall-Sheather bandwidth, written from the formulas.

    Bread ``A = sum w f x x'``, ``f = phi(u/h)/h``; meat "empirical"
    (``sum w^2 psi^2 x x'``) or "kernel" (``q(1-q) sum w^2 x x'``).
    """
    n = len(y)
    u = y - X @ b
    z = stats.norm.ppf(q)
    hq = n ** (-1 / 3) * stats.norm.ppf(0.975) ** (2 / 3) * (
        1.5 * stats.norm.pdf(z) ** 2 / (2 * z**2 + 1)
    ) ** (1 / 3)
    while q - hq < 0 or q + hq > 1:
        hq /= 2
    mean = np.sum(w * u) / np.sum(w)
    sd = np.sqrt(np.sum(w * (u - mean) ** 2) / np.sum(w) * n / (n - 1))
    iqr = weighted_quantile_inverse_cdf(u, w, 0.75) - weighted_quantile_inverse_cdf(u, w, 0.25)
    h = (stats.norm.ppf(q + hq) - stats.norm.ppf(q - hq)) * min(sd, iqr / 1.34)
    f = np.exp(-0.5 * (u / h) ** 2) / np.sqrt(2 * np.pi) / h
    A = np.einsum("i,ij,ik->jk", w * f, X, X)
    if meat == "empirical":
        psi = np.where(u < 0, q - 1.0, q)
        B = np.einsum("i,ij,ik->jk", (w * psi) ** 2, X, X)
    else:
        B = q * (1 - q) * np.einsum("i,ij,ik->jk", w**2, X, X)
    Ainv = np.linalg.inv(A)
    return Ainv @ B @ Ainv


@functools.lru_cache(maxsize=1)
def population(N=200_000, seed=2024, gamma=0.6, n_expected=2000):
    """y = 1 + 2x + (0.5 + 0.5x) e, x ~ U(0, 2); inclusion pi increasing in y (the poor
    respond less), so the weights 1/pi are informative about the residual given x."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 2, N)
    y = 1 + 2 * x + (0.5 + 0.5 * x) * rng.standard_normal(N)
    pi = np.exp(gamma * (y - y.mean()) / y.std())
    pi *= n_expected / pi.sum()
    return x, y, pi


def test_weighted_kernel_se_is_the_empirical_meat_sandwich():
    x, y, pi = population()
    rng = np.random.default_rng(5)
    s = rng.random(len(y)) < pi
    d = pd.DataFrame({"y": y[s], "x": x[s], "w": 1 / pi[s]})
    X = np.column_stack([np.ones(len(d)), d["x"]])
    for q in (0.2, 0.5, 0.8):
        r = quantreg("y ~ x", d, q=q, weights="w")
        assert r.info["meat"] == "empirical" and r.cov_type == "kernel"
        cov = sandwich(X, d["y"].to_numpy(), r.params.to_numpy(), q, d["w"].to_numpy(), "empirical")
        np.testing.assert_allclose(r.cov.to_numpy(), cov, rtol=1e-8)
        np.testing.assert_allclose(r.bse.to_numpy(), np.sqrt(np.diag(cov)), rtol=1e-8)
    # unweighted fits keep R's q(1-q) X'X meat (tested against R's code in test_quantreg)
    assert quantreg("y ~ x", d, q=0.5).info["meat"] == "q(1-q)"
    assert quantreg("y ~ x", d.assign(g=np.arange(len(d)) // 4), q=0.5, weights="w",
                    cluster="g").info["meat"] == "cluster"


def test_weighted_meat_equals_singleton_cluster_meat():
    # Independent check of the formula: one row per cluster is the same empirical meat.
    x, y, pi = population()
    s = np.random.default_rng(6).random(len(y)) < pi
    d = pd.DataFrame({"y": y[s], "x": x[s], "w": 1 / pi[s], "id": np.arange(s.sum())})
    a = quantreg("y ~ x", d, q=0.3, weights="w")
    b = quantreg("y ~ x", d, q=0.3, weights="w", cluster="id")
    np.testing.assert_allclose(a.bse.to_numpy(), b.bse.to_numpy(), rtol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "q, old_outside", [(0.2, lambda c: c < 0.92), (0.8, lambda c: c > 0.98)]
)
def test_coverage_with_informative_poisson_sampling(q, old_outside):
    """95 % intervals cover the population QR slope 92-98 % of the time (1000 samples)."""
    x, y, pi = population()
    truth = quantreg("y ~ x", pd.DataFrame({"y": y, "x": x}), q=q, cov_type="none").params["x"]
    rng = np.random.default_rng(11)
    z = stats.norm.ppf(0.975)
    hits_new, hits_old, est, se_new, se_old = [], [], [], [], []
    for _ in range(1000):
        s = rng.random(len(y)) < pi
        d = pd.DataFrame({"y": y[s], "x": x[s], "w": 1 / pi[s]})
        r = quantreg("y ~ x", d, q=q, weights="w")
        b = r.params["x"]
        X = np.column_stack([np.ones(len(d)), d["x"]])
        old = np.sqrt(
            sandwich(X, d["y"].to_numpy(), r.params.to_numpy(), q, d["w"].to_numpy(), "kernel")[1, 1]
        )
        est.append(b)
        se_new.append(r.bse["x"])
        se_old.append(old)
        hits_new.append(abs(b - truth) <= z * r.bse["x"])
        hits_old.append(abs(b - truth) <= z * old)
    cov_new, cov_old = np.mean(hits_new), np.mean(hits_old)
    print(
        f"q={q}: coverage empirical meat {cov_new:.3f}, kernel meat {cov_old:.3f}; "
        f"MC sd {np.std(est):.4f}, mean se {np.mean(se_new):.4f} (old {np.mean(se_old):.4f})"
    )
    assert 0.92 <= cov_new <= 0.98
    assert old_outside(cov_old)
    # the new standard errors track the Monte Carlo spread of the estimates
    assert np.mean(se_new) / np.std(est) == pytest.approx(1.0, abs=0.1)
