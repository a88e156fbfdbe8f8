"""Nuclear families rebuilt from a person roster (pmt.roster.families), checked by hand.

Every household below is written out member by member, with the family id each member
should get written by hand next to it (the ``want`` column), not computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmt.errors import DataError
from pmt.roster.families import CODE_MAPS, CODES_DIR, ROLES, families, family_summary, load_codes

COLS = ["hh", "pid", "rel", "age", "sp", "mo", "fa", "want"]
# Uzbek codes (item 2.05): 1 head, 2 spouse, 3 child, 4 child-in-law, 5 parent,
# 6 parent-in-law, 7 sibling, 8 grandchild, 9 grandparent, 10 niece/nephew, 12 other
# relative, 13 not related. Links: line numbers, 0 = not in the household.


def _roster(rows, first=100):
    """Rows (hh, pid, rel, age, sp, mo, fa, want) with a non-default index (100, 103, ...)."""
    df = pd.DataFrame(rows, columns=COLS)
    df.index = pd.Index(range(first, first + 3 * len(df), 3), name="row")
    return df


def _codes(df, **kw):
    kw.setdefault("codes", "uzbekistan")
    return families(df, household="hh", person="pid", relation="rel", age="age", **kw)


def _links(df, **kw):
    return families(
        df, household="hh", person="pid", spouse="sp", mother="mo", father="fa", age="age", **kw
    )


def _check(got: pd.Series, df: pd.DataFrame, want=None):
    want = df["want"] if want is None else want
    assert got.name == "family_id"
    assert got.dtype == np.int64
    assert got.index.equals(df.index)
    assert got.tolist() == list(want)


def _cases(got: pd.Series) -> dict:
    amb = got.attrs["ambiguous"]
    assert list(amb.columns) == ["case", "households", "persons", "rule_applied"]
    return {r.case: (r.households, r.persons) for r in amb.itertuples()}


# ---------------------------------------------------------------------------------------
# hand-made households
# ---------------------------------------------------------------------------------------

NUCLEAR = _roster([
    ("HH-01", 1, 1, 40, 2, 0, 0, 1),  # head
    ("HH-01", 2, 2, 38, 1, 0, 0, 1),  # spouse
    ("HH-01", 3, 3, 10, 0, 2, 1, 1),  # son 10
    ("HH-01", 4, 3, 7, 0, 2, 1, 1),  # daughter 7
])

THREE_GENERATIONS = _roster([
    ("HH-02", 1, 1, 60, 2, 0, 0, 1),  # head
    ("HH-02", 2, 2, 58, 1, 0, 0, 1),  # spouse
    ("HH-02", 3, 3, 15, 0, 2, 1, 1),  # unmarried daughter 15
    ("HH-02", 4, 3, 32, 5, 2, 1, 2),  # married son
    ("HH-02", 5, 4, 29, 4, 0, 0, 2),  # daughter-in-law
    ("HH-02", 6, 8, 6, 0, 5, 4, 2),  # grandchild
    ("HH-02", 7, 8, 3, 0, 5, 4, 2),  # grandchild
])

WIDOWED_PARENT = _roster([
    ("HH-04", 1, 1, 45, 2, 5, 0, 1),  # head (mother is line 5)
    ("HH-04", 2, 2, 43, 1, 0, 0, 1),  # spouse
    ("HH-04", 3, 3, 12, 0, 2, 1, 1),  # child
    ("HH-04", 5, 5, 72, 0, 0, 0, 2),  # head's widowed mother: a family of her own
])

NON_RELATIVE = _roster([
    ("HH-05", 1, 13, 40, 0, 0, 0, 2),  # lodger listed first: still family 2
    ("HH-05", 2, 1, 30, 3, 0, 0, 1),  # head
    ("HH-05", 3, 2, 28, 2, 0, 0, 1),  # spouse
])

ADULT_CHILD = _roster([
    ("HH-06", 1, 1, 55, 2, 0, 0, 1),  # head
    ("HH-06", 2, 2, 50, 1, 0, 0, 1),  # spouse
    ("HH-06", 3, 3, 25, 0, 2, 1, 1),  # unmarried son 25 (Uzbek rule: stays)
    ("HH-06", 4, 3, 16, 0, 2, 1, 1),  # daughter 16
])
# the Kazakh rule (children under 18 only): the son of 25 is a family of his own
ADULT_CHILD_KZ = [1, 1, 2, 1]


def test_nuclear_couple_with_children():
    for got, method in ((_codes(NUCLEAR), "relationship codes"), (_links(NUCLEAR), "links")):
        _check(got, NUCLEAR)
        assert got.attrs["method"] == method
        assert got.attrs["ambiguous"].empty


def test_three_generation_household_has_two_families():
    _check(_codes(THREE_GENERATIONS), THREE_GENERATIONS)
    _check(_links(THREE_GENERATIONS), THREE_GENERATIONS)
    # the only adult child is the married one: no choice to count
    assert _cases(_codes(THREE_GENERATIONS)) == {}


def test_widowed_parent_is_a_single_person_family():
    _check(_codes(WIDOWED_PARENT), WIDOWED_PARENT)
    _check(_links(WIDOWED_PARENT), WIDOWED_PARENT)


def test_non_relative_is_own_family_and_head_family_comes_first():
    _check(_codes(NON_RELATIVE), NON_RELATIVE)
    # links alone do not say who the head is: families in order of smallest person id
    _check(_links(NON_RELATIVE), NON_RELATIVE, want=[1, 2, 2])
    # with the relation codes the head is known again
    _check(_links(NON_RELATIVE, relation="rel", codes="uzbekistan"), NON_RELATIVE)


def test_adult_unmarried_child_uzbek_and_kazakh_rules():
    _check(_codes(ADULT_CHILD), ADULT_CHILD)  # Uzbek map: adult_children true
    # head, spouse and child are codes 1, 2, 3 in the Kazakh map too
    _check(_codes(ADULT_CHILD, codes="kazakhstan"), ADULT_CHILD, want=ADULT_CHILD_KZ)
    _check(_links(ADULT_CHILD), ADULT_CHILD)  # default rule: adult_children=True
    _check(_links(ADULT_CHILD, adult_children=False), ADULT_CHILD, want=ADULT_CHILD_KZ)
    _check(_links(ADULT_CHILD, codes="kazakhstan"), ADULT_CHILD, want=ADULT_CHILD_KZ)
    # explicit arguments override the file's rules
    _check(_codes(ADULT_CHILD, codes="kazakhstan", adult_children=True), ADULT_CHILD)
    _check(_codes(ADULT_CHILD, child_age=26), ADULT_CHILD)
    _check(_codes(ADULT_CHILD, codes="kazakhstan", child_age=26), ADULT_CHILD)
    _check(_codes(ADULT_CHILD, codes="kazakhstan", child_age=16), ADULT_CHILD,
           want=[1, 1, 2, 3])
    got = _codes(ADULT_CHILD, codes="kazakhstan")
    assert got.attrs["child_age"] == 18 and got.attrs["adult_children"] is False


def test_two_married_siblings_of_the_head_with_codes():
    df = _roster([
        ("HH-03", 1, 1, 35, 2, 0, 0, 1),  # head
        ("HH-03", 2, 2, 33, 1, 0, 0, 1),  # spouse
        ("HH-03", 3, 3, 8, 0, 2, 1, 1),  # child
        ("HH-03", 4, 7, 30, 5, 0, 0, 2),  # brother
        ("HH-03", 5, 14, 28, 4, 0, 0, 2),  # brother's wife (sibling-in-law)
        ("HH-03", 6, 7, 27, 7, 0, 0, 3),  # sister
        ("HH-03", 7, 14, 31, 6, 0, 0, 3),  # sister's husband (sibling-in-law)
        ("HH-03", 8, 10, 4, 0, 6, 7, 4),  # niece: other relative, a family of her own
    ])
    codes = {**load_codes("uzbekistan").codes, 14: "sibling_in_law"}
    got = _codes(df, codes=codes)
    _check(got, df)
    assert _cases(got) == {"several sibling couples paired in order": (1, 4)}


def test_two_married_siblings_of_the_head_with_links():
    df = _roster([
        ("HH-03", 1, 1, 35, 2, 0, 0, 1),
        ("HH-03", 2, 2, 33, 1, 0, 0, 1),
        ("HH-03", 3, 3, 8, 0, 2, 1, 1),
        ("HH-03", 4, 7, 30, 5, 0, 0, 2),
        ("HH-03", 5, 12, 28, 4, 0, 0, 2),
        ("HH-03", 6, 7, 27, 7, 0, 0, 3),
        ("HH-03", 7, 12, 31, 6, 0, 0, 3),
        ("HH-03", 8, 10, 4, 0, 6, 7, 3),  # the niece's parents are lines 6 and 7
    ])
    got = _links(df, relation="rel", codes="uzbekistan")
    _check(got, df)
    assert got.attrs["ambiguous"].empty


def test_grandchildren_without_parents_join_the_head_and_are_counted():
    df = _roster([
        ("HH-07", 1, 1, 65, 2, 0, 0, 1),
        ("HH-07", 2, 2, 63, 1, 0, 0, 1),
        ("HH-07", 3, 8, 10, 0, 0, 0, 1),  # grandchild, parents migrated
        ("HH-07", 4, 8, 8, 0, 0, 0, 1),  # grandchild
    ])
    got = _codes(df)
    _check(got, df)
    assert _cases(got) == {"grandchildren without a parent in the household": (1, 2)}
    # links: no parent named, so each grandchild is a single-person family (counted)
    got = _links(df)
    _check(got, df, want=[1, 1, 2, 3])
    assert _cases(got) == {"child without a parent link: own family": (1, 2)}


def test_unknown_relation_code_raises_naming_it():
    df = NUCLEAR.copy()
    df.loc[df.index[3], "rel"] = 14
    with pytest.raises(DataError, match=r"code\(s\) 14 .*1 person, .*\(HH-01, 4\); add it to `codes`"):
        _codes(df)
    df["rel"] = ["Head", "Spouse", "Son", "Lodger"]
    with pytest.raises(DataError, match=r"'Son', 'Lodger' .*2 persons.*add it to `codes`"):
        _codes(df, codes={"Head": "head", "Spouse": "spouse"})


def test_link_to_a_non_member_is_counted_and_ignored():
    df = _roster([
        ("HH-09", 1, 1, 40, 2, 0, 0, 1),
        ("HH-09", 2, 2, 38, 1, 0, 0, 1),
        ("HH-09", 3, 3, 12, 0, 2, 9, 1),  # father "9": nobody in the household
        ("HH-09", 4, 3, 9, 0, 2, 1, 1),
    ])
    got = _links(df)
    _check(got, df)
    assert _cases(got) == {"link to a non-member": (1, 1)}
    # the Uzbek form's codes 97 died, 98 not living here, 99 don't know are not members
    df.loc[df.index[2], "fa"] = 98
    got = _links(df, codes="uzbekistan")
    _check(got, df)
    assert got.attrs["ambiguous"].empty


def test_one_sided_spouse_link_makes_a_couple_and_is_counted():
    df = _roster([
        ("HH-10", 1, 1, 50, 2, 0, 0, 1),
        ("HH-10", 2, 2, 47, np.nan, 0, 0, 1),  # spouse link missing on her side
        ("HH-10", 3, 3, 24, 4, 2, 1, 2),  # married son
        ("HH-10", 4, 4, 22, 0, 0, 0, 2),  # his wife names nobody
        ("HH-10", 5, 8, 1, 0, 4, 3, 2),
    ])
    got = _links(df)
    _check(got, df)
    assert _cases(got) == {"one-sided spouse link": (1, 4)}


def test_links_and_codes_agree_where_both_are_available():
    df = pd.concat([NUCLEAR, THREE_GENERATIONS, WIDOWED_PARENT, NON_RELATIVE, ADULT_CHILD])
    df.index = pd.Index([f"p{i:02d}" for i in range(len(df))])
    want = df["want"].tolist()
    a = _codes(df)
    b = _links(df, relation="rel", codes="uzbekistan")
    assert a.tolist() == b.tolist() == want
    assert a.index.equals(df.index) and b.index.equals(df.index)
    # the Kazakh rule: only the adult son of HH-06 moves out, by both methods
    kz_want = want[: -len(ADULT_CHILD)] + ADULT_CHILD_KZ
    a = _codes(df, adult_children=False)
    b = _links(df, relation="rel", codes="uzbekistan", adult_children=False)
    assert a.tolist() == b.tolist() == kz_want


def test_labelled_string_codes_with_a_custom_mapping():
    df = THREE_GENERATIONS.copy()
    df["rel"] = ["Head", "Spouse", "Son/Daughter", "Son/Daughter", "Son/Daughter-in-law",
                 "Grandchild", "Grandchild"]
    codes = {"Head": "head", "Spouse": "spouse", "Son/Daughter": "child",
             "Son/Daughter-in-law": "child in law", "Grandchild": "grandchild"}
    _check(_codes(df, codes=codes), df)
    df["rel"] = df["rel"].astype("category")  # as read from a labelled Stata file
    _check(_codes(df, codes=codes), df)
    # numbers stored as floats match integer codes, and numeric text too
    df["rel"] = THREE_GENERATIONS["rel"].astype(float)
    _check(_codes(df), df)
    df["rel"] = THREE_GENERATIONS["rel"].astype(str)
    _check(_codes(df), df)


def test_household_ids_and_roster_untouched():
    df = THREE_GENERATIONS.copy()
    before = df.copy()
    got = _codes(df)
    pd.testing.assert_frame_equal(df, before)
    assert got.groupby(df["hh"]).max().to_dict() == {"HH-02": 2}


# ---------------------------------------------------------------------------------------
# the documented rules of the relationship-codes method, one by one
# ---------------------------------------------------------------------------------------


def test_rule1_married_child_by_marital_status():
    df = _roster([
        ("H", 1, 1, 60, 0, 0, 0, 1),
        ("H", 2, 2, 58, 0, 0, 0, 1),
        ("H", 3, 3, 30, 0, 0, 0, 2),  # married son, wife abroad
        ("H", 4, 3, 27, 0, 0, 0, 1),  # unmarried son
        ("H", 5, 8, 5, 0, 0, 0, 2),  # the married son's child
    ])
    df["mar"] = [2, 2, 4, 1, 1]  # 2 married official, 4 married (nikah), 1 single
    got = _codes(df, marital="mar", married_codes=[2, 4])
    _check(got, df)
    assert _cases(got) == {"married child without a spouse in the household": (1, 1)}


def test_rule2_one_child_in_law_pairs_with_the_oldest_adult_child():
    df = _roster([
        ("H", 1, 1, 60, 0, 0, 0, 1),
        ("H", 2, 3, 26, 0, 0, 0, 1),  # younger adult son
        ("H", 3, 3, 30, 0, 0, 0, 2),  # oldest adult son: taken as the married one
        ("H", 4, 4, 27, 0, 0, 0, 2),  # daughter-in-law
        ("H", 5, 3, 12, 0, 0, 0, 1),
    ])
    got = _codes(df)
    _check(got, df)
    assert _cases(got) == {"married child chosen by rule": (1, 2)}
    # with marital status, the married son is chosen whatever his age
    df["mar"] = [8, 2, 1, 2, 1]
    _check(_codes(df, marital="mar", married_codes=2), df, want=[1, 2, 1, 2, 1])
    # without ages, the first-listed child
    got = families(df, household="hh", person="pid", relation="rel", codes="uzbekistan")
    _check(got, df, want=[1, 2, 1, 2, 1])
    assert "married child chosen by rule" in _cases(got)


def test_rule2_several_couples_and_grandchildren_to_the_youngest():
    df = _roster([
        ("H", 1, 1, 66, 2, 0, 0, 1),
        ("H", 2, 2, 62, 1, 0, 0, 1),
        ("H", 3, 3, 35, 4, 2, 1, 2),  # elder son
        ("H", 4, 4, 32, 3, 0, 0, 2),  # his wife
        ("H", 5, 3, 30, 6, 2, 1, 3),  # younger son
        ("H", 6, 4, 27, 5, 0, 0, 3),  # his wife
        ("H", 7, 8, 5, 0, 6, 5, 3),  # grandchildren: go to the youngest couple
        ("H", 8, 8, 1, 0, 6, 5, 3),
    ])
    got = _codes(df)
    _check(got, df)
    assert _cases(got) == {
        "several couples of the younger generation": (1, 4),
        "grandchildren assigned by rule": (1, 2),
    }
    _check(_links(df), df)


def test_rule2_child_in_law_without_spouse_keeps_the_grandchildren():
    df = _roster([
        ("H", 1, 1, 70, 2, 0, 0, 1),
        ("H", 2, 2, 68, 1, 0, 0, 1),
        ("H", 3, 4, 40, 0, 0, 0, 2),  # widowed daughter-in-law
        ("H", 4, 8, 12, 0, 3, 0, 2),
        ("H", 5, 8, 9, 0, 3, 0, 2),
    ])
    got = _codes(df)
    _check(got, df)
    assert _cases(got) == {"child-in-law without a spouse in the household": (1, 1)}
    _check(_links(df), df)


def test_rule4_parents_parents_in_law_and_a_lone_head():
    df = _roster([
        ("A", 1, 1, 40, 2, 3, 4, 1),  # head
        ("A", 2, 2, 38, 1, 6, 0, 1),  # spouse
        ("A", 3, 5, 70, 4, 0, 0, 2),  # head's mother
        ("A", 4, 5, 72, 3, 0, 0, 2),  # head's father: a couple
        ("A", 5, 3, 10, 0, 2, 1, 1),
        ("A", 6, 6, 66, 0, 0, 0, 3),  # spouse's widowed mother
        ("B", 1, 1, 30, 0, 2, 3, 1),  # unmarried childless head living with parents
        ("B", 2, 5, 60, 3, 0, 0, 1),
        ("B", 3, 5, 62, 2, 0, 0, 1),
    ])
    _check(_codes(df), df)
    _check(_links(df), df)
    # Kazakh rule: the head (30) is no longer a dependant child of the parents
    kz = [1, 1, 2, 2, 1, 3, 1, 2, 2]
    _check(_codes(df, adult_children=False), df, want=kz)
    _check(_links(df, adult_children=False), df, want=kz)


def test_rule5_siblings():
    df = _roster([
        ("A", 1, 1, 30, 2, 3, 0, 1),
        ("A", 2, 2, 28, 1, 0, 0, 1),
        ("A", 3, 5, 55, 0, 0, 0, 2),  # head's mother
        ("A", 4, 7, 15, 0, 3, 0, 2),  # young sister: with her mother
        ("A", 5, 7, 24, 0, 3, 0, 2),  # adult unmarried brother: with her too (Uzbek rule)
        ("B", 1, 1, 30, 2, 0, 0, 1),
        ("B", 2, 2, 28, 1, 0, 0, 1),
        ("B", 3, 7, 14, 0, 0, 0, 1),  # young brother, no parents: head's family (counted)
        ("B", 4, 7, 22, 0, 0, 0, 2),  # adult brother, no parents: own family
    ])
    got = _codes(df)
    _check(got, df)
    assert _cases(got) == {"young siblings without parents: head's family": (1, 1)}
    _check(_codes(df, adult_children=False), df, want=[1, 1, 2, 2, 3, 1, 1, 1, 2])


def test_rule6_and_rule7_grandparents_and_other_relatives():
    df = _roster([
        ("H", 1, 1, 30, 0, 0, 0, 1),
        ("H", 2, 9, 80, 0, 0, 0, 2),  # grandparents: one family (a couple)
        ("H", 3, 9, 78, 0, 0, 0, 2),
        ("H", 4, 12, 50, 0, 0, 0, 3),  # aunt: other relative
        ("H", 5, 10, 9, 0, 0, 0, 4),  # nephew: other relative, own family
    ])
    _check(_codes(df), df)
    one = df.iloc[[0, 1, 3]]
    _check(_codes(one), one, want=[1, 2, 3])


def test_rule8_no_age_keeps_children_with_parents():
    df = ADULT_CHILD.drop(columns="age")
    got = families(df, household="hh", person="pid", relation="rel", codes="kazakhstan")
    _check(got, df)
    assert _cases(got) == {"no age: children kept with parents": (1, 2)}
    got = families(df, household="hh", person="pid", spouse="sp", mother="mo", father="fa",
                   adult_children=False)
    _check(got, df)
    assert _cases(got) == {"no age: children kept with parents": (1, 2)}


def test_rule9_household_without_head_is_counted():
    df = _roster([
        ("H", 1, 2, 40, 0, 0, 0, 1),  # spouse of an absent head
        ("H", 2, 3, 10, 0, 0, 0, 1),
        ("H", 3, 13, 30, 0, 0, 0, 2),
    ])
    got = _codes(df)
    _check(got, df)
    assert _cases(got) == {"no head in the household": (1, 3)}


# ---------------------------------------------------------------------------------------
# links method specifics
# ---------------------------------------------------------------------------------------


def test_links_parents_not_a_couple_child_goes_with_the_mother():
    df = _roster([
        ("H", 1, 1, 45, 0, 0, 0, 1),  # the child's father, not in a couple
        ("H", 2, 12, 40, 0, 0, 0, 2),  # the child's mother
        ("H", 3, 3, 8, 0, 2, 1, 2),
    ])
    got = _links(df, relation="rel", codes="uzbekistan")
    _check(got, df)
    assert _cases(got) == {"parents not a couple: child with the mother": (1, 1)}


def test_links_teenage_mother_heads_her_own_family():
    df = _roster([
        ("H", 1, 1, 45, 2, 0, 0, 1),
        ("H", 2, 2, 43, 1, 0, 0, 1),
        ("H", 3, 3, 16, 0, 2, 1, 2),  # has a child of her own: not a dependant
        ("H", 4, 8, 1, 0, 3, 0, 2),
    ])
    _check(_links(df), df)
    _check(_links(df, adult_children=False), df)


def test_links_with_string_person_ids():
    df = THREE_GENERATIONS.copy()
    for c in ("pid", "sp", "mo", "fa"):
        df[c] = [f"P{v}" if v else "" for v in THREE_GENERATIONS[c]]
    _check(_links(df), df)


# ---------------------------------------------------------------------------------------
# errors, code maps, summary, scale
# ---------------------------------------------------------------------------------------


def test_bad_input_raises_data_error():
    with pytest.raises(DataError, match="unique within a household"):
        _codes(pd.concat([NUCLEAR, NUCLEAR.iloc[[0]]]))
    with pytest.raises(DataError, match="needs `codes=`"):
        families(NUCLEAR, household="hh", person="pid", relation="rel")
    with pytest.raises(DataError, match="pass the link columns"):
        families(NUCLEAR, household="hh", person="pid")
    with pytest.raises(DataError, match="'nope' is not in the roster"):
        families(NUCLEAR, household="hh", person="pid", spouse="nope")
    with pytest.raises(DataError, match="unknown role 'cousin'"):
        _codes(NUCLEAR, codes={1: "head", 2: "cousin"})
    with pytest.raises(DataError, match="shipped code map"):
        _codes(NUCLEAR, codes="mongolia")
    with pytest.raises(DataError, match="together"):
        _codes(NUCLEAR, marital="age")
    with pytest.raises(DataError, match="adult_children"):
        _codes(NUCLEAR, adult_children="yes")
    df = NUCLEAR.copy()
    df.loc[df.index[1], "rel"] = np.nan
    with pytest.raises(DataError, match=r"missing for 1 person\(s\)"):
        _codes(df)


def test_yaml_code_map_from_a_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: test roster\nsource: hand-made\n"
        "codes: {1: head, 2: spouse, 3: child}\n"
        "rules: {child_age: 18, adult_children: false}\n",
        encoding="utf-8",
    )
    _check(_codes(ADULT_CHILD, codes=path), ADULT_CHILD, want=ADULT_CHILD_KZ)
    _check(_codes(ADULT_CHILD, codes=str(path), adult_children=True), ADULT_CHILD)
    path.write_text("codes: {1: head}\nrules: {child_ages: 18}\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown rule"):
        load_codes(path)


def test_shipped_code_maps():
    uz = load_codes("uzbekistan")
    assert uz.codes == {
        1: "head", 2: "spouse", 3: "child", 4: "child_in_law", 5: "parent",
        6: "parent_in_law", 7: "sibling", 8: "grandchild", 9: "grandparent",
        10: "other_relative", 11: "child", 12: "other_relative", 13: "non_relative",
    }
    assert uz.rules["child_age"] == 18 and uz.rules["adult_children"] is True
    assert "2.05" in uz.source
    kz = load_codes("kazakhstan")
    assert kz.codes == {
        1: "head", 2: "spouse", 3: "child", 4: "child_in_law", 5: "grandchild",
        6: "parent", 7: "parent_in_law", 8: "sibling", 9: "other_relative",
        10: "non_relative",
    }
    assert kz.rules == {"child_age": 18, "adult_children": False}
    assert "does not print" in kz.note and "footnote 6" in kz.source.lower()
    for f in CODE_MAPS.values():
        assert (CODES_DIR / f).is_file()
    assert set(uz.codes.values()) <= set(ROLES)


def test_family_summary_against_a_hand_count():
    df = pd.concat([NUCLEAR, THREE_GENERATIONS, WIDOWED_PARENT, NON_RELATIVE])
    fam = _codes(df)
    got = family_summary(df, fam, household="hh")
    # households 4; families 1 + 2 + 2 + 2 = 7; persons 4 + 7 + 4 + 3 = 18;
    # 3 of the 4 households hold more than one family
    assert got.to_dict() == {
        "households": 4, "families": 7, "families_per_household": 7 / 4,
        "share_multi_family": 0.75, "persons": 18, "mean_family_size": 18 / 7,
    }


def test_twenty_thousand_generated_households_run():
    n_hh = 20_000
    kids = np.arange(n_hh) % 4  # 0..3 children
    size = 2 + kids
    hh = np.repeat(np.arange(n_hh), size)
    pid = np.concatenate([np.arange(1, s + 1) for s in size])
    rel = np.where(pid == 1, 1, np.where(pid == 2, 2, 3))
    df = pd.DataFrame({
        "hh": hh, "pid": pid, "rel": rel, "age": np.where(pid <= 2, 40, 5),
        "sp": np.where(pid == 1, 2, np.where(pid == 2, 1, 0)),
        "mo": np.where(pid >= 3, 2, 0), "fa": np.where(pid >= 3, 1, 0),
    })
    a, b = _codes(df), _links(df)
    assert (a == 1).all() and (b == 1).all()
    assert family_summary(df, a, household="hh")["families"] == n_hh
