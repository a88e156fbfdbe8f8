"""A synthetic social registry with planted drift and manipulation: :func:`synthetic_registry`.

A PMT is fitted on a survey and applied to a registry of applicants. To test the checks that
compare the two (:func:`pmt.registry.drift.drift`, the density test at the cut-off), this
module builds a registry from the embedded survey (:func:`pmt.datasets.synthetic_hbs`) whose
differences from the survey are known:

* **Population.** Households are drawn with replacement from a survey draw with probability
  proportional to their survey weight, so that without drift the registry is a sample of the
  population the weighted survey represents. Each drawn household gets a new text id
  (``"R000001"``, ...); the columns are those of ``data_spec/registry.yaml`` (location and
  proxies), without welfare, income or survey-design columns.
* **Planted drift** (``drift=True``), three changes a registry commonly shows against an
  older survey, with their sizes in :data:`DRIFT`:

  1. *Car ownership up*: households without a car get one with the probability that raises
     the household share with a car by ``car_points`` (0.15, i.e. 15 percentage points).
  2. *Region mix*: households of Qashqadaryo (8) and Surxondaryo (11) are drawn with
     ``region_factor`` (2.5) times their weight, as where outreach is stronger.
  3. *More rooms*: a share ``rooms_share`` (0.4) of households report one more room;
     ``rooms_cat`` and ``persons_per_room`` are derived again from ``rooms``.

  Proxies not listed (and not derived from those) are not changed; they can still move a
  little with the region mix, as they do in a real registry.
* **Manipulation** (``bunching > 0`` with a model or scorecard and a cut-off): of the
  households whose score lies in the band ``[cutoff, cutoff + band)`` just above the cut-off
  (``band`` = a quarter of the standard deviation of the registry's scores), a share
  ``bunching`` (drawn at random) change their answers to the questions the registry spec
  marks ``verifiable: false`` until their score falls below the cut-off, one answer at a
  time and only where the change lowers the score (:data:`MANIPULABLE`): received
  remittances 1 -> 0; then one fewer member 15+ with a mobile phone (``n_mobile``, and
  ``share_mobile`` = n_mobile / n_members_15plus), repeated; then one fewer working member
  (``n_employed`` and ``share_working``), repeated. A household that cannot get below the
  cut-off that way answers truthfully (it is not counted as manipulated). "Below" means
  eligible: a welfare score below the cut-off; for probit/logit models (scores are
  probabilities of being poor) a probability above it.

The truth is kept in ``DataFrame.attrs``: ``drifted`` (proxy columns changed by the drift),
``drift`` (the sizes used), ``manipulated`` (number of households), ``manipulated_ids``,
``manipulated_proxies`` (columns changed by manipulation), ``band`` (lower and upper score
of the band), ``cutoff`` and ``seed``.
"""

from __future__ import annotations

import numbers
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmt.errors import DataError, ModelError

__all__ = ["DRIFT", "MANIPULABLE", "synthetic_registry"]

#: Sizes of the planted drift (see the module docstring).
DRIFT: dict[str, float] = {
    "car_points": 0.15,
    "region_factor": 2.5,
    "rooms_share": 0.4,
}
#: Regions over-represented in the registry by ``DRIFT["region_factor"]``.
DRIFT_REGIONS: tuple[int, ...] = (8, 11)
#: Columns changed by the planted drift (the drifted proxies and what derives from them).
DRIFTED: tuple[str, ...] = ("car", "region", "rooms", "rooms_cat", "persons_per_room")
#: Answers changed by manipulation, in the order tried: (count or binary column, derived
#: share column or None, denominator of the share).
MANIPULABLE: tuple[tuple[str, str | None, str | None], ...] = (
    ("remittances", None, None),
    ("n_mobile", "share_mobile", "n_members_15plus"),
    ("n_employed", "share_working", "n_members_15plus"),
)
#: Width of the manipulation band above the cut-off, in standard deviations of the score.
BAND_SD = 0.25


