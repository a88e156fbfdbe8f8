"""Design-based tests of group differences (pmt.evaluate.significance).

The Rao-Scott statistic is checked against its textbook matrix formula computed here with
loops and a different contrast basis, and against Pearson's chi-square under simple random
sampling (where the generalised design effects are exactly n / (n - 1)). The bootstrap
contrasts are checked against the bootstrap by definition: weighted means recomputed
from the household replicate weights. The size of both tests is checked by simulation.
"""

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pmt
from pmt.evaluate import flag_significance, group_differences, rao_scott_test
from pmt.evaluate.significance import holm, significance_stars


# --- small data --------------------------------------------------------------------------------
def small_survey(seed=7, strata_psus=(2, 3, 4), per_psu=(3, 6)):
    """A stratified cluster sample: strata with 2, 3, 4 PSUs of 3-5 households, unequal
    weights and sizes; x in {a, b, c}, s in {0, 1}, g in {1, 2, 3} varying within PSUs."""
    rng = np.random.default_rng(seed)
    rows = []
    psu = 0
    for h, m in enumerate(strata_psus):
        for _ in range(m):
            psu += 1
            effect = rng.normal()
            for _ in range(rng.integers(*per_psu)):
                rows.append({
                    "stratum": h,
                    "psu": psu,
                    "w": float(rng.integers(50, 400)),
                    "size": int(rng.integers(1, 7)),
                    "s": int(rng.random() < 1 / (1 + np.exp(-effect))),
                    "x": "abc"[int(rng.integers(0, 3))],
                    "g": int(rng.integers(1, 4)),
                    "y": float(rng.gamma(2.0, 50.0)),
                })
    df = pd.DataFrame(rows)
    return df, pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")


def helmert(k):
    """k x (k-1) Helmert contrasts (columns orthogonal to the ones vector)."""
    H = np.zeros((k, k - 1))
    for j in range(1, k):
        H[:j, j - 1] = -1.0
        H[j, j - 1] = j
    return H


def textbook_rao_scott(df, xcol, gcol, wcol, sizecol, stratum, psu):
    """Rao-Scott (1981, 1984) by the textbook: cell proportions, their linearised
    with-replacement covariance (loops over strata and PSUs), Delta with a Kronecker basis
    of Helmert contrasts."""
    v = (df[wcol] * df[sizecol]).to_numpy(float)
    xs = sorted(df[xcol].unique())
    gs = sorted(df[gcol].unique())
    r, c = len(xs), len(gs)
    n = len(df)
    # cell indicators, column-major (row level fastest)
    Z = np.zeros((n, r * c))
    for k, (xv, gv) in enumerate(zip(df[xcol], df[gcol], strict=True)):
        Z[k, xs.index(xv) + r * gs.index(gv)] = 1.0
    p = (v[:, None] * Z).sum(axis=0) / v.sum()
    P = p.reshape(c, r).T
    pr, pc = P.sum(axis=1), P.sum(axis=0)
    X2 = n * sum((P[i, j] - pr[i] * pc[j]) ** 2 / (pr[i] * pc[j]) for i in range(r) for j in range(c))
    U = v[:, None] * (Z - p) / v.sum()
    V = np.zeros((r * c, r * c))
    for h in sorted(df[stratum].unique()):
        in_h = (df[stratum] == h).to_numpy()
        psus = sorted(df.loc[in_h, psu].unique())
        T = np.array([U[(df[psu] == j).to_numpy() & in_h].sum(axis=0) for j in psus])
        m = len(psus)
        D = T - T.mean(axis=0)
        V += m / (m - 1) * D.T @ D
    C = np.kron(helmert(c), helmert(r))
    Dinv = np.diag(1 / p)
    Delta = np.linalg.inv(C.T @ Dinv @ C / n) @ (C.T @ Dinv @ V @ Dinv @ C)
    k = (r - 1) * (c - 1)
    tr = np.trace(Delta)
    nu = df[psu].nunique() - df[stratum].nunique()
    d0 = tr**2 / np.trace(Delta @ Delta)
    return {
        "chisq": X2, "df": k, "deff_mean": tr / k, "chisq_adjusted": X2 / (tr / k),
        "p_chisq": stats.chi2.sf(X2 / (tr / k), k), "F": X2 / tr, "ndf": d0, "ddf": d0 * nu,
        "p_F": stats.f.sf(X2 / tr, d0, d0 * nu),
    }


