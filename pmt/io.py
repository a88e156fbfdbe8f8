"""Read and write household data: CSV, Stata, SPSS, Parquet and Excel.

Reading
    The format is chosen by the file extension, and the first bytes are checked against
    it so that e.g. a ``.dta`` file that is really text gives a clear :class:`pmt.DataError`
    instead of a parser traceback. Every parser failure is a ``DataError`` naming the file
    and the option to set.

    *Text files* (``.csv``/``.txt``/``.tsv``): the separator (``,``, ``;``, tab or ``|``),
    a decimal comma (``1,5`` in a ``;``-separated file) and the encoding (UTF-8, else
    cp1252, else latin-1, with a warning) are detected unless ``sep=``, ``decimal=`` or
    ``encoding=`` are given; what was used is recorded in ``df.attrs["sep"]``,
    ``["decimal"]`` and ``["encoding"]``.

    *Stata and SPSS* files are parsed by pyreadstat in a helper process
    (:mod:`pmt._reader_child`), so that a crash of the C reader on a corrupted file becomes
    a ``DataError`` ("... is corrupt ...") instead of killing the caller. Without a spec, a
    value-labelled column becomes a pandas Categorical whose categories are the labels (in
    code order). With a spec the codes are kept; value labels in the file that contradict
    the spec's ``codes`` are an error (never a silent recode), and the file's variable and
    value labels fill in what the spec leaves out (:meth:`pmt.DataSpec.with_file_labels`).
    The file's labels are kept in ``df.attrs["value_labels"]`` / ``["variable_labels"]``.

    :func:`read_with_spec` is the one entry point that reads and validates a file against a
    data spec; it returns the typed frame and the spec completed from the file's labels.

Writing
    :func:`write_data` writes CSV, Parquet, Excel, Stata ``.dta`` and SPSS ``.sav`` (with
    variable and value labels from the spec, else from ``df.attrs``). Every write is atomic
    (:func:`atomic_write`): a temporary file in the same folder is renamed over the target
    only once complete, so a failed write leaves any earlier file untouched. Text cells that
    start with ``=`` are written to Excel as text, never as formulas.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from pmt._files import atomic_write
from pmt.errors import DataError, DataSpecError, example_rows
from pmt.spec import DataSpec

__all__ = [
    "read_data",
    "read_with_spec",
    "write_data",
    "atomic_write",
    "READ_FORMATS",
    "WRITE_FORMATS",
]

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
WRITE_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".dta": "stata",
    ".sav": "spss",
    ".zsav": "spss",
}

_MAGIC = {
    "parquet": [b"PAR1"],
    "spss": [b"$FL2", b"$FL3"],
    "excel": [b"PK\x03\x04", b"\xd0\xcf\x11\xe0"],  # xlsx/xlsm (zip), xls (OLE2)
}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


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
        # text: no NUL bytes in the first block (UTF-16 text, e.g. Excel's "Unicode text",
        # is recognised by its byte order mark)
        return head.startswith(_UTF16_BOMS) or b"\x00" not in head
    return True


def _format_of(path: Path, known: dict[str, str], verb: str) -> str:
    ext = "".join(path.suffixes[-1:]).lower()
    if ext not in known:
        raise DataError(
            f"cannot {verb} '{path.name}': unknown file type '{ext or '(no extension)'}'. "
            f"Supported: {', '.join(sorted(known))}."
        )
    return known[ext]


# --------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------
# atomic_write lives at the bottom layer (pmt/_files.py) so that spec.py can use it too;
# it is re-exported here as part of the reading and writing API.


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def read_data(
    path: str | Path,
    spec: DataSpec | str | Path | None = None,
    sheet: str | int | None = None,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    value_labels: Literal["labels", "codes"] = "labels",
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a household data file into a DataFrame, optionally validated by a data spec.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv``/``.txt`` (comma, semicolon, tab or pipe separated), ``.tsv``, Stata
        ``.dta``, SPSS ``.sav``/``.zsav``, ``.parquet``/``.pq`` or Excel
        ``.xlsx``/``.xlsm``/``.xls`` file.
    spec : pmt.DataSpec or path, optional
        Read through :func:`read_with_spec` (value labels checked against the spec's
        codes, the data validated and typed) and return the frame.
    sheet : str or int, optional
        Excel sheet name or 0-based position (default: the first sheet).
    sep, decimal : str, optional
        Text files: field separator and decimal mark; detected when not given.
    encoding : str, optional
        Text, Stata and SPSS files: the character encoding (text files: detected when not
        given; Stata/SPSS: as recorded in the file).
    value_labels : {"labels", "codes"}
        Stata/SPSS without a spec: value-labelled columns become Categoricals of their
        labels ("labels", for looking at the data) or keep their numeric codes ("codes",
        for rules and models that compare numbers); the labels are in ``attrs`` either way.
    **kwargs
        Passed to the underlying reader (``pandas.read_csv``, ``pyreadstat.read_dta``, ...).

    Returns
    -------
    pandas.DataFrame
        With ``attrs["source"]`` (path) and ``attrs["format"]``; for text files also
        ``attrs["sep"]``, ``["decimal"]`` and ``["encoding"]``; for Stata/SPSS
        ``attrs["variable_labels"]`` and ``attrs["value_labels"]``.

    Raises
    ------
    pmt.DataError
        Missing, empty, corrupt or unparsable file, unknown extension, content that is not
        of the type its extension says, unknown Excel sheet, a file without rows.
    pmt.DataSpecError
        With a spec: the data or the file's value labels do not match it.
    """
    opts: dict[str, Any] = dict(sheet=sheet, sep=sep, decimal=decimal, encoding=encoding)
    if spec is not None:
        df, _ = read_with_spec(path, spec, **opts, **kwargs)
        return df
    if value_labels not in ("labels", "codes"):
        raise DataError(f"value_labels must be 'labels' or 'codes'; got {value_labels!r}.")
    df, _ = _read_file(Path(path), keep_codes=value_labels == "codes", text_columns=(),
                       **opts, kwargs=kwargs)
    return df


