"""The synthetic person roster (pmt.datasets.synthetic_roster) against its household file.

Every household aggregate is recomputed here with a plain pandas groupby on the roster and
compared with the column of ``synthetic_hbs`` it must reproduce.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pmt import DataSpec
from pmt.datasets import synthetic_hbs, synthetic_roster
from pmt.errors import DataError
from pmt.roster.data import roster_spec_path
from pmt.roster.families import families, family_summary

INCOMES = ["inc_wages", "inc_pensions", "inc_alimony", "inc_business"]


@pytest.fixture(scope="module")
def small():
    hh = synthetic_hbs(2000, seed=3)
    return hh, synthetic_roster(hh, seed=3)


@pytest.fixture(scope="module")
def default():
    hh = synthetic_hbs()
    return hh, synthetic_roster()


@pytest.fixture(params=["small", "default"])
def pair(request):
    return request.getfixturevalue(request.param)


def _aggregate(r: pd.DataFrame) -> pd.DataFrame:
    """Household columns rebuilt from the roster by groupby."""
    a = r["age"]
    d = r.assign(
        c02=a <= 2,
        c35=a.between(3, 5),
        c614=a.between(6, 14),
        c1517=a.between(15, 17),
        ad=a.between(18, 59),
        old=a >= 60,
        p15=a >= 15,
        pri=r["edu"] == 1,
        ter=r["edu"] == 3,
        div=r["marital"] == 3,
    )
    g = d.groupby("hh_id")
    head = d[d["relation"] == 1].set_index("hh_id")
    out = pd.DataFrame(
        {
            "hh_size": g.size(),
            "n_children_0_2": g["c02"].sum(),
            "n_children_3_5": g["c35"].sum(),
            "n_children_6_14": g["c614"].sum(),
            "n_children_15_17": g["c1517"].sum(),
            "n_adults": g["ad"].sum(),
            "n_elderly": g["old"].sum(),
            "n_members_15plus": g["p15"].sum(),
            "n_disabled": g["disabled"].sum(),
            "n_employed": g["employed"].sum(),
            "n_edu_primary": g["pri"].sum(),
            "n_edu_tertiary": g["ter"].sum(),
            "n_pensioners": g["pensioner"].sum(),
            "n_mobile": g["has_mobile"].sum(),
            "female_head": (head["sex"] == 2).astype(np.int64),
            "head_age": head["age"],
            "any_divorced": g["div"].any().astype(np.int64),
        }
    )
    return out.astype(np.int64).join(g[INCOMES].sum())


def _linked(r: pd.DataFrame, col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(persons with a link in ``col``, the members they point to), row-aligned."""
    has = r[r[col].notna()]
    pos = pd.Series(np.arange(len(r)), index=pd.MultiIndex.from_frame(r[["hh_id", "line"]]))
    target = pos.reindex(pd.MultiIndex.from_arrays([has["hh_id"], has[col].astype("int64")]))
    assert target.notna().all(), f"{col} points to a line that is not in the household"
    return has.reset_index(drop=True), r.iloc[target.to_numpy(dtype=np.int64)].reset_index(
        drop=True
    )


def _types(r: pd.DataFrame) -> pd.Series:
    """Household type from the relation codes (module docstring of synthetic_roster)."""
    rel, mar = r["relation"], r["marital"]
    parentless_grandchild = (rel == 8) & r["mother_line"].isna() & r["father_line"].isna()
    complex_ = rel.isin([7, 9, 10, 11, 12, 13]) | ((rel == 3) & mar.isin([3, 4]))
    complex_ |= parentless_grandchild
    three = rel.isin([4, 5, 6, 8]) | ((rel == 3) & (mar == 2))
    cx = complex_.groupby(r["hh_id"]).any()
    tg = three.groupby(r["hh_id"]).any() & ~cx
    return pd.Series(np.select([cx, tg], ["complex", "three-generation"], "nuclear"), cx.index)


# ---------------------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------------------


def test_validates_against_the_roster_spec(small):
    _, r = small
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataSpec.load(roster_spec_path()).validate(r, extra="error")


def test_columns_dtypes_and_order(small):
    hh, r = small
    assert list(r.columns) == [
        "hh_id", "line", "relation", "sex", "age", "marital", "spouse_line", "mother_line",
        "father_line", "edu", "employed", "disabled", "pensioner", "has_mobile", "inc_wages",
        "inc_pensions", "inc_alimony", "inc_business",
    ]  # fmt: skip
    for c in ["spouse_line", "mother_line", "father_line"]:
        assert r[c].dtype == "Int64"
    for c in INCOMES:
        assert r[c].dtype == np.float64
    for c in set(r.columns) - set(INCOMES) - {"spouse_line", "mother_line", "father_line"}:
        assert r[c].dtype == np.int64, c
    assert isinstance(r.index, pd.RangeIndex)
    assert r.equals(r.sort_values(["hh_id", "line"]).reset_index(drop=True))
    lines = r.groupby("hh_id")["line"]
    assert (lines.min() == 1).all() and (lines.max() == lines.size()).all()
    assert lines.apply(lambda s: s.is_unique).all()
    assert (r.loc[r["line"] == 1, "relation"] == 1).all()
    assert (r["relation"] == 1).sum() == len(hh)
    assert set(r["hh_id"]) == set(hh["hh_id"])


