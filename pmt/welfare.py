"""Welfare measures, equivalence scales, price deflation, poverty lines and poverty measures.

Definitions follow DESIGN.md section 4. With welfare y, poverty line z and weights v
(person weights w_h * n_h unless ``unit="household"``), summing over households:

* FGT(alpha) = sum v ((z - y) / z)^alpha 1[y < z] / sum v; FGT0 is the headcount ratio,
  FGT1 the poverty gap index (depth), FGT2 the squared poverty gap (severity);
* Watts = sum v ln(z / y) 1[y < z] / sum v.

The line z may differ between households (z_i): regional subsistence minima, a
household's line summed over its members' age-specific lines (:func:`household_line`),
or a mapping ``{region: line}`` with ``by=``; each household's gap is then
(z_i - y_i) / z_i. :func:`subsistence_minimum` builds a line as the cost of a food basket
divided by the food share of a reference group (Kazakhstan TSA report 2017).

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

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from pmt._literals import SE, ShareMethod, Unit
from pmt._validation import check_option, check_weights, column_or_array
from pmt.errors import DataError, example_rows
from pmt.survey import Survey, quantile_groups, weighted_quantile

__all__ = [
    "SCALES",
    "equivalence_scale",
    "per_capita",
    "per_adult_equivalent",
    "deflate",
    "relative_line",
    "line_per_adult_equivalent",
    "household_line",
    "subsistence_minimum",
    "SubsistenceMinimum",
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


def _group_keys(by, n: int, name: str = "by") -> list:
    """Normalised group key of each household (one column, or tuples for a DataFrame)."""
    if isinstance(by, pd.DataFrame):
        keys = list(by.itertuples(index=False, name=None))
        missing = by.isna().any(axis=1).to_numpy()
        labels = by.index
    else:
        if isinstance(by, pd.Series):
            arr = by.to_numpy(dtype=object)
            labels = by.index
        else:
            arr = np.asarray(by, dtype=object).ravel()
            labels = pd.RangeIndex(arr.size)
        keys = list(arr)
        missing = np.asarray(pd.isna(arr), dtype=bool)
    if len(keys) != n:
        raise DataError(f"`{name}` has {len(keys)} rows but {n} are needed (one group key per household).")
    if missing.any():
        raise DataError(
            f"`{name}` (the group key) is missing at {example_rows(labels[missing])}: every "
            "household needs a group, e.g. its region code."
        )
    return [_norm_key(k) for k in keys]


def _lookup(mapping, keys: list, what: str, name: str) -> tuple[np.ndarray, dict]:
    """Values of a {group: number} mapping (or Series) for each household's key."""
    table = {}
    for k, val in mapping.items():
        try:
            table[_norm_key(k)] = float(val)
        except (TypeError, ValueError):
            raise DataError(f"{what} for group {k!r} must be a number; got {val!r}.") from None
    missing = sorted({k for k in keys if k not in table}, key=str)
    if missing:
        raise DataError(
            f"{what} has no value for group(s) {', '.join(map(str, missing[:10]))}"
            f"{' and more' if len(missing) > 10 else ''}: add them to `{name}`."
        )
    return np.array([table[k] for k in keys], dtype=float), table


def _is_group_mapping(z) -> bool:
    return isinstance(z, Mapping)


def _line(z, n: int, by=None, name: str = "z", labels: pd.Index | None = None) -> np.ndarray:
    """Poverty line as a length-n vector of positive numbers.

    ``z`` is a number (one line for all), one line per household (array or Series), or,
    with ``by`` (each household's group key), a mapping or Series from group key to line
    (regional subsistence minima, quarterly lines keyed by ``(region, quarter)``).
    """
    if by is not None or _is_group_mapping(z):
        if by is None:
            shown = ", ".join(f"{k!r}: {v!r}" for k, v in list(z.items())[:3])
            raise DataError(
                f"poverty line `{name}` is a mapping by group ({{{shown}{', ...' if len(z) > 3 else ''}}}): "
                "pass `by=` with each household's group key (e.g. by=df['region'])."
            )
        if not isinstance(z, Mapping | pd.Series):
            raise DataError(
                f"with `by=`, the poverty line `{name}` must be a mapping or Series from group "
                "key to line, e.g. {1: 150000, 2: 165000}; for one line per household drop `by=`."
            )
        keys = _group_keys(by, n)
        arr, table = _lookup(z, keys, f"poverty line `{name}`", name)
        bad = [k for k, v in table.items() if not (np.isfinite(v) and v > 0)]
        if bad:
            raise DataError(
                f"poverty line `{name}` must be positive and finite; group(s) "
                f"{', '.join(map(str, bad[:10]))} have {', '.join(repr(table[k]) for k in bad[:10])}."
            )
        return arr
    if np.ndim(z) == 0:
        try:
            zf = float(z)
        except (TypeError, ValueError):
            raise DataError(f"poverty line `{name}` must be a number, one line per household, "
                            f"or a mapping by group with `by=`; got {z!r}.") from None
        arr = np.full(n, zf)
    else:
        if isinstance(z, pd.Series) and labels is not None:
            z = _align(z, labels)
        arr = column_or_array(z, name=name, n=n)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        if np.ndim(z) == 0:
            got = repr(z)
        else:
            where = z.index if isinstance(z, pd.Series) else pd.RangeIndex(arr.size)
            got = f"non-positive values at {example_rows(where[bad])}"
        raise DataError(f"poverty line `{name}` must be positive and finite; got {got}.")
    return arr


