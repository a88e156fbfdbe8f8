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
    "measures",
}
SURVEY_DEFAULTS = {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"}


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
    survey = _make_survey(data, extra.get("survey"))
    sim = dict(extra.get("simulation") or {})
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
