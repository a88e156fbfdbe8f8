"""Take-up of entitlements and the pre-transfer (counterfactual) welfare.

Take-up
    A rate overall or by group. ``mode="expected"`` scales each eligible household's
    benefit by its rate: the budget is then exactly the expected budget, while poverty
    after transfer is computed with the expected (partial) benefit, which smooths the
    all-or-nothing receipt of real take-up. ``mode="random"`` draws who takes up
    (Bernoulli with the rate) from a numpy Generator seeded by ``seed``: the same seed
    gives the same draw; repeat with several seeds to see the spread.

Pre-transfer welfare
    ``c_pre = c_post - mpc x transfer per member`` (Kyrgyz Republic 2011, Annex 1): mpc is
    the marginal propensity to consume out of the transfer, the share of a lost transfer
    that is lost from consumption (substitution rate = 1 - mpc). mpc = 1: no
    compensation; mpc = 0: full compensation. Values below ``floor`` are set to the floor,
    counted and reported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pmt.errors import PolicyError, example_rows
from pmt.simulate.context import Context, construct


class TakeUp:
    """Take-up rates of an entitlement.

    Parameters
    ----------
    rate : float
        Overall take-up rate in [0, 1] (default 1: full take-up), used for groups not in
        ``rates``.
    by : str, optional
        Column defining groups (e.g. ``urban`` or ``region``).
    rates : mapping, optional
        Rate by group value of ``by``; groups not listed take ``rate``.
    mode : {"expected", "random"}
        Scale benefits by the rate, or draw take-up with a seeded generator.
    seed : int
        Seed of the random draw.
    """

    def __init__(
        self,
        rate: float = 1.0,
        by: str | None = None,
        rates: Mapping | None = None,
        mode: str = "expected",
        seed: int = 0,
    ):
        if mode not in ("expected", "random"):
            raise PolicyError(f"take-up `mode` must be 'expected' or 'random'; got {mode!r}.")
        if rates and not by:
            raise PolicyError("take-up `rates` by group need `by`, the column naming the groups.")
        for label, r in [("rate", rate), *[(f"rates[{k!r}]", v) for k, v in (rates or {}).items()]]:
            try:
                ok = 0.0 <= float(r) <= 1.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise PolicyError(f"take-up {label} must be a share in [0, 1]; got {r!r}.")
        self.rate, self.by, self.rates = float(rate), by, dict(rates or {})
        self.mode, self.seed = mode, int(seed)

    @property
    def is_full(self) -> bool:
        """Whether every household takes the benefit up (all rates are 1)."""
        return self.rate == 1.0 and all(float(v) == 1.0 for v in self.rates.values())

    def rates_for(self, ctx: Context) -> np.ndarray:
        """The take-up rate of each household."""
        r = np.full(ctx.n, self.rate)
        if self.by:
            ctx.require([self.by], "take-up by group")
            g = ctx.data[self.by].to_numpy()
            if pd.isna(g).any():
                rows = ctx.data.index[pd.isna(g)]
                raise PolicyError(
                    f"take-up group column '{self.by}' is missing at {example_rows(rows)}."
                )
            keys = {_norm(k): float(v) for k, v in self.rates.items()}
            unknown = set(keys) - {_norm(x) for x in pd.unique(g)}
            if unknown:
                raise PolicyError(
                    f"take-up rates name group(s) {sorted(map(str, unknown))} that do not "
                    f"occur in column '{self.by}'. Check the labels."
                )
            r = np.array([keys.get(_norm(x), self.rate) for x in g], dtype=float)
        return r

    def factors(self, ctx: Context) -> np.ndarray:
        """Multiplier of each household's entitlement: its rate, or a 0/1 draw."""
        r = self.rates_for(ctx)
        if self.mode == "expected":
            return r
        rng = np.random.default_rng(self.seed)
        return (rng.random(ctx.n) < r).astype(float)

    def to_dict(self) -> dict:
        """The policy-file mapping of the take-up assumption."""
        d: dict = {"rate": self.rate, "mode": self.mode}
        if self.by:
            d["by"] = self.by
            d["rates"] = {_plain(k): v for k, v in self.rates.items()}
        if self.mode == "random":
            d["seed"] = self.seed
        return d

    @classmethod
    def from_dict(cls, d) -> TakeUp:
        """Take-up from a policy-file value: None (full), a rate, or a mapping."""
        if d is None:
            return cls()
        if isinstance(d, (int, float)):
            return cls(rate=float(d))
        if not isinstance(d, Mapping):
            raise PolicyError(f"`takeup` must be a rate or a mapping; got {d!r}.")
        return construct(cls, d, "takeup", "Keys: rate, by, rates, mode, seed.")

    def describe(self) -> str:
        """Description of the take-up assumption for reports."""
        if self.is_full:
            return "full take-up (100%)"
        txt = f"{self.rate:.0%}"
        if self.by:
            parts = ", ".join(f"{k}: {float(v):.0%}" for k, v in self.rates.items())
            txt = f"by {self.by} ({parts}; others {self.rate:.0%})"
        how = "expected value (benefits x rate)" if self.mode == "expected" else (
            f"random draw (seed {self.seed})"
        )
        return f"take-up {txt}, {how}"

    def __repr__(self) -> str:
        return f"TakeUp({self.to_dict()})"


