"""The side-by-side coefficient table the report shows (pmt.regression_table), checked
against independent computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pmt
from pmt.models.regression_table import regression_table


@pytest.fixture(scope="module")
def fits():
    df = pmt.datasets.synthetic_hbs(1500, seed=3)
    df["poor"] = (df.pcc < df.poverty_line).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ols = pmt.ols("log_pcc ~ car + rooms + C(region)", df, weights="weight", cluster="psu")
        probit = pmt.probit("poor ~ car + rooms", df, weights="weight", cluster="psu")
    return df, {"OLS": ols, "Probit": probit}


def test_footer_reports_n_r2_clusters_and_reference_levels(fits):
    df, models = fits
    spec = pmt.DataSpec.load("data_spec/hbs.yaml")
    table = regression_table(models, spec)
    # weighted R² computed here from the residuals
    y, w = df["log_pcc"].to_numpy(), df["weight"].to_numpy()
    e = y - models["OLS"].predict(df).to_numpy()
    r2 = 1 - np.sum(w * e**2) / np.sum(w * (y - np.average(y, weights=w)) ** 2)
    assert table.loc["R2", "OLS"] == f"{r2:.3f}"
    assert table.loc["N", "OLS"] == f"{len(df):,}"
    assert table.loc["clusters", "Probit"] == f"{df['psu'].nunique():,}"
    # the base level is the lowest region code, named by its label from the spec
    lowest = min(int(c) for c in df["region"].astype(int).unique())
    assert table.loc["reference", "label"] == (
        f"Reference categories: Region: {spec.codes('region')[lowest]}")


def test_small_coefficients_keep_significant_digits(fits):
    df, _ = fits
    df = df.assign(rooms_big=df["rooms"] * 1e5)  # coefficients of order 1e-7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pmt.ols("log_pcc ~ rooms_big", df, weights="weight")
    cell = regression_table({"OLS": r}).loc["rooms_big", "OLS"]
    b = float(r.params["rooms_big"])
    shown = float(cell.split(" ")[0].rstrip("*"))
    assert abs(b) < 1e-5 and shown != 0
    assert shown == pytest.approx(b, rel=5e-3)  # three significant digits
