"""Scorecards: integer points, cut-off consistent with rounding, caps, exports, scoring."""

from __future__ import annotations

import json
import math
import warnings

import jsonschema
import numpy as np
import pandas as pd
import pytest

from pmt.artifacts import load_model, load_schema, save_model
from pmt.errors import ArtifactError, DataError, ModelError
from pmt.models.base import ModelResult
from pmt.models.formula import Design
from pmt.scorecard import Scorecard


def _model(formula, data, params, model_type=None):
    """A ModelResult with chosen coefficients (known truth, no estimation)."""
    design = Design.from_formula(formula, data)
    names = design.term_names
    b = np.array([params[k] for k in names], dtype=float)
    m = ModelResult(design, b, np.full(len(b), 0.01), nobs=len(data))
    if model_type:
        m.model_type = model_type
    return m


@pytest.fixture(scope="module")
def hh():
    rng = np.random.default_rng(7)
    n = 4000
    df = pd.DataFrame(
        {
            "car": rng.integers(0, 2, n),
            "fridge": (rng.random(n) < 0.7).astype(int),
            "tv": (rng.random(n) < 0.8).astype(int),
            "computer": (rng.random(n) < 0.3).astype(int),
            "region": rng.integers(1, 6, n),
            "heating": rng.choice([1, 2, 3], n),
            "rooms": rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.2, 0.35, 0.25, 0.12, 0.05, 0.03]),
            "land": np.where(rng.random(n) < 0.4, 0.0, np.round(rng.gamma(1.2, 45, n), 1)),
            "n_adults": rng.integers(1, 5, n),
            "weight": rng.uniform(50, 150, n),
            "hh_size": rng.integers(1, 9, n),
        }
    )
    df["n_mobile"] = rng.binomial(df["n_adults"], 0.6)
    df["share_mobile"] = df["n_mobile"] / df["n_adults"]
    df["land_sq"] = df["land"] ** 2
    df["log_pcc"] = (
        10 + 0.21 * df["car"] + 0.17 * df["fridge"] + 0.2 * df["tv"] + 0.14 * df["computer"]
        + 0.1 * (df["region"] == 2) - 0.12 * (df["region"] == 4) + 0.3 * (df["region"] == 5)
        + 0.09 * (df["heating"] == 2) + 0.22 * (df["heating"] == 3) + 0.08 * df["rooms"]
        + 0.00974 * df["land"] - 5.45e-05 * df["land_sq"] + 0.259 * df["share_mobile"]
        + rng.normal(0, 0.35, n)
    )
    return df


DISCRETE = "log_pcc ~ car + fridge + tv + computer + C(region) + C(heating)"
FULL = DISCRETE + " + rooms + land + land_sq + share_mobile"
RATIOS = {"share_mobile": ("n_mobile", "n_adults")}


@pytest.fixture(scope="module")
def fitted(hh):
    from pmt.models.ols import ols

    return {"discrete": ols(DISCRETE, hh, weights="weight"), "full": ols(FULL, hh, weights="weight")}


@pytest.fixture(scope="module")
def line(hh):
    return float(np.quantile(hh["log_pcc"], 0.25))


@pytest.fixture(scope="module")
def card(fitted, hh, line):
    return Scorecard.from_model(fitted["full"], data=hh, weights="weight", threshold=line,
                                ratios=RATIOS, poor=(hh["log_pcc"] < line).astype(int),
                                size="hh_size")


# --- points ------------------------------------------------------------------------------
@pytest.mark.parametrize("max_points", [100, 50, 37, 1000])
def test_points_non_negative_integers_with_exact_maximum(fitted, hh, line, max_points):
    sc = Scorecard.from_model(fitted["full"], data=hh, weights="weight", threshold=line,
                              ratios=RATIOS, max_points=max_points)
    for q in sc.questions:
        pts = [a.points for a in q.answers]
        assert all(isinstance(p, int) and p >= 0 for p in pts)
        assert min(pts) == 0
    assert sum(max(a.points for a in q.answers) for q in sc.questions) == max_points
    assert sc.max_points == max_points


