"""Expected signs on data-spec columns and the check of fitted coefficients against them."""

import warnings

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.models.signs import check_signs

SPEC_YAML = """
name: signs
columns:
  hh_id: {type: id, role: id}
  car: {type: binary, role: proxy, label: Owns a car, expected_sign: "+"}
  rooms: {type: count, role: proxy, expected_sign: positive}
  share_children: {type: continuous, role: proxy, expected_sign: "-"}
  land: {type: continuous, role: proxy, expected_sign: -1}
  tv: {type: binary, role: proxy}
  fuel:
    type: categorical
    role: proxy
    label: Cooking fuel
    codes: {1: Electricity, 2: Gas, 4: Firewood}
    expected_sign: {4: "-", 2: "+"}
"""


@pytest.fixture(scope="module")
def hbs():
    return pmt.datasets.synthetic_hbs(n_households=6000, seed=11)


# --- the spec key -------------------------------------------------------------------------------
def test_spec_parses_normalises_and_round_trips(tmp_path):
    path = tmp_path / "signs.yaml"
    path.write_text(SPEC_YAML, encoding="utf-8")
    spec = pmt.DataSpec.load(path)
    assert spec["car"].expected_sign == "+"
    assert spec["rooms"].expected_sign == "+"
    assert spec["share_children"].expected_sign == "-"
    assert spec["land"].expected_sign == "-"
    assert spec["tv"].expected_sign is None
    assert spec["fuel"].expected_sign == {4: "-", 2: "+"}
    d = spec.to_dict()["columns"]
    assert d["car"]["expected_sign"] == "+" and "expected_sign" not in d["tv"]
    assert d["fuel"]["expected_sign"] == {4: "-", 2: "+"}
    again = tmp_path / "again.yaml"
    spec.to_yaml(again)
    assert "'-'" in again.read_text(encoding="utf-8")  # written quoted: valid YAML
    back = pmt.DataSpec.load(again)
    assert back.hash == spec.hash and back["fuel"].expected_sign == {4: "-", 2: "+"}
    # a sign is part of the spec's content, hence of its hash
    raw = spec.to_dict()
    raw["columns"]["car"]["expected_sign"] = "-"
    assert pmt.DataSpec.from_dict(raw).hash != spec.hash


def test_spec_without_signs_keeps_its_hash():
    spec = pmt.DataSpec.load("data_spec/hbs.yaml")
    assert all(spec[c].expected_sign is None for c in spec.columns)
    assert all("expected_sign" not in c for c in spec.to_dict()["columns"].values())


@pytest.mark.parametrize(
    ("column", "match"),
    [
        ({"type": "binary", "role": "proxy", "expected_sign": "up"},
         r"column 'x', key 'expected_sign': 'up' is not a sign; write \"\+\" or \"-\""),
        ({"type": "count", "role": "proxy", "expected_sign": {1: "+"}},
         r"a mapping of codes is for categorical columns; a count column takes one sign"),
        ({"type": "categorical", "role": "proxy", "expected_sign": "+"},
         r"a categorical column takes a mapping code -> sign"),
        ({"type": "categorical", "role": "proxy", "codes": {1: "A", 2: "B"},
          "expected_sign": {3: "+"}},
         r"code 3 is not among the column's codes \(1, 2\)"),
        ({"type": "categorical", "role": "proxy", "expected_sign": {1: "big"}},
         r"code 1 has sign 'big'"),
        ({"type": "id", "role": "id", "expected_sign": "+"},
         r"an id column is not a proxy and takes no expected sign"),
        ({"type": "binary", "role": "proxy", "expected_sign": True},
         r"True is not a sign"),
    ],
)
def test_spec_rejects_bad_signs(column, match):
    with pytest.raises(pmt.DataSpecError, match=match) as err:
        pmt.DataSpec.from_dict({"name": "t", "columns": {"x": column}})
    assert any("expected_sign" in p for p in err.value.problems)


def test_bare_minus_in_yaml_is_a_yaml_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\ncolumns:\n  x:\n    type: binary\n    role: proxy\n"
                    "    expected_sign: -\n", encoding="utf-8")
    with pytest.raises(pmt.DataSpecError, match=r"is not valid YAML"):
        pmt.DataSpec.load(path)