# --- Rao-Scott --------------------------------------------------------------------------------
@pytest.mark.parametrize("xcol", ["s", "x"])
def test_rao_scott_matches_textbook_formula(xcol):
    df, sv = small_survey()
    want = textbook_rao_scott(df, xcol, "g", "w", "size", "stratum", "psu")
    got = rao_scott_test(sv, xcol, "g").loc[xcol]
    for key in ("chisq", "deff_mean", "chisq_adjusted", "F", "ndf", "ddf"):
        assert got[key] == pytest.approx(want[key], rel=1e-9), key
    assert got["df"] == want["df"]
    assert got["p_value"] == pytest.approx(want["p_chisq"], rel=1e-9)
    got_f = rao_scott_test(sv, xcol, "g", statistic="F").loc[xcol]
    assert got_f["p_value"] == pytest.approx(want["p_F"], rel=1e-9)
    assert abs(got["deff_mean"] - 1) > 0.02  # the design matters in these data


def test_rao_scott_under_srs_is_pearson_times_n_minus_1_over_n():
    rng = np.random.default_rng(3)
    n = 250
    df = pd.DataFrame({"x": rng.integers(0, 3, n), "g": rng.integers(1, 5, n)})
    sv = pmt.Survey(df)  # equal weights, every household its own PSU, one stratum
    got = rao_scott_test(sv, "x", "g").iloc[0]
    pearson, p_pearson, dof, _ = stats.chi2_contingency(pd.crosstab(df.x, df.g), correction=False)
    assert got["chisq"] == pytest.approx(pearson, rel=1e-12)
    assert got["p_pearson"] == pytest.approx(p_pearson, rel=1e-10)
    assert got["df"] == dof == 6
    assert got["deff_mean"] == pytest.approx(n / (n - 1), rel=1e-10)
    assert got["chisq_adjusted"] == pytest.approx(pearson * (n - 1) / n, rel=1e-10)


def test_rao_scott_bootstrap_variance_close_to_linearised():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=4)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    q = sv.quantile_groups("pcc", 5)
    lin = rao_scott_test(sv, "old_age_pension", q).iloc[0]
    boot = rao_scott_test(sv, "old_age_pension", q, variance="bootstrap",
                          n_replicates=2000, seed=1).iloc[0]
    assert boot["chisq"] == lin["chisq"]
    assert boot["deff_mean"] == pytest.approx(lin["deff_mean"], rel=0.1)


def test_rao_scott_several_indicators_and_household_unit():
    df, sv = small_survey()
    out = rao_scott_test(sv, ["s", "x"], "g", unit="household")
    assert list(out.index) == ["s", "x"] and out.index.name == "indicator"
    df1 = df.assign(size=1)
    want = textbook_rao_scott(df1, "x", "g", "w", "size", "stratum", "psu")
    assert out.loc["x", "chisq_adjusted"] == pytest.approx(want["chisq_adjusted"], rel=1e-9)
    assert out["significant"].dtype == bool


def test_rao_scott_errors_name_the_problem():
    df, sv = small_survey()
    with pytest.raises(pmt.DataError, match=r"`x` \(one\) takes a single value"):
        rao_scott_test(sv, {"one": np.ones(len(df))}, "g")
    with pytest.raises(pmt.DataError, match=r"grouping variable 'g' has a single level"):
        rao_scott_test(sv, "s", df.g * 0 + 1)
    bad = df.s.astype(float)
    bad.iloc[2] = np.nan
    with pytest.raises(pmt.DataError, match=r"1 missing values at row 2"):
        rao_scott_test(sv, bad, "g")
    with pytest.raises(pmt.DataError, match=r"`groups` column 'nope' is not in the survey"):
        rao_scott_test(sv, "s", "nope")
    with pytest.raises(pmt.DataError, match=r"`statistic` must be 'chisq' or 'F'"):
        rao_scott_test(sv, "s", "g", statistic="Wald")


# --- bootstrap contrasts -----------------------------------------------------------------------
def _means_by_hand(wrep, y, d, g, levels):
    """Ratio means sum_g w y / sum_g w d for every replicate column of wrep."""
    return np.array([[np.sum(wrep[g == lev, r] * y[g == lev]) / np.sum(wrep[g == lev, r] * d[g == lev])
                      for lev in levels] for r in range(wrep.shape[1])])