def _align(x: pd.Series, labels: pd.Index) -> pd.Series:
    """Reorder a Series on ``labels`` when it holds the same (unique) labels in another order."""
    if x.index.equals(labels) or len(x) != len(labels) or not x.index.is_unique:
        return x
    if labels.is_unique and bool(x.index.isin(labels).all()):
        return x.reindex(labels)
    return x


def _sizes(size, name: str, n: int | None = None, minimum: float = 1.0) -> np.ndarray:
    s = column_or_array(size, name=name, n=n)
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
    return column_or_array(x, survey, name=what, allow_nan=True, align=True)


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
            # neither a name nor a mapping: rank weights (_rank_scale validates them)
            eq = _rank_scale(n, cast(Sequence[float], spec), max_members)
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
    t = column_or_array(total, name="total")
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
    t = column_or_array(total, name="total")
    eq = equivalence_scale(
        size, adults=adults, children=children, scale=scale, max_members=max_members
    )
    if eq.size != t.size:
        raise DataError(f"`total` has {t.size} values but the household counts have {eq.size}.")
    index = _index_of(total, size, adults, children)
    return _named(t / eq.to_numpy(), index, "per_adult_equivalent")


# --- deflation ----------------------------------------------------------------------------
def _from_data(data, x, what: str):
    """A column of ``data`` when ``x`` is a column name (or a list of names), else ``x``."""
    if data is None:
        if isinstance(x, str):
            raise DataError(f"`{what}` is a column name ({x!r}): pass `data=` (the DataFrame).")
        return x
    if isinstance(data, Survey):
        data = data.data
    if isinstance(x, str):
        if x not in data.columns:
            raise DataError(f"`{what}` column '{x}' is not in the data; columns include "
                            f"{', '.join(map(str, list(data.columns)[:8]))}.")
        return data[x]
    if isinstance(x, list | tuple) and x and all(isinstance(c, str) for c in x):
        absent = [c for c in x if c not in data.columns]
        if absent:
            raise DataError(f"`{what}` column(s) {', '.join(absent)} not in the data.")
        return data[list(x)]
    return x


