"""Tests of pmt.inequality against formulas written here, closed forms, published values
and simulation.

Every measure is recomputed in this file by an independent formula (the Gini by the mean
absolute difference, GE and Atkinson by their textbook definitions, quantiles and deciles
by the DESIGN.md section 4 definitions written out again); integer weights are checked
against data with each household repeated; lognormal welfare checks the known truth;
published values come from the Kyrgyz 2011 (Table 9) and Belarus 2011 (Figure 2)
reports; standard errors are checked by repeated sampling from a finite population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pmt
from pmt.errors import DataError
from pmt.inequality import (
    MEASURES,
    _conc_lin,
    _Dist,
    _Ranking,
    classify_progressivity,
    classify_q1_share,
    concentration_curve,
    concentration_index,
    gini,
    inequality_measures,
    kakwani,
    lorenz_curve,
    progressivity,
    with_without,
)


# --- independent formulas ------------------------------------------------------------------
def gini_mad(y, w):
    """Gini by the mean absolute difference: sum_ij w_i w_j |y_i - y_j| / (2 W^2 mean)."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    mean = np.average(y, weights=w)
    return np.sum(np.outer(w, w) * np.abs(y[:, None] - y[None, :])) / (2 * w.sum() ** 2 * mean)


def concentration_steps(x, r, w):
    """1 - sum_k (S_{k-1} + S_k) p_k with one step per distinct value of r."""
    d = pd.DataFrame({"r": r, "w": w, "wx": np.asarray(w) * np.asarray(x)})
    g = d.groupby("r", sort=True)[["w", "wx"]].sum()
    p = g["w"].to_numpy() / g["w"].sum()
    s = np.cumsum(g["wx"].to_numpy()) / g["wx"].sum()
    s_prev = np.r_[0.0, s[:-1]]
    return 1 - np.sum((s_prev + s) * p)


def ge(y, w, a):
    mu = np.average(y, weights=w)
    if a == 0:
        return -np.average(np.log(y / mu), weights=w)
    if a == 1:
        return np.average(y / mu * np.log(y / mu), weights=w)
    return np.average((y / mu) ** a - 1, weights=w) / (a * (a - 1))


def atkinson(y, w, e):
    mu = np.average(y, weights=w)
    if e == 1:
        ede = np.exp(np.average(np.log(y), weights=w))
    else:
        ede = np.average(y ** (1 - e), weights=w) ** (1 / (1 - e))
    return 1 - ede / mu


def quantile(y, w, q):
    """Smallest y whose cumulative weight share is >= q (section 4), written out again."""
    order = np.argsort(y, kind="stable")
    share = np.cumsum(np.asarray(w, float)[order]) / np.sum(w)
    return np.asarray(y)[order][np.argmax(share >= q - 1e-12)]


def deciles(y, w):
    cuts = [quantile(y, w, k / 10) for k in range(1, 10)]
    return 1 + np.sum(np.asarray(y)[:, None] > np.asarray(cuts)[None, :], axis=1)


def palma(y, w):
    g = deciles(y, w)
    wy = np.asarray(w) * np.asarray(y)
    return wy[g == 10].sum() / wy[g <= 4].sum()


def textbook(y, w) -> pd.Series:
    return pd.Series({
        "gini": gini_mad(y, w), "ge0": ge(y, w, 0), "ge1": ge(y, w, 1), "ge2": ge(y, w, 2),
        "atkinson_0.5": atkinson(y, w, 0.5), "atkinson_1": atkinson(y, w, 1),
        "atkinson_2": atkinson(y, w, 2),
        "p90_p10": quantile(y, w, 0.9) / quantile(y, w, 0.1),
        "p80_p20": quantile(y, w, 0.8) / quantile(y, w, 0.2), "palma": palma(y, w)})


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(7)
    y = np.round(rng.lognormal(3, 0.8, 60), 1)
    y[5] = y[6]  # a tie
    w = rng.integers(1, 6, 60).astype(float)
    return y, w


