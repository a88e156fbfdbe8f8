"""Reports: tables to XLSX/Markdown/HTML, display formatting, matplotlib figures, and a
self-contained HTML report.

:mod:`pmt.report.sections` holds the report's words about each workflow step's results;
:mod:`pmt.report.outputs` the :class:`Outputs` they fill and the writer of its files.
"""

from pmt.report.format import (
    coef_cell,
    display_parts,
    display_table,
    format_coef,
    format_money,
    format_share,
    heading,
    split_columns,
)
from pmt.report.glossary import glossary_for, glossary_table
from pmt.report.html import HtmlReport
from pmt.report.outputs import Outputs, Section, write_outputs
from pmt.report.tables import format_table, sheet_name, table_basis, write_xlsx

__all__ = ["HtmlReport", "Outputs", "Section", "coef_cell", "display_parts", "display_table",
           "format_coef", "format_money", "format_share", "format_table", "glossary_for",
           "glossary_table", "heading", "sheet_name", "split_columns", "table_basis",
           "write_outputs", "write_xlsx"]
