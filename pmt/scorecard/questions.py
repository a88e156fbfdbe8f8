"""Questions and answers of a scorecard and their evaluation on registry records.

A :class:`Question` reads one registry field (or a count ``field`` per ``per``) and maps
each record to one of its :class:`Answer` options: by code for categorical questions, by
band for numeric ones. Also the record-level helpers shared with :mod:`pmt.registry_scoring`
(numeric coercion, code look-up, rejection reasons).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import pandas as pd

from pmt._validation import numeric_values
from pmt.models.formula import level_label
from pmt.spec import outside_range

_BOUND_KEYS = ("gt", "ge", "lt", "le")


@dataclass
class Answer:
    """One answer option: its label, the registry condition and its points.

    ``condition`` is ``{"equals": code}`` for categorical answers, or bounds among
    ``gt``/``ge`` (lower) and ``lt``/``le`` (upper) for a band of a numeric answer (of the
    question's ``field``, or of ``field / per`` for a ratio question). ``value`` is the
    exact contribution on the model's scale (after the direction flip, before the shift).
    """

    label: str
    condition: dict
    points: int
    value: float | None = None


@dataclass
class Question:
    """One question of the form: the registry field(s) it reads and its answers.

    ``per`` names the denominator of a ratio or share question (the answer is the band of
    ``field / per``). ``ask`` holds the wording of the two counts the enumerator form asks
    for such a question, ``(numerator question, denominator question)``, when it was built
    with a data spec; it is not part of the JSON document (forms of a loaded scorecard
    take the wording from ``spec=``).
    """

    id: str
    field: str
    text: str
    kind: Literal["categorical", "banded"]
    answers: list[Answer]
    per: str | None = None
    note: str | None = None
    range: tuple[float | None, float | None] | None = None
    ask: tuple[str | None, str | None] | None = dataclasses.field(default=None, repr=False, compare=False)
    _lookup: dict | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def fields(self) -> list[str]:
        """Registry fields the question reads: ``field``, and ``per`` for a ratio question."""
        return [self.field] + ([self.per] if self.per else [])

    @property
    def max_points(self) -> int:
        """Most points any answer gives."""
        return max(a.points for a in self.answers)

    @property
    def is_zero(self) -> bool:
        """True when every answer is worth 0 points: the question cannot change a score.

        Such questions stay in the scorecard (its JSON, points table and analyst form) but
        are not read when scoring and are left out of the enumerator form.
        """
        return all(a.points == 0 for a in self.answers)

    # --- compiled evaluation ----------------------------------------------------------
    def lookup(self) -> dict[str, int]:
        """Categorical: code label -> answer index."""
        if self._lookup is None:
            self._lookup = {level_label(a.condition["equals"]): i for i, a in enumerate(self.answers)}
        return self._lookup

    def cuts(self) -> tuple[np.ndarray, np.ndarray]:
        """Banded: upper cut values and whether each includes its value (le) or not (lt)."""
        vals, incl = [], []
        for a in self.answers[:-1]:
            c = a.condition
            if "le" in c:
                vals.append(float(c["le"]))
                incl.append(True)
            else:
                vals.append(float(c["lt"]))
                incl.append(False)
        return np.asarray(vals), np.asarray(incl, dtype=bool)

    def points_of(self, values, per=None, dtype=np.int16):
        """Points per record (-1 where invalid) and a list of (mask, reason).

        Categorical answers map codes straight to points through one look-up table.
        """
        if self.kind == "categorical":
            lookup = {lab: self.answers[i].points for lab, i in self.lookup().items()}
            return self.answer_index(values, per, lookup)
        idx, problems = self.answer_index(values, per)
        table = np.array([a.points for a in self.answers] + [-1], dtype=dtype)
        return table[idx], problems

    def answer_index(self, values, per=None, lookup: Mapping[str, int] | None = None):
        """Answer index per record (-1 where invalid) and a list of (mask, reason).

        ``lookup`` (categorical questions) maps code labels to other non-negative values
        than the answer index (e.g. points).
        """
        problems: list[tuple[np.ndarray, str | RowReason]] = []
        if self.kind == "categorical":
            idx, missing, _, unknown = map_codes(values, lookup or self.lookup())
            if missing is not None and missing.any():
                problems.append((missing, f"missing answer for '{self.field}'"))
            if unknown is not None and unknown.any():
                # each record's own code, never the chunk's list of unknown codes
                problems.append(
                    (unknown, RowReason.of(f"unknown code in '{self.field}'", values, unknown))
                )
            return idx, problems
        x = as_float(values)
        bad = np.isnan(x)
        if bad.any():
            problems.append((bad, f"missing or non-numeric answer for '{self.field}'"))
        if self.range is not None:
            lo, hi = self.range
            out = outside_range(x, lo, hi)
            if out.any():
                problems.append((out, f"'{self.field}' outside its range [{_fmt(lo)}, {_fmt(hi)}]"))
            bad = bad | out
        if self.per is not None:
            d = as_float(per)
            dmiss = np.isnan(d)
            if dmiss.any():
                problems.append((dmiss, f"missing or non-numeric answer for '{self.per}'"))
            neg = (d < 0) | (x < 0)
            over = x > d
            if neg.any():
                problems.append((neg, f"negative count in '{self.field}' or '{self.per}'"))
            if over.any():
                problems.append((over, f"'{self.field}' exceeds '{self.per}'"))
            bad = bad | dmiss | neg | over
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(d > 0, x / np.where(d > 0, d, 1.0), 0.0)
        cuts, incl = self.cuts()
        idx = np.zeros(x.shape, dtype=np.int64)
        for c, inc in zip(cuts, incl, strict=True):
            idx += (x > c) if inc else (x >= c)
        idx[bad] = -1
        return idx, problems


def as_float(values) -> np.ndarray:
    """Float array of ``values``; missing and non-numeric entries become NaN.

    Record-level: the callers flag those records ("missing or non-numeric answer") instead
    of raising, so this is :func:`pmt._validation.numeric_values` without its mask.
    """
    return numeric_values(values)[0]


def map_codes(values, lookup: Mapping[str, int]):
    """Map category codes to answer indices through their text labels.

    Returns (index with -1 for invalid, missing mask or None, unknown distinct values,
    unknown mask or None); ``lookup`` values must be non-negative. Integer codes use a
    direct look-up table; other values are factorised first, so the cost is one hash per
    distinct value, not per record.
    """
    top = max(lookup.values(), default=0)
    tdtype = np.int16 if top < 32_000 else np.int64
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        cats = list(values.cat.categories)
        table = np.array([lookup.get(level_label(c), -1) for c in cats] + [-1], dtype=tdtype)
        idx = table[codes]
        missing = codes < 0
        unknown = ~missing & (idx < 0)
        used: np.ndarray | list = np.unique(codes[unknown]) if unknown.any() else []
        return idx, missing, [cats[i] for i in used], unknown
    arr = np.asarray(values)
    n = arr.shape[0]
    if arr.dtype.kind == "b":
        arr = arr.view(np.uint8)
    if arr.dtype.kind in "iu" or (arr.dtype.kind == "f"):
        x = arr
        missing = np.isnan(x) if x.dtype.kind == "f" else None
        any_missing = missing is not None and bool(missing.any())
        miss = cast(np.ndarray, missing)  # read only where any_missing, so never None there
        xs = x[~miss] if any_missing else x
        if xs.size and (xs.dtype.kind != "f" or np.all(np.mod(xs, 1) == 0)):
            lo, hi = int(xs.min()), int(xs.max())
            if hi - lo <= 1_000_000:
                base = min(lo, 0)
                table = np.array([lookup.get(str(v), -1) for v in range(base, hi + 1)],
                                 dtype=tdtype)
                if xs.dtype.kind in "iu" and base == 0:
                    idx = table[xs]  # codes index the table directly (no cast)
                    unknown = idx < 0
                else:
                    idx = np.full(n, -1, dtype=tdtype)
                    if any_missing:
                        idx[~miss] = table[xs.astype(np.int64) - base]
                    else:
                        idx = table[xs.astype(np.int64) - base]
                    unknown = (idx < 0) & ~miss if any_missing else idx < 0
                uvals = np.unique(x[unknown]).tolist() if unknown.any() else []
                return idx, (missing if any_missing else None), uvals, unknown
    codes, uniques = pd.factorize(pd.Series(arr, copy=False), use_na_sentinel=True)
    table = np.array([lookup.get(level_label(u), -1) for u in uniques] + [-1], dtype=tdtype)
    idx = table[codes]  # code -1 (missing) picks the trailing -1
    missing = codes < 0
    unknown = ~missing & (idx < 0)
    uvals = [u for u, t in zip(uniques, table[:-1], strict=True) if t < 0]
    return idx, missing, uvals, unknown


def _fmt(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    if x.is_integer():
        return str(int(x))
    return f"{x:.3g}"


def condition_text(cond: Mapping, q: Question | None = None) -> str:
    """Readable form of a registry condition, e.g. ``rooms > 2 and <= 3``."""
    name = q.field if q is not None else "x"
    if q is not None and q.per:
        name = f"{q.field}/{q.per}"
    if "equals" in cond:
        return f"{name} = {cond['equals']}"
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    parts = [f"{ops[k]} {_fmt(cond[k])}" for k in _BOUND_KEYS if k in cond]
    return f"{name} " + " and ".join(parts)


@dataclass(frozen=True)
class RowReason:
    """A rejection reason whose detail differs by record: ``key (detail)``.

    ``key`` names the problem and the field (e.g. ``unknown code in 'region'``) and is what
    summaries count; ``detail`` is an object array over all n records holding each
    record's own value (read only where the problem's mask is true). A record's reason
    therefore names its own value, never the values of other records of the same chunk.
    """

    key: str
    detail: np.ndarray

    @classmethod
    def of(cls, key: str, values, mask: np.ndarray) -> RowReason:
        """The reason ``key`` with each masked record's value (as a code label) as detail."""
        mask = np.asarray(mask, dtype=bool)
        detail = np.full(mask.shape[0], "", dtype=object)
        rows = np.flatnonzero(mask)
        if rows.size:
            if isinstance(values, pd.Series):
                picked = values.iloc[rows]
                picked = picked.astype(object) if isinstance(picked.dtype, pd.CategoricalDtype) else picked
                picked = picked.to_numpy(dtype=object)
            else:
                picked = np.asarray(values)[rows]
            codes, uniques = pd.factorize(pd.Series(picked, dtype=object), use_na_sentinel=False)
            labels = np.array([level_label(u) for u in uniques] + [""], dtype=object)
            detail[rows] = labels[codes]
        return cls(key, detail)

    def texts(self, rows: np.ndarray) -> np.ndarray:
        """``key (detail)`` of the records ``rows`` (just ``key`` where the detail is empty)."""
        d = self.detail[rows]
        empty = d == ""
        out = np.full(rows.shape[0], self.key, dtype=object)
        if not empty.all():
            out[~empty] = self.key + " (" + d[~empty].astype(object) + ")"
        return out


def reason_key(reason: str | RowReason) -> str:
    """What a summary counts a reason under: its key, without a record's own detail."""
    if isinstance(reason, RowReason):
        return reason.key
    return reason.split(" (")[0]


def reasons_text(problems: list[tuple[np.ndarray, str | RowReason]], n: int) -> np.ndarray:
    """Join the reasons that apply to each record ('' when none), as an object array.

    A reason is a text shared by every record of its mask, or a :class:`RowReason` whose
    detail is the record's own value; each record lists only its own reasons.
    """
    out = np.full(n, "", dtype=object)
    for mask, reason in problems:
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            continue
        text = reason if isinstance(reason, str) else reason.texts(rows)
        cur = out[rows]
        out[rows] = np.where(cur == "", text, cur + "; " + text)
    return out
