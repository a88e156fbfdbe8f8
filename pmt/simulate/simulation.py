"""``simulate``: apply a policy to a survey and measure budget, targeting and poverty impact.

Welfare accounting (all per member and per period of ``welfare``, a month by default, in
the units of ``welfare``). One marginal propensity to consume, ``mpc``, applies to every
transfer, current or reformed: a transfer of T per member moves welfare by mpc x T.

* observed welfare y_obs (post-transfer: includes existing benefits);
* pre-transfer welfare y_pre = y_obs - mpc x E / n (Kyrgyz 2011 Annex 1), E the existing
  benefits, floored at ``floor`` if given (counted); y_pre = y_obs without ``existing``;
* welfare under the current system y_cur = y_pre + mpc x E / n (= y_obs, except for
  floored households, which keep the floored accounting);
* welfare under the reform y_post = y_pre + mpc x B / n when the reform replaces the
  existing benefits (default), or y_cur + mpc x B / n when it is paid on top of them.
  B is the household's benefit per period of welfare averaged over the year: amount per
  payment (entitlement x take-up; the expected amount in expected mode) x payments a
  year / periods of welfare in a year (a monthly benefit paid all year: the monthly
  amount; at most 6 months in 12: half of it; a one-off payment: a twelfth of it).

So the reform changes a household's welfare by mpc x (B - E) / n (replacing) or
mpc x B / n (on top): winners and losers are the households whose reported welfare
rises or falls (y_post against y_cur), and with mpc = 0 (transfers fully offset) nobody's
welfare moves. An unchanged programme (B = E) changes nothing whatever the mpc.

The ranking variable of every incidence table and the poverty status of the targeting
metrics is y_pre. Every assumption is listed in ``result.assumptions`` and printed by
``result.summary()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pmt.errors import PolicyError, example_rows
from pmt.evaluate.metrics import targeting_metrics
from pmt.simulate.context import Context, describe_value, periods_per_year
from pmt.simulate.impact import (
    MEASURES,
    display_table,
    incidence_table,
    money_gap,
    paired_change,
)
from pmt.simulate.policy import Package, Policy, PolicyOutcome
from pmt.simulate.takeup import check_mpc, check_transfers, pre_transfer_welfare
from pmt.simulate.timing import annual_amounts
from pmt.survey import Survey, quantile_groups, weighted_quantile


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate`.

    Attributes
    ----------
    policy : Policy
    outcome : PolicyOutcome
        Per-household eligibility, entitlement, take-up and benefit.
    welfare : pandas.DataFrame
        Per household: ``observed``, ``pre_transfer``, ``current`` (under the current
        benefits, on the reform's accounting) and ``reform`` welfare per member.
    counts : pandas.Series
        Eligible and beneficiary households and people (weighted and sample counts).
    budget : pandas.Series
        ``per_period`` (sum of weight x benefit per payment, in the policy's period),
        ``payments_per_year``, ``monthly`` (annual / 12: the average month), ``annual``
        (per_period x payments a year: x 12 for a monthly benefit paid all year),
        ``pct_gdp`` (annual / gdp x 100, if gdp given) and the average benefit per
        beneficiary household per payment.
    poverty : pandas.DataFrame
        FGT0/1/2 and Watts before (pre-transfer) and after the reform with linearised
        PSU-clustered standard errors of the levels and of the paired change.
    tables : dict of pandas.DataFrame
        Everything above plus incidence by decile/quintile, targeting metrics, winners
        and losers, cost-effectiveness and the distribution of benefit amounts.
    assumptions : dict
        Take-up, mpc, unit, ranking variable, line, welfare, existing benefits, floor.
    line : numpy.ndarray
        The poverty line of each household, per member per period of welfare.
    """

    policy: Policy | Package
    outcome: PolicyOutcome
    welfare: pd.DataFrame
    counts: pd.Series
    budget: pd.Series
    poverty: pd.DataFrame
    tables: dict = field(default_factory=dict)
    assumptions: dict = field(default_factory=dict)
    line: np.ndarray | None = None  # poverty line of each household (per member)

    @property
    def targeting(self) -> pd.Series:
        """Targeting statistics as a series indexed by statistic."""
        return self.tables["targeting"]["value"]

    def summary(self) -> str:
        """Plain-text summary of the policy, its assumptions and its results."""
        a = self.assumptions
        cur = f" {a['currency']}" if a.get("currency") else ""
        lines = [
            self.policy.describe(),
            "Assumptions:",
            f"  welfare: '{a['welfare']}' per member per {a.get('welfare_period', 'month')}; "
            f"poverty line {a['line']}",
            f"  ranking variable (quantile groups, poverty status): {a['ranking']}",
            f"  existing benefits removed: {a['existing']}; floor = {a['floor']} "
            f"({a['n_floored']} households floored)",
            f"  mpc = {a['mpc']:g} (substitution rate {1 - a['mpc']:g}) for existing and "
            "reform benefits alike: a transfer moves welfare by mpc x amount",
            f"  reform {'replaces' if a['replace_existing'] else 'adds to'} existing benefits",
            f"  payment: {a.get('payment', 'monthly')}; welfare per "
            f"{a.get('welfare_period', 'month')}",
            f"  unit: {a['unit']}; {a['takeup']}",
            f"  weights: person = household weight x size; {a['n_households']} households",
            "Counts (weighted):",
        ]
        c = self.counts
        lines += [
            f"  eligible: {c['eligible_households']:,.0f} households, "
            f"{c['eligible_people']:,.0f} people ({c['eligible_share']:.1%} of population)",
            f"  beneficiaries: {c['beneficiary_households']:,.0f} households, "
            f"{c['beneficiary_people']:,.0f} people ({c['beneficiary_share']:.1%})",
        ]
        fam = self.tables.get("families")
        if fam is not None:
            for name, f in fam.items():
                lines.append(
                    f"  families ({name}): {f['families']:,.0f} in {f['households']:,.0f} "
                    f"households ({f['families_per_household']:.2f} per household); "
                    f"{f['eligible_families']:,.0f} eligible, "
                    f"{f['people_in_eligible_families']:,.0f} people in eligible families; "
                    f"{f['households_with_several_eligible_families']:,.0f} households with "
                    "two or more eligible families"
                )
        b = self.budget
        gdp = f", {b['pct_gdp']:.3f}% of GDP" if np.isfinite(b["pct_gdp"]) else ""
        period = a.get("period", "month")
        if period == "month" and b["payments_per_year"] == 12:
            lines.append(
                f"Budget: {b['monthly']:,.0f}{cur} a month, {b['annual']:,.0f}{cur} a year{gdp}"
            )
        elif isinstance(self.policy, Package):
            lines.append(
                f"Budget: {b['per_period']:,.0f}{cur} per {period} of payments, "
                f"{b['annual']:,.0f}{cur} a year ({b['monthly']:,.0f}{cur} a month on "
                f"average){gdp}"
            )
        else:
            k = b["payments_per_year"]
            lines.append(
                f"Budget: {b['per_period']:,.0f}{cur} per payment ({a['period']}), "
                f"{k:g} payment{'s' if k != 1 else ''} a year: {b['annual']:,.0f}{cur} a "
                f"year ({b['monthly']:,.0f}{cur} a month on average){gdp}"
            )
        if a.get("solved"):
            lines.append(f"Solved: {a['solved']}")
        lines.append("Poverty (before = pre-transfer, after = with the reform; se in brackets):")
        if a.get("measures_note"):
            lines.append(f"  ({a['measures_note']})")
        for m, r in self.poverty.iterrows():
            lines.append(
                f"  {m:5s} {r['before']:.4f} ({r['se_before']:.4f}) -> {r['after']:.4f} "
                f"({r['se_after']:.4f}); change {r['change']:+.4f} (paired se "
                f"{r['se_change']:.4f}, naive {r['se_naive']:.4f})"
            )
        t = self.targeting
        lines.append(
            "Targeting (poor = pre-transfer welfare below the line): "
            + ", ".join(f"{k} {v:.3f}" for k, v in t.items())
        )
        ce = self.tables["cost_effectiveness"]["value"]
        lines.append(
            f"Cost-effectiveness: poverty-gap reduction per unit spent "
            f"{ce['gap_reduction_per_unit']:.3f}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"SimulationResult({self.policy.name!r}: budget {self.budget['monthly']:,.0f}/month, "
            f"FGT0 {self.poverty.loc['FGT0', 'before']:.4f} -> "
            f"{self.poverty.loc['FGT0', 'after']:.4f})"
        )


def _line_values(survey: Survey, line) -> tuple[np.ndarray, str]:
    """The poverty line of each household and its label for the summary.

    ``line`` is a number, a column name, ``{"column": c}`` or ``{"by": "region",
    "values": {code: line}}`` (regional lines: every group in the data needs one).
    """
    if isinstance(line, Mapping):
        ctx = Context(survey.data, survey.household_weight, survey.household_size)
        z = ctx.varying(line, "simulation `line`")
        label = describe_value(line)
    elif isinstance(line, str):
        if line not in survey.data.columns:
            raise PolicyError(f"poverty line column '{line}' is not in the survey data.")
        z = survey.column(line)
        label = f"column '{line}'" + (f" = {z[0]:,.6g}" if np.all(z == z[0]) else "")
    else:
        try:
            zf = float(line)
        except (TypeError, ValueError):
            raise PolicyError(
                f"`line` must be a number, a column name, {{column: name}} or {{by: column, "
                f"values: {{code: line}}}}; got {line!r}."
            ) from None
        z = np.full(survey.n_households, zf)
        label = f"{zf:,.6g}"
    bad = ~(z > 0)
    if bad.any():
        raise PolicyError(
            f"poverty line must be positive; bad at {example_rows(survey.data.index[bad])}."
        )
    return z, label


def _family_counts(policy, out: PolicyOutcome, w: np.ndarray) -> pd.DataFrame | None:
    """Family-level counts of each programme assessed by family (None if there is none).

    Rows: families and households (weighted and in the sample), families per household,
    eligible and beneficiary families, eligible families per eligible household, the share
    of eligible families living in a household with other families (Kazakhstan 2017: 63 %
    for the special child allowance), people in eligible families (family members only)
    beside people in households with an eligible family (every member: the two conventions
    of Kazakhstan 2017, p. 32), and households with more than one eligible family. A
    family's weight is its household's.
    """
    parts = out.components or {policy.name: out}
    columns = {}
    for name, part in parts.items():
        units = part.units
        if units is None:
            continue
        rows = part.unit_rows
        fam_w = w[rows]
        size = units["family_size"].to_numpy(dtype=float)
        eligible = units["eligible"].to_numpy(dtype=bool)
        paid = eligible & (units["entitlement"].to_numpy(dtype=float) > 0)
        takeup = units["takeup"].to_numpy(dtype=float)
        n_hh = len(part.index)
        per_hh_eligible = np.bincount(rows, weights=eligible.astype(float), minlength=n_hh)
        hh_eligible = per_hh_eligible > 0
        n_people_hh = np.bincount(rows, weights=size, minlength=n_hh)
        multi = (np.bincount(rows, minlength=n_hh) > 1)[rows]  # family shares its household
        w_eligible = float(np.sum(fam_w * eligible))
        columns[name] = pd.Series({
            "families": float(fam_w.sum()),
            "households": float(w.sum()),
            "families_per_household": float(fam_w.sum() / w.sum()),
            "eligible_families": float(np.sum(fam_w * eligible)),
            "beneficiary_families": float(np.sum(fam_w * paid * takeup)),
            "eligible_households": float(np.sum(w * hh_eligible)),
            "eligible_families_per_eligible_household": float(
                np.sum(fam_w * eligible) / np.sum(w * hh_eligible)) if hh_eligible.any()
            else np.nan,
            "households_with_several_eligible_families": float(
                np.sum(w * (per_hh_eligible > 1))),
            "eligible_families_in_multi_family_households": float(
                np.sum(fam_w * eligible * multi) / w_eligible) if w_eligible > 0 else np.nan,
            "people_in_eligible_families": float(np.sum(fam_w * size * eligible)),
            "people_in_households_with_an_eligible_family": float(
                np.sum(w * n_people_hh * hh_eligible)),
            "families_sample": float(len(units)),
            "eligible_families_sample": float(eligible.sum()),
        })
    if not columns:
        return None
    table = pd.DataFrame(columns)
    table.index.name = "count"
    return table


def _benefit_distribution(amount: np.ndarray, w: np.ndarray, max_levels: int = 20) -> pd.DataFrame:
    """Weighted distribution of entitled households over benefit amounts (Uzbek Table 4)."""
    pos = amount > 0
    a, wp = amount[pos], w[pos]
    if a.size == 0:
        return pd.DataFrame(columns=["households", "share"])
    levels = np.unique(np.round(a, 6))
    if levels.size <= max_levels:
        keys = pd.Index(np.round(a, 6), name="amount")
        tab = pd.Series(wp, index=keys).groupby(level=0).sum().to_frame("households")
    else:
        grp = quantile_groups(a, wp, 10)
        lo = pd.Series(a).groupby(grp).min()
        hi = pd.Series(a).groupby(grp).max()
        tab = pd.Series(wp).groupby(grp).sum().to_frame("households")
        tab.index = pd.Index(
            [f"{lo[g]:,.6g} - {hi[g]:,.6g}" for g in tab.index], name="amount"
        )
    tab["share"] = tab["households"] / tab["households"].sum()
    tab.index = tab.index.astype(str)
    tab.loc["Average"] = [tab["households"].sum(), 1.0]
    tab["mean_amount"] = np.nan
    tab.loc["Average", "mean_amount"] = float(np.sum(wp * a) / np.sum(wp))
    return tab


def _interval_table(ratio, cuts, w, v, eligible, r, monthly, per_welfare, winner,
                    loser) -> pd.DataFrame:
    """Counts and amounts by interval of welfare relative to the line (Kazakhstan 2017).

    ``monthly``: household amount per month averaged over the year (the budget column);
    ``per_welfare``: per period of welfare (the benefit per capita column).
    """
    cuts = [float(c) for c in cuts]
    if not cuts or any(c <= 0 for c in cuts) or cuts != sorted(set(cuts)):
        raise PolicyError(
            f"`intervals` must be increasing positive multiples of the line; got {cuts!r}."
        )
    k = np.searchsorted(np.asarray(cuts), ratio, side="right")  # 0 = below the first cut
    labels = [f"< {cuts[0]:g} z"] + [
        f"{a:g} z - {b:g} z" for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ] + [f">= {cuts[-1]:g} z"]
    frame = pd.DataFrame(
        {
            "k": k,
            "households": w,
            "people": v,
            "eligible_households": w * eligible,
            "eligible_people": v * eligible,
            "beneficiary_households": w * r,
            "beneficiary_people": v * r,
            "winner_households": w * winner,
            "loser_households": w * loser,
            "winner_people": v * winner,
            "loser_people": v * loser,
            "budget_monthly": w * monthly,
            "_paid": w * per_welfare,
        }
    )
    t = frame.groupby("k").sum().reindex(range(len(labels)), fill_value=0.0)
    t.loc[len(labels)] = t.sum()
    t.index = pd.Index([*labels, "Total"], name="interval")
    with np.errstate(invalid="ignore", divide="ignore"):
        t["benefit_per_capita"] = t.pop("_paid") / t["people"]
    return t


def simulate(
    survey: Survey,
    policy: Policy,
    welfare: str = "pcc",
    line="poverty_line",
    existing: str | Sequence[str] | None = None,
    mpc: float = 1.0,
    floor: float | None = None,
    replace_existing: bool = True,
    gdp: float | None = None,
    groups: Sequence[int] = (10, 5),
    measures: Sequence[str] | None = None,
    welfare_is_pre_transfer: bool = False,
    intervals: Sequence[float] | None = None,
    welfare_period: str | None = None,
) -> SimulationResult:
    """Simulate a programme on a survey: who gets what, at what cost, with what impact.

    Parameters
    ----------
    survey : pmt.Survey
        Household data with weights, sizes, strata and PSUs.
    policy : Policy or Package
        Eligibility, benefit formula, unit, take-up and payment schedule (or several
        programmes).
    welfare : str
        Column of observed welfare per member per period (``welfare_period``; e.g.
        ``"pcc"``, consumption per capita per month), in the currency of the policy.
    line : float, str or mapping
        Poverty line per member per period of welfare: a number, a column, or a line
        varying by household written as in policies, ``{"column": "regional_min"}`` or
        ``{"by": "region", "values": {1: 150000, 2: 140000}}`` (regional subsistence
        minima; every region in the data needs a line). Each household's poverty status,
        gap and Watts term use its own line (passed per household to
        :func:`pmt.welfare.poverty_measures`).
    existing : str or list of str, optional
        Column(s) of existing benefits received (household, per period of welfare;
        several columns are summed: "remove all" rather than "remove one") to remove from
        welfare for the pre-transfer counterfactual, and to compare with the reform for
        winners and losers.
    mpc : float
        Marginal propensity to consume out of transfers, in [0, 1]. It applies to every
        transfer alike: existing benefits (c_pre = c_obs - mpc x existing / n) and the
        reform's (c_reform = c_pre + mpc x benefit / n). 1 = no behavioural
        compensation; 0 = transfers fully offset (nobody's welfare moves).
    floor : float, optional
        Minimum pre-transfer welfare; households below it are set to it and counted.
    replace_existing : bool
        The reform replaces the existing benefits (y_post = y_pre + mpc B/n, default) or
        is paid on top of them (y_post = y_cur + mpc B/n).
    gdp : float, optional
        Annual GDP in the same currency, to report the annual budget as % of GDP.
    groups : sequence of int
        Quantile groups for the incidence tables (10 deciles, 5 quintiles).
    measures : sequence of str, optional
        Poverty measures among FGT0, FGT1, FGT2, Watts. Default: all four, leaving Watts
        out (with a note in ``assumptions["measures_note"]``) when some pre-transfer
        welfare is zero or negative, where log(z / y) is undefined; asking for Watts
        explicitly then raises PolicyError.
    welfare_is_pre_transfer : bool
        ``welfare`` already excludes the existing benefits (as ``pcc`` of
        :func:`pmt.datasets.synthetic_hbs`): then y_pre = welfare and the observed
        welfare is rebuilt as y_pre + mpc x existing / n.
    intervals : sequence of float, optional
        Cut-points as multiples of the line (e.g. ``[0.4, 0.5, 0.6, 1.0]``) for a table by
        interval of pre-transfer welfare: households and people, eligible and beneficiary,
        winners and losers, budget per month and benefit per capita over everyone in the
        interval (Kazakhstan 2017, Tables 8-10).
    welfare_period : {"month", "quarter", "year"}, optional
        Period of ``welfare``, ``line`` and ``existing``; default the policy's period.
        Benefits enter welfare at their annual amount / periods of welfare in a year.

    Returns
    -------
    SimulationResult
    """
    if not isinstance(survey, Survey):
        raise PolicyError(
            "`survey` must be a pmt.Survey: pmt.Survey(df, weight='weight', size='hh_size', "
            "strata='stratum', psu='psu')."
        )
    if not isinstance(policy, (Policy, Package)):
        raise PolicyError(
            "`policy` must be a pmt.simulate.Policy or Package (or use Policy.from_yaml)."
        )
    explicit_measures = measures is not None
    measures = tuple(MEASURES if measures is None else measures)
    bad_m = [m for m in measures if m not in MEASURES]
    if bad_m or not measures:
        raise PolicyError(f"unknown poverty measure(s) {bad_m}; choose from {list(MEASURES)}.")
    if gdp is not None and not (isinstance(gdp, (int, float)) and gdp > 0):
        raise PolicyError(f"`gdp` must be a positive annual amount; got {gdp!r}.")
    mpc = check_mpc(mpc)
    if welfare_period is None:
        welfare_period = policy.period
    welfare_ppy = periods_per_year(welfare_period, "welfare_period")
    data = survey.data
    if welfare not in data.columns:
        raise PolicyError(f"welfare column '{welfare}' is not in the survey data.")
    y_obs = survey.column(welfare)
    miss = ~np.isfinite(y_obs)
    if miss.any():
        raise PolicyError(
            f"welfare '{welfare}' is missing for {int(miss.sum())} households at "
            f"{example_rows(data.index[miss])}: impute them or simulate on survey.subset(...)."
        )
    z, line_label = _line_values(survey, line)
    w, n, v = survey.household_weight, survey.household_size, survey.person_weight

    n_floored = 0
    if existing is not None:
        cols = [existing] if isinstance(existing, str) else list(existing)
        missing = [c for c in cols if c not in data.columns]
        if missing or not cols:
            raise PolicyError(
                f"existing-benefit column(s) {missing or cols} not in the survey data: name "
                "the columns of benefits currently received (household, per period of "
                "welfare)."
            )
        old = np.sum([survey.column(c) for c in cols], axis=0)
        existing = existing if isinstance(existing, str) else " + ".join(cols)
    if existing is not None and welfare_is_pre_transfer:
        check_transfers(old, data.index)
        y_pre = y_obs.copy()
        y_obs = y_pre + mpc * old / n
    elif existing is not None:
        pre = pre_transfer_welfare(
            pd.Series(y_obs, index=data.index, name=welfare),
            old,
            n,
            mpc=mpc,
            floor=floor,
        )
        y_pre = pre.to_numpy()
        n_floored = pre.attrs["n_floored"]
    else:
        y_pre = y_obs.copy()
        old = np.zeros_like(y_obs)
        if floor is not None:
            low = y_pre < floor
            n_floored = int(low.sum())
            y_pre = np.where(low, float(floor), y_pre)

    measures_note = ""
    if "Watts" in measures and np.any(y_pre <= 0):
        bad = y_pre <= 0
        if explicit_measures:
            raise PolicyError(
                f"the Watts index takes log(z / y), but pre-transfer welfare '{welfare}' is "
                f"<= 0 for {int(bad.sum())} households at {example_rows(data.index[bad])}: "
                "leave 'Watts' out of `measures` (or set `floor`)."
            )
        measures = tuple(m for m in measures if m != "Watts")
        measures_note = (
            f"Watts left out: pre-transfer welfare is <= 0 for {int(bad.sum())} households, "
            "where log(z / y) is undefined"
        )

    out = policy.evaluate(survey)
    paid = out.benefit  # per payment, in the policy's period
    annual = annual_amounts(policy, out)
    per_welfare = annual / welfare_ppy  # per period of welfare, averaged over the year
    # every transfer moves welfare by mpc x amount per member (existing and reform alike)
    y_cur = y_pre + mpc * old / n
    base = y_pre if replace_existing else y_cur
    y_post = base + mpc * per_welfare / n
    # A top-up to the line lands on z up to round-off (y + n(z - y)/n can be z - 1e-14):
    # snap values within 1e-10 relative of the line onto it so FGT's y < z is not fooled.
    on_line = (per_welfare > 0) & np.isclose(y_post, z, rtol=1e-10, atol=0.0)
    y_post = np.where(on_line, z, y_post)

    # counts
    entitled = out.eligible & (out.entitlement > 0)
    r = out.takeup * entitled  # recipient probability (0/1 in random mode)
    counts = pd.Series(
        {
            "eligible_households": float(np.sum(w * out.eligible)),
            "eligible_people": float(np.sum(v * out.eligible)),
            "eligible_share": float(np.sum(v * out.eligible) / v.sum()),
            "beneficiary_households": float(np.sum(w * r)),
            "beneficiary_people": float(np.sum(v * r)),
            "beneficiary_share": float(np.sum(v * r) / v.sum()),
            "eligible_households_sample": int(out.eligible.sum()),
            "eligible_people_sample": int(np.sum(n * out.eligible)),
            "beneficiary_households_sample": int(np.sum(r > 0)),
            "population": float(v.sum()),
            "households": float(w.sum()),
        },
        name="value",
    )
    counts.index.name = "count"
    families = _family_counts(policy, out, w)
    per_period = float(np.sum(w * paid))
    annual_total = float(np.sum(w * annual))
    payments = (
        policy.payments_per_year if isinstance(policy, Policy)
        else annual_total / per_period if per_period > 0 else np.nan
    )
    budget = pd.Series(
        {
            "per_period": per_period,
            "payments_per_year": float(payments),
            "monthly": annual_total / 12,
            "annual": annual_total,
            "pct_gdp": 100 * annual_total / gdp if gdp else np.nan,
            "average_benefit_per_beneficiary_household": per_period
            / counts["beneficiary_households"]
            if counts["beneficiary_households"] > 0
            else np.nan,
        },
        name="value",
    )
    budget.index.name = "budget"

    poverty = paired_change(survey, y_pre, y_post, z, measures)
    tables: dict[str, pd.DataFrame] = {"poverty": poverty, "poverty_display": display_table(poverty)}
    if existing is not None:
        tables["poverty_vs_current"] = paired_change(survey, y_cur, y_post, z, measures)

    for k in groups:
        name = {10: "deciles", 5: "quintiles"}.get(k, f"groups_{k}")
        tables[name] = incidence_table(
            y_pre, v, w, r, per_welfare, k, eligible=out.eligible.astype(float),
            consumption=y_post,
        )

    poor = y_pre < z
    # selected: entitled households that take up with positive probability (all entitled
    # in expected mode unless a rate is 0; the drawn takers in random mode)
    selected = entitled & (out.takeup > 0)
    tm = targeting_metrics(poor.astype(int), selected.astype(int), weights=v,
                           benefits=per_welfare / n)
    tables["targeting"] = tm.to_frame("value")

    # winners and losers: the welfare the tables report, under the reform against the
    # current system (Kazakhstan 2017); changes within round-off count as unchanged
    change = y_post - y_cur
    tol = 1e-9 * np.maximum(np.abs(y_cur), np.abs(y_post))
    winner, loser = change > tol, change < -tol
    unchanged = ~(winner | loser)
    q = quantile_groups(y_pre, v, 5)
    wl = pd.DataFrame(
        {
            "g": q,
            "winner_households": w * winner,
            "loser_households": w * loser,
            "unchanged_households": w * unchanged,
            "winner_people": v * winner,
            "loser_people": v * loser,
            "unchanged_people": v * unchanged,
            "vy_reform": v * y_post,
            "vy_noreform": v * y_cur,
            "v": v,
        }
    )
    s = wl.groupby("g").sum().reindex(range(1, 6), fill_value=0.0)
    s.loc["Total"] = s.sum()
    winners = s[["winner_households", "loser_households", "unchanged_households",
                 "winner_people", "loser_people", "unchanged_people"]].copy()
    winners["mean_welfare_reform"] = s["vy_reform"] / s["v"]
    winners["mean_welfare_no_reform"] = s["vy_noreform"] / s["v"]
    winners.index.name = "quintile of pre-transfer welfare"
    tables["winners_losers"] = winners

    if intervals is not None:
        tables["intervals"] = _interval_table(
            y_pre / z, intervals, w, v, out.eligible, r, annual / 12, per_welfare, winner,
            loser,
        )

    gap_pre, gap_post = money_gap(y_pre, z, v), money_gap(y_post, z, v)
    spending = float(np.sum(w * per_welfare))  # per period of welfare, like the gap
    ce = pd.Series(
        {
            "gap_before": gap_pre,
            "gap_after": gap_post,
            "gap_reduction": gap_pre - gap_post,
            "spending": spending,
            "gap_reduction_per_unit": (gap_pre - gap_post) / spending if spending > 0 else np.nan,
            "share_of_spending_on_poor": float(np.sum(w * per_welfare * poor) / spending)
            if spending > 0
            else np.nan,
        },
        name="value",
    )
    ce.index.name = "indicator"
    tables["cost_effectiveness"] = ce.to_frame()
    tables["counts"] = counts.to_frame()
    if families is not None:
        tables["families"] = families
    tables["budget"] = budget.to_frame()
    tables["benefit_distribution"] = _benefit_distribution(out.entitlement, w)

    if isinstance(policy, Policy):
        payment = policy.schedule.describe()
    else:
        payment = "; ".join(f"{p.name}: {p.schedule.describe()}" for p in policy.policies)
    assumptions = {
        "policy": policy.name,
        "welfare": welfare,
        "line": line_label,
        "ranking": f"pre-transfer {welfare}"
        + (
            " (as given: excludes existing benefits)"
            if welfare_is_pre_transfer
            else f" (minus mpc x '{existing}' per member)"
            if existing
            else " (no benefits removed)"
        ),
        "existing": existing or "none",
        "mpc": float(mpc),
        "floor": floor,
        "n_floored": n_floored,
        "replace_existing": bool(replace_existing),
        "unit": policy.unit,
        "takeup": policy.takeup_description(),
        "n_households": survey.n_households,
        "currency": policy.currency,
        "period": policy.period,
        "welfare_period": welfare_period,
        "payment": payment,
        "median_pre_transfer_welfare": float(weighted_quantile(y_pre, v, 0.5)),
    }
    if measures_note:
        assumptions["measures_note"] = measures_note
    tables["assumptions"] = pd.Series(
        {k: str(val) for k, val in assumptions.items()}, name="value"
    ).to_frame()
    welfare_frame = pd.DataFrame(
        {"observed": y_obs, "pre_transfer": y_pre, "current": y_cur, "reform": y_post},
        index=data.index,
    )
    return SimulationResult(
        policy=policy,
        outcome=out,
        welfare=welfare_frame,
        counts=counts,
        budget=budget,
        poverty=poverty,
        tables=tables,
        assumptions=assumptions,
        line=np.broadcast_to(np.asarray(z, dtype=float), y_pre.shape).copy(),
    )