def hbs(n=3000, seed=0):
    df = pmt.datasets.synthetic_hbs(n_households=n, seed=seed)
    df["ipc"] = df["income"] / df["hh_size"]
    df["pension_pp"] = df["inc_pensions"] / df["hh_size"]
    df["sa_pp"] = df["social_assistance"] / df["hh_size"]
    df["ipc"] = df["ipc"] + 1.0  # keep income without transfers positive
    return df


@pytest.fixture(scope="module")
def sv():
    df = hbs()
    return pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")


# --- point estimates -----------------------------------------------------------------------
def test_gini_equals_mean_absolute_difference_and_replicated_data(small):
    y, w = small
    assert gini(y, w) == pytest.approx(gini_mad(y, w), rel=1e-12)
    rep = np.repeat(y, w.astype(int))
    assert gini(y, w) == pytest.approx(gini(rep), rel=1e-12)
    # the step formula on the replicated data, one person per step
    s = np.cumsum(np.sort(rep)) / rep.sum()
    by_steps = 1 - np.sum((np.r_[0, s[:-1]] + s) / rep.size)
    assert gini(y, w) == pytest.approx(by_steps, rel=1e-12)
    assert isinstance(gini(y, w), float)


def test_gini_edge_cases():
    assert gini([5.0, 5.0, 5.0]) == pytest.approx(0.0, abs=1e-15)
    assert gini([0.0, 0.0, 0.0, 8.0]) == pytest.approx(0.75)  # (n - 1) / n
    assert gini([-3.0, 1.0, 4.0]) == pytest.approx(gini_mad([-3.0, 1.0, 4.0], [1, 1, 1]))
    assert gini([-3.0, 1.0, 4.0]) > 1  # negatives allowed, the Gini can exceed 1
    with pytest.raises(DataError, match="not positive"):
        gini([0.0, 0.0])
    with pytest.raises(DataError, match="`y` has 1 missing value at row b"):
        gini(pd.Series([1.0, np.nan], index=["a", "b"]))
    with pytest.raises(DataError, match="weights"):
        gini([1.0, 2.0], [1.0, -1.0])


def test_ties_form_one_step_whatever_their_order():
    r = np.array([1.0, 1, 1, 2, 2, 3])
    x = np.array([0.0, 3, 1, 2, 0, 1])
    w = np.array([1.0, 2, 1, 1, 3, 1])
    c = concentration_index(x, r, w)
    assert c == pytest.approx(concentration_steps(x, r, w), rel=1e-12)
    perm = np.array([2, 0, 1, 4, 3, 5])  # reorder within the tie groups
    assert concentration_index(x[perm], r[perm], w[perm]) == pytest.approx(c, rel=1e-12)
    curve = concentration_curve(x, r, w)
    assert len(curve) == 4  # origin + three steps
    np.testing.assert_allclose(curve["population_share"], [0, 4 / 9, 8 / 9, 1])
    np.testing.assert_allclose(curve["cumulative_share"], [0, 0.7, 0.9, 1])  # w x: 7, 2, 1
    assert curve.attrs["index"] == pytest.approx(c, rel=1e-12)


def test_inequality_measures_against_textbook_formulas(small):
    y, w = small
    got = inequality_measures(y, w)
    assert list(got.index) == list(MEASURES) and got.index.name == "measure"
    expected = textbook(y, w)
    np.testing.assert_allclose(got.to_numpy(), expected[list(MEASURES)].to_numpy(), rtol=1e-10)
    # integer weights are repeated households
    rep = inequality_measures(np.repeat(y, w.astype(int)))
    np.testing.assert_allclose(got.to_numpy(), rep.to_numpy(), rtol=1e-10)
    assert got["gini"] == pytest.approx(gini(y, w))
    assert got.attrs["n_dropped"] == 0


def test_quantiles_agree_with_pmt_weighted_quantile_and_deciles(small):
    y, w = small
    got = inequality_measures(y, w)
    q = pmt.weighted_quantile(y, w, [0.1, 0.2, 0.8, 0.9])
    assert got["p90_p10"] == pytest.approx(q[3] / q[0])
    assert got["p80_p20"] == pytest.approx(q[2] / q[1])
    d = pmt.quantile_groups(y, w, 10)
    assert got["palma"] == pytest.approx((w * y)[d == 10].sum() / (w * y)[d <= 4].sum())


