"""The report workbook (pmt.report.write_xlsx) opened with openpyxl: index sheet, sheet
names, filled index columns, number formats, frozen headers, text labels, notes."""

import re

import openpyxl
import pandas as pd
import pytest

import pmt
from pmt.report import write_xlsx
from pmt.report.tables import sheet_frame, sheet_name, table_basis

LONG = "Coefficients: Quantile regression at the headcount (q = 0.164)"


def comparison() -> pd.DataFrame:
    """A MultiIndex table with repeated outer values (pandas would merge/blank them)."""
    index = pd.MultiIndex.from_tuples(
        [("poorest 20%", "exclusion_error", "OLS"), ("poorest 20%", "exclusion_error", "GB"),
         ("poorest 20%", "cgh", "OLS"), ("poorest 40%", "exclusion_error", "OLS")],
        names=["line", "metric", "model"])
    return pd.DataFrame({"estimate": [0.54, 0.575, 2.5, 0.365], "se": [0.03, 0.028, 0.1, 0.02]},
                        index=index)


def tables() -> dict:
    targeting = pd.DataFrame({"coverage_poor": [0.398, 0.5], "n_households": [2000, 735],
                              "budget_monthly": [486_499_612_485.0, 2.45e11],
                              "cgh": [2.9, 3.1]}, index=pd.Index(["OLS", "GB"], name="model"))
    boot = pd.DataFrame({"model": ["OLS", "OLS", "GB"], "metric": ["coverage"] * 3,
                         "basis": ["out_of_sample"] * 3, "estimate": [0.2, 0.21, 0.19]})
    filtered = boot[boot["model"] == "OLS"].iloc[1:]  # unnamed integer index [1]
    coefs = pd.DataFrame({"coef": [-5.4512e-05, 0.25], "label": ["=5 rooms", "+ car"]},
                         index=pd.Index(["land_sotka_sq", "car"], name="term"))
    auc = pd.Series({"OLS": 0.81, "GB": 0.97}, name="auc")  # unnamed label index
    return {
        "In-sample targeting": targeting,
        "Out-of-sample comparison": comparison(),
        "Bootstrap (all)": boot,
        "Bootstrap: OLS rows": filtered,
        LONG: coefs,
        "Coefficients: Quantile regression at the headcount (q = 0.5)": coefs,
        "Area under the ROC curve": auc,
        "Shares [a/b]?": pd.DataFrame({"x": [0.1]}),
    }


NOTES = {"In-sample targeting": "In sample. Selected: the poorest 16.4% (rate rule).",
         "Out-of-sample comparison": "Out of sample (cross-fitted predictions); 90% intervals.",
         "Area under the ROC curve": "=probability that a poor person ranks below"}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "tables.xlsx"
    write_xlsx(tables(), path, NOTES, basis={"Shares [a/b]?": "In sample"},
               table_options={"Shares [a/b]?": {"shares": ["x"], "level": 0.9}})
    return path, openpyxl.load_workbook(path)