def read_with_spec(
    path: str | Path,
    spec: DataSpec | str | Path,
    *,
    sheet: str | int | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    extra: Literal["warn", "ignore", "error"] = "warn",
    **kwargs: Any,
) -> tuple[pd.DataFrame, DataSpec]:
    """Read a data file, check it against a data spec and complete the spec from the file.

    The one reading path for survey files (the CLI and the project workflow use it):

    1. the file is read (options as in :func:`read_data`); Stata/SPSS value-labelled
       columns keep their numeric codes, and text-file columns of type ``id`` are read as
       text (leading zeros survive; they become integers when every value is a plain
       integer);
    2. the file's value labels are compared with the spec's ``codes``: the same code with a
       different label (after trimming and ignoring case), or a label that the spec gives
       to another code, raises :class:`pmt.DataSpecError`; the data are never recoded
       through labels;
    3. the file's variable labels and value labels fill in what the spec leaves out
       (:meth:`pmt.DataSpec.with_file_labels`);
    4. the data are validated and typed by the completed spec (:meth:`pmt.DataSpec.validate`).

    Parameters
    ----------
    path : str or pathlib.Path
        The data file (see :func:`read_data` for the formats).
    spec : pmt.DataSpec or path
        The data spec, or the path of its YAML file.
    sheet, sep, decimal, encoding, **kwargs
        As in :func:`read_data`.
    extra : {"warn", "ignore", "error"}
        What to do about columns that are not in the spec (see :meth:`pmt.DataSpec.validate`).

    Returns
    -------
    (pandas.DataFrame, pmt.DataSpec)
        The validated, typed frame (``attrs["spec_hash"]`` is the hash of the completed
        spec) and the completed spec.

    Raises
    ------
    pmt.DataError
        The file cannot be read (see :func:`read_data`).
    pmt.DataSpecError
        The file's value labels contradict the spec, or the data do not match it; the
        message names the file, and each problem the column, rows and the fix.
    """
    if not isinstance(spec, DataSpec):
        spec = DataSpec.load(spec)
    p = Path(path)
    id_cols = tuple(c for c in spec.columns if spec[c].type == "id")
    df, fmt = _read_file(p, keep_codes=True, text_columns=id_cols, sheet=sheet, sep=sep,
                         decimal=decimal, encoding=encoding, kwargs=kwargs)
    labelled = fmt in ("stata", "spss")
    if labelled:
        for c in id_cols:  # Stata/SPSS store numeric ids as doubles: give them back whole
            if c in df.columns and _whole_floats(df[c]):
                df[c] = df[c].astype("int64")
    filled = spec.with_file_labels(
        df.attrs.get("variable_labels", {}) if labelled else {},
        df.attrs.get("value_labels", {}) if labelled else {},
        source=p.name,
        data=df,
    )
    try:
        out = filled.validate(df, extra=extra)
    except DataSpecError as exc:
        raise DataSpecError(f"'{p.name}': {exc}", exc.problems) from None
    return out, filled


