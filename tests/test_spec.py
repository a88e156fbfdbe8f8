"""Tests of pmt.DataSpec: parsing the YAML format and validating data against it."""

from __future__ import annotations

import hashlib
import re
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

import pmt
from pmt.errors import DataSpecError
from pmt.spec import DataSpec

SPEC_YAML = textwrap.dedent(
    """\
    name: hbs_test
    version: 1
    description: test household file
    columns:
      hh_id:
        type: id
        role: id
        label: Household identifier
      region:
        type: categorical
        role: region
        label: Region
        question: In which region does the household live?
        verifiable: true
        codes: {1: Karakalpakstan, 2: Andijan, 3: Bukhara}
      weight:
        type: continuous
        role: weight
      hh_size:
        type: count
        role: size
        range: [1, 30]
      rooms:
        type: count
        role: proxy
        label: Number of living rooms
        question: How many rooms does the household occupy, excluding kitchen and bathroom?
        verifiable: true
        range: [1, 20]
      car:
        type: binary
        role: proxy
        label: Owns a car
      land:
        type: continuous
        role: proxy
        range: [0, null]
        nullable: true
      pcc:
        type: continuous
        role: welfare
        label: Consumption per capita
        unit: local currency per person per month
        range: [0.01, null]
    """
)


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "hbs.yaml"
    p.write_text(SPEC_YAML)
    return DataSpec.load(p)


def good_data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hh_id": [101, 102, 103, 104],
            "region": [1, 2, 3, 2],
            "weight": [120.5, 80.0, 99.0, 101.0],
            "hh_size": [3, 1, 5, 2],
            "rooms": [2, 1, 4, 2],
            "car": [0, 1, 0, 0],
            "land": [0.0, np.nan, 12.5, 3.0],
            "pcc": [150.0, 420.0, 88.0, 230.0],
            "note": ["a", "b", "c", "d"],
        }
    )


def test_load_and_lookups(spec):
    assert spec.name == "hbs_test" and len(spec) == 8
    assert spec.labels["rooms"] == "Number of living rooms"
    assert spec.labels["weight"] == "weight"  # label defaults to the name
    assert spec.question("region") == "In which region does the household live?"
    assert spec.question("car") is None
    assert spec.codes("region") == {1: "Karakalpakstan", 2: "Andijan", 3: "Bukhara"}
    assert spec.columns_with_role("proxy") == ["rooms", "car", "land"]
    assert spec.design() == {"weight": "weight", "size": "hh_size", "strata": None, "psu": None}
    assert spec["land"].nullable and not spec["pcc"].nullable
    assert spec["region"].verifiable and not spec["car"].verifiable
    assert pmt.DataSpec is DataSpec


def test_hash_is_sha256_of_canonical_content(spec, tmp_path):
    canon = yaml.safe_dump(spec.to_dict(), sort_keys=True, allow_unicode=True)
    assert spec.hash == hashlib.sha256(canon.encode()).hexdigest()
    # comments, key order and layout do not change the hash; content does
    p = tmp_path / "same.yaml"
    p.write_text("# a comment\n" + SPEC_YAML.replace("version: 1\n", "") + "version: 1\n")
    assert DataSpec.load(p).hash == spec.hash
    p.write_text(SPEC_YAML.replace("range: [1, 20]", "range: [1, 25]"))
    assert DataSpec.load(p).hash != spec.hash
    # round trip through YAML text keeps the content
    p.write_text(spec.to_yaml())
    assert DataSpec.load(p).hash == spec.hash


def test_subset(spec):
    sub = spec.subset(["hh_id", "pcc"])
    assert sub.columns == ["hh_id", "pcc"] and sub.name == spec.name
    with pytest.raises(DataSpecError, match=r"subset: column\(s\) nope are not in data spec"):
        spec.subset(["hh_id", "nope"])
    with pytest.raises(DataSpecError, match=r"column 'nope' is not in data spec 'hbs_test'"):
        spec.question("nope")


def test_validate_returns_typed_copy(spec):
    df = good_data()
    with pytest.warns(UserWarning, match=r"not in spec 'hbs_test' passed through unchecked: note"):
        out = spec.validate(df)
    assert isinstance(out.region.dtype, pd.CategoricalDtype)
    assert list(out.region.cat.categories) == [1, 2, 3]
    assert out.region.tolist() == [1, 2, 3, 2]
    assert out.car.dtype == np.int64 and out.rooms.dtype == np.int64
    assert out.note.tolist() == ["a", "b", "c", "d"]  # extra column passed through
    assert out.attrs["extra_columns"] == ["note"]
    assert out.attrs["spec_hash"] == spec.hash
    assert df.region.dtype == np.int64  # input untouched
    # labels instead of codes (e.g. Stata value labels) are mapped to the codes
    df2 = df.assign(region=["Karakalpakstan", "andijan", 3, "2"])
    out2 = spec.validate(df2, extra="ignore")
    assert out2.region.tolist() == [1, 2, 3, 2]


