"""The input-check layer (pmt._validation, pmt._literals) and its use across the package.

The helpers directly (every accepted input form, every error), then the public entry points:
one kind of mistake (a value that is not a number, a weight of -5, an unknown option) raises
one class with one message pattern wherever it is made.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt._literals import SE, Retransform, Unit
from pmt._validation import check_option, check_weights, column_or_array, numeric_values
from pmt.errors import (
    DataError,
    ModelError,
    OptionError,
    PMTError,
    PolicyError,
    SurveyDesignError,
    WeightError,
)

ROOT = Path(__file__).resolve().parents[1]
BAD = [1, "abc", 3, np.nan]
NON_NUMERIC = r"has 1 non-numeric value at row 1 \('abc'\): convert those values to numbers"
NEGATIVE = (r"has 1 (zero or )?negative value at row 1 \(-5\): "
            r"weights must be (non-negative|positive) numbers")


# --- layering ---------------------------------------------------------------------------
def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module)
    return out


def test_validation_sits_at_the_bottom():
    allowed = {"__future__", "difflib", "re", "collections.abc", "types", "typing", "numpy",
               "pandas", "pmt.errors", "pmt._literals"}
    assert _imports(ROOT / "pmt" / "_validation.py") <= allowed
    assert _imports(ROOT / "pmt" / "_literals.py") <= {"__future__", "typing"}


def test_error_classes_keep_old_except_clauses_working():
    for cls in (DataError, SurveyDesignError, ModelError, PMTError, ValueError):
        assert issubclass(WeightError, cls)
    for cls in (DataError, ModelError, PolicyError, PMTError, ValueError):
        assert issubclass(OptionError, cls)


# --- numeric_values ---------------------------------------------------------------------
def test_numeric_values_forms():
    x = np.array([1.5, 2.0])
    arr, bad = numeric_values(x)
    assert arr is x and bad is None  # float64: no copy, nothing to mark
    arr, bad = numeric_values(np.array([1, 2], dtype=np.int32))
    assert arr.dtype == float and bad is None
    arr, bad = numeric_values(pd.Series([1, None], dtype="Int64"))
    np.testing.assert_array_equal(arr, [1.0, np.nan])
    arr, bad = numeric_values(pd.Series([True, False]))
    np.testing.assert_array_equal(arr, [1.0, 0.0])
    arr, bad = numeric_values(["1", 2.5, True, None, "nan", "abc"])
    np.testing.assert_array_equal(arr, [1.0, 2.5, 1.0, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(bad, [False, False, False, False, False, True])
    arr, bad = numeric_values(pd.Series([1, 2, None]).astype("category"))
    np.testing.assert_array_equal(arr, [1.0, 2.0, np.nan])
    assert not bad.any()


def test_numeric_values_are_those_of_numpy_and_pandas():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50) * 1e6
    np.testing.assert_array_equal(column_or_array(list(x), name="x"), np.asarray(x, dtype=float))
    s = pd.Series(x.astype(np.float32))
    np.testing.assert_array_equal(column_or_array(s, name="x"),
                                  pd.to_numeric(s).to_numpy(dtype=float))
    strings = pd.Series([str(v) for v in x], dtype=object)
    np.testing.assert_array_equal(column_or_array(strings, name="x"),
                                  pd.to_numeric(strings).to_numpy(dtype=float))


# --- column_or_array --------------------------------------------------------------------
@pytest.fixture
def frame():
    return pd.DataFrame({"welfare": [1.0, 2.0, 3.0], "w": [1.0, 2.0, 1.0],
                         "text": ["1", "x", "3"], "flag": [True, False, True]},
                        index=["h1", "h2", "h3"])


@pytest.mark.parametrize("form", [
    lambda d: "welfare",
    lambda d: d["welfare"],
    lambda d: [1.0, 2.0, 3.0],
    lambda d: np.array([1, 2, 3]),
    lambda d: np.array([[1.0], [2.0], [3.0]]),
    lambda d: d[["welfare"]],
    lambda d: pd.Series([1, 2, 3], dtype="Int64"),
    lambda d: pd.Index([1.0, 2.0, 3.0]),
])
def test_column_or_array_accepts(frame, form):
    out = column_or_array(form(frame), frame, name="welfare")
    assert out.dtype == float and out.shape == (3,)
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_column_or_array_of_a_survey(frame):
    sv = pmt.Survey(frame, weight="w")
    np.testing.assert_array_equal(column_or_array("welfare", sv, name="y"), [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"`y` column 'welfar' is not in the survey data; "
                                        r"did you mean 'welfare'\?"):
        column_or_array("welfar", sv, name="y")
    np.testing.assert_array_equal(sv.column("flag"), [1.0, 0.0, 1.0])


def test_column_or_array_errors(frame):
    with pytest.raises(DataError, match=r"column 'zzz' is not in the data; the columns are "
                                        r"welfare, w, text, flag\."):
        column_or_array("zzz", frame, name="zzz")
    with pytest.raises(DataError, match=r"`y` is a column name \('welfare'\) but no data"):
        column_or_array("welfare", name="y")
    with pytest.raises(DataError, match=r"`y` has 2 values but 3 are needed"):
        column_or_array([1, 2], frame, name="y")
    with pytest.raises(DataError, match=r"`y` has 4 values but 3 are needed"):
        column_or_array([1, 2, 3, 4], name="y", n=3)
    with pytest.raises(DataError, match="`y` is required"):
        column_or_array(None, name="y")
    with pytest.raises(DataError, match=r"one column \(1-d\)"):
        column_or_array(np.ones((3, 2)), name="y")
    with pytest.raises(DataError, match="one column"):
        column_or_array(frame[["welfare", "w"]], name="y")
    with pytest.raises(DataError, match=r"`y` column 'text' has 1 non-numeric value at row h2 "
                                        r"\('x'\)"):
        column_or_array("text", frame, name="y")
    with pytest.raises(DataError, match=r"`y` has 1 missing value at row 1: drop those"):
        column_or_array([1.0, np.nan], name="y")
    with pytest.raises(DataError, match=r"`y` has 2 infinite values at rows 0, 1 \(inf, -inf\)"):
        column_or_array([np.inf, -np.inf], name="y")
    with pytest.raises(DataError, match=r"`poor` has 1 non-binary value at row 2 \(2\)"):
        column_or_array([0, 1, 2], name="poor", binary=True)
    with pytest.raises(DataError, match=r"`b` has 1 negative value at row 0 \(-1\)"):
        column_or_array([-1, 1], name="b", nonnegative=True)


def test_column_or_array_never_silently_nan():
    for form in (BAD, np.array(BAD, dtype=object), pd.Series(BAD)):
        with pytest.raises(DataError, match=r"`x` " + NON_NUMERIC):
            column_or_array(form, name="x", allow_nan=True)
    s = pd.Series(BAD, index=list("abcd"))
    with pytest.raises(DataError, match=r"`x` has 1 non-numeric value at row b \('abc'\)"):
        column_or_array(s, name="x", allow_nan=True)
    many = ["a"] * 7 + [1.0]
    with pytest.raises(DataError, match=r"has 7 non-numeric values at rows 0, 1, 2, 3, 4 "
                                        r"\(and 2 more\) \('a', 'a', 'a', 'a', 'a', \.\.\.\)"):
        column_or_array(many, name="x")


def test_column_or_array_options(frame):
    out = column_or_array([1.0, np.nan, np.inf], name="y", allow_nan=True)
    assert np.isnan(out[1]) and np.isinf(out[2])
    np.testing.assert_array_equal(column_or_array([1.0, 2.0], name="y", dtype=np.int64), [1, 2])
    ids = column_or_array(["a", "b", None], name="ids", dtype=None, allow_nan=True)
    assert list(ids) == ["a", "b", None]
    with pytest.raises(DataError, match="`ids` has 1 missing value at row 2"):
        column_or_array(["a", "b", None], name="ids", dtype=None)
    shuffled = frame["welfare"].iloc[[2, 0, 1]]
    np.testing.assert_array_equal(column_or_array(shuffled, frame, name="y", align=True),
                                  [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(column_or_array(shuffled, frame, name="y"), [3.0, 1.0, 2.0])
    with pytest.raises(DataError, match="`y` is a Series whose index differs from the rows"):
        column_or_array(frame["welfare"].reset_index(drop=True), frame, name="y", align=True)


# --- check_weights ----------------------------------------------------------------------
def test_check_weights_accepts(frame):
    np.testing.assert_array_equal(check_weights(None, 3), np.ones(3))
    np.testing.assert_array_equal(check_weights(None, data=frame), np.ones(3))
    np.testing.assert_array_equal(check_weights("w", data=frame, kind="positive"), [1, 2, 1])
    np.testing.assert_array_equal(check_weights([0, 1], 2), [0, 1])
    np.testing.assert_array_equal(check_weights([0, 0], 2, allow_zero_sum=True), [0, 0])
    out = check_weights([1.0, np.nan, np.inf], 3, allow_nan=True)
    assert out[0] == 1 and np.isnan(out[1])
    # only the rows in `subset` are checked
    np.testing.assert_array_equal(check_weights([1.0, -5.0], 2, subset=[True, False]), [1, -5])
    with pytest.raises(TypeError):
        check_weights(None)


@pytest.mark.parametrize("weights, kwargs, match", [
    ([1, -5, 1], {}, r"`weights` has 1 negative value at row h2 \(-5\): weights must be "
                     r"non-negative numbers; fix the weights or drop those rows\."),
    ([1, 0, 1], {"kind": "positive"}, r"`weights` has 1 zero or negative value at row h2 \(0\): "
                                      r"weights must be positive numbers"),
    ([1, np.nan, 1], {}, r"`weights` has 1 missing value at row h2: weights must be"),
    ([1, np.inf, 1], {}, r"`weights` has 1 infinite value at row h2 \(inf\)"),
    ([0, 0, 0], {}, r"`weights` sum to zero \(3 finite values, none positive\)"),
    ([1, 1], {}, r"`weights` has 2 values but 3 are needed"),
    (BAD[:3], {}, r"`weights` has 1 non-numeric value at row h2 \('abc'\): weights must be"),
    ("nope", {}, r"`weights` column 'nope' is not in the data"),
    ([1, 2, -1], {"name": "cut_weights"}, r"`cut_weights` has 1 negative value at row h3"),
])
def test_check_weights_errors(frame, weights, kwargs, match):
    # with data=, rows are named by the data's index labels (h1, h2, h3)
    with pytest.raises(WeightError, match=match):
        check_weights(weights, 3, data=frame, **kwargs)


def test_check_weights_names_series_labels():
    w = pd.Series([1.0, -5.0], index=["a", "b"])
    with pytest.raises(WeightError, match=r"at row b \(-5\)"):
        check_weights(w, 2)


# --- check_option -----------------------------------------------------------------------
def test_check_option():
    assert check_option("person", Unit, name="unit") == "person"
    assert check_option("bootstrap", SE, name="se") == "bootstrap"
    assert check_option("b", ("a", "b"), name="x") == "b"
    assert check_option("k", {"k": 1}, name="x") == "k"
    assert check_option(True, ("auto", True, False), name="preprocess") is True
    assert check_option("smearing", Retransform | Literal["x"], name="retransform") == "smearing"
    with pytest.raises(OptionError, match=r"^`unit` must be 'person' or 'household'; got "
                                          r"'persons'\. Did you mean 'person'\?$"):
        check_option("persons", Unit, name="unit")
    with pytest.raises(OptionError, match=r"'none', 'normal' or 'smearing'; got 'x'\.$"):
        check_option("x", Retransform, name="retransform")
    with pytest.raises(OptionError, match="Did you mean 'HC1'"):
        check_option("hc1", ("nonrobust", "HC1", "cluster"), name="cov_type")
    with pytest.raises(OptionError, match=r"got 1\."):
        check_option(1, ("auto", True, False), name="preprocess")  # 1 is not True
    with pytest.raises(OptionError, match=r"got \['a'\]"):
        check_option(["a"], ("a",), name="x")


# --- the public entry points ------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    df = pd.DataFrame({
        "y": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 15.0, 35.0],
        "x": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 1.5, 3.5],
        "w": [1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0],
        "wneg": [1.0, -5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "poor": [1, 1, 0, 0, 0, 1, 1, 0],
        "sel": [1, 0, 1, 0, 0, 1, 1, 0],
        "bad": [1, "abc", 3, np.nan, 2, 2, 2, 2],
    })
    df["logy"] = np.log(df["y"])
    return df


Y = [1.0, 2.0, 3.0, 4.0]
W = [1, -5, 1, 1]
P = [1, 0, 1, 0]

VECTOR_CASES = {
    "fgt": lambda d: pmt.fgt(BAD, 2.0),
    "watts": lambda d: pmt.watts(BAD, 2.0),
    "gini": lambda d: pmt.gini(BAD),
    "concentration_index": lambda d: pmt.concentration_index(BAD, Y),
    "weighted_quantile": lambda d: pmt.weighted_quantile(BAD),
    "quantile_groups": lambda d: pmt.quantile_groups(BAD, None, 2),
    "relative_line": lambda d: pmt.relative_line(BAD),
    "per_capita": lambda d: pmt.per_capita(BAD, [1, 1, 1, 1]),
    "deflate": lambda d: pmt.deflate(BAD, [1, 1, 1, 1]),
    "targeting_metrics": lambda d: pmt.targeting_metrics(BAD, P),
    "decile_overlap": lambda d: pmt.decile_overlap(BAD, Y, n_groups=2),
    "classify_poor": lambda d: pmt.classify_poor(BAD, line=2.0),
    "error_curve": lambda d: pmt.error_curve(P, BAD),
    "roc_auc": lambda d: pmt.roc_auc(P, BAD),
    "prediction_validation": lambda d: pmt.prediction_validation(BAD, Y),
    "inspection_rule": lambda d: pmt.inspection_rule(BAD, P),
    "simulate_underreporting": lambda d: pmt.simulate_underreporting(BAD),
    "Survey.column": lambda d: pmt.Survey(d, weight="w").column("bad"),
    "poverty_measures": lambda d: pmt.poverty_measures(pmt.Survey(d, weight="w"), "bad", 2.0),
    "inequality_measures": lambda d: pmt.inequality_measures(pmt.Survey(d, weight="w"), "bad"),
    "bootstrap_metrics": lambda d: pmt.bootstrap_metrics(pmt.Survey(d, weight="w"), "bad", "sel",
                                                         n_replicates=3),
    "truncated_ols welfare": lambda d: pmt.truncated_ols("logy ~ x", d, welfare="bad",
                                                         share=0.5, unit="household"),
}


@pytest.mark.parametrize("call", VECTOR_CASES.values(), ids=VECTOR_CASES.keys())
def test_non_numeric_values_raise_one_error_everywhere(data, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match=NON_NUMERIC) as info:
            call(data)
    assert not isinstance(info.value, WeightError | OptionError)


WEIGHT_CASES = {
    "fgt": lambda d: pmt.fgt(Y, 2.0, weights=W),
    "watts": lambda d: pmt.watts(Y, 2.0, W),
    "gini": lambda d: pmt.gini(Y, W),
    "concentration_index": lambda d: pmt.concentration_index(Y, Y, W),
    "weighted_quantile": lambda d: pmt.weighted_quantile(Y, W),
    "relative_line": lambda d: pmt.relative_line(Y, W),
    "deflate": lambda d: pmt.deflate(Y, [1.0, 1.0, 1.0, 1.0], base="mean", weights=W),
    "targeting_metrics": lambda d: pmt.targeting_metrics(P, [1, 0, 0, 0], W),
    "decile_overlap": lambda d: pmt.decile_overlap(Y, Y, W, n_groups=2),
    "error_curve": lambda d: pmt.error_curve(P, Y, W),
    "prediction_validation": lambda d: pmt.prediction_validation(Y, Y, W, n_groups=2),
    "inspection_rule": lambda d: pmt.inspection_rule(P, P, W),
    "Survey": lambda d: pmt.Survey(d, weight="wneg"),
    "ols": lambda d: pmt.ols("logy ~ x", d, weights="wneg"),
    "ols array": lambda d: pmt.ols("logy ~ x", d, weights=d["wneg"].to_numpy()),
    "truncated_ols": lambda d: pmt.truncated_ols("logy ~ x", d, weights="wneg", share=0.5),
    "quantreg": lambda d: pmt.quantreg("logy ~ x", d, weights="wneg"),
    "probit": lambda d: pmt.probit("poor ~ x", d, weights="wneg"),
    "heckman": lambda d: pmt.heckman("sel ~ x", "logy ~ x", d, weights="wneg"),
    "random_forest": lambda d: pmt.random_forest("logy ~ x", d, weights="wneg"),
    "Scorecard.from_model": lambda d: pmt.Scorecard.from_model(
        pmt.ols("logy ~ x", d), d, weights="wneg", threshold=3.0),
}


@pytest.mark.parametrize("call", WEIGHT_CASES.values(), ids=WEIGHT_CASES.keys())
def test_negative_weights_raise_one_error_everywhere(data, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(WeightError, match=NEGATIVE) as info:
            call(data)
    # old except clauses (models: ModelError; survey: SurveyDesignError; others: DataError)
    assert isinstance(info.value, ModelError | SurveyDesignError | DataError)


OPTION_CASES = {
    "targeting_metrics unit": lambda d: pmt.targeting_metrics(P, P, unit="persons"),
    "Survey.weights unit": lambda d: pmt.Survey(d, weight="w").weights("persons"),
    "Survey lonely_psu": lambda d: pmt.Survey(d, weight="w", lonely_psu="adjusted"),
    "poverty_measures se": lambda d: pmt.poverty_measures(pmt.Survey(d, weight="w"), "y", 25.0,
                                                          se="linearised"),
    "ols retransform": lambda d: pmt.ols("logy ~ x", d, retransform="smear"),
    "predict scale": lambda d: pmt.ols("logy ~ x", d).predict(d, scale="levels"),
    "decile_overlap normalize": lambda d: pmt.decile_overlap(Y, Y, n_groups=2, normalize="rows"),
    "select_by method": lambda d: pmt.select_by(Y, rule="lines", line=2.0),
    "inspection_table gap": lambda d: pmt.inspection_table(Y, Y, P, gap="ratios"),
}


@pytest.mark.parametrize("call", OPTION_CASES.values(), ids=OPTION_CASES.keys())
def test_unknown_options_raise_one_error_everywhere(data, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OptionError, match=r"^`\w+` must be '[^;]+'; got '\w+'\. "
                                              r"Did you mean '\w+'\?$"):
            call(data)
