"""What a workflow run hands to the report, and the writer that turns it into files.

:class:`Outputs` collects, in report order, the sections (titles, tables, notes, figures,
text) that :mod:`pmt.report.sections` builds from the results of the workflow's steps;
:func:`write_outputs` writes them as ``report.html`` (and ``report.pdf``), ``tables.xlsx``
and ``figures/*.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["MAIN_SECTIONS", "Outputs", "Section", "write_outputs"]

#: sections of the report body; all others go to the annex
MAIN_SECTIONS = ("Summary", "Survey, welfare and poverty", "Model comparison out of sample",
                 "Models against baselines: poverty and welfare", "Subgroup performance",
                 "Policy simulation")


@dataclass
class Section:
    """One section of the report: an ordered list of items."""

    title: str
    items: list[tuple[str, Any, str]] = field(default_factory=list)  # (kind, payload, caption)


@dataclass
class Outputs:
    """What a workflow run produced, in report order.

    ``sections`` drive the HTML report; every table also goes to the XLSX workbook under
    its sheet title (``tables``), every figure to ``figures/<key>.png``.
    """

    sections: list[Section] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    display: dict[str, dict] = field(default_factory=dict)  # display_table options by title
    figures: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)

    def section(self, title: str) -> Section:
        """Open a new section; the items added next go into it."""
        self.sections.append(Section(title))
        return self.sections[-1]

    def table(self, title: str, table: pd.DataFrame | pd.Series, note: str = "",
              show: bool = True, columns: list[str] | None = None, **display) -> pd.DataFrame:
        """Add a table (raw numbers, for the workbook); ``display`` are the options of
        :func:`pmt.report.format.display_table` for its plain-language rendering;
        ``columns`` limits the report to those columns (the workbook keeps all).
        """
        frame = table if isinstance(table, pd.DataFrame) else table.to_frame()
        self.tables[title] = frame
        if display:
            self.display[title] = display
        if note:
            self.notes[title] = note
        if show:
            shown = frame if columns is None else frame[[c for c in columns
                                                          if c in frame.columns]]
            self.sections[-1].items.append(("table", shown, title))
            if note:
                self.sections[-1].items.append(("note", note, ""))
        return frame

    def figure(self, key: str, fig, caption: str) -> None:
        """Add a matplotlib figure, saved as ``figures/<key>.png``."""
        self.figures[key] = fig
        self.sections[-1].items.append(("figure", fig, caption))

    def text(self, text: str, pre: bool = False) -> None:
        """Add a paragraph (``pre``: preformatted text)."""
        self.sections[-1].items.append(("pre" if pre else "text", text, ""))

    def html(self, fragment: str, caption: str) -> None:
        """Add an HTML fragment as it is (a field form)."""
        self.sections[-1].items.append(("html", fragment, caption))


def write_outputs(out: Outputs, out_dir: Path, title: str, subtitle: str,
                  pdf: bool = False) -> dict[str, Path]:
    """Write report.html (and report.pdf), tables.xlsx and figures/*.png into ``out_dir``;
    returns what went where.

    The report body holds the :data:`MAIN_SECTIONS`; every other section goes to the annex.
    Tables are shown in plain words and units (:func:`pmt.report.format.display_parts`,
    split to fit an A4 page); the workbook keeps the raw numbers.
    """
    import matplotlib.pyplot as plt

    from pmt.report.format import display_parts
    from pmt.report.glossary import glossary_for
    from pmt.report.html import FILE_DPI, HtmlReport, figure_png
    from pmt.report.tables import write_xlsx

    out_dir.mkdir(parents=True, exist_ok=True)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    # each figure is rendered once: the same PNG goes to figures/ and into the report
    pngs = {id(fig): figure_png(fig, FILE_DPI) for fig in out.figures.values()}
    main = [sec for sec in out.sections if sec.title in MAIN_SECTIONS]
    report = HtmlReport(title, subtitle, lead=bool(main) and main[0].title == "Summary")
    annex = [sec for sec in out.sections if sec.title not in MAIN_SECTIONS]

    def render(section: Section) -> None:
        report.heading(section.title)
        for kind, payload, caption in section.items:
            if kind == "table":
                options = out.display.get(caption, {})
                parts = display_parts(payload.head(80), **options)
                for k, part in enumerate(parts, 1):
                    report.table(part, caption=caption if len(parts) == 1
                                 else f"{caption} ({k} of {len(parts)})")
            elif kind == "note":
                report.text(payload, note=True)
            elif kind == "text":
                report.text(payload)
            elif kind == "pre":
                report.preformatted(payload)
            elif kind == "figure":
                report.figure(payload, caption, png=pngs.get(id(payload)), dpi=FILE_DPI)
            elif kind == "html":
                report.raw_html(payload)

    for section in main:
        render(section)
    if annex:
        report.annex("Annex", "Technical detail: model coefficients, accuracy in sample, the "
                     "hybrid means test, the scorecard and its forms, and a glossary.")
        for section in annex:
            render(section)
    report.heading("Glossary")
    report.table(glossary_for(out.tables)[["Term", "Definition", "Formula"]],
                 caption="Definitions of the measures in this report (DESIGN.md section 4)")
    for key, fig in out.figures.items():
        path = fig_dir / f"{key}.png"
        path.write_bytes(pngs[id(fig)])
        paths[f"figure {key}"] = path
    plt.close("all")
    paths["report"] = report.save(out_dir / "report.html")
    if pdf:
        from pmt.report.pdf import html_to_pdf

        paths["report (PDF)"] = html_to_pdf(paths["report"], out_dir / "report.pdf").path
    paths["tables"] = write_xlsx(out.tables, out_dir / "tables.xlsx", notes=out.notes,
                                 table_options=out.display)
    paths.update({k: v for k, v in out.artifacts.items()})
    return paths
