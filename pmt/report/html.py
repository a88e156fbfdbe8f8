"""A self-contained HTML report: headings, text, tables and embedded PNG figures.

The page reads on screen and prints on A4 (see :mod:`pmt.report.pdf` for the PDF): the
title page carries the table of contents, every section starts on a new page, tables fit
the page width (smaller type and wrapping cells for wide ones, never overflowing), figures
are scaled to the page and kept whole with their captions, and an annex
(:meth:`HtmlReport.annex`) can follow the main body.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from pmt.io import atomic_write
from pmt.report.format import looks_numeric

#: tables with at most this many rows are kept on one page when they fit
SHORT_ROWS = 30
#: printable width of an A4 page (portrait, landscape) in points, with the @page margins
PRINT_WIDTH_PT = ((210 - 30) / 25.4 * 72, (297 - 30) / 25.4 * 72)
#: print layouts tried in order for a table: (landscape, font size in pt, cell padding in pt,
#: CSS class); the first whose estimated width fits is used
_FITS = (
    (False, 8.0, 8.0, ""),
    (False, 7.0, 8.0, "small"),
    (False, 6.0, 5.0, "xsmall"),
    (True, 7.0, 8.0, "small"),
    (True, 6.0, 5.0, "xsmall"),
)

_CSS = """
:root{--ink:#222;--muted:#555;--rule:#bbb;--head:#e8edf3}
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;padding:0 1em;
  color:var(--ink);line-height:1.45}