def test_validate_reports_every_problem_at_once(spec):
    df = good_data()
    df.loc[1, "hh_id"] = 101  # duplicate id
    df.loc[2, "region"] = 9  # code not in spec
    df.loc[3, "weight"] = 0.0  # zero weight
    df.loc[0, "hh_size"] = 0  # household of size 0
    df.loc[2, "rooms"] = 25  # out of range
    df.loc[3, "car"] = 2  # binary not in {0, 1}
    df.loc[0, "pcc"] = -5.0  # non-positive welfare before a log
    df = df.drop(columns="land")  # missing column
    with pytest.raises(DataSpecError) as err:
        spec.validate(df, extra="ignore")
    problems = err.value.problems
    text = str(err.value)
    # 8 mistakes; the size 0 and the negative welfare also break their declared ranges
    assert "10 problems" in text and len(problems) == 10
    expected = [
        r"column 'land' \(land\) is missing",
        r"column 'hh_id': 1 duplicate id value\(s\) \(101\) on 2 rows at rows 0, 1",
        r"column 'region': 1 values with codes not in the spec \(9\) at row 2; allowed codes: "
        r"1 \(Karakalpakstan\)",
        r"column 'weight': survey weights must be positive; 1 zero or negative weights at row 3",
        r"column 'hh_size': .*outside the range \[1, 30\] \(0\) at row 0",
        r"column 'hh_size': household size must be at least 1; 1 households of size 0 at row 0",
        r"column 'rooms': values outside the range \[1, 20\] \(25\) at row 2",
        r"column 'car': binary values must be 0 or 1; found 2 at row 3",
        r"column 'pcc': values outside the range \[0.01, null\] \(-5\) at row 0",
        r"column 'pcc': 1 zero or negative values at row 0, but the column will be logged",
    ]
    for pattern in expected:
        assert any(re.search(pattern, p) for p in problems), pattern


def test_problems_name_rows_by_id_when_ids_are_unique(spec):
    df = good_data()
    df.loc[2, "car"] = 7
    df.loc[3, "pcc"] = np.nan
    with pytest.raises(DataSpecError) as err:
        spec.validate(df, extra="ignore")
    assert any("found 7 at hh_id 103" in p for p in err.value.problems)
    assert any(
        "column 'pcc': 1 missing values at hh_id 104" in p and "nullable: true" in p
        for p in err.value.problems
    )


def test_type_problems(spec):
    df = good_data()
    df["rooms"] = [2, 1.5, 3, 2]  # non-integer count
    df["weight"] = ["1", "x", "2", "3"]  # non-numeric
    with pytest.raises(DataSpecError) as err:
        spec.validate(df, extra="ignore")
    probs = err.value.problems
    assert any("column 'rooms': counts must be non-negative whole numbers; found 1.5" in p for p in probs)
    assert any("column 'weight': 1 non-numeric values (x) at hh_id 102" in p for p in probs)


def test_log_key_and_extra_error(tmp_path):
    raw = {
        "name": "t",
        "columns": {
            "id": {"type": "id", "role": "id"},
            "inc": {"type": "continuous", "role": "verifiable_income", "log": True},
        },
    }
    spec = DataSpec.from_dict(raw)
    df = pd.DataFrame({"id": [1, 2], "inc": [0.0, 10.0], "x": [1, 2]})
    with pytest.raises(DataSpecError) as err:
        spec.validate(df, extra="error")
    assert any("'inc': 1 zero or negative values at id 1" in p for p in err.value.problems)
    assert any("column(s) x are not in spec 't'" in p for p in err.value.problems)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = spec.validate(df.assign(inc=[1.0, 2.0]).drop(columns="x"))
    assert out.inc.dtype == float


@pytest.mark.parametrize(
    "columns, pattern",
    [
        ({"a": {"type": "text", "role": "proxy"}}, r"column 'a', key 'type': 'text' is not one of"),
        ({"a": {"type": "count", "role": "asset"}}, r"column 'a', key 'role': 'asset' is not one of"),
        (
            {"a": {"type": "count", "role": "proxy", "codes": {1: "x"}}},
            r"column 'a', key 'codes': codes are only allowed on a categorical",
        ),
        (
            {"a": {"type": "count", "role": "proxy", "range": [5, 1]}},
            r"column 'a', key 'range': low 5 is above high 1",
        ),
        (
            {"a": {"type": "count", "role": "proxy", "range": [1]}},
            r"column 'a', key 'range': must be \[low, high\]",
        ),
        (
            {"a": {"type": "count", "role": "proxy", "rnage": [1, 2]}},
            r"column 'a': unknown key\(s\) rnage",
        ),
        (
            {"a": {"type": "count", "role": "proxy", "nullable": "no"}},
            r"column 'a', key 'nullable': must be true or false",
        ),
        (
            {"a": {"type": "id", "role": "id"}, "b": {"type": "id", "role": "id"}},
            r"only one column may have role 'id'",
        ),
        ({}, r"key 'columns': must be a non-empty mapping"),
    ],
)
def test_invalid_yaml_specs(columns, pattern):
    with pytest.raises(DataSpecError, match=pattern):
        DataSpec.from_dict({"name": "bad", "columns": columns})


