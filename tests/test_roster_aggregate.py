"""Household proxies declared in YAML and built from a person roster (pmt.roster.aggregate).

Every kind is checked against an independent pandas groupby written here, on a random
roster (string ids "001", rows shuffled, missing values) and on hand-made households
whose values are written out by hand.
"""

from __future__ import annotations

import builtins
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmt.errors import ConfigError, DataError
from pmt.roster.aggregate import (
    KINDS,
    ProxyDefinition,
    ProxyDefinitionError,
    ProxyDefinitions,
    example_proxies_path,
    household_proxies,
    load_proxy_definitions,
    member_condition,
)
from pmt.roster.data import read_roster

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------
# rosters
# ---------------------------------------------------------------------------------------
def random_roster(seed: int = 0, n_hh: int = 500) -> pd.DataFrame:
    """About 2,000 persons in ``n_hh`` households with ids "001", "002" ..., rows
    shuffled; missing values in age, employed, edu and inc_wages (never for heads' age)."""
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 8, n_hh)
    n = int(size.sum())
    hh_num = np.repeat(np.arange(n_hh), size)
    starts = np.repeat(np.cumsum(size) - size, size)
    line = np.arange(n) - starts + 1
    ids = np.array([f"{h + 1:03d}" for h in range(n_hh)], dtype=object)[hh_num]
    head = line == 1
    age = np.where(head, rng.integers(18, 90, n), rng.integers(0, 95, n)).astype(float)
    age[~head & (rng.random(n) < 0.03)] = np.nan
    relation = np.where(head, 1, rng.integers(2, 14, n))
    employed = pd.array(rng.integers(0, 2, n), dtype="Int64")
    employed[rng.random(n) < 0.03] = pd.NA
    edu = pd.Categorical(rng.integers(0, 4, n), categories=[0, 1, 2, 3])
    edu[rng.random(n) < 0.03] = np.nan
    wages = np.round(rng.lognormal(7, 1, n)) * (rng.random(n) < 0.5)
    wages[rng.random(n) < 0.02] = np.nan
    df = pd.DataFrame(
        {
            "hh_id": ids,
            "line": line,
            "relation": pd.Categorical(relation, categories=range(1, 14)),
            "sex": pd.Categorical(rng.integers(1, 3, n), categories=[1, 2]),
            "age": age,
            "employed": employed,
            "edu": edu,
            "disabled": rng.integers(0, 2, n),
            "children": rng.integers(0, 4, n),
            "inc_wages": wages,
            "region": rng.choice(np.array(["north", "south", "east"], dtype=object), n),
            "family_id": np.where(line <= 3, 1, 2),
        }
    )
    df = df.iloc[rng.permutation(n)].reset_index(drop=True)
    df.index = df.index + 1000  # a non-default index
    df.attrs["roster"] = {"household": "hh_id", "person": "line", "relation": "relation"}
    return df


@pytest.fixture(scope="module")
def rr() -> pd.DataFrame:
    return random_roster()


def small_roster() -> pd.DataFrame:
    """Three households, every value written out (L2CU codes)."""
    rows = [
        # hh, line, relation, sex, age, marital, edu, employed, disabled, pensioner, mobile
        ("001", 1, 1, 1, 45, 2, 2, 1, 0, 0, 1),
        ("001", 2, 2, 2, 40, 2, 1, 0, 0, 0, 1),
        ("001", 3, 3, 2, 16, 1, 1, 1, 0, 0, 0),
        ("001", 4, 3, 1, 4, 1, 0, 0, 1, 0, 0),
        ("001", 5, 8, 1, 1, 1, 0, 0, 0, 0, 0),
        ("002", 1, 1, 2, 72, 4, 3, 0, 1, 1, 1),
        ("003", 1, 1, 2, 50, 3, 3, 1, 0, 0, 1),
        ("003", 2, 5, 2, 80, 4, 1, 0, 0, 1, 0),
        ("003", 3, 3, 1, 10, 1, 0, 0, 0, 0, 0),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "hh_id",
            "line",
            "relation",
            "sex",
            "age",
            "marital",
            "edu",
            "employed",
            "disabled",
            "pensioner",
            "has_mobile",
        ],
    )
    for c in ("spouse_line", "mother_line", "father_line"):
        df[c] = pd.array([pd.NA] * len(df), dtype="Int64")
    df["inc_wages"] = [3000.0, 0, 500, 0, 0, 0, 4000, 0, 0]
    df["inc_pensions"] = [0.0, 0, 0, 0, 0, 1500, 0, 1200, 0]
    df["inc_alimony"] = 0.0
    df["inc_business"] = 0.0
    return read_roster(df)


def groupby(df: pd.DataFrame, values, how: str = "sum", key="hh_id") -> pd.Series:
    """The independent reference: a pandas groupby in first-appearance order."""
    s = pd.Series(np.asarray(values), index=df.index)
    return getattr(
        s.groupby([df[k] for k in key] if isinstance(key, list) else df[key], sort=False), how
    )()


