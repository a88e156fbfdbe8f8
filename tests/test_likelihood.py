"""Poverty-likelihood tables (PPI style) and the accuracy of the poverty rates they give.

The reference is a synthetic population in which the probability of being poor given the
score is known: score s ~ U(0, 100), log welfare = 0.02 s + e with e ~ N(0, 0.5^2) (plus a
PSU effect in the clustered design), so P(poor at z | s) = Phi((log z - 0.02 s) / 0.5) and
a band's likelihood is the average of that over the band (integrated here with scipy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from pmt import Survey
from pmt.errors import DataError
from pmt.evaluate.likelihood import likelihood_accuracy, poverty_likelihood

EDGES = [0, 20, 40, 60, 80, 100]
LINES = {"low": 1.5, "high": 3.0}
SIGMA = 0.5


def true_likelihood(z: float, sigma: float = SIGMA) -> np.ndarray:
    return np.array([
        integrate.quad(lambda u: stats.norm.cdf((np.log(z) - 0.02 * u) / sigma), a, b)[0]
        / (b - a) for a, b in zip(EDGES[:-1], EDGES[1:], strict=True)
    ])


TRUTH = {name: true_likelihood(z) for name, z in LINES.items()}


def draw(rng, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    s = rng.uniform(0, 100, n)
    return s, np.exp(0.02 * s + shift + rng.normal(0, SIGMA, n))


def test_table_layout_and_hand_computation():
    # not seed 0: the bootstrap's default seed, whose stream would mirror the data's
    rng = np.random.default_rng(100)
    s, y = draw(rng, 3000)
    w = rng.uniform(0.5, 2.0, s.size)
    table = poverty_likelihood(s, y, LINES, weights=w, bands=EDGES, n_replicates=200)
    assert list(table.index) == ["[0, 20)", "[20, 40)", "[40, 60)", "[60, 80)", "[80, 100]"]
    assert table.columns.names == ["line", "statistic"]
    frame = pd.DataFrame({"band": pd.cut(s, EDGES, right=False, include_lowest=True), "w": w,
                          "low": (y < 1.5) * w, "high": (y < 3.0) * w})
    by_hand = frame.groupby("band", observed=False)[["low", "high", "w"]].sum()
    for name in LINES:
        np.testing.assert_allclose(table[(name, "likelihood")].to_numpy(),
                                   (by_hand[name] / by_hand["w"]).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(table[("band", "share")].to_numpy(),
                               (by_hand["w"] / w.sum()).to_numpy(), rtol=1e-12)
    assert table[("band", "n")].sum() == s.size
    assert (table[("low", "lower")] <= table[("low", "likelihood")]).all()
    assert (table[("high", "n_valid")] == 200).all()
    again = poverty_likelihood(s, y, LINES, weights=w, bands=EDGES, n_replicates=200)
    pd.testing.assert_frame_equal(table, again)  # same seed, same bits


def test_likelihoods_close_to_the_truth():
    rng = np.random.default_rng(1)
    s, y = draw(rng, 20_000)
    table = poverty_likelihood(s, y, LINES, bands=EDGES, n_replicates=300)
    for name in LINES:
        err = table[(name, "likelihood")].to_numpy() - TRUTH[name]
        se = table[(name, "se")].to_numpy()
        assert np.all(np.abs(err) < 4 * np.maximum(se, 1e-3)), (name, err, se)
        assert np.all(np.abs(err) < 0.02)


def test_quantile_bands():
    rng = np.random.default_rng(2)
    s, y = draw(rng, 2000)
    table = poverty_likelihood(s, y, 3.0, bands=4, n_replicates=100)
    assert len(table) == 4 and list(table.columns.levels[0]) == ["3", "band"]
    np.testing.assert_allclose(table[("band", "share")], 0.25)
    # likelihoods fall with the score (better off households)
    assert np.all(np.diff(table[("3", "likelihood")].to_numpy()) < 0)


def _coverage(samples: int, n: int, replicates: int, seed: int) -> tuple[float, int]:
    """Share of 95 % intervals that hold the true likelihood, over bands with at least 10
    expected poor and 10 expected non-poor households (percentile intervals undercover for
    rarer events: with about 1 poor household expected in a band we measured 71 %)."""
    rng = np.random.default_rng(seed)
    band_n = n / 5
    hits = checks = 0
    for k in range(samples):
        s, y = draw(rng, n)
        table = poverty_likelihood(s, y, LINES, bands=EDGES, n_replicates=replicates, seed=k)
        for name in LINES:
            keep = np.minimum(TRUTH[name], 1 - TRUTH[name]) * band_n >= 10
            inside = ((table[(name, "lower")] <= TRUTH[name])
                      & (TRUTH[name] <= table[(name, "upper")])).to_numpy()
            hits += int(inside[keep].sum())
            checks += int(keep.sum())
    return hits / checks, checks


def test_interval_coverage_fast():
    # measured 0.972 of 320 intervals (40 samples of 1500 households, 200 replicates)
    rate, checks = _coverage(40, 1500, 200, seed=3)
    lo, hi = stats.binom.interval(0.999, checks, 0.95)
    assert lo / checks - 0.02 <= rate <= hi / checks, rate


@pytest.mark.slow
def test_interval_coverage_monte_carlo():
    # measured 0.943 (300 samples of 2000 households, 400 replicates)
    rate, checks = _coverage(300, 2000, 400, seed=4)
    assert 0.925 <= rate <= 0.965, rate


PSU_SD = 0.5


def _clustered(rng, n_psu: int = 80, per_psu: int = 25):
    """Two strata of PSUs; a PSU effect u ~ N(0, 0.5^2) in log welfare, so households
    of a PSU are alike and the marginal sd is sqrt(0.5^2 + 0.5^2)."""
    psu = np.repeat(np.arange(n_psu), per_psu)
    s = rng.uniform(0, 100, psu.size)
    u = rng.normal(0, PSU_SD, n_psu)[psu]
    y = np.exp(0.02 * s + u + rng.normal(0, SIGMA, psu.size))
    data = pd.DataFrame({"score": s, "welfare": y, "psu": psu, "stratum": psu % 2,
                         "w": rng.uniform(1, 3, n_psu)[psu]})
    return Survey(data, weight="w", strata="stratum", psu="psu")


@pytest.mark.slow
def test_psu_bootstrap_covers_clustered_data():
    # measured over 750 intervals (150 samples x 5 bands): PSU bootstrap 0.923 (slightly
    # below 0.95, as bootstraps with 40 PSUs per stratum are), households resampled alone
    # (ignoring the PSUs) 0.775
    truth = true_likelihood(3.0, np.sqrt(SIGMA**2 + PSU_SD**2))
    rng = np.random.default_rng(5)
    hits_psu = hits_iid = 0
    samples = 150
    for k in range(samples):
        survey = _clustered(rng)
        by_psu = poverty_likelihood("score", "welfare", 3.0, bands=EDGES, survey=survey,
                                    n_replicates=300, seed=k)
        alone = poverty_likelihood(survey.data["score"], survey.data["welfare"], 3.0,
                                   weights=survey.data["w"], bands=EDGES, n_replicates=300,
                                   seed=k)
        for table, counter in ((by_psu, "psu"), (alone, "iid")):
            inside = ((table[("3", "lower")] <= truth) & (truth <= table[("3", "upper")])).sum()
            if counter == "psu":
                hits_psu += int(inside)
            else:
                hits_iid += int(inside)
    assert 0.90 <= hits_psu / (5 * samples) <= 0.975
    assert hits_iid / (5 * samples) < 0.85


def test_survey_columns_and_person_weights():
    survey = _clustered(np.random.default_rng(6))
    survey.data["size"] = np.random.default_rng(7).integers(1, 6, survey.n_households)
    survey = Survey(survey.data, weight="w", size="size", strata="stratum", psu="psu")
    table = poverty_likelihood("score", "welfare", {"z": 3.0}, bands=EDGES, survey=survey,
                               n_replicates=100)
    v = survey.data["w"] * survey.data["size"]
    band = pd.cut(survey.data["score"], EDGES, right=False)
    poor = (survey.data["welfare"] < 3.0) * v
    expected = poor.groupby(band, observed=False).sum() / v.groupby(band, observed=False).sum()
    np.testing.assert_allclose(table[("z", "likelihood")].to_numpy(), expected.to_numpy(),
                               rtol=1e-12)


# --- accuracy on held-out households ------------------------------------------------------
@pytest.fixture(scope="module")
def big_table() -> pd.DataFrame:
    s, y = draw(np.random.default_rng(8), 50_000)
    return poverty_likelihood(s, y, LINES, bands=EDGES, n_replicates=50)


def test_accuracy_by_hand(big_table):
    rng = np.random.default_rng(9)
    s, y = draw(rng, 3000)
    w = rng.uniform(0.5, 2, s.size)
    acc = likelihood_accuracy(big_table, s, y, LINES, w, n_replicates=300)
    band = np.minimum(np.floor(s / 20).astype(int), 4)
    for name, z in LINES.items():
        lik = big_table[(name, "likelihood")].to_numpy()[band]
        assert acc.loc[name, "estimated"] == pytest.approx(np.average(lik, weights=w), rel=1e-12)
        assert acc.loc[name, "true"] == pytest.approx(np.average(y < z, weights=w), rel=1e-12)
    assert (acc["precision"] > 0).all() and (acc["lower"] <= acc["upper"]).all()


def test_bias_near_zero_on_held_out_data_of_the_same_population(big_table):
    rng = np.random.default_rng(10)
    s, y = draw(rng, 10_000)
    acc = likelihood_accuracy(big_table, s, y, LINES, n_replicates=400)
    for name in LINES:
        # what the table's own sampling error adds (uniform scores: bands weigh 1/5 each)
        table_error = np.mean(big_table[(name, "likelihood")].to_numpy() - TRUTH[name])
        assert abs(acc.loc[name, "bias"] - table_error) < 3 * acc.loc[name, "se"]
        assert abs(acc.loc[name, "bias"]) < 0.01
        assert acc.loc[name, "lower"] < acc.loc[name, "difference"] < acc.loc[name, "upper"]


def test_bias_found_when_the_population_changes(big_table):
    # held-out households 20 % poorer at every score: the table underestimates poverty
    s, y = draw(np.random.default_rng(11), 10_000, shift=np.log(0.8))
    acc = likelihood_accuracy(big_table, s, y, LINES, n_replicates=300)
    assert (acc["upper"] < 0).all()
    assert (acc["bias"] < -0.05).all()


def test_mistakes(big_table):
    s, y = draw(np.random.default_rng(12), 500)
    with pytest.raises(DataError, match="outside the bands"):
        poverty_likelihood(np.r_[s, 120.0], np.r_[y, 1.0], 3.0, bands=EDGES)
    with pytest.raises(DataError, match="increasing"):
        poverty_likelihood(s, y, 3.0, bands=[0, 50, 40, 100])
    with pytest.raises(DataError, match="lines"):
        likelihood_accuracy(big_table, s, y, {"national": 2.0})
    with pytest.raises(DataError, match="poverty_likelihood"):
        likelihood_accuracy(pd.DataFrame({"a": [1]}), s, y, LINES)
    with pytest.raises(DataError, match="mapping"):
        poverty_likelihood(s, y, [np.full(s.size, 3.0)], bands=EDGES)
    with pytest.raises(DataError, match="`welfare`"):
        poverty_likelihood(s, y[:-1], 3.0, bands=EDGES)
