"""Benchmark: threads of pmt.gradient_boosting (the default, one thread, vs all cores).

Usage::

    python -m benchmarks ml_threads            # 20,000 households, the PMT formula, 150 trees
    python -m benchmarks ml_threads --quick    # 5,000 households, 50 trees
    python benchmarks/ml_threads.py --busy 1   # with one competing busy process

The same fit (``pmt.gradient_boosting(PMT_FORMULA, df, weights="weight", max_iter=...)``,
formula parsing included) runs with ``n_threads=None`` (pmt's default, one thread:
:func:`pmt.models.ml.default_threads`) and ``n_threads=<all logical CPUs>`` (what
scikit-learn uses unless told otherwise). The settings are interleaved over the repeats
so that they see the same machine load, and each time is the median of the repeats;
ratios are against the default. The predictions of the settings are checked to be
bit-identical. ``--busy K`` starts K CPU-bound child processes for the duration (and
stops them) to show the effect of contention on an otherwise idle machine.

Target (issue 18): the default is one thread and the predictions are bit-identical; the
ratio printed is the wall time with all cores over the default (below 1 only on an idle
machine; 2-9x on this shared 2-core one when other jobs run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import warnings

import numpy as np


def _spin() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


def time_fit(df, formula: str, n_threads, max_iter: int):
    from pmt.models.ml import gradient_boosting

    t0, c0 = time.perf_counter(), time.process_time()
    m = gradient_boosting(formula, df, weights="weight", seed=0, n_threads=n_threads,
                          max_iter=max_iter)
    return m, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.ml_threads",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 households, 50 trees")
    parser.add_argument("--repeat", type=int, default=3, help="fits per setting (median)")
    parser.add_argument("--busy", type=int, default=0,
                        help="competing CPU-bound processes started for the run")
    args = parser.parse_args(argv)

    import joblib

    import pmt
    from benchmarks import target
    from pmt.models.ml import default_threads

    n, max_iter = (5_000, 50) if args.quick else (20_000, 150)
    df = pmt.datasets.synthetic_hbs(n, seed=0)
    formula = pmt.datasets.PMT_FORMULA
    all_cores = joblib.cpu_count()
    default = default_threads()
    settings = {f"default ({default} thread)": None, f"all cores ({all_cores})": all_cores}
    print(
        f"logical CPUs {os.cpu_count()}, physical cores "
        f"{joblib.cpu_count(only_physical_cores=True)}, pmt default n_threads = {default}; "
        f"load average {os.getloadavg()[0]:.2f} (the machine is shared: other jobs count as "
        "load)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        time_fit(df.sample(1000, random_state=0), formula, 1, 5)  # start-up, not timed

    busy = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in busy:
        p.start()
    times: dict[str, list[float]] = {k: [] for k in settings}
    cpu: dict[str, list[float]] = {k: [] for k in settings}
    preds: dict[str, np.ndarray] = {}
    try:
        for _ in range(args.repeat):
            for label, nt in settings.items():
                m, t, c = time_fit(df, formula, nt, max_iter)
                times[label].append(t)
                cpu[label].append(c)
                preds.setdefault(label, m.predict(df).to_numpy())
    finally:
        for p in busy:
            p.terminate()
            p.join()
    load_end = os.getloadavg()[0]

    labels = list(settings)
    base = float(np.median(times[labels[0]]))
    out: dict = {"n": n, "max_iter": max_iter, "busy": args.busy, "settings": {}}
    print(f"gradient_boosting, {n:,} households, PMT formula, max_iter={max_iter}, "
          f"{args.repeat} fits each, {args.busy} competing busy processes:")
    for label in settings:
        t, c = float(np.median(times[label])), float(np.median(cpu[label]))
        out["settings"][label] = {"seconds": t, "cpu_seconds": c, "ratio_to_default": t / base}
        print(f"  {label:<18} {t:7.2f} s wall (CPU {c:6.2f} s)   {t / base:5.2f}x the default"
              f"   [all fits: {', '.join(f'{x:.2f}' for x in times[label])}]")
    same = all(np.array_equal(preds[labels[0]], p) for p in preds.values())
    out["identical_predictions"] = same
    print(f"  predictions bit-identical across settings: {same}; load average at the end "
          f"{load_end:.2f}")
    ratio = out["settings"][labels[1]]["ratio_to_default"]
    out["targets"] = [target(
        "ML wrappers: one thread by default",
        "default n_threads = 1 (unless asked); same predictions",
        f"default {base:.2f} s, all cores {base * ratio:.2f} s (ratio all/default); "
        f"bit-identical {same}",
        ratio, default == 1 and same,
    )]
    return out


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
