"""A programme as data: eligibility rule, benefit formula, unit, take-up, parameters.

``Policy.evaluate(data, weight, size)`` applies it to household rows and returns who is
eligible, the entitlement and the expected (or drawn) benefit paid. ``Policy.to_dict`` /
``Policy.from_dict`` / ``Policy.from_yaml`` round-trip the policy file format documented in
``data_spec/policy.md``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pmt.errors import PolicyError
from pmt.simulate.benefits import Benefit, benefit_from_dict
from pmt.simulate.context import UNITS, Context, describe_value, varying_spec
from pmt.simulate.rules import Rule, rule_from_dict
from pmt.simulate.takeup import TakeUp
from pmt.simulate.timing import Schedule, annual_amounts, convert_amount
from pmt.simulate.units import FamilyUnits, families_of
from pmt.survey import Survey

POLICY_KEYS = {
    "name",
    "description",
    "parameters",
    "unit",
    "family_size",
    "eligibility",
    "benefit",
    "takeup",
    "data",
    "survey",
    "simulation",
    "scores",
    "currency",
    "period",
    "duration",
    "one_off",
    "roster",
}


FILE_SECTIONS = ("data", "survey", "scores", "simulation", "roster")


@dataclass
class PolicyOutcome:
    """What a policy gives each household (arrays aligned with the data rows).

    eligible : bool array, the unit passes the rules.
    entitlement : amount per payment (per period of the policy, monthly by default) the
        household is entitled to (0 if not eligible).
    takeup : take-up factor (rate in expected mode, 0/1 in random mode).
    benefit : amount paid per payment = entitlement x take-up.
    """

    index: pd.Index
    eligible: np.ndarray
    entitlement: np.ndarray
    takeup: np.ndarray
    benefit: np.ndarray
    components: dict | None = None  # name -> PolicyOutcome, for a Package
    units: pd.DataFrame | None = None  # one row per family when assessed by family
    unit_rows: np.ndarray | None = None  # household row of each unit (family)

    @property
    def beneficiary(self) -> np.ndarray:
        """Households receiving a positive amount (with some probability in expected mode)."""
        return (self.benefit > 0) & self.eligible

    def frame(self) -> pd.DataFrame:
        """The outcome as a frame: eligible, entitlement, take-up and benefit per household."""
        return pd.DataFrame(
            {
                "eligible": self.eligible,
                "entitlement": self.entitlement,
                "takeup": self.takeup,
                "benefit": self.benefit,
            },
            index=self.index,
        )


@dataclass
class Policy:
    """A targeted (or universal) cash programme.

    Parameters
    ----------
    benefit : Benefit or mapping
        Benefit formula (see :mod:`pmt.simulate.benefits`).
    eligibility : Rule, mapping, list or None
        Eligibility rule (a list means all of them). ``None`` means universal: every
        household is eligible.
    name : str
        Label used in tables.
    parameters : mapping
        Named numbers referred to by rules and formulas (e.g. ``gmi``, ``MW``), in the
        policy's currency per ``period``; a value may be ``{"value": 1.8e6, "per":
        "year"}``, converted to the policy's period (stored converted, written back in
        its own period); or a value varying by household, ``{"column": "regional_min"}``
        or ``{"by": "region", "values": {1: 150000, 2: 140000}}``, so that ``"1.2 *
        gmi"`` scales each household's own value. Solvers and scenario grids need a
        parameter that is one number (PolicyError otherwise).
    unit : {"household", "family"}
        Assessment unit; ``"family"`` needs ``family_size`` (and family income columns in
        the income tests): the benefit computed for the family is paid to its household.
    takeup : TakeUp, float or mapping
        Take-up; full by default.
    currency : str
        Label of the amounts.
    period : {"month", "quarter", "year"}
        Period of every amount, threshold and income column the policy reads (default
        month). Budgets are reported per period, per month on average and per year.
    description : str
        Free text.
    duration : mapping, optional
        Duration limit ``{"max": 6, "within": 12}``: paid at most 6 periods in any 12
        (Belarus 2011); beneficiaries are assumed eligible all year, so the annual cost
        is the amount x 12 x 6 / 12.
    one_off : bool or mapping
        ``True``: the amount is a lump sum paid once a year; ``{"every": 24}``: once
        every 24 periods.
    """

    benefit: Benefit
    eligibility: Rule | None = None
    name: str = "policy"
    parameters: dict = field(default_factory=dict)
    unit: str = "household"
    family_size: str | None = None
    takeup: TakeUp = field(default_factory=TakeUp)
    currency: str = ""
    period: str = "month"
    description: str = ""
    extra: dict = field(default_factory=dict)  # data/survey/simulation sections of a file
    duration: dict | None = None
    one_off: bool | dict = False
    parameter_periods: dict = field(default_factory=dict)  # name -> period it was given in

    def __post_init__(self):
        if isinstance(self.eligibility, (dict, list)):
            self.eligibility = rule_from_dict(self.eligibility)
        if self.eligibility is not None and not isinstance(self.eligibility, Rule):
            raise PolicyError(f"`eligibility` must be a rule; got {self.eligibility!r}.")
        self.benefit = benefit_from_dict(self.benefit)
        if not isinstance(self.takeup, TakeUp):
            self.takeup = TakeUp.from_dict(self.takeup)
        if self.unit not in UNITS:
            raise PolicyError(f"`unit` must be 'household' or 'family'; got {self.unit!r}.")
        Schedule(self.period, self.duration, self.one_off)  # validates period and payments
        params: dict[str, Any] = {}  # a number, or a spec of values varying by household
        periods = dict(self.parameter_periods or {})
        for k, v in dict(self.parameters or {}).items():
            k = str(k)
            if isinstance(v, Mapping) and ({"column", "by", "values"} & set(v)):
                params[k] = varying_spec(v, f"parameter '{k}'")
                continue
            if isinstance(v, Mapping):
                if "value" not in v or set(v) - {"value", "per"}:
                    raise PolicyError(
                        f"parameter '{k}' must be a number or {{value: number, per: "
                        f"month|quarter|year}}; got {v!r}."
                    )
                per = v.get("per", self.period)
                value = _number(v["value"], k)
                params[k] = convert_amount(value, per, self.period, f"parameters.{k}.per")
                if per != self.period:
                    periods[k] = per
                continue
            params[k] = _number(v, k)
        self.parameters = params
        self.parameter_periods = {k: p for k, p in periods.items() if k in params}

    # --- evaluation ----------------------------------------------------------------------
    def context(
        self, data: pd.DataFrame, weight=None, size=None, prior_income=None, **overrides
    ) -> Context:
        """Evaluation context of ``data`` with the policy's parameters and scalar ``overrides``."""
        n = len(data)
        w = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
        s = np.ones(n) if size is None else np.asarray(size, dtype=float)
        params = dict(self.parameters)
        varying = [k for k in overrides if isinstance(params.get(k), Mapping)]
        if varying:
            k = varying[0]
            raise PolicyError(
                f"parameter '{k}' of policy '{self.name}' varies by household "
                f"({describe_value(params[k])}): it cannot be set to one number by a "
                "solver or a scenario grid. Solving needs a scalar parameter: define "
                f"'{k}' as a number to solve or vary it."
            )
        params.update({k: float(v) for k, v in overrides.items()})
        return Context(data, w, s, params, self.unit, self.family_size, prior_income)

    def evaluate(
        self,
        data: pd.DataFrame | Survey,
        weight=None,
        size=None,
        check: bool = True,
        prior_income=None,
        **overrides,
    ) -> PolicyOutcome:
        """Apply the policy to household rows.

        Parameters
        ----------
        data : pandas.DataFrame or pmt.Survey
            Household rows (a Survey supplies weights and sizes). A survey carrying
            families (:func:`pmt.simulate.units.with_families`) has a ``unit: family``
            policy assessed on each family; the outcome is summed to households and
            ``PolicyOutcome.units`` holds one row per family.
        weight, size : array-like, optional
            Household weights and sizes when ``data`` is a DataFrame.
        check : bool
            Raise PolicyError when the rules select nobody or every household (the
            latter only for targeted policies, i.e. with an eligibility rule).
        prior_income : array-like, optional
            Household benefits of programmes assessed before this one, counted as income
            by income tests and top-ups (see :class:`Package`).
        **overrides
            Parameter values replacing the policy's (e.g. ``gmi=350``).
        """
        families = families_of(data)
        if families is not None and self.unit == "family":
            return self._evaluate_families(data, families, check, prior_income, overrides)
        if isinstance(data, Survey):
            weight, size, data = data.household_weight, data.household_size, data.data
        ctx = self.context(data, weight, size, prior_income, **overrides)
        return self.evaluate_context(ctx, check=check)

    def _evaluate_families(
        self, survey: Survey, fam: FamilyUnits, check: bool, prior_income, overrides
    ) -> PolicyOutcome:
        """Assess each family; each household gets the sum of its families' amounts."""
        policy = self
        if self.family_size is None:
            policy = copy.copy(self)
            policy.family_size = fam.size
        rows = fam.household_row
        size = fam.family_size
        prior = None if prior_income is None else fam.from_households(prior_income, share=True)
        ctx = policy.context(fam.data, survey.household_weight[rows], size, prior, **overrides)
        out = policy.evaluate_context(ctx, check=check)
        entitlement = fam.to_households(out.entitlement)
        benefit = fam.to_households(out.benefit)
        with np.errstate(invalid="ignore", divide="ignore"):
            takeup = np.where(entitlement > 0, benefit / entitlement, 0.0)
        units = fam.data[[fam.household, fam.family]].copy()
        units["family_size"] = size
        units["eligible"] = out.eligible
        units["entitlement"] = out.entitlement
        units["takeup"] = out.takeup
        units["benefit"] = out.benefit
        return PolicyOutcome(
            survey.data.index, fam.to_households(out.eligible) > 0, entitlement, takeup,
            benefit, units=units, unit_rows=rows,
        )

    def evaluate_context(self, ctx: Context, check: bool = True) -> PolicyOutcome:
        """Outcome of the policy in an evaluation context (``check`` rejects selecting nobody)."""
        if self.eligibility is None:
            eligible = np.ones(ctx.n, dtype=bool)
        else:
            eligible = np.asarray(self.eligibility.mask(ctx), dtype=bool)
        if check and self.eligibility is not None:
            if not eligible.any():
                raise PolicyError(
                    f"policy '{self.name}' selects nobody: no household passes "
                    f"{self.eligibility.describe()}. Check thresholds (units, per capita vs "
                    "household) and parameter values."
                )
            if eligible.all():
                raise PolicyError(
                    f"policy '{self.name}' selects every household: the rules "
                    f"({self.eligibility.describe()}) exclude nobody. Check threshold units; "
                    "for a universal transfer set eligibility to None."
                )
        amount = np.asarray(self.benefit.amount(ctx), dtype=float)
        if np.any(amount < 0) or np.any(np.isnan(amount)):
            raise PolicyError(f"benefit formula of '{self.name}' gives negative or missing amounts.")
        entitlement = np.where(eligible, amount, 0.0)
        takeup = self.takeup.factors(ctx)
        return PolicyOutcome(ctx.data.index, eligible, entitlement, takeup, entitlement * takeup)

    def budget(self, survey: Survey, **overrides) -> float:
        """Budget per payment: sum over households of weight x benefit paid, per period of
        the policy (a month by default; one round of a one-off payment).
        """
        out = self.evaluate(survey, check=False, **overrides)
        return float(np.sum(survey.household_weight * out.benefit))

    def annual_budget(self, survey: Survey, **overrides) -> float:
        """Budget over a year: :meth:`budget` x payments a year (12 for a monthly benefit,
        6 under a 6-in-12 duration limit, 1 for a yearly one-off payment).
        """
        return self.budget(survey, **overrides) * self.schedule.payments_per_year

    @property
    def schedule(self) -> Schedule:
        """Period, duration limit and one-off payment of the benefit."""
        return Schedule(self.period, self.duration, self.one_off)

    @property
    def payments_per_year(self) -> float:
        """Payments a beneficiary receives in a year (see :class:`~pmt.simulate.timing.Schedule`)."""
        return self.schedule.payments_per_year

    # --- variants ------------------------------------------------------------------------
    def with_parameters(self, **values) -> Policy:
        """A copy with parameters replaced or added."""
        new = copy.deepcopy(self)
        for k, v in values.items():
            new.parameters[k] = (
                varying_spec(v, f"parameter '{k}'") if isinstance(v, Mapping) else float(v)
            )
        return new

    def renamed(self, name: str) -> Policy:
        """A deep copy of the policy under another name."""
        new = copy.deepcopy(self)
        new.name = name
        return new

    def uses(self, parameter: str) -> bool:
        """Whether the eligibility rules or the benefit refer to the named parameter."""
        in_rules = self.eligibility is not None and self.eligibility.uses(parameter)
        return in_rules or self.benefit.uses(parameter)

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The policy as its policy-file mapping."""
        d: dict = {"name": self.name}
        if self.description:
            d["description"] = self.description
        d.update(self.schedule.to_dict())
        if self.parameters:
            d["parameters"] = {
                k: {"value": convert_amount(v, self.period, self.parameter_periods[k], "per"),
                    "per": self.parameter_periods[k]}
                if k in self.parameter_periods else copy.deepcopy(v)
                for k, v in self.parameters.items()
            }
        d["unit"] = self.unit
        if self.family_size:
            d["family_size"] = self.family_size
        d["eligibility"] = None if self.eligibility is None else self.eligibility.to_dict()
        d["benefit"] = self.benefit.to_dict()
        d["takeup"] = self.takeup.to_dict()
        if self.currency:
            d["currency"] = self.currency
        # file sections only; bookkeeping such as "_path" or "solved_amount" stays out
        d.update({k: copy.deepcopy(v) for k, v in self.extra.items() if k in FILE_SECTIONS})
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Policy:
        """Policy from its policy-file mapping (PolicyError on unknown or invalid keys)."""
        if not isinstance(d, Mapping):
            raise PolicyError(f"a policy must be a mapping; got {type(d).__name__}.")
        unknown = set(d) - POLICY_KEYS
        if unknown:
            raise PolicyError(
                f"unknown policy key(s) {sorted(unknown)}; allowed: {sorted(POLICY_KEYS)}."
            )
        if "benefit" not in d:
            raise PolicyError("a policy needs a `benefit` formula (e.g. flat: {amount: 100}).")
        if "eligibility" not in d:
            raise PolicyError(
                "a policy needs `eligibility` (a rule, a list of rules, or null for universal)."
            )
        extra = {k: copy.deepcopy(d[k]) for k in FILE_SECTIONS if k in d}
        return cls(
            benefit=benefit_from_dict(d["benefit"]),
            eligibility=None if d["eligibility"] is None else rule_from_dict(d["eligibility"]),
            name=str(d.get("name", "policy")),
            parameters=dict(d.get("parameters") or {}),
            unit=d.get("unit", "household"),
            family_size=d.get("family_size"),
            takeup=TakeUp.from_dict(d.get("takeup")),
            currency=str(d.get("currency", "")),
            period=d.get("period", "month"),
            description=str(d.get("description", "")),
            extra=extra,
            duration=d.get("duration"),
            one_off=d.get("one_off", False),
        )

    @classmethod
    def from_yaml(cls, path) -> Policy:
        """Read a policy file (YAML, format in data_spec/policy.md)."""
        from pmt.spec import read_yaml_file

        p = Path(path)
        d = read_yaml_file(p, PolicyError, "policy file")
        try:
            pol = cls.from_dict(d)
        except PolicyError as exc:
            raise PolicyError(f"policy file '{p}': {exc}") from exc
        pol.extra["_path"] = str(p)
        return pol

    def to_yaml(self, path=None) -> str:
        """The policy as YAML text, also written to ``path`` when given."""
        import yaml

        d = self.to_dict()
        text = yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def takeup_description(self) -> str:
        """Description of the take-up assumption."""
        return self.takeup.describe()

    def describe(self) -> str:
        """Multi-line description of the policy for reports."""
        rule = "everyone (universal)" if self.eligibility is None else self.eligibility.describe()
        lines = [
            f"Policy: {self.name}",
            f"  unit: {self.unit}" + (f" (family size column '{self.family_size}')"
                                      if self.unit == "family" else ""),
            f"  eligibility: {rule}",
            f"  benefit: {self.benefit.describe()}",
            f"  {self.takeup.describe()}",
        ]
        if not self.schedule.is_default:
            lines.append(f"  payment: {self.schedule.describe()}")
        if self.parameters:
            def show(k, v):
                per = self.parameter_periods.get(k)
                if isinstance(v, Mapping):
                    return f"{k}={describe_value(v)}"
                if per is None:
                    return f"{k}={v:,.6g}"
                given = convert_amount(v, self.period, per, "per")
                return f"{k}={v:,.6g} ({given:,.6g} per {per})"

            lines.append(
                "  parameters: " + ", ".join(show(k, v) for k, v in self.parameters.items())
            )
        return "\n".join(lines)


def _number(v, name: str) -> float:
    try:
        if isinstance(v, bool):
            raise TypeError
        return float(v)
    except (TypeError, ValueError):
        raise PolicyError(f"parameter '{name}' must be a number; got {v!r}.") from None


class Package:
    """Several programmes paid together, assessed in order (Kazakhstan 2017: 4+B, then TSA).

    With ``sequential=True`` each programme's income tests and top-ups count the benefits
    paid by the programmes before it as income ("TSA is assigned only after 4+B and
    there are cases where 4+B takes household income above the threshold"); with
    ``sequential=False`` they are assessed independently. The household's benefit is the
    sum over programmes. A package can be simulated, put in a scenario grid or used as
    the reference budget of a solver; thresholds are solved on single policies.

    Parameters
    ----------
    policies : sequence of Policy
        In assessment order; names must be unique.
    name : str
    sequential : bool
    """

    def __init__(self, policies, name: str = "package", sequential: bool = True):
        policies = list(policies)
        if not policies or not all(isinstance(p, Policy) for p in policies):
            raise PolicyError("a Package needs a non-empty list of Policy objects.")
        names = [p.name for p in policies]
        if len(set(names)) != len(names):
            raise PolicyError(f"programme names in a Package must be unique; got {names}.")
        periods = {p.period for p in policies}
        if len(periods) > 1:
            raise PolicyError(
                f"the programmes of a Package must state amounts in one period; got "
                f"{sorted(periods)}. Convert them (parameters: {{value: ..., per: year}})."
            )
        self.policies, self.name, self.sequential = policies, name, bool(sequential)

    @property
    def period(self) -> str:
        """Payment period of the package (that of its first policy)."""
        return self.policies[0].period

    @property
    def unit(self) -> str:
        """Assessment units of the programmes, joined by ``/``."""
        return "/".join(dict.fromkeys(p.unit for p in self.policies))

    @property
    def currency(self) -> str:
        """Currency of the first programme that declares one ("" when none does)."""
        return next((p.currency for p in self.policies if p.currency), "")

    def takeup_description(self) -> str:
        """Take-up assumption of each programme, joined by ``;``."""
        return "; ".join(f"{p.name}: {p.takeup.describe()}" for p in self.policies)

    def evaluate(self, data, weight=None, size=None, check: bool = True, **overrides):
        """Evaluate every programme in order; overrides go to the policies defining them.

        The combined take-up factor is benefit / entitlement (the amount-weighted take-up
        of the household's entitlements), 0 where nothing is due.
        """
        rows = data.data if isinstance(data, Survey) else data
        unknown = set(overrides) - {k for p in self.policies for k in p.parameters}
        if unknown:
            raise PolicyError(f"no programme in package '{self.name}' has parameter(s) "
                              f"{sorted(unknown)}.")
        prior = np.zeros(len(rows))
        parts = {}
        for p in self.policies:
            mine = {k: v for k, v in overrides.items() if k in p.parameters}
            out = p.evaluate(data, weight, size, check=check,
                             prior_income=prior if self.sequential else None, **mine)
            parts[p.name] = out
            prior = prior + out.benefit
        eligible = np.any([o.eligible for o in parts.values()], axis=0)
        entitlement = np.sum([o.entitlement for o in parts.values()], axis=0)
        benefit = np.sum([o.benefit for o in parts.values()], axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            takeup = np.where(entitlement > 0, benefit / entitlement, 0.0)
        return PolicyOutcome(rows.index, eligible, entitlement, takeup, benefit, parts)

    def budget(self, survey: Survey, **overrides) -> float:
        """Budget per period: sum of weight x benefits paid by every programme."""
        out = self.evaluate(survey, check=False, **overrides)
        return float(np.sum(survey.household_weight * out.benefit))

    def annual_budget(self, survey: Survey, **overrides) -> float:
        """Budget over a year, each programme's payments a year counted."""
        out = self.evaluate(survey, check=False, **overrides)
        return float(np.sum(survey.household_weight * annual_amounts(self, out)))

    def describe(self) -> str:
        """Multi-line description of the package and its programmes."""
        how = "sequential: earlier benefits count as income" if self.sequential else (
            "independent assessments"
        )
        return "\n".join([f"Package: {self.name} ({how})"] + [
            "  " + line for p in self.policies for line in p.describe().splitlines()
        ])
