"""Evaluation context shared by eligibility rules and benefit formulas.

A :class:`Context` holds the household data a policy is applied to, the survey weights,
the assessment unit (household or nuclear family) and the policy's named parameters
(e.g. ``gmi: 300``, ``MW: 184300``). Rules and formulas read columns and resolve numeric
values through it, so that every missing column or unknown parameter raises one clear
:class:`~pmt.errors.PolicyError`.

Numeric fields of rules and formulas accept a number, a parameter name (``"gmi"``) or a
multiple of one (``"1.5 * MW"``, ``"MW * 0.2"``). Nothing is evaluated as code.

A threshold, an amount or a parameter may also **vary by household** (regional
subsistence minima, Kazakhstan 2017): ``{"column": "regional_min"}`` reads a column of
the data, ``{"by": "region", "values": {1: 150000, 2: 140000}}`` looks each household's
group up in a mapping (every group in the data needs a value). :meth:`Context.value` then
returns one number per household instead of a float; a parameter given that way scales
per household (``"1.2 * gmi"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from pmt._validation import column_or_array
from pmt.errors import DataError, PolicyError, example_rows

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


VARYING_FORMS = "{column: name} or {by: column, values: {code: number, ...}}"


def varying_spec(value, who: str = "value") -> dict | None:
    """The normalised form of a value varying by household, or None for any other value.

    ``{"column": c}`` or ``{"by": c, "values": {code: number}}``; anything else that is a
    mapping raises PolicyError naming ``who`` and the accepted forms.
    """
    if not isinstance(value, Mapping):
        return None
    keys = set(value)
    if keys == {"column"}:
        col = value["column"]
        if not isinstance(col, str) or not col:
            raise PolicyError(f"{who}: `column` must name a column of the data; got {col!r}.")
        return {"column": col}
    if keys == {"by", "values"}:
        by, values = value["by"], value["values"]
        if not isinstance(by, str) or not by:
            raise PolicyError(
                f"{who}: `by` must name the column of group codes (e.g. by: region); "
                f"got {by!r}."
            )
        if not isinstance(values, Mapping) or not values:
            raise PolicyError(
                f"{who}: `values` must map each group code of '{by}' to a number, e.g. "
                f"{{1: 150000, 2: 140000}}; got {values!r}."
            )
        table = {}
        for code, v in values.items():
            factor, name = (None, None)
            if not isinstance(v, Mapping):
                try:
                    factor, name = parse_value(v)
                except PolicyError:
                    pass
            if factor is None or name is not None or not np.isfinite(factor):
                raise PolicyError(
                    f"{who}: the value for group {code!r} of '{by}' must be a number; got {v!r}."
                )
            table[code.item() if isinstance(code, np.generic) else code] = factor
        return {"by": by, "values": table}
    raise PolicyError(
        f"{who}: cannot read {dict(value)!r}. A value varying by household is written "
        f"{VARYING_FORMS}."
    )


def is_varying(value) -> bool:
    """``value`` is a column or a mapping by group (validated by :func:`varying_spec`)."""
    return isinstance(value, Mapping)


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def describe_value(value) -> str:
    """A field as printed by ``describe()``: ``regional_min (column)``, ``by region: 1:
    150,000; 2: 140,000``, or the value itself.
    """
    try:
        spec = varying_spec(value)
    except PolicyError:
        spec = None
    if spec is None:
        return f"{value}"
    if "column" in spec:
        return f"{spec['column']} (column)"
    return f"by {spec['by']}: " + "; ".join(
        f"{k}: {_fmt(v)}" for k, v in spec["values"].items()
    )


def parse_value(value) -> tuple[float, str | None]:
    """Split a numeric field into (factor, parameter name); a plain number has no name.

    ``300`` -> (300.0, None); ``"gmi"`` -> (1.0, "gmi"); ``"1.5 * MW"`` -> (1.5, "MW").
    A value varying by household (``{column: ...}`` or ``{by: ..., values: ...}``, checked
    by :func:`varying_spec`) refers to no parameter: (1.0, None).
    """
    if isinstance(value, Mapping):
        varying_spec(value)
        return 1.0, None
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
        """Number of households (rows of the data)."""
        return len(self.data)

    @property
    def person_weight(self) -> np.ndarray:
        """Person weight of each household: household weight times size."""
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
        """A numeric column; missing values raise (rules cannot decide on them).

        The check is :func:`pmt._validation.column_or_array`'s, re-raised as a
        :class:`PolicyError` that names the rule (``who``) asking for the column.
        """
        self.require([name], who)
        try:
            return column_or_array(name, self.data, name=name)
        except DataError as exc:
            raise PolicyError(f"{who}: {exc}") from exc

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
        # policy columns lists are non-empty: the sum is an array
        return cast(np.ndarray, sum(self.column(c, who) for c in cols))

    def value(self, value, who: str) -> float | np.ndarray:
        """Resolve a number or parameter reference to a float.

        A value varying by household (given directly, or a parameter defined that way)
        resolves to one number per household (an array of length ``n``).
        """
        if is_varying(value):
            return self.varying(value, who)
        factor, name = parse_value(value)
        if name is None:
            return factor
        if name not in self.parameters:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise PolicyError(
                f"{who} refers to parameter '{name}', which the policy does not define "
                f"(defined: {known}). Add it under `parameters`."
            )
        param = self.parameters[name]
        if is_varying(param):
            return factor * self.varying(param, f"{who} (parameter '{name}')")
        return factor * float(param)

    def scalar(self, value, who: str) -> float:
        """Like :meth:`value`, for a field that must be one number for every household."""
        v = self.value(value, who)
        if np.ndim(v) != 0:
            raise PolicyError(
                f"{who} must be one number, not a value varying by household ({value!r}): "
                "give a number or a parameter defined as a number."
            )
        return cast(float, v)  # ndim 0: value() gave a number, not an array

    def varying(self, value, who: str) -> np.ndarray:
        """One number per household from ``{column: c}`` or ``{by: c, values: {...}}``."""
        spec = varying_spec(value, who)
        assert spec is not None  # callers pass values is_varying() accepted (mappings)
        if "column" in spec:
            return self.column(spec["column"], who)
        by, table = spec["by"], spec["values"]
        self.require([by], f"{who} (by '{by}')")
        col = self.data[by]
        absent = col.isna().to_numpy()
        if absent.any():
            raise PolicyError(
                f"{who}: group column '{by}' is missing for {int(absent.sum())} households "
                f"at {example_rows(self.data.index[absent])}: every household needs a group "
                "code to look its value up."
            )
        inverse, codes = pd.factorize(col, sort=True)
        missing = [c for c in codes if c not in table]
        if missing:
            shown = ", ".join(repr(c.item() if isinstance(c, np.generic) else c)
                              for c in missing[:10])
            raise PolicyError(
                f"{who} (by '{by}') has no value for group code(s) {shown}"
                f"{' and more' if len(missing) > 10 else ''} present in the data: add them "
                f"under `values` (codes given: {', '.join(map(repr, table))})."
            )
        return np.array([table[c] for c in codes], dtype=float)[inverse]