def test_group_differences_is_the_paired_bootstrap_by_definition():
    df, sv = small_survey()
    R, seed = 400, 11
    out = group_differences(sv, "s", "g", reference=1, n_replicates=R, seed=seed)
    v = (df.w * df["size"]).to_numpy()
    s, g = df.s.to_numpy(float), df.g.to_numpy()
    full = np.array([np.sum(v[g == k] * s[g == k]) / np.sum(v[g == k]) for k in (1, 2, 3)])
    wrep = sv.replicate_weights(R, seed)  # person replicate weights, households x R
    with np.errstate(invalid="ignore"):
        reps = _means_by_hand(wrep, s, np.ones_like(s), g, (1, 2, 3))
    nu = df.psu.nunique() - df.stratum.nunique()
    for k in (2, 3):
        row = out[out.group == k].iloc[0]
        assert row.reference == 1
        assert row.group_value == pytest.approx(full[k - 1], rel=1e-12)
        assert row.estimate == pytest.approx(full[k - 1] - full[0], rel=1e-12)
        d = reps[:, k - 1] - reps[:, 0]
        d = d[~np.isnan(d)]  # replicates that drew no household of a group are left out
        assert row.n_valid == d.size > 0.9 * R
        assert row.se == pytest.approx(np.std(d, ddof=1), rel=1e-9)
        assert row.z == pytest.approx(row.estimate / row.se, rel=1e-12)
        assert row.df == nu
        assert row.p_value == pytest.approx(2 * stats.t.sf(abs(row.z), nu), rel=1e-9)
        assert row.lower == pytest.approx(np.quantile(d, 0.025), rel=1e-9)
        # paired: not the s.e. of two independent estimates
        indep = np.hypot(np.nanstd(reps[:, k - 1], ddof=1), np.nanstd(reps[:, 0], ddof=1))
        assert abs(row.se - indep) > 1e-3 * indep


def test_group_differences_share_and_denominator_by_hand():
    df, sv = small_survey()
    v = (df.w * df["size"]).to_numpy()
    s, g, y = df.s.to_numpy(float), df.g.to_numpy(), df.y.to_numpy()
    poor = (y < np.median(y)).astype(float)
    # incidence: group's share of all beneficiaries (persons)
    out = group_differences(sv, "s", "g", statistic="share", n_replicates=50)
    share = np.array([np.sum(v[g == k] * s[g == k]) for k in (1, 2, 3)]) / np.sum(v * s)
    assert len(out) == 3  # all pairs: (2, 1), (3, 1), (3, 2)
    assert list(zip(out.group, out.reference, strict=True)) == [(2, 1), (3, 1), (3, 2)]
    for row in out.itertuples():
        assert row.estimate == pytest.approx(share[row.group - 1] - share[row.reference - 1], rel=1e-12)
    # coverage of the poor: poor * selected over poor
    out = group_differences(sv, {"cov_poor": poor * s}, "g", denominator=poor, reference=3,
                            n_replicates=50, df=None)
    cp = [np.sum(v[g == k] * poor[g == k] * s[g == k]) / np.sum(v[g == k] * poor[g == k])
          for k in (1, 2, 3)]
    row = out[out.group == 1].iloc[0]
    assert row.indicator == "cov_poor"
    assert row.estimate == pytest.approx(cp[0] - cp[2], rel=1e-12)
    assert np.isinf(row.df)
    assert row.p_value == pytest.approx(2 * stats.norm.sf(abs(row.z)), rel=1e-12)