# ---------------------------------------------------------------------------------------
# exact consistency with the household file
# ---------------------------------------------------------------------------------------


def test_aggregates_reproduce_the_household_file(pair):
    hh, r = pair
    agg = _aggregate(r)
    want = hh.set_index("hh_id").loc[agg.index]
    for c in agg.columns:
        if c in INCOMES:
            np.testing.assert_allclose(agg[c], want[c], rtol=1e-9, atol=0, err_msg=c)
        else:
            bad = agg[c].to_numpy() != want[c].to_numpy()
            assert not bad.any(), f"{c}: {bad.sum()} households differ, e.g. {agg.index[bad][:5]}"


def test_member_attributes_by_age(pair):
    _, r = pair
    under15 = r["age"] < 15
    assert (r.loc[under15, "edu"] == 0).all()
    assert r.loc[~under15, "edu"].isin([1, 2, 3]).all()
    assert (r.loc[under15, ["employed", "has_mobile"]] == 0).all().all()
    assert (r.loc[r["age"] < 60, "pensioner"] == 0).all()
    assert (r.loc[r["age"] < 18, "edu"] != 3).mean() > 0.99  # tertiary is for adults
    assert r["age"].between(0, 100).all()
    assert r["sex"].isin([1, 2]).all() and r["marital"].isin([1, 2, 3, 4]).all()


def test_divorce(pair):
    hh, r = pair
    h = hh.set_index("hh_id")
    div = r["marital"] == 3
    adult_div = (div & r["age"].between(18, 59)).groupby(r["hh_id"]).any()
    need = (h["any_divorced"] == 1) & (h["n_adults"] > 0)
    assert adult_div[need[need].index].all()
    assert not div[r["hh_id"].isin(h.index[h["any_divorced"] == 0])].any()
    assert (r.loc[div, "age"] >= 18).all()


def test_income_rules(pair):
    hh, r = pair
    # wages only to the employed, pensions to pensioners where the household has any
    assert (r.loc[r["employed"] == 0, "inc_wages"] == 0).all()
    has_pensioner = r.groupby("hh_id")["pensioner"].transform("max") == 1
    assert (r.loc[has_pensioner & (r["pensioner"] == 0), "inc_pensions"] == 0).all()
    # alimony to a divorced woman whenever the household has one
    div_woman = (r["marital"] == 3) & (r["sex"] == 2)
    hh_with = div_woman.groupby(r["hh_id"]).transform("any")
    got = r[(r["inc_alimony"] > 0) & hh_with]
    assert len(got) > 0 and div_woman[got.index].all()
    assert (hh["inc_alimony"] > 0).sum() == (r["inc_alimony"] > 0).sum()  # one recipient
    # business income: one person, employed unless nobody in the household is
    recipients = r[r["inc_business"] > 0]
    assert recipients["hh_id"].is_unique
    any_emp = r.groupby("hh_id")["employed"].max()
    assert (recipients["employed"] == 1)[any_emp[recipients["hh_id"]].to_numpy() == 1].all()
    for c in INCOMES:
        assert (r[c] >= 0).all()


# ---------------------------------------------------------------------------------------
# reproducibility; synthetic_hbs untouched
# ---------------------------------------------------------------------------------------


def test_reproducible_and_seed_dependent(small):
    hh, r = small
    again = synthetic_roster(hh, seed=3)
    pd.testing.assert_frame_equal(r, again, check_exact=True)
    assert r.equals(again)
    other = synthetic_roster(hh, seed=4)
    assert not r.equals(other)
    assert other["hh_id"].value_counts().sort_index().equals(r["hh_id"].value_counts().sort_index())


def test_row_order_of_households_does_not_matter(small):
    hh, r = small
    shuffled = hh.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert synthetic_roster(shuffled, seed=3).equals(r)


def test_synthetic_hbs_unchanged():
    before = synthetic_hbs(2000, seed=3)
    hh = synthetic_hbs(2000, seed=3)
    copy = hh.copy(deep=True)
    synthetic_roster(hh, seed=3)
    synthetic_roster(seed=5)
    pd.testing.assert_frame_equal(hh, copy, check_exact=True)  # input not modified
    after = synthetic_hbs(2000, seed=3)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


