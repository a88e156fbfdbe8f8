"""Benefit formulas: the amount an eligible assessment unit receives per payment.

Every formula maps a :class:`~pmt.simulate.context.Context` to one non-negative amount per
household (currency per period of the policy, a month by default, for the whole
household), computed for every household;
the policy then zeroes it for the ineligible. Formulas are plain data (``to_dict`` /
:func:`benefit_from_dict`).

Formula types
-------------
top_up
    Guaranteed minimum income: members x max(0, threshold - income per member), where
    members is the unit size or a column of entitled members (Kyrgyz UMB).
flat
    The same amount per eligible household.
per_member
    amount x min(count, cap), count being a column (children, entitled members) or the
    unit size.
equivalised
    amount x sum of rank weights of the entitled members, weights 1, 0.5, 0.3, 0.2 for
    the 1st, 2nd, 3rd, 4th+ member by default (Uzbekistan 2019), optionally capped.
tiers
    An amount by band of a score (e.g. PMT score tiers).
sum
    The sum of several formulas (e.g. a flat amount plus a per-child supplement).

Linear formulas (flat, per_member, equivalised) expose ``units(ctx)`` with
amount = value(amount) x units, which the budget-neutral solver uses.

Every threshold and amount may vary by household: ``{"column": c}`` or ``{"by": "region",
"values": {1: 150000, 2: 140000}}`` (directly, or through a parameter defined that way),
see :mod:`pmt.simulate.context`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from pmt.errors import PolicyError
from pmt.simulate.context import Context, construct, describe_value, parse_value, varying_spec

BENEFIT_TYPES: dict[str, type] = {}


def _register(cls):
    BENEFIT_TYPES[cls.benefit_type] = cls
    return cls


def _check_nonnegative(value, who: str) -> None:
    spec = varying_spec(value, who)
    if spec is not None:
        bad = {k: v for k, v in spec.get("values", {}).items() if v < 0}
        if bad:
            raise PolicyError(
                f"{who} must not be negative; group(s) {', '.join(map(repr, bad))} of "
                f"'{spec['by']}' have {', '.join(f'{v:g}' for v in bad.values())}. Benefits "
                "are >= 0."
            )
        return
    factor, name = parse_value(value)
    if name is None and factor < 0:
        raise PolicyError(f"{who} must not be negative; got {value!r}. Benefits are >= 0.")


class Benefit:
    """Base class: ``amount(ctx)`` -> household amount per payment (before eligibility)."""

    benefit_type = "benefit"
    amount_field: str | None = None  # the field a budget-neutral solver may scale
    # set by the formulas linear in one amount (amount_field not None: flat, per_member,
    # equivalised); declared for the solvers, not defined on other formulas
    amount_value: Any
    units: Callable[[Context], np.ndarray]

    def amount(self, ctx: Context) -> np.ndarray:  # pragma: no cover - abstract
        """Amount each household (or unit) is entitled to, one value per row."""
        raise NotImplementedError

    def params(self) -> dict:  # pragma: no cover - abstract
        """Parameters of the benefit as written in a policy file."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The policy-file mapping ``{benefit_type: params}``."""
        return {self.benefit_type: self.params()}

    def describe(self) -> str:
        """One-line description of the benefit for reports."""
        args = ", ".join(f"{k}={describe_value(v)}" for k, v in self.params().items())
        return f"{self.benefit_type}({args})"

    def __repr__(self) -> str:
        return self.describe()

    def uses(self, parameter: str) -> bool:
        """Whether any parameter of the benefit refers to the named policy parameter."""
        return any(
            isinstance(v, str) and parse_value_safe(v) == parameter for v in self.params().values()
        )

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Values of ``parameter`` at which the amount changes shape (None by default)."""
        return None

    def _value(self, ctx: Context, value, who: str) -> float | np.ndarray:
        v = ctx.value(value, who)
        if np.ndim(v) != 0:  # varying by household
            assert isinstance(v, np.ndarray)  # only a varying value resolves to an array
            bad = v < 0
            if bad.any():
                raise PolicyError(
                    f"{who} resolves to negative amounts for {int(bad.sum())} households "
                    f"(e.g. {v[bad][0]:,.6g}). Amounts must be >= 0: check the column or "
                    "the values by group."
                )
            return v
        if v < 0:
            raise PolicyError(
                f"{who} resolves to {v:,.6g}, a negative benefit. Amounts must be >= 0: "
                "check the parameter's value and sign."
            )
        return v


def parse_value_safe(v) -> str | None:
    """The parameter name a value refers to, or None when it is not a valid reference."""
    try:
        return parse_value(v)[1]
    except PolicyError:
        return None


@_register
class TopUp(Benefit):
    """Top-up to a guaranteed minimum: members x max(0, threshold - income per member).

    Parameters
    ----------
    threshold : float, str or mapping
        Guaranteed minimum per member (currency per period), or a parameter reference; or
        a minimum varying by household, ``{"column": "regional_min"}`` or ``{"by":
        "region", "values": {1: 150000, 2: 140000}}``: each household is topped up to its
        own minimum.
    income : str
        Column of assessed income of the unit per period.
    per : {"capita", "adult_equivalent"}
        Income per unit member, or per adult equivalent (column ``scale``).
    scale : str, optional
        Adult-equivalent column (with ``per="adult_equivalent"``; then the gap is paid per
        adult equivalent unless ``members`` is given).
    members : str or list of str, optional
        Column(s) of members the gap is paid for (e.g. entitled members of the Kyrgyz UMB).
        Default: the unit size (or adult equivalents).
    """

    benefit_type = "top_up"

    def __init__(
        self,
        threshold,
        income: str,
        per: str = "capita",
        scale: str | None = None,
        members: str | Sequence[str] | None = None,
    ):
        if per not in ("capita", "adult_equivalent"):
            raise PolicyError(f"top_up `per` must be 'capita' or 'adult_equivalent'; got {per!r}.")
        if per == "adult_equivalent" and not scale:
            raise PolicyError("top_up with per='adult_equivalent' needs `scale` (a column).")
        _check_nonnegative(threshold, "top_up threshold")
        self.threshold, self.income, self.per = threshold, income, per
        self.scale, self.members = scale, members

    def params(self) -> dict:
        """Parameters of the top-up as written in a policy file."""
        d = {"threshold": self.threshold, "income": self.income, "per": self.per}
        if self.scale:
            d["scale"] = self.scale
        if self.members:
            d["members"] = self.members
        return d

    def _parts(self, ctx: Context):
        y = ctx.income(self.income, "top_up")
        denom = (
            ctx.unit_size
            if self.per == "capita"
            # per="adult_equivalent" requires `scale` (checked in __init__)
            else ctx.column(cast(str, self.scale), "top_up (adult equivalents)")
        )
        m = ctx.count(self.members, "top_up members") if self.members else denom
        return y / denom, m

    def amount(self, ctx: Context) -> np.ndarray:
        """Top-up to the threshold: members times the gap between threshold and income per member."""
        per_member, m = self._parts(ctx)
        # a threshold below every income simply pays nothing (the solver probes such values)
        t = ctx.value(self.threshold, "top_up threshold")
        return m * np.maximum(0.0, t - per_member)

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Values of ``parameter`` at which a household's top-up starts (income per member / factor)."""
        factor, name = parse_value(self.threshold)
        if name != parameter or factor <= 0:
            return None
        return self._parts(ctx)[0] / factor


