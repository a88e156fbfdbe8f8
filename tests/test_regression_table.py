"""pmt.regression_table: side-by-side coefficients, checked against numbers computed
independently (statsmodels), with every rendering."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import pmt
from pmt import ModelError
from pmt.report.format import format_coef


@pytest.fixture(scope="module")
def df():
    rng = np.random.default_rng(7)
    n = 1500
    d = pd.DataFrame({
        "x": rng.normal(size=n),
        "region": rng.choice([1, 2, 3], size=n),
        "psu": rng.integers(0, 60, size=n),
        "w": rng.uniform(0.5, 2.0, size=n),
    })
    d["y"] = 0.5 + 0.3 * d.x + 0.2 * (d.region == 2) + rng.normal(size=n)
    d["poor"] = (d.y < 0.3).astype(int)
    return d


class _Spec:
    """The part of a DataSpec regression_table uses: labels and value labels."""

    labels = {"x": "Assets index", "region": "Region"}

    def codes(self, var):
        return {1: "North", 2: "South", 3: "East"} if var == "region" else None

    def __contains__(self, var):
        return var in ("x", "region")


def _stars(p):
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


@pytest.fixture(scope="module")
def fits(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "OLS": pmt.ols("y ~ x + C(region)", df, weights="w", cluster="psu"),
            "Probit": pmt.probit("poor ~ x", df),
        }


def _reference(df):
    X = pd.DataFrame({"Intercept": 1.0, "x": df.x,
                      "C(region)[T.2]": (df.region == 2).astype(float),
                      "C(region)[T.3]": (df.region == 3).astype(float)})
    ols = sm.WLS(df.y, X, weights=df.w).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df.psu)[0]}, use_t=True)
    probit = sm.GLM(df.poor, X[["Intercept", "x"]],
                    family=sm.families.Binomial(sm.families.links.Probit())).fit(cov_type="HC0")
    return ols, probit


def test_cells_against_statsmodels(df, fits):
    t = pmt.regression_table(fits, spec=_Spec())
    assert isinstance(t, pd.DataFrame) and t.index.name == "term"
    assert list(t.columns) == ["label", "OLS", "Probit"]
    ols, probit = _reference(df)
    for term in ols.params.index:
        c, se, p = ols.params[term], ols.bse[term], ols.pvalues[term]
        assert t.loc[term, "OLS"] == f"{format_coef(c)}{_stars(p)} ({format_coef(se)})"
    for term in probit.params.index:
        c, se, p = probit.params[term], probit.bse[term], probit.pvalues[term]
        assert t.loc[term, "Probit"] == f"{format_coef(c)}{_stars(p)} ({format_coef(se)})"
    assert t.loc["C(region)[T.2]", "Probit"] == ""
    assert t.loc["x", "label"] == "Assets index"
    assert t.loc["C(region)[T.2]", "label"] == "Region: South"
    assert t.loc["N", "OLS"] == f"{len(df):,}"
    assert t.loc["R2", "OLS"] == f"{ols.rsquared:.3f}"
    assert t.loc["R2", "Probit"] == f"{fits['Probit'].prsquared:.3f}"
    assert t.loc["clusters", "OLS"] == str(df.psu.nunique()) and t.loc["clusters", "Probit"] == ""
    assert t.loc["reference", "label"] == "Reference categories: Region: North"
    assert t.loc["se_type", "OLS"] == "cluster"


def test_confidence_intervals_and_no_stars(df, fits):
    t = pmt.regression_table(fits, se="ci", level=0.9, stars=False)
    ols, _ = _reference(df)
    G = df.psu.nunique()
    c = stats.t.ppf(0.95, G - 1)
    for term in ols.params.index:
        b, se = ols.params[term], ols.bse[term]
        assert t.loc[term, "OLS"] == (
            f"{format_coef(b)} [{format_coef(b - c * se)}, {format_coef(b + c * se)}]")
    assert "*" not in "".join(t["OLS"]) and "90% confidence" in t.notes


def test_renderings(df, fits, tmp_path):
    t = pmt.regression_table(list(fits.values()))
    assert list(t.columns) == ["label", "(1)", "(2)"]
    md = t.to_markdown()
    html = t.to_html()
    tex = t.to_latex()
    for term in ("Intercept", "x", "C(region)[T.3]", "N", "R2"):
        assert term in md and term in html
    assert tex.count(r"\\") == len(t) + 1 and r"C(region)[T.3]" in tex
    assert "$^{***}$" in tex and "p<0.01" in md and "p&lt;0.01" in html
    assert list(t.index[:4]) == ["Intercept", "x", "C(region)[T.2]", "C(region)[T.3]"]
    path = tmp_path / "table.xlsx"
    t.to_excel(path)
    back = pd.read_excel(path, index_col=0).fillna("")
    assert back.loc["x", "(1)"] == t.loc["x", "(1)"]
    sliced = t.iloc[:3]
    assert type(sliced).__name__ == "RegressionTable" and sliced.notes == t.notes


def test_grouped_heckman_and_errors(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = pmt.ols("y ~ x", df, by="region")
    t = pmt.regression_table({"by region": g})
    assert [c for c in t.columns if c != "label"] == [
        "by region (region = 1)", "by region (region = 2)", "by region (region = 3)"]
    with pytest.raises(ModelError, match="no coefficients"):
        pmt.regression_table({"x": object()})
    with pytest.raises(ModelError, match="se must be"):
        pmt.regression_table({"g": g}, se="t")
    assert pmt.regression_table is pmt.models.regression_table.regression_table


def test_a_plain_label_mapping_names_the_reference_category():
    df = pmt.datasets.synthetic_hbs(800, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pmt.ols("log_pcc ~ rooms + C(region)", df, weights="weight")
    lowest = int(min(df["region"].astype(int)))
    table = pmt.regression_table({"OLS": r}, {"region": "Province", "rooms": "Rooms"})
    assert table.loc["rooms", "label"] == "Rooms"
    assert table.loc["reference", "label"] == f"Reference categories: Province: {lowest}"