def test_points_are_scaled_coefficients(fitted, hh):
    """Discrete proxies: points = round(k * (coef - min coef of the question)) by hand."""
    m = fitted["discrete"]
    b = m.params
    sc = Scorecard.from_model(m, data=hh)
    groups = {
        "car": [0.0, b["car"]], "fridge": [0.0, b["fridge"]], "tv": [0.0, b["tv"]],
        "computer": [0.0, b["computer"]],
        "region": [0.0] + [b[f"C(region)[T.{k}]"] for k in (2, 3, 4, 5)],
        "heating": [0.0] + [b[f"C(heating)[T.{k}]"] for k in (2, 3)],
    }
    k = 100 / sum(max(v) - min(v) for v in groups.values())
    for q in sc.questions:
        vals = groups[q.id]
        for a, v in zip(q.answers, vals, strict=True):
            assert abs(a.points - k * (v - min(vals))) <= 1.0  # largest-remainder: within 1
            assert a.points == round(k * (v - min(vals))) or a is max(q.answers, key=lambda x: x.value)
    # the region with a negative coefficient is 0 and the base category gets positive points
    region = next(q for q in sc.questions if q.id == "region")
    by_code = {a.condition["equals"]: a.points for a in region.answers}
    assert by_code[4] == 0 and by_code[1] > 0
    heating = next(q for q in sc.questions if q.id == "heating")
    assert heating.answers[0].condition == {"equals": 1} and heating.answers[0].points == 0
    # the constant moved by the shifts
    shift = sum(min(v) for v in groups.values())
    assert sc.scale["constant"] == pytest.approx(b["Intercept"] + shift)
    assert sc.scale["points_per_unit"] == pytest.approx(k)


def _exact_card_data():
    df = pd.DataFrame({"car": [0, 1, 0, 1, 0, 1], "region": [1, 1, 2, 2, 3, 3],
                       "y": [1.0, 2, 3, 4, 5, 6]})
    return df, _model("y ~ car + C(region)", df,
                      {"Intercept": 10.0, "car": 0.1, "C(region)[T.2]": 0.1,
                       "C(region)[T.3]": 0.3})


def test_household_exactly_at_threshold():
    """Points are exact (k = 250): the cut-off must classify like the model at the line."""
    df, m = _exact_card_data()
    at = pd.DataFrame({"car": [1], "region": [2]})
    t = float(m.linear_predictor(at).iloc[0])  # the model's own prediction: exactly at t
    sc = Scorecard.from_model(m, data=df, threshold=t)
    pts = {q.id: [a.points for a in q.answers] for q in sc.questions}
    assert pts == {"car": [0, 25], "region": [0, 25, 75]}
    assert sc.cutoff == 50
    probe = pd.DataFrame({"car": [1, 0, 1, 0, 0], "region": [2, 2, 1, 3, 1]})
    xb = m.linear_predictor(probe).to_numpy()
    model_eligible = xb < t
    scored = sc.score(probe)
    assert list(scored["score"]) == [50, 25, 25, 75, 0]
    assert list(scored["eligible"]) == list(model_eligible) == [False, True, True, False, True]


def test_cutoff_is_ceiling_of_exact_cutoff(fitted, hh, line):
    sc = Scorecard.from_model(fitted["discrete"], data=hh, threshold=line)
    k, c = sc.scale["points_per_unit"], sc.scale["constant"]
    assert sc.scale["cutoff_exact"] == pytest.approx(k * (line - c))
    assert sc.cutoff == math.ceil(k * (line - c))


