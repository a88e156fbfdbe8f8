"""Display formatting (pmt.report.format): plain headings, percentages, money with units,
coefficients that stay non-zero, the split rule for wide tables, and the glossary.

Expected strings are written by hand from the rules in the module docstring.
"""

import numpy as np
import pandas as pd
import pytest

from pmt.report.format import (
    DASH,
    coef_cell,
    display_parts,
    display_table,
    format_coef,
    format_count,
    format_money,
    format_pvalue,
    format_share,
    heading,
    kind_of,
    looks_numeric,
    money_scale,
    split_columns,
)
from pmt.report.glossary import glossary_for, glossary_table

SECTION_4 = ["coverage", "coverage_poor", "coverage_nonpoor", "exclusion_error",
             "inclusion_error", "targeting_differential", "cgh", "benefit_leakage"]


# --------------------------------------------------------------------------------------
# single values
# --------------------------------------------------------------------------------------
def test_shares_as_percentages():
    assert format_share(0.398) == "39.8%"
    assert format_share(0.39845, digits=2) == "39.85%"
    assert format_share(0.398, symbol=False) == "39.8"
    assert format_share(-0.0004) == "0.0%"  # never "-0.0%"
    assert format_share(0.035, sign=True) == "+3.5%"
    assert format_share(np.nan) == DASH and format_share(None) == DASH


def test_money_scaled_with_its_unit():
    assert format_money(486_499_612_485, currency="UZS per month") == "486.5 bn UZS per month"
    assert format_money(150_000, "UZS") == "150,000 UZS"
    assert format_money(2_450_000) == "2.5 million"
    assert format_money(1_234.5, "UZS", scale="thousand") == "1.2 thousand UZS"
    assert format_money(12.345) == "12.35"
    assert format_money(0, "UZS", scale="bn") == "0 bn UZS"
    assert format_money(float("nan"), "UZS") == DASH
    assert money_scale([486_499_612_485, 0]) == "bn"
    assert money_scale([2.5e6, 3e6, 1.0]) == "million"  # the median decides
    assert money_scale([150_000, 7_429]) == ""
    with pytest.raises(ValueError, match="scale"):
        format_money(1.0, scale="lakh")


def test_counts_pvalues_and_coefficients():
    assert format_count(1_656_392.4) == "1,656,392"
    assert format_pvalue(1.4e-156) == "<0.001" and format_pvalue(0.09175) == "0.092"
    # 3 significant digits, at least 3 decimals: small coefficients stay non-zero
    assert format_coef(-5.4512e-05) == "-0.0000545"
    assert format_coef(11.685005) == "11.685"
    assert format_coef(0.036881) == "0.0369"
    assert format_coef(0.140426) == "0.140"
    assert format_coef(0.0) == "0.000"
    assert format_coef(1.2345e-09) == "1.23e-09"
    assert coef_cell(-5.4512e-05, 1.234e-05, "***") == "-0.0000545*** (0.0000123)"
    assert coef_cell(0.1704, np.nan) == "0.170"


def test_plain_headings():
    assert heading("coverage_poor") == "Coverage of the poor"
    assert heading("cgh") == "CGH ratio"
    assert heading("overlap_3") == "Bottom-3 overlap"
    assert heading("targeting_differential") == "Targeting differential"
    assert heading("estimate") == "Estimate" and heading("se") == "Std. error"
    assert heading("lower", level=0.9) == "Lower (90% CI)"
    assert heading("ci_upper", level=0.95) == "Upper (95% CI)"
    assert heading("FGT0_change_se") == "Std. error of change in poverty headcount (FGT0)"
    assert heading("Watts_change") == "Change in Watts index"
    assert heading("fgt1_after") == "Poverty gap (FGT1) after"
    assert heading("eligible_households_sample") == "Eligible households (sample)"
    assert heading("log_pcc") == "log_pcc"  # unknown names are left as they are
    assert heading(3) == "3"
    assert heading("coverage", labels={"coverage": "Reach"}) == "Reach"
    for name in SECTION_4:
        assert heading(name) != name
        assert kind_of(name) == ("ratio" if name == "cgh" else "share")