def _registry_spec():
    from pmt.spec import DataSpec

    path = Path(str(resources.files("pmt") / "data_spec" / "registry.yaml"))
    return DataSpec.load(path)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _scorer(model_or_scorecard, cutoff):
    """(score function, cut, sign): ``sign * score`` is below ``cut`` for eligible records.

    The function returns the oriented score, so that eligible always means "< cut".
    """
    obj = model_or_scorecard
    if isinstance(obj, str | Path):
        # loaded on use: artifacts sit to the right of datasets in the data flow
        from pmt.registry_scoring import load_model_or_scorecard

        obj = load_model_or_scorecard(obj)
    if hasattr(obj, "questions") and hasattr(obj, "score"):  # a Scorecard: points, "< cutoff"
        cut = obj.cutoff if cutoff is None else cutoff
        if cut is None:
            raise ModelError("bunching needs a cut-off: the scorecard has none; pass cutoff=.")

        def points(df: pd.DataFrame) -> np.ndarray:
            return obj.score(df)["score"].to_numpy(dtype=float)

        return points, float(cut), 1.0
    if not hasattr(obj, "predict"):
        raise ModelError(
            f"model_or_scorecard must be a fitted model, a Scorecard or the path of either; "
            f"got {type(obj).__name__}."
        )
    if cutoff is None:
        saved = getattr(obj, "thresholds", None) or {}
        cutoff = saved.get("poverty_line", saved.get("threshold"))
    if cutoff is None:
        raise ModelError("bunching needs a cut-off on the model's scale: pass cutoff=.")
    # probit/logit predict the probability of being poor: eligible above the cut-off
    sign = -1.0 if getattr(obj, "model_type", "") in ("probit", "logit") else 1.0

    def predict(df: pd.DataFrame) -> np.ndarray:
        return sign * np.asarray(obj.predict(df), dtype=float)

    return predict, sign * float(cutoff), sign


def _manipulate(reg: pd.DataFrame, score, cut: float, share: float, unverifiable: set[str],
                rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float], list[str]]:
    """Change unverifiable answers of a share of households just above the cut-off.

    Returns the positions of the households that fell below the cut-off, the band (on the
    oriented score) and the columns changed. ``reg`` is changed in place.
    """
    s = score(reg)
    band = BAND_SD * float(np.std(s))
    in_band = np.flatnonzero((s >= cut) & (s < cut + band))
    chosen = in_band[rng.random(in_band.size) < share]
    steps = [m for m in MANIPULABLE if m[0] in unverifiable and m[0] in reg.columns]
    changed = [c for col, share_col, _ in steps for c in (col, share_col) if c is not None]
    work = reg.iloc[chosen].copy()
    current = s[chosen]
    for col, share_col, per in steps:
        while True:
            can = (current >= cut) & (work[col].to_numpy() > 0)
            if not can.any():
                break
            trial = work.loc[work.index[can]].copy()
            trial[col] = trial[col] - 1
            if share_col is not None and per is not None:
                denom = trial[per].to_numpy(dtype=float)
                trial[share_col] = np.where(denom > 0, trial[col].to_numpy() / np.where(
                    denom > 0, denom, 1.0), 0.0)
            new = score(trial)
            lower = new < current[can]
            if not lower.any():
                break
            labels = trial.index[lower]
            for c in (col, share_col):
                if c is not None:
                    work.loc[labels, c] = trial.loc[labels, c].to_numpy()
            current[np.flatnonzero(can)[lower]] = new[lower]
    done = current < cut
    labels = work.index[done]
    if changed and len(labels):
        reg.loc[labels, changed] = work.loc[labels, changed].to_numpy()
    return chosen[done], (cut, cut + band), changed


