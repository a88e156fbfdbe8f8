"""Exceptions raised for user mistakes.

Every error a user can cause raises a :class:`PMTError` subclass whose message names the
column, rows or parameter at fault and says how to fix it. The CLI prints the message
without a traceback and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class PMTError(Exception):
    """Base class of every user-facing error in pmt."""


class DataSpecError(PMTError, ValueError):
    """Input data do not match their data spec (columns, types, codes, ranges, ids)."""

    def __init__(self, message: str, problems: Sequence[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)


class DataError(PMTError, ValueError):
    """Input data cannot be used as given (empty file, wrong file type, bad values)."""


class SurveyDesignError(DataError):
    """The survey design (weights, sizes, strata, PSUs) is invalid."""


class ModelError(PMTError, ValueError):
    """A model cannot be fitted or applied (bad formula, singular design, too few rows)."""


class WeightError(SurveyDesignError, ModelError):
    """Weights cannot be used as given.

    Wrong length, not numbers, missing, infinite, negative (or zero where they must be
    positive), or summing to zero. Raised by :func:`pmt._validation.check_weights`
    wherever weights are passed. Weights are part of the survey design, hence a
    :class:`SurveyDesignError` (and so a :class:`DataError`); models raised
    :class:`ModelError` for them before, so it is one too and every earlier ``except``
    clause still catches it.
    """


class ArtifactError(PMTError, ValueError):
    """A saved model or scorecard is malformed, of an unknown version, or unsafe."""


class ConfigError(PMTError, ValueError):
    """A project config has a wrong key, type or value, or names columns the data lacks."""


class PolicyError(PMTError, ValueError):
    """A policy definition cannot be simulated as written."""


class OptionError(DataError, ModelError, PolicyError):
    """An argument that takes one of a fixed set of values got another.

    E.g. ``unit=``, ``se=``, ``retransform=``; the message lists the allowed values and the
    closest one. Raised by :func:`pmt._validation.check_option`. The option checks it
    replaces raised :class:`DataError`, :class:`ModelError` or :class:`PolicyError`
    depending on the module, so it subclasses all three (all are ``ValueError``) and
    earlier ``except`` clauses still catch it.
    """


class PdfError(PMTError, RuntimeError):
    """The PDF report cannot be printed: no Chromium found, or it failed or timed out.

    The message says how to install Chromium (or where to point ``PMT_CHROMIUM``) and what
    the browser reported.
    """


def example_rows(index: Iterable, limit: int = 5) -> str:
    """Format the first ``limit`` row labels of ``index`` for an error message.

    Returns e.g. ``"rows 3, 17, 42 (and 12 more)"``.
    """
    labels = list(index)
    shown = ", ".join(_label(v) for v in labels[:limit])
    more = f" (and {len(labels) - limit} more)" if len(labels) > limit else ""
    word = "row" if len(labels) == 1 else "rows"
    return f"{word} {shown}{more}"


def _label(v) -> str:
    """A row label as text; whole floats (ids read from Stata/SPSS) without ".0"."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
