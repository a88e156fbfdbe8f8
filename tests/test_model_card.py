"""The PMT model card (issue 17 item 4)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import pmt
from pmt.errors import DataError
from pmt.report.model_card import model_card

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return pmt.load_model(ROOT / "models" / "pmt_ols.json")


@pytest.fixture(scope="module")
def spec():
    return pmt.DataSpec.load(ROOT / "data_spec" / "hbs.yaml")


def test_proxies_and_their_verifiability_come_from_the_spec(model, spec):
    card = model_card(model, name="OLS", spec=spec, data_source="HBS 2018",
                      population="all households", coverage=0.2, date="2026-01-31")
    text = card.to_markdown()
    unverifiable = [v for v in model.design.variables if not spec[v].verifiable]
    assert unverifiable  # the demo formula has self-reported shares
    assert f"{len(unverifiable)} of them cannot be verified" in text
    for v in unverifiable:
        assert f"| {v} | {spec[v].label} | no |" in text
    assert "Date: 2026-01-31" in text and pmt.__version__ in text
    # nothing measured: each section says so, and the limitations name the gaps
    assert text.count("Not measured") >= 3
    assert "Targeting performance was not measured." in text


def test_performance_parity_and_rounding_are_reported(model, spec):
    perf = pd.DataFrame({"metric": ["exclusion_error", "inclusion_error"],
                         "estimate": [0.412, 0.398], "lower": [0.38, 0.37],
                         "upper": [0.45, 0.43]})
    parity = pd.DataFrame({"block": ["region", "region"], "group": [7, 14],
                           "metric": ["exclusion_error"] * 2, "estimate": [0.40, 0.89],
                           "total": [0.41, 0.41], "ratio": [0.98, 2.17],
                           "ratio_lower": [0.8, 1.9], "ratio_upper": [1.2, 2.5],
                           "flag": ["", "worse"]})
    rounding = pd.DataFrame({"changed": [0.0, 0.01, 0.031]},
                            index=["model", "banded", "scorecard"])
    card = model_card(model, name="OLS", spec=spec, data_source="HBS 2018",
                      population="all households", coverage=0.2, performance=perf,
                      basis="in sample", parity=parity, rounding=rounding,
                      limitations=["Fitted before the 2020 price shock."])
    text = card.to_markdown()
    assert "| exclusion error | 41.2 % | 38.0 % to 45.0 % |" in text
    assert "In sample;" in text
    assert "Performance was measured in sample" in text
    assert "region = 14: exclusion error 89.0 % against 41.0 % for everyone (ratio 2.17" in text
    assert "Errors are significantly worse for: region = 14 (exclusion error)." in text
    assert "changes the eligibility of 3.1 % of people" in text
    assert "Fitted before the 2020 price shock." in text


def test_write_both_files(tmp_path, model, spec, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 UTC
    card = model_card(model, spec=spec, data_source="HBS", population="all",
                      coverage=0.25)
    paths = card.write(tmp_path, "model_card_ols")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_card_ols.html",
                                                          "model_card_ols.md"]
    html = paths["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and "<h2>Proxies</h2>" in html
    assert "2023-11-14" in paths["markdown"].read_text()


def test_bad_input(model):
    with pytest.raises(DataError, match="coverage"):
        model_card(model, data_source="x", population="y", coverage=20)
    with pytest.raises(DataError, match="metric"):
        model_card(model, data_source="x", population="y", coverage=0.2,
                   performance=pd.DataFrame({"value": [1]}))


def test_drift_and_decay_sections(model):
    drift = pd.DataFrame({"proxy": ["car", "tv"], "psi": [0.18, 0.01],
                          "flag": ["moderate", "none"]})
    decay = pd.DataFrame({"round": [2018, 2020], "metric": ["exclusion_error"] * 2,
                          "estimate": [0.50, 0.55], "change": [0.0, 0.05]})
    decay.attrs["per_year"] = {"exclusion_error": 0.025}
    text = model_card(model, data_source="x", population="y", coverage=0.2, drift=drift,
                      decay=decay).to_markdown()
    assert "1 of 2 proxies flagged (population stability index). Flagged: car." in text
    assert "Change per year: exclusion error +2.50 points." in text
    assert "Decay over time is unknown" not in text
