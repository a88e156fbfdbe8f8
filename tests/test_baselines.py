"""Baselines at the same coverage: random, universal, categorical and geographic selection.

Hand-calculated on six households. Person weights v = w x n:

    hh  y    w  n  v  kids old area   poor (z = 100)
    A   50   1  2  2  1    0   north  yes
    B   80   1  1  1  0    1   north  yes
    C   90   1  2  2  2    0   south  yes
    D   120  1  1  1  0    1   south  no
    E   150  1  2  2  1    0   east   no
    F   200  2  1  2  0    0   east   no

Total population 10; coverage 0.5 means 5 persons.
"""

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import DataError, PMTError, PolicyError
from pmt.evaluate.baselines import (
    Categorical,
    Geographic,
    RandomSelection,
    Universal,
    ranked_selection,
)

V = np.array([2, 1, 2, 1, 2, 2], dtype=float)


@pytest.fixture()
def small():
    df = pd.DataFrame(
        {
            "y": [50, 80, 90, 120, 150, 200.0],
            "w": [1, 1, 1, 1, 1, 2.0],
            "n": [2, 1, 2, 1, 2, 1],
            "kids": [1, 0, 2, 0, 1, 0],
            "kids_0_5": [0, 0, 1, 0, 1, 0],
            "kids_6_17": [1, 0, 1, 0, 0, 0],
            "old": [0, 1, 0, 1, 0, 0],
            "female": [True, False, False, False, True, False],
            "area": ["north", "north", "south", "south", "east", "east"],
        },
        index=pd.Index(list("ABCDEF"), name="hh"),
    )
    return pmt.Survey(df, weight="w", size="n")


def coverage(pi):
    return float(np.sum(V * np.asarray(pi)) / V.sum())


# --- ranked selection -------------------------------------------------------------------------
def test_ranked_selection_rations_the_marginal_household():
    # score order C(60, v2) B(70, v1) D(95, v1) A(130, v2) E F; target 5 persons:
    # C, B, D give 4, A (2 persons) is needed for 1 -> probability 1/2
    score = pd.Series([130, 70, 60, 95, 150, 200.0], index=list("ABCDEF"))
    pi = ranked_selection(score, V, 0.5)
    assert list(pi.index) == list("ABCDEF") and pi.name == "probability"
    np.testing.assert_allclose(pi, [0.5, 1, 1, 1, 0, 0])
    assert coverage(pi) == pytest.approx(0.5, abs=1e-15)
    # a need score (higher = poorer) reverses the order: F(v2), E(v2), then A needs 1 of 2
    need = ranked_selection(score.to_numpy(), V, 0.5, higher_is_poorer=True)
    np.testing.assert_allclose(need, [0.5, 0, 0, 0, 1, 1])


def test_ranked_selection_keeps_tie_groups_together():
    # four households of weight 1, scores 1, 2, 2, 3, coverage 1/2: the tie group {2, 2}
    # (weight 2) comes after 1 person and must supply 1 more -> both get 1/2
    pi = ranked_selection([1, 2, 2, 3], [1, 1, 1, 1], 0.5)
    np.testing.assert_allclose(pi, [1, 0.5, 0.5, 0])
    # whole groups at the boundary: coverage 3/4 takes the tie group entirely
    np.testing.assert_array_equal(ranked_selection([1, 2, 2, 3], [1, 1, 1, 1], 0.75),
                                  [1, 1, 1, 0])


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, "half", None])
def test_coverage_must_be_a_share(bad):
    with pytest.raises(PolicyError, match="`coverage` must be a population share"):
        ranked_selection([1, 2], [1, 1], bad)


# --- random and universal ------------------------------------------------------------------------
def test_random_selection_analytic_is_coverage_everywhere(small):
    pi = RandomSelection().probabilities(small, 0.3)
    np.testing.assert_array_equal(pi, np.full(6, 0.3))
    assert list(pi.index) == list("ABCDEF")


def test_random_selection_seeded_draw():
    # 4,000 households: one lottery ranks a uniform draw; coverage exact, at most one
    # household strictly between 0 and 1, same seed -> same draw
    df = pmt.datasets.synthetic_hbs(n_households=4000, seed=5)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    v = sv.person_weight
    a = RandomSelection(seed=1).probabilities(sv, 0.25).to_numpy()
    b = RandomSelection(seed=1).probabilities(sv, 0.25).to_numpy()
    c = RandomSelection(seed=2).probabilities(sv, 0.25).to_numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.sum(v * a) / v.sum() == pytest.approx(0.25, abs=1e-12)
    assert np.sum((a > 0) & (a < 1)) <= 1
    # known truth of a lottery: the poor are covered at about the coverage rate
    poor = (df["pcc"] < df["poverty_line"]).to_numpy()
    cov_poor = [np.sum((v * RandomSelection(seed=s).probabilities(sv, 0.25))[poor])
                / v[poor].sum() for s in range(200)]
    assert np.mean(cov_poor) == pytest.approx(0.25, abs=0.01)


