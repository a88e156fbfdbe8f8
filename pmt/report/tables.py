"""Standard tables as formatted XLSX workbooks and Markdown text.

:func:`write_xlsx` writes one sheet per table behind an index sheet, keeping the raw
numbers (with number formats chosen by :mod:`pmt.report.format`) and pmt's column names,
so that ``pandas.read_excel(path, sheet_name=...)`` gives the table back.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pmt.errors import DataError
from pmt.io import atomic_write, excel_text_not_formulas
from pmt.report import format as fmt

__all__ = ["write_xlsx", "sheet_name", "table_basis", "sheet_frame", "number_format",
           "format_table", "to_markdown", "INDEX_SHEET", "GLOSSARY_SHEET"]

INDEX_SHEET = "Index"
GLOSSARY_SHEET = "Glossary"
_SHEET_MAX = 31
_SHEET_BAD = re.compile(r"[\[\]\*\?/\\:]")
_KIND_OPTIONS = ("shares", "money", "counts", "kinds", "kind")


# --------------------------------------------------------------------------------------
# sheet names
# --------------------------------------------------------------------------------------
def _clean_title(name: str) -> str:
    text = str(name).replace(": ", " - ").replace(":", "-")
    text = text.replace("[", "(").replace("]", ")").replace("/", "-").replace("\\", "-")
    text = _SHEET_BAD.sub("", text)
    text = " ".join(text.split()).strip("'")
    if text.lower() == "history":  # reserved by Excel
        text = "History (table)"
    return text or "Sheet"


def _shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word boundary and marked "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= (limit - 1) // 2:
        cut = cut[:space]
    return cut.rstrip(" -,;(") + "…"


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if " - " in text:
        head, tail = text.rsplit(" - ", 1)
        room = limit - len(tail) - 3
        if room >= 6:  # keep the distinguishing tail ("... - budget") whole
            return f"{_shorten(head, room)} - {tail}"
    return _shorten(text, limit)


def sheet_name(name: str, taken: set[str]) -> str:
    r"""A readable, unique Excel sheet name for a table title.

    Rules: ``: `` becomes `` - ``, ``/`` and ``\`` become ``-``, ``[]`` become ``()``,
    ``*`` and ``?`` are removed; at most 31 characters: a longer title is cut at a word
    boundary and marked with "…" (for "prefix - tail" titles the tail is kept whole and the
    prefix shortened), so a cut is never silent, and the index sheet gives the full title;
    a name already in ``taken`` (case-insensitive) gets " (2)", " (3)" ... ``taken`` is
    updated.

    Parameters
    ----------
    name : str
        The table's title.
    taken : set of str
        Lower-cased names already used in the workbook; the new name is added.

    Returns
    -------
    str

    Examples
    --------
    >>> sheet_name("Coefficients: OLS", set())
    'Coefficients - OLS'
    >>> sheet_name("GMI top-up with asset filters: scenario_grid", set())
    'GMI top-up… - scenario_grid'
    """
    base = _clean_title(name)
    out = _fit(base, _SHEET_MAX)
    k = 2
    while out.lower() in taken:
        suffix = f" ({k})"
        out = _fit(base, _SHEET_MAX - len(suffix)) + suffix
        k += 1
    taken.add(out.lower())
    return out


# --------------------------------------------------------------------------------------
# basis (in sample / out of sample)
# --------------------------------------------------------------------------------------
_IN = re.compile(r"\bin[- ]sample\b", re.IGNORECASE)
_OUT = re.compile(r"\bout[- ]of[- ]sample\b|\bcross[- ]fitted\b", re.IGNORECASE)


def table_basis(title: str, note: str | None = None, frame: pd.DataFrame | None = None) -> str:
    """Whether a table is judged in sample, out of sample or both.

    Looks at a ``basis`` column or index level of ``frame`` (values ``in_sample``,
    ``out_of_sample``), else at the words "in sample"/"in-sample" and "out of sample"/
    "out-of-sample"/"cross-fitted" in the first sentence of the note, else in the title,
    else in the rest of the note.

    Parameters
    ----------
    title : str
        The table's title.
    note : str, optional
        Its note.
    frame : pandas.DataFrame, optional
        The table.

    Returns
    -------
    str
        "In sample", "Out of sample", "In sample and out of sample", or "" when neither is
        said.
    """
    found: set[str] = set()
    if frame is not None:
        values: list = []
        if "basis" in frame.columns:
            values = list(pd.Series(frame["basis"]).dropna().unique())
        elif "basis" in (frame.index.names or []):
            values = list(frame.index.get_level_values("basis").unique())
        for v in values:
            text = str(v).replace("_", " ")
            found |= {"in"} if _IN.search(text) else set()
            found |= {"out"} if _OUT.search(text) else set()
    # the note's first sentence ("In sample. ..."), else the title, else the whole note
    first = re.split(r"(?<=[.;])\s", note or "", maxsplit=1)[0]
    for text in (first, title, note or ""):
        if found:
            break
        found |= {"in"} if _IN.search(text) else set()
        found |= {"out"} if _OUT.search(text) else set()
    if found == {"in", "out"}:
        return "In sample and out of sample"
    return {frozenset({"in"}): "In sample", frozenset({"out"}): "Out of sample"}.get(
        frozenset(found), "")


# --------------------------------------------------------------------------------------
# tables to sheets
# --------------------------------------------------------------------------------------
def _row_number_index(index: pd.Index) -> bool:
    """A default RangeIndex, or an unnamed integer index (rows of a filtered table)."""
    if isinstance(index, pd.MultiIndex) or index.name is not None:
        return False
    return isinstance(index, pd.RangeIndex) or pd.api.types.is_integer_dtype(index.dtype)


def sheet_frame(frame: pd.DataFrame | pd.Series) -> tuple[pd.DataFrame, int]:
    """The table as written on a sheet: the index as ordinary columns, every value filled.

    A row-number index (a default RangeIndex, or an unnamed integer index) is not written.
    Any other index becomes the first column(s), one per level, with every value written
    (no merged or blank repeats); an unnamed level is called "name" ("name_1", "name_2" ...
    for several). Column names become text; a column MultiIndex is joined with " / ";
    duplicate names get a suffix.

    Parameters
    ----------
    frame : pandas.DataFrame or Series
        A result table.

    Returns
    -------
    (pandas.DataFrame, int)
        The flat table (RangeIndex) and the number of leading columns that came from the
        index.
    """
    frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
    frame = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [" / ".join(str(p) for p in c if str(p) != "") for c in frame.columns]
    frame.columns = [str(c) for c in frame.columns]
    if _row_number_index(frame.index):
        flat, n_index = frame.reset_index(drop=True), 0
    else:
        n_index = frame.index.nlevels
        names = list(frame.index.names)
        if n_index == 1:
            names = [names[0] if names[0] is not None else "name"]
        else:
            names = [n if n is not None else f"name_{i + 1}" for i, n in enumerate(names)]
        index_part = pd.DataFrame({str(n): np.asarray(frame.index.get_level_values(i),
                                                       dtype=object)
                                   for i, n in enumerate(names)})
        flat = pd.concat([index_part, frame.reset_index(drop=True)], axis=1)
    seen: dict[str, int] = {}
    columns = []
    for c in flat.columns:
        name = str(c)
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 1)
        columns.append(name)
    flat.columns = columns
    return flat, n_index


def _cell_value(v, where: str):
    """A value openpyxl stores as itself: numbers, booleans, text; dates as ISO text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        v = float(v)
        if np.isnan(v):
            return None
        return v if np.isfinite(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, _dt.date | _dt.datetime | pd.Timestamp | np.datetime64):
        return pd.Timestamp(v).isoformat()  # dates never: written as text
    text = str(v)
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if ILLEGAL_CHARACTERS_RE.search(text):
        raise DataError(f"cannot write {where}: the text {text[:40]!r} has control characters "
                        "(e.g. \\x01), which Excel cannot store; remove them.")
    return text


