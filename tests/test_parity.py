"""Fairness and parity of targeting errors by group (issue 17 item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import pmt
from pmt.errors import DataError, OptionError
from pmt.evaluate.parity import _holm, parity_table


@pytest.fixture(scope="module")
def planted():
    """A rule that misses most of the poor of one region (region 14) and a random label."""
    df = pmt.datasets.synthetic_hbs(4000, seed=1)
    rng = np.random.default_rng(0)
    df["coin"] = rng.integers(0, 2, len(df))  # independent of everything: parity holds
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    poor = pmt.classify_poor(df.pcc, share=0.2, weights=sv.person_weight).to_numpy()
    score = np.log(df.pcc) + rng.normal(0, 0.4, len(df)) + np.where(df.region == 14, 1.0, 0)
    sel = pmt.select_by(score, share=0.2, weights=sv.person_weight, rule="rate").to_numpy()
    return df, sv, poor, sel


def test_estimates_match_an_independent_computation(planted):
    df, sv, poor, sel = planted
    t = parity_table(sv, poor, sel, ["urban", "region"], n_replicates=50)
    v = (df.weight * df.hh_size).to_numpy()
    for _, r in t.iterrows():
        g = (df[r["block"]] == r["group"]).to_numpy()
        if r["metric"] == "exclusion_error":
            expected = 1 - (v * poor * sel)[g].sum() / (v * poor)[g].sum()
            total = 1 - (v * poor * sel).sum() / (v * poor).sum()
        else:
            expected = (v * (1 - poor) * sel)[g].sum() / (v * sel)[g].sum()
            total = (v * (1 - poor) * sel).sum() / (v * sel).sum()
        assert r["estimate"] == pytest.approx(expected, abs=1e-12)
        assert r["total"] == pytest.approx(total, abs=1e-12)
        assert r["ratio"] == pytest.approx(expected / total, abs=1e-12)
        assert r["difference"] == pytest.approx(expected - total, abs=1e-12)
        assert r["n_households"] == g.sum()
        assert r["population_share"] == pytest.approx(v[g].sum() / v.sum(), abs=1e-12)


def test_planted_disadvantage_is_flagged_and_a_random_label_is_not(planted):
    _, sv, poor, sel = planted
    t = parity_table(sv, poor, sel, ["region", "coin"], n_replicates=300, seed=3)
    row = t[(t.block == "region") & (t.group == 14) & (t.metric == "exclusion_error")].iloc[0]
    assert row["flag"] == "worse"
    assert row["ratio_lower"] > 2  # its error is far more than double everyone's
    assert (t.loc[t.block == "coin", "flag"] == "").all()


def test_unadjusted_flag_agrees_with_the_interval_of_the_difference(planted):
    _, sv, poor, sel = planted
    t = parity_table(sv, poor, sel, ["region"], n_replicates=400, adjust="none", level=0.9)
    excludes_zero = (t.difference_lower > 0) | (t.difference_upper < 0)
    flagged = t.flag != ""
    # the percentile p-value and the interval come from the same replicates; they can
    # disagree only where a quantile interpolates across zero
    assert (excludes_zero == flagged).mean() >= 0.95
    assert flagged.sum() >= 1


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.001])
    ok = ~np.isnan(p)
    expected = multipletests(p[ok], method="holm")[1]
    np.testing.assert_allclose(_holm(p)[ok], expected, atol=1e-15)
    assert np.isnan(_holm(p)[4])


def test_same_seed_same_bits(planted):
    _, sv, poor, sel = planted
    a = parity_table(sv, poor, sel, "urban", n_replicates=40, seed=9)
    b = parity_table(sv, poor, sel, "urban", n_replicates=40, seed=9)
    pd.testing.assert_frame_equal(a, b)


def test_bad_input_names_the_problem(planted):
    _, sv, poor, sel = planted
    with pytest.raises(DataError, match="distric"):
        parity_table(sv, poor, sel, ["district"], n_replicates=10)
    with pytest.raises(OptionError, match="metrics"):
        parity_table(sv, poor, sel, "urban", metrics=["exclusion"], n_replicates=10)
