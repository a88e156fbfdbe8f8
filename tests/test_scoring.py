"""Registry scoring: chunked streaming, rejects with reasons, row balance, engines agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pmt.artifacts import save_model
from pmt.errors import DataError, ModelError
from pmt.registry_scoring import score_file
from pmt.scorecard import Scorecard

FORMULA = "log_pcc ~ car + fridge + rooms + land + land_sq + share_mobile + C(region)"
RATIOS = {"share_mobile": ("n_mobile", "n_adults")}


def _households(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "hh_id": np.arange(100_000, 100_000 + n),
            "car": rng.integers(0, 2, n),
            "fridge": (rng.random(n) < 0.7).astype(int),
            "rooms": rng.choice([1, 2, 3, 4, 5], n, p=[0.25, 0.35, 0.2, 0.15, 0.05]),
            "land": np.where(rng.random(n) < 0.4, 0.0, np.round(rng.gamma(1.2, 45, n), 1)),
            "region": rng.integers(1, 5, n),
            "n_adults": rng.integers(1, 5, n),
        }
    )
    df["n_mobile"] = rng.binomial(df["n_adults"], 0.6)
    df["share_mobile"] = df["n_mobile"] / df["n_adults"]
    df["land_sq"] = df["land"] ** 2
    df["log_pcc"] = (
        10 + 0.2 * df["car"] + 0.15 * df["fridge"] + 0.08 * df["rooms"] + 0.00974 * df["land"]
        - 5.45e-05 * df["land_sq"] + 0.26 * df["share_mobile"] + 0.1 * (df["region"] == 3)
        + rng.normal(0, 0.35, n)
    )
    return df


@pytest.fixture(scope="module")
def fitted():
    from pmt.models.ols import ols

    train = _households(3000, 1)
    model = ols(FORMULA, train)
    line = float(np.quantile(train["log_pcc"], 0.25))
    sc = Scorecard.from_model(model, data=train, threshold=line, ratios=RATIOS)
    return model, sc, line


# planted bad rows: position -> expected reason fragment
BAD = {
    3: "unknown code in 'region'",
    10: "missing value for 'car'",
    11: "missing value for 'land'",
    250: "'n_mobile' exceeds 'n_adults'",
    999: "missing value for 'n_adults'",
    1500: "unknown code in 'region'",
}


@pytest.fixture()
def registry():
    df = _households(2000, 2).drop(columns=["log_pcc", "share_mobile", "land_sq"])
    df["region"] = df["region"].astype(float)
    df["car"] = df["car"].astype(float)
    df["land"] = df["land"].astype(float)
    df["n_adults"] = df["n_adults"].astype(float)
    df.loc[3, "region"] = 99
    df.loc[10, "car"] = np.nan
    df.loc[11, "land"] = np.nan
    df.loc[250, ["n_adults", "n_mobile"]] = [1, 3]
    df.loc[999, "n_adults"] = np.nan
    df.loc[1500, "region"] = 0
    return df


def _by_hand(sc, df):
    """Total points per record from the scorecard's conditions, row by row."""
    totals = []
    for _, r in df.iterrows():
        total = 0
        for q in sc.questions:
            x = r[q.field] if not q.per else (r[q.field] / r[q.per] if r[q.per] else 0.0)
            for a in q.answers:
                c = a.condition
                hit = (x == c["equals"]) if "equals" in c else (
                    ("gt" not in c or x > c["gt"]) and ("ge" not in c or x >= c["ge"])
                    and ("lt" not in c or x < c["lt"]) and ("le" not in c or x <= c["le"]))
                if hit:
                    total += a.points
                    break
        totals.append(total)
    return np.array(totals)


def test_parquet_scorecard_rows_balance_and_rejects(fitted, registry, tmp_path):
    _, sc, _ = fitted
    src = tmp_path / "reg.parquet"
    registry.to_parquet(src, index=False)
    summary = score_file(sc, src, tmp_path / "scores.parquet", chunksize=300)
    assert summary.n_input == len(registry) == 2000
    assert summary.n_rejected == len(BAD)
    assert summary.n_scored + summary.n_rejected == summary.n_input
    assert summary.n_chunks == 7 and "OK" in str(summary)
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    good = registry.drop(index=list(BAD))
    assert list(scores["hh_id"]) == list(good["hh_id"])
    np.testing.assert_array_equal(scores["score"], _by_hand(sc, good.head(300)).tolist()
                                  + sc.score(good.iloc[300:])["score"].astype(int).tolist())
    assert (scores["eligible"] == (scores["score"] < sc.cutoff)).all()
    rej = pd.read_parquet(tmp_path / "scores_rejects.parquet")
    assert list(rej["row"]) == sorted(BAD)
    for row, frag in BAD.items():
        assert frag in rej.loc[rej["row"] == row, "reject_reason"].item()
    assert rej.loc[rej["row"] == 3, "hh_id"].item() == str(registry.loc[3, "hh_id"])
    assert summary.reasons["unknown code in 'region'"] == 2