def num(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as floats (categoricals by their codes), NaN where missing."""
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    return pd.to_numeric(s).astype(float)


def proxies(roster, spec: dict, **kw) -> pd.DataFrame:
    return household_proxies(roster, {"proxies": spec}, **kw)


# ---------------------------------------------------------------------------------------
# each kind against a pandas groupby
# ---------------------------------------------------------------------------------------
def test_output_index_order_and_dtypes(rr):
    out = proxies(rr, {"hh_size": {"count": "all"}, "sh": {"share": "sex == 2"}})
    assert out.index.name == "hh_id"
    assert list(out.index) == list(dict.fromkeys(rr["hh_id"]))  # first appearance, shuffled
    assert out.index[0] == rr["hh_id"].iloc[0]
    assert all(isinstance(v, str) for v in out.index)
    assert out["hh_size"].dtype == np.int64 and out["sh"].dtype == np.float64
    assert list(out.columns) == ["hh_size", "sh"]
    pd.testing.assert_series_equal(
        out["hh_size"], groupby(rr, np.ones(len(rr), np.int64)), check_names=False
    )
    assert out["hh_size"].sum() == len(rr)
    assert 1500 < len(rr) < 2500


def test_count_share_any_all(rr):
    defs = {
        "missing": "skip",
        "proxies": {
            "n_women": {"count": "sex == 2"},
            "n_women_adult": {"count": "sex == 2", "where": "age >= 18"},
            "share_dis": {"share": "disabled == 1"},
            "share_dis_adult": {"share": "disabled == 1", "among": "age >= 18"},
            "any_dis": {"any": "disabled == 1"},
            "all_dis": {"all": "disabled == 1"},
            "all_dis_adult": {"all": "disabled == 1", "among": "age >= 18"},
        },
    }
    out = household_proxies(rr, defs)
    women = (num(rr, "sex") == 2).to_numpy()
    adult = (num(rr, "age") >= 18).to_numpy()  # NaN age: not an adult (skip)
    dis = (rr["disabled"] == 1).to_numpy()
    exp = {
        "n_women": groupby(rr, women.astype(int)),
        "n_women_adult": groupby(rr, (women & adult).astype(int)),
        "share_dis": groupby(rr, dis.astype(float), "mean"),
        "any_dis": groupby(rr, dis, "any").astype(np.int64),
        "all_dis": groupby(rr, dis, "all").astype(np.int64),
        "all_dis_adult": groupby(rr, dis | ~adult, "all").astype(np.int64),
    }
    n_adult = groupby(rr, adult.astype(int))
    exp["share_dis_adult"] = groupby(rr, (dis & adult).astype(int)) / n_adult
    for name, want in exp.items():
        got = out[name]
        np.testing.assert_allclose(
            got.to_numpy(dtype=float), want.to_numpy(dtype=float), err_msg=name
        )
        assert list(got.index) == list(want.index)
    assert out["n_women"].dtype == np.int64 and out["any_dis"].dtype == np.int64
    assert out["all_dis"].dtype == np.int64
    assert (n_adult > 0).all()  # heads are adults: no empty `among`


def test_sum_mean_max_min_with_where(rr):
    defs = {
        "missing": "skip",
        "proxies": {
            "wages": {"sum": "inc_wages"},
            "wages_women": {"sum": "inc_wages", "where": "sex == 2"},
            "children": {"sum": "children"},
            "mean_age": {"mean": "age"},
            "mean_age_adults": {"mean": "age", "where": "age >= 18"},
            "max_edu": {"max": "edu", "where": "age >= 15", "if_empty": 0},
            "min_age": {"min": "age"},
            "max_age": {"max": "age"},
        },
    }
    out = household_proxies(rr, defs)
    age, edu, wages = num(rr, "age"), num(rr, "edu"), num(rr, "inc_wages")
    women = (num(rr, "sex") == 2).to_numpy()
    np.testing.assert_allclose(out["wages"], groupby(rr, wages.fillna(0)))
    np.testing.assert_allclose(out["wages_women"], groupby(rr, wages.where(women, 0).fillna(0)))
    np.testing.assert_array_equal(out["children"], groupby(rr, rr["children"]))
    np.testing.assert_allclose(out["mean_age"], groupby(rr, age, "mean"))  # NaN left out
    np.testing.assert_allclose(out["mean_age_adults"], groupby(rr, age.where(age >= 18), "mean"))
    want_max_edu = groupby(rr, edu.where(age >= 15), "max").fillna(0)
    np.testing.assert_array_equal(out["max_edu"], want_max_edu)
    np.testing.assert_array_equal(out["min_age"], groupby(rr, age, "min"))
    np.testing.assert_array_equal(out["max_age"], groupby(rr, age, "max"))
    assert out["children"].dtype == np.int64  # sum of an integer column stays integer
    assert out["max_edu"].dtype == np.int64  # categorical integer codes, if_empty whole
    assert out["wages"].dtype == np.float64 and out["mean_age"].dtype == np.float64


def test_head_condition_and_value(rr):
    defs = {
        "head": "relation == 1",
        "missing": "skip",
        "proxies": {
            "female_head": {"head": "sex == 2"},
            "head_age": {"head": "age"},
            "head_region": {"head": "region"},
            "head_edu": {"head": "edu"},
            "head_old_woman": {"head": "sex == 2 and age >= 60"},
        },
    }
    out = household_proxies(rr, defs)
    heads = rr[rr["line"] == 1].set_index("hh_id").loc[out.index]
    np.testing.assert_array_equal(out["female_head"], (num(heads, "sex") == 2).astype(int))
    np.testing.assert_array_equal(out["head_age"], heads["age"])
    assert out["head_region"].tolist() == heads["region"].tolist()
    np.testing.assert_array_equal(out["head_edu"], num(heads, "edu"))  # NaN where missing
    want = ((num(heads, "sex") == 2) & (heads["age"] >= 60)).astype(int)
    np.testing.assert_array_equal(out["head_old_woman"], want)
    assert out["female_head"].dtype == np.int64
    assert out["head_edu"].isna().any()  # some heads' edu is missing (skip)


def test_head_value_of_integer_column_is_int():
    out = household_proxies(
        small_roster(),
        {
            "head": "relation == 1",
            "proxies": {"head_age": {"head": "age"}, "head_sex": {"head": "sex"}},
        },
    )
    assert out["head_age"].tolist() == [45, 72, 50]
    assert out["head_sex"].tolist() == [1, 2, 2]
    assert out["head_age"].dtype == np.int64 and out["head_sex"].dtype == np.int64


def test_ratio_and_if_zero():
    r = small_roster()
    spec = {
        "n_dep": {"count": "age < 15 or age >= 65"},
        "n_work": {"count": "age between 15 and 64"},
        "ratio": {"ratio": ["n_dep", "n_work"], "if_zero": -1},
        "ratio_p": {"ratio": ["n_dep", "n_work"], "if_zero": "n_dep"},
        "later": {"ratio": ["n_women", "n_dep"], "if_zero": 0},  # refers to a later proxy
        "n_women": {"count": "sex == 2"},
    }
    out = proxies(r, spec)
    # 001: dependants 4 and 1 (ages 4, 1), working 45, 40, 16; 002: 72 alone; 003: 80, 10 / 50
    assert out["n_dep"].tolist() == [2, 1, 2]
    assert out["n_work"].tolist() == [3, 0, 1]
    assert out["ratio"].tolist() == pytest.approx([2 / 3, -1.0, 2.0])
    assert out["ratio_p"].tolist() == pytest.approx([2 / 3, 1.0, 2.0])
    assert out["later"].tolist() == pytest.approx([2 / 2, 1 / 1, 2 / 2])
    assert out["ratio"].dtype == np.float64
    assert list(out.columns) == list(spec)  # definition order, whatever the computing order


def test_zero_denominator_names_households():
    r = small_roster()
    with pytest.raises(
        DataError,
        match=r"denominator 'n_work' is 0 for 1 household.*002.*"
        r"if_zero",
    ):
        proxies(
            r,
            {
                "n_dep": {"count": "age < 15 or age >= 65"},
                "n_work": {"count": "age between 15 and 64"},
                "ratio": {"ratio": ["n_dep", "n_work"]},
            },
        )


def test_share_and_mean_with_empty_set():
    r = small_roster()
    spec = {"sh": {"share": "employed == 1", "among": "age between 15 and 64"}}
    with pytest.raises(
        DataError,
        match=r"proxy 'sh': 1 household has no member in "
        r"'age between 15 and 64' \('hh_id' 002\).*if_empty",
    ):
        proxies(r, spec)
    spec["sh"]["if_empty"] = 0
    spec["m"] = {"mean": "inc_wages", "where": "age < 15"}
    with pytest.raises(DataError, match=r"proxy 'm'.*002") as exc:
        proxies(r, spec)
    assert "proxy 'sh'" not in str(exc.value)
    spec["m"]["if_empty"] = -9
    spec["mx"] = {"max": "age", "where": "age < 15", "if_empty": 0}
    out = proxies(r, spec)
    assert out["sh"].tolist() == pytest.approx([2 / 3, 0.0, 1.0])
    assert out["m"].tolist() == [0.0, -9.0, 0.0]
    assert out["mx"].tolist() == [4, 0, 10] and out["mx"].dtype == np.int64


def test_all_and_any_over_empty_among():
    out = proxies(
        small_roster(),
        {
            "a": {"all": "employed == 1", "among": "age < 15"},
            "b": {"any": "employed == 1", "among": "age < 15"},
            "c": {"all": "employed == 0", "among": "age < 15"},
        },
    )
    assert out["a"].tolist() == [0, 1, 0]  # 002 has no child: vacuously true
    assert out["b"].tolist() == [0, 0, 0]
    assert out["c"].tolist() == [1, 1, 1]


# ---------------------------------------------------------------------------------------
# condition grammar
# ---------------------------------------------------------------------------------------
def _cond(df, text, **kw):
    return member_condition(df, text, **kw).to_numpy()


@pytest.fixture(scope="module")
def g() -> pd.DataFrame:
    """A plain roster without missing values for the grammar checks."""
    df = pd.DataFrame(
        {
            "hh": ["1", "1", "1", "2", "2", "3"],
            "age": [5, 15, 30, 64, 65, 90],
            "x": [-1.5, 0.0, 2.5, 3.0, 10.0, 0.5],
            "sex": pd.Categorical([1, 2, 2, 1, 2, 1], categories=[1, 2]),
            "region": ["north", "south", "north", "east", "south", "north"],
            "lab": pd.Categorical(["Male", "Female", "Female", "Male", "Female", "Male"]),
            "odd name": [1, 0, 1, 0, 1, 0],
            "and_col": [1, 1, 1, 0, 0, 0],
        }
    )
    return df


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("age == 15", [0, 1, 0, 0, 0, 0]),
        ("age != 15", [1, 0, 1, 1, 1, 1]),
        ("age < 15", [1, 0, 0, 0, 0, 0]),
        ("age <= 15", [1, 1, 0, 0, 0, 0]),
        ("age > 64", [0, 0, 0, 0, 1, 1]),
        ("age >= 64", [0, 0, 0, 1, 1, 1]),
        ("age between 15 and 64", [0, 1, 1, 1, 0, 0]),
        ("age in [5, 65]", [1, 0, 0, 0, 1, 0]),
        ("age not in [5, 65, ]", [0, 1, 1, 1, 0, 1]),
        ("x < -1", [1, 0, 0, 0, 0, 0]),
        ("x >= 2.5", [0, 0, 1, 1, 1, 0]),
        ("x between -1.5 and .5", [1, 1, 0, 0, 0, 1]),
        ("x > 1e0", [0, 0, 1, 1, 1, 0]),
        ("sex == 2", [0, 1, 1, 0, 1, 0]),
        ("sex in [1]", [1, 0, 0, 1, 0, 1]),
        ("region == 'north'", [1, 0, 1, 0, 0, 1]),
        ('region != "north"', [0, 1, 0, 1, 1, 0]),
        ("region in ['east', 'south']", [0, 1, 0, 1, 1, 0]),
        ("region not in ['east']", [1, 1, 1, 0, 1, 1]),
        ("lab == 'Female'", [0, 1, 1, 0, 1, 0]),
        ("`odd name` == 1", [1, 0, 1, 0, 1, 0]),
        ("and_col == 1", [1, 1, 1, 0, 0, 0]),
        ("all", [1, 1, 1, 1, 1, 1]),
        ("not all", [0, 0, 0, 0, 0, 0]),
        ("age is missing", [0, 0, 0, 0, 0, 0]),
        ("age is not missing", [1, 1, 1, 1, 1, 1]),
        ("not age < 15", [0, 1, 1, 1, 1, 1]),
        ("not not age < 15", [1, 0, 0, 0, 0, 0]),
        ("age < 15 or age > 64", [1, 0, 0, 0, 1, 1]),
        ("sex == 2 and age >= 30", [0, 0, 1, 0, 1, 0]),
        ("AGE < 15", None),  # column names are case-sensitive: unknown column
        ("age < 15 OR age > 64", [1, 0, 0, 0, 1, 1]),  # keywords are not
        # precedence: not > and > or
        ("age < 15 or sex == 2 and age > 64", [1, 0, 0, 0, 1, 0]),
        ("(age < 15 or sex == 2) and age > 64", [0, 0, 0, 0, 1, 0]),
        ("not sex == 2 and age > 60", [0, 0, 0, 1, 0, 1]),
        ("not (sex == 2 and age > 60)", [1, 1, 1, 1, 0, 1]),
        ("age between 15 and 64 and sex == 1", [0, 0, 0, 1, 0, 0]),
        ("((age > 10))", [0, 1, 1, 1, 1, 1]),
    ],
)
def test_condition_grammar(g, text, want):
    if want is None:
        with pytest.raises(DataError, match="no column 'AGE'"):
            _cond(g, text)
        return
    assert _cond(g, text).astype(int).tolist() == want


def test_precedence_matches_explicit_parentheses(rr):
    sk = {"missing": "skip"}
    a = _cond(rr, "age < 15 or sex == 2 and not disabled == 1", **sk)
    b = _cond(rr, "(age < 15) or ((sex == 2) and (not (disabled == 1)))", **sk)
    c = _cond(rr, "(age < 15 or sex == 2) and not disabled == 1", **sk)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_is_missing_and_three_valued_logic(rr):
    age_na = rr["age"].isna().to_numpy()
    assert age_na.any()
    np.testing.assert_array_equal(_cond(rr, "age is missing"), age_na)
    np.testing.assert_array_equal(_cond(rr, "age is not missing"), ~age_na)
    # a missing value that cannot change the result is not needed
    _cond(rr, "age is missing or age >= 0")
    _cond(rr, "age is not missing and age >= 0")
    with pytest.raises(DataError, match="'age' is missing"):
        _cond(rr, "age >= 0")
    # skip: unknown counts as false, also under not
    got = _cond(rr, "not age >= 18", missing="skip")
    np.testing.assert_array_equal(got, (rr["age"] < 18).to_numpy())


def test_missing_not_needed_outside_among():
    r = small_roster()
    r["edu"] = r["edu"].astype(float)
    r.loc[r["age"] < 15, "edu"] = np.nan  # typical: education not asked of children
    out = proxies(
        r,
        {
            "sh": {"share": "edu == 3", "among": "age >= 15"},
            "n": {"count": "age < 15 or edu == 3"},
            "mx": {"max": "edu", "where": "age >= 15"},
        },
    )
    assert out["sh"].tolist() == pytest.approx([0.0, 1.0, 0.5])
    assert out["n"].tolist() == [2, 1, 2]
    assert out["mx"].tolist() == [2.0, 3.0, 3.0]


# ---------------------------------------------------------------------------------------
# the parser never evaluates Python
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "__import__('os').system('echo hi') == 0",
        "age.__class__ == 1",
        "eval('1') == 1",
        "lambda: 1",
        "1 == 1",
        "age == (1)",
        "[c for c in age]",
        "age @ 2",
        "age; import os",
    ],
)
def test_python_is_never_evaluated(g, text):
    with pytest.raises(DataError) as exc:
        proxies(g, {"x": {"count": text}}, household="hh")
    assert "cannot read the condition" in str(exc.value) or "no column" in str(exc.value)


def test_no_eval_functions_are_called(g, monkeypatch):
    spec = {"x": {"count": "region == \"__import__('os').system('exit 1')\" or age > 60"}}
    proxies(g, spec, household="hh")  # warm up imports

    def boom(*a, **k):
        raise AssertionError("eval-like function called")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(pd, "eval", boom)
    monkeypatch.setattr(pd.DataFrame, "eval", boom)
    monkeypatch.setattr(pd.DataFrame, "query", boom)
    out = proxies(g, spec, household="hh")
    assert out["x"].tolist() == [0, 2, 1]  # the text is only a value that no one has


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
def test_unknown_column_names_column_proxy_and_suggestion(rr):
    with pytest.raises(ProxyDefinitionError) as exc:
        proxies(
            rr,
            {
                "a": {"count": "agee > 3"},
                "b": {"sum": "wages"},
                "c": {"share": "sex == 2", "among": "nope == 1"},
            },
        )
    msg = str(exc.value)
    assert "proxy 'a': the roster has no column 'agee' (did you mean 'age'?)" in msg
    assert "proxy 'b': the roster has no column 'wages'" in msg
    assert "proxy 'c': the roster has no column 'nope'" in msg
    assert "3 problems" in msg
    assert isinstance(exc.value, DataError) and isinstance(exc.value, ConfigError)


def test_syntax_error_shows_expression_and_position(rr):
    with pytest.raises(DataError) as exc:
        proxies(rr, {"kids": {"count": "age < 15 and and sex == 2"}})
    msg = str(exc.value)
    assert "proxy 'kids'" in msg and "'age < 15 and and sex == 2'" in msg
    assert "at character 14" in msg
    lines = msg.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip() == "age < 15 and and sex == 2")
    assert lines[i + 1].index("^") == lines[i].index("age") + 13


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("age = 3", "compare with =="),
        ("age between 3", "expected and"),
        ("(age > 3", r"closing \)"),
        ("age > 3)", "expected and, or or the end"),
        ("age in 3", "a list in brackets"),
        ("age not 3", "expected in"),
        ("age is 3", "expected missing"),
        ("sex == 'a", "not closed"),
        ("", "empty"),
        ("age", "expected a comparison after the column"),
        ("age > 3 &", "write and"),
    ],
)
def test_syntax_errors(g, text, what):
    with pytest.raises(ProxyDefinitionError, match=what):
        proxies(g, {"x": {"count": text}}, household="hh")


def test_type_mismatches(g):
    with pytest.raises(ProxyDefinitionError) as exc:
        proxies(
            g,
            {
                "a": {"count": "region == 3"},
                "b": {"count": "sex == 'Male'"},
                "c": {"count": "region > 'a'"},
                "d": {"sum": "region"},
            },
            household="hh",
        )
    msg = str(exc.value)
    assert "proxy 'a': column 'region' holds text" in msg and "region == '3'" in msg
    assert "proxy 'b': column 'sex' holds numbers (codes)" in msg
    assert "proxy 'c': column 'region' holds text, which" in msg
    assert "proxy 'd': `sum` needs numbers" in msg


def test_missing_values_error_names_ids_and_fix(rr):
    with pytest.raises(DataError) as exc:
        proxies(rr, {"n_working": {"count": "employed == 1"}, "wages": {"sum": "inc_wages"}})
    msg = str(exc.value)
    n_emp = int(rr["employed"].isna().sum())
    assert "proxy 'n_working': the condition 'employed == 1' needs values that are missing: " in msg
    assert f"'employed' is missing for {n_emp} members ('hh_id/line' " in msg
    first = rr[rr["employed"].isna()].iloc[0]
    assert f"{first['hh_id']}/{first['line']}" in msg
    assert f"(and {n_emp - 5} more)" in msg
    assert (
        "declare `missing: skip` for this proxy to treat them as not meeting the condition" in msg
    )
    assert "proxy 'wages': 'inc_wages' is missing for" in msg
    assert "to leave them out" in msg
    # skip, per proxy or for all
    out = household_proxies(
        rr,
        {
            "proxies": {
                "n_working": {"count": "employed == 1", "missing": "skip"},
                "wages": {"sum": "inc_wages", "missing": "skip"},
            }
        },
    )
    want = groupby(rr, (rr["employed"] == 1).fillna(False).astype(int))
    np.testing.assert_array_equal(out["n_working"], want)
    out2 = household_proxies(
        rr, {"missing": "skip", "proxies": {"n_working": {"count": "employed == 1"}}}
    )
    pd.testing.assert_series_equal(out["n_working"], out2["n_working"])
    # a proxy may insist on errors under a global skip
    with pytest.raises(DataError, match="proxy 'n_working'"):
        household_proxies(
            rr,
            {
                "missing": "skip",
                "proxies": {"n_working": {"count": "employed == 1", "missing": "error"}},
            },
        )


def test_skipped_members_are_counted(rr):
    out = household_proxies(
        rr,
        {
            "missing": "skip",
            "proxies": {
                "n": {"count": "employed == 1"},
                "n_adult": {"count": "employed == 1", "where": "age >= 18"},
                "w": {"sum": "inc_wages"},
                "size": {"count": "all"},
            },
        },
    )
    skipped = out.attrs["missing_skipped"]
    assert skipped["n"] == int(rr["employed"].isna().sum())
    both = rr["employed"].isna() | rr["age"].isna()
    assert skipped["n_adult"] <= int(both.sum()) and skipped["n_adult"] > skipped["n"] // 2
    assert skipped["w"] == int(rr["inc_wages"].isna().sum())
    assert "size" not in skipped


def test_hand_built_definitions_are_validated(rr):
    bad = ProxyDefinitions(proxies=(ProxyDefinition("x", "count", "age >"),))
    with pytest.raises(ProxyDefinitionError, match="cannot read the condition 'age >'"):
        household_proxies(rr, bad)
    good = ProxyDefinitions(proxies=(ProxyDefinition("x", "count", "all"),))
    assert household_proxies(rr, good)["x"].sum() == len(rr)
    with pytest.raises(DataError, match="no rows"):
        household_proxies(rr.iloc[:0], good)


def test_missing_ids_without_person_column():
    df = pd.DataFrame({"hh": ["a", "a", "b"], "age": [1.0, np.nan, 3.0]}, index=[10, 11, 12])
    with pytest.raises(DataError, match=r"'age' is missing for 1 member \('hh' a \(row 11\)\)"):
        proxies(df, {"n": {"count": "age > 2"}}, household="hh")


def _heads(relation):
    df = pd.DataFrame(
        {
            "hh": ["001", "001", "002", "002", "003", "004", "004"],
            "line": [1, 2, 1, 2, 1, 1, 2],
            "age": [40, 38, 30, 5, 70, 60, 61],
            "relation": relation,
        }
    )
    df.attrs["roster"] = {"household": "hh", "person": "line", "relation": "relation"}
    return df


def test_zero_or_several_heads_name_households():
    df = _heads([1, 2, 3, 3, 1, 1, 1])  # 002: no head, 004: two heads
    spec = {
        "head": "relation == 1",
        "proxies": {
            "n": {"count": "all"},
            "head_age": {"head": "age"},
            "old_head": {"head": "age >= 65"},
        },
    }
    with pytest.raises(DataError) as exc:
        household_proxies(df, spec)
    msg = str(exc.value)
    assert "1 household has no head ('hh' 002)" in msg
    assert "1 household has more than one head ('hh' 004)" in msg
    assert msg.count("exactly one member") == 1  # reported once, not per head proxy
    # no head proxy: no check
    out = household_proxies(df, {"head": "relation == 1", "proxies": {"n": {"count": "all"}}})
    assert out["n"].tolist() == [2, 2, 1, 2]


def test_head_must_be_declared():
    df = _heads([1, 2, 1, 3, 1, 1, 2])
    with pytest.raises(DataError, match=r"no head rule is declared: add `head: \"relation == 1\"`"):
        proxies(df, {"head_age": {"head": "age"}, "h2": {"head": "age > 3"}})
    out = proxies(df, {"head_age": {"head": "age"}}, head="relation == 1")
    assert out["head_age"].tolist() == [40, 30, 70, 60]
    # codes of the relation column
    out = household_proxies(df, {"head": 1, "proxies": {"head_age": {"head": "age"}}})
    assert out["head_age"].tolist() == [40, 30, 70, 60]
    # head= overrides the file; a boolean mask or an aligned Series
    spec = {"head": "relation == 1", "proxies": {"head_age": {"head": "age"}}}
    mask = np.array([0, 1, 0, 1, 1, 0, 1], bool)
    assert household_proxies(df, spec, head=mask)["head_age"].tolist() == [38, 5, 70, 61]
    s = pd.Series(mask, index=df.index)
    assert household_proxies(df, spec, head=s)["head_age"].tolist() == [38, 5, 70, 61]
    with pytest.raises(DataError, match="roster's index"):
        household_proxies(df, spec, head=s.set_axis(range(10, 17)))
    with pytest.raises(DataError, match="one boolean per"):
        household_proxies(df, spec, head=mask[:3])
    with pytest.raises(DataError, match="relation column is not known"):
        household_proxies(
            df.drop(columns="relation").assign(r=1),
            {"head": 1, "proxies": {"head_age": {"head": "age"}}},
            head=None,
        )


def test_head_rule_with_missing_values():
    df = _heads([1, 2, 1, 3, 1, 1, 2]).astype({"relation": float})
    df.loc[3, "relation"] = np.nan
    spec = {"head": "relation == 1", "proxies": {"head_age": {"head": "age"}}}
    with pytest.raises(
        DataError,
        match=r"the head rule 'relation == 1' needs values.*002/2.*"
        r"`missing: skip` at the top level",
    ):
        household_proxies(df, spec)
    out = household_proxies(df, {**spec, "missing": "skip"})
    assert out["head_age"].tolist() == [40, 30, 70, 60]


def test_households_alignment(rr):
    ids = list(dict.fromkeys(rr["hh_id"]))
    hh = pd.DataFrame({"hh_id": ids[::-1], "w": 1.0}, index=pd.Index(range(len(ids)), name="r"))
    spec = {"hh_size": {"count": "all"}}
    base = proxies(rr, spec)
    out = proxies(rr, spec, households=hh)
    assert out.index.equals(hh.index)
    assert out["hh_size"].tolist() == base["hh_size"].loc[ids[::-1]].tolist()
    # the id may be the index of the household frame
    out2 = proxies(rr, spec, households=hh.set_index("hh_id"))
    assert out2.index.tolist() == ids[::-1]
    # a household without members; ids match as written ("001" is not "1")
    extra = pd.concat([hh, pd.DataFrame({"hh_id": ["1", "999"], "w": 1.0})], ignore_index=True)
    with pytest.raises(
        DataError,
        match=r"2 households of the household file have no member in "
        r"the roster \('hh_id' 1, 999\)",
    ):
        proxies(rr, spec, households=extra)
    # roster households missing from the file, repeated ids
    with pytest.raises(DataError) as exc:
        proxies(rr, spec, households=pd.concat([hh.iloc[2:], hh.iloc[2:3]]))
    msg = str(exc.value)
    assert "2 roster households are not in the household file" in msg
    assert f"1 household id appears more than once in the household file ({ids[-3]})" in msg
    # numbers against text
    with pytest.raises(DataError, match="text in"):
        proxies(rr, spec, households=pd.DataFrame({"hh_id": range(len(ids))}))


def test_by_two_levels(rr):
    spec = {
        "missing": "skip",
        "proxies": {
            "size": {"count": "all"},
            "wages": {"sum": "inc_wages"},
            "kids": {"count": "age < 18"},
        },
    }
    out = household_proxies(rr, spec, by=["hh_id", "family_id"])
    assert isinstance(out.index, pd.MultiIndex)
    assert out.index.names == ["hh_id", "family_id"]
    keys = ["hh_id", "family_id"]
    want_size = groupby(rr, np.ones(len(rr), int), key=keys)
    assert out.index.tolist() == want_size.index.tolist()
    np.testing.assert_array_equal(out["size"], want_size)
    np.testing.assert_allclose(out["wages"], groupby(rr, num(rr, "inc_wages").fillna(0), key=keys))
    np.testing.assert_array_equal(out["kids"], groupby(rr, (rr["age"] < 18).astype(int), key=keys))
    assert out["size"].sum() == len(rr)
    # one head per family: family 2 has no relation-1 member
    with pytest.raises(DataError, match=r"groups? have no head \('hh_id/family_id' "):
        household_proxies(
            rr,
            {"head": "relation == 1", "proxies": {"h": {"head": "age"}}},
            by=["hh_id", "family_id"],
        )
    head = (rr["line"].isin([1, 4])).to_numpy()
    out = household_proxies(rr, {"proxies": {"h": {"head": "line"}}}, by=keys, head=head)
    assert set(out["h"]) == {1, 4}
    with pytest.raises(DataError, match="leave households= out"):
        household_proxies(rr, spec, by=keys, households=pd.DataFrame({"hh_id": ["001"]}))


def test_household_column_required():
    df = pd.DataFrame({"hh": ["1"], "age": [3]})
    with pytest.raises(DataError, match="name the roster's household id column"):
        proxies(df, {"n": {"count": "all"}})
    with pytest.raises(DataError, match="no column"):
        proxies(df, {"n": {"count": "all"}}, household="hid")
    df2 = pd.DataFrame({"hh": ["1", None], "age": [3, 4]})
    with pytest.raises(DataError, match="1 roster row has no id in 'hh'"):
        proxies(df2, {"n": {"count": "all"}}, household="hh")


def test_labels():
    out = household_proxies(
        small_roster(),
        {
            "head": "relation == 1",
            "proxies": {
                "hh_size": {"count": "all", "label": "Household size"},
                "n": {"count": "all"},
                "kids": {"count": "age  between 0 and 2"},
                "sh": {"share": "employed == 1", "among": "age >= 15"},
                "any_d": {"any": "disabled == 1"},
                "all_e": {"all": "age >= 60"},
                "w": {"sum": "inc_wages"},
                "mx": {"max": "edu", "where": "age >= 15"},
                "fh": {"head": "sex == 2"},
                "ha": {"head": "age"},
                "r": {"ratio": ["kids", "hh_size"]},
            },
        },
    )
    assert out.attrs["labels"] == {
        "hh_size": "Household size",
        "n": "Number of members",
        "kids": "Members: age between 0 and 2",
        "sh": "Share of members: employed == 1 (among age >= 15)",
        "any_d": "Any member: disabled == 1",
        "all_e": "All members: age >= 60",
        "w": "Sum of inc_wages over members",
        "mx": "Maximum of edu over members (among age >= 15)",
        "fh": "Head: sex == 2",
        "ha": "Head's age",
        "r": "kids / hh_size",
    }


# ---------------------------------------------------------------------------------------
# definitions
# ---------------------------------------------------------------------------------------
def test_bad_definitions_listed_at_once():
    bad = {
        "missing": "drop",
        "extra": 1,
        "proxies": {
            "a": {"cnt": "age > 3"},
            "b": {"count": "age > 3", "sum": "age"},
            "c": {"ratio": ["a_typo", "b"]},
            "d": {"sum": "age + 1"},
            "e": {"count": "age >", "label": "E"},
            "f": {"head": "age", "where": "age > 3"},
            "g": {"count": "all", "if_zero": 0, "if_empty": 1},
            "h": {"share": "age > 3", "among": "sex == 1", "where": "sex == 2"},
            "i": {"ratio": "a"},
            "j": "count all",
            "k": {"count": 3},
            "l": {"share": "all", "if_empty": "x", "missing": "maybe"},
        },
    }
    with pytest.raises(ProxyDefinitionError) as exc:
        load_proxy_definitions(bad)
    err = exc.value
    assert isinstance(err, ConfigError) and isinstance(err, DataError)
    msg = str(err)
    for part in [
        "`missing` must be error or skip; got 'drop'",
        "unknown top-level key(s) 'extra'",
        "proxy 'a': unknown key(s) 'cnt' (did you mean count?)",
        "proxy 'a': no kind",
        "proxy 'b': two or more kinds (count, sum)",
        "proxy 'd': `sum` takes one column name",
        "proxy 'e' (count): cannot read the condition 'age >'",
        "proxy 'f': `head` takes no `among`/`where`",
        "proxy 'g': only a `ratio` takes `if_zero`",
        "proxy 'g': `if_empty` applies to share, mean, max, min",
        "proxy 'h': give `among` or `where` (synonyms), not both",
        "proxy 'i': `ratio` takes the names of two proxies",
        "proxy 'j': expected a mapping",
        "proxy 'k' (count): must be a condition in quotes",
        "proxy 'l': `if_empty` must be a number",
        "proxy 'l': `missing` must be error or skip",
    ]:
        assert part in msg, part
    assert len(err.problems) >= 16
    # ratio references are checked once the rest is valid
    with pytest.raises(
        ProxyDefinitionError,
        match=r"refers to 'n_kid', which is not a proxy.*did you mean 'n_kids'",
    ):
        load_proxy_definitions(
            {"proxies": {"n_kids": {"count": "all"}, "c": {"ratio": ["n_kid", "n_kids"]}}}
        )
    with pytest.raises(ProxyDefinitionError, match="cycle"):
        load_proxy_definitions(
            {"proxies": {"a": {"ratio": ["b", "b"]}, "b": {"ratio": ["a", "a"]}}}
        )
    with pytest.raises(ProxyDefinitionError, match="cannot refer to itself"):
        load_proxy_definitions({"proxies": {"a": {"ratio": ["a", "a"]}}})
    with pytest.raises(ProxyDefinitionError, match="non-empty mapping"):
        load_proxy_definitions({"proxies": {}})
    with pytest.raises(ProxyDefinitionError, match="must be a mapping"):
        load_proxy_definitions(42)
    with pytest.raises(ProxyDefinitionError, match="head"):
        load_proxy_definitions({"head": {"a": 1}, "proxies": {"n": {"count": "all"}}})


def test_yaml_file_and_round_trip(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        'head: "relation == 1"\n'
        "missing: skip\n"
        "description: test\n"
        "proxies:\n"
        "  hh_size: {count: all, label: Size}\n"
        '  sh: {share: "age < 15", among: "age >= 0", if_empty: 0}\n'
        '  m: {max: age, where: "sex == 2", missing: error, if_empty: -1}\n'
        "  r: {ratio: [sh, hh_size], if_zero: 0.5}\n"
        '  fh: {head: "sex == 2"}\n',
        encoding="utf-8",
    )
    defs = load_proxy_definitions(path)
    assert defs.names == ["hh_size", "sh", "m", "r", "fh"]
    assert defs.head == "relation == 1" and defs.missing == "skip"
    assert defs["sh"] == ProxyDefinition("sh", "share", "age < 15", where="age >= 0", if_empty=0)
    assert defs["sh"].among == "age >= 0"
    assert defs["r"].argument == ("sh", "hh_size") and defs["r"].if_zero == 0.5
    assert defs.columns == ["relation", "age", "sex"]
    assert load_proxy_definitions(defs.to_dict()) == defs
    assert load_proxy_definitions(defs) is defs
    assert len(defs) == 5 and [p.kind for p in defs] == ["count", "share", "max", "ratio", "head"]
    assert defs.uses_head
    # a bare mapping of proxies
    bare = load_proxy_definitions({"hh_size": {"count": "all"}})
    assert bare.names == ["hh_size"] and bare.head is None
    out = household_proxies(small_roster(), path)
    assert out["hh_size"].tolist() == [5, 1, 3]
    assert out.attrs["labels"]["hh_size"] == "Size"
    assert out.attrs["proxy_definitions"] == defs.to_dict()


def test_yaml_errors(tmp_path):
    with pytest.raises(ProxyDefinitionError, match="does not exist"):
        load_proxy_definitions(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("proxies: [\n", encoding="utf-8")
    with pytest.raises(ProxyDefinitionError, match="not valid YAML"):
        load_proxy_definitions(bad)
    dup = tmp_path / "dup.yaml"
    dup.write_text('proxies:\n  a: {count: all}\n  a: {count: "age > 3"}\n', encoding="utf-8")
    with pytest.raises(ProxyDefinitionError, match=r"repeat the key 'a' \(lines 2 and 3\)"):
        load_proxy_definitions(dup)
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ProxyDefinitionError, match="must be a mapping"):
        load_proxy_definitions(lst)


def test_kinds_constant():
    assert KINDS == ("count", "share", "any", "all", "sum", "mean", "max", "min", "head", "ratio")
    assert isinstance(load_proxy_definitions({"a": {"count": "all"}}), ProxyDefinitions)


# ---------------------------------------------------------------------------------------
# the shipped example
# ---------------------------------------------------------------------------------------
def test_example_yaml_on_hand_made_roster():
    path = example_proxies_path()
    assert path.is_file()
    defs = load_proxy_definitions(path)
    assert defs.head == "relation == 1"
    for name in [
        "hh_size",
        "n_children_0_2",
        "n_children_3_5",
        "n_children_6_14",
        "n_children_15_17",
        "n_children_0_5",
        "n_children_6_17",
        "n_adults",
        "n_elderly",
        "n_members_15plus",
        "n_disabled",
        "any_disabled",
        "n_employed",
        "n_edu_primary",
        "n_edu_tertiary",
        "n_pensioners",
        "n_mobile",
        "female_head",
        "head_age",
        "single_pensioner",
        "any_divorced",
        "share_children_0_2",
        "share_children_3_5",
        "share_children_6_14",
        "share_primary_edu",
        "share_tertiary_edu",
        "share_working",
        "share_mobile",
        "dependency_ratio",
        "head_edu",
        "max_edu",
    ]:
        assert name in defs.names, name
    assert all(p.label for p in defs.proxies)  # every proxy labelled
    r = small_roster()
    out = household_proxies(r, path)
    assert out.index.tolist() == ["001", "002", "003"]
    row = out.loc["001"]  # head 45 (m, secondary), wife 40 (primary), girl 16, boy 4, baby 1
    assert row["hh_size"] == 5
    assert (
        row["n_children_0_2"],
        row["n_children_3_5"],
        row["n_children_6_14"],
        row["n_children_15_17"],
    ) == (1, 1, 0, 1)
    assert row["n_adults"] == 2 and row["n_elderly"] == 0 and row["n_members_15plus"] == 3
    assert row["n_employed"] == 2 and row["share_working"] == pytest.approx(2 / 3)
    assert row["n_edu_primary"] == 2 and row["share_primary_edu"] == pytest.approx(2 / 3)
    assert row["share_children_0_2"] == pytest.approx(0.2)
    assert row["female_head"] == 0 and row["head_age"] == 45 and row["head_edu"] == 2
    assert row["dependency_ratio"] == pytest.approx(2 / 3)  # (4, 1) / (45, 40, 16)
    assert row["max_edu"] == 2 and row["any_disabled"] == 1 and row["single_pensioner"] == 0
    row = out.loc["002"]  # a widow of 72 living alone, pensioner, disabled, tertiary
    assert row["single_pensioner"] == 1 and row["female_head"] == 1
    assert row["n_pensioners"] == 1 and row["n_elderly"] == 1
    assert row["dependency_ratio"] == 1.0  # no member 15-64: the number of dependants
    row = out.loc["003"]  # divorced woman of 50 (tertiary, works), her mother 80, son 10
    assert row["any_divorced"] == 1 and row["single_pensioner"] == 0
    assert row["share_tertiary_edu"] == 0.5 and row["share_mobile"] == 0.5
    assert row["dependency_ratio"] == 2.0
    assert out["hh_size"].dtype == np.int64 and out["female_head"].dtype == np.int64
    assert out["head_age"].dtype == np.int64 and out["share_working"].dtype == np.float64
    assert out["dependency_ratio"].dtype == np.float64
    assert out.attrs["labels"]["hh_size"] == "Household size (members)"


def test_example_yaml_is_package_data():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["pmt"]
    assert "data_spec/examples/*.yaml" in patterns
    assert example_proxies_path() == ROOT / "pmt" / "data_spec" / "examples" / "roster_proxies.yaml"


def test_100k_persons_example_definitions():
    rng = np.random.default_rng(1)
    n_hh = 25_000
    size = rng.integers(1, 8, n_hh)
    n = int(size.sum())
    line = np.arange(n) - np.repeat(np.cumsum(size) - size, size) + 1
    ids = pd.Series(np.repeat(np.arange(n_hh), size)).map("{:06d}".format)
    df = pd.DataFrame(
        {
            "hh_id": ids,
            "line": line,
            "relation": pd.Categorical(
                np.where(line == 1, 1, rng.integers(2, 14, n)), categories=range(1, 14)
            ),
            "sex": pd.Categorical(rng.integers(1, 3, n), categories=[1, 2]),
            "age": np.where(line == 1, rng.integers(18, 90, n), rng.integers(0, 90, n)),
            "marital": pd.Categorical(rng.integers(1, 5, n), categories=[1, 2, 3, 4]),
            "edu": pd.Categorical(rng.integers(0, 4, n), categories=[0, 1, 2, 3]),
            "employed": rng.integers(0, 2, n),
            "disabled": rng.integers(0, 2, n),
            "pensioner": rng.integers(0, 2, n),
            "has_mobile": rng.integers(0, 2, n),
        }
    )
    df.attrs["roster"] = {"household": "hh_id", "person": "line", "relation": "relation"}
    defs = load_proxy_definitions(example_proxies_path())
    out = household_proxies(df, defs)
    # timing is measured in benchmarks/, not here: check the big roster's counts instead
    assert len(out) == n_hh and n > 90_000
    assert out["hh_size"].sum() == n
    assert out["n_elderly"].sum() == int((df["age"] >= 60).sum())


def test_sum_of_several_columns_adds_each_members_values():
    roster = pd.DataFrame({
        "hh": [1, 1, 2, 2, 2],
        "a": [1.0, 2.0, 3.0, 4.0, 5.0],
        "b": [10.0, 0.0, 0.5, np.nan, 1.0],
    })
    out = household_proxies(
        roster, {"proxies": {"ab": {"sum": ["a", "b"], "missing": "skip"}}}, household="hh"
    )
    # by hand: household 1: 1 + 2 + 10 + 0; household 2: 3 + 4 + 5 + 0.5 + 1 (NaN skipped)
    assert out["ab"].tolist() == [13.0, 13.5]
    assert out.attrs["labels"]["ab"] == "Sum of a + b over members"
    with pytest.raises(DataError, match="'b' is missing"):
        household_proxies(roster, {"proxies": {"ab": {"sum": ["a", "b"]}}}, household="hh")
    with pytest.raises(DataError, match="list of column names"):
        household_proxies(roster, {"proxies": {"ab": {"sum": ["a", 3]}}}, household="hh")
