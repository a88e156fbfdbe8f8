"""Read and write household data: CSV, Stata, SPSS, Parquet and Excel.

The format is chosen by the file extension, and the first bytes are checked against it so
that e.g. a ``.dta`` file that is really text gives a clear :class:`pmt.DataError` instead
of a parser traceback. Stata and SPSS files are read with pyreadstat, keeping the value
labels: without a spec, a labelled column becomes a pandas Categorical whose categories
are the labels (in code order); with a spec, the codes are validated against the spec's
codes and the column becomes a Categorical over the declared codes. The file's value and
variable labels are kept in ``df.attrs["value_labels"]`` / ``df.attrs["variable_labels"]``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from pmt.errors import DataError
from pmt.spec import DataSpec

__all__ = ["read_data", "write_data", "READ_FORMATS", "WRITE_FORMATS"]

#: extension -> format name for reading
READ_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".dta": "stata",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
}
#: extension -> format name for writing
WRITE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel"}

_MAGIC = {
    "parquet": [b"PAR1"],
    "spss": [b"$FL2", b"$FL3"],
    "excel": [b"PK\x03\x04", b"\xd0\xcf\x11\xe0"],  # xlsx/xlsm (zip), xls (OLE2)
}


def _looks_like(fmt: str, head: bytes) -> bool:
    if fmt in _MAGIC:
        return any(head.startswith(m) for m in _MAGIC[fmt])
    if fmt == "stata":
        # Stata 13+ (formats 117-119) start with an XML-like tag; Stata 7-12 (formats
        # 110-115) with a one-byte release number followed by the byte order (1 or 2).
        return head.startswith(b"<stata_dta>") or (
            len(head) > 1 and 102 <= head[0] <= 115 and head[1] in (1, 2)
        )
    if fmt in ("csv", "tsv"):
        # text: no NUL bytes in the first block
        return b"\x00" not in head
    return True


def _format_of(path: Path, known: dict[str, str], verb: str) -> str:
    ext = "".join(path.suffixes[-1:]).lower()
    if ext not in known:
        raise DataError(
            f"cannot {verb} '{path.name}': unknown file type '{ext or '(no extension)'}'. "
            f"Supported: {', '.join(sorted(known))}."
        )
    return known[ext]


def read_data(
    path: str | Path,
    spec: DataSpec | str | Path | None = None,
    sheet: str | int | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a household data file into a DataFrame, optionally validated by a data spec.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv``/``.txt`` (comma-separated), ``.tsv``, Stata ``.dta``, SPSS
        ``.sav``/``.zsav``, ``.parquet``/``.pq`` or Excel ``.xlsx``/``.xlsm``/``.xls`` file.
    spec : pmt.DataSpec or path, optional
        Validate the data with :meth:`pmt.DataSpec.validate` (raises
        :class:`pmt.DataSpecError` listing every problem) and type the columns.
    sheet : str or int, optional
        Excel sheet name or 0-based position (default: the first sheet).
    **kwargs
        Passed to the underlying reader (``pandas.read_csv``, ``pyreadstat.read_dta``, ...).

    Returns
    -------
    pandas.DataFrame
        With ``attrs["source"]`` (path) and ``attrs["format"]``; for Stata/SPSS also
        ``attrs["variable_labels"]`` and ``attrs["value_labels"]``.

    Raises
    ------
    pmt.DataError
        Missing file, empty file, unknown extension, content that is not of the type
        its extension says, unknown Excel sheet, a file without rows.
    """
    p = Path(path)
    fmt = _format_of(p, READ_FORMATS, "read")
    if not p.exists():
        raise DataError(f"data file '{p}' does not exist: check the path and working directory.")
    if not p.is_file():
        raise DataError(f"'{p}' is a directory, not a data file.")
    if p.stat().st_size == 0:
        raise DataError(f"data file '{p}' is empty (0 bytes): re-export it from the source.")
    with p.open("rb") as fh:
        head = fh.read(512)
    if sheet is not None and fmt != "excel":
        raise DataError(f"`sheet` applies to Excel files only; '{p.name}' is {fmt}.")
    if not _looks_like(fmt, head):
        raise DataError(
            f"'{p.name}' does not look like a {fmt} file (its first bytes do not match the "
            f"format): was it saved under the wrong extension? Rename it or re-export it."
        )
    attrs: dict[str, Any] = {"source": str(p), "format": fmt}
    try:
        if fmt in ("csv", "tsv"):
            df = pd.read_csv(p, sep="\t" if fmt == "tsv" else ",", **kwargs)
        elif fmt == "parquet":
            df = pd.read_parquet(p, **kwargs)
        elif fmt == "excel":
            df = _read_excel(p, sheet, **kwargs)
        else:
            df, attrs_extra = _read_labelled(p, fmt, spec is not None, **kwargs)
            attrs.update(attrs_extra)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"data file '{p}' has no columns (empty text file).") from None
    except Exception as exc:  # parser errors of the various libraries
        raise DataError(
            f"could not read '{p.name}' as a {fmt} file: {type(exc).__name__}: {exc}. Check that "
            "the file is complete and of the type its extension says."
        ) from None
    if len(df.columns) == 0:
        raise DataError(f"data file '{p}' has no columns.")
    if len(df) == 0:
        raise DataError(f"data file '{p}' has column names but no rows of data.")
    df.attrs.update(attrs)
    if spec is not None:
        if not isinstance(spec, DataSpec):
            spec = DataSpec.load(spec)
        df = spec.validate(df)
    return df