def _decimals_format(d: int) -> str:
    return "0" if d <= 0 else "0." + "0" * d


def number_format(kind: str, value, money_large: bool = True) -> str:
    """The Excel number format of one cell of a given kind (see :mod:`pmt.report.format`).

    share "0.0%"; percent "0.00"; money "#,##0" (or "#,##0.00" when the column's amounts
    are small, ``money_large=False``); count "#,##0"; ratio "0.00"; decimal "0.000";
    coefficient and small numbers: 3 significant digits ("0.0000545" -> "0.0000000");
    p-value "0.000" (scientific below 0.001); integers "0" (below 10,000) or "#,##0";
    text "@". Never a date format.

    Parameters
    ----------
    kind : str
        The cell's kind (:func:`pmt.report.format.cell_kinds`).
    value : int, float, bool or str
        The cell's value as written.
    money_large : bool
        Whether the amounts of the cell's column are at least 100 (no decimals).

    Returns
    -------
    str
        An Excel number format code.
    """
    if kind == fmt.TEXT or isinstance(value, str):
        return "@"
    if isinstance(value, bool):
        return "General"
    x = float(value)
    if kind == fmt.SHARE:
        return "0.0%"
    if kind == fmt.PERCENT:
        return "0.00"
    if kind == fmt.MONEY:
        return "#,##0" if money_large else "#,##0.00"
    if kind == fmt.COUNT:
        return "#,##0"
    if kind == fmt.RATIO:
        return "0.00"
    if kind == fmt.DECIMAL:
        return "0.000"
    if kind == fmt.PVALUE:
        return "0.000" if x >= 0.001 or x == 0 else "0.0E+00"
    if kind == fmt.COEF:
        if x != 0 and abs(x) < 1e-8:
            return "0.00E+00"
        return _decimals_format(min(fmt._sig_decimals(x, 3, 3), 12))
    # number
    if isinstance(value, int):
        return "#,##0" if abs(value) >= 10_000 else "0"
    if abs(x) >= 1000:
        return "#,##0"
    if abs(x) >= 10:
        return "0.0"
    if x != 0 and abs(x) < 1e-8:
        return "0.00E+00"
    return _decimals_format(min(fmt._sig_decimals(x, 3, 2), 12))