def deflate(values, index, by=None, base=None, weights=None, data=None) -> pd.Series:
    """Express nominal values in base prices: ``values * base / price_index``.

    Parameters
    ----------
    values : array-like or str
        Nominal amounts (e.g. per-capita consumption in current local currency per month).
    index : array-like, str, mapping or pandas.Series
        The price index (any units; e.g. 1.0 = base prices, or 100 = base). Without ``by``:
        one value per household (an array, or a column name of ``data``). With ``by``: a
        mapping or Series from the group key (a region code, a month, or a tuple such as
        ``(region, month)``) to the index of that group (a spatial, temporal or
        spatio-temporal price index, e.g. a Paasche food index by region and month, or
        the regional subsistence minima when prices differ only through them).
    by : array-like, str, list of str or pandas.DataFrame, optional
        Group key of each household: one column (region) or several (region and month,
        matched to tuple keys / a MultiIndex of ``index``). Column names need ``data``.
    base : float, group key or "mean", optional
        Prices to express values in. ``None``: the index is already relative to the base
        (1.0 = base prices). A number: the index value of the base (e.g. 100). A group
        key: that group's index (e.g. the capital in January). ``"mean"``: the
        (``weights``-) weighted mean index over households, so that deflation leaves the
        weighted mean price level unchanged (the Kazakhstan TSA report's "ratio of oblast
        SML and country average SML": ``y x mean SML / SML_oblast``).
    weights : array-like or str, optional
        Weights for ``base="mean"`` (person weights for a population mean).
    data : pandas.DataFrame or pmt.Survey, optional
        Where column names given for ``values``, ``index``, ``by`` and ``weights`` are
        looked up.

    Returns
    -------
    pandas.Series
        Real values in base prices (same currency units as ``values``), with the input's
        index.
    """
    values = _from_data(data, values, "values")
    index = _from_data(data, index, "index") if isinstance(index, str) else index
    by = _from_data(data, by, "by") if by is not None else None
    weights = _from_data(data, weights, "weights") if weights is not None else None
    out_index = _index_of(values, by)
    v = column_or_array(values, name="values")
    n = v.size
    if by is None:
        if isinstance(index, Mapping):
            raise DataError("`index` is a mapping by group: pass `by=` with each household's group key.")
        p = column_or_array(index, name="index", n=n)
        lookup = None
    else:
        if not isinstance(index, pd.Series | Mapping):
            raise DataError("with `by=`, `index` must be a mapping or Series from group key to index.")
        keys = _group_keys(by, n)
        p, lookup = _lookup(index, keys, "the price index", "index")
    if np.any(~np.isfinite(p)) or np.any(p <= 0):
        raise DataError("price index values must be positive and finite.")
    if base is None:
        b = 1.0
    elif isinstance(base, str) and base == "mean":
        b = float(np.average(p, weights=check_weights(weights, n)))
    elif lookup is not None and _hashable(base) and _norm_key(base) in lookup:
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


def _hashable(k) -> bool:
    try:
        hash(k)
    except TypeError:
        return False
    return True


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
    yv = column_or_array(y, name="y")
    w = check_weights(weights, yv.size)
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
    eq = column_or_array(eq_size, name="eq_size", n=n.size)
    if np.any(eq <= 0):
        raise DataError("`eq_size` must be positive.")
    w = check_weights(weights, n.size)
    return float(z * np.average(n, weights=w) / np.average(eq, weights=w))


def household_line(
    data,
    member_lines: Mapping[str, Any],
    *,
    size=None,
    per_capita: bool = False,
    name: str | None = None,
) -> pd.Series:
    """Each household's poverty line as the sum of its members' lines.

    Age- (or status-) differentiated lines, such as Belarus's minimum subsistence budget
    by working age, pension age, students and children 0-3 and 3-16 (Belarus 2011,
    Table 4): z_h = sum_g n_hg z_g, with n_hg the number of members of group g in
    household h and z_g the line of one member of that group.

    Parameters
    ----------
    data : pandas.DataFrame or pmt.Survey
        One row per household, with a count column per member group.
    member_lines : mapping
        ``{count_column: line_per_member}``, e.g. ``{"n_children_0_5": 120,
        "n_adults": 180, "n_elderly": 150}`` (currency per member per period). A line may
        also be a column name of ``data`` or an array with one value per household (e.g.
        the group's regional line).
    size : str or array-like, optional
        Household size (column name or values). When given, every member must be in one
        of the groups: rows where the counts do not add up to ``size`` raise DataError
        (add the missing group to ``member_lines``).
    per_capita : bool
        Divide the household line by the number of members (``size``, or the sum of the
        counts) so that it compares with per-capita welfare: household h is below
        sum_g n_hg z_g in total exactly when its per-capita welfare is below this
        per-capita line, and the FGT gaps (z_h - y_h) / z_h are the same.
    name : str, optional
        Name of the result (default ``"household_line"`` or ``"line_per_capita"``).

    Returns
    -------
    pandas.Series
        The line of each household (currency per household, or per person with
        ``per_capita=True``), with ``data``'s index; pass it as the poverty line of
        :func:`fgt`, :func:`watts` or :func:`poverty_measures`.
    """
    if isinstance(data, Survey):
        data = data.data
    if not isinstance(data, pd.DataFrame):
        raise DataError("`data` must be a pandas DataFrame (or a pmt.Survey) with one row per household.")
    if not isinstance(member_lines, Mapping) or not member_lines:
        raise DataError(
            "`member_lines` must be a non-empty mapping from member-count column to the line "
            "of one member, e.g. {'n_children_0_5': 120, 'n_adults': 180, 'n_elderly': 150}."
        )
    n = len(data)
    absent = [c for c in member_lines if c not in data.columns]
    if absent:
        raise DataError(
            f"member count column(s) {', '.join(map(repr, absent))} not in the data: "
            "`member_lines` keys are the columns counting each household's members of a group."
        )
    total = np.zeros(n)
    members = np.zeros(n)
    for col, z in member_lines.items():
        counts = _sizes(data[col], col, n, minimum=0)
        if isinstance(z, str):
            zv = column_or_array(_from_data(data, z, f"line of {col}"), name=f"line of {col}", n=n)
        elif np.ndim(z) == 0:
            try:
                zv = np.full(n, float(z))
            except (TypeError, ValueError):
                raise DataError(f"the line of one member in '{col}' must be a number; got {z!r}.") from None
        else:
            zv = column_or_array(z, name=f"line of {col}", n=n)
        if np.any(~np.isfinite(zv)) or np.any(zv < 0):
            raise DataError(f"the line of one member in '{col}' must be a non-negative number; got {z!r}.")
        total += counts * zv
        members += counts
    if size is not None:
        sv = _sizes(_from_data(data, size, "size"), "size", n)
        off = members != sv
        if off.any():
            raise DataError(
                f"the member counts ({', '.join(member_lines)}) do not add up to `size` at "
                f"{example_rows(data.index[off])}: every member needs a line; add the missing "
                "group's count column to `member_lines`."
            )
    else:
        sv = members
    empty = sv < 1
    if empty.any():
        raise DataError(
            f"households with no members in any group at {example_rows(data.index[empty])}: "
            "fix the counts or add the missing group to `member_lines`."
        )
    if per_capita:
        return pd.Series(total / sv, index=data.index, name=name or "line_per_capita")
    return pd.Series(total, index=data.index, name=name or "household_line")