def _read_excel(p: Path, sheet, **kwargs) -> pd.DataFrame:
    engine = "openpyxl" if p.suffix.lower() in (".xlsx", ".xlsm") else None
    xl = pd.ExcelFile(p, engine=engine)
    names = xl.sheet_names
    if sheet is None:
        target = names[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise DataError(
                f"'{p.name}' has {len(names)} sheet(s) ({', '.join(names)}); sheet {sheet} does not exist."
            )
        target = names[sheet]
    else:
        if sheet not in names:
            raise DataError(
                f"'{p.name}' has no sheet '{sheet}'; its sheets are {', '.join(names)}."
            )
        target = sheet
    return pd.read_excel(xl, sheet_name=target, **kwargs)


def _read_labelled(p: Path, fmt: str, keep_codes: bool, **kwargs):
    """Read .dta/.sav with pyreadstat; labelled columns -> Categorical of labels.

    With ``keep_codes`` (a spec will validate the data) the codes stay as they are: the
    spec knows the codes and their labels, and labels in the file may differ in spelling.
    """
    import pyreadstat

    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    df, meta = reader(str(p), apply_value_formats=False, **kwargs)
    value_labels = {
        col: {_clean_code(k): str(v) for k, v in labs.items()}
        for col, labs in (meta.variable_value_labels or {}).items()
    }
    var_labels = {
        c: lab for c, lab in (meta.column_names_to_labels or {}).items() if lab not in (None, "")
    }
    if not keep_codes:
        for col, labs in value_labels.items():
            if col not in df.columns:
                continue
            s = df[col]
            present = [_clean_code(v) for v in pd.unique(s.dropna())]
            unlabelled = [v for v in present if v not in labs]
            if unlabelled:
                warnings.warn(
                    f"column '{col}' of '{p.name}' has values without a value label "
                    f"({', '.join(map(str, unlabelled[:5]))}); kept as codes, labels in "
                    "df.attrs['value_labels'].",
                    stacklevel=3,
                )
                continue
            codes = sorted(labs, key=lambda c: (isinstance(c, str), c))
            cats = list(dict.fromkeys(labs[c] for c in codes))
            df[col] = pd.Categorical(
                [labs[_clean_code(v)] if pd.notna(v) else None for v in s], categories=cats
            )
    return df, {"variable_labels": var_labels, "value_labels": value_labels}


def _clean_code(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def write_data(df: pd.DataFrame, path: str | Path, sheet: str = "data", index: bool = False) -> Path:
    """Write a DataFrame to CSV, Parquet or Excel (``.xlsx``), chosen by extension.

    Categorical columns are written as their values (codes, or labels if the categories
    are labels). Parquet keeps text categoricals; integer-coded ones are stored as
    integers (pyarrow), and reading with the data spec types them again. Returns the path
    written.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError("write_data needs a pandas DataFrame.")
    p = Path(path)
    fmt = _format_of(p, WRITE_FORMATS, "write")
    if not p.parent.exists():
        raise DataError(f"folder '{p.parent}' does not exist: create it first.")
    try:
        if fmt == "csv":
            df.to_csv(p, index=index)
        elif fmt == "parquet":
            out = df.copy()
            out.attrs = {}  # attrs may hold objects pyarrow cannot serialise
            out.to_parquet(p, index=index)
        else:
            if len(sheet) > 31:
                raise DataError(f"Excel sheet names have at most 31 characters; got {sheet!r}.")
            df.to_excel(p, sheet_name=sheet, index=index, engine="openpyxl")
    except DataError:
        raise
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"could not write '{p}' as {fmt}: {exc}") from None
    return p
