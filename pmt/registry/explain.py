"""Explanations for grievances: why one household scored what it did, and what would flip it.

:func:`explain` takes a scorecard or a fitted linear-index model (or the path of either)
and ONE household record, and returns an :class:`Explanation`:

* the score (integer points for a scorecard; the linear predictor ``xb`` on the model's
  scale for a model), the cut-off and whether the household is eligible, with the rule
  pmt applies: scorecards and welfare models make a household eligible when its score is
  **strictly below** the cut-off; probit/logit models of being poor when the index is
  **strictly above** the index of the threshold probability (as :func:`pmt.score_file`);
* the contributions: the points of each question (they add up to the score), or for a
  model the intercept, ``coefficient x value`` for numeric proxies and the coefficient of
  the record's level for categorical proxies (0 for the base level), which add up to ``xb``;
* for each proxy, the smallest change in that proxy alone that would change the
  household's eligibility, reported from -> to with the new score:

  - unordered categories (and 0/1 answers): among the other codes, the one whose score
    change is smallest in size while still crossing the cut-off;
  - bands of a scorecard: the nearest band (its nearest value to the record's value:
    the band edge, or the next whole number / the next 3-significant-digit number past an
    open edge) that crosses; for a share asked as two counts the nearest numerator
    count (the denominator stays as it is);
  - numeric proxies of a model: the crossing point of the cut-off solved from the
    coefficient(s) (both roots of ``b1 x + b2 x^2`` for a quadratic pair such as
    ``land_sotka`` / ``land_sotka_sq``, the square following the value), moved to the
    next whole number for counts and 0/1 proxies, or rounded outward to 3 significant
    digits for continuous ones;

  always within the valid range: the spec's ``range`` (and codes) when a spec is given,
  else the scorecard question's range, else the range seen in training (the model's
  training profile: exact for proxies with at most 64 distinct values, otherwise the
  lowest and highest of its 100 percentile-bin means, which lie inside the true range).
  Every change is **re-scored** with the same scorecard or model before it is reported;
  one that does not actually cross the cut-off is never reported. The list is sorted by
  the size of the score change (smallest first); when no single change crosses, the text
  says so.

:meth:`Explanation.text` reads this out in plain words with the spec's labels and value
labels; :meth:`Explanation.to_dict` is the structured (JSON-ready) result.

This is our own code: contribution tables exist elsewhere (e.g. SHAP for machine-learning
models), but a flip search over a scorecard's answers or a linear model's proxies, with
ranges and re-scoring, does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from pmt._validation import numeric_values
from pmt.errors import DataError, ModelError
from pmt.models.formula import level_label
from pmt.registry_scoring import _ID_NAMES, ModelScorer
from pmt.scorecard import Scorecard, linear_index
from pmt.scorecard.linear import _quadratics

__all__ = ["Explanation", "explain", "read_record"]

#: How many changes :meth:`Explanation.text` reads out.
TEXT_FLIPS = 5
_SIG_DIGITS = 3


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------
@dataclass
class Explanation:
    """One household's score, cut-off, contributions and the single changes that flip it.

    Attributes
    ----------
    id : object
        The household's id exactly as given (None when the record has none).
    id_column : str or None
        Where the id was read from.
    kind : {"scorecard", "model"}
        What scored the record.
    score : float
        Total points (scorecard) or linear predictor ``xb`` (model).
    cutoff : float or None
        Points cut-off, or the threshold on the ``xb`` scale (for probit/logit, the index
        of the threshold probability); None when the model has no threshold.
    eligible_if : str
        ``"score < cutoff"`` or ``"score > cutoff"`` (probit/logit of being poor).
    eligible : bool or None
        Whether the household is eligible (None without a cut-off).
    contributions : DataFrame
        One row per question (scorecard: ``proxy, field, label, value, answer, points``)
        or per model term (``proxy, term, field, label, value, level, base, coefficient,
        contribution``); ``points`` / ``contribution`` add up to ``score``.
    flips : DataFrame
        One row per proxy with a single change that flips eligibility: ``proxy, field,
        label, from_value, to_value, from_answer, to_answer, score_before, score_after,
        score_change, eligible_after``; sorted by ``abs(score_change)``. Empty when none.
    score_name : str
        What the score is (``"points"``, ``"predicted log_pcc"``, ``"index"``).
    threshold : float or None
        Models: the threshold as given (e.g. a probability for probit/logit).
    record : dict
        The fields read, as given.
    """

    id: Any
    id_column: str | None
    kind: Literal["scorecard", "model"]
    score: float
    cutoff: float | None
    eligible_if: str
    eligible: bool | None
    contributions: pd.DataFrame
    flips: pd.DataFrame
    score_name: str = "points"
    threshold: float | None = None
    record: dict = field(default_factory=dict)

    @property
    def smallest_change(self) -> pd.Series | None:
        """The first row of :attr:`flips` (smallest score change), or None."""
        return None if self.flips.empty else self.flips.iloc[0]

    def _num(self, x) -> str:
        if self.kind == "scorecard":
            return f"{int(round(float(x)))}"
        return f"{float(x):.3f}"

    def text(self, max_changes: int = TEXT_FLIPS) -> str:
        """The explanation in plain words a case worker can read out.

        Parameters
        ----------
        max_changes : int
            How many single changes to read out (smallest score change first).

        Returns
        -------
        str
        """
        unit = " points" if self.kind == "scorecard" else ""
        who = "Your household" if self.id is None else f"Your household (id {self.id})"
        lines = []
        if self.kind == "scorecard":
            lines.append(f"{who} scored {self._num(self.score)} points.")
        else:
            lines.append(f"{who} has a score ({self.score_name}) of {self._num(self.score)}.")
        if self.cutoff is None:
            lines.append("There is no cut-off, so the score alone does not decide eligibility.")
        else:
            side = "below" if self.eligible_if == "score < cutoff" else "above"
            lines.append(
                f"The cut-off is {self._num(self.cutoff)}{unit}: households scoring {side} "
                f"{self._num(self.cutoff)} are eligible, so your household is "
                f"{'eligible' if self.eligible else 'not eligible'}."
            )
        lines.append("")
        if self.kind == "scorecard":
            lines.append("Points for each answer:")
            zero = 0
            for r in self.contributions.itertuples():
                if r.points == 0:
                    zero += 1
                    continue
                lines.append(f"  - {r.label}: {r.answer} ({r.points} point"
                             f"{'' if r.points == 1 else 's'})")
            if zero:
                lines.append(f"  - the other {zero} answers: 0 points each")
        else:
            lines.append("How each item moved the score:")
            for r in self.contributions.itertuples():
                if r.term == "Intercept":
                    lines.append(f"  - starting value: {r.contribution:+.3f}")
                    continue
                if r.contribution == 0:
                    continue
                what = _show(r.value) if _missing(r.level) else r.level
                lines.append(f"  - {r.label} = {what}: {r.contribution:+.3f}")
            lines.append("  - every other item: 0 (at its base level or value 0)")
        if self.cutoff is None:
            return "\n".join(lines)
        lines.append("")
        if self.flips.empty:
            lines.append(
                "No single change in one answer would change the decision: at least two "
                "answers would have to be different."
            )
            return "\n".join(lines)
        lines.append("The smallest changes in one answer that would change the decision:")
        for r in self.flips.head(max_changes).itertuples():
            verdict = "would be eligible" if r.eligible_after else "would no longer be eligible"
            lines.append(
                f"  - if {r.label} were {r.to_answer} instead of {r.from_answer}, your household "
                f"would have scored {self._num(r.score_after)}{unit} "
                f"({_signed(r.score_change, self.kind)}) and {verdict}."
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def to_dict(self) -> dict:
        """The structured result (plain Python, JSON-ready)."""
        return {
            "id": _plain(self.id),
            "id_column": self.id_column,
            "kind": self.kind,
            "score": _plain(self.score),
            "score_name": self.score_name,
            "cutoff": _plain(self.cutoff),
            "threshold": _plain(self.threshold),
            "eligible_if": self.eligible_if,
            "eligible": self.eligible,
            "contributions": [{k: _plain(v) for k, v in row.items()}
                              for row in self.contributions.to_dict("records")],
            "flips": [{k: _plain(v) for k, v in row.items()}
                      for row in self.flips.to_dict("records")],
            "record": {k: _plain(v) for k, v in self.record.items()},
        }


def _plain(v):
    """Plain Python for JSON (numpy scalars, NaN/NA as None)."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA:
        return None
    return v


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _signed(change, kind: str) -> str:
    change = float(change)
    if kind == "scorecard":
        return f"{int(round(change)):+d} points"
    return f"{change:+.3f}"