def _norm(x):
    if isinstance(x, (bool, np.bool_)):
        return int(x)
    if isinstance(x, (int, float, np.integer, np.floating)) and float(x).is_integer():
        return int(x)
    return x


def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def check_mpc(mpc) -> float:
    """Return mpc as a float in [0, 1], or PolicyError."""
    try:
        value = float(mpc)
    except (TypeError, ValueError):
        raise PolicyError(f"`mpc` must be a number in [0, 1]; got {mpc!r}.") from None
    if not 0.0 <= value <= 1.0:
        raise PolicyError(
            f"`mpc` (marginal propensity to consume out of transfers) must lie in [0, 1]; "
            f"got {mpc!r}. The substitution rate is 1 - mpc."
        )
    return value


def check_transfers(t: np.ndarray, index: pd.Index) -> None:
    """Existing transfers must be non-negative and non-missing (PolicyError naming rows)."""
    bad = np.isnan(t) | (t < 0)
    if bad.any():
        raise PolicyError(
            f"existing transfers must be non-negative and non-missing; {int(bad.sum())} bad "
            f"values at {example_rows(index[bad])}. Set missing receipt to 0 explicitly."
        )


def pre_transfer_welfare(
    welfare,
    transfers,
    size=None,
    mpc: float = 1.0,
    floor: float | None = None,
) -> pd.Series:
    """Counterfactual welfare without existing transfers: c_pre = c_post - mpc x T / n.

    Parameters
    ----------
    welfare : pandas.Series or array-like
        Observed (post-transfer) welfare per member, e.g. monthly consumption per capita.
    transfers : pandas.Series or array-like
        Existing transfers received, household total in the same currency and period
        (or per member when ``size`` is None).
    size : array-like, optional
        Household size n (divides ``transfers``).
    mpc : float
        Marginal propensity to consume out of the transfer, in [0, 1]: 1 = consumption
        falls by the whole transfer (no compensation), 0 = fully compensated. The
        substitution rate is 1 - mpc (a "25 percent substitution rate" in some reports
        means mpc = 0.25: check).
    floor : float, optional
        Minimum welfare: lower values are set to it; their number is stored in
        ``result.attrs["n_floored"]`` and a warning is not raised (the count is reported
        in simulation summaries). Without a floor, non-positive results raise PolicyError.

    Returns
    -------
    pandas.Series
        Pre-transfer welfare, with attrs ``mpc``, ``substitution_rate``, ``n_floored``.
    """
    y = pd.Series(welfare, dtype=float) if not isinstance(welfare, pd.Series) else welfare
    yv = y.to_numpy(dtype=float)
    t = np.asarray(transfers, dtype=float).ravel()
    if t.shape[0] != yv.shape[0]:
        raise PolicyError(
            f"`transfers` has {t.shape[0]} values but welfare has {yv.shape[0]}: one per household."
        )
    mpc = check_mpc(mpc)
    check_transfers(t, y.index)
    n = np.ones_like(yv) if size is None else np.asarray(size, dtype=float).ravel()
    pre = yv - mpc * t / n
    n_floored = 0
    if floor is not None:
        low = pre < floor
        n_floored = int(low.sum())
        pre = np.where(low, float(floor), pre)
    elif np.any(pre <= 0):
        low = pre <= 0
        raise PolicyError(
            f"removing existing transfers (mpc={mpc:g}) leaves {int(low.sum())} households "
            f"with welfare <= 0 at {example_rows(y.index[low])}. Set `floor` (a minimum "
            "welfare, e.g. 1) to keep them; the count is reported."
        )
    out = pd.Series(pre, index=y.index, name=f"{y.name or 'welfare'}_pre")
    out.attrs.update({"mpc": mpc, "substitution_rate": 1 - mpc, "n_floored": n_floored})
    return out
