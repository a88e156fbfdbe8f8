"""Welfare measures, equivalence scales, price deflation, poverty lines and poverty measures.

Definitions follow DESIGN.md section 4. With welfare y, poverty line z and weights v
(person weights w_h * n_h unless ``unit="household"``), summing over households:

* FGT(alpha) = sum v ((z - y) / z)^alpha 1[y < z] / sum v; FGT0 is the headcount ratio,
  FGT1 the poverty gap index (depth), FGT2 the squared poverty gap (severity);
* Watts = sum v ln(z / y) 1[y < z] / sum v.

Equivalence scales (number of "equivalent adults" in a household):

=================  ==========================================================
``per_capita``     n (every member counts 1)
``oecd``           1 + 0.7 (adults - 1) + 0.5 children ("Oxford" scale)
``oecd_modified``  1 + 0.5 (adults - 1) + 0.3 children
``sqrt``           sqrt(n)
``kazakh``         1 + 0.8 (n - 1), the Kazakh statistical agency's scale
                   (Kazakhstan TSA report 2017, Annex A.1)
``uzbek``          1 / 0.5 / 0.3 / 0.2 for the 1st / 2nd / 3rd / 4th-and-further
                   member (Uzbekistan family-allowance report 2019)
=================  ==========================================================

Any rank scale is a sequence of weights (the last repeats for further members); any
adult/child scale is a mapping ``{"first": 1, "adult": a, "child": c}``.

Standard errors of poverty measures are design-based: every measure is a ratio of two
weighted totals, R = sum w u f / sum w u (u = household size for person measures, 1 for
household measures), whose linearised variance is V(sum w u (f - R)) / (sum w u)^2 with
V the PSU-level, strata-aware variance of a total from :meth:`pmt.Survey.total_variance`
(Woodruff linearisation; the poverty line is treated as fixed). The bootstrap alternative
uses the Rao-Wu rescaling factors of :meth:`pmt.Survey.replicate_factors`. statsmodels has
no complex-survey estimators, which is why these few lines are written here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from pmt.errors import DataError, example_rows
from pmt.survey import Survey, weighted_quantile

__all__ = [
    "SCALES",
    "equivalence_scale",
    "per_capita",
    "per_adult_equivalent",
    "deflate",
    "relative_line",
    "line_per_adult_equivalent",
    "fgt",
    "watts",
    "fgt_terms",
    "watts_terms",
    "poverty_measures",
]

#: Named equivalence scales: adult/child mappings or rank-weight tuples (see module doc).
SCALES: dict[str, object] = {
    "per_capita": (1.0,),
    "oecd": {"first": 1.0, "adult": 0.7, "child": 0.5},
    "oecd_modified": {"first": 1.0, "adult": 0.5, "child": 0.3},
    "sqrt": "sqrt",
    "kazakh": (1.0, 0.8),
    "uzbek": (1.0, 0.5, 0.3, 0.2),
}


# --- helpers ------------------------------------------------------------------------------
def _index_of(*values) -> pd.Index | None:
    for v in values:
        if isinstance(v, pd.Series | pd.DataFrame):
            return v.index
    return None


def _vector(x, name: str, n: int | None = None, allow_nan: bool = False) -> np.ndarray:
    """Float vector from array-like; DataError on wrong length, non-numeric or NaN."""
    if isinstance(x, pd.Series):
        num = pd.to_numeric(x, errors="coerce")
        bad_type = num.isna() & x.notna()
        if bad_type.any():
            raise DataError(
                f"`{name}` has non-numeric values at {example_rows(x.index[bad_type.to_numpy()])}: "
                "convert them to numbers first."
            )
        arr = num.to_numpy(dtype=float, na_value=np.nan)
        labels = x.index
    else:
        try:
            arr = np.asarray(x, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise DataError(f"`{name}` must be numeric: {exc}.") from None
        labels = pd.RangeIndex(arr.size)
    if n is not None and arr.size != n:
        raise DataError(f"`{name}` has {arr.size} values but {n} are needed (one per household).")
    if not allow_nan:
        bad = ~np.isfinite(arr)
        if bad.any():
            raise DataError(
                f"`{name}` has {int(bad.sum())} missing or infinite values at "
                f"{example_rows(labels[bad])}: drop those households (and say so) or impute."
            )
    return arr


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _vector(weights, "weights", n)
    bad = w < 0
    if bad.any():
        raise DataError(
            f"`weights` must be non-negative; negative at {example_rows(np.flatnonzero(bad))} "
            "(positions): fix the weights."
        )
    if w.sum() <= 0:
        raise DataError("`weights` sum to zero: at least one weight must be positive.")
    return w


def _line(z, n: int) -> np.ndarray:
    """Poverty line as a length-n vector (scalar, or one line per household)."""
    if np.ndim(z) == 0:
        try:
            zf = float(z)
        except (TypeError, ValueError):
            raise DataError(f"poverty line `z` must be a number; got {z!r}.") from None
        arr = np.full(n, zf)
    else:
        arr = _vector(z, "z", n)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        got = repr(z) if np.ndim(z) == 0 else f"non-positive values at {example_rows(np.flatnonzero(bad))}"
        raise DataError(f"poverty line `z` must be positive and finite; got {got}.")
    return arr


def _sizes(size, name: str, n: int | None = None, minimum: float = 1.0) -> np.ndarray:
    s = _vector(size, name, n)
    bad = (s < minimum) | (s != np.floor(s))
    if bad.any():
        labels = size.index if isinstance(size, pd.Series) else pd.RangeIndex(s.size)
        raise DataError(
            f"`{name}` must be whole numbers >= {minimum:g}; bad values at "
            f"{example_rows(labels[bad])}. A household has at least one member: fix the roster."
        )
    return s


def _survey_values(survey: Survey, x, what: str) -> np.ndarray:
    """A column name or one value per household; a Series is aligned on the survey index."""
    if isinstance(x, pd.Series) and not x.index.equals(survey.data.index):
        if len(x) != survey.n_households or not x.index.sort_values().equals(
            survey.data.index.sort_values()
        ):
            raise DataError(
                f"{what} is a Series whose index does not match the survey's rows: pass a "
                "column name, or a Series with the survey data's index."
            )
        x = x.reindex(survey.data.index)
    return survey.column(x)


def _named(values: np.ndarray, index: pd.Index | None, name: str) -> pd.Series:
    return pd.Series(values, index=index if index is not None else None, name=name)


# --- equivalence scales and welfare per head ----------------------------------------------
def _rank_scale(n: np.ndarray, weights: Sequence[float], max_members: float | None) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"rank scale weights must be numbers; got {weights!r}.") from None
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise DataError(f"rank scale weights must be non-negative numbers; got {weights!r}.")
    m = n if max_members is None else np.minimum(n, max_members)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    k = w.size
    head = cum[np.minimum(m, k).astype(int)]
    return head + np.maximum(m - k, 0) * w[-1]


def equivalence_scale(
    size=None,
    *,
    adults=None,
    children=None,
    scale: str | Sequence[float] | Mapping[str, float] = "oecd_modified",
    max_members: int | None = None,
) -> pd.Series:
    """Number of equivalent adults of each household.

    Parameters
    ----------
    size : array-like, optional
        Household size n (whole numbers >= 1). Defaults to ``adults + children``.
    adults, children : array-like, optional
        Number of adults and of children (whole numbers >= 0); needed by adult/child
        scales (``"oecd"``, ``"oecd_modified"``, or a mapping). Who counts as a child
        (under 14 for the OECD scales) is the caller's choice when counting.
    scale : str, sequence or mapping
        A name in :data:`SCALES` (``per_capita``, ``oecd``, ``oecd_modified``, ``sqrt``,
        ``kazakh``, ``uzbek``); a sequence of rank weights (the k-th member gets the k-th, the
        last weight repeats for further members; ``(1, 0.8)`` is the Kazakh scale); or a
        mapping ``{"first": 1, "adult": a, "child": c}`` giving 1 + a (adults - 1) + c
        children. In a household without adults the first child counts as ``first``.
    max_members : int, optional
        Count at most this many members (the Uzbek allowance counts at most 4).

    Returns
    -------
    pandas.Series
        Equivalent household size (``eq_size``), aligned with the input's index.
    """
    index = _index_of(size, adults, children)
    if isinstance(scale, str):
        if scale not in SCALES:
            raise DataError(f"unknown equivalence scale {scale!r}; use one of {', '.join(SCALES)}, a "
                            "sequence of rank weights, or a mapping {'first', 'adult', 'child'}.")
        spec = SCALES[scale]
    else:
        spec = scale
    if max_members is not None and (int(max_members) != max_members or max_members < 1):
        raise DataError(f"`max_members` must be a whole number >= 1; got {max_members!r}.")

    if isinstance(spec, Mapping):
        unknown = set(spec) - {"first", "adult", "child"}
        if unknown or "adult" not in spec or "child" not in spec:
            raise DataError(
                f"an adult/child scale needs keys 'adult' and 'child' (and optionally 'first'); "
                f"got {sorted(spec)}."
            )
        if adults is None or children is None:
            raise DataError(
                f"scale {scale if isinstance(scale, str) else 'mapping'} needs `adults` and "
                "`children` counts (pass e.g. adults=df['n_adults'] + df['n_elderly'])."
            )
        a = _sizes(adults, "adults", minimum=0)
        c = _sizes(children, "children", a.size, minimum=0)
        n = a + c
        if size is not None:
            s = _sizes(size, "size", a.size)
            mismatch = s != n
            if mismatch.any():
                raise DataError(
                    f"`size` differs from adults + children at {example_rows((index if index is not None else pd.RangeIndex(s.size))[mismatch])}: "
                    "make the counts consistent."
                )
        if np.any(n < 1):
            bad = (index if index is not None else pd.RangeIndex(n.size))[n < 1]
            raise DataError(f"households with no members at {example_rows(bad)}: fix adults/children.")
        try:
            first, wa, wc = (float(spec.get("first", 1.0)), float(spec["adult"]),
                             float(spec["child"]))
        except (TypeError, ValueError):
            raise DataError(f"scale weights must be numbers; got {dict(spec)!r}.") from None
        if min(first, wa, wc) < 0:
            raise DataError(f"scale weights must be non-negative; got {dict(spec)!r}.")
        if max_members is not None:
            # keep adults first, then children, up to the cap
            a = np.minimum(a, max_members)
            c = np.minimum(c, max_members - a)
        eq = np.where(a >= 1, first + wa * (a - 1) + wc * c, first + wc * (c - 1))
    else:
        if size is None:
            if adults is None:
                raise DataError("pass `size` (household size) or `adults` and `children`.")
            a = _sizes(adults, "adults", minimum=0)
            c = np.zeros_like(a) if children is None else _sizes(children, "children", a.size, 0)
            n = a + c
            if np.any(n < 1):
                raise DataError("some households have no members: fix adults/children.")
        else:
            n = _sizes(size, "size")
        if isinstance(spec, str) and spec == "sqrt":
            eq = np.sqrt(n if max_members is None else np.minimum(n, max_members))
        else:
            eq = _rank_scale(n, spec, max_members)
    return _named(eq.astype(float), index, "eq_size")


def per_capita(total, size) -> pd.Series:
    """Household total divided by household size (e.g. consumption per person).

    Parameters
    ----------
    total : array-like
        Household totals (e.g. monthly consumption in local currency).
    size : array-like
        Household size (whole numbers >= 1).

    Returns
    -------
    pandas.Series
        ``total / size``, in currency per person, with the input's index.
    """
    index = _index_of(total, size)
    t = _vector(total, "total")
    s = _sizes(size, "size", t.size)
    return _named(t / s, index, "per_capita")


def per_adult_equivalent(
    total,
    adults=None,
    children=None,
    scale: str | Sequence[float] | Mapping[str, float] = "oecd_modified",
    size=None,
    max_members: int | None = None,
) -> pd.Series:
    """Household total divided by its number of equivalent adults.

    See :func:`equivalence_scale` for the scales; the result is in currency per adult
    equivalent. Compare it only with a poverty line in the same space
    (:func:`line_per_adult_equivalent` converts a per-capita line).
    """
    t = _vector(total, "total")
    eq = equivalence_scale(
        size, adults=adults, children=children, scale=scale, max_members=max_members
    )
    if eq.size != t.size:
        raise DataError(f"`total` has {t.size} values but the household counts have {eq.size}.")
    index = _index_of(total, size, adults, children)
    return _named(t / eq.to_numpy(), index, "per_adult_equivalent")


# --- deflation ----------------------------------------------------------------------------
def deflate(values, index, by=None, base=None, weights=None) -> pd.Series:
    """Express nominal values in base prices: ``values * base / price_index``.

    Parameters
    ----------
    values : array-like
        Nominal amounts (e.g. per-capita consumption in current local currency).
    index : array-like, mapping or pandas.Series
        The price index. Without ``by``: one value per household. With ``by``: a mapping
        or Series from the group key (a region code, a month, or a tuple such as
        ``(region, month)``) to the index of that group (a spatial, temporal or
        spatio-temporal price index, e.g. a Paasche food index by region and month).
    by : array-like or pandas.DataFrame, optional
        Group key of each household: one column (region) or several (region and month,
        matched to tuple keys / a MultiIndex of ``index``).
    base : float, group key or "mean", optional
        Prices to express values in. ``None``: the index is already relative to the base
        (1.0 = base prices). A number: the index value of the base (e.g. 100). A group
        key: that group's index (e.g. the capital in January). ``"mean"``: the
        (``weights``-) weighted mean index over households, so that deflation leaves the
        weighted mean price level unchanged.
    weights : array-like, optional
        Weights for ``base="mean"`` (person weights for a population mean).

    Returns
    -------
    pandas.Series
        Real values in base prices, with the input's index.
    """
    out_index = _index_of(values, by)
    v = _vector(values, "values")
    n = v.size
    if by is None:
        if isinstance(index, Mapping):
            raise DataError("`index` is a mapping by group: pass `by=` with each household's group key.")
        p = _vector(index, "index", n)
        lookup = None
    else:
        if isinstance(by, pd.DataFrame):
            keys = list(by.itertuples(index=False, name=None))
        else:
            keys = list(np.asarray(by, dtype=object).ravel())
        if len(keys) != n:
            raise DataError(f"`by` has {len(keys)} rows but `values` has {n}.")
        lookup = dict(index.items()) if isinstance(index, pd.Series | Mapping) else None
        if lookup is None:
            raise DataError("with `by=`, `index` must be a mapping or Series from group key to index.")
        lookup = {_norm_key(k): float(val) for k, val in lookup.items()}
        normed = [_norm_key(k) for k in keys]
        missing = sorted({k for k in normed if k not in lookup}, key=str)
        if missing:
            raise DataError(
                f"the price index has no value for group(s) {', '.join(map(str, missing[:10]))}"
                f"{' and more' if len(missing) > 10 else ''}: add them to `index`."
            )
        p = np.array([lookup[k] for k in normed], dtype=float)
    if np.any(~np.isfinite(p)) or np.any(p <= 0):
        raise DataError("price index values must be positive and finite.")
    if base is None:
        b = 1.0
    elif isinstance(base, str) and base == "mean":
        b = float(np.average(p, weights=_weights(weights, n)))
    elif lookup is not None and _norm_key(base) in lookup:
        b = lookup[_norm_key(base)]
    elif isinstance(base, int | float | np.number) and not isinstance(base, bool):
        b = float(base)
    else:
        raise DataError(
            f"`base` {base!r} is neither a number, 'mean', nor a group key of the price index."
        )
    if not np.isfinite(b) or b <= 0:
        raise DataError(f"`base` price level must be positive; got {b!r}.")
    return _named(v * b / p, out_index, getattr(values, "name", None) or "real")


def _norm_key(k):
    """Normalise group keys so that 1, 1.0 and np.int64(1) match."""
    if isinstance(k, tuple):
        return tuple(_norm_key(x) for x in k)
    if isinstance(k, np.generic):
        k = k.item()
    if isinstance(k, float) and k.is_integer():
        return int(k)
    return k


# --- poverty lines --------------------------------------------------------------------------
def relative_line(y, weights=None, q: float = 0.2, fraction: float = 1.0) -> float:
    """Relative poverty line: ``fraction`` times the weighted quantile of y at q.

    ``relative_line(pcc, person_weights, q=0.2)`` is the line of "the poorest 20 %"
    (DESIGN.md section 4: poor if y <= that line); ``q=0.5, fraction=0.6`` is 60 % of the
    median. The quantile is :func:`pmt.weighted_quantile` (inverse CDF, no interpolation).
    Use person weights (household weight x size) for a population line.
    """
    yv = _vector(y, "y")
    w = _weights(weights, yv.size)
    if not 0 <= q <= 1:
        raise DataError(f"`q` must lie in [0, 1]; got {q!r}.")
    if not fraction > 0:
        raise DataError(f"`fraction` must be positive; got {fraction!r}.")
    return float(fraction * weighted_quantile(yv, w, q))


def line_per_adult_equivalent(line: float, size, eq_size, weights=None) -> float:
    """Convert a per-capita poverty line into a per-adult-equivalent one.

    z_AE = z_pc x mean(n) / mean(AE), the household-weighted means of household size and
    equivalent size (Kazakhstan TSA report 2017, Annex A.1: 3.4 / 2.9 gives a factor of
    about 1.16). A household at the line then has the same total under both measures on
    average. ``weights`` are household weights.
    """
    z = float(line)
    if not np.isfinite(z) or z <= 0:
        raise DataError(f"`line` must be a positive number; got {line!r}.")
    n = _sizes(size, "size")
    eq = _vector(eq_size, "eq_size", n.size)
    if np.any(eq <= 0):
        raise DataError("`eq_size` must be positive.")
    w = _weights(weights, n.size)
    return float(z * np.average(n, weights=w) / np.average(eq, weights=w))


# --- poverty measures -------------------------------------------------------------------------
def fgt_terms(y: np.ndarray, z: np.ndarray, alpha: float) -> np.ndarray:
    """Per-household FGT contributions ``((z - y) / z)^alpha 1[y < z]``.

    The building block of :func:`fgt` and :func:`poverty_measures`: FGT(alpha) is the
    weighted mean of these terms. Use it for estimators built on the same definitions
    (e.g. the paired change of :func:`pmt.simulate.paired_change`). ``y`` and ``z`` are
    float arrays of one length (``z`` positive), already checked: no validation here.
    """
    poor = y < z
    if alpha == 0:
        return poor.astype(float)
    gap = np.where(poor, (z - y) / z, 0.0)
    return np.where(poor, gap**alpha, 0.0)


def watts_terms(y: np.ndarray, z: np.ndarray, labels: pd.Index | None = None) -> np.ndarray:
    """Per-household Watts contributions ``ln(z / y) 1[y < z]`` (see :func:`fgt_terms`).

    DataError naming the rows (``labels``, default positions) if welfare is not positive.
    """
    bad = y <= 0
    if bad.any():
        if labels is None:
            labels = pd.RangeIndex(np.size(y))
        raise DataError(
            f"the Watts index takes log(z / y): welfare must be positive, but "
            f"{int(bad.sum())} values are <= 0 at {example_rows(labels[bad])}. Check those "
            "households' welfare aggregate (or use FGT measures)."
        )
    return np.where(y < z, np.log(z / y), 0.0)


def _check_alpha(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise DataError(f"`alpha` must be a number >= 0; got {alpha!r}.") from None
    if not np.isfinite(a) or a < 0:
        raise DataError(f"`alpha` must be a number >= 0; got {alpha!r}.")
    return a


def fgt(y, z, weights=None, alpha: float = 0) -> float:
    """Foster-Greer-Thorbecke poverty measure.

    FGT(alpha) = sum v ((z - y)/z)^alpha 1[y < z] / sum v (DESIGN.md section 4).

    Parameters
    ----------
    y : array-like
        Welfare (e.g. per-capita consumption), no missing values.
    z : float or array-like
        Poverty line in the same units (scalar, or one line per household, e.g. regional
        lines); positive.
    weights : array-like, optional
        Person weights (household weight x size) for population measures; equal if None.
    alpha : float
        0 headcount ratio, 1 poverty gap index, 2 squared poverty gap (severity).

    Returns
    -------
    float
        A share in [0, 1] (for alpha >= 1 and y >= 0).
    """
    a = _check_alpha(alpha)
    yv = _vector(y, "y")
    zv = _line(z, yv.size)
    w = _weights(weights, yv.size)
    return float(np.sum(w * fgt_terms(yv, zv, a)) / np.sum(w))


def watts(y, z, weights=None) -> float:
    """Watts poverty index: sum v ln(z / y) 1[y < z] / sum v (DESIGN.md section 4).

    Welfare must be positive (DataError naming the rows otherwise). Arguments as
    :func:`fgt`.
    """
    yv = _vector(y, "y")
    labels = y.index if isinstance(y, pd.Series) else pd.RangeIndex(yv.size)
    zv = _line(z, yv.size)
    w = _weights(weights, yv.size)
    return float(np.sum(w * watts_terms(yv, zv, labels)) / np.sum(w))


def poverty_measures(
    survey: Survey,
    welfare,
    line,
    unit: Literal["person", "household"] = "person",
    alphas: Sequence[float] = (0, 1, 2),
    include_watts: bool = True,
    se: Literal["linearized", "bootstrap"] = "linearized",
    n_replicates: int = 1000,
    seed: int = 0,
    by: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """FGT measures and the Watts index with design-based standard errors.

    Parameters
    ----------
    survey : pmt.Survey
        The data and their design (weights, sizes, strata, PSUs).
    welfare : str or array-like
        Welfare column of ``survey.data`` (or one value per household), e.g. ``"pcc"``.
        Missing values raise DataError: subset the survey explicitly instead.
    line : float, str or array-like
        Poverty line: a number, a column name (e.g. regional lines), or one value per
        household; same units as welfare.
    unit : {"person", "household"}
        Person-weighted (w_h n_h, default) or household-weighted measures.
    alphas : sequence of float
        FGT parameters to report (rows ``FGT0``, ``FGT1``, ``FGT2`` for 0, 1, 2).
    include_watts : bool
        Add the Watts index (welfare must then be positive).
    se : {"linearized", "bootstrap"}
        Linearised (Taylor) standard errors of the ratio estimator through
        :meth:`pmt.Survey.total_variance`, or the standard deviation over
        ``n_replicates`` Rao-Wu bootstrap replicates (:meth:`pmt.Survey.replicate_factors`,
        seeded by ``seed``). Both treat the line as fixed.
    by : str, optional
        Column of ``survey.data`` for subgroup (domain) estimates; the domain variance uses
        the whole design (households outside the domain contribute zeros), as it should.
    level : float
        Confidence level of the normal-approximation interval.

    Returns
    -------
    pandas.DataFrame
        Index ``measure`` (or (``by``, ``measure``)); columns ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``n_households`` (sample) and ``population`` (sum of
        the weights in the group). Estimates are shares (FGT) or the Watts index.
    """
    from scipy.stats import norm

    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data plus weights, size, strata, psu).")
    if unit not in ("person", "household"):
        raise DataError(f"`unit` must be 'person' or 'household'; got {unit!r}.")
    if se not in ("linearized", "bootstrap"):
        raise DataError(f"`se` must be 'linearized' or 'bootstrap'; got {se!r}.")
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1); got {level!r}.")
    labels = survey.data.index
    name = welfare if isinstance(welfare, str) else "welfare"
    if isinstance(welfare, str) and welfare not in survey.data.columns:
        raise DataError(f"welfare column '{welfare}' is not in the survey data.")
    y = _survey_values(survey, welfare, "welfare")
    missing = ~np.isfinite(y)
    if missing.any():
        raise DataError(
            f"welfare '{name}' is missing for {int(missing.sum())} households at "
            f"{example_rows(labels[missing])}: impute them, or estimate on "
            f"survey.subset(...) and report the exclusion."
        )
    if isinstance(line, str):
        if line not in survey.data.columns:
            raise DataError(f"poverty line column '{line}' is not in the survey data.")
        z = _line(survey.column(line), y.size)
    elif isinstance(line, pd.Series):
        z = _line(_survey_values(survey, line, "line"), y.size)
    else:
        z = _line(line, y.size)
    alist = [_check_alpha(a) for a in alphas]
    terms: dict[str, np.ndarray] = {}
    for a in alist:
        terms[f"FGT{a:g}"] = fgt_terms(y, z, a)
    if include_watts:
        terms["Watts"] = watts_terms(y, z, labels)
    if not terms:
        raise DataError("nothing to estimate: give `alphas` or include_watts=True.")

    w = survey.household_weight
    u = survey.household_size if unit == "person" else np.ones_like(y)
    if by is None:
        domains = [(None, np.ones(y.size, dtype=bool))]
    else:
        if by not in survey.data.columns:
            raise DataError(f"`by` column '{by}' is not in the survey data.")
        g = survey.data[by]
        if g.isna().any():
            raise DataError(
                f"`by` column '{by}' is missing at {example_rows(labels[g.isna().to_numpy()])}."
            )
        levels = pd.unique(g.to_numpy())
        try:
            levels = sorted(levels)
        except TypeError:
            pass
        gv = g.to_numpy()
        domains = [(lev, gv == lev) for lev in levels]

    factors = survey.replicate_factors(n_replicates, seed) if se == "bootstrap" else None
    zcrit = float(norm.ppf(0.5 + level / 2))
    rows = []
    for lev, d in domains:
        wu = w * u * d
        denom = wu.sum()
        if factors is not None:  # replicate denominators: one per domain, shared by measures
            den_t = np.bincount(survey.psu_codes, weights=wu, minlength=survey.n_psu)
            den_reps = den_t @ factors
        for mname, f in terms.items():
            est = float(np.sum(wu * f) / denom)
            if factors is None:
                var = survey.total_variance(u * d * (f - est)) / denom**2
                s = float(np.sqrt(var))
            else:
                num_t = np.bincount(survey.psu_codes, weights=wu * f, minlength=survey.n_psu)
                with np.errstate(invalid="ignore", divide="ignore"):
                    reps = (num_t @ factors) / den_reps
                reps = reps[np.isfinite(reps)]
                s = float(np.std(reps, ddof=1)) if reps.size > 1 else float("nan")
            row = {
                "measure": mname,
                "estimate": est,
                "se": s,
                "ci_lower": est - zcrit * s,
                "ci_upper": est + zcrit * s,
                "n_households": int(d.sum()),
                "population": float(denom),
            }
            if by is not None:
                row[by] = lev
            rows.append(row)
    out = pd.DataFrame(rows)
    out = out.set_index([by, "measure"] if by is not None else "measure")
    out.attrs.update({"unit": unit, "se_method": se, "welfare": name, "level": level})
    if se == "bootstrap":
        out.attrs.update({"n_replicates": int(n_replicates), "seed": seed})
    return out
