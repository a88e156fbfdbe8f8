"""Scenario grids and budget-neutral comparisons.

``scenario_grid``
    Several policies, or one policy at several values of a parameter, side by side:
    eligible households and people, cost (absolute and relative to the first scenario),
    targeting and poverty after transfer (Kyrgyz Republic 2011, summary table of the GMI
    pilot; Uzbekistan 2019, Figure 2).

``budget_neutral_comparison``
    Spend the same budget through each PMT score, a universal transfer and categorical
    transfers, and compare poverty after transfer (Brown, Ravallion and van de Walle
    2018, "A poor means test?"). The default budget is the aggregate poverty gap, the sum
    that would eliminate poverty under perfect targeting; a "perfect targeting" row (top-up
    on true welfare) is the benchmark.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from pmt.errors import PolicyError
from pmt.simulate.benefits import Flat, PerMember, TopUp
from pmt.simulate.context import describe_value
from pmt.simulate.impact import MEASURES, money_gap
from pmt.simulate.policy import Package, Policy
from pmt.simulate.rules import Condition, ScoreTest
from pmt.simulate.simulation import SimulationResult, _line_values, simulate
from pmt.simulate.solvers import solve_amount, solve_threshold
from pmt.survey import Survey, weighted_quantile


def _indicators(res: SimulationResult) -> dict:
    t = res.targeting
    p = res.poverty
    d = {
        "eligible_households": res.counts["eligible_households"],
        "eligible_households_sample": res.counts["eligible_households_sample"],
        "eligible_people_sample": res.counts["eligible_people_sample"],
        "eligible_people": res.counts["eligible_people"],
        "beneficiary_households": res.counts["beneficiary_households"],
        "beneficiary_people": res.counts["beneficiary_people"],
        "coverage": t["coverage"],
        "coverage_poor": t["coverage_poor"],
        "exclusion_error": t["exclusion_error"],
        "inclusion_error": t["inclusion_error"],
        "benefit_leakage": t.get("benefit_leakage", np.nan),
        "budget_monthly": res.budget["monthly"],
        "budget_annual": res.budget["annual"],
        "budget_pct_gdp": res.budget["pct_gdp"],
    }
    for m in p.index:
        d[f"{m}_before"] = p.loc[m, "before"]
        d[f"{m}_after"] = p.loc[m, "after"]
        d[f"{m}_change"] = p.loc[m, "change"]
        d[f"{m}_change_se"] = p.loc[m, "se_change"]
    d["gap_reduction_per_unit"] = res.tables["cost_effectiveness"].loc[
        "gap_reduction_per_unit", "value"
    ]
    return d


def threshold_parameter(policy: Policy) -> str:
    """The single parameter used as a threshold by the policy's eligibility rules."""
    found = [
        p for p in policy.parameters
        if policy.eligibility is not None and policy.eligibility.uses(p)
    ]
    if len(found) != 1:
        raise PolicyError(
            f"policy '{policy.name}' has {len(found)} threshold parameters "
            f"({', '.join(found) or 'none'}): name the one to vary with `parameter=`."
        )
    return found[0]


