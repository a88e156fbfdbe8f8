"""Targeting evaluation: metrics, classification rules, decile overlap, group tables,
error trade-off curves, subgroups, design-based bootstrap and out-of-sample validation.

Definitions follow DESIGN.md section 4.
"""

from pmt.evaluate.classify import classify_poor, select_by
from pmt.evaluate.metrics import BENEFIT_METRICS, METRICS, targeting_metrics
from pmt.evaluate.overlap import decile_overlap, overlap_shares

__all__ = [
    "BENEFIT_METRICS",
    "METRICS",
    "classify_poor",
    "decile_overlap",
    "overlap_shares",
    "select_by",
    "targeting_metrics",
]
