"""Run every benchmark in turn: ``python -m benchmarks [--quick] [name ...]``.

Each benchmark module exposes ``main(argv)`` and prints its own figures (timings, ratios
against the peer library run in the same process on the same data, peak memory).
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = ["quantreg", "heckman", "evaluate", "score", "ml_threads", "roster"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = [a for a in argv if a.startswith("-")]
    names = [a for a in argv if not a.startswith("-")] or BENCHMARKS
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== benchmark: {name} ===", flush=True)
        start = time.perf_counter()
        module.main(flags)
        print(f"=== {name} done in {time.perf_counter() - start:.1f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
