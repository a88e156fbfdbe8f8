"""Thresholds, amounts, parameters and poverty lines that vary by household (a column, or
a mapping by region), checked against hand calculations on six households in two regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import PolicyError
from pmt.simulate import (
    Flat,
    IncomeThreshold,
    Policy,
    Ration,
    ScoreTest,
    Tiers,
    TopUp,
    run_policy_file,
    scenario_grid,
    simulate,
    solve_amount,
    solve_threshold,
)
from pmt.simulate.context import Context

REGIONAL = {"by": "region", "values": {1: 140, 2: 105}}


def six() -> pd.DataFrame:
    # income is household monthly income; pcc = income / size
    # per capita:      80, 150, 125, 100, 110, 80
    # regional minimum: 140 in region 1, 105 in region 2
    return pd.DataFrame(
        {
            "region": [1, 1, 1, 2, 2, 2],
            "size": [1, 2, 4, 1, 2, 3],
            "weight": [10.0, 20.0, 10.0, 5.0, 5.0, 10.0],
            "income": [80.0, 300.0, 500.0, 100.0, 220.0, 240.0],
            "pcc": [80.0, 150.0, 125.0, 100.0, 110.0, 80.0],
            "regional_min": [140.0, 140.0, 140.0, 105.0, 105.0, 105.0],
            "score": [5.0, 3.0, 1.0, 4.0, 2.0, 6.0],
            "stratum": [1, 1, 1, 1, 1, 1],
            "psu": [1, 2, 3, 4, 5, 6],
        }
    )


def survey(df=None) -> pmt.Survey:
    return pmt.Survey(six() if df is None else df, weight="weight", size="size",
                      strata="stratum", psu="psu")


# eligible when income per capita < own regional minimum: 80<140, 150>140, 125<140,
# 100<105, 110>105, 80<105
ELIGIBLE = [True, False, True, True, False, True]
# top-up to the own minimum: size x (min - pcc)+ = 1x60, 0, 4x15, 1x5, 0, 3x25
TOPUP = [60.0, 0.0, 60.0, 5.0, 0.0, 75.0]
BUDGET = 10 * 60 + 10 * 60 + 5 * 5 + 10 * 75  # = 1975


def regional_policy(threshold) -> Policy:
    return Policy(
        name="tsa",
        eligibility=IncomeThreshold("income", threshold),
        benefit=TopUp(threshold, "income"),
        parameters={"gmi": {"by": "region", "values": {1: 100, 2: 75}}},
    )


@pytest.mark.parametrize(
    "threshold", [REGIONAL, {"column": "regional_min"}, "1.4 * gmi"],
    ids=["by_region", "column", "parameter_by_region"],
)
def test_income_test_and_top_up_per_household(threshold):
    pol = regional_policy(threshold)
    out = pol.evaluate(survey())
    assert out.eligible.tolist() == ELIGIBLE
    np.testing.assert_allclose(out.benefit, TOPUP, rtol=1e-12)
    assert pol.budget(survey()) == pytest.approx(BUDGET, rel=1e-12)


def test_scalar_threshold_unchanged_and_exact():
    # one threshold 140 for all: 80, 125, 100, 110, 80 < 140
    pol = Policy(eligibility=IncomeThreshold("income", "gmi"), benefit=TopUp("gmi", "income"),
                 parameters={"gmi": 140})
    out = pol.evaluate(survey())
    assert out.eligible.tolist() == [True, False, True, True, True, True]
    assert out.benefit.tolist() == [60.0, 0.0, 60.0, 40.0, 60.0, 180.0]  # exact
    assert pol.budget(survey()) == 600 + 600 + 200 + 300 + 1800
    ctx = pol.context(six())
    assert type(ctx.value("gmi", "x")) is float and ctx.value("0.5 * gmi", "x") == 70.0


def test_score_test_and_amounts_by_region():
    ctx = Context(six(), np.ones(6), six()["size"].to_numpy(float))
    # score < own cut-off (3 in region 1, 5 in region 2): 5, 3, 1 | 4, 2, 6
    rule = ScoreTest({"by": "region", "values": {1: 3, 2: 5}}, score="score")
    assert rule.mask(ctx).tolist() == [False, False, True, True, True, False]
    # flat amount by region
    np.testing.assert_array_equal(Flat({"by": "region", "values": {1: 10, 2: 20}}).amount(ctx),
                                  [10, 10, 10, 20, 20, 20])
    # tiers with an amount by region in the first band (score < 3: households 3 and 5)
    tiers = Tiers("score", [[3, {"by": "region", "values": {1: 10, 2: 20}}], [10, 5]])
    np.testing.assert_array_equal(tiers.amount(ctx), [5, 5, 10, 5, 20, 5])


def test_poverty_impact_uses_regional_lines():
    res = simulate(survey(), regional_policy(REGIONAL), welfare="pcc",
                   line={"by": "region", "values": {1: 140, 2: 105}}, measures=["FGT0", "FGT1"])
    # person weights w x n = 10, 40, 40, 5, 10, 30 (total 135); poor before: pcc below the
    # own line, households 1, 3, 4, 6 -> 85 / 135 (a single line of 140 would give 95/135)
    p = res.poverty
    assert p.loc["FGT0", "before"] == pytest.approx(85 / 135, rel=1e-12)
    # gaps 60/140, 15/140, 5/105, 25/105 -> sum v x gap = 30/7 + 30/7 + 5/21 + 150/21
    assert p.loc["FGT1", "before"] == pytest.approx((60 / 7 + 155 / 21) / 135, rel=1e-12)
    # the top-up lifts every poor household exactly to its own line
    assert p.loc["FGT0", "after"] == 0.0 and p.loc["FGT1", "after"] == 0.0
    np.testing.assert_allclose(res.welfare["reform"], [140, 150, 140, 105, 110, 105])
    assert res.assumptions["line"] == "by region: 1: 140; 2: 105"
    # the same line as a column gives the same measures
    col = simulate(survey(), regional_policy(REGIONAL), welfare="pcc",
                   line={"column": "regional_min"}, measures=["FGT0", "FGT1"])
    pd.testing.assert_frame_equal(col.poverty, p)


def test_policy_file_with_by_values(tmp_path):
    six().to_csv(tmp_path / "hh.csv", index=False)
    (tmp_path / "policy.yaml").write_text(
        """
