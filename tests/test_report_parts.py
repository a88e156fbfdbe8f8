"""Report building blocks: XLSX workbook, HTML report, figures."""

import base64
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

import pmt
from pmt.report import HtmlReport, figures, write_xlsx
from pmt.report.tables import sheet_name, to_markdown


def test_xlsx_sheets_headers_and_values(tmp_path):
    t1 = pd.DataFrame({"coef": [0.12345, -1.5], "stars": ["***", ""]}, index=pd.Index(["a", "b"], name="term"))
    t2 = pd.DataFrame({"x": [1, 2, 3]})
    path = write_xlsx({"Coefficients: OLS": t1, "Model comparison": t2}, tmp_path / "t.xlsx",
                      notes={"Model comparison": "Out of sample, 5 folds."})
    wb = openpyxl.load_workbook(path)
    # an index sheet first; ": " becomes " - " (Excel forbids ":" in sheet names)
    assert wb.sheetnames == ["Index", "Coefficients - OLS", "Model comparison"]
    ws = wb["Coefficients - OLS"]
    assert [c.value for c in ws[1]] == ["term", "coef", "stars"]
    assert ws["B2"].value == pytest.approx(0.12345) and ws["B2"].number_format == "0.000"
    assert ws["A1"].font.bold
    assert wb["Model comparison"].cell(row=6, column=1).value == "Out of sample, 5 folds."


def test_sheet_names_unique_and_short():
    taken: set[str] = set()
    a = sheet_name("x" * 40, taken)
    b = sheet_name("x" * 40, taken)
    assert len(a) == 31 and len(b) == 31 and a != b


def test_xlsx_bad_path(tmp_path):
    with pytest.raises(pmt.DataError, match=".xlsx"):
        write_xlsx({"a": pd.DataFrame({"x": [1]})}, tmp_path / "t.csv")


def test_markdown_table():
    md = to_markdown(pd.DataFrame({"v": [1.23456, np.nan]}, index=pd.Index(["a", "b"], name="k")))
    assert md.splitlines()[0] == "| k | v |"
    assert "| a | 1.235 |" in md and md.splitlines()[-1] == "| b |  |"


def test_html_report_embeds_figures_and_escapes(tmp_path):
    rep = HtmlReport("Title <x>", "sub")
    rep.heading("Tables & figures")
    rep.table(pd.DataFrame({"name": ["<b>"], "v": [0.5]}))
    fig = figures.overlap_heatmap(pd.DataFrame(np.eye(3) / 3, index=[1, 2, 3], columns=[1, 2, 3]), "Overlap")
    rep.figure(fig, "Decile overlap")
    path = rep.save(tmp_path / "r.html")
    text = path.read_text()
    assert "Title &lt;x&gt;" in text and "&lt;b&gt;" in text and "<b>" not in text
    m = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert base64.b64decode(m.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert "href='#s1'" in text


def test_figures_render():
    rng = np.random.default_rng(0)
    a = rng.normal(12, 0.5, 500)
    p = a * 0.5 + 6 + rng.normal(0, 0.2, 500)
    figs = [
        figures.predicted_vs_actual(a, p, 11.8, "PMT"),
        figures.residuals_vs_actual(a, p, "Residuals"),
        figures.coverage_by_group(pd.DataFrame({"ols": np.linspace(0.9, 0, 10)}, index=range(1, 11)), "Coverage"),
        figures.tradeoff_curves({"m": pd.DataFrame({"inclusion_error": [0.1, 0.5], "exclusion_error": [0.9, 0.2]})}, "Curves"),
        figures.bar_chart(pd.DataFrame({"a": [0.1, 0.2]}, index=["x", "y"]), "Bars", "share"),
    ]
    for fig in figs:
        assert fig.axes and fig.texts  # plotted, with the source note
    labels = [t.get_text() for t in figs[0].axes[0].texts]
    assert {"correctly included", "inclusion error", "exclusion error", "correctly excluded"} <= set(labels)
