"""The public API contract of DESIGN.md section 5, called as an outside check would."""

import warnings

import numpy as np
import pandas as pd
import pytest

import pmt


@pytest.fixture(scope="module")
def df():
    return pmt.datasets.synthetic_hbs(n_households=4000, seed=3)


def test_every_public_name_resolves():
    assert len(set(pmt.__all__)) == len(pmt.__all__)  # no name listed twice
    for name in pmt.__all__:
        assert getattr(pmt, name) is not None, name
    assert isinstance(pmt.__version__, str)
    assert callable(pmt.ols) and callable(pmt.simulate) and callable(pmt.quantreg)


def test_error_hierarchy():
    for cls in (pmt.DataSpecError, pmt.ModelError, pmt.ArtifactError, pmt.PolicyError):
        assert issubclass(cls, pmt.PMTError)


def test_data_spec_and_survey(df):
    from pmt.workflow import packaged_spec_path

    spec = pmt.DataSpec.load("data_spec/hbs.yaml")
    assert spec.hash == pmt.DataSpec.load(packaged_spec_path("hbs")).hash
    spec.validate(df)
    bad = df.copy()
    bad.loc[bad.index[0], "weight"] = -1
    with pytest.raises(pmt.DataSpecError, match=r"survey weights must be positive; 1 zero"):
        spec.validate(bad)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    np.testing.assert_allclose(sv.person_weight, df.weight * df.hh_size)


def test_quantiles_and_poverty_functions(df):
    v = df.weight * df.hh_size
    q = pmt.weighted_quantile(df.pcc, v, 0.2)
    assert isinstance(q, float)
    groups = pmt.quantile_groups(df.pcc, v, n_groups=10)
    assert groups.min() == 1 and groups.max() == 10
    # headcount at the 20th percentile line: people strictly below it are < 20 %
    assert pmt.fgt(df.pcc, q, v, alpha=0) < 0.2 <= pmt.fgt(df.pcc, q * 1.000001, v, alpha=0)
    # Watts index by hand: weighted mean of ln(z / y) over people below the line
    y = df.pcc.to_numpy()
    by_hand = np.sum(v * np.where(y < q, np.log(q / y), 0.0)) / np.sum(v)
    assert by_hand > 0
    assert pmt.watts(df.pcc, q, v) == pytest.approx(by_hand, rel=1e-12)


def test_models_contract(df):
    formula = pmt.datasets.PMT_FORMULA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "ols": pmt.ols(formula, df, weights="weight", cluster="psu"),
            "quantreg": pmt.quantreg(formula, df, q=0.2, weights="weight"),
            "probit": pmt.probit("poor ~ " + formula.split("~")[1], df, weights="weight"),
            "heckman": pmt.heckman(pmt.datasets.HTV_SELECTION_FORMULA,
                                   pmt.datasets.HTV_OUTCOME_FORMULA, df, method="twostep"),
        }
    assert 0 < models["ols"].rsquared < 1
    for name, r in models.items():
        assert isinstance(r.params, pd.Series) and isinstance(r.bse, pd.Series), name
        assert list(r.params.index) == list(r.bse.index), name
        assert "Intercept" in r.params.index, name
        assert r.nobs > 0, name
        pred = r.predict(df)
        assert len(pred) == len(df) and np.isfinite(pred).all(), name
    h = models["heckman"]
    assert "lambda" in h.params.index and np.isfinite(h.sigma) and -1 < h.rho < 1
    assert "Intercept" in h.selection.params.index
    level = models["ols"].predict(df, scale="level")
    assert (level > 0).all()


def test_targeting_and_overlap_contract(df):
    v = df.weight * df.hh_size
    m = pmt.targeting_metrics(df.poor, df.poor, v)
    assert m["exclusion_error"] == 0 and m["inclusion_error"] == 0 and m["coverage_poor"] == 1
    for name in ("coverage", "coverage_poor", "coverage_nonpoor", "exclusion_error",
                 "inclusion_error", "targeting_differential", "cgh"):
        assert name in m.index
    table = pmt.decile_overlap(df.log_pcc, df.log_pcc, v, n_groups=10)
    assert table.shape == (10, 10)
    assert np.isclose(np.trace(table.to_numpy()), 1.0)


def test_artifacts_and_scorecard_contract(df, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pmt.ols(pmt.datasets.PMT_FORMULA, df, weights="weight", cluster="psu")
    pmt.save_model(r, tmp_path / "m.json")
    r2 = pmt.load_model(tmp_path / "m.json")
    np.testing.assert_array_equal(r2.predict(df), r.predict(df))
    sc = pmt.Scorecard.from_model(r)
    sc.to_json(tmp_path / "sc.json")
    sc2 = pmt.Scorecard.from_json(tmp_path / "sc.json")
    s1, s2 = sc.score(df), sc2.score(df)
    np.testing.assert_array_equal(np.asarray(s1["score"]), np.asarray(s2["score"]))


def test_version_single_sourced():
    """pyproject.toml reads the version from pmt.__version__ (one place to bump)."""
    import importlib.metadata
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pmt.__version__"}
    assert importlib.metadata.version("pmt") == pmt.__version__


def test_roster_code_maps_are_package_data():
    import tomllib
    from pathlib import Path

    root = Path(__file__).parent.parent
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["pmt"]
    shipped = sorted((root / "pmt" / "roster" / "codes").glob("*.yaml"))
    assert shipped and "roster/codes/*.yaml" in data