_GROUP_WORDS = {4: ("quartile", "quartiles"), 5: ("quintile", "quintiles"),
                10: ("decile", "deciles"), 20: ("ventile", "ventiles")}


#: Reference groups tabulated by default by :func:`subsistence_minimum`.
_DEFAULT_SENSITIVITY = ((1, 3), (2, 4), (3, 5), (1, 5))


def _group_label(lo: int, hi: int, n_groups: int) -> str:
    one, many = _GROUP_WORDS.get(n_groups, ("group", "groups"))
    return f"{one} {lo}" if lo == hi else f"{many} {lo}-{hi}"


def _check_reference(ref, n_groups: int) -> tuple[int, int]:
    try:
        lo, hi = ref
        ok = int(lo) == lo and int(hi) == hi and 1 <= lo <= hi <= n_groups
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DataError(
            f"a reference group must be (first, last) quantile groups with 1 <= first <= last "
            f"<= {n_groups}, e.g. (2, 4) for the second to fourth deciles; got {ref!r}."
        )
    return int(lo), int(hi)


def _check_share(share, what: str = "food_share") -> float:
    try:
        s = float(share)
    except (TypeError, ValueError):
        s = float("nan")
    if not (np.isfinite(s) and 0 < s <= 1):
        raise DataError(f"`{what}` must be a share in (0, 1] (e.g. 0.6 for 60 %); got {share!r}.")
    return s


@dataclass(frozen=True, repr=False)
class SubsistenceMinimum:
    """Result of :func:`subsistence_minimum` (amounts in the units of the basket cost)."""

    #: The subsistence minimum: ``food_basket_cost / food_share`` (currency per person).
    minimum: float
    #: Cost of the minimum food basket (currency per person per period).
    food_basket_cost: float
    #: Food share used: observed in the reference group, or the normative one given.
    food_share: float
    #: Food share observed in the reference group.
    observed_food_share: float
    #: Reference group (first, last quantile group of welfare).
    reference: tuple[int, int]
    #: Number of quantile groups (10: deciles).
    n_groups: int
    #: Headcount ratio at the minimum (share of the population with welfare below it).
    headcount: float
    #: One row per reference group (and normative share): food share, minimum, its change
    #: against the chosen minimum, and the headcount and poverty gap it implies.
    sensitivity: pd.DataFrame
    #: True if ``food_share`` was given (normative) rather than observed.
    normative: bool
    #: ``"aggregate"`` (ratio of food to total) or ``"mean"`` (mean of household shares).
    share_method: str

    def __float__(self) -> float:
        return float(self.minimum)

    def __repr__(self) -> str:
        basis = ("normative food share" if self.normative else
                 f"food share of {_group_label(*self.reference, self.n_groups)}")
        return (f"SubsistenceMinimum(minimum={self.minimum:,.6g}, food_basket_cost="
                f"{self.food_basket_cost:,.6g}, food_share={self.food_share:.4f} ({basis}), "
                f"headcount={self.headcount:.4f})")


