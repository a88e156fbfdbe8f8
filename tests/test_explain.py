"""Explanations for grievances (pmt.registry.explain): contributions, flips, text, CLI.

References are independent of the code under test: the score is recomputed in the test
from the scorecard's answers or the model's coefficients; every reported change is
re-scored with ``Scorecard.score`` / ``model.predict``; and "no smaller change flips" is
checked by brute force over each proxy's answers (all codes, all numerators, a grid of
values), or against the crossing point solved by hand for a continuous model proxy.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.artifacts import load_model
from pmt.errors import DataError
from pmt.registry.explain import explain, parse_record_text, read_record
from pmt.scorecard import Scorecard
from pmt.spec import DataSpec

ROOT = Path(__file__).parent.parent
SCORECARD = ROOT / "models" / "scorecard.json"
MODEL = ROOT / "models" / "pmt_ols.json"
SPEC_PATH = ROOT / "pmt" / "data_spec" / "registry.yaml"


@pytest.fixture(scope="module")
def spec():
    return DataSpec.load(SPEC_PATH)


@pytest.fixture(scope="module")
def registry(spec):
    df = pmt.datasets.synthetic_hbs(n_households=600, seed=11)
    return df[[c for c in spec.columns if c in df.columns]].copy()


@pytest.fixture(scope="module")
def sc():
    return Scorecard.from_json(SCORECARD)


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


# --------------------------------------------------------------------------------------
# an independent interpreter of a scorecard (questions -> answer by condition -> points)
# --------------------------------------------------------------------------------------
def _holds(cond: dict, x) -> bool:
    if "equals" in cond:
        return str(cond["equals"]) == str(int(x) if float(x).is_integer() else x)
    ok = True
    if "gt" in cond:
        ok &= x > cond["gt"]
    if "ge" in cond:
        ok &= x >= cond["ge"]
    if "lt" in cond:
        ok &= x < cond["lt"]
    if "le" in cond:
        ok &= x <= cond["le"]
    return bool(ok)


def _points(sc, rec: dict) -> int:
    total = 0
    for q in sc.questions:
        if q.is_zero:
            continue
        x = float(rec[q.field])
        if q.per:
            d = float(rec[q.per])
            x = x / d if d > 0 else 0.0
        hits = [a.points for a in q.answers if _holds(a.condition, x)]
        assert len(hits) == 1
        total += hits[0]
    return total


def _rec(df: pd.DataFrame, i: int) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in df.iloc[i].items()}


# --------------------------------------------------------------------------------------
# scorecards
# --------------------------------------------------------------------------------------
def test_scorecard_contributions_add_up(sc, registry, spec):
    for i in range(0, 60, 3):
        rec = _rec(registry, i)
        e = explain(sc, rec, spec=spec)
        want = _points(sc, rec)
        assert e.score == want
        assert int(e.contributions["points"].sum()) == want
        assert e.eligible == (want < sc.cutoff)
        assert e.id == rec["hh_id"] and e.id_column == "hh_id"


def _brute_force_scorecard(sc, e, rec, spec):
    """Every reported change crosses; no proxy has a nearer (or smaller) crossing answer."""
    cut = sc.cutoff
    base = _points(sc, rec)
    reported = {r.proxy: r for r in e.flips.itertuples()}
    for q in sc.questions:
        if q.is_zero:
            continue
        r = reported.get(q.id)
        if r is not None:
            changed = dict(rec)
            changed[q.field] = float(r.to_value) if q.kind != "categorical" else r.to_value
            frame = pd.DataFrame([changed])
            rescored = int(sc.score(frame)["score"].iloc[0])
            assert rescored == r.score_after == _points(sc, changed)
            assert (rescored < cut) != (base < cut), (q.id, r)
        if q.kind == "categorical":
            cur = [a.points for a in q.answers if _holds(a.condition, rec[q.field])][0]
            crossing = [abs(a.points - cur) for a in q.answers
                        if ((base - cur + a.points) < cut) != (base < cut)]
            if r is None:
                assert not crossing, q.id
            else:
                assert abs(r.score_change) == min(crossing), q.id
        elif q.per:
            n, d = float(rec[q.field]), float(rec[q.per])
            hi = min(d, q.range[1])
            dist = []
            for m in np.arange(0, hi + 1):
                changed = dict(rec)
                changed[q.field] = float(m)
                if m != n and (_points(sc, changed) < cut) != (base < cut):
                    dist.append(abs(m - n))
            if r is None:
                assert not dist, q.id
            else:
                assert abs(float(r.to_value) - n) == min(dist), q.id
        else:
            x = float(rec[q.field])
            lo, hi = q.range
            grid = np.unique(np.concatenate([
                np.linspace(lo, min(hi, 150.0), 751),
                [v for a in q.answers for v in a.condition.values()],
                [v + 0.001 for a in q.answers for v in a.condition.values()],
            ]))
            grid = grid[(grid >= lo) & (grid <= hi)]
            if spec[q.field].type == "count":
                grid = np.arange(lo, min(hi, 150.0) + 1)
            flips = []
            for v in grid:
                changed = dict(rec)
                changed[q.field] = float(v)
                if (_points(sc, changed) < cut) != (base < cut):
                    flips.append(abs(v - x))
            if r is None:
                assert not flips, q.id
            else:
                # nearest crossing on the grid is no nearer than the one reported, up to
                # the 3-significant-digit step taken past an open band edge
                tol = 0.011 * max(1.0, abs(float(r.to_value)))
                assert abs(min(flips) - abs(float(r.to_value) - x)) <= tol, q.id


def _near_cutoff(card, df, n: int, width: int = 10) -> list[int]:
    scores = card.score(df)["score"].to_numpy()
    rows = np.flatnonzero(np.abs(scores - card.cutoff) <= width)
    return [int(i) for i in rows[:: max(1, rows.size // n)][:n]]


def test_scorecard_flips_rescored_and_smallest(sc, registry, spec):
    n_flips = n_eligible = n_none = 0
    for i in _near_cutoff(sc, registry, 24):
        rec = _rec(registry, i)
        e = explain(sc, rec, spec=spec)
        _brute_force_scorecard(sc, e, rec, spec)
        n_flips += len(e.flips)
        n_eligible += bool(e.eligible)
        n_none += e.flips.empty
        changes = e.flips["score_change"].abs().to_numpy()
        assert np.all(np.diff(changes) >= 0)  # sorted by the size of the score change
    assert n_flips > 30 and 0 < n_eligible < 24


def test_scorecard_edge_of_cutoff(sc, registry, spec):
    """A household exactly at the cut-off is not eligible; one point less flips it."""
    scores = sc.score(registry)["score"]
    at_cut = np.flatnonzero(scores.to_numpy() == sc.cutoff)
    assert at_cut.size
    rec = _rec(registry, int(at_cut[0]))
    e = explain(sc, rec, spec=spec)
    assert e.score == sc.cutoff and e.eligible is False
    assert not e.flips.empty and (e.flips["score_after"] < sc.cutoff).all()
    _brute_force_scorecard(sc, e, rec, spec)


def test_no_single_change(sc, registry, spec):
    scores = sc.score(registry)["score"].to_numpy()
    rich = int(np.argmax(scores))
    rec = _rec(registry, rich)
    e = explain(sc, rec, spec=spec)
    assert e.flips.empty
    _brute_force_scorecard(sc, e, rec, spec)
    assert "No single change" in e.text()


def test_text_uses_labels(sc, registry, spec):
    scores = sc.score(registry)["score"].to_numpy()
    i = int(np.flatnonzero((scores >= sc.cutoff) & (scores <= sc.cutoff + 3))[0])
    rec = _rec(registry, i)
    e = explain(sc, rec, spec=spec)
    text = e.text()
    assert f"scored {e.score} points" in text and f"cut-off is {sc.cutoff}" in text
    assert "not eligible" in text
    first = e.flips.iloc[0]
    assert first.label in text and f"would have scored {first.score_after}" in text
    region = spec["region"].codes[int(rec["region"])]
    if e.contributions.set_index("proxy").loc["region", "points"]:
        assert f"Region: {region}" in text
    # with the spec, value labels appear (e.g. "Car or truck" answered Yes/No)
    car = e.contributions.set_index("proxy").loc["car"]
    assert car["label"] == spec["car"].label and car["answer"] in ("Yes", "No")


def test_record_forms_and_id(sc, registry, spec):
    rec = _rec(registry, 7)
    rec["hh_id"] = "000123"
    a = explain(sc, rec, spec=spec)
    b = explain(sc, pd.Series(rec), spec=spec)
    c = explain(sc, pd.DataFrame([rec]), spec=spec)
    text_rec = {k: str(v) for k, v in rec.items()}
    d = explain(sc, text_rec, spec=spec)
    assert a.id == b.id == c.id == d.id == "000123"
    assert a.score == b.score == c.score == d.score
    with pytest.raises(DataError, match="one household"):
        explain(sc, registry.iloc[:2], spec=spec)
    bad = dict(rec)
    del bad["car"]
    with pytest.raises(DataError, match="car"):
        explain(sc, bad, spec=spec)
    bad = {**rec, "region": 99}
    with pytest.raises(DataError, match="000123"):
        explain(sc, bad, spec=spec)


# --------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------
def _xb(model, rec: dict) -> float:
    """The linear predictor summed by hand from the model's coefficients."""
    total = 0.0
    for name, b in model.params.items():
        if name == "Intercept":
            total += b
        elif name.startswith("C("):
            var, level = name[2:].split(")[T.")
            total += b * (str(int(float(rec[var]))) == level.rstrip("]"))
        else:
            total += b * float(rec[name])
    return total


