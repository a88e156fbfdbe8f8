"""Atomic file writes, at the bottom of the package so every layer can use them.

:func:`atomic_write` is re-exported by :mod:`pmt.io`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from pmt.errors import DataError

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Write a file atomically: yield a temporary path, then rename it over ``path``.

    The temporary file lies in the same folder (so the final :func:`os.replace` is atomic)
    and keeps the extension of ``path`` (writers that choose a format by extension work).
    If the ``with`` block raises, the temporary file is removed and any earlier file at
    ``path`` is left untouched.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to create or replace. Its folder must exist.

    Yields
    ------
    pathlib.Path
        Where the caller writes the content (not created in advance).

    Raises
    ------
    pmt.DataError
        If the folder does not exist, or the block finished without writing the file.

    Examples
    --------
    >>> with atomic_write("table.csv") as tmp:  # doctest: +SKIP
    ...     df.to_csv(tmp, index=False)
    """
    p = Path(path)
    if not p.parent.is_dir():
        raise DataError(f"folder '{p.parent}' does not exist: create it first.")
    tmp = p.with_name(f".{p.stem}.{secrets.token_hex(5)}.tmp{p.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise DataError(f"nothing was written to '{p}' (internal error: no temporary file).")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
