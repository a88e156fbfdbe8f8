"""Run a policy file: read the policy, load its data, simulate (and solve, and grid).

``run_policy_file(path)`` is what ``pmt simulate policy.yaml`` calls. The file format is
documented in ``data_spec/policy.md``; the sections used here are ``data`` (where the
households come from), ``survey`` (design columns) and ``simulation`` (arguments of
:func:`pmt.simulate.simulate`, plus optional ``solve``, ``scenarios`` and
``repeated_eligibility``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pmt.errors import PolicyError
from pmt.simulate.policy import Policy
from pmt.simulate.scenarios import scenario_grid
from pmt.simulate.simulation import SimulationResult, simulate
from pmt.simulate.solvers import (
    parameter_roles,
    solve_amount,
    solve_coverage,
    solve_threshold,
)
from pmt.simulate.timing import repeated_eligibility
from pmt.simulate.units import FamilyUnits, families_of, with_families
from pmt.survey import Survey

if TYPE_CHECKING:
    from pmt.models.base import ModelResult
    from pmt.models.ols import GroupedOLSResult

SIMULATE_KEYS = {
    "welfare", "line", "existing", "mpc", "floor", "replace_existing", "gdp", "groups",
    "measures", "welfare_is_pre_transfer", "intervals", "welfare_period",
}
ACTIONS = ("solve", "scenarios", "repeated_eligibility")
SOLVE_KEYS = {"parameter", "kind", "budget", "annual_budget", "coverage"}
SOLVE_KINDS = ("threshold", "amount", "coverage")
SURVEY_DEFAULTS = {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"}


NUMERIC_KEYS = ("mpc", "floor", "gdp", "budget", "annual_budget", "coverage", "line")


def _numbers(d: Mapping, where: str) -> dict:
    """Convert numeric fields given as strings (YAML reads 1.0e11 as a string) to floats."""
    out = dict(d)
    for k in NUMERIC_KEYS:
        v = out.get(k)
        if not isinstance(v, str):
            continue
        try:
            out[k] = float(v)
        except ValueError:
            if k != "line":  # a line that is not a number is a column name
                raise PolicyError(f"`{where}.{k}` must be a number; got {v!r}.") from None
    return out


def _load_data(spec, base_dir: Path) -> pd.DataFrame:
    if spec is None:
        raise PolicyError(
            "the policy file has no `data` section: add `data: {source: synthetic, "
            "n_households: 5000, seed: 0}` or `data: {path: households.csv}`, or pass data."
        )
    if isinstance(spec, str):
        spec = {"source": "synthetic"} if spec == "synthetic" else {"path": spec}
    if not isinstance(spec, Mapping):
        raise PolicyError(f"`data` must be 'synthetic', a path or a mapping; got {spec!r}.")
    unknown = set(spec) - {"source", "path", "spec", "n_households", "n", "seed"}
    if unknown:
        raise PolicyError(
            f"unknown `data` key(s) {sorted(unknown)}; use source/n_households/seed, or path "
            "(and spec)."
        )
    if spec.get("source") == "synthetic":
        from pmt.datasets import synthetic_hbs

        n = int(spec.get("n_households", spec.get("n", 20_000)))
        return synthetic_hbs(n_households=n, seed=int(spec.get("seed", 0)))
    if "path" in spec:
        p = Path(spec["path"])
        if not p.is_absolute():
            p = base_dir / p
        from pmt.io import read_data

        if spec.get("spec"):
            data_spec = Path(spec["spec"])
            return read_data(p, spec=data_spec if data_spec.is_absolute()
                             else base_dir / data_spec)
        # rules compare numbers: value-labelled Stata/SPSS columns keep their codes
        return read_data(p, value_labels="codes")
    raise PolicyError("`data` needs `source: synthetic` or a `path`.")


def _with_file_families(survey: Survey, section, base_dir: Path) -> Survey:
    """A policy file's ``roster`` section: read its person file, rebuild the nuclear
    families and let the survey carry them (for ``unit: family``).

    ``roster: {data: {source: synthetic} | {path: persons.csv}, spec: persons.yaml,
    household_key: hh_id, families: {codes: ..., spouse: ..., columns: {...}}}``; ``spec``
    defaults to the embedded roster's spec and ``household_key`` (the household file's id
    column) to the roster's household id column name.
    """
    from pmt.roster import link_roster, read_roster, rebuild_families, roster_spec_path

    if not isinstance(section, Mapping) or not isinstance(section.get("families"), Mapping):
        raise PolicyError(
            "`roster` needs `data` (the person file, or {source: synthetic}) and `families` "
            "(the rules of pmt.roster.families and the family `columns`)."
        )
    unknown = set(section) - {"data", "spec", "household_key", "families"}
    if unknown:
        raise PolicyError(f"unknown `roster` key(s) {sorted(unknown)}; allowed: data, spec, "
                          "household_key, families.")
    src = section.get("data") or {}
    if isinstance(src, str):
        src = {"source": "synthetic"} if src == "synthetic" else {"path": src}
    spec = section.get("spec")
    spec_path = roster_spec_path() if spec is None else (
        Path(spec) if Path(spec).is_absolute() else base_dir / spec)
    if src.get("source") == "synthetic":
        from pmt.datasets import synthetic_roster

        roster = read_roster(synthetic_roster(survey.data), spec_path, extra="ignore")
    elif "path" in src:
        path = Path(src["path"])
        roster = read_roster(path if path.is_absolute() else base_dir / path, spec_path)
    else:
        raise PolicyError("`roster.data` needs `source: synthetic` or a `path`.")
    roles = roster.attrs["roster"]
    key = section.get("household_key") or roles["household"]
    if key not in survey.data.columns:
        raise PolicyError(
            f"`roster`: the household data has no column '{key}' to match the roster's "
            f"household id '{roles['household']}'; name it with `roster.household_key`."
        )
    if key != roles["household"]:
        roster = roster.rename(columns={roles["household"]: key})
    link_roster(roster, survey.data, household=key, person=roles["person"])
    _, table, _ = rebuild_families(roster, section["families"], household=key,
                                   person=roles["person"], where="roster.families")
    units = FamilyUnits.build(survey.data, table, household=key)
    return with_families(survey, units)


def _make_survey(data, design: Mapping | None) -> Survey:
    if isinstance(data, Survey):
        return data
    if not isinstance(data, pd.DataFrame):
        raise PolicyError("`data` must be a pandas DataFrame, a pmt.Survey or a file path.")
    design = dict(SURVEY_DEFAULTS if design is None else design)
    unknown = set(design) - {"weight", "size", "strata", "psu", "lonely_psu"}
    if unknown:
        raise PolicyError(f"unknown `survey` key(s) {sorted(unknown)}.")
    return Survey(data, **design)


def add_scores(survey: Survey, spec: Mapping | None) -> Survey:
    """Add PMT score columns named in a policy file's ``scores`` section.

    Each entry ``column: {formula: "log_pcc ~ ...", scale: model|level}`` fits a
    survey-weighted OLS (:func:`pmt.ols`, PSU-clustered) on the survey and stores its
    prediction (in-sample: for a real programme, fit on another sample and give the saved
    model instead); ``column: {model: path, scale: ...}`` predicts with a saved model
    (:func:`pmt.artifacts.load_model`).
    """
    if not spec:
        return survey
    if not isinstance(spec, Mapping):
        raise PolicyError("`scores` must map a new column name to {formula: ...} or {model: ...}.")
    data = survey.data.copy()
    for col, entry in spec.items():
        if not isinstance(entry, Mapping) or len({"formula", "model"} & set(entry)) != 1:
            raise PolicyError(
                f"scores['{col}'] needs exactly one of `formula` (fit OLS) or `model` (a path)."
            )
        unknown = set(entry) - {"formula", "model", "scale"}
        if unknown:
            raise PolicyError(f"scores['{col}']: unknown key(s) {sorted(unknown)}.")
        scale = entry.get("scale", "model")
        model: ModelResult | GroupedOLSResult
        if "formula" in entry:
            from pmt.models.ols import ols

            model = ols(entry["formula"], survey.data, weights=survey.household_weight,
                        cluster=survey.psu_codes)
        else:
            from pmt.artifacts import load_model

            model = load_model(entry["model"])
        data[col] = model.predict(survey.data, scale=scale).to_numpy()
    out = Survey(data, survey.weight, survey.size, survey.strata, survey.psu, survey.lonely_psu)
    families = families_of(survey)
    # families carry their household's columns: give them the new scores too
    return out if families is None else with_families(out, families.with_households(data))


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.6g}"


def _solve_kind(policy: Policy, parameter: str, kind) -> str:
    if kind is not None:
        if kind not in SOLVE_KINDS:
            raise PolicyError(
                f"`simulation.solve.kind` must be one of {', '.join(SOLVE_KINDS)}; got {kind!r}."
            )
        return kind
    if parameter not in policy.parameters:
        raise PolicyError(
            f"`simulation.solve.parameter` '{parameter}' is not a parameter of the policy "
            f"(defined: {', '.join(policy.parameters) or 'none'}): add it under `parameters`."
        )
    roles = parameter_roles(policy, parameter)
    if not roles:
        raise PolicyError(
            f"parameter '{parameter}' is neither a threshold, a benefit amount nor a ration "
            "coverage of the policy: nothing to solve."
        )
    if len(roles) > 1:
        raise PolicyError(
            f"parameter '{parameter}' is used as {' and '.join(sorted(roles))}: say which to "
            "solve with `kind: threshold | amount | coverage`."
        )
    return roles.pop()


def solve_from_spec(survey: Survey, policy: Policy, spec) -> tuple[Policy, str, pd.DataFrame, str]:
    """Apply a policy file's ``simulation.solve`` section.

    Returns the solved policy, the name of its result table (``threshold_solution``,
    ``amount_solution`` or ``coverage_solution``), the table and a one-line description
    of the solution.
    """
    if not isinstance(spec, Mapping) or "parameter" not in spec:
        raise PolicyError(
            "`simulation.solve` needs `parameter` and one of `budget` (per period of the "
            "policy), `annual_budget` or `coverage` (a population share)."
        )
    unknown = set(spec) - SOLVE_KEYS
    if unknown:
        raise PolicyError(
            f"unknown `simulation.solve` key(s) {sorted(unknown)}; allowed: {sorted(SOLVE_KEYS)}."
        )
    spec = _numbers(spec, "simulation.solve")
    targets = [k for k in ("budget", "annual_budget", "coverage") if spec.get(k) is not None]
    if len(targets) != 1:
        raise PolicyError(
            "`simulation.solve` needs exactly one of `budget` (per period of the policy), "
            f"`annual_budget` or `coverage`; got {targets or 'none'}."
        )
    parameter = str(spec["parameter"])
    kind = _solve_kind(policy, parameter, spec.get("kind"))
    payments = policy.payments_per_year
    budget = coverage = None
    if targets[0] == "annual_budget":
        annual = spec["annual_budget"]
        if isinstance(annual, bool) or not (isinstance(annual, (int, float)) and annual > 0):
            raise PolicyError(f"`simulation.solve.annual_budget` must be positive; got {annual!r}.")
        budget = float(annual) / payments
    elif targets[0] == "budget":
        budget = spec["budget"]
    else:
        coverage = spec["coverage"]
    if coverage is not None and kind != "threshold":
        what = "an amount does not change who is covered" if kind == "amount" else (
            "a ration reaches a coverage target by definition (set the parameter to it)"
        )
        raise PolicyError(
            f"`simulation.solve`: a coverage target needs a threshold to move; {what}. "
            "Give a `budget` or `annual_budget` instead."
        )
    cur = f" {policy.currency}" if policy.currency else ""
    per = policy.period
    if budget is not None:
        goal = f"spends {_money(budget)}{cur} per {per}"
        if targets[0] == "annual_budget":
            goal = (f"spends {_money(spec['annual_budget'])}{cur} a year ({payments:g} "
                    f"payments of {_money(budget)}{cur})")
    else:
        goal = f"covers {coverage:.4g} of the population"
    if kind == "amount":
        assert budget is not None  # a coverage target needs kind "threshold" (raised above)
        solved = solve_amount(survey, policy, budget, parameter=parameter)
        value = solved.parameters[parameter]
        spent = solved.budget(survey)
        row = {"parameter": parameter, "kind": kind, "value": value, "target": goal,
               "budget": spent, "annual_budget": spent * payments, "shortfall": budget - spent}
    else:
        if kind == "coverage":
            assert budget is not None  # a coverage target needs kind "threshold" (raised above)
            sol = solve_coverage(survey, policy, parameter, budget=budget)
        else:
            sol = solve_threshold(survey, policy, parameter, budget=budget, coverage=coverage)
        solved = policy.with_parameters(**{sol.parameter: sol.value})
        value = sol.value
        row = {"parameter": parameter, "kind": kind, "value": value, "target": goal,
               "budget": sol.budget, "annual_budget": sol.budget * payments,
               "coverage": sol.coverage, "shortfall": sol.shortfall}
    table = pd.Series(row, name="value").to_frame()
    table.index.name = "solution"
    achieved = (f"covers {row['coverage']:.4g}" if coverage is not None
                else f"shortfall {row['shortfall']:,.3g}{cur}")
    note = (f"{parameter} = {value:,.6g}, the {kind} that {goal}; it spends "
            f"{_money(row['budget'])}{cur} per {per}, {achieved}")
    return solved, f"{kind}_solution", table, note


def run_policy_file(path, data=None) -> SimulationResult:
    """Simulate the policy described by a YAML file.

    Parameters
    ----------
    path : str or pathlib.Path
        Policy file (``data_spec/policy.md``).
    data : pandas.DataFrame, pmt.Survey or path, optional
        Households to use instead of the file's ``data`` section. A survey carrying
        families (:func:`pmt.simulate.units.with_families`) keeps them; otherwise the
        file's ``roster`` section, if any, rebuilds them from its person file.

    Returns
    -------
    SimulationResult
        With ``tables["threshold_solution"]``, ``["amount_solution"]`` or
        ``["coverage_solution"]`` when the file asks to ``solve`` a parameter (the solved
        value is also printed by ``summary()``), ``tables["scenario_grid"]`` when it lists
        ``scenarios`` and ``tables["repeated_eligibility"]`` for eligibility over periods.
    """
    policy = Policy.from_yaml(path)
    base_dir = Path(path).resolve().parent
    extra = policy.extra
    if data is None:
        data = _load_data(extra.get("data"), base_dir)
    elif isinstance(data, (str, Path)):
        data = _load_data({"path": str(data)}, Path.cwd())
    survey = _make_survey(data, extra.get("survey"))
    if extra.get("roster") is not None and families_of(survey) is None:
        # households given without families: the file's person roster gives them
        survey = _with_file_families(survey, extra["roster"], base_dir)
    survey = add_scores(survey, extra.get("scores"))
    sim = _numbers(extra.get("simulation") or {}, "simulation")
    actions = {k: sim.pop(k, None) for k in ACTIONS}
    unknown = set(sim) - SIMULATE_KEYS
    if unknown:
        raise PolicyError(
            f"unknown `simulation` key(s) {sorted(unknown)}; allowed: "
            f"{sorted(SIMULATE_KEYS | set(ACTIONS))}."
        )
    solved = None
    if actions["solve"] is not None:
        policy, table_name, table, note = solve_from_spec(survey, policy, actions["solve"])
        solved = (table_name, table, note)
    result = simulate(survey, policy, **sim)
    if solved is not None:
        table_name, table, note = solved
        result.tables[table_name] = table
        result.assumptions["solved"] = note
        result.tables["assumptions"].loc["solved", "value"] = note
    grid = actions["scenarios"]
    if grid is not None:
        if not isinstance(grid, Mapping) or {"parameter", "values"} - set(grid):
            raise PolicyError("`simulation.scenarios` needs `parameter` and a list of `values`.")
        result.tables["scenario_grid"] = scenario_grid(
            survey, policy, parameter=grid["parameter"], values=list(grid["values"]), **sim
        )
    periods = actions["repeated_eligibility"]
    if periods is not None:
        result.tables["repeated_eligibility"] = repeated_eligibility(survey, policy, periods)
    return result
