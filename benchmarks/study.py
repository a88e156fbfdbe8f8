"""The whole model-selection study: 20 specifications cross-validated, the best two compared.

``python -m benchmarks study [--quick]`` runs, on ``pmt.datasets.synthetic_hbs(50_000)``
(--quick: 5,000 households and 3 of the formulas, a smoke run that judges no target),
the specification search of a Brown, Ravallion and
van de Walle (2018)-style paper:

1. 10 formulas built from the blocks of proxies of ``pmt.datasets.PMT_FORMULA`` (the full
   set; the full set without each one of its seven blocks; location and demographics
   only; location, demographics and housing only; see ``FORMULAS``) x {OLS, quantile
   regression at q = 0.2}, all weighted by the household weight = 20 specifications;
2. ``pmt.cross_validate`` of the 20 with 5-fold PSU cross-validation (whole PSUs, balanced
   within strata) and two relative lines (the poorest 20 % and 40 %), rate rule;
3. ``pmt.compare`` of the best two (lowest out-of-sample exclusion error at the 20 % line)
   with 200 paired PSU-bootstrap replicates (cross-fitted again on the same folds).

Targets (issue 18): the study (steps 2-3; data generation excluded) in at most 20 s on a
2-core machine near idle (stretch 10 s), and peak memory under 1.2 GB.

The study runs in a **child process** (a fresh interpreter, ``python -m benchmarks.study
--child``): its peak memory is the child's own peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` read at its end: everything the process
held, Python objects, numpy buffers and the interpreter with its imported libraries, about
0.2 GB of it), so earlier benchmarks in the parent cannot inflate it. The parent checks it
against its ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the largest of its finished
children). The child also runs a fixed numpy calibration workload (``calibration``: matrix
products, a Cholesky solve and sorts with BLAS limited to one thread, about 1 s on the
2-core reference machine) and the study's wall time is printed as a multiple of it, so the
figure can be compared across machines.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks import target

TARGET_S = 20.0
STRETCH_S = 10.0
TARGET_PEAK_MB = 1200.0

# The blocks of pmt.datasets.PMT_FORMULA's proxies (every term of it is in exactly one).
BLOCKS: dict[str, list[str]] = {
    "location": ["C(region)"],
    "demographics": ["C(hh_size_cat)", "share_children_0_2", "share_children_3_5",
                     "share_children_6_14", "any_divorced", "any_disabled"],
    "education": ["share_primary_edu", "share_tertiary_edu"],
    "housing": ["C(rooms_cat)", "C(heating)", "C(cooking_fuel)", "improved_latrine"],
    "land": ["land_sotka", "land_sotka_sq"],
    "assets": ["satellite", "oven", "fridge", "vacuum", "air_conditioner", "sewing_machine",
               "tv", "computer", "bicycle", "car", "share_mobile"],
    "work_transfers": ["share_working", "old_age_pension", "remittances"],
}


def _formula(blocks: list[str]) -> str:
    return "log_pcc ~ " + " + ".join(t for b in blocks for t in BLOCKS[b])


ALL = list(BLOCKS)
#: name -> formula: the full set, the full set without one block (7), and two small sets.
FORMULAS: dict[str, str] = {
    "full": _formula(ALL),
    **{f"no_{b}": _formula([a for a in ALL if a != b]) for b in ALL},
    "loc_demo": _formula(["location", "demographics"]),
    "loc_demo_housing": _formula(["location", "demographics", "housing"]),
}


def check_blocks() -> None:
    """The blocks partition PMT_FORMULA's terms (so the full formula is the package's)."""
    from pmt.datasets import PMT_FORMULA

    terms = [t.strip() for t in PMT_FORMULA.split("~")[1].split("+")]
    mine = [t for b in BLOCKS.values() for t in b]
    if sorted(terms) != sorted(mine) or len(set(mine)) != len(mine):
        raise AssertionError(f"BLOCKS do not partition PMT_FORMULA: {set(terms) ^ set(mine)}")


#: The formulas of the --quick smoke run.
QUICK_FORMULAS = ["full", "no_assets", "loc_demo"]


def specifications(names: list[str] | None = None) -> dict:
    """The fit callables (20, or those of ``names``' formulas): {"<formula>|ols" or
    "<formula>|qr20": fit(train_df)}."""
    import pmt

    fits = {}
    for name, f in FORMULAS.items():
        if names is not None and name not in names:
            continue
        fits[f"{name}|ols"] = lambda d, f=f: pmt.ols(f, d, weights="weight")
        fits[f"{name}|qr20"] = lambda d, f=f: pmt.quantreg(f, d, q=0.2, weights="weight")
    return fits


def calibration() -> float:
    """Seconds of a fixed numpy workload (BLAS limited to one thread), best of 3.

    Matrix products (400 x 400, 60 of them), a Cholesky solve (600 x 600) and sorts
    (argsort of 2 million doubles, 4 times): the kinds of work of the study.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(12345)
    a = rng.standard_normal((400, 400))
    g = rng.standard_normal((2000, 600))
    s = rng.standard_normal(2_000_000)
    best = np.inf
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(3):
            t0 = time.perf_counter()
            m = a
            for _ in range(60):
                m = np.tanh(m @ a / 20.0)
            gram = g.T @ g
            np.linalg.cholesky(gram)
            np.linalg.solve(gram, g[:600].sum(axis=0))
            for _ in range(4):
                np.argsort(s, kind="stable")
            best = min(best, time.perf_counter() - t0)
    return float(best)