def test_csv_in_csv_out_with_text_in_numeric_column(fitted, registry, tmp_path):
    _, sc, _ = fitted
    df = registry.astype({"rooms": object})
    df.loc[1234, "rooms"] = "three"
    src = tmp_path / "reg.csv"
    df.to_csv(src, index=False)
    summary = score_file(sc, src, tmp_path / "out.csv", tmp_path / "rej.csv", chunksize=500)
    assert summary.n_rejected == len(BAD) + 1 and summary.balanced
    rej = pd.read_csv(tmp_path / "rej.csv")
    assert rej.loc[rej["row"] == 1234, "reject_reason"].item() == "non-numeric value in 'rooms' (three)"
    out = pd.read_csv(tmp_path / "out.csv")
    good = registry.drop(index=list(BAD) + [1234])
    np.testing.assert_array_equal(out["score"], sc.score(good)["score"].astype(int))


def test_model_scoring_matches_predict(fitted, registry, tmp_path):
    model, _, line = fitted
    df = registry.assign(share_mobile=registry["n_mobile"] / registry["n_adults"])
    df["land_sq"] = df["land"] ** 2
    src = tmp_path / "reg.parquet"
    df.to_parquet(src, index=False)
    summary = score_file(model, src, tmp_path / "xb.parquet", chunksize=512, threshold=line)
    bad_rows = {3, 10, 11, 999, 1500}  # 250 is a valid share for the model (3/1 is a number)
    assert summary.n_rejected == len(bad_rows) and summary.balanced
    out = pd.read_parquet(tmp_path / "xb.parquet")
    good = df.drop(index=sorted(bad_rows))
    np.testing.assert_allclose(out["xb"], model.predict(good).to_numpy(), rtol=1e-13, atol=0)
    np.testing.assert_array_equal(out["eligible"], model.predict(good).to_numpy() < line)