def test_looks_numeric():
    for text in ["1,234", "-0.0000545*** (0.0000123)", "<0.001", "39.8%", DASH, "11.685",
                 "1.23e-09", "0.170 (0.101)"]:
        assert looks_numeric(text), text
    for text in ["OLS", "poorest 20%", "Region: Buxoro", "16.4 (1.2) x"]:
        assert not looks_numeric(text), text


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------
def test_display_table_by_column():
    raw = pd.DataFrame({
        "coverage_poor": [0.476190, 0.5],
        "cgh": [2.896855, 3.0],
        "n_households": [2000, 735],
        "budget_monthly": [486_499_612_485.0, 245_155_400_000.0],
        "amount": [150_000.0, 7_428.95],
        "too_small": [False, True],
    }, index=pd.Index(["OLS", "Probit"], name="model"))
    before = raw.copy()
    out = display_table(raw, currency="UZS")
    pd.testing.assert_frame_equal(raw, before)  # the raw table is untouched
    assert list(out.columns) == ["Coverage of the poor (%)", "CGH ratio", "Households (sample)",
                                 "Budget per month (bn UZS)", "Amount (UZS)",
                                 "Too few households"]
    assert out.index.name == "Model" and list(out.index) == ["OLS", "Probit"]
    assert out.loc["OLS"].tolist() == ["47.6", "2.90", "2,000", "486.5", "150,000", "No"]
    assert out.loc["Probit"].tolist() == ["50.0", "3.00", "735", "245.2", "7,429", "Yes"]


def test_display_table_by_row_indicator():
    """Value columns take the kind of the row's indicator (a ``metric`` column)."""
    raw = pd.DataFrame({
        "model": ["OLS", "OLS", "OLS"],
        "metric": ["exclusion_error", "cgh", "coverage"],
        "estimate": [0.539988, 2.5317, 0.2],
        "se": [0.030477, 0.1, 0.001],
        "lower": [0.482983, 2.4, 0.198],
        "upper": [0.582915, 2.7, 0.202],
        "n_valid": [200, 200, 200],
    })
    out = display_table(raw, level=0.9)
    assert out.index.names == ["Model", "Indicator"]  # leading text columns label the rows
    assert list(out.columns) == ["Estimate", "Std. error", "Lower (90% CI)", "Upper (90% CI)",
                                 "Valid replicates"]
    assert out.index.get_level_values(1).tolist() == ["Exclusion error (%)", "CGH ratio",
                                                      "Coverage (%)"]
    assert out.iloc[0].tolist() == ["54.0", "3.0", "48.3", "58.3", "200"]
    assert out.iloc[1].tolist() == ["2.53", "0.10", "2.40", "2.70", "200"]
    assert out.iloc[2].tolist() == ["20.0", "0.1", "19.8", "20.2", "200"]


def test_row_money_scaled_per_row_and_empty_gdp_dropped():
    budget = pd.Series({"monthly": 529_036_233_259.2, "annual": 6_348_434_799_110.0,
                        "pct_gdp": np.nan,
                        "average_benefit_per_beneficiary_household": 399_238.39},
                       name="value").rename_axis("budget")
    out = display_table(budget, currency="UZS")
    assert out.index.tolist() == ["Budget per month (bn UZS)", "Budget per year (bn UZS)",
                                  "Average benefit per beneficiary household (UZS)"]
    assert out["Value"].tolist() == ["529.0", "6,348.4", "399,238"]
    # with GDP the share of GDP is filled from the annual amount: 100 x 6.348e12 / 6e14
    out = display_table(budget, currency="UZS", gdp=600e12)
    assert out.loc["Budget, % of GDP", "Value"] == "1.06"
    # a "% of GDP" column without values is dropped, never left blank
    grid = pd.DataFrame({"budget_annual": [1e12, 2e12], "budget_pct_gdp": [np.nan, np.nan]},
                        index=pd.Index(["a", "b"], name="scheme"))
    assert list(display_table(grid, currency="UZS").columns) == ["Budget per year (bn UZS)"]
    filled = display_table(grid, currency="UZS", gdp=400e12)
    assert filled["Budget, % of GDP"].tolist() == ["0.25", "0.50"]


