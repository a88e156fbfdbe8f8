"""Plain-language definitions of the indicators in pmt's tables (DESIGN.md section 4).

:func:`glossary_table` returns the glossary as a table (term, name in the workbook,
definition) for the end of a report; :func:`glossary_for` keeps only the terms that occur
in a given set of tables. The headings come from :mod:`pmt.report.format`, so a term is
called the same in the glossary as in the tables.

Notation (DESIGN.md section 4): ``p`` = 1 if a household is poor, ``s`` = 1 if it is
selected (eligible or beneficiary), ``v`` its person weight (household weight x size, or
the household weight with ``unit="household"``); sums run over households.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["DEFINITIONS", "glossary_table", "glossary_for"]

# name in pmt's tables -> (definition in words, formula or "")
DEFINITIONS: dict[str, tuple[str, str]] = {
    # DESIGN.md section 4, in its order
    "coverage": ("Share of all people who are selected.", "Σ v s / Σ v"),
    "coverage_poor": ("Share of the poor who are selected.", "Σ v p s / Σ v p"),
    "coverage_nonpoor": ("Share of the non-poor who are selected.",
                         "Σ v (1−p) s / Σ v (1−p)"),
    "exclusion_error": ("Share of the poor who are not selected (1 − coverage of the poor).",
                        "1 − Σ v p s / Σ v p"),
    "inclusion_error": ("Share of the selected who are not poor.", "Σ v (1−p) s / Σ v s"),
    "targeting_differential": (
        "Coverage of the poor minus coverage of the non-poor (Ravallion): 1 when every poor "
        "person and no one else is selected, 0 when the poor are covered no better than the "
        "non-poor.", "coverage of the poor − coverage of the non-poor"),
    "cgh": (
        "Share of benefits going to the poor (of beneficiaries when there are no amounts), "
        "divided by the population share of the poor (Coady, Grosh and Hoddinott). Above 1 the "
        "poor receive more than an equal share; a random selection gives 1.",
        "(Σ v p b / Σ v b) / (Σ v p / Σ v)"),
    "benefit_leakage": ("Share of benefit amounts going to the non-poor.",
                        "Σ v (1−p) b / Σ v b"),
    # poverty measures
    "FGT0": ("Poverty headcount: share of people below the poverty line z.",
             "Σ v 1[y<z] / Σ v"),
    "FGT1": ("Poverty gap (depth): average shortfall below the line as a share of the line, "
             "counting the non-poor as zero.", "Σ v ((z−y)/z) 1[y<z] / Σ v"),
    "FGT2": ("Poverty severity: average squared shortfall as a share of the line; weighs the "
             "poorest most.", "Σ v ((z−y)/z)² 1[y<z] / Σ v"),
    "Watts": ("Watts index: average log shortfall below the line.",
              "Σ v ln(z/y) 1[y<z] / Σ v"),
    # ranking
    "diagonal": ("Decile overlap: share of people in the same decile of actual and of "
                 "predicted welfare.", ""),
    "within_one": ("Decile overlap: share of people whose decile of predicted welfare is the "
                   "same as, or next to, their decile of actual welfare.", ""),
    "overlap_k": ("Bottom-k overlap: share of the people in the bottom k deciles of actual "
                  "welfare who are also in the bottom k deciles of predicted welfare.", ""),
    "auc": ("Area under the ROC curve: probability that a randomly chosen poor person is "
            "ranked below a randomly chosen non-poor person (0.5 is a random ranking).", ""),
    # words of the tables
    "rule=rate": ("Rate rule: the predicted poor are the poorest people by predicted welfare, as "
             "many as the true poverty rate (every model selects the same share).", ""),
    "rule=line": ("Line rule: the predicted poor are those whose predicted welfare is below the "
             "poverty line (Brown, Ravallion and van de Walle 2018).", ""),
    "in_sample": ("In sample: judged on the same households the model was fitted on; flatters "
                  "flexible models.", ""),
    "out_of_sample": ("Out of sample: each household is scored by a model fitted without it "
                      "(cross-fitting over folds of whole PSUs).", ""),
    "se": ("Standard error from the survey design (PSU clusters within strata: bootstrap or "
           "linearisation).", ""),
    "lower": ("Lower end of the confidence interval at the level stated in the table.", ""),
    "upper": ("Upper end of the confidence interval at the level stated in the table.", ""),
    "decile": ("Deciles: ten groups of equal population (person-weighted) by welfare; decile 1 "
               "is the poorest. Households are never split across groups.", ""),
    "pct_gdp": ("Annual cost as a percentage of annual GDP.", "100 × 12 × monthly cost / GDP"),
}

_ALIASES = {"ci_lower": "lower", "ci_upper": "upper", "roc_auc": "auc", "fgt0": "FGT0",
            "fgt1": "FGT1", "fgt2": "FGT2", "watts": "Watts", "budget_pct_gdp": "pct_gdp",
            "cost_pct_gdp": "pct_gdp", "std_error": "se"}


def _key(name) -> str | None:
    text = str(name)
    if text in DEFINITIONS:
        return text
    if text in _ALIASES:
        return _ALIASES[text]
    if text.startswith("overlap_") and text[len("overlap_"):].isdigit():
        return "overlap_k"
    return None


def glossary_table(names: Iterable[str] | None = None) -> pd.DataFrame:
    """The glossary: one row per term, in the order of DESIGN.md section 4.

    Parameters
    ----------
    names : iterable of str, optional
        Names as they appear in pmt's tables (``coverage_poor``, ``overlap_3``, ``FGT0``,
        ``ci_lower`` ...; ``rule=rate`` for the value "rate" of a ``rule`` column); only
        their terms are kept (in the glossary's order). Unknown names are ignored. Default:
        every term.

    Returns
    -------
    pandas.DataFrame
        Columns ``Term`` (the table heading, e.g. "Coverage of the poor"), ``Name in
        tables.xlsx`` (the column or row name of the workbook), ``Definition`` and
        ``Formula`` (DESIGN.md section 4 notation; blank where a formula does not help).
        A plain RangeIndex.
    """
    from pmt.report.format import heading

    wanted = None if names is None else {k for k in map(_key, names) if k is not None}
    rows = []
    for name, (text, formula) in DEFINITIONS.items():
        if wanted is not None and name not in wanted:
            continue
        term = ("Bottom-k overlap" if name == "overlap_k" else
                f"{name.split('=')[1].capitalize()} rule" if name.startswith("rule=")
                else heading(name))
        rows.append({"Term": term, "Name in tables.xlsx": name, "Definition": text,
                     "Formula": formula})
    return pd.DataFrame(rows, columns=["Term", "Name in tables.xlsx", "Definition", "Formula"])


def _names_in(frame: pd.DataFrame | pd.Series) -> set[str]:
    """Column names, index level names and text row labels of a table."""
    frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
    names = {str(c) for c in frame.columns}
    names |= {str(n) for n in frame.index.names if n is not None}
    for level in range(frame.index.nlevels):
        values = frame.index.get_level_values(level)
        if not pd.api.types.is_numeric_dtype(values.dtype):
            names |= {str(v) for v in values.unique()[:500]}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s, pd.Series) and not pd.api.types.is_numeric_dtype(s.dtype) \
                and str(col) in ("metric", "measure", "indicator", "basis", "rule"):
            names |= {str(v) for v in s.dropna().unique()[:500]}
            if str(col) == "rule":
                names |= {f"rule={v}" for v in s.dropna().unique()}
    if "rule" in frame.index.names:
        names |= {f"rule={v}" for v in frame.index.get_level_values("rule").unique()}
    return names


def glossary_for(tables: Mapping[str, pd.DataFrame] | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The glossary restricted to the terms that occur in ``tables``.

    Parameters
    ----------
    tables : mapping of title -> DataFrame, or iterable of DataFrames
        The report's tables (raw, with pmt's column names), e.g. ``Outputs.tables``.

    Returns
    -------
    pandas.DataFrame
        As :func:`glossary_table`.
    """
    frames = tables.values() if isinstance(tables, Mapping) else tables
    names: set[str] = set()
    for frame in frames:
        names |= _names_in(frame)
    return glossary_table(names)