def test_model_contributions_add_up(model, registry, spec):
    line = model.thresholds["threshold"]
    for i in range(0, 40, 4):
        rec = _rec(registry, i)
        e = explain(model, rec, spec=spec)
        want = _xb(model, rec)
        assert e.score == pytest.approx(want, abs=1e-10)
        assert e.contributions["contribution"].sum() == pytest.approx(want, abs=1e-10)
        pred = float(model.predict(pd.DataFrame([rec])).iloc[0])
        assert e.score == pytest.approx(pred, abs=1e-10)
        assert e.cutoff == line and e.eligible == (want < line)


def test_model_flips_rescored_and_smallest(model, registry, spec):
    line = model.thresholds["threshold"]
    b = model.params
    checked_continuous = 0
    for i in range(0, 80, 5):
        rec = _rec(registry, i)
        e = explain(model, rec, spec=spec)
        base = _xb(model, rec)
        for r in e.flips.itertuples():
            changed = dict(rec)
            changed[r.proxy] = float(r.to_value)
            if r.proxy == "land_sotka":
                changed["land_sotka_sq"] = float(r.to_value) ** 2
            pred = float(model.predict(pd.DataFrame([changed])).iloc[0])
            assert pred == pytest.approx(r.score_after, abs=1e-10)
            assert (pred < line) != (base < line), r
            if spec[r.proxy].type == "categorical" or spec[r.proxy].type == "binary":
                # brute force over every code: none with a smaller change crosses
                for code in spec[r.proxy].codes or (0, 1):
                    alt = {**rec, r.proxy: code}
                    x = _xb(model, alt)
                    if abs(x - base) < abs(r.score_change) - 1e-12:
                        assert (x < line) == (base < line), (r.proxy, code)
            elif r.proxy.startswith("share_"):
                root = float(rec[r.proxy]) + (line - base) / b[r.proxy]
                assert abs(float(r.to_value) - root) <= 0.0051 * max(1.0, abs(root))
                # a value just short of the crossing point does not flip
                short = root - math.copysign(1e-6, root - float(rec[r.proxy]))
                x = base + b[r.proxy] * (short - float(rec[r.proxy]))
                assert (x < line) == (base < line)
                checked_continuous += 1
        # proxies with no change reported: no code crosses
        for var in ("region", "car", "fridge", "tv"):
            if var in set(e.flips["proxy"]):
                continue
            for code in spec[var].codes or (0, 1):
                assert (_xb(model, {**rec, var: code}) < line) == (base < line), var
    assert checked_continuous > 0


