"""Schemes judged by welfare at one budget: hand calculations, known truths, bootstrap.

The hand-calculated cases use six households, line z = 100, person weights v = w x n:

    hh  y    w  n  v  kids  area   poor   gap g=(z-y)/z   excess d=(y-z)/z
    A   50   1  2  2  1     north  yes    0.5             -
    B   80   1  1  1  0     north  yes    0.2             -
    C   90   1  2  2  2     south  yes    0.1             -
    D   120  1  1  1  0     south  no     -               0.2
    E   150  1  2  2  1     east   no     -               0.5
    F   200  2  1  2  0     east   no     -               1.0

Population 10, 5 poor persons: headcount 0.5 (the default coverage), poverty gap
FGT1 = (2 x 0.5 + 0.2 + 2 x 0.1) / 10 = 0.14, FGT2 = (2 x 0.25 + 0.04 + 2 x 0.01) / 10
= 0.056. Default budget = aggregate gap = 2 x 50 + 20 + 2 x 10 = 140, i.e. 14 per person
of the population; at coverage 0.5 the flat benefit is 140 / 5 = 28 per person.

"Perfect" ranks by y (selects A, B, C). "Mis" ranks by m = (130, 70, 60, 95, 150, 200):
C, B, D (4 persons) then A rationed 1 of 2 persons (probability 1/2).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import DataError, PolicyError
from pmt.evaluate.baselines import Categorical, Geographic, RandomSelection, Universal
from pmt.evaluate.welfare_impact import (
    MEASURES,
    NO_TRANSFER,
    crra_ede,
    scheme_transfers,
    welfare_comparison,
)

Y = np.array([50, 80, 90, 120, 150, 200.0])
V = np.array([2, 1, 2, 1, 2, 2.0])


@pytest.fixture()
def small():
    df = pd.DataFrame(
        {
            "y": Y,
            "w": [1, 1, 1, 1, 1, 2.0],
            "n": [2, 1, 2, 1, 2, 1],
            "kids": [1, 0, 2, 0, 1, 0],
            "area": ["north", "north", "south", "south", "east", "east"],
            "mis": [130, 70, 60, 95, 150, 200.0],
        }
    )
    return pmt.Survey(df, weight="w", size="n")


def estimates(table) -> pd.Series:
    return table.set_index(["scheme", "measure"])["estimate"]


def run_small(sv, **kw):
    kw.setdefault("n_replicates", 0)
    return estimates(welfare_comparison({"Perfect": "y", "Mis": "mis"}, sv, "y", 100, **kw))


# --- hand calculations ----------------------------------------------------------------------
def test_flat_transfer_poverty_by_hand(small):
    e = run_small(small)
    # no transfer
    assert e[NO_TRANSFER, "FGT0"] == pytest.approx(0.5)
    assert e[NO_TRANSFER, "FGT1"] == pytest.approx(0.14)
    assert e[NO_TRANSFER, "FGT2"] == pytest.approx(0.056)
    # Perfect: A 78 (still poor, gap 0.22), B 108, C 118 -> FGT0 = 2/10,
    # FGT1 = 2 x 0.22 / 10 = 0.044, FGT2 = 2 x 0.0484 / 10 = 0.00968
    assert e["Perfect", "FGT0"] == pytest.approx(0.2)
    assert e["Perfect", "FGT1"] == pytest.approx(0.044)
    assert e["Perfect", "FGT2"] == pytest.approx(0.00968)
    assert e["Perfect", "FGT1_change"] == pytest.approx(0.044 - 0.14)
    # Mis: A poor either way (50 or 78 with probability 1/2): FGT0 = 0.2;
    # FGT1 = 2 x (0.5 x 0.5 + 0.5 x 0.22) / 10 = 0.072; FGT2 = 2 x (0.5 x 0.25 + 0.5 x 0.0484)/10
    assert e["Mis", "FGT0"] == pytest.approx(0.2)
    assert e["Mis", "FGT1"] == pytest.approx(0.072)
    assert e["Mis", "FGT2"] == pytest.approx(0.02984)
    assert e["Mis", "FGT0_change"] == pytest.approx(-0.3)


def test_errors_and_budget_share_by_hand(small):
    e = run_small(small)
    # Mis selects C, B, D and half of A: poor selected 2 + 1 + 1 = 4 of 5 selected persons
    assert e["Mis", "coverage"] == pytest.approx(0.5)
    assert e["Mis", "exclusion_error"] == pytest.approx(1 / 5)  # half of A's 2 of 5 poor
    assert e["Mis", "inclusion_error"] == pytest.approx(1 / 5)  # D, 1 of 5 selected
    assert e["Mis", "budget_share_poor"] == pytest.approx(4 / 5)  # flat benefit: = persons
    # gap-weighted exclusion: excluded gap mass 2 x 0.5 (A) x 1/2 = 0.5 of the total
    # 2 x 0.5 + 0.2 + 2 x 0.1 = 1.4
    assert e["Mis", "weighted_exclusion_error"] == pytest.approx(0.5 / 1.4)
    # excess-weighted inclusion: D's 1 x 0.2 of the non-poor's 0.2 + 2 x 0.5 + 2 x 1 = 3.2
    assert e["Mis", "weighted_inclusion_error"] == pytest.approx(0.2 / 3.2)
    for m in ("exclusion_error", "inclusion_error", "weighted_exclusion_error",
              "weighted_inclusion_error"):
        assert e["Perfect", m] == pytest.approx(0, abs=1e-15)
    assert e["Perfect", "budget_share_poor"] == pytest.approx(1)


def test_random_and_universal_by_hand(small):
    e = run_small(small)
    # Random: everybody with probability 1/2, 28 per person if selected. Headcount:
    # A poor either way (2), B and C poor only if not selected (1/2 x 1 + 1/2 x 2) -> 3.5/10
    assert e["Random", "FGT0"] == pytest.approx(0.35)
    # gaps: A 0.5 x (0.5 + 0.22) x 2 = 0.72, B 0.5 x 0.2 = 0.1, C 0.5 x 0.1 x 2 = 0.1
    assert e["Random", "FGT1"] == pytest.approx(0.092)
    assert e["Random", "coverage"] == pytest.approx(0.5)
    for m, val in [("exclusion_error", 0.5), ("inclusion_error", 0.5),
                   ("budget_share_poor", 0.5), ("weighted_exclusion_error", 0.5),
                   ("weighted_inclusion_error", 0.5)]:
        assert e["Random", m] == pytest.approx(val)
    # Universal: 14 per person to all: A 64, B 94 still poor -> FGT0 = 3/10,
    # FGT1 = (2 x 0.36 + 0.06) / 10 = 0.078
    assert e["Universal", "coverage"] == 1
    assert e["Universal", "FGT0"] == pytest.approx(0.3)
    assert e["Universal", "FGT1"] == pytest.approx(0.078)
    assert e["Universal", "weighted_exclusion_error"] == 0
    assert e["Universal", "weighted_inclusion_error"] == pytest.approx(1)


def test_categorical_and_geographic_by_hand(small):
    e = run_small(small, baselines={
        "Kids": Categorical("kids"),
        "Kids (all)": Categorical("kids", rationing="all"),
        "Areas": Geographic("area", estimate="in_sample"),
    })
    # Kids: A, C, E with 5/6 each, 28 per person. Headcount: A 2, C 2 x 1/6 -> B 1 ->
    # (2 + 1/3 + 1) / 10
    assert e["Kids", "FGT0"] == pytest.approx((2 + 1 / 3 + 1) / 10)
    # all children households (6 persons) at 140 / 6 per person: A 73.33 poor, B 80 poor,
    # C 113.3 -> FGT0 = 3/10, coverage 0.6
    assert e["Kids (all)", "coverage"] == pytest.approx(0.6)
    assert e["Kids (all)", "FGT0"] == pytest.approx(0.3)
    assert e["Kids (all)", "FGT1"] == pytest.approx((2 * (1 - 73.3333333333 / 100) + 0.2) / 10)
    # areas: north whole (A 78, B 108), south 2/3 (C 118 w.p. 2/3): headcount
    # (2 + 2 x 1/3) / 10
    assert e["Areas", "FGT0"] == pytest.approx((2 + 2 / 3) / 10)
    assert e["Areas", "coverage"] == pytest.approx(0.5)


def test_crra_ede_by_hand():
    # rho = 0: the mean (2x50 + 80 + 2x90 + 120 + 2x150 + 2x200) / 10 = 118
    assert crra_ede(Y, V, rho=0) == pytest.approx(118)
    # rho = 1: the geometric mean
    geo = np.exp((2 * np.log(50) + np.log(80) + 2 * np.log(90) + np.log(120)
                  + 2 * np.log(150) + 2 * np.log(200)) / 10)
    assert crra_ede(Y, V, rho=1) == pytest.approx(geo, rel=1e-12)
    # rho = 2: the harmonic mean 10 / (2/50 + 1/80 + 2/90 + 1/120 + 2/150 + 2/200) = 93.99
    harm = 10 / (2 / 50 + 1 / 80 + 2 / 90 + 1 / 120 + 2 / 150 + 2 / 200)
    assert crra_ede(Y, V) == pytest.approx(harm, rel=1e-12)
    # rho = 3: (sum v y^-2 / sum v)^(-1/2)
    r3 = ((2 / 50**2 + 1 / 80**2 + 2 / 90**2 + 1 / 120**2 + 2 / 150**2 + 2 / 200**2) / 10) ** -0.5
    assert crra_ede(Y, V, rho=3) == pytest.approx(r3, rel=1e-12)
    # equal welfare: W = that welfare whatever rho; more aversion, lower W
    assert crra_ede([7.0, 7.0], rho=5) == pytest.approx(7.0)
    assert crra_ede(Y, V, 0) > crra_ede(Y, V, 1) > crra_ede(Y, V, 2) > crra_ede(Y, V, 3)


def test_social_welfare_in_the_comparison_by_hand(small):
    e = run_small(small)
    harm0 = 10 / (2 / 50 + 1 / 80 + 2 / 90 + 1 / 120 + 2 / 150 + 2 / 200)
    assert e[NO_TRANSFER, "welfare_ede"] == pytest.approx(harm0, rel=1e-12)
    # Perfect: 78, 108, 118, 120, 150, 200
    harm1 = 10 / (2 / 78 + 1 / 108 + 2 / 118 + 1 / 120 + 2 / 150 + 2 / 200)
    assert e["Perfect", "welfare_ede"] == pytest.approx(harm1, rel=1e-12)
    assert e["Perfect", "welfare_ede_change"] == pytest.approx(harm1 - harm0, rel=1e-12)
    # Random: expected utility, each household half with +28 and half without
    mean_u = sum(v * (0.5 / (y + 28) + 0.5 / y) for v, y in zip(V, Y, strict=True)) / 10
    assert e["Random", "welfare_ede"] == pytest.approx(1 / mean_u, rel=1e-12)
    # rho = 1: geometric mean after the universal 14
    e1 = run_small(small, rho=1)
    geo = np.exp(np.sum(V * np.log(Y + 14)) / 10)
    assert e1["Universal", "welfare_ede"] == pytest.approx(geo, rel=1e-12)


def test_topup_by_hand(small):
    e = run_small(small, benefit="topup")
    # Perfect: cost of topping up to t in (90, 120] is 5 t - (100 + 80 + 180) = 140 -> t = 100:
    # every poor household lands on the line, no poverty left
    for m in ("FGT0", "FGT1", "FGT2"):
        assert e["Perfect", m] == 0
    harm = 10 / (5 / 100 + 1 / 120 + 2 / 150 + 2 / 200)
    assert e["Perfect", "welfare_ede"] == pytest.approx(harm, rel=1e-12)
    # Mis (levels): t in (95, 130]: 4 t - (2x60 + 70 + 95) = 140 -> t = 106.25; C gets
    # 46.25, B 36.25, D 11.25 per person; A nothing: FGT0 = 0.2, FGT1 = 2 x 0.5 / 10 = 0.1
    assert e["Mis", "FGT0"] == pytest.approx(0.2)
    assert e["Mis", "FGT1"] == pytest.approx(0.1)
    assert e["Mis", "coverage"] == pytest.approx(0.4)
    # budget to the poor: (2 x 46.25 + 36.25) / 140
    assert e["Mis", "budget_share_poor"] == pytest.approx((92.5 + 36.25) / 140)
    out = welfare_comparison({"Mis": "mis"}, small, "y", 100, benefit="topup", n_replicates=0)
    assert out.attrs["schemes"]["Mis"]["amount"] == pytest.approx(106.25)
    assert out.attrs["schemes"]["Mis"]["amount_is"] == "threshold"
    # baselines keep the flat benefit at the coverage
    assert out.attrs["schemes"]["Random"]["amount"] == pytest.approx(28)


def test_table_layout_and_differences(small):
    out = welfare_comparison({"Mis": "mis", "ols": "y"}, small, "y", 100, n_replicates=0)
    assert list(out.columns) == ["scheme", "kind", "measure", "estimate", "se", "lower",
                                 "upper", "n_valid"]
    assert out.attrs["reference"] == "ols"  # any case of "OLS" is the default reference
    e = estimates(out)
    for m in MEASURES:
        assert e["Mis - ols", m] == pytest.approx(e["Mis", m] - e["ols", m], nan_ok=True)
    assert set(out.loc[out.scheme == NO_TRANSFER, "measure"]) == {"FGT0", "FGT1", "FGT2",
                                                                  "welfare_ede"}
    assert set(out.kind) == {"no transfer", "model", "baseline", "difference"}
    assert "ols - ols" not in set(out.scheme)
    # another reference, and no replicates: no intervals
    out = welfare_comparison({"Mis": "mis"}, small, "y", 100, n_replicates=0,
                             reference="Universal")
    assert "Mis - Universal" in set(out.scheme) and out["se"].isna().all()


# --- simulated data: known truths -------------------------------------------------------------
@pytest.fixture(scope="module")
def hbs():
    df = pmt.datasets.synthetic_hbs(n_households=3000, seed=4)
    rng = np.random.default_rng(0)
    df["noisy"] = df["pcc"] * np.exp(rng.normal(0, 0.5, len(df)))  # a model in levels
    df["fold"] = rng.integers(0, 5, len(df))
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    return df, sv, float(df["poverty_line"].iloc[0])


ALL_BASELINES = {
    "Random": RandomSelection(),
    "Universal": Universal(),
    "Young children": Categorical("n_children_0_5"),
    "Young children (all)": Categorical("n_children_0_5", rationing="all"),
    "Regions": Geographic("region", folds="fold"),
    "Regions (in sample)": Geographic("region", estimate="in_sample"),
}


@pytest.mark.parametrize("benefit", ["flat", "topup"])
def test_budget_is_spent_exactly(hbs, benefit):
    df, sv, z = hbs
    for budget in (None, 1.5e9):
        tr = scheme_transfers({"Model": "noisy", "Perfect": "pcc"}, sv, "pcc", z,
                              budget=budget, benefit=benefit, baselines=ALL_BASELINES)
        spent = tr.xs("expected_benefit", axis=1, level="field").mul(sv.person_weight, axis=0)
        target = tr.attrs["budget"]
        if budget is None:  # the aggregate poverty gap
            target_gap = np.sum(sv.person_weight * np.maximum(z - df["pcc"], 0))
            assert target == pytest.approx(target_gap, rel=1e-12)
        np.testing.assert_allclose(spent.sum(), target, rtol=1e-9)
        pi = tr.xs("probability", axis=1, level="field")
        assert ((pi >= 0) & (pi <= 1)).all().all()
        np.testing.assert_array_equal(pi["Universal"], 1.0)


def test_perfect_beats_random_and_universal_covers_everybody(hbs):
    df, sv, z = hbs
    out = welfare_comparison({"Model": "noisy", "Perfect": "pcc"}, sv, "pcc", z,
                             baselines=ALL_BASELINES, reference="Perfect", n_replicates=100)
    t = out.set_index(["scheme", "measure"])
    e = t["estimate"]
    assert e["Perfect", "budget_share_poor"] == pytest.approx(1)
    # paired differences from perfect targeting: poverty falls less and welfare gains less
    # under random selection, with intervals excluding zero
    for m in ("FGT0_change", "FGT1_change", "FGT2_change"):
        assert t.loc[("Random - Perfect", m), "lower"] > 0
    assert t.loc[("Random - Perfect", "welfare_ede_change"), "upper"] < 0
    # the noisy model lies between perfect targeting and a lottery
    assert e["Perfect", "FGT1_change"] < e["Model", "FGT1_change"] < e["Random", "FGT1_change"]
    assert e["Universal", "coverage"] == 1
    assert t.loc[("Universal", "coverage"), ["lower", "upper"]].tolist() == [1, 1]
    # a lottery reaches the poor in proportion: budget share = coverage = weighted errors
    c = out.attrs["coverage"]
    assert e["Random", "budget_share_poor"] == pytest.approx(c)
    assert e["Random", "weighted_inclusion_error"] == pytest.approx(c)
    assert e["Random", "weighted_exclusion_error"] == pytest.approx(1 - c)


def test_every_replicate_selects_the_same_coverage(hbs):
    # cut-offs, rationing and category shares are re-solved in each replicate, so targeted
    # schemes cover exactly c in every one of them
    df, sv, z = hbs
    out, reps = welfare_comparison({"Model": "noisy"}, sv, "pcc", z, baselines=ALL_BASELINES,
                                   n_replicates=30, return_replicates=True)
    c = out.attrs["coverage"]
    for name in ("Model", "Random", "Young children", "Regions", "Regions (in sample)"):
        np.testing.assert_allclose(reps[(name, "coverage")], c, rtol=1e-9)
    np.testing.assert_allclose(reps[("Universal", "coverage")], 1.0, rtol=1e-12)
    assert reps[("Young children (all)", "coverage")].std() > 0  # its own coverage moves


def test_replicate_equals_the_comparison_on_the_replicate_sample(hbs):
    # replicate r is the full-sample computation on the households of the drawn PSUs with
    # weights w x factor (at the same coverage and budget per person)
    df, sv, z = hbs
    F = sv.replicate_factors(3, seed=9)
    base = {k: ALL_BASELINES[k] for k in ("Random", "Universal", "Young children",
                                          "Young children (all)", "Regions",
                                          "Regions (in sample)")}
    out, reps = welfare_comparison({"Model": "noisy"}, sv, "pcc", z, baselines=base,
                                   factors=F, return_replicates=True)
    pop = sv.person_weight.sum()
    for r in range(3):
        f = F[sv.psu_codes, r]
        d = df.loc[f > 0].assign(weight=lambda x, f=f: x["weight"] * f[f > 0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # strata left with one PSU
            svr = pmt.Survey(d, weight="weight", size="hh_size", strata="stratum", psu="psu")
        budget_r = out.attrs["budget"] / pop * svr.person_weight.sum()
        again = estimates(welfare_comparison({"Model": "noisy"}, svr, "pcc", z,
                                             share=out.attrs["coverage"], budget=budget_r,
                                             baselines=base, n_replicates=0))
        row = reps.iloc[r]
        for key in row.index:
            np.testing.assert_allclose(row[key], again[key], rtol=1e-9, atol=1e-12,
                                       err_msg=str(key))


def test_poverty_and_welfare_match_pmt_on_the_transferred_welfare(hbs):
    # with whole-household selections (whole category, universal, top-up) the measures are
    # pmt.fgt and crra_ede of y + b
    df, sv, z = hbs
    v = sv.person_weight
    kw = dict(baselines={"Universal": Universal(),
                         "Kids": Categorical("n_children_0_5", rationing="all")})
    for benefit, names in (("flat", ["Universal", "Kids"]), ("topup", ["Perfect"])):
        tr = scheme_transfers({"Perfect": "pcc"}, sv, "pcc", z, benefit=benefit, **kw)
        e = estimates(welfare_comparison({"Perfect": "pcc"}, sv, "pcc", z, benefit=benefit,
                                         n_replicates=0, **kw))
        for name in names:
            pi = tr[(name, "probability")].to_numpy()
            assert set(np.unique(pi)) <= {0.0, 1.0}
            after = df["pcc"].to_numpy() + tr[(name, "expected_benefit")].to_numpy()
            if benefit == "topup":  # landing on the line up to rounding counts as reaching it
                after = np.where(np.isclose(after, z, rtol=1e-12, atol=0), np.maximum(after, z),
                                 after)
            for a in (0, 1, 2):
                assert e[name, f"FGT{a}"] == pytest.approx(pmt.fgt(after, z, v, alpha=a),
                                                           rel=1e-10, abs=1e-15)
            assert e[name, "welfare_ede"] == pytest.approx(crra_ede(after, v, 2.0), rel=1e-10)
            assert e[name, "coverage"] == pytest.approx(np.sum(v * pi) / v.sum())


def test_random_expectation_is_the_average_lottery(hbs):
    # the analytic random baseline equals the mean over many seeded lotteries
    df, sv, z = hbs
    draws = {f"lottery {s}": RandomSelection(seed=s) for s in range(150)}
    e = estimates(welfare_comparison({}, sv, "pcc", z, share=0.3,
                                     baselines={"Random": RandomSelection(), **draws},
                                     n_replicates=0))
    for m in ("FGT0", "FGT1", "FGT2", "budget_share_poor", "welfare_ede"):
        mc = np.array([e[name, m] for name in draws])
        se = mc.std(ddof=1) / np.sqrt(mc.size)
        assert abs(mc.mean() - e["Random", m]) < 4 * se + 1e-12, m


def test_reproducible_with_a_seed(hbs):
    df, sv, z = hbs
    kw = dict(baselines=ALL_BASELINES, n_replicates=20)
    a = welfare_comparison({"Model": "noisy"}, sv, "pcc", z, seed=3, **kw)
    b = welfare_comparison({"Model": "noisy"}, sv, "pcc", z, seed=3, **kw)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = welfare_comparison({"Model": "noisy"}, sv, "pcc", z, seed=4, **kw)
    assert not np.allclose(a["se"], c["se"], equal_nan=True)
    # the factors of that seed give the same table: shared with the other bootstraps
    d = welfare_comparison({"Model": "noisy"}, sv, "pcc", z, baselines=ALL_BASELINES,
                           factors=sv.replicate_factors(20, 3))
    pd.testing.assert_frame_equal(a.drop(columns=[]), d, check_exact=True)


# --- mistakes -----------------------------------------------------------------------------------
def test_mistakes_name_the_argument_and_the_fix(small):
    def run(**kw):
        args = dict(rankings={"Mis": "mis"}, survey=small, welfare="y", line=100,
                    n_replicates=0)
        args.update(kw)
        return welfare_comparison(**args)

    with pytest.raises(DataError, match="`reference` 'OLS' is not one of the schemes"):
        run(reference="OLS")
    with pytest.raises(PolicyError, match="`benefit` must be 'flat'"):
        run(benefit="cash")
    with pytest.raises(PolicyError, match="not on the scale of welfare"):
        run(rankings={"in hundreds": small.data["mis"] / 100}, benefit="topup")
    with pytest.raises(PolicyError, match="`budget` must be a positive amount"):
        run(budget=-5)
    with pytest.raises(PolicyError, match="`share` must be a population share"):
        run(share=0)
    with pytest.raises(DataError, match="`rho` .* must be a number >= 0"):
        run(rho=-1)
    with pytest.raises(DataError, match="needs positive `welfare`.*row 0"):
        run(welfare=np.r_[0.0, Y[1:]])
    with pytest.raises(DataError, match="name both a ranking and a baseline"):
        run(rankings={"Random": "mis"})
    with pytest.raises(DataError, match="reserved"):
        run(rankings={NO_TRANSFER: "mis"})
    with pytest.raises(DataError, match="`welfare` column 'pcc' is not in the survey"):
        run(welfare="pcc")
    with pytest.raises(DataError, match="poverty line `line` must be positive"):
        run(line=0)
    with pytest.raises(PolicyError, match="not a baseline"):
        run(baselines={"x": "random"})
    with pytest.raises(DataError, match="`n_replicates` must be a whole number"):
        run(n_replicates=2.5)
    with pytest.raises(DataError, match="`rankings\\['Mis'\\]` has 1 missing"):
        run(rankings={"Mis": np.r_[np.nan, Y[1:]]})
    with pytest.raises(DataError, match="`survey` must be a pmt.Survey"):
        run(survey=small.data)
    # a need score cannot be topped up
    with pytest.raises(PolicyError, match="rises with need"):
        run(benefit="topup", higher_is_poorer=True)


# --- intervals by simulation --------------------------------------------------------------------
def _population_and_samples(n_samples, psu_per_stratum=8):
    pop = pmt.datasets.synthetic_hbs(n_households=20_000, seed=11)
    rng = np.random.default_rng(3)
    pop["score"] = np.log(pop["pcc"]) + rng.normal(0, 0.5, len(pop))  # a fixed model
    psus = pop.groupby("stratum")["psu"].unique()
    n_psu = {h: len(p) for h, p in psus.items()}
    for k in range(n_samples):
        r = np.random.default_rng(1000 + k)
        chosen = np.concatenate([r.choice(p, psu_per_stratum, replace=False)
                                 for p in psus])
        s = pop[pop["psu"].isin(chosen)].copy()
        s["weight"] = s["weight"] * s["stratum"].map(lambda h: n_psu[h] / psu_per_stratum)
        yield pop, s


@pytest.mark.slow
def test_intervals_cover_the_population_value():
    # 150 two-stage samples (8 PSUs per stratum without replacement, about 2,200
    # households) from a 20,000-household population. Policy fixed: coverage 0.2 and
    # half the population's poverty gap per person as the budget. The area table is
    # imported (the population's own rates), so each scheme's population value is known.
    # 90 % intervals should cover it about 90 % of the time (Monte Carlo s.e. 0.025).
    measures = ["FGT0_change", "FGT1_change", "FGT2_change", "welfare_ede_change",
                "budget_share_poor", "weighted_exclusion_error"]
    truth = None
    hits = []
    for pop, s in _population_and_samples(150):
        if truth is None:
            psv = pmt.Survey(pop, weight="weight", size="hh_size", strata="stratum", psu="psu")
            v = psv.person_weight
            z = float(pop["poverty_line"].iloc[0])
            beta = 0.5 * np.sum(v * np.maximum(z - pop["pcc"], 0)) / v.sum()
            d = pop.assign(pv=v * (pop["pcc"] < z), pp=v).groupby("region")[["pv", "pp"]].sum()
            base = {"Random": RandomSelection(), "Universal": Universal(),
                    "Kids": Categorical("n_children_0_5"),
                    "Regions": Geographic("region", rates=(d["pv"] / d["pp"]).to_dict())}
            kw = dict(share=0.2, baselines=base)
            truth = estimates(welfare_comparison({"Model": "score"}, psv, "pcc", z,
                                                 budget=beta * v.sum(), n_replicates=0, **kw))
        sv = pmt.Survey(s, weight="weight", size="hh_size", strata="stratum", psu="psu")
        out = welfare_comparison({"Model": "score"}, sv, "pcc", z,
                                 budget=beta * sv.person_weight.sum(), n_replicates=100,
                                 seed=len(hits), level=0.9, **kw).set_index(["scheme", "measure"])
        keys = [(sc, m) for sc in ("Model", "Regions", "Random - Model", "Universal - Model",
                                   "Kids - Model", "Regions - Model") for m in measures]
        sel = out.loc[keys]
        tr = truth.reindex(sel.index)
        hits.append(((sel["lower"] <= tr) & (tr <= sel["upper"])).to_numpy())
    rate = pd.Series(np.mean(hits, axis=0), index=pd.MultiIndex.from_tuples(keys))
    assert rate.between(0.82, 0.97).all(), rate[~rate.between(0.82, 0.97)]
    assert 0.87 <= rate.mean() <= 0.94, rate.mean()


@pytest.mark.slow
def test_in_sample_area_rates_flatter_geographic_targeting():
    # known truth: the population value of a programme ranking regions by one sample's
    # headcounts. In-sample estimates overstate it on average; cross-fitted ones do not.
    rows = []
    for pop, s in _population_and_samples(40):
        psv = pmt.Survey(pop, weight="weight", size="hh_size", strata="stratum", psu="psu")
        v = psv.person_weight
        z = float(pop["poverty_line"].iloc[0])
        beta = 0.5 * np.sum(v * np.maximum(z - pop["pcc"], 0)) / v.sum()
        sv = pmt.Survey(s, weight="weight", size="hh_size", strata="stratum", psu="psu")
        est = estimates(welfare_comparison(
            {}, sv, "pcc", z, share=0.2, budget=beta * sv.person_weight.sum(),
            baselines={"in": Geographic("region", estimate="in_sample"),
                       "cf": Geographic("region", seed=len(rows))}, n_replicates=0))
        d = s.assign(pv=sv.person_weight * (s["pcc"] < z), pp=sv.person_weight)
        d = d.groupby("region")[["pv", "pp"]].sum()
        real = estimates(welfare_comparison(
            {}, psv, "pcc", z, share=0.2, budget=beta * v.sum(), n_replicates=0,
            baselines={"g": Geographic("region", rates=(d["pv"] / d["pp"]).to_dict())}))
        rows.append([est["in", "budget_share_poor"], est["cf", "budget_share_poor"],
                     real["g", "budget_share_poor"]])
    in_sample, crossfit, population = np.mean(rows, axis=0)
    assert in_sample > population + 0.015
    assert crossfit < population


def test_need_scores_and_cross_fit_orientation(hbs):
    # P(poor)-like need score (higher = poorer) ranks like the welfare it decreases with
    df, sv, z = hbs
    need = -np.log(df["noisy"])
    a = estimates(welfare_comparison({"M": "noisy"}, sv, "pcc", z, n_replicates=0))
    b = estimates(welfare_comparison({"M": need}, sv, "pcc", z, n_replicates=0,
                                     higher_is_poorer=True))
    pd.testing.assert_series_equal(a, b)
    # a DataFrame from cross_fit carries each model's orientation and the basis
    frame = pd.DataFrame({"M": need, "other": df["noisy"]}, index=df.index)
    frame.attrs.update(basis="out_of_sample", higher_is_poorer={"M": True, "other": False,
                                                                "dropped": True})
    out = welfare_comparison(frame, sv, "pcc", z, n_replicates=0)
    c = estimates(out)
    assert c["M", "FGT1"] == pytest.approx(a["M", "FGT1"], rel=1e-12)
    assert out.attrs["basis"] == "out_of_sample"
    with pytest.raises(DataError, match="`higher_is_poorer` names \\['x'\\]"):
        welfare_comparison({"M": "noisy"}, sv, "pcc", z, n_replicates=0,
                           higher_is_poorer={"x": True})