def test_universal_covers_everybody(small):
    pi = Universal().probabilities(small)  # no coverage needed
    np.testing.assert_array_equal(pi, np.ones(6))
    np.testing.assert_array_equal(Universal().probabilities(small, 0.2), np.ones(6))


# --- categorical -------------------------------------------------------------------------------
def test_categorical_lottery_rations_a_large_category(small):
    # kids > 0: A, C, E = 6 persons, share 0.6 > 0.5 -> each member with 0.5 / 0.6 = 5/6
    pi = Categorical("kids").probabilities(small, 0.5)
    np.testing.assert_allclose(pi, [5 / 6, 0, 5 / 6, 0, 5 / 6, 0])
    assert coverage(pi) == pytest.approx(0.5)


def test_categorical_lottery_fills_a_small_category(small):
    # old > 0: B, D = 2 persons, share 0.2 < 0.5 -> members all, the other 8 persons with
    # (0.5 - 0.2) / (1 - 0.2) = 0.375 (8 x 0.375 = 3 persons)
    pi = Categorical("old").probabilities(small, 0.5)
    np.testing.assert_allclose(pi, [0.375, 1, 0.375, 1, 0.375, 0.375])
    assert coverage(pi) == pytest.approx(0.5)


def test_categorical_all_takes_the_whole_category(small):
    rule = Categorical("kids", rationing="all")
    np.testing.assert_array_equal(rule.probabilities(small), [1, 0, 1, 0, 1, 0])
    # the coverage is its own (0.6), whatever is asked
    np.testing.assert_array_equal(rule.probabilities(small, 0.2), [1, 0, 1, 0, 1, 0])


def test_categorical_columns_are_summed_and_booleans_work(small):
    both = Categorical(["kids_0_5", "kids_6_17"], rationing="all")
    np.testing.assert_array_equal(both.probabilities(small), [1, 0, 1, 0, 1, 0])
    assert both.label == "Categorical: kids_0_5 + kids_6_17"
    np.testing.assert_array_equal(
        Categorical("female", rationing="all").probabilities(small), [1, 0, 0, 0, 1, 0])
    # at least two children: only C
    np.testing.assert_array_equal(
        Categorical("kids", above=1, rationing="all").probabilities(small), [0, 0, 1, 0, 0, 0])


def test_categorical_mistakes_name_the_fix(small):
    with pytest.raises(DataError, match="`column` column 'nope' is not in the survey"):
        Categorical("nope").probabilities(small, 0.5)
    with pytest.raises(PolicyError, match="no household is in the category"):
        Categorical("kids", above=5).probabilities(small, 0.5)
    with pytest.raises(PolicyError, match="`rationing` must be 'lottery'"):
        Categorical("kids", rationing="some")
    with pytest.raises(PolicyError, match="needs `coverage`"):
        Categorical("kids").probabilities(small)


# --- geographic --------------------------------------------------------------------------------
def test_geographic_ranks_areas_by_survey_headcount(small):
    # headcount y < 100: north (A, B: 3 of 3 persons) 1, south (C poor: 2 of 3) 2/3, east 0.
    # Coverage 5: north (3 persons) whole, south needs 2 of its 3 -> 2/3, east none.
    rule = Geographic("area", estimate="in_sample")
    pi = rule.probabilities(small, 0.5, welfare="y", line=100)
    np.testing.assert_allclose(pi, [1, 1, 2 / 3, 2 / 3, 0, 0])
    assert coverage(pi) == pytest.approx(0.5)


def test_geographic_crossfit_rates_come_from_the_other_fold(small):
    # folds A0 B1 C0 D1 E0 F1; each cell's rate is its area's headcount in the other fold:
    #   north-0 (A, v2): B poor -> 1      north-1 (B, v1): A poor -> 1
    #   south-0 (C, v2): D not poor -> 0  south-1 (D, v1): C poor -> 1
    #   east-0  (E, v2): F -> 0           east-1  (F, v2): E -> 0
    # rate 1: A, B, D (4 persons) all; rate 0: C, E, F (6 persons) share the 1 remaining
    # person of the 5 -> 1/6 each. The noise of a small sample shows: D is preferred to C.
    rule = Geographic("area", folds=[0, 1, 0, 1, 0, 1])
    pi = rule.probabilities(small, 0.5, welfare="y", line=100)
    np.testing.assert_allclose(pi, [1, 1, 1 / 6, 1, 1 / 6, 1 / 6])
    assert coverage(pi) == pytest.approx(0.5)


