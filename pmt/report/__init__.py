"""Reports: tables to XLSX/Markdown/HTML, display formatting, matplotlib figures, and a
self-contained HTML report.
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
from pmt.report.tables import format_table, sheet_name, table_basis, write_xlsx

__all__ = ["HtmlReport", "coef_cell", "display_parts", "display_table", "format_coef",
           "format_money", "format_share", "format_table", "glossary_for", "glossary_table",
           "heading", "sheet_name", "split_columns", "table_basis", "write_xlsx"]