def subsistence_minimum(
    data,
    food_basket_cost: float,
    food_share: float | None = None,
    reference: tuple[int, int] = (2, 4),
    *,
    welfare,
    food,
    total=None,
    weights=None,
    size=None,
    n_groups: int = 10,
    sensitivity: Sequence | None = None,
    share: ShareMethod = "aggregate",
) -> SubsistenceMinimum:
    """Subsistence minimum: the cost of a food basket divided by a food share.

    SM = F / s, where F is the cost of the minimum food basket and s the food share
    (food expenditure / total expenditure) observed for a reference group of the
    population, by default the second to fourth deciles of welfare (person-weighted
    quantile groups, DESIGN.md section 4), or a normative share (Kazakhstan's
    subsistence minimum: 60 %, lowered to 55 % in 2018, which raised the minimum by
    0.60 / 0.55 - 1 = 9.1 % and about doubled the official headcount; Kazakhstan TSA
    report 2017).

    Parameters
    ----------
    data : pandas.DataFrame or pmt.Survey
        One row per household. With a Survey, ``weights`` default to its person weights.
    food_basket_cost : float
        Cost of the minimum food basket, in currency per person per period (the units of
        ``welfare``).
    food_share : float, optional
        A normative food share in (0, 1] to use instead of the observed one (the
        observed share is still computed and reported).
    reference : (int, int)
        First and last quantile group of ``welfare`` forming the reference group
        (``(2, 4)``: deciles 2 to 4, i.e. people between the 10th and 40th percentiles).
    welfare : str or array-like
        Welfare per person (column name or values), ranking households into quantile
        groups and compared with the minimum for the headcount.
    food : str or array-like
        Food expenditure (column name or values), per person, or household totals with
        ``size``.
    total : str or array-like, optional
        Total expenditure in the same basis as ``food``; defaults to ``welfare``.
    weights : str or array-like, optional
        Person weights (household weight x size); equal if None (and no Survey).
    size : str or array-like, optional
        Household size: when given, ``food`` and ``total`` are household totals and are
        divided by it.
    n_groups : int
        Number of quantile groups (10: deciles).
    sensitivity : sequence, optional
        Alternatives to tabulate: ``(first, last)`` reference groups and/or normative
        food shares (floats). Default: groups 1-3, 2-4, 3-5 and 1-5 (those that exist
        with ``n_groups``). The chosen basis is added if missing.
    share : {"aggregate", "mean"}
        ``"aggregate"``: s = sum v food / sum v total over the reference group (food and
        total per person: the group's budget share). ``"mean"``: s = sum v (food / total)
        / sum v, the mean of household shares.

    Returns
    -------
    SubsistenceMinimum
        ``minimum`` (float, currency per person per period), ``food_share``,
        ``observed_food_share``, ``headcount`` (share of people with welfare below the
        minimum) and ``sensitivity``: a DataFrame indexed by ``reference`` (e.g.
        ``"deciles 2-4"``, ``"food share 0.55"``) with columns ``kind``
        (observed/normative), ``first``, ``last``, ``food_share``, ``minimum``,
        ``change`` (minimum / chosen minimum - 1), ``headcount``, ``poverty_gap``,
        ``n_households`` and ``population`` (of the reference group), ``chosen``.
    """
    survey = data if isinstance(data, Survey) else None
    df = survey.data if survey is not None else data
    if not isinstance(df, pd.DataFrame):
        raise DataError("`data` must be a pandas DataFrame (or a pmt.Survey) with one row per household.")
    n = len(df)
    if n == 0:
        raise DataError("`data` has no rows.")
    try:
        cost = float(food_basket_cost)
    except (TypeError, ValueError):
        cost = float("nan")
    if not (np.isfinite(cost) and cost > 0):
        raise DataError(
            f"`food_basket_cost` must be a positive number (currency per person per period); "
            f"got {food_basket_cost!r}."
        )
    if int(n_groups) != n_groups or n_groups < 2:
        raise DataError(f"`n_groups` must be a whole number >= 2; got {n_groups!r}.")
    n_groups = int(n_groups)
    check_option(share, ShareMethod, name="share")
    ref = _check_reference(reference, n_groups)
    normative = food_share is not None
    share_given = _check_share(food_share) if normative else None

    y = column_or_array(_from_data(df, welfare, "welfare"), name="welfare", n=n)
    f = column_or_array(_from_data(df, food, "food"), name="food", n=n)
    x = column_or_array(_from_data(df, welfare if total is None else total, "total"),
                        name="total", n=n)
    if weights is None and survey is not None:
        v = survey.person_weight.astype(float)
    else:
        v = check_weights(_from_data(df, weights, "weights") if weights is not None else None, n)
    if size is not None:
        hh = _sizes(_from_data(df, size, "size"), "size", n)
        f, x = f / hh, x / hh
    labels = df.index
    if np.any(f < 0):
        raise DataError(f"`food` expenditure is negative at {example_rows(labels[f < 0])}: fix it.")
    if np.any(x <= 0):
        raise DataError(
            f"`total` expenditure must be positive to form a food share; it is <= 0 at "
            f"{example_rows(labels[x <= 0])}."
        )
    over = f > x * (1 + 1e-9)
    if over.any():
        raise DataError(
            f"food expenditure exceeds total expenditure at {example_rows(labels[over])}: are "
            "`food` and `total` on the same basis (both per person, or both household totals "
            "with `size=`)?"
        )
    groups = quantile_groups(y, v, n_groups)
    vsum = v.sum()

    def observed(lo: int, hi: int) -> tuple[float, int, float]:
        m = (groups >= lo) & (groups <= hi)
        vm = v * m
        if vm.sum() <= 0:
            raise DataError(
                f"the reference group {_group_label(lo, hi, n_groups)} is empty (ties in "
                "welfare can leave a quantile group without households): choose a wider range."
            )
        if share == "aggregate":
            s = float(np.sum(vm * f) / np.sum(vm * x))
        else:
            s = float(np.sum(vm * f / x) / np.sum(vm))
        if not s > 0:
            raise DataError(
                f"food expenditure is zero throughout the reference group "
                f"{_group_label(lo, hi, n_groups)}: check the `food` column."
            )
        return s, int(m.sum()), float(vm.sum())

    obs_share = observed(*ref)[0]
    # share_given is not None exactly when normative
    chosen_share = share_given if share_given is not None else obs_share
    minimum = cost / chosen_share

    if sensitivity is None:
        sensitivity = [r for r in _DEFAULT_SENSITIVITY if r[1] <= n_groups]
    entries: list = []
    for item in sensitivity:
        if np.ndim(item) == 0:
            entries.append(("normative", _check_share(item, "sensitivity share")))
        else:
            entries.append(("observed", _check_reference(item, n_groups)))
    chosen_entry = ("normative", share_given) if normative else ("observed", ref)
    if chosen_entry not in entries:
        entries.insert(0, chosen_entry)
    rows = []
    seen = set()
    nh: float  # households of an observed group (int), NaN for a normative share
    for kind, spec in entries:
        if (kind, spec) in seen:
            continue
        seen.add((kind, spec))
        if kind == "observed":
            s, nh, pop = observed(*spec)
            label, lo, hi = _group_label(spec[0], spec[1], n_groups), spec[0], spec[1]
        else:
            s, nh, pop = spec, np.nan, np.nan
            label, lo, hi = f"food share {spec:g}", np.nan, np.nan
        sm = cost / s
        rows.append({
            "reference": label, "kind": kind, "first": lo, "last": hi, "food_share": s,
            "minimum": sm, "change": sm / minimum - 1,
            "headcount": float(np.sum(v * (y < sm)) / vsum),
            "poverty_gap": float(np.sum(v * fgt_terms(y, np.full(n, sm), 1.0)) / vsum),
            "n_households": nh, "population": pop, "chosen": (kind, spec) == chosen_entry,
        })
    table = pd.DataFrame(rows).set_index("reference")
    table["first"] = table["first"].astype("Int64")
    table["last"] = table["last"].astype("Int64")
    table["n_households"] = table["n_households"].astype("Int64")
    table.attrs.update({"food_basket_cost": cost, "n_groups": n_groups, "share": share})
    return SubsistenceMinimum(
        minimum=float(minimum),
        food_basket_cost=cost,
        food_share=float(chosen_share),
        observed_food_share=float(obs_share),
        reference=ref,
        n_groups=n_groups,
        headcount=float(np.sum(v * (y < minimum)) / vsum),
        sensitivity=table,
        normative=normative,
        share_method=share,
    )


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


