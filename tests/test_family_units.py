"""Families assessed and paid inside households (issue 15, item 4), checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pmt import PolicyError, Survey
from pmt.simulate import Package, Policy, simulate
from pmt.simulate.persons import person_results
from pmt.simulate.units import FamilyUnits, with_families

# Four households; H1 holds two families that are both poor, H4 one poor and one not.
HOUSEHOLDS = pd.DataFrame(
    {
        "hhid": ["H1", "H2", "H3", "H4"],
        "weight": [1.0, 2.0, 1.0, 3.0],
        "size": [5, 4, 1, 4],
        "stratum": [1, 1, 2, 2],
        "psu": [1, 2, 3, 4],
        "pcc": [30.0, 120.0, 12.0, 90.0],
        "line": [50.0, 50.0, 50.0, 50.0],
        "region": [1, 1, 2, 2],
    },
    index=[10, 11, 12, 13],
)
FAMILIES = pd.DataFrame(
    {
        "hhid": ["H1", "H1", "H2", "H3", "H4", "H4"],
        "family_id": [1, 2, 1, 1, 1, 2],
        "family_size": [3, 2, 4, 1, 2, 2],
        "fam_income": [60.0, 20.0, 400.0, 10.0, 50.0, 300.0],
    }
)
POLICY = {
    "name": "family allowance",
    "unit": "family",
    "parameters": {"gmi": 30},
    "eligibility": {"income_test": {"income": "fam_income", "threshold": "gmi", "per": "capita"}},
    "benefit": {"per_member": {"amount": 10}},
}


def _survey():
    sv = Survey(HOUSEHOLDS, weight="weight", size="size", strata="stratum", psu="psu")
    return with_families(sv, FamilyUnits.build(sv, FAMILIES, household="hhid"))


def test_two_families_of_one_household_are_both_paid():
    # per-capita family incomes: H1 60/3 = 20 and 20/2 = 10 (both < 30); H2 100; H3 10;
    # H4 25 and 150. Benefit 10 per family member.
    out = Policy.from_dict(POLICY).evaluate(_survey())
    np.testing.assert_array_equal(out.units["eligible"], [True, True, False, True, True, False])
    np.testing.assert_allclose(out.units["benefit"], [30, 20, 0, 10, 20, 0])
    np.testing.assert_array_equal(out.eligible, [True, False, True, True])
    np.testing.assert_allclose(out.benefit, [50, 0, 10, 20])  # H1 = 30 + 20
    assert list(out.index) == [10, 11, 12, 13]
    assert list(out.units["hhid"]) == ["H1", "H1", "H2", "H3", "H4", "H4"]


def test_simulation_counts_families_beside_households():
    res = simulate(_survey(), Policy.from_dict(POLICY), welfare="pcc", line="line")
    fam = res.tables["families"]["family allowance"]
    w_fam = np.array([1, 1, 2, 1, 3, 3.0])
    assert fam["families"] == pytest.approx(w_fam.sum())  # 11
    assert fam["households"] == pytest.approx(7.0)
    assert fam["families_per_household"] == pytest.approx(11 / 7)
    assert fam["eligible_families"] == pytest.approx(1 + 1 + 1 + 3)  # 6
    assert fam["eligible_households"] == pytest.approx(1 + 1 + 3)  # H1, H3, H4
    assert fam["eligible_families_per_eligible_household"] == pytest.approx(6 / 5)
    assert fam["households_with_several_eligible_families"] == pytest.approx(1.0)  # H1
    # people: in eligible families only (3 + 2 + 1 + 3 x 2) against every member of a
    # household with an eligible family (5 + 1 + 3 x 4)
    assert fam["people_in_eligible_families"] == pytest.approx(3 + 2 + 1 + 6)
    assert fam["people_in_households_with_an_eligible_family"] == pytest.approx(5 + 1 + 12)
    assert fam["families_sample"] == 6 and fam["eligible_families_sample"] == 4
    # the budget is the households' sum: 1 x 50 + 1 x 10 + 3 x 20 = 120 a month
    assert res.budget["per_period"] == pytest.approx(120.0)
    # welfare moves by the household's total benefit per member: H1 30 + 50 / 5 = 40
    np.testing.assert_allclose(res.welfare["reform"], [40.0, 120.0, 22.0, 95.0])


def test_household_unit_policy_ignores_families_and_packages_mix_units():
    hh_policy = Policy.from_dict({
        "name": "household top-up", "unit": "household",
        "eligibility": {"condition": {"column": "pcc", "op": "<", "value": 40}},
        "benefit": {"flat": {"amount": 6}},
    })
    sv = _survey()
    plain = hh_policy.evaluate(Survey(HOUSEHOLDS, weight="weight", size="size"))
    assert hh_policy.evaluate(sv).units is None
    np.testing.assert_allclose(hh_policy.evaluate(sv).benefit, plain.benefit)
    # sequential package: the household benefit (6 for H1 and H3) counts as family income
    # in proportion to family size: H1 3/5 x 6 = 3.6 and 2/5 x 6 = 2.4; H3 6
    pkg = Package([hh_policy, Policy.from_dict(POLICY)], sequential=True)
    out = pkg.evaluate(sv)
    fam = out.components["family allowance"].units
    # H3: (10 + 6) / 1 = 16 < 30 still eligible; H1 (60 + 3.6) / 3 = 21.2, (20 + 2.4) / 2
    np.testing.assert_array_equal(fam["eligible"], [True, True, False, True, True, False])
    np.testing.assert_allclose(out.benefit, [6 + 50, 0, 6 + 10, 20])
    res = simulate(sv, pkg, welfare="pcc", line="line")
    assert list(res.tables["families"].columns) == ["family allowance"]


def test_family_table_errors_name_the_households():
    sv = Survey(HOUSEHOLDS, weight="weight", size="size")
    with pytest.raises(PolicyError, match="H9"):
        FamilyUnits.build(sv, pd.concat([FAMILIES, pd.DataFrame(
            {"hhid": ["H9"], "family_id": [1], "family_size": [2], "fam_income": [1.0]})]),
            household="hhid")
    with pytest.raises(PolicyError, match="H2"):
        FamilyUnits.build(sv, FAMILIES[FAMILIES.hhid != "H2"], household="hhid")
    with pytest.raises(PolicyError, match="H1/1"):
        FamilyUnits.build(sv, pd.concat([FAMILIES, FAMILIES.iloc[:1]]), household="hhid")
    bad = FAMILIES.assign(family_size=[3, 0, 4, 1, 2, 2])
    with pytest.raises(PolicyError, match="whole number >= 1"):
        FamilyUnits.build(sv, bad, household="hhid")


def test_person_results_by_hand():
    # persons: H1 has 3 children (family 1: two, family 2: one), H4 one child in family 2
    sv = _survey()
    res = simulate(sv, Policy.from_dict(POLICY), welfare="pcc", line="line")
    persons = pd.DataFrame({
        "row": [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 3, 3, 3],
        "fam": [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4, 5, 5],
        "age": [40, 10, 8, 30, 3, 45, 40, 15, 12, 70, 35, 33, 60, 9],
    })
    child = persons["age"].to_numpy() < 18
    table = person_results(res, sv, household_row=persons["row"].to_numpy(),
                           family_row=persons["fam"].to_numpy(),
                           groups={"children": child})
    # children: H1 3 (w 1), H2 2 (w 2), H4 1 (w 3) -> 3 + 4 + 3 = 10 weighted
    c = table.loc["children"]
    assert c["persons"] == pytest.approx(10.0) and c["persons_sample"] == 6
    # poor before (pcc < 50): H1 and H3 -> children poor: 3 of 10
    assert c["poverty_before"] == pytest.approx(0.3)
    # after: H1 40 still poor -> 0.3; the change is 0
    assert c["poverty_after"] == pytest.approx(0.3) and c["change"] == pytest.approx(0.0)
    # household coverage: H1 and H4 receive -> (3 + 3) / 10; the family rule: H1's three
    # children are in eligible families, H4's child in family 2 (not eligible) -> 3 / 10
    assert c["coverage_household"] == pytest.approx(0.6)
    assert c["coverage_family"] == pytest.approx(0.3)
    assert c["coverage_of_poor"] == pytest.approx(1.0)  # the poor children are all in H1
    everyone = table.loc["all persons"]
    assert everyone["persons"] == pytest.approx(float(np.sum(sv.person_weight)))
    # design-based standard error of a ratio, written out: z_h = a_h - R c_h, PSU = household,
    # two strata of two PSUs each: V = sum_h n_h/(n_h-1) sum_j (w z_j - mean)^2
    cnt = np.array([3, 2, 0, 1.0])
    a = cnt * np.array([1, 0, 0, 1.0])  # H1 and H4 receive
    r = 0.6
    t = np.array([1, 2, 1, 3.0]) * (a - r * cnt)
    v = 2 * ((t[0] - t[:2].mean()) ** 2 + (t[1] - t[:2].mean()) ** 2) + 2 * (
        (t[2] - t[2:].mean()) ** 2 + (t[3] - t[2:].mean()) ** 2)
    assert c["se_coverage_household"] == pytest.approx(np.sqrt(v) / 10.0)


def test_family_rows_need_family_policy_for_family_coverage():
    sv = Survey(HOUSEHOLDS, weight="weight", size="size")
    pol = Policy.from_dict({**POLICY, "unit": "household",
                            "eligibility": {"condition": {"column": "pcc", "op": "<",
                                                          "value": 40}}})
    res = simulate(sv, pol, welfare="pcc", line="line")
    with pytest.raises(PolicyError, match="not assessed by family"):
        person_results(res, sv, household_row=np.array([0, 1, 2, 3]),
                       family_row=np.array([0, 1, 2, 3]), groups={})