def _show(x) -> str:
    if isinstance(x, float | np.floating):
        x = float(x)
        if x.is_integer():
            return str(int(x))
        return f"{x:.4g}"
    return str(x)


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------
def explain(model, record, *, spec=None, threshold: float | None = None,
            id_column: str | None = None) -> Explanation:
    """Explain one household's score and the smallest single change that flips eligibility.

    Parameters
    ----------
    model : Scorecard, ModelResult, str or Path
        A :class:`pmt.Scorecard`, a fitted single-equation linear-index model (OLS,
        truncated OLS, quantile regression, probit/logit), or the path of a scorecard JSON
        or model artifact.
    record : dict, Series or one-row DataFrame
        The household's fields as in the registry (codes for categorical proxies). Numeric
        text such as ``"3"`` is read as a number.
    spec : DataSpec, str or Path, optional
        Registry data spec: the id column (``role: id``), labels and value labels for the
        text, and each proxy's valid ``range`` and ``codes`` for the changes searched.
    threshold : float, optional
        Models only: the eligibility threshold on the model's scale (a probability for
        probit/logit); defaults to the artifact's saved threshold.
    id_column : str, optional
        The id field when no spec names one (default: the first of id, hh_id,
        household_id, record_id, applicant_id present; for a one-row DataFrame without
        one, its index label).

    Returns
    -------
    Explanation

    Raises
    ------
    pmt.DataError
        A record that is not one household, lacks a field, or has a value that cannot
        be scored (missing, unknown code, outside the range); the message names the id.
    pmt.ModelError
        A model that cannot score term by term, or a bad threshold.
    """
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec) if isinstance(spec, str | Path) else spec
    obj = _resolve(model)
    rec, index_label = _as_record(record)
    id_col, rid = _record_id(rec, sp, id_column, index_label)
    if isinstance(obj, Scorecard):
        if threshold is not None:
            raise ModelError("threshold= applies to models; a scorecard has its own cut-off.")
        return _explain_scorecard(obj, rec, sp, id_col, rid)
    return _explain_model(obj, rec, sp, id_col, rid, threshold)


