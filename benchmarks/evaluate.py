"""Targeting-evaluation timings: vectorised PSU bootstrap, error curve, naive baseline.

``python -m benchmarks evaluate [--quick]`` on 50,000 households (10,000 with --quick) of
``pmt.datasets.synthetic_hbs`` (a simulated stratified two-stage design if the datasets
module is not available):

1. 1,000 PSU bootstrap replicates of the full targeting-metric set for 5 models with one
   shared factor matrix (``pmt.evaluate.bootstrap_metrics``), target < 10 s; also by
   region, and with the relative line and rate cut-offs re-estimated in every replicate
   (``bootstrap_targeting``);
2. ``bootstrap_targeting`` (20 % relative line, "rate" rule, 1,000 replicates x 5 models)
   against the straightforward numpy loop over replicates (``loop_targeting`` below: the
   replicate weights, one cumulative sum per model and replicate), same factors, replicate
   values checked equal to 1e-12; target >= 5x;
3. the error trade-off curve over every cut-off (``error_curve``), target < 0.2 s;
4. the naive approach: each replicate resamples PSUs into a new DataFrame (pandas concat)
   and recomputes the metrics with pandas; a few replicates are timed and the time is
   extrapolated to 1,000. The speed-up ratio is printed (target >= 20x).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

N_MODELS = 5


def load_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Survey data with weight, hh_size, stratum, psu, log_pcc and numeric proxies."""
    try:
        from pmt.datasets import synthetic_hbs

        df = synthetic_hbs(n_households=n, seed=seed)
        return df, "pmt.datasets.synthetic_hbs"
    except ImportError:
        pass
    rng = np.random.default_rng(seed)
    hh_per_psu = 10
    n_psu = n // hh_per_psu
    stratum = np.repeat(rng.integers(0, 28, n_psu), hh_per_psu)
    psu = np.repeat(np.arange(n_psu), hh_per_psu)
    u = np.repeat(rng.normal(scale=0.3, size=n_psu), hh_per_psu)
    X = rng.normal(size=(n, 8))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(8)])
    df["log_pcc"] = 12 + X @ rng.normal(scale=0.2, size=8) + u + rng.normal(scale=0.4, size=n)
    df["stratum"], df["psu"] = stratum, psu
    df["weight"] = rng.uniform(50, 500, n)
    df["hh_size"] = rng.integers(1, 9, n)
    return df, "simulated two-stage design (pmt.datasets not available)"


