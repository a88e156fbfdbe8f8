"""The synthetic registry (issue 17): text ids, registry columns, planted drift of the stated
sizes, and manipulation that moves exactly the recorded households below the cut-off by
changing only answers the spec marks hard to verify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.datasets.synthetic_registry import DRIFT, DRIFT_REGIONS, synthetic_registry
from pmt.errors import DataError, ModelError

ROOT = Path(__file__).parent.parent
MODEL = ROOT / "models" / "pmt_ols.json"
SPEC = pmt.DataSpec.load(ROOT / "data_spec" / "registry.yaml")


@pytest.fixture(scope="module")
def source():
    return pmt.datasets.synthetic_hbs(20_000, seed=1)


@pytest.fixture(scope="module")
def model():
    return pmt.load_model(MODEL)


def test_columns_ids_and_spec(source):
    reg = synthetic_registry(n_households=3_000, seed=0, source=source)
    assert list(reg.columns) == SPEC.columns
    assert not {"weight", "psu", "stratum", "pcc", "log_pcc", "poor", "income"} & set(reg)
    assert pd.api.types.is_string_dtype(reg["hh_id"])
    assert reg["hh_id"].iloc[0] == "R000001" and reg["hh_id"].iloc[-1] == "R003000"
    assert reg["hh_id"].is_unique
    SPEC.validate(reg)  # codes, ranges, types of data_spec/registry.yaml
    assert pmt.datasets.synthetic_registry is synthetic_registry


def test_same_seed_same_frame(source):
    a = synthetic_registry(n_households=2_000, seed=5, source=source)
    b = synthetic_registry(n_households=2_000, seed=5, source=source)
    c = synthetic_registry(n_households=2_000, seed=6, source=source)
    pd.testing.assert_frame_equal(a, b)
    assert not a.drop(columns="hh_id").equals(c.drop(columns="hh_id"))


def test_planted_drift_has_the_stated_sizes(source):
    """Independent check against the source survey's weighted shares (n = 40,000 records:
    binomial standard errors about 0.0025)."""
    w = source["weight"].to_numpy()
    base = synthetic_registry(n_households=40_000, seed=2, drift=False, source=source)
    drifted = synthetic_registry(n_households=40_000, seed=2, drift=True, source=source)
    car_pop = np.average(source["car"], weights=w)
    assert base["car"].mean() == pytest.approx(car_pop, abs=0.01)
    # region mix: P(region in {8, 11}) = f p / (f p + 1 - p) with p the population share
    p = np.average(np.isin(source["region"], DRIFT_REGIONS), weights=w)
    f = DRIFT["region_factor"]
    share = np.isin(drifted["region"], DRIFT_REGIONS).mean()
    assert share == pytest.approx(f * p / (f * p + 1 - p), abs=0.01)
    assert np.isin(base["region"], DRIFT_REGIONS).mean() == pytest.approx(p, abs=0.01)
    # car: +15 points on the (region-shifted) population before the drift of cars
    tilt = np.where(np.isin(source["region"], DRIFT_REGIONS), f, 1.0)
    car_tilted = np.average(source["car"], weights=w * tilt)
    assert drifted["car"].mean() == pytest.approx(car_tilted + DRIFT["car_points"], abs=0.012)
    # rooms: 40 % of households report one more room
    rooms_tilted = np.average(source["rooms"], weights=w * tilt)
    assert drifted["rooms"].mean() == pytest.approx(rooms_tilted + DRIFT["rooms_share"],
                                                    abs=0.04)
    np.testing.assert_array_equal(
        drifted["rooms_cat"], np.select([drifted["rooms"] <= 2, drifted["rooms"] == 3,
                                         drifted["rooms"] <= 6], [1, 2, 3], 4))
    np.testing.assert_allclose(drifted["persons_per_room"],
                               drifted["hh_size"] / drifted["rooms"])
    assert set(drifted.attrs["drifted"]) == {"car", "region", "rooms", "rooms_cat",
                                            "persons_per_room"}
    assert base.attrs["drifted"] == [] and base.attrs["manipulated"] == 0


@pytest.mark.parametrize("which", ["model", "scorecard"])
def test_bunching_moves_the_recorded_households_below_the_cutoff(which, model, source):
    scorer = model if which == "model" else pmt.Scorecard.from_json(ROOT / "models" /
                                                                    "scorecard.json")
    honest = synthetic_registry(scorer, 20_000, seed=0, bunching=0.0, source=source)
    gamed = synthetic_registry(scorer, 20_000, seed=0, bunching=0.6, source=source)

    def score(df):
        if which == "model":
            return model.predict(df).to_numpy()
        return scorer.score(df)["score"].to_numpy(dtype=float)

    cut = gamed.attrs["cutoff"]
    lo, hi = gamed.attrs["band"]
    assert lo == cut and hi > cut
    ids = gamed.attrs["manipulated_ids"]
    assert gamed.attrs["manipulated"] == len(ids) > 50
    changed_rows = (gamed != honest).any(axis=1).to_numpy()
    assert sorted(gamed.loc[changed_rows, "hh_id"]) == sorted(ids)
    changed_cols = set(gamed.columns[(gamed != honest).any(axis=0).to_numpy()])
    assert changed_cols <= set(gamed.attrs["manipulated_proxies"])
    # only answers the registry spec marks hard to verify (and shares derived from them)
    assert all(not SPEC[c].verifiable for c in changed_cols)
    before, after = score(honest)[changed_rows], score(gamed)[changed_rows]
    assert np.all((before >= lo) & (before < hi)) and np.all(after < cut)
    # a share 0.6 of the band was drawn; those that could not get below stayed honest
    in_band = ((score(honest) >= lo) & (score(honest) < hi)).sum()
    assert len(ids) <= 0.6 * in_band * 1.15
    # answers only go down: fewer phones, fewer workers, no remittances
    for c in ("remittances", "n_mobile", "n_employed"):
        assert (gamed[c] <= honest[c]).all()


def test_mistakes(model):
    with pytest.raises(ModelError, match="model_or_scorecard"):
        synthetic_registry(None, 100, bunching=0.2)
    with pytest.raises(DataError, match="bunching"):
        synthetic_registry(model, 100, bunching=1.5)
    with pytest.raises(DataError, match="n_households"):
        synthetic_registry(n_households=0)
