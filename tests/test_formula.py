"""The safe formula parser, design matrices and the model base class."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import pmt
from pmt.models.base import ModelResult, prepare
from pmt.models.formula import Design, parse_formula, term_variable


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "region": rng.integers(1, 5, n),
            "kind": rng.choice(["flat", "house", "yurt"], n),
        }
    )
    return df


def test_design_matches_patsy_columns(data):
    d = Design.from_formula("y ~ x + C(region) + C(kind)", data)
    X = d.matrix(data)
    ref = smf.ols("y ~ x + C(region) + C(kind)", data).fit()
    # same columns (names and values) as statsmodels' formula machinery builds
    assert set(d.term_names) == set(ref.params.index)
    exog = pd.DataFrame(ref.model.exog, columns=ref.model.exog_names)
    np.testing.assert_array_equal(X, exog[d.term_names].to_numpy())


def test_base_level_choice(data):
    d = Design.from_formula("y ~ C(region, Treatment(reference=3)) + C(kind, base='yurt')", data)
    assert d.categoricals["region"].base == "3"
    assert "C(region)[T.1]" in d.term_names and "C(region)[T.3]" not in d.term_names
    assert d.categoricals["kind"].base == "yurt"
    with pytest.raises(pmt.ModelError, match="base level '9'"):
        Design.from_formula("y ~ C(region, Treatment(9))", data)


def test_round_trip_is_json_and_exact(data):
    d = Design.from_formula("y ~ x + C(region) + C(kind)", data)
    d2 = Design.from_dict(json.loads(json.dumps(d.to_dict())))
    np.testing.assert_array_equal(d.matrix(data), d2.matrix(data))


@pytest.mark.parametrize(
    "formula, match",
    [
        ("y x", "must look like"),
        ("np.log(y) ~ x", "plain column name"),
        ("y ~ x + __import__('os')", "not supported"),
        ("y ~ exp(x)", "not supported"),
        ("y ~ x + + z", "empty term"),
        ("y ~ I(x)", "not supported"),
        ("y ~ x - z", "not supported"),
        ("y ~ C(x", "unbalanced"),
    ],
)
def test_rejects_unsafe_or_unsupported(formula, match):
    with pytest.raises(pmt.ModelError, match=match):
        parse_formula(formula)


def test_intercept_removal():
    p = parse_formula("y ~ x - 1")
    assert not p.intercept and p.numeric == ["x"]


def test_terms_as_written_by_variable():
    p = parse_formula("y ~ x + C(region, base=2) + 1")
    assert p.terms == {"x": "x", "region": "C(region, base=2)"}
    assert term_variable("C(region, base=2)") == "region" and term_variable("x") == "x"


def test_missing_column_named(data):
    with pytest.raises(pmt.ModelError, match="not in the data: rooms"):
        Design.from_formula("y ~ x + rooms", data)


def test_unknown_level_at_predict(data):
    d = Design.from_formula("y ~ C(region)", data)
    new = data.head(3).assign(region=[1, 9, 2])
    with pytest.raises(pmt.ModelError, match=r"level\(s\) 9 .*row 1"):
        d.matrix(new)


def test_single_level_category(data):
    with pytest.raises(pmt.ModelError, match="1 level"):
        Design.from_formula("y ~ C(kind)", data.assign(kind="flat"))


def test_unused_categorical_levels_warn(data):
    df = data.assign(kind=pd.Categorical(data.kind, categories=["flat", "house", "yurt", "tent"]))
    with pytest.warns(UserWarning, match="tent"):
        d = Design.from_formula("y ~ C(kind)", df)
    assert d.categoricals["kind"].levels == ["flat", "house", "yurt"]


def test_singular_design_names_terms(data):
    df = data.assign(x2=2 * data.x + 1)
    with pytest.raises(pmt.ModelError, match="singular design: .*linear combination"):
        prepare("y ~ x + x2", df)
    with pytest.raises(pmt.ModelError, match="always zero"):
        prepare("y ~ x + z", data.assign(z=0.0))


def test_ill_conditioned_but_full_rank_design_passes_the_qr():
    # condition number far beyond the eigenvalue shortcut's 1e5, still full rank for the QR
    rng = np.random.default_rng(3)
    x = rng.normal(size=1000)
    df = pd.DataFrame({"y": x, "x": x, "x2": x + 1e-7 * rng.normal(size=1000)})
    p = prepare("y ~ x + x2", df)
    assert p.X.shape == (1000, 3)
    with pytest.raises(pmt.ModelError, match="singular design"):
        prepare("y ~ x + x2", df.assign(x2=df.x + 1e-14 * rng.normal(size=1000)))


def test_too_few_observations(data):
    with pytest.raises(pmt.ModelError, match="too few observations"):
        prepare("y ~ x + C(region)", data.head(4))


def test_prepare_counts_dropped_rows(data):
    df = data.copy()
    df.loc[[3, 7], "x"] = np.nan
    df.loc[11, "y"] = np.nan
    with pytest.warns(UserWarning, match="3 of 300 rows"):
        p = prepare("y ~ x", df, weights=np.ones(len(df)))
    assert p.n_dropped == 3 and p.nobs == 297
    assert 3 not in p.index


def test_prepare_rejects_nonpositive_weights(data):
    w = np.ones(len(data))
    w[5] = 0
    with pytest.raises(pmt.ModelError, match="row 5"):
        prepare("y ~ x", data, weights=w)


def test_model_result_predict_levels_and_round_trip(data):
    p = prepare("y ~ x + C(kind)", data)
    beta, *_ = np.linalg.lstsq(p.X, p.y, rcond=None)
    resid = p.y - p.X @ beta
    r = ModelResult(
        p.design, beta, np.full(len(beta), 0.1), nobs=p.nobs,
        sigma2=float(resid.var()), smearing_factor=float(np.exp(resid).mean()),
    )
    xb = p.X @ beta
    np.testing.assert_allclose(r.predict(data), xb)
    np.testing.assert_allclose(r.predict(data, scale="level", retransform="none"), np.exp(xb))
    np.testing.assert_allclose(
        r.predict(data, scale="level", retransform="normal"), np.exp(xb + resid.var() / 2)
    )
    np.testing.assert_allclose(
        r.predict(data, scale="level"), np.exp(xb) * np.exp(resid).mean()
    )
    r2 = ModelResult.from_dict(json.loads(json.dumps(r.to_dict())))
    np.testing.assert_array_equal(r2.predict(data), r.predict(data))
    table = r.coef_table({"x": "Some proxy"})
    assert table.loc["x", "label"] == "Some proxy"
    assert table.loc["Intercept", "label"] == "Constant"
    assert "C(kind)[T.house]" in r.summary()


def test_predict_with_missing_proxy_is_nan_and_counted(data):
    p = prepare("y ~ x", data)
    r = ModelResult(p.design, np.array([1.0, 2.0]), np.array([0.1, 0.1]))
    new = data.head(4).copy()
    new.loc[2, "x"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = r.predict(new)
    assert np.isnan(out.iloc[2]) and out.notna().sum() == 3
    assert any("1 rows have missing proxies" in str(w.message) for w in caught)
    assert all(w.filename == __file__ for w in caught)  # warned at the caller of predict
