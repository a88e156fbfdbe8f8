"""Run every benchmark in turn: ``python -m benchmarks [--quick] [name ...]``.

Each benchmark module exposes ``main(argv)`` and prints its own figures (timings, ratios
against the peer library run in the same process on the same data, peak memory). Its
return value may carry the targets it checks - a list of :class:`benchmarks.Target` rows
(name, target, measured, ratio, met), or a dict with such a list under ``"targets"``;
plain tuples of 5 fields, or of 4 (target, measured, ratio, met: the module's name is
used as the row's name), are accepted too. The run ends with one summary line per target;
a module that returns nothing (or no targets) gets a line saying so, and one that fails
gets a line with its error while the others still run. The exit status is 1 when a
benchmark failed or a target was not met.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback

from benchmarks import Target, target

BENCHMARKS = [
    "ols", "quantreg", "heckman", "evaluate", "score", "ml_threads", "roster", "startup", "demo",
    "study",
]


def targets_of(name: str, result: object) -> list[Target]:
    """The target rows in a benchmark's return value (empty when it has none)."""
    rows = result.get("targets") if isinstance(result, dict) else result
    if not isinstance(rows, (list, tuple)) or isinstance(rows, Target):
        return []
    out = []
    for row in rows:
        if isinstance(row, dict):
            row = Target(**{**{"name": name}, **row})
        elif isinstance(row, (list, tuple)) and len(row) == 4:
            row = Target(name, *row)
        elif isinstance(row, (list, tuple)) and len(row) == 5:
            row = Target(*row)
        else:
            continue
        out.append(target(*row))
    return out


def summary(rows: list[Target]) -> str:
    """The summary table, one line per target."""
    head = ("target", "promised", "measured", "ratio", "met")
    cells = [
        (r.name, r.target, r.measured, "-" if r.ratio is None else f"{r.ratio:.3g}",
         "-" if r.met is None else "yes" if r.met else "NO")
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [head, tuple("-" * w for w in widths), *cells]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = [a for a in argv if a.startswith("-")]
    names = [a for a in argv if not a.startswith("-")] or BENCHMARKS
    rows: list[Target] = []
    failed = False
    load_start = os.getloadavg()
    for name in names:
        print(f"\n=== benchmark: {name} ===", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            result = module.main(flags)
        except ModuleNotFoundError as err:
            if err.name != f"benchmarks.{name}":
                raise
            rows.append(target(name, "(benchmark module missing)", "-", None, False))
            failed = True
            continue
        except Exception as err:  # report it, run the others
            traceback.print_exc()
            rows.append(target(name, "(benchmark failed)", f"{type(err).__name__}: {err}",
                               None, False))
            failed = True
            continue
        found = targets_of(name, result)
        rows += found or [target(name, "(no targets returned)", "see its output", None, None)]
        print(f"=== {name} done in {time.perf_counter() - start:.1f} s ===", flush=True)
    print(f"\n=== summary ({'quick sizes' if '--quick' in flags else 'full sizes'}; "
          f"load average at the start {load_start[0]:.2f}, at the end "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs) ===")
    print(summary(rows))
    return 1 if failed or any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
