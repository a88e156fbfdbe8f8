"""Time in policies (issue 14 item 5) against hand calculations on small data: the period
of amounts, annual costs, duration limits (Belarus 2011: at most 6 months in 12), one-off
payments, parameters stated in another period, and eligibility repeated over quarters
(Kazakhstan 2017: ever and always eligible over 4 quarters)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from pmt.errors import PolicyError
from pmt.simulate import (
    Condition,
    Flat,
    IncomeThreshold,
    Package,
    PerMember,
    Policy,
    TopUp,
    repeated_eligibility,
    run_policy_file,
    simulate,
)
from pmt.survey import Survey


def small_data() -> pd.DataFrame:
    """Six households; quarterly incomes for the repeated-eligibility tests."""
    return pd.DataFrame(
        {
            "weight": [10.0, 20.0, 30.0, 10.0, 20.0, 10.0],
            "hh_size": [2, 4, 1, 3, 2, 5],
            "pcc": [50.0, 70.0, 90.0, 120.0, 200.0, 300.0],
            "income": [40.0, 200.0, 50.0, 450.0, 300.0, 900.0],
            "children": [1, 2, 0, 3, 0, 1],
            "poverty_line": 100.0,
            # income per member by quarter: household 1 always below 60, household 2 in
            # Q1 and Q3, household 3 only in Q4, household 4 never ...
            "inc_q1": [40.0, 200.0, 80.0, 450.0, 100.0, 900.0],
            "inc_q2": [60.0, 280.0, 90.0, 450.0, 130.0, 900.0],
            "inc_q3": [20.0, 220.0, 70.0, 450.0, 100.0, 250.0],
            "inc_q4": [40.0, 300.0, 50.0, 450.0, 100.0, 900.0],
            "stratum": [1, 1, 1, 2, 2, 2],
            "psu": [1, 2, 3, 4, 5, 6],
        }
    )


def survey(df=None) -> Survey:
    return Survey(small_data() if df is None else df, weight="weight", size="hh_size",
                  strata="stratum", psu="psu")


def flat_policy(**kw) -> Policy:
    # households with income per member below 60: 1 (20), 2 (50), 3 (50)
    return Policy(name="flat", benefit=Flat(120.0), eligibility=IncomeThreshold("income", 60.0),
                  **kw)


W = np.array([10.0, 20.0, 30.0, 10.0, 20.0, 10.0])
N = np.array([2, 4, 1, 3, 2, 5], dtype=float)
ELIG = np.array([1, 1, 1, 0, 0, 0], dtype=float)


# --- annual costs --------------------------------------------------------------------------
def test_monthly_benefit_paid_all_year_costs_twelve_months():
    res = simulate(survey(), flat_policy(), line=100.0)
    per_month = np.sum(W * ELIG * 120.0)  # 7,200
    b = res.budget
    assert b["per_period"] == pytest.approx(per_month)
    assert b["payments_per_year"] == 12
    assert b["monthly"] == pytest.approx(per_month)
    assert b["annual"] == pytest.approx(12 * per_month)
    assert "Budget: 7,200 a month, 86,400 a year" in res.summary()


def test_duration_limit_six_months_in_twelve_halves_the_annual_cost_and_the_welfare_gain():
    pol = flat_policy(duration={"max": 6, "within": 12})
    res = simulate(survey(), pol, line=100.0, gdp=1e7)
    per_month = np.sum(W * ELIG * 120.0)
    b = res.budget
    assert b["per_period"] == pytest.approx(per_month)  # a month while paid
    assert b["payments_per_year"] == 6
    assert b["annual"] == pytest.approx(6 * per_month)
    assert b["monthly"] == pytest.approx(per_month / 2)  # the average month
    assert b["pct_gdp"] == pytest.approx(100 * 6 * per_month / 1e7)
    # welfare is an average month of the year: the benefit counts for half
    pcc = small_data()["pcc"].to_numpy()
    np.testing.assert_allclose(res.welfare["reform"], pcc + ELIG * 60.0 / N)
    # poverty after: 50 + 30 = 80, 70 + 15 = 85, 90 + 60 = 150 -> households 1, 2 still poor
    v = W * N
    assert res.poverty.loc["FGT0", "after"] == pytest.approx((v[0] + v[1]) / v.sum())
    text = res.summary()
    assert "per payment (month), 6 payments a year: 43,200 a year (3,600 a month on average)" \
        in text
    assert "paid at most 6 months in any 12" in pol.describe()


def test_one_off_payment_once_a_year_and_every_two_years():
    res = simulate(survey(), flat_policy(one_off=True), line=100.0)
    round_cost = np.sum(W * ELIG * 120.0)
    assert res.budget["payments_per_year"] == 1
    assert res.budget["annual"] == pytest.approx(round_cost)
    assert res.budget["monthly"] == pytest.approx(round_cost / 12)
    pcc = small_data()["pcc"].to_numpy()
    np.testing.assert_allclose(res.welfare["reform"], pcc + ELIG * 10.0 / N)  # 120 / 12
    biennial = simulate(survey(), flat_policy(one_off={"every": 24}), line=100.0)
    assert biennial.budget["annual"] == pytest.approx(round_cost / 2)
    assert "one-off payment once every 24 months" in biennial.summary()


def test_quarterly_policy_with_monthly_welfare():
    # thresholds, amounts and incomes per quarter: income_q = 3 x monthly income, top-up to
    # 180 a quarter per member (60 a month); welfare and the line stay monthly
    df = small_data().assign(income_q=lambda d: 3 * d["income"])
    pol = Policy(period="quarter", parameters={"g": 180.0},
                 eligibility=IncomeThreshold("income_q", "g"), benefit=TopUp("g", "income_q"))
    res = simulate(survey(df), pol, line=100.0, welfare_period="month")
    per_member_q = 3 * small_data()["income"].to_numpy() / N
    topup = np.where(per_member_q < 180, N * (180 - per_member_q), 0.0)  # per quarter
    assert res.budget["per_period"] == pytest.approx(np.sum(W * topup))
    assert res.budget["payments_per_year"] == 4
    assert res.budget["annual"] == pytest.approx(4 * np.sum(W * topup))
    assert res.budget["monthly"] == pytest.approx(np.sum(W * topup) / 3)
    np.testing.assert_allclose(res.welfare["reform"],
                               small_data()["pcc"].to_numpy() + topup / 3 / N)
    assert res.assumptions["welfare_period"] == "month"
    assert res.assumptions["period"] == "quarter"


def test_parameters_stated_in_another_period_and_round_trip(tmp_path):
    pol = Policy(parameters={"gmi": {"value": 720.0, "per": "year"}, "k": 2.0},
                 eligibility=IncomeThreshold("income", "gmi"), benefit=TopUp("gmi", "income"))
    assert pol.parameters["gmi"] == pytest.approx(60.0)  # 720 a year = 60 a month
    d = pol.to_dict()
    assert d["parameters"] == {"gmi": {"value": pytest.approx(720.0), "per": "year"}, "k": 2.0}
    again = Policy.from_dict(yaml.safe_load(yaml.safe_dump(d)))
    assert again.parameters == pytest.approx(pol.parameters)
    # a new value is given in the policy's period and written back in the parameter's
    assert pol.with_parameters(gmi=50.0).to_dict()["parameters"]["gmi"]["value"] == \
        pytest.approx(600.0)
    q = Policy(period="quarter", parameters={"a": {"value": 10.0, "per": "month"}},
               benefit=Flat("a"))
    assert q.parameters["a"] == pytest.approx(30.0)
    for bad, match in [
        ({"a": {"value": 1.0, "per": "week"}}, "parameters.a.per"),
        ({"a": {"amount": 1.0}}, "parameter 'a'"),
        ({"a": "lots"}, "parameter 'a' must be a number"),
    ]:
        with pytest.raises(PolicyError, match=match):
            Policy(parameters=bad, benefit=Flat(1.0))


def test_period_duration_and_one_off_errors():
    with pytest.raises(PolicyError, match="`period` must be one of month, quarter, year"):
        flat_policy(period="week")
    with pytest.raises(PolicyError, match="cannot exceed"):
        flat_policy(duration={"max": 13, "within": 12})
    with pytest.raises(PolicyError, match=r"\{max: k, within: m\}"):
        flat_policy(duration={"months": 6})
    with pytest.raises(PolicyError, match="not both"):
        flat_policy(duration={"max": 6}, one_off=True)
    with pytest.raises(PolicyError, match="`one_off`"):
        flat_policy(one_off="yes")
    with pytest.raises(PolicyError, match="positive number of periods"):
        flat_policy(one_off={"every": 0})
    with pytest.raises(PolicyError, match="one period"):
        Package([flat_policy(), flat_policy(period="year").renamed("yearly")])
    with pytest.raises(PolicyError, match="welfare_period"):
        simulate(survey(), flat_policy(), line=100.0, welfare_period="week")


def test_package_adds_each_programmes_payments():
    # a monthly flat benefit and a one-off per-child grant (paid once a year)
    grant = Policy(name="grant", benefit=PerMember(240.0, "children"),
                   eligibility=Condition("children", ">", 0), one_off=True)
    pkg = Package([flat_policy(), grant], sequential=False)
    res = simulate(survey(), pkg, line=100.0)
    children = small_data()["children"].to_numpy()
    monthly = np.sum(W * ELIG * 120.0)
    grant_round = np.sum(W * 240.0 * children)
    assert res.budget["per_period"] == pytest.approx(monthly + grant_round)
    assert res.budget["annual"] == pytest.approx(12 * monthly + grant_round)
    np.testing.assert_allclose(
        res.welfare["reform"],
        small_data()["pcc"].to_numpy() + (ELIG * 120.0 + 240.0 * children / 12) / N)
    assert pkg.annual_budget(survey()) == pytest.approx(12 * monthly + grant_round)


# --- policy files ---------------------------------------------------------------------------
def write(tmp_path, doc: dict) -> str:
    small_data().to_csv(tmp_path / "hh.csv", index=False)
    doc = {**doc, "data": {"path": "hh.csv"}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def test_policy_file_time_keys_and_annual_budget(tmp_path):
    doc = {
        "name": "limited top-up",
        "period": "month",
        "duration": {"max": 6, "within": 12},
        "parameters": {"g": {"value": 600.0, "per": "year"}},
        "eligibility": {"income_test": {"income": "income", "threshold": "g"}},
        "benefit": {"top_up": {"threshold": "g", "income": "income"}},
        "simulation": {"welfare": "pcc", "line": 100,
                       "solve": {"parameter": "g", "annual_budget": 36000}},
    }
    res = run_policy_file(write(tmp_path, doc))
    # 6 payments a year: the monthly budget solved is 36,000 / 6 = 6,000
    g = res.policy.parameters["g"]
    pcap = small_data()["income"].to_numpy() / N
    assert np.sum(W * N * np.maximum(g - pcap, 0)) == pytest.approx(6000.0, rel=1e-9)
    assert res.budget["annual"] == pytest.approx(36000.0, rel=1e-9)
    sol = res.tables["threshold_solution"]["value"]
    assert sol["target"] == "spends 36,000 a year (6 payments of 6,000)"
    assert "Solved: g = " in res.summary()
    assert "payment: amounts per month; paid at most 6 months in any 12" in res.summary()
    # the file round-trips with its time keys
    again = Policy.from_dict(res.policy.to_dict())
    assert again.duration == {"max": 6, "within": 12}
    assert again.to_dict()["parameters"]["g"]["per"] == "year"


def test_policy_file_one_off_and_welfare_period(tmp_path):
    doc = {
        "name": "birth grant",
        "period": "year",
        "one_off": True,
        "eligibility": {"condition": {"column": "children", "op": ">", "value": 0}},
        "benefit": {"per_member": {"amount": 1200, "members": "children"}},
        "simulation": {"welfare": "pcc", "line": 100, "welfare_period": "month"},
    }
    res = run_policy_file(write(tmp_path, doc))
    children = small_data()["children"].to_numpy()
    assert res.budget["annual"] == pytest.approx(np.sum(W * 1200.0 * children))
    np.testing.assert_allclose(res.welfare["reform"],
                               small_data()["pcc"].to_numpy() + 100.0 * children / N)


# --- repeated (quarterly) eligibility ---------------------------------------------------------
QUARTERS = {f"Q{q}": {"income": f"inc_q{q}"} for q in range(1, 5)}


def test_ever_and_always_eligible_over_four_quarters_by_hand():
    pol = Policy(parameters={"t": 60.0}, eligibility=IncomeThreshold("income", "t"),
                 benefit=TopUp("t", "income"))
    out = repeated_eligibility(survey(), pol, QUARTERS)
    df = small_data()
    v = W * N
    elig = np.vstack([df[f"inc_q{q}"].to_numpy() / N < 60 for q in range(1, 5)])
    # by hand: household 1 always (20, 30, 10, 20 per member); 2 in Q1 and Q3 (50, 55);
    # 3 in Q4 (50); 5 in Q1, Q3 and Q4 (50); 6 in Q3 (50); 4 never
    expected = np.array([[1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 1, 1],
                         [1, 0, 1, 0, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(elig, expected)
    ever, always = expected.any(axis=0), expected.all(axis=0)
    assert list(out.index) == ["Q1", "Q2", "Q3", "Q4", "ever eligible", "always eligible"]
    for q in range(4):
        assert out.loc[f"Q{q + 1}", "households"] == pytest.approx(np.sum(W * expected[q]))
        assert out.loc[f"Q{q + 1}", "share"] == pytest.approx(np.sum(v * expected[q]) / v.sum())
    assert out.loc["ever eligible", "people"] == pytest.approx(np.sum(v * ever))
    np.testing.assert_array_equal(always, [1, 0, 0, 0, 0, 0])  # household 1 only
    assert out.loc["always eligible", "people"] == pytest.approx(np.sum(v * always))
    # persistence: the share of the ever eligible eligible in all four quarters
    assert out.loc["always eligible", "share_of_ever"] == pytest.approx(v[0] / np.sum(v * ever))
    # the two averages of the benefit (Kazakhstan 2017, Table 6)
    paid = np.vstack([np.where(e, N * (60 - df[f"inc_q{q + 1}"].to_numpy() / N), 0.0)
                      for q, e in enumerate(expected)])
    total = np.sum(W * paid)
    assert out.loc["ever eligible", "budget"] == pytest.approx(total)
    assert out.loc["ever eligible", "benefit_per_person"] == pytest.approx(
        total / (4 * np.sum(v * ever)))
    assert out.attrs["average_per_eligible_period"] == pytest.approx(
        total / np.sum(v * expected))
    assert out.loc["Q2", "benefit_per_person"] == pytest.approx(
        np.sum(W * paid[1]) / np.sum(v * expected[1]))


def test_repeated_eligibility_in_a_policy_file_and_errors(tmp_path):
    doc = {
        "name": "quarterly test",
        "parameters": {"t": 60.0},
        "eligibility": {"income_test": {"income": "income", "threshold": "t"}},
        "benefit": {"flat": {"amount": 100}},
        "simulation": {"welfare": "pcc", "line": 100, "repeated_eligibility": QUARTERS},
    }
    res = run_policy_file(write(tmp_path, doc))
    t = res.tables["repeated_eligibility"]
    assert t.loc["always eligible", "households"] == pytest.approx(10.0)
    pol = Policy.from_dict({k: doc[k] for k in ("parameters", "eligibility", "benefit")})
    with pytest.raises(PolicyError, match="inc_q9"):
        repeated_eligibility(survey(), pol, {"Q1": {"income": "inc_q1"},
                                             "Q2": {"income": "inc_q9"}})
    with pytest.raises(PolicyError, match="at least two"):
        repeated_eligibility(survey(), pol, [{"income": "inc_q1"}])
    # a list of mappings is labelled 1, 2, ...
    listed = repeated_eligibility(survey(), pol, [{"income": "inc_q1"}, {"income": "inc_q2"}])
    assert list(listed.index[:2]) == ["1", "2"]
