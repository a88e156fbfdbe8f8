"""Solvers: the threshold that spends a budget or reaches a coverage, and amounts that
make one benefit structure budget-neutral against another.

Threshold solver
    As a threshold parameter t rises, households enter the programme one at a time at
    known points (their assessed income per member, or score, divided by the parameter's
    factor): the budget B(t) is a step function of t for fixed amounts, and piecewise
    linear for top-ups to t. We sort these breakpoints, search them by bisection *on the
    sorted breakpoints* (each step evaluates the whole policy exactly, so rules that do
    not depend on t are honoured) and solve the linear piece inside the last segment.
    The result spends the budget exactly when B is continuous (top-ups) and otherwise
    stops just before the household whose entry would overspend, leaving a shortfall
    smaller than that household's weighted benefit. B(t) must be non-decreasing in t;
    a decrease found during the search raises PolicyError.

Budget-neutral amounts
    For formulas linear in an amount (flat, per member, equivalised), the budget is
    amount x sum of w x units x take-up over the eligible, so the amount that spends a
    budget is budget / that sum (Uzbekistan 2019, Table 4: 89,907 per member, 147,506 per
    equivalised unit, 246,990 flat). An amount given as a parameter (also inside a
    ``sum`` of formulas, or in tiers) is solved the same way: the budget is
    B(0) + p x (B(1) - B(0)), checked at the solution.

Coverage of a ration
    A ``ration`` admits passers by score until its coverage parameter is reached, so the
    budget is a step function of the coverage with steps at the passers' cumulative
    population shares; :func:`solve_coverage` bisects on those steps for the largest
    coverage whose budget fits.

Budgets are per period of the policy (a month by default: sum of weight x benefit paid
per payment); divide an annual budget by ``policy.payments_per_year``.

Values varying by household
    Solvers find **one number**. A parameter defined by household (``{column: ...}`` or
    ``{by: region, values: {...}}``), or a literal amount given that way, raises
    PolicyError: define the parameter as a number to solve it, or solve each group on
    its own households (``survey.subset(...)``). No common multiplier is solved
    implicitly, so a solved value always means what the policy file says.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import cast

import numpy as np

from pmt.errors import PolicyError
from pmt.simulate.benefits import Benefit, Sum, Tiers, TopUp
from pmt.simulate.context import describe_value, is_varying, parse_value
from pmt.simulate.policy import Policy
from pmt.simulate.rules import All, AnyOf, Not, PolicyWarning, Ration, Rule
from pmt.survey import Survey


@dataclass
class ThresholdSolution:
    """A solved threshold (or ration coverage).

    value : parameter value found.
    budget : budget per period it implies (sum w x benefit paid; monthly by default).
    coverage : population share of beneficiaries (person-weighted).
    target : the target (budget or coverage).
    shortfall : target - achieved (>= 0 for budget targets).
    next_step : budget or coverage added by the next household(s) to enter.
    """

    parameter: str
    value: float
    budget: float
    coverage: float
    target: float
    target_kind: str
    shortfall: float
    next_step: float
    evaluations: int

    def __repr__(self) -> str:
        return (
            f"ThresholdSolution({self.parameter}={self.value:,.6g}, budget={self.budget:,.6g}, "
            f"coverage={self.coverage:.4f}, target {self.target_kind}={self.target:,.6g}, "
            f"shortfall={self.shortfall:,.4g})"
        )


def _check_survey(survey) -> Survey:
    if not isinstance(survey, Survey):
        raise PolicyError(
            "`survey` must be a pmt.Survey (data with weight, size, strata, psu): "
            "pmt.Survey(df, weight='weight', size='hh_size', ...)."
        )
    return survey


def _require_scalar(policy: Policy, parameter: str, solver: str) -> None:
    """PolicyError when ``parameter`` varies by household: solvers find one number."""
    value = policy.parameters.get(parameter)
    if is_varying(value):
        raise PolicyError(
            f"{solver}: parameter '{parameter}' of policy '{policy.name}' varies by "
            f"household ({describe_value(value)}); solving needs a scalar parameter. "
            f"Define '{parameter}' as one number to solve it, or solve each group on its "
            "own households (survey.subset(...))."
        )


def _breakpoints(policy: Policy, survey: Survey, parameter: str) -> np.ndarray:
    if parameter not in policy.parameters:
        raise PolicyError(
            f"policy '{policy.name}' has no parameter '{parameter}'; define it under "
            "`parameters` and refer to it in the threshold (threshold: "
            f"{parameter})."
        )
    ctx = policy.context(survey.data, survey.household_weight, survey.household_size)
    parts = []
    if policy.eligibility is not None:
        b = policy.eligibility.breakpoints(ctx, parameter)
        if b is not None:
            parts.append(b)
    b = policy.benefit.breakpoints(ctx, parameter)
    if b is not None:
        parts.append(b)
    if not parts:
        raise PolicyError(
            f"parameter '{parameter}' is not a threshold of an income_test, score_test or "
            f"top_up in policy '{policy.name}': nothing to solve. Use solve_amount for "
            "benefit amounts."
        )
    pts = np.unique(np.concatenate(parts))
    return pts[np.isfinite(pts)]


class _Evaluator:
    def __init__(self, policy: Policy, survey: Survey, parameter: str):
        self.policy, self.survey, self.parameter = policy, survey, parameter
        self.w = survey.household_weight
        self.v = survey.person_weight
        self.total = self.v.sum()
        self.calls = 0
        self.cache: dict[float, tuple[float, float]] = {}

    def __call__(self, t: float) -> tuple[float, float]:
        t = float(t)
        if t not in self.cache:
            self.calls += 1
            with warnings.catch_warnings():
                # probing far-off thresholds trips the units heuristic: not the user's doing
                warnings.simplefilter("ignore", PolicyWarning)
                out = self.policy.evaluate(self.survey, check=False, **{self.parameter: t})
            budget = float(np.sum(self.w * out.benefit))
            coverage = float(np.sum(self.v * out.takeup * out.beneficiary) / self.total)
            self.cache[t] = (budget, coverage)
        return self.cache[t]


def _segment_points(pts: np.ndarray) -> np.ndarray:
    """One interior point per segment: below the first, between each pair, above the last."""
    span = pts[-1] - pts[0] if pts.size > 1 else max(abs(pts[0]), 1.0)
    lo = pts[0] - max(span, 1.0)
    hi = pts[-1] + max(span, 1.0)
    mids = (pts[:-1] + pts[1:]) / 2
    return np.concatenate([[lo], mids, [hi]])


def _last_at_most(f, xs: np.ndarray, target: float) -> int:
    """Largest i with f(xs[i]) <= target for non-decreasing f (-1 if none)."""
    lo, hi = -1, xs.size  # invariant: f(xs[lo]) <= target < f(xs[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(xs[mid]) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def solve_threshold(
    survey: Survey,
    policy: Policy,
    parameter: str,
    budget: float | None = None,
    coverage: float | None = None,
) -> ThresholdSolution:
    """The threshold value that spends a budget or reaches a coverage.

    Parameters
    ----------
    survey : pmt.Survey
        Households with weights and sizes.
    policy : Policy
        A policy whose income_test / score_test (and possibly top_up) threshold refers to
        ``parameter``.
    parameter : str
        Name of the threshold parameter to solve for.
    budget : float, optional
        Budget per period of the policy (sum over households of weight x benefit paid per
        payment, take-up included; monthly by default: divide an annual budget by
        ``policy.payments_per_year``).
        The solution is the largest threshold whose budget does not exceed it; with fixed
        amounts the shortfall is below the weighted benefit of the next household to
        enter (reported as ``next_step``).
    coverage : float, optional
        Target share of the population (person-weighted) among beneficiaries, in (0, 1];
        the solution is the smallest threshold reaching it.

    Returns
    -------
    ThresholdSolution
    """
    _check_survey(survey)
    if (budget is None) == (coverage is None):
        raise PolicyError("give exactly one of `budget` (per period) or `coverage` (a share).")
    if budget is not None and not (isinstance(budget, (int, float)) and budget > 0):
        raise PolicyError(f"`budget` must be a positive amount per period; got {budget!r}.")
    if coverage is not None and not (isinstance(coverage, (int, float)) and 0 < coverage <= 1):
        raise PolicyError(f"`coverage` must be a population share in (0, 1]; got {coverage!r}.")
    if not isinstance(policy, Policy):
        raise PolicyError(
            "solve_threshold works on one Policy; for a Package, solve the programme whose "
            "threshold moves against the package's budget (implied_budget)."
        )
    _require_scalar(policy, parameter, "solve_threshold")
    pts = _breakpoints(policy, survey, parameter)
    if pts.size == 0:
        raise PolicyError(f"no finite values to place the '{parameter}' threshold between.")
    ev = _Evaluator(policy, survey, parameter)
    mids = _segment_points(pts)
    kind = "budget" if budget is not None else "coverage"

    def f(t):
        return ev(t)[0] if kind == "budget" else ev(t)[1]

    # check monotonicity coarsely on a few segments
    probe = mids[np.unique(np.linspace(0, mids.size - 1, 9).astype(int))]
    vals = [f(t) for t in probe]
    if np.any(np.diff(vals) < -1e-9 * max(1.0, abs(max(vals)))):
        raise PolicyError(
            f"the {kind} of policy '{policy.name}' falls as '{parameter}' rises: the solver "
            "needs a threshold under which eligibility and amounts grow with it."
        )

    if kind == "budget":
        assert budget is not None  # kind is "budget" only when a budget was given
        target = float(budget)
        i = _last_at_most(f, mids, target)  # last segment affordable at its midpoint
        if i == -1:
            raise PolicyError(
                f"budget {target:,.6g} is smaller than what policy '{policy.name}' pays at "
                f"the lowest '{parameter}' ({f(mids[0]):,.6g}): raise the budget."
            )
        if i == mids.size - 1:
            c, s = _affine(f, pts, i)
            if s <= 0:
                raise PolicyError(
                    f"policy '{policy.name}' cannot spend {target:,.6g} a month: it pays at "
                    f"most {f(mids[-1]):,.6g} whatever '{parameter}' is (everyone entered)."
                )
            return _finish(ev, parameter, (target - c) / s, target, kind, np.nan)
        value = _budget_root(f, pts, i, target)
        return _finish(ev, parameter, value, target, kind, f(mids[i + 1]) - f(value))

    assert coverage is not None  # exactly one of budget/coverage was given (checked above)
    target = float(coverage)
    j = _last_at_most(lambda t: f(t) - target * (1 - 1e-12), mids, 0.0) + 1
    # j: first segment whose interior reaches the target
    if j == mids.size:
        raise PolicyError(
            f"policy '{policy.name}' cannot reach coverage {target:.4g}: at most "
            f"{f(mids[-1]):.4g} of the population benefits whatever '{parameter}' is."
        )
    value = mids[j]
    if j >= 1 and f(pts[j - 1]) >= target * (1 - 1e-12):
        value = pts[j - 1]  # an inclusive rule already reaches it at the breakpoint
    prev = f(mids[j - 1]) if j >= 1 else 0.0
    return _finish(ev, parameter, float(value), target, kind, f(mids[j]) - prev)


def _affine(f, pts: np.ndarray, k: int) -> tuple[float, float]:
    """Intercept and slope of f on segment k = (pts[k-1], pts[k]) (open, fixed selection).

    Segment 0 is below the first breakpoint and segment K above the last.
    """
    K = pts.size
    if k == 0:
        step = max(abs(pts[0]), 1.0)
        a, b = pts[0] - 2 * step, pts[0] - step
    elif k == K:
        step = max(abs(pts[-1]), 1.0)
        a, b = pts[-1] + step, pts[-1] + 2 * step
    else:
        lo, hi = pts[k - 1], pts[k]
        a, b = lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3
    fa, fb = f(a), f(b)
    slope = (fb - fa) / (b - a)
    return fa - slope * a, slope


def _budget_root(f, pts: np.ndarray, i: int, target: float) -> float:
    """Largest t with f(t) <= target, knowing f(mid_i) <= target < f(mid_{i+1}).

    Candidates from the top down: inside segment i+1 before its midpoint (continuous
    top-ups: the household entering at pts[i] gets nothing at the margin); the breakpoint
    pts[i] itself (strict rules leave that household out); inside segment i (top-up
    growing within it); for inclusive rules with fixed amounts, the breakpoint pts[i-1]
    (the last household included, same selection as segment i).
    """
    edge = pts[i]
    c, s = _affine(f, pts, i + 1)
    if s > 0:
        t = (target - c) / s
        if t > edge and c + s * edge <= target:
            return float(t)
    if f(edge) <= target:
        return float(edge)
    c, s = _affine(f, pts, i)
    if s > 0:
        t = (target - c) / s
        return float(t) if t < edge else float(np.nextafter(edge, -np.inf))
    if i >= 1 and f(pts[i - 1]) <= target:
        return float(pts[i - 1])
    return float(np.nextafter(edge, -np.inf))


def _finish(ev, parameter, value, target, kind, next_step) -> ThresholdSolution:
    budget, coverage = ev(value)
    achieved = budget if kind == "budget" else coverage
    return ThresholdSolution(
        parameter=parameter,
        value=float(value),
        budget=budget,
        coverage=coverage,
        target=target,
        target_kind=kind,
        shortfall=float(target - achieved),
        next_step=float(next_step),
        evaluations=ev.calls,
    )


def implied_budget(survey: Survey, policy, **overrides) -> float:
    """Budget per period (sum of weight x benefit paid per payment) of a policy or package
    at given parameters.
    """
    _check_survey(survey)
    return policy.budget(survey, **overrides)


def _linear_units(policy: Policy, survey: Survey) -> np.ndarray:
    """Units the amount multiplies (flat 1, member counts...) x take-up, 0 if not eligible."""
    ben = policy.benefit
    if isinstance(ben, Sum):
        raise PolicyError(
            f"benefit {ben.describe()} of policy '{policy.name}' is a `sum` of formulas, not "
            "linear in one amount: name the parameter its amounts refer to "
            "(solve_amount(..., parameter='a'); `kind: amount` in a policy file)."
        )
    if getattr(ben, "amount_field", None) is None:
        raise PolicyError(
            f"benefit {ben.describe()} of policy '{policy.name}' is not linear in one "
            "amount: budget-neutral amounts are solved for flat, per_member and equivalised "
            "formulas (or a parameter the amounts refer to). For a top-up, solve its "
            "threshold with solve_threshold."
        )
    ctx = policy.context(survey.data, survey.household_weight, survey.household_size)
    out = policy.evaluate_context(ctx, check=policy.eligibility is not None)
    return np.where(out.eligible, ben.units(ctx), 0.0) * out.takeup


def _check_budget(budget) -> float:
    if isinstance(budget, bool) or not (isinstance(budget, (int, float)) and budget > 0):
        raise PolicyError(
            f"`budget` must be a positive amount per period of the policy; got {budget!r}."
        )
    return float(budget)


def benefit_thresholds_use(benefit: Benefit, parameter: str) -> bool:
    """``parameter`` is a threshold of the formula (a top-up's guarantee, a tier bound)."""
    if isinstance(benefit, Sum):
        return any(benefit_thresholds_use(c, parameter) for c in benefit.components)
    if isinstance(benefit, TopUp):
        return parse_value(benefit.threshold)[1] == parameter
    if isinstance(benefit, Tiers):
        return any(parse_value(u)[1] == parameter for u, _ in benefit.bands)
    return False


def benefit_amounts_use(benefit: Benefit, parameter: str) -> bool:
    """``parameter`` is an amount of the formula (flat, per member, equivalised, tiers)."""
    if isinstance(benefit, Sum):
        return any(benefit_amounts_use(c, parameter) for c in benefit.components)
    if isinstance(benefit, Tiers):
        return any(parse_value(a)[1] == parameter for _, a in benefit.bands)
    if getattr(benefit, "amount_field", None) is not None:
        return parse_value(benefit.amount_value)[1] == parameter
    return False


def rations_using(rule: Rule | None, parameter: str) -> list[Ration]:
    """The ration rules whose coverage refers to ``parameter``."""
    if rule is None:
        return []
    if isinstance(rule, Ration):
        own = [rule] if parse_value(rule.coverage)[1] == parameter else []
        return own + rations_using(rule.among, parameter)
    if isinstance(rule, (All, AnyOf)):
        return [r for sub in rule.rules for r in rations_using(sub, parameter)]
    if isinstance(rule, Not):
        return rations_using(rule.rule, parameter)
    return []


def parameter_roles(policy: Policy, parameter: str) -> set[str]:
    """How a policy uses a parameter: ``threshold`` (of an income or score test, a top-up
    or tiers), ``amount`` (of a linear formula or tiers) and/or ``coverage`` (of a ration).
    """
    roles = set()
    if (policy.eligibility is not None and policy.eligibility.uses(parameter)) or (
        benefit_thresholds_use(policy.benefit, parameter)
    ):
        roles.add("threshold")
    if benefit_amounts_use(policy.benefit, parameter):
        roles.add("amount")
    if rations_using(policy.eligibility, parameter):
        roles.add("coverage")
    return roles


def solve_amount(
    survey: Survey, policy: Policy, budget: float, parameter: str | None = None
) -> Policy:
    """A copy of ``policy`` whose benefit amount spends ``budget`` per period.

    Parameters
    ----------
    survey : pmt.Survey
    policy : Policy
    budget : float
        Budget per period of the policy (sum over households of weight x benefit paid;
        monthly by default). For an annual budget pass ``annual / policy.payments_per_year``.
    parameter : str, optional
        The parameter the amounts refer to (required for a ``sum`` of formulas). By
        default the amount of a flat, per-member or equivalised formula: when it names a
        parameter, that parameter is solved.

    Returns
    -------
    Policy
        A literal amount is replaced by the solved number (amount = budget / sum_h w_h x
        units_h x take-up_h over eligible households; units are 1 for flat, the capped
        member count for per_member, the equivalised count); a parameter is set to its
        solved value, so ``describe()`` and summaries print it. ``extra["solved_amount"]``
        records the value.
    """
    _check_survey(survey)
    budget = _check_budget(budget)
    if not isinstance(policy, Policy):
        raise PolicyError("solve_amount works on one Policy (not a Package).")
    if parameter is None:
        ben = policy.benefit
        name = None
        if getattr(ben, "amount_field", None) is not None and not isinstance(ben, Sum):
            if is_varying(ben.amount_value):
                raise PolicyError(
                    f"solve_amount: the amount of policy '{policy.name}' varies by household "
                    f"({describe_value(ben.amount_value)}); solving needs a scalar amount. "
                    "Give the amount as a number (or a parameter defined as a number)."
                )
            factor, name = parse_value(ben.amount_value)
        if name is None:
            units = _linear_units(policy, survey)
            denom = float(np.sum(survey.household_weight * units))
            if denom <= 0:
                raise PolicyError(
                    f"policy '{policy.name}' pays nobody any units (no eligible household "
                    "with a positive count): no amount can spend the budget."
                )
            amount = budget / denom
            new = policy.renamed(policy.name)
            new.benefit.amount_value = amount
            new.extra["solved_amount"] = amount
            return new
        parameter = name
    return _solve_linear_parameter(survey, policy, parameter, budget)


def _solve_linear_parameter(survey: Survey, policy: Policy, parameter: str,
                            budget: float) -> Policy:
    _require_scalar(policy, parameter, "solve_amount")
    if parameter not in policy.parameters:
        raise PolicyError(
            f"policy '{policy.name}' has no parameter '{parameter}'; define it under "
            "`parameters` and refer to it in the benefit amount."
        )
    roles = parameter_roles(policy, parameter)
    if "threshold" in roles or "coverage" in roles:
        raise PolicyError(
            f"parameter '{parameter}' is a threshold or coverage of policy '{policy.name}', "
            "so the budget is not linear in it: use solve_threshold (or solve_coverage)."
        )
    if "amount" not in roles:
        raise PolicyError(
            f"parameter '{parameter}' is not an amount of the benefit {policy.benefit.describe()}"
            f" of policy '{policy.name}': nothing to solve."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        b0 = policy.budget(survey, **{parameter: 0.0})
        slope = policy.budget(survey, **{parameter: 1.0}) - b0
        if slope <= 0:
            raise PolicyError(
                f"no eligible household of policy '{policy.name}' receives an amount that "
                f"depends on '{parameter}': no value of it can spend the budget."
            )
        value = (budget - b0) / slope
        if value < 0:
            raise PolicyError(
                f"budget {budget:,.6g} is below what policy '{policy.name}' pays whatever "
                f"'{parameter}' is ({b0:,.6g}, the parts not depending on it): raise it."
            )
        achieved = policy.budget(survey, **{parameter: value})
    if not np.isclose(achieved, budget, rtol=1e-9, atol=0.0):
        raise PolicyError(
            f"the budget of policy '{policy.name}' is not linear in '{parameter}' "
            f"({achieved:,.6g} instead of {budget:,.6g}): solve it with solve_threshold."
        )
    new = policy.with_parameters(**{parameter: value})
    new.extra["solved_amount"] = value
    return new


def budget_neutral_amount(survey: Survey, policy: Policy, reference: Policy | float) -> Policy:
    """``policy`` with its amount set so that it spends what ``reference`` spends.

    ``reference`` is another policy or package (its budget per period is evaluated on the
    same survey) or a budget per period.
    """
    budget = reference if isinstance(reference, (int, float)) else reference.budget(survey)
    return solve_amount(survey, policy, float(budget))


def _coverage_breakpoints(policy: Policy, survey: Survey, parameter: str) -> np.ndarray:
    """Cumulative-share breakpoints of every ration whose coverage is ``parameter``."""
    ctx = policy.context(survey.data, survey.household_weight, survey.household_size)
    parts: list[np.ndarray] = []

    def walk(rule, base):
        if isinstance(rule, All):
            plain = [r for r in rule.rules if not getattr(r, "needs_base", False)]
            b = np.ones(ctx.n, dtype=bool)
            for r in plain:
                b &= r.mask(ctx)
                walk(r, None)
            for r in rule.rules:
                if getattr(r, "needs_base", False):
                    walk(r, b)
                    b = cast(Ration, r).mask(ctx, base=b)  # only Ration needs a base
        elif isinstance(rule, AnyOf):
            for r in rule.rules:
                walk(r, None)
        elif isinstance(rule, Not):
            walk(rule.rule, None)
        elif isinstance(rule, Ration):
            if parse_value(rule.coverage)[1] == parameter:
                parts.append(rule.coverage_breakpoints(ctx, base))
            if rule.among is not None:
                walk(rule.among, None)

    walk(policy.eligibility, None)
    pts = np.unique(np.concatenate(parts)) if parts else np.array([])
    return pts[np.isfinite(pts) & (pts > 0)]


def solve_coverage(
    survey: Survey, policy: Policy, parameter: str, budget: float
) -> ThresholdSolution:
    """The ration coverage that spends a budget (Uzbekistan 2019 option 3 for a budget).

    Parameters
    ----------
    survey : pmt.Survey
    policy : Policy
        A policy whose ``ration`` rule takes its coverage from ``parameter``.
    parameter : str
        The coverage parameter (a population share).
    budget : float
        Budget per period of the policy (sum over households of weight x benefit paid).

    Returns
    -------
    ThresholdSolution
        ``value``: the largest coverage whose budget does not exceed ``budget`` (the
        passers admitted are those whose cumulative population share reaches it);
        ``shortfall`` < ``next_step``, the cost of the next passer(s) to enter.
    """
    _check_survey(survey)
    budget = _check_budget(budget)
    if not isinstance(policy, Policy):
        raise PolicyError("solve_coverage works on one Policy (not a Package).")
    if parameter not in policy.parameters:
        raise PolicyError(
            f"policy '{policy.name}' has no parameter '{parameter}'; define it under "
            "`parameters` and give it as the ration's coverage (coverage: "
            f"{parameter})."
        )
    _require_scalar(policy, parameter, "solve_coverage")
    if not rations_using(policy.eligibility, parameter):
        raise PolicyError(
            f"parameter '{parameter}' is not the coverage of a ration rule in policy "
            f"'{policy.name}': use solve_threshold for thresholds, solve_amount for amounts."
        )
    pts = _coverage_breakpoints(policy, survey, parameter)
    if pts.size == 0:
        raise PolicyError(
            f"no household passes the rules the ration of '{parameter}' ranks: nothing to "
            "cover."
        )
    ev = _Evaluator(policy, survey, parameter)
    mids = (np.r_[0.0, pts[:-1]] + pts) / 2  # mids[k] admits exactly the passers up to pts[k]

    def f(t):
        return ev(t)[0]

    k = _last_at_most(f, mids, budget)
    if k == -1:
        raise PolicyError(
            f"budget {budget:,.6g} is smaller than the cost of the first passer(s) of the "
            f"ration in policy '{policy.name}' ({f(mids[0]):,.6g}): raise the budget."
        )
    if k == mids.size - 1 and f(mids[k]) < budget * (1 - 1e-12):
        raise PolicyError(
            f"policy '{policy.name}' cannot spend {budget:,.6g} per period through its "
            f"ration: covering every household that passes the other rules costs "
            f"{f(mids[k]):,.6g}."
        )
    # report the breakpoint itself when it admits the same households as the midpoint
    value = float(pts[k]) if ev(pts[k]) == ev(mids[k]) else float(mids[k])
    step = f(mids[k + 1]) - f(mids[k]) if k + 1 < mids.size else np.nan
    return _finish(ev, parameter, value, budget, "budget", step)


#: any solved parameter (threshold or ration coverage)
Solution = ThresholdSolution
