"""Display formatting: result tables in plain numbers and words.

One place turns a result table (pmt's column names, raw floats) into a display table
(plain-language headings, text cells) for the HTML report, and tells the workbook writer
which number format each cell needs. The raw table is never changed: the workbook keeps
the numbers.

What a cell shows depends on its **kind**:

=========== ===================================== ===========================================
kind        example cell                          used for
=========== ===================================== ===========================================
share       ``39.8`` under "Coverage (%)"         shares 0-1 (coverage, errors, FGT, overlap)
percent     ``0.91`` under "Budget, % of GDP"     numbers already in percent (``pct_gdp``)
money       ``486.5`` under "Budget (bn UZS)"     amounts; one scale per column (or row)
count       ``1,656,392``                         households, people, observations
ratio       ``2.90``                              CGH ratio, t statistics
decimal     ``0.813``                             AUC, correlations, Gini
coefficient ``-0.0000545``                        regression coefficients (3 significant digits)
pvalue      ``<0.001``                            p-values
number      ``11.7``, ``0.516``, ``12,345``       anything else numeric
text        as is; ``Yes``/``No`` for flags       labels
=========== ===================================== ===========================================

The kind of a column comes from its name (:data:`KINDS`: the metric names of DESIGN.md
section 4 and the other statistics pmt produces). Value columns (``estimate``, ``se``,
``lower``, ``upper``, ``value``, ``in_sample`` ...) take the kind of their **row** when the
table has a key column or index level naming the indicator of each row (``metric``,
``measure``, ``indicator``, ``statistic``, ``count``, ``budget``), or an index of known
names. Arguments override both (``shares=``, ``money=``, ``counts=``, ``kinds=``,
``kind=``).

Missing values show as an en dash ("–"), never as a blank. A "% of GDP" column (or row)
that is empty because no GDP was given is dropped; with ``gdp=`` it is filled from the
annual amount.

Wide tables: :func:`split_columns` cuts a display table into parts that fit the text width
of an A4 page (rule in its docstring: at most 10 data columns and about 110 characters
per part, the row labels repeated in every part).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LABELS", "KINDS", "KEY_NAMES",
    "heading", "kind_of",
    "format_share", "format_percent", "format_money", "format_count", "format_coef",
    "format_pvalue", "format_number", "format_value", "coef_cell", "money_scale",
    "cell_kinds", "display_table", "split_columns", "display_parts", "looks_numeric",
    "DASH", "MAX_COLUMNS", "MAX_CHARS",
]

DASH = "–"  # shown for a missing value
MAX_COLUMNS = 10  # data columns per part of a split table
MAX_CHARS = 110  # characters across an A4 page at the report's print table font (8 pt)

SHARE, PERCENT, MONEY, COUNT = "share", "percent", "money", "count"
RATIO, DECIMAL, COEF, PVALUE, NUMBER, TEXT = ("ratio", "decimal", "coefficient", "pvalue",
                                              "number", "text")
_NUMERIC_KINDS = {SHARE, PERCENT, MONEY, COUNT, RATIO, DECIMAL, COEF, PVALUE, NUMBER}

# --------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------
#: name in pmt's tables -> plain heading
LABELS: dict[str, str] = {
    # DESIGN.md section 4
    "coverage": "Coverage",
    "coverage_poor": "Coverage of the poor",
    "coverage_nonpoor": "Coverage of the non-poor",
    "exclusion_error": "Exclusion error",
    "inclusion_error": "Inclusion error",
    "targeting_differential": "Targeting differential",
    "cgh": "CGH ratio",
    "benefit_leakage": "Benefit leakage",
    # poverty and inequality
    "FGT0": "Poverty headcount (FGT0)",
    "FGT1": "Poverty gap (FGT1)",
    "FGT2": "Poverty severity (FGT2)",
    "Watts": "Watts index",
    "headcount": "Poverty headcount",
    "gini": "Gini index",
    "palma": "Palma ratio",
    "p90_p10": "P90/P10 ratio",
    "p80_p20": "P80/P20 ratio",
    # ranking
    "diagonal": "Same decile",
    "within_one": "Within one decile",
    "auc": "Area under the ROC curve",
    "roc_auc": "Area under the ROC curve",
    "correlation": "Correlation",
    "correlation_log": "Correlation of logs",
    # statistics
    "estimate": "Estimate",
    "se": "Std. error",
    "lower": "Lower",
    "upper": "Upper",
    "ci_lower": "Lower",
    "ci_upper": "Upper",
    "coef": "Coefficient",
    "p": "p-value",
    "p_value": "p-value",
    "pvalue": "p-value",
    "t": "t statistic",
    "z": "z statistic",
    "stars": "Significance",
    "value": "Value",
    "validation": "Value",
    "n_valid": "Valid replicates",
    "n_replicates": "Replicates",
    "n_splits": "Folds",
    "n_missing": "Missing",
    "n_used": "Households used",
    "n_excluded": "Households excluded",
    "nobs": "Observations",
    "in_sample": "In sample",
    "out_of_sample": "Out of sample",
    "optimism": "In-sample optimism",
    "oos_mean": "Out of sample (mean over folds)",
    "oos_sd": "Std. deviation over folds",
    "fold_min": "Lowest fold",
    "fold_max": "Highest fold",
    "before": "Before",
    "after": "After",
    "change": "Change",
    "se_before": "Std. error before",
    "se_after": "Std. error after",
    "se_change": "Std. error of change",
    "se_naive": "Std. error of change (unpaired)",
    # table keys and labels
    "model": "Model",
    "line": "Poverty line",
    "rule": "Rule",
    "metric": "Indicator",
    "measure": "Measure",
    "indicator": "Indicator",
    "statistic": "Statistic",
    "count": "Count",
    "budget": "Budget",
    "basis": "Basis",
    "block": "Characteristic",
    "group": "Group",
    "comparison": "Comparison",
    "method": "Method",
    "scheme": "Scheme",
    "scenario": "Scenario",
    "term": "Term",
    "variable": "Variable",
    "level": "Category",
    "label": "Label",
    "note": "Note",
    "actual": "Actual",
    "predicted": "Predicted",
    "too_small": "Too few households",
    "flag": "Flag",
    # subgroups and incidence
    "n_households": "Households (sample)",
    "population_share": "Share of population",
    "share_of_poor": "Share of the poor",
    "share": "Share",
    "eligible_coverage": "Eligible",
    "beneficiaries_share": "Share of beneficiaries",
    "benefits_share": "Share of benefits",
    "adequacy_all": "Adequacy (all)",
    "adequacy_recipients": "Adequacy (recipients)",
    "adequacy_recipients_mean": "Adequacy (recipients, mean)",
    "expected_coverage": "Expected coverage",
    "benefit_per_capita": "Benefit per person",
    # simulation: families assessed inside households (tables["families"])
    "families": "Families",
    "families_per_household": "Families per household",
    "eligible_families": "Eligible families",
    "beneficiary_families": "Beneficiary families",
    "eligible_families_per_eligible_household": "Eligible families per eligible household",
    "households_with_several_eligible_families": "Households with 2+ eligible families",
    "eligible_families_in_multi_family_households": "Eligible families sharing their "
                                                    "household with other families",
    "people_in_eligible_families": "People in eligible families",
    "people_in_households_with_an_eligible_family": "People in households with an eligible "
                                                    "family",
    "families_sample": "Families (sample)",
    "eligible_families_sample": "Eligible families (sample)",
    # simulation: groups of persons (pmt.simulate.persons.person_results)
    "persons": "Persons",
    "persons_sample": "Persons (sample)",
    "poverty_before": "Poor before",
    "poverty_after": "Poor after",
    "coverage_household": "In a receiving household",
    "se_coverage_household": "Std. error, household coverage",
    "coverage_of_poor": "Poor in a receiving household",
    "se_coverage_of_poor": "Std. error, coverage of the poor",
    "coverage_family": "In a receiving family",
    "se_coverage_family": "Std. error, family coverage",
    # simulation: counts, budget, cost-effectiveness, winners and losers
    "eligible_households": "Eligible households",
    "eligible_people": "Eligible people",
    "eligible_share": "Eligible (share of people)",
    "beneficiary_households": "Beneficiary households",
    "beneficiary_people": "Beneficiaries (people)",
    "beneficiary_share": "Beneficiaries (share of people)",
    "population": "Population",
    "households": "Households",
    "beneficiaries": "Beneficiaries",
    "monthly": "Budget per month",
    "annual": "Budget per year",
    "pct_gdp": "Budget, % of GDP",
    "budget_monthly": "Budget per month",
    "budget_annual": "Budget per year",
    "budget_pct_gdp": "Budget, % of GDP",
    "cost_pct_gdp": "Cost, % of GDP",
    "budget_relative_to_first": "Budget relative to the first scenario",
    "average_benefit_per_beneficiary_household": "Average benefit per beneficiary household",
    "gap_before": "Poverty gap before",
    "gap_after": "Poverty gap after",
    "gap_reduction": "Reduction of the poverty gap",
    "spending": "Spending",
    "gap_reduction_per_unit": "Gap reduction per unit spent",
    "share_of_spending_on_poor": "Share of spending on the poor",
    "winner_households": "Households gaining",
    "loser_households": "Households losing",
    "winner_people": "People gaining",
    "loser_people": "People losing",
    "mean_welfare_reform": "Mean welfare with the reform",
    "mean_welfare_no_reform": "Mean welfare without the reform",
    "median_pre_transfer_welfare": "Median pre-transfer welfare",
    "threshold": "Threshold",
    "cost": "Cost",
    "amount": "Amount",
    # scorecard
    "changed": "Eligibility changed",
    "changed_banding": "Eligibility changed by banding",
    "eligible_model": "Eligible (exact model)",
    "eligible_scorecard": "Eligible (scorecard)",
    "points": "Points",
    # survey summary (workflow row labels)
    "households (sample)": "Households (sample)",
    "PSUs": "PSUs",
    "strata": "Strata",
    "population (persons)": "Population (persons)",
    "mean welfare": "Mean welfare",
    "s.e. of mean welfare": "Std. error of mean welfare",
    "poverty line": "Poverty line",
    "welfare P10": "Welfare, 10th percentile",
    "welfare P50 (median)": "Welfare, median",
    "welfare P90": "Welfare, 90th percentile",
    "households_missing": "Households with a missing value",
    # drift
    "psi": "Population stability index",
    "proxy": "Proxy",
}

#: name in pmt's tables -> kind (names absent here are value columns or labels)
KINDS: dict[str, str] = {
    **dict.fromkeys(
        ["coverage", "coverage_poor", "coverage_nonpoor", "exclusion_error", "inclusion_error",
         "targeting_differential", "benefit_leakage", "FGT0", "FGT1", "FGT2", "Watts",
         "headcount", "diagonal", "within_one", "optimism", "population_share", "share_of_poor",
         "share", "eligible_coverage", "beneficiaries_share", "benefits_share", "adequacy_all",
         "adequacy_recipients", "adequacy_recipients_mean", "expected_coverage", "eligible_share",
         "beneficiary_share", "share_of_spending_on_poor", "changed", "changed_banding",
         "eligible_model", "eligible_scorecard", "weighted_inclusion_error",
         "weighted_exclusion_error", "share_inspected", "share_flagged", "budget_share_poor",
         "share_of_population"], SHARE),
    **dict.fromkeys(["pct_gdp", "budget_pct_gdp", "cost_pct_gdp"], PERCENT),
    **dict.fromkeys(
        ["threshold", "cost", "amount", "monthly", "annual", "budget_monthly", "budget_annual",
         "spending", "gap_before", "gap_after", "gap_reduction", "benefit_per_capita",
         "average_benefit_per_beneficiary_household", "mean_welfare_reform",
         "mean_welfare_no_reform", "median_pre_transfer_welfare", "mean welfare",
         "s.e. of mean welfare", "poverty line", "welfare P10", "welfare P50 (median)",
         "welfare P90", "mean_amount", "expected_benefit", "implied_budget", "savings",
         "solved_amount"], MONEY),
    **dict.fromkeys(
        ["n_households", "n_valid", "n_replicates", "n_splits", "n_missing", "n_used",
         "n_excluded", "nobs", "n_selected", "n_folds", "eligible_households", "eligible_people",
         "beneficiary_households", "beneficiary_people", "population", "households",
         "beneficiaries", "winner_households", "loser_households", "winner_people",
         "loser_people", "households (sample)", "PSUs", "strata", "population (persons)",
         "households_missing", "n_floored", "families", "eligible_families",
         "beneficiary_families", "households_with_several_eligible_families",
         "people_in_eligible_families", "people_in_households_with_an_eligible_family",
         "families_sample", "eligible_families_sample", "persons", "persons_sample"], COUNT),
    **dict.fromkeys(["poverty_before", "poverty_after", "se_after", "coverage_household",
                     "eligible_families_in_multi_family_households",
                     "se_coverage_household", "coverage_of_poor", "se_coverage_of_poor",
                     "coverage_family", "se_coverage_family"], SHARE),
    **dict.fromkeys(["cgh", "t", "z", "palma", "p90_p10", "p80_p20",
                     "budget_relative_to_first", "families_per_household",
                     "eligible_families_per_eligible_household"], RATIO),
    **dict.fromkeys(["auc", "roc_auc", "correlation", "correlation_log", "gini", "psi",
                     "gap_reduction_per_unit", "mpc"], DECIMAL),
    "coef": COEF,
    **dict.fromkeys(["p", "p_value", "pvalue"], PVALUE),
    **dict.fromkeys(["too_small", "flag", "stars", "basis", "note", "label", "variable",
                     "level", "model", "line", "rule", "metric", "measure", "indicator"], TEXT),
}

#: names of a column or index level that says which indicator each row holds
KEY_NAMES: tuple[str, ...] = ("metric", "measure", "indicator", "statistic", "count",
                              "budget")

_PROPER = ("Watts", "CGH", "Gini", "Palma", "P90", "P80", "FGT")  # not lower-cased mid-heading
_BASIS_WORDS = {"in_sample": "In sample", "out_of_sample": "Out of sample"}
_LOWER = {k.lower(): k for k in LABELS} | {k.lower(): k for k in KINDS}


def _canonical(name) -> str | None:
    """The vocabulary key of ``name`` (case-insensitive), or None."""
    text = str(name)
    if text in LABELS or text in KINDS:
        return text
    return _LOWER.get(text.lower())


def _derived(name: str) -> tuple[str, str | None] | None:
    """Heading and kind of names built from a known one (``FGT0_change_se``, ``overlap_3``,
    ``fgt0_after``, ``budget_x``, ``x_sample``); None if not such a name.
    """
    m = re.fullmatch(r"overlap_(\d+)", name)
    if m:
        return f"Bottom-{m.group(1)} overlap", SHARE
    for suffix, template in (("_change_se", "Std. error of change in {}"),
                             ("_change", "Change in {}"), ("_se", "Std. error of {}"),
                             ("_before", "{} before"), ("_after", "{} after")):
        if name.lower().endswith(suffix):
            base = _canonical(name[: -len(suffix)])
            if base is not None:
                label = LABELS.get(base, base)
                if template.startswith("{}") or label.startswith(_PROPER):
                    text = template.format(label)
                else:
                    text = template.format(label[0].lower() + label[1:])
                return text, KINDS.get(base)
    m = re.fullmatch(r"(.+)_sample", name)
    sample_base = _canonical(m.group(1)) if m else None
    if m and sample_base and KINDS.get(sample_base) == COUNT:
        return f"{LABELS.get(sample_base, m.group(1))} (sample)", COUNT
    return None


def heading(name, level: float | None = None, labels: Mapping[str, str] | None = None) -> str:
    """The plain-language heading of a column, index level or row name.

    Parameters
    ----------
    name : str or int
        A name as pmt writes it (``coverage_poor``, ``FGT0_change_se``, ``overlap_3``).
    level : float, optional
        Confidence level of the table's intervals: ``lower``/``upper`` become
        "Lower (90% CI)"/"Upper (90% CI)".
    labels : mapping, optional
        Extra or replacement headings (checked first).

    Returns
    -------
    str
        The heading; a name that is not in the vocabulary is returned unchanged (as text).

    Examples
    --------
    >>> heading("coverage_poor"), heading("cgh"), heading("overlap_3")
    ('Coverage of the poor', 'CGH ratio', 'Bottom-3 overlap')
    >>> heading("lower", level=0.9)
    'Lower (90% CI)'
    """
    text = str(name)
    if labels and text in labels:
        return str(labels[text])
    key = _canonical(text)
    if key is not None and key in LABELS:
        label = LABELS[key]
        if key in ("lower", "upper", "ci_lower", "ci_upper"):
            label += f" ({_level_text(level)} CI)" if level is not None else " (CI)"
        return label
    derived = _derived(text)
    if derived is not None:
        return derived[0]
    return text


def _level_text(level: float) -> str:
    pct = 100 * float(level)
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:g}%"


def kind_of(name) -> str | None:
    """The kind (:data:`KINDS`) of a known name, including derived names; None for value
    columns and unknown names.

    Parameters
    ----------
    name : str
        A column, index level or row name.

    Returns
    -------
    str or None

    Examples
    --------
    >>> kind_of("exclusion_error"), kind_of("FGT0_change_se"), kind_of("estimate")
    ('share', 'share', None)
    """
    key = _canonical(name)
    if key is not None:
        return KINDS.get(key)
    derived = _derived(str(name))
    return derived[1] if derived else None


# --------------------------------------------------------------------------------------
# single values
# --------------------------------------------------------------------------------------
def _missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(np.isnan(x))
    except (TypeError, ValueError):
        return False


def format_share(x, digits: int = 1, sign: bool = False, symbol: bool = True) -> str:
    """A share (0-1) as a percentage: ``0.398 -> "39.8%"``.

    Parameters
    ----------
    x : float
        The share; missing gives "–".
    digits : int
        Decimals of the percentage.
    sign : bool
        Show "+" on positive values (changes).
    symbol : bool
        Append "%" (False when the heading carries the unit).

    Returns
    -------
    str

    Examples
    --------
    >>> format_share(0.398), format_share(0.035, sign=True), format_share(0.398, symbol=False)
    ('39.8%', '+3.5%', '39.8')
    """
    if _missing(x):
        return DASH
    text = f"{100 * float(x):{'+' if sign else ''}.{digits}f}"
    if text.lstrip("+-") == f"{0:.{digits}f}":
        text = text.lstrip("+-")  # no "-0.0"
    return text + ("%" if symbol else "")


def format_percent(x, digits: int = 2, symbol: bool = True) -> str:
    """A number that is already a percentage (e.g. ``pct_gdp``): ``0.9069 -> "0.91%"``.

    Parameters
    ----------
    x : float
        The percentage; missing gives "–".
    digits : int
        Decimals.
    symbol : bool
        Append "%".

    Returns
    -------
    str
    """
    if _missing(x):
        return DASH
    return f"{float(x):.{digits}f}" + ("%" if symbol else "")


_SCALES = {"": 1.0, "thousand": 1e3, "million": 1e6, "bn": 1e9}


def money_scale(values) -> str:
    """The scale word for money values: ``"bn"``, ``"million"`` or ``""`` (none).

    Parameters
    ----------
    values : array-like
        The amounts of one column (or one indicator); non-numeric values are ignored.

    Returns
    -------
    str

    Notes
    -----
    Rule: the median of the absolute, finite, non-zero values decides: at least 1e9 -> bn;
    at least 1e6 -> million; below -> no scale (thousands separators). "thousand" is used
    only when asked for (``scale="thousand"``).

    Examples
    --------
    >>> money_scale([486_499_612_485]), money_scale([2.5e6, 3e6]), money_scale([150_000])
    ('bn', 'million', '')
    """
    a = np.abs(np.asarray(pd.to_numeric(pd.Series(np.ravel(np.asarray(values, dtype=object))),
                                        errors="coerce"), dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    if a.size == 0:
        return ""
    m = float(np.median(a))
    return "bn" if m >= 1e9 else "million" if m >= 1e6 else ""


def _money_digits(scale: str, values) -> int:
    if scale:
        return 1
    a = np.abs(np.asarray(values, dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    return 0 if a.size == 0 or float(np.median(a)) >= 100 else 2


def _unit(scale: str, currency: str | None) -> str:
    return " ".join(p for p in (scale, currency or "") if p)


def format_money(x, currency: str | None = None, scale: str | None = None,
                 digits: int | None = None, unit: bool = True) -> str:
    """An amount of money, scaled and with its unit.

    Parameters
    ----------
    x : float
        The amount; missing gives "–".
    currency : str, optional
        Unit written after the number, as given ("UZS", "UZS per month").
    scale : {"bn", "million", "thousand", ""}, optional
        Default: chosen from the value (:func:`money_scale`).
    digits : int, optional
        Decimals; default 1 with a scale, else 0 (2 below 100).
    unit : bool
        Append the scale word and currency (False when a heading carries them).

    Returns
    -------
    str

    Examples
    --------
    >>> format_money(486_499_612_485, currency="UZS per month")
    '486.5 bn UZS per month'
    >>> format_money(150_000, "UZS"), format_money(2_450_000)
    ('150,000 UZS', '2.5 million')
    """
    if _missing(x):
        return DASH
    scale = money_scale([x]) if scale is None else scale
    if scale not in _SCALES:
        raise ValueError(f"scale must be one of {sorted(_SCALES)}; got {scale!r}.")
    digits = _money_digits(scale, [x]) if digits is None else digits
    value = float(x) / _SCALES[scale]
    text = "0" if value == 0 else f"{value:,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    suffix = _unit(scale, currency) if unit else ""
    return f"{text} {suffix}" if suffix else text


def format_count(x) -> str:
    """A count (weighted counts rounded): ``1656392.4 -> "1,656,392"``.

    Parameters
    ----------
    x : float or int
        The count; missing gives "–".

    Returns
    -------
    str
    """
    if _missing(x):
        return DASH
    return f"{round(float(x)):,}"


def _sig_decimals(x: float, sig: int, minimum: int) -> int:
    if x == 0 or not np.isfinite(x):
        return minimum
    return max(minimum, sig - 1 - math.floor(math.log10(abs(x))))


def format_coef(x, sig: int = 3, minimum: int = 3) -> str:
    """A coefficient with at least ``minimum`` decimals and ``sig`` significant digits.

    Small coefficients stay non-zero: ``-5.45e-05 -> "-0.0000545"`` (below 1e-8 in
    scientific notation, e.g. ``"1.23e-09"``).

    Parameters
    ----------
    x : float
        The coefficient (or its standard error); missing gives "–".
    sig : int
        Significant digits.
    minimum : int
        Fewest decimals.

    Returns
    -------
    str

    Examples
    --------
    >>> format_coef(-5.4512e-05), format_coef(11.685005), format_coef(0.036881)
    ('-0.0000545', '11.685', '0.0369')
    """
    if _missing(x):
        return DASH
    x = float(x)
    if x != 0 and abs(x) < 1e-8:
        return f"{x:.{sig - 1}e}"
    return f"{x:.{min(_sig_decimals(x, sig, minimum), 12)}f}"


def coef_cell(coef, se=None, stars: str = "", sig: int = 3) -> str:
    """A regression-table cell, "coefficient+stars (standard error)".

    Parameters
    ----------
    coef : float
        The coefficient.
    se : float, optional
        Its standard error; left out when missing.
    stars : str
        Significance stars written after the coefficient.
    sig : int
        Significant digits (:func:`format_coef`).

    Returns
    -------
    str

    Examples
    --------
    >>> coef_cell(-5.4512e-05, 1.234e-05, "***")
    '-0.0000545*** (0.0000123)'
    >>> coef_cell(0.1704, float("nan"))
    '0.170'
    """
    text = format_coef(coef, sig) + (stars or "")
    if se is not None and not _missing(se):
        text += f" ({format_coef(se, sig)})"
    return text


def format_pvalue(x) -> str:
    """A p-value: ``"<0.001"`` below 0.001, else 3 decimals.

    Parameters
    ----------
    x : float
        The p-value; missing gives "–".

    Returns
    -------
    str
    """
    if _missing(x):
        return DASH
    return "<0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def format_number(x) -> str:
    """Any other number: integers as given (thousands separators from 10,000), floats with
    thousands separators from 1,000, one decimal from 10, else 3 significant digits (at
    least 2 decimals).

    Parameters
    ----------
    x : int, float or bool
        The number; missing gives "–", booleans "Yes"/"No".

    Returns
    -------
    str
    """
    if _missing(x):
        return DASH
    if isinstance(x, bool | np.bool_):
        return "Yes" if x else "No"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}" if abs(int(x)) >= 10_000 else str(int(x))
    x = float(x)
    if not np.isfinite(x):
        return "∞" if x > 0 else "−∞"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if x != 0 and abs(x) < 1e-8:
        return f"{x:.2e}"
    return f"{x:.{min(_sig_decimals(x, 3, 2), 12)}f}"


def format_value(x, kind: str, currency: str | None = None, scale: str | None = None,
                 digits: int = 1, unit: bool = True) -> str:
    """Format one value of a given kind (see the module docstring).

    Parameters
    ----------
    x : object
        The value; text is returned as is, missing values as "–".
    kind : str
        One of the kinds of the module docstring.
    currency : str, optional
        Unit of money.
    scale : str, optional
        Money scale ("bn", "million", "thousand", ""); default chosen from ``x``.
    digits : int
        Decimals of percentages.
    unit : bool
        Append the unit to the cell ("39.8%", "486.5 bn UZS"); tables put it in the heading
        instead.

    Returns
    -------
    str
    """
    if isinstance(x, bool | np.bool_):
        return "Yes" if x else "No"
    if _missing(x):
        return DASH
    if not isinstance(x, int | float | np.integer | np.floating):
        return str(x)
    if kind == TEXT:
        return format_number(x)
    if kind == SHARE:
        return format_share(x, digits, symbol=unit)
    if kind == PERCENT:
        return format_percent(x, symbol=unit)
    if kind == MONEY:
        return format_money(x, currency, scale, unit=unit)
    if kind == COUNT:
        return format_count(x)
    if kind == RATIO:
        return f"{float(x):.2f}"
    if kind == DECIMAL:
        return f"{float(x):.3f}"
    if kind == COEF:
        return format_coef(x)
    if kind == PVALUE:
        return format_pvalue(x)
    return format_number(x)


# --------------------------------------------------------------------------------------
# tables: kinds of cells
# --------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """Kinds of the data cells of a table and where each came from."""

    kinds: list[list[str]]  # per column, per row: the kind of the cell
    from_row: list[list[bool]]  # per column, per row: the kind came from the row's indicator
    key: tuple[str, object] | None  # ("column", name) or ("level", position) of the row key
    row_names: list  # the row key's values (raw), or None per row


def _is_text(values) -> bool:
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        return True
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return False
    sample = pd.Series(values).dropna()
    return not sample.map(lambda v: isinstance(v, int | float | np.integer | np.floating)).all() \
        if len(sample) else True


def _row_key(frame: pd.DataFrame, overrides: Mapping[str, str]):
    """Find the column or index level naming each row's indicator."""

    def known(values) -> int:
        return sum(1 for v in values if isinstance(v, str)
                   and (kind_of(v) not in (None, TEXT) or v in overrides))

    candidates = []
    names = list(frame.index.names)
    for i, name in enumerate(names):
        if name in KEY_NAMES:
            candidates.append((("level", i), frame.index.get_level_values(i)))
    for col in frame.columns:
        if col in KEY_NAMES and isinstance(frame[col], pd.Series) and _is_text(frame[col]):
            candidates.append((("column", col), frame[col]))
    for key, values in candidates:
        if known(values) > 0:
            return key, list(values)
    # an index (or first text column) mostly of known names
    if frame.index.nlevels == 1 and not isinstance(frame.index, pd.RangeIndex):
        values = list(frame.index)
        if values and 2 * known(values) >= len(values):
            return ("level", 0), values
    for col in frame.columns:
        s = frame[col]
        if isinstance(s, pd.Series) and _is_text(s):
            values = list(s)
            if values and 2 * known(values) >= len(values):
                return ("column", col), values
            break
    return None, [None] * len(frame)


