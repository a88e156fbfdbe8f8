"""bootstrap_targeting (block-grid quantiles, PSU totals outside the cut-off bands) against a
plain per-replicate numpy loop written here: every rule, relative and absolute lines, need
scores, benefits, both units, tied values and integer weights, to 1e-12."""

import warnings

import numpy as np
import pandas as pd
import pytest

import pmt
import pmt.evaluate.bootstrap_cutoffs as cutoffs
from pmt.evaluate import bootstrap_targeting

R = 40
RTOL = 1e-12  # the share tolerance of pmt.weighted_quantile (DESIGN.md section 4)


def tied_survey(seed=0):
    """~3,000 households in strata of 1 (lonely), 2, 3, 5, 8 and 14 PSUs; welfare and
    scores rounded so that many households tie; integer weights and sizes so that
    cumulative weights hit replicate targets exactly."""
    rng = np.random.default_rng(seed)
    psu_per_stratum = [1, 2, 3, 5, 8, 14, 40]
    stratum, psu = [], []
    code = 0
    for h, m in enumerate(psu_per_stratum):
        for _ in range(m):
            k = int(rng.integers(20, 60))
            stratum += [h] * k
            psu += [code] * k
            code += 1
    stratum, psu = np.array(stratum), np.array(psu)
    n = psu.size
    effect = rng.normal(scale=0.4, size=code)[psu]
    x = rng.normal(size=n)
    y = np.round(0.6 * x + effect + rng.normal(scale=0.5, size=n), 1)  # ~40 distinct values
    df = pd.DataFrame({
        "stratum": stratum, "psu": psu, "y": y,
        "weight": rng.integers(1, 6, n) * 10.0,
        "hh_size": rng.integers(1, 8, n),
        "benefit": rng.choice([0.0, 5.0, 10.0], size=n),
    })
    scores = {
        "rounded": np.round(0.6 * x + 0.5 * effect, 1),
        "perfect": y.copy(),  # replicate targets fall exactly on cumulative weights
        "coarse": np.round(x).clip(-1, 1),  # three values: huge tie groups
        "noisy": 0.6 * x + rng.normal(scale=0.7, size=n),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the lonely stratum is intended
        sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    return df, sv, scores


def weighted_quantile(x, w, q):
    """Smallest x whose cumulative weight share is >= q (tolerance as pmt's), NaN-safe."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    k = np.searchsorted(cum, q * cum[-1] * (1 - RTOL), side="left")
    return x[order][min(k, x.size - 1)]


def metrics(poor, sel, v, paid=None):
    """The section-4 metrics from first principles (paid: amounts of the selected)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cov_p = v[poor & sel].sum() / v[poor].sum()
        cov_n = v[~poor & sel].sum() / v[~poor].sum()
        head = v[poor].sum() / v.sum()
        out = [v[sel].sum() / v.sum(), cov_p, cov_n, 1 - cov_p,
               v[~poor & sel].sum() / v[sel].sum(), cov_p - cov_n]
        if paid is None:
            out.append(v[poor & sel].sum() / v[sel].sum() / head)
        else:
            out.append(paid[poor & sel].sum() / paid[sel].sum() / head)
            out.append(paid[~poor & sel].sum() / paid[sel].sum())
    return out


def reference(df, sv, scores, F, *, line=None, share=None, rule="rate", need=(),
              benefits=None, budget=None, unit="person", prob_cut=0.5):
    """Replicate metrics (R, models x metrics) by a plain loop over replicates."""
    y = df["y"].to_numpy()
    person = df["weight"].to_numpy() * df["hh_size"].to_numpy()
    v = person if unit == "person" else df["weight"].to_numpy()
    b = None
    if benefits is not None:
        b = df[benefits].to_numpy() if isinstance(benefits, str) else np.full(len(df), benefits)
    rows = []
    for r in range(F.shape[1]):
        f = F[sv.psu_codes, r]
        w = v * f
        paid = None if b is None else person * b * f
        poor = y < line if line is not None else y <= weighted_quantile(y, w, share)
        row = []
        for name, s in scores.items():
            if rule == "line":
                if name in need:
                    sel = s >= prob_cut
                elif line is not None:
                    sel = s < line
                else:
                    sel = s <= weighted_quantile(y, w, share)
            else:
                s = -s if name in need else s
                if rule == "rate":
                    sel = s <= weighted_quantile(s, w, w[poor].sum() / w.sum())
                else:
                    spend = paid[poor].sum() if budget is None else budget
                    sel = s <= weighted_quantile(s, paid, spend / paid.sum())
            row += metrics(poor, sel, w, paid)
        rows.append(row)
    return np.array(rows)


def prob_scores(scores):
    """Need scores (higher = poorer) for two of the models, as P(poor)-like numbers."""
    out = dict(scores)
    for name in ("rounded", "noisy"):
        out[name] = np.round(1 / (1 + np.exp(2 * scores[name])), 2)
    return out


CASES = [
    dict(share=0.2, rule="rate"),
    dict(share=0.35, rule="line"),
    dict(line=-0.3, rule="line"),
    dict(line=-0.3, rule="rate"),
    dict(share=0.25, rule="budget", benefits="benefit"),
    dict(share=0.25, rule="budget", benefits=7.0),
    dict(line=0.1, rule="budget", benefits="benefit"),
    dict(share=0.2, rule="budget", benefits="benefit", budget=3.0e5),
    dict(share=0.2, rule="budget", benefits=7.0, budget=1e12),  # more than paying everybody
    dict(share=0.2, rule="rate", unit="household", benefits="benefit"),
    dict(line=0.0, rule="line", unit="household"),
]


@pytest.mark.parametrize("need", [False, True])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_replicates_equal_plain_loop(case, need):
    df, sv, scores = tied_survey()
    F = sv.replicate_factors(R, seed=5)
    flags = {"rounded": True, "noisy": True} if need else {}
    sc = prob_scores(scores) if need else scores
    table, reps = bootstrap_targeting(sv, "y", sc, higher_is_poorer=flags or False,
                                      factors=F, return_replicates=True, chunk_size=16,
                                      **case)
    expected = reference(df, sv, sc, F, need=tuple(flags), **case)
    assert reps.shape == expected.shape
    np.testing.assert_allclose(reps.to_numpy(), expected, rtol=1e-12, atol=1e-12)
    full = reference(df, sv, sc, np.ones((sv.n_psu, 1)), need=tuple(flags), **case)[0]
    np.testing.assert_allclose(table["estimate"].to_numpy(), full, rtol=1e-12, atol=1e-12)
    if case.get("budget") == 1e12:  # a budget above the cost of paying everybody
        np.testing.assert_array_equal(expected[:, 0], 1.0)
    elif case["rule"] != "line":  # the cut-offs really move (else the test proves little)
        assert np.std(expected[:, 0]) > 0


def test_same_replicates_for_any_chunking_seed_and_window(monkeypatch):
    """Chunks of 1, 7 or all replicates, the seeded factors, and a search window too narrow
    for most replicates (margin 0: the whole-grid fall-back) or covering everything give
    the same numbers."""
    df, sv, scores = tied_survey(seed=1)
    kw = dict(share=0.2, rule="budget", benefits="benefit", n_replicates=R, seed=9,
              return_replicates=True)
    base = bootstrap_targeting(sv, "y", scores, chunk_size=R, **kw)[1]
    F = sv.replicate_factors(R, seed=9)
    np.testing.assert_allclose(base.to_numpy(), reference(df, sv, scores, F, share=0.2,
                                                          rule="budget", benefits="benefit"),
                               rtol=1e-12, atol=1e-12)
    for chunk in (1, 7):
        other = bootstrap_targeting(sv, "y", scores, chunk_size=chunk, **kw)[1]
        np.testing.assert_allclose(other.to_numpy(), base.to_numpy(), rtol=1e-12, atol=1e-12)
    for margin in (0.0, 1.0):
        monkeypatch.setattr(cutoffs, "_WINDOW_MARGIN", margin)
        other = bootstrap_targeting(sv, "y", scores, chunk_size=13, **kw)[1]
        np.testing.assert_allclose(other.to_numpy(), base.to_numpy(), rtol=1e-12, atol=1e-12)


def test_quantiles_match_definition_with_zero_factors_and_ties():
    """The block-grid search returns each replicate's weighted quantile (the public
    pmt.weighted_quantile of the explicit replicate weights), for targets at 0, inside
    tie groups, exactly on cumulative weights, at 1 and beyond the total."""
    df, sv, _ = tied_survey(seed=2)
    F = sv.replicate_factors(25, seed=3)
    assert (F == 0).any()  # PSUs not drawn: zero-weight households inside the blocks
    y = df["y"].to_numpy()
    v = sv.person_weight
    axis = cutoffs._sorted_axis(y, v, sv.psu_codes, sv.n_psu)
    W = v[:, None] * F[sv.psu_codes]
    for q in (0.0, 1e-9, 0.2, 0.5, 0.999, 1.0):
        got = cutoffs._replicate_quantiles(axis, F, q)
        want = [pmt.weighted_quantile(y, W[:, r], q) for r in range(F.shape[1])]
        np.testing.assert_array_equal(got, want)
    # targets equal to a replicate's cumulative weight share of a tie group's end
    order = np.argsort(y, kind="stable")
    ends = np.flatnonzero(np.diff(y[order]) > 0)[::7]
    for k in ends[:5]:
        q_r = W[order][: k + 1].sum(axis=0) / W.sum(axis=0)
        got = cutoffs._replicate_quantiles(axis, F, q_r)
        np.testing.assert_array_equal(got, y[order][k])
    assert np.all(cutoffs._replicate_quantiles(axis, F, 1.5) == y.max())
