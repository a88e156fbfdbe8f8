"""pmt: proxy means tests (PMT) and hybrid means tests (HMT) for targeted social assistance.

Fit models of welfare and of hard-to-verify income on household survey data, judge them
by how they rank and classify households, turn the chosen one into a scorecard, score
registries, and simulate the programme. See DESIGN.md for definitions.

Public names are imported lazily (on first use) so that ``import pmt`` and the CLI start
fast; ``dir(pmt)`` lists them all.
"""

from __future__ import annotations

import importlib

from pmt.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    DataSpecError,
    ModelError,
    OptionError,
    PdfError,
    PMTError,
    PolicyError,
    SurveyDesignError,
    WeightError,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    # survey design (pandas is imported on first use, so `import pmt` starts fast)
    "Survey": "pmt.survey",
    "weighted_quantile": "pmt.survey",
    "quantile_groups": "pmt.survey",
    # data
    "datasets": "pmt.datasets",
    "DataSpec": "pmt.spec",
    "read_data": "pmt.io",
    "read_with_spec": "pmt.io",
    "write_data": "pmt.io",
    "draft_spec": "pmt.draft",
    "roster": "pmt.roster",
    # welfare and poverty
    "fgt": "pmt.welfare",
    "watts": "pmt.welfare",
    "per_capita": "pmt.welfare",
    "per_adult_equivalent": "pmt.welfare",
    "household_typology": "pmt.typology",
    "typology_definitions": "pmt.typology",
    "equivalence_scale": "pmt.welfare",
    "deflate": "pmt.welfare",
    "relative_line": "pmt.welfare",
    "poverty_measures": "pmt.welfare",
    "line_per_adult_equivalent": "pmt.welfare",
    "household_line": "pmt.welfare",
    "subsistence_minimum": "pmt.welfare",
    # inequality and progressivity
    "inequality": "pmt.inequality",
    "gini": "pmt.inequality",
    "inequality_measures": "pmt.inequality",
    "concentration_index": "pmt.inequality",
    "concentration_curve": "pmt.inequality",
    # models
    "ols": "pmt.models.ols",
    "truncated_ols": "pmt.models.ols",
    "quantreg": "pmt.models.quantile",
    "probit": "pmt.models.binary",
    "logit": "pmt.models.binary",
    "heckman": "pmt.models.heckman",
    "stepwise": "pmt.models.variable_selection",
    "lasso_select": "pmt.models.variable_selection",
    "gradient_boosting": "pmt.models.ml",
    "random_forest": "pmt.models.ml",
    "SklearnModel": "pmt.models.ml",
    "PMTGradientBoosting": "pmt.models.ml",
    "PMTRandomForest": "pmt.models.ml",
    "regression_table": "pmt.models.regression_table",
    "QuantRegResult": "pmt.models.quantile",
    "check_signs": "pmt.models.signs",
    # hybrid means test
    "HybridMeansTest": "pmt.hmt",
    "simulate_underreporting": "pmt.hmt",
    # evaluation
    "targeting_metrics": "pmt.evaluate",
    "decile_overlap": "pmt.evaluate",
    "overlap_shares": "pmt.evaluate",
    "classify_poor": "pmt.evaluate",
    "select_by": "pmt.evaluate",
    "error_curve": "pmt.evaluate",
    "group_table": "pmt.evaluate",
    "subgroup_metrics": "pmt.evaluate",
    "bootstrap_metrics": "pmt.evaluate",
    "cross_validate": "pmt.evaluate",
    "compare": "pmt.evaluate",
    "cross_fit": "pmt.evaluate",
    "welfare_comparison": "pmt.evaluate",
    "roc_auc": "pmt.evaluate",
    "best_cutoff": "pmt.evaluate",
    "bootstrap_group_table": "pmt.evaluate",
    "bootstrap_targeting": "pmt.evaluate",
    "bootstrap_overlap": "pmt.evaluate",
    "psu_folds": "pmt.evaluate",
    "sklearn_fit": "pmt.evaluate",
    "prediction_validation": "pmt.evaluate",
    "inspection_table": "pmt.evaluate",
    "inspection_rule": "pmt.evaluate",
    "group_differences": "pmt.evaluate",
    "rao_scott_test": "pmt.evaluate",
    "flag_significance": "pmt.evaluate",
    "parity_table": "pmt.evaluate",
    "decay_table": "pmt.evaluate",
    "poverty_likelihood": "pmt.evaluate",
    "likelihood_accuracy": "pmt.evaluate",
    # artifacts and scorecards
    "save_model": "pmt.artifacts",
    "load_model": "pmt.artifacts",
    "Scorecard": "pmt.scorecard",
    "score_file": "pmt.registry_scoring",
    "drift": "pmt.registry.drift",
    "explain": "pmt.registry.explain",
    "density_test": "pmt.registry.manipulation",
    "manipulation_summary": "pmt.registry.manipulation",
    "export_scorecard": "pmt.registry.exports",
    # simulation
    "simulate": "pmt.simulate",
    "Policy": "pmt.simulate",
    "TakeUp": "pmt.simulate",
    "run_policy_file": "pmt.simulate",
    "scenario_grid": "pmt.simulate",
    "budget_neutral_comparison": "pmt.simulate",
    "mpc_sensitivity": "pmt.simulate",
    "solve_threshold": "pmt.simulate",
    "solve_amount": "pmt.simulate",
    "budget_neutral_amount": "pmt.simulate",
    "implied_budget": "pmt.simulate",
    "pre_transfer_welfare": "pmt.simulate",
    "IncomeTest": "pmt.simulate.income_test",
    "compare_methods": "pmt.simulate.methods",
}

__all__ = [
    "__version__",
    "PMTError",
    "ConfigError",
    "PdfError",
    "DataSpecError",
    "DataError",
    "SurveyDesignError",
    "WeightError",
    "ModelError",
    "ArtifactError",
    "PolicyError",
    "OptionError",
    *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pmt' has no attribute {name!r}")
    mod = importlib.import_module(module)
    # a subpackage named like the attribute is the subpackage (pmt.simulate is callable)
    value = mod if module == f"pmt.{name}" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