def scenario_grid(
    survey: Survey,
    policies: Policy | Sequence[Policy] | Mapping[str, Policy],
    thresholds: Sequence[float] | None = None,
    parameter: str | None = None,
    values: Sequence[float] | None = None,
    **simulate_kwargs,
) -> pd.DataFrame:
    """Simulate several scenarios and put their indicators side by side.

    Parameters
    ----------
    survey : pmt.Survey
    policies : Policy, list of Policy, or mapping name -> Policy
        The scenarios. With ``parameter`` and ``values`` a single policy (or each policy)
        is run at every value (e.g. GMI 200, 280, 485 with and without new criteria).
    thresholds : sequence of float, optional
        Shorthand for ``values`` of each policy's threshold parameter (the one parameter
        its income or score test refers to).
    parameter : str, optional
        Policy parameter to vary.
    values : sequence of float, optional
        Values of ``parameter``.
    **simulate_kwargs
        Passed to :func:`pmt.simulate.simulate` (welfare, line, existing, mpc, gdp...).

    Returns
    -------
    pandas.DataFrame
        Rows are indicators (eligible households weighted and in the sample, people,
        coverage, errors, budget monthly/annual/% GDP and relative to the first scenario,
        poverty before/after/change with paired s.e., gap reduction per unit spent);
        columns are the scenarios.
    """
    if isinstance(policies, (Policy, Package)):
        items = [(policies.name, policies)]
    elif isinstance(policies, Mapping):
        items = list(policies.items())
    else:
        items = [(p.name, p) for p in policies]
    if not items or not all(isinstance(p, (Policy, Package)) for _, p in items):
        raise PolicyError("`policies` must be a Policy, a list of them or a name -> Policy map.")
    if thresholds is not None or parameter is not None:
        if any(isinstance(p, Package) for _, p in items):
            raise PolicyError("vary parameters of single policies, not of a Package.")
    if thresholds is not None:
        if values is not None:
            raise PolicyError("give `thresholds` or `values`, not both.")
        values = list(thresholds)
        params = {threshold_parameter(p) for _, p in items}
        if parameter is None:
            if len(params) != 1:
                raise PolicyError(
                    f"the policies use different threshold parameters {sorted(params)}: "
                    "name one with `parameter=`."
                )
            parameter = params.pop()
    if (parameter is None) != (values is None):
        raise PolicyError("give both `parameter` and `values` to vary a parameter, or neither.")
    runs = []
    for name, pol in items:
        if parameter is None:
            runs.append((name, pol))
            continue
        if parameter not in pol.parameters:
            raise PolicyError(
                f"policy '{pol.name}' has no parameter '{parameter}' to vary; defined: "
                f"{', '.join(pol.parameters) or 'none'}."
            )
        if isinstance(pol.parameters[parameter], Mapping):
            raise PolicyError(
                f"parameter '{parameter}' of policy '{pol.name}' varies by household "
                f"({describe_value(pol.parameters[parameter])}): a scenario grid sets it to "
                f"one number per scenario. Define '{parameter}' as a number to vary it."
            )
        assert values is not None  # given together with `parameter` (checked above)
        for v in values:
            label = f"{name} | {parameter}={v:,.6g}" if len(items) > 1 else f"{parameter}={v:,.6g}"
            runs.append((label, pol.with_parameters(**{parameter: v})))
    names = [r[0] for r in runs]
    if len(set(names)) != len(names):
        raise PolicyError(f"scenario names must be unique; got {names}. Rename the policies.")
    cols = {}
    for name, pol in runs:
        cols[name] = _indicators(simulate(survey, pol, **simulate_kwargs))
    out = pd.DataFrame(cols)
    base = out.loc["budget_monthly"].iloc[0]
    out.loc["budget_relative_to_first"] = out.loc["budget_monthly"] / base if base > 0 else np.nan
    out.index.name = "indicator"
    out.columns.name = "scenario"
    return out


def mpc_sensitivity(
    survey: Survey,
    policy: Policy,
    existing: str,
    mpcs: Sequence[float] = (0.0, 0.25, 1.0),
    floor: float | None = None,
    **simulate_kwargs,
) -> pd.DataFrame:
    """Re-run a simulation at several marginal propensities to consume (Kyrgyz 2011 annex).

    The pre-transfer welfare, hence quintiles, poverty status and the poverty before the
    reform, change with mpc (mpc = 1: no compensation; 0: full compensation), and so does
    the reform's effect on welfare: the same mpc applies to its benefit (mpc = 0: no
    poverty change). Returns one
    column per mpc with the poorest quintile's coverage and benefit share, targeting
    metrics, budget and poverty before/after with paired s.e.
    """
    cols = {}
    for m in mpcs:
        res = simulate(survey, policy, existing=existing, mpc=m, floor=floor, **simulate_kwargs)
        d = _indicators(res)
        q = res.tables.get("quintiles")
        if q is not None:
            d["Q1_coverage"] = q.loc[1, "coverage"]
            d["Q1_benefits_share"] = q.loc[1, "benefits_share"]
        d["n_floored"] = res.assumptions["n_floored"]
        cols[f"mpc={m:g}"] = d
    out = pd.DataFrame(cols)
    out.index.name = "indicator"
    out.columns.name = "scenario"
    return out


def _with_columns(survey: Survey, extra: Mapping[str, np.ndarray]) -> Survey:
    data = survey.data.copy()
    for k, v in extra.items():
        data[k] = v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lonely-PSU warnings were given for the original
        return Survey(data, survey.weight, survey.size, survey.strata, survey.psu, survey.lonely_psu)