def test_lognormal_known_truth():
    sigma = 0.6
    rng = np.random.default_rng(1)
    y = rng.lognormal(2.0, sigma, 400_000)
    got = inequality_measures(y)
    z = stats.norm.ppf
    truth = {
        "gini": 2 * stats.norm.cdf(sigma / np.sqrt(2)) - 1,
        "ge0": sigma**2 / 2, "ge1": sigma**2 / 2, "ge2": (np.exp(sigma**2) - 1) / 2,
        "atkinson_0.5": 1 - np.exp(-0.5 * sigma**2 / 2),
        "atkinson_1": 1 - np.exp(-sigma**2 / 2), "atkinson_2": 1 - np.exp(-sigma**2),
        "p90_p10": np.exp(sigma * (z(0.9) - z(0.1))), "p80_p20": np.exp(sigma * (z(0.8) - z(0.2))),
        # Lorenz curve of the lognormal: L(p) = Phi(Phi^-1(p) - sigma)
        "palma": (1 - stats.norm.cdf(z(0.9) - sigma)) / stats.norm.cdf(z(0.4) - sigma),
    }
    for m, t in truth.items():
        assert got[m] == pytest.approx(t, rel=0.02), m


def test_person_weighted_survey_equals_person_level_data():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"y": rng.lognormal(0, 0.7, 300), "w": rng.integers(1, 4, 300) * 1.0,
                       "n": rng.integers(1, 7, 300)})
    sv = pmt.Survey(df, weight="w", size="n")
    got = inequality_measures(sv, "y")
    persons = df.loc[df.index.repeat(df["n"])]
    expected = inequality_measures(persons["y"].to_numpy(), persons["w"].to_numpy())
    np.testing.assert_allclose(got["estimate"].to_numpy(), expected.to_numpy(), rtol=1e-10)
    assert gini(sv, "y") == pytest.approx(expected["gini"])
    hh = inequality_measures(sv, "y", unit="household")
    assert hh.loc["gini", "estimate"] == pytest.approx(gini(df["y"], df["w"]))
    assert set(got.columns) >= {"estimate", "se", "ci_lower", "ci_upper", "n_households",
                                "population", "n_dropped"}
    assert got["population"].iloc[0] == pytest.approx((df.w * df.n).sum())


def test_nonpositive_welfare_error_names_rows_or_drop_counts():
    y = pd.Series([1.0, 2.0, 0.0, 4.0, -1.0, 3.0], index=list("abcdef"))
    with pytest.raises(DataError, match=r"2 households at rows c, e.*nonpositive='drop'"):
        inequality_measures(y)
    with pytest.warns(UserWarning, match="2 households"):
        got = inequality_measures(y, nonpositive="drop")
    assert got.attrs["n_dropped"] == 2
    pos = y[y > 0]
    np.testing.assert_allclose(got.to_numpy(), inequality_measures(pos).to_numpy())
    with pytest.raises(DataError, match="nonpositive"):
        inequality_measures(y, nonpositive="ignore")
    sv = pmt.Survey(pd.DataFrame({"y": y}))
    with pytest.raises(DataError, match=r"welfare 'y' is zero or negative .* rows c, e"):
        inequality_measures(sv, "y")
    with pytest.warns(UserWarning):
        res = inequality_measures(sv, "y", nonpositive="drop")
    assert (res["n_dropped"] == 2).all() and res.attrs["n_dropped"] == 2
    assert (res["n_households"] == 4).all()


def test_by_group_one_row_per_group(small):
    y, w = small
    g = np.where(np.arange(y.size) % 3 == 0, "north", "south")
    got = inequality_measures(y, w, by=pd.Series(g, name="region"))
    assert list(got.index) == ["north", "south"] and got.index.name == "region"
    assert list(got.columns) == list(MEASURES)
    for lev in ("north", "south"):
        np.testing.assert_allclose(got.loc[lev].to_numpy(),
                                   inequality_measures(y[g == lev], w[g == lev]).to_numpy())
    with pytest.raises(DataError, match="`by` has 3 values"):
        inequality_measures(y, w, by=["a", "b", "c"])


