"""Progress bars for long steps (cross-validation, bootstrap, registry scoring).

A single line on standard error, redrawn in place, shown only when standard error is a
terminal (so logs and CI output stay clean) and progress is enabled. The CLI's ``--quiet``
turns it off with :func:`enabled`. Written here rather than taken from tqdm to keep the
dependency list short; it only needs counts, a rate and an ETA.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

_ENABLED = True


@contextlib.contextmanager
def enabled(flag: bool) -> Iterator[None]:
    """Enable or disable progress bars inside a ``with`` block."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, bool(flag)
    try:
        yield
    finally:
        _ENABLED = previous


class Progress:
    """Count work done towards ``total`` (None when unknown) and draw it on stderr.

    Parameters
    ----------
    desc : str
        What is being done ("cross-validation", "scoring rows").
    total : int, optional
        Units of work expected.
    stream : file, optional
        Where to draw; standard error by default. Drawing happens only on a terminal.
    """

    def __init__(self, desc: str, total: int | None = None, stream=None):
        self.desc, self.total, self.done = desc, total, 0
        self.stream = stream or sys.stderr
        self.active = _ENABLED and bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; redraw at most five times a second (and at the end)."""
        self.done += n
        now = time.perf_counter()
        if self.active and (now - self._last > 0.2 or self.done == self.total):
            self._last = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        """The text of the bar, e.g. ``cross-validation [#####     ] 5/10 2.1/s ETA 2s``."""
        elapsed = max((now or time.perf_counter()) - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(20 * frac) + " " * (20 - int(20 * frac))
            eta = (self.total - self.done) / rate if rate > 0 else float("nan")
            return f"{self.desc} [{bar}] {self.done:,}/{self.total:,} {rate:,.1f}/s ETA {eta:,.0f}s"
        return f"{self.desc} {self.done:,} {rate:,.1f}/s"

    def close(self) -> None:
        """Draw the final state and end the line (no-op when not drawing)."""
        if self.active:
            self.stream.write("\r" + self.line() + "\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
