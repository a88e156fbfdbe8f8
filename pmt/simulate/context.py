"""Evaluation context shared by eligibility rules and benefit formulas.

A :class:`Context` holds the household data a policy is applied to, the survey weights,
the assessment unit (household or nuclear family) and the policy's named parameters
(e.g. ``gmi: 300``, ``MW: 184300``). Rules and formulas read columns and resolve numeric
values through it, so that every missing column or unknown parameter raises one clear
:class:`~pmt.errors.PolicyError`.

Numeric fields of rules and formulas accept a number, a parameter name (``"gmi"``) or a
multiple of one (``"1.5 * MW"``, ``"MW * 0.2"``). Nothing is evaluated as code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pmt.errors import PolicyError, example_rows

UNITS = ("household", "family")

#: periods money can be stated in, and how many of each make a year
PERIODS: dict[str, int] = {"month": 12, "quarter": 4, "year": 1}


def periods_per_year(period, who: str = "period") -> int:
    """Number of ``period`` (month, quarter, year) in a year; PolicyError otherwise."""
    if period not in PERIODS:
        raise PolicyError(
            f"`{who}` must be one of {', '.join(PERIODS)}; got {period!r}. State amounts per "
            "month (default), per quarter or per year."
        )
    return PERIODS[period]

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_REF = re.compile(
    rf"^\s*(?:(?P<pre>{_NUM})\s*\*\s*)?(?P<name>[A-Za-z_]\w*)\s*(?:\*\s*(?P<post>{_NUM}))?\s*$"
)


def parse_value(value) -> tuple[float, str | None]:
    """Split a numeric field into (factor, parameter name); a plain number has no name.

    ``300`` -> (300.0, None); ``"gmi"`` -> (1.0, "gmi"); ``"1.5 * MW"`` -> (1.5, "MW").
    """
    if isinstance(value, bool):
        raise PolicyError(f"expected a number or a parameter reference, got {value!r}.")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value), None
    if isinstance(value, str):
        try:
            return float(value), None
        except ValueError:
            pass
        m = _REF.match(value)
        if m is None:
            raise PolicyError(
                f"cannot read the value {value!r}: write a number, a parameter name such as "
                "'gmi', or a multiple such as '1.5 * MW'."
            )
        factor = float(m.group("pre") or 1.0) * float(m.group("post") or 1.0)
        return factor, m.group("name")
    raise PolicyError(f"expected a number or a parameter reference, got {value!r}.")



def construct(cls, params: Mapping, who: str, hint: str = "Check the parameter names."):
    """``cls(**params)`` for a rule, benefit or take-up read from a policy mapping.

    A TypeError (unknown or missing parameter) becomes a PolicyError
    ``"{who}: {error}. {hint}"``.
    """
    try:
        return cls(**params)
    except TypeError as exc:
        raise PolicyError(f"{who}: {exc}. {hint}") from exc

@dataclass
class Context:
    """Data, weights, unit and parameters a policy is evaluated on.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per household.
    weight : numpy.ndarray
        Household weights w_h.
    size : numpy.ndarray
        Household sizes n_h.
    parameters : mapping
        Named policy parameters (amounts in the currency and period of the policy).
    unit : {"household", "family"}
        Assessment unit. With ``"family"`` the unit size is the column named by
        ``family_size`` (members of the nuclear family assessed, parents and children).
    family_size : str, optional
        Column of nuclear-family size, needed when ``unit="family"``.
    prior_income : numpy.ndarray, optional
        Benefits of programmes assessed earlier in a :class:`~pmt.simulate.Package`
        (household, per period), added to assessed income by income tests and top-ups.
    """

    data: pd.DataFrame
    weight: np.ndarray
    size: np.ndarray
    parameters: Mapping[str, float] = field(default_factory=dict)
    unit: str = "household"
    family_size: str | None = None
    prior_income: np.ndarray | None = None

    def __post_init__(self):
        if self.unit not in UNITS:
            raise PolicyError(f"`unit` must be 'household' or 'family'; got {self.unit!r}.")
        if self.unit == "family":
            if not self.family_size:
                raise PolicyError(
                    "unit='family' needs the nuclear-family size column: set `family_size` "
                    "(e.g. family_size: family_size) and give family income columns to the "
                    "income tests."
                )
            self.unit_size = self.column(self.family_size, "family unit")
            bad = ~(self.unit_size >= 1)
            if bad.any():
                raise PolicyError(
                    f"family size column '{self.family_size}' must be >= 1; "
                    f"{int(bad.sum())} bad values at {example_rows(self.data.index[bad])}."
                )
        else:
            self.unit_size = np.asarray(self.size, dtype=float)

    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def person_weight(self) -> np.ndarray:
        return self.weight * self.size

    def require(self, columns, who: str) -> None:
        """Raise one PolicyError listing every column of ``columns`` absent from the data."""
        missing = [c for c in columns if c not in self.data.columns]
        if missing:
            hint = (
                " The family unit needs family-level columns (family size, family income): "
                "build them from the person roster first."
                if self.unit == "family"
                else ""
            )
            raise PolicyError(
                f"{who} needs column(s) {', '.join(repr(c) for c in missing)}, not in the "
                f"data. Rename the rule's column or add it to the data.{hint}"
            )

    def column(self, name: str, who: str) -> np.ndarray:
        """A numeric column; missing values raise (rules cannot decide on them)."""
        self.require([name], who)
        values = pd.to_numeric(self.data[name], errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(values)
        if bad.any():
            raise PolicyError(
                f"{who}: column '{name}' has {int(bad.sum())} missing or non-numeric values at "
                f"{example_rows(self.data.index[bad])}. Impute them or drop those households "
                "from the survey before simulating."
            )
        return values

    def income(self, name: str, who: str) -> np.ndarray:
        """An assessed-income column plus benefits of programmes assessed before."""
        y = self.column(name, who)
        return y if self.prior_income is None else y + self.prior_income

    def count(self, columns, who: str) -> np.ndarray:
        """One column, or the sum of a list of columns (e.g. children 0-5 + 6-14)."""
        if isinstance(columns, str):
            return self.column(columns, who)
        cols = list(columns)
        self.require(cols, who)
        return sum(self.column(c, who) for c in cols)

    def value(self, value, who: str) -> float:
        """Resolve a number or parameter reference to a float."""
        factor, name = parse_value(value)
        if name is None:
            return factor
        if name not in self.parameters:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise PolicyError(
                f"{who} refers to parameter '{name}', which the policy does not define "
                f"(defined: {known}). Add it under `parameters`."
            )
        return factor * float(self.parameters[name])