def test_survey_by_group_domains(sv):
    res = inequality_measures(sv, "ipc", by="urban")
    wide = res["estimate"].unstack()
    assert list(wide.index) == [0, 1] and list(wide.columns) == list(MEASURES)
    df = sv.data
    for lev in (0, 1):
        sub = df[df.urban == lev]
        expected = inequality_measures(sub["ipc"], sub["weight"] * sub["hh_size"])
        np.testing.assert_allclose(wide.loc[lev].to_numpy(), expected.to_numpy(), rtol=1e-10)
        # domain variance on the whole design: equals the linearisation of the subset
        # survey only where no PSU straddles the domain (urban is a stratum property here)
        sub_sv = pmt.Survey(sub, weight="weight", size="hh_size", strata="stratum", psu="psu")
        se_sub = inequality_measures(sub_sv, "ipc")["se"]
        np.testing.assert_allclose(res.loc[lev, "se"].to_numpy(), se_sub.to_numpy(), rtol=1e-8)
    with pytest.raises(DataError, match="`by` must be a column"):
        inequality_measures(sv, "ipc", by="nope")


def test_concentration_index_and_kakwani(small):
    y, w = small
    rng = np.random.default_rng(0)
    t = np.where(y < np.median(y), 10.0, 0.0) + rng.integers(0, 2, y.size)
    c = concentration_index(t, y, w)
    assert c == pytest.approx(concentration_steps(t, y, w), rel=1e-12)
    assert c < 0
    assert concentration_index(np.ones(y.size), y, w) == pytest.approx(0.0, abs=1e-14)
    assert concentration_index(y, y, w) == pytest.approx(gini(y, w))
    assert concentration_index(3 * y, y, w) == pytest.approx(gini(y, w))
    assert kakwani(t, y, w) == pytest.approx(c - gini(y, w))
    lor = lorenz_curve(y, w)
    assert lor.attrs["index"] == pytest.approx(gini(y, w))
    # the figure module's concentration curve agrees
    from pmt.report.figures import concentration_points

    fig_pts = concentration_points(t, y, w)
    ours = concentration_curve(t, y, w)
    np.testing.assert_allclose(ours.to_numpy(), fig_pts.to_numpy())
    with pytest.raises(DataError, match="zero"):
        concentration_index(np.zeros(3), [1.0, 2, 3])
    with pytest.raises(DataError, match="rank_by"):
        concentration_index([1.0, 2, 3], [1.0, 2])


def test_public_names():
    assert pmt.gini is gini and pmt.inequality_measures is inequality_measures
    assert pmt.concentration_index is concentration_index
    assert pmt.inequality.with_without is with_without
    assert {"gini", "inequality_measures", "concentration_index"} <= set(pmt.__all__)


# --- linearisation -------------------------------------------------------------------------
def test_linearised_variable_is_the_derivative_in_the_weights(small):
    y, w = small
    line = np.full(y.size, float(np.median(y)))
    names = ["gini", "ge0", "ge1", "ge2", "atkinson_0.5", "atkinson_1", "atkinson_2",
             "FGT0", "FGT1", "FGT2"]
    dist = _Dist(y, names, line)
    lin = dist.linearised(w)
    h = 1e-6
    for k in (0, 5, 17, 42):
        up, down = w.copy(), w.copy()
        up[k] += h
        down[k] -= h
        vu, vd = dist.values(up[:, None]), dist.values(down[:, None])
        for m in names:
            num = (vu[m][0] - vd[m][0]) / (2 * h)
            assert lin[m][1][k] == pytest.approx(num, rel=1e-5, abs=1e-9), (m, k)
    # concentration index of another variable
    x = np.sqrt(y) + (np.arange(y.size) % 4)
    rank = _Ranking(y)
    c, z = _conc_lin(x, rank, w)
    for k in (1, 6, 30):
        up = w.copy()
        up[k] += h
        num = (concentration_index(x, y, up) - c) / h
        assert z[k] == pytest.approx(num, rel=1e-4, abs=1e-8)
    # every linearised variable sums to zero (the measures are scale-free in the weights)
    for m in names:
        assert np.sum(w * lin[m][1]) == pytest.approx(0.0, abs=1e-10)