def test_model_quadratic_land(model, registry, spec):
    """land_sotka enters with its square: the change moves both, and crosses."""
    line = model.thresholds["threshold"]
    found = 0
    for i in range(0, 200, 2):
        rec = _rec(registry, i)
        e = explain(model, rec, spec=spec)
        row = e.flips[e.flips["proxy"] == "land_sotka"]
        if row.empty:
            continue
        v = float(row["to_value"].iloc[0])
        lo, hi = spec["land_sotka"].range
        assert lo <= v <= hi
        changed = {**rec, "land_sotka": v, "land_sotka_sq": v * v}
        assert (_xb(model, changed) < line) != (_xb(model, rec) < line)
        found += 1
        if found >= 3:
            break
    assert found


def test_model_threshold_and_errors(model, registry, spec):
    rec = _rec(registry, 3)
    e = explain(model, rec, spec=spec, threshold=20.0)
    assert e.eligible is True and e.cutoff == 20.0
    with pytest.raises(pmt.ModelError):
        explain(SCORECARD, rec, threshold=11.0)
    with pytest.raises(DataError, match="not a level"):
        explain(model, {**rec, "region": 77})
    assert json.loads(json.dumps(e.to_dict()))["kind"] == "model"


# --------------------------------------------------------------------------------------
# reading a record; the command line
# --------------------------------------------------------------------------------------
def test_read_record_keeps_id_text(tmp_path, registry, spec):
    df = registry.head(20).copy()
    df["hh_id"] = [f"{i:06d}" for i in range(20)]
    path = tmp_path / "reg.csv"
    df.to_csv(path, index=False)
    rec = read_record(path, "000007", spec=spec)
    assert rec["hh_id"] == "000007" and float(rec["rooms"]) == df["rooms"].iloc[7]
    with pytest.raises(DataError, match="'7'"):
        read_record(path, "7", spec=spec)
    assert parse_record_text("region=3, car=1") == {"region": "3", "car": "1"}
    with pytest.raises(DataError, match="key=value"):
        parse_record_text("region")