def _resolve(obj):
    if isinstance(obj, str | Path):
        from pmt._json import read_json_document
        from pmt.artifacts import model_from_document

        doc = read_json_document(obj, "model or scorecard")
        if isinstance(doc, Mapping) and doc.get("format") == "pmt-scorecard":
            return Scorecard.from_dict(doc, f"scorecard {str(obj)!r}")
        return model_from_document(doc, f"model artifact {str(obj)!r}").model
    return obj


def _as_record(record) -> tuple[dict, Any]:
    """The record as a dict of field -> value, and a DataFrame's index label (or None)."""
    if isinstance(record, pd.DataFrame):
        if len(record) != 1:
            raise DataError(
                f"explain() takes one household; the DataFrame has {len(record)} rows. "
                "Select one row, e.g. df.loc[[id]] or df.iloc[[i]]."
            )
        label = record.index[0]
        return {str(k): v for k, v in record.iloc[0].items()}, (
            None if isinstance(record.index, pd.RangeIndex) else label)
    if isinstance(record, pd.Series):
        return {str(k): v for k, v in record.items()}, None
    if isinstance(record, Mapping):
        return {str(k): v for k, v in record.items()}, None
    raise DataError(
        f"record must be a dict, a pandas Series or a one-row DataFrame; got "
        f"{type(record).__name__}."
    )


def _record_id(rec: dict, spec, id_column: str | None, index_label) -> tuple[str | None, Any]:
    spec_ids = spec.columns_with_role("id") if spec is not None else []
    col = spec_ids[0] if spec_ids else id_column
    if col is None:
        col = next((c for c in _ID_NAMES if c in rec), None)
    if col is not None and col in rec:
        return col, rec[col]
    if id_column is not None:
        raise DataError(f"the record has no id field {id_column!r}; its fields: "
                        f"{', '.join(list(rec)[:30])}.")
    return None, index_label


def _missing_fields(rec: dict, fields: list[str], rid) -> None:
    missing = [f for f in fields if f not in rec]
    if missing:
        raise DataError(
            f"household {_who(rid)} lacks field(s) {', '.join(missing)}; give every field the "
            "model reads."
        )


def _who(rid) -> str:
    return "(no id)" if rid is None else repr(rid)


def _number(v):
    """A float from a number or numeric text; None when it is neither (missing, text,
    infinite). One value through the validation layer's :func:`numeric_values`.
    """
    floats, _ = numeric_values(np.array([v], dtype=object))
    x = float(floats[0])
    return x if math.isfinite(x) else None


def _code(v) -> str:
    """The code label of a category value (``3``, ``3.0`` and ``"3"`` are all ``"3"``)."""
    x = _number(v)
    if x is not None and isinstance(v, str) and v.strip() != "":
        return level_label(x)
    return level_label(v)


def _spec_col(spec, name: str):
    return spec[name] if spec is not None and name in spec else None


def _label(spec, name: str, default: str) -> str:
    c = _spec_col(spec, name)
    return c.label if c is not None and getattr(c, "label", None) else default


def _value_label(spec, name: str, value) -> str:
    c = _spec_col(spec, name)
    codes = getattr(c, "codes", None) if c is not None else None
    if not codes and c is not None and c.type == "binary":
        codes = {0: "No", 1: "Yes"}
    if codes:
        lab = {level_label(k): v for k, v in codes.items()}.get(_code(value))
        if lab is not None:
            return str(lab)
    return _show(value) if not isinstance(value, str) else value