def test_linearised_and_bootstrap_standard_errors_agree(sv):
    lin = inequality_measures(sv, "ipc")
    boot = inequality_measures(sv, "ipc", se="bootstrap", n_replicates=400, seed=1)
    np.testing.assert_allclose(lin["estimate"], boot["estimate"])
    ratio = lin["se"] / boot["se"]
    assert ratio.between(0.75, 1.3).all(), ratio
    assert boot.attrs["n_replicates"] == 400 and lin.attrs["se_method"] == "linearized"
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(lin["ci_upper"] - lin["estimate"], z * lin["se"])


# --- with and without each transfer ------------------------------------------------------------
def test_with_without_levels_and_changes(sv):
    df = sv.data
    z = float(df["poverty_line"].iloc[0])
    tr = {"pensions": "pension_pp", "social assistance": df["sa_pp"].to_numpy()}
    res = with_without(sv, "ipc", tr, z)
    assert res.index.names == ["scenario", "measure"]
    table = res["estimate"].unstack()
    assert list(table.index) == ["actual", "without pensions", "without social assistance",
                                 "without all"]
    assert list(table.columns) == ["FGT0", "FGT1", "FGT2", "gini", "ge0", "ge1", "ge2"]
    v = sv.person_weight
    scen = {"actual": df.ipc, "without pensions": df.ipc - df.pension_pp,
            "without social assistance": df.ipc - df.sa_pp,
            "without all": df.ipc - df.pension_pp - df.sa_pp}
    for s, ys in scen.items():
        for a in (0, 1, 2):
            assert table.loc[s, f"FGT{a}"] == pytest.approx(pmt.fgt(ys, z, v, alpha=a))
        assert table.loc[s, "gini"] == pytest.approx(gini_mad(ys.to_numpy(), v), rel=1e-9)
        for a in (0, 1, 2):
            assert table.loc[s, f"ge{a}"] == pytest.approx(ge(ys.to_numpy(), v, a), rel=1e-9)
    ch = res["change"].unstack()
    np.testing.assert_allclose(ch.to_numpy(), (table - table.loc["actual"]).to_numpy(),
                               atol=1e-14)
    # poverty levels and their standard errors are those of pmt.poverty_measures
    pm = pmt.poverty_measures(sv, "ipc", z, include_watts=False)
    np.testing.assert_allclose(res.loc["actual"].loc[["FGT0", "FGT1", "FGT2"], "se"],
                               pm["se"], rtol=1e-10)
    # paired changes of poverty are those of pmt.simulate.paired_change
    from pmt.simulate.impact import paired_change

    pc = paired_change(sv, scen["without pensions"].to_numpy(), df.ipc.to_numpy(), z,
                       measures=("FGT0", "FGT1", "FGT2"))
    np.testing.assert_allclose(res.loc["without pensions"].loc[["FGT0", "FGT1", "FGT2"],
                                                               "se_change"],
                               pc["se_change"], rtol=1e-10)
    np.testing.assert_allclose(-res.loc["without pensions"].loc[["FGT0", "FGT1", "FGT2"],
                                                                "change"],
                               pc["change"], rtol=1e-10)
    # pairing: the change is far more precise than the two levels suggest
    sa = res.loc["without social assistance"]
    naive = np.sqrt(sa["se"] ** 2 + res.loc["actual"]["se"] ** 2)
    assert (sa["se_change"] < 0.6 * naive).all()
    assert (sa["p_change"] < 0.05).all()
    assert res.loc[("actual", "gini"), "se_change"] == 0


def test_with_without_bootstrap_uses_the_same_replicates(sv):
    z = float(sv.data["poverty_line"].iloc[0])
    tr = {"pensions": "pension_pp", "sa": "sa_pp"}
    boot = with_without(sv, "ipc", tr, z, se="bootstrap", n_replicates=300, seed=4,
                        without_all=False)
    lin = with_without(sv, "ipc", tr, z, without_all=False)
    assert "without all" not in boot.index.get_level_values("scenario")
    np.testing.assert_allclose(boot["estimate"], lin["estimate"])
    pm = pmt.poverty_measures(sv, "ipc", z, include_watts=False, se="bootstrap",
                              n_replicates=300, seed=4)
    np.testing.assert_allclose(boot.loc["actual"].loc[["FGT0", "FGT1", "FGT2"], "se"],
                               pm["se"], rtol=1e-9)
    changed = boot.index.get_level_values("scenario") != "actual"
    ratio = boot.loc[changed, "se_change"] / lin.loc[changed, "se_change"]
    assert ratio.between(0.7, 1.4).all(), ratio


