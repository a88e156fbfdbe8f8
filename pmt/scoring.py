"""Old name of :mod:`pmt.registry_scoring` (stream a registry file through a model or
scorecard: :func:`score_file`).

The module was renamed so that registry scoring is not mistaken for the scorecards of
:mod:`pmt.scorecard`. This shim re-exports the new module, so that
``from pmt.scoring import score_file`` keeps working and gives the same objects; write
``from pmt.registry_scoring import score_file`` (or ``pmt.score_file``) in new code.
"""

from pmt import registry_scoring as _new
from pmt.registry_scoring import *  # noqa: F403
from pmt.registry_scoring import __all__  # noqa: F401


def __getattr__(name: str):
    """Any other name of :mod:`pmt.registry_scoring` (its constants and private helpers)."""
    return getattr(_new, name)