def test_default_is_synthetic_hbs_of_the_same_seed(default):
    hh, r = default
    assert len(hh) == 20_000 and r["hh_id"].nunique() == 20_000
    assert synthetic_roster(hh, seed=0).equals(r)


# ---------------------------------------------------------------------------------------
# family links
# ---------------------------------------------------------------------------------------


def test_spouse_links(pair):
    _, r = pair
    a, b = _linked(r, "spouse_line")
    assert (b["spouse_line"].to_numpy() == a["line"].to_numpy()).all()  # symmetric
    assert (a["sex"].to_numpy() != b["sex"].to_numpy()).all()
    assert (a["marital"] == 2).all() and (b["marital"] == 2).all()
    assert (a["age"] - b["age"]).abs().max() <= 15
    pairs = set(zip(a["relation"], b["relation"], strict=True))
    assert pairs <= {(1, 2), (2, 1), (3, 4), (4, 3), (5, 5), (6, 6), (7, 12), (12, 7)}
    assert len(a) > 0.4 * r["hh_id"].nunique()


@pytest.mark.parametrize("col, sex, max_gap", [("mother_line", 2, 49), ("father_line", 1, 60)])
def test_parent_links(pair, col, sex, max_gap):
    _, r = pair
    child, parent = _linked(r, col)
    gap = parent["age"] - child["age"]
    assert gap.min() >= 16 and gap.max() <= max_gap
    assert (parent["sex"] == sex).all()
    # the parent's relationship to the head matches the child's
    allowed = {
        1: {5}, 2: {6}, 3: {1, 2}, 7: {5}, 8: {3, 4}, 10: {7, 12},
    }  # fmt: skip
    for rel, parents in allowed.items():
        got = set(parent.loc[child["relation"] == rel, "relation"])
        assert got <= parents, (rel, got)
    assert set(child["relation"]) <= set(allowed)


def test_two_parents_named_are_a_couple(pair):
    _, r = pair
    both = r[r["mother_line"].notna() & r["father_line"].notna()]
    assert len(both) > 0.3 * len(r)
    key = r.set_index(["hh_id", "line"])["spouse_line"]
    mothers_spouse = key.reindex(
        pd.MultiIndex.from_arrays([both["hh_id"], both["mother_line"].astype("int64")])
    )
    assert (mothers_spouse.to_numpy() == both["father_line"].to_numpy()).all()


def test_household_types_and_multi_family(default):
    hh, r = default
    shares = _types(r).value_counts(normalize=True)
    assert abs(shares["nuclear"] - 0.60) < 0.06, shares
    assert abs(shares["three-generation"] - 0.20) < 0.06, shares
    assert abs(shares["complex"] - 0.20) < 0.06, shares
    # households with two or more couples (e.g. the head's and a married son's)
    couples = (r["spouse_line"].notna() & (r["line"] < r["spouse_line"])).groupby(r["hh_id"]).sum()
    assert (couples >= 2).sum() > 200
    assert (couples >= 3).sum() > 0
    # every kind of relationship code occurs
    assert set(r["relation"]) == set(range(1, 14))
    for rel in (2, 3, 4, 5, 7, 8, 10):
        assert (r["relation"] == rel).sum() > 200, rel


def test_families_rebuilt_by_both_methods(default):
    _, r = default
    common = dict(household="hh_id", person="line", age="age", marital="marital")
    links = families(
        r, spouse="spouse_line", mother="mother_line", father="father_line",
        relation="relation", codes="uzbekistan", married_codes=[2], **common,
    )  # fmt: skip
    codes = families(r, relation="relation", codes="uzbekistan", married_codes=[2], **common)
    for fam in (links, codes):
        amb = fam.attrs["ambiguous"]
        assert amb["persons"].sum() < 0.06 * len(r), amb
        summary = family_summary(r, fam, household="hh_id")
        assert summary["share_multi_family"] > 0.2
        assert summary["families_per_household"] > 1.3
    assert links.attrs["method"] == "links" and codes.attrs["method"] == "relationship codes"
    # share of persons whose family (as a set of members) is the same by both methods
    d = pd.DataFrame({"hh": r["hh_id"], "a": links.to_numpy(), "b": codes.to_numpy()})
    n_a = d.groupby(["hh", "a"])["a"].transform("size")
    n_b = d.groupby(["hh", "b"])["b"].transform("size")
    n_ab = d.groupby(["hh", "a", "b"])["a"].transform("size")
    agree = (n_a == n_ab) & (n_b == n_ab)
    assert agree.mean() > 0.9
    # the links method finds the married children's families
    two_couples = (r["relation"] == 4) & r["spouse_line"].notna()
    hh_two = r.loc[two_couples, "hh_id"].unique()
    per_hh = pd.DataFrame({"hh": r["hh_id"], "f": links.to_numpy()}).drop_duplicates()
    assert (per_hh.groupby("hh").size()[hh_two] >= 2).all()


