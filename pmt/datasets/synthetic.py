"""The embedded synthetic household budget survey: :func:`synthetic_hbs`.

A structural simulation of a Central-Asian household budget survey (Uzbekistan, 2018
prices), built so that the whole toolkit runs without downloads and so that every model
has a known truth to recover:

1. **Sample design** (:func:`_sample_design`). Strata are region x urban/rural (27 strata:
   Toshkent city is all urban). Primary sampling units (PSUs: mahallas and villages) are
   allocated to strata in proportion to the square root of the stratum population, so small
   regions are oversampled, and each PSU contributes a fixed take of households. Weights
   are inverse inclusion probabilities (PPS on an out-of-date measure of size, times a
   nonresponse adjustment) post-stratified to the stratum populations of a country of
   33 million people.
2. **Households** (:func:`_households`). A latent living standard ``L`` (region + urban +
   PSU random effect + household effect) drives the proxies; household size follows the
   Uzbek distribution; the roster summaries, education, employment, mobile phones,
   dwelling, durables, land and livestock are drawn from it and from each other.
3. **Welfare.** ``log_pcc`` is the published Uzbek PMT (World Bank 2019, Annex A) applied
   to the proxies, plus a PSU effect and household noise that are independent of the
   proxies, scaled so that the weighted R-squared of the true specification is 0.396.
4. **Income and transfers** (:mod:`pmt.datasets.synthetic_income`): incomes by source with
   hard-to-verify income from a Heckman selection model, and the current social assistance.

All parameters and their sources are in ``pmt/datasets/calibration.yaml``; the targets and
how each is met are described in ``docs/synthetic_hbs.md``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pmt.datasets.calibration import _load
from pmt.datasets.synthetic_income import add_income
from pmt.errors import DataError

__all__ = ["synthetic_hbs"]


def _probit_draw(rng: np.random.Generator, index: np.ndarray) -> np.ndarray:
    """1 with probability Phi(index), else 0 (int64)."""
    return (rng.random(index.shape[0]) < ndtr(index)).astype(np.int64)


def _choice(rng: np.random.Generator, utilities: list[np.ndarray]) -> np.ndarray:
    """Multinomial-logit draw (Gumbel-max trick): category 1 + argmax(utility + Gumbel)."""
    u = np.column_stack(utilities)
    u = u + rng.gumbel(size=u.shape)
    return np.argmax(u, axis=1).astype(np.int64) + 1


def _index(coef: list[float], *xs: np.ndarray) -> np.ndarray:
    """Linear index coef[0] + sum_k coef[k] * xs[k-1]."""
    out = np.full(xs[0].shape[0], float(coef[0]))
    for c, x in zip(coef[1:], xs, strict=True):
        out += float(c) * x
    return out


# ----------------------------------------------------------------------------------------
# 1. Sample design
# ----------------------------------------------------------------------------------------


def _strata_table(cal: dict) -> pd.DataFrame:
    """One row per stratum: region, urban, stratum code (10*region + urban), population share."""
    regions = cal["population"]["regions"]
    total = sum(float(v["share"]) for v in regions.values())
    rows = []
    for code in sorted(regions):
        share = float(regions[code]["share"]) / total
        urb = float(regions[code]["urban"])
        for urban, part in ((0, 1.0 - urb), (1, urb)):
            if part > 0:
                rows.append((int(code), urban, 10 * int(code) + urban, share * part))
    return pd.DataFrame(rows, columns=["region", "urban", "stratum", "pop_share"])


def _allocate(total: int, minimum: int, sizes: np.ndarray, power: float) -> np.ndarray:
    """Integer allocation: ``minimum`` per stratum, the rest proportional to size**power.

    Largest-remainder rounding; ties go to the earlier stratum (deterministic).
    """
    n_strata = sizes.shape[0]
    alloc = np.full(n_strata, minimum, dtype=np.int64)
    rest = total - alloc.sum()
    target = sizes**power / np.sum(sizes**power) * rest
    floor = np.floor(target).astype(np.int64)
    alloc += floor
    left = int(rest - floor.sum())
    order = np.argsort(-(target - floor), kind="stable")
    alloc[order[:left]] += 1
    return alloc


def _sample_design(n: int, cal: dict, rng: np.random.Generator) -> dict:
    """PSUs and their strata; household -> PSU map; PSU measure-of-size error."""
    d = cal["design"]
    take = int(d["households_per_psu"])
    strata = _strata_table(cal)
    n_psu = n // take
    psu_per_stratum = _allocate(
        n_psu, int(d["min_psu_per_stratum"]), strata["pop_share"].to_numpy(), d["allocation_power"]
    )
    psu_stratum = np.repeat(np.arange(len(strata)), psu_per_stratum)
    # households per PSU: `take`, plus one for PSUs spread evenly over the list until n is met
    psu_size = np.full(n_psu, take, dtype=np.int64)
    extra = n - take * n_psu
    if extra:
        psu_size[(np.arange(extra) * n_psu) // extra] += 1
    hh_psu = np.repeat(np.arange(n_psu), psu_size)
    hh_stratum = psu_stratum[hh_psu]
    mos_ratio = np.exp(rng.normal(0.0, d["mos_error_sd"], n_psu))
    return {
        "strata": strata,
        "n_psu": n_psu,
        "psu": hh_psu,
        "stratum_index": hh_stratum,
        "region": strata["region"].to_numpy()[hh_stratum],
        "urban": strata["urban"].to_numpy()[hh_stratum],
        "stratum": strata["stratum"].to_numpy()[hh_stratum],
        "mos_ratio": mos_ratio,
    }


def _weights(design: dict, hh_size: np.ndarray, cal: dict, rng: np.random.Generator):
    """Inverse inclusion probabilities, post-stratified to stratum population totals.

    With PSUs drawn with probability proportional to their frame size and a fixed take,
    the household weight is proportional to (actual / frame size) of its PSU; a lognormal
    household nonresponse adjustment is applied on top. Within each stratum the weights
    are then scaled so that sum(weight * hh_size) equals the stratum's population.
    """
    n = hh_size.shape[0]
    w0 = design["mos_ratio"][design["psu"]] * np.exp(
        rng.normal(0.0, cal["design"]["nonresponse_sd"], n)
    )
    h = design["stratum_index"]
    strata = design["strata"]
    persons = float(cal["population"]["total_persons"]) * strata["pop_share"].to_numpy()
    sampled = np.bincount(h, weights=w0 * hh_size, minlength=len(strata))
    return w0 * (persons / sampled)[h]


# ----------------------------------------------------------------------------------------
# 2. Households: roster, dwelling, durables, land
# ----------------------------------------------------------------------------------------


def _household_size(rng, urban: np.ndarray, cal: dict) -> np.ndarray:
    dem = cal["demography"]
    by_size = dem["persons_by_size"]
    p8 = float(dem["size_8plus_geometric_p"])
    sizes = np.array(sorted(by_size), dtype=float)
    mean_size = sizes.copy()
    mean_size[-1] = 8.0 + (1.0 - p8) / p8  # mean size of the 8+ group
    hh_prob = np.array([by_size[int(s)] for s in sizes]) / mean_size
    out = np.empty(urban.shape[0], dtype=np.int64)
    for flag, tilt in ((0, dem["rural_size_tilt"]), (1, dem["urban_size_tilt"])):
        mask = urban == flag
        p = hh_prob * np.exp(float(tilt) * (mean_size - 5.0))
        cdf = np.cumsum(p / p.sum())
        cat = np.searchsorted(cdf, rng.random(int(mask.sum())), side="right")
        cat = np.minimum(cat, len(sizes) - 1)
        out[mask] = sizes[cat].astype(np.int64)
    big = out >= 8
    out[big] += rng.geometric(p8, int(big.sum())) - 1
    return out


def _households(design: dict, cal: dict, rng: np.random.Generator) -> dict:
    n = design["psu"].shape[0]
    region, urban = design["region"], design["urban"]
    rural = 1 - urban
    dem = cal["demography"]
    col: dict[str, np.ndarray] = {}

    # latent living standard
    lat = cal["latent"]
    regions = cal["population"]["regions"]
    region_shift = np.zeros(max(int(k) for k in regions) + 1)
    for code, v in regions.items():
        region_shift[int(code)] = float(v["latent"])
    psu_effect = rng.normal(0.0, lat["psu_sd"], design["n_psu"])
    latent = (
        region_shift[region]
        + lat["urban_shift"] * urban
        + psu_effect[design["psu"]]
        + rng.normal(0.0, lat["household_sd"], n)
    )

    # roster
    size = _household_size(rng, urban, cal)
    p_eld = np.where(size == 2, dem["elderly_prob_size2"], dem["elderly_prob"])
    n_elderly = np.where(
        size == 1,
        rng.random(n) < dem["single_elderly_prob"],
        np.minimum(rng.binomial(2, p_eld), size),
    ).astype(np.int64)
    rest = size - n_elderly
    n_adults = np.where(rest > 0, 1 + rng.binomial(np.maximum(rest - 1, 0), dem["adult_prob"]), 0)
    n_children = rest - n_adults
    bands = rng.multinomial(n_children, dem["child_band_probs"])
    n_0_2, n_3_5, n_6_14, n_15_17 = (bands[:, k].astype(np.int64) for k in range(4))
    n15 = n_15_17 + n_adults + n_elderly
    n_disabled = np.minimum(
        rng.binomial(size, dem["disabled_prob"])
        + rng.binomial(n_elderly, dem["disabled_prob_elderly"]),
        size,
    )
    single_pensioner = ((size == 1) & (n_elderly == 1)).astype(np.int64)
    any_divorced = (rng.random(n) < dem["divorced_prob"] * (n_adults > 0)).astype(np.int64)
    p_female = np.where(
        single_pensioner == 1,
        dem["female_head_prob_single_pensioner"],
        np.where(any_divorced == 1, dem["female_head_prob_divorced"], dem["female_head_prob"]),
    )
    female_head = (rng.random(n) < p_female).astype(np.int64)
    e0, e_mean, e_max = dem["head_age_elderly"]
    a0, a_span, a_b1, a_b2, a_kids, a_max = dem["head_age_adult"]
    elderly_head = (n_elderly > 0) & ((n_adults == 0) | (rng.random(n) < dem["elderly_head_prob"]))
    head_age = np.where(
        elderly_head,
        np.minimum(e0 + rng.exponential(e_mean, n), e_max),
        np.minimum(a0 + a_span * rng.beta(a_b1, a_b2, n) + a_kids * (n_6_14 + n_15_17 > 0), a_max),
    ).astype(np.int64)

    # education, work, phones, pensions, remittances (members 15+)
    p_ter = ndtr(_index(dem["tertiary_index"], latent, urban))
    n_tertiary = rng.binomial(n15, p_ter)
    p_pri = ndtr(_index(dem["primary_index"], latent, urban))
    n_primary = rng.binomial(n15 - n_tertiary, p_pri)
    share_tertiary = n_tertiary / n15
    p_emp = ndtr(_index(dem["employment_index"], latent, share_tertiary))
    n_employed = (
        rng.binomial(n_adults, p_emp)
        + rng.binomial(n_elderly, dem["employment_prob_elderly"])
        + rng.binomial(n_15_17, dem["employment_prob_15_17"])
    )
    n_mobile = rng.binomial(n15, ndtr(_index(dem["mobile_index"], latent)))
    n_pensioners = rng.binomial(n_elderly, dem["pension_prob"])
    remittances = _probit_draw(
        rng, _index(dem["remittance_index"], np.maximum(n_adults - 2, 0).astype(float), rural)
    )

    col.update(
        hh_size=size,
        hh_size_cat=np.clip(size, 2, 8),
        n_children_0_2=n_0_2,
        n_children_3_5=n_3_5,
        n_children_6_14=n_6_14,
        n_children_15_17=n_15_17,
        n_children_0_5=n_0_2 + n_3_5,
        n_children_6_17=n_6_14 + n_15_17,
        n_adults=n_adults,
        n_elderly=n_elderly,
        n_members_15plus=n15,
        n_disabled=n_disabled,
        any_disabled=(n_disabled > 0).astype(np.int64),
        n_employed=n_employed,
        n_edu_primary=n_primary,
        n_edu_tertiary=n_tertiary,
        n_pensioners=n_pensioners,
        old_age_pension=(n_pensioners > 0).astype(np.int64),
        female_head=female_head,
        head_age=head_age,
        single_pensioner=single_pensioner,
        any_divorced=any_divorced,
        remittances=remittances,
        share_children_0_2=n_0_2 / size,
        share_children_3_5=n_3_5 / size,
        share_children_6_14=n_6_14 / size,
        share_primary_edu=n_primary / n15,
        share_tertiary_edu=share_tertiary,
        share_working=n_employed / n15,
        share_mobile=n_mobile / n15,
        n_mobile=n_mobile,
    )

    # dwelling
    dw = cal["dwelling"]
    rooms = 1 + rng.poisson(np.exp(_index(dw["rooms_log_mean"], np.log(size), latent, rural)))
    rooms = np.minimum(rooms, dw["max_rooms"])
    col["rooms"] = rooms
    col["rooms_cat"] = np.select([rooms <= 2, rooms == 3, rooms <= 6], [1, 2, 3], 4)
    col["persons_per_room"] = size / rooms
    for name in ("heating", "cooking_fuel", "toilet"):
        spec = dw[name]
        utilities = [np.zeros(n)] + [_index(spec[k], latent, urban) for k in sorted(spec)]
        col[name] = _choice(rng, utilities)
    col["flush_toilet"] = (col["toilet"] == 1).astype(np.int64)
    col["improved_latrine"] = (col["toilet"] == 2).astype(np.int64)
    for name, spec in dw["binary"].items():
        col[name] = _probit_draw(rng, spec["const"] + spec["load"] * latent + spec["urban"] * urban)

    # land and livestock
    ld = cal["land"]
    has_land = _probit_draw(rng, _index(ld["any_index"], latent, rural))
    sotka = np.exp(
        ld["log_sotka_mean"]
        + ld["log_sotka_L"] * latent
        + ld["log_sotka_sd"] * rng.standard_normal(n)
    )
    sotka = np.where(
        has_land == 1, np.clip(np.round(sotka, 1), ld["min_sotka"], ld["max_sotka"]), 0.0
    )
    col["has_land"] = has_land
    col["land_sotka"] = sotka
    col["land_sotka_sq"] = sotka**2
    col["cattle"] = rng.poisson(np.exp(_index(ld["cattle_log_rate"], latent, rural, has_land)))
    col["small_livestock"] = rng.poisson(
        np.exp(_index(ld["small_livestock_log_rate"], latent, rural, has_land))
    )
    col["any_livestock"] = ((col["cattle"] + col["small_livestock"]) > 0).astype(np.int64)
    return col


# ----------------------------------------------------------------------------------------
# 3. Welfare: the published PMT plus clustered noise
# ----------------------------------------------------------------------------------------


def pmt_linear_predictor(data, cal: dict | None = None) -> np.ndarray:
    """The true PMT index (expected ``log_pcc``) of households, from the calibration file.

    Parameters
    ----------
    data : mapping of column name -> array (a DataFrame or dict)
        Must hold the columns of :data:`pmt.datasets.PMT_FORMULA`.

    Returns
    -------
    numpy.ndarray
        11.65 + sum of Annex A coefficients times the proxies (log UZS per person per month).
    """
    pmt = (cal or _load())["pmt"]
    xb = np.full(len(data["region"]), float(pmt["intercept"]))
    for name, levels in pmt["categorical"].items():
        codes = np.asarray(data[name], dtype=np.int64)
        lookup = np.zeros(int(codes.max()) + 1)
        for level, value in levels.items():
            if int(level) < lookup.shape[0]:
                lookup[int(level)] = float(value)
        xb += lookup[codes]
    for name, value in pmt["numeric"].items():
        xb += float(value) * np.asarray(data[name], dtype=float)
    return xb


# ----------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------

_COLUMN_ORDER = [
    "hh_id", "region", "urban", "stratum", "psu", "weight", "hh_size", "hh_size_cat",
    "n_children_0_2", "n_children_3_5", "n_children_6_14", "n_children_15_17",
    "n_children_0_5", "n_children_6_17", "n_adults", "n_elderly", "n_members_15plus",
    "n_disabled", "any_disabled", "n_employed", "n_edu_primary", "n_edu_tertiary",
    "n_pensioners", "old_age_pension", "female_head", "head_age", "single_pensioner",
    "any_divorced", "remittances",
    "share_children_0_2", "share_children_3_5", "share_children_6_14", "share_primary_edu",
    "share_tertiary_edu", "share_working", "share_mobile",
    "rooms", "rooms_cat", "persons_per_room", "heating", "cooking_fuel", "toilet",
    "flush_toilet", "improved_latrine", "piped_water", "satellite",
    "car", "fridge", "tv", "computer", "washing_machine", "air_conditioner", "oven", "vacuum",
    "sewing_machine", "bicycle", "n_mobile",
    "has_land", "land_sotka", "land_sotka_sq", "cattle", "small_livestock", "any_livestock",
    "consumption", "pcc", "log_pcc", "poverty_line", "poor",
    "inc_wages", "inc_pensions", "inc_benefits", "inc_alimony", "inc_verifiable",
    "inc_business", "inc_agri", "inc_inkind", "inc_other", "inc_htv", "has_htv", "log_inc_htv",
    "income", "social_assistance",
]  # fmt: skip


def _check_n(n_households) -> int:
    minimum = int(_load()["design"]["min_households"])
    if isinstance(n_households, bool) or not isinstance(n_households, numbers.Integral):
        if isinstance(n_households, float) and n_households.is_integer():
            hint = f"pass n_households={int(n_households)}"
        else:
            hint = "pass a whole number such as n_households=20_000"
        raise DataError(
            f"n_households must be an integer, got {n_households!r} "
            f"({type(n_households).__name__}); {hint}."
        )
    if n_households < minimum:
        raise DataError(
            f"n_households={int(n_households)} is too small: the design has 27 strata with at "
            f"least 2 PSUs of 10 households each, so n_households must be at least {minimum}."
        )
    return int(n_households)


def synthetic_hbs(n_households: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Simulate a Central-Asian household budget survey (Uzbekistan, 2018 prices).

    A structural simulation, not independent random columns: a stratified two-stage
    cluster sample (strata = 14 regions x urban/rural, PSUs with random effects, unequal
    weights summing to about 33 million people), household rosters, dwellings, durables,
    land and livestock correlated through household composition, location and a latent
    living standard; log per-capita consumption from the published Uzbek PMT (World Bank
    2019, Annex A) plus PSU and household noise (R-squared 0.396); incomes by source with
    hard-to-verify income from a Heckman selection model shaped on Belarus (World Bank
    2011, Table 11) and calibrated to its income composition (Table 10); and current
    social assistance. Every parameter, with its source, is in
    ``pmt/datasets/calibration.yaml``; every column is described in ``data_spec/hbs.yaml``.

    Parameters
    ----------
    n_households : int, default 20_000
        Number of sampled households (rows); at least 540 (27 strata x 2 PSUs x 10).
    seed : int, default 0
        Seed of the single :func:`numpy.random.default_rng` stream; the same seed gives a
        bit-identical DataFrame.

    Returns
    -------
    pandas.DataFrame
        One row per household, index ``hh_id`` values 0..n-1 (RangeIndex) and a column
        ``hh_id`` (1..n). Money columns are UZS per month: ``consumption`` and the
        ``inc_*`` columns per household, ``pcc`` and ``poverty_line`` per person.
        ``pcc`` is consumption per capita net of social assistance (pre-transfer, the
        dependent variable of the Uzbek PMT); ``poor`` is ``pcc < poverty_line``.
        Categorical columns are integer codes whose labels are in ``data_spec/hbs.yaml``.

    Raises
    ------
    pmt.DataError
        If ``n_households`` is not an integer or is below the minimum, or ``seed`` is not
        a non-negative integer.

    Notes
    -----
    The true models behind the data are exported as :data:`PMT_FORMULA` /
    :data:`PMT_COEFFICIENTS` (log_pcc) and :data:`HTV_SELECTION_FORMULA`,
    :data:`HTV_OUTCOME_FORMULA` / :data:`HTV_TRUE_PARAMS` (hard-to-verify income).
    """
    n = _check_n(n_households)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(
            f"seed must be a non-negative integer, got {seed!r}; pass e.g. seed=0 "
            "(the same seed gives the same data)."
        )
    cal = _load()
    rng = np.random.default_rng(seed)
    design = _sample_design(n, cal, rng)
    col = _households(design, cal, rng)

    # welfare
    pm = cal["pmt"]
    sd = float(pm["residual_sd"])
    share = float(pm["residual_psu_share"])
    v_psu = rng.normal(0.0, sd * np.sqrt(share), design["n_psu"])[design["psu"]]
    e_hh = rng.normal(0.0, sd * np.sqrt(1.0 - share), n)
    col["region"] = design["region"]
    col["urban"] = design["urban"].astype(np.int64)
    xb = pmt_linear_predictor(col, cal)
    log_pcc = xb + v_psu + e_hh
    pcc = np.exp(log_pcc)
    line = float(cal["poverty"]["line"])
    col.update(
        log_pcc=log_pcc,
        pcc=pcc,
        consumption=pcc * col["hh_size"],
        poverty_line=np.full(n, line),
        poor=(pcc < line).astype(np.int64),
    )
    col.update(add_income(col, (v_psu + e_hh) / sd, cal, rng))

    col.update(
        hh_id=np.arange(1, n + 1, dtype=np.int64),
        stratum=design["stratum"].astype(np.int64),
        psu=(design["psu"] + 1).astype(np.int64),
        weight=_weights(design, col["hh_size"], cal, rng),
    )
    out = pd.DataFrame({name: col[name] for name in _COLUMN_ORDER})
    int_cols = [c for c in _COLUMN_ORDER if out[c].dtype.kind in "biu"]
    out[int_cols] = out[int_cols].astype(np.int64)
    return out
