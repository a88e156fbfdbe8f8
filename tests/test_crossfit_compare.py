"""Honest model comparisons: cross-fitted (out-of-sample) predictions, paired design-based
intervals over them, fold spreads named as such, and comparisons at matched coverage or
budget. Expected values are recomputed here by hand (folds from psu_folds, fits on the
training folds, selections with select_by, replicate weights from Survey.replicate_weights)
or are known by construction; the slow test checks interval coverage by simulation."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsRegressor

import pmt
from pmt.errors import DataError, ModelError
from pmt.evaluate import (
    bootstrap_targeting,
    classify_poor,
    compare,
    cross_fit,
    cross_validate,
    psu_folds,
    select_by,
    sklearn_fit,
    targeting_metrics,
)


# --- data and hand-made models ----------------------------------------------------------
def make_data(n_strata=5, psu_per=12, hh_per=8, seed=0):
    rng = np.random.default_rng(seed)
    n = n_strata * psu_per * hh_per
    df = pd.DataFrame(
        {
            "stratum": np.repeat(np.arange(n_strata), psu_per * hh_per),
            "psu": np.repeat(np.arange(psu_per * n_strata) % psu_per, hh_per),
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 2, n),
            "weight": rng.uniform(1, 3, n),
            "hh_size": rng.integers(1, 6, n),
        }
    )
    u = np.repeat(rng.normal(scale=0.3, size=n_strata * psu_per), hh_per)
    df["log_pcc"] = 0.3 + 0.6 * df["x1"] - 0.4 * df["x2"] + u + rng.normal(scale=0.5, size=n)
    df["year"] = np.where(df["stratum"] % 2 == 0, 2018, 2019)
    return df


DESIGN = dict(weight="weight", size="hh_size", strata="stratum", psu="psu")


class LinearFit:
    """Weighted least squares of log_pcc on x1, x2 with numpy (independent of pmt)."""

    def __init__(self, data, cols=("x1", "x2")):
        self.cols = list(cols)
        X = np.column_stack([np.ones(len(data)), data[self.cols]])
        sw = np.sqrt(data["weight"].to_numpy())
        self.beta = np.linalg.lstsq(X * sw[:, None], data["log_pcc"] * sw, rcond=None)[0]

    def predict(self, data):
        return np.column_stack([np.ones(len(data)), data[self.cols]]) @ self.beta


def x1_only(data):
    return LinearFit(data, ["x1"])


class PoorProbability:
    """A need score (rises with poverty) that declares its orientation."""

    higher_is_poorer = True

    def __init__(self, data):
        self.fit = LinearFit(data)

    def predict(self, data):
        return 1 / (1 + np.exp(3 * self.fit.predict(data)))


FITS = {"full": LinearFit, "x1": x1_only}


def manual_cross_fit(df, fits, n_folds, seed):
    """Scores of every household by the model fitted on the other folds (by hand)."""
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    folds = psu_folds(sv, n_folds, np.random.SeedSequence([seed, 0]))
    out = {name: np.empty(len(df)) for name in fits}
    for k in range(n_folds):
        test = folds == k
        for name, fit in fits.items():
            out[name][test] = fit(df.loc[~test]).predict(df.loc[test])
    return out


def person_weights(df):
    return (df["weight"] * df["hh_size"]).to_numpy(float)


def rate_metrics(y, score, v, share=0.2, benefits=None):
    """Poorest `share` by y against the same share of people by score."""
    poor = classify_poor(y, share=share, weights=v).to_numpy()
    sel = select_by(score, share=v[poor].sum() / v.sum(), weights=v, rule="rate")
    b = None if benefits is None else benefits * sel.to_numpy()
    return targeting_metrics(poor, sel, v, benefits=b)


def budget_selection(score, cost, budget):
    """Poorest scores first until the cumulative cost first reaches the budget."""
    order = np.argsort(score, kind="stable")
    cum = np.cumsum(cost[order])
    last = np.searchsorted(cum, budget * (1 - 1e-12))
    sel = np.zeros(score.size, dtype=bool)
    sel[order[: last + 1]] = True
    return sel


def row(out, model, metric, rule="rate"):
    return out[(out["model"] == model) & (out["metric"] == metric)
               & (out["rule"] == rule)].iloc[0]


# --- cross_fit ---------------------------------------------------------------------------
def test_cross_fit_scores_each_household_with_a_model_that_never_saw_it():
    df = make_data(seed=1)
    fits = {**FITS, "prob": PoorProbability}
    cf = cross_fit(fits, df, n_folds=4, seed=3, **DESIGN)
    expected = manual_cross_fit(df, fits, 4, 3)
    assert list(cf.columns) == ["full", "x1", "prob"]
    assert cf.index.equals(df.index)
    for name in fits:
        np.testing.assert_allclose(cf[name].to_numpy(), expected[name], rtol=1e-12)
    assert cf.attrs["basis"] == "out_of_sample"
    assert cf.attrs["higher_is_poorer"] == {"full": False, "x1": False, "prob": True}
    assert cf.attrs["n_folds"] == 4
    # a model fitted on all data predicts differently: these are not in-sample fits
    assert not np.allclose(cf["full"], LinearFit(df).predict(df))
    # folds given as a column: each round predicted by the model of the other round
    by_year = cross_fit(FITS, df, folds="year")
    test = df["year"].to_numpy() == 2019
    np.testing.assert_allclose(by_year["full"].to_numpy()[test],
                               LinearFit(df.loc[~test]).predict(df.loc[test]), rtol=1e-12)
    assert by_year.attrs["folds"] == "year"


def test_cross_fit_counts_missing_predictions():
    df = make_data(seed=2)

    class Partial(LinearFit):
        def predict(self, data):
            p = super().predict(data)
            return np.where(data["x1"].to_numpy() > 2.0, np.nan, p)

    n_nan = int((df["x1"] > 2.0).sum())
    assert n_nan > 0
    with pytest.warns(RuntimeWarning, match="NaN"):
        cf = cross_fit({"p": Partial}, df, n_folds=3, **DESIGN)
    assert int(cf["p"].isna().sum()) == n_nan
    with pytest.raises(ModelError, match="NaN"):
        compare(cf, df, "log_pcc", shares=0.2, n_replicates=5, **DESIGN)


# --- compare out of sample ----------------------------------------------------------------
def test_compare_paired_interval_over_cross_fitted_predictions():
    """Estimates and paired replicate statistics of compare(out_of_sample) equal a hand
    computation: cross-fitted scores, replicate weights w * factor[psu], relative line and
    rate cut-off re-estimated in each replicate."""
    df = make_data(seed=3)
    R, seed = 30, 11
    out = compare(FITS, df, "log_pcc", shares=0.2, reference="full", n_replicates=R,
                  seed=seed, n_folds=4, **DESIGN)
    scores = manual_cross_fit(df, FITS, 4, seed)  # fold seed defaults to the seed
    y, v = df["log_pcc"].to_numpy(), person_weights(df)
    for name in FITS:
        m = rate_metrics(y, scores[name], v)
        got = out[(out["model"] == name) & (out["rule"] == "rate")].set_index("metric")
        np.testing.assert_allclose(got.loc[m.index, "estimate"], m, rtol=1e-12)
    W = pmt.Survey(df, **DESIGN).replicate_weights(R, seed=seed)
    diff = np.array([
        rate_metrics(y, scores["x1"], W[:, r])["exclusion_error"]
        - rate_metrics(y, scores["full"], W[:, r])["exclusion_error"]
        for r in range(R)
    ])
    d = row(out, "x1 - full", "exclusion_error")
    assert d["se"] == pytest.approx(diff.std(ddof=1), rel=1e-9)
    assert d["lower"] == pytest.approx(np.quantile(diff, 0.025), rel=1e-9)
    assert d["upper"] == pytest.approx(np.quantile(diff, 0.975), rel=1e-9)
    assert set(out["basis"]) == {"out_of_sample"}
    assert out.attrs["basis"] == "out_of_sample" and out.attrs["n_folds"] == 4
    # the cross-fitted predictions can be computed once and reused: same table
    cf = cross_fit(FITS, df, n_folds=4, seed=seed, **DESIGN)
    again = compare(cf, df, "log_pcc", shares=0.2, reference="full", n_replicates=R,
                    seed=seed, **DESIGN)
    pd.testing.assert_frame_equal(out, again)


def test_memorising_model_looks_perfect_in_sample_only():
    """1-nearest-neighbour regression predicts every training household's own welfare, so
    in sample it selects exactly the poor (exclusion error 0); out of sample it cannot."""
    df = make_data(seed=4)
    fits = {"ols": LinearFit,
            "knn": sklearn_fit(KNeighborsRegressor(n_neighbors=1), "log_pcc ~ x1 + x2")}
    kw = dict(shares=0.2, reference="ols", n_replicates=40, seed=0, **DESIGN)
    ins = compare(fits, df, "log_pcc", basis="in_sample", **kw)
    oos = compare(fits, df, "log_pcc", **kw)
    assert row(ins, "knn", "exclusion_error")["estimate"] == pytest.approx(0, abs=1e-12)
    assert row(ins, "knn - ols", "exclusion_error")["upper"] < 0  # "significantly better"
    scores = manual_cross_fit(df, fits, 5, 0)
    m = rate_metrics(df["log_pcc"].to_numpy(), scores["knn"], person_weights(df))
    assert row(oos, "knn", "exclusion_error")["estimate"] == pytest.approx(
        m["exclusion_error"], rel=1e-12)
    assert row(oos, "knn - ols", "exclusion_error")["estimate"] > 0.05  # worse than OLS


# --- cross_validate: fold spread and real intervals -----------------------------------------
def test_cross_validate_fold_spread_and_bootstrap_interval():
    df = make_data(seed=5)
    R, seed = 25, 5
    out, splits = cross_validate(FITS, df, "log_pcc", shares=0.2, n_folds=4, n_repeats=2,
                                 seed=seed, interval="bootstrap", n_replicates=R,
                                 return_splits=True, **DESIGN)
    assert {"fold_min", "fold_max", "oos_estimate", "oos_se", "oos_lower", "oos_upper",
            "level"} <= set(out.columns)
    r = row(out, "full", "exclusion_error")
    folds = splits[(splits["model"] == "full") & (splits["metric"] == "exclusion_error")]
    assert r["fold_min"] == folds["value"].min() and r["fold_max"] == folds["value"].max()
    assert r["level"] == 0.95
    # the interval is around the metric of the pooled predictions of the first repeat
    scores = manual_cross_fit(df, FITS, 4, seed)
    y, v = df["log_pcc"].to_numpy(), person_weights(df)
    assert r["oos_estimate"] == pytest.approx(
        rate_metrics(y, scores["full"], v)["exclusion_error"], rel=1e-12)
    W = pmt.Survey(df, **DESIGN).replicate_weights(R, seed=seed)
    reps = np.array([rate_metrics(y, scores["full"], W[:, k])["exclusion_error"]
                     for k in range(R)])
    assert r["oos_se"] == pytest.approx(reps.std(ddof=1), rel=1e-9)
    assert r["oos_lower"] == pytest.approx(np.quantile(reps, 0.025), rel=1e-9)
    auc = row(out, "full", "auc")
    poor = y <= pmt.weighted_quantile(y, v, 0.2)
    assert auc["oos_estimate"] == pytest.approx(
        roc_auc_score(poor, -scores["full"], sample_weight=v), rel=1e-12)
    assert np.isnan(auc["oos_lower"])


# --- matched comparisons ------------------------------------------------------------------
def test_budget_rule_spends_the_same_budget():
    """Each model pays a flat amount per household (so the benefit per person is 600 /
    size) to its poorest-scored households until the cost of paying exactly the poor is
    spent; checked by hand on the full sample and on explicit replicate weights."""
    df = make_data(seed=6)
    df["b_pp"] = 600.0 / df["hh_size"]
    out = compare(FITS, df, "log_pcc", shares=0.25, benefits="b_pp", reference="full",
                  n_replicates=20, seed=2, n_folds=4, **DESIGN)
    assert set(out["rule"]) == {"rate", "budget", "-"}  # budget added by default
    assert "benefit_leakage" in set(out["metric"])
    scores = manual_cross_fit(df, FITS, 4, 2)
    y, v, b = df["log_pcc"].to_numpy(), person_weights(df), df["b_pp"].to_numpy()
    poor = classify_poor(y, share=0.25, weights=v).to_numpy()
    budget = (v * b)[poor].sum()
    for name in FITS:
        sel = budget_selection(scores[name], v * b, budget)
        assert (v * b)[sel].sum() >= budget > (v * b)[sel].sum() - (v * b)[sel].max()
        m = targeting_metrics(poor, sel, v, benefits=b * sel)
        got = out[(out["model"] == name) & (out["rule"] == "budget")].set_index("metric")
        np.testing.assert_allclose(got.loc[m.index, "estimate"], m, rtol=1e-12)
    # replicates: the budget is the replicate's cost of the poor
    sv = pmt.Survey(df, **DESIGN)
    _, reps = bootstrap_targeting(sv, y, scores["x1"], share=0.25, rule="budget",
                                  benefits=b, n_replicates=6, seed=1, return_replicates=True)
    W = sv.replicate_weights(6, seed=1)
    for r in range(6):
        p_r = classify_poor(y, share=0.25, weights=W[:, r]).to_numpy()
        sel = budget_selection(scores["x1"], W[:, r] * b, (W[:, r] * b)[p_r].sum())
        m = targeting_metrics(p_r, sel, W[:, r], benefits=b * sel)
        np.testing.assert_allclose(reps["model"].iloc[r].to_numpy(), m.to_numpy(), atol=1e-12)
    # a fixed total budget
    fixed = compare(FITS, df, "log_pcc", shares=0.25, benefits="b_pp", budget=0.5 * budget,
                    rule="budget", n_replicates=5, seed=2, n_folds=4, **DESIGN)
    sel = budget_selection(scores["full"], v * b, 0.5 * budget)
    m = targeting_metrics(poor, sel, v, benefits=b * sel)
    assert row(fixed, "full", "coverage", "budget")["estimate"] == pytest.approx(m["coverage"])
    # the same benefit per person for everybody: the budget rule is the rate rule
    same = compare(FITS, df, "log_pcc", shares=0.25, benefits=100.0, n_replicates=10,
                   seed=2, n_folds=4, **DESIGN)
    keys = ["model", "metric"]
    a = same[same["rule"] == "rate"].set_index(keys)[["estimate", "se", "lower", "upper"]]
    c = same[same["rule"] == "budget"].set_index(keys)[["estimate", "se", "lower", "upper"]]
    pd.testing.assert_frame_equal(a, c)
    m = rate_metrics(y, scores["full"], v, 0.25, benefits=np.full(len(df), 100.0))
    got = same[(same["model"] == "full") & (same["rule"] == "rate")].set_index("metric")
    np.testing.assert_allclose(got.loc[m.index, "estimate"], m, rtol=1e-12)


def test_line_comparison_reports_coverage_and_warns():
    df = make_data(seed=7)
    with pytest.warns(UserWarning, match="mix ranking with coverage"):
        out = compare(FITS, df, "log_pcc", lines=0.0, rule=["line", "rate"], reference="full",
                      n_replicates=10, n_folds=4, seed=1, **DESIGN)
    scores = manual_cross_fit(df, FITS, 4, 1)
    v = person_weights(df)
    for name in FITS:
        share_selected = v[scores[name] < 0.0].sum() / v.sum()
        assert row(out, name, "coverage", "line")["estimate"] == pytest.approx(share_selected)
    notes = out.groupby("rule")["note"].first()
    assert "coverage differs" in notes["line"]
    assert "same coverage" in notes["rate"]
    assert "mix ranking with coverage" in out.attrs["note"]
    # one model alone, or matched rules, do not warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare({"full": LinearFit}, df, "log_pcc", lines=0.0, rule="line", n_replicates=5,
                **DESIGN)
        compare(FITS, df, "log_pcc", shares=0.2, n_replicates=5, **DESIGN)


def test_comparison_errors_name_the_argument():
    df = make_data(seed=8)
    kw = dict(shares=0.2, n_replicates=5, **DESIGN)
    with pytest.raises(DataError, match="`basis`"):
        compare(FITS, df, "log_pcc", basis="cv", **kw)
    plain = pd.DataFrame({"a": LinearFit(df).predict(df)}, index=df.index)
    with pytest.raises(DataError, match="basis='out_of_sample'"):
        compare(plain, df, "log_pcc", **kw)
    assert set(compare(plain, df, "log_pcc", basis="in_sample", **kw)["basis"]) == {"in_sample"}
    cf = cross_fit(FITS, df, n_folds=3, **DESIGN)
    with pytest.raises(DataError, match="but these predictions are"):
        compare(cf, df, "log_pcc", basis="in_sample", **kw)
    with pytest.raises(DataError, match="index"):
        compare(cf.iloc[::-1], df, "log_pcc", **kw)
    with pytest.raises(DataError, match="needs `benefits`"):
        compare(FITS, df, "log_pcc", rule="budget", **kw)
    with pytest.raises(DataError, match="`budget`"):
        compare(FITS, df, "log_pcc", benefits=1.0, rule="rate", budget=5.0, **kw)
    with pytest.raises(DataError, match="negative"):
        compare(FITS, df, "log_pcc", benefits=-df["x1"], **kw)
    with pytest.raises(DataError, match="`rule`"):
        compare(FITS, df, "log_pcc", rule="coverage", **kw)
    with pytest.raises(DataError, match="`interval`"):
        cross_validate(FITS, df, "log_pcc", shares=0.2, interval="percentile", **DESIGN)
    with pytest.raises(DataError, match="`folds` column 'round'"):
        cross_fit(FITS, df, folds="round")
    with pytest.raises(DataError, match="single label"):
        cross_fit(FITS, df, folds=np.zeros(len(df)))


# --- coverage of the out-of-sample paired interval by simulation ---------------------------
H, M, K = 10, 80, 25  # strata, PSUs per stratum and households per PSU in the population
m_psu, k_hh = 8, 18  # sampled PSUs per stratum, households per sampled PSU: 1,440 a sample
SIM_FORMULA = "log_pcc ~ x1 + x2 + x3 + x4 + b1 + hh_size"
SIM_FITS = {
    "ols": lambda d: pmt.ols(SIM_FORMULA, d, weights="weight"),
    # fully grown trees (min_samples_leaf=1): memorises its training households
    "rf": lambda d: pmt.random_forest(SIM_FORMULA, d, weights="weight", seed=0, n_threads=1,
                                      n_estimators=10, min_samples_leaf=1),
}


def sim_population(seed=0):
    """20,000 households in 800 PSUs and 10 strata; log welfare linear in the proxies plus
    a mild interaction, stratum and PSU effects and household noise."""
    rng = np.random.default_rng(seed)
    n = H * M * K
    stratum = np.repeat(np.arange(H), M * K)
    psu = np.repeat(np.arange(H * M), K)
    x1 = 0.6 * np.repeat(rng.normal(size=H * M), K) + rng.normal(size=n)
    x2, x3, x4 = rng.normal(size=(3, n))
    b1 = (rng.random(n) < 0.4).astype(int)
    size = rng.integers(1, 9, n)
    logy = (rng.normal(scale=0.2, size=H)[stratum] + 0.45 * x1 - 0.3 * x2 + 0.15 * x3
            + 0.2 * b1 - 0.06 * size + 0.1 * np.maximum(x1, 0) * x2
            + np.repeat(rng.normal(scale=0.25, size=H * M), K) + rng.normal(scale=0.5, size=n))
    return pd.DataFrame(dict(stratum=stratum, psu=psu, x1=x1, x2=x2, x3=x3, x4=x4, b1=b1,
                             hh_size=size, log_pcc=logy))


def two_stage_sample(pop, rng):
    """m_psu PSUs per stratum without replacement, then k_hh households in each."""
    take = [rng.choice(np.arange(p * K, (p + 1) * K), k_hh, replace=False)
            for h in range(H)
            for p in rng.choice(np.arange(h * M, (h + 1) * M), m_psu, replace=False)]
    rows = np.concatenate(take)
    sample = pop.iloc[rows].reset_index(drop=True)
    sample["weight"] = (M / m_psu) * (K / k_hh)
    rest = np.ones(len(pop), dtype=bool)
    rest[rows] = False
    return sample, rest


@pytest.mark.slow
def test_out_of_sample_paired_interval_covers_the_population_difference():
    """Coverage of 90 % paired intervals of the exclusion-error difference rf - ols
    (poorest 20 %, rate rule) over repeated two-stage samples.

    Estimand: the difference in exclusion error between the two models **fitted on the
    sample** (on all of it, as a programme would fit them) when they target the
    population at the population's poorest 20 % (each model selecting the poorest 20 % of
    people by its own predictions). The population is the households outside the sample:
    with a realistic sampling fraction (a few thousand of millions) these are nearly the
    whole population, while here the sample is 7 % of it, and a model that memorised its
    training households would look better on them than on the households it will really
    score. We also record the difference of the cross-fitted fold models (each scoring a
    fifth of the population), the quantity the interval is exactly about.

    Observed with these seeds (80 samples of 1,440 households, 100 replicates; about 45 s
    of one core): the out-of-sample interval covered the difference of the full-sample
    fits in 73 of 80 samples (91 %) and the fold models' difference in 76 (95 %); the
    in-sample interval covered it in none. In sample the forest looks 25 points better
    than OLS; out of sample, and in the population, it is about 4 points worse. (An
    exploratory run of 120 other samples: 92 % and 93 %.)
    """
    pop = sim_population(0)
    y_pop, v_pop = pop["log_pcc"].to_numpy(), pop["hh_size"].to_numpy(float)
    pop_folds = psu_folds(pmt.Survey(pop, strata="stratum", psu="psu"), 5, seed=99)
    rng = np.random.default_rng(7)
    hits = {"oos": 0, "oos_folds": 0, "ins": 0}
    n_sims = 80
    for i in range(n_sims):
        sample, rest = two_stage_sample(pop, rng)
        sv = pmt.Survey(sample, "weight", "hh_size", "stratum", "psu")
        seed = int(rng.integers(1 << 31))
        # truth 1: the models fitted on the whole sample, applied to the population
        full = {name: fit(sample) for name, fit in SIM_FITS.items()}
        truth = {name: rate_metrics(y_pop[rest], np.asarray(mod.predict(pop.loc[rest])),
                                    v_pop[rest])["exclusion_error"]
                 for name, mod in full.items()}
        # cross-fitting by hand, keeping the fold models to score the population
        folds = psu_folds(sv, 5, np.random.SeedSequence([seed, 0]))
        cf = pd.DataFrame(0.0, index=sample.index, columns=list(SIM_FITS))
        mix = {name: np.empty(len(pop)) for name in SIM_FITS}
        for k in range(5):
            test = folds == k
            for name, fit in SIM_FITS.items():
                mod = fit(sample.loc[~test])
                cf.loc[test, name] = np.asarray(mod.predict(sample.loc[test]))
                mix[name][pop_folds == k] = np.asarray(mod.predict(pop.loc[pop_folds == k]))
        if i == 0:  # the hand-made predictions are cross_fit's
            np.testing.assert_allclose(
                cross_fit(SIM_FITS, sample, n_folds=5, seed=seed, survey=sv).to_numpy(),
                cf.to_numpy(), rtol=1e-12)
        cf.attrs["basis"] = "out_of_sample"
        # truth 2: the fold models, each scoring a fifth of the population
        folds_truth = {name: rate_metrics(y_pop[rest], mix[name][rest], v_pop[rest])
                       ["exclusion_error"] for name in SIM_FITS}
        ins = pd.DataFrame({name: np.asarray(mod.predict(sample)) for name, mod in full.items()})
        ins.attrs["basis"] = "in_sample"
        for label, preds in (("oos", cf), ("ins", ins)):
            out = compare(preds, sample, "log_pcc", shares=0.2, survey=sv, reference="ols",
                          n_replicates=100, seed=seed, n_groups=5, level=0.9)
            d = row(out, "rf - ols", "exclusion_error")
            hits[label] += d["lower"] <= truth["rf"] - truth["ols"] <= d["upper"]
            if label == "oos":
                diff = folds_truth["rf"] - folds_truth["ols"]
                hits["oos_folds"] += d["lower"] <= diff <= d["upper"]
    rates = {k: v / n_sims for k, v in hits.items()}
    assert 0.80 <= rates["oos"] <= 0.97, rates
    assert 0.80 <= rates["oos_folds"] <= 0.98, rates
    assert rates["ins"] <= 0.5, rates