def test_index_sheet_first_with_titles_notes_and_basis(book):
    path, wb = book
    assert wb.sheetnames[0] == "Index"
    ws = wb["Index"]
    assert [c.value for c in ws[1]] == ["Sheet", "Title", "Basis", "Description", "Rows",
                                       "Columns"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    titles = list(tables()) + ["Glossary"]
    assert [r[1] for r in rows] == titles  # the full titles, in order
    assert [r[0] for r in rows] == wb.sheetnames[1:]
    basis = {r[1]: r[2] for r in rows}
    assert basis["In-sample targeting"] == "In sample"  # from the note's first sentence
    assert basis["Out-of-sample comparison"] == "Out of sample"
    assert basis["Bootstrap (all)"] == "Out of sample"  # from its basis column
    assert basis["Shares [a/b]?"] == "In sample"  # explicit
    assert basis[LONG] in (None, "")
    desc = {r[1]: r[3] for r in rows}
    assert desc["In-sample targeting"] == NOTES["In-sample targeting"]
    sizes = {r[1]: (r[4], r[5]) for r in rows}
    assert sizes["Out-of-sample comparison"] == (4, 2) and sizes["Bootstrap (all)"] == (3, 4)
    link = ws["A2"].hyperlink
    assert link.location == f"'{wb.sheetnames[1]}'!A1"
    # a note starting with "=" is stored as text, not as a formula
    cell = ws.cell(row=2 + list(tables()).index("Area under the ROC curve"), column=4)
    assert cell.value == NOTES["Area under the ROC curve"]
    assert cell.data_type in ("s", "inlineStr")
    back = pd.read_excel(path, sheet_name="Index")
    assert back["Title"].tolist() == titles


def test_sheet_names_readable_unique_and_short(book):
    _, wb = book
    names = wb.sheetnames
    assert len({n.lower() for n in names}) == len(names)
    assert all(len(n) <= 31 and not re.search(r"[\[\]\*\?/\\:]", n) for n in names)
    assert "Out-of-sample comparison" in names  # valid titles are kept as they are
    assert "Bootstrap - OLS rows" in names  # ": " -> " - "
    assert "Shares (a-b)" in names
    # cut at a word and marked "…" (the index gives the full title); then de-duplicated
    assert [n for n in names if n.startswith("Coefficients - Quantile")] == [
        "Coefficients - Quantile…", "Coefficients - Quantile… (2)"]


def test_sheet_name_rules():
    taken: set[str] = set()
    assert sheet_name("Coefficients: OLS", taken) == "Coefficients - OLS"
    assert sheet_name("coefficients: ols", taken) == "coefficients - ols (2)"
    assert sheet_name("History", taken) == "History (table)"
    assert sheet_name("Policy with a long name: scenario_grid", taken) == \
        "Policy with a… - scenario_grid"
    assert sheet_name("", taken) == "Sheet"
    cut = sheet_name("Coverage by decile of actual consumption per capita", taken)
    assert cut == "Coverage by decile of actual…"


def test_multiindex_written_as_full_columns(book):
    path, wb = book
    ws = wb["Out-of-sample comparison"]
    assert [c.value for c in ws[1]] == ["line", "metric", "model", "estimate", "se"]
    index_cells = [[ws.cell(row=r, column=c).value for c in (1, 2, 3)] for r in range(2, 6)]
    assert index_cells == [["poorest 20%", "exclusion_error", "OLS"],
                           ["poorest 20%", "exclusion_error", "GB"],
                           ["poorest 20%", "cgh", "OLS"],
                           ["poorest 40%", "exclusion_error", "OLS"]]
    assert not ws.merged_cells.ranges
    assert ws.freeze_panes == "D2"
    back = pd.read_excel(path, sheet_name="Out-of-sample comparison").iloc[:4]
    assert back.notna().all().all()  # no blank repeats (the note follows two rows down)


def test_number_formats_by_kind(book):
    _, wb = book
    ws = wb["In-sample targeting"]
    header = [c.value for c in ws[1]]
    assert header == ["model", "coverage_poor", "n_households", "budget_monthly", "cgh"]
    assert ws["B2"].value == pytest.approx(0.398)  # the raw number is kept
    assert ws["B2"].number_format == "0.0%"
    assert ws["C2"].number_format == "#,##0"
    assert ws["D2"].number_format == "#,##0" and ws["D2"].value == 486_499_612_485
    assert ws["E2"].number_format == "0.00"
    # value columns follow the row's indicator: shares and the CGH ratio
    ws = wb["Out-of-sample comparison"]
    assert [ws.cell(row=r, column=4).number_format for r in range(2, 6)] == [
        "0.0%", "0.0%", "0.00", "0.0%"]
    # a small coefficient keeps 3 significant digits: -0.0000545
    ws = wb["Coefficients - Quantile…"]
    assert ws["B2"].number_format == "0.0000000"
    # shares named by table_options
    assert wb["Shares (a-b)"]["A2"].number_format == "0.0%"
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            assert not any(c.is_date for c in row)  # never dates


def test_no_leaked_index_and_frozen_headers(book):
    path, wb = book
    for name in wb.sheetnames:
        back = pd.read_excel(path, sheet_name=name)
        assert not any(str(c).startswith("Unnamed") or str(c) in ("index", "level_0")
                       for c in back.columns), name
        assert wb[name].freeze_panes is not None and wb[name].freeze_panes.endswith("2"), name
        assert all(c.font.bold for c in wb[name][1] if c.value is not None), name
    assert [c.value for c in wb["Bootstrap (all)"][1]] == ["model", "metric", "basis",
                                                           "estimate"]
    assert wb["Bootstrap (all)"].freeze_panes == "A2"
    assert [c.value for c in wb["Bootstrap - OLS rows"][1]] == ["model", "metric", "basis",
                                                                "estimate"]
    assert wb["Bootstrap - OLS rows"].max_row == 2
    assert [c.value for c in wb["Area under the ROC curve"][1]] == ["name", "auc"]
    assert wb["Area under the ROC curve"]["A3"].value == "GB"


def test_labels_are_text_and_notes_kept(book):
    _, wb = book
    ws = wb["Coefficients - Quantile…"]
    assert ws["C2"].value == "=5 rooms" and ws["C2"].data_type in ("s", "inlineStr")
    assert ws["C3"].value == "+ car" and ws["C3"].data_type in ("s", "inlineStr")
    assert ws["A2"].value == "land_sotka_sq" and ws["A2"].number_format == "@"
    ws = wb["Area under the ROC curve"]
    assert ws["A5"].value == NOTES["Area under the ROC curve"]  # 2 rows + header + 2
    assert ws["A5"].data_type in ("s", "inlineStr") and ws["A5"].font.italic


def test_glossary_sheet_defines_the_indicators_used(book):
    _, wb = book
    ws = wb[wb.sheetnames[-1]]
    assert ws.title == "Glossary"
    names = [c.value for c in ws["A"][1:]]
    assert {"coverage_poor", "cgh", "exclusion_error", "coverage"} <= set(names)
    assert "benefit_leakage" not in names  # only the terms the tables use


def test_options_and_signature(tmp_path):
    frame = pd.DataFrame({"coverage_poor": [0.5]}, index=pd.Index(["OLS"], name="model"))
    path = write_xlsx({"t": frame}, tmp_path / "a.xlsx", {"t": "note"}, index_sheet=False,
                      glossary=False, plain_headings=True)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["t"]
    assert [c.value for c in wb["t"][1]] == ["Model", "Coverage of the poor"]
    assert wb["t"]["A4"].value == "note"


def test_failed_write_keeps_the_earlier_workbook(tmp_path):
    path = tmp_path / "tables.xlsx"
    write_xlsx({"ok": pd.DataFrame({"x": [1]})}, path)
    before = path.read_bytes()
    bad = pd.DataFrame({"label": ["fine", "bell\x07"]})
    with pytest.raises(pmt.DataError, match="control characters"):
        write_xlsx({"bad": bad}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables.xlsx"]


def test_sheet_frame_and_basis_helpers():
    flat, n = sheet_frame(comparison())
    assert n == 3 and list(flat.columns) == ["line", "metric", "model", "estimate", "se"]
    flat, n = sheet_frame(pd.DataFrame({"a": [1, 2]}, index=[5, 9]))
    assert n == 0 and list(flat.columns) == ["a"]
    two = pd.DataFrame({"v": [1.0]}, index=pd.MultiIndex.from_tuples([("x", "y")]))
    assert list(sheet_frame(two)[0].columns) == ["name_1", "name_2", "v"]
    dup = pd.DataFrame({"model": ["a"]}, index=pd.Index(["OLS"], name="model"))
    assert list(sheet_frame(dup)[0].columns) == ["model", "model_2"]
    assert table_basis("In-sample optimism",
                       "Exclusion error judged in sample and out of sample.") == \
        "In sample and out of sample"
    assert table_basis("Coverage by decile (in sample)") == "In sample"
    assert table_basis("Poverty", "FGT measures; person-weighted.") == ""
    frame = pd.DataFrame({"basis": ["in_sample", "out_of_sample"], "v": [1, 2]})
    assert table_basis("t", None, frame) == "In sample and out of sample"