def test_with_without_inputs(sv):
    z = float(sv.data["poverty_line"].iloc[0])
    with pytest.raises(DataError, match="transfer 'x' column 'nope' is not in the survey"):
        with_without(sv, "ipc", {"x": "nope"}, z)
    with pytest.raises(DataError, match="named 'all'"):
        with_without(sv, "ipc", {"all": "sa_pp", "p": "pension_pp"}, z)
    with pytest.raises(DataError, match="unknown measure"):
        with_without(sv, "ipc", ["sa_pp"], z, measures=["theil"])
    # list of column names; a transfer that leaves some welfare <= 0
    big = sv.data["ipc"] * (sv.data.index % 50 == 0)
    with pytest.raises(DataError, match=r"welfare 'without big' is zero or negative .*ge0"):
        with_without(sv, "ipc", {"big": big}, z)
    with pytest.warns(UserWarning, match="left out"):
        res = with_without(sv, "ipc", {"big": big}, z, nonpositive="drop")
    n_bad = int((sv.data.index % 50 == 0).sum())
    assert res.loc[("without big", "gini"), "n_dropped"] == n_bad
    assert res.loc[("without big", "FGT0"), "n_dropped"] == 0
    # without GE(0)/GE(1) nothing needs positive welfare
    ok = with_without(sv, "ipc", {"big": big}, z, measures=["FGT0", "gini", "ge2"])
    assert ok.loc[("without big", "gini"), "n_dropped"] == 0
    with pytest.raises(DataError, match="pmt.Survey"):
        with_without(sv.data, "ipc", ["sa_pp"], z)


# --- progressivity and cost-benefit ---------------------------------------------------------------
def test_kyrgyz_table9_classification(reference):
    # Kyrgyz Republic 2011, Table 9: Q1 share of benefits (%) against Q1's consumption share
    ref = reference("kyrgyz_2011_table9")
    welfare_share = ref["consumption_q1_share"] / 100
    for transfer, row in ref["q1_share"].items():
        got = classify_q1_share(row["share"] / 100, welfare_share=welfare_share)
        assert got == row["classification"], transfer


def test_concentration_classification_thresholds():
    assert classify_progressivity(-0.2, 0.3) == "highly progressive"
    assert classify_progressivity(0.0, 0.3) == "mildly progressive"
    assert classify_progressivity(0.29, 0.3) == "mildly progressive"
    assert classify_progressivity(0.3, 0.3) == "regressive"
    assert classify_progressivity(0.5, 0.3) == "regressive"
    assert classify_progressivity(np.nan, 0.3) == "undefined"