# --------------------------------------------------------------------------------------
# scorecards
# --------------------------------------------------------------------------------------
def _sc_frame(sc: Scorecard, values: dict, rid) -> pd.DataFrame:
    return pd.DataFrame([{f: values[f] for f in sc.fields}],
                        index=pd.Index([rid if rid is not None else 0], name="id"))


def _sc_score(sc: Scorecard, values: dict, rid) -> int:
    return int(sc.score(_sc_frame(sc, values, rid))["score"].iloc[0])


def _explain_scorecard(sc: Scorecard, rec: dict, spec, id_col, rid) -> Explanation:
    _missing_fields(rec, sc.fields, rid)
    values = {f: rec[f] for f in sc.fields}
    for f in sc.fields:  # numeric text as numbers (a registry file is read as text)
        x = _number(values[f])
        if isinstance(values[f], str) and x is not None:
            values[f] = x
    _check_spec_values(values, spec, rid)
    res = sc.score(_sc_frame(sc, values, rid), breakdown=True)
    score = int(res["score"].iloc[0])
    cut = sc.cutoff
    eligible = None if cut is None else bool(score < cut)
    rows = []
    chosen: dict[str, int] = {}
    for q in sc.questions:
        if q.is_zero:
            continue
        per = np.asarray([values[q.per]], dtype=float) if q.per else None
        col = np.asarray([values[q.field]], dtype=object if q.kind == "categorical" else float)
        idx, _ = q.answer_index(col, per)
        i = int(idx[0])
        chosen[q.id] = i
        shown = (f"{_show(values[q.field])} of {_show(values[q.per])}" if q.per
                 else _value_label(spec, q.field, values[q.field]))
        rows.append({"proxy": q.id, "field": q.field if not q.per else f"{q.field}/{q.per}",
                     "label": _sc_label(q, spec), "value": shown,
                     "answer": q.answers[i].label, "points": int(q.answers[i].points)})
    contributions = pd.DataFrame(rows, columns=["proxy", "field", "label", "value", "answer",
                                                "points"])
    flips = []
    if cut is not None:
        for q in sc.questions:
            if q.is_zero:
                continue
            found = _scorecard_flip(sc, q, values, chosen[q.id], score, cut, spec, rid)
            if found is not None:
                flips.append(found)
    return Explanation(
        id=rid, id_column=id_col, kind="scorecard", score=score,
        cutoff=None if cut is None else float(cut), eligible_if="score < cutoff",
        eligible=eligible, contributions=contributions, flips=_flip_frame(flips),
        score_name="points", record=values,
    )


def _sc_label(q, spec) -> str:
    if q.per:
        c = _spec_col(spec, q.id)
        return c.label if c is not None else q.text
    return _label(spec, q.field, q.text)


def _check_spec_values(values: dict, spec, rid) -> None:
    """Values outside the spec's range or codes: DataError naming the household."""
    if spec is None:
        return
    for f, v in values.items():
        c = _spec_col(spec, f)
        if c is None:
            continue
        if c.type == "categorical" and c.codes:
            known = {level_label(k) for k in c.codes}
            if _code(v) not in known:
                raise DataError(
                    f"household {_who(rid)}: {f!r} = {v!r} is not a code of the spec "
                    f"({', '.join(sorted(known))}); correct the record."
                )
        elif c.range is not None:
            x = _number(v)
            lo, hi = c.range
            if x is not None and ((lo is not None and x < lo) or (hi is not None and x > hi)):
                raise DataError(
                    f"household {_who(rid)}: {f!r} = {v!r} is outside the spec range "
                    f"[{_show(lo) if lo is not None else '-'}, {_show(hi) if hi is not None else '-'}]"
                    "; correct the record."
                )


def _crosses(new: float, cut: float, eligible: bool, rule: str) -> bool:
    now = new < cut if rule == "score < cutoff" else new > cut
    return now != eligible


def _bounds(cond: Mapping) -> tuple[float, bool, float, bool]:
    lo, lo_in = -math.inf, False
    hi, hi_in = math.inf, False
    if "gt" in cond:
        lo = float(cond["gt"])
    if "ge" in cond:
        lo, lo_in = float(cond["ge"]), True
    if "lt" in cond:
        hi = float(cond["lt"])
    if "le" in cond:
        hi, hi_in = float(cond["le"]), True
    return lo, lo_in, hi, hi_in


def _is_whole_field(spec, name: str, x: float, cuts) -> bool:
    c = _spec_col(spec, name)
    if c is not None:
        return c.type in ("count", "binary")
    finite = [v for v in cuts if math.isfinite(v)]
    return float(x).is_integer() and all(float(v).is_integer() for v in finite)