def test_cli_explain(cli, tmp_path, registry, sc):
    path = tmp_path / "reg.csv"
    registry.to_csv(path, index=False)
    hh = str(registry["hh_id"].iloc[5])
    code, out, err = cli(["explain", SCORECARD, "--record", path, "--id", hh,
                          "--spec", SPEC_PATH])
    assert code == 0, err
    want = _points(sc, _rec(registry, 5))
    assert f"scored {want} points" in out and f"cut-off is {sc.cutoff}" in out
    code, out, err = cli(["explain", MODEL, "--record", path, "--id", hh, "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["id"] == hh and doc["kind"] == "model"
    code, out, err = cli(["explain", SCORECARD, "--record", path, "--id", "no-such-id"])
    assert code == 2 and "no-such-id" in err
    typed = ",".join(f"{k}={v}" for k, v in _rec(registry, 5).items())
    code, out, err = cli(["explain", SCORECARD, "--record", typed])
    assert code == 0 and f"scored {want} points" in out


@pytest.fixture(scope="module")
def built():
    """A scorecard built in the test from a small OLS (categorical, 0/1, counts, share)."""
    df = pmt.datasets.synthetic_hbs(n_households=1200, seed=5)
    r = pmt.ols("log_pcc ~ C(region) + car + rooms + land_sotka + share_children_0_2 + head_age",
                df, weights="weight")
    threshold = float(np.quantile(r.predict(df), 0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card = Scorecard.from_model(r, data=df, weights="weight", threshold=threshold,
                                    spec=DataSpec.load(SPEC_PATH))
    return card, df


def test_built_scorecard_flips(built, spec):
    card, df = built
    for i in _near_cutoff(card, df, 20):
        rec = _rec(df, i)
        e = explain(card, rec, spec=spec)
        assert e.score == _points(card, rec) == int(e.contributions["points"].sum())
        _brute_force_scorecard(card, e, rec, spec)