@_register
class Flat(Benefit):
    """The same amount per payment to every eligible household (or family)."""

    benefit_type = "flat"
    amount_field = "amount"

    def __init__(self, amount):
        _check_nonnegative(amount, "flat amount")
        self.amount_value = amount

    def params(self) -> dict:
        """Parameters of the flat amount as written in a policy file."""
        return {"amount": self.amount_value}

    def units(self, ctx: Context) -> np.ndarray:
        """Number of units paid per household: one each."""
        return np.ones(ctx.n)

    def amount(self, ctx: Context) -> np.ndarray:
        """Flat amount per household."""
        return self._value(ctx, self.amount_value, "flat amount") * self.units(ctx)


@_register
class PerMember(Benefit):
    """amount x min(count, cap): per child, per entitled member, or per unit member.

    Parameters
    ----------
    amount : float or str
        Amount per payment per counted member.
    members : str or list of str, optional
        Column of the count (e.g. ``n_children_6_17``), or columns summed; default the
        unit size.
    cap : int, optional
        Maximum number of members paid for (e.g. 3 children).
    """

    benefit_type = "per_member"
    amount_field = "amount"

    def __init__(self, amount, members: str | Sequence[str] | None = None, cap=None):
        _check_nonnegative(amount, "per_member amount")
        if cap is not None and (not float(cap).is_integer() or cap < 1):
            raise PolicyError(f"per_member `cap` must be a whole number >= 1; got {cap!r}.")
        self.amount_value, self.members, self.cap = amount, members, cap

    def params(self) -> dict:
        """Parameters of the per-member amount as written in a policy file."""
        d = {"amount": self.amount_value}
        if self.members:
            d["members"] = self.members
        if self.cap is not None:
            d["cap"] = self.cap
        return d

    def units(self, ctx: Context) -> np.ndarray:
        """Number of members paid per household (capped at ``cap`` when given)."""
        count = ctx.count(self.members, "per_member") if self.members else ctx.unit_size
        if np.any(count < 0):
            raise PolicyError(f"per_member count column '{self.members}' has negative values.")
        return np.minimum(count, self.cap) if self.cap is not None else count

    def amount(self, ctx: Context) -> np.ndarray:
        """Amount per member times the number of members paid."""
        return self._value(ctx, self.amount_value, "per_member amount") * self.units(ctx)


