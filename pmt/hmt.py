"""Hybrid means test (HMT) and rule-based income tests.

Two ways of turning declared incomes into an eligibility measure:

:class:`HybridMeansTest` (Belarus 2011, section 4)
    HMT income per capita = (verifiable income declared by the household + predicted
    hard-to-verify income) / household size. The hard-to-verify (HTV) part is predicted from
    proxies with a Heckman selection model (:func:`pmt.heckman`) of the HTV sum, or of each
    HTV component, fitted on survey data: the prediction is the *unconditional* expectation
    in levels, ``E[HTV | x] = P(has HTV) * E[HTV | has HTV, x]``, so households without the
    income count with their probability of having it.

:class:`IncomeTest` (Uzbekistan 2019 CR #44, Kazakhstan 2017)
    Administrative assessed income: declared components, minus disregards, plus imputed
    farm income per unit of land, imputed livestock income, and an assumed income for
    work-able members who declare none or little; per capita over the assessment unit
    (household, or nuclear family with a person roster), compared with a threshold. Named
    presets reproduce the rules of the reference reports; the default reproduces none.

Money is monthly, in the currency of the data (the synthetic survey: UZS per month).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from pmt._validation import column_or_array
from pmt.errors import DataError, ModelError, PolicyError, example_rows
from pmt.models.base import register_model
from pmt.models.heckman import HeckmanResult, heckman

__all__ = ["HybridMeansTest", "IncomeTest", "simulate_underreporting"]


def _columns(data: pd.DataFrame, cols: Sequence[str], role: str, err=DataError) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise err(
            f"{role}: column(s) {', '.join(missing)} not in the data. Pass the names of your "
            "columns (see the parameters) or create them."
        )


def _money(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise DataError(f"{role} column '{col}' must be numeric (dtype {s.dtype}).")
    return s.to_numpy(dtype=float)


def _sum_columns(data: pd.DataFrame, cols: Sequence[str], role: str) -> np.ndarray:
    _columns(data, cols, role)
    out = np.zeros(len(data))
    for c in cols:
        out = out + _money(data, c, role)
    return out


# ======================================================================================
# Hybrid means test
# ======================================================================================
@register_model
class HybridMeansTest:
    """Hybrid means test: verifiable income + Heckman-predicted hard-to-verify income.

    Parameters
    ----------
    verifiable : str or list of str
        Column(s) of verifiable (easy-to-verify) household income, summed: wages,
        pensions, benefits, alimony (Belarus 2011, Table 10). Monthly, per household.
    selection, outcome : str
        Formulas of the Heckman model of the HTV sum: ``selection`` has the 0/1 indicator
        "has HTV income" on the left, ``outcome`` the (log) HTV income, e.g. the synthetic
        survey's ``HTV_SELECTION_FORMULA`` / ``HTV_OUTCOME_FORMULA``.
    components : dict, optional
        Instead of ``selection``/``outcome``: one Heckman model per HTV component,
        ``{"inc_agri": (selection, outcome), ...}``; the predictions are summed.
    size : str
        Household size column (the per-capita denominator).
    method : {"twostep", "ml"}
        Heckman estimator.
    log_outcome : bool
        True when the outcome formula's left side is log income (then levels are the
        selection-adjusted lognormal mean); False for income in levels.
    htv_per_capita : bool
        True when the outcome is per-capita HTV income (the Belarus report leaves this
        open); False (default) when it is the household total.
    combine : {"expected", "conditional", "threshold"}
        How the probability of having HTV income and its conditional amount are combined
        (the Belarus report does not say): "expected" (default) P * E[HTV | has];
        "conditional" E[HTV | has] for every household; "threshold" E[HTV | has] where
        P >= ``p_cut`` and 0 elsewhere.
    p_cut : float
        Probability cut-off for ``combine="threshold"``.

    Notes
    -----
    Rows whose proxies or verifiable income are missing get NaN, with a warning counting
    them (never silently). Use :meth:`select` for eligibility ``hmt_pc < threshold``.
    """

    model_type = "hybrid_means_test"

    def __init__(
        self,
        verifiable: str | Sequence[str] = "inc_verifiable",
        selection: str | None = None,
        outcome: str | None = None,
        *,
        components: Mapping[str, tuple[str, str]] | None = None,
        size: str = "hh_size",
        method: Literal["twostep", "ml"] = "twostep",
        log_outcome: bool = True,
        htv_per_capita: bool = False,
        combine: Literal["expected", "conditional", "threshold"] = "expected",
        p_cut: float = 0.5,
    ):
        if combine not in ("expected", "conditional", "threshold"):
            raise ModelError(
                f"combine must be 'expected', 'conditional' or 'threshold'; got {combine!r}."
            )
        if not 0 < p_cut < 1:
            raise ModelError(f"p_cut must lie in (0, 1); got {p_cut!r}.")
        if components is None:
            if selection is None or outcome is None:
                raise ModelError(
                    "HybridMeansTest needs selection= and outcome= formulas for the "
                    "hard-to-verify income, or components={name: (selection, outcome)}."
                )
            components = {"htv": (selection, outcome)}
        elif selection is not None or outcome is not None:
            raise ModelError("pass either selection=/outcome= or components=, not both.")
        if not components:
            raise ModelError("components= is empty: give at least one hard-to-verify component.")
        for name, pair in components.items():
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise ModelError(
                    f"components[{name!r}] must be a (selection, outcome) pair of formulas."
                )
        self.verifiable = [verifiable] if isinstance(verifiable, str) else list(verifiable)
        self.components = {k: (v[0], v[1]) for k, v in components.items()}
        self.size = size
        self.method = method
        self.log_outcome = bool(log_outcome)
        self.htv_per_capita = bool(htv_per_capita)
        self.combine = combine
        self.p_cut = float(p_cut)
        self.models_: dict[str, HeckmanResult] = {}

    # --- fitting ----------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, weights=None, cluster=None, cov_type=None) -> HybridMeansTest:
        """Fit the Heckman model(s) on survey data; returns self.

        ``weights`` (survey weights) and ``cluster`` (PSU ids) are passed to
        :func:`pmt.heckman` (pseudo-likelihood, design-based standard errors).
        """
        self.models_ = {
            name: heckman(sel, out, data, method=self.method, weights=weights, cluster=cluster,
                          cov_type=cov_type)
            for name, (sel, out) in self.components.items()
        }
        return self

    @property
    def nobs(self) -> int:
        """Estimation-sample size of the (first) Heckman model."""
        return next(iter(self.models_.values())).nobs if self.models_ else 0

    @property
    def n_dropped(self) -> int:
        return max((m.n_dropped for m in self.models_.values()), default=0)

    def _check_fitted(self):
        if not self.models_:
            raise ModelError("the HybridMeansTest is not fitted: call .fit(survey_data) first.")

    # --- prediction -------------------------------------------------------------------
    def predict_htv(self, data: pd.DataFrame, by_component: bool = False):
        """Predicted hard-to-verify income in levels (by default the unconditional expectation).

        Household totals per month, or per capita if ``htv_per_capita``. With
        ``by_component`` a DataFrame with one column per component.
        """
        self._check_fitted()
        scale = "level" if self.log_outcome else "model"
        parts = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for name, model in self.models_.items():
                if self.combine == "expected":
                    parts[name] = model.predict(data, what="unconditional", scale=scale).to_numpy()
                    continue
                cond = model.predict(data, what="conditional", scale=scale).to_numpy()
                if self.combine == "threshold":
                    p = model.predict(data, what="probability").to_numpy()
                    cond = np.where(np.isnan(p), np.nan, np.where(p >= self.p_cut, cond, 0.0))
                parts[name] = cond
        _reissue_once(caught)
        frame = pd.DataFrame(parts, index=data.index)
        if by_component:
            return frame
        # a component without a prediction leaves the sum undefined (NaN, warned above)
        return frame.sum(axis=1, min_count=len(parts)).where(frame.notna().all(axis=1)).rename(
            "htv_hat"
        )

    def assess(self, data: pd.DataFrame) -> pd.DataFrame:
        """Per-household HMT table: size, verifiable, predicted HTV and HMT income per capita.

        Columns: ``size``, ``verifiable`` (household, monthly), ``htv_hat`` (household, or
        per capita when ``htv_per_capita``), ``verifiable_pc``, ``htv_hat_pc`` and
        ``hmt_pc`` = verifiable_pc + htv_hat_pc.
        """
        self._check_fitted()
        _columns(data, [*self.verifiable, self.size], "HybridMeansTest")
        n = _money(data, self.size, "household size")
        bad = ~(n >= 1)
        if bad.any():
            raise DataError(
                f"household size '{self.size}' must be at least 1; bad at "
                f"{example_rows(data.index[bad])}."
            )
        ver = _sum_columns(data, self.verifiable, "verifiable income")
        miss = np.isnan(ver)
        if miss.any():
            warnings.warn(
                f"{int(miss.sum())} rows have missing verifiable income and get no HMT "
                f"income ({example_rows(data.index[miss])}).",
                stacklevel=2,
            )
        htv = self.predict_htv(data).to_numpy()
        htv_pc = htv if self.htv_per_capita else htv / n
        out = pd.DataFrame(
            {
                "size": n,
                "verifiable": ver,
                "htv_hat": htv,
                "verifiable_pc": ver / n,
                "htv_hat_pc": htv_pc,
            },
            index=data.index,
        )
        out["hmt_pc"] = out["verifiable_pc"] + out["htv_hat_pc"]
        return out

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """HMT income per capita (monthly): the HMT score."""
        return self.assess(data)["hmt_pc"]

    def select(self, data: pd.DataFrame, threshold: float) -> pd.Series:
        """Eligibility: HMT income per capita below ``threshold`` (rows without a score: False)."""
        if not np.isfinite(threshold) or threshold <= 0:
            raise PolicyError(f"threshold must be a positive amount per capita; got {threshold!r}.")
        s = self.predict(data)
        return (s < threshold).rename("eligible")

    # --- reporting / serialisation ----------------------------------------------------
    def summary(self) -> str:
        self._check_fitted()
        parts = [f"Hybrid means test: verifiable = {' + '.join(self.verifiable)}"]
        for name, m in self.models_.items():
            parts.append(f"\n--- hard-to-verify component '{name}' ---\n{m.summary()}")
        return "\n".join(parts)

    def to_dict(self) -> dict:
        """JSON-safe dict (the fitted Heckman models included)."""
        self._check_fitted()
        return {
            "model_type": "hybrid_means_test",
            "verifiable": self.verifiable,
            "components": {k: list(v) for k, v in self.components.items()},
            "size": self.size,
            "method": self.method,
            "log_outcome": self.log_outcome,
            "htv_per_capita": self.htv_per_capita,
            "combine": self.combine,
            "p_cut": self.p_cut,
            "models": {k: m.to_dict() for k, m in self.models_.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> HybridMeansTest:
        obj = cls(
            d["verifiable"],
            components={k: tuple(v) for k, v in d["components"].items()},
            size=d["size"],
            method=d["method"],
            log_outcome=d["log_outcome"],
            htv_per_capita=d["htv_per_capita"],
            combine=d.get("combine", "expected"),
            p_cut=d.get("p_cut", 0.5),
        )
        obj.models_ = {k: HeckmanResult.from_dict(m) for k, m in d["models"].items()}
        return obj

    def __repr__(self) -> str:
        state = "fitted" if self.models_ else "not fitted"
        return f"<HybridMeansTest components={list(self.components)} ({state})>"


def _reissue_once(caught) -> None:
    """Re-issue caught warnings, each distinct message once."""
    seen = set()
    for c in caught:
        key = (str(c.message), c.category)
        if key not in seen:
            seen.add(key)
            warnings.warn(c.message, c.category, stacklevel=3)


def simulate_underreporting(
    htv, share: float = 0.3, hide: float = 1.0, seed: int = 0, index=None
) -> pd.Series:
    """Declared hard-to-verify income when a random share of households under-report.

    A share ``share`` of the households with positive HTV income (drawn with a
    ``numpy.random.Generator`` seeded by ``seed``) declare ``(1 - hide)`` of it; the rest
    declare it fully. This is the Belarus 2011 (section 6) device for simulating
    misreporting when testing inspection targeting.
    """
    if not 0 <= share <= 1 or not 0 <= hide <= 1:
        raise PolicyError(f"share and hide must lie in [0, 1]; got share={share}, hide={hide}.")
    idx = htv.index if isinstance(htv, pd.Series) else index
    h = column_or_array(htv, name="htv", allow_nan=True)
    rng = np.random.default_rng(seed)
    cheat = (rng.random(h.size) < share) & (h > 0)
    return pd.Series(np.where(cheat, h * (1 - hide), h), index=idx, name="declared_htv")


# ======================================================================================
# Rule-based income test
# ======================================================================================
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
        params = dict(
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
        params = dict(
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
        params = dict(
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
            _columns(data, [self.workable, *self.exemptions, *self.assumed_applies_to],
                     f"{self.name} assumed income", PolicyError)
            n_work = _money(data, self.workable, "work-able count")
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
            _columns(data, [self.land], f"{self.name} land imputation", PolicyError)
            land = _money(data, self.land, "land")
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
            work = _money(r, self.workable, "work-able flag") > 0
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