def test_survey_summary_mixed_rows():
    summary = pd.Series([2000, 33_000_000, 416_820.56, 150_000.0], dtype=object,
                        index=pd.Index(["households (sample)", "population (persons)",
                                        "mean welfare", "poverty line"], name="statistic"),
                        name="value")
    out = display_table(summary, currency="UZS per person per month")
    assert out.index.tolist() == ["Households (sample)", "Population (persons)",
                                  "Mean welfare (UZS per person per month)",
                                  "Poverty line (UZS per person per month)"]
    assert out["Value"].tolist() == ["2,000", "33,000,000", "416,821", "150,000"]


def test_coefficient_table_and_overrides():
    coefs = pd.DataFrame({"coef": [11.685005, -5.4512e-05], "se": [0.140426, 1.234e-05],
                          "p": [1.4e-156, 0.2], "stars": ["***", ""]},
                         index=pd.Index(["Intercept", "land_sotka_sq"], name="term"))
    out = display_table(coefs)
    assert list(out.columns) == ["Coefficient", "Std. error", "p-value", "Significance"]
    assert out.loc["land_sotka_sq"].tolist() == ["-0.0000545", "0.0000123", "0.200", ""]
    assert out.loc["Intercept"].tolist() == ["11.685", "0.140", "<0.001", "***"]
    # a matrix of shares: kind= for columns known neither by name nor by row
    overlap = pd.DataFrame([[0.04066, 0.01913], [np.nan, 0.5]], index=pd.Index([1, 2],
                           name="actual"), columns=[1, 2])
    out = display_table(overlap, kind="share")
    assert out.to_numpy().tolist() == [["4.1", "1.9"], [DASH, "50.0"]]
    assert list(out.columns) == ["1", "2"]  # decile numbers: the unit goes in the caption
    assert list(out.index) == ["1", "2"] and out.index.name == "Actual"
    # shares= names share columns the vocabulary does not know
    out = display_table(pd.DataFrame({"in_sample": [0.5238], "optimism": [0.0162]},
                                     index=pd.Index(["OLS"], name="model")),
                        shares=["in_sample"])
    assert out.loc["OLS"].tolist() == ["52.4", "1.6"]
    with pytest.raises(ValueError, match="kind"):
        display_table(overlap, kind="fraction")


# --------------------------------------------------------------------------------------
# the split rule
# --------------------------------------------------------------------------------------
def _narrow(n: int) -> pd.DataFrame:
    return pd.DataFrame([[f"{j}.0" for j in range(n)]], columns=[f"c{j}" for j in range(n)],
                        index=pd.Index(["row"], name="r"))


def test_split_at_most_ten_columns_as_even_as_possible():
    assert [p.shape[1] for p in split_columns(_narrow(10))] == [10]
    parts = split_columns(_narrow(11))
    assert [p.shape[1] for p in parts] == [6, 5]
    assert [c for p in parts for c in p.columns] == [f"c{j}" for j in range(11)]
    assert all(p.index.equals(_narrow(11).index) for p in parts)  # row labels repeated
    assert [p.shape[1] for p in split_columns(_narrow(25))] == [9, 8, 8]
    assert [p.shape[1] for p in split_columns(_narrow(11), max_columns=4)] == [4, 4, 3]
    with pytest.raises(ValueError, match="max_columns"):
        split_columns(_narrow(3), max_columns=0)


