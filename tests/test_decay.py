"""Decay of a formula over survey rounds (issue 17 item 8), on rounds with a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.datasets.synthetic_rounds import DECAYING_PROXIES, synthetic_rounds
from pmt.errors import DataError
from pmt.evaluate.decay import decay_table

DESIGN = {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"}


def fit(d):
    return pmt.ols(pmt.datasets.PMT_FORMULA, d, weights="weight", cluster="psu")


def _decay(decay, **kw):
    data = synthetic_rounds(10_000, years=(2018, 2020, 2022), decay=decay)
    return data, decay_table(fit, data, round="year", welfare="pcc", share=0.2,
                             n_replicates=100, metrics=["exclusion_error"], **DESIGN, **kw)


def test_rounds_follow_their_true_model():
    data = synthetic_rounds(2000, years=(2018, 2019), decay=0.5)
    truth = data.attrs["true_coefficients"]
    assert truth[2019]["car"] == pytest.approx(0.5 * truth[2018]["car"])
    late = data[data.year == 2019]
    r = pmt.ols(pmt.datasets.PMT_FORMULA, late, weights="weight")
    # the fitted return to a decayed proxy is near half the published one
    assert abs(r.params["tv"] - truth[2019]["tv"]) < 4 * r.bse["tv"]
    assert data.hh_id.is_unique
    assert not set(data[data.year == 2018].psu) & set(late.psu)


def test_no_decay_without_a_change_in_the_model():
    _, t = _decay(0.0)
    later = t[t["round"] != 2018]
    assert ((later.change_lower < 0) & (later.change_upper > 0)).all()


def test_planted_decay_raises_the_errors():
    data, t = _decay(0.6)
    later = t[t["round"] != 2018].set_index("round")
    assert later.loc[2022, "change_lower"] > 0
    assert later.loc[2022, "change"] > later.loc[2020, "change"] > 0
    assert t.attrs["per_year"]["exclusion_error"] > 0
    # the later rounds' errors by an independent computation: fit on 2018, rate rule
    model = fit(data[data.year == 2018])
    part = data[data.year == 2022]
    v = (part.weight * part.hh_size).to_numpy()
    y, pred = part.pcc.to_numpy(), np.asarray(model.predict(part))

    def bottom(x, share):
        order = np.argsort(x, kind="stable")
        cum = np.cumsum(v[order]) / v.sum()
        cut = x[order][np.searchsorted(cum, share)]
        return x <= cut

    poor = bottom(y, 0.2)
    headcount = np.average(poor, weights=v)
    chosen = bottom(pred, headcount)
    expected = 1 - (v * poor * chosen).sum() / (v * poor).sum()
    assert later.loc[2022, "estimate"] == pytest.approx(expected, abs=1e-9)


def test_absolute_line_and_bad_input():
    data = synthetic_rounds(1000, years=(2018, 2019), decay=0.0)
    t = decay_table(fit, data, round="year", welfare="pcc", line="poverty_line",
                    n_replicates=20, **DESIGN)
    poor_2019 = data[data.year == 2019]
    v = poor_2019.weight * poor_2019.hh_size
    assert t[t["round"] == 2019].headcount.iloc[0] == pytest.approx(
        np.average(poor_2019.pcc < poor_2019.poverty_line, weights=v))
    with pytest.raises(DataError, match="share"):
        decay_table(fit, data, round="year", welfare="pcc", n_replicates=5, **DESIGN)
    with pytest.raises(DataError, match="wave"):
        decay_table(fit, data, round="wave", welfare="pcc", share=0.2, **DESIGN)
    with pytest.raises(DataError, match="two or more"):
        decay_table(fit, data[data.year == 2018], round="year", welfare="pcc", share=0.2,
                    **DESIGN)


def test_decaying_proxies_are_in_the_formula():
    assert set(DECAYING_PROXIES) <= set(pmt.datasets.PMT_COEFFICIENTS.index
                                        if isinstance(pmt.datasets.PMT_COEFFICIENTS, pd.Series)
                                        else pmt.datasets.PMT_COEFFICIENTS)