def _display_width(v) -> int:
    if v is None:
        return 0
    if isinstance(v, float):
        return len(f"{v:,.4g}")
    if isinstance(v, int):
        return len(f"{v:,}")
    return len(str(v))


def _write_table(ws, title: str, frame: pd.DataFrame, note: str | None, options: Mapping,
                 plain_headings: bool) -> tuple[int, int]:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    flat, n_index = sheet_frame(frame)
    kind_options = {k: v for k, v in (options or {}).items() if k in _KIND_OPTIONS}
    kinds = fmt.cell_kinds(flat, **kind_options)
    header = [fmt.heading(c) if plain_headings else c for c in flat.columns]
    ws.append([_cell_value(h, f"the header of '{title}'") for h in header])
    rows = [[_cell_value(v, f"table '{title}', column '{flat.columns[j]}'")
             for j, v in enumerate(row)] for row in flat.itertuples(index=False, name=None)]
    for row in rows:
        ws.append(row)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.number_format = "@"
    for j in range(flat.shape[1]):
        col_kinds = kinds.iloc[:, j].tolist()
        money = [abs(r[j]) for r, k in zip(rows, col_kinds, strict=True)
                 if k == fmt.MONEY and isinstance(r[j], int | float) and not isinstance(r[j], bool)]
        money_large = not money or float(np.median(money)) >= 100
        letter = get_column_letter(j + 1)
        for i, (row, k) in enumerate(zip(rows, col_kinds, strict=True), start=2):
            v = row[j]
            if v is None:
                continue
            ws[f"{letter}{i}"].number_format = number_format(k, v, money_large)
        width = max([_display_width(header[j])] + [_display_width(r[j]) for r in rows[:200]])
        ws.column_dimensions[letter].width = min(max(8, width + 2), 60)
    ws.freeze_panes = ws.cell(row=2, column=n_index + 1)
    if rows and flat.shape[1]:
        ws.auto_filter.ref = f"A1:{get_column_letter(flat.shape[1])}{len(rows) + 1}"
    if note:
        ws.cell(row=len(rows) + 3, column=1, value=note).font = Font(italic=True)
    excel_text_not_formulas(ws)  # labels such as "=5 rooms" stay text
    return len(rows), flat.shape[1] - n_index


