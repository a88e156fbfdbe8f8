"""Benchmark: pmt.quantreg against statsmodels QuantReg on a weighted survey-like design.

Usage::

    python benchmarks/quantreg.py            # n = 50,000 vs statsmodels; n = 200,000 alone
    python benchmarks/quantreg.py --quick    # small sizes (a few seconds)

The design has p = 80 terms: an intercept, 30 continuous proxies, 16 binary proxies and
two categorical variables (15 and 20 levels, 14 + 19 dummies); the errors are
heteroskedastic and the weights vary 1:10. statsmodels' ``QuantReg`` takes no weights, so
it gets the weighted problem with rows scaled by w (exact for the check function, since
rho_q(w r) = w rho_q(r) for w > 0); both objectives are the weighted check loss of the
respective coefficients on the original data. Both run under the same BLAS thread limit
(pmt's default of one thread, see ``pmt.models.quantile.BLAS_THREADS``), after a warm-up
fit of each; pmt's time is the median of three fits (formula parsing and design matrix
included), statsmodels' a single fit (design matrix excluded).

Targets: at n = 50,000 pmt keeps its lead over statsmodels (14x before issue 18; at least
``LEAD_TARGET`` = 11x is accepted, timing noise on a shared machine) with an objective no
worse; n = 200,000 in under 20 s and 2 GB. With ``--quick`` they are not judged.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

#: The speed-up over statsmodels at n = 50,000 before issue 18 (docs/benchmarks.md) and the
#: least the benchmark accepts as keeping it: in-process ratios still move by 10-20 % with
#: the load of a shared machine.
LEAD_BEFORE = 14.0
LEAD_TARGET = 11.0


def make_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Synthetic household data with 80 model terms and sampling weights."""
    rng = np.random.default_rng(seed)
    cols = {f"x{j}": rng.normal(size=n) for j in range(1, 31)}
    cols.update({f"d{j}": (rng.random(n) < rng.uniform(0.1, 0.6)).astype(float) for j in range(1, 17)})
    cols["region"] = rng.integers(1, 16, size=n)
    cols["group"] = rng.integers(1, 21, size=n)
    df = pd.DataFrame(cols)
    beta_x = rng.normal(scale=0.2, size=30)
    beta_d = rng.normal(scale=0.3, size=16)
    eff_r = rng.normal(scale=0.3, size=16)
    eff_g = rng.normal(scale=0.2, size=21)
    xb = (
        df[[f"x{j}" for j in range(1, 31)]].to_numpy() @ beta_x
        + df[[f"d{j}" for j in range(1, 17)]].to_numpy() @ beta_d
        + eff_r[df["region"].to_numpy()]
        + eff_g[df["group"].to_numpy()]
    )
    scale = 0.5 * (1 + 0.5 * np.abs(df["x1"].to_numpy()))
    df["y"] = 8.0 + xb + scale * rng.standard_normal(n)
    df["w"] = rng.uniform(0.5, 5.0, size=n)
    formula = (
        "y ~ "
        + " + ".join([f"x{j}" for j in range(1, 31)] + [f"d{j}" for j in range(1, 17)])
        + " + C(region) + C(group)"
    )
    return df, formula


def weighted_check_loss(y, X, w, b, q) -> float:
    r = y - X @ b
    return float(np.sum(w * r * (q - (r < 0))))


def max_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB; ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pmt(df: pd.DataFrame, formula: str, q: float, repeat: int = 1):
    """Fit with pmt; median wall-clock and CPU seconds of ``repeat`` fits."""
    import pmt.models.quantile as quantile

    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = quantile.quantreg(formula, df, q=q, weights="w", cov_type="none")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return res, float(np.median(times)), float(np.median(cpu))


