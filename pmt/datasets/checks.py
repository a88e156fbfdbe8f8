"""Check a synthetic survey against the calibration targets of ``calibration.yaml``.

Used to calibrate the simulation (``python -m pmt.datasets.checks``) and to document what
the generated data achieve (``docs/synthetic_hbs.md``). The fits use statsmodels directly
(weighted least squares) because this module sits at the data layer, left of
:mod:`pmt.models`.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from pmt.datasets.calibration import PMT_FORMULA, load_calibration
from pmt.datasets.synthetic import synthetic_hbs


def _wshare(num: np.ndarray, den: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * num) / np.sum(w * den))


def _wcorr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    return float(
        cov / np.sqrt(np.average((x - mx) ** 2, weights=w) * np.average((y - my) ** 2, weights=w))
    )


def calibration_report(
    df: pd.DataFrame | None = None, n_households: int = 100_000, seed: int = 0
) -> pd.DataFrame:
    """Achieved values of the calibration targets on a synthetic survey.

    Parameters
    ----------
    df : pandas.DataFrame, optional
        Output of :func:`pmt.datasets.synthetic_hbs`; drawn with ``n_households`` and
        ``seed`` if not given.

    Returns
    -------
    pandas.DataFrame
        Index = target name; columns ``target`` (value or band), ``achieved``, ``ok``.
        Shares of income are household-weighted ratios of weighted totals; the poverty
        rate is person-weighted; correlations are household-weighted, per capita.
    """
    if df is None:
        df = synthetic_hbs(n_households, seed)
    t = load_calibration()["targets"]
    w = df["weight"].to_numpy()
    pw = w * df["hh_size"].to_numpy()
    r2 = smf.wls(PMT_FORMULA, data=df, weights=w).fit().rsquared
    rural = df["urban"].to_numpy() == 0
    htv, inc = df["inc_htv"].to_numpy(), df["income"].to_numpy()
    size = df["hh_size"].to_numpy()
    corr = _wcorr(np.log(df["pcc"].to_numpy()), np.log(inc / size), w)
    poverty = float(np.sum(pw * df["poor"].to_numpy()) / np.sum(pw))
    sa = float(np.average(df["social_assistance"].to_numpy() > 0, weights=w))
    htv_national = _wshare(htv, inc, w)
    htv_rural = _wshare(htv[rural], inc[rural], w[rural])
    rows = {
        "pmt_r2": (t["pmt_r2"], r2, abs(r2 - t["pmt_r2"]) <= t["pmt_r2_tolerance"]),
        "poverty_rate": (
            tuple(t["poverty_rate"]),
            poverty,
            t["poverty_rate"][0] <= poverty <= t["poverty_rate"][1],
        ),
        "htv_share_national": (
            t["htv_share_national"],
            htv_national,
            abs(htv_national - t["htv_share_national"]) <= t["htv_share_tolerance"],
        ),
        "htv_share_rural": (
            t["htv_share_rural"],
            htv_rural,
            abs(htv_rural - t["htv_share_rural"]) <= t["htv_share_tolerance"],
        ),
        "corr_log_income_consumption": (
            t["corr_log_income_consumption"],
            corr,
            abs(corr - t["corr_log_income_consumption"]) <= t["corr_tolerance"],
        ),
        "social_assistance_coverage": (
            t["social_assistance_coverage"],
            sa,
            abs(sa - t["social_assistance_coverage"]) <= 0.03,
        ),
        "income_to_consumption": ("> 1", _wshare(inc, df["consumption"].to_numpy(), w), None),
        "has_htv_share": ("-", float(np.average(df["has_htv"], weights=w)), None),
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["target", "achieved", "ok"])
    out.index.name = "quantity"
    return out


def benchmark(n_households: int = 200_000, seed: int = 0) -> dict:
    """Wall time (s), peak traced memory (MB) and peak process RSS (MB) of one draw.

    Memory is traced with :mod:`tracemalloc` (numpy and pandas buffers are traced); the
    resident set size is the process high-water mark from :mod:`resource` (includes the
    interpreter and imported libraries).
    """
    import resource
    import time
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    df = synthetic_hbs(n_households, seed)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return {
        "n_households": n_households,
        "seconds": round(seconds, 2),
        "peak_traced_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(rss, 1),
        "frame_mb": round(float(df.memory_usage(deep=True).sum()) / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: check synthetic_hbs against its calibration targets."""
    parser = argparse.ArgumentParser(
        description="Check synthetic_hbs against its calibration targets."
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", action="store_true", help="time and measure one draw of --n")
    args = parser.parse_args(argv)
    if args.bench:
        print(benchmark(args.n, args.seed))
        return
    with pd.option_context("display.width", 120):
        print(calibration_report(n_households=args.n, seed=args.seed))


if __name__ == "__main__":
    main()
