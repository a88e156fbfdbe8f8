"""Policy simulation: eligibility rules, benefit formulas, take-up, payment periods and
duration limits, budget solvers, poverty impact with paired standard errors, winners and
losers, eligibility repeated over periods, scenario grids and budget-neutral
comparisons; the administrative income test (:class:`IncomeTest`) and the four-method
comparison of targeting methods (:func:`compare_methods`, Belarus 2011 Table 13).

``pmt.simulate`` is both this package and, through ``pmt.simulate(...)``-style use of
:func:`simulate`, the main entry point::

    from pmt.simulate import Policy, simulate
    pol = Policy.from_yaml("data_spec/examples/policy_gmi_topup.yaml")
    res = simulate(survey, pol, welfare="pcc", line="poverty_line")
    print(res.summary()); res.tables["quintiles"]
"""

from pmt.simulate.benefits import (
    Benefit,
    Equivalised,
    Flat,
    PerMember,
    Sum,
    Tiers,
    TopUp,
    benefit_from_dict,
)
from pmt.simulate.impact import incidence_table, paired_change
from pmt.simulate.income_test import IncomeTest
from pmt.simulate.methods import budget_threshold, compare_methods, gap_benefit
from pmt.simulate.persons import person_results
from pmt.simulate.policy import Package, Policy, PolicyOutcome
from pmt.simulate.rules import (
    All,
    AnyOf,
    Condition,
    CountAtLeast,
    IncomeThreshold,
    Not,
    PolicyWarning,
    Ration,
    Rule,
    ScoreTest,
    at_least,
    has_any,
    is_true,
    rule_from_dict,
)
from pmt.simulate.run import run_policy_file
from pmt.simulate.scenarios import budget_neutral_comparison, mpc_sensitivity, scenario_grid
from pmt.simulate.simulation import SimulationResult, simulate
from pmt.simulate.solvers import (
    ThresholdSolution,
    budget_neutral_amount,
    implied_budget,
    solve_amount,
    solve_coverage,
    solve_threshold,
)
from pmt.simulate.takeup import TakeUp, pre_transfer_welfare
from pmt.simulate.timing import Schedule, repeated_eligibility
from pmt.simulate.units import FamilyUnits, families_of, with_families

__all__ = [
    "All",
    "AnyOf",
    "Benefit",
    "Condition",
    "CountAtLeast",
    "Equivalised",
    "FamilyUnits",
    "Flat",
    "IncomeTest",
    "IncomeThreshold",
    "Not",
    "Package",
    "PerMember",
    "Policy",
    "PolicyOutcome",
    "PolicyWarning",
    "Ration",
    "Rule",
    "Schedule",
    "ScoreTest",
    "SimulationResult",
    "Sum",
    "TakeUp",
    "ThresholdSolution",
    "Tiers",
    "TopUp",
    "at_least",
    "benefit_from_dict",
    "budget_neutral_amount",
    "budget_neutral_comparison",
    "budget_threshold",
    "compare_methods",
    "families_of",
    "gap_benefit",
    "has_any",
    "implied_budget",
    "incidence_table",
    "is_true",
    "mpc_sensitivity",
    "paired_change",
    "person_results",
    "pre_transfer_welfare",
    "repeated_eligibility",
    "rule_from_dict",
    "run_policy_file",
    "scenario_grid",
    "simulate",
    "solve_amount",
    "solve_coverage",
    "solve_threshold",
    "with_families",
]


# ``pmt.simulate`` is this package (importing it binds the name on ``pmt``), yet the public
# API calls it: ``pmt.simulate(survey, policy, ...)``. Make the module callable so both work.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs) -> SimulationResult:
        return simulate(*args, **kwargs)

    __call__.__doc__ = simulate.__doc__


_sys.modules[__name__].__class__ = _CallableModule