def _step(x: float) -> float:
    """One unit of the 3rd significant digit of ``x`` (0.01 for 0)."""
    if x == 0 or not math.isfinite(x):
        return 10.0 ** -(_SIG_DIGITS - 1)
    return 10.0 ** (math.floor(math.log10(abs(x))) - _SIG_DIGITS + 1)


def _round_sig(x: float, up: bool) -> float:
    """``x`` rounded to 3 significant digits, up (toward +inf) or down."""
    if x == 0 or not math.isfinite(x):
        return x
    s = _step(x)
    k = math.ceil(x / s - 1e-9) if up else math.floor(x / s + 1e-9)
    return float(f"{k * s:.12g}")


def _scorecard_flip(sc, q, values: dict, i: int, score: int, cut: int, spec, rid):
    """The nearest answer of question ``q`` that crosses the cut-off (re-scored), or None."""
    eligible = score < cut
    p_now = q.answers[i].points
    cands: list[tuple[float, int, Any, str]] = []  # (distance, |change|, new value, answer)
    if q.kind == "categorical":
        allowed = None
        c = _spec_col(spec, q.field)
        if c is not None and c.codes:
            allowed = {level_label(k) for k in c.codes}
        for j, a in enumerate(q.answers):
            if j == i:
                continue
            code = a.condition["equals"]
            if allowed is not None and level_label(code) not in allowed:
                continue
            change = a.points - p_now
            if _crosses(score + change, cut, eligible, "score < cutoff"):
                cands.append((abs(change), abs(change), code, a.label))
    elif q.per:
        n, d = _number(values[q.field]), _number(values[q.per])
        if n is None or d is None or not float(d).is_integer():
            return None
        lo, hi = q.range if q.range is not None else (0, None)
        top = int(d) if hi is None else int(min(d, hi))
        start = 0 if lo is None else max(0, math.ceil(lo))
        grid = np.arange(start, top + 1, dtype=float)
        grid = grid[grid != n]
        if grid.size:
            idx, _ = q.answer_index(grid, np.full(grid.size, float(d)))
            for v, j in zip(grid.tolist(), idx.tolist(), strict=True):
                if j < 0:
                    continue
                change = q.answers[j].points - p_now
                if _crosses(score + change, cut, eligible, "score < cutoff"):
                    cands.append((abs(v - n), abs(change), _show(v), q.answers[j].label))
    else:
        x = _number(values[q.field])
        if x is None:
            return None
        rlo, rhi = (q.range if q.range is not None else (None, None))
        c = _spec_col(spec, q.field)
        if c is not None and c.range is not None:
            rlo = c.range[0] if rlo is None else max(rlo, c.range[0]) if c.range[0] is not None else rlo
            rhi = c.range[1] if rhi is None else min(rhi, c.range[1]) if c.range[1] is not None else rhi
        cuts = [v for a in q.answers for v in a.condition.values()]
        whole = _is_whole_field(spec, q.field, x, cuts)
        for j, a in enumerate(q.answers):
            if j == i:
                continue
            v = _band_value(a.condition, j > i, whole, rlo, rhi)
            if v is None:
                continue
            got, _ = q.answer_index(np.array([v]))
            if int(got[0]) != j:
                continue
            change = a.points - p_now
            if _crosses(score + change, cut, eligible, "score < cutoff"):
                cands.append((abs(v - x), abs(change), v, a.label))
    if not cands:
        return None
    dist, _, new_value, new_answer = min(cands, key=lambda t: (t[0], t[1]))
    changed = dict(values)
    if q.kind == "categorical":
        changed[q.field] = new_value
        to_answer = new_answer
        to_value: Any = new_value
    elif q.per:
        changed[q.field] = float(new_value)
        to_value = new_value
        to_answer = f"{new_value} of {_show(values[q.per])} ({new_answer})"
    else:
        changed[q.field] = new_value
        to_value = new_value
        to_answer = f"{_show(new_value)} ({new_answer})"
    new_score = _sc_score(sc, changed, rid)  # the recompute check
    if not _crosses(new_score, cut, eligible, "score < cutoff"):
        return None
    from_answer = q.answers[i].label
    if q.per:
        from_answer = f"{_show(values[q.field])} of {_show(values[q.per])} ({from_answer})"
    elif q.kind != "categorical":
        from_answer = f"{_show(values[q.field])} ({from_answer})"
    return {
        "proxy": q.id, "field": q.field, "label": _sc_label(q, spec),
        "from_value": values[q.field], "to_value": to_value,
        "from_answer": from_answer, "to_answer": to_answer,
        "score_before": score, "score_after": new_score, "score_change": new_score - score,
        "eligible_after": bool(new_score < cut),
    }


