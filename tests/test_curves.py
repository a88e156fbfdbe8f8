"""Error trade-off curves, group tables and subgroup metrics against independent computations."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from pmt.errors import DataError
from pmt.evaluate import (
    best_cutoff,
    error_curve,
    group_table,
    roc_auc,
    subgroup_metrics,
    targeting_metrics,
)
from pmt.survey import quantile_groups


@pytest.fixture
def sample():
    rng = np.random.default_rng(11)
    n = 400
    y = rng.lognormal(size=n)
    score = np.round(np.log(y) + rng.normal(scale=0.8, size=n), 1)  # rounded: many ties
    w = rng.uniform(0.5, 3.0, n)
    size = rng.integers(1, 7, n)
    poor = (y < np.quantile(y, 0.3)).astype(int)
    return y, score, w, size, poor


def test_curve_equals_metrics_at_every_cutoff(sample):
    _, score, w, size, poor = sample
    curve = error_curve(poor, score, w, size=size)
    assert len(curve) == np.unique(score).size + 1
    assert curve["coverage"].iloc[0] == 0 and curve["coverage"].iloc[-1] == pytest.approx(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _, row in curve.iloc[1:].iterrows():
            m = targeting_metrics(poor, score <= row["cutoff"], w, size=size)
            np.testing.assert_allclose(row[m.index].to_numpy(float), m.to_numpy(), atol=1e-12)
            assert row["n_selected"] == (score <= row["cutoff"]).sum()


def test_auc_matches_sklearn_with_weights_and_ties(sample):
    _, score, w, size, poor = sample
    v = w * size
    expected = roc_auc_score(poor, -score, sample_weight=v)
    assert roc_auc(poor, score, w, size=size) == pytest.approx(expected, abs=1e-12)
    # a need score (higher = poorer)
    prob = 1 / (1 + np.exp(score))
    assert roc_auc(poor, prob, v, higher_is_poorer=True) == pytest.approx(
        roc_auc_score(poor, prob, sample_weight=v), abs=1e-12
    )


def test_higher_is_poorer_curve_selects_high_scores():
    poor = [1, 0, 1, 0]
    prob = [0.9, 0.2, 0.6, 0.7]
    c = error_curve(poor, prob, higher_is_poorer=True)
    assert c["cutoff"].iloc[0] == np.inf
    row = c[c["cutoff"] == 0.6].iloc[0]  # select prob >= 0.6: households 1, 3, 4
    assert row["coverage_poor"] == 1.0 and row["inclusion_error"] == pytest.approx(1 / 3)


def test_best_cutoff_rules(sample):
    _, score, w, _, poor = sample
    c = error_curve(poor, score, w)
    row = best_cutoff(c, share=0.25)
    assert row["coverage"] <= 0.25
    nxt = c.index.get_loc(row.name) + 1
    assert c["coverage"].iloc[nxt] > 0.25
    row = best_cutoff(c, error_weights=(1, 1))
    loss = c["exclusion_error"] + c["inclusion_error"]
    assert row["exclusion_error"] + row["inclusion_error"] == pytest.approx(loss.min())
    row = best_cutoff(c, maximize="targeting_differential")
    assert row["targeting_differential"] == pytest.approx(c["targeting_differential"].max())
    with pytest.raises(DataError, match="exactly one"):
        best_cutoff(c)


def test_group_table_by_hand():
    # 6 households, equal household weights, sizes: terciles of persons
    rank = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], name="pcc_pre")
    size = [1, 1, 1, 1, 1, 1]
    sel = [1, 0, 1, 1, 0, 0]
    ben = [2.0, 0.0, 1.0, 2.0, 0.0, 0.0]  # per person
    welfare = [4.0, 2.0, 5.0, 8.0, 5.0, 6.0]
    t = group_table(rank, sel, [1] * 6, ben, welfare, n_groups=3, ranked_by="pre-transfer",
                    size=size)
    assert t.index.name == "3-quantile group of pcc_pre (pre-transfer)"
    assert t.attrs["ranked_by"] == "pre-transfer"
    np.testing.assert_allclose(t["population_share"], [1 / 3, 1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(t["coverage"], [0.5, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(t["beneficiaries_share"], [1 / 3, 2 / 3, 0, 1])
    np.testing.assert_allclose(t["benefits_share"], [2 / 5, 3 / 5, 0, 1])
    # adequacy: all households of group 1: 2 / (4 + 2)
    np.testing.assert_allclose(t["adequacy_all"], [2 / 6, 3 / 13, 0, 5 / 30])
    # recipients only, ratio of totals and mean of ratios
    np.testing.assert_allclose(t["adequacy_recipients"][:2], [2 / 4, 3 / 13])
    np.testing.assert_allclose(t["adequacy_recipients_mean"][:2], [0.5, (1 / 5 + 2 / 8) / 2])
    assert np.isnan(t["adequacy_recipients"].iloc[2])  # nobody receives in group 3
    assert t["n_households"].tolist() == [2, 2, 2, 6]
    assert t["adequacy_recipients"]["Total"] == pytest.approx(5 / 17)


def test_group_table_identity_and_requirements():
    rng = np.random.default_rng(2)
    n = 500
    rank = rng.lognormal(size=n)
    w = rng.uniform(1, 2, n)
    sel = rng.random(n) < 0.3
    t = group_table(rank, sel, w, n_groups=10, ranked_by="post-transfer")
    # Kyrgyz identity: distribution of beneficiaries = coverage x popshare / total coverage
    body = t.iloc[:-1]
    np.testing.assert_allclose(
        body["beneficiaries_share"],
        body["coverage"] * body["population_share"] / t["coverage"]["Total"],
    )
    assert "benefits_share" not in t.columns
    g = quantile_groups(rank, w, 10)
    assert body["coverage"].iloc[0] == pytest.approx(w[(g == 1) & sel].sum() / w[g == 1].sum())
    with pytest.raises(TypeError):
        group_table(rank, sel, w)  # ranked_by is required
    with pytest.raises(DataError, match="ranked_by"):
        group_table(rank, sel, w, ranked_by=" ")
    ben = np.where(np.arange(rank.size) == 3, -1.0, 0.0)
    with pytest.raises(DataError, match="`benefits` has 1 negative value at row 3"):
        group_table(rank, sel, w, ben, ranked_by="post-transfer")


def test_subgroup_metrics_by_hand():
    poor = [1, 1, 0, 0, 1, 0]
    sel = [1, 0, 1, 0, 1, 1]
    w = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0]
    groups = pd.DataFrame({"urban": [0, 0, 0, 1, 1, 1], "region": ["a", "b", "a", "b", "a", "b"]})
    out = subgroup_metrics(poor, sel, groups, w, min_n=3)
    assert out.index[0] == ("Total", "All")
    rural = out.loc[("urban", 0)]
    # rural: poor hh 1,2 (1 selected), non-poor hh3 selected
    assert rural["coverage_poor"] == pytest.approx(0.5)
    assert rural["inclusion_error"] == pytest.approx(0.5)
    assert rural["population_share"] == pytest.approx(3 / 8)
    assert rural["share_of_poor"] == pytest.approx(2 / 4)
    assert not rural["too_small"]
    region_a = out.loc[("region", "a")]
    assert region_a["n_households"] == 3
    total = targeting_metrics(poor, sel, w)
    np.testing.assert_allclose(out.loc[("Total", "All"), total.index].to_numpy(float), total)
    t6 = subgroup_metrics(poor, sel, groups, w, min_n=4, layout="table6")
    assert list(t6.columns) == [
        "n_households",
        "overlap",
        "share_of_poor",
        "share_of_population",
        "too_small",
    ]
    assert t6["too_small"].sum() == 4
    np.testing.assert_allclose(t6.loc["urban", "share_of_poor"].sum(), 1.0)


def test_subgroup_errors():
    with pytest.raises(DataError, match="single level"):
        subgroup_metrics([1, 0], [1, 0], pd.Series([1, 1], name="urban"))
    with pytest.raises(DataError, match="`groups` has an index"):
        subgroup_metrics(pd.Series([1, 0]), [1, 0], pd.Series([1, 2], index=[5, 6]))
    with pytest.raises(DataError, match="missing values at row 1"):
        subgroup_metrics([1, 0], [1, 0], pd.Series([1, None], name="region"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # empty-of-poor subgroup: NaN, no warning
        out = subgroup_metrics([1, 0, 0], [1, 0, 1], pd.Series([1, 2, 2], name="g"))
    assert np.isnan(out.loc[("g", 2), "coverage_poor"])


def test_empty_groups_from_ties():
    # all households share one rank value: they all fall in group 1, groups 2-3 are empty
    t = group_table(np.ones(6), [1, 0, 1, 0, 0, 0], n_groups=3, ranked_by="pre-transfer")
    assert t["n_households"].tolist() == [6, 0, 0, 6]
    assert t["coverage"].iloc[0] == pytest.approx(2 / 6)
    assert np.isnan(t["coverage"].iloc[1]) and np.isnan(t["coverage"].iloc[2])
    assert t["population_share"].iloc[1] == 0.0
    from pmt.evaluate import decile_overlap

    ov = decile_overlap(np.ones(6), np.arange(6.0), n_groups=3)
    np.testing.assert_allclose(ov.to_numpy(), [[1 / 3] * 3, [0] * 3, [0] * 3])
