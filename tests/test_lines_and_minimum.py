"""Varying poverty lines, household lines, regional deflation, the subsistence minimum and
the Watts default on zero welfare (issue 14 items 6 and 7), against hand calculations
written here, published values (Belarus 2011 Table 4, Kazakhstan TSA 2017) and identities.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import DataError
from pmt.welfare import (
    deflate,
    fgt,
    household_line,
    poverty_measures,
    subsistence_minimum,
    watts,
)

Y = np.array([1.0, 2.0, 3.0, 4.0, 10.0])


# --- one line per household and lines by group ----------------------------------------
def test_fgt_and_watts_with_one_line_per_household():
    z = [2.0, 2.5, 5.0, 3.0, 12.0]
    # poor: 1 < 2, 2 < 2.5, 3 < 5, 10 < 12 (4 >= 3 is not); own gaps (z_i - y_i) / z_i
    gaps = [1 / 2, 0.5 / 2.5, 2 / 5, 2 / 12]
    assert fgt(Y, z, alpha=0) == pytest.approx(4 / 5)
    assert fgt(Y, z, alpha=1) == pytest.approx(sum(gaps) / 5)
    assert fgt(Y, z, alpha=2) == pytest.approx(sum(g * g for g in gaps) / 5)
    assert watts(Y, z) == pytest.approx(
        (math.log(2) + math.log(1.25) + math.log(5 / 3) + math.log(1.2)) / 5
    )
    # a Series of lines with the same labels in another order is aligned on y's labels
    y = pd.Series(Y, index=list("abcde"))
    zs = pd.Series(z, index=list("abcde")).iloc[::-1]
    assert fgt(y, zs, alpha=1) == pytest.approx(sum(gaps) / 5)


def test_fgt_with_lines_by_region_hand_calculation():
    region = pd.Series(["a", "a", "b", "b", "c"])
    lines = {"a": 2.5, "b": 3.5, "c": 12.0}
    w = [1, 2, 1, 1, 5]
    # a: 1 and 2 below 2.5 (gaps 0.6, 0.2); b: 3 below 3.5 (gap 1/7); c: 10 below 12 (1/6)
    assert fgt(Y, lines, w, alpha=0, by=region) == pytest.approx((1 + 2 + 1 + 5) / 10)
    assert fgt(Y, lines, w, alpha=1, by=region) == pytest.approx(
        (0.6 + 2 * 0.2 + 1 / 7 + 5 / 6) / 10
    )
    assert watts(Y, lines, w, by=region) == pytest.approx(
        (math.log(2.5) + 2 * math.log(1.25) + math.log(3.5 / 3) + 5 * math.log(1.2)) / 10
    )
    # a Series keyed by group works like a dict; numeric keys match across int/float
    assert fgt(Y, pd.Series({1: 2.5, 2: 3.5, 3: 12.0}), w, alpha=1,
               by=[1.0, 1.0, 2.0, 2.0, 3.0]) == pytest.approx((0.6 + 0.4 + 1 / 7 + 5 / 6) / 10)


def test_lines_by_region_and_quarter_tuple_keys():
    # Belarus-style time-indexed lines: one line per (region, quarter)
    keys = pd.DataFrame({"region": [1, 1, 2, 2, 2], "quarter": [1, 2, 1, 2, 2]})
    lines = {(1, 1): 1.5, (1, 2): 2.5, (2, 1): 2.0, (2, 2): 12.0}
    # 1 < 1.5 (gap 1/3); 2 < 2.5 (0.2); 3 >= 2 no; 4 < 12 (2/3); 10 < 12 (1/6)
    assert fgt(Y, lines, alpha=1, by=keys) == pytest.approx((1 / 3 + 0.2 + 2 / 3 + 1 / 6) / 5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fgt(Y, {"a": 2.0}), r"mapping by group .*pass `by=`"),
        (lambda: fgt(Y, {"a": 2.0}, by=list("aabbc")), r"no value for group\(s\) b, c: add them to `z`"),
        (lambda: fgt(Y, {"a": 2.0, "b": 0.0, "c": 1}, by=list("aabbc")),
         r"positive and finite; group\(s\) b have 0.0"),
        (lambda: fgt(Y, {"a": "x"}, by=list("aaaaa")), r"for group 'a' must be a number"),
        (lambda: fgt(Y, [1.0, 2, 3, 4, 5], by=list("aabbc")), r"must be a mapping or Series from group"),
        (lambda: fgt(Y, {"a": 2.0}, by=["a", None, "a", "a", "a"]), r"`by` .*missing at row 1"),
        (lambda: fgt(Y, {"a": 2.0}, by=["a", "a"]), r"`by` has 2 rows but 5 are needed"),
        (lambda: fgt(Y, [1.0, 2.0, -3.0, 4.0, 5.0]), r"`z` must be positive.*at row 2"),
    ],
)
def test_line_errors(call, message):
    with pytest.raises(DataError, match=message):
        call()


def test_regional_lines_equal_deflated_welfare_at_one_line():
    # identity: y_i < z_r  <=>  y_i * zbar / z_r < zbar, and the gaps are equal, so FGT of
    # nominal welfare at regional lines = FGT of welfare deflated by the line ratio at zbar
    rng = np.random.default_rng(0)
    n = 400
    region = rng.integers(1, 6, n)
    y = rng.lognormal(0, 0.6, n)
    w = rng.uniform(1, 3, n)
    lines = {1: 0.8, 2: 1.0, 3: 1.1, 4: 1.3, 5: 0.9}
    zbar = 1.05  # (a base equal to a group key, e.g. 1, would mean that group's line)
    real = deflate(y, lines, by=region, base=zbar)
    for a in (0, 1, 2):
        assert fgt(y, lines, w, alpha=a, by=region) == pytest.approx(fgt(real, zbar, w, alpha=a))
    assert watts(y, lines, w, by=region) == pytest.approx(watts(real, zbar, w))


# --- deflation by region ------------------------------------------------------------------
def test_deflate_by_region_with_column_names_and_country_mean():
    df = pd.DataFrame({"y": [100.0, 100.0, 100.0], "oblast": [1, 2, 2], "v": [1.0, 1.0, 2.0],
                       "p": [1.0, 1.25, 0.8]})
    sml = {1: 10.0, 2: 20.0}
    # Kazakhstan TSA 2017 fn. 9: y x (country average SML / oblast SML); the person-weighted
    # country average is (10 + 20 + 2 x 20) / 4 = 17.5
    out = deflate("y", sml, by="oblast", base="mean", weights="v", data=df)
    assert out.tolist() == pytest.approx([175.0, 87.5, 87.5])
    assert out.name == "y" and list(out.index) == [0, 1, 2]
    # a per-household index column
    assert deflate("y", "p", data=df).tolist() == pytest.approx([100.0, 80.0, 125.0])
    # the old positional call is unchanged
    assert deflate(df.y, {1: 110.0, 2: 121.0}, by=df.oblast, base=1).tolist() == pytest.approx(
        [100.0, 100 / 1.1, 100 / 1.1]
    )
    with pytest.raises(DataError, match=r"`by` column 'region' is not in the data"):
        deflate("y", sml, by="region", data=df)
    with pytest.raises(DataError, match=r"column name \('y'\): pass `data=`"):
        deflate("y", sml, by=[1, 2, 2])


# --- household lines from member lines (Belarus 2011, Table 4) ------------------------------
BELARUS_FEB_2008 = {  # minimum subsistence budget, thousand BYR per person per month
    "n_working_age": 221.4,
    "n_above_working_age": 176.7,
    "n_children_0_3": 168.9,
    "n_children_3_16": 234.8,
}


def _belarus_households():
    return pd.DataFrame(
        {
            "n_working_age": [2, 0, 1],
            "n_above_working_age": [0, 1, 0],
            "n_children_0_3": [1, 0, 0],
            "n_children_3_16": [1, 0, 2],
            "size": [4, 1, 3],
        },
        index=["h1", "h2", "h3"],
    )


def test_household_line_is_the_sum_of_member_lines_belarus_table_4():
    df = _belarus_households()
    line = household_line(df, BELARUS_FEB_2008, size="size")
    # 2 x 221.4 + 168.9 + 234.8; 176.7; 221.4 + 2 x 234.8
    assert line.tolist() == pytest.approx([846.5, 176.7, 691.0])
    assert list(line.index) == ["h1", "h2", "h3"] and line.name == "household_line"
    pc = household_line(df, BELARUS_FEB_2008, size="size", per_capita=True)
    assert pc.tolist() == pytest.approx([846.5 / 4, 176.7, 691.0 / 3])
    assert pc.name == "line_per_capita"
    # without size, per capita divides by the counted members
    assert household_line(df, BELARUS_FEB_2008, per_capita=True).tolist() == pytest.approx(
        pc.tolist()
    )
    # total income against the household line = per-capita income against the per-capita
    # line: same poor, same gaps
    income = pd.Series([800.0, 200.0, 600.0], index=df.index)
    assert fgt(income, line, alpha=1) == pytest.approx(fgt(income / df["size"], pc, alpha=1))
    assert fgt(income, line, alpha=1) == pytest.approx((46.5 / 846.5 + 91.0 / 691.0) / 3)


def test_household_line_with_a_regional_member_line_and_errors():
    df = _belarus_households().assign(adult_line=[200.0, 210.0, 220.0])
    lines = dict(BELARUS_FEB_2008, n_working_age="adult_line")
    assert household_line(df, lines).tolist() == pytest.approx(
        [400 + 168.9 + 234.8, 176.7, 220 + 469.6]
    )
    partial = {"n_working_age": 221.4, "n_children_3_16": 234.8}
    with pytest.raises(DataError, match=r"do not add up to `size` at rows h1, h2.*add the missing"):
        household_line(df, partial, size="size")
    with pytest.raises(DataError, match=r"column\(s\) 'n_adults' not in the data"):
        household_line(df, {"n_adults": 180})
    with pytest.raises(DataError, match=r"non-empty mapping"):
        household_line(df, {})
    bad = df.assign(n_children_0_3=[1.5, 0, 0])
    with pytest.raises(DataError, match=r"`n_children_0_3` must be whole numbers >= 0.*row h1"):
        household_line(bad, BELARUS_FEB_2008)


def test_household_line_on_the_synthetic_survey_matches_numpy():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=4)
    member_lines = {"n_children_0_5": 120_000, "n_children_6_17": 140_000,
                    "n_adults": 180_000, "n_elderly": 150_000}
    pc = household_line(df, member_lines, size="hh_size", per_capita=True)
    expected = (120_000 * df.n_children_0_5.to_numpy() + 140_000 * df.n_children_6_17.to_numpy()
                + 180_000 * df.n_adults.to_numpy() + 150_000 * df.n_elderly.to_numpy())
    expected = expected / df.hh_size.to_numpy()
    np.testing.assert_allclose(pc.to_numpy(), expected)
    v = (df.weight * df.hh_size).to_numpy()
    y = df.pcc.to_numpy()
    assert fgt(df.pcc, pc, v, alpha=0) == pytest.approx(np.sum(v * (y < expected)) / v.sum())


# --- poverty_measures with varying lines -------------------------------------------------------
def _small_design():
    return pd.DataFrame(
        {
            "y": [1, 5, 2, 8, 3, 1, 9, 2, 7, 4.0],
            "w": [10, 10, 20, 20, 5, 5, 8, 8, 12, 12.0],
            "size": [1, 2, 3, 1, 2, 4, 1, 2, 3, 1],
            "h": [1, 1, 1, 1, 1, 1, 2, 2, 2, 2],
            "psu": [1, 1, 2, 2, 3, 3, 1, 1, 2, 2],
            "region": ["n", "s", "n", "s", "n", "s", "n", "s", "n", "s"],
        }
    )


def test_poverty_measures_with_regional_lines_hand_formula():
    df = _small_design()
    lines = {"n": 2.5, "s": 4.5}
    z = df.region.map(lines).to_numpy()
    sv = pmt.Survey(df, weight="w", size="size", strata="h", psu="psu")
    res = poverty_measures(sv, "y", lines, line_by="region", alphas=[0, 1], include_watts=False)
    v = df.w * df["size"]
    for name, f in {
        "FGT0": (df.y < z).astype(float),
        "FGT1": np.where(df.y < z, (z - df.y) / z, 0.0),
    }.items():
        r = (v * f).sum() / v.sum()
        var = 0.0
        for _, g in df.assign(e=v * (f - r)).groupby("h"):
            t = g.groupby("psu").e.sum()
            var += len(t) / (len(t) - 1) * ((t - t.mean()) ** 2).sum()
        assert res.loc[name, "estimate"] == pytest.approx(r)
        assert res.loc[name, "se"] == pytest.approx(math.sqrt(var) / v.sum())
    # the same lines as a column, as one value per household, or a dict with by= (domains)
    sv_z = pmt.Survey(df.assign(z=z), weight="w", size="size", strata="h", psu="psu")
    col = poverty_measures(sv_z, "y", "z", alphas=[0, 1], include_watts=False)
    np.testing.assert_allclose(col[["estimate", "se"]], res[["estimate", "se"]])
    arr = poverty_measures(sv, "y", z, alphas=[0, 1], include_watts=False)
    np.testing.assert_allclose(arr[["estimate", "se"]], res[["estimate", "se"]])
    dom = poverty_measures(sv, "y", lines, by="region", alphas=[0], include_watts=False)
    # north: y 1, 2, 3, 9, 7 against 2.5 -> poor 1 (v 10), 2 (v 60); v total 10+60+10+8+36
    assert dom.loc[("n", "FGT0"), "estimate"] == pytest.approx(70 / 124)
    # south: y 5, 8, 1, 2, 4 against 4.5 -> poor 1 (v 20), 2 (v 16), 4 (v 12); total 20+20+20+16+12
    assert dom.loc[("s", "FGT0"), "estimate"] == pytest.approx(48 / 88)


def test_poverty_measures_line_errors():
    df = _small_design()
    sv = pmt.Survey(df, weight="w", size="size", strata="h", psu="psu")
    with pytest.raises(DataError, match=r"pass `line_by=`"):
        poverty_measures(sv, "y", {"n": 2.5, "s": 4.5})
    with pytest.raises(DataError, match=r"`line_by` column\(s\) 'oblast' not in the survey data"):
        poverty_measures(sv, "y", {"n": 2.5, "s": 4.5}, line_by="oblast")
    with pytest.raises(DataError, match=r"no value for group\(s\) s: add them to `line`"):
        poverty_measures(sv, "y", {"n": 2.5}, line_by="region")
    with pytest.raises(DataError, match=r"`line` must be a mapping or Series from group"):
        poverty_measures(sv, "y", 2.5, line_by="region")


# --- the Watts default on zero or negative welfare (defect) -----------------------------------
def test_default_measures_report_watts_as_nan_when_welfare_is_not_positive():
    df = _small_design()
    df.loc[4, "y"] = 0.0  # a zero income, in region "n"
    sv = pmt.Survey(df, weight="w", size="size", strata="h", psu="psu")
    with pytest.warns(UserWarning, match=r"Watts index not computed.*1 household at row 4"):
        res = poverty_measures(sv, "y", 3.5)
    assert list(res.index) == ["FGT0", "FGT1", "FGT2", "Watts"]
    assert res.loc["Watts", ["estimate", "se", "ci_lower", "ci_upper"]].isna().all()
    assert "ln(z / y)" in res.attrs["notes"][0]
    v = df.w * df["size"]
    # FGT is still estimated, and counts the zero income with a full gap
    poor = df.y < 3.5
    assert res.loc["FGT0", "estimate"] == pytest.approx(v[poor].sum() / v.sum())
    assert res.loc["FGT1", "estimate"] == pytest.approx(
        (v * np.where(poor, (3.5 - df.y) / 3.5, 0)).sum() / v.sum()
    )
    assert res.loc["FGT0", "se"] > 0
    # domains: the one without non-positive welfare keeps its Watts index
    with pytest.warns(UserWarning, match=r"Domains whose welfare is all positive"):
        dom = poverty_measures(sv, "y", 3.5, by="region")
    assert np.isnan(dom.loc[("n", "Watts"), "estimate"])
    s = (df.region == "s").to_numpy()
    ys, vs = df.y[s].to_numpy(), v[s].to_numpy()
    by_hand = np.sum(vs * np.where(ys < 3.5, np.log(3.5 / ys), 0.0)) / vs.sum()
    assert dom.loc[("s", "Watts"), "estimate"] == pytest.approx(by_hand)
    assert dom.loc[("s", "Watts"), "se"] > 0
    # the bootstrap path does not fail either
    with pytest.warns(UserWarning):
        boot = poverty_measures(sv, "y", 3.5, se="bootstrap", n_replicates=50, seed=1)
    assert np.isnan(boot.loc["Watts", "se"]) and np.isfinite(boot.loc["FGT2", "se"])
    # negative welfare (e.g. losses) is treated the same; explicit include_watts=True fails
    df.loc[4, "y"] = -2.0
    sv = pmt.Survey(df, weight="w", size="size", strata="h", psu="psu")
    with pytest.warns(UserWarning):
        assert np.isnan(poverty_measures(sv, "y", 3.5).loc["Watts", "estimate"])
    with pytest.raises(DataError, match=r"Watts index takes log\(z / y\).*at row 4"):
        poverty_measures(sv, "y", 3.5, include_watts=True)
    assert "Watts" not in poverty_measures(sv, "y", 3.5, include_watts=False).index


def test_default_measures_keep_watts_when_welfare_is_positive():
    df = _small_design()
    sv = pmt.Survey(df, weight="w", size="size", strata="h", psu="psu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = poverty_measures(sv, "y", 3.5)
    v = df.w * df["size"]
    by_hand = np.sum(v * np.where(df.y < 3.5, np.log(3.5 / df.y), 0.0)) / v.sum()
    assert res.loc["Watts", "estimate"] == pytest.approx(by_hand)
    assert np.isfinite(res.loc["Watts", "se"]) and res.attrs["notes"] == []


# --- subsistence minimum -------------------------------------------------------------------
# ten households, equal weights: welfare k is in decile k
W10 = np.arange(1.0, 11.0)
F10 = np.array([0.8, 1.2, 1.5, 2.0, 2.5, 2.4, 2.8, 3.2, 3.6, 4.0])


def test_subsistence_minimum_hand_calculation():
    df = pd.DataFrame({"pcc": W10, "food_pc": F10})
    res = subsistence_minimum(df, 2.2, welfare="pcc", food="food_pc")
    share = (1.2 + 1.5 + 2.0) / (2 + 3 + 4)  # deciles 2-4: food / total
    z = 2.2 / share  # 4.2128
    assert res.observed_food_share == pytest.approx(share) and res.food_share == res.observed_food_share
    assert res.minimum == pytest.approx(z) and float(res) == pytest.approx(z)
    assert res.headcount == pytest.approx(0.4)  # 1, 2, 3, 4 < 4.21
    assert not res.normative and res.reference == (2, 4)
    t = res.sensitivity
    assert list(t.index) == ["deciles 1-3", "deciles 2-4", "deciles 3-5", "deciles 1-5"]
    expected_shares = {
        "deciles 1-3": (0.8 + 1.2 + 1.5) / 6,
        "deciles 2-4": share,
        "deciles 3-5": (1.5 + 2.0 + 2.5) / 12,
        "deciles 1-5": (0.8 + 1.2 + 1.5 + 2.0 + 2.5) / 15,
    }
    for label, s in expected_shares.items():
        assert t.loc[label, "food_share"] == pytest.approx(s)
        assert t.loc[label, "minimum"] == pytest.approx(2.2 / s)
        assert t.loc[label, "change"] == pytest.approx((2.2 / s) / z - 1)
    # headcounts: 3.77 -> 0.3; 4.21 -> 0.4; 4.4 -> 0.4; 4.125 -> 0.4
    assert t["headcount"].tolist() == pytest.approx([0.3, 0.4, 0.4, 0.4])
    assert t.loc["deciles 2-4", "poverty_gap"] == pytest.approx(
        sum((z - y) / z for y in (1, 2, 3, 4)) / 10
    )
    assert t["chosen"].tolist() == [False, True, False, False]
    assert t.loc["deciles 3-5", "n_households"] == 3 and t.loc["deciles 1-5", "population"] == 5
    # mean of household shares instead of the group's budget share
    mean = subsistence_minimum(df, 2.2, welfare="pcc", food="food_pc", share="mean")
    assert mean.food_share == pytest.approx((0.6 + 0.5 + 0.5) / 3)
    # household totals with size give the same answer as per-person amounts
    size = np.array([1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    tot = subsistence_minimum(df.assign(food=F10 * size, cons=W10 * size, n=size), 2.2,
                              welfare="pcc", food="food", total="cons", size="n")
    assert tot.minimum == pytest.approx(z)


def test_subsistence_minimum_person_weighted_groups():
    # weights 3, 1, 1, 5: cumulative shares .3, .4, .5, 1 -> median 3, halves {1, 2, 3}, {4}
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "f": [0.5, 1.0, 1.2, 1.0],
                       "v": [3.0, 1.0, 1.0, 5.0]})
    res = subsistence_minimum(df, 1.0, reference=(1, 1), welfare="y", food="f", weights="v",
                              n_groups=2, sensitivity=[(1, 2)])
    assert res.food_share == pytest.approx((3 * 0.5 + 1.0 + 1.2) / (3 * 1 + 2 + 3))
    assert list(res.sensitivity.index) == ["group 1", "groups 1-2"]
    assert res.sensitivity.loc["groups 1-2", "food_share"] == pytest.approx(
        (1.5 + 1.0 + 1.2 + 5.0) / (3 + 2 + 3 + 20)
    )
    mean = subsistence_minimum(df, 1.0, reference=(1, 1), welfare="y", food="f", weights="v",
                               n_groups=2, share="mean")
    assert mean.food_share == pytest.approx((3 * 0.5 + 0.5 + 0.4) / 5)
    # minimum 1 / 0.4625 = 2.162: people with y = 1, 2 (weights 3 + 1) are below it
    assert res.headcount == pytest.approx(4 / 10)


def test_normative_food_share_reproduces_kazakh_9_1_percent():
    # Kazakhstan TSA 2017: food share of the subsistence minimum lowered from 60 % to 55 %,
    # "9.1 % higher in real terms": 0.60 / 0.55 = 1.0909
    df = pd.DataFrame({"pcc": W10, "food_pc": F10})
    res = subsistence_minimum(df, 2.2, food_share=0.55, welfare="pcc", food="food_pc",
                              sensitivity=[0.60, 0.55, (2, 4)])
    assert res.normative and res.minimum == pytest.approx(4.0)
    assert res.observed_food_share == pytest.approx(4.7 / 9)
    t = res.sensitivity
    assert list(t.index) == ["food share 0.6", "food share 0.55", "deciles 2-4"]
    assert t.loc["food share 0.55", "minimum"] / t.loc["food share 0.6", "minimum"] - 1 == (
        pytest.approx(0.091, abs=5e-4)
    )
    assert t.loc["food share 0.6", "change"] == pytest.approx(0.55 / 0.60 - 1)
    assert t.loc["food share 0.55", "chosen"] and t["kind"].tolist() == [
        "normative", "normative", "observed"]
    assert pd.isna(t.loc["food share 0.6", "first"])
    # headcount at 2.2 / 0.6 = 3.67: 0.3; at 4.0: 0.3 (4 < 4 is false)
    assert t["headcount"].tolist() == pytest.approx([0.3, 0.3, 0.4])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"reference": (0, 3)}, r"1 <= first <= last <= 10.*got \(0, 3\)"),
        ({"reference": (4, 2)}, r"reference group must be"),
        ({"food_share": 1.5}, r"`food_share` must be a share in \(0, 1\]"),
        ({"sensitivity": [(1, 3), 2.0]}, r"`sensitivity share` must be a share"),
        ({"food": "cons"}, r"`food` column 'cons' is not in the data"),
        ({"share": "median"}, r"`share` must be 'aggregate' or 'mean'"),
        ({"n_groups": 1}, r"`n_groups` must be a whole number >= 2"),
    ],
)
def test_subsistence_minimum_argument_errors(kwargs, message):
    df = pd.DataFrame({"pcc": W10, "food_pc": F10})
    args = {"welfare": "pcc", "food": "food_pc"} | kwargs
    with pytest.raises(DataError, match=message):
        subsistence_minimum(df, 2.2, **args)


def test_subsistence_minimum_data_errors():
    df = pd.DataFrame({"pcc": W10, "food_pc": F10})
    with pytest.raises(DataError, match=r"`food_basket_cost` must be a positive number"):
        subsistence_minimum(df, 0, welfare="pcc", food="food_pc")
    with pytest.raises(DataError, match=r"food expenditure exceeds total.*row 2.*same basis"):
        subsistence_minimum(df.assign(food_pc=F10 * [1, 1, 3, 1, 1, 1, 1, 1, 1, 1]), 2.2,
                            welfare="pcc", food="food_pc")
    with pytest.raises(DataError, match=r"`food` expenditure is negative at row 0"):
        subsistence_minimum(df.assign(food_pc=np.r_[-0.1, F10[1:]]), 2.2, welfare="pcc",
                            food="food_pc")
    with pytest.raises(DataError, match=r"`food` has 1 missing"):
        subsistence_minimum(df.assign(food_pc=np.r_[np.nan, F10[1:]]), 2.2, welfare="pcc",
                            food="food_pc")
    tied = pd.DataFrame({"pcc": np.ones(10), "food_pc": np.full(10, 0.5)})
    with pytest.raises(DataError, match=r"reference group deciles 2-4 is empty"):
        subsistence_minimum(tied, 1.0, welfare="pcc", food="food_pc")


def test_subsistence_minimum_on_the_synthetic_survey_matches_numpy():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=5)
    # synthetic_hbs has total consumption (consumption, pcc) but no food column: give each
    # household a food share falling with welfare (Engel's law), drawn here
    rng = np.random.default_rng(1)
    lp = np.log(df.pcc.to_numpy())
    share_h = np.clip(0.6 - 0.1 * (lp - np.median(lp)) + rng.normal(0, 0.05, len(df)), 0.1, 0.95)
    df["food_pc"] = share_h * df.pcc
    basket = 90_000.0
    v = (df.weight * df.hh_size).to_numpy()
    y = df.pcc.to_numpy()
    f = df.food_pc.to_numpy()

    # deciles by numpy: cut-points = smallest y whose cumulative weight share >= k/10
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(v[order]) / v.sum()
    cuts = y[order][np.searchsorted(cum, np.arange(1, 10) / 10 - 1e-12)]
    decile = 1 + (y[:, None] > cuts[None, :]).sum(axis=1)

    def by_numpy(lo, hi):
        m = (decile >= lo) & (decile <= hi)
        s = np.sum(v[m] * f[m]) / np.sum(v[m] * y[m])
        z = basket / s
        return s, z, np.sum(v * (y < z)) / v.sum()

    res = subsistence_minimum(df, basket, welfare="pcc", food="food_pc",
                              weights=df.weight * df.hh_size)
    s, z, hc = by_numpy(2, 4)
    assert res.food_share == pytest.approx(s, rel=1e-12)
    assert res.minimum == pytest.approx(z, rel=1e-12)
    assert res.headcount == pytest.approx(hc, rel=1e-12)
    for lo, hi in [(1, 3), (3, 5), (1, 5)]:
        s, z, hc = by_numpy(lo, hi)
        row = res.sensitivity.loc[f"deciles {lo}-{hi}"]
        assert row["food_share"] == pytest.approx(s, rel=1e-12)
        assert row["minimum"] == pytest.approx(z, rel=1e-12)
        assert row["headcount"] == pytest.approx(hc, rel=1e-12)
    # Engel's law in the drawn shares: a poorer reference group has a larger food share,
    # hence a lower minimum
    assert (res.sensitivity.loc["deciles 1-3", "minimum"]
            < res.sensitivity.loc["deciles 3-5", "minimum"])
    # a Survey supplies the person weights itself; the line then feeds poverty_measures
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    res_sv = subsistence_minimum(sv, basket, welfare="pcc", food="food_pc")
    assert res_sv.minimum == pytest.approx(res.minimum, rel=1e-12)
    pm = poverty_measures(sv, "pcc", res_sv.minimum, alphas=[0], include_watts=False)
    assert pm.loc["FGT0", "estimate"] == pytest.approx(res.headcount)


def test_public_names():
    assert pmt.subsistence_minimum is subsistence_minimum
    assert pmt.household_line is household_line
    assert "subsistence_minimum" in dir(pmt) and "household_line" in dir(pmt)
