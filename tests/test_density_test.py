"""The manipulation (density) test at the cut-off and the shares around it.

References: rddensity 3.0's own output on its published example and on simulated data
(tests/references/rddensity_3_0.yaml), the true density of simulated scores, and Monte
Carlo size and power (with and without planted bunching below the cut-off).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pmt.errors import DataError, OptionError, PMTError, WeightError
from pmt.registry.manipulation import density_test, manipulation_summary, unverifiable_share
from pmt.spec import DataSpec

REFERENCES = Path(__file__).parent / "references"

#: Agreement with rddensity: relative, on every reported figure.
RTOL = 1e-8


@pytest.fixture(scope="module")
def margin() -> np.ndarray:
    return pd.read_csv(REFERENCES / "rddensity_senate.csv")["margin"].to_numpy()


def _simulated_normal() -> np.ndarray:
    return np.random.default_rng(20240617).normal(0.3, 1.0, 2000)


def _simulated_bunching_integer() -> np.ndarray:
    rng = np.random.default_rng(7)
    s = np.round(rng.normal(50, 12, 3000))
    move = (s >= 50) & (s < 54) & (rng.random(3000) < 0.4)
    s[move] = 49 - rng.integers(0, 3, move.sum())
    return s


CASES = {
    "senate_default": ("margin", 0, {}),
    "senate_c5": ("margin", 5, {}),
    "senate_h10_15": ("margin", 0, {"bandwidth": (10, 15)}),
    "senate_uniform": ("margin", 0, {"kernel": "uniform"}),
    "senate_epanechnikov": ("margin", 0, {"kernel": "epanechnikov"}),
    "senate_p1": ("margin", 0, {"p": 1}),
    "senate_p3": ("margin", 0, {"p": 3}),
    "senate_each": ("margin", 0, {"bandwidth_rule": "each"}),
    "senate_diff": ("margin", 0, {"bandwidth_rule": "diff"}),
    "senate_sum": ("margin", 0, {"bandwidth_rule": "sum"}),
    "simulated_normal": ("normal", 0.5, {}),
    "simulated_bunching_integer": ("integer", 49.5, {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_rddensity(case, margin, reference):
    expected = reference("rddensity_3_0")[case]
    data, cutoff, options = CASES[case]
    scores = {"margin": margin, "normal": _simulated_normal(),
              "integer": _simulated_bunching_integer()}[data]
    result = density_test(scores, cutoff, method="local_polynomial", **options)
    for key, value in expected.items():
        if key == "call":
            continue
        got = getattr(result, key)
        if isinstance(value, int):
            assert got == value, key
        else:
            assert got == pytest.approx(value, rel=RTOL, abs=1e-13), key


def test_published_example_reads_as_rddensity_prints(margin):
    result = density_test(margin, 0)
    text = result.summary()
    assert "-0.8753" in text and "0.3814" in text  # robust T and p, as rddensity prints
    table = result.to_frame()
    assert table.loc["difference", "density"] == pytest.approx(
        result.density_right - result.density_left)
    assert table.loc["difference", "se"] ** 2 == pytest.approx(
        result.se_left**2 + result.se_right**2)


def test_equal_weights_give_the_unweighted_test(margin):
    plain = density_test(margin, 0)
    weighted = density_test(margin, 0, weights=np.full(margin.size, 3.7))
    assert weighted.weighted and not plain.weighted
    for key in ("statistic", "density_left", "density_right", "se_left", "bandwidth_right"):
        assert getattr(weighted, key) == pytest.approx(getattr(plain, key), rel=1e-9)


def test_density_estimates_the_true_density():
    # 40 000 standard normal scores: f(0.25) = 0.3867 on both sides
    x = np.random.default_rng(3).normal(size=40_000)
    r = density_test(x, 0.25)
    truth = stats.norm.pdf(0.25)
    assert abs(r.density_left - truth) < 3 * r.se_left
    assert abs(r.density_right - truth) < 3 * r.se_right
    assert r.se_left < 0.02


def test_invariant_to_shift_and_scale():
    x = np.random.default_rng(4).normal(size=3000)
    a = density_test(x, 0.1)
    b = density_test(10 * x + 50, 51)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-8)
    assert b.density_left == pytest.approx(a.density_left / 10, rel=1e-8)
    assert b.bandwidth_right == pytest.approx(10 * a.bandwidth_right, rel=1e-8)


def test_missing_scores_are_dropped_and_counted():
    x = np.random.default_rng(5).normal(size=2000)
    with_missing = pd.Series(np.r_[x, [np.nan] * 3])
    r = density_test(with_missing, 0)
    assert r.n_dropped == 3
    assert r.statistic == pytest.approx(density_test(x, 0).statistic, rel=1e-12)
    assert "3 dropped" in r.summary()


def _binomial_band(rate: float, draws: int) -> tuple[float, float]:
    lo, hi = stats.binom.interval(0.999, draws, rate)
    return lo / draws, hi / draws


def _rejection_rate(draws: int, n: int, seed: int, bunching: float = 0.0,
                    integer: bool = False) -> float:
    """Share of draws in which the test rejects at 5 %.

    Scores are standard normal (or round(N(50, 10)) with ``integer``); with ``bunching``
    that share of the households in [0, 0.25) above the cut-off 0 moves uniformly into
    [-0.25, 0), just below it.
    """
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(draws):
        if integer:
            x, cutoff = np.round(rng.normal(50, 10, n)), 49.5
        else:
            x, cutoff = rng.normal(0, 1, n), (0.0 if bunching else 0.2)
        if bunching:
            move = (x >= 0) & (x < 0.25) & (rng.random(n) < bunching)
            x[move] = -rng.uniform(0, 0.25, move.sum())
        rejected += density_test(x, cutoff).p_value < 0.05
    return rejected / draws


def test_size_without_bunching_fast():
    # measured: 0.040 (300 draws of 1000 households)
    rate = _rejection_rate(300, 1000, seed=1)
    lo, hi = _binomial_band(0.05, 300)
    assert lo <= rate <= hi, rate


def test_power_with_bunching_below_fast():
    # half of the households within 0.25 sd above the cut-off moved just below it,
    # 10 000 households: measured 1.00 (50 draws)
    assert _rejection_rate(50, 10_000, seed=2, bunching=0.5) >= 0.95


def _informative_sample(rng, n: int):
    """A sample that takes every household just below the cut-off 0 (in [-0.5, 0)) and
    half of the others, with weights 1 and 2 undoing it: the population density is
    continuous at 0, the sample's is not."""
    population = rng.normal(0, 1, 2 * n)
    near = (population >= -0.5) & (population < 0)
    keep = near | (rng.random(population.size) < 0.5)
    return population[keep], np.where(near[keep], 1.0, 2.0)