def _band_value(cond: Mapping, above: bool, whole: bool, rlo, rhi) -> float | None:
    """The value of a band nearest to a record below it (``above``) or above it.

    A band above the record: its lowest value (a closed lower edge itself; past an open
    edge the next whole number, or the edge plus one unit of its 3rd significant digit).
    A band below: its highest value likewise. Clipped to the valid range [rlo, rhi].
    """
    lo, lo_in, hi, hi_in = _bounds(cond)
    if above:
        if math.isinf(lo):
            v = -math.inf
        elif lo_in:
            v = lo
        elif whole:
            v = math.floor(lo) + 1.0
        else:
            v = _round_sig(lo, True)
            if v <= lo:
                v = float(f"{v + _step(v):.12g}")
        if rlo is not None and v < rlo:
            v = float(rlo)
    else:
        if math.isinf(hi):
            v = math.inf
        elif hi_in:
            v = hi
        elif whole:
            v = math.ceil(hi) - 1.0
        else:
            v = _round_sig(hi, False)
            if v >= hi:
                v = float(f"{v - _step(v):.12g}")
        if rhi is not None and v > rhi:
            v = float(rhi)
    if not math.isfinite(v):
        return None
    if (rlo is not None and v < rlo) or (rhi is not None and v > rhi):
        return None
    return v


def _flip_frame(flips: list[dict]) -> pd.DataFrame:
    cols = ["proxy", "field", "label", "from_value", "to_value", "from_answer", "to_answer",
            "score_before", "score_after", "score_change", "eligible_after"]
    frame = pd.DataFrame(flips, columns=cols)
    if frame.empty:
        return frame
    order = frame["score_change"].abs().to_numpy(dtype=float)
    return frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------
def _explain_model(model, rec: dict, spec, id_col, rid, threshold) -> Explanation:
    design, coef = linear_index(model, "explain()")
    scorer = ModelScorer(model, threshold)
    fields = list(design.variables)
    _missing_fields(rec, fields, rid)
    values = {f: rec[f] for f in fields}
    _check_spec_values(values, spec, rid)
    cats = design.categoricals
    numeric: dict[str, float] = {}
    for f in fields:
        if f in cats:
            lab = _code(values[f])
            if lab not in cats[f].levels:
                raise DataError(
                    f"household {_who(rid)}: {f!r} = {values[f]!r} is not a level the model "
                    f"knows ({', '.join(cats[f].levels)}); correct the record."
                )
        else:
            x = _number(values[f])
            if x is None:
                raise DataError(
                    f"household {_who(rid)}: {f!r} = {values[f]!r} is missing or not a "
                    "number; correct the record."
                )
            numeric[f] = x
    rule = "score > cutoff" if scorer.model_type in ("probit", "logit") else "score < cutoff"
    cut = scorer.index_cut
    lhs = getattr(design, "lhs", None) or getattr(model, "lhs", None)
    name = "index" if rule == "score > cutoff" else (f"predicted {lhs}" if lhs else "prediction")
    rows = []
    for t in design.terms:
        b = float(coef[t.name])
        if t.kind == "intercept":
            rows.append({"proxy": "Intercept", "term": "Intercept", "field": None,
                         "label": "Intercept", "value": None, "level": None, "base": None,
                         "coefficient": b, "contribution": b})
        elif t.kind == "numeric":
            x = numeric[t.variable]
            rows.append({"proxy": t.variable, "term": t.name, "field": t.variable,
                         "label": _label(spec, t.variable, t.variable), "value": x,
                         "level": None, "base": None, "coefficient": b,
                         "contribution": b * x})
    for var, cat in cats.items():
        lab = _code(values[var])
        b = 0.0 if lab == cat.base else float(coef[f"C({var})[T.{lab}]"])
        rows.append({"proxy": var, "term": f"C({var})", "field": var,
                     "label": _label(spec, var, var), "value": values[var],
                     "level": _value_label(spec, var, lab),
                     "base": _value_label(spec, var, cat.base), "coefficient": b,
                     "contribution": b})
    contributions = pd.DataFrame(rows)
    xb = _model_xb(scorer, values, cats)
    eligible = None if cut is None else bool(xb < cut if rule == "score < cutoff" else xb > cut)
    flips: list[dict] = []
    if cut is not None:
        assert eligible is not None
        quad = _quadratics(design, None)
        squares = set(quad.values())
        profile = (getattr(model, "training_profile", None)
                   or (getattr(model, "info", None) or {}).get("training_profile") or {})
        for var, cat in cats.items():
            f = _cat_flip(scorer, values, cats, var, cat, xb, cut, eligible, rule, spec)
            if f is not None:
                flips.append(f)
        for var in numeric:
            if var in squares or (coef_of(coef, var) == 0.0 and var not in quad):
                continue
            f = _num_flip(scorer, values, cats, var, quad.get(var), coef, xb, cut, eligible,
                          rule, spec, profile)
            if f is not None:
                flips.append(f)
    return Explanation(
        id=rid, id_column=id_col, kind="model", score=float(xb),
        cutoff=None if cut is None else float(cut), eligible_if=rule, eligible=eligible,
        contributions=contributions, flips=_flip_frame(flips), score_name=name,
        threshold=scorer.threshold, record=values,
    )


