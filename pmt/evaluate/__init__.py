"""Targeting evaluation: metrics, classification rules, decile overlap, group tables,
error trade-off curves, subgroups, design-based bootstrap and out-of-sample validation.

Definitions follow DESIGN.md section 4.
"""

from pmt.evaluate.bootstrap import bootstrap_group_table, bootstrap_metrics
from pmt.evaluate.bootstrap_cutoffs import bootstrap_overlap, bootstrap_targeting
from pmt.evaluate.classify import classify_poor, select_by
from pmt.evaluate.curves import best_cutoff, error_curve, roc_auc
from pmt.evaluate.methods import (
    budget_threshold,
    compare_methods,
    gap_benefit,
    inspection_rule,
    inspection_table,
    prediction_validation,
)
from pmt.evaluate.metrics import BENEFIT_METRICS, METRICS, targeting_metrics
from pmt.evaluate.overlap import decile_overlap, overlap_shares
from pmt.evaluate.subgroups import subgroup_metrics
from pmt.evaluate.tables import group_table
from pmt.evaluate.validation import (
    compare,
    cross_fit,
    cross_validate,
    psu_folds,
    sklearn_fit,
)

__all__ = [
    "BENEFIT_METRICS",
    "METRICS",
    "best_cutoff",
    "bootstrap_group_table",
    "bootstrap_metrics",
    "bootstrap_overlap",
    "bootstrap_targeting",
    "budget_threshold",
    "classify_poor",
    "compare",
    "compare_methods",
    "cross_fit",
    "cross_validate",
    "decile_overlap",
    "error_curve",
    "gap_benefit",
    "group_table",
    "inspection_rule",
    "inspection_table",
    "overlap_shares",
    "prediction_validation",
    "psu_folds",
    "roc_auc",
    "select_by",
    "sklearn_fit",
    "subgroup_metrics",
    "targeting_metrics",
]