def test_invalid_spec_lists_all_problems_and_file_errors(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\ncolumns:\n  a: {type: foo, role: proxy}\n  b: {type: count, role: bar}\n")
    with pytest.raises(DataSpecError, match=r"data spec '.*bad.yaml' is not a valid data spec") as err:
        DataSpec.load(p)
    assert len(err.value.problems) == 2
    with pytest.raises(DataSpecError, match=r"does not exist"):
        DataSpec.load(tmp_path / "missing.yaml")
    p.write_text("name: [unclosed\n")
    with pytest.raises(DataSpecError, match=r"is not valid YAML"):
        DataSpec.load(p)


def test_categorical_codes_from_floats_strings_and_missing():
    spec = DataSpec.from_dict(
        {
            "name": "t",
            "columns": {
                "r": {"type": "categorical", "role": "region", "codes": {1: "A", 2: "B"},
                      "nullable": True},
                "k": {"type": "count", "role": "proxy", "nullable": True},
            },
        }
    )
    # a CSV column with a gap is read as floats; codes may also arrive as text or labels
    df = pd.DataFrame({"r": [1.0, np.nan, 2.0], "k": [1.0, np.nan, 3.0]})
    out = spec.validate(df)
    assert out.r.tolist()[0] == 1 and pd.isna(out.r.iloc[1]) and out.r.tolist()[2] == 2
    assert str(out.k.dtype) == "Int64" and out.k.iloc[2] == 3
    text = pd.DataFrame({"r": pd.array(["A", pd.NA, "2"], dtype="string"), "k": [1, 2, 3]})
    assert spec.validate(text).r.cat.codes.tolist() == [0, -1, 1]
    with pytest.raises(DataSpecError, match=r"codes not in the spec \(2.5\) at row 2"):
        spec.validate(pd.DataFrame({"r": [1.0, np.nan, 2.5], "k": [1, 2, 3]}))


@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda d: d.assign(pcc=[150.0, 0.0, 88.0, 230.0]),
         "column 'pcc': 1 zero or negative values at hh_id 102, but the column will be logged"),
        (lambda d: d.assign(weight=[120.5, -3.0, 99.0, 0.0]),
         "column 'weight': survey weights must be positive; 2 zero or negative weights at "
         "hh_id 102, 104"),
        (lambda d: d.assign(hh_size=[3, 1, 0, 2]),
         "column 'hh_size': household size must be at least 1; 1 households of size 0 at hh_id 103"),
        (lambda d: d.assign(region=[1, 2, 3, 14]),
         "column 'region': 1 values with codes not in the spec (14) at hh_id 104"),
        (lambda d: d.drop(columns="rooms"),
         "column 'rooms' (Number of living rooms) is missing: add it or remove it from spec"),
        (lambda d: d.assign(hh_id=[101, 102, 102, 104]),
         "column 'hh_id': 1 duplicate id value(s) (102) on 2 rows at rows 1, 2"),
    ],
)
def test_single_bad_inputs_have_clear_messages(spec, mistake, message):
    with pytest.raises(DataSpecError) as err:
        spec.validate(mistake(good_data()), extra="ignore")
    assert message in str(err.value)
    assert any(message in p for p in err.value.problems)


def test_duplicate_column_names(spec):
    df = pd.concat([good_data(), good_data()[["rooms"]]], axis=1)
    with pytest.raises(DataSpecError, match=r"column name\(s\) rooms appear more than once"):
        spec.validate(df)


def test_repository_hbs_spec_validates_the_synthetic_survey():
    from pathlib import Path

    from pmt import datasets

    path = Path(__file__).resolve().parents[1] / "data_spec" / "hbs.yaml"
    spec = DataSpec.load(path)
    df = datasets.synthetic_hbs(n_households=1000, seed=2)
    out = spec.validate(df, extra="error")
    assert len(out) == 1000 and out.attrs["spec_hash"] == spec.hash
    bad = df.copy()
    bad.loc[bad.index[:3], "hh_size"] = 0
    with pytest.raises(DataSpecError, match=r"household size must be at least 1; 3 households"):
        spec.validate(bad)


def test_with_nullable_all_or_per_column():
    spec = pmt.DataSpec.from_dict({"name": "s", "columns": {
        "a": {"type": "continuous", "role": "proxy"},
        "b": {"type": "continuous", "role": "proxy", "nullable": True}}})
    relaxed = spec.with_nullable(True)
    assert [relaxed[c].nullable for c in ("a", "b")] == [True, True]
    back = relaxed.with_nullable({"a": False})
    assert [back[c].nullable for c in ("a", "b")] == [False, True]
    assert back.hash == spec.hash  # the same declarations again
    assert [spec[c].nullable for c in ("a", "b")] == [False, True]  # the original is untouched