def synthetic_registry(
    model_or_scorecard: Any = None,
    n_households: int = 20_000,
    seed: int = 0,
    *,
    drift: bool = True,
    bunching: float = 0.0,
    cutoff: float | None = None,
    source: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A registry of applicant households built from the embedded survey, with known drift
    and manipulation.

    Parameters
    ----------
    model_or_scorecard : fitted model, Scorecard, or path of either, optional
        Needed only with ``bunching > 0``: the score that applicants game. Models score on
        their own scale (e.g. log per-capita consumption); scorecards in points.
    n_households : int, default 20_000
        Registry records (rows).
    seed : int, default 0
        Seed of every random draw (the survey draw, the resampling, the drift and the
        manipulation): the same arguments give the same frame.
    drift : bool, default True
        Plant the drift of the module docstring (:data:`DRIFT`): car ownership +15
        percentage points, regions 8 and 11 drawn 2.5 times as often, one more room for
        40 % of households.
    bunching : float, default 0.0
        Share (0 to 1) of the households scoring just above the cut-off (within a quarter
        of a standard deviation of the score) who change their unverifiable answers to fall
        below it (see the module docstring).
    cutoff : float, optional
        The eligibility cut-off on the score's scale (default: the scorecard's cut-off, or
        the model artifact's threshold).
    source : pandas.DataFrame, optional
        The survey to resample (columns of :func:`pmt.datasets.synthetic_hbs`, with its
        ``weight``). Default: ``synthetic_hbs(20_000, seed=seed + 1)``, a survey draw
        independent of the demo's ``synthetic_hbs(20_000, seed=0)``.

    Returns
    -------
    pandas.DataFrame
        One row per household, columns of ``data_spec/registry.yaml`` in its order, text ids
        ``hh_id`` (``"R000001"``, ...). ``attrs`` holds the truth: ``drifted`` (columns the
        drift changed, empty without drift), ``drift`` (the sizes), ``manipulated`` (number
        of households that changed answers), ``manipulated_ids``, ``manipulated_proxies``,
        ``band`` (score band gamed, on the score's scale), ``cutoff`` and ``seed``.

    Raises
    ------
    pmt.DataError
        For a bad size, seed or bunching share, or a ``source`` without the registry columns.
    pmt.ModelError
        With ``bunching > 0`` but no model or no cut-off.
    """
    n = _check_int(n_households, "n_households", 1)
    seed = _check_int(seed, "seed", 0)
    if isinstance(bunching, bool) or not isinstance(bunching, numbers.Real) or not (
            0.0 <= float(bunching) <= 1.0):
        raise DataError(f"`bunching` must be a share between 0 and 1; got {bunching!r}.")
    if bunching > 0 and model_or_scorecard is None:
        raise ModelError("bunching > 0 needs the model or scorecard whose score is gamed: pass "
                         "model_or_scorecard (e.g. 'models/pmt_ols.json').")
    spec = _registry_spec()
    if source is None:
        from pmt.datasets.synthetic import synthetic_hbs

        source = synthetic_hbs(20_000, seed=seed + 1)
    columns = [c for c in spec.columns if c != "hh_id"]
    lacking = [c for c in [*columns, "weight"] if c not in source.columns]
    if lacking:
        raise DataError(f"`source` lacks column(s) {', '.join(lacking)} of a synthetic_hbs "
                        "survey; pass a frame from pmt.datasets.synthetic_hbs.")
    rng = np.random.default_rng(seed)
    p = source["weight"].to_numpy(dtype=float).copy()
    region = source["region"].to_numpy()
    if drift:
        p *= np.where(np.isin(region, DRIFT_REGIONS), DRIFT["region_factor"], 1.0)
    rows = rng.choice(len(source), size=n, replace=True, p=p / p.sum())
    reg = source.iloc[rows][columns].reset_index(drop=True)
    if drift:
        car = reg["car"].to_numpy().copy()
        no_car = car == 0
        gain = DRIFT["car_points"] / max(float(no_car.mean()), 1e-12)
        car[no_car & (rng.random(n) < gain)] = 1
        reg["car"] = car
        more = rng.random(n) < DRIFT["rooms_share"]
        rooms = reg["rooms"].to_numpy() + more.astype(reg["rooms"].dtype)
        reg["rooms"] = rooms
        # derived as in the survey (data_spec/registry.yaml): 1-2, 3, 4-6, 7+ rooms
        reg["rooms_cat"] = np.select([rooms <= 2, rooms == 3, rooms <= 6], [1, 2, 3], 4)
        reg["persons_per_room"] = reg["hh_size"].to_numpy() / rooms
    ids = np.array([f"R{i:06d}" for i in range(1, n + 1)], dtype=object)
    reg.insert(0, "hh_id", pd.array(ids, dtype="str"))
    manipulated = np.empty(0, dtype=np.int64)
    band: tuple[float, float] | None = None
    changed: list[str] = []
    cut_used: float | None = None
    if bunching > 0:
        score, cut, sign = _scorer(model_or_scorecard, cutoff)
        unverifiable = {c for c in spec.columns if not spec[c].verifiable}
        manipulated, oriented, changed = _manipulate(reg, score, cut, float(bunching),
                                                     unverifiable, rng)
        cut_used = sign * cut
        band = (oriented if sign > 0 else (-oriented[1], -oriented[0]))
    elif cutoff is not None:
        cut_used = float(cutoff)
    reg.attrs = {
        "drifted": list(DRIFTED) if drift else [],
        "drift": ({**DRIFT, "regions": list(DRIFT_REGIONS)} if drift else {}),
        "manipulated": int(manipulated.size),
        "manipulated_ids": reg["hh_id"].iloc[np.sort(manipulated)].astype(str).tolist(),
        "manipulated_proxies": changed,
        "band": band,
        "cutoff": cut_used,
        "seed": seed,
    }
    return reg