def test_belarus_figure2_cost_benefit_ratios(reference):
    # Belarus 2011 Figure 2 (annual US$): PG without, actual PG, spending X -> CB = dPG / X
    ref = reference("belarus_2011_figure2")
    fig2 = {name: (p["poverty_gap_without"], p["spending"], p["cost_benefit"])
            for name, p in ref["programmes"].items()}
    actual_pg = ref["actual_poverty_gap"]
    # a population reproducing those totals at a line of 1: one group with no welfare
    # (gap 1 each), and per programme people at the line who fall to 0 without it
    # (gap 1 each) and people far above the line who receive 50
    rows = [{"y": 0.0, "w": float(actual_pg), **dict.fromkeys(fig2, 0.0)}]
    for prog, (pg_without, spent, _) in fig2.items():
        d_pg = pg_without - actual_pg
        rows.append({"y": 1.0, "w": float(d_pg), **dict.fromkeys(fig2, 0.0), prog: 1.0})
        rows.append({"y": 100.0, "w": (spent - d_pg) / 50, **dict.fromkeys(fig2, 0.0),
                     prog: 50.0})
    df = pd.DataFrame(rows)
    sv = pmt.Survey(df, weight="w")
    gdp = fig2["Privileges"][1] / ref["privileges_share_of_gdp"]
    res = progressivity(sv, "y", {k: k for k in fig2}, 1.0, gdp=gdp)
    for prog, (pg_without, spent, cb) in fig2.items():
        row = res.loc[prog]
        assert row["pg_with"] == pytest.approx(actual_pg)
        assert row["pg_without"] == pytest.approx(pg_without)
        assert row["spending"] == pytest.approx(spent)
        assert row["cost_benefit"] == pytest.approx(cb, abs=5e-4)
        assert row["share_of_gdp"] == pytest.approx(spent / gdp)
    assert res.loc["Privileges", "share_of_gdp"] == pytest.approx(0.0051)
    assert res.loc["Pensions", "cost_benefit"] > res.loc["Privileges", "cost_benefit"]
    annual = progressivity(sv, "y", {k: k for k in fig2}, 1.0, periods=12)
    np.testing.assert_allclose(annual["spending"], 12 * res["spending"])
    np.testing.assert_allclose(annual["cost_benefit"], res["cost_benefit"])


def test_progressivity_against_independent_computations(sv):
    df = sv.data
    z = float(df["poverty_line"].iloc[0])
    tr = {"pensions": "pension_pp", "sa": "sa_pp"}
    res = progressivity(sv, "ipc", tr, z)
    v = sv.person_weight
    for name, col in tr.items():
        t = df[col].to_numpy()
        r = df["ipc"].to_numpy() - t
        row = res.loc[name]
        assert row["concentration"] == pytest.approx(concentration_steps(t, r, v), rel=1e-9)
        assert row["gini_pre"] == pytest.approx(gini_mad(r, v), rel=1e-9)
        assert row["kakwani"] == pytest.approx(row["concentration"] - row["gini_pre"])
        q1 = pmt.quantile_groups(r, v, 5) == 1
        assert row["q1_benefit_share"] == pytest.approx((v * t)[q1].sum() / (v * t).sum())
        assert row["q1_population_share"] == pytest.approx(v[q1].sum() / v.sum())
        assert row["q1_welfare_share"] == pytest.approx((v * r)[q1].sum() / (v * r).sum())
        gap = np.maximum(z - r, 0) @ v - np.maximum(z - df["ipc"].to_numpy(), 0) @ v
        assert row["d_pg"] == pytest.approx(gap)
        assert row["cost_benefit"] == pytest.approx(gap / (v @ t))
        assert row["progressivity"] == classify_progressivity(row["concentration"],
                                                              row["gini_pre"])
    assert res.loc["sa", "progressivity"] == "highly progressive"  # means-tested
    # ranking by observed welfare, and by welfare without all transfers
    obs = progressivity(sv, "ipc", tr, z, ranking="with")
    assert obs.loc["sa", "concentration"] == pytest.approx(
        concentration_index(df.sa_pp, df.ipc, v))
    pre = progressivity(sv, "ipc", tr, z, ranking="without_all")
    assert pre.loc["sa", "gini_pre"] == pytest.approx(
        gini(df.ipc - df.sa_pp - df.pension_pp, v))
    boot = progressivity(sv, "ipc", tr, z, se="bootstrap", n_replicates=300, seed=2)
    for m in ("concentration", "kakwani", "cost_benefit"):
        ratio = boot[f"se_{m}"] / res[f"se_{m}"]
        assert ratio.between(0.7, 1.4).all(), (m, ratio)
    with pytest.raises(DataError, match="ranking"):
        progressivity(sv, "ipc", tr, z, ranking="pre")
    with pytest.raises(DataError, match="zero for everyone"):
        progressivity(sv, "ipc", {"none": np.zeros(len(df))}, z)


