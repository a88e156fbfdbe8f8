"""The embedded survey's person roster end to end: proxies from members, nuclear families,
a family-unit policy (the Uzbek draft regulation) and the project workflow's tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pmt.datasets import synthetic_hbs, synthetic_roster
from pmt.roster import example_proxies_path, families, household_proxies
from pmt.simulate import FamilyUnits, Policy, run_policy_file, simulate, with_families
from pmt.survey import Survey
from pmt.workflow import packaged_example

MW = 184_300  # the policy file's minimum wage
FAMILY_COLUMNS = {
    "family_size": {"count": "all"},
    "family_income": {"sum": ["inc_wages", "inc_pensions", "inc_alimony", "inc_business"]},
    "fam_children_0_13": {"count": "age < 14"},
    "fam_disabled": {"count": "disabled == 1"},
}


@pytest.fixture(scope="module")
def survey():
    hh = synthetic_hbs(4000, seed=1)
    return hh, synthetic_roster(hh, seed=1)


def test_example_proxies_reproduce_the_household_file(survey):
    hh, roster = survey
    out = household_proxies(roster, example_proxies_path(), household="hh_id", households=hh)
    shared = [c for c in out.columns if c in hh.columns]
    assert len(shared) >= 25
    for c in shared:
        np.testing.assert_allclose(out[c].to_numpy(dtype=float), hh[c].to_numpy(dtype=float),
                                   rtol=1e-12, err_msg=c)
    # and the new ones, by pandas: the highest education of members 15 and over
    adults = roster[roster["age"] >= 15].astype({"edu": int})
    expected = adults.groupby("hh_id")["edu"].max().reindex(hh["hh_id"]).fillna(0)
    np.testing.assert_array_equal(out["max_edu"].to_numpy(), expected.to_numpy())


def _family_survey(hh, roster):
    ids = families(roster, household="hh_id", person="line", codes="uzbekistan",
                   relation="relation", spouse="spouse_line", mother="mother_line",
                   father="father_line", age="age", marital="marital", married_codes=[2])
    table = household_proxies(roster.assign(family_id=ids.to_numpy()),
                              {"proxies": FAMILY_COLUMNS}, household="hh_id",
                              by=["hh_id", "family_id"]).reset_index()
    # the same columns summed over the whole household, for the household-unit rule
    whole = household_proxies(roster, {"proxies": {k: v for k, v in FAMILY_COLUMNS.items()
                                                   if k != "family_size"}},
                              household="hh_id", households=hh)
    data = hh.assign(**{c: whole[c].to_numpy() for c in whole.columns})
    sv = Survey(data, weight="weight", size="hh_size", strata="stratum", psu="psu")
    return sv, table, FamilyUnits.build(data, table, household="hh_id")


def test_uzbek_draft_regulation_assessing_families_makes_more_eligible(survey):
    """World Bank (2019), section 3.2: assessed family by family, several families of one
    household qualify; more families than households are eligible and more people and
    budget than the same rule applied to households."""
    hh, roster = survey
    sv, table, units = _family_survey(hh, roster)
    path = packaged_example("policy_uzbek_family.yaml")
    by_family = run_policy_file(path, data=with_families(sv, units))
    counts = by_family.tables["families"].iloc[:, 0]
    # eligibility of each family by hand, from the family table
    eligible = ((table["family_income"] / table["family_size"] < 1.5 * MW)
                & ((table["fam_children_0_13"] > 0) | (table["fam_disabled"] > 0))).to_numpy()
    w = hh.set_index("hh_id")["weight"].reindex(table["hh_id"]).to_numpy()
    np.testing.assert_allclose(counts["eligible_families"], np.sum(w * eligible), rtol=1e-12)
    assert counts["eligible_families_sample"] == eligible.sum()
    hh_eligible = pd.Series(eligible).groupby(table["hh_id"].to_numpy()).any()
    np.testing.assert_allclose(counts["eligible_households"],
                               np.sum(hh.set_index("hh_id")["weight"][hh_eligible[
                                   hh_eligible].index]), rtol=1e-12)
    assert counts["eligible_families"] > counts["eligible_households"]
    # Kazakhstan 2017's statistic: eligible families living with other families
    per_hh = table.groupby("hh_id")["family_id"].transform("size").to_numpy()
    np.testing.assert_allclose(counts["eligible_families_in_multi_family_households"],
                               np.sum(w * eligible * (per_hh > 1)) / np.sum(w * eligible),
                               rtol=1e-12)
    assert counts["households_with_several_eligible_families"] > 0

    raw = Policy.from_yaml(path).to_dict()
    raw["unit"] = "household"
    raw.pop("family_size", None)
    by_household = simulate(sv, Policy.from_dict(raw), welfare="pcc", line="poverty_line",
                            existing="social_assistance", welfare_is_pre_transfer=True)
    people_family = by_family.tables["counts"].loc["eligible_people", "value"]
    people_household = by_household.tables["counts"].loc["eligible_people", "value"]
    assert people_family > people_household
    assert (by_family.tables["budget"].loc["annual", "value"]
            > by_household.tables["budget"].loc["annual", "value"])
    # benefits paid to families are summed to their households
    paid = by_family.outcome.units["benefit"].to_numpy()
    np.testing.assert_allclose(units.to_households(paid), by_family.outcome.benefit, rtol=1e-12)


def test_project_with_a_roster_reports_families_and_persons(tmp_path):
    from pmt.config import DEMO_CONFIG
    from pmt.workflow import run_project

    cfg = {"data": {"source": "synthetic", "n_households": 2000, "seed": 0},
           "models": {"OLS": {"type": "ols"}},
           "evaluation": {"folds": 3, "replicates": 20, "n_jobs": 1},
           "policies": ["policy_uzbek_family.yaml"], "budget_neutral": False,
           "hmt": None, "roster": DEMO_CONFIG["roster"]}
    paths = run_project(cfg, step="report", out=tmp_path / "out", say=lambda *a, **k: None)
    sheets = pd.read_excel(paths["tables"], sheet_name=None, index_col=0)
    roster = sheets["Person roster"]["value"]
    hh = synthetic_hbs(2000, seed=0)
    assert roster["persons (sample)"] == hh["hh_size"].sum()
    assert roster["households (sample)"] == len(hh)
    assert roster["families (sample)"] > len(hh)
    name = next(s for s in sheets if s.endswith("- families"))
    families_table = sheets[name].iloc[:, 0]
    assert families_table["families_sample"] == roster["families (sample)"]
    persons = sheets[next(s for s in sheets if s.endswith("- persons"))]
    assert {"all persons", "children (0-17)", "elderly (60+)", "women"} <= set(persons.index)
    assert persons.loc["all persons", "persons_sample"] == hh["hh_size"].sum()
    assert "coverage_family" in persons.columns


def _files(folder, n=1500):
    """The embedded survey as a user's two labelled Stata files, with the packaged specs."""
    from pmt.io import write_data
    from pmt.roster import roster_spec_path
    from pmt.workflow import packaged_spec_path

    hh = synthetic_hbs(n, seed=2)
    roster = synthetic_roster(hh, seed=2)
    with warnings.catch_warnings():  # Stata's 80-byte variable labels: one is shortened
        warnings.filterwarnings("ignore", message=".*longer than the format allows",
                                category=UserWarning)
        write_data(hh, folder / "hh.dta", spec=packaged_spec_path("hbs"))
    write_data(roster, folder / "persons.dta", spec=roster_spec_path())
    (folder / "hh.yaml").write_bytes(packaged_spec_path("hbs").read_bytes())
    (folder / "persons.yaml").write_bytes(roster_spec_path().read_bytes())
    return hh, roster


