"""Targeting metrics, classification rules, group tables and subgroups, checked by hand."""

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import DataError, PMTError
from pmt.evaluate import classify_poor, select_by, targeting_metrics

# Small case used throughout: 4 households.
POOR = [1, 1, 0, 0]
SEL = [1, 0, 1, 0]
W = [1.0, 2.0, 3.0, 4.0]


def test_metrics_by_hand_unequal_weights():
    m = targeting_metrics(POOR, SEL, W)
    # poor weight 3, of which selected 1; non-poor 7, selected 3; selected total 4
    assert list(m.index) == [
        "coverage",
        "coverage_poor",
        "coverage_nonpoor",
        "exclusion_error",
        "inclusion_error",
        "targeting_differential",
        "cgh",
    ]
    assert m["coverage"] == pytest.approx(4 / 10)
    assert m["coverage_poor"] == pytest.approx(1 / 3)
    assert m["coverage_nonpoor"] == pytest.approx(3 / 7)
    assert m["exclusion_error"] == pytest.approx(2 / 3)
    assert m["inclusion_error"] == pytest.approx(3 / 4)
    assert m["targeting_differential"] == pytest.approx(1 / 3 - 3 / 7)
    # share of beneficiaries who are poor 1/4 over population share of poor 3/10
    assert m["cgh"] == pytest.approx((1 / 4) / (3 / 10))


def test_metrics_with_benefits_per_person():
    m = targeting_metrics(POOR, SEL, W, benefits=[10.0, 0.0, 5.0, 0.0])
    assert m.index[-1] == "benefit_leakage"
    # benefits paid: poor 1*10 = 10, non-poor 3*5 = 15
    assert m["benefit_leakage"] == pytest.approx(15 / 25)
    assert m["cgh"] == pytest.approx((10 / 25) / (3 / 10))


def test_unit_household_vs_person():
    size = [4, 1, 2, 1]
    hw = [1.0, 1.0, 1.0, 1.0]
    pers = targeting_metrics(POOR, SEL, hw, size=size)
    hh = targeting_metrics(POOR, SEL, hw, size=size, unit="household")
    # persons: poor 4+1=5 (selected 4), non-poor 2+1=3 (selected 2)
    assert pers["coverage_poor"] == pytest.approx(4 / 5)
    assert pers["coverage"] == pytest.approx(6 / 8)
    assert pers["inclusion_error"] == pytest.approx(2 / 6)
    # households: 1 of 2 poor selected, 1 of 2 non-poor selected
    assert hh["coverage_poor"] == pytest.approx(0.5)
    assert hh["coverage"] == pytest.approx(0.5)
    # person weights passed directly give the person result
    direct = targeting_metrics(POOR, SEL, np.multiply(hw, size))
    pd.testing.assert_series_equal(pers, direct)


def test_benefit_shares_use_amount_paid_for_household_unit():
    size = [2, 1, 1, 1]
    b_pp = [5.0, 0.0, 10.0, 0.0]  # household benefits 10 and 10
    m = targeting_metrics(POOR, SEL, [1, 1, 1, 1], benefits=b_pp, size=size, unit="household")
    assert m["benefit_leakage"] == pytest.approx(0.5)


def test_undefined_metrics_are_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="coverage_poor"):
        m = targeting_metrics([0, 0, 0], [1, 0, 0])
    assert np.isnan(m["coverage_poor"]) and np.isnan(m["exclusion_error"])
    assert m["coverage"] == pytest.approx(1 / 3)
    with pytest.warns(RuntimeWarning, match="inclusion_error"):
        m = targeting_metrics([1, 0, 0], [0, 0, 0])
    assert np.isnan(m["inclusion_error"]) and np.isnan(m["cgh"])
    assert m["exclusion_error"] == 1.0


