"""Exports of a scorecard to social-registry systems: a documented JSON and weight tables.

:func:`export_scorecard` writes one of four files:

``format="openspp"`` - the scorecard document (``format: "pmt-registry-scorecard"``,
    validated by ``pmt/data_spec/scorecard_export.schema.json``, shipped with pmt): one
    **indicator** per scored question (name, label, question text, type, the registry
    field(s) it reads, its valid range) with its **answers** and their integer **points**;
    the **cut-off** with its direction; effective dates; the document version, the pmt
    version and the model's provenance (model type, formula, scale, rounding loss).

    * a categorical indicator has one answer per code: ``{"code": 3, "points": 5}``;
    * a numeric indicator (``continuous``, or ``ratio`` when the value is
      ``field / per``, a zero denominator giving 0) has answers whose ranges are
      ``{"min", "min_inclusive", "max", "max_inclusive"}`` with ``null`` for an infinite
      end (never inclusive). The ranges are disjoint and together cover the whole real
      line, in order, so every number falls in exactly one answer; values outside the
      indicator's ``valid_range`` are rejected, never scored.

    The total is the sum of the answers' points; a household is eligible when
    ``total < cutoff`` (strictly below: pmt's rule, the integer form of "predicted
    welfare below the line"; equivalently ``total <= cutoff - 1``). A record with a
    missing value, an unknown code, or a value outside a valid range is rejected.

``format="openg2p"`` - the same scorecard as a weight table in JSON (see below) with
    ``pmt_params`` in the shape of OpenG2P's ``g2p.proxy_means_test_params``.

``format="csv"`` / ``"xlsx"`` - the weight table: one row per answer with ``indicator``
    (a 0/1 indicator name ``<question>__<k>``), ``question``, ``field``, ``per``,
    ``answer``, ``code`` (categorical) or ``lower``/``lower_inclusive``/``upper``/
    ``upper_inclusive`` (numeric; blank = infinite), ``weight`` (the points), and the
    constant ``cutoff`` and ``eligible_if``. The XLSX has the table on sheet ``weights``
    and the document's header (cut-off, dates, versions, provenance) on sheet ``about``.

What we followed. OpenSPP's ``spp_pmt`` module (openspp-modules, 17.0) stores one weight
per registry field (``ir.model.fields.field_weight``, with per-area overrides in
``spp.fields.area``) and computes a weighted average of the fields over group members;
OpenG2P's PMT (``g2p.proxy_means_test_params``: ``pmt_field``, ``pmt_weightage``) computes
``pmt_score = sum(pmt_weightage * field)`` over numeric registrant fields. Neither has
answer bands, codes or a documented cut-off format, so the indicator/answer/range layout
here is our own (close to the Poverty Probability Index's published scorecards: one row
per answer with its points). A registry system with only field weights loads the weight
table as one 0/1 field per answer (``indicator``, set when the answer's condition holds)
with ``pmt_weightage = weight``: ``sum(weight * indicator)`` is then exactly the pmt
score. All files are written atomically (:func:`pmt._files.atomic_write`).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from pmt._files import atomic_write
from pmt._json import dump_json, jsonable, validate_schema
from pmt._validation import check_option
from pmt.errors import DataError
from pmt.scorecard import Scorecard

__all__ = ["EXPORT_FORMAT", "EXPORT_FORMATS", "export_document", "export_scorecard",
           "weight_table"]

EXPORT_FORMAT = "pmt-registry-scorecard"
EXPORT_SCHEMA_VERSION = 1
EXPORT_FORMATS = ("openspp", "openg2p", "csv", "xlsx")
_SUFFIX = {"openspp": ".json", "openg2p": ".json", "csv": ".csv", "xlsx": ".xlsx"}
ELIGIBLE_IF = "total < cutoff"


def _date(value, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    try:
        return _dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DataError(
            f"{name} must be a date (datetime.date or 'YYYY-MM-DD'); got {value!r}."
        ) from None


def _range_of(cond: Mapping) -> dict:
    """``{min, min_inclusive, max, max_inclusive}`` of a band condition (null = infinite)."""
    lo = cond.get("ge", cond.get("gt"))
    hi = cond.get("le", cond.get("lt"))
    return {
        "min": None if lo is None else float(lo),
        "min_inclusive": "ge" in cond,
        "max": None if hi is None else float(hi),
        "max_inclusive": "le" in cond,
    }


def _indicator_type(q) -> str:
    if q.kind == "categorical":
        return "categorical"
    return "ratio" if q.per else "continuous"


def _label(q, spec) -> str:
    key = q.id if q.per else q.field
    if spec is not None and key in spec:
        return str(spec[key].label)
    return q.id


def _load(scorecard) -> Scorecard:
    if isinstance(scorecard, Scorecard):
        return scorecard
    if isinstance(scorecard, str | Path):
        return Scorecard.from_json(scorecard)
    raise DataError(
        f"export_scorecard needs a pmt.Scorecard or the path of its JSON; got "
        f"{type(scorecard).__name__}."
    )


def export_document(scorecard, *, effective_from=None, effective_to=None,
                    version: str | None = None, spec=None) -> dict:
    """The registry document of ``scorecard`` (``format="openspp"``), validated.

    Parameters are those of :func:`export_scorecard` (without ``format`` and ``path``).

    Returns
    -------
    dict
        Plain JSON: see the module docstring and ``scorecard_export.schema.json``.

    Raises
    ------
    pmt.DataError
        A scorecard without a cut-off, bad dates, or ``effective_to`` before
        ``effective_from``.
    """
    from pmt.artifacts import _pmt_version
    from pmt.spec import DataSpec

    sc = _load(scorecard)
    sp = DataSpec.load(spec) if isinstance(spec, str | Path) else spec
    if sc.cutoff is None:
        raise DataError(
            "the scorecard has no cut-off, so a registry cannot decide eligibility with it; "
            "build it with a threshold (Scorecard.from_model(..., threshold=...))."
        )
    start, end = _date(effective_from, "effective_from"), _date(effective_to, "effective_to")
    if start is not None and end is not None and end < start:
        raise DataError(f"effective_to {end} is before effective_from {start}.")
    indicators = []
    for q in sc.questions:
        if q.is_zero:
            continue
        answers: list[dict[str, Any]] = []
        for a in q.answers:
            ans: dict[str, Any] = {"label": a.label, "points": int(a.points)}
            if q.kind == "categorical":
                ans["code"] = a.condition["equals"]
            else:
                ans["range"] = _range_of(a.condition)
            answers.append(ans)
        vr = None
        if q.range is not None:
            vr = {"min": q.range[0], "max": q.range[1]}
        indicators.append({
            "name": q.id,
            "label": _label(q, sp),
            "question": q.text,
            "type": _indicator_type(q),
            "field": q.field,
            "per": q.per,
            "value": f"{q.field} / {q.per} (0 when {q.per} is 0)" if q.per else q.field,
            "valid_range": vr,
            "note": q.note,
            "answers": answers,
        })
    doc = {
        "format": EXPORT_FORMAT,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "name": sc.name,
        "document_version": "1" if version is None else str(version),
        "pmt_version": _pmt_version(),
        "effective_from": start,
        "effective_to": end,
        "scoring": {
            "total": "sum over indicators of the points of the one answer whose code or "
                     "range holds the record's value",
            "min_total": 0,
            "max_total": int(sum(q.max_points for q in sc.questions)),
            "rejects": "a record with a missing value, an unknown code or a value outside an "
                       "indicator's valid_range (or a ratio's numerator above its "
                       "denominator) is rejected, never given 0 points",
        },
        "cutoff": {
            "value": int(sc.cutoff),
            "eligible_if": ELIGIBLE_IF,
            "operator": "<",
            "inclusive": False,
            "note": f"eligible when the total is strictly below {int(sc.cutoff)} "
                    f"(equivalently total <= {int(sc.cutoff) - 1}); more points = better off",
        },
        "indicators": indicators,
        "provenance": {
            "source": "pmt.Scorecard",
            "direction": sc.direction,
            "model": sc.model or None,
            "scale": sc.scale or None,
            "rounding": sc.rounding or None,
            "dropped_questions": [q.id for q in sc.dropped_questions],
        },
    }
    doc = jsonable(doc, "the export document", nan_ok=True)
    validate_schema(doc, "scorecard_export", "the scorecard export")
    return doc


def weight_table(scorecard, *, spec=None) -> pd.DataFrame:
    """The OpenG2P-style weight table: one row per answer of each scored question.

    Parameters
    ----------
    scorecard : Scorecard or path
    spec : DataSpec, optional
        Labels of the indicators.

    Returns
    -------
    DataFrame
        ``indicator, question, label, field, per, answer, code, lower, lower_inclusive,
        upper, upper_inclusive, weight, cutoff, eligible_if`` (see the module docstring;
        ``lower``/``upper`` missing = infinite; ``code`` only for categorical answers).
    """
    doc = export_document(scorecard, spec=spec)
    rows = []
    for ind in doc["indicators"]:
        for k, a in enumerate(ind["answers"], 1):
            r = a.get("range") or {}
            rows.append({
                "indicator": f"{ind['name']}__{k}",
                "question": ind["name"],
                "label": ind["label"],
                "field": ind["field"],
                "per": ind["per"],
                "answer": a["label"],
                "code": a.get("code"),
                "lower": r.get("min"),
                "lower_inclusive": r.get("min_inclusive"),
                "upper": r.get("max"),
                "upper_inclusive": r.get("max_inclusive"),
                "weight": a["points"],
                "cutoff": doc["cutoff"]["value"],
                "eligible_if": ELIGIBLE_IF,
            })
    table = pd.DataFrame(rows)
    if not table.empty:  # integer codes stay integers (not 3.0) beside missing ones
        table["code"] = pd.Series([r["code"] for r in rows], dtype=object, index=table.index)
    return table


def export_scorecard(
    scorecard,
    *,
    format: Literal["openspp", "openg2p", "csv", "xlsx"] = "openspp",
    path,
    effective_from=None,
    effective_to=None,
    version: str | None = None,
    spec=None,
) -> Path:
    """Write a scorecard for a social-registry system.

    Parameters
    ----------
    scorecard : Scorecard, str or Path
        A :class:`pmt.Scorecard` with a cut-off, or the path of its JSON.
    format : {"openspp", "openg2p", "csv", "xlsx"}
        ``"openspp"``: the documented JSON of indicators, answer ranges and points (schema
        ``scorecard_export.schema.json``); ``"openg2p"``: the weight table as JSON with
        OpenG2P-style ``pmt_params``; ``"csv"``/``"xlsx"``: the weight table. See the
        module docstring.
    path : str or Path
        The file to write (``.json`` for the JSON formats, ``.csv``, ``.xlsx``); its
        folder must exist. Written atomically.
    effective_from, effective_to : date or "YYYY-MM-DD", optional
        When the registry should apply the scorecard.
    version : str, optional
        The document's version (default ``"1"``).
    spec : DataSpec, str or Path, optional
        Registry data spec, for the indicators' labels.

    Returns
    -------
    Path

    Raises
    ------
    pmt.DataError
        Unknown format, a path whose suffix does not fit the format, a scorecard without
        a cut-off, or bad dates.
    """
    check_option(format, EXPORT_FORMATS, name="format")
    p = Path(path)
    if p.suffix.lower() != _SUFFIX[format]:
        raise DataError(
            f"format={format!r} writes a {_SUFFIX[format]} file; path {str(p)!r} ends in "
            f"{p.suffix or '(nothing)'!r}. Change the suffix or the format."
        )
    doc = export_document(scorecard, effective_from=effective_from,
                          effective_to=effective_to, version=version, spec=spec)
    if format == "openspp":
        with atomic_write(p) as tmp:
            tmp.write_text(dump_json(doc), encoding="utf-8")
        return p
    table = weight_table(scorecard, spec=spec)
    if format == "openg2p":
        header = {k: doc[k] for k in ("name", "document_version", "pmt_version",
                                      "effective_from", "effective_to", "cutoff",
                                      "provenance")}
        out = {
            "format": "pmt-weight-table",
            "schema_version": EXPORT_SCHEMA_VERSION,
            **header,
            "pmt_config": True,
            "pmt_params": [{"pmt_field": r["indicator"], "pmt_weightage": r["weight"]}
                           for r in table.to_dict("records")],
            "indicators": [{k: _cell(v) for k, v in r.items()}
                           for r in table.to_dict("records")],
        }
        with atomic_write(p) as tmp:
            tmp.write_text(dump_json(jsonable(out, "the weight table", nan_ok=True)),
                           encoding="utf-8")
        return p
    if format == "csv":
        with atomic_write(p) as tmp:
            table.to_csv(tmp, index=False)
        return p
    about = pd.DataFrame(
        [
            ("name", doc["name"]),
            ("cutoff", doc["cutoff"]["value"]),
            ("eligible_if", ELIGIBLE_IF),
            ("effective_from", doc["effective_from"]),
            ("effective_to", doc["effective_to"]),
            ("document_version", doc["document_version"]),
            ("pmt_version", doc["pmt_version"]),
            ("model_type", (doc["provenance"]["model"] or {}).get("model_type")),
            ("formula", (doc["provenance"]["model"] or {}).get("formula")),
            ("direction", doc["provenance"]["direction"]),
        ],
        columns=["item", "value"],
    )
    with atomic_write(p) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            table.to_excel(writer, sheet_name="weights", index=False)
            about.to_excel(writer, sheet_name="about", index=False)
    return p


def _cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v
