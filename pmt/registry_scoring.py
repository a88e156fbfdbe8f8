"""Registry scoring: stream a registry file through a model or scorecard.

:func:`score_file` reads the registry in chunks of ``chunksize`` records, scores each
chunk with vectorised numpy on the column arrays (category codes are mapped to points or
coefficients through a look-up table, never row by row) and appends the scores and the
rejects to their files, so memory is bounded by the chunk size whatever the file size.

Reading
    CSV through pyarrow's streaming reader with **every column read as text**, so that
    ids keep their leading zeros and all their digits (``000123``,
    ``1234567890123456789``) and no column's type depends on which values a chunk happens
    to hold; Parquet with ``ParquetFile.iter_batches`` (types as stored: an int64 id stays
    exact, nothing goes through float); Stata ``.dta`` and SPSS ``.sav`` with
    ``pyreadstat.read_file_in_chunks`` (value-labelled columns keep their codes); Excel
    ``.xlsx`` with openpyxl in read-only mode (cells as text). Numeric fields read as
    text are converted by one rule, value by value: blank or a missing-value token (``NA``,
    ``.``, ``nan``, ...) is *missing*, a number is parsed by Arrow's correctly rounded
    parser, anything else (``abc``, ``1,5``) is *non-numeric*, ``inf`` is *non-finite*.

Validation
    A record is rejected - never scored, in particular never given 0 - when its id is
    missing or repeats an earlier record's id, or any field it needs is missing,
    non-numeric, non-finite, not 0/1 for a binary proxy (declared ``binary`` in the data
    spec, or 0/1 throughout the model's training profile), not a non-negative whole
    number for a ``count``, outside the spec's ``range``, a category code the model,
    scorecard or spec does not know, a count above its denominator (scorecard ratios),
    or - with ``training_range="reject"`` - outside the range observed in training. Each
    rejects row is one record with its own reasons only (a reason names the record's own
    value, e.g. ``unknown code in 'region' (99)``).

    Every decision is taken record by record, and duplicates against all earlier records
    (a sorted array of the ids seen so far), so **whether a record is scored never depends
    on the chunk size or the engine**.

Writing
    Scores (``.parquet``, ``.csv`` or ``.dta``) carry the id column exactly as read, the
    0-based input ``row``, the ``keep`` columns, then ``xb``/``score`` and ``eligible``;
    rejects carry the same plus the fields read (as text) and ``reject_reason``. Both
    files are written under temporary names and renamed at the end. At the end, input
    rows = scored + rejected is checked and returned in a :class:`ScoreSummary`.

With ``engine="dask"`` CSV and Parquet registries are read as a Dask DataFrame (text
columns for CSV, Arrow types for Parquet) whose partitions are computed a few at a time
and go through the same chunk scorer: the outputs are identical to the pandas engine.

This module was ``pmt.scoring``; it was renamed so that registry scoring is not mistaken for
the scorecards of :mod:`pmt.scorecard`. The old path still imports (a shim).
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmt.errors import DataError, ModelError, PMTError
from pmt.models.formula import level_label
from pmt.progress import Progress
from pmt.scorecard import (
    RowReason,
    Scorecard,
    linear_index,
    map_codes,
    reason_key,
    reasons_text,
)
from pmt.scorecard.linear import probability_index
from pmt.spec import outside_range

#: Column names taken as the record id when neither a spec nor ``id=`` names one.
_ID_NAMES = ("id", "hh_id", "household_id", "record_id", "applicant_id")
#: Text read as a missing value in a numeric field (pandas' defaults and Stata's ".").
NA_TOKENS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", ".",
})
_READ_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".dta": "stata",
                 ".sav": "spss", ".zsav": "spss", ".xlsx": "excel", ".xlsm": "excel"}
_WRITE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".dta": "stata"}
TRAINING_RANGE_POLICIES = ("flag", "reject", "ignore")
_STATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_FLAG = "outside_training_range"


# --------------------------------------------------------------------------------------
# scorers: fields read, outputs written
# --------------------------------------------------------------------------------------
class ScorecardScorer:
    """Scores with a :class:`pmt.Scorecard`: ``score`` (points) and ``eligible``."""

    def __init__(self, scorecard: Scorecard, breakdown: bool = False):
        self.sc = scorecard
        self.breakdown = breakdown
        self.fields = scorecard.fields
        numeric: list[str] = []
        known: dict[str, set[Any]] = {}
        for q in scorecard.questions:
            if q.kind == "categorical":
                known.setdefault(q.field, set()).update(q.lookup())
            else:
                numeric.append(q.field)
            if q.per:
                numeric.append(q.per)
        self.numeric_fields = list(dict.fromkeys(numeric))
        self.known_labels = known
        self.binary: set[str] = set()
        self.training_ranges: dict[str, tuple[float, float]] = {}

    def output_names(self) -> list[str]:
        """Names of the output columns: ``score``, ``eligible`` and the points per question."""
        names = ["score"] + (["eligible"] if self.sc.cutoff is not None else [])
        return names + ([f"points_{q.id}" for q in self.sc.questions] if self.breakdown else [])

    def evaluate(self, cols: Mapping[str, Any], n: int):
        """Outputs and problems (mask, reason) of ``n`` records."""
        parts, problems = self.sc.evaluate(cols, n)
        out = {"score": self.sc.total(parts, n)}
        if self.sc.cutoff is not None:
            out["eligible"] = out["score"] < self.sc.cutoff
        if self.breakdown:
            for q, p in zip(self.sc.questions, parts, strict=True):
                out[f"points_{q.id}"] = p
        return out, problems


class ModelScorer:
    """Scores with a fitted linear-index model: ``xb`` (the linear predictor) and, with a
    threshold, ``eligible``.

    ``xb`` is the prediction on the model's own scale for OLS / truncated OLS / quantile
    models (e.g. log per-capita consumption), and the index for probit/logit. Eligibility:
    ``xb < threshold`` for welfare models; ``P(poor) > threshold`` (threshold a
    probability) for probit/logit. The sum runs term by term: categorical terms add a
    look-up of their coefficient by level, so no design matrix is built. It equals
    ``model.predict`` up to floating-point summation order (relative 1e-15).

    The model's training profile (``model.training_profile``, of a loaded artifact or a
    fitted model) gives the proxies that were 0/1
    throughout training (``binary``: other values are rejected) and the observed range of
    each proxy (``training_ranges``: exact for proxies with at most 64 distinct training
    values, or where the profile records ``min``/``max``).
    """

    def __init__(self, model, threshold: float | None = None):
        design, by_term = linear_index(model, "score_file")
        params = pd.Series(by_term)
        coef = params.to_numpy(dtype=float)
        self.model_type = getattr(model, "model_type", "linear")
        self.const = 0.0
        self.numeric: list[tuple[str, float]] = []
        self.cats: dict[str, tuple[dict, np.ndarray]] = {}
        for t, b in zip(design.terms, coef, strict=True):
            if t.kind == "intercept":
                self.const += b
            elif t.kind == "numeric":
                self.numeric.append((t.variable, b))
        for var, cat in design.categoricals.items():
            lookup = {lab: i for i, lab in enumerate(cat.levels)}
            contrib = np.array(
                [0.0 if lab == cat.base else float(params[f"C({var})[T.{lab}]"]) for lab in cat.levels]
                + [0.0]
            )
            self.cats[var] = (lookup, contrib)
        self.fields = design.variables
        self.numeric_fields = list(dict.fromkeys(v for v, _ in self.numeric))
        self.known_labels = {var: set(lookup) for var, (lookup, _) in self.cats.items()}
        if threshold is None:
            saved = getattr(model, "thresholds", None) or {}
            threshold = saved.get("poverty_line", saved.get("threshold"))
        if threshold is not None:
            try:
                threshold = float(threshold)
            except (TypeError, ValueError):
                raise ModelError(f"threshold must be a number; got {threshold!r}.") from None
            if not math.isfinite(threshold):
                raise ModelError(
                    f"threshold must be a finite number on the model's scale; got {threshold}."
                )
        self.threshold = threshold
        if self.threshold is not None and self.model_type in ("probit", "logit"):
            self.index_cut: float | None = probability_index(self.model_type, self.threshold)
        else:
            self.index_cut = self.threshold
        profile = getattr(model, "training_profile", None) or {}
        self.binary = set()
        self.training_ranges = {}
        for var in self.numeric_fields:
            prof = profile.get(var)
            if not isinstance(prof, Mapping) or not prof.get("values"):
                continue
            values = np.asarray(prof["values"], dtype=float)
            if prof.get("exact"):
                if set(values.tolist()) <= {0.0, 1.0}:
                    self.binary.add(var)
                self.training_ranges[var] = (float(values.min()), float(values.max()))
            elif prof.get("min") is not None and prof.get("max") is not None:
                self.training_ranges[var] = (float(prof["min"]), float(prof["max"]))

    def output_names(self) -> list[str]:
        """Names of the output columns: ``xb`` and ``eligible`` (with an index cut-off)."""
        return ["xb"] + (["eligible"] if self.index_cut is not None else [])

    def evaluate(self, cols: Mapping[str, Any], n: int):
        """Outputs and problems (mask, reason) of ``n`` records.

        ``cols`` holds numbers for numeric terms (NaN where invalid: such records are
        rejected before) and codes for categorical terms.
        """
        xb = np.full(n, self.const, dtype=float)
        problems: list[tuple[np.ndarray, str | RowReason]] = []
        for var, b in self.numeric:
            xb += b * cols[var]  # integer codes are promoted to float64 without a copy
        for var, (lookup, contrib) in self.cats.items():
            idx, missing, _, unknown = map_codes(cols[var], lookup)
            if missing is not None and missing.any():
                problems.append((missing, f"missing value for '{var}'"))
            if unknown.any():
                problems.append((unknown, RowReason.of(f"unknown code in '{var}'", cols[var],
                                                       unknown)))
            xb += contrib[idx]
        out = {"xb": xb}
        if self.index_cut is not None:
            if self.model_type in ("probit", "logit"):
                out["eligible"] = xb > self.index_cut
            else:
                out["eligible"] = xb < self.index_cut
        return out, problems


# --------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------
@dataclass
class ScoreSummary:
    """What :func:`score_file` did: row counts (input = scored + rejected), reasons, files.

    ``reasons`` counts the rejected records per reason (a record with two problems counts
    under both, so the counts add up to the number of reasons listed in the rejects file,
    not to ``n_rejected``). ``flagged`` counts the scored records outside the training
    range per proxy (``training_range="flag"``).
    """

    input_path: str
    output_path: str
    rejects_path: str
    n_input: int
    n_scored: int
    n_rejected: int
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    engine: str = "pandas"
    n_chunks: int = 0
    id_column: str | None = None
    n_flagged: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    training_range: str = "flag"

    @property
    def balanced(self) -> bool:
        """Whether every input row was either scored or rejected."""
        return self.n_input == self.n_scored + self.n_rejected

    @property
    def rows_per_second(self) -> float:
        """Input rows per second of wall-clock time (infinite when no time elapsed)."""
        return self.n_input / self.seconds if self.seconds > 0 else math.inf

    def __str__(self) -> str:
        ident = f"id column {self.id_column!r}" if self.id_column else "no id column (rows only)"
        lines = [
            f"scored {self.input_path} -> {self.output_path} ({self.engine}, {self.n_chunks} chunks, "
            f"{self.seconds:.1f} s, {self.rows_per_second:,.0f} rows/s; {ident})",
            f"  input rows   {self.n_input:>12,}",
            f"  scored       {self.n_scored:>12,}",
            f"  rejected     {self.n_rejected:>12,}  -> {self.rejects_path}",
            f"  check: input = scored + rejected: {'OK' if self.balanced else 'MISMATCH'}",
        ]
        if self.reasons:
            lines.append("  rejected records per reason (a record may have several):")
        for reason, count in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:15]:
            lines.append(f"    {count:>10,}  {reason}")
        if len(self.reasons) > 15:
            lines.append(f"    ... and {len(self.reasons) - 15} more reasons")
        if self.n_flagged:
            lines.append(f"  scored but flagged {_FLAG}: {self.n_flagged:,} records")
            for reason, count in sorted(self.flagged.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"    {count:>10,}  {reason}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------
class _Writer:
    """Append tables to one Parquet or CSV file with the schema of the first table."""

    def __init__(self, path: Path, as_text: bool = False, kind: str = "parquet"):
        self.path = path
        self.kind = kind
        self.as_text = as_text
        self.schema: Any = None  # a pyarrow Schema once the first table is written
        self.writer: Any = None  # a pyarrow ParquetWriter or CSVWriter, set with the schema

    def write(self, table) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if self.as_text:
            table = pa.table(
                {n: (_as_text(table[n]) if n != "row" else table[n]) for n in table.column_names}
            )
        if self.schema is None:
            self.schema = table.schema
            if self.kind == "parquet":
                # scores are mostly distinct floats: dictionary encoding would be tried and
                # abandoned for every page, costing CPU for nothing
                self.writer = pq.ParquetWriter(self.path, self.schema,
                                               use_dictionary=self.as_text)
            else:
                self.writer = pacsv.CSVWriter(self.path, self.schema)
        elif table.schema != self.schema:
            try:
                table = table.select(self.schema.names).cast(self.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as exc:
                raise DataError(
                    f"column types change between chunks of the input ({exc}); convert the "
                    "registry to CSV or Parquet with one type per column."
                ) from None
        self.writer.write_table(table)

    def abort(self) -> None:
        """Close and delete a partly written file."""
        try:
            if self.writer is not None:
                self.writer.close()
        finally:
            self.writer = None
            self.path.unlink(missing_ok=True)

    def close(self, empty_schema=None) -> None:
        import pyarrow as pa

        if self.writer is None and empty_schema is not None:
            self.write(pa.Table.from_batches([], schema=empty_schema))
        if self.writer is not None:
            self.writer.close()


def _write_stata(parquet_path: Path, path: Path) -> None:
    """Convert a finished Parquet file to Stata ``.dta`` (Stata files cannot be appended).

    Booleans become 0/1 bytes; integers become Stata longs, or text when they do not fit
    (e.g. 19-digit ids), so that no id is rounded through a double.
    """
    import pyarrow.parquet as pq
    import pyreadstat

    frame = pq.read_table(parquet_path).to_pandas()
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            frame[name] = s.astype(np.int8)
        elif pd.api.types.is_integer_dtype(s.dtype):
            if not len(s) or s.abs().max() < 2**31 - 1:
                frame[name] = s.astype(np.int32)  # Stata long
            else:
                frame[name] = s.astype(str)  # e.g. 19-digit ids: text, never rounded
        elif not pd.api.types.is_numeric_dtype(s.dtype):
            frame[name] = s.astype(object).where(s.notna(), "")
    try:
        pyreadstat.write_dta(frame, str(path))
    except Exception as exc:  # pyreadstat raises its own error types
        raise DataError(
            f"cannot write Stata file {str(path)!r}: {exc}. Write .parquet or .csv instead."
        ) from None


def _check_out_path(path, what: str) -> Path:
    """The output path as a Path; DataError for a wrong suffix, a folder, or a file above."""
    p = Path(path)
    if p.suffix.lower() not in _WRITE_FORMATS:
        raise DataError(
            f"{what} {str(p)!r} must be a .parquet, .csv or .dta file; got suffix "
            f"{p.suffix or '(none)'!r}."
        )
    if p.is_dir():
        raise DataError(f"{what} {str(p)!r} is a folder; give a file name inside it.")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(
                    f"{what} {str(p)!r} cannot be written: {str(parent)!r} is a file, not a "
                    "folder. Choose another output path."
                )
            break
    return p


def load_model_or_scorecard(path: str | Path):
    """A model artifact or a scorecard JSON, told apart by its ``format``.

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by :func:`pmt.save_model` or :meth:`pmt.Scorecard.to_json`.

    Returns
    -------
    ModelResult or pmt.Scorecard
        The loaded model (schema and size checks of :mod:`pmt.artifacts`) or scorecard.
    """
    from pmt._json import read_json_document
    from pmt.artifacts import model_from_document

    doc = read_json_document(path, "model or scorecard")
    if isinstance(doc, Mapping) and doc.get("format") == "pmt-scorecard":
        return Scorecard.from_dict(doc, f"scorecard {str(path)!r}")
    return model_from_document(doc, f"model artifact {str(path)!r}").model


def registry_chunks(src: Path, read_cols: list[str], chunksize: int, fmt: str,
                    engine: str, columns: list[str]) -> Iterator:
    """Records of a registry file as Arrow tables of ``chunksize`` rows, read by the reader
    of its format (or dask), only the ``read_cols`` columns; ``columns`` are the file's.
    """
    if engine == "dask":
        tables = _read_dask(src, read_cols, chunksize, fmt)
    elif fmt == "csv":
        tables = _read_csv(src, read_cols)
    elif fmt == "parquet":
        tables = _read_parquet(src, read_cols, chunksize)
    elif fmt in ("stata", "spss"):
        tables = _read_stat(src, read_cols, chunksize, fmt)
    else:
        tables = _read_excel(src, read_cols, chunksize, columns)
    return _rechunk(tables, chunksize)


def _resolve_scorer(model_or_scorecard, breakdown: bool, threshold):
    obj = model_or_scorecard
    if isinstance(obj, str | Path):
        obj = load_model_or_scorecard(obj)
    if isinstance(obj, Scorecard):
        if threshold is not None:
            raise ModelError("threshold= applies to models; a scorecard has its own cut-off.")
        return ScorecardScorer(obj, breakdown)
    if breakdown:
        raise ModelError("breakdown=True needs a Scorecard (points per question).")
    return ModelScorer(obj, threshold)


# --------------------------------------------------------------------------------------
# Arrow columns -> ids, numbers and codes
# --------------------------------------------------------------------------------------
def _flat(col):
    """One Arrow Array from a column (chunks combined)."""
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _is_text(t) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _as_written(col):
    """A column for the output as read: dictionaries decoded, text as ``string``."""
    import pyarrow as pa

    arr = _flat(col)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if _is_text(arr.type) and not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _as_text(col):
    """A column as text (numbers formatted by Arrow, missing values as nulls)."""
    import pyarrow as pa

    arr = _as_written(col)
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _blank(arr) -> np.ndarray:
    """True where a text value is null or only white space (or a non-text value is null)."""
    import pyarrow.compute as pc

    if _is_text(arr.type):
        trimmed = pc.utf8_trim_whitespace(arr)
        return np.asarray(pc.fill_null(pc.equal(trimmed, ""), True), dtype=bool)
    return np.asarray(arr.is_null(nan_is_null=True), dtype=bool)


def _detail(arr, mask: np.ndarray) -> np.ndarray:
    """Each masked record's value as written (trimmed text, at most 40 characters)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(mask.shape[0], "", dtype=object)
    rows = np.flatnonzero(mask)
    if rows.size:
        taken = _as_text(arr.take(pa.array(rows)))
        texts = pc.utf8_trim_whitespace(taken).to_pylist()
        out[rows] = [
            "" if t is None else (t[:40] + "...") if len(t) > 40 else t.replace(";", ",")
            for t in texts
        ]
    return out


