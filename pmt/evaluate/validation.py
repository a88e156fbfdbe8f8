"""Old name of :mod:`pmt.evaluate.cross_validation` (cross-fitting, cross-validation and the
side-by-side comparison of targeting models).

The module was renamed because "validate" elsewhere in pmt means checking inputs
(:mod:`pmt._validation`). This shim re-exports the new module, so that
``from pmt.evaluate.validation import cross_validate`` keeps working and gives the same
objects; write ``from pmt.evaluate.cross_validation import ...`` (or
``from pmt.evaluate import ...``) in new code.
"""

from pmt.evaluate import cross_validation as _new
from pmt.evaluate.cross_validation import *  # noqa: F403
from pmt.evaluate.cross_validation import __all__  # noqa: F401


def __getattr__(name: str):
    """Any other name of :mod:`pmt.evaluate.cross_validation` (its private helpers)."""
    return getattr(_new, name)