def _override_map(shares, money, counts, kinds) -> tuple[dict[str, str], str | None]:
    out: dict[str, str] = {}
    default = None
    for items, kind in ((counts, COUNT), (money, MONEY), (shares, SHARE)):
        if items is True:
            default = kind
        elif items:
            out.update({str(c): kind for c in items})
    if kinds:
        out.update({str(k): v for k, v in kinds.items()})
    bad = {v for v in out.values() if v not in _NUMERIC_KINDS | {TEXT}}
    if bad:
        raise ValueError(f"unknown kind(s) {sorted(bad)}; use one of "
                         f"{sorted(_NUMERIC_KINDS | {TEXT})}.")
    return out, default


def _plan(frame: pd.DataFrame, shares=None, money=None, counts=None, kinds=None,
          kind: str | None = None) -> _Plan:
    overrides, default = _override_map(shares, money, counts, kinds)
    if kind is not None:
        if kind not in _NUMERIC_KINDS | {TEXT}:
            raise ValueError(f"kind must be one of {sorted(_NUMERIC_KINDS | {TEXT})}; "
                             f"got {kind!r}.")
        default = kind
    if default is None and any(str(c) == "coef" for c in frame.columns):
        default = COEF  # se, lower, upper of a coefficient table
    key, row_names = _row_key(frame, overrides)
    row_kinds = [overrides.get(v) if isinstance(v, str) and v in overrides
                 else (kind_of(v) if isinstance(v, str) else None) for v in row_names]
    row_kinds = [None if k == TEXT else k for k in row_kinds]
    kinds_out: list[list[str]] = []
    from_row: list[list[bool]] = []
    for j, col in enumerate(frame.columns):
        s = frame.iloc[:, j].tolist()
        name = str(col)
        if key == ("column", col):
            kinds_out.append([TEXT] * len(s))
            from_row.append([False] * len(s))
            continue
        col_kind = overrides.get(name) or kind_of(col)
        column, rows = [], []
        for i, v in enumerate(s):
            if isinstance(v, str | bool | np.bool_):
                k, r = TEXT, False  # labels, "16.4 (1.2)" cells, flags
            elif name in overrides:
                k, r = overrides[name], False
            elif col_kind is None and (row_kind := row_kinds[i]) is not None:
                k, r = row_kind, True  # a value column takes its row's indicator
            elif col_kind is not None:
                k, r = col_kind, False
            else:
                k, r = default or NUMBER, False
            column.append(k)
            rows.append(r)
        kinds_out.append(column)
        from_row.append(rows)
    return _Plan(kinds_out, from_row, key, row_names)


