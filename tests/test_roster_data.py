"""Tests of pmt.roster.data (read_roster, link_roster) and the roster roles of pmt.DataSpec.

Every expected value is computed in the test from the hand-made frames (dict look-ups,
value_counts, groupby, merge), never from the code under test.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from pmt.errors import DataError, DataSpecError
from pmt.roster.data import RosterLink, link_roster, read_roster, roster_spec_path
from pmt.spec import DataSpec

RELATION = {1: "Head", 2: "Spouse", 3: "Son or daughter", 4: "Other relative"}
SEX = {1: "Male", 2: "Female"}


def _spec(**extra_columns) -> DataSpec:
    columns = {
        "hh_id": {"type": "id", "role": "household_id"},
        "line": {"type": "id", "role": "person_id"},
        "relation": {"type": "categorical", "role": "relation", "codes": dict(RELATION)},
        "sex": {"type": "categorical", "role": "other", "codes": dict(SEX)},
        "age": {"type": "count", "role": "other", "range": [0, 120]},
    }
    columns.update(extra_columns)
    return DataSpec.from_dict({"name": "roster_test", "columns": columns})


def _roster() -> pd.DataFrame:
    # three households with text ids that need their leading zeros
    return pd.DataFrame(
        {
            "hh_id": ["001", "001", "001", "010", "010", "100"],
            "line": [1, 2, 3, 1, 2, 1],
            "relation": [1, 2, 3, 1, 4, 1],
            "sex": [1, 2, 2, 2, 1, 1],
            "age": [41, 39, 12, 67, 30, 25],
        }
    )


def _problems(exc: pytest.ExceptionInfo) -> list[str]:
    """The bullet lines of a link_roster error."""
    return str(exc.value).split("\n- ")[1:]


def _one(problems: list[str], pattern: str) -> str:
    hits = [p for p in problems if re.search(pattern, p)]
    assert len(hits) == 1, (pattern, problems)
    return hits[0]


# --- read_roster ------------------------------------------------------------------------
def test_read_from_dataframe_keeps_ids_codes_and_sets_roles():
    df = _roster()
    out = read_roster(df, _spec())
    assert out["hh_id"].tolist() == ["001", "001", "001", "010", "010", "100"]
    assert out["line"].tolist() == [1, 2, 3, 1, 2, 1]
    assert isinstance(out["relation"].dtype, pd.CategoricalDtype)
    assert list(out["relation"].cat.categories) == [1, 2, 3, 4]
    assert out["relation"].astype(int).tolist() == [1, 2, 3, 1, 4, 1]
    assert out["sex"].astype(int).tolist() == [1, 2, 2, 2, 1, 1]
    assert out["age"].tolist() == [41, 39, 12, 67, 30, 25]
    assert out.attrs["roster"] == {"household": "hh_id", "person": "line", "relation": "relation"}
    pd.testing.assert_frame_equal(df, _roster())  # the input is not modified


def test_read_without_relation_role():
    spec = _spec(relation={"type": "categorical", "role": "other", "codes": dict(RELATION)})
    out = read_roster(_roster(), spec)
    assert out.attrs["roster"] == {"household": "hh_id", "person": "line", "relation": None}


def test_default_spec_is_the_shipped_roster_spec():
    n = 3
    one = [1] * n
    df = pd.DataFrame({
        "hh_id": ["007", "007", "012"], "line": [1, 2, 1], "relation": [1, 2, 1],
        "sex": [1, 2, 2], "age": [50, 48, 33], "marital": [2, 2, 1],
        "spouse_line": [2, 1, None], "mother_line": [None] * n, "father_line": [None] * n,
        "edu": [2, 3, 1], "employed": one, "disabled": [0] * n, "pensioner": [0] * n,
        "has_mobile": one, "inc_wages": [100.0, 50.0, 0.0], "inc_pensions": [0.0] * n,
        "inc_alimony": [0.0] * n, "inc_business": [0.0] * n,
    })
    out = read_roster(df, extra="error")
    assert out.attrs["roster"] == {"household": "hh_id", "person": "line", "relation": "relation"}
    assert out["hh_id"].tolist() == ["007", "007", "012"]
    assert DataSpec.load(roster_spec_path()).columns == list(df.columns)


def test_read_csv_keeps_leading_zeros(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(
        "hh_id,line,relation,sex,age\n"
        "001,1,1,1,41\n001,2,2,2,39\n001,3,3,2,12\n010,1,1,2,67\n010,2,4,1,30\n100,1,1,1,25\n",
        encoding="utf-8",
    )
    out = read_roster(path, _spec())
    assert out["hh_id"].tolist() == ["001", "001", "001", "010", "010", "100"]
    assert out["line"].tolist() == [1, 2, 3, 1, 2, 1]
    assert out["relation"].astype(int).tolist() == [1, 2, 3, 1, 4, 1]
    assert out.attrs["roster"]["household"] == "hh_id"
    # and it links to a household file with the same text ids
    households = pd.DataFrame({"hh_id": ["100", "001", "010"]})
    link = link_roster(out, households, household="hh_id", person="line")
    assert link.members.tolist() == [1, 3, 2]


def test_read_semicolon_csv_with_reading_option(tmp_path):
    path = tmp_path / "roster.txt"
    path.write_text("hh_id;line;relation;sex;age\n0042;1;1;2;70\n0042;2;3;1;40\n", encoding="utf-8")
    out = read_roster(path, _spec(), sep=";")
    assert out["hh_id"].tolist() == ["0042", "0042"]
    assert out["age"].tolist() == [70, 40]


def test_read_labelled_stata_keeps_codes(tmp_path):
    path = tmp_path / "roster.dta"
    pyreadstat.write_dta(
        _roster(), str(path),
        variable_value_labels={"sex": dict(SEX), "relation": dict(RELATION)},
        column_labels=["Household", "Line", "Relationship", "Sex", "Age"],
    )
    out = read_roster(path, _spec())
    assert out["hh_id"].tolist() == ["001", "001", "001", "010", "010", "100"]
    assert out["line"].tolist() == [1, 2, 3, 1, 2, 1]
    # codes, not the value labels
    assert out["sex"].astype(int).tolist() == [1, 2, 2, 2, 1, 1]
    assert out["relation"].astype(int).tolist() == [1, 2, 3, 1, 4, 1]
    assert "Male" not in set(out["sex"].astype(object))
    assert out.attrs["roster"] == {"household": "hh_id", "person": "line", "relation": "relation"}


def test_read_stata_numeric_ids_come_back_whole(tmp_path):
    df = _roster().assign(hh_id=[1.0, 1.0, 1.0, 10.0, 10.0, 100.0])
    path = tmp_path / "roster.dta"
    pyreadstat.write_dta(df, str(path), variable_value_labels={"sex": dict(SEX)})
    out = read_roster(path, _spec())
    assert out["hh_id"].tolist() == [1, 1, 1, 10, 10, 100]
    assert pd.api.types.is_integer_dtype(out["hh_id"].dtype)


def test_read_stata_labels_contradicting_spec(tmp_path):
    path = tmp_path / "roster.dta"
    pyreadstat.write_dta(_roster(), str(path),
                         variable_value_labels={"sex": {1: "Female", 2: "Male"}})
    with pytest.raises(DataSpecError, match=r"column 'sex'.*code 1 'Female'"):
        read_roster(path, _spec())


def test_read_parquet(tmp_path):
    path = tmp_path / "roster.parquet"
    _roster().to_parquet(path)
    out = read_roster(path, _spec())
    assert out["hh_id"].tolist() == ["001", "001", "001", "010", "010", "100"]
    assert out["sex"].astype(int).tolist() == [1, 2, 2, 2, 1, 1]
    assert out.attrs["roster"]["person"] == "line"


@pytest.mark.parametrize("role", ["household_id", "person_id"])
def test_spec_without_a_roster_role(role):
    other = {"household_id": "hh_id", "person_id": "line"}[role]
    cols = {"hh_id": {"type": "id", "role": "household_id"},
            "line": {"type": "id", "role": "person_id"}}
    cols[other] = {"type": "id", "role": "other"}
    if role == "household_id":  # person_id alone is invalid in the spec itself
        cols["line"] = {"type": "id", "role": "other"}
    spec = DataSpec.from_dict({"name": "no_roles", "columns": cols})
    with pytest.raises(DataSpecError, match=f"no column with role '{role}'"):
        read_roster(pd.DataFrame({"hh_id": ["1"], "line": [1]}), spec)


def test_repeated_pair_names_household_and_line():
    df = _roster()
    df.loc[2, "line"] = 2  # 001/2 twice
    df.loc[4, "line"] = 1  # 010/1 twice
    with pytest.raises(DataSpecError) as exc:
        read_roster(df, _spec())
    [problem] = [p for p in exc.value.problems if "more than once" in p]
    assert "2 (household, person) pair(s)" in problem
    assert "001/2, 010/1" in problem
    assert "on 4 rows" in problem
    assert "hh_id/line 001/2, 001/2, 010/1, 010/1" in problem


def test_person_line_may_repeat_across_households():
    df = pd.DataFrame({"hh_id": ["001", "002", "003"], "line": [1, 1, 1],
                       "relation": [1, 1, 1], "sex": [1, 2, 1], "age": [30, 40, 50]})
    assert read_roster(df, _spec())["line"].tolist() == [1, 1, 1]


def test_reading_options_on_a_dataframe():
    with pytest.raises(DataError, match=r"reading options \(encoding, sep\)"):
        read_roster(_roster(), _spec(), sep=";", encoding="utf-8")


def test_relation_code_not_in_spec():
    df = _roster()
    df.loc[4, "relation"] = 9
    with pytest.raises(DataSpecError) as exc:
        read_roster(df, _spec())
    [problem] = exc.value.problems
    assert "column 'relation'" in problem
    assert "codes not in the spec (9)" in problem
    assert "hh_id/line 010/2" in problem


def test_missing_household_id_is_an_error():
    df = _roster().astype({"hh_id": object})
    df.loc[3, "hh_id"] = None
    with pytest.raises(DataSpecError, match=r"column 'hh_id': 1 missing values"):
        read_roster(df, _spec())


# --- roster roles in the data spec -------------------------------------------------------
def _spec_error(columns: dict) -> DataSpecError:
    with pytest.raises(DataSpecError) as exc:
        DataSpec.from_dict({"name": "bad", "columns": columns})
    return exc.value


def test_person_id_needs_household_id():
    err = _spec_error({"pid": {"type": "id", "role": "person_id"}})
    [problem] = err.problems
    assert problem.startswith("column 'pid': role 'person_id'")
    assert "role 'household_id'" in problem


def test_household_id_must_be_type_id():
    err = _spec_error({"hh": {"type": "count", "role": "household_id"},
                       "pid": {"type": "id", "role": "person_id"}})
    [problem] = err.problems
    assert "column 'hh'" in problem and "`type: id`" in problem and "'count'" in problem


def test_person_id_must_be_type_id():
    err = _spec_error({"hh": {"type": "id", "role": "household_id"},
                       "pid": {"type": "continuous", "role": "person_id"}})
    [problem] = err.problems
    assert "column 'pid'" in problem and "role 'person_id' needs `type: id`" in problem


def test_relation_must_be_categorical():
    err = _spec_error({"hh": {"type": "id", "role": "household_id"},
                       "rel": {"type": "count", "role": "relation"}})
    [problem] = err.problems
    assert "column 'rel'" in problem and "`type: categorical`" in problem


def test_two_household_id_columns_every_problem_reported():
    err = _spec_error({"hh_a": {"type": "count", "role": "household_id"},
                       "hh_b": {"type": "id", "role": "household_id"}})
    assert len(err.problems) == 2
    _one(err.problems, r"only one column may have role 'household_id'; got hh_a, hh_b")
    _one(err.problems, r"column 'hh_a': role 'household_id' needs `type: id`")


def test_two_relation_columns():
    err = _spec_error({"hh": {"type": "id", "role": "household_id"},
                       "rel1": {"type": "categorical", "role": "relation"},
                       "rel2": {"type": "categorical", "role": "relation"}})
    [problem] = err.problems
    assert "only one column may have role 'relation'; got rel1, rel2" in problem


# --- link_roster ------------------------------------------------------------------------
def test_row_of_person_members_and_sums():
    roster = _roster().sample(frac=1.0, random_state=3)  # rows out of household order
    income = np.array([10.0, 0.0, 5.5, 100.0, 1.25, 7.0])[: len(roster)]
    households = pd.DataFrame({"hh_id": ["010", "100", "001"], "size": [2, 1, 3]})
    link = link_roster(roster, households, household="hh_id", person="line", size="size")
    assert isinstance(link, RosterLink)
    position = {h: i for i, h in enumerate(households["hh_id"])}
    expected = [position[h] for h in roster["hh_id"]]
    assert link.row_of_person.dtype == np.int64
    assert link.row_of_person.tolist() == expected
    assert link.household_ids.tolist() == ["010", "100", "001"]
    assert (link.n_households, link.n_persons) == (3, 6)
    counts = roster["hh_id"].value_counts()
    assert link.members.tolist() == [counts[h] for h in households["hh_id"]]
    sums = pd.Series(income, index=roster.index).groupby(roster["hh_id"]).sum()
    np.testing.assert_allclose(link.to_households(income),
                               [sums[h] for h in households["hh_id"]])
    assert link.roster is roster


def test_to_households_nan_and_length():
    households = pd.DataFrame({"hh_id": ["001", "010", "100"]})
    link = link_roster(_roster(), households, household="hh_id", person="line")
    got = link.to_households([1.0, np.nan, 2.0, 3.0, 4.0, 5.0])
    assert np.isnan(got[0]) and got[1:].tolist() == [7.0, 5.0]
    with pytest.raises(DataError, match="got 5 values for a roster of 6 persons"):
        link.to_households([1.0] * 5)


def test_household_key_with_another_name():
    households = pd.DataFrame({"household": ["100", "001", "010"], "n": [1, 3, 2]})
    link = link_roster(_roster(), households, household="hh_id", person="line",
                       household_key="household", size="n")
    assert link.household_key == "household"
    position = {"100": 0, "001": 1, "010": 2}
    assert link.row_of_person.tolist() == [position[h] for h in _roster()["hh_id"]]
    with pytest.raises(DataError, match=r"household file has no column\(s\) 'hh_id'"):
        link_roster(_roster(), households, household="hh_id", person="line")


def test_every_problem_in_one_error():
    roster = pd.DataFrame({
        "hh": ["001", "001", "001", None, "002", "002", "099", "098", "004", "005"],
        "line": [1, 2, 2, 1, np.nan, 1, 1, 1, 1, 1],
    })
    households = pd.DataFrame({
        "hh": ["001", "002", "003", "004", "004", None, "005"],
        "size": [5, 2, 1, 1, 1, 1, np.nan],
    })
    with pytest.raises(DataError) as exc:
        link_roster(roster, households, household="hh", person="line", size="size")
    problems = _problems(exc)
    assert str(exc.value).startswith(
        "the roster and the household file do not match (8 problems)")
    assert len(problems) == 8
    p = _one(problems, "of the roster\\)")
    assert p.startswith("1 roster row has") and "row 3 of the roster" in p
    p = _one(problems, "no person id")
    assert p.startswith("1 roster row has") and "002 (row 4)" in p
    p = _one(problems, r"pair")
    assert p.startswith("1 (household, person) pair appears") and "001/2; 2 rows" in p
    p = _one(problems, "more than once in the household file")
    assert p.startswith("1 household id appears") and "'hh' 004)" in p
    p = _one(problems, "not in the household file")
    assert p.startswith("2 roster members belong to 2 households") and "099, 098" in p
    p = _one(problems, "no member in the roster")
    assert p.startswith("1 household of the household file has") and "'hh' 003)" in p
    p = _one(problems, "household file row")
    assert p.startswith("1 household file row has no household id") and "row 5" in p
    p = _one(problems, "size 'size' different")
    assert p.startswith("2 households have")
    # 001 has three roster rows (one a repeated pair), 005 has no size
    assert "001 (5 vs 3)" in p and "005 (missing vs 1)" in p
    assert "004" not in p  # a repeated household is reported once, as repeated


def test_repeated_household_without_members_reported_once():
    roster = pd.DataFrame({"hh": [1, 2], "line": [1, 1]})
    households = pd.DataFrame({"hh": [1, 2, 3, 3]})
    with pytest.raises(DataError) as exc:
        link_roster(roster, households, household="hh", person="line")
    problems = _problems(exc)
    assert len(problems) == 2
    _one(problems, r"^1 household id appears more than once .*'hh' 3\)")
    _one(problems, r"^1 household of the household file has no member .*'hh' 3\)")


def test_many_problems_are_counted_and_shortened():
    roster = pd.DataFrame({"hh": [f"{i:03d}" for i in range(1, 9)], "line": [1] * 8})
    households = pd.DataFrame({"hh": ["001"]})
    with pytest.raises(DataError) as exc:
        link_roster(roster, households, household="hh", person="line")
    [problem] = _problems(exc)
    assert problem.startswith("7 roster members belong to 7 households")
    assert "002, 003, 004, 005, 006 (and 2 more)" in problem


def test_size_check_error_warn_ignore():
    households = pd.DataFrame({"hh_id": ["001", "010", "100"], "size": [3, 4, 1]})
    kwargs = dict(household="hh_id", person="line", size="size")
    with pytest.raises(DataError) as exc:
        link_roster(_roster(), households, **kwargs)
    [problem] = _problems(exc)
    assert problem.startswith("1 household has a size 'size' different")
    assert "010 (4 vs 2)" in problem and "check_size='warn'" in problem
    with pytest.warns(UserWarning, match=r"010 \(4 vs 2\)"):
        link = link_roster(_roster(), households, check_size="warn", **kwargs)
    assert link.members.tolist() == [3, 2, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        link = link_roster(_roster(), households, check_size="ignore", **kwargs)
    assert link.members.tolist() == [3, 2, 1]
    with pytest.raises(DataError, match="check_size must be"):
        link_roster(_roster(), households, check_size="no", **kwargs)


def test_numeric_ids_match_by_value():
    roster = pd.DataFrame({"hh": np.array([1, 1, 2, 3], dtype=np.int64), "line": [1, 2, 1, 1]})
    households = pd.DataFrame({"hh": [3.0, 1.0, 2.0], "size": [1.0, 2.0, 1.0]})
    link = link_roster(roster, households, household="hh", person="line", size="size")
    assert link.row_of_person.tolist() == [1, 1, 2, 0]
    assert link.household_ids.tolist() == [3.0, 1.0, 2.0]  # kept as written
    # a fractional id matches only itself
    households = pd.DataFrame({"hh": [1.0, 2.0, 3.5]})
    with pytest.raises(DataError) as exc:
        link_roster(roster, households, household="hh", person="line")
    problems = _problems(exc)
    _one(problems, r"^1 roster member belongs to 1 household not in .*'hh' 3\)")
    _one(problems, r"^1 household of the household file has no member .*'hh' 3.5\)")


def test_text_ids_match_only_as_written():
    roster = pd.DataFrame({"hh": ["001", "1"], "line": [1, 1]})
    households = pd.DataFrame({"hh": ["1", "01"]})
    with pytest.raises(DataError) as exc:
        link_roster(roster, households, household="hh", person="line")
    problems = _problems(exc)
    _one(problems, r"^1 roster member belongs .*'hh' 001\)")
    _one(problems, r"^1 household of the household file has no member .*'hh' 01\)")


def test_text_against_numbers_says_how_to_convert():
    roster = pd.DataFrame({"hh_id": ["001", "002"], "line": [1, 1]})
    households = pd.DataFrame({"hh_id": [1, 2]})
    with pytest.raises(DataError) as exc:
        link_roster(roster, households, household="hh_id", person="line")
    msg = str(exc.value)
    assert "household ids are text in roster column 'hh_id'" in msg
    assert "'001'" in msg and "numbers in household file column 'hh_id'" in msg
    assert "astype(str).str.zfill(3)" in msg and "pd.to_numeric" in msg
    # a column mixing text and numbers
    mixed = pd.DataFrame({"hh_id": ["001", 2], "line": [1, 1]})
    with pytest.raises(DataError, match=r"mixes text \('001'\) and other values \(2\)"):
        link_roster(mixed, pd.DataFrame({"hh_id": ["001"]}), household="hh_id", person="line")


def test_inputs_are_not_modified():
    roster = _roster().sample(frac=1.0, random_state=1)
    households = pd.DataFrame({"hh_id": ["100", "001", "010", "777"], "size": [1, 3, 9, 1.0]})
    before_r, before_h = roster.copy(deep=True), households.copy(deep=True)
    with pytest.raises(DataError):
        link_roster(roster, households, household="hh_id", person="line", size="size")
    link_roster(roster, households.iloc[:3], household="hh_id", person="line",
                size="size", check_size="ignore")
    pd.testing.assert_frame_equal(roster, before_r)
    pd.testing.assert_frame_equal(households, before_h)


def test_large_random_roster_matches_pandas_merge():
    rng = np.random.default_rng(20240611)
    n_hh = 50_000
    sizes = rng.integers(1, 8, n_hh)
    ids = np.array([f"{i:07d}" for i in rng.permutation(n_hh) * 3 + 1], dtype=object)
    roster = pd.DataFrame({
        "hh_id": np.repeat(ids, sizes),
        "line": np.concatenate([np.arange(1, s + 1) for s in sizes]),
    })
    roster = roster.iloc[rng.permutation(len(roster))].reset_index(drop=True)
    roster["income"] = rng.gamma(2.0, 100.0, len(roster))
    assert len(roster) > 190_000
    order = rng.permutation(n_hh)
    households = pd.DataFrame({"hid": ids[order], "size": sizes[order]})
    link = link_roster(roster, households, household="hh_id", person="line",
                       household_key="hid", size="size")
    pos = households[["hid"]].assign(pos=np.arange(n_hh))
    merged = roster[["hh_id"]].merge(pos, left_on="hh_id", right_on="hid", how="left",
                                     validate="many_to_one")
    np.testing.assert_array_equal(link.row_of_person, merged["pos"].to_numpy())
    np.testing.assert_array_equal(link.members, households["size"].to_numpy())
    sums = roster.groupby("hh_id")["income"].sum().reindex(households["hid"]).to_numpy()
    np.testing.assert_allclose(link.to_households(roster["income"]), sums, rtol=1e-12)