# --- check_signs on data with known truth -------------------------------------------------------
def test_check_signs_on_synthetic_hbs_flags_the_wrong_sign(hbs):
    """In synthetic_hbs log pcc rises with a car (+0.182), a fridge (+0.166) and falls with
    the share of children 0-2 (-1.292); firewood for cooking is +0.124 against electricity
    (the Uzbek PMT's counter-intuitive sign, built into the data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pmt.ols(pmt.datasets.PMT_FORMULA, hbs, weights="weight", cluster="psu")
    raw = pmt.DataSpec.load("data_spec/hbs.yaml").to_dict()
    cols = raw["columns"]
    cols["car"]["expected_sign"] = "-"  # wrong on purpose
    cols["fridge"]["expected_sign"] = "+"
    cols["share_children_0_2"]["expected_sign"] = "-"
    cols["cooking_fuel"]["expected_sign"] = {4: "-"}  # firewood: the analyst's expectation
    out = check_signs(r, raw)
    assert list(out.columns) == ["term", "variable", "label", "coefficient", "p_value", "expected",
                                 "agrees", "flag", "note"]
    assert len(out) == len(r.params) and out.term.tolist() == list(r.params.index)
    rows = out.set_index("term")
    car = rows.loc["car"]
    assert car.expected == "-" and car.coefficient > 0 and not car.agrees
    assert car.p_value < 0.05 and car.flag == "wrong sign, significant"
    assert car.label == "Car (car_dummy)" or car.label == pmt.DataSpec.from_dict(raw)["car"].label
    assert rows.loc["fridge", "agrees"] and rows.loc["fridge", "flag"] == ""
    assert rows.loc["share_children_0_2", "agrees"]
    fw = rows.loc["C(cooking_fuel)[T.4]"]
    assert fw.expected == "-" and fw.flag == "wrong sign, significant"
    assert fw.label.endswith(": Firewood")
    # levels without a sign and columns without one are listed, not checked
    assert rows.loc["C(cooking_fuel)[T.3]", "expected"] == ""
    assert pd.isna(rows.loc["C(cooking_fuel)[T.3]", "agrees"])
    assert rows.loc["tv", "note"] == "no expected sign" and rows.loc["Intercept", "label"] == "Constant"
    assert out.attrs["n_checked"] == 4
    assert out.attrs["n_wrong"] == out.attrs["n_wrong_significant"] == 2
    np.testing.assert_allclose(out.coefficient, r.params.to_numpy())
    np.testing.assert_allclose(out.p_value, r.pvalues.to_numpy())


def test_flag_grades_contradictions_by_p_value():
    """y = 1 + 2 x - 3 z + 0.05 w + noise with w barely identified: the expected signs
    of x (+, right), z (+, wrong and significant) and w (-, wrong but not significant)."""
    rng = np.random.default_rng(1)
    n = 200
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "w": rng.normal(size=n)})
    df["y"] = 1 + 2 * df.x - 3 * df.z + 0.05 * df.w + rng.normal(size=n)
    r = pmt.ols("y ~ x + z + w", df)
    assert r.params["w"] > 0 and r.pvalues["w"] > 0.05  # the premise of the test
    out = check_signs(r, {"x": "+", "z": "positive", "w": "-"}).set_index("term")
    assert out.loc["x", "agrees"] and out.loc["x", "flag"] == ""
    assert out.loc["z", "flag"] == "wrong sign, significant"
    assert out.loc["w", "flag"] == "wrong sign" and not out.loc["w", "agrees"]
    # the grade follows alpha: z stays significant at 1e-6, w becomes so at alpha = 0.5
    strict = check_signs(r, {"z": "+", "w": "-"}, alpha=1e-6).set_index("term")
    assert strict.loc["z", "flag"] == "wrong sign, significant"
    loose = check_signs(r, {"w": "-"}, alpha=0.5).set_index("term")
    assert loose.loc["w", "flag"] == "wrong sign, significant"


def test_binary_entered_as_categorical_and_grouped_models(hbs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pmt.ols("log_pcc ~ C(car) + fridge + C(region)", hbs, weights="weight")
    out = check_signs(r, {"car": "+", "fridge": "-", "region": {13: "+"}}).set_index("term")
    assert out.loc["C(car)[T.1]", "expected"] == "+" and out.loc["C(car)[T.1]", "agrees"]
    assert out.loc["fridge", "flag"] == "wrong sign, significant"
    # Toshkent city (13) against Andijon (1) is +0.292 in the data
    assert out.loc["C(region)[T.13]", "agrees"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = pmt.ols("log_pcc ~ car + fridge", hbs, weights="weight", by="urban")
    out = check_signs(g, {"car": "-", "tv": "+"})
    assert list(out.columns[:2]) == ["urban", "term"]
    assert set(out.urban) == set(g.results)
    assert (out.loc[out.term == "car", "flag"] == "wrong sign, significant").all()
    assert out.attrs["not_in_model"] == ["tv"] and out.attrs["n_wrong_significant"] == 2


def test_check_signs_errors():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=50)})
    df["y"] = df.x + rng.normal(size=50)
    r = pmt.ols("y ~ x", df)
    with pytest.raises(pmt.DataSpecError, match=r"column 'x': 'up' is not a sign"):
        check_signs(r, {"x": "up"})
    with pytest.raises(pmt.DataSpecError, match=r"`spec` must be a pmt.DataSpec"):
        check_signs(r, ["x"])
    with pytest.raises(pmt.ModelError, match=r"has no coefficients and p-values to check"):
        check_signs(object(), {"x": "+"})
    with pytest.raises(pmt.ModelError, match=r"`alpha` must be in \(0, 1\)"):
        check_signs(r, {"x": "+"}, alpha=5)
