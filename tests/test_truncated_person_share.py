"""truncated_ols cuts in person shares (DESIGN.md section 3; issue 12, item 7).

The poorest 40 % of *households* of the synthetic survey hold 44 % of its people: the cut
must use the person weights w_h * n_h. These tests compute the cut from the definition
(cumulative person-weight share) and check the person share kept.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import pmt
from pmt.errors import DataError, ModelError, PMTError
from pmt.models.base import MODEL_TYPES
from pmt.models.ols import ols, truncated_ols

FORMULA = "log_pcc ~ hh_size + rooms + car + fridge + C(region)"


@pytest.fixture(scope="module")
def df():
    return pmt.datasets.synthetic_hbs(3000, seed=0)


def inverse_cdf_cut(y, v, q):
    """Smallest y whose cumulative v-share is >= q (DESIGN.md section 4), from scratch."""
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(v[order]) / v.sum()
    return y[order][np.argmax(cum >= q - 1e-12)]


@pytest.mark.parametrize("q", [0.2, 0.4, 0.6])
def test_person_share_below_cut_equals_quantile(df, q):
    y = df["log_pcc"].to_numpy()
    v = df["weight"].to_numpy() * df["hh_size"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a size is known: no household-share warning
        r = truncated_ols(FORMULA, df, share=q, weights="weight", cluster="psu", size="hh_size")
    cut = inverse_cdf_cut(y, v, q)
    keep = y <= cut
    person_share = v[keep].sum() / v.sum()
    # households are not split: the share is q up to the person weight of one household
    assert q <= person_share < q + v.max() / v.sum()
    assert r.cut == cut
    assert r.share_used == pytest.approx(person_share, rel=1e-12)
    assert r.info["quantile"] == q  # the share asked for, not the share kept
    assert r.info["unit"] == "person"
    assert r.nobs == keep.sum()
    # the regression uses household weights on the kept households
    ref = ols(FORMULA, df[keep], weights="weight", cluster="psu")
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=1e-12)
    # fewer households than q: poorer households are larger
    hh_share = df.loc[keep, "weight"].sum() / df["weight"].sum()
    assert hh_share < q - 0.02


def test_household_cut_would_overshoot_people(df):
    # The figure: the poorest 40 % of households are about 44 % of the people.
    y = df["log_pcc"].to_numpy()
    w = df["weight"].to_numpy()
    v = w * df["hh_size"].to_numpy()
    hh_cut = inverse_cdf_cut(y, w, 0.4)
    assert v[y <= hh_cut].sum() / v.sum() == pytest.approx(0.44, abs=0.01)


def test_survey_size_and_array_size_agree(df):
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    a = truncated_ols(FORMULA, df, share=0.4, survey=sv)
    b = truncated_ols(FORMULA, df, share=0.4, weights="weight", cluster="psu",
                      size=df["hh_size"].to_numpy())
    c = truncated_ols(FORMULA, df, share=0.4, weights="weight", cluster="psu",
                      cut_weights=df["weight"] * df["hh_size"])
    assert a.cut == b.cut == c.cut
    assert a.info["unit"] == b.info["unit"] == "person" and c.info["unit"] == "cut_weights"
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)


def test_no_size_falls_back_to_household_shares_with_warning(df):
    y = df["log_pcc"].to_numpy()
    w = df["weight"].to_numpy()
    with pytest.warns(UserWarning, match=r"households, not of people.*size='") as rec:
        r = truncated_ols(FORMULA, df, share=0.4, weights="weight", cluster="psu")
    assert "unit='household'" in str(rec[0].message)
    cut = inverse_cdf_cut(y, w, 0.4)
    assert r.cut == cut and r.info["unit"] == "household"
    assert 0.4 <= r.share_used < 0.4 + w.max() / w.sum()
    # a Survey without a size column is the same fallback
    sv = pmt.Survey(df, weight="weight", psu="psu")
    with pytest.warns(UserWarning, match="households, not of people"):
        r2 = truncated_ols(FORMULA, df, share=0.4, survey=sv)
    assert r2.cut == cut
    # asking for household shares explicitly: same cut, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r3 = truncated_ols(FORMULA, df, share=0.4, weights="weight", unit="household")
    assert r3.cut == cut and r3.info["unit"] == "household"
    assert "household share used" in r3.summary()


def test_missing_size_rows_excluded_and_counted(df):
    d = df.copy()
    d["n"] = d["hh_size"].astype(float)
    d.loc[d.index[:3], "n"] = np.nan
    with pytest.warns(UserWarning, match="household size"):
        r = truncated_ols(FORMULA, d, share=0.4, weights="weight", size="n")
    assert r.n_dropped == 3 and r.info["n_eligible"] == len(d) - 3
    ok = d["n"].notna().to_numpy()
    v = (d["weight"] * d["n"]).to_numpy()[ok]
    assert r.cut == inverse_cdf_cut(d["log_pcc"].to_numpy()[ok], v, 0.4)


def test_bad_size_arguments(df):
    with pytest.raises(ModelError, match=r"'hh_size_bad'.*whole number >= 1"):
        truncated_ols(FORMULA, df.assign(hh_size_bad=df["hh_size"] / 2.5), size="hh_size_bad")
    with pytest.raises(DataError, match="`size` column 'nope'"):
        truncated_ols(FORMULA, df, size="nope")
    with pytest.raises(ModelError, match="not both"):
        truncated_ols(FORMULA, df, size="hh_size", cut_weights="weight")
    sv = pmt.Survey(df, weight="weight", size="hh_size")
    with pytest.raises(ModelError, match="already has a size column"):
        truncated_ols(FORMULA, df, survey=sv, size="hh_size")
    with pytest.raises(PMTError, match="unit must be"):
        truncated_ols(FORMULA, df, size="hh_size", unit="people")


def test_unit_survives_json_round_trip(df):
    r = truncated_ols(FORMULA, df, share=0.4, weights="weight", size="hh_size")
    d = json.loads(json.dumps(r.to_dict()))
    r2 = MODEL_TYPES[d["model_type"]].from_dict(d)
    assert r2.cut == r.cut and r2.info["unit"] == "person"
    assert "person share used" in r2.summary()