name: regional TSA
parameters:
  smin: {by: region, values: {1: 140, 2: 105}}
eligibility:
  income_test: {income: income, threshold: smin}
benefit:
  top_up: {threshold: smin, income: income}
data: {path: hh.csv}
survey: {weight: weight, size: size, strata: stratum, psu: psu}
simulation:
  welfare: pcc
  line: {by: region, values: {1: 140, 2: 105}}
  measures: [FGT0]
""",
        encoding="utf-8",
    )
    res = run_policy_file(tmp_path / "policy.yaml")
    assert res.outcome.eligible.tolist() == ELIGIBLE
    np.testing.assert_allclose(res.outcome.benefit, TOPUP, rtol=1e-12)
    assert res.budget["per_period"] == pytest.approx(BUDGET, rel=1e-12)
    assert res.poverty.loc["FGT0", "before"] == pytest.approx(85 / 135, rel=1e-12)
    text = res.policy.describe()
    assert "smin=by region: 1: 140; 2: 105" in text
    # round trip through YAML
    again = Policy.from_dict(__import__("yaml").safe_load(res.policy.to_yaml()))
    assert again.parameters == res.policy.parameters
    assert again.evaluate(survey()).benefit.tolist() == res.outcome.benefit.tolist()


def test_describe_column_and_by():
    pol = Policy(eligibility=IncomeThreshold("income", {"column": "regional_min"}),
                 benefit=TopUp(REGIONAL, "income"))
    text = pol.describe()
    assert "threshold=regional_min (column)" in text
    assert "threshold=by region: 1: 140; 2: 105" in text
    big = Policy(eligibility=None, benefit=Flat({"by": "region", "values": {1: 150000, 2: 1e5}}))
    assert "amount=by region: 1: 150,000; 2: 100,000" in big.describe()


def test_missing_group_code_names_codes():
    pol = regional_policy({"by": "region", "values": {1: 140}})
    with pytest.raises(PolicyError, match=r"income_test threshold \(by 'region'\) has no value "
                       r"for group code\(s\) 2 .*add them under `values`"):
        pol.evaluate(survey())
    with pytest.raises(PolicyError, match=r"simulation `line` \(by 'region'\).*code\(s\) 2"):
        simulate(survey(), regional_policy(REGIONAL), welfare="pcc",
                 line={"by": "region", "values": {1: 140, 3: 100}})
    bad_param = Policy(eligibility=IncomeThreshold("income", "gmi"), benefit=Flat(1),
                       parameters={"gmi": {"by": "region", "values": {2: 100}}})
    with pytest.raises(PolicyError, match=r"parameter 'gmi'.*group code\(s\) 1 "):
        bad_param.evaluate(survey())


def test_malformed_varying_values():
    with pytest.raises(PolicyError, match="written {column: name} or {by: column"):
        IncomeThreshold("income", {"col": "x"})
    with pytest.raises(PolicyError, match="value for group 2 of 'region' must be a number"):
        TopUp({"by": "region", "values": {1: 10, 2: "abc"}}, "income")
    with pytest.raises(PolicyError, match="must not be negative"):
        Flat({"by": "region", "values": {1: 10, 2: -1}})
    with pytest.raises(PolicyError, match="needs column\\(s\\) 'nope'"):
        regional_policy({"column": "nope"}).evaluate(survey())
    with pytest.raises(PolicyError, match="ration `coverage` is one population share"):
        Ration("score", {"column": "regional_min"})


def test_solvers_need_a_scalar_parameter():
    pol = regional_policy("1.4 * gmi")
    with pytest.raises(PolicyError, match="solve_threshold: parameter 'gmi'.*varies by "
                       "household.*solving needs a scalar parameter"):
        solve_threshold(survey(), pol, "gmi", budget=1000)
    flat = Policy(eligibility=IncomeThreshold("income", REGIONAL), benefit=Flat("a"),
                  parameters={"a": {"column": "regional_min"}})
    with pytest.raises(PolicyError, match="solve_amount: parameter 'a'.*scalar"):
        solve_amount(survey(), flat, budget=1000)
    literal = Policy(eligibility=IncomeThreshold("income", REGIONAL), benefit=Flat(REGIONAL))
    with pytest.raises(PolicyError, match="solve_amount: the amount .* varies by household"):
        solve_amount(survey(), literal, budget=1000)
    with pytest.raises(PolicyError, match="varies by household.*define 'gmi' as a number"):
        pol.evaluate(survey(), gmi=100.0)
    with pytest.raises(PolicyError, match="varies by household.*Define 'gmi' as a number"):
        scenario_grid(survey(), pol, parameter="gmi", values=[100, 120], welfare="pcc",
                      line=100.0)
    # a scalar parameter of a policy with regional lines still solves as before
    scal = Policy(eligibility=IncomeThreshold("income", "t"), benefit=TopUp("t", "income"),
                  parameters={"t": 100})
    sol = solve_threshold(survey(), scal, "t", budget=BUDGET)
    assert sol.budget == pytest.approx(BUDGET, rel=1e-9)
