"""Person-level results of a simulation: poverty and coverage of children, the elderly, women.

A simulation works on households (the survey's sampling units); the person roster says
who lives in each. For a group of persons g (children under 18, people 60 and over,
women...) with c_gh members in household h, a person-level rate is the ratio

    R_g = sum_h w_h a_gh / sum_h w_h c_gh,

where a_gh counts the group's members of h with the outcome: c_gh x poor_h for poverty
(everyone in a household shares its welfare per member), c_gh x r_h for coverage by a
household benefit (r_h: the household receives it, or its take-up probability), and the
number of the group's members in beneficiary families for coverage by a family benefit.
Standard errors are the design-based (Taylor-linearised) standard errors of a ratio,
sqrt(V(sum_h w_h (a_gh - R_g c_gh))) / sum_h w_h c_gh with V the with-replacement PSU
variance within strata of :meth:`pmt.Survey.total_variance` — the same estimator as the
household-level poverty tables, and as R survey's ``svyratio``. Changes in poverty are
paired (before and after on the same persons), a_gh = c_gh (poor_after - poor_before).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pmt.errors import PolicyError
from pmt.survey import Survey

__all__ = ["person_results"]


def _ratio(survey: Survey, num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Weighted ratio sum w num / sum w den and its linearised design standard error."""
    w = survey.household_weight
    total = float(np.sum(w * den))
    if total <= 0:
        return np.nan, np.nan
    r = float(np.sum(w * num)) / total
    return r, float(np.sqrt(survey.total_variance(num - r * den)) / total)


def person_results(
    result,
    survey: Survey,
    *,
    household_row,
    groups: Mapping[str, np.ndarray],
    family_row=None,
) -> pd.DataFrame:
    """Poverty and coverage of groups of persons, with design-based standard errors.

    Parameters
    ----------
    result : pmt.simulate.SimulationResult
        A simulation on ``survey`` (pre-transfer and reform welfare per member, the line
        of each household, and who receives the benefit).
    survey : pmt.Survey
        The households simulated (weights, strata, PSUs).
    household_row : array-like of int
        For each person of the roster, the position (0-based) of their household among
        the survey's rows.
    groups : mapping of str to boolean array
        Name -> which persons belong to the group (one value per person), e.g.
        ``{"children (0-17)": age < 18, "elderly (60+)": age >= 60, "women": sex == 2}``.
        An "all persons" row is added first.
    family_row : array-like of int, optional
        For each person, the row of their family in ``result.outcome.units`` when the
        policy was assessed by family: coverage then also counts only the persons whose
        own family receives the benefit (``coverage_family``), beside everyone living in
        a household that receives some (``coverage_household``).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``persons`` (weighted), ``persons_sample``, ``poverty_before``
        and ``se_before`` (pre-transfer headcount ratio, share of the group's persons below
        the line), ``poverty_after`` and ``se_after`` (with the reform), ``change`` and
        ``se_change`` (paired), ``coverage_household`` and its ``se`` (share of the group
        in households receiving the benefit; expected take-up counts as a probability),
        ``coverage_of_poor`` and its ``se`` (the same among the group's pre-transfer
        poor), and with families ``coverage_family`` and its ``se``.
    """
    rows = np.asarray(household_row)
    n_hh = survey.n_households
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
        raise PolicyError("`household_row` must give each person's household row (integers).")
    if rows.size and (rows.min() < 0 or rows.max() >= n_hh):
        raise PolicyError(
            f"`household_row` points outside the survey's {n_hh} households: link the roster "
            "to this survey's households (pmt.roster.link_roster)."
        )
    if result.line is None or len(result.welfare) != n_hh:
        raise PolicyError("`result` must be a simulation of this survey (pmt.simulate.simulate).")
    z = result.line
    poor_before = (result.welfare["pre_transfer"].to_numpy(dtype=float) < z).astype(float)
    poor_after = (result.welfare["reform"].to_numpy(dtype=float) < z).astype(float)
    out = result.outcome
    recipient = out.takeup * (out.eligible & (out.entitlement > 0))
    units = out.units
    fam_recipient = None
    if family_row is not None:
        if units is None:
            raise PolicyError(
                "`family_row` was given but the policy was not assessed by family: simulate "
                "a `unit: family` policy on a survey carrying families (with_families)."
            )
        frow = np.asarray(family_row)
        if frow.shape != rows.shape or frow.min() < 0 or frow.max() >= len(units):
            raise PolicyError("`family_row` must give each person's row among the families.")
        fam_recipient = (
            units["takeup"].to_numpy(dtype=float)
            * (units["eligible"].to_numpy(dtype=bool)
               & (units["entitlement"].to_numpy(dtype=float) > 0))
        )[frow]

    table = {}
    everyone = {"all persons": np.ones(rows.size, dtype=bool)}
    for name, mask in {**everyone, **dict(groups)}.items():
        m = np.asarray(mask, dtype=bool)
        if m.shape != rows.shape:
            raise PolicyError(
                f"group '{name}' has {m.size} values; the roster has {rows.size} persons."
            )
        c = np.bincount(rows[m], minlength=n_hh).astype(float)
        before = _ratio(survey, c * poor_before, c)
        after = _ratio(survey, c * poor_after, c)
        change = _ratio(survey, c * (poor_after - poor_before), c)
        covered = _ratio(survey, c * recipient, c)
        covered_poor = _ratio(survey, c * poor_before * recipient, c * poor_before)
        row = {
            "persons": float(np.sum(survey.household_weight * c)),
            "persons_sample": float(m.sum()),
            "poverty_before": before[0], "se_before": before[1],
            "poverty_after": after[0], "se_after": after[1],
            "change": change[0], "se_change": change[1],
            "coverage_household": covered[0], "se_coverage_household": covered[1],
            "coverage_of_poor": covered_poor[0], "se_coverage_of_poor": covered_poor[1],
        }
        if fam_recipient is not None:
            a = np.bincount(rows[m], weights=fam_recipient[m], minlength=n_hh)
            fam = _ratio(survey, a, c)
            row["coverage_family"], row["se_coverage_family"] = fam
        table[name] = row
    frame = pd.DataFrame(table).T
    frame.index.name = "group"
    return frame
