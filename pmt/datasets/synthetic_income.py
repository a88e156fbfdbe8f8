"""Incomes by source and current social assistance of the synthetic survey.

Called by :func:`pmt.datasets.synthetic_hbs` after consumption has been drawn; the joint
law of consumption and income is factorised as f(consumption) f(income | consumption).

* **Hard-to-verify income** (business, agriculture, in-kind, other) follows a Heckman
  selection model: ``has_htv = 1[Z gamma + u_s > 0]`` and, for those with it,
  ``log_inc_htv = X beta + u_o``, with (u_s, u_o / sigma) standard bivariate normal with
  correlation ``rho``, independent of Z and X. The outcome error also loads on the
  (standardised) consumption residual, which is itself independent of every regressor, so
  the selection model stays exactly true while HTV income moves with consumption. The total
  is split into the four sources with Dirichlet shares whose means follow Belarus Table 10.
* **Verifiable income**: wages of employed members (log wage rising with log consumption,
  education and urban residence), old-age and disability pensions, benefits (the current
  social assistance plus a fallback benefit for households with no other verifiable
  income), alimony.
* **Social assistance**: the Uzbek family allowances of 2018, received with a probability
  that falls with consumption among households that pass the demographic test.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_HTV_SOURCES = ("business", "agri", "inkind", "other")


def _lognormal_factor(rng: np.random.Generator, sd: float, n: int) -> np.ndarray:
    """Mean-one lognormal factors exp(sd z - sd^2 / 2)."""
    return np.exp(sd * rng.standard_normal(n) - sd**2 / 2)


def _linear(coefs: dict, col: dict) -> np.ndarray:
    """Linear index sum_k coef_k x_k of a {term: coefficient} dict ("Intercept" = 1)."""
    n = col["log_pcc"].shape[0]
    out = np.zeros(n)
    for term, value in coefs.items():
        out += float(value) * (1.0 if term == "Intercept" else np.asarray(col[term], dtype=float))
    return out


def _social_assistance(col: dict, cal: dict, rng: np.random.Generator) -> np.ndarray:
    sa = cal["social_assistance"]
    mw = float(sa["minimum_wage"])
    kids_3_14 = col["n_children_3_5"] + col["n_children_6_14"]
    child_care = col["n_children_0_2"] > 0
    children = kids_3_14 > 0
    aid = (col["single_pensioner"] == 1) | (col["any_disabled"] == 1)
    eligible = child_care | children | aid
    by_children = np.asarray(sa["children_mw"], dtype=float)[np.clip(kids_3_14, 1, 3) - 1]
    amount_mw = np.select(
        [child_care, children, aid], [sa["child_care_mw"], by_children, sa["financial_aid_mw"]], 0.0
    )
    a, b = sa["receipt_index"]
    gap = col["log_pcc"] - np.log(float(cal["poverty"]["line"]))
    receives = eligible & (rng.random(gap.shape[0]) < ndtr(a + b * gap))
    return np.where(receives, amount_mw * mw, 0.0)


def add_income(col: dict, z_consumption: np.ndarray, cal: dict, rng: np.random.Generator) -> dict:
    """Draw incomes by source, HTV selection and social assistance.

    Parameters
    ----------
    col : dict of column name -> ndarray
        Household columns drawn so far (roster, proxies, ``log_pcc``).
    z_consumption : ndarray
        Standardised residual of ``log_pcc`` (PSU effect + household noise) / sd; standard
        normal and independent of every proxy.
    cal : dict
        The calibration (``pmt/datasets/calibration.yaml``).
    rng : numpy.random.Generator

    Returns
    -------
    dict of column name -> ndarray
        ``inc_*`` columns (UZS per household per month), ``has_htv``, ``log_inc_htv``
        (NaN where ``has_htv`` is 0), ``income`` and ``social_assistance``.
    """
    inc = cal["income"]
    n = z_consumption.shape[0]
    urban = col["urban"]

    # --- hard-to-verify income: Heckman selection model --------------------------------
    rho, sigma, kappa = inc["htv_rho"], inc["htv_sigma"], inc["htv_consumption_loading"]
    e_o = kappa * z_consumption + np.sqrt(1.0 - kappa**2) * rng.standard_normal(n)
    u_s = rho * e_o + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)
    zg = _linear(inc["htv_selection"], col)
    xb = _linear(inc["htv_outcome"], col)
    has_htv = (zg + u_s > 0).astype(np.int64)
    log_htv = np.where(has_htv == 1, xb + sigma * e_o, np.nan)
    htv = np.where(has_htv == 1, np.exp(np.where(has_htv == 1, log_htv, 0.0)), 0.0)

    # split into sources (Dirichlet via normalised gammas); no farm income without land or animals
    conc = float(inc["htv_split_concentration"])
    means = np.where(
        urban[:, None] == 1,
        np.array([inc["htv_split_urban"][s] for s in _HTV_SOURCES]),
        np.array([inc["htv_split_rural"][s] for s in _HTV_SOURCES]),
    )
    farm = (col["has_land"] == 1) | (col["any_livestock"] == 1)
    means[:, 1] = np.where(farm, means[:, 1], 0.0)
    means /= means.sum(axis=1, keepdims=True)
    g = rng.gamma(np.maximum(conc * means, 1e-300))
    g_sum = g.sum(axis=1, keepdims=True)
    shares = np.divide(g, g_sum, out=np.tile(means, 1), where=g_sum > 0)
    parts = shares * htv[:, None]

    # --- verifiable income ---------------------------------------------------------------
    w0, b_c, b_t, b_u = inc["wage_index"]
    log_wage = (
        w0
        + b_c * (col["log_pcc"] - inc["wage_center"])
        + b_t * col["share_tertiary_edu"]
        + b_u * urban
        + inc["wage_sd"] * rng.standard_normal(n)
    )
    wages = col["n_employed"] * np.exp(log_wage)
    pensions = (
        col["n_pensioners"] * inc["pension_mean"] * _lognormal_factor(rng, inc["pension_sd"], n)
    )
    disabled_adults = np.maximum(col["n_disabled"] - col["n_elderly"], 0)
    pensions = (
        pensions
        + rng.binomial(disabled_adults, inc["disability_pension_prob"])
        * inc["disability_pension_mean"]
    )
    social_assistance = _social_assistance(col, cal, rng)
    no_other = (wages == 0) & (pensions == 0) & (social_assistance == 0)
    fallback = np.where(
        no_other,
        inc["fallback_benefit_mean"] * _lognormal_factor(rng, inc["fallback_benefit_sd"], n),
        0.0,
    )
    benefits = social_assistance + fallback
    children = (col["n_children_0_5"] + col["n_children_6_17"]) > 0
    gets_alimony = (col["any_divorced"] == 1) & children & (rng.random(n) < inc["alimony_prob"])
    alimony = np.where(
        gets_alimony, inc["alimony_mean"] * _lognormal_factor(rng, inc["alimony_sd"], n), 0.0
    )

    verifiable = wages + pensions + benefits + alimony
    return {
        "inc_wages": wages,
        "inc_pensions": pensions,
        "inc_benefits": benefits,
        "inc_alimony": alimony,
        "inc_verifiable": verifiable,
        "inc_business": parts[:, 0],
        "inc_agri": parts[:, 1],
        "inc_inkind": parts[:, 2],
        "inc_other": parts[:, 3],
        "inc_htv": htv,
        "has_htv": has_htv,
        "log_inc_htv": log_htv,
        "income": verifiable + htv,
        "social_assistance": social_assistance,
    }