def test_rounding_loss_small_and_checked_by_hand(fitted, hh, line):
    m = fitted["discrete"]
    sc = Scorecard.from_model(m, data=hh, weights="weight", threshold=line)
    table = sc.rounding_table
    # discrete proxies: banding loses nothing, rounding little
    assert table.loc["banded", "changed"] == 0
    assert sc.rounding["changed"] < 0.02
    # by hand: score from the points table, eligibility vs the model's prediction
    pt = sc.points_table()
    score = np.zeros(len(hh))
    for q in sc.questions:
        lut = {a.condition["equals"]: a.points for a in q.answers}
        score += hh[q.field].map(lut).to_numpy()
    card_elig = score < sc.cutoff
    model_elig = m.predict(hh).to_numpy() < line
    w = hh["weight"].to_numpy()
    assert sc.rounding["changed"] == pytest.approx(w[card_elig != model_elig].sum() / w.sum())
    assert len(pt) == sum(len(q.answers) for q in sc.questions)


def test_rounding_report_metrics(card, hh, line):
    t = card.rounding_table
    poor = (hh["log_pcc"] < line).to_numpy()
    v = hh["weight"].to_numpy() * hh["hh_size"].to_numpy()
    sel = card.score(hh)["eligible"].to_numpy(dtype=bool)
    assert t.loc["scorecard", "coverage_poor"] == pytest.approx(v[poor & sel].sum() / v[poor].sum())
    assert t.loc["scorecard", "inclusion_error"] == pytest.approx(v[~poor & sel].sum() / v[sel].sum())
    assert t.loc["model", "changed"] == 0
    assert card.rounding["changed"] < 0.1


# --- proxies: quadratics, counts, ratios ----------------------------------------------------
def test_uzbek_land_cap_at_89_sotka(hh):
    m = _model("log_pcc ~ land + land_sq + car", hh,
               {"Intercept": 11.65, "land": 0.00974, "land_sq": -5.45e-05, "car": 0.182})
    sc = Scorecard.from_model(m, data=hh)
    land = next(q for q in sc.questions if q.id == "land")
    peak = 0.00974 / (2 * 5.45e-05)
    assert peak == pytest.approx(89.36, abs=0.01)
    top = land.answers[-1]
    assert top.condition == {"gt": pytest.approx(peak)}
    # top band is worth the maximum of the quadratic, 0.435 (the published figure)
    assert top.value == pytest.approx(0.00974**2 / (4 * 5.45e-05))
    assert top.value == pytest.approx(0.435, abs=0.001)
    assert "89.4" in land.note
    recs = pd.DataFrame({"land": [95.0, 200.0, 1000.0, 0.0], "land_sq": 0, "car": 0})
    s = sc.score(recs)["score"]
    assert s.iloc[0] == s.iloc[1] == s.iloc[2] == land.max_points and s.iloc[3] == 0
    assert all(a.points <= top.points for a in land.answers)
    assert "land_sq" not in [q.id for q in sc.questions]


def test_count_bands(hh, fitted):
    sc = Scorecard.from_model(fitted["full"], data=hh, ratios=RATIOS, n_bands=5)
    rooms = next(q for q in sc.questions if q.id == "rooms")
    assert [a.label for a in rooms.answers] == ["1", "2", "3", "4", "5 or more"]
    # band values are the model's mean effect in each band (rooms 5 and 6 pooled)
    b = fitted["full"].params["rooms"]
    sub = hh[hh["rooms"] >= 5]
    assert rooms.answers[-1].value == pytest.approx(b * sub["rooms"].mean())
    custom = Scorecard.from_model(fitted["full"], data=hh, ratios=RATIOS, bands={"rooms": [2, 4]})
    rq = next(q for q in custom.questions if q.id == "rooms")
    assert [a.label for a in rq.answers] == ["1 to 2", "3 to 4", "5 or more"]


