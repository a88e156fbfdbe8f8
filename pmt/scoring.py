"""Registry scoring: stream a CSV or Parquet registry through a model or scorecard.

:func:`score_file` reads the registry in chunks (``pyarrow.parquet.ParquetFile.iter_batches``
for Parquet, ``pandas.read_csv(chunksize=...)`` for CSV), so memory is bounded by the chunk
size whatever the file size. Each chunk is scored with vectorised numpy on the column
arrays - category codes are mapped to points through a look-up table indexed by the code
(or by the dictionary index of a dictionary-encoded Parquet column), never row by row -
and written with ``pyarrow.parquet.ParquetWriter`` (or appended to a CSV).

Every record that cannot be scored goes to the rejects file with its reasons: a missing
answer, an unknown category code, a non-numeric value, a value outside the range declared
in the data spec or on the scorecard, a count above its denominator. A rejected record is
never given a score (in particular never 0). At the end, input rows = scored + rejected is
checked and returned in a :class:`ScoreSummary` (printed by ``pmt score``).

With ``engine="dask"`` the same chunk scorer runs through ``dask.dataframe.map_partitions``
on a Dask DataFrame (``read_parquet``/``read_csv``); partitions are computed a few at a
time and written in order, so the output is identical to the pandas engine.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmt.errors import DataError, ModelError, PMTError
from pmt.models.formula import level_label
from pmt.progress import Progress
from pmt.scorecard import (
    Scorecard,
    as_float,
    linear_index,
    map_codes,
    reasons_text,
)
from pmt.scorecard.linear import probability_index
from pmt.spec import outside_range

_ID_NAMES = ("id", "hh_id", "household_id", "record_id", "applicant_id")


# --------------------------------------------------------------------------------------
# scorers: fields read, outputs written
# --------------------------------------------------------------------------------------
class ScorecardScorer:
    """Scores with a :class:`pmt.Scorecard`: ``score`` (points) and ``eligible``."""

    def __init__(self, scorecard: Scorecard, breakdown: bool = False):
        self.sc = scorecard
        self.breakdown = breakdown
        self.fields = scorecard.fields

    def evaluate(self, cols: Mapping[str, Any], n: int):
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
        if threshold is None:
            saved = getattr(model, "thresholds", None) or {}
            threshold = saved.get("poverty_line", saved.get("threshold"))
        self.threshold = None if threshold is None else float(threshold)
        if self.threshold is not None and self.model_type in ("probit", "logit"):
            self.index_cut = probability_index(self.model_type, self.threshold)
        else:
            self.index_cut = self.threshold

    def evaluate(self, cols: Mapping[str, Any], n: int):
        xb = np.full(n, self.const, dtype=float)
        problems: list[tuple[np.ndarray, str]] = []
        for var, b in self.numeric:
            x = np.asarray(cols[var])
            if x.dtype.kind not in "iubf":
                x = as_float(x)
            if x.dtype.kind == "f":
                miss = np.isnan(x)
                if miss.any():
                    problems.append((miss, f"missing or non-numeric value for '{var}'"))
            xb += b * x  # integer codes are promoted to float64 without a copy
        for var, (lookup, contrib) in self.cats.items():
            idx, missing, uvals, unknown = map_codes(cols[var], lookup)
            if missing is not None and missing.any():
                problems.append((missing, f"missing value for '{var}'"))
            if unknown.any():
                shown = ", ".join(level_label(v) for v in uvals[:5])
                problems.append((unknown, f"unknown code in '{var}' ({shown})"))
            xb += contrib[idx]
        out = {"xb": xb}
        if self.index_cut is not None:
            if self.model_type in ("probit", "logit"):
                out["eligible"] = xb > self.index_cut
            else:
                out["eligible"] = xb < self.index_cut
        return out, problems


def _spec_problems(spec, cols: Mapping[str, Any]) -> list[tuple[np.ndarray, str]]:
    """Out-of-range values and undeclared codes per the data spec."""
    problems = []
    for f, values in cols.items():
        if spec is None or f not in spec:
            continue
        c = spec[f]
        if c.range is not None:
            lo, hi = c.range
            out = outside_range(as_float(values), lo, hi)
            if out.any():
                problems.append((out, f"'{f}' outside the spec range [{lo}, {hi}]"))
        if c.codes is not None and c.type in ("categorical", "binary"):
            lookup = {level_label(k): 0 for k in c.codes}
            _, _, uvals, unknown = map_codes(values, lookup)
            if unknown.any():
                shown = ", ".join(level_label(v) for v in uvals[:5])
                problems.append((unknown, f"code not declared in the spec for '{f}' ({shown})"))
    return problems


# --------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------
@dataclass
class ScoreSummary:
    """What :func:`score_file` did: row counts (input = scored + rejected) and files."""

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

    @property
    def balanced(self) -> bool:
        return self.n_input == self.n_scored + self.n_rejected

    @property
    def rows_per_second(self) -> float:
        return self.n_input / self.seconds if self.seconds > 0 else math.inf

    def __str__(self) -> str:
        lines = [
            f"scored {self.input_path} -> {self.output_path} ({self.engine}, {self.n_chunks} chunks, "
            f"{self.seconds:.1f} s, {self.rows_per_second:,.0f} rows/s)",
            f"  input rows   {self.n_input:>12,}",
            f"  scored       {self.n_scored:>12,}",
            f"  rejected     {self.n_rejected:>12,}  -> {self.rejects_path}",
            f"  check: input = scored + rejected: {'OK' if self.balanced else 'MISMATCH'}",
        ]
        for reason, count in sorted(self.reasons.items(), key=lambda kv: -kv[1])[:10]:
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
        self.schema = None
        self.writer = None

    def write(self, table) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if self.as_text:
            table = pa.table(
                {n: (table[n].cast(pa.string()) if n != "row" else table[n]) for n in table.column_names}
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
                    f"column types change between chunks of the input ({exc}); declare the "
                    "types in the CSV or convert the registry to Parquet."
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


def _kind(path: Path) -> str:
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


def _check_path(path, what: str) -> Path:
    p = Path(path)
    if p.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise DataError(f"{what} {str(p)!r} must be a .parquet or .csv file.")
    return p


def _resolve_scorer(model_or_scorecard, breakdown: bool, threshold):
    obj = model_or_scorecard
    if isinstance(obj, str | Path):
        from pmt.artifacts import model_from_document, read_json_document

        doc = read_json_document(obj, "model or scorecard")
        if isinstance(doc, Mapping) and doc.get("format") == "pmt-scorecard":
            obj = Scorecard.from_dict(doc, f"scorecard {str(obj)!r}")
        else:
            obj = model_from_document(doc, f"model artifact {str(obj)!r}").model
    if isinstance(obj, Scorecard):
        if threshold is not None:
            raise ModelError("threshold= applies to models; a scorecard has its own cut-off.")
        return ScorecardScorer(obj, breakdown)
    if breakdown:
        raise ModelError("breakdown=True needs a Scorecard (points per question).")
    return ModelScorer(obj, threshold)


def _output_table(keep: Mapping[str, Any], outputs: Mapping[str, np.ndarray], ok: np.ndarray):
    import pyarrow as pa

    cols = {}
    for name, arr in keep.items():
        cols[name] = _to_arrow(arr).filter(pa.array(ok)) if not ok.all() else _to_arrow(arr)
    for name, arr in outputs.items():
        cols[name] = pa.array(arr[ok] if not ok.all() else arr)
    return pa.table(cols)


def _to_arrow(arr):
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray | pa.Array):
        return arr
    if isinstance(arr, pd.Series):
        return pa.Array.from_pandas(arr)
    return pa.array(arr)


def _reject_table(fields: Mapping[str, Any], rows: np.ndarray, bad: np.ndarray,
                  reasons: np.ndarray):
    import pyarrow as pa

    idx = np.flatnonzero(bad)
    cols = {"row": pa.array(rows[idx], type=pa.int64())}
    take = pa.array(idx)
    for name, arr in fields.items():
        cols[name] = _to_arrow(arr).take(take)
    cols["reject_reason"] = pa.array(reasons[idx].astype(str), type=pa.string())
    return pa.table(cols)


def _arrow_column(batch, name: str):
    """numpy (or pandas categorical) view of a record-batch column for scoring."""
    import pyarrow as pa

    col = batch.column(name)
    if pa.types.is_dictionary(col.type):
        return col.to_pandas()  # Categorical: codes are mapped through the dictionary
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                                or pa.types.is_boolean(col.type)):
        return col.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return col.to_numpy(zero_copy_only=False).astype(float)  # nulls -> NaN
    return col.to_pandas().to_numpy()


# --------------------------------------------------------------------------------------
# the streaming loop
# --------------------------------------------------------------------------------------
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
) -> ScoreSummary:
    """Score a registry file in chunks and write scores and rejects.

    Parameters
    ----------
    model_or_scorecard : Scorecard, ModelResult, or path
        A :class:`pmt.Scorecard` (writes ``score`` and ``eligible``), a fitted
        single-equation linear model (writes ``xb`` and, with a threshold, ``eligible``),
        or the path of a scorecard JSON or model artifact.
    input_path : str or Path
        Registry as ``.parquet`` or ``.csv``, one row per household, with the fields the
        scorecard/model reads.
    output_path : str or Path
        Scores as ``.parquet`` or ``.csv``: the ``keep`` columns then the scores, one row
        per scored record, in input order.
    rejects_path : str or Path, optional
        Records that cannot be scored: ``row`` (0-based input row), the id and scored
        fields (as text), and ``reject_reason``. Default: ``<output>_rejects.<suffix>``.
        Always written (empty when nothing is rejected).
    chunksize : int
        Rows per chunk (memory is proportional to it, not to the file).
    engine : {"pandas", "dask"}
        "dask" runs the chunk scorer on a Dask DataFrame (needs ``dask[dataframe]``: the
        ``scale`` extra); results are identical.
    spec : DataSpec, optional
        Registry data spec: values outside a declared ``range`` or codes not declared are
        rejected.
    keep : list of str, optional
        Input columns copied to the output (default: the id column(s) among id, hh_id,
        household_id, record_id, applicant_id, and ``row`` when there is none).
    breakdown : bool
        Scorecards: add ``points_<question>`` columns (for appeals).
    threshold : float, optional
        Models only: eligibility threshold (defaults to the artifact's ``poverty_line``).

    Returns
    -------
    ScoreSummary
        Input, scored and rejected row counts (checked: input = scored + rejected), reasons,
        files and timing.
    """
    start = time.perf_counter()
    scorer = _resolve_scorer(model_or_scorecard, breakdown, threshold)
    src = Path(input_path)
    if not src.is_file():
        raise DataError(f"registry file {str(src)!r} does not exist.")
    suffix = src.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise DataError(f"registry {str(src)!r} must be .parquet or .csv; got {suffix!r}.")
    out = _check_path(output_path, "output_path")
    if rejects_path is None:
        rejects_path = out.with_name(out.stem + "_rejects" + out.suffix)
    rej = _check_path(rejects_path, "rejects_path")
    same = {p.resolve() for p in (src, out, rej)}
    if len(same) < 3:
        raise DataError(
            "input_path, output_path and rejects_path must be three different files "
            f"(got {str(src)!r}, {str(out)!r}, {str(rej)!r}): scoring would overwrite its input "
            "or mix scores with rejects."
        )
    if not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise DataError(f"chunksize must be a positive integer; got {chunksize!r}.")
    if engine not in ("pandas", "dask"):
        raise DataError(f"engine must be 'pandas' or 'dask'; got {engine!r}.")
    columns = _file_columns(src)
    missing = [f for f in scorer.fields if f not in columns]
    if missing:
        raise DataError(
            f"registry {src.name} lacks field(s) {', '.join(missing)} that the "
            f"{'scorecard' if isinstance(scorer, ScorecardScorer) else 'model'} reads. "
            f"Its columns: {', '.join(columns[:30])}."
        )
    if keep is None:
        keep = [c for c in columns if c in _ID_NAMES]
    else:
        keep = list(keep)
        bad_keep = [c for c in keep if c not in columns]
        if bad_keep:
            raise DataError(f"keep= names column(s) not in the registry: {', '.join(bad_keep)}.")
    add_row = not keep
    read_cols = list(dict.fromkeys(keep + list(scorer.fields)))

    state = {"n_in": 0, "n_ok": 0, "n_bad": 0, "chunks": 0, "reasons": Counter()}
    # write to temporary names and rename at the end, so that a failed run never leaves
    # files that look complete
    out_tmp = out.with_name(out.name + ".partial")
    rej_tmp = rej.with_name(rej.name + ".partial")
    out_w = _Writer(out_tmp, kind=_kind(out))
    rej_w = _Writer(rej_tmp, as_text=True, kind=_kind(rej))

    def process(cols: dict, n: int):
        rows = np.arange(state["n_in"], state["n_in"] + n, dtype=np.int64)
        fields = {f: cols[f] for f in scorer.fields}
        outputs, problems = scorer.evaluate(fields, n)
        problems += _spec_problems(spec, fields)
        bad = np.zeros(n, dtype=bool)
        for m, reason in problems:
            bad |= m
            state["reasons"][reason.split(" (")[0]] += int(m.sum())
        ok = ~bad
        keep_cols = {k: cols[k] for k in keep}
        if add_row:
            keep_cols = {"row": rows}
        if ok.any() or out_w.schema is None:
            out_w.write(_output_table(keep_cols, outputs, ok))
        if bad.any():
            reasons = reasons_text(problems, n)
            rej_w.write(_reject_table({k: cols[k] for k in read_cols}, rows, bad, reasons))
        state["n_in"] += n
        state["n_ok"] += int(ok.sum())
        state["n_bad"] += int(bad.sum())
        state["chunks"] += 1

    chunks = _iter_chunks if engine == "pandas" else _iter_dask
    total = _count_rows(src) if suffix != ".csv" else None  # CSV: unknown until read
    try:
        with Progress("scoring rows", total=total) as bar:
            for cols, n in chunks(src, read_cols, chunksize):
                process(cols, n)
                bar.update(n)
        out_w.close()
        rej_w.close(empty_schema=_empty_reject_schema(read_cols))
    except BaseException:
        for w in (out_w, rej_w):
            w.abort()
        raise
    out_tmp.replace(out)
    rej_tmp.replace(rej)
    n_total = total if total is not None else state["n_in"]
    summary = ScoreSummary(
        str(src), str(out), str(rej), state["n_in"], state["n_ok"], state["n_bad"],
        dict(state["reasons"]), time.perf_counter() - start, engine, state["chunks"],
    )
    if not summary.balanced or n_total != state["n_in"]:
        raise PMTError(
            f"row count check failed: {n_total:,} rows in the file, {state['n_in']:,} read, "
            f"{summary.n_scored:,} scored + {summary.n_rejected:,} rejected. Please report this."
        )
    return summary


def _empty_reject_schema(read_cols):
    import pyarrow as pa

    return pa.schema(
        [("row", pa.int64())] + [(c, pa.string()) for c in read_cols] + [("reject_reason", pa.string())]
    )


def _file_columns(src: Path) -> list[str]:
    if src.suffix.lower() == ".csv":
        try:
            return list(pd.read_csv(src, nrows=0).columns)
        except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the header of {str(src)!r}: {exc}.") from None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(src).schema_arrow.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{str(src)!r} is not a readable Parquet file: {exc}.") from None


def _count_rows(src: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(src).metadata.num_rows)


def _iter_chunks(src: Path, read_cols: list[str], chunksize: int):
    """Yield ({column: array}, n) chunk by chunk with bounded memory."""
    if src.suffix.lower() == ".csv":
        for chunk in pd.read_csv(src, usecols=read_cols, chunksize=chunksize,
                                 low_memory=True, keep_default_na=True):
            yield {c: chunk[c].to_numpy() for c in read_cols}, len(chunk)
        return
    import pyarrow.parquet as pq

    # pre_buffer=False: with pre-buffering, pyarrow keeps read-ahead buffers of earlier row
    # groups alive and the memory pool grows with the file; without it memory stays flat.
    pf = pq.ParquetFile(src, pre_buffer=False)
    for batch in pf.iter_batches(batch_size=chunksize, columns=read_cols):
        yield {c: _arrow_column(batch, c) for c in read_cols}, batch.num_rows


def _iter_dask(src: Path, read_cols: list[str], chunksize: int):
    """The same chunks from a Dask DataFrame, computed a few partitions at a time."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise DataError(
            "engine='dask' needs dask: pip install 'pmt[scale]' (dask[dataframe])."
        ) from None
    if src.suffix.lower() == ".csv":
        ddf = dd.read_csv(str(src), usecols=read_cols, blocksize=max(1_000_000, chunksize * 50),
                          assume_missing=True)
    else:
        ddf = dd.read_parquet(str(src), columns=read_cols, split_row_groups=True)
    parts = ddf.to_delayed()
    step = 2
    for i in range(0, len(parts), step):
        frames = dask.compute(*parts[i:i + step])
        for frame in frames:
            for start in range(0, len(frame), chunksize):
                sub = frame.iloc[start:start + chunksize]
                yield {c: _pandas_column(sub[c]) for c in read_cols}, len(sub)


def _pandas_column(s: pd.Series):
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float if s.hasnans else None)
    return s.to_numpy(dtype=object)


__all__ = ["ModelScorer", "ScoreSummary", "ScorecardScorer", "score_file"]
