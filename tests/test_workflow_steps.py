"""Issue 16: the workflow's steps compute and return their tables; the report's words
(titles, notes, captions, which tables are shown) live in pmt.report.sections."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pmt.config import parse_config
from pmt.report import sections
from pmt.report.outputs import Outputs
from pmt.workflow import (
    POOR,
    SummaryResult,
    Verdict,
    WelfareResult,
    prepare_run,
    step_hmt,
    step_models,
    step_scorecard,
    step_simulate,
    step_subgroups,
    step_summary,
    step_welfare,
)


def _quiet(*args, **kwargs) -> None:
    return None


@pytest.fixture(scope="module")
def run():
    cfg = parse_config({
        "data": {"source": "synthetic", "n_households": 1500, "seed": 4},
        "models": {"OLS": {"type": "ols"}, "Probit": {"type": "probit"}},
        "roster": None, "hmt": None, "scorecard": None, "policies": [],
        "budget_neutral": False, "baselines": None, "subgroups": None,
        "evaluation": {"folds": 3, "replicates": 20, "n_jobs": 1},
    })
    return prepare_run(cfg, say=_quiet)


def _weighted_quantile(x, w, q) -> float:
    """DESIGN.md section 4: the smallest x whose cumulative weight share is >= q."""
    order = np.argsort(x, kind="stable")
    share = np.cumsum(w[order]) / w.sum()
    return float(x[order][np.searchsorted(share, q - 1e-12)])


def test_summary_step_returns_the_survey_numbers(run):
    result = step_summary(run)
    df = run.df
    w = (df["weight"] * df["hh_size"]).to_numpy(dtype=float)
    y = df["pcc"].to_numpy(dtype=float)
    s = result.survey
    assert s["households (sample)"] == len(df)
    assert s["PSUs"] == df["psu"].nunique()
    assert s["population (persons)"] == round(w.sum())
    assert s["mean welfare"] == pytest.approx(np.average(y, weights=w), rel=1e-12)
    assert s["poverty line"] == run.line
    assert s["welfare P50 (median)"] == pytest.approx(_weighted_quantile(y, w, 0.5), rel=1e-12)
    fgt0 = np.average(y < run.line, weights=w)
    assert result.poverty.loc["FGT0", "estimate"] == pytest.approx(fgt0, rel=1e-12)
    # without a roster or dropped households, those tables are absent
    assert result.roster is None and result.dropped is None


def test_summary_section_holds_the_words_and_the_step_numbers(run):
    result = step_summary(run)
    out = Outputs()
    sections.summary_section(out, result, run)
    assert [s.title for s in out.sections] == ["Survey, welfare and poverty"]
    assert list(out.tables) == ["Survey summary", "Poverty"]
    assert out.tables["Poverty"] is result.poverty  # the report shows, it does not compute
    assert "person-weighted" in out.notes["Survey summary"]
    assert "linearised with PSU clustering" in out.notes["Poverty"]
    kinds = [kind for kind, _, _ in out.sections[0].items]
    assert kinds == ["table", "note", "table", "note"]


def test_models_step_targets_the_poorest_predicted(run):
    result = step_models(run)
    assert list(result.models) == ["OLS", "Probit"]
    assert result.first == "OLS" and result.predicts_welfare("OLS")
    assert not result.predicts_welfare("Probit")
    # OLS in sample by hand: select the poorest headcount share of predicted welfare
    w = run.sv.person_weight
    pred = result.predictions["OLS"]
    cut = _weighted_quantile(pred, w, run.headcount)
    selected = pred <= cut
    poor = run.df[POOR].to_numpy() == 1
    exclusion = 1 - np.sum(w * poor * selected) / np.sum(w * poor)
    assert result.targeting.loc["OLS", "exclusion_error"] == pytest.approx(exclusion, abs=1e-12)
    # the coverage by decile has a column per model and the AUC lies in (0.5, 1]
    assert list(result.coverage.columns) == ["OLS", "Probit"]
    assert ((result.auc > 0.5) & (result.auc <= 1)).all()

    out = Outputs()
    out.section("before")
    sections.models_sections(out, result, run)
    titles = [s.title for s in out.sections]
    assert titles[-2:] == ["Models", "Targeting accuracy in sample"]
    shown = {caption for s in out.sections for kind, _, caption in s.items if kind == "table"}
    # coefficient tables of each model go to the workbook only
    assert "Coefficients: OLS" in out.tables and "Coefficients: OLS" not in shown
    assert "In-sample targeting (rate rule)" in shown
    assert set(out.figures) >= {"overlap_heatmap", "coverage_by_decile", "predicted_vs_actual"}
    assert "tradeoff_curves" not in out.figures  # drawn out of sample when compared


def test_optional_steps_return_none_when_the_config_leaves_them_out(run):
    predictions = pd.DataFrame({"OLS": np.zeros(len(run.df))})
    assert step_welfare(run, predictions, "OLS") is None
    no_groups = replace(run, cfg=replace(run.cfg, subgroups=()))
    assert step_subgroups(no_groups, {"OLS": None}, predictions) is None
    assert step_hmt(run, None) is None
    assert step_scorecard(run, {}, run.cfg.out_dir) is None
    assert step_simulate(run, {}) is None


def _verdict(lower: float) -> Verdict:
    best = pd.Series({"model": "OLS", "estimate": 0.301, "lower": 0.28, "upper": 0.322})
    runner = pd.Series({"model": "Probit", "estimate": 0.312, "lower": 0.29, "upper": 0.33})
    diff = pd.Series({"estimate": 0.011, "lower": lower, "upper": 0.024})
    return Verdict(line="poorest 20.1%", level=0.9, best=best, runner_up=runner,
                   difference=diff)


def test_verdict_text_says_whether_the_lead_is_within_the_interval():
    tight = sections.verdict_text(_verdict(-0.002))
    assert tight.startswith("Verdict: at the programme's coverage (poorest 20.1% of people), "
                            "OLS has the lowest out-of-sample exclusion error, 30.1% "
                            "(90% CI 28.0% to 32.2%).")
    assert ("Probit is 1.1 percentage points behind (paired 90% CI -0.2 to 2.4)" in tight)
    assert "within the paired interval" in tight
    clear = sections.verdict_text(_verdict(0.003))
    assert "larger than the paired interval" in clear
    assert sections.verdict_text(None) == ""
    alone = Verdict(line="poorest 20.1%", level=0.9, best=_verdict(0).best)
    assert alone.model == "OLS" and sections.verdict_text(alone).endswith("32.2%).")


def test_welfare_words_compare_the_best_model_with_the_best_baseline():
    gap = pd.DataFrame({"estimate": [-0.012, -0.008], "lower": [-0.014, -0.010],
                        "upper": [-0.010, -0.006], "kind": ["model", "baseline"]},
                       index=pd.Index(["OLS", "Universal transfer"], name="scheme"))
    diff = pd.Series({"estimate": 0.004, "lower": 0.001, "upper": 0.007})
    result = WelfareResult(table=pd.DataFrame(), key=pd.DataFrame(), reference="OLS",
                           poverty_gap=gap, best="OLS", best_baseline="Universal transfer",
                           difference=diff)
    words = sections.welfare_words(result, 0.9)
    assert words == ("At the same budget, OLS lowers the poverty gap (FGT1) by 1.20 points "
                     "against 0.80 for the best baseline (Universal transfer): an advantage of "
                     "0.40 points (paired 90% CI 0.10 to 0.70).")
    result.difference = diff.replace(0.001, -0.001)
    assert sections.welfare_words(result, 0.9).endswith(
        "within the paired interval: the data do not show that the model beats the simple rule.")
    result.difference = None
    assert sections.welfare_words(result, 0.9) == ""


def test_executive_summary_from_the_run_alone(run):
    sec = sections.executive_summary(run)
    texts = [payload for kind, payload, _ in sec.items if kind == "text"]
    assert sec.title == "Summary"
    assert f"{run.headcount:.1%} of the population" in texts[0]
    assert f"{len(run.df):,} households in the sample" in texts[0]
    assert texts[-1].startswith("Still to decide: the coverage or budget of the programme")
    assert texts[-1].endswith("the benefit design: no policy was simulated.")


def test_old_names_still_import_from_the_workflow():
    import pmt.report.outputs as outputs
    import pmt.workflow as workflow

    assert workflow.Outputs is outputs.Outputs and workflow.Section is outputs.Section
    assert workflow.MAIN_SECTIONS is outputs.MAIN_SECTIONS
    assert SummaryResult.__module__ == "pmt.workflow"
