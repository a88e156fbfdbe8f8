"""Scorecards: a linear PMT model turned into integer points a field worker can add up.

From a fitted linear-index model (OLS, truncated OLS, quantile regression on log welfare,
or the index of a probit/logit of being poor) :meth:`Scorecard.from_model` builds one
**question** per proxy variable and one **answer** per category or band:

* categorical ``C(x)`` terms: one answer per level, the model's coefficient (base 0);
* 0/1 proxies: answers "No"/"Yes";
* counts (e.g. rooms): one answer per value, then "k or more" (1, 2, 3, 4+);
* continuous proxies: bands at weighted quantiles of the training data (quintiles by
  default, cut-points rounded to 2 significant digits);
* quadratics (``land`` with ``land_sq``, detected from the ``_sq``/``_squared``/``2`` suffix
  or passed as ``quadratic=``): the fitted curve b1*x + b2*x^2 is **capped at its vertex**
  x* = -b1/(2 b2) (the Uzbek 2019 land coefficients 0.00974 and -5.45e-05 peak at 89.4
  sotka), so owning more than x* never lowers the score; the vertex is the top band edge;
* ratio proxies (``ratios={"share_mobile": ("n_mobile", "n_adults")}``): the form asks two
  counts (adults, adults with a phone) and the answer is the band of their ratio: none,
  fewer than half, half or more but not all, all. A zero denominator counts as share 0.

Each answer's value is the model's contribution averaged (with the weights) over the
training households in that band, i.e. the least-squares step approximation of the
proxy's effect. Points are then made non-negative integers with a maximum total of
``max_points`` (100 by default):

1. direction: for a welfare model more points = better off; for a probit/logit of being
   poor the index is multiplied by -1 so that, again, more points = better off;
2. shift: within each question the lowest answer gets 0 (the base category gets 0 unless
   another answer has a negative effect) and the shifts move into the constant
   ``constant = b0 + sum_q min_a c_qa``;
3. scale: ``k = max_points / sum_q (max_a c_qa - min_a c_qa)``; question maxima are rounded
   by the largest-remainder method so they add up to exactly ``max_points``, the other
   answers are rounded to the nearest integer;
4. cut-off: the model threshold t (e.g. the log poverty line, or a probability for
   probit/logit) becomes ``cutoff_exact = k (t - constant)`` on the same scale and shift
   as the points; a household is eligible when its **total score < cutoff** with
   ``cutoff = ceil(cutoff_exact)`` - exactly the integer form of "prediction below the
   threshold" (a household exactly at the threshold is not eligible, as in the model).

The rounding loss (share of households whose eligibility differs between the exact model
and the scorecard, and the targeting metrics of both from
:func:`pmt.evaluate.metrics.targeting_metrics`) is computed when training data are given.

Scorecards export to a printable field form (self-contained HTML with print CSS, and
Markdown), XLSX, and JSON for registry systems (``data_spec/scorecard.schema.json``:
a list of ``{field, answer, condition, points}`` plus the cut-off), and score records with
:meth:`Scorecard.score` (with a per-question breakdown for appeals).

All of this is our own code: no library turns regression coefficients into field-form
points.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmt.artifacts import dump_json, read_json_document, validate_schema
from pmt.errors import ArtifactError, DataError, ModelError, PMTError, example_rows
from pmt.models.formula import level_label
from pmt.survey import weighted_quantile

SCHEMA_VERSION = 1
FORMAT = "pmt-scorecard"
_SQ_SUFFIXES = ("_sq", "_squared", "sq", "2")
_BOUND_KEYS = ("gt", "ge", "lt", "le")
_TOL = 1e-9
RATIO_CUTS = ((0.0, True), (0.5, False), (1.0, False))
_RATIO_LABELS = ("none of them", "fewer than half", "half or more, but not all", "all of them")

Direction = Literal["welfare", "poverty"]


# --------------------------------------------------------------------------------------
# data structures
# --------------------------------------------------------------------------------------
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
    """One question of the form: the registry field(s) it reads and its answers."""

    id: str
    field: str
    text: str
    kind: Literal["categorical", "banded"]
    answers: list[Answer]
    per: str | None = None
    note: str | None = None
    range: tuple[float | None, float | None] | None = None
    _lookup: dict | None = field(default=None, repr=False, compare=False)

    @property
    def fields(self) -> list[str]:
        return [self.field] + ([self.per] if self.per else [])

    @property
    def max_points(self) -> int:
        return max(a.points for a in self.answers)

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
        problems: list[tuple[np.ndarray, str]] = []
        if self.kind == "categorical":
            idx, missing, unknown_values, unknown = map_codes(values, lookup or self.lookup())
            if missing is not None and missing.any():
                problems.append((missing, f"missing answer for '{self.field}'"))
            if unknown is not None and unknown.any():
                shown = ", ".join(level_label(v) for v in unknown_values[:5])
                problems.append(
                    (unknown, f"unknown code in '{self.field}' ({shown}; known: "
                              f"{', '.join(self.lookup())})")
                )
            return idx, problems
        x = as_float(values)
        bad = np.isnan(x)
        if bad.any():
            problems.append((bad, f"missing or non-numeric answer for '{self.field}'"))
        if self.range is not None:
            lo, hi = self.range
            out = np.zeros(x.shape, dtype=bool)
            if lo is not None:
                out |= x < lo
            if hi is not None:
                out |= x > hi
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
    """Float array of ``values``; non-numeric entries become NaN."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        return arr.astype(float, copy=False)
    return pd.to_numeric(pd.Series(arr, copy=False), errors="coerce").to_numpy(dtype=float)


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
        used = np.unique(codes[unknown]) if unknown.any() else []
        return idx, missing, [cats[i] for i in used], unknown
    arr = np.asarray(values)
    n = arr.shape[0]
    if arr.dtype.kind == "b":
        arr = arr.view(np.uint8)
    if arr.dtype.kind in "iu" or (arr.dtype.kind == "f"):
        x = arr
        missing = np.isnan(x) if x.dtype.kind == "f" else None
        any_missing = missing is not None and bool(missing.any())
        xs = x[~missing] if any_missing else x
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
                        idx[~missing] = table[xs.astype(np.int64) - base]
                    else:
                        idx = table[xs.astype(np.int64) - base]
                    unknown = (idx < 0) & ~missing if any_missing else idx < 0
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


