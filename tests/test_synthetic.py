"""Tests of pmt.datasets.synthetic_hbs: contract, identities, design, calibration targets.

Calibration targets are checked against independent fits (statsmodels WLS, Probit, OLS)
and against the published values typed in below from the reference reports (World Bank
2019 Uzbekistan Annex A and Table 6; World Bank 2011 Belarus Tables 10-11), not against
the calibration file the generator reads.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy.stats import norm

import pmt
from pmt.datasets import (
    HTV_OUTCOME_FORMULA,
    HTV_SELECTION_FORMULA,
    HTV_TRUE_PARAMS,
    PMT_COEFFICIENTS,
    PMT_FORMULA,
    POVERTY_LINE,
    REGION_LABELS,
    synthetic_hbs,
)
from pmt.errors import DataError, PMTError
from pmt.models.formula import Design, parse_formula
from pmt.spec import DataSpec
from pmt.survey import Survey

ROOT = Path(__file__).resolve().parent.parent

CONTRACT = """hh_id region urban stratum psu weight hh_size n_children_0_5 n_children_6_17 n_adults
n_elderly n_disabled n_employed female_head single_pensioner rooms heating piped_water
flush_toilet car fridge tv computer washing_machine air_conditioner n_mobile land_sotka
land_sotka_sq cattle small_livestock consumption pcc log_pcc poverty_line poor inc_wages
inc_pensions inc_benefits inc_alimony inc_verifiable inc_business inc_agri inc_inkind
inc_other inc_htv has_htv income social_assistance""".split()

# World Bank (2019) Uzbekistan, Annex A (typed from the report, not from calibration.yaml)
ANNEX_A = {
    "Intercept": 11.65,
    "C(region)[T.2]": 0.240, "C(region)[T.3]": 0.294, "C(region)[T.4]": 0.526,
    "C(region)[T.5]": 0.288, "C(region)[T.6]": 0.334, "C(region)[T.8]": 0.559,
    "C(region)[T.9]": 0.178, "C(region)[T.10]": 0.248, "C(region)[T.11]": 0.225,
    "C(region)[T.12]": 0.346, "C(region)[T.13]": 0.292, "C(region)[T.14]": 0.216,
    "C(hh_size_cat)[T.3]": -0.187, "C(hh_size_cat)[T.4]": -0.305, "C(hh_size_cat)[T.5]": -0.354,
    "C(hh_size_cat)[T.6]": -0.453, "C(hh_size_cat)[T.7]": -0.484, "C(hh_size_cat)[T.8]": -0.586,
    "share_children_0_2": -1.292, "share_children_3_5": -0.531, "share_children_6_14": -0.413,
    "any_divorced": -0.128, "any_disabled": -0.0802, "share_primary_edu": -0.134,
    "share_tertiary_edu": 0.249, "C(cooking_fuel)[T.4]": 0.124, "C(cooking_fuel)[T.3]": 0.0894,
    "C(heating)[T.2]": 0.136, "C(heating)[T.3]": 0.223, "C(heating)[T.4]": 0.157,
    "C(rooms_cat)[T.2]": 0.102, "C(rooms_cat)[T.3]": 0.205, "C(rooms_cat)[T.4]": 0.277,
    "land_sotka": 0.00974, "land_sotka_sq": -5.45e-05, "improved_latrine": 0.146,
    "satellite": 0.188, "oven": 0.133, "fridge": 0.166, "vacuum": 0.110,
    "air_conditioner": 0.0818, "sewing_machine": 0.0692, "tv": 0.201, "computer": 0.139,
    "bicycle": 0.0875, "car": 0.182, "share_mobile": 0.259, "share_working": 0.169,
    "old_age_pension": 0.0566, "remittances": 0.111,
}  # fmt: skip

# Uzbekistan Table 6, "% of pop" column, by region code (Annex A order)
TABLE6_POP = {1: 9.2, 2: 5.8, 3: 11.1, 4: 4.1, 5: 8.1, 6: 3.0, 7: 5.7, 8: 9.7, 9: 11.2,
              10: 2.5, 11: 7.6, 12: 9.0, 13: 7.6, 14: 5.5}  # fmt: skip


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return synthetic_hbs(3_000, seed=7)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    return synthetic_hbs(100_000, seed=2024)


# --- contract, types, reproducibility, errors -------------------------------------------


def test_contract_columns_and_dtypes(small):
    assert len(small) == 3_000
    missing = [c for c in CONTRACT if c not in small.columns]
    assert not missing
    assert small["hh_id"].tolist() == list(range(1, 3_001))
    for c in small.columns:
        assert small[c].dtype.kind in "if", c  # numbers only: codes are integers
    assert small["log_inc_htv"].isna().sum() == (small["has_htv"] == 0).sum()
    assert small.drop(columns="log_inc_htv").notna().all().all()
    for c in ["region", "urban", "heating", "hh_size", "poor", "has_htv", "psu", "stratum"]:
        assert small[c].dtype == np.int64, c
    assert set(small["region"]) == set(range(1, 15))
    assert set(small["urban"]) == {0, 1}
    assert pmt.datasets.synthetic_hbs is synthetic_hbs


def test_same_seed_identical_and_other_seed_differs():
    a = synthetic_hbs(1_200, seed=3)
    b = synthetic_hbs(1_200, seed=3)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = synthetic_hbs(1_200, seed=4)
    assert not np.array_equal(a["log_pcc"].to_numpy(), c["log_pcc"].to_numpy())


@pytest.mark.parametrize("n", [540, 541, 1_234, 5_009])
def test_n_households_respected(n):
    df = synthetic_hbs(n, seed=1)
    assert len(df) == n
    assert df["hh_id"].is_unique
    sizes = df.groupby("psu").size()
    assert sizes.min() >= 10 and sizes.max() <= 11


@pytest.mark.parametrize("bad", [539, 0, -5, 1000.5, 2000.0, "1000", True, None])
def test_bad_n_households_raises(bad):
    with pytest.raises(PMTError) as info:
        synthetic_hbs(bad)
    assert isinstance(info.value, DataError)
    assert "n_households" in str(info.value)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", None, True])
def test_bad_seed_raises(bad):
    with pytest.raises(DataError, match="seed"):
        synthetic_hbs(600, seed=bad)


def test_numpy_integer_accepted():
    assert len(synthetic_hbs(np.int64(600), seed=0)) == 600


def test_validates_against_hbs_spec_and_registry_spec(small):
    spec = DataSpec.load(ROOT / "data_spec" / "hbs.yaml")
    assert spec.name == "hbs"
    assert set(spec.columns) == set(small.columns)  # every generated column is declared
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec.validate(small, extra="error")
    reg = DataSpec.load(ROOT / "data_spec" / "registry.yaml")
    assert reg.columns[0] == "hh_id" and {"region", "urban"} <= set(reg.columns)
    banned = {"weight", "strata", "psu", "welfare", "verifiable_income", "hard_to_verify_income"}
    assert not {reg[c].role for c in reg.columns} & banned
    assert not {"income", "social_assistance", "poverty_line", "consumption"} & set(reg.columns)
    for c in reg.columns:  # same definitions as in the survey spec
        assert reg[c].to_dict() == spec[c].to_dict(), c
    # every PMT and HTV regressor can be collected by the field form
    needed = set()
    for f in (PMT_FORMULA, HTV_SELECTION_FORMULA, HTV_OUTCOME_FORMULA):
        needed |= set(parse_formula(f).variables) - {"log_pcc", "has_htv", "log_inc_htv"}
    assert needed <= set(reg.columns)
    assert spec.codes("region") == REGION_LABELS


# --- accounting identities ----------------------------------------------------------------


def test_roster_identities(small):
    d = small
    parts = d[["n_children_0_2", "n_children_3_5", "n_children_6_14", "n_children_15_17"]]
    assert (parts.sum(axis=1) + d["n_adults"] + d["n_elderly"] == d["hh_size"]).all()
    assert (d["n_children_0_5"] == d["n_children_0_2"] + d["n_children_3_5"]).all()
    assert (d["n_children_6_17"] == d["n_children_6_14"] + d["n_children_15_17"]).all()
    n15 = d["n_children_15_17"] + d["n_adults"] + d["n_elderly"]
    assert (d["n_members_15plus"] == n15).all() and (n15 >= 1).all()
    np.testing.assert_allclose(d["share_children_0_2"], d["n_children_0_2"] / d["hh_size"])
    np.testing.assert_allclose(d["share_working"], d["n_employed"] / n15)
    np.testing.assert_allclose(d["share_mobile"], d["n_mobile"] / n15)
    np.testing.assert_allclose(d["share_tertiary_edu"], d["n_edu_tertiary"] / n15)
    assert (d["n_edu_primary"] + d["n_edu_tertiary"] <= n15).all()
    assert (d["n_employed"] <= n15).all() and (d["n_mobile"] <= n15).all()
    assert (d["single_pensioner"] == ((d["hh_size"] == 1) & (d["n_elderly"] == 1))).all()
    assert (d["any_disabled"] == (d["n_disabled"] > 0)).all()
    assert (d["old_age_pension"] == (d["n_pensioners"] > 0)).all()
    assert (d["hh_size_cat"] == d["hh_size"].clip(2, 8)).all()
    rooms_cat = pd.cut(d["rooms"], [0, 2, 3, 6, 99], labels=[1, 2, 3, 4]).astype(int)
    assert (d["rooms_cat"] == rooms_cat).all()
    np.testing.assert_allclose(d["persons_per_room"], d["hh_size"] / d["rooms"])
    assert (d["flush_toilet"] == (d["toilet"] == 1)).all()
    assert (d["improved_latrine"] == (d["toilet"] == 2)).all()
    np.testing.assert_allclose(d["land_sotka_sq"], d["land_sotka"] ** 2)
    assert ((d["land_sotka"] > 0) == (d["has_land"] == 1)).all()
    assert (d["any_livestock"] == ((d["cattle"] + d["small_livestock"]) > 0)).all()


def test_welfare_and_income_identities(small):
    d = small
    np.testing.assert_allclose(d["pcc"], np.exp(d["log_pcc"]), rtol=1e-12)
    np.testing.assert_allclose(d["consumption"], d["pcc"] * d["hh_size"], rtol=1e-12)
    assert (d["poverty_line"] == POVERTY_LINE).all()
    assert (d["poor"] == (d["pcc"] < d["poverty_line"])).all()
    ver = d["inc_wages"] + d["inc_pensions"] + d["inc_benefits"] + d["inc_alimony"]
    np.testing.assert_allclose(d["inc_verifiable"], ver, rtol=1e-12)
    htv = d["inc_business"] + d["inc_agri"] + d["inc_inkind"] + d["inc_other"]
    np.testing.assert_allclose(d["inc_htv"], htv, rtol=1e-9)
    np.testing.assert_allclose(d["income"], d["inc_verifiable"] + d["inc_htv"], rtol=1e-12)
    assert ((d["inc_htv"] > 0) == (d["has_htv"] == 1)).all()
    sel = d["has_htv"] == 1
    np.testing.assert_allclose(d.loc[sel, "log_inc_htv"], np.log(d.loc[sel, "inc_htv"]))
    money = [c for c in d.columns if c.startswith("inc_")] + ["income", "social_assistance"]
    assert (d[money] >= 0).all().all()
    assert (d["income"] > 0).all()  # no zero incomes: logs are defined
    assert (d["inc_benefits"] >= d["social_assistance"]).all()
    no_farm = (d["has_land"] == 0) & (d["any_livestock"] == 0)
    assert (d.loc[no_farm, "inc_agri"] == 0).all()


def test_social_assistance_amounts_and_demographic_test(small):
    mw = 172_240  # Uzbek minimum wage before October 2018 (report fn 15)
    allowed = {0.0} | {round(k * mw, 6) for k in (0.5, 0.8, 1.2, 1.5, 2.0)}
    assert set(np.round(small["social_assistance"].unique(), 6)) <= allowed
    rec = small[small["social_assistance"] > 0]
    kids = rec["n_children_0_2"] + rec["n_children_3_5"] + rec["n_children_6_14"]
    passes = (kids > 0) | (rec["any_disabled"] == 1) | (rec["single_pensioner"] == 1)
    assert passes.all()
    child_care = rec["n_children_0_2"] > 0
    np.testing.assert_allclose(rec.loc[child_care, "social_assistance"], 2.0 * mw)


# --- design -----------------------------------------------------------------------------


def test_stratified_two_stage_design(small):
    d = small
    assert (d["stratum"] == 10 * d["region"] + d["urban"]).all()
    assert d["stratum"].nunique() == 27 and 130 not in set(d["stratum"])  # Toshkent city urban
    assert (d.groupby("psu")["stratum"].nunique() == 1).all()  # PSUs nested in strata
    assert d.groupby("stratum")["psu"].nunique().min() >= 2
    w = d["weight"]
    assert (w > 0).all()
    assert w.std() / w.mean() > 0.25  # unequal weights
    pop = (w * d["hh_size"]).sum()
    assert pop == pytest.approx(33_000_000, rel=1e-9)
    # person-weighted regional shares reproduce Uzbekistan Table 6 exactly (post-stratified)
    share = (w * d["hh_size"]).groupby(d["region"]).sum() / pop
    table6 = pd.Series(TABLE6_POP) / sum(TABLE6_POP.values())
    np.testing.assert_allclose(share.sort_index().to_numpy(), table6.to_numpy(), rtol=1e-9)
    # small regions are oversampled: sample share / population share is highest for Sirdaryo
    ratio = d["region"].value_counts(normalize=True) / table6
    assert ratio.idxmax() in (6, 10) and ratio[10] > 1.3 > ratio[9]


# --- published specifications -------------------------------------------------------------


def test_pmt_coefficients_are_annex_a():
    zero = {k for k in PMT_COEFFICIENTS if k not in ANNEX_A}
    assert zero == {"C(region)[T.7]", "C(cooking_fuel)[T.2]", "C(cooking_fuel)[T.5]",
                    "C(heating)[T.5]"}  # fmt: skip
    assert all(PMT_COEFFICIENTS[k] == 0.0 for k in zero)
    for k, v in ANNEX_A.items():
        assert PMT_COEFFICIENTS[k] == pytest.approx(v, rel=1e-12), k
    # land quadratic peaks at about 89 sotka (report section 2.8)
    peak = -PMT_COEFFICIENTS["land_sotka"] / (2 * PMT_COEFFICIENTS["land_sotka_sq"])
    assert peak == pytest.approx(89.4, abs=0.1)


def test_formulas_name_terms_like_patsy_and_pmt(small):
    import patsy

    names = patsy.dmatrix(PMT_FORMULA.split("~")[1], small).design_info.column_names
    assert set(names) == set(PMT_COEFFICIENTS)
    assert set(Design.from_formula(PMT_FORMULA, small).term_names) == set(PMT_COEFFICIENTS)
    sel = patsy.dmatrix(HTV_SELECTION_FORMULA.split("~")[1], small).design_info.column_names
    out = patsy.dmatrix(HTV_OUTCOME_FORMULA.split("~")[1], small).design_info.column_names
    assert set(sel) == set(HTV_TRUE_PARAMS["selection"])
    assert set(out) == set(HTV_TRUE_PARAMS["outcome"])
    # at least one exclusion restriction: a selection regressor not in the outcome
    assert {"head_age", "has_land"} <= set(sel) - set(out)
    assert -1 < HTV_TRUE_PARAMS["rho"] < 0 < HTV_TRUE_PARAMS["sigma"]


def test_log_pcc_is_true_index_plus_noise_independent_of_proxies(small):
    import patsy

    X = patsy.dmatrix(PMT_FORMULA.split("~")[1], small, return_type="dataframe")
    beta = pd.Series(PMT_COEFFICIENTS)[X.columns]
    resid = small["log_pcc"] - X @ beta
    assert abs(resid.mean()) < 0.05
    # residual uncorrelated with each proxy (|corr| well inside sampling noise)
    corr = X.drop(columns="Intercept").corrwith(resid)
    assert corr.abs().max() < 4 / np.sqrt(len(small))
    np.testing.assert_allclose(
        pmt.datasets.pmt_linear_predictor(small), X @ beta, rtol=0, atol=1e-10
    )


# --- calibration targets on a large draw (100,000 households, about 0.5 s to build) -------


@pytest.mark.slow
def test_pmt_r2_and_refitted_coefficients(large):
    fit = smf.wls(PMT_FORMULA, data=large, weights=large["weight"]).fit(
        cov_type="cluster", cov_kwds={"groups": large["psu"]}
    )
    assert fit.rsquared == pytest.approx(0.396, abs=0.03)  # Annex A: R2 = 0.396
    truth = pd.Series(PMT_COEFFICIENTS)[fit.params.index]
    z = (fit.params - truth) / fit.bse
    assert z.abs().max() < 4.5, z.abs().sort_values().tail()
    assert (fit.params - truth).abs().max() < 0.15


def test_poverty_rate_and_design_effect(large):
    d = large
    v = d["weight"] * d["hh_size"]
    p = float((v * d["poor"]).sum() / v.sum())
    assert 0.15 <= p <= 0.20
    sv = Survey(d, weight="weight", size="hh_size", strata="stratum", psu="psu")
    # linearised variance of the ratio estimator p = sum(w n poor) / sum(w n)
    z = d["hh_size"].to_numpy() * (d["poor"].to_numpy() - p)
    var_design = sv.total_variance(z) / v.sum() ** 2
    # simple random sampling of the same number of households, no weights
    zs = d["hh_size"].to_numpy() * (
        d["poor"].to_numpy() - d["poor"].mul(d["hh_size"]).sum() / d["hh_size"].sum()
    )
    var_srs = zs.var(ddof=1) / len(d) / d["hh_size"].mean() ** 2
    deff = var_design / var_srs
    assert deff > 1.5  # PSU clustering and unequal weights both inflate the variance


def test_hard_to_verify_income_shares_belarus_table10(large):
    d = large
    w = d["weight"]
    national = (w * d["inc_htv"]).sum() / (w * d["income"]).sum()
    r = d["urban"] == 0
    rural = (w * d["inc_htv"])[r].sum() / (w * d["income"])[r].sum()
    urban = (w * d["inc_htv"])[~r].sum() / (w * d["income"])[~r].sum()
    assert national == pytest.approx(0.153, abs=0.02)
    assert rural == pytest.approx(0.210, abs=0.02)
    assert urban < national < rural
    # in rural areas in-kind and agricultural income are more than half of HTV income
    farm = (w * (d["inc_inkind"] + d["inc_agri"]))[r].sum() / (w * d["inc_htv"])[r].sum()
    assert farm > 0.5


def test_income_consumption_coherence(large):
    d = large
    w = d["weight"].to_numpy()
    x, y = np.log(d["pcc"]), np.log(d["income"] / d["hh_size"])
    c = np.cov(x, y, aweights=w)
    corr = c[0, 1] / np.sqrt(c[0, 0] * c[1, 1])
    assert corr == pytest.approx(0.708, abs=0.05)  # Belarus Figure 3
    q = pd.qcut(y, 5, labels=False)
    saving = 1 - (w * d["consumption"]).groupby(q).sum() / (w * d["income"]).groupby(q).sum()
    assert saving.is_monotonic_increasing  # savings rise with income
    ratio = (w * d["income"]).sum() / (w * d["consumption"]).sum()
    assert 1.0 < ratio < 1.25  # income a little above consumption


def test_heckman_two_step_recovers_true_params(large):
    """Independent two-step Heckman with statsmodels Probit and OLS."""
    d = large
    sel_terms = [k for k in HTV_TRUE_PARAMS["selection"] if k != "Intercept"]
    out_terms = [k for k in HTV_TRUE_PARAMS["outcome"] if k != "Intercept"]
    Z = sm.add_constant(d[sel_terms].astype(float)).rename(columns={"const": "Intercept"})
    probit = sm.Probit(d["has_htv"], Z).fit(disp=0)
    gamma = pd.Series(HTV_TRUE_PARAMS["selection"])
    zg = probit.bse[gamma.index]
    assert ((probit.params[gamma.index] - gamma) / zg).abs().max() < 4.5
    idx = Z @ probit.params
    imr = norm.pdf(idx) / norm.cdf(idx)
    s = d["has_htv"] == 1
    X = sm.add_constant(d.loc[s, out_terms].astype(float)).rename(columns={"const": "Intercept"})
    X["lambda"] = imr[s]
    ols = sm.OLS(d.loc[s, "log_inc_htv"], X).fit()
    beta = pd.Series(HTV_TRUE_PARAMS["outcome"])
    assert (ols.params[beta.index] - beta).abs().max() < 0.1
    lam = HTV_TRUE_PARAMS["rho"] * HTV_TRUE_PARAMS["sigma"]
    assert ols.params["lambda"] == pytest.approx(lam, abs=0.12)
    # sigma from the two-step formula sigma^2 = s2 + lambda^2 * mean(delta)
    delta = imr[s] * (imr[s] + idx[s])
    sigma2 = ols.ssr / s.sum() + ols.params["lambda"] ** 2 * delta.mean()
    assert np.sqrt(sigma2) == pytest.approx(HTV_TRUE_PARAMS["sigma"], abs=0.05)
    # OLS on the selected sample without lambda is biased for the intercept
    naive = sm.OLS(d.loc[s, "log_inc_htv"], X.drop(columns="lambda")).fit()
    assert abs(naive.params["Intercept"] - beta["Intercept"]) > 0.05


def test_social_assistance_targets_poor_families(large):
    d = large
    w = d["weight"]
    v = w * d["hh_size"]
    rec = d["social_assistance"] > 0
    assert (w * rec).sum() / w.sum() == pytest.approx(0.12, abs=0.02)  # 12 % of households
    decile = pd.qcut(d["pcc"].rank(method="first"), 10, labels=False)  # approx. deciles
    d1 = (v * rec)[decile == 0].sum() / (v * rec).sum()
    assert d1 > 0.25  # Uzbek report: 40 % of beneficiaries in the poorest decile
    kids = (d["n_children_0_5"] + d["n_children_6_17"]) > 0
    assert (v * rec)[kids].sum() / (v * rec).sum() > 0.8


def test_proxies_cluster_within_psus(large):
    # car ownership varies between PSUs more than binomial noise allows (PSU random effect)
    g = large.groupby("psu")["car"].agg(["mean", "size"])
    p = large["car"].mean()
    expected = (p * (1 - p) / g["size"]).mean()
    assert g["mean"].var() > 1.25 * expected
    # and through the latent standard of living, proxies are positively correlated
    assert large[["car", "computer", "fridge", "share_tertiary_edu"]].corr().min().min() > 0.05


def test_calibration_report_matches_hand_computation(small):
    rep = pmt.datasets.calibration_report(small)
    assert {"pmt_r2", "poverty_rate", "htv_share_national", "htv_share_rural"} <= set(rep.index)
    w = small["weight"]
    htv = (w * small["inc_htv"]).sum() / (w * small["income"]).sum()
    assert rep.loc["htv_share_national", "achieved"] == pytest.approx(htv, rel=1e-12)
    v = w * small["hh_size"]
    assert rep.loc["poverty_rate", "achieved"] == pytest.approx((v * small["poor"]).sum() / v.sum())
    r2 = smf.wls(PMT_FORMULA, data=small, weights=w).fit().rsquared
    assert rep.loc["pmt_r2", "achieved"] == pytest.approx(r2, rel=1e-10)
