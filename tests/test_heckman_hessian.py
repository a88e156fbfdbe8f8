"""The analytic Hessian of the Heckman ML log-likelihood (issue 18).

Checked against central differences of the analytic gradient, against second differences
of a log-likelihood written here with scipy.stats, and through the standard errors it
gives, which must equal those of a finite-difference observed information (and sandwich)
of that independent likelihood in the natural parametrisation (b, g, sigma, rho).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pmt.errors import PMTError
from pmt.models._probit import inverse_mills, inverse_mills_delta
from pmt.models.heckman import _HeckmanLL, heckman

SEL = "d ~ x1 + x2"
OUT = "y ~ x1"
K = 7  # b (2), g (3), log sigma, atanh rho


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    rho, sigma = 0.6, 0.8
    u = rng.normal(size=n)
    e = sigma * (rho * u + np.sqrt(1 - rho**2) * rng.normal(size=n))
    d = (0.3 + 0.8 * x1 - 1.0 * x2 + u > 0).astype(int)
    y = np.where(d == 1, 1.0 + 0.5 * x1 + e, np.nan)
    return pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2,
                         "w": rng.uniform(0.5, 3.0, size=n)})


@pytest.fixture(scope="module")
def data():
    return simulate(2000, seed=18)


def arrays(df):
    d = df.d.to_numpy() == 1
    Z = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    X = np.column_stack([np.ones(len(df)), df.x1])
    return d, Z, X, np.nan_to_num(df.y.to_numpy())


def loglike_rows(df, b, g, sigma, rho):
    """Per-row Heckman log-likelihood written out with scipy.stats (not the module's)."""
    d, Z, X, y = arrays(df)
    zg = Z @ g
    e = y - X @ b
    selected = stats.norm.logpdf(e, scale=sigma) + stats.norm.logcdf(
        (zg + rho * e / sigma) / np.sqrt(1 - rho**2))
    return np.where(d, selected, stats.norm.logcdf(-zg))


def internal(df, theta, w):
    """Weighted log-likelihood in the module's parametrisation (b, g, log sigma, atanh rho)."""
    return float(w @ loglike_rows(df, theta[:2], theta[2:5], np.exp(theta[5]),
                                  np.tanh(theta[6])))


def model(df, w):
    d, Z, X, y = arrays(df)
    return _HeckmanLL(Z, d, X[d], y[d], w)


def gradient_differences(f, theta, h=1e-6):
    return np.column_stack([(f.gradient(theta + h * e) - f.gradient(theta - h * e)) / (2 * h)
                            for e in np.eye(K)])


def second_differences(fun, theta, h=1e-4):
    H = np.empty((K, K))
    E = np.eye(K) * h
    for i in range(K):
        for j in range(i, K):
            H[i, j] = H[j, i] = (fun(theta + E[i] + E[j]) - fun(theta + E[i] - E[j])
                                 - fun(theta - E[i] + E[j]) + fun(theta - E[i] - E[j])) / (4 * h * h)
    return H


# a point far from the optimum, with rho = -0.95 so that some selected rows sit deep in the
# left tail of Phi (the continued-fraction branch of inverse_mills_delta)
RANDOM_POINT = np.array([0.2, 1.1, -0.4, 0.9, -0.2, np.log(0.5), np.arctanh(-0.95)])


@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_equals_differences_of_the_gradient(data, weighted):
    """|analytic - central difference of the analytic gradient| <= 1e-7 of the largest
    entry, at the estimate and at a point far from it (incl. tail rows)."""
    w = data.w.to_numpy() if weighted else np.ones(len(data))
    f = model(data, w)
    r = heckman(SEL, OUT, data, method="ml", weights="w" if weighted else None)
    estimate = np.concatenate([r.params, r.selection.params, [np.log(r.sigma), np.arctanh(r.rho)]])
    _, _, _, _, _, a, _ = f._parts(RANDOM_POINT)
    assert (a < -5).sum() > 10  # the tail branch is exercised
    for theta in (estimate, RANDOM_POINT):
        H = f.hessian(theta)
        ref = gradient_differences(f, theta)
        scale = np.max(np.abs(ref))
        np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-7 * scale)
        np.testing.assert_array_equal(H, H.T)
    # at the maximum the Hessian is negative definite
    assert np.all(np.linalg.eigvalsh(f.hessian(estimate)) < 0)