def test_group_differences_adjustments_and_significance():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=2)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    q = sv.quantile_groups("pcc", 5)
    kw = dict(n_replicates=200, seed=3)
    raw = group_differences(sv, {"pension": "old_age_pension", "poor": "poor"}, q, **kw)
    assert len(raw) == 2 * 10
    hl = group_differences(sv, {"pension": "old_age_pension", "poor": "poor"}, q, adjust="holm", **kw)
    for ind in ("pension", "poor"):
        p = raw.loc[raw.indicator == ind, "p_value"].to_numpy()
        np.testing.assert_allclose(hl.loc[hl.indicator == ind, "p_adjusted"], holm(p))
    bonf = group_differences(sv, "old_age_pension", q, adjust="bonferroni", alpha=0.01, **kw)
    np.testing.assert_allclose(bonf.p_adjusted, np.minimum(1, bonf.p_value * 10))
    assert (bonf.significant == (bonf.p_adjusted < 0.01)).all()
    # poverty falls from the poorest quintile: Q1 vs Q5 highly significant
    q15 = raw[(raw.indicator == "poor") & (raw.group == 5) & (raw.reference == 1)].iloc[0]
    assert q15.estimate < 0 and q15.significant
    # nobody is poor in Q2..Q5 in these data: no variance, no p-value, not significant
    zero = raw[(raw.indicator == "poor") & (raw.reference > 1)]
    assert (zero.estimate == 0).all() and zero.p_value.isna().all() and not zero.significant.any()


def test_holm_textbook_example():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 -> running max
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    from statsmodels.stats.multitest import multipletests

    q = np.random.default_rng(0).uniform(0, 0.2, 12)
    np.testing.assert_allclose(holm(q), multipletests(q, method="holm")[1])
    assert np.isnan(holm([np.nan, 0.01])[0]) and holm([np.nan, 0.01])[1] == 0.01


def test_significance_stars():
    got = significance_stars([0.001, 0.01, 0.03, 0.07, 0.5, np.nan])
    assert list(got) == ["***", "**", "**", "*", "", ""]
    assert list(significance_stars([0.04, 0.2], thresholds=(0.05,))) == ["*", ""]
    with pytest.raises(pmt.DataError, match="thresholds"):
        significance_stars([0.1], thresholds=(5,))


def test_group_differences_errors():
    df, sv = small_survey()
    with pytest.raises(pmt.DataError, match=r"`reference` 9 is not a level of `groups`; the levels are 1, 2, 3"):
        group_differences(sv, "s", "g", reference=9, n_replicates=10)
    with pytest.raises(pmt.DataError, match=r"`denominator` applies to statistic='mean' only"):
        group_differences(sv, "s", "g", statistic="share", denominator="s", n_replicates=10)
    with pytest.raises(pmt.DataError, match=r"`values` column 'nope' is not in the survey data"):
        group_differences(sv, "nope", "g", n_replicates=10)
    with pytest.raises(pmt.DataError, match=r"`adjust` must be 'none', 'holm' or 'bonferroni'"):
        group_differences(sv, "s", "g", adjust="fdr", n_replicates=10)
    with pytest.raises(pmt.DataError, match=r"index different from the survey data"):
        group_differences(sv, "s", df.g.reset_index(drop=True).set_axis(df.index + 1), n_replicates=10)
    with pytest.raises(pmt.DataError, match=r"`alpha` must be a significance level"):
        group_differences(sv, "s", "g", alpha=5, n_replicates=10)


# --- flags on tables ---------------------------------------------------------------------------
def test_flag_significance_on_a_group_table():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=5)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    rec = (df.social_assistance > 0).astype(int).rename("assistance")
    table = pmt.group_table(df.pcc, rec, df.weight, size=df.hh_size, ranked_by="post-transfer pcc")
    q = sv.quantile_groups("pcc", 5)
    diffs = group_differences(sv, rec, q, reference=1, n_replicates=200)
    test = rao_scott_test(sv, rec, q)
    out = flag_significance(table, diffs, column="coverage", test=test)
    assert "coverage_sig" not in table.columns  # input unchanged
    np.testing.assert_allclose(out.loc[[2, 3, 4, 5], "coverage_diff"],
                               table.loc[[2, 3, 4, 5], "coverage"] - table.loc[1, "coverage"],
                               rtol=1e-10)
    assert out.loc[1, "coverage_sig"] == "ref" and out.loc["Total", "coverage_sig"] == ""
    assert np.isnan(out.loc["Total", "coverage_p"])
    want = significance_stars(diffs.p_adjusted.to_numpy())
    assert list(out.loc[[2, 3, 4, 5], "coverage_sig"]) == list(want)
    note = out.attrs["significance"]["coverage"]
    assert note["reference"] == 1 and note["p_value"] == test.iloc[0].p_value
    assert note["note"].startswith("coverage: equal across groups rejected at 5%")
    with pytest.raises(pmt.DataError, match=r"compares all pairs of groups; call group_differences with"):
        flag_significance(table, group_differences(sv, rec, q, n_replicates=20))
    with pytest.raises(pmt.DataError, match=r"pass `differences`"):
        flag_significance(table)