def test_geographic_crossfit_area_alone_in_its_fold_gets_the_national_rate(small):
    # folds A0 B0 C1 D1 E0 F1: north lies wholly in fold 0 and south wholly in fold 1, so
    # they have no out-of-fold information and get the other fold's national headcount:
    #   north-0 (A, B; v3): fold 1 = C (2 poor), D (1), F (2) -> 2/5 = 0.4
    #   south-1 (C, D; v3): fold 0 = A (2 poor), B (1 poor), E (2) -> 3/5 = 0.6
    #   east-0 (E, v2): F not poor -> 0;  east-1 (F, v2): E not poor -> 0
    # South first (3 persons), then north supplies 2 of its 3 -> 2/3, east none.
    rule = Geographic("area", folds=[0, 0, 1, 1, 0, 1])
    pi = rule.probabilities(small, 0.5, welfare="y", line=100)
    np.testing.assert_allclose(pi, [2 / 3, 2 / 3, 1, 1, 0, 0])


def test_geographic_crossfit_uses_the_models_folds():
    # default folds are those of pmt.evaluate.cross_fit with the same seed: passing them
    # explicitly gives the same selection
    from pmt.evaluate.cross_validation import psu_folds

    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=2)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    z = df["poverty_line"].iloc[0]
    folds = psu_folds(sv, 5, np.random.SeedSequence([7, 0]))
    a = Geographic("region", seed=7).probabilities(sv, 0.2, welfare="pcc", line=z)
    b = Geographic("region", folds=folds).probabilities(sv, 0.2, welfare="pcc", line=z)
    np.testing.assert_array_equal(a, b)
    c = Geographic("region", estimate="in_sample").probabilities(sv, 0.2, welfare="pcc",
                                                                  line=z)
    v = sv.person_weight
    for pi in (a, c):
        assert np.sum(v * pi) / v.sum() == pytest.approx(0.2)
    # in sample, whole regions are taken (one region rationed); cross-fitted, region x fold
    # cells, so more regions are touched
    regions_in = df.loc[c.to_numpy() > 0, "region"].nunique()
    assert df.loc[a.to_numpy() > 0, "region"].nunique() >= regions_in
    partial = df.loc[(c.to_numpy() > 0) & (c.to_numpy() < 1), "region"].nunique()
    assert partial <= 1


def test_geographic_rates_move_with_replicate_weights(small):
    # a replicate without north (its weights 0): south (rate 2/3, 3 persons) comes first
    # and east (rate 0, 4 persons) supplies 3.5 - 3 = 0.5 of 4 persons -> 1/8
    poor = np.array([1, 1, 1, 0, 0, 0.0])
    prob = Geographic("area", estimate="in_sample").bind(small, poor)
    Vr = np.array([[0, 0, 2, 1, 2, 2.0], V])
    pi = prob(Vr, 0.5)
    np.testing.assert_allclose(pi[0, 2:], [1, 1, 0.125, 0.125])
    assert np.sum(Vr[0] * pi[0]) == pytest.approx(3.5)
    np.testing.assert_allclose(pi[1], [1, 1, 2 / 3, 2 / 3, 0, 0])  # the full sample again


def test_geographic_mistakes_name_the_fix(small):
    with pytest.raises(PolicyError, match="no poverty rate for area"):
        Geographic("area", rates={"north": 0.1}).probabilities(small, 0.5)
    with pytest.raises(PolicyError, match="pass `welfare`"):
        Geographic("area").probabilities(small, 0.5)
    with pytest.raises(DataError, match="`area` column 'district' is not in the survey"):
        Geographic("district").probabilities(small, 0.5, welfare="y", line=100)
    with pytest.raises(PolicyError, match="`estimate` must be 'crossfit'"):
        Geographic("area", estimate="both")
    with pytest.raises(PMTError, match="`n_folds` must be an integer >= 2"):
        Geographic("area", n_folds=1).probabilities(small, 0.5, welfare="y", line=100)
    with pytest.raises(DataError, match="`survey` must be a pmt.Survey"):
        Geographic("area").probabilities(small.data, 0.5)
    assert issubclass(PolicyError, PMTError)
