"""Load the calibration file of the synthetic survey and derive the published specifications.

Every number the simulation uses lives in ``calibration.yaml`` next to this module, with a
comment giving its source (table and page of the reference report) or saying that it is a
modelling choice. This module reads it once and derives from it the model formulas and the
true coefficients that :func:`pmt.datasets.synthetic_hbs` generates data from.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml

CALIBRATION_PATH = Path(__file__).with_name("calibration.yaml")

#: Order of the categorical PMT terms in :data:`PMT_FORMULA`.
_PMT_CATEGORICAL_ORDER = ("region", "hh_size_cat", "rooms_cat", "heating", "cooking_fuel")


@lru_cache(maxsize=1)
def _load() -> dict:
    with CALIBRATION_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_calibration() -> dict:
    """Return the calibration parameters of the synthetic survey (a fresh deep copy).

    Returns
    -------
    dict
        The parsed ``pmt/datasets/calibration.yaml``: ``targets``, ``population``,
        ``design``, ``latent``, ``demography``, ``dwelling``, ``land``, ``pmt``,
        ``poverty``, ``income`` and ``social_assistance`` sections. Money is in Uzbek sum
        (UZS) per month, 2018 prices.
    """
    return copy.deepcopy(_load())


def _pmt_terms(cal: dict) -> tuple[str, dict[str, float]]:
    pmt = cal["pmt"]
    rhs: list[str] = []
    coefs: dict[str, float] = {"Intercept": float(pmt["intercept"])}
    for name in _PMT_CATEGORICAL_ORDER:
        rhs.append(f"C({name})")
        for level, value in sorted(pmt["categorical"][name].items()):
            coefs[f"C({name})[T.{int(level)}]"] = float(value)
    for name, value in pmt["numeric"].items():
        rhs.append(name)
        coefs[name] = float(value)
    return "log_pcc ~ " + " + ".join(rhs), coefs


def _htv_formula(lhs: str, coefs: dict) -> str:
    return f"{lhs} ~ " + " + ".join(k for k in coefs if k != "Intercept")


_CAL = _load()
PMT_FORMULA, PMT_COEFFICIENTS = _pmt_terms(_CAL)
HTV_SELECTION_FORMULA = _htv_formula("has_htv", _CAL["income"]["htv_selection"])
HTV_OUTCOME_FORMULA = _htv_formula("log_inc_htv", _CAL["income"]["htv_outcome"])
HTV_TRUE_PARAMS: dict = {
    "selection": {k: float(v) for k, v in _CAL["income"]["htv_selection"].items()},
    "outcome": {k: float(v) for k, v in _CAL["income"]["htv_outcome"].items()},
    "sigma": float(_CAL["income"]["htv_sigma"]),
    "rho": float(_CAL["income"]["htv_rho"]),
}
HTV_TRUE_PARAMS["lambda"] = HTV_TRUE_PARAMS["rho"] * HTV_TRUE_PARAMS["sigma"]
REGION_LABELS: dict[int, str] = {
    int(k): str(v["name"]) for k, v in _CAL["population"]["regions"].items()
}
POVERTY_LINE: float = float(_CAL["poverty"]["line"])
