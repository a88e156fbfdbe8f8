"""Tests of pmt.welfare against hand calculations, published values and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import pmt
from pmt.errors import DataError, PMTError
from pmt.welfare import (
    deflate,
    equivalence_scale,
    fgt,
    fgt_terms,
    line_per_adult_equivalent,
    per_adult_equivalent,
    per_capita,
    poverty_measures,
    relative_line,
    watts,
    watts_terms,
)

Y = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
Z = 3.5


# --- FGT and Watts --------------------------------------------------------------------
def test_fgt_unweighted_hand_calculation():
    # poor: 1, 2, 3 (y < 3.5); gaps 2.5, 1.5, 0.5
    assert fgt(Y, Z, alpha=0) == pytest.approx(3 / 5)
    assert fgt(Y, Z, alpha=1) == pytest.approx((2.5 + 1.5 + 0.5) / 3.5 / 5)
    assert fgt(Y, Z, alpha=2) == pytest.approx((6.25 + 2.25 + 0.25) / 12.25 / 5)
    assert isinstance(fgt(Y, Z), float)


def test_fgt_weighted_and_line_itself_not_poor():
    w = [1, 2, 1, 1, 5]
    assert fgt(Y, Z, w, alpha=1) == pytest.approx((2.5 + 2 * 1.5 + 0.5) / 3.5 / 10)
    # a household exactly at the line is not poor (y < z)
    assert fgt([3.5, 4.0], 3.5) == 0.0
    # pandas in: Series and per-household lines (e.g. regional lines)
    y = pd.Series([1.0, 2.0, 3.0], index=[10, 20, 30])
    assert fgt(y, [2.0, 2.0, 4.0], alpha=1) == pytest.approx((0.5 + 0 + 0.25) / 3)


def test_watts_hand_calculation():
    expected = (math.log(3.5 / 1) + math.log(3.5 / 2) + math.log(3.5 / 3)) / 5
    assert watts(Y, Z) == pytest.approx(expected)
    assert watts(Y, Z, weights=[0, 1, 1, 1, 1]) == pytest.approx(
        (math.log(3.5 / 2) + math.log(3.5 / 3)) / 4
    )


def test_per_household_terms_hand_calculation():
    # the public building blocks of fgt/watts (and of pmt.simulate.paired_change)
    z = np.full(Y.size, Z)
    np.testing.assert_allclose(fgt_terms(Y, z, 0), [1, 1, 1, 0, 0])
    np.testing.assert_allclose(fgt_terms(Y, z, 1), [2.5 / 3.5, 1.5 / 3.5, 0.5 / 3.5, 0, 0])
    np.testing.assert_allclose(fgt_terms(Y, z, 2), [(2.5 / 3.5) ** 2, (1.5 / 3.5) ** 2,
                                                    (0.5 / 3.5) ** 2, 0, 0])
    np.testing.assert_allclose(watts_terms(Y, z), [math.log(3.5), math.log(1.75),
                                                   math.log(3.5 / 3), 0, 0])
    with pytest.raises(DataError, match=r"<= 0 at row 1\b"):
        watts_terms(np.array([1.0, 0.0]), np.array([2.0, 2.0]))
    with pytest.raises(DataError, match=r"<= 0 at row b\b"):
        watts_terms(np.array([1.0, -1.0]), np.array([2.0, 2.0]), pd.Index(["a", "b"]))


def test_watts_rejects_non_positive_welfare_naming_rows():
    y = pd.Series([1.0, 0.0, -2.0, 5.0], index=["a", "b", "c", "d"])
    with pytest.raises(DataError, match=r"welfare must be positive.*2 values are <= 0 at rows b, c"):
        watts(y, 3.0)
    # FGT is defined for zero welfare (gap = 1)
    assert fgt([0.0, 5.0], 3.0, alpha=1) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fgt([1.0, np.nan, 3.0], 2.0), r"`y` has 1 missing value at row 1"),
        (lambda: fgt([1.0, 2.0], 2.0, weights=[1.0]), r"`weights` has 1 values but 2 are needed"),
        (lambda: fgt([1.0, 2.0], [1.0, 2.0, 3.0]), r"`z` has 3 values but 2"),
        (lambda: fgt([1.0, 2.0], 0.0), r"poverty line `z` must be positive"),
        (lambda: fgt([1.0, 2.0], 2.0, alpha=-1), r"`alpha` must be a number >= 0"),
        (lambda: fgt([1.0, 2.0], 2.0, weights=[-1, 2]), r"`weights` has 1 negative value at row 0 \(-1\)"),
        (lambda: watts([1.0, np.nan], 2.0), r"missing"),
        (lambda: fgt(pd.Series(["a", "1"]), 2.0), r"`y` has 1 non-numeric value at row 0 \('a'\)"),
    ],
)
def test_fgt_errors(call, message):
    with pytest.raises(PMTError, match=message):
        call()


def test_public_names():
    assert pmt.fgt is fgt and pmt.watts is watts


# --- equivalence scales and per-head welfare ---------------------------------------------
def test_kazakh_scale_published_example(reference):
    # Kazakhstan TSA 2017, Annex A.1: a couple with two children has 1 + 3 x 0.8 = 3.4
    ref = reference("equivalence_scales")["kazakh"]
    eq = equivalence_scale(pd.Series(ref["sizes"], index=[7, 8, 9]), scale="kazakh")
    assert eq.tolist() == pytest.approx(ref["scale"])
    assert list(eq.index) == [7, 8, 9]


def test_oecd_scales_and_sqrt():
    a, c = np.array([2, 1, 3, 0]), np.array([2, 0, 1, 2])
    assert equivalence_scale(adults=a, children=c, scale="oecd").tolist() == pytest.approx(
        [1 + 0.7 + 2 * 0.5, 1.0, 1 + 2 * 0.7 + 0.5, 1 + 0.5]
    )
    assert equivalence_scale(
        adults=a, children=c, scale="oecd_modified"
    ).tolist() == pytest.approx([1 + 0.5 + 0.6, 1.0, 1 + 1.0 + 0.3, 1 + 0.3])
    assert equivalence_scale([1, 4, 9], scale="sqrt").tolist() == pytest.approx([1, 2, 3])
    assert equivalence_scale([1, 4, 9], scale="per_capita").tolist() == [1, 4, 9]
    custom = {"first": 1.0, "adult": 0.6, "child": 0.4}
    assert equivalence_scale(adults=[2], children=[3], scale=custom).iloc[0] == pytest.approx(
        1 + 0.6 + 1.2
    )


def test_uzbek_rank_scale_published_units(reference):
    # Uzbekistan 2019: "the household can be entitled to 1 benefit unit, 1.5, 1.8 or 2 units"
    ref = reference("equivalence_scales")["uzbek_rank"]
    eq = equivalence_scale(ref["sizes"], scale="uzbek", max_members=ref["max_members"])
    assert eq.tolist() == pytest.approx(ref["units"])
    # without the cap the last weight repeats; a custom rank sequence gives the same
    assert equivalence_scale([6], scale=[1, 0.5, 0.3, 0.2]).iloc[0] == pytest.approx(2.4)


def test_equivalence_scale_errors():
    with pytest.raises(DataError, match=r"unknown equivalence scale 'oecdd'"):
        equivalence_scale([1, 2], scale="oecdd")
    with pytest.raises(DataError, match=r"needs `adults` and `children`"):
        equivalence_scale([1, 2], scale="oecd")
    with pytest.raises(DataError, match=r"`size` must be whole numbers >= 1.*row 1"):
        equivalence_scale([2, 0], scale="kazakh")
    with pytest.raises(DataError, match=r"`size` differs from adults \+ children at row 0"):
        equivalence_scale([3], adults=[1], children=[1], scale="oecd")


def test_per_capita_and_per_adult_equivalent():
    total = pd.Series([900.0, 1000.0], index=["h1", "h2"])
    pc = per_capita(total, [3, 4])
    assert pc.tolist() == pytest.approx([300.0, 250.0]) and list(pc.index) == ["h1", "h2"]
    ae = per_adult_equivalent(total, adults=[2, 2], children=[1, 2], scale="oecd_modified")
    assert ae.tolist() == pytest.approx([900 / 1.8, 1000 / 2.1])
    kz = per_adult_equivalent(total, size=[3, 4], scale="kazakh")
    assert kz.tolist() == pytest.approx([900 / 2.6, 1000 / 3.4])
    with pytest.raises(DataError, match=r"`size` must be whole numbers >= 1; bad values at row h2"):
        per_capita(total, pd.Series([3, 0], index=["h1", "h2"]))


# --- poverty lines --------------------------------------------------------------------------
def test_line_per_adult_equivalent_reproduces_kazakh_report():
    # Annex A.1: 19,647 KZT per capita is about 22,877 per adult equivalent, with an
    # average household size of 3.4 and the scale 1 + 0.8 (n - 1)
    size = pd.Series([3, 4, 3, 4, 3])  # mean 3.4
    eq = equivalence_scale(size, scale="kazakh")
    z_ae = line_per_adult_equivalent(19647, size, eq)
    assert z_ae == pytest.approx(22877, abs=1.0)
    assert z_ae / 19647 == pytest.approx(1.16, abs=0.01)


def test_relative_line():
    y = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert relative_line(y, q=0.4) == 2.0  # cumulative shares .2, .4: smallest with >= .4
    assert relative_line(y, q=0.5, fraction=0.6) == pytest.approx(1.8)
    assert relative_line(y, weights=[1, 10, 1, 1, 1], q=0.5) == 1.0
    # "the poorest 20 %": poor if y <= line, exactly the bottom quintile group
    rng = np.random.default_rng(3)
    yy, ww = rng.lognormal(size=500), rng.uniform(1, 5, 500)
    line = relative_line(yy, ww, q=0.2)
    groups = pmt.quantile_groups(yy, ww, n_groups=5)
    assert np.array_equal(yy <= line, groups == 1)
    with pytest.raises(DataError, match=r"`q` must lie in \[0, 1\]"):
        relative_line(y, q=20)


# --- deflation ------------------------------------------------------------------------------
def test_deflate_per_household_and_by_region_month():
    v = pd.Series([100.0, 100.0, 100.0], index=[1, 2, 3], name="pcc")
    assert deflate(v, [1.0, 1.25, 0.8]).tolist() == pytest.approx([100, 80, 125])
    assert deflate(v, [100.0, 125.0, 80.0], base=100).tolist() == pytest.approx([100, 80, 125])
    region = pd.Series([1, 2, 2], index=[1, 2, 3])
    out = deflate(v, {1: 110.0, 2: 121.0}, by=region, base=1)
    assert out.tolist() == pytest.approx([100, 110 / 1.21, 110 / 1.21])
    assert list(out.index) == [1, 2, 3] and out.name == "pcc"
    # spatio-temporal index keyed by (region, month), base = capital in January
    keys = pd.DataFrame({"region": [1, 2, 2], "month": [1, 1, 6]})
    idx = pd.Series(
        [100.0, 90.0, 99.0],
        index=pd.MultiIndex.from_tuples([(1, 1), (2, 1), (2, 6)]),
    )
    out = deflate(v, idx, by=keys, base=(1, 1))
    assert out.tolist() == pytest.approx([100, 100 / 0.9, 100 / 0.99])
    # base "mean": weighted mean price level unchanged
    out = deflate(v, [1.0, 2.0, 3.0], base="mean", weights=[1, 1, 2])
    assert out.tolist() == pytest.approx([225.0, 112.5, 75.0])


def test_deflate_errors():
    with pytest.raises(DataError, match=r"no value for group\(s\) 3: add them"):
        deflate([1.0, 2.0], {1: 1.0}, by=[1, 3])
    with pytest.raises(DataError, match=r"positive"):
        deflate([1.0], [0.0])
    with pytest.raises(DataError, match=r"`base` 'capital' is neither"):
        deflate([1.0], {1: 1.0}, by=[1], base="capital")


# --- poverty measures with design-based standard errors ----------------------------------------
def _design(seed=0, n_strata=4, psu_per_stratum=12, hh_per_psu=15):
    rng = np.random.default_rng(seed)
    n = n_strata * psu_per_stratum * hh_per_psu
    stratum = np.repeat(np.arange(n_strata), psu_per_stratum * hh_per_psu)
    psu = np.repeat(np.arange(n_strata * psu_per_stratum), hh_per_psu) % psu_per_stratum
    effect = rng.normal(0, 0.3, n_strata * psu_per_stratum)
    psu_global = stratum * psu_per_stratum + psu
    y = np.exp(0.1 * stratum + effect[psu_global] + rng.normal(0, 0.5, n))
    return pd.DataFrame(
        {
            "y": y,
            "w": rng.uniform(50, 150, n).round(1),
            "size": rng.integers(1, 8, n),
            "stratum": stratum,
            "psu": psu,
            "region": rng.integers(1, 4, n),
        }
    )


def test_poverty_measures_point_estimates_equal_fgt_and_watts():
    df = _design()
    sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
    res = poverty_measures(sv, "y", 0.9)
    v = df.w * df["size"]
    assert list(res.index) == ["FGT0", "FGT1", "FGT2", "Watts"]
    for a in (0, 1, 2):
        assert res.loc[f"FGT{a}", "estimate"] == pytest.approx(fgt(df.y, 0.9, v, alpha=a))
    assert res.loc["Watts", "estimate"] == pytest.approx(watts(df.y, 0.9, v))
    hh = poverty_measures(sv, "y", 0.9, unit="household")
    assert hh.loc["FGT0", "estimate"] == pytest.approx(fgt(df.y, 0.9, df.w))
    assert res["population"].iloc[0] == pytest.approx(v.sum())


def test_se_simple_random_sample_matches_textbook_formula():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y": rng.lognormal(size=400)})
    sv = pmt.Survey(df)  # equal weights, one stratum, every household its own PSU
    res = poverty_measures(sv, "y", 0.7, unit="household", include_watts=False)
    p = (df.y < 0.7).mean()
    assert res.loc["FGT0", "se"] == pytest.approx(math.sqrt(p * (1 - p) / (len(df) - 1)))
    gap = np.where(df.y < 0.7, (0.7 - df.y) / 0.7, 0)
    assert res.loc["FGT1", "se"] == pytest.approx(stats.sem(gap))


def test_se_clustered_matches_statsmodels_cluster_robust_mean():
    # one stratum: the linearised SE of a weighted mean equals the cluster-robust SE of a
    # WLS regression on a constant (statsmodels' G/(G-1) correction, K = 1)
    df = _design(seed=2, n_strata=1, psu_per_stratum=30)
    sv = pmt.Survey(df, weight="w", size="size", psu="psu")
    res = poverty_measures(sv, "y", 1.0)
    v = df.w * df["size"]
    for name, f in {
        "FGT0": (df.y < 1.0).astype(float),
        "FGT2": np.where(df.y < 1, ((1 - df.y) / 1) ** 2, 0.0),
        "Watts": np.where(df.y < 1, np.log(1 / df.y), 0.0),
    }.items():
        fit = sm.WLS(np.asarray(f), np.ones(len(df)), weights=v).fit(
            cov_type="cluster", cov_kwds={"groups": df.psu.to_numpy()}
        )
        assert res.loc[name, "estimate"] == pytest.approx(fit.params[0])
        assert res.loc[name, "se"] == pytest.approx(fit.bse[0], rel=1e-9)


def test_se_stratified_matches_hand_formula():
    # tiny design written out: 2 strata, 3 and 2 PSUs
    df = pd.DataFrame(
        {
            "y": [1, 5, 2, 8, 3, 1, 9, 2, 7, 4.0],
            "w": [10, 10, 20, 20, 5, 5, 8, 8, 12, 12.0],
            "size": [1, 2, 3, 1, 2, 4, 1, 2, 3, 1],
            "h": [1, 1, 1, 1, 1, 1, 2, 2, 2, 2],
            "psu": [1, 1, 2, 2, 3, 3, 1, 1, 2, 2],
        }
    )
    z = 3.5
    sv = pmt.Survey(df, weight="w", size="size", strata="h", psu="psu")
    res = poverty_measures(sv, "y", z, alphas=[0], include_watts=False)
    v = df.w * df["size"]
    f = (df.y < z).astype(float)
    r = (v * f).sum() / v.sum()
    var = 0.0
    for _, g in df.assign(e=v * (f - r)).groupby("h"):
        t = g.groupby("psu").e.sum()
        nh = len(t)
        var += nh / (nh - 1) * ((t - t.mean()) ** 2).sum()
    assert res.loc["FGT0", "estimate"] == pytest.approx(r)
    assert res.loc["FGT0", "se"] == pytest.approx(math.sqrt(var) / v.sum())
    zc = stats.norm.ppf(0.975)
    assert res.loc["FGT0", "ci_upper"] == pytest.approx(r + zc * math.sqrt(var) / v.sum())


def test_domain_estimates_and_variance():
    df = _design(seed=4)
    sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
    res = poverty_measures(sv, "y", 0.9, by="region", alphas=[0, 1])
    assert res.index.names == ["region", "measure"]
    v = df.w * df["size"]
    for reg in (1, 2, 3):
        m = df.region == reg
        est = fgt(df.y[m], 0.9, v[m], alpha=1)
        assert res.loc[(reg, "FGT1"), "estimate"] == pytest.approx(est)
        assert res.loc[(reg, "FGT1"), "n_households"] == m.sum()
        # domain linearisation: zeros outside the domain, whole design kept
        f = np.where(df.y < 0.9, (0.9 - df.y) / 0.9, 0.0)
        zlin = np.where(m, df["size"] * (f - est), 0.0)
        se = math.sqrt(sv.total_variance(zlin)) / v[m].sum()
        assert res.loc[(reg, "FGT1"), "se"] == pytest.approx(se)


def test_bootstrap_agrees_with_linearisation_and_is_reproducible():
    df = _design(seed=5, n_strata=3, psu_per_stratum=40, hh_per_psu=10)
    sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
    lin = poverty_measures(sv, "y", 0.9)
    boot = poverty_measures(sv, "y", 0.9, se="bootstrap", n_replicates=1500, seed=11)
    np.testing.assert_allclose(boot["estimate"], lin["estimate"])
    np.testing.assert_allclose(boot["se"], lin["se"], rtol=0.12)
    again = poverty_measures(sv, "y", 0.9, se="bootstrap", n_replicates=1500, seed=11)
    assert np.array_equal(again["se"].to_numpy(), boot["se"].to_numpy())
    assert boot.attrs["se_method"] == "bootstrap" and boot.attrs["seed"] == 11


def test_linearised_se_matches_sampling_distribution():
    # known truth by simulation: redraw the outcomes of a fixed clustered design many
    # times; the mean linearised SE should match the spread of the estimates
    base = _design(seed=6, n_strata=2, psu_per_stratum=25, hh_per_psu=12)
    rng = np.random.default_rng(7)
    n_psu = 50
    psu_global = base.stratum * 25 + base.psu
    ests, ses = [], []
    for _ in range(300):
        eff = rng.normal(0, 0.4, n_psu)[psu_global]
        df = base.assign(y=np.exp(eff + rng.normal(0, 0.5, len(base))))
        sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
        r = poverty_measures(sv, "y", 0.8, alphas=[0], include_watts=False)
        ests.append(r.loc["FGT0", "estimate"])
        ses.append(r.loc["FGT0", "se"])
    assert np.mean(ses) == pytest.approx(np.std(ests, ddof=1), rel=0.15)


def test_poverty_measures_errors():
    df = _design(seed=8)
    df.loc[[3, 17], "y"] = np.nan
    sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
    with pytest.raises(DataError, match=r"welfare 'y' is missing for 2 households at rows 3, 17"):
        poverty_measures(sv, "y", 1.0)
    with pytest.raises(DataError, match=r"welfare column 'pcc' is not in the survey data"):
        poverty_measures(sv, "pcc", 1.0)
    df2 = _design(seed=8)
    df2.loc[5, "y"] = 0.0
    sv2 = pmt.Survey(df2, weight="w", size="size")
    # Watts asked for explicitly: ln(z / y) is undefined at y = 0, so it fails naming the row
    with pytest.raises(DataError, match=r"Watts.*at row 5"):
        poverty_measures(sv2, "y", 1.0, include_watts=True)
    # by default Watts is reported as NaN with a note (tests/test_lines_and_minimum.py)
    with pytest.warns(UserWarning, match=r"Watts index not computed.*at row 5"):
        assert np.isnan(poverty_measures(sv2, "y", 1.0).loc["Watts", "estimate"])
    # FGT alone is fine with zero welfare
    assert poverty_measures(sv2, "y", 1.0, include_watts=False).shape[0] == 3
    with pytest.raises(DataError, match=r"`se` must be 'linearized' or 'bootstrap'"):
        poverty_measures(sv2, "y", 1.0, se="jackknife")


def test_on_the_synthetic_survey():
    from pmt import datasets

    df = datasets.synthetic_hbs(n_households=2000, seed=1)
    # the generator's own pcc and poor flag are independent of pmt.welfare
    np.testing.assert_allclose(per_capita(df.consumption, df.hh_size), df.pcc)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    res = poverty_measures(sv, "pcc", "poverty_line")
    v = df.weight * df.hh_size
    assert res.loc["FGT0", "estimate"] == pytest.approx(np.average(df.poor, weights=v))
    assert 0 < res.loc["FGT2", "estimate"] < res.loc["FGT1", "estimate"] < res.loc["FGT0", "estimate"]
    by = poverty_measures(sv, "pcc", "poverty_line", by="urban", alphas=[0], include_watts=False)
    for u in (0, 1):
        m = (df.urban == u).to_numpy()
        assert by.loc[(u, "FGT0"), "estimate"] == pytest.approx(
            np.average(df.poor[m], weights=v[m])
        )
    # per adult equivalent: the same households, a larger line in AE space
    eq = equivalence_scale(df.hh_size, scale="kazakh")
    z_ae = line_per_adult_equivalent(df.poverty_line.iloc[0], df.hh_size, eq, df.weight)
    assert z_ae > df.poverty_line.iloc[0]


def test_series_inputs_are_aligned_on_the_survey_index():
    df = _design(seed=9).set_index(pd.Index(np.arange(2000, 2000 + 720)))
    sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
    shuffled = df.y.sample(frac=1.0, random_state=0)
    lines = pd.Series(0.9, index=df.index).sample(frac=1.0, random_state=1)
    a = poverty_measures(sv, shuffled, lines)
    b = poverty_measures(sv, "y", 0.9)
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]])
    with pytest.raises(DataError, match=r"`welfare` is a Series whose index differs from the rows"):
        poverty_measures(sv, df.y.reset_index(drop=True), 0.9)
