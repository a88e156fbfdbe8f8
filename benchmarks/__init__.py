"""Timing scripts against peer libraries; `make bench` runs them all (`python -m benchmarks`).

Each module's ``main(argv)`` returns its figures; the issue-18 targets it checks are under
the key ``"targets"`` of the returned dict (or the return value is the list itself), one
:class:`Target` row each, which ``python -m benchmarks`` prints as a summary table.
"""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    """One benchmark target: what is promised, what was measured, and whether it holds.

    ``ratio`` is the figure compared with the target as a number (a speed-up, a time
    over its budget, rows per second over the budget...), or None where there is none.
    """

    name: str
    target: str
    measured: str
    ratio: float | None
    met: bool | None


def target(name: str, target: str, measured: str, ratio: float | None,
           met: bool | None) -> Target:
    """A :class:`Target` row (``met`` coerced to a plain bool, ``ratio`` to float; None
    stays None: no figure, or nothing to judge).
    """
    return Target(name, target, measured, None if ratio is None else float(ratio),
                  None if met is None else bool(met))
