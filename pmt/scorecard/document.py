"""The registry JSON document of a scorecard and its checks on loading.

The document is validated by ``data_spec/scorecard.schema.json`` (shipped as
``pmt/data_spec/scorecard.schema.json`` and found by :func:`pmt.artifacts.validate_schema`);
the checks no schema language can express (answers of a banded question partition the
number line in order, codes are unique, max_points is attainable) are our own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pmt._json import jsonable as _jsonable
from pmt._json import validate_schema
from pmt.errors import ArtifactError
from pmt.models.formula import level_label
from pmt.scorecard.questions import _BOUND_KEYS, Answer, Question

if TYPE_CHECKING:
    from pmt.scorecard.card import Scorecard

SCHEMA_VERSION = 1
FORMAT = "pmt-scorecard"


def to_dict(sc) -> dict:
    """The registry JSON document (validated by ``data_spec/scorecard.schema.json``)."""
    items = []
    questions = []
    for q in sc.questions:
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
        "name": sc.name,
        "direction": sc.direction,
        "max_points": sc.max_points,
        "cutoff": sc.cutoff,
        "eligible_if": "score < cutoff",
        "model": sc.model or None,
        "scale": sc.scale or None,
        "questions": questions,
        "items": items,
        "rounding": sc.rounding or None,
    }
    return _jsonable(doc, "scorecard", nan_ok=True)


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