h1.report-title{border-bottom:2px solid #333;margin-bottom:.2em}
h2.section-title{margin-top:2em;border-bottom:1px solid #aaa}
h2.annex-title{margin-top:2em;border-bottom:3px double #333}
p,li{overflow-wrap:break-word}
.table-wrap{overflow-x:auto;max-width:100%;margin:1em 0}
table{border-collapse:collapse;font-size:0.88em;font-family:Helvetica,Arial,sans-serif}
.table-wrap table{margin:0}
caption{text-align:left;font-weight:bold;padding:0 0 .25em;caption-side:top}
th,td{border:1px solid var(--rule);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--head)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:0.85em}
figure{margin:1.5em 0}figcaption{font-size:0.85em;color:var(--muted)}
img{max-width:100%;height:auto}
.note{font-size:0.85em;color:var(--muted)}
.raw{max-width:100%;overflow-x:auto}
nav.toc h2{font-size:1.1em;border:0;margin:1.5em 0 .3em}
nav.toc ol{list-style:none;padding-left:0;margin:0}
nav.toc ol ol{padding-left:1.5em}
nav.toc li{margin:.15em 0}
nav.toc a{display:flex;align-items:baseline;gap:.3em;color:inherit;text-decoration:none}
nav.toc a:hover .toc-text{text-decoration:underline}
nav.toc .toc-text{flex:0 1 auto}
nav.toc .toc-fill{flex:1 1 auto}
nav.toc .toc-page{flex:0 0 auto;min-width:2.5em;text-align:right;font-variant-numeric:tabular-nums}
.toc-paged nav.toc .toc-fill{border-bottom:1px dotted #888}
@page{size:A4;margin:16mm 15mm 18mm 15mm}
@page landscape{size:A4 landscape}
@media print{
  html{font-size:10pt}
  body{margin:0;padding:0;max-width:none;line-height:1.35}
  a{color:inherit;text-decoration:none}
  h1.report-title{font-size:20pt;margin-top:30mm}
  h2.section-title,h2.annex-title{font-size:15pt;margin-top:0}
  section.pmt-section,.pmt-annex{break-before:page}
  section.pmt-section.lead{break-before:auto}
  nav.toc.after-lead{break-before:page}
  .pmt-annex>section.pmt-section:first-of-type{break-before:auto}
  h1,h2,h3,h4,caption{break-after:avoid}
  p{orphans:3;widows:3}
  .table-wrap{overflow:visible;max-width:100%}
  table{font-size:8pt;max-width:100%;line-height:1.25}
  th,td{padding:1.5pt 3.5pt;overflow-wrap:anywhere}
  td.num{white-space:nowrap}
  th{hyphens:auto}
  th>span{display:inline-block;max-width:7em}
  thead{display:table-header-group}
  tr{break-inside:avoid}
  table.small{font-size:7pt}
  table.xsmall{font-size:6pt}
  table.xsmall th,table.xsmall td{padding:1pt 2pt}
  table.squeeze td.num{white-space:normal}
  .table-wrap.landscape,section.landscape-first>h2{page:landscape}
  .table-wrap.keep,figure,.raw section{break-inside:avoid}
  figure{margin:.8em 0}
  figure img{display:block;max-width:100%;max-height:115mm;width:auto;height:auto;margin:0 auto}
  figcaption,.table-wrap+.note,figure+.note{break-before:avoid}
  pre{font-size:7.5pt;line-height:1.2}
  .raw{overflow:visible}
  .raw h1,.raw h2{break-before:auto}
}
"""


#: resolution of the figures on screen (CSS size) and of the PNG files (pixels)
SCREEN_DPI = 110
FILE_DPI = 130


def figure_png(fig, dpi: int = FILE_DPI) -> bytes:
    """PNG bytes of a matplotlib figure (tight bounding box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def figure_to_base64(fig, dpi: int = SCREEN_DPI) -> str:
    """PNG bytes of a matplotlib figure, base64-encoded."""
    return base64.b64encode(figure_png(fig, dpi)).decode("ascii")


def _png_width(png: bytes) -> int:
    """Pixel width from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big")


def _em(text: str) -> float:
    """Rough width of ``text`` in em of Helvetica/Arial (digits 0.556 em, punctuation less)."""
    return sum(0.556 if ch.isdigit() else 0.28 if ch in " ,.:;'!|()-" else 0.6 for ch in text)


def print_fit(header: list[str], columns: list[list[str]],
              numeric: list[bool]) -> tuple[bool, str]:
    """Choose a print layout for a table: (landscape?, CSS classes).

    Numbers never wrap in print, so their widest cell sets a column's minimum width; text
    cells count up to 8 em and headers up to 4 em (both wrap). The first layout of
    ``_FITS`` (8 pt, 7 pt, 6 pt portrait; 7 pt, 6 pt landscape) whose estimated width fits
    the page is chosen; when none does, 6 pt landscape with numbers allowed to wrap
    (``squeeze``), so that the table can never be wider than the page.
    """
    need = []
    for head, cells, is_num in zip(header, columns, numeric, strict=True):
        widest = max((_em(c) for c in cells), default=0.0)
        if not is_num:
            widest = min(widest, 8.0)
        need.append(max(widest, min(_em(head), 4.0)))
    for landscape, font, pad, cls in _FITS:
        width = sum(n * font + pad + 1 for n in need)
        if width <= 0.95 * PRINT_WIDTH_PT[landscape]:
            return landscape, cls
    return True, "xsmall squeeze"


def _table(df: pd.DataFrame, digits: int, caption: str | None) -> tuple[str, bool]:
    frame = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    header = [str(c) for c in frame.columns]
    columns: list[list[str]] = [[] for _ in header]
    numeric = [True] * len(header)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for j, v in enumerate(row):
            if isinstance(v, float | np.floating):
                # abs() of a numpy floating is typed `object` by the stubs; it is a number
                places = 0 if abs(v) >= 1000 else digits  # type: ignore[operator]
                text = "" if np.isnan(v) else f"{v:,.{places}f}"
                cells.append(f"<td class='num'>{text}</td>")
            elif isinstance(v, int | np.integer):
                text = f"{int(v):,}"
                cells.append(f"<td class='num'>{text}</td>")
            elif isinstance(v, str) and looks_numeric(v):
                # a formatted number from pmt.report.format: right-aligned, never wrapped
                text = v
                cells.append(f"<td class='num'>{html.escape(text)}</td>")
            else:
                text = str(v)
                numeric[j] = False
                cells.append(f"<td class='text'>{html.escape(text)}</td>")
            columns[j].append(text)
        rows.append("<tr>" + "".join(cells) + "</tr>")
    landscape, cls = print_fit(header, columns, numeric)
    head = "".join(f"<th class='text'><span>{html.escape(h)}</span></th>" for h in header)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    attr = f" class='{cls}'" if cls else ""
    return (f"<table{attr}>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>", landscape)


def table_html(df: pd.DataFrame, digits: int = 3, caption: str | None = None) -> str:
    """An HTML table with numbers right-aligned and text left-aligned.

    In print, the table gets the largest type that fits the page width (see
    :func:`print_fit`: class ``small`` 7 pt, ``xsmall`` 6 pt, ``squeeze`` when numbers must
    wrap); :meth:`HtmlReport.table` also turns very wide tables to a landscape page.
    """
    return _table(df, digits, caption)[0]


class HtmlReport:
    """Build a single self-contained HTML file (figures embedded as data URIs).

    Sections are added in order: :meth:`heading` starts one, :meth:`text`,
    :meth:`preformatted`, :meth:`table`, :meth:`figure` and :meth:`raw_html` fill it.
    :meth:`annex` ends the main body; sections after it form the annex. :meth:`save` writes
    the file (atomically) with a title page and a table of contents;
    :func:`pmt.report.pdf.html_to_pdf` prints it to an A4 PDF.

    Parameters
    ----------
    title : str
        The report's title (page title, first heading, PDF footer).
    subtitle : str, optional
        A line under the title.
    lead : bool, default False
        Put the first section (an executive summary) on the title page, before the table
        of contents, which then starts on a new page.

    Notes
    -----
    In print each section (and the annex) starts on a new page; the title page holds the
    table of contents. Content added before the first :meth:`heading` goes on the title
    page, after the table of contents.

    Examples
    --------
    >>> rep = HtmlReport("Targeting report", "synthetic survey")
    >>> rep.heading("Summary"); rep.text("The PMT reaches 61% of the poor.")
    >>> rep.annex(); rep.heading("Model coefficients")
    >>> "Annex" in rep.render()
    True
    """

    def __init__(self, title: str, subtitle: str | None = None, lead: bool = False):
        self.title = title
        self.subtitle = subtitle
        # lead: the first section (an executive summary) sits on the title page, before the
        # table of contents, which then starts a new page
        self.lead = lead
        self._front: list[str] = []
        # each section: (anchor, title, parts); annex sections after self._annex_at
        self._sections: list[tuple[str, str, list[str]]] = []
        self._annex_at: int | None = None
        self._annex_title = "Annex"
        self._annex_intro: list[str] = []

    # -- structure ----------------------------------------------------------------------
    def heading(self, text: str) -> None:
        """Start a new section titled ``text`` (a new page in print, an entry in the TOC)."""
        anchor = f"s{len(self._sections) + 1}"
        self._sections.append((anchor, text, []))

    def annex(self, title: str = "Annex", text: str | None = None) -> None:
        """End the main body: the sections added after this form the annex.

        Parameters
        ----------
        title : str, default "Annex"
            The annex's heading (a new page in print, an entry in the TOC).
        text : str, optional
            A paragraph under it, e.g. what the annex contains.

        Notes
        -----
        The annex heading carries the anchor ``annex``;
        :func:`pmt.report.pdf.html_to_pdf` reports the pages before it as
        ``main_pages``. Calling it twice is an error.
        """
        if self._annex_at is not None:
            raise ValueError("the annex has already been started; call annex() once.")
        self._annex_at = len(self._sections)
        self._annex_title = title
        if text:
            self._annex_intro.append(f"<p>{html.escape(text)}</p>")

    @property
    def in_annex(self) -> bool:
        """Whether :meth:`annex` has been called (new sections go to the annex)."""
        return self._annex_at is not None

    def _add(self, fragment: str) -> None:
        if self._sections and (self._annex_at is None or len(self._sections) > self._annex_at):
            self._sections[-1][2].append(fragment)
        elif self._annex_at is not None:
            self._annex_intro.append(fragment)
        else:
            self._front.append(fragment)

    # -- content ------------------------------------------------------------------------
    def text(self, text: str, note: bool = False) -> None:
        """A paragraph (``note=True``: smaller, grey)."""
        cls = " class='note'" if note else ""
        self._add(f"<p{cls}>{html.escape(text)}</p>")

    def preformatted(self, text: str) -> None:
        """Monospaced text kept as written (e.g. a regression summary)."""
        self._add(f"<pre>{html.escape(text)}</pre>")

    def table(self, df: pd.DataFrame, caption: str | None = None, digits: int = 3) -> None:
        """A table (see :func:`table_html`).

        In print, tables of up to :data:`SHORT_ROWS` rows are kept on one page, the header
        row repeats on every page of longer ones, and tables too wide for a portrait page
        in 6 pt type get a landscape page of their own.
        """
        table, landscape = _table(df, digits, caption)
        cls = "table-wrap" + (" keep" if len(df) <= SHORT_ROWS else "")
        cls += " landscape" if landscape else ""
        self._add(f"<div class='{cls}'>{table}</div>")

    def figure(self, fig, caption: str, png: bytes | None = None,
               dpi: int = FILE_DPI) -> None:
        """A matplotlib figure, embedded as PNG, with its caption (kept together in print).

        ``png`` (rendered at ``dpi``, e.g. the bytes written to ``figures/``) is embedded
        as given, drawn at the size of a :data:`SCREEN_DPI` rendering, so one rendering
        serves the report and the figure file; without it the figure is rendered at
        :data:`SCREEN_DPI`.
        """
        alt = html.escape(caption)
        if png is None:
            data, size = figure_to_base64(fig), ""
        else:
            data = base64.b64encode(png).decode("ascii")
            width = round(_png_width(png) * SCREEN_DPI / dpi)
            size = f" style='width:{width}px'"
        self._add(
            f"<figure><img alt='{alt}'{size} src='data:image/png;base64,{data}'/>"
            f"<figcaption>{alt}</figcaption></figure>"
        )

    def raw_html(self, fragment: str) -> None:
        """Insert trusted HTML produced by pmt itself (e.g. a scorecard form)."""
        self._add(f"<div class='raw'>{fragment}</div>")

    # -- output -------------------------------------------------------------------------
    def _toc(self) -> str:
        def entry(anchor: str, text: str, inner: str = "") -> str:
            return (f"<li><a href='#{anchor}'><span class='toc-text'>{html.escape(text)}</span>"
                    "<span class='toc-fill'></span><span class='toc-page'></span></a>"
                    f"{inner}</li>")

        cut = len(self._sections) if self._annex_at is None else self._annex_at
        main = "".join(entry(a, t) for a, t, _ in self._sections[:cut])
        if self._annex_at is not None:
            sub = "".join(entry(a, t) for a, t, _ in self._sections[cut:])
            main += entry("annex", self._annex_title, f"<ol>{sub}</ol>" if sub else "")
        return f"<nav class='toc'><h2>Contents</h2><ol>{main}</ol></nav>"

    @staticmethod
    def _section(anchor: str, text: str, parts: list[str]) -> str:
        # a section opening with a landscape table puts its heading on that landscape page
        cls = "pmt-section"
        if parts and parts[0].startswith("<div class='table-wrap") and "landscape" in parts[0][:60]:
            cls += " landscape-first"
        return (f"<section class='{cls}'><h2 class='section-title' id='{anchor}'>"
                f"{html.escape(text)}</h2>{''.join(parts)}</section>")

    def render(self) -> str:
        """The complete HTML document as a string."""
        sub = f"<p class='note subtitle'>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        cut = len(self._sections) if self._annex_at is None else self._annex_at
        first = 1 if (self.lead and cut > 0) else 0
        lead = (self._section(*self._sections[0]).replace("class='pmt-section",
                                                          "class='pmt-section lead", 1)
                if first else "")
        toc = self._toc()
        if first:
            toc = toc.replace("<nav class='toc'>", "<nav class='toc after-lead'>", 1)
        body = "".join(self._section(*s) for s in self._sections[first:cut])
        annex = ""
        if self._annex_at is not None:
            annex = (f"<div class='pmt-annex'><h2 class='annex-title' id='annex'>"
                     f"{html.escape(self._annex_title)}</h2>{''.join(self._annex_intro)}"
                     + "".join(self._section(*s) for s in self._sections[cut:]) + "</div>")
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<header class='front'><h1 class='report-title'>{html.escape(self.title)}</h1>"
            f"{sub}{lead}{toc}{''.join(self._front)}</header>"
            f"<main>{body}</main>{annex}</body></html>"
        )

    def save(self, path: str | Path) -> Path:
        """Write the report to ``path`` (atomically; the folder is created); return it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.render()
        with atomic_write(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path