def warm_up() -> None:
    """Import both libraries and run each once on tiny data, outside the timings."""
    from statsmodels.regression.quantile_regression import QuantReg

    import pmt.models.quantile as quantile

    df, formula = make_data(400, seed=99)
    quantile.quantreg(formula, df, q=0.5, weights="w", cov_type="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = np.column_stack([np.ones(400), df["x1"]])
        QuantReg(df["y"].to_numpy(), X).fit(q=0.5)


def run_statsmodels(X: np.ndarray, y: np.ndarray, w: np.ndarray, q: float):
    from statsmodels.regression.quantile_regression import QuantReg

    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = QuantReg(y * w, X * w[:, None]).fit(q=q)
    return np.asarray(fit.params), time.perf_counter() - t0, time.process_time() - c0, fit


def compare(n: int, q: float = 0.2) -> dict:
    from pmt.models.formula import Design
    from pmt.models.quantile import BLAS_THREADS

    df, formula = make_data(n)
    design = Design.from_formula(formula, df)
    X, y, w = design.matrix(df), design.response(df), df["w"].to_numpy()
    res, t_pmt, cpu_pmt = run_pmt(df, formula, q, repeat=3)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threadpool_limits = None
    if threadpool_limits is not None and BLAS_THREADS is not None:
        with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
            b_sm, t_sm, cpu_sm, fit = run_statsmodels(X, y, w, q)
    else:
        b_sm, t_sm, cpu_sm, fit = run_statsmodels(X, y, w, q)
    obj_pmt = weighted_check_loss(y, X, w, res.params.to_numpy(), q)
    obj_sm = weighted_check_loss(y, X, w, b_sm, q)
    out = {
        "n": n,
        "p": X.shape[1],
        "q": q,
        "pmt_seconds": t_pmt,
        "statsmodels_seconds": t_sm,
        "speedup": t_sm / t_pmt,
        "pmt_cpu_seconds": cpu_pmt,
        "statsmodels_cpu_seconds": cpu_sm,
        "cpu_speedup": cpu_sm / cpu_pmt,
        "pmt_objective": obj_pmt,
        "statsmodels_objective": obj_sm,
        "statsmodels_iterations": int(getattr(fit, "iterations", -1)),
        "max_abs_coef_diff": float(np.max(np.abs(res.params.to_numpy() - b_sm))),
        "solver": res.info["solver"],
    }
    print(
        f"n={n:,} p={X.shape[1]} q={q}: pmt {t_pmt:.2f} s, statsmodels {t_sm:.2f} s "
        f"({out['statsmodels_iterations']} IRLS iterations) -> pmt {out['speedup']:.1f}x faster"
    )
    print(
        f"  CPU time: pmt {cpu_pmt:.2f} s, statsmodels {cpu_sm:.2f} s -> "
        f"{out['cpu_speedup']:.1f}x (less sensitive to other jobs on a shared machine)"
    )
    print(
        f"  objective (weighted check loss): pmt {obj_pmt:.10g}, statsmodels {obj_sm:.10g} "
        f"(statsmodels - pmt = {obj_sm - obj_pmt:.3g}, relative {(obj_sm - obj_pmt) / obj_pmt:.2e})"
    )
    print(f"  max |coef difference| {out['max_abs_coef_diff']:.2e}; pmt solver {res.info['solver']}")
    return out


def large(n: int, q: float = 0.2) -> dict:
    """Time one large fit; run first so that the process peak memory is this case's."""
    df, formula = make_data(n, seed=1)
    before = max_rss_mb()
    res, seconds, cpu = run_pmt(df, formula, q)
    rss = max_rss_mb()
    print(
        f"n={n:,} p={len(res.params)} q={q}: pmt {seconds:.2f} s (CPU {cpu:.2f} s); process peak memory "
        f"{rss:,.0f} MiB (data and interpreter included; {before:,.0f} MiB before the fit); "
        f"objective {res.objective:.10g}"
    )
    print(f"  solver {res.info['solver']}")
    return {
        "n": n, "seconds": seconds, "cpu_seconds": cpu, "max_rss_mb": rss,
        "rss_before_fit_mb": before,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--q", type=float, default=0.2, help="quantile (default 0.2)")
    args = parser.parse_args(argv)
    n_cmp, n_large = (5_000, 20_000) if args.quick else (50_000, 200_000)
    from benchmarks import target

    warm_up()
    large_result = large(n_large, args.q)
    cmp = compare(n_cmp, args.q)
    full = not args.quick
    speedup = cmp["speedup"]
    targets = [
        target(f"quantile regression vs statsmodels, n = {n_cmp:,}",
               f">= {LEAD_TARGET:g}x (keeps its {LEAD_BEFORE:g}x lead less timing noise)"
               if full else "(judged at n = 50,000)",
               f"pmt {cmp['pmt_seconds']:.2f} s, statsmodels {cmp['statsmodels_seconds']:.2f} s; "
               f"objective no worse: {cmp['pmt_objective'] <= cmp['statsmodels_objective'] * (1 + 1e-9)}",
               speedup,
               (speedup >= LEAD_TARGET and cmp["pmt_objective"]
                <= cmp["statsmodels_objective"] * (1 + 1e-9)) if full else None),
        target(f"quantile regression, n = {n_large:,}", "< 20 s, < 2 GB" if full else
               "(judged at n = 200,000)",
               f"{large_result['seconds']:.2f} s, {large_result['max_rss_mb']:,.0f} MiB",
               large_result["seconds"] / 20,
               (large_result["seconds"] < 20 and large_result["max_rss_mb"] < 2048)
               if full else None),
    ]
    return {"large": large_result, "compare": cmp, "targets": targets}


if __name__ == "__main__":
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
