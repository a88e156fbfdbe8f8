"""Eligibility rules, composable into a policy.

Every rule maps a :class:`~pmt.simulate.context.Context` to a boolean array (one value per
household: does the assessment unit pass?). Rules are plain data: ``to_dict()`` gives a
JSON/YAML-safe mapping ``{type: {parameters}}`` and :func:`rule_from_dict` rebuilds it.

Rule types
----------
income_test
    Assessed income per unit member (or per adult equivalent, or for the whole unit)
    below a threshold: ``income / size < threshold``.
score_test
    A PMT/HMT score column, or a fitted model's prediction, below a cut-off.
condition
    ``column <op> value`` for demographic or asset conditions (children under 6 > 0,
    n_disabled > 0, single_pensioner == 1, children >= 4, cars >= 2, savings > 40 * MW...).
count_at_least
    At least k of m columns are positive (e.g. owning more than three listed durables).
ration
    Among the households passing the other rules, the lowest-score ones until a target
    population share is reached (Uzbekistan 2019 "option 3": sort income-test passers by
    PMT score and accumulate person weight).
all / any / not
    Combinators.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from pmt.errors import PolicyError
from pmt.simulate.context import Context, construct, describe_value, is_varying, parse_value
from pmt.survey import weighted_quantile

if TYPE_CHECKING:
    from pmt.models.base import ModelResult


class PolicyWarning(UserWarning):
    """A policy is probably mis-specified (e.g. a threshold in the wrong units)."""


RULE_TYPES: dict[str, type] = {}

_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _register(cls):
    RULE_TYPES[cls.rule_type] = cls
    return cls


class Rule:
    """Base class: ``mask(ctx)`` -> boolean array, one value per household."""

    rule_type = "rule"

    def mask(self, ctx: Context) -> np.ndarray:  # pragma: no cover - abstract
        """Boolean array, True for each household passing the rule."""
        raise NotImplementedError

    def params(self) -> dict:  # pragma: no cover - abstract
        """Parameters of the rule as written in a policy file."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The policy-file mapping ``{rule_type: params}``."""
        return {self.rule_type: self.params()}

    def describe(self) -> str:
        """One-line description of the rule for reports."""
        args = ", ".join(f"{k}={describe_value(v)}" for k, v in self.params().items())
        return f"{self.rule_type}({args})"

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Values of ``parameter`` at which this rule's selection can change (or None)."""
        return None

    def uses(self, parameter: str) -> bool:
        """Whether the rule refers to the named policy parameter (False by default)."""
        return False

    # composition sugar
    def __and__(self, other: Rule) -> All:
        return All([self, other])

    def __or__(self, other: Rule) -> AnyOf:
        return AnyOf([self, other])

    def __invert__(self) -> Not:
        return Not(self)

    def __repr__(self) -> str:
        return self.describe()

    def __eq__(self, other) -> bool:
        return isinstance(other, Rule) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _threshold_breaks(value, threshold, parameter: str) -> np.ndarray | None:
    factor, name = parse_value(threshold)
    if name != parameter:
        return None
    if factor <= 0:
        raise PolicyError(
            f"threshold {threshold!r} has a non-positive factor: write a positive multiple."
        )
    return value / factor


