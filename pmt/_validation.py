"""Input checks shared by every pmt module: one helper per check, one error per mistake.

This module sits at the bottom of the layering of DESIGN.md section 2: it imports only
numpy, pandas and :mod:`pmt.errors`, and every other module may use it. It plays the part of
scikit-learn's ``utils/validation.py`` (``column_or_1d``, ``_check_sample_weight``):

:func:`column_or_array`
    A column name of a DataFrame (or of a :class:`pmt.Survey`), a Series, a list or an array
    -> a 1-d float array. Wrong length, non-numeric values, missing or infinite values (when
    not allowed) and a missing column raise :class:`~pmt.errors.DataError`.
:func:`check_weights`
    Weights -> a 1-d float array (ones when None). Every problem with weights (length,
    non-numeric, missing, infinite, negative, zero where they must be positive, a zero sum)
    raises :class:`~pmt.errors.WeightError`, a :class:`~pmt.errors.SurveyDesignError` (so a
    DataError) that is also a :class:`~pmt.errors.ModelError`, the class models raised
    for weights before.
:func:`check_option`
    A value that must be one of a fixed set (a ``typing.Literal`` alias of
    :mod:`pmt._literals`, or a tuple) -> the value; anything else raises
    :class:`~pmt.errors.OptionError`, listing the allowed values and the closest one.
:func:`numeric_values`
    The conversion underneath: floats and a mask of present values that are not numbers,
    for record-level code that flags bad rows instead of raising (registry scoring).

One message style throughout: the argument (in backticks) or column, what is wrong, how
many values, the first rows (index labels of a Series or of the data, else positions) and
their values, and how to fix it, e.g.::

    `weights` has 1 negative value at row b (-5): weights must be non-negative numbers;
    fix the weights or drop those rows.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np
import pandas as pd

from pmt._literals import WeightKind
from pmt.errors import DataError, OptionError, WeightError, example_rows

__all__ = ["check_option", "check_weights", "column_or_array", "numeric_values", "option_values"]

#: How many offending values an error message shows.
_SHOW = 5

_ARGUMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(\[.*\])?")


# --- conversion -------------------------------------------------------------------------
def numeric_values(values) -> tuple[np.ndarray, np.ndarray | None]:
    """Values as floats, and which present values are not numbers.

    Numbers (and booleans) are converted as ``numpy.asarray(values, dtype=float)`` would;
    missing values (None, NaN, ``pd.NA``) become NaN; anything else that is not a number
    (e.g. ``"abc"``) also becomes NaN and is marked in the mask. Numeric strings such as
    ``"3.5"`` are numbers.

    Parameters
    ----------
    values : array-like or pandas.Series
        Any shape; a Series of any dtype (nullable integers and booleans included).

    Returns
    -------
    floats : numpy.ndarray
        Same shape as ``values``. Not a copy when ``values`` already is a float64 array.
    non_numeric : numpy.ndarray of bool or None
        True where a value is present but not a number; None when the input has a numeric
        or boolean dtype (nothing to mark).
    """
    if isinstance(values, pd.Series | pd.Index):
        dtype = values.dtype
        if not isinstance(dtype, pd.CategoricalDtype) and (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            return values.to_numpy(dtype=float, na_value=np.nan), None
        obj = values.to_numpy(dtype=object)
    else:
        arr = np.asarray(values)
        if arr.dtype.kind in "fiub":
            return arr.astype(float, copy=False), None
        # a list mixing numbers and text would be stringified by numpy ('nan'): keep objects
        obj = arr.astype(object) if isinstance(values, np.ndarray) else np.asarray(
            values, dtype=object)
    flat = obj.ravel()
    num = pd.to_numeric(pd.Series(flat, dtype=object), errors="coerce")
    floats = num.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(floats) & ~np.asarray(pd.isna(flat), dtype=bool)
    if bad.any():
        # what pandas leaves out but float() reads: booleans among text, "nan", "inf"
        fixed = {}
        for v in pd.unique(flat[bad]):
            try:
                fixed[v] = float(v)
            except (TypeError, ValueError, OverflowError):
                continue
        if fixed:
            idx = np.flatnonzero(bad)
            floats = np.array(floats, dtype=float)  # pandas may hand back a read-only view
            got = np.array([fixed.get(v, np.nan) for v in flat[idx]], dtype=float)
            floats[idx] = got
            bad[idx] = [v not in fixed for v in flat[idx]]
    return floats.reshape(obj.shape), bad.reshape(obj.shape)


# --- messages ---------------------------------------------------------------------------
def _label(name: str) -> str:
    """An argument name in backticks (``weights``, ``rankings['a']``); other text as is."""
    return f"`{name}`" if _ARGUMENT.fullmatch(name) else name


def _format_value(v) -> str:
    if isinstance(v, float | np.floating):
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _problem(label: str, bad: np.ndarray, labels: pd.Index, kind: str, fix: str,
             values: np.ndarray | None = None) -> str:
    """``<label> has <k> <kind> value(s) at <rows> (<values>): <fix>``."""
    k = int(bad.sum())
    shown = ""
    if values is not None:
        first = [_format_value(v) for v in np.asarray(values)[bad][:_SHOW]]
        shown = f" ({', '.join(first)}{', ...' if k > _SHOW else ''})"
    noun = "value" if k == 1 else "values"
    return f"{label} has {k} {kind} {noun} at {example_rows(labels[bad])}{shown}: {fix}"


def _columns_hint(column: str, columns: Iterable) -> str:
    names = [str(c) for c in columns]
    close = difflib.get_close_matches(str(column), names, n=3, cutoff=0.75)
    if close:
        return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    shown = ", ".join(names[:12]) + (f" ... ({len(names)} in all)" if len(names) > 12 else "")
    return f"; the columns are {shown}." if names else "; it has no columns."


def _frame_of(data) -> tuple[pd.DataFrame | None, str]:
    """The DataFrame behind ``data`` (a DataFrame, or an object with ``.data`` such as a
    Survey) and how messages call it.
    """
    if data is None:
        return None, "data"
    if isinstance(data, pd.DataFrame):
        return data, "data"
    frame = getattr(data, "data", None)
    if isinstance(frame, pd.DataFrame):
        return frame, "survey data" if type(data).__name__ == "Survey" else "data"
    raise DataError(
        f"`data` must be a pandas DataFrame (or a pmt.Survey); got {type(data).__name__}."
    )


# --- vectors ----------------------------------------------------------------------------
def _resolve(x, data, name: str, n: int | None, align: bool, error: type[DataError]):
    """Look ``x`` up in ``data`` and check its shape: (values, row labels, message label)."""
    frame, where = _frame_of(data)
    label = _label(name)
    if x is None:
        raise error(f"{label} is required: pass a column name or one value per row.")
    if isinstance(x, str):
        if frame is None:
            raise error(f"{label} is a column name ('{x}') but no data were given: pass the "
                        "data, or the values themselves.")
        if x not in frame.columns:
            col = "column" if name == x else f"{label} column"
            raise error(f"{col} '{x}' is not in the {where}{_columns_hint(x, frame.columns)}")
        values = frame[x]
        label = f"column '{x}'" if name == x else f"{label} column '{x}'"
    elif isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise error(f"{label} must be one column (a column name, Series or 1-d array); "
                        f"got a DataFrame with {x.shape[1]} columns.")
        values = x.iloc[:, 0]
    else:
        values = x
    if isinstance(values, pd.Series) and frame is not None and align and not isinstance(x, str):
        if not values.index.equals(frame.index):
            same = (len(values) == len(frame) and values.index.is_unique
                    and frame.index.is_unique and bool(values.index.isin(frame.index).all()))
            if not same:
                raise error(
                    f"{label} is a Series whose index differs from the rows of the {where}: "
                    "pass a column name, or a Series with the same index (e.g. "
                    "`.reindex(survey.data.index)`)."
                )
            values = values.reindex(frame.index)
    if n is None and frame is not None:
        n = len(frame)
    if isinstance(values, pd.Series):
        labels = values.index
    elif isinstance(values, pd.Index):
        labels = None
    else:
        raw = values
        values = np.asarray(raw)
        if values.dtype.kind in "US" and not isinstance(raw, np.ndarray):
            values = np.asarray(raw, dtype=object)  # a list of numbers and text: keep each
        if values.ndim > 1 and sum(d > 1 for d in values.shape) > 1:
            raise error(f"{label} must be one column (1-d); got an array of shape {values.shape}.")
        values = values.ravel()
        labels = None
    size = len(values)
    if n is not None and size != n:
        raise error(f"{label} has {size} values but {n} are needed: pass one value per "
                    "household (row), in the same order.")
    if labels is None:
        labels = frame.index if frame is not None and len(frame) == size else pd.RangeIndex(size)
    return values, labels, label


def _floats(values, labels: pd.Index, label: str, error: type[DataError], fix: str) -> np.ndarray:
    arr, non_numeric = numeric_values(values)
    arr = np.ravel(arr)
    if non_numeric is not None and non_numeric.any():
        raw = np.ravel(values.to_numpy(dtype=object) if isinstance(values, pd.Series | pd.Index)
                       else np.asarray(values, dtype=object))
        raise error(_problem(label, np.ravel(non_numeric), labels, "non-numeric", fix, raw))
    return arr


def column_or_array(
    x,
    data=None,
    *,
    name: str,
    n: int | None = None,
    allow_nan: bool = False,
    dtype=float,
    nonnegative: bool = False,
    binary: bool = False,
    align: bool = False,
) -> np.ndarray:
    """One input vector as a validated 1-d array.

    Parameters
    ----------
    x : str, pandas.Series, array-like or one-column DataFrame
        A column name of ``data``, or the values themselves (one per row).
    data : pandas.DataFrame or object with a ``.data`` DataFrame (a Survey), optional
        Where column names are looked up; also gives the expected length and the row labels
        that messages name.
    name : str
        The argument's name for messages (``"weights"``, ``"rankings['a']"``).
    n : int, optional
        Expected length; ``len(data)`` when ``data`` is given.
    allow_nan : bool
        Let missing (NaN) and infinite values through. Non-numeric values never are.
    dtype : numpy dtype or None
        ``float`` (default) converts to floats; another numeric dtype casts the floats to it;
        None keeps the values as they are (ids, codes), checking only the column, the length
        and (unless ``allow_nan``) missing values.
    nonnegative : bool
        Reject negative values.
    binary : bool
        Reject values other than 0/1 (True/False).
    align : bool
        With ``data``, reorder a Series that holds the same (unique) row labels in another
        order; a Series with other labels raises. Without it a Series is taken in order.

    Returns
    -------
    numpy.ndarray
        1-d, of length ``n``.

    Raises
    ------
    pmt.errors.DataError
        For a missing column (naming close matches), the wrong length or shape, a value that
        is not a number (never silently NaN), missing or infinite values unless
        ``allow_nan``, negative values with ``nonnegative``, other than 0/1 with ``binary``.
        The message names the argument or column, the count and the first rows.
    """
    values, labels, label = _resolve(x, data, name, n, align, DataError)
    fix_missing = "drop those households (and count them) or impute the values first."
    if dtype is None:
        arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
        if not allow_nan:
            missing = np.asarray(pd.isna(arr), dtype=bool)
            if missing.any():
                raise DataError(_problem(label, missing, labels, "missing", fix_missing))
        return arr
    arr = _floats(values, labels, label, DataError,
                  "convert those values to numbers (or mark them missing) first.")
    if not allow_nan:
        missing = np.isnan(arr)
        if missing.any():
            raise DataError(_problem(label, missing, labels, "missing", fix_missing))
        infinite = np.isinf(arr)
        if infinite.any():
            raise DataError(_problem(label, infinite, labels, "infinite",
                                     "drop or fix those households (e.g. the log of zero).", arr))
    if binary:
        other = ~np.isnan(arr) & (arr != 0) & (arr != 1)
        if other.any():
            raise DataError(_problem(label, other, labels, "non-binary",
                                     "pass 0/1 (or True/False).", arr))
    if nonnegative:
        negative = arr < 0
        if negative.any():
            raise DataError(_problem(label, negative, labels, "negative",
                                     "the values must be non-negative.", arr))
    if np.dtype(dtype) != np.float64:
        arr = arr.astype(dtype)
    return arr


# --- weights ----------------------------------------------------------------------------


def check_weights(
    weights,
    n: int | None = None,
    *,
    name: str = "weights",
    kind: WeightKind = "nonnegative",
    allow_zero_sum: bool = False,
    allow_nan: bool = False,
    data=None,
    align: bool = False,
    subset: np.ndarray | None = None,
) -> np.ndarray:
    """Weights as a validated 1-d float array; ones when ``weights`` is None.

    Parameters
    ----------
    weights : None, str, pandas.Series or array-like
        The weights, or a column name of ``data``.
    n : int, optional
        Expected length (``len(data)`` when ``data`` is given). Required with
        ``weights=None``, unless ``data`` is given.
    name : str
        The argument's name for messages.
    kind : {"nonnegative", "positive"}
        Whether zero weights are allowed.
    allow_zero_sum : bool
        Accept weights that are all zero (otherwise at least one must be positive).
    allow_nan : bool
        Let missing and infinite weights through (for callers that drop those rows and
        count them); the other checks apply to the finite weights.
    data : pandas.DataFrame or object with a ``.data`` DataFrame (a Survey), optional
        Where a column name is looked up; gives the row labels that messages name.
    align : bool
        As in :func:`column_or_array`.
    subset : numpy.ndarray of bool, optional
        Check the values (missing, infinite, sign, sum) only on these rows, e.g. the rows a
        model keeps; the others are returned as they are (but must still be numbers).

    Returns
    -------
    numpy.ndarray
        The weights as floats.

    Raises
    ------
    pmt.errors.WeightError
        For every problem with the weights (a missing column, the wrong length, values that
        are not numbers, missing or infinite values, negative values, zero values with
        ``kind="positive"``, a zero sum). It is a SurveyDesignError (so a DataError) and a
        ModelError, the classes weight checks raised before.
    """
    kind = check_option(kind, WeightKind, name="kind")
    if weights is None:
        if n is None:
            frame, _ = _frame_of(data)
            if frame is None:
                raise TypeError("check_weights: pass n (or data) when weights is None.")
            n = len(frame)
        return np.ones(n)
    values, labels, label = _resolve(weights, data, name, n, align, WeightError)
    rule = "weights must be " + ("positive" if kind == "positive" else "non-negative") + " numbers"
    fix = f"{rule}; fix the weights or drop those rows."
    w = _floats(values, labels, label, WeightError, fix)
    rows = np.ones(w.size, dtype=bool) if subset is None else np.asarray(subset, dtype=bool)
    finite = np.isfinite(w) & rows
    if not allow_nan:
        missing = np.isnan(w) & rows
        if missing.any():
            raise WeightError(_problem(label, missing, labels, "missing", fix))
        if not np.array_equal(finite, rows):
            raise WeightError(_problem(label, rows & ~finite, labels, "infinite", fix, w))
    with np.errstate(invalid="ignore"):
        bad = finite & ((w <= 0) if kind == "positive" else (w < 0))
    if bad.any():
        what = "zero or negative" if kind == "positive" else "negative"
        raise WeightError(_problem(label, bad, labels, what, fix, w))
    if not allow_zero_sum and not (w[finite].sum() > 0):
        raise WeightError(f"{label} sum to zero ({int(finite.sum())} finite values, none "
                          "positive): at least one weight must be positive.")
    return w


# --- options ----------------------------------------------------------------------------
def option_values(allowed) -> tuple:
    """The allowed values of a ``typing.Literal`` alias (or a union of them), or of a tuple,
    list, set or mapping (its keys), in order.
    """
    origin = get_origin(allowed)
    if origin is Literal:
        return get_args(allowed)  # nested Literals are flattened by typing
    if origin is Union or isinstance(allowed, UnionType):
        return tuple(v for a in get_args(allowed) for v in option_values(a))
    if isinstance(allowed, Mapping):
        return tuple(allowed)
    if isinstance(allowed, str):
        return (allowed,)
    return tuple(allowed)


def _same(value, option) -> bool:
    if isinstance(value, bool | np.bool_) != isinstance(option, bool):
        return False
    try:
        return bool(value == option)
    except (TypeError, ValueError):
        return False


def _choices(options: tuple) -> str:
    shown = [repr(o) for o in options]
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def check_option(value: Any, allowed, *, name: str) -> Any:
    """``value`` if it is one of the ``allowed`` options, else OptionError.

    Parameters
    ----------
    value : object
        The argument as passed (usually a string).
    allowed : typing.Literal alias, tuple, list, set or mapping
        The allowed values, e.g. :data:`pmt._literals.Unit`.
    name : str
        The argument's name for messages.

    Returns
    -------
    object
        ``value`` unchanged (matching is exact: case counts and True is not 1).

    Raises
    ------
    pmt.errors.OptionError
        ``"`unit` must be 'person' or 'household'; got 'persons'. Did you mean 'person'?"``
        It subclasses DataError, ModelError and PolicyError (all ``ValueError``), the classes
        option checks raised before.
    """
    options = option_values(allowed)
    if any(_same(value, o) for o in options):
        return value
    hint = ""
    if isinstance(value, str):
        lower = {str(o).lower(): o for o in options if isinstance(o, str)}
        close = difflib.get_close_matches(value.lower(), list(lower), n=1, cutoff=0.6)
        if close:
            hint = f" Did you mean {lower[close[0]]!r}?"
    raise OptionError(f"{_label(name)} must be {_choices(options)}; got {value!r}.{hint}")
