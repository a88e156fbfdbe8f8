"""Survey data with their sampling design, weighted quantiles and quantile groups.

Definitions follow DESIGN.md section 4:

* the **weighted quantile** of x at q is the smallest x_i whose cumulative weight share is
  at least q (inverse CDF, no interpolation);
* **quantile groups** with n groups use cut-points c_k = weighted quantile at k/n,
  k = 1..n-1, and group(x) = 1 + #{k : x > c_k}; group 1 is the poorest and households
  with equal x always fall in the same group (households are never split).

Population shares are person-weighted (household weight x household size) unless
``unit="household"`` is asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmt._deprecation import renamed_arguments
from pmt._literals import LonelyPSU, Unit
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, SurveyDesignError, example_rows

# Relative tolerance when comparing a cumulative weight share with q, so that e.g. 2/10
# computed by summation is not judged smaller than 0.2.
_SHARE_RTOL = 1e-12


def _as_float_array(x, name: str) -> np.ndarray:
    arr = column_or_array(x, name=name, allow_nan=True)
    if arr.size == 0:
        raise DataError(f"`{name}` is empty: pass at least one value.")
    return arr


def weighted_quantile(x, weights=None, q=0.5):
    """Weighted quantile by the inverse CDF, without interpolation.

    Parameters
    ----------
    x : array-like
        Values (e.g. per-capita consumption). Must not contain NaN.
    weights : array-like, optional
        Non-negative weights (person weights for population quantiles). Equal if omitted.
    q : float or array-like
        Quantile(s) in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        For each q, the smallest x_i whose cumulative weight share is >= q
        (DESIGN.md section 4). A float when q is a scalar.
    """
    xv = _as_float_array(x, "x")
    if np.isnan(xv).any():
        raise DataError(
            f"`x` has {int(np.isnan(xv).sum())} missing values: drop or impute them first."
        )
    w = check_weights(weights, xv.size)
    qa = np.asarray(q, dtype=float)
    if np.any((qa < 0) | (qa > 1)) or np.isnan(qa).any():
        raise DataError(f"`q` must lie in [0, 1]; got {q!r}.")
    order = np.argsort(xv, kind="stable")
    xs = xv[order]
    cum = np.cumsum(w[order])
    total = cum[-1]
    target = np.atleast_1d(qa) * total * (1 - _SHARE_RTOL)
    idx = np.searchsorted(cum, target, side="left")
    idx = np.clip(idx, 0, xs.size - 1)
    # q = 0: the smallest x with positive weight.
    out = xs[idx]
    if np.ndim(qa) == 0:
        return float(out[0])
    return out.reshape(qa.shape)


@renamed_arguments(n="n_groups")
def quantile_cutpoints(x, weights=None, n_groups: int = 10) -> np.ndarray:
    """Cut-points c_k = weighted quantile of x at k/n for k = 1..n-1 (n = ``n_groups``).

    Parameters
    ----------
    x : array-like
        Ranking variable.
    weights : array-like, optional
        Weights (equal when None).
    n_groups : int
        Number of groups n (was ``n``, deprecated).

    Returns
    -------
    numpy.ndarray
        The n - 1 cut-points.
    """
    n = n_groups
    if int(n) != n or n < 2:
        raise DataError(f"`n_groups` must be an integer >= 2 (number of groups); got {n!r}.")
    return np.atleast_1d(weighted_quantile(x, weights, np.arange(1, n) / n))


@renamed_arguments(n="n_groups")
def quantile_groups(x, weights=None, n_groups: int = 10) -> np.ndarray:
    """Assign weighted quantile groups (deciles for ``n_groups=10``), 1 = poorest.

    Parameters
    ----------
    x : array-like
        Ranking variable, e.g. per-capita consumption. No missing values.
    weights : array-like, optional
        Person weights (household weight x size) for population groups, or household
        weights for household groups.
    n_groups : int
        Number of groups n (was ``n``, deprecated: still accepted with a FutureWarning).

    Returns
    -------
    numpy.ndarray of int
        group(x) = 1 + #{k : x > c_k} with c_k the weighted quantile at k/n; this is
        Stata's ``xtile`` with weights. Ties stay together.
    """
    xv = _as_float_array(x, "x")
    cuts = quantile_cutpoints(xv, weights, n_groups=n_groups)
    return 1 + np.searchsorted(cuts, xv, side="left").astype(np.int64)


class Survey:
    """Household survey data together with their sampling design.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per household.
    weight : str, optional
        Column of household sampling weights w_h (> 0). Equal weights when omitted.
    size : str, optional
        Column of household size n_h (integer >= 1). Person weight is w_h * n_h.
        When omitted every household counts as one person.
    strata : str, optional
        Column of sampling strata. One stratum when omitted.
    psu : str, optional
        Column of primary sampling units (clusters). Each household is its own PSU when
        omitted. PSU labels are taken within strata (the same label in two strata is
        two PSUs).
    lonely_psu : {"adjust", "remove", "error"}
        What to do with strata that have a single PSU, for which the within-stratum
        variance cannot be estimated. ``"adjust"`` (default, as R survey's
        ``survey.lonely.psu = "adjust"``) centres that stratum's PSU at the grand mean in
        linearised variances and keeps its replicate weights fixed in the bootstrap;
        ``"remove"`` gives it no variance contribution; ``"error"`` raises. A warning
        names the strata in the first two cases.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weight: str | None = None,
        size: str | None = None,
        strata: str | None = None,
        psu: str | None = None,
        lonely_psu: LonelyPSU = "adjust",
    ):
        if not isinstance(data, pd.DataFrame):
            raise DataError("`data` must be a pandas DataFrame with one row per household.")
        if len(data) == 0:
            raise DataError("`data` has no rows: the survey is empty.")
        check_option(lonely_psu, LonelyPSU, name="lonely_psu")
        for role, col in (("weight", weight), ("size", size), ("strata", strata), ("psu", psu)):
            if col is not None and col not in data.columns:
                raise SurveyDesignError(
                    f"{role} column '{col}' is not in the data; available columns: "
                    f"{', '.join(map(str, data.columns[:20]))}."
                )
        self.data = data
        self.weight, self.size, self.strata, self.psu = weight, size, strata, psu
        self.lonely_psu = lonely_psu
        self._w = self._validated_weight()
        self._n = self._validated_size()
        self._strata_codes, self._psu_codes, self._psu_stratum = self._design_codes()
        self.lonely_strata = self._find_lonely_strata()

    # --- validation -------------------------------------------------------------------
    def _validated_weight(self) -> np.ndarray:
        if self.weight is None:
            return np.ones(len(self.data))
        return check_weights(self.weight, data=self.data, name="weight", kind="positive")

    def _validated_size(self) -> np.ndarray:
        if self.size is None:
            return np.ones(len(self.data))
        n = pd.to_numeric(self.data[self.size], errors="coerce")
        bad = n.isna() | (n < 1) | (n != np.floor(n))
        if bad.any():
            raise SurveyDesignError(
                f"size column '{self.size}' must be a whole number >= 1; {int(bad.sum())} bad "
                f"values at {example_rows(self.data.index[bad.to_numpy()])}. A household has at "
                "least one member: fix the roster count."
            )
        return n.to_numpy(dtype=float)

    def _design_codes(self):
        nrow = len(self.data)
        for role, col in (("strata", self.strata), ("psu", self.psu)):
            if col is not None and self.data[col].isna().any():
                rows = self.data.index[self.data[col].isna().to_numpy()]
                raise SurveyDesignError(
                    f"{role} column '{col}' has missing values at {example_rows(rows)}: every "
                    "household needs its design variables."
                )
        if self.strata is None:
            strata = np.zeros(nrow, dtype=np.int64)
        else:
            strata = pd.factorize(self.data[self.strata], sort=True)[0].astype(np.int64)
        if self.psu is None:
            psu_key = pd.Series(np.arange(nrow))
        else:
            psu_key = self.data[self.psu].reset_index(drop=True)
        psu = pd.factorize(
            pd.MultiIndex.from_arrays([strata, psu_key.to_numpy()]), sort=True
        )[0].astype(np.int64)
        psu_stratum = np.zeros(psu.max() + 1, dtype=np.int64)
        psu_stratum[psu] = strata
        return strata, psu, psu_stratum

    def _find_lonely_strata(self) -> list:
        n_psu = np.bincount(self._psu_stratum)
        lonely = np.flatnonzero(n_psu == 1)
        if lonely.size == 0:
            return []
        labels = (
            list(pd.factorize(self.data[self.strata], sort=True)[1][lonely])
            if self.strata is not None
            else [0]
        )
        msg = (
            f"{len(labels)} stratum/strata have a single PSU ({', '.join(map(str, labels[:10]))}); "
            "their variance cannot be estimated within stratum"
        )
        if self.lonely_psu == "error":
            raise SurveyDesignError(
                msg + ". Merge each with a similar stratum, or pass lonely_psu='adjust'."
            )
        how = (
            "centred at the grand mean (lonely_psu='adjust')"
            if self.lonely_psu == "adjust"
            else "given no variance contribution (lonely_psu='remove')"
        )
        warnings.warn(f"{msg}; they are {how}.", stacklevel=3)
        return labels

    # --- weights ----------------------------------------------------------------------
    @property
    def n_households(self) -> int:
        """Number of households (rows of ``data``)."""
        return len(self.data)

    @property
    def household_weight(self) -> np.ndarray:
        """Household weights w_h."""
        return self._w

    @property
    def household_size(self) -> np.ndarray:
        """Household sizes n_h."""
        return self._n

    @property
    def person_weight(self) -> np.ndarray:
        """Population (person) weights w_h * n_h."""
        return self._w * self._n

    def weights(self, unit: Unit = "person") -> np.ndarray:
        """Person weights (default) or household weights (``unit="household"``)."""
        if check_option(unit, Unit, name="unit") == "person":
            return self.person_weight
        return self.household_weight

    @property
    def strata_codes(self) -> np.ndarray:
        """Integer stratum code 0..H-1 of each household."""
        return self._strata_codes

    @property
    def psu_codes(self) -> np.ndarray:
        """Integer PSU code 0..P-1 of each household (unique across strata)."""
        return self._psu_codes

    @property
    def n_psu(self) -> int:
        """Number of PSUs (distinct across strata)."""
        return int(self._psu_codes.max()) + 1

    def column(self, x, name: str | None = None) -> np.ndarray:
        """Values of a column name, or an array of one value per household, as floats.

        Missing values stay NaN; values that are not numbers raise DataError (see
        :func:`pmt._validation.column_or_array`). ``name`` names the argument in messages.
        """
        if name is None:
            name = x if isinstance(x, str) else "values"
        return column_or_array(x, self, name=name, allow_nan=True)

    # --- quantiles --------------------------------------------------------------------
    def weighted_quantile(self, x, q, unit: Unit = "person"):
        """Weighted quantile of a column (or array) at q; see :func:`weighted_quantile`."""
        return weighted_quantile(self.column(x), self.weights(unit), q)

    @renamed_arguments(n="n_groups")
    def quantile_groups(self, x, n_groups: int = 10, unit: Unit = "person") -> pd.Series:
        """Quantile groups 1..n of a column, person-weighted by default.

        Parameters
        ----------
        x : str or array-like
            Column name or values.
        n_groups : int
            Number of groups (was ``n``, deprecated).
        unit : {"person", "household"}
            Person weights (household weight x size) or household weights.

        Returns
        -------
        pandas.Series
            Groups 1..n_groups (see :func:`quantile_groups`), named ``"<x>_q<n_groups>"``.
        """
        groups = quantile_groups(self.column(x), self.weights(unit), n_groups=n_groups)
        name = x if isinstance(x, str) else "x"
        return pd.Series(groups, index=self.data.index, name=f"{name}_q{n_groups}")

    # --- design-based uncertainty -----------------------------------------------------
    def total_variance(self, z) -> float:
        """Linearised design variance of the weighted total sum_i w_i z_i.

        Uses the with-replacement approximation at the PSU level within strata:
        V = sum_h n_h/(n_h-1) sum_j (t_hj - tbar_h)^2, with t_hj the weighted PSU totals
        of z. ``z`` should already include any unit factor (e.g. household size for
        person-weighted totals). Lonely strata are handled as set by ``lonely_psu``.
        """
        z = self.column(z)
        t = np.bincount(self._psu_codes, weights=self._w * z, minlength=self.n_psu)
        h = self._psu_stratum
        n_h = np.bincount(h).astype(float)
        mean_h = np.bincount(h, weights=t) / n_h
        dev = t - mean_h[h]
        lonely = n_h[h] == 1
        if lonely.any() and self.lonely_psu == "adjust":
            dev[lonely] = t[lonely] - t.sum() / t.size
        factor = np.where(n_h[h] > 1, n_h[h] / np.maximum(n_h[h] - 1, 1), 1.0)
        return float(np.sum(factor * dev**2))

    def mean_se(self, y, unit: Unit = "person") -> tuple[float, float]:
        """Weighted mean of y and its linearised design standard error (ratio estimator)."""
        y = self.column(y)
        u = self._n if unit == "person" else np.ones_like(y)
        denom = np.sum(self._w * u)
        mean = np.sum(self._w * u * y) / denom
        return float(mean), float(np.sqrt(self.total_variance(u * (y - mean))) / denom)

    def replicate_factors(self, n_replicates: int = 1000, seed: int = 0) -> np.ndarray:
        """PSU-level Rao-Wu rescaling bootstrap factors, shape (n_psu, n_replicates).

        In each stratum with n_h >= 2 PSUs, n_h - 1 PSUs are drawn with replacement; a PSU
        drawn r times gets factor r * n_h / (n_h - 1) (Rao, Wu and Yue 1992). Household
        replicate weights are ``w[:, None] * factors[psu_codes]``. Ratio statistics can be
        computed without forming them: aggregate to PSU totals first, then multiply by the
        factors. Lonely strata keep factor 1.
        """
        if int(n_replicates) != n_replicates or n_replicates < 1:
            raise DataError(f"`n_replicates` must be a positive integer; got {n_replicates!r}.")
        rng = np.random.default_rng(seed)
        factors = np.ones((self.n_psu, int(n_replicates)))
        h = self._psu_stratum
        for stratum in range(int(h.max()) + 1):
            members = np.flatnonzero(h == stratum)
            m = members.size
            if m < 2:
                continue
            draws = rng.multinomial(m - 1, np.full(m, 1.0 / m), size=int(n_replicates))
            factors[members, :] = draws.T * (m / (m - 1))
        return factors

    def replicate_weights(
        self, n_replicates: int = 1000, seed: int = 0, unit: Unit = "person"
    ) -> np.ndarray:
        """Household-level bootstrap replicate weights, shape (n_households, n_replicates)."""
        f = self.replicate_factors(n_replicates, seed)
        return self.weights(unit)[:, None] * f[self._psu_codes]

    def subset(self, mask: Sequence[bool] | np.ndarray | pd.Series) -> Survey:
        """A new Survey on the rows where ``mask`` is true (same design columns)."""
        m = np.asarray(mask, dtype=bool)
        return Survey(
            self.data.loc[m], self.weight, self.size, self.strata, self.psu, self.lonely_psu
        )

    def __repr__(self) -> str:
        return (
            f"Survey({self.n_households} households, {self.n_psu} PSUs, "
            f"{int(self._strata_codes.max()) + 1} strata, "
            f"population {self.person_weight.sum():,.0f})"
        )
