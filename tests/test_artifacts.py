"""Model artifacts: exact round trips, deterministic files, hostile input rejected."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pmt
from pmt.artifacts import (
    SCHEMA_VERSION,
    load_model,
    model_document,
    profile_variables,
    read_artifact,
    save_model,
    write_coef_table,
)
from pmt.errors import ArtifactError, ModelError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hh():
    """Simulated households: log welfare from proxies; a selected hard-to-verify income."""
    rng = np.random.default_rng(42)
    n = 1500
    df = pd.DataFrame(
        {
            "rooms": rng.integers(1, 7, n),
            "car": rng.integers(0, 2, n),
            "land": rng.gamma(1.0, 30.0, n),
            "region": rng.integers(1, 5, n),
            "hh_size": rng.integers(1, 9, n),
            "weight": rng.uniform(50, 150, n),
            "psu": rng.integers(0, 60, n),
            "z": rng.normal(size=n),
        }
    )
    df["land_sq"] = df["land"] ** 2
    eps = rng.normal(0, 0.4, n)
    df["log_pcc"] = (
        10 + 0.1 * df["rooms"] + 0.2 * df["car"] + 0.004 * df["land"] - 0.05 * df["hh_size"]
        + 0.15 * (df["region"] == 3) + eps
    )
    df["poor"] = (df["log_pcc"] < 10.2).astype(int)
    u = rng.normal(size=n)
    e2 = 0.5 * u + np.sqrt(1 - 0.25) * rng.normal(size=n)
    has = (0.3 + 0.8 * df["z"] + 0.2 * df["car"] + u) > 0
    df["has_htv"] = has.astype(int)
    df["log_htv"] = (6 + 0.3 * df["car"] + 0.1 * df["rooms"] + 0.5 * e2).where(has)
    return df


FORMULA = "log_pcc ~ rooms + car + land + land_sq + hh_size + C(region)"


def _fitted(hh):
    from pmt.models.binary import logit, probit
    from pmt.models.heckman import heckman
    from pmt.models.ols import ols, truncated_ols
    from pmt.models.quantile import quantreg

    out = {
        "ols": ols(FORMULA, hh, weights="weight", cluster="psu"),
        "ols_normal": ols(FORMULA, hh, weights="weight", retransform="normal"),
        "ols_by": ols("log_pcc ~ rooms + car + land", hh, weights="weight", by="region"),
        "truncated_ols": truncated_ols(FORMULA, hh, share=0.5, weights="weight",
                                       unit="household"),
        "probit": probit("poor ~ rooms + car + land + C(region)", hh, weights="weight"),
        "logit": logit("poor ~ rooms + car + land + C(region)", hh),
        "heckman": heckman("has_htv ~ z + car + rooms", "log_htv ~ car + rooms", hh),
        "heckman_ml": heckman(
            "has_htv ~ z + car + rooms", "log_htv ~ car + rooms", hh, method="ml"
        ),
        "quantreg": quantreg(FORMULA, hh, q=0.25, weights="weight"),
    }
    return out


@pytest.fixture(scope="module")
def models(hh):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fitted(hh)


@pytest.fixture()
def ols_path(models, tmp_path):
    return save_model(models["ols"], tmp_path / "ols.json", thresholds={"poverty_line": 10.2})


# the predictions each kind of model offers (besides the default predict(df)): continuous
# models give levels, binary models their linear index, Heckman models also the selection
# probability and the unconditional mean
_LEVEL = ({"scale": "level"},)
PREDICTIONS = {
    "ols": _LEVEL, "ols_normal": _LEVEL, "ols_by": _LEVEL, "truncated_ols": _LEVEL,
    "quantreg": _LEVEL,
    "probit": ({"scale": "index"},), "logit": ({"scale": "index"},),
    **{k: ({"scale": "level"}, {"what": "probability"}, {"what": "unconditional"},
           {"what": "index"}, {"what": "unconditional", "scale": "level"})
       for k in ("heckman", "heckman_ml")},
}


def _predictions(model, df, kind):
    """Every prediction the model offers; none may fail (a failure is not silently dropped)."""
    return [model.predict(df)] + [model.predict(df, **kw) for kw in PREDICTIONS[kind]]


# --- round trips --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    ["ols", "ols_normal", "ols_by", "truncated_ols", "probit", "logit", "heckman", "heckman_ml",
     "quantreg"],
)
def test_round_trip_predicts_bit_identical(models, hh, tmp_path, kind):
    model = models[kind]
    path = save_model(model, tmp_path / f"{kind}.json")
    loaded = load_model(path)
    assert type(loaded) is type(model)
    new = hh.sample(300, random_state=1)
    before, after = _predictions(model, new, kind), _predictions(loaded, new, kind)
    assert len(before) == len(after) == 1 + len(PREDICTIONS[kind])
    # the predictions really differ from each other (not the same series under several names)
    for i in range(1, len(before)):
        assert not np.allclose(before[0].to_numpy(), before[i].to_numpy(), equal_nan=True)
    for a, b in zip(before, after, strict=True):
        # bit-identical floats, not merely close
        assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True)
    assert np.array_equal(model.params.to_numpy(), loaded.params.to_numpy(), equal_nan=True)
    assert np.array_equal(model.bse.to_numpy(), loaded.bse.to_numpy(), equal_nan=True)
    if getattr(model, "cov", None) is not None:
        assert np.array_equal(model.cov.to_numpy(), loaded.cov.to_numpy(), equal_nan=True)


def test_heckman_artifact_holds_both_equations(models, tmp_path):
    path = save_model(models["heckman"], tmp_path / "h.json")
    doc = json.loads(path.read_text())
    assert "lambda" in doc["model"]["param_names"]
    sel = doc["model"]["selection"]
    assert [t["name"] for t in sel["design"]["terms"]] == ["Intercept", "z", "car", "rooms"]
    loaded = load_model(path)
    assert np.array_equal(loaded.selection.params.to_numpy(),
                          models["heckman"].selection.params.to_numpy())
    # a hostile edit inside the nested selection equation is caught too
    sel["design"]["terms"][1]["variable"] = "__import__('os')"
    path.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match=r"selection"):
        load_model(path)


def test_document_contents(models, hh, tmp_path):
    m = models["ols"]
    path = save_model(m, tmp_path / "m.json", thresholds={"poverty_line": 10.2},
                      fit_date="2026-11-23", name="demo PMT")
    doc = json.loads(path.read_text())
    assert doc["format"] == "pmt-model" and doc["schema_version"] == SCHEMA_VERSION
    assert doc["model_type"] == "ols" and doc["formula"] == FORMULA
    terms = doc["model"]["design"]["terms"]
    assert [t["name"] for t in terms][:3] == ["Intercept", "rooms", "car"]
    assert terms[-1] == {"name": "C(region)[T.4]", "variable": "region", "kind": "level",
                         "level": "4"}
    assert doc["model"]["design"]["categoricals"]["region"] == {
        "variable": "region", "levels": ["1", "2", "3", "4"], "base": "1"}
    assert doc["thresholds"] == {"poverty_line": 10.2}
    tr = doc["training"]
    assert tr["nobs"] == len(hh) and tr["n_dropped"] == 0
    assert tr["weighted_nobs"] == pytest.approx(hh["weight"].sum())
    # R^2 recomputed by hand (weighted least squares with numpy)
    X = np.column_stack([np.ones(len(hh)), hh[["rooms", "car", "land", "land_sq", "hh_size"]],
                         *(hh["region"] == k for k in (2, 3, 4))]).astype(float)
    w = hh["weight"].to_numpy()
    y = hh["log_pcc"].to_numpy()
    sw = np.sqrt(w)
    beta = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
    r = y - X @ beta
    ybar = np.average(y, weights=w)
    assert tr["rsquared"] == pytest.approx(1 - (w * r**2).sum() / (w * (y - ybar) ** 2).sum())
    assert tr["fit_date"] == "2026-11-23" and tr["pmt_version"] == pmt.__version__
    assert doc["name"] == "demo PMT"
    assert doc["model"]["smearing_factor"] == pytest.approx(np.average(np.exp(r), weights=w),
                                                            rel=1e-6)
    loaded = read_artifact(path)
    assert loaded.thresholds == {"poverty_line": 10.2} and loaded.model.thresholds["poverty_line"]


def test_deterministic_bytes_and_no_timestamp(models, tmp_path):
    a = save_model(models["ols"], tmp_path / "a.json").read_bytes()
    b = save_model(models["ols"], tmp_path / "b.json").read_bytes()
    assert a == b
    doc = json.loads(a)
    assert doc["training"]["fit_date"] is None
    # keys sorted at every level
    assert list(doc) == sorted(doc)
    # save -> load -> save gives the same bytes
    c = save_model(load_model(tmp_path / "a.json"), tmp_path / "c.json").read_bytes()
    assert a == c


def test_data_spec_name_and_hash(models, tmp_path):
    from pmt.spec import DataSpec

    spec = DataSpec.from_dict(
        {"name": "hbs_test", "columns": {"rooms": {"type": "count", "role": "proxy"},
                                          "car": {"type": "binary", "role": "proxy"}}}
    )
    doc = model_document(models["ols"], spec=spec)
    assert doc["training"]["data_spec"] == {"name": "hbs_test", "sha256": spec.hash}
    # a spec file gives the spec's own digest: comments and layout do not change it
    yaml_path = tmp_path / "s.yaml"
    yaml_path.write_text("# a comment\nname: hbs_test\ncolumns:\n  car: {type: binary, role: proxy}\n"
                         "  rooms: {role: proxy, type: count}\n")
    doc = model_document(models["ols"], spec=str(yaml_path))
    assert doc["training"]["data_spec"] == {"name": "hbs_test", "sha256": spec.hash}
    assert spec.hash != hashlib.sha256(yaml_path.read_bytes()).hexdigest()
    yaml_path.write_text("name: x\ncolumns: {}\n")  # not a valid spec
    with pytest.raises(pmt.DataSpecError):
        model_document(models["ols"], spec=str(yaml_path))


def test_profile_by_hand(models, hh):
    prof = profile_variables(models["ols"], hh, "weight")
    w = hh["weight"].to_numpy()
    car = prof["car"]
    assert car["exact"] and car["values"] == [0.0, 1.0]
    assert car["weights"][1] == pytest.approx(w[hh["car"] == 1].sum() / w.sum())
    land = prof["land"]
    assert not land["exact"] and len(land["values"]) == 100
    assert np.average(land["values"], weights=land["weights"]) == pytest.approx(
        np.average(hh["land"], weights=w))
    assert "region" not in prof  # categorical: its levels are in the design


def test_schema_copies_identical():
    for name in ("artifact", "scorecard"):
        top = ROOT / "data_spec" / f"{name}.schema.json"
        pkg = ROOT / "pmt" / "data_spec" / f"{name}.schema.json"
        assert top.read_bytes() == pkg.read_bytes(), f"{name} schema copies differ"


# --- hostile or broken artifacts ---------------------------------------------------------
def _edit(path: Path, fn) -> Path:
    doc = json.loads(path.read_text())
    fn(doc)
    path.write_text(json.dumps(doc))
    return path


def test_wrong_schema_version(ols_path):
    _edit(ols_path, lambda d: d.update(schema_version=99))
    with pytest.raises(ArtifactError, match="schema_version 99"):
        load_model(ols_path)


def test_missing_field(ols_path):
    _edit(ols_path, lambda d: d["model"].pop("params"))
    with pytest.raises(ArtifactError, match="params"):
        load_model(ols_path)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_coefficients(ols_path, token):
    doc = json.loads(ols_path.read_text())
    doc["model"]["params"][1] = "PLACEHOLDER"
    ols_path.write_text(json.dumps(doc).replace('"PLACEHOLDER"', token))
    with pytest.raises(ArtifactError, match="finite|overflows"):
        load_model(ols_path)


def test_code_in_formula(ols_path):
    evil = "log_pcc ~ __import__('os').system('echo pwned')"

    def fn(d):
        d["formula"] = evil
        d["model"]["design"]["formula"] = evil

    _edit(ols_path, fn)
    with pytest.raises(ArtifactError, match="not a valid pmt formula"):
        load_model(ols_path)


def test_code_in_term_variable(ols_path):
    def fn(d):
        d["model"]["design"]["terms"][1]["variable"] = "__import__('os').getcwd()"

    _edit(ols_path, fn)
    with pytest.raises(ArtifactError, match=r"terms\[1\]\.variable"):
        load_model(ols_path)


def test_terms_disagree_with_formula(ols_path):
    def fn(d):
        d["model"]["design"]["terms"][1]["name"] = "bedrooms"
        d["model"]["design"]["terms"][1]["variable"] = "bedrooms"

    _edit(ols_path, fn)
    with pytest.raises(ArtifactError, match="do not agree with the formula"):
        load_model(ols_path)


def test_base_level_not_a_level(ols_path):
    _edit(ols_path, lambda d: d["model"]["design"]["categoricals"]["region"].update(base="9"))
    with pytest.raises(ArtifactError, match="base level '9'"):
        load_model(ols_path)


def test_wrong_types(ols_path):
    def fn(d):
        d["model"]["params"] = [str(v) for v in d["model"]["params"]]
        d["training"]["nobs"] = "many"

    _edit(ols_path, fn)
    with pytest.raises(ArtifactError, match="is not of type"):
        load_model(ols_path)


def test_coefficient_count_mismatch(ols_path):
    _edit(ols_path, lambda d: d["model"]["params"].pop())
    with pytest.raises(ArtifactError, match="must match one to one"):
        load_model(ols_path)


def test_unknown_model_type(ols_path):
    def fn(d):
        d["model_type"] = "neural_net"
        d["model"]["model_type"] = "neural_net"

    _edit(ols_path, fn)
    with pytest.raises(ArtifactError, match="unknown to this pmt"):
        load_model(ols_path)


def test_huge_file_refused(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "w") as f:
        f.write('{"pad": "')
        f.write("x" * 2_000_000)
        f.write('"}')
    with pytest.raises(ArtifactError, match="limit"):
        load_model(big, max_bytes=1_000_000)


def test_not_json_and_missing_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("import os; os.system('x')")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_model(p)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_model(tmp_path / "nope.json")
    p.write_text("[" * 100_000)
    with pytest.raises(ArtifactError, match="nested too deeply"):
        load_model(p)


def test_term_missing_in_data_at_predict(models, hh, tmp_path):
    loaded = load_model(save_model(models["ols"], tmp_path / "m.json"))
    with pytest.raises(ArtifactError, match=r"land_sq.*loaded from model artifact .*m\.json"):
        loaded.predict(hh.drop(columns=["land_sq"]))
    with pytest.raises(ModelError):  # still a ModelError for code that catches those
        loaded.predict(hh.drop(columns=["land_sq"]))
    # nested equations too (Heckman selection)
    h = load_model(save_model(models["heckman"], tmp_path / "h.json"))
    with pytest.raises(ArtifactError, match="needs: z"):
        h.predict(hh.drop(columns=["z"]), what="probability")


def test_unknown_category_at_predict(models, hh, tmp_path):
    loaded = load_model(save_model(models["ols"], tmp_path / "m.json"))
    bad = hh.head(5).assign(region=[1, 2, 7, 3, 4])
    with pytest.raises(ModelError, match="region"):
        loaded.predict(bad)


def test_sklearn_model_cannot_be_saved(hh, tmp_path):
    from sklearn.linear_model import LinearRegression

    est = LinearRegression().fit(hh[["rooms", "car"]], hh["log_pcc"])
    with pytest.raises(ArtifactError, match="pickle"):
        save_model(est, tmp_path / "sk.json")


def test_non_finite_model_not_saved(models, tmp_path):
    from pmt.models.ols import OLSResult

    m = models["ols"]
    bad = OLSResult.from_dict({**m.to_dict(), "params": [np.nan] + list(m.params)[1:]})
    with pytest.raises(ArtifactError, match=r"model\.params\[0\] is nan"):
        save_model(bad, tmp_path / "bad.json")


# --- coefficient tables -------------------------------------------------------------------
def test_coef_table_csv_and_xlsx(models, tmp_path):
    from openpyxl import load_workbook

    m = models["ols"]
    csv = pd.read_csv(write_coef_table(m, tmp_path / "c.csv"))
    assert list(csv["term"]) == list(m.params.index)
    np.testing.assert_allclose(csv["coef"], m.params.to_numpy())
    # stars from p-values computed independently with scipy
    p = 2 * stats.t.sf(np.abs(m.params / m.bse), m.df_resid)
    want = ["***" if v < 0.01 else "**" if v < 0.05 else "*" if v < 0.1 else "" for v in p]
    assert list(csv["stars"].fillna("")) == want
    assert str(csv.loc[csv["term"] == "C(region)[T.2]", "base"].item()) in ("1", "1.0")
    path = write_coef_table(m, tmp_path / "c.xlsx", labels={"rooms": "Number of rooms"})
    ws = load_workbook(path)["coefficients"]
    assert ws["A1"].value == "Term" and ws["A1"].font.bold
    assert ws["B3"].value == "Number of rooms"
    assert ws["D2"].number_format == "0.0000"
    assert ws["D2"].value == pytest.approx(m.params.iloc[0], rel=1e-14)
    assert ws.freeze_panes == "A2"
    with pytest.raises(ArtifactError, match=r"\.csv or \.xlsx"):
        write_coef_table(m, tmp_path / "c.pdf")


def test_bad_covariance(ols_path):
    def fn(d):
        d["model"]["cov"][1][2] = "0.1; import os"

    _edit(ols_path, fn)
    with pytest.raises(ArtifactError, match=r"cov\[1\]\[2\]"):
        load_model(ols_path)
    _edit(ols_path, lambda d: d["model"]["cov"].pop())
    with pytest.raises(ArtifactError, match="matrix"):
        load_model(ols_path)


def test_hybrid_means_test_round_trip(hh, tmp_path):
    from pmt.hmt import HybridMeansTest

    df = hh.assign(inc_verifiable=np.exp(hh["log_pcc"]) * 0.6, hh_size=hh["hh_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = HybridMeansTest("inc_verifiable", "has_htv ~ z + car + rooms",
                            "log_htv ~ car + rooms").fit(df)
    path = save_model(h, tmp_path / "hmt.json")
    doc = json.loads(path.read_text())
    # every equation inside (Heckman outcome and its selection probit) was found and checked
    from pmt.artifacts import _equations

    assert len(list(_equations(doc["model"]))) >= 2
    loaded = load_model(path)
    assert np.array_equal(h.predict(df).to_numpy(), loaded.predict(df).to_numpy(),
                          equal_nan=True)


def test_pmt_ml_model_cannot_be_saved(hh, tmp_path):
    from pmt.models.ml import gradient_boosting

    m = gradient_boosting("log_pcc ~ rooms + car + land", hh, max_iter=10)
    with pytest.raises(ArtifactError, match="pickle"):
        save_model(m, tmp_path / "gb.json")


def test_undefined_standard_errors_saved_as_null(models, hh, tmp_path):
    from pmt.models.ols import OLSResult

    m = models["ols"]
    d = m.to_dict()
    d["bse"] = [float("nan")] + d["bse"][1:]
    with_nan = OLSResult.from_dict(d)
    path = save_model(with_nan, tmp_path / "nan_se.json")
    assert json.loads(path.read_text())["model"]["bse"][0] is None
    loaded = load_model(path)
    assert np.isnan(loaded.bse.iloc[0]) and loaded.bse.iloc[1] == m.bse.iloc[1]
    assert np.array_equal(loaded.predict(hh).to_numpy(), m.predict(hh).to_numpy())


def test_spec_digest_is_the_same_for_a_spec_and_its_file(tmp_path):
    from pathlib import Path

    import pmt
    from pmt.artifacts import _spec_summary

    path = Path(__file__).parent.parent / "data_spec" / "hbs.yaml"
    spec = pmt.DataSpec.load(path)
    assert _spec_summary(path) == _spec_summary(str(path)) == _spec_summary(spec)
    assert _spec_summary(spec.to_dict()) == _spec_summary(spec)
    assert _spec_summary(spec) == {"name": "hbs", "sha256": spec.hash}
