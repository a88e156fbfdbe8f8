"""Time in policies: the period of amounts, duration limits, one-off payments, annual
costs, and eligibility repeated over several periods.

Period
    Every amount, threshold and income column a policy reads is stated per ``period``:
    ``month`` (default), ``quarter`` or ``year``. A parameter may be given in another
    period, ``{value: 1.8e6, per: year}``, and is converted to the policy's period
    (value x periods of ``per`` in a year / periods of the policy in a year).

Payments in a year
    A recurring benefit is paid every period: ``periods_per_year`` payments a year (12 for
    a monthly benefit). A duration limit ``{max: 6, within: 12}`` ("at most 6 months in
    any 12", Belarus 2011) pays a household at most ``max`` periods in any ``within``; a
    cross-section cannot tell how long each household stays eligible, so every beneficiary
    is assumed eligible all year and paid ``periods_per_year x max / within`` times (6 a
    year). A one-off payment (``one_off: true``) is paid once a year, or once every
    ``every`` periods (``one_off: {every: 24}``: every two years, 0.5 a year); its amount
    is the lump sum.

Annual cost = sum over households of weight x amount per payment x payments a year. In
:func:`pmt.simulate.simulate` a benefit raises welfare (an average period of the year,
as survey aggregates are) by its annual amount spread evenly over the year.

Repeated eligibility
    :func:`repeated_eligibility` applies a policy once per period (quarters of a
    household budget survey, Kazakhstan 2017), each time with that period's columns (for
    example ``income -> income_q1``), and reports the share eligible in each period, ever
    eligible and always eligible, with the two averages of the benefit (per eligible
    person-period, and per person ever eligible).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pmt.errors import PolicyError
from pmt.simulate.context import PERIODS, periods_per_year


def _positive(value, who: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0) or isinstance(value, bool):
        raise PolicyError(f"{who} must be a positive number of periods; got {value!r}.")
    return v


class Schedule:
    """When a benefit is paid: its period, an optional duration limit or a one-off payment.

    Parameters
    ----------
    period : {"month", "quarter", "year"}
        Period of the policy's amounts, thresholds and income columns.
    duration : mapping, optional
        ``{"max": k, "within": m}``: paid at most ``k`` periods in any ``m`` (``m``
        defaults to a year's periods). Every beneficiary is assumed eligible all year.
    one_off : bool or mapping
        ``True``: the amount is a lump sum paid once a year; ``{"every": k}``: once every
        ``k`` periods.
    """

    def __init__(self, period: str = "month", duration: Mapping | None = None, one_off=False):
        self.period = period
        ppy = periods_per_year(period, "period")
        self.duration: dict | None = None
        self.one_off: dict | None = None
        if duration is not None:
            if not isinstance(duration, Mapping) or "max" not in duration or (
                set(duration) - {"max", "within"}
            ):
                raise PolicyError(
                    f"`duration` must be {{max: k, within: m}} (at most k periods paid in any "
                    f"m; m defaults to {ppy}, a year); got {duration!r}."
                )
            k = _positive(duration["max"], "`duration.max`")
            m = _positive(duration.get("within", ppy), "`duration.within`")
            if k > m:
                raise PolicyError(
                    f"`duration.max` ({k:g}) cannot exceed `duration.within` ({m:g}): a "
                    "household is paid at most max periods in any within."
                )
            self.duration = {"max": k, "within": m}
        if one_off not in (False, None):
            if one_off is True:
                every = float(ppy)
            elif isinstance(one_off, Mapping) and set(one_off) <= {"every"}:
                every = _positive(one_off.get("every", ppy), "`one_off.every`")
            else:
                raise PolicyError(
                    f"`one_off` must be true (once a year) or {{every: k}} (once every k "
                    f"periods); got {one_off!r}."
                )
            if self.duration is not None:
                raise PolicyError(
                    "give `duration` (a recurring benefit paid at most k periods in m) or "
                    "`one_off` (a lump sum), not both."
                )
            self.one_off = {"every": every}

    @property
    def periods_per_year(self) -> int:
        """Number of payment periods in a year."""
        return PERIODS[self.period]

    @property
    def payments_per_year(self) -> float:
        """Payments a beneficiary receives in a year (amount per payment x this = annual)."""
        ppy = self.periods_per_year
        if self.one_off is not None:
            return ppy / self.one_off["every"]
        if self.duration is not None:
            return ppy * self.duration["max"] / self.duration["within"]
        return float(ppy)

    @property
    def is_default(self) -> bool:
        """Whether the schedule is the default: monthly, no duration limit, not one-off."""
        return self.period == "month" and self.duration is None and self.one_off is None

    def to_dict(self) -> dict:
        """The policy-file keys (``period``, ``duration``, ``one_off``) that differ from
        the defaults.
        """
        d: dict = {}
        if self.period != "month":
            d["period"] = self.period
        if self.duration is not None:
            d["duration"] = {k: _plain_number(v) for k, v in self.duration.items()}
        if self.one_off is not None:
            every = self.one_off["every"]
            d["one_off"] = True if every == self.periods_per_year else {
                "every": _plain_number(every)
            }
        return d

    def describe(self) -> str:
        """Description of the payment schedule for reports."""
        per = self.period
        n = self.payments_per_year
        if self.one_off is not None:
            every = self.one_off["every"]
            how = f"one-off payment once every {every:g} {per}s"
        elif self.duration is not None:
            d = self.duration
            how = f"paid at most {d['max']:g} {per}s in any {d['within']:g}"
        else:
            how = f"paid every {per}"
        return f"amounts per {per}; {how} ({n:g} payment{'s' if n != 1 else ''} a year)"


def _plain_number(v: float):
    return int(v) if float(v).is_integer() else float(v)


def convert_amount(value: float, per: str, period: str, who: str) -> float:
    """An amount stated per ``per`` expressed per ``period`` (e.g. per year -> per month:
    divided by 12).
    """
    return float(value) * periods_per_year(per, who) / periods_per_year(period, "period")


def annual_amounts(policy, outcome) -> np.ndarray:
    """Amount each household receives in a year: benefit per payment x payments a year,
    summed over the programmes of a :class:`~pmt.simulate.Package`.
    """
    parts = getattr(outcome, "components", None)
    if parts:
        return np.sum(
            [annual_amounts(p, parts[p.name]) for p in policy.policies], axis=0
        )
    return np.asarray(outcome.benefit, dtype=float) * policy.schedule.payments_per_year


def repeated_eligibility(survey, policy, periods, **overrides) -> pd.DataFrame:
    """Eligibility in each of several periods, ever and always (Kazakhstan 2017: quarters).

    The policy is applied once per period to the same households (same weights), each
    time reading that period's columns in place of the ones its rules and formulas name.

    Parameters
    ----------
    survey : pmt.Survey
        Households with weights and sizes, holding one column per period for each
        quantity that changes (e.g. ``income_q1`` ... ``income_q4``, ``score_q1`` ...).
    policy : Policy or Package
    periods : mapping or sequence of mappings
        ``{label: {column: column_in_that_period}}``, e.g. ``{"Q1": {"income":
        "income_q1"}, "Q2": {"income": "income_q2"}, ...}``; a list of mappings is
        labelled 1, 2, ... At least two periods.
    **overrides
        Parameter values replacing the policy's.

    Returns
    -------
    pandas.DataFrame
        Rows: each period, ``ever eligible`` (in at least one period) and ``always
        eligible`` (in every period). Columns: ``households`` and ``people`` (weighted),
        ``share`` (of the population, person-weighted), ``share_of_ever`` (of the people
        ever eligible: for ``always eligible`` the persistence), ``budget`` (sum of weight
        x benefit paid per period of the policy; for ``ever eligible`` the total over the
        periods) and ``benefit_per_person`` (budget / people eligible in the period; for
        ``ever eligible`` the total over the periods / (number of periods x people ever
        eligible), the report's "average by year"). ``attrs["average_per_eligible_period"]``
        is the report's "average by quarter": total budget / eligible person-periods.
    """
    from pmt.survey import Survey

    if not isinstance(survey, Survey):
        raise PolicyError("`survey` must be a pmt.Survey.")
    if isinstance(periods, Mapping):
        items = [(str(k), m) for k, m in periods.items()]
    elif isinstance(periods, Sequence) and not isinstance(periods, str):
        items = [(str(i), m) for i, m in enumerate(periods, start=1)]
    else:
        raise PolicyError(
            "`periods` must map each period's label to {column: that period's column}, "
            "e.g. {Q1: {income: income_q1}, Q2: {income: income_q2}}."
        )
    if len(items) < 2:
        raise PolicyError("`periods` needs at least two periods to compare eligibility over.")
    data = survey.data
    w, v = survey.household_weight, survey.person_weight
    masks, budgets = [], []
    for label, mapping in items:
        if not isinstance(mapping, Mapping) or not mapping:
            raise PolicyError(
                f"period {label!r}: give a mapping {{column: that period's column}}; got "
                f"{mapping!r}."
            )
        missing = [c for c in mapping.values() if c not in data.columns]
        if missing:
            raise PolicyError(
                f"period {label!r}: column(s) {missing} are not in the survey data; name the "
                "columns holding that period's values."
            )
        frame = data.assign(**{str(k): data[c] for k, c in mapping.items()})
        out = policy.evaluate(frame, weight=w, size=survey.household_size, check=False,
                              **overrides)
        masks.append(np.asarray(out.eligible, dtype=bool))
        budgets.append(float(np.sum(w * out.benefit)))
    e = np.vstack(masks)
    ever, always = e.any(axis=0), e.all(axis=0)
    k = len(items)
    people_ever = float(np.sum(v * ever))
    rows = {}
    for (label, _), m, b in zip(items, masks, budgets, strict=True):
        people = float(np.sum(v * m))
        rows[label] = {"households": float(np.sum(w * m)), "people": people, "budget": b,
                       "benefit_per_person": b / people if people > 0 else np.nan}
    total = float(np.sum(budgets))
    rows["ever eligible"] = {
        "households": float(np.sum(w * ever)), "people": people_ever, "budget": total,
        "benefit_per_person": total / (k * people_ever) if people_ever > 0 else np.nan,
    }
    rows["always eligible"] = {
        "households": float(np.sum(w * always)), "people": float(np.sum(v * always)),
        "budget": np.nan, "benefit_per_person": np.nan,
    }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.insert(2, "share", out["people"] / v.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        out.insert(3, "share_of_ever", out["people"] / people_ever)
    out.index.name = "period"
    person_periods = float(np.sum(v * e))
    out.attrs["average_per_eligible_period"] = total / person_periods if person_periods else np.nan
    out.attrs["periods"] = [label for label, _ in items]
    return out


__all__ = ["Schedule", "annual_amounts", "convert_amount", "repeated_eligibility"]