def _whole_floats(s: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(s.dtype) or s.isna().any():
        return False
    v = s.to_numpy()
    return bool(np.all(np.isfinite(v)) and np.all(v == np.floor(v)) and np.all(np.abs(v) < 2**53))


def _read_file(
    p: Path,
    *,
    keep_codes: bool,
    text_columns: tuple[str, ...],
    sheet: str | int | None,
    sep: str | None,
    decimal: str | None,
    encoding: str | None,
    kwargs: dict,
) -> tuple[pd.DataFrame, str]:
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
    for name, value in (("sep", sep), ("decimal", decimal)):
        if value is not None and fmt not in ("csv", "tsv"):
            raise DataError(f"`{name}` applies to text files only; '{p.name}' is {fmt}.")
    if encoding is not None and fmt in ("parquet", "excel"):
        raise DataError(
            f"`encoding` applies to text, Stata and SPSS files; '{p.name}' is {fmt}, whose "
            "encoding is fixed by the format."
        )
    if not _looks_like(fmt, head):
        raise DataError(
            f"'{p.name}' does not look like a {fmt} file (its first bytes do not match the "
            f"format): was it saved under the wrong extension? Rename it or re-export it."
        )
    attrs: dict[str, Any] = {"source": str(p), "format": fmt}
    try:
        if fmt in ("csv", "tsv"):
            df, text_attrs = _read_text(p, fmt, sep, decimal, encoding, text_columns, kwargs)
            attrs.update(text_attrs)
        elif fmt == "parquet":
            df = pd.read_parquet(p, **kwargs)
        elif fmt == "excel":
            df = _read_excel(p, sheet, **kwargs)
        else:
            if encoding is not None:
                kwargs = {**kwargs, "encoding": encoding}
            df, attrs_extra = _read_labelled(p, fmt, keep_codes, kwargs)
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
    return df, fmt


# --- text files -----------------------------------------------------------------------
_SEPARATORS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 16
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d+\.\d+\s*$")
_THOUSANDS_POINT = re.compile(r"^\s*[-+]?\d{1,3}(\.\d{3})+(,\d+)?\s*$")
_PLAIN_INT = re.compile(r"^-?(0|[1-9]\d{0,17})$")


def _sniff_encoding(p: Path, sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(_UTF16_BOMS):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _fallback_encoding(p, sample)


def _fallback_encoding(p: Path, sample: bytes) -> str:
    try:
        sample.decode("cp1252")
        enc = "cp1252"
    except UnicodeDecodeError:
        enc = "latin-1"
    warnings.warn(
        f"'{p.name}' is not UTF-8 text; read it as {enc} (Western European). If accented or "
        "non-Latin text looks wrong, pass the file's encoding, e.g. encoding='cp1251' "
        "(Cyrillic) or encoding='cp1258' (Vietnamese).",
        stacklevel=5,
    )
    return enc


def _sniff_sep(lines: list[str]) -> str:
    """The separator that splits the header into the most fields, consistently."""
    best, best_score = ",", (0.0, 1)
    for cand in _SEPARATORS:
        counts = [len(r) for r in csv.reader(lines, delimiter=cand) if r]
        if not counts or counts[0] < 2:
            continue
        same = sum(n == counts[0] for n in counts) / len(counts)
        score = (same, counts[0])
        if score > best_score:
            best, best_score = cand, score
    return best


def _sniff_decimal(lines: list[str], sep: str) -> tuple[str, str | None]:
    """Decimal mark and thousands separator of a sample (a decimal comma needs sep != ',')."""
    if sep == ",":
        return ".", None
    comma = point = thousands = 0
    for row in csv.reader(lines[1:], delimiter=sep):
        for field in row:
            if _DECIMAL_COMMA.match(field):
                comma += 1
            elif _THOUSANDS_POINT.match(field) and "," in field:
                thousands += 1
            elif _DECIMAL_POINT.match(field):
                point += 1
    if (comma or thousands) and not point:
        return ",", ("." if thousands else None)
    return ".", None


def _read_text(p: Path, fmt: str, sep, decimal, encoding, text_columns, kwargs):
    with p.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
        truncated = bool(fh.read(1))
    enc = encoding or _sniff_encoding(p, sample)
    try:
        text = codecs.getincrementaldecoder(enc)(errors="replace").decode(sample, final=not truncated)
    except LookupError:
        raise DataError(
            f"unknown encoding {encoding!r} for '{p.name}': use a Python codec name such as "
            "'utf-8', 'cp1252', 'cp1251' or 'latin-1'."
        ) from None
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    lines = lines[:200]
    detected = []
    if sep is None:
        sep = "\t" if fmt == "tsv" else _sniff_sep(lines)
        detected.append("sep")
    thousands = kwargs.pop("thousands", None)
    if decimal is None:
        decimal, guessed_thousands = _sniff_decimal(lines, sep)
        thousands = thousands or guessed_thousands
        detected.append("decimal")
    header = next(csv.reader(lines[:1], delimiter=sep), [])
    dtype = kwargs.pop("dtype", None)
    as_text = [c for c in text_columns if c in header]
    if as_text and dtype is None:
        dtype = {c: str for c in as_text}
    how = ", ".join(f"{k}={v!r}" for k, v in (("sep", sep), ("decimal", decimal), ("encoding", enc)))
    options = dict(sep=sep, decimal=decimal, thousands=thousands, dtype=dtype, **kwargs)
    try:
        try:
            df = pd.read_csv(p, encoding=enc, **options)
        except UnicodeDecodeError:
            if encoding is not None or enc not in ("utf-8", "utf-8-sig"):
                raise
            # UTF-8 at the start, something else further down
            enc = _fallback_encoding(p, p.read_bytes())
            how = how.rsplit(", encoding=", 1)[0] + f", encoding={enc!r}"
            df = pd.read_csv(p, encoding=enc, **options)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"'{p.name}' is not valid {enc} text ({exc.reason} at byte {exc.start}); set "
            "encoding= to the file's encoding (e.g. 'cp1252', 'cp1251' or 'latin-1')."
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"could not parse '{p.name}' as text with {how}"
            f"{' (detected)' if detected else ''}: {str(exc).strip()}. Set sep= to the file's "
            "field separator (e.g. sep=';' or sep='\\t'), or fix the quoting of that line."
        ) from None
    except ValueError as exc:
        if isinstance(exc, pd.errors.EmptyDataError):
            raise
        raise DataError(
            f"could not read '{p.name}' as text with {how}: {exc}. Check the options sep=, "
            "decimal= and encoding=."
        ) from None
    for c in as_text:
        s = df[c]
        ok = s.notna().all() and s.astype(str).str.fullmatch(_PLAIN_INT).all()
        if ok:
            df[c] = s.astype("int64")
    return df, {"sep": sep, "decimal": decimal, "encoding": enc}


# --- Excel ----------------------------------------------------------------------------
def _read_excel(p: Path, sheet, **kwargs) -> pd.DataFrame:
    engine = "openpyxl" if p.suffix.lower() in (".xlsx", ".xlsm") else None
    with pd.ExcelFile(p, engine=engine) as xl:
        return _read_sheet(p, xl, sheet, **kwargs)


def _read_sheet(p: Path, xl: pd.ExcelFile, sheet, **kwargs) -> pd.DataFrame:
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


# --- Stata and SPSS: parsed in a helper process ---------------------------------------
_CHILD_SCRIPT = Path(__file__).with_name("_reader_child.py")


class _ReaderHelper:
    """One helper process per interpreter that parses Stata/SPSS files (see
    :mod:`pmt._reader_child`); restarted after it dies, and in a forked child.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.owner = 0
        self.stderr: IO[bytes] | None = None
        self.lock = threading.Lock()

    def _start(self) -> None:
        env = dict(os.environ)
        # the helper imports pyreadstat/pyarrow exactly as this process does
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", str(_CHILD_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                env=env,
            )
        except OSError as exc:
            raise DataError(
                f"could not start the Stata/SPSS reader process ({sys.executable!r}: {exc}); "
                "convert the file to CSV or Parquet, or run pmt from a regular Python."
            ) from None
        self.owner = os.getpid()
        assert self.proc.stdout is not None  # started with stdout=PIPE
        if not self.proc.stdout.readline():
            rc = self.proc.wait()
            tail = self._stderr_tail()
            self.proc = None
            raise DataError(
                f"could not start the Stata/SPSS reader process (exit status {rc}): {tail} "
                "Check that pyreadstat and pyarrow are installed (`pip install pmt`)."
            )

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self.stderr.seek(0)
            return self.stderr.read()[-600:].decode("utf-8", "replace").strip()
        return ""

    def request(self, payload: dict) -> dict:
        """Send one request; ``{"died": returncode}`` if the helper died on it."""
        with self.lock:
            if self.proc is None or self.owner != os.getpid() or self.proc.poll() is not None:
                self._start()
            proc = self.proc
            # _start() either sets self.proc (with stdin/stdout pipes) or raises
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write((json.dumps(payload) + "\n").encode("utf-8"))
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            except BaseException:  # interrupted: the helper's state is unknown
                self.close()
                raise
            if not line:
                rc = proc.wait()
                self.proc = None
                return {"died": rc}
            return json.loads(line)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or self.owner != os.getpid():
            return
        with contextlib.suppress(OSError, ValueError):
            assert proc.stdin is not None  # started with stdin=PIPE
            proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_HELPER = _ReaderHelper()
atexit.register(_HELPER.close)


def _died_message(p: Path, fmt: str, rc: int) -> str:
    kind = "Stata" if fmt == "stata" else "SPSS"
    if rc < 0:
        try:
            how = f"signal {signal.Signals(-rc).name}"
        except ValueError:
            how = f"signal {-rc}"
    else:
        how = f"exit status {rc}"
    memory = (
        " (or too large for the memory of this machine)" if rc == -getattr(signal, "SIGKILL", 9) else ""
    )
    return (
        f"'{p.name}' is corrupt{memory}: the {kind} reader crashed on it ({how}). Re-export "
        f"the file from {kind} (or export it to CSV) and read the new file."
    )


def _parse_isolated(p: Path, fmt: str, kwargs: dict, _selftest_signal: int | None = None):
    """Parse a .dta/.sav file in the helper process; (DataFrame, meta dict)."""
    import pyarrow.feather as feather

    try:
        json.dumps(kwargs)
    except TypeError:
        raise DataError(
            f"options {', '.join(sorted(kwargs))} for '{p.name}' cannot be passed to the "
            f"{fmt} reader: use plain values (text, numbers, lists)."
        ) from None
    with tempfile.TemporaryDirectory(prefix="pmt-read-") as tmp:
        payload: dict[str, Any] = {"path": str(p.resolve()), "fmt": fmt, "kwargs": kwargs,
                                   "out_dir": tmp}
        if _selftest_signal:
            payload["selftest_signal"] = int(_selftest_signal)
        reply = _HELPER.request(payload)
        if "died" in reply:
            raise DataError(_died_message(p, fmt, int(reply["died"])))
        if not reply.get("ok"):
            raise DataError(
                f"could not read '{p.name}' as a {fmt} file: {reply.get('error')}. Check that "
                "the file is complete and of the type its extension says."
            )
        df = feather.read_feather(os.path.join(tmp, "data.feather"))
    meta = reply["meta"]
    for text in meta.get("warnings", []):
        warnings.warn(f"reading '{p.name}': {text}", stacklevel=5)
    return df, meta


def _read_labelled(p: Path, fmt: str, keep_codes: bool, kwargs: dict):
    """Read .dta/.sav; labelled columns -> Categorical of labels unless ``keep_codes``.

    With ``keep_codes`` (a spec will validate the data) the codes stay as they are: the
    spec knows the codes and their labels, and :meth:`DataSpec.with_file_labels` checks
    that the file's labels agree.
    """
    df, meta = _parse_isolated(p, fmt, kwargs)
    value_labels = {
        col: {_clean_code(k): str(v) for k, v in pairs} for col, pairs in meta["value_labels"]
    }
    var_labels = dict(meta["variable_labels"])
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
                    stacklevel=4,
                )
                continue
            codes = sorted(labs, key=lambda c: (isinstance(c, str), c))
            cats = list(dict.fromkeys(labs[c] for c in codes))
            # dict look-up of the codes (a float code 1.0 finds the label of 1)
            df[col] = pd.Categorical(s.map(labs), categories=cats)
    return df, {"variable_labels": var_labels, "value_labels": value_labels}


def _clean_code(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def write_data(
    df: pd.DataFrame,
    path: str | Path,
    spec: DataSpec | str | Path | None = None,
    sheet: str = "data",
    index: bool = False,
) -> Path:
    """Write a DataFrame to CSV, Parquet, Excel, Stata or SPSS, chosen by the extension.

    Parameters
    ----------
    df : pandas.DataFrame
        The data.
    path : str or pathlib.Path
        ``.csv``, ``.parquet``/``.pq``, ``.xlsx``, Stata ``.dta`` (format 118, Stata 14+) or
        SPSS ``.sav``/``.zsav`` (compressed). The folder must exist. The write is atomic:
        on failure an earlier file at ``path`` is left untouched.
    spec : pmt.DataSpec or path, optional
        Stata/SPSS: variable labels (labels given in the spec) and value labels (the
        ``codes`` of categorical and binary columns). Without a spec, the labels in
        ``df.attrs["variable_labels"]`` / ``["value_labels"]`` are used when present (as
        :func:`read_data` leaves them).
    sheet : str
        Excel sheet name.
    index : bool
        Also write the index (as the first column(s)).

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    Categorical columns are written as their codes: the values when the categories are
    the codes (a spec-typed frame), else the code of each label from the spec or the
    frame's value labels (or 1, 2, ... in category order, labelled, when there are none).
    Stata and SPSS store text columns as text (Stata ``str``/``strL``; a missing text
    value becomes ``""``). Excel: text starting with ``=`` is stored as text, never as a
    formula. Parquet keeps text categoricals; integer-coded ones are stored as integers.

    Raises
    ------
    pmt.DataError
        Unknown extension, missing folder, column names that Stata/SPSS do not allow,
        mixed text and numbers in a column, labels that do not match a categorical, or a
        failed write.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError("write_data needs a pandas DataFrame.")
    p = Path(path)
    fmt = _format_of(p, WRITE_FORMATS, "write")
    if not p.parent.exists():
        raise DataError(f"folder '{p.parent}' does not exist: create it first.")
    if spec is not None and not isinstance(spec, DataSpec):
        spec = DataSpec.load(spec)
    if fmt == "excel" and len(sheet) > 31:
        raise DataError(f"Excel sheet names have at most 31 characters; got {sheet!r}.")
    prepared = _prepare_labelled(df, p, fmt, spec, index) if fmt in ("stata", "spss") else None
    try:
        with atomic_write(p) as tmp:
            if fmt == "csv":
                df.to_csv(tmp, index=index)
            elif fmt == "parquet":
                out = df.copy()
                out.attrs = {}  # attrs may hold objects pyarrow cannot serialise
                out.to_parquet(tmp, index=index)
            elif fmt == "excel":
                _check_excel_text(df, p)
                writer = pd.ExcelWriter(tmp, engine="openpyxl")
                try:
                    df.to_excel(writer, sheet_name=sheet, index=index)
                    excel_text_not_formulas(writer.sheets[sheet])
                except BaseException:
                    with contextlib.suppress(Exception):  # keep the first error
                        writer.close()
                    raise
                writer.close()
            else:
                assert prepared is not None  # fmt is stata/spss here, so prepared above
                _write_labelled(tmp, p, fmt, *prepared)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any writer failure is reported with the file
        raise DataError(f"could not write '{p}' as {fmt}: {type(exc).__name__}: {exc}") from None
    return p


def _check_excel_text(df: pd.DataFrame, p: Path) -> None:
    """Control characters cannot be stored in a worksheet: name the column and rows."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        text = s.astype(object).map(lambda v: isinstance(v, str) and bool(ILLEGAL_CHARACTERS_RE.search(v)))
        if text.any():
            raise DataError(
                f"cannot write '{p.name}': column '{col}' has control characters (e.g. \\x01) at "
                f"{example_rows(s.index[text.to_numpy(dtype=bool)])}, which Excel cannot store. "
                f"Remove them (df['{col}'].str.replace(r'[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]', "
                "'', regex=True)) or write CSV or Parquet."
            )


def excel_text_not_formulas(ws: Any) -> int:
    """Store every text cell of an openpyxl worksheet that starts with ``=`` as text.

    openpyxl turns a string starting with ``=`` into a formula; data (and labels) must
    never be evaluated by Excel. Cells starting with ``+``, ``-`` or ``@`` are already
    stored as text. Returns the number of cells changed.
    """
    n = 0
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" and isinstance(cell.value, str):
                cell.data_type = "s"
                n += 1
    return n


_STATA_RESERVED = {
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
    "_N", "_pi", "_pred", "_rc", "_skip", "strL", "using", "with",
}
_SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
_STATA_NAME = re.compile(r"[^\W\d]\w{0,31}")
_SPSS_NAME = re.compile(r"[^\W\d_][\w.@#$]*")
_LABEL_LIMIT = {"stata": 80, "spss": 256}
_VALUE_LABEL_LIMIT = {"stata": 32000, "spss": 120}


def _bad_names(names: list[str], fmt: str) -> list[str]:
    bad = []
    seen: set[str] = set()
    for n in names:
        if fmt == "stata":
            ok = bool(_STATA_NAME.fullmatch(n)) and n not in _STATA_RESERVED
            ok = ok and not re.fullmatch(r"str\d+", n)
        else:
            ok = (bool(_SPSS_NAME.fullmatch(n)) and not n.endswith(".")
                  and len(n.encode("utf-8")) <= 64 and n.upper() not in _SPSS_RESERVED)
            ok = ok and n.casefold() not in seen
            seen.add(n.casefold())
        if not ok:
            bad.append(n)
    return bad


def _prepare_labelled(df: pd.DataFrame, p: Path, fmt: str, spec: DataSpec | None, index: bool):
    """Columns converted for pyreadstat, with variable and value labels."""
    kind = "Stata" if fmt == "stata" else "SPSS"
    frame = df.reset_index() if index else df
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"cannot write '{p.name}': column name(s) {', '.join(dup)} appear twice.")
    bad = _bad_names(names, fmt)
    if bad:
        rule = (
            "at most 32 characters, letters, digits and _, not starting with a digit, and not "
            "a reserved word (e.g. _n, long, in)"
            if fmt == "stata"
            else "at most 64 bytes, starting with a letter, then letters, digits, _ . @ # $, "
            "unique ignoring case, and not a reserved word (ALL, AND, BY, TO, WITH, ...)"
        )
        raise DataError(
            f"cannot write '{p.name}': column name(s) {', '.join(repr(b) for b in bad[:20])}"
            f"{' ...' if len(bad) > 20 else ''} are not valid {kind} variable names ({rule}). "
            "Rename them first, e.g. df.rename(columns={...})."
        )
    attrs_var = dict(df.attrs.get("variable_labels") or {})
    attrs_val = {k: dict(v) for k, v in (df.attrs.get("value_labels") or {}).items()}
    var_labels: dict[str, str] = {}
    val_labels: dict[str, dict] = {}
    for name in names:
        col = spec[name] if spec is not None and name in spec else None
        if col is not None and col.label_given:
            var_labels[name] = col.label
        elif attrs_var.get(name):
            var_labels[name] = str(attrs_var[name])
        if col is not None and col.codes:
            val_labels[name] = dict(col.codes)
        elif attrs_val.get(name):
            val_labels[name] = {_clean_code(k): str(v) for k, v in attrs_val[name].items()}
    out = {}
    for name, orig in zip(names, frame.columns, strict=True):
        s = frame[orig]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s, labels = _categorical_codes(s, val_labels.get(name), p, name)
            if labels is not None:
                val_labels[name] = labels
        out[name] = _column_for_readstat(s, p, name, kind)
    data = pd.DataFrame(out, index=range(len(frame)))
    # value labels only where the format allows them: Stata labels whole numbers only
    limit = _VALUE_LABEL_LIMIT[fmt]
    clean_vals: dict[str, dict] = {}
    for name, labs in val_labels.items():
        numeric = pd.api.types.is_numeric_dtype(data[name].dtype)
        keys_ok = all(isinstance(k, int | np.integer) for k in labs) if numeric else (
            fmt == "spss" and all(isinstance(k, str) for k in labs)
        )
        if not keys_ok:
            warnings.warn(
                f"'{p.name}': the value labels of column '{name}' were not written: {kind} "
                + ("labels whole-number codes of numeric columns only." if fmt == "stata"
                   else "needs codes of the column's own type (numbers or text)."),
                stacklevel=4,
            )
            continue
        clean_vals[name] = {
            (int(k) if numeric else k): _fit(str(v), limit, p, f"value label of {name}={k}")
            for k, v in labs.items()
        }
    lim = _LABEL_LIMIT[fmt]
    clean_var = {k: _fit(v, lim, p, f"variable label of '{k}'") for k, v in var_labels.items()}
    return data, clean_var, clean_vals


def _fit(text: str, limit: int, p: Path, what: str) -> str:
    # Stata counts characters in bytes of UTF-8 for labels: keep both within the limit
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
    warnings.warn(
        f"'{p.name}': the {what} is longer than the format allows ({limit} bytes); "
        f"shortened to {cut!r}.",
        stacklevel=5,
    )
    return cut


def _categorical_codes(s: pd.Series, labels: dict | None, p: Path, name: str):
    """A Categorical column as codes; returns (values, value labels or None)."""
    cats = list(s.cat.categories)
    if all(isinstance(c, int | float | np.integer | np.floating) and not isinstance(c, bool)
           for c in cats):
        return s.astype(object).where(s.notna(), np.nan).astype(float), None
    if labels:
        by_label = {str(v).strip().casefold(): k for k, v in labels.items()}
        unknown = [c for c in cats if str(c).strip().casefold() not in by_label]
        if unknown:
            raise DataError(
                f"cannot write '{p.name}': column '{name}' has categories "
                f"{', '.join(map(repr, unknown[:8]))} that are not among its value labels "
                f"({', '.join(f'{k}={v!r}' for k, v in list(labels.items())[:8])}). Add them "
                "to the spec's codes (or df.attrs['value_labels']) or recode the column."
            )
        mapping = {c: by_label[str(c).strip().casefold()] for c in cats}
        return s.map(mapping).astype(object), None
    mapping = {c: i for i, c in enumerate(cats, start=1)}
    return s.map(mapping).astype(float), {i: str(c) for c, i in mapping.items()}


def _column_for_readstat(s: pd.Series, p: Path, name: str, kind: str) -> pd.Series:
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return s.astype("float64") if s.isna().any() else s.astype("int64")
    if pd.api.types.is_extension_array_dtype(dt) and pd.api.types.is_numeric_dtype(dt):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_datetime64_any_dtype(dt):
        return s
    values = s.astype(object)
    present = values[values.notna()]
    kinds = {type(v) for v in present}
    if kinds <= {str}:
        return values.where(values.notna(), "").astype(str)
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
           for v in present):
        return pd.to_numeric(values).astype("float64")
    if all(isinstance(v, int | float | np.integer | np.floating | bool | np.bool_) for v in present):
        return values.astype("float64")
    text = present.map(lambda v: isinstance(v, str))
    if text.any() and not text.all():
        bad = present.index[~text.to_numpy()]
        raise DataError(
            f"cannot write '{p.name}': column '{name}' mixes text and other values (non-text at "
            f"{example_rows(bad)}); {kind} columns are either text or numbers. Convert it, "
            f"e.g. df['{name}'] = df['{name}'].astype(str)."
        )
    return values  # dates and the like: pyreadstat decides


def _write_labelled(tmp: Path, p: Path, fmt: str, data: pd.DataFrame, var_labels: dict,
                    val_labels: dict) -> None:
    import pyreadstat

    kwargs: dict[str, Any] = dict(column_labels=var_labels or None,
                                  variable_value_labels=val_labels or None)
    if fmt == "stata":
        pyreadstat.write_dta(data, str(tmp), **kwargs)
    else:
        pyreadstat.write_sav(data, str(tmp), compress=p.suffix.lower() == ".zsav", **kwargs)
