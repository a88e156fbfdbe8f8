"""Named income columns of a DataFrame: presence, numeric money values and sums.

Shared by the hybrid means test (:mod:`pmt.hmt`) and the administrative income test
(:mod:`pmt.simulate.income_test`), which read many declared-income columns by name and
say which role (``"verifiable income"``, ``"income component"``...) a bad column plays. It
sits at the bottom of the layering (numpy, pandas and :mod:`pmt.errors` only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmt.errors import DataError

__all__ = ["money_column", "require_columns", "sum_columns"]


def require_columns(data: pd.DataFrame, cols: Sequence[str], role: str,
                    err: type[Exception] = DataError) -> None:
    """Raise ``err`` naming every column of ``cols`` that ``data`` lacks.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    cols : sequence of str
        Column names needed.
    role : str
        What needs them, for the message (e.g. ``"HybridMeansTest"``).
    err : exception class
        Raised when a column is missing (:class:`~pmt.errors.DataError` by default;
        rules raise :class:`~pmt.errors.PolicyError`).
    """
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise err(
            f"{role}: column(s) {', '.join(missing)} not in the data. Pass the names of your "
            "columns (see the parameters) or create them."
        )


def money_column(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    """A numeric (or boolean) column as floats; missing values stay NaN.

    Parameters
    ----------
    data : pandas.DataFrame
        The data (the column must exist: see :func:`require_columns`).
    col : str
        Column name.
    role : str
        What the column is, for the message.

    Returns
    -------
    numpy.ndarray
        The values as floats.

    Raises
    ------
    pmt.errors.DataError
        If the column's dtype is not numeric or boolean (text is never read as NaN).
    """
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise DataError(f"{role} column '{col}' must be numeric (dtype {s.dtype}).")
    return s.to_numpy(dtype=float)


def sum_columns(data: pd.DataFrame, cols: Sequence[str], role: str) -> np.ndarray:
    """Row sums of numeric columns (NaN where any is missing).

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    cols : sequence of str
        Columns to add (each checked by :func:`money_column`); none gives zeros.
    role : str
        What the columns are, for messages.

    Returns
    -------
    numpy.ndarray
        One float per row.

    Raises
    ------
    pmt.errors.DataError
        For a missing or non-numeric column.
    """
    require_columns(data, cols, role)
    out = np.zeros(len(data))
    for c in cols:
        out = out + money_column(data, c, role)
    return out