def _write_plain(ws, frame: pd.DataFrame, widths: Mapping[str, int]) -> None:
    """A small sheet of text (index, glossary): bold header, wrapped long text."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        ws.append([_cell_value(v, f"sheet '{ws.title}'") for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
    for j, col in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = widths.get(col, 12)
        if widths.get(col, 12) >= 40:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | Path,
               notes: Mapping[str, str] | None = None, *,
               basis: Mapping[str, str] | None = None,
               table_options: Mapping[str, Mapping] | None = None,
               index_sheet: bool = True, glossary: bool = True,
               plain_headings: bool = False) -> Path:
    """Write tables to one workbook: an index sheet, one sheet per table, a glossary.

    Parameters
    ----------
    tables : mapping of title -> DataFrame (or Series)
        In order. A row-number index (default RangeIndex, or an unnamed integer index) is
        not written; any other index becomes ordinary first column(s) with every value
        filled (a MultiIndex gives one column per level, no merged or blank cells).
    path : str or Path
        Output ``.xlsx`` file.
    notes : mapping of title -> str, optional
        A source/definition note, written two rows under the table and in the index.
    basis : mapping of title -> str, optional
        "In sample", "Out of sample" ... for the index sheet; by default read from the
        table's ``basis`` column, else from the words of its title and note
        (:func:`table_basis`).
    table_options : mapping of title -> mapping, optional
        Kind overrides per table for the number formats (``shares``, ``money``, ``counts``,
        ``kinds``, ``kind`` of :func:`pmt.report.format.cell_kinds`), e.g.
        ``{"Decile overlap: OLS": {"kind": "share"}}``. Other keys (the display options of
        :func:`pmt.report.format.display_table`) are ignored, so one dict can serve both.
    index_sheet : bool
        Write the index sheet first: sheet (a link), full title, basis, description (the
        note), rows, columns.
    glossary : bool
        Append a "Glossary" sheet defining the indicators the tables use
        (:func:`pmt.report.glossary.glossary_for`).
    plain_headings : bool
        Write plain-language headings instead of pmt's column names (which
        ``pandas.read_excel`` users and the glossary refer to).

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Sheet names are readable and unique (:func:`sheet_name`). Numbers keep full precision
    with number formats by kind (:func:`number_format`): percent for shares, thousands
    separators for counts and money, 3 significant digits for small coefficients, never a
    date. Header rows are frozen and filtered; labels are text; text cells starting with
    ``=`` are stored as text, never as formulas. The workbook is written atomically
    (:func:`pmt.io.atomic_write`).
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DataError(f"workbook path {path} must end in .xlsx.")
    if not tables:
        raise DataError("no tables to write.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        _write_workbook(tables, tmp, notes or {}, basis or {}, table_options or {},
                        index_sheet, glossary, plain_headings)
    return path


def _write_workbook(tables, path: Path, notes, basis, options, index_sheet, glossary,
                    plain_headings) -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.hyperlink import Hyperlink

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    index_ws = None
    if index_sheet:
        index_ws = wb.create_sheet(sheet_name(INDEX_SHEET, taken))
    entries = []
    for title, df in tables.items():
        frame = df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
        name = sheet_name(title, taken)
        ws = wb.create_sheet(name)
        note = notes.get(title)
        n_rows, n_cols = _write_table(ws, str(title), frame, note, options.get(title, {}),
                                      plain_headings)
        entries.append({"Sheet": name, "Title": str(title),
                        "Basis": basis.get(title) or table_basis(str(title), note, frame),
                        "Description": note or "", "Rows": n_rows, "Columns": n_cols})
    if glossary:
        from pmt.report.glossary import glossary_for

        terms = glossary_for([df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)
                              for df in tables.values()])
        if len(terms):
            name = sheet_name(GLOSSARY_SHEET, taken)
            _write_plain(wb.create_sheet(name), terms[["Name in tables.xlsx", "Term",
                                                       "Definition", "Formula"]],
                         {"Name in tables.xlsx": 26, "Term": 30, "Definition": 80,
                          "Formula": 34})
            entries.append({"Sheet": name, "Title": "Glossary", "Basis": "",
                            "Description": "Definitions of the indicators in these tables "
                                           "(DESIGN.md section 4).",
                            "Rows": len(terms), "Columns": terms.shape[1]})
    if index_ws is not None:
        index = pd.DataFrame(entries, columns=["Sheet", "Title", "Basis", "Description", "Rows",
                                               "Columns"])
        _write_plain(index_ws, index, {"Sheet": 33, "Title": 45, "Basis": 16,
                                       "Description": 90, "Rows": 8, "Columns": 9})
        for i, name in enumerate(index["Sheet"], start=2):
            cell = index_ws.cell(row=i, column=1)
            quoted = name.replace("'", "''")
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{quoted}'!A1",
                                       display=name)
            cell.style = "Hyperlink"
        excel_text_not_formulas(index_ws)
    wb.save(path)


# --------------------------------------------------------------------------------------
# small helpers kept for callers
# --------------------------------------------------------------------------------------
def format_table(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Round floats for display; leave integers and text alone.

    See :func:`pmt.report.format.display_table` for report-ready tables (plain headings,
    percentages, money with units).
    """
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(digits)
    return out


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    frame = format_table(df, digits).reset_index()
    cols = [str(c) for c in frame.columns]

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:,.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
