"""Administrative income test: assessed income per capita under the rules of a programme.

:class:`IncomeTest` (Uzbekistan 2019 CR #44, Kazakhstan 2017) turns declared incomes into
assessed income: declared components, minus disregards, plus imputed farm income per unit
of land, imputed livestock income, and an assumed income for work-able members who declare
none or little; per capita over the assessment unit (household, or nuclear family with a
person roster), compared with a threshold. Named presets reproduce the rules of the
reference reports; the default reproduces none. Mistakes in the rule set raise
:class:`~pmt.errors.PolicyError`.

It is an eligibility rule of the programme, so it lives with the simulation; its
``assessed_pc`` is the income an ``income_test`` rule of a policy compares with its
threshold (:class:`pmt.simulate.IncomeThreshold`). It was ``pmt.hmt.IncomeTest``, which
still imports with a DeprecationWarning; ``pmt.IncomeTest`` and
``pmt.simulate.IncomeTest`` are this class.

Money is monthly, in the currency of the data (the synthetic survey: UZS per month).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from pmt._columns import money_column as _money
from pmt._columns import require_columns as _columns
from pmt._columns import sum_columns as _sum_columns
from pmt.errors import DataError, PolicyError, example_rows

__all__ = ["IncomeTest"]


@dataclass
class IncomeTest:
    """Assessed income per capita under administrative income-test rules.

    assessed income of a unit = sum(components) - sum(share_c * disregard_c)
    + land_income_per_unit * land + sum(rate_k * livestock_k) + assumed income;
    assessed per capita = assessed income / unit size; eligible if < ``threshold``.

    Parameters
    ----------
    components : list of str
        Declared monthly income columns counted.
    disregards : dict
        ``{column: share}``: that share of the column is *not* counted (1.0 = fully
        disregarded). A disregarded column may be part of a counted component (e.g. the
        programme's own benefit inside total benefits) or a component itself.
    land : str, optional
        Column of land area (e.g. "land_sotka"; 1 sotka = 100 m2 = 0.01 ha).
    land_income_per_unit : float
        Imputed monthly farm income per unit of ``land`` (Uzbekistan CR #44: 0.2 x MW per
        sotka). Declared farm income should then be left out of ``components``.
    livestock : dict
        ``{column: monthly income per head}`` (e.g. {"cattle": ..., "small_livestock": ...}).
    assumed_income : float
        Monthly income assumed for each work-able member (Uzbekistan: 2.5 x MW;
        Kazakhstan: 1 x MW). 0 disables the rule.
    assumed_applies_to : list of str
        Household data: the declared columns the floor applies to (earnings, e.g.
        ["inc_wages", "inc_business"]). Roster data: the person-level income columns.
    workable : str, optional
        Household data: column counting work-able members before exemptions.
        Roster data: 0/1 column marking work-able persons.
    exemptions : list of str
        Household data: count columns subtracted from ``workable`` (floored at 0), e.g.
        disabled members, ESC-registered, mothers of a child under 2. Roster data: 0/1
        person columns exempting a person.
    unit : {"household", "family"}
        Assessment unit. "family" needs a person roster with a family id (see
        :meth:`assess`); without one it raises PolicyError.
    threshold : float, optional
        Eligibility threshold per capita (e.g. 1.5 x MW). Needed by :meth:`eligible`.
    size : str
        Household size column (household unit).
    name, source : str
        Label and citation of the rule set.

    Notes
    -----
    With household-level data the assumed-income rule is applied as
    ``max(declared earnings, n_workable x assumed_income)`` per household, which is the
    person-level rule ``sum_i max(earnings_i, A)`` when at most one work-able member has
    earnings and a *lower bound* of it otherwise. Pass a person roster to :meth:`assess` for
    the exact person-level rule.
    """

    components: list[str] = field(default_factory=list)
    disregards: dict[str, float] = field(default_factory=dict)
    land: str | None = None
    land_income_per_unit: float = 0.0
    livestock: dict[str, float] = field(default_factory=dict)
    assumed_income: float = 0.0
    assumed_applies_to: list[str] = field(default_factory=list)
    workable: str | None = None
    exemptions: list[str] = field(default_factory=list)
    unit: Literal["household", "family"] = "household"
    threshold: float | None = None
    size: str = "hh_size"
    name: str = "custom income test"
    source: str = ""

    def __post_init__(self):
        if not self.components:
            raise PolicyError(
                "IncomeTest needs components=[...]: the declared income columns to count. "
                "Named presets: IncomeTest.uzbekistan_2019(min_wage=...), "
                "IncomeTest.uzbekistan_draft_2019(min_wage=...), IncomeTest.kazakhstan_tsa_2017(...)."
            )
        if self.unit not in ("household", "family"):
            raise PolicyError(f"unit must be 'household' or 'family'; got {self.unit!r}.")
        for col, share in self.disregards.items():
            if not 0 <= float(share) <= 1:
                raise PolicyError(f"disregard share of '{col}' must lie in [0, 1]; got {share}.")
        for what, v in (("land_income_per_unit", self.land_income_per_unit),
                        ("assumed_income", self.assumed_income)):
            if not np.isfinite(v) or v < 0:
                raise PolicyError(f"{what} must be a non-negative amount; got {v!r}.")
        for col, rate in self.livestock.items():
            if not np.isfinite(rate) or rate < 0:
                raise PolicyError(f"livestock income per head of '{col}' must be >= 0; got {rate!r}.")
        if self.land_income_per_unit > 0 and self.land is None:
            raise PolicyError("land_income_per_unit is set but land= (the land column) is not.")
        if self.assumed_income > 0 and (self.workable is None or not self.assumed_applies_to):
            raise PolicyError(
                "assumed_income needs workable= (who is work-able) and assumed_applies_to= "
                "(the declared earnings the floor applies to)."
            )
        if self.threshold is not None and (not np.isfinite(self.threshold) or self.threshold <= 0):
            raise PolicyError(f"threshold must be a positive amount per capita; got {self.threshold!r}.")

    # --- presets ----------------------------------------------------------------------
    @classmethod
    def uzbekistan_2019(cls, min_wage: float, assumed_wage: bool = True, **overrides) -> IncomeTest:
        """Uzbekistan family allowances, Cabinet Resolution #44 (World Bank 2019, sec. 3.1).

        Household unit; threshold 1.5 x MW per capita; counted: wages, non-farm business
        income, pensions, social transfers except the low-income family allowance
        (``social_assistance`` disregarded inside ``inc_benefits``), alimony; declared farm
        income, in-kind and other (remittances, transfers) excluded as in the WB simulation;
        imputed farm income 0.2 x MW per sotka of land; assumed income 2.5 x MW per work-able
        member with earnings below it (``assumed_wage=False`` gives the WB "option 3"
        variant). Synthetic-survey column names; work-able = ``n_adults`` minus the
        disabled (WB footnote 18 exempts disabled, students, dehkan farmers, mothers of a
        child under 2, ESC-registered; add such count columns via ``exemptions=``).
        MW was 172,240 UZS/month, 184,300 from October 2018.
        """
        params: dict[str, Any] = dict(
            components=["inc_wages", "inc_business", "inc_pensions", "inc_benefits", "inc_alimony"],
            disregards={"social_assistance": 1.0},
            land="land_sotka",
            land_income_per_unit=0.2 * min_wage,
            assumed_income=2.5 * min_wage if assumed_wage else 0.0,
            assumed_applies_to=["inc_wages", "inc_business"] if assumed_wage else [],
            workable="n_adults" if assumed_wage else None,
            exemptions=["n_disabled"] if assumed_wage else [],
            unit="household",
            threshold=1.5 * min_wage,
            name="Uzbekistan CR #44" + ("" if assumed_wage else " without assumed wage (WB option 3)"),
            source="World Bank (2019), Family allowances in Uzbekistan, section 3.1, fn 16-18",
        )
        params.update(overrides)
        return cls(**params)

    @classmethod
    def uzbekistan_draft_2019(cls, min_wage: float, **overrides) -> IncomeTest:
        """Uzbekistan draft regulation CR #308 (Syrdarya pilot; World Bank 2019, sec. 3.2).

        Family unit (father, mother and their not-yet-married children), no imputations
        and no assumed income; threshold 1.5 x MW per capita. Needs a person roster with a
        family id (:meth:`assess`); household data raise PolicyError.
        """
        params: dict[str, Any] = dict(
            components=["inc_wages", "inc_business", "inc_pensions", "inc_benefits", "inc_alimony"],
            disregards={"social_assistance": 1.0},
            unit="family",
            threshold=1.5 * min_wage,
            name="Uzbekistan draft CR #308 (family unit)",
            source="World Bank (2019), Family allowances in Uzbekistan, section 3.2",
        )
        params.update(overrides)
        return cls(**params)

    @classmethod
    def kazakhstan_tsa_2017(cls, sml: float, min_wage: float | None = None, share: float = 0.4,
                            **overrides) -> IncomeTest:
        """Kazakhstan targeted social assistance (World Bank 2017, section 2.4).

        Household unit; threshold ``share`` x SML per capita (0.40 current TSA; 0.50 x
        1.091 SML for the reform; 0.70 the budget-neutral alternative). With ``min_wage``
        the administrative practice of assuming at least the minimum wage for work-able
        members is applied (the report's cause of exclusion). The means-test income
        excludes TSA itself (``social_assistance`` disregarded).
        """
        params: dict[str, Any] = dict(
            components=["inc_wages", "inc_business", "inc_agri", "inc_pensions", "inc_benefits",
                        "inc_alimony"],
            disregards={"social_assistance": 1.0},
            assumed_income=float(min_wage or 0.0),
            assumed_applies_to=["inc_wages", "inc_business"] if min_wage else [],
            workable="n_adults" if min_wage else None,
            exemptions=["n_disabled"] if min_wage else [],
            unit="household",
            threshold=share * sml,
            name=f"Kazakhstan TSA ({share:g} x SML)",
            source="World Bank (2017), Kazakhstan TSA, section 2.4 and L146/L862",
        )
        params.update(overrides)
        return cls(**params)

    # --- assessment -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-safe dict of the rule set (round-trips through :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> IncomeTest:
        """The rule set of :meth:`to_dict` output.

        Parameters
        ----------
        d : mapping
            Field names and values, as :meth:`to_dict` writes them.

        Returns
        -------
        IncomeTest

        Raises
        ------
        pmt.errors.PolicyError
            For an unknown field or an invalid value.
        """
        known = set(cls.__dataclass_fields__)
        unknown = [k for k in d if k not in known]
        if unknown:
            raise PolicyError(f"unknown IncomeTest parameter(s): {', '.join(unknown)}.")
        return cls(**dict(d))

    def assess(
        self,
        data: pd.DataFrame,
        roster: pd.DataFrame | None = None,
        household_id: str = "hh_id",
        family_id: str = "family_id",
    ) -> pd.DataFrame:
        """Assessed income per unit, component by component.

        Parameters
        ----------
        data : pandas.DataFrame
            Household data (one row per household): components, land, livestock, size,
            and for the household-level assumed-income rule the work-able count columns.
        roster : pandas.DataFrame, optional
            Person roster (one row per person) with ``household_id``; needed for
            ``unit="family"`` (with ``family_id``) and used for the exact person-level
            assumed-income rule. In roster mode the declared ``components`` and the
            ``workable``/``exemptions`` flags are person columns of the roster; land and
            livestock are household columns of ``data``, attributed to the household's
            families in proportion to family size.

        Returns
        -------
        pandas.DataFrame
            One row per unit (index: the data's index for households; (household_id,
            family_id) for families) with ``declared``, ``disregarded``, ``land_income``,
            ``livestock_income``, ``assumed_extra`` (income added by the assumed-income
            rule), ``assessed``, ``unit_size``, ``assessed_pc`` and, with a threshold,
            ``eligible``.
        """
        if self.unit == "family" or roster is not None:
            return self._assess_roster(data, roster, household_id, family_id)
        _columns(data, [*self.components, *self.disregards, self.size], self.name, PolicyError)
        declared = _sum_columns(data, self.components, "income component")
        disregarded = self._disregarded(data)
        land_inc, live_inc = self._imputed(data)
        assumed = np.zeros(len(data))
        if self.assumed_income > 0:
            workable = cast(str, self.workable)  # __post_init__: assumed income needs it
            _columns(data, [workable, *self.exemptions, *self.assumed_applies_to],
                     f"{self.name} assumed income", PolicyError)
            n_work = _money(data, workable, "work-able count")
            for c in self.exemptions:
                n_work = n_work - _money(data, c, "exemption count")
            n_work = np.maximum(n_work, 0)
            earnings = _sum_columns(data, self.assumed_applies_to, "earnings")
            assumed = np.maximum(n_work * self.assumed_income - earnings, 0)
        size = _money(data, self.size, "household size")
        return self._finish(
            pd.DataFrame(
                {
                    "declared": declared,
                    "disregarded": disregarded,
                    "land_income": land_inc,
                    "livestock_income": live_inc,
                    "assumed_extra": assumed,
                    "unit_size": size,
                },
                index=data.index,
            )
        )

    def eligible(self, data: pd.DataFrame, **kwargs) -> pd.Series:
        """True where assessed income per capita is below the threshold."""
        if self.threshold is None:
            raise PolicyError(f"{self.name}: no threshold set; pass threshold= to IncomeTest.")
        return self.assess(data, **kwargs)["eligible"]

    def _disregarded(self, data, frame=None) -> np.ndarray:
        src = data if frame is None else frame
        out = np.zeros(len(src))
        for col, share in self.disregards.items():
            out = out + float(share) * np.nan_to_num(_money(src, col, "disregarded income"))
        return out

    def _imputed(self, data) -> tuple[np.ndarray, np.ndarray]:
        land_inc = np.zeros(len(data))
        if self.land_income_per_unit > 0:
            land_column = cast(str, self.land)  # __post_init__: land income needs it
            _columns(data, [land_column], f"{self.name} land imputation", PolicyError)
            land = _money(data, land_column, "land")
            if np.any(land < 0):
                bad = data.index[land < 0]
                raise DataError(f"land '{self.land}' is negative at {example_rows(bad)}.")
            land_inc = self.land_income_per_unit * land
        live_inc = np.zeros(len(data))
        if self.livestock:
            _columns(data, list(self.livestock), f"{self.name} livestock imputation", PolicyError)
            for col, rate in self.livestock.items():
                live_inc = live_inc + float(rate) * _money(data, col, "livestock")
        return land_inc, live_inc

    def _finish(self, out: pd.DataFrame) -> pd.DataFrame:
        out["assessed"] = (
            out["declared"] - out["disregarded"] + out["land_income"] + out["livestock_income"]
            + out["assumed_extra"]
        )
        bad = ~(out["unit_size"].to_numpy() >= 1)
        if bad.any():
            raise DataError(f"unit size must be at least 1; bad at {example_rows(out.index[bad])}.")
        missing = out["assessed"].isna().to_numpy()
        if missing.any():
            warnings.warn(
                f"{int(missing.sum())} units have missing income components and get no "
                f"assessed income ({example_rows(out.index[missing])}).",
                stacklevel=3,
            )
        out["assessed_pc"] = out["assessed"] / out["unit_size"]
        if self.threshold is not None:
            out["eligible"] = (out["assessed_pc"] < self.threshold).where(~missing)
            if not missing.any():
                out["eligible"] = out["eligible"].astype(bool)
        return out

    def _assess_roster(self, data, roster, household_id, family_id) -> pd.DataFrame:
        if roster is None:
            raise PolicyError(
                f"{self.name} assesses the nuclear family, but no person roster was given: the "
                "household data have no family structure. Pass roster= (one row per person "
                f"with '{household_id}', '{family_id}' and the income columns), or use "
                "unit='household'."
            )
        need = [household_id, *self.components, *self.disregards]
        if self.unit == "family":
            need.append(family_id)
        if self.assumed_income > 0:
            need += [self.workable, *self.exemptions, *self.assumed_applies_to]
        _columns(roster, list(dict.fromkeys(need)), f"{self.name} roster", PolicyError)
        _columns(data, [household_id], f"{self.name} household data", PolicyError)
        r = roster.copy()
        if self.unit == "household":
            r["_unit"] = 0
        else:
            r["_unit"] = r[family_id]
        r["_declared"] = _sum_columns(r, self.components, "income component")
        r["_disregarded"] = self._disregarded(None, r)
        r["_assumed"] = 0.0
        if self.assumed_income > 0:
            work = _money(r, cast(str, self.workable), "work-able flag") > 0
            for c in self.exemptions:
                work &= ~(_money(r, c, "exemption flag") > 0)
            earn = _sum_columns(r, self.assumed_applies_to, "earnings")
            r["_assumed"] = np.where(work, np.maximum(self.assumed_income - earn, 0), 0.0)
        r["_one"] = 1.0
        g = r.groupby([household_id, "_unit"], sort=True)
        units = g[["_declared", "_disregarded", "_assumed", "_one"]].sum(min_count=1)
        units.columns = ["declared", "disregarded", "assumed_extra", "unit_size"]
        # household-level imputations, attributed to families in proportion to family size
        hh = data.set_index(household_id)
        if hh.index.duplicated().any():
            dup = hh.index[hh.index.duplicated()]
            raise DataError(f"'{household_id}' is not unique in the household data: {example_rows(dup)}.")
        hh_ids = units.index.get_level_values(0)
        unknown = ~pd.Index(hh_ids).isin(hh.index)
        land_inc, live_inc = self._imputed(hh) if (self.land_income_per_unit > 0 or self.livestock) else (
            np.zeros(len(hh)), np.zeros(len(hh)))
        if unknown.any() and (self.land_income_per_unit > 0 or self.livestock):
            raise DataError(
                f"roster households {example_rows(pd.Index(hh_ids)[unknown].unique())} are not in "
                "the household data (needed for land/livestock imputation)."
            )
        hh_size = units.groupby(level=0)["unit_size"].transform("sum").to_numpy()
        share = units["unit_size"].to_numpy() / hh_size
        pos = hh.index.get_indexer(hh_ids)
        units["land_income"] = np.where(pos >= 0, land_inc[pos], 0.0) * share
        units["livestock_income"] = np.where(pos >= 0, live_inc[pos], 0.0) * share
        units = units[["declared", "disregarded", "land_income", "livestock_income",
                       "assumed_extra", "unit_size"]]
        if self.unit == "household":
            units.index = units.index.droplevel(1)
        else:
            units.index = units.index.set_names([household_id, family_id])
        return self._finish(units)