def _cast_each(strings) -> tuple[np.ndarray, np.ndarray]:
    """Float value of each text and whether it parsed (Arrow's parser, value by value).

    Whole-array casts first, halving around failures, so the cost grows with the number of
    unparseable values, not the array length; a value's result never depends on its
    neighbours.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(strings)
    try:
        x = pc.cast(strings, pa.float64()).to_numpy(zero_copy_only=False)
        return np.asarray(x, dtype=float), np.ones(n, dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if n <= 8:
        x = np.full(n, np.nan)
        ok = np.zeros(n, dtype=bool)
        for i in range(n):
            try:
                v = pc.cast(strings.slice(i, 1), pa.float64())[0].as_py()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            x[i] = np.nan if v is None else v
            ok[i] = v is not None
        return x, ok
    half = n // 2
    x1, ok1 = _cast_each(strings.slice(0, half))
    x2, ok2 = _cast_each(strings.slice(half))
    return np.concatenate([x1, x2]), np.concatenate([ok1, ok2])


@dataclass
class _Numbers:
    """A field as numbers: ``x`` (NaN where not a finite number) and why not."""

    x: np.ndarray
    missing: np.ndarray | None = None
    nonnum: np.ndarray | None = None
    nonfinite: np.ndarray | None = None

def _float_numbers(x: np.ndarray) -> _Numbers:
    """Numbers of a float array: NaN is missing, +-inf non-finite (and NaN in ``x``)."""
    nan = np.isnan(x)
    inf = np.isinf(x)
    return _Numbers(np.where(inf, np.nan, x) if inf.any() else x,
                    nan if nan.any() else None, None, inf if inf.any() else None)


def _text_numbers(strings) -> _Numbers:
    """Numbers of a text column: blank or NA token = missing, else parsed or non-numeric."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # fast path: every value parses (nulls stay missing)
        x = np.asarray(pc.cast(strings, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        x = None
    if x is not None:
        return _float_numbers(x)
    # some values do not parse: classify each distinct text once
    enc = pc.dictionary_encode(strings)
    words = pc.utf8_trim_whitespace(enc.dictionary)
    na = np.asarray(pc.is_in(words, value_set=pa.array(sorted(NA_TOKENS))), dtype=bool)
    to_parse = pc.if_else(pa.array(na), "nan", words)
    dx, ok = _cast_each(to_parse)
    d_missing = na | (ok & np.isnan(dx))
    d_nonfinite = ok & np.isinf(dx)
    d_nonnum = ~ok & ~na
    dx = np.where(ok & np.isfinite(dx), dx, np.nan)
    idx = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    pick = np.where(idx < 0, len(words), idx)
    x = np.append(dx, np.nan)[pick]
    missing = np.append(d_missing, True)[pick]
    nonnum = np.append(d_nonnum, False)[pick]
    nonfinite = np.append(d_nonfinite, False)[pick]
    return _Numbers(x, missing if missing.any() else None, nonnum if nonnum.any() else None,
                    nonfinite if nonfinite.any() else None)


def _numbers(col, name: str) -> _Numbers:
    """A registry column as numbers (see :func:`_text_numbers` for text columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _flat(col)
    t = arr.type
    if pa.types.is_dictionary(t):
        d = _numbers(arr.dictionary, name)
        idx = np.asarray(arr.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        pick = np.where(idx < 0, len(arr.dictionary), idx)

        def expand(m, fill: bool):
            base = np.zeros(len(arr.dictionary), dtype=bool) if m is None else m
            res = np.append(base, fill)[pick]
            return res if res.any() else None

        return _Numbers(np.append(np.asarray(d.x, dtype=float), np.nan)[pick],
                        expand(d.missing, True), expand(d.nonnum, False),
                        expand(d.nonfinite, False))
    if pa.types.is_null(t):
        return _Numbers(np.full(len(arr), np.nan), np.ones(len(arr), dtype=bool))
    if _is_text(t):
        return _text_numbers(arr)
    if pa.types.is_boolean(t):
        arr = arr.cast(pa.uint8())
        t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        if pa.types.is_decimal(t):
            arr = arr.cast(pa.float64())
        if arr.null_count == 0 and not pa.types.is_floating(arr.type):
            return _Numbers(arr.to_numpy(zero_copy_only=False))
        if arr.null_count:
            arr = pc.fill_null(arr.cast(pa.float64()), np.nan)
        return _float_numbers(np.asarray(arr.to_numpy(zero_copy_only=False), dtype=float))
    raise DataError(
        f"column '{name}' holds {t} values, but the scorer reads it as a number; convert it "
        "to numbers (or codes) in the registry."
    )


def _codes(col, known: set[str], name: str):
    """A categorical field as values for :func:`pmt.scorecard.map_codes` and its blanks.

    Numbers pass through (``1.0`` is code ``1``). Text is trimmed; blank is missing; a text
    that is not a known label but parses as a number is matched as that number, so that
    ``"1.0"`` and ``"01"`` find code 1 while ``"01"`` stays ``"01"`` where that is a label.
    """
    import pyarrow as pa

    arr = _flat(col)
    t = arr.type
    if pa.types.is_null(t):
        return np.full(len(arr), np.nan), np.ones(len(arr), dtype=bool)
    if pa.types.is_boolean(t):
        arr, t = arr.cast(pa.uint8()), pa.uint8()
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        if arr.null_count or pa.types.is_decimal(t):
            import pyarrow.compute as pc

            arr = pc.fill_null(arr.cast(pa.float64()), np.nan)
        x = arr.to_numpy(zero_copy_only=False)
        blank = np.isnan(x) if x.dtype.kind == "f" else np.zeros(len(x), dtype=bool)
        return x, blank
    if pa.types.is_dictionary(t):
        dictionary, idx = arr.dictionary, arr.indices
    elif _is_text(t):
        import pyarrow.compute as pc

        enc = pc.dictionary_encode(arr)
        dictionary, idx = enc.dictionary, enc.indices
    else:
        raise DataError(
            f"column '{name}' holds {t} values, which cannot be category codes; convert them "
            "to codes (numbers or text) in the registry."
        )
    labels = _labels(dictionary, known)
    idx = np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    if labels:
        lcodes, cats = pd.factorize(pd.Series(labels, dtype=object))
        cats = list(cats)
    else:
        lcodes, cats = np.empty(0, dtype=np.int64), []
    blank_cat = np.array([c == "" for c in cats] + [True], dtype=bool)
    per_row = np.append(lcodes, len(cats))[np.where(idx < 0, len(labels), idx)]
    blank = blank_cat[per_row]
    codes = np.where(blank, -1, per_row)
    values = pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object)))
    return values, blank


def _labels(dictionary, known: set[str]) -> list[str]:
    """Code label of each distinct value: trimmed text, or the number's label."""
    import pyarrow.compute as pc

    if not _is_text(dictionary.type):
        return ["" if v is None else level_label(v) for v in dictionary.to_pylist()]
    words = pc.utf8_trim_whitespace(dictionary)
    text = words.to_pylist()
    x, ok = _cast_each(words)
    out = []
    for w, v, good in zip(text, x, ok, strict=True):
        if w is None or w == "" or w in known:
            out.append(w or "")
        elif good and math.isfinite(v):
            out.append(level_label(float(v)))
        else:
            out.append(w)
    return out


# --------------------------------------------------------------------------------------
# duplicate ids across the whole file
# --------------------------------------------------------------------------------------
def _plain_ints(ids):
    """True where a text id is a plain whole number: 1 to 18 ASCII digits, no leading 0."""
    import pyarrow.compute as pc

    length = pc.binary_length(ids)
    return pc.and_(
        pc.and_(pc.ascii_is_decimal(ids), pc.less_equal(length, 18)),
        pc.or_(pc.invert(pc.starts_with(ids, "0")), pc.equal(length, 1)),
    )


class _SortedKeys:
    """Sorted 64-bit keys with the row where each was first seen."""

    def __init__(self):
        self.keys = np.empty(0, dtype=np.uint64)
        self.first = np.empty(0, dtype=np.int64)

    def claim(self, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each key, the row of an earlier record with the same key (-1: none);
        records this chunk's first occurrences.
        """
        if keys.size == 0:
            return np.empty(0, dtype=np.int64)
        order = np.argsort(keys)  # unstable is fine: the first row is a minimum below
        ks, rs = keys[order], rows[order]
        lead = np.ones(ks.size, dtype=bool)
        np.not_equal(ks[1:], ks[:-1], out=lead[1:])
        unique = bool(lead.all())
        if unique:  # the usual case: no id repeats within the chunk
            uk, urow = ks, rs
        else:
            lead_at = np.flatnonzero(lead)
            uk = ks[lead_at]
            urow = np.minimum.reduceat(rs, lead_at)  # first row of each key in this chunk
        p = np.searchsorted(self.keys, uk)  # uk is sorted: cache-friendly
        found = p < self.keys.size
        found[found] = self.keys[p[found]] == uk[found]
        earlier = np.full(uk.size, -1, dtype=np.int64)
        earlier[found] = self.first[p[found]]
        if unique:
            claim = earlier
        else:
            gid = np.cumsum(lead) - 1
            earlier[~found] = urow[~found]
            claim = earlier[gid]
            claim[(rs == urow[gid]) & ~found[gid]] = -1  # the first occurrence itself
        out = np.empty(ks.size, dtype=np.int64)
        out[order] = claim
        new = ~found
        if new.any():
            self._merge(p[new], uk[new], urow[new])
        return out

    def _merge(self, at: np.ndarray, keys: np.ndarray, first: np.ndarray) -> None:
        """Insert sorted new keys at their (sorted) positions: one linear pass."""
        total = self.keys.size + keys.size
        dest = at + np.arange(keys.size)
        is_new = np.zeros(total, dtype=bool)
        is_new[dest] = True
        merged = np.empty(total, dtype=np.uint64)
        merged[dest] = keys
        merged[~is_new] = self.keys
        rows = np.empty(total, dtype=np.int64)
        rows[dest] = first
        rows[~is_new] = self.first
        self.keys, self.first = merged, rows


class _SeenIds:
    """Every id seen so far, to find the first occurrence of each id across chunks.

    Integer ids, and text ids written as plain whole numbers of up to 18 digits, are their own
    64-bit keys (exact). Other text ids (leading zeros, letters, 19+ digits) are keyed by
    a 64-bit hash (``pandas.util.hash_array``) and every match is confirmed against the
    id text itself, kept as Arrow arrays: two different ids are never taken for
    duplicates. Memory: 16 bytes per distinct id, plus the text of the hashed ids.
    """

    def __init__(self):
        self.ints = _SortedKeys()
        self.hashed = _SortedKeys()
        self.text_rows: list[np.ndarray] = []  # input rows of the hashed ids, per chunk
        self.texts: list[Any] = []  # their text
        self.collided: dict[str, int] = {}

    def _text_at(self, rows: np.ndarray) -> np.ndarray:
        """The text of the hashed ids at input ``rows``."""
        import pyarrow as pa

        out = np.empty(rows.shape[0], dtype=object)
        firsts = np.array([g[0] for g in self.text_rows])
        which = np.searchsorted(firsts, rows, side="right") - 1
        for c in np.unique(which):
            sel = which == c
            at = np.searchsorted(self.text_rows[c], rows[sel])
            out[sel] = self.texts[c].take(pa.array(at)).to_numpy(zero_copy_only=False)
        return out

    def first_rows(self, ids, valid: np.ndarray, start: int) -> np.ndarray:
        """Row of the earlier record with the same id (-1: first occurrence or no id)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(ids)
        out = np.full(n, -1, dtype=np.int64)
        if not _is_text(ids.type):
            pos = np.flatnonzero(valid)
            raw = np.asarray(pc.fill_null(ids, 0).to_numpy(zero_copy_only=False))[pos]
            if raw.dtype.kind == "f":
                raw = np.where(raw == 0, 0.0, raw)  # -0.0 is 0
            keys = np.ascontiguousarray(
                raw.astype(np.int64 if raw.dtype.kind in "iub" else np.float64)).view(np.uint64)
            out[pos] = self.ints.claim(keys, pos + start)
            return out
        plain = np.asarray(pc.fill_null(_plain_ints(ids), False), dtype=bool) & valid
        if plain.any():
            ints = pc.cast(pc.if_else(pa.array(plain), ids, "0"), pa.int64())
            pos = np.flatnonzero(plain)
            keys = np.asarray(ints.to_numpy(zero_copy_only=False))[pos].view(np.uint64)
            out[pos] = self.ints.claim(keys, pos + start)
        other = valid & ~plain
        if other.any():
            pos = np.flatnonzero(other)
            text = ids.take(pa.array(pos))
            self.text_rows.append(pos + start)
            self.texts.append(text)
            obj = text.to_numpy(zero_copy_only=False)
            keys = pd.util.hash_array(obj, categorize=False)
            got = self.hashed.claim(keys, pos + start)
            self._confirm(obj, pos, got, start)
            out[pos] = got
        return out

    def _confirm(self, mine: np.ndarray, pos: np.ndarray, got: np.ndarray, start: int) -> None:
        """Undo hash matches between different texts (about 1 in 10^19 pairs)."""
        dup = np.flatnonzero(got >= 0)
        if dup.size == 0:
            return
        theirs = self._text_at(got[dup])
        wrong = dup[mine[dup] != theirs]
        for i in wrong:  # in row order: the first of a collided id becomes its own first
            t = mine[i]
            if t in self.collided:
                got[i] = self.collided[t]
            else:
                self.collided[t] = start + int(pos[i])
                got[i] = -1


# --------------------------------------------------------------------------------------
# readers: chunks of exactly `chunksize` records as Arrow tables
# --------------------------------------------------------------------------------------
def _rechunk(tables: Iterator, chunksize: int) -> Iterator:
    """Re-cut a stream of Arrow tables into tables of ``chunksize`` rows (the last shorter)."""
    import pyarrow as pa

    buf: list = []
    have = 0
    for t in tables:
        while t.num_rows:
            take = min(chunksize - have, t.num_rows)
            buf.append(t.slice(0, take))
            have += take
            t = t.slice(take)
            if have == chunksize:
                yield pa.concat_tables(buf) if len(buf) > 1 else buf[0]
                buf, have = [], 0
    if have:
        yield pa.concat_tables(buf) if len(buf) > 1 else buf[0]


def _csv_header(src: Path) -> list[str]:
    try:
        with open(src, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"registry {str(src)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8 CSV."
        ) from None
    if header is None or header == []:
        size = src.stat().st_size
        raise DataError(
            f"registry {str(src)!r} is empty ({size} bytes): it has no header and no "
            "records. Export the registry again."
        )
    return header


def _file_columns(src: Path, fmt: str) -> tuple[list[str], int | None]:
    """Column names and the number of records when the file says (None for CSV/Excel)."""
    if fmt == "csv":
        return _csv_header(src), None
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(src)
            return list(pf.schema_arrow.names), int(pf.metadata.num_rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{str(src)!r} is not a readable Parquet file: {exc}.") from None
    if fmt in ("stata", "spss"):
        import pyreadstat

        reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
        try:
            _, meta = reader(str(src), metadataonly=True)
        except Exception as exc:  # pyreadstat raises its own error types
            raise DataError(f"{str(src)!r} is not a readable {fmt} file: {exc}.") from None
        n = meta.number_rows
        return list(meta.column_names), (int(n) if n is not None and n >= 0 else None)
    return _excel_header(src), None


def _excel_header(src: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(src, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/... for broken files
        raise DataError(f"{str(src)!r} is not a readable .xlsx workbook: {exc}.") from None
    try:
        first = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True), None)
    finally:
        wb.close()
    if not first or all(v is None for v in first):
        raise DataError(f"registry {str(src)!r} is empty: its first sheet has no header row.")
    while first and first[-1] is None:
        first = first[:-1]
    return ["" if v is None else str(v) for v in first]


def _read_csv(src: Path, read_cols: list[str]):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # 4 MB blocks: parsed in parallel by Arrow's threads (one large block would use one)
    ropts = pacsv.ReadOptions(block_size=4 << 20)
    popts = pacsv.ParseOptions(newlines_in_values=True)
    copts = pacsv.ConvertOptions(
        include_columns=read_cols,
        column_types={c: pa.string() for c in read_cols},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pacsv.open_csv(src, read_options=ropts, parse_options=popts,
                                convert_options=copts)
        for batch in reader:
            yield pa.Table.from_batches([batch])
    except pa.ArrowInvalid as exc:
        msg = str(exc).rstrip(".")
        hint = ("save the registry as UTF-8 CSV" if "UTF8" in msg or "UTF-8" in msg else
                "each line needs one value per header column, separated by commas (quote "
                "values that contain commas or line breaks)")
        raise DataError(f"cannot read registry {str(src)!r} as CSV: {msg}; {hint}.") from None


def _read_parquet(src: Path, read_cols: list[str], chunksize: int):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pre_buffer=False: with pre-buffering, pyarrow keeps read-ahead buffers of earlier row
    # groups alive and the memory pool grows with the file; without it memory stays flat.
    pf = pq.ParquetFile(src, pre_buffer=False)
    for batch in pf.iter_batches(batch_size=chunksize, columns=read_cols):
        yield pa.Table.from_batches([batch])


def _read_stat(src: Path, read_cols: list[str], chunksize: int, fmt: str):
    import pyarrow as pa
    import pyreadstat

    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    for frame, meta in pyreadstat.read_file_in_chunks(
        reader, str(src), chunksize=chunksize, usecols=read_cols,
        disable_datetime_conversion=True,
    ):
        types = meta.readstat_variable_types or {}
        cols = {}
        for c in read_cols:
            s = frame[c]
            if types.get(c) in ("int8", "int16", "int32") and pd.api.types.is_float_dtype(s.dtype):
                s = s.astype("Int64")  # whole numbers stored as integers: exact, not float
            cols[c] = pa.array(s, from_pandas=True)
        yield pa.table(cols)


def _cell_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, int | str):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _read_excel(src: Path, read_cols: list[str], chunksize: int, header: list[str]):
    import pyarrow as pa
    from openpyxl import load_workbook

    where = [header.index(c) for c in read_cols]
    wb = load_workbook(src, read_only=True, data_only=True)
    try:
        buf: list[list] = [[] for _ in read_cols]
        for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue  # an empty line, not a record
            for j, k in enumerate(where):
                buf[j].append(_cell_text(row[k]) if k < len(row) else None)
            if len(buf[0]) == chunksize:
                yield pa.table({c: pa.array(b, pa.string()) for c, b in zip(read_cols, buf, strict=True)})
                buf = [[] for _ in read_cols]
        if buf[0]:
            yield pa.table({c: pa.array(b, pa.string()) for c, b in zip(read_cols, buf, strict=True)})
    finally:
        wb.close()


def _read_dask(src: Path, read_cols: list[str], chunksize: int, fmt: str):
    """Partitions of a Dask DataFrame as Arrow tables, computed two at a time, in order."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise DataError(
            "engine='dask' needs dask: pip install 'pmt[scale]' (dask[dataframe])."
        ) from None
    import pyarrow as pa

    if fmt == "csv":
        # every column as text, as the pandas engine reads it: no type guessing from the
        # first rows, so text anywhere in any column reads the same
        ddf = dd.read_csv(str(src), usecols=read_cols, dtype=str, na_filter=False,
                          keep_default_na=False, blocksize=max(1_000_000, chunksize * 50))
    else:
        ddf = dd.read_parquet(str(src), columns=read_cols, split_row_groups=True,
                              dtype_backend="pyarrow")
    parts = ddf.to_delayed()
    step = 2
    for i in range(0, len(parts), step):
        for frame in dask.compute(*parts[i:i + step]):
            frame = frame[read_cols]
            yield pa.table({c: pa.array(frame[c], from_pandas=True) for c in read_cols})


# --------------------------------------------------------------------------------------
# one chunk: validate, score, split into scores and rejects
# --------------------------------------------------------------------------------------
class _ChunkScorer:
    """Turns chunks (Arrow tables) into score and reject tables; keeps the counts."""

    def __init__(self, scorer, spec, id_col, keep, training_range):
        self.scorer = scorer
        self.id_col = id_col
        self.keep = keep
        self.training_range = training_range
        self.fields = list(scorer.fields)
        specs = {f: spec[f] for f in self.fields if spec is not None and f in spec}
        self.specs = specs
        numeric = set(scorer.numeric_fields)
        numeric |= {f for f, c in specs.items() if c.type in ("binary", "count", "continuous")}
        self.numeric = [f for f in self.fields if f in numeric]
        self.binary = {f for f in self.numeric
                       if (f in specs and specs[f].type == "binary") or f in scorer.binary}
        self.ranges = {} if training_range == "ignore" else dict(scorer.training_ranges)
        self.flag = training_range == "flag" and bool(self.ranges)
        self.seen = _SeenIds() if id_col is not None else None
        self.n_in = self.n_ok = self.n_bad = self.n_flagged = self.chunks = 0
        self.reasons: Counter = Counter()
        self.flagged: Counter = Counter()
        self._flag_counts: dict[str, np.ndarray] = {}

    def output_names(self) -> list[str]:
        return self.scorer.output_names() + ([_FLAG] if self.flag else [])

    def _field_problems(self, table, n: int):
        """Inputs for the scorer, problems with the values as read, and bad rows by field."""
        cols: dict[str, Any] = {}
        problems: list[tuple[np.ndarray, str | RowReason]] = []
        invalid: dict[str, np.ndarray] = {}
        flag = np.zeros(n, dtype=bool) if self.flag else None
        for f in self.fields:
            col = table.column(f)
            probs: list[tuple[np.ndarray, str | RowReason]] = []
            c = self.specs.get(f)
            if f in self.numeric:
                num = _numbers(col, f)
                x = num.x
                cols[f] = x
                if num.missing is not None:
                    probs.append((num.missing, f"missing value for '{f}'"))
                if num.nonnum is not None:
                    probs.append((num.nonnum, RowReason(f"non-numeric value in '{f}'",
                                                        _detail(_flat(col), num.nonnum))))
                if num.nonfinite is not None:
                    probs.append((num.nonfinite, RowReason(f"non-finite value in '{f}'",
                                                           _detail(_flat(col), num.nonfinite))))
                span = _span(x) if x.size else None
                probs += self._number_checks(f, c, x, col, span)
                if f in self.ranges and span is not None:
                    lo, hi = self.ranges[f]
                    out = outside_range(x, lo, hi) if _outside(*span, lo, hi) else None
                    if out is not None:
                        key = f"'{f}' outside the training range [{_fmt(lo)}, {_fmt(hi)}]"
                        if self.training_range == "reject":
                            probs.append((out, RowReason(key, _detail(_flat(col), out))))
                        else:
                            flag |= out
                            self._flag_counts[key] = out
            else:
                values, blank = _codes(col, self.scorer.known_labels.get(f, set()), f)
                cols[f] = values
                if blank.any():
                    probs.append((blank, f"missing value for '{f}'"))
            if c is not None and c.codes is not None and c.type == "categorical":
                lookup = {level_label(k): 0 for k in c.codes}
                _, _, _, unknown = map_codes(cols[f], lookup)
                if unknown is not None and unknown.any():
                    probs.append((unknown, RowReason(f"code not declared in the spec for '{f}'",
                                                     _detail(_flat(col), unknown))))
            if probs:
                bad = np.zeros(n, dtype=bool)
                for m, _ in probs:
                    bad |= m
                invalid[f] = bad
                problems += probs
        return cols, problems, invalid, flag

    def _number_checks(self, f: str, c, x: np.ndarray, col, span) -> list:
        """Binary, count and spec-range checks of a numeric field (finite values only).

        The column's minimum and maximum (``span``, None for no records) are looked at
        first, so a column that passes costs two reductions, not a mask per check.
        """
        probs: list[tuple[np.ndarray, str | RowReason]] = []
        if span is None:
            return probs
        whole = x.dtype.kind in "iub"
        lo_x, hi_x = span
        if f in self.binary and not (whole and lo_x >= 0 and hi_x <= 1):
            bad = (x != 0) & (x != 1)
            if not whole:
                bad &= ~np.isnan(x)
            if bad.any():
                probs.append((bad, RowReason(f"'{f}' is binary: value not 0 or 1",
                                             _detail(_flat(col), bad))))
        if c is not None and c.type == "count" and not (whole and lo_x >= 0):
            bad = (x < 0) if whole else ((x < 0) | (x != np.floor(x))) & ~np.isnan(x)
            if bad.any():
                probs.append((bad, RowReason(f"'{f}' is a count: not a whole number >= 0",
                                             _detail(_flat(col), bad))))
        if c is not None and c.range is not None:
            lo, hi = c.range
            if _outside(lo_x, hi_x, lo, hi):
                out = outside_range(x, lo, hi)
                probs.append((out, RowReason(f"'{f}' outside the spec range [{_fmt(lo)}, {_fmt(hi)}]",
                                             _detail(_flat(col), out))))
        return probs

    def process(self, table):
        """Score one chunk; return (scores table or None, rejects table or None)."""
        import pyarrow as pa

        table = table.combine_chunks()
        n = table.num_rows
        start = self.n_in
        rows = np.arange(start, start + n, dtype=np.int64)
        problems: list[tuple[np.ndarray, str | RowReason]] = []
        id_arr = None
        if self.id_col is not None:
            id_arr = _as_written(table.column(self.id_col))
            blank = _blank(id_arr)
            if blank.any():
                problems.append((blank, "missing id"))
            assert self.seen is not None  # set with the id column
            first = self.seen.first_rows(id_arr, ~blank, start)
            dup = first >= 0
            if dup.any():
                detail = np.full(n, "", dtype=object)
                detail[dup] = ["first at row " + str(r) for r in first[dup].tolist()]
                problems.append((dup, RowReason("duplicate id", detail)))
        self._flag_counts = {}
        cols, field_probs, invalid, flag = self._field_problems(table, n)
        problems += field_probs
        outputs, scorer_probs = self.scorer.evaluate(cols, n)
        for mask, reason in scorer_probs:
            key = reason_key(reason)
            for f, bad in invalid.items():  # already explained by the value as read
                if f"'{f}'" in key:
                    mask = mask & ~bad
            problems.append((mask, reason))
        problems = _merge_problems(problems)
        bad = np.zeros(n, dtype=bool)
        for m, reason in problems:
            k = reason_key(reason)
            bad |= m
            c = int(m.sum())
            if c:
                self.reasons[k] += c
        ok = ~bad
        self.n_in += n
        self.n_ok += int(ok.sum())
        self.n_bad += int(bad.sum())
        self.chunks += 1
        if self.flag:
            outputs[_FLAG] = flag
            for k, m in self._flag_counts.items():
                c = int((m & ok).sum())
                if c:
                    self.flagged[k] += c
            self.n_flagged += int((flag & ok).sum())
        head: dict[str, Any] = {}
        if id_arr is not None:
            head[self.id_col] = id_arr
        head["row"] = pa.array(rows, type=pa.int64())
        for k in self.keep:
            head[k] = _as_written(table.column(k))
        scores = rejects = None
        if ok.any():
            sel = None if ok.all() else pa.array(np.flatnonzero(ok))
            cols_out = {k: (v if sel is None else v.take(sel)) for k, v in head.items()}
            for name, arr in outputs.items():
                cols_out[name] = pa.array(arr if sel is None else arr[ok])
            scores = pa.table(cols_out)
        if bad.any():
            sel = pa.array(np.flatnonzero(bad))
            cols_rej = {k: v.take(sel) for k, v in head.items()}
            for f in self.fields:
                if f not in cols_rej:
                    cols_rej[f] = _as_written(table.column(f)).take(sel)
            reasons = reasons_text(problems, n)
            cols_rej["reject_reason"] = pa.array(reasons[bad].astype(str), type=pa.string())
            rejects = pa.table(cols_rej)
        return scores, rejects, outputs

    def empty_scores(self, table_schema, outputs):
        """The scores schema, for a file where every record is rejected."""
        import pyarrow as pa

        fields = []
        for k in [self.id_col, "row", *self.keep]:
            if k == "row":
                fields.append(("row", pa.int64()))
            elif k is not None:
                fields.append((k, _as_written(pa.array([], table_schema.field(k).type)).type))
        for name, arr in outputs.items():
            fields.append((name, pa.array(arr[:0]).type))
        return pa.schema(fields)

    def reject_columns(self) -> list[str]:
        head = ([self.id_col] if self.id_col else []) + ["row"] + list(self.keep)
        return head + [f for f in self.fields if f not in head] + ["reject_reason"]


def _merge_problems(problems: list) -> list:
    """One (mask, reason) per reason key, so that no record lists a reason twice."""
    merged: dict[str, tuple[np.ndarray, Any]] = {}
    for mask, reason in problems:
        mask = np.asarray(mask, dtype=bool)
        k = reason_key(reason)
        if k not in merged:
            merged[k] = (mask, reason)
            continue
        m0, r0 = merged[k]
        if isinstance(r0, RowReason) and isinstance(reason, RowReason):
            detail = r0.detail.copy()
            fill = (detail == "") & mask
            detail[fill] = reason.detail[fill]
            r0 = RowReason(k, detail)
        merged[k] = (m0 | mask, r0)
    return list(merged.values())


def _span(x: np.ndarray) -> tuple[Any, Any]:
    """Minimum and maximum of a non-empty array, ignoring NaN (NaN: all missing)."""
    if x.dtype.kind in "iub":
        return x.min(), x.max()
    return np.fmin.reduce(x), np.fmax.reduce(x)


def _outside(lo_x, hi_x, lo, hi) -> bool:
    """Whether values spanning [lo_x, hi_x] (NaN: all missing) may leave [lo, hi]."""
    return bool((lo is not None and lo_x < lo) or (hi is not None and hi_x > hi))


def _fmt(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


# --------------------------------------------------------------------------------------
# the streaming loop
# --------------------------------------------------------------------------------------
def _id_column(columns: list[str], spec, id_arg: str | None) -> str | None:
    """The record id column: the spec's ``role: id``, else ``id=``, else a common name."""
    spec_ids = spec.columns_with_role("id") if spec is not None else []
    if spec_ids:
        col = spec_ids[0]
        if id_arg is not None and id_arg != col:
            raise DataError(
                f"id={id_arg!r} disagrees with the data spec, whose id column (role: id) is "
                f"{col!r}; drop id= or change the spec."
            )
        if col not in columns:
            raise DataError(
                f"the registry lacks the id column {col!r} declared in data spec "
                f"{spec.name!r} (role: id). Its columns: {', '.join(columns[:30])}."
            )
        return col
    if id_arg is not None:
        if id_arg not in columns:
            raise DataError(
                f"id column {id_arg!r} is not in the registry; its columns: "
                f"{', '.join(columns[:30])}."
            )
        return id_arg
    return next((c for c in _ID_NAMES if c in columns), None)


def score_file(
    model_or_scorecard,
    input_path,
    output_path,
    rejects_path=None,
    chunksize: int = 500_000,
    engine: Literal["pandas", "dask"] = "pandas",
    spec=None,
    keep: Sequence[str] | None = None,
    breakdown: bool = False,
    threshold: float | None = None,
    id: str | None = None,
    training_range: Literal["flag", "reject", "ignore"] = "flag",
) -> ScoreSummary:
    """Score a registry file in chunks and write scores and rejects.

    Parameters
    ----------
    model_or_scorecard : Scorecard, ModelResult, or path
        A :class:`pmt.Scorecard` (writes ``score`` and ``eligible``), a fitted
        single-equation linear model (writes ``xb`` and, with a threshold, ``eligible``),
        or the path of a scorecard JSON or model artifact.
    input_path : str or Path
        Registry as ``.csv`` (UTF-8, comma-separated), ``.parquet``, Stata ``.dta``, SPSS
        ``.sav`` or Excel ``.xlsx`` (first sheet, header in the first row), one row per
        household, with the fields the scorecard/model reads. CSV and Excel cells are read
        as text (see the module docstring for how numbers are recognised).
    output_path : str or Path
        Scores as ``.parquet``, ``.csv`` or ``.dta``: the id column (as read), ``row``
        (0-based input row), the ``keep`` columns, then the scores; one row per scored
        record, in input order. Missing parent folders are created.
    rejects_path : str or Path, optional
        Records that cannot be scored, one row each: the id, ``row``, the ``keep`` columns,
        the fields read (all as text) and ``reject_reason`` (that record's reasons,
        ``; ``-joined). Default: ``<output>_rejects.<suffix>``. Always written (empty when
        nothing is rejected).
    chunksize : int
        Records per chunk (memory is proportional to it, not to the file). Results do not
        depend on it.
    engine : {"pandas", "dask"}
        "dask" reads CSV or Parquet as a Dask DataFrame (needs ``dask[dataframe]``: the
        ``scale`` extra); results are identical to "pandas".
    spec : DataSpec, optional
        Registry data spec. Its ``role: id`` column is the record id. Fields it declares
        are checked: ``binary`` 0/1, ``count`` whole numbers >= 0, values inside ``range``,
        codes among ``codes``; other values are rejected.
    keep : list of str, optional
        More input columns copied (as read) to the scores and rejects.
    breakdown : bool
        Scorecards: add ``points_<question>`` columns (for appeals).
    threshold : float, optional
        Models only: eligibility threshold (defaults to the artifact's ``poverty_line``);
        a finite number on the model's scale, or a probability for probit/logit.
    id : str, optional
        The record id column when no spec is given (default: the first of id, hh_id,
        household_id, record_id, applicant_id present). A blank id rejects the record
        ("missing id"); a repeated id rejects every record after the first ("duplicate id
        (first at row N)"). Without an id column records are identified by ``row`` only.
    training_range : {"flag", "reject", "ignore"}
        Models with a training profile: what to do with a proxy value outside the range
        seen in training (exact for proxies with at most 64 distinct training values).
        "flag" (default) scores the record and sets ``outside_training_range``; "reject"
        rejects it; "ignore" does neither.

    Returns
    -------
    ScoreSummary
        Input, scored and rejected row counts (checked: input = scored + rejected), rejected
        records per reason, flagged records, files and timing.

    Raises
    ------
    pmt.DataError
        For a missing, empty or unreadable registry, a field or id column it lacks, a bad
        output path, or a bad argument.
    pmt.ModelError
        For a model that cannot score (or a bad threshold).
    """
    start = time.perf_counter()
    if training_range not in TRAINING_RANGE_POLICIES:
        raise DataError(
            f"training_range must be one of {', '.join(TRAINING_RANGE_POLICIES)}; got "
            f"{training_range!r}."
        )
    if not isinstance(chunksize, int | np.integer) or isinstance(chunksize, bool) or chunksize < 1:
        raise DataError(f"chunksize must be a positive integer; got {chunksize!r}.")
    if engine not in ("pandas", "dask"):
        raise DataError(f"engine must be 'pandas' or 'dask'; got {engine!r}.")
    scorer = _resolve_scorer(model_or_scorecard, breakdown, threshold)
    src = Path(input_path)
    if not src.is_file():
        raise DataError(f"registry file {str(src)!r} does not exist.")
    fmt = _READ_FORMATS.get(src.suffix.lower())
    if fmt is None:
        raise DataError(
            f"registry {str(src)!r} must be .csv, .parquet, .dta, .sav or .xlsx; got "
            f"{src.suffix or '(no suffix)'!r}."
        )
    if engine == "dask" and fmt not in ("csv", "parquet"):
        raise DataError(
            f"engine='dask' reads .csv and .parquet registries; {src.name} is read in chunks "
            "by the pandas engine (use engine='pandas')."
        )
    if src.stat().st_size == 0:
        raise DataError(
            f"registry {str(src)!r} is empty (0 bytes): it has no header and no records. "
            "Export the registry again."
        )
    out = _check_out_path(output_path, "output_path")
    if rejects_path is None:
        rejects_path = out.with_name(out.stem + "_rejects" + out.suffix)
    rej = _check_out_path(rejects_path, "rejects_path")
    same = {p.resolve() for p in (src, out, rej)}
    if len(same) < 3:
        raise DataError(
            "input_path, output_path and rejects_path must be three different files "
            f"(got {str(src)!r}, {str(out)!r}, {str(rej)!r}): scoring would overwrite its input "
            "or mix scores with rejects."
        )
    columns, total = _file_columns(src, fmt)
    dup_names = sorted({c for c in columns if columns.count(c) > 1})
    if dup_names:
        raise DataError(
            f"registry {src.name} has repeated column name(s) {', '.join(dup_names)}; rename "
            "them so that each column has one name."
        )
    if total == 0:
        raise DataError(f"registry {str(src)!r} has no records (0 rows); nothing to score.")
    missing = [f for f in scorer.fields if f not in columns]
    if missing:
        raise DataError(
            f"registry {src.name} lacks field(s) {', '.join(missing)} that the "
            f"{'scorecard' if isinstance(scorer, ScorecardScorer) else 'model'} reads. "
            f"Its columns: {', '.join(columns[:30])}."
        )
    id_col = _id_column(columns, spec, id)
    keep = list(dict.fromkeys(keep or []))
    bad_keep = [c for c in keep if c not in columns]
    if bad_keep:
        raise DataError(
            f"keep= names column(s) not in the registry: {', '.join(bad_keep)}. Its columns: "
            f"{', '.join(columns[:30])}."
        )
    keep = [c for c in keep if c != id_col]
    taken = set(scorer.output_names()) | {"row", "reject_reason", _FLAG}
    clash = [c for c in [id_col, *keep] if c in taken]
    if clash:
        raise DataError(
            f"column(s) {', '.join(map(str, clash))} would clash with the output columns "
            f"({', '.join(sorted(taken))}); rename them in the registry."
        )
    read_cols = list(dict.fromkeys(([id_col] if id_col else []) + keep + list(scorer.fields)))
    for p, names in ((out, [id_col, "row", *keep, *scorer.output_names(), _FLAG]),
                     (rej, [*read_cols, "row", "reject_reason"])):
        bad_names = [c for c in names if c and not _STATA_NAME.match(c)]
        if p.suffix.lower() == ".dta" and bad_names:
            raise DataError(
                f"{p.name}: Stata variable names are 1-32 letters, digits or _ (not starting "
                f"with a digit); {', '.join(map(repr, bad_names))} cannot be written. Rename "
                "the column(s) or write .parquet or .csv."
            )
    for p in (out, rej):
        p.parent.mkdir(parents=True, exist_ok=True)

    work = _ChunkScorer(scorer, spec, id_col, keep, training_range)
    # write to temporary names and rename at the end, so that a failed run never leaves
    # files that look complete; Stata output goes through a temporary Parquet file
    def tmp_of(p: Path) -> Path:
        return p.with_name(p.name + (".partial.parquet" if p.suffix.lower() == ".dta" else ".partial"))

    def kind_of(p: Path) -> str:
        return "csv" if _WRITE_FORMATS[p.suffix.lower()] == "csv" else "parquet"

    out_tmp, rej_tmp = tmp_of(out), tmp_of(rej)
    out_w = _Writer(out_tmp, kind=kind_of(out))
    rej_w = _Writer(rej_tmp, as_text=True, kind=kind_of(rej))
    finals: list[Path] = []
    try:
        with Progress("scoring rows", total=total) as bar:
            for table in registry_chunks(src, read_cols, chunksize, fmt, engine, columns):
                scores, rejects, outputs = work.process(table)
                if scores is not None:
                    out_w.write(scores)
                elif out_w.schema is None:
                    out_w.write(_empty(work.empty_scores(table.schema, outputs)))
                if rejects is not None:
                    rej_w.write(rejects)
                bar.update(table.num_rows)
        if work.n_in == 0:
            raise DataError(
                f"registry {str(src)!r} has a header but no records; nothing to score."
            )
        out_w.close()
        rej_w.close(empty_schema=_empty_reject_schema(work.reject_columns()))
        ready = []
        for tmp, final in ((out_tmp, out), (rej_tmp, rej)):
            if final.suffix.lower() == ".dta":
                part = final.with_name(final.name + ".partial")
                finals.append(part)
                _write_stata(tmp, part)
                tmp.unlink()
                ready.append((part, final))
            else:
                ready.append((tmp, final))
        for part, final in ready:  # both files are complete: rename them
            part.replace(final)
    except BaseException:
        for w in (out_w, rej_w):
            w.abort()
        for p in finals:
            p.unlink(missing_ok=True)
        raise
    summary = ScoreSummary(
        str(src), str(out), str(rej), work.n_in, work.n_ok, work.n_bad,
        dict(work.reasons), time.perf_counter() - start, engine, work.chunks, id_col,
        work.n_flagged, dict(work.flagged), training_range,
    )
    if not summary.balanced or (total is not None and total != work.n_in):
        raise PMTError(
            f"row count check failed: {total if total is not None else '?'} rows in the "
            f"file, {work.n_in:,} read, {summary.n_scored:,} scored + {summary.n_rejected:,} "
            "rejected. Please report this."
        )
    return summary


def _empty(schema):
    import pyarrow as pa

    return pa.Table.from_batches([], schema=schema)


def _empty_reject_schema(names: list[str]):
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c == "row" else pa.string()) for c in names])


__all__ = ["ModelScorer", "ScoreSummary", "ScorecardScorer", "score_file"]
