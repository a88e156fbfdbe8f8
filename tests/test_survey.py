"""Survey design, weighted quantiles and quantile groups (DESIGN.md section 4)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.survey import quantile_cutpoints


def brute_quantile(x, w, q):
    """Smallest x_i whose cumulative weight share is >= q, by direct enumeration."""
    total = sum(w)
    for xi in sorted(set(x)):
        share = sum(wj for xj, wj in zip(x, w, strict=True) if xj <= xi) / total
        if share >= q - 1e-12:
            return xi
    return max(x)


class TestWeightedQuantile:
    def test_equal_weights_inverse_cdf(self):
        x = np.arange(1, 11)
        assert pmt.weighted_quantile(x, None, 0.1) == 1
        assert pmt.weighted_quantile(x, None, 0.2) == 2
        assert pmt.weighted_quantile(x, None, 0.25) == 3  # no interpolation
        assert pmt.weighted_quantile(x, None, 0.5) == 5
        assert pmt.weighted_quantile(x, None, 1.0) == 10

    def test_unequal_weights(self):
        x = [10, 20, 30, 40]
        w = [1, 1, 1, 7]  # shares 0.1, 0.2, 0.3, 1.0
        assert pmt.weighted_quantile(x, w, 0.3) == 30
        assert pmt.weighted_quantile(x, w, 0.31) == 40
        assert pmt.weighted_quantile(x, w, 0.05) == 10

    def test_unsorted_with_ties_matches_bruteforce(self):
        rng = np.random.default_rng(1)
        x = rng.integers(0, 15, 200).astype(float)
        w = rng.uniform(0.1, 5, 200)
        for q in [0.01, 0.1, 0.2, 0.333, 0.5, 0.9, 0.99]:
            assert pmt.weighted_quantile(x, w, q) == brute_quantile(list(x), list(w), q)

    def test_vector_q_returns_array(self):
        out = pmt.weighted_quantile([3, 1, 2], None, [0.3, 0.7])
        assert isinstance(out, np.ndarray)
        np.testing.assert_array_equal(out, [1, 3])

    @pytest.mark.parametrize(
        "args, match",
        [
            (([1, 2], [1, -1], 0.5), r"`weights` has 1 negative value at row 1 \(-1\)"),
            (([1, 2], [1, 1, 1], 0.5), "`weights` has 3 values but 2 are needed"),
            (([1, np.nan], None, 0.5), "missing"),
            (([1, 2], None, 1.5), r"\[0, 1\]"),
            (([], None, 0.5), "empty"),
        ],
    )
    def test_bad_input(self, args, match):
        with pytest.raises(pmt.PMTError, match=match):
            pmt.weighted_quantile(*args)


class TestQuantileGroups:
    def test_deciles_equal_weights(self):
        g = pmt.quantile_groups(np.arange(1, 101), None, 10)
        np.testing.assert_array_equal(g, np.repeat(np.arange(1, 11), 10))

    def test_definition_group_is_one_plus_count_of_cuts_below(self):
        rng = np.random.default_rng(7)
        x = rng.lognormal(size=500).round(1)  # ties
        w = rng.uniform(0.5, 3, 500)
        cuts = [brute_quantile(list(x), list(w), k / 5) for k in range(1, 5)]
        expected = np.array([1 + sum(xi > c for c in cuts) for xi in x])
        np.testing.assert_array_equal(pmt.quantile_groups(x, w, 5), expected)

    def test_ties_never_split(self):
        x = np.array([1, 1, 1, 1, 2, 2, 3, 4, 5, 6])
        g = pmt.quantile_groups(x, None, 5)
        for value in np.unique(x):
            assert len(set(g[x == value])) == 1
        # 40 % of the weight sits at x = 1: the first cut (q=0.2) and second (0.4) are 1
        np.testing.assert_array_equal(quantile_cutpoints(x, None, 5), [1, 1, 2, 4])
        assert set(g[x == 1]) == {1}

    def test_weights_shift_groups(self):
        x = np.array([1.0, 2.0, 3.0, 4.0])
        # heavy poorest household: it alone is 70 % of the population
        g = pmt.quantile_groups(x, [7, 1, 1, 1], 2)
        np.testing.assert_array_equal(g, [1, 2, 2, 2])


def small_design():
    return pd.DataFrame(
        {
            "hh": range(8),
            "w": [10.0, 10, 20, 20, 5, 5, 15, 15],
            "size": [1, 2, 3, 4, 2, 2, 5, 1],
            "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
            "psu": [1, 1, 2, 2, 1, 2, 3, 3],
            "y": [5.0, 3, 8, 1, 2, 9, 4, 7],
        }
    )


class TestSurvey:
    def test_person_and_household_weights(self):
        df = small_design()
        sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
        np.testing.assert_array_equal(sv.person_weight, df.w * df["size"])
        np.testing.assert_array_equal(sv.weights("household"), df.w)
        assert sv.n_psu == 5  # PSU labels are nested in strata

    def test_quantile_groups_person_vs_household(self):
        df = pd.DataFrame({"y": [1.0, 2, 3, 4], "w": [1.0, 1, 1, 1], "n": [7, 1, 1, 1]})
        sv = pmt.Survey(df, weight="w", size="n")
        np.testing.assert_array_equal(sv.quantile_groups("y", 2), [1, 2, 2, 2])
        np.testing.assert_array_equal(sv.quantile_groups("y", 2, unit="household"), [1, 1, 2, 2])

    def test_total_variance_by_hand(self):
        df = small_design()
        sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
        # hand: PSU totals of w*y within strata, n_h/(n_h-1) * sum of squared deviations
        var = 0.0
        for _, s in df.groupby("stratum"):
            t = (s.w * s.y).groupby(s.psu).sum().to_numpy()
            var += len(t) / (len(t) - 1) * ((t - t.mean()) ** 2).sum()
        assert sv.total_variance("y") == pytest.approx(var, rel=1e-12)

    def test_mean_se_linearisation_by_hand(self):
        df = small_design()
        sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
        mean, se = sv.mean_se("y")
        v = df.w * df["size"]
        m = (v * df.y).sum() / v.sum()
        z = df["size"] * (df.y - m)
        var = 0.0
        for _, idx in df.groupby("stratum").groups.items():
            s = df.loc[idx]
            t = (s.w * z.loc[idx]).groupby(s.psu).sum().to_numpy()
            var += len(t) / (len(t) - 1) * ((t - t.mean()) ** 2).sum()
        assert mean == pytest.approx(m)
        assert se == pytest.approx(np.sqrt(var) / v.sum())

    def test_bootstrap_variance_approximates_linearisation(self):
        rng = np.random.default_rng(3)
        n_psu, per = 200, 10
        psu = np.repeat(np.arange(n_psu), per)
        effect = rng.normal(size=n_psu)[psu]
        df = pd.DataFrame(
            {
                "psu": psu,
                "stratum": psu % 4,
                "w": rng.uniform(1, 3, n_psu * per),
                "n": rng.integers(1, 6, n_psu * per),
                "y": effect + rng.normal(size=n_psu * per),
            }
        )
        sv = pmt.Survey(df, weight="w", size="n", strata="stratum", psu="psu")
        _, se = sv.mean_se("y")
        W = sv.replicate_weights(2000, seed=1)
        reps = (W * df.y.to_numpy()[:, None]).sum(0) / W.sum(0)
        assert reps.std() == pytest.approx(se, rel=0.1)

    def test_replicate_factors_reproducible_and_psu_constant(self):
        df = small_design()
        sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
        f1 = sv.replicate_factors(50, seed=5)
        np.testing.assert_array_equal(f1, sv.replicate_factors(50, seed=5))
        # Rao-Wu with m_h = n_h - 1: stratum factor sums equal n_h
        assert np.allclose(f1[[0, 1]].sum(0), 2)
        assert np.allclose(f1[[2, 3, 4]].sum(0), 3)
        W = sv.replicate_weights(50, seed=5, unit="household")
        assert W[0].tolist() == W[1].tolist()  # same PSU, same factor

    def test_lonely_psu_warns_and_can_error(self):
        df = small_design()
        df.loc[df.stratum == 2, "psu"] = 9
        with pytest.warns(UserWarning, match="single PSU"):
            sv = pmt.Survey(df, weight="w", strata="stratum", psu="psu")
        assert sv.lonely_strata == [2]
        with pytest.raises(pmt.SurveyDesignError, match="Merge"):
            pmt.Survey(df, weight="w", strata="stratum", psu="psu", lonely_psu="error")

    @pytest.mark.parametrize(
        "change, match",
        [
            ({"w": [0.0] + [1.0] * 7}, r"`weight` column 'w' has 1 zero or negative value"),
            ({"w": [-2.0] + [1.0] * 7}, r"1 zero or negative value at row 0 \(-2\)"),
            ({"size": [0] + [1] * 7}, "size column 'size' must be a whole number >= 1"),
            ({"size": [1.5] + [1] * 7}, "whole number"),
            ({"psu": [None] + [1] * 7}, "missing values"),
        ],
    )
    def test_bad_design(self, change, match):
        df = small_design().assign(**change)
        with pytest.raises(pmt.SurveyDesignError, match=match):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")

    def test_missing_design_column(self):
        with pytest.raises(pmt.SurveyDesignError, match="'wt' is not in the data"):
            pmt.Survey(small_design(), weight="wt")

    def test_empty(self):
        with pytest.raises(pmt.DataError, match="no rows"):
            pmt.Survey(small_design().iloc[:0], weight="w")