@_register
class Equivalised(Benefit):
    """amount x (sum of rank weights of the entitled members).

    The k-th entitled member counts ``weights[k-1]`` (the last weight repeats), up to
    ``cap`` members. With the default weights (1, 0.5, 0.3, 0.2) and cap 4 a household
    gets 1, 1.5, 1.8 or 2 units (Uzbekistan 2019, Table 4).
    """

    benefit_type = "equivalised"
    amount_field = "amount"

    def __init__(
        self,
        amount,
        members: str | Sequence[str],
        weights: Sequence[float] = (1.0, 0.5, 0.3, 0.2),
        cap=None,
    ):
        _check_nonnegative(amount, "equivalised amount")
        weights = [float(x) for x in weights]
        if not weights or any(x < 0 for x in weights):
            raise PolicyError("equivalised `weights` must be a non-empty list of numbers >= 0.")
        if cap is not None and (not float(cap).is_integer() or cap < 1):
            raise PolicyError(f"equivalised `cap` must be a whole number >= 1; got {cap!r}.")
        self.amount_value, self.members, self.weights, self.cap = amount, members, weights, cap

    def params(self) -> dict:
        """Parameters of the equivalised amount as written in a policy file."""
        d = {"amount": self.amount_value, "members": self.members, "weights": self.weights}
        if self.cap is not None:
            d["cap"] = self.cap
        return d

    def units(self, ctx: Context) -> np.ndarray:
        """Equivalised member count per household (weighted members, capped at ``cap``)."""
        count = ctx.count(self.members, "equivalised")
        if np.any(count < 0) or np.any(count != np.floor(count)):
            raise PolicyError(
                f"equivalised member column '{self.members}' must hold whole numbers >= 0."
            )
        if self.cap is not None:
            count = np.minimum(count, self.cap)
        kmax = int(count.max()) if count.size else 0
        w = np.array(self.weights + [self.weights[-1]] * max(0, kmax - len(self.weights)))
        cum = np.concatenate([[0.0], np.cumsum(w)])
        return cum[count.astype(int)]

    def amount(self, ctx: Context) -> np.ndarray:
        """Amount per equivalised member times the equivalised count."""
        return self._value(ctx, self.amount_value, "equivalised amount") * self.units(ctx)