def cell_kinds(frame: pd.DataFrame, *, shares=None, money=None, counts=None,
               kinds: Mapping[str, str] | None = None, kind: str | None = None) -> pd.DataFrame:
    """The kind of every data cell of a raw table (same shape as ``frame``).

    Parameters
    ----------
    frame : pandas.DataFrame
        A result table with pmt's names.
    shares, money, counts : iterable of str, or True, optional
        Column (or row) names of that kind, overriding the vocabulary; ``True``: every
        value column of unknown kind.
    kinds : mapping of name -> kind, optional
        General override, e.g. ``{"in_sample": "share"}``.
    kind : str, optional
        Kind of value columns whose kind is known neither from their name nor from their
        row (e.g. ``"share"`` for a decile overlap matrix).

    Returns
    -------
    pandas.DataFrame
        Kinds as strings: share, percent, money, count, ratio, decimal, coefficient, pvalue,
        number, text. Text and flag cells are "text".
    """
    plan = _plan(frame, shares, money, counts, kinds, kind)
    out = pd.DataFrame({j: col for j, col in enumerate(plan.kinds)}, index=frame.index,
                       dtype=object)
    out.columns = frame.columns
    return out


# --------------------------------------------------------------------------------------
# tables: display
# --------------------------------------------------------------------------------------
def _gdp_names(names) -> list:
    return [n for n in names if kind_of(n) == PERCENT and "gdp" in str(n).lower()]


