"""Hybrid means test (HMT): verifiable income plus imputed hard-to-verify income.

:class:`HybridMeansTest` (Belarus 2011, section 4)
    HMT income per capita = (verifiable income declared by the household + predicted
    hard-to-verify income) / household size. The hard-to-verify (HTV) part is predicted from
    proxies with a Heckman selection model (:func:`pmt.heckman`) of the HTV sum, or of each
    HTV component, fitted on survey data: the prediction is the *unconditional* expectation
    in levels, ``E[HTV | x] = P(has HTV) * E[HTV | has HTV, x]``, so households without the
    income count with their probability of having it.
:func:`simulate_underreporting`
    Hide a share of the hard-to-verify income of a random share of households.

The rule-based administrative income test, :class:`pmt.IncomeTest`, is an eligibility rule
of the programme and lives in :mod:`pmt.simulate.income_test`; ``pmt.hmt.IncomeTest``
still gives it, with a DeprecationWarning (this module sits left of :mod:`pmt.simulate` in
the layering, so it is imported only on that access). The four-method comparison of
targeting methods is :func:`pmt.simulate.methods.compare_methods`.

Money is monthly, in the currency of the data (the synthetic survey: UZS per month).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from pmt._columns import money_column as _money
from pmt._columns import require_columns as _columns
from pmt._columns import sum_columns as _sum_columns
from pmt._validation import column_or_array
from pmt.errors import DataError, ModelError, PolicyError, example_rows
from pmt.models.base import register_model
from pmt.models.heckman import HeckmanResult, heckman

__all__ = ["HybridMeansTest", "simulate_underreporting"]


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
        """Largest number of rows any component's Heckman model dropped for missing values."""
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
        scale: Literal["model", "level"] = "level" if self.log_outcome else "model"
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
        """Text summary: the verifiable part and every hard-to-verify component's Heckman model."""
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
        """Rebuild a fitted test from :meth:`to_dict` output (no code is evaluated)."""
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


def __getattr__(name: str):
    """``IncomeTest``, moved to :mod:`pmt.simulate.income_test` (DeprecationWarning)."""
    if name == "IncomeTest":
        warnings.warn(
            "pmt.hmt.IncomeTest moved to pmt.simulate.income_test; import it as "
            "pmt.IncomeTest or from pmt.simulate (the old path will be removed).",
            DeprecationWarning,
            stacklevel=2,
        )
        from pmt.simulate.income_test import IncomeTest

        return IncomeTest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