def model_scores(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Five least-squares PMT scores on nested sets of numeric proxies (fit not timed)."""
    y = df["log_pcc"].to_numpy(dtype=float)
    numeric = [
        c for c in df.columns
        if c not in ("log_pcc", "pcc", "consumption", "poor", "weight", "psu", "stratum", "hh_id",
                     "income", "poverty_line", "social_assistance")
        and not c.startswith("inc_")
        and pd.api.types.is_numeric_dtype(df[c])
        and df[c].notna().all()
    ][:25]
    scores = {}
    for j in range(N_MODELS):
        cols = numeric[: max(2, (j + 1) * len(numeric) // N_MODELS)]
        X = np.column_stack([np.ones(len(df)), df[cols].to_numpy(dtype=float)])
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        scores[f"model{j + 1}_{len(cols)}vars"] = X @ beta
    return scores


def psu_rows(df: pd.DataFrame) -> dict:
    """{stratum: [row positions of each of its PSUs]}, computed once (not timed)."""
    out: dict = {}
    for (h, _), idx in df.groupby(["stratum", "psu"], sort=True).indices.items():
        out.setdefault(h, []).append(idx)
    return out


def naive_replicate(df: pd.DataFrame, rows: dict, rng: np.random.Generator,
                    models: list[str]) -> dict:
    """One Rao-Wu replicate the usual way: resample PSUs into a DataFrame, recompute metrics
    with pandas."""
    take, scale = [], []
    for _, psus in rows.items():
        m = len(psus)
        if m < 2:
            take.extend(psus)
            scale.extend(np.ones(len(p)) for p in psus)
            continue
        for j in rng.integers(0, m, size=m - 1):
            take.append(psus[j])
            scale.append(np.full(len(psus[j]), m / (m - 1)))
    rep = df.iloc[np.concatenate(take)].copy()
    rep["weight"] = rep["weight"] * np.concatenate(scale)
    v = rep["weight"] * rep["hh_size"]
    out = {}
    for name in models:
        poor, sel = rep["poor_"], rep[name]
        vp, vs = (v * poor).sum(), (v * sel).sum()
        vps = (v * poor * sel).sum()
        vn = v.sum() - vp
        vns = vs - vps
        out[name] = {
            "coverage": vs / v.sum(),
            "coverage_poor": vps / vp,
            "coverage_nonpoor": vns / vn,
            "exclusion_error": 1 - vps / vp,
            "inclusion_error": vns / vs,
            "targeting_differential": vps / vp - vns / vn,
            "cgh": (vps / vs) / (vp / v.sum()),
        }
    return out


def loop_targeting(y: np.ndarray, scores: dict[str, np.ndarray], v: np.ndarray,
                   psu: np.ndarray, factors: np.ndarray, share: float) -> np.ndarray:
    """The peer of ``bootstrap_targeting(..., share=share, rule="rate")``: a plain loop over
    replicates, shape (R, models x 7 metrics) in the column order of its replicates.

    In replicate r the household weights are v * factor[psu, r]; the poor are y <= the
    replicate's weighted quantile of y at ``share``; each model selects score <= the
    replicate's weighted quantile of the score at the replicate's poverty rate (DESIGN.md
    section 4: the smallest x whose cumulative share is >= q, share tolerance 1e-12 as
    pmt.weighted_quantile). Sort orders are computed once, outside the loop.
    """
    rtol = 1e-12
    orders = {k: np.argsort(s, kind="stable") for k, s in scores.items()}
    y_order = np.argsort(y, kind="stable")
    out = np.empty((factors.shape[1], 7 * len(scores)))
    for r in range(factors.shape[1]):
        w = v * factors[psu, r]
        total = w.sum()
        cum = np.cumsum(w[y_order])
        k = min(np.searchsorted(cum, share * cum[-1] * (1 - rtol)), y.size - 1)
        poor = y <= y[y_order[k]]
        wp = w[poor].sum()
        for j, (name, s) in enumerate(scores.items()):
            order = orders[name]
            cum = np.cumsum(w[order])
            k = min(np.searchsorted(cum, wp / total * cum[-1] * (1 - rtol)), s.size - 1)
            sel = s <= s[order[k]]
            ws = w[sel].sum()
            wps = w[sel & poor].sum()
            wn, wns = total - wp, ws - wps
            out[r, 7 * j:7 * j + 7] = [ws / total, wps / wp, wns / wn, 1 - wps / wp, wns / ws,
                                       wps / wp - wns / wn, (wps / ws) / (wp / total)]
    return out


def targeting_against_loop(sv, y: np.ndarray, scores: dict[str, np.ndarray], R: int) -> dict:
    """Time bootstrap_targeting against ``loop_targeting`` on the same factors; check the
    replicate values agree to 1e-12."""
    from pmt.evaluate import bootstrap_targeting

    factors = sv.replicate_factors(R, seed=0)
    bootstrap_targeting(sv, y, scores, share=0.2, rule="rate", factors=factors[:, :10])  # warm-up
    t0 = time.perf_counter()
    _, reps = bootstrap_targeting(sv, y, scores, share=0.2, rule="rate", factors=factors,
                                  return_replicates=True)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    peer = loop_targeting(y, scores, sv.person_weight, sv.psu_codes, factors, 0.2)
    t_loop = time.perf_counter() - t0
    diff = float(np.max(np.abs(reps.to_numpy() - peer)))
    ratio = t_loop / t_fast
    print(f"bootstrap_targeting, 20 % line re-estimated + rate cut-offs, {R} replicates x "
          f"{len(scores)} models: {t_fast:.2f} s; plain numpy loop over replicates "
          f"{t_loop:.2f} s; ratio {ratio:.1f}x (target >= 5x); max |difference| of the "
          f"{peer.size:,} replicate values {diff:.1e} (must be <= 1e-12)")
    if not diff <= 1e-12:
        raise AssertionError(f"bootstrap_targeting differs from the loop by {diff:.2e}")
    return {"bootstrap_recut_s": t_fast, "loop_recut_s": t_loop, "recut_ratio": ratio,
            "recut_max_diff": diff}


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    import pmt
    from pmt.evaluate import bootstrap_metrics, error_curve, select_by

    n = 10_000 if quick else 50_000
    R = 1000
    df, source = load_data(n)
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    v = sv.person_weight
    print(f"data: {source}; {len(df):,} households, {sv.n_psu:,} PSUs, "
          f"{int(sv.strata_codes.max()) + 1} strata")
    y = df["log_pcc"].to_numpy(dtype=float)
    poor = y <= pmt.weighted_quantile(y, v, 0.2)
    scores = model_scores(df)
    selected = {k: select_by(s, share=0.2, weights=v, rule="rate").to_numpy()
                for k, s in scores.items()}

    # warm-up (imports, first sparse product), not timed
    bootstrap_metrics(sv, poor, selected, n_replicates=10, seed=0)
    t0 = time.perf_counter()
    table = bootstrap_metrics(sv, poor, selected, n_replicates=R, seed=0,
                              reference=next(iter(selected)))
    t_boot = time.perf_counter() - t0
    n_stats = table.shape[0]
    print(f"vectorised bootstrap: {R} replicates x {N_MODELS} models x 7 metrics "
          f"(+ {N_MODELS - 1} paired differences, {n_stats} statistics): {t_boot:.2f} s "
          f"(target < 10 s)")
    t0 = time.perf_counter()
    bootstrap_metrics(sv, poor, selected, groups=["region"] if "region" in df else None,
                      n_replicates=R, seed=0)
    t_groups = time.perf_counter() - t0
    print(f"  same with every metric also by region: {t_groups:.2f} s")
    recut = targeting_against_loop(sv, y, scores, R)

    first = list(scores.values())[-1]  # the richest model: most distinct scores
    error_curve(poor[:100], first[:100], v[:100])  # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        curve = error_curve(poor, first, v)
        times.append(time.perf_counter() - t0)
    t_curve = min(times)
    print(f"error curve over all {len(curve) - 1:,} cut-offs (AUC {curve.attrs['auc']:.3f}): "
          f"{t_curve * 1000:.1f} ms (best of 5; target < 200 ms)")

    naive_df = df[["stratum", "psu", "weight", "hh_size"]].copy()
    naive_df["poor_"] = poor.astype(float)
    for k, s in selected.items():
        naive_df[k] = s.astype(float)
    rows = psu_rows(naive_df)
    rng = np.random.default_rng(0)
    k_naive = 10 if quick else 20
    t0 = time.perf_counter()
    for _ in range(k_naive):
        naive_replicate(naive_df, rows, rng, list(selected))
    t_naive = (time.perf_counter() - t0) / k_naive * R
    print(f"naive (resample PSUs into DataFrames, pandas metrics): {k_naive} replicates timed, "
          f"extrapolated to {R}: {t_naive:.1f} s")
    ratio = t_naive / t_boot
    print(f"speed-up of the vectorised bootstrap over the naive loop: {ratio:.0f}x "
          f"(target >= 20x)")
    from benchmarks import target

    size = f"{len(df):,} households"
    targets = [
        target(f"PSU bootstrap, {R:,} replicates x {N_MODELS} models, {size}", "< 10 s",
               f"{t_boot:.2f} s", t_boot / 10, t_boot < 10),
        target("bootstrap vs naive pandas loop", ">= 20x", f"{t_boot:.2f} s vs {t_naive:.1f} s",
               ratio, ratio >= 20),
        target(f"bootstrap_targeting vs numpy loop, {size}", ">= 5x, equal to 1e-12",
               f"{recut['bootstrap_recut_s']:.2f} s vs {recut['loop_recut_s']:.2f} s; "
               f"diff {recut['recut_max_diff']:.1e}", recut["recut_ratio"],
               recut["recut_ratio"] >= 5 and recut["recut_max_diff"] <= 1e-12),
        target(f"error curve, {size}", "< 0.2 s", f"{t_curve * 1000:.1f} ms", t_curve / 0.2,
               t_curve < 0.2),
    ]
    return {
        "bootstrap_s": t_boot,
        "bootstrap_by_region_s": t_groups,
        **recut,
        "curve_s": t_curve,
        "naive_s": t_naive,
        "speedup": ratio,
        "targets": targets,
    }


if __name__ == "__main__":
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