def _sum_columns(survey: Survey, cols, role: str) -> np.ndarray:
    cols = [cols] if isinstance(cols, str) else list(cols)
    missing = [c for c in cols if c not in survey.data.columns]
    if missing:
        raise PolicyError(
            f"{role} column(s) {missing} are not in the survey data: pass the right names "
            f"(e.g. {role}=...) or None to skip this transfer."
        )
    # a column name or a non-empty list of them: the sum is an array
    return cast(np.ndarray, sum(survey.column(c) for c in cols))


def budget_neutral_comparison(
    survey: Survey,
    scores: Mapping[str, str] | Sequence[str],
    welfare: str = "pcc",
    line="poverty_line",
    budget: float | None = None,
    pmt_benefit: str = "topup",
    children=("n_children_0_5", "n_children_6_17"),
    child_cap: int = 3,
    elderly: str | None = "n_elderly",
    disabled: str | None = "n_disabled",
    female_head: str | None = "female_head",
    measures: Sequence[str] = ("FGT0", "FGT1", "Watts"),
    **simulate_kwargs,
) -> pd.DataFrame:
    """Spend one budget through PMTs, a universal transfer and categorical transfers.

    Parameters
    ----------
    survey : pmt.Survey
    scores : mapping name -> column, or list of columns
        PMT scores as **predicted welfare per member in levels**, in the units of the line
        (e.g. ``exp`` of a log-consumption prediction with its retransformation).
    welfare : str
        True welfare per member (pre-transfer).
    line : float, str or mapping
        Poverty line: a number, a column, or ``{"column": c}`` / ``{"by": "region",
        "values": {...}}`` as in :func:`pmt.simulate.simulate`.
    budget : float, optional
        Budget per period of welfare (the schemes are paid every period); default the
        aggregate poverty gap sum_h w_h n_h max(z - y_h, 0), which eliminates poverty
        under perfect targeting (with mpc = 1: an ``mpc`` below 1 in ``simulate_kwargs``
        scales every scheme's effect on welfare alike).
    pmt_benefit : {"topup", "flat"}
        ``"topup"``: each household with score below a cut-off t gets n x (t - score),
        t solved to spend the budget (filling the predicted gap); ``"flat"``: the
        households with the lowest scores, as many people as the poverty rate ("rate"
        classification), get an equal amount per member solved to spend the budget.
    children : str or list of str
        Column(s) counting children (summed) for the per-child transfer, capped at
        ``child_cap`` children; None skips it.
    elderly, disabled : str or None
        Columns counting elderly / disabled members (per-member transfers).
    female_head : str or None
        0/1 column: flat transfer to female-headed households with children.
    measures : poverty measures to report.
    **simulate_kwargs
        Passed to :func:`simulate` (existing, mpc, floor...). Defaults: no existing benefits.

    Returns
    -------
    pandas.DataFrame
        One row per scheme (plus "No transfer" and "Perfect targeting"): ``amount``
        (the solved unit amount or cut-off), ``budget_monthly``, ``coverage``
        (population share of beneficiaries), the poverty measures after transfer, their
        change from no transfer with paired s.e.
    """
    if not isinstance(survey, Survey):
        raise PolicyError("`survey` must be a pmt.Survey.")
    if pmt_benefit not in ("topup", "flat"):
        raise PolicyError(f"`pmt_benefit` must be 'topup' or 'flat'; got {pmt_benefit!r}.")
    if isinstance(scores, Mapping):
        score_items = list(scores.items())
    else:
        score_items = [(s, s) for s in scores]
    for _, col in score_items:
        if col not in survey.data.columns:
            raise PolicyError(f"score column '{col}' is not in the survey data.")
    if welfare not in survey.data.columns:
        raise PolicyError(f"welfare column '{welfare}' is not in the survey data.")
    y = survey.column(welfare)
    n, v = survey.household_size, survey.person_weight
    z = _line_values(survey, line)[0]
    if budget is None:
        budget = money_gap(y, z, v)  # sum_h w_h n_h (z - y_h)+: fills every gap exactly
    if not budget > 0:
        raise PolicyError(f"`budget` must be positive; got {budget!r}.")
    kwargs = dict(welfare=welfare, line=line, measures=tuple(measures), groups=())
    kwargs.update(simulate_kwargs)

    extra: dict[str, np.ndarray] = {"_true_total": y * n}
    for _, col in score_items:
        s = survey.column(col)
        med_s, med_y = weighted_quantile(s, v, 0.5), weighted_quantile(y, v, 0.5)
        if not (med_s > 0 and 0.05 < med_s / med_y < 20):
            raise PolicyError(
                f"score '{col}' (median {med_s:,.4g}) is not on the scale of welfare "
                f"'{welfare}' (median {med_y:,.4g}): pass predicted welfare per member in "
                "levels (e.g. model.predict(df, scale='level'))."
            )
        extra[f"_score_total_{col}"] = s * n
    if children is not None:
        extra["_children"] = _sum_columns(survey, children, "children")
    sv = _with_columns(survey, extra)

    schemes: list[tuple[str, Policy, str]] = []
    perfect = Policy(
        benefit=TopUp("t", "_true_total"),
        eligibility=ScoreTest("t", score=welfare),
        parameters={"t": float(np.max(z))},
        name="Perfect targeting",
    )
    schemes.append(("Perfect targeting", perfect, "threshold"))
    pov_rate = float(np.sum(v * (y < z)) / v.sum())
    for name, col in score_items:
        if pmt_benefit == "topup":
            pol = Policy(
                benefit=TopUp("t", f"_score_total_{col}"),
                eligibility=ScoreTest("t", score=col),
                parameters={"t": float(np.median(z))},
                name=f"PMT: {name}",
            )
            schemes.append((pol.name, pol, "threshold"))
        else:
            cut = weighted_quantile(survey.column(col), v, pov_rate)
            pol = Policy(
                benefit=PerMember(1.0),
                eligibility=ScoreTest(cut, score=col, inclusive=True),
                name=f"PMT: {name}",
            )
            schemes.append((pol.name, pol, "amount"))
    schemes.append(("Universal (per person)", Policy(benefit=PerMember(1.0), name="Universal"),
                    "amount"))
    if children is not None:
        schemes.append((
            f"Per child (up to {child_cap})",
            Policy(benefit=PerMember(1.0, "_children", cap=child_cap),
                   eligibility=Condition("_children", ">", 0), name="Per child"),
            "amount",
        ))
    if elderly is not None:
        schemes.append(("Per elderly member", Policy(
            benefit=PerMember(1.0, elderly), eligibility=Condition(elderly, ">", 0),
            name="Elderly"), "amount"))
    if disabled is not None:
        schemes.append(("Per disabled member", Policy(
            benefit=PerMember(1.0, disabled), eligibility=Condition(disabled, ">", 0),
            name="Disabled"), "amount"))
    if female_head is not None:
        if children is None:
            raise PolicyError("the female-head transfer targets heads with children: give `children`.")
        schemes.append(("Female head with children", Policy(
            benefit=Flat(1.0),
            eligibility=Condition(female_head, "==", 1) & Condition("_children", ">", 0),
            name="Female head with children"), "amount"))

    rows: list[dict[str, Any]] = []
    for label, pol, how in schemes:
        if how == "threshold":
            sol = solve_threshold(sv, pol, "t", budget=budget)
            pol = pol.with_parameters(t=sol.value)
            amount = sol.value
        else:
            pol = solve_amount(sv, pol, budget)
            amount = pol.extra["solved_amount"]
        res = simulate(sv, pol, **kwargs)
        if not rows:
            rows.append({"scheme": "No transfer", "amount": 0.0, "budget_monthly": 0.0,
                         "coverage": 0.0,
                         **{m: res.poverty.loc[m, "before"] for m in measures}})
        row = {
            "scheme": label,
            "amount": amount,
            "budget_monthly": res.budget["monthly"],
            "coverage": res.counts["beneficiary_share"],
        }
        for m in measures:
            row[m] = res.poverty.loc[m, "after"]
            row[f"{m}_change"] = res.poverty.loc[m, "change"]
            row[f"{m}_change_se"] = res.poverty.loc[m, "se_change"]
        rows.append(row)
    out = pd.DataFrame(rows).set_index("scheme")
    out.attrs["budget"] = float(budget)
    out.attrs["measures"] = list(measures)
    return out


__all__ = [
    "scenario_grid",
    "budget_neutral_comparison",
    "mpc_sensitivity",
    "threshold_parameter",
    "MEASURES",
]
