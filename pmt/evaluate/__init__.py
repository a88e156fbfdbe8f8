"""Targeting evaluation: metrics, classification rules, decile overlap, group tables,
error trade-off curves, subgroups, design-based bootstrap and tests of differences between
groups (paired bootstrap contrasts, Rao-Scott chi-square), out-of-sample validation, and
models judged against baselines by poverty and welfare at the same budget.

Definitions follow DESIGN.md section 4.

The four-method comparison (``compare_methods``, ``budget_threshold``, ``gap_benefit``) is a
simulation and lives in :mod:`pmt.simulate.methods`; ``pmt.evaluate.compare_methods`` still
gives it, with a DeprecationWarning (this package may not import :mod:`pmt.simulate`, so it
is imported on that access only).
"""

from pmt.evaluate import methods as _methods
from pmt.evaluate.baselines import (
    Baseline,
    Categorical,
    Geographic,
    RandomSelection,
    Universal,
    ranked_selection,
)
from pmt.evaluate.bootstrap import bootstrap_group_table, bootstrap_metrics
from pmt.evaluate.bootstrap_cutoffs import bootstrap_overlap, bootstrap_targeting
from pmt.evaluate.classify import classify_poor, select_by
from pmt.evaluate.cross_validation import (
    compare,
    cross_fit,
    cross_validate,
    psu_folds,
    sklearn_fit,
)
from pmt.evaluate.curves import best_cutoff, error_curve, roc_auc
from pmt.evaluate.decay import decay_table
from pmt.evaluate.likelihood import likelihood_accuracy, poverty_likelihood
from pmt.evaluate.methods import inspection_rule, inspection_table, prediction_validation
from pmt.evaluate.metrics import BENEFIT_METRICS, METRICS, targeting_metrics
from pmt.evaluate.overlap import decile_overlap, overlap_shares
from pmt.evaluate.parity import parity_table
from pmt.evaluate.significance import (
    flag_significance,
    group_differences,
    rao_scott_test,
    significance_stars,
)
from pmt.evaluate.subgroups import subgroup_metrics
from pmt.evaluate.tables import group_table
from pmt.evaluate.welfare_impact import MEASURES as WELFARE_MEASURES
from pmt.evaluate.welfare_impact import crra_ede, scheme_transfers, welfare_comparison

__all__ = [
    "BENEFIT_METRICS",
    "METRICS",
    "WELFARE_MEASURES",
    "Baseline",
    "Categorical",
    "Geographic",
    "RandomSelection",
    "Universal",
    "crra_ede",
    "ranked_selection",
    "scheme_transfers",
    "welfare_comparison",
    "best_cutoff",
    "bootstrap_group_table",
    "bootstrap_metrics",
    "bootstrap_overlap",
    "bootstrap_targeting",
    "classify_poor",
    "compare",
    "cross_fit",
    "cross_validate",
    "decay_table",
    "decile_overlap",
    "error_curve",
    "flag_significance",
    "group_differences",
    "group_table",
    "inspection_rule",
    "inspection_table",
    "likelihood_accuracy",
    "overlap_shares",
    "parity_table",
    "poverty_likelihood",
    "prediction_validation",
    "psu_folds",
    "rao_scott_test",
    "roc_auc",
    "select_by",
    "significance_stars",
    "sklearn_fit",
    "subgroup_metrics",
    "targeting_metrics",
]


def __getattr__(name: str):
    """The functions that moved to :mod:`pmt.simulate.methods` (DeprecationWarning)."""
    if name in _methods.MOVED_TO_SIMULATE:
        return _methods.moved_to_simulate(name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