def fgt(y, z, weights=None, alpha: float = 0, by=None) -> float:
    """Foster-Greer-Thorbecke poverty measure.

    FGT(alpha) = sum v ((z_i - y_i)/z_i)^alpha 1[y_i < z_i] / sum v (DESIGN.md section 4),
    with z_i household i's own line.

    Parameters
    ----------
    y : array-like
        Welfare (e.g. per-capita consumption), no missing values.
    z : float, array-like or mapping
        Poverty line in the same units as ``y`` (e.g. currency per person per month);
        positive. A number (one line for all); one line per household (an array or Series,
        e.g. regional subsistence minima looked up for each household, or the per-capita
        line of :func:`household_line`), so that household i's gap is (z_i - y_i) / z_i;
        or, with ``by``, a mapping or Series from group key to line
        (``{region_code: line}``, or ``{(region, quarter): line}`` with a two-column ``by``).
    weights : array-like, optional
        Person weights (household weight x size) for population measures; equal if None.
    alpha : float
        0 headcount ratio, 1 poverty gap index, 2 squared poverty gap (severity).
    by : array-like or pandas.DataFrame, optional
        Group key of each household (e.g. ``df["region"]``, or ``df[["region",
        "quarter"]]``) when ``z`` is a mapping by group.

    Returns
    -------
    float
        A share in [0, 1] (for alpha >= 1 and y >= 0).
    """
    a = _check_alpha(alpha)
    yv = column_or_array(y, name="y")
    zv = _line(z, yv.size, by=by, labels=y.index if isinstance(y, pd.Series) else None)
    w = check_weights(weights, yv.size)
    return float(np.sum(w * fgt_terms(yv, zv, a)) / np.sum(w))