def _fix_gdp(frame: pd.DataFrame, gdp: float | None) -> pd.DataFrame:
    """Fill "% of GDP" from the annual amount when GDP is given; drop it when empty."""
    frame = frame.copy()
    cols = _gdp_names(frame.columns)
    for col in cols:
        annual = "budget_annual" if "budget_annual" in frame.columns else (
            "annual" if "annual" in frame.columns else None)
        values = pd.to_numeric(frame[col], errors="coerce")
        if gdp and annual is not None:
            fill = 100 * pd.to_numeric(frame[annual], errors="coerce") / float(gdp)
            frame[col] = values.where(values.notna(), fill)
        if pd.to_numeric(frame[col], errors="coerce").isna().all():
            frame = frame.drop(columns=col)
    if frame.index.nlevels == 1 and not isinstance(frame.index, pd.RangeIndex):
        labels = [v for v in frame.index if isinstance(v, str)]
        for row in _gdp_names(labels):
            annual = next((a for a in ("annual", "budget_annual") if a in frame.index), None)
            numeric = frame.select_dtypes("number").columns
            if gdp and annual is not None and len(numeric):
                for col in numeric:
                    if pd.isna(frame.at[row, col]):
                        frame.at[row, col] = 100 * frame.at[annual, col] / float(gdp)
            cells = pd.to_numeric(frame.loc[row], errors="coerce") if frame.loc[row].ndim == 1 \
                else None
            if cells is not None and cells.isna().all():
                frame = frame.drop(index=row)
    return frame


