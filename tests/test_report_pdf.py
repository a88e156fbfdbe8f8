"""The HTML report in print and as a PDF, checked the way a reader would look at it.

A report with a summary, a 20-column table, figures, long tables and an annex (and, in the
slow test, the ``pmt demo`` report) is printed through headless Chromium; the PDF's pages,
text and word positions are read back with poppler-utils, the print layout is measured in
the browser, and PNGs of the layout and of PDF pages are written next to the report for a
reviewer: in pytest's temporary folder (the path is printed with ``-s``) and, when the
environment variable ``PMT_REVIEW_DIR`` names a folder, copied there as well.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import pmt  # noqa: E402
from pmt.errors import PdfError  # noqa: E402
from pmt.report import HtmlReport  # noqa: E402
from pmt.report.html import print_fit  # noqa: E402
from pmt.report.pdf import (  # noqa: E402
    PAGE_MARGINS_MM,
    html_to_pdf,
    pdf_destinations,
    pdf_page_count,
)

sys.path.insert(0, str(Path(__file__).parent))
import browser  # noqa: E402

TITLE = "PDF check: a report with wide tables"
MM = 72 / 25.4

needs_chromium = pytest.mark.skipif(browser.find_chromium() is None,
                                    reason=browser.SKIP_NO_CHROMIUM)
needs_poppler = pytest.mark.skipif(not browser.have_poppler(), reason=browser.SKIP_NO_POPPLER)


def keep_for_review(folder: Path, name: str) -> None:
    """Copy the report, its PDF and the PNGs of ``folder`` to ``$PMT_REVIEW_DIR/name``."""
    target = os.environ.get("PMT_REVIEW_DIR")
    if not target:
        return
    dest = Path(target) / name
    dest.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.suffix in (".html", ".pdf", ".png"):
            shutil.copy2(path, dest / path.name)


def build_report(path: Path) -> Path:
    """A report with what makes printing hard: a wide table, figures, long tables, an annex."""
    rng = np.random.default_rng(0)
    rep = HtmlReport(TITLE, "synthetic numbers")
    rep.text("This report exercises page breaks, wide tables, figures and the annex.")
    rep.heading("Executive summary")
    rep.text("The proxy means test reaches most of the poor. " * 20)
    rep.table(pd.DataFrame({"model": ["OLS", "Q20", "Probit"],
                            "coverage_poor": [0.61, 0.66, 0.58],
                            "inclusion_error": [0.31, 0.35, 0.29]}).set_index("model"),
              caption="Table 1. Headline targeting accuracy")
    rep.heading("Wide tables")
    wide = pd.DataFrame(rng.normal(1e5, 3e4, (25, 20)),
                        columns=[f"very_long_column_name_{i:02d}" for i in range(20)])
    wide.insert(0, "region", [f"Region with a long name {i}" for i in range(25)])
    rep.table(wide, caption="Table 2. Twenty numeric columns of six-digit numbers")
    cross = pd.DataFrame(rng.random((10, 10)),
                         index=pd.Index(range(1, 11), name="actual decile"),
                         columns=[f"predicted decile {i}" for i in range(1, 11)])
    rep.table(cross, caption="Table 3. Decile overlap")
    budget = pd.DataFrame(rng.normal(0, 1, (8, 12)).round(3),
                          columns=[f"FGT{i % 3}_change_se" for i in range(12)])
    budget.insert(0, "budget_monthly", rng.integers(10**11, 10**12, 8))
    budget.insert(0, "scheme", [f"Scheme number {i} for families" for i in range(8)])
    rep.table(budget, caption="Table 4. Thirteen columns with twelve-digit budgets")
    rep.heading("Figures")
    for i in range(3):
        fig, ax = plt.subplots(figsize=(9, 5))
        ax.plot(rng.normal(size=200).cumsum())
        rep.figure(fig, f"Figure {i + 1}. A random walk")
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 9))
    ax.scatter(rng.normal(size=300), rng.normal(size=300), s=4)
    rep.figure(fig, "Figure 4. A tall figure")
    plt.close(fig)
    rep.heading("Long tables and text")
    for k in range(6):
        rep.text(f"Paragraph {k}. " + "Lorem ipsum dolor sit amet. " * 25)
        n = 8 + 7 * k
        rep.table(pd.DataFrame(rng.random((n, 5)), columns=list("abcde")),
                  caption=f"Table {5 + k}. {n} rows")
    rep.preformatted("x" * 400 + "\n" + "coef   std err\n" * 5)
    rep.annex("Annex", "Supporting tables.")
    rep.heading("Coefficients")
    rep.table(pd.DataFrame(rng.random((120, 4)), columns=["coef", "se", "t", "p"]),
              caption="Table A1. Coefficients")
    rep.heading("Another annex section")
    rep.text("More.")
    return rep.save(path)


# --------------------------------------------------------------------------------------
# without a browser
# --------------------------------------------------------------------------------------
def test_report_structure_sections_annex_and_toc():
    rep = HtmlReport("T", "sub")
    rep.text("front matter")
    rep.heading("Summary")
    rep.text("body")
    rep.annex(text="What the annex holds.")
    rep.text("annex intro")
    rep.heading("Coefficients")
    rep.table(pd.DataFrame({"a": [1.0]}))
    assert rep.in_annex
    page = rep.render()
    front, rest = page.split("<main>")
    assert "front matter" in front and "<nav class='toc'>" in front
    main, annex = rest.split("<div class='pmt-annex'>")
    assert "id='s1'" in main and "body" in main and "Coefficients" not in main
    assert "id='annex'" in annex and "annex intro" in annex and "id='s2'" in annex
    assert annex.index("annex intro") < annex.index("id='s2'")
    toc = re.search(r"<nav class='toc'>.*?</nav>", page).group(0)
    assert toc.index("#s1") < toc.index("#annex") < toc.index("#s2")  # annex entries nested
    with pytest.raises(ValueError, match="once"):
        rep.annex()


def test_wide_tables_get_smaller_type_or_a_landscape_page():
    def fit(ncol, text):
        return print_fit([f"c{i}" for i in range(ncol)], [[text] * 5 for _ in range(ncol)],
                         [True] * ncol)

    assert fit(5, "0.123") == (False, "")
    assert fit(12, "0.123") == (False, "")
    assert fit(13, "123,456") == (False, "small")
    assert fit(15, "123,456") == (False, "xsmall")
    assert fit(20, "123,456")[0] is True  # landscape
    assert fit(60, "123,456,789") == (True, "xsmall squeeze")  # numbers may wrap: never wider
    rep = HtmlReport("T")
    rep.heading("Wide")
    rep.table(pd.DataFrame(np.full((3, 20), 123456.0)))
    assert "table-wrap keep landscape" in rep.render()
    assert "landscape-first" in rep.render()  # the heading goes on the landscape page


def test_no_chromium_is_a_clear_user_error(tmp_path, monkeypatch):
    html = HtmlReport("T").save(tmp_path / "r.html")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("PMT_CHROMIUM", raising=False)
    monkeypatch.setattr("pmt.report.pdf._PLACES", ())
    with pytest.raises(PdfError, match="apt-get install chromium") as err:
        html_to_pdf(html, tmp_path / "r.pdf")
    assert isinstance(err.value, pmt.PMTError)
    assert not (tmp_path / "r.pdf").exists()
    with pytest.raises(PdfError, match="not found"):
        html_to_pdf(html, tmp_path / "r.pdf", executable=tmp_path / "no-such-chromium")
    with pytest.raises(PdfError, match="does not exist"):
        html_to_pdf(tmp_path / "missing.html", tmp_path / "r.pdf")


def test_pdf_reader_on_a_hand_written_pdf():
    pdf = (b"%PDF-1.4\n1 0 obj\n<</Type /Catalog /Pages 2 0 R /Dests 6 0 R>>\nendobj\n"
           b"2 0 obj\n<</Type /Pages /Kids [3 0 R 7 0 R] /Count 3>>\nendobj\n"
           b"3 0 obj\n<</Type /Page /Parent 2 0 R>>\nendobj\n"
           b"4 0 obj\n<</Type /Page /Parent 7 0 R>>\nendobj\n"
           b"5 0 obj\n<</Type /Page /Parent 7 0 R>>\nendobj\n"
           b"6 0 obj\n<</s1 [3 0 R /XYZ 0 800 0] /annex [5 0 R /XYZ 0 800 0]>>\nendobj\n"
           b"7 0 obj\n<</Type /Pages /Kids [4 0 R 5 0 R] /Count 2>>\nendobj\n%%EOF\n")
    assert pdf_page_count(pdf) == 3
    assert pdf_destinations(pdf) == {"s1": 1, "annex": 3}


# --------------------------------------------------------------------------------------
# printed through Chromium
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    if browser.find_chromium() is None:
        pytest.skip(browser.SKIP_NO_CHROMIUM)
    folder = tmp_path_factory.mktemp("pdf")
    html = build_report(folder / "report.html")
    result = html_to_pdf(html, folder / "report.pdf")
    layout = browser.inspect_print_layout(html, folder / "report-print-layout.png")
    shots = []
    if browser.have_poppler():
        shots = browser.pdf_page_images(result.path, folder / "report",
                                        sorted({1, 2, 3, 4, result.pages}))
    print(f"\nreport, PDF and screenshots for review: {folder}")
    keep_for_review(folder, "sample")
    return {"html": html, "result": result, "layout": layout, "shots": shots,
            "folder": folder}


def _media_boxes(pdf: Path) -> list[tuple[float, float]]:
    data = pdf.read_bytes()
    return [(float(w), float(h)) for w, h in
            re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)]


def test_pdf_is_a4_with_each_section_on_a_new_page(printed):
    r = printed["result"]
    assert r.path.read_bytes()[:5] == b"%PDF-"
    boxes = _media_boxes(r.path)
    assert len(boxes) == r.pages > 8
    for w, h in boxes:  # A4 portrait, or A4 landscape for the wide table
        assert sorted((w, h)) == pytest.approx([595.3, 841.9], abs=1.5)
    assert sum(w > h for w, h in boxes) >= 1
    pages = r.section_pages
    assert list(pages) == ["Executive summary", "Wide tables", "Figures",
                           "Long tables and text", "Annex", "Coefficients",
                           "Another annex section"]
    assert pages["Executive summary"] == 2  # page 1: title and contents
    main = [pages[k] for k in list(pages)[:5]]
    assert main == sorted(set(main))  # every main section (and the annex) on its own page
    assert pages["Coefficients"] == pages["Annex"]  # the first annex section follows it
    assert r.main_pages == pages["Annex"] - 1 < r.pages
    assert r.engine == "devtools" and r.seconds > 0


@needs_poppler
def test_page_one_has_the_title_and_a_contents_with_page_numbers(printed):
    r = printed["result"]
    first = " ".join(browser.pdf_text(r.path, 1).split())
    assert TITLE in first and "Contents" in first
    for name, page in r.section_pages.items():
        assert re.search(rf"{re.escape(name)} {page}\b", first), (name, page, first)
    assert f"1 / {r.pages}" in first  # the footer
    pages = browser.pdf_pages_text(r.path)
    assert len(pages) == r.pages
    for i, text in enumerate(pages, 1):
        assert f"{i} / {r.pages}" in text
    for name, page in r.section_pages.items():  # the contents point where the heading is
        assert name in browser.page_lines(pages[page - 1])[0] or name == "Coefficients"


def test_nothing_is_wider_than_the_page_in_the_print_layout(printed):
    layout = printed["layout"]
    assert layout["overflowing"] == []
    assert layout["scroll_width"] <= layout["viewport"] == browser.PRINT_WIDTH_PX[0]
    assert layout["landscape_widths"]
    assert max(layout["landscape_widths"]) <= browser.PRINT_WIDTH_PX[1]


@needs_poppler
def test_every_word_of_the_pdf_lies_inside_the_margins(printed):
    top, right, _, left = (m * MM for m in PAGE_MARGINS_MM)
    for n, page in enumerate(browser.pdf_words(printed["result"].path), 1):
        assert page["words"], f"page {n} is empty"
        outside = [w for w in page["words"]
                   if w[0] < left - 1.5 or w[2] > page["width"] - right + 1.5 or w[1] < top - 1.5]
        assert outside == [], f"page {n}: {outside[:5]}"


@needs_chromium
def test_the_layout_check_sees_a_page_that_is_too_wide(tmp_path):
    rep = HtmlReport("Too wide")
    rep.heading("Overflow")
    rep.raw_html("<pre style='white-space:pre'>" + "y" * 300 + "</pre>")
    rep.raw_html("<div style='width:1200px'>a fixed-width block</div>")
    layout = browser.inspect_print_layout(rep.save(tmp_path / "wide.html"))
    assert layout["scroll_width"] > layout["viewport"]
    assert any("yyyy" in o for o in layout["overflowing"])
    assert any("a fixed-width block" in o for o in layout["overflowing"])


def test_images_load_and_the_page_logs_nothing(printed):
    layout = printed["layout"]
    assert layout["images"] == 4 and layout["broken"] == []
    assert layout["console"] == []


@needs_poppler
def test_no_heading_or_caption_is_left_at_the_foot_of_a_page(printed):
    r = printed["result"]
    text = printed["html"].read_text(encoding="utf-8")
    captions = re.findall(r"<caption>(.*?)</caption>", text)
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", text)
    figures = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert len(captions) >= 10 and len(figures) == 4
    top = PAGE_MARGINS_MM[0] * MM
    boxes = browser.pdf_words(r.path)
    for n, page in enumerate(browser.pdf_pages_text(r.path), 1):
        lines = browser.page_lines(page)
        assert lines, f"page {n} is empty"
        last = lines[-1]
        for label in captions + headings:
            assert not last.startswith(label[:25]), f"page {n} ends with '{label}'"
        if any(lines[0].startswith(f[:25]) for f in figures):
            # a figure caption opening the page's text: its figure is drawn above it
            first_y = min(w[1] for w in boxes[n - 1]["words"])
            assert first_y > top + 100, f"page {n} opens with a caption without its figure"


def test_screenshots_are_written_next_to_the_report(printed):
    shot = printed["folder"] / "report-print-layout.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for path in printed["shots"]:
        assert path.parent == printed["folder"]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_chromium
def test_a_failed_print_leaves_the_earlier_pdf(printed, tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"earlier")
    with pytest.raises(PdfError, match="within 0.01 seconds"):
        html_to_pdf(printed["html"], target, timeout=0.01)
    assert target.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


@needs_chromium
def test_cli_engine_prints_without_page_numbers(printed, tmp_path):
    r = html_to_pdf(printed["html"], tmp_path / "cli.pdf", engine="cli")
    assert r.engine == "cli" and r.section_pages == {}
    assert r.pages >= printed["result"].pages - 1 and r.main_pages < r.pages
    with pytest.raises(PdfError, match="engine"):
        html_to_pdf(printed["html"], tmp_path / "x.pdf", engine="word")


# --------------------------------------------------------------------------------------
# the demo report
# --------------------------------------------------------------------------------------
@pytest.mark.slow
@needs_chromium
def test_demo_report_prints_cleanly(tmp_path):
    from pmt.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--households", "2000", "--out", str(out), "--quiet"]) == 0
    r = html_to_pdf(out / "report.html", out / "report.pdf")
    layout = browser.inspect_print_layout(out / "report.html", out / "report-print-layout.png")
    print(f"\ndemo report: {r.pages} pages ({r.main_pages} before any annex) in "
          f"{r.seconds:.1f} s; sections {r.section_pages}; files in {out}")
    assert layout["overflowing"] == [] and layout["scroll_width"] <= layout["viewport"]
    assert layout["images"] >= 5 and layout["broken"] == [] and layout["console"] == []
    assert 5 <= r.pages <= 80
    starts = list(r.section_pages.values())
    # the executive summary leads on page 1; the contents follow on a new page
    assert starts[0] == 1 and starts == sorted(starts)  # the first annex section shares
    assert len(set(starts)) >= len(starts) - 1  # the annex heading's page
    assert r.main_pages <= 15
    if browser.have_poppler():
        first = " ".join(browser.pdf_text(r.path, 1).split())
        assert "pmt demo" in first and "Summary" in first and "Recommendation" in first
        assert "Contents" in " ".join(browser.pdf_text(r.path, 2).split())
        assert f"1 / {r.pages}" in first
        browser.pdf_page_images(r.path, out / "report", [1, 2, r.pages])
        keep_for_review(out, "demo")
        _, right, _, left = (m * MM for m in PAGE_MARGINS_MM)
        for n, page in enumerate(browser.pdf_words(r.path), 1):
            outside = [w for w in page["words"] if w[0] < left - 1.5
                       or w[2] > page["width"] - right + 1.5]
            assert outside == [], f"page {n}: {outside[:5]}"
