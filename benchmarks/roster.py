"""Benchmark: household proxies from a person roster and nuclear families.

The embedded survey's roster (``synthetic_roster``; ``--households`` households, default
100,000, about 480,000 persons; ``--quick``: 20,000) is aggregated into the 33 proxies of
``data_spec/examples/roster_proxies.yaml`` by :func:`pmt.roster.household_proxies`, and the
same proxies are computed by a hand-written pandas ``groupby`` (the peer: what a user
writes without pmt), in the same process on the same data; the two results are checked
equal before the times are compared. Then :func:`pmt.roster.families` rebuilds nuclear
families with the line-number links and with the relationship codes (persons per second).

Usage: ``python -m benchmarks.roster [--quick] [--households N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from pmt.datasets import synthetic_hbs, synthetic_roster
from pmt.roster import example_proxies_path, families, household_proxies, load_proxy_definitions


def pandas_proxies(r: pd.DataFrame) -> pd.DataFrame:
    """The example proxies written with pandas groupby, as a user would."""
    age = r["age"].to_numpy()
    edu = r["edu"].astype(int).to_numpy()
    adult15 = age >= 15
    flags = pd.DataFrame({
        "hh_id": r["hh_id"].to_numpy(),
        "one": 1,
        "c0_2": age <= 2, "c3_5": (age >= 3) & (age <= 5), "c6_14": (age >= 6) & (age <= 14),
        "c15_17": (age >= 15) & (age <= 17), "c0_5": age <= 5, "c6_17": (age >= 6) & (age <= 17),
        "adults": (age >= 18) & (age <= 59), "elderly": age >= 60, "m15": adult15,
        "disabled": r["disabled"].to_numpy() == 1,
        "employed": (r["employed"].to_numpy() == 1) & adult15,
        "primary": (edu == 1) & adult15, "tertiary": (edu == 3) & adult15,
        "pensioner": r["pensioner"].to_numpy() == 1,
        "mobile": (r["has_mobile"].to_numpy() == 1) & adult15,
        "divorced": r["marital"].astype(int).to_numpy() == 3,
        "dependants": (age < 15) | (age >= 65), "working_age": (age >= 15) & (age <= 64),
        "edu15": np.where(adult15, edu, -1),
    })
    g = flags.groupby("hh_id", sort=False)
    s = g.sum()
    head = r[r["relation"].astype(int) == 1].set_index("hh_id")
    out = pd.DataFrame({
        "hh_size": s["one"], "n_children_0_2": s["c0_2"], "n_children_3_5": s["c3_5"],
        "n_children_6_14": s["c6_14"], "n_children_15_17": s["c15_17"],
        "n_children_0_5": s["c0_5"], "n_children_6_17": s["c6_17"], "n_adults": s["adults"],
        "n_elderly": s["elderly"], "n_members_15plus": s["m15"], "n_disabled": s["disabled"],
        "any_disabled": (s["disabled"] > 0).astype(int), "n_employed": s["employed"],
        "n_edu_primary": s["primary"], "n_edu_tertiary": s["tertiary"],
        "n_pensioners": s["pensioner"], "n_mobile": s["mobile"],
        "any_divorced": (s["divorced"] > 0).astype(int),
        "share_working": s["employed"] / s["m15"],
        "dependency_ratio": s["dependants"] / s["working_age"].where(s["working_age"] > 0, 1),
        "max_edu": g["edu15"].max().clip(lower=0),
    })
    out["female_head"] = (head["sex"].astype(int) == 2).astype(int).reindex(out.index)
    out["head_age"] = head["age"].reindex(out.index)
    return out


def _best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.roster")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--households", type=int, default=None)
    args = parser.parse_args(argv)
    from benchmarks import target

    n = args.households or (20_000 if args.quick else 100_000)
    hh = synthetic_hbs(n, seed=0)
    roster = synthetic_roster(hh, seed=0)
    defs = load_proxy_definitions(example_proxies_path())
    t_pmt, ours = _best_of(lambda: household_proxies(roster, defs, household="hh_id",
                                                     relation="relation"))
    t_pd, peer = _best_of(lambda: pandas_proxies(roster))
    for c in peer.columns:  # same numbers before comparing times
        np.testing.assert_allclose(ours[c].to_numpy(float), peer[c].to_numpy(float),
                                   rtol=1e-12, err_msg=c)
    print(f"roster: {len(hh):,} households, {len(roster):,} persons")
    print(f"household_proxies, {len(defs)} proxies ({len(peer.columns)} checked against "
          f"pandas): {t_pmt:.3f} s; pandas groupby by hand: {t_pd:.3f} s; "
          f"ratio pmt/pandas {t_pmt / t_pd:.2f}")
    common = dict(household="hh_id", person="line", relation="relation", codes="uzbekistan",
                  age="age")
    t_links, ids = _best_of(lambda: families(roster, spouse="spouse_line",
                                             mother="mother_line", father="father_line",
                                             marital="marital", married_codes=[2], **common),
                            repeat=1)
    t_codes, _ = _best_of(lambda: families(roster, **common), repeat=1)
    print(f"families by links: {t_links:.2f} s ({len(roster) / t_links:,.0f} persons/s); "
          f"by relationship codes: {t_codes:.2f} s ({len(roster) / t_codes:,.0f} persons/s); "
          f"{len(pd.DataFrame({'h': roster['hh_id'], 'f': ids}).drop_duplicates()):,} families")
    ratio = t_pmt / t_pd
    return {"proxies_s": t_pmt, "pandas_s": t_pd, "families_links_s": t_links,
            "families_codes_s": t_codes,
            "targets": [target(f"roster proxies, {len(roster):,} persons",
                               "(no target; ratio pmt / pandas by hand)",
                               f"{t_pmt:.3f} s vs pandas {t_pd:.3f} s", ratio, None)]}


if __name__ == "__main__":
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
