"""Household typology from member counts (pmt.typology)."""

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.typology import UZBEK_CATEGORIES, household_typology, typology_definitions

# hand-built households: (adults 18-59, children 0-5, children 6-17, elderly 60+) -> type
HOUSEHOLDS = [
    ("widow alone", 0, 0, 0, 1, "Pensioners only"),
    ("elderly couple", 0, 0, 0, 2, "Pensioners only"),
    ("young man alone", 1, 0, 0, 0, "Single adult"),
    ("newly-weds", 2, 0, 0, 0, "Couple, no children"),
    ("couple, baby", 2, 1, 0, 0, "Couple + 1 child"),
    ("couple, two school children", 2, 0, 2, 0, "Couple + 2 children"),
    ("couple, toddler and pupil", 2, 1, 1, 0, "Couple + 2 children"),
    ("couple, three children", 2, 1, 2, 0, "Couple + 3+ children"),
    ("couple, five children", 2, 2, 3, 0, "Couple + 3+ children"),
    ("mother and child", 1, 1, 0, 0, "Single parent"),
    ("father and three children", 1, 0, 3, 0, "Single parent"),
    ("three brothers", 3, 0, 0, 0, "Adults only (3+)"),
    ("couple, married son and his wife, grandchild", 4, 1, 0, 0, "3+ adults with children"),
    ("three generations", 2, 1, 1, 2, "Extended / multi-generation"),
    ("grandmother and grandchildren", 0, 1, 1, 1, "Extended / multi-generation"),
    ("pensioner with an adult son", 1, 0, 0, 1, "Extended / multi-generation"),
    ("single mother living with her parents", 1, 1, 0, 2, "Extended / multi-generation"),
    ("orphaned siblings", 0, 0, 2, 0, "Other"),
]


def frame():
    df = pd.DataFrame(
        [h[1:5] for h in HOUSEHOLDS],
        columns=["n_adults", "n_children_0_5", "n_children_6_17", "n_elderly"],
        index=pd.Index([h[0] for h in HOUSEHOLDS], name="household"),
    )
    df["hh_size"] = df.sum(axis=1)
    return df


def test_hand_built_households_get_their_type():
    df = frame()
    got = household_typology(df, size="hh_size")
    want = pd.Series([h[5] for h in HOUSEHOLDS], index=df.index)
    pd.testing.assert_series_equal(got.astype(str), want.rename("household_type"))
    assert isinstance(got.dtype, pd.CategoricalDtype)
    assert list(got.cat.categories) == list(UZBEK_CATEGORIES)
    assert got.index.equals(df.index)


def test_max_children_gives_the_uzbek_table6_rows():
    df = frame()
    got = household_typology(df, max_children=4)
    assert got["couple, three children"] == "Couple + 3 children"
    assert got["couple, five children"] == "Couple + 4+ children"
    assert "Couple + 4+ children" in got.cat.categories
    defs = typology_definitions(max_children=4)
    assert list(defs.index) == list(got.cat.categories)
    assert defs.loc["Couple + 4+ children", "rule"].startswith("a = 2, c >= 4, e = 0")


def test_couple_signal_separates_couples_from_other_pairs():
    df = frame()
    df["couple"] = 1
    df.loc[["newly-weds", "couple, baby"], "couple"] = 0  # e.g. two sisters; sister + nephew
    got = household_typology(df, couple="couple")
    assert got["newly-weds"] == "Other" and got["couple, baby"] == "Other"
    assert got["couple, five children"] == "Couple + 3+ children"
    assert got["mother and child"] == "Single parent"


def test_children_columns_can_be_one_or_several():
    df = frame()
    df["n_children"] = df.n_children_0_5 + df.n_children_6_17
    a = household_typology(df, children="n_children")
    b = household_typology(df)
    pd.testing.assert_series_equal(a, b)


def test_synthetic_hbs_counts_cover_every_member_and_feed_subgroup_tables():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=1)
    t = pmt.household_typology(df, size="hh_size")
    c = df.n_children_0_5 + df.n_children_6_17
    # spot checks of the rules on the generated counts
    single = (df.n_adults == 1) & (c == 0) & (df.n_elderly == 0)
    assert (t[single] == "Single adult").all() and single.any()
    alone_60 = df.single_pensioner == 1
    assert (t[alone_60] == "Pensioners only").all() and alone_60.any()
    table = pmt.subgroup_metrics(df.poor, df.poor, t, df.weight, size=df.hh_size, layout="table6")
    assert "household_type" in table.index.get_level_values("block")
    shares = table.loc["household_type", "share_of_population"]
    assert shares.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (lambda d: d.drop(columns="n_elderly"), {}, r"`elderly` column\(s\) n_elderly are not in the data"),
        (lambda d: d.assign(n_adults=d.n_adults.astype(float).where(d.index != "newly-weds")), {},
         r"`adults` column 'n_adults' has 1 missing value at row newly-weds"),
        (lambda d: d.assign(n_adults=d.n_adults - 2), {}, r"must hold whole numbers >= 0"),
        (lambda d: d.assign(n_adults=0, n_children_0_5=0, n_children_6_17=0, n_elderly=0), {},
         r"18 households have no members"),
        (lambda d: d.assign(hh_size=d.hh_size + (d.index == "widow alone")), {"size": "hh_size"},
         r"differ from `size` column 'hh_size' in 1 households \(row widow alone; e.g. 0 \+ 0 \+ 1 vs 2\)"),
        (lambda d: d.assign(couple=2), {"couple": "couple"}, r"`couple` column 'couple' must be 0/1"),
        (lambda d: d, {"scheme": "kazakh"}, r"`scheme` 'kazakh' is not known; schemes: uzbek"),
        (lambda d: d, {"max_children": 0}, r"`max_children` must be a whole number >= 1"),
        (lambda d: d, {"adults": 3}, r"`adults` must be a column name or a list of column names"),
    ],
)
def test_errors_name_the_argument_and_rows(change, kwargs, match):
    with pytest.raises(pmt.DataError, match=match):
        household_typology(change(frame()), **kwargs)


def test_accepts_a_survey():
    df = frame()
    sv = pmt.Survey(df, size="hh_size")
    pd.testing.assert_series_equal(household_typology(sv), household_typology(df))
    assert not np.any(household_typology(df).isna())
