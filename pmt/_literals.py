"""The fixed vocabularies of pmt's options, as ``typing.Literal`` aliases, in one place.

Each alias is both the type hint of an argument and, through
:func:`pmt._validation.check_option`, its run-time check (as pyfixest's
``internals/literals.py``)::

    unit = check_option(unit, Unit, name="unit")

This module imports nothing from pmt and sits at the bottom of the layering of DESIGN.md
section 2, beside :mod:`pmt._validation`.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "Adjust",
    "Banding",
    "BinaryCovType",
    "ClassifyMethod",
    "CovType",
    "CutoffRule",
    "Cutoffs",
    "Direction",
    "GapKind",
    "GroupStatistic",
    "HeckmanCovType",
    "LonelyPSU",
    "Nonpositive",
    "Normalize",
    "OLSCovType",
    "QuantRegCovType",
    "Ranking",
    "Retransform",
    "Scale",
    "SE",
    "ShareMethod",
    "SmallSample",
    "SubgroupLayout",
    "TestStatistic",
    "Ties",
    "Unit",
    "Variance",
    "WeightKind",
]

# --- survey and weights -----------------------------------------------------------------
#: Whose shares: persons (household weight x size) or households (household weight).
Unit = Literal["person", "household"]
#: Strata with a single PSU: centre at the grand mean, drop from the variance, or raise.
LonelyPSU = Literal["adjust", "remove", "error"]
#: Whether weights may be zero.
WeightKind = Literal["nonnegative", "positive"]

# --- welfare, poverty and inequality ----------------------------------------------------
#: Design-based standard errors: Taylor linearisation or the Rao-Wu bootstrap.
SE = Literal["linearized", "bootstrap"]
#: Food share of a reference group: of aggregates, or the mean of household shares.
ShareMethod = Literal["aggregate", "mean"]
#: Zero or negative welfare in inequality measures: raise, or drop and count.
Nonpositive = Literal["error", "drop"]
#: Ranking of households in with/without-transfer comparisons.
Ranking = Literal["without", "without_all", "with"]

# --- models -----------------------------------------------------------------------------
#: Retransformation of log predictions to levels (DESIGN.md section 4).
Retransform = Literal["none", "normal", "smearing"]
#: Scale of predictions: the model's own (e.g. log) or levels.
Scale = Literal["model", "level"]
#: Covariance of a model's coefficients, one vocabulary for every model
#: (:mod:`pmt.models.covariance` says which model takes which, and what each means).
CovType = Literal["nonrobust", "HC0", "HC1", "cluster", "kernel", "bootstrap", "none"]
#: ``cov_type`` of :func:`pmt.ols` (and ``truncated_ols``, ``stepwise``, ``lasso_select``).
OLSCovType = Literal["HC1", "cluster", "nonrobust"]
#: ``cov_type`` of :func:`pmt.probit` and :func:`pmt.logit`.
BinaryCovType = Literal["HC0", "cluster", "nonrobust"]
#: ``cov_type`` of :func:`pmt.quantreg`.
QuantRegCovType = Literal["kernel", "cluster", "bootstrap", "none"]
#: ``cov_type`` of :func:`pmt.heckman` (two-step and maximum likelihood).
HeckmanCovType = Literal["nonrobust", "HC0", "cluster"]
#: Small-sample factor of a cluster sandwich: linear models' CR1 G/(G-1)(N-1)/(N-K), the
#: G/(G-1) of Stata's ML commands, or none (CR0).
SmallSample = Literal["linear", "ml", "none"]

# --- evaluation -------------------------------------------------------------------------
#: "line" vs "rate" classification (Brown, Ravallion and van de Walle 2018).
ClassifyMethod = Literal["line", "rate"]
#: Cut-off rules of the bootstrap with replicated cut-offs.
CutoffRule = Literal["line", "rate", "budget"]
#: Cut-offs in the bootstrap: re-derived in each replicate, or fixed.
Cutoffs = Literal["replicate", "fixed"]
#: Households tied at the cut-off: all selected, or none.
Ties = Literal["include", "exclude"]
#: Normalisation of the decile overlap table.
Normalize = Literal["all", "row", "column"]
#: Layout of the subgroup table.
SubgroupLayout = Literal["metrics", "table6"]
#: Poverty gap of the inspection and methods comparison: a difference or a ratio.
GapKind = Literal["difference", "ratio"]
#: Statistic compared across groups: a weighted mean, or a share of a total.
GroupStatistic = Literal["mean", "share"]
#: Test of independence of a survey cross-tab: Rao-Scott chi-square or its F form.
TestStatistic = Literal["chisq", "F"]
#: Variance of the survey cross-tab test: linearisation or the bootstrap.
Variance = Literal["linearization", "bootstrap"]
#: Multiple-comparison adjustment of p-values.
Adjust = Literal["none", "holm", "bonferroni"]

# --- scorecards -------------------------------------------------------------------------
#: Band edges of continuous proxies: weighted quantiles or squared-error optimal.
Banding = Literal["quantile", "optimal"]
#: What a scorecard's score measures: welfare (low = eligible) or poverty (high = eligible).
Direction = Literal["welfare", "poverty"]
