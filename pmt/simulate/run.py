"""Run a policy file: read the policy, load its data, simulate (and solve, and grid).

``run_policy_file(path)`` is what ``pmt simulate policy.yaml`` calls. The file format is
documented in ``data_spec/policy.md``; the sections used here are ``data`` (where the
households come from), ``survey`` (design columns) and ``simulation`` (arguments of
:func:`pmt.simulate.simulate`, plus optional ``solve`` and ``scenarios``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pmt.errors import PolicyError
from pmt.simulate.policy import Policy
from pmt.simulate.scenarios import scenario_grid
from pmt.simulate.simulation import SimulationResult, simulate
from pmt.simulate.solvers import solve_threshold
from pmt.survey import Survey

SIMULATE_KEYS = {
    "welfare", "line", "existing", "mpc", "floor", "replace_existing", "gdp", "groups",
    "measures", "welfare_is_pre_transfer", "intervals",
}
SURVEY_DEFAULTS = {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"}


NUMERIC_KEYS = ("mpc", "floor", "gdp", "budget", "coverage", "line")


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
    unknown = set(spec) - {"source", "path", "n_households", "n", "seed"}
    if unknown:
        raise PolicyError(
            f"unknown `data` key(s) {sorted(unknown)}; use source/n_households/seed or path."
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

        return read_data(p)
    raise PolicyError("`data` needs `source: synthetic` or a `path`.")


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
        if "formula" in entry:
            from pmt.models.ols import ols

            model = ols(entry["formula"], survey.data, weights=survey.household_weight,
                        cluster=survey.psu_codes)
        else:
            from pmt.artifacts import load_model

            model = load_model(entry["model"])
        data[col] = model.predict(survey.data, scale=scale).to_numpy()
    return Survey(data, survey.weight, survey.size, survey.strata, survey.psu, survey.lonely_psu)


def run_policy_file(path, data=None) -> SimulationResult:
    """Simulate the policy described by a YAML file.

    Parameters
    ----------
    path : str or pathlib.Path
        Policy file (``data_spec/policy.md``).
    data : pandas.DataFrame, pmt.Survey or path, optional
        Households to use instead of the file's ``data`` section.

    Returns
    -------
    SimulationResult
        With ``tables["threshold_solution"]`` when the file asks to ``solve`` a threshold
        and ``tables["scenario_grid"]`` when it lists ``scenarios``.
    """
    policy = Policy.from_yaml(path)
    base_dir = Path(path).resolve().parent
    extra = policy.extra
    if data is None:
        data = _load_data(extra.get("data"), base_dir)
    elif isinstance(data, (str, Path)):
        data = _load_data({"path": str(data)}, Path.cwd())
    survey = add_scores(_make_survey(data, extra.get("survey")), extra.get("scores"))
    sim = _numbers(extra.get("simulation") or {}, "simulation")
    solve = sim.pop("solve", None)
    grid = sim.pop("scenarios", None)
    unknown = set(sim) - SIMULATE_KEYS
    if unknown:
        raise PolicyError(
            f"unknown `simulation` key(s) {sorted(unknown)}; allowed: "
            f"{sorted(SIMULATE_KEYS | {'solve', 'scenarios'})}."
        )
    solution = None
    if solve is not None:
        if not isinstance(solve, Mapping) or "parameter" not in solve:
            raise PolicyError(
                "`simulation.solve` needs `parameter` and one of `budget` (monthly) or "
                "`coverage` (a population share)."
            )
        solve = _numbers(solve, "simulation.solve")
        solution = solve_threshold(
            survey, policy, solve["parameter"], budget=solve.get("budget"),
            coverage=solve.get("coverage"),
        )
        policy = policy.with_parameters(**{solution.parameter: solution.value})
    result = simulate(survey, policy, **sim)
    if solution is not None:
        result.tables["threshold_solution"] = pd.Series(
            {
                "parameter": solution.parameter,
                "value": solution.value,
                "target": f"{solution.target_kind} {solution.target:,.6g}",
                "budget": solution.budget,
                "coverage": solution.coverage,
                "shortfall": solution.shortfall,
            },
            name="value",
        ).to_frame()
    if grid is not None:
        if not isinstance(grid, Mapping) or {"parameter", "values"} - set(grid):
            raise PolicyError("`simulation.scenarios` needs `parameter` and a list of `values`.")
        result.tables["scenario_grid"] = scenario_grid(
            survey, policy, parameter=grid["parameter"], values=list(grid["values"]), **sim
        )
    return result