# ---------------------------------------------------------------------------------------
# errors and small inputs
# ---------------------------------------------------------------------------------------


def test_missing_columns_are_named():
    hh = synthetic_hbs(600, seed=1).drop(columns=["head_age", "inc_alimony"])
    with pytest.raises(DataError, match=r"head_age, inc_alimony"):
        synthetic_roster(hh)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"hh_size": 1}, "hh_size differs from"),
        ({"n_elderly": 0, "head_age": 70}, "the head is 60\\+"),
        ({"n_employed": 99}, "n_employed exceeds n_members_15plus"),
        ({"n_pensioners": 5}, "n_pensioners exceeds n_elderly"),
        ({"head_age": 12}, "head_age is below 18"),
    ],
)
def test_inconsistent_counts(change, message):
    hh = synthetic_hbs(600, seed=1)
    row = hh.index[(hh["hh_size"] >= 3) & (hh["n_elderly"] == 0)][0]
    for col, value in change.items():
        hh.loc[row, col] = value
    with pytest.raises(DataError, match=message) as err:
        synthetic_roster(hh)
    assert f"hh_id {hh.loc[row, 'hh_id']}" in str(err.value)


@pytest.mark.parametrize(
    "households, message",
    [
        ("not a frame", "must be a pandas DataFrame"),
        (pd.DataFrame(), "lacks the column"),
    ],
)
def test_bad_households(households, message):
    with pytest.raises(DataError, match=message):
        synthetic_roster(households)


def test_bad_values_and_ids():
    hh = synthetic_hbs(600, seed=1)
    dup = hh.copy()
    dup.loc[1, "hh_id"] = dup.loc[0, "hh_id"]
    with pytest.raises(DataError, match="repeats the ids"):
        synthetic_roster(dup)
    neg = hh.copy()
    neg.loc[3, "inc_wages"] = -1.0
    with pytest.raises(DataError, match="inc_wages"):
        synthetic_roster(neg)
    frac = hh.astype({"n_mobile": float})
    frac.loc[2, "n_mobile"] = 0.5
    with pytest.raises(DataError, match="n_mobile"):
        synthetic_roster(frac)
    for seed in (-1, 1.5, True, "0"):
        with pytest.raises(DataError, match="seed"):
            synthetic_roster(hh, seed=seed)


def test_hand_made_households():
    base = dict(
        n_children_0_2=0, n_children_3_5=0, n_children_6_14=0, n_children_15_17=0,
        n_adults=0, n_elderly=0, n_disabled=0, n_employed=0, n_edu_primary=0,
        n_edu_tertiary=0, n_pensioners=0, n_mobile=0, female_head=0, any_divorced=0,
        inc_wages=0.0, inc_pensions=0.0, inc_alimony=0.0, inc_business=0.0,
    )  # fmt: skip
    rows = [
        # a pensioner living alone, with a pension
        dict(base, hh_id=10, hh_size=1, n_elderly=1, head_age=81, female_head=1,
             n_pensioners=1, inc_pensions=500_000.0),
        # a divorced elderly head with grandchildren, nobody aged 18-59
        dict(base, hh_id=11, hh_size=3, n_elderly=1, n_children_6_14=2, head_age=66,
             any_divorced=1, inc_alimony=100_000.0, inc_wages=50_000.0),
        # a large young household: head 24, five other adults, six children
        dict(base, hh_id=12, hh_size=12, n_adults=6, n_children_0_2=3, n_children_15_17=3,
             head_age=24, n_employed=4, inc_wages=4_000_000.0, inc_business=10.0),
    ]  # fmt: skip
    hh = pd.DataFrame(rows)
    hh["n_members_15plus"] = hh["n_children_15_17"] + hh["n_adults"] + hh["n_elderly"]
    r = synthetic_roster(hh, seed=0)
    agg = _aggregate(r)
    want = hh.set_index("hh_id")
    for c in agg.columns:
        np.testing.assert_allclose(agg[c], want.loc[agg.index, c], rtol=1e-12, err_msg=c)
    alone = r[r["hh_id"] == 10]
    assert alone[["relation", "sex", "age", "pensioner"]].values.tolist() == [[1, 2, 81, 1]]
    assert alone["inc_pensions"].iloc[0] == 500_000.0
    divorced = r[r["hh_id"] == 11]
    assert divorced["marital"].iloc[0] == 3 and divorced["inc_alimony"].iloc[0] == 100_000.0
    assert divorced["inc_wages"].iloc[0] == 50_000.0  # nobody employed: the head
    DataSpec.load(roster_spec_path()).validate(r)
