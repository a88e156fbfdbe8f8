"""Helper process that parses Stata ``.dta`` and SPSS ``.sav`` files for :mod:`pmt.io`.

pyreadstat's C reader can crash (segmentation fault) on some corrupted files. Parsing them
in this separate process turns such a crash into a :class:`pmt.DataError` in the caller
instead of a dead interpreter. :mod:`pmt.io` starts one helper per process on the first
Stata/SPSS read and keeps it for later reads (starting Python and importing pandas costs
about half a second; a request then costs a few milliseconds on top of the parse).

The file is run by path (``python -P .../_reader_child.py``), not imported as part of the
``pmt`` package, so it imports nothing from pmt. Protocol: one JSON request per line on
standard input ``{"path", "fmt", "kwargs", "out_dir"[, "selftest_signal"]}``; the helper
writes ``data.feather`` (the frame) into ``out_dir`` and answers one JSON line on the
protocol pipe ``{"ok": true, "meta": {...}}`` or ``{"ok": false, "error": "..."}``. The
``selftest_signal`` key makes the helper kill itself with that signal (used by the tests
of the crash handling). End of input ends the helper.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings


def _code(v):
    """A value-label code as JSON-able data (Stata/SPSS numeric codes come as floats)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, int | float | str):
        return v
    return str(v)


def read_file(path: str, fmt: str, kwargs: dict, out_dir: str) -> dict:
    """Parse ``path`` with pyreadstat; write the frame to ``out_dir/data.feather``."""
    import pyarrow.feather as feather
    import pyreadstat

    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df, meta = reader(path, apply_value_formats=False, **kwargs)
    feather.write_feather(df, os.path.join(out_dir, "data.feather"), compression="uncompressed")
    value_labels = [
        [str(col), [[_code(k), str(v)] for k, v in labs.items()]]
        for col, labs in (meta.variable_value_labels or {}).items()
    ]
    variable_labels = {
        str(c): str(lab)
        for c, lab in (meta.column_names_to_labels or {}).items()
        if lab not in (None, "")
    }
    return {
        "value_labels": value_labels,
        "variable_labels": variable_labels,
        "file_encoding": getattr(meta, "file_encoding", None),
        "file_label": getattr(meta, "file_label", None),
        "warnings": [str(w.message) for w in caught],
    }


def serve() -> None:
    """Answer requests from standard input until it closes."""
    # Keep a private pipe for the answers: anything the C library prints on standard
    # output goes to standard error and cannot corrupt the protocol.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # Import the heavy modules now, while the caller goes on with its own checks.
    import pyarrow.feather  # noqa: F401
    import pyreadstat  # noqa: F401

    proto.write(json.dumps({"ready": True}) + "\n")
    proto.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if req.get("selftest_signal"):
            os.kill(os.getpid(), int(req["selftest_signal"]))
        try:
            reply = {"ok": True, "meta": read_file(req["path"], req["fmt"], req["kwargs"], req["out_dir"])}
        except Exception as exc:  # reported to the caller as a DataError
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(reply) + "\n")
        proto.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the caller's to handle
    serve()
