"""Several rounds of the embedded survey, with PMT returns that weaken over time.

A formula fitted on one survey round and applied in later years loses accuracy as the
relationship between proxies and welfare changes (Aiken, Ohlenburg and Blumenstock 2023
measure 1.5 to 1.9 points of accuracy a year). :func:`synthetic_rounds` simulates that
with a known truth: round ``r`` is an independent draw of :func:`synthetic_hbs` whose
log per-capita consumption is generated with the durable-goods and dwelling coefficients
of the published PMT multiplied by ``(1 - decay) ** r`` (the intercept moved so that the
weighted mean of the true index is unchanged), the household noise unchanged. With
``decay=0`` every round has the same true model and a formula does not decay, apart
from sampling noise.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmt.datasets.calibration import _load
from pmt.datasets.synthetic import pmt_linear_predictor, synthetic_hbs
from pmt.errors import DataError

__all__ = ["synthetic_rounds", "DECAYING_PROXIES"]

#: Proxies whose returns weaken by ``decay`` a round: durables and dwelling amenities,
#: whose ownership spreads and whose signal of living standards fades.
DECAYING_PROXIES = ("tv", "fridge", "oven", "vacuum", "air_conditioner", "sewing_machine",
                    "computer", "car", "bicycle", "satellite", "improved_latrine")

_PSU_OFFSET = 100_000  # PSU codes of round r are r * 100_000 + the round's own codes


def synthetic_rounds(n_households: int = 10_000, years: Sequence[int] = (2018, 2019, 2020),
                     seed: int = 0, decay: float = 0.15) -> pd.DataFrame:
    """Independent survey rounds with a PMT whose asset returns weaken each round.

    Parameters
    ----------
    n_households : int
        Households per round.
    years : sequence of int
        One label per round, increasing (the survey years).
    seed : int
        Seed of all rounds (round ``r`` draws with ``SeedSequence([seed, r])``).
    decay : float
        Share by which the coefficients of :data:`DECAYING_PROXIES` fall each round
        (0 <= decay < 1): in round ``r`` they are ``(1 - decay) ** r`` times their 2018
        values.

    Returns
    -------
    pandas.DataFrame
        The rounds stacked, with the columns of :func:`synthetic_hbs` and ``year``;
        ``hh_id`` unique over rounds; ``psu`` codes distinct between rounds (the strata
        are the same). ``pcc``, ``log_pcc``, ``consumption`` and ``poor`` follow the
        round's own true model; ``attrs["true_coefficients"]`` holds the coefficients of
        the decaying proxies by year.
    """
    years = [int(y) for y in years]
    if len(years) < 2 or any(b <= a for a, b in zip(years, years[1:], strict=False)):
        raise DataError(f"`years` must hold at least two increasing years; got {years}.")
    if not 0 <= decay < 1:
        raise DataError(f"`decay` is a share per round between 0 and 1; got {decay}.")
    base = _load()
    frames, truth = [], {}
    for r, year in enumerate(years):
        round_seed = int(np.random.SeedSequence([seed, r]).generate_state(1)[0])
        df = synthetic_hbs(n_households, seed=round_seed)
        cal = copy.deepcopy(base)
        factor = (1 - decay) ** r
        for name in DECAYING_PROXIES:
            cal["pmt"]["numeric"][name] = base["pmt"]["numeric"][name] * factor
        truth[year] = {name: cal["pmt"]["numeric"][name] for name in DECAYING_PROXIES}
        xb0 = pmt_linear_predictor(df, base)
        xb = pmt_linear_predictor(df, cal)
        v = (df["weight"] * df["hh_size"]).to_numpy()
        shift = np.average(xb0 - xb, weights=v)  # keep the weighted mean of the index
        log_pcc = df["log_pcc"].to_numpy() - xb0 + xb + shift
        pcc = np.exp(log_pcc)
        df["log_pcc"] = log_pcc
        df["pcc"] = pcc
        df["consumption"] = pcc * df["hh_size"]
        df["poor"] = (pcc < df["poverty_line"]).astype(np.int64)
        df["psu"] = df["psu"] + r * _PSU_OFFSET
        df.insert(1, "year", year)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["hh_id"] = np.arange(1, len(out) + 1, dtype=np.int64)
    out.attrs["true_coefficients"] = truth
    out.attrs["decay"] = decay
    return out