def watts(y, z, weights=None, by=None) -> float:
    """Watts poverty index: sum v ln(z_i / y_i) 1[y_i < z_i] / sum v (DESIGN.md section 4).

    Welfare must be positive (DataError naming the rows otherwise: ln(z / y) is undefined
    at y <= 0). Arguments as :func:`fgt`: ``z`` is a number, one line per household, or a
    mapping by group with ``by``.
    """
    yv = column_or_array(y, name="y")
    labels = y.index if isinstance(y, pd.Series) else pd.RangeIndex(yv.size)
    zv = _line(z, yv.size, by=by, labels=labels if isinstance(y, pd.Series) else None)
    w = check_weights(weights, yv.size)
    return float(np.sum(w * watts_terms(yv, zv, labels)) / np.sum(w))



def _survey_line(survey: Survey, line, line_by, by, n: int) -> np.ndarray:
    """The poverty line of each household of ``survey`` (see :func:`poverty_measures`)."""
    if isinstance(line, Mapping) or line_by is not None:
        key = line_by if line_by is not None else by
        if key is None:
            raise DataError(
                "`line` is a mapping by group: pass `line_by=` with the column of group keys "
                "(e.g. line_by='region'; a list of columns for keys such as (region, quarter))."
            )
        if not isinstance(line, Mapping | pd.Series):
            raise DataError(
                "with `line_by=`, `line` must be a mapping or Series from group key to line, "
                "e.g. {1: 150000, 2: 165000}."
            )
        cols = [key] if isinstance(key, str) else list(key)
        absent = [c for c in cols if not isinstance(c, str) or c not in survey.data.columns]
        if absent:
            raise DataError(
                f"`line_by` column(s) {', '.join(map(repr, absent))} not in the survey data: "
                "give the column(s) holding each household's group key."
            )
        keys = survey.data[cols[0]] if len(cols) == 1 else survey.data[cols]
        return _line(line, n, by=keys, name="line")
    if isinstance(line, str):
        if line not in survey.data.columns:
            raise DataError(f"poverty line column '{line}' is not in the survey data.")
        col = survey.data[line]
        return _line(col, n, name="line", labels=survey.data.index)
    if isinstance(line, pd.Series):
        return _line(pd.Series(_survey_values(survey, line, "line"), index=survey.data.index),
                     n, name="line")
    return _line(line, n, name="line")