def coef_of(coef: Mapping[str, float], var: str) -> float:
    """The coefficient of numeric term ``var`` (0 when absent)."""
    return float(coef.get(var, 0.0))


def _model_xb(scorer: ModelScorer, values: dict, cats) -> float:
    """``xb`` of one record through :class:`pmt.registry_scoring.ModelScorer` (re-scoring)."""
    cols: dict[str, Any] = {}
    for f in scorer.fields:
        if f in cats:
            cols[f] = np.asarray([_code(values[f])], dtype=object)
        else:
            cols[f] = np.asarray([_number(values[f])], dtype=float)
    out, problems = scorer.evaluate(cols, 1)
    if any(bool(np.any(m)) for m, _ in problems):  # levels are checked before: internal
        raise DataError(f"the record cannot be scored: {[str(r) for _, r in problems]}")
    return float(out["xb"][0])


def _cat_flip(scorer, values, cats, var, cat, xb, cut, eligible, rule, spec):
    now = _code(values[var])
    allowed = None
    c = _spec_col(spec, var)
    if c is not None and c.codes:
        allowed = {level_label(k) for k in c.codes}
    best = None
    for lab in cat.levels:
        if lab == now or (allowed is not None and lab not in allowed):
            continue
        changed = dict(values)
        changed[var] = lab
        new = _model_xb(scorer, changed, cats)
        if _crosses(new, cut, eligible, rule) and (best is None or abs(new - xb) < best[0]):
            best = (abs(new - xb), lab, new)
    if best is None:
        return None
    _, lab, new = best
    return _model_flip_row(var, spec, values[var], lab, _value_label(spec, var, now),
                           _value_label(spec, var, lab), xb, new, cut, rule)


def _num_range(var: str, spec, profile) -> tuple[float | None, float | None]:
    c = _spec_col(spec, var)
    if c is not None and c.range is not None:
        return c.range
    prof = profile.get(var) if isinstance(profile, Mapping) else None
    if isinstance(prof, Mapping) and prof.get("values"):
        vals = np.asarray(prof["values"], dtype=float)
        return float(vals.min()), float(vals.max())
    if c is not None and c.type in ("count", "binary"):
        return (0.0, 1.0) if c.type == "binary" else (0.0, None)
    return None, None


def _num_flip(scorer, values, cats, var, square, coef, xb, cut, eligible, rule, spec, profile):
    x = _number(values[var])
    b1 = coef_of(coef, var)
    b2 = coef_of(coef, square) if square else 0.0
    x2 = _number(values[square]) if square else 0.0
    now_part = b1 * x + b2 * x2
    rest = xb - now_part
    lo, hi = _num_range(var, spec, profile)
    c = _spec_col(spec, var)
    prof = profile.get(var) if isinstance(profile, Mapping) else None
    if c is not None:
        whole = c.type in ("count", "binary")
    elif isinstance(prof, Mapping) and prof.get("exact") and prof.get("values"):
        whole = all(float(v).is_integer() for v in prof["values"])
    else:
        whole = False
    binary = (c is not None and c.type == "binary") or (
        isinstance(prof, Mapping) and prof.get("exact")
        and set(map(float, prof.get("values") or [])) <= {0.0, 1.0})
    # roots of rest + b1 v + b2 v^2 = cut
    roots: list[float] = []
    if b2 != 0.0:
        disc = b1 * b1 - 4 * b2 * (rest - cut)
        if disc >= 0:
            s = math.sqrt(disc)
            roots = [(-b1 - s) / (2 * b2), (-b1 + s) / (2 * b2)]
    elif b1 != 0.0:
        roots = [(cut - rest) / b1]
    cands: set[float] = set()
    if binary:
        cands = {0.0, 1.0}
    else:
        for r in roots:
            if not math.isfinite(r):
                continue
            if whole:
                cands |= {math.floor(r) - 1.0, float(math.floor(r)), float(math.ceil(r)),
                          math.ceil(r) + 1.0}
            else:
                up, down = _round_sig(r, True), _round_sig(r, False)
                cands |= {up, down, up + _step(up), down - _step(down)}
        for end in (lo, hi):
            if end is not None:
                cands.add(float(end))
    best = None
    for v in sorted(cands):
        if v == x or (lo is not None and v < lo) or (hi is not None and v > hi):
            continue
        if whole and not float(v).is_integer():
            continue
        changed = dict(values)
        changed[var] = v
        if square:
            changed[square] = v * v
        new = _model_xb(scorer, changed, cats)  # the recompute check
        if _crosses(new, cut, eligible, rule):
            key = (abs(v - x), abs(new - xb))
            if best is None or key < best[0]:
                best = (key, v, new)
    if best is None:
        return None
    _, v, new = best
    return _model_flip_row(var, spec, values[var], v, _value_label(spec, var, x),
                           _value_label(spec, var, v), xb, new, cut, rule)


