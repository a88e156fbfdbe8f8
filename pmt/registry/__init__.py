"""A PMT in use on a social registry: drift, explanations and exports.

- :func:`drift` (:mod:`pmt.registry.drift`) compares the proxies, the score and coverage at
  the cut-off between the survey a model was fitted on and the registry it scores (or a
  later survey round);
- :func:`density_test` (:mod:`pmt.registry.manipulation`) tests for bunching of registry
  scores just below the cut-off (Cattaneo, Jansson and Ma's local polynomial density
  test), and :func:`manipulation_summary` shows who sits just below and how much of their
  score comes from answers nobody can verify;
- :func:`explain` (:mod:`pmt.registry.explain`) tells one household its score, each
  proxy's contribution and the smallest single change that would flip its eligibility;
- :func:`export_scorecard` (:mod:`pmt.registry.exports`) writes a scorecard as a documented
  JSON of indicators, answer ranges and points, or as a weight table, for registry systems.
"""

from pmt.registry.drift import (
    PSI_FLOOR,
    PSI_MAJOR,
    PSI_MODERATE,
    STD_DIFF_LIMIT,
    DriftReport,
    drift,
    population_stability_index,
    standardized_difference,
)
from pmt.registry.explain import Explanation, explain, read_record
from pmt.registry.exports import export_document, export_scorecard, weight_table
from pmt.registry.manipulation import (
    DensityTestResult,
    density_test,
    manipulation_summary,
    unverifiable_share,
)

__all__ = [
    "PSI_FLOOR",
    "PSI_MAJOR",
    "PSI_MODERATE",
    "STD_DIFF_LIMIT",
    "DensityTestResult",
    "DriftReport",
    "Explanation",
    "density_test",
    "drift",
    "explain",
    "export_document",
    "export_scorecard",
    "manipulation_summary",
    "population_stability_index",
    "read_record",
    "standardized_difference",
    "unverifiable_share",
    "weight_table",
]
