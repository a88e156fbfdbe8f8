"""Tests of pmt.read_data / pmt.write_data: round trips, value labels, bad files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import pmt
from pmt.errors import DataError, DataSpecError
from pmt.io import read_data, write_data
from pmt.spec import DataSpec

SPEC = DataSpec.from_dict(
    {
        "name": "io_test",
        "columns": {
            "hh_id": {"type": "id", "role": "id"},
            "region": {
                "type": "categorical",
                "role": "region",
                "codes": {1: "North", 2: "South", 3: "East"},
            },
            "rooms": {"type": "count", "role": "proxy", "range": [1, 20]},
            "car": {"type": "binary", "role": "proxy"},
            "pcc": {"type": "continuous", "role": "welfare", "range": [0.01, None]},
        },
    }
)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hh_id": [1, 2, 3, 4],
            "region": [1, 2, 3, 1],
            "rooms": [2, 3, 1, 4],
            "car": [0, 1, 0, 1],
            "pcc": [120.5, 330.25, 87.0, 1500.0],
        }
    )


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xlsx"])
def test_write_read_round_trip(tmp_path, ext):
    df = frame()
    path = write_data(df, tmp_path / f"hh{ext}")
    back = read_data(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back.attrs["source"] == str(path)
    typed = read_data(path, spec=SPEC)
    assert list(typed.region.cat.categories) == [1, 2, 3]
    assert typed.region.tolist() == [1, 2, 3, 1]
    assert pmt.read_data is read_data and pmt.write_data is write_data


def test_parquet_categoricals(tmp_path):
    typed = SPEC.validate(frame()).assign(
        label=pd.Categorical(["North", "South", "East", "North"])
    )
    back = read_data(write_data(typed, tmp_path / "t.parquet"))
    # text categories survive; integer codes come back as integers and the spec re-types them
    assert isinstance(back.label.dtype, pd.CategoricalDtype)
    assert back.region.tolist() == [1, 2, 3, 1]
    again = SPEC.validate(back, extra="ignore")
    assert list(again.region.cat.categories) == [1, 2, 3]


def test_excel_sheet_selection(tmp_path):
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xw:
        frame().to_excel(xw, sheet_name="readme", index=False)
        frame().assign(pcc=1.0).to_excel(xw, sheet_name="households", index=False)
    assert read_data(p, sheet="households").pcc.tolist() == [1.0] * 4
    assert read_data(p, sheet=0).pcc.tolist() == frame().pcc.tolist()
    with pytest.raises(DataError, match=r"has no sheet 'hh'; its sheets are readme, households"):
        read_data(p, sheet="hh")
    with pytest.raises(DataError, match=r"sheet 5 does not exist"):
        read_data(p, sheet=5)


def test_stata_value_labels_become_categories(tmp_path):
    p = tmp_path / "hh.dta"
    frame().to_stata(
        p,
        write_index=False,
        value_labels={"region": {1: "North", 2: "South", 3: "East"}},
        variable_labels={"pcc": "Consumption per capita"},
    )
    df = read_data(p)
    assert isinstance(df.region.dtype, pd.CategoricalDtype)
    assert df.region.tolist() == ["North", "South", "East", "North"]
    assert list(df.region.cat.categories) == ["North", "South", "East"]  # code order
    assert df.attrs["variable_labels"]["pcc"] == "Consumption per capita"
    assert df.attrs["value_labels"]["region"] == {1: "North", 2: "South", 3: "East"}
    # with a spec the codes are checked against the spec's codes
    typed = read_data(p, spec=SPEC)
    assert typed.region.tolist() == [1, 2, 3, 1]
    np.testing.assert_allclose(typed.pcc, frame().pcc)


def test_spss_value_labels_become_categories(tmp_path):
    p = tmp_path / "hh.sav"
    pyreadstat.write_sav(
        frame(),
        str(p),
        column_labels={"rooms": "Number of rooms"},
        variable_value_labels={"region": {1: "North", 2: "South", 3: "East"}, "car": {0: "no", 1: "yes"}},
    )
    df = read_data(p)
    assert df.region.tolist() == ["North", "South", "East", "North"]
    assert df.car.tolist() == ["no", "yes", "no", "yes"]
    assert df.attrs["variable_labels"]["rooms"] == "Number of rooms"
    typed = read_data(p, spec=SPEC)
    assert typed.car.tolist() == [0, 1, 0, 1] and typed.car.dtype == np.int64
    assert typed.region.tolist() == [1, 2, 3, 1]


def test_read_with_spec_reports_problems(tmp_path):
    df = frame()
    df.loc[2, "region"] = 7
    df.loc[1, "hh_id"] = 1
    p = write_data(df, tmp_path / "bad.csv")
    with pytest.raises(DataSpecError) as err:
        read_data(p, spec=SPEC)
    probs = err.value.problems
    assert any("codes not in the spec (7) at row 2" in x for x in probs)
    assert any("duplicate id value(s) (1) on 2 rows at rows 0, 1" in x for x in probs)


def test_spec_given_as_path(tmp_path):
    spec_path = tmp_path / "s.yaml"
    SPEC.to_yaml(spec_path)
    out = read_data(write_data(frame(), tmp_path / "a.csv"), spec=spec_path)
    assert out.attrs["spec_name"] == "io_test"


def test_missing_empty_and_wrong_files(tmp_path):
    with pytest.raises(DataError, match=r"data file '.*nope.csv' does not exist"):
        read_data(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"is empty \(0 bytes\)"):
        read_data(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("hh_id,pcc\n")
    with pytest.raises(DataError, match=r"has column names but no rows"):
        read_data(header_only)
    text_dta = tmp_path / "really_text.dta"
    text_dta.write_text("hh_id,pcc\n1,2\n")
    with pytest.raises(DataError, match=r"'really_text.dta' does not look like a stata file"):
        read_data(text_dta)
    fake_parquet = tmp_path / "x.parquet"
    fake_parquet.write_text("not parquet")
    with pytest.raises(DataError, match=r"does not look like a parquet file"):
        read_data(fake_parquet)
    fake_xlsx = tmp_path / "x.xlsx"
    fake_xlsx.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match=r"could not read 'x.xlsx' as a excel file"):
        read_data(fake_xlsx)
    binary_csv = tmp_path / "b.csv"
    binary_csv.write_bytes(b"PAR1\x00\x00\x01")
    with pytest.raises(DataError, match=r"does not look like a csv file"):
        read_data(binary_csv)
    with pytest.raises(DataError, match=r"unknown file type '.json'. Supported: .csv"):
        read_data(tmp_path / "data.json")
    with pytest.raises(DataError, match=r"`sheet` applies to Excel files only"):
        read_data(write_data(frame(), tmp_path / "ok.csv"), sheet="x")


def test_write_errors(tmp_path):
    with pytest.raises(DataError, match=r"cannot write 'x.json': unknown file type '.json'"):
        write_data(frame(), tmp_path / "x.json")
    with pytest.raises(DataError, match=r"folder '.*nodir' does not exist"):
        write_data(frame(), tmp_path / "nodir" / "x.csv")
    with pytest.raises(DataError, match=r"needs a pandas DataFrame"):
        write_data([1, 2], tmp_path / "x.csv")