def test_ratio_question_asks_two_counts(card, hh):
    q = next(q for q in card.questions if q.id == "share_mobile")
    assert q.fields == ["n_mobile", "n_adults"]
    assert [a.label for a in q.answers] == ["none of them", "fewer than half",
                                            "half or more, but not all", "all of them"]
    recs = hh.head(4).assign(n_adults=[2, 3, 3, 4], n_mobile=[0, 1, 2, 4])
    bd = card.score(recs, breakdown=True)["points_share_mobile"]
    assert list(bd) == [a.points for a in q.answers]
    bad = hh.head(2).assign(n_adults=[2, 2], n_mobile=[3, 1])
    out = card.score(bad, errors="reject")
    assert out["score"].isna().iloc[0] and "exceeds" in out["reject_reason"].iloc[0]


def test_probit_direction_flipped(hh, line):
    from pmt.models.binary import probit

    df = hh.assign(poor=(hh["log_pcc"] < line).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = probit("poor ~ car + fridge + C(region)", df, weights="weight")
    sc = Scorecard.from_model(m, data=df, threshold=0.5)
    assert sc.direction == "poverty"
    car = next(q for q in sc.questions if q.id == "car")
    assert m.params["car"] < 0 and car.answers[1].points > car.answers[0].points == 0
    # cut-off: P(poor) > 0.5 <=> index > 0 <=> -index < 0
    assert sc.scale["threshold"] == pytest.approx(0.0)
    xb = m.predict(df, scale="index").to_numpy()
    agree = np.mean((xb > 0) == sc.score(df)["eligible"].to_numpy(dtype=bool))
    assert agree > 0.97


def test_two_equation_model_refused(hh):
    from pmt.models.heckman import heckman

    rng = np.random.default_rng(3)
    df = hh.assign(z=rng.normal(size=len(hh)))
    df["sel"] = (df["z"] + rng.normal(size=len(df)) > 0).astype(int)
    df["y2"] = df["log_pcc"].where(df["sel"] == 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = heckman("sel ~ z + car", "y2 ~ car + fridge", df)
    with pytest.raises(ModelError, match="lambda"):
        Scorecard.from_model(h, data=df)


def test_needs_data_or_profile_for_continuous(fitted, hh, tmp_path):
    import copy

    bare = copy.deepcopy(fitted["full"])
    bare.training_profile = None  # as a model built by hand, without its sample profile
    with pytest.raises(ModelError, match="data="):
        Scorecard.from_model(bare, ratios=RATIOS)
    # a freshly fitted model carries the weighted profile of its estimation sample
    fresh = Scorecard.from_model(fitted["full"], ratios=RATIOS)
    explicit = Scorecard.from_model(fitted["full"], data=hh, weights="weight", ratios=RATIOS)
    assert [q.id for q in fresh.questions] == [q.id for q in explicit.questions]
    for a, b in zip(fresh.questions, explicit.questions, strict=True):
        # the stored profile gives the same points as the weighted sample itself, and the same
        # bands (land's profile is 100 weighted quantile points: its band edges agree to ~5 %)
        assert [x.points for x in a.answers] == [x.points for x in b.answers], a.id
        for x, y in zip(a.answers, b.answers, strict=True):
            assert x.condition == pytest.approx(y.condition, rel=0.05, abs=1e-12), a.id
            if a.id != "land":
                assert x.condition == y.condition, a.id
    # with the profile saved in the artifact, no data are needed
    path = save_model(fitted["full"], tmp_path / "m.json", data=hh, weights="weight",
                      thresholds={"poverty_line": 10.3})
    loaded = load_model(path)
    sc = Scorecard.from_model(loaded, ratios=RATIOS)
    # threshold from the artifact: cut-off = ceil(k * (line - constant)), by hand
    k, c = sc.scale["points_per_unit"], sc.scale["constant"]
    assert sc.scale["threshold"] == 10.3
    assert sc.scale["cutoff_exact"] == pytest.approx(k * (10.3 - c))
    assert sc.cutoff == math.ceil(k * (10.3 - c))
    with_data = Scorecard.from_model(fitted["full"], data=hh, weights="weight", threshold=10.3,
                                     ratios=RATIOS)
    for a, b in zip(sc.questions, with_data.questions, strict=True):
        if a.id in ("car", "rooms", "region"):
            assert [x.points for x in a.answers] == [x.points for x in b.answers]
    assert sc.cutoff == with_data.cutoff


# --- scoring -------------------------------------------------------------------------------
def test_score_matches_points_table_by_hand(card, hh):
    recs = hh.sample(200, random_state=3)
    out = card.score(recs, breakdown=True)
    for i, (_, r) in enumerate(recs.iterrows()):
        total = 0
        for q in card.questions:
            x = r[q.field] if not q.per else (r[q.field] / r[q.per] if r[q.per] else 0.0)
            for a in q.answers:
                c = a.condition
                if "equals" in c:
                    hit = x == c["equals"]
                else:
                    hit = (("gt" not in c or x > c["gt"]) and ("ge" not in c or x >= c["ge"])
                           and ("lt" not in c or x < c["lt"]) and ("le" not in c or x <= c["le"]))
                if hit:
                    total += a.points
                    break
            else:
                raise AssertionError(f"no answer for {q.id}={x}")
        assert out["score"].iloc[i] == total
    parts = out[[c for c in out if c.startswith("points_")]].sum(axis=1)
    assert (parts == out["score"]).all()
    assert (out["eligible"] == (out["score"] < card.cutoff)).all()


def test_invalid_records_rejected_never_zero(card, hh):
    recs = hh.head(6).copy()
    recs["region"] = recs["region"].astype(float)
    recs.loc[recs.index[0], "region"] = 9  # unknown code
    recs.loc[recs.index[1], "car"] = np.nan  # missing answer
    recs.loc[recs.index[2], "land"] = np.nan
    with pytest.raises(DataError, match="3 record"):
        card.score(recs)
    out = card.score(recs, errors="reject", breakdown=True)
    assert out["score"].isna().sum() == 3 and out["eligible"].isna().sum() == 3
    assert "unknown code in 'region' (9" in out["reject_reason"].iloc[0]
    assert "missing answer for 'car'" in out["reject_reason"].iloc[1]
    assert out["reject_reason"].iloc[3] == ""
    assert card.validate(recs).iloc[2].startswith("missing or non-numeric answer for 'land'")
    with pytest.raises(DataError, match="n_mobile"):
        card.score(hh.drop(columns=["n_mobile"]))
    for data in (recs, recs.iloc[3:]):  # a bad errors= is named, with or without bad records
        with pytest.raises(DataError, match="`errors` must be 'raise' or 'reject'"):
            card.score(data, errors="skip")


def test_string_codes_and_categoricals(card, hh):
    recs = hh.head(50)
    a = card.score(recs)["score"]
    as_text = recs.assign(region=recs["region"].astype(str),
                          heating=recs["heating"].astype("category"))
    assert (card.score(as_text)["score"] == a).all()


# --- exports and JSON --------------------------------------------------------------------------
def test_json_round_trip_and_schema(card, hh, tmp_path):
    path = card.to_json(tmp_path / "sc.json")
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, load_schema("scorecard"))
    assert doc["cutoff"] == card.cutoff and doc["eligible_if"] == "score < cutoff"
    item = doc["items"][0]
    assert set(item) >= {"field", "answer", "condition", "points"}
    back = Scorecard.from_json(path)
    a, b = card.score(hh, breakdown=True), back.score(hh, breakdown=True)
    pd.testing.assert_frame_equal(a, b)
    assert back.to_json(tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_hostile_scorecard_json(card, tmp_path):
    doc = card.to_dict()

    def write(d):
        p = tmp_path / "bad.json"
        p.write_text(json.dumps(d))
        return p

    d = json.loads(json.dumps(doc))
    band = next(i for i in d["items"] if "le" in i["condition"] and "gt" in i["condition"])
    band["condition"]["gt"] = band["condition"]["gt"] - 1  # overlap the previous band
    with pytest.raises(ArtifactError, match="overlap"):
        Scorecard.from_json(write(d))
    d = json.loads(json.dumps(doc))
    d["items"][0]["points"] = -3
    with pytest.raises(ArtifactError, match="minimum"):
        Scorecard.from_json(write(d))
    d = json.loads(json.dumps(doc))
    d["max_points"] = 99
    with pytest.raises(ArtifactError, match="max_points"):
        Scorecard.from_json(write(d))
    d = json.loads(json.dumps(doc))
    d["questions"][0]["field"] = "x; rm -rf /"
    with pytest.raises(ArtifactError, match="does not match"):
        Scorecard.from_json(write(d))
    d = json.loads(json.dumps(doc))
    d["schema_version"] = 2
    with pytest.raises(ArtifactError, match="schema_version 2"):
        Scorecard.from_json(write(d))
    p = tmp_path / "nan.json"
    p.write_text(json.dumps(doc).replace(f'"cutoff": {card.cutoff}', '"cutoff": NaN'))
    with pytest.raises(ArtifactError, match="non-finite"):
        Scorecard.from_json(p)


def test_field_form_with_spec(fitted, hh, line, tmp_path):
    from pmt.spec import DataSpec

    spec = DataSpec.from_dict({"name": "registry", "columns": {
        "car": {"type": "binary", "role": "proxy", "label": "Car",
                "question": "Does the household own a car?", "codes": {0: "No car", 1: "Owns a car"}},
        "region": {"type": "categorical", "role": "region", "label": "Region",
                   "question": "Region of residence", "codes": {1: "Andijon", 2: "Buxoro",
                                                                3: "Farg'ona", 4: "Jizzax",
                                                                5: "Namangan"}},
        "land": {"type": "continuous", "role": "proxy", "label": "Land", "unit": "sotka",
                 "range": [0, 1000]},
    }})
    sc = Scorecard.from_model(fitted["full"], data=hh, threshold=line, ratios=RATIOS, spec=spec,
                              name="Test form")
    car = next(q for q in sc.questions if q.id == "car")
    assert car.text == "Does the household own a car?"
    assert [a.label for a in car.answers] == ["No car", "Owns a car"]
    html = sc.to_html(tmp_path / "form.html")
    assert "Region of residence" in html and "Farg&#x27;ona" in html
    assert "@media print" in html and "TOTAL SCORE" in html
    assert "<script" not in html and "http" not in html.replace("<!DOCTYPE html>", "")
    for q in sc.questions:
        for a in q.answers:
            assert f'<td class="pts">{a.points}</td>' in html
    md = sc.to_markdown(tmp_path / "form.md")
    assert f"below {sc.cutoff} points" in md and "| ☐ | Owns a car |" in md
    land = next(q for q in sc.questions if q.id == "land")
    assert land.range == (0, 1000) and "sotka" in land.answers[1].label
    out = sc.score(hh.head(3).assign(land=[-5.0, 10.0, 2000.0]), errors="reject")
    assert out["score"].isna().tolist() == [True, False, True]
    assert "outside its range" in out["reject_reason"].iloc[0]


def test_xlsx_export(card, tmp_path):
    from openpyxl import load_workbook

    ws = load_workbook(card.to_xlsx(tmp_path / "sc.xlsx"))["scorecard"]
    assert ws["A1"].value == "#" and ws["A1"].font.bold
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    pts = [r[5] for r in rows if r[0] is not None and isinstance(r[0], int)]
    assert pts == list(card.points_table()["points"])
    assert any(r[1] == "Cut-off: eligible if total below" and r[5] == card.cutoff for r in rows)


# --- optimal banding -------------------------------------------------------------------------
def _sse(x, w, g, cuts):
    idx = np.searchsorted(np.asarray(cuts, float), x, side="left")
    total = 0.0
    for k in np.unique(idx):
        m = idx == k
        mean = np.average(g[m], weights=w[m])
        total += (w[m] * (g[m] - mean) ** 2).sum()
    return total


def test_optimal_cuts_match_brute_force():
    from itertools import combinations

    from pmt.scorecard import _optimal_cuts

    rng = np.random.default_rng(11)
    x = rng.choice(np.arange(1.0, 10.0), 300)
    w = rng.uniform(0.5, 2, 300)
    g = 0.3 * np.sqrt(x) + 0.02 * x**2
    cuts = [c for c, _ in _optimal_cuts(x, w, g, 3)]
    uniq = np.unique(x)
    best = min(_sse(x, w, g, list(c)) for c in combinations(uniq[:-1], 2))
    assert len(cuts) == 2
    assert _sse(x, w, g, cuts) == pytest.approx(best, rel=1e-12)


def test_optimal_banding_loses_less(fitted, hh, line):
    q = Scorecard.from_model(fitted["full"], data=hh, weights="weight", threshold=line,
                             ratios=RATIOS)
    o = Scorecard.from_model(fitted["full"], data=hh, weights="weight", threshold=line,
                             ratios=RATIOS, banding="optimal")
    assert o.rounding["changed_banding"] <= q.rounding["changed_banding"]
    # counts and ratios keep their bands
    for sc in (q, o):
        assert [a.label for a in next(x for x in sc.questions if x.id == "rooms").answers][-1] \
            == "5 or more"
    # the land cap still applies: values beyond the vertex score like the vertex
    recs = hh.head(2).assign(land=[95.0, 500.0], land_sq=0.0)
    s = o.score(recs, breakdown=True)["points_land"]
    assert s.iloc[0] == s.iloc[1]
    with pytest.raises(ModelError, match="banding"):
        Scorecard.from_model(fitted["full"], data=hh, ratios=RATIOS, banding="jenks")


def test_no_data_binary_and_small_counts_from_spec(hh):
    from pmt.spec import DataSpec

    m = _model("log_pcc ~ car + rooms + C(region)", hh,
               {"Intercept": 10.0, "car": 0.2, "rooms": 0.05, "C(region)[T.2]": 0.1,
                "C(region)[T.3]": -0.1, "C(region)[T.4]": 0.0, "C(region)[T.5]": 0.3})
    with pytest.raises(ModelError, match="values are unknown"):
        Scorecard.from_model(m)
    spec = DataSpec.from_dict({"name": "r", "columns": {
        "car": {"type": "binary", "role": "proxy"},
        "rooms": {"type": "count", "role": "proxy", "range": [1, 4]}}})
    sc = Scorecard.from_model(m, spec=spec, threshold=10.25)
    rooms = next(q for q in sc.questions if q.id == "rooms")
    assert [a.condition for a in rooms.answers] == [{"le": 1.0}, {"gt": 1.0, "le": 2.0},
                                                    {"gt": 2.0, "le": 3.0}, {"gt": 3.0}]
    # exact values: 0.05 per room; spans 0.2 (car) + 0.15 (rooms) + 0.4 (region) = 0.75
    k = 100 / 0.75
    assert sc.scale["points_per_unit"] == pytest.approx(k)
    assert [a.points for a in rooms.answers] == [0, 7, 13, 20]
    assert [a.points for a in next(q for q in sc.questions if q.id == "car").answers] == [0, 27]


def test_predict_and_html_fragment(card, hh):
    recs = hh.head(20)
    pd.testing.assert_series_equal(card.predict(recs),
                                   card.score(recs)["score"].astype("int64").rename("score"))
    frag = card.to_html(fragment=True)
    assert frag.startswith('<div class="pmt-form">') and frag.endswith("</div>\n")
    assert "<html" not in frag and "body{" not in frag and ".pmt-form td.pts" in frag
