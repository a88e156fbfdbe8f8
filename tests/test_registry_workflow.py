"""Issue 17 in the report workflow: model cards beside every exported model, subgroup
parity out of sample, and the poverty-likelihood table of the scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.workflow import run_project

SEED, N = 4, 1500


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    config = {
        "data": {"source": "synthetic", "n_households": N, "seed": SEED},
        "models": {"OLS": {"type": "ols"}, "Probit": {"type": "probit"}},
        "roster": None, "hmt": None, "policies": [], "budget_neutral": False,
        "baselines": None, "subgroups": ["urban", "region"],
        "scorecard": {"model": "OLS", "max_points": 100},
        "evaluation": {"folds": 3, "replicates": 40, "n_jobs": 1},
    }
    paths = run_project(config, step="report", out=out, say=lambda *a, **k: None)
    return out, paths


def test_a_model_card_beside_every_exported_model(project):
    out, paths = project
    for stem in ("ols", "probit"):
        assert (out / "models" / f"pmt_{stem}.json").exists()
        md = (out / "models" / f"model_card_{stem}.md").read_text()
        html = (out / "models" / f"model_card_{stem}.html").read_text()
        assert md.startswith("# Model card: ") and "<h2>Subgroup parity</h2>" in html
    md = (out / "models" / "model_card_ols.md").read_text()
    # the card's performance is the out-of-sample comparison's, at the programme's coverage
    boot = pd.read_excel(out / "tables.xlsx", sheet_name="Out-of-sample comparison (all)")
    row = boot[(boot.model == "OLS") & (boot.metric == "exclusion_error")].iloc[0]
    assert "Out of sample;" in md
    assert (f"| exclusion error | {100 * row.estimate:.1f} % | {100 * row.lower:.1f} % to "
            f"{100 * row.upper:.1f} % |") in md
    assert "changes the eligibility of" in md  # the scorecard was built from OLS
    assert "No scorecard was made." in (out / "models" / "model_card_probit.md").read_text()


def test_parity_table_is_in_the_workbook_with_labels(project):
    out, _ = project
    parity = pd.read_excel(out / "tables.xlsx", sheet_name="Parity of errors - OLS")
    assert {"Region", "Urban area"} <= set(parity["block"].ffill())
    assert set(parity["metric"].dropna()) == {"exclusion_error", "inclusion_error"}
    assert parity["flag"].fillna("").isin(["", "worse", "better"]).all()


def test_likelihood_table_matches_an_independent_count(project):
    out, _ = project
    table = pd.read_excel(out / "tables.xlsx", sheet_name="Poverty likelihood by score",
                          index_col=0)  # the workbook writes "block / statistic" headings
    card = pmt.Scorecard.from_json(out / "models" / "scorecard.json")
    df = pmt.datasets.synthetic_hbs(N, seed=SEED)
    scores = card.score(df)["score"].to_numpy(dtype=float)
    v = (df.weight * df.hh_size).to_numpy()
    line = float(df.poverty_line.iloc[0])
    poor = df.pcc.to_numpy() < line
    first = table.iloc[0]
    lo, hi = first["band / score_from"], first["band / score_to"]
    inside = (scores > lo) & (scores <= hi)  # right-closed bands, the first open below
    assert first["1 x line / likelihood"] == pytest.approx(
        np.average(poor[inside], weights=v[inside]), abs=1e-9)
    accuracy = pd.read_excel(out / "tables.xlsx",
                             sheet_name="Poverty likelihood - accuracy…")
    assert list(accuracy.columns[:5]) == ["line", "estimated", "true", "difference", "bias"]
    # the held-out half: PSU folds of the evaluation seed (0), stream 1
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    held_out = pmt.evaluate.psu_folds(sv, 2, np.random.SeedSequence([0, 1])) != 0
    true = accuracy.set_index("line").loc["1 x line", "true"]
    assert true == pytest.approx(np.average(poor[held_out], weights=v[held_out]), abs=1e-12)


def test_decay_over_survey_rounds_in_the_report(tmp_path):
    """`evaluation.rounds`: the models fitted on the first round lose accuracy on rounds
    whose asset returns were planted to weaken (pmt.datasets.synthetic_rounds)."""
    data = pmt.datasets.synthetic_rounds(4000, years=(2018, 2020, 2022), decay=0.6)
    data.to_csv(tmp_path / "rounds.csv", index=False)
    config = {
        "data": {"path": str(tmp_path / "rounds.csv")}, "spec": "hbs",
        "survey": {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"},
        "welfare": {"column": "pcc", "line": "poverty_line"},
        "proxies": pmt.datasets.PMT_FORMULA.split("~", 1)[1].strip(),
        "models": {"OLS": {"type": "ols"}},
        "policies": [], "budget_neutral": False, "baselines": None, "subgroups": None,
        "scorecard": None,
        "evaluation": {"folds": 3, "replicates": 40, "n_jobs": 1, "rounds": "year"},
    }
    out = tmp_path / "out"
    run_project(config, step="compare", out=out, say=lambda *a, **k: None)
    table = pd.read_excel(out / "tables.xlsx", sheet_name="Decay over survey rounds")
    rows = table.ffill()
    exclusion = rows[rows["metric"] == "exclusion_error"].set_index("round")
    assert list(exclusion.index) == [2018, 2020, 2022]
    assert exclusion.loc[2022, "change"] > 0 and exclusion.loc[2022, "change_lower"] > 0
    assert (out / "figures" / "decay_by_round.png").exists()
    card = (out / "models" / "model_card_ols.md").read_text()
    assert "## Decay over survey rounds" in card and "Change per year: exclusion error +" in card
