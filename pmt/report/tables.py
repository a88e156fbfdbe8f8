"""Standard tables as formatted XLSX workbooks and Markdown text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pmt.errors import DataError
from pmt.io import atomic_write, excel_text_not_formulas

_SHEET_BAD = re.compile(r"[\[\]\*\?/\\:]")


def sheet_name(name: str, taken: set[str]) -> str:
    """An Excel-safe, unique sheet name (at most 31 characters, no []*?/\\:)."""
    base = _SHEET_BAD.sub("_", str(name))[:31] or "Sheet"
    out, k = base, 2
    while out.lower() in taken:
        suffix = f"_{k}"
        out, k = base[: 31 - len(suffix)] + suffix, k + 1
    taken.add(out.lower())
    return out


def format_table(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Round floats for display; leave integers and text alone."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(digits)
    return out


def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | Path, notes: Mapping[str, str] | None = None) -> Path:
    """Write each table to its own sheet of one workbook, with a bold header and frozen panes.

    Parameters
    ----------
    tables : mapping of sheet title -> DataFrame
        The index is written as the first column(s).
    path : str or Path
        Output ``.xlsx`` file.
    notes : mapping of sheet title -> str, optional
        A source/definition note written two rows under the table.

    Notes
    -----
    The workbook is written atomically (:func:`pmt.io.atomic_write`), and text cells
    starting with ``=`` are stored as text, never as formulas.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DataError(f"workbook path {path} must end in .xlsx.")
    if not tables:
        raise DataError("no tables to write.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        _write_workbook(tables, tmp, notes)
    return path


def _write_workbook(tables, path: Path, notes) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    taken: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for title, df in tables.items():
            name = sheet_name(title, taken)
            frame = df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
            frame.to_excel(writer, sheet_name=name)
            ws = writer.sheets[name]
            header_fill = PatternFill("solid", fgColor="DDE4EE")
            for cell in ws[1]:
                cell.font = Font(bold=True)
                cell.fill = header_fill
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.freeze_panes = ws.cell(row=2, column=frame.index.nlevels + 1)
            flat = frame.reset_index()
            for j, col in enumerate(flat.columns, start=1):
                values = flat[col]
                width = max([len(str(col))] + [len(f"{v:.4g}" if isinstance(v, float) else str(v)) for v in values.head(200)])
                ws.column_dimensions[get_column_letter(j)].width = min(max(8, width + 2), 60)
                if pd.api.types.is_float_dtype(values):
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        for cell in row:
                            cell.number_format = "0.000"
            if notes and title in notes:
                ws.cell(row=len(frame) + 3, column=1, value=notes[title]).font = Font(italic=True)
            excel_text_not_formulas(ws)  # labels such as "=5 rooms" stay text


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    frame = format_table(df, digits).reset_index()
    cols = [str(c) for c in frame.columns]

    def fmt(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:,.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
