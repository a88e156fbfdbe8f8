"""Old name of :mod:`pmt.models.variable_selection` (stepwise and lasso selection of PMT
proxies), kept so that existing imports keep working.

The module was renamed because "selection" elsewhere in pmt is the selection equation of
:func:`pmt.heckman`. Import from :mod:`pmt.models.variable_selection` (or use
``pmt.stepwise`` and ``pmt.lasso_select``); this alias will be removed in a later release.
"""

from __future__ import annotations

from pmt.models.variable_selection import (
    LassoResult,
    StepwiseResult,
    lasso_select,
    stepwise,
)

__all__ = ["stepwise", "lasso_select", "StepwiseResult", "LassoResult"]