@_register
class IncomeThreshold(Rule):
    """Means test: assessed income per member (or adult equivalent) below a threshold.

    The YAML key is ``income_test``. The income column is the unit's assessed income;
    build it from declared components with :class:`pmt.IncomeTest`
    (:mod:`pmt.simulate.income_test`: imputed farm income, assumed wages, disregards) or
    from :class:`pmt.HybridMeansTest` predictions.

    Parameters
    ----------
    income : str
        Column of assessed income (per period of the policy) of the assessment unit (household, or family
        with ``unit="family"``), in the policy's currency.
    threshold : float, str or mapping
        Per-member threshold (same currency and period), or a parameter reference; or a
        threshold varying by household: ``{"column": "regional_min"}`` or ``{"by":
        "region", "values": {1: 150000, 2: 140000}}`` (each household is compared with
        its own threshold).
    per : {"capita", "adult_equivalent", "unit"}
        ``"capita"`` divides income by the unit size, ``"adult_equivalent"`` by the column
        ``scale`` (adult equivalents), ``"unit"`` compares the unit's total income.
    scale : str, optional
        Column of adult-equivalent counts, required with ``per="adult_equivalent"``.
    inclusive : bool
        Pass when income equals the threshold too (``<=``). Default strict ``<``.
    check_units : bool
        Warn (PolicyWarning) when the threshold's magnitude fits the other income
        definition better (a per-capita threshold compared with household income, or the
        reverse).
    """

    rule_type = "income_test"

    def __init__(
        self,
        income: str,
        threshold,
        per: str = "capita",
        scale: str | None = None,
        inclusive: bool = False,
        check_units: bool = True,
    ):
        if per not in ("capita", "adult_equivalent", "unit"):
            raise PolicyError(
                f"income_test `per` must be 'capita', 'adult_equivalent' or 'unit'; got {per!r}."
            )
        if per == "adult_equivalent" and not scale:
            raise PolicyError(
                "income_test with per='adult_equivalent' needs `scale`: the column of adult "
                "equivalents of the unit."
            )
        parse_value(threshold)
        self.income, self.threshold, self.per, self.scale = income, threshold, per, scale
        self.inclusive, self.check_units = bool(inclusive), bool(check_units)

    def params(self) -> dict:
        """Parameters of the income test as written in a policy file."""
        d = {"income": self.income, "threshold": self.threshold, "per": self.per}
        if self.scale:
            d["scale"] = self.scale
        if self.inclusive:
            d["inclusive"] = True
        if not self.check_units:
            d["check_units"] = False
        return d

    def assessed(self, ctx: Context) -> np.ndarray:
        """Income per member / adult equivalent / unit, as compared with the threshold."""
        y = ctx.income(self.income, "income_test")
        if self.per == "capita":
            return y / ctx.unit_size
        if self.per == "adult_equivalent":
            assert self.scale is not None  # per="adult_equivalent" needs `scale` (__init__)
            ae = ctx.column(self.scale, "income_test (adult equivalents)")
            if np.any(ae <= 0):
                raise PolicyError(f"adult-equivalent column '{self.scale}' must be positive.")
            return y / ae
        return y

    def mask(self, ctx: Context) -> np.ndarray:
        """Households whose assessed income is below (or at, if inclusive) the threshold."""
        v = self.assessed(ctx)
        t = ctx.value(self.threshold, "income_test threshold")
        if self.check_units:
            # a threshold varying by household is checked at its person-weighted median
            # (ndim 0: value() gave a number)
            t_ref = cast(float, t) if np.ndim(t) == 0 else float(
                weighted_quantile(t, ctx.person_weight, 0.5))
            self._check_units(ctx, v, t_ref)
        return v <= t if self.inclusive else v < t

    def _check_units(self, ctx: Context, v: np.ndarray, t: float) -> None:
        """Warn when t sits much closer to the other income definition's distribution.

        Compares log distances of t from the person-weighted medians of income per
        member and of unit income; only meaningful when units are not all of size one.
        """
        size = ctx.unit_size
        if self.per == "adult_equivalent" or np.average(size, weights=ctx.weight) < 1.5 or t <= 0:
            return
        total = v * size if self.per == "capita" else v
        per_member = total / size
        w = ctx.person_weight
        pos_t, pos_m = total > 0, per_member > 0
        if pos_t.sum() < 10:
            return
        med_total = weighted_quantile(total[pos_t], w[pos_t], 0.5)
        med_member = weighted_quantile(per_member[pos_m], w[pos_m], 0.5)
        d_total, d_member = abs(np.log(t / med_total)), abs(np.log(t / med_member))
        if self.per == "unit" and d_member + np.log(1.5) < d_total and t < med_total:
            warnings.warn(
                f"income_test compares household/unit income '{self.income}' with threshold "
                f"{t:,.4g}, which looks like a per-member amount (median income per member "
                f"{med_member:,.4g}, per unit {med_total:,.4g}). If the threshold is per "
                "capita, set per='capita'.",
                PolicyWarning,
                stacklevel=4,
            )
        elif self.per == "capita" and d_total + np.log(1.5) < d_member and t > med_member:
            warnings.warn(
                f"income_test divides '{self.income}' by unit size but the threshold "
                f"{t:,.4g} looks like a whole-household amount (median income per member "
                f"{med_member:,.4g}, per unit {med_total:,.4g}). Check the threshold's units "
                "or set per='unit'.",
                PolicyWarning,
                stacklevel=4,
            )

    def uses(self, parameter: str) -> bool:
        """Whether the threshold refers to the named policy parameter."""
        return parse_value(self.threshold)[1] == parameter

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Values of ``parameter`` at which a household crosses the threshold."""
        return _threshold_breaks(self.assessed(ctx), self.threshold, parameter)


@_register
class ScoreTest(Rule):
    """A PMT/HMT score (or model prediction) below a cut-off.

    Parameters
    ----------
    threshold : float, str or mapping
        Cut-off on the score's scale (e.g. predicted log consumption per capita, or a
        scorecard's points) or a parameter reference; or a cut-off varying by household,
        ``{"column": c}`` or ``{"by": "region", "values": {1: 9.1, 2: 9.3}}``.
    score : str, optional
        Column holding the score.
    model : object with ``predict(df)`` or ``score(df)``, or str
        A fitted pmt model or hybrid means test (its ``predict(data, scale=...)`` is the
        score), a scorecard (its ``score(data)`` points), or the path of a saved model
        artifact (loaded with :func:`pmt.artifacts.load_model`). Give ``score`` or
        ``model``, not both.
    scale : {"model", "level"}
        Prediction scale when ``model`` is given.
    inclusive : bool
        Pass when the score equals the cut-off (``<=``). Default strict ``<``.
    """

    rule_type = "score_test"

    def __init__(
        self,
        threshold,
        score: str | None = None,
        model=None,
        scale: str = "model",
        inclusive: bool = False,
    ):
        if (score is None) == (model is None):
            raise PolicyError("score_test needs exactly one of `score` (a column) or `model`.")
        parse_value(threshold)
        self.threshold, self.score, self.model = threshold, score, model
        self.scale, self.inclusive = scale, bool(inclusive)
        self._model_obj: ModelResult | None = None

    def params(self) -> dict:
        """Parameters of the score test as written in a policy file."""
        d: dict = {"threshold": self.threshold}
        if self.score is not None:
            d["score"] = self.score
        else:
            if not isinstance(self.model, str):
                raise PolicyError(
                    "a score_test holding a fitted model object cannot be written to a "
                    "policy file: save the model (pmt.save_model) and give its path."
                )
            d["model"] = self.model
            d["scale"] = self.scale
        if self.inclusive:
            d["inclusive"] = True
        return d

    def values(self, ctx: Context) -> np.ndarray:
        """Score of each household: the score column, or the model's prediction."""
        if self.score is not None:
            return ctx.column(self.score, "score_test")
        model = self.model
        if isinstance(model, str):
            if self._model_obj is None:
                from pmt.artifacts import load_model

                self._model_obj = load_model(model)
            model = self._model_obj
        if hasattr(model, "predict"):
            try:
                raw = model.predict(ctx.data, scale=self.scale)
            except TypeError:
                if self.scale != "model":
                    raise PolicyError(
                        f"score_test: {type(model).__name__}.predict takes no `scale`; use "
                        "scale='model' or a score column."
                    ) from None
                raw = model.predict(ctx.data)
        elif hasattr(model, "score"):  # a scorecard: points
            raw = model.score(ctx.data)
        else:
            raise PolicyError(
                "score_test `model` must have predict(df) (a fitted model, an HMT) or "
                "score(df) (a scorecard)."
            )
        pred = np.asarray(raw, dtype=float).ravel()
        bad = np.isnan(pred)
        if bad.any():
            raise PolicyError(
                f"score_test: the model gives no prediction for {int(bad.sum())} households "
                "(missing proxies). Impute the proxies or drop those households."
            )
        return pred

    def mask(self, ctx: Context) -> np.ndarray:
        """Households whose score is below (or at, if inclusive) the threshold."""
        v = self.values(ctx)
        t = ctx.value(self.threshold, "score_test threshold")
        return v <= t if self.inclusive else v < t

    def uses(self, parameter: str) -> bool:
        """Whether the threshold refers to the named policy parameter."""
        return parse_value(self.threshold)[1] == parameter

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Values of ``parameter`` at which a household crosses the threshold."""
        return _threshold_breaks(self.values(ctx), self.threshold, parameter)


@_register
class Condition(Rule):
    """``column <op> value``: a demographic, categorical or asset condition.

    Examples: children under 6 present ``Condition("n_children_0_5", ">", 0)``; 4+
    children ``Condition("n_children", ">=", 4)``; asset filter (exclude 2+ cars)
    ``Not(Condition("car", ">=", 2))``; savings above 40 minimum wages
    ``Condition("savings", ">", "40 * MW")``.
    """

    rule_type = "condition"

    def __init__(self, column: str, op: str, value):
        if op not in _OPS:
            raise PolicyError(f"condition `op` must be one of {', '.join(_OPS)}; got {op!r}.")
        parse_value(value)
        self.column, self.op, self.value = column, op, value

    def params(self) -> dict:
        """Parameters of the condition as written in a policy file."""
        return {"column": self.column, "op": self.op, "value": self.value}

    def describe(self) -> str:
        """The condition as ``column op value``."""
        return f"{self.column} {self.op} {describe_value(self.value)}"

    def mask(self, ctx: Context) -> np.ndarray:
        """Households whose column compares true with the value."""
        x = ctx.column(self.column, f"condition on '{self.column}'")
        return _OPS[self.op](x, ctx.value(self.value, f"condition on '{self.column}'"))


@_register
class CountAtLeast(Rule):
    """At least ``k`` of the listed columns are positive (k of m durables, e.g.)."""

    rule_type = "count_at_least"

    def __init__(self, columns: Sequence[str], k):
        if isinstance(columns, str) or len(columns) == 0:
            raise PolicyError("count_at_least `columns` must be a non-empty list of columns.")
        parse_value(k)
        self.columns, self.k = list(columns), k

    def params(self) -> dict:
        """Parameters of the count rule as written in a policy file."""
        return {"columns": self.columns, "k": self.k}

    def describe(self) -> str:
        """The rule as ``at least k of (columns) > 0``."""
        return f"at least {describe_value(self.k)} of ({', '.join(self.columns)}) > 0"

    def mask(self, ctx: Context) -> np.ndarray:
        """Households with at least ``k`` of the columns positive."""
        ctx.require(self.columns, "count_at_least")
        # columns is a non-empty list (checked in __init__): the sum is an array
        count = cast(np.ndarray,
                     sum((ctx.column(c, "count_at_least") > 0).astype(int) for c in self.columns))
        return count >= ctx.value(self.k, "count_at_least k")


@_register
class Ration(Rule):
    """Ration by score among households passing the other rules, to a target coverage.

    Among the passers, sort by ``score`` ascending (poorest first) and accumulate person
    weight (household weight x size) until the share of the **whole** population reaches
    ``coverage``; the cut-off is the score of the household at which the target is first
    reached, and every passer with a score at or below it is selected (ties stay
    together, so the share may slightly exceed the target). This is Uzbekistan 2019
    "option 3". Inside :class:`All` the other rules form the base; standalone, ``among``
    (a rule) does, or every household.
    """

    rule_type = "ration"
    needs_base = True

    def __init__(self, score: str, coverage, among: Rule | None = None):
        if is_varying(coverage):
            raise PolicyError(
                f"ration `coverage` is one population share for the whole programme; got "
                f"{coverage!r}, a value varying by household. Give a number in (0, 1]."
            )
        factor, name = parse_value(coverage)
        if name is None and not 0 < factor <= 1:
            raise PolicyError(
                f"ration `coverage` is a population share in (0, 1]; got {coverage!r}."
            )
        self.score, self.coverage, self.among = score, coverage, among

    def params(self) -> dict:
        """Parameters of the ration as written in a policy file."""
        d = {"score": self.score, "coverage": self.coverage}
        if self.among is not None:
            d["among"] = self.among.to_dict()
        return d

    def describe(self) -> str:
        """The ration as ``lowest score up to coverage of the population``."""
        base = f" among [{self.among.describe()}]" if self.among is not None else ""
        return f"lowest {self.score} up to {self.coverage} of the population{base}"

    def mask(self, ctx: Context, base: np.ndarray | None = None) -> np.ndarray:
        """Lowest-scoring households up to the coverage, among ``base`` and ``among``."""
        if base is None:
            base = self.among.mask(ctx) if self.among is not None else np.ones(ctx.n, bool)
        elif self.among is not None:
            base = base & self.among.mask(ctx)
        target = ctx.scalar(self.coverage, "ration coverage")
        if not 0 < target <= 1:
            raise PolicyError(f"ration coverage must lie in (0, 1]; got {target!r}.")
        s = ctx.column(self.score, "ration")
        w = ctx.person_weight
        total = w.sum()
        out = np.zeros(ctx.n, dtype=bool)
        if not base.any():
            return out
        sb, wb = s[base], w[base]
        if wb.sum() <= target * total:
            out[base] = True  # every passer fits under the target
            return out
        # cut-off: smallest score whose cumulative passer weight reaches target * total
        cut = weighted_quantile(sb, wb, target * total / wb.sum())
        out[base] = sb <= cut
        return out

    def coverage_breakpoints(self, ctx: Context, base: np.ndarray | None = None) -> np.ndarray:
        """Coverage values at which the next passer enters: the cumulative population
        share of the passers sorted by score (divided by the coverage's factor).

        A coverage in (c_(k-1), c_k] selects the k lowest-score passers (and their ties).
        ``base`` is the mask of households passing the enclosing rules, as in :meth:`mask`.
        """
        if base is None:
            base = self.among.mask(ctx) if self.among is not None else np.ones(ctx.n, bool)
        elif self.among is not None:
            base = base & self.among.mask(ctx)
        factor = parse_value(self.coverage)[0]
        s = ctx.column(self.score, "ration")
        w = ctx.person_weight
        order = np.argsort(s[base], kind="stable")
        shares = np.minimum(np.cumsum(w[base][order]) / w.sum(), 1.0)
        return shares / factor


class _Combinator(Rule):
    joiner = ""  # " AND " or " OR " between the parts of the description

    def __init__(self, rules: Sequence[Rule]):
        rules = list(rules)
        if not rules or not all(isinstance(r, Rule) for r in rules):
            raise PolicyError(f"`{self.rule_type}` needs a non-empty list of rules.")
        self.rules = rules

    def params(self):
        return [r.to_dict() for r in self.rules]

    def to_dict(self) -> dict:
        return {self.rule_type: self.params()}

    def describe(self) -> str:
        return self.joiner.join(f"({r.describe()})" for r in self.rules)

    def uses(self, parameter: str) -> bool:
        return any(r.uses(parameter) for r in self.rules)

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        parts = [r.breakpoints(ctx, parameter) for r in self.rules]
        found = [p for p in parts if p is not None]
        return np.concatenate(found) if found else None


@_register
class All(_Combinator):
    """All rules pass. Ration rules are applied last, among those passing the others."""

    rule_type = "all"
    joiner = " AND "

    def mask(self, ctx: Context) -> np.ndarray:
        """Households passing every rule (rations applied last, among those passing the rest)."""
        plain = [r for r in self.rules if not getattr(r, "needs_base", False)]
        rationed = [r for r in self.rules if getattr(r, "needs_base", False)]
        out = np.ones(ctx.n, dtype=bool)
        for r in plain:
            out &= r.mask(ctx)
        for r in rationed:
            out = cast(Ration, r).mask(ctx, base=out)  # only Ration rules set needs_base
        return out


@_register
class AnyOf(_Combinator):
    """At least one rule passes."""

    rule_type = "any"
    joiner = " OR "

    def mask(self, ctx: Context) -> np.ndarray:
        """Households passing any of the rules."""
        out = np.zeros(ctx.n, dtype=bool)
        for r in self.rules:
            out |= r.mask(ctx)
        return out


@_register
class Not(Rule):
    """The rule does not pass (e.g. an asset filter: not 2+ cars)."""

    rule_type = "not"

    def __init__(self, rule: Rule):
        if not isinstance(rule, Rule):
            raise PolicyError("`not` needs one rule.")
        self.rule = rule

    def params(self):
        """Policy-file mapping of the negated rule."""
        return self.rule.to_dict()

    def describe(self) -> str:
        """The rule as ``NOT (rule)``."""
        return f"NOT ({self.rule.describe()})"

    def mask(self, ctx: Context) -> np.ndarray:
        """Households failing the negated rule."""
        return ~self.rule.mask(ctx)

    def uses(self, parameter: str) -> bool:
        """Whether the negated rule refers to the named policy parameter."""
        return self.rule.uses(parameter)

    def breakpoints(self, ctx: Context, parameter: str) -> np.ndarray | None:
        """Breakpoints of the negated rule in ``parameter``."""
        return self.rule.breakpoints(ctx, parameter)


# --- convenience constructors for common categorical and asset rules -----------------
def has_any(column: str) -> Condition:
    """Households with at least one member counted in ``column`` (e.g. children 0-5)."""
    return Condition(column, ">", 0)


def at_least(column: str, k) -> Condition:
    """``column >= k`` (e.g. 4+ children, 2+ cars)."""
    return Condition(column, ">=", k)


def is_true(column: str) -> Condition:
    """A 0/1 flag equal to 1 (e.g. single_pensioner, female_head)."""
    return Condition(column, "==", 1)


def rule_from_dict(d) -> Rule:
    """Rebuild a rule from ``{type: parameters}`` (as written by ``to_dict`` or YAML)."""
    if isinstance(d, Rule):
        return d
    if isinstance(d, list):
        return All([rule_from_dict(x) for x in d])
    if not isinstance(d, dict) or len(d) != 1:
        raise PolicyError(
            f"a rule must be a mapping with one key (its type: {', '.join(RULE_TYPES)}); "
            f"got {d!r}."
        )
    (kind, params), = d.items()
    cls = RULE_TYPES.get(kind)
    if cls is None:
        raise PolicyError(
            f"unknown rule type {kind!r}; known types: {', '.join(RULE_TYPES)}."
        )
    if cls in (All, AnyOf):
        if not isinstance(params, list):
            raise PolicyError(f"`{kind}` takes a list of rules; got {params!r}.")
        return cls([rule_from_dict(x) for x in params])
    if cls is Not:
        return Not(rule_from_dict(params))
    if not isinstance(params, dict):
        raise PolicyError(f"rule `{kind}` takes a mapping of parameters; got {params!r}.")
    params = dict(params)
    if cls is Ration and "among" in params:
        params["among"] = rule_from_dict(params["among"])
    return construct(cls, params, f"rule `{kind}`")


__all__ = [
    "Rule",
    "IncomeThreshold",
    "ScoreTest",
    "Condition",
    "CountAtLeast",
    "Ration",
    "All",
    "AnyOf",
    "Not",
    "has_any",
    "at_least",
    "is_true",
    "rule_from_dict",
    "PolicyWarning",
    "RULE_TYPES",
]
