"""Reports: tables to XLSX/Markdown/HTML, matplotlib figures, and a self-contained HTML report."""

from pmt.report.html import HtmlReport
from pmt.report.tables import format_table, write_xlsx

__all__ = ["HtmlReport", "format_table", "write_xlsx"]
