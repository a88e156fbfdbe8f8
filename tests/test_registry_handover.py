"""Issue 17, done when: `pmt drift`, `pmt explain` and the exports run on the demo's model
and a registry built from the embedded survey with planted drift and bunching, and detect
both (the committed demo artifacts in models/ are what `make demo` writes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.cli import main

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "pmt_ols.json"
SCORECARD = ROOT / "models" / "scorecard.json"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handover")
    card = pmt.Scorecard.from_json(SCORECARD)
    registry = pmt.datasets.synthetic_registry(card, n_households=20_000, seed=3,
                                               bunching=0.5, cutoff=card.cutoff)
    clean = pmt.datasets.synthetic_registry(card, n_households=20_000, seed=3, drift=False)
    survey = pmt.datasets.synthetic_hbs(20_000, seed=11)  # another draw of the survey
    paths = {"registry": folder / "registry.csv", "clean": folder / "clean.csv",
             "survey": folder / "survey.csv"}
    registry.to_csv(paths["registry"], index=False)
    clean.to_csv(paths["clean"], index=False)
    survey.to_csv(paths["survey"], index=False)
    return folder, paths, registry, clean, card


def test_drift_cli_flags_the_planted_proxies_only(files, capsys):
    folder, paths, registry, clean, _ = files
    out = folder / "drift"
    assert main(["drift", str(MODEL), str(paths["registry"]), "--survey",
                 str(paths["survey"]), "--weights", "weight", "--region", "region",
                 "--out", str(out)]) == 0
    assert (out / "drift.html").exists() and (out / "drift.xlsx").exists()
    table = pd.read_excel(out / "drift.xlsx", sheet_name=None)
    proxies = next(t for name, t in table.items() if "proxy" in map(str, t.columns))
    flagged = set(proxies.loc[proxies["flag"].fillna("none") != "none", "proxy"])
    planted = {"car", "region", "rooms_cat"} & set(proxies["proxy"])
    assert planted and planted <= flagged
    assert flagged <= set(registry.attrs["drifted"])  # nothing else is flagged
    # the same registry before the planted drift: no proxy flagged
    report = pmt.drift(MODEL, clean, pmt.datasets.synthetic_hbs(20_000, seed=11),
                       weights="weight")
    assert (report["flag"] == "none").all()


def test_density_test_detects_the_bunching_only_where_it_was_planted(files):
    _, _, registry, clean, card = files
    assert registry.attrs["manipulated"] > 100
    bunched = card.score(registry)["score"].to_numpy(dtype=float)
    honest = card.score(clean)["score"].to_numpy(dtype=float)
    found = pmt.density_test(bunched, card.cutoff)
    assert found.p_value < 0.001 and found.statistic < 0  # fewer just above than below
    assert pmt.density_test(honest, card.cutoff).p_value > 0.05
    summary = pmt.manipulation_summary(bunched, card.cutoff, width=3)
    assert summary.loc["just below", "share"] > summary.loc["just above", "share"]


def test_explain_cli_on_a_registry_household(files, capsys):
    _, paths, registry, _, card = files
    scores = card.score(registry)["score"]
    hid = str(registry.loc[(scores >= card.cutoff).to_numpy(), "hh_id"].iloc[0])
    assert main(["explain", str(SCORECARD), "--record", str(paths["registry"]), "--id", hid,
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert str(result["id"]) == hid and result["eligible"] is False
    assert main(["explain", str(SCORECARD), "--record", str(paths["registry"]), "--id",
                 "R999999"]) == 2
    assert "R999999" in capsys.readouterr().err


def test_export_round_trip_on_the_registry(files):
    folder, _, registry, _, card = files
    path = pmt.export_scorecard(card, format="openspp", path=folder / "card.json")
    doc = json.loads(path.read_text())
    indicators = doc["indicators"]
    total = np.zeros(len(registry))
    for ind in indicators:
        values = registry[ind["field"]]
        if ind["per"]:  # a ratio: field / per, 0 when per is 0 (as the document says)
            per = registry[ind["per"]].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                values = pd.Series(np.where(per > 0, values / per, 0.0))
        points = np.full(len(registry), np.nan)
        for answer in ind["answers"]:
            if "code" in answer:
                hit = values.astype(str).to_numpy() == str(answer["code"])
            else:
                r = answer["range"]
                x = values.to_numpy(dtype=float)
                hit = np.ones(len(x), dtype=bool)
                if r["min"] is not None:
                    hit &= (x >= r["min"]) if r["min_inclusive"] else (x > r["min"])
                if r["max"] is not None:
                    hit &= (x <= r["max"]) if r["max_inclusive"] else (x < r["max"])
            points[hit] = answer["points"]
        total += points
    expected = card.score(registry)["score"].to_numpy(dtype=float)
    np.testing.assert_array_equal(total, expected)