# --- standard errors by simulation ------------------------------------------------------------------
def _population(seed=0):
    """A finite population: 5 strata x 300 PSUs x 20 households, with PSU effects."""
    rng = np.random.default_rng(seed)
    n_str, n_psu, n_hh = 5, 300, 20
    psu = np.repeat(np.arange(n_str * n_psu), n_hh)
    stratum = psu // n_psu
    size = rng.integers(1, 8, psu.size)
    log_y = (9 + 0.3 * stratum + rng.normal(0, 0.35, n_str * n_psu)[psu]
             + rng.normal(0, 0.55, psu.size) - 0.08 * size)
    pre = np.exp(log_y)
    z = float(np.quantile(pre, 0.25))
    pension = np.where(rng.random(psu.size) < 0.25, 0.4 * z, 0.0)
    sa = np.where((pre < 1.2 * z) & (rng.random(psu.size) < 0.6), 0.3 * z, 0.0)
    return pd.DataFrame({"psu": psu, "stratum": stratum, "size": size,
                         "y": pre + pension + sa, "pension": pension, "sa": sa}), z, n_psu


@pytest.mark.slow
def test_standard_errors_match_the_sampling_distribution():
    """Draw PSUs with replacement within strata from a finite population many times: the
    mean linearised (and bootstrap) standard error matches the standard deviation of the
    estimates, for levels, paired changes and progressivity statistics."""
    pop, z, n_psu = _population()
    rng = np.random.default_rng(11)
    m = 30  # sampled PSUs per stratum
    groups = {p: g.index.to_numpy() for p, g in pop.groupby("psu")}
    strata = pop.groupby("psu")["stratum"].first().to_numpy()
    psus = [np.flatnonzero(strata == h) for h in range(strata.max() + 1)]
    tr = {"pension": "pension", "sa": "sa"}
    keep = ["gini", "ge0", "ge1", "ge2", "atkinson_1", "atkinson_2", "p90_p10", "palma"]
    lev, lev_se, ch, ch_se, pr, pr_se, boot, srs_se = [], [], [], [], [], [], [], []
    n_sim, n_boot = 200, 25
    for i in range(n_sim):
        parts = []
        for h, members in enumerate(psus):
            draw = rng.choice(members, m)
            for j, p in enumerate(draw):  # a PSU drawn twice enters twice, as two PSUs
                part = pop.loc[groups[p]].copy()
                part["psu_s"] = h * m + j
                parts.append(part)
        s = pd.concat(parts, ignore_index=True)
        s["w"] = n_psu / m
        sv = pmt.Survey(s, weight="w", size="size", strata="stratum", psu="psu_s")
        r = inequality_measures(sv, "y")
        lev.append(r["estimate"])
        lev_se.append(r["se"])
        ww = with_without(sv, "y", tr, z, measures=["FGT1", "gini", "ge0"], without_all=False)
        ch.append(ww.loc["without sa", "change"])
        ch_se.append(ww.loc["without sa", "se_change"])
        p = progressivity(sv, "y", tr, z)
        pr.append(p.loc["sa", ["concentration", "kakwani", "cost_benefit"]].astype(float))
        pr_se.append(p.loc["sa", ["se_concentration", "se_kakwani",
                                  "se_cost_benefit"]].astype(float).set_axis(pr[-1].index))
        srs = pmt.Survey(s, weight="w", size="size")  # no strata, no clusters
        srs_se.append(inequality_measures(srs, "y").loc["gini", "se"])
        if i < n_boot:
            boot.append(inequality_measures(sv, "y", se="bootstrap", n_replicates=200,
                                            seed=i)["se"])

    def ratio(est, se):
        return pd.concat(se, axis=1).mean(axis=1) / pd.concat(est, axis=1).std(axis=1)

    r_lev = ratio(lev, lev_se)[keep]
    assert r_lev.between(0.85, 1.18).all(), r_lev
    r_boot = (pd.concat(boot, axis=1).mean(axis=1) / pd.concat(lev, axis=1).std(axis=1))[keep]
    assert r_boot.between(0.8, 1.25).all(), r_boot
    r_ch = ratio(ch, ch_se)
    assert r_ch.between(0.85, 1.18).all(), r_ch
    r_pr = ratio(pr, pr_se)
    assert r_pr.between(0.85, 1.18).all(), r_pr
    # the design matters here: the clustered standard error of the Gini is well above the
    # one that treats the sampled households as independent
    assert pd.concat(lev, axis=1).std(axis=1)["gini"] > 1.3 * np.mean(srs_se)