@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_equals_second_differences_of_independent_loglike(data, weighted):
    """Against second differences of the scipy.stats likelihood (no module code): to 1e-6
    of the largest entry (round-off of the differences is ~1e-8 of it)."""
    w = data.w.to_numpy() if weighted else np.ones(len(data))
    f = model(data, w)
    theta = RANDOM_POINT
    assert f.loglike(theta) == pytest.approx(internal(data, theta, w), rel=1e-12)
    ref = second_differences(lambda t: internal(data, t, w), theta)
    H = f.hessian(theta)
    np.testing.assert_allclose(H, ref, rtol=1e-5, atol=1e-6 * np.max(np.abs(ref)))


def natural_information(df, r, w, h=1e-5):
    """Observed information and per-row scores of the scipy likelihood in (b, g, sigma,
    rho), by central differences; the (b, g, sigma, rho) blocks of the inverse do not
    depend on how sigma and rho are parametrised (the gradient is zero there)."""
    theta = np.concatenate([r.params, r.selection.params, [r.sigma, r.rho]])

    def rows(t):
        return loglike_rows(df, t[:2], t[2:5], t[5], t[6])

    S = np.column_stack([(rows(theta + h * e) - rows(theta - h * e)) / (2 * h) for e in np.eye(K)])
    H = second_differences(lambda t: float(w @ rows(t)), theta, h=1e-4)
    return -H, S * w[:, None]


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_standard_errors_equal_independent_information(data, cov_type):
    w = data.w.to_numpy() if cov_type == "HC0" else np.ones(len(data))
    r = heckman(SEL, OUT, data, method="ml", weights="w" if cov_type == "HC0" else None,
                cov_type=cov_type)
    info, S = natural_information(data, r, w)
    bread = np.linalg.inv(info)
    V = bread if cov_type == "nonrobust" else bread @ (S.T @ S) @ bread
    se = np.sqrt(np.diag(V))
    np.testing.assert_allclose(r.bse, se[:2], rtol=1e-5)
    np.testing.assert_allclose(r.selection.bse, se[2:5], rtol=1e-5)
    assert r.sigma_se == pytest.approx(se[5], rel=1e-5)
    assert r.rho_se == pytest.approx(se[6], rel=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"weights": "w"}])
def test_analytic_and_numerical_hessian_fits_agree(data, kwargs):
    """The private reference path (central differences, the earlier default) gives the
    same estimates and standard errors to its own accuracy."""
    a = heckman(SEL, OUT, data, method="ml", **kwargs)
    n = heckman(SEL, OUT, data, method="ml", _hessian="numerical", **kwargs)
    np.testing.assert_allclose(a.params, n.params, rtol=1e-9)
    np.testing.assert_allclose(a.selection.params, n.selection.params, rtol=1e-9)
    np.testing.assert_allclose(a.bse, n.bse, rtol=1e-7)
    np.testing.assert_allclose(a.selection.bse, n.selection.bse, rtol=1e-7)
    assert (a.sigma_se, a.rho_se) == pytest.approx((n.sigma_se, n.rho_se), rel=1e-7)
    with pytest.raises(PMTError, match="_hessian"):
        heckman(SEL, OUT, data, method="ml", _hessian="exact")


def test_inverse_mills_delta_is_the_slope_and_stable_in_the_tail():
    # -d lambda / dc by central differences, on both sides of the switch at c = -5 (not
    # further left: lambda itself carries ~c^2 ulps there, which the difference amplifies)
    c = np.array([-8.0, -5.2, -4.8, -2.0, 0.0, 1.5, 6.0])
    h = 1e-5
    slope = -(inverse_mills(c + h) - inverse_mills(c - h)) / (2 * h)
    np.testing.assert_allclose(inverse_mills_delta(c), slope, rtol=1e-7)
    # far tail: the asymptotic series 1 - 1/x^2 + 6/x^4 - 50/x^6 (error O(x^-8));
    # the direct lambda (lambda + c) has lost 1e-5 relative at x = 1e3 and all digits by 1e5
    x = np.array([300.0, 1e3, 1e5, 1e8])
    series = 1 - 1 / x**2 + 6 / x**4 - 50 / x**6
    np.testing.assert_allclose(inverse_mills_delta(-x), series, rtol=1e-14)
    grid = inverse_mills_delta(np.linspace(-50, 8, 581))  # beyond 8 it underflows to 0
    assert np.all((grid > 0) & (grid < 1)) and np.all(np.diff(grid) < 0)
    assert inverse_mills_delta(-7.0).shape == ()
