"""Datasets: the embedded synthetic household budget survey and its true models.

``synthetic_hbs(n_households, seed)`` simulates a Central-Asian household budget survey
(Uzbekistan, 2018 prices) with a stratified two-stage design, so the toolkit runs without
downloads. The models the data were generated from are exported with it:

- :data:`PMT_FORMULA`, :data:`PMT_COEFFICIENTS`: log per-capita consumption on the Uzbek
  PMT proxies (World Bank 2019, Annex A);
- :data:`HTV_SELECTION_FORMULA`, :data:`HTV_OUTCOME_FORMULA`, :data:`HTV_TRUE_PARAMS`: the
  Heckman selection model of hard-to-verify income (shaped on Belarus 2011, Table 11);
- :data:`REGION_LABELS`, :data:`POVERTY_LINE` and :func:`load_calibration` (every
  parameter with its source, from ``calibration.yaml``);
- :func:`calibration_report`: the calibration targets and what a draw achieves.

``synthetic_rounds(n, years, decay=)`` stacks independent rounds whose PMT returns weaken
by a known share a round; ``synthetic_registry(model, n, drift=, bunching=)`` builds a
social registry from the embedded survey with planted drift and bunching below a cut-off.

``synthetic_roster(households, seed)`` draws a person roster (``data_spec/roster.yaml``)
whose household aggregates reproduce a ``synthetic_hbs`` draw exactly.

``vlss_1997()`` loads a real LSMS (Viet Nam 1997-98; needs the ``datasets`` extra).
"""

from pmt.datasets.calibration import (
    HTV_OUTCOME_FORMULA,
    HTV_SELECTION_FORMULA,
    HTV_TRUE_PARAMS,
    PMT_COEFFICIENTS,
    PMT_FORMULA,
    POVERTY_LINE,
    REGION_LABELS,
    load_calibration,
)
from pmt.datasets.synthetic import pmt_linear_predictor, synthetic_hbs
from pmt.datasets.synthetic_registry import synthetic_registry
from pmt.datasets.synthetic_roster import synthetic_roster
from pmt.datasets.synthetic_rounds import synthetic_rounds

__all__ = [
    "synthetic_hbs",
    "synthetic_roster",
    "synthetic_rounds",
    "synthetic_registry",
    "pmt_linear_predictor",
    "load_calibration",
    "PMT_FORMULA",
    "PMT_COEFFICIENTS",
    "HTV_SELECTION_FORMULA",
    "HTV_OUTCOME_FORMULA",
    "HTV_TRUE_PARAMS",
    "REGION_LABELS",
    "POVERTY_LINE",
    "vlss_1997",
    "calibration_report",
]


def __getattr__(name: str):
    # the real-data loaders import the data-spec layer: load them on first use only
    if name in ("vlss_1997", "vlss_spec"):
        from pmt.datasets import vlss

        return getattr(vlss, name)
    if name == "calibration_report":  # imports statsmodels' formula layer: load on use
        from pmt.datasets.checks import calibration_report

        return calibration_report
    raise AttributeError(f"module 'pmt.datasets' has no attribute {name!r}")
