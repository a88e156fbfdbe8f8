"""Benchmark: start-up time of ``import pmt`` and ``pmt score --help`` in fresh processes.

``python -m benchmarks startup [--quick] [--repeat N]``: each command runs in a new
interpreter ``--repeat`` times (default 5; ``--quick``: 3) and the best wall time is kept
(start-up is what the user waits for; the best of several is the least disturbed by other
jobs on a shared machine). The peer is ``python -c "import pandas"``, timed the same way:
the floor under anything that reads a table. The bare interpreter (``python -c pass``) is
timed too, so the cost of pmt itself can be read off.

Then the modules that ``pmt score --help`` loads are listed (``python -X importtime``, the
ten slowest cumulative imports), and the heavy scientific libraries among them are named:
the CLI builds its parser without numpy, pandas, scipy, scikit-learn or statsmodels and
imports them in the command that needs them.

Targets (issue 18): ``import pmt`` under 0.3 s, ``pmt score --help`` under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

IMPORT_TARGET_S = 0.3
HELP_TARGET_S = 0.5
HEAVY = ("numpy", "pandas", "scipy", "sklearn", "statsmodels", "matplotlib", "pyarrow")

# `pmt score --help` as the console script runs it (the script may be absent when pmt is
# used from a source tree, so it is reproduced here: same import, same call)
_HELP = "import sys; sys.argv = ['pmt', 'score', '--help']; from pmt.cli import main; main()"


def best_wall_time(cmd: list[str], repeat: int) -> float:
    """Best wall-clock seconds of ``repeat`` runs of ``cmd`` (output discarded)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def import_profile(code: str) -> list[tuple[str, int, float]]:
    """Modules loaded by ``python -c code``: (name, nesting depth, cumulative import
    seconds) from ``-X importtime``, slowest first.
    """
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                          capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative_us, raw_name = line.removeprefix("import time:").split("|")
        depth = (len(raw_name) - len(raw_name.lstrip()) - 1) // 2
        rows.append((raw_name.strip(), depth, int(cumulative_us) / 1e6))
    return sorted(rows, key=lambda r: -r[2])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="benchmarks.startup",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="best of 3 instead of 5")
    parser.add_argument("--repeat", type=int, default=None, help="runs per command")
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 5)

    from benchmarks import target

    python = sys.executable
    script = Path(python).with_name("pmt")
    help_cmd = [str(script), "score", "--help"] if script.exists() else [python, "-c", _HELP]
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import pmt'": [python, "-c", "import pmt"],
        "pmt score --help": help_cmd,
        "python -c 'import pandas'": [python, "-c", "import pandas"],
    }
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (the machine is "
          f"shared; best of {repeat} fresh processes each)")
    times = {}
    for label, cmd in commands.items():
        times[label] = best_wall_time(cmd, repeat)
        print(f"  {label:<28} {times[label]:6.3f} s")
    t_import, t_help = times["python -c 'import pmt'"], times["pmt score --help"]
    t_pandas, t_bare = times["python -c 'import pandas'"], times["python -c pass"]

    profile = import_profile(_HELP)
    loaded = {name.split(".")[0] for name, _, _ in profile}
    heavy = [m for m in HEAVY if m in loaded]
    print("  slowest imports of `pmt score --help` (cumulative):")
    for name, _, seconds in [r for r in profile if r[1] == 0][:10]:
        print(f"    {name:<36} {seconds * 1000:7.1f} ms")
    print(f"  heavy libraries imported by `pmt score --help`: {', '.join(heavy) or 'none'}")

    rows = [
        target("startup: import pmt", f"< {IMPORT_TARGET_S} s",
               f"{t_import:.3f} s (import pandas {t_pandas:.3f} s, bare python {t_bare:.3f} s)",
               t_import / t_pandas, t_import < IMPORT_TARGET_S),
        target("startup: pmt score --help", f"< {HELP_TARGET_S} s",
               f"{t_help:.3f} s; heavy modules loaded: {', '.join(heavy) or 'none'}",
               t_help / t_pandas, t_help < HELP_TARGET_S),
    ]
    print(f"  ratios to `import pandas`: import pmt {t_import / t_pandas:.2f}, "
          f"pmt score --help {t_help / t_pandas:.2f}")
    return {"seconds": times, "heavy_imports": heavy, "targets": rows}


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