def test_paths_and_saved_artifacts(fitted, registry, tmp_path):
    model, sc, line = fitted
    src = tmp_path / "reg.parquet"
    registry.to_parquet(src, index=False)
    sc_path = sc.to_json(tmp_path / "sc.json")
    s1 = score_file(str(sc_path), src, tmp_path / "a.parquet")
    s2 = score_file(sc, src, tmp_path / "b.parquet")
    assert s1.n_scored == s2.n_scored
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"),
                                  pd.read_parquet(tmp_path / "b.parquet"))
    df = registry.assign(share_mobile=registry["n_mobile"] / registry["n_adults"],
                         land_sq=registry["land"] ** 2)
    df.to_parquet(src, index=False)
    art = save_model(model, tmp_path / "m.json", thresholds={"poverty_line": line})
    s3 = score_file(art, src, tmp_path / "c.parquet")
    out = pd.read_parquet(tmp_path / "c.parquet")
    assert "eligible" in out and s3.balanced
    # the artifact's saved poverty line is the default threshold
    good = df.drop(index=[3, 10, 11, 999, 1500])
    xb = model.predict(good).to_numpy()
    np.testing.assert_allclose(out["xb"], xb, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(out["eligible"], xb < line)


@pytest.mark.parametrize("kind", ["probit", "logit"])
def test_binary_model_threshold_is_a_probability(kind, registry, tmp_path):
    import warnings

    from pmt.models import binary

    train = _households(3000, 1)
    train["poor"] = (train["log_pcc"] < train["log_pcc"].quantile(0.3)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = getattr(binary, kind)("poor ~ car + fridge + rooms + C(region)", train)
    src = tmp_path / "reg.parquet"
    registry.to_parquet(src, index=False)
    score_file(m, src, tmp_path / "p.parquet", threshold=0.35)
    out = pd.read_parquet(tmp_path / "p.parquet")
    good = registry.drop(index=[3, 10, 1500])  # unknown regions, missing car
    np.testing.assert_allclose(out["xb"], m.predict(good, scale="index").to_numpy(),
                               rtol=1e-12, atol=1e-14)
    prob = m.predict(good).to_numpy()
    assert 0 < (prob > 0.35).mean() < 1
    np.testing.assert_array_equal(out["eligible"], prob > 0.35)
    with pytest.raises(ModelError, match=r"probability of being poor in \(0, 1\)"):
        score_file(m, src, tmp_path / "q.parquet", threshold=1.5)


def test_dictionary_encoded_categories_and_spec_ranges(fitted, registry, tmp_path):
    from pmt.spec import DataSpec

    _, sc, _ = fitted
    df = registry.copy()
    df.loc[40, "land"] = -2.0  # out of the spec range
    table = pa.Table.from_pandas(df, preserve_index=False)
    region = pa.array([None if np.isnan(v) else str(int(v)) for v in df["region"]])
    table = table.set_column(table.schema.get_field_index("region"), "region",
                             region.dictionary_encode())
    src = tmp_path / "dict.parquet"
    pq.write_table(table, src)
    spec = DataSpec.from_dict({"name": "registry", "columns": {
        "land": {"type": "continuous", "role": "proxy", "range": [0, None]}}})
    summary = score_file(sc, src, tmp_path / "o.parquet", chunksize=333, spec=spec,
                         breakdown=True)
    assert summary.n_rejected == len(BAD) + 1 and summary.balanced
    rej = pd.read_parquet(tmp_path / "o_rejects.parquet")
    assert "outside the spec range" in rej.loc[rej["row"] == 40, "reject_reason"].item()
    out = pd.read_parquet(tmp_path / "o.parquet")
    good = registry.drop(index=list(BAD) + [40])
    expect = sc.score(good, breakdown=True)
    np.testing.assert_array_equal(out["score"], expect["score"].astype(int))
    np.testing.assert_array_equal(out["points_region"], expect["points_region"].astype(int))


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside dask's parquet reader
def test_dask_engine_identical(fitted, registry, tmp_path):
    pytest.importorskip("dask.dataframe")
    _, sc, _ = fitted
    src = tmp_path / "reg.parquet"
    pq.write_table(pa.Table.from_pandas(registry, preserve_index=False), src, row_group_size=450)
    a = score_file(sc, src, tmp_path / "p.parquet", chunksize=400)
    b = score_file(sc, src, tmp_path / "d.parquet", chunksize=400, engine="dask")
    assert (a.n_input, a.n_scored, a.n_rejected) == (b.n_input, b.n_scored, b.n_rejected)
    assert b.engine == "dask"
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"),
                                  pd.read_parquet(tmp_path / "d.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p_rejects.parquet"),
                                  pd.read_parquet(tmp_path / "d_rejects.parquet"))


def test_no_rejects_gives_empty_rejects_file(fitted, registry, tmp_path):
    _, sc, _ = fitted
    src = tmp_path / "clean.parquet"
    registry.drop(index=list(BAD)).to_parquet(src, index=False)
    s = score_file(sc, src, tmp_path / "s.parquet")
    assert s.n_rejected == 0 and s.n_scored == len(registry) - len(BAD)
    assert len(pd.read_parquet(tmp_path / "s_rejects.parquet")) == 0


def test_user_errors(fitted, registry, tmp_path):
    model, sc, _ = fitted
    src = tmp_path / "reg.parquet"
    registry.drop(columns=["n_mobile"]).to_parquet(src, index=False)
    with pytest.raises(DataError, match="n_mobile"):
        score_file(sc, src, tmp_path / "o.parquet")
    with pytest.raises(DataError, match=r".parquet, .csv or .dta"):
        score_file(sc, src, tmp_path / "o.xlsx")
    with pytest.raises(DataError, match="does not exist"):
        score_file(sc, tmp_path / "none.parquet", tmp_path / "o.parquet")
    with pytest.raises(DataError, match="chunksize"):
        score_file(sc, src, tmp_path / "o.parquet", chunksize=0)
    with pytest.raises(ModelError, match="breakdown"):
        score_file(model, src, tmp_path / "o.parquet", breakdown=True)
    with pytest.raises(DataError, match="three different files"):
        score_file(sc, src, src)
    with pytest.raises(DataError, match="three different files"):
        score_file(sc, src, tmp_path / "o.parquet", tmp_path / "o.parquet")
    with pytest.raises(DataError, match="engine"):
        registry.to_parquet(src, index=False)
        score_file(sc, src, tmp_path / "o.parquet", engine="spark")


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_dask_engine_csv_same_scores(fitted, registry, tmp_path):
    pytest.importorskip("dask.dataframe")
    _, sc, _ = fitted
    src = tmp_path / "reg.csv"
    registry.to_csv(src, index=False)
    a = score_file(sc, src, tmp_path / "p.parquet", chunksize=300)
    b = score_file(sc, src, tmp_path / "d.parquet", chunksize=300, engine="dask")
    assert (a.n_scored, a.n_rejected) == (b.n_scored, b.n_rejected) == (2000 - len(BAD), len(BAD))
    pa_, da_ = pd.read_parquet(tmp_path / "p.parquet"), pd.read_parquet(tmp_path / "d.parquet")
    np.testing.assert_array_equal(pa_["score"], da_["score"])
    np.testing.assert_array_equal(pa_["hh_id"], da_["hh_id"])  # ids as written, both engines


def test_failed_run_leaves_no_output(fitted, registry, tmp_path):
    _, sc, _ = fitted
    src = tmp_path / "reg.csv"
    registry.drop(index=list(BAD)).to_csv(src, index=False)
    with open(src, "a") as fh:  # a malformed last line: more fields than the header
        fh.write("1,2,3,4,5,6,7,8,9,10\n")
    with pytest.raises(DataError, match="cannot read registry .* as CSV"):
        score_file(sc, src, tmp_path / "out.parquet", chunksize=500)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reg.csv"]