def _nice(x: float, digits: int = 2) -> float:
    """Round to ``digits`` significant digits (cut-points a field worker can read)."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    return float(round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1))


def _label_of(spec, col: str) -> str:
    if spec is None:
        return col
    try:
        return spec.labels.get(col, col)
    except (AttributeError, PMTError):
        return col


def _question_of(spec, col: str) -> str | None:
    if spec is None:
        return None
    try:
        return spec.question(col)
    except (AttributeError, PMTError, KeyError):
        return None


def _codes_of(spec, col: str) -> dict | None:
    if spec is None:
        return None
    try:
        codes = spec.codes(col)
    except (AttributeError, PMTError, KeyError):
        return None
    return None if codes is None else {level_label(k): str(v) for k, v in codes.items()}


def _range_of(spec, col: str):
    if spec is None:
        return None
    try:
        r = spec[col].range
    except (AttributeError, PMTError, KeyError, TypeError):
        return None
    return None if r is None else (r[0], r[1])


def _code_value(label: str):
    """A level label as the registry stores it: integer codes as numbers."""
    try:
        return int(label)
    except ValueError:
        try:
            return float(label)
        except ValueError:
            return label


# --------------------------------------------------------------------------------------
# the scorecard
# --------------------------------------------------------------------------------------
class Scorecard:
    """Integer-points scorecard: questions, answers, points and a cut-off.

    Build one with :meth:`from_model`; load one with :meth:`from_json`.

    Attributes
    ----------
    questions : list of Question
    cutoff : int or None
        Eligible when the total score is **below** the cut-off.
    max_points : int
        Highest attainable total (every question at its best answer).
    direction : {"welfare", "poverty"}
        The model's index direction; points always run "more = better off".
    scale : dict
        ``points_per_unit`` (k), ``constant`` (shifted constant on the model scale),
        ``threshold`` (model scale, after the direction flip) and ``cutoff_exact``: so that
        ``score ~= k * (xb - constant)`` and xb = constant + score / k.
    model : dict
        model_type, formula and left side of the source model.
    rounding : dict
        The rounding loss on the training data (see :meth:`rounding_loss`), if computed.
    rounding_table : DataFrame or None
        The full :meth:`rounding_loss` table when built with training data and a cut-off.
    """

    def __init__(
        self,
        questions: Sequence[Question],
        cutoff: int | None = None,
        max_points: int | None = None,
        direction: Direction = "welfare",
        scale: Mapping | None = None,
        model: Mapping | None = None,
        rounding: Mapping | None = None,
        name: str | None = None,
    ):
        self.questions = list(questions)
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ArtifactError(f"scorecard question ids must be unique; got {ids}.")
        self.cutoff = None if cutoff is None else int(cutoff)
        self.max_points = (
            int(max_points) if max_points is not None else sum(q.max_points for q in self.questions)
        )
        self.direction = direction
        self.scale = dict(scale or {})
        self.model = dict(model or {})
        self.rounding = dict(rounding or {})
        self.rounding_table: pd.DataFrame | None = None
        self.name = name

    def __repr__(self) -> str:
        return (
            f"<Scorecard {len(self.questions)} questions, max {self.max_points} points, "
            f"cut-off {self.cutoff}>"
        )

    @property
    def fields(self) -> list[str]:
        """Registry columns the scorecard reads."""
        out: list[str] = []
        for q in self.questions:
            for f in q.fields:
                if f not in out:
                    out.append(f)
        return out

    # --- construction from a model ----------------------------------------------------
    @classmethod
    def from_model(
        cls,
        model,
        data: pd.DataFrame | None = None,
        weights=None,
        threshold: float | None = None,
        max_points: int = 100,
        spec=None,
        n_bands: int = 5,
        bands: Mapping[str, Sequence[float]] | None = None,
        quadratic: Mapping[str, str] | None = None,
        ratios: Mapping[str, tuple[str, str]] | None = None,
        cap_quadratic: bool = True,
        direction: Direction | None = None,
        poor=None,
        size=None,
        name: str | None = None,
        banding: Literal["quantile", "optimal"] = "quantile",
    ) -> Scorecard:
        """Build a scorecard from a fitted linear-index model.

        Parameters
        ----------
        model : ModelResult
            OLS / truncated OLS / quantile regression of log welfare, or a probit/logit of
            being poor (single equation, one coefficient per design term).
        data : DataFrame, optional
            Training data: continuous proxies are banded at its weighted quantiles and each
            band's points are the model's mean contribution in it; with a threshold, the
            rounding loss is computed on it. Without data, the weighted profile stored in a
            loaded artifact (``save_model(..., data=df)``) is used.
        weights : str or array-like, optional
            Household weights of ``data`` (column name or array). Equal if omitted.
        threshold : float, optional
            Eligibility threshold on the model's scale (e.g. log poverty line); for a
            probit/logit a probability of being poor (eligible when above it). Defaults to
            the model's saved ``poverty_line``/``threshold``; without one the scorecard has
            no cut-off (scores only).
        max_points : int
            Maximum total score (default 100).
        spec : DataSpec, optional
            Question texts, answer labels (codes) and valid ranges of the registry fields.
        n_bands : int
            Answers for continuous/count proxies (default 5: quintile bands, or 1-2-3-4-5+).
        bands : dict, optional
            ``{variable: [c1, c2, ...]}`` upper band edges (x <= c1, c1 < x <= c2, ..., x > ck).
        quadratic : dict, optional
            ``{x: x_squared_column}``; detected automatically from the names.
        ratios : dict, optional
            ``{share_variable: (numerator_count, denominator_count)}``: asked as two counts.
        cap_quadratic : bool
            Cap quadratic proxies at the vertex of the fitted curve (default True).
        direction : {"welfare", "poverty"}, optional
            "poverty" when a higher index means more likely poor (default for probit/logit).
        poor : str or array-like, optional
            True poverty status in ``data`` for targeting metrics of the model and the
            scorecard in the rounding report.
        size : str or array-like, optional
            Household size in ``data``: shares in the rounding report are then person-weighted.
        name : str, optional
            Title of the scorecard.
        banding : {"quantile", "optimal"}
            Band edges of continuous proxies: weighted quantiles (default), or the edges
            that minimise the weighted squared error between the proxy's exact contribution
            and its band value (Fisher's optimal partition by dynamic programming): fewer
            households change eligibility when a proxy has a large effect in a thin tail
            (e.g. land). Counts and ratios keep their own bands in both modes.
        """
        return _build(
            cls, model, data, weights, threshold, max_points, spec, n_bands, bands, quadratic,
            ratios, cap_quadratic, direction, poor, size, name, banding,
        )

    # --- scoring ----------------------------------------------------------------------
    def evaluate(self, columns: Mapping[str, Any], n: int):
        """Points of each question (a list of n-arrays) and problems (mask, reason).

        ``columns`` maps each registry field to an array of n values. Rows with a problem
        have -1 points in the failing question. Points arrays use int16 (int32 when the
        maximum exceeds 32,767) to keep memory low on large chunks.
        """
        dtype = np.int16 if self.max_points <= np.iinfo(np.int16).max else np.int32
        parts: list[np.ndarray] = []
        problems: list[tuple[np.ndarray, str]] = []
        for q in self.questions:
            per = columns[q.per] if q.per else None
            pts, probs = q.points_of(columns[q.field], per, dtype)
            parts.append(pts.astype(dtype, copy=False))
            problems.extend(probs)
        return parts, problems

    @staticmethod
    def total(parts: Sequence[np.ndarray], n: int) -> np.ndarray:
        """Sum of the questions' points (int32)."""
        out = np.zeros(n, dtype=np.int32)
        for p in parts:
            out += p
        return out

    def validate(self, df: pd.DataFrame) -> pd.Series:
        """Reasons each record cannot be scored ("" when it can), indexed like ``df``."""
        self._check_columns(df)
        _, problems = self.evaluate({f: df[f].to_numpy() for f in self.fields}, len(df))
        return pd.Series(reasons_text(problems, len(df)), index=df.index, name="reject_reason")

    def _check_columns(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DataError("score() takes a pandas DataFrame of registry records.")
        missing = [f for f in self.fields if f not in df.columns]
        if missing:
            raise DataError(
                f"the records lack field(s) the scorecard asks for: {', '.join(missing)}. "
                "Rename the registry columns or map them first."
            )

    def score(
        self,
        df: pd.DataFrame,
        breakdown: bool = False,
        errors: Literal["raise", "reject"] = "raise",
    ) -> pd.DataFrame:
        """Score registry records.

        Parameters
        ----------
        df : DataFrame
            One row per household with the scorecard's fields (:attr:`fields`).
        breakdown : bool
            Add one ``points_<question>`` column per question (for appeals).
        errors : {"raise", "reject"}
            "raise": DataError naming the rows that cannot be scored (missing answers,
            unknown codes, out-of-range values). "reject": those rows get a missing score
            and eligibility (never 0) and a ``reject_reason``.

        Returns
        -------
        DataFrame
            ``score`` (integer points), ``eligible`` (score < cutoff; only with a cut-off),
            the breakdown columns when asked, indexed like ``df``.
        """
        self._check_columns(df)
        n = len(df)
        parts, problems = self.evaluate({f: df[f].to_numpy() for f in self.fields}, n)
        bad = np.zeros(n, dtype=bool)
        for m, _ in problems:
            bad |= m
        if bad.any() and errors == "raise":
            reasons = reasons_text(problems, n)
            first = np.flatnonzero(bad)[:3]
            detail = "; ".join(f"{df.index[i]}: {reasons[i]}" for i in first)
            raise DataError(
                f"{int(bad.sum())} record(s) cannot be scored ({example_rows(df.index[bad])}): "
                f"{detail}. Fix them, or pass errors='reject' to score the others."
            )
        if errors not in ("raise", "reject"):
            raise DataError(f"errors must be 'raise' or 'reject'; got {errors!r}.")
        total = self.total(parts, n)
        out = pd.DataFrame(index=df.index)
        out["score"] = pd.array(np.where(bad, 0, total), dtype="Int64")
        if bad.any():
            out.loc[bad, "score"] = pd.NA
        if self.cutoff is not None:
            elig = pd.array(total < self.cutoff, dtype="boolean")
            if bad.any():
                elig[bad] = pd.NA
            out["eligible"] = elig
        if breakdown:
            for q, p in zip(self.questions, parts, strict=True):
                col = pd.array(p.astype(np.int64), dtype="Int64")
                col[p < 0] = pd.NA
                out[f"points_{q.id}"] = col
        if errors == "reject":
            out["reject_reason"] = reasons_text(problems, n)
        return out

    def predict(self, df: pd.DataFrame) -> pd.Series:
        """The total score of each record as an integer Series (like ``model.predict``).

        Higher = better off. Records that cannot be scored raise DataError naming them (use
        :meth:`score` with ``errors="reject"`` to keep the others).
        """
        return self.score(df)["score"].astype("int64").rename("score")

    # --- rounding loss ----------------------------------------------------------------
    def rounding_loss(self, model, data, weights=None, poor=None, size=None) -> pd.DataFrame:
        """Eligibility under the exact model vs the scorecard on ``data``.

        Rows: ``model`` (prediction below the threshold), ``banded`` (bands with exact,
        unrounded answer values) and ``scorecard`` (integer points vs the cut-off). Columns:
        ``eligible`` (weighted share eligible), ``changed`` (weighted share of households
        whose eligibility differs from the exact model), ``n_changed`` (households), and the
        section-4 targeting metrics when ``poor`` is given. Rows that cannot be scored are
        excluded and counted in ``n_excluded``.
        """
        if self.cutoff is None:
            raise ModelError("the scorecard has no cut-off: pass threshold= to from_model.")
        n = len(data)
        w = _resolve(data, weights, "weights", np.ones(n))
        hsize = _resolve(data, size, "size", None)
        v = w * hsize if hsize is not None else w
        cols = {}
        for f in self.fields:
            if f not in data.columns:
                raise DataError(f"rounding loss: the data lack field '{f}'.")
            cols[f] = data[f].to_numpy()
        parts, problems = self.evaluate(cols, n)
        ok = np.ones(n, dtype=bool)
        for m, _ in problems:
            ok &= ~m
        sign = -1.0 if self.direction == "poverty" else 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xb = sign * model.linear_predictor(data).to_numpy()
        ok &= np.isfinite(xb)
        thr = self.scale["threshold"]
        e_model = xb < thr
        # banded, unrounded: sum of exact answer values
        exact_vals = np.zeros(n)
        for q in self.questions:
            idx, _ = q.answer_index(cols[q.field], cols[q.per] if q.per else None)
            vals = np.array([a.value if a.value is not None else np.nan for a in q.answers] + [0.0])
            exact_vals += vals[idx]
        e_band = (self.scale["intercept"] + exact_vals) < thr
        e_card = self.total(parts, n) < self.cutoff
        p = None if poor is None else _resolve(data, poor, "poor", None)
        rows = {}
        for label, e in (("model", e_model), ("banded", e_band), ("scorecard", e_card)):
            vv, ee, em = v[ok], e[ok], e_model[ok]
            row = {
                "eligible": float(np.average(ee, weights=vv)),
                "changed": float(np.average(ee != em, weights=vv)),
                "n_changed": int((ee != em).sum()),
                "n_excluded": int((~ok).sum()),
            }
            if p is not None:
                from pmt.evaluate.metrics import targeting_metrics

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    tm = targeting_metrics(p[ok].astype(float), ee.astype(float), weights=vv)
                row.update(tm.to_dict())
            rows[label] = row
        table = pd.DataFrame(rows).T
        table.index.name = "rule"
        return table

    # --- tables and forms ---------------------------------------------------------------
    def points_table(self) -> pd.DataFrame:
        """One row per answer: question, field(s), answer, registry condition, points."""
        rows = []
        for i, q in enumerate(self.questions, 1):
            for a in q.answers:
                rows.append(
                    {
                        "question": i,
                        "id": q.id,
                        "field": q.field if not q.per else f"{q.field}/{q.per}",
                        "text": q.text,
                        "answer": a.label,
                        "condition": condition_text(a.condition, q),
                        "points": a.points,
                    }
                )
        return pd.DataFrame(rows)

    def _cutoff_sentence(self) -> str:
        if self.cutoff is None:
            return "No cut-off set: the score ranks households (higher = better off)."
        return (
            f"Eligible if the TOTAL is below {self.cutoff} points ({self.cutoff - 1} or fewer). "
            f"Maximum {self.max_points} points."
        )

    def to_markdown(self, path=None) -> str:
        """Field form as Markdown: each question, its answers with points, a points box."""
        lines = [f"# {self.name or 'Household scorecard'}", ""]
        lines.append("Household ID: ____________  Date: ____________  Interviewer: ____________")
        lines.append("")
        lines.append("Tick one answer per question and write its points in the box.")
        lines.append("")
        for i, q in enumerate(self.questions, 1):
            lines.append(f"**{i}. {q.text}**" + (f"  \n_{q.note}_" if q.note else ""))
            lines.append("")
            if q.per:
                lines.append(f"{q.per}: [ &nbsp;&nbsp; ] &nbsp; {q.field}: [ &nbsp;&nbsp; ]")
                lines.append("")
            lines.append("| | Answer | Points |")
            lines.append("|---|---|---:|")
            for a in q.answers:
                lines.append(f"| ☐ | {a.label} | {a.points} |")
            lines.append("")
            lines.append("Points: [ &nbsp;&nbsp;&nbsp;&nbsp; ]")
            lines.append("")
        lines.append("**TOTAL SCORE: [ &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp; ]**")
        lines.append("")
        lines.append(self._cutoff_sentence())
        lines.append("")
        lines.append("Signature of the interviewer: ____________  Checked by: ____________")
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path=None, fragment: bool = False) -> str:
        """Printable, self-contained HTML field form (inline CSS with print rules).

        ``fragment=True`` gives a ``<div class="pmt-form">`` with its own scoped style, to
        embed in a report page.
        """
        e = html.escape
        css = """
body{font-family:Arial,Helvetica,sans-serif;font-size:11pt;margin:1.5cm;color:#000}
h1{font-size:16pt;margin:0 0 .3em}
p.lead{margin:0 0 1em}
section.q{border:1px solid #444;padding:.4em .6em;margin:0 0 .6em;page-break-inside:avoid}
section.q h2{font-size:11pt;margin:0 0 .3em}
.note{font-style:italic;font-size:9pt;margin:.1em 0 .3em}
table{border-collapse:collapse;width:100%}
td{padding:2px 6px;border-bottom:1px dotted #999}
td.tick{width:1.2em;font-size:13pt}
td.pts{text-align:right;width:4em}
.box{display:inline-block;border:1.5px solid #000;width:4em;height:1.4em;vertical-align:middle}
.pointsline{text-align:right;margin-top:.3em}
.total{font-size:13pt;font-weight:bold;margin-top:1em;text-align:right}
.total .box{width:6em;height:1.8em}
.cutoff{margin-top:.6em;border-top:2px solid #000;padding-top:.4em}
.head{display:flex;gap:2em;margin:0 0 .8em}.head span{flex:1;border-bottom:1px solid #000}
.counts{margin:.2em 0 .4em}.sign{margin-top:2em;display:flex;gap:3em}
.sign span{flex:1;border-top:1px solid #000;padding-top:.2em;font-size:9pt}
@page{size:A4;margin:1.5cm}
@media print{body{margin:0}section.q{break-inside:avoid}}
"""
        if fragment:
            rules = [r for r in css.strip().splitlines()
                     if r and not r.startswith(("body", "@page", "@media"))]
            scoped = "\n".join(".pmt-form " + r.replace("}.", "} .pmt-form .") for r in rules)
            head = [f'<div class="pmt-form"><style>{scoped}</style>']
        else:
            head = [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                f"<title>{e(self.name or 'Household scorecard')}</title>",
                f"<style>{css}</style></head><body>",
            ]
        parts = head + [
            f"<h1>{e(self.name or 'Household scorecard')}</h1>",
            '<div class="head"><span>Household ID:</span><span>Date:</span>'
            "<span>Interviewer:</span></div>",
            '<p class="lead">Tick one answer per question and write its points in the box.</p>',
        ]
        for i, q in enumerate(self.questions, 1):
            parts.append('<section class="q">')
            parts.append(f"<h2>{i}. {e(q.text)}</h2>")
            if q.note:
                parts.append(f'<p class="note">{e(q.note)}</p>')
            if q.per:
                parts.append(
                    f'<p class="counts">{e(q.per)}: <span class="box"></span> &nbsp; '
                    f'{e(q.field)}: <span class="box"></span></p>'
                )
            parts.append("<table>")
            for a in q.answers:
                parts.append(
                    f'<tr><td class="tick">&#9744;</td><td>{e(a.label)}</td>'
                    f'<td class="pts">{a.points}</td></tr>'
                )
            parts.append("</table>")
            parts.append('<div class="pointsline">Points: <span class="box"></span></div>')
            parts.append("</section>")
        parts.append('<div class="total">TOTAL SCORE: <span class="box"></span></div>')
        parts.append(f'<p class="cutoff">{e(self._cutoff_sentence())}</p>')
        parts.append('<div class="sign"><span>Signature of the interviewer</span>'
                     "<span>Checked by</span></div>")
        parts.append("</div>" if fragment else "</body></html>")
        text = "\n".join(parts) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_xlsx(self, path) -> Path:
        """The points table as a formatted XLSX (one row per answer), cut-off beneath."""
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill

        wb = Workbook()
        ws = wb.active
        ws.title = "scorecard"
        ws.append(["#", "Question", "Field", "Answer", "Registry condition", "Points"])
        for cell in ws[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1F3864")
            cell.alignment = Alignment(horizontal="center")
        for row in self.points_table().itertuples(index=False):
            ws.append([row.question, row.text, row.field, row.answer, row.condition, row.points])
            ws.cell(ws.max_row, 6).number_format = "0"
        ws.append([])
        ws.append(["", "Maximum total", "", "", "", self.max_points])
        if self.cutoff is not None:
            ws.append(["", "Cut-off: eligible if total below", "", "", "", self.cutoff])
        for col, wdt in zip("ABCDEF", (4, 50, 22, 30, 30, 8), strict=True):
            ws.column_dimensions[col].width = wdt
        ws.freeze_panes = "A2"
        wb.save(path)
        return Path(path)

    # --- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The registry JSON document (validated by ``data_spec/scorecard.schema.json``)."""
        items = []
        questions = []
        for q in self.questions:
            questions.append(
                {
                    "id": q.id,
                    "field": q.field,
                    "per": q.per,
                    "text": q.text,
                    "kind": q.kind,
                    "note": q.note,
                    "range": None if q.range is None else list(q.range),
                }
            )
            for a in q.answers:
                cond = dict(a.condition)
                if q.per:
                    cond["per"] = q.per
                items.append(
                    {
                        "question": q.id,
                        "field": q.field,
                        "answer": a.label,
                        "condition": cond,
                        "points": int(a.points),
                        "value": a.value,
                    }
                )
        doc = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "direction": self.direction,
            "max_points": self.max_points,
            "cutoff": self.cutoff,
            "eligible_if": "score < cutoff",
            "model": self.model or None,
            "scale": self.scale or None,
            "questions": questions,
            "items": items,
            "rounding": self.rounding or None,
        }
        from pmt.artifacts import _jsonable

        return _jsonable(doc, "scorecard", nan_ok=True)

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` as deterministic JSON (sorted keys) and return the path."""
        doc = self.to_dict()
        validate_schema(doc, "scorecard", "the scorecard")
        p = Path(path)
        p.write_text(dump_json(doc), encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, doc: Any, what: str = "the scorecard") -> Scorecard:
        """Rebuild from :meth:`to_dict` output after schema and consistency checks."""
        if isinstance(doc, Mapping) and doc.get("format") == "pmt-model":
            raise ArtifactError(f"{what} is a model artifact: load it with pmt.load_model.")
        if isinstance(doc, Mapping) and doc.get("schema_version") not in (None, SCHEMA_VERSION):
            raise ArtifactError(
                f"{what} has schema_version {doc.get('schema_version')!r}; this pmt reads "
                f"version {SCHEMA_VERSION}."
            )
        validate_schema(doc, "scorecard", what)
        by_id: dict[str, Question] = {}
        for qd in doc["questions"]:
            if qd["id"] in by_id:
                raise ArtifactError(f"{what}: question id {qd['id']!r} appears twice.")
            rng = qd.get("range")
            by_id[qd["id"]] = Question(
                qd["id"], qd["field"], qd["text"], qd["kind"], [], qd.get("per"),
                qd.get("note"), None if rng is None else (rng[0], rng[1]),
            )
        for i, it in enumerate(doc["items"]):
            q = by_id.get(it["question"])
            if q is None:
                raise ArtifactError(f"{what}: items[{i}] names unknown question {it['question']!r}.")
            if it["field"] != q.field:
                raise ArtifactError(f"{what}: items[{i}].field {it['field']!r} is not {q.field!r}.")
            cond = dict(it["condition"])
            per = cond.pop("per", None)
            if per != q.per:
                raise ArtifactError(f"{what}: items[{i}] condition 'per' disagrees with question.")
            q.answers.append(Answer(it["answer"], cond, int(it["points"]), it.get("value")))
        for q in by_id.values():
            _check_question(q, what)
        sc = cls(
            list(by_id.values()),
            cutoff=doc["cutoff"],
            max_points=doc["max_points"],
            direction=doc["direction"],
            scale=doc.get("scale"),
            model=doc.get("model"),
            rounding=doc.get("rounding"),
            name=doc.get("name"),
        )
        best = sum(q.max_points for q in sc.questions)
        if best != sc.max_points:
            raise ArtifactError(
                f"{what}: max_points is {sc.max_points} but the best answers add up to {best}."
            )
        return sc

    @classmethod
    def from_json(cls, path, max_bytes: int = 5_000_000) -> Scorecard:
        """Load a scorecard JSON file (untrusted input: size cap, schema, partition checks)."""
        doc = read_json_document(path, "scorecard", max_bytes)
        return cls.from_dict(doc, f"scorecard {str(path)!r}")


def _check_question(q: Question, what: str) -> None:
    if len(q.answers) < 2:
        raise ArtifactError(f"{what}: question {q.id!r} has fewer than two answers.")
    if q.kind == "categorical":
        labels = []
        for a in q.answers:
            if set(a.condition) != {"equals"}:
                raise ArtifactError(
                    f"{what}: categorical question {q.id!r} answer {a.label!r} needs an 'equals' "
                    "condition."
                )
            labels.append(level_label(a.condition["equals"]))
        if len(set(labels)) != len(labels):
            raise ArtifactError(f"{what}: question {q.id!r} lists a code twice.")
        return
    # banded: answers must partition the number line in order
    prev_upper = None
    for i, a in enumerate(q.answers):
        c = a.condition
        if not set(c) <= set(_BOUND_KEYS) or ("gt" in c and "ge" in c) or ("lt" in c and "le" in c):
            raise ArtifactError(
                f"{what}: band {a.label!r} of {q.id!r} must use one lower bound (gt/ge) and one "
                "upper bound (lt/le)."
            )
        lower = ("gt", c["gt"]) if "gt" in c else ("ge", c["ge"]) if "ge" in c else None
        upper = ("le", c["le"]) if "le" in c else ("lt", c["lt"]) if "lt" in c else None
        first, last = i == 0, i == len(q.answers) - 1
        if first != (lower is None) or last != (upper is None):
            raise ArtifactError(
                f"{what}: the bands of {q.id!r} must run from an open lower end to an open "
                f"upper end in order; band {a.label!r} does not fit."
            )
        if prev_upper is not None:
            want = ("gt", prev_upper[1]) if prev_upper[0] == "le" else ("ge", prev_upper[1])
            if lower != want:
                raise ArtifactError(
                    f"{what}: band {a.label!r} of {q.id!r} does not start where the previous "
                    f"band ends ({prev_upper[0]} {prev_upper[1]}): bands must not overlap or "
                    "leave gaps."
                )
            if upper is not None and upper[1] < lower[1]:
                raise ArtifactError(f"{what}: band {a.label!r} of {q.id!r} is empty.")
        prev_upper = upper


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


def reasons_text(problems: list[tuple[np.ndarray, str]], n: int) -> np.ndarray:
    """Join the reasons that apply to each record ('' when none), as an object array."""
    out = np.full(n, "", dtype=object)
    for mask, reason in problems:
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            continue
        cur = out[rows]
        out[rows] = np.where(cur == "", reason, cur + "; " + reason)
    return out


def _resolve(data, value, role: str, default):
    if value is None:
        return default
    if isinstance(value, str):
        if value not in data.columns:
            raise DataError(f"{role} column '{value}' is not in the data.")
        return pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.shape != (len(data),):
        raise DataError(f"{role} must be a column name or one value per row ({len(data)}).")
    return arr


# --------------------------------------------------------------------------------------
# building from a model
# --------------------------------------------------------------------------------------
def _distribution(var: str, data, w, profile) -> tuple[np.ndarray, np.ndarray] | None:
    if data is not None and var in data.columns:
        x = pd.to_numeric(data[var], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
        return x[ok], w[ok]
    if profile and var in profile:
        return np.asarray(profile[var]["values"], float), np.asarray(profile[var]["weights"], float)
    return None


def _is_count(x, w, n_bands: int) -> bool:
    """Whole numbers whose first ``n_bands - 1`` values hold >= 80 % of the weight."""
    uniq = np.unique(x)
    if not np.all(np.mod(uniq, 1) == 0):
        return False
    if uniq.size <= n_bands:
        return True
    return bool(w[x <= uniq[n_bands - 2]].sum() >= 0.8 * w.sum())


def _spec_values(spec, col: str, n_bands: int):
    """Without data: the values of a binary column, or of a count whose declared range
    holds at most ``n_bands`` whole numbers, from the data spec (equal weights; each value
    is then its own answer, so no distribution is needed)."""
    if spec is None:
        return None
    try:
        c = spec[col]
    except (AttributeError, PMTError, KeyError, TypeError):
        return None
    if c.type == "binary":
        vals = np.array([0.0, 1.0])
    elif c.type == "count" and c.range is not None and None not in c.range:
        lo, hi = math.ceil(c.range[0]), math.floor(c.range[1])
        if hi < lo or hi - lo + 1 > n_bands:
            return None
        vals = np.arange(lo, hi + 1, dtype=float)
    else:
        return None
    return vals, np.ones(vals.size)


def _band_cuts(x, w, n_bands: int, ratio: bool) -> list[tuple[float, bool]]:
    """Default (cut, includes-cut) pairs for a numeric proxy with distribution (x, w)."""
    uniq = np.unique(x)
    if ratio:  # none / fewer than half / half or more but not all / all
        return list(RATIO_CUTS)
    is_int = bool(np.all(np.mod(uniq, 1) == 0))
    if _is_count(x, w, n_bands):  # one answer per value, then "k or more"
        share = np.array([w[x == u].sum() for u in uniq[:n_bands]]) / w.sum()
        cuts = []
        cum = 0.0
        for u, sh in zip(uniq[:-1], share, strict=False):
            cuts.append((float(u), True))
            cum += sh
            if len(cuts) == n_bands - 1 or cum >= 0.95:
                break
        return cuts
    qs = weighted_quantile(x, w, np.arange(1, n_bands) / n_bands)
    out: list[float] = []
    for c in np.atleast_1d(qs):
        c = float(c) if is_int else _nice(float(c))
        if c < uniq.min() or c >= uniq.max() or c in out:
            continue
        out.append(c)
    return [(c, True) for c in sorted(out)]


def _nice_between(a: float, b: float) -> float:
    """The number with the fewest significant digits in [a, b) (``a`` itself if none)."""
    if a == 0:
        return 0.0
    for digits in range(1, 8):
        c = float(f"{a:.{digits}g}")
        if c < a:
            c += 10.0 ** (math.floor(math.log10(abs(c) if c else abs(a))) - digits + 1)
            c = float(f"{c:.{digits}g}")
        if a <= c < b:
            return c
    return float(a)


def _optimal_cuts(x, w, gx, n_bands: int, max_groups: int = 200) -> list[tuple[float, bool]]:
    """Band edges minimising the weighted squared error of the step approximation of g(x).

    Dynamic programming (Fisher's optimal partition of an ordered variable) over the
    distinct values of x, or over ``max_groups`` weighted-quantile groups when there are
    more; each band's value is then the weighted mean of g in it, so this is the banding
    with the smallest loss of the exact model's prediction. Cut-points are placed at the
    roundest number between two groups.
    """
    order = np.argsort(x, kind="stable")
    xs, ws, gs = x[order], w[order], gx[order]
    uniq, start = np.unique(xs, return_index=True)
    if uniq.size > max_groups:
        from pmt.survey import quantile_groups

        grp = quantile_groups(xs, ws, n=max_groups) - 1
        keep = np.flatnonzero(np.diff(grp, prepend=-1))
        start = keep
    bounds = np.append(start, xs.size)
    W = np.add.reduceat(ws, start)
    S = np.add.reduceat(ws * gs, start)
    Q = np.add.reduceat(ws * gs * gs, start)
    m = W.size
    k = min(n_bands, m)
    cW, cS, cQ = (np.concatenate([[0.0], np.cumsum(v)]) for v in (W, S, Q))

    def cost(i, j):  # groups i..j-1 (arrays of i)
        ww = cW[j] - cW[i]
        ss = cS[j] - cS[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ww > 0, (cQ[j] - cQ[i]) - ss * ss / np.where(ww > 0, ww, 1), 0.0)

    inf = np.inf
    dp = np.full((k + 1, m + 1), inf)
    arg = np.zeros((k + 1, m + 1), dtype=np.int64)
    dp[0, 0] = 0.0
    for b in range(1, k + 1):
        for j in range(b, m + 1):
            i = np.arange(b - 1, j)
            total = dp[b - 1, i] + cost(i, j)
            best = int(np.argmin(total))
            dp[b, j], arg[b, j] = total[best], i[best]
    # walk back from the best number of bands (at most k)
    b = int(np.argmin(dp[1:, m])) + 1
    ends = []
    j = m
    while b > 0:
        i = arg[b, j]
        ends.append(j)
        j, b = i, b - 1
    ends = sorted(ends)[:-1]  # group index where each band ends (exclusive), last is m
    cuts = []
    for e in ends:
        hi_prev = xs[bounds[e] - 1]
        lo_next = xs[bounds[e]]
        cuts.append((_nice_between(float(hi_prev), float(lo_next)), True))
    return cuts


def _band_labels(cuts: list[tuple[float, bool]], is_int: bool, lo_val: float | None,
                 ratio: bool, unit: str | None) -> list[str]:
    u = f" {unit}" if unit else ""
    if ratio and tuple(cuts) == RATIO_CUTS:
        return list(_RATIO_LABELS)
    return [_generic_band(cuts, i, is_int, lo_val, u) for i in range(len(cuts) + 1)]


def _generic_band(cuts, i: int, is_int: bool, lo_val, u: str) -> str:
    lower = cuts[i - 1] if i > 0 else None
    upper = cuts[i] if i < len(cuts) else None
    if is_int and all(c is None or (c[1] and float(c[0]).is_integer()) for c in (lower, upper)):
        a = None if lower is None else int(lower[0]) + 1
        b = None if upper is None else int(upper[0])
        if a is None and lo_val is not None and lo_val <= b:
            a = int(lo_val)
        if a is None:
            return f"{b}{u} or fewer"
        if b == 0 and a == 0:
            return "none (0)"
        if b is None:
            return f"{a}{u} or more"
        return f"{a}{u}" if a == b else f"{a} to {b}{u}"
    if lower is None:
        c, inc = upper
        if c == 0 and inc and (lo_val is None or lo_val >= 0):
            return "none (0)"
        return f"{'up to' if inc else 'less than'} {_fmt(c)}{u}"
    if upper is None:
        c, inc = lower
        return f"{'more than' if inc else 'at least'} {_fmt(c)}{u}"
    return (
        f"{'more than' if lower[1] else 'at least'} {_fmt(lower[0])}, "
        f"{'up to' if upper[1] else 'less than'} {_fmt(upper[0])}{u}"
    )


def _band_conditions(cuts: list[tuple[float, bool]]) -> list[dict]:
    conds = []
    for i in range(len(cuts) + 1):
        c: dict = {}
        if i > 0:
            v, inc = cuts[i - 1]
            c["gt" if inc else "ge"] = v
        if i < len(cuts):
            v, inc = cuts[i]
            c["le" if inc else "lt"] = v
        conds.append(c)
    return conds


def _band_index(x: np.ndarray, cuts: list[tuple[float, bool]]) -> np.ndarray:
    idx = np.zeros(x.shape, dtype=np.int64)
    for c, inc in cuts:
        idx += (x > c) if inc else (x >= c)
    return idx


def _band_values(x, w, cuts, g, fallback) -> list[float]:
    """Weighted mean of g(x) within each band; ``fallback(i)`` for empty bands."""
    idx = _band_index(x, cuts)
    gx = g(x)
    out = []
    for i in range(len(cuts) + 1):
        m = idx == i
        sw = w[m].sum()
        out.append(float((w[m] * gx[m]).sum() / sw) if sw > 0 else float(g(np.array([fallback(i)]))[0]))
    return out


def _fallback_point(cuts):
    def point(i):
        if not cuts:
            return 0.0
        if i == 0:
            return cuts[0][0]
        if i >= len(cuts):
            return cuts[-1][0]
        return (cuts[i - 1][0] + cuts[i][0]) / 2

    return point


def linear_index(model, purpose: str = "a scorecard"):
    """Design and coefficients (term -> value) of a single-equation linear-index model.

    Raises ModelError for models without one design (by-group models, scikit-learn
    models) or with parameters that are not design terms (e.g. Heckman's lambda).
    """
    design = getattr(model, "design", None)
    params = getattr(model, "params", None)
    if design is None or params is None:
        raise ModelError(
            f"{purpose} needs a single linear-index model with a design; got "
            f"{type(model).__name__} (for models by group use one model per group)."
        )
    names = design.term_names
    extra = [k for k in params.index if k not in names]
    if extra:
        raise ModelError(
            f"the model has parameters that are not proxies ({', '.join(map(str, extra))}); "
            f"{purpose} needs one coefficient per design term (use the outcome-only model)."
        )
    b = params.reindex(names).to_numpy(dtype=float)
    if not np.all(np.isfinite(b)):
        raise ModelError("the model has non-finite coefficients; refit it.")
    return design, dict(zip(names, b, strict=True))


def _threshold_index(model, threshold, direction: str, sign: float) -> float | None:
    """The eligibility threshold on the sign-flipped index scale (None without one).

    Defaults to the model's saved ``poverty_line``/``threshold``. For probit/logit models in
    the poverty direction the threshold is a probability p: P(poor) > p <=> index >
    F^-1(p) <=> -index < -F^-1(p).
    """
    if threshold is None:
        saved = getattr(model, "thresholds", None) or {}
        for key in ("poverty_line", "threshold"):
            if key in saved:
                threshold = saved[key]
                break
        else:
            if len(saved) == 1:
                threshold = next(iter(saved.values()))
    if threshold is None:
        return None
    threshold = float(threshold)
    mtype = getattr(model, "model_type", "linear")
    if direction == "poverty" and mtype in ("probit", "logit"):
        if not 0 < threshold < 1:
            raise ModelError(
                f"threshold for a {mtype} scorecard is a probability of being poor in (0, 1); "
                f"got {threshold}."
            )
        from scipy import special

        t = special.ndtri(threshold) if mtype == "probit" else special.logit(threshold)
        return -float(t)
    return sign * threshold


def _quadratics(design, quadratic) -> dict[str, str]:
    """{x: x_squared} pairs: as given, plus names ending in _sq/_squared/sq/2."""
    quadratic = dict(quadratic or {})
    numeric = [t.variable for t in design.terms if t.kind == "numeric"]
    for v in numeric:
        if v in quadratic or v in quadratic.values():
            continue
        for suf in _SQ_SUFFIXES:
            if v + suf in numeric:
                quadratic[v] = v + suf
                break
    for v, v2 in quadratic.items():
        if v not in numeric or v2 not in numeric:
            raise ModelError(f"quadratic {v!r}: {v2!r} both must be numeric terms of the model.")
    return quadratic


def _categorical_question(v, design, coef, spec, text) -> Question:
    cat = design.categoricals[v]
    codes = _codes_of(spec, v) or {}
    answers = []
    for lev in cat.levels:
        val = 0.0 if lev == cat.base else coef[f"C({v})[T.{lev}]"]
        answers.append(Answer(codes.get(lev, lev), {"equals": _code_value(lev)}, 0, val))
    return Question(v, v, text, "categorical", answers)


def _contribution(v, coef, quadratic, cap_quadratic, sign):
    """g(x), the proxy's contribution to the index (capped quadratic), its cap and a note."""
    b1 = coef[v]
    if v not in quadratic:
        return (lambda x: b1 * x), None, None
    b2 = coef[quadratic[v]]
    peak = -b1 / (2 * b2) if b2 != 0 else None
    cap = peak if (cap_quadratic and peak is not None and peak > 0) else None

    def g(x):
        xc = np.minimum(x, cap) if cap is not None else x
        return b1 * xc + b2 * xc * xc

    note = None
    if cap is not None:
        note = (
            f"Effect capped at {_fmt(cap)} (vertex of the fitted quadratic "
            f"{b1 * sign:.4g}*x {b2 * sign:+.3g}*x^2): larger values score the same."
        )
    return g, cap, note


def _numeric_question(v, coef, opts, data, w, profile, spec) -> Question | float:
    """The question for numeric proxy ``v``, or its constant contribution (one value)."""
    ratios, bands, n_bands, banding = opts["ratios"], opts["bands"], opts["n_bands"], opts["banding"]
    is_ratio = v in ratios
    field_, per = ratios[v] if is_ratio else (v, None)
    text = _question_of(spec, v) or _label_of(spec, v)
    if is_ratio:
        if data is not None and field_ in data.columns and per in data.columns:
            num = pd.to_numeric(data[field_], errors="coerce").to_numpy(dtype=float)
            den = pd.to_numeric(data[per], errors="coerce").to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
            ok = np.isfinite(share) & (w > 0)
            dist = (share[ok], w[ok])
        else:
            dist = _distribution(v, data, w, profile)
        text = _question_of(spec, v) or (
            f"How many household members: {_label_of(spec, per)}? "
            f"And how many of them: {_label_of(spec, field_)}?"
        )
    else:
        dist = _distribution(v, data, w, profile)
    g, cap, note = _contribution(v, coef, opts["quadratic"], opts["cap_quadratic"], opts["sign"])
    if dist is None and v not in bands and not is_ratio:
        dist = _spec_values(spec, v, n_bands)  # binary or small-range count: exact values
    if v in bands:
        cuts = [(float(c), True) for c in sorted(bands[v])]
    elif dist is None:
        raise ModelError(
            f"cannot band numeric proxy '{v}': its values are unknown. Pass the training data "
            f"(data=), band edges (bands={{'{v}': [...]}}), a data spec declaring it binary or "
            "a count with a small range (spec=), or load the model from an artifact saved "
            "with data=."
        )
    else:
        x, wx = dist
        if x.size == 0:
            raise ModelError(f"proxy '{v}' has no observed values in the training data.")
        uniq = np.unique(x)
        if uniq.size == 1:
            return float(g(uniq)[0])  # a constant proxy adds to the constant
        if uniq.size == 2 and not is_ratio and cap is None:
            # binary (or two-valued) proxy: one answer per value
            codes = _codes_of(spec, v) or {}
            default = {"0": "No", "1": "Yes"}
            answers = [
                Answer(codes.get(level_label(u), default.get(level_label(u), _fmt(u))),
                       {"equals": _code_value(level_label(u))}, 0, float(g(np.array([u]))[0]))
                for u in uniq
            ]
            return Question(v, v, text, "categorical", answers, range=_range_of(spec, v))
        if banding == "optimal" and not is_ratio and not _is_count(x, wx, n_bands):
            cuts = _optimal_cuts(x, wx, g(x), n_bands)
        elif cap is None:
            cuts = _band_cuts(x, wx, n_bands, is_ratio)
        else:  # band below the vertex; everything above it is one top band
            below = x < cap
            cuts = _band_cuts(x[below], wx[below], n_bands - 1, False) if below.sum() > 1 else []
            if (~below).any():
                cuts = [c for c in cuts if c[0] < cap] + [(float(cap), True)]
        if not cuts:
            cuts = [(float(np.median(uniq)), True)]
    x_for, w_for = dist if dist is not None else (np.array([]), np.array([]))
    is_int = bool(x_for.size and np.all(np.mod(x_for, 1) == 0)) and not is_ratio
    lo_val = float(x_for.min()) if x_for.size else None
    unit = None
    if spec is not None:
        try:
            unit = spec[field_].unit
        except (AttributeError, PMTError, KeyError, TypeError):
            unit = None
    labels = _band_labels(cuts, is_int, lo_val, is_ratio, unit)
    conds = _band_conditions(cuts)
    vals = _band_values(x_for, w_for, cuts, g, _fallback_point(cuts))
    answers = [Answer(lab, c, 0, val) for lab, c, val in zip(labels, conds, vals, strict=True)]
    return Question(v, field_, text, "banded", answers, per=per, note=note,
                    range=_range_of(spec, field_))


def _assign_points(questions: list[Question], max_points: int) -> tuple[float, float]:
    """Shift, scale and round answer values to points; returns (k, sum of the shifts).

    Within each question the lowest answer gets 0; k = max_points / sum of the questions'
    spans; question maxima are rounded by the largest-remainder method so that they add
    up to exactly ``max_points``; other answers get round(k * (value - min)), capped at
    their question's maximum; answers tied with the best get the maximum.
    """
    mins = [min(a.value for a in q.answers) for q in questions]
    tops = [max(a.value for a in q.answers) for q in questions]
    spans = [t - m for t, m in zip(tops, mins, strict=True)]
    total_span = sum(spans)
    if total_span <= 0:
        raise ModelError("all proxies have zero effect: nothing to score.")
    k = max_points / total_span
    raw_max = np.array(spans) * k
    alloc = np.floor(raw_max).astype(int)
    short = max_points - int(alloc.sum())
    order = np.argsort(-(raw_max - alloc), kind="stable")
    alloc[order[:short]] += 1
    for q, m, top, qmax in zip(questions, mins, tops, alloc, strict=True):
        for a in q.answers:
            if a.value == top:
                a.points = int(qmax)
            else:
                a.points = int(min(qmax, math.floor(k * (a.value - m) + 0.5)))
    return k, float(sum(mins))


def _build(cls, model, data, weights, threshold, max_points, spec, n_bands, bands, quadratic,
           ratios, cap_quadratic, direction, poor, size, name, banding) -> Scorecard:
    """Scorecard.from_model (see its docstring)."""
    if banding not in ("quantile", "optimal"):
        raise ModelError(f"banding must be 'quantile' or 'optimal'; got {banding!r}.")
    if not isinstance(max_points, int | np.integer) or max_points < 1:
        raise ModelError(f"max_points must be a positive integer; got {max_points!r}.")
    if not isinstance(n_bands, int | np.integer) or n_bands < 2:
        raise ModelError(f"n_bands must be an integer >= 2; got {n_bands!r}.")
    design, coef = linear_index(model)
    mtype = getattr(model, "model_type", "linear")
    if direction is None:
        link = getattr(model, "link", None)
        binary = mtype in ("probit", "logit") or link in ("probit", "logit")
        direction = "poverty" if binary else "welfare"
    if direction not in ("welfare", "poverty"):
        raise ModelError(f"direction must be 'welfare' or 'poverty'; got {direction!r}.")
    sign = -1.0 if direction == "poverty" else 1.0
    coef = {k: sign * v for k, v in coef.items()}
    thr_index = _threshold_index(model, threshold, direction, sign)
    if data is not None and not isinstance(data, pd.DataFrame):
        raise ModelError("data must be a pandas DataFrame of the training sample.")
    w = None if data is None else _resolve(data, weights, "weights", np.ones(len(data)))
    profile = getattr(model, "training_profile", None) or (
        (getattr(model, "info", None) or {}).get("training_profile")
    )
    quadratic = _quadratics(design, quadratic)
    ratios = dict(ratios or {})
    numeric = {t.variable for t in design.terms if t.kind == "numeric"}
    for v, pair in ratios.items():
        if v not in numeric or len(pair) != 2:
            raise ModelError(
                f"ratios[{v!r}] must name a numeric term and (numerator, denominator) columns."
            )
    opts = {"ratios": ratios, "bands": dict(bands or {}), "n_bands": n_bands,
            "banding": banding, "quadratic": quadratic, "cap_quadratic": cap_quadratic,
            "sign": sign}

    questions: list[Question] = []
    constant = coef.get("Intercept", 0.0)
    done = set(quadratic.values())  # squares are folded into their question
    for t in design.terms:
        v = t.variable
        if t.kind == "intercept" or v in done:
            continue
        done.add(v)
        if t.kind == "level":
            text = _question_of(spec, v) or _label_of(spec, v)
            questions.append(_categorical_question(v, design, coef, spec, text))
            continue
        q = _numeric_question(v, coef, opts, data, w, profile, spec)
        if isinstance(q, Question):
            questions.append(q)
        else:
            constant += q
    if not questions:
        raise ModelError("the model has no proxies to turn into questions.")
    k, shift = _assign_points(questions, max_points)
    constant_raw = constant + shift
    scale = {"points_per_unit": float(k), "constant": float(constant_raw),
             "intercept": float(constant), "threshold": thr_index, "cutoff_exact": None}
    cutoff = None
    if thr_index is not None:
        cutoff_exact = k * (thr_index - constant_raw)
        scale["cutoff_exact"] = float(cutoff_exact)
        cutoff = int(math.ceil(cutoff_exact - _TOL))
        if cutoff <= 0 or cutoff > max_points:
            warnings.warn(
                f"the cut-off ({cutoff_exact:.1f} points) lies outside 0-{max_points}: "
                f"{'nobody' if cutoff <= 0 else 'everybody'} is eligible. Check the threshold "
                "is on the model's scale (e.g. the log of the poverty line).",
                stacklevel=3,
            )
    model_info = {"model_type": mtype, "formula": design.formula, "lhs": design.lhs}
    sc = cls(questions, cutoff, max_points, direction, scale, model_info, None, name)
    if data is not None and cutoff is not None:
        table = sc.rounding_loss(model, data, w, poor, size)
        sc.rounding = {
            "changed": float(table.loc["scorecard", "changed"]),
            "changed_banding": float(table.loc["banded", "changed"]),
            "eligible_model": float(table.loc["model", "eligible"]),
            "eligible_scorecard": float(table.loc["scorecard", "eligible"]),
            "n_excluded": int(table.loc["model", "n_excluded"]),
        }
        sc.rounding_table = table
    return sc


__all__ = ["Answer", "Question", "Scorecard", "condition_text", "map_codes"]
