"""Eligibility rules, benefit formulas, take-up and policy files, checked by hand on tiny frames."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmt.errors import PolicyError
from pmt.simulate import (
    All,
    AnyOf,
    Condition,
    CountAtLeast,
    Equivalised,
    Flat,
    IncomeThreshold,
    Not,
    PerMember,
    Policy,
    PolicyWarning,
    Ration,
    ScoreTest,
    Sum,
    TakeUp,
    Tiers,
    TopUp,
    at_least,
    benefit_from_dict,
    has_any,
    is_true,
    pre_transfer_welfare,
    rule_from_dict,
)
from pmt.simulate.context import Context, parse_value


def tiny() -> pd.DataFrame:
    # five households; income is household monthly income
    return pd.DataFrame(
        {
            "size": [1, 2, 3, 4, 5],
            "weight": [10.0, 20.0, 10.0, 5.0, 5.0],
            "income": [50.0, 300.0, 240.0, 800.0, 100.0],
            "children": [0, 1, 2, 5, 3],
            "cars": [0, 0, 2, 1, 0],
            "cattle": [0, 3, 0, 0, 1],
            "tv": [1, 1, 1, 1, 0],
            "fridge": [0, 1, 1, 1, 0],
            "car": [0, 0, 1, 1, 0],
            "score": [5.0, 3.0, 1.0, 4.0, 2.0],
            "single_pensioner": [1, 0, 0, 0, 0],
            "fam_size": [1, 2, 2, 3, 5],
            "fam_income": [50.0, 300.0, 100.0, 600.0, 100.0],
        },
        index=pd.Index([101, 102, 103, 104, 105], name="hh"),
    )


def ctx(df=None, **params) -> Context:
    df = tiny() if df is None else df
    return Context(df, df["weight"].to_numpy(), df["size"].to_numpy(float), params)


def test_parse_value():
    assert parse_value(300) == (300.0, None)
    assert parse_value("gmi") == (1.0, "gmi")
    assert parse_value("1.5 * MW") == (1.5, "MW")
    assert parse_value("MW*0.2") == (0.2, "MW")
    assert parse_value("2e3") == (2000.0, None)
    with pytest.raises(PolicyError, match="cannot read"):
        parse_value("MW + 1")


def test_income_test_per_capita_by_hand():
    # per capita incomes: 50, 150, 80, 200, 20 -> below 100: hh 1, 3, 5
    m = IncomeThreshold("income", 100, check_units=False).mask(ctx())
    assert m.tolist() == [True, False, True, False, True]
    # strict vs inclusive at the boundary (80 per capita)
    assert not IncomeThreshold("income", 80, check_units=False).mask(ctx())[2]
    assert IncomeThreshold("income", 80, inclusive=True, check_units=False).mask(ctx())[2]
    # parameter reference with a multiple: 1.5 * MW = 150 -> 150 is not < 150
    m = IncomeThreshold("income", "1.5 * MW", check_units=False).mask(ctx(MW=100))
    assert m.tolist() == [True, False, True, False, True]


def test_income_test_adult_equivalent_and_unit():
    df = tiny().assign(ae=[1.0, 1.5, 2.0, 2.5, 3.0])
    # income / ae: 50, 200, 120, 320, 33.3 -> below 150
    m = IncomeThreshold("income", 150, per="adult_equivalent", scale="ae").mask(ctx(df))
    assert m.tolist() == [True, False, True, False, True]
    m = IncomeThreshold("income", 250, per="unit", check_units=False).mask(ctx(df))
    assert m.tolist() == [True, False, True, False, True]
    with pytest.raises(PolicyError, match="scale"):
        IncomeThreshold("income", 1, per="adult_equivalent")


def test_units_warning_per_capita_threshold_against_household_income():
    rng = np.random.default_rng(0)
    n = 400
    size = rng.integers(2, 8, n).astype(float)
    pc = np.exp(rng.normal(5, 0.4, n))  # per capita ~150
    df = pd.DataFrame({"income": pc * size, "size": size, "weight": 1.0})
    c = Context(df, np.ones(n), size, {})
    with pytest.warns(PolicyWarning, match="per-member amount"):
        IncomeThreshold("income", 120, per="unit").mask(c)
    with pytest.warns(PolicyWarning, match="whole-household amount"):
        IncomeThreshold("income", 900, per="capita").mask(c)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        IncomeThreshold("income", 120, per="capita").mask(c)  # consistent: no warning


def test_conditions_assets_and_combinators():
    c = ctx()
    assert has_any("children").mask(c).tolist() == [False, True, True, True, True]
    assert at_least("children", 4).mask(c).tolist() == [False, False, False, True, False]
    assert is_true("single_pensioner").mask(c).tolist() == [True, False, False, False, False]
    # asset filter: not 2+ cars and not 2+ cattle
    rule = Not(Condition("cars", ">=", 2)) & Not(Condition("cattle", ">=", 2))
    assert rule.mask(c).tolist() == [True, False, False, True, True]
    # k of m durables: at least 2 of tv, fridge, car
    assert CountAtLeast(["tv", "fridge", "car"], 2).mask(c).tolist() == [
        False, True, True, True, False,
    ]
    anyof = AnyOf([is_true("single_pensioner"), at_least("children", 4)])
    assert anyof.mask(c).tolist() == [True, False, False, True, False]
    # savings above a multiple of the minimum wage
    df = tiny().assign(savings=[0, 5000, 3000, 100, 4001])
    assert Condition("savings", ">", "40 * MW").mask(ctx(df, MW=100)).tolist() == [
        False, True, False, False, True,
    ]


def test_score_test_with_model_object():
    class Fake:
        def predict(self, data, scale="model"):
            return pd.Series(data["score"].to_numpy() * 2.0, index=data.index)

    m = ScoreTest(6, model=Fake()).mask(ctx())  # 2*score < 6 -> score < 3
    assert m.tolist() == [False, False, True, False, True]
    with pytest.raises(PolicyError, match="cannot be written"):
        ScoreTest(6, model=Fake()).to_dict()
    with pytest.raises(PolicyError, match="exactly one"):
        ScoreTest(1)


def test_ration_by_score_to_target_coverage_by_hand():
    # person weights w*n: 10, 40, 30, 20, 25 (total 125)
    # income test passers (per capita < 100): hh 1 (score 5), 3 (score 1), 5 (score 2)
    # target 40% of population = 50 people: sorted passers by score: hh3 (30), hh5 (25 ->
    # cumulative 55 >= 50): cut-off score 2 -> hh 3 and 5 selected
    rule = All([IncomeThreshold("income", 100, check_units=False), Ration("score", 0.4)])
    assert rule.mask(ctx()).tolist() == [False, False, True, False, True]
    # target 20% = 25 people: hh3 alone has 30 >= 25 -> only hh3
    rule = All([Ration("score", 0.2), IncomeThreshold("income", 100, check_units=False)])
    assert rule.mask(ctx()).tolist() == [False, False, True, False, False]
    # target larger than all passers (65 people): everybody passing
    r = Ration("score", 0.9, among=IncomeThreshold("income", 100, check_units=False))
    assert r.mask(ctx()).tolist() == [True, False, True, False, True]
    with pytest.raises(PolicyError, match="population share"):
        Ration("score", 1.5)


def test_topup_by_hand():
    # gmi 100 per capita: per capita incomes 50, 150, 80, 200, 20
    # amounts n x max(0, 100 - y_pc): 1*50, 0, 3*20, 0, 5*80
    a = TopUp(100, "income").amount(ctx())
    np.testing.assert_allclose(a, [50, 0, 60, 0, 400])
    # paid only for entitled members (children), as the Kyrgyz UMB
    a = TopUp("gmi", "income", members="children").amount(ctx(gmi=100))
    np.testing.assert_allclose(a, [0, 0, 2 * 20, 0, 3 * 80])


def test_flat_per_member_cap_equivalised_tiers_sum():
    c = ctx()
    np.testing.assert_allclose(Flat(70).amount(c), [70] * 5)
    # per child capped at 3: children 0, 1, 2, 5, 3
    np.testing.assert_allclose(PerMember(10, "children", cap=3).amount(c), [0, 10, 20, 30, 30])
    # per unit member (household size)
    np.testing.assert_allclose(PerMember(10).amount(c), [10, 20, 30, 40, 50])
    # list of columns summed: children + cars
    np.testing.assert_allclose(PerMember(1, ["children", "cars"]).amount(c), [0, 1, 4, 6, 3])
    # equivalised 1/0.5/0.3/0.2 with cap 4: units 0, 1, 1.5, 2.0 (5 capped to 4), 1.8
    np.testing.assert_allclose(
        Equivalised(100, "children", cap=4).amount(c), [0, 100, 150, 200, 180]
    )
    # without a cap the last weight repeats: 5 children -> 1 + .5 + .3 + .2 + .2 = 2.2
    np.testing.assert_allclose(Equivalised(100, "children").amount(c)[3], 220)
    # tiers by score: score < 2 -> 300, < 4 -> 200, < 5 -> 100, else 0
    t = Tiers("score", [[2, 300], [4, 200], [5, 100]])
    np.testing.assert_allclose(t.amount(c), [0, 200, 300, 100, 200])
    s = Sum([Flat(5), PerMember(1, "children")])
    np.testing.assert_allclose(s.amount(c), [5, 6, 7, 10, 8])


def test_negative_amounts_rejected():
    with pytest.raises(PolicyError, match="negative"):
        Flat(-5)
    with pytest.raises(PolicyError, match="negative"):
        Flat("amt").amount(ctx(amt=-3))
    with pytest.raises(PolicyError, match="negative"):
        Tiers("score", [[2, -1]])


def test_missing_columns_and_values_named():
    with pytest.raises(PolicyError, match="'assets'"):
        Condition("assets", ">", 1).mask(ctx())
    with pytest.raises(PolicyError, match="'nope'"):
        CountAtLeast(["tv", "nope"], 1).mask(ctx())
    df = tiny()
    df.loc[103, "income"] = np.nan
    with pytest.raises(PolicyError, match="rows? 103"):
        IncomeThreshold("income", 100).mask(ctx(df))
    with pytest.raises(PolicyError, match="parameter 'gmi'"):
        IncomeThreshold("income", "gmi").mask(ctx())


def test_family_unit_needs_family_columns():
    df = tiny()
    pol = Policy(
        benefit=TopUp(100, "fam_income"),
        eligibility=IncomeThreshold("fam_income", 100, check_units=False),
        unit="family",
        family_size="fam_size",
    )
    out = pol.evaluate(df, df["weight"], df["size"])
    # family per capita: 50, 150, 50, 200, 20 -> eligible 1, 3, 5; top-up per family member
    assert out.eligible.tolist() == [True, False, True, False, True]
    np.testing.assert_allclose(out.entitlement, [50, 0, 2 * 50, 0, 5 * 80])
    with pytest.raises(PolicyError, match="family_size"):
        Policy(benefit=Flat(1), eligibility=has_any("children"), unit="family").evaluate(df)
    bad = Policy(benefit=Flat(1), eligibility=has_any("children"), unit="family",
                 family_size="family_members")
    with pytest.raises(PolicyError, match="'family_members'.*family-level"):
        bad.evaluate(df)


def test_policy_selects_nobody_or_everybody():
    df = tiny()
    with pytest.raises(PolicyError, match="selects nobody"):
        Policy(benefit=Flat(1), eligibility=IncomeThreshold("income", 1, check_units=False)).evaluate(df)
    with pytest.raises(PolicyError, match="every household"):
        Policy(benefit=Flat(1), eligibility=IncomeThreshold("income", 1e9, check_units=False)).evaluate(
            df
        )
    # universal (no rule) is allowed
    out = Policy(benefit=Flat(1)).evaluate(df)
    assert out.eligible.all()


def test_takeup_expected_random_and_groups():
    df = tiny().assign(urban=[0, 1, 0, 1, 1])
    pol = Policy(benefit=Flat(100), takeup=TakeUp(0.6))
    out = pol.evaluate(df, df["weight"], df["size"])
    np.testing.assert_allclose(out.benefit, 60.0)
    # budget = 0.6 x full budget
    full = Policy(benefit=Flat(100)).evaluate(df, df["weight"], df["size"])
    assert np.sum(df["weight"] * out.benefit) == pytest.approx(
        0.6 * np.sum(df["weight"] * full.benefit)
    )
    by = TakeUp(0.5, by="urban", rates={1: 0.9})
    c = ctx(df)
    np.testing.assert_allclose(by.factors(c), [0.5, 0.9, 0.5, 0.9, 0.9])
    with pytest.raises(PolicyError, match="do not occur"):
        TakeUp(0.5, by="urban", rates={7: 0.9}).factors(c)
    with pytest.raises(PolicyError, match="share in"):
        TakeUp(1.3)
    # random mode: seeded, reproducible, mean near the rate on many households
    big = pd.DataFrame({"x": np.zeros(20_000)})
    cb = Context(big, np.ones(20_000), np.ones(20_000), {})
    r1 = TakeUp(0.3, mode="random", seed=5).factors(cb)
    r2 = TakeUp(0.3, mode="random", seed=5).factors(cb)
    r3 = TakeUp(0.3, mode="random", seed=6).factors(cb)
    assert np.array_equal(r1, r2) and not np.array_equal(r1, r3)
    assert set(np.unique(r1)) <= {0.0, 1.0}
    assert abs(r1.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20_000)


def test_pre_transfer_welfare_by_hand():
    # Kyrgyz annex: c_pre = c_post - mpc x T / n
    y = pd.Series([100.0, 50.0, 30.0], index=["a", "b", "c"])
    t = [60.0, 0.0, 90.0]
    n = [3, 2, 1]
    out = pre_transfer_welfare(y, t, n, mpc=0.25)
    np.testing.assert_allclose(out, [100 - 0.25 * 20, 50, 30 - 0.25 * 90])
    assert out.attrs["substitution_rate"] == 0.75
    np.testing.assert_allclose(pre_transfer_welfare(y, t, n, mpc=0.0), y)
    # mpc = 1 leaves c: 30 - 90 < 0 -> error without a floor; counted with one
    with pytest.raises(PolicyError, match="floor"):
        pre_transfer_welfare(y, t, n, mpc=1.0)
    out = pre_transfer_welfare(y, t, n, mpc=1.0, floor=5.0)
    np.testing.assert_allclose(out, [80, 50, 5])
    assert out.attrs["n_floored"] == 1
    with pytest.raises(PolicyError, match="mpc"):
        pre_transfer_welfare(y, t, n, mpc=25)
    with pytest.raises(PolicyError, match="non-negative"):
        pre_transfer_welfare(y, [1.0, -1.0, 0.0], n, mpc=0.5)


def test_policy_dict_and_yaml_round_trip(tmp_path):
    pol = Policy(
        name="hybrid",
        parameters={"MW": 184300, "cov": 0.2},
        eligibility=All(
            [
                IncomeThreshold("income", "1.5 * MW"),
                AnyOf([has_any("children"), is_true("single_pensioner")]),
                Not(CountAtLeast(["tv", "fridge", "car"], 3)),
                Ration("score", "cov"),
            ]
        ),
        benefit=Sum([Equivalised(1000, ["children"], cap=4), Flat(10)]),
        takeup=TakeUp(0.5, by="urban", rates={1: 0.8}, mode="random", seed=3),
        currency="UZS",
    )
    d = pol.to_dict()
    again = Policy.from_dict(d)
    assert again.to_dict() == d
    path = tmp_path / "p.yaml"
    pol.to_yaml(path)
    loaded = Policy.from_yaml(path)
    assert loaded.to_dict() == d
    assert loaded.eligibility == pol.eligibility
    df = tiny().assign(urban=1)
    c_args = (df, df["weight"], df["size"])
    a = pol.evaluate(*c_args, check=False)
    b = loaded.evaluate(*c_args, check=False)
    np.testing.assert_array_equal(a.benefit, b.benefit)


def test_policy_file_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("benefit: {flat: {amount: 1}}\neligibility: {frobnicate: {}}\n")
    with pytest.raises(PolicyError, match="unknown rule type 'frobnicate'"):
        Policy.from_yaml(p)
    p.write_text("benefit: {flat: {amount: 1}}\n")
    with pytest.raises(PolicyError, match="eligibility"):
        Policy.from_yaml(p)
    p.write_text("benefit: {flat: {amount: 1}}\neligibility: null\nbudgetx: 3\n")
    with pytest.raises(PolicyError, match="budgetx"):
        Policy.from_yaml(p)
    p.write_text("benefit: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        Policy.from_yaml(p)
    with pytest.raises(PolicyError, match="income_test.*Check the parameter names"):
        rule_from_dict({"income_test": {"incme": "x", "threshold": 1}})
    with pytest.raises(PolicyError, match="benefit `flat`: .*amont.*Check the parameter names"):
        benefit_from_dict({"flat": {"amont": 1}})
    with pytest.raises(PolicyError, match="takeup: .*rat.*Keys: rate, by, rates, mode, seed"):
        TakeUp.from_dict({"rat": 0.5})


def test_combined_rules_describe():
    a, b = Condition("x", ">", 1), Condition("y", "==", 0)
    assert (a & b).describe() == "(x > 1) AND (y == 0)"
    assert (a | b).describe() == "(x > 1) OR (y == 0)"
    assert (~(a | b)).describe() == "NOT ((x > 1) OR (y == 0))"


def test_score_test_with_scorecard_like_and_plain_predict():
    class Card:
        def score(self, data):
            return data["score"] * 10

    class Plain:
        def predict(self, data):
            return data["score"]

    assert ScoreTest(30, model=Card()).mask(ctx()).tolist() == [False, False, True, False, True]
    assert ScoreTest(3, model=Plain()).mask(ctx()).tolist() == [False, False, True, False, True]
    with pytest.raises(PolicyError, match="no `scale`"):
        ScoreTest(3, model=Plain(), scale="level").mask(ctx())
    with pytest.raises(PolicyError, match="predict"):
        ScoreTest(3, model=object()).mask(ctx())


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).resolve().parents[1] / "data_spec" / "examples").glob("policy_*.yaml")),
    ids=lambda p: p.name,
)
def test_example_files_round_trip(path, tmp_path):
    pol = Policy.from_yaml(path)
    out = tmp_path / "again.yaml"
    pol.to_yaml(out)
    again = Policy.from_yaml(out)
    assert again.to_dict() == pol.to_dict()
    assert "data" in again.to_dict() and "simulation" in again.to_dict()


def test_package_sequential_income_by_hand():
    # Kazakhstan 2017: 4+B is assessed first and counts as income for the TSA test
    from pmt.simulate import Package

    df = pd.DataFrame(
        {"size": [5, 5, 2], "weight": [1.0, 2.0, 1.0], "income": [450.0, 300.0, 150.0],
         "children": [4, 4, 0]}
    )
    four_b = Policy(name="4+B", benefit=Flat(100), eligibility=at_least("children", 4))
    tsa = Policy(name="TSA", benefit=TopUp(100, "income"),
                 eligibility=IncomeThreshold("income", 100, check_units=False))
    seq = Package([four_b, tsa], name="current")
    out = seq.evaluate(df, df["weight"], df["size"], check=False)
    # hh1: 450 + 100 = 550 -> 110 per capita: no TSA; hh2: 400 -> 80: TSA 5 x 20 = 100;
    # hh3: 75 per capita: TSA 2 x 25 = 50
    np.testing.assert_allclose(out.components["TSA"].entitlement, [0, 100, 50])
    np.testing.assert_allclose(out.benefit, [100, 200, 50])
    ind = Package([four_b, tsa], sequential=False).evaluate(df, df["weight"], df["size"],
                                                            check=False)
    np.testing.assert_allclose(ind.components["TSA"].entitlement, [50, 200, 50])
    assert "sequential" in seq.describe()
    with pytest.raises(PolicyError, match="unique"):
        Package([tsa, tsa])