def run_study(n: int, n_replicates: int = 200, formulas: list[str] | None = None) -> dict:
    """Steps 2-3 on synthetic_hbs(n) (all formulas, or ``formulas``); wall times (s) and
    the figures chosen."""
    import pmt
    from pmt.datasets import synthetic_hbs

    check_blocks()
    t0 = time.perf_counter()
    df = synthetic_hbs(n)
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    t_data = time.perf_counter() - t0
    fits = specifications(formulas)

    t0 = time.perf_counter()
    cv = pmt.cross_validate(fits, df, "log_pcc", shares=[0.2, 0.4], survey=sv, n_folds=5,
                            seed=0)
    t_cv = time.perf_counter() - t0
    excl = cv[(cv["line"] == "poorest 20%") & (cv["rule"] == "rate")
              & (cv["metric"] == "exclusion_error")].set_index("model")["oos_mean"]
    best = excl.sort_values(kind="stable").index[:2].tolist()

    t0 = time.perf_counter()
    cmp = pmt.compare({m: fits[m] for m in best}, df, "log_pcc", shares=[0.2, 0.4], survey=sv,
                      n_replicates=n_replicates, seed=0, reference=best[1])
    t_cmp = time.perf_counter() - t0
    diff = cmp[(cmp["model"] == f"{best[0]} - {best[1]}") & (cmp["line"] == "poorest 20%")
               & (cmp["metric"] == "exclusion_error")].iloc[0]
    return {
        "n": n, "n_specs": len(fits), "data_s": t_data, "cv_s": t_cv, "compare_s": t_cmp,
        "best": best, "best_exclusion": [float(excl[m]) for m in best],
        "diff": [float(diff["estimate"]), float(diff["lower"]), float(diff["upper"])],
    }


def child(argv: list[str]) -> None:
    """Run in a fresh interpreter: calibration, the study, then one JSON line."""
    quick = "--quick" in argv
    cal = calibration()
    out = run_study(5_000 if quick else 50_000, formulas=QUICK_FORMULAS if quick else None)
    out["calibration_s"] = cal
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("STUDY-RESULT " + json.dumps(out), flush=True)


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--child" in argv:
        child(argv)
        return {}
    quick = "--quick" in argv
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "benchmarks.study", "--child"] + (["--quick"] if quick else [])
    load = os.getloadavg()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"the study's child process failed (exit {proc.returncode})")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("STUDY-RESULT ")][-1]
    res = json.loads(line.split(" ", 1)[1])
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total = res["cv_s"] + res["compare_s"]
    ratio = total / res["calibration_s"]
    load_after = os.getloadavg()
    print(f"data: pmt.datasets.synthetic_hbs({res['n']:,}) generated in {res['data_s']:.1f} s; "
          f"{res['n_specs'] // 2} formulas x {{OLS, quantile regression q=0.2}} = "
          f"{res['n_specs']} specifications")
    print(f"cross_validate (5 PSU folds, lines at 20 % and 40 %): {res['cv_s']:.1f} s; "
          f"compare of the best two ({' vs '.join(res['best'])}; out-of-sample exclusion "
          f"error {res['best_exclusion'][0]:.4f} and {res['best_exclusion'][1]:.4f}), 200 "
          f"paired replicates: {res['compare_s']:.1f} s")
    print(f"  difference in exclusion error at 20 %: {res['diff'][0]:+.4f} "
          f"[{res['diff'][1]:+.4f}, {res['diff'][2]:+.4f}]")
    goal = "" if quick else f" (target <= {TARGET_S:.0f} s, stretch {STRETCH_S:.0f} s)"
    print(f"study wall time: {total:.1f} s{goal}")
    print(f"calibration workload (fixed numpy work, 1 BLAS thread, best of 3): "
          f"{res['calibration_s']:.2f} s; study / calibration = {ratio:.1f}"
          + ("" if quick else
             f" (the {TARGET_S:.0f} s target is about "
             f"{TARGET_S / res['calibration_s']:.0f} calibrations here)"))
    print(f"peak memory of the study's process (its own ru_maxrss, interpreter and imports "
          f"included): {res['peak_rss_mb']:.0f} MB" + ("" if quick else
                                                         f" (target < {TARGET_PEAK_MB:.0f} MB)")
          + f"; largest child seen by the parent: {children_mb:.0f} MB")
    print(f"load average before/after: {load[0]:.2f} / {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs, {platform.python_version()})")
    # the targets are for the full study (50,000 households); --quick judges nothing
    targets = [
        target("study: time", f"<= {TARGET_S:.0f} s (stretch {STRETCH_S:.0f} s)",
               f"{total:.1f} s = {ratio:.1f} calibrations (load {load[0]:.1f})",
               None if quick else total / TARGET_S, None if quick else total <= TARGET_S),
        target("study: peak memory", f"< {TARGET_PEAK_MB:.0f} MB",
               f"{res['peak_rss_mb']:.0f} MB",
               None if quick else res["peak_rss_mb"] / TARGET_PEAK_MB,
               None if quick else res["peak_rss_mb"] < TARGET_PEAK_MB),
    ]
    return {**res, "study_s": total, "ratio": ratio, "load": load, "targets": targets}


if __name__ == "__main__":
    main()