def test_split_by_page_width():
    # 4 columns of 30 characters (+2 padding each) and row labels of width 1 + 2:
    # 3 + 3 x 32 = 99 fits 110 characters, 3 + 4 x 32 = 131 does not -> two parts of two
    wide = pd.DataFrame([["x" * 30] * 4], columns=list("abcd"), index=["r"])
    assert [p.shape[1] for p in split_columns(wide)] == [2, 2]
    assert [p.shape[1] for p in split_columns(wide, max_chars=131)] == [4]
    assert [p.shape[1] for p in split_columns(wide, max_chars=98)] == [2, 2]
    # text with spaces wraps beyond 16 characters: 3 + 4 x (16 + 2) = 75 fits
    prose = pd.DataFrame([["a few words " * 3] * 4], columns=list("abcd"), index=["r"])
    assert [p.shape[1] for p in split_columns(prose)] == [4]
    # a column wider than the page on its own is a part of its own
    huge = pd.DataFrame({"a": ["1"], "b": ["9" * 150], "c": ["2"]}, index=["r"])
    assert [list(p.columns) for p in split_columns(huge)] == [["a"], ["b"], ["c"]]


def test_split_keeps_a_value_with_its_standard_error():
    cols = ["c1", "c2", "c3", "c4", "c5", "x", "x_se", "c8", "c9", "c10", "c11"]
    frame = pd.DataFrame([["1.0"] * 11], columns=cols, index=["r"])
    parts = split_columns(frame)  # even split would be 6 + 5, cutting x | x_se
    assert [list(p.columns) for p in parts] == [cols[:5], cols[5:]]
    # the same on display headings
    raw = pd.DataFrame(np.full((1, 11), 0.1), columns=[
        "coverage", "FGT0", "FGT1", "FGT2", "Watts", "FGT0_change", "FGT0_change_se",
        "FGT1_change", "FGT1_change_se", "Watts_change", "Watts_change_se"], index=["PMT"])
    parts = display_parts(raw)
    assert [p.shape[1] for p in parts] == [5, 6]
    assert list(parts[1].columns[:2]) == ["Change in poverty headcount (FGT0), %",
                                          "Std. error of change in poverty headcount (FGT0), %"]


# --------------------------------------------------------------------------------------
# glossary
# --------------------------------------------------------------------------------------
def test_glossary_from_design_section_4():
    g = glossary_table()
    assert list(g.columns) == ["Term", "Name in tables.xlsx", "Definition", "Formula"]
    assert g["Name in tables.xlsx"].tolist()[:8] == SECTION_4
    row = g.set_index("Name in tables.xlsx").loc["coverage_poor"]
    assert row["Term"] == "Coverage of the poor"
    assert row["Definition"] == "Share of the poor who are selected."
    assert row["Formula"] == "Σ v p s / Σ v p"
    inclusion = g.set_index("Name in tables.xlsx").loc["inclusion_error", "Formula"]
    assert inclusion == "Σ v (1−p) s / Σ v s"
    assert g["Definition"].str.len().gt(10).all()


def test_glossary_for_keeps_the_terms_in_the_tables():
    tables = {
        "a": pd.DataFrame({"coverage_poor": [0.5], "overlap_3": [0.6]}, index=["OLS"]),
        "b": pd.DataFrame({"metric": ["cgh"], "estimate": [2.0], "ci_lower": [1.5]}),
        "c": pd.Series([0.16], index=pd.Index(["FGT0"], name="measure")),
    }
    names = glossary_for(tables)["Name in tables.xlsx"].tolist()
    assert names == ["coverage_poor", "cgh", "FGT0", "overlap_k", "lower"]
    # a "line" column (the poverty line) is not the line rule; a rule column's value is
    ruled = pd.DataFrame({"line": ["poorest 20%"], "rule": ["rate"], "estimate": [0.5]})
    g = glossary_for([ruled])
    assert g["Name in tables.xlsx"].tolist() == ["rule=rate"]
    assert g["Term"].tolist() == ["Rate rule"]