# --- size and power by simulation --------------------------------------------------------------
def clustered_draw(rng, H=4, P=30, m=10, icc=0.15, q1_shift=0.0):
    """Stratified two-stage sample; coverage varies between PSUs (intra-cluster
    correlation ``icc``) and is independent of welfare unless ``q1_shift`` != 0."""
    n = H * P * m
    stratum = np.repeat(np.arange(H), P * m)
    psu = np.repeat(np.arange(H * P), m)
    a, b = 0.3 * (1 - icc) / icc, 0.7 * (1 - icc) / icc
    p_psu = rng.beta(a, b, H * P)[psu]
    y = rng.normal(0, 1, H * P)[psu] + rng.normal(0, 1, n)
    df = pd.DataFrame({
        "stratum": stratum, "psu": psu, "y": y,
        "w": np.exp(rng.normal(0, 0.4, n)) * (1 + stratum), "size": rng.integers(1, 8, n),
    })
    sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu")
    q = sv.quantile_groups("y", 5)
    p = np.clip(p_psu + q1_shift * (q.to_numpy() == 1), 0, 1)
    df["s"] = (rng.random(n) < p).astype(int)
    return sv, q


@pytest.mark.slow
def test_size_and_power_by_simulation():
    start = time.perf_counter()
    rng = np.random.default_rng(2024)
    S, alpha = 500, 0.05
    rej = {"chisq": 0, "F": 0, "pearson": 0, "diff": 0}
    n_diff = 0
    for i in range(S):
        sv, q = clustered_draw(rng)
        rs = rao_scott_test(sv, "s", q).iloc[0]
        rej["chisq"] += rs.p_value < alpha
        rej["pearson"] += rs.p_pearson < alpha
        rej["F"] += rao_scott_test(sv, "s", q, statistic="F").iloc[0].p_value < alpha
        if i < 250:
            d = group_differences(sv, "s", q, reference=1, n_replicates=200, seed=i)
            rej["diff"] += int((d.p_value < alpha).sum())
            n_diff += len(d)
    rate = {k: v / S for k, v in rej.items() if k != "diff"}
    rate["diff"] = rej["diff"] / n_diff
    # Monte Carlo s.e. of a rate near 0.05 with 500 draws is 0.01
    assert 0.025 <= rate["chisq"] <= 0.08, rate
    assert 0.025 <= rate["F"] <= 0.08, rate
    assert 0.025 <= rate["diff"] <= 0.08, rate
    assert rate["pearson"] > 0.2, rate  # ignoring the design rejects far too often
    # power: coverage 25 points higher in the poorest quintile
    hits = 0
    for _ in range(100):
        sv, q = clustered_draw(rng, q1_shift=0.25)
        hits += rao_scott_test(sv, "s", q).iloc[0].p_value < alpha
    assert hits >= 80
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize("lonely", ["adjust", "remove"])
def test_linearised_covariance_agrees_with_survey_total_variance(lonely):
    """The covariance behind Rao-Scott has, on its diagonal, Survey.total_variance of each
    column (with a single-PSU stratum handled as `lonely_psu` says)."""
    from pmt.evaluate.significance import _linearised_cov

    df, _ = small_survey()
    df = pd.concat([df, pd.DataFrame({"stratum": [9, 9], "psu": [99, 99], "w": [100.0, 120.0],
                                      "size": [2, 3], "s": [1, 0], "x": ["a", "b"], "g": [1, 2],
                                      "y": [10.0, 20.0]})], ignore_index=True)
    with pytest.warns(UserWarning, match="single PSU"):
        sv = pmt.Survey(df, weight="w", size="size", strata="stratum", psu="psu", lonely_psu=lonely)
    z = np.column_stack([df.s, df.y, df.s * df.y])
    V = _linearised_cov(sv, df.w.to_numpy()[:, None] * z)
    for k in range(3):
        assert V[k, k] == pytest.approx(sv.total_variance(z[:, k]), rel=1e-12)
    # off-diagonal: the variance of a sum is the sum of the covariance matrix
    assert V.sum() == pytest.approx(sv.total_variance(z.sum(axis=1)), rel=1e-12)