def _labels_first(frame: pd.DataFrame) -> pd.DataFrame:
    """A row-number index is dropped; leading text columns become the row labels."""
    if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
        return frame
    if not (isinstance(frame.index, pd.RangeIndex) or pd.api.types.is_integer_dtype(
            frame.index.dtype)):
        return frame
    lead = []
    for col in frame.columns:
        if _is_text(frame[col]) and kind_of(col) in (None, TEXT) and str(col) != "note":
            lead.append(col)
        else:
            break
    if lead and len(lead) < frame.shape[1]:
        return frame.set_index(lead)
    return frame.reset_index(drop=True)


def _with_unit(label: str, unit: str) -> str:
    if not unit:
        return label
    return f"{label}, {unit}" if label.endswith(")") else f"{label} ({unit})"


def _kind_unit(kind: str, scale: str, currency: str | None) -> str:
    if kind == SHARE:
        return "%"
    if kind == MONEY:
        return _unit(scale, currency)
    return ""


def display_table(frame: pd.DataFrame | pd.Series, *, currency: str | None = None,
                  units: Mapping[str, str] | None = None, shares=None, money=None,
                  counts=None, kinds: Mapping[str, str] | None = None, kind: str | None = None,
                  level: float | None = None, gdp: float | None = None, digits: int = 1,
                  labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A result table as a display table: plain headings and formatted text cells.

    Parameters
    ----------
    frame : pandas.DataFrame or Series
        A result table with pmt's names (unchanged; the workbook keeps it).
    currency : str, optional
        Unit of money cells ("UZS", "UZS per person per month"); written in the heading with
        the scale: "Budget per month (bn UZS)".
    units : mapping of name -> str, optional
        Money unit of particular columns or rows, instead of ``currency``.
    shares, money, counts, kinds, kind
        Kind overrides; see :func:`cell_kinds`.
    level : float, optional
        Confidence level of the table's intervals ("Lower (90% CI)").
    gdp : float, optional
        Annual GDP in the currency of the amounts: fills "% of GDP" from the annual
        amount. Without it an empty "% of GDP" column or row is dropped.
    digits : int
        Decimals of percentages.
    labels : mapping of name -> str, optional
        Extra or replacement headings (also for row names).

    Returns
    -------
    pandas.DataFrame
        All cells text (missing values "–"). Row labels are in the index (a row-number
        index is dropped and leading text columns become the index); known row names of the
        indicator column are translated and carry the unit ("Exclusion error (%)"). Shares
        are percentages ("39.8" under a heading ending "(%)"), money is scaled per column
        (or per indicator), coefficients keep 3 significant digits. Columns named by group
        numbers (a decile cross-tab) carry no unit: the caption states it ("% of the
        population").

    Examples
    --------
    >>> t = pd.DataFrame({"coverage_poor": [0.398], "cgh": [2.8969]}, index=["OLS"])
    >>> display_table(t).to_dict("records")
    [{'Coverage of the poor (%)': '39.8', 'CGH ratio': '2.90'}]
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(frame.name if frame.name is not None else "value")
    frame = _labels_first(_fix_gdp(frame, gdp))
    plan = _plan(frame, shares, money, counts, kinds, kind)
    units = dict(units or {})
    overrides, _ = _override_map(shares, money, counts, kinds)

    # money scales: per column, or per indicator for cells whose kind came from the row
    scales: dict[tuple, str] = {}
    groups: dict[tuple, list] = {}
    for j, col in enumerate(frame.columns):
        for i in range(len(frame)):
            if plan.kinds[j][i] == MONEY:
                gid = ("row", plan.row_names[i]) if plan.from_row[j][i] else ("col", col)
                groups.setdefault(gid, []).append(frame.iat[i, j])
    for gid, values in groups.items():
        scales[gid] = money_scale(values)
    digits_of = {gid: _money_digits(scales[gid], pd.to_numeric(pd.Series(v), errors="coerce"))
                 for gid, v in groups.items()}

    def currency_of(gid) -> str | None:
        return units.get(str(gid[1]), currency)

    out = pd.DataFrame(index=frame.index)
    headings = []
    for j, col in enumerate(frame.columns):
        cells = []
        col_units = set()
        for i in range(len(frame)):
            k = plan.kinds[j][i]
            v = frame.iat[i, j]
            if k == MONEY:
                gid = ("row", plan.row_names[i]) if plan.from_row[j][i] else ("col", col)
                cells.append(format_money(v, None, scales[gid], digits_of[gid], unit=False))
                if not plan.from_row[j][i]:
                    col_units.add((MONEY, scales[gid], currency_of(gid)))
            else:
                cells.append(format_value(v, k, digits=digits, unit=False)
                             if k != TEXT else _text(v, col))
                if k == SHARE and not plan.from_row[j][i]:
                    col_units.add((SHARE, "", None))
                elif k != TEXT and not plan.from_row[j][i] and k != PERCENT:
                    col_units.add((k, "", None))
        out[j] = cells
        head = heading(col, level, labels)
        if len(col_units) == 1 and not _group_number(col):
            k, scale, cur = next(iter(col_units))
            head = _with_unit(head, _kind_unit(k, scale, cur))
        headings.append(head)
    out.columns = headings

    # the indicator column or level: plain names with their unit
    def row_label(i: int, raw) -> str:
        if not isinstance(raw, str):
            return _text(raw, None)
        label = heading(raw, level, labels)
        row_cells = [plan.kinds[j][i] for j in range(frame.shape[1])
                     if plan.from_row[j][i]]
        if row_cells:
            k = row_cells[0]
            gid = ("row", raw)
            label = _with_unit(label, _kind_unit(k, scales.get(gid, ""), units.get(
                raw, currency)))
        return label

    if plan.key is not None:
        kind_, where = plan.key
        if kind_ == "column":
            pos = list(frame.columns).index(where)
            out.iloc[:, pos] = [row_label(i, v) for i, v in enumerate(frame[where])]
        else:
            assert isinstance(where, int)  # ("level", position): _row_key gives a level number
            new = [row_label(i, v) for i, v in enumerate(frame.index.get_level_values(where))]
            out.index = _replace_level(frame.index, where, new)
    out.index = _index_text(out.index, level, labels)
    return out


def _group_number(name) -> bool:
    """Column names that are group numbers (deciles of a cross-tab): no unit in them."""
    return isinstance(name, int | np.integer) or (isinstance(name, str) and name.isdigit())


def _text(v, col) -> str:
    if isinstance(v, bool | np.bool_):
        return "Yes" if v else "No"
    if _missing(v):
        return DASH
    if isinstance(v, str) and (col == "basis" or v in _BASIS_WORDS):
        return _BASIS_WORDS.get(v, v)
    if isinstance(v, float | np.floating):
        return format_number(v)
    return str(v)


def _replace_level(index: pd.Index, position: int, values: list) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        arrays = [list(index.get_level_values(i)) for i in range(index.nlevels)]
        arrays[position] = values
        return pd.MultiIndex.from_arrays(arrays, names=index.names)
    return pd.Index(values, name=index.name)


def _index_text(index: pd.Index, level, labels) -> pd.Index:
    """Row labels as text (basis words translated), level names as headings."""
    names = [None if n is None else heading(n, level, labels) for n in index.names]
    if isinstance(index, pd.RangeIndex):
        return index
    arrays = [[_text(v, n) for v in index.get_level_values(i)]
              for i, n in enumerate(index.names)]
    if index.nlevels > 1:
        return pd.MultiIndex.from_arrays(arrays, names=names)
    return pd.Index(arrays[0], name=names[0], dtype=object)


# --------------------------------------------------------------------------------------
# wide tables
# --------------------------------------------------------------------------------------
_WRAP = 16  # text wider than this wraps onto more lines (about 8 em)
_PAD = 2  # cell padding, in characters


def _width(heading_text: str, cells) -> int:
    words = max((len(w) for w in str(heading_text).split()), default=0)
    longest = max((len(str(c)) for c in cells), default=0)
    if any(" " in str(c) and not looks_numeric(str(c)) for c in cells):
        longest = min(longest, _WRAP)
    return max(words, longest) + _PAD


def _units(columns: list[str]) -> list[list[int]]:
    """Positions of columns that stay together: a value and its standard error."""
    units: list[list[int]] = []
    lower = [str(c).lower() for c in columns]
    for j, name in enumerate(lower):
        partner = None
        for prefix in ("std. error of ", "se_"):
            if name.startswith(prefix):
                rest = name[len(prefix):]
                partner = next((k for k, other in enumerate(lower[:j])
                                if other == rest or other.startswith(rest.split(" (")[0])),
                               None)
        if name.endswith("_se"):
            partner = next((k for k, other in enumerate(lower[:j]) if other == name[:-3]), None)
        if partner is not None and units and partner in units[-1]:
            units[-1].append(j)
        else:
            units.append([j])
    return units


def split_columns(frame: pd.DataFrame, max_columns: int = MAX_COLUMNS,
                  max_chars: int = MAX_CHARS) -> list[pd.DataFrame]:
    """Cut a wide table into parts that fit across an A4 page.

    Rule: every part keeps all the rows and repeats the row labels (the index); it holds at
    most ``max_columns`` data columns (default 10: a decile table stays whole) and at most
    ``max_chars`` characters across (default 110: the report prints tables in 8 pt
    Helvetica on the 180 mm text block of an A4 portrait page, about 4.4 pt a character).
    A column's width is its longest cell or the longest word of its heading (headings wrap
    between words; text cells wrap beyond 16 characters, numbers never), plus 2 for
    padding; the row labels count too. A value and its standard error ("X" and "Std. error
    of X", or ``x`` and ``x_se``) stay in the same part. Parts are as even as the rule
    allows (11 columns -> 6 + 5). A column wider than the page on its own gets a part of its
    own.

    Parameters
    ----------
    frame : pandas.DataFrame
        A display table (:func:`display_table`) or any table.
    max_columns : int
        Most data columns per part.
    max_chars : int
        Most characters across a part, row labels included.

    Returns
    -------
    list of pandas.DataFrame
        One part when the table fits, else several, in column order.
    """
    if max_columns < 1:
        raise ValueError(f"max_columns must be at least 1; got {max_columns}.")
    ncol = frame.shape[1]
    if ncol == 0:
        return [frame]
    label_width = 0
    if not isinstance(frame.index, pd.RangeIndex):
        for i in range(frame.index.nlevels):
            name = frame.index.names[i] or ""
            label_width += _width(name, frame.index.get_level_values(i))
    widths = [_width(c, frame.iloc[:, j]) for j, c in enumerate(frame.columns)]
    units = _units([str(c) for c in frame.columns])
    if ncol <= max_columns and label_width + sum(widths) <= max_chars:
        return [frame]
    for n in range(max(2, math.ceil(ncol / max_columns)), ncol + 1):
        parts: list[list[int]] = []
        cur: list[int] = []
        remaining, left = ncol, n
        target = min(math.ceil(remaining / left), max_columns)
        for unit in units:
            w = label_width + sum(widths[k] for k in cur + unit)
            if cur and (len(cur) + len(unit) > max(target, len(unit)) or w > max_chars):
                parts.append(cur)
                remaining, left = remaining - len(cur), max(left - 1, 1)
                target = min(math.ceil(remaining / left), max_columns)
                cur = []
            cur.extend(unit)
        parts.append(cur)
        if len(parts) <= n:
            return [frame.iloc[:, p] for p in parts]
    return [frame.iloc[:, [j]] for j in range(ncol)]


def display_parts(frame: pd.DataFrame | pd.Series, max_columns: int = MAX_COLUMNS,
                  max_chars: int = MAX_CHARS, **options) -> list[pd.DataFrame]:
    """:func:`display_table` then :func:`split_columns`: the report's tables in one call.

    Parameters
    ----------
    frame : pandas.DataFrame or Series
        A result table with pmt's names.
    max_columns, max_chars : int
        The split rule (:func:`split_columns`).
    **options
        Keyword arguments of :func:`display_table` (``currency``, ``level``, ``kind`` ...).

    Returns
    -------
    list of pandas.DataFrame
        The display table in parts that fit an A4 page (one part when it fits).
    """
    return split_columns(display_table(frame, **options), max_columns, max_chars)


_NUMERIC_TEXT = re.compile(
    r"^[<>]?[-+−]?\d[\d,]*(\.\d+)?(e[-+]\d+)?%?\**( \([-+−]?\d[\d,]*(\.\d+)?(e[-+]\d+)?%?\))?$")


def looks_numeric(text: str) -> bool:
    """True for a formatted number ("1,234", "-0.0000545*** (0.0000123)", "<0.001",
    "39.8%", "–"): an HTML table right-aligns these cells.

    Parameters
    ----------
    text : str
        A display cell.

    Returns
    -------
    bool
    """
    text = str(text).strip()
    return text == DASH or bool(_NUMERIC_TEXT.match(text))