def _config(folder, **extra) -> str:
    import yaml

    from pmt.config import DEMO_CONFIG

    roster = {**DEMO_CONFIG["roster"], "data": {"path": "persons.dta"}, "spec": "persons.yaml"}
    cfg = {"data": {"path": "hh.dta"}, "spec": "hh.yaml",
           "welfare": {"column": "pcc", "line": "poverty_line"},
           "proxies": "C(region) + hh_size + car + dependency_ratio + C(max_edu)",
           "models": {"OLS": {"type": "ols"}},
           "evaluation": {"folds": 3, "replicates": 20, "n_jobs": 1},
           "policies": ["policy_uzbek_family.yaml"], "budget_neutral": False,
           "roster": roster, **extra}
    (folder / "project.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(folder / "project.yaml")


def test_cli_project_with_person_file_pays_families(tmp_path, capsys):
    from pmt.cli import main

    hh, roster = _files(tmp_path)
    code = main(["report", _config(tmp_path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    sheets = pd.read_excel(tmp_path / "out" / "tables.xlsx", sheet_name=None, index_col=0)
    summary = sheets["Person roster"]["value"]
    assert summary["persons in the roster file"] == len(roster)
    ids = families(roster, household="hh_id", person="line", codes="uzbekistan",
                   relation="relation", spouse="spouse_line", mother="mother_line",
                   father="father_line", age="age", marital="marital", married_codes=[2])
    assert summary["families (sample)"] == len(pd.DataFrame({"h": roster["hh_id"],
                                                             "f": ids}).drop_duplicates())
    fam = sheets[next(s for s in sheets if s.endswith("- families"))].iloc[:, 0]
    assert fam["eligible_families"] > fam["eligible_households"]
    # the model used the proxies built from members
    import pmt

    model = pmt.load_model(tmp_path / "out" / "models" / "pmt_ols.json")
    assert "dependency_ratio" in model.params.index
    assert any(t.startswith("C(max_edu)") for t in model.params.index)


def test_cli_relationship_code_the_spec_does_not_know(tmp_path, capsys):
    from pmt.cli import main
    from pmt.io import write_data

    hh, roster = _files(tmp_path)
    bad = roster.copy()
    bad.loc[5, "relation"] = 14  # not an L2CU code
    write_data(bad, tmp_path / "persons.dta")
    code = main(["fit", _config(tmp_path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "relation" in err and "14" in err
    assert f"{bad.loc[5, 'hh_id']}/{bad.loc[5, 'line']}" in err  # named by household/person