def test_weights_undo_informative_sampling_fast():
    rng = np.random.default_rng(6)
    weighted = unweighted = 0
    draws = 100
    for _ in range(draws):
        x, w = _informative_sample(rng, 2000)
        weighted += density_test(x, 0, weights=w).p_value < 0.05
        unweighted += density_test(x, 0).p_value < 0.05
    lo, hi = _binomial_band(0.05, draws)
    assert lo <= weighted / draws <= hi
    assert unweighted / draws > 0.7  # measured 0.92 (weighted 0.03)


@pytest.mark.slow
def test_size_and_power_monte_carlo():
    # measured (seeds below): size 0.0385 (2000 draws of 2000 normal scores), 0.049
    # (1000 draws of 500), 0.051 with integer scores (1000 draws of 3000, mass points);
    # power 0.74 / 0.86 / 1.00 for 20 % bunching with 10 000 / 20 000 households and
    # 50 % bunching with 10 000 (100 draws each; the last two are asserted below).
    for draws, n, seed, integer in ((2000, 2000, 11, False), (1000, 500, 12, False),
                                    (1000, 3000, 13, True)):
        rate = _rejection_rate(draws, n, seed, integer=integer)
        lo, hi = _binomial_band(0.05, draws)
        assert lo <= rate <= hi, (n, rate)
    assert _rejection_rate(100, 20_000, seed=14, bunching=0.2) >= 0.8
    assert _rejection_rate(100, 10_000, seed=15, bunching=0.5) >= 0.97


@pytest.mark.slow
def test_weighted_size_monte_carlo():
    # measured 0.049 (1000 draws)
    rng = np.random.default_rng(16)
    draws, rejected = 1000, 0
    for _ in range(draws):
        x, w = _informative_sample(rng, 2000)
        rejected += density_test(x, 0, weights=w).p_value < 0.05
    lo, hi = _binomial_band(0.05, draws)
    assert lo <= rejected / draws <= hi


# --- mistakes -----------------------------------------------------------------------------
def test_mistakes_raise_pmt_errors(margin):
    with pytest.raises(DataError, match="cut-off 150"):
        density_test(margin, 150)
    with pytest.raises(DataError, match="non-numeric"):
        density_test(pd.Series(["1", "x", "3"]), 2)
    with pytest.raises(DataError, match="infinite"):
        density_test(pd.Series([1.0, np.inf, 3.0], index=["a", "b", "c"]), 2)
    with pytest.raises(WeightError, match="negative"):
        density_test(margin, 0, weights=np.r_[-1.0, np.ones(margin.size - 1)])
    with pytest.raises(OptionError, match="triangular"):
        density_test(margin, 0, kernel="gaussian")
    with pytest.raises(OptionError, match="comb"):
        density_test(margin, 0, bandwidth_rule="mse")
    with pytest.raises(DataError, match="bandwidth"):
        density_test(margin, 0, bandwidth=(-1, 2))
    with pytest.raises(DataError, match="`p`"):
        density_test(margin, 0, p=9)
    with pytest.raises(DataError, match="singular"):
        density_test(margin, 0, bandwidth=0.05)
    with pytest.raises(PMTError, match="cutoff"):
        density_test(margin, "zero")


