"""Decile overlap against hand-made tables."""

import numpy as np
import pytest

from pmt.errors import DataError
from pmt.evaluate import decile_overlap, overlap_shares


def test_overlap_hand_table_quartiles():
    # 8 households, equal weights, quartile groups of 2 each.
    actual = [1, 2, 3, 4, 5, 6, 7, 8]
    predicted = [2, 1, 5, 3, 4, 8, 6, 0.5]
    # predicted sorted: hh8, hh2 | hh1, hh4 | hh5, hh3 | hh7, hh6
    t = decile_overlap(actual, predicted, n_groups=4)
    expected = np.array(
        [
            [1, 1, 0, 0],  # hh2 -> q1, hh1 -> q2
            [0, 1, 1, 0],  # hh4 -> q2, hh3 -> q3
            [0, 0, 1, 1],  # hh5 -> q3, hh6 -> q4
            [1, 0, 0, 1],  # hh8 -> q1, hh7 -> q4
        ]
    ) / 8
    np.testing.assert_allclose(t.to_numpy(), expected)
    assert t.index.name == "actual" and t.columns.name == "predicted"
    assert t.to_numpy().sum() == pytest.approx(1.0)
    s = overlap_shares(t)
    assert s["diagonal"] == pytest.approx(4 / 8)
    assert s["within_one"] == pytest.approx(7 / 8)  # only hh8 is off by more than one group
    assert s["overlap_1"] == pytest.approx(1 / 2)  # of hh1, hh2 only hh2 in predicted q1
    assert s["overlap_2"] == pytest.approx(3 / 4)  # of hh1-4: hh1, hh2, hh4
    assert s["overlap_3"] == pytest.approx(5 / 6)  # of hh1-6: all but hh6


def test_overlap_weights_and_size():
    actual = [1.0, 2.0, 3.0, 4.0]
    predicted = [1.0, 3.0, 2.0, 4.0]
    hw = [1, 1, 1, 1]
    size = [3, 1, 1, 3]  # person weights 3,1,1,3: halves {hh1,hh2}? cum shares .375,.5
    t = decile_overlap(actual, predicted, hw, n_groups=2, size=size)
    # actual median (person) = 2 -> groups 1,1,2,2 ; predicted median = 2 (hh3) -> 1,2,1,2
    expected = np.array([[3, 1], [1, 3]]) / 8
    np.testing.assert_allclose(t.to_numpy(), expected)


def test_row_normalisation_and_rejection():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    t = decile_overlap(y, y + rng.normal(size=200), n_groups=5, normalize="row")
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    with pytest.raises(DataError, match="normalised by row"):
        overlap_shares(t)


def test_perfect_prediction_and_any_n():
    y = np.arange(30.0)
    for n in (2, 3, 7, 10):
        t = decile_overlap(y, 2 * y + 1, n_groups=n)
        s = overlap_shares(t)
        assert t.shape == (n, n)
        assert s["diagonal"] == pytest.approx(1.0)
        assert all(s[f"overlap_{k}"] == pytest.approx(1.0) for k in range(1, n))


def test_overlap_k_equals_coverage_of_bottom_group():
    rng = np.random.default_rng(5)
    y = rng.lognormal(size=1000)
    yhat = np.log(y) + rng.normal(scale=0.7, size=1000)
    w = rng.uniform(0.5, 2, 1000)
    from pmt.evaluate import classify_poor, select_by, targeting_metrics

    s = overlap_shares(decile_overlap(y, yhat, w, n_groups=5))
    poor = classify_poor(y, share=0.2, weights=w)
    sel = select_by(yhat, share=0.2, weights=w, rule="rate")
    m = targeting_metrics(poor, sel, w)
    assert s["overlap_1"] == pytest.approx(m["coverage_poor"])


def test_overlap_input_errors():
    with pytest.raises(DataError, match="`predicted` has 2 values"):
        decile_overlap([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="`n_groups` must be an integer >= 2"):
        decile_overlap([1, 2, 3], [1, 2, 3], n_groups=1)
