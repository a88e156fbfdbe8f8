"""What the data spec says about a registry field: label, question, codes, range, unit.

Every look-up tolerates a missing spec or column (``None``/the column name instead).
"""

from __future__ import annotations

import math
import re

import numpy as np

from pmt.errors import PMTError
from pmt.models.formula import level_label


def _label_of(spec, col: str) -> str:
    if spec is None:
        return col
    try:
        return spec.labels.get(col, col)
    except (AttributeError, PMTError):
        return col


_VARNAME_TAIL = re.compile(r"\s*\((?:[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*)\)\s*$")


def _plain(label: str) -> str:
    """A label without a trailing variable name in parentheses.

    ``"Share of members aged 0-2 (perc_child2)"`` -> ``"Share of members aged 0-2"``: the
    reference reports' variable names (with an underscore) that the embedded survey's spec
    keeps in its labels are analyst material, not words for a respondent.
    """
    return _VARNAME_TAIL.sub("", label)


def _question_of(spec, col: str) -> str | None:
    if spec is None:
        return None
    try:
        return spec.question(col)
    except (AttributeError, PMTError, KeyError):
        return None


def _codes_of(spec, col: str) -> dict | None:
    if spec is None:
        return None
    try:
        codes = spec.codes(col)
    except (AttributeError, PMTError, KeyError):
        return None
    return None if codes is None else {level_label(k): str(v) for k, v in codes.items()}


def _range_of(spec, col: str):
    if spec is None:
        return None
    try:
        r = spec[col].range
    except (AttributeError, PMTError, KeyError, TypeError):
        return None
    return None if r is None else (r[0], r[1])


def _unit_of(spec, col: str) -> str | None:
    if spec is None:
        return None
    try:
        return spec[col].unit
    except (AttributeError, PMTError, KeyError, TypeError):
        return None


def _code_value(label: str):
    """A level label as the registry stores it: integer codes as numbers."""
    try:
        return int(label)
    except ValueError:
        try:
            return float(label)
        except ValueError:
            return label


def _spec_values(spec, col: str, n_bands: int):
    """Without data: the values of a binary column, or of a count whose declared range
    holds at most ``n_bands`` whole numbers, from the data spec (equal weights; each value
    is then its own answer, so no distribution is needed).
    """
    if spec is None:
        return None
    try:
        c = spec[col]
    except (AttributeError, PMTError, KeyError, TypeError):
        return None
    if c.type == "binary":
        vals = np.array([0.0, 1.0])
    elif c.type == "count" and c.range is not None and None not in c.range:
        lo, hi = math.ceil(c.range[0]), math.floor(c.range[1])
        if hi < lo or hi - lo + 1 > n_bands:
            return None
        vals = np.arange(lo, hi + 1, dtype=float)
    else:
        return None
    return vals, np.ones(vals.size)
