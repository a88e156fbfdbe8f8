"""Interactions, powers and logs in formulas (issue 16 item 4): parsed, never evaluated."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import statsmodels.formula.api as smf

import pmt
from pmt.artifacts import load_model, save_model
from pmt.errors import ArtifactError, ModelError
from pmt.models.formula import Design, parse_formula
from pmt.registry_scoring import score_file
from pmt.scorecard import Scorecard

log = np.log  # for statsmodels' evaluation of the reference formulas that write log(x)

FORMULA = "log_pcc ~ rooms*urban + C(region):urban + I(rooms**2) + np.log(hh_size)"


@pytest.fixture(scope="module")
def hbs():
    return pmt.datasets.synthetic_hbs(2000, seed=0)


@pytest.fixture(scope="module")
def fitted(hbs):
    return pmt.ols(FORMULA, hbs, weights="weight")


def _against_statsmodels(result, formula, df):
    ref = smf.wls(formula, df, weights=df["weight"]).fit().params
    # patsy keeps the contrast in the name (C(g, Treatment(reference=3))[T.1]); pmt does not
    ref.index = [re.sub(r"C\((\w+), Treatment\([^)]*\)\)", r"C(\1)", n) for n in ref.index]
    assert sorted(result.params.index) == sorted(ref.index)
    got = result.params.reindex(ref.index)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-8)


def test_coefficients_match_statsmodels(fitted, hbs):
    _against_statsmodels(fitted, FORMULA, hbs)
    assert fitted.params.index[:4].tolist() == ["Intercept", "rooms", "urban", "rooms:urban"]
    assert "C(region)[T.2]:urban" in fitted.params.index
    assert {"I(rooms ** 2)", "np.log(hh_size)"} <= set(fitted.params.index)


@pytest.mark.parametrize(
    "formula",
    [
        "log_pcc ~ C(heating)*C(hh_size_cat) + rooms",
        "log_pcc ~ urban + C(heating, Treatment(reference=3)):urban + log(hh_size) + I(rooms**3)",
        "log_pcc ~ np.log1p(n_children_0_5)*female_head + rooms:hh_size:urban + C(region)",
    ],
)
def test_more_terms_match_statsmodels(hbs, formula):
    r = pmt.ols(formula, hbs, weights="weight")
    _against_statsmodels(r, formula, hbs)


def test_artifact_round_trip_and_new_data(fitted, tmp_path):
    path = tmp_path / "m.json"
    save_model(fitted, path)
    doc = json.loads(path.read_text())
    terms = doc["model"]["design"]["terms"]
    assert [t["name"] for t in terms] == fitted.params.index.tolist()
    assert {t["kind"] for t in terms} == {"intercept", "numeric", "interaction", "transform"}
    m = load_model(path)
    assert m.design.to_dict() == fitted.design.to_dict()
    new = pmt.datasets.synthetic_hbs(700, seed=5)
    np.testing.assert_array_equal(m.predict(new).to_numpy(), fitted.predict(new).to_numpy())
    # the names round-trip through the parser: the saved formula rebuilds the same design
    again = Design.from_formula(doc["model"]["design"]["formula"], pmt.datasets.synthetic_hbs(
        2000, seed=0))
    assert again.term_names == fitted.design.term_names


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[3]["factors"][0].update(transform="exp"),  # outside the grammar
        lambda t: t[3]["factors"][0].update(variable="hh_size"),  # not what the formula says
        lambda t: t[-1]["factors"][0].update(transform="log1p"),
        lambda t: t[-2].update(name="I(rooms ** 3)"),
        lambda t: t[-2]["factors"][0].update(power=3),
        lambda t: t[-2].pop("factors"),
        lambda t: t[1].update(factors=[{"variable": "rooms", "transform": "identity",
                                        "power": None, "level": None}]),
    ],
)
def test_tampered_artifact_is_rejected(fitted, tmp_path, change):
    path = tmp_path / "m.json"
    save_model(fitted, path)
    doc = json.loads(path.read_text())
    change(doc["model"]["design"]["terms"])
    path.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError):
        load_model(path)


def test_tampered_formula_is_rejected(fitted, tmp_path):
    path = tmp_path / "m.json"
    save_model(fitted, path)
    doc = json.loads(path.read_text())
    text = json.dumps(doc).replace("np.log(hh_size)", "exp(hh_size)")
    path.write_text(text)
    with pytest.raises(ArtifactError, match="exp"):
        load_model(path)


def test_expansion_and_deduplication():
    p = parse_formula("y ~ a*b*c + b:a + x:x + C(g)*z")
    assert [n for _, n in p.order] == ["a", "b", "c", "a:b", "a:c", "b:c", "a:b:c", "x", "g",
                                       "z", "C(g):z"]
    assert p.variables == ["y", "a", "b", "c", "x", "g", "z"]
    assert p.categorical_variables == ["g"]
    assert parse_formula("y ~ log(x) + np.log(x)").order == [("compound", "log(x)")]


@pytest.mark.parametrize(
    "formula, match",
    [
        ("y ~ exp(x)", "function 'exp' is not supported"),
        ("y ~ x**2", r"inside I\(\)"),
        ("y ~ I(x**2 + 1)", "I\\(\\) takes only a power"),
        ("y ~ I(x**1)", "from 2 to 9"),
        ("y ~ np.log(x + 1)", "not supported"),
        ("y ~ __import__('os'):x", "function '__import__' is not supported"),
        ("y ~ a: + b", "empty factor"),
        ("y ~ C(g):x", "lower-order term 'x'"),
        ("y ~ C(g):C(h) + C(g)", "lower-order term 'C\\(h\\)'"),
        ("y ~ C(g, base=1)*x + C(g, base=2)", "different base levels"),
    ],
)
def test_rejected_terms(formula, match):
    with pytest.raises(ModelError, match=match):
        parse_formula(formula)


def test_log_of_non_positive_values_names_column_and_rows(hbs):
    df = hbs.copy()
    df.loc[[4, 9], "hh_size"] = 0
    with pytest.raises(ModelError, match=r"np.log\(hh_size\).*'hh_size'.*2 row.*4"):
        pmt.ols(FORMULA, df, weights="weight")
    r = pmt.ols(FORMULA, hbs, weights="weight")
    with pytest.raises(ModelError, match="hh_size"):
        r.predict(df)


def test_base_level_in_interaction_and_unknown_level(hbs):
    r = pmt.ols("log_pcc ~ urban + C(region, base=3):urban", hbs, weights="weight")
    assert "C(region)[T.1]:urban" in r.params.index
    assert "C(region)[T.3]:urban" not in r.params.index
    bad = hbs.head(20).copy()
    bad.loc[bad.index[2], "region"] = 99
    with pytest.raises(ModelError, match="99"):
        r.predict(bad)


def test_quantreg_and_probit_accept_compound_terms(hbs):
    df = hbs.assign(poor=(hbs["log_pcc"] < hbs["log_pcc"].quantile(0.3)).astype(int))
    q = pmt.quantreg("log_pcc ~ rooms*urban + np.log(hh_size)", df, q=0.4, weights="weight")
    assert "rooms:urban" in q.params.index
    p = pmt.probit("poor ~ rooms*urban + I(rooms**2)", df, weights="weight")
    assert np.isfinite(p.predict(df)).all()


def test_scorecard_and_registry_refuse_compound_terms(fitted, hbs, tmp_path):
    with pytest.raises(ModelError, match=r"term 'rooms:urban' \(an interaction\).*own column"):
        Scorecard.from_model(fitted, data=hbs, weights="weight")
    src = tmp_path / "reg.parquet"
    hbs.head(50).to_parquet(src, index=False)
    with pytest.raises(ModelError, match=r"score_file cannot use .*'rooms:urban'"):
        score_file(fitted, src, tmp_path / "out.parquet")
    path = tmp_path / "m.json"
    save_model(fitted, path)
    with pytest.raises(ModelError, match="rooms:urban"):
        score_file(str(path), src, tmp_path / "out.parquet")
    only_log = pmt.ols("log_pcc ~ rooms + np.log(hh_size)", hbs, weights="weight")
    with pytest.raises(ModelError, match=r"'np.log\(hh_size\)' \(a transformed column\)"):
        score_file(only_log, src, tmp_path / "out.parquet")


def test_existing_formulas_unchanged(hbs):
    f = "log_pcc ~ C(region, base=2) + rooms + urban - 1"
    d = Design.from_formula(f, hbs)
    assert all(t.factors is None for t in d.terms)
    assert all("factors" not in t for t in d.to_dict()["terms"])
    p = parse_formula(f)
    assert p.compound == {} and p.bases == p.categorical == {"region": 2}


@pytest.mark.parametrize("select", ["stepwise", "lasso_select"])
def test_variable_selection_refuses_compound_terms_by_name(select):
    df = pmt.datasets.synthetic_hbs(1500, seed=0)
    with pytest.raises(pmt.ModelError, match="rooms:urban"):
        getattr(pmt, select)("log_pcc ~ rooms*urban + car", df, weights="weight")