@_register
class Tiers(Benefit):
    """An amount by band of a score: the first band whose upper bound exceeds the score.

    ``bands`` is a list of ``[upper, amount]`` pairs in increasing order of ``upper``;
    scores at or above the last upper bound get 0.
    """

    benefit_type = "tiers"

    def __init__(self, score: str, bands: Sequence[Sequence]):
        bands = [list(b) for b in bands]
        if not bands or any(len(b) != 2 for b in bands):
            raise PolicyError("tiers `bands` must be a list of [upper, amount] pairs.")
        for _, a in bands:
            _check_nonnegative(a, "tiers amount")
        uppers = [
            None if isinstance(u, dict) or parse_value(u)[1] is not None else parse_value(u)[0]
            for u, _ in bands
        ]
        known = [u for u in uppers if u is not None]
        if known != sorted(known):
            raise PolicyError("tiers `bands` must be sorted by increasing upper bound.")
        self.score, self.bands = score, bands

    def params(self) -> dict:
        """Parameters of the tiers as written in a policy file."""
        return {"score": self.score, "bands": self.bands}

    def amount(self, ctx: Context) -> np.ndarray:
        """Amount of the first band whose upper bound the score does not exceed."""
        s = ctx.column(self.score, "tiers")
        out = np.zeros(ctx.n)
        done = np.zeros(ctx.n, dtype=bool)
        for upper, amt in self.bands:
            hit = ~done & (s < ctx.value(upper, "tiers upper bound"))
            a = self._value(ctx, amt, "tiers amount")
            out[hit] = cast(np.ndarray, a)[hit] if np.ndim(a) else a  # ndim != 0: an array
            done |= hit
        return out


@_register
class Sum(Benefit):
    """The sum of several formulas."""

    benefit_type = "sum"

    def __init__(self, components: Sequence[Benefit]):
        components = list(components)
        if not components or not all(isinstance(c, Benefit) for c in components):
            raise PolicyError("`sum` needs a non-empty list of benefit formulas.")
        self.components = components

    def params(self):
        """Policy-file mappings of the components, in order."""
        return [c.to_dict() for c in self.components]

    def to_dict(self) -> dict:
        """The policy-file mapping ``{benefit_type: [components]}``."""
        return {self.benefit_type: self.params()}

    def describe(self) -> str:
        """Descriptions of the components joined by ``+``."""
        return " + ".join(c.describe() for c in self.components)

    def uses(self, parameter: str) -> bool:
        """Whether any component refers to the named policy parameter."""
        return any(c.uses(parameter) for c in self.components)

    def amount(self, ctx: Context) -> np.ndarray:
        """Sum of the components' amounts."""
        # the components are a non-empty list (checked in __init__): an array, never 0
        return cast(np.ndarray, sum(c.amount(ctx) for c in self.components))

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Breakpoints of every component in ``parameter`` (None when none has any)."""
        parts = [c.breakpoints(ctx, parameter) for c in self.components]
        found = [p for p in parts if p is not None]
        return np.concatenate(found) if found else None


def benefit_from_dict(d) -> Benefit:
    """Rebuild a benefit formula from ``{type: parameters}``."""
    if isinstance(d, Benefit):
        return d
    if not isinstance(d, dict) or len(d) != 1:
        raise PolicyError(
            f"a benefit must be a mapping with one key (its type: "
            f"{', '.join(BENEFIT_TYPES)}); got {d!r}."
        )
    (kind, params), = d.items()
    cls = BENEFIT_TYPES.get(kind)
    if cls is None:
        raise PolicyError(f"unknown benefit type {kind!r}; known: {', '.join(BENEFIT_TYPES)}.")
    if cls is Sum:
        if not isinstance(params, list):
            raise PolicyError("`sum` takes a list of benefit formulas.")
        return Sum([benefit_from_dict(x) for x in params])
    if cls is Flat and not isinstance(params, dict):
        return Flat(params)
    if not isinstance(params, dict):
        raise PolicyError(f"benefit `{kind}` takes a mapping of parameters; got {params!r}.")
    return construct(cls, params, f"benefit `{kind}`")
