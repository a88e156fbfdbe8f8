"""Deprecated argument names and positions, accepted for one release with a FutureWarning.

One helper, :func:`renamed_arguments`, used by every public function whose arguments were
renamed or made keyword-only (issue 16, item 6: ``weights``, ``n_groups``, ``share``,
``rule``, keyword-only arguments after the leading data arguments)::

    @renamed_arguments(n="n_groups")
    def quantile_groups(x, weights=None, *, n_groups=10): ...

    @renamed_arguments(positional=("weights", "cluster"))
    def ols(formula, data, *, weights=None, cluster=None): ...

An old name is mapped to the new one and an old positional call to the keyword-only
arguments, in their old order, so results are identical; each emits a
:class:`FutureWarning` naming the new argument. Passing an old and a new name together
raises :class:`TypeError`, as Python does for an argument given twice.

This module imports nothing from pmt and sits at the bottom of the layering of DESIGN.md
section 2.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["renamed_arguments"]

F = TypeVar("F", bound=Callable[..., Any])

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def renamed_arguments(
    positional: Sequence[str] = (), **renamed: str
) -> Callable[[F], F]:
    """Accept deprecated argument names (and positions) of a function for one release.

    Parameters
    ----------
    positional : sequence of str, optional
        Keyword-only arguments that used to be positional, in their old order after the
        function's positional arguments. A call passing them by position still works, with
        a FutureWarning asking to pass them by name.
    **renamed : str
        ``old="new"``: the deprecated name of an argument and its new name. A call with
        ``old=value`` works as ``new=value``, with a FutureWarning naming ``new``.

    Returns
    -------
    callable
        A decorator. The decorated function keeps its signature (``inspect.signature``
        shows the new names) and docstring.

    Raises
    ------
    TypeError
        When a call passes both an old name and its new name, the same argument by
        position and by name, or more positional arguments than the old signature took.
    """
    positional = tuple(positional)

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        params = sig.parameters
        n_positional = sum(p.kind in _POSITIONAL for p in params.values())
        has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params.values())
        for name in (*positional, *renamed.values()):
            if name not in params:
                raise ValueError(f"{func.__qualname__} has no argument {name!r} to map onto.")
        for old in renamed:
            if old in params:
                raise ValueError(f"{func.__qualname__} still has an argument named {old!r}.")
        what = func.__qualname__

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if positional and not has_varargs and len(args) > n_positional:
                extra = args[n_positional:]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{what}() takes at most {n_positional + len(positional)} positional "
                        f"arguments but {len(args)} were given.")
                names = positional[: len(extra)]
                for name, value in zip(names, extra, strict=True):
                    if name in kwargs:
                        raise TypeError(f"{what}() got multiple values for argument {name!r}.")
                    kwargs[name] = value
                args = args[:n_positional]
                shown = ", ".join(f"{n}=..." for n in names)
                warnings.warn(
                    f"{what}(): passing {', '.join(f'`{n}`' for n in names)} by position is "
                    f"deprecated and will stop working in the next release; pass them by name "
                    f"({shown}).", FutureWarning, stacklevel=2)
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(
                            f"{what}() got both `{old}` (deprecated) and `{new}`; pass only "
                            f"`{new}`.")
                    kwargs[new] = kwargs.pop(old)
                    warnings.warn(
                        f"{what}(): argument `{old}` is renamed `{new}`; `{old}` is deprecated "
                        f"and will stop working in the next release.",
                        FutureWarning, stacklevel=2)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