def poverty_measures(
    survey: Survey,
    welfare,
    line,
    unit: Unit = "person",
    alphas: Sequence[float] = (0, 1, 2),
    include_watts: bool | None = None,
    se: SE = "linearized",
    n_replicates: int = 1000,
    seed: int = 0,
    by: str | None = None,
    level: float = 0.95,
    line_by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """FGT measures and the Watts index with design-based standard errors.

    Parameters
    ----------
    survey : pmt.Survey
        The data and their design (weights, sizes, strata, PSUs).
    welfare : str or array-like
        Welfare column of ``survey.data`` (or one value per household), e.g. ``"pcc"``.
        Missing values raise DataError: subset the survey explicitly instead.
    line : float, str, array-like or mapping
        Poverty line in the units of welfare: a number; a column name or one value per
        household (regional lines, or :func:`household_line` per capita), in which case
        each household's gap is (z_i - y_i) / z_i; or a mapping (or Series) from group key
        to line, ``{region_code: line}``, with ``line_by`` naming the key column(s).
    unit : {"person", "household"}
        Person-weighted (w_h n_h, default) or household-weighted measures.
    alphas : sequence of float
        FGT parameters to report (rows ``FGT0``, ``FGT1``, ``FGT2`` for 0, 1, 2).
    include_watts : bool or None
        Add the Watts index. ``None`` (default): add it, but where welfare is zero or
        negative (ln(z / y) undefined) report its estimate, se and interval as NaN, with
        a warning and a note in ``result.attrs["notes"]``, instead of failing; domains
        (``by``) whose welfare is all positive keep their Watts value. ``True``: Watts is
        required and non-positive welfare raises DataError naming the rows. ``False``:
        FGT measures only.
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
    line_by : str or list of str, optional
        Column(s) of ``survey.data`` with each household's group key when ``line`` is a
        mapping by group. Defaults to ``by`` for a ``dict`` line, so that
        ``poverty_measures(sv, "pcc", {1: z1, 2: z2}, by="region")`` gives regional
        poverty at regional lines.

    Returns
    -------
    pandas.DataFrame
        Index ``measure`` (or (``by``, ``measure``)); columns ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper``, ``n_households`` (sample) and ``population`` (sum of
        the weights in the group). Estimates are shares (FGT) or the Watts index.
        ``attrs``: ``unit``, ``se_method``, ``welfare``, ``level``, ``notes`` (list of
        strings, e.g. why Watts is NaN).
    """
    from scipy.stats import norm

    if not isinstance(survey, Survey):
        raise DataError("`survey` must be a pmt.Survey (data plus weights, size, strata, psu).")
    check_option(unit, Unit, name="unit")
    check_option(se, SE, name="se")
    if not 0 < level < 1:
        raise DataError(f"`level` must be in (0, 1); got {level!r}.")
    labels = survey.data.index
    name = welfare if isinstance(welfare, str) else "welfare"
    if by is not None and by not in survey.data.columns:
        raise DataError(f"`by` column '{by}' is not in the survey data.")
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
    z = _survey_line(survey, line, line_by, by, y.size)
    alist = [_check_alpha(a) for a in alphas]
    terms: dict[str, np.ndarray] = {}
    for a in alist:
        terms[f"FGT{a:g}"] = fgt_terms(y, z, a)
    notes: list[str] = []
    nonpositive = y <= 0
    if include_watts is True and nonpositive.any():
        watts_terms(y, z, labels)  # DataError naming the rows
    if include_watts is None or include_watts:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms["Watts"] = np.where(
                ~nonpositive & (y < z), np.log(z / np.where(nonpositive, 1.0, y)), 0.0
            )
        if nonpositive.any():
            note = (
                f"Watts index not computed (NaN): it takes ln(z / y), undefined for welfare <= 0, "
                f"and welfare '{name}' is <= 0 for {int(nonpositive.sum())} "
                f"household{'s' if nonpositive.sum() != 1 else ''} at "
                f"{example_rows(labels[nonpositive])}. FGT measures are unaffected; check those "
                "households' welfare aggregate, or pass include_watts=False."
            )
            if by is not None:
                note += " Domains whose welfare is all positive keep their Watts index."
            notes.append(note)
            warnings.warn(note, UserWarning, stacklevel=2)
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
            if mname == "Watts" and (nonpositive & d).any():
                est = s = float("nan")
            elif factors is None:
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
    out.attrs.update({"unit": unit, "se_method": se, "welfare": name, "level": level,
                      "notes": notes})
    if se == "bootstrap":
        out.attrs.update({"n_replicates": int(n_replicates), "seed": seed})
    return out
