"""simulate(), solvers, scenario grids and budget-neutral comparisons against independent
hand computations (sorted cumulative budgets, PSU totals by groupby, published amounts)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import PolicyError
from pmt.simulate import (
    Condition,
    Equivalised,
    Flat,
    IncomeThreshold,
    Not,
    PerMember,
    Policy,
    ScoreTest,
    TakeUp,
    TopUp,
    budget_neutral_amount,
    budget_neutral_comparison,
    implied_budget,
    incidence_table,
    run_policy_file,
    scenario_grid,
    simulate,
    solve_amount,
    solve_threshold,
)
from pmt.survey import Survey

EXAMPLES = Path(__file__).resolve().parents[1] / "data_spec" / "examples"


def make_data(n=1500, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 6, n)
    psu = strata * 100 + rng.integers(0, 12, n)
    size = rng.integers(1, 8, n)
    psu_effect = rng.normal(0, 0.25, 600)[psu % 600]
    pcc = np.exp(5.5 + psu_effect + rng.normal(0, 0.45, n))
    income = pcc * size * rng.uniform(0.5, 1.1, n)
    return pd.DataFrame(
        {
            "stratum": strata,
            "psu": psu,
            "weight": rng.uniform(50, 200, n),
            "hh_size": size,
            "pcc": pcc,
            "income": income,
            "poverty_line": 200.0,
            "sa": np.where(pcc < 230, 15.0 * size, 0.0),
            "children": np.minimum(rng.poisson(1.2, n), size - 1),
            "elderly": rng.integers(0, 2, n),
            "disabled": (rng.random(n) < 0.1).astype(int),
            "female_head": (rng.random(n) < 0.2).astype(int),
            "cattle": rng.poisson(0.5, n),
            "urban": rng.integers(0, 2, n),
            "score": np.log(pcc) + rng.normal(0, 0.3, n),
        }
    )


@pytest.fixture(scope="module")
def survey() -> Survey:
    return Survey(make_data(), weight="weight", size="hh_size", strata="stratum", psu="psu")


def gmi_policy(gmi=150.0) -> Policy:
    return Policy(
        name="GMI",
        parameters={"gmi": gmi},
        eligibility=IncomeThreshold("income", "gmi") & Not(Condition("cattle", ">=", 3)),
        benefit=TopUp("gmi", "income"),
    )


def design_se(df: pd.DataFrame, z: np.ndarray, denom: float) -> float:
    """Stratified PSU-total linearisation of a total, by hand with pandas groupby."""
    t = (
        pd.DataFrame({"h": df["stratum"], "p": df["psu"], "z": df["weight"] * z})
        .groupby(["h", "p"])["z"]
        .sum()
    )
    var = 0.0
    for _, th in t.groupby(level=0):
        m = len(th)
        var += m / (m - 1) * float(((th - th.mean()) ** 2).sum())
    return np.sqrt(var) / denom


# --- poverty impact ----------------------------------------------------------------------
def test_paired_change_se_by_hand_and_smaller_than_naive(survey):
    res = simulate(survey, gmi_policy(), welfare="pcc", line="poverty_line")
    df = survey.data
    n = df["hh_size"].to_numpy(float)
    w = df["weight"].to_numpy()
    z = 200.0
    y0 = df["pcc"].to_numpy()
    per_capita = df["income"].to_numpy() / n
    elig = (per_capita < 150) & (df["cattle"].to_numpy() < 3)
    y1 = y0 + np.where(elig, 150 - per_capita, 0.0)
    np.testing.assert_allclose(res.welfare["reform"], y1)
    denom = np.sum(w * n)
    for m, g in {
        "FGT0": lambda y: (y < z).astype(float),
        "FGT1": lambda y: np.where(y < z, (z - y) / z, 0.0),
        "Watts": lambda y: np.where(y < z, np.log(z / y), 0.0),
    }.items():
        g0, g1 = g(y0), g(y1)
        p0, p1 = np.sum(w * n * g0) / denom, np.sum(w * n * g1) / denom
        d = p1 - p0
        row = res.poverty.loc[m]
        assert row["before"] == pytest.approx(p0, rel=1e-12)
        assert row["after"] == pytest.approx(p1, rel=1e-12)
        assert row["se_before"] == pytest.approx(design_se(df, n * (g0 - p0), denom), rel=1e-10)
        assert row["se_after"] == pytest.approx(design_se(df, n * (g1 - p1), denom), rel=1e-10)
        se_d = design_se(df, n * (g1 - g0 - d), denom)
        assert row["se_change"] == pytest.approx(se_d, rel=1e-10)
        # the reform's poverty is strongly correlated with the baseline on the same
        # sample: the paired s.e. is much smaller than the naive combination
        assert row["se_naive"] == pytest.approx(np.hypot(row["se_before"], row["se_after"]))
        assert row["se_change"] < 0.7 * row["se_naive"]


def test_mpc_counterfactual_and_observed_comparison(survey):
    res = simulate(survey, gmi_policy(), existing="sa", mpc=0.25, floor=1.0)
    df = survey.data
    pre = df["pcc"] - 0.25 * df["sa"] / df["hh_size"]
    np.testing.assert_allclose(res.welfare["pre_transfer"], pre)
    assert res.assumptions["mpc"] == 0.25
    assert "substitution rate 0.75" in res.summary()
    # the same mpc moves welfare for the reform's benefit: reform = pre + 0.25 x B / n, and
    # the current system is pre + 0.25 x sa / n (the observed pcc: no household floored)
    n = df["hh_size"].to_numpy(float)
    np.testing.assert_allclose(res.welfare["reform"], pre + 0.25 * res.outcome.benefit / n)
    np.testing.assert_allclose(res.welfare["current"], df["pcc"])
    v = (df["weight"] * df["hh_size"]).to_numpy()
    cur = res.tables["poverty_vs_current"]
    assert cur.loc["FGT0", "before"] == pytest.approx(
        np.sum(v * (df["pcc"].to_numpy() < 200)) / v.sum())
    # welfare given net of the transfer: observed is rebuilt as pre + mpc x T / n
    df2 = df.assign(pcc_net=pre)
    sv2 = Survey(df2, weight="weight", size="hh_size", strata="stratum", psu="psu")
    res2 = simulate(sv2, gmi_policy(), welfare="pcc_net", existing="sa", mpc=0.25,
                    welfare_is_pre_transfer=True)
    np.testing.assert_allclose(res2.welfare["pre_transfer"], pre)
    np.testing.assert_allclose(res2.welfare["observed"], df["pcc"])


def test_counts_budget_and_cost_effectiveness_by_hand(survey):
    res = simulate(survey, gmi_policy(), gdp=1e9)
    df = survey.data
    n, w = df["hh_size"].to_numpy(float), df["weight"].to_numpy()
    pcap = df["income"].to_numpy() / n
    elig = (pcap < 150) & (df["cattle"].to_numpy() < 3)
    ben = np.where(elig, n * (150 - pcap), 0.0)
    monthly = np.sum(w * ben)
    assert res.budget["monthly"] == pytest.approx(monthly)
    assert res.budget["annual"] == pytest.approx(12 * monthly)
    assert res.budget["pct_gdp"] == pytest.approx(100 * 12 * monthly / 1e9)
    assert res.counts["eligible_households"] == pytest.approx(np.sum(w * elig))
    assert res.counts["eligible_people"] == pytest.approx(np.sum(w * n * elig))
    y0 = df["pcc"].to_numpy()
    y1 = y0 + ben / n
    gap0 = np.sum(w * n * np.maximum(200 - y0, 0))
    gap1 = np.sum(w * n * np.maximum(200 - y1, 0))
    ce = res.tables["cost_effectiveness"]["value"]
    assert ce["gap_reduction_per_unit"] == pytest.approx((gap0 - gap1) / monthly)
    # targeting metrics from pmt.evaluate with per-person benefits
    poor = y0 < 200
    v = w * n
    t = res.targeting
    assert t["coverage_poor"] == pytest.approx(np.sum(v * poor * elig) / np.sum(v * poor))
    assert t["benefit_leakage"] == pytest.approx(np.sum(w * ben * ~poor) / monthly)
    text = res.summary()
    for phrase in ("mpc", "take-up", "ranking variable", "poverty line", "unit: household"):
        assert phrase in text


def test_takeup_expected_value_and_random_draw(survey):
    full = simulate(survey, gmi_policy())
    half = gmi_policy()
    half.takeup = TakeUp(0.5)
    res = simulate(survey, half)
    assert res.budget["monthly"] == pytest.approx(0.5 * full.budget["monthly"])
    assert res.counts["beneficiary_people"] == pytest.approx(
        0.5 * full.counts["beneficiary_people"]
    )
    assert res.counts["eligible_people"] == pytest.approx(full.counts["eligible_people"])
    rnd = gmi_policy()
    rnd.takeup = TakeUp(0.5, mode="random", seed=4)
    a, b = simulate(survey, rnd), simulate(survey, rnd)
    np.testing.assert_array_equal(a.outcome.benefit, b.outcome.benefit)
    assert set(np.unique(a.outcome.takeup)) == {0.0, 1.0}


def test_incidence_table_by_hand():
    rank = np.array([1.0, 2.0, 3.0, 4.0])
    v = np.array([1.0, 2.0, 1.0, 2.0])
    w = np.array([0.5, 1.0, 0.25, 1.0])  # household sizes 2, 2, 4, 2
    r = np.array([1.0, 0.0, 0.5, 0.0])  # take-up probability of the entitled
    amount = np.array([10.0, 0.0, 20.0, 0.0])
    t = incidence_table(rank, v, w, r, amount, n_groups=2, eligible=np.array([1, 0, 1, 1]))
    assert list(t.index) == [1, 2, "Total"]
    # person-weighted halves: group 1 = hh 1, 2 (v 3 of 6), group 2 = hh 3, 4
    np.testing.assert_allclose(t["population_share"], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(t["coverage"], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(t["expected_coverage"], [1 / 3, 0.5 / 3, 1.5 / 6])
    np.testing.assert_allclose(t["eligible_coverage"], [1 / 3, 1.0, 4 / 6])
    # benefit amounts paid: w x B = 5 and 5 -> half each; per capita over everyone
    np.testing.assert_allclose(t["benefits_share"], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(t["benefit_per_capita"], [5 / 3, 5 / 3, 10 / 6])
    # identity: distribution = coverage x population share / total coverage
    np.testing.assert_allclose(
        t["beneficiaries_share"], t["coverage"] * t["population_share"] / t.loc["Total", "coverage"]
    )


def test_winners_and_losers(survey):
    res = simulate(survey, gmi_policy(), existing="sa", mpc=1.0, floor=1.0)
    df = survey.data
    new = res.outcome.benefit
    old = df["sa"].to_numpy()
    w = df["weight"].to_numpy()
    wl = res.tables["winners_losers"]
    assert wl.loc["Total", "winner_households"] == pytest.approx(np.sum(w * (new > old)))
    assert wl.loc["Total", "loser_households"] == pytest.approx(np.sum(w * (new < old)))


# --- solvers -----------------------------------------------------------------------------
def test_budget_solver_fixed_benefit_within_one_household(survey):
    pol = Policy(
        parameters={"t": 100.0},
        eligibility=IncomeThreshold("income", "t") & Not(Condition("cattle", ">=", 3)),
        benefit=PerMember(25.0),
    )
    budget = 2.0e6
    sol = solve_threshold(survey, pol, "t", budget=budget)
    df = survey.data
    n, w = df["hh_size"].to_numpy(float), df["weight"].to_numpy()
    pcap = df["income"].to_numpy() / n
    allowed = df["cattle"].to_numpy() < 3
    # independent: sort allowed households by income per capita, cumulate w x benefit
    order = np.argsort(pcap[allowed], kind="stable")
    cost = (w * 25.0 * n)[allowed][order]
    cum = np.cumsum(cost)
    k = int(np.searchsorted(cum, budget, side="right"))  # households that fit
    spent_by_hand = cum[k - 1]
    assert sol.budget == pytest.approx(spent_by_hand, rel=1e-12)
    assert 0 <= sol.shortfall < cost[k]  # less than the next household's benefit
    assert pol.with_parameters(t=sol.value).budget(survey) <= budget
    # the next household's entry overspends
    assert sol.next_step == pytest.approx(cost[k], rel=1e-9)


def test_budget_solver_top_up_spends_exactly(survey):
    pol = gmi_policy()
    budget = 3.0e6
    sol = solve_threshold(survey, pol, "gmi", budget=budget)
    df = survey.data
    n, w = df["hh_size"].to_numpy(float), df["weight"].to_numpy()
    pcap = df["income"].to_numpy() / n
    allowed = df["cattle"].to_numpy() < 3
    spent = np.sum(w * n * np.maximum(sol.value - pcap, 0) * allowed)
    assert spent == pytest.approx(budget, rel=1e-9)
    assert sol.shortfall == pytest.approx(0, abs=1e-6 * budget)
    assert sol.evaluations < 60  # searched on sorted breakpoints, not blind bisection


def test_budget_neutral_threshold_against_reference_policy(survey):
    # Kazakhstan 2017: raise the new top-up threshold until it spends what the current
    # benefits spend (a low top-up plus a flat per-child benefit)
    current_topup = Policy(parameters={"l": 80.0}, eligibility=IncomeThreshold("income", "l"),
                           benefit=TopUp("l", "income"))
    current_child = Policy(parameters={"l": 130.0}, eligibility=IncomeThreshold("income", "l"),
                           benefit=PerMember(10.0, "children"))
    budget = implied_budget(survey, current_topup) + implied_budget(survey, current_child)
    new = Policy(parameters={"l": 80.0}, eligibility=IncomeThreshold("income", "l"),
                 benefit=TopUp("l", "income"))
    sol = solve_threshold(survey, new, "l", budget=budget)
    assert implied_budget(survey, new, l=sol.value) == pytest.approx(budget, rel=1e-9)
    assert sol.value > 80.0


def test_coverage_solver(survey):
    pol = Policy(parameters={"t": 5.0}, eligibility=ScoreTest("t", score="score"),
                 benefit=Flat(1.0))
    sol = solve_threshold(survey, pol, "t", coverage=0.2)
    df = survey.data
    v = (df["weight"] * df["hh_size"]).to_numpy()
    s = df["score"].to_numpy()
    order = np.argsort(s)
    share = np.cumsum(v[order]) / v.sum()
    k = int(np.searchsorted(share, 0.2))  # first household reaching 20 %
    assert sol.coverage == pytest.approx(share[k])
    assert share[k - 1] < 0.2 <= sol.coverage
    assert s[order][k] < sol.value <= s[order][k + 1]


def test_solver_errors(survey):
    flat = Policy(parameters={"t": 100.0}, eligibility=IncomeThreshold("income", "t"),
                  benefit=Flat(1.0))
    with pytest.raises(PolicyError, match="cannot spend"):
        solve_threshold(survey, flat, "t", budget=1e15)
    with pytest.raises(PolicyError, match="no parameter 'x'"):
        solve_threshold(survey, flat, "x", budget=10)
    amt = Policy(parameters={"a": 1.0}, eligibility=IncomeThreshold("income", 100),
                 benefit=Flat("a"))
    with pytest.raises(PolicyError, match="not a threshold"):
        solve_threshold(survey, amt, "a", budget=10)
    with pytest.raises(PolicyError, match="exactly one"):
        solve_threshold(survey, flat, "t")
    with pytest.raises(PolicyError, match="not linear"):
        solve_amount(survey, gmi_policy(), 1e6)


def test_budget_neutral_amounts_uzbekistan_table4():
    # Table 4 of the Uzbek report: 11.0 / 30.9 / 30.4 / 27.7 % of eligible families have
    # 1 / 2 / 3 / 4 entitled members; average benefit 246,990 UZS. Budget-neutral amounts:
    # 89,906 per entitled member and 147,506 per equivalised unit (1, .5, .3, .2).
    df = pd.DataFrame({"members": [1, 2, 3, 4], "w": [11.0, 30.9, 30.4, 27.7], "n": 4})
    sv = Survey(df, weight="w", size="n")
    flat = Policy(benefit=Flat(246_990), name="flat")
    per = budget_neutral_amount(sv, Policy(benefit=PerMember(1.0, "members")), flat)
    eq = budget_neutral_amount(sv, Policy(benefit=Equivalised(1.0, "members", cap=4)), flat)
    assert per.extra["solved_amount"] == pytest.approx(89_906, rel=1e-3)
    assert eq.extra["solved_amount"] == pytest.approx(147_506, rel=1e-3)
    assert implied_budget(sv, per) == pytest.approx(implied_budget(sv, flat), rel=1e-12)
    assert implied_budget(sv, eq) == pytest.approx(implied_budget(sv, flat), rel=1e-12)


# --- grids and comparisons ---------------------------------------------------------------
def test_scenario_grid(survey):
    grid = scenario_grid(survey, gmi_policy(), parameter="gmi", values=[100, 150, 200])
    assert list(grid.columns) == ["gmi=100", "gmi=150", "gmi=200"]
    for col, g in zip(grid.columns, [100, 150, 200], strict=True):
        assert grid.loc["budget_monthly", col] == pytest.approx(
            implied_budget(survey, gmi_policy(), gmi=g)
        )
    assert grid.loc["budget_relative_to_first", "gmi=100"] == 1.0
    assert (np.diff(grid.loc["eligible_households"].to_numpy(float)) > 0).all()
    pols = {"GMI": gmi_policy(), "Child": Policy(benefit=PerMember(20.0, "children"),
                                                  eligibility=Condition("children", ">", 0))}
    grid2 = scenario_grid(survey, pols)
    assert list(grid2.columns) == ["GMI", "Child"]
    # thresholds shorthand, rule sets x thresholds (the Kyrgyz pilot layout)
    strict = gmi_policy().renamed("GMI + filter")
    strict.eligibility = strict.eligibility & Condition("cattle", "<", 1)
    grid3 = scenario_grid(survey, [gmi_policy(), strict], thresholds=[120, 180])
    assert list(grid3.columns) == [
        "GMI | gmi=120", "GMI | gmi=180", "GMI + filter | gmi=120", "GMI + filter | gmi=180",
    ]
    df = survey.data
    pcap = df["income"] / df["hh_size"]
    base = (pcap < 180) & (df["cattle"] < 3)
    assert grid3.loc["eligible_households_sample", "GMI | gmi=180"] == base.sum()
    assert grid3.loc["eligible_people_sample", "GMI + filter | gmi=180"] == (
        df["hh_size"][base & (df["cattle"] < 1)].sum()
    )
    with pytest.raises(PolicyError, match="threshold parameters"):
        scenario_grid(survey, Policy(benefit=Flat(1.0), eligibility=Condition("cattle", "<", 1)),
                      thresholds=[1, 2])


def test_budget_neutral_comparison(survey):
    df = survey.data
    sv = Survey(df.assign(pmt_level=np.exp(df["score"])), weight="weight", size="hh_size",
                strata="stratum", psu="psu")
    out = budget_neutral_comparison(
        sv, {"PMT": "pmt_level"}, children="children", elderly="elderly",
        disabled="disabled", female_head="female_head",
    )
    v = (df["weight"] * df["hh_size"]).to_numpy()
    gap = np.sum(v * np.maximum(200 - df["pcc"].to_numpy(), 0))
    assert out.attrs["budget"] == pytest.approx(gap)
    schemes = out.drop(index="No transfer")
    np.testing.assert_allclose(schemes["budget_monthly"], gap, rtol=1e-8)
    # perfect targeting fills every gap: nobody poor after transfer
    assert out.loc["Perfect targeting", "FGT0"] == pytest.approx(0.0, abs=1e-12)
    assert out.loc["Perfect targeting", "FGT1"] == pytest.approx(0.0, abs=1e-9)
    # universal amount per person = budget / population
    assert out.loc["Universal (per person)", "amount"] == pytest.approx(gap / v.sum())
    # per child capped at 3: amount = budget / sum w min(children, 3)
    cap = np.minimum(df["children"], 3)
    assert out.loc["Per child (up to 3)", "amount"] == pytest.approx(
        gap / np.sum(df["weight"] * cap)
    )
    assert (schemes["FGT0"] <= out.loc["No transfer", "FGT0"] + 1e-12).all()


# --- entry points and errors -------------------------------------------------------------
def test_pmt_simulate_is_callable(survey):
    res = pmt.simulate(survey, gmi_policy())
    assert res.budget["monthly"] > 0
    assert pmt.simulate.Policy is Policy


def test_simulate_errors(survey):
    with pytest.raises(PolicyError, match="pmt.Survey"):
        simulate(survey.data, gmi_policy())
    with pytest.raises(PolicyError, match="'nope'"):
        simulate(survey, gmi_policy(), line="nope")
    with pytest.raises(PolicyError, match="'sa2'"):
        simulate(survey, gmi_policy(), existing="sa2")
    with pytest.raises(PolicyError, match="gdp"):
        simulate(survey, gmi_policy(), gdp=-1)
    df = survey.data.copy()
    df.loc[df.index[3], "pcc"] = np.nan
    bad = Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    with pytest.raises(PolicyError, match="missing for 1 households"):
        simulate(bad, gmi_policy())
    with pytest.raises(PolicyError, match="selects nobody"):
        simulate(survey, gmi_policy(gmi=-5))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("policy_*.yaml")))
def test_example_policy_files_run(name):
    from pmt.datasets import synthetic_hbs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = synthetic_hbs(n_households=1200, seed=5)
    res = run_policy_file(EXAMPLES / name, data=data)
    assert res.budget["monthly"] > 0
    assert 0 < res.counts["beneficiary_share"] < 1
    assert res.poverty.loc["FGT0", "change"] <= 0
    if "tsa" in name:
        sol = res.tables["threshold_solution"]["value"]
        assert float(sol["budget"]) == pytest.approx(1.0e11, rel=1e-9)
    if "gmi" in name:
        assert res.tables["scenario_grid"].shape[1] == 3
    if "duration" in name:  # 6 payments a year of the solved monthly budget
        assert res.budget["annual"] == pytest.approx(1.5e12, rel=1e-9)
        assert res.budget["monthly"] == pytest.approx(1.5e12 / 12, rel=1e-9)
    if "child" in name:  # amount solved for an annual budget, 12 payments
        assert res.budget["annual"] == pytest.approx(6.0e12, rel=1e-9)


def test_interval_table_by_hand(survey):
    res = simulate(survey, gmi_policy(), existing="sa", mpc=1.0, floor=1.0,
                   intervals=[0.5, 1.0])
    t = res.tables["intervals"]
    assert list(t.index) == ["< 0.5 z", "0.5 z - 1 z", ">= 1 z", "Total"]
    df = survey.data
    pre = (df["pcc"] - df["sa"] / df["hh_size"]).clip(lower=1.0).to_numpy()
    w = df["weight"].to_numpy()
    mid = (pre >= 100) & (pre < 200)
    assert t.loc["0.5 z - 1 z", "households"] == pytest.approx(np.sum(w * mid))
    paid = res.outcome.benefit
    assert t.loc["0.5 z - 1 z", "budget_monthly"] == pytest.approx(np.sum(w * paid * mid))
    assert t.loc["Total", "budget_monthly"] == pytest.approx(res.budget["monthly"])
    with pytest.raises(PolicyError, match="intervals"):
        simulate(survey, gmi_policy(), intervals=[1.0, 0.5])


def test_mpc_sensitivity(survey):
    from pmt.simulate import mpc_sensitivity

    out = mpc_sensitivity(survey, gmi_policy(), existing="sa", floor=1.0)
    assert list(out.columns) == ["mpc=0", "mpc=0.25", "mpc=1"]
    # mpc = 0: full compensation, pre-transfer poverty equals observed poverty
    df = survey.data
    v = (df["weight"] * df["hh_size"]).to_numpy()
    obs = np.sum(v * (df["pcc"].to_numpy() < 200)) / v.sum()
    assert out.loc["FGT0_before", "mpc=0"] == pytest.approx(obs)
    # removing more of the transfer can only raise pre-transfer poverty
    before = out.loc["FGT0_before"].to_numpy(float)
    assert before[0] <= before[1] <= before[2]


def test_solved_policy_round_trips(survey):
    pol = solve_amount(survey, Policy(benefit=PerMember(1.0, "children"),
                                      eligibility=Condition("children", ">", 0)), 1e6)
    again = Policy.from_dict(pol.to_dict())
    assert implied_budget(survey, again) == pytest.approx(1e6)


def test_existing_benefits_summed_over_columns(survey):
    df = survey.data.assign(sa_a=survey.data["sa"] * 0.4, sa_b=survey.data["sa"] * 0.6)
    sv = Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    a = simulate(sv, gmi_policy(), existing=["sa_a", "sa_b"], mpc=0.5, floor=1.0)
    b = simulate(survey, gmi_policy(), existing="sa", mpc=0.5, floor=1.0)
    np.testing.assert_allclose(a.welfare["pre_transfer"], b.welfare["pre_transfer"])
    assert a.assumptions["existing"] == "sa_a + sa_b"


def test_budget_solver_inclusive_score_rule(survey):
    # inclusive cut-off (score <= t), fixed amount: the solution is the score of the last
    # household admitted; the next one would overspend
    pol = Policy(parameters={"t": 5.0},
                 eligibility=ScoreTest("t", score="score", inclusive=True),
                 benefit=Flat(40.0))
    budget = 1.5e6
    sol = solve_threshold(survey, pol, "t", budget=budget)
    df = survey.data
    s, w = df["score"].to_numpy(), df["weight"].to_numpy()
    order = np.argsort(s, kind="stable")
    cum = np.cumsum(40.0 * w[order])
    k = int(np.searchsorted(cum, budget, side="right"))
    assert sol.value == pytest.approx(s[order][k - 1])
    assert sol.budget == pytest.approx(cum[k - 1])
    assert budget - sol.budget < 40.0 * w[order][k]


def test_score_test_with_saved_model(tmp_path, survey):
    from pmt.models.ols import ols  # (pmt.ols currently resolves to the module)

    r = ols("score ~ income + cattle", survey.data, weights="weight")
    path = tmp_path / "m.json"
    pmt.save_model(r, path)
    pol = Policy(parameters={"t": 5.4}, eligibility=ScoreTest("t", model=str(path)),
                 benefit=Flat(1.0))
    out = pol.evaluate(survey)
    np.testing.assert_array_equal(out.eligible, r.predict(survey.data).to_numpy() < 5.4)
    assert Policy.from_dict(pol.to_dict()).eligibility.model == str(path)


def test_budget_neutral_comparison_flat_pmt_rate_rule(survey):
    df = survey.data
    sv = Survey(df.assign(pmt_level=np.exp(df["score"])), weight="weight", size="hh_size",
                strata="stratum", psu="psu")
    budget = 2.0e6
    out = budget_neutral_comparison(
        sv, ["pmt_level"], budget=budget, pmt_benefit="flat", children="children",
        elderly=None, disabled=None, female_head=None, measures=("FGT0",),
    )
    assert list(out.index) == ["No transfer", "Perfect targeting", "PMT: pmt_level",
                               "Universal (per person)", "Per child (up to 3)"]
    np.testing.assert_allclose(out["budget_monthly"].iloc[1:], budget, rtol=1e-8)
    # "rate" rule: the poorest-predicted share equal to the poverty rate is covered
    v = (df["weight"] * df["hh_size"]).to_numpy()
    rate = np.sum(v * (df["pcc"].to_numpy() < 200)) / v.sum()
    assert out.loc["PMT: pmt_level", "coverage"] == pytest.approx(rate, abs=0.01)
    with pytest.raises(PolicyError, match="not on the scale"):
        budget_neutral_comparison(sv, ["score"], budget=budget)


def test_policy_file_sections_and_errors(tmp_path, survey):
    base = (
        "name: t\nparameters: {gmi: 150}\n"
        "eligibility: {income_test: {income: income, threshold: gmi}}\n"
        "benefit: {top_up: {threshold: gmi, income: income}}\n"
    )
    p = tmp_path / "p.yaml"
    p.write_text(base)
    with pytest.raises(PolicyError, match="no `data` section"):
        run_policy_file(p)
    # data from a CSV next to the policy file, design from the survey section
    survey.data.to_csv(tmp_path / "hh.csv", index=False)
    p.write_text(
        base + "data: {path: hh.csv}\n"
        "survey: {weight: weight, size: hh_size, strata: stratum, psu: psu}\n"
        "simulation: {welfare: pcc, line: 200, gdp: 1.0e9, solve: {parameter: gmi, "
        "budget: 2.0e6}}\n"
    )
    res = run_policy_file(p)
    assert res.budget["monthly"] == pytest.approx(2.0e6, rel=1e-9)
    assert res.budget["pct_gdp"] == pytest.approx(100 * 12 * 2.0e6 / 1e9)
    p.write_text(base + "simulation: {welfare: pcc, mcp: 0.2}\n")
    with pytest.raises(PolicyError, match="mcp"):
        run_policy_file(p, data=survey)
    p.write_text(base + "simulation: {welfare: pcc, mpc: lots}\n")
    with pytest.raises(PolicyError, match=r"`simulation.mpc` must be a number; got 'lots'"):
        run_policy_file(p, data=survey)
    p.write_text(base + "simulation: {solve: {parameter: gmi, budget: much}}\n")
    with pytest.raises(PolicyError, match=r"`simulation.solve.budget` must be a number"):
        run_policy_file(p, data=survey)
    # a line that is not a number is a column name
    p.write_text(base + "simulation: {welfare: pcc, line: poverty_line}\n")
    assert run_policy_file(p, data=survey).assumptions["line"] == "column 'poverty_line' = 200"
    p.write_text(base + "simulation: {solve: {budget: 10}}\n")
    with pytest.raises(PolicyError, match="parameter"):
        run_policy_file(p, data=survey)
    p.write_text(base + "data: {source: synthetic, rows: 10}\n")
    with pytest.raises(PolicyError, match="rows"):
        run_policy_file(p)


def test_package_simulation_and_budget_neutral_reform(survey):
    from pmt.simulate import Package

    four_b = Policy(name="4+B", benefit=Flat(30.0), eligibility=Condition("children", ">=", 4))
    tsa = Policy(name="TSA", parameters={"l": 80.0}, eligibility=IncomeThreshold("income", "l"),
                 benefit=TopUp("l", "income"))
    current = Package([four_b, tsa], name="current")
    res = simulate(survey, current)
    comp = res.outcome.components
    w = survey.household_weight
    assert res.budget["monthly"] == pytest.approx(
        sum(np.sum(w * o.benefit) for o in comp.values())
    )
    assert "4+B" in res.summary() and "TSA" in res.summary()
    # the reform threshold that spends what the current package spends
    new = Policy(name="new TSA", parameters={"l": 80.0}, eligibility=IncomeThreshold("income", "l"),
                 benefit=TopUp("l", "income"))
    target = implied_budget(survey, current)
    sol = solve_threshold(survey, new, "l", budget=target)
    assert implied_budget(survey, new, l=sol.value) == pytest.approx(target, rel=1e-9)
    grid = scenario_grid(survey, [current, new.with_parameters(l=sol.value)])
    assert grid.loc["budget_relative_to_first", "new TSA"] == pytest.approx(1.0, rel=1e-9)
    with pytest.raises(PolicyError, match="one Policy"):
        solve_threshold(survey, current, "l", budget=1.0)


def test_poverty_display_table_and_p_values():
    from scipy.stats import norm

    from pmt.simulate.impact import display_table

    pov = pd.DataFrame(
        {"before": [0.315], "se_before": [0.017], "after": [0.288], "se_after": [0.017],
         "change": [-0.027], "se_change": [0.004], "p_change": [2 * norm.sf(0.027 / 0.004)]},
        index=pd.Index(["FGT0"], name="measure"),
    )
    t = display_table(pov)
    assert t.loc["FGT0", "before"] == "31.5 (1.7)"
    assert t.loc["FGT0", "after"] == "28.8 (1.7)"
    assert t.loc["FGT0", "change"] == "-2.7 (0.4)***"