# --- shares around the cut-off ------------------------------------------------------------
def test_manipulation_summary_by_hand():
    scores = pd.Series([8, 9, 9.5, 10, 10.5, 12, 3, np.nan])
    weights = [1, 2, 1, 1, 3, 1, 1, 5]
    contributions = pd.DataFrame({
        "points_rooms": [4, 3, 5, 5, 6, 6, 1, 0],
        "points_car": [4, 6, 4.5, 5, 4.5, 6, 2, 0],
    })
    out = manipulation_summary(scores, 10, width=2, weights=weights,
                               contributions=contributions, unverifiable=["car"])
    total = 1 + 2 + 1 + 1 + 3 + 1 + 1  # the missing score is left out
    below, above = (1 + 2 + 1) / total, (1 + 3) / total  # [8, 10) and [10, 12)
    assert out.loc["just below", "n"] == 3 and out.loc["just above", "n"] == 2
    assert out.loc["just below", "share"] == pytest.approx(below)
    assert out.loc["just above", "share"] == pytest.approx(above)
    assert out.loc["just below", "density"] == pytest.approx(below / 2)
    assert out.loc["just below", "ratio_to_above"] == pytest.approx(below / above)
    car_share = np.array([4 / 8, 6 / 9, 4.5 / 9.5, 5 / 10, 4.5 / 10.5, 6 / 12, 2 / 3])
    w = np.array(weights[:7], dtype=float)
    assert out.loc["just below", "unverifiable_share"] == pytest.approx(
        np.average(car_share[:3], weights=w[:3]))
    assert out.loc["all", "unverifiable_share"] == pytest.approx(np.average(car_share, weights=w))
    assert out.attrs["n_dropped"] == 1


def test_unverifiable_share_from_the_data_spec():
    spec = DataSpec.from_dict({"name": "registry", "columns": {
        "rooms": {"type": "count", "role": "proxy", "verifiable": True},
        "car": {"type": "binary", "role": "proxy"},
        "tv": {"type": "binary", "role": "proxy"},
    }})
    contributions = pd.DataFrame({"rooms": [2.0, -1.0], "car": [1.0, 0.0], "tv": [-1.0, 0.0]})
    share = unverifiable_share(contributions, spec)
    assert share.tolist() == pytest.approx([2 / 4, 0.0])
    with pytest.raises(DataError, match="fridge"):
        unverifiable_share(contributions, ["fridge"])
    with pytest.raises(DataError, match="width"):
        manipulation_summary([1, 2], 1, width=0)


# --- integer scores (scorecard points): the discrete method -------------------------------
def _integer_rates(draws: int, n: int, cutoff: int, seed: int, sd: float = 8.0,
                   bunching: float = 0.0, method: str = "auto") -> float:
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(draws):
        x = np.round(rng.normal(50, sd, n))
        if bunching:  # households 0-3 points above the cut-off answer their way below it
            move = (x >= cutoff) & (x < cutoff + 4) & (rng.random(n) < bunching)
            x[move] = cutoff - 1 - rng.integers(0, 2, move.sum())
        rejected += density_test(x, cutoff, method=method).p_value < 0.05
    return rejected / draws


def test_integer_scores_use_the_discrete_test():
    x = np.round(np.random.default_rng(0).normal(50, 8, 5000))
    assert density_test(x, 35).method == "discrete"
    assert density_test(x + 0.1, 35).method == "local_polynomial"
    result = density_test(x, 35)
    assert "integer scores" in result.summary()
    assert result.pilot_bandwidths["overdispersion"] >= 1


def test_local_polynomial_test_fails_on_integer_scores_in_the_tail():
    """Why integer scores get their own test: measured 40 rejections in 40 draws."""
    assert _integer_rates(10, 20_000, 35, seed=21, method="local_polynomial") >= 0.8


@pytest.mark.parametrize(("cutoff", "sd"), [(35, 8), (50, 8), (40, 12)])
def test_discrete_size_in_the_tail_and_the_centre(cutoff, sd):
    # measured 0.025, 0.05 and 0.05 (200 draws of 20,000 each)
    rate = _integer_rates(200, 20_000, cutoff, seed=22, sd=sd)
    assert rate <= _binomial_band(0.05, 200)[1], rate


def test_discrete_power_with_bunching():
    # 30 % of the households 0-3 points above the cut-off move 1-2 points below it:
    # measured 1.00 (50 draws of 20,000)
    assert _integer_rates(50, 20_000, 35, seed=23, bunching=0.3) >= 0.95


def test_discrete_shares_by_hand():
    """Without bunching and with a flat law the boundary shares equal the cell shares."""
    x = np.repeat(np.arange(0, 100), 200).astype(float)  # 200 households at every score
    result = density_test(x, 50)
    assert result.density_left == pytest.approx(0.01, abs=1e-12)
    assert result.density_right == pytest.approx(0.01, abs=1e-12)
    assert result.statistic == pytest.approx(0, abs=1e-9)
    assert (result.n_left, result.n_right) == (50 * 200, 50 * 200)