def test_input_errors_name_argument_and_rows():
    with pytest.raises(DataError, match="`selected` has 3 values"):
        targeting_metrics(POOR, [1, 0, 1])
    poor = pd.Series([1, np.nan, 0, 0], index=["a", "b", "c", "d"])
    with pytest.raises(DataError, match="`poor` has 1 missing value at row b"):
        targeting_metrics(poor, SEL)
    with pytest.raises(PMTError, match="`selected` has 1 non-binary value at row 1"):
        targeting_metrics(POOR, [1, 2, 0, 0])
    with pytest.raises(DataError, match="`weights` has 1 negative value at row 1"):
        targeting_metrics(POOR, SEL, [1, -1, 1, 1])
    with pytest.raises(DataError, match="different indexes"):
        targeting_metrics(pd.Series(POOR), pd.Series(SEL, index=[3, 2, 1, 0]))
    with pytest.raises(DataError, match="`benefits` has 1 negative value at row 0"):
        targeting_metrics(POOR, SEL, benefits=[-1, 0, 0, 0])
    weights = pd.Series([1, -1, 1, 1], index=["a", "b", "c", "d"])
    with pytest.raises(DataError, match="`weights` has 1 negative value at row b"):
        targeting_metrics(pd.Series(POOR, index=weights.index), pd.Series(SEL, index=weights.index),
                          weights)


def test_public_alias():
    assert pmt.targeting_metrics is targeting_metrics


# --- classification ------------------------------------------------------------------
def test_classify_poor_absolute_and_relative_ties():
    y = pd.Series([1.0, 2.0, 2.0, 3.0, 4.0], index=list("abcde"))
    assert classify_poor(y, line=2.0).tolist() == [True, False, False, False, False]
    # weighted quantile at 0.2 with equal weights is 1.0; at 0.3 it is 2.0 (tie group in)
    assert classify_poor(y, share=0.2).tolist() == [True, False, False, False, False]
    assert classify_poor(y, share=0.3).tolist() == [True, True, True, False, False]
    assert list(classify_poor(y, share=0.3).index) == list("abcde")
    # weights: first household holds half the population
    assert classify_poor(y, share=0.5, weights=[4, 1, 1, 1, 1]).sum() == 1
    with pytest.raises(DataError, match="exactly one"):
        classify_poor(y)
    with pytest.raises(DataError, match="share"):
        classify_poor(y, share=1.5)


def test_relative_poor_are_bottom_quantile_groups():
    rng = np.random.default_rng(1)
    y = np.round(rng.lognormal(size=500), 1)  # many ties
    w = rng.uniform(0.5, 3, 500)
    poor = classify_poor(y, share=0.2, weights=w)
    assert np.array_equal(poor.to_numpy(), pmt.quantile_groups(y, w, 5) == 1)


def test_select_by_line_and_rate():
    s = [3.0, 1.0, 2.0, 2.0, 5.0]
    assert select_by(s, line=2.0).tolist() == [False, True, False, False, False]
    # rate 0.4 with equal weights: cut at weighted quantile 0.4 = 2.0 -> the tie group in
    assert select_by(s, share=0.4, rule="rate").tolist() == [False, True, True, True, False]
    assert select_by(s, share=0.4, rule="rate", ties="exclude").tolist() == [
        False,
        True,
        False,
        False,
        False,
    ]
    # exact hit: coverage 0.6 is the end of the tie group, both rules agree
    a = select_by(s, share=0.6, rule="rate")
    b = select_by(s, share=0.6, rule="rate", ties="exclude")
    assert a.tolist() == b.tolist() == [False, True, True, True, False]
    # probabilities: higher is poorer
    prob = [0.9, 0.1, 0.6, 0.4, 0.95]
    assert select_by(prob, line=0.5, higher_is_poorer=True).tolist() == [
        True,
        False,
        True,
        False,
        True,
    ]
    assert select_by(prob, share=0.4, rule="rate", higher_is_poorer=True).tolist() == [
        True,
        False,
        False,
        False,
        True,
    ]
    with pytest.raises(DataError, match="rule='rate' needs `share`"):
        select_by(s, line=1.0, rule="rate")


def test_rate_selection_does_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 20, 300).astype(float)
    w = rng.uniform(1, 2, 300)
    perm = rng.permutation(300)
    a = select_by(s, share=0.3, weights=w, rule="rate").to_numpy()
    b = select_by(s[perm], share=0.3, weights=w[perm], rule="rate").to_numpy()
    assert np.array_equal(a[perm], b)
    cov = w[a].sum() / w.sum()
    assert cov >= 0.3
    # whole tie groups: no score value is both selected and not selected
    assert set(s[a]).isdisjoint(set(s[~a]))