def _model_flip_row(var, spec, from_value, to_value, from_answer, to_answer, xb, new, cut, rule):
    return {
        "proxy": var, "field": var, "label": _label(spec, var, var),
        "from_value": from_value, "to_value": to_value,
        "from_answer": from_answer, "to_answer": to_answer,
        "score_before": xb, "score_after": new, "score_change": new - xb,
        "eligible_after": bool(new < cut if rule == "score < cutoff" else new > cut),
    }


# --------------------------------------------------------------------------------------
# one record from a registry file
# --------------------------------------------------------------------------------------
def read_record(path, id, *, spec=None, id_column: str | None = None,
                chunksize: int = 200_000) -> pd.Series:
    """Read the household ``id`` from a registry file.

    Parameters
    ----------
    path : str or Path
        Registry: CSV (read as text, in chunks, so ids keep their leading zeros and large
        files are never held in memory whole), Parquet, Stata, SPSS or Excel (category
        codes kept).
    id : str
        The household's id as written in the file (compared as text: ``"000123"``).
    spec : DataSpec, str or Path, optional
        Its ``role: id`` column is the id column.
    id_column : str, optional
        The id column when no spec names one (default: the first of id, hh_id,
        household_id, record_id, applicant_id in the file).
    chunksize : int
        CSV rows read at a time.

    Returns
    -------
    Series
        The record's fields (text for CSV; numeric text is read as numbers by
        :func:`explain`).

    Raises
    ------
    pmt.DataError
        When the file has no id column, or the id is not in it or appears more than once.
    """
    from pmt.io import read_data
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec) if isinstance(spec, str | Path) else spec
    src = Path(path)
    if not src.is_file():
        raise DataError(f"registry file {str(src)!r} does not exist.")
    want = str(id)

    def pick_column(columns) -> str:
        spec_ids = sp.columns_with_role("id") if sp is not None else []
        col = spec_ids[0] if spec_ids else id_column
        if col is None:
            col = next((c for c in _ID_NAMES if c in columns), None)
        if col is None or col not in columns:
            raise DataError(
                f"registry {str(src)!r} has no id column "
                f"{'(' + repr(col) + ')' if col else ''}; name it with --spec (role: id) or "
                f"id_column=. Its columns: {', '.join(map(str, list(columns)[:30]))}."
            )
        return col

    matches: list[pd.Series] = []
    if src.suffix.lower() in (".csv", ".txt", ".tsv"):
        col = None
        for chunk in pd.read_csv(src, dtype=str, keep_default_na=False, chunksize=chunksize):
            col = col or pick_column(chunk.columns)
            hit = chunk[chunk[col].str.strip() == want.strip()]
            matches.extend(row for _, row in hit.iterrows())
        if col is None:
            raise DataError(f"registry {str(src)!r} is empty.")
    else:
        frame = read_data(src, value_labels="codes")
        col = pick_column(frame.columns)
        text = frame[col].map(lambda v: "" if v is None or (isinstance(v, float) and
                                                             math.isnan(v)) else level_label(v))
        matches = [row for _, row in frame[text == want.strip()].iterrows()]
    if not matches:
        raise DataError(
            f"household id {want!r} is not in column {col!r} of {str(src)!r}; check the id "
            "(ids are compared as written, e.g. with leading zeros)."
        )
    if len(matches) > 1:
        raise DataError(
            f"household id {want!r} appears {len(matches)} times in column {col!r} of "
            f"{str(src)!r}; registry ids must be unique."
        )
    rec = matches[0]
    rec.name = want
    return rec


def parse_record_text(text: str) -> dict[str, str]:
    """``"key=value,key=value"`` as a dict (the values as typed, text).

    Raises
    ------
    pmt.DataError
        For a piece without ``=`` or a key given twice.
    """
    out: dict[str, str] = {}
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if "=" not in piece:
            raise DataError(
                f"--record piece {piece!r} is not key=value; type the household as "
                "field=value,field=value (e.g. region=3,car=1) or give a registry file."
            )
        k, v = piece.split("=", 1)
        k = k.strip()
        if k in out:
            raise DataError(f"--record gives {k!r} twice.")
        out[k] = v.strip()
    if not out:
        raise DataError("--record is empty; give field=value pairs or a registry file.")
    return out
