"""Exports of scorecards to registry systems (pmt.registry.exports): schema and round trips.

The round trips score registry records with the exported files through minimal
interpreters written here (find the answer whose code or range holds the value, add the
points, compare with the cut-off), independent of pmt's scoring code, and compare with
``Scorecard.score`` and ``pmt score`` (score_file) on the same records, including values
exactly on band edges and totals exactly at the cut-off.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import DataError
from pmt.registry.exports import export_scorecard, weight_table
from pmt.registry_scoring import score_file
from pmt.scorecard import Scorecard
from pmt.spec import DataSpec

ROOT = Path(__file__).parent.parent
SCORECARD = ROOT / "models" / "scorecard.json"
SPEC_PATH = ROOT / "pmt" / "data_spec" / "registry.yaml"
SCHEMA = ROOT / "pmt" / "data_spec" / "scorecard_export.schema.json"


@pytest.fixture(scope="module")
def spec():
    return DataSpec.load(SPEC_PATH)


@pytest.fixture(scope="module")
def demo():
    return Scorecard.from_json(SCORECARD)


@pytest.fixture(scope="module")
def survey():
    return pmt.datasets.synthetic_hbs(n_households=1200, seed=21)


@pytest.fixture(scope="module")
def built(survey, spec):
    r = pmt.ols("log_pcc ~ C(region) + car + rooms + land_sotka + share_children_0_2 + head_age",
                survey, weights="weight")
    threshold = float(np.quantile(r.predict(survey), 0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Scorecard.from_model(r, data=survey, weights="weight", threshold=threshold,
                                    spec=spec)


# --------------------------------------------------------------------------------------
# records on every band edge
# --------------------------------------------------------------------------------------
def _edge_records(card, base: pd.DataFrame) -> pd.DataFrame:
    """Copies of ``base`` rows with one numeric question's value exactly on a band edge
    (a ratio's edge hit exactly by numerator/denominator in floating point)."""
    out = []
    k = 0
    for q in card.questions:
        if q.kind != "banded" or q.is_zero:
            continue
        edges = sorted({float(v) for a in q.answers for v in a.condition.values()})
        lo, hi = q.range if q.range is not None else (None, None)
        for m in edges:
            row = base.iloc[k % len(base)].copy()
            k += 1
            if q.per:
                # a household whose denominator hits the edge exactly: numerator/denominator
                # == m in floating point (the denominator stays, so shares of the same
                # denominator stay valid)
                d = base[q.per].to_numpy(dtype=float)
                n = np.round(m * d)
                ok = np.flatnonzero((d > 0) & (n / np.where(d > 0, d, 1) == m) & (n <= d))
                if not ok.size:
                    continue
                row = base.iloc[int(ok[k % ok.size])].copy()
                row[q.field] = n[ok[k % ok.size]]
            else:
                if (lo is not None and m < lo) or (hi is not None and m > hi):
                    continue
                row[q.field] = m
            out.append(row)
    frame = pd.DataFrame(out).reset_index(drop=True)
    frame["hh_id"] = np.arange(10_000, 10_000 + len(frame))
    return frame


def _records(card, survey) -> pd.DataFrame:
    edges = _edge_records(card, survey)
    frame = pd.concat([survey, edges], ignore_index=True)
    scores = card.score(frame)["score"].to_numpy()
    assert (scores == card.cutoff).any() and (scores == card.cutoff - 1).any()
    assert len(edges) >= 10
    return frame


# --------------------------------------------------------------------------------------
# the independent interpreters
# --------------------------------------------------------------------------------------
def _same_code(code, value) -> bool:
    v = float(value)
    return float(code) == v if isinstance(code, int | float) else str(code) == str(value)


def _in_range(rng: dict, x: float) -> bool:
    if rng["min"] is not None and not (x >= rng["min"] if rng["min_inclusive"] else x > rng["min"]):
        return False
    if rng["max"] is not None and not (x <= rng["max"] if rng["max_inclusive"] else x < rng["max"]):
        return False
    return True


def score_with_document(doc: dict, frame: pd.DataFrame) -> pd.DataFrame:
    totals = []
    for rec in frame.to_dict("records"):
        total = 0
        for ind in doc["indicators"]:
            x = float(rec[ind["field"]])
            if ind["per"]:
                d = float(rec[ind["per"]])
                x = x / d if d > 0 else 0.0
            if ind["type"] == "categorical":
                hits = [a["points"] for a in ind["answers"] if _same_code(a["code"], x)]
            else:
                hits = [a["points"] for a in ind["answers"] if _in_range(a["range"], x)]
            assert len(hits) == 1, (ind["name"], x)
            total += hits[0]
        totals.append(total)
    cut = doc["cutoff"]["value"]
    assert doc["cutoff"]["eligible_if"] == "total < cutoff"
    t = np.asarray(totals)
    return pd.DataFrame({"score": t, "eligible": t < cut})


def score_with_csv(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cut = int(rows[0]["cutoff"])
    assert {r["eligible_if"] for r in rows} == {"total < cutoff"}
    by_question: dict[str, list[dict]] = {}
    for r in rows:
        by_question.setdefault(r["question"], []).append(r)

    def holds(r, x):
        if r["code"] != "":
            return float(r["code"]) == x
        if r["lower"] != "":
            lo = float(r["lower"])
            if not (x >= lo if r["lower_inclusive"] == "True" else x > lo):
                return False
        if r["upper"] != "":
            hi = float(r["upper"])
            if not (x <= hi if r["upper_inclusive"] == "True" else x < hi):
                return False
        return True

    totals = []
    for rec in frame.to_dict("records"):
        total = 0
        for answers in by_question.values():
            x = float(rec[answers[0]["field"]])
            if answers[0]["per"]:
                d = float(rec[answers[0]["per"]])
                x = x / d if d > 0 else 0.0
            hits = [int(r["weight"]) for r in answers if holds(r, x)]
            assert len(hits) == 1
            total += hits[0]
        totals.append(total)
    t = np.asarray(totals)
    return pd.DataFrame({"score": t, "eligible": t < cut})


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------
def test_document_validates_and_ranges_partition(tmp_path, demo, spec):
    path = export_scorecard(demo, format="openspp", path=tmp_path / "sc.json",
                            effective_from="2025-01-01", effective_to="2026-12-31",
                            version="2025.1", spec=spec)
    doc = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["effective_from"] == "2025-01-01" and doc["effective_to"] == "2026-12-31"
    assert doc["document_version"] == "2025.1" and doc["pmt_version"] == pmt.__version__
    assert doc["cutoff"]["value"] == demo.cutoff == 35 and doc["cutoff"]["inclusive"] is False
    assert doc["provenance"]["model"]["model_type"] == "ols"
    assert {i["name"] for i in doc["indicators"]} == {q.id for q in demo.questions
                                                      if not q.is_zero}
    car = next(i for i in doc["indicators"] if i["name"] == "car")
    assert car["label"] == spec["car"].label and car["question"].startswith("Does")
    for ind in doc["indicators"]:
        if ind["type"] == "categorical":
            codes = [a["code"] for a in ind["answers"]]
            assert len(set(map(str, codes))) == len(codes)
            continue
        ranges = [a["range"] for a in ind["answers"]]
        assert ranges[0]["min"] is None and ranges[-1]["max"] is None
        for a, b in zip(ranges, ranges[1:], strict=False):
            # the next range starts where this one ends, the edge in exactly one of them
            assert a["max"] == b["min"] and a["max_inclusive"] != b["min_inclusive"]
            assert a["max"] > (a["min"] if a["min"] is not None else -np.inf)
    # a broken document fails the schema
    doc["cutoff"]["eligible_if"] = "total <= cutoff"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(doc)


@pytest.mark.parametrize("which", ["demo", "built"])
def test_round_trip_json_and_csv(tmp_path, which, demo, built, survey):
    card = demo if which == "demo" else built
    frame = _records(card, survey)
    want = card.score(frame)
    doc_path = export_scorecard(card, format="openspp", path=tmp_path / "sc.json")
    got = score_with_document(json.loads(doc_path.read_text(encoding="utf-8")), frame)
    np.testing.assert_array_equal(got["score"], want["score"].astype(int))
    np.testing.assert_array_equal(got["eligible"], want["eligible"].astype(bool))
    csv_path = export_scorecard(card, format="csv", path=tmp_path / "weights.csv")
    got_csv = score_with_csv(csv_path, frame)
    np.testing.assert_array_equal(got_csv["eligible"], want["eligible"].astype(bool))
    np.testing.assert_array_equal(got_csv["score"], want["score"].astype(int))
    # and the same as `pmt score` on a registry file
    reg = tmp_path / "registry.csv"
    frame.to_csv(reg, index=False)
    summary = score_file(card, reg, tmp_path / "scores.parquet", id="hh_id")
    assert summary.n_rejected == 0
    scored = pd.read_parquet(tmp_path / "scores.parquet").sort_values("row")
    np.testing.assert_array_equal(scored["eligible"].to_numpy(), got["eligible"].to_numpy())


def test_openg2p_weights_and_xlsx(tmp_path, demo, survey):
    path = export_scorecard(demo, format="openg2p", path=tmp_path / "g2p.json",
                            effective_from="2025-07-01")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["pmt_config"] is True and doc["effective_from"] == "2025-07-01"
    weights = {p["pmt_field"]: p["pmt_weightage"] for p in doc["pmt_params"]}
    # OpenG2P's rule sum(pmt_weightage * field) over 0/1 answer indicators = the score
    frame = survey.head(200)
    totals = np.zeros(len(frame))
    for ind in doc["indicators"]:
        x = frame[ind["field"]].to_numpy(dtype=float)
        if ind["per"]:
            d = frame[ind["per"]].to_numpy(dtype=float)
            x = np.where(d > 0, x / np.where(d > 0, d, 1), 0.0)
        if ind["code"] is not None:
            flag = x == float(ind["code"])
        else:
            rng = {"min": ind["lower"], "min_inclusive": ind["lower_inclusive"],
                   "max": ind["upper"], "max_inclusive": ind["upper_inclusive"]}
            flag = np.array([_in_range(rng, v) for v in x])
        totals += weights[ind["indicator"]] * flag
    np.testing.assert_array_equal(totals, demo.score(frame)["score"].astype(int).to_numpy())
    xlsx = export_scorecard(demo, format="xlsx", path=tmp_path / "weights.xlsx")
    sheet = pd.read_excel(xlsx, sheet_name="weights")
    table = weight_table(demo)
    assert list(sheet.columns) == list(table.columns)
    np.testing.assert_array_equal(sheet["weight"], table["weight"])
    about = pd.read_excel(xlsx, sheet_name="about").set_index("item")["value"]
    assert int(about["cutoff"]) == demo.cutoff and about["eligible_if"] == "total < cutoff"


def test_errors(tmp_path, demo):
    with pytest.raises(DataError, match="suffix|ends in"):
        export_scorecard(demo, format="csv", path=tmp_path / "w.json")
    with pytest.raises(DataError, match="effective_from"):
        export_scorecard(demo, format="openspp", path=tmp_path / "w.json",
                         effective_from="next year")
    with pytest.raises(DataError, match="before"):
        export_scorecard(demo, format="openspp", path=tmp_path / "w.json",
                         effective_from="2026-01-01", effective_to="2025-01-01")
    no_cut = Scorecard(demo.questions, cutoff=None, max_points=demo.max_points)
    with pytest.raises(DataError, match="cut-off"):
        export_scorecard(no_cut, format="openspp", path=tmp_path / "w.json")
    with pytest.raises(pmt.PMTError):
        export_scorecard(demo, format="pdf", path=tmp_path / "w.pdf")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_export(cli, tmp_path):
    out = tmp_path / "weights.csv"
    code, stdout, err = cli(["export", SCORECARD, "--format", "csv", "--out", out,
                             "--effective-from", "2025-01-01"])
    assert code == 0, err
    assert out.is_file()
    assert str(out) in stdout
    code, _, err = cli(["export", SCORECARD, "--format", "csv", "--out", tmp_path / "w.json"])
    assert code == 2 and "csv" in err

